/*
 * The result collector: every engine hands its outputs to it as chunks of
 * consecutive items (columns, one per requested output), its failure
 * records, the failure under raise (the lowest item wins) and its counts;
 * finishing turns them into the call's result, in item order. This is the
 * one place a result is made.
 */
#include <stdio.h>
#include <stdlib.h>

#include "exec_internal.h"

typedef struct cchunk {
  int64_t first, count;
  hn_array **cols; /* per requested output */
} cchunk;

struct hn__collector {
  const hn__call *x;
  hn_allocator alloc;
  cchunk *chunks;
  int64_t n_chunks, cap_chunks;
  hn__records recs;
  int64_t keep_min_rows; /* chunks stay record batches when their mean size reaches this */
  /* The failure with the lowest item (fail_item INT64_MAX: none). */
  int64_t fail_item;
  hn_status fail_status;
  hn_error fail_err;
  int64_t inits, destroys;
  int workers;
  int64_t cache_hits, cache_misses, cache_read, cache_written;
  int64_t abandoned;
};

hn_status hn__collector_create(const hn__call *x, hn__collector **out, hn_error *err) {
  hn__collector *c = hn__calloc(&x->alloc, 1, sizeof *c);
  if (!c) return hn__error_nomem(err, "collecting results");
  c->x = x;
  c->alloc = x->alloc;
  c->fail_item = INT64_MAX;
  c->keep_min_rows = INT64_MAX;
  hn_error_reset(&c->fail_err);
  *out = c;
  return HN_OK;
}

static void free_cols(hn__collector *c, hn_array **cols) {
  if (!cols) return;
  for (int64_t r = 0; r < c->x->plan->n_requested; r++) hn_array_release(cols[r]);
  hn__free(&c->alloc, cols);
}

void hn__collector_destroy(hn__collector *c) {
  if (!c) return;
  for (int64_t k = 0; k < c->n_chunks; k++) free_cols(c, c->chunks[k].cols);
  hn__records_free(&c->alloc, &c->recs);
  hn__free(&c->alloc, c->chunks);
  hn__free(&c->alloc, c);
}

void hn__collector_keep_chunks(hn__collector *c, int64_t min_rows) {
  c->keep_min_rows = min_rows;
}

int64_t hn__collector_failed_item(const hn__collector *c) {
  return c->fail_item;
}

hn_status hn__collector_failure(const hn__collector *c, hn_error *err) {
  if (c->fail_item == INT64_MAX) return HN_OK;
  if (err) *err = c->fail_err;
  return c->fail_status;
}

void hn__collector_add_counts(hn__collector *c, int64_t inits, int64_t destroys, int workers) {
  c->inits += inits;
  c->destroys += destroys;
  c->workers += workers;
}

void hn__collector_add_cache(hn__collector *c, int64_t hits, int64_t misses, int64_t bytes_read,
                             int64_t bytes_written) {
  c->cache_hits += hits;
  c->cache_misses += misses;
  c->cache_read += bytes_read;
  c->cache_written += bytes_written;
}

void hn__collector_counts(const hn__collector *c, int64_t *inits, int64_t *destroys) {
  *inits = c->inits;
  *destroys = c->destroys;
}

void hn__collector_fail(hn__collector *c, int64_t item, hn_status st, const hn_error *e) {
  if (item >= c->fail_item) return;
  c->fail_item = item;
  c->fail_status = st;
  c->fail_err = *e;
  c->fail_err.code = st;
}

hn_status hn__collector_add_chunk(hn__collector *c, int64_t first, int64_t count, hn_array **cols,
                                  hn_error *err) {
  if (c->n_chunks == c->cap_chunks) {
    int64_t cap = c->cap_chunks ? c->cap_chunks * 2 : 16;
    cchunk *p = hn__realloc(&c->alloc, c->chunks, sizeof *p * (size_t)cap);
    if (!p) {
      free_cols(c, cols);
      return hn__error_nomem(err, "collecting results");
    }
    c->chunks = p;
    c->cap_chunks = cap;
  }
  c->chunks[c->n_chunks++] = (cchunk){first, count, cols};
  return HN_OK;
}

