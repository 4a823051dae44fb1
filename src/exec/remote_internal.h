/*
 * Internal contract of the engines that run a map away from the calling
 * thread's memory: the processes engine (processes.c, forked workers over
 * sockets) and the mpi engine (mpi.c, ranks over MPI). Both cut the items
 * into batches and share one batch protocol (batch.c):
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
#ifndef HN_REMOTE_INTERNAL_H
#define HN_REMOTE_INTERNAL_H

#include "engine_internal.h"

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

/* ---- checks ------------------------------------------------------------------- */

/*
 * Values that would cross a process boundary: every mapped and broadcast
 * input (resources excepted: they are built on the worker) and every
 * requested output. HN_ETYPE naming the first one whose type holds an
 * object (at any depth), e.g. "input 'model' is of type object: objects
 * cannot cross a process boundary (processes engine); pass per-worker
 * state as a resource". `engine` names the engine in the message.
 */
hn_status hn__check_portable(const hn__exec *x, const char *engine, hn_error *err);

/* ---- parent side: batches ------------------------------------------------------- */

/*
 * Append to `out` the mapped inputs of items [first, first+count) of x as
 * one serialised table: one column per mapped plan input, named after it,
 * one row per item (product mode expanded). Returns HN_OK, HN_ERANGE or
 * HN_ENOMEM.
 */
hn_status hn__batch_encode(const hn__exec *x, int64_t first, int64_t count, hn__bytes *out,
                           hn_error *err);

/*
 * Append to `out` the broadcast (CONST) inputs of x as one serialised
 * one-row table, one column per CONST plan input (mpi: sent once per map).
 */
hn_status hn__consts_encode(const hn__exec *x, hn__bytes *out, hn_error *err);

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
 * none). `local` (borrowed) is the engine batches run on: sequential, or
 * threads (then resources are per worker thread). Resource instances are
 * built by the first batch that needs them and live until destroy.
 */
hn_status hn__batch_worker_create(const hn__exec *x, hn_engine *local, hn__batch_worker **out,
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
hn_status hn__batch_worker_run(hn__batch_worker *bw, int64_t first, int64_t count,
                               const void *in, size_t in_size, hn__bytes *reply, hn_error *err);

/*
 * Destroy the live resource instances (on the calling thread) and free the
 * worker. *inits and *destroys (may be NULL) receive the totals over its life.
 */
void hn__batch_worker_destroy(hn__batch_worker *bw, int64_t *inits, int64_t *destroys);

/* ---- parent side: taking replies ------------------------------------------------ */

/*
 * Take the reply for items [first, first+count) of x produced by worker
 * index `worker`: its outputs become a chunk of x's collector `col`, its
 * error records are added, its events are replayed to x->cb on the calling
 * thread (event.worker = `worker`), a node failure under raise goes to the
 * collector (the lowest failing item wins). Returns HN_ECORRUPT (a
 * malformed reply), HN_ENOMEM, else HN_OK.
 */
hn_status hn__reply_take(hn__collector *col, const hn__exec *x, int worker, int64_t first,
                         int64_t count, const void *reply, size_t size, hn_error *err);

/* ---- engines ---------------------------------------------------------------------- */

/* The processes engine's entry point (same contract as hn__execute). */
hn_status hn__execute_processes(hn__exec *x, hn_error *err);

/*
 * The mpi engine (mpi.c). hn__mpi_engine_start joins MPI through the plugin
 * (loading it when needed), checks the launcher, and creates the local
 * threads engine; hn__mpi_engine_stop undoes it (collective).
 */
hn_status hn__mpi_engine_start(hn_engine *engine, const hn_engine_options *options,
                               hn_error *err);
void hn__mpi_engine_stop(hn_engine *engine);
/*
 * Every rank calls this at the start of each run/map, x NULL with `local`
 * the failure when the call failed on this rank before it could execute:
 * the ranks exchange their status and plan fingerprint, and every rank
 * returns the same outcome (HN_OK, the first failing rank's error, or
 * HN_EINVAL saying which fingerprint lines differ).
 */
hn_status hn__mpi_agree(hn_engine *engine, const hn__exec *x, hn_status local,
                        const hn_error *local_err, hn_error *err);
/* The mpi entry point after hn__mpi_agree (same contract as hn__execute). */
hn_status hn__execute_mpi(hn__exec *x, hn_error *err);

/* ---- a node that forks in a worker process (fork_guard.c) ------------------------ */

/*
 * Install, in a worker process, the fork handlers that tell a node's child
 * which execs or exits from one that returns into the engine. `item` and
 * `node` are where the worker announces what runs (read when a node forks).
 */
hn_status hn__fork_guard_install(const _Atomic int64_t *item, _Atomic(const char *) const *node,
                                 hn_error *err);
/*
 * Call wherever engine code resumes after node code (before each announce
 * and before each message to the parent). In a child that returned from a
 * node: reports to the worker and _exits, never returning. In the worker:
 * waits for each child forked since the last check to exec, exit or report;
 * returns true when one reported, with the item and node announced when it
 * forked (the stray is reaped). Cheap when no node forked: one branch.
 */
bool hn__fork_guard_check(int64_t *item, const char **node);

/* Name of a signal, e.g. "SIGSEGV (segmentation fault)"; never NULL. */
const char *hn__signal_name(int sig);

#endif /* HN_REMOTE_INTERNAL_H */
