/**
 * @file pipeline.h
 * Nodes, pipelines and input values.
 *
 * A node is a function with named inputs and named, typed outputs. A pipeline
 * wires nodes by matching input names to output names; a pipeline can itself
 * become a node of a bigger pipeline, optionally mapped over list inputs.
 * Pipelines are checked as they are built: every hn_pipeline_add_* call
 * refuses, with a message naming the nodes involved, a second producer of a
 * name, a cycle, a producer/consumer type mismatch, or a mapping that names
 * nothing.
 *
 * Thread safety: building (add, bind, unbind) needs exclusive access. Once
 * built, a pipeline may be run or mapped from several threads at once (plan
 * compilation and caching are internally locked); the introspection
 * functions may be called from several threads while nothing builds.
 * A refused build call leaves the pipeline as it was, and usable.
 *
 * Running with a value for a name that a node produces overrides that
 * node: it and the ancestors nothing else needs are pruned
 * (docs/pipelines.md, "Overriding an intermediate").
 */
#ifndef HYPERNODES_PIPELINE_H
#define HYPERNODES_PIPELINE_H

#include "array.h"
#include "arena.h"
#include "builder.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hn_pipeline hn_pipeline;
/** Per-call context handed to node functions (see hn_ctx_* below). */
typedef struct hn_ctx hn_ctx;

/**
 * Row function: one item. `in[i]` is input i (views valid during the call).
 * Append exactly one value (or null) to each `out[j]`, the builder of output
 * j. Return HN_OK, or a failure (hn_ctx_fail sets the message); on failure
 * whatever was appended is rolled back by the engine.
 */
typedef hn_status (*hn_row_fn)(void *user_data, const hn_datum *in, hn_builder *const *out,
                               hn_ctx *ctx);

/** One argument of a batch function: a column, or a scalar broadcast to every row. */
typedef struct hn_batch_arg {
  const hn_array *array; /**< the column; for a scalar, row 0 holds the value */
  bool scalar;           /**< true: the same value for every row */
} hn_batch_arg;

/**
 * Batch function: `n_rows` items at once. Set out[j] to a new array of
 * exactly `n_rows` rows of output j's type (the engine takes the reference).
 * A failure fails every item of the batch (engines retry row by row when a
 * row function exists, to find the failing item).
 */
typedef hn_status (*hn_batch_fn)(void *user_data, const hn_batch_arg *in, int64_t n_rows,
                                 hn_array **out, hn_ctx *ctx);

/** Whether a node's results are cached, when the call has a cache (hn_run_options.cache). */
typedef enum hn_node_cache {
  HN_NODE_CACHE_DEFAULT = 0, /**< as the call says (hn_run_options.cache_nodes) */
  HN_NODE_CACHE_ON = 1,      /**< cached (unless its outputs hold objects: never cached) */
  HN_NODE_CACHE_OFF = 2      /**< never cached: it runs every time it is needed */
} hn_node_cache;

/**
 * Decides whether a failed attempt of a node call is retried (hn_node_policy.retry_if):
 * `user_data` is the node's, `status` and `message` are the attempt's failure,
 * `attempt` its number (1 for the first call). Called on the thread that ran
 * the attempt, possibly concurrently: it must be thread-safe.
 */
typedef bool (*hn_retry_fn)(void *user_data, hn_status status, const char *message, int attempt);

/** The bit of a status in hn_node_policy.retry_on: `HN_RETRY_ON(HN_EIO) |
 * HN_RETRY_ON(HN_ETIMEDOUT)`. */
#define HN_RETRY_ON(status) (1u << (unsigned)(status))

/**
 * How a node's calls run (docs/pipelines.md, "Retries, timeouts and
 * concurrency"). All zero: one attempt, no timeout, no limit, on the compute
 * workers (the node costs exactly what it did before). Write it as a spec
 * string with hn_node_policy_parse or hn_node_spec.policy.
 */
