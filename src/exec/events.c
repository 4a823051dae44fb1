/*
 * The callbacks an engine fires, read once per call (an unset one costs a
 * NULL test), and the clocks of timed events: read only for a kind of
 * event whose start or end callback is set.
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "exec_internal.h"

void hn__events_init(hn__events *ev, const hn__call *x) {
  memset(ev, 0, sizeof *ev);
  ev->engine = x->engine ? x->engine->ops->name : "";
  ev->rank = x->engine ? x->engine->rank : 0;
  const hn_callbacks *cb = x->cb;
  if (!cb) return;
  ev->ud = cb->user_data;
  ev->item_start = cb->on_item_start;
  ev->item_end = cb->on_item_end;
  ev->node_start = cb->on_node_start;
  ev->node_end = cb->on_node_end;
  ev->error = cb->on_error;
  ev->pipeline_start = cb->on_pipeline_start;
  ev->pipeline_end = cb->on_pipeline_end;
  ev->map_start = cb->on_map_start;
  ev->map_end = cb->on_map_end;
  ev->chunk_start = cb->on_chunk_start;
  ev->chunk_end = cb->on_chunk_end;
  ev->retry = cb->on_retry;
  ev->time_items = ev->item_start || ev->item_end;
  ev->time_nodes = ev->node_start || ev->node_end;
  ev->time_pipelines = ev->pipeline_start || ev->pipeline_end;
  ev->time_maps = ev->map_start || ev->map_end;
  ev->time_chunks = ev->chunk_start || ev->chunk_end;
}

bool hn__callbacks_any(const hn_callbacks *cb) {
  if (!cb) return false;
  const hn_callback *fns[] = {&cb->on_pipeline_start, &cb->on_pipeline_end, &cb->on_map_start,
                              &cb->on_map_end,        &cb->on_item_start,   &cb->on_item_end,
                              &cb->on_node_start,     &cb->on_node_end,     &cb->on_error,
                              &cb->on_chunk_start,    &cb->on_chunk_end,    &cb->on_retry};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    size_t end = (size_t)((const char *)fns[i] - (const char *)cb) + sizeof *fns[i];
    if (end <= cb->size && *fns[i]) return true;
  }
  return false;
}

int64_t hn__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t hn__wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
