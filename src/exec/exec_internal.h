/*
 * Internal contract of the execution layer (src/exec): inputs, results and
 * the shared pieces engines use. Not installed; symbols use hn__.
 */
#ifndef HN_EXEC_INTERNAL_H
#define HN_EXEC_INTERNAL_H

#include "../graph/graph_internal.h"

typedef enum hn_input_kind {
  HN_INPUT_VALUE = 0,    /* one value: row `row` of `values` */
  HN_INPUT_COLUMN = 1,   /* a column: every row of `values` */
  HN_INPUT_RESOURCE = 2  /* a resource: built per worker from `resource` */
} hn_input_kind;

/* A shared, ref-counted resource definition (the config is freed with the last holder). */
typedef struct hn_resource {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  hn_resource_def def;  /* name points at `name` below */
  char *name;
  const hn_type *type;  /* object type of the value nodes see (vtable.free is a no-op) */
} hn_resource;

hn_resource *hn__resource_retain(hn_resource *resource);
void hn__resource_release(hn_resource *resource);

typedef struct hn_input {
  char *name;
  hn_input_kind kind;
  hn_array *values;       /* VALUE and COLUMN: retained; RESOURCE: NULL */
  int64_t row;            /* VALUE: the row */
  hn_resource *resource;  /* RESOURCE: retained */
} hn_input;

struct hn_inputs {
  hn_allocator alloc;
  int64_t n;
  int64_t cap;
  hn_input *items;        /* in the order set; names are distinct */
};

/* Index of the input called `name`, or -1. */
int64_t hn__inputs_find(const hn_inputs *inputs, const char *name);

struct hn_result {
  hn_allocator alloc;
  pthread_mutex_t lock;   /* guards the lazy joining of chunks into `table` */
  hn_table *table;        /* requested outputs; NULL until joined when chunked */
  int64_t n_chunks;       /* 0: not chunked */
  hn_table **chunks;      /* record batches in item order (owned) */
  hn_table *errors;       /* item (int64), item_path, node, message (utf8) */
  hn_result_stats stats;
};

/*
 * Assemble a result; takes the references to `table` and `errors` (also on
 * failure). `errors` may be NULL: an empty error table is made.
 */
hn_status hn__result_make(const hn_allocator *alloc, hn_table *table, hn_table *errors,
                          const hn_result_stats *stats, hn_result **out, hn_error *err);

/*
 * A result whose outputs are `n_chunks` record batches in item order (taken,
 * also on failure, together with the array `chunks` itself, allocated with
 * `alloc`); the one-table view is joined on first use.
 */
hn_status hn__result_make_chunked(const hn_allocator *alloc, int64_t n_chunks, hn_table **chunks,
                                  hn_table *errors, const hn_result_stats *stats,
                                  hn_result **out, hn_error *err);

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

/* ---- a call's sources and execution ------------------------------------------- */

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

/* One call's execution: filled by run.c, run by hn__execute. */
typedef struct hn__exec {
  hn_engine *engine;
  hn_allocator alloc; /* builders, result arrays, per-call state */
  const hn_plan *plan;
  const hn__src *srcs; /* per plan input */
  int64_t n_items;
  bool is_map; /* item paths start with the item index */
  bool zip;    /* mapped rows: zip (row = item) or product */
  hn_error_policy policy;
  const hn_callbacks *cb; /* NULL when no callback is set */
  /* Item executor only (hn__execute), for engines that run a map in batches:
   * item_base: index of the first item; mapped rows are still read from row
   * 0 of each column, but item paths, events and error records say
   * item_base + k. */
  int64_t item_base;
  /* worker_res: NULL to build resources per call; else worker_res[w] is the
   * per-plan-input instance array of worker w, built when first needed and
   * left live after the call (the owner releases them). */
  hn__res_instance *const *worker_res;
  /* Events carry no item_path (a batch worker that only announces items
   * and nodes: formatting paths would be its main cost). */
  bool no_event_paths;
  /* Set by an engine whose rank only served the call (mpi, rank > 0): the
   * result has the outputs' schema and no rows; callbacks did not fire. */
  bool served_only;
  /* Where the engine puts its outputs, failure records and counts. */
  hn__collector *col;
} hn__exec;

/* ---- failure records (records.c) -------------------------------------------- */

/* One failed item: its first failure. Strings are owned (allocated with the records'). */
typedef struct hn__record {
  int64_t item; /* index in its map (or a level's row, before hn__records_move adds a base) */
  int64_t seq;  /* order of arrival, so that sorting by item is stable */
  hn_status code;
  char *path, *node, *message;
} hn__record;

/* A growable list of records; zero-initialise, free with hn__records_free. */
typedef struct hn__records {
  hn__record *v;
  int64_t n, cap;
} hn__records;

/* Append a record (strings copied; NULL as ""). HN_OK or HN_ENOMEM (nothing added). */
hn_status hn__records_add(const hn_allocator *a, hn__records *rs, int64_t item, hn_status code,
                          const char *path, const char *node, const char *message);
void hn__records_free(const hn_allocator *a, hn__records *rs);
/* Sort by item, keeping the order of arrival among records of one item. */
void hn__records_sort(hn__records *rs);
/* Move every record of `from` to the end of `to`, adding item_base to their items; from is emptied. */
hn_status hn__records_move(const hn_allocator *a, hn__records *to, hn__records *from,
                           int64_t item_base);
/* The schema of error tables: struct<item: int64, item_path: utf8, node: utf8, message: utf8>. */
hn_status hn__error_table_schema(const hn_allocator *alloc, const hn_type **out, hn_error *err);
/* The records as an error table, in their order. */
hn_status hn__records_table(const hn_allocator *alloc, const hn__records *rs, hn_table **out,
                            hn_error *err);
/*
 * Fill err with a node's failure as run and map report it under raise:
 * "node 'f' failed on item 7/2: message" (or without the item for a run,
 * without the node when unknown), node and item_path set. Returns code.
 */
hn_status hn__node_error(hn_error *err, hn_status code, const char *node, const char *path,
                         const char *message);

/* ---- events (events.c) ----------------------------------------------------------- */

/* The caller's callbacks, each NULL when unset. */
typedef struct hn__events {
  void *ud;
  hn_callback item_start, item_end, node_start, node_end, error, pipeline_start, pipeline_end;
} hn__events;

/* Read the callbacks of cb (NULL: none). */
void hn__events_init(hn__events *ev, const hn_callbacks *cb);

/* ---- the result collector (collector.c) -------------------------------------------- */

/*
 * Collects one call's outputs and failures from its engine and makes the
 * result. Used on the thread that runs the call (not thread-safe).
 */
hn_status hn__collector_create(const hn__exec *x, hn__collector **out, hn_error *err);
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

#endif /* HN_EXEC_INTERNAL_H */
