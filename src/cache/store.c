/*
 * The cache store (cache_internal.h): chunks of node results in LMDB, item
 * keys indexed to their chunk and row, accounted sizes, and least-recently-
 * used eviction by a logical clock kept in the store, so that access order
 * is one order across processes and reboots. Reads record accesses in the
 * handle; they are written with the next put (same transaction), flush or
 * close, so a warm read costs no write transaction per chunk.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "env.h"

#define TOUCH_FLUSH_AT 1024 /* pending accesses written by the read that reaches this many */
#define GROW_ATTEMPTS 16    /* map raises one write may ask for */
#define WRITE_FAILED (-1)   /* a write body failed; its hn_status is in the write_op */

static int ok_if_missing(int rc) {
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- write transactions ------------------------------------------------------- */

/*
 * One write: `body` runs in a fresh transaction, is committed, and runs
 * again in a new one after the map is raised when LMDB reports it full. A
 * body returns an LMDB code, or WRITE_FAILED after setting status and err.
 */
typedef struct write_op {
  hn__cache *c;
  int (*body)(struct write_op *op, MDB_txn *txn);
  void *ctx;
  size_t need; /* bytes the body may add, to size the map's growth */
  hn_status status;
  hn_error *err;
} write_op;

static hn_status run_write(write_op *op, const char *what) {
  hn__cache *c = op->c;
  for (int attempt = 0;; attempt++) {
    MDB_txn *txn = NULL;
    int rc = hn__cache_txn_begin(c->env, true, &txn);
    if (rc != 0) return hn__cache_lmdb_error(c->dir, what, rc, op->err);
    rc = hn__cache_txn_end(c->env, txn, true, op->body(op, txn));
    if (rc == WRITE_FAILED) return op->status;
    if (rc == MDB_MAP_FULL && attempt < GROW_ATTEMPTS) {
      rc = hn__cache_env_grow(c->env, op->need);
      if (rc == 0) continue;
      return hn__cache_lmdb_error(c->dir, "raising the map size", rc, op->err);
    }
    if (rc != 0) return hn__cache_lmdb_error(c->dir, what, rc, op->err);
    return HN_OK;
  }
}

static int write_state(hn__cache *c, MDB_txn *txn, const state_rec *s) {
  MDB_val k = val(HN__STATE_KEY, sizeof HN__STATE_KEY - 1), v = val(s, sizeof *s);
  return mdb_put(txn, c->env->dbi[HN__DB_META], &k, &v, 0);
}

/* Give chunk `key` (meta `m`) the next clock value: its meta and lru entries move. */
static int stamp(hn__cache *c, MDB_txn *txn, const hn__hash128 *key, meta_rec m, state_rec *s,
                 bool had_lru) {
  uint8_t old[8], now[8];
  int rc = 0;
  if (had_lru) {
    hn__be64(old, m.atime);
    MDB_val ok = val(old, 8);
    rc = ok_if_missing(mdb_del(txn, c->env->dbi[HN__DB_LRU], &ok, NULL));
  }
  m.atime = ++s->clock;
  hn__be64(now, m.atime);
  MDB_val k = val(key, sizeof *key), mv = val(&m, sizeof m), lk = val(now, 8);
  if (rc == 0) rc = mdb_put(txn, c->env->dbi[HN__DB_META], &k, &mv, 0);
  if (rc == 0) rc = mdb_put(txn, c->env->dbi[HN__DB_LRU], &lk, &k, 0);
  return rc;
}

/* Write the handle's pending accesses (chunks gone since are skipped). */
static int apply_touches(hn__cache *c, MDB_txn *txn, state_rec *s) {
  for (int64_t i = 0; i < c->n_touched; i++) {
    MDB_val k = val(&c->touched[i], sizeof c->touched[i]), v;
    int rc = mdb_get(txn, c->env->dbi[HN__DB_META], &k, &v);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != sizeof(meta_rec))) continue;
    if (rc != 0) return rc;
    meta_rec m;
    memcpy(&m, v.mv_data, sizeof m);
    rc = stamp(c, txn, &c->touched[i], m, s, true);
    if (rc != 0) return rc;
  }
  return 0;
}

