/*
 * nested_cpu: one run whose work is a nested map: the outer pipeline turns
 * n into the list 0.5 * (i % 1000) for i < n, maps an inner pipeline with
 * one CPU-heavy node (the cpu scenario's function, about 20 us an item)
 * over it, and sums the results. Measures whether a single hn_pipeline_run
 * uses the engine's workers for its inner items. Native: the same function
 * per item through a pointer, then the sum.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define STEPS 2000

static const char *const k_outputs[] = {"total"};

typedef struct nested_cpu_case {
  bench_case base;
  double native_total;
} nested_cpu_case;

static double heavy(double x) { /* as in cpu.c */
  double r = 1.0 + x * 1e-3, v = 0.0;
  for (int k = 0; k < STEPS; k++) {
    r = r - (r * r * r - (1.0 + x)) / (3.0 * r * r + 1e-12);
    v = 0.999 * v + sin(r + (double)k * 1e-3) * 1e-3;
  }
  return r + v;
}

static hn_status heavy_row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_float64(out[0], heavy(in[0].v.f64));
}

static hn_status make_xs(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  hn_builder *items = hn_builder_child(out[0], 0);
  for (int64_t i = 0; i < in[0].v.i64; i++) {
    hn_status st = hn_builder_append_float64(items, (double)(i % 1000) * 0.5);
    if (st != HN_OK) return st;
  }
  return hn_builder_finish_element(out[0]);
}

static hn_status total(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  double s = 0;
  const hn_list_view *l = &in[0].v.list;
  for (int64_t k = 0; k < l->length; k++) s += hn_array_get(l->values, l->start + k).v.f64;
  if (ud) s += 1.0; /* the faulty variant */
  return hn_builder_append_float64(out[0], s);
}

static int k_fault_marker;

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *inner = NULL, *p = NULL;
  BENCH_TRY(hn_pipeline_create(NULL, "heavy_item", &inner, err));
  BENCH_TRY(hn_pipeline_add(inner, "heavy", "x", "y: float64", heavy_row, err));
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "nested_cpu_faulty" : "nested_cpu", &p, err));
  BENCH_TRY(hn_pipeline_add(p, "make", "n: int64", "xs: list<float64>", make_xs, err));
  BENCH_TRY(hn_pipeline_add_nested(p, "each", inner, "xs=x", "y=ys", "xs", HN_MAP_ZIP, err));
  BENCH_TRY(hn_pipeline_add_ex(p, "sum", "ys: list<float64>", "total: float64", total, NULL,
                               faulty ? &k_fault_marker : NULL, NULL, err));
  hn_pipeline_release(inner);
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(inner);
  hn_pipeline_release(p);
  return st;
}

static void destroy(bench_case *c) {
  if (!c) return;
  hn_pipeline_release(c->pipeline);
  hn_pipeline_release(c->faulty);
  hn_inputs_destroy(c->inputs);
  free(c);
}

static hn_status create(int64_t n, bool faulty, bench_case **out, hn_error *err) {
  hn_status st;
  nested_cpu_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(hn_inputs_create(NULL, &t->base.inputs, err));
  BENCH_TRY(hn_inputs_set_int64(t->base.inputs, "n", n, err));
  *out = &t->base;
  return HN_OK;
fail:
  destroy(&t->base);
  return st;
}

/* Reached through a volatile pointer: one real call per item, as a row function gets. */
static double (*volatile g_heavy)(double) = heavy;

static void native_run(bench_case *c, int variant) {
  (void)variant;
  nested_cpu_case *t = (nested_cpu_case *)c;
  double s = 0;
  for (int64_t i = 0; i < c->n; i++) s += g_heavy((double)(i % 1000) * 0.5);
  t->native_total = s;
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  nested_cpu_case *t = (nested_cpu_case *)c;
  bench_checksum_init(out, &bench_scenario_nested_cpu, 1);
  out->rows[0][0] = bench_hash_f64(t->native_total);
}

const bench_scenario bench_scenario_nested_cpu = {
    .name = "nested_cpu",
    .summary = "one run: a CPU-heavy inner node (~20 us) mapped over a list of n values",
    .max_items = 5000,
    .map = false,
    .n_outputs = 1,
    .outputs = k_outputs,
    .n_natives = 1,
    .calls_per_item = 0,
    .create = create,
    .destroy = destroy,
    .native_run = native_run,
    .native_checksum = native_checksum,
};
