/*
 * The columnar executor: the plan runs node by node over morsels of rows.
 *
 * Map items are cut into morsels (engine chunk_size rows, HN__MORSEL_DEFAULT
 * by default) that the engine's workers claim in order. A morsel is a set of
 * column values, one per plan slot: a column of the morsel's rows, or a
 * scalar (a one-row array broadcast to every row: fixed inputs, resources,
 * outputs of nodes whose inputs are all scalars). A node with a batch
 * function gets the columns whole; a row-only node is looped over the rows
 * with datum views, appending into one builder per output. Intermediates are
 * released after their last consumer; the requested outputs of every morsel
 * are concatenated in item order at the end.
 *
 * Failures follow the item engines exactly. Every slot carries a "bad" mask
 * (the value failed or was skipped for that row); a node runs only on the
 * rows whose inputs are all good (the others are filtered out and come back
 * as nulls), and a failing row gets a null and a bad bit in every output.
 * Each row keeps its first failure (node, message, item path), which becomes
 * the error record under CONTINUE and, for the lowest failing item, the
 * error under RAISE. When a batch call fails, the failing rows are found by
 * the row function or by one-row batch calls.
 *
 * Nested nodes: a mapped list column's child array is the flattened inner
 * input (a zero-copy slice when the lists are contiguous), other inner inputs
 * are broadcast by the list offsets (scalars stay scalars), the inner plan
 * runs columnar over the flattened rows, and its outputs become list arrays
 * with the parent offsets. An inner failure fails the outer row (its lowest
 * failing inner row gives the record), as on the item engines.
 */
#include <stdio.h>
#include <stdlib.h>

#include "engine_internal.h"

/* ======================================================================== */
/* Structures                                                               */
/* ======================================================================== */

/* A slot's value in a morsel: a column of n rows, or a scalar (row 0). */
typedef struct cval {
  hn_array *arr; /* owned reference, NULL when not computed */
  bool scalar;
  uint8_t *bad; /* per row: failed or skipped (NULL: none) */
} cval;

/* The first failure of a row. */
typedef struct rfail {
  int64_t row;
  hn_status code;
  char *node, *msg, *path;
} rfail;

/* One plan being evaluated over n rows: the top morsel or a nested call. */
typedef struct lvl {
  const struct lvl *parent;
  const int64_t *prow;  /* per row: the parent's row (NULL at the top) */
  const int64_t *local; /* mapped nested: per row its index in its list */
  int depth;
  const char *pipeline;
  int64_t base; /* top: global index of row 0 */
  int64_t n;
  uint8_t *failed; /* per row: has a failure (lazily allocated) */
  rfail *fails;
  int64_t n_fails, cap_fails;
} lvl;

typedef struct morsel {
  int64_t start, count;
  hn_array **cols; /* per requested output */
  rfail *fails;    /* top rows' failures, sorted by row */
  int64_t n_fails;
  bool done;
} morsel;

struct cjob;

typedef struct cworker {
  struct cjob *job;
  int index;
  hn_ctx ctx;
  hn__res_instance *res; /* per plan input */
  hn_array **res_arr;    /* per plan input: the instance as a one-row object array */
  bool ready, ran;
  char pbuf[HN_ERROR_PATH_MAX];
  hn_error ferr; /* a fatal failure */
} cworker;

typedef struct cjob {
  hn__exec *x;
  const hn_plan *plan;
  hn_allocator alloc;
  int64_t n_items, morsel_size, n_morsels;
  morsel *morsels;
  cval *consts; /* per plan input: CONST inputs as scalars */
  int n_workers;
  cworker *workers;
  void *cb_ud;
  hn_callback on_item_start, on_item_end, on_node_start, on_node_end, on_error;
  hn_callback on_pipeline_start, on_pipeline_end;
  _Atomic int64_t next;
  _Atomic int64_t fail_morsel; /* lowest morsel that failed (INT64_MAX: none) */
  pthread_mutex_t mu;
  hn_status fail_status;
  hn_error fail_err;
  int64_t fail_index;
  _Atomic int64_t res_inits, res_destroys;
} cjob;

#define NEWA(p, n) ((p) = hn__calloc(a, (size_t)(n) > 0 ? (size_t)(n) : 1, sizeof *(p)))

/* ======================================================================== */
/* Arrays                                                                   */
/* ======================================================================== */

/*
 * A new array of n rows of `type`: row i is null when `nul` says so (nul may
 * be NULL), else row src_row(i) of `src` (idx NULL: i; scalar: 0).
 */
static hn_status gather(const hn_allocator *a, const hn_type *type, const hn_array *src,
                        bool scalar, const int64_t *idx, const uint8_t *nul, int64_t n,
                        hn_array **out, hn_error *err) {
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(a, type, &b, err);
  if (st != HN_OK) return st;
  st = hn_builder_reserve(b, n);
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    if (!src || (nul && nul[i])) {
      st = hn_builder_append_null(b);
      continue;
    }
    int64_t r = scalar ? 0 : idx ? idx[i] : i;
    st = hn_builder_append_datum(b, hn_array_get(src, r));
  }
  if (st != HN_OK) {
    st = hn__error(err, st, "copying rows of a column: %s", hn_builder_last_error(b));
    hn_builder_destroy(b);
    return st;
  }
  st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  return st;
}

static hn_status nulls_array(const hn_allocator *a, const hn_type *type, int64_t n,
                             hn_array **out, hn_error *err) {
  return gather(a, type, NULL, false, NULL, NULL, n, out, err);
}

/* Undo partial appends after row `len` (as the item executor does). */
static void rollback(hn_builder *b, int64_t len) {
  if (hn_builder_length(b) > len) hn__builder_truncate(b, len);
  const hn_type *t = hn_builder_type(b);
  if (t->id == HN_TYPE_LIST) {
    const hn_array *v = hn__builder_view(b);
    int64_t end = v->buffers[1] ? ((const int32_t *)v->buffers[1]->data)[len] : 0;
    rollback(hn_builder_child(b, 0), end);
  } else if (t->id == HN_TYPE_STRUCT) {
    for (int64_t i = 0; i < t->n_fields; i++) rollback(hn_builder_child(b, i), len);
  }
}

