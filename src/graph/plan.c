/*
 * Plan compilation: prune a pipeline to the ancestors of the requested
 * outputs, check that the inputs they need are given or bound, give every
 * name a slot, compile nested pipelines recursively, and cache the result on
 * the pipeline.
 *
 * A given name that a node produces overrides that node's output: it is an
 * input of the plan, and the producer (with every ancestor nothing else
 * needs) is pruned. An input the caller does not give is fed by its bound
 * default, recorded in the plan and type-checked here.
 */
#include <stdio.h>
#include <stdlib.h>

#include "graph_internal.h"

/* ---- creation stamps ------------------------------------------------------ */

static _Atomic uint64_t g_stamp;

uint64_t hn__stamp_next(void) {
  return atomic_fetch_add(&g_stamp, 1) + 1;
}

uint64_t hn__stamp_now(void) {
  return atomic_load(&g_stamp);
}

/* ---- names -------------------------------------------------------------- */

/* An output name and its producer: node index and output index. */
typedef struct name_ref {
  const char *name;
  int64_t node;
  int64_t index;
} name_ref;

static int cmp_ref(const void *a, const void *b) {
  const name_ref *x = a, *y = b;
  return strcmp(x->name, y->name);
}

static const name_ref *ref_find(const name_ref *refs, int64_t n, const char *name) {
  name_ref key = {name, 0, 0};
  return bsearch(&key, refs, (size_t)n, sizeof *refs, cmp_ref);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Index of `name` in a sorted array of names, or -1. */
static int64_t sorted_index(const char *const *names, int64_t n, const char *name) {
  const char *const *hit = bsearch(&name, names, (size_t)n, sizeof *names, cmp_str);
  return hit ? (int64_t)(hit - names) : -1;
}

/* ", "-separated list of names after `m`'s text. */
static void msg_list(hn__msg *m, int64_t n, const char *const *names) {
  for (int64_t i = 0; i < n; i++) hn__msg_add(m, "%s%s", i ? ", " : "", names[i]);
  if (n == 0) hn__msg_add(m, "(none)");
}

static hn_status plan_get(hn_pipeline *pipeline, int64_t n_provided, const char *const *provided,
                          int64_t n_requested, const char *const *requested, const char *nested,
                          const hn_plan **out, hn_error *err);

/* ---- plans -------------------------------------------------------------- */

static void plan_free(const hn_allocator *a, hn_plan *plan) {
  if (!plan) return;
  for (int64_t s = 0; plan->steps && s < plan->n_steps; s++) {
    hn_plan_step *step = &plan->steps[s];
    hn__free(a, step->in_slots);
    hn__free(a, step->out_slots);
    hn__free(a, step->inner_input_index);
    hn__free(a, step->inner_output_index);
  }
  for (int64_t i = 0; plan->key_provided && i < plan->n_key_provided; i++)
    hn__free(a, plan->key_provided[i]);
  for (int64_t i = 0; plan->key_requested && i < plan->n_key_requested; i++)
    hn__free(a, plan->key_requested[i]);
  hn__free(a, plan->steps);
  hn__free(a, (void *)plan->slot_names); /* input_names aliases its start */
  hn__free(a, (void *)plan->slot_types);
  hn__free(a, plan->requested_slots);
  hn__free(a, (void *)plan->requested_names);
  hn__free(a, plan->key_provided);
  hn__free(a, plan->key_requested);
  hn__free(a, plan->input_bound);
  hn__free(a, plan->input_bound_row);
  hn__free(a, plan);
}

void hn__pipeline_plans_clear(hn_pipeline *pipeline) {
  pthread_mutex_lock(&pipeline->lock);
  for (int64_t i = 0; i < pipeline->n_plans; i++) plan_free(&pipeline->alloc, pipeline->plans[i]);
  hn__free(&pipeline->alloc, pipeline->plans);
  pipeline->plans = NULL;
  pipeline->n_plans = 0;
  pthread_mutex_unlock(&pipeline->lock);
}

/* ---- compilation -------------------------------------------------------- */

/* Working state of one compilation; arrays are per node or per flattened output. */
typedef struct compiler {
  hn_pipeline *p;
  const hn_allocator *a;
  hn_plan *plan;
  int64_t n_prods;
  name_ref *prods;    /* every output with its producer, sorted by name */
  int64_t *out_base;  /* per node: index of its first output in the flattened list */
  bool *need;         /* per flattened output: some kept node or the caller needs it */
  bool *kept;         /* per node: an ancestor of a requested output */
  int64_t *slot_base; /* per node: slot of its first output; -1 when pruned */
  int64_t n_req;
  const char **req;   /* the resolved requested outputs */
  int64_t n_required; /* required inputs: plan->input_names */
  int64_t n_provided;
  const char *const *provided; /* sorted, distinct: what the caller gives */
  const char *nested;          /* inner plan of this nested node (messages), or NULL */
} compiler;

static void compiler_free(compiler *c) {
  hn__free(c->a, c->prods);
  hn__free(c->a, c->out_base);
  hn__free(c->a, c->need);
  hn__free(c->a, c->kept);
  hn__free(c->a, c->slot_base);
  hn__free(c->a, (void *)c->req);
}

static hn_status compiler_init(compiler *c, hn_pipeline *p, int64_t n_provided,
                               const char *const *provided, const char *nested, hn_error *err) {
  int64_t n = p->n_nodes;
  *c = (compiler){.p = p, .a = &p->alloc, .n_prods = p->n_outputs};
  c->n_provided = n_provided;
  c->provided = provided;
  c->nested = nested;
  c->prods = hn__malloc(c->a, sizeof *c->prods * (size_t)c->n_prods);
  c->out_base = hn__malloc(c->a, sizeof *c->out_base * (size_t)n);
  c->need = hn__calloc(c->a, (size_t)c->n_prods, sizeof *c->need);
  c->kept = hn__calloc(c->a, (size_t)n, sizeof *c->kept);
  c->slot_base = hn__malloc(c->a, sizeof *c->slot_base * (size_t)n);
  c->plan = hn__calloc(c->a, 1, sizeof *c->plan);
  if (!c->prods || !c->out_base || !c->need || !c->kept || !c->slot_base || !c->plan)
    return hn__error_nomem(err, "compiling a plan");
  int64_t k = 0;
  for (int64_t i = 0; i < n; i++) {
    c->out_base[i] = k;
    c->slot_base[i] = -1;
    for (int64_t j = 0; j < p->nodes[i]->n_outputs; j++)
      c->prods[k++] = (name_ref){p->nodes[i]->outputs[j], i, j};
  }
  qsort(c->prods, (size_t)c->n_prods, sizeof *c->prods, cmp_ref);
  c->plan->pipeline = p;
  return HN_OK;
}

/* The caller gives `name` (for a produced name: an override). */
static bool is_provided(const compiler *c, const char *name) {
  return sorted_index(c->provided, c->n_provided, name) >= 0;
}

static hn_status unknown_outputs_error(const compiler *c, int64_t n, const char *const *req,
                                       hn_error *err) {
  hn__msg m = {{0}, 0, false};
  int64_t n_unknown = 0;
  for (int64_t i = 0; i < n; i++)
    if (!ref_find(c->prods, c->n_prods, req[i])) n_unknown++;
  hn__msg_add(&m, "unknown output%s ", n_unknown > 1 ? "s" : "");
  for (int64_t i = 0, k = 0; i < n; i++)
    if (!ref_find(c->prods, c->n_prods, req[i])) hn__msg_add(&m, "%s'%s'", k++ ? ", " : "", req[i]);
  hn__msg_add(&m, "; available: ");
  msg_list(&m, c->p->n_outputs, (const char *const *)c->p->outputs);
  return hn__error(err, HN_EINVAL, "%s", m.buf);
}

/*
 * Resolve the requested outputs and mark them needed. None requested: every
 * output the caller does not give. A given output is not computed, so it
 * cannot be requested.
 */
static hn_status resolve_requested(compiler *c, int64_t n, const char *const *req, hn_error *err) {
  bool every = n == 0;
  if (every) {
    n = c->p->n_outputs;
    req = (const char *const *)c->p->outputs;
  }
  c->req = hn__malloc(c->a, sizeof *c->req * (size_t)n);
  if (!c->req) return hn__error_nomem(err, "compiling a plan");
  c->n_req = 0;
  for (int64_t i = 0; i < n; i++) {
    const name_ref *r = ref_find(c->prods, c->n_prods, req[i]);
    if (!r) return unknown_outputs_error(c, n, req, err);
    if (is_provided(c, r->name)) {
      if (every) continue;
      return hn__error(err, HN_EINVAL,
                       "output '%s' is requested but also given as an input (overriding node "
                       "'%s'): request what is computed from it",
                       req[i], c->p->nodes[r->node]->name);
    }
    int64_t flat = c->out_base[r->node] + r->index;
    if (c->need[flat]) return hn__error(err, HN_EINVAL, "output '%s' is requested twice", req[i]);
    c->need[flat] = true;
    c->kept[r->node] = true;
    c->req[c->n_req++] = r->name;
  }
  if (c->n_req == 0 && n > 0)
    return hn__error(err, HN_EINVAL,
                     "nothing to compute: every output of pipeline '%s' is given as an input",
                     c->p->name);
  return HN_OK;
}

/*
 * Keep the ancestors of what is needed. Walking the execution order
 * backwards, every consumer of a node is settled before the node itself.
 * A given name cuts the walk: its producer is not needed for it. A kept
 * nested node needs all of its outer inputs (its inner plan then uses only
 * those the requested inner outputs depend on).
 */
static void prune(compiler *c) {
  const hn_pipeline *p = c->p;
  for (int64_t k = p->n_nodes - 1; k >= 0; k--) {
    const hn_gnode *g = p->nodes[p->order[k]];
    if (!c->kept[p->order[k]]) continue;
    for (int64_t i = 0; i < g->n_inputs; i++) {
      const name_ref *r = ref_find(c->prods, c->n_prods, g->inputs[i]);
      if (!r || is_provided(c, r->name)) continue;
      c->kept[r->node] = true;
      c->need[c->out_base[r->node] + r->index] = true;
    }
  }
}

static hn_status missing_inputs_error(const compiler *c, hn_error *err) {
  const char *const *required = c->plan->slot_names;
  hn__msg m = {{0}, 0, false};
  hn__msg_add(&m, "missing inputs: ");
  for (int64_t i = 0, k = 0; i < c->n_required; i++)
    if (!is_provided(c, required[i]) && hn__pipeline_bound_index(c->p, required[i]) < 0)
      hn__msg_add(&m, "%s%s", k++ ? ", " : "", required[i]);
  hn__msg_add(&m, "; required: ");
  msg_list(&m, c->n_required, required);
  return hn__error(err, HN_EINVAL, "%s", m.buf);
}

/*
 * Declared types of the required inputs: an override has the type of the
 * output it replaces; the consumers' declarations must agree.
 */
static hn_status input_types(compiler *c, hn_error *err) {
  const hn_pipeline *p = c->p;
  hn_plan *plan = c->plan;
  const char **names = plan->slot_names;
  for (int64_t s = 0; s < c->n_required; s++) {
    const name_ref *r = ref_find(c->prods, c->n_prods, names[s]);
    if (r) plan->slot_types[s] = p->nodes[r->node]->output_types[r->index];
  }
  for (int64_t k = 0; k < p->n_nodes; k++) {
    int64_t node = p->order[k];
    const hn_gnode *g = p->nodes[node];
    for (int64_t i = 0; c->kept[node] && i < g->n_inputs; i++) {
      int64_t s = sorted_index(names, c->n_required, g->inputs[i]);
      const hn_type *t = g->input_types[i];
      if (s < 0 || !t) continue;
      if (!plan->slot_types[s]) {
        plan->slot_types[s] = t;
      } else if (!hn_type_equals(plan->slot_types[s], t)) {
        /* No value can have both types: one consumer would see a type it did not declare. */
        char t1[128], t2[128];
        hn_type_to_string(plan->slot_types[s], t1, sizeof t1);
        hn_type_to_string(t, t2, sizeof t2);
        return hn__error(err, HN_ETYPE, "input '%s' is declared %s by one node and %s by node '%s'",
                         g->inputs[i], t1, t2, g->name);
      }
    }
  }
  return HN_OK;
}

/*
 * Required inputs (consumed by kept nodes, and produced by none or given),
 * sorted, become slots [0, n_required). Each must be provided or bound.
 * Then the slots of the kept nodes' outputs follow, in execution order.
 */
static hn_status assign_slots(compiler *c, hn_error *err) {
  const hn_pipeline *p = c->p;
  hn_plan *plan = c->plan;
  int64_t n_in = 0, n_out = 0;
  for (int64_t k = 0; k < p->n_nodes; k++)
    if (c->kept[k]) {
      n_in += p->nodes[k]->n_inputs;
      n_out += p->nodes[k]->n_outputs;
    }
  plan->slot_names = hn__malloc(c->a, sizeof *plan->slot_names * (size_t)(n_in + n_out));
  plan->slot_types = hn__calloc(c->a, (size_t)(n_in + n_out), sizeof *plan->slot_types);
  if (!plan->slot_names || !plan->slot_types) return hn__error_nomem(err, "compiling a plan");
  const char **names = plan->slot_names;
  int64_t n = 0;
  for (int64_t k = 0; k < p->n_nodes; k++)
    for (int64_t i = 0; c->kept[k] && i < p->nodes[k]->n_inputs; i++) {
      const char *name = p->nodes[k]->inputs[i];
      if (!ref_find(c->prods, c->n_prods, name) || is_provided(c, name)) names[n++] = name;
    }
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  c->n_required = 0;
  for (int64_t i = 0; i < n; i++)
    if (c->n_required == 0 || strcmp(names[c->n_required - 1], names[i]) != 0)
      names[c->n_required++] = names[i];
  for (int64_t i = 0; i < c->n_required; i++)
    if (!is_provided(c, names[i]) && hn__pipeline_bound_index(p, names[i]) < 0)
      return missing_inputs_error(c, err);
  plan->n_inputs = c->n_required;
  plan->input_names = names;
  hn_status st = input_types(c, err);
  if (st != HN_OK) return st;
  int64_t slot = c->n_required;
  for (int64_t k = 0; k < p->n_nodes; k++) {
    int64_t node = p->order[k];
    const hn_gnode *g = p->nodes[node];
    if (!c->kept[node]) continue;
    c->slot_base[node] = slot;
    for (int64_t j = 0; j < g->n_outputs; j++, slot++) {
      names[slot] = g->outputs[j];
      plan->slot_types[slot] = g->output_types[j];
    }
  }
  plan->n_slots = slot;
  return HN_OK;
}

/* The slot a name is read from: an input (given, bound or an override) or a kept node's output. */
static int64_t slot_of(const compiler *c, const char *name) {
  int64_t s = sorted_index(c->plan->input_names, c->n_required, name);
  if (s >= 0) return s;
  const name_ref *r = ref_find(c->prods, c->n_prods, name);
  return r ? c->slot_base[r->node] + r->index : -1;
}

/*
 * The bound defaults feeding the inputs the caller does not give, checked
 * against the declared types (nested: the inner plan's own bound values).
 */
static hn_status bind_defaults(compiler *c, hn_error *err) {
  hn_plan *plan = c->plan;
  int64_t n = plan->n_inputs ? plan->n_inputs : 1;
  plan->input_bound = hn__calloc(c->a, (size_t)n, sizeof *plan->input_bound);
  plan->input_bound_row = hn__calloc(c->a, (size_t)n, sizeof *plan->input_bound_row);
  if (!plan->input_bound || !plan->input_bound_row) return hn__error_nomem(err, "compiling a plan");
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    const char *name = plan->input_names[q];
    if (is_provided(c, name)) continue;
    int64_t b = hn__pipeline_bound_index(c->p, name);
    if (b < 0) return hn__error(err, HN_EINTERNAL, "input '%s' has no value", name);
    hn_array *values = c->p->bound_values[b];
    const hn_type *want = plan->slot_types[q];
    if (want && !hn_type_equals(want, values->type)) {
      char t1[128], t2[128];
      hn_type_to_string(values->type, t1, sizeof t1);
      hn_type_to_string(want, t2, sizeof t2);
      if (!c->nested)
        return hn__error(err, HN_ETYPE, "input '%s' has type %s, expected %s", name, t1, t2);
      hn__error(err, HN_ETYPE,
                "nested node '%s': inner input '%s' is bound to a value of type %s, expected %s",
                c->nested, name, t1, t2);
      hn__error_set_node(err, c->nested);
      return HN_ETYPE;
    }
    plan->input_bound[q] = values;
    plan->input_bound_row[q] = c->p->bound_rows[b];
  }
  return HN_OK;
}