/* Delete the item entries that chunk `key` indexed and still point at it, then its refs. */
static int drop_items(write_op *op, MDB_txn *txn, const hn__hash128 *key) {
  hn__cache *c = op->c;
  MDB_dbi *dbi = c->env->dbi;
  MDB_val k = val(key, sizeof *key), v;
  int rc = mdb_get(txn, dbi[HN__DB_REFS], &k, &v);
  if (rc != 0) return ok_if_missing(rc);
  /* Copied: a value read in a write transaction may move with the next update. */
  int64_t n = (int64_t)(v.mv_size / sizeof(hn__hash128));
  hn__hash128 *items = hn__malloc(&c->alloc, v.mv_size);
  if (!items) {
    op->status = hn__error_nomem(op->err, "for the item keys of an evicted cache chunk");
    return WRITE_FAILED;
  }
  memcpy(items, v.mv_data, (size_t)n * sizeof *items);
  for (int64_t i = 0; i < n && rc == 0; i++) {
    MDB_val ik = val(&items[i], sizeof items[i]), iv;
    rc = mdb_get(txn, dbi[HN__DB_ITEMS], &ik, &iv);
    if (rc == 0 && iv.mv_size == HN__ITEM_REC_SIZE && memcmp(iv.mv_data, key, sizeof *key) == 0)
      rc = mdb_del(txn, dbi[HN__DB_ITEMS], &ik, NULL);
    rc = ok_if_missing(rc);
  }
  hn__free(&c->alloc, items);
  if (rc == 0) rc = ok_if_missing(mdb_del(txn, dbi[HN__DB_REFS], &k, NULL));
  return rc;
}

/* Delete chunk `key` and everything about it; *freed receives its accounted size. */
static int remove_chunk(write_op *op, MDB_txn *txn, const hn__hash128 *key, state_rec *s,
                        uint64_t *freed) {
  MDB_dbi *dbi = op->c->env->dbi;
  MDB_val k = val(key, sizeof *key), v;
  *freed = 0;
  int rc = mdb_get(txn, dbi[HN__DB_META], &k, &v);
  if (rc == 0 && v.mv_size == sizeof(meta_rec)) {
    meta_rec m;
    memcpy(&m, v.mv_data, sizeof m);
    uint8_t at[8];
    hn__be64(at, m.atime);
    MDB_val lk = val(at, 8);
    rc = ok_if_missing(mdb_del(txn, dbi[HN__DB_LRU], &lk, NULL));
    if (rc == 0) rc = mdb_del(txn, dbi[HN__DB_META], &k, NULL);
    *freed = m.size;
    s->total -= m.size < s->total ? m.size : s->total;
  }
  rc = ok_if_missing(rc);
  if (rc == 0) rc = drop_items(op, txn, key);
  if (rc == 0) rc = ok_if_missing(mdb_del(txn, dbi[HN__DB_CHUNKS], &k, NULL));
  return rc;
}

/* ---- put ------------------------------------------------------------------- */

typedef struct put_ctx {
  hn__hash128 key;
  const uint8_t *bytes;
  size_t size;
  int64_t n_rows, n_items; /* rows; rows with a non-zero item key */
  const hn__hash128 *item_keys;
  uint64_t accounted;
  hn__cache_put_info info;
} put_ctx;

/* The chunk's value, its refs, its meta and lru entries (its item entries: store_items). */
static int store_chunk(hn__cache *c, MDB_txn *txn, put_ctx *p, state_rec *s) {
  MDB_dbi *dbi = c->env->dbi;
  MDB_val k = val(&p->key, sizeof p->key), v = val(NULL, p->size);
  int rc = mdb_put(txn, dbi[HN__DB_CHUNKS], &k, &v, MDB_RESERVE);
  if (rc != 0) return rc;
  memcpy(v.mv_data, p->bytes, p->size);
  MDB_val r = val(NULL, (size_t)p->n_items * sizeof(hn__hash128));
  rc = mdb_put(txn, dbi[HN__DB_REFS], &k, &r, MDB_RESERVE);
  if (rc != 0) return rc;
  /* Filled before the next update, as MDB_RESERVE asks. */
  uint8_t *refs = r.mv_data;
  for (int64_t i = 0, j = 0; i < p->n_rows; i++)
    if (!hn__hash128_is_zero(p->item_keys[i]))
      memcpy(refs + sizeof(hn__hash128) * (size_t)j++, &p->item_keys[i], sizeof(hn__hash128));
  meta_rec m = {0, p->accounted};
  rc = stamp(c, txn, &p->key, m, s, false);
  s->total += p->accounted;
  return rc;
}

