/*
 * The cache store in one process (src/cache/): round trips that outlive the
 * handle, item lookups and "do not cache" rows, replacing a chunk, LRU
 * eviction under a bound (accounted bytes and the file), map growth, a
 * flipped byte and a truncated value detected, dropped and reported, stats
 * and clear, errors naming the directory, allocation failures. Several
 * processes and threads: test_cache_store_shared.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>

#include "cache/env.h" /* a value written through LMDB directly */
#include "cache_fixtures.h"

enum { TAG = 1 };

/* ---- round trips and items ------------------------------------------------------- */

static void test_round_trip(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  hn__cache_put_info info;
  HN_CHECK(fx_put(c, TAG, 1, 100, 10, &info, &err), &err);
  assert_true(info.stored);
  assert_int_equal(info.items, 100);
  assert_int_equal(info.evicted_chunks, 0);
  assert_int_equal(fx_check(c, TAG, 1, 100, 10), HN_OK);
  /* A chunk never put: a miss, not corrupt, naming the directory. */
  hn_table *t = NULL;
  bool corrupt = true;
  assert_int_equal(hn__cache_get_chunk(c, fx_key(TAG, 2), &t, &corrupt, &err), HN_ENOTFOUND);
  assert_false(corrupt);
  assert_null(t);
  assert_non_null(strstr(err.message, dir));
  /* The table read is a copy: valid after the cache is closed. */
  HN_CHECK(hn__cache_get_chunk(c, fx_key(TAG, 1), &t, NULL, &err), &err);
  hn__cache_usage u = fx_usage(c);
  assert_int_equal(u.chunks, 1);
  assert_int_equal(u.items, 100);
  assert_int_equal(u.bytes, info.bytes);
  assert_true(u.file_size > 0);
  fx_verify(c);
  hn__cache_close(c);
  hn_table *want = fx_table(1, 100, 10);
  assert_true(hn_table_equals(t, want));
  hn_table_release(want);
  hn_table_release(t);
  /* Reopened: still there. A zero-row chunk round-trips too. */
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  assert_int_equal(fx_check(c, TAG, 1, 100, 10), HN_OK);
  HN_CHECK(fx_put(c, TAG, 3, 0, 0, &info, &err), &err);
  assert_int_equal(fx_check(c, TAG, 3, 0, 0), HN_OK);
  fx_verify(c);
  hn__cache_close(c);
  fx_rmdir(dir);
}

static void expect_item(const hn__cache_item *it, hn__hash128 chunk, uint32_t row) {
  assert_true(it->found);
  assert_true(hn__hash128_eq(it->chunk, chunk));
  assert_int_equal(it->row, row);
}

