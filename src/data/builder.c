/* Builders: append values in Arrow layout, finish into immutable arrays. */
#include <stdio.h>

#include "builder_internal.h"

#define fail hn__builder_fail
#define wrong_type hn__builder_wrong_type
#define reserve_rows hn__builder_reserve_rows
#define mark_valid hn__builder_mark_valid

hn_status hn__builder_fail(hn_builder *b, hn_status st, const char *fmt, const char *arg) {
  snprintf(b->last_error, sizeof b->last_error, fmt, arg);
  return st;
}

hn_status hn__builder_wrong_type(hn_builder *b, const char *call) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s on a %s builder", call, hn_type_id_name(b->id));
  return fail(b, HN_ETYPE, "%s", msg);
}

/* Start empty; buffers are allocated on first use (so that this cannot fail). */
static void init_buffers(hn_builder *b) {
  b->length = 0;
  b->null_count = 0;
  b->validity = NULL;
  b->values = NULL;
  b->data = NULL;
}

static bool has_values(const hn_builder *b) {
  return b->layout != HN__L_STRUCT && b->layout != HN__L_FIXED_LIST && b->layout != HN__L_NULL;
}

static bool has_bytes(const hn_builder *b) {
  return b->layout == HN__L_VAR32 || b->layout == HN__L_VAR64;
}

/* Allocate the values (and bytes) buffers if this builder has none yet. */
static hn_status ensure_values(hn_builder *b) {
  if (!has_values(b)) return HN_OK;
  if (!b->values) {
    b->values = hn__buffer_new(&b->alloc, 64);
    if (!b->values) return HN_ENOMEM;
    if (b->off_width) {
      memset(b->values->data, 0, (size_t)b->off_width);
      b->values->size = b->off_width;
    }
  }
  if (has_bytes(b) && !b->data) {
    b->data = hn__buffer_new(&b->alloc, 64);
    if (!b->data) return HN_ENOMEM;
  }
  return HN_OK;
}

static void free_objects(hn_builder *b) {
  if (b->id != HN_TYPE_OBJECT || !b->values) return;
  const hn_object_vtable *vt = &b->type->vtable;
  void **objects = (void **)b->values->data;
  for (int64_t i = 0; i < b->length; i++)
    if (objects[i]) vt->free(vt->ctx, objects[i]);
}

static void drop_buffers(hn_builder *b) {
  free_objects(b);
  hn_buffer_release(b->validity);
  hn_buffer_release(b->values);
  hn_buffer_release(b->data);
  b->validity = b->values = b->data = NULL;
}

void hn_builder_destroy(hn_builder *b) {
  if (!b) return;
  drop_buffers(b);
  for (int64_t i = 0; i < b->n_children; i++) hn_builder_destroy(b->children[i]);
  hn__free(&b->alloc, b->children);
  hn__free(&b->alloc, b->view_children);
  hn_type_release(b->type);
  hn_allocator a = b->alloc;
  hn__free(&a, b);
}

hn_status hn_builder_create(const hn_allocator *alloc, const hn_type *type, hn_builder **out,
                            hn_error *err) {
  if (!type || !out) return hn__error(err, HN_EINVAL, "hn_builder_create: NULL argument");
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_builder *b = hn__calloc(&a, 1, sizeof *b);
  if (!b) return hn__error_nomem(err, "for a builder");
  b->alloc = a;
  b->type = hn_type_retain(type);
  b->id = type->id;
  b->layout = hn__type_layout(type->id);
  b->off_width = !hn__type_has_offsets(type->id)                         ? 0
                 : b->layout == HN__L_VAR64 || b->layout == HN__L_LIST64 ? 8
                                                                         : 4;
  int64_t n = hn__type_num_children(type);
  if (n > 0) {
    b->children = hn__calloc(&a, (size_t)n, sizeof(hn_builder *));
    b->view_children = hn__calloc(&a, (size_t)n, sizeof(hn_array *));
    if (!b->children || !b->view_children) goto nomem;
    b->n_children = n;
  }
  for (int64_t i = 0; i < n; i++) {
    hn_status st = hn_builder_create(&a, hn__type_child(type, i), &b->children[i], err);
    if (st != HN_OK) {
      hn_builder_destroy(b);
      return st;
    }
    b->view_children[i] = &b->children[i]->view;
  }
  init_buffers(b);
  *out = b;
  return HN_OK;
nomem:
  hn_builder_destroy(b);
  return hn__error_nomem(err, "for a builder");
}

