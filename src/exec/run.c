/*
 * hn_pipeline_run and hn_pipeline_map: option checks, input resolution
 * (explicit inputs override bound values; mapped columns, broadcast values,
 * columns passed whole as one list value, resources), planning, item counts
 * (zip / product), callbacks of the top level, execution on the engine and
 * result assembly.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include "remote_internal.h"

typedef struct call {
  hn_pipeline *p;
  hn_allocator alloc;
  const hn_inputs *inputs;
  bool is_map;
  hn_run_options o;
  hn_callbacks cb;
  bool has_cb;
  const hn_plan *plan;
  hn__src *srcs;
  int64_t n_items;
  /* Map: per map_over name, the input index, its column and the product stride. */
  int64_t *over_input;
  int64_t *over_stride;
  /* One-row list arrays made for columns passed whole. */
  int64_t n_temps;
  hn_array **temps;
} call;

static void call_free(call *c) {
  const hn_allocator *a = &c->alloc;
  for (int64_t i = 0; i < c->n_temps; i++) hn_array_release(c->temps[i]);
  hn__free(a, c->temps);
  hn__free(a, c->srcs);
  hn__free(a, c->over_input);
  hn__free(a, c->over_stride);
}

/* ---- options ---------------------------------------------------------------- */

static hn_status read_options(call *c, const hn_run_options *opt, hn_error *err) {
  memset(&c->o, 0, sizeof c->o);
  c->o.size = sizeof c->o;
  if (opt) {
    size_t min = offsetof(hn_run_options, outputs) + sizeof opt->outputs;
    if (opt->size < min)
      return hn__error(err, HN_EINVAL, "options->size is %zu: set it to sizeof(hn_run_options)",
                       opt->size);
    memcpy(&c->o, opt, opt->size < sizeof c->o ? opt->size : sizeof c->o);
  }
  hn_run_options *o = &c->o;
  if (o->n_outputs < 0 || (o->n_outputs > 0 && !o->outputs))
    return hn__error(err, HN_EINVAL, "bad requested outputs (n_outputs %lld)",
                     (long long)o->n_outputs);
  if (o->n_map_over < 0 || (o->n_map_over > 0 && !o->map_over))
    return hn__error(err, HN_EINVAL, "bad map_over list (n_map_over %lld)",
                     (long long)o->n_map_over);
  if (o->map_mode != HN_MAP_ZIP && o->map_mode != HN_MAP_PRODUCT)
    return hn__error(err, HN_EINVAL, "unknown map_mode %d", (int)o->map_mode);
  if (o->error_policy != HN_ERRORS_RAISE && o->error_policy != HN_ERRORS_CONTINUE)
    return hn__error(err, HN_EINVAL, "unknown error_policy %d", (int)o->error_policy);
  memset(&c->cb, 0, sizeof c->cb);
  const hn_callbacks *cb = o->callbacks;
  if (cb) {
    size_t min = offsetof(hn_callbacks, user_data) + sizeof cb->user_data;
    if (cb->size < min)
      return hn__error(err, HN_EINVAL, "callbacks->size is %zu: set it to sizeof(hn_callbacks)",
                       cb->size);
    memcpy(&c->cb, cb, cb->size < sizeof c->cb ? cb->size : sizeof c->cb);
    const hn_callbacks *k = &c->cb;
    c->has_cb = k->on_pipeline_start || k->on_pipeline_end || k->on_map_start || k->on_map_end ||
                k->on_item_start || k->on_item_end || k->on_node_start || k->on_node_end ||
                k->on_error;
  }
  if (!c->is_map) {
    c->o.n_map_over = 0; /* run: one item; columns are passed whole */
    c->o.map_over = NULL;
  }
  return HN_OK;
}

/* ---- map_over ---------------------------------------------------------------- */

