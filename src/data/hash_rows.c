/*
 * Type-aware 128-bit hashing of rows and datums (XXH3-128), what the cache
 * keys an input's value by. The rules, shared by the array path and the
 * datum path so that both give the same hash for the same value:
 *  - a value is hashed with a seed derived from its type id, so equal bytes
 *    of different types (int64 0, float64 0.0, utf8 "1", binary "1") differ;
 *  - a null is a per-type-id constant, distinct from every value's hash;
 *  - bool: one byte 0 or 1; fixed width (integers of every width, floats by
 *    bits, dates, times, timestamps, durations, intervals, decimals): the
 *    value's bytes, little-endian as Arrow lays them out (decimal256: the
 *    32 bytes its datum points to);
 *  - utf8, binary, their large forms and fixed_size_binary: the bytes (XXH3
 *    mixes the length in);
 *  - list, large_list, fixed_size_list and map (its entries, in order):
 *    XXH3-128 of its items' hashes, 16 bytes each, in order (so the item
 *    count is covered);
 *  - null (the type): every row is null;
 *  - struct: a start constant for its field count, folded with each field's
 *    hash in order by hn__hash128_combine.
 * Type parameters (time unit and zone, decimal precision and scale, byte
 * width, item count) are not in a value's hash but in its type's
 * (hn__type_hash), which the cache combines with it.
 * A hash's bytes are the two 64-bit halves in host byte order (as are the
 * LMDB files they key, which are not portable across byte orders either).
 */
#define XXH_INLINE_ALL
#include <stddef.h>
#include <xxhash.h>

#include "data_internal.h"

/* Deepest type nesting hashed: the deepest the serialisation (hence the cache) stores. */
#define HASH_MAX_DEPTH 64

#define SEED_VALUE 0x6a09e667f3bcc908ull
#define SEED_NULL 0xbb67ae8584caa73bull
#define SEED_COMBINE 0x3c6ef372fe94f82bull
#define SEED_TYPE 0xa54ff53a5f1d36f1ull
#define SEED_MIX 0x9e3779b97f4a7c15ull

/*
 * How rows of each type are hashed. A new type is one line here (and, for a
 * fixed-width type, the hn_datum member its row functions read): fixed-width
 * types give their width and that member; the kind does the rest.
 */
typedef enum hash_kind {
  KIND_NONE = 0, /* not hashable: objects (never cached) and unknown ids */
  KIND_FIXED,
  KIND_BOOL,
  KIND_BYTES, /* offsets (32 or 64 bits) and bytes, or fixed_size_binary */
  KIND_LIST,  /* offsets (32 or 64 bits) or a fixed item count; the items in child 0 */
  KIND_STRUCT,
  KIND_NULL /* the null type: no values */
} hash_kind;

typedef struct row_hasher {
  hash_kind kind;
  int width;           /* KIND_FIXED: bytes of one value */
  size_t datum_member; /* KIND_FIXED: offsetof the value in hn_datum */
} row_hasher;

#define FIXED(member) \
  KIND_FIXED, (int)sizeof(((hn_datum *)0)->v.member), offsetof(hn_datum, v.member)

