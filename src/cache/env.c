/*
 * LMDB environments of cache directories: one per directory per process,
 * kept in a table guarded by a mutex (LMDB forbids opening one environment
 * twice in a process: closing the second copy would drop the first one's
 * locks). Transactions run under a per-environment read-write lock so that
 * the map can be raised (which LMDB allows only with no transaction open in
 * the process) when a write finds it full, or adopted when another process
 * raised it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "env.h"

static const char *const k_db_names[HN__DB_COUNT] = {"chunks", "items", "refs", "meta", "lru"};

static pthread_mutex_t g_table_mu = PTHREAD_MUTEX_INITIALIZER;
static hn__cache_env *g_table;

hn_status hn__cache_lmdb_error(const char *dir, const char *op, int rc, hn_error *err) {
  hn_status st = HN_EIO;
  if (rc == ENOMEM) st = HN_ENOMEM;
  if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
      rc == MDB_VERSION_MISMATCH || rc == MDB_INCOMPATIBLE)
    st = HN_ECORRUPT;
  return hn__error(err, st, "cache %s: %s: %s", dir, op, mdb_strerror(rc));
}

int hn__cache_read_state(const hn__cache_env *e, MDB_txn *txn, state_rec *s) {
  MDB_val k = val(HN__STATE_KEY, sizeof HN__STATE_KEY - 1), v;
  memset(s, 0, sizeof *s);
  int rc = mdb_get(txn, e->dbi[HN__DB_META], &k, &v);
  if (rc == 0 && v.mv_size == sizeof *s) memcpy(s, v.mv_data, sizeof *s);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

void hn__cache_key_hex(hn__hash128 k, char buf[33]) {
  snprintf(buf, 33, "%016llx%016llx", (unsigned long long)k.hi, (unsigned long long)k.lo);
}

/* ---- the map size ------------------------------------------------------------ */

#define MAP_STEP_MIN ((size_t)1 << 20) /* growth rounds to whole MiB */

int hn__cache_env_grow(hn__cache_env *e, size_t need) {
  pthread_rwlock_wrlock(&e->resize);
  MDB_envinfo info;
  int rc = mdb_env_info(e->env, &info);
  if (rc == 0) {
    size_t cur = info.me_mapsize, grown = cur * 2;
    /* Room for the value twice over (copy-on-write touches old and new pages). */
    size_t want = cur + 2 * need + MAP_STEP_MIN;
    if (grown < want) grown = want;
    grown = (grown + MAP_STEP_MIN - 1) / MAP_STEP_MIN * MAP_STEP_MIN;
    if (grown < cur)
      rc = ENOMEM; /* size_t overflow */
    else
      rc = mdb_env_set_mapsize(e->env, grown);
  }
  pthread_rwlock_unlock(&e->resize);
  return rc;
}

/* Another process raised the map beyond ours: take its size (0 adopts the stored one). */
static int adopt_map(hn__cache_env *e) {
  pthread_rwlock_wrlock(&e->resize);
  int rc = mdb_env_set_mapsize(e->env, 0);
  pthread_rwlock_unlock(&e->resize);
  return rc;
}

int hn__cache_txn_begin(hn__cache_env *e, bool write, MDB_txn **txn) {
  for (int attempt = 0;; attempt++) {
    pthread_rwlock_rdlock(&e->resize);
    int rc = mdb_txn_begin(e->env, NULL, write ? 0 : MDB_RDONLY, txn);
    if (rc == 0) return 0;
    pthread_rwlock_unlock(&e->resize);
    if (rc != MDB_MAP_RESIZED || attempt >= 8) return rc;
    rc = adopt_map(e);
    if (rc != 0) return rc;
  }
}

int hn__cache_txn_end(hn__cache_env *e, MDB_txn *txn, bool commit, int rc) {
  if (commit && rc == 0)
    rc = mdb_txn_commit(txn);
  else
    mdb_txn_abort(txn);
  pthread_rwlock_unlock(&e->resize);
  return rc;
}

/* ---- opening and sharing ------------------------------------------------------ */

/* Open (creating) the named databases in one write transaction. */
static int open_databases(hn__cache_env *e) {
  MDB_txn *txn = NULL;
  int rc = hn__cache_txn_begin(e, true, &txn);
  if (rc != 0) return rc;
  for (int i = 0; i < HN__DB_COUNT && rc == 0; i++)
    rc = mdb_dbi_open(txn, k_db_names[i], MDB_CREATE, &e->dbi[i]);
  return hn__cache_txn_end(e, txn, true, rc);
}

