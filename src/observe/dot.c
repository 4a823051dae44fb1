/*
 * hn_pipeline_to_dot: a pipeline as a Graphviz digraph. Inputs, nodes and
 * output values are DOT nodes; nested pipelines are clusters down to the
 * chosen depth; a request greys what its plan prunes.
 *
 * Two passes over the same tree of levels (the top pipeline, then every
 * nested pipeline drawn open): the first declares the DOT nodes, each inside
 * its cluster; the second writes every edge at the top of the graph, where
 * an edge can join nodes of different clusters without moving them.
 */
#include <stdio.h>

#include "observe_internal.h"

/* Colours: fill, border. Greyed (pruned) elements use GREY_STYLE. */
#define INPUT_STYLE "fillcolor=\"#dbeafe\", color=\"#3b82f6\""
#define RESOURCE_STYLE "fillcolor=\"#ede9fe\", color=\"#7c3aed\""
#define NODE_STYLE "fillcolor=\"#fef3c7\", color=\"#d97706\""
#define VALUE_STYLE "fillcolor=\"#dcfce7\", color=\"#16a34a\""
#define CLUSTER_STYLE "fillcolor=\"#f8fafc\", color=\"#94a3b8\""
#define GREY_STYLE \
  "fillcolor=\"#f3f4f6\", color=\"#d1d5db\", fontcolor=\"#9ca3af\", class=\"pruned\""

typedef struct dot_ctx {
  hn__dot_out out;
  hn_dot_options o;
  bool planned;            /* a request was given */
  const hn_plan *top_plan; /* its plan (owned by the pipeline) */
  const hn_inputs *inputs; /* o.inputs */
} dot_ctx;

/* One pipeline being drawn: the top one, or a nested one drawn open. */
typedef struct level {
  const struct level *parent; /* NULL at the top */
  const char *name;           /* nested node name in the parent; NULL at the top */
  const hn_pipeline *p;
  int depth;           /* 1 at the top */
  const hn_plan *plan; /* with a request, this level's plan (NULL when pruned) */
  bool pruned;         /* with a request: this level does not run at all */
} level;

/* ---- questions about a level ----------------------------------------------- */

static const hn_plan_step *step_of(const level *L, const hn_gnode *g) {
  for (int64_t s = 0; L->plan && s < L->plan->n_steps; s++)
    if (L->plan->steps[s].node == g) return &L->plan->steps[s];
  return NULL;
}

static bool node_greyed(const dot_ctx *c, const level *L, const hn_gnode *g) {
  return c->planned && (L->pruned || !step_of(L, g));
}

static bool input_greyed(const dot_ctx *c, const level *L, const char *name) {
  if (!c->planned) return false;
  if (L->pruned || !L->plan) return true;
  for (int64_t i = 0; i < L->plan->n_inputs; i++)
    if (strcmp(L->plan->input_names[i], name) == 0) return false;
  return true;
}

static bool requested(const dot_ctx *c, const level *L, const char *name) {
  if (!c->planned || L->parent) return false;
  for (int64_t i = 0; i < c->top_plan->n_requested; i++)
    if (strcmp(c->top_plan->requested_names[i], name) == 0) return true;
  return false;
}

/* True when a node of p produces `name`. */
static bool produced(const hn_pipeline *p, const char *name) {
  for (int64_t k = 0; k < p->n_nodes; k++)
    for (int64_t j = 0; j < p->nodes[k]->n_outputs; j++)
      if (strcmp(p->nodes[k]->outputs[j], name) == 0) return true;
  return false;
}

/* The type the first consumer of `name` in execution order declares, or NULL (any). */
static const hn_type *consumer_type(const hn_pipeline *p, const char *name) {
  for (int64_t k = 0; k < p->n_nodes; k++) {
    const hn_gnode *g = p->nodes[p->order[k]];
    for (int64_t i = 0; i < g->n_inputs; i++)
      if (g->input_types[i] && strcmp(g->inputs[i], name) == 0) return g->input_types[i];
  }
  return NULL;
}

static bool drawn_open(const dot_ctx *c, const level *L, const hn_gnode *g) {
  return g->inner && (c->o.depth == 0 || L->depth < c->o.depth);
}

static level child_level(const dot_ctx *c, const level *L, const hn_gnode *g) {
  const hn_plan_step *step = step_of(L, g);
  level in = {L, g->name, g->inner, L->depth + 1, step ? step->inner : NULL, false};
  in.pruned = c->planned && (L->pruned || !step);
  return in;
}

