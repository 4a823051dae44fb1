/* Running one item through a frame: row, batch and nested steps, and failures under continue. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "items_internal.h"

/* A node function returned a failure: its message, from the context or the status. */
static hn_status node_returned(worker *w, const frame *f, const hn_gnode *g, hn_status st) {
  char msg[HN_ERROR_MESSAGE_MAX];
  st = hn__call_failure(&w->ctx, st, msg, sizeof msg);
  return hn__it_node_failure(w, f, g->name, st, msg);
}

/* After a row call: list and struct outputs hold exactly their closed elements. */
static inline bool outputs_closed(const xstep *x) {
  bool ok = true;
  for (int64_t k = 0; k < x->n_out && ok; k++)
    ok = !x->nested[k] || hn__builder_nested_ok(x->outs[k]);
  return ok;
}

static hn_status closed_failure(worker *w, const frame *f, const xstep *x) {
  char msg[HN_ERROR_MESSAGE_MAX];
  hn__outputs_closed(x->node, x->outs, msg, sizeof msg);
  return hn__it_node_failure(w, f, x->node->name, HN_ENODE, msg);
}

static hn_status appended_wrong(worker *w, const frame *f, const xstep *x, int64_t k) {
  char msg[HN_ERROR_MESSAGE_MAX];
  hn__appended_message(x->node, k, hn_builder_length(x->outs[k]) - f->rows[x->out_slots[k]], msg,
                       sizeof msg);
  return hn__it_node_failure(w, f, x->node->name, HN_ENODE, msg);
}

/* Input i of a batch-only node as a one-row array in x->barrs[i]. */
static hn_status batch_input(worker *w, frame *f, xstep *x, int64_t i) {
  const hn_gnode *g = x->node;
  int64_t slot = x->in_slots[i];
  hn_status st;
  if (!x->bin[i]) {
    if (!f->types[slot])
      return hn__it_node_failure_fmt(w, f, g->name, HN_ETYPE,
                                     "input '%s' of batch-only node '%s' has no known type",
                                     g->inputs[i], g->name);
    st = hn_builder_create(&w->job->alloc, f->types[slot], &x->bin[i], &w->ferr);
    if (st != HN_OK) return hn__it_fatal_filled(w, st);
  }
  hn_builder *b = x->bin[i];
  hn_datum d = x->in[i];
  if (d.type == HN_TYPE_OBJECT && !d.is_null && f->is_res[slot])
    st = hn_builder_append_object(b, d.v.object); /* a resource: never copied or freed */
  else
    st = hn_builder_append_datum(b, d);
  if (st == HN_ENOMEM)
    return hn__it_fatal(w, st, "out of memory passing input '%s' to node '%s'", g->inputs[i],
                        g->name);
  if (st != HN_OK)
    return hn__it_node_failure_fmt(w, f, g->name, st, "input '%s': %s", g->inputs[i],
                                   hn_builder_last_error(b));
  st = hn_builder_finish(b, &x->barrs[i], &w->ferr);
  if (st != HN_OK) return hn__it_fatal_filled(w, st);
  x->bargs[i].array = x->barrs[i];
  x->bargs[i].scalar = false;
  return HN_OK;
}

/* Output k of a batch call: one row of the right type, appended (an object moved). */
hn_status hn__it_batch_output(worker *w, frame *f, xstep *x, int64_t k) {
  const hn_gnode *g = x->node;
  hn_array *o = x->bouts[k];
  const hn_type *want = f->types[x->out_slots[k]];
  if (!o || o->length != 1 || !hn_type_equals(o->type, want)) {
    char got[64] = "nothing", exp[64];
    if (o) hn_type_to_string(o->type, got, sizeof got);
    hn_type_to_string(want, exp, sizeof exp);
    return hn__it_node_failure_fmt(w, f, g->name, HN_ENODE,
                                   "batch function gave %lld rows of %s for output '%s' "
                                   "(expected 1 row of %s)",
                                   (long long)(o ? o->length : 0), got, g->outputs[k], exp);
  }
  void *moved = hn__array_steal_object(o, 0); /* an object is moved, not copied */
  hn_status st = moved ? hn_builder_append_object(x->outs[k], moved)
                       : hn_builder_append_datum(x->outs[k], hn_array_get(o, 0));
  if (moved && st != HN_OK) { /* not taken: it goes with the failed row */
    const hn_object_vtable *vt = hn_type_object_vtable(o->type);
    vt->free(vt->ctx, moved);
  }
  if (st == HN_ENOMEM)
    return hn__it_fatal(w, st, "out of memory appending output '%s' of node '%s'", g->outputs[k],
                        g->name);
  if (st != HN_OK)
    return hn__it_node_failure_fmt(w, f, g->name, st, "output '%s': %s", g->outputs[k],
                                   hn_builder_last_error(x->outs[k]));
  if (x->read_out[k]) hn__it_read_output(f, x, k);
  return HN_OK;
}

