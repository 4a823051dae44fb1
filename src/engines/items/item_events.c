/* Item paths, events and failures of the item executor. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>

#include "items_internal.h"

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

const char *hn__it_path(worker *w) {
  if (w->path_len == 0) return NULL;
  if (w->path_dirty) {
    size_t n = 0;
    w->path_str[0] = '\0';
    for (int i = 0; i < w->path_len && n < sizeof w->path_str; i++) {
      int k = snprintf(w->path_str + n, sizeof w->path_str - n, "%s%lld", i ? "/" : "",
                       (long long)w->path[i]);
      if (k < 0) break;
      n += (size_t)k;
    }
    w->path_dirty = false;
  }
  return w->path_str;
}

/* Fire fn with the fields every event of frame f has, and those of e. */
static void emit(worker *w, const frame *f, hn_callback fn, hn_event *ev, bool with_path) {
  const hn__events *evs = &w->job->ev;
  ev->pipeline = f->pipeline;
  ev->item_path = with_path && !w->job->o->no_event_paths ? hn__it_path(w) : NULL;
  ev->depth = f->depth;
  ev->worker = w->index;
  ev->thread = w->index;
  ev->attempt = w->attempt;
  fn(evs->ud, ev);
}

void hn__it_emit(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item,
                 hn_status st, const char *message, int64_t start_ns, int64_t duration_ns) {
  hn_event ev;
  hn__event_clear(&ev, &w->job->ev);
  ev.node = node;
  ev.item = item;
  ev.n_rows = node ? 1 : 0;
  ev.status = st;
  ev.message = message;
  ev.start_ns = start_ns;
  ev.duration_ns = duration_ns;
  emit(w, f, fn, &ev, true);
}

/* Whether item (node NULL) or node events of this job read the clock. */
static bool timed(const worker *w, const char *node) {
  return node ? !w->job->ev.untimed_nodes : !w->job->ev.untimed_items;
}

int64_t hn__it_begin(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item) {
  int64_t t0 = timed(w, node) ? hn__now_ns() : 0;
  if (fn) hn__it_emit(w, f, fn, node, item, HN_OK, NULL, t0, 0);
  return t0;
}

void hn__it_end(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item,
                hn_status st, int64_t t0) {
  if (fn) hn__it_emit(w, f, fn, node, item, st, NULL, t0, hn__now_ns() - t0);
}

/*
 * A pipeline, map or chunk event of frame f: n items from `item` (-1: not
 * about an item). The item path is the parent item's (nested frames) or
 * none (the top frame, whose chunks span items).
 */
static void emit_span(worker *w, const frame *f, hn_callback fn, int64_t item, int64_t n_items,
                      hn_status st, int64_t start_ns, int64_t duration_ns) {
  hn_event ev;
  hn__event_clear(&ev, &w->job->ev);
  ev.item = item;
  ev.n_items = n_items;
  ev.n_rows = f->depth > 0 ? 1 : 0;
  ev.status = st;
  ev.start_ns = start_ns;
  ev.duration_ns = duration_ns;
  emit(w, f, fn, &ev, f->depth > 0);
}

int64_t hn__it_span_begin(worker *w, const frame *f, hn_callback fn, int64_t item,
                          int64_t n_items) {
  int64_t t0 = hn__now_ns();
  if (fn) emit_span(w, f, fn, item, n_items, HN_OK, t0, 0);
  return t0;
}

void hn__it_span_end(worker *w, const frame *f, hn_callback fn, int64_t item, int64_t n_items,
                     hn_status st, int64_t t0) {
  if (fn) emit_span(w, f, fn, item, n_items, st, t0, hn__now_ns() - t0);
}

/* ---- chunk pieces ---------------------------------------------------------------------- */

int64_t hn__it_piece_begin(worker *w, frame *f, int64_t first, int64_t left) {
  if (f->piece_items < 1) f->piece_items = 1;
  int64_t n = f->piece_items < left ? f->piece_items : left;
  f->piece_first = first;
  f->piece_t0 = hn__now_ns();
  if (w->job->ev.chunk_start)
    emit_span(w, f, w->job->ev.chunk_start, first, n, HN_OK, f->piece_t0, 0);
  return n;
}

void hn__it_piece_end(worker *w, frame *f, int64_t n_ran, hn_status st) {
  int64_t d = hn__now_ns() - f->piece_t0;
  if (w->job->ev.chunk_end)
    emit_span(w, f, w->job->ev.chunk_end, f->piece_first, n_ran, st, f->piece_t0, d);
  /* The next piece aims at HN__PIECE_NS of work (half to four times it). */
  if (d < HN__PIECE_NS / 2 && n_ran >= f->piece_items && f->piece_items < HN__PIECE_MAX)
    f->piece_items *= 2;
  else if (d > 4 * HN__PIECE_NS && f->piece_items > 1)
    f->piece_items /= 2;
}

/* An engine failure (allocation, finishing a builder): stops the call under any policy. */
hn_status hn__it_fatal(worker *w, hn_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[HN_ERROR_MESSAGE_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  w->f_fatal = true;
  hn__error(&w->ferr, st, "%s", msg);
  return st;
}

/* ferr was filled by the failing call. */
hn_status hn__it_fatal_filled(worker *w, hn_status st) {
  w->f_fatal = true;
  w->ferr.code = st;
  return st;
}

/* Record a node failure of the current item: code, node, message, item path. */
hn_status hn__it_node_failure(worker *w, const frame *f, const char *node, hn_status st,
                              const char *message) {
  if ((int)st <= 0 || (int)st > (int)HN__STATUS_LAST) st = HN_ENODE;
  w->f_fatal = false;
  w->f_code = st;
  w->f_attempts = 1;
  hn__free(&w->job->alloc, w->f_messages);
  w->f_messages = NULL;
  copy_str(w->f_node, sizeof w->f_node, node);
  copy_str(w->f_msg, sizeof w->f_msg, message);
  const char *p = hn__it_path(w);
  copy_str(w->f_path, sizeof w->f_path, p ? p : "");
  if (w->job->ev.error)
    hn__it_emit(w, f, w->job->ev.error, node, f->item, st, w->f_msg, hn__now_ns(), 0);
  return st;
}

hn_status hn__it_node_failure_fmt(worker *w, const frame *f, const char *node, hn_status st,
                                  const char *fmt, ...) {
  char msg[HN_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return hn__it_node_failure(w, f, node, st, msg);
}
