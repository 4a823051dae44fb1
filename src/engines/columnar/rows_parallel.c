/*
 * A row function's rows spread over the engine's pool, for a run (one
 * item, one morsel) whose heavy rows (a nested map's inner rows, say)
 * would otherwise keep every worker but one idle. The calling worker loops
 * the first rows itself, timing them (hn__col_call_rows); when the rest
 * promises enough work (hn__col_rows_worth), the rest is cut into ranges
 * that the pool's threads claim. Each thread calls the function with its
 * own context and builders, and keeps its failing rows (rolled back to a
 * null, with their message). The calling worker then appends the ranges'
 * rows in order to its builders and records the failures in row order,
 * exactly as if it had looped every row itself. Node events stay those of
 * the one call.
 *
 * Not used for nodes reading or yielding objects (resource instances and
 * process-local pointers are per worker).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "columnar_internal.h"

#define RANGES_PER_THREAD 4

/* A failing row of a range. */
typedef struct row_fail {
  int64_t row;
  hn_status code;
  char msg[HN_ERROR_MESSAGE_MAX];
} row_fail;

typedef struct rows_range {
  int64_t r0, r1;
  hn_array **out; /* per output, r1 - r0 rows */
  row_fail *fails;
  int64_t n_fails;
  hn_status st; /* an engine failure (out of memory), not a node's */
  hn_error err;
} rows_range;

typedef struct rows_job {
  const ncall *c;
  const hn_allocator *a;
  rows_range *ranges;
  int64_t n_ranges;
  _Atomic int64_t next;
} rows_job;

bool hn__col_rows_spreadable(const cworker *w, const ncall *c) {
  const cjob *j = w->job;
  if (!j->helpers || c->scalar || hn__pool_size(j->helpers) < 2) return false;
  const hn_gnode *g = c->ps->node;
  for (int64_t k = 0; k < g->n_inputs; k++)
    if (hn_type_has_object(c->in[k].arr->type)) return false;
  for (int64_t k = 0; k < g->n_outputs; k++)
    if (hn_type_has_object(c->out_types[k])) return false;
  return true;
}

bool hn__col_rows_worth(int64_t t_start, int64_t done, int64_t m) {
  double spent = (double)(hn__now_ns() - t_start);
  return done > 0 && spent >= HN__COL_SPREAD_AFTER_NS &&
         spent / (double)done * (double)(m - done) >= HN__COL_SPREAD_MIN_NS;
}

/* Rows [r->r0, r->r1) of the call with context ctx, into builders b (made here). */
static void run_range(const ncall *c, const hn_allocator *a, hn_ctx *ctx, rows_range *r) {
  const hn_gnode *g = c->ps->node;
  int64_t ni = g->n_inputs, no = g->n_outputs, n = r->r1 - r->r0;
  hn_datum *d = hn__calloc(a, (size_t)(ni ? ni : 1), sizeof *d);
  hn_builder **b = hn__calloc(a, (size_t)(no ? no : 1), sizeof *b);
  r->out = hn__calloc(a, (size_t)(no ? no : 1), sizeof *r->out);
  r->fails = hn__calloc(a, (size_t)(n ? n : 1), sizeof *r->fails);
  hn_status st = d && b && r->out && r->fails ? HN_OK : hn__error_nomem(&r->err, "spreading rows");
  for (int64_t k = 0; k < no && st == HN_OK; k++) {
    st = hn_builder_create(a, c->out_types[k], &b[k], &r->err);
    if (st == HN_OK) st = hn_builder_reserve(b[k], n);
  }
  for (int64_t k = 0; k < ni && st == HN_OK; k++)
    if (c->in[k].scalar) d[k] = hn_array_get(c->in[k].arr, 0);
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    for (int64_t k = 0; k < ni; k++)
      if (!c->in[k].scalar) d[k] = hn_array_get(c->in[k].arr, r->r0 + i);
    row_fail *f = &r->fails[r->n_fails];
    hn_status cs = g->row(g->user_data, d, b, ctx);
    if (HN__UNLIKELY(ctx->flags != 0)) hn__ctx_after_call(ctx, cs);
    if (cs == HN_OK) {
      for (int64_t k = 0; k < no && cs == HN_OK; k++)
        if (hn_builder_length(b[k]) != i + 1) {
          hn__appended_message(g, k, hn_builder_length(b[k]) - i, f->msg, sizeof f->msg);
          cs = HN_ENODE;
        }
      if (cs == HN_OK && !hn__outputs_closed(g, b, f->msg, sizeof f->msg)) cs = HN_ENODE;
    } else {
      cs = hn__call_failure(ctx, cs, f->msg, sizeof f->msg);
    }
    if (cs == HN_OK) continue;
    f->row = r->r0 + i;
    f->code = cs;
    r->n_fails++;
    for (int64_t k = 0; k < no && st == HN_OK; k++) {
      hn__builder_rollback(b[k], i);
      st = hn_builder_append_null(b[k]);
      if (st != HN_OK) st = hn__error_nomem(&r->err, "spreading rows");
    }
  }
  for (int64_t k = 0; k < no; k++) {
    if (st == HN_OK && b[k]) st = hn_builder_finish(b[k], &r->out[k], &r->err);
    hn_builder_destroy(b[k]);
  }
  r->st = st;
  hn__free(a, d);
  hn__free(a, b);
}

