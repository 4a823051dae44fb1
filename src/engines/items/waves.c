/*
 * Waves: how an item-major worker keeps many calls of an io node in flight.
 *
 * A chunk whose top plan has io steps runs in waves of items. The steps are
 * cut at each io step into segments; a wave runs the first segment for all
 * its items (item by item, depth-first as usual), then starts the io step's
 * calls of all its items on the I/O pool, waits for them, appends their
 * outputs in item order, then runs the next segment for all items, and so on.
 * Every step still appends one row per item in item order, so an item's
 * values are found again at row base + i of each builder: before an item
 * runs a segment its inputs are put back from there (and its failure state
 * from the wave's arrays). Results, records and events are those of the
 * depth-first run; only the interleaving of events across items differs.
 * Under raise the lowest failing item wins, as in run_chunk: items after it
 * are dropped, items before it still run to the end.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "items_internal.h"

#define WAVE_MIN 16
#define WAVE_MAX 4096

/* One wave's per-item state. */
typedef struct wave {
  int64_t first; /* chunk-relative index of item 0 */
  int64_t n;
  int64_t *base;     /* per slot: the builder row of item 0 */
  uint8_t *bad;      /* n x n_slots: failed slots (CONTINUE) */
  bool *item_bad;    /* per item: it failed (CONTINUE) */
  hn_status *status; /* per item: its first failure (CONTINUE) */
  bool *dead;        /* per item: dropped (RAISE: at or after the lowest failure) */
  hn__gcall **calls; /* per item: the io step's call */
  int64_t fail_i;    /* RAISE: the lowest failing item, or INT64_MAX */
  hn_status fail_st; /* ... its status */
  worker saved;      /* ... the worker's failure fields then */
  char *saved_messages;
} wave;

static int64_t wave_size(worker *w) {
  const frame *f = w->top;
  int64_t size = WAVE_MIN;
  for (int64_t s = 0; s < f->n_steps; s++)
    if (f->steps[s].async) {
      int64_t k = 2 * (int64_t)hn__node_inflight(w->job->x, f->steps[s].node);
      if (k > size) size = k;
    }
  return size < WAVE_MAX ? size : WAVE_MAX;
}

/* The current item of f becomes item i of the wave: its row, its inputs, its failure state. */
static void restore(worker *w, wave *v, int64_t i) {
  job *j = w->job;
  frame *f = w->top;
  chunk *c = w->cur;
  int64_t row_item = c->start + v->first + i;
  hn__it_put_mapped(w, row_item);
  for (int64_t k = 0; k < f->n_bslots; k++) {
    int64_t s = f->bslots[k], row = v->base[s] + i;
    f->rows[s] = row;
    if (row < hn_builder_length(f->builders[s]))
      hn__it_put_row(f, s, hn__builder_view(f->builders[s]), row);
  }
  memcpy(f->bad, v->bad + i * f->n_slots, (size_t)f->n_slots);
  f->item_bad = v->item_bad[i];
  f->item_status = v->status[i];
  if (j->x->is_map) {
    int64_t item = hn__call_item(j->x, j->o->item_base + row_item);
    w->path[0] = item;
    w->path_len = 1;
    w->path_dirty = true;
    f->item = item;
  }
}

static void save(worker *w, wave *v, int64_t i) {
  frame *f = w->top;
  memcpy(v->bad + i * f->n_slots, f->bad, (size_t)f->n_slots);
  v->item_bad[i] = f->item_bad;
  v->status[i] = f->item_status;
}

/* Item i failed under RAISE with st: keep the lowest failure; drop the items after it. */
static void item_died(worker *w, wave *v, int64_t i, hn_status st) {
  if (i < v->fail_i) {
    v->fail_i = i;
    v->fail_st = st;
    v->saved.f_code = w->f_code;
    memcpy(v->saved.f_node, w->f_node, sizeof w->f_node);
    memcpy(v->saved.f_msg, w->f_msg, sizeof w->f_msg);
    memcpy(v->saved.f_path, w->f_path, sizeof w->f_path);
    v->saved.f_attempts = w->f_attempts;
    hn__free(&w->job->alloc, v->saved_messages);
    v->saved_messages = w->f_messages;
    w->f_messages = NULL;
  }
  for (int64_t k = i; k < v->n; k++) v->dead[k] = true;
}

