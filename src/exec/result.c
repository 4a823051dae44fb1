/* Results of a run or map: the output table, error records and statistics. */
#include "exec_internal.h"

/* Arrow's format for timestamp[ns, UTC]: the error table's time column, exported. */
#define TIME_FORMAT "tsn:UTC"

static hn_status empty_error_table(const hn_allocator *alloc, hn_table **out, hn_error *err) {
  const hn_type *schema = NULL;
  hn_status st = hn__error_table_schema(alloc, &schema, err);
  if (st == HN_OK) st = hn_table_create_empty(alloc, schema, out, err);
  hn_type_release(schema);
  return st;
}

/*
 * r's error tables from `errors` (taken): a timed table (a last column
 * "time") is kept as errors_timed and shown by hn_result_errors as a table
 * of its first HN__ERROR_COLUMNS columns (the same arrays).
 */
static hn_status set_errors(hn_result *r, hn_table *errors, hn_error *err) {
  enum { N = HN__ERROR_COLUMNS };
  if (hn_table_num_columns(errors) != N + 1 ||
      strcmp(hn_table_column_name(errors, N), "time") != 0) {
    r->errors = errors;
    return HN_OK;
  }
  const hn_type *schema = NULL;
  hn_status st = hn__error_table_schema(&r->alloc, &schema, err);
  hn_array *cols[N];
  for (int i = 0; i < N; i++) cols[i] = hn_array_retain(hn_table_column(errors, i));
  if (st == HN_OK) {
    st = hn__table_make(&r->alloc, schema, hn_table_num_rows(errors), cols, &r->errors, err);
  } else {
    for (int i = 0; i < N; i++) hn_array_release(cols[i]);
  }
  if (st != HN_OK) {
    hn_table_release(errors);
    return st;
  }
  r->errors_timed = errors;
  return HN_OK;
}

hn_status hn__result_make(const hn_allocator *alloc, hn_table *table, hn_table *errors,
                          const hn_result_stats *stats, hn_result **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_status st = HN_OK;
  if (!table || !out) st = hn__error(err, HN_EINVAL, "hn__result_make: NULL table or output");
  if (st == HN_OK && !errors) st = empty_error_table(&a, &errors, err);
  hn_result *r = st == HN_OK ? hn__calloc(&a, 1, sizeof *r) : NULL;
  if (st == HN_OK && !r) st = hn__error_nomem(err, "for a result");
  if (st != HN_OK) {
    hn_table_release(table);
    hn_table_release(errors);
    return st;
  }
  r->alloc = a;
  pthread_mutex_init(&r->lock, NULL);
  r->table = table;
  if (stats) r->stats = *stats;
  st = set_errors(r, errors, err);
  if (st != HN_OK) {
    hn_result_destroy(r);
    return st;
  }
  *out = r;
  return HN_OK;
}

static void release_chunks(const hn_allocator *a, int64_t n, hn_table **chunks) {
  for (int64_t k = 0; k < n; k++) hn_table_release(chunks[k]);
  hn__free(a, chunks);
}

hn_status hn__result_make_chunked(const hn_allocator *alloc, int64_t n_chunks, hn_table **chunks,
                                  hn_table *errors, const hn_result_stats *stats, hn_result **out,
                                  hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_status st = HN_OK;
  if (n_chunks < 1 || !chunks || !out)
    st = hn__error(err, HN_EINVAL, "hn__result_make_chunked: no chunks or no output");
  if (st == HN_OK && !errors) st = empty_error_table(&a, &errors, err);
  hn_result *r = st == HN_OK ? hn__calloc(&a, 1, sizeof *r) : NULL;
  if (st == HN_OK && !r) st = hn__error_nomem(err, "for a result");
  if (st != HN_OK) {
    if (chunks) release_chunks(&a, n_chunks, chunks);
    hn_table_release(errors);
    return st;
  }
  r->alloc = a;
  pthread_mutex_init(&r->lock, NULL);
  r->n_chunks = n_chunks;
  r->chunks = chunks;
  if (stats) r->stats = *stats;
  st = set_errors(r, errors, err);
  if (st != HN_OK) {
    hn_result_destroy(r);
    return st;
  }
  *out = r;
  return HN_OK;
}