hn_status hn__collector_add_record(hn__collector *c, int64_t item, const char *path,
                                   const char *node, const char *message, hn_error *err) {
  if (hn__records_add(&c->alloc, &c->recs, item, HN_ENODE, path, node, message) != HN_OK)
    return hn__error_nomem(err, "collecting error records");
  return HN_OK;
}

hn_status hn__collector_add_record_attempts(hn__collector *c, int64_t item, const char *path,
                                            const char *node, const char *message, int64_t attempts,
                                            const char *messages, hn_error *err) {
  if (hn__records_add_attempts(&c->alloc, &c->recs, item, HN_ENODE, path, node, message, attempts,
                               messages) != HN_OK)
    return hn__error_nomem(err, "collecting error records");
  return HN_OK;
}

void hn__collector_add_abandoned(hn__collector *c, int64_t n) {
  c->abandoned += n;
}

hn_status hn__collector_add_records(hn__collector *c, hn__records *rs, int64_t item_base,
                                    hn_error *err) {
  if (hn__records_move(&c->alloc, &c->recs, rs, item_base) != HN_OK)
    return hn__error_nomem(err, "collecting error records");
  return HN_OK;
}

/* One row of nulls for every requested output. */
static hn_status null_row(hn__collector *c, hn_array ***out, hn_error *err) {
  const hn_plan *plan = c->x->plan;
  hn_array **cols =
      hn__calloc(&c->alloc, (size_t)(plan->n_requested ? plan->n_requested : 1), sizeof *cols);
  if (!cols) return hn__error_nomem(err, "recording a lost item");
  hn_status st = HN_OK;
  for (int64_t r = 0; r < plan->n_requested && st == HN_OK; r++)
    st = hn__array_nulls(&c->alloc, plan->slot_types[plan->requested_slots[r]], 1, &cols[r], err);
  if (st != HN_OK) {
    free_cols(c, cols);
    return st;
  }
  *out = cols;
  return HN_OK;
}

hn_status hn__collector_add_lost(hn__collector *c, int64_t item, const char *node,
                                 const char *message, hn_error *err) {
  const hn__call *x = c->x;
  char path[32] = "";
  if (x->is_map) snprintf(path, sizeof path, "%lld", (long long)hn__call_item(x, item));
  if (x->policy != HN_ERRORS_CONTINUE) {
    hn_error e;
    hn_error_reset(&e);
    hn__node_error(&e, HN_ENODE, node, path, message);
    hn__collector_fail(c, item, HN_ENODE, &e);
    return HN_OK;
  }
  hn_array **cols = NULL;
  hn_status st = null_row(c, &cols, err);
  if (st == HN_OK) st = hn__collector_add_chunk(c, item, 1, cols, err);
  if (st == HN_OK)
    st = hn__collector_add_record(c, x->is_map ? hn__call_item(x, item) : 0, path, node ? node : "",
                                  message, err);
  return st;
}

/* ---- finishing ----------------------------------------------------------------- */

static int chunk_cmp(const void *a, const void *b) {
  const cchunk *x = a, *y = b;
  return x->first < y->first ? -1 : x->first > y->first;
}

static hn_status result_schema(const hn__collector *c, const hn_type **out, hn_error *err) {
  const hn_plan *plan = c->x->plan;
  int64_t n = plan->n_requested;
  const hn_type **types = hn__calloc(&c->alloc, (size_t)(n ? n : 1), sizeof *types);
  if (!types) return hn__error_nomem(err, "building the result schema");
  for (int64_t r = 0; r < n; r++) types[r] = plan->slot_types[plan->requested_slots[r]];
  hn_status st = hn_type_struct_create(&c->alloc, n, plan->requested_names, types, out, err);
  hn__free(&c->alloc, (void *)types);
  return st;
}