static const row_hasher k_hashers[] = {
    [HN_TYPE_BOOL] = {KIND_BOOL, 1, 0},
    [HN_TYPE_INT64] = {FIXED(i64)},
    [HN_TYPE_FLOAT32] = {FIXED(f32)},
    [HN_TYPE_FLOAT64] = {FIXED(f64)},
    [HN_TYPE_UTF8] = {KIND_BYTES, 0, 0},
    [HN_TYPE_BINARY] = {KIND_BYTES, 0, 0},
    [HN_TYPE_LIST] = {KIND_LIST, 0, 0},
    [HN_TYPE_STRUCT] = {KIND_STRUCT, 0, 0},
    [HN_TYPE_OBJECT] = {KIND_NONE, 0, 0},
    [HN_TYPE_NULL] = {KIND_NULL, 0, 0},
    [HN_TYPE_INT8] = {FIXED(i8)},
    [HN_TYPE_INT16] = {FIXED(i16)},
    [HN_TYPE_INT32] = {FIXED(i32)},
    [HN_TYPE_UINT8] = {FIXED(u8)},
    [HN_TYPE_UINT16] = {FIXED(u16)},
    [HN_TYPE_UINT32] = {FIXED(u32)},
    [HN_TYPE_UINT64] = {FIXED(u64)},
    [HN_TYPE_FLOAT16] = {FIXED(f16)},
    [HN_TYPE_DATE32] = {FIXED(i32)},
    [HN_TYPE_DATE64] = {FIXED(i64)},
    [HN_TYPE_TIME32] = {FIXED(i32)},
    [HN_TYPE_TIME64] = {FIXED(i64)},
    [HN_TYPE_TIMESTAMP] = {FIXED(i64)},
    [HN_TYPE_DURATION] = {FIXED(i64)},
    [HN_TYPE_INTERVAL_MONTHS] = {FIXED(i32)},
    [HN_TYPE_INTERVAL_DAY_TIME] = {FIXED(day_time)},
    [HN_TYPE_INTERVAL_MONTH_DAY_NANO] = {FIXED(mdn)},
    [HN_TYPE_DECIMAL128] = {FIXED(d128)},
    [HN_TYPE_DECIMAL256] = {KIND_FIXED, 32, offsetof(hn_datum, v.d256)}, /* through the pointer */
    [HN_TYPE_LARGE_UTF8] = {KIND_BYTES, 0, 0},
    [HN_TYPE_LARGE_BINARY] = {KIND_BYTES, 0, 0},
    [HN_TYPE_FIXED_SIZE_BINARY] = {KIND_BYTES, 0, 0},
    [HN_TYPE_LARGE_LIST] = {KIND_LIST, 0, 0},
    [HN_TYPE_FIXED_SIZE_LIST] = {KIND_LIST, 0, 0},
    [HN_TYPE_MAP] = {KIND_LIST, 0, 0},
};

#undef FIXED

static const row_hasher *hasher_of(hn_type_id id) {
  size_t n = sizeof k_hashers / sizeof k_hashers[0];
  if ((size_t)id >= n || k_hashers[id].kind == KIND_NONE) return NULL;
  return &k_hashers[id];
}

static inline hn__hash128 from_xxh(XXH128_hash_t h) {
  hn__hash128 r = {h.low64, h.high64};
  return r;
}

static inline hn__hash128 h128(const void *data, size_t size, uint64_t seed) {
  return from_xxh(XXH3_128bits_withSeed(size ? data : "", size, seed));
}

static inline uint64_t value_seed(hn_type_id id) {
  return SEED_VALUE ^ ((uint64_t)id * SEED_MIX);
}

hn__hash128 hn__hash128_bytes(const void *data, size_t size, uint64_t seed) {
  return h128(data, size, seed);
}

hn__hash128 hn__hash128_combine(hn__hash128 a, hn__hash128 b) {
  uint64_t words[4] = {a.lo, a.hi, b.lo, b.hi};
  return h128(words, sizeof words, SEED_COMBINE);
}

hn__hash128 hn__hash_null(hn_type_id id) {
  uint64_t word = (uint64_t)id;
  return h128(&word, sizeof word, SEED_NULL);
}

/* The hash a struct's fields are folded into. */
static hn__hash128 struct_start(int64_t n_fields) {
  uint64_t word = (uint64_t)n_fields;
  return h128(&word, sizeof word, value_seed(HN_TYPE_STRUCT));
}

static hn_status unsupported(hn_type_id id, hn_error *err) {
  if (id == HN_TYPE_OBJECT)
    return hn__error(err, HN_EUNSUPPORTED,
                     "object values cannot be hashed (they are never cached)");
  return hn__error(err, HN_EINVAL, "no type has id %d: the value cannot be hashed", (int)id);
}

static hn_status too_deep(hn_error *err) {
  return hn__error(err, HN_EUNSUPPORTED, "a value nested deeper than %d levels cannot be hashed",
                   HASH_MAX_DEPTH);
}

/* ---- the array path --------------------------------------------------------- */

static hn_status hash_rows(const hn_array *a, int64_t j0, int64_t n, hn__hash128 *out, int depth,
                           hn_error *err);

