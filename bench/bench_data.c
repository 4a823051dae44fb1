/*
 * Data-layer micro-benchmarks: builder append throughput against a plain
 * memcpy of the same bytes, and Arrow import validation speed.
 * Usage: hn_bench_data [--rows N] [--repeats R]. Prints a table; figures are
 * medians over R repeats. This is a stopgap until `hypernodes bench`.
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

typedef struct strings {
  char *bytes;
  int32_t *offsets;
  int64_t n, total;
} strings;

static strings make_strings(int64_t n) {
  strings s = {NULL, malloc(sizeof(int32_t) * (size_t)(n + 1)), n, 0};
  s.bytes = malloc((size_t)n * 24);
  s.offsets[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    s.total += sprintf(s.bytes + s.total, "Hello World %lld", (long long)i);
    s.offsets[i + 1] = (int32_t)s.total;
  }
  return s;
}

static volatile uint8_t sink;

/* memcpy of `bytes` into freshly allocated memory, as a builder must also allocate. */
static double time_memcpy(const void *src, size_t bytes) {
  double t0 = now_s();
  uint8_t *dst = malloc(bytes);
  memcpy(dst, src, bytes);
  sink = dst[bytes / 2];
  free(dst);
  return now_s() - t0;
}

static double time_memcpy_strings(const strings *s) {
  double t0 = now_s();
  uint8_t *dst = malloc((size_t)s->total);
  int32_t *off = malloc(sizeof(int32_t) * (size_t)(s->n + 1));
  memcpy(dst, s->bytes, (size_t)s->total);
  memcpy(off, s->offsets, sizeof(int32_t) * (size_t)(s->n + 1));
  sink = dst[s->total / 2] + (uint8_t)off[s->n / 2];
  free(dst);
  free(off);
  return now_s() - t0;
}

static hn_array *finish(hn_builder *b) {
  hn_error err;
  hn_array *arr = NULL;
  hn_status st = hn_builder_finish(b, &arr, &err);
  if (st != HN_OK) die("finish", st, &err);
  return arr;
}

/* mode 0: append loop, 1: reserve then append loop, 2: one bulk append. */
static double time_append_int64(const int64_t *v, int64_t n, int mode, hn_array **keep) {
  hn_builder *b = NULL;
  double t0 = now_s();
  if (hn_builder_create(NULL, hn_type_int64(), &b, NULL) != HN_OK) die("create", HN_ENOMEM, NULL);
  if (mode == 1 && hn_builder_reserve(b, n) != HN_OK) die("reserve", HN_ENOMEM, NULL);
  if (mode == 2) {
    if (hn_builder_append_values(b, v, n) != HN_OK) die("append_values", HN_ENOMEM, NULL);
  } else {
    for (int64_t i = 0; i < n; i++)
      if (hn_builder_append_int64(b, v[i]) != HN_OK) die("append_int64", HN_ENOMEM, NULL);
  }
  hn_array *arr = finish(b);
  double t = now_s() - t0;
  hn_builder_destroy(b);
  if (keep && !*keep)
    *keep = arr;
  else
    hn_array_release(arr);
  return t;
}

static double time_append_utf8(const strings *s, hn_array **keep) {
  hn_builder *b = NULL;
  double t0 = now_s();
  if (hn_builder_create(NULL, hn_type_utf8(), &b, NULL) != HN_OK) die("create", HN_ENOMEM, NULL);
  for (int64_t i = 0; i < s->n; i++)
    if (hn_builder_append_str(b, s->bytes + s->offsets[i], s->offsets[i + 1] - s->offsets[i]) !=
        HN_OK)
      die("append_str", HN_ENOMEM, NULL);
  hn_array *arr = finish(b);
  double t = now_s() - t0;
  hn_builder_destroy(b);
  if (keep && !*keep)
    *keep = arr;
  else
    hn_array_release(arr);
  return t;
}

/* int64 with every 10th row null: import counts the bitmap against null_count. */
static hn_array *int64_with_nulls(const int64_t *v, int64_t n) {
  hn_builder *b = NULL;
  if (hn_builder_create(NULL, hn_type_int64(), &b, NULL) != HN_OK) die("create", HN_ENOMEM, NULL);
  for (int64_t i = 0; i < n; i++) {
    hn_status st = i % 10 == 3 ? hn_builder_append_null(b) : hn_builder_append_int64(b, v[i]);
    if (st != HN_OK) die("append", st, NULL);
  }
  hn_array *arr = finish(b);
  hn_builder_destroy(b);
  return arr;
}

/* Export then time only the import (structural + full validation). */
static double time_import(const hn_array *arr, bool utf8) {
  struct ArrowSchema schema;
  struct ArrowArray array;
  hn_error err;
  hn_status st = hn_array_export(arr, &schema, &array, &err);
  if (st != HN_OK) die("export", st, &err);
  hn_import_options opt;
  hn_import_options_init(&opt, sizeof opt);
  opt.validate_utf8 = utf8;
  hn_array *out = NULL;
  double t0 = now_s();
  st = hn_array_import(NULL, &schema, &array, &opt, &out, &err);
  double t = now_s() - t0;
  if (st != HN_OK) die("import", st, &err);
  hn_array_release(out);
  schema.release(&schema);
  return t;
}