/* Steps [from, to) for every live item of the wave. */
static hn_status run_segment(worker *w, wave *v, int64_t from, int64_t to) {
  frame *f = w->top;
  for (int64_t i = 0; i < v->n; i++) {
    if (v->dead[i]) continue;
    restore(w, v, i);
    hn_status st = hn__it_run_steps(w, f, from, to);
    if (st != HN_OK) {
      if (w->f_fatal) return st;
      item_died(w, v, i, st);
      continue;
    }
    save(w, v, i);
  }
  return HN_OK;
}

/* The io step s for every live item: calls started together, outcomes taken in item order. */
static hn_status run_async(worker *w, wave *v, int64_t s) {
  frame *f = w->top;
  xstep *x = &f->steps[s];
  hn_status st = HN_OK;
  for (int64_t i = 0; i < v->n && st == HN_OK; i++) {
    v->calls[i] = NULL;
    if (v->dead[i]) continue;
    restore(w, v, i);
    if (f->item_bad && hn__it_step_blocked(f, x)) continue;
    st = hn__it_gcall_make(w, f, x, &v->calls[i]);
    if (st == HN_OK) hn__gcall_start(w->job->guard, v->calls[i]);
  }
  hn__gcall_wait(w->job->guard, v->calls, v->n);
  if (st != HN_OK) return w->f_fatal ? st : hn__it_fatal(w, st, "%s", w->f_msg);
  for (int64_t i = 0; i < v->n && st == HN_OK; i++) {
    if (v->dead[i]) continue;
    restore(w, v, i);
    hn_status cs =
        v->calls[i] ? hn__it_gcall_take(w, f, x, v->calls[i]) : hn__it_null_outputs(w, f, x, false);
    if (cs != HN_OK) cs = hn__it_step_failed(w, f, x, cs);
    if (cs != HN_OK && w->f_fatal)
      st = cs;
    else if (cs != HN_OK)
      item_died(w, v, i, cs);
    else
      save(w, v, i);
  }
  for (int64_t i = 0; i < v->n; i++) {
    hn__gcall_release(v->calls[i]);
    v->calls[i] = NULL;
  }
  return st;
}

/* One wave: every segment, then the items' end events and rows. */
static hn_status run_wave(worker *w, wave *v) {
  job *j = w->job;
  frame *f = w->top;
  for (int64_t k = 0; k < f->n_scratch; k++) { /* nothing of an earlier wave is read again */
    hn__builder_truncate(f->builders[f->scratch[k]], 0);
    f->rows[f->scratch[k]] = 0;
  }
  for (int64_t k = 0; k < f->n_bslots; k++) v->base[f->bslots[k]] = f->rows[f->bslots[k]];
  memset(v->bad, 0, (size_t)(v->n * f->n_slots));
  for (int64_t i = 0; i < v->n; i++) {
    v->item_bad[i] = false;
    v->status[i] = HN_OK;
    v->dead[i] = false;
  }
  /* An item of a wave runs from the wave's start to its end (timed item events). */
  int64_t t0 = j->ev.time_items ? hn__now_ns() : 0;
  for (int64_t i = 0; i < v->n && j->ev.item_start && j->x->is_map; i++) {
    restore(w, v, i);
    hn__it_emit(w, f, j->ev.item_start, NULL, f->item, HN_OK, NULL, t0, 0);
  }
  hn_status st = HN_OK;
  for (int64_t s = 0, from = 0; s <= f->n_steps && st == HN_OK; s++) {
    if (s < f->n_steps && !f->steps[s].async) continue;
    if (s > from) st = run_segment(w, v, from, s);
    if (st == HN_OK && s < f->n_steps) st = run_async(w, v, s);
    from = s + 1;
  }
  if (st != HN_OK) return st;
  int64_t d = j->ev.time_items ? hn__now_ns() - t0 : 0;
  for (int64_t i = 0; i < v->n && j->ev.item_end && j->x->is_map; i++) {
    restore(w, v, i);
    hn__it_emit(w, f, j->ev.item_end, NULL, f->item, i == v->fail_i ? v->fail_st : v->status[i],
                NULL, t0, d);
  }
  for (int64_t k = 0; k < f->n_bslots; k++) f->rows[f->bslots[k]] = v->base[f->bslots[k]] + v->n;
  memset(f->bad, 0, (size_t)f->n_slots);
  f->item_bad = false;
  return HN_OK;
}