typedef struct hn_node_policy {
  int attempts;          /**< attempts at most, the first included; 0 or 1: no retry */
  double backoff;        /**< seconds to wait before the second attempt (0: at once) */
  double backoff_factor; /**< each further wait is this times the previous one; 0: 2 */
  double backoff_max;    /**< cap on one wait in seconds; 0: none */
  double jitter;         /**< 0..1: each wait is scaled by a random factor in [1 - jitter, 1] */
  /** Which failures retry: HN_RETRY_ON bits of statuses; 0: every failure but HN_ENOMEM,
   * HN_ECANCELLED and HN_ETIMEDOUT. Ignored when retry_if is set. */
  uint32_t retry_on;
  hn_retry_fn retry_if; /**< decides instead of retry_on when set */
  /** Seconds one attempt may run (0: none, or hn_run_options.node_timeout). Past it the
   * attempt fails with HN_ETIMEDOUT ("timed out after N s"); see hn_ctx_cancelled. */
  double timeout;
  int concurrency; /**< at most this many calls of the node at once in a map (per process); 0: no
                        limit (io: the I/O pool's size) */
  /** The node waits (network, disk, sleep) rather than computes: its calls run on the I/O
   * pool (hn_engine_options.io_workers threads), many items at once. */
  bool io;
} hn_node_policy;

/**
 * Read a policy written as a spec string into *out (zeroed first):
 * comma-separated `key=value` pairs among `attempts=3`, `backoff=0.1` (seconds),
 * `factor=2`, `max_backoff=5`, `jitter=0.25`, `retry_on=EIO|ETIMEDOUT` (status
 * names with or without "HN_"), `timeout=2.5` (seconds), `concurrency=8`, and
 * the flag `io` (or `io=64`: io with that concurrency). NULL or "" is the zero
 * policy. Returns HN_OK or HN_EINVAL (the message points at the offending key);
 * *out is unchanged on failure. Thread-safe.
 */
HN_API HN_NODISCARD hn_status hn_node_policy_parse(const char *spec, hn_node_policy *out,
                                                   hn_error *err);

/** A node's definition. Initialise with `hn_node_def def = {.size = sizeof def};` then fill. */
typedef struct hn_node_def {
  size_t size;      /**< sizeof(hn_node_def) */
  const char *name; /**< unique within the pipeline; required */
  int64_t n_inputs;
  const char *const *inputs;               /**< input names */
  const hn_type *const *input_types;       /**< NULL, or per input a type or NULL (any) */
  int64_t n_outputs;                       /**< at least 1 */
  const char *const *outputs;              /**< output names */
  const hn_type *const *output_types;      /**< required, one per output */
  hn_row_fn row;                           /**< row function, or NULL */
  hn_batch_fn batch;                       /**< batch function, or NULL (not both NULL) */
  const char *version;                     /**< code identity for caching, or NULL */
  void *user_data;                         /**< passed to the functions */
  void (*user_data_free)(void *user_data); /**< called once when the node goes, or NULL */
  /** Cache policy (a definition of an older, smaller size: DEFAULT). With a cache, `version`
   * is the node's identity: change it when the code changes (NULL counts as ""). */
  hn_node_cache cache;
  /** Retries, timeout, concurrency, I/O (a definition of an older, smaller size: none). */
  hn_node_policy policy;
} hn_node_def;

/** How the mapped inputs of a map or a nested node combine into items. */
typedef enum hn_map_mode {
  HN_MAP_ZIP = 0,    /**< item i takes row i of every mapped input (equal lengths) */
  HN_MAP_PRODUCT = 1 /**< every combination; the input last in map_over varies fastest */
} hn_map_mode;

/** A pipeline used as one node. Initialise with `hn_nested_def def = {.size = sizeof def};` then
 * fill. */
typedef struct hn_nested_def {
  size_t size;
  const char *name;        /**< node name in the outer pipeline; required */
  hn_pipeline *inner;      /**< retained by the outer pipeline */
  int64_t n_input_mapping; /**< renames outer -> inner; unnamed inputs keep their name */
  const char *const *input_outer;
  const char *const *input_inner;
  int64_t n_output_mapping; /**< renames inner -> outer; when > 0 only the outputs it
                                 names are visible outside, else every inner output is,
                                 under its inner name */
  const char *const *output_inner;
  const char *const *output_outer;
  int64_t n_map_over; /**< outer input names that are lists to map over (0: not mapped) */
  const char *const *map_over;
  hn_map_mode map_mode;
} hn_nested_def;

/**
 * Create an empty pipeline named `name` (copied; NULL: unnamed, ""). `alloc`
 * may be NULL (libc); nodes, plans and the types read from spec strings use it.
 * On success *out holds one reference (hn_pipeline_release). Returns HN_OK,
 * HN_EINVAL (NULL out) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_create(const hn_allocator *alloc, const char *name,
                                                 hn_pipeline **out, hn_error *err);
/** Add a reference; returns `pipeline`. Thread-safe. NULL is allowed. */
HN_API hn_pipeline *hn_pipeline_retain(hn_pipeline *pipeline);
/**
 * Drop a reference; frees the nodes (calling user_data_free) at zero. NULL
 * is a no-op. Thread-safe (the last reference must not be in use).
 */
