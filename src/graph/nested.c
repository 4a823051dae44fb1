/*
 * Nested pipelines: a pipeline added to another as one node, with input and
 * output mappings (renames) and optionally mapped over list inputs. An
 * output mapping also selects: only the outputs it names are visible
 * outside (the others are never computed for the outer pipeline). Checks
 * the mappings against the inner pipeline, derives the node's names and
 * types, and freezes the inner pipeline while it is nested.
 */
#include <stdio.h>
#include <stdlib.h>

#include "graph_internal.h"

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- nested pipelines --------------------------------------------------- */

static hn_status check_name_list(const char *node, const char *what, int64_t n,
                                 const char *const *names, hn_error *err) {
  if (n < 0 || (n > 0 && !names))
    return hn__error(err, HN_EINVAL, "nested node '%s': bad %s", node, what);
  for (int64_t i = 0; i < n; i++)
    if (!names[i] || !names[i][0])
      return hn__error(err, HN_EINVAL, "nested node '%s': %s entry %lld has no name", node, what,
                       (long long)i);
  return HN_OK;
}

static hn_status check_nested_def(const hn_pipeline *p, const hn_nested_def *def, hn_error *err) {
  if (!def) return hn__error(err, HN_EINVAL, "hn_pipeline_add_pipeline: NULL definition");
  if (def->size < sizeof *def)
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_add_pipeline: def->size is %zu, expected %zu (initialise "
                     "the definition with {sizeof def})",
                     def->size, sizeof *def);
  const char *name = def->name;
  if (!name || !name[0]) return hn__error(err, HN_EINVAL, "a nested node needs a non-empty name");
  if (!def->inner) return hn__error(err, HN_EINVAL, "nested node '%s': NULL inner pipeline", name);
  if (def->inner == p)
    return hn__error(err, HN_EINVAL, "nested node '%s': a pipeline cannot contain itself", name);
  if (def->map_mode != HN_MAP_ZIP && def->map_mode != HN_MAP_PRODUCT)
    return hn__error(err, HN_EINVAL, "nested node '%s': unknown map mode %d", name,
                     (int)def->map_mode);
  hn_status st =
      check_name_list(name, "input mapping", def->n_input_mapping, def->input_outer, err);
  if (st == HN_OK)
    st = check_name_list(name, "input mapping", def->n_input_mapping, def->input_inner, err);
  if (st == HN_OK)
    st = check_name_list(name, "output mapping", def->n_output_mapping, def->output_inner, err);
  if (st == HN_OK)
    st = check_name_list(name, "output mapping", def->n_output_mapping, def->output_outer, err);
  if (st == HN_OK) st = check_name_list(name, "map_over", def->n_map_over, def->map_over, err);
  if (st == HN_OK && def->inner->n_outputs == 0)
    st = hn__error(err, HN_EINVAL, "nested node '%s': the inner pipeline has no outputs", name);
  return st;
}

static bool is_root_input(const hn_pipeline *p, const char *name) {
  return bsearch(&name, p->root_inputs, (size_t)p->n_root_inputs, sizeof *p->root_inputs,
                 cmp_str) != NULL;
}

/* Every mapping entry must name an inner root input / inner output, once. */
static hn_status check_mappings(const hn_nested_def *def, hn_error *err) {
  const hn_pipeline *in = def->inner;
  for (int64_t k = 0; k < def->n_input_mapping; k++) {
    const char *q = def->input_inner[k];
    if (!is_root_input(in, q)) {
      const char *why = hn_pipeline_output_type(in, q)         ? "it is produced inside"
                        : hn__pipeline_bound_index(in, q) >= 0 ? "it is bound inside"
                                                               : "no inner node consumes it";
      return hn__error(err, HN_EINVAL,
                       "nested node '%s': input mapping names '%s', which is not an input of "
                       "the inner pipeline '%s' (%s)",
                       def->name, q, in->name, why);
    }
    for (int64_t k2 = 0; k2 < k; k2++)
      if (strcmp(def->input_inner[k2], q) == 0)
        return hn__error(err, HN_EINVAL, "nested node '%s': input mapping names '%s' twice",
                         def->name, q);
  }
  for (int64_t k = 0; k < def->n_output_mapping; k++) {
    const char *q = def->output_inner[k];
    if (!hn_pipeline_output_type(in, q))
      return hn__error(err, HN_EINVAL,
                       "nested node '%s': output mapping names '%s', which is not an output of "
                       "the inner pipeline '%s'",
                       def->name, q, in->name);
    for (int64_t k2 = 0; k2 < k; k2++)
      if (strcmp(def->output_inner[k2], q) == 0)
        return hn__error(err, HN_EINVAL, "nested node '%s': output mapping names '%s' twice",
                         def->name, q);
  }
  return HN_OK;
}

