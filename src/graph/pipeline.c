/*
 * Pipelines: plain nodes, bound defaults, lifetime and introspection. The
 * graph checks and derived data are in derive.c, nested pipelines in
 * nested.c, plan compilation and the plan cache in plan.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "graph_internal.h"

/* ---- nodes -------------------------------------------------------------- */

/* Free a node. user_data_free runs only for a node the pipeline owned. */
void hn__gnode_free(const hn_allocator *a, hn_gnode *g, bool call_user_free) {
  if (!g) return;
  for (int64_t i = 0; i < g->n_inputs; i++) {
    if (g->inputs) hn__free(a, g->inputs[i]);
    if (g->input_types) hn_type_release(g->input_types[i]);
    if (g->inner_inputs) hn__free(a, g->inner_inputs[i]);
  }
  for (int64_t j = 0; j < g->n_outputs; j++) {
    if (g->outputs) hn__free(a, g->outputs[j]);
    if (g->output_types) hn_type_release(g->output_types[j]);
    if (g->inner_outputs) hn__free(a, g->inner_outputs[j]);
  }
  hn__free(a, g->inputs);
  hn__free(a, (void *)g->input_types);
  hn__free(a, g->inner_inputs);
  hn__free(a, g->mapped);
  hn__free(a, g->map_order);
  hn__free(a, g->outputs);
  hn__free(a, (void *)g->output_types);
  hn__free(a, g->inner_outputs);
  hn__free(a, g->version);
  hn__free(a, g->name);
  if (g->inner) {
    atomic_fetch_sub(&g->inner->n_parents, 1);
    hn_pipeline_release(g->inner);
  }
  if (call_user_free && g->user_data_free) g->user_data_free(g->user_data);
  hn__free(a, g);
}

/* Allocate a node's name arrays (entries NULL) for n_inputs / n_outputs. */
bool hn__gnode_alloc_arrays(const hn_allocator *a, hn_gnode *g) {
  g->inputs = hn__calloc(a, (size_t)g->n_inputs, sizeof *g->inputs);
  g->input_types = hn__calloc(a, (size_t)g->n_inputs, sizeof *g->input_types);
  g->outputs = hn__calloc(a, (size_t)g->n_outputs, sizeof *g->outputs);
  g->output_types = hn__calloc(a, (size_t)g->n_outputs, sizeof *g->output_types);
  return g->inputs && g->input_types && g->outputs && g->output_types;
}

/* The smallest definition accepted: before `cache`, which older callers lack (read as DEFAULT). */
#define HN__NODE_DEF_MIN offsetof(hn_node_def, cache)
/* Sizes from which a definition has `cache`, and `policy`. */
#define HN__NODE_DEF_HAS_CACHE (offsetof(hn_node_def, cache) + sizeof(hn_node_cache))
#define HN__NODE_DEF_HAS_POLICY (offsetof(hn_node_def, policy) + sizeof(hn_node_policy))

static hn_status check_def(const hn_node_def *def, hn_error *err) {
  if (!def) return hn__error(err, HN_EINVAL, "hn_pipeline_add_node: NULL definition");
  if (def->size < HN__NODE_DEF_MIN)
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_add_node: def->size is %zu, expected %zu (initialise the "
                     "definition with {sizeof def})",
                     def->size, sizeof *def);
  if (def->size >= HN__NODE_DEF_HAS_CACHE && (unsigned)def->cache > (unsigned)HN_NODE_CACHE_OFF)
    return hn__error(err, HN_EINVAL, "node '%s': unknown cache policy %d",
                     def->name ? def->name : "", (int)def->cache);
  const char *name = def->name;
  if (!name || !name[0]) return hn__error(err, HN_EINVAL, "a node needs a non-empty name");
  if (def->n_inputs < 0 || (def->n_inputs > 0 && !def->inputs))
    return hn__error(err, HN_EINVAL, "node '%s': bad input list", name);
  if (def->n_outputs < 1)
    return hn__error(err, HN_EINVAL, "node '%s' has no outputs (at least one is required)", name);
  if (!def->outputs || !def->output_types)
    return hn__error(err, HN_EINVAL, "node '%s': output names and output types are required", name);
  for (int64_t i = 0; i < def->n_inputs; i++)
    if (!def->inputs[i] || !def->inputs[i][0])
      return hn__error(err, HN_EINVAL, "node '%s': input %lld has no name", name, (long long)i);
  for (int64_t j = 0; j < def->n_outputs; j++) {
    if (!def->outputs[j] || !def->outputs[j][0])
      return hn__error(err, HN_EINVAL, "node '%s': output %lld has no name", name, (long long)j);
    if (!def->output_types[j])
      return hn__error(err, HN_EINVAL, "node '%s': output '%s' has no type", name, def->outputs[j]);
  }
  if (!def->row && !def->batch)
    return hn__error(err, HN_EINVAL, "node '%s' has neither a row nor a batch function", name);
  if (def->size >= HN__NODE_DEF_HAS_POLICY) return hn__policy_check(name, &def->policy, err);
  return HN_OK;
}

