/**
 * @file type.h
 * Logical types. A type is immutable and reference-counted; once built it may
 * be shared by any number of threads and arrays (retain/release are atomic).
 *
 * Primitive types (bool, int64, float32, float64, utf8, binary) are static
 * singletons: retain/release on them are no-ops. list, struct and object
 * types are heap objects created with an allocator.
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
  HN_TYPE_OBJECT = 9
} hn_type_id;

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

/**
 * Create list<item>. `item` is retained (the caller keeps its own reference).
 * On success *out holds one reference, to be given back with hn_type_release.
 * Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_type_list_create(const hn_allocator *alloc, const hn_type *item,
                                                  const hn_type **out, hn_error *err);
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
/** Item type of a list (borrowed), or NULL for other types. */
HN_API const hn_type *hn_type_list_item(const hn_type *type);
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
/** Static name of a type id ("int64", "list", ...). */
HN_API const char *hn_type_id_name(hn_type_id id);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_TYPE_H */