/* True when `dir` has no data.mdb yet (or its path does not fit: then LMDB fails the open). */
static bool new_environment(const char *dir) {
  char path[4096];
  struct stat sb;
  if ((size_t)snprintf(path, sizeof path, "%s/data.mdb", dir) >= sizeof path) return false;
  return stat(path, &sb) != 0 && errno == ENOENT;
}

static hn_status env_open(const char *dir, const struct stat *sb, hn__cache_env **out,
                          hn_error *err) {
  hn__cache_env *e = calloc(1, sizeof *e);
  if (!e) return hn__error_nomem(err, "for a cache environment");
  if (pthread_rwlock_init(&e->resize, NULL) != 0) {
    free(e);
    return hn__error_nomem(err, "for a cache environment's lock");
  }
  e->pid = getpid();
  e->dev = sb->st_dev;
  e->ino = sb->st_ino;
  e->refs = 1;
  const char *op = "mdb_env_create";
  int rc = mdb_env_create(&e->env);
  if (rc == 0) {
    op = "mdb_env_set_maxdbs";
    rc = mdb_env_set_maxdbs(e->env, HN__DB_COUNT);
  }
  if (rc == 0 && new_environment(dir)) {
    /* An existing one keeps the size it grew to (LMDB reads it from the file when none is set). */
    op = "mdb_env_set_mapsize";
    rc = mdb_env_set_mapsize(e->env, HN__CACHE_MAP_INITIAL);
  }
  if (rc == 0) {
    /* NOTLS: read transactions belong to handles, not threads. NOMETASYNC: see cache_internal.h. */
    op = "open (mdb_env_open)";
    rc = mdb_env_open(e->env, dir, MDB_NOTLS | MDB_NOMETASYNC, 0664);
  }
  if (rc == 0) {
    int dead = 0;
    op = "clearing readers of dead processes";
    rc = mdb_reader_check(e->env, &dead);
  }
  if (rc == 0) {
    op = "opening its databases";
    rc = open_databases(e);
  }
  if (rc != 0) {
    if (e->env) mdb_env_close(e->env);
    pthread_rwlock_destroy(&e->resize);
    free(e);
    return hn__cache_lmdb_error(dir, op, rc, err);
  }
  *out = e;
  return HN_OK;
}

hn_status hn__cache_env_acquire(const char *dir, hn__cache_env **out, hn_error *err) {
  struct stat sb;
  if (stat(dir, &sb) != 0) {
    int e = errno;
    return hn__error(err, e == ENOENT ? HN_ENOTFOUND : HN_EIO, "cache %s: open: %s", dir,
                     strerror(e));
  }
  if (!S_ISDIR(sb.st_mode)) return hn__error(err, HN_EIO, "cache %s: open: not a directory", dir);
  pid_t self = getpid();
  pthread_mutex_lock(&g_table_mu);
  for (hn__cache_env *e = g_table; e; e = e->next) {
    if (e->pid == self && e->dev == sb.st_dev && e->ino == sb.st_ino) {
      e->refs++;
      pthread_mutex_unlock(&g_table_mu);
      *out = e;
      return HN_OK;
    }
  }
  hn__cache_env *e = NULL;
  hn_status st = env_open(dir, &sb, &e, err);
  if (st == HN_OK) {
    e->next = g_table;
    g_table = e;
    *out = e;
  }
  pthread_mutex_unlock(&g_table_mu);
  return st;
}

void hn__cache_env_release(hn__cache_env *e) {
  if (!e) return;
  /* Inherited over fork: closing LMDB here would clear the parent's reader slots. */
  if (e->pid != getpid()) return;
  pthread_mutex_lock(&g_table_mu);
  bool last = --e->refs == 0;
  if (last) {
    hn__cache_env **p = &g_table;
    while (*p && *p != e) p = &(*p)->next;
    if (*p) *p = e->next;
  }
  pthread_mutex_unlock(&g_table_mu);
  if (!last) return;
  mdb_env_close(e->env);
  pthread_rwlock_destroy(&e->resize);
  free(e);
}