/*
 * The inner plan of a nested step: provided = the inner inputs its outer
 * inputs feed; requested = the inner outputs behind the needed outer ones.
 */
static hn_status compile_inner(compiler *c, int64_t node, hn_plan_step *step, hn_error *err) {
  const hn_gnode *g = c->p->nodes[node];
  step->inner_input_index = hn__malloc(c->a, sizeof(int64_t) * (size_t)g->n_inputs);
  step->inner_output_index = hn__malloc(c->a, sizeof(int64_t) * (size_t)g->n_outputs);
  const char **req = hn__malloc(c->a, sizeof *req * (size_t)g->n_outputs);
  if (!step->inner_input_index || !step->inner_output_index || !req) {
    hn__free(c->a, (void *)req);
    return hn__error_nomem(err, "compiling a plan");
  }
  int64_t n_req = 0;
  for (int64_t j = 0; j < g->n_outputs; j++) {
    bool needed = c->need[c->out_base[node] + j];
    step->inner_output_index[j] = needed ? n_req : -1;
    if (needed) req[n_req++] = g->inner_outputs[j];
  }
  const hn_plan *inner = NULL;
  hn_status st = plan_get(g->inner, g->n_inputs, (const char *const *)g->inner_inputs, n_req, req,
                          g->name, &inner, err);
  hn__free(c->a, (void *)req);
  if (st != HN_OK) {
    if (err && !err->node[0]) hn__error_set_node(err, g->name);
    return st;
  }
  for (int64_t i = 0; i < g->n_inputs; i++) {
    int64_t q = sorted_index(inner->input_names, inner->n_inputs, g->inner_inputs[i]);
    step->inner_input_index[i] = q;
    /*
     * The outer input's declared type comes from the first inner consumer;
     * the inner plan may keep another one, declaring another type.
     */
    const hn_type *have = g->input_types[i], *want = q >= 0 ? inner->slot_types[q] : NULL;
    if (have && g->mapped[i]) have = have->id == HN_TYPE_LIST ? have->item : NULL;
    if (want && (!have || !hn_type_equals(have, want))) {
      char t1[128] = "any", t2[128];
      if (have) hn_type_to_string(have, t1, sizeof t1);
      hn_type_to_string(want, t2, sizeof t2);
      hn_status st2 = hn__error(err, HN_ETYPE,
                                "nested node '%s': input '%s' is declared %s outside and %s by "
                                "the inner nodes it feeds",
                                g->name, g->inputs[i], t1, t2);
      hn__error_set_node(err, g->name);
      return st2;
    }
  }
  step->inner = inner;
  return HN_OK;
}

