/*
 * One call on the processes engine, on the parent's side (processes.c's
 * file comment has the design): the CALL message, the work queue and batch
 * sizes, dispatch with INFLIGHT batches per worker, replies, deaths,
 * timeouts, and the END of the call. The parent never blocks on a socket:
 * it writes what a worker's socket takes and reads what has arrived.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "processes_internal.h"

/* ---- the call's description ------------------------------------------------------------ */

/* The newest creation stamp among the objects a worker dereferences: plan and resources. */
static uint64_t call_stamp(const hn__call *x) {
  uint64_t s = x->plan->stamp;
  for (int64_t q = 0; q < x->plan->n_inputs; q++)
    if (x->srcs[q].kind == HN__SRC_RESOURCE && x->srcs[q].resource->stamp > s)
      s = x->srcs[q].resource->stamp;
  return s;
}

/* The CALL payload: call_msg, the inputs' kinds (and resources), the broadcast inputs. */
static hn_status call_message(pool *p, hn_error *err) {
  pcall *c = &p->c;
  const hn__call *x = c->x;
  const hn_allocator *a = &x->alloc;
  call_msg m = {.seq = c->seq,
                .plan = x->plan,
                .alloc = x->alloc,
                .policy = (int32_t)x->policy,
                .events = hn__batch_events_mask(x->cb),
                .is_map = x->is_map,
                .io_workers = x->io_workers,
                .node_timeout = x->node_timeout,
                .n_inputs = x->plan->n_inputs};
  hn_status st = hn__bytes_append(a, &c->msg, &m, sizeof m, err);
  bool consts = false;
  for (int64_t q = 0; q < x->plan->n_inputs && st == HN_OK; q++) {
    const hn__src *src = &x->srcs[q];
    call_input in = {.kind = src->kind};
    if (src->kind == HN__SRC_RESOURCE) {
      in.resource = src->resource;
      c->resources = true;
    }
    consts = consts || src->kind == HN__SRC_CONST;
    st = hn__bytes_append(a, &c->msg, &in, sizeof in, err);
  }
  size_t at = c->msg.size;
  if (st == HN_OK && consts) st = hn__consts_encode(x, &c->msg, err);
  if (st == HN_OK) {
    m.consts_size = c->msg.size - at;
    memcpy(c->msg.data, &m, sizeof m);
  }
  return st;
}

/* Mapped input bytes per item, about (at least 1). */
static int64_t bytes_per_item(const hn__call *x) {
  int64_t total = 0;
  for (int64_t q = 0; q < x->plan->n_inputs; q++) {
    const hn__src *s = &x->srcs[q];
    if (s->kind != HN__SRC_MAPPED || s->length == 0) continue;
    total += hn__array_nbytes(s->column) / s->length + 1;
  }
  return total > 0 ? total : 1;
}

/* ---- the work queue and batch sizes ------------------------------------------------------ */

/* Items per batch for `left` items still queued. */
static int64_t batch_size(const pool *p, int64_t left) {
  int64_t size;
  if (p->chunk_size > 0) {
    size = p->chunk_size;
  } else {
    /* Guided: the rest spread over every worker's batches in flight, so the tail balances. */
    int64_t guided = (left + (int64_t)INFLIGHT * p->cap - 1) / ((int64_t)INFLIGHT * p->cap);
    if (p->est_items <= 0) {
      size = guided < PROBE_ITEMS ? guided : PROBE_ITEMS;
    } else {
      double per = p->est_ns_sum / p->est_items;
      if (per < 1) per = 1;
      double want = TARGET_BATCH_NS / per, floor = MIN_BATCH_NS / per;
      size = want < (double)BATCH_MAX_ITEMS ? (int64_t)want : BATCH_MAX_ITEMS;
      if (guided < size) size = (double)guided > floor ? guided : (int64_t)floor;
    }
    int64_t wave = hn__io_wave(p->c.x); /* io nodes: a batch holds a wave of calls in flight */
    if (size < wave) size = wave;
    int64_t by_bytes = BATCH_MAX_BYTES / p->c.bytes_per_item;
    if (size > by_bytes) size = by_bytes;
    if (size > BATCH_MAX_ITEMS) size = BATCH_MAX_ITEMS;
  }
  if (size < 1) size = 1;
  return size < left ? size : left;
}

