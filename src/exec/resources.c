/*
 * Per-worker resource instances: built lazily by the first chunk a worker
 * runs that needs them, used by every call on that worker, destroyed on the
 * same worker when the call ends (also after a failure).
 */
#include "exec_internal.h"

hn_status hn__res_instance_acquire(hn__res_instance *inst, _Atomic int64_t *inits, hn_error *err) {
  if (inst->live) return HN_OK;
  const hn_resource_def *def = &inst->resource->def;
  hn_error local;
  hn_error_reset(&local);
  void *state = NULL;
  hn_status st = def->init(def->config, &state, &local);
  if (st != HN_OK) {
    if ((int)st < 0 || (int)st > (int)HN__STATUS_LAST) st = HN_EINVAL;
    return hn__error(err, st, "resource '%s' failed to initialise: %s", inst->resource->name,
                     local.message[0] ? local.message : hn_status_str(st));
  }
  inst->state = state;
  inst->live = true;
  atomic_fetch_add_explicit(inits, 1, memory_order_relaxed);
  return HN_OK;
}

void hn__res_instance_release(hn__res_instance *inst, _Atomic int64_t *destroys) {
  if (!inst->live) return;
  inst->resource->def.destroy(inst->resource->def.config, inst->state);
  inst->live = false;
  inst->state = NULL;
  atomic_fetch_add_explicit(destroys, 1, memory_order_relaxed);
}