/* Width-specialised loops: the compiler inlines XXH3's short-input path for each. */
static void hash_fixed(const uint8_t *v, int width, int64_t n, uint64_t seed, hn__hash128 *out) {
  switch (width) {
    case 8:
      for (int64_t i = 0; i < n; i++) out[i] = h128(v + 8 * i, 8, seed);
      break;
    case 4:
      for (int64_t i = 0; i < n; i++) out[i] = h128(v + 4 * i, 4, seed);
      break;
    default:
      for (int64_t i = 0; i < n; i++) out[i] = h128(v + (size_t)width * i, (size_t)width, seed);
      break;
  }
}

static void hash_bool(const hn_array *a, int64_t j0, int64_t n, hn__hash128 *out) {
  const uint8_t f = 0, t = 1;
  hn__hash128 hf = h128(&f, 1, value_seed(HN_TYPE_BOOL));
  hn__hash128 ht = h128(&t, 1, value_seed(HN_TYPE_BOOL));
  const uint8_t *bits = hn__array_bytes(a, 1);
  for (int64_t i = 0; i < n; i++) out[i] = hn_bit_get(bits, j0 + i) ? ht : hf;
}

/*
 * Where row j (physical) of a variable-length or list-like array starts and
 * ends: in its bytes (utf8, binary and their large forms; fixed_size_binary:
 * width bytes a row) or in its child (lists, large lists, maps;
 * fixed_size_list: width items a row).
 */
static inline int64_t var_start(const hn_array *a, int64_t j) {
  const uint8_t *off = hn__array_bytes(a, 1);
  switch (hn__type_layout(a->type->id)) {
    case HN__L_VAR64:
    case HN__L_LIST64:
      return ((const int64_t *)(const void *)off)[j];
    case HN__L_VAR32:
    case HN__L_LIST32:
      return ((const int32_t *)(const void *)off)[j];
    default: /* fixed_size_binary, fixed_size_list */
      return j * a->type->width;
  }
}

static void hash_bytes(const hn_array *a, int64_t j0, int64_t n, hn__hash128 *out) {
  bool fixed = a->type->id == HN_TYPE_FIXED_SIZE_BINARY;
  const uint8_t *data = hn__array_bytes(a, fixed ? 1 : 2);
  uint64_t seed = value_seed(a->type->id);
  for (int64_t i = 0; i < n; i++) {
    int64_t s = var_start(a, j0 + i), e = var_start(a, j0 + i + 1);
    out[i] = h128(data ? data + s : NULL, (size_t)(e - s), seed);
  }
}

/* A list row: XXH3-128 of its items' hashes, which are hashed once for the whole range. */
static hn_status hash_lists(const hn_array *a, int64_t j0, int64_t n, hn__hash128 *out, int depth,
                            hn_error *err) {
  int64_t base = var_start(a, j0), m = var_start(a, j0 + n) - base;
  hn__hash128 *items = NULL;
  if (m > 0) {
    items = hn__malloc(&a->alloc, (size_t)m * sizeof *items);
    if (!items) return hn__error_nomem(err, "hashing list items");
    hn_status st = hash_rows(a->children[0], base, m, items, depth + 1, err);
    if (st != HN_OK) {
      hn__free(&a->alloc, items);
      return st;
    }
  }
  uint64_t seed = value_seed(HN_TYPE_LIST);
  for (int64_t i = 0; i < n; i++) {
    int64_t s = var_start(a, j0 + i), e = var_start(a, j0 + i + 1);
    out[i] = h128(items ? items + (s - base) : NULL, (size_t)(e - s) * sizeof *items, seed);
  }
  hn__free(&a->alloc, items);
  return HN_OK;
}

/* A struct row: its fields' hashes folded in order (children are read at the struct's rows). */
static hn_status hash_structs(const hn_array *a, int64_t j0, int64_t n, hn__hash128 *out, int depth,
                              hn_error *err) {
  hn__hash128 start = struct_start(a->n_children);
  for (int64_t i = 0; i < n; i++) out[i] = start;
  if (a->n_children == 0 || n == 0) return HN_OK;
  hn__hash128 *field = hn__malloc(&a->alloc, (size_t)n * sizeof *field);
  if (!field) return hn__error_nomem(err, "hashing struct fields");
  for (int64_t f = 0; f < a->n_children; f++) {
    hn_status st = hash_rows(a->children[f], j0, n, field, depth + 1, err);
    if (st != HN_OK) {
      hn__free(&a->alloc, field);
      return st;
    }
    for (int64_t i = 0; i < n; i++) out[i] = hn__hash128_combine(out[i], field[i]);
  }
  hn__free(&a->alloc, field);
  return HN_OK;
}

