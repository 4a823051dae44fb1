/* Node calls of the columnar engine: a row function looped over a morsel, a batch
 * function on whole columns, and finding the failing rows of a failed batch. */
#include <stdio.h>
#include <stdlib.h>

#include "columnar_internal.h"

/* The message of a failed node call; returns the code to report. */
static hn_status call_message(cworker *w, hn_status st, char *buf, size_t cap) {
  return hn__call_failure(&w->ctx, st, buf, cap);
}

static hn_status call_fail(cworker *w, lvl *L, ncall *c, int64_t j, hn_status code,
                           const char *msg) {
  return hn__col_call_fail(w, L, c, j, code, msg, 1, NULL);
}

hn_status hn__col_call_fail(cworker *w, lvl *L, ncall *c, int64_t j, hn_status code,
                            const char *msg, int64_t attempts, const char *messages) {
  const hn_allocator *a = &w->job->alloc;
  if (!c->fail && !NEWA(c->fail, c->m)) return hn__col_fatal(w, HN_ENOMEM);
  c->fail[j] = 1;
  const char *node = c->ps->node->name;
  if (c->scalar) {
    for (int64_t k = 0; k < c->n_rows; k++) {
      hn_status st = hn__col_row_failed_attempts(w, L, c->rows ? c->rows[k] : k, node, code, msg,
                                                 NULL, attempts, messages);
      if (st != HN_OK) return st;
    }
    return HN_OK;
  }
  return hn__col_row_failed_attempts(w, L, c->rows ? c->rows[j] : j, node, code, msg, NULL,
                                     attempts, messages);
}

/* The row function over rows [0, m), appending into one builder per output. */
hn_status hn__col_call_rows(cworker *w, lvl *L, ncall *c) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  const hn_gnode *g = c->ps->node;
  int64_t ni = g->n_inputs, no = g->n_outputs, m = c->scalar ? 1 : c->m;
  hn_datum dl[8];
  hn_builder *bl[8];
  hn_datum *d = ni <= 8 ? dl : hn__calloc(a, (size_t)ni, sizeof *d);
  hn_builder **b = no <= 8 ? bl : hn__calloc(a, (size_t)no, sizeof *b);
  hn_status st = d && b ? HN_OK : hn__col_fatal(w, HN_ENOMEM);
  int64_t made = 0;
  for (; made < no && st == HN_OK; made++) {
    b[made] = NULL;
    st = hn_builder_create(a, c->out_types[made], &b[made], &w->ferr);
    if (st == HN_OK) st = hn_builder_reserve(b[made], m);
    if (st != HN_OK) st = hn__col_fatal(w, st);
  }
  bool scal[64], nested = false;
  for (int64_t k = 0; k < no; k++) {
    hn_type_id id = c->out_types[k]->id;
    nested = nested || hn__type_is_nested(id);
  }
  for (int64_t k = 0; k < ni && st == HN_OK; k++) {
    if (k < 64) scal[k] = c->in[k].scalar;
    if (c->in[k].scalar) d[k] = hn_array_get(c->in[k].arr, 0);
  }
  bool started = st == HN_OK, timed = started && j->ev.time_nodes;
  int64_t t0 = timed ? hn__col_begin(w, L, j->ev.node_start, g->name, m) : 0;
  hn_status end_st = HN_OK;
  bool spread = st == HN_OK && hn__col_rows_spreadable(w, c);
  int64_t t_start = spread ? hn__now_ns() : 0;
  hn__stop *stop = j->x->stop; /* looked at every 8 rows */
  for (int64_t r = 0; r < m && st == HN_OK; r++) {
    if (HN__UNLIKELY(stop != NULL) && (r & 7) == 0 && hn__stop_check(stop) != HN_OK) {
      st = hn__col_fatal(w, hn__stop_error(stop, &w->ferr));
      break;
    }
    if (spread && (r & 15) == 0 && hn__col_rows_worth(t_start, r, m)) {
      st = hn__col_rows_spread(w, L, c, b, r, &end_st); /* rows [r, m) on the pool */
      break;
    }
    for (int64_t k = 0; k < ni; k++)
      if (k >= 64 ? !c->in[k].scalar : !scal[k]) d[k] = hn_array_get(c->in[k].arr, r);
    hn_status cs = g->row(g->user_data, d, b, &w->ctx);
    if (HN__UNLIKELY(w->ctx.flags != 0)) hn__ctx_after_call(&w->ctx, cs);
    char msg[HN_ERROR_MESSAGE_MAX];
    if (HN__LIKELY(cs == HN_OK)) {
      for (int64_t k = 0; k < no; k++)
        if (HN__UNLIKELY(hn_builder_length(b[k]) != r + 1)) {
          hn__appended_message(g, k, hn_builder_length(b[k]) - r, msg, sizeof msg);
          cs = HN_ENODE;
          break;
        }
      for (int64_t k = 0; HN__UNLIKELY(nested) && cs == HN_OK && k < no; k++)
        if (!hn__builder_nested_ok(b[k]) && !hn__outputs_closed(g, b, msg, sizeof msg))
          cs = HN_ENODE;
      if (HN__LIKELY(cs == HN_OK)) continue;
    } else {
      cs = call_message(w, cs, msg, sizeof msg);
    }
    end_st = cs;
    for (int64_t k = 0; k < no && st == HN_OK; k++) {
      hn__builder_rollback(b[k], r);
      if (hn_builder_append_null(b[k]) != HN_OK) st = hn__col_fatal(w, HN_ENOMEM);
    }
    if (st == HN_OK) st = call_fail(w, L, c, r, cs, msg);
  }
  if (timed) hn__col_end(w, L, j->ev.node_end, g->name, m, st != HN_OK ? st : end_st, t0);
  for (int64_t k = 0; k < made; k++) {
    if (st == HN_OK) {
      st = hn_builder_finish(b[k], &c->out[k], &w->ferr);
      if (st != HN_OK) st = hn__col_fatal(w, st);
    }
    hn_builder_destroy(b[k]);
  }
  if (d != dl) hn__free(a, d);
  if (b != bl) hn__free(a, b);
  return st;
}