static hn_status node_from_def(const hn_allocator *a, const hn_node_def *def, hn_gnode **out,
                               hn_error *err) {
  hn_gnode *g = hn__calloc(a, 1, sizeof *g);
  if (!g) return hn__error_nomem(err, "adding a node");
  g->n_inputs = def->n_inputs;
  g->n_outputs = def->n_outputs;
  bool ok = hn__gnode_alloc_arrays(a, g) && (g->name = hn__strdup(a, def->name)) != NULL;
  if (ok && def->version) ok = (g->version = hn__strdup(a, def->version)) != NULL;
  if (def->size >= HN__NODE_DEF_HAS_CACHE) g->cache = def->cache;
  if (def->size >= HN__NODE_DEF_HAS_POLICY) g->policy = def->policy;
  for (int64_t i = 0; ok && i < g->n_inputs; i++) {
    ok = (g->inputs[i] = hn__strdup(a, def->inputs[i])) != NULL;
    if (def->input_types) g->input_types[i] = hn_type_retain(def->input_types[i]);
  }
  for (int64_t j = 0; ok && j < g->n_outputs; j++) {
    ok = (g->outputs[j] = hn__strdup(a, def->outputs[j])) != NULL;
    g->output_types[j] = hn_type_retain(def->output_types[j]);
  }
  if (!ok) {
    hn__gnode_free(a, g, false);
    return hn__error_nomem(err, "adding a node");
  }
  g->row = def->row;
  g->batch = def->batch;
  g->user_data = def->user_data;
  g->user_data_free = def->user_data_free;
  *out = g;
  return HN_OK;
}

/* ---- building ----------------------------------------------------------- */

hn_status hn__pipeline_check_frozen(const hn_pipeline *p, const char *what, hn_error *err) {
  if (atomic_load(&p->n_parents) > 0)
    return hn__error(err, HN_EINVAL,
                     "%s: pipeline '%s' is nested in another pipeline and can no longer change",
                     what, p->name);
  return HN_OK;
}

/* Add a built node (taking it on success; the caller frees it on failure). */
hn_status hn__pipeline_insert(hn_pipeline *p, hn_gnode *g, hn_error *err) {
  for (int64_t i = 0; i < p->n_nodes; i++)
    if (strcmp(p->nodes[i]->name, g->name) == 0)
      return hn__error(err, HN_EINVAL, "a node named '%s' already exists", g->name);
  hn_gnode **nodes = hn__realloc(&p->alloc, p->nodes, sizeof *nodes * (size_t)(p->n_nodes + 1));
  if (!nodes) return hn__error_nomem(err, "adding a node");
  p->nodes = nodes;
  nodes[p->n_nodes] = g;
  hn__derived d;
  hn_status st = hn__derive(&p->alloc, nodes, p->n_nodes + 1, p->bound_names, p->n_bound, &d, err);
  if (st != HN_OK) return st;
  hn__derived_commit(p, &d);
  p->n_nodes++;
  hn__pipeline_plans_clear(p);
  return HN_OK;
}

