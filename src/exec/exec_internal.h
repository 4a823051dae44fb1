/*
 * Internal contract of the execution layer (src/exec): what every engine
 * shares. A run or map is prepared once (call.c: options, plan, input
 * sources, map shape, checks) into an hn__call, handed to the engine's
 * operations table (hn__engine_ops), and its outputs come back through the
 * result collector, which makes the result. Also here: inputs, resources,
 * the per-call context, failure records, events, the checks after a node
 * call and the map shape. Engines live in src/engines, one folder each,
 * and include this header; nothing here knows an engine. Not installed;
 * symbols use hn__.
 */
#ifndef HN_EXEC_INTERNAL_H
#define HN_EXEC_INTERNAL_H

#include <stdatomic.h>

#include "../base/pool.h"
#include "../graph/graph_internal.h"
#include "hypernodes/engine.h"

typedef enum hn_input_kind {
  HN_INPUT_VALUE = 0,   /* one value: row `row` of `values` */
  HN_INPUT_COLUMN = 1,  /* a column: every row of `values` */
  HN_INPUT_RESOURCE = 2 /* a resource: built per worker from `resource` */
} hn_input_kind;

/* A shared, ref-counted resource definition (the config is freed with the last holder). */
typedef struct hn_resource {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  hn_resource_def def; /* name points at `name` below */
  char *name;
  char *version;       /* the definition's version (owned copy), or NULL */
  const hn_type *type; /* object type of the value nodes see (vtable.free is a no-op) */
  uint64_t stamp;      /* creation stamp (hn__stamp_next), taken once built */
} hn_resource;

hn_resource *hn__resource_retain(hn_resource *resource);
void hn__resource_release(hn_resource *resource);

typedef struct hn_input {
  char *name;
  hn_input_kind kind;
  hn_array *values;      /* VALUE and COLUMN: retained; RESOURCE: NULL */
  int64_t row;           /* VALUE: the row */
  hn_resource *resource; /* RESOURCE: retained */
} hn_input;

struct hn_inputs {
  hn_allocator alloc;
  int64_t n;
  int64_t cap;
  hn_input *items; /* in the order set; names are distinct */
};

/*
 * hn_pipeline_map, its items numbered from item_base where the caller sees
 * them (item paths, events, error records): a batch of a stream map.
 */
hn_status hn__pipeline_map_at(hn_pipeline *pipeline, hn_engine *engine, const hn_inputs *inputs,
                              const hn_run_options *options, int64_t item_base, hn_result **out,
                              hn_error *err);

/* Index of the input called `name`, or -1. */
int64_t hn__inputs_find(const hn_inputs *inputs, const char *name);
/* A copy of `src` (NULL: empty) holding its own references to the same values and resources. */
hn_status hn__inputs_clone(const hn_allocator *alloc, const hn_inputs *src, hn_inputs **out,
                           hn_error *err);

struct hn_result {
  hn_allocator alloc;
  pthread_mutex_t lock;   /* guards the lazy joining of chunks into `table` */
  hn_table *table;        /* requested outputs; NULL until joined when chunked */
  int64_t n_chunks;       /* 0: not chunked */
  hn_table **chunks;      /* record batches in item order (owned) */
  hn_table *errors;       /* the columns of hn__error_table_schema */
  hn_table *errors_timed; /* the same records and their time (int64 ns), or NULL: unknown */
  hn_result_stats stats;
};

/*
 * Assemble a result; takes the references to `table` and `errors` (also on
 * failure). `errors` may be NULL: an empty error table is made. An error
 * table with the records' times (hn__records_table) is kept for
 * hn_result_export_errors, and hn_result_errors shows its first
 * HN__ERROR_COLUMNS columns (no copy).
 */
hn_status hn__result_make(const hn_allocator *alloc, hn_table *table, hn_table *errors,
                          const hn_result_stats *stats, hn_result **out, hn_error *err);

/*
 * A result whose outputs are `n_chunks` record batches in item order (taken,
 * also on failure, together with the array `chunks` itself, allocated with
 * `alloc`); the one-table view is joined on first use.
 */