static hn_status build_steps(compiler *c, hn_error *err) {
  const hn_pipeline *p = c->p;
  hn_plan *plan = c->plan;
  int64_t n_steps = 0;
  for (int64_t k = 0; k < p->n_nodes; k++) n_steps += c->kept[k];
  plan->steps = hn__calloc(c->a, (size_t)n_steps, sizeof *plan->steps);
  if (!plan->steps) return hn__error_nomem(err, "compiling a plan");
  plan->n_steps = n_steps;
  hn_plan_step *step = plan->steps;
  for (int64_t k = 0; k < p->n_nodes; k++) {
    int64_t node = p->order[k];
    const hn_gnode *g = p->nodes[node];
    if (!c->kept[node]) continue;
    step->node = g;
    step->in_slots = hn__malloc(c->a, sizeof(int64_t) * (size_t)g->n_inputs);
    step->out_slots = hn__malloc(c->a, sizeof(int64_t) * (size_t)g->n_outputs);
    if (!step->in_slots || !step->out_slots) return hn__error_nomem(err, "compiling a plan");
    for (int64_t i = 0; i < g->n_inputs; i++) step->in_slots[i] = slot_of(c, g->inputs[i]);
    for (int64_t j = 0; j < g->n_outputs; j++) step->out_slots[j] = c->slot_base[node] + j;
    if (g->inner) {
      hn_status st = compile_inner(c, node, step, err);
      if (st != HN_OK) return st;
    }
    step++;
  }
  return HN_OK;
}

