/*
 * The cache's on-disk store (store.c, env.c): node results content-addressed
 * by 128-bit keys, in one LMDB environment per cache directory. Not
 * installed; symbols use hn__. The exec layer computes the keys and plans
 * the work; this is where results live.
 *
 * Model. A value is a *chunk*: the outputs of one node for a run of
 * consecutive items, one table serialised with hn_table_serialize
 * (checksummed, validated on read), stored under a chunk key. Each row of a
 * chunk is indexed under its *item key* (the node's key for that item), so
 * a lookup by item key answers "which chunk, which row". Named databases:
 *   chunks: chunk key -> serialised table;
 *   items:  item key  -> {chunk key, row (u32)};
 *   refs:   chunk key -> the item keys indexed into it (to delete them with it);
 *   meta:   chunk key -> {last access (logical clock), accounted size},
 *           and "state" -> {total accounted size, clock};
 *   lru:    access clock (big-endian u64) -> chunk key, oldest first.
 * Evicting or dropping a chunk deletes its item entries (those still
 * pointing at it) in the same transaction, so an item entry never dangles
 * and the item index never outgrows the bound.
 *
 * Size. A chunk's accounted size is its serialised bytes plus
 * HN__CACHE_CHUNK_OVERHEAD, plus HN__CACHE_ITEM_OVERHEAD per item entry:
 * the bytes of keys and values written. The bound (max_bytes) holds the sum
 * of accounted sizes. data.mdb is larger (B-tree pages, free pages kept for
 * reuse) and never shrinks: freed pages are reused by later writes.
 *
 * Durability. Every put is one LMDB write transaction: after a crash or a
 * kill -9 at any point a chunk is there with all its item entries, or not
 * at all. Commits flush data pages but not the meta page (MDB_NOMETASYNC):
 * a power failure may undo the last commit, never corrupt the database.
 *
 * Thread safety. One hn__cache handle is used by one thread at a time; open
 * as many handles as threads need. Handles of one directory in one process
 * share one LMDB environment (LMDB must not open a file twice in a
 * process), and any number of processes may use one directory at once
 * (LMDB's lock file: one writer at a time, readers never blocked). A handle
 * does not survive fork(): a child opens its own; one it inherited must not
 * be used, and closing it only frees the handle's memory.
 *
 * Not for a directory on a network file system (LMDB's locks need a local one).
 */
#ifndef HN_CACHE_INTERNAL_H
#define HN_CACHE_INTERNAL_H

#include "../data/data_internal.h"

/* The map size of a new cache directory; it grows (at least doubling) as puts need. */
#define HN__CACHE_MAP_INITIAL ((size_t)16 << 20)
/* Bytes a chunk is accounted for beyond its serialised table (keys, meta, lru). */
#define HN__CACHE_CHUNK_OVERHEAD 64
/* Bytes each item entry is accounted for (its key and value, and its key in refs). */
#define HN__CACHE_ITEM_OVERHEAD 52

typedef struct hn__cache hn__cache;

/* Where an item's result is: row `row` of chunk `chunk` (when found). */
typedef struct hn__cache_item {
  hn__hash128 chunk;
  uint32_t row;
  bool found;
} hn__cache_item;

/* What a put did. */
typedef struct hn__cache_put_info {
  bool stored;            /* false: the chunk alone exceeds the bound (nothing written) */
  int64_t items;          /* item entries written */
  int64_t bytes;          /* the chunk's accounted size */
  int64_t evicted_chunks; /* chunks evicted to make room */
  int64_t evicted_bytes;  /* their accounted size */
} hn__cache_put_info;

/* A directory's contents. */
typedef struct hn__cache_usage {
  int64_t chunks;    /* chunk values */
  int64_t items;     /* item entries */
  int64_t bytes;     /* accounted bytes, what max_bytes bounds */
  int64_t map_size;  /* the LMDB map size (the most data.mdb can grow to before it is raised) */
  int64_t file_size; /* bytes of data.mdb */
} hn__cache_usage;

/*
 * Open the cache in directory `dir` (created with its parents when missing),
 * bounded to `max_bytes` accounted bytes (0: unbounded; the bound applies to
 * the puts of this handle). The map starts at HN__CACHE_MAP_INITIAL for a
 * new directory, at the size it last had otherwise, and grows as puts need. `alloc` (NULL:
 * libc) serves the handle, the tables it returns and its scratch; LMDB and
 * the process-wide environment record use libc. On success *out is a
 * handle to close with hn__cache_close. Returns HN_OK, HN_EINVAL (NULL or
 * empty dir, NULL out, negative bound), HN_EIO (the directory cannot be
 * created, is not a directory, or LMDB cannot open it: the message names
 * the directory, the operation and the system's reason), HN_ECORRUPT (the
 * files are not an LMDB environment of a compatible version) or HN_ENOMEM.
 */
hn_status hn__cache_open(const hn_allocator *alloc, const char *dir, int64_t max_bytes,
                         hn__cache **out, hn_error *err);
/*
 * Write the handle's pending access times (best effort: a failure is
 * ignored, the order of eviction being advice) and close it. NULL is a no-op.
 */
void hn__cache_close(hn__cache *cache);