/* Getters follow the NULL rule of common.h. */
int64_t hn_builder_length(const hn_builder *b) {
  return b ? b->length : 0;
}
const hn_type *hn_builder_type(const hn_builder *b) {
  return b ? b->type : NULL;
}
hn_builder *hn_builder_child(hn_builder *b, int64_t i) {
  return b && i >= 0 && i < b->n_children ? b->children[i] : NULL;
}
const char *hn_builder_last_error(const hn_builder *b) {
  return b ? b->last_error : "";
}

static hn_status nomem(hn_builder *b) {
  return fail(b, HN_ENOMEM, "%s", "out of memory");
}

/* Bytes the values buffer needs for `rows` rows. */
static int64_t values_size(const hn_builder *b, int64_t rows) {
  if (b->layout == HN__L_BITS) return hn_bytes_for_bits(rows);
  if (b->off_width) return (rows + 1) * b->off_width;
  return rows * hn__type_width(b->type);
}

/* Buffer sizes follow from length; appends skip them, so sync before growing or finishing. */
static void sync_sizes(hn_builder *b) {
  if (b->values) b->values->size = values_size(b, b->length);
  if (b->validity) b->validity->size = hn_bytes_for_bits(b->length);
}

hn_status hn__builder_reserve_rows(hn_builder *b, int64_t extra) {
  if (extra > INT32_MAX - b->length)
    return fail(b, HN_ERANGE, "%s", "more than INT32_MAX rows in one array");
  int64_t rows = b->length + extra;
  if (ensure_values(b) != HN_OK) return nomem(b);
  sync_sizes(b);
  if (b->validity && hn__buffer_reserve(b->validity, hn_bytes_for_bits(rows)) != HN_OK)
    return nomem(b);
  if (!b->values) return HN_OK;
  if (hn__buffer_reserve(b->values, values_size(b, rows)) != HN_OK) return nomem(b);
  return HN_OK;
}

/*
 * Rows `n` rows of b add to child i: n for a struct field, n * size for a
 * fixed_size_list's items (-1 past INT32_MAX); 0 for other children (they
 * grow with what is appended to them).
 */
static int64_t child_rows(const hn_builder *b, int64_t n) {
  if (b->layout == HN__L_STRUCT) return n;
  if (b->layout != HN__L_FIXED_LIST) return 0;
  return n > INT32_MAX / b->type->width ? -1 : n * b->type->width;
}

/* True when `n` more rows fit in b and in the children that grow with it (recursively). */
static bool rows_fit(const hn_builder *b, int64_t n) {
  if (n > INT32_MAX - b->length) return false;
  int64_t k = child_rows(b, n);
  if (k < 0) return false;
  for (int64_t i = 0; k > 0 && i < b->n_children; i++)
    if (!rows_fit(b->children[i], k)) return false;
  return true;
}

/* HN_ERANGE for `n` rows that do not fit (checked before anything is allocated). */
static hn_status too_many(hn_builder *b, const char *what, int64_t n) {
  char msg[160];
  snprintf(msg, sizeof msg,
           "%lld %s on a builder of %lld rows: more than INT32_MAX rows in one array", (long long)n,
           what, (long long)b->length);
  return fail(b, HN_ERANGE, "%s", msg);
}

hn_status hn_builder_reserve(hn_builder *b, int64_t additional) {
  if (additional < 0) return fail(b, HN_EINVAL, "%s", "negative reserve");
  if (!rows_fit(b, additional)) return too_many(b, "more rows reserved", additional);
  hn_status st = reserve_rows(b, additional);
  /* Struct fields and fixed-size items move in step with the rows. */
  int64_t k = child_rows(b, additional);
  for (int64_t i = 0; st == HN_OK && k > 0 && i < b->n_children; i++)
    st = hn_builder_reserve(b->children[i], k);
  if (st != HN_OK) return nomem(b); /* capacity only: the rows are untouched */
  return HN_OK;
}

