/* The columnar engine's levels: item paths, events and the first failure of each row. */
#include <stdio.h>
#include <stdlib.h>

#include "columnar_internal.h"

hn_status hn__col_fatal(cworker *w, hn_status st) {
  if (w->ferr.code == HN_OK) hn__error(&w->ferr, st, "%s", hn_status_str(st));
  w->ferr.code = st;
  return st;
}

/* Item path of row r of level L into buf; returns buf ("" at the top of a run). */
static size_t path_of(const cjob *j, const lvl *L, int64_t r, char *buf, size_t cap) {
  size_t n = 0;
  if (!L->parent) {
    if (j->x->is_map)
      n = (size_t)snprintf(buf, cap, "%lld", (long long)hn__call_item(j->x, L->base + r));
    else
      buf[0] = '\0';
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
  if (!L->parent) return j->x->is_map ? hn__call_item(j->x, L->base + r) : -1;
  if (L->local) return L->local[r];
  return item_of(j, L->parent, L->prow[r]);
}

/* Fire fn with the fields every event of level L has; the caller set the rest. */
static void emit(cworker *w, const lvl *L, hn_callback fn, hn_event *ev, int64_t row) {
  cjob *j = w->job;
  ev->pipeline = L->pipeline;
  if (row >= 0) {
    ev->item = item_of(j, L, row);
    path_of(j, L, row, w->pbuf, sizeof w->pbuf);
    ev->item_path = w->pbuf[0] ? w->pbuf : NULL;
  }
  ev->depth = L->depth;
  ev->worker = w->index;
  ev->thread = w->index;
  ev->attempt = w->attempt;
  fn(j->ev.ud, ev);
}

void hn__col_emit(cworker *w, const lvl *L, hn_callback fn, const char *node, int64_t row,
                  int64_t n_rows, hn_status st, const char *message, int64_t start_ns,
                  int64_t duration_ns) {
  hn_event ev;
  hn__event_clear(&ev, &w->job->ev);
  ev.node = node;
  ev.item = -1;
  ev.n_rows = n_rows;
  ev.status = st;
  ev.message = message;
  ev.start_ns = start_ns;
  ev.duration_ns = duration_ns;
  emit(w, L, fn, &ev, row);
}

int64_t hn__col_begin(cworker *w, const lvl *L, hn_callback fn, const char *node, int64_t n_rows) {
  int64_t t0 = hn__now_ns();
  if (fn) hn__col_emit(w, L, fn, node, -1, n_rows, HN_OK, NULL, t0, 0);
  return t0;
}

void hn__col_end(cworker *w, const lvl *L, hn_callback fn, const char *node, int64_t n_rows,
                 hn_status st, int64_t t0) {
  if (fn) hn__col_emit(w, L, fn, node, -1, n_rows, st, NULL, t0, hn__now_ns() - t0);
}

void hn__col_span(cworker *w, const lvl *L, hn_callback fn, int64_t item, int64_t n_items,
                  int64_t n_rows, hn_status st, int64_t start_ns, int64_t duration_ns) {
  if (!fn) return;
  hn_event ev;
  hn__event_clear(&ev, &w->job->ev);
  ev.item = item;
  ev.n_items = n_items;
  ev.n_rows = n_rows;
  ev.status = st;
  ev.start_ns = start_ns;
  ev.duration_ns = duration_ns;
  emit(w, L, fn, &ev, -1);
}

/*
 * Row r of L failed at `node`. The first failure of a row is kept (path NULL:
 * the row's own path; else the path of an inner failure).
 */
hn_status hn__col_row_failed(cworker *w, lvl *L, int64_t r, const char *node, hn_status code,
                             const char *msg, const char *path) {
  return hn__col_row_failed_attempts(w, L, r, node, code, msg, path, 1, NULL);
}

hn_status hn__col_row_failed_attempts(cworker *w, lvl *L, int64_t r, const char *node,
                                      hn_status code, const char *msg, const char *path,
                                      int64_t attempts, const char *messages) {
  cjob *j = w->job;
  const hn_allocator *a = &j->alloc;
  if ((int)code <= 0 || (int)code > (int)HN__STATUS_LAST) code = HN_ENODE;
  if (!path && j->ev.error) hn__col_emit(w, L, j->ev.error, node, r, 1, code, msg, hn__now_ns(), 0);
  if (!L->failed && !NEWA(L->failed, L->n)) return hn__col_fatal(w, HN_ENOMEM);
  if (L->failed[r]) return HN_OK;
  char buf[HN_ERROR_PATH_MAX];
  if (!path) {
    path_of(j, L, r, buf, sizeof buf);
    path = buf;
  }
  if (hn__records_add_attempts(a, &L->fails, r, code, path, node, msg, attempts, messages) != HN_OK)
    return hn__col_fatal(w, HN_ENOMEM);
  L->failed[r] = (uint8_t)code; /* nonzero: the row failed, with this code */
  return HN_OK;
}

void hn__col_items(cworker *w, const lvl *L, hn_callback fn, int64_t n, int64_t start_ns,
                   int64_t duration_ns) {
  for (int64_t r = 0; r < n; r++) {
    hn_status st = L->failed && L->failed[r] ? (hn_status)L->failed[r] : HN_OK;
    hn__col_emit(w, L, fn, NULL, r, 1, st, NULL, start_ns, duration_ns);
  }
}

void hn__col_lvl_free(const hn_allocator *a, lvl *L) {
  hn__records_free(a, &L->fails);
  hn__free(a, L->failed);
  L->failed = NULL;
}
