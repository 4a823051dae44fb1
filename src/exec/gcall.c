/*
 * One guarded node call: private copies of its inputs (so that a call left
 * running past its deadline touches nothing of the engine's), its own
 * outputs and context, and its attempts: a retry loop with exponential
 * backoff and jitter, a deadline per attempt, a slot of the node's
 * concurrency limit per attempt. Every attempt's status and message are
 * kept for the error record and the events.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "gcall_internal.h"

#define SLEEP_SLICE 0.002 /* a backoff watched for a stop sleeps at most this long at a time */

/* ---- creating ----------------------------------------------------------------------- */

/* Input i as an owned one-row array (a resource passes as it is). */
static hn_status copy_input(hn__gcall *c, const hn__gcall_in *in, int64_t i, char *msg,
                            size_t cap) {
  hn_datum d = in->in[i];
  if (in->in_res && in->in_res[i] && d.type == HN_TYPE_OBJECT) {
    c->in[i] = d; /* a resource instance: never copied or freed */
    return HN_OK;
  }
  const hn_type *t = in->in_types ? in->in_types[i] : NULL;
  if (!t) {
    snprintf(msg, cap, "input '%s' of node '%s' has no known type", in->node->inputs[i],
             in->node->name);
    return HN_ETYPE;
  }
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(&c->alloc, t, &b, NULL);
  if (st == HN_OK) st = hn_builder_append_datum(b, d);
  if (st == HN_OK) st = hn_builder_finish(b, &c->in_arr[i], NULL);
  hn_builder_destroy(b);
  if (st != HN_OK) {
    snprintf(msg, cap, "copying input '%s' of node '%s': %s", in->node->inputs[i], in->node->name,
             hn_status_str(st));
    return st == HN_ENOMEM ? st : HN_ETYPE;
  }
  c->in[i] = hn_array_get(c->in_arr[i], 0);
  return HN_OK;
}

static hn_status make_inputs(hn__gcall *c, const hn__gcall_in *in, char *msg, size_t cap) {
  for (int64_t i = 0; i < c->n_in; i++) {
    if (in->args) {
      c->in_arr[i] = hn_array_retain((hn_array *)in->args[i].array);
      c->args[i] = (hn_batch_arg){c->in_arr[i], in->args[i].scalar};
      continue;
    }
    hn_status st = copy_input(c, in, i, msg, cap);
    if (st != HN_OK) return st;
    if (!c->in_arr[i] && c->batch) { /* a resource to a batch function: a one-row object array */
      hn_builder *b = NULL;
      st = hn_builder_create(&c->alloc, in->in_types[i], &b, NULL);
      if (st == HN_OK) st = hn_builder_append_object(b, c->in[i].v.object);
      if (st == HN_OK) st = hn_builder_finish(b, &c->in_arr[i], NULL);
      hn_builder_destroy(b);
      if (st != HN_OK) return st;
    }
    c->args[i] = (hn_batch_arg){c->in_arr[i], false};
  }
  return HN_OK;
}

static hn_status alloc_parts(hn__gcall *c) {
  const hn_allocator *a = &c->alloc;
  size_t ni = (size_t)(c->n_in ? c->n_in : 1), no = (size_t)c->n_out;
  c->cap_att = (c->policy.attempts > 1 ? c->policy.attempts : 1) + 1;
  c->in_arr = hn__calloc(a, ni, sizeof *c->in_arr);
  c->in = hn__calloc(a, ni, sizeof *c->in);
  c->args = hn__calloc(a, ni, sizeof *c->args);
  c->out_types = hn__calloc(a, no, sizeof *c->out_types);
  c->b = hn__calloc(a, no, sizeof *c->b);
  c->out = hn__calloc(a, no, sizeof *c->out);
  c->att = hn__calloc(a, (size_t)c->cap_att, sizeof *c->att);
  bool ok = c->in_arr && c->in && c->args && c->out_types && c->b && c->out && c->att;
  return ok && pthread_mutex_init(&c->mu, NULL) == 0 ? HN_OK : HN_ENOMEM;
}

static hn__limit *find_limit(hn__guard *g, const hn_gnode *node) {
  for (int64_t k = 0; k < g->n_limits; k++)
    if (g->limits[k].node == node) return &g->limits[k];
  return NULL;
}