/* A batch's measured time: the estimate of an item's cost for this plan. */
static void measure(pool *p, int64_t count, int64_t run_ns) {
  if (count <= 0 || run_ns <= 0) return;
  p->est_ns_sum += (double)run_ns;
  p->est_items += (double)count;
  if (p->est_items > 4e6) { /* forget slowly: recent batches weigh more */
    p->est_ns_sum /= 2;
    p->est_items /= 2;
  }
}

static bool has_work(const pool *p) {
  const pcall *c = &p->c;
  int64_t limit = hn__collector_failed_item(c->col);
  for (int64_t k = 0; k < c->rq_n; k++)
    if (c->requeue[(c->rq_head + k) % c->rq_cap].first < limit) return true;
  return c->next_item < c->x->n_items && c->next_item < limit;
}

/* The next batch to dispatch, or false. Nothing at or past the lowest failing item. */
static bool next_task(pool *p, batch_ref *b) {
  pcall *c = &p->c;
  int64_t limit = hn__collector_failed_item(c->col);
  while (c->rq_n > 0) {
    batch_ref r = c->requeue[c->rq_head];
    c->rq_head = (c->rq_head + 1) % c->rq_cap;
    c->rq_n--;
    if (r.first >= limit) continue;
    if (r.count > limit - r.first) r.count = limit - r.first;
    *b = r;
    return true;
  }
  if (c->next_item >= c->x->n_items || c->next_item >= limit) return false;
  int64_t left = c->x->n_items - c->next_item;
  *b = (batch_ref){c->next_item, batch_size(p, left)};
  c->next_item += b->count;
  return true;
}

static hn_status requeue_push(pool *p, batch_ref r, hn_error *err) {
  pcall *c = &p->c;
  if (c->rq_n == c->rq_cap) {
    int64_t cap = c->rq_cap ? c->rq_cap * 2 : 16;
    batch_ref *q = hn__calloc(&p->alloc, (size_t)cap, sizeof *q);
    if (!q) return hn__error_nomem(err, "re-queueing the items of a lost batch");
    for (int64_t k = 0; k < c->rq_n; k++) q[k] = c->requeue[(c->rq_head + k) % c->rq_cap];
    hn__free(&p->alloc, c->requeue);
    c->requeue = q;
    c->rq_head = 0;
    c->rq_cap = cap;
  }
  c->requeue[(c->rq_head + c->rq_n) % c->rq_cap] = r;
  c->rq_n++;
  return HN_OK;
}

/* Re-queue a batch's items one by one: the item that kills a worker is unknown. */
static hn_status requeue_singles(pool *p, batch_ref b, hn_error *err) {
  hn_status st = HN_OK;
  for (int64_t i = b.first; i < b.first + b.count && st == HN_OK; i++)
    st = requeue_push(p, (batch_ref){i, 1}, err);
  return st;
}

/*
 * Re-queue batch b around item `at`: the items before it and after it as
 * two batches, and `at` itself alone unless it is `lost` (already failed).
 */
static hn_status requeue_around(pool *p, batch_ref b, int64_t at, bool lost, hn_error *err) {
  hn_status st = HN_OK;
  if (at > b.first) st = requeue_push(p, (batch_ref){b.first, at - b.first}, err);
  if (st == HN_OK && !lost) st = requeue_push(p, (batch_ref){at, 1}, err);
  int64_t end = b.first + b.count;
  if (st == HN_OK && at + 1 < end) st = requeue_push(p, (batch_ref){at + 1, end - at - 1}, err);
  return st;
}

/* ---- messages from a worker ------------------------------------------------------------- */

