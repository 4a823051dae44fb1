/*
 * Internal layout of the data layer's handles. Not installed; symbols use hn__.
 * Everything here is shared by type.c, buffer.c, array.c, builder.c, table.c,
 * validate.c, arrow_export.c, arrow_import.c and serialize.c.
 */
#ifndef HN_DATA_INTERNAL_H
#define HN_DATA_INTERNAL_H

#include <stdatomic.h>

#include "../base/base_internal.h"
#include "hypernodes/arena.h"
#include "hypernodes/arrow.h"
#include "hypernodes/bits.h"
#include "hypernodes/builder.h"
#include "hypernodes/serialize.h"

/* refcount < 0 marks a static singleton (retain/release are no-ops). */
struct hn_type {
  _Atomic int64_t refcount;
  hn_type_id id;
  hn_allocator alloc;
  const hn_type *item;    /* list, large_list, fixed_size_list: item; map: entries struct */
  int64_t n_fields;       /* struct */
  char **names;           /* struct: owned copies */
  const hn_type **fields; /* struct: retained */
  char *object_name;      /* object: owned copy */
  hn_object_vtable vtable;
  hn_time_unit unit; /* time32, time64, timestamp, duration */
  char *tz;          /* timestamp: owned, NULL when none */
  int32_t precision; /* decimal */
  int32_t scale;     /* decimal */
  int32_t width;     /* fixed_size_binary bytes, fixed_size_list items */
};

/* Physical layouts: what the buffers and children of an array of a type are. */
typedef enum hn__layout {
  HN__L_NULL,       /* no buffers at all */
  HN__L_BITS,       /* [0] validity, [1] bit-packed values */
  HN__L_FIXED,      /* [0] validity, [1] values of hn__type_width bytes */
  HN__L_VAR32,      /* [0] validity, [1] int32 offsets, [2] bytes */
  HN__L_VAR64,      /* [0] validity, [1] int64 offsets, [2] bytes */
  HN__L_LIST32,     /* [0] validity, [1] int32 offsets; child 0 the items (map: entries) */
  HN__L_LIST64,     /* [0] validity, [1] int64 offsets; child 0 the items */
  HN__L_FIXED_LIST, /* [0] validity; child 0 holds width items per row */
  HN__L_STRUCT,     /* [0] validity; one child per field */
  HN__L_OBJECT      /* [0] validity, [1] one void * per row */
} hn__layout;

/* Layout of a type id (a table lookup: it is on every datum read). */
#define HN__TYPE_ID_LIMIT 64
extern const uint8_t hn__id_layout[HN__TYPE_ID_LIMIT];
static inline hn__layout hn__type_layout(hn_type_id id) {
  return (unsigned)id < HN__TYPE_ID_LIMIT ? (hn__layout)hn__id_layout[id] : HN__L_NULL;
}
/* Bytes of one value of a fixed-width type (HN__L_FIXED or object), else 0. */
int64_t hn__type_width(const hn_type *type);
/* Children an array of `type` has: 1 for the list-like layouts, the fields of a struct. */
int64_t hn__type_num_children(const hn_type *type);
/* Child type i of a list-like or struct type (borrowed). */
const hn_type *hn__type_child(const hn_type *type, int64_t i);
/* True for types with an offsets buffer (utf8, binary, lists and maps, their large forms). */
bool hn__type_has_offsets(hn_type_id id);
/* True for list-like and struct types (the builders with children). */
bool hn__type_is_nested(hn_type_id id);

/*
 * A buffer owns its bytes in one of three ways: `raw` (allocated by us with
 * `alloc`; data = raw aligned up to 64), `parent` (a view into another
 * buffer, retained), or `release_fn` (foreign memory). `capacity` is the
 * usable size from `data` for owned buffers (builders grow into it).
 * When `object_type` is set, the bytes are `void *` objects, each non-NULL one
 * freed through the type's vtable when the buffer dies.
 */
struct hn_buffer {
  _Atomic int64_t refcount;
  uint8_t *data;
  int64_t size;
  int64_t capacity;
  hn_allocator alloc;
  void *raw;
  hn_buffer *parent;
  void (*release_fn)(void *ctx, const void *data);
  void *release_ctx;
  const hn_type *object_type;
};

