/* Nested pipelines in the columnar engine (see columnar.c's file comment). */
#include <stdio.h>
#include <stdlib.h>

#include "columnar_internal.h"

typedef struct nmap {
  const hn_array *list; /* the list column (or scalar) */
  bool scalar;
  const int32_t *off; /* offsets from logical row 0 */
  int64_t *len;       /* per outer row */
  int64_t *stride;    /* per outer row: hn__map_shape's stride of this list */
} nmap;

/* Every row fails with `msg` (a mapped input that is not a list). */
static hn_status all_rows_fail(cworker *w, lvl *L, const char *node, int64_t m, const int64_t *rows,
                               uint8_t *fail, const char *msg) {
  for (int64_t i = 0; i < m; i++) {
    fail[i] = 1;
    hn_status st = hn__col_row_failed(w, L, rows ? rows[i] : i, node, HN_ETYPE, msg, NULL);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Outer row i's shape (hn__map_shape over its lists); lens and strides: scratch of nm. */
static hn_status row_shape(const hn_gnode *g, nmap *mp, int64_t i, int64_t *lens, int64_t *strides,
                           const char **names, int64_t *count, char *msg, size_t cap) {
  int64_t nm = g->n_map;
  for (int64_t k = 0; k < nm; k++) lens[k] = mp[k].len[i];
  hn_status code = hn__map_shape(g->map_mode, nm, lens, names, INT32_MAX, count, strides, msg, cap);
  for (int64_t k = 0; k < nm; k++) mp[k].stride[i] = strides[k];
  return code == HN_EINVAL ? HN_ENODE : code; /* zip lengths differ: the node's failure */
}

/*
 * Inner rows of a mapped nested node: per outer row i its count (-1: null
 * list) or a failure; fills cnt and each list's length and stride per row.
 */
static hn_status nested_counts(cworker *w, lvl *L, const hn_plan_step *ps, const cval *in,
                               int64_t m, const int64_t *rows, nmap *mp, int64_t *cnt,
                               uint8_t *fail) {
  const hn_allocator *a = &w->job->alloc;
  const hn_gnode *g = ps->node;
  int64_t nm = g->n_map;
  for (int64_t k = 0; k < nm; k++) {
    const cval *v = &in[g->map_order[k]];
    mp[k].list = v->arr;
    mp[k].scalar = v->scalar;
    if (v->arr->type->id != HN_TYPE_LIST) {
      char msg[HN_ERROR_MESSAGE_MAX];
      snprintf(msg, sizeof msg, "mapped input '%s' is %s, not a list", g->inputs[g->map_order[k]],
               hn_type_id_name(v->arr->type->id));
      return all_rows_fail(w, L, g->name, m, rows, fail, msg);
    }
    mp[k].off = hn_array_offsets(v->arr);
  }
  int64_t *lens = NULL, *strides = NULL;
  const char **names = NULL;
  if (!NEWA(lens, nm) || !NEWA(strides, nm) || !NEWA(names, nm)) {
    hn__free(a, lens);
    hn__free(a, strides);
    return hn__col_fatal(w, HN_ENOMEM);
  }
  for (int64_t k = 0; k < nm; k++) names[k] = g->inputs[g->map_order[k]];
  hn_status st = HN_OK;
  for (int64_t i = 0; i < m && st == HN_OK; i++) {
    bool null = false;
    for (int64_t k = 0; k < nm; k++) {
      int64_t r = mp[k].scalar ? 0 : i;
      if (hn_array_is_null(mp[k].list, r)) null = true;
      mp[k].len[i] = mp[k].off[r + 1] - mp[k].off[r];
    }
    if (null) {
      cnt[i] = -1;
      continue;
    }
    char msg[HN_ERROR_MESSAGE_MAX];
    hn_status code = row_shape(g, mp, i, lens, strides, names, &cnt[i], msg, sizeof msg);
    if (code != HN_OK) {
      cnt[i] = 0;
      fail[i] = 1;
      st = hn__col_row_failed(w, L, rows ? rows[i] : i, g->name, code, msg, NULL);
    }
  }
  hn__free(a, lens);
  hn__free(a, strides);
  hn__free(a, (void *)names);
  return st;
}

/* An inner output of T rows (scalar expanded) as a column. */
hn_status hn__col_expand(cworker *w, const hn_type *t, cval *v, int64_t T, hn_array **out) {
  if (!v->scalar || T == 1) {
    *out = hn_array_retain(v->arr);
    return HN_OK;
  }
  int64_t *z = hn__calloc(&w->job->alloc, (size_t)(T ? T : 1), sizeof *z);
  if (!z) return hn__col_fatal(w, HN_ENOMEM);
  hn_status st = hn__array_take(&w->job->alloc, t, v->arr, z, NULL, T, out, &w->ferr);
  hn__free(&w->job->alloc, z);
  return st == HN_OK ? st : hn__col_fatal(w, st);
}

/* One nested step in flight: the outer call rows, the inner layout and level. */
typedef struct nest {
  cworker *w;
  const hn_allocator *a;
  const hn_plan *plan; /* outer */
  lvl *L;              /* outer level */
  const hn_plan_step *ps;
  const hn_gnode *g;
  const hn_plan *ip;   /* inner */
  const cval *in;      /* outer inputs, per call row */
  int64_t m;           /* call rows */
  const int64_t *rows; /* per call row: its row of L (NULL: identity) */
  bool mapped;
  nmap *mp;       /* per mapped list */
  int64_t *cnt;   /* per call row: inner rows (-1: a null list) */
  int64_t *start; /* per call row: its first inner row (m + 1 entries) */
  uint8_t *fail;  /* per call row: failed */
  int64_t T;      /* inner rows */
  int64_t *prow;  /* per inner row: the outer level's row */
  int64_t *local; /* mapped: per inner row, its index in its list */
  cval *islots;   /* the inner plan's slots */
  lvl IL;         /* the inner level */
} nest;

static hn_status nest_alloc(nest *n) {
  const hn_allocator *a = n->a;
  int64_t nm = n->g->n_map, m = n->m;
  if (!NEWA(n->mp, nm) || !NEWA(n->cnt, m) || !NEWA(n->start, m + 1) || !NEWA(n->fail, m) ||
      !NEWA(n->islots, n->ip->n_slots))
    return hn__col_fatal(n->w, HN_ENOMEM);
  for (int64_t k = 0; k < nm; k++)
    if (!NEWA(n->mp[k].len, m) || !NEWA(n->mp[k].stride, m)) return hn__col_fatal(n->w, HN_ENOMEM);
  return HN_OK;
}

static void nest_free(nest *n) {
  const hn_allocator *a = n->a;
  for (int64_t s = 0; n->islots && s < n->ip->n_slots; s++) hn__col_cval_clear(a, &n->islots[s]);
  hn__col_lvl_free(a, &n->IL);
  for (int64_t k = 0; n->mp && k < n->g->n_map; k++) {
    hn__free(a, n->mp[k].len);
    hn__free(a, n->mp[k].stride);
  }
  hn__free(a, n->mp);
  hn__free(a, n->cnt);
  hn__free(a, n->start);
  hn__free(a, n->prow);
  hn__free(a, n->local);
  hn__free(a, n->islots);
  hn__free(a, n->fail);
}

/* The level's row of call row i. */
static int64_t level_row(const nest *n, int64_t i) {
  return n->rows ? n->rows[i] : i;
}

/* Layout: inner rows per outer row (mapped: the lists' shape), prow and local. */
static hn_status nest_layout(nest *n) {
  const hn_allocator *a = n->a;
  int64_t m = n->m;
  if (!n->mapped) {
    n->T = m;
    if (!NEWA(n->prow, m)) return hn__col_fatal(n->w, HN_ENOMEM);
    for (int64_t i = 0; i < m; i++) n->prow[i] = level_row(n, i);
    return HN_OK;
  }
  hn_status st = nested_counts(n->w, n->L, n->ps, n->in, m, n->rows, n->mp, n->cnt, n->fail);
  int64_t T = 0;
  for (int64_t i = 0; i < m && st == HN_OK; i++) {
    n->start[i] = T;
    if (!n->fail[i] && n->cnt[i] > 0) T += n->cnt[i];
  }
  n->start[m] = T;
  if (st == HN_OK && T > INT32_MAX) {
    for (int64_t i = 0; i < m && st == HN_OK; i++)
      if (!n->fail[i]) {
        n->fail[i] = 1;
        st = hn__col_row_failed(n->w, n->L, level_row(n, i), n->g->name, HN_ERANGE,
                                "the mapped lists hold more than INT32_MAX items", NULL);
      }
    T = 0;
  }
  n->T = T;
  if (st == HN_OK && (!NEWA(n->prow, T) || !NEWA(n->local, T))) st = hn__col_fatal(n->w, HN_ENOMEM);
  for (int64_t i = 0; i < m && st == HN_OK; i++)
    for (int64_t t = n->start[i]; t < n->start[i + 1]; t++) {
      n->prow[t] = level_row(n, i);
      n->local[t] = t - n->start[i];
    }
  return st;
}

/* An inner input bound inside the inner pipeline (type-checked by the plan): a scalar. */
static hn_status bound_input(nest *n, int64_t q, cval *v) {
  cworker *w = n->w;
  int64_t row = 0;
  hn_array *bound = hn__plan_input_bound(n->ip, q, &row);
  if (!bound)
    return hn__error(&w->ferr, HN_EINTERNAL, "nested node '%s': inner input '%s' has no source",
                     n->g->name, n->ip->input_names[q]);
  v->scalar = true;
  hn_status st = hn_array_slice(bound, row, 1, &v->arr, &w->ferr);
  return st == HN_OK ? st : hn__col_fatal(w, st);
}

/* An outer input that is not mapped: kept (scalar, or not mapped at all) or broadcast by offsets.
 */
static hn_status broadcast_input(nest *n, const cval *s, cval *v, int64_t *gidx) {
  if (s->scalar || !n->mapped) {
    v->arr = hn_array_retain(s->arr);
    v->scalar = s->scalar;
    return HN_OK;
  }
  for (int64_t r = 0; r < n->m; r++) /* in[] is indexed by call row */
    for (int64_t t = n->start[r]; t < n->start[r + 1]; t++) gidx[t] = r;
  hn_status st = hn__array_take(n->a, s->arr->type, s->arr, gidx, NULL, n->T, &v->arr, &n->w->ferr);
  return st == HN_OK ? st : hn__col_fatal(n->w, st);
}

/* A mapped list: its child is the flattened input (a slice when the lists are contiguous). */
static hn_status flattened_input(nest *n, int64_t i, const cval *s, cval *v, int64_t *gidx) {
  const hn_gnode *g = n->g;
  int64_t k = 0;
  while (g->map_order[k] != i) k++;
  const nmap *mk = &n->mp[k];
  hn_array *child = (hn_array *)hn_array_child(s->arr, 0);
  bool contiguous = g->map_mode == HN_MAP_ZIP && !s->scalar;
  for (int64_t r = 0; r < n->m && contiguous; r++)
    contiguous = !n->fail[r] && n->cnt[r] >= 0 && n->cnt[r] == mk->len[r];
  hn_status st;
  if (contiguous) {
    st = hn_array_slice(child, mk->off[0], n->T, &v->arr, &n->w->ferr); /* zero copy */
  } else {
    for (int64_t r = 0; r < n->m; r++) {
      int64_t lr = s->scalar ? 0 : r;
      for (int64_t t = n->start[r]; t < n->start[r + 1]; t++)
        gidx[t] =
            mk->off[lr] + hn__map_row(g->map_mode, t - n->start[r], mk->stride[r], mk->len[r]);
    }
    st = hn__array_take(n->a, child->type, child, gidx, NULL, n->T, &v->arr, &n->w->ferr);
  }
  return st == HN_OK ? st : hn__col_fatal(n->w, st);
}

/* The inner plan's inputs over the T inner rows. */
static hn_status nest_inputs(nest *n) {
  const hn_allocator *a = n->a;
  const hn_plan *ip = n->ip;
  int64_t *feed = NULL, *gidx = NULL;
  if (!NEWA(feed, ip->n_inputs) || (n->T > 0 && !NEWA(gidx, n->T))) {
    hn__free(a, feed);
    return hn__col_fatal(n->w, HN_ENOMEM);
  }
  for (int64_t q = 0; q < ip->n_inputs; q++) feed[q] = -1;
  for (int64_t i = 0; i < n->g->n_inputs; i++)
    if (n->ps->inner_input_index[i] >= 0) feed[n->ps->inner_input_index[i]] = i;
  hn_status st = HN_OK;
  for (int64_t q = 0; q < ip->n_inputs && st == HN_OK && n->T > 0; q++) {
    int64_t i = feed[q];
    cval *v = &n->islots[q];
    if (i < 0)
      st = bound_input(n, q, v);
    else if (!n->g->mapped[i])
      st = broadcast_input(n, &n->in[i], v, gidx);
    else
      st = flattened_input(n, i, &n->in[i], v, gidx);
  }
  hn__free(a, gidx);
  hn__free(a, feed);
  return st;
}

/* Run the inner plan over the T rows, with its pipeline and item events. */
static hn_status nest_run_inner(nest *n) {
  cworker *w = n->w;
  const hn__events *ev = &w->job->ev;
  lvl *IL = &n->IL;
  IL->parent = n->L;
  IL->prow = n->prow;
  IL->local = n->mapped ? n->local : NULL;
  IL->depth = n->L->depth + 1;
  IL->pipeline = n->ip->pipeline->name ? n->ip->pipeline->name : "";
  IL->n = n->T;
  if (n->T == 0) return HN_OK;
  int64_t T = n->T, m = n->m;
  bool mapped = n->mapped,
       any = ev->time_pipelines || (mapped && (ev->time_maps || ev->time_chunks || ev->time_items));
  int64_t t0 = any ? hn__now_ns() : 0;
  hn__col_span(w, IL, ev->pipeline_start, -1, T, m, HN_OK, t0, 0);
  if (mapped) {
    hn__col_span(w, IL, ev->map_start, -1, T, m, HN_OK, t0, 0);
    hn__col_span(w, IL, ev->chunk_start, 0, T, m, HN_OK, t0, 0);
    if (ev->item_start) hn__col_items(w, IL, ev->item_start, T, t0, 0);
  }
  hn_status st = hn__col_eval(w, n->ip, IL, n->islots);
  int64_t d = any ? hn__now_ns() - t0 : 0;
  if (mapped) {
    if (ev->item_end && st == HN_OK) hn__col_items(w, IL, ev->item_end, T, t0, d);
    hn__col_span(w, IL, ev->chunk_end, 0, T, m, st, t0, d);
    hn__col_span(w, IL, ev->map_end, -1, T, m, st, t0, d);
  }
  hn__col_span(w, IL, ev->pipeline_end, -1, T, m, st, t0, d);
  return st;
}

/* The call row whose inner range holds inner row t. */
static int64_t outer_row(const nest *n, int64_t t) {
  if (!n->mapped) return t;
  int64_t lo = 0, hi = n->m - 1;
  while (lo < hi) {
    int64_t mid = (lo + hi + 1) / 2;
    if (n->start[mid] <= t)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* Inner failures fail their outer row, with the lowest failing inner row's record. */
static hn_status nest_lift_failures(nest *n) {
  const hn_allocator *a = n->a;
  const hn__records *fails = &n->IL.fails;
  if (fails->n == 0) return HN_OK;
  int64_t *best = NULL;
  if (!NEWA(best, n->m)) return hn__col_fatal(n->w, HN_ENOMEM);
  for (int64_t i = 0; i < n->m; i++) best[i] = -1;
  for (int64_t f = 0; f < fails->n; f++) {
    int64_t t = fails->v[f].item, i = outer_row(n, t);
    if (best[i] < 0 || fails->v[best[i]].item > t) best[i] = f;
  }
  hn_status st = HN_OK;
  for (int64_t i = 0; i < n->m && st == HN_OK; i++) {
    if (best[i] < 0 || n->fail[i]) continue;
    const hn__record *f = &fails->v[best[i]];
    n->fail[i] = 1;
    st = hn__col_row_failed_attempts(n->w, n->L, level_row(n, i), f->node, f->code, f->message,
                                     f->path, f->attempts, f->messages);
  }
  hn__free(a, best);
  return st;
}

/* Output k over the m call rows: lists over the inner column (mapped), failed rows null. */
static hn_status nest_output(nest *n, int64_t k, bool any_fail, uint8_t *null_list,
                             hn_array **out) {
  const hn_allocator *a = n->a;
  cworker *w = n->w;
  const hn_type *ot = n->plan->slot_types[n->ps->out_slots[k]];
  int64_t r = n->ps->inner_output_index[k];
  hn_status st;
  if (r < 0 || (!n->mapped && n->T == 0)) {
    st = hn__array_nulls(a, ot, n->m, out, &w->ferr);
    return st == HN_OK ? st : hn__col_fatal(w, st);
  }
  hn_array *col = NULL;
  if (n->T > 0)
    st = hn__col_expand(w, n->mapped ? ot->item : ot, &n->islots[n->ip->requested_slots[r]], n->T,
                        &col);
  else if ((st = hn__array_nulls(a, ot->item, 0, &col, &w->ferr)) != HN_OK)
    st = hn__col_fatal(w, st);
  if (st != HN_OK) return st;
  hn_array *res = col;
  if (n->mapped) {
    for (int64_t i = 0; i < n->m; i++) null_list[i] = n->cnt[i] < 0;
    res = NULL;
    st = hn__array_list(a, ot, n->m, n->start, null_list, col, &res, &w->ferr); /* takes col */
    if (st != HN_OK) return hn__col_fatal(w, st);
  }
  if (!any_fail) {
    *out = res;
    return HN_OK;
  }
  st = hn__array_take(a, ot, res, NULL, n->fail, n->m, out, &w->ferr);
  hn_array_release(res);
  return st == HN_OK ? st : hn__col_fatal(w, st);
}

static hn_status nest_outputs(nest *n, hn_array **out, bool *any_fail) {
  *any_fail = false;
  for (int64_t i = 0; i < n->m; i++) *any_fail = *any_fail || n->fail[i];
  uint8_t *null_list = NULL;
  const hn_allocator *a = n->a;
  if (n->mapped && !NEWA(null_list, n->m)) return hn__col_fatal(n->w, HN_ENOMEM);
  hn_status st = HN_OK;
  for (int64_t k = 0; k < n->g->n_outputs && st == HN_OK; k++)
    st = nest_output(n, k, *any_fail, null_list, &out[k]);
  hn__free(a, null_list);
  return st;
}

hn_status hn__col_run_nested(cworker *w, const hn_plan *plan, lvl *L, const hn_plan_step *ps,
                             const cval *in, int64_t m, const int64_t *rows, hn_array **out,
                             uint8_t **failp) {
  const hn__events *ev = &w->job->ev;
  nest n;
  memset(&n, 0, sizeof n);
  n.w = w;
  n.a = &w->job->alloc;
  n.plan = plan;
  n.L = L;
  n.ps = ps;
  n.g = ps->node;
  n.ip = ps->inner;
  n.in = in;
  n.m = m;
  n.rows = rows;
  n.mapped = n.g->n_map > 0;
  int64_t t0 = ev->time_nodes ? hn__col_begin(w, L, ev->node_start, n.g->name, m) : 0;
  hn_status st = nest_alloc(&n);
  if (st == HN_OK) st = nest_layout(&n);
  if (st == HN_OK) st = nest_inputs(&n);
  if (st == HN_OK) st = nest_run_inner(&n);
  if (st == HN_OK) st = nest_lift_failures(&n);
  bool any_fail = false;
  if (st == HN_OK) st = nest_outputs(&n, out, &any_fail);
  if (ev->time_nodes) hn__col_end(w, L, ev->node_end, n.g->name, m, st, t0);
  if (st == HN_OK && any_fail) {
    *failp = n.fail; /* the caller's now */
    n.fail = NULL;
  }
  nest_free(&n);
  return st;
}
