/**
 * @file engine.h
 * Inputs, resources, engines, run and map, results and callbacks.
 *
 * The same pipeline and inputs give the same results on every engine.
 * Engines: `sequential` (item-major, one thread), `threads` (items cut
 * into chunks over a pool of worker threads), `columnar` (morsels of rows run
 * node by node over the pool), `processes` (batches of items in forked worker
 * processes: a crash fails only its item; docs/pipelines.md) and `mpi`
 * (chunks of items over MPI ranks; docs/distributed.md).
 *
 * Thread safety: inputs are not thread-safe (build them on one thread; a
 * run or map only reads them). An engine serves one run or map at a time.
 * Results and rows are read-only once returned and may be read from any
 * thread. After a failed call, the objects it was given (pipeline, inputs,
 * engine) are unchanged and usable, unless a function says otherwise.
 */
#ifndef HYPERNODES_ENGINE_H
#define HYPERNODES_ENGINE_H

#include "arrow_abi.h"
#include "cache.h"
#include "pipeline.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- inputs ------------------------------------------------------------- */

/** Named input values for one run or map. Not thread-safe; reusable. */
typedef struct hn_inputs hn_inputs;

/**
 * A resource: a value whose heavy state is built once per worker by `init`
 * and freed by `destroy` at the end of the run or map (also on error).
 * Nodes receive it as an object datum whose pointer is the state.
 */
typedef struct hn_resource_def {
  size_t size;                                                  /**< sizeof(hn_resource_def) */
  const char *name;                                             /**< used in messages; required */
  hn_status (*init)(void *config, void **state, hn_error *err); /**< required */
  void (*destroy)(void *config, void *state);                   /**< required */
  void *config;                                                 /**< passed to init and destroy */
  void (*config_free)(void *config); /**< called when the last holder goes, or NULL */
  /**
   * The identity of what init builds from config (copied), or NULL. With a
   * cache, a node reading a resource is cached only when the resource has a
   * version: it stands for the resource in the node's key (change it when the
   * config or the code changes). A definition of an older size: NULL.
   */
  const char *version;
} hn_resource_def;

/**
 * Create an empty set of named inputs. `alloc` may be NULL (libc); it is
 * used for what the inputs make (scalar arrays, names). On success *out
 * is owned by the caller (hn_inputs_destroy). The same inputs may be given
 * to any number of runs and maps. Returns HN_OK, HN_EINVAL (NULL out) or
 * HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_inputs_create(const hn_allocator *alloc, hn_inputs **out,
                                               hn_error *err);
/** Free the inputs and release what they hold. NULL is a no-op. */
HN_API void hn_inputs_destroy(hn_inputs *inputs);
/**
 * Set `name` to a column of values (retained): each row is one value. Used
 * by map for the inputs named in map_over; an unmapped column is passed to
 * every item as one list<T> value. Setting a name again replaces it (for
 * every setter below). `name` is copied.
 *
 * The setters return HN_OK, HN_EINVAL (NULL inputs, NULL or empty name,
 * NULL values, a row out of range: HN_ERANGE) or HN_ENOMEM; on failure the
 * inputs are unchanged. Names no node consumes are accepted and ignored by
 * run and map; a name a node produces overrides that node (pipeline.h).
 */
HN_API HN_NODISCARD hn_status hn_inputs_set_column(hn_inputs *inputs, const char *name,
                                                   hn_array *column, hn_error *err);
/** Set `name` to one value: row `row` of `values` (retained; HN_ERANGE for a bad row). */
HN_API HN_NODISCARD hn_status hn_inputs_set_value(hn_inputs *inputs, const char *name,
                                                  hn_array *values, int64_t row, hn_error *err);
/** Set `name` to one int64 value (copied into a one-row array). */
HN_API HN_NODISCARD hn_status hn_inputs_set_int64(hn_inputs *inputs, const char *name,
                                                  int64_t value, hn_error *err);
/** Set `name` to one float64 value (copied into a one-row array). */
HN_API HN_NODISCARD hn_status hn_inputs_set_float64(hn_inputs *inputs, const char *name,
                                                    double value, hn_error *err);
