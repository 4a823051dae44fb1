/*
 * The batch protocol shared by the engines that run a map away from the
 * calling thread's memory (remote.h): byte buffers, batch and broadcast encoding, the batch worker and the
 * collector of replies.
 *
 * A batch is one serialised table (hn_table_serialize): one column per
 * mapped plan input, named after it, one row per item of [first,
 * first+count). Zip mode sends zero-copy slices of the mapped columns (the
 * serialiser writes only the sliced range); product mode gathers row
 * item / stride % length of each column with a builder.
 *
 * A reply is, in host byte order (the mpi engine checks that ranks agree on
 * it before any batch moves):
 *
 *   reply_header                      fixed size, see below
 *   outputs table                     hn_table_serialize bytes, outputs_size
 *                                     (0 when status != HN_OK); one column
 *                                     per requested output, one row per item
 *   error records table               hn_table_serialize bytes of the item
 *                                     executor's error table, errors_size
 *                                     (0: no record)
 *   event log                         events_size bytes: one record per
 *                                     event, in the order they fired:
 *                                       u8 kind, i32 depth, i64 item,
 *                                       i64 n_items, i64 n_rows, i32 status,
 *                                       then pipeline, node, item_path,
 *                                       message as i32 length (-1: NULL)
 *                                       followed by the bytes
 *
 * Each section starts at a multiple of 8 bytes. The header carries the
 * status of the batch: HN_OK, or the failure that stopped it (a node
 * failure under RAISE, or an engine failure such as HN_ENOMEM) with the
 * hn_error fields and the failing item. Its resource counts are the
 * instances built and destroyed while running this batch (deltas, never
 * totals, so that summing replies counts each instance once); instances
 * still live at the end are destroyed by hn__batch_worker_destroy, whose
 * totals the transport reports separately (hn__collector_add_counts).
 * Every size is checked on decode: a malformed reply is HN_ECORRUPT and
 * nothing is read outside it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "remote.h"

#define REPLY_MAGIC 0x52424e48u /* "HNBR" read as a little-endian u32 */
#define REPLY_VERSION 1u

typedef struct reply_header {
  uint32_t magic, version;
  int64_t first, count;
  int32_t status; /* HN_OK or the batch's failure */
  int32_t reserved;
  int64_t fail_item;       /* the failing item, when status != HN_OK */
  int64_t inits, destroys; /* resource instances built / destroyed by this batch */
  uint64_t outputs_size, errors_size, events_size;
  char message[HN_ERROR_MESSAGE_MAX];
  char node[HN_ERROR_NODE_MAX];
  char item_path[HN_ERROR_PATH_MAX];
} reply_header;

/* Event kinds of the log. */
enum {
  EV_ITEM_START = 0,
  EV_ITEM_END,
  EV_NODE_START,
  EV_NODE_END,
  EV_ERROR,
  EV_PIPELINE_START,
  EV_PIPELINE_END,
  EV_KINDS
};

static size_t pad8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
}

/* ======================================================================== */
/* Byte buffers                                                             */
/* ======================================================================== */

hn_status hn__bytes_reserve(const hn_allocator *alloc, hn__bytes *b, size_t extra, hn_error *err) {
  if (extra <= b->cap - b->size) return HN_OK;
  if (extra > SIZE_MAX / 2 - b->size) return hn__error(err, HN_ERANGE, "byte buffer too large");
  size_t need = b->size + extra, cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  uint8_t *p = hn__realloc(alloc, b->data, cap);
  if (!p) return hn__error_nomem(err, "growing a message buffer");
  b->data = p;
  b->cap = cap;
  return HN_OK;
}

hn_status hn__bytes_append(const hn_allocator *alloc, hn__bytes *b, const void *p, size_t n,
                           hn_error *err) {
  hn_status st = hn__bytes_reserve(alloc, b, n, err);
  if (st != HN_OK) return st;
  if (n) memcpy(b->data + b->size, p, n);
  b->size += n;
  return HN_OK;
}

void hn__bytes_free(const hn_allocator *alloc, hn__bytes *b) {
  hn__free(alloc, b->data);
  b->data = NULL;
  b->size = b->cap = 0;
}

/* Append zero bytes up to the next multiple of 8. */
static hn_status bytes_pad8(const hn_allocator *alloc, hn__bytes *b, hn_error *err) {
  static const uint8_t zeros[8];
  return hn__bytes_append(alloc, b, zeros, pad8(b->size) - b->size, err);
}

/* ======================================================================== */
/* Parent side: batches                                                     */
/* ======================================================================== */