/* Create the bitmap on the first null: all earlier rows are valid. */
static hn_status ensure_validity(hn_builder *b, int64_t rows) {
  if (b->validity || b->layout == HN__L_NULL) return HN_OK;
  b->validity = hn__buffer_new(&b->alloc, hn_bytes_for_bits(rows > 64 ? rows : 64));
  if (!b->validity) return nomem(b);
  memset(b->validity->data, 0xff, (size_t)hn_bytes_for_bits(b->length));
  return HN_OK;
}

/*
 * Room for `n` nulls everywhere they will be written: a bitmap and the
 * values/offsets of b and of the children that grow with it (recursively).
 * Only allocates; the rows are untouched whatever happens.
 */
static hn_status reserve_nulls(hn_builder *b, int64_t n) {
  if (ensure_validity(b, b->length + n) != HN_OK) return HN_ENOMEM;
  if (reserve_rows(b, n) != HN_OK) return HN_ENOMEM;
  int64_t k = child_rows(b, n);
  for (int64_t i = 0; k > 0 && i < b->n_children; i++)
    if (reserve_nulls(b->children[i], k) != HN_OK) return HN_ENOMEM;
  return HN_OK;
}

/*
 * Undo what a failed reserve_nulls created: a bitmap on a builder without
 * nulls marks every row valid, so dropping it gives back the builder's
 * state before the call (a view shows no bitmap again).
 */
static void drop_unneeded_bitmaps(hn_builder *b) {
  if (b->validity && b->null_count == 0) {
    hn_buffer_release(b->validity);
    b->validity = NULL;
  }
  for (int64_t i = 0; child_rows(b, 1) > 0 && i < b->n_children; i++)
    drop_unneeded_bitmaps(b->children[i]);
}

/* Write `n` null rows into reserved room: cleared bits, zero values, repeated offsets. */
static void fill_nulls(hn_builder *b, int64_t n) {
  int64_t at = b->length;
  if (b->validity) hn__bits_fill(b->validity->data, at, n, false);
  switch (b->layout) {
    case HN__L_NULL:
      break;
    case HN__L_BITS:
      hn__bits_fill(b->values->data, at, n, false);
      break;
    case HN__L_VAR32:
    case HN__L_VAR64:
    case HN__L_LIST32:
    case HN__L_LIST64: {
      int64_t last = hn__builder_offset(b, at);
      for (int64_t i = 1; i <= n; i++) hn__builder_set_offset(b, at + i, last);
      break;
    }
    case HN__L_STRUCT:
    case HN__L_FIXED_LIST:
      for (int64_t i = 0; i < b->n_children; i++) fill_nulls(b->children[i], child_rows(b, n));
      break;
    default: {
      size_t size = (size_t)hn__type_width(b->type);
      memset(b->values->data + (size_t)at * size, 0, (size_t)n * size);
    }
  }
  b->null_count += n;
  b->length += n;
}

hn_status hn_builder_append_nulls(hn_builder *b, int64_t n) {
  if (n < 0) return fail(b, HN_EINVAL, "%s", "negative count");
  if (n == 0) return HN_OK;
  if (!rows_fit(b, n)) return too_many(b, "nulls appended", n);
  if (reserve_nulls(b, n) != HN_OK) {
    drop_unneeded_bitmaps(b);
    char msg[96];
    snprintf(msg, sizeof msg, "out of memory appending %lld nulls", (long long)n);
    return fail(b, HN_ENOMEM, "%s", msg);
  }
  fill_nulls(b, n);
  return HN_OK;
}

hn_status hn_builder_append_null(hn_builder *b) {
  return hn_builder_append_nulls(b, 1);
}

