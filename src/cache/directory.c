/*
 * A cache directory as a whole (cache_internal.h): opening and closing a
 * handle, its statistics, clearing it, and checking its invariants.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "env.h"

/* mkdir -p: every missing directory of `dir`, with the system's reason on failure. */
static hn_status make_dirs(const hn_allocator *a, const char *dir, hn_error *err) {
  char *path = hn__strdup(a, dir);
  if (!path) return hn__error_nomem(err, "for a cache directory's path");
  hn_status st = HN_OK;
  for (char *p = path + 1;; p++) {
    if (*p != '/' && *p != '\0') continue;
    char saved = *p;
    *p = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
      int e = errno;
      st = hn__error(err, HN_EIO, "cache %s: creating directory %s: %s", dir, path, strerror(e));
      break;
    }
    *p = saved;
    if (saved == '\0') break;
  }
  hn__free(a, path);
  return st;
}

static void cache_free(hn__cache *c) {
  hn_allocator a = c->alloc;
  hn__free(&a, c->touched);
  hn__free(&a, c->dir);
  hn__free(&a, c);
}

hn_status hn__cache_open(const hn_allocator *alloc, const char *dir, int64_t max_bytes,
                         hn__cache **out, hn_error *err) {
  if (out) *out = NULL;
  if (!dir || !*dir || !out || max_bytes < 0)
    return hn__error(err, HN_EINVAL, "hn__cache_open: NULL or empty directory, or negative bound");
  hn_allocator a = hn__allocator_resolve(alloc);
  hn__cache *c = hn__calloc(&a, 1, sizeof *c);
  if (!c) return hn__error_nomem(err, "for a cache handle");
  c->alloc = a;
  c->max_bytes = max_bytes;
  c->dir = hn__strdup(&a, dir);
  if (!c->dir) {
    cache_free(c);
    return hn__error_nomem(err, "for a cache handle");
  }
  hn_status st = make_dirs(&a, dir, err);
  if (st == HN_OK) st = hn__cache_env_acquire(dir, &c->env, err);
  if (st != HN_OK) {
    cache_free(c);
    /* Missing right after it was made: another process removed it. */
    if (st == HN_ENOTFOUND && err) err->code = HN_EIO;
    return st == HN_ENOTFOUND ? HN_EIO : st;
  }
  *out = c;
  return HN_OK;
}

void hn__cache_close(hn__cache *c) {
  if (!c) return;
  (void)hn__cache_flush(c, NULL);
  hn__cache_env_release(c->env);
  cache_free(c);
}

/* ---- statistics and clearing ------------------------------------------------------ */

hn_status hn__cache_stats(hn__cache *c, hn__cache_usage *out, hn_error *err) {
  if (!c || !out) return hn__error(err, HN_EINVAL, "hn__cache_stats: NULL argument");
  memset(out, 0, sizeof *out);
  MDB_txn *txn = NULL;
  int rc = hn__cache_txn_begin(c->env, false, &txn);
  if (rc != 0) return hn__cache_lmdb_error(c->dir, "stats", rc, err);
  MDB_stat chunks, items;
  MDB_envinfo info;
  state_rec s;
  rc = mdb_stat(txn, c->env->dbi[HN__DB_CHUNKS], &chunks);
  if (rc == 0) rc = mdb_stat(txn, c->env->dbi[HN__DB_ITEMS], &items);
  if (rc == 0) rc = hn__cache_read_state(c->env, txn, &s);
  if (rc == 0) rc = mdb_env_info(c->env->env, &info);
  hn__cache_txn_end(c->env, txn, false, 0);
  if (rc != 0) return hn__cache_lmdb_error(c->dir, "stats", rc, err);
  out->chunks = (int64_t)chunks.ms_entries;
  out->items = (int64_t)items.ms_entries;
  out->bytes = (int64_t)s.total;
  out->map_size = (int64_t)info.me_mapsize;
  char path[4096];
  struct stat sb;
  snprintf(path, sizeof path, "%s/data.mdb", c->dir);
  if (stat(path, &sb) == 0) out->file_size = (int64_t)sb.st_size;
  return HN_OK;
}

