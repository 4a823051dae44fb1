/* The worker's side of the batch protocol: running a batch and building its reply. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "remote_internal.h"

struct hn__batch_worker {
  const hn__call *x;
  hn_allocator alloc;
  hn__pool *pool;                  /* NULL: batches run on the calling thread */
  int n_local;                     /* workers batches run on (threads of pool, or 1) */
  hn__src *srcs;                   /* per plan input: x->srcs with MAPPED/CONST replaced */
  hn__res_instance **res;          /* per local worker: per plan input */
  hn_table *consts;                /* hn__batch_worker_set_consts table, or NULL */
  _Atomic int64_t inits, destroys; /* totals over the worker's life */
  hn__announce_fn announce;
  void *announce_ud;
  int64_t *cur_item; /* per local worker: the top-level item it runs */
  /* Event recording (thread-safe: a pool runs items on several threads). */
  hn_callbacks rec;
  bool want[EV_KINDS]; /* the caller's callbacks: which kinds to record */
  bool any_want;
  pthread_mutex_t mu;
  hn__bytes log;
  bool log_failed;
};

static void log_put(hn__batch_worker *bw, const void *p, size_t n) {
  if (!bw->log_failed && hn__bytes_append(&bw->alloc, &bw->log, p, n, NULL) != HN_OK)
    bw->log_failed = true;
}

static void log_str(hn__batch_worker *bw, const char *s) {
  size_t n = s ? strlen(s) : 0;
  int32_t len = s ? (int32_t)(n > INT32_MAX ? INT32_MAX : n) : -1;
  log_put(bw, &len, sizeof len);
  if (len > 0) log_put(bw, s, (size_t)len);
}

static void record(hn__batch_worker *bw, int kind, const hn_event *ev) {
  uint8_t k = (uint8_t)kind;
  int32_t depth = ev->depth, status = (int32_t)ev->status, attempt = ev->attempt;
  pthread_mutex_lock(&bw->mu);
  log_put(bw, &k, 1);
  log_put(bw, &depth, sizeof depth);
  log_put(bw, &ev->item, sizeof ev->item);
  log_put(bw, &ev->n_items, sizeof ev->n_items);
  log_put(bw, &ev->n_rows, sizeof ev->n_rows);
  log_put(bw, &status, sizeof status);
  log_put(bw, &attempt, sizeof attempt);
  log_str(bw, ev->pipeline);
  log_str(bw, ev->node);
  log_str(bw, ev->item_path);
  log_str(bw, ev->message);
  pthread_mutex_unlock(&bw->mu);
}

static int local_worker(const hn__batch_worker *bw, const hn_event *ev) {
  return ev->worker >= 0 && ev->worker < bw->n_local ? ev->worker : 0;
}

static void rec_item_start(void *ud, const hn_event *ev) {
  hn__batch_worker *bw = ud;
  if (bw->announce && ev->depth == 0) {
    bw->cur_item[local_worker(bw, ev)] = ev->item;
    bw->announce(bw->announce_ud, ev->item, NULL);
  }
  if (bw->want[EV_ITEM_START]) record(bw, EV_ITEM_START, ev);
}
static void rec_item_end(void *ud, const hn_event *ev) {
  record(ud, EV_ITEM_END, ev);
}
static void rec_node_start(void *ud, const hn_event *ev) {
  hn__batch_worker *bw = ud;
  if (bw->announce && ev->node)
    bw->announce(bw->announce_ud, bw->cur_item[local_worker(bw, ev)], ev->node);
  if (bw->want[EV_NODE_START]) record(bw, EV_NODE_START, ev);
}
static void rec_node_end(void *ud, const hn_event *ev) {
  record(ud, EV_NODE_END, ev);
}
static void rec_error(void *ud, const hn_event *ev) {
  record(ud, EV_ERROR, ev);
}
static void rec_pipeline_start(void *ud, const hn_event *ev) {
  record(ud, EV_PIPELINE_START, ev);
}
static void rec_pipeline_end(void *ud, const hn_event *ev) {
  record(ud, EV_PIPELINE_END, ev);
}
static void rec_retry(void *ud, const hn_event *ev) {
  record(ud, EV_RETRY, ev);
}