HN_API void hn_pipeline_release(hn_pipeline *pipeline);

/**
 * Add a node. Names and types are copied/retained. On failure nothing is
 * added and `def->user_data_free` is NOT called (the caller still owns
 * user_data). Returns HN_OK, HN_EINVAL (bad definition, duplicate node name,
 * second producer, cycle), HN_ETYPE (type mismatch) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_add_node(hn_pipeline *pipeline, const hn_node_def *def,
                                                   hn_error *err);
/**
 * Add a nested pipeline as a node (see hn_nested_def); same errors as
 * add_node. From then on the inner pipeline is frozen: add, bind and unbind
 * on it return HN_EINVAL until every pipeline nesting it has been released.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_add_pipeline(hn_pipeline *pipeline,
                                                       const hn_nested_def *def, hn_error *err);

/* ---- one-call forms ------------------------------------------------------ */

/**
 * Add a row node in one call, its inputs and outputs written as spec
 * strings:
 *
 *     hn_pipeline_add(p, "tokenize", "cleaned", "tokens: list<utf8>", tokenize, &err);
 *
 * `inputs` lists the input names separated by commas, each optionally
 * followed by ": type" to declare its type ("a, b: int64"); NULL or "" for
 * none. `outputs` lists every output with its type ("q: int64, r: int64").
 * Types are type strings (hn_type_parse; object types need hn_node_def);
 * names are bare or quoted as in type strings. The strings are only read
 * during the call.
 *
 * This builds an hn_node_def and calls hn_pipeline_add_node: same checks,
 * same returns, plus HN_EINVAL for a malformed spec (the message gives the
 * offset and shows the spec with a caret under the offending character;
 * err->node is the node's name). On failure nothing is added.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_add(hn_pipeline *pipeline, const char *name,
                                              const char *inputs, const char *outputs,
                                              hn_row_fn row, hn_error *err);
/**
 * hn_pipeline_add with a batch function (`row` and `batch` may each be NULL,
 * not both) and user data passed to both. On success the pipeline owns
 * `user_data` and calls `user_data_free` (may be NULL) once when the node
 * goes; on failure nothing is added, `user_data_free` is not called and the
 * caller still owns `user_data`. Same returns as hn_pipeline_add.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_add_ex(hn_pipeline *pipeline, const char *name,
                                                 const char *inputs, const char *outputs,
                                                 hn_row_fn row, hn_batch_fn batch, void *user_data,
                                                 void (*user_data_free)(void *user_data),
                                                 hn_error *err);

/**
 * One entry of a node table (hn_pipeline_add_nodes): the arguments of
 * hn_pipeline_add_ex, plus a version. Write entries with HN_NODE (row
 * nodes) or designated initializers, which leave the other members zero:
 *
 *     static const hn_node_spec nodes[] = {
 *         HN_NODE("clean", "text", "cleaned: utf8", clean),
 *         HN_NODE("tokenize", "cleaned", "tokens: list<utf8>", tokenize),
 *         {.name = "embed", .inputs = "tokens, model", .outputs = "v: list<float32>",
 *          .batch = embed_batch, .version = "2"},
 *     };
 *
 * (Positional initializers that leave members out draw
 * -Wmissing-field-initializers under -Wextra.) More members may be added at
 * the end; tables pass their entry size (HN_NODE_SPECS), so older tables
 * keep working.
 */
typedef struct hn_node_spec {
  const char *name;    /**< unique within the pipeline; required */
  const char *inputs;  /**< "a, b: int64" (types optional), NULL or "" for none */
  const char *outputs; /**< "n: int64, s: utf8" (types required) */
  hn_row_fn row;       /**< row function, or NULL */
  hn_batch_fn batch;   /**< batch function, or NULL (not both NULL) */
  void *user_data;     /**< passed to the functions */
  void (*user_data_free)(void *user_data); /**< called once when the node goes, or NULL */
  const char *version;                     /**< code identity for caching, or NULL */
  hn_node_cache cache;                     /**< cache policy (hn_node_def.cache) */
  /** Retries, timeout, concurrency as a spec string (hn_node_policy_parse), or NULL:
   * `"attempts=3, backoff=0.05, timeout=2"`, `"io, concurrency=64"`. */
  const char *policy;
} hn_node_spec;

