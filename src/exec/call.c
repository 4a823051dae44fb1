/*
 * hn_pipeline_run and hn_pipeline_map: a call is prepared once (options,
 * map shape, plan, input sources, the checks every engine needs) into an
 * hn__call, handed to the engine's operations table, and finished into the
 * result by the collector; the top-level callbacks fire here. Nothing here
 * names an engine.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include "cache_plan.h"

/* A call being prepared. */
typedef struct prep {
  hn_pipeline *p;
  hn_allocator alloc;
  const hn_inputs *inputs;
  bool is_map;
  hn_run_options o;
  hn_callbacks cb;
  bool has_cb;
  const hn_plan *plan;
  hn__sources sources;
  int64_t n_items;
  /* Map: per map_over name, the input index and the product stride. */
  int64_t *over_input;
  int64_t *over_stride;
  int64_t item_base; /* item i is item_base + i where the caller sees it (a stream's batch) */
  hn__call x;        /* the prepared call */
  hn__stop stop;     /* cancellation and the call's deadline */
  /* Names parsed from options->outputs_spec and options->map_over_spec. */
  hn__spec outputs_spec, map_over_spec;
} prep;

static void prep_free(prep *c) {
  const hn_allocator *a = &c->alloc;
  hn__sources_free(a, &c->sources);
  hn__free(a, c->over_input);
  hn__free(a, c->over_stride);
  hn__spec_free(a, &c->outputs_spec);
  hn__spec_free(a, &c->map_over_spec);
}

/* ---- options ---------------------------------------------------------------- */

