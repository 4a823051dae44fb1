/* The parent's side of the processes engine: spawning, dispatching, deaths and timeouts. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "processes_internal.h"

int64_t hn__proc_batch_size(const hn__call *x, int workers) {
  if (x->engine->options.chunk_size > 0) return x->engine->options.chunk_size;
  int64_t b = x->n_items / ((int64_t)workers * BATCHES_PER_WORKER);
  int64_t wave = hn__io_wave(x); /* io nodes: a batch holds a wave of calls in flight */
  if (b < wave) b = wave;
  return b < 1 ? 1 : b > BATCH_MAX ? BATCH_MAX : b;
}

static bool has_work(const pool *p) {
  int64_t limit = hn__collector_failed_item(p->col);
  for (int64_t i = p->head_singles; i < p->n_singles; i++)
    if (p->singles[i] < limit) return true;
  return p->next_item < p->x->n_items && p->next_item < limit;
}

/* The next batch to dispatch, or false. Nothing past the lowest failing item. */
static bool next_task(pool *p, int64_t *first, int64_t *count) {
  int64_t limit = hn__collector_failed_item(p->col);
  while (p->head_singles < p->n_singles) {
    int64_t item = p->singles[p->head_singles++];
    if (item < limit) {
      *first = item;
      *count = 1;
      return true;
    }
  }
  if (p->next_item >= p->x->n_items || p->next_item >= limit) return false;
  *first = p->next_item;
  int64_t left = p->x->n_items - p->next_item;
  *count = p->batch < left ? p->batch : left;
  p->next_item += *count;
  return true;
}

static hn_status requeue_singles(pool *p, int64_t first, int64_t count, int64_t skip,
                                 hn_error *err) {
  if (p->head_singles == p->n_singles) p->head_singles = p->n_singles = 0;
  if (p->n_singles + count > p->cap_singles) {
    int64_t cap = p->cap_singles ? p->cap_singles : 16;
    while (cap < p->n_singles + count) cap *= 2;
    int64_t *s = hn__realloc(&p->alloc, p->singles, sizeof *s * (size_t)cap);
    if (!s) return hn__error_nomem(err, "re-queueing the items of a lost batch");
    p->singles = s;
    p->cap_singles = cap;
  }
  for (int64_t i = first; i < first + count; i++)
    if (i != skip) p->singles[p->n_singles++] = i;
  return HN_OK;
}

static hn_status spawn(pool *p, int i, hn_error *err) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return hn__error(err, HN_EIO, "processes engine: socketpair failed: %s", strerror(errno));
  hn__proc_slot_reset(&p->slots[i]);
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return hn__error(err, HN_EIO, "processes engine: fork failed: %s", strerror(e));
  }
  if (pid == 0) {
    close(sv[0]);
    hn__proc_child_main(p, i, sv[1]);
  }
  close(sv[1]);
  p->w[i] = (pworker){.pid = pid, .fd = sv[0]};
  return HN_OK;
}

/* Wait for the worker of slot i to end; its status, or -1 when unknown (ECHILD). */
static int reap(pool *p, int i) {
  int status = -1;
  pworker *w = &p->w[i];
  if (w->pid > 0) {
    pid_t r;
    do r = waitpid(w->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) status = -1;
  }
  if (w->fd >= 0) close(w->fd);
  if (w->replied) p->workers_ran++;
  *w = (pworker){.pid = 0, .fd = -1};
  return status;
}

static void describe_status(int status, char *buf, size_t cap) {
  if (status == -1)
    snprintf(buf, cap, "worker process ended (its exit status is unavailable)");
  else if (WIFSIGNALED(status))
    snprintf(buf, cap, "worker process killed by %s", hn__signal_name(WTERMSIG(status)));
  else if (WIFEXITED(status))
    snprintf(buf, cap, "worker process exited with status %d", WEXITSTATUS(status));
  else
    snprintf(buf, cap, "worker process ended (wait status %d)", status);
}

/* Kill and reap every worker (the call is failing). */
void hn__proc_kill_all(pool *p) {
  for (int i = 0; i < p->n; i++)
    if (p->w[i].pid > 0) kill(p->w[i].pid, SIGKILL);
  for (int i = 0; i < p->n; i++)
    if (p->w[i].pid > 0 || p->w[i].fd >= 0) (void)reap(p, i);
}

/* Stop every idle worker: STOP, its BYE counts, reap. */
void hn__proc_stop_all(pool *p) {
  for (int i = 0; i < p->n; i++)
    if (p->w[i].pid > 0) (void)hn__proc_send_msg(p->w[i].fd, MSG_STOP, 0, 0, 0, NULL, 0);
  for (int i = 0; i < p->n; i++) {
    if (p->w[i].pid <= 0) continue;
    msg_header h;
    /* BYE: first = instances built over the worker's life (already counted
     * batch by batch), count = instances destroyed. */
    if (hn__proc_recv_msg(p->w[i].fd, &p->alloc, &h, &p->in) == RECV_OK && h.type == MSG_BYE)
      p->bye_destroys += h.count;
    (void)reap(p, i);
  }
}