/* The run's input called `name` (top level only), or NULL. */
static const hn_input *given_input(const dot_ctx *c, const level *L, const char *name) {
  if (L->parent || !c->inputs) return NULL;
  int64_t i = hn__inputs_find(c->inputs, name);
  return i >= 0 ? &c->inputs->items[i] : NULL;
}

/* ---- writing ids and labels -------------------------------------------------- */

static void put_path(dot_ctx *c, const level *L) {
  if (!L->parent) return;
  put_path(c, L->parent);
  hn__dot_id_text(&c->out, L->name);
  hn__dot_puts(&c->out, "/");
}

static void put_id(dot_ctx *c, const level *L, const char *kind, const char *name) {
  hn__dot_puts(&c->out, "\"");
  put_path(c, L);
  hn__dot_printf(&c->out, "%s:", kind);
  hn__dot_id_text(&c->out, name);
  hn__dot_puts(&c->out, "\"");
}

static void indent(dot_ctx *c, const level *L) {
  for (int d = 0; d < L->depth; d++) hn__dot_puts(&c->out, "  ");
}

/* "\n<type>" inside a label, unless types are hidden; NULL prints "any". */
static void put_type_line(dot_ctx *c, const hn_type *type) {
  if (c->o.hide_types) return;
  char buf[256] = "any";
  if (type) hn_type_to_string(type, buf, sizeof buf);
  hn__dot_puts(&c->out, "\\n");
  hn__dot_label_text(&c->out, buf);
}

static void put_value(dot_ctx *c, const hn_array *values, int64_t row) {
  char buf[64];
  hn__dot_render_value(values, row, buf, sizeof buf);
  hn__dot_puts(&c->out, "\\n= ");
  hn__dot_label_text(&c->out, buf);
}

/* The "map over a, b (zip)" line of a mapped nested node's label. */
static void put_map_line(dot_ctx *c, const hn_gnode *g) {
  if (g->n_map == 0) return;
  hn__dot_puts(&c->out, "\\nmap over ");
  for (int64_t k = 0; k < g->n_map; k++) {
    if (k) hn__dot_puts(&c->out, ", ");
    hn__dot_label_text(&c->out, g->inputs[g->map_order[k]]);
  }
  hn__dot_puts(&c->out, g->map_mode == HN_MAP_PRODUCT ? " (product)" : " (zip)");
}

/* ---- pass 1: DOT nodes ------------------------------------------------------- */

/* An input of level L: given by the run, bound to a default, or a plain input. */
static void emit_input(dot_ctx *c, const level *L, const char *name, int64_t bound) {
  const hn_input *given = given_input(c, L, name);
  bool resource = given && given->kind == HN_INPUT_RESOURCE;
  indent(c, L);
  put_id(c, L, "input", name);
  hn__dot_puts(&c->out, resource ? " [shape=hexagon, style=filled, " : " [shape=ellipse, ");
  if (!resource)
    hn__dot_puts(&c->out, bound >= 0 && !given ? "style=\"filled,dashed\", " : "style=filled, ");
  hn__dot_puts(&c->out, input_greyed(c, L, name) ? GREY_STYLE
                        : resource               ? RESOURCE_STYLE
                                                 : INPUT_STYLE);
  hn__dot_puts(&c->out, ", label=\"");
  hn__dot_label_text(&c->out, name);
  if (resource) {
    hn__dot_puts(&c->out, "\\nresource ");
    hn__dot_label_text(&c->out, given->resource->name);
  } else if (given && given->kind == HN_INPUT_VALUE) {
    put_value(c, given->values, given->row);
    put_type_line(c, hn_array_type(given->values));
  } else if (bound >= 0 && !given) {
    put_value(c, L->p->bound_values[bound], L->p->bound_rows[bound]);
    put_type_line(c, hn_array_type(L->p->bound_values[bound]));
  } else {
    put_type_line(c, consumer_type(L->p, name));
  }
  hn__dot_puts(&c->out, "\"];\n");
}

static void emit_value(dot_ctx *c, const level *L, const hn_gnode *g, int64_t j) {
  indent(c, L);
  put_id(c, L, "output", g->outputs[j]);
  hn__dot_puts(&c->out, " [shape=ellipse, style=filled, ");
  hn__dot_puts(&c->out, node_greyed(c, L, g) ? GREY_STYLE : VALUE_STYLE);
  if (requested(c, L, g->outputs[j])) hn__dot_puts(&c->out, ", penwidth=2.5, class=\"requested\"");
  hn__dot_puts(&c->out, ", label=\"");
  hn__dot_label_text(&c->out, g->outputs[j]);
  put_type_line(c, g->output_types[j]);
  hn__dot_puts(&c->out, "\"];\n");
}

