/**
 * @file arrow.h
 * Export to and import from the Arrow C Data and C Stream interfaces.
 *
 * Export is zero-copy: the Arrow structs point into our buffers, which stay
 * alive (by reference count) until the consumer calls `release`, whatever
 * happens to the exporting handle. Export follows the release contract: the
 * base struct's release frees everything once and sets release to NULL;
 * structs may be moved (bitwise copy, then mark the source released);
 * children may be moved out. Release callbacks may run on any thread.
 * `object` types cannot leave the process: exporting them fails with
 * HN_EUNSUPPORTED naming the column.
 *
 * Import treats its input as untrusted: format strings, buffer counts,
 * lengths, offsets, null counts and (optionally) UTF-8 are validated before
 * any value is read; failures return HN_EINVAL (unsupported format:
 * HN_EUNSUPPORTED) with a message naming the column path and the problem.
 * Rows that no buffer backs (a struct with no children and no bitmap, or
 * only such children; a record batch with no columns) are limited to
 * INT32_MAX (HN_EINVAL beyond), as in deserialisation.
 * Imported buffers are shared zero-copy when suitably aligned and copied
 * otherwise; the producer's release runs when the last of them goes.
 *
 * Formats: every type of type.h has its own format, exported and imported
 * as is (docs/data-model.md lists them). Import also reads layouts that it
 * decodes into a plain one, copying the values after checking every index,
 * run end, view and size: dictionary-encoded columns become their value
 * type, run-end encoded arrays (+r) their values' type, string and binary
 * views (vu, vz) utf8 and binary, list views (+vl, +vL) list and
 * large_list. Export never writes those layouts. Unions and decimal32/64
 * are refused with HN_EUNSUPPORTED.
 */
#ifndef HYPERNODES_ARROW_H
#define HYPERNODES_ARROW_H

#include "arrow_abi.h"
#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Options for import. Initialise with
 * `hn_import_options opts; hn_import_options_init(&opts, sizeof opts);`,
 * then change what differs from the defaults. More members may be added.
 */
typedef struct hn_import_options {
  size_t size;        /**< sizeof(hn_import_options), for ABI growth */
  bool validate_utf8; /**< check utf8 columns are valid UTF-8 (default true) */
} hn_import_options;

/**
 * Fill the first `size` bytes of *options with the defaults (validate_utf8
 * true) and set options->size = size: pass sizeof *options, so that a
 * program built against older headers, with a smaller struct, gets only
 * its own members. NULL options, or a size too small for the size member,
 * is a no-op. Thread-safe.
 */
HN_API void hn_import_options_init(hn_import_options *options, size_t size);

/**
 * Export a type as an ArrowSchema named `name` (may be NULL). *out is filled
 * by the producer (us) and must be released by the caller.
 * Returns HN_OK, HN_EINVAL, HN_EUNSUPPORTED (object) or HN_ENOMEM; on failure
 * *out is left released (release == NULL).
 */
HN_API HN_NODISCARD hn_status hn_type_export(const hn_type *type, const char *name,
                                             struct ArrowSchema *out, hn_error *err);
/**
 * Export an array. `schema_out` may be NULL (then only the data is exported).
 * Both outputs must be released by the caller; they are independent.
 */
HN_API HN_NODISCARD hn_status hn_array_export(const hn_array *array, struct ArrowSchema *schema_out,
                                              struct ArrowArray *array_out, hn_error *err);
/**
 * Export a column dictionary-encoded: int32 indices (format "i", null where
 * the column is null) whose `dictionary` holds the column's distinct values
 * in order of first appearance (their own type and format). For utf8,
 * binary, their large forms, fixed_size_binary and every fixed-width type
 * but bool. The indices and the dictionary are new arrays (each distinct
 * value is copied once); they are freed by the release of the outputs,
 * which are independent of each other and of `array`. `schema_out` may be
 * NULL. Imported again, the result is the column itself (import decodes
 * dictionaries). Returns HN_OK, HN_EINVAL (NULL argument), HN_EUNSUPPORTED
 * (another type), HN_ERANGE (more than INT32_MAX rows) or HN_ENOMEM; on
 * failure the outputs are left released.
 */
HN_API HN_NODISCARD hn_status hn_array_export_dictionary(const hn_array *array,
                                                         struct ArrowSchema *schema_out,
                                                         struct ArrowArray *array_out,
                                                         hn_error *err);
/** Export a table as a struct ("+s") array whose children are the columns. */
HN_API HN_NODISCARD hn_status hn_table_export(const hn_table *table, struct ArrowSchema *schema_out,
                                              struct ArrowArray *array_out, hn_error *err);
/**
 * Export `n_tables` tables (each retained) as a stream of record batches.
 * `schema` is the stream's struct type; it may be NULL when n_tables > 0
 * (the first table's schema is used). Every table must match it
 * (HN_ETYPE otherwise). The caller releases *out.
 */
HN_API HN_NODISCARD hn_status hn_table_stream_export(const hn_type *schema, int64_t n_tables,
                                                     hn_table *const *tables,
                                                     struct ArrowArrayStream *out, hn_error *err);

/** Import a type from a schema (borrowed: the caller still releases it). */
HN_API HN_NODISCARD hn_status hn_type_import(const hn_allocator *alloc,
                                             const struct ArrowSchema *schema, const hn_type **out,
                                             hn_error *err);
/**
 * Import an array. `schema` is borrowed. `array` is always consumed: on
 * return, success or failure, it has been moved from (array->release is
 * NULL) and will be released by us. `options` may be NULL (defaults).
 */
HN_API HN_NODISCARD hn_status hn_array_import(const hn_allocator *alloc,
                                              const struct ArrowSchema *schema,
                                              struct ArrowArray *array,
                                              const hn_import_options *options, hn_array **out,
                                              hn_error *err);
/** Import a struct ("+s") array as a table; same ownership as hn_array_import. */
HN_API HN_NODISCARD hn_status hn_table_import(const hn_allocator *alloc,
                                              const struct ArrowSchema *schema,
                                              struct ArrowArray *array,
                                              const hn_import_options *options, hn_table **out,
                                              hn_error *err);

/** Reads record batches from an ArrowArrayStream, one table at a time. */
typedef struct hn_stream_reader hn_stream_reader;

/**
 * Take ownership of `stream` (moved: stream->release is NULL on return,
 * success or failure) and read its schema. Returns HN_EIO when the producer
 * fails (its message is quoted), HN_EINVAL/HN_EUNSUPPORTED for a bad schema.
 */
HN_API HN_NODISCARD hn_status hn_stream_reader_create(const hn_allocator *alloc,
                                                      struct ArrowArrayStream *stream,
                                                      const hn_import_options *options,
                                                      hn_stream_reader **out, hn_error *err);
/** The stream's schema as a struct type (borrowed). */
HN_API const hn_type *hn_stream_reader_schema(const hn_stream_reader *reader);
/**
 * Next record batch as a table in *out (a new reference), or *out = NULL at
 * the end of the stream. Returns HN_EIO for a producer error, HN_EINVAL for an
 * invalid batch (the batch index is named).
 */
HN_API HN_NODISCARD hn_status hn_stream_reader_next(hn_stream_reader *reader, hn_table **out,
                                                    hn_error *err);
/** Release the stream and the reader. NULL is a no-op. */
HN_API void hn_stream_reader_destroy(hn_stream_reader *reader);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_ARROW_H */