static hn_status on_message(pool *p, int i, hn_error *err) {
  pworker *w = &p->w[i];
  pcall *c = &p->c;
  const msg_header *h = &w->in.h;
  if (h->type == MSG_REPLY && w->n_fl > 0 && h->first == w->fl[0].first &&
      h->count == w->fl[0].count) {
    w->n_fl--;
    memmove(&w->fl[0], &w->fl[1], sizeof w->fl[0] * (size_t)w->n_fl);
    w->ran = true;
    int64_t run_ns = 0;
    hn__origin from = {.worker = i, .process = i, .rank = 0};
    hn_status st =
        hn__reply_take_buffer(c->col, c->x, &from, h->first, h->count, w->in.body, &run_ns, err);
    if (st == HN_OK) measure(p, h->count, run_ns);
    return st;
  }
  if (h->type == MSG_DONE && w->ending) {
    w->ending = false;
    c->destroys += h->count; /* first: instances built, already counted batch by batch */
    return HN_OK;
  }
  if (h->type == MSG_FAIL) {
    size_t n = w->in.body ? (size_t)hn_buffer_size(w->in.body) : 0;
    const char *m = w->in.body ? (const char *)hn_buffer_data(w->in.body) : "";
    hn_status code =
        h->status > 0 && h->status <= HN__STATUS_LAST ? (hn_status)h->status : HN_EINTERNAL;
    return hn__error(err, code, "processes engine: worker process %d failed: %.*s", i,
                     (int)(n < 400 ? n : 400), m);
  }
  return hn__error(err, HN_ECORRUPT, "processes engine: unexpected message %u from worker %d",
                   h->type, i);
}

/*
 * Read what worker i sent. *gone: its stream ended (or broke); the caller
 * handles the death. Complete messages are handled first.
 */
static hn_status read_worker(pool *p, int i, bool *gone, hn_error *err) {
  pworker *w = &p->w[i];
  *gone = false;
  for (;;) {
    bool ready = false;
    int rc = hn__proc_in_read(w->fd, &p->c.x->alloc, &w->in, &ready);
    if (rc == RECV_NOMEM)
      return hn__error(err, HN_ENOMEM, "processes engine: out of memory receiving %llu bytes",
                       (unsigned long long)w->in.h.size);
    if (rc == RECV_GONE) {
      *gone = true;
      return HN_OK;
    }
    if (!ready) return HN_OK;
    hn_status st = on_message(p, i, err);
    hn__proc_in_reset(&w->in);
    if (st != HN_OK) return st;
  }
}

/* ---- deaths and timeouts ------------------------------------------------------------------ */

/* Make sure the process of slot i has ended (SIGKILL) and reap it: its status, -1 if unknown. */
static int end_process(pworker *w) {
  int status = -1;
  if (w->pid <= 0) return status;
  kill(w->pid, SIGKILL);
  pid_t r;
  do r = waitpid(w->pid, &status, 0);
  while (r < 0 && errno == EINTR);
  w->pid = 0;
  return r < 0 ? -1 : status;
}

/* A node forked and its child returned into the engine on `item`: that item is lost. */
static hn_status stray_lost(pool *p, batch_ref b, int64_t item, const char *name, hn_error *err) {
  const hn_plan *plan = p->c.x->plan;
  char node[HN_ERROR_NODE_MAX], msg[HN_ERROR_MESSAGE_MAX];
  snprintf(node, sizeof node, "%s", name && hn__proc_plan_node_name(plan, name) ? name : "");
  snprintf(msg, sizeof msg,
           "node '%s' forked a child process that returned from the node into the engine "
           "(a node may fork only to exec or _exit in the child); the worker process was "
           "replaced",
           node);
  hn_status st = hn__collector_add_lost(p->c.col, item, node, msg, err);
  return st == HN_OK ? requeue_around(p, b, item, true, err) : st;
}

/*
 * Batch b of worker i is lost with its process. The item that killed it is
 * lost (failed with `message` and the node the worker announced) when it is
 * known to the node: the item that timed out (`timed_out` >= 0), the item
 * of a single-item batch, the item a stray child was forked in with its
 * node. Otherwise the item the worker announced last is re-run alone (which
 * names the node, nodes being announced in single-item batches), the items
 * before and after it as two batches; with no item announced, every item
 * alone. No item runs more than twice this way.
 */