static void test_items(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  /* Chunk A: 10 rows, row 3 not cached (zero key). */
  hn__hash128 a = fx_key(TAG, 10), b = fx_key(TAG, 11), a_keys[10], b_keys[5];
  for (int i = 0; i < 10; i++) a_keys[i] = fx_key(100, i);
  a_keys[3] = (hn__hash128){0, 0};
  hn_table *ta = fx_table(10, 10, 0), *tb = fx_table(11, 5, 0);
  hn__cache_put_info info;
  HN_CHECK(hn__cache_put_chunk(c, a, ta, 10, a_keys, &info, &err), &err);
  assert_int_equal(info.items, 9);
  /* Chunk B indexes item 5 of A again, at its row 4: the item now points at B. */
  for (int i = 0; i < 5; i++) b_keys[i] = fx_key(200, i);
  b_keys[4] = a_keys[5];
  HN_CHECK(hn__cache_put_chunk(c, b, tb, 5, b_keys, &info, &err), &err);
  hn__hash128 q[6] = {a_keys[0], fx_key(100, 3), a_keys[5], b_keys[2], fx_key(999, 1), {0, 0}};
  hn__cache_item out[6];
  int64_t found = -1;
  HN_CHECK(hn__cache_get_items(c, 6, q, out, &found, &err), &err);
  assert_int_equal(found, 3);
  expect_item(&out[0], a, 0);
  assert_false(out[1].found);
  expect_item(&out[2], b, 4);
  expect_item(&out[3], b, 2);
  assert_false(out[4].found || out[5].found);
  assert_int_equal(fx_usage(c).items, 9 + 5 - 1);
  fx_verify(c);
  /* Replacing A (other keys): A's old entries go, the one now in B stays. */
  hn__hash128 c_keys[2] = {fx_key(300, 0), fx_key(300, 1)};
  hn_table *tc = fx_table(12, 2, 0);
  HN_CHECK(hn__cache_put_chunk(c, a, tc, 2, c_keys, &info, &err), &err);
  HN_CHECK(hn__cache_get_items(c, 6, q, out, &found, &err), &err);
  assert_int_equal(found, 2);
  assert_false(out[0].found);
  expect_item(&out[2], b, 4);
  HN_CHECK(hn__cache_get_items(c, 2, c_keys, out, &found, &err), &err);
  expect_item(&out[1], a, 1);
  assert_int_equal(fx_usage(c).chunks, 2);
  assert_int_equal(fx_usage(c).items, 2 + 5);
  HN_CHECK(hn__cache_get_items(c, 0, NULL, NULL, &found, &err), &err);
  assert_int_equal(found, 0);
  fx_verify(c);
  hn_table_release(ta);
  hn_table_release(tb);
  hn_table_release(tc);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* ---- eviction and growth --------------------------------------------------------- */

enum { EV_ROWS = 50, EV_PAD = 200 };

static void test_eviction_keeps_recent(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  hn__cache_put_info info;
  HN_CHECK(fx_put(c, TAG, 0, EV_ROWS, EV_PAD, &info, &err), &err);
  hn__cache_close(c);
  int64_t bound = info.bytes * 11 / 2; /* room for five chunks */
  HN_CHECK(hn__cache_open(NULL, dir, bound, &c, &err), &err);
  for (int64_t id = 1; id < 5; id++)
    HN_CHECK(fx_put(c, TAG, id, EV_ROWS, EV_PAD, &info, &err), &err);
  assert_int_equal(info.evicted_chunks, 0);
  /* Chunk 0 is read, so chunk 1 is now the least recently used: it goes. */
  assert_int_equal(fx_check(c, TAG, 0, EV_ROWS, EV_PAD), HN_OK);
  HN_CHECK(fx_put(c, TAG, 5, EV_ROWS, EV_PAD, &info, &err), &err);
  assert_int_equal(info.evicted_chunks, 1);
  assert_int_equal(info.evicted_bytes, info.bytes);
  assert_int_equal(fx_check(c, TAG, 1, EV_ROWS, EV_PAD), HN_ENOTFOUND);
  hn__hash128 *keys = fx_item_keys(TAG, 1, EV_ROWS);
  hn__cache_item *out = malloc(EV_ROWS * sizeof *out);
  int64_t found = -1;
  HN_CHECK(hn__cache_get_items(c, EV_ROWS, keys, out, &found, &err), &err);
  assert_int_equal(found, 0); /* its item entries went with it */
  free(keys);
  /* Many more puts, reading chunk 0 before each: it stays; the total stays bounded. */
  for (int64_t id = 6; id < 40; id++) {
    assert_int_equal(fx_check(c, TAG, 0, EV_ROWS, EV_PAD), HN_OK);
    HN_CHECK(fx_put(c, TAG, id, EV_ROWS, EV_PAD, &info, &err), &err);
    hn__cache_usage u = fx_usage(c);
    assert_true(u.bytes <= bound);
    assert_int_equal(u.chunks, 5);
    assert_int_equal(u.items, 5 * EV_ROWS);
  }
  assert_int_equal(fx_check(c, TAG, 0, EV_ROWS, EV_PAD), HN_OK);
  for (int64_t id = 36; id < 40; id++)
    assert_int_equal(fx_check(c, TAG, id, EV_ROWS, EV_PAD), HN_OK);
  for (int64_t id = 1; id < 36; id++)
    assert_int_equal(fx_check(c, TAG, id, EV_ROWS, EV_PAD), HN_ENOTFOUND);
  fx_verify(c);
  /* A chunk larger than the whole bound is not stored and evicts nothing. */
  HN_CHECK(fx_put(c, TAG, 99, EV_ROWS * 6, EV_PAD, &info, &err), &err);
  assert_false(info.stored);
  assert_int_equal(info.evicted_chunks, 0);
  assert_int_equal(fx_check(c, TAG, 99, EV_ROWS * 6, EV_PAD), HN_ENOTFOUND);
  assert_int_equal(fx_usage(c).chunks, 5);
  free(out);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* Several chunks in one transaction: as put one by one, the bound holding at the end. */
static void test_put_chunks_batch(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  hn__cache_put_info one;
  HN_CHECK(fx_put(c, TAG, 0, EV_ROWS, EV_PAD, &one, &err), &err);
  hn__cache_close(c);
  /* Room for three chunks; chunk 0 is there; a batch of five (1..5) leaves 3, 4, 5. */
  HN_CHECK(hn__cache_open(NULL, dir, one.bytes * 7 / 2, &c, &err), &err);
  enum { N = 5 };
  hn__cache_chunk chunks[N];
  hn_table *tables[N];
  hn__hash128 *keys[N];
  for (int k = 0; k < N; k++) {
    tables[k] = fx_table(k + 1, EV_ROWS, EV_PAD);
    keys[k] = fx_item_keys(TAG, k + 1, EV_ROWS);
    chunks[k] = (hn__cache_chunk){fx_key(TAG, k + 1), tables[k], EV_ROWS, keys[k]};
  }
  hn__cache_put_info info[N];
  HN_CHECK(hn__cache_put_chunks(c, N, chunks, info, &err), &err);
  for (int k = 0; k < N; k++) assert_true(info[k].stored);
  assert_int_equal(info[N - 1].evicted_chunks, 3); /* chunk 0, then 1 and 2 of the batch */
  for (int64_t id = 0; id < 3; id++)
    assert_int_equal(fx_check(c, TAG, id, EV_ROWS, EV_PAD), HN_ENOTFOUND);
  for (int64_t id = 3; id <= N; id++) {
    assert_int_equal(fx_check(c, TAG, id, EV_ROWS, EV_PAD), HN_OK);
    hn__cache_item out[EV_ROWS];
    int64_t found = 0;
    HN_CHECK(hn__cache_get_items(c, EV_ROWS, keys[id - 1], out, &found, &err), &err);
    assert_int_equal(found, EV_ROWS);
    assert_int_equal(out[7].row, 7);
  }
  hn__cache_item out[EV_ROWS];
  int64_t found = -1;
  HN_CHECK(hn__cache_get_items(c, EV_ROWS, keys[0], out, &found, &err), &err);
  assert_int_equal(found, 0); /* the evicted ones' entries went with them */
  assert_int_equal(fx_usage(c).items, 3 * EV_ROWS);
  fx_verify(c);
  /* A zero chunk key anywhere: nothing of the batch is written. */
  chunks[1].key = (hn__hash128){0, 0};
  assert_int_equal(hn__cache_put_chunks(c, N, chunks, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__cache_put_chunks(c, -1, chunks, NULL, &err), HN_EINVAL);
  HN_CHECK(hn__cache_put_chunks(c, 0, NULL, NULL, &err), &err);
  for (int k = 0; k < N; k++) {
    hn_table_release(tables[k]);
    free(keys[k]);
  }
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* Accesses recorded by a handle reach the store when it closes, and order eviction. */
static void test_access_order_persists(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  hn__cache_put_info info;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  for (int64_t id = 0; id < 3; id++)
    HN_CHECK(fx_put(c, TAG, id, EV_ROWS, EV_PAD, &info, &err), &err);
  hn__cache_close(c);
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  assert_int_equal(fx_check(c, TAG, 0, EV_ROWS, EV_PAD), HN_OK); /* 0 is now the newest */
  hn__cache_close(c);
  HN_CHECK(hn__cache_open(NULL, dir, info.bytes * 3, &c, &err), &err);
  HN_CHECK(fx_put(c, TAG, 3, EV_ROWS, EV_PAD, &info, &err), &err);
  assert_int_equal(info.evicted_chunks, 1);
  assert_int_equal(fx_check(c, TAG, 1, EV_ROWS, EV_PAD), HN_ENOTFOUND);
  assert_int_equal(fx_check(c, TAG, 0, EV_ROWS, EV_PAD), HN_OK);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* Churning far past the bound, data.mdb stays bounded too (freed pages are reused). */
static void test_file_stays_bounded(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  int64_t bound = 2 << 20;
  HN_CHECK(hn__cache_open(NULL, dir, bound, &c, &err), &err);
  hn__cache_put_info info;
  int64_t largest = 0;
  for (int64_t id = 0; id < 200; id++) {
    HN_CHECK(fx_put(c, TAG, id, 100, 1000 + 37 * (id % 7), &info, &err), &err); /* ~100 KB */
    hn__cache_usage u = fx_usage(c);
    assert_true(u.bytes <= bound);
    if (u.file_size > largest) largest = u.file_size;
  }
  print_message("bound %lld bytes, data.mdb at most %lld bytes over 200 puts (~20x the bound)\n",
                (long long)bound, (long long)largest);
  assert_true(largest <= 3 * bound);
  fx_verify(c);
  hn__cache_close(c);
  fx_rmdir(dir);
}

static void test_map_grows(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  int64_t initial = fx_usage(c).map_size;
  assert_int_equal(initial, (int64_t)HN__CACHE_MAP_INITIAL);
  /* One value larger than the whole initial map, then more. */
  HN_CHECK(fx_put(c, TAG, 0, 1000, 20000, NULL, &err), &err); /* ~20 MB */
  for (int64_t id = 1; id < 4; id++) HN_CHECK(fx_put(c, TAG, id, 1000, 3000, NULL, &err), &err);
  hn__cache_usage u = fx_usage(c);
  assert_true(u.map_size > initial);
  assert_true(u.bytes > initial);
  assert_int_equal(fx_check(c, TAG, 0, 1000, 20000), HN_OK);
  hn__cache_close(c);
  /* The grown size is the directory's: a reopened handle starts there. */
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  assert_int_equal(fx_usage(c).map_size, u.map_size);
  for (int64_t id = 1; id < 4; id++) assert_int_equal(fx_check(c, TAG, id, 1000, 3000), HN_OK);
  fx_verify(c);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* ---- corruption ------------------------------------------------------------------ */

/* Flip one byte of data.mdb inside the value holding `marker` (past it by `skip`). */
static void flip_in_file(const char *dir, const char *marker, int64_t skip) {
  char path[128];
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  FILE *f = fopen(path, "r+b");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  char *bytes = malloc((size_t)size);
  fseek(f, 0, SEEK_SET);
  assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
  size_t mlen = strlen(marker);
  long at = -1;
  for (long i = 0; i + (long)mlen <= size && at < 0; i++)
    if (memcmp(bytes + i, marker, mlen) == 0) at = i;
  assert_true(at >= 0);
  unsigned char b = (unsigned char)bytes[at + skip] ^ 0x10;
  fseek(f, at + skip, SEEK_SET);
  assert_int_equal(fwrite(&b, 1, 1, f), 1);
  fclose(f);
  free(bytes);
}

static void expect_dropped(hn__cache *c, int64_t id, int64_t rows) {
  hn_table *t = NULL;
  bool corrupt = false;
  hn_error err;
  assert_int_equal(hn__cache_get_chunk(c, fx_key(TAG, id), &t, &corrupt, &err), HN_ENOTFOUND);
  assert_true(corrupt);
  assert_null(t);
  assert_non_null(strstr(err.message, "dropped"));
  /* Gone with its item entries; a second read is a plain miss. */
  hn__hash128 *keys = fx_item_keys(TAG, id, rows);
  hn__cache_item *out = malloc((size_t)rows * sizeof *out);
  int64_t found = -1;
  HN_CHECK(hn__cache_get_items(c, rows, keys, out, &found, &err), &err);
  assert_int_equal(found, 0);
  free(keys);
  free(out);
  assert_int_equal(hn__cache_get_chunk(c, fx_key(TAG, id), &t, &corrupt, &err), HN_ENOTFOUND);
  assert_false(corrupt);
}

static void test_flipped_byte_dropped(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  for (int64_t id = 1; id <= 3; id++) HN_CHECK(fx_put(c, TAG, id, 20, 100, NULL, &err), &err);
  hn__cache_close(c);
  flip_in_file(dir, "MARKER-2-7", 12);
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  expect_dropped(c, 2, 20);
  assert_int_equal(fx_check(c, TAG, 1, 20, 100), HN_OK);
  assert_int_equal(fx_check(c, TAG, 3, 20, 100), HN_OK);
  assert_int_equal(fx_usage(c).chunks, 2);
  fx_verify(c);
  /* Recomputed and put again, it reads back. */
  HN_CHECK(fx_put(c, TAG, 2, 20, 100, NULL, &err), &err);
  assert_int_equal(fx_check(c, TAG, 2, 20, 100), HN_OK);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* A value cut short behind the store's back (written through LMDB) is dropped too. */
static void test_truncated_value_dropped(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  HN_CHECK(fx_put(c, TAG, 4, 20, 100, NULL, &err), &err);
  hn__hash128 key = fx_key(TAG, 4);
  MDB_txn *txn = NULL;
  assert_int_equal(hn__cache_txn_begin(c->env, true, &txn), 0);
  MDB_val k = {sizeof key, &key}, v;
  assert_int_equal(mdb_get(txn, c->env->dbi[HN__DB_CHUNKS], &k, &v), 0);
  char *half = malloc(v.mv_size / 2);
  memcpy(half, v.mv_data, v.mv_size / 2);
  MDB_val hv = {v.mv_size / 2, half};
  assert_int_equal(mdb_put(txn, c->env->dbi[HN__DB_CHUNKS], &k, &hv, 0), 0);
  assert_int_equal(hn__cache_txn_end(c->env, txn, true, 0), 0);
  free(half);
  expect_dropped(c, 4, 20);
  fx_verify(c);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* Write `size` bytes (NULL: delete) under `key` of database `db`, behind the store's back. */
static void poke(hn__cache *c, int db, const void *key, size_t ksize, const void *data,
                 size_t size) {
  MDB_txn *txn = NULL;
  assert_int_equal(hn__cache_txn_begin(c->env, true, &txn), 0);
  MDB_val k = {ksize, (void *)key}, v = {size, (void *)data};
  int rc =
      data ? mdb_put(txn, c->env->dbi[db], &k, &v, 0) : mdb_del(txn, c->env->dbi[db], &k, NULL);
  assert_int_equal(hn__cache_txn_end(c->env, txn, true, rc), 0);
}

/* hn__cache_verify, which the crash tests lean on, does see broken invariants. */
static void test_verify_detects(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  for (int64_t id = 1; id <= 2; id++) HN_CHECK(fx_put(c, TAG, id, 5, 0, NULL, &err), &err);
  fx_verify(c);
  state_rec s = {1, 99}; /* a total the chunks do not sum to */
  poke(c, HN__DB_META, HN__STATE_KEY, sizeof HN__STATE_KEY - 1, &s, sizeof s);
  assert_int_equal(hn__cache_verify(c, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "total"));
  hn__hash128 k1 = fx_key(TAG, 1);
  poke(c, HN__DB_CHUNKS, &k1, sizeof k1, NULL, 0); /* a chunk's value gone */
  assert_int_equal(hn__cache_verify(c, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "without its chunk"));
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* Reads past TOUCH_FLUSH_AT write their access times without waiting for a put or close. */
static void test_many_reads_write_access_times(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL, *other = NULL;
  hn_error err;
  hn__cache_put_info info;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  for (int64_t id = 0; id < 2; id++) HN_CHECK(fx_put(c, TAG, id, 5, 0, &info, &err), &err);
  for (int i = 0; i < 1030; i++) assert_int_equal(fx_check(c, TAG, 0, 5, 0), HN_OK);
  /* Another handle, bounded to two chunks, puts a third: the oldest access is chunk 1's. */
  HN_CHECK(hn__cache_open(NULL, dir, info.bytes * 2, &other, &err), &err);
  HN_CHECK(fx_put(other, TAG, 2, 5, 0, &info, &err), &err);
  assert_int_equal(info.evicted_chunks, 1);
  assert_int_equal(fx_check(other, TAG, 1, 5, 0), HN_ENOTFOUND);
  assert_int_equal(fx_check(other, TAG, 0, 5, 0), HN_OK);
  hn__cache_close(other);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* ---- stats, clear, errors ---------------------------------------------------------- */

static void test_stats_and_clear(void **state) {
  (void)state;
  char dir[64], missing[96];
  fx_tmpdir(dir);
  snprintf(missing, sizeof missing, "%s/none", dir);
  hn__cache_usage u;
  hn_error err;
  assert_int_equal(hn__cache_stats_dir(NULL, missing, &u, &err), HN_ENOTFOUND);
  assert_non_null(strstr(err.message, missing));
  assert_int_equal(hn__cache_clear(NULL, missing, &err), HN_ENOTFOUND);
  struct stat sb;
  assert_int_not_equal(stat(missing, &sb), 0); /* neither created it */
  hn__cache *c = NULL;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  hn__cache_put_info info;
  int64_t total = 0;
  for (int64_t id = 0; id < 4; id++) {
    HN_CHECK(fx_put(c, TAG, id, 10 + id, 5, &info, &err), &err);
    total += info.bytes;
  }
  HN_CHECK(hn__cache_stats_dir(NULL, dir, &u, &err), &err);
  assert_int_equal(u.chunks, 4);
  assert_int_equal(u.items, 10 + 11 + 12 + 13);
  assert_int_equal(u.bytes, total);
  assert_true(u.map_size >= (int64_t)HN__CACHE_MAP_INITIAL && u.file_size > 0);
  /* Cleared while this handle is open: it sees an empty store and goes on. */
  HN_CHECK(hn__cache_clear(NULL, dir, &err), &err);
  u = fx_usage(c);
  assert_int_equal(u.chunks + u.items + u.bytes, 0);
  assert_int_equal(fx_check(c, TAG, 1, 11, 5), HN_ENOTFOUND);
  HN_CHECK(fx_put(c, TAG, 7, 3, 5, &info, &err), &err);
  assert_int_equal(fx_check(c, TAG, 7, 3, 5), HN_OK);
  fx_verify(c);
  hn__cache_close(c);
  fx_rmdir(dir);
}

static void free_object(void *ctx, void *o) {
  (void)ctx;
  free(o);
}

static void test_errors(void **state) {
  (void)state;
  char dir[64], path[128];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  /* A file where the directory should be, and below it. */
  snprintf(path, sizeof path, "%s/file", dir);
  FILE *f = fopen(path, "w");
  fclose(f);
  assert_int_equal(hn__cache_open(NULL, path, 0, &c, &err), HN_EIO);
  assert_null(c);
  assert_non_null(strstr(err.message, path));
  assert_non_null(strstr(err.message, "not a directory"));
  snprintf(path, sizeof path, "%s/file/sub", dir);
  assert_int_equal(hn__cache_open(NULL, path, 0, &c, &err), HN_EIO);
  assert_non_null(strstr(err.message, "creating directory"));
  /* An unwritable directory (as root, permissions do not bind: /sys is unwritable). */
  snprintf(path, sizeof path, "%s/ro", dir);
  mkdir(path, 0555);
  const char *ro = geteuid() == 0 ? "/sys" : path;
  assert_int_equal(hn__cache_open(NULL, ro, 0, &c, &err), HN_EIO);
  assert_non_null(strstr(err.message, ro));
  assert_non_null(strstr(err.message, "open"));
  print_message("unwritable: %s\n", err.message);
  rmdir(path);
  snprintf(path, sizeof path, "%s/file", dir);
  unlink(path);
  /* Bad arguments. */
  assert_int_equal(hn__cache_open(NULL, "", 0, &c, &err), HN_EINVAL);
  assert_int_equal(hn__cache_open(NULL, dir, -1, &c, &err), HN_EINVAL);
  assert_int_equal(hn__cache_open(NULL, NULL, 0, &c, &err), HN_EINVAL);
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  hn_table *t = fx_table(1, 2, 0);
  hn__hash128 keys[2] = {fx_key(5, 0), fx_key(5, 1)}, zero = {0, 0};
  assert_int_equal(hn__cache_put_chunk(c, zero, t, 2, keys, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__cache_put_chunk(c, keys[0], t, 3, keys, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__cache_put_chunk(c, keys[0], t, 2, NULL, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__cache_put_chunk(NULL, keys[0], t, 2, keys, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__cache_get_chunk(c, keys[0], NULL, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__cache_get_items(c, -1, keys, NULL, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__cache_stats(c, NULL, &err), HN_EINVAL);
  hn_table_release(t);
  /* An object column cannot be stored. */
  hn_object_vtable vt = {free_object, NULL, NULL, NULL};
  const hn_type *ot = NULL;
  HN_CHECK(hn_type_object_create(NULL, "thing", &vt, &ot, NULL), NULL);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, ot, &b, NULL), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  hn_array *col = NULL;
  HN_CHECK(hn_builder_finish(b, &col, NULL), NULL);
  const char *names[] = {"o"};
  HN_CHECK(hn_table_create(NULL, 1, names, &col, &t, NULL), NULL);
  assert_int_equal(hn__cache_put_chunk(c, keys[0], t, 1, keys, NULL, &err), HN_EUNSUPPORTED);
  assert_int_equal(fx_usage(c).chunks, 0);
  hn_table_release(t);
  hn_array_release(col);
  hn_builder_destroy(b);
  hn_type_release(ot);
  hn__cache_close(c);
  hn__cache_close(NULL);
  fx_rmdir(dir);
}

/* A data.mdb that is not LMDB's: HN_ECORRUPT naming the directory. */
static void test_not_lmdb(void **state) {
  (void)state;
  char dir[64], file[160], junk[8192];
  fx_tmpdir(dir);
  snprintf(file, sizeof file, "%s/data.mdb", dir);
  memset(junk, 'x', sizeof junk);
  FILE *f = fopen(file, "wb");
  assert_int_equal(fwrite(junk, 1, sizeof junk, f), sizeof junk);
  fclose(f);
  hn__cache *c = NULL;
  hn_error err;
  assert_int_equal(hn__cache_open(NULL, dir, 0, &c, &err), HN_ECORRUPT);
  assert_null(c);
  assert_non_null(strstr(err.message, dir));
  print_message("not LMDB: %s\n", err.message);
  fx_rmdir(dir);
}

/* ---- allocation failure ------------------------------------------------------------ */

/* One round of every call through a handle with `ta`; the first failure ends it. */
static hn_status alloc_round(hn_test_alloc *ta, const char *dir, hn_error *err) {
  hn__cache *c = NULL;
  hn_status st = hn__cache_open(&ta->alloc, dir, 1 << 20, &c, err);
  if (st != HN_OK) return st;
  hn_table *t = fx_table(1, 30, 10);
  hn__hash128 *keys = fx_item_keys(TAG, 1, 30);
  hn__cache_item items[30];
  st = hn__cache_put_chunk(c, fx_key(TAG, 1), t, 30, keys, NULL, err);
  hn_table *got = NULL;
  if (st == HN_OK) st = hn__cache_get_chunk(c, fx_key(TAG, 1), &got, NULL, err);
  if (st == HN_OK) assert_true(hn_table_equals(got, t));
  hn_table_release(got);
  if (st == HN_OK) st = hn__cache_get_items(c, 30, keys, items, NULL, err);
  if (st == HN_OK) st = hn__cache_flush(c, err);
  /* Replacing the chunk copies its item keys out to delete them. */
  if (st == HN_OK) st = hn__cache_put_chunk(c, fx_key(TAG, 1), t, 30, keys, NULL, err);
  free(keys);
  hn_table_release(t);
  hn__cache_close(c);
  return st;
}

static void test_allocation_failure(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn_test_alloc ta;
  int64_t failures = 0;
  for (int64_t k = 1;; k++) {
    hn_test_alloc_init(&ta, k);
    hn_error err;
    hn_status st = alloc_round(&ta, dir, &err);
    assert_int_equal(ta.live, 0);
    if (st == HN_OK) break;
    assert_int_equal(st, HN_ENOMEM);
    failures++;
  }
  assert_true(failures >= 8);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  fx_verify(c);
  hn__cache_close(c);
  fx_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_items),
      cmocka_unit_test(test_eviction_keeps_recent),
      cmocka_unit_test(test_put_chunks_batch),
      cmocka_unit_test(test_access_order_persists),
      cmocka_unit_test(test_file_stays_bounded),
      cmocka_unit_test(test_map_grows),
      cmocka_unit_test(test_flipped_byte_dropped),
      cmocka_unit_test(test_truncated_value_dropped),
      cmocka_unit_test(test_verify_detects),
      cmocka_unit_test(test_many_reads_write_access_times),
      cmocka_unit_test(test_stats_and_clear),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_not_lmdb),
      cmocka_unit_test(test_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
