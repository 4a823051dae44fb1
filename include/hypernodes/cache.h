/**
 * @file cache.h
 * A cache of node results on disk, content-addressed (docs/cache.md).
 *
 * Give a run or map a cache (hn_run_options.cache) and every node result it
 * computes is kept under a key that says what it was computed from: the
 * node's name, version, outputs, and the keys of its inputs (a value given
 * by the caller contributes the hash of its data, an output of another node
 * that node's key). A later call finds what it would compute again and
 * runs only the rest; change a node's version and that node and everything
 * downstream of it run again, nothing else.
 *
 * The store is LMDB, one environment per directory: safe for several
 * processes at once and after a crash; bounded in bytes with least-recently-
 * used eviction. Not for a directory on a network file system.
 *
 * Thread safety: a cache serves one run or map at a time (a second,
 * concurrent call on the same handle gets HN_EINVAL); open one handle per
 * thread that maps concurrently. Several handles and processes may share a
 * directory. A handle must not be used in a child after fork().
 */
#ifndef HYPERNODES_CACHE_H
#define HYPERNODES_CACHE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open cache directory. */
typedef struct hn_cache hn_cache;

/** How a call uses its cache. */
typedef enum hn_cache_mode {
  HN_CACHE_USE = 0,       /**< results found are used, results computed are written */
  HN_CACHE_RECOMPUTE = 1, /**< nothing is looked up; everything computed is (over)written */
  HN_CACHE_READ_ONLY = 2  /**< results found are used; nothing is written */
} hn_cache_mode;

/** Which nodes a call caches (a node's own hn_node_cache overrides it). */
typedef enum hn_cache_nodes {
  HN_CACHE_NODES_ALL = 0,   /**< every node not marked HN_NODE_CACHE_OFF */
  HN_CACHE_NODES_MARKED = 1 /**< only nodes marked HN_NODE_CACHE_ON */
} hn_cache_nodes;

/** Options of hn_cache_open. Initialise with `{.size = sizeof opts}`; more fields may be added. */
typedef struct hn_cache_options {
  size_t size;       /**< sizeof(hn_cache_options) */
  int64_t max_bytes; /**< bound on the stored results, in bytes; 0: unbounded */
} hn_cache_options;

/**
 * Open (creating it and its parents when missing) the cache in directory
 * `dir` (copied). `options` may be NULL (unbounded). On success *out is
 * owned by the caller (hn_cache_close). Returns HN_OK, HN_EINVAL (NULL or
 * empty dir, bad options), HN_EIO (the directory cannot be created or
 * opened: the message names it and the system's reason), HN_ECORRUPT (the
 * directory holds files that are no cache of this version) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_cache_open(const hn_allocator *alloc, const char *dir,
                                            const hn_cache_options *options, hn_cache **out,
                                            hn_error *err);
/** Close the cache (what was written stays on disk). NULL is a no-op. */
HN_API void hn_cache_close(hn_cache *cache);
/** The directory the cache was opened on (borrowed), or NULL. */
HN_API const char *hn_cache_dir(const hn_cache *cache);

/** What a cache directory holds. Filled by hn_cache_usage_of up to the size given. */
typedef struct hn_cache_usage {
  int64_t chunks;    /**< stored values: one node's outputs for a run of items */
  int64_t items;     /**< (node, item) results they hold that can be found by key */
  int64_t bytes;     /**< bytes accounted against the bound */
  int64_t map_size;  /**< LMDB's map size: what data.mdb may grow to before it is raised */
  int64_t file_size; /**< bytes of data.mdb */
} hn_cache_usage;

/**
 * Fill *out (its first `size` bytes: pass sizeof *out) with what the cache
 * in `dir` holds. Returns HN_OK, HN_ENOTFOUND (no cache in `dir`; nothing is
 * created), HN_EINVAL, HN_EIO, HN_ECORRUPT or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_cache_usage_of(const hn_allocator *alloc, const char *dir,
                                                hn_cache_usage *out, size_t size, hn_error *err);
/**
 * Delete every result stored in the cache in `dir` (safe while other
 * processes use it). Returns HN_OK, HN_ENOTFOUND (no cache in `dir`),
 * HN_EINVAL, HN_EIO, HN_ECORRUPT or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_cache_clear(const hn_allocator *alloc, const char *dir,
                                             hn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_CACHE_H */