static hn_status batch_lost(pool *p, int i, batch_ref b, int64_t timed_out, const char *message,
                            hn_error *err) {
  pcall *c = &p->c;
  int64_t item, start;
  char node[HN_ERROR_NODE_MAX];
  hn__proc_slot_read(c->x->plan, &p->slots[i], &item, &start, node);
  int64_t stray = atomic_load(&p->slots[i].stray_item);
  const char *name = atomic_load(&p->slots[i].stray_node);
  bool in_b = item >= b.first && item < b.first + b.count;
  if (timed_out < 0 && stray >= b.first && stray < b.first + b.count) {
    if (name || b.count == 1) return stray_lost(p, b, stray, name, err);
    return requeue_around(p, b, stray, false, err);
  }
  if (timed_out >= 0) {
    hn_status st =
        hn__collector_add_lost(c->col, timed_out, item == timed_out ? node : "", message, err);
    return st == HN_OK ? requeue_around(p, b, timed_out, true, err) : st;
  }
  if (b.count == 1) return hn__collector_add_lost(c->col, b.first, in_b ? node : "", message, err);
  return in_b ? requeue_around(p, b, item, false, err) : requeue_singles(p, b, err);
}

/*
 * The process of slot i has ended (`status` from waitpid, -1 unknown). What
 * it replied before it ended is taken first; then its oldest batch in flight
 * is lost (batch_lost, with `why` or its exit status), younger ones never
 * started and are re-queued whole, and the slot is emptied.
 */
static hn_status on_death(pool *p, int i, int status, int64_t timed_out, const char *why,
                          hn_error *err) {
  pworker *w = &p->w[i];
  bool gone = false;
  hn_status st = w->fd >= 0 ? read_worker(p, i, &gone, err) : HN_OK;
  char msg[HN_ERROR_MESSAGE_MAX];
  if (why)
    snprintf(msg, sizeof msg, "%s", why);
  else
    hn__proc_describe_status(status, msg, sizeof msg);
  int at = 0;
  if (timed_out >= 0)
    for (int k = 0; k < w->n_fl; k++)
      if (timed_out >= w->fl[k].first && timed_out < w->fl[k].first + w->fl[k].count) at = k;
  for (int k = 0; k < w->n_fl && st == HN_OK; k++) {
    if (k == at)
      st = batch_lost(p, i, w->fl[k], timed_out, msg, err);
    else
      st = requeue_push(p, w->fl[k], err);
  }
  if (w->ran) p->c.workers_ran++;
  (void)hn__proc_reap(p, i); /* already reaped: closes and empties the slot */
  return st;
}

