/*
 * overhead: a chain of K = 10 trivial int64 nodes (add 1) mapped over N
 * items, only the last output requested. The harness reports
 * ns_per_node_call = (engine time - native time) / (N x K). Natives: a
 * per-item loop making the K calls through a function pointer, and K
 * vectorised passes over the column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define K 10

static const char *const k_outputs[] = {"y"};

typedef struct overhead_case {
  bench_case base;
  hn_array *x;
  int64_t *native_out;
} overhead_case;

static int64_t add1(int64_t v) {
  return v + 1;
}

static int64_t add1_faulty(int64_t v) {
  return v % 7 == 0 ? v + 2 : v + 1;
}

static hn_status add_node(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  int64_t (*fn)(int64_t) = (int64_t(*)(int64_t))ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], fn(in[0].v.i64));
}

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *p = NULL;
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "overhead_faulty" : "overhead", &p, err));
  for (int k = 1; k <= K; k++) {
    char name[16], in[16], outs[32];
    snprintf(name, sizeof name, "add%d", k);
    if (k == 1)
      snprintf(in, sizeof in, "x");
    else
      snprintf(in, sizeof in, "s%d", k - 1);
    if (k == K)
      snprintf(outs, sizeof outs, "y: int64");
    else
      snprintf(outs, sizeof outs, "s%d: int64", k);
    int64_t (*fn)(int64_t) = faulty && k == K ? add1_faulty : add1;
    BENCH_TRY(hn_pipeline_add_ex(p, name, in, outs, add_node, NULL, (void *)fn, NULL, err));
  }
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(p);
  return st;
}

static void destroy(bench_case *c) {
  overhead_case *t = (overhead_case *)c;
  if (!t) return;
  hn_pipeline_release(c->pipeline);
  hn_pipeline_release(c->faulty);
  hn_inputs_destroy(c->inputs);
  hn_array_release(t->x);
  free(t->native_out);
  free(t);
}

static hn_status iota(int64_t n, hn_array **out, hn_error *err) {
  int64_t *v = bench_xmalloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) v[i] = i;
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, hn_type_int64(), &b, err);
  if (st == HN_OK) st = hn_builder_append_values(b, v, n);
  if (st == HN_OK) st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  free(v);
  return st;
}

static hn_status create(int64_t n, bool faulty, bench_case **out, hn_error *err) {
  hn_status st;
  overhead_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(iota(n, &t->x, err));
  BENCH_TRY(hn_inputs_create(NULL, &t->base.inputs, err));
  BENCH_TRY(hn_inputs_set_column(t->base.inputs, "x", t->x, err));
  *out = &t->base;
  return HN_OK;
fail:
  destroy(&t->base);
  return st;
}

/* Reached through a volatile pointer: K real calls per item, as the nodes make. */
static int64_t (*volatile g_add1)(int64_t) = add1;

static void add_pass(int64_t *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) y[i] += 1;
}

static void native_run(bench_case *c, int variant) {
  overhead_case *t = (overhead_case *)c;
  int64_t n = c->n;
  const int64_t *x = hn_array_int64_values(t->x);
  int64_t *y = t->native_out = bench_xmalloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  if (variant == 0) {
    for (int64_t i = 0; i < n; i++) {
      int64_t v = x[i];
      for (int k = 0; k < K; k++) v = g_add1(v);
      y[i] = v;
    }
  } else {
    memcpy(y, x, sizeof(int64_t) * (size_t)n);
    for (int k = 0; k < K; k++) add_pass(y, n);
  }
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  overhead_case *t = (overhead_case *)c;
  bench_checksum_init(out, &bench_scenario_overhead, c->n);
  for (int64_t i = 0; i < c->n; i++) out->rows[0][i] = bench_hash_i64(t->native_out[i]);
  free(t->native_out);
  t->native_out = NULL;
}

const bench_scenario bench_scenario_overhead = {
    .name = "overhead",
    .summary = "a chain of 10 add-1 nodes over N items: framework cost per node call",
    .max_items = 0,
    .map = true,
    .map_over = "x",
    .n_outputs = 1,
    .outputs = k_outputs,
    .n_natives = 2,
    .calls_per_item = K,
    .create = create,
    .destroy = destroy,
    .native_run = native_run,
    .native_checksum = native_checksum,
};