/** Set `name` to one bool value (copied into a one-row array). */
HN_API HN_NODISCARD hn_status hn_inputs_set_bool(hn_inputs *inputs, const char *name, bool value,
                                                 hn_error *err);
/**
 * Set `name` to one utf8 value: the `size` bytes at `value`, copied. A
 * negative `size` means strlen(value). `value` may be NULL only when size
 * is 0 (the empty string). UTF-8 is not checked.
 */
HN_API HN_NODISCARD hn_status hn_inputs_set_str(hn_inputs *inputs, const char *name,
                                                const char *value, int64_t size, hn_error *err);
/**
 * Set `name` to a utf8 column of `n` C strings (copied; a NULL entry is a
 * null row), as hn_inputs_set_column would with an array built from them.
 * `values` may be NULL when n is 0. Returns HN_OK, HN_EINVAL (NULL inputs or
 * name, n < 0, NULL values), HN_ERANGE (more than INT32_MAX bytes) or
 * HN_ENOMEM; on failure the inputs are unchanged.
 */
HN_API HN_NODISCARD hn_status hn_inputs_set_strings(hn_inputs *inputs, const char *name, int64_t n,
                                                    const char *const *values, hn_error *err);
/**
 * Bind `name` to a resource. The definition is copied; on success the
 * inputs own `def->config` (config_free runs when the last holder goes),
 * on failure the caller still owns it (config_free is not called). Returns
 * HN_OK, HN_EINVAL (NULL or empty name, bad definition: missing name, init
 * or destroy, size too small) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_inputs_set_resource(hn_inputs *inputs, const char *name,
                                                     const hn_resource_def *def, hn_error *err);

/* ---- engines ------------------------------------------------------------ */

/** The engines (docs/pipelines.md). */
typedef enum hn_engine_kind {
  HN_ENGINE_SEQUENTIAL = 0,
  HN_ENGINE_THREADS = 1,
  HN_ENGINE_COLUMNAR = 2,
  HN_ENGINE_PROCESSES = 3,
  HN_ENGINE_MPI = 4
} hn_engine_kind;

/** Engine options. Initialise with `{.size = sizeof opts}`; more fields may be added. */
typedef struct hn_engine_options {
  size_t size; /**< sizeof(hn_engine_options) */
  hn_engine_kind kind;
  int workers;          /**< threads, columnar, processes: 0 = one per core */
  int64_t chunk_size;   /**< items per chunk; 0 = automatic (aims at 10-100 us per chunk).
                             Columnar: rows per morsel; 0 = 65536.
                             Processes: items per batch; 0 = automatic */
  double item_timeout;  /**< processes: seconds one item may run before its worker
                             process is killed and the item fails ("timed out after
                             N s"); 0 = no limit */
  double chunk_timeout; /**< mpi: seconds a chunk may stay on a worker rank; past it
                             rank 0 logs rank, chunk and item range and calls
                             MPI_Abort with HN_MPI_ABORT_TIMEOUT; 0 = no limit */
  /** Threads of the I/O pool that runs the calls of io nodes and of nodes with a timeout
   * (per run or map, per process or rank; started as needed): 0 = 64. */
  int io_workers;
} hn_engine_options;

/** Exit code of an mpi job aborted by chunk_timeout (MPI_Abort's error code). */
#define HN_MPI_ABORT_TIMEOUT 124

/** An engine: its workers (threads, processes or ranks) and per-worker state, reused across calls.
 */
typedef struct hn_engine hn_engine;

/**
 * Static name of an engine kind ("sequential", "threads", "columnar",
 * "processes", "mpi"; "unknown" for a value out of range), as accepted by
 * hn_engine_kind_from_name. Never NULL. Thread-safe.
 */
HN_API const char *hn_engine_kind_name(hn_engine_kind kind);
/**
 * The engine kind named `name` (as hn_engine_kind_name spells it) into
 * *out. Returns HN_OK or HN_EINVAL (NULL argument, unknown name: the
 * message lists the names); *out is unchanged on failure. Thread-safe.
 */