/** A node table entry for a row node (the other members zero). */
#define HN_NODE(name_, inputs_, outputs_, row_) \
  { .name = (name_), .inputs = (inputs_), .outputs = (outputs_), .row = (row_) }

/** The arguments `specs, n_specs, spec_size` of hn_pipeline_add_nodes for an array. */
#define HN_NODE_SPECS(array) \
  (array), (int64_t)(sizeof(array) / sizeof((array)[0])), sizeof((array)[0])

/**
 * Add a table of nodes in one call, all or none:
 * `hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err)`. `spec_size` is
 * sizeof(hn_node_spec) as the caller compiled it. Entries are checked and
 * added in order; on failure the pipeline is left as it was (no node of the
 * table is added, no user_data_free is called) and the message starts with
 * "node spec K of N: ". Same returns as hn_pipeline_add.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_add_nodes(hn_pipeline *pipeline,
                                                    const hn_node_spec *specs, int64_t n_specs,
                                                    size_t spec_size, hn_error *err);

/* ---- nodes from a shared library --------------------------------------------- */

#ifndef HN_PLUGIN_EXPORT
#if defined(__GNUC__)
#define HN_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define HN_PLUGIN_EXPORT
#endif
#endif

/**
 * Receiver handed to a node library's entry point (hypernodes_nodes): call
 * it once per node, with `spec_size` = sizeof(hn_node_spec) as the library
 * compiled it. The spec's strings are copied. On HN_OK the host owns
 * `spec->user_data` and calls `spec->user_data_free` (may be NULL) once,
 * when no pipeline of the host uses the node any more; on failure the
 * library still owns it. Returns HN_OK, HN_EINVAL (NULL or short spec,
 * missing name, inputs or outputs that do not parse, neither function, a
 * name given twice) or HN_ENOMEM, filling err.
 */
typedef hn_status (*hn_node_add_fn)(void *ctx, const hn_node_spec *spec, size_t spec_size,
                                    hn_error *err);

/** Name of the entry point a host looks up in a node library (dlsym). */
#define HN_NODES_ENTRY_POINT "hypernodes_nodes"

/** Type of the entry point, for a host that loads it with dlsym. */
typedef hn_status (*hn_nodes_fn)(hn_node_add_fn add, void *ctx, hn_error *err);

/**
 * The one function a shared library defines (the library hypernodes does
 * not) to hand C nodes to a host that builds pipelines out of them: the
 * Python package's `hypernodes_c.load_nodes("libmine.so")` (docs/python.md).
 * Call `add(ctx, &spec, sizeof spec, err)` once per node (the same
 * hn_node_spec a node table holds: name, inputs and outputs as spec
 * strings, row and/or batch function, user data with its destructor,
 * version, cache policy), pass on any failure of `add`, and return HN_OK,
 * or a failure status with `err` filled. Called once per load, on the
 * loading thread. The functions must be thread-safe when the host runs
 * them on several workers (threads, columnar). Link the library against
 * libhypernodes (`-lhypernodes`) and build it with `-fPIC -shared`; this
 * declaration exports the symbol even under `-fvisibility=hidden`.
 */
HN_PLUGIN_EXPORT hn_status hypernodes_nodes(hn_node_add_fn add, void *ctx, hn_error *err);

/**
 * Add a nested pipeline in one call (see hn_nested_def):
 *
 *     hn_pipeline_add_nested(doc, "per_sentence", sentence, "sentences=text",
 *                            "n_tokens=lengths", "sentences", HN_MAP_ZIP, &err);
 *
 * `input_mapping` lists "outer=inner" renames, `output_mapping`
 * "inner=outer" renames (data flows left to right in both; a name alone
 * keeps its name: "y" is "y=y"); an output mapping exposes only the outputs
 * it lists. `map_over` lists outer input names to map over ("" or NULL: not
 * mapped). Same returns as hn_pipeline_add_pipeline, plus HN_EINVAL for a
 * malformed string (offset and caret in the message).
 */
HN_API HN_NODISCARD hn_status hn_pipeline_add_nested(hn_pipeline *pipeline, const char *name,
                                                     hn_pipeline *inner, const char *input_mapping,
                                                     const char *output_mapping,
                                                     const char *map_over, hn_map_mode map_mode,
                                                     hn_error *err);

