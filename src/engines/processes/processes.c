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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "processes.h"

#define BATCH_MAX 4096         /* automatic batch size: upper bound */
#define BATCHES_PER_WORKER 8   /* automatic batch size: batches per worker */
#define POLL_IDLE_MS 250       /* poll wait without a deadline (also checks exits) */
#define POLL_TIMEOUT_MAX_MS 50 /* poll wait with item timeouts: the check granularity */
#define PAYLOAD_MAX ((uint64_t)1 << 40)

/* ======================================================================== */
/* Signals                                                                  */
/* ======================================================================== */

const char *hn__signal_name(int sig) {
  static const struct {
    int sig;
    const char *name;
  } k[] = {
      {SIGSEGV, "SIGSEGV (segmentation fault)"},
      {SIGABRT, "SIGABRT (aborted)"},
      {SIGBUS, "SIGBUS (bus error)"},
      {SIGFPE, "SIGFPE (floating-point exception)"},
      {SIGILL, "SIGILL (illegal instruction)"},
      {SIGKILL, "SIGKILL (killed)"},
      {SIGTERM, "SIGTERM (terminated)"},
      {SIGINT, "SIGINT (interrupted)"},
      {SIGQUIT, "SIGQUIT (quit)"},
      {SIGHUP, "SIGHUP (hangup)"},
      {SIGPIPE, "SIGPIPE (broken pipe)"},
      {SIGALRM, "SIGALRM (alarm clock)"},
      {SIGTRAP, "SIGTRAP (trace/breakpoint trap)"},
      {SIGSYS, "SIGSYS (bad system call)"},
      {SIGXCPU, "SIGXCPU (CPU time limit exceeded)"},
      {SIGXFSZ, "SIGXFSZ (file size limit exceeded)"},
      {SIGUSR1, "SIGUSR1 (user signal 1)"},
      {SIGUSR2, "SIGUSR2 (user signal 2)"},
  };
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (k[i].sig == sig) return k[i].name;
  static _Thread_local char buf[32];
  snprintf(buf, sizeof buf, "signal %d", sig);
  return buf;
}

/* ======================================================================== */
/* Messages                                                                 */
/* ======================================================================== */

enum { MSG_TASK = 1, MSG_STOP, MSG_REPLY, MSG_FAIL, MSG_BYE };

typedef struct msg_header {
  uint32_t type;
  int32_t status;       /* FAIL: the worker's status */
  int64_t first, count; /* TASK, REPLY: the items; BYE: resource inits, destroys */
  uint64_t size;        /* payload bytes that follow */
} msg_header;

/* Send all of header + payload; false when the peer is gone (never raises SIGPIPE). */
static bool send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k;
    n -= (size_t)k;
  }
  return true;
}

static bool send_msg(int fd, uint32_t type, int32_t status, int64_t first, int64_t count,
                     const void *payload, size_t size) {
  msg_header h = {type, status, first, count, size};
  return send_all(fd, &h, sizeof h) && send_all(fd, payload, size);
}

/* Read exactly n bytes; false on end of stream or error. */
static bool recv_all(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n > 0) {
    ssize_t k = read(fd, b, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k;
    n -= (size_t)k;
  }
  return true;
}

enum { RECV_OK = 0, RECV_GONE = 1, RECV_NOMEM = 2 };

/* Read one message: its header and payload into `buf` (resized). RECV_*. */
static int recv_msg(int fd, const hn_allocator *a, msg_header *h, hn__bytes *buf) {
  if (!recv_all(fd, h, sizeof *h) || h->size > PAYLOAD_MAX) return RECV_GONE;
  buf->size = 0;
  if (hn__bytes_reserve(a, buf, (size_t)h->size, NULL) != HN_OK) return RECV_NOMEM;
  if (!recv_all(fd, buf->data, (size_t)h->size)) return RECV_GONE;
  buf->size = (size_t)h->size;
  return RECV_OK;
}

/* ======================================================================== */
/* Announce slots (shared between a worker and the parent)                 */
/* ======================================================================== */

