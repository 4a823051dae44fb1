/* Frames: a plan prepared for one worker of the item executor (see items.c). */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "items_internal.h"

static void xstep_free(const hn_allocator *a, xstep *x) {
  hn__free(a, x->outs);
  hn__free(a, x->read_out);
  hn__free(a, x->nested);
  if (x->bin)
    for (int64_t i = 0; i < x->n_in; i++) hn_builder_destroy(x->bin[i]);
  hn__free(a, x->bin);
  hn__free(a, x->bargs);
  hn__free(a, x->barrs);
  hn__free(a, x->bouts);
  hn__free(a, (void *)x->gin_types);
  hn__free(a, (void *)x->gout_types);
  hn__free(a, x->gin_res);
  hn__it_frame_destroy(a, x->child);
  hn__free(a, x->feed);
  hn__free(a, x->bound);
  hn__free(a, x->map_i);
  hn__free(a, x->map_q);
  hn__free(a, x->map_len);
  hn__free(a, x->map_stride);
  hn__free(a, (void *)x->map_names);
  hn__free(a, x->map_list);
  hn__free(a, x->needed);
}

void hn__it_frame_destroy(const hn_allocator *a, frame *f) {
  if (!f) return;
  for (int64_t s = 0; f->steps && s < f->n_steps; s++) xstep_free(a, &f->steps[s]);
  for (int64_t s = 0; f->builders && f->owned && s < f->n_slots; s++)
    if (f->owned[s]) hn_builder_destroy(f->builders[s]);
  hn__free(a, f->steps);
  hn__free(a, f->ins);
  hn__free(a, f->dst_start);
  hn__free(a, f->dsts);
  hn__free(a, (void *)f->types);
  hn__free(a, f->is_res);
  hn__free(a, f->builders);
  hn__free(a, f->owned);
  hn__free(a, f->rows);
  hn__free(a, f->bslots);
  hn__free(a, f->scratch);
  hn__free(a, f->bad);
  hn__free(a, f);
}

/* The nested part of a step: feeds, mapped inputs and the child frame. */
/* Inner input q fed by nothing outside: the inner pipeline's bound value (type-checked by the
 * plan). */
static hn_status bound_inner_input(worker *w, xstep *x, int64_t q, const hn_type **type) {
  const hn_plan *ip = x->ps->inner;
  int64_t row = 0;
  const hn_array *bound = hn__plan_input_bound(ip, q, &row);
  if (!bound)
    return hn__it_fatal(w, HN_EINTERNAL, "nested node '%s': inner input '%s' has no source",
                        x->node->name, ip->input_names[q]);
  x->bound[q] = hn_array_get(bound, row);
  *type = bound->type;
  return HN_OK;
}

static hn_status nested_init(worker *w, frame *f, xstep *x) {
  const hn_allocator *a = &w->job->alloc;
  const hn_plan_step *ps = x->ps;
  const hn_plan *ip = ps->inner;
  const hn_gnode *g = x->node;
  x->n_inner_in = ip->n_inputs;
  x->n_map = g->n_map;
  const hn_type **in_types = NULL;
  bool *in_res = NULL;
  hn_builder **borrow = NULL;
  if (!NEW_ARRAY(x->feed, ip->n_inputs) || !NEW_ARRAY(x->bound, ip->n_inputs) ||
      !NEW_ARRAY(x->map_i, x->n_map) || !NEW_ARRAY(x->map_q, x->n_map) ||
      !NEW_ARRAY(x->map_len, x->n_map) || !NEW_ARRAY(x->map_stride, x->n_map) ||
      !NEW_ARRAY(x->map_names, x->n_map) || !NEW_ARRAY(x->map_list, x->n_map) ||
      !NEW_ARRAY(x->needed, x->n_out) || !NEW_ARRAY(in_types, ip->n_inputs) ||
      !NEW_ARRAY(in_res, ip->n_inputs) || !NEW_ARRAY(borrow, ip->n_slots)) {
    hn__free(a, (void *)in_types);
    hn__free(a, in_res);
    hn__free(a, borrow);
    return hn__it_fatal(w, HN_ENOMEM, "out of memory preparing nested node '%s'", g->name);
  }
  hn_status st = HN_OK;
  for (int64_t q = 0; q < ip->n_inputs; q++) x->feed[q] = -1;
  for (int64_t i = 0; i < g->n_inputs; i++) {
    int64_t q = ps->inner_input_index[i];
    if (q >= 0) x->feed[q] = i;
  }
  /* In map_over order: in product mode the last one varies fastest. */
  for (int64_t k = 0; k < x->n_map; k++) {
    x->map_i[k] = g->map_order[k];
    x->map_names[k] = g->inputs[g->map_order[k]];
    x->map_q[k] = ps->inner_input_index[g->map_order[k]];
  }
  for (int64_t q = 0; q < ip->n_inputs && st == HN_OK; q++) {
    int64_t i = x->feed[q];
    if (i >= 0) {
      const hn_type *t = f->types[x->in_slots[i]];
      if (g->mapped[i]) t = t && t->id == HN_TYPE_LIST ? t->item : NULL;
      in_types[q] = t;
      in_res[q] = !g->mapped[i] && f->is_res[x->in_slots[i]];
      continue;
    }
    st = bound_inner_input(w, x, q, &in_types[q]);
  }
  for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) {
    int64_t r = ps->inner_output_index[k];
    if (r < 0) continue;
    x->needed[k] = true;
    int64_t s = ip->requested_slots[r];
    hn_builder *b = x->n_map > 0 ? hn_builder_child(x->outs[k], 0) : x->outs[k];
    if (!b || borrow[s])
      st = hn__it_fatal(w, HN_EINTERNAL, "nested node '%s': output '%s' cannot be wired", g->name,
                        g->outputs[k]);
    else
      borrow[s] = b;
  }
  if (st == HN_OK)
    st = hn__it_frame_create(w, ip, f->depth + 1, false, in_types, in_res, borrow, &x->child);
  hn__free(a, (void *)in_types);
  hn__free(a, in_res);
  hn__free(a, borrow);
  return st;
}