static void helper_main(void *arg, int index) {
  rows_job *rj = arg;
  hn_ctx ctx;
  hn__ctx_init(&ctx, rj->a, index);
  for (;;) {
    int64_t k = atomic_fetch_add(&rj->next, 1);
    if (k >= rj->n_ranges) break;
    run_range(rj->c, rj->a, &ctx, &rj->ranges[k]);
  }
  hn__ctx_destroy(&ctx);
}

/* The ranges' rows appended to b, in order. */
static hn_status append_ranges(cworker *w, const rows_job *rj, hn_builder **b) {
  int64_t no = rj->c->ps->node->n_outputs;
  for (int64_t k = 0; k < rj->n_ranges; k++)
    for (int64_t o = 0; o < no; o++) {
      const hn_array *col = rj->ranges[k].out[o];
      for (int64_t i = 0; i < hn_array_length(col); i++)
        if (hn_builder_append_datum(b[o], hn_array_get(col, i)) != HN_OK)
          return hn__col_fatal(w, HN_ENOMEM);
    }
  return HN_OK;
}

hn_status hn__col_rows_spread(cworker *w, lvl *L, ncall *c, hn_builder **b, int64_t r0,
                              hn_status *end_st) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  int64_t left = c->m - r0, n = (int64_t)hn__pool_size(j->helpers) * RANGES_PER_THREAD;
  if (n > left) n = left;
  rows_job rj = {.c = c, .a = a, .n_ranges = n};
  atomic_init(&rj.next, 0);
  rj.ranges = hn__calloc(a, (size_t)n, sizeof *rj.ranges);
  if (!rj.ranges) return hn__col_fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < n; k++) {
    rj.ranges[k].r0 = r0 + left * k / n;
    rj.ranges[k].r1 = r0 + left * (k + 1) / n;
  }
  hn__pool_run(j->helpers, helper_main, &rj);
  hn_status st = HN_OK;
  for (int64_t k = 0; k < n && st == HN_OK; k++)
    if (rj.ranges[k].st != HN_OK) {
      w->ferr = rj.ranges[k].err;
      st = hn__col_fatal(w, rj.ranges[k].st);
    }
  if (st == HN_OK) st = append_ranges(w, &rj, b);
  for (int64_t k = 0; k < n && st == HN_OK; k++) /* failures in row order, as one by one */
    for (int64_t f = 0; f < rj.ranges[k].n_fails && st == HN_OK; f++) {
      const row_fail *rf = &rj.ranges[k].fails[f];
      *end_st = rf->code;
      st = hn__col_call_fail(w, L, c, rf->row, rf->code, rf->msg, 1, NULL);
    }
  for (int64_t k = 0; k < n; k++) {
    for (int64_t o = 0; rj.ranges[k].out && o < c->ps->node->n_outputs; o++)
      hn_array_release(rj.ranges[k].out[o]);
    hn__free(a, rj.ranges[k].out);
    hn__free(a, rj.ranges[k].fails);
  }
  hn__free(a, rj.ranges);
  return st;
}