/*
 * The node is announced as a pointer to its name: the name lives in the
 * plan, allocated before the fork and unchanged during the call, so the
 * same address holds the same name in the worker and in the parent. A
 * worker announces with a few stores per node call, no copy.
 */
typedef struct announce_slot {
  _Atomic uint64_t seq; /* odd while the worker writes */
  _Atomic int64_t item; /* -1: none yet */
  _Atomic int64_t start_ns;
  _Atomic(const char *) node; /* NULL: none yet */
  bool timed; /* set before the fork: item_timeout > 0, so items are timed */
  /* Set by a worker that ends with STRAY_EXIT: a child forked by a node
   * returned into the engine while this item and node ran. */
  _Atomic int64_t stray_item;
  _Atomic(const char *) stray_node;
} announce_slot;

#define STRAY_EXIT 86 /* a worker's exit code after a node's child returned into the engine */

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void slot_write(announce_slot *s, int64_t item, bool new_item, const char *node) {
  uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  if (new_item) {
    atomic_store_explicit(&s->item, item, memory_order_relaxed);
    if (s->timed) atomic_store_explicit(&s->start_ns, mono_ns(), memory_order_relaxed);
  }
  atomic_store_explicit(&s->node, node, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

static _Noreturn void child_exit(int code);

/* Worker: end it if a child forked by a node returned into the engine (see fork_guard.c). */
static void check_forks(announce_slot *s) {
  int64_t item;
  const char *node;
  if (HN__LIKELY(!hn__fork_guard_check(&item, &node))) return;
  atomic_store(&s->stray_item, item);
  atomic_store(&s->stray_node, node);
  child_exit(STRAY_EXIT);
}

/* The worker's announce hook: a new item clears the node; a node call names it. */
static void announce(void *ud, int64_t item, const char *node) {
  announce_slot *s = ud;
  check_forks(s);
  bool new_item = !node || atomic_load_explicit(&s->item, memory_order_relaxed) != item;
  slot_write(s, item, new_item, node);
}

/* Is `name` the name of a node of `plan` (nested plans included)? Only such a
 * pointer is dereferenced: a worker that scribbled on its slot cannot make
 * the parent read garbage. */
static bool plan_node_name(const hn_plan *plan, const char *name) {
  for (int64_t k = 0; k < plan->n_steps; k++) {
    if (plan->steps[k].node->name == name) return true;
    if (plan->steps[k].inner && plan_node_name(plan->steps[k].inner, name)) return true;
  }
  return false;
}

/* Parent: a consistent snapshot (bounded retries; the node is always NUL-terminated). */
static void slot_read(const hn_plan *plan, announce_slot *s, int64_t *item, int64_t *start_ns,
                      char *node) {
  for (int tries = 0;; tries++) {
    uint64_t q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
    *item = atomic_load_explicit(&s->item, memory_order_relaxed);
    *start_ns = atomic_load_explicit(&s->start_ns, memory_order_relaxed);
    const char *name = atomic_load_explicit(&s->node, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    uint64_t q2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((q1 == q2 && !(q1 & 1)) || tries >= 1000) {
      snprintf(node, HN_ERROR_NODE_MAX, "%s", name && plan_node_name(plan, name) ? name : "");
      return;
    }
  }
}

/* Parent, worker idle: forget the previous batch's item. */
static void slot_reset(announce_slot *s) {
  uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&s->item, -1, memory_order_relaxed);
  atomic_store_explicit(&s->node, NULL, memory_order_relaxed);
  atomic_store_explicit(&s->stray_item, -1, memory_order_relaxed);
  atomic_store_explicit(&s->stray_node, NULL, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

/* ======================================================================== */
/* The pool                                                                 */
/* ======================================================================== */

typedef struct pworker {
  pid_t pid; /* 0: no process in this slot */
  int fd;    /* parent's end, -1 when closed */
  bool busy;
  int64_t first, count; /* the batch in flight */
  bool replied;         /* this process sent at least one reply */
} pworker;

typedef struct pool {
  hn__call *x;
  hn_allocator alloc;
  hn__collector *col;
  int n;
  pworker *w;
  announce_slot *slots;
  size_t map_size;
  pid_t parent;
  int64_t batch;
  int64_t next_item; /* the normal queue: items [next_item, n_items) in batches */
  int64_t *singles;  /* re-queued items, run one per batch before the normal queue */
  int64_t n_singles, head_singles, cap_singles;
  hn__bytes out, in;
  int workers_ran;
  int64_t bye_destroys;
} pool;

static int64_t batch_size(const hn__call *x, int workers) {
  if (x->engine->options.chunk_size > 0) return x->engine->options.chunk_size;
  int64_t b = x->n_items / ((int64_t)workers * BATCHES_PER_WORKER);
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

/* ---- the worker process ------------------------------------------------------ */

static _Noreturn void child_exit(int code) {
  fflush(NULL);
  _exit(code);
}

static void child_fail(announce_slot *s, int fd, hn_status st, const hn_error *e) {
  check_forks(s);
  const char *m = e->message[0] ? e->message : hn_status_str(st);
  (void)send_msg(fd, MSG_FAIL, (int32_t)st, 0, 0, m, strlen(m));
}

static _Noreturn void child_main(pool *p, int slot, int fd) {
  for (int i = 0; i < p->n; i++)
    if (i != slot && p->w[i].fd >= 0) close(p->w[i].fd);
#ifdef __linux__
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  if (getppid() != p->parent) child_exit(1);
  announce_slot *s = &p->slots[slot];
  const hn_allocator *a = &p->alloc;
  hn_error e;
  hn_error_reset(&e);
  hn__batch_worker *bw = NULL;
  hn_status st = hn__fork_guard_install(&s->item, &s->node, &e);
  if (st == HN_OK) st = hn__batch_worker_create(p->x, NULL, &bw, &e);
  if (st != HN_OK) {
    child_fail(s, fd, st, &e);
    child_exit(1);
  }
  hn__batch_worker_set_announce(bw, announce, s);
  hn__bytes in = {0}, reply = {0};
  msg_header h;
  int code = 0;
  for (;;) {
    int rc = recv_msg(fd, a, &h, &in);
    if (rc == RECV_NOMEM) {
      hn__error(&e, HN_ENOMEM, "out of memory receiving a batch of %llu bytes",
                (unsigned long long)h.size);
      child_fail(s, fd, HN_ENOMEM, &e);
      code = 1;
      break;
    }
    if (rc != RECV_OK || h.type == MSG_STOP) break; /* the parent is gone, or done */
    if (h.type != MSG_TASK) {
      child_fail(s, fd, HN_ECORRUPT, &(hn_error){.message = "unexpected message from the parent"});
      code = 1;
      break;
    }
    st = hn__batch_worker_run(bw, h.first, h.count, in.data, in.size, &reply, &e);
    if (st != HN_OK) {
      child_fail(s, fd, st, &e);
      code = 1;
      break;
    }
    check_forks(s);
    if (!send_msg(fd, MSG_REPLY, 0, h.first, h.count, reply.data, reply.size)) break;
  }
  int64_t inits = 0, destroys = 0;
  hn__batch_worker_destroy(bw, &inits, &destroys);
  hn__bytes_free(a, &in);
  hn__bytes_free(a, &reply);
  check_forks(s); /* resources' destroy functions are node code too */
  if (code == 0) (void)send_msg(fd, MSG_BYE, 0, inits, destroys, NULL, 0);
  close(fd);
  child_exit(code);
}

/* ---- parent: processes --------------------------------------------------------- */

/* Fork the worker of slot i. */
static hn_status spawn(pool *p, int i, hn_error *err) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return hn__error(err, HN_EIO, "processes engine: socketpair failed: %s", strerror(errno));
  slot_reset(&p->slots[i]);
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
    child_main(p, i, sv[1]);
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
static void kill_all(pool *p) {
  for (int i = 0; i < p->n; i++)
    if (p->w[i].pid > 0) kill(p->w[i].pid, SIGKILL);
  for (int i = 0; i < p->n; i++)
    if (p->w[i].pid > 0 || p->w[i].fd >= 0) (void)reap(p, i);
}

/* Stop every idle worker: STOP, its BYE counts, reap. */
static void stop_all(pool *p) {
  for (int i = 0; i < p->n; i++)
    if (p->w[i].pid > 0) (void)send_msg(p->w[i].fd, MSG_STOP, 0, 0, 0, NULL, 0);
  for (int i = 0; i < p->n; i++) {
    if (p->w[i].pid <= 0) continue;
    msg_header h;
    /* BYE: first = instances built over the worker's life (already counted
     * batch by batch), count = instances destroyed. */
    if (recv_msg(p->w[i].fd, &p->alloc, &h, &p->in) == RECV_OK && h.type == MSG_BYE)
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
  slot_read(p->x->plan, &p->slots[i], &item, &start, node);
  int64_t first = w->first, count = w->count;
  hn_status st = HN_OK;
  int64_t stray = atomic_load(&p->slots[i].stray_item);
  if (timed_out < 0 && stray >= first && stray < first + count) {
    /* A node forked and its child returned into the engine: that item is lost. */
    const char *name = atomic_load(&p->slots[i].stray_node);
    snprintf(node, sizeof node, "%s", name && plan_node_name(p->x->plan, name) ? name : "");
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
  int rc = recv_msg(w->fd, &p->alloc, &h, &p->in);
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
    hn_status code = h.status > 0 && h.status <= HN_EINTERNAL ? (hn_status)h.status : HN_EINTERNAL;
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
  slot_read(p->x->plan, &p->slots[i], item, start, node);
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
    slot_reset(&p->slots[i]);
    w->busy = true;
    w->first = first;
    w->count = count;
    if (!send_msg(w->fd, MSG_TASK, 0, first, count, p->out.data, p->out.size)) {
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

static hn_status run_pool(pool *p, hn_error *err) {
  struct pollfd *fds = hn__calloc(&p->alloc, (size_t)p->n, sizeof *fds);
  int *idx = hn__calloc(&p->alloc, (size_t)p->n, sizeof *idx);
  hn_status st = fds && idx ? HN_OK : hn__error_nomem(err, "running the processes engine");
  while (st == HN_OK) {
    st = dispatch(p, err);
    if (st != HN_OK) break;
    int n = 0;
    for (int i = 0; i < p->n; i++)
      if (p->w[i].pid > 0 && p->w[i].busy) {
        fds[n] = (struct pollfd){.fd = p->w[i].fd, .events = POLLIN};
        idx[n++] = i;
      }
    if (n == 0) break; /* nothing in flight and nothing left to dispatch */
    int r = poll(fds, (nfds_t)n, poll_wait_ms(p, mono_ns()));
    if (r < 0 && errno != EINTR) {
      st = hn__error(err, HN_EIO, "processes engine: poll failed: %s", strerror(errno));
      break;
    }
    for (int k = 0; r > 0 && k < n && st == HN_OK; k++)
      if (fds[k].revents) st = on_readable(p, idx[k], err);
    if (st == HN_OK) st = check_timeouts(p, mono_ns(), err);
    if (st == HN_OK && r == 0) st = check_exits(p, err);
  }
  hn__free(&p->alloc, fds);
  hn__free(&p->alloc, idx);
  return st;
}

static hn_status processes_execute(hn__call *x, hn_error *err) {
  hn_status st = HN_OK;
  pool p;
  memset(&p, 0, sizeof p);
  p.x = x;
  p.alloc = x->alloc;
  p.parent = getpid();
  int workers = x->engine->workers > 0 ? x->engine->workers : 1;
  p.batch = batch_size(x, workers);
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
    st = run_pool(&p, err);
  }
  if (st == HN_OK) {
    stop_all(&p);
  } else {
    kill_all(&p);
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