/* Busy workers whose announced item ran past the timeout are killed; their item is lost. */
static hn_status check_timeouts(pool *p, int64_t now, hn_error *err) {
  if (p->item_timeout <= 0) return HN_OK;
  for (int i = 0; i < p->cap; i++) {
    pworker *w = &p->w[i];
    if (w->pid <= 0 || w->n_fl == 0) continue;
    int64_t item, start;
    char node[HN_ERROR_NODE_MAX];
    hn__proc_slot_read(p->c.x->plan, &p->slots[i], &item, &start, node);
    bool mine = false;
    for (int k = 0; k < w->n_fl; k++)
      mine = mine || (item >= w->fl[k].first && item < w->fl[k].first + w->fl[k].count);
    if (!mine || (double)(now - start) < p->item_timeout * 1e9) continue;
    char msg[64];
    snprintf(msg, sizeof msg, "timed out after %g s", p->item_timeout);
    int status = end_process(w);
    hn_status st = on_death(p, i, status, item, msg, err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Busy workers that exited without their socket ending (a copy of it held elsewhere). */
static hn_status check_exits(pool *p, hn_error *err) {
  for (int i = 0; i < p->cap; i++) {
    pworker *w = &p->w[i];
    if (w->pid <= 0 || (w->n_fl == 0 && !w->ending)) continue;
    int status = 0;
    pid_t r = waitpid(w->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno != ECHILD)) continue;
    w->pid = 0; /* reaped */
    hn_status st = on_death(p, i, r < 0 ? -1 : status, -1, NULL, err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Poll wait: up to the earliest item deadline (with timeouts), else POLL_IDLE_MS. */
static int poll_wait_ms(pool *p, int64_t now) {
  if (p->item_timeout <= 0) return POLL_IDLE_MS;
  int64_t wait = (int64_t)POLL_TIMEOUT_MAX_MS * 1000000;
  for (int i = 0; i < p->cap; i++) {
    pworker *w = &p->w[i];
    if (w->pid <= 0 || w->n_fl == 0) continue;
    int64_t item, start;
    char node[HN_ERROR_NODE_MAX];
    hn__proc_slot_read(p->c.x->plan, &p->slots[i], &item, &start, node);
    if (item < w->fl[0].first || item >= w->fl[w->n_fl - 1].first + w->fl[w->n_fl - 1].count)
      continue;
    int64_t left = start + (int64_t)(p->item_timeout * 1e9) - now;
    if (left < wait) wait = left;
  }
  return wait <= 0 ? 0 : (int)((wait + 999999) / 1000000);
}

/* ---- dispatch and the loop ---------------------------------------------------------------- */

/* Write what worker i's socket takes now; a broken socket is its death. */
static hn_status flush_worker(pool *p, int i, hn_error *err) {
  pworker *w = &p->w[i];
  if (hn__proc_flush(w->fd, &w->out) == RECV_OK) return HN_OK;
  int status = end_process(w);
  return on_death(p, i, status, -1, NULL, err);
}

/* Queue on worker i the call's CALL (once) and batch b, and write what the socket takes. */
static hn_status send_batch(pool *p, int i, batch_ref b, hn_error *err) {
  pworker *w = &p->w[i];
  pcall *c = &p->c;
  hn_buffer *task = NULL;
  hn_status st = hn__batch_encode_buffer(c->x, b.first, b.count, &task, err);
  if (st != HN_OK) return st;
  if (w->call_seq != c->seq) {
    (void)hn__proc_queue_msg(&w->out, MSG_CALL, 0, 0, 0, c->msg.data, c->msg.size, NULL);
    w->call_seq = c->seq;
  }
  /* Node calls are announced only where a node must be named: the item that
   * timed out, or the single item of a batch (a crash in a larger batch
   * re-runs its announced item alone; an announce per node call costs). */
  int32_t flags = p->item_timeout > 0 || b.count == 1 ? TASK_ANNOUNCE_NODES : 0;
  (void)hn__proc_queue_msg(&w->out, MSG_TASK, flags, b.first, b.count, hn_buffer_data(task),
                           (size_t)hn_buffer_size(task), task);
  hn_buffer_release(task);
  w->fl[w->n_fl++] = b;
  return flush_worker(p, i, err);
}

/* Give every worker (forking one into an empty slot) up to INFLIGHT batches while work remains. */
static hn_status dispatch(pool *p, hn_error *err) {
  for (int round = 1; round <= INFLIGHT; round++)
    for (int i = 0; i < p->cap; i++) {
      pworker *w = &p->w[i];
      if (w->ending || w->n_fl >= round || !has_work(p)) continue;
      if (w->pid <= 0) {
        hn_status st = hn__proc_spawn(p, i, err);
        if (st != HN_OK) return st;
      }
      batch_ref b;
      if (!next_task(p, &b)) return HN_OK;
      hn_status st = send_batch(p, i, b, err);
      if (st != HN_OK) return st;
    }
  return HN_OK;
}

/* Handle poll's news for worker i. */
static hn_status on_ready(pool *p, int i, short revents, hn_error *err) {
  pworker *w = &p->w[i];
  if (w->pid <= 0) return HN_OK; /* ended while handling another worker */
  if (revents & POLLOUT) {
    hn_status st = flush_worker(p, i, err);
    if (st != HN_OK || w->pid <= 0) return st;
  }
  if (!(revents & (POLLIN | POLLHUP | POLLERR))) return HN_OK;
  bool gone = false;
  hn_status st = read_worker(p, i, &gone, err);
  if (st != HN_OK || !gone) return st;
  int status = end_process(w); /* end of stream or a torn message: the worker died */
  return on_death(p, i, status, -1, NULL, err);
}

/* Dispatch and take replies until nothing is queued, in flight or ending. */
static hn_status run_loop(pool *p, hn_error *err) {
  struct pollfd *fds = hn__calloc(&p->alloc, (size_t)p->cap, sizeof *fds);
  int *idx = hn__calloc(&p->alloc, (size_t)p->cap, sizeof *idx);
  hn_status st = fds && idx ? HN_OK : hn__error_nomem(err, "running the processes engine");
  while (st == HN_OK) {
    if (hn__call_stopped(p->c.x) != HN_OK) { /* cancelled or out of time: the workers are killed */
      st = hn__stop_error(p->c.x->stop, err);
      break;
    }
    st = dispatch(p, err);
    if (st != HN_OK) break;
    int n = 0;
    for (int i = 0; i < p->cap; i++) {
      pworker *w = &p->w[i];
      if (w->pid <= 0 || (w->n_fl == 0 && !w->ending && w->out.n == 0)) continue;
      fds[n] = (struct pollfd){.fd = w->fd, .events = (short)(POLLIN | (w->out.n ? POLLOUT : 0))};
      idx[n++] = i;
    }
    if (n == 0) {
      /* A worker that died as it was sent its last batch re-queued it: dispatch again. */
      if (has_work(p)) continue;
      break; /* nothing in flight and nothing left to dispatch */
    }
    int ms = poll_wait_ms(p, hn__proc_mono_ns());
    if (p->c.x->stop && ms > POLL_STOP_MS) ms = POLL_STOP_MS;
    int r = poll(fds, (nfds_t)n, ms);
    if (r < 0 && errno != EINTR) {
      st = hn__error(err, HN_EIO, "processes engine: poll failed: %s", strerror(errno));
      break;
    }
    for (int k = 0; r > 0 && k < n && st == HN_OK; k++)
      if (fds[k].revents) st = on_ready(p, idx[k], fds[k].revents, err);
    if (st == HN_OK) st = check_timeouts(p, hn__proc_mono_ns(), err);
    if (st == HN_OK && r == 0) st = check_exits(p, err);
  }
  hn__free(&p->alloc, fds);
  hn__free(&p->alloc, idx);
  return st;
}

/* END the call on every worker that got it: its resource instances go, DONE counts them. */
static hn_status end_call(pool *p, hn_error *err) {
  hn_status st = HN_OK;
  for (int i = 0; i < p->cap && st == HN_OK; i++) {
    pworker *w = &p->w[i];
    if (w->pid <= 0 || w->call_seq != p->c.seq) continue;
    (void)hn__proc_queue_msg(&w->out, MSG_END, 0, 0, 0, NULL, 0, NULL);
    w->ending = true;
    st = flush_worker(p, i, err);
  }
  return st == HN_OK ? run_loop(p, err) : st;
}

/* ---- the entry --------------------------------------------------------------------------------
 */

static hn_status call_start(pool *p, hn__call *x, hn_error *err) {
  pcall *c = &p->c;
  memset(c, 0, sizeof *c);
  c->x = x;
  c->col = x->col;
  c->seq = ++p->seq;
  c->stamp = call_stamp(x);
  c->bytes_per_item = bytes_per_item(x);
  if (p->est_stamp != x->plan->stamp) { /* another plan: its items' cost is unknown */
    p->est_stamp = x->plan->stamp;
    p->est_ns_sum = p->est_items = 0;
  }
  hn__collector_keep_chunks(c->col, KEEP_BATCH_ROWS);
  hn_status st = hn__proc_pool_prepare(p, c->stamp, err);
  for (int i = 0; i < p->cap; i++) {
    p->w[i].ran = p->w[i].ending = false;
    p->w[i].n_fl = 0;
  }
  return st == HN_OK ? call_message(p, err) : st;
}

hn_status hn__proc_run_call(pool *p, hn__call *x, hn_error *err) {
  pcall *c = &p->c;
  hn_status st = call_start(p, x, err);
  if (st == HN_OK) st = run_loop(p, err);
  if (st == HN_OK && c->resources) st = end_call(p, err);
  if (st == HN_OK) {
    int ran = c->workers_ran;
    for (int i = 0; i < p->cap; i++) ran += p->w[i].pid > 0 && p->w[i].ran ? 1 : 0;
    /* Inits came with the replies (per batch); destroys with DONE. */
    hn__collector_add_counts(c->col, 0, c->destroys, ran);
  } else {
    hn__proc_kill_all(p); /* a failure of the parent itself: nothing half-done survives */
  }
  hn__bytes_free(&x->alloc, &c->msg);
  hn__free(&p->alloc, c->requeue);
  memset(c, 0, sizeof *c);
  return st;
}