static hn_status step_init(worker *w, frame *f, xstep *x, const hn_plan_step *ps,
                           const bool *consumed) {
  const hn_allocator *a = &w->job->alloc;
  x->ps = ps;
  x->node = ps->node;
  x->n_in = ps->node->n_inputs;
  x->n_out = ps->node->n_outputs;
  x->in_slots = ps->in_slots;
  x->out_slots = ps->out_slots;
  if (!NEW_ARRAY(x->outs, x->n_out) || !NEW_ARRAY(x->read_out, x->n_out) ||
      !NEW_ARRAY(x->nested, x->n_out))
    return hn__it_fatal(w, HN_ENOMEM, "out of memory preparing node '%s'", x->node->name);
  for (int64_t k = 0; k < x->n_out; k++) {
    x->outs[k] = f->builders[x->out_slots[k]];
    x->read_out[k] = consumed[x->out_slots[k]];
    hn_type_id id = f->types[x->out_slots[k]] ? f->types[x->out_slots[k]]->id : HN_TYPE_BOOL;
    x->nested[k] = hn__type_is_nested(id);
    x->nested_out = x->nested_out || x->nested[k];
  }
  if (ps->inner) {
    x->kind = XS_NESTED;
    return nested_init(w, f, x);
  }
  if (hn__node_guarded(w->job->x, x->node)) return hn__it_guarded_init(w, f, x);
  if (x->node->row) {
    x->kind = XS_ROW;
    x->row = x->node->row;
    x->ud = x->node->user_data;
    return HN_OK;
  }
  x->kind = XS_BATCH;
  if (!NEW_ARRAY(x->bin, x->n_in) || !NEW_ARRAY(x->bargs, x->n_in) ||
      !NEW_ARRAY(x->barrs, x->n_in) || !NEW_ARRAY(x->bouts, x->n_out))
    return hn__it_fatal(w, HN_ENOMEM, "out of memory preparing node '%s'", x->node->name);
  return HN_OK;
}