hn_status hn__result_make_chunked(const hn_allocator *alloc, int64_t n_chunks, hn_table **chunks,
                                  hn_table *errors, const hn_result_stats *stats, hn_result **out,
                                  hn_error *err);

/* ---- resources (resources.c) ---------------------------------------------- */

/* One worker's instance of a resource. */
typedef struct hn__res_instance {
  hn_resource *resource; /* borrowed from the inputs */
  void *state;
  bool live;
} hn__res_instance;

/*
 * Build the instance if it is not live yet (counting it in *inits). On
 * failure err names the resource and the instance stays not live.
 */
hn_status hn__res_instance_acquire(hn__res_instance *inst, _Atomic int64_t *inits, hn_error *err);
/* Destroy a live instance (counting it in *destroys); a no-op otherwise. */
void hn__res_instance_release(hn__res_instance *inst, _Atomic int64_t *destroys);

/* ---- a call's sources ------------------------------------------------------------ */

typedef struct hn__collector hn__collector;

/* Where a plan input's value comes from. */
typedef enum hn__src_kind {
  HN__SRC_CONST = 0,   /* the same datum for every item */
  HN__SRC_MAPPED = 1,  /* a row of a mapped column */
  HN__SRC_RESOURCE = 2 /* a per-worker resource instance */
} hn__src_kind;

typedef struct hn__src {
  hn__src_kind kind;
  const hn_type *type;    /* type of the value nodes see (borrowed) */
  hn_datum value;         /* CONST */
  hn_array *array;        /* CONST: the array holding the value (borrowed) ... */
  int64_t row;            /* ... at this row */
  const hn_array *column; /* MAPPED */
  int64_t stride, length; /* MAPPED, product mode: row = item / stride % length */
  hn_resource *resource;  /* RESOURCE (borrowed) */
} hn__src;

/* What resolving a call's input sources reads (sources.c). */
typedef struct hn__sources_in {
  const hn_allocator *alloc;
  const hn_pipeline *pipeline; /* its bound defaults */
  const hn_plan *plan;
  const hn_inputs *inputs;       /* may be NULL */
  const hn_run_options *options; /* map_over */
  const int64_t *over_stride;    /* per map_over name: its product stride (zip: 1) */
} hn__sources_in;

/* A call's input sources and the arrays made for them. */
typedef struct hn__sources {
  hn__src *srcs; /* per plan input */
  int64_t n_temps;
  hn_array **temps; /* one-row lists made for columns passed whole */
} hn__sources;

/*
 * The source of every plan input, type-checked (HN_ETYPE naming the input
 * and both types). On failure *out holds what was made: free it anyway.
 */
hn_status hn__sources_resolve(const hn__sources_in *in, hn__sources *out, hn_error *err);
void hn__sources_free(const hn_allocator *a, hn__sources *s);

/* One prepared run or map: filled by call.c, executed by an engine. */
typedef struct hn__call {
  hn_engine *engine;
  hn_allocator alloc; /* builders, result arrays, per-call state */
  const hn_plan *plan;
  const hn__src *srcs; /* per plan input */
  int64_t n_items;
  bool is_map; /* item paths start with the item index */
  bool zip;    /* mapped rows: zip (row = item) or product */
  hn_error_policy policy;
  const hn_callbacks *cb; /* NULL when no callback is set */
  /*
   * How the call's items are numbered where the caller sees them (item
   * paths, events, error records): item i of the call is item
   * hn__call_item(x, i) of the map the caller asked for (a cached call runs
   * a subset of the items, a stream map a batch of them). Outputs stay in
   * call order (chunks, coverage). item_index NULL: item_base + i.
   */
  int64_t item_base;
  const int64_t *item_index;
  /* Set by an engine whose rank only served the call (mpi, rank > 0): the
   * result has the outputs' schema and no rows; callbacks did not fire. */
  bool served_only;
  /* Where the engine puts its outputs, failure records and counts. */
  hn__collector *col;
  /* Cancellation and the call's deadline (stop.c), or NULL when neither is set. */
  struct hn__stop *stop;
  double node_timeout; /* hn_run_options.node_timeout: seconds, 0 none */
  int io_workers;      /* the I/O pool's size (hn_engine_options.io_workers), 0: default */
} hn__call;

