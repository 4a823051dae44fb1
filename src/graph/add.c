/*
 * The one-call forms of building a pipeline: a node from spec strings
 * (hn_pipeline_add, hn_pipeline_add_ex), a table of node specs
 * (hn_pipeline_add_nodes) and a nested pipeline from mapping strings
 * (hn_pipeline_add_nested). Each parses its strings (spec.c), fills the
 * full-power definition (hn_node_def, hn_nested_def) and adds it.
 */
#include <stdio.h>

#include "graph_internal.h"

/* The parsed strings of one node spec. */
typedef struct parsed_node {
  hn__spec in, out;
} parsed_node;

static void parsed_free(const hn_allocator *a, parsed_node *pn) {
  hn__spec_free(a, &pn->in);
  hn__spec_free(a, &pn->out);
}

/*
 * Parse a node's inputs and outputs into *pn and point *def at them (names
 * and functions copied from `spec`). Errors name the node.
 */
static hn_status parse_node(const hn_allocator *a, const hn_node_spec *spec, parsed_node *pn,
                            hn_node_def *def, hn_error *err) {
  *pn = (parsed_node){{0}, {0}};
  const char *name = spec->name ? spec->name : "";
  char what[160];
  snprintf(what, sizeof what, "node '%.100s': inputs", name);
  hn_status st = hn__spec_parse(a, spec->inputs, HN__SPEC_TYPED, what, &pn->in, err);
  snprintf(what, sizeof what, "node '%.100s': outputs", name);
  if (st == HN_OK)
    st = hn__spec_parse(a, spec->outputs, HN__SPEC_TYPES_REQUIRED, what, &pn->out, err);
  if (st != HN_OK) {
    if (spec->name) hn__error_set_node(err, spec->name);
    return st;
  }
  bool typed = false;
  for (int64_t i = 0; i < pn->in.n; i++) typed = typed || pn->in.types[i];
  *def = (hn_node_def){.size = sizeof *def,
                       .name = spec->name,
                       .n_inputs = pn->in.n,
                       .inputs = (const char *const *)pn->in.names,
                       .input_types = typed ? pn->in.types : NULL,
                       .n_outputs = pn->out.n,
                       .outputs = (const char *const *)pn->out.names,
                       .output_types = pn->out.types,
                       .row = spec->row,
                       .batch = spec->batch,
                       .version = spec->version,
                       .user_data = spec->user_data,
                       .user_data_free = spec->user_data_free,
                       .cache = spec->cache};
  if (spec->policy) {
    st = hn_node_policy_parse(spec->policy, &def->policy, err);
    if (st != HN_OK) {
      if (err) { /* "node 'x': policy: ..." */
        char msg[HN_ERROR_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "%s", err->message);
        hn__error(err, st, "node '%.100s': policy: %s", name, msg);
        if (spec->name) hn__error_set_node(err, spec->name);
      }
      return st;
    }
  }
  return HN_OK;
}

hn_status hn_pipeline_add_ex(hn_pipeline *pipeline, const char *name, const char *inputs,
                             const char *outputs, hn_row_fn row, hn_batch_fn batch, void *user_data,
                             void (*user_data_free)(void *user_data), hn_error *err) {
  if (!pipeline) return hn__error(err, HN_EINVAL, "hn_pipeline_add: NULL pipeline");
  hn_node_spec spec = {
      name, inputs, outputs, row, batch, user_data, user_data_free, NULL, HN_NODE_CACHE_DEFAULT,
      NULL};
  parsed_node pn;
  hn_node_def def;
  hn_status st = parse_node(&pipeline->alloc, &spec, &pn, &def, err);
  if (st == HN_OK) st = hn_pipeline_add_node(pipeline, &def, err);
  parsed_free(&pipeline->alloc, &pn);
  return st;
}

hn_status hn_pipeline_add(hn_pipeline *pipeline, const char *name, const char *inputs,
                          const char *outputs, hn_row_fn row, hn_error *err) {
  return hn_pipeline_add_ex(pipeline, name, inputs, outputs, row, NULL, NULL, NULL, err);
}

/* Prefix the message of a failed table entry with its index, keeping the node name. */
static hn_status entry_failed(hn_status st, int64_t k, int64_t n, hn_error *err) {
  if (!err || k < 0) return st;
  char msg[HN_ERROR_MESSAGE_MAX], node[HN_ERROR_NODE_MAX];
  snprintf(msg, sizeof msg, "%s", err->message);
  snprintf(node, sizeof node, "%s", err->node);
  hn__error(err, st, "node spec %lld of %lld: %s", (long long)k, (long long)n, msg);
  if (node[0]) hn__error_set_node(err, node);
  return st;
}