HN_API HN_NODISCARD hn_status hn_engine_kind_from_name(const char *name, hn_engine_kind *out,
                                                       hn_error *err);
/**
 * Create an engine; `options` may be NULL (sequential). `alloc` may be NULL
 * (libc). On success *out is owned by the caller (hn_engine_destroy).
 * Returns HN_OK, HN_EINVAL (bad options: size, kind, workers,
 * chunk_size, timeouts), HN_EUNSUPPORTED (an engine kind this build lacks,
 * such as mpi without its plugin: the message says what is missing) or
 * HN_ENOMEM.
 *
 * An engine serves one run/map at a time: a call made while another is in
 * progress on the same engine returns HN_EINVAL. Use one engine per thread
 * that maps concurrently. A run or map that fails leaves the engine usable.
 *
 * On mpi, creation is collective: every rank of MPI_COMM_WORLD must create
 * its engine (they agree on the ranks, and MPI is initialised here unless
 * the application did it), and later calls on it are collective too.
 */
HN_API HN_NODISCARD hn_status hn_engine_create(const hn_allocator *alloc,
                                               const hn_engine_options *options, hn_engine **out,
                                               hn_error *err);
/**
 * Stop the workers and free the engine. NULL is a no-op. On mpi it is
 * collective: every rank destroys its engine (MPI itself is finalised at
 * process exit when the engine initialised it).
 */
HN_API void hn_engine_destroy(hn_engine *engine);
/** The engine's kind; HN_ENGINE_SEQUENTIAL for NULL. Thread-safe. */
HN_API hn_engine_kind hn_engine_kind_of(const hn_engine *engine);
/**
 * Workers the engine runs items on: threads (threads, columnar), worker
 * processes (processes), worker threads per rank (mpi), 1 for sequential
 * and for NULL. Thread-safe.
 */
HN_API int hn_engine_workers(const hn_engine *engine);
/**
 * This process's rank and the number of ranks: 0 and 1 except on the mpi
 * engine. On mpi, run and map are collective (every rank calls them, in the
 * same order, with the same pipeline); rank 0 gets the results, the other
 * ranks serve the items and get a result with no rows (same status).
 */
HN_API int hn_engine_rank(const hn_engine *engine);
/** The number of ranks (see hn_engine_rank): 1 except on the mpi engine. Thread-safe. */
HN_API int hn_engine_ranks(const hn_engine *engine);

/* ---- callbacks ---------------------------------------------------------- */

/**
 * What an event is about. Strings are borrowed for the duration of the
 * callback. An event fires when something starts (`on_*_start`), ends
 * (`on_*_end`) or fails (`on_error`):
 *
 *  - pipeline: a run or map of the top pipeline (depth 0, on the calling
 *    thread), or one execution of a nested pipeline (depth >= 1: once per
 *    outer item on the item engines, once per morsel on columnar);
 *  - map: a map of the top pipeline (depth 0), or the map of a nested
 *    pipeline over a list (depth >= 1, inside its pipeline events);
 *  - chunk: consecutive items of one map run back to back by one worker:
 *    a piece of a scheduling chunk (sequential, threads and inside a
 *    worker process or rank; pieces grow to about a millisecond of work
 *    each), a morsel (columnar), or a nested map's items;
 *  - item: one item of a map (columnar: the items of a morsel run
 *    together, and each carries the morsel's time);
 *  - node: one call of a node (columnar: one call over a morsel's rows).
 *
 * Times are CLOCK_MONOTONIC nanoseconds (the same clock in the calling
 * process and in worker processes on the same machine; ranks on other
 * hosts use their host's clock). They are read only when a callback of
 * that kind (its start or its end) is set.
 */
