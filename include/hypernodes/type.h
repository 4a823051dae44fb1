/**
 * @file type.h
 * Logical types. A type is immutable and reference-counted; once built it may
 * be shared by any number of threads and arrays (retain/release are atomic).
 *
 * Types without parameters (bool, the integers, the floats, utf8, binary,
 * their large forms, null, date32, date64, the intervals) are static
 * singletons: retain/release on them are no-ops. Types with parameters
 * (time32/time64/timestamp/duration with their unit, decimals,
 * fixed_size_binary, lists, maps, structs, objects) are heap objects
 * created with an allocator. docs/data-model.md maps every type to its
 * Arrow format and its type string.
 */
#ifndef HYPERNODES_TYPE_H
#define HYPERNODES_TYPE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum hn_type_id {
  HN_TYPE_BOOL = 1,
  HN_TYPE_INT64 = 2,
  HN_TYPE_FLOAT32 = 3,
  HN_TYPE_FLOAT64 = 4,
  HN_TYPE_UTF8 = 5,
  HN_TYPE_BINARY = 6,
  HN_TYPE_LIST = 7,
  HN_TYPE_STRUCT = 8,
  HN_TYPE_OBJECT = 9,
  HN_TYPE_NULL = 10,      /**< every value null; no buffers */
  HN_TYPE_INT8 = 11,      /**< datum member i8 */
  HN_TYPE_INT16 = 12,     /**< i16 */
  HN_TYPE_INT32 = 13,     /**< i32 */
  HN_TYPE_UINT8 = 14,     /**< u8 */
  HN_TYPE_UINT16 = 15,    /**< u16 */
  HN_TYPE_UINT32 = 16,    /**< u32 */
  HN_TYPE_UINT64 = 17,    /**< u64 */
  HN_TYPE_FLOAT16 = 18,   /**< f16: the IEEE 754 half-precision bits, not converted */
  HN_TYPE_DATE32 = 19,    /**< i32: days since 1970-01-01 */
  HN_TYPE_DATE64 = 20,    /**< i64: milliseconds since 1970-01-01 */
  HN_TYPE_TIME32 = 21,    /**< i32: time of day in seconds or milliseconds (the type's unit) */
  HN_TYPE_TIME64 = 22,    /**< i64: time of day in micro- or nanoseconds (the type's unit) */
  HN_TYPE_TIMESTAMP = 23, /**< i64: since the epoch, in the type's unit; optional time zone */
  HN_TYPE_DURATION = 24,  /**< i64: in the type's unit */
  HN_TYPE_INTERVAL_MONTHS = 25,         /**< i32: months */
  HN_TYPE_INTERVAL_DAY_TIME = 26,       /**< day_time: days and milliseconds */
  HN_TYPE_INTERVAL_MONTH_DAY_NANO = 27, /**< month_day_nano: months, days, nanoseconds */
  HN_TYPE_DECIMAL128 = 28,              /**< d128: 128-bit two's complement unscaled value */
  HN_TYPE_DECIMAL256 = 29,              /**< d256: four little-endian 64-bit words (borrowed) */
  HN_TYPE_LARGE_UTF8 = 30,              /**< str, as utf8, with int64 offsets */
  HN_TYPE_LARGE_BINARY = 31,            /**< str, as binary, with int64 offsets */
  HN_TYPE_FIXED_SIZE_BINARY = 32,       /**< str: exactly the type's byte width */
  HN_TYPE_LARGE_LIST = 33,              /**< list, as list, with int64 offsets */
  HN_TYPE_FIXED_SIZE_LIST = 34,         /**< list: exactly the type's item count */
  HN_TYPE_MAP = 35 /**< list: items are struct<key, value> entries (keys never null) */
} hn_type_id;

/** Unit of time32, time64, timestamp and duration types. */
typedef enum hn_time_unit {
  HN_UNIT_SECOND = 0,
  HN_UNIT_MILLI = 1,
  HN_UNIT_MICRO = 2,
  HN_UNIT_NANO = 3
} hn_time_unit;

typedef struct hn_type hn_type;

/**
 * Behaviour of `object` values: opaque process-local pointers. `free` is
 * required and is called once per non-NULL value when the last array holding
 * it goes away (possibly on another thread). `copy` and `hash` are optional.
 * `ctx` is passed to each. The vtable is copied into the type.
 */
typedef struct hn_object_vtable {
  void (*free)(void *ctx, void *object);
  void *(*copy)(void *ctx, const void *object);
  uint64_t (*hash)(void *ctx, const void *object);
  void *ctx;
} hn_object_vtable;

