/*
 * A worker process of the processes engine. It serves calls until STOP (or
 * the end of its socket): a CALL describes a call (its plan, sources,
 * policy, wanted events and broadcast inputs), TASKs are its batches, END
 * destroys the call's resource instances and answers DONE with the counts.
 * The objects a CALL points to (plan, resources) were made before this
 * process was forked (the parent checks their stamps), so they are here,
 * unchanged. What the worker keeps between calls is allocated with the
 * engine's allocator; what a batch allocates with the call's allocator is
 * freed before its reply is sent.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "processes_internal.h"

_Noreturn void hn__proc_child_exit(int code) {
  fflush(NULL);
  _exit(code);
}

/* The worker's side of one call. */
typedef struct wcall {
  hn__call x;      /* the call as this worker runs it (x.srcs below) */
  hn__src *srcs;   /* per plan input */
  hn_callbacks cb; /* set exactly for the kinds the caller records */
  hn__batch_worker *bw;
} wcall;

typedef struct child {
  pool *p;
  announce_slot *s;
  int fd;
  const hn_allocator *keep; /* the engine's allocator */
  wcall call;
  hn__bytes in;
} child;

static void child_fail(child *c, hn_status st, const hn_error *e) {
  hn__proc_check_forks(c->s);
  const char *m = e->message[0] ? e->message : hn_status_str(st);
  (void)hn__proc_send_msg(c->fd, MSG_FAIL, (int32_t)st, 0, 0, m, strlen(m));
}

/* End the call: destroy the batch worker (and the resource instances it holds). */
static void call_end(child *c, int64_t *inits, int64_t *destroys) {
  wcall *w = &c->call;
  hn__batch_worker_destroy(w->bw, inits, destroys);
  hn__free(c->keep, w->srcs);
  memset(w, 0, sizeof *w);
  hn__proc_check_forks(c->s); /* resources' destroy functions are node code too */
}

/* Start the call a CALL message describes (the previous one ends first). */
static hn_status call_begin(child *c, const uint8_t *msg, size_t size, hn_error *err) {
  call_end(c, NULL, NULL);
  call_msg m;
  if (size < sizeof m) return hn__error(err, HN_ECORRUPT, "a call message of %zu bytes", size);
  memcpy(&m, msg, sizeof m);
  size_t inputs = sizeof(call_input) * (size_t)(m.plan ? m.plan->n_inputs : 0);
  if (!m.plan || m.n_inputs != m.plan->n_inputs || size != sizeof m + inputs + m.consts_size)
    return hn__error(err, HN_ECORRUPT, "a malformed call message (%zu bytes)", size);
  wcall *w = &c->call;
  int64_t n = m.n_inputs;
  w->srcs = hn__calloc(c->keep, (size_t)(n ? n : 1), sizeof *w->srcs);
  if (!w->srcs) return hn__error_nomem(err, "starting a call in a worker process");
  bool consts = false;
  for (int64_t q = 0; q < n; q++) {
    call_input in;
    memcpy(&in, msg + sizeof m + sizeof in * (size_t)q, sizeof in);
    hn__src *src = &w->srcs[q];
    src->kind = (hn__src_kind)in.kind;
    if (src->kind == HN__SRC_RESOURCE) {
      src->resource = in.resource;
      src->type = in.resource->type;
    }
    consts = consts || src->kind == HN__SRC_CONST;
  }
  hn__batch_events_callbacks(m.events, &w->cb);
  w->x = (hn__call){.alloc = m.alloc,
                    .plan = m.plan,
                    .srcs = w->srcs,
                    .is_map = m.is_map != 0,
                    .zip = true,
                    .policy = (hn_error_policy)m.policy,
                    .cb = m.events ? &w->cb : NULL,
                    .node_timeout = m.node_timeout,
                    .io_workers = m.io_workers};
  hn_status st = hn__batch_worker_create_ex(&w->x, NULL, c->keep, &w->bw, err);
  if (st == HN_OK && consts)
    st = hn__batch_worker_set_consts(w->bw, msg + sizeof m + inputs, (size_t)m.consts_size, err);
  if (st != HN_OK) return st;
  hn__batch_worker_set_announce(w->bw, hn__proc_announce, c->s);
  return HN_OK;
}

/* One message from the parent; false when the worker should end (*code: its exit code). */
static bool serve(child *c, const msg_header *h, int *code) {
  hn_error e;
  hn_error_reset(&e);
  hn_status st = HN_OK;
  if (h->type == MSG_CALL) {
    st = call_begin(c, c->in.data, c->in.size, &e);
  } else if (h->type == MSG_TASK && c->call.bw) {
    hn__proc_slot_reset(c->s); /* nothing of an earlier batch (or call) stays announced */
    hn__batch_worker_announce_nodes(c->call.bw, (h->status & TASK_ANNOUNCE_NODES) != 0);
    const hn__reply_parts *r = NULL;
    st = hn__batch_worker_run_parts(c->call.bw, h->first, h->count, c->in.data, c->in.size, &r, &e);
    hn__proc_check_forks(c->s);
    fflush(NULL); /* what nodes printed is out before the call returns, as when workers ended */
    const void *data[HN__REPLY_SEGMENTS];
    size_t size[HN__REPLY_SEGMENTS];
    int n = st == HN_OK ? hn__reply_parts_segments(r, data, size) : 0;
    if (st == HN_OK && !hn__proc_send_parts(c->fd, MSG_REPLY, h->first, h->count, n, data, size))
      return false; /* the parent is gone */
  } else if (h->type == MSG_END) {
    int64_t inits = 0, destroys = 0;
    call_end(c, &inits, &destroys);
    fflush(NULL);
    if (!hn__proc_send_msg(c->fd, MSG_DONE, 0, inits, destroys, NULL, 0)) return false;
  } else {
    st = hn__error(&e, HN_ECORRUPT, "unexpected message %u from the parent", h->type);
  }
  if (st == HN_OK) return true;
  child_fail(c, st, &e);
  *code = 1;
  return false;
}

_Noreturn void hn__proc_child_main(pool *p, int slot, int fd) {
  for (int i = 0; i < p->cap; i++)
    if (i != slot && p->w[i].fd >= 0) close(p->w[i].fd);
#ifdef __linux__
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  if (getppid() != p->owner) hn__proc_child_exit(1);
  child c;
  memset(&c, 0, sizeof c);
  c.p = p;
  c.s = &p->slots[slot];
  c.fd = fd;
  c.keep = &p->alloc;
  hn_error e;
  hn_error_reset(&e);
  int code = 0;
  hn_status st = hn__fork_guard_install(&c.s->item, &c.s->node, &e);
  if (st != HN_OK) {
    child_fail(&c, st, &e);
    hn__proc_child_exit(1);
  }
  for (;;) {
    msg_header h;
    int rc = hn__proc_recv_msg(fd, c.keep, &h, &c.in);
    if (rc == RECV_NOMEM) {
      hn__error(&e, HN_ENOMEM, "out of memory receiving a message of %llu bytes",
                (unsigned long long)h.size);
      child_fail(&c, HN_ENOMEM, &e);
      code = 1;
      break;
    }
    if (rc != RECV_OK || h.type == MSG_STOP) break; /* the parent is gone, or done */
    if (!serve(&c, &h, &code)) break;
  }
  call_end(&c, NULL, NULL);
  hn__bytes_free(c.keep, &c.in);
  close(fd);
  hn__proc_child_exit(code);
}
