/*
 * Pipelines: building (plain and nested nodes) with validation, bound
 * defaults, the derived data (execution order, root inputs, outputs) and
 * introspection. Plan compilation and the plan cache live in plan.c.
 */
#include <stdio.h>
#include <stdlib.h>

#include "graph_internal.h"

/* ---- names -------------------------------------------------------------- */

/* A name and where it occurs: node index and input or output index. */
typedef struct name_ref {
  const char *name;
  int64_t node;
  int64_t index;
} name_ref;

static int cmp_ref(const void *a, const void *b) {
  const name_ref *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  if (c != 0) return c;
  if (x->node != y->node) return x->node < y->node ? -1 : 1;
  return (x->index > y->index) - (x->index < y->index);
}

/* First entry named `name` of a sorted array, or NULL. */
static const name_ref *ref_find(const name_ref *refs, int64_t n, const char *name) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (strcmp(refs[mid].name, name) < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < n && strcmp(refs[lo].name, name) == 0 ? &refs[lo] : NULL;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* ---- nodes -------------------------------------------------------------- */

/* Free a node. user_data_free runs only for a node the pipeline owned. */
static void gnode_free(const hn_allocator *a, hn_gnode *g, bool call_user_free) {
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
static bool gnode_alloc_arrays(const hn_allocator *a, hn_gnode *g) {
  g->inputs = hn__calloc(a, (size_t)g->n_inputs, sizeof *g->inputs);
  g->input_types = hn__calloc(a, (size_t)g->n_inputs, sizeof *g->input_types);
  g->outputs = hn__calloc(a, (size_t)g->n_outputs, sizeof *g->outputs);
  g->output_types = hn__calloc(a, (size_t)g->n_outputs, sizeof *g->output_types);
  return g->inputs && g->input_types && g->outputs && g->output_types;
}

static hn_status check_def(const hn_node_def *def, hn_error *err) {
  if (!def) return hn__error(err, HN_EINVAL, "hn_pipeline_add_node: NULL definition");
  if (def->size < sizeof *def)
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_add_node: def->size is %zu, expected %zu (initialise the "
                     "definition with {sizeof def})",
                     def->size, sizeof *def);
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
  return HN_OK;
}

static hn_status node_from_def(const hn_allocator *a, const hn_node_def *def, hn_gnode **out,
                               hn_error *err) {
  hn_gnode *g = hn__calloc(a, 1, sizeof *g);
  if (!g) return hn__error_nomem(err, "adding a node");
  g->n_inputs = def->n_inputs;
  g->n_outputs = def->n_outputs;
  bool ok = gnode_alloc_arrays(a, g) && (g->name = hn__strdup(a, def->name)) != NULL;
  if (ok && def->version) ok = (g->version = hn__strdup(a, def->version)) != NULL;
  for (int64_t i = 0; ok && i < g->n_inputs; i++) {
    ok = (g->inputs[i] = hn__strdup(a, def->inputs[i])) != NULL;
    if (def->input_types) g->input_types[i] = hn_type_retain(def->input_types[i]);
  }
  for (int64_t j = 0; ok && j < g->n_outputs; j++) {
    ok = (g->outputs[j] = hn__strdup(a, def->outputs[j])) != NULL;
    g->output_types[j] = hn_type_retain(def->output_types[j]);
  }
  if (!ok) {
    gnode_free(a, g, false);
    return hn__error_nomem(err, "adding a node");
  }
  g->row = def->row;
  g->batch = def->batch;
  g->user_data = def->user_data;
  g->user_data_free = def->user_data_free;
  *out = g;
  return HN_OK;
}

/*
 * Names within one node: no input or output twice, no input that is also
 * one of its outputs. Sorting makes this O(n log n) for wide nested nodes.
 */
static hn_status check_node_names(const hn_allocator *a, const hn_gnode *g, hn_error *err) {
  int64_t n = g->n_inputs + g->n_outputs;
  name_ref *refs = hn__malloc(a, sizeof *refs * (size_t)n);
  if (!refs) return hn__error_nomem(err, "checking node names");
  for (int64_t i = 0; i < g->n_inputs; i++) refs[i] = (name_ref){g->inputs[i], 0, i};
  for (int64_t j = 0; j < g->n_outputs; j++)
    refs[g->n_inputs + j] = (name_ref){g->outputs[j], 1, j};
  qsort(refs, (size_t)n, sizeof *refs, cmp_ref);
  hn_status st = HN_OK;
  for (int64_t k = 1; k < n && st == HN_OK; k++) {
    if (strcmp(refs[k - 1].name, refs[k].name) != 0) continue;
    const char *what = refs[k - 1].node != refs[k].node ? NULL
                       : refs[k].node == 0              ? "inputs"
                                                        : "outputs";
    if (what)
      st =
          hn__error(err, HN_EINVAL, "node '%s' has two %s named '%s'", g->name, what, refs[k].name);
    else
      st = hn__error(err, HN_EINVAL, "node '%s' consumes its own output '%s'", g->name,
                     refs[k].name);
  }
  hn__free(a, refs);
  return st;
}

/* ---- derived data ------------------------------------------------------- */

typedef struct derived {
  int64_t *order;
  int64_t n_root_inputs;
  char **root_inputs;
  int64_t n_outputs;
  char **outputs;
} derived;

static void derived_free(const hn_allocator *a, derived *d) {
  hn__free(a, d->order);
  hn__free(a, d->root_inputs);
  hn__free(a, d->outputs);
}

static void derived_commit(hn_pipeline *p, derived *d) {
  derived old = {p->order, 0, p->root_inputs, 0, p->outputs};
  derived_free(&p->alloc, &old);
  p->order = d->order;
  p->n_root_inputs = d->n_root_inputs;
  p->root_inputs = d->root_inputs;
  p->n_outputs = d->n_outputs;
  p->outputs = d->outputs;
}

/* Scratch space of one derivation, allocated at once. */
typedef struct scratch {
  name_ref *prods;  /* every output, sorted by name */
  int64_t *indeg;   /* per node: producers not yet ordered */
  int64_t *succ_at; /* per node + 1: start of its consumers in succ */
  int64_t *succ;    /* consumers, grouped by producer */
  int64_t *heap;    /* ready nodes, smallest name first; also a cursor array */
} scratch;

static void scratch_free(const hn_allocator *a, scratch *s) {
  hn__free(a, s->prods);
  hn__free(a, s->indeg);
  hn__free(a, s->succ_at);
  hn__free(a, s->succ);
  hn__free(a, s->heap);
}

static bool name_less(hn_gnode *const *nodes, int64_t x, int64_t y) {
  return strcmp(nodes[x]->name, nodes[y]->name) < 0;
}

static void heap_push(int64_t *h, int64_t *n, int64_t v, hn_gnode *const *nodes) {
  int64_t i = (*n)++;
  while (i > 0 && name_less(nodes, v, h[(i - 1) / 2])) {
    h[i] = h[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  h[i] = v;
}

static int64_t heap_pop(int64_t *h, int64_t *n, hn_gnode *const *nodes) {
  int64_t top = h[0], v = h[--*n], i = 0;
  for (;;) {
    int64_t c = 2 * i + 1;
    if (c >= *n) break;
    if (c + 1 < *n && name_less(nodes, h[c + 1], h[c])) c++;
    if (!name_less(nodes, h[c], v)) break;
    h[i] = h[c];
    i = c;
  }
  if (*n > 0) h[i] = v;
  return top;
}

static bool is_bound(char *const *bound, int64_t n_bound, const char *name) {
  for (int64_t i = 0; i < n_bound; i++)
    if (strcmp(bound[i], name) == 0) return true;
  return false;
}

/*
 * The producers index, refusing a second producer of a name and a produced
 * name that is bound.
 */
static hn_status index_producers(hn_gnode *const *nodes, int64_t n, name_ref *prods,
                                 int64_t n_prods, char *const *bound, int64_t n_bound,
                                 hn_error *err) {
  int64_t k = 0;
  for (int64_t c = 0; c < n; c++)
    for (int64_t j = 0; j < nodes[c]->n_outputs; j++)
      prods[k++] = (name_ref){nodes[c]->outputs[j], c, j};
  qsort(prods, (size_t)n_prods, sizeof *prods, cmp_ref);
  for (k = 1; k < n_prods; k++)
    if (strcmp(prods[k - 1].name, prods[k].name) == 0)
      return hn__error(err, HN_EINVAL, "output '%s' is produced by both '%s' and '%s'",
                       prods[k].name, nodes[prods[k - 1].node]->name, nodes[prods[k].node]->name);
  for (int64_t b = 0; b < n_bound; b++) {
    const name_ref *r = ref_find(prods, n_prods, bound[b]);
    if (r)
      return hn__error(err, HN_EINVAL,
                       "node '%s' produces '%s', which is bound to a value (unbind it first)",
                       nodes[r->node]->name, r->name);
  }
  return HN_OK;
}

/* Producer/consumer type agreement, and the dependency edges (CSR). */
static hn_status link_nodes(hn_gnode *const *nodes, int64_t n, scratch *s, int64_t n_prods,
                            hn_error *err) {
  for (int64_t c = 0; c < n; c++) {
    const hn_gnode *g = nodes[c];
    for (int64_t i = 0; i < g->n_inputs; i++) {
      const name_ref *r = ref_find(s->prods, n_prods, g->inputs[i]);
      if (!r) continue;
      const hn_type *made = nodes[r->node]->output_types[r->index], *want = g->input_types[i];
      if (want && !hn_type_equals(made, want)) {
        char t1[128], t2[128];
        hn_type_to_string(made, t1, sizeof t1);
        hn_type_to_string(want, t2, sizeof t2);
        return hn__error(err, HN_ETYPE,
                         "type mismatch on '%s': node '%s' produces %s but node '%s' expects %s",
                         r->name, nodes[r->node]->name, t1, g->name, t2);
      }
      s->indeg[c]++;
      s->succ_at[r->node + 1]++;
    }
  }
  for (int64_t c = 0; c < n; c++) s->succ_at[c + 1] += s->succ_at[c];
  int64_t *cursor = s->heap;
  for (int64_t c = 0; c < n; c++) cursor[c] = s->succ_at[c];
  for (int64_t c = 0; c < n; c++)
    for (int64_t i = 0; i < nodes[c]->n_inputs; i++) {
      const name_ref *r = ref_find(s->prods, n_prods, nodes[c]->inputs[i]);
      if (r) s->succ[cursor[r->node]++] = c;
    }
  return HN_OK;
}

/*
 * Name a cycle among the nodes Kahn's algorithm could not order (indeg > 0).
 * Walks back from the last such node (the one just added, when adding) through
 * unordered producers until a node repeats; every unordered node has one.
 */
static hn_status cycle_error(hn_gnode *const *nodes, int64_t n, const scratch *s, int64_t n_prods,
                             int64_t *pos, int64_t *walk, hn_error *err) {
  int64_t x = n - 1;
  while (x > 0 && s->indeg[x] == 0) x--;
  for (int64_t i = 0; i < n; i++) pos[i] = -1;
  int64_t len = 0;
  while (pos[x] < 0) {
    pos[x] = len;
    walk[len++] = x;
    int64_t pred = -1;
    for (int64_t i = 0; pred < 0 && i < nodes[x]->n_inputs; i++) {
      const name_ref *r = ref_find(s->prods, n_prods, nodes[x]->inputs[i]);
      if (r && s->indeg[r->node] > 0) pred = r->node;
    }
    if (pred < 0) return hn__error(err, HN_EINTERNAL, "cycle detection lost its way");
    x = pred;
  }
  /* Forward, the cycle is walk[pos[x]], walk[len - 1], ..., walk[pos[x] + 1]. */
  int64_t first = pos[x], n_cycle = len - first;
  for (int64_t t = 1; first + t < len - t; t++) {
    int64_t tmp = walk[first + t];
    walk[first + t] = walk[len - t];
    walk[len - t] = tmp;
  }
  /* Start from the smallest name, so the message does not depend on insertion order. */
  int64_t start = 0;
  for (int64_t t = 1; t < n_cycle; t++)
    if (name_less(nodes, walk[first + t], walk[first + start])) start = t;
  hn__msg m = {{0}, 0, false};
  hn__msg_add(&m, "cycle: %s", nodes[walk[first + start]]->name);
  for (int64_t t = 1; t <= n_cycle; t++)
    hn__msg_add(&m, " -> %s", nodes[walk[first + (start + t) % n_cycle]]->name);
  return hn__error(err, HN_EINVAL, "%s", m.buf);
}

/* Kahn's algorithm, smallest ready name first. */
static hn_status order_nodes(hn_gnode *const *nodes, int64_t n, scratch *s, int64_t n_prods,
                             int64_t *order, hn_error *err) {
  int64_t n_heap = 0, n_done = 0;
  for (int64_t c = 0; c < n; c++)
    if (s->indeg[c] == 0) heap_push(s->heap, &n_heap, c, nodes);
  while (n_heap > 0) {
    int64_t c = heap_pop(s->heap, &n_heap, nodes);
    order[n_done++] = c;
    for (int64_t e = s->succ_at[c]; e < s->succ_at[c + 1]; e++)
      if (--s->indeg[s->succ[e]] == 0) heap_push(s->heap, &n_heap, s->succ[e], nodes);
  }
  if (n_done == n) return HN_OK;
  return cycle_error(nodes, n, s, n_prods, s->heap, order, err);
}

/* Root inputs: consumed, produced by no node, not bound; sorted, distinct. */
static int64_t collect_roots(hn_gnode *const *nodes, int64_t n, const scratch *s, int64_t n_prods,
                             char *const *bound, int64_t n_bound, char **roots) {
  int64_t k = 0;
  for (int64_t c = 0; c < n; c++)
    for (int64_t i = 0; i < nodes[c]->n_inputs; i++) {
      char *name = nodes[c]->inputs[i];
      if (!ref_find(s->prods, n_prods, name) && !is_bound(bound, n_bound, name)) roots[k++] = name;
    }
  qsort(roots, (size_t)k, sizeof *roots, cmp_str);
  int64_t m = 0;
  for (int64_t i = 0; i < k; i++)
    if (m == 0 || strcmp(roots[m - 1], roots[i]) != 0) roots[m++] = roots[i];
  return m;
}

/*
 * Validate the graph formed by `nodes` with the given bound names and
 * compute its derived data into *d (nothing on failure). Refuses a second
 * producer, a produced name that is bound, a type mismatch and a cycle.
 */
static hn_status derive(const hn_allocator *a, hn_gnode *const *nodes, int64_t n,
                        char *const *bound, int64_t n_bound, derived *d, hn_error *err) {
  int64_t n_prods = 0, n_cons = 0;
  for (int64_t c = 0; c < n; c++) {
    n_prods += nodes[c]->n_outputs;
    n_cons += nodes[c]->n_inputs;
  }
  scratch s = {0};
  *d = (derived){0};
  s.prods = hn__malloc(a, sizeof *s.prods * (size_t)n_prods);
  s.indeg = hn__calloc(a, (size_t)n, sizeof *s.indeg);
  s.succ_at = hn__calloc(a, (size_t)n + 1, sizeof *s.succ_at);
  s.succ = hn__malloc(a, sizeof *s.succ * (size_t)n_cons);
  s.heap = hn__malloc(a, sizeof *s.heap * (size_t)n);
  d->order = hn__malloc(a, sizeof *d->order * (size_t)n);
  d->root_inputs = hn__malloc(a, sizeof *d->root_inputs * (size_t)n_cons);
  d->outputs = hn__malloc(a, sizeof *d->outputs * (size_t)n_prods);
  hn_status st = HN_OK;
  if (!s.prods || !s.indeg || !s.succ_at || !s.succ || !s.heap || !d->order || !d->root_inputs ||
      !d->outputs)
    st = hn__error_nomem(err, "updating the pipeline");
  if (st == HN_OK) st = index_producers(nodes, n, s.prods, n_prods, bound, n_bound, err);
  if (st == HN_OK) st = link_nodes(nodes, n, &s, n_prods, err);
  if (st == HN_OK) st = order_nodes(nodes, n, &s, n_prods, d->order, err);
  if (st == HN_OK) {
    d->n_root_inputs = collect_roots(nodes, n, &s, n_prods, bound, n_bound, d->root_inputs);
    for (int64_t k = 0; k < n; k++) {
      const hn_gnode *g = nodes[d->order[k]];
      for (int64_t j = 0; j < g->n_outputs; j++) d->outputs[d->n_outputs++] = g->outputs[j];
    }
  }
  scratch_free(a, &s);
  if (st != HN_OK) {
    derived_free(a, d);
    *d = (derived){0};
  }
  return st;
}

/* ---- building ----------------------------------------------------------- */

static hn_status check_frozen(const hn_pipeline *p, const char *what, hn_error *err) {
  if (atomic_load(&p->n_parents) > 0)
    return hn__error(err, HN_EINVAL,
                     "%s: pipeline '%s' is nested in another pipeline and can no longer change",
                     what, p->name);
  return HN_OK;
}

/* Add a built node (taking it on success; the caller frees it on failure). */
static hn_status pipeline_insert(hn_pipeline *p, hn_gnode *g, hn_error *err) {
  for (int64_t i = 0; i < p->n_nodes; i++)
    if (strcmp(p->nodes[i]->name, g->name) == 0)
      return hn__error(err, HN_EINVAL, "a node named '%s' already exists", g->name);
  hn_gnode **nodes = hn__realloc(&p->alloc, p->nodes, sizeof *nodes * (size_t)(p->n_nodes + 1));
  if (!nodes) return hn__error_nomem(err, "adding a node");
  p->nodes = nodes;
  nodes[p->n_nodes] = g;
  derived d;
  hn_status st = derive(&p->alloc, nodes, p->n_nodes + 1, p->bound_names, p->n_bound, &d, err);
  if (st != HN_OK) return st;
  derived_commit(p, &d);
  p->n_nodes++;
  hn__pipeline_plans_clear(p);
  return HN_OK;
}

hn_status hn_pipeline_add_node(hn_pipeline *pipeline, const hn_node_def *def, hn_error *err) {
  if (!pipeline) return hn__error(err, HN_EINVAL, "hn_pipeline_add_node: NULL pipeline");
  hn_gnode *g = NULL;
  hn_status st = check_frozen(pipeline, "hn_pipeline_add_node", err);
  if (st == HN_OK) st = check_def(def, err);
  if (st == HN_OK) st = node_from_def(&pipeline->alloc, def, &g, err);
  if (st == HN_OK) st = check_node_names(&pipeline->alloc, g, err);
  if (st == HN_OK) st = pipeline_insert(pipeline, g, err);
  if (st != HN_OK) {
    gnode_free(&pipeline->alloc, g, false);
    if (def && def->name) hn__error_set_node(err, def->name);
  }
  return st;
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
  bool ok = gnode_alloc_arrays(a, g) && (g->name = hn__strdup(a, def->name)) != NULL;
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
  for (int64_t j = 0; ok && j < g->n_outputs; j++) {
    const char *o = in->outputs[j];
    g->inner_outputs[j] = hn__strdup(a, o);
    g->outputs[j] =
        hn__strdup(a, mapped_name(def->n_output_mapping, def->output_inner, def->output_outer, o));
    ok = g->inner_outputs[j] && g->outputs[j];
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
  g->n_outputs = def->inner->n_outputs;
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
    gnode_free(a, g, false);
    return st;
  }
  *out = g;
  return HN_OK;
}

hn_status hn_pipeline_add_pipeline(hn_pipeline *pipeline, const hn_nested_def *def, hn_error *err) {
  if (!pipeline) return hn__error(err, HN_EINVAL, "hn_pipeline_add_pipeline: NULL pipeline");
  hn_gnode *g = NULL;
  hn_status st = check_frozen(pipeline, "hn_pipeline_add_pipeline", err);
  if (st == HN_OK) st = check_nested_def(pipeline, def, err);
  if (st == HN_OK) st = check_mappings(def, err);
  if (st == HN_OK) st = nested_from_def(&pipeline->alloc, def, &g, err);
  if (st == HN_OK) st = check_node_names(&pipeline->alloc, g, err);
  if (st == HN_OK) st = pipeline_insert(pipeline, g, err);
  if (st != HN_OK) {
    gnode_free(&pipeline->alloc, g, false);
    if (def && def->name) hn__error_set_node(err, def->name);
  }
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
  hn_status st = check_frozen(pipeline, "hn_pipeline_bind", err);
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
  derived d;
  st = derive(&pipeline->alloc, pipeline->nodes, pipeline->n_nodes, pipeline->bound_names, n + 1,
              &d, err);
  if (st != HN_OK) {
    hn__free(&pipeline->alloc, copy);
    return st;
  }
  pipeline->bound_values[n] = hn_array_retain(values);
  pipeline->bound_rows[n] = row;
  pipeline->n_bound = n + 1;
  derived_commit(pipeline, &d);
  hn__pipeline_plans_clear(pipeline);
  return HN_OK;
}

hn_status hn_pipeline_unbind(hn_pipeline *pipeline, const char *name, hn_error *err) {
  if (!pipeline || !name) return hn__error(err, HN_EINVAL, "hn_pipeline_unbind: NULL argument");
  hn_status st = check_frozen(pipeline, "hn_pipeline_unbind", err);
  if (st != HN_OK) return st;
  int64_t i = hn__pipeline_bound_index(pipeline, name);
  if (i < 0) return hn__error(err, HN_ENOTFOUND, "no value is bound to '%s'", name);
  int64_t last = pipeline->n_bound - 1;
  bound_swap(pipeline, i, last);
  derived d;
  st = derive(&pipeline->alloc, pipeline->nodes, pipeline->n_nodes, pipeline->bound_names, last, &d,
              err);
  if (st != HN_OK) {
    bound_swap(pipeline, i, last);
    return st;
  }
  hn__free(&pipeline->alloc, pipeline->bound_names[last]);
  hn_array_release(pipeline->bound_values[last]);
  pipeline->n_bound = last;
  derived_commit(pipeline, &d);
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
  for (int64_t i = 0; i < pipeline->n_nodes; i++) gnode_free(&a, pipeline->nodes[i], true);
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
