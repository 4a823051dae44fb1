/* Tables: a struct schema plus equal-length columns. */
#include "data_internal.h"

hn_status hn__table_make(const hn_allocator *alloc, const hn_type *schema, int64_t n_rows,
                         hn_array **columns, hn_table **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  int64_t n = schema->n_fields;
  hn_table *t = hn__calloc(&a, 1, sizeof *t);
  hn_array **cols = t && n > 0 ? hn__calloc(&a, (size_t)n, sizeof(hn_array *)) : NULL;
  if (!t || (n > 0 && !cols)) {
    hn__free(&a, t);
    for (int64_t i = 0; i < n; i++) hn_array_release(columns[i]);
    hn_type_release(schema);
    return hn__error_nomem(err, "for a table");
  }
  if (n > 0) memcpy(cols, columns, sizeof(hn_array *) * (size_t)n);
  atomic_init(&t->refcount, 1);
  t->alloc = a;
  t->schema = schema;
  t->n_rows = n_rows;
  t->n_columns = n;
  t->columns = cols;
  *out = t;
  return HN_OK;
}

hn_status hn_table_create(const hn_allocator *alloc, int64_t n_columns, const char *const *names,
                          hn_array *const *columns, hn_table **out, hn_error *err) {
  if (!out || n_columns < 0 || (n_columns > 0 && (!names || !columns)))
    return hn__error(err, HN_EINVAL, "hn_table_create: NULL argument or negative count");
  const hn_type *types_local[16];
  hn_allocator a = hn__allocator_resolve(alloc);
  const hn_type **types = types_local;
  for (int64_t i = 0; i < n_columns; i++) {
    if (!columns[i])
      return hn__error(err, HN_EINVAL, "column %lld ('%s') is NULL", (long long)i,
                       names[i] ? names[i] : "");
    if (columns[i]->length != columns[0]->length)
      return hn__error(err, HN_EINVAL, "column '%s' has %lld rows but column '%s' has %lld",
                       names[i] ? names[i] : "", (long long)columns[i]->length,
                       names[0] ? names[0] : "", (long long)columns[0]->length);
  }
  if (n_columns > 16) {
    types = hn__calloc(&a, (size_t)n_columns, sizeof(hn_type *));
    if (!types) return hn__error_nomem(err, "for a table");
  }
  for (int64_t i = 0; i < n_columns; i++) types[i] = columns[i]->type;
  const hn_type *schema = NULL;
  hn_status st = hn_type_struct_create(&a, n_columns, names, types, &schema, err);
  if (types != types_local) hn__free(&a, (void *)types);
  if (st != HN_OK) {
    if (st == HN_EINVAL && err) {
      char msg[HN_ERROR_MESSAGE_MAX];
      memcpy(msg, err->message, sizeof msg);
      hn__error(err, HN_EINVAL, "table column names: %s", msg);
    }
    return st;
  }
  hn_array *cols_local[16];
  hn_array **cols = cols_local;
  if (n_columns > 16) {
    cols = hn__calloc(&a, (size_t)n_columns, sizeof(hn_array *));
    if (!cols) {
      hn_type_release(schema);
      return hn__error_nomem(err, "for a table");
    }
  }
  for (int64_t i = 0; i < n_columns; i++) cols[i] = hn_array_retain(columns[i]);
  st = hn__table_make(&a, schema, n_columns ? columns[0]->length : 0, cols, out, err);
  if (cols != cols_local) hn__free(&a, cols);
  return st;
}

hn_status hn_table_create_empty(const hn_allocator *alloc, const hn_type *schema, hn_table **out,
                                hn_error *err) {
  if (!schema || !out) return hn__error(err, HN_EINVAL, "hn_table_create_empty: NULL argument");
  if (schema->id != HN_TYPE_STRUCT)
    return hn__error(err, HN_ETYPE, "a table schema must be a struct type, not %s",
                     hn_type_id_name(schema->id));
  hn_allocator a = hn__allocator_resolve(alloc);
  int64_t n = schema->n_fields;
  hn_array **cols = hn__calloc(&a, (size_t)(n > 0 ? n : 1), sizeof(hn_array *));
  if (!cols) return hn__error_nomem(err, "for a table");
  hn_status st = HN_OK;
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    hn_builder *b = NULL;
    st = hn_builder_create(&a, schema->fields[i], &b, err);
    if (st == HN_OK) st = hn_builder_finish(b, &cols[i], err);
    hn_builder_destroy(b);
  }
  if (st != HN_OK) {
    for (int64_t i = 0; i < n; i++) hn_array_release(cols[i]);
  } else {
    st = hn__table_make(&a, hn_type_retain(schema), 0, cols, out, err);
  }
  hn__free(&a, cols);
  return st;
}

