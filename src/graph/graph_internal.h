/*
 * Internal layout of pipelines and compiled plans: the contract between the
 * graph layer (src/graph: building, validation, plan compilation) and the
 * engines (src/exec). Not installed; symbols use hn__.
 */
#ifndef HN_GRAPH_INTERNAL_H
#define HN_GRAPH_INTERNAL_H

#include <pthread.h>

#include "../data/data_internal.h"
#include "hypernodes/pipeline.h"

/* A node of a pipeline: a plain node, or a nested pipeline (inner != NULL). */
typedef struct hn_gnode {
  char *name;
  int64_t n_inputs;
  char **inputs;               /* outer input names */
  const hn_type **input_types; /* per input: declared type or NULL (any); retained */
  int64_t n_outputs;
  char **outputs;               /* outer output names */
  const hn_type **output_types; /* retained; for a mapped nested node: list<inner type> */
  hn_row_fn row;
  hn_batch_fn batch;
  char *version;         /* NULL when none */
  hn_node_cache cache;   /* cache policy (hn_node_def.cache) */
  hn_node_policy policy; /* retries, timeout, concurrency, io (all zero: none) */
  void *user_data;
  void (*user_data_free)(void *user_data);
  /* Nested pipelines only (else NULL / 0): */
  hn_pipeline *inner;   /* retained */
  char **inner_inputs;  /* per outer input i: the inner root input it feeds */
  char **inner_outputs; /* per outer output j: the inner output it comes from */
  bool *mapped;         /* per outer input i: listed in map_over */
  int64_t n_map;        /* mapped outer inputs */
  int64_t *map_order;   /* their outer input indices, in map_over order */
  hn_map_mode map_mode;
} hn_gnode;

typedef struct hn_plan hn_plan;

struct hn_pipeline {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  char *name; /* "" when unnamed */
  int64_t n_nodes;
  hn_gnode **nodes; /* insertion order */
  /* Derived, recomputed after every change: */
  int64_t *order; /* node indices in execution order (topological, ties by name) */
  int64_t n_root_inputs;
  char **root_inputs; /* sorted; borrowed from nodes */
  int64_t n_outputs;
  char **outputs; /* in execution order; borrowed from nodes */
  /* Bound defaults: */
  int64_t n_bound;
  char **bound_names;
  hn_array **bound_values; /* retained */
  int64_t *bound_rows;
  /* Plan cache (guarded by lock; plans live until the pipeline changes or dies): */
  pthread_mutex_t lock;
  int64_t n_plans;
  hn_plan **plans;
  /*
   * Nested nodes (of other pipelines) holding this pipeline. While > 0 the
   * pipeline can no longer change: its parents' nodes and cached plans were
   * derived from it. (Added by the graph layer.)
   */
  _Atomic int64_t n_parents;
};

/*
 * One step of a plan: a node call. Slots hold values by index: slots
 * [0, n_inputs) are the plan's inputs, the rest are node outputs.
 */
typedef struct hn_plan_step {
  const hn_gnode *node;
  int64_t *in_slots;    /* node->n_inputs entries */
  int64_t *out_slots;   /* node->n_outputs entries */
  const hn_plan *inner; /* nested node: the inner pipeline's plan (inner names), else NULL */
  /* Nested node: per outer input i, the inner plan's input index it feeds (-1: unused). */
  int64_t *inner_input_index;
  /* Nested node: per outer output j, the inner plan's requested-output index (-1: unused). */
  int64_t *inner_output_index;
} hn_plan_step;

/*
 * A pipeline compiled for one set of provided input names and one list of
 * requested outputs: pruned to the ancestors of the requested outputs,
 * ordered, every name resolved to a slot. Immutable once built: engines may
 * share it between threads.
 */
struct hn_plan {
  const hn_pipeline *pipeline;
  int64_t n_slots;
  const char **slot_names;    /* borrowed from the pipeline's nodes */
  const hn_type **slot_types; /* node outputs: their type; inputs: declared type or NULL */
  int64_t n_inputs;           /* the inputs the plan uses, sorted by name */
  const char **input_names;   /* slot i (< n_inputs) is input_names[i] */
  /*
   * Per input: the bound default feeding it (borrowed from the pipeline;
   * plans are dropped when a binding changes) and its row, or NULL when the
   * caller gives the input (top level) or an outer input feeds it (inner
   * plan). Type-checked at compilation. Read with hn__plan_input_bound.
   */
  hn_array **input_bound;
  int64_t *input_bound_row;
  int64_t n_steps;
  hn_plan_step *steps; /* execution order */
  int64_t n_requested;
  int64_t *requested_slots; /* in the order requested */
  const char **requested_names;
  /* Cache key: */
  int64_t n_key_provided;
  char **key_provided; /* sorted copies */
  int64_t n_key_requested;
  char **key_requested; /* copies, in request order; 0 = "every output" */
  /* Creation stamp (hn__stamp_next), taken once the plan is fully built. */
  uint64_t stamp;
};

/*
 * Creation stamps: a process-wide counter, thread-safe. A plan (and a
 * resource, exec) takes hn__stamp_next() once it is fully built, so that
 * "was it made before that moment?" is a comparison with hn__stamp_now()
 * read then: a worker process of the processes engine can run a call only
 * when every object the call needs existed when the worker was forked.
 */
uint64_t hn__stamp_next(void); /* a new stamp, greater than every earlier one */
uint64_t hn__stamp_now(void);  /* the latest stamp given out so far (0: none yet) */

