/* The worker's side of the batch protocol: running a batch and building its reply. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "remote_internal.h"

struct hn__batch_worker {
  const hn__call *x;
  hn_allocator alloc;     /* the worker's own state and the reply (keep); batches use x->alloc */
  hn__pool *pool;         /* NULL: batches run on the calling thread */
  int n_local;            /* workers batches run on (threads of pool, or 1) */
  hn__src *srcs;          /* per plan input: x->srcs with MAPPED/CONST replaced */
  hn__res_instance **res; /* per local worker: per plan input */
  hn_table *consts;       /* hn__batch_worker_set_consts table, or NULL */
  _Atomic int64_t inits, destroys; /* totals over the worker's life */
  hn__announce_fn announce;
  void *announce_ud;
  bool announce_nodes; /* node calls are announced too (else items only) */
  int64_t *cur_item;   /* per local worker: the top-level item it runs */
  /* Event recording (thread-safe: a pool runs items on several threads). */
  hn_callbacks rec;
  bool want[EV_KINDS]; /* the caller's callbacks: which kinds to record */
  bool any_want;
  pthread_mutex_t mu;
  hn__bytes log;
  bool log_failed;
  hn__reply_parts parts; /* the last batch's reply (keep allocator) */
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
  int32_t depth = ev->depth, thread = ev->thread, status = (int32_t)ev->status,
          attempt = ev->attempt;
  pthread_mutex_lock(&bw->mu);
  log_put(bw, &k, 1);
  log_put(bw, &depth, sizeof depth);
  log_put(bw, &thread, sizeof thread);
  log_put(bw, &status, sizeof status);
  log_put(bw, &attempt, sizeof attempt);
  log_put(bw, &ev->item, sizeof ev->item);
  log_put(bw, &ev->n_items, sizeof ev->n_items);
  log_put(bw, &ev->n_rows, sizeof ev->n_rows);
  log_put(bw, &ev->start_ns, sizeof ev->start_ns);
  log_put(bw, &ev->duration_ns, sizeof ev->duration_ns);
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
  if (bw->announce && bw->announce_nodes && ev->node)
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
static void rec_map_start(void *ud, const hn_event *ev) {
  record(ud, EV_MAP_START, ev);
}
static void rec_map_end(void *ud, const hn_event *ev) {
  record(ud, EV_MAP_END, ev);
}
static void rec_chunk_start(void *ud, const hn_event *ev) {
  record(ud, EV_CHUNK_START, ev);
}
static void rec_chunk_end(void *ud, const hn_event *ev) {
  record(ud, EV_CHUNK_END, ev);
}
static void rec_retry(void *ud, const hn_event *ev) {
  record(ud, EV_RETRY, ev);
}

uint32_t hn__batch_events_mask(const hn_callbacks *cb) {
  uint32_t mask = 0;
  for (int k = 0; k < EV_KINDS; k++)
    if (hn__event_callback(cb, k)) mask |= 1u << k;
  return mask;
}

static void event_noop(void *ud, const hn_event *ev) {
  (void)ud;
  (void)ev;
}

void hn__batch_events_callbacks(uint32_t mask, hn_callbacks *out) {
  memset(out, 0, sizeof *out);
  out->size = sizeof *out;
  /* In EV_* order (hn__event_callback's). */
  hn_callback *slot[] = {&out->on_item_start,   &out->on_item_end,  &out->on_node_start,
                         &out->on_node_end,     &out->on_error,     &out->on_pipeline_start,
                         &out->on_pipeline_end, &out->on_map_start, &out->on_map_end,
                         &out->on_chunk_start,  &out->on_chunk_end, &out->on_retry};
  _Static_assert(sizeof slot / sizeof slot[0] == EV_KINDS, "one callback per event kind");
  for (int k = 0; k < EV_KINDS; k++)
    if (mask & (1u << k)) *slot[k] = event_noop;
}