static hn_status set_requested_and_key(compiler *c, int64_t n_requested,
                                       const char *const *requested, hn_error *err) {
  int64_t n_provided = c->n_provided;
  const char *const *provided = c->provided;
  hn_plan *plan = c->plan;
  plan->requested_slots = hn__malloc(c->a, sizeof *plan->requested_slots * (size_t)c->n_req);
  plan->requested_names = hn__malloc(c->a, sizeof *plan->requested_names * (size_t)c->n_req);
  plan->key_provided = hn__calloc(c->a, (size_t)n_provided, sizeof *plan->key_provided);
  plan->key_requested = hn__calloc(c->a, (size_t)n_requested, sizeof *plan->key_requested);
  if (!plan->requested_slots || !plan->requested_names || !plan->key_provided ||
      !plan->key_requested)
    return hn__error_nomem(err, "compiling a plan");
  plan->n_requested = c->n_req;
  for (int64_t i = 0; i < c->n_req; i++) {
    plan->requested_slots[i] = slot_of(c, c->req[i]);
    plan->requested_names[i] = plan->slot_names[plan->requested_slots[i]];
  }
  plan->n_key_provided = n_provided;
  for (int64_t i = 0; i < n_provided; i++)
    if (!(plan->key_provided[i] = hn__strdup(c->a, provided[i])))
      return hn__error_nomem(err, "compiling a plan");
  plan->n_key_requested = n_requested;
  for (int64_t i = 0; i < n_requested; i++)
    if (!(plan->key_requested[i] = hn__strdup(c->a, requested[i])))
      return hn__error_nomem(err, "compiling a plan");
  return HN_OK;
}