/* Serialise `t` and append its bytes to `out`. */
static hn_status append_table(const hn_allocator *a, const hn_table *t, hn__bytes *out,
                              hn_error *err) {
  hn_buffer *buf = NULL;
  hn_status st = hn_table_serialize(t, a, &buf, err);
  if (st != HN_OK) return st;
  st = hn__bytes_append(a, out, hn_buffer_data(buf), (size_t)hn_buffer_size(buf), err);
  hn_buffer_release(buf);
  return st;
}

/* Rows item / stride % length of `src` for items [first, first+count), gathered. */
static hn_status gather(const hn_allocator *a, const hn__src *src, int64_t first, int64_t count,
                        hn_array **out, hn_error *err) {
  int64_t *idx = hn__calloc(a, (size_t)(count ? count : 1), sizeof *idx);
  if (!idx) return hn__error_nomem(err, "gathering a batch");
  for (int64_t k = 0; k < count; k++)
    idx[k] = hn__map_row(HN_MAP_PRODUCT, first + k, src->stride, src->length);
  hn_status st = hn__array_take(a, src->column->type, src->column, idx, NULL, count, out, err);
  hn__free(a, idx);
  return st;
}

/* A table of the given plan inputs' columns (taken, also on failure), serialised into `out`. */
static hn_status encode_columns(const hn__call *x, int64_t n, const char **names, hn_array **cols,
                                hn__bytes *out, hn_error *err) {
  hn_table *t = NULL;
  hn_status st = hn_table_create(&x->alloc, n, names, cols, &t, err);
  for (int64_t i = 0; i < n; i++) hn_array_release(cols[i]);
  if (st == HN_OK) st = append_table(&x->alloc, t, out, err);
  hn_table_release(t);
  return st;
}

/*
 * One serialised table of the plan inputs whose source is `kind`: MAPPED,
 * rows [first, first+count) (zip: a slice; product: gathered); CONST, the
 * one value of each.
 */
static hn_status encode_sources(const hn__call *x, hn__src_kind kind, int64_t first,
                                int64_t count, hn__bytes *out, hn_error *err) {
  const hn_plan *plan = x->plan;
  const hn_allocator *a = &x->alloc;
  size_t n_in = (size_t)(plan->n_inputs ? plan->n_inputs : 1);
  const char **names = hn__calloc(a, n_in, sizeof *names);
  hn_array **cols = hn__calloc(a, n_in, sizeof *cols);
  if (!names || !cols) {
    hn__free(a, (void *)names);
    hn__free(a, cols);
    return hn__error_nomem(err, kind == HN__SRC_MAPPED ? "encoding a batch"
                                                       : "encoding broadcast inputs");
  }
  hn_status st = HN_OK;
  int64_t n = 0;
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    const hn__src *src = &x->srcs[q];
    if (src->kind != kind) continue;
    names[n] = plan->input_names[q];
    if (kind == HN__SRC_CONST)
      st = hn_array_slice(src->array, src->row, 1, &cols[n], err);
    else if (x->zip)
      st = hn_array_slice((hn_array *)src->column, first, count, &cols[n], err);
    else
      st = gather(a, src, first, count, &cols[n], err);
    if (st == HN_OK) n++;
  }
  if (st == HN_OK) {
    st = encode_columns(x, n, names, cols, out, err);
  } else {
    for (int64_t i = 0; i < n; i++) hn_array_release(cols[i]);
  }
  hn__free(a, (void *)names);
  hn__free(a, cols);
  return st;
}

hn_status hn__batch_encode(const hn__call *x, int64_t first, int64_t count, hn__bytes *out,
                           hn_error *err) {
  if (first < 0 || count < 0 || first > x->n_items - count)
    return hn__error(err, HN_ERANGE, "batch [%lld, %lld) outside the %lld items", (long long)first,
                     (long long)(first + count), (long long)x->n_items);
  return encode_sources(x, HN__SRC_MAPPED, first, count, out, err);
}

hn_status hn__consts_encode(const hn__call *x, hn__bytes *out, hn_error *err) {
  return encode_sources(x, HN__SRC_CONST, 0, 1, out, err);
}

/* ======================================================================== */
/* Worker side                                                              */
/* ======================================================================== */

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

