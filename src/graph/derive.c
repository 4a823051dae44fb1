/*
 * The graph of a pipeline, recomputed after every change: names within a
 * node, the producer of every name (one per name, none bound), type
 * agreement between producers and consumers, the execution order
 * (topological, ties broken by node name), cycles named from their smallest
 * node, and the root inputs.
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

/*
 * Names within one node: no input or output twice, no input that is also
 * one of its outputs. Sorting makes this O(n log n) for wide nested nodes.
 */
hn_status hn__gnode_check_names(const hn_allocator *a, const hn_gnode *g, hn_error *err) {
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

void hn__derived_free(const hn_allocator *a, hn__derived *d) {
  hn__free(a, d->order);
  hn__free(a, d->root_inputs);
  hn__free(a, d->outputs);
}

void hn__derived_commit(hn_pipeline *p, hn__derived *d) {
  hn__derived old = {p->order, 0, p->root_inputs, 0, p->outputs};
  hn__derived_free(&p->alloc, &old);
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
hn_status hn__derive(const hn_allocator *a, hn_gnode *const *nodes, int64_t n, char *const *bound,
                     int64_t n_bound, hn__derived *d, hn_error *err) {
  int64_t n_prods = 0, n_cons = 0;
  for (int64_t c = 0; c < n; c++) {
    n_prods += nodes[c]->n_outputs;
    n_cons += nodes[c]->n_inputs;
  }
  scratch s = {0};
  *d = (hn__derived){0};
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
    hn__derived_free(a, d);
    *d = (hn__derived){0};
  }
  return st;
}
