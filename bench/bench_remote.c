/*
 * The cost of moving items out of the calling process: the processes
 * engine, or the mpi engine when an MPI launcher started this program.
 *
 * A one-node pipeline (int64 + 1, nothing to compute) is mapped over N
 * items on the sequential engine (the reference) and on the remote engine
 * with a fixed batch size B for several B. Each row reports ns per item
 * above the sequential engine; for large B that is the per-item cost of the
 * trip (encode, send, decode, collect), and the slope against 1/B is the
 * fixed cost of one batch (one message each way, scheduling). The results
 * are checked against the sequential engine's.
 *
 * Usage: hn_bench_remote [--items N] [--repeats R] [--workers W]
 *        (defaults: N = 1000000, R = 5, W = 1 worker process / thread per rank)
 * Under mpiexec every rank runs it; rank 0 prints.
 */
#define _POSIX_C_SOURCE 200809L
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

static void die(const char *what, hn_status st, const hn_error *err) {
  fprintf(stderr, "hn_bench_remote: %s: %s: %s\n", what, hn_status_str(st),
          err ? err->message : "");
  exit(1);
}

#define CHECK(call)                          \
  do {                                       \
    hn_status st_ = (call);                  \
    if (st_ != HN_OK) die(#call, st_, &err); \
  } while (0)

static hn_status add1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

static bool under_launcher(void) {
  return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

/* Median seconds of R maps of p on e (one warm-up); checks against want when given. */
static double time_map(hn_pipeline *p, hn_engine *e, hn_inputs *in, int repeats,
                       const hn_table *want, bool root) {
  const char *over[1] = {"x"};
  hn_run_options o = {.size = sizeof o, .n_map_over = 1, .map_over = over};
  double t[64];
  hn_error err;
  for (int r = -1; r < repeats; r++) {
    hn_result *res = NULL;
    double t0 = now_s();
    CHECK(hn_pipeline_map(p, e, in, &o, &res, &err));
    hn_table *got = hn_result_table(res); /* joined when chunked: part of the cost */
    double dt = now_s() - t0;
    if (root && want && !hn_table_equals(got, want)) {
      fprintf(stderr, "hn_bench_remote: the result differs from the sequential engine's\n");
      exit(1);
    }
    if (r >= 0) t[r] = dt;
    hn_result_destroy(res);
  }
  qsort(t, (size_t)repeats, sizeof *t, cmp_double);
  return t[repeats / 2];
}

int main(int argc, char **argv) {
  int64_t n = 1000000;
  int repeats = 5, workers = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--items") == 0)
      n = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--repeats") == 0)
      repeats = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--workers") == 0)
      workers = atoi(argv[i + 1]);
  }
  if (n < 1 || repeats < 1 || repeats > 64 || workers < 0) {
    fprintf(stderr, "usage: hn_bench_remote [--items N] [--repeats R<=64] [--workers W]\n");
    return 2;
  }
  hn_error err;
  hn_error_reset(&err);
  hn_pipeline *p = NULL;
  CHECK(hn_pipeline_create(NULL, "remote", &p, &err));
  CHECK(hn_pipeline_add(p, "add1", "x", "y: int64", add1, &err));
  hn_builder *b = NULL;
  CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err));
  for (int64_t i = 0; i < n; i++) CHECK(hn_builder_append_int64(b, i));
  hn_array *x = NULL;
  CHECK(hn_builder_finish(b, &x, &err));
  hn_builder_destroy(b);
  hn_inputs *in = NULL;
  CHECK(hn_inputs_create(NULL, &in, &err));
  CHECK(hn_inputs_set_column(in, "x", x, &err));
  hn_array_release(x);

  hn_engine_kind kind = under_launcher() ? HN_ENGINE_MPI : HN_ENGINE_PROCESSES;
  /* The reference, on this process alone. */
  const char *over[1] = {"x"};
  hn_run_options o = {.size = sizeof o, .n_map_over = 1, .map_over = over};
  hn_result *ref = NULL;
  CHECK(hn_pipeline_map(p, NULL, in, &o, &ref, &err));
  double t_seq = time_map(p, NULL, in, repeats, NULL, true);

  static const int64_t sizes[] = {64, 256, 1024, 4096, 16384, 65536};
  bool root = true;
  for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
    hn_engine_options eo = {
        .size = sizeof eo, .kind = kind, .workers = workers, .chunk_size = sizes[k]};
    hn_engine *e = NULL;
    CHECK(hn_engine_create(NULL, &eo, &e, &err));
    root = hn_engine_rank(e) == 0;
    if (k == 0 && root)
      printf(
          "hn_bench_remote: %s engine, %d rank(s), %d worker(s) per rank/engine, %lld items, "
          "median of %d; sequential: %.1f ns/item\n"
          "%10s %12s %16s\n",
          hn_engine_kind_name(kind), hn_engine_ranks(e), hn_engine_workers(e), (long long)n,
          repeats, t_seq * 1e9 / (double)n, "batch", "ns/item", "above sequential");
    double t = time_map(p, e, in, repeats, hn_result_table(ref), root);
    if (root)
      printf("%10lld %12.1f %16.1f\n", (long long)sizes[k], t * 1e9 / (double)n,
             (t - t_seq) * 1e9 / (double)n);
    hn_engine_destroy(e);
  }
  hn_result_destroy(ref);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  return 0;
}
