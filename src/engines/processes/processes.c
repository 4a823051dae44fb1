/*
 * The processes engine: a map runs in forked worker processes, so that a
 * node that crashes, hangs, leaks or is not thread-safe cannot take the
 * calling process down.
 *
 * Pool lifetime. The engine keeps a pool of worker processes (at most its
 * `workers`), forked when a call first needs one and kept between calls, so
 * that a repeated map pays no fork. A worker is a copy of the calling
 * process at the moment it was forked: it runs the very same node code and
 * sees the pipelines, plans, nodes (functions, user_data) and resource
 * definitions that existed then. Plans and resources carry a creation
 * stamp (hn__stamp_next, taken once they are fully built; plans are
 * immutable and are dropped, never changed, when their pipeline changes),
 * and a worker records hn__stamp_now() when it is forked; a call needs
 * stamp(plan) and the stamp of each resource it binds to be at most the
 * worker's. Before each call the pool retires (STOP, reap) every worker
 * that cannot serve it, and the workers that died while idle; new ones are
 * forked as the call needs them. So a new pipeline, a changed pipeline (a
 * node added, a value bound: a new plan), new resources or new inputs
 * objects holding resources re-fork the pool; the same pipeline with new
 * inputs, broadcast values or options does not. A worker is also retired
 * before a call from another thread than the one that forked it: its death
 * signal (PR_SET_PDEATHSIG) follows the forking thread, which may end.
 * Consequence (documented in docs/pipelines.md): state a node reads from
 * memory that the caller changes between calls (globals, what user_data
 * points to) is seen as it was when the worker was forked.
 *
 * What travels per call: a CALL message to each worker before its first
 * batch of the call (the plan and resources as pointers, which the stamps
 * make valid in the worker; each input's source kind; the policy; which
 * events the caller records; the call's allocator; the broadcast inputs as
 * a serialised table), then its batches: mapped items as serialised tables
 * (hn__batch_encode_buffer: zip slices, product gathers). Replies carry
 * outputs, error records, the event log and the time the batch ran.
 *
 * Resources are built per call inside each worker that needs them (at the
 * first batch of the call) and destroyed when the call ends: the parent
 * sends END to every worker that got the call and waits for DONE with the
 * counts, so resource_inits == resource_destroys after every call (a
 * crashed worker destroys nothing, and what it built in the batch that
 * killed it is not counted). Calls without resources pay no END round trip.
 *
 * Batches: the engine's chunk_size when set; else sized from the measured
 * cost of an item (the workers time each batch; the estimate is kept for
 * the next calls of the same plan): about TARGET_BATCH_NS of items, at most
 * the rest spread over every worker's INFLIGHT batches (guided, so the tail
 * balances) but not under MIN_BATCH_NS, at most BATCH_MAX_BYTES of mapped
 * input; PROBE_ITEMS items while the cost is unknown. Each worker has up to
 * INFLIGHT (two) batches in flight, so it starts the next batch while the
 * parent takes the previous reply; the parent never blocks on a socket
 * (messages.c), so neither side can block the other. Replies are received
 * into 64-byte aligned buffers and read in place: no copy after the socket.
 * Measured (debug build, 2 workers, 200,000 items of a one-node int64
 * pipeline, before this design): a batch cost about 60-80 us on top of its
 * items, hence batches of milliseconds.
 *
 * Announce: one shared anonymous slot (a cache line) per worker, written
 * by the worker before each item (item index, start time) and, where a
 * node must be named, each node call (node name) under a sequence lock,
 * cleared before each batch, read by the parent to name the node
 * and item a crash or timeout hit.
 *
 * Crash isolation: end of stream on a worker's socket (or its exit seen by
 * waitpid) ends it; replies it sent before are taken; its oldest batch in
 * flight is lost, younger ones never started and are re-queued whole. In a
 * lost batch of several items the item the worker announced last is re-run
 * alone, the items before and after it as two batches, ahead of the rest
 * (no item announced: every item alone); a lost single-item batch loses
 * that item (hn__collector_add_lost with the announced node and "worker
 * process killed by SIGSEGV (segmentation fault)" or "exited with status
 * N"). Node calls are announced only in single-item batches and with item
 * timeouts. A worker whose announced item runs longer than item_timeout is
 * killed (SIGKILL): that item is lost ("timed out after N s"), the items
 * before and after it are re-queued. A dead worker is replaced while work
 * remains. Under RAISE no batch past the lowest failing item is
 * dispatched; batches in flight drain and the failure is reported; the
 * workers stay. Failures of the parent itself (no memory, fork, a FAIL
 * message, a corrupt reply) kill and reap every worker and end the call.
 *
 * No leftovers: every forked process is reaped and every descriptor closed
 * by the engine: a replaced worker at once, the pool's workers when the
 * engine is destroyed (STOP, then waitpid); between calls the pool holds
 * one socket per live worker and no exited child. A copy of the calling
 * process (a fork of it) that uses or destroys the engine never touches
 * the original's workers: it closes its copies of their sockets. When
 * waitpid reports ECHILD (SIGCHLD ignored by the caller) the child was
 * reaped by the system and its status is unknown.
 */
#define _GNU_SOURCE
#include "processes_internal.h"

static hn_status processes_execute(hn__call *x, hn_error *err) {
  return hn__proc_run_call(x->engine->state, x, err);
}

static hn_status processes_start(hn_engine *e, const hn_engine_options *o, hn_error *err) {
  e->workers = o->workers;
  pool *p = hn__calloc(&e->alloc, 1, sizeof *p);
  if (!p) return hn__error_nomem(err, "starting the processes engine");
  e->state = p;
  return hn__proc_pool_init(p, &e->alloc, o, err);
}

static void processes_stop(hn_engine *e) {
  pool *p = e->state;
  if (!p) return;
  hn__proc_pool_free(p);
  hn__free(&e->alloc, p);
  e->state = NULL;
}

const hn__engine_ops hn__processes_ops = {
    .name = "processes",
    .flags = HN__ENGINE_ACROSS_PROCESSES,
    .start = processes_start,
    .stop = processes_stop,
    .execute = processes_execute,
};