/*
 * The worker of slot i is gone (status from reap). Its batch: several items
 * are re-queued one by one; a single item (or the item that timed out,
 * `timed_out` >= 0) is lost with `message`.
 */
static hn_status batch_lost(pool *p, int i, int64_t timed_out, const char *message, hn_error *err) {
  pworker *w = &p->w[i];
  int64_t item, start;
  char node[HN_ERROR_NODE_MAX];
  hn__proc_slot_read(p->x->plan, &p->slots[i], &item, &start, node);
  int64_t first = w->first, count = w->count;
  hn_status st = HN_OK;
  int64_t stray = atomic_load(&p->slots[i].stray_item);
  if (timed_out < 0 && stray >= first && stray < first + count) {
    /* A node forked and its child returned into the engine: that item is lost. */
    const char *name = atomic_load(&p->slots[i].stray_node);
    snprintf(node, sizeof node, "%s",
             name && hn__proc_plan_node_name(p->x->plan, name) ? name : "");
    char msg[HN_ERROR_MESSAGE_MAX];
    snprintf(msg, sizeof msg,
             "node '%s' forked a child process that returned from the node into the engine "
             "(a node may fork only to exec or _exit in the child); the worker process was "
             "replaced",
             node);
    st = hn__collector_add_lost(p->col, stray, node, msg, err);
    if (st == HN_OK && count > 1) st = requeue_singles(p, first, count, stray, err);
  } else if (timed_out >= 0) {
    st = hn__collector_add_lost(p->col, timed_out, item == timed_out ? node : "", message, err);
    if (st == HN_OK && count > 1) st = requeue_singles(p, first, count, timed_out, err);
  } else if (count > 1) {
    st = requeue_singles(p, first, count, -1, err);
  } else {
    st = hn__collector_add_lost(p->col, first, item == first ? node : "", message, err);
  }
  return st;
}

static hn_status on_death(pool *p, int i, int status, hn_error *err) {
  char msg[HN_ERROR_MESSAGE_MAX];
  describe_status(status, msg, sizeof msg);
  bool busy = p->w[i].busy;
  hn_status st = busy ? batch_lost(p, i, -1, msg, err) : HN_OK;
  (void)reap(p, i);
  return st;
}

/* A message from the worker of slot i. */
static hn_status on_readable(pool *p, int i, hn_error *err) {
  pworker *w = &p->w[i];
  msg_header h;
  int rc = hn__proc_recv_msg(w->fd, &p->alloc, &h, &p->in);
  if (rc == RECV_NOMEM)
    return hn__error(err, HN_ENOMEM,
                     "processes engine: out of memory receiving a reply of %llu bytes",
                     (unsigned long long)h.size);
  if (rc != RECV_OK) {
    /* End of stream or a torn message: the worker died (make sure, then reap it). */
    kill(w->pid, SIGKILL);
    pid_t pid = w->pid;
    int status = -1;
    pid_t r;
    do r = waitpid(pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) status = -1;
    w->pid = 0; /* reaped */
    return on_death(p, i, status, err);
  }
  if (h.type == MSG_REPLY && w->busy && h.first == w->first && h.count == w->count) {
    w->busy = false;
    w->replied = true;
    return hn__reply_take(p->col, p->x, i, h.first, h.count, p->in.data, p->in.size, err);
  }
  if (h.type == MSG_FAIL) {
    size_t n = p->in.size < 400 ? p->in.size : 400;
    hn_status code =
        h.status > 0 && h.status <= HN__STATUS_LAST ? (hn_status)h.status : HN_EINTERNAL;
    return hn__error(err, code, "processes engine: worker process %d failed: %.*s", i, (int)n,
                     (const char *)p->in.data);
  }
  return hn__error(err, HN_ECORRUPT, "processes engine: unexpected message %u from worker %d",
                   h.type, i);
}

/* Worker i is busy and has announced an item of its batch: which, and since when. */
static bool running_item(pool *p, int i, int64_t *item, int64_t *start) {
  pworker *w = &p->w[i];
  if (w->pid <= 0 || !w->busy) return false;
  char node[HN_ERROR_NODE_MAX];
  hn__proc_slot_read(p->x->plan, &p->slots[i], item, start, node);
  return *item >= w->first && *item < w->first + w->count;
}

