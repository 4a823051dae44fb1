/*
 * The LMDB side of the cache (env.c), shared by store.c: the process-wide
 * table of open environments, transactions that grow the map, and the
 * mapping of LMDB errors to hn_error. Include after the feature macros.
 */
#ifndef HN_CACHE_ENV_H
#define HN_CACHE_ENV_H

#include <lmdb.h>
#include <pthread.h>
#include <sys/types.h>

#include "cache_internal.h"

/* The named databases of an environment. */
enum { HN__DB_CHUNKS, HN__DB_ITEMS, HN__DB_REFS, HN__DB_META, HN__DB_LRU, HN__DB_COUNT };

/*
 * One open LMDB environment, shared by every handle of this process on the
 * same directory (found by device and inode). Every transaction holds
 * `resize` shared; raising the map size takes it exclusively, since LMDB
 * allows that only while the process has no transaction on the environment.
 */
typedef struct hn__cache_env {
  struct hn__cache_env *next;
  pid_t pid; /* the process that opened it (a forked child must not use it) */
  dev_t dev;
  ino_t ino;
  int64_t refs; /* handles using it; guarded by the table's mutex */
  MDB_env *env;
  MDB_dbi dbi[HN__DB_COUNT];
  pthread_rwlock_t resize;
} hn__cache_env;

struct hn__cache {
  hn_allocator alloc;
  hn__cache_env *env;
  char *dir; /* as given, for messages */
  int64_t max_bytes;
  hn__hash128 *touched; /* chunks read since the access times were last written */
  int64_t n_touched, cap_touched;
};

/*
 * The environment of directory `dir` (which must exist), opened (databases
 * created) or shared. Returns HN_OK, HN_ENOTFOUND (`dir` is missing), HN_EIO
 * (not a directory, or LMDB cannot open it), HN_ECORRUPT or HN_ENOMEM.
 */
hn_status hn__cache_env_acquire(const char *dir, hn__cache_env **out, hn_error *err);
/* Drop one reference; the last one (in the opening process) closes the environment. */
void hn__cache_env_release(hn__cache_env *env);

/*
 * Begin a transaction (read-only unless `write`), adopting a map grown by
 * another process. On success the caller holds `resize` shared until
 * hn__cache_txn_end. Returns an LMDB code (0 on success).
 */
int hn__cache_txn_begin(hn__cache_env *env, bool write, MDB_txn **txn);
/* Commit (when `commit` and rc is 0) or abort; returns the commit's code, or rc. */
int hn__cache_txn_end(hn__cache_env *env, MDB_txn *txn, bool commit, int rc);
/*
 * Raise the map size so that `need` more bytes fit (at least doubling it).
 * Call with no transaction of this thread open. Returns an LMDB code.
 */
int hn__cache_env_grow(hn__cache_env *env, size_t need);

/* ---- record layouts (host byte order; LMDB files do not change byte order) ---- */

#define HN__STATE_KEY "state" /* meta key of the state record (chunk keys are 16 bytes) */
#define HN__ITEM_REC_SIZE 20  /* items value: chunk key (16), row (u32) */

/* meta "state": the store's totals. */
typedef struct state_rec {
  uint64_t total; /* sum of the chunks' accounted sizes */
  uint64_t clock; /* the last access time handed out */
} state_rec;

/* meta, per chunk. */
typedef struct meta_rec {
  uint64_t atime; /* clock value of the last access (the chunk's key in lru) */
  uint64_t size;  /* accounted bytes */
} meta_rec;

/* An MDB_val over `size` bytes at `data` (LMDB does not write through keys or values it is given).
 */
static inline MDB_val val(const void *data, size_t size) {
  MDB_val v = {size, (void *)data};
  return v;
}

/* lru keys: the clock big-endian, so that LMDB's byte order is the clock's order. */
static inline void hn__be64(uint8_t out[8], uint64_t x) {
  for (int i = 0; i < 8; i++) out[i] = (uint8_t)(x >> (56 - 8 * i));
}

/* The state record (zeros when absent). Returns an LMDB code. */
int hn__cache_read_state(const hn__cache_env *env, MDB_txn *txn, state_rec *s);
/* A key as 32 hex digits (high half first) and a NUL. */
void hn__cache_key_hex(hn__hash128 key, char buf[33]);

/*
 * The indices 0..n-1 of `keys` in (near enough) LMDB's key order, for
 * lookups and inserts that stay on a page (key_order.c): an array of 2n
 * words whose first n hold the indices in their low 32 bits; free it with
 * hn__free(a, ...). NULL when out of memory (then use the given order).
 */
uint64_t *hn__cache_key_order(const hn_allocator *a, const hn__hash128 *keys, uint32_t n);

/* Fill err for LMDB code `rc`: "cache DIR: OP: reason"; HN_ENOMEM, HN_ECORRUPT or HN_EIO. */
hn_status hn__cache_lmdb_error(const char *dir, const char *op, int rc, hn_error *err);

#endif /* HN_CACHE_ENV_H */