/* ======================================================================== */
/* Failures and events                                                      */
/* ======================================================================== */

static hn_status fatal(cworker *w, hn_status st) {
  if (w->ferr.code == HN_OK) hn__error(&w->ferr, st, "%s", hn_status_str(st));
  w->ferr.code = st;
  return st;
}

/* Item path of row r of level L into buf; returns buf ("" at the top of a run). */
static size_t path_of(const cjob *j, const lvl *L, int64_t r, char *buf, size_t cap) {
  size_t n = 0;
  if (!L->parent) {
    if (j->x->is_map) n = (size_t)snprintf(buf, cap, "%lld", (long long)(L->base + r));
    else buf[0] = '\0';
    return n < cap ? n : cap - 1;
  }
  n = path_of(j, L->parent, L->prow[r], buf, cap);
  if (L->local && n + 1 < cap) {
    int k = snprintf(buf + n, cap - n, "%s%lld", n ? "/" : "", (long long)L->local[r]);
    if (k > 0) n += (size_t)k;
    if (n >= cap) n = cap - 1;
  }
  return n;
}

/* The item index events report for row r of L. */
static int64_t item_of(const cjob *j, const lvl *L, int64_t r) {
  if (!L->parent) return j->x->is_map ? L->base + r : -1;
  if (L->local) return L->local[r];
  return item_of(j, L->parent, L->prow[r]);
}

static void emit(cworker *w, const lvl *L, hn_callback fn, const char *node, int64_t row,
                 int64_t n_rows, hn_status st, const char *message) {
  cjob *j = w->job;
  hn_event ev;
  memset(&ev, 0, sizeof ev);
  ev.pipeline = L->pipeline;
  ev.node = node;
  ev.item = row >= 0 ? item_of(j, L, row) : -1;
  if (row >= 0) {
    path_of(j, L, row, w->pbuf, sizeof w->pbuf);
    ev.item_path = w->pbuf[0] ? w->pbuf : NULL;
  }
  ev.depth = L->depth;
  ev.n_rows = n_rows;
  ev.status = st;
  ev.message = message;
  ev.worker = w->index;
  fn(j->cb_ud, &ev);
}

/*
 * Row r of L failed at `node`. The first failure of a row is kept (path NULL:
 * the row's own path; else the path of an inner failure).
 */
static hn_status row_failed(cworker *w, lvl *L, int64_t r, const char *node, hn_status code,
                            const char *msg, const char *path) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  if ((int)code <= 0 || (int)code > (int)HN_EINTERNAL) code = HN_ENODE;
  if (!path && j->on_error) emit(w, L, j->on_error, node, r, 1, code, msg);
  if (!L->failed && !NEWA(L->failed, L->n)) return fatal(w, HN_ENOMEM);
  if (L->failed[r]) return HN_OK;
  if (L->n_fails == L->cap_fails) {
    int64_t cap = L->cap_fails ? 2 * L->cap_fails : 8;
    rfail *f = hn__realloc(a, L->fails, sizeof *f * (size_t)cap);
    if (!f) return fatal(w, HN_ENOMEM);
    L->fails = f;
    L->cap_fails = cap;
  }
  char buf[HN_ERROR_PATH_MAX];
  if (!path) {
    path_of(j, L, r, buf, sizeof buf);
    path = buf;
  }
  rfail f = {r, code, hn__strdup(a, node), hn__strdup(a, msg), hn__strdup(a, path)};
  if (!f.node || !f.msg || !f.path) {
    hn__free(a, f.node);
    hn__free(a, f.msg);
    hn__free(a, f.path);
    return fatal(w, HN_ENOMEM);
  }
  L->failed[r] = 1;
  L->fails[L->n_fails++] = f;
  return HN_OK;
}

static void fails_free(const hn_allocator *a, rfail *f, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    hn__free(a, f[i].node);
    hn__free(a, f[i].msg);
    hn__free(a, f[i].path);
  }
  hn__free(a, f);
}

static void lvl_free(const hn_allocator *a, lvl *L) {
  fails_free(a, L->fails, L->n_fails);
  hn__free(a, L->failed);
  L->fails = NULL;
  L->failed = NULL;
  L->n_fails = 0;
}

/* The message of a failed node call; returns the code to report. */
static hn_status call_message(cworker *w, hn_status st, char *buf, size_t cap) {
  return hn__call_failure(&w->ctx, st, buf, cap);
}

/* ======================================================================== */
/* Node calls                                                               */
/* ======================================================================== */

/*
 * A call of one plain node over m rows (scalar: one call for every row).
 * `rows` maps call row j to the level's row (NULL: j); in scalar mode a
 * failure is every row of `rows` (n_rows of them).
 */
typedef struct ncall {
  const hn_plan_step *ps;
  const hn_type *const *out_types;
  const cval *in;
  int64_t m;
  bool scalar;
  const int64_t *rows;
  int64_t n_rows;
  hn_array **out; /* per output, m rows (1 when scalar) */
  uint8_t *fail;  /* per call row: failed (allocated on the first failure) */
} ncall;

static hn_status call_fail(cworker *w, lvl *L, ncall *c, int64_t j, hn_status code,
                           const char *msg) {
  const hn_allocator *a = &w->job->alloc;
  if (!c->fail && !NEWA(c->fail, c->m)) return fatal(w, HN_ENOMEM);
  c->fail[j] = 1;
  const char *node = c->ps->node->name;
  if (c->scalar) {
    for (int64_t k = 0; k < c->n_rows; k++) {
      hn_status st = row_failed(w, L, c->rows ? c->rows[k] : k, node, code, msg, NULL);
      if (st != HN_OK) return st;
    }
    return HN_OK;
  }
  return row_failed(w, L, c->rows ? c->rows[j] : j, node, code, msg, NULL);
}