/** The bool type: a static singleton (never NULL, never freed; retain/release are no-ops). */
HN_API const hn_type *hn_type_bool(void);
/** The int64 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_int64(void);
/** The float32 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_float32(void);
/** The float64 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_float64(void);
/** The utf8 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_utf8(void);
/** The binary type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_binary(void);
/** The null type, whose every value is null (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_null(void);
/** The int8 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_int8(void);
/** The int16 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_int16(void);
/** The int32 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_int32(void);
/** The uint8 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_uint8(void);
/** The uint16 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_uint16(void);
/** The uint32 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_uint32(void);
/** The uint64 type (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_uint64(void);
/** The float16 type (half floats kept as their 16 bits; a static singleton). */
HN_API const hn_type *hn_type_float16(void);
/** The date32 type, days since the epoch (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_date32(void);
/** The date64 type, milliseconds since the epoch (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_date64(void);
/** The interval type counting months (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_interval_months(void);
/** The interval type of days and milliseconds (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_interval_day_time(void);
/** The interval type of months, days and nanoseconds (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_interval_month_day_nano(void);
/** The large_utf8 type, utf8 with int64 offsets (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_large_utf8(void);
/** The large_binary type, binary with int64 offsets (a static singleton, as hn_type_bool). */
HN_API const hn_type *hn_type_large_binary(void);

/**
 * Create list<item>. `item` is retained (the caller keeps its own reference).
 * On success *out holds one reference, to be given back with hn_type_release.
 * Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_list_create(const hn_allocator *alloc, const hn_type *item,
                                                  const hn_type **out, hn_error *err);
/**
 * Create a type with a time unit: HN_TYPE_TIME32 (unit seconds or
 * milliseconds), HN_TYPE_TIME64 (micro- or nanoseconds), HN_TYPE_TIMESTAMP
 * (any unit; `timezone` is copied, NULL or "" for none) or HN_TYPE_DURATION
 * (any unit). `timezone` must be NULL for the others. On success *out holds
 * one reference. Returns HN_OK, HN_EINVAL (another id, a unit the id does
 * not take, a time zone with a NUL-free length over 255) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_temporal_create(const hn_allocator *alloc, hn_type_id id,
                                                      hn_time_unit unit, const char *timezone,
                                                      const hn_type **out, hn_error *err);
/**
 * Create decimal128(precision, scale) (id HN_TYPE_DECIMAL128, precision 1 to
 * 38) or decimal256 (HN_TYPE_DECIMAL256, precision 1 to 76); `scale` may be
 * negative and at most `precision`. Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_decimal_create(const hn_allocator *alloc, hn_type_id id,
                                                     int32_t precision, int32_t scale,
                                                     const hn_type **out, hn_error *err);
/**
 * Create fixed_size_binary(width): every value exactly `width` bytes
 * (1 to INT32_MAX). Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_fixed_size_binary_create(const hn_allocator *alloc,
                                                               int32_t width, const hn_type **out,
                                                               hn_error *err);
/** Create large_list<item> (int64 offsets); as hn_type_list_create. */
HN_API HN_NODISCARD hn_status hn_type_large_list_create(const hn_allocator *alloc,
                                                        const hn_type *item, const hn_type **out,
                                                        hn_error *err);
/**
 * Create fixed_size_list<item>[size]: every value exactly `size` items
 * (1 to INT32_MAX); `item` is retained. Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_fixed_size_list_create(const hn_allocator *alloc,
                                                             const hn_type *item, int32_t size,
                                                             const hn_type **out, hn_error *err);
/**
 * Create map<key, value>: a list of struct<key, value> entries whose keys
 * are never null (hn_type_list_item gives the entries type). Both types
 * are retained. Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_map_create(const hn_allocator *alloc, const hn_type *key,
                                                 const hn_type *value, const hn_type **out,
                                                 hn_error *err);
/**
 * Create struct<names[0]: types[0], ...>. Names are copied and must be
 * non-empty and distinct; field types are retained. `n_fields` may be 0.
 * Returns HN_OK, HN_EINVAL (NULL, empty or duplicate name) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_struct_create(const hn_allocator *alloc, int64_t n_fields,
                                                    const char *const *names,
                                                    const hn_type *const *types,
                                                    const hn_type **out, hn_error *err);
/**
 * Create an object type named `name` (copied; used in messages) with the
 * given vtable (`vtable->free` required). Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_object_create(const hn_allocator *alloc, const char *name,
                                                    const hn_object_vtable *vtable,
                                                    const hn_type **out, hn_error *err);

/** Add a reference; returns `type`. Thread-safe. NULL is allowed. */
HN_API const hn_type *hn_type_retain(const hn_type *type);
/** Drop a reference; frees at zero. Thread-safe. NULL is a no-op. */
HN_API void hn_type_release(const hn_type *type);

/** The type's id (HN_TYPE_INT64, HN_TYPE_LIST, ...). Thread-safe. */
HN_API hn_type_id hn_type_id_of(const hn_type *type);
/**
 * Item type (borrowed) of a list, large_list or fixed_size_list; for a map
 * its entries type struct<key, value>; NULL for other types.
 */
