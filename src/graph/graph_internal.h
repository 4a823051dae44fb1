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
  char **outputs;              /* outer output names */
  const hn_type **output_types; /* retained; for a mapped nested node: list<inner type> */
  hn_row_fn row;
  hn_batch_fn batch;
  char *version;               /* NULL when none */
  void *user_data;
  void (*user_data_free)(void *user_data);
  /* Nested pipelines only (else NULL / 0): */
  hn_pipeline *inner;          /* retained */
  char **inner_inputs;         /* per outer input i: the inner root input it feeds */
  char **inner_outputs;        /* per outer output j: the inner output it comes from */
  bool *mapped;                /* per outer input i: listed in map_over */
  int64_t n_map;               /* mapped outer inputs */
  int64_t *map_order;          /* their outer input indices, in map_over order */
  hn_map_mode map_mode;
} hn_gnode;

typedef struct hn_plan hn_plan;

struct hn_pipeline {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  char *name;                  /* "" when unnamed */
  int64_t n_nodes;
  hn_gnode **nodes;            /* insertion order */
  /* Derived, recomputed after every change: */
  int64_t *order;              /* node indices in execution order (topological, ties by name) */
  int64_t n_root_inputs;
  char **root_inputs;          /* sorted; borrowed from nodes */
  int64_t n_outputs;
  char **outputs;              /* in execution order; borrowed from nodes */
  /* Bound defaults: */
  int64_t n_bound;
  char **bound_names;
  hn_array **bound_values;     /* retained */
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
  const char **slot_names;     /* borrowed from the pipeline's nodes */
  const hn_type **slot_types;  /* node outputs: their type; inputs: declared type or NULL */
  int64_t n_inputs;            /* the provided inputs the plan uses, sorted by name */
  const char **input_names;    /* slot i (< n_inputs) is input_names[i] */
  int64_t n_steps;
  hn_plan_step *steps;         /* execution order */
  int64_t n_requested;
  int64_t *requested_slots;    /* in the order requested */
  const char **requested_names;
  /* Cache key: */
  int64_t n_key_provided;
  char **key_provided;         /* sorted copies */
  int64_t n_key_requested;
  char **key_requested;        /* copies, in request order; 0 = "every output" */
};

/*
 * Compile (or fetch from the cache) the plan for `provided` input names
 * (explicit inputs and bound names; any order) and `requested` outputs
 * (n_requested 0: every node output, in pipeline output order). The plan is
 * owned by the pipeline (borrowed; valid while the pipeline is alive and
 * unchanged). Thread-safe. Errors: HN_EINVAL naming the missing inputs and
 * the required set, or the unknown outputs and the available ones.
 */
hn_status hn__plan_get(hn_pipeline *pipeline, int64_t n_provided, const char *const *provided,
                       int64_t n_requested, const char *const *requested, const hn_plan **out,
                       hn_error *err);

/* Index of a bound value by name, or -1. */
int64_t hn__pipeline_bound_index(const hn_pipeline *pipeline, const char *name);

/* Drop the cached plans (plan.c): pipeline.c calls it whenever the pipeline changes or dies. */
void hn__pipeline_plans_clear(hn_pipeline *pipeline);

#endif /* HN_GRAPH_INTERNAL_H */
