/*
 * A pool of persistent worker threads that run one task at a time on every
 * worker (fork-join): the threads and columnar engines' workers. Not
 * installed; symbols use hn__.
 *
 * Thread safety: hn__pool_run may be called by one thread at a time (the
 * engine's busy flag guarantees it); create and destroy are not concurrent
 * with anything.
 */
#ifndef HN_BASE_POOL_H
#define HN_BASE_POOL_H

#include "base_internal.h"

typedef struct hn__pool hn__pool;

/* A task run once on every worker: fn(arg, worker index). */
typedef void (*hn__pool_fn)(void *arg, int worker);

/*
 * Start `workers` threads (>= 1). Returns HN_OK, or HN_ENOMEM (allocation,
 * or a thread/mutex that could not be created: err says which) with
 * nothing left running.
 */
hn_status hn__pool_create(const hn_allocator *alloc, int workers, hn__pool **out, hn_error *err);
/* Stop and join the threads and free the pool. NULL is a no-op. */
void hn__pool_destroy(hn__pool *pool);
/* Run fn on every worker and return when all of them have finished it. */
void hn__pool_run(hn__pool *pool, hn__pool_fn fn, void *arg);
/* The number of workers (0 for a NULL pool). */
int hn__pool_size(const hn__pool *pool);

#endif /* HN_BASE_POOL_H */