/* Compile a plan; `provided` is sorted and distinct. The caller holds the lock. */
static hn_status compile(hn_pipeline *p, int64_t n_provided, const char *const *provided,
                         int64_t n_requested, const char *const *requested, const char *nested,
                         hn_plan **out, hn_error *err) {
  compiler c;
  hn_status st = compiler_init(&c, p, n_provided, provided, nested, err);
  if (st == HN_OK) st = resolve_requested(&c, n_requested, requested, err);
  if (st == HN_OK) {
    prune(&c);
    st = assign_slots(&c, err);
  }
  if (st == HN_OK) st = bind_defaults(&c, err);
  if (st == HN_OK) st = build_steps(&c, err);
  if (st == HN_OK) st = set_requested_and_key(&c, n_requested, requested, err);
  if (st == HN_OK) {
    c.plan->stamp = hn__stamp_next();
    *out = c.plan;
  } else {
    plan_free(c.a, c.plan);
  }
  compiler_free(&c);
  return st;
}

/* ---- cache -------------------------------------------------------------- */

static bool key_matches(const hn_plan *plan, int64_t n_provided, const char *const *provided,
                        int64_t n_requested, const char *const *requested) {
  if (plan->n_key_provided != n_provided || plan->n_key_requested != n_requested) return false;
  for (int64_t i = 0; i < n_provided; i++)
    if (strcmp(plan->key_provided[i], provided[i]) != 0) return false;
  for (int64_t i = 0; i < n_requested; i++)
    if (strcmp(plan->key_requested[i], requested[i]) != 0) return false;
  return true;
}

