/*
 * The columnar executor: the plan runs node by node over morsels of rows.
 *
 * Map items are cut into morsels (engine chunk_size rows; by default
 * HN__MORSEL_DEFAULT, fewer when a map is small: morsel_size) that the
 * engine's workers claim in order. A morsel is a set of
 * column values, one per plan slot: a column of the morsel's rows, or a
 * scalar (a one-row array broadcast to every row: fixed inputs, resources,
 * outputs of nodes whose inputs are all scalars). A node with a batch
 * function gets the columns whole; a row-only node is looped over the rows
 * with datum views, appending into one builder per output. Intermediates are
 * released after their last consumer; the requested outputs of every morsel
 * go to the result collector as one chunk each, and the result keeps them as
 * record batches in item order (nothing is joined or copied).
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

#include "columnar_internal.h"

static hn_status worker_prepare(cworker *w) {
  cjob *j = w->job;
  const hn_plan *plan = j->plan;
  const hn_allocator *a = &j->alloc;
  if (!NEWA(w->res, plan->n_inputs) || !NEWA(w->res_arr, plan->n_inputs))
    return hn__col_fatal(w, HN_ENOMEM);
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    const hn__src *src = &j->x->srcs[q];
    if (src->kind != HN__SRC_RESOURCE) continue;
    w->res[q].resource = src->resource;
    hn_status st = hn__res_instance_acquire(&w->res[q], &j->res_inits, &w->ferr);
    if (st != HN_OK) return hn__col_fatal(w, st);
    /* The state as a one-row object array (the type's free is a no-op). */
    hn_builder *b = NULL;
    st = hn_builder_create(a, src->resource->type, &b, &w->ferr);
    if (st == HN_OK) st = hn_builder_append_object(b, w->res[q].state);
    if (st == HN_OK) st = hn_builder_finish(b, &w->res_arr[q], &w->ferr);
    hn_builder_destroy(b);
    if (st != HN_OK) return hn__col_fatal(w, st);
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

/* A morsel's rows through the plan: its inputs, the evaluation and its item events. */
static hn_status eval_morsel(cworker *w, morsel *mo, lvl *L, cval *slots) {
  cjob *j = w->job;
  const hn_plan *plan = j->plan;
  bool items = j->x->is_map && j->ev.time_items;
  int64_t t0 = items ? hn__now_ns() : 0;
  if (items && j->ev.item_start) hn__col_items(w, L, j->ev.item_start, mo->count, t0, 0);
  hn_status st = hn__col_eval(w, plan, L, slots);
  if (st == HN_OK && items && j->ev.item_end)
    hn__col_items(w, L, j->ev.item_end, mo->count, t0, hn__now_ns() - t0);
  return st;
}

static hn_status run_morsel(cworker *w, morsel *mo) {
  cjob *j = w->job;
  const hn_plan *plan = j->plan;
  const hn_allocator *a = &j->alloc;
  int64_t n = mo->count;
  cval *slots = NULL;
  if (!NEWA(slots, plan->n_slots)) return hn__col_fatal(w, HN_ENOMEM);
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
      if (st != HN_OK) st = hn__col_fatal(w, st);
    } else {
      if (!idx && !NEWA(idx, n)) {
        st = hn__col_fatal(w, HN_ENOMEM);
        break;
      }
      for (int64_t i = 0; i < n; i++) idx[i] = (mo->start + i) / src->stride % src->length;
      st = hn__array_take(a, src->column->type, src->column, idx, NULL, n, &v->arr, &w->ferr);
      if (st != HN_OK) st = hn__col_fatal(w, st);
    }
  }
  hn__free(a, idx);
  if (st == HN_OK) st = eval_morsel(w, mo, &L, slots);
  for (int64_t r = 0; r < plan->n_requested && st == HN_OK; r++) {
    int64_t s = plan->requested_slots[r];
    st = hn__col_expand(w, plan->slot_types[s], &slots[s], n, &mo->cols[r]);
  }
  for (int64_t s = 0; s < plan->n_slots; s++) hn__col_cval_clear(a, &slots[s]);
  hn__free(a, slots);
  hn__free(a, L.failed);
  hn__records_sort(&L.fails);
  mo->fails = L.fails;
  return st;
}

/* A morsel with its chunk events (when timed). */
static hn_status timed_morsel(cworker *w, morsel *mo) {
  cjob *j = w->job;
  if (!j->ev.time_chunks) return run_morsel(w, mo);
  lvl top;
  memset(&top, 0, sizeof top);
  top.pipeline = j->plan->pipeline->name ? j->plan->pipeline->name : "";
  int64_t first = j->x->is_map ? mo->start : -1;
  int64_t t0 = hn__now_ns();
  hn__col_span(w, &top, j->ev.chunk_start, first, mo->count, 0, HN_OK, t0, 0);
  hn_status st = run_morsel(w, mo);
  bool raised = j->x->policy == HN_ERRORS_RAISE && mo->fails.n > 0; /* the morsel failed */
  hn_status end = st != HN_OK ? st : raised ? mo->fails.v[0].code : HN_OK;
  hn__col_span(w, &top, j->ev.chunk_end, first, mo->count, 0, end, t0, hn__now_ns() - t0);
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
    hn_status stop = hn__call_stopped(j->x);
    if (stop != HN_OK) st = hn__stop_error(j->x->stop, &w->ferr);
    if (st == HN_OK) st = timed_morsel(w, mo);
    if (st == HN_OK) mo->done = true;
    if (st != HN_OK) {
      hn_error e = w->ferr;
      e.code = st;
      job_fail(j, k, st, &e);
      break;
    }
    if (j->x->policy == HN_ERRORS_RAISE && mo->fails.n > 0) {
      const hn__record *f = &mo->fails.v[0];
      hn_error e;
      hn_error_reset(&e);
      hn__node_error(&e, f->code, f->node, f->path, f->message);
      job_fail(j, k, f->code, &e);
      break;
    }
  }
  worker_teardown(w);
}