/* Check, build and insert one node; nothing is kept on failure. */
static hn_status add_def(hn_pipeline *p, const hn_node_def *def, hn_error *err) {
  hn_gnode *g = NULL;
  hn_status st = check_def(def, err);
  if (st == HN_OK) st = node_from_def(&p->alloc, def, &g, err);
  if (st == HN_OK) st = hn__gnode_check_names(&p->alloc, g, err);
  if (st == HN_OK) st = hn__pipeline_insert(p, g, err);
  if (st != HN_OK) {
    hn__gnode_free(&p->alloc, g, false);
    if (def && def->name) hn__error_set_node(err, def->name);
  }
  return st;
}

hn_status hn_pipeline_add_node(hn_pipeline *pipeline, const hn_node_def *def, hn_error *err) {
  if (!pipeline) return hn__error(err, HN_EINVAL, "hn_pipeline_add_node: NULL pipeline");
  hn_status st = hn__pipeline_check_frozen(pipeline, "hn_pipeline_add_node", err);
  return st == HN_OK ? add_def(pipeline, def, err) : st;
}

/* Copies of the derived data, to put back when adding several nodes fails half-way. */
static hn_status snapshot_take(const hn_pipeline *p, hn__derived *d, hn_error *err) {
  const hn_allocator *a = &p->alloc;
  *d = (hn__derived){.n_root_inputs = p->n_root_inputs, .n_outputs = p->n_outputs};
  d->order = hn__malloc(a, sizeof *d->order * (size_t)p->n_nodes);
  d->root_inputs = hn__malloc(a, sizeof *d->root_inputs * (size_t)p->n_root_inputs);
  d->outputs = hn__malloc(a, sizeof *d->outputs * (size_t)p->n_outputs);
  if (!d->order || !d->root_inputs || !d->outputs) {
    hn__derived_free(a, d);
    return hn__error_nomem(err, "adding nodes");
  }
  if (p->n_nodes) memcpy(d->order, p->order, sizeof *d->order * (size_t)p->n_nodes);
  if (p->n_root_inputs)
    memcpy(d->root_inputs, p->root_inputs, sizeof *d->root_inputs * (size_t)p->n_root_inputs);
  if (p->n_outputs) memcpy(d->outputs, p->outputs, sizeof *d->outputs * (size_t)p->n_outputs);
  return HN_OK;
}

hn_status hn__pipeline_add_defs(hn_pipeline *p, int64_t n, const hn_node_def *defs, int64_t *failed,
                                hn_error *err) {
  *failed = -1;
  hn__derived snap;
  hn_status st = snapshot_take(p, &snap, err);
  if (st != HN_OK) return st;
  int64_t n0 = p->n_nodes, k = 0;
  while (k < n && st == HN_OK) st = add_def(p, &defs[k++], err);
  if (st == HN_OK) {
    hn__derived_free(&p->alloc, &snap);
    return HN_OK;
  }
  *failed = k - 1;
  /* Back to the pipeline as it was: the nodes added so far go, their user_data stays the caller's.
   */
  for (int64_t i = n0; i < p->n_nodes; i++) hn__gnode_free(&p->alloc, p->nodes[i], false);
  p->n_nodes = n0;
  hn__derived_commit(p, &snap);
  hn__pipeline_plans_clear(p);
  return st;
}

/* ---- bound values ------------------------------------------------------- */

int64_t hn__pipeline_bound_index(const hn_pipeline *pipeline, const char *name) {
  if (!pipeline || !name) return -1;
  for (int64_t i = 0; i < pipeline->n_bound; i++)
    if (strcmp(pipeline->bound_names[i], name) == 0) return i;
  return -1;
}

static const hn_gnode *producer_of(const hn_pipeline *p, const char *name, int64_t *index) {
  for (int64_t k = 0; k < p->n_nodes; k++)
    for (int64_t j = 0; j < p->nodes[k]->n_outputs; j++)
      if (strcmp(p->nodes[k]->outputs[j], name) == 0) {
        if (index) *index = j;
        return p->nodes[k];
      }
  return NULL;
}