/* The index the caller knows item i of call x by (see hn__call.item_index). */
static inline int64_t hn__call_item(const hn__call *x, int64_t i) {
  return x->item_index ? x->item_index[i] : x->item_base + i;
}

/* ---- the engine interface ------------------------------------------------------- */

/* What an engine is (hn__engine_ops.flags). */
enum {
  /* Values cross a process boundary: an object input or output is refused
   * before the call runs (hn__check_portable). */
  HN__ENGINE_ACROSS_PROCESSES = 1
};

/*
 * An engine's operations, one static table per engine (src/engines). The
 * registry (src/engines/registry.c) maps a kind to its table; nothing else
 * tests an engine kind.
 */
typedef struct hn__engine_ops {
  const char *name; /* as in messages: "processes" */
  unsigned flags;   /* HN__ENGINE_* */
  /*
   * Set up the engine from its validated options: its own state in
   * e->state, e->workers, and e->rank / e->ranks for engines spanning
   * processes. On failure err is filled; stop is called afterwards.
   */
  hn_status (*start)(hn_engine *e, const hn_engine_options *o, hn_error *err);
  /* Free e->state (also after a failed start). On collective engines, collective. */
  void (*stop)(hn_engine *e);
  /*
   * Collective engines only (NULL otherwise): every process calls it once
   * per run or map with the outcome of preparing the call (x NULL when it
   * failed with `local`/`local_err`) and gets the agreed outcome.
   */
  hn_status (*agree)(hn_engine *e, const hn__call *x, hn_status local, const hn_error *local_err,
                     hn_error *err);
  /*
   * Run the call's items. Outputs, failure records, the failure under raise
   * and resource counts go to x->col. A non-OK return is the call's
   * failure (err filled); it may also come from the collector at finish.
   */
  hn_status (*execute)(hn__call *x, hn_error *err);
  /*
   * Collective engines only (NULL otherwise): every process calls it with
   * a buffer of n bytes; rank 0's bytes reach every rank. Used between the
   * calls of one run or map (a cached call's groups). A failure is fatal to
   * the job (the ranks would be out of step): returns HN_OK or aborts.
   */
  void (*bcast)(hn_engine *e, void *buf, size_t n);
} hn__engine_ops;

/* An engine: what every engine has; the rest is its own state. */
struct hn_engine {
  const hn__engine_ops *ops;
  hn_allocator alloc;
  hn_engine_kind kind;
  hn_engine_options options; /* as created, validated (size is sizeof the struct) */
  int workers;               /* 1 unless the engine says otherwise */
  int rank, ranks;           /* 0 and 1 unless the engine spans processes */
  atomic_bool busy;          /* one run or map at a time */
  void *state;               /* the engine's own (ops->start, ops->stop) */
};

/* Claim the engine for one call; HN_EINVAL when it is already serving one. */
hn_status hn__engine_acquire(hn_engine *engine, hn_error *err);
void hn__engine_release(hn_engine *engine);

/*
 * Values that would cross a process boundary: every mapped and broadcast
 * input (resources excepted: they are built on the worker) and every
 * requested output. HN_ETYPE naming the first one whose type holds an
 * object (at any depth), e.g. "input 'model' is of type object: objects
 * cannot cross a process boundary (processes engine); pass per-worker
 * state as a resource". `engine` names the engine in the message.
 */
hn_status hn__check_portable(const hn__call *x, const char *engine, hn_error *err);

/* ---- per-call context (context.c) ----------------------------------------- */

enum {
  HN__CTX_ARENA_USED = 1, /* hn_ctx_arena was called: reset the arena after the call */
  HN__CTX_MESSAGE = 2     /* hn_ctx_fail recorded a message */
};