#define HN_APPEND_FIXED(fn, ctype, tid)                                          \
  hn_status fn(hn_builder *b, ctype value) {                                     \
    if (HN__UNLIKELY(b->id != tid)) return wrong_type(b, #fn);                   \
    int64_t need = (b->length + 1) * (int64_t)sizeof(ctype);                     \
    if (HN__UNLIKELY(!b->values || need > b->values->capacity ||                 \
                     (b->validity && b->length >= b->validity->capacity * 8))) { \
      hn_status st = reserve_rows(b, 1);                                         \
      if (st != HN_OK) return st;                                                \
    }                                                                            \
    ((ctype *)b->values->data)[b->length] = value;                               \
    mark_valid(b);                                                               \
    b->length++;                                                                 \
    return HN_OK;                                                                \
  }

HN_APPEND_FIXED(hn_builder_append_int64, int64_t, HN_TYPE_INT64)
HN_APPEND_FIXED(hn_builder_append_float32, float, HN_TYPE_FLOAT32)
HN_APPEND_FIXED(hn_builder_append_float64, double, HN_TYPE_FLOAT64)

hn_status hn_builder_append_bool(hn_builder *b, bool value) {
  if (b->id != HN_TYPE_BOOL) return wrong_type(b, "hn_builder_append_bool");
  hn_status st = reserve_rows(b, 1);
  if (st != HN_OK) return st;
  hn_bit_set_to(b->values->data, b->length, value);
  mark_valid(b);
  b->length++;
  return HN_OK;
}

hn_status hn_builder_append_values(hn_builder *b, const void *values, int64_t n) {
  if (b->layout != HN__L_FIXED) return wrong_type(b, "hn_builder_append_values");
  int64_t size = hn__type_width(b->type);
  if (n < 0 || (n > 0 && !values)) return fail(b, HN_EINVAL, "%s", "bad values or count");
  if (!rows_fit(b, n)) return too_many(b, "values appended", n);
  hn_status st = reserve_rows(b, n); /* all or nothing: room first, then the copy */
  if (st != HN_OK) return st;
  if (n > 0) memcpy(b->values->data + b->length * size, values, (size_t)(n * size));
  if (b->validity) hn__bits_fill(b->validity->data, b->length, n, true);
  b->length += n;
  return HN_OK;
}

/* The range [lo, hi] of the integers a builder of type id holds, false for other types. */
static bool int_range(hn_type_id id, int64_t *lo, uint64_t *hi) {
  static const struct {
    hn_type_id id;
    int64_t lo;
    uint64_t hi;
  } k[] = {{HN_TYPE_INT8, INT8_MIN, INT8_MAX},
           {HN_TYPE_INT16, INT16_MIN, INT16_MAX},
           {HN_TYPE_INT32, INT32_MIN, INT32_MAX},
           {HN_TYPE_INT64, INT64_MIN, INT64_MAX},
           {HN_TYPE_UINT8, 0, UINT8_MAX},
           {HN_TYPE_UINT16, 0, UINT16_MAX},
           {HN_TYPE_UINT32, 0, UINT32_MAX},
           {HN_TYPE_UINT64, 0, UINT64_MAX},
           {HN_TYPE_DATE32, INT32_MIN, INT32_MAX},
           {HN_TYPE_TIME32, INT32_MIN, INT32_MAX},
           {HN_TYPE_INTERVAL_MONTHS, INT32_MIN, INT32_MAX},
           {HN_TYPE_DATE64, INT64_MIN, INT64_MAX},
           {HN_TYPE_TIME64, INT64_MIN, INT64_MAX},
           {HN_TYPE_TIMESTAMP, INT64_MIN, INT64_MAX},
           {HN_TYPE_DURATION, INT64_MIN, INT64_MAX}};
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (k[i].id == id) {
      *lo = k[i].lo;
      *hi = k[i].hi;
      return true;
    }
  return false;
}

/* Append one integer of the builder's width (in range: checked by the caller). */
static hn_status append_int_bits(hn_builder *b, uint64_t bits) {
  hn_status st = reserve_rows(b, 1);
  if (st != HN_OK) return st;
  int64_t w = hn__type_width(b->type);
  uint8_t *dst = b->values->data + b->length * w;
  switch (w) {
    case 1: {
      uint8_t v = (uint8_t)bits;
      memcpy(dst, &v, 1);
      break;
    }
    case 2: {
      uint16_t v = (uint16_t)bits;
      memcpy(dst, &v, 2);
      break;
    }
    case 4: {
      uint32_t v = (uint32_t)bits;
      memcpy(dst, &v, 4);
      break;
    }
    default:
      memcpy(dst, &bits, 8);
  }
  mark_valid(b);
  b->length++;
  return HN_OK;
}

hn_status hn_builder_append_int(hn_builder *b, int64_t value) {
  int64_t lo = 0;
  uint64_t hi = 0;
  if (!int_range(b->id, &lo, &hi)) return wrong_type(b, "hn_builder_append_int");
  if (value < lo || (value > 0 && (uint64_t)value > hi)) {
    char msg[96];
    snprintf(msg, sizeof msg, "%lld does not fit", (long long)value);
    return fail(b, HN_ERANGE, "%s in this builder's type", msg);
  }
  return append_int_bits(b, (uint64_t)value);
}

hn_status hn_builder_append_uint(hn_builder *b, uint64_t value) {
  int64_t lo = 0;
  uint64_t hi = 0;
  if (!int_range(b->id, &lo, &hi)) return wrong_type(b, "hn_builder_append_uint");
  if (value > hi) {
    char msg[96];
    snprintf(msg, sizeof msg, "%llu does not fit", (unsigned long long)value);
    return fail(b, HN_ERANGE, "%s in this builder's type", msg);
  }
  return append_int_bits(b, value);
}

/* A fixed_size_binary value of exactly the type's width. */
static hn_status append_fixed_bytes(hn_builder *b, const char *data, int64_t size) {
  if (size != b->type->width) {
    char msg[96];
    snprintf(msg, sizeof msg, "%lld bytes given, the type holds %d", (long long)size,
             (int)b->type->width);
    return fail(b, HN_EINVAL, "fixed_size_binary: %s", msg);
  }
  return hn_builder_append_values(b, data, 1);
}

hn_status hn_builder_append_str(hn_builder *b, const char *data, int64_t size) {
  if (HN__UNLIKELY(!data && size != 0)) return fail(b, HN_EINVAL, "%s", "NULL data");
  if (size < 0) size = (int64_t)strlen(data);
  if (b->id == HN_TYPE_FIXED_SIZE_BINARY) return append_fixed_bytes(b, data, size);
  if (HN__UNLIKELY(!has_bytes(b))) return wrong_type(b, "hn_builder_append_str");
  int64_t max = b->off_width == 8 ? INT64_MAX / 2 : INT32_MAX;
  if (HN__UNLIKELY(size > max))
    return fail(b, HN_ERANGE, "%s", "more than INT32_MAX bytes in one array");
  /* Fast path: room for one more offset, bit and the bytes. */
  if (HN__UNLIKELY(!b->values || !b->data || (b->length + 2) * b->off_width > b->values->capacity ||
                   (b->validity && b->length >= b->validity->capacity * 8) ||
                   b->data->size + size > b->data->capacity || b->data->size + size > max)) {
    hn_status st = reserve_rows(b, 1);
    if (st != HN_OK) return st;
    if (b->data->size + size > max)
      return fail(b, HN_ERANGE, "%s", "more than INT32_MAX bytes in one array");
    if (hn__buffer_reserve(b->data, b->data->size + size) != HN_OK) return nomem(b);
  }
  int64_t end = b->data->size + size;
  if (size) memcpy(b->data->data + b->data->size, data, (size_t)size);
  b->data->size = end;
  hn__builder_set_offset(b, b->length + 1, end);
  mark_valid(b);
  b->length++;
  return HN_OK;
}

hn_status hn_builder_append_object(hn_builder *b, void *object) {
  if (b->id != HN_TYPE_OBJECT) return wrong_type(b, "hn_builder_append_object");
  if (!object) return hn_builder_append_null(b);
  hn_status st = reserve_rows(b, 1);
  if (st != HN_OK) return st;
  ((void **)b->values->data)[b->length] = object;
  mark_valid(b);
  b->length++;
  return HN_OK;
}

/* Zero the bits after `length` in the last byte of a bitmap. */
static void clear_tail_bits(hn_buffer *bits, int64_t length) {
  if (bits && (length & 7)) bits->data[length >> 3] &= (uint8_t)((1u << (length & 7)) - 1);
}

/* Check struct fields and fixed-size items against the rows; make every buffer exist. */
static hn_status prepare(hn_builder *b, hn_error *err) {
  if (ensure_values(b) != HN_OK) return hn__error_nomem(err, "finishing a builder");
  sync_sizes(b);
  clear_tail_bits(b->validity, b->length);
  if (b->layout == HN__L_BITS) clear_tail_bits(b->values, b->length);
  for (int64_t i = 0; i < b->n_children; i++) {
    hn_builder *c = b->children[i];
    if (b->layout == HN__L_STRUCT && c->length != b->length)
      return hn__error(err, HN_EINVAL,
                       "struct field '%s' has %lld rows but the struct has %lld: call "
                       "hn_builder_finish_element after appending to every field",
                       b->type->names[i], (long long)c->length, (long long)b->length);
    if (b->layout == HN__L_FIXED_LIST && c->length != b->length * b->type->width)
      return hn__error(err, HN_EINVAL,
                       "fixed_size_list items: %lld, but %lld rows of %d need %lld: call "
                       "hn_builder_finish_element after appending each row's items",
                       (long long)c->length, (long long)b->length, (int)b->type->width,
                       (long long)(b->length * b->type->width));
    hn_status st = prepare(c, err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

static void reset_rec(hn_builder *b) {
  drop_buffers(b);
  init_buffers(b);
  for (int64_t i = 0; i < b->n_children; i++) reset_rec(b->children[i]);
}

/* Hand the buffers to a new array and start over. On failure b is reset. */
static hn_status finish_rec(hn_builder *b, hn_array **out, hn_error *err) {
  hn_array *kids_local[8];
  hn_array **kids = kids_local;
  if (b->n_children > 8) {
    kids = hn__calloc(&b->alloc, (size_t)b->n_children, sizeof(hn_array *));
    if (!kids) {
      reset_rec(b);
      return hn__error_nomem(err, "finishing a builder");
    }
  }
  hn_status st = HN_OK;
  int64_t done = 0;
  for (; done < b->n_children; done++) {
    st = finish_rec(b->children[done], &kids[done], err);
    if (st != HN_OK) break;
  }
  if (st != HN_OK) {
    for (int64_t i = 0; i < done; i++) hn_array_release(kids[i]);
    if (kids != kids_local) hn__free(&b->alloc, kids);
    reset_rec(b);
    return st;
  }
  hn_buffer *bufs[3] = {b->validity, b->values, b->data};
  for (int i = 0; i < 3; i++)
    if (bufs[i]) hn__buffer_zero_padding(bufs[i]);
  if (b->id == HN_TYPE_OBJECT) b->values->object_type = hn_type_retain(b->type);
  int64_t length = b->length, nulls = b->null_count;
  init_buffers(b); /* the buffers now belong to the array */
  st = hn__array_make(&b->alloc, b->type, length, 0, nulls, bufs[0], bufs[1], bufs[2],
                      b->n_children, kids, out, err);
  if (kids != kids_local) hn__free(&b->alloc, kids);
  return st;
}

hn_status hn_builder_finish(hn_builder *b, hn_array **out, hn_error *err) {
  if (!b || !out) return hn__error(err, HN_EINVAL, "hn_builder_finish: NULL argument");
  hn_status st = prepare(b, err);
  if (st == HN_ENOMEM) reset_rec(b); /* as documented: what was appended is discarded */
  if (st != HN_OK) return st;
  return finish_rec(b, out, err);
}

/* Offset i of array `a`'s offsets (its offset applied by the caller), 32 or 64 bits wide. */
static int64_t array_offset(const hn_array *a, int64_t i) {
  const uint8_t *p = a->buffers[1]->data;
  return a->type->id == HN_TYPE_LARGE_UTF8 || a->type->id == HN_TYPE_LARGE_BINARY ||
                 a->type->id == HN_TYPE_LARGE_LIST
             ? ((const int64_t *)(const void *)p)[i]
             : ((const int32_t *)(const void *)p)[i];
}

void hn__builder_reserve_like(hn_builder *b, const hn_array *like, double scale) {
  if (!b || !like || like->type->id != b->id || scale <= 0) return;
  double rows = (double)like->length * scale;
  if (rows > INT32_MAX - (double)b->length) return;
  if (reserve_rows(b, (int64_t)rows) != HN_OK) return;
  bool offsets = b->off_width && like->buffers[1] && like->length > 0;
  int64_t used =
      offsets ? array_offset(like, like->offset + like->length) - array_offset(like, like->offset)
              : 0;
  if (b->data && offsets) {
    double bytes = (double)b->data->size + (double)used * scale;
    if (bytes < INT32_MAX && hn__buffer_reserve(b->data, (int64_t)bytes) != HN_OK) return;
  }
  for (int64_t i = 0; i < b->n_children && i < like->n_children; i++) {
    const hn_array *c = like->children[i];
    /* A list's items: as many per row as the rows `like` holds had. */
    double per = offsets && c->length > 0 ? (double)used / (double)c->length : 1.0;
    hn__builder_reserve_like(b->children[i], c, scale * per);
  }
}
