/* The callbacks an engine fires, read once per call (an unset one costs a NULL test). */
#include "exec_internal.h"

void hn__events_init(hn__events *ev, const hn_callbacks *cb) {
  memset(ev, 0, sizeof *ev);
  if (!cb) return;
  ev->ud = cb->user_data;
  ev->item_start = cb->on_item_start;
  ev->item_end = cb->on_item_end;
  ev->node_start = cb->on_node_start;
  ev->node_end = cb->on_node_end;
  ev->error = cb->on_error;
  ev->pipeline_start = cb->on_pipeline_start;
  ev->pipeline_end = cb->on_pipeline_end;
  ev->retry = cb->on_retry;
}