/* The chunks as record batches, in item order (no copy). Takes `schema`. */
static hn_status keep_chunks(hn__collector *c, const hn_type *schema, hn_table ***out,
                             hn_error *err) {
  hn_table **tables = hn__calloc(&c->alloc, (size_t)c->n_chunks, sizeof *tables);
  hn_status st = tables ? HN_OK : hn__error_nomem(err, "for the result's chunks");
  for (int64_t k = 0; k < c->n_chunks && st == HN_OK; k++) {
    st = hn__table_make(&c->alloc, hn_type_retain(schema), c->chunks[k].count, c->chunks[k].cols,
                        &tables[k], err);
    hn__free(&c->alloc, c->chunks[k].cols); /* the table took the columns */
    c->chunks[k].cols = NULL;
  }
  hn_type_release(schema);
  if (st != HN_OK) {
    for (int64_t k = 0; tables && k < c->n_chunks; k++) hn_table_release(tables[k]);
    hn__free(&c->alloc, tables);
    return st;
  }
  *out = tables;
  return HN_OK;
}

/* The chunks joined into one table (objects moved, not copied). Takes `schema`. */
static hn_status join_chunks(hn__collector *c, const hn_type *schema, hn_table **out,
                             hn_error *err) {
  const hn_plan *plan = c->x->plan;
  int64_t n_req = plan->n_requested;
  hn_array **cols = hn__calloc(&c->alloc, (size_t)(n_req ? n_req : 1), sizeof *cols);
  hn_array **parts = hn__calloc(&c->alloc, (size_t)(c->n_chunks ? c->n_chunks : 1), sizeof *parts);
  hn_status st = cols && parts ? HN_OK : hn__error_nomem(err, "assembling the result");
  for (int64_t r = 0; r < n_req && st == HN_OK; r++) {
    for (int64_t k = 0; k < c->n_chunks; k++) parts[k] = c->chunks[k].cols[r];
    st = hn__array_concat(&c->alloc, plan->slot_types[plan->requested_slots[r]], c->n_chunks, parts,
                          true, &cols[r], err);
  }
  hn__free(&c->alloc, parts);
  if (st == HN_OK) {
    st = hn__table_make(&c->alloc, schema, c->x->n_items, cols, out, err);
  } else {
    for (int64_t r = 0; cols && r < n_req; r++) hn_array_release(cols[r]);
    hn_type_release(schema);
  }
  hn__free(&c->alloc, cols);
  return st;
}

/* Every item of [0, n_items) is covered once, in order. */
static hn_status check_coverage(hn__collector *c, hn_error *err) {
  if (c->n_chunks > 1) qsort(c->chunks, (size_t)c->n_chunks, sizeof *c->chunks, chunk_cmp);
  int64_t next = 0;
  for (int64_t k = 0; k < c->n_chunks && c->chunks[k].first == next; k++)
    next += c->chunks[k].count;
  if (next == c->x->n_items) return HN_OK;
  return hn__error(err, HN_EINTERNAL, "results cover items [0, %lld) of %lld", (long long)next,
                   (long long)c->x->n_items);
}

