/**
 * @file table.h
 * Tables (record batches): named, equal-length columns. A table is immutable
 * and reference-counted; it may be shared by threads like an array.
 */
#ifndef HYPERNODES_TABLE_H
#define HYPERNODES_TABLE_H

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hn_table hn_table;

/**
 * Create a table from `n_columns` arrays (each retained) and their names
 * (copied; non-empty, distinct). All columns must have the same length.
 * Returns HN_OK, HN_EINVAL (names, lengths, NULLs) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_table_create(const hn_allocator *alloc, int64_t n_columns,
                                              const char *const *names, hn_array *const *columns,
                                              hn_table **out, hn_error *err);
/** An empty (0-row) table whose schema is the struct type `schema`. */
HN_API HN_NODISCARD hn_status hn_table_create_empty(const hn_allocator *alloc,
                                                    const hn_type *schema, hn_table **out,
                                                    hn_error *err);
/** Add a reference; returns `table`. Thread-safe. NULL is allowed. */
HN_API hn_table *hn_table_retain(hn_table *table);
/** Drop a reference; frees at zero (columns live on while shared). Thread-safe. NULL is a no-op. */
HN_API void hn_table_release(hn_table *table);

/** Number of rows (every column has that length). */
HN_API int64_t hn_table_num_rows(const hn_table *table);
/** Number of columns (the schema's field count). */
HN_API int64_t hn_table_num_columns(const hn_table *table);
/** Column i (borrowed) or NULL when out of range. */
HN_API hn_array *hn_table_column(const hn_table *table, int64_t i);
/** Name of column i (borrowed) or NULL. */
HN_API const char *hn_table_column_name(const hn_table *table, int64_t i);
/** Index of the column called `name`, or -1. */
HN_API int64_t hn_table_column_index(const hn_table *table, const char *name);
/** Column called `name` (borrowed) or NULL. */
HN_API hn_array *hn_table_column_by_name(const hn_table *table, const char *name);
/** The table's schema as a struct type (borrowed). */
HN_API const hn_type *hn_table_schema(const hn_table *table);
/** The allocator the table was created with (borrowed). */
HN_API const hn_allocator *hn_table_allocator(const hn_table *table);

/** Zero-copy slice of rows [offset, offset + length). */
HN_API HN_NODISCARD hn_status hn_table_slice(hn_table *table, int64_t offset, int64_t length,
                                             hn_table **out, hn_error *err);
/** Same column names, types and values. */
HN_API bool hn_table_equals(const hn_table *a, const hn_table *b);
/** hn_array_validate on every column; the message names the column. */
HN_API HN_NODISCARD hn_status hn_table_validate(const hn_table *table, bool check_utf8,
                                                hn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_TABLE_H */
