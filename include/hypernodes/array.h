/**
 * @file array.h
 * Immutable arrays in Arrow layout, and datum views for reading one value.
 *
 * An array is reference-counted and immutable once built, so it may be read
 * and retained/released from any number of threads. Physical layout, for
 * batch functions that read buffers directly (index j = offset + i):
 *  - validity: LSB-first bitmap, NULL when the array has no nulls;
 *  - null: no buffers at all (every row is null);
 *  - bool: bit-packed values; every other fixed-width type (integers,
 *    floats, dates, times, timestamps, durations, intervals, decimals,
 *    fixed_size_binary): packed values of the type's width, read with
 *    hn_array_values;
 *  - utf8/binary: int32 offsets (length + 1 entries from `offset`) + bytes;
 *    large_utf8/large_binary: the same with int64 offsets;
 *  - list and map: int32 offsets into the child array (the items; a map's
 *    are struct<key, value> entries); large_list: int64 offsets;
 *  - fixed_size_list: no offsets; row j holds child rows [j * size, (j + 1) * size);
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
 * A decimal128 value: the unscaled 128-bit two's complement integer as two
 * 64-bit words, as Arrow stores it on a little-endian host (the value is
 * hi * 2^64 + lo); the scale is the type's.
 */
typedef struct hn_decimal128 {
  uint64_t lo;
  int64_t hi;
} hn_decimal128;

/** An interval_day_time value: days and milliseconds. */
typedef struct hn_interval_day_time {
  int32_t days;
  int32_t ms;
} hn_interval_day_time;

/** An interval_month_day_nano value: months, days and nanoseconds. */
typedef struct hn_interval_mdn {
  int32_t months;
  int32_t days;
  int64_t nanos;
} hn_interval_mdn;

/**
 * One value, unboxed. Reading it allocates nothing; pointers inside it borrow
 * from the array and are valid while the array is alive. When `is_null` the
 * value union is unspecified. The member to read follows from `type`:
 *  - bool b; int8 i8, int16 i16, int32 i32, int64 i64; uint8 u8, uint16 u16,
 *    uint32 u32, uint64 u64; float16 f16 (the raw IEEE half bits), float32
 *    f32, float64 f64;
 *  - date32, time32, interval_months: i32 (days; seconds or milliseconds of
 *    the day; months); date64, time64, timestamp, duration: i64 (the unit is
 *    the type's); interval_day_time: day_time; interval_month_day_nano: mdn;
 *  - decimal128: d128; decimal256: d256, four little-endian 64-bit words
 *    (least significant first) borrowed from the array;
 *  - utf8, binary, their large forms and fixed_size_binary: str;
 *  - list, large_list, fixed_size_list and map: list (a map's items are
 *    struct datums of key and value); struct: strct; object: object;
 *  - null: is_null is always true.
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
    int8_t i8;
    int16_t i16;
    int32_t i32;
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    uint16_t f16;
    hn_decimal128 d128;
    const uint64_t *d256;
    hn_interval_day_time day_time;
    hn_interval_mdn mdn;
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
/** Offsets (length + 1 entries) from logical row 0 of utf8/binary/list/map, else NULL. */
HN_API const int32_t *hn_array_offsets(const hn_array *array);
/** Offsets (length + 1 entries) from logical row 0 of large_utf8/large_binary/large_list, else
 * NULL. */
HN_API const int64_t *hn_array_large_offsets(const hn_array *array);
/**
 * Values (borrowed) of any fixed-width array but bool from logical row 0:
 * `length` packed values of the type's width (int32: int32_t, decimal128:
 * 16 bytes, fixed_size_binary(n): n bytes, ...); NULL for other types.
 */
HN_API const void *hn_array_values(const hn_array *array);

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
 * Make an array of a fixed-width type (bool or any type hn_array_values reads) from
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
