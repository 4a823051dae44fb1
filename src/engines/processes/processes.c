/*
 * The processes engine: a map runs in forked worker processes, so that a
 * node that crashes, hangs, leaks or is not thread-safe cannot take the
 * calling process down.
 *
 * Fork model. Workers are forked at the start of each run/map call on a
 * processes engine and reaped before the call returns; nothing outlives the
 * call. A worker is a copy of the calling process at that moment: it runs
 * the very same node code, and inherits the call's pipeline, plan, resource
 * definitions and broadcast values copy-on-write (no function or
 * definition is ever serialised). Mapped items travel as serialised batches
 * (hn__batch_encode) over one AF_UNIX SOCK_STREAM socketpair per worker, and
 * replies (outputs, error records, events) come back the same way. Only the
 * forking thread exists in a worker: a lock held by another thread of the
 * caller at fork time stays held forever there, so nodes must not use locks
 * or state owned by other threads. Other file descriptors of the caller are
 * inherited as they are (SOCK_CLOEXEC only matters for exec). Resources are
 * built in each worker process (once per process that needs them) and
 * destroyed when the worker stops; a worker that crashes destroys nothing,
 * and what it built in the batch that killed it is not counted.
 *
 * Workers: min(engine workers, number of batches), each one process running
 * one hn__batch_worker on a sequential engine, with at most one batch in
 * flight (the parent only writes to an idle worker, so neither side can
 * block the other). Batch size: the engine's chunk_size when set, else
 * n_items / (8 * workers) clamped to [1, 4096]: about eight batches per
 * worker balance skewed costs. Measured (debug build, 2 workers, 200,000
 * items of a one-node int64 pipeline): a batch costs about 60-80 us on top
 * of its items (encode, two socket transfers, the executor's setup, the
 * reply), so 16-item batches run at 5 us/item, 256-item ones at 0.5 us/item
 * and 4096-item ones at 0.26 us/item; larger batches gain nothing.
 *
 * Messages: a fixed header (type, status, first, count, payload size) and
 * the payload. Parent to worker: TASK (a batch), STOP. Worker to parent:
 * REPLY (hn__batch_worker_run's reply), FAIL (the worker itself failed: its
 * status and message), BYE (resource instances built and destroyed over the
 * worker's life, after hn__batch_worker_destroy).
 *
 * Announce: one shared anonymous page slot per worker, written by the
 * worker before each item (item index, start time) and each node call
 * (node name) under a sequence lock, read by the parent to name the node
 * and item a crash or timeout hit.
 *
 * Crash isolation: end of stream on a worker's socket (or its exit seen by
 * waitpid) loses its batch. A batch of several items is re-queued as
 * single-item batches ahead of the rest; a lost single-item batch loses
 * that item (hn__collector_add_lost with the announced node and "worker
 * process killed by SIGSEGV (segmentation fault)" or "exited with status
 * N"). A worker whose announced item runs longer than item_timeout is
 * killed (SIGKILL): that item is lost ("timed out after N s"), the rest of
 * its batch is re-queued as single items. A dead worker is replaced while
 * work remains. Under RAISE no batch past the lowest failing item is
 * dispatched; batches in flight drain, workers stop, the failure is
 * reported. Failures of the parent itself (no memory, fork, a FAIL message,
 * a corrupt reply) kill and reap every worker and end the call.
 *
 * Every forked process is reaped and every descriptor closed on every
 * path; when waitpid reports ECHILD (SIGCHLD ignored by the caller) the
 * child was reaped by the system and its status is unknown.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "processes_internal.h"

static hn_status processes_execute(hn__call *x, hn_error *err) {
  hn_status st = HN_OK;
  pool p;
  memset(&p, 0, sizeof p);
  p.x = x;
  p.alloc = x->alloc;
  p.parent = getpid();
  int workers = x->engine->workers > 0 ? x->engine->workers : 1;
  p.batch = hn__proc_batch_size(x, workers);
  int64_t n_batches = (x->n_items + p.batch - 1) / p.batch;
  p.n = n_batches < workers ? (int)n_batches : workers;
  p.col = x->col;
  hn__collector_keep_chunks(p.col, HN__MORSEL_DEFAULT);
  p.w = hn__calloc(&p.alloc, (size_t)p.n, sizeof *p.w);
  if (!p.w) return hn__error_nomem(err, "starting the processes engine");
  for (int i = 0; i < p.n; i++) p.w[i] = (pworker){.pid = 0, .fd = -1};
  long page = sysconf(_SC_PAGESIZE);
  size_t bytes = sizeof(announce_slot) * (size_t)p.n;
  p.map_size = page > 0 ? (bytes + (size_t)page - 1) / (size_t)page * (size_t)page : bytes;
  void *m = mmap(NULL, p.map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    st = hn__error(err, HN_ENOMEM, "processes engine: mmap of %zu bytes failed: %s", p.map_size,
                   strerror(errno));
  } else {
    p.slots = m;
    for (int i = 0; i < p.n; i++) {
      atomic_init(&p.slots[i].seq, 0);
      atomic_init(&p.slots[i].item, -1);
      atomic_init(&p.slots[i].start_ns, 0);
      atomic_init(&p.slots[i].node, NULL);
      atomic_init(&p.slots[i].stray_item, -1);
      atomic_init(&p.slots[i].stray_node, NULL);
      p.slots[i].timed = x->engine->options.item_timeout > 0;
    }
    st = hn__proc_run_pool(&p, err);
  }
  if (st == HN_OK) {
    hn__proc_stop_all(&p);
  } else {
    hn__proc_kill_all(&p);
  }
  if (st == HN_OK) {
    /* Inits came with the replies (per batch); destroys happen after the last one. */
    hn__collector_add_counts(p.col, 0, p.bye_destroys, p.workers_ran);
  }
  if (p.slots) munmap(p.slots, p.map_size);
  hn__free(&p.alloc, p.w);
  hn__free(&p.alloc, p.singles);
  hn__bytes_free(&p.alloc, &p.out);
  hn__bytes_free(&p.alloc, &p.in);
  return st;
}

static hn_status processes_start(hn_engine *e, const hn_engine_options *o, hn_error *err) {
  (void)err;
  e->workers = o->workers;
  return HN_OK;
}

const hn__engine_ops hn__processes_ops = {
    .name = "processes",
    .flags = HN__ENGINE_ACROSS_PROCESSES,
    .start = processes_start,
    .execute = processes_execute,
};