/* The row function over rows [0, m), appending into one builder per output. */
static hn_status call_rows(cworker *w, lvl *L, ncall *c) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  const hn_gnode *g = c->ps->node;
  int64_t ni = g->n_inputs, no = g->n_outputs, m = c->scalar ? 1 : c->m;
  hn_datum dl[8];
  hn_builder *bl[8];
  hn_datum *d = ni <= 8 ? dl : hn__calloc(a, (size_t)ni, sizeof *d);
  hn_builder **b = no <= 8 ? bl : hn__calloc(a, (size_t)no, sizeof *b);
  hn_status st = d && b ? HN_OK : fatal(w, HN_ENOMEM);
  int64_t made = 0;
  for (; made < no && st == HN_OK; made++) {
    b[made] = NULL;
    st = hn_builder_create(a, c->out_types[made], &b[made], &w->ferr);
    if (st == HN_OK) st = hn_builder_reserve(b[made], m);
    if (st != HN_OK) st = fatal(w, st);
  }
  bool scal[64], nested = false;
  for (int64_t k = 0; k < no; k++) {
    hn_type_id id = c->out_types[k]->id;
    nested = nested || id == HN_TYPE_LIST || id == HN_TYPE_STRUCT;
  }
  for (int64_t k = 0; k < ni && st == HN_OK; k++) {
    if (k < 64) scal[k] = c->in[k].scalar;
    if (c->in[k].scalar) d[k] = hn_array_get(c->in[k].arr, 0);
  }
  bool started = st == HN_OK;
  if (started && j->on_node_start) emit(w, L, j->on_node_start, g->name, -1, m, HN_OK, NULL);
  hn_status end_st = HN_OK;
  for (int64_t r = 0; r < m && st == HN_OK; r++) {
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
      if (HN__UNLIKELY(nested) && cs == HN_OK && !hn__outputs_closed(g, b, msg, sizeof msg))
        cs = HN_ENODE;
      if (HN__LIKELY(cs == HN_OK)) continue;
    } else {
      cs = call_message(w, cs, msg, sizeof msg);
    }
    end_st = cs;
    for (int64_t k = 0; k < no && st == HN_OK; k++) {
      rollback(b[k], r);
      if (hn_builder_append_null(b[k]) != HN_OK) st = fatal(w, HN_ENOMEM);
    }
    if (st == HN_OK) st = call_fail(w, L, c, r, cs, msg);
  }
  if (started && j->on_node_end)
    emit(w, L, j->on_node_end, g->name, -1, m, st != HN_OK ? st : end_st, NULL);
  for (int64_t k = 0; k < made; k++) {
    if (st == HN_OK) {
      st = hn_builder_finish(b[k], &c->out[k], &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
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
  if (j->on_node_start) emit(w, L, j->on_node_start, g->name, -1, m, HN_OK, NULL);
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
      snprintf(msg, cap, "batch function gave %lld rows of %s for output '%s' (expected %lld "
               "rows of %s)", (long long)(o ? o->length : 0), got, g->outputs[k], (long long)m,
               exp);
      st = HN_ENODE;
    }
  }
  if (j->on_node_end) emit(w, L, j->on_node_end, g->name, -1, m, st, NULL);
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
  if (!NEWA(one, ni) || !NEWA(sl, ni) || !NEWA(o1, no) || !NEWA(b, no)) st = fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < no && st == HN_OK; k++) {
    st = hn_builder_create(a, c->out_types[k], &b[k], &w->ferr);
    if (st != HN_OK) st = fatal(w, st);
  }
  for (int64_t r = 0; r < c->m && st == HN_OK; r++) {
    for (int64_t k = 0; k < ni && st == HN_OK; k++) {
      one[k] = args[k];
      if (args[k].scalar) continue;
      st = hn_array_slice((hn_array *)args[k].array, r, 1, &sl[k], &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
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
      if (st != HN_OK) st = fatal(w, st);
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
      if (st != HN_OK) st = fatal(w, st);
    }
    hn_builder_destroy(b[k]);
  }
  hn__free(a, one);
  hn__free(a, sl);
  hn__free(a, o1);
  hn__free(a, b);
  return st;
}

static hn_status call_batch(cworker *w, lvl *L, ncall *c) {
  const hn_allocator *a = &w->job->alloc;
  const hn_gnode *g = c->ps->node;
  int64_t m = c->scalar ? 1 : c->m;
  hn_batch_arg *args = NULL;
  if (!NEWA(args, g->n_inputs)) return fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < g->n_inputs; k++) {
    args[k].array = c->in[k].arr;
    args[k].scalar = c->in[k].scalar && !c->scalar;
  }
  char msg[HN_ERROR_MESSAGE_MAX];
  hn_status st = HN_OK;
  hn_status cs = batch_once(w, L, c, args, m, c->out, msg, sizeof msg);
  if (cs != HN_OK) {
    if (g->row) {
      st = call_rows(w, L, c);
    } else if (m == 1) {
      for (int64_t k = 0; k < g->n_outputs && st == HN_OK; k++)
        st = nulls_array(a, c->out_types[k], 1, &c->out[k], &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
      else st = call_fail(w, L, c, 0, cs, msg);
    } else {
      st = batch_isolate(w, L, c, args);
    }
  }
  hn__free(a, args);
  return st;
}

/* ======================================================================== */
/* Plans                                                                    */
/* ======================================================================== */

static hn_status eval(cworker *w, const hn_plan *plan, lvl *L, cval *slots);

static void cval_clear(const hn_allocator *a, cval *v) {
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
  if (!NEWA(ix, n)) return fatal(w, HN_ENOMEM);
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
static hn_status step_outputs(cworker *w, const hn_plan *plan, const hn_plan_step *ps,
                              cval *slots, int64_t n, const int64_t *idx, int64_t n_run,
                              bool scalar, hn_array **out, const uint8_t *fail) {
  const hn_allocator *a = &w->job->alloc;
  const hn_gnode *g = ps->node;
  hn_status st = HN_OK;
  /* Per row: not run, or failed (both: null and bad). */
  uint8_t *bad = NULL;
  if (idx || fail) {
    if (!NEWA(bad, n)) return fatal(w, HN_ENOMEM);
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
        st = fatal(w, HN_ENOMEM);
        break;
      }
      for (int64_t q = 0; q < n_run; q++) src[idx[q]] = scalar ? 0 : q;
      st = gather(a, t, out[k], false, src, bad, n, &v->arr, &w->ferr);
      hn__free(a, src);
      if (st != HN_OK) {
        st = fatal(w, st);
        break;
      }
    }
    if (bad) {
      if (!NEWA(v->bad, n)) {
        st = fatal(w, HN_ENOMEM);
        break;
      }
      memcpy(v->bad, bad, (size_t)n);
    }
  }
  hn__free(a, bad);
  return st;
}

