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
  /* Names parsed from options->outputs_spec and options->map_over_spec. */
  hn__spec outputs_spec, map_over_spec;
} call;

static void call_free(call *c) {
  const hn_allocator *a = &c->alloc;
  for (int64_t i = 0; i < c->n_temps; i++) hn_array_release(c->temps[i]);
  hn__free(a, c->temps);
  hn__free(a, c->srcs);
  hn__free(a, c->over_input);
  hn__free(a, c->over_stride);
  hn__spec_free(a, &c->outputs_spec);
  hn__spec_free(a, &c->map_over_spec);
}

/* ---- options ---------------------------------------------------------------- */

/* A names spec ("a, b") standing for a count and an array of the options. */
static hn_status read_spec(call *c, const char *field, const char *text, hn__spec *spec,
                           int64_t *n, const char *const **names, hn_error *err) {
  if (!text) return HN_OK;
  if (*n != 0)
    return hn__error(err, HN_EINVAL, "options set both %s and the list it stands for", field);
  char what[64];
  snprintf(what, sizeof what, "options->%s", field);
  hn_status st = hn__spec_parse(&c->alloc, text, HN__SPEC_NAMES, what, spec, err);
  if (st != HN_OK) return st;
  *n = spec->n;
  *names = (const char *const *)spec->names;
  return HN_OK;
}

static hn_status read_specs(call *c, hn_error *err) {
  hn_run_options *o = &c->o;
  hn_status st = read_spec(c, "outputs_spec", o->outputs_spec, &c->outputs_spec, &o->n_outputs,
                           &o->outputs, err);
  if (st != HN_OK) return st;
  return read_spec(c, "map_over_spec", o->map_over_spec, &c->map_over_spec, &o->n_map_over,
                   &o->map_over, err);
}

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
  hn_status st = read_specs(c, err);
  if (st != HN_OK) return st;
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
  const hn_input *items = c->inputs->items;
  if (o->map_mode == HN_MAP_ZIP) {
    int64_t n = items[c->over_input[0]].values->length;
    bool same = true;
    for (int64_t m = 1; m < o->n_map_over; m++)
      same = same && items[c->over_input[m]].values->length == n;
    if (!same) {
      char msg[HN_ERROR_MESSAGE_MAX];
      size_t len = (size_t)snprintf(msg, sizeof msg, "zip lengths differ: ");
      for (int64_t m = 0; m < o->n_map_over && len < sizeof msg; m++)
        len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s=%lld", m ? ", " : "",
                                o->map_over[m], (long long)items[c->over_input[m]].values->length);
      return hn__error(err, HN_EINVAL, "%s", msg);
    }
    c->n_items = n;
    for (int64_t m = 0; m < o->n_map_over; m++) c->over_stride[m] = 1;
    return HN_OK;
  }
  /* With an empty column there is no combination, whatever the other lengths. */
  bool any_empty = false;
  for (int64_t m = 0; m < o->n_map_over; m++)
    any_empty = any_empty || items[c->over_input[m]].values->length == 0;
  int64_t total = 1;
  for (int64_t m = o->n_map_over - 1; m >= 0 && !any_empty; m--) {
    int64_t len = items[c->over_input[m]].values->length;
    c->over_stride[m] = total;
    if (total > INT64_MAX / len)
      return hn__error(err, HN_ERANGE, "the product of the map_over lengths overflows");
    total *= len;
  }
  if (any_empty) total = 0;
  c->n_items = total;
  return HN_OK;
}

/* Position of `name` in map_over, or -1. */
static int64_t map_over_index(const call *c, const char *name) {
  for (int64_t m = 0; m < c->o.n_map_over; m++)
    if (strcmp(c->o.map_over[m], name) == 0) return m;
  return -1;
}

/* ---- planning ------------------------------------------------------------------ */