/* Physical buffers: [0] validity (NULL when no nulls), [1] values/offsets, [2] bytes. */
struct hn_array {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  const hn_type *type;
  int64_t length;
  int64_t offset;
  int64_t null_count;
  hn_buffer *buffers[3];
  int64_t n_children;
  hn_array **children;
};

struct hn_table {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  const hn_type *schema; /* struct type: names and column types */
  int64_t n_rows;
  int64_t n_columns;
  hn_array **columns;
};

/* Buffers the physical layout has for a type id (validity counted): 0, 1, 2 or 3. */
int hn__type_num_buffers(hn_type_id id);
/* Bytes of one value of a fixed-width type id without parameters (object 8), else 0. */
int hn__type_value_size(hn_type_id id);
/*
 * The fewest bits a row of `type` takes in a column (values or offsets,
 * struct fields summed; at least 1, counting a validity bit): what a map's
 * outputs need at the very least per item.
 */
int64_t hn__type_min_row_bits(const hn_type *type);

/* Owned, growable buffer of `capacity` bytes (size 0), 64-byte aligned. NULL on ENOMEM. */
hn_buffer *hn__buffer_new(const hn_allocator *alloc, int64_t capacity);
/* Grow an owned sole-reference buffer to at least `capacity`; keeps contents. */
hn_status hn__buffer_reserve(hn_buffer *buf, int64_t capacity);
/* Zero bytes [size, round64(size)) of an owned buffer (padding). */
void hn__buffer_zero_padding(hn_buffer *buf);

/*
 * Assemble an array. Takes ownership of the references in b0..b2 and
 * children[0..n_children) (the array `children` itself is copied), also on
 * failure. `type` is retained. null_count < 0 means "count it from b0".
 */
hn_status hn__array_make(const hn_allocator *alloc, const hn_type *type, int64_t length,
                         int64_t offset, int64_t null_count, hn_buffer *b0, hn_buffer *b1,
                         hn_buffer *b2, int64_t n_children, hn_array **children, hn_array **out,
                         hn_error *err);

/*
 * Full validation with a column path prefix used in messages ("col.field[]").
 * Buffer sizes (hn_buffer.size) are checked against what offset + length need.
 */
hn_status hn__array_validate_path(const hn_array *array, bool check_utf8, const char *path,
                                  hn_error *err);

/* Build a table taking ownership of schema and of the column references (also on failure). */
hn_status hn__table_make(const hn_allocator *alloc, const hn_type *schema, int64_t n_rows,
                         hn_array **columns, hn_table **out, hn_error *err);

/*
 * A builder (builder.c). Its members are here so that the engines' hot path
 * can read the rows just appended without a call (hn__builder_view); only
 * builder.c writes them.
 */
struct hn_builder {
  hn_allocator alloc;
  const hn_type *type;
  hn_type_id id;
  hn__layout layout;
  int off_width; /* bytes of one offset: 4, or 8 for the large layouts (0 without offsets) */
  int64_t length;
  int64_t null_count;
  hn_buffer *validity; /* NULL until the first null */
  hn_buffer *values;   /* values, bits, object pointers or offsets */
  hn_buffer *data;     /* utf8/binary bytes */
  int64_t n_children;
  hn_builder **children;
  hn_array **view_children; /* children's live views, for `view` */
  hn_array view;            /* live read-only view of the rows appended so far */
  char last_error[256];
};

/*
 * A read-only view of the rows appended to a builder so far, readable with
 * hn_array_get and friends (not retainable, never released). Valid until the
 * next append to this builder or its children, or finish/destroy.
 */
static inline const hn_array *hn__builder_view(hn_builder *b) {
  hn_array *v = &b->view;
  v->type = b->type;
  v->length = b->length;
  v->offset = 0;
  v->null_count = b->null_count;
  v->buffers[0] = b->validity;
  v->buffers[1] = b->values;
  v->buffers[2] = b->data;
  v->n_children = b->n_children;
  v->children = b->view_children;
  for (int64_t i = 0; i < b->n_children; i++) (void)hn__builder_view(b->children[i]);
  return v;
}
/* Drop rows [len, length) again, freeing objects in them (roll-back of a failed call). */
void hn__builder_truncate(hn_builder *builder, int64_t len);
/*
 * Reserve room for `scale` times what `like` (an array of the builder's type,
 * typically what it last finished) holds: its rows, string bytes and, for
 * lists and structs, its children's, recursively. Capacity only; a failure
 * to allocate is ignored (appends grow or report it).
 */
