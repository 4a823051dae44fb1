/**
 * @file observe.h
 * Seeing what a pipeline does: pictures of its graph (DOT, for Graphviz),
 * the entry point through which a shared library hands its pipelines to
 * `hypernodes viz --plugin`, and observers built on the timed events
 * (engine.h): a progress bar, a per-node profile and a Chrome trace, with a
 * chain to combine them with the caller's own callbacks.
 *
 * Thread safety: drawing only reads the pipeline (a request compiles a plan,
 * which is internally locked), so several threads may draw or run the same
 * built pipeline at once; it must not be changed (add, bind, unbind) while a
 * drawing is in progress. The observers' callbacks are thread-safe (engines
 * call them from worker threads, and several runs may share an observer);
 * their other functions are not, and must not run while a run or map they
 * observe is in progress, unless said otherwise.
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
 * Receives text piece by piece, in order. Return `n` to go on; any other
 * value stops the writing, which then returns HN_EIO.
 */
typedef size_t (*hn_write_fn)(void *user_data, const char *data, size_t n);

/**
 * A hn_write_fn for a stdio stream: `file` is a FILE * (fwrite). Pass it
 * with the stream as user data: `hn_profile_write(p, HN_PROFILE_TEXT,
 * hn_write_stdio, stdout, &err)`. A NULL file takes nothing (returns 0).
 * Thread-safe as fwrite is.
 */
HN_API size_t hn_write_stdio(void *file, const char *data, size_t n);

/** Receives the DOT text (hn_write_fn). */
typedef hn_write_fn hn_dot_write_fn;

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

/* ---- chaining callbacks ---------------------------------------------------------- */

/**
 * Several sets of callbacks as one: each event goes to every set that has a
 * callback for it, in the order the sets were added. A kind of event no set
 * observes stays unset in the chain's callbacks, so it still costs nothing.
 */
typedef struct hn_callback_chain hn_callback_chain;

/**
 * Create an empty chain. `alloc` may be NULL (libc). On success *out is
 * owned by the caller (hn_callback_chain_destroy), who keeps it alive for
 * every run or map given its callbacks. Returns HN_OK, HN_EINVAL (NULL
 * out) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_callback_chain_create(const hn_allocator *alloc,
                                                       hn_callback_chain **out, hn_error *err);
/** Free the chain. NULL is a no-op. The sets it holds are not the chain's to free. */
HN_API void hn_callback_chain_destroy(hn_callback_chain *chain);
/**
 * Add a set of callbacks (copied: the first `callbacks->size` bytes; its
 * user_data stays the caller's and must outlive the chain's use). Not
 * thread-safe; add every set before getting the chain's callbacks. Returns
 * HN_OK, HN_EINVAL (NULL argument, a size below that of the user_data
 * member) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_callback_chain_add(hn_callback_chain *chain,
                                                    const hn_callbacks *callbacks, hn_error *err);
/**
 * The chain's callbacks (user_data is the chain), copied into the first
 * `size` bytes of *out: pass sizeof *out. A NULL chain or out is a no-op
 * (a NULL chain gives nothing). Sets added later are not in what was
 * copied.
 */
HN_API void hn_callback_chain_get_callbacks(const hn_callback_chain *chain, hn_callbacks *out,
                                            size_t size);

/* ---- progress bar ----------------------------------------------------------------- */

/**
 * Progress options. Initialise with `{.size = sizeof o}`: every zero field
 * is a default. More fields may be added at the end.
 */
typedef struct hn_progress_options {
  size_t size;     /**< sizeof(hn_progress_options) */
  int fd;          /**< where to draw; 0: standard error (2) */
  bool always;     /**< draw even when fd is not a terminal (tests, logs) */
  double interval; /**< seconds between redraws; 0: 0.1 */
  int width;       /**< columns; 0: the terminal's width, else 80 */
} hn_progress_options;