/* The callbacks handed to the local executor: the recorded kinds, plus what announcing needs. */
static void setup_recorder(hn__batch_worker *bw) {
  hn_callbacks *r = &bw->rec;
  memset(r, 0, sizeof *r);
  r->size = sizeof *r;
  r->user_data = bw;
  bool ann = bw->announce != NULL;
  r->on_item_start = bw->want[EV_ITEM_START] || ann ? rec_item_start : NULL;
  r->on_node_start = bw->want[EV_NODE_START] || (ann && bw->announce_nodes) ? rec_node_start : NULL;
  r->on_item_end = bw->want[EV_ITEM_END] ? rec_item_end : NULL;
  r->on_node_end = bw->want[EV_NODE_END] ? rec_node_end : NULL;
  r->on_error = bw->want[EV_ERROR] ? rec_error : NULL;
  r->on_pipeline_start = bw->want[EV_PIPELINE_START] ? rec_pipeline_start : NULL;
  r->on_pipeline_end = bw->want[EV_PIPELINE_END] ? rec_pipeline_end : NULL;
  r->on_map_start = bw->want[EV_MAP_START] ? rec_map_start : NULL;
  r->on_map_end = bw->want[EV_MAP_END] ? rec_map_end : NULL;
  r->on_chunk_start = bw->want[EV_CHUNK_START] ? rec_chunk_start : NULL;
  r->on_chunk_end = bw->want[EV_CHUNK_END] ? rec_chunk_end : NULL;
  r->on_retry = bw->want[EV_RETRY] ? rec_retry : NULL;
}

hn_status hn__batch_worker_create(const hn__call *x, hn__pool *pool, hn__batch_worker **out,
                                  hn_error *err) {
  return hn__batch_worker_create_ex(x, pool, &x->alloc, out, err);
}

