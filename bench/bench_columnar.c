/*
 * Columnar engine figures (issue 4):
 *  numeric  normalisation (v - mean) / std of linspace(0, 10000, n) with a batch
 *           function, columnar engine against a hand-vectorised loop (and the
 *           sequential and threads engines, which call the row function);
 *  memory   peak RSS of one n-item columnar map, measured in a fresh child
 *           process, against the bytes of its input plus its requested output.
 * Usage: hn_bench_columnar [--items N] [--repeats R]. Results are checked
 * against the native loop (exact: the same expression in the same order).
 */
#define _POSIX_C_SOURCE 200809L
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hypernodes/hypernodes.h"

#define CHECK(call)                                                            \
  do {                                                                         \
    hn_status st_ = (call);                                                    \
    if (st_ != HN_OK) {                                                        \
      fprintf(stderr, "%s: %s: %s\n", #call, hn_status_str(st_), err.message); \
      exit(1);                                                                 \
    }                                                                          \
  } while (0)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static hn_status normalize_row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_float64(out[0], (in[0].v.f64 - in[1].v.f64) / in[2].v.f64);
}

/* The batch function writes its output buffer in place. */
static hn_status normalize_batch(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out,
                                 hn_ctx *ctx) {
  (void)ud;
  if (hn_array_null_count(in[0].array) != 0) return hn_ctx_fail(ctx, "nulls are not handled");
  const double *v = hn_array_float64_values(in[0].array);
  double mean = hn_array_get(in[1].array, 0).v.f64, std = hn_array_get(in[2].array, 0).v.f64;
  hn_buffer *buf = NULL;
  hn_status st = hn_buffer_create_uninit(NULL, n * 8, &buf, NULL);
  if (st != HN_OK) return st;
  double *z = (double *)hn_buffer_mutable_data(buf);
  for (int64_t i = 0; i < n; i++) z[i] = (v[i] - mean) / std;
  st = hn_array_create_fixed(NULL, hn_type_float64(), n, NULL, buf, out, NULL);
  hn_buffer_release(buf);
  return st;
}

static hn_pipeline *numeric_pipeline(void) {
  hn_error err;
  hn_pipeline *p = NULL;
  CHECK(hn_pipeline_create(NULL, "numeric", &p, &err));
  CHECK(hn_pipeline_add_ex(p, "normalize", "v, mean, std", "z: float64", normalize_row,
                           normalize_batch, NULL, NULL, &err));
  return p;
}

static hn_array *linspace(int64_t n) {
  hn_error err;
  hn_buffer *buf = NULL;
  CHECK(hn_buffer_create(NULL, n * 8, &buf, &err));
  double *x = (double *)hn_buffer_mutable_data(buf);
  for (int64_t i = 0; i < n; i++) x[i] = n > 1 ? 10000.0 * (double)i / (double)(n - 1) : 0;
  hn_array *a = NULL;
  CHECK(hn_array_create_fixed(NULL, hn_type_float64(), n, NULL, buf, &a, &err));
  hn_buffer_release(buf);
  return a;
}

static hn_inputs *numeric_inputs(hn_array *v) {
  hn_error err;
  hn_inputs *in = NULL;
  CHECK(hn_inputs_create(NULL, &in, &err));
  CHECK(hn_inputs_set_column(in, "v", v, &err));
  CHECK(hn_inputs_set_float64(in, "mean", 5000.0, &err));
  CHECK(hn_inputs_set_float64(in, "std", 750.0, &err));
  return in;
}

/* One map; returns seconds; *r receives the result (read chunk by chunk: nothing joined). */
static double run_map(hn_pipeline *p, hn_engine *e, hn_inputs *in, hn_result **r) {
  hn_error err;
  const char *over[] = {"v"};
  hn_run_options o = {.size = sizeof o, .n_map_over = 1, .map_over = over};
  double t0 = now_s();
  CHECK(hn_pipeline_map(p, e, in, &o, r, &err));
  return now_s() - t0;
}

/* Compare the result's chunks, in order, with `ref`. */
static bool matches(const hn_result *r, const double *ref, int64_t n) {
  int64_t at = 0;
  for (int64_t k = 0; k < hn_result_num_chunks(r); k++) {
    const hn_array *z = hn_table_column(hn_result_chunk(r, k), 0);
    int64_t len = hn_array_length(z);
    if (at + len > n || hn_array_null_count(z) != 0 ||
        memcmp(hn_array_float64_values(z), ref + at, (size_t)len * 8) != 0)
      return false;
    at += len;
  }
  return at == n;
}

static double native(const double *v, int64_t n, double **out) {
  double t0 = now_s();
  double *z = malloc((size_t)n * 8);
  const double mean = 5000.0, std = 750.0;
  for (int64_t i = 0; i < n; i++) z[i] = (v[i] - mean) / std;
  double t = now_s() - t0;
  *out = z;
  return t;
}

