/**
 * @file array.h
 * Immutable arrays in Arrow layout, and datum views for reading one value.
 *
 * An array is reference-counted and immutable once built, so it may be read
 * and retained/released from any number of threads. Physical layout, for
 * batch functions that read buffers directly (index j = offset + i):
 *  - validity: LSB-first bitmap, NULL when the array has no nulls;
 *  - bool: bit-packed values; int64/float32/float64: packed values;
 *  - utf8/binary: int32 offsets (length + 1 entries from `offset`) + bytes;
 *  - list: int32 offsets into the child array (the item values);
 *  - struct: no values; one child per field, read at row `offset + i`
 *    (the struct's offset applies to its children, as in Arrow);
 *  - object: one `void *` per slot, NULL for null slots.
 */
#ifndef HYPERNODES_ARRAY_H
#define HYPERNODES_ARRAY_H

#include "buffer.h"
#include "type.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hn_array hn_array;

/** A borrowed view of string or binary bytes; not NUL-terminated. */
typedef struct hn_str {
  const char *data;
  int64_t size;
} hn_str;

/** Items [start, start + length) of the list's item array `values` (borrowed). */
typedef struct hn_list_view {
  const hn_array *values;
  int64_t start;
  int64_t length;
} hn_list_view;

/** Row `row` of each child of the struct array `array` (borrowed). */
typedef struct hn_struct_view {
  const hn_array *array;
  int64_t row;
} hn_struct_view;

/**
 * One value, unboxed. Reading it allocates nothing; pointers inside it borrow
 * from the array and are valid while the array is alive. When `is_null` the
 * value union is unspecified.
 */
typedef struct hn_datum {
  hn_type_id type;
  bool is_null;
  union {
    bool b;
    int64_t i64;
    float f32;
    double f64;
    hn_str str;
    hn_list_view list;
    hn_struct_view strct;
    void *object;
  } v;
} hn_datum;

/** Add a reference; returns `array`. Thread-safe. NULL is allowed. */
HN_API hn_array *hn_array_retain(hn_array *array);
/** Drop a reference; frees at zero (buffers live on while shared). NULL is a no-op. */
HN_API void hn_array_release(hn_array *array);

/** Type of the array (borrowed). */
HN_API const hn_type *hn_array_type(const hn_array *array);
/** Number of rows (logical: from the offset). */
HN_API int64_t hn_array_length(const hn_array *array);
/** Logical start in the buffers (see the file comment). */
HN_API int64_t hn_array_offset(const hn_array *array);
/** Number of null rows among the array's `length` rows. */
HN_API int64_t hn_array_null_count(const hn_array *array);
/** Validity bitmap (bit offset + i) or NULL when there are no nulls. */
HN_API const uint8_t *hn_array_validity(const hn_array *array);
/**
 * Physical buffer `i` (borrowed, may be NULL): 0 = validity, 1 = values or
 * offsets, 2 = string bytes. Returns NULL when the type has no such buffer.
 */
HN_API hn_buffer *hn_array_buffer(const hn_array *array, int n);
/** Number of children: 1 for a list, the field count for a struct, else 0. */
HN_API int64_t hn_array_num_children(const hn_array *array);
/** Child i (borrowed): unsliced; see the file comment for how rows map. */
HN_API const hn_array *hn_array_child(const hn_array *array, int64_t i);

/** Values of an int64 array from logical row 0, or NULL for another type. */
HN_API const int64_t *hn_array_int64_values(const hn_array *array);
/** Values of a float64 array from logical row 0 (borrowed), or NULL for another type. */
HN_API const double *hn_array_float64_values(const hn_array *array);
/** Values of a float32 array from logical row 0 (borrowed), or NULL for another type. */
HN_API const float *hn_array_float32_values(const hn_array *array);
/** Offsets (length + 1 entries) from logical row 0 of utf8/binary/list, else NULL. */
HN_API const int32_t *hn_array_offsets(const hn_array *array);

/** True when row i is null. i must be in [0, length). */
HN_API bool hn_array_is_null(const hn_array *array, int64_t i);
/** Row i as a datum. i must be in [0, length); no allocation. */
HN_API hn_datum hn_array_get(const hn_array *array, int64_t i);
/** Item i of a list view. */
HN_API hn_datum hn_list_view_get(hn_list_view view, int64_t i);
/** Field `field` of a struct view. */
HN_API hn_datum hn_struct_view_field(hn_struct_view view, int64_t field);

/**
 * Zero-copy slice of rows [offset, offset + length). *out holds a new
 * reference sharing the buffers. Returns HN_OK, HN_ERANGE or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_array_slice(hn_array *array, int64_t offset, int64_t length,
                                             hn_array **out, hn_error *err);
/**
 * The field `field` of a struct array as an array of the same length as the
 * struct (a zero-copy slice of the child). Returns HN_ETYPE for non-structs.
 */
HN_API HN_NODISCARD hn_status hn_array_struct_field(hn_array *array, int64_t field, hn_array **out,
                                                    hn_error *err);

/**
 * Make an array of a fixed-width type (bool, int64, float32, float64) from
 * buffers the caller filled, without copying: `values` holds `length` values
 * (bool: bits, LSB first), `validity` is an LSB-first bitmap or NULL for no
 * nulls. Both are retained. This is how a batch function writes its output
 * in place: hn_buffer_create, fill hn_buffer_mutable_data, then this.
 * Returns HN_OK, HN_ETYPE (not fixed-width), HN_EINVAL (a buffer too small,
 * negative length) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_array_create_fixed(const hn_allocator *alloc, const hn_type *type,
                                                    int64_t length, hn_buffer *validity,
                                                    hn_buffer *values, hn_array **out,
                                                    hn_error *err);

/** Logical equality: same type, length, nulls and values (float by bits). */
HN_API bool hn_array_equals(const hn_array *a, const hn_array *b);

/**
 * Check every structural invariant: buffer sizes against length and offset,
 * offsets monotonic and in bounds, child lengths, null count against the
 * bitmap, and (when `check_utf8`) that utf8 values are valid UTF-8. Returns
 * HN_OK or HN_ECORRUPT with a message naming the column path and the problem.
 */
HN_API HN_NODISCARD hn_status hn_array_validate(const hn_array *array, bool check_utf8,
                                                hn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_ARRAY_H */
