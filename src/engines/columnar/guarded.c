/*
 * Guarded nodes on the columnar engine: a node with a policy is called
 * through guarded calls (exec/guard.h). A batch function gets the whole
 * batch retried as one call; if it still fails, its rows are called one by
 * one (the row function, else one-row batches), as an unguarded failed batch
 * is. Row calls of a morsel are started in waves, so an io node's rows are
 * in flight on the I/O pool at once; their outcomes are taken in row order.
 * Events fire per attempt on the worker, after the calls.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "columnar_internal.h"

#define ROW_WAVE_MAX 4096

typedef struct emit_ctx {
  cworker *w;
  const lvl *L;
  const char *node;
  int64_t row, n_rows;
} emit_ctx;

static void emit_one(void *p, hn_callback fn, hn_status st, const char *message, int64_t start_ns,
                     int64_t duration_ns) {
  emit_ctx *e = p;
  hn__col_emit(e->w, e->L, fn, e->node, e->row, e->n_rows, st, message, start_ns, duration_ns);
}

static void events(cworker *w, const lvl *L, const ncall *c, const hn__gcall *g, int64_t row,
                   int64_t n_rows) {
  emit_ctx e = {w, L, c->ps->node->name, row, n_rows};
  hn__gcall_events(g, &w->job->ev, emit_one, &e, &w->attempt);
}

/* The call stopped (not a node's failure): a fatal failure of the worker. */
static hn_status stopped(cworker *w, hn_status st) {
  hn__stop_error(w->job->x->stop, &w->ferr);
  return hn__col_fatal(w, st);
}

/* Row r of c (call row r; scalar: row 0 of each input) as a guarded call's input. */
static hn_status make_row(cworker *w, ncall *c, int64_t r, hn_datum *d, const hn_type **t,
                          bool *res, hn__gcall **out) {
  const hn_gnode *g = c->ps->node;
  for (int64_t k = 0; k < g->n_inputs; k++) {
    const cval *v = &c->in[k];
    d[k] = hn_array_get(v->arr, v->scalar ? 0 : r);
    t[k] = v->arr->type;
    res[k] = t[k]->id == HN_TYPE_OBJECT; /* objects pass as they are */
  }
  hn__gcall_in in = {.node = g,
                     .batch = g->row == NULL,
                     .m = 1,
                     .in = d,
                     .in_types = t,
                     .in_res = res,
                     .out_types = c->out_types,
                     .worker = w->index};
  char msg[HN_ERROR_MESSAGE_MAX];
  hn_status st = hn__gcall_create(w->job->guard, &in, out, msg, sizeof msg);
  if (st != HN_OK) {
    hn__error(&w->ferr, st, "%s", msg);
    return hn__col_fatal(w, st);
  }
  return HN_OK;
}

/* The outcome of row r: its values appended to b, or nulls and a failure. */
static hn_status take_row(cworker *w, lvl *L, ncall *c, int64_t r, hn__gcall *g, hn_builder **b) {
  const hn_gnode *node = c->ps->node;
  events(w, L, c, g, c->rows ? c->rows[r] : r, 1);
  hn_status cs = hn__gcall_status(g), st = HN_OK;
  hn_status stop = hn__call_stopped(w->job->x);
  if (cs != HN_OK && stop == cs) return stopped(w, stop);
  for (int64_t k = 0; k < node->n_outputs && st == HN_OK; k++) {
    hn_array *o = cs == HN_OK ? hn__gcall_take_output(g, k) : NULL;
    void *moved = o ? hn__array_steal_object(o, 0) : NULL;
    if (moved)
      st = hn_builder_append_object(b[k], moved);
    else
      st = o ? hn_builder_append_datum(b[k], hn_array_get(o, 0)) : hn_builder_append_null(b[k]);
    hn_array_release(o);
    if (st != HN_OK) st = hn__col_fatal(w, st);
  }
  if (st != HN_OK || cs == HN_OK) return st;
  return hn__col_call_fail(w, L, c, r, cs, hn__gcall_message(g), hn__gcall_attempts(g),
                           hn__gcall_messages(g));
}

