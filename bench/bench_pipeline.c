/*
 * Pipeline engine benchmarks, each against a hand-written C loop doing the
 * same work:
 *  (a) dispatch overhead: a chain of three trivial int64 nodes (add 1) mapped
 *      over N items on the sequential engine, against a loop calling the same
 *      three functions through function pointers into plain arrays (and a
 *      second loop that also appends into builders, to separate the cost of
 *      building columns from the cost of dispatch). Overhead per node call =
 *      (engine - native) / (N * 3).
 *  (b) threads vs sequential on a CPU-heavy row node (~20 us of arithmetic
 *      per item) over N / 50 items.
 * Every engine result is checked against the native loop (exit 1 on a
 * mismatch). Figures are medians over R repeats after one warm-up round;
 * freed memory stays mapped (mallopt) so that engine and native loops alike
 * write to mapped pages: we time dispatch and copying, not page faults.
 *
 * Usage: hn_bench_pipeline [--items N] [--repeats R] [--heavy-us U]
 *        (defaults: N = 1000000, R = 5, U = 20)
 */
#define _POSIX_C_SOURCE 200809L
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hypernodes/hypernodes.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, hn_status st, const hn_error *err) {
  fprintf(stderr, "%s: %s: %s\n", what, hn_status_str(st), err ? err->message : "");
  exit(1);
}

#define CHECK(call)                          \
  do {                                       \
    hn_status st_ = (call);                  \
    if (st_ != HN_OK) die(#call, st_, &err); \
  } while (0)

/* ---- the work ------------------------------------------------------------- */

/* The trivial function of (a). Not static-inline-able through the pointer table. */
static int64_t add1(int64_t x) {
  return x + 1;
}

static hn_status node_add1(void *user_data, const hn_datum *in, hn_builder *const *out,
                           hn_ctx *ctx) {
  int64_t (*fn)(int64_t) = (int64_t(*)(int64_t))user_data;
  (void)ctx;
  return hn_builder_append_int64(out[0], fn(in[0].v.i64));
}

static int g_heavy_iters = 4000;

/* ~20 us of dependent integer arithmetic (calibrated at start-up). */
static int64_t heavy(int64_t x) {
  uint64_t h = (uint64_t)x * 0x9e3779b97f4a7c15ULL + 1;
  for (int i = 0; i < g_heavy_iters; i++) {
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h += (uint64_t)i;
  }
  return (int64_t)(h >> 1);
}

static hn_status node_heavy(void *user_data, const hn_datum *in, hn_builder *const *out,
                            hn_ctx *ctx) {
  (void)user_data;
  (void)ctx;
  return hn_builder_append_int64(out[0], heavy(in[0].v.i64));
}

static void calibrate_heavy(double target_us) {
  g_heavy_iters = 20000;
  volatile int64_t sink = 0;
  double best = 1e9;
  for (int r = 0; r < 5; r++) {
    double t0 = now_s();
    for (int i = 0; i < 20; i++) sink += heavy(i);
    double per = (now_s() - t0) / 20;
    if (per < best) best = per;
  }
  (void)sink;
  double iters = 20000.0 * target_us * 1e-6 / best;
  g_heavy_iters = iters < 1 ? 1 : (int)iters;
}

/* ---- helpers -------------------------------------------------------------- */

static hn_array *iota(int64_t n) {
  hn_error err;
  hn_builder *b = NULL;
  CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err));
  CHECK(hn_builder_reserve(b, n));
  for (int64_t i = 0; i < n; i++) CHECK(hn_builder_append_int64(b, i));
  hn_array *a = NULL;
  CHECK(hn_builder_finish(b, &a, &err));
  hn_builder_destroy(b);
  return a;
}

static hn_engine *make_engine(hn_engine_kind kind) {
  hn_error err;
  hn_engine_options o = {.size = sizeof o};
  o.kind = kind;
  hn_engine *e = NULL;
  CHECK(hn_engine_create(NULL, &o, &e, &err));
  return e;
}

/* Map `p` over column x; return the seconds taken and the sum of every output column. */
static double time_map(hn_pipeline *p, hn_engine *e, hn_inputs *in, uint64_t *checksum, int64_t n) {
  hn_error err;
  const char *over[1] = {"x"};
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 1;
  o.map_over = over;
  hn_result *r = NULL;
  double t0 = now_s();
  CHECK(hn_pipeline_map(p, e, in, &o, &r, &err));
  double t = now_s() - t0;
  hn_table *t_out = hn_result_table(r);
  uint64_t sum = 0;
  if (hn_table_num_rows(t_out) != n) {
    fprintf(stderr, "engine returned %lld rows for %lld items\n",
            (long long)hn_table_num_rows(t_out), (long long)n);
    exit(1);
  }
  for (int64_t j = 0; j < hn_table_num_columns(t_out); j++) {
    const hn_array *col = hn_table_column(t_out, j);
    const int64_t *v = hn_array_int64_values(col);
    if (!v || hn_array_null_count(col) != 0) {
      fprintf(stderr, "column %s is not a null-free int64 column\n",
              hn_table_column_name(t_out, j));
      exit(1);
    }
    for (int64_t i = 0; i < n; i++) sum = sum * 31 + (uint64_t)v[i];
  }
  *checksum = sum;
  hn_result_destroy(r);
  return t;
}