static hn_callback user_cb(const hn_callbacks *cb, int kind) {
  if (!cb) return NULL;
  switch (kind) {
    case EV_ITEM_START:
      return cb->on_item_start;
    case EV_ITEM_END:
      return cb->on_item_end;
    case EV_NODE_START:
      return cb->on_node_start;
    case EV_NODE_END:
      return cb->on_node_end;
    case EV_ERROR:
      return cb->on_error;
    case EV_PIPELINE_START:
      return cb->on_pipeline_start;
    default:
      return cb->on_pipeline_end;
  }
}

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
  int32_t depth = ev->depth, status = (int32_t)ev->status;
  pthread_mutex_lock(&bw->mu);
  log_put(bw, &k, 1);
  log_put(bw, &depth, sizeof depth);
  log_put(bw, &ev->item, sizeof ev->item);
  log_put(bw, &ev->n_items, sizeof ev->n_items);
  log_put(bw, &ev->n_rows, sizeof ev->n_rows);
  log_put(bw, &status, sizeof status);
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
    bw->want[k] = user_cb(x->cb, k) != NULL;
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
static hn_status read_table(const hn_allocator *a, const void *data, size_t size, bool copy,
                            hn_table **out, hn_error *err) {
  if (size > (size_t)INT64_MAX) return hn__error(err, HN_ECORRUPT, "table of %zu bytes", size);
  hn_buffer *buf = NULL;
  hn_status st = copy ? hn_buffer_copy(a, data, (int64_t)size, &buf, err)
                      : hn_buffer_wrap(a, data, (int64_t)size, NULL, NULL, &buf, err);
  if (st != HN_OK) return st;
  st = hn_table_deserialize(a, buf, out, err);
  hn_buffer_release(buf);
  return st;
}

/* Column `name` of t with type `type` (NULL: any), or HN_ECORRUPT. */
static hn_status find_column(const hn_table *t, const char *name, const hn_type *type, int64_t rows,
                             const char *what, hn_array **out, hn_error *err) {
  hn_array *col = hn_table_column_by_name(t, name);
  if (!col) return hn__error(err, HN_ECORRUPT, "%s has no column '%s'", what, name);
  if (type && !hn_type_equals(col->type, type))
    return hn__error(err, HN_ECORRUPT, "%s: column '%s' has the wrong type", what, name);
  if (col->length != rows)
    return hn__error(err, HN_ECORRUPT, "%s: column '%s' has %lld rows, expected %lld", what, name,
                     (long long)col->length, (long long)rows);
  *out = col;
  return HN_OK;
}