hn_status hn__it_frame_create(worker *w, const hn_plan *plan, int depth, bool top,
                              const hn_type *const *in_types, const bool *in_res,
                              hn_builder *const *borrow, frame **out) {
  const hn_allocator *a = &w->job->alloc;
  int64_t n = plan->n_slots, n_ins = 0;
  for (int64_t s = 0; s < plan->n_steps; s++) n_ins += plan->steps[s].node->n_inputs;
  frame *f = hn__calloc(a, 1, sizeof *f);
  bool *consumed = NULL, *requested = NULL;
  if (!f) return hn__it_fatal(w, HN_ENOMEM, "out of memory preparing a plan");
  f->plan = plan;
  f->pipeline = plan->pipeline->name ? plan->pipeline->name : "";
  f->depth = depth;
  f->top = top;
  f->n_slots = n;
  f->item = -1;
  if (!NEW_ARRAY(f->ins, n_ins) || !NEW_ARRAY(f->dst_start, n + 1) || !NEW_ARRAY(f->dsts, n_ins) ||
      !NEW_ARRAY(f->types, n) || !NEW_ARRAY(f->is_res, n) || !NEW_ARRAY(f->builders, n) ||
      !NEW_ARRAY(f->owned, n) || !NEW_ARRAY(f->rows, n) || !NEW_ARRAY(f->bslots, n) ||
      !NEW_ARRAY(f->scratch, n) || !NEW_ARRAY(f->bad, n) || !NEW_ARRAY(f->steps, plan->n_steps) ||
      !NEW_ARRAY(consumed, n) || !NEW_ARRAY(requested, n)) {
    hn__free(a, consumed);
    hn__free(a, requested);
    hn__it_frame_destroy(a, f);
    return hn__it_fatal(w, HN_ENOMEM, "out of memory preparing a plan");
  }
  f->n_steps = plan->n_steps;
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    f->types[q] = in_types[q];
    f->is_res[q] = in_res ? in_res[q] : false;
  }
  for (int64_t s = plan->n_inputs; s < n; s++) f->types[s] = plan->slot_types[s];
  /* Consumers of each slot: the input positions its value is written to. */
  for (int64_t s = 0; s < plan->n_steps; s++)
    for (int64_t i = 0; i < plan->steps[s].node->n_inputs; i++) {
      consumed[plan->steps[s].in_slots[i]] = true;
      f->dst_start[plan->steps[s].in_slots[i] + 1]++;
    }
  for (int64_t s = 0; s < n; s++) f->dst_start[s + 1] += f->dst_start[s];
  int64_t *fill = f->rows; /* scratch until the builders exist: next free position per slot */
  for (int64_t s = 0; s < n; s++) fill[s] = f->dst_start[s];
  for (int64_t s = 0, off = 0; s < plan->n_steps; s++) {
    f->steps[s].in = f->ins + off;
    for (int64_t i = 0; i < plan->steps[s].node->n_inputs; i++)
      f->dsts[fill[plan->steps[s].in_slots[i]]++] = &f->ins[off + i];
    off += plan->steps[s].node->n_inputs;
  }
  memset(fill, 0, sizeof *fill * (size_t)n);
  for (int64_t r = 0; r < plan->n_requested; r++) requested[plan->requested_slots[r]] = true;
  hn_status st = HN_OK;
  for (int64_t s = plan->n_inputs; s < n && st == HN_OK; s++) {
    f->bslots[f->n_bslots++] = s;
    if (borrow && borrow[s]) {
      f->builders[s] = borrow[s];
      continue;
    }
    st = hn_builder_create(a, f->types[s], &f->builders[s], &w->ferr);
    if (st != HN_OK) {
      st = hn__it_fatal_filled(w, st);
      break;
    }
    f->owned[s] = true;
    if (!top || !requested[s]) f->scratch[f->n_scratch++] = s;
  }
  for (int64_t s = 0; s < plan->n_steps && st == HN_OK; s++)
    st = step_init(w, f, &f->steps[s], &plan->steps[s], consumed);
  hn__free(a, consumed);
  hn__free(a, requested);
  if (st != HN_OK) {
    hn__it_frame_destroy(a, f);
    return st;
  }
  *out = f;
  return HN_OK;
}

/* Before a nested execution: empty owned builders, rows from the borrowed ones. */
void hn__it_frame_begin(frame *f) {
  for (int64_t k = 0; k < f->n_bslots; k++) {
    int64_t s = f->bslots[k];
    if (f->owned[s]) {
      hn__builder_rollback(f->builders[s], 0);
      f->rows[s] = 0;
    } else {
      f->rows[s] = hn_builder_length(f->builders[s]);
    }
  }
  f->since_reset = 0;
}

/* After an item: every output slot got one row; now and then drop scratch rows. */
void hn__it_frame_item_end(frame *f) {
  for (int64_t k = 0; k < f->n_bslots; k++) f->rows[f->bslots[k]]++;
  if (++f->since_reset < HN__RESET_EVERY) return;
  f->since_reset = 0;
  for (int64_t k = 0; k < f->n_scratch; k++) {
    int64_t s = f->scratch[k];
    hn__builder_truncate(f->builders[s], 0);
    f->rows[s] = 0;
  }
}