void hn__builder_reserve_like(hn_builder *builder, const hn_array *like, double scale);
/*
 * True when a nested builder holds exactly what its closed elements account
 * for: a list's item builder has offsets[length] values, every struct field
 * has `length` rows, recursively (one comparison per level; always true for
 * other types). Otherwise appends to `where` (caller's buffer of `cap`
 * bytes, NUL-terminated, usually "") the path of the first child that
 * differs ("item", "a", "a.item"), sets *held to its value count and
 * *expected to what the closed elements account for, and returns false.
 */
bool hn__builder_closed(const hn_builder *builder, char *where, size_t cap, int64_t *held,
                        int64_t *expected);
/* The same test, with nothing reported: the fast path run after every row call. */
bool hn__builder_nested_ok(const hn_builder *builder);

/* ---- array operations for the engines (take.c, concat.c) --------------------- */

/*
 * The bytes of physical buffer i of an array (0 validity, 1 values or
 * offsets, 2 string bytes), from physical row 0 (add the array's offset),
 * or NULL when absent: for hot loops that read fixed-width values in place.
 */
static inline const uint8_t *hn__array_bytes(const hn_array *array, int i) {
  return array->buffers[i] ? array->buffers[i]->data : NULL;
}
/* Bytes held by the array's buffers and its children's, recursively (an estimate of its size). */
int64_t hn__array_nbytes(const hn_array *array);
/* The bytes of every column of the table (hn__array_nbytes summed). */
int64_t hn__table_bytes(const hn_table *table);

/*
 * A new array of n rows of `type`: row i is null when nul[i] (nul may be
 * NULL) or src is NULL, else row idx[i] of src (idx NULL: row i). Returns
 * HN_OK, HN_ENOMEM or the builder's failure (HN_EUNSUPPORTED for objects
 * without copy).
 */
hn_status hn__array_take(const hn_allocator *alloc, const hn_type *type, const hn_array *src,
                         const int64_t *idx, const uint8_t *nul, int64_t n, hn_array **out,
                         hn_error *err);
/* n nulls of `type`. */
hn_status hn__array_nulls(const hn_allocator *alloc, const hn_type *type, int64_t n, hn_array **out,
                          hn_error *err);
/*
 * A list array of n rows over `child` (its reference is taken, also on
 * failure): row i holds child rows [starts[i], starts[i + 1]) (n + 1
 * entries), null where null_rows[i] (null_rows may be NULL). HN_ERANGE past
 * INT32_MAX items.
 */
hn_status hn__array_list(const hn_allocator *alloc, const hn_type *list_type, int64_t n,
                         const int64_t *starts, const uint8_t *null_rows, hn_array *child,
                         hn_array **out, hn_error *err);
/* A one-row list<T> array whose only value is the whole column (zero copy; retains it). */
hn_status hn__array_as_list(const hn_allocator *alloc, hn_array *column, hn_array **out,
                            hn_error *err);
/*
 * Move the object at `row` out of an object array held only by the caller
 * (array and values buffer each with one reference): returns it and leaves
 * a NULL slot (still valid to release). Returns NULL when the array is
 * shared or the row is null: the caller copies instead.
 */
void *hn__array_steal_object(hn_array *array, int64_t row);
/*
 * Concatenate `n` arrays of type `type` in order into one new array
 * (n == 1: a new reference to arrays[0]). Fixed-width values and bitmaps are
 * copied, utf8/binary/list offsets rebased, children concatenated.
 * Objects are copied through the type's vtable, or, when `steal_objects` and
 * an input and its values buffer are held only by the caller, moved out of
 * it (the input is left with null-pointer slots, still valid to release).
 * Returns HN_OK, HN_ERANGE (more than INT32_MAX bytes or items behind one
 * offsets buffer), HN_EUNSUPPORTED (objects without copy) or HN_ENOMEM.
 */
hn_status hn__array_concat(const hn_allocator *alloc, const hn_type *type, int64_t n,
                           hn_array *const *arrays, bool steal_objects, hn_array **out,
                           hn_error *err);
/*
 * The rows of n tables of one schema, in order, as one new table (columns
 * concatenated with hn__array_concat). HN_ETYPE when the schemas differ;
 * otherwise as hn__array_concat.
 */
hn_status hn__table_concat(const hn_allocator *alloc, int64_t n, hn_table *const *tables,
                           hn_table **out, hn_error *err);
