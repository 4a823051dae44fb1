/**
 * @file builder.h
 * Builders append values in Arrow layout and finish into immutable arrays.
 * A builder is not thread-safe; use one per thread.
 *
 * Nested values: for a list, large_list or fixed_size_list, append the
 * items to hn_builder_child(b, 0) (a fixed_size_list: exactly its size),
 * then call hn_builder_finish_element(b). A map is a list of struct<key,
 * value> entries: append the key to hn_builder_child(entries, 0) and the
 * value to hn_builder_child(entries, 1) of entries = hn_builder_child(b, 0),
 * close the entry with hn_builder_finish_element(entries), and the map with
 * hn_builder_finish_element(b). For a struct, append one value to every
 * field builder hn_builder_child(b, i), then hn_builder_finish_element.
 * hn_builder_append_null on a list or struct appends the null (for a
 * struct, a null to every field so that lengths stay equal; for a
 * fixed_size_list, `size` null items).
 *
 * Which call appends a value of which type: bool: append_bool; int64,
 * float32, float64: their own calls; the other integers, dates, times,
 * timestamps, durations and interval_months: append_int / append_uint (the
 * unit is the type's); every fixed-width type (decimals and intervals as
 * their bytes, float16 as its bits, fixed_size_binary): append_values;
 * utf8, binary, their large forms and fixed_size_binary: append_str; any
 * type: append_datum and append_null(s).
 *
 * Append calls return HN_OK, HN_ETYPE (the builder's type does not take that
 * call), HN_EINVAL, HN_ERANGE (more than INT32_MAX bytes or items in one
 * array) or HN_ENOMEM; the message of the last failure is kept by the
 * builder (hn_builder_last_error). A failed append leaves the builder as it
 * was before the call.
 */
#ifndef HYPERNODES_BUILDER_H
#define HYPERNODES_BUILDER_H

#include "array.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hn_builder hn_builder;

/**
 * Create a builder for `type` (retained) and, recursively, its children.
 * Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_builder_create(const hn_allocator *alloc, const hn_type *type,
                                                hn_builder **out, hn_error *err);
/** Free the builder and what it holds (objects appended are freed too). NULL is a no-op. */
HN_API void hn_builder_destroy(hn_builder *builder);

/**
 * Reserve room for `additional` more rows (for a struct, in every field too;
 * utf8/binary bytes grow on demand). Never changes the rows. Returns HN_OK,
 * HN_EINVAL (negative), HN_ERANGE at once, before allocating, when the rows
 * would exceed INT32_MAX, or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_builder_reserve(hn_builder *builder, int64_t additional);
/** Rows appended so far. */
HN_API int64_t hn_builder_length(const hn_builder *builder);
/** Type being built (borrowed). */
HN_API const hn_type *hn_builder_type(const hn_builder *builder);
/** Child builder i (borrowed; list: 0 = items; struct: field i), or NULL. */
HN_API hn_builder *hn_builder_child(hn_builder *builder, int64_t i);
/** Message of the last failed call on this builder, "" if none. */
HN_API const char *hn_builder_last_error(const hn_builder *builder);

/** Append one null: hn_builder_append_nulls(builder, 1). */
HN_API HN_NODISCARD hn_status hn_builder_append_null(hn_builder *builder);
/**
 * Append `n` nulls (a struct also appends `n` nulls to every field; a null
 * list or string is empty). All or nothing: the count is checked first, room
 * for all `n` rows is reserved next, and only then are the rows written (in
 * bulk), so a failure leaves the builder as it was. Returns HN_OK,
 * HN_EINVAL (n < 0), HN_ERANGE at once, before anything is allocated, when
 * the builder or a struct field would pass INT32_MAX rows (no array holds
 * more, whatever its type: INT32_MAX + 10 or INT64_MAX nulls fail
 * immediately), or HN_ENOMEM when the room for `n` rows cannot be allocated.
 */
HN_API HN_NODISCARD hn_status hn_builder_append_nulls(hn_builder *builder, int64_t n);
/** Append a value to a bool builder (HN_ETYPE for another type). */
HN_API HN_NODISCARD hn_status hn_builder_append_bool(hn_builder *builder, bool value);
/** Append a value to an int64 builder (HN_ETYPE for another type). */
HN_API HN_NODISCARD hn_status hn_builder_append_int64(hn_builder *builder, int64_t value);
/** Append a value to a float32 builder (HN_ETYPE for another type). */
HN_API HN_NODISCARD hn_status hn_builder_append_float32(hn_builder *builder, float value);
/** Append a value to a float64 builder (HN_ETYPE for another type). */
HN_API HN_NODISCARD hn_status hn_builder_append_float64(hn_builder *builder, double value);
/**
 * Append an integer to a builder of an integer type (int8 to uint64), date,
 * time, timestamp, duration or interval_months: HN_ERANGE when the type
 * cannot hold it (300 in an int8, -1 in a uint32), HN_ETYPE for other types.
 */
HN_API HN_NODISCARD hn_status hn_builder_append_int(hn_builder *builder, int64_t value);
/** Append an unsigned integer; as hn_builder_append_int (for uint64 values above INT64_MAX). */
HN_API HN_NODISCARD hn_status hn_builder_append_uint(hn_builder *builder, uint64_t value);
/**
 * Append `n` valid values of the builder's fixed-width type (every type
 * but bool that hn_array_values reads: `n` packed values of the type's
 * width), copied. All or nothing, like hn_builder_append_nulls: HN_ERANGE
 * at once past INT32_MAX rows, HN_ENOMEM when the room cannot be allocated.
 */
HN_API HN_NODISCARD hn_status hn_builder_append_values(hn_builder *builder, const void *values,
                                                       int64_t n);
/**
 * Append bytes to a utf8, binary, large_utf8, large_binary or
 * fixed_size_binary builder (copied; fixed_size_binary takes exactly its
 * width, else HN_EINVAL). `size` < 0 means strlen(data). UTF-8 is not
 * checked here (hn_array_validate does).
 */
HN_API HN_NODISCARD hn_status hn_builder_append_str(hn_builder *builder, const char *data,
                                                    int64_t size);
/**
 * Append an object value. On HN_OK the builder owns `object` (freed through
 * the type's vtable); on failure the caller still owns it. NULL appends a null.
 */
HN_API HN_NODISCARD hn_status hn_builder_append_object(hn_builder *builder, void *object);
/** Close one list or struct element as valid (see the file comment). */
HN_API HN_NODISCARD hn_status hn_builder_finish_element(hn_builder *builder);
/**
 * Append a copy of a datum of the builder's type (nested values recursively;
 * objects through the vtable's copy, HN_EUNSUPPORTED when it has none).
 */
HN_API HN_NODISCARD hn_status hn_builder_append_datum(hn_builder *builder, hn_datum value);

/**
 * Finish: *out receives the array of everything appended; the builder is
 * reset to empty and may be reused. Returns HN_OK, HN_EINVAL (a struct whose
 * fields have unequal lengths: nothing changes) or HN_ENOMEM (what was
 * appended is discarded and the builder is reset to empty).
 */
HN_API HN_NODISCARD hn_status hn_builder_finish(hn_builder *builder, hn_array **out, hn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_BUILDER_H */