/* Evict least-recently-used chunks (never `keep`) until the total is within the bound. */
static int evict(write_op *op, MDB_txn *txn, state_rec *s, const hn__hash128 *keep,
                 hn__cache_put_info *info) {
  hn__cache *c = op->c;
  if (c->max_bytes <= 0) return 0;
  MDB_cursor *cur = NULL;
  int rc = mdb_cursor_open(txn, c->env->dbi[HN__DB_LRU], &cur);
  while (rc == 0 && s->total > (uint64_t)c->max_bytes) {
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    if (rc != 0 || k.mv_size != 8) break;
    uint8_t at[8];
    memcpy(at, k.mv_data, 8);
    hn__hash128 victim = {0, 0};
    if (v.mv_size == sizeof victim) memcpy(&victim, v.mv_data, sizeof victim);
    if (hn__hash128_eq(victim, *keep)) break;
    uint64_t freed = 0;
    rc = remove_chunk(op, txn, &victim, s, &freed);
    /* The lru entry goes even when its chunk had no meta (then remove_chunk left it). */
    MDB_val lk = val(at, 8);
    if (rc == 0) rc = ok_if_missing(mdb_del(txn, c->env->dbi[HN__DB_LRU], &lk, NULL));
    info->evicted_chunks++;
    info->evicted_bytes += (int64_t)freed;
  }
  if (cur) mdb_cursor_close(cur);
  return ok_if_missing(rc);
}

/*
 * The puts of one write transaction, and every item entry they make in key
 * order (see key_order.c): keys[j] is row rows[j] of chunk chunk_of[j]; order
 * lists j in key order (NULL: as they come).
 */
typedef struct put_batch {
  put_ctx *puts;
  int64_t n;
  hn__hash128 *keys;
  uint32_t *chunk_of, *rows;
  uint64_t *order;
  int64_t n_keys;
} put_batch;

/* The item entries of the chunks stored, in key order, through one cursor. */
static int store_items(hn__cache *c, MDB_txn *txn, const put_batch *b) {
  MDB_cursor *cur = NULL;
  int rc = mdb_cursor_open(txn, c->env->dbi[HN__DB_ITEMS], &cur);
  uint8_t rec[HN__ITEM_REC_SIZE];
  for (int64_t q = 0; q < b->n_keys && rc == 0; q++) {
    uint64_t j = b->order ? (uint32_t)b->order[q] : (uint64_t)q;
    const put_ctx *p = &b->puts[b->chunk_of[j]];
    if (!p->info.stored) continue;
    memcpy(rec, &p->key, sizeof p->key);
    memcpy(rec + sizeof p->key, &b->rows[j], sizeof b->rows[j]);
    MDB_val ik = val(&b->keys[j], sizeof b->keys[j]), iv = val(rec, sizeof rec);
    rc = mdb_cursor_put(cur, &ik, &iv, 0);
  }
  if (cur) mdb_cursor_close(cur);
  return rc;
}

static int put_body(write_op *op, MDB_txn *txn) {
  hn__cache *c = op->c;
  put_batch *b = op->ctx;
  state_rec s;
  int rc = hn__cache_read_state(c->env, txn, &s);
  if (rc == 0) rc = apply_touches(c, txn, &s);
  put_ctx *last = NULL;
  for (int64_t k = 0; k < b->n && rc == 0; k++) {
    put_ctx *p = &b->puts[k];
    memset(&p->info, 0, sizeof p->info);
    p->info.bytes = (int64_t)p->accounted;
    uint64_t replaced = 0;
    rc = remove_chunk(op, txn, &p->key, &s, &replaced);
    if (rc != 0 || (c->max_bytes > 0 && p->accounted > (uint64_t)c->max_bytes)) continue;
    rc = store_chunk(c, txn, p, &s);
    p->info.stored = true;
    p->info.items = p->n_items;
    last = p;
  }
  if (rc == 0) rc = store_items(c, txn, b);
  /* Then the bound: the oldest chunks go, earlier ones of this batch included, never the last. */
  if (rc == 0 && last) rc = evict(op, txn, &s, &last->key, &last->info);
  return rc == 0 ? write_state(c, txn, &s) : rc;
}

