/**
 * @file observe.h
 * Seeing what a pipeline does: pictures of its graph (DOT, for Graphviz),
 * and the entry point through which a shared library hands its pipelines
 * to `hypernodes viz --plugin`.
 *
 * Thread safety: drawing only reads the pipeline (a request compiles a plan,
 * which is internally locked), so several threads may draw or run the same
 * built pipeline at once; it must not be changed (add, bind, unbind) while a
 * drawing is in progress.
 */
#ifndef HYPERNODES_OBSERVE_H
#define HYPERNODES_OBSERVE_H

#include "engine.h"
#include "pipeline.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- DOT pictures --------------------------------------------------------- */

/** Direction of the flow in a picture (Graphviz's rankdir). */
typedef enum hn_dot_orientation {
  HN_DOT_TB = 0, /**< top to bottom (the default) */
  HN_DOT_LR = 1  /**< left to right */
} hn_dot_orientation;

/**
 * What to draw. Initialise with `hn_dot_options o = {.size = sizeof o};`:
 * every zero field is a default. More fields may be added at the end; a
 * caller built against an older header passes its smaller `size` and gets
 * the defaults for the rest.
 *
 * The request (`provided`, `requested`) draws the plan a run with those
 * inputs and outputs would use: the nodes it prunes, the values they would
 * have produced and the inputs it does not read are greyed, the requested
 * outputs are drawn with a thick border. It is on when n_provided or
 * n_requested is positive.
 */
typedef struct hn_dot_options {
  size_t size;                    /**< sizeof(hn_dot_options) */
  int depth;                      /**< pipeline levels drawn open: 0 = every level (default);
                                       1 = the top pipeline only, each nested pipeline one box;
                                       n = nested pipelines down to n - 1 levels as clusters,
                                       deeper ones as one box each */
  hn_dot_orientation orientation; /**< HN_DOT_TB (default) or HN_DOT_LR */
  bool hide_types;                /**< true: leave types out of the labels */
  int64_t n_provided;             /**< request: input names a run would give; 0 = the names
                                       set in `inputs` when given, else every root input
                                       (bound defaults count as given either way) */
  const char *const *provided;
  int64_t n_requested; /**< request: outputs asked for; 0 = every output */
  const char *const *requested;
  const hn_inputs *inputs; /**< optional (borrowed for the call): the inputs of a run;
                                resources set there are drawn as resources, single
                                values with a short rendering of the value */
} hn_dot_options;

/**
 * Receives the DOT text piece by piece, in order. Return `n` to go on; any
 * other value stops the drawing, which then returns HN_EIO.
 */
typedef size_t (*hn_dot_write_fn)(void *user_data, const char *data, size_t n);

/**
 * Draw `pipeline` as a Graphviz DOT digraph, handing the text to `write`.
 *
 * Drawn: the inputs (with the declared type of their consumers), bound
 * defaults (dashed, with their value), resources known from
 * `options->inputs`, every node, every output value with its type, and the
 * edges between them. A nested pipeline is a cluster (`subgraph
 * "cluster:<path>"`) holding its own inputs, nodes and outputs, with edges
 * from the outer values feeding it and to the outer outputs it gives; a
 * mapped one is labelled with its mapped inputs and map mode, and the edges
 * of mapped inputs say "map". Past `options->depth`, a nested pipeline is
 * one box. Node ids are `input:NAME`, `node:NAME` and `output:NAME`,
 * prefixed inside a nested pipeline by the path of nested node names
 * (`per_sentence/node:clean`). Names are escaped (quotes, backslashes,
 * newlines and other control characters), so any name gives valid DOT.
 *
 * `pipeline` is borrowed (not const: a request compiles and caches a plan
 * on it). `options` may be NULL (the defaults) and is only read during the
 * call. `write` is required and is called on the calling thread only.
 * Thread-safe as described at the top of this header.
 *
 * Returns HN_OK; HN_EINVAL (NULL pipeline or write, an options size below
 * sizeof(size_t) or above this library's, a negative depth, an unknown
 * orientation, a request whose plan cannot be compiled: missing inputs or
 * unknown outputs, named in the message); HN_ETYPE (a request joining
 * inputs of different declared types); HN_EIO (`write` stopped the
 * drawing); HN_ENOMEM. On failure part of the text may have been written.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_to_dot(hn_pipeline *pipeline,
                                                 const hn_dot_options *options,
                                                 hn_dot_write_fn write, void *user_data,
                                                 hn_error *err);

/**
 * Draw `pipeline` (see hn_pipeline_to_dot) into one NUL-terminated string.
 * On success *out owns the text, allocated with the pipeline's allocator;
 * give it back with hn_dot_string_free (not free()). `out_len` may be NULL;
 * else it receives the length without the NUL. On failure *out is NULL.
 * Same return codes as hn_pipeline_to_dot (HN_EINVAL also for a NULL
 * `out`), without HN_EIO.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_to_dot_string(hn_pipeline *pipeline,
                                                        const hn_dot_options *options, char **out,
                                                        size_t *out_len, hn_error *err);

/** Free a string from hn_pipeline_to_dot_string. NULL is a no-op. Thread-safe. */
HN_API void hn_dot_string_free(char *dot);

/* ---- pipelines from a shared library ---------------------------------------- */

/**
 * Receiver handed to a plugin's entry point: call it once per pipeline.
 * `name` (non-empty, distinct among the plugin's pipelines) is copied and
 * `pipeline` is retained, so the plugin keeps its own reference and
 * normally releases it after the call. Returns HN_OK, HN_EINVAL (NULL or
 * empty name, NULL pipeline, a name given twice) or HN_ENOMEM, filling err.
 */
typedef hn_status (*hn_pipeline_add_fn)(void *ctx, const char *name, hn_pipeline *pipeline,
                                        hn_error *err);

/** Name of the entry point looked up by `hypernodes viz --plugin` (dlsym). */
#define HN_PIPELINES_ENTRY_POINT "hypernodes_pipelines"

/** Type of the entry point, for a host that loads it with dlsym. */
typedef hn_status (*hn_pipelines_fn)(hn_pipeline_add_fn add, void *ctx, hn_error *err);

#if defined(__GNUC__)
#define HN_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define HN_PLUGIN_EXPORT
#endif

/**
 * The one function a shared library defines (the library does not) to
 * expose pipelines to `hypernodes viz --plugin libmine.so [NAME]`: build
 * each pipeline, hand it over with `add(ctx, name, pipeline, err)`, and
 * return HN_OK, or a failure status with `err` filled (it is never NULL
 * when the host is hypernodes viz). Pass on any failure of `add`. Called
 * once, on the loading thread; the host releases the pipelines before it
 * unloads the library. Link the library against libhypernodes (`-lhypernodes`)
 * and build it with `-fPIC -shared`; this declaration exports the symbol even
 * under `-fvisibility=hidden`. See docs/observability.md.
 */
HN_PLUGIN_EXPORT hn_status hypernodes_pipelines(hn_pipeline_add_fn add, void *ctx, hn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_OBSERVE_H */