HN_API const hn_type *hn_type_list_item(const hn_type *type);
/** Unit of a time32, time64, timestamp or duration type; 0 (seconds) for other types. */
HN_API hn_time_unit hn_type_time_unit(const hn_type *type);
/** Time zone of a timestamp type (borrowed), or NULL when it has none or for other types. */
HN_API const char *hn_type_timezone(const hn_type *type);
/** Precision of a decimal type; 0 for other types. */
HN_API int32_t hn_type_decimal_precision(const hn_type *type);
/** Scale of a decimal type; 0 for other types. */
HN_API int32_t hn_type_decimal_scale(const hn_type *type);
/** Byte width of fixed_size_binary, item count of fixed_size_list; 0 for other types. */
HN_API int32_t hn_type_fixed_size(const hn_type *type);
/** Key type of a map (borrowed), or NULL. */
HN_API const hn_type *hn_type_map_key(const hn_type *type);
/** Value type of a map (borrowed), or NULL. */
HN_API const hn_type *hn_type_map_value(const hn_type *type);
/** Number of fields of a struct; 0 for other types. */
HN_API int64_t hn_type_num_fields(const hn_type *type);
/** Field i of a struct (borrowed) or NULL when out of range / not a struct. */
HN_API const hn_type *hn_type_field_type(const hn_type *type, int64_t i);
/** Name of field i of a struct (borrowed) or NULL when out of range. */
HN_API const char *hn_type_field_name(const hn_type *type, int64_t i);
/** Index of the field called `name`, or -1. */
HN_API int64_t hn_type_field_index(const hn_type *type, const char *name);
/** The vtable of an object type (borrowed), or NULL. */
HN_API const hn_object_vtable *hn_type_object_vtable(const hn_type *type);
/** Structural equality (object types: same vtable functions and name). */
HN_API bool hn_type_equals(const hn_type *a, const hn_type *b);
/** True when the type or any type nested in it is `object`. */
HN_API bool hn_type_has_object(const hn_type *type);
/**
 * Write the type string of `type` ("list<struct<a: int64, b: utf8>>") into
 * `buf`, always NUL-terminated when cap > 0 (`buf` may be NULL when cap is
 * 0). Returns the length the whole string needs, without the NUL, as
 * snprintf does. Struct field names and object type names are written bare
 * when they are only letters, digits, '_', '.', '-', '$' or non-ASCII bytes,
 * else between double quotes (`"a b"`, with `\"`, `\\` and `\xHH` escapes), so that
 * hn_type_parse_ex reads every string back into an equal type. A NULL type
 * is written "(null)". Thread-safe.
 */
HN_API size_t hn_type_to_string(const hn_type *type, char *buf, size_t cap);

/** Options of hn_type_parse_ex. Initialise with `{.size = sizeof opts}`; more fields may be added.
 */
typedef struct hn_type_parse_options {
  size_t size;               /**< sizeof(hn_type_parse_options) */
  const hn_allocator *alloc; /**< for the list and struct types made; NULL: libc */
  int64_t n_object_types;    /**< object types "object<name>" may name, matched by name */
  const hn_type *const *object_types;
} hn_type_parse_options;

/**
 * Parse a type string: exactly what hn_type_to_string writes, blanks
 * between tokens allowed (`list<utf8>`, `struct<a: int64, "b c": list<bool>>`,
 * `struct<>`). Object types cannot be made from text (they carry
 * functions): "object<name>" is resolved among options->object_types.
 *
 * With `end` NULL the whole text must be one type. With `end` non-NULL,
 * parsing stops after the first complete type and *end receives the offset
 * just past it; on failure *end receives the offset of the offending
 * character. On success *out holds one reference (release it with
 * hn_type_release; primitive types are the singletons). `options` may be
 * NULL (libc, no object types).
 *
 * Returns HN_OK, HN_EINVAL (malformed text: the message gives the offset and
 * shows the text with a caret under the offending character) or HN_ENOMEM.
 * Thread-safe.
 */
HN_API HN_NODISCARD hn_status hn_type_parse_ex(const char *text,
                                               const hn_type_parse_options *options,
                                               const hn_type **out, size_t *end, hn_error *err);
/**
 * hn_type_parse_ex over the whole text with no object types:
 * `hn_type_parse(NULL, "list<utf8>", &t, &err)`. Same returns.
 */
HN_API HN_NODISCARD hn_status hn_type_parse(const hn_allocator *alloc, const char *text,
                                            const hn_type **out, hn_error *err);
/** Static name of a type id ("int64", "list", "timestamp", ...). */
HN_API const char *hn_type_id_name(hn_type_id id);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_TYPE_H */
