/*
 * Guarded steps of the item executor: a node with a policy (retries, a
 * timeout, a concurrency limit, io) is called through a guarded call
 * (exec/guard.h) that holds copies of the item's inputs and its own
 * outputs; its outcome is appended like a batch call's one row. Its events
 * fire per attempt, on the worker, after the call.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "items_internal.h"

hn_status hn__it_guarded_init(worker *w, frame *f, xstep *x) {
  const hn_allocator *a = &w->job->alloc;
  x->kind = XS_GUARDED;
  if (!NEW_ARRAY(x->gin_types, x->n_in) || !NEW_ARRAY(x->gin_res, x->n_in) ||
      !NEW_ARRAY(x->gout_types, x->n_out) || !NEW_ARRAY(x->bouts, x->n_out))
    return hn__it_fatal(w, HN_ENOMEM, "out of memory preparing node '%s'", x->node->name);
  for (int64_t i = 0; i < x->n_in; i++) {
    x->gin_types[i] = f->types[x->in_slots[i]];
    x->gin_res[i] = f->is_res[x->in_slots[i]];
  }
  for (int64_t k = 0; k < x->n_out; k++) x->gout_types[k] = f->types[x->out_slots[k]];
  x->async = f->top && hn__node_io(x->node);
  if (x->async) f->n_async++;
  return HN_OK;
}

hn_status hn__it_gcall_make(worker *w, frame *f, xstep *x, hn__gcall **out) {
  hn__gcall_in in = {.node = x->node,
                     .batch = x->node->row == NULL,
                     .m = 1,
                     .in = x->in,
                     .in_types = x->gin_types,
                     .in_res = x->gin_res,
                     .out_types = x->gout_types,
                     .worker = w->index};
  char msg[HN_ERROR_MESSAGE_MAX];
  hn_status st = hn__gcall_create(w->job->guard, &in, out, msg, sizeof msg);
  if (st == HN_OK) return HN_OK;
  if (st == HN_ENOMEM) return hn__it_fatal(w, st, "%s", msg);
  return hn__it_node_failure(w, f, x->node->name, st, msg);
}

typedef struct emit_ctx {
  worker *w;
  const frame *f;
  const xstep *x;
} emit_ctx;

static void emit_one(void *p, hn_callback fn, hn_status st, const char *message, int64_t start_ns,
                     int64_t duration_ns) {
  emit_ctx *e = p;
  hn__it_emit(e->w, e->f, fn, e->x->node->name, e->f->item, st, message, start_ns, duration_ns);
}

/* A failed guarded call: its last message, attempts and every attempt's message. */
static hn_status gcall_failed(worker *w, frame *f, xstep *x, hn__gcall *c) {
  hn_status st = hn__gcall_status(c);
  hn_status stop = hn__call_stopped(w->job->x);
  if (stop != HN_OK && stop == st) { /* the call stopped: not this item's failure */
    hn__stop_error(w->job->x->stop, &w->ferr);
    return hn__it_fatal_filled(w, stop);
  }
  w->attempt = hn__gcall_attempts(c);
  st = hn__it_node_failure(w, f, x->node->name, st, hn__gcall_message(c));
  w->attempt = 0;
  w->f_attempts = hn__gcall_attempts(c) > 0 ? hn__gcall_attempts(c) : 1;
  const char *all = hn__gcall_messages(c);
  if (all && !(w->f_messages = hn__strdup(&w->job->alloc, all)))
    return hn__it_fatal(w, HN_ENOMEM, "out of memory recording a failed item");
  return st;
}

hn_status hn__it_gcall_take(worker *w, frame *f, xstep *x, hn__gcall *c) {
  job *j = w->job;
  emit_ctx e = {w, f, x};
  hn__gcall_events(c, &j->ev, emit_one, &e, &w->attempt);
  if (hn__gcall_status(c) != HN_OK) return gcall_failed(w, f, x, c);
  hn_status st = HN_OK;
  for (int64_t k = 0; k < x->n_out; k++) x->bouts[k] = hn__gcall_take_output(c, k);
  for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) st = hn__it_batch_output(w, f, x, k);
  for (int64_t k = 0; k < x->n_out; k++) {
    hn_array_release(x->bouts[k]);
    x->bouts[k] = NULL;
  }
  return st;
}

hn_status hn__it_run_guarded(worker *w, frame *f, xstep *x) {
  hn__gcall *c = NULL;
  hn_status st = hn__it_gcall_make(w, f, x, &c);
  if (st != HN_OK) return st;
  hn__gcall_start(w->job->guard, c);
  hn__gcall_wait(w->job->guard, &c, 1);
  st = hn__it_gcall_take(w, f, x, c);
  hn__gcall_release(c);
  return st;
}