/* A names spec ("a, b") standing for a count and an array of the options. */
static hn_status read_spec(prep *c, const char *field, const char *text, hn__spec *spec, int64_t *n,
                           const char *const **names, hn_error *err) {
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

static hn_status read_specs(prep *c, hn_error *err) {
  hn_run_options *o = &c->o;
  hn_status st = read_spec(c, "outputs_spec", o->outputs_spec, &c->outputs_spec, &o->n_outputs,
                           &o->outputs, err);
  if (st != HN_OK) return st;
  return read_spec(c, "map_over_spec", o->map_over_spec, &c->map_over_spec, &o->n_map_over,
                   &o->map_over, err);
}

static hn_status read_options(prep *c, const hn_run_options *opt, hn_error *err) {
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
  if (!(o->timeout >= 0) || !(o->node_timeout >= 0))
    return hn__error(err, HN_EINVAL, "bad timeout %g or node_timeout %g (seconds >= 0)", o->timeout,
                     o->node_timeout);
  memset(&c->cb, 0, sizeof c->cb);
  const hn_callbacks *cb = o->callbacks;
  if (cb) {
    size_t min = offsetof(hn_callbacks, user_data) + sizeof cb->user_data;
    if (cb->size < min)
      return hn__error(err, HN_EINVAL, "callbacks->size is %zu: set it to sizeof(hn_callbacks)",
                       cb->size);
    memcpy(&c->cb, cb, cb->size < sizeof c->cb ? cb->size : sizeof c->cb);
    c->has_cb = hn__callbacks_any(&c->cb);
  }
  if (!c->is_map) {
    c->o.n_map_over = 0; /* run: one item; columns are passed whole */
    c->o.map_over = NULL;
  }
  return HN_OK;
}

/* ---- map_over ---------------------------------------------------------------- */

static hn_status resolve_map_over(prep *c, hn_error *err) {
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
  for (int64_t m = 0; m < o->n_map_over; m++)
    len[m] = c->inputs->items[c->over_input[m]].values->length;
  char msg[HN_ERROR_MESSAGE_MAX];
  hn_status st = hn__map_shape(o->map_mode, o->n_map_over, len, o->map_over, INT64_MAX, &c->n_items,
                               c->over_stride, msg, sizeof msg);
  hn__free(a, len);
  return st == HN_OK ? HN_OK : hn__error(err, st, "%s", msg);
}

/* ---- planning ------------------------------------------------------------------ */

/* The plan for the names given (inputs not given are fed by their bound defaults). */
static hn_status get_plan(prep *c, hn_error *err) {
  const hn_allocator *a = &c->alloc;
  int64_t n_in = c->inputs ? c->inputs->n : 0;
  const char **names = hn__calloc(a, (size_t)(n_in + 1), sizeof *names);
  if (!names) return hn__error_nomem(err, "planning");
  for (int64_t i = 0; i < n_in; i++) names[i] = c->inputs->items[i].name;
  hn_status st = hn__plan_get(c->p, n_in, names, c->o.n_outputs, c->o.outputs, &c->plan, err);
  hn__free(a, (void *)names);
  return st;
}

/*
 * A map whose outputs could never be held is refused before it runs (a
 * column of 2^59 rows with no buffers is cheap to declare, and would
 * otherwise run for minutes before running out of memory).
 */
static hn_status check_outputs_fit(const prep *c, hn_error *err) {
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

static hn_status resolve_inputs(prep *c, hn_error *err) {
  hn__sources_in in = {&c->alloc, c->p, c->plan, c->inputs, &c->o, c->over_stride};
  return hn__sources_resolve(&in, &c->sources, err);
}

/* ---- checks --------------------------------------------------------------------- */

hn_status hn__check_portable(const hn__call *x, const char *engine, hn_error *err) {
  const hn_plan *plan = x->plan;
  char t[128];
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    const hn__src *src = &x->srcs[q];
    if (src->kind == HN__SRC_RESOURCE || !src->type || !hn_type_has_object(src->type)) continue;
    hn_type_to_string(src->type, t, sizeof t);
    return hn__error(err, HN_ETYPE,
                     "input '%s' is of type %s: objects cannot cross a process boundary (%s "
                     "engine); pass per-worker state as a resource",
                     plan->input_names[q], t, engine);
  }
  for (int64_t r = 0; r < plan->n_requested; r++) {
    const hn_type *type = plan->slot_types[plan->requested_slots[r]];
    if (!type || !hn_type_has_object(type)) continue;
    hn_type_to_string(type, t, sizeof t);
    return hn__error(err, HN_ETYPE,
                     "output '%s' is of type %s: objects cannot cross a process boundary (%s "
                     "engine); request only outputs without objects",
                     plan->requested_names[r], t, engine);
  }
  return HN_OK;
}

/* ---- engines -------------------------------------------------------------------- */

hn_status hn__engine_acquire(hn_engine *e, hn_error *err) {
  if (atomic_exchange_explicit(&e->busy, true, memory_order_acquire))
    return hn__error(err, HN_EINVAL,
                     "the %s engine is already serving a run or map (an engine serves one call "
                     "at a time)",
                     e->ops->name);
  return HN_OK;
}

void hn__engine_release(hn_engine *e) {
  atomic_store_explicit(&e->busy, false, memory_order_release);
}

/* ---- callbacks of the top level ------------------------------------------------- */

/* A top-level event; an end event (end true) lasts from start_ns to now. */
static void top_event(const prep *c, hn_callback fn, hn_status st, int64_t start_ns, bool end) {
  if (!fn) return;
  hn_event ev;
  memset(&ev, 0, sizeof ev);
  ev.pipeline = c->p->name ? c->p->name : "";
  ev.item = -1;
  ev.n_items = c->n_items;
  ev.status = st;
  ev.start_ns = start_ns;
  ev.duration_ns = end ? hn__now_ns() - start_ns : 0;
  ev.thread = -1;
  ev.process = -1;
  ev.rank = c->x.engine->rank;
  ev.engine = c->x.engine->ops->name;
  fn(c->cb.user_data, &ev);
}

/* ---- run / map ---------------------------------------------------------------------- */

/* Options, map shape, plan, sources and checks: the call as every engine receives it. */
static hn_status prepare(prep *c, hn_engine *engine, const hn_run_options *options, hn_error *err) {
  hn_status st = read_options(c, options, err);
  if (st == HN_OK) st = resolve_map_over(c, err);
  if (st == HN_OK) st = get_plan(c, err);
  if (st == HN_OK) st = check_outputs_fit(c, err);
  if (st == HN_OK) st = resolve_inputs(c, err);
  hn__call *x = &c->x;
  x->engine = engine;
  x->alloc = c->alloc;
  x->plan = c->plan;
  x->srcs = c->sources.srcs;
  x->n_items = c->n_items;
  x->is_map = c->is_map;
  x->item_base = c->item_base;
  x->zip = c->o.map_mode == HN_MAP_ZIP;
  x->policy = c->o.error_policy;
  x->cb = c->has_cb ? &c->cb : NULL;
  x->stop = hn__stop_init(&c->stop, c->o.cancel, c->o.timeout) ? &c->stop : NULL;
  x->node_timeout = c->o.node_timeout;
  x->io_workers = engine->options.io_workers;
  if (st == HN_OK && (engine->ops->flags & HN__ENGINE_ACROSS_PROCESSES))
    st = hn__check_portable(x, engine->ops->name, err);
  if (st == HN_OK && ((unsigned)c->o.cache_mode > HN_CACHE_READ_ONLY ||
                      (unsigned)c->o.cache_nodes > HN_CACHE_NODES_MARKED))
    st = hn__error(err, HN_EINVAL, "unknown cache_mode %d or cache_nodes %d", (int)c->o.cache_mode,
                   (int)c->o.cache_nodes);
  return st;
}

/* Run the prepared call on the engine and make its result. */
static hn_status execute(prep *c, hn_result **out, hn_error *err) {
  hn__call *x = &c->x;
  hn_engine *engine = x->engine;
  bool root = engine->rank == 0; /* collective engines: only rank 0 fires callbacks */
  hn_status st = hn__collector_create(x, &x->col, err);
  if (st != HN_OK) return st;
  int64_t t0 = c->has_cb ? hn__now_ns() : 0; /* no clock read without a callback */
  if (root) {
    top_event(c, c->cb.on_pipeline_start, HN_OK, t0, false);
    if (c->is_map) top_event(c, c->cb.on_map_start, HN_OK, t0, false);
  }
  /* A collective engine's ranks follow rank 0: its cache, or none. */
  bool cached = c->o.cache != NULL, collective = engine->ops->bcast && engine->ranks > 1;
  if (collective) {
    uint8_t mode = cached ? 1 : 0;
    engine->ops->bcast(engine, &mode, 1);
    cached = mode != 0;
  }
  if (cached && root) {
    st = hn__cached_run(x, c->o.cache, c->o.cache_mode, c->o.cache_nodes, &c->cb, out, err);
    if (collective) hn__cached_done(x, st, err);
  } else if (cached) {
    st = hn__cached_serve(x, err);
    x->served_only = true;
    if (st == HN_OK) st = hn__collector_finish(x->col, out, err);
  } else {
    /* Ranks of a collective engine take part even when there is nothing to do. */
    if (c->n_items > 0 || engine->ranks > 1) st = engine->ops->execute(x, err);
    if (st == HN_OK) {
      st = hn__collector_finish(x->col, out, err);
    } else if (x->stop && hn__stop_check(x->stop) == st) { /* stopped, not a node's failure */
      hn_error e;                                          /* kept: finishing may overwrite err */
      hn__stop_error(x->stop, &e);
      st = hn__collector_finish_stopped(x->col, st, &e, out, err);
    }
  }
  hn__collector_destroy(x->col);
  x->col = NULL;
  if (root) {
    if (c->is_map) top_event(c, c->cb.on_map_end, st, t0, true);
    top_event(c, c->cb.on_pipeline_end, st, t0, true);
  }
  return st;
}

static hn_status run_or_map(hn_pipeline *p, hn_engine *engine, const hn_inputs *inputs,
                            const hn_run_options *options, bool is_map, int64_t item_base,
                            hn_result **out, hn_error *err) {
  const char *fn = is_map ? "hn_pipeline_map" : "hn_pipeline_run";
  if (!p || !out) return hn__error(err, HN_EINVAL, "%s: NULL pipeline or output", fn);
  *out = NULL;
  hn_engine *own = NULL; /* no engine given: a sequential one for this call */
  if (!engine) {
    hn_status st = hn_engine_create(&p->alloc, NULL, &own, err);
    if (st != HN_OK) return st;
    engine = own;
  }
  hn_status st = hn__engine_acquire(engine, err);
  if (st == HN_OK) {
    prep c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.alloc = p->alloc;
    c.inputs = inputs;
    c.is_map = is_map;
    c.item_base = item_base;
    st = prepare(&c, engine, options, err);
    if (engine->ops->agree) { /* every process of the engine learns every one's outcome */
      hn_error mine = err && st != HN_OK ? *err : (hn_error){0};
      st = engine->ops->agree(engine, st == HN_OK ? &c.x : NULL, st, &mine, err);
    }
    if (st == HN_OK) st = execute(&c, out, err);
    prep_free(&c);
    hn__engine_release(engine);
  }
  hn_engine_destroy(own);
  return st;
}

hn_status hn_pipeline_run(hn_pipeline *pipeline, hn_engine *engine, const hn_inputs *inputs,
                          const hn_run_options *options, hn_result **out, hn_error *err) {
  return run_or_map(pipeline, engine, inputs, options, false, 0, out, err);
}

hn_status hn_pipeline_map(hn_pipeline *pipeline, hn_engine *engine, const hn_inputs *inputs,
                          const hn_run_options *options, hn_result **out, hn_error *err) {
  return run_or_map(pipeline, engine, inputs, options, true, 0, out, err);
}

hn_status hn__pipeline_map_at(hn_pipeline *pipeline, hn_engine *engine, const hn_inputs *inputs,
                              const hn_run_options *options, int64_t item_base, hn_result **out,
                              hn_error *err) {
  return run_or_map(pipeline, engine, inputs, options, true, item_base, out, err);
}