typedef struct hn_event {
  const char *pipeline;  /**< pipeline name ("" when unnamed) */
  const char *node;      /**< node name, or NULL */
  int64_t item;          /**< item index in its map (chunk events: the first item),
                              -1 when not about an item */
  const char *item_path; /**< "7" or "7/3" for nested items, or NULL */
  int depth;             /**< 0 for the top pipeline, 1 inside a nested node, ... */
  int64_t n_items;       /**< map and pipeline events: items the map or pipeline runs;
                              chunk events: items in the chunk */
  int64_t n_rows;        /**< node events: rows processed by the call (1 for a row call);
                              nested pipeline and map events: the outer rows they run
                              for (1 on the item engines; a morsel's rows on columnar) */
  hn_status status;      /**< end and error events: outcome */
  const char *message;   /**< error events: the failure message */
  int worker;            /**< worker index running the call: a thread (sequential,
                              threads, columnar, mpi on one rank), a worker process
                              (processes), a serving rank - 1 (mpi) */
  /* Added with timed events. */
  int64_t start_ns;    /**< when it started (CLOCK_MONOTONIC, ns): start events: now;
                            end events: the start of what ended; error events: when
                            the failure was recorded */
  int64_t duration_ns; /**< end events: how long it ran, in ns (columnar items: their
                            morsel's); 0 for start and error events */
  int thread;          /**< the worker thread that ran it: its index in its process's
                            pool (0 on sequential and inside a processes worker);
                            -1 for the top-level events on the calling thread */
  int process;         /**< processes engine: the index of the worker process that ran
                            it (a replacement takes its predecessor's index); -1 for
                            everything run in the calling process */
  int rank;            /**< mpi engine: the rank that ran it; 0 elsewhere */
  const char *engine;  /**< the engine's name ("threads"), static */
  /* Added with node policies. */
  int attempt; /**< node events and on_retry of a node with a policy (hn_node_policy):
                    the attempt (1, 2, ...); 0 for other events */
} hn_event;

/** An observer: `user_data` is hn_callbacks.user_data; `event` is borrowed for the call. */
typedef void (*hn_callback)(void *user_data, const hn_event *event);

/**
 * Observers. Any member may be NULL; an unset callback costs nothing (no
 * clock is read for a kind of event whose start and end callbacks are
 * both unset). Node, item, chunk and nested pipeline and map callbacks run
 * on worker threads, possibly concurrently: they must be thread-safe. Map
 * and pipeline callbacks of the top level run on the calling thread, and
 * so does every callback of the processes and mpi engines (their events are
 * recorded in the workers and replayed on the calling thread as each batch
 * comes back). Each event fires exactly once. More members may be added at
 * the end: `size` says which ones the caller has.
 */
typedef struct hn_callbacks {
  size_t size; /**< sizeof(hn_callbacks) */
  void *user_data;
  hn_callback on_pipeline_start, on_pipeline_end;
  hn_callback on_map_start, on_map_end;
  hn_callback on_item_start, on_item_end;
  hn_callback on_node_start, on_node_end;
  hn_callback on_error;
  /**
   * With a cache (hn_run_options.cache), on the calling thread: for each node,
   * the items whose result was found (on_cache_hit), had to be computed
   * (on_cache_miss; also when a stored value was found corrupt and dropped,
   * or when the node cannot be cached, with `message` saying why) and was
   * written (on_cache_write). `node` names the node, `n_rows` counts items,
   * `item` is -1.
   */
  hn_callback on_cache_hit, on_cache_miss, on_cache_write;
  hn_callback on_chunk_start, on_chunk_end; /**< added with timed events */
  /**
   * A node call's attempt failed and will be retried (hn_node_policy):
   * `node`, `item`, `status` and `message` of the failed attempt, `attempt`
   * its number. Fires where node events fire, before the retry's node_start.
   */
  hn_callback on_retry;
} hn_callbacks;

/* ---- cancellation ------------------------------------------------------- */

/**
 * A cancellation token (hn_run_options.cancel): request it from any thread,
 * or from a signal handler, and the runs and maps given it stop promptly and
 * return HN_ECANCELLED. One token may serve any number of calls.
 */
typedef struct hn_cancel hn_cancel;