hn_status hn__batch_worker_set_consts(hn__batch_worker *bw, const void *data, size_t size,
                                      hn_error *err) {
  const hn_plan *plan = bw->x->plan;
  hn_table *t = NULL;
  hn_status st = read_table(&bw->alloc, data, size, true, &t, err);
  /* Check every column first: on failure the previous values stay in force. */
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    hn_array *col = NULL;
    if (bw->srcs[q].kind == HN__SRC_CONST)
      st = find_column(t, plan->input_names[q], NULL, 1, "broadcast table", &col, err);
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
  copy_str(h.message, sizeof h.message, e->message);
  copy_str(h.node, sizeof h.node, e->node);
  copy_str(h.item_path, sizeof h.item_path, e->item_path);
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
  if (st == HN_OK) st = append_table(a, t, reply, err);
  if (st == HN_OK) {
    h.outputs_size = reply->size - at;
    st = bytes_pad8(a, reply, err);
  }
  at = reply->size;
  if (st == HN_OK && errors && hn_table_num_rows(errors) > 0) {
    st = append_table(a, errors, reply, err);
    if (st == HN_OK) h.errors_size = reply->size - at;
    if (st == HN_OK) st = bytes_pad8(a, reply, err);
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
  hn_status st = read_table(a, in, in_size, false, &t, err);
  if (st != HN_OK) return st;
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    hn__src *src = &bw->srcs[q];
    if (src->kind != HN__SRC_MAPPED) continue;
    hn_array *col = NULL;
    st = find_column(t, plan->input_names[q], x->srcs[q].type, count, "batch", &col, err);
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

/* ======================================================================== */
/* Parent side: the collector                                               */
/* ======================================================================== */

/* ---- decoding a reply ------------------------------------------------------- */

typedef struct cursor {
  const uint8_t *p, *end;
} cursor;

static bool get(cursor *cu, void *dst, size_t n) {
  if ((size_t)(cu->end - cu->p) < n) return false;
  memcpy(dst, cu->p, n);
  cu->p += n;
  return true;
}

/* A length-prefixed string; *s NULL for a NULL string. Points into the reply. */
static bool get_str(cursor *cu, const char **s, size_t *n) {
  int32_t len;
  if (!get(cu, &len, sizeof len)) return false;
  if (len < 0) {
    if (len != -1) return false;
    *s = NULL;
    *n = 0;
    return true;
  }
  if ((size_t)(cu->end - cu->p) < (size_t)len) return false;
  *s = (const char *)cu->p;
  *n = (size_t)len;
  cu->p += len;
  return true;
}

/* Replay the event log to the caller's callbacks; strings are copied to be NUL-terminated. */
static hn_status replay(const hn__call *x, int worker, const uint8_t *p, size_t size,
                        hn_error *err) {
  const hn_callbacks *cb = x->cb;
  const hn_allocator *a = &x->alloc;
  cursor cu = {p, p + size};
  char *scratch = NULL;
  size_t scratch_cap = 0;
  hn_status st = HN_OK;
  while (cu.p < cu.end && st == HN_OK) {
    uint8_t kind;
    int32_t depth, status;
    hn_event ev;
    memset(&ev, 0, sizeof ev);
    const char *s[4];
    size_t n[4];
    bool ok = get(&cu, &kind, 1) && get(&cu, &depth, sizeof depth) &&
              get(&cu, &ev.item, sizeof ev.item) && get(&cu, &ev.n_items, sizeof ev.n_items) &&
              get(&cu, &ev.n_rows, sizeof ev.n_rows) && get(&cu, &status, sizeof status);
    for (int i = 0; ok && i < 4; i++) ok = get_str(&cu, &s[i], &n[i]);
    if (!ok || kind >= EV_KINDS) {
      st = hn__error(err, HN_ECORRUPT, "corrupt reply: malformed event log");
      break;
    }
    size_t need = n[0] + n[1] + n[2] + n[3] + 4;
    if (need > scratch_cap) {
      char *q = hn__realloc(a, scratch, need);
      if (!q) {
        st = hn__error_nomem(err, "replaying events");
        break;
      }
      scratch = q;
      scratch_cap = need;
    }
    const char *v[4];
    size_t at = 0;
    for (int i = 0; i < 4; i++) {
      if (!s[i]) {
        v[i] = NULL;
        continue;
      }
      memcpy(scratch + at, s[i], n[i]);
      scratch[at + n[i]] = '\0';
      v[i] = scratch + at;
      at += n[i] + 1;
    }
    ev.pipeline = v[0];
    ev.node = v[1];
    ev.item_path = v[2];
    ev.message = v[3];
    ev.depth = depth;
    ev.status = (hn_status)status;
    ev.worker = worker;
    hn_callback fn = user_cb(cb, kind);
    if (fn) fn(cb->user_data, &ev);
  }
  hn__free(a, scratch);
  return st;
}

/* The outputs section: one chunk. */
static hn_status take_outputs(hn__collector *col, const hn__call *x, const reply_header *h,
                              const uint8_t *p, hn_error *err) {
  const hn_plan *plan = x->plan;
  const hn_allocator *a = &x->alloc;
  hn_table *t = NULL;
  hn_status st = read_table(a, p, (size_t)h->outputs_size, true, &t, err);
  if (st != HN_OK) return st;
  hn_array **cols = hn__calloc(a, (size_t)(plan->n_requested ? plan->n_requested : 1), sizeof *cols);
  if (!cols) st = hn__error_nomem(err, "collecting a batch");
  if (st == HN_OK && hn_table_num_columns(t) != plan->n_requested)
    st = hn__error(err, HN_ECORRUPT, "corrupt reply: %lld output columns, expected %lld",
                   (long long)hn_table_num_columns(t), (long long)plan->n_requested);
  for (int64_t r = 0; r < plan->n_requested && st == HN_OK; r++) {
    hn_array *c = hn_table_column(t, r);
    const hn_type *want = plan->slot_types[plan->requested_slots[r]];
    if (!hn_type_equals(c->type, want) || c->length != h->count)
      st = hn__error(err, HN_ECORRUPT, "corrupt reply: output '%s' has the wrong type or length",
                     plan->requested_names[r]);
    else
      cols[r] = hn_array_retain(c);
  }
  hn_table_release(t);
  if (st != HN_OK) {
    for (int64_t r = 0; cols && r < plan->n_requested; r++) hn_array_release(cols[r]);
    hn__free(a, cols);
    return st;
  }
  return hn__collector_add_chunk(col, h->first, h->count, cols, err);
}

/* "%.*s" of a string view into buf (NUL-terminated, cut at cap). */
static const char *view_str(hn_datum d, char *buf, size_t cap) {
  snprintf(buf, cap, "%.*s", (int)(d.v.str.size < (int64_t)cap ? d.v.str.size : (int64_t)cap),
           d.v.str.data);
  return buf;
}

/* The error records section. */
static hn_status take_records(hn__collector *col, const hn__call *x, const reply_header *h,
                              const uint8_t *p, hn_error *err) {
  hn_table *t = NULL;
  hn_status st = read_table(&x->alloc, p, (size_t)h->errors_size, false, &t, err);
  if (st != HN_OK) return st;
  hn_array *c[4] = {NULL, NULL, NULL, NULL};
  static const char *const names[4] = {"item", "item_path", "node", "message"};
  int64_t rows = hn_table_num_rows(t);
  for (int i = 0; i < 4 && st == HN_OK; i++) {
    st = find_column(t, names[i], i ? hn_type_utf8() : hn_type_int64(), rows, "error records",
                     &c[i], err);
  }
  for (int64_t k = 0; k < rows && st == HN_OK; k++) {
    hn_datum d[4];
    for (int i = 0; i < 4; i++) d[i] = hn_array_get(c[i], k);
    bool bad = false;
    for (int i = 0; i < 4; i++) bad = bad || d[i].is_null;
    if (bad || (x->is_map && (d[0].v.i64 < h->first || d[0].v.i64 >= h->first + h->count))) {
      st = hn__error(err, HN_ECORRUPT, "corrupt reply: error record %lld is outside the batch",
                     (long long)k);
      break;
    }
    char path[HN_ERROR_PATH_MAX], node[HN_ERROR_NODE_MAX], msg[HN_ERROR_MESSAGE_MAX];
    st = hn__collector_add_record(col, d[0].v.i64, view_str(d[1], path, sizeof path),
                                  view_str(d[2], node, sizeof node),
                                  view_str(d[3], msg, sizeof msg), err);
  }
  hn_table_release(t);
  return st;
}

hn_status hn__reply_take(hn__collector *col, const hn__call *x, int worker, int64_t first,
                         int64_t count, const void *reply, size_t size, hn_error *err) {
  reply_header h;
  if (size < sizeof h) return hn__error(err, HN_ECORRUPT, "corrupt reply: %zu bytes", size);
  memcpy(&h, reply, sizeof h);
  if (h.magic != REPLY_MAGIC || h.version != REPLY_VERSION)
    return hn__error(err, HN_ECORRUPT, "corrupt reply: bad magic or version");
  if (h.first != first || h.count != count)
    return hn__error(err, HN_ECORRUPT,
                     "corrupt reply: it is for items [%lld, +%lld), expected [%lld, +%lld)",
                     (long long)h.first, (long long)h.count, (long long)first, (long long)count);
  size_t body = size - sizeof h;
  if (h.outputs_size > body || pad8((size_t)h.outputs_size) > body ||
      h.errors_size > body - pad8((size_t)h.outputs_size) ||
      pad8((size_t)h.errors_size) > body - pad8((size_t)h.outputs_size) ||
      h.events_size != body - pad8((size_t)h.outputs_size) - pad8((size_t)h.errors_size))
    return hn__error(err, HN_ECORRUPT, "corrupt reply: section sizes do not add up to %zu bytes",
                     size);
  if (h.inits < 0 || h.destroys < 0)
    return hn__error(err, HN_ECORRUPT, "corrupt reply: negative resource counts");
  h.message[sizeof h.message - 1] = '\0';
  h.node[sizeof h.node - 1] = '\0';
  h.item_path[sizeof h.item_path - 1] = '\0';
  const uint8_t *p = (const uint8_t *)reply + sizeof h;
  const uint8_t *outputs = p, *records = p + pad8((size_t)h.outputs_size);
  const uint8_t *events = records + pad8((size_t)h.errors_size);
  hn_status st = HN_OK;
  if (h.status != HN_OK) {
    if (h.status < 0 || h.status > HN_EINTERNAL || h.outputs_size || h.errors_size ||
        h.fail_item < first || h.fail_item >= first + count)
      return hn__error(err, HN_ECORRUPT, "corrupt reply: malformed failure");
    hn_error e;
    hn_error_reset(&e);
    e.code = (hn_status)h.status;
    memcpy(e.message, h.message, sizeof e.message);
    memcpy(e.node, h.node, sizeof e.node);
    memcpy(e.item_path, h.item_path, sizeof e.item_path);
    hn__collector_fail(col, h.fail_item, (hn_status)h.status, &e);
  } else {
    st = take_outputs(col, x, &h, outputs, err);
    if (st == HN_OK && h.errors_size) st = take_records(col, x, &h, records, err);
  }
  hn__collector_add_counts(col, h.inits, h.destroys, 0);
  if (st == HN_OK && h.events_size && x->cb)
    st = replay(x, worker, events, (size_t)h.events_size, err);
  return st;
}