/* Every item entry of the batch, and their key order. */
static hn_status batch_keys(hn__cache *c, put_batch *b, hn_error *err) {
  for (int64_t k = 0; k < b->n; k++) b->n_keys += b->puts[k].n_items;
  if (b->n_keys > (int64_t)UINT32_MAX)
    return hn__error(err, HN_ERANGE, "cache %s: put: more than 2^32 items at once", c->dir);
  size_t m = (size_t)(b->n_keys ? b->n_keys : 1);
  b->keys = hn__malloc(&c->alloc, m * sizeof *b->keys);
  b->chunk_of = hn__malloc(&c->alloc, m * sizeof *b->chunk_of);
  b->rows = hn__malloc(&c->alloc, m * sizeof *b->rows);
  if (!b->keys || !b->chunk_of || !b->rows) return hn__error_nomem(err, "for a cache put");
  int64_t j = 0;
  for (int64_t k = 0; k < b->n; k++)
    for (int64_t i = 0; i < b->puts[k].n_rows; i++) {
      if (hn__hash128_is_zero(b->puts[k].item_keys[i])) continue;
      b->keys[j] = b->puts[k].item_keys[i];
      b->chunk_of[j] = (uint32_t)k;
      b->rows[j++] = (uint32_t)i;
    }
  /* In key order when scratch is at hand; the result is the same either way. */
  b->order = b->n_keys >= 64 ? hn__cache_key_order(&c->alloc, b->keys, (uint32_t)b->n_keys) : NULL;
  return HN_OK;
}

/* Serialise chunk `in` into p (p->bytes owned by *buf). */
static hn_status put_prepare(hn__cache *c, const hn__cache_chunk *in, put_ctx *p, hn_buffer **buf,
                             hn_error *err) {
  memset(p, 0, sizeof *p);
  if (!in->table || (in->n_rows > 0 && !in->item_keys))
    return hn__error(err, HN_EINVAL, "hn__cache_put_chunks: NULL argument");
  if (hn__hash128_is_zero(in->key))
    return hn__error(err, HN_EINVAL, "cache %s: put: the chunk key is zero", c->dir);
  if (in->n_rows != hn_table_num_rows(in->table) || in->n_rows > (int64_t)UINT32_MAX)
    return hn__error(err, HN_EINVAL, "cache %s: put: %lld item keys for a table of %lld rows",
                     c->dir, (long long)in->n_rows, (long long)hn_table_num_rows(in->table));
  hn_status st = hn_table_serialize(in->table, &c->alloc, buf, err);
  if (st != HN_OK) return st;
  p->key = in->key;
  p->bytes = hn_buffer_data(*buf);
  p->size = (size_t)hn_buffer_size(*buf);
  p->n_rows = in->n_rows;
  p->item_keys = in->item_keys;
  for (int64_t i = 0; i < in->n_rows; i++) p->n_items += !hn__hash128_is_zero(in->item_keys[i]);
  p->accounted =
      p->size + HN__CACHE_CHUNK_OVERHEAD + (uint64_t)p->n_items * HN__CACHE_ITEM_OVERHEAD;
  return HN_OK;
}

hn_status hn__cache_put_chunks(hn__cache *c, int64_t n, const hn__cache_chunk *chunks,
                               hn__cache_put_info *info, hn_error *err) {
  if (info) memset(info, 0, sizeof *info * (size_t)(n > 0 ? n : 0));
  if (!c || n < 0 || (n > 0 && !chunks))
    return hn__error(err, HN_EINVAL, "hn__cache_put_chunks: NULL argument or negative count");
  if (n == 0) return HN_OK;
  put_batch b;
  memset(&b, 0, sizeof b);
  b.n = n;
  b.puts = hn__calloc(&c->alloc, (size_t)n, sizeof *b.puts);
  hn_buffer **bufs = hn__calloc(&c->alloc, (size_t)n, sizeof *bufs);
  hn_status st = b.puts && bufs ? HN_OK : hn__error_nomem(err, "for a cache put");
  size_t need = 0;
  for (int64_t k = 0; k < n && st == HN_OK; k++) {
    st = put_prepare(c, &chunks[k], &b.puts[k], &bufs[k], err);
    need += st == HN_OK ? (size_t)b.puts[k].accounted : 0;
  }
  if (st == HN_OK) st = batch_keys(c, &b, err);
  if (st == HN_OK) {
    write_op op = {c, put_body, &b, need, HN_OK, err};
    st = run_write(&op, "put");
  }
  if (st == HN_OK) c->n_touched = 0;
  for (int64_t k = 0; k < n; k++) {
    if (st == HN_OK && info) info[k] = b.puts[k].info;
    if (bufs) hn_buffer_release(bufs[k]);
  }
  hn__free(&c->alloc, b.puts);
  hn__free(&c->alloc, bufs);
  hn__free(&c->alloc, b.keys);
  hn__free(&c->alloc, b.chunk_of);
  hn__free(&c->alloc, b.rows);
  hn__free(&c->alloc, b.order);
  return st;
}