/* A batch-only node in an item-major engine: one-row arrays in and out. */
static hn_status run_batch(worker *w, frame *f, xstep *x) {
  job *j = w->job;
  const hn_gnode *g = x->node;
  hn_status st = HN_OK;
  int64_t made = 0;
  for (; made < x->n_in && st == HN_OK; made++) st = batch_input(w, f, x, made);
  if (st == HN_OK) {
    int64_t t0 = j->ev.time_nodes ? hn__it_begin(w, f, j->ev.node_start, g->name, f->item) : 0;
    for (int64_t k = 0; k < x->n_out; k++) x->bouts[k] = NULL;
    st = g->batch(g->user_data, x->bargs, 1, x->bouts, &w->ctx);
    if (w->ctx.flags) hn__ctx_after_call(&w->ctx, st);
    if (st != HN_OK) st = node_returned(w, f, g, st);
    for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) st = hn__it_batch_output(w, f, x, k);
    for (int64_t k = 0; k < x->n_out; k++) {
      hn_array_release(x->bouts[k]);
      x->bouts[k] = NULL;
    }
    if (j->ev.time_nodes) hn__it_end(w, f, j->ev.node_end, g->name, f->item, st, t0);
  }
  for (int64_t i = 0; i < made && i < x->n_in; i++) {
    hn_array_release(x->barrs[i]);
    x->barrs[i] = NULL;
  }
  return st;
}

/*
 * Inner item count of a mapped nested node: zip or product of the list
 * lengths, or -1 when a mapped list is null (the outputs are then null).
 */
static hn_status nested_items(worker *w, frame *f, xstep *x, int64_t *n_inner) {
  const hn_gnode *g = x->node;
  for (int64_t k = 0; k < x->n_map; k++) {
    hn_datum d = x->in[x->map_i[k]];
    const char *name = g->inputs[x->map_i[k]];
    if (d.type != HN_TYPE_LIST)
      return hn__it_node_failure_fmt(w, f, g->name, HN_ETYPE, "mapped input '%s' is %s, not a list",
                                     name, hn_type_id_name(d.type));
    if (d.is_null) {
      *n_inner = -1; /* a null list maps to null outputs */
      return HN_OK;
    }
    x->map_list[k] = d;
    x->map_len[k] = d.v.list.length;
  }
  char msg[HN_ERROR_MESSAGE_MAX];
  hn_status st = hn__map_shape(g->map_mode, x->n_map, x->map_len, x->map_names, INT32_MAX, n_inner,
                               x->map_stride, msg, sizeof msg);
  if (st == HN_OK) return HN_OK;
  return hn__it_node_failure(w, f, g->name, st == HN_EINVAL ? HN_ENODE : st, msg);
}

/*
 * Inner items [t0, t1) of a mapped nested step, each with its item events;
 * *done counts the items run. The item path gets the inner index meanwhile.
 */
static hn_status run_inner_items(worker *w, frame *cf, xstep *x, int64_t t0, int64_t t1,
                                 int64_t *done) {
  job *j = w->job;
  hn_status st = HN_OK;
  int pos = w->path_len++;
  for (int64_t t = t0; t < t1; t++) {
    hn__it_put_inner_item(cf, x, t);
    w->path[pos] = t;
    w->path_dirty = true;
    cf->item = t;
    int64_t ti = j->ev.time_items ? hn__it_begin(w, cf, j->ev.item_start, NULL, t) : 0;
    st = hn__it_run_item(w, cf);
    if (j->ev.time_items) hn__it_end(w, cf, j->ev.item_end, NULL, t, st, ti);
    ++*done;
    if (st != HN_OK) break;
    hn__it_frame_item_end(cf);
  }
  w->path_len--;
  w->path_dirty = true;
  return st;
}

/*
 * Spread the rest of an inner map over the pool (inner_parallel.c) once the
 * items run so far took HN__SPREAD_AFTER_NS and the rest promises more than
 * HN__SPREAD_MIN_NS of work at their pace.
 */
static bool inner_parallel_worth(int64_t t_start, int64_t done, int64_t n_inner) {
  double spent = (double)(hn__now_ns() - t_start);
  return spent >= HN__SPREAD_AFTER_NS &&
         spent / (double)done * (double)(n_inner - done) >= HN__SPREAD_MIN_NS;
}

