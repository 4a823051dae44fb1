/*
 * The cache's part of the execution layer: keys (cache_keys.c), what a call
 * finds and what it must run (cache_plan.c), and the cached call itself
 * (cache_run.c). Not installed; symbols use hn__.
 */
#ifndef HN_EXEC_CACHE_KEYS_H
#define HN_EXEC_CACHE_KEYS_H

#include "../cache/cache_internal.h"
#include "exec_internal.h"

/* Every key of a call: per plan step, per item. */
typedef struct hn__ckeys {
  int64_t n, n_steps;
  hn__hash128 *key;     /* [s * n + i]: step s, item i; zero: cannot be keyed */
  hn__hash128 *ident;   /* per step: its identity (name, version, outputs, nesting) */
  const char **why_not; /* per step: why it is never cached (static text), or NULL */
  int64_t *producer;    /* per plan slot: the step producing it, or -1 (a plan input) */
} hn__ckeys;

/*
 * Compute every key of call x (plan, sources, items), `which` nodes being
 * cacheable (besides their own policy). Returns HN_OK, HN_ENOMEM or a
 * hashing failure; on failure nothing is left to free.
 */
hn_status hn__ckeys_compute(const hn__call *x, hn_cache_nodes which, hn__ckeys *k, hn_error *err);
void hn__ckeys_free(const hn_allocator *a, hn__ckeys *k);
/*
 * The key of a chunk: step s's results for items [first, first + count).
 * skip NULL: every row (what lookups use; the chunk of a later identical
 * call has the same key); else rows with skip[i] set are left out (failed
 * items), and the key differs from every whole chunk's.
 */
hn__hash128 hn__ckeys_chunk(const hn__ckeys *k, int64_t s, int64_t first, int64_t count,
                            const uint8_t *skip);

#endif /* HN_EXEC_CACHE_KEYS_H */