int main(int argc, char **argv) {
  int64_t rows = 10 * 1000 * 1000;
  int repeats = 5;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc)
      rows = atoll(argv[++i]);
    else if (strcmp(argv[i], "--repeats") == 0 && i + 1 < argc)
      repeats = atoi(argv[++i]);
    else {
      fprintf(stderr, "usage: %s [--rows N] [--repeats R]\n", argv[0]);
      return 2;
    }
  }
  if (rows < 1 || repeats < 1 || repeats > 100) {
    fprintf(stderr, "rows must be >= 1 and repeats in 1..100\n");
    return 2;
  }
  /* Keep freed memory in the process so that every repeat, baseline and
   * builder alike, writes to already-mapped pages: we time copying, not page faults. */
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  int64_t *v = malloc(sizeof(int64_t) * (size_t)rows);
  for (int64_t i = 0; i < rows; i++) v[i] = i * 3 + 1;
  strings s = make_strings(rows / 4 > 0 ? rows / 4 : 1);
  double mc[100], ap[100], res[100], bulk[100], smc[100], sap[100];
  double imp_i[100], imp_s[100], imp_sn[100];
  hn_array *ints = NULL, *strs = NULL;
  for (int r = -1; r < repeats; r++) { /* r = -1: warm-up, not recorded */
    int k = r < 0 ? 0 : r;
    mc[k] = time_memcpy(v, sizeof(int64_t) * (size_t)rows);
    ap[k] = time_append_int64(v, rows, 0, NULL);
    res[k] = time_append_int64(v, rows, 1, NULL);
    bulk[k] = time_append_int64(v, rows, 2, NULL);
    smc[k] = time_memcpy_strings(&s);
    sap[k] = time_append_utf8(&s, r < 0 ? NULL : &strs);
  }
  ints = int64_with_nulls(v, rows);
  for (int r = 0; r < repeats; r++) {
    imp_i[r] = time_import(ints, false);
    imp_s[r] = time_import(strs, true);
    imp_sn[r] = time_import(strs, false);
  }
  double int_bytes = (double)rows * 8;
  double str_bytes = (double)s.total + 4.0 * (double)(s.n + 1);
  double m_mc = median(mc, repeats), m_ap = median(ap, repeats), m_bulk = median(bulk, repeats);
  double m_res = median(res, repeats);
  double m_smc = median(smc, repeats), m_sap = median(sap, repeats);
  double m_ii = median(imp_i, repeats), m_is = median(imp_s, repeats);
  double m_isn = median(imp_sn, repeats);
  printf(
      "hypernodes %s data-layer benchmark: %lld int64 rows, %lld utf8 rows (%.1f MB), "
      "median of %d\n\n",
      hn_version_string(), (long long)rows, (long long)s.n, str_bytes / 1e6, repeats);
  printf("%-38s %12s %12s %10s\n", "measure", "time", "throughput", "ratio");
  printf("%-38s %10.2f ms %9.2f GB/s %10s\n", "int64: memcpy (baseline)", m_mc * 1e3,
         int_bytes / m_mc / 1e9, "1.00x");
  printf("%-38s %10.2f ms %9.2f GB/s %9.2fx\n", "int64: hn_builder_append_int64 loop", m_ap * 1e3,
         int_bytes / m_ap / 1e9, m_ap / m_mc);
  printf("%-38s %10.2f ms %9.2f GB/s %9.2fx\n", "int64: reserve + append_int64 loop", m_res * 1e3,
         int_bytes / m_res / 1e9, m_res / m_mc);
  printf("%-38s %10.2f ms %9.2f GB/s %9.2fx\n", "int64: hn_builder_append_values bulk",
         m_bulk * 1e3, int_bytes / m_bulk / 1e9, m_bulk / m_mc);
  printf("%-38s %10.2f ms %9.2f GB/s %10s\n", "utf8: memcpy bytes+offsets (baseline)", m_smc * 1e3,
         str_bytes / m_smc / 1e9, "1.00x");
  printf("%-38s %10.2f ms %9.2f GB/s %9.2fx\n", "utf8: hn_builder_append_str loop", m_sap * 1e3,
         str_bytes / m_sap / 1e9, m_sap / m_smc);
  printf("%-38s %10.2f ms %9.2f GB/s\n", "import int64, 10% nulls (validated)", m_ii * 1e3,
         int_bytes / m_ii / 1e9);
  printf("%-38s %10.2f ms %9.2f GB/s\n", "import utf8 (offsets + UTF-8 checked)", m_is * 1e3,
         str_bytes / m_is / 1e9);
  printf("%-38s %10.2f ms %9.2f GB/s\n", "import utf8 (offsets only)", m_isn * 1e3,
         str_bytes / m_isn / 1e9);
  hn_array_release(ints);
  hn_array_release(strs);
  free(v);
  free(s.bytes);
  free(s.offsets);
  return 0;
}