/*
 * Store `table` (n_rows rows, not an object column) under `chunk_key`, and
 * index row i under item_keys[i] for every i whose key is not zero (a zero
 * key means "do not cache this row": a failed item); one write transaction.
 * A chunk already stored under `chunk_key` is replaced (its item entries
 * deleted first); an item key already indexed elsewhere now points here.
 * Then least-recently-used chunks (never this one) are evicted until the
 * accounted total is within the bound. A chunk whose own accounted size
 * exceeds the bound is not stored (HN_OK, info->stored false). Pending
 * access times of the handle are written in the same transaction. `info`
 * may be NULL. Returns HN_OK, HN_EINVAL (NULL cache, table or item_keys with
 * n_rows > 0, a zero chunk key, n_rows not the table's rows or above
 * UINT32_MAX), HN_EUNSUPPORTED (an object column), HN_ENOMEM, HN_EIO or
 * HN_ECORRUPT (LMDB failures, naming the directory and the operation).
 */
hn_status hn__cache_put_chunk(hn__cache *cache, hn__hash128 chunk_key, const hn_table *table,
                              int64_t n_rows, const hn__hash128 *item_keys,
                              hn__cache_put_info *info, hn_error *err);

/* One chunk of hn__cache_put_chunks: the arguments of hn__cache_put_chunk. */
typedef struct hn__cache_chunk {
  hn__hash128 key;
  const hn_table *table;
  int64_t n_rows;
  const hn__hash128 *item_keys;
} hn__cache_chunk;

/*
 * Put n chunks in one write transaction, each as hn__cache_put_chunk does,
 * in order (a chunk's eviction may evict earlier chunks of the same call,
 * never itself). One transaction writes each B-tree page it touches once:
 * much cheaper than n puts when the item keys are many. info (may be NULL)
 * receives n entries. Same returns; on failure nothing is written.
 */
hn_status hn__cache_put_chunks(hn__cache *cache, int64_t n, const hn__cache_chunk *chunks,
                               hn__cache_put_info *info, hn_error *err);

/*
 * Read the chunk stored under `chunk_key` into *out, a table the caller owns
 * (release it with hn_table_release). Its buffers are views into one copy of
 * the stored bytes made with the handle's allocator, not into the LMDB map,
 * so the table stays valid after the read transaction and after the cache is
 * closed. The read counts as an access for eviction (written with the next
 * put, flush or close). A value that fails the table's checksum or
 * validation is deleted with its item entries and reported as a miss with
 * *corrupt set; the caller recomputes it. `corrupt` may be NULL.
 * Returns HN_OK; HN_ENOTFOUND (not stored, or corrupt and dropped: *corrupt
 * tells them apart, the message names the directory, the key and, when
 * corrupt, what was wrong); HN_EINVAL (NULL cache or out); HN_ENOMEM; or
 * HN_EIO / HN_ECORRUPT from LMDB (also when a corrupt value could not be
 * dropped: *corrupt is then set too).
 */
hn_status hn__cache_get_chunk(hn__cache *cache, hn__hash128 chunk_key, hn_table **out,
                              bool *corrupt, hn_error *err);

/*
 * Look up `n` item keys in one read transaction: out[i] says whether
 * item_keys[i] is indexed and where (a zero key is never found). A found
 * item's chunk existed when the lookup ran; another process may evict it
 * before hn__cache_get_chunk, which then says HN_ENOTFOUND (a miss).
 * `n_found` (may be NULL) receives the number found. Returns HN_OK,
 * HN_EINVAL (NULL cache, or NULL arrays with n > 0, negative n), HN_EIO or
 * HN_ECORRUPT.
 */
hn_status hn__cache_get_items(hn__cache *cache, int64_t n, const hn__hash128 *item_keys,
                              hn__cache_item *out, int64_t *n_found, hn_error *err);

/* Write the handle's pending access times now. Returns HN_OK, HN_EINVAL, HN_EIO or HN_ECORRUPT. */
hn_status hn__cache_flush(hn__cache *cache, hn_error *err);

/*
 * Counts and sizes of the handle's directory (one read transaction).
 * Returns HN_OK, HN_EINVAL, HN_EIO or HN_ECORRUPT.
 */
hn_status hn__cache_stats(hn__cache *cache, hn__cache_usage *out, hn_error *err);
/*
 * The same for a directory, opened for the call: HN_ENOTFOUND when `dir`
 * holds no cache (nothing is created).
 */
hn_status hn__cache_stats_dir(const hn_allocator *alloc, const char *dir, hn__cache_usage *out,
                              hn_error *err);
/*
 * Delete every chunk and item entry of the cache in `dir` in one write
 * transaction (safe while other processes use it; data.mdb keeps its size
 * and reuses the pages). Returns HN_OK, HN_ENOTFOUND (no cache there),
 * HN_EINVAL, HN_EIO, HN_ECORRUPT or HN_ENOMEM.
 */
hn_status hn__cache_clear(const hn_allocator *alloc, const char *dir, hn_error *err);

/*
 * Check the store's invariants in one read transaction: the total equals
 * the sum of the chunks' sizes; every chunk has its meta, lru and refs
 * entries and no entry lacks its chunk; every item entry points at a stored
 * chunk and a row inside it. Returns HN_OK or HN_ECORRUPT naming the first
 * broken one (HN_EINVAL, HN_EIO as above). Reads everything: for tests and
 * for checking a directory, not for the hot path.
 */
hn_status hn__cache_verify(hn__cache *cache, hn_error *err);

/* ---- the public handle (cache.c) ------------------------------------------------ */

typedef struct hn_cache hn_cache;
/*
 * Claim the handle's store for one call: NULL with *st HN_EINVAL (err
 * filled) when it already serves one. Release it with hn__cache_store_release.
 */
hn__cache *hn__cache_store_claim(hn_cache *cache, hn_error *err, hn_status *st);
void hn__cache_store_release(hn_cache *cache);

#endif /* HN_CACHE_INTERNAL_H */