hn_status hn__batch_worker_create_ex(const hn__call *x, hn__pool *pool, const hn_allocator *keep,
                                     hn__batch_worker **out, hn_error *err) {
  const hn_allocator *a = keep;
  const hn_plan *plan = x->plan;
  *out = NULL;
  hn__batch_worker *bw = hn__calloc(a, 1, sizeof *bw);
  if (!bw) return hn__error_nomem(err, "creating a batch worker");
  bw->x = x;
  bw->alloc = *keep;
  bw->announce_nodes = true;
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

void hn__batch_worker_announce_nodes(hn__batch_worker *bw, bool nodes) {
  if (bw->announce_nodes == nodes) return;
  bw->announce_nodes = nodes;
  setup_recorder(bw);
}

void hn__batch_worker_set_announce(hn__batch_worker *bw, hn__announce_fn fn, void *user_data) {
  bw->announce = fn;
  bw->announce_ud = user_data;
  setup_recorder(bw);
}

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

/* A reply header for items [first, first+count) with `code` and the resource counts. */
static reply_header reply_head(int64_t first, int64_t count, hn_status code, int64_t inits,
                               int64_t destroys) {
  reply_header h;
  memset(&h, 0, sizeof h);
  h.magic = REPLY_MAGIC;
  h.version = REPLY_VERSION;
  h.first = first;
  h.count = count;
  h.status = (int32_t)code;
  h.inits = inits;
  h.destroys = destroys;
  return h;
}

/* Forget the previous reply's tables. */
static void parts_reset(hn__reply_parts *r) {
  hn_buffer_release(r->outputs);
  hn_buffer_release(r->errors);
  r->outputs = r->errors = NULL;
  r->head.size = 0;
  r->events = NULL;
  r->events_size = 0;
}

/* Write the header (and its padding) into the parts. */
static hn_status parts_head(hn__batch_worker *bw, const reply_header *h, hn_error *err) {
  hn__reply_parts *r = &bw->parts;
  r->head.size = 0;
  hn_status st = hn__bytes_append(&bw->alloc, &r->head, h, sizeof *h, err);
  return st == HN_OK ? hn__bytes_pad(&bw->alloc, &r->head, 64, err) : st;
}

/* The reply of a failed batch (no outputs, no records). */
static hn_status reply_failure(hn__batch_worker *bw, int64_t first, int64_t count, hn_status code,
                               const hn_error *e, int64_t inits, int64_t destroys, bool with_log,
                               hn_error *err) {
  reply_header h = reply_head(first, count, code == HN_OK ? HN_EINTERNAL : code, inits, destroys);
  h.fail_item = bw->x->is_map ? path_item(e->item_path, first) : first;
  if (h.fail_item < first || h.fail_item >= first + count) h.fail_item = first;
  hn__copy_str(h.message, sizeof h.message, e->message);
  hn__copy_str(h.node, sizeof h.node, e->node);
  hn__copy_str(h.item_path, sizeof h.item_path, e->item_path);
  parts_reset(&bw->parts);
  if (with_log) {
    h.events_size = bw->log.size;
    bw->parts.events = bw->log.data;
    bw->parts.events_size = bw->log.size;
  }
  return parts_head(bw, &h, err);
}

/* The reply of a batch that ran: outputs, error records, events (tables with keep). */
static hn_status reply_success(hn__batch_worker *bw, int64_t first, int64_t count,
                               const hn_result *res, int64_t inits, int64_t destroys,
                               int64_t run_ns, hn_error *err) {
  hn__reply_parts *r = &bw->parts;
  parts_reset(r);
  reply_header h = reply_head(first, count, HN_OK, inits, destroys);
  h.run_ns = run_ns;
  hn_table *t = hn_result_table(res);
  hn_table *errors = res->errors_timed ? res->errors_timed : hn_result_errors(res); /* with times */
  hn_status st = t ? hn_table_serialize(t, &bw->alloc, &r->outputs, err)
                   : hn__error_nomem(err, "joining a batch's outputs");
  if (st == HN_OK && errors && hn_table_num_rows(errors) > 0)
    st = hn_table_serialize(errors, &bw->alloc, &r->errors, err);
  if (st != HN_OK) return st;
  h.outputs_size = (uint64_t)hn_buffer_size(r->outputs);
  h.errors_size = r->errors ? (uint64_t)hn_buffer_size(r->errors) : 0;
  h.events_size = bw->log.size;
  r->events = bw->log.data;
  r->events_size = bw->log.size;
  return parts_head(bw, &h, err);
}

int hn__reply_parts_segments(const hn__reply_parts *r, const void **data, size_t *size) {
  static const uint8_t zeros[8];
  int n = 0;
  data[n] = r->head.data;
  size[n++] = r->head.size;
  const hn_buffer *tables[2] = {r->outputs, r->errors};
  for (int k = 0; k < 2; k++) {
    size_t bytes = tables[k] ? (size_t)hn_buffer_size(tables[k]) : 0;
    if (bytes == 0) continue;
    data[n] = hn_buffer_data(tables[k]);
    size[n++] = bytes;
    if (hn__pad8(bytes) > bytes) {
      data[n] = zeros;
      size[n++] = hn__pad8(bytes) - bytes;
    }
  }
  if (r->events_size) {
    data[n] = r->events;
    size[n++] = r->events_size;
  }
  return n;
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Point the MAPPED sources at the columns of batch table t (count rows). */
static hn_status bind_batch(hn__batch_worker *bw, const hn_table *t, int64_t count, hn_error *err) {
  const hn__call *x = bw->x;
  const hn_plan *plan = x->plan;
  hn_status st = HN_OK;
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    hn__src *src = &bw->srcs[q];
    if (src->kind != HN__SRC_MAPPED) continue;
    hn_array *col = NULL;
    st = hn__find_column(t, plan->input_names[q], x->srcs[q].type, count, "batch", &col, err);
    src->column = col;
    if (col) src->type = col->type;
    src->stride = 1;
    src->length = count;
  }
  return st;
}

/*
 * Run items [first, first+count) of table t into *res (under the batch's
 * allocator); the node failure or the engine's in *e. Counts and time out.
 */
static hn_status run_items(hn__batch_worker *bw, int64_t first, int64_t count, hn_result **res,
                           hn_error *e, int64_t *inits, int64_t *destroys, int64_t *run_ns,
                           hn_error *err) {
  hn__call x2 = *bw->x;
  x2.col = NULL;
  hn_status st = hn__collector_create(&x2, &x2.col, err);
  if (st != HN_OK) return st;
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
                      .no_event_paths = !bw->any_want,
                      .untimed_items = !bw->want[EV_ITEM_START],
                      .untimed_nodes = !bw->want[EV_NODE_START]};
  int64_t t0 = mono_ns();
  hn_status run = hn__items_run(&x2, &o, e);
  *run_ns = mono_ns() - t0;
  hn__collector_counts(x2.col, inits, destroys);
  atomic_fetch_add(&bw->inits, *inits);
  atomic_fetch_add(&bw->destroys, *destroys);
  if (run == HN_OK && bw->log_failed) {
    run = hn__error(e, HN_ENOMEM, "out of memory recording the events of items %lld..%lld",
                    (long long)first, (long long)(first + count - 1));
  }
  if (run == HN_OK) run = hn__collector_finish(x2.col, res, e);
  hn__collector_destroy(x2.col);
  return run;
}