/* The context a worker hands to every node call; one per worker. */
struct hn_ctx {
  unsigned flags; /* HN__CTX_*; zero on the fast path */
  int worker;
  hn_arena *arena;    /* created lazily by hn_ctx_arena */
  hn_allocator alloc; /* for the arena */
  bool arena_failed;  /* creating the arena failed: hn_ctx_arena returns NULL */
  char message[HN_ERROR_MESSAGE_MAX];
  /* Seen by hn_ctx_deadline / hn_ctx_cancelled / hn_ctx_attempt (guard.c sets them). */
  double deadline;                 /* CLOCK_MONOTONIC seconds; 0: none */
  const _Atomic bool *cancel_flag; /* the attempt's own flag, or NULL */
  struct hn__stop *stop;           /* the call's, or NULL */
  int attempt;                     /* 0 outside a guarded call (reads as 1) */
};

void hn__ctx_init(hn_ctx *ctx, const hn_allocator *alloc, int worker);
void hn__ctx_destroy(hn_ctx *ctx);
/* After a node call with flags set: reset the arena, forget a stale message on success. */
void hn__ctx_after_call(hn_ctx *ctx, hn_status st);

/* ---- checks after a node call (node_checks.c) ------------------------------ */

/*
 * A node call returned `st` (not HN_OK): writes its message into msg (the
 * context's hn_ctx_fail message, consumed, else "returned HN_X: ..." or, for
 * a value that is no hn_status, "returned 42, which is not an hn_status
 * (reported as HN_ENODE)") and returns the code to report (st, or HN_ENODE).
 */
hn_status hn__call_failure(hn_ctx *ctx, hn_status st, char *msg, size_t cap);
/* "node 'f' appended n values to output 'y' (expected 1)". */
void hn__appended_message(const hn_gnode *node, int64_t output, int64_t n, char *msg, size_t cap);
/*
 * After a row call: true when every list or struct output of `node` holds
 * exactly what its closed elements account for; else writes a message
 * naming node, output and child into msg and returns false.
 */
bool hn__outputs_closed(const hn_gnode *node, hn_builder *const *outs, char *msg, size_t cap);

/* ---- failure records (records.c) -------------------------------------------- */

/* One failed item: its first failure. Strings are owned (allocated with the records'). */
typedef struct hn__record {
  int64_t item; /* index in its map (or a level's row, before hn__records_move adds a base) */
  int64_t seq;  /* order of arrival, so that sorting by item is stable */
  hn_status code;
  char *path, *node, *message;
  int64_t attempts; /* the node's attempts (1 without retries) */
  char *messages;   /* every attempt's message, the last first, "\n"-joined; NULL: `message` */
  int64_t time_ns;  /* when it was recorded: the wall clock (hn__wall_ns) */
} hn__record;

/* A growable list of records; zero-initialise, free with hn__records_free. */
typedef struct hn__records {
  hn__record *v;
  int64_t n, cap;
} hn__records;

/*
 * Append a record (strings copied; NULL as ""), recorded now (its time_ns).
 * HN_OK or HN_ENOMEM (nothing added).
 */
hn_status hn__records_add(const hn_allocator *a, hn__records *rs, int64_t item, hn_status code,
                          const char *path, const char *node, const char *message);
/* The same with the attempts and their messages (NULL: just `message`; copied). */
hn_status hn__records_add_attempts(const hn_allocator *a, hn__records *rs, int64_t item,
                                   hn_status code, const char *path, const char *node,
                                   const char *message, int64_t attempts, const char *messages);
void hn__records_free(const hn_allocator *a, hn__records *rs);
/* Sort by item, keeping the order of arrival among records of one item. */
void hn__records_sort(hn__records *rs);
/* Move every record of `from` to the end of `to`, adding item_base to their items; from is emptied.
 */
hn_status hn__records_move(const hn_allocator *a, hn__records *to, hn__records *from,
                           int64_t item_base);
/* The schema of error tables: struct<item: int64, item_path: utf8, node: utf8, message: utf8,
 * attempts: int64, messages: utf8>, HN__ERROR_COLUMNS columns. */
