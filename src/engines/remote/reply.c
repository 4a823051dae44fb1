/* Taking a reply back on the parent's side: outputs, records and events, every size checked. */
#include <stdio.h>
#include <stdlib.h>

#include "remote_internal.h"

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
static hn_status replay(const hn__call *x, const hn__origin *from, const uint8_t *p, size_t size,
                        hn_error *err) {
  const hn_callbacks *cb = x->cb;
  const hn_allocator *a = &x->alloc;
  cursor cu = {p, p + size};
  char *scratch = NULL;
  size_t scratch_cap = 0;
  hn_status st = HN_OK;
  while (cu.p < cu.end && st == HN_OK) {
    uint8_t kind;
    int32_t depth, thread, status, attempt;
    hn_event ev;
    memset(&ev, 0, sizeof ev);
    const char *s[4];
    size_t n[4];
    bool ok = get(&cu, &kind, 1) && get(&cu, &depth, sizeof depth) &&
              get(&cu, &thread, sizeof thread) && get(&cu, &status, sizeof status) &&
              get(&cu, &attempt, sizeof attempt) && get(&cu, &ev.item, sizeof ev.item) &&
              get(&cu, &ev.n_items, sizeof ev.n_items) && get(&cu, &ev.n_rows, sizeof ev.n_rows) &&
              get(&cu, &ev.start_ns, sizeof ev.start_ns) &&
              get(&cu, &ev.duration_ns, sizeof ev.duration_ns);
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
    char path[HN_ERROR_PATH_MAX];
    if (v[2]) hn__path_rebase(x, v[2], path, sizeof path); /* the call's item -> the caller's */
    ev.pipeline = v[0];
    ev.node = v[1];
    ev.item_path = v[2] ? path : NULL;
    if (depth == 0 && x->is_map && ev.item >= 0) ev.item = hn__call_item(x, ev.item);
    ev.message = v[3];
    ev.depth = depth;
    ev.status = (hn_status)status;
    ev.worker = from->worker;
    ev.thread = thread;
    ev.attempt = attempt;
    ev.process = from->process;
    ev.rank = from->rank;
    ev.engine = x->engine ? x->engine->ops->name : "";
    hn_callback fn = hn__event_callback(cb, kind);
    if (fn) fn(cb->user_data, &ev);
  }
  hn__free(a, scratch);
  return st;
}

/*
 * The outputs section (at `p`, or at byte `at` of `owner`: then read in
 * place, the arrays retaining it): one chunk.
 */