/* HN_ENOTFOUND unless `dir` holds a cache (its data.mdb); nothing is created. */
static hn_status existing(const char *dir, hn_error *err) {
  if (!dir || !*dir) return hn__error(err, HN_EINVAL, "cache: NULL or empty directory");
  char path[4096];
  struct stat sb;
  if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path)
    return hn__error(err, HN_EINVAL, "cache %s: the path is too long", dir);
  if (stat(path, &sb) != 0)
    return hn__error(err, HN_ENOTFOUND, "cache %s: no cache there (%s: %s)", dir, path,
                     strerror(errno));
  return HN_OK;
}

hn_status hn__cache_stats_dir(const hn_allocator *alloc, const char *dir, hn__cache_usage *out,
                              hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn__cache_stats_dir: NULL argument");
  hn__cache *c = NULL;
  hn_status st = existing(dir, err);
  if (st == HN_OK) st = hn__cache_open(alloc, dir, 0, &c, err);
  if (st == HN_OK) st = hn__cache_stats(c, out, err);
  hn__cache_close(c);
  return st;
}

hn_status hn__cache_clear(const hn_allocator *alloc, const char *dir, hn_error *err) {
  hn__cache *c = NULL;
  hn_status st = existing(dir, err);
  if (st == HN_OK) st = hn__cache_open(alloc, dir, 0, &c, err);
  if (st != HN_OK) return st;
  MDB_txn *txn = NULL;
  int rc = hn__cache_txn_begin(c->env, true, &txn);
  for (int i = 0; i < HN__DB_COUNT && rc == 0; i++) rc = mdb_drop(txn, c->env->dbi[i], 0);
  if (txn) rc = hn__cache_txn_end(c->env, txn, true, rc);
  if (rc != 0) st = hn__cache_lmdb_error(dir, "clear", rc, err);
  hn__cache_close(c);
  return st;
}

/* ---- checking ---------------------------------------------------------------------- */

typedef struct verify_ctx {
  hn__cache *c;
  MDB_txn *txn;
  hn_error *err;
} verify_ctx;

static hn_status broken(const verify_ctx *v, const char *what, hn__hash128 key) {
  char hex[33];
  hn__cache_key_hex(key, hex);
  return hn__error(v->err, HN_ECORRUPT, "cache %s: verify: %s (key %s)", v->c->dir, what, hex);
}

/* Rows of the serialised table stored under `key` (-1 when absent or too short). */
static int64_t chunk_rows(const verify_ctx *v, const void *key) {
  MDB_val k = val(key, sizeof(hn__hash128)), d;
  if (mdb_get(v->txn, v->c->env->dbi[HN__DB_CHUNKS], &k, &d) != 0 || d.mv_size < 72) return -1;
  uint64_t rows = 0;
  const uint8_t *p = (const uint8_t *)d.mv_data + 24; /* n_rows, little-endian */
  for (int i = 7; i >= 0; i--) rows = rows << 8 | p[i];
  return (int64_t)rows;
}

static bool has(const verify_ctx *v, int db, const void *key, size_t size) {
  MDB_val k = val(key, size), d;
  return mdb_get(v->txn, v->c->env->dbi[db], &k, &d) == 0;
}

/* Every chunk's meta: chunk and lru entries exist; returns the sum of sizes and the count. */
static hn_status verify_meta(const verify_ctx *v, uint64_t *sum, int64_t *count) {
  MDB_cursor *cur = NULL;
  int rc = mdb_cursor_open(v->txn, v->c->env->dbi[HN__DB_META], &cur);
  MDB_val k, d;
  hn_status st = HN_OK;
  for (int op = MDB_FIRST; rc == 0 && st == HN_OK; op = MDB_NEXT) {
    rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op);
    if (rc != 0 || k.mv_size != sizeof(hn__hash128)) continue; /* the state record */
    hn__hash128 key;
    meta_rec m;
    memcpy(&key, k.mv_data, sizeof key);
    if (d.mv_size != sizeof m) st = broken(v, "a meta record of the wrong size", key);
    if (st != HN_OK) break;
    memcpy(&m, d.mv_data, sizeof m);
    uint8_t at[8];
    hn__be64(at, m.atime);
    MDB_val lk = val(at, 8), lv;
    if (chunk_rows(v, &key) < 0)
      st = broken(v, "a meta record without its chunk", key);
    else if (!has(v, HN__DB_REFS, &key, sizeof key))
      st = broken(v, "a chunk without refs", key);
    else if (mdb_get(v->txn, v->c->env->dbi[HN__DB_LRU], &lk, &lv) != 0 ||
             lv.mv_size != sizeof key || memcmp(lv.mv_data, &key, sizeof key) != 0)
      st = broken(v, "a chunk whose lru entry is missing", key);
    *sum += m.size;
    *count += 1;
  }
  if (cur) mdb_cursor_close(cur);
  if (st == HN_OK && rc != MDB_NOTFOUND) st = hn__cache_lmdb_error(v->c->dir, "verify", rc, v->err);
  return st;
}

