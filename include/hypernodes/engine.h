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
 */
#ifndef HYPERNODES_ENGINE_H
#define HYPERNODES_ENGINE_H

#include "arrow_abi.h"
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
  size_t size;       /**< sizeof(hn_resource_def) */
  const char *name;  /**< used in messages; required */
  hn_status (*init)(void *config, void **state, hn_error *err); /**< required */
  void (*destroy)(void *config, void *state);                   /**< required */
  void *config;      /**< passed to init and destroy */
  void (*config_free)(void *config); /**< called when the last holder goes, or NULL */
} hn_resource_def;

HN_API HN_NODISCARD hn_status hn_inputs_create(const hn_allocator *alloc, hn_inputs **out,
                                               hn_error *err);
/** Free the inputs and release what they hold. NULL is a no-op. */
HN_API void hn_inputs_destroy(hn_inputs *inputs);
/**
 * Set `name` to a column of values (retained): each row is one value. Used
 * by map for the inputs named in map_over; an unmapped column is passed to
 * every item as one list<T> value. Setting a name again replaces it.
 */
HN_API HN_NODISCARD hn_status hn_inputs_set_column(hn_inputs *inputs, const char *name,
                                                   hn_array *column, hn_error *err);
/** Set `name` to one value: row `row` of `values` (retained). */
HN_API HN_NODISCARD hn_status hn_inputs_set_value(hn_inputs *inputs, const char *name,
                                                  hn_array *values, int64_t row, hn_error *err);
/** Convenience scalar setters (the value is copied into a one-row array). */
HN_API HN_NODISCARD hn_status hn_inputs_set_int64(hn_inputs *inputs, const char *name,
                                                  int64_t value, hn_error *err);
HN_API HN_NODISCARD hn_status hn_inputs_set_float64(hn_inputs *inputs, const char *name,
                                                    double value, hn_error *err);
HN_API HN_NODISCARD hn_status hn_inputs_set_bool(hn_inputs *inputs, const char *name,
                                                 bool value, hn_error *err);
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
/** Bind `name` to a resource (the definition is copied; config ownership moves on success). */
HN_API HN_NODISCARD hn_status hn_inputs_set_resource(hn_inputs *inputs, const char *name,
                                                     const hn_resource_def *def, hn_error *err);

/* ---- engines ------------------------------------------------------------ */

typedef enum hn_engine_kind {
  HN_ENGINE_SEQUENTIAL = 0,
  HN_ENGINE_THREADS = 1,
  HN_ENGINE_COLUMNAR = 2,
  HN_ENGINE_PROCESSES = 3,
  HN_ENGINE_MPI = 4
} hn_engine_kind;

typedef struct hn_engine_options {
  size_t size;          /**< sizeof(hn_engine_options) */
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
} hn_engine_options;

/** Exit code of an mpi job aborted by chunk_timeout (MPI_Abort's error code). */
#define HN_MPI_ABORT_TIMEOUT 124

typedef struct hn_engine hn_engine;

/** Engine names as accepted by hn_engine_kind_from_name: "sequential", "threads", ... */
HN_API const char *hn_engine_kind_name(hn_engine_kind kind);
HN_API HN_NODISCARD hn_status hn_engine_kind_from_name(const char *name, hn_engine_kind *out,
                                                       hn_error *err);
/**
 * Create an engine; `options` may be NULL (sequential). Returns HN_OK,
 * HN_EINVAL, HN_EUNSUPPORTED (an engine kind this build lacks) or HN_ENOMEM.
 * An engine serves one run/map at a time: a call made while another is in
 * progress on the same engine returns HN_EINVAL. Use one engine per thread
 * that maps concurrently.
 */
HN_API HN_NODISCARD hn_status hn_engine_create(const hn_allocator *alloc,
                                               const hn_engine_options *options,
                                               hn_engine **out, hn_error *err);
