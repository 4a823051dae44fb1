/*
 * Cache micro-benchmarks: type-aware row hashing (hn__array_hash_rows) of
 * int64, float64, utf8 and list<int64> columns, and the LMDB store: puts of
 * 64k-row chunks, warm item lookups of every item in one call, chunk reads.
 * Usage: hn_bench_cache [--rows N] [--repeats R] [--dir DIR]. Prints a
 * table; figures are medians over R repeats. The store's figures include
 * LMDB's commit (one fsync of the data pages per put) on DIR's disk.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_internal.h"

enum { CHUNK_ROWS = 65536 };

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

static void check(hn_status st, const char *what, const hn_error *err) {
  if (st == HN_OK) return;
  fprintf(stderr, "%s: %s: %s\n", what, hn_status_str(st), err->message);
  exit(1);
}

/* A column of n rows of `type`: int64/float64 i, utf8 "value-<i>", list<int64> of i % 4 items. */
static hn_array *column(const hn_type *type, int64_t n) {
  hn_builder *b = NULL;
  hn_error err;
  check(hn_builder_create(NULL, type, &b, &err), "builder", &err);
  char text[32];
  for (int64_t i = 0; i < n; i++) {
    hn_status st = HN_OK;
    switch (hn_type_id_of(type)) {
      case HN_TYPE_INT64:
        st = hn_builder_append_int64(b, i * 7919);
        break;
      case HN_TYPE_FLOAT64:
        st = hn_builder_append_float64(b, (double)i * 0.5);
        break;
      case HN_TYPE_UTF8:
        st =
            hn_builder_append_str(b, text, snprintf(text, sizeof text, "value-%lld", (long long)i));
        break;
      default:
        for (int64_t k = 0; k < i % 4 && st == HN_OK; k++)
          st = hn_builder_append_int64(hn_builder_child(b, 0), i + k);
        if (st == HN_OK) st = hn_builder_finish_element(b);
    }
    check(st, "append", &err);
  }
  hn_array *a = NULL;
  check(hn_builder_finish(b, &a, &err), "finish", &err);
  hn_builder_destroy(b);
  return a;
}

static void bench_hash(const char *name, const hn_type *type, int64_t n, int repeats) {
  hn_array *a = column(type, n);
  hn__hash128 *out = malloc((size_t)n * sizeof *out);
  double *t = malloc((size_t)repeats * sizeof *t);
  hn_error err;
  for (int r = 0; r < repeats; r++) {
    double t0 = now_s();
    check(hn__array_hash_rows(a, 0, n, out, &err), "hash", &err);
    t[r] = now_s() - t0;
  }
  double m = median(t, repeats);
  printf("hash %-12s %9lld rows  %8.2f ms  %6.2f ns/row\n", name, (long long)n, m * 1e3,
         m * 1e9 / (double)n);
  free(t);
  free(out);
  hn_array_release(a);
}

/* Item keys of chunk c: the hashes of its row numbers, as a key computation would give. */
static void item_keys(int64_t c, hn__hash128 *keys) {
  for (int64_t i = 0; i < CHUNK_ROWS; i++) {
    int64_t id = c * CHUNK_ROWS + i;
    keys[i] = hn__hash128_bytes(&id, sizeof id, 42);
  }
}