/* Rows [j0, j0 + n) of `a` counted from its logical row 0 (its offset is added here). */
static hn_status hash_rows(const hn_array *a, int64_t j0, int64_t n, hn__hash128 *out, int depth,
                           hn_error *err) {
  if (depth > HASH_MAX_DEPTH) return too_deep(err);
  const row_hasher *h = hasher_of(a->type->id);
  if (!h) return unsupported(a->type->id, err);
  if (n == 0) return HN_OK;
  int64_t j = a->offset + j0; /* physical row */
  hn_status st = HN_OK;
  switch (h->kind) {
    case KIND_FIXED:
      hash_fixed(hn__array_bytes(a, 1) + j * h->width, h->width, n, value_seed(a->type->id), out);
      break;
    case KIND_BOOL:
      hash_bool(a, j, n, out);
      break;
    case KIND_BYTES:
      hash_bytes(a, j, n, out);
      break;
    case KIND_LIST:
      st = hash_lists(a, j, n, out, depth, err);
      break;
    case KIND_STRUCT:
      st = hash_structs(a, j, n, out, depth, err);
      break;
    case KIND_NULL:
      for (int64_t i = 0; i < n; i++) out[i] = hn__hash_null(a->type->id);
      return HN_OK;
    case KIND_NONE:
      return unsupported(a->type->id, err);
  }
  if (st != HN_OK) return st;
  const uint8_t *validity = hn__array_bytes(a, 0);
  if (validity) {
    hn__hash128 null = hn__hash_null(a->type->id);
    for (int64_t i = 0; i < n; i++)
      if (!hn_bit_get(validity, j + i)) out[i] = null;
  }
  return HN_OK;
}

hn_status hn__array_hash_rows(const hn_array *array, int64_t offset, int64_t n, hn__hash128 *out,
                              hn_error *err) {
  if (!array || (n > 0 && !out))
    return hn__error(err, HN_EINVAL, "hn__array_hash_rows: NULL argument");
  if (offset < 0 || n < 0 || offset > array->length || n > array->length - offset)
    return hn__error(err, HN_ERANGE, "hashing rows [%lld, +%lld) of an array of %lld rows",
                     (long long)offset, (long long)n, (long long)array->length);
  /* Refused whatever the rows hold: an empty list<object> must not hash as a list. */
  if (hn_type_has_object(array->type)) return unsupported(HN_TYPE_OBJECT, err);
  return hash_rows(array, offset, n, out, 0, err);
}

/* ---- the datum path --------------------------------------------------------- */

static hn_status datum_hash(const hn_datum *d, hn__hash128 *out, int depth, hn_error *err);

/* A list datum: its items hashed by the array path (a list view is a range of an array). */
static hn_status datum_list(const hn_list_view *view, hn__hash128 *out, int depth, hn_error *err) {
  hn__hash128 small[16], *items = small;
  int64_t n = view->values ? view->length : 0;
  if (n > (int64_t)(sizeof small / sizeof small[0])) {
    items = hn__malloc(&view->values->alloc, (size_t)n * sizeof *items);
    if (!items) return hn__error_nomem(err, "hashing list items");
  }
  hn_status st = n > 0 ? hash_rows(view->values, view->start, n, items, depth + 1, err) : HN_OK;
  if (st == HN_OK) *out = h128(items, (size_t)n * sizeof *items, value_seed(HN_TYPE_LIST));
  if (items != small) hn__free(&view->values->alloc, items);
  return st;
}

static hn_status datum_struct(const hn_struct_view *view, hn__hash128 *out, int depth,
                              hn_error *err) {
  int64_t n_fields = view->array ? view->array->n_children : 0;
  hn__hash128 acc = struct_start(n_fields);
  for (int64_t f = 0; f < n_fields; f++) {
    hn_datum field = hn_struct_view_field(*view, f);
    hn__hash128 h;
    hn_status st = datum_hash(&field, &h, depth + 1, err);
    if (st != HN_OK) return st;
    acc = hn__hash128_combine(acc, h);
  }
  *out = acc;
  return HN_OK;
}