/* The plan for the names given (inputs not given are fed by their bound defaults). */
static hn_status get_plan(call *c, hn_error *err) {
  const hn_allocator *a = &c->alloc;
  int64_t n_in = c->inputs ? c->inputs->n : 0;
  const char **names = hn__calloc(a, (size_t)(n_in + 1), sizeof *names);
  if (!names) return hn__error_nomem(err, "planning");
  int64_t n = 0;
  for (int64_t i = 0; i < n_in; i++) names[n++] = c->inputs->items[i].name;
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

/* A one-row list<T> array whose only element is the whole column (zero copy). */
static hn_status column_as_list(call *c, hn_array *column, hn_array **out, hn_error *err) {
  const hn_allocator *a = &c->alloc;
  if (column->length > INT32_MAX)
    return hn__error(err, HN_ERANGE, "a column of %lld rows cannot be passed as one list value",
                     (long long)column->length);
  hn_array **temps = hn__realloc(a, c->temps, sizeof *temps * (size_t)(c->n_temps + 1));
  if (!temps) return hn__error_nomem(err, "passing a column as a list");
  c->temps = temps;
  const hn_type *type = NULL;
  hn_status st = hn_type_list_create(a, column->type, &type, err);
  if (st != HN_OK) return st;
  hn_buffer *offsets = hn__buffer_new(a, 8);
  if (!offsets) {
    hn_type_release(type);
    return hn__error_nomem(err, "passing a column as a list");
  }
  ((int32_t *)offsets->data)[0] = 0;
  ((int32_t *)offsets->data)[1] = (int32_t)column->length;
  offsets->size = 8;
  hn__buffer_zero_padding(offsets);
  hn_array *child = hn_array_retain(column);
  st = hn__array_make(a, type, 1, 0, 0, NULL, offsets, NULL, 1, &child, out, err);
  hn_type_release(type);
  if (st != HN_OK) return st;
  c->temps[c->n_temps++] = *out;
  return HN_OK;
}

static hn_status resolve_input(call *c, int64_t q, hn_error *err) {
  const hn_plan *plan = c->plan;
  const char *name = plan->input_names[q];
  const hn_type *expected = plan->slot_types[q];
  hn__src *src = &c->srcs[q];
  int64_t row = 0, i = hn__inputs_find(c->inputs, name);
  hn_array *values = hn__plan_input_bound(plan, q, &row);
  if (values) {
    src->kind = HN__SRC_CONST;
    src->type = values->type;
    src->value = hn_array_get(values, row);
    src->array = values;
    src->row = row;
  } else if (i < 0) {
    return hn__error(err, HN_EINTERNAL, "input '%s' has no value", name);
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

/* ---- result ---------------------------------------------------------------------- */

static hn_status result_schema(const call *c, const hn_type **out, hn_error *err) {
  const hn_plan *plan = c->plan;
  const hn_allocator *a = &c->alloc;
  int64_t n = plan->n_requested;
  const hn_type **types = hn__calloc(a, (size_t)(n ? n : 1), sizeof *types);
  if (!types) return hn__error_nomem(err, "building the result schema");
  for (int64_t r = 0; r < n; r++) types[r] = plan->slot_types[plan->requested_slots[r]];
  hn_status st = hn_type_struct_create(a, n, plan->requested_names, types, out, err);
  hn__free(a, (void *)types);
  return st;
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

static void free_chunk_columns(hn__exec *x) {
  for (int64_t k = 0; k < x->n_chunks; k++) {
    for (int64_t r = 0; r < x->plan->n_requested; r++) hn_array_release(x->chunk_columns[k][r]);
    hn__free(&x->alloc, x->chunk_columns[k]);
  }
  hn__free(&x->alloc, x->chunk_columns);
  x->chunk_columns = NULL;
  x->n_chunks = 0;
}

/* One table per chunk, then a chunked result. Takes the chunk columns and errors. */
static hn_status make_chunked_result(hn__exec *x, const hn_type *schema, hn_result **out,
                                     hn_error *err) {
  const hn_allocator *a = &x->alloc;
  int64_t n = x->n_chunks;
  hn_table **chunks = hn__calloc(a, (size_t)n, sizeof *chunks);
  hn_status st = chunks ? HN_OK : hn__error_nomem(err, "for the result's chunks");
  for (int64_t k = 0; k < n && st == HN_OK; k++) {
    hn_array **cols = x->chunk_columns[k];
    int64_t rows = x->plan->n_requested ? cols[0]->length : 0;
    st = hn__table_make(a, hn_type_retain(schema), rows, cols, &chunks[k], err);
    memset(cols, 0, sizeof *cols * (size_t)x->plan->n_requested); /* the table took them */
  }
  if (st != HN_OK) {
    for (int64_t k = 0; chunks && k < n; k++) hn_table_release(chunks[k]);
    hn__free(a, chunks);
    free_chunk_columns(x);
    hn_table_release(x->errors);
    return st;
  }
  free_chunk_columns(x);
  return hn__result_make_chunked(a, n, chunks, x->errors, &x->stats, out, err);
}

static hn_status execute(call *c, hn_engine *engine, hn_result **out, hn_error *err) {
  const hn_plan *plan = c->plan;
  const hn_allocator *a = &c->alloc;
  hn_array **columns =
      hn__calloc(a, (size_t)(plan->n_requested ? plan->n_requested : 1), sizeof *columns);
  if (!columns) return hn__error_nomem(err, "running");
  hn__exec x;
  memset(&x, 0, sizeof x);
  x.engine = engine;
  x.alloc = c->alloc;
  x.plan = plan;
  x.srcs = c->srcs;
  x.n_items = c->n_items;
  x.is_map = c->is_map;
  x.zip = c->o.map_mode == HN_MAP_ZIP;
  x.policy = c->o.error_policy;
  x.cb = c->has_cb ? &c->cb : NULL;
  x.columns = columns;
  /* mpi: every rank agrees on the call first; only rank 0 fires callbacks. */
  bool mpi = engine->kind == HN_ENGINE_MPI;
  bool root = !mpi || engine->rank == 0;
  hn_status st = mpi ? hn__mpi_agree(engine, &x, HN_OK, NULL, err) : HN_OK;
  if (st != HN_OK) {
    hn__free(a, columns);
    return st;
  }
  if (root) {
    top_event(c, c->cb.on_pipeline_start, HN_OK);
    if (c->is_map) top_event(c, c->cb.on_map_start, HN_OK);
  }
  if (c->n_items > 0 || (mpi && engine->ranks > 1))
    st = engine->kind == HN_ENGINE_COLUMNAR    ? hn__execute_columnar(&x, err)
         : engine->kind == HN_ENGINE_PROCESSES ? hn__execute_processes(&x, err)
         : mpi                                 ? hn__execute_mpi(&x, err)
                                               : hn__execute(&x, err);
  const hn_type *schema = NULL;
  hn_table *table = NULL;
  hn_result *chunked = NULL;
  if (st == HN_OK) st = result_schema(c, &schema, err);
  if (st == HN_OK && (c->n_items == 0 || x.served_only)) {
    /* No rows: whatever the engine produced for zero items is dropped. */
    for (int64_t r = 0; r < plan->n_requested; r++) {
      hn_array_release(columns[r]);
      columns[r] = NULL;
    }
    free_chunk_columns(&x);
    hn_table_release(x.errors);
    x.errors = NULL;
    memset(&x.stats, 0, sizeof x.stats);
    st = hn_table_create_empty(a, schema, &table, err);
    hn_type_release(schema);
  } else if (st == HN_OK && x.n_chunks > 0) {
    x.stats.n_items = c->n_items;
    st = make_chunked_result(&x, schema, &chunked, err); /* takes the chunks and errors */
    hn_type_release(schema);
    x.errors = NULL;
  } else if (st == HN_OK) {
    st = hn__table_make(a, schema, c->n_items, columns, &table, err);
    memset(columns, 0, sizeof *columns * (size_t)plan->n_requested); /* the table took them */
  }
  if (st != HN_OK) {
    for (int64_t r = 0; r < plan->n_requested; r++) hn_array_release(columns[r]);
    free_chunk_columns(&x);
    hn_table_release(x.errors);
  } else if (chunked) {
    *out = chunked;
  } else {
    x.stats.n_items = x.served_only ? 0 : c->n_items;
    st = hn__result_make(a, table, x.errors, &x.stats, out, err);
  }
  hn__free(a, columns);
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
