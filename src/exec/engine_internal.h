/*
 * Internal contract between the engine files of src/exec: the engine handle
 * and its worker pool (engine.c), the per-call context (context.c), per-worker
 * resource instances (resources.c), array concatenation (concat.c), the
 * item-major executor (executor.c) and run/map (run.c). Not installed;
 * symbols use hn__.
 */
#ifndef HN_ENGINE_INTERNAL_H
#define HN_ENGINE_INTERNAL_H

#include <stdatomic.h>

#include "../base/pool.h"
#include "exec_internal.h"

/* ---- engine and worker pool (engine.c) ------------------------------------ */

/* A task run once on every worker of the engine: fn(arg, worker index). */
typedef hn__pool_fn hn__worker_fn;

/*
 * An engine. The threads kind owns `workers` persistent threads, created by
 * hn_engine_create and joined by hn_engine_destroy; the sequential kind runs
 * everything on the calling thread as worker 0.
 */
struct hn_engine {
  hn_allocator alloc;
  hn_engine_kind kind;
  int workers;        /* 1 for sequential */
  int64_t chunk_size; /* 0: automatic */
  double item_timeout; /* processes: seconds, 0: none */
  /* Mpi kind only (mpi.c): the plugin's transport, this rank, the world
   * size, the threads engine items run on inside this rank, the chunk
   * timeout in seconds (0: none). */
  const struct hn__mpi_transport *mpi;
  int rank, ranks;
  hn_engine *local;
  double chunk_timeout;
  atomic_bool busy;   /* one run/map at a time */
  hn__pool *pool;     /* threads and columnar kinds: the worker threads; else NULL */
};

/* Make `engine` a sequential engine without threads (for run/map with engine NULL). */
void hn__engine_init_sequential(hn_engine *engine, const hn_allocator *alloc);
/* Claim the engine for one call; HN_EINVAL when it is already serving one. */
hn_status hn__engine_acquire(hn_engine *engine, hn_error *err);
void hn__engine_release(hn_engine *engine);
/* Run fn on every worker and wait for all of them (sequential: fn(arg, 0) here). */
void hn__engine_run_workers(hn_engine *engine, hn__worker_fn fn, void *arg);

/* ---- per-call context (context.c) ----------------------------------------- */

enum {
  HN__CTX_ARENA_USED = 1, /* hn_ctx_arena was called: reset the arena after the call */
  HN__CTX_MESSAGE = 2     /* hn_ctx_fail recorded a message */
};

/* The context a worker hands to every node call; one per worker. */
struct hn_ctx {
  unsigned flags; /* HN__CTX_*; zero on the fast path */
  int worker;
  hn_arena *arena;    /* created lazily by hn_ctx_arena */
  hn_allocator alloc; /* for the arena */
  bool arena_failed;  /* creating the arena failed: hn_ctx_arena returns NULL */
  char message[HN_ERROR_MESSAGE_MAX];
};

void hn__ctx_init(hn_ctx *ctx, const hn_allocator *alloc, int worker);
void hn__ctx_destroy(hn_ctx *ctx);
/* After a node call with flags set: reset the arena, forget a stale message on success. */
void hn__ctx_after_call(hn_ctx *ctx, hn_status st);

/* ---- checks after a node call (node_checks.c) ------------------------------ */

/*
 * A node call returned `st` (not HN_OK): writes its message into msg (the
 * context's hn_ctx_fail message, consumed, else "returned HN_X: ..." or, for
 * a value that is no hn_status, "returned 42, which is not an hn_status
 * (reported as HN_ENODE)") and returns the code to report (st, or HN_ENODE).
 */
hn_status hn__call_failure(hn_ctx *ctx, hn_status st, char *msg, size_t cap);
/* "node 'f' appended n values to output 'y' (expected 1)". */
void hn__appended_message(const hn_gnode *node, int64_t output, int64_t n, char *msg, size_t cap);
/*
 * After a row call: true when every list or struct output of `node` holds
 * exactly what its closed elements account for; else writes a message
 * naming node, output and child into msg and returns false.
 */
bool hn__outputs_closed(const hn_gnode *node, hn_builder *const *outs, char *msg, size_t cap);

/* ---- executor (executor.c) ------------------------------------------------ */

/*
 * Run every item on the engine's workers. On failure err is filled (for a
 * node failure under RAISE: node, item path and the node's message) and no
 * result is kept. Resource instances are destroyed before returning.
 */
hn_status hn__execute(hn__exec *x, hn_error *err);

/* ---- columnar executor (columnar.c) --------------------------------------- */

/* Default morsel size of the columnar engine (engine chunk_size 0). */
#define HN__MORSEL_DEFAULT 65536

/*
 * The columnar entry point: the same contract as hn__execute (same results,
 * error records, callbacks at map level), but the plan runs node by node
 * over morsels of rows on the engine's workers.
 */
hn_status hn__execute_columnar(hn__exec *x, hn_error *err);

#endif /* HN_ENGINE_INTERNAL_H */