/* The callbacks handed to the local executor: the recorded kinds, plus what announcing needs. */
static void setup_recorder(hn__batch_worker *bw) {
  hn_callbacks *r = &bw->rec;
  memset(r, 0, sizeof *r);
  r->size = sizeof *r;
  r->user_data = bw;
  bool ann = bw->announce != NULL;
  r->on_item_start = bw->want[EV_ITEM_START] || ann ? rec_item_start : NULL;
  r->on_node_start = bw->want[EV_NODE_START] || ann ? rec_node_start : NULL;
  r->on_item_end = bw->want[EV_ITEM_END] ? rec_item_end : NULL;
  r->on_node_end = bw->want[EV_NODE_END] ? rec_node_end : NULL;
  r->on_error = bw->want[EV_ERROR] ? rec_error : NULL;
  r->on_pipeline_start = bw->want[EV_PIPELINE_START] ? rec_pipeline_start : NULL;
  r->on_pipeline_end = bw->want[EV_PIPELINE_END] ? rec_pipeline_end : NULL;
  r->on_retry = bw->want[EV_RETRY] ? rec_retry : NULL;
}

hn_status hn__batch_worker_create(const hn__call *x, hn__pool *pool, hn__batch_worker **out,
                                  hn_error *err) {
  const hn_allocator *a = &x->alloc;
  const hn_plan *plan = x->plan;
  *out = NULL;
  hn__batch_worker *bw = hn__calloc(a, 1, sizeof *bw);
  if (!bw) return hn__error_nomem(err, "creating a batch worker");
  bw->x = x;
  bw->alloc = x->alloc;
  bw->pool = pool;
  bw->n_local = pool ? hn__pool_size(pool) : 1;
  atomic_init(&bw->inits, 0);
  atomic_init(&bw->destroys, 0);
  size_t n_in = (size_t)(plan->n_inputs ? plan->n_inputs : 1);
  bw->srcs = hn__calloc(a, n_in, sizeof *bw->srcs);
  bw->res = hn__calloc(a, (size_t)bw->n_local, sizeof *bw->res);
  bw->cur_item = hn__calloc(a, (size_t)bw->n_local, sizeof *bw->cur_item);
  bool ok = bw->srcs && bw->res && bw->cur_item;
  for (int w = 0; ok && w < bw->n_local; w++) {
    bw->res[w] = hn__calloc(a, n_in, sizeof *bw->res[w]);
    ok = bw->res[w] != NULL;
  }
  if (!ok || pthread_mutex_init(&bw->mu, NULL) != 0) {
    for (int w = 0; bw->res && w < bw->n_local; w++) hn__free(a, bw->res[w]);
    hn__free(a, bw->res);
    hn__free(a, bw->srcs);
    hn__free(a, bw->cur_item);
    hn__free(a, bw);
    return hn__error_nomem(err, "creating a batch worker");
  }
  for (int64_t q = 0; q < plan->n_inputs; q++) bw->srcs[q] = x->srcs[q];
  for (int k = 0; k < EV_KINDS; k++) {
    bw->want[k] = hn__event_callback(x->cb, k) != NULL;
    bw->any_want = bw->any_want || bw->want[k];
  }
  setup_recorder(bw);
  *out = bw;
  return HN_OK;
}

void hn__batch_worker_set_announce(hn__batch_worker *bw, hn__announce_fn fn, void *user_data) {
  bw->announce = fn;
  bw->announce_ud = user_data;
  setup_recorder(bw);
}

/* Deserialise bytes (borrowed when `copy` is false: the table must not outlive them). */

hn_status hn__batch_worker_set_consts(hn__batch_worker *bw, const void *data, size_t size,
                                      hn_error *err) {
  const hn_plan *plan = bw->x->plan;
  hn_table *t = NULL;
  hn_status st = hn__read_table(&bw->alloc, data, size, true, &t, err);
  /* Check every column first: on failure the previous values stay in force. */
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    hn_array *col = NULL;
    if (bw->srcs[q].kind == HN__SRC_CONST)
      st = hn__find_column(t, plan->input_names[q], NULL, 1, "broadcast table", &col, err);
  }
  if (st != HN_OK) {
    hn_table_release(t);
    return st;
  }
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    hn__src *src = &bw->srcs[q];
    if (src->kind != HN__SRC_CONST) continue;
    hn_array *col = hn_table_column_by_name(t, plan->input_names[q]);
    src->type = col->type;
    src->array = col;
    src->row = 0;
    src->value = hn_array_get(col, 0);
  }
  hn_table_release(bw->consts);
  bw->consts = t;
  return HN_OK;
}