/** Create a token, not requested. Returns HN_OK, HN_EINVAL (NULL out) or HN_ENOMEM. */
HN_API HN_NODISCARD hn_status hn_cancel_create(hn_cancel **out, hn_error *err);
/** Free a token no call is using. NULL is a no-op. */
HN_API void hn_cancel_destroy(hn_cancel *cancel);
/**
 * Request cancellation: one atomic store, so it is thread-safe and
 * async-signal-safe (call it from a SIGINT handler). NULL is a no-op.
 */
HN_API void hn_cancel_request(hn_cancel *cancel);
/** Whether cancellation was requested (false for NULL). Thread-safe, async-signal-safe. */
HN_API bool hn_cancel_requested(const hn_cancel *cancel);
/** Clear the request, so that the token can serve new calls. NULL is a no-op. */
HN_API void hn_cancel_reset(hn_cancel *cancel);

/* ---- run and map ---------------------------------------------------------- */

/** What a map does when a node fails on an item. */
typedef enum hn_error_policy {
  HN_ERRORS_RAISE = 0,   /**< the first failing item stops the map and is reported */
  HN_ERRORS_CONTINUE = 1 /**< a failed node gives nulls (and so do the nodes downstream of it)
                              for that item, plus an error record; independent outputs are kept */
} hn_error_policy;

/**
 * Options of a run or map. Initialise with `{.size = sizeof opts}`; more
 * fields may be added. Everything it points to is read during the call only.
 */
typedef struct hn_run_options {
  size_t size;       /**< sizeof(hn_run_options) */
  int64_t n_outputs; /**< requested outputs; 0 = every node output not given */
  const char *const *outputs;
  int64_t n_map_over; /**< map only: inputs to map over (columns), in this order */
  const char *const *map_over;
  hn_map_mode map_mode; /**< product: the input last in map_over varies fastest */
  hn_error_policy error_policy;
  const hn_callbacks *callbacks; /**< NULL: none */
  /**
   * Short forms of `outputs` and `map_over`: names separated by commas
   * ("n_tokens, tokens"; read during the call only). NULL: unused. Setting
   * a short form and its list both is HN_EINVAL; a malformed one is
   * HN_EINVAL pointing at the offending character.
   */
  const char *outputs_spec;
  const char *map_over_spec;
  /**
   * A cache of node results (cache.h; borrowed for the call), or NULL. The
   * call computes only what it does not find there and writes what it
   * computes (failed items are never written). Results, error records and
   * item order are those of the same call without a cache. On mpi the
   * cache is rank 0's (the other ranks' is ignored: docs/cache.md).
   */
  hn_cache *cache;
  hn_cache_mode cache_mode;   /**< use (default), recompute or read-only */
  hn_cache_nodes cache_nodes; /**< which nodes: all (default) or only those marked */
  /**
   * A cancellation token (borrowed for the call), or NULL. Once requested, no
   * new item or attempt starts, node calls see hn_ctx_cancelled, and the call
   * returns HN_ECANCELLED within a few milliseconds plus HN_TIMEOUT_GRACE for
   * nodes that ignore it (docs/pipelines.md); nothing is returned in *out.
   */
  hn_cancel *cancel;
  double timeout;      /**< seconds the whole run or map may take; past it, as cancelled but
                            HN_ETIMEDOUT ("timed out after N s"); 0: none */
  double node_timeout; /**< seconds any one node call may take when its policy sets none; 0: none */
} hn_run_options;

/** The outputs of a run or map, with error records and statistics. Read-only once returned. */
typedef struct hn_result hn_result;

/**
 * Run the pipeline once. `engine` may be NULL (sequential). `inputs` may be
 * NULL when the pipeline needs none (bound defaults); inputs nothing needs
 * are accepted and ignored, and an input named like a node's output
 * overrides that node (docs/pipelines.md). A column given to run is one
 * list<T> value. `options` may be NULL (every output not given, raise).
 * On success *out holds a one-row result owned by the caller
 * (hn_result_destroy); on failure *out is NULL.
 *
 * Errors: HN_EINVAL (missing inputs, unknown or given outputs, bad options:
 * the message lists them; an engine busy with another call), HN_ETYPE (an
 * input of the wrong type, or an object value on an engine that cannot move
 * it: processes, mpi), HN_ERANGE (outputs that could never fit in memory),
 * HN_ENODE (a node failed: err names the node and carries its message;
 * HN_ETIMEDOUT when its attempt ran past its timeout, or the node's own
 * status), HN_ECANCELLED (options->cancel was requested) or HN_ETIMEDOUT
 * (options->timeout passed): under HN_ERRORS_CONTINUE these two leave in
 * *out a result of every item, those that did not finish null
 * (docs/pipelines.md, "Cancellation"); HN_ENOMEM.
 *
 * The pipeline may be run from several threads at once, each with its own
 * engine. On mpi, run is collective (hn_engine_rank).
 */
