/*
 * The inner items of a mapped nested step spread over the engine's pool,
 * for a run (one outer item) that would otherwise keep every worker but one
 * idle. The calling worker runs the first inner items itself, timing them
 * (run_inner_map in steps.c); when the rest is worth it (inner_parallel_worth),
 * the rest is cut into ranges that the pool's threads claim in order. Each
 * thread runs its ranges in a frame of its own (its own builders, context and
 * item path, the calling worker's path as its prefix), and finishes each
 * range's inner outputs into arrays; the calling worker then appends them,
 * range by range, to the outer list builders, exactly as if it had run the
 * items itself. A failure stops the ranges after it; the lowest failing
 * range's (hence the lowest failing item's) failure becomes the calling
 * worker's, as when items run one by one. Events fire on the pool's threads,
 * with their item paths and depths.
 *
 * Not used when the inner pipeline reads a resource or object value, or
 * yields objects (per-worker instances and process-local pointers must not
 * be shared), nor below the outermost nested step.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "items_internal.h"

#define RANGES_PER_THREAD 4 /* ranges per pool thread: balance against per-range cost */

/* One range of inner items and what came of it. */
typedef struct range {
  int64_t t0, t1;
  hn_array **cols; /* per inner requested output, when it succeeded */
  hn_status st;
  bool ran;
  /* The failure, as a worker holds it (copied to the calling worker). */
  bool f_fatal;
  hn_status f_code;
  char f_node[HN_ERROR_NODE_MAX];
  char f_msg[HN_ERROR_MESSAGE_MAX];
  char f_path[HN_ERROR_PATH_MAX];
  hn_error ferr;
} range;

typedef struct inner_job {
  worker *w; /* the calling worker */
  xstep *x;  /* the nested step; x->child is its inner frame */
  range *ranges;
  int64_t n_ranges;
  _Atomic int64_t next;      /* the next range to claim */
  _Atomic int64_t fail_from; /* the lowest failed range (INT64_MAX: none) */
} inner_job;

bool hn__it_inner_parallel_ok(const worker *w, const xstep *x) {
  const frame *cf = x->child;
  if (!w->job->helpers || w->path_len != 0 || hn__pool_size(w->job->helpers) < 2) return false;
  for (int64_t q = 0; q < cf->plan->n_inputs; q++)
    if (cf->is_res[q] || (cf->types[q] && hn_type_has_object(cf->types[q]))) return false;
  for (int64_t r = 0; r < cf->plan->n_requested; r++) {
    const hn_type *t = cf->types[cf->plan->requested_slots[r]];
    if (!t || hn_type_has_object(t)) return false;
  }
  return true;
}

/* Keep worker hw's failure in the range. */
static void keep_failure(range *r, const worker *hw, hn_status st) {
  r->st = st;
  r->f_fatal = hw->f_fatal;
  r->f_code = hw->f_code;
  memcpy(r->f_node, hw->f_node, sizeof r->f_node);
  memcpy(r->f_msg, hw->f_msg, sizeof r->f_msg);
  memcpy(r->f_path, hw->f_path, sizeof r->f_path);
  r->ferr = hw->ferr;
}

/* Items [r->t0, r->t1) in frame hf of helper hw; the inner outputs finished into r->cols. */
static hn_status run_range(worker *hw, frame *hf, const xstep *x, range *r) {
  const hn_gnode *g = x->node;
  const hn_plan *ip = hf->plan;
  hn__it_frame_begin(hf);
  for (int64_t q = 0; q < x->n_inner_in; q++) {
    int64_t i = x->feed[q];
    if (i < 0)
      hn__it_put(hf, q, x->bound[q]);
    else if (!g->mapped[i])
      hn__it_put(hf, q, x->in[i]);
  }
  hn_status st = HN_OK;
  int pos = hw->path_len++;
  for (int64_t t = r->t0; t < r->t1 && st == HN_OK; t++) {
    hn__it_put_inner_item(hf, x, t);
    hw->path[pos] = t;
    hw->path_dirty = true;
    hf->item = t;
    job *j = hw->job;
    int64_t ti = j->ev.time_items ? hn__it_begin(hw, hf, j->ev.item_start, NULL, t) : 0;
    st = hn__it_run_item(hw, hf);
    if (j->ev.time_items) hn__it_end(hw, hf, j->ev.item_end, NULL, t, st, ti);
    if (st == HN_OK) hn__it_frame_item_end(hf);
  }
  hw->path_len--;
  hw->path_dirty = true;
  r->cols = st == HN_OK
                ? hn__calloc(&hw->job->alloc, (size_t)(ip->n_requested ? ip->n_requested : 1),
                             sizeof *r->cols)
                : NULL;
  if (st == HN_OK && !r->cols) st = hn__it_fatal(hw, HN_ENOMEM, "out of memory in a nested map");
  for (int64_t k = 0; k < ip->n_requested && st == HN_OK; k++) {
    st = hn_builder_finish(hf->builders[ip->requested_slots[k]], &r->cols[k], &hw->ferr);
    if (st != HN_OK) st = hn__it_fatal_filled(hw, st);
  }
  return st;
}