/* One batch call over rows [0, m) of `args`; checks the outputs. Fills msg on failure. */
static hn_status batch_once(cworker *w, lvl *L, ncall *c, const hn_batch_arg *args, int64_t m,
                            hn_array **out, char *msg, size_t cap) {
  cjob *j = w->job;
  const hn_gnode *g = c->ps->node;
  for (int64_t k = 0; k < g->n_outputs; k++) out[k] = NULL;
  int64_t t0 = j->ev.time_nodes ? hn__col_begin(w, L, j->ev.node_start, g->name, m) : 0;
  hn_status st = g->batch(g->user_data, args, m, out, &w->ctx);
  if (w->ctx.flags) hn__ctx_after_call(&w->ctx, st);
  if (st != HN_OK) st = call_message(w, st, msg, cap);
  for (int64_t k = 0; k < g->n_outputs && st == HN_OK; k++) {
    hn_array *o = out[k];
    const hn_type *want = c->out_types[k];
    if (!o || o->length != m || !hn_type_equals(o->type, want)) {
      char got[64] = "nothing", exp[64];
      if (o) hn_type_to_string(o->type, got, sizeof got);
      hn_type_to_string(want, exp, sizeof exp);
      snprintf(msg, cap,
               "batch function gave %lld rows of %s for output '%s' (expected %lld "
               "rows of %s)",
               (long long)(o ? o->length : 0), got, g->outputs[k], (long long)m, exp);
      st = HN_ENODE;
    }
  }
  if (j->ev.time_nodes) hn__col_end(w, L, j->ev.node_end, g->name, m, st, t0);
  if (st != HN_OK)
    for (int64_t k = 0; k < g->n_outputs; k++) {
      hn_array_release(out[k]);
      out[k] = NULL;
    }
  return st;
}

