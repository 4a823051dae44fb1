/*
 * A map over a stream (hn_pipeline_map_stream) of N int64 items made batch by
 * batch, through a one-node pipeline (y = x + 1), the results read and
 * checked batch by batch and released: peak memory must not grow with N.
 * Prints the time, items per second and this process's peak RSS (run it in
 * a fresh process: the figure is the whole process's high-water mark).
 * Usage: hn_bench_stream [--engine E] [--items N] [--batch ROWS].
 * Exit status 1 when a result is wrong or a call fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "hypernodes/hypernodes.h"

typedef struct source {
  int64_t n, batch, next;
} source;

static int src_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  (void)s;
  const hn_type *t = NULL;
  const char *names[] = {"x"};
  const hn_type *fields[] = {hn_type_int64()};
  if (hn_type_struct_create(NULL, 1, names, fields, &t, NULL) != HN_OK) return 12;
  hn_status st = hn_type_export(t, "", out, NULL);
  hn_type_release(t);
  return st == HN_OK ? 0 : 12;
}

/* The next batch: x = next, next + 1, ... written straight into the values. */
static int src_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  source *src = s->private_data;
  out->release = NULL;
  int64_t n = src->n - src->next < src->batch ? src->n - src->next : src->batch;
  if (n <= 0) return 0;
  hn_builder *b = NULL;
  hn_array *col = NULL;
  hn_table *t = NULL;
  const char *names[] = {"x"};
  int64_t *v = malloc(sizeof *v * (size_t)n);
  if (!v || hn_builder_create(NULL, hn_type_int64(), &b, NULL) != HN_OK) {
    free(v);
    return 12;
  }
  for (int64_t i = 0; i < n; i++) v[i] = src->next + i;
  src->next += n;
  hn_status st = hn_builder_append_values(b, v, n);
  free(v);
  if (st == HN_OK) st = hn_builder_finish(b, &col, NULL);
  hn_builder_destroy(b);
  if (st == HN_OK) st = hn_table_create(NULL, 1, names, &col, &t, NULL);
  hn_array_release(col);
  if (st == HN_OK) st = hn_table_export(t, NULL, out, NULL);
  hn_table_release(t);
  return st == HN_OK ? 0 : 12;
}

static const char *src_error(struct ArrowArrayStream *s) {
  (void)s;
  return "";
}

static void src_release(struct ArrowArrayStream *s) {
  s->release = NULL;
}

static hn_status add1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

static hn_status add1_batch(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out,
                            hn_ctx *ctx) {
  (void)ud, (void)ctx;
  const int64_t *x = hn_array_int64_values(in[0].array);
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, hn_type_int64(), &b, NULL);
  if (st == HN_OK) st = hn_builder_reserve(b, n);
  for (int64_t i = 0; i < n && st == HN_OK; i++) st = hn_builder_append_int64(b, x[i] + 1);
  if (st == HN_OK) st = hn_builder_finish(b, &out[0], NULL);
  hn_builder_destroy(b);
  return st;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  const char *engine_name = "sequential";
  int64_t n = 10000000, batch = 65536;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--engine") == 0)
      engine_name = argv[i + 1];
    else if (strcmp(argv[i], "--items") == 0)
      n = atoll(argv[i + 1]);
    else if (strcmp(argv[i], "--batch") == 0)
      batch = atoll(argv[i + 1]);
    else {
      fprintf(stderr, "usage: hn_bench_stream [--engine E] [--items N] [--batch ROWS]\n");
      return 2;
    }
  }
  hn_error err;
  hn_engine_options eo = {.size = sizeof eo};
  hn_engine *engine = NULL;
  hn_pipeline *p = NULL;
  if (hn_engine_kind_from_name(engine_name, &eo.kind, &err) != HN_OK ||
      hn_engine_create(NULL, &eo, &engine, &err) != HN_OK ||
      hn_pipeline_create(NULL, "stream", &p, &err) != HN_OK ||
      hn_pipeline_add_ex(p, "add1", "x: int64", "y: int64", add1, add1_batch, NULL, NULL, &err) !=
          HN_OK) {
    fprintf(stderr, "hn_bench_stream: %s\n", err.message);
    return 1;
  }
  source src = {n, batch > 0 ? batch : 65536, 0};
  struct ArrowArrayStream items = {src_schema, src_next, src_error, src_release, &src};
  hn_map_stream *s = NULL;
  double t0 = now_s();
  int bad = hn_pipeline_map_stream(p, engine, NULL, &items, NULL, &s, &err) != HN_OK;
  int64_t seen = 0;
  while (!bad) {
    hn_table *t = NULL;
    if (hn_map_stream_next(s, &t, &err) != HN_OK) {
      bad = 1;
      break;
    }
    if (!t) break;
    const int64_t *y = hn_array_int64_values(hn_table_column(t, 0));
    for (int64_t i = 0; i < hn_table_num_rows(t); i++, seen++)
      if (y[i] != seen + 1) bad = 1;
    hn_table_release(t);
  }
  double secs = now_s() - t0;
  if (bad) fprintf(stderr, "hn_bench_stream: %s\n", err.message[0] ? err.message : "wrong result");
  if (!bad && seen != n) {
    fprintf(stderr, "hn_bench_stream: %lld items out of %lld\n", (long long)seen, (long long)n);
    bad = 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf(
      "stream map: engine %s, %lld items in batches of %lld: %.2f s (%.1f M items/s), "
      "peak RSS %.1f MB%s\n",
      engine_name, (long long)seen, (long long)batch, secs, (double)seen / secs / 1e6,
      (double)ru.ru_maxrss / 1024.0, bad ? " (FAILED)" : "");
  hn_map_stream_destroy(s);
  hn_pipeline_release(p);
  hn_engine_destroy(engine);
  return bad;
}