/* ---- (a) dispatch overhead ------------------------------------------------ */

typedef int64_t (*int_fn)(int64_t);

/* The native chain: three calls through pointers, three output arrays. */
static double native_chain(int_fn const *fns, int64_t n, int64_t **cols, uint64_t *checksum) {
  double t0 = now_s();
  for (int64_t i = 0; i < n; i++) {
    int64_t v = i;
    for (int k = 0; k < 3; k++) cols[k][i] = v = fns[k](v);
  }
  double t = now_s() - t0;
  uint64_t sum = 0;
  for (int k = 0; k < 3; k++)
    for (int64_t i = 0; i < n; i++) sum = sum * 31 + (uint64_t)cols[k][i];
  *checksum = sum;
  return t;
}

/* The same, appending into three builders (columns in Arrow layout). */
static double native_chain_builders(int_fn const *fns, int64_t n, uint64_t *checksum) {
  hn_error err;
  hn_builder *b[3];
  for (int k = 0; k < 3; k++) CHECK(hn_builder_create(NULL, hn_type_int64(), &b[k], &err));
  double t0 = now_s();
  for (int64_t i = 0; i < n; i++) {
    int64_t v = i;
    for (int k = 0; k < 3; k++) {
      v = fns[k](v);
      if (hn_builder_append_int64(b[k], v) != HN_OK) die("append", HN_ENOMEM, NULL);
    }
  }
  hn_array *a[3];
  for (int k = 0; k < 3; k++) CHECK(hn_builder_finish(b[k], &a[k], &err));
  double t = now_s() - t0;
  uint64_t sum = 0;
  for (int k = 0; k < 3; k++) {
    const int64_t *v = hn_array_int64_values(a[k]);
    for (int64_t i = 0; i < n; i++) sum = sum * 31 + (uint64_t)v[i];
    hn_array_release(a[k]);
    hn_builder_destroy(b[k]);
  }
  *checksum = sum;
  return t;
}

static int bench_dispatch(int64_t n, int repeats) {
  hn_error err;
  static int_fn const fns[3] = {add1, add1, add1};
  hn_pipeline *p = NULL;
  CHECK(hn_pipeline_create(NULL, "chain3", &p, &err));
  CHECK(hn_pipeline_add_ex(p, "n1", "x", "a: int64", node_add1, NULL, (void *)fns[0], NULL, &err));
  CHECK(hn_pipeline_add_ex(p, "n2", "a", "b: int64", node_add1, NULL, (void *)fns[1], NULL, &err));
  CHECK(hn_pipeline_add_ex(p, "n3", "b", "c: int64", node_add1, NULL, (void *)fns[2], NULL, &err));
  hn_inputs *in = NULL;
  CHECK(hn_inputs_create(NULL, &in, &err));
  hn_array *x = iota(n);
  CHECK(hn_inputs_set_column(in, "x", x, &err));
  hn_array_release(x);
  hn_engine *seq = make_engine(HN_ENGINE_SEQUENTIAL);

  int64_t *cols[3];
  for (int k = 0; k < 3; k++) cols[k] = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  double *t_native = malloc(sizeof(double) * (size_t)repeats);
  double *t_builders = malloc(sizeof(double) * (size_t)repeats);
  double *t_engine = malloc(sizeof(double) * (size_t)repeats);
  uint64_t sum_native = 0, sum_builders = 0, sum_engine = 0;
  int bad = 0;
  for (int r = -1; r < repeats; r++) { /* r = -1: warm-up, not recorded */
    int k = r < 0 ? 0 : r;
    t_native[k] = native_chain(fns, n, cols, &sum_native);
    t_builders[k] = native_chain_builders(fns, n, &sum_builders);
    t_engine[k] = time_map(p, seq, in, &sum_engine, n);
    if (sum_builders != sum_native || sum_engine != sum_native) bad = 1;
  }
  double native = median(t_native, repeats), builders = median(t_builders, repeats),
         engine = median(t_engine, repeats);
  double calls = (double)n * 3;
  printf("(a) dispatch overhead: 3 x add1 chain, %lld items, median of %d\n", (long long)n,
         repeats);
  printf("  %-34s %10s %14s\n", "variant", "ms", "ns/node call");
  printf("  %-34s %10.2f %14.2f\n", "native loop (fn pointers)", native * 1e3,
         native * 1e9 / calls);
  printf("  %-34s %10.2f %14.2f\n", "native loop + builders", builders * 1e3,
         builders * 1e9 / calls);
  printf("  %-34s %10.2f %14.2f\n", "sequential engine (map)", engine * 1e3, engine * 1e9 / calls);
  printf("  overhead vs native loop:          %8.2f ns per node call\n",
         (engine - native) * 1e9 / calls);
  printf("  overhead vs native + builders:    %8.2f ns per node call\n",
         (engine - builders) * 1e9 / calls);
  printf("  checksum %016llx %s\n", (unsigned long long)sum_native,
         bad ? "MISMATCH" : "(engine == native)");

  for (int k = 0; k < 3; k++) free(cols[k]);
  free(t_native);
  free(t_builders);
  free(t_engine);
  hn_engine_destroy(seq);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  return bad;
}