HN_API HN_NODISCARD hn_status hn_pipeline_run(hn_pipeline *pipeline, hn_engine *engine,
                                              const hn_inputs *inputs,
                                              const hn_run_options *options, hn_result **out,
                                              hn_error *err);
/**
 * Map the pipeline over items: the inputs named in options->map_over are
 * columns, one row per item (zip: equal lengths) or combined (product: every
 * combination, the input last in map_over varying fastest); the rest are
 * broadcast (a value to every item; an unmapped column as one list<T>
 * value). Results keep item order. Inputs, options, ownership and errors as
 * for hn_pipeline_run (HN_EINVAL also for an empty or unknown map_over or
 * zip lengths that differ).
 *
 * Under HN_ERRORS_RAISE the first failing item stops the map (the lowest
 * item index among failures, whatever the timing) and is reported with its
 * item path. Under HN_ERRORS_CONTINUE a failing node gives nulls for that
 * item in its outputs and in every output downstream of it (those nodes
 * are skipped), outputs that do not depend on it keep their values, an
 * error record is added, and the call returns HN_OK.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_map(hn_pipeline *pipeline, hn_engine *engine,
                                              const hn_inputs *inputs,
                                              const hn_run_options *options, hn_result **out,
                                              hn_error *err);

/* ---- results ------------------------------------------------------------ */

/** Statistics of a run or map (hn_result_get_stats). More members may be added at the end. */
typedef struct hn_result_stats {
  int64_t n_items;           /**< items mapped (1 for a run; 0 on serving mpi ranks) */
  int64_t n_failed;          /**< items with an error record (HN_ERRORS_CONTINUE) */
  int64_t resource_inits;    /**< resource instances built (once per worker using one) */
  int64_t resource_destroys; /**< instances destroyed; equals inits after the call */
  int workers;               /**< workers that ran items */
  /* With a cache: (node, item) results found and computed among the cached
   * nodes the call needed, and bytes read from and written to the cache. */
  int64_t cache_hits, cache_misses;
  int64_t cache_bytes_read, cache_bytes_written;
  /** Node calls past their deadline and grace that were still running when the call
   * returned (abandoned on their thread; see hn_abandoned_calls). In this process only. */
  int64_t calls_abandoned;
} hn_result_stats;

/**
 * Node calls abandoned after their timeout (hn_result_stats.calls_abandoned)
 * that are still running in this process, over every engine and call: each
 * holds a thread and a reference to its pipeline until the node returns.
 * Thread-safe.
 */
HN_API int64_t hn_abandoned_calls(void);

/**
 * Free a result and drop its references (tables, chunks and arrays live on
 * while the caller, rows or an exported stream still hold them). NULL is a
 * no-op.
 */
HN_API void hn_result_destroy(hn_result *result);
/**
 * Requested outputs, one row per item, in item order (borrowed: valid until
 * hn_result_destroy; retain it to keep it). When the engine produced the
 * result in chunks (columnar: one per morsel), the first call joins them (a
 * copy; thread-safe) and returns NULL if that runs out of memory; read the
 * chunks or the stream instead to avoid the copy. NULL for a NULL result.
 */