static hn_status take_outputs(hn__collector *col, const hn__call *x, const reply_header *h,
                              const uint8_t *p, hn_buffer *owner, size_t at, hn_error *err) {
  const hn_plan *plan = x->plan;
  const hn_allocator *a = &x->alloc;
  hn_table *t = NULL;
  hn_status st;
  if (owner) {
    hn_buffer *view = NULL;
    st = hn_buffer_view(owner, (int64_t)at, (int64_t)h->outputs_size, &view, err);
    if (st == HN_OK) st = hn_table_deserialize(a, view, &t, err);
    hn_buffer_release(view);
  } else {
    st = hn__read_table(a, p, (size_t)h->outputs_size, true, &t, err);
  }
  if (st != HN_OK) return st;
  hn_array **cols =
      hn__calloc(a, (size_t)(plan->n_requested ? plan->n_requested : 1), sizeof *cols);
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

/* Record k of the error table's columns c (item, item_path, node, message, attempts,
 * messages; time: NULL or a column of int64) into rs. */
static hn_status take_record(hn__records *rs, const hn__call *x, const reply_header *h,
                             hn_array *const *c, hn_array *time, int64_t k, hn_error *err) {
  hn_datum d[4];
  bool bad = false;
  for (int i = 0; i < 4; i++) {
    d[i] = hn_array_get(c[i], k);
    bad = bad || d[i].is_null;
  }
  if (bad || (x->is_map && (d[0].v.i64 < h->first || d[0].v.i64 >= h->first + h->count)))
    return hn__error(err, HN_ECORRUPT, "corrupt reply: error record %lld is outside the batch",
                     (long long)k);
  char local[HN_ERROR_PATH_MAX], path[HN_ERROR_PATH_MAX], node[HN_ERROR_NODE_MAX],
      msg[HN_ERROR_MESSAGE_MAX];
  /* The worker numbers the call's items; the caller knows them as hn__call_item says. */
  hn__path_rebase(x, view_str(d[1], local, sizeof local), path, sizeof path);
  int64_t item = x->is_map ? hn__call_item(x, d[0].v.i64) : d[0].v.i64;
  /* Every attempt's messages: the worker's own string, copied by the record. */
  hn_datum n = hn_array_get(c[4], k), m = hn_array_get(c[5], k);
  int64_t attempts = n.is_null || n.v.i64 < 1 ? 1 : n.v.i64;
  char *all = NULL;
  if (attempts > 1 && !m.is_null) {
    all = hn__malloc(&x->alloc, (size_t)m.v.str.size + 1);
    if (!all) return hn__error_nomem(err, "collecting error records");
    memcpy(all, m.v.str.data, (size_t)m.v.str.size);
    all[m.v.str.size] = '\0';
  }
  hn_status st = hn__records_add_attempts(&x->alloc, rs, item, HN_ENODE, path,
                                          view_str(d[2], node, sizeof node),
                                          view_str(d[3], msg, sizeof msg), attempts, all);
  hn__free(&x->alloc, all);
  if (st != HN_OK) return hn__error_nomem(err, "collecting error records");
  hn_datum t = time ? hn_array_get(time, k) : (hn_datum){.is_null = true};
  if (!t.is_null) rs->v[rs->n - 1].time_ns = t.v.i64; /* when the worker recorded it */
  return HN_OK;
}

/* The error records section (with their time, from a worker of this version). */
static hn_status take_records(hn__collector *col, const hn__call *x, const reply_header *h,
                              const uint8_t *p, hn_error *err) {
  hn_table *t = NULL;
  hn_status st = hn__read_table(&x->alloc, p, (size_t)h->errors_size, false, &t, err);
  if (st != HN_OK) return st;
  hn_array *c[HN__ERROR_COLUMNS] = {NULL}, *time = NULL;
  static const char *const names[HN__ERROR_COLUMNS] = {"item",    "item_path", "node",
                                                       "message", "attempts",  "messages"};
  int64_t rows = hn_table_num_rows(t);
  for (int i = 0; i < HN__ERROR_COLUMNS && st == HN_OK; i++) {
    bool i64 = i == 0 || i == 4;
    st = hn__find_column(t, names[i], i64 ? hn_type_int64() : hn_type_utf8(), rows, "error records",
                         &c[i], err);
  }
  if (st == HN_OK && hn_table_column_by_name(t, "time"))
    st = hn__find_column(t, "time", hn_type_int64(), rows, "error records", &time, err);
  hn__records rs = {0};
  for (int64_t k = 0; k < rows && st == HN_OK; k++) st = take_record(&rs, x, h, c, time, k, err);
  if (st == HN_OK) st = hn__collector_add_records(col, &rs, 0, err);
  hn__records_free(&x->alloc, &rs);
  hn_table_release(t);
  return st;
}

/* hn__reply_take; `owner` (or NULL) holds the reply bytes and lets the outputs be read in place. */
static hn_status take(hn__collector *col, const hn__call *x, const hn__origin *from, int64_t first,
                      int64_t count, const void *reply, size_t size, hn_buffer *owner,
                      int64_t *run_ns, hn_error *err) {
  reply_header h;
  if (run_ns) *run_ns = 0;
  if (size < REPLY_BODY_AT) return hn__error(err, HN_ECORRUPT, "corrupt reply: %zu bytes", size);
  memcpy(&h, reply, sizeof h);
  if (h.magic != REPLY_MAGIC || h.version != REPLY_VERSION)
    return hn__error(err, HN_ECORRUPT, "corrupt reply: bad magic or version");
  if (h.first != first || h.count != count)
    return hn__error(err, HN_ECORRUPT,
                     "corrupt reply: it is for items [%lld, +%lld), expected [%lld, +%lld)",
                     (long long)h.first, (long long)h.count, (long long)first, (long long)count);
  size_t body = size - REPLY_BODY_AT;
  if (h.outputs_size > body || hn__pad8((size_t)h.outputs_size) > body ||
      h.errors_size > body - hn__pad8((size_t)h.outputs_size) ||
      hn__pad8((size_t)h.errors_size) > body - hn__pad8((size_t)h.outputs_size) ||
      h.events_size != body - hn__pad8((size_t)h.outputs_size) - hn__pad8((size_t)h.errors_size))
    return hn__error(err, HN_ECORRUPT, "corrupt reply: section sizes do not add up to %zu bytes",
                     size);
  if (h.inits < 0 || h.destroys < 0 || h.run_ns < 0)
    return hn__error(err, HN_ECORRUPT, "corrupt reply: negative resource counts or time");
  h.message[sizeof h.message - 1] = '\0';
  h.node[sizeof h.node - 1] = '\0';
  h.item_path[sizeof h.item_path - 1] = '\0';
  const uint8_t *p = (const uint8_t *)reply + REPLY_BODY_AT;
  const uint8_t *outputs = p, *records = p + hn__pad8((size_t)h.outputs_size);
  const uint8_t *events = records + hn__pad8((size_t)h.errors_size);
  hn_status st = HN_OK;
  if (h.status != HN_OK) {
    if (h.status < 0 || h.status > HN__STATUS_LAST || h.outputs_size || h.errors_size ||
        h.fail_item < first || h.fail_item >= first + count)
      return hn__error(err, HN_ECORRUPT, "corrupt reply: malformed failure");
    hn_error e;
    hn_error_reset(&e);
    e.code = (hn_status)h.status;
    memcpy(e.message, h.message, sizeof e.message);
    memcpy(e.node, h.node, sizeof e.node);
    memcpy(e.item_path, h.item_path, sizeof e.item_path);
    if (e.node[0]) { /* a node's failure: worded again with the caller's item path */
      char path[HN_ERROR_PATH_MAX], cause[HN_ERROR_MESSAGE_MAX];
      snprintf(cause, sizeof cause, "%s", hn__node_error_cause(&e));
      hn__path_rebase(x, h.item_path, path, sizeof path);
      hn__node_error(&e, (hn_status)h.status, h.node, path, cause);
    }
    hn__collector_fail(col, h.fail_item, (hn_status)h.status, &e);
  } else {
    st = take_outputs(col, x, &h, outputs, owner, REPLY_BODY_AT, err);
    if (st == HN_OK && h.errors_size) st = take_records(col, x, &h, records, err);
    if (run_ns) *run_ns = h.run_ns;
  }
  hn__collector_add_counts(col, h.inits, h.destroys, 0);
  if (st == HN_OK && h.events_size && x->cb)
    st = replay(x, from, events, (size_t)h.events_size, err);
  return st;
}

hn_status hn__reply_take(hn__collector *col, const hn__call *x, const hn__origin *from,
                         int64_t first, int64_t count, const void *reply, size_t size,
                         hn_error *err) {
  return take(col, x, from, first, count, reply, size, NULL, NULL, err);
}

hn_status hn__reply_take_buffer(hn__collector *col, const hn__call *x, const hn__origin *from,
                                int64_t first, int64_t count, hn_buffer *reply, int64_t *run_ns,
                                hn_error *err) {
  return take(col, x, from, first, count, hn_buffer_data(reply), (size_t)hn_buffer_size(reply),
              reply, run_ns, err);
}