/* ---- (b) threads vs sequential -------------------------------------------- */

static int bench_threads(int64_t n, int repeats, double heavy_us) {
  hn_error err;
  calibrate_heavy(heavy_us);
  hn_pipeline *p = NULL;
  CHECK(hn_pipeline_create(NULL, "heavy", &p, &err));
  CHECK(hn_pipeline_add(p, "heavy", "x", "y: int64", node_heavy, &err));
  hn_inputs *in = NULL;
  CHECK(hn_inputs_create(NULL, &in, &err));
  hn_array *x = iota(n);
  CHECK(hn_inputs_set_column(in, "x", x, &err));
  hn_array_release(x);
  hn_engine *seq = make_engine(HN_ENGINE_SEQUENTIAL);
  hn_engine *thr = make_engine(HN_ENGINE_THREADS);

  int64_t *ys = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
  double *t_native = malloc(sizeof(double) * (size_t)repeats);
  double *t_seq = malloc(sizeof(double) * (size_t)repeats);
  double *t_thr = malloc(sizeof(double) * (size_t)repeats);
  uint64_t sum_native = 0, sum_seq = 0, sum_thr = 0;
  int bad = 0;
  for (int r = 0; r < repeats; r++) { /* heavy work: page faults do not matter */
    double t0 = now_s();
    for (int64_t i = 0; i < n; i++) ys[i] = heavy(i);
    t_native[r] = now_s() - t0;
    sum_native = 0;
    for (int64_t i = 0; i < n; i++) sum_native = sum_native * 31 + (uint64_t)ys[i];
    t_seq[r] = time_map(p, seq, in, &sum_seq, n);
    t_thr[r] = time_map(p, thr, in, &sum_thr, n);
    if (sum_seq != sum_native || sum_thr != sum_native) bad = 1;
  }
  double native = median(t_native, repeats), s = median(t_seq, repeats), t = median(t_thr, repeats);
  printf("\n(b) CPU-heavy row node (%.1f us/item, %d iterations), %lld items, median of %d\n",
         native * 1e6 / (double)(n ? n : 1), g_heavy_iters, (long long)n, repeats);
  printf("  %-26s %8s %10s %12s %12s\n", "engine", "workers", "ms", "vs native", "vs seq");
  printf("  %-26s %8d %10.1f %12.2f %12s\n", "native loop", 1, native * 1e3, 1.0, "-");
  printf("  %-26s %8d %10.1f %12.2f %12.2f\n", "sequential", hn_engine_workers(seq), s * 1e3,
         native / s, 1.0);
  printf("  %-26s %8d %10.1f %12.2f %12.2f\n", "threads", hn_engine_workers(thr), t * 1e3,
         native / t, s / t);
  printf("  speedup threads / sequential: %.2fx on %d workers\n", s / t, hn_engine_workers(thr));
  printf("  checksum %016llx %s\n", (unsigned long long)sum_native,
         bad ? "MISMATCH" : "(engines == native)");

  free(ys);
  free(t_native);
  free(t_seq);
  free(t_thr);
  hn_engine_destroy(seq);
  hn_engine_destroy(thr);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  return bad;
}

int main(int argc, char **argv) {
  int64_t items = 1000000;
  int repeats = 5;
  double heavy_us = 20;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--items") == 0 && i + 1 < argc)
      items = atoll(argv[++i]);
    else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
      repeats = atoi(argv[++i]);
    else if (strcmp(argv[i], "--heavy-us") == 0 && i + 1 < argc)
      heavy_us = atof(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--items N] [--repeats R] [--heavy-us U]\n", argv[0]);
      return 2;
    }
  }
  if (items < 1 || repeats < 1 || heavy_us <= 0) {
    fprintf(stderr, "--items, --repeats and --heavy-us must be positive\n");
    return 2;
  }
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  int bad = bench_dispatch(items, repeats);
  int64_t heavy_items = items / 50 > 0 ? items / 50 : 1;
  bad |= bench_threads(heavy_items, repeats, heavy_us);
  if (bad) fprintf(stderr, "result mismatch between an engine and the native loop\n");
  return bad ? 1 : 0;
}
