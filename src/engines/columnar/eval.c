/* A plan over a level's rows: which rows each step runs, its outputs scattered back,
 * intermediates released after their last consumer. */
#include <stdio.h>
#include <stdlib.h>

#include "columnar_internal.h"

void hn__col_cval_clear(const hn_allocator *a, cval *v) {
  hn_array_release(v->arr);
  hn__free(a, v->bad);
  memset(v, 0, sizeof *v);
}

/* The rows of n whose inputs are all good: *idx (NULL when all), *n_run. */
static hn_status run_rows(cworker *w, const hn_plan_step *ps, const cval *slots, int64_t n,
                          int64_t **idx, int64_t *n_run) {
  const hn_allocator *a = &w->job->alloc;
  *idx = NULL;
  *n_run = n;
  bool any = false;
  for (int64_t k = 0; k < ps->node->n_inputs; k++) any = any || slots[ps->in_slots[k]].bad;
  if (!any) return HN_OK;
  int64_t *ix = NULL;
  if (!NEWA(ix, n)) return hn__col_fatal(w, HN_ENOMEM);
  int64_t c = 0;
  for (int64_t r = 0; r < n; r++) {
    bool ok = true;
    for (int64_t k = 0; k < ps->node->n_inputs && ok; k++) {
      const uint8_t *b = slots[ps->in_slots[k]].bad;
      ok = !b || !b[r];
    }
    if (ok) ix[c++] = r;
  }
  *idx = ix;
  *n_run = c;
  return HN_OK;
}

/* Outputs of a step over all n rows from its call over the run rows. */
static hn_status step_outputs(cworker *w, const hn_plan *plan, const hn_plan_step *ps, cval *slots,
                              int64_t n, const int64_t *idx, int64_t n_run, bool scalar,
                              hn_array **out, const uint8_t *fail) {
  const hn_allocator *a = &w->job->alloc;
  const hn_gnode *g = ps->node;
  hn_status st = HN_OK;
  /* Per row: not run, or failed (both: null and bad). */
  uint8_t *bad = NULL;
  if (idx || fail) {
    if (!NEWA(bad, n)) return hn__col_fatal(w, HN_ENOMEM);
    if (idx) {
      memset(bad, 1, (size_t)n);
      for (int64_t k = 0; k < n_run; k++) bad[idx[k]] = fail && !scalar ? fail[k] : 0;
    }
    if (fail && scalar && fail[0]) memset(bad, 1, (size_t)n);
    if (fail && !scalar && !idx) memcpy(bad, fail, (size_t)n);
  }
  for (int64_t k = 0; k < g->n_outputs; k++) {
    cval *v = &slots[ps->out_slots[k]];
    const hn_type *t = plan->slot_types[ps->out_slots[k]];
    if (scalar && (!bad || !idx || n_run == n)) {
      v->arr = out[k];
      out[k] = NULL;
      v->scalar = true;
    } else if (!idx || n_run == n) {
      v->arr = out[k]; /* failed rows are already null */
      out[k] = NULL;
    } else {
      /* Scatter the run rows back; the others are null. */
      int64_t *src = NULL;
      if (!NEWA(src, n)) {
        st = hn__col_fatal(w, HN_ENOMEM);
        break;
      }
      for (int64_t q = 0; q < n_run; q++) src[idx[q]] = scalar ? 0 : q;
      st = hn__array_take(a, t, out[k], src, bad, n, &v->arr, &w->ferr);
      hn__free(a, src);
      if (st != HN_OK) {
        st = hn__col_fatal(w, st);
        break;
      }
    }
    if (bad) {
      if (!NEWA(v->bad, n)) {
        st = hn__col_fatal(w, HN_ENOMEM);
        break;
      }
      memcpy(v->bad, bad, (size_t)n);
    }
  }
  hn__free(a, bad);
  return st;
}