/* A node as one box (a nested pipeline past the depth: a 3-D box). */
static void emit_box(dot_ctx *c, const level *L, const hn_gnode *g) {
  indent(c, L);
  put_id(c, L, "node", g->name);
  hn__dot_puts(&c->out, g->inner ? " [shape=box3d, style=filled, "
                                 : " [shape=box, style=\"rounded,filled\", ");
  hn__dot_puts(&c->out, node_greyed(c, L, g) ? GREY_STYLE : NODE_STYLE);
  hn__dot_puts(&c->out, ", label=\"");
  hn__dot_label_text(&c->out, g->name);
  if (g->inner) {
    hn__dot_puts(&c->out, "\\npipeline");
    if (g->inner->name[0]) {
      hn__dot_puts(&c->out, " ");
      hn__dot_label_text(&c->out, g->inner->name);
    }
    hn__dot_printf(&c->out, " (%lld node%s)", (long long)g->inner->n_nodes,
                   g->inner->n_nodes == 1 ? "" : "s");
    put_map_line(c, g);
  }
  hn__dot_puts(&c->out, "\"];\n");
}

static void emit_level_nodes(dot_ctx *c, const level *L);

static void emit_cluster(dot_ctx *c, const level *L, const hn_gnode *g) {
  level in = child_level(c, L, g);
  indent(c, L);
  hn__dot_puts(&c->out, "subgraph \"cluster:");
  put_path(c, L);
  hn__dot_id_text(&c->out, g->name);
  hn__dot_puts(&c->out, "\" {\n");
  indent(c, &in);
  hn__dot_puts(&c->out, "graph [style=\"rounded,filled\", labeljust=l, ");
  hn__dot_puts(&c->out, in.pruned ? GREY_STYLE : CLUSTER_STYLE);
  hn__dot_puts(&c->out, ", label=\"");
  hn__dot_label_text(&c->out, g->name);
  if (g->inner->name[0]) {
    hn__dot_puts(&c->out, ": pipeline ");
    hn__dot_label_text(&c->out, g->inner->name);
  }
  put_map_line(c, g);
  hn__dot_puts(&c->out, "\"];\n");
  emit_level_nodes(c, &in);
  indent(c, L);
  hn__dot_puts(&c->out, "}\n");
}

static void emit_level_nodes(dot_ctx *c, const level *L) {
  const hn_pipeline *p = L->p;
  for (int64_t i = 0; i < p->n_root_inputs; i++) emit_input(c, L, p->root_inputs[i], -1);
  for (int64_t i = 0; i < p->n_bound; i++) emit_input(c, L, p->bound_names[i], i);
  for (int64_t k = 0; k < p->n_nodes && c->out.status == HN_OK; k++) {
    const hn_gnode *g = p->nodes[p->order[k]];
    if (drawn_open(c, L, g))
      emit_cluster(c, L, g);
    else
      emit_box(c, L, g);
    for (int64_t j = 0; j < g->n_outputs; j++) emit_value(c, L, g, j);
  }
}

/* ---- pass 2: edges ------------------------------------------------------------ */

/* The end of an edge: its label ("map", "collect") and whether it is greyed. */
static void edge_end(dot_ctx *c, bool grey, const char *label) {
  if (!grey && !label) {
    hn__dot_puts(&c->out, ";\n");
    return;
  }
  hn__dot_puts(&c->out, " [");
  if (label) hn__dot_printf(&c->out, "label=\"%s\", ", label);
  if (grey)
    hn__dot_puts(&c->out,
                 "color=\"#d1d5db\", fontcolor=\"#9ca3af\", style=dashed, class=\"pruned\"");
  else
    hn__dot_puts(&c->out, "style=bold");
  hn__dot_puts(&c->out, "];\n");
}

/* The id of the value `name` in level L: a node's output, or else an input. */
static void put_source(dot_ctx *c, const level *L, const char *name) {
  put_id(c, L, produced(L->p, name) ? "output" : "input", name);
}

static void emit_level_edges(dot_ctx *c, const level *L);