static bool is_listed(int64_t n, const char *const *names, const char *name) {
  for (int64_t k = 0; k < n; k++)
    if (strcmp(names[k], name) == 0) return true;
  return false;
}

/* The renamed name for `name`, or `name` itself when the mapping does not list it. */
static const char *mapped_name(int64_t n, const char *const *from, const char *const *to,
                               const char *name) {
  for (int64_t k = 0; k < n; k++)
    if (strcmp(from[k], name) == 0) return to[k];
  return name;
}

/* The type the first consumer of `name` in execution order declares, or NULL. */
static const hn_type *declared_type(const hn_pipeline *p, const char *name) {
  for (int64_t k = 0; k < p->n_nodes; k++) {
    const hn_gnode *g = p->nodes[p->order[k]];
    for (int64_t i = 0; i < g->n_inputs; i++)
      if (g->input_types[i] && strcmp(g->inputs[i], name) == 0) return g->input_types[i];
  }
  return NULL;
}

static hn_status map_over_error(const hn_gnode *g, const char *q, hn_error *err) {
  hn__msg m = {{0}, 0, false};
  hn__msg_add(&m, "nested node '%s': map_over names '%s', which is not one of its inputs (",
              g->name, q);
  for (int64_t i = 0; i < g->n_inputs; i++) hn__msg_add(&m, "%s%s", i ? ", " : "", g->inputs[i]);
  hn__msg_add(&m, "%s)", g->n_inputs ? "" : "none");
  return hn__error(err, HN_EINVAL, "%s", m.buf);
}

/* Declared types: list<T> for what is mapped, T otherwise. */
static hn_status nested_types(const hn_allocator *a, const hn_nested_def *def, hn_gnode *g,
                              hn_error *err) {
  const hn_pipeline *in = def->inner;
  bool is_mapped = def->n_map_over > 0;
  for (int64_t j = 0; j < g->n_outputs; j++) {
    const hn_type *t = hn_pipeline_output_type(in, g->inner_outputs[j]);
    if (!is_mapped) {
      g->output_types[j] = hn_type_retain(t);
    } else {
      hn_status st = hn_type_list_create(a, t, &g->output_types[j], err);
      if (st != HN_OK) return st;
    }
  }
  for (int64_t i = 0; i < g->n_inputs; i++) {
    const hn_type *t = declared_type(in, g->inner_inputs[i]);
    if (!g->mapped[i] || !t) {
      g->input_types[i] = g->mapped[i] ? NULL : hn_type_retain(t);
    } else {
      hn_status st = hn_type_list_create(a, t, &g->input_types[i], err);
      if (st != HN_OK) return st;
    }
  }
  return HN_OK;
}