/**
 * Stop the workers and free the engine. NULL is a no-op. On mpi it is
 * collective: every rank destroys its engine (MPI itself is finalised at
 * process exit when the engine initialised it).
 */
HN_API void hn_engine_destroy(hn_engine *engine);
HN_API hn_engine_kind hn_engine_get_kind(const hn_engine *engine);
HN_API int hn_engine_workers(const hn_engine *engine);
/**
 * This process's rank and the number of ranks: 0 and 1 except on the mpi
 * engine. On mpi, run and map are collective (every rank calls them, in the
 * same order, with the same pipeline); rank 0 gets the results, the other
 * ranks serve the items and get a result with no rows (same status).
 */
HN_API int hn_engine_rank(const hn_engine *engine);
HN_API int hn_engine_ranks(const hn_engine *engine);

/* ---- callbacks ---------------------------------------------------------- */

/** What an event is about. Strings are borrowed for the duration of the callback. */
typedef struct hn_event {
  const char *pipeline;  /**< pipeline name ("" when unnamed) */
  const char *node;      /**< node name, or NULL */
  int64_t item;          /**< item index in its map, -1 when not about an item */
  const char *item_path; /**< "7" or "7/3" for nested items, or NULL */
  int depth;             /**< 0 for the top pipeline, 1 inside a nested node, ... */
  int64_t n_items;       /**< map start/end: number of items */
  int64_t n_rows;        /**< node events: rows processed by the call (1 for a row call) */
  hn_status status;      /**< end and error events: outcome */
  const char *message;   /**< error events: the failure message */
  int worker;            /**< worker index running the call */
} hn_event;

typedef void (*hn_callback)(void *user_data, const hn_event *event);

/**
 * Observers. Any member may be NULL; an unset callback costs nothing. Node
 * and item callbacks run on worker threads, possibly concurrently: they
 * must be thread-safe. Map and pipeline callbacks of the top level run on
 * the calling thread. Each event fires exactly once.
 */
typedef struct hn_callbacks {
  size_t size; /**< sizeof(hn_callbacks) */
  void *user_data;
  hn_callback on_pipeline_start, on_pipeline_end;
  hn_callback on_map_start, on_map_end;
  hn_callback on_item_start, on_item_end;
  hn_callback on_node_start, on_node_end;
  hn_callback on_error;
} hn_callbacks;

/* ---- run and map ---------------------------------------------------------- */

typedef enum hn_error_policy {
  HN_ERRORS_RAISE = 0,   /**< the first failing item stops the map and is reported */
  HN_ERRORS_CONTINUE = 1 /**< a failed node gives nulls (and so do the nodes downstream of it)
                              for that item, plus an error record; independent outputs are kept */
} hn_error_policy;

typedef struct hn_run_options {
  size_t size;                    /**< sizeof(hn_run_options) */
  int64_t n_outputs;              /**< requested outputs; 0 = every node output */
  const char *const *outputs;
  int64_t n_map_over;             /**< map only: inputs to map over */
  const char *const *map_over;
  hn_map_mode map_mode;
  hn_error_policy error_policy;
  const hn_callbacks *callbacks;  /**< NULL: none */
  /**
   * Short forms of `outputs` and `map_over`: names separated by commas
   * ("n_tokens, tokens"; read during the call only). NULL: unused. Setting
   * a short form and its list both is HN_EINVAL; a malformed one is
   * HN_EINVAL pointing at the offending character.
   */
  const char *outputs_spec;
  const char *map_over_spec;
} hn_run_options;

typedef struct hn_result hn_result;

