/* Builders: append values in Arrow layout, finish into immutable arrays. */
#include <stdio.h>

#include "data_internal.h"

static hn_status fail(hn_builder *b, hn_status st, const char *fmt, const char *arg) {
  snprintf(b->last_error, sizeof b->last_error, fmt, arg);
  return st;
}

static hn_status wrong_type(hn_builder *b, const char *call) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s on a %s builder", call, hn_type_id_name(b->id));
  return fail(b, HN_ETYPE, "%s", msg);
}

static bool has_offsets(hn_type_id id) {
  return id == HN_TYPE_UTF8 || id == HN_TYPE_BINARY || id == HN_TYPE_LIST;
}

/* Start empty; buffers are allocated on first use (so that this cannot fail). */
static void init_buffers(hn_builder *b) {
  b->length = 0;
  b->null_count = 0;
  b->validity = NULL;
  b->values = NULL;
  b->data = NULL;
}

/* Allocate the values (and bytes) buffers if this builder has none yet. */
static hn_status ensure_values(hn_builder *b) {
  if (b->id == HN_TYPE_STRUCT) return HN_OK;
  if (!b->values) {
    b->values = hn__buffer_new(&b->alloc, 64);
    if (!b->values) return HN_ENOMEM;
    if (has_offsets(b->id)) {
      memset(b->values->data, 0, 4);
      b->values->size = 4;
    }
  }
  if ((b->id == HN_TYPE_UTF8 || b->id == HN_TYPE_BINARY) && !b->data) {
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
  int64_t n = type->id == HN_TYPE_LIST ? 1 : hn_type_num_fields(type);
  if (n > 0) {
    b->children = hn__calloc(&a, (size_t)n, sizeof(hn_builder *));
    if (!b->children) goto nomem;
    b->n_children = n;
  }
  if (n > 0) {
    b->view_children = hn__calloc(&a, (size_t)n, sizeof(hn_array *));
    if (!b->view_children) goto nomem;
  }
  for (int64_t i = 0; i < n; i++) {
    const hn_type *ct = type->id == HN_TYPE_LIST ? type->item : type->fields[i];
    hn_status st = hn_builder_create(&a, ct, &b->children[i], err);
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

static void sync_sizes(hn_builder *b);

/* Room for `extra` more rows in validity (if present) and values/offsets. */
static hn_status reserve_rows(hn_builder *b, int64_t extra) {
  if (extra > INT32_MAX - b->length)
    return fail(b, HN_ERANGE, "%s", "more than INT32_MAX rows in one array");
  int64_t rows = b->length + extra;
  if (ensure_values(b) != HN_OK) return nomem(b);
  sync_sizes(b);
  if (b->validity && hn__buffer_reserve(b->validity, hn_bytes_for_bits(rows)) != HN_OK)
    return nomem(b);
  if (!b->values) return HN_OK;
  int64_t need;
  if (b->id == HN_TYPE_BOOL)
    need = hn_bytes_for_bits(rows);
  else if (has_offsets(b->id))
    need = (rows + 1) * 4;
  else
    need = rows * hn__type_value_size(b->id);
  if (hn__buffer_reserve(b->values, need) != HN_OK) return nomem(b);
  return HN_OK;
}

/* True when `n` more rows fit in b and, for a struct, in every field (recursively). */
static bool rows_fit(const hn_builder *b, int64_t n) {
  if (n > INT32_MAX - b->length) return false;
  for (int64_t i = 0; b->id == HN_TYPE_STRUCT && i < b->n_children; i++)
    if (!rows_fit(b->children[i], n)) return false;
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
  /* Struct fields move in step with the struct. */
  for (int64_t i = 0; st == HN_OK && b->id == HN_TYPE_STRUCT && i < b->n_children; i++)
    st = hn_builder_reserve(b->children[i], additional);
  if (st != HN_OK) return nomem(b); /* capacity only: the rows are untouched */
  return HN_OK;
}

/* Mark the row about to be appended valid (only needed once a bitmap exists). */
static inline void mark_valid(hn_builder *b) {
  if (b->validity) hn_bit_set(b->validity->data, b->length);
}

/* Create the bitmap on the first null: all earlier rows are valid. */
static hn_status ensure_validity(hn_builder *b, int64_t rows) {
  if (b->validity) return HN_OK;
  b->validity = hn__buffer_new(&b->alloc, hn_bytes_for_bits(rows > 64 ? rows : 64));
  if (!b->validity) return nomem(b);
  memset(b->validity->data, 0xff, (size_t)hn_bytes_for_bits(b->length));
  return HN_OK;
}

/* Buffer sizes follow from length; appends skip them, so sync before growing or finishing. */
static void sync_sizes(hn_builder *b) {
  if (b->values) {
    if (b->id == HN_TYPE_BOOL)
      b->values->size = hn_bytes_for_bits(b->length);
    else if (has_offsets(b->id))
      b->values->size = (b->length + 1) * 4;
    else
      b->values->size = b->length * hn__type_value_size(b->id);
  }
  if (b->validity) b->validity->size = hn_bytes_for_bits(b->length);
}

static inline void finish_row(hn_builder *b) {
  b->length++;
}

static inline int32_t *offsets_of(hn_builder *b) {
  return (int32_t *)b->values->data;
}

/*
 * Room for `n` nulls everywhere they will be written: a bitmap and the
 * values/offsets of b and, for a struct, of every field (recursively).
 * Only allocates; the rows are untouched whatever happens.
 */
static hn_status reserve_nulls(hn_builder *b, int64_t n) {
  if (ensure_validity(b, b->length + n) != HN_OK) return HN_ENOMEM;
  if (reserve_rows(b, n) != HN_OK) return HN_ENOMEM;
  for (int64_t i = 0; b->id == HN_TYPE_STRUCT && i < b->n_children; i++)
    if (reserve_nulls(b->children[i], n) != HN_OK) return HN_ENOMEM;
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
  for (int64_t i = 0; b->id == HN_TYPE_STRUCT && i < b->n_children; i++)
    drop_unneeded_bitmaps(b->children[i]);
}

/* Write `n` null rows into reserved room: cleared bits, zero values, repeated offsets. */
static void fill_nulls(hn_builder *b, int64_t n) {
  int64_t at = b->length;
  hn__bits_fill(b->validity->data, at, n, false);
  switch (b->id) {
    case HN_TYPE_BOOL:
      hn__bits_fill(b->values->data, at, n, false);
      break;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
    case HN_TYPE_LIST: {
      int32_t *off = offsets_of(b), last = off[at];
      for (int64_t i = 1; i <= n; i++) off[at + i] = last;
      break;
    }
    case HN_TYPE_STRUCT:
      for (int64_t i = 0; i < b->n_children; i++) fill_nulls(b->children[i], n);
      break;
    default: {
      size_t size = (size_t)hn__type_value_size(b->id);
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
  finish_row(b);
  return HN_OK;
}

hn_status hn_builder_append_values(hn_builder *b, const void *values, int64_t n) {
  int size = hn__type_value_size(b->id);
  if (!size || b->id == HN_TYPE_OBJECT) return wrong_type(b, "hn_builder_append_values");
  if (n < 0 || (n > 0 && !values)) return fail(b, HN_EINVAL, "%s", "bad values or count");
  if (!rows_fit(b, n)) return too_many(b, "values appended", n);
  hn_status st = reserve_rows(b, n); /* all or nothing: room first, then the copy */
  if (st != HN_OK) return st;
  memcpy(b->values->data + b->length * size, values, (size_t)(n * size));
  if (b->validity) hn__bits_fill(b->validity->data, b->length, n, true);
  b->length += n;
  return HN_OK;
}

hn_status hn_builder_append_str(hn_builder *b, const char *data, int64_t size) {
  if (HN__UNLIKELY(b->id != HN_TYPE_UTF8 && b->id != HN_TYPE_BINARY))
    return wrong_type(b, "hn_builder_append_str");
  if (HN__UNLIKELY(!data && size != 0)) return fail(b, HN_EINVAL, "%s", "NULL data");
  if (size < 0) size = (int64_t)strlen(data);
  if (HN__UNLIKELY(size > INT32_MAX))
    return fail(b, HN_ERANGE, "%s", "more than INT32_MAX bytes in one array");
  /* Fast path: room for one more offset, bit and the bytes. */
  if (HN__UNLIKELY(!b->values || !b->data || (b->length + 2) * 4 > b->values->capacity ||
                   (b->validity && b->length >= b->validity->capacity * 8) ||
                   b->data->size + size > b->data->capacity || b->data->size + size > INT32_MAX)) {
    hn_status st = reserve_rows(b, 1);
    if (st != HN_OK) return st;
    if (b->data->size + size > INT32_MAX)
      return fail(b, HN_ERANGE, "%s", "more than INT32_MAX bytes in one array");
    if (hn__buffer_reserve(b->data, b->data->size + size) != HN_OK) return nomem(b);
  }
  int64_t end = b->data->size + size;
  if (size) memcpy(b->data->data + b->data->size, data, (size_t)size);
  b->data->size = end;
  offsets_of(b)[b->length + 1] = (int32_t)end;
  mark_valid(b);
  finish_row(b);
  return HN_OK;
}

hn_status hn_builder_append_object(hn_builder *b, void *object) {
  if (b->id != HN_TYPE_OBJECT) return wrong_type(b, "hn_builder_append_object");
  if (!object) return hn_builder_append_null(b);
  hn_status st = reserve_rows(b, 1);
  if (st != HN_OK) return st;
  ((void **)b->values->data)[b->length] = object;
  mark_valid(b);
  finish_row(b);
  return HN_OK;
}

hn_status hn_builder_finish_element(hn_builder *b) {
  if (b->id == HN_TYPE_LIST) {
    int64_t end = b->children[0]->length;
    if (end > INT32_MAX) return fail(b, HN_ERANGE, "%s", "list items exceed INT32_MAX");
    hn_status st = reserve_rows(b, 1);
    if (st != HN_OK) return st;
    offsets_of(b)[b->length + 1] = (int32_t)end;
  } else if (b->id == HN_TYPE_STRUCT) {
    for (int64_t i = 0; i < b->n_children; i++)
      if (b->children[i]->length != b->length + 1) {
        char msg[200];
        snprintf(msg, sizeof msg, "struct field '%s' has %lld rows, expected %lld",
                 b->type->names[i], (long long)b->children[i]->length, (long long)(b->length + 1));
        return fail(b, HN_EINVAL, "%s", msg);
      }
    hn_status st = reserve_rows(b, 1);
    if (st != HN_OK) return st;
  } else {
    return wrong_type(b, "hn_builder_finish_element");
  }
  mark_valid(b);
  finish_row(b);
  return HN_OK;
}

/*
 * Drop rows [len, length) again (rolling back a failed nested append);
 * objects in them are freed. Rows before `len` are untouched.
 */
void hn__builder_truncate(hn_builder *b, int64_t len) {
  if (len >= b->length) return;
  if (b->id == HN_TYPE_OBJECT && b->values) {
    const hn_object_vtable *vt = &b->type->vtable;
    void **objects = (void **)b->values->data;
    for (int64_t i = len; i < b->length; i++)
      if (objects[i]) vt->free(vt->ctx, objects[i]);
  }
  if (b->id == HN_TYPE_LIST) hn__builder_truncate(b->children[0], offsets_of(b)[len]);
  if (b->id == HN_TYPE_STRUCT)
    for (int64_t i = 0; i < b->n_children; i++) hn__builder_truncate(b->children[i], len);
  if ((b->id == HN_TYPE_UTF8 || b->id == HN_TYPE_BINARY) && b->data)
    b->data->size = offsets_of(b)[len];
  b->length = len;
  b->null_count = b->validity ? len - hn_bits_count(b->validity->data, 0, len) : 0;
}

hn_status hn_builder_append_datum(hn_builder *b, hn_datum d) {
  if (d.type != b->id) return wrong_type(b, "hn_builder_append_datum");
  if (d.is_null) return hn_builder_append_null(b);
  switch (d.type) {
    case HN_TYPE_BOOL:
      return hn_builder_append_bool(b, d.v.b);
    case HN_TYPE_INT64:
      return hn_builder_append_int64(b, d.v.i64);
    case HN_TYPE_FLOAT32:
      return hn_builder_append_float32(b, d.v.f32);
    case HN_TYPE_FLOAT64:
      return hn_builder_append_float64(b, d.v.f64);
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      return hn_builder_append_str(b, d.v.str.data, d.v.str.size);
    case HN_TYPE_LIST: {
      /* A failure rolls the item builder back to `mark` (a failed append changes nothing). */
      int64_t mark = b->children[0]->length;
      hn_status st = HN_OK;
      for (int64_t i = 0; st == HN_OK && i < d.v.list.length; i++)
        st = hn_builder_append_datum(b->children[0], hn_list_view_get(d.v.list, i));
      if (st == HN_OK) st = hn_builder_finish_element(b);
      if (st != HN_OK) hn__builder_truncate(b->children[0], mark);
      return st;
    }
    case HN_TYPE_STRUCT: {
      int64_t done = 0;
      hn_status st = HN_OK;
      for (; done < b->n_children; done++) {
        st = hn_builder_append_datum(b->children[done], hn_struct_view_field(d.v.strct, done));
        if (st != HN_OK) break;
      }
      if (st == HN_OK) st = hn_builder_finish_element(b);
      /* Each field appended so far got exactly one row: take it back. */
      if (st != HN_OK)
        for (int64_t i = 0; i < done; i++)
          hn__builder_truncate(b->children[i], b->children[i]->length - 1);
      return st;
    }
    case HN_TYPE_OBJECT: {
      const hn_object_vtable *vt = &b->type->vtable;
      if (!vt->copy) return fail(b, HN_EUNSUPPORTED, "%s", "object type has no copy function");
      void *copy = vt->copy(vt->ctx, d.v.object);
      if (!copy) return nomem(b);
      hn_status st = hn_builder_append_object(b, copy);
      if (st != HN_OK) vt->free(vt->ctx, copy);
      return st;
    }
  }
  return wrong_type(b, "hn_builder_append_datum");
}

/* Check struct fields have the struct's length and that every buffer exists. */
/* Zero the bits after `length` in the last byte of a bitmap. */
static void clear_tail_bits(hn_buffer *bits, int64_t length) {
  if (bits && (length & 7)) bits->data[length >> 3] &= (uint8_t)((1u << (length & 7)) - 1);
}

static hn_status prepare(hn_builder *b, hn_error *err) {
  if (ensure_values(b) != HN_OK) return hn__error_nomem(err, "finishing a builder");
  sync_sizes(b);
  clear_tail_bits(b->validity, b->length);
  if (b->id == HN_TYPE_BOOL) clear_tail_bits(b->values, b->length);
  for (int64_t i = 0; i < b->n_children; i++) {
    hn_builder *c = b->children[i];
    if (b->id == HN_TYPE_STRUCT && c->length != b->length)
      return hn__error(err, HN_EINVAL,
                       "struct field '%s' has %lld rows but the struct has %lld: call "
                       "hn_builder_finish_element after appending to every field",
                       b->type->names[i], (long long)c->length, (long long)b->length);
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

/* Bytes of buffer i of `a`'s rows (its offset applied for offsets and bytes). */
static int64_t used_bytes(const hn_array *a, int i) {
  const hn_buffer *buf = a->buffers[i];
  if (!buf) return 0;
  if (i == 2 && a->buffers[1]) { /* bytes: from the offsets of its rows */
    const int32_t *off = (const int32_t *)a->buffers[1]->data + a->offset;
    return off[a->length] - off[0];
  }
  return buf->size;
}

void hn__builder_reserve_like(hn_builder *b, const hn_array *like, double scale) {
  if (!b || !like || like->type->id != b->id || scale <= 0) return;
  double rows = (double)like->length * scale;
  if (rows > INT32_MAX - (double)b->length) return;
  if (reserve_rows(b, (int64_t)rows) != HN_OK) return;
  if (b->data) {
    double bytes = (double)b->data->size + (double)used_bytes(like, 2) * scale;
    if (bytes < INT32_MAX && hn__buffer_reserve(b->data, (int64_t)bytes) != HN_OK) return;
  }
  for (int64_t i = 0; i < b->n_children && i < like->n_children; i++) {
    const hn_array *c = like->children[i];
    /* A list's items: as many per row as the rows `like` holds had. */
    double per =
        b->id == HN_TYPE_LIST && c->length > 0 && like->length > 0
            ? (double)(((const int32_t *)like->buffers[1]->data)[like->offset + like->length] -
                       ((const int32_t *)like->buffers[1]->data)[like->offset]) /
                  (double)c->length
            : 1.0;
    hn__builder_reserve_like(b->children[i], c, scale * per);
  }
}

/*
 * The first child, depth first, holding more or fewer values than the closed
 * elements account for: its path (names[0..*depth), at most 8 deep) and
 * counts. No string work unless one differs: this runs after every row call.
 */
static bool closed_rec(const hn_builder *b, const char **names, int *depth, int64_t *held,
                       int64_t *expected) {
  if (b->id != HN_TYPE_LIST && b->id != HN_TYPE_STRUCT) return true;
  int at = *depth;
  for (int64_t i = 0; i < b->n_children; i++) {
    const hn_builder *c = b->children[i];
    int64_t want = b->id == HN_TYPE_STRUCT ? b->length
                   : b->values             ? ((const int32_t *)b->values->data)[b->length]
                                           : 0;
    *depth = at + 1;
    bool ok = c->length == want;
    if (!ok) {
      *held = c->length;
      *expected = want;
    } else {
      ok = closed_rec(c, names, depth, held, expected);
    }
    if (!ok) {
      if (at < 8) names[at] = b->id == HN_TYPE_LIST ? "item" : b->type->names[i];
      return false;
    }
  }
  *depth = at;
  return true;
}

bool hn__builder_nested_ok(const hn_builder *b) {
  if (b->id == HN_TYPE_LIST) {
    const hn_builder *c = b->children[0];
    int64_t end = b->values ? ((const int32_t *)b->values->data)[b->length] : 0;
    return c->length == end && (c->n_children == 0 || hn__builder_nested_ok(c));
  }
  for (int64_t i = 0; i < b->n_children; i++) { /* a struct's fields */
    const hn_builder *c = b->children[i];
    if (c->length != b->length || (c->n_children > 0 && !hn__builder_nested_ok(c))) return false;
  }
  return true;
}

bool hn__builder_closed(const hn_builder *b, char *where, size_t cap, int64_t *held,
                        int64_t *expected) {
  const char *names[8];
  int depth = 0;
  if (HN__LIKELY(closed_rec(b, names, &depth, held, expected))) return true;
  size_t n = strlen(where);
  for (int k = 0; k < depth && k < 8 && n < cap; k++) {
    int w = snprintf(where + n, cap - n, "%s%s", n ? "." : "", names[k]);
    if (w < 0) break;
    n += (size_t)w;
  }
  return false;
}

void hn__builder_rollback(hn_builder *b, int64_t len) {
  if (b->length > len) hn__builder_truncate(b, len);
  if (b->id == HN_TYPE_LIST) {
    int64_t end = b->values ? ((const int32_t *)b->values->data)[len] : 0;
    hn__builder_rollback(b->children[0], end);
  } else if (b->id == HN_TYPE_STRUCT) {
    for (int64_t i = 0; i < b->n_children; i++) hn__builder_rollback(b->children[i], len);
  }
}