hn_table *hn_table_retain(hn_table *t) {
  if (t) atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
  return t;
}

void hn_table_release(hn_table *t) {
  if (!t || atomic_fetch_sub_explicit(&t->refcount, 1, memory_order_acq_rel) != 1) return;
  for (int64_t i = 0; i < t->n_columns; i++) hn_array_release(t->columns[i]);
  hn_type_release(t->schema);
  hn_allocator a = t->alloc;
  hn__free(&a, t->columns);
  hn__free(&a, t);
}

/* Getters follow the NULL rule of common.h: a NULL table has no rows, columns or schema. */
int64_t hn_table_num_rows(const hn_table *t) {
  return t ? t->n_rows : 0;
}
int64_t hn_table_num_columns(const hn_table *t) {
  return t ? t->n_columns : 0;
}
hn_array *hn_table_column(const hn_table *t, int64_t i) {
  return t && i >= 0 && i < t->n_columns ? t->columns[i] : NULL;
}
const char *hn_table_column_name(const hn_table *t, int64_t i) {
  return t ? hn_type_field_name(t->schema, i) : NULL;
}
int64_t hn_table_column_index(const hn_table *t, const char *name) {
  return t ? hn_type_field_index(t->schema, name) : -1;
}
hn_array *hn_table_column_by_name(const hn_table *t, const char *name) {
  return hn_table_column(t, hn_table_column_index(t, name));
}
const hn_type *hn_table_schema(const hn_table *t) {
  return t ? t->schema : NULL;
}
const hn_allocator *hn_table_allocator(const hn_table *t) {
  return t ? &t->alloc : NULL;
}

hn_status hn_table_slice(hn_table *t, int64_t offset, int64_t length, hn_table **out,
                         hn_error *err) {
  if (!t || !out) return hn__error(err, HN_EINVAL, "hn_table_slice: NULL argument");
  if (offset < 0 || length < 0 || offset > t->n_rows || length > t->n_rows - offset)
    return hn__error(err, HN_ERANGE, "slice [%lld, +%lld) outside a table of %lld rows",
                     (long long)offset, (long long)length, (long long)t->n_rows);
  hn_array **cols =
      hn__calloc(&t->alloc, (size_t)(t->n_columns ? t->n_columns : 1), sizeof(hn_array *));
  if (!cols) return hn__error_nomem(err, "for a table slice");
  hn_status st = HN_OK;
  for (int64_t i = 0; i < t->n_columns && st == HN_OK; i++)
    st = hn_array_slice(t->columns[i], offset, length, &cols[i], err);
  if (st == HN_OK) {
    st = hn__table_make(&t->alloc, hn_type_retain(t->schema), length, cols, out, err);
  } else {
    for (int64_t i = 0; i < t->n_columns; i++) hn_array_release(cols[i]);
  }
  hn__free(&t->alloc, cols);
  return st;
}

bool hn_table_equals(const hn_table *a, const hn_table *b) {
  if (a == b) return true;
  if (!a || !b || a->n_rows != b->n_rows || !hn_type_equals(a->schema, b->schema)) return false;
  for (int64_t i = 0; i < a->n_columns; i++)
    if (!hn_array_equals(a->columns[i], b->columns[i])) return false;
  return true;
}

hn_status hn_table_validate(const hn_table *t, bool check_utf8, hn_error *err) {
  if (!t) return hn__error(err, HN_EINVAL, "hn_table_validate: NULL table");
  for (int64_t i = 0; i < t->n_columns; i++) {
    if (t->columns[i]->length != t->n_rows)
      return hn__error(err, HN_ECORRUPT, "column '%s' has %lld rows, the table %lld",
                       t->schema->names[i], (long long)t->columns[i]->length, (long long)t->n_rows);
    hn_status st = hn__array_validate_path(t->columns[i], check_utf8, t->schema->names[i], err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}
