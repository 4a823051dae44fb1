/*
 * io: an I/O-bound node, 20 ms of waiting per item (a sleep standing for a
 * request), marked io with a concurrency limit of 64: y = x + 1. Measures
 * how close each engine comes to keeping 64 calls in flight (issue 19).
 * Native: the ideal, a plain pool of 64 threads taking items from a shared
 * counter, each sleeping 20 ms and computing y (1,000 items take
 * 1,000 x 20 ms / 64 = 313 ms plus thread start-up). Items are capped at
 * 1,000 so that a run stays under a second.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"

#define WAIT_NS 20000000L /* 20 ms per item */
#define POOL 64

static const char *const k_outputs[] = {"y"};

typedef struct io_case {
  bench_case base;
  hn_array *x;
  int64_t *native_out;
} io_case;

static int k_fault_marker;

static void wait_once(void) {
  struct timespec ts = {0, WAIT_NS};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static hn_status fetch_row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  wait_once();
  int64_t y = in[0].v.i64 + 1;
  if (ud && in[0].v.i64 > 100) y += 1;
  return hn_builder_append_int64(out[0], y);
}

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *p = NULL;
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "io_faulty" : "io", &p, err));
  hn_node_spec spec[1] = {{.name = "fetch",
                           .inputs = "x",
                           .outputs = "y: int64",
                           .row = fetch_row,
                           .user_data = faulty ? &k_fault_marker : NULL,
                           .policy = "io, concurrency=64"}};
  BENCH_TRY(hn_pipeline_add_nodes(p, HN_NODE_SPECS(spec), err));
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(p);
  return st;
}

static void destroy(bench_case *c) {
  io_case *t = (io_case *)c;
  if (!t) return;
  hn_pipeline_release(c->pipeline);
  hn_pipeline_release(c->faulty);
  hn_inputs_destroy(c->inputs);
  hn_array_release(t->x);
  free(t->native_out);
  free(t);
}

static hn_status create(int64_t n, bool faulty, bench_case **out, hn_error *err) {
  hn_status st;
  io_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  hn_builder *b = NULL;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(hn_builder_create(NULL, hn_type_int64(), &b, err));
  for (int64_t i = 0; i < n; i++) BENCH_TRY(hn_builder_append_int64(b, i));
  BENCH_TRY(hn_builder_finish(b, &t->x, err));
  hn_builder_destroy(b);
  b = NULL;
  BENCH_TRY(hn_inputs_create(NULL, &t->base.inputs, err));
  BENCH_TRY(hn_inputs_set_column(t->base.inputs, "x", t->x, err));
  *out = &t->base;
  return HN_OK;
fail:
  hn_builder_destroy(b);
  destroy(&t->base);
  return st;
}

/* The native pool: POOL threads claim items from a shared counter. */
typedef struct native_pool {
  const int64_t *x;
  int64_t *y;
  int64_t n;
  _Atomic int64_t next;
} native_pool;

static void *native_worker(void *arg) {
  native_pool *np = arg;
  for (int64_t i; (i = atomic_fetch_add(&np->next, 1)) < np->n;) {
    wait_once();
    np->y[i] = np->x[i] + 1;
  }
  return NULL;
}

static void native_run(bench_case *c, int variant) {
  (void)variant;
  io_case *t = (io_case *)c;
  int64_t n = c->n;
  native_pool np = {hn_array_int64_values(t->x), NULL, n, 0};
  np.y = t->native_out = bench_xmalloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  pthread_t th[POOL];
  int started = 0;
  for (; started < POOL; started++)
    if (pthread_create(&th[started], NULL, native_worker, &np) != 0) break;
  if (started == 0) native_worker(&np);
  for (int k = 0; k < started; k++) pthread_join(th[k], NULL);
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  io_case *t = (io_case *)c;
  bench_checksum_init(out, &bench_scenario_io, c->n);
  for (int64_t i = 0; i < c->n; i++) out->rows[0][i] = bench_hash_i64(t->native_out[i]);
  free(t->native_out);
  t->native_out = NULL;
}

const bench_scenario bench_scenario_io = {
    .name = "io",
    .summary = "an io node waiting 20 ms per item, concurrency 64 (native: a pool of 64 threads)",
    .max_items = 1000,
    .map = true,
    .map_over = "x",
    .n_outputs = 1,
    .outputs = k_outputs,
    .n_natives = 1,
    .calls_per_item = 0,
    .create = create,
    .destroy = destroy,
    .native_run = native_run,
    .native_checksum = native_checksum,
};
