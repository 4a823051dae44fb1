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

void hn__it_emit(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item,
                 hn_status st, const char *message) {
  hn_event ev;
  memset(&ev, 0, sizeof ev);
  ev.pipeline = f->pipeline;
  ev.node = node;
  ev.item = item;
  ev.item_path = w->job->o->no_event_paths ? NULL : hn__it_path(w);
  ev.depth = f->depth;
  ev.n_rows = node ? 1 : 0;
  ev.status = st;
  ev.message = message;
  ev.worker = w->index;
  ev.attempt = w->attempt;
  fn(w->job->ev.ud, &ev);
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
  if (w->job->ev.error) hn__it_emit(w, f, w->job->ev.error, node, f->item, st, w->f_msg);
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