/* Every item entry points at a stored chunk and a row inside it. */
static hn_status verify_items(const verify_ctx *v) {
  MDB_cursor *cur = NULL;
  int rc = mdb_cursor_open(v->txn, v->c->env->dbi[HN__DB_ITEMS], &cur);
  MDB_val k, d;
  hn_status st = HN_OK;
  for (int op = MDB_FIRST; rc == 0 && st == HN_OK; op = MDB_NEXT) {
    rc = mdb_cursor_get(cur, &k, &d, (MDB_cursor_op)op);
    if (rc != 0) break;
    hn__hash128 key = {0, 0};
    if (k.mv_size == sizeof key) memcpy(&key, k.mv_data, sizeof key);
    uint32_t row = 0;
    if (k.mv_size != sizeof key || d.mv_size != HN__ITEM_REC_SIZE) {
      st = broken(v, "an item entry of the wrong size", key);
      break;
    }
    memcpy(&row, (const uint8_t *)d.mv_data + sizeof key, sizeof row);
    int64_t rows = chunk_rows(v, d.mv_data);
    if (rows < 0)
      st = broken(v, "an item entry pointing at no chunk", key);
    else if (row >= rows)
      st = broken(v, "an item entry pointing past its chunk's rows", key);
  }
  if (cur) mdb_cursor_close(cur);
  if (st == HN_OK && rc != MDB_NOTFOUND) st = hn__cache_lmdb_error(v->c->dir, "verify", rc, v->err);
  return st;
}

static hn_status verify_counts(const verify_ctx *v, uint64_t sum, int64_t count) {
  state_rec s;
  MDB_stat chunks, lru, refs;
  int rc = hn__cache_read_state(v->c->env, v->txn, &s);
  if (rc == 0) rc = mdb_stat(v->txn, v->c->env->dbi[HN__DB_CHUNKS], &chunks);
  if (rc == 0) rc = mdb_stat(v->txn, v->c->env->dbi[HN__DB_LRU], &lru);
  if (rc == 0) rc = mdb_stat(v->txn, v->c->env->dbi[HN__DB_REFS], &refs);
  if (rc != 0) return hn__cache_lmdb_error(v->c->dir, "verify", rc, v->err);
  if (s.total != sum)
    return hn__error(v->err, HN_ECORRUPT, "cache %s: verify: total %llu, chunks sum to %llu",
                     v->c->dir, (unsigned long long)s.total, (unsigned long long)sum);
  if ((int64_t)chunks.ms_entries != count || (int64_t)lru.ms_entries != count ||
      (int64_t)refs.ms_entries != count)
    return hn__error(v->err, HN_ECORRUPT,
                     "cache %s: verify: %lld meta records, %lld chunks, %lld lru, %lld refs",
                     v->c->dir, (long long)count, (long long)chunks.ms_entries,
                     (long long)lru.ms_entries, (long long)refs.ms_entries);
  return HN_OK;
}

hn_status hn__cache_verify(hn__cache *c, hn_error *err) {
  if (!c) return hn__error(err, HN_EINVAL, "hn__cache_verify: NULL cache");
  verify_ctx v = {c, NULL, err};
  int rc = hn__cache_txn_begin(c->env, false, &v.txn);
  if (rc != 0) return hn__cache_lmdb_error(c->dir, "verify", rc, err);
  uint64_t sum = 0;
  int64_t count = 0;
  hn_status st = verify_meta(&v, &sum, &count);
  if (st == HN_OK) st = verify_items(&v);
  if (st == HN_OK) st = verify_counts(&v, sum, count);
  hn__cache_txn_end(c->env, v.txn, false, 0);
  return st;
}