#define HN__ERROR_COLUMNS 6
hn_status hn__error_table_schema(const hn_allocator *alloc, const hn_type **out, hn_error *err);
/*
 * The records as an error table, in their order: the columns of
 * hn__error_table_schema, then "time" (int64, the records' time_ns).
 */
hn_status hn__records_table(const hn_allocator *alloc, const hn__records *rs, hn_table **out,
                            hn_error *err);
/*
 * Fill err with a node's failure as run and map report it under raise:
 * "node 'f' failed on item 7/2: message" (or without the item for a run,
 * without the node when unknown), node and item_path set. Returns code.
 */
hn_status hn__node_error(hn_error *err, hn_status code, const char *node, const char *path,
                         const char *message);

/*
 * An item path of call x ("5/2": the call's item 5, nested item 2) as the
 * caller knows it ("1005/2" when the call is items 1000... of a map) into
 * buf; returns what snprintf returns. Run paths (not a map) are unchanged.
 */
size_t hn__path_rebase(const hn__call *x, const char *path, char *buf, size_t cap);
/* The node's own message inside an error hn__node_error filled (else the whole message). */
const char *hn__node_error_cause(const hn_error *e);

/* ---- events (events.c) ----------------------------------------------------------- */

/*
 * The caller's callbacks, each NULL when unset, and which kinds of event
 * fire: time_<kind> is true when the kind's start or end callback is set;
 * such a kind reads the clock at its start and at its end, a kind with
 * neither reads nothing (and costs one test of the flag). untimed_items
 * and untimed_nodes (set by a batch worker whose start callbacks only
 * announce where it is) keep those events firing without reading a clock.
 */
typedef struct hn__events {
  void *ud;
  hn_callback item_start, item_end, node_start, node_end, error, pipeline_start, pipeline_end;
  hn_callback map_start, map_end, chunk_start, chunk_end, retry;
  bool time_items, time_nodes, time_pipelines, time_maps, time_chunks;
  bool untimed_items, untimed_nodes;
  const char *engine; /* the engine's name, for every event */
  int rank;           /* the rank of this process (0 but on mpi) */
} hn__events;

/* Read the callbacks of x->cb (NULL: none) and the engine's name and rank. */
void hn__events_init(hn__events *ev, const hn__call *x);
/* Whether any member of cb (its first cb->size bytes) is set. */
bool hn__callbacks_any(const hn_callbacks *cb);
/* The monotonic clock (CLOCK_MONOTONIC), in ns. */
int64_t hn__now_ns(void);
/* The wall clock (CLOCK_REALTIME), in ns since the Unix epoch. */
int64_t hn__wall_ns(void);

/* An event with what every emitter of `ev` sets: engine, rank, no worker process. */
static inline void hn__event_clear(hn_event *e, const hn__events *ev) {
  memset(e, 0, sizeof *e);
  e->engine = ev->engine;
  e->rank = ev->rank;
  e->process = -1;
}

/* ---- the result collector (collector.c) -------------------------------------------- */

/*
 * Collects one call's outputs and failures from its engine and makes the
 * result. Used on the thread that runs the call (not thread-safe).
 */
hn_status hn__collector_create(const hn__call *x, hn__collector **out, hn_error *err);
void hn__collector_destroy(hn__collector *c);
/*
 * Outputs of items [first, first+count): cols[r] is requested output r
 * (count rows). Takes the references and the array `cols` itself
 * (allocated with the call's allocator), also on failure.
 */
hn_status hn__collector_add_chunk(hn__collector *c, int64_t first, int64_t count, hn_array **cols,
                                  hn_error *err);
/* A failure record under continue (strings copied). */
hn_status hn__collector_add_record(hn__collector *c, int64_t item, const char *path,
                                   const char *node, const char *message, hn_error *err);
/* The same with the attempts and their messages (hn__records_add_attempts). */
hn_status hn__collector_add_record_attempts(hn__collector *c, int64_t item, const char *path,
                                            const char *node, const char *message, int64_t attempts,
                                            const char *messages, hn_error *err);