/**
 * A progress bar on a terminal: one line per map with a bar, the items
 * done and their total, the rate and the time left; nested maps (a mapped
 * nested pipeline) as indented lines below it, whose total is estimated
 * from the outer items seen so far ("~"). Redrawn at most once per
 * interval, from whichever thread reports progress; the last drawing of a
 * map stays on the screen. Progress comes from chunk events (a few per
 * millisecond of work at most), so a bar costs almost nothing.
 */
typedef struct hn_progress hn_progress;

/**
 * Create a progress bar. `alloc` and `options` may be NULL (libc, the
 * defaults). When the descriptor is not a terminal (isatty) and `always`
 * is false, the bar is silent: its callbacks are all unset, so that
 * watching costs nothing. On success *out is owned by the caller
 * (hn_progress_destroy). Returns HN_OK, HN_EINVAL (NULL out, an options
 * size too small or too large, a negative fd, interval or width) or
 * HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_progress_create(const hn_allocator *alloc,
                                                 const hn_progress_options *options,
                                                 hn_progress **out, hn_error *err);
/** Free the bar (a map still drawn is ended with a newline). NULL is a no-op. */
HN_API void hn_progress_destroy(hn_progress *progress);
/**
 * The bar's callbacks (user_data is the bar), copied into the first `size`
 * bytes of *out: pass sizeof *out. Give them to runs and maps (or chain
 * them); the bar must outlive those calls. All unset for a silent bar or
 * a NULL progress; a NULL out is a no-op.
 */
HN_API void hn_progress_get_callbacks(hn_progress *progress, hn_callbacks *out, size_t size);
/** Whether the bar draws (false for a silent bar and for NULL). Thread-safe. */
HN_API bool hn_progress_active(const hn_progress *progress);

/* ---- profile ---------------------------------------------------------------------- */

/**
 * A per-node profile built from node end events: per engine, and per node
 * (pipeline, depth, name): calls, rows, total, mean, median (p50) and p99
 * time, and share, the node's total over the total of the engine's
 * top-level (depth 0) node calls (a nested pipeline's nodes are a part of
 * their nested node's share). Also per engine: top-level runs and maps,
 * their items and wall time, and the workers seen. It accumulates over
 * every call it observes until reset. Percentiles come from a histogram
 * with 32 buckets per power of two (within about 2%).
 */
typedef struct hn_profile hn_profile;

/** What hn_profile_write writes. */
typedef enum hn_profile_format {
  HN_PROFILE_TEXT = 0, /**< a table per engine, for people */
  HN_PROFILE_JSON = 1  /**< one JSON document (docs/observability.md) */
} hn_profile_format;

/**
 * Create an empty profile. `alloc` may be NULL (libc). On success *out is
 * owned by the caller (hn_profile_destroy). Returns HN_OK, HN_EINVAL
 * (NULL out) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_profile_create(const hn_allocator *alloc, hn_profile **out,
                                                hn_error *err);
/** Free the profile. NULL is a no-op. */
HN_API void hn_profile_destroy(hn_profile *profile);
/**
 * The profile's callbacks (user_data is the profile: node end and
 * top-level pipeline end events), copied into the first `size` bytes of
 * *out; as hn_progress_get_callbacks.
 */
HN_API void hn_profile_get_callbacks(hn_profile *profile, hn_callbacks *out, size_t size);
/** Forget everything recorded. NULL is a no-op. */
HN_API void hn_profile_reset(hn_profile *profile);
/**
 * Write the profile in `format` to `write` (called on the calling thread).
 * Returns HN_OK, HN_EINVAL (NULL profile or write, unknown format), HN_EIO
 * (write stopped) or HN_ENOMEM. A node that ran out of memory while being
 * recorded is counted in the output's "dropped" figure.
 */
HN_API HN_NODISCARD hn_status hn_profile_write(const hn_profile *profile, hn_profile_format format,
                                               hn_write_fn write, void *user_data, hn_error *err);