static hn_engine *engine(hn_engine_kind kind, int workers) {
  hn_error err;
  hn_engine_options o = {.size = sizeof o, .kind = kind, .workers = workers};
  hn_engine *e = NULL;
  CHECK(hn_engine_create(NULL, &o, &e, &err));
  return e;
}

static void bench_numeric(int64_t n, int repeats) {
  /* Keep freed memory mapped: time computing, not first-touch page faults. One malloc
   * arena: glibc's per-thread arenas give their memory back and fault it in again. */
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  mallopt(M_ARENA_MAX, 1);
  hn_array *v = linspace(n);
  hn_pipeline *p = numeric_pipeline();
  hn_inputs *in = numeric_inputs(v);
  enum { K = 4 };
  const hn_engine_kind kinds[K] = {HN_ENGINE_COLUMNAR, HN_ENGINE_COLUMNAR, HN_ENGINE_THREADS,
                                   HN_ENGINE_SEQUENTIAL};
  const int workers[K] = {1, 0, 0, 0};
  const char *names[K] = {"columnar, 1 worker", "columnar, 1 per core", "threads (row fn)",
                          "sequential (row fn)"};
  double t_native[64], t_engine[K][64];
  double *ref = NULL;
  for (int r = -1; r < repeats; r++) { /* r = -1: warm-up */
    double *z = NULL;
    double t = native(hn_array_float64_values(v), n, &z);
    if (r >= 0) t_native[r] = t;
    if (ref)
      free(z);
    else
      ref = z;
    for (int k = 0; k < K; k++) {
      hn_engine *e = engine(kinds[k], workers[k]);
      hn_result *res = NULL;
      t = run_map(p, e, in, &res);
      if (r >= 0) t_engine[k][r] = t;
      if (!matches(res, ref, n)) {
        fprintf(stderr, "%s: result differs from the native loop\n", names[k]);
        exit(1);
      }
      hn_result_destroy(res);
      hn_engine_destroy(e);
    }
  }
  qsort(t_native, (size_t)repeats, sizeof(double), cmp_double);
  double nat = t_native[repeats / 2];
  printf("numeric: (v - mean) / std over %lld rows, median of %d (results == native)\n",
         (long long)n, repeats);
  printf("  %-26s %10s %12s\n", "variant", "ms", "vs native");
  printf("  %-26s %10.2f %12.2f\n", "native vectorised loop", nat * 1e3, 1.0);
  for (int k = 0; k < K; k++) {
    qsort(t_engine[k], (size_t)repeats, sizeof(double), cmp_double);
    double m = t_engine[k][repeats / 2];
    printf("  %-26s %10.2f %12.2f\n", names[k], m * 1e3, m / nat);
  }
  free(ref);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_array_release(v);
}

/* In a fresh child: build the input, map it once on columnar, report peak RSS. */
static void bench_memory(int64_t n) {
  int fds[2];
  if (pipe(fds) != 0) exit(1);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    struct rusage before;
    getrusage(RUSAGE_SELF, &before);
    hn_array *v = linspace(n);
    hn_pipeline *p = numeric_pipeline();
    hn_inputs *in = numeric_inputs(v);
    hn_engine *e = engine(HN_ENGINE_COLUMNAR, 0);
    hn_result *res = NULL;
    run_map(p, e, in, &res);
    struct rusage after;
    getrusage(RUSAGE_SELF, &after);
    long kb[2] = {before.ru_maxrss, after.ru_maxrss};
    if (write(fds[1], kb, sizeof kb) != (ssize_t)sizeof kb) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  long kb[2] = {0, 0};
  ssize_t got = read(fds[0], kb, sizeof kb);
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  if (got != (ssize_t)sizeof kb || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "memory child failed\n");
    exit(1);
  }
  double data_mb = 2.0 * (double)n * 8 / 1e6; /* input v + output z */
  double peak_mb = (double)(kb[1] - kb[0]) * 1024 / 1e6;
  printf(
      "memory: one columnar map of %lld float64 rows in a fresh process (result read as\n"
      "  its record batches, the way the Arrow stream hands it out)\n",
      (long long)n);
  printf(
      "  input + requested output: %.1f MB; peak RSS growth during the map: %.1f MB "
      "(%.2fx); process peak RSS %.1f MB\n",
      data_mb, peak_mb, peak_mb / data_mb, (double)kb[1] * 1024 / 1e6);
}

int main(int argc, char **argv) {
  int64_t n = 10 * 1000 * 1000;
  int repeats = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--items") == 0 && i + 1 < argc)
      n = atoll(argv[++i]);
    else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
      repeats = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--items N] [--repeats R]\n", argv[0]);
      return 2;
    }
  }
  if (n < 1 || repeats < 1 || repeats > 64) {
    fprintf(stderr, "items must be >= 1 and repeats in 1..64\n");
    return 2;
  }
  bench_memory(n); /* first: before this process's allocator is tuned */
  bench_numeric(n, repeats);
  return 0;
}