/**
 * Bind a default value for input `name` (copied): row `row` of `values`
 * (retained). Explicit inputs given to run/map override it; binding a name
 * again replaces the value. Its type is checked against the consumers'
 * declared types when a run or map is planned. Returns HN_OK, HN_EINVAL
 * (NULL or empty argument, a name a node produces, a nested (frozen)
 * pipeline), HN_ERANGE (a bad row) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_bind(hn_pipeline *pipeline, const char *name,
                                               hn_array *values, int64_t row, hn_error *err);
/**
 * Remove a bound value. Returns HN_OK, HN_ENOTFOUND (none is bound under
 * that name), HN_EINVAL (NULL argument, a nested (frozen) pipeline) or
 * HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_unbind(hn_pipeline *pipeline, const char *name,
                                                 hn_error *err);

/** The pipeline's name (borrowed; "" when unnamed), or NULL for NULL. */
HN_API const char *hn_pipeline_name(const hn_pipeline *pipeline);
/** Number of nodes, nested ones included (0 for NULL). */
HN_API int64_t hn_pipeline_num_nodes(const hn_pipeline *pipeline);
/**
 * Inputs that no node produces and nothing is bound to, sorted by name.
 * Borrowed; valid until the pipeline changes.
 */
HN_API int64_t hn_pipeline_num_root_inputs(const hn_pipeline *pipeline);
/** Root input i (borrowed, see above), or NULL when out of range. */
HN_API const char *hn_pipeline_root_input(const hn_pipeline *pipeline, int64_t i);
/**
 * Every output a node produces (visible outside: a nested node exposes
 * what its output mapping lists), in execution order then declaration
 * order. 0 for NULL.
 */
HN_API int64_t hn_pipeline_num_outputs(const hn_pipeline *pipeline);
/** Output i (borrowed; valid until the pipeline changes), or NULL when out of range. */
HN_API const char *hn_pipeline_output(const hn_pipeline *pipeline, int64_t i);
/** Type of a produced output (borrowed, held by the pipeline), or NULL when no node produces
 * `name`. */
HN_API const hn_type *hn_pipeline_output_type(const hn_pipeline *pipeline, const char *name);
/**
 * Name of node i in execution order (borrowed; valid until the pipeline
 * changes), or NULL when out of range: topological, ties broken by node
 * name, so the order never depends on insertion order.
 */
HN_API const char *hn_pipeline_execution_order(const hn_pipeline *pipeline, int64_t i);

/* ---- per-call context ---------------------------------------------------- */

/**
 * Record a failure message (printf-style) for the current call and return
 * HN_ENODE, so that a node function can `return hn_ctx_fail(ctx, "...")`.
 */
HN_API hn_status hn_ctx_fail(hn_ctx *ctx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/**
 * Scratch arena of the current worker, reset after every item (row) or
 * batch: memory from it is valid until the node function returns. Never
 * NULL inside a node function. Only for the calling worker's thread.
 */
HN_API hn_arena *hn_ctx_arena(hn_ctx *ctx);
/** Index of the worker running the call (0 .. hn_engine_workers - 1). */
HN_API int hn_ctx_worker(const hn_ctx *ctx);
/**
 * The deadline of the current attempt, in seconds of CLOCK_MONOTONIC (as
 * clock_gettime gives them), or INFINITY when it has none (no timeout on the
 * node or the run; also for NULL). A node that waits should wait no later than this.
 */
HN_API double hn_ctx_deadline(const hn_ctx *ctx);
/**
 * True once the current attempt should stop: its deadline passed, or the run
 * or map was cancelled or ran out of time. The node should then return soon
 * (any status: the engine reports the timeout or cancellation itself). A node
 * that ignores it is waited for HN_TIMEOUT_GRACE seconds, then abandoned
 * (docs/pipelines.md). Cheap (atomic loads and, with a deadline, a clock read);
 * callable from any thread the node starts.
 */
HN_API bool hn_ctx_cancelled(const hn_ctx *ctx);
/** The number of the current attempt: 1 for the first call, 2 for the first retry, ...
 * (0 for NULL). */
HN_API int hn_ctx_attempt(const hn_ctx *ctx);

/** Seconds a node call past its deadline is waited for before it is abandoned. */
#define HN_TIMEOUT_GRACE 0.1

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_PIPELINE_H */
