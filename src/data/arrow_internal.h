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

/*
 * Export `indices` (an integer array) with `dict` as its dictionary: the
 * schema's format is the index type's, its `dictionary` the dictionary's
 * schema; the array's `dictionary` the dictionary's data. Zero copy, as
 * every export. `schema_out` may be NULL.
 */
hn_status hn__export_dictionary_encoded(const hn_array *indices, const hn_array *dict,
                                        struct ArrowSchema *schema_out,
                                        struct ArrowArray *array_out, hn_error *err);

/* How import reads a format whose layout is not the type's own (arrow_decode.c). */
typedef enum hn__arrow_encoding {
  HN__ENC_PLAIN = 0,     /* the type's own layout */
  HN__ENC_VIEW = 1,      /* vu, vz: decoded into utf8, binary */
  HN__ENC_LIST_VIEW = 2, /* +vl, +vL: decoded into list, large_list */
  HN__ENC_RUN_END = 3    /* +r: decoded into the values' type (id is a placeholder) */
} hn__arrow_encoding;

/* A format string, read (arrow_format.c). `timezone` points into the format. */
typedef struct hn__arrow_format {
  hn_type_id id;
  hn__arrow_encoding encoding;
  hn_time_unit unit;
  const char *timezone;
  int32_t precision, scale, width;
} hn__arrow_format;

/* Read a format string; false when it is unknown or malformed. */
bool hn__arrow_format_parse(const char *format, hn__arrow_format *out);
/* The type of a format without children (not list, struct, map, run-end encoded). */
hn_status hn__arrow_type_of(const hn_allocator *alloc, const hn__arrow_format *format,
                            const hn_type **out, hn_error *err);
/* Write the format of `t` (snprintf-like; never more than 300 bytes). */
size_t hn__arrow_format_write(const hn_type *t, char *buf, size_t cap);
#define HN__ARROW_FORMAT_MAX 300

/*
 * Decoders of the encodings import turns into plain arrays (arrow_decode.c).
 * Each reads only what its arguments were validated to hold, checks what
 * the encoding adds (indices, run ends, view offsets) and builds a new
 * array of `type` with `alloc`.
 */
/* Rows of `dict` picked by the integer array `indices` (nulls where it is null). */
hn_status hn__decode_dictionary(const hn_allocator *alloc, const hn_type *type,
                                const hn_array *indices, const hn_array *dict, const char *path,
                                hn_array **out, hn_error *err);
/* Logical rows [offset, offset + length) of run-end encoded (run_ends, values). */
hn_status hn__decode_run_end(const hn_allocator *alloc, const hn_type *type, int64_t offset,
                             int64_t length, const hn_array *run_ends, const hn_array *values,
                             const char *path, hn_array **out, hn_error *err);
/*
 * A list view: rows [offset, offset + length) with validity (NULL: none),
 * offsets and sizes (int32, or int64 for large_list; validated to hold
 * offset + length entries) over `child`.
 */
hn_status hn__decode_list_view(const hn_allocator *alloc, const hn_type *type, int64_t offset,
                               int64_t length, const uint8_t *validity, const void *offsets,
                               const void *sizes, const hn_array *child, const char *path,
                               hn_array **out, hn_error *err);
/* A string or binary view array (the C interface's buffers, header already checked). */
hn_status hn__decode_views(const hn_allocator *alloc, const hn_type *type,
                           const struct ArrowArray *a, const char *path, hn_array **out,
                           hn_error *err);

/* ---- import of the data (arrow_import_node.c) ---------------------------- */

/* The producer's array, shared by the buffers wrapped zero-copy. */
typedef struct hn__import_holder hn__import_holder;
/* Move *array into a new holder; if that fails, release the array at once (NULL). */
hn__import_holder *hn__import_holder_take(const hn_allocator *alloc, struct ArrowArray *array);
struct ArrowArray *hn__import_holder_array(hn__import_holder *holder);
void hn__import_holder_unref(hn__import_holder *holder);

typedef struct hn__import_ctx {
  hn_allocator alloc;
  hn__import_holder *holder;
  bool validate_utf8;
  hn_error *err;
} hn__import_ctx;

/*
 * Import array `a` described by schema `s` as `type` (what the schema was
 * imported as); decoded encodings become plain arrays. The result is not
 * yet validated (except the parts a decoder read).
 */
hn_status hn__import_node(hn__import_ctx *c, const struct ArrowSchema *s, const hn_type *type,
                          const struct ArrowArray *a, const char *path, hn_array **out);

#endif /* HN_ARROW_INTERNAL_H */