static void bound_swap(hn_pipeline *p, int64_t i, int64_t j) {
  char *name = p->bound_names[i];
  hn_array *values = p->bound_values[i];
  int64_t row = p->bound_rows[i];
  p->bound_names[i] = p->bound_names[j];
  p->bound_values[i] = p->bound_values[j];
  p->bound_rows[i] = p->bound_rows[j];
  p->bound_names[j] = name;
  p->bound_values[j] = values;
  p->bound_rows[j] = row;
}

/* Room for one more bound value (the count is unchanged). */
static bool bound_grow(hn_pipeline *p) {
  size_t n = (size_t)p->n_bound + 1;
  char **names = hn__realloc(&p->alloc, p->bound_names, sizeof *names * n);
  if (names) p->bound_names = names;
  hn_array **values = hn__realloc(&p->alloc, p->bound_values, sizeof *values * n);
  if (values) p->bound_values = values;
  int64_t *rows = hn__realloc(&p->alloc, p->bound_rows, sizeof *rows * n);
  if (rows) p->bound_rows = rows;
  return names && values && rows;
}

hn_status hn_pipeline_bind(hn_pipeline *pipeline, const char *name, hn_array *values, int64_t row,
                           hn_error *err) {
  if (!pipeline || !name || !name[0] || !values)
    return hn__error(err, HN_EINVAL, "hn_pipeline_bind: NULL pipeline, name or values");
  hn_status st = hn__pipeline_check_frozen(pipeline, "hn_pipeline_bind", err);
  if (st != HN_OK) return st;
  int64_t length = hn_array_length(values);
  if (row < 0 || row >= length)
    return hn__error(err, HN_ERANGE,
                     "hn_pipeline_bind: row %lld of '%s' is out of range (%lld rows)",
                     (long long)row, name, (long long)length);
  const hn_gnode *prod = producer_of(pipeline, name, NULL);
  if (prod)
    return hn__error(err, HN_EINVAL, "'%s' is produced by node '%s' and cannot be bound", name,
                     prod->name);
  int64_t i = hn__pipeline_bound_index(pipeline, name);
  if (i >= 0) {
    hn_array_retain(values);
    hn_array_release(pipeline->bound_values[i]);
    pipeline->bound_values[i] = values;
    pipeline->bound_rows[i] = row;
    hn__pipeline_plans_clear(pipeline);
    return HN_OK;
  }
  char *copy = bound_grow(pipeline) ? hn__strdup(&pipeline->alloc, name) : NULL;
  if (!copy) return hn__error_nomem(err, "binding a value");
  int64_t n = pipeline->n_bound;
  pipeline->bound_names[n] = copy;
  hn__derived d;
  st = hn__derive(&pipeline->alloc, pipeline->nodes, pipeline->n_nodes, pipeline->bound_names,
                  n + 1, &d, err);
  if (st != HN_OK) {
    hn__free(&pipeline->alloc, copy);
    return st;
  }
  pipeline->bound_values[n] = hn_array_retain(values);
  pipeline->bound_rows[n] = row;
  pipeline->n_bound = n + 1;
  hn__derived_commit(pipeline, &d);
  hn__pipeline_plans_clear(pipeline);
  return HN_OK;
}

hn_status hn_pipeline_unbind(hn_pipeline *pipeline, const char *name, hn_error *err) {
  if (!pipeline || !name) return hn__error(err, HN_EINVAL, "hn_pipeline_unbind: NULL argument");
  hn_status st = hn__pipeline_check_frozen(pipeline, "hn_pipeline_unbind", err);
  if (st != HN_OK) return st;
  int64_t i = hn__pipeline_bound_index(pipeline, name);
  if (i < 0) return hn__error(err, HN_ENOTFOUND, "no value is bound to '%s'", name);
  int64_t last = pipeline->n_bound - 1;
  bound_swap(pipeline, i, last);
  hn__derived d;
  st = hn__derive(&pipeline->alloc, pipeline->nodes, pipeline->n_nodes, pipeline->bound_names, last,
                  &d, err);
  if (st != HN_OK) {
    bound_swap(pipeline, i, last);
    return st;
  }
  hn__free(&pipeline->alloc, pipeline->bound_names[last]);
  hn_array_release(pipeline->bound_values[last]);
  pipeline->n_bound = last;
  hn__derived_commit(pipeline, &d);
  hn__pipeline_plans_clear(pipeline);
  return HN_OK;
}

