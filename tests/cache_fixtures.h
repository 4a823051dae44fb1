/*
 * Fixtures of the cache store's tests (test_cache_store.c,
 * test_cache_store_shared.c): scratch directories, deterministic chunk tables
 * and keys, and checks that a chunk reads back as written.
 */
#ifndef HN_CACHE_FIXTURES_H
#define HN_CACHE_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/cache_internal.h"
#include "test_support.h"

/* A fresh directory under /tmp (a path of at most 64 bytes, written into buf). */
static inline void fx_tmpdir(char buf[64]) {
  snprintf(buf, 64, "/tmp/hn_cache_XXXXXX");
  assert_non_null(mkdtemp(buf));
}

/* Remove a cache directory made by the tests (its LMDB files, then the directory). */
static inline void fx_rmdir(const char *dir) {
  char path[256];
  const char *files[] = {"data.mdb", "lock.mdb"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    unlink(path);
  }
  rmdir(dir);
}

/* A key for chunk or item `i` of family `tag` (never zero in practice). */
static inline hn__hash128 fx_key(uint64_t tag, int64_t i) {
  return hn__hash128_bytes(&i, sizeof i, tag * 1000003u + 7u);
}

/* The item keys of chunk `chunk` of family `tag`: n rows. Caller frees. */
static inline hn__hash128 *fx_item_keys(uint64_t tag, int64_t chunk, int64_t n) {
  hn__hash128 *k = malloc((size_t)(n ? n : 1) * sizeof *k);
  for (int64_t i = 0; i < n; i++) k[i] = fx_key(tag + 1000, chunk * 1000000 + i);
  return k;
}

/*
 * A chunk table: n rows, "i" int64 = id * 1000000 + row, "s" utf8 =
 * "MARKER-<id>-<row>" followed by `pad` bytes of filler (what sizes it).
 */
static inline hn_table *fx_table(int64_t id, int64_t n, int64_t pad) {
  hn_builder *bi = NULL, *bs = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &bi, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, hn_type_utf8(), &bs, NULL), NULL);
  char *text = malloc((size_t)pad + 64);
  for (int64_t r = 0; r < n; r++) {
    HN_CHECK(hn_builder_append_int64(bi, id * 1000000 + r), NULL);
    int len = snprintf(text, 64, "MARKER-%lld-%lld", (long long)id, (long long)r);
    for (int64_t p = 0; p < pad; p++) text[len + p] = (char)('a' + (id + r + p) % 26);
    HN_CHECK(hn_builder_append_str(bs, text, len + pad), NULL);
  }
  free(text);
  hn_array *cols[2] = {NULL, NULL};
  HN_CHECK(hn_builder_finish(bi, &cols[0], NULL), NULL);
  HN_CHECK(hn_builder_finish(bs, &cols[1], NULL), NULL);
  hn_builder_destroy(bi);
  hn_builder_destroy(bs);
  const char *names[] = {"i", "s"};
  hn_table *t = NULL;
  HN_CHECK(hn_table_create(NULL, 2, names, cols, &t, NULL), NULL);
  hn_array_release(cols[0]);
  hn_array_release(cols[1]);
  return t;
}

/* Put fx_table(id, n, pad) under fx_key(tag, id) with fx_item_keys(tag, id, n). */
static inline hn_status fx_put(hn__cache *c, uint64_t tag, int64_t id, int64_t n, int64_t pad,
                               hn__cache_put_info *info, hn_error *err) {
  hn_table *t = fx_table(id, n, pad);
  hn__hash128 *keys = fx_item_keys(tag, id, n);
  hn_status st = hn__cache_put_chunk(c, fx_key(tag, id), t, n, keys, info, err);
  free(keys);
  hn_table_release(t);
  return st;
}

/*
 * Read chunk `id` of family `tag`: HN_OK when it equals fx_table(id, n, pad),
 * HN_ENOTFOUND when absent; fails the test when it differs or is corrupt.
 */
static inline hn_status fx_check(hn__cache *c, uint64_t tag, int64_t id, int64_t n, int64_t pad) {
  hn_table *got = NULL;
  bool corrupt = true;
  hn_error err;
  hn_status st = hn__cache_get_chunk(c, fx_key(tag, id), &got, &corrupt, &err);
  assert_false(corrupt);
  if (st == HN_ENOTFOUND) return st;
  HN_CHECK(st, &err);
  hn_table *want = fx_table(id, n, pad);
  assert_true(hn_table_equals(got, want));
  hn_table_release(want);
  hn_table_release(got);
  return HN_OK;
}

static inline hn__cache_usage fx_usage(hn__cache *c) {
  hn__cache_usage u;
  hn_error err;
  HN_CHECK(hn__cache_stats(c, &u, &err), &err);
  return u;
}

static inline void fx_verify(hn__cache *c) {
  hn_error err;
  HN_CHECK(hn__cache_verify(c, &err), &err);
}

#endif /* HN_CACHE_FIXTURES_H */