/* One step over the level's rows. */
static hn_status run_step(cworker *w, const hn_plan *plan, lvl *L, cval *slots,
                          const hn_plan_step *ps) {
  const hn_allocator *a = &w->job->alloc;
  const hn_gnode *g = ps->node;
  int64_t n = L->n, ni = g->n_inputs, no = g->n_outputs;
  int64_t *idx = NULL, n_run = n;
  hn_status st = run_rows(w, ps, slots, n, &idx, &n_run);
  if (st != HN_OK) return st;
  bool scalar = !ps->inner;
  for (int64_t k = 0; k < ni; k++) scalar = scalar && slots[ps->in_slots[k]].scalar;
  cval *in = NULL;
  hn_array **out = NULL;
  const hn_type **ot = NULL;
  uint8_t *fail = NULL;
  if (!NEWA(in, ni) || !NEWA(out, no) || !NEWA(ot, no)) st = hn__col_fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < no && st == HN_OK; k++) ot[k] = plan->slot_types[ps->out_slots[k]];
  if (st == HN_OK && n_run == 0) {
    /* Every row is blocked: nulls, no call. */
    for (int64_t k = 0; k < no && st == HN_OK; k++) {
      st = hn__array_nulls(a, ot[k], 1, &out[k], &w->ferr);
      if (st != HN_OK) st = hn__col_fatal(w, st);
    }
    if (st == HN_OK) st = step_outputs(w, plan, ps, slots, n, idx, 0, true, out, NULL);
    goto done;
  }
  /* Inputs restricted to the run rows. */
  for (int64_t k = 0; k < ni && st == HN_OK; k++) {
    const cval *s = &slots[ps->in_slots[k]];
    in[k].scalar = s->scalar;
    if (s->scalar || !idx) {
      in[k].arr = hn_array_retain(s->arr);
    } else {
      st = hn__array_take(a, s->arr->type, s->arr, idx, NULL, n_run, &in[k].arr, &w->ferr);
      if (st != HN_OK) st = hn__col_fatal(w, st);
    }
  }
  if (st != HN_OK) goto done;
  if (ps->inner) {
    st = hn__col_run_nested(w, plan, L, ps, in, n_run, idx, out, &fail);
  } else {
    ncall c = {ps, ot, in, n_run, scalar, idx, n_run, out, NULL};
    if (hn__node_guarded(w->job->x, g))
      st = hn__col_call_guarded(w, L, &c);
    else
      st = g->batch ? hn__col_call_batch(w, L, &c) : hn__col_call_rows(w, L, &c);
    fail = c.fail;
  }
  if (st == HN_OK) st = step_outputs(w, plan, ps, slots, n, idx, n_run, scalar, out, fail);
done:
  for (int64_t k = 0; in && k < ni; k++) hn_array_release(in[k].arr);
  for (int64_t k = 0; out && k < no; k++) hn_array_release(out[k]);
  hn__free(a, in);
  hn__free(a, out);
  hn__free(a, (void *)ot);
  hn__free(a, fail);
  hn__free(a, idx);
  return st;
}

/*
 * Evaluate the plan over L->n rows. slots[0, n_inputs) are set by the
 * caller; on HN_OK the requested slots hold their values (every other slot
 * has been released). The caller clears every slot.
 */
hn_status hn__col_eval(cworker *w, const hn_plan *plan, lvl *L, cval *slots) {
  const hn_allocator *a = &w->job->alloc;
  int64_t *last = NULL;
  if (!NEWA(last, plan->n_slots)) return hn__col_fatal(w, HN_ENOMEM);
  for (int64_t s = 0; s < plan->n_slots; s++) last[s] = -1;
  for (int64_t s = 0; s < plan->n_steps; s++)
    for (int64_t k = 0; k < plan->steps[s].node->n_inputs; k++)
      last[plan->steps[s].in_slots[k]] = s;
  for (int64_t r = 0; r < plan->n_requested; r++) last[plan->requested_slots[r]] = INT64_MAX;
  hn_status st = HN_OK;
  for (int64_t s = 0; s < plan->n_steps && st == HN_OK; s++) {
    const hn_plan_step *ps = &plan->steps[s];
    st = run_step(w, plan, L, slots, ps);
    /* Intermediates go after their last consumer. */
    for (int64_t k = 0; k < ps->node->n_inputs; k++)
      if (last[ps->in_slots[k]] == s) hn__col_cval_clear(a, &slots[ps->in_slots[k]]);
    for (int64_t k = 0; k < ps->node->n_outputs; k++)
      if (last[ps->out_slots[k]] < 0) hn__col_cval_clear(a, &slots[ps->out_slots[k]]);
  }
  hn__free(a, last);
  return st;
}