/* ======================================================================== */
/* Results                                                                  */
/* ======================================================================== */

/* Hand every morsel's outputs and records to the collector; morsels stay record batches. */
static hn_status assemble(cjob *j, hn_error *err) {
  hn__collector *col = j->x->col;
  hn__collector_keep_chunks(col, 0);
  hn_status st = HN_OK;
  for (int64_t k = 0; k < j->n_morsels && st == HN_OK; k++) {
    morsel *mo = &j->morsels[k];
    if (!mo->done) continue; /* a stopped call: only what finished */
    st = hn__collector_add_chunk(col, mo->start, mo->count, mo->cols, err);
    mo->cols = NULL;                          /* taken */
    for (int64_t r = 0; r < mo->fails.n; r++) /* a morsel's row -> the caller's item index */
      mo->fails.v[r].item = j->x->is_map ? hn__call_item(j->x, mo->start + mo->fails.v[r].item) : 0;
    if (st == HN_OK) st = hn__collector_add_records(col, &mo->fails, 0, err);
  }
  return st;
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
    hn__records_free(a, &mo->fails);
  }
  hn__free(a, j->morsels);
  for (int64_t q = 0; j->consts && q < j->plan->n_inputs; q++) hn_array_release(j->consts[q].arr);
  hn__free(a, j->consts);
  hn__free(a, j->workers);
  int64_t abandoned = 0;
  hn__guard_destroy(j->guard, &abandoned);
  j->guard = NULL;
  if (abandoned > 0) hn__collector_add_abandoned(j->x->col, abandoned);
}

/*
 * Rows per morsel when the engine sets none: HN__MORSEL_DEFAULT for large
 * maps; a smaller map is cut into about four morsels per worker (at least
 * HN__MORSEL_MIN rows each), so that every worker has work and heavy items
 * balance, while a morsel's fixed cost stays small beside its rows'.
 */
static int64_t morsel_size(int64_t n_items, int n_workers) {
  int64_t per = (n_items + 4 * (int64_t)n_workers - 1) / (4 * (int64_t)n_workers);
  if (per > HN__MORSEL_DEFAULT) per = HN__MORSEL_DEFAULT;
  return per < HN__MORSEL_MIN ? HN__MORSEL_MIN : per;
}

static hn_status job_init(cjob *j, hn__call *x, hn_error *err) {
  hn__pool *pool = x->engine->state;
  int64_t chunk_size = x->engine->options.chunk_size;
  const hn_allocator *a = &x->alloc;
  const hn_plan *plan = x->plan;
  memset(j, 0, sizeof *j);
  j->x = x;
  j->plan = plan;
  j->alloc = x->alloc;
  j->n_items = x->n_items;
  j->n_workers = pool ? hn__pool_size(pool) : 1;
  j->morsel_size = chunk_size > 0 ? chunk_size : morsel_size(j->n_items, j->n_workers);
  j->n_morsels = (j->n_items + j->morsel_size - 1) / j->morsel_size;
  atomic_init(&j->next, 0);
  atomic_init(&j->fail_morsel, INT64_MAX);
  atomic_init(&j->res_inits, 0);
  atomic_init(&j->res_destroys, 0);
  hn__events_init(&j->ev, x);
  if (!NEWA(j->morsels, j->n_morsels) || !NEWA(j->consts, plan->n_inputs) ||
      !NEWA(j->workers, j->n_workers))
    return hn__error_nomem(err, "starting a columnar run");
  hn_status gst = hn__guard_create(x, &j->guard, err);
  if (gst != HN_OK) return gst;
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
    w->ctx.stop = x->stop;
    hn_error_reset(&w->ferr);
  }
  return HN_OK;
}

static hn_status columnar_execute(hn__call *x, hn_error *err) {
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
  /* One item: its morsel runs here, and the pool takes the rows of its heavy calls. */
  if (x->n_items == 1 && hn__pool_size(x->engine->state) > 1) j.helpers = x->engine->state;
  if (j.helpers)
    worker_main(&j, 0);
  else
    hn__pool_run(x->engine->state, worker_main, &j);
  pthread_mutex_destroy(&j.mu);
  int ran = 0;
  for (int i = 0; i < j.n_workers; i++) ran += j.workers[i].ran ? 1 : 0;
  hn__collector_add_counts(x->col, atomic_load(&j.res_inits), atomic_load(&j.res_destroys), ran);
  hn_status stop = hn__call_stopped(x);
  if (stop != HN_OK && atomic_load(&j.fail_morsel) != INT64_MAX && j.fail_status == stop) {
    st = assemble(&j, err); /* what finished, for a result under continue */
    if (st == HN_OK) st = hn__stop_error(x->stop, err);
  } else if (atomic_load(&j.fail_morsel) != INT64_MAX) {
    st = j.fail_status;
    if (err) *err = j.fail_err;
  } else {
    st = assemble(&j, err);
  }
  job_free(&j);
  return st;
}

static hn_status columnar_start(hn_engine *e, const hn_engine_options *o, hn_error *err) {
  e->workers = o->workers;
  hn__pool *pool = NULL;
  hn_status st = hn__pool_create(&e->alloc, e->workers, &pool, err);
  e->state = pool;
  return st;
}

static void columnar_stop(hn_engine *e) {
  hn__pool_destroy(e->state);
  e->state = NULL;
}

const hn__engine_ops hn__columnar_ops = {
    .name = "columnar",
    .start = columnar_start,
    .stop = columnar_stop,
    .execute = columnar_execute,
};