/* ---- lifetime ----------------------------------------------------------- */

hn_status hn_pipeline_create(const hn_allocator *alloc, const char *name, hn_pipeline **out,
                             hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_pipeline_create: NULL out");
  *out = NULL;
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_pipeline *p = hn__calloc(&a, 1, sizeof *p);
  if (!p) return hn__error_nomem(err, "creating a pipeline");
  p->alloc = a;
  atomic_init(&p->refcount, 1);
  atomic_init(&p->n_parents, 0);
  p->name = hn__strdup(&a, name ? name : "");
  if (!p->name) {
    hn__free(&a, p);
    return hn__error_nomem(err, "creating a pipeline");
  }
  if (pthread_mutex_init(&p->lock, NULL) != 0) {
    hn__free(&a, p->name);
    hn__free(&a, p);
    return hn__error(err, HN_ENOMEM, "creating a pipeline: cannot create its lock");
  }
  *out = p;
  return HN_OK;
}

hn_pipeline *hn_pipeline_retain(hn_pipeline *pipeline) {
  if (pipeline) atomic_fetch_add(&pipeline->refcount, 1);
  return pipeline;
}

void hn_pipeline_release(hn_pipeline *pipeline) {
  if (!pipeline || atomic_fetch_sub(&pipeline->refcount, 1) != 1) return;
  hn_allocator a = pipeline->alloc;
  hn__pipeline_plans_clear(pipeline);
  for (int64_t i = 0; i < pipeline->n_nodes; i++) hn__gnode_free(&a, pipeline->nodes[i], true);
  for (int64_t i = 0; i < pipeline->n_bound; i++) {
    hn__free(&a, pipeline->bound_names[i]);
    hn_array_release(pipeline->bound_values[i]);
  }
  hn__free(&a, pipeline->nodes);
  hn__free(&a, pipeline->order);
  hn__free(&a, pipeline->root_inputs);
  hn__free(&a, pipeline->outputs);
  hn__free(&a, pipeline->bound_names);
  hn__free(&a, pipeline->bound_values);
  hn__free(&a, pipeline->bound_rows);
  pthread_mutex_destroy(&pipeline->lock);
  hn__free(&a, pipeline->name);
  hn__free(&a, pipeline);
}

/* ---- introspection ------------------------------------------------------ */

const char *hn_pipeline_name(const hn_pipeline *pipeline) {
  return pipeline ? pipeline->name : NULL;
}

int64_t hn_pipeline_num_nodes(const hn_pipeline *pipeline) {
  return pipeline ? pipeline->n_nodes : 0;
}

int64_t hn_pipeline_num_root_inputs(const hn_pipeline *pipeline) {
  return pipeline ? pipeline->n_root_inputs : 0;
}

const char *hn_pipeline_root_input(const hn_pipeline *pipeline, int64_t i) {
  if (!pipeline || i < 0 || i >= pipeline->n_root_inputs) return NULL;
  return pipeline->root_inputs[i];
}

int64_t hn_pipeline_num_outputs(const hn_pipeline *pipeline) {
  return pipeline ? pipeline->n_outputs : 0;
}

const char *hn_pipeline_output(const hn_pipeline *pipeline, int64_t i) {
  if (!pipeline || i < 0 || i >= pipeline->n_outputs) return NULL;
  return pipeline->outputs[i];
}

const hn_type *hn_pipeline_output_type(const hn_pipeline *pipeline, const char *name) {
  if (!pipeline || !name) return NULL;
  int64_t j = 0;
  const hn_gnode *g = producer_of(pipeline, name, &j);
  return g ? g->output_types[j] : NULL;
}

const char *hn_pipeline_execution_order(const hn_pipeline *pipeline, int64_t i) {
  if (!pipeline || i < 0 || i >= pipeline->n_nodes) return NULL;
  return pipeline->nodes[pipeline->order[i]]->name;
}
