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