/*
 * Compile (or fetch from the cache) the plan for the input names the caller
 * gives (`provided`, any order; bound names need not be listed: an input
 * not given is fed by its bound default) and `requested` outputs
 * (n_requested 0: every node output not given, in pipeline output order).
 * A given name that a node produces overrides it (the producer and the
 * ancestors nothing else needs are pruned). The plan is owned by the
 * pipeline (borrowed; valid while the pipeline is alive and unchanged).
 * Thread-safe. Errors: HN_EINVAL naming the missing inputs and the required
 * set, the unknown outputs and the available ones, or a requested output
 * that is also given; HN_ETYPE for a bound default of the wrong type.
 */
hn_status hn__plan_get(hn_pipeline *pipeline, int64_t n_provided, const char *const *provided,
                       int64_t n_requested, const char *const *requested, const hn_plan **out,
                       hn_error *err);

/*
 * The bound default feeding input q of `plan`: its values (borrowed) with
 * *row set, or NULL when the caller gives input q (top-level plan) or an
 * outer input feeds it (inner plan of a nested node).
 */
static inline hn_array *hn__plan_input_bound(const hn_plan *plan, int64_t q, int64_t *row) {
  if (!plan->input_bound[q]) return NULL;
  *row = plan->input_bound_row[q];
  return plan->input_bound[q];
}

/* Index of a bound value by name, or -1. */
int64_t hn__pipeline_bound_index(const hn_pipeline *pipeline, const char *name);

/* ---- within the graph layer (pipeline.c, derive.c, nested.c, plan.c) ---- */

/* Drop every cached plan (plan.c): called whenever the pipeline changes or dies. */
void hn__pipeline_plans_clear(hn_pipeline *pipeline);

/* Free a node; user_data_free runs only for a node the pipeline owned (pipeline.c). */
void hn__gnode_free(const hn_allocator *a, hn_gnode *g, bool call_user_free);
/* Allocate a node's name and type arrays (entries NULL) for n_inputs / n_outputs. */
bool hn__gnode_alloc_arrays(const hn_allocator *a, hn_gnode *g);
/* HN_EINVAL (naming them) when the pipeline is nested and can no longer change. */
hn_status hn__pipeline_check_frozen(const hn_pipeline *p, const char *what, hn_error *err);
/* Add a built node, taking it on success (the caller frees it on failure). */
hn_status hn__pipeline_insert(hn_pipeline *p, hn_gnode *g, hn_error *err);

/* Names within one node: none twice, no input that is also an output (derive.c). */
hn_status hn__gnode_check_names(const hn_allocator *a, const hn_gnode *g, hn_error *err);

/* What is derived from a pipeline's nodes and bound names (see struct hn_pipeline). */
typedef struct hn__derived {
  int64_t *order;
  int64_t n_root_inputs;
  char **root_inputs;
  int64_t n_outputs;
  char **outputs;
} hn__derived;

/*
 * Validate the graph formed by `nodes` with the given bound names and
 * compute its derived data into *d (nothing on failure). Refuses a second
 * producer, a produced name that is bound, a type mismatch and a cycle.
 */
hn_status hn__derive(const hn_allocator *a, hn_gnode *const *nodes, int64_t n, char *const *bound,
                     int64_t n_bound, hn__derived *d, hn_error *err);
void hn__derived_free(const hn_allocator *a, hn__derived *d);
/* Replace the pipeline's derived data with *d (taken). */
void hn__derived_commit(hn_pipeline *p, hn__derived *d);

/*
 * Add nodes all or none (the table form): on failure the pipeline is left
 * as it was, no user_data_free is called, and *failed is the index of the
 * definition that failed (-1 when none in particular did).
 */
hn_status hn__pipeline_add_defs(hn_pipeline *p, int64_t n, const hn_node_def *defs, int64_t *failed,
                                hn_error *err);

/* A policy's values are in range; HN_EINVAL naming the node and the field otherwise. */
hn_status hn__policy_check(const char *node, const hn_node_policy *p, hn_error *err);

/* ---- spec strings (spec.c; also read by the engines for run options) ---- */

typedef enum hn__spec_kind {
  HN__SPEC_NAMES = 0,          /* "a, b" */
  HN__SPEC_TYPED = 1,          /* "a, b: int64": types optional */
  HN__SPEC_TYPES_REQUIRED = 2, /* "n: int64, s: utf8" */
  HN__SPEC_MAPPING = 3         /* "a=b, c" (c: c=c) */
} hn__spec_kind;

/* A parsed spec: names (owned copies), per name a type (held) or NULL, and mapping targets. */
typedef struct hn__spec {
  int64_t n;
  char **names;
  const hn_type **types;
  char **to; /* HN__SPEC_MAPPING: the name after '=' (owned), else NULL entries */
} hn__spec;

/*
 * Parse `text` (NULL or blank: no items) into *out, with types made with
 * `a`. `what` names the text in messages ("node 'clean': inputs"). Returns
 * HN_OK, HN_EINVAL (pointing at the offending character) or HN_ENOMEM; on
 * failure *out is empty.
 */
hn_status hn__spec_parse(const hn_allocator *a, const char *text, hn__spec_kind kind,
                         const char *what, hn__spec *out, hn_error *err);
void hn__spec_free(const hn_allocator *a, hn__spec *spec);

#endif /* HN_GRAPH_INTERNAL_H */