/* A pool thread: claim ranges in order until none is left or one before them failed. */
static void helper_main(void *arg, int index) {
  inner_job *nj = arg;
  worker *w = nj->w;
  job *j = w->job;
  const hn_allocator *a = &j->alloc;
  worker hw;
  memset(&hw, 0, sizeof hw);
  hw.job = j;
  hw.index = index;
  hw.cur = w->cur;
  hn__ctx_init(&hw.ctx, a, index);
  hn_error_reset(&hw.ferr);
  hw.path = hn__calloc(a, (size_t)j->max_depth + 1, sizeof *hw.path);
  frame *hf = NULL;
  const frame *cf = nj->x->child;
  hn_status st = hw.path ? HN_OK : hn__it_fatal(&hw, HN_ENOMEM, "out of memory in a nested map");
  if (st == HN_OK) {
    memcpy(hw.path, w->path, sizeof *hw.path * (size_t)w->path_len);
    hw.path_len = w->path_len;
    hw.path_dirty = true;
    st = hn__it_frame_create(&hw, cf->plan, cf->depth, false, cf->types, cf->is_res, NULL, &hf);
  }
  for (;;) {
    int64_t k = atomic_fetch_add(&nj->next, 1);
    if (k >= nj->n_ranges || k > atomic_load(&nj->fail_from)) break;
    range *r = &nj->ranges[k];
    r->ran = true;
    if (st == HN_OK) st = run_range(&hw, hf, nj->x, r);
    if (st == HN_OK) continue;
    keep_failure(r, &hw, st);
    int64_t from = atomic_load(&nj->fail_from);
    while (k < from && !atomic_compare_exchange_weak(&nj->fail_from, &from, k)) continue;
    break;
  }
  hn__it_frame_destroy(a, hf);
  hn__free(a, hw.path);
  hn__ctx_destroy(&hw.ctx);
}

/* Append the ranges' outputs, in order, to the inner frame's (borrowed) output builders. */
static hn_status append_ranges(worker *w, const inner_job *nj) {
  frame *cf = nj->x->child;
  const hn_plan *ip = cf->plan;
  for (int64_t k = 0; k < nj->n_ranges; k++)
    for (int64_t c = 0; c < ip->n_requested; c++) {
      hn_builder *b = cf->builders[ip->requested_slots[c]];
      const hn_array *col = nj->ranges[k].cols[c];
      for (int64_t i = 0; i < hn_array_length(col); i++)
        if (hn_builder_append_datum(b, hn_array_get(col, i)) != HN_OK)
          return hn__it_fatal(w, HN_ENOMEM, "out of memory joining a nested map's outputs: %s",
                              hn_builder_last_error(b));
    }
  for (int64_t c = 0; c < ip->n_requested; c++) /* as after the items, one by one */
    cf->rows[ip->requested_slots[c]] = hn_builder_length(cf->builders[ip->requested_slots[c]]);
  return HN_OK;
}

hn_status hn__it_inner_parallel(worker *w, xstep *x, int64_t t0, int64_t n_inner) {
  job *j = w->job;
  const hn_allocator *a = &j->alloc;
  int threads = hn__pool_size(j->helpers);
  int64_t left = n_inner - t0, n = (int64_t)threads * RANGES_PER_THREAD;
  if (n > left) n = left;
  inner_job nj = {.w = w, .x = x, .n_ranges = n};
  atomic_init(&nj.next, 0);
  atomic_init(&nj.fail_from, INT64_MAX);
  nj.ranges = hn__calloc(a, (size_t)n, sizeof *nj.ranges);
  if (!nj.ranges) return hn__it_fatal(w, HN_ENOMEM, "out of memory starting a nested map");
  for (int64_t k = 0; k < n; k++) {
    nj.ranges[k].t0 = t0 + left * k / n;
    nj.ranges[k].t1 = t0 + left * (k + 1) / n;
  }
  hn__pool_run(j->helpers, helper_main, &nj);
  hn_status st = HN_OK;
  int64_t failed = atomic_load(&nj.fail_from);
  for (int64_t k = 0; k < n && k < failed && st == HN_OK; k++)
    if (!nj.ranges[k].ran || !nj.ranges[k].cols)
      st = hn__it_fatal(w, HN_EINTERNAL, "a nested map's range %lld did not run", (long long)k);
  if (failed != INT64_MAX) { /* the lowest failing item's failure, as one by one */
    range *r = &nj.ranges[failed];
    w->f_fatal = r->f_fatal;
    w->f_code = r->f_code;
    memcpy(w->f_node, r->f_node, sizeof w->f_node);
    memcpy(w->f_msg, r->f_msg, sizeof w->f_msg);
    memcpy(w->f_path, r->f_path, sizeof w->f_path);
    w->ferr = r->ferr;
    st = r->st;
  } else if (st == HN_OK) {
    st = append_ranges(w, &nj);
  }
  for (int64_t k = 0; k < n; k++) {
    for (int64_t c = 0; nj.ranges[k].cols && c < x->child->plan->n_requested; c++)
      hn_array_release(nj.ranges[k].cols[c]);
    hn__free(a, nj.ranges[k].cols);
  }
  hn__free(a, nj.ranges);
  return st;
}
