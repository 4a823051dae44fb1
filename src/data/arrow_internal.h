/*
 * Helpers shared by validate.c and the Arrow interop files (arrow_export.c,
 * arrow_import.c, arrow_stream.c). Not installed; symbols use hn__.
 */
#ifndef HN_ARROW_INTERNAL_H
#define HN_ARROW_INTERNAL_H

#include "data_internal.h"

/* Room for a column path such as "a.b[][].c"; longer paths are truncated. */
#define HN__COLUMN_PATH_MAX 256

/*
 * Write into dst (cap bytes, always NUL-terminated) the path of a child
 * column: "parent[]" for a list's items (field == NULL), "parent.field" for a
 * struct field, or just "field" when parent is empty.
 */
void hn__column_path_child(char *dst, size_t cap, const char *parent, const char *field);

/*
 * Fill err with "column 'path': <message>" ("array: <message>" when the path
 * is empty or NULL) and return code.
 */
hn_status hn__column_error(hn_error *err, hn_status code, const char *path, const char *fmt, ...)
    HN__PRINTF(4, 5);

/*
 * Most rows accepted, from untrusted input (deserialisation, Arrow import),
 * in an array whose rows no buffer backs: a struct without a validity bitmap
 * whose fields are all such arrays (struct<> above all), and a table with no
 * columns. Declaring rows there costs 8 bytes, yet everything downstream
 * works per row (a map calls its nodes per item, rows materialise a datum
 * per row): a 72-byte table declaring 2^59 - 1 rows made a map run for
 * minutes before failing with HN_ENOMEM. Arrays with a buffer are bounded
 * by the bytes behind them and need no such limit. INT32_MAX because it is
 * the most rows any array of this library holds when built (builder.h), the
 * most items an int32 list offset can address, and the length below which
 * Arrow keeps arrays for cross-language use (larger data comes in more
 * batches).
 */
#define HN__MAX_UNBACKED_ROWS INT32_MAX

/*
 * Check `array` and, recursively, its children against HN__MAX_UNBACKED_ROWS:
 * fail with `code` and a message naming the column path and the row count
 * when an array with no buffer behind its rows has more. HN_OK otherwise.
 */
hn_status hn__check_unbacked_rows(const hn_array *array, const char *path, hn_status code,
                                  hn_error *err);

/*
 * Fail with HN_EUNSUPPORTED, naming the column, when `type` (the column at
 * `path`) is or contains an object type; HN_OK otherwise. Allocates nothing.
 */
hn_status hn__check_exportable(const hn_type *type, const char *path, hn_error *err);

/*
 * Export `type` as a schema named `name` (NULL allowed) whose top-level flags
 * are `flags` (nested fields are always ARROW_FLAG_NULLABLE). Allocates with
 * `alloc`. On failure *out is released (release == NULL).
 */
hn_status hn__schema_export(const hn_allocator *alloc, const hn_type *type, const char *name,
                            int64_t flags, struct ArrowSchema *out, hn_error *err);

#endif /* HN_ARROW_INTERNAL_H */