/* The inner map of a mapped nested step: map events, chunk pieces, items, list outputs. */
static hn_status run_inner_map(worker *w, frame *f, xstep *x, int64_t n_inner) {
  job *j = w->job;
  const hn_gnode *g = x->node;
  frame *cf = x->child;
  int64_t tm = j->ev.time_maps ? hn__it_span_begin(w, cf, j->ev.map_start, f->item, n_inner) : 0;
  hn_status st = HN_OK;
  bool spread = hn__it_inner_parallel_ok(w, x);
  int64_t t_start = spread ? hn__now_ns() : 0, step = 1;
  for (int64_t t = 0; t < n_inner && st == HN_OK;) {
    if (spread && t > 0 && inner_parallel_worth(t_start, t, n_inner)) {
      st = hn__it_inner_parallel(w, x, t, n_inner);
      break;
    }
    int64_t n = j->ev.time_chunks ? hn__it_piece_begin(w, cf, t, n_inner - t) : n_inner - t;
    if (spread && n > step) n = step; /* timed in growing steps until the pool is worth it */
    step *= 2;
    int64_t done = 0;
    st = run_inner_items(w, cf, x, t, t + n, &done);
    if (j->ev.time_chunks) hn__it_piece_end(w, cf, done, st);
    t += n;
  }
  if (j->ev.time_maps) hn__it_span_end(w, cf, j->ev.map_end, f->item, n_inner, st, tm);
  for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) {
    st = x->needed[k] ? hn_builder_finish_element(x->outs[k]) : hn_builder_append_null(x->outs[k]);
    if (st != HN_OK)
      st = hn__it_fatal(w, st, "nested node '%s', output '%s': %s", g->name, g->outputs[k],
                        hn_builder_last_error(x->outs[k]));
  }
  return st;
}

/* A nested step that is not mapped: one inner item, the outer one. */
static hn_status run_inner_once(worker *w, frame *f, xstep *x) {
  frame *cf = x->child;
  cf->item = f->item;
  hn_status st = hn__it_run_item(w, cf);
  if (st == HN_OK) hn__it_frame_item_end(cf);
  for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) {
    if (x->needed[k]) continue;
    st = hn_builder_append_null(x->outs[k]);
    if (st != HN_OK) st = hn__it_fatal(w, st, "nested node '%s': out of memory", x->node->name);
  }
  return st;
}

static hn_status run_nested(worker *w, frame *f, xstep *x) {
  job *j = w->job;
  const hn_gnode *g = x->node;
  frame *cf = x->child;
  int64_t tn = j->ev.time_nodes ? hn__it_begin(w, f, j->ev.node_start, g->name, f->item) : 0;
  hn_status st = HN_OK;
  int64_t n_inner = 1;
  if (x->n_map > 0) st = nested_items(w, f, x, &n_inner);
  if (st == HN_OK && n_inner < 0) {
    for (int64_t k = 0; k < x->n_out && st == HN_OK; k++)
      if (hn_builder_append_null(x->outs[k]) != HN_OK)
        st = hn__it_fatal(w, HN_ENOMEM, "out of memory writing a null for node '%s'", g->name);
  } else if (st == HN_OK) {
    hn__it_frame_begin(cf);
    for (int64_t q = 0; q < x->n_inner_in; q++) {
      int64_t i = x->feed[q];
      if (i < 0)
        hn__it_put(cf, q, x->bound[q]);
      else if (!g->mapped[i])
        hn__it_put(cf, q, x->in[i]);
    }
    int64_t tp =
        j->ev.time_pipelines ? hn__it_span_begin(w, cf, j->ev.pipeline_start, f->item, n_inner) : 0;
    st = x->n_map > 0 ? run_inner_map(w, f, x, n_inner) : run_inner_once(w, f, x);
    if (j->ev.time_pipelines) hn__it_span_end(w, cf, j->ev.pipeline_end, f->item, n_inner, st, tp);
  }
  for (int64_t k = 0; k < x->n_out && st == HN_OK; k++)
    if (x->read_out[k]) hn__it_read_output(f, x, k);
  if (j->ev.time_nodes) hn__it_end(w, f, j->ev.node_end, g->name, f->item, st, tn);
  return st;
}

/* CONTINUE: keep an error record for the current item (its first failure). */
static hn_status add_record(worker *w, const frame *f) {
  if (hn__records_add_attempts(&w->job->alloc, &w->cur->recs, f->item < 0 ? 0 : f->item, w->f_code,
                               w->f_path, w->f_node, w->f_msg, w->f_attempts,
                               w->f_messages) != HN_OK)
    return hn__it_fatal(w, HN_ENOMEM, "out of memory recording a failed item");
  return HN_OK;
}

