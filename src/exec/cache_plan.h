/*
 * A cached call in progress: its keys, what it found in the cache, what it
 * runs, and where every (step, item) result is (cache_plan.c, cache_run.c).
 * Not installed; symbols use hn__.
 */
#ifndef HN_EXEC_CACHE_PLAN_H
#define HN_EXEC_CACHE_PLAN_H

#include "cache_keys.h"

/* Items per stored chunk: a warm map reads one value per node per chunk. */
#define HN__CACHE_CHUNK 16384

typedef struct hn__cplan {
  const hn__call *x;
  const hn_allocator *a;
  hn__cache *store;
  hn_cache_mode mode;
  int64_t n, chunk; /* items; items per chunk */
  hn__ckeys keys;
  /* Tables results are read from: chunks from the cache, outputs of sub-calls (owned). */
  hn_table **tables;
  hn__hash128 *table_keys; /* per table: its chunk key (zero for a sub-call's outputs) */
  int64_t n_tables, cap_tables;
  /* Per (step s, item i), index s * n + i: */
  int32_t *loc_table; /* the table holding the result, or -1 */
  uint32_t *loc_row;  /* its row there */
  uint8_t *need;      /* the result is needed (a requested output, or feeds a step that runs) */
  uint8_t *run;       /* the step runs for the item */
  int64_t hits, misses, bytes_read, bytes_written;
  struct {
    void *ud;
    hn_callback hit, miss, write;
  } ev;
} hn__cplan;

/* Look up what the call needs and settle what must run (need, run, loc_*, hits, misses). */
hn_status hn__cplan_build(hn__cplan *cp, hn_error *err);
void hn__cplan_free(hn__cplan *cp);
/* Keep `table` (taken, also on failure) as a source of results; *index is where it went. */
hn_status hn__cplan_add_table(hn__cplan *cp, hn_table *table, hn__hash128 key, int32_t *index,
                              hn_error *err);
/* Fire a cache event about step s (fn NULL: nothing). */
void hn__cplan_event(const hn__cplan *cp, hn_callback fn, int64_t s, int64_t n_rows,
                     const char *message);

/*
 * Group the items by the steps they run, run each group as a sub-call on the
 * call's engine, and lay the result out in `col` in item order. failed[i]
 * is set for each item that got an error record. Under raise, the lowest
 * failing item's error.
 */
hn_status hn__cached_groups(hn__cplan *cp, hn__collector *col, uint8_t *failed, hn_error *err);

/*
 * Run call x with `cache` (hn_run_options.cache): every key computed first,
 * what is found used, only the rest run on x's engine as sub-calls, what is
 * computed written (mode permitting), the result made in *out exactly as an
 * uncached call makes it. cb: the call's callbacks (cache events), or NULL.
 */
hn_status hn__cached_run(hn__call *x, hn_cache *cache, hn_cache_mode mode, hn_cache_nodes which,
                         const hn_callbacks *cb, hn_result **out, hn_error *err);

/* ---- on a collective engine (cache_serve.c) ------------------------------------------- */

/*
 * The ranks of a collective engine follow rank 0's cached call: rank 0
 * announces each group's sub-call (its sub-plan's given and asked names,
 * its item count) before running it, and the end of the call with its
 * outcome; the other ranks build the same sub-calls and serve them.
 */

/* Given and asked names in one buffer (*out owned by the caller, freed with hn__free). */
hn_status hn__group_names_pack(const hn_allocator *a, int64_t n_given, const char *const *given,
                               int64_t n_asked, const char *const *asked, uint8_t **out,
                               size_t *size, hn_error *err);
/* Rank 0: the group sub-call `sub` follows (its names packed by hn__group_names_pack). */
void hn__cached_announce(const hn__call *sub, const uint8_t *names, size_t size);
/* Rank 0: the cached call is over, with status st (err when it failed). */
void hn__cached_done(const hn__call *x, hn_status st, const hn_error *err);
/* Ranks > 0: serve rank 0's groups until it is done; returns its outcome (err filled). */
hn_status hn__cached_serve(hn__call *x, hn_error *err);

#endif /* HN_EXEC_CACHE_PLAN_H */
