/*
 * Array operations engines ask of the data layer: rows taken by index,
 * columns of nulls, list arrays laid over a child, a column as one list
 * value, and moving an object out of an array held by one owner. Nothing
 * above the data layer touches a buffer's fields.
 */
#include "data_internal.h"

hn_status hn__array_take(const hn_allocator *alloc, const hn_type *type, const hn_array *src,
                         const int64_t *idx, const uint8_t *nul, int64_t n, hn_array **out,
                         hn_error *err) {
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(alloc, type, &b, err);
  if (st != HN_OK) return st;
  st = hn_builder_reserve(b, n);
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    if (!src || (nul && nul[i]))
      st = hn_builder_append_null(b);
    else
      st = hn_builder_append_datum(b, hn_array_get(src, idx ? idx[i] : i));
  }
  if (st != HN_OK) {
    st = hn__error(err, st, "copying rows of a column: %s", hn_builder_last_error(b));
    hn_builder_destroy(b);
    return st;
  }
  st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  return st;
}

hn_status hn__array_nulls(const hn_allocator *alloc, const hn_type *type, int64_t n, hn_array **out,
                          hn_error *err) {
  return hn__array_take(alloc, type, NULL, NULL, NULL, n, out, err);
}

/* A validity bitmap of n rows, row i valid unless null_rows[i]; NULL (no bitmap) when none is. */
static hn_status list_validity(const hn_allocator *a, int64_t n, const uint8_t *null_rows,
                               int64_t *nulls, hn_buffer **out) {
  *nulls = 0;
  *out = NULL;
  for (int64_t i = 0; null_rows && i < n; i++) *nulls += null_rows[i] ? 1 : 0;
  if (*nulls == 0) return HN_OK;
  hn_buffer *v = hn__buffer_new(a, hn_bytes_for_bits(n));
  if (!v) return HN_ENOMEM;
  memset(v->data, 0, (size_t)hn_bytes_for_bits(n));
  v->size = hn_bytes_for_bits(n);
  for (int64_t i = 0; i < n; i++)
    if (!null_rows[i]) hn_bit_set(v->data, i);
  hn__buffer_zero_padding(v);
  *out = v;
  return HN_OK;
}

hn_status hn__array_list(const hn_allocator *alloc, const hn_type *list_type, int64_t n,
                         const int64_t *starts, const uint8_t *null_rows, hn_array *child,
                         hn_array **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  if (starts[n] > INT32_MAX) {
    hn_array_release(child);
    return hn__error(err, HN_ERANGE, "a list array of %lld items (more than INT32_MAX)",
                     (long long)starts[n]);
  }
  hn_buffer *offs = hn__buffer_new(&a, 4 * (n + 1)), *valid = NULL;
  int64_t nulls = 0;
  if (!offs || list_validity(&a, n, null_rows, &nulls, &valid) != HN_OK) {
    hn_buffer_release(offs);
    hn_array_release(child);
    return hn__error_nomem(err, "laying out a list array");
  }
  for (int64_t i = 0; i <= n; i++) ((int32_t *)offs->data)[i] = (int32_t)starts[i];
  offs->size = 4 * (n + 1);
  hn__buffer_zero_padding(offs);
  return hn__array_make(&a, list_type, n, 0, nulls, valid, offs, NULL, 1, &child, out, err);
}

hn_status hn__array_as_list(const hn_allocator *alloc, hn_array *column, hn_array **out,
                            hn_error *err) {
  if (column->length > INT32_MAX)
    return hn__error(err, HN_ERANGE, "a column of %lld rows cannot be passed as one list value",
                     (long long)column->length);
  const hn_type *type = NULL;
  hn_status st = hn_type_list_create(alloc, column->type, &type, err);
  if (st != HN_OK) return st;
  const int64_t starts[2] = {0, column->length};
  st = hn__array_list(alloc, type, 1, starts, NULL, hn_array_retain(column), out, err);
  hn_type_release(type);
  return st;
}

void *hn__array_steal_object(hn_array *array, int64_t row) {
  hn_buffer *vals = array->buffers[1];
  if (array->type->id != HN_TYPE_OBJECT || !vals || hn_array_is_null(array, row) ||
      atomic_load(&array->refcount) != 1 || atomic_load(&vals->refcount) != 1 || vals->parent ||
      vals->release_fn)
    return NULL;
  void **slot = &((void **)vals->data)[array->offset + row];
  void *object = *slot;
  *slot = NULL; /* the buffer frees NULL slots as nothing */
  return object;
}

int64_t hn__array_nbytes(const hn_array *array) {
  int64_t bytes = 0;
  for (int k = 0; k < 3; k++)
    if (array->buffers[k]) bytes += array->buffers[k]->size;
  for (int64_t c = 0; c < array->n_children; c++) bytes += hn__array_nbytes(array->children[c]);
  return bytes;
}

int64_t hn__table_bytes(const hn_table *table) {
  int64_t bytes = 0;
  for (int64_t c = 0; c < table->n_columns; c++) bytes += hn__array_nbytes(table->columns[c]);
  return bytes;
}