/* The item index at the start of an item path ("37/2" -> 37); `fallback` when absent. */
static int64_t path_item(const char *path, int64_t fallback) {
  if (!path || path[0] < '0' || path[0] > '9') return fallback;
  char *end = NULL;
  long long v = strtoll(path, &end, 10);
  return v < 0 ? fallback : (int64_t)v;
}

/* Write the reply of a failed batch (no outputs, no records). */
static hn_status reply_failure(hn__batch_worker *bw, int64_t first, int64_t count, hn_status code,
                               const hn_error *e, int64_t inits, int64_t destroys, bool with_log,
                               hn__bytes *reply, hn_error *err) {
  reply_header h;
  memset(&h, 0, sizeof h);
  h.magic = REPLY_MAGIC;
  h.version = REPLY_VERSION;
  h.first = first;
  h.count = count;
  h.status = (int32_t)(code == HN_OK ? HN_EINTERNAL : code);
  h.fail_item = bw->x->is_map ? path_item(e->item_path, first) : first;
  if (h.fail_item < first || h.fail_item >= first + count) h.fail_item = first;
  h.inits = inits;
  h.destroys = destroys;
  hn__copy_str(h.message, sizeof h.message, e->message);
  hn__copy_str(h.node, sizeof h.node, e->node);
  hn__copy_str(h.item_path, sizeof h.item_path, e->item_path);
  if (with_log) h.events_size = bw->log.size;
  reply->size = 0;
  hn_status st = hn__bytes_append(&bw->alloc, reply, &h, sizeof h, err);
  if (st == HN_OK && with_log)
    st = hn__bytes_append(&bw->alloc, reply, bw->log.data, bw->log.size, err);
  return st;
}

/* The reply of a batch that ran: outputs, error records, events. */
static hn_status reply_success(hn__batch_worker *bw, int64_t first, int64_t count,
                               const hn_result *res, int64_t inits, int64_t destroys,
                               hn__bytes *reply, hn_error *err) {
  const hn_allocator *a = &bw->alloc;
  reply_header h;
  memset(&h, 0, sizeof h);
  h.magic = REPLY_MAGIC;
  h.version = REPLY_VERSION;
  h.first = first;
  h.count = count;
  h.status = HN_OK;
  h.inits = inits;
  h.destroys = destroys;
  reply->size = 0;
  hn_status st = hn__bytes_append(a, reply, &h, sizeof h, err);
  hn_table *t = hn_result_table(res), *errors = hn_result_errors(res);
  if (st == HN_OK && !t) st = hn__error_nomem(err, "joining a batch's outputs");
  size_t at = reply->size;
  if (st == HN_OK) st = hn__append_table(a, t, reply, err);
  if (st == HN_OK) {
    h.outputs_size = reply->size - at;
    st = hn__bytes_pad8(a, reply, err);
  }
  at = reply->size;
  if (st == HN_OK && errors && hn_table_num_rows(errors) > 0) {
    st = hn__append_table(a, errors, reply, err);
    if (st == HN_OK) h.errors_size = reply->size - at;
    if (st == HN_OK) st = hn__bytes_pad8(a, reply, err);
  }
  if (st == HN_OK) {
    h.events_size = bw->log.size;
    st = hn__bytes_append(a, reply, bw->log.data, bw->log.size, err);
  }
  if (st == HN_OK) memcpy(reply->data, &h, sizeof h);
  return st;
}