static hn_status resolve_map_over(call *c, hn_error *err) {
  const hn_run_options *o = &c->o;
  const hn_allocator *a = &c->alloc;
  if (o->n_map_over == 0) {
    c->n_items = 1;
    if (c->is_map) return hn__error(err, HN_EINVAL, "hn_pipeline_map: map_over names no input");
    return HN_OK;
  }
  c->over_input = hn__calloc(a, (size_t)o->n_map_over, sizeof *c->over_input);
  c->over_stride = hn__calloc(a, (size_t)o->n_map_over, sizeof *c->over_stride);
  if (!c->over_input || !c->over_stride) return hn__error_nomem(err, "resolving map_over");
  for (int64_t m = 0; m < o->n_map_over; m++) {
    const char *name = o->map_over[m];
    if (!name) return hn__error(err, HN_EINVAL, "map_over name %lld is NULL", (long long)m);
    for (int64_t k = 0; k < m; k++)
      if (strcmp(o->map_over[k], name) == 0)
        return hn__error(err, HN_EINVAL, "map_over names '%s' twice", name);
    int64_t i = hn__inputs_find(c->inputs, name);
    if (i < 0 && hn__pipeline_bound_index(c->p, name) < 0)
      return hn__error(err, HN_EINVAL, "map_over input '%s' is not among the inputs", name);
    if (i < 0 || c->inputs->items[i].kind != HN_INPUT_COLUMN)
      return hn__error(err, HN_EINVAL, "map_over input '%s' is not a column", name);
    c->over_input[m] = i;
  }
  int64_t *len = hn__calloc(a, (size_t)o->n_map_over, sizeof *len);
  if (!len) return hn__error_nomem(err, "resolving map_over");
  for (int64_t m = 0; m < o->n_map_over; m++) len[m] = c->inputs->items[c->over_input[m]].values->length;
  char msg[HN_ERROR_MESSAGE_MAX];
  hn_status st = hn__map_shape(o->map_mode, o->n_map_over, len, o->map_over, INT64_MAX,
                               &c->n_items, c->over_stride, msg, sizeof msg);
  hn__free(a, len);
  return st == HN_OK ? HN_OK : hn__error(err, st, "%s", msg);
}

/* Position of `name` in map_over, or -1. */
static int64_t map_over_index(const call *c, const char *name) {
  for (int64_t m = 0; m < c->o.n_map_over; m++)
    if (strcmp(c->o.map_over[m], name) == 0) return m;
  return -1;
}

/* ---- planning ------------------------------------------------------------------ */

static hn_status get_plan(call *c, hn_error *err) {
  const hn_allocator *a = &c->alloc;
  int64_t n_in = c->inputs ? c->inputs->n : 0;
  const char **names = hn__calloc(a, (size_t)(n_in + c->p->n_bound + 1), sizeof *names);
  if (!names) return hn__error_nomem(err, "planning");
  int64_t n = 0;
  for (int64_t i = 0; i < n_in; i++) names[n++] = c->inputs->items[i].name;
  for (int64_t b = 0; b < c->p->n_bound; b++)
    if (hn__inputs_find(c->inputs, c->p->bound_names[b]) < 0) names[n++] = c->p->bound_names[b];
  hn_status st = hn__plan_get(c->p, n, names, c->o.n_outputs, c->o.outputs, &c->plan, err);
  hn__free(a, (void *)names);
  return st;
}

/*
 * A map whose outputs could never be held is refused before it runs (a
 * column of 2^59 rows with no buffers is cheap to declare, and would
 * otherwise run for minutes before running out of memory).
 */
static hn_status check_outputs_fit(const call *c, hn_error *err) {
  const hn_plan *plan = c->plan;
  double bits = 0;
  for (int64_t r = 0; r < plan->n_requested; r++)
    bits += (double)hn__type_min_row_bits(plan->slot_types[plan->requested_slots[r]]);
  double need = (double)c->n_items * bits / 8;
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  double have = pages > 0 && page > 0 ? (double)pages * (double)page : 1e18;
  if (need <= have) return HN_OK;
  return hn__error(err, HN_ERANGE,
                   "%s over %lld items cannot hold its outputs: they need at least %.3g bytes, "
                   "more than this machine's memory (%.3g bytes)",
                   c->is_map ? "a map" : "a run", (long long)c->n_items, need, have);
}