hn_status hn__batch_worker_run_parts(hn__batch_worker *bw, int64_t first, int64_t count,
                                     const void *in, size_t in_size, const hn__reply_parts **out,
                                     hn_error *err) {
  *out = &bw->parts;
  parts_reset(&bw->parts);
  if (first < 0 || count < 1 || first > INT64_MAX - count)
    return hn__error(err, HN_ERANGE, "batch of %lld items at %lld", (long long)count,
                     (long long)first);
  hn_table *t = NULL;
  hn_status st = hn__read_table(&bw->x->alloc, in, in_size, false, &t, err);
  if (st == HN_OK) st = bind_batch(bw, t, count, err);
  hn_error e;
  hn_error_reset(&e);
  hn_result *res = NULL;
  int64_t inits = 0, destroys = 0, run_ns = 0;
  hn_status run =
      st == HN_OK ? run_items(bw, first, count, &res, &e, &inits, &destroys, &run_ns, err) : HN_OK;
  hn_table_release(t);
  for (int64_t q = 0; q < bw->x->plan->n_inputs; q++)
    if (bw->srcs[q].kind == HN__SRC_MAPPED) bw->srcs[q].column = NULL;
  if (st != HN_OK) return st;
  hn_status rs =
      run == HN_OK ? reply_success(bw, first, count, res, inits, destroys, run_ns, err) : HN_OK;
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
  return reply_failure(bw, first, count, run, &e, inits, destroys, with_log, err);
}

hn_status hn__batch_worker_run(hn__batch_worker *bw, int64_t first, int64_t count, const void *in,
                               size_t in_size, hn__bytes *reply, hn_error *err) {
  reply->size = 0;
  const hn__reply_parts *r = NULL;
  hn_status st = hn__batch_worker_run_parts(bw, first, count, in, in_size, &r, err);
  const void *data[HN__REPLY_SEGMENTS];
  size_t size[HN__REPLY_SEGMENTS];
  int n = st == HN_OK ? hn__reply_parts_segments(r, data, size) : 0;
  for (int k = 0; k < n && st == HN_OK; k++)
    st = hn__bytes_append(&bw->alloc, reply, data[k], size[k], err);
  parts_reset(&bw->parts); /* the tables are copied: free them now */
  return st;
}

void hn__batch_worker_counts(const hn__batch_worker *bw, int64_t *inits, int64_t *destroys) {
  *inits = atomic_load(&bw->inits);
  *destroys = atomic_load(&bw->destroys);
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
  parts_reset(&bw->parts);
  hn__bytes_free(a, &bw->parts.head);
  pthread_mutex_destroy(&bw->mu);
  hn__free(a, bw);
}