/* Batch failed on several rows and there is no row function: one-row batch calls. */
static hn_status batch_isolate(cworker *w, lvl *L, ncall *c, hn_batch_arg *args) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  const hn_gnode *g = c->ps->node;
  int64_t ni = g->n_inputs, no = g->n_outputs;
  hn_batch_arg *one = NULL;
  hn_array **sl = NULL, **o1 = NULL;
  hn_builder **b = NULL;
  hn_status st = HN_OK;
  if (!NEWA(one, ni) || !NEWA(sl, ni) || !NEWA(o1, no) || !NEWA(b, no))
    st = hn__col_fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < no && st == HN_OK; k++) {
    st = hn_builder_create(a, c->out_types[k], &b[k], &w->ferr);
    if (st != HN_OK) st = hn__col_fatal(w, st);
  }
  for (int64_t r = 0; r < c->m && st == HN_OK; r++) {
    for (int64_t k = 0; k < ni && st == HN_OK; k++) {
      one[k] = args[k];
      if (args[k].scalar) continue;
      st = hn_array_slice((hn_array *)args[k].array, r, 1, &sl[k], &w->ferr);
      if (st != HN_OK) st = hn__col_fatal(w, st);
      one[k].array = sl[k];
    }
    char msg[HN_ERROR_MESSAGE_MAX];
    hn_status cs = st == HN_OK ? batch_once(w, L, c, one, 1, o1, msg, sizeof msg) : st;
    for (int64_t k = 0; k < ni; k++) {
      hn_array_release(sl[k]);
      sl[k] = NULL;
    }
    if (st != HN_OK) break;
    for (int64_t k = 0; k < no && st == HN_OK; k++) {
      st = cs == HN_OK ? hn_builder_append_datum(b[k], hn_array_get(o1[k], 0))
                       : hn_builder_append_null(b[k]);
      if (st != HN_OK) st = hn__col_fatal(w, st);
    }
    for (int64_t k = 0; k < no; k++) {
      hn_array_release(o1[k]);
      o1[k] = NULL;
    }
    if (st == HN_OK && cs != HN_OK) st = call_fail(w, L, c, r, cs, msg);
  }
  for (int64_t k = 0; b && k < no; k++) {
    if (st == HN_OK) {
      st = hn_builder_finish(b[k], &c->out[k], &w->ferr);
      if (st != HN_OK) st = hn__col_fatal(w, st);
    }
    hn_builder_destroy(b[k]);
  }
  hn__free(a, one);
  hn__free(a, sl);
  hn__free(a, o1);
  hn__free(a, b);
  return st;
}

hn_status hn__col_call_batch(cworker *w, lvl *L, ncall *c) {
  const hn_allocator *a = &w->job->alloc;
  const hn_gnode *g = c->ps->node;
  int64_t m = c->scalar ? 1 : c->m;
  hn_batch_arg *args = NULL;
  if (!NEWA(args, g->n_inputs)) return hn__col_fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < g->n_inputs; k++) {
    args[k].array = c->in[k].arr;
    args[k].scalar = c->in[k].scalar && !c->scalar;
  }
  char msg[HN_ERROR_MESSAGE_MAX];
  hn_status st = HN_OK;
  hn_status cs = batch_once(w, L, c, args, m, c->out, msg, sizeof msg);
  if (cs != HN_OK) {
    if (g->row) {
      st = hn__col_call_rows(w, L, c);
    } else if (m == 1) {
      for (int64_t k = 0; k < g->n_outputs && st == HN_OK; k++)
        st = hn__array_nulls(a, c->out_types[k], 1, &c->out[k], &w->ferr);
      if (st != HN_OK)
        st = hn__col_fatal(w, st);
      else
        st = call_fail(w, L, c, 0, cs, msg);
    } else {
      st = batch_isolate(w, L, c, args);
    }
  }
  hn__free(a, args);
  return st;
}