HN_API hn_table *hn_result_table(const hn_result *result);
/** Number of record batches the result holds, in item order (1 unless chunked; 0 for NULL). */
HN_API int64_t hn_result_num_chunks(const hn_result *result);
/** Record batch i (borrowed, as hn_result_table; no copy), or NULL when out of range. */
HN_API hn_table *hn_result_chunk(const hn_result *result, int64_t i);
/**
 * Error records under HN_ERRORS_CONTINUE (borrowed, as hn_result_table):
 * columns item (int64), item_path (utf8), node (utf8), message (utf8: the
 * last attempt's), attempts (int64: the node's attempts, 1 without retries)
 * and messages (utf8: every attempt's message, the last first, one per line),
 * in item order; zero rows when none failed (the same on every engine; the
 * time of each failure is in hn_result_export_errors). NULL for a NULL
 * result.
 */
HN_API hn_table *hn_result_errors(const hn_result *result);
/**
 * Export the error records (hn_result_errors) with the time of each failure,
 * as one Arrow record batch: a struct array of the columns of
 * hn_result_errors, then time (timestamp[ns, UTC], Arrow
 * format "tsn:UTC": when the engine recorded the failure, on the wall
 * clock; null for records that came without one), one row per failed
 * item, in item order; zero rows when none failed. No copy: the export
 * holds its own references and outlives the result; the caller releases
 * both structs. Thread-safe (the result is read-only).
 *
 * Returns HN_OK, HN_EINVAL (NULL argument; the structs given are marked
 * released) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_result_export_errors(const hn_result *result,
                                                      struct ArrowSchema *schema,
                                                      struct ArrowArray *array, hn_error *err);
/**
 * Copy the result's statistics into the first `size` bytes of *stats:
 * pass sizeof *stats (`hn_result_get_stats(r, &s, sizeof s)`), so that a
 * program built against older headers, with a smaller struct, gets only its
 * own members. All zero for a NULL result; NULL stats is a no-op.
 * Thread-safe.
 */
HN_API void hn_result_get_stats(const hn_result *result, hn_result_stats *stats, size_t size);
/**
 * Export the result as an Arrow stream of its record batches (no copy, no
 * join). The stream holds its own references: it outlives the result, and
 * the caller must call its release. Returns HN_OK, HN_EINVAL (NULL
 * argument; *out is left released) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_result_export_stream(const hn_result *result,
                                                      struct ArrowArrayStream *out, hn_error *err);

/** How rows are materialised from the columns. */
typedef enum hn_materialize {
  HN_MATERIALIZE_AUTO = 0,  /**< column-major when any column is fixed width (bool, int64,
                                 float32, float64), else row-major (the two cost the same) */
  HN_MATERIALIZE_ROW = 1,   /**< row by row, every column per row */
  HN_MATERIALIZE_COLUMN = 2 /**< column by column, every row per column */
} hn_materialize;

/**
 * Rows of values: n_rows x n_columns datums, owned by the hn_rows: it
 * retains the (immutable) column arrays their strings, lists and structs
 * point into, so every value stays valid after the result is destroyed.
 * Read-only; thread-safe to read.
 */
typedef struct hn_rows hn_rows;

/**
 * Materialise the result as rows with `strategy`. A chunked result is
 * converted chunk by chunk (its chunks are not joined). On success *out is
 * owned by the caller (hn_rows_destroy) and stays valid after the result is
 * destroyed. Returns HN_OK, HN_EINVAL (NULL argument, unknown strategy) or
 * HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_result_rows(const hn_result *result, hn_materialize strategy,
                                             hn_rows **out, hn_error *err);
/** Free the rows and drop the arrays they hold. NULL is a no-op. */
HN_API void hn_rows_destroy(hn_rows *rows);
/** Number of rows (items); 0 for NULL. */
HN_API int64_t hn_rows_num_rows(const hn_rows *rows);
/** Number of columns (requested outputs); 0 for NULL. */
HN_API int64_t hn_rows_num_columns(const hn_rows *rows);
/** Name of a column (borrowed, valid while the rows live), or NULL when out of range. */
HN_API const char *hn_rows_column_name(const hn_rows *rows, int64_t column);
/**
 * Value at (row, column); a borrowed view into the rows' own memory. Out of
 * range: a null datum.
 */