/* Rows [0, m) as guarded row calls, a wave at a time; outputs in c->out. */
static hn_status call_rows(cworker *w, lvl *L, ncall *c) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  const hn_gnode *g = c->ps->node;
  int64_t m = c->scalar ? 1 : c->m, ni = g->n_inputs, no = g->n_outputs;
  int64_t wave = 2 * (int64_t)hn__node_inflight(j->x, g);
  if (wave > ROW_WAVE_MAX) wave = ROW_WAVE_MAX;
  if (wave > m) wave = m;
  hn_datum *d = NULL;
  const hn_type **t = NULL;
  bool *res = NULL;
  hn__gcall **calls = NULL;
  hn_builder **b = NULL;
  hn_status st = HN_OK;
  if (!NEWA(d, ni) || !NEWA(t, ni) || !NEWA(res, ni) || !NEWA(calls, wave) || !NEWA(b, no))
    st = hn__col_fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < no && st == HN_OK; k++) {
    st = hn_builder_create(a, c->out_types[k], &b[k], &w->ferr);
    if (st != HN_OK) st = hn__col_fatal(w, st);
  }
  for (int64_t first = 0; first < m && st == HN_OK; first += wave) {
    int64_t n = m - first < wave ? m - first : wave, made = 0;
    for (; made < n && st == HN_OK; made++) {
      st = make_row(w, c, first + made, d, t, res, &calls[made]);
      if (st == HN_OK) hn__gcall_start(j->guard, calls[made]);
    }
    hn__gcall_wait(j->guard, calls, st == HN_OK ? n : made - 1);
    for (int64_t i = 0; i < n && st == HN_OK; i++) st = take_row(w, L, c, first + i, calls[i], b);
    for (int64_t i = 0; i < made; i++) hn__gcall_release(calls[i]);
  }
  for (int64_t k = 0; b && k < no; k++) {
    if (st == HN_OK) {
      st = hn_builder_finish(b[k], &c->out[k], &w->ferr);
      if (st != HN_OK) st = hn__col_fatal(w, st);
    }
    hn_builder_destroy(b[k]);
  }
  hn__free(a, d);
  hn__free(a, (void *)t);
  hn__free(a, res);
  hn__free(a, calls);
  hn__free(a, b);
  return st;
}

/* The batch outputs have m rows of their types; else msg. */
static bool batch_ok(const ncall *c, hn__gcall *g, int64_t m, char *msg, size_t cap) {
  const hn_gnode *node = c->ps->node;
  for (int64_t k = 0; k < node->n_outputs; k++) {
    hn_array *o = hn__gcall_take_output(g, k);
    c->out[k] = o;
    if (o && o->length == m && hn_type_equals(o->type, c->out_types[k])) continue;
    char got[64] = "nothing", exp[64];
    if (o) hn_type_to_string(o->type, got, sizeof got);
    hn_type_to_string(c->out_types[k], exp, sizeof exp);
    snprintf(msg, cap,
             "batch function gave %lld rows of %s for output '%s' (expected %lld rows of %s)",
             (long long)(o ? o->length : 0), got, node->outputs[k], (long long)m, exp);
    return false;
  }
  return true;
}

/* The whole batch as one guarded call; HN_OK with *done false when its rows must be tried. */
static hn_status call_batch(cworker *w, lvl *L, ncall *c, bool *done) {
  const hn_allocator *a = &w->job->alloc;
  const hn_gnode *g = c->ps->node;
  int64_t m = c->scalar ? 1 : c->m;
  *done = false;
  hn_batch_arg *args = NULL;
  if (!NEWA(args, g->n_inputs)) return hn__col_fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < g->n_inputs; k++)
    args[k] = (hn_batch_arg){c->in[k].arr, c->in[k].scalar && !c->scalar};
  hn__gcall_in in = {.node = g,
                     .batch = true,
                     .m = m,
                     .args = args,
                     .out_types = c->out_types,
                     .worker = w->index};
  char msg[HN_ERROR_MESSAGE_MAX];
  hn__gcall *gc = NULL;
  hn_status st = hn__gcall_create(w->job->guard, &in, &gc, msg, sizeof msg);
  hn__free(a, args);
  if (st != HN_OK) {
    hn__error(&w->ferr, st, "%s", msg);
    return hn__col_fatal(w, st);
  }
  hn__gcall_start(w->job->guard, gc);
  hn__gcall_wait(w->job->guard, &gc, 1);
  events(w, L, c, gc, -1, m);
  hn_status cs = hn__gcall_status(gc);
  hn_status stop = hn__call_stopped(w->job->x);
  if (cs != HN_OK && cs == stop) {
    st = stopped(w, stop);
  } else if (cs == HN_OK && batch_ok(c, gc, m, msg, sizeof msg)) {
    *done = true;
  } else {
    for (int64_t k = 0; k < g->n_outputs; k++) {
      hn_array_release(c->out[k]);
      c->out[k] = NULL;
    }
  }
  hn__gcall_release(gc);
  return st;
}

hn_status hn__col_call_guarded(cworker *w, lvl *L, ncall *c) {
  if (c->ps->node->batch) {
    bool done = false;
    hn_status st = call_batch(w, L, c, &done);
    if (st != HN_OK || done) return st;
  }
  return call_rows(w, L, c);
}