hn_status hn__cache_put_chunk(hn__cache *c, hn__hash128 chunk_key, const hn_table *table,
                              int64_t n_rows, const hn__hash128 *item_keys,
                              hn__cache_put_info *info, hn_error *err) {
  if (!c || !table || (n_rows > 0 && !item_keys)) {
    if (info) memset(info, 0, sizeof *info);
    return hn__error(err, HN_EINVAL, "hn__cache_put_chunk: NULL argument");
  }
  hn__cache_chunk one = {chunk_key, table, n_rows, item_keys};
  return hn__cache_put_chunks(c, 1, &one, info, err);
}

/* ---- accesses, flush ------------------------------------------------------------ */

static int touch_body(write_op *op, MDB_txn *txn) {
  state_rec s;
  int rc = hn__cache_read_state(op->c->env, txn, &s);
  if (rc == 0) rc = apply_touches(op->c, txn, &s);
  return rc == 0 ? write_state(op->c, txn, &s) : rc;
}

hn_status hn__cache_flush(hn__cache *c, hn_error *err) {
  if (!c) return hn__error(err, HN_EINVAL, "hn__cache_flush: NULL cache");
  if (c->n_touched == 0) return HN_OK;
  write_op op = {c, touch_body, NULL, (size_t)c->n_touched * 64, HN_OK, err};
  hn_status st = run_write(&op, "writing access times");
  if (st == HN_OK) c->n_touched = 0;
  return st;
}

/* Record an access to `key`. Access times are advice: one that cannot be kept is dropped. */
static void note_access(hn__cache *c, hn__hash128 key) {
  if (c->n_touched == c->cap_touched) {
    int64_t cap = c->cap_touched ? 2 * c->cap_touched : 16;
    hn__hash128 *t = hn__realloc(&c->alloc, c->touched, (size_t)cap * sizeof *t);
    if (!t) return;
    c->touched = t;
    c->cap_touched = cap;
  }
  c->touched[c->n_touched++] = key;
  if (c->n_touched >= TOUCH_FLUSH_AT && hn__cache_flush(c, NULL) != HN_OK) c->n_touched = 0;
}

/* ---- get ---------------------------------------------------------------------- */

static int drop_body(write_op *op, MDB_txn *txn) {
  state_rec s;
  uint64_t freed = 0;
  int rc = hn__cache_read_state(op->c->env, txn, &s);
  if (rc == 0) rc = remove_chunk(op, txn, op->ctx, &s, &freed);
  return rc == 0 ? write_state(op->c, txn, &s) : rc;
}

/* A copy of the value of `key` (HN_ENOTFOUND when absent), read in one transaction. */
static hn_status read_chunk(hn__cache *c, hn__hash128 key, hn_buffer **out, hn_error *err) {
  MDB_txn *txn = NULL;
  int rc = hn__cache_txn_begin(c->env, false, &txn);
  if (rc != 0) return hn__cache_lmdb_error(c->dir, "get", rc, err);
  MDB_val k = val(&key, sizeof key), v;
  rc = mdb_get(txn, c->env->dbi[HN__DB_CHUNKS], &k, &v);
  hn_status st = HN_OK;
  if (rc == 0) st = hn_buffer_copy(&c->alloc, v.mv_data, (int64_t)v.mv_size, out, err);
  hn__cache_txn_end(c->env, txn, false, 0);
  if (rc == MDB_NOTFOUND) {
    char hex[33];
    hn__cache_key_hex(key, hex);
    return hn__error(err, HN_ENOTFOUND, "cache %s: chunk %s is not stored", c->dir, hex);
  }
  return rc != 0 ? hn__cache_lmdb_error(c->dir, "get", rc, err) : st;
}