/* Move records (their items plus item_base) into the collector; rs is emptied. */
hn_status hn__collector_add_records(hn__collector *c, hn__records *rs, int64_t item_base,
                                    hn_error *err);
/*
 * An item lost with its worker (crash, timeout): under continue a row of
 * nulls and a record {item, node, message}; under raise the failure
 * (HN_ENODE, node and item path set; the lowest item wins).
 */
hn_status hn__collector_add_lost(hn__collector *c, int64_t item, const char *node,
                                 const char *message, hn_error *err);
/* The failure that stops the call under raise (or an engine failure): the lowest item wins. */
void hn__collector_fail(hn__collector *c, int64_t item, hn_status st, const hn_error *e);
/* The lowest failing item so far; INT64_MAX when none. */
int64_t hn__collector_failed_item(const hn__collector *c);
/* That failure (err filled as given), or HN_OK when none. */
hn_status hn__collector_failure(const hn__collector *c, hn_error *err);
/* Resource instances built and destroyed, and workers that ran items. */
void hn__collector_add_counts(hn__collector *c, int64_t inits, int64_t destroys, int workers);
/* With a cache: (node, item) results found and computed, bytes read and written. */
void hn__collector_add_cache(hn__collector *c, int64_t hits, int64_t misses, int64_t bytes_read,
                             int64_t bytes_written);
/* The resource counts added so far. */
void hn__collector_counts(const hn__collector *c, int64_t *inits, int64_t *destroys);
/*
 * Keep the chunks as the result's record batches (no join) when there are
 * several and their mean size is at least min_rows (0: always; the default,
 * INT64_MAX: never).
 */
void hn__collector_keep_chunks(hn__collector *c, int64_t min_rows);
/*
 * The result: the failure under raise (err filled as it was given), else
 * the outputs in item order (every item of [0, n_items) must have been
 * added; none for a call with no items or that this process only served),
 * the error records sorted by item, and the counts.
 */
hn_status hn__collector_finish(hn__collector *c, hn_result **out, hn_error *err);

/*
 * The call stopped (cancelled, or its deadline passed: `st`, err filled as
 * hn__stop_error fills it). Under continue: the result of the items added so
 * far, the others null (counted in n_failed's place: not recorded), and st;
 * under raise: st and no result.
 */
hn_status hn__collector_finish_stopped(hn__collector *c, hn_status st, const hn_error *stop_err,
                                       hn_result **out, hn_error *err);
/* Abandoned node calls (guard.c) to report in hn_result_stats.calls_abandoned. */
void hn__collector_add_abandoned(hn__collector *c, int64_t n);

/* ---- map shape (map_shape.c) ------------------------------------------------ */

/*
 * The shape of a map over n lists of lengths len[0..n) (names[k] names list
 * k in messages). Zip: the lengths must be equal (else HN_EINVAL, msg "zip
 * lengths differ: a=3, b=4"); *n_items is that length (1 when n is 0).
 * Product: every combination, the last list varying fastest; *n_items is
 * the product (0 when a list is empty), stride[k] the product of the
 * lengths after k; HN_ERANGE (msg says so) when it exceeds `limit`.
 * Item i reads row hn__map_row(mode, i, stride[k], len[k]) of list k.
 */
hn_status hn__map_shape(hn_map_mode mode, int64_t n, const int64_t *len, const char *const *names,
                        int64_t limit, int64_t *n_items, int64_t *stride, char *msg, size_t cap);

static inline int64_t hn__map_row(hn_map_mode mode, int64_t item, int64_t stride, int64_t length) {
  return mode == HN_MAP_ZIP ? item : item / stride % length;
}

/* Default rows per chunk kept as one record batch (columnar morsels; remote joins below it). */
#define HN__MORSEL_DEFAULT 65536
#define HN__MORSEL_MIN 512 /* the columnar engine's smallest automatic morsel */

#include "guard.h"

#endif /* HN_EXEC_INTERNAL_H */