/* Mark the step's outputs failed for this item: rolled back, then null. */
hn_status hn__it_null_outputs(worker *w, frame *f, xstep *x, bool roll_back) {
  for (int64_t k = 0; k < x->n_out; k++) {
    int64_t s = x->out_slots[k];
    if (roll_back) hn__builder_rollback(x->outs[k], f->rows[s]);
    if (hn_builder_append_null(x->outs[k]) != HN_OK)
      return hn__it_fatal(w, HN_ENOMEM, "out of memory writing a null for node '%s'",
                          x->node->name);
    f->bad[s] = 1;
  }
  return HN_OK;
}

/*
 * A step failed. Under CONTINUE (top frame) the item goes on without it:
 * its outputs become null and the steps that depend on them are skipped.
 * Otherwise the failure ends the item (and the chunk).
 */
hn_status hn__it_step_failed(worker *w, frame *f, xstep *x, hn_status st) {
  if (w->f_fatal || !f->top || w->job->x->policy != HN_ERRORS_CONTINUE) return st;
  hn_status rc = hn__it_null_outputs(w, f, x, true);
  if (rc == HN_OK && !f->item_bad) {
    f->item_bad = true;
    f->item_status = st;
    rc = add_record(w, f);
  }
  return rc;
}

bool hn__it_step_blocked(const frame *f, const xstep *x) {
  for (int64_t i = 0; i < x->n_in; i++)
    if (f->bad[x->in_slots[i]]) return true;
  return false;
}

/* Run every step of the frame's plan for the current item. */
hn_status hn__it_run_item(worker *w, frame *f) {
  return hn__it_run_steps(w, f, 0, f->n_steps);
}

hn_status hn__it_run_steps(worker *w, frame *f, int64_t from, int64_t to) {
  job *j = w->job;
  int64_t *rows = f->rows;
  for (int64_t s = from; s < to; s++) {
    xstep *x = &f->steps[s];
    if (HN__UNLIKELY(f->item_bad) && hn__it_step_blocked(f, x)) {
      hn_status rc = hn__it_null_outputs(w, f, x, false);
      if (rc != HN_OK) return rc;
      continue;
    }
    hn_status st;
    if (HN__LIKELY(x->kind == XS_ROW)) {
      /* The start time goes to the worker, not a local: nothing more stays live across the
       * call than without events. */
      if (HN__UNLIKELY(j->ev.time_nodes))
        w->node_t0 = hn__it_begin(w, f, j->ev.node_start, x->node->name, f->item);
      st = x->row(x->ud, x->in, x->outs, &w->ctx);
      if (HN__UNLIKELY(w->ctx.flags != 0)) hn__ctx_after_call(&w->ctx, st);
      if (HN__LIKELY(st == HN_OK)) {
        /* Exactly one row per output; read back what later steps consume. */
        for (int64_t k = 0; k < x->n_out; k++) {
          int64_t slot = x->out_slots[k], row = rows[slot];
          if (HN__UNLIKELY(x->outs[k]->length != row + 1)) {
            st = appended_wrong(w, f, x, k);
            break;
          }
          if (x->read_out[k]) hn__it_put_built(f, slot, x->outs[k], row);
        }
        if (HN__UNLIKELY(x->nested_out) && st == HN_OK && !outputs_closed(x))
          st = closed_failure(w, f, x);
      } else {
        st = node_returned(w, f, x->node, st);
      }
      if (HN__UNLIKELY(j->ev.time_nodes))
        hn__it_end(w, f, j->ev.node_end, x->node->name, f->item, st, w->node_t0);
    } else if (x->kind == XS_BATCH) {
      st = run_batch(w, f, x);
    } else if (x->kind == XS_GUARDED) {
      st = hn__it_run_guarded(w, f, x);
    } else {
      st = run_nested(w, f, x);
    }
    if (HN__UNLIKELY(st != HN_OK)) {
      st = hn__it_step_failed(w, f, x, st);
      if (st != HN_OK) return st;
    }
  }
  return HN_OK;
}

/*
 * End a failed item under CONTINUE. The failing step and the steps downstream
 * of it already wrote nulls; independent branches keep what they computed.
 */
hn_status hn__it_finish_failed_item(worker *w, frame *f) {
  (void)w;
  memset(f->bad, 0, (size_t)f->n_slots);
  f->item_bad = false;
  return HN_OK;
}