hn_status hn__cache_get_chunk(hn__cache *c, hn__hash128 chunk_key, hn_table **out, bool *corrupt,
                              hn_error *err) {
  if (corrupt) *corrupt = false;
  if (!c || !out) return hn__error(err, HN_EINVAL, "hn__cache_get_chunk: NULL argument");
  *out = NULL;
  hn_buffer *bytes = NULL;
  hn_status st = read_chunk(c, chunk_key, &bytes, err);
  if (st != HN_OK) return st;
  hn_error why;
  st = hn_table_deserialize(&c->alloc, bytes, out, &why);
  hn_buffer_release(bytes);
  if (st == HN_OK) {
    note_access(c, chunk_key);
    return HN_OK;
  }
  if (st != HN_ECORRUPT && st != HN_EUNSUPPORTED) return hn__error(err, st, "%s", why.message);
  /* Unreadable: drop it (and its item entries) so that it is recomputed. */
  if (corrupt) *corrupt = true;
  write_op op = {c, drop_body, &chunk_key, 0, HN_OK, err};
  st = run_write(&op, "dropping a corrupt chunk");
  if (st != HN_OK) return st;
  char hex[33];
  hn__cache_key_hex(chunk_key, hex);
  return hn__error(err, HN_ENOTFOUND, "cache %s: chunk %s was unreadable and is dropped: %s",
                   c->dir, hex, why.message);
}

#define PREFETCH_AHEAD 8

/* Look up keys[i] for the n indices `order` gives (NULL: 0..n-1) through one cursor. */
static int lookup_items(MDB_cursor *cur, const hn__hash128 *keys, const uint64_t *order, uint32_t n,
                        hn__cache_item *out, int64_t *found) {
  for (uint32_t j = 0; j < n; j++) {
    uint32_t i = order ? (uint32_t)order[j] : j;
#if defined(__GNUC__)
    /* In key order, the keys and results are visited at random: fetch ahead. */
    if (order && j + PREFETCH_AHEAD < n) {
      __builtin_prefetch(&keys[(uint32_t)order[j + PREFETCH_AHEAD]], 0);
      __builtin_prefetch(&out[(uint32_t)order[j + PREFETCH_AHEAD]], 1);
    }
#endif
    memset(&out[i], 0, sizeof out[i]);
    if (hn__hash128_is_zero(keys[i])) continue;
    MDB_val k = val(&keys[i], sizeof keys[i]), v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != HN__ITEM_REC_SIZE)) continue;
    if (rc != 0) return rc;
    memcpy(&out[i].chunk, v.mv_data, sizeof out[i].chunk);
    memcpy(&out[i].row, (const uint8_t *)v.mv_data + sizeof out[i].chunk, sizeof out[i].row);
    out[i].found = true;
    *found += 1;
  }
  return 0;
}

#define LOOKUP_BATCH ((int64_t)1 << 20) /* keys ordered at a time (16 MiB of scratch) */
#define LOOKUP_SORT_MIN 64              /* fewer keys are looked up as given */

hn_status hn__cache_get_items(hn__cache *c, int64_t n, const hn__hash128 *item_keys,
                              hn__cache_item *out, int64_t *n_found, hn_error *err) {
  if (n_found) *n_found = 0;
  if (!c || n < 0 || (n > 0 && (!item_keys || !out)))
    return hn__error(err, HN_EINVAL, "hn__cache_get_items: NULL argument or negative count");
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  int rc = hn__cache_txn_begin(c->env, false, &txn);
  if (rc != 0) return hn__cache_lmdb_error(c->dir, "looking up items", rc, err);
  rc = mdb_cursor_open(txn, c->env->dbi[HN__DB_ITEMS], &cur);
  int64_t found = 0;
  for (int64_t start = 0; start < n && rc == 0; start += LOOKUP_BATCH) {
    uint32_t m = (uint32_t)(n - start < LOOKUP_BATCH ? n - start : LOOKUP_BATCH);
    /* In key order when scratch is at hand; the results are the same either way. */
    uint64_t *order =
        m >= LOOKUP_SORT_MIN ? hn__cache_key_order(&c->alloc, item_keys + start, m) : NULL;
    rc = lookup_items(cur, item_keys + start, order, m, out + start, &found);
    hn__free(&c->alloc, order);
  }
  if (cur) mdb_cursor_close(cur);
  hn__cache_txn_end(c->env, txn, false, 0);
  if (rc != 0) return hn__cache_lmdb_error(c->dir, "looking up items", rc, err);
  if (n_found) *n_found = found;
  return HN_OK;
}