static hn_status run_nested(cworker *w, const hn_plan *plan, lvl *L, const hn_plan_step *ps,
                            const cval *in, int64_t m, const int64_t *rows, hn_array **out,
                            uint8_t **fail);

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
  if (!NEWA(in, ni) || !NEWA(out, no) || !NEWA(ot, no)) st = fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < no && st == HN_OK; k++) ot[k] = plan->slot_types[ps->out_slots[k]];
  if (st == HN_OK && n_run == 0) {
    /* Every row is blocked: nulls, no call. */
    for (int64_t k = 0; k < no && st == HN_OK; k++) {
      st = nulls_array(a, ot[k], 1, &out[k], &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
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
      st = gather(a, s->arr->type, s->arr, false, idx, NULL, n_run, &in[k].arr, &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
    }
  }
  if (st != HN_OK) goto done;
  if (ps->inner) {
    st = run_nested(w, plan, L, ps, in, n_run, idx, out, &fail);
  } else {
    ncall c = {ps, ot, in, n_run, scalar, idx, n_run, out, NULL};
    st = g->batch ? call_batch(w, L, &c) : call_rows(w, L, &c);
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
static hn_status eval(cworker *w, const hn_plan *plan, lvl *L, cval *slots) {
  const hn_allocator *a = &w->job->alloc;
  int64_t *last = NULL;
  if (!NEWA(last, plan->n_slots)) return fatal(w, HN_ENOMEM);
  for (int64_t s = 0; s < plan->n_slots; s++) last[s] = -1;
  for (int64_t s = 0; s < plan->n_steps; s++)
    for (int64_t k = 0; k < plan->steps[s].node->n_inputs; k++) last[plan->steps[s].in_slots[k]] = s;
  for (int64_t r = 0; r < plan->n_requested; r++) last[plan->requested_slots[r]] = INT64_MAX;
  hn_status st = HN_OK;
  for (int64_t s = 0; s < plan->n_steps && st == HN_OK; s++) {
    const hn_plan_step *ps = &plan->steps[s];
    st = run_step(w, plan, L, slots, ps);
    /* Intermediates go after their last consumer. */
    for (int64_t k = 0; k < ps->node->n_inputs; k++)
      if (last[ps->in_slots[k]] == s) cval_clear(a, &slots[ps->in_slots[k]]);
    for (int64_t k = 0; k < ps->node->n_outputs; k++)
      if (last[ps->out_slots[k]] < 0) cval_clear(a, &slots[ps->out_slots[k]]);
  }
  hn__free(a, last);
  return st;
}

/* ======================================================================== */
/* Nested nodes                                                             */
/* ======================================================================== */

typedef struct nmap {
  const hn_array *list; /* the list column (or scalar) */
  bool scalar;
  const int32_t *off;   /* offsets from logical row 0 */
  int64_t *len;         /* per outer row */
  int64_t stride;       /* product */
} nmap;

/*
 * Inner rows of a mapped nested node: per outer row i its count (-1: null
 * list) or a failure; fills cnt.
 */
static hn_status nested_counts(cworker *w, lvl *L, const hn_plan_step *ps, const cval *in,
                               int64_t m, const int64_t *rows, nmap *mp, int64_t *cnt,
                               uint8_t *fail) {
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
      for (int64_t i = 0; i < m; i++) {
        fail[i] = 1;
        hn_status st = row_failed(w, L, rows ? rows[i] : i, g->name, HN_ETYPE, msg, NULL);
        if (st != HN_OK) return st;
      }
      return HN_OK;
    }
    mp[k].off = hn_array_offsets(v->arr);
  }
  for (int64_t i = 0; i < m; i++) {
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
    hn_status code = HN_OK;
    if (g->map_mode == HN_MAP_ZIP) {
      bool same = true;
      for (int64_t k = 1; k < nm; k++) same = same && mp[k].len[i] == mp[0].len[i];
      cnt[i] = mp[0].len[i];
      if (!same) {
        size_t n = (size_t)snprintf(msg, sizeof msg, "zip lengths differ: ");
        for (int64_t k = 0; k < nm && n < sizeof msg; k++)
          n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s=%lld", k ? ", " : "",
                                g->inputs[g->map_order[k]], (long long)mp[k].len[i]);
        code = HN_ENODE;
      }
    } else {
      bool any_empty = false;
      for (int64_t k = 0; k < nm; k++) any_empty = any_empty || mp[k].len[i] == 0;
      int64_t total = 1;
      for (int64_t k = nm - 1; k >= 0 && !any_empty && code == HN_OK; k--) {
        if (total > INT32_MAX / mp[k].len[i]) {
          snprintf(msg, sizeof msg, "product of the mapped lists is too large");
          code = HN_ERANGE;
        }
        total *= mp[k].len[i];
      }
      cnt[i] = any_empty ? 0 : total;
    }
    if (code != HN_OK) {
      cnt[i] = 0;
      fail[i] = 1;
      hn_status st = row_failed(w, L, rows ? rows[i] : i, g->name, code, msg, NULL);
      if (st != HN_OK) return st;
    }
  }
  return HN_OK;
}

/* An inner output of T rows (scalar expanded) as a column. */
static hn_status expand(cworker *w, const hn_type *t, cval *v, int64_t T, hn_array **out) {
  if (!v->scalar || T == 1) {
    *out = hn_array_retain(v->arr);
    return HN_OK;
  }
  int64_t *z = hn__calloc(&w->job->alloc, (size_t)(T ? T : 1), sizeof *z);
  if (!z) return fatal(w, HN_ENOMEM);
  hn_status st = gather(&w->job->alloc, t, v->arr, true, z, NULL, T, out, &w->ferr);
  hn__free(&w->job->alloc, z);
  return st == HN_OK ? st : fatal(w, st);
}