hn_status hn__gcall_create(hn__guard *g, const hn__gcall_in *in, hn__gcall **out, char *msg,
                           size_t cap) {
  *out = NULL;
  hn__gcall *c = hn__calloc(&g->alloc, 1, sizeof *c);
  if (!c) return HN_ENOMEM;
  c->g = g;
  c->alloc = g->alloc;
  atomic_init(&c->refs, 1);
  atomic_init(&c->cancel, false);
  c->node = in->node;
  c->policy = in->node->policy;
  if (c->policy.timeout <= 0) c->policy.timeout = g->x->node_timeout;
  c->limit = find_limit(g, in->node);
  c->batch = in->batch;
  c->detached = hn__node_detached(g->x, in->node);
  c->m = in->batch ? in->m : 1;
  c->n_in = in->node->n_inputs;
  c->n_out = in->node->n_outputs;
  c->rng = (uint64_t)(uintptr_t)c ^ (uint64_t)(hn__now() * 1e9);
  hn_status st = alloc_parts(c);
  if (st != HN_OK) {
    hn__free(&c->alloc, c->att); /* the mutex was not made (or failed): free by hand */
    hn__free(&c->alloc, c->in_arr);
    hn__free(&c->alloc, c->in);
    hn__free(&c->alloc, c->args);
    hn__free(&c->alloc, (void *)c->out_types);
    hn__free(&c->alloc, c->b);
    hn__free(&c->alloc, c->out);
    hn__free(&c->alloc, c);
    snprintf(msg, cap, "out of memory calling node '%s'", in->node->name);
    return HN_ENOMEM;
  }
  hn__ctx_init(&c->ctx, &c->alloc, in->worker);
  c->ctx.stop = g->x->stop;
  c->ctx.cancel_flag = &c->cancel;
  if (c->detached) c->pipeline = hn_pipeline_retain(g->pipeline);
  for (int64_t k = 0; k < c->n_out; k++) c->out_types[k] = hn_type_retain(in->out_types[k]);
  st = make_inputs(c, in, msg, cap);
  for (int64_t k = 0; k < c->n_out && st == HN_OK && !c->batch; k++)
    st = hn_builder_create(&c->alloc, c->out_types[k], &c->b[k], NULL);
  if (st != HN_OK) {
    if (st == HN_ENOMEM) snprintf(msg, cap, "out of memory calling node '%s'", in->node->name);
    hn__gcall_unref(c);
    return st;
  }
  *out = c;
  return HN_OK;
}

/* ---- freeing -------------------------------------------------------------------------- */

void hn__gcall_unref(hn__gcall *c) {
  if (!c || atomic_fetch_sub(&c->refs, 1) != 1) return;
  const hn_allocator a = c->alloc;
  for (int64_t i = 0; i < c->n_in; i++) hn_array_release(c->in_arr[i]);
  for (int64_t k = 0; k < c->n_out; k++) {
    hn_builder_destroy(c->b[k]);
    hn_array_release(c->out[k]);
    hn_type_release(c->out_types[k]);
  }
  for (int k = 0; k < c->n_att; k++) hn__free(&a, c->att[k].message);
  hn__free(&a, c->messages);
  hn__ctx_destroy(&c->ctx);
  pthread_mutex_destroy(&c->mu);
  hn__free(&a, c->att);
  hn__free(&a, c->in_arr);
  hn__free(&a, c->in);
  hn__free(&a, c->args);
  hn__free(&a, (void *)c->out_types);
  hn__free(&a, c->b);
  hn__free(&a, c->out);
  hn_pipeline *p = c->pipeline;
  hn__free(&a, c);
  hn_pipeline_release(p); /* last: it may hold the allocator's context */
}

void hn__gcall_release(hn__gcall *c) {
  hn__gcall_unref(c);
}

/* ---- running -------------------------------------------------------------------------- */

static hn_status call_node(hn__gcall *c) {
  const hn_gnode *g = c->node;
  if (c->batch) {
    for (int64_t k = 0; k < c->n_out; k++) c->out[k] = NULL;
    return g->batch(g->user_data, c->args, c->m, c->out, &c->ctx);
  }
  for (int64_t k = 0; k < c->n_out; k++) hn__builder_rollback(c->b[k], 0);
  return g->row(g->user_data, c->in, c->b, &c->ctx);
}

/* The outputs of a row call that returned HN_OK hold one closed value each; else msg. */
static hn_status check_row(hn__gcall *c, char *msg, size_t cap) {
  for (int64_t k = 0; k < c->n_out; k++) {
    int64_t n = hn_builder_length(c->b[k]);
    if (n != 1) {
      hn__appended_message(c->node, k, n, msg, cap);
      return HN_ENODE;
    }
  }
  return hn__outputs_closed(c->node, c->b, msg, cap) ? HN_OK : HN_ENODE;
}