hn_status hn_pipeline_add_nodes(hn_pipeline *pipeline, const hn_node_spec *specs, int64_t n_specs,
                                size_t spec_size, hn_error *err) {
  if (!pipeline) return hn__error(err, HN_EINVAL, "hn_pipeline_add_nodes: NULL pipeline");
  if (n_specs < 0 || (n_specs > 0 && !specs))
    return hn__error(err, HN_EINVAL, "hn_pipeline_add_nodes: bad table (%lld entries)",
                     (long long)n_specs);
  size_t min = offsetof(hn_node_spec, batch);
  if (n_specs > 0 && spec_size < min)
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_add_nodes: spec_size is %zu: pass sizeof(hn_node_spec) (or use "
                     "HN_NODE_SPECS)",
                     spec_size);
  hn_status st = hn__pipeline_check_frozen(pipeline, "hn_pipeline_add_nodes", err);
  if (st != HN_OK) return st;
  const hn_allocator *a = &pipeline->alloc;
  parsed_node *pns = hn__calloc(a, (size_t)(n_specs ? n_specs : 1), sizeof *pns);
  hn_node_def *defs = hn__calloc(a, (size_t)(n_specs ? n_specs : 1), sizeof *defs);
  if (!pns || !defs) st = hn__error_nomem(err, "adding nodes");
  int64_t k = 0, failed = -1;
  for (; k < n_specs && st == HN_OK; k++) {
    /* Entries of an older, smaller hn_node_spec read as zero past their end. */
    hn_node_spec spec = {0};
    memcpy(&spec, (const char *)specs + (size_t)k * spec_size,
           spec_size < sizeof spec ? spec_size : sizeof spec);
    st = parse_node(a, &spec, &pns[k], &defs[k], err);
    if (st != HN_OK) failed = k;
  }
  if (st == HN_OK) st = hn__pipeline_add_defs(pipeline, n_specs, defs, &failed, err);
  for (int64_t i = 0; pns && i < k; i++) parsed_free(a, &pns[i]);
  hn__free(a, pns);
  hn__free(a, defs);
  return st == HN_OK ? HN_OK : entry_failed(st, failed, n_specs, err);
}

/* ---- nested ------------------------------------------------------------------ */

hn_status hn_pipeline_add_nested(hn_pipeline *pipeline, const char *name, hn_pipeline *inner,
                                 const char *input_mapping, const char *output_mapping,
                                 const char *map_over, hn_map_mode map_mode, hn_error *err) {
  if (!pipeline) return hn__error(err, HN_EINVAL, "hn_pipeline_add_nested: NULL pipeline");
  const hn_allocator *a = &pipeline->alloc;
  const char *shown = name ? name : "";
  hn__spec in = {0}, out = {0}, over = {0};
  char what[160];
  snprintf(what, sizeof what, "nested node '%.100s': input mapping", shown);
  hn_status st = hn__spec_parse(a, input_mapping, HN__SPEC_MAPPING, what, &in, err);
  snprintf(what, sizeof what, "nested node '%.100s': output mapping", shown);
  if (st == HN_OK) st = hn__spec_parse(a, output_mapping, HN__SPEC_MAPPING, what, &out, err);
  snprintf(what, sizeof what, "nested node '%.100s': map_over", shown);
  if (st == HN_OK) st = hn__spec_parse(a, map_over, HN__SPEC_NAMES, what, &over, err);
  if (st == HN_OK) {
    hn_nested_def def = {.size = sizeof def,
                         .name = name,
                         .inner = inner,
                         .n_input_mapping = in.n,
                         .input_outer = (const char *const *)in.names,
                         .input_inner = (const char *const *)in.to,
                         .n_output_mapping = out.n,
                         .output_inner = (const char *const *)out.names,
                         .output_outer = (const char *const *)out.to,
                         .n_map_over = over.n,
                         .map_over = (const char *const *)over.names,
                         .map_mode = map_mode};
    st = hn_pipeline_add_pipeline(pipeline, &def, err);
  } else if (name) {
    hn__error_set_node(err, name);
  }
  hn__spec_free(a, &in);
  hn__spec_free(a, &out);
  hn__spec_free(a, &over);
  return st;
}