hn_status hn__batch_worker_run(hn__batch_worker *bw, int64_t first, int64_t count, const void *in,
                               size_t in_size, hn__bytes *reply, hn_error *err) {
  const hn__call *x = bw->x;
  const hn_plan *plan = x->plan;
  const hn_allocator *a = &bw->alloc;
  reply->size = 0;
  if (first < 0 || count < 1 || first > INT64_MAX - count)
    return hn__error(err, HN_ERANGE, "batch of %lld items at %lld", (long long)count,
                     (long long)first);
  hn_table *t = NULL;
  hn_status st = hn__read_table(a, in, in_size, false, &t, err);
  if (st != HN_OK) return st;
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    hn__src *src = &bw->srcs[q];
    if (src->kind != HN__SRC_MAPPED) continue;
    hn_array *col = NULL;
    st = hn__find_column(t, plan->input_names[q], x->srcs[q].type, count, "batch", &col, err);
    src->column = col;
    src->stride = 1;
    src->length = count;
  }
  hn__call x2 = *x;
  x2.col = NULL;
  if (st == HN_OK) st = hn__collector_create(&x2, &x2.col, err);
  if (st != HN_OK) {
    hn_table_release(t);
    return st;
  }
  for (int w = 0; w < bw->n_local; w++) bw->cur_item[w] = first;
  bw->log.size = 0;
  bw->log_failed = false;
  x2.srcs = bw->srcs;
  x2.n_items = count;
  x2.zip = true;
  x2.item_base = 0; /* the worker numbers items within the call; the parent maps them */
  x2.item_index = NULL;
  x2.cb = bw->any_want || bw->announce ? &bw->rec : NULL;
  hn__items_opts o = {.pool = bw->pool,
                      .item_base = first,
                      .worker_res = (hn__res_instance *const *)bw->res,
                      .no_event_paths = !bw->any_want};
  hn_error e;
  hn_error_reset(&e);
  hn_status run = hn__items_run(&x2, &o, &e);
  hn_table_release(t);
  for (int64_t q = 0; q < plan->n_inputs; q++)
    if (bw->srcs[q].kind == HN__SRC_MAPPED) bw->srcs[q].column = NULL;
  int64_t inits = 0, destroys = 0;
  hn__collector_counts(x2.col, &inits, &destroys);
  atomic_fetch_add(&bw->inits, inits);
  atomic_fetch_add(&bw->destroys, destroys);
  if (run == HN_OK && bw->log_failed) {
    run = hn__error(&e, HN_ENOMEM, "out of memory recording the events of items %lld..%lld",
                    (long long)first, (long long)(first + count - 1));
  }
  hn_result *res = NULL;
  if (run == HN_OK) run = hn__collector_finish(x2.col, &res, &e);
  hn__collector_destroy(x2.col);
  hn_status rs =
      run == HN_OK ? reply_success(bw, first, count, res, inits, destroys, reply, err) : HN_OK;
  hn_result_destroy(res);
  if (run == HN_OK && rs == HN_OK) return HN_OK;
  bool with_log = !bw->log_failed;
  if (run == HN_OK) {
    /* The full reply did not fit: report that instead, without the events. */
    hn__error(&e, rs, "building the reply of items %lld..%lld failed: %s", (long long)first,
              (long long)(first + count - 1), err ? err->message : hn_status_str(rs));
    run = rs;
    with_log = false;
  }
  return reply_failure(bw, first, count, run, &e, inits, destroys, with_log, reply, err);
}

void hn__batch_worker_destroy(hn__batch_worker *bw, int64_t *inits, int64_t *destroys) {
  if (!bw) {
    if (inits) *inits = 0;
    if (destroys) *destroys = 0;
    return;
  }
  const hn_allocator *a = &bw->alloc;
  const hn_plan *plan = bw->x->plan;
  for (int w = 0; w < bw->n_local; w++) {
    for (int64_t q = 0; q < plan->n_inputs; q++)
      hn__res_instance_release(&bw->res[w][q], &bw->destroys);
    hn__free(a, bw->res[w]);
  }
  if (inits) *inits = atomic_load(&bw->inits);
  if (destroys) *destroys = atomic_load(&bw->destroys);
  hn__free(a, bw->res);
  hn__free(a, bw->srcs);
  hn__free(a, bw->cur_item);
  hn_table_release(bw->consts);
  hn__bytes_free(a, &bw->log);
  pthread_mutex_destroy(&bw->mu);
  hn__free(a, bw);
}