static hn_status check_names(const char *what, int64_t n, const char *const *names, hn_error *err) {
  if (n < 0 || (n > 0 && !names))
    return hn__error(err, HN_EINVAL, "hn__plan_get: bad %s list", what);
  for (int64_t i = 0; i < n; i++)
    if (!names[i])
      return hn__error(err, HN_EINVAL, "hn__plan_get: %s name %lld is NULL", what, (long long)i);
  return HN_OK;
}

/* Look up or compile, under the lock. `provided` is sorted and distinct. */
static hn_status plan_get_locked(hn_pipeline *p, int64_t n_provided, const char *const *provided,
                                 int64_t n_requested, const char *const *requested,
                                 const char *nested, const hn_plan **out, hn_error *err) {
  for (int64_t i = 0; i < p->n_plans; i++)
    if (key_matches(p->plans[i], n_provided, provided, n_requested, requested)) {
      *out = p->plans[i];
      return HN_OK;
    }
  hn_plan *plan = NULL;
  hn_status st = compile(p, n_provided, provided, n_requested, requested, nested, &plan, err);
  if (st != HN_OK) return st;
  hn_plan **plans = hn__realloc(&p->alloc, p->plans, sizeof *plans * (size_t)(p->n_plans + 1));
  if (!plans) {
    plan_free(&p->alloc, plan);
    return hn__error_nomem(err, "caching a plan");
  }
  p->plans = plans;
  p->plans[p->n_plans++] = plan;
  *out = plan;
  return HN_OK;
}