static hn_status datum_hash(const hn_datum *d, hn__hash128 *out, int depth, hn_error *err) {
  if (depth > HASH_MAX_DEPTH) return too_deep(err);
  const row_hasher *h = hasher_of(d->type);
  if (!h) return unsupported(d->type, err);
  if (d->is_null || h->kind == KIND_NULL) {
    *out = hn__hash_null(d->type);
    return HN_OK;
  }
  switch (h->kind) {
    case KIND_FIXED: {
      const void *bytes = (const char *)d + h->datum_member;
      if (d->type == HN_TYPE_DECIMAL256) bytes = d->v.d256; /* the datum points to them */
      if (!bytes) return hn__error(err, HN_EINVAL, "a decimal256 datum without its value");
      *out = h128(bytes, (size_t)h->width, value_seed(d->type));
      return HN_OK;
    }
    case KIND_BOOL: {
      uint8_t byte = d->v.b ? 1 : 0;
      *out = h128(&byte, 1, value_seed(HN_TYPE_BOOL));
      return HN_OK;
    }
    case KIND_BYTES:
      if (d->v.str.size < 0) return hn__error(err, HN_EINVAL, "a string datum of negative size");
      *out = h128(d->v.str.data, (size_t)d->v.str.size, value_seed(d->type));
      return HN_OK;
    case KIND_LIST:
      return datum_list(&d->v.list, out, depth, err);
    case KIND_STRUCT:
      return datum_struct(&d->v.strct, out, depth, err);
    case KIND_NULL:
    case KIND_NONE:
      break;
  }
  return unsupported(d->type, err);
}

/* The array a nested datum reads from, whose type says whether objects hide inside. */
static const hn_array *datum_source(const hn_datum *d) {
  if (hn__type_layout(d->type) == HN__L_LIST32 || hn__type_layout(d->type) == HN__L_LIST64 ||
      hn__type_layout(d->type) == HN__L_FIXED_LIST)
    return d->v.list.values;
  if (d->type == HN_TYPE_STRUCT) return d->v.strct.array;
  return NULL;
}

hn_status hn__datum_hash(hn_datum d, hn__hash128 *out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn__datum_hash: NULL argument");
  const hn_array *src = datum_source(&d);
  if (src && hn_type_has_object(src->type)) return unsupported(HN_TYPE_OBJECT, err);
  return datum_hash(&d, out, 0, err);
}

/* ---- types ------------------------------------------------------------------ */

static hn__hash128 type_hash(const hn_type *t, int depth) {
  uint64_t id = t ? (uint64_t)t->id : 0;
  hn__hash128 h = h128(&id, sizeof id, SEED_TYPE);
  if (!t || depth > HASH_MAX_DEPTH) return h;
  /* Parameters: unit, decimal precision and scale, width (all zero where they do not apply). */
  int64_t params[4] = {(int64_t)t->unit, t->precision, t->scale, t->width};
  if (params[0] || params[1] || params[2] || params[3])
    h = hn__hash128_combine(h, h128(params, sizeof params, SEED_TYPE));
  if (t->tz) h = hn__hash128_combine(h, h128(t->tz, strlen(t->tz), SEED_TYPE));
  if (t->item) return hn__hash128_combine(h, type_hash(t->item, depth + 1));
  if (t->id == HN_TYPE_OBJECT && t->object_name)
    return hn__hash128_combine(h, h128(t->object_name, strlen(t->object_name), SEED_TYPE));
  if (t->id != HN_TYPE_STRUCT) return h;
  h = hn__hash128_combine(h, struct_start(t->n_fields));
  for (int64_t f = 0; f < t->n_fields; f++) {
    h = hn__hash128_combine(h, h128(t->names[f], strlen(t->names[f]), SEED_TYPE));
    h = hn__hash128_combine(h, type_hash(t->fields[f], depth + 1));
  }
  return h;
}

hn__hash128 hn__type_hash(const hn_type *type) {
  return type_hash(type, 0);
}