static void emit_node_edges(dot_ctx *c, const level *L, const hn_gnode *g) {
  bool open = drawn_open(c, L, g), grey = node_greyed(c, L, g);
  level in = open ? child_level(c, L, g) : (level){0};
  for (int64_t i = 0; i < g->n_inputs; i++) {
    hn__dot_puts(&c->out, "  ");
    put_source(c, L, g->inputs[i]);
    hn__dot_puts(&c->out, " -> ");
    if (open)
      put_id(c, &in, "input", g->inner_inputs[i]);
    else
      put_id(c, L, "node", g->name);
    edge_end(c, grey || (open && input_greyed(c, &in, g->inner_inputs[i])),
             g->mapped && g->mapped[i] ? "map" : NULL);
  }
  for (int64_t j = 0; j < g->n_outputs; j++) {
    hn__dot_puts(&c->out, "  ");
    if (open)
      put_id(c, &in, "output", g->inner_outputs[j]);
    else
      put_id(c, L, "node", g->name);
    hn__dot_puts(&c->out, " -> ");
    put_id(c, L, "output", g->outputs[j]);
    edge_end(c, grey, open && g->n_map > 0 ? "collect" : NULL);
  }
  if (open) emit_level_edges(c, &in);
}

static void emit_level_edges(dot_ctx *c, const level *L) {
  const hn_pipeline *p = L->p;
  for (int64_t k = 0; k < p->n_nodes && c->out.status == HN_OK; k++)
    emit_node_edges(c, L, p->nodes[p->order[k]]);
}

/* ---- the graph ---------------------------------------------------------------- */

static void emit_request_line(dot_ctx *c) {
  const hn_plan *plan = c->top_plan;
  hn__dot_puts(&c->out, "\\nrequest: ");
  for (int64_t i = 0; i < plan->n_inputs; i++) {
    if (i) hn__dot_puts(&c->out, ", ");
    hn__dot_label_text(&c->out, plan->input_names[i]);
  }
  if (plan->n_inputs == 0) hn__dot_puts(&c->out, "(no inputs)");
  hn__dot_puts(&c->out, " -> ");
  for (int64_t i = 0; i < plan->n_requested; i++) {
    if (i) hn__dot_puts(&c->out, ", ");
    hn__dot_label_text(&c->out, plan->requested_names[i]);
  }
  hn__dot_puts(&c->out, " (grey: not run)");
}

static void emit_graph(dot_ctx *c, const hn_pipeline *p) {
  level top = {NULL, NULL, p, 1, c->top_plan, false};
  hn__dot_puts(&c->out, "digraph \"");
  hn__dot_label_text(&c->out, p->name[0] ? p->name : "pipeline");
  hn__dot_printf(&c->out,
                 "\" {\n  graph [rankdir=%s, compound=true, fontname=\"Helvetica\", fontsize=11, "
                 "nodesep=0.3, ranksep=0.35, labelloc=t",
                 c->o.orientation == HN_DOT_LR ? "LR" : "TB");
  if (p->name[0] || c->planned) {
    hn__dot_puts(&c->out, ", label=\"");
    hn__dot_label_text(&c->out, p->name);
    if (c->planned) emit_request_line(c);
    hn__dot_puts(&c->out, "\"");
  }
  hn__dot_puts(&c->out,
               "];\n  node [fontname=\"Helvetica\", fontsize=10];\n"
               "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#6b7280\", "
               "arrowsize=0.7];\n");
  emit_level_nodes(c, &top);
  emit_level_edges(c, &top);
  hn__dot_puts(&c->out, "}\n");
}

/* ---- options and the request ------------------------------------------------------ */

#define HAS_FIELD(o, f) ((o)->size >= offsetof(hn_dot_options, f) + sizeof((o)->f))

static hn_status read_options(const hn_dot_options *in, hn_dot_options *o, hn_error *err) {
  *o = (hn_dot_options){.size = sizeof *o};
  if (!in) return HN_OK;
  if (in->size < sizeof(size_t) || in->size > sizeof *o)
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_to_dot: options->size is %zu; set it to sizeof(hn_dot_options) "
                     "(%zu in this library)",
                     in->size, sizeof *o);
  if (HAS_FIELD(in, depth)) o->depth = in->depth;
  if (HAS_FIELD(in, orientation)) o->orientation = in->orientation;
  if (HAS_FIELD(in, hide_types)) o->hide_types = in->hide_types;
  if (HAS_FIELD(in, provided)) o->n_provided = in->n_provided, o->provided = in->provided;
  if (HAS_FIELD(in, requested)) o->n_requested = in->n_requested, o->requested = in->requested;
  if (HAS_FIELD(in, inputs)) o->inputs = in->inputs;
  if (o->depth < 0)
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_to_dot: depth %d is negative (0 draws every level)", o->depth);
  if (o->orientation != HN_DOT_TB && o->orientation != HN_DOT_LR)
    return hn__error(err, HN_EINVAL, "hn_pipeline_to_dot: unknown orientation %d",
                     (int)o->orientation);
  if (o->n_provided < 0 || (o->n_provided > 0 && !o->provided) || o->n_requested < 0 ||
      (o->n_requested > 0 && !o->requested))
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_to_dot: a request list has a negative count or a NULL array");
  return HN_OK;
}