/* ---- inputs -------------------------------------------------------------------- */

static hn_status type_mismatch(const char *name, const hn_type *expected, const hn_type *actual,
                               hn_error *err) {
  char e[128], g[128];
  hn_type_to_string(expected, e, sizeof e);
  hn_type_to_string(actual, g, sizeof g);
  return hn__error(err, HN_ETYPE, "input '%s' has type %s, expected %s", name, g, e);
}

/* A one-row list<T> array whose only element is the whole column (zero copy; kept in temps). */
static hn_status column_as_list(call *c, hn_array *column, hn_array **out, hn_error *err) {
  const hn_allocator *a = &c->alloc;
  hn_array **temps = hn__realloc(a, c->temps, sizeof *temps * (size_t)(c->n_temps + 1));
  if (!temps) return hn__error_nomem(err, "passing a column as a list");
  c->temps = temps;
  hn_status st = hn__array_as_list(a, column, out, err);
  if (st == HN_OK) c->temps[c->n_temps++] = *out;
  return st;
}

static hn_status resolve_input(call *c, int64_t q, hn_error *err) {
  const hn_plan *plan = c->plan;
  const char *name = plan->input_names[q];
  const hn_type *expected = plan->slot_types[q];
  hn__src *src = &c->srcs[q];
  int64_t i = hn__inputs_find(c->inputs, name);
  if (i < 0) {
    int64_t b = hn__pipeline_bound_index(c->p, name);
    if (b < 0) return hn__error(err, HN_EINTERNAL, "input '%s' has no value", name);
    hn_array *values = c->p->bound_values[b];
    src->kind = HN__SRC_CONST;
    src->type = values->type;
    src->value = hn_array_get(values, c->p->bound_rows[b]);
    src->array = values;
    src->row = c->p->bound_rows[b];
  } else {
    const hn_input *in = &c->inputs->items[i];
    int64_t m = map_over_index(c, name);
    switch (in->kind) {
      case HN_INPUT_VALUE:
        src->kind = HN__SRC_CONST;
        src->type = in->values->type;
        src->value = hn_array_get(in->values, in->row);
        src->array = in->values;
        src->row = in->row;
        break;
      case HN_INPUT_COLUMN:
        if (m >= 0) {
          src->kind = HN__SRC_MAPPED;
          src->type = in->values->type;
          src->column = in->values;
          src->stride = c->over_stride[m];
          src->length = in->values->length;
        } else {
          hn_array *list = NULL;
          hn_status st = column_as_list(c, in->values, &list, err);
          if (st != HN_OK) return st;
          src->kind = HN__SRC_CONST;
          src->type = list->type;
          src->value = hn_array_get(list, 0);
          src->array = list;
          src->row = 0;
        }
        break;
      case HN_INPUT_RESOURCE:
        src->kind = HN__SRC_RESOURCE;
        src->type = in->resource->type;
        src->resource = in->resource;
        if (expected && expected->id != HN_TYPE_OBJECT) {
          char e[128];
          hn_type_to_string(expected, e, sizeof e);
          return hn__error(err, HN_ETYPE,
                           "input '%s' is the resource '%s' (an object), expected %s", name,
                           in->resource->name, e);
        }
        return HN_OK;
    }
  }
  if (expected && !hn_type_equals(expected, src->type))
    return type_mismatch(name, expected, src->type, err);
  return HN_OK;
}