static hn_status nested_names(const hn_allocator *a, const hn_nested_def *def, hn_gnode *g,
                              hn_error *err) {
  const hn_pipeline *in = def->inner;
  bool ok = hn__gnode_alloc_arrays(a, g) && (g->name = hn__strdup(a, def->name)) != NULL;
  ok = ok && (g->inner_inputs = hn__calloc(a, (size_t)g->n_inputs, sizeof(char *))) != NULL;
  ok = ok && (g->inner_outputs = hn__calloc(a, (size_t)g->n_outputs, sizeof(char *))) != NULL;
  ok = ok && (g->mapped = hn__calloc(a, (size_t)g->n_inputs, sizeof(bool))) != NULL;
  ok = ok && (g->map_order = hn__calloc(a, (size_t)def->n_map_over, sizeof(int64_t))) != NULL;
  for (int64_t i = 0; ok && i < g->n_inputs; i++) {
    const char *r = in->root_inputs[i];
    g->inner_inputs[i] = hn__strdup(a, r);
    g->inputs[i] =
        hn__strdup(a, mapped_name(def->n_input_mapping, def->input_inner, def->input_outer, r));
    ok = g->inner_inputs[i] && g->inputs[i];
  }
  /* An output mapping exposes only what it maps; without one, every inner output. */
  int64_t j = 0;
  for (int64_t k = 0; ok && k < in->n_outputs; k++) {
    const char *o = in->outputs[k];
    if (def->n_output_mapping > 0 && !is_listed(def->n_output_mapping, def->output_inner, o))
      continue;
    g->inner_outputs[j] = hn__strdup(a, o);
    g->outputs[j] =
        hn__strdup(a, mapped_name(def->n_output_mapping, def->output_inner, def->output_outer, o));
    ok = g->inner_outputs[j] && g->outputs[j];
    j++;
  }
  return ok ? HN_OK : hn__error_nomem(err, "adding a nested pipeline");
}

static hn_status nested_from_def(const hn_allocator *a, const hn_nested_def *def, hn_gnode **out,
                                 hn_error *err) {
  hn_gnode *g = hn__calloc(a, 1, sizeof *g);
  if (!g) return hn__error_nomem(err, "adding a nested pipeline");
  g->inner = hn_pipeline_retain(def->inner);
  atomic_fetch_add(&def->inner->n_parents, 1);
  g->n_inputs = def->inner->n_root_inputs;
  g->n_outputs = def->n_output_mapping > 0 ? def->n_output_mapping : def->inner->n_outputs;
  g->map_mode = def->map_mode;
  hn_status st = nested_names(a, def, g, err);
  for (int64_t m = 0; st == HN_OK && m < def->n_map_over; m++) {
    int64_t i = 0;
    while (i < g->n_inputs && strcmp(g->inputs[i], def->map_over[m]) != 0) i++;
    if (i == g->n_inputs)
      st = map_over_error(g, def->map_over[m], err);
    else if (g->mapped[i])
      st = hn__error(err, HN_EINVAL, "nested node '%s': map_over names '%s' twice", g->name,
                     def->map_over[m]);
    else {
      g->mapped[i] = true;
      g->map_order[g->n_map++] = i;
    }
  }
  if (st == HN_OK) st = nested_types(a, def, g, err);
  if (st != HN_OK) {
    hn__gnode_free(a, g, false);
    return st;
  }
  *out = g;
  return HN_OK;
}

hn_status hn_pipeline_add_pipeline(hn_pipeline *pipeline, const hn_nested_def *def, hn_error *err) {
  if (!pipeline) return hn__error(err, HN_EINVAL, "hn_pipeline_add_pipeline: NULL pipeline");
  hn_gnode *g = NULL;
  hn_status st = hn__pipeline_check_frozen(pipeline, "hn_pipeline_add_pipeline", err);
  if (st == HN_OK) st = check_nested_def(pipeline, def, err);
  if (st == HN_OK) st = check_mappings(def, err);
  if (st == HN_OK) st = nested_from_def(&pipeline->alloc, def, &g, err);
  if (st == HN_OK) st = hn__gnode_check_names(&pipeline->alloc, g, err);
  if (st == HN_OK) st = hn__pipeline_insert(pipeline, g, err);
  if (st != HN_OK) {
    hn__gnode_free(&pipeline->alloc, g, false);
    if (def && def->name) hn__error_set_node(err, def->name);
  }
  return st;
}