/**
 * Run the pipeline once. `engine` may be NULL (sequential). `options` may be
 * NULL (every output, raise). On success *out holds a one-row result.
 * Errors: HN_EINVAL (missing inputs, unknown outputs: the message lists them),
 * HN_ETYPE (an input of the wrong type), HN_ENODE (a node failed: err names
 * node and message), HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_run(hn_pipeline *pipeline, hn_engine *engine,
                                              const hn_inputs *inputs,
                                              const hn_run_options *options, hn_result **out,
                                              hn_error *err);
/**
 * Map the pipeline over items: the inputs named in options->map_over are
 * columns, one row per item (zip) or combined (product); the rest are
 * broadcast. Results keep item order. Under HN_ERRORS_CONTINUE a failing node
 * gives nulls for that item in its outputs and in every output downstream of
 * it (those nodes are skipped), outputs that do not depend on it keep their
 * values, an error record is added, and the call returns HN_OK.
 */
HN_API HN_NODISCARD hn_status hn_pipeline_map(hn_pipeline *pipeline, hn_engine *engine,
                                              const hn_inputs *inputs,
                                              const hn_run_options *options, hn_result **out,
                                              hn_error *err);

/* ---- results ------------------------------------------------------------ */

typedef struct hn_result_stats {
  int64_t n_items;
  int64_t n_failed;
  int64_t resource_inits;     /**< resource instances built (once per worker using one) */
  int64_t resource_destroys;  /**< instances destroyed; equals inits after the call */
  int workers;                /**< workers that ran items */
} hn_result_stats;

HN_API void hn_result_destroy(hn_result *result);
/**
 * Requested outputs, one row per item, in item order (borrowed). When the
 * engine produced the result in chunks (columnar: one per morsel), the first
 * call joins them (a copy; thread-safe) and returns NULL if that runs out of
 * memory; read the chunks or the stream instead to avoid the copy.
 */
HN_API hn_table *hn_result_table(const hn_result *result);
/** Number of record batches the result holds, in item order (1 unless chunked). */
HN_API int64_t hn_result_num_chunks(const hn_result *result);
/** Record batch i (borrowed; no copy), or NULL when out of range. */
HN_API hn_table *hn_result_chunk(const hn_result *result, int64_t i);
/**
 * Error records under HN_ERRORS_CONTINUE (borrowed): columns item (int64),
 * item_path (utf8), node (utf8), message (utf8); zero rows when none failed.
 */
HN_API hn_table *hn_result_errors(const hn_result *result);
HN_API hn_result_stats hn_result_get_stats(const hn_result *result);
/** Export the result as an Arrow stream of its record batches (no copy, no join). */
HN_API HN_NODISCARD hn_status hn_result_export_stream(const hn_result *result,
                                                      struct ArrowArrayStream *out,
                                                      hn_error *err);

/** How rows are materialised from the columns. */
typedef enum hn_materialize {
  HN_MATERIALIZE_AUTO = 0,   /**< column-major when any column is fixed width (bool, int64,
                                  float32, float64), else row-major (the two cost the same) */
  HN_MATERIALIZE_ROW = 1,    /**< row by row, every column per row */
  HN_MATERIALIZE_COLUMN = 2  /**< column by column, every row per column */
} hn_materialize;

/**
 * Rows of values: n_rows x n_columns datums, owned by the hn_rows: it
 * retains the (immutable) column arrays their strings, lists and structs
 * point into, so every value stays valid after the result is destroyed.
 * Read-only; thread-safe to read.
 */
typedef struct hn_rows hn_rows;

HN_API HN_NODISCARD hn_status hn_result_rows(const hn_result *result, hn_materialize strategy,
                                             hn_rows **out, hn_error *err);
HN_API void hn_rows_destroy(hn_rows *rows);
HN_API int64_t hn_rows_num_rows(const hn_rows *rows);
HN_API int64_t hn_rows_num_columns(const hn_rows *rows);
HN_API const char *hn_rows_column_name(const hn_rows *rows, int64_t column);
/** Value at (row, column); a borrowed view into the rows' own memory. */
HN_API hn_datum hn_rows_get(const hn_rows *rows, int64_t row, int64_t column);
/** The strategy actually used (AUTO resolved). */
HN_API hn_materialize hn_rows_strategy(const hn_rows *rows);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_ENGINE_H */
