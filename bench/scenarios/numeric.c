/*
 * numeric: x = linspace(0, 10000, n), fixed mean 5000 and std 750 (broadcast
 * inputs) -> z = (x - mean) / std. The node has a row function and a batch
 * function (whole columns; what the columnar engine calls). Natives: a
 * per-item loop calling the same function through a pointer, and a
 * hand-vectorised loop over the column (the physical limit).
 */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define MEAN 5000.0
#define STD 750.0

static const char *const k_outputs[] = {"z"};

typedef struct numeric_case {
  bench_case base;
  hn_array *x;
  double *native_out;
} numeric_case;

static int k_fault_marker;

static double normalize(double x, double mean, double std) {
  return (x - mean) / std;
}

static double fault(double x, double z) {
  return x > MEAN ? z + 1e-3 : z;
}

static hn_status normalize_row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  if (in[0].is_null || in[1].is_null || in[2].is_null) return hn_builder_append_null(out[0]);
  double z = normalize(in[0].v.f64, in[1].v.f64, in[2].v.f64);
  if (ud) z = fault(in[0].v.f64, z);
  return hn_builder_append_float64(out[0], z);
}

/* Value of argument `a` at row i (scalars: row 0). */
static hn_datum arg_at(const hn_batch_arg *a, int64_t i) {
  return hn_array_get(a->array, a->scalar ? 0 : i);
}

static hn_status normalize_batch(void *ud, const hn_batch_arg *in, int64_t n_rows, hn_array **out,
                                 hn_ctx *ctx) {
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, hn_type_float64(), &b, NULL);
  if (st != HN_OK) return st;
  bool fast = !in[0].scalar && in[1].scalar && in[2].scalar &&
              hn_array_null_count(in[0].array) == 0 && !hn_array_is_null(in[1].array, 0) &&
              !hn_array_is_null(in[2].array, 0);
  if (fast) {
    /* The whole column at once: one tight loop, one bulk append. */
    const double *x = hn_array_float64_values(in[0].array);
    double mean = hn_array_get(in[1].array, 0).v.f64, std = hn_array_get(in[2].array, 0).v.f64;
    double *z = hn_arena_alloc(hn_ctx_arena(ctx), sizeof(double) * (size_t)n_rows, 64);
    if (!z) {
      hn_builder_destroy(b);
      return hn_ctx_fail(ctx, "out of scratch memory");
    }
    for (int64_t i = 0; i < n_rows; i++) z[i] = (x[i] - mean) / std;
    if (ud)
      for (int64_t i = 0; i < n_rows; i++) z[i] = fault(x[i], z[i]);
    st = hn_builder_append_values(b, z, n_rows);
  } else {
    st = hn_builder_reserve(b, n_rows);
    for (int64_t i = 0; st == HN_OK && i < n_rows; i++) {
      hn_datum x = arg_at(&in[0], i), m = arg_at(&in[1], i), s = arg_at(&in[2], i);
      if (x.is_null || m.is_null || s.is_null) {
        st = hn_builder_append_null(b);
        continue;
      }
      double z = normalize(x.v.f64, m.v.f64, s.v.f64);
      st = hn_builder_append_float64(b, ud ? fault(x.v.f64, z) : z);
    }
  }
  if (st == HN_OK) st = hn_builder_finish(b, out, NULL);
  hn_builder_destroy(b);
  return st;
}

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *p = NULL;
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "numeric_faulty" : "numeric", &p, err));
  BENCH_TRY(hn_pipeline_add_ex(p, "normalize", "x, mean, std", "z: float64", normalize_row,
                               normalize_batch, faulty ? &k_fault_marker : NULL, NULL, err));
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(p);
  return st;
}

static void destroy(bench_case *c) {
  numeric_case *t = (numeric_case *)c;
  if (!t) return;
  hn_pipeline_release(c->pipeline);
  hn_pipeline_release(c->faulty);
  hn_inputs_destroy(c->inputs);
  hn_array_release(t->x);
  free(t->native_out);
  free(t);
}

static hn_status linspace(int64_t n, hn_array **out, hn_error *err) {
  double *v = bench_xmalloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) v[i] = n > 1 ? 10000.0 * (double)i / (double)(n - 1) : 0.0;
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, hn_type_float64(), &b, err);
  if (st == HN_OK) st = hn_builder_append_values(b, v, n);
  if (st == HN_OK) st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  free(v);
  return st;
}

static hn_status create(int64_t n, bool faulty, bench_case **out, hn_error *err) {
  hn_status st;
  numeric_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(linspace(n, &t->x, err));
  BENCH_TRY(hn_inputs_create(NULL, &t->base.inputs, err));
  BENCH_TRY(hn_inputs_set_column(t->base.inputs, "x", t->x, err));
  BENCH_TRY(hn_inputs_set_float64(t->base.inputs, "mean", MEAN, err));
  BENCH_TRY(hn_inputs_set_float64(t->base.inputs, "std", STD, err));
  *out = &t->base;
  return HN_OK;
fail:
  destroy(&t->base);
  return st;
}

/* Reached through a volatile pointer: one real call per item, as a row function gets. */
static double (*volatile g_normalize)(double, double, double) = normalize;

static void vectorised(const double *restrict x, double *restrict z, int64_t n, double mean,
                       double std) {
  for (int64_t i = 0; i < n; i++) z[i] = (x[i] - mean) / std;
}

static void native_run(bench_case *c, int variant) {
  numeric_case *t = (numeric_case *)c;
  int64_t n = c->n;
  const double *x = hn_array_float64_values(t->x);
  double *z = t->native_out = bench_xmalloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
  if (variant == 0) {
    for (int64_t i = 0; i < n; i++) z[i] = g_normalize(x[i], MEAN, STD);
  } else {
    vectorised(x, z, n, MEAN, STD);
  }
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  numeric_case *t = (numeric_case *)c;
  bench_checksum_init(out, &bench_scenario_numeric, c->n);
  for (int64_t i = 0; i < c->n; i++) out->rows[0][i] = bench_hash_f64(t->native_out[i]);
  free(t->native_out);
  t->native_out = NULL;
}

const bench_scenario bench_scenario_numeric = {
    .name = "numeric",
    .summary = "(x - mean) / std over linspace(0, 10000, n); the node has a batch function",
    .max_items = 0,
    .map = true,
    .map_over = "x",
    .n_outputs = 1,
    .outputs = k_outputs,
    .n_natives = 2,
    .calls_per_item = 0,
    .create = create,
    .destroy = destroy,
    .native_run = native_run,
    .native_checksum = native_checksum,
};