static hn_status run_nested(cworker *w, const hn_plan *plan, lvl *L, const hn_plan_step *ps,
                            const cval *in, int64_t m, const int64_t *rows, hn_array **out,
                            uint8_t **failp) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  const hn_gnode *g = ps->node;
  const hn_plan *ip = ps->inner;
  bool mapped = g->n_map > 0;
  int64_t nm = g->n_map, no = g->n_outputs;
  nmap *mp = NULL;
  int64_t *cnt = NULL, *start = NULL, *prow = NULL, *local = NULL, *feed = NULL;
  uint8_t *fail = NULL;
  cval *islots = NULL;
  lvl IL;
  memset(&IL, 0, sizeof IL);
  hn_status st = HN_OK;
  if (j->on_node_start) emit(w, L, j->on_node_start, g->name, -1, m, HN_OK, NULL);
  if (!NEWA(mp, nm) || !NEWA(cnt, m) || !NEWA(start, m + 1) || !NEWA(fail, m) ||
      !NEWA(feed, ip->n_inputs) || !NEWA(islots, ip->n_slots))
    st = fatal(w, HN_ENOMEM);
  for (int64_t k = 0; k < nm && st == HN_OK; k++)
    if (!NEWA(mp[k].len, m)) st = fatal(w, HN_ENOMEM);
  /* Inner row count and layout. */
  int64_t T = m;
  if (st == HN_OK && mapped) {
    st = nested_counts(w, L, ps, in, m, rows, mp, cnt, fail);
    T = 0;
    for (int64_t i = 0; i < m && st == HN_OK; i++) {
      start[i] = T;
      if (!fail[i] && cnt[i] > 0) T += cnt[i];
    }
    start[m] = T;
    if (st == HN_OK && T > INT32_MAX) {
      for (int64_t i = 0; i < m && st == HN_OK; i++)
        if (!fail[i]) {
          fail[i] = 1;
          st = row_failed(w, L, rows ? rows[i] : i, g->name, HN_ERANGE,
                          "the mapped lists hold more than INT32_MAX items", NULL);
        }
      T = 0;
    }
    if (st == HN_OK && (!NEWA(prow, T) || !NEWA(local, T))) st = fatal(w, HN_ENOMEM);
    for (int64_t i = 0; i < m && st == HN_OK; i++)
      for (int64_t t = start[i]; t < start[i + 1]; t++) {
        prow[t] = rows ? rows[i] : i;
        local[t] = t - start[i];
      }
  } else if (st == HN_OK) {
    if (!NEWA(prow, m)) st = fatal(w, HN_ENOMEM);
    for (int64_t i = 0; i < m && st == HN_OK; i++) prow[i] = rows ? rows[i] : i;
  }
  /* Product strides. */
  if (st == HN_OK && mapped && g->map_mode == HN_MAP_PRODUCT) {
    /* per row: computed on the fly below */
  }
  /* Inner inputs. */
  for (int64_t q = 0; q < ip->n_inputs; q++) feed[q] = -1;
  for (int64_t i = 0; i < g->n_inputs; i++)
    if (ps->inner_input_index[i] >= 0) feed[ps->inner_input_index[i]] = i;
  int64_t *gidx = NULL;
  if (st == HN_OK && T > 0 && !NEWA(gidx, T)) st = fatal(w, HN_ENOMEM);
  for (int64_t q = 0; q < ip->n_inputs && st == HN_OK && T > 0; q++) {
    cval *v = &islots[q];
    int64_t i = feed[q];
    if (i < 0) {
      /* Fed by the inner pipeline's bound default (type-checked by the plan). */
      int64_t row = 0;
      hn_array *bound = hn__plan_input_bound(ip, q, &row);
      if (!bound) {
        st = hn__error(&w->ferr, HN_EINTERNAL, "nested node '%s': inner input '%s' has no source",
                       g->name, ip->input_names[q]);
        break;
      }
      st = hn_array_slice(bound, row, 1, &v->arr, &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
      v->scalar = true;
      continue;
    }
    const cval *s = &in[i];
    if (!g->mapped[i]) {
      if (s->scalar) {
        v->arr = hn_array_retain(s->arr);
        v->scalar = true;
        continue;
      }
      if (!mapped) {
        v->arr = hn_array_retain(s->arr);
        continue;
      }
      /* Broadcast by the list offsets. */
      for (int64_t t = 0; t < T; t++) gidx[t] = prow[t];
      if (rows) /* prow holds level rows; in[] is indexed by call row */
        for (int64_t r = 0; r < m; r++)
          for (int64_t t = start[r]; t < start[r + 1]; t++) gidx[t] = r;
      st = gather(a, s->arr->type, s->arr, false, gidx, NULL, T, &v->arr, &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
      continue;
    }
    /* A mapped list: its child is the flattened input. */
    int64_t k = 0;
    while (g->map_order[k] != i) k++;
    const hn_array *list = s->arr;
    hn_array *child = list->children[0];
    bool contiguous = g->map_mode == HN_MAP_ZIP && !s->scalar;
    for (int64_t r = 0; r < m && contiguous; r++)
      contiguous = !fail[r] && cnt[r] >= 0 && cnt[r] == mp[k].len[r];
    if (contiguous) {
      const int32_t *off = mp[k].off;
      st = hn_array_slice(child, off[0], T, &v->arr, &w->ferr); /* zero copy */
      if (st != HN_OK) st = fatal(w, st);
      continue;
    }
    int64_t stride = 1;
    for (int64_t r = 0; r < m; r++) {
      if (g->map_mode == HN_MAP_PRODUCT) {
        stride = 1;
        for (int64_t k2 = nm - 1; k2 > k; k2--) stride *= mp[k2].len[r];
      }
      int64_t lr = s->scalar ? 0 : r;
      for (int64_t t = start[r]; t < start[r + 1]; t++) {
        int64_t loc = t - start[r];
        int64_t e = g->map_mode == HN_MAP_ZIP ? loc : loc / stride % mp[k].len[r];
        gidx[t] = mp[k].off[lr] + e;
      }
    }
    st = gather(a, child->type, child, false, gidx, NULL, T, &v->arr, &w->ferr);
    if (st != HN_OK) st = fatal(w, st);
  }
  hn__free(a, gidx);
  /* The inner plan. */
  IL.parent = L;
  IL.prow = prow;
  IL.local = mapped ? local : NULL;
  IL.depth = L->depth + 1;
  IL.pipeline = ip->pipeline->name ? ip->pipeline->name : "";
  IL.n = T;
  if (st == HN_OK && T > 0) {
    if (j->on_pipeline_start) emit(w, &IL, j->on_pipeline_start, NULL, -1, T, HN_OK, NULL);
    if (j->on_item_start && mapped)
      for (int64_t t = 0; t < T; t++) emit(w, &IL, j->on_item_start, NULL, t, 1, HN_OK, NULL);
    st = eval(w, ip, &IL, islots);
    if (j->on_item_end && mapped && st == HN_OK)
      for (int64_t t = 0; t < T; t++)
        emit(w, &IL, j->on_item_end, NULL, t, 1, IL.failed && IL.failed[t] ? HN_ENODE : HN_OK,
             NULL);
    if (j->on_pipeline_end) emit(w, &IL, j->on_pipeline_end, NULL, -1, T, st, NULL);
  }
  /* Inner failures fail the outer row: its lowest failing inner row. */
  if (st == HN_OK && IL.n_fails > 0) {
    int64_t *best = NULL;
    if (!NEWA(best, m)) st = fatal(w, HN_ENOMEM);
    for (int64_t i = 0; i < m && st == HN_OK; i++) best[i] = -1;
    for (int64_t f = 0; f < IL.n_fails && st == HN_OK; f++) {
      int64_t t = IL.fails[f].row, i;
      if (mapped) {
        int64_t lo = 0, hi = m - 1; /* the outer row whose range holds t */
        while (lo < hi) {
          int64_t mid = (lo + hi + 1) / 2;
          if (start[mid] <= t) lo = mid;
          else hi = mid - 1;
        }
        i = lo;
      } else {
        i = t;
      }
      if (best[i] < 0 || IL.fails[best[i]].row > t) best[i] = f;
    }
    for (int64_t i = 0; i < m && st == HN_OK; i++) {
      if (best[i] < 0 || fail[i]) continue;
      const rfail *f = &IL.fails[best[i]];
      fail[i] = 1;
      st = row_failed(w, L, rows ? rows[i] : i, f->node, f->code, f->msg, f->path);
    }
    hn__free(a, best);
  }
  /* Outputs. */
  bool any_fail = false;
  for (int64_t i = 0; i < m; i++) any_fail = any_fail || fail[i];
  for (int64_t k = 0; k < no && st == HN_OK; k++) {
    const hn_type *ot = plan->slot_types[ps->out_slots[k]];
    int64_t r = ps->inner_output_index[k];
    if (r < 0 || (!mapped && T == 0)) {
      st = nulls_array(a, ot, m, &out[k], &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
      continue;
    }
    hn_array *col = NULL;
    if (T > 0) {
      st = expand(w, ot && mapped ? ot->item : ot, &islots[ip->requested_slots[r]], T, &col);
    } else {
      st = nulls_array(a, ot->item, 0, &col, &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
    }
    if (st != HN_OK) break;
    hn_array *res = col;
    if (mapped) {
      hn_buffer *offs = hn__buffer_new(a, 4 * (m + 1));
      hn_buffer *valid = NULL;
      int64_t nulls = 0;
      for (int64_t i = 0; i < m; i++) nulls += cnt[i] < 0 ? 1 : 0;
      if (nulls > 0) {
        valid = hn__buffer_new(a, (m + 7) / 8);
        if (valid) {
          memset(valid->data, 0, (size_t)((m + 7) / 8));
          valid->size = (m + 7) / 8;
          for (int64_t i = 0; i < m; i++)
            if (cnt[i] >= 0) valid->data[i / 8] |= (uint8_t)(1u << (i % 8));
          hn__buffer_zero_padding(valid);
        }
      }
      if (!offs || (nulls > 0 && !valid)) {
        if (offs) hn_buffer_release(offs);
        if (valid) hn_buffer_release(valid);
        hn_array_release(col);
        st = fatal(w, HN_ENOMEM);
        break;
      }
      for (int64_t i = 0; i <= m; i++) ((int32_t *)offs->data)[i] = (int32_t)start[i];
      offs->size = 4 * (m + 1);
      hn__buffer_zero_padding(offs);
      res = NULL;
      st = hn__array_make(a, ot, m, 0, nulls, valid, offs, NULL, 1, &col, &res, &w->ferr);
      if (st != HN_OK) {
        st = fatal(w, st);
        break;
      }
    }
    if (any_fail) {
      st = gather(a, ot, res, false, NULL, fail, m, &out[k], &w->ferr);
      hn_array_release(res);
      if (st != HN_OK) st = fatal(w, st);
    } else {
      out[k] = res;
    }
  }
  if (j->on_node_end) emit(w, L, j->on_node_end, g->name, -1, m, st, NULL);
  for (int64_t s = 0; islots && s < ip->n_slots; s++) cval_clear(a, &islots[s]);
  lvl_free(a, &IL);
  for (int64_t k = 0; mp && k < nm; k++) hn__free(a, mp[k].len);
  hn__free(a, mp);
  hn__free(a, cnt);
  hn__free(a, start);
  hn__free(a, prow);
  hn__free(a, local);
  hn__free(a, feed);
  hn__free(a, islots);
  if (st == HN_OK && any_fail) *failp = fail;
  else hn__free(a, fail);
  return st;
}

/* ======================================================================== */
/* Morsels and workers                                                      */
/* ======================================================================== */

static hn_status worker_prepare(cworker *w) {
  cjob *j = w->job;
  const hn_plan *plan = j->plan;
  const hn_allocator *a = &j->alloc;
  if (!NEWA(w->res, plan->n_inputs) || !NEWA(w->res_arr, plan->n_inputs))
    return fatal(w, HN_ENOMEM);
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    const hn__src *src = &j->x->srcs[q];
    if (src->kind != HN__SRC_RESOURCE) continue;
    w->res[q].resource = src->resource;
    hn_status st = hn__res_instance_acquire(&w->res[q], &j->res_inits, &w->ferr);
    if (st != HN_OK) return fatal(w, st);
    /* The state as a one-row object array (the type's free is a no-op). */
    hn_builder *b = NULL;
    st = hn_builder_create(a, src->resource->type, &b, &w->ferr);
    if (st == HN_OK) st = hn_builder_append_object(b, w->res[q].state);
    if (st == HN_OK) st = hn_builder_finish(b, &w->res_arr[q], &w->ferr);
    hn_builder_destroy(b);
    if (st != HN_OK) return fatal(w, st);
  }
  w->ready = true;
  return HN_OK;
}

static void worker_teardown(cworker *w) {
  cjob *j = w->job;
  for (int64_t q = 0; q < j->plan->n_inputs; q++) {
    if (w->res_arr) hn_array_release(w->res_arr[q]);
    if (w->res) hn__res_instance_release(&w->res[q], &j->res_destroys);
  }
  hn__free(&j->alloc, w->res_arr);
  hn__free(&j->alloc, w->res);
  w->res = NULL;
  w->res_arr = NULL;
  hn__ctx_destroy(&w->ctx);
}

static int cmp_fail(const void *x, const void *y) {
  const rfail *a = x, *b = y;
  return a->row < b->row ? -1 : a->row > b->row;
}

static hn_status run_morsel(cworker *w, morsel *mo) {
  cjob *j = w->job;
  const hn_plan *plan = j->plan;
  const hn_allocator *a = &j->alloc;
  int64_t n = mo->count;
  cval *slots = NULL;
  if (!NEWA(slots, plan->n_slots)) return fatal(w, HN_ENOMEM);
  lvl L;
  memset(&L, 0, sizeof L);
  L.depth = 0;
  L.pipeline = plan->pipeline->name ? plan->pipeline->name : "";
  L.base = mo->start;
  L.n = n;
  hn_status st = HN_OK;
  int64_t *idx = NULL;
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    const hn__src *src = &j->x->srcs[q];
    cval *v = &slots[q];
    if (src->kind == HN__SRC_CONST) {
      v->arr = hn_array_retain(j->consts[q].arr);
      v->scalar = true;
    } else if (src->kind == HN__SRC_RESOURCE) {
      v->arr = hn_array_retain(w->res_arr[q]);
      v->scalar = true;
    } else if (j->x->zip) {
      st = hn_array_slice((hn_array *)src->column, mo->start, n, &v->arr, &w->ferr); /* zero copy */
      if (st != HN_OK) st = fatal(w, st);
    } else {
      if (!idx && !NEWA(idx, n)) {
        st = fatal(w, HN_ENOMEM);
        break;
      }
      for (int64_t i = 0; i < n; i++) idx[i] = (mo->start + i) / src->stride % src->length;
      st = gather(a, src->column->type, src->column, false, idx, NULL, n, &v->arr, &w->ferr);
      if (st != HN_OK) st = fatal(w, st);
    }
  }
  hn__free(a, idx);
  if (st == HN_OK && j->on_item_start && j->x->is_map)
    for (int64_t r = 0; r < n; r++) emit(w, &L, j->on_item_start, NULL, r, 1, HN_OK, NULL);
  if (st == HN_OK) st = eval(w, plan, &L, slots);
  if (st == HN_OK && j->on_item_end && j->x->is_map) {
    for (int64_t r = 0; r < n; r++) {
      hn_status is = HN_OK;
      if (L.failed && L.failed[r])
        for (int64_t f = 0; f < L.n_fails; f++)
          if (L.fails[f].row == r) is = L.fails[f].code;
      emit(w, &L, j->on_item_end, NULL, r, 1, is, NULL);
    }
  }
  for (int64_t r = 0; r < plan->n_requested && st == HN_OK; r++) {
    int64_t s = plan->requested_slots[r];
    st = expand(w, plan->slot_types[s], &slots[s], n, &mo->cols[r]);
  }
  for (int64_t s = 0; s < plan->n_slots; s++) cval_clear(a, &slots[s]);
  hn__free(a, slots);
  hn__free(a, L.failed);
  if (L.n_fails > 1) qsort(L.fails, (size_t)L.n_fails, sizeof *L.fails, cmp_fail);
  mo->fails = L.fails;
  mo->n_fails = L.n_fails;
  return st;
}

static void job_fail(cjob *j, int64_t index, hn_status st, const hn_error *e) {
  pthread_mutex_lock(&j->mu);
  if (index < atomic_load(&j->fail_morsel)) {
    atomic_store(&j->fail_morsel, index);
    j->fail_status = st;
    j->fail_err = *e;
  }
  pthread_mutex_unlock(&j->mu);
}

static void worker_main(void *arg, int index) {
  cjob *j = arg;
  cworker *w = &j->workers[index];
  for (;;) {
    int64_t k = atomic_fetch_add(&j->next, 1);
    if (k >= j->n_morsels || k > atomic_load(&j->fail_morsel)) break;
    morsel *mo = &j->morsels[k];
    hn_status st = w->ready ? HN_OK : worker_prepare(w);
    w->ran = true;
    if (st == HN_OK) st = run_morsel(w, mo);
    if (st != HN_OK) {
      hn_error e = w->ferr;
      e.code = st;
      job_fail(j, k, st, &e);
      break;
    }
    if (j->x->policy == HN_ERRORS_RAISE && mo->n_fails > 0) {
      const rfail *f = &mo->fails[0];
      hn_error e;
      hn_error_reset(&e);
      if (f->path[0])
        hn__error(&e, f->code, "node '%s' failed on item %s: %s", f->node, f->path, f->msg);
      else
        hn__error(&e, f->code, "node '%s' failed: %s", f->node, f->msg);
      hn__error_set_node(&e, f->node);
      snprintf(e.item_path, sizeof e.item_path, "%s", f->path);
      job_fail(j, k, f->code, &e);
      break;
    }
  }
  worker_teardown(w);
}

/* ======================================================================== */
/* Results                                                                  */
/* ======================================================================== */

static hn_status build_errors(cjob *j, int64_t n_recs, hn_table **out, hn_error *err) {
  hn__errors_builder eb;
  hn__errors_begin(&eb, &j->alloc, n_recs);
  for (int64_t k = 0; k < j->n_morsels; k++) {
    const morsel *mo = &j->morsels[k];
    for (int64_t r = 0; r < mo->n_fails; r++) {
      const rfail *f = &mo->fails[r];
      hn__errors_add(&eb, j->x->is_map ? mo->start + f->row : 0, f->path, f->node, f->msg);
    }
  }
  return hn__errors_finish(&eb, n_recs, out, err);
}

static hn_status assemble(cjob *j, hn_error *err) {
  hn__exec *x = j->x;
  const hn_plan *plan = j->plan;
  const hn_allocator *a = &j->alloc;
  hn_status st = HN_OK;
  if (j->n_morsels > 1) {
    /* One chunk per morsel, in item order: nothing is joined or copied here. */
    x->chunk_columns = hn__calloc(a, (size_t)j->n_morsels, sizeof *x->chunk_columns);
    if (!x->chunk_columns) return hn__error_nomem(err, "assembling the result");
    x->n_chunks = j->n_morsels;
    for (int64_t k = 0; k < j->n_morsels; k++) { /* the morsel's columns move to the chunk */
      x->chunk_columns[k] = j->morsels[k].cols;
      j->morsels[k].cols = NULL;
    }
  } else {
    for (int64_t r = 0; r < plan->n_requested; r++) {
      x->columns[r] = j->morsels[0].cols[r];
      j->morsels[0].cols[r] = NULL;
    }
  }
  int64_t n_recs = 0;
  for (int64_t k = 0; k < j->n_morsels; k++) n_recs += j->morsels[k].n_fails;
  x->errors = NULL;
  if (st == HN_OK && n_recs > 0) st = build_errors(j, n_recs, &x->errors, err);
  if (st != HN_OK) {
    for (int64_t i = 0; i < plan->n_requested; i++) {
      hn_array_release(x->columns[i]);
      x->columns[i] = NULL;
    }
    return st;
  }
  x->stats.n_failed = n_recs;
  return HN_OK;
}

/* ======================================================================== */
/* Entry                                                                    */
/* ======================================================================== */

static void job_free(cjob *j) {
  const hn_allocator *a = &j->alloc;
  for (int64_t k = 0; j->morsels && k < j->n_morsels; k++) {
    morsel *mo = &j->morsels[k];
    for (int64_t r = 0; mo->cols && r < j->plan->n_requested; r++) hn_array_release(mo->cols[r]);
    hn__free(a, mo->cols);
    fails_free(a, mo->fails, mo->n_fails);
  }
  hn__free(a, j->morsels);
  for (int64_t q = 0; j->consts && q < j->plan->n_inputs; q++) hn_array_release(j->consts[q].arr);
  hn__free(a, j->consts);
  hn__free(a, j->workers);
}

static hn_status job_init(cjob *j, hn__exec *x, hn_error *err) {
  hn_engine *e = x->engine;
  const hn_allocator *a = &x->alloc;
  const hn_plan *plan = x->plan;
  memset(j, 0, sizeof *j);
  j->x = x;
  j->plan = plan;
  j->alloc = x->alloc;
  j->n_items = x->n_items;
  j->morsel_size = e->chunk_size > 0 ? e->chunk_size : HN__MORSEL_DEFAULT;
  j->n_morsels = (j->n_items + j->morsel_size - 1) / j->morsel_size;
  j->n_workers = e->n_threads > 0 ? e->n_threads : 1;
  atomic_init(&j->next, 0);
  atomic_init(&j->fail_morsel, INT64_MAX);
  atomic_init(&j->res_inits, 0);
  atomic_init(&j->res_destroys, 0);
  const hn_callbacks *cb = x->cb;
  if (cb) {
    j->cb_ud = cb->user_data;
    j->on_item_start = cb->on_item_start;
    j->on_item_end = cb->on_item_end;
    j->on_node_start = cb->on_node_start;
    j->on_node_end = cb->on_node_end;
    j->on_error = cb->on_error;
    j->on_pipeline_start = cb->on_pipeline_start;
    j->on_pipeline_end = cb->on_pipeline_end;
  }
  if (!NEWA(j->morsels, j->n_morsels) || !NEWA(j->consts, plan->n_inputs) ||
      !NEWA(j->workers, j->n_workers))
    return hn__error_nomem(err, "starting a columnar run");
  for (int64_t k = 0; k < j->n_morsels; k++) {
    morsel *mo = &j->morsels[k];
    mo->start = k * j->morsel_size;
    mo->count = j->n_items - mo->start < j->morsel_size ? j->n_items - mo->start : j->morsel_size;
    if (!NEWA(mo->cols, plan->n_requested)) return hn__error_nomem(err, "starting a columnar run");
  }
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    const hn__src *src = &x->srcs[q];
    if (src->kind != HN__SRC_CONST) continue;
    hn_status st = hn_array_slice(src->array, src->row, 1, &j->consts[q].arr, err); /* zero copy */
    if (st != HN_OK) return st;
  }
  for (int i = 0; i < j->n_workers; i++) {
    cworker *w = &j->workers[i];
    w->job = j;
    w->index = i;
    hn__ctx_init(&w->ctx, a, i);
    hn_error_reset(&w->ferr);
  }
  return HN_OK;
}

hn_status hn__execute_columnar(hn__exec *x, hn_error *err) {
  cjob j;
  hn_status st = job_init(&j, x, err);
  if (st != HN_OK) {
    job_free(&j);
    return st;
  }
  if (pthread_mutex_init(&j.mu, NULL) != 0) {
    job_free(&j);
    return hn__error(err, HN_ENOMEM, "pthread_mutex_init failed");
  }
  hn__engine_run_workers(x->engine, worker_main, &j);
  pthread_mutex_destroy(&j.mu);
  x->stats.n_items = x->n_items;
  x->stats.resource_inits = atomic_load(&j.res_inits);
  x->stats.resource_destroys = atomic_load(&j.res_destroys);
  x->stats.workers = 0;
  for (int i = 0; i < j.n_workers; i++) x->stats.workers += j.workers[i].ran ? 1 : 0;
  if (atomic_load(&j.fail_morsel) != INT64_MAX) {
    st = j.fail_status;
    if (err) *err = j.fail_err;
  } else {
    st = assemble(&j, err);
  }
  job_free(&j);
  return st;
}