static hn_status resolve_inputs(call *c, hn_error *err) {
  const hn_plan *plan = c->plan;
  c->srcs = hn__calloc(&c->alloc, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *c->srcs);
  if (!c->srcs) return hn__error_nomem(err, "resolving inputs");
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    hn_status st = resolve_input(c, q, err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* ---- callbacks of the top level ------------------------------------------------- */

static void top_event(const call *c, hn_callback fn, hn_status st) {
  if (!fn) return;
  hn_event ev;
  memset(&ev, 0, sizeof ev);
  ev.pipeline = c->p->name ? c->p->name : "";
  ev.item = -1;
  ev.n_items = c->n_items;
  ev.status = st;
  fn(c->cb.user_data, &ev);
}

/* ---- run / map ---------------------------------------------------------------------- */

static hn_status execute(call *c, hn_engine *engine, hn_result **out, hn_error *err) {
  hn__exec x;
  memset(&x, 0, sizeof x);
  x.engine = engine;
  x.alloc = c->alloc;
  x.plan = c->plan;
  x.srcs = c->srcs;
  x.n_items = c->n_items;
  x.is_map = c->is_map;
  x.zip = c->o.map_mode == HN_MAP_ZIP;
  x.policy = c->o.error_policy;
  x.cb = c->has_cb ? &c->cb : NULL;
  /* mpi: every rank agrees on the call first; only rank 0 fires callbacks. */
  bool mpi = engine->kind == HN_ENGINE_MPI;
  bool root = !mpi || engine->rank == 0;
  hn_status st = mpi ? hn__mpi_agree(engine, &x, HN_OK, NULL, err) : HN_OK;
  if (st == HN_OK) st = hn__collector_create(&x, &x.col, err);
  if (st != HN_OK) return st;
  if (root) {
    top_event(c, c->cb.on_pipeline_start, HN_OK);
    if (c->is_map) top_event(c, c->cb.on_map_start, HN_OK);
  }
  if (c->n_items > 0 || (mpi && engine->ranks > 1))
    st = engine->kind == HN_ENGINE_COLUMNAR    ? hn__execute_columnar(&x, err)
         : engine->kind == HN_ENGINE_PROCESSES ? hn__execute_processes(&x, err)
         : mpi                                 ? hn__execute_mpi(&x, err)
                                               : hn__execute(&x, err);
  if (st == HN_OK) st = hn__collector_finish(x.col, out, err);
  hn__collector_destroy(x.col);
  if (root) {
    if (c->is_map) top_event(c, c->cb.on_map_end, st);
    top_event(c, c->cb.on_pipeline_end, st);
  }
  return st;
}

static hn_status run_or_map(hn_pipeline *p, hn_engine *engine, const hn_inputs *inputs,
                            const hn_run_options *options, bool is_map, hn_result **out,
                            hn_error *err) {
  const char *fn = is_map ? "hn_pipeline_map" : "hn_pipeline_run";
  if (!p || !out) return hn__error(err, HN_EINVAL, "%s: NULL pipeline or output", fn);
  *out = NULL;
  hn_engine local;
  if (!engine) {
    hn__engine_init_sequential(&local, &p->alloc);
    engine = &local;
  }
  hn_status st = hn__engine_acquire(engine, err);
  if (st != HN_OK) return st;
  call c;
  memset(&c, 0, sizeof c);
  c.p = p;
  c.alloc = p->alloc;
  c.inputs = inputs;
  c.is_map = is_map;
  st = read_options(&c, options, err);
  if (st == HN_OK) st = resolve_map_over(&c, err);
  if (st == HN_OK) st = get_plan(&c, err);
  if (st == HN_OK) st = check_outputs_fit(&c, err);
  if (st == HN_OK) st = resolve_inputs(&c, err);
  if (st == HN_OK) {
    st = execute(&c, engine, out, err);
  } else if (engine->kind == HN_ENGINE_MPI) {
    /* The other ranks wait for this one's word on the call. */
    hn_error mine = err ? *err : (hn_error){0};
    st = hn__mpi_agree(engine, NULL, st, &mine, err);
  }
  call_free(&c);
  hn__engine_release(engine);
  return st;
}

hn_status hn_pipeline_run(hn_pipeline *pipeline, hn_engine *engine, const hn_inputs *inputs,
                          const hn_run_options *options, hn_result **out, hn_error *err) {
  return run_or_map(pipeline, engine, inputs, options, false, out, err);
}

hn_status hn_pipeline_map(hn_pipeline *pipeline, hn_engine *engine, const hn_inputs *inputs,
                          const hn_run_options *options, hn_result **out, hn_error *err) {
  return run_or_map(pipeline, engine, inputs, options, true, out, err);
}
