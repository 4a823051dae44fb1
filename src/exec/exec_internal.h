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

/* Builds an error table (see hn__error_table_schema), one record at a time. */
typedef struct hn__errors_builder {
  const hn_allocator *alloc;
  const hn_type *schema;
  hn_builder *b[4]; /* item, item_path, node, message */
  hn_status st;     /* first failure; later calls do nothing */
} hn__errors_builder;

/* Start a table of about `n` records. Failures surface from hn__errors_finish. */
void hn__errors_begin(hn__errors_builder *eb, const hn_allocator *alloc, int64_t n);
void hn__errors_add(hn__errors_builder *eb, int64_t item, const char *path, const char *node,
                    const char *message);
/* Finish into *out (n_recs rows); frees the builder's state, also on failure. */
hn_status hn__errors_finish(hn__errors_builder *eb, int64_t n_recs, hn_table **out, hn_error *err);

/* The schema of error tables: struct<item: int64, item_path: utf8, node: utf8, message: utf8>. */
hn_status hn__error_table_schema(const hn_allocator *alloc, const hn_type **out, hn_error *err);

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