/* Compile the request's plan: provided names default to the run's inputs, else every root input. */
static hn_status compile_request(dot_ctx *c, hn_pipeline *p, hn_error *err) {
  const hn_dot_options *o = &c->o;
  int64_t n = o->n_provided;
  const char **names = (const char **)o->provided, **own = NULL;
  if (n == 0) {
    n = c->inputs ? c->inputs->n : p->n_root_inputs;
    own = hn__malloc(&p->alloc, sizeof *own * (size_t)n);
    if (!own) return hn__error_nomem(err, "for the request of a DOT drawing");
    for (int64_t i = 0; i < n; i++)
      own[i] = c->inputs ? c->inputs->items[i].name : p->root_inputs[i];
    names = own;
  }
  hn_error local;
  hn_error_reset(&local);
  hn_status st = hn__plan_get(p, n, names, o->n_requested, o->requested, &c->top_plan, &local);
  hn__free(&p->alloc, (void *)own);
  if (st != HN_OK) {
    hn__error(err, st, "hn_pipeline_to_dot: the request on pipeline '%s': %s", p->name,
              local.message);
    hn__error_set_node(err, local.node);
  }
  return st;
}

hn_status hn_pipeline_to_dot(hn_pipeline *pipeline, const hn_dot_options *options,
                             hn_dot_write_fn write, void *user_data, hn_error *err) {
  if (!pipeline || !write)
    return hn__error(err, HN_EINVAL, "hn_pipeline_to_dot: %s is NULL",
                     pipeline ? "the write function" : "the pipeline");
  dot_ctx c;
  hn_status st = read_options(options, &c.o, err);
  if (st != HN_OK) return st;
  c.inputs = c.o.inputs;
  c.planned = c.o.n_provided > 0 || c.o.n_requested > 0;
  c.top_plan = NULL;
  if (c.planned && (st = compile_request(&c, pipeline, err)) != HN_OK) return st;
  hn__dot_out_init(&c.out, write, user_data, err);
  emit_graph(&c, pipeline);
  return hn__dot_flush(&c.out);
}

/* ---- the string form ------------------------------------------------------------- */

/* What precedes the text of a string from hn_pipeline_to_dot_string. */
typedef union dot_head {
  struct {
    hn_allocator alloc;
    size_t len, cap; /* text bytes, and room for them (NUL excluded) */
    bool failed;     /* an allocation failed */
  } h;
  max_align_t align;
} dot_head;

static size_t string_write(void *user_data, const char *data, size_t n) {
  dot_head **hp = user_data, *h = *hp;
  if (h->h.len + n > h->h.cap) {
    size_t cap = h->h.cap * 2 > h->h.len + n ? h->h.cap * 2 : h->h.len + n;
    dot_head *bigger = hn__realloc(&h->h.alloc, h, sizeof *h + cap + 1);
    if (!bigger) {
      h->h.failed = true;
      return 0;
    }
    *hp = h = bigger;
    h->h.cap = cap;
  }
  memcpy((char *)(h + 1) + h->h.len, data, n);
  h->h.len += n;
  return n;
}

hn_status hn_pipeline_to_dot_string(hn_pipeline *pipeline, const hn_dot_options *options,
                                    char **out, size_t *out_len, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_pipeline_to_dot_string: out is NULL");
  *out = NULL;
  if (!pipeline)
    return hn__error(err, HN_EINVAL, "hn_pipeline_to_dot_string: the pipeline is NULL");
  size_t cap = 4096;
  dot_head *h = hn__malloc(&pipeline->alloc, sizeof *h + cap + 1);
  if (!h) return hn__error_nomem(err, "for the DOT text");
  h->h.alloc = pipeline->alloc;
  h->h.len = 0;
  h->h.cap = cap;
  h->h.failed = false;
  hn_status st = hn_pipeline_to_dot(pipeline, options, string_write, &h, err);
  if (st == HN_EIO && h->h.failed) st = hn__error_nomem(err, "for the DOT text");
  if (st != HN_OK) {
    hn__free(&h->h.alloc, h);
    return st;
  }
  char *text = (char *)(h + 1);
  text[h->h.len] = '\0';
  if (out_len) *out_len = h->h.len;
  *out = text;
  return HN_OK;
}

void hn_dot_string_free(char *dot) {
  if (!dot) return;
  dot_head *h = (dot_head *)dot - 1;
  hn_allocator a = h->h.alloc;
  hn__free(&a, h);
}