static void wave_free(const hn_allocator *a, wave *v) {
  hn__free(a, v->base);
  hn__free(a, v->bad);
  hn__free(a, v->item_bad);
  hn__free(a, v->status);
  hn__free(a, v->dead);
  hn__free(a, v->calls);
  hn__free(a, v->saved_messages);
}

/* The call stopped in the wave at `first`: the items before it are the chunk's outputs. */
static hn_status waves_stopped(worker *w, chunk *c, wave *v, hn_status stop) {
  frame *f = w->top;
  for (int64_t r = 0; r < f->plan->n_requested; r++) {
    int64_t s = f->plan->requested_slots[r];
    hn__builder_rollback(f->builders[s], v->base[s]);
  }
  c->count = v->first;
  hn_status st = hn__it_chunk_collect(w, c);
  if (st != HN_OK) return st;
  hn__stop_error(w->job->x->stop, &w->ferr);
  return hn__it_fatal_filled(w, stop);
}

/* RAISE: the wave's lowest failure becomes the worker's failure. */
static hn_status wave_failed(worker *w, wave *v) {
  w->f_fatal = false;
  w->f_code = v->saved.f_code;
  memcpy(w->f_node, v->saved.f_node, sizeof w->f_node);
  memcpy(w->f_msg, v->saved.f_msg, sizeof w->f_msg);
  memcpy(w->f_path, v->saved.f_path, sizeof w->f_path);
  w->f_attempts = v->saved.f_attempts;
  hn__free(&w->job->alloc, w->f_messages);
  w->f_messages = v->saved_messages;
  v->saved_messages = NULL;
  return v->fail_st;
}

hn_status hn__it_run_chunk_waves(worker *w, chunk *c) {
  job *j = w->job;
  const hn_allocator *a = &j->alloc;
  frame *f = w->top;
  int64_t size = wave_size(w);
  wave v;
  memset(&v, 0, sizeof v);
  if (!NEW_ARRAY(v.base, f->n_slots) || !NEW_ARRAY(v.bad, size * f->n_slots) ||
      !NEW_ARRAY(v.item_bad, size) || !NEW_ARRAY(v.status, size) || !NEW_ARRAY(v.dead, size) ||
      !NEW_ARRAY(v.calls, size)) {
    wave_free(a, &v);
    return hn__it_fatal(w, HN_ENOMEM, "out of memory running items in waves");
  }
  hn_status st = HN_OK;
  v.fail_i = INT64_MAX;
  for (v.first = 0; v.first < c->count && st == HN_OK; v.first += v.n) {
    v.n = c->count - v.first < size ? c->count - v.first : size;
    for (int64_t k = 0; k < f->n_bslots; k++) v.base[f->bslots[k]] = f->rows[f->bslots[k]];
    hn_status stop = hn__call_stopped(j->x);
    if (stop == HN_OK) st = run_wave(w, &v);
    if (stop == HN_OK && st != HN_OK && w->f_fatal) stop = hn__call_stopped(j->x);
    if (stop != HN_OK && (st == HN_OK || st == stop)) {
      st = waves_stopped(w, c, &v, stop);
      wave_free(a, &v);
      return st;
    }
    if (st == HN_OK && v.fail_i != INT64_MAX) st = wave_failed(w, &v);
  }
  wave_free(a, &v);
  return st == HN_OK ? hn__it_chunk_collect(w, c) : st;
}