static void drop_outputs(hn__gcall *c) {
  for (int64_t k = 0; k < c->n_out; k++) {
    hn_array_release(c->out[k]);
    c->out[k] = NULL;
  }
}

/* Before an attempt: its deadline, published for the wait. */
static void attempt_begin(hn__gcall *c, int k) {
  double now = hn__now();
  pthread_mutex_lock(&c->mu);
  c->attempt_start = now;
  c->attempt_deadline = c->detached && c->policy.timeout > 0 ? now + c->policy.timeout : 0;
  atomic_store(&c->cancel, false);
  double deadline = c->attempt_deadline;
  pthread_mutex_unlock(&c->mu);
  c->ctx.attempt = k;
  c->ctx.deadline = deadline; /* what the node sees: the earlier of it and the call's */
  if (c->ctx.stop && c->ctx.stop->deadline > 0 &&
      (c->ctx.deadline <= 0 || c->ctx.stop->deadline < c->ctx.deadline))
    c->ctx.deadline = c->ctx.stop->deadline;
  if (deadline > 0) { /* the waiters look again: they now have a deadline to keep */
    pthread_mutex_lock(&c->g->mu);
    pthread_cond_broadcast(&c->g->done);
    pthread_mutex_unlock(&c->g->mu);
  }
}

/* After an attempt: false when the call was abandoned meanwhile (touch nothing more). */
static bool attempt_end(hn__gcall *c) {
  pthread_mutex_lock(&c->mu);
  bool gone = c->abandoned, slot = c->holds_slot;
  c->holds_slot = false;
  c->attempt_start = 0;
  c->attempt_deadline = 0;
  pthread_mutex_unlock(&c->mu);
  if (!gone && slot) hn__limit_release(c->g, c->limit);
  return !gone;
}

static bool should_retry(const hn__gcall *c, hn_status st, const char *msg, int k) {
  const hn_node_policy *p = &c->policy;
  if (k >= (p->attempts > 1 ? p->attempts : 1)) return false;
  if (c->ctx.stop && hn__stop_check(c->ctx.stop) != HN_OK) return false;
  if (p->retry_if) return p->retry_if(c->node->user_data, st, msg, k);
  if (p->retry_on) return (p->retry_on & HN_RETRY_ON(st)) != 0;
  return st != HN_ENOMEM && st != HN_ECANCELLED && st != HN_ETIMEDOUT;
}

static double uniform(hn__gcall *c) { /* xorshift64*: [0, 1) */
  c->rng ^= c->rng >> 12;
  c->rng ^= c->rng << 25;
  c->rng ^= c->rng >> 27;
  return (double)((c->rng * 2685821657736338717ull) >> 11) * 0x1.0p-53;
}

/* Wait before attempt k + 1; false when the call stopped meanwhile. */
static bool backoff(hn__gcall *c, int k) {
  const hn_node_policy *p = &c->policy;
  double f = p->backoff_factor > 0 ? p->backoff_factor : 2;
  double delay = p->backoff * pow(f, k - 1);
  if (p->backoff_max > 0 && delay > p->backoff_max) delay = p->backoff_max;
  delay *= 1 - p->jitter * uniform(c);
  double end = hn__now() + delay;
  bool watch = c->ctx.stop && atomic_load(&c->ctx.stop->polled);
  double now = hn__now();
  while (now < end) {
    if (watch && hn__stop_check(c->ctx.stop) != HN_OK) return false;
    double t = end - now;
    if (watch && t > SLEEP_SLICE) t = SLEEP_SLICE;
    struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
    nanosleep(&ts, NULL);
    now = hn__now();
  }
  return !watch || hn__stop_check(c->ctx.stop) == HN_OK;
}

static void record(hn__gcall *c, hn_status st, const char *msg, int64_t t0) {
  if (c->n_att >= c->cap_att) return;
  hn__attempt *a = &c->att[c->n_att];
  a->st = st;
  a->message = st == HN_OK ? NULL : hn__strdup(&c->alloc, msg);
  a->start_ns = t0;
  a->duration_ns = hn__now_ns() - t0;
  c->n_att++;
}

