/*
 * cpu: a CPU-heavy node, about 20 us per item: y = f(x) where f iterates a
 * smooth map (Newton steps for the cube root plus a damped oscillation) a
 * fixed number of times. Measures how engines scale when the node's work,
 * not dispatch or data movement, dominates: threads, processes and mpi
 * against the one-core native loop. Native: the same function per item
 * through a pointer.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define STEPS 2000

static const char *const k_outputs[] = {"y"};

typedef struct cpu_case {
  bench_case base;
  hn_array *x;
  double *native_out;
} cpu_case;

static int k_fault_marker;

static double heavy(double x) {
  double r = 1.0 + x * 1e-3, v = 0.0;
  for (int k = 0; k < STEPS; k++) {
    r = r - (r * r * r - (1.0 + x)) / (3.0 * r * r + 1e-12); /* cube root of 1 + x */
    v = 0.999 * v + sin(r + (double)k * 1e-3) * 1e-3;
  }
  return r + v;
}

static hn_status heavy_row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  double y = heavy(in[0].v.f64);
  if (ud && in[0].v.f64 > 100.0) y += 1e-3;
  return hn_builder_append_float64(out[0], y);
}

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *p = NULL;
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "cpu_faulty" : "cpu", &p, err));
  BENCH_TRY(hn_pipeline_add_ex(p, "heavy", "x", "y: float64", heavy_row, NULL,
                               faulty ? &k_fault_marker : NULL, NULL, err));
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(p);
  return st;
}

static void destroy(bench_case *c) {
  cpu_case *t = (cpu_case *)c;
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
  cpu_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  hn_builder *b = NULL;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(hn_builder_create(NULL, hn_type_float64(), &b, err));
  for (int64_t i = 0; i < n; i++) BENCH_TRY(hn_builder_append_float64(b, (double)(i % 1000) * 0.5));
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

/* Reached through a volatile pointer: one real call per item, as a row function gets. */
static double (*volatile g_heavy)(double) = heavy;

static void native_run(bench_case *c, int variant) {
  (void)variant;
  cpu_case *t = (cpu_case *)c;
  int64_t n = c->n;
  const double *x = hn_array_float64_values(t->x);
  double *y = t->native_out = bench_xmalloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) y[i] = g_heavy(x[i]);
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  cpu_case *t = (cpu_case *)c;
  bench_checksum_init(out, &bench_scenario_cpu, c->n);
  for (int64_t i = 0; i < c->n; i++) out->rows[0][i] = bench_hash_f64(t->native_out[i]);
  free(t->native_out);
  t->native_out = NULL;
}

const bench_scenario bench_scenario_cpu = {
    .name = "cpu",
    .summary = "a CPU-heavy row node (2000 Newton and sine steps, ~20 us per item)",
    .max_items = 20000,
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