/* hn__plan_get; `nested` names the nested node asking for this inner plan (messages), or NULL. */
static hn_status plan_get(hn_pipeline *pipeline, int64_t n_provided, const char *const *provided,
                          int64_t n_requested, const char *const *requested, const char *nested,
                          const hn_plan **out, hn_error *err) {
  if (!pipeline || !out) return hn__error(err, HN_EINVAL, "hn__plan_get: NULL argument");
  hn_status st = check_names("provided", n_provided, provided, err);
  if (st == HN_OK) st = check_names("requested", n_requested, requested, err);
  if (st != HN_OK) return st;
  const hn_allocator *a = &pipeline->alloc;
  const char **sorted = hn__malloc(a, sizeof *sorted * (size_t)n_provided);
  if (!sorted) return hn__error_nomem(err, "compiling a plan");
  if (n_provided > 0) memcpy(sorted, provided, sizeof *sorted * (size_t)n_provided);
  qsort(sorted, (size_t)n_provided, sizeof *sorted, cmp_str);
  int64_t n = 0;
  for (int64_t i = 0; i < n_provided; i++)
    if (n == 0 || strcmp(sorted[n - 1], sorted[i]) != 0) sorted[n++] = sorted[i];
  pthread_mutex_lock(&pipeline->lock);
  st = plan_get_locked(pipeline, n, sorted, n_requested, requested, nested, out, err);
  pthread_mutex_unlock(&pipeline->lock);
  hn__free(a, (void *)sorted);
  return st;
}

hn_status hn__plan_get(hn_pipeline *pipeline, int64_t n_provided, const char *const *provided,
                       int64_t n_requested, const char *const *requested, const hn_plan **out,
                       hn_error *err) {
  return plan_get(pipeline, n_provided, provided, n_requested, requested, NULL, out, err);
}