HN_API hn_datum hn_rows_get(const hn_rows *rows, int64_t row, int64_t column);
/** The strategy actually used (AUTO resolved). */
HN_API hn_materialize hn_rows_strategy(const hn_rows *rows);

/* ---- maps over streams ------------------------------------------------------ */

/** A map over a stream of items (hn_pipeline_map_stream): record batches in and out. */
typedef struct hn_map_stream hn_map_stream;

/**
 * Map the pipeline over the items of an Arrow stream of record batches,
 * lazily: each column of `items` is a mapped input named as the column
 * (zipped: row i of a batch is one item); `inputs` (may be NULL; copied:
 * the caller may change or destroy them after the call) gives the other
 * inputs, broadcast to every item. `items` is moved (its release is NULL
 * on return, success or failure).
 *
 * Nothing is read until results are asked for: hn_map_stream_next reads
 * input batches until it holds at least 65,536 items (or the stream ends),
 * maps them as one call on `engine` (borrowed: it must outlive the stream;
 * NULL: sequential) and hands their results out as record batches, in item
 * order. At most one group of input batches and its results are held at a
 * time: memory does not grow with the number of items.
 *
 * `options` (may be NULL) as for hn_pipeline_map, read during this call
 * (outputs copied; callbacks and cache borrowed for the stream's life),
 * except that map_over must be unset and map_mode zip. Items are numbered
 * across the stream (item paths, events, error records). Under
 * HN_ERRORS_RAISE the first failing item ends the stream: next returns
 * its error (its index in the whole stream), then the same error again.
 * Under HN_ERRORS_CONTINUE failures become error records
 * (hn_map_stream_errors). Every group is one map: map events fire per group.
 *
 * The call is checked before anything is read (inputs, outputs and types,
 * through a map of no items). On success *out is owned by the caller
 * (hn_map_stream_destroy). Returns HN_OK, the errors of hn_pipeline_map,
 * HN_EIO (the producer failed), HN_EUNSUPPORTED (the mpi engine: its calls
 * are collective) or HN_EINVAL (map_over set, a stream without columns).
 * A stream is used by one thread at a time.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_map_stream(hn_pipeline *pipeline, hn_engine *engine,
                                                     const hn_inputs *inputs,
                                                     struct ArrowArrayStream *items,
                                                     const hn_run_options *options,
                                                     hn_map_stream **out, hn_error *err);
/**
 * The next record batch of results in *out (a new reference: release it),
 * or *out = NULL at the end. Returns HN_OK, or the failure that ended the
 * stream (a node's under HN_ERRORS_RAISE, HN_EIO from the producer, ...),
 * again on every later call.
 */
HN_API HN_NODISCARD hn_status hn_map_stream_next(hn_map_stream *stream, hn_table **out,
                                                 hn_error *err);
/** The results' schema (a struct type; borrowed, valid while the stream lives). */
HN_API const hn_type *hn_map_stream_schema(const hn_map_stream *stream);
/**
 * The error records of the items mapped so far (HN_ERRORS_CONTINUE), as
 * hn_result_errors: borrowed, valid until the next hn_map_stream_next or
 * destroy. NULL for NULL or out of memory.
 */
HN_API hn_table *hn_map_stream_errors(hn_map_stream *stream);
/** Statistics of the items mapped so far, summed over the groups (as hn_result_get_stats). */
HN_API void hn_map_stream_get_stats(const hn_map_stream *stream, hn_result_stats *stats,
                                    size_t size);
/**
 * Export the results as an ArrowArrayStream: each get_next is a
 * hn_map_stream_next. The exported stream holds its own reference: the
 * handle and the stream may be released in any order (the caller still
 * destroys its handle, and may read hn_map_stream_errors once the exported
 * stream has ended). Returns HN_OK or HN_EINVAL.
 */
HN_API HN_NODISCARD hn_status hn_map_stream_export(hn_map_stream *stream,
                                                   struct ArrowArrayStream *out, hn_error *err);
/** Drop the caller's reference (the exported stream may hold another). NULL is a no-op. */
HN_API void hn_map_stream_destroy(hn_map_stream *stream);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_ENGINE_H */