/**
 * One node of a profile, as hn_profile_node reads it out. Times in ns.
 * Strings are borrowed from the profile (valid until reset or destroy).
 */
typedef struct hn_profile_entry {
  size_t size; /**< sizeof(hn_profile_entry) */
  const char *engine, *pipeline, *node;
  int depth;
  int64_t calls, rows;
  int64_t total_ns, mean_ns, p50_ns, p99_ns;
  double share;
} hn_profile_entry;

/**
 * The number of (engine, pipeline, depth, node) entries recorded; 0 for
 * NULL (and when out of memory). It takes a snapshot of them (engines by
 * name, nodes by total time, largest first) that hn_profile_get_node
 * reads.
 */
HN_API int64_t hn_profile_num_nodes(const hn_profile *profile);
/**
 * Entry i (after hn_profile_num_nodes) into the first `size` bytes of
 * *out. Returns HN_OK, HN_EINVAL (NULL argument) or HN_ERANGE.
 */
HN_API HN_NODISCARD hn_status hn_profile_get_node(const hn_profile *profile, int64_t i,
                                                  hn_profile_entry *out, size_t size,
                                                  hn_error *err);

/* ---- trace ------------------------------------------------------------------------ */

/**
 * Trace options. Initialise with `{.size = sizeof o}`; more fields may be
 * added at the end.
 */
typedef struct hn_trace_options {
  size_t size;        /**< sizeof(hn_trace_options) */
  bool items;         /**< also write every item as a slice */
  int64_t max_events; /**< events kept; later ones are counted and dropped;
                           0: 1,000,000 (about 80 MB) */
} hn_trace_options;

/**
 * A recorder of the timed events that writes them as a Chrome trace-event
 * JSON file (open it in https://ui.perfetto.dev or chrome://tracing): one
 * process per worker process or rank, one track per thread (the calling
 * thread, and each worker thread), with runs, maps and nested pipelines,
 * chunks (morsels on columnar), node calls and, when asked, items as
 * nested slices, and failures as instant events.
 */
typedef struct hn_trace hn_trace;

/**
 * Create an empty trace. `alloc` and `options` may be NULL. On success
 * *out is owned by the caller (hn_trace_destroy). Returns HN_OK, HN_EINVAL
 * (NULL out, an options size too small or too large, negative max_events)
 * or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_trace_create(const hn_allocator *alloc,
                                              const hn_trace_options *options, hn_trace **out,
                                              hn_error *err);
/** Free the trace. NULL is a no-op. */
HN_API void hn_trace_destroy(hn_trace *trace);
/**
 * The trace's callbacks (user_data is the trace: the end events, item ends
 * only with `items`, and errors) into the first `size` bytes of *out; as
 * hn_progress_get_callbacks.
 */
HN_API void hn_trace_get_callbacks(hn_trace *trace, hn_callbacks *out, size_t size);
/** Forget every event recorded. NULL is a no-op. */
HN_API void hn_trace_reset(hn_trace *trace);
/** Events recorded so far (0 for NULL). Thread-safe. */
HN_API int64_t hn_trace_num_events(const hn_trace *trace);
/** Events dropped past max_events (0 for NULL). Thread-safe. */
HN_API int64_t hn_trace_num_dropped(const hn_trace *trace);
/**
 * Write the trace as Chrome trace-event JSON to `write` (on the calling
 * thread). Times are in microseconds from the first event recorded, with
 * nanosecond digits. Returns HN_OK, HN_EINVAL (NULL trace or write),
 * HN_EIO (write stopped) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_trace_write(const hn_trace *trace, hn_write_fn write,
                                             void *user_data, hn_error *err);
/**
 * Write the trace to the file at `path` (created or truncated; removed
 * again when writing fails). Returns as hn_trace_write, and HN_EIO when
 * the file cannot be written (the message says why).
 */
HN_API HN_NODISCARD hn_status hn_trace_write_file(const hn_trace *trace, const char *path,
                                                  hn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_OBSERVE_H */