/* Join the chunks into one table (under the lock). NULL when out of memory. */
static hn_table *join_chunks(hn_result *r) {
  const hn_table *first = r->chunks[0];
  int64_t n_cols = first->n_columns, n_rows = 0;
  for (int64_t k = 0; k < r->n_chunks; k++) n_rows += r->chunks[k]->n_rows;
  hn_array **cols = hn__calloc(&r->alloc, (size_t)(n_cols ? n_cols : 1), sizeof *cols);
  hn_array **parts = hn__calloc(&r->alloc, (size_t)r->n_chunks, sizeof *parts);
  hn_status st = cols && parts ? HN_OK : HN_ENOMEM;
  for (int64_t c = 0; c < n_cols && st == HN_OK; c++) {
    for (int64_t k = 0; k < r->n_chunks; k++) parts[k] = r->chunks[k]->columns[c];
    st = hn__array_concat(&r->alloc, first->schema->fields[c], r->n_chunks, parts, false, &cols[c],
                          NULL);
  }
  hn_table *t = NULL;
  if (st == HN_OK) {
    st = hn__table_make(&r->alloc, hn_type_retain(first->schema), n_rows, cols, &t, NULL);
  } else {
    for (int64_t c = 0; cols && c < n_cols; c++) hn_array_release(cols[c]);
  }
  hn__free(&r->alloc, cols);
  hn__free(&r->alloc, parts);
  return st == HN_OK ? t : NULL;
}

void hn_result_destroy(hn_result *result) {
  if (!result) return;
  release_chunks(&result->alloc, result->n_chunks, result->chunks);
  pthread_mutex_destroy(&result->lock);
  hn_table_release(result->table);
  hn_table_release(result->errors);
  hn_table_release(result->errors_timed);
  hn_allocator a = result->alloc;
  hn__free(&a, result);
}

hn_table *hn_result_table(const hn_result *result) {
  if (!result) return NULL;
  hn_result *r = (hn_result *)result; /* joining chunks is a cache, not a change */
  pthread_mutex_lock(&r->lock);
  if (!r->table && r->n_chunks > 0) r->table = join_chunks(r);
  hn_table *t = r->table;
  pthread_mutex_unlock(&r->lock);
  return t;
}

int64_t hn_result_num_chunks(const hn_result *result) {
  if (!result) return 0;
  return result->n_chunks > 0 ? result->n_chunks : 1;
}

hn_table *hn_result_chunk(const hn_result *result, int64_t i) {
  if (!result || i < 0 || i >= hn_result_num_chunks(result)) return NULL;
  return result->n_chunks > 0 ? result->chunks[i] : result->table;
}

hn_table *hn_result_errors(const hn_result *result) {
  return result ? result->errors : NULL;
}

void hn_result_get_stats(const hn_result *result, hn_result_stats *stats, size_t size) {
  if (!stats) return;
  hn_result_stats s = {0};
  if (result) s = result->stats;
  memcpy(stats, &s, size < sizeof s ? size : sizeof s); /* older callers: their members only */
}

hn_status hn_result_export_stream(const hn_result *result, struct ArrowArrayStream *out,
                                  hn_error *err) {
  if (!result || !out) {
    if (out) out->release = NULL;
    return hn__error(err, HN_EINVAL, "hn_result_export_stream: NULL argument");
  }
  if (result->n_chunks > 0) /* one record batch per chunk: nothing joined, nothing copied */
    return hn_table_stream_export(result->chunks[0]->schema, result->n_chunks, result->chunks, out,
                                  err);
  hn_table *const tables[1] = {result->table};
  return hn_table_stream_export(result->table->schema, 1, tables, out, err);
}

/* The records with their time; a null time for records made without one. */
static hn_status timed_errors(const hn_result *r, hn_table **out, hn_error *err) {
  if (r->errors_timed) {
    *out = hn_table_retain(r->errors_timed);
    return HN_OK;
  }
  enum { N = HN__ERROR_COLUMNS };
  const hn_table *e = r->errors;
  int64_t n = hn_table_num_rows(e);
  const char *names[N + 1];
  hn_array *cols[N + 1];
  for (int i = 0; i < N; i++) {
    names[i] = hn_table_column_name(e, i);
    cols[i] = hn_table_column(e, i);
  }
  names[N] = "time";
  hn_status st = hn__array_nulls(&r->alloc, hn_type_int64(), n, &cols[N], err);
  if (st == HN_OK) st = hn_table_create(&r->alloc, N + 1, names, cols, out, err);
  hn_array_release(cols[N]);
  return st;
}

hn_status hn_result_export_errors(const hn_result *result, struct ArrowSchema *schema,
                                  struct ArrowArray *array, hn_error *err) {
  if (schema) schema->release = NULL;
  if (array) array->release = NULL;
  if (!result || !schema || !array)
    return hn__error(err, HN_EINVAL, "hn_result_export_errors: NULL argument");
  hn_table *t = NULL;
  hn_status st = timed_errors(result, &t, err);
  if (st == HN_OK) st = hn_table_export(t, schema, array, err);
  hn_table_release(t);
  if (st != HN_OK) return st;
  /* The time column's int64 nanoseconds are, bit for bit, an Arrow timestamp[ns, UTC]:
   * only the format string differs (a static string, which release never frees). */
  schema->children[HN__ERROR_COLUMNS]->format = TIME_FORMAT;
  return HN_OK;
}