static void bench_store(const char *dir, int64_t n_chunks, int repeats) {
  hn__cache *c = NULL;
  hn_error err;
  check(hn__cache_open(NULL, dir, 0, &c, &err), "open", &err);
  hn_array *cols[2] = {column(hn_type_int64(), CHUNK_ROWS), column(hn_type_utf8(), CHUNK_ROWS)};
  const char *names[] = {"x", "s"};
  hn_table *table = NULL;
  check(hn_table_create(NULL, 2, names, cols, &table, &err), "table", &err);
  hn__hash128 *keys = malloc((size_t)(n_chunks * CHUNK_ROWS) * sizeof *keys);
  double *t = malloc((size_t)n_chunks * sizeof *t);
  hn__cache_put_info info;
  for (int64_t k = 0; k < n_chunks; k++) {
    item_keys(k, keys + k * CHUNK_ROWS);
    double t0 = now_s();
    hn__hash128 ck = hn__hash128_bytes(&k, sizeof k, 7);
    check(hn__cache_put_chunk(c, ck, table, CHUNK_ROWS, keys + k * CHUNK_ROWS, &info, &err), "put",
          &err);
    t[k] = now_s() - t0;
  }
  printf("put  one %d-row chunk (int64 + utf8, %lld accounted bytes): %.2f ms (median of %lld)\n",
         CHUNK_ROWS, (long long)info.bytes, median(t, (int)n_chunks) * 1e3, (long long)n_chunks);
  int64_t n = n_chunks * CHUNK_ROWS;
  hn__cache_item *out = malloc((size_t)n * sizeof *out);
  double *r = malloc((size_t)repeats * sizeof *r);
  for (int k = 0; k < repeats; k++) {
    int64_t found = 0;
    double t0 = now_s();
    check(hn__cache_get_items(c, n, keys, out, &found, &err), "items", &err);
    r[k] = now_s() - t0;
    if (found != n) fprintf(stderr, "found %lld of %lld\n", (long long)found, (long long)n);
  }
  double m = median(r, repeats);
  printf("get_items %lld item keys, warm, one call: %.1f ms  %.0f ns/item\n", (long long)n, m * 1e3,
         m * 1e9 / (double)n);
  /* A cold map's lookups: keys that are not there. */
  for (int64_t i = 0; i < n; i++) keys[i].hi ^= 0x5555;
  for (int k = 0; k < repeats; k++) {
    int64_t found = 0;
    double t0 = now_s();
    check(hn__cache_get_items(c, n, keys, out, &found, &err), "items", &err);
    r[k] = now_s() - t0;
  }
  m = median(r, repeats);
  printf("get_items %lld absent item keys, one call:   %.1f ms  %.0f ns/item\n", (long long)n,
         m * 1e3, m * 1e9 / (double)n);
  for (int k = 0; k < repeats; k++) {
    hn_table *got = NULL;
    int64_t ck = k % n_chunks;
    double t0 = now_s();
    check(hn__cache_get_chunk(c, hn__hash128_bytes(&ck, sizeof ck, 7), &got, NULL, &err), "get",
          &err);
    r[k] = now_s() - t0;
    hn_table_release(got);
  }
  printf("get_chunk one %d-row chunk (copy, checksum, validation): %.2f ms\n", CHUNK_ROWS,
         median(r, repeats) * 1e3);
  hn__cache_usage u;
  check(hn__cache_stats(c, &u, &err), "stats", &err);
  printf("store: %lld chunks, %lld items, %lld accounted bytes, data.mdb %lld bytes, map %lld\n",
         (long long)u.chunks, (long long)u.items, (long long)u.bytes, (long long)u.file_size,
         (long long)u.map_size);
  free(r);
  free(out);
  free(t);
  free(keys);
  hn_table_release(table);
  hn_array_release(cols[0]);
  hn_array_release(cols[1]);
  hn__cache_close(c);
}

int main(int argc, char **argv) {
  int64_t rows = 1000000;
  int repeats = 7;
  const char *dir = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--rows") == 0)
      rows = strtoll(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--repeats") == 0)
      repeats = (int)strtol(argv[i + 1], NULL, 10);
    else if (strcmp(argv[i], "--dir") == 0)
      dir = argv[i + 1];
  }
  if (rows < 1 || repeats < 1) {
    fprintf(stderr, "usage: hn_bench_cache [--rows N] [--repeats R] [--dir DIR]\n");
    return 2;
  }
  const hn_type *li = NULL;
  hn_error err;
  check(hn_type_list_create(NULL, hn_type_int64(), &li, &err), "type", &err);
  bench_hash("int64", hn_type_int64(), rows, repeats);
  bench_hash("float64", hn_type_float64(), rows, repeats);
  bench_hash("utf8", hn_type_utf8(), rows, repeats);
  bench_hash("list<int64>", li, rows, repeats);
  hn_type_release(li);
  char tmp[64];
  if (!dir) {
    snprintf(tmp, sizeof tmp, "/tmp/hn_bench_cache_XXXXXX");
    if (!mkdtemp(tmp)) return 1;
    dir = tmp;
  }
  bench_store(dir, (rows + CHUNK_ROWS - 1) / CHUNK_ROWS, repeats);
  if (dir == tmp) {
    hn_error ignored;
    (void)hn__cache_clear(NULL, dir, &ignored);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
  }
  return 0;
}