/* Busy workers whose announced item ran past the timeout are killed; their item is lost. */
static hn_status check_timeouts(pool *p, int64_t now, hn_error *err) {
  double limit = p->x->engine->options.item_timeout;
  if (limit <= 0) return HN_OK;
  for (int i = 0; i < p->n; i++) {
    pworker *w = &p->w[i];
    int64_t item, start;
    if (!running_item(p, i, &item, &start)) continue;
    if ((double)(now - start) < limit * 1e9) continue;
    kill(w->pid, SIGKILL);
    char msg[64];
    snprintf(msg, sizeof msg, "timed out after %g s", limit);
    hn_status st = batch_lost(p, i, item, msg, err);
    (void)reap(p, i);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Busy workers that exited without closing their socket (a copy held elsewhere). */
static hn_status check_exits(pool *p, hn_error *err) {
  for (int i = 0; i < p->n; i++) {
    pworker *w = &p->w[i];
    if (w->pid <= 0 || !w->busy) continue;
    int status = 0;
    pid_t r = waitpid(w->pid, &status, WNOHANG);
    if (r == 0 || (r < 0 && errno != ECHILD)) continue;
    if (r < 0) status = -1;
    w->pid = 0; /* reaped */
    hn_status st = on_death(p, i, status, err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Poll wait: up to the earliest item deadline (with timeouts), else POLL_IDLE_MS. */
static int poll_wait_ms(pool *p, int64_t now) {
  double limit = p->x->engine->options.item_timeout;
  if (limit <= 0) return POLL_IDLE_MS;
  int64_t wait = (int64_t)POLL_TIMEOUT_MAX_MS * 1000000;
  for (int i = 0; i < p->n; i++) {
    int64_t item, start;
    if (!running_item(p, i, &item, &start)) continue;
    int64_t left = start + (int64_t)(limit * 1e9) - now;
    if (left < wait) wait = left;
  }
  return wait <= 0 ? 0 : (int)((wait + 999999) / 1000000);
}

/* Give every idle (or empty) slot a batch while work remains. */
static hn_status dispatch(pool *p, hn_error *err) {
  for (int i = 0; i < p->n; i++) {
    pworker *w = &p->w[i];
    if (w->busy || !has_work(p)) continue;
    if (w->pid <= 0) {
      hn_status st = spawn(p, i, err);
      if (st != HN_OK) return st;
    }
    int64_t first, count;
    if (!next_task(p, &first, &count)) break;
    p->out.size = 0;
    hn_status st = hn__batch_encode(p->x, first, count, &p->out, err);
    if (st != HN_OK) return st;
    hn__proc_slot_reset(&p->slots[i]);
    w->busy = true;
    w->first = first;
    w->count = count;
    if (!hn__proc_send_msg(w->fd, MSG_TASK, 0, first, count, p->out.data, p->out.size)) {
      /* The worker is gone before its batch: handled as a death (the batch is lost). */
      kill(w->pid, SIGKILL);
      int status = -1;
      pid_t r;
      do r = waitpid(w->pid, &status, 0);
      while (r < 0 && errno == EINTR);
      if (r < 0) status = -1;
      w->pid = 0;
      st = on_death(p, i, status, err);
      if (st != HN_OK) return st;
    }
  }
  return HN_OK;
}

hn_status hn__proc_run_pool(pool *p, hn_error *err) {
  struct pollfd *fds = hn__calloc(&p->alloc, (size_t)p->n, sizeof *fds);
  int *idx = hn__calloc(&p->alloc, (size_t)p->n, sizeof *idx);
  hn_status st = fds && idx ? HN_OK : hn__error_nomem(err, "running the processes engine");
  while (st == HN_OK) {
    if (hn__call_stopped(p->x) != HN_OK) { /* cancelled or out of time: the workers are killed */
      st = hn__stop_error(p->x->stop, err);
      break;
    }
    st = dispatch(p, err);
    if (st != HN_OK) break;
    int n = 0;
    for (int i = 0; i < p->n; i++)
      if (p->w[i].pid > 0 && p->w[i].busy) {
        fds[n] = (struct pollfd){.fd = p->w[i].fd, .events = POLLIN};
        idx[n++] = i;
      }
    if (n == 0) break; /* nothing in flight and nothing left to dispatch */
    int ms = poll_wait_ms(p, hn__proc_mono_ns());
    if (p->x->stop && ms > POLL_STOP_MS) ms = POLL_STOP_MS;
    int r = poll(fds, (nfds_t)n, ms);
    if (r < 0 && errno != EINTR) {
      st = hn__error(err, HN_EIO, "processes engine: poll failed: %s", strerror(errno));
      break;
    }
    for (int k = 0; r > 0 && k < n && st == HN_OK; k++)
      if (fds[k].revents) st = on_readable(p, idx[k], err);
    if (st == HN_OK) st = check_timeouts(p, hn__proc_mono_ns(), err);
    if (st == HN_OK && r == 0) st = check_exits(p, err);
  }
  hn__free(&p->alloc, fds);
  hn__free(&p->alloc, idx);
  return st;
}