/*
 * The coercion rule at a call's edge (cast.c): true when every value of
 * `from` converts to `to` without loss (or the types are equal). See
 * docs/data-model.md, "Coercion at the edges", for the list.
 */
bool hn__cast_lossless(const hn_type *from, const hn_type *to);
/*
 * `array` converted to `to` (a new reference to it when the types are
 * equal). Returns HN_ETYPE when hn__cast_lossless refuses (naming both
 * types), HN_ERANGE when a large string or list holds more bytes or items
 * than the int32 offsets of `to` address, or HN_ENOMEM. String bytes are
 * shared, not copied.
 */
hn_status hn__array_cast(const hn_allocator *alloc, const hn_array *array, const hn_type *to,
                         hn_array **out, hn_error *err);

/*
 * Undo partial appends after a failed call: drop rows [len, length) and,
 * recursively, list items and struct fields appended after the last closed
 * element (objects in them are freed).
 */
void hn__builder_rollback(hn_builder *builder, int64_t len);

/* ---- row hashing for the cache (hash_rows.c) ---------------------------------- */

/*
 * A 128-bit hash (XXH3-128): the two halves, compared as a pair. The value
 * {0, 0} is reserved by the cache as "no key" (do not cache this row).
 */
typedef struct hn__hash128 {
  uint64_t lo, hi;
} hn__hash128;

static inline bool hn__hash128_eq(hn__hash128 a, hn__hash128 b) {
  return a.lo == b.lo && a.hi == b.hi;
}
static inline bool hn__hash128_is_zero(hn__hash128 h) {
  return (h.lo | h.hi) == 0;
}

/*
 * XXH3-128 of rows [offset, offset + n) of `array` (from its logical row
 * 0), one hash per row into out[0, n). Type-aware: a value's hash is seeded
 * by its type id (int64 1, float64 1.0, utf8 "1" and binary "1" differ); a
 * null is a per-type-id constant (hn__hash_null); bool hashes its value,
 * floats their bits (-0.0 differs from 0.0, NaNs by payload); utf8 and
 * binary their bytes and length; a list its items' hashes in order; a struct
 * its fields' hashes in order (field names are not hashed: the column's
 * type, hn__type_hash, says them). The item type of an empty or null list
 * is not part of a row's hash either: key a column by its type too.
 * Equal values give equal hashes whatever their arrays' offsets and
 * buffers. Fixed-width rows are hashed in place; a list or struct column
 * allocates one scratch array per nesting level with the array's allocator.
 * Returns HN_OK, HN_EINVAL (NULL array, or NULL out with n > 0), HN_ERANGE
 * (rows outside the array), HN_EUNSUPPORTED (the type is or holds an
 * object: objects are never cached; or it nests deeper than 64 levels) or
 * HN_ENOMEM. Reads only: arrays may be hashed by several threads at once.
 */
hn_status hn__array_hash_rows(const hn_array *array, int64_t offset, int64_t n, hn__hash128 *out,
                              hn_error *err);
/*
 * The hash of one datum, equal to hn__array_hash_rows of the row it was
 * read from (and what a row function's scalar output is keyed by). A list
 * datum of more than 16 items takes scratch from its array's allocator.
 * Returns HN_OK, HN_EINVAL (NULL out, an unknown type id, a negative
 * string size), HN_EUNSUPPORTED (an object, also inside a list or struct)
 * or HN_ENOMEM.
 */
hn_status hn__datum_hash(hn_datum d, hn__hash128 *out, hn_error *err);
/* The hash every null of type id `id` has. */
hn__hash128 hn__hash_null(hn_type_id id);
/*
 * Structural hash of a type: ids, list item types, struct field names and
 * types in order, object type names. Equal types (hn_type_equals, but for
 * object vtables) hash equally. NULL hashes as a type of id 0.
 */
hn__hash128 hn__type_hash(const hn_type *type);
/* XXH3-128 of `size` bytes (`data` may be NULL when size is 0) with `seed`. */
hn__hash128 hn__hash128_bytes(const void *data, size_t size, uint64_t seed);
/* Order-dependent combination: combine(a, b) != combine(b, a) but by chance. */
hn__hash128 hn__hash128_combine(hn__hash128 a, hn__hash128 b);

#endif /* HN_DATA_INTERNAL_H */