/* One attempt: its outcome into msg; outputs kept only on success. */
static hn_status attempt(hn__gcall *c, char *msg, size_t cap) {
  hn_status st = call_node(c);
  if (c->ctx.flags) hn__ctx_after_call(&c->ctx, st);
  double dl = c->attempt_deadline; /* the attempt's own (the call's is a stop, below) */
  if (dl > 0 && hn__now() >= dl) {
    if (c->ctx.flags & HN__CTX_MESSAGE) c->ctx.flags &= ~(unsigned)HN__CTX_MESSAGE;
    snprintf(msg, cap, "timed out after %g s", c->policy.timeout);
    st = HN_ETIMEDOUT;
  } else if (st != HN_OK) {
    st = hn__call_failure(&c->ctx, st, msg, cap);
  } else if (!c->batch) {
    st = check_row(c, msg, cap);
  }
  if (st != HN_OK && c->batch) drop_outputs(c);
  return st;
}

static void finish(hn__gcall *c, hn_status st) {
  for (int64_t k = 0; st == HN_OK && !c->batch && k < c->n_out; k++)
    st = hn_builder_finish(c->b[k], &c->out[k], NULL);
  if (st != HN_OK) drop_outputs(c);
  pthread_mutex_lock(&c->mu);
  c->status = st;
  c->finished = true;
  pthread_mutex_unlock(&c->mu);
}

bool hn__gcall_run(hn__gcall *c) {
  hn_status st = HN_OK;
  for (int k = 1;; k++) {
    hn_status stop = c->ctx.stop ? hn__stop_check(c->ctx.stop) : HN_OK;
    if (stop != HN_OK || (c->limit && !hn__limit_acquire(c))) {
      st = stop != HN_OK ? stop : hn__stop_check(c->ctx.stop);
      break;
    }
    attempt_begin(c, k);
    char msg[HN_ERROR_MESSAGE_MAX];
    int64_t t0 = hn__now_ns();
    st = attempt(c, msg, sizeof msg);
    if (!attempt_end(c)) {
      drop_outputs(c);
      return false;
    }
    record(c, st, msg, t0);
    if (st == HN_OK || !should_retry(c, st, msg, k)) break;
    if (!backoff(c, k)) {
      st = hn__stop_check(c->ctx.stop);
      break;
    }
  }
  finish(c, st);
  return true;
}

/* ---- results ---------------------------------------------------------------------------- */

hn_status hn__gcall_status(const hn__gcall *c) {
  return c->status;
}

const char *hn__gcall_message(const hn__gcall *c) {
  if (c->n_att > 0 && c->att[c->n_att - 1].st == c->status && c->att[c->n_att - 1].message)
    return c->att[c->n_att - 1].message;
  if (c->status == HN_ECANCELLED) return "cancelled";
  if (c->status == HN_ETIMEDOUT) return "the call timed out";
  return c->status == HN_OK ? "" : "out of memory";
}

int hn__gcall_attempts(const hn__gcall *c) {
  return c->n_att;
}

hn_status hn__gcall_attempt(const hn__gcall *c, int k, const char **message) {
  *message = c->att[k].message;
  return c->att[k].st;
}

const char *hn__gcall_messages(const hn__gcall *c) {
  if (c->n_att < 2) return NULL;
  hn__gcall *m = (hn__gcall *)c; /* made once, on the waiting thread */
  if (m->messages) return m->messages;
  size_t n = 1;
  for (int k = 0; k < c->n_att; k++) n += strlen(c->att[k].message ? c->att[k].message : "") + 1;
  m->messages = hn__malloc(&m->alloc, n);
  if (!m->messages) return NULL;
  size_t at = 0;
  for (int k = c->n_att - 1; k >= 0; k--) {
    const char *s = c->att[k].message ? c->att[k].message : "";
    size_t len = strlen(s);
    memcpy(m->messages + at, s, len);
    at += len;
    if (k > 0) m->messages[at++] = '\n';
  }
  m->messages[at] = '\0';
  return m->messages;
}

hn_array *hn__gcall_take_output(hn__gcall *c, int64_t k) {
  hn_array *a = c->out[k];
  c->out[k] = NULL;
  return a;
}

void hn__gcall_events(const hn__gcall *c, const hn__events *ev, hn__emit_fn emit, void *ctx,
                      int *attempt_no) {
  if (!ev->node_start && !ev->node_end && !ev->retry) return;
  for (int k = 0; k < c->n_att; k++) {
    *attempt_no = k + 1;
    const hn__attempt *a = &c->att[k];
    if (ev->node_start) emit(ctx, ev->node_start, HN_OK, NULL, a->start_ns, 0);
    if (ev->node_end) emit(ctx, ev->node_end, a->st, NULL, a->start_ns, a->duration_ns);
    if (ev->retry && k + 1 < c->n_att)
      emit(ctx, ev->retry, a->st, a->message, a->start_ns + a->duration_ns, 0);
  }
  *attempt_no = 0;
}
