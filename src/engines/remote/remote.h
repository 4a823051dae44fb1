/*
 * The batch protocol of the engines that run a map away from the calling
 * thread's memory: the processes engine (forked workers over sockets) and
 * the mpi engine (ranks over MPI). Both cut the items into batches:
 *
 *   parent:  hn__batch_encode   mapped inputs of items [first, first+count)
 *                               -> one serialised table (hn_table_serialize)
 *   worker:  hn__batch_worker_run  table -> item executor (item_base = first)
 *                               -> reply: outputs table, error records,
 *                                  event log, RAISE failure, resource counts
 *   parent:  hn__reply_take     reply -> a chunk of the call's collector, error
 *                               records, events replayed on the calling thread
 *
 * Not installed; symbols use hn__. Nothing here is thread-safe unless said.
 */
#ifndef HN_ENGINES_REMOTE_H
#define HN_ENGINES_REMOTE_H

#include "../items/items.h"

/* ---- byte buffers ----------------------------------------------------------- */

/* A growable byte buffer; zero-initialise, free with hn__bytes_free. */
typedef struct hn__bytes {
  uint8_t *data;
  size_t size, cap;
} hn__bytes;

/* Make room for `extra` more bytes after size. HN_ENOMEM on failure. */
hn_status hn__bytes_reserve(const hn_allocator *alloc, hn__bytes *b, size_t extra, hn_error *err);
hn_status hn__bytes_append(const hn_allocator *alloc, hn__bytes *b, const void *p, size_t n,
                           hn_error *err);
void hn__bytes_free(const hn_allocator *alloc, hn__bytes *b);

/* ---- parent side: batches ------------------------------------------------------- */

/*
 * Append to `out` the mapped inputs of items [first, first+count) of x as
 * one serialised table: one column per mapped plan input, named after it,
 * one row per item (product mode expanded). Returns HN_OK, HN_ERANGE or
 * HN_ENOMEM.
 */
hn_status hn__batch_encode(const hn__call *x, int64_t first, int64_t count, hn__bytes *out,
                           hn_error *err);

/*
 * Append to `out` the broadcast (CONST) inputs of x as one serialised
 * one-row table, one column per CONST plan input (mpi: sent once per map).
 */
hn_status hn__consts_encode(const hn__call *x, hn__bytes *out, hn_error *err);

/* ---- worker side ---------------------------------------------------------------- */

typedef struct hn__batch_worker hn__batch_worker;

/* Called before each item (node NULL) and before each node call of a batch. */
typedef void (*hn__announce_fn)(void *user_data, int64_t item, const char *node);

/*
 * A worker's state across the batches of one map. `x` is the map as the
 * worker sees it (borrowed for the worker's life): plan, srcs (CONST values
 * and RESOURCE definitions are used; MAPPED sources are replaced by each
 * batch's columns), policy, is_map, zip, alloc, and cb: which events the
 * caller wants (they are recorded into the reply, not called here; NULL:
 * none). Batches run on `pool`'s threads (borrowed; resources are then per
 * worker thread), or on the calling thread when it is NULL. Resource
 * instances are built by the first batch that needs them and live until
 * destroy.
 */
hn_status hn__batch_worker_create(const hn__call *x, hn__pool *pool, hn__batch_worker **out,
                                  hn_error *err);

/* Replace the CONST sources by the columns of a hn__consts_encode table. */
hn_status hn__batch_worker_set_consts(hn__batch_worker *bw, const void *data, size_t size,
                                      hn_error *err);

/* Install the announce hook (NULL: none); it runs on the thread running the item. */
void hn__batch_worker_set_announce(hn__batch_worker *bw, hn__announce_fn fn, void *user_data);

/*
 * Run the batch `in` (a hn__batch_encode table of items [first,
 * first+count)) and write the reply into `reply` (reset first). A node
 * failure under RAISE is not an error here: it travels in the reply. A
 * non-OK return is a failure of the worker itself (a corrupt batch, no
 * memory): err names it and no reply is written.
 */
hn_status hn__batch_worker_run(hn__batch_worker *bw, int64_t first, int64_t count, const void *in,
                               size_t in_size, hn__bytes *reply, hn_error *err);

/*
 * Destroy the live resource instances (on the calling thread) and free the
 * worker. *inits and *destroys (may be NULL) receive the totals over its life.
 */
void hn__batch_worker_destroy(hn__batch_worker *bw, int64_t *inits, int64_t *destroys);

/* ---- parent side: taking replies ------------------------------------------------ */

/* Where a reply comes from, as its replayed events say it (hn_event). */
typedef struct hn__origin {
  int worker;  /* hn_event.worker: the worker process, or the serving rank - 1 */
  int process; /* hn_event.process: the worker process, or -1 */
  int rank;    /* hn_event.rank: the rank that ran the batch */
} hn__origin;

/*
 * Take the reply for items [first, first+count) of x produced by `from`:
 * its outputs become a chunk of x's collector `col`, its error records are
 * added, its events are replayed to x->cb on the calling thread (worker,
 * process and rank from `from`; thread, times and the rest as recorded), a
 * node failure under raise goes to the collector (the lowest failing item
 * wins). Returns HN_ECORRUPT (a malformed reply), HN_ENOMEM, else HN_OK.
 */
hn_status hn__reply_take(hn__collector *col, const hn__call *x, const hn__origin *from,
                         int64_t first, int64_t count, const void *reply, size_t size,
                         hn_error *err);

#endif /* HN_ENGINES_REMOTE_H */