hn_status hn__collector_finish(hn__collector *c, hn_result **out, hn_error *err) {
  const hn__call *x = c->x;
  if (c->fail_item != INT64_MAX) {
    if (err) *err = c->fail_err;
    return c->fail_status;
  }
  bool empty = x->n_items == 0 || x->served_only;
  hn_status st = empty ? HN_OK : check_coverage(c, err);
  const hn_type *schema = NULL;
  if (st == HN_OK) st = result_schema(c, &schema, err);
  if (st != HN_OK) return st;
  hn_result_stats stats = {0};
  if (empty) { /* no rows: whatever an engine produced for zero items is dropped */
    hn_table *t = NULL;
    st = hn_table_create_empty(&c->alloc, schema, &t, err);
    hn_type_release(schema);
    return st == HN_OK ? hn__result_make(&c->alloc, t, NULL, &stats, out, err) : st;
  }
  hn_table *errors = NULL;
  hn__records_sort(&c->recs);
  if (c->recs.n > 0) st = hn__records_table(&c->alloc, &c->recs, &errors, err);
  stats.n_items = x->n_items;
  stats.n_failed = c->recs.n;
  stats.resource_inits = c->inits;
  stats.resource_destroys = c->destroys;
  stats.workers = c->workers;
  stats.cache_hits = c->cache_hits;
  stats.cache_misses = c->cache_misses;
  stats.cache_bytes_read = c->cache_read;
  stats.cache_bytes_written = c->cache_written;
  stats.calls_abandoned = c->abandoned;
  bool keep = c->n_chunks > 1 && x->n_items / c->n_chunks >= c->keep_min_rows;
  if (st != HN_OK) {
    hn_type_release(schema);
  } else if (keep) {
    hn_table **tables = NULL;
    st = keep_chunks(c, schema, &tables, err);
    if (st == HN_OK)
      return hn__result_make_chunked(&c->alloc, c->n_chunks, tables, errors, &stats, out, err);
  } else {
    hn_table *t = NULL;
    st = join_chunks(c, schema, &t, err);
    if (st == HN_OK) return hn__result_make(&c->alloc, t, errors, &stats, out, err);
  }
  hn_table_release(errors);
  return st;
}

/* Rows of nulls for the items [first, first+count) no chunk covers. */
static hn_status null_chunk(hn__collector *c, int64_t first, int64_t count, hn_error *err) {
  const hn_plan *plan = c->x->plan;
  hn_array **cols =
      hn__calloc(&c->alloc, (size_t)(plan->n_requested ? plan->n_requested : 1), sizeof *cols);
  if (!cols) return hn__error_nomem(err, "filling a stopped call's result");
  hn_status st = HN_OK;
  for (int64_t r = 0; r < plan->n_requested && st == HN_OK; r++) {
    hn_builder *b = NULL; /* nulls appended in bulk (fast for a million rows) */
    st = hn_builder_create(&c->alloc, plan->slot_types[plan->requested_slots[r]], &b, err);
    if (st == HN_OK) st = hn_builder_append_nulls(b, count);
    if (st == HN_OK) st = hn_builder_finish(b, &cols[r], err);
    hn_builder_destroy(b);
  }
  if (st != HN_OK) {
    free_cols(c, cols);
    return st == HN_ENOMEM ? hn__error_nomem(err, "filling a stopped call's result") : st;
  }
  return hn__collector_add_chunk(c, first, count, cols, err);
}

hn_status hn__collector_finish_stopped(hn__collector *c, hn_status st, const hn_error *stop_err,
                                       hn_result **out, hn_error *err) {
  if (c->x->policy != HN_ERRORS_CONTINUE || c->x->served_only) {
    if (err && stop_err) *err = *stop_err;
    return st;
  }
  c->fail_item = INT64_MAX; /* failures under continue are records, not a call failure */
  c->keep_min_rows = 0;     /* what finished and the nulls stay record batches: no copy */
  if (c->n_chunks > 1) qsort(c->chunks, (size_t)c->n_chunks, sizeof *c->chunks, chunk_cmp);
  int64_t n_have = c->n_chunks, next = 0;
  hn_status rc = HN_OK;
  for (int64_t k = 0; k <= n_have && rc == HN_OK; k++) {
    int64_t first = k < n_have ? c->chunks[k].first : c->x->n_items;
    if (first > next) rc = null_chunk(c, next, first - next, err);
    if (k < n_have) next = c->chunks[k].first + c->chunks[k].count;
  }
  if (rc == HN_OK) rc = hn__collector_finish(c, out, err);
  if (rc != HN_OK) return rc;
  if (err && stop_err) *err = *stop_err;
  return st;
}
