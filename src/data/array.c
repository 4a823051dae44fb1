/* Immutable arrays: assembly, accessors, datum views, slicing, equality. */
#include "data_internal.h"

static void release_parts(hn_buffer *b0, hn_buffer *b1, hn_buffer *b2, int64_t n,
                          hn_array **children) {
  hn_buffer_release(b0);
  hn_buffer_release(b1);
  hn_buffer_release(b2);
  for (int64_t i = 0; i < n; i++) hn_array_release(children[i]);
}

hn_status hn__array_make(const hn_allocator *alloc, const hn_type *type, int64_t length,
                         int64_t offset, int64_t null_count, hn_buffer *b0, hn_buffer *b1,
                         hn_buffer *b2, int64_t n_children, hn_array **children, hn_array **out,
                         hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_array *arr = hn__calloc(&a, 1, sizeof *arr);
  hn_array **kids = NULL;
  if (arr && n_children > 0) kids = hn__calloc(&a, (size_t)n_children, sizeof(hn_array *));
  if (!arr || (n_children > 0 && !kids)) {
    hn__free(&a, arr);
    release_parts(b0, b1, b2, n_children, children);
    return hn__error_nomem(err, "for an array");
  }
  if (n_children > 0) memcpy(kids, children, sizeof(hn_array *) * (size_t)n_children);
  atomic_init(&arr->refcount, 1);
  arr->alloc = a;
  arr->type = hn_type_retain(type);
  arr->length = length;
  arr->offset = offset;
  if (null_count < 0) null_count = b0 ? length - hn_bits_count(b0->data, offset, length) : 0;
  if (type->id == HN_TYPE_NULL) null_count = length; /* no bitmap: every row is null */
  arr->null_count = null_count;
  if ((null_count == 0 || type->id == HN_TYPE_NULL) && b0) {
    hn_buffer_release(b0); /* no nulls: the bitmap is not needed */
    b0 = NULL;
  }
  arr->buffers[0] = b0;
  arr->buffers[1] = b1;
  arr->buffers[2] = b2;
  arr->n_children = n_children;
  arr->children = kids;
  *out = arr;
  return HN_OK;
}

hn_status hn_array_create_fixed(const hn_allocator *alloc, const hn_type *type, int64_t length,
                                hn_buffer *validity, hn_buffer *values, hn_array **out,
                                hn_error *err) {
  if (!type || !values || !out || length < 0)
    return hn__error(err, HN_EINVAL, "hn_array_create_fixed: NULL argument or negative length");
  hn_type_id id = type->id;
  int64_t need;
  if (id == HN_TYPE_BOOL) {
    need = hn_bytes_for_bits(length);
  } else if (hn__type_layout(id) == HN__L_FIXED) {
    /* No buffer can hold more than INT64_MAX bytes: a product that overflows is too small. */
    if (hn__mul_overflow(length, hn__type_width(type), &need))
      return hn__error(err, HN_EINVAL,
                       "values buffer has %lld bytes, %lld %s values need more than INT64_MAX",
                       (long long)values->size, (long long)length, hn_type_id_name(id));
  } else {
    return hn__error(err, HN_ETYPE, "hn_array_create_fixed: %s is not a fixed-width type",
                     hn_type_id_name(id));
  }
  if (values->size < need)
    return hn__error(err, HN_EINVAL, "values buffer has %lld bytes, %lld %s values need %lld",
                     (long long)values->size, (long long)length, hn_type_id_name(id),
                     (long long)need);
  if (validity && validity->size < hn_bytes_for_bits(length))
    return hn__error(err, HN_EINVAL, "validity buffer has %lld bytes, %lld rows need %lld",
                     (long long)validity->size, (long long)length,
                     (long long)hn_bytes_for_bits(length));
  return hn__array_make(alloc, type, length, 0, -1, hn_buffer_retain(validity),
                        hn_buffer_retain(values), NULL, 0, NULL, out, err);
}

hn_array *hn_array_retain(hn_array *array) {
  if (array) atomic_fetch_add_explicit(&array->refcount, 1, memory_order_relaxed);
  return array;
}

void hn_array_release(hn_array *array) {
  if (!array || atomic_fetch_sub_explicit(&array->refcount, 1, memory_order_acq_rel) != 1) return;
  release_parts(array->buffers[0], array->buffers[1], array->buffers[2], array->n_children,
                array->children);
  hn_type_release(array->type);
  hn_allocator a = array->alloc;
  hn__free(&a, array->children);
  hn__free(&a, array);
}

/* Getters follow the NULL rule of common.h: a NULL array gives 0, NULL or a null datum. */
const hn_type *hn_array_type(const hn_array *a) {
  return a ? a->type : NULL;
}
int64_t hn_array_length(const hn_array *a) {
  return a ? a->length : 0;
}
int64_t hn_array_offset(const hn_array *a) {
  return a ? a->offset : 0;
}
int64_t hn_array_null_count(const hn_array *a) {
  return a ? a->null_count : 0;
}
const uint8_t *hn_array_validity(const hn_array *a) {
  return a && a->buffers[0] ? a->buffers[0]->data : NULL;
}
hn_buffer *hn_array_buffer(const hn_array *a, int n) {
  return a && n >= 0 && n < hn__type_num_buffers(a->type->id) ? a->buffers[n] : NULL;
}
int64_t hn_array_num_children(const hn_array *a) {
  return a ? a->n_children : 0;
}
const hn_array *hn_array_child(const hn_array *a, int64_t i) {
  return a && i >= 0 && i < a->n_children ? a->children[i] : NULL;
}

static const void *values_at(const hn_array *a, hn_type_id id) {
  if (!a || a->type->id != id || !a->buffers[1]) return NULL;
  return a->buffers[1]->data + a->offset * hn__type_value_size(id);
}
const void *hn_array_values(const hn_array *a) {
  if (!a || hn__type_layout(a->type->id) != HN__L_FIXED || !a->buffers[1]) return NULL;
  return a->buffers[1]->data + a->offset * hn__type_width(a->type);
}
const int64_t *hn_array_large_offsets(const hn_array *a) {
  if (!a || !a->buffers[1]) return NULL;
  hn__layout l = hn__type_layout(a->type->id);
  if (l != HN__L_VAR64 && l != HN__L_LIST64) return NULL;
  return (const int64_t *)a->buffers[1]->data + a->offset;
}
const int64_t *hn_array_int64_values(const hn_array *a) {
  return values_at(a, HN_TYPE_INT64);
}
const double *hn_array_float64_values(const hn_array *a) {
  return values_at(a, HN_TYPE_FLOAT64);
}
const float *hn_array_float32_values(const hn_array *a) {
  return values_at(a, HN_TYPE_FLOAT32);
}
const int32_t *hn_array_offsets(const hn_array *a) {
  if (!a) return NULL;
  hn__layout l = hn__type_layout(a->type->id);
  if ((l != HN__L_VAR32 && l != HN__L_LIST32) || !a->buffers[1]) return NULL;
  return (const int32_t *)a->buffers[1]->data + a->offset;
}

/* No array, no value: is_null agrees with the datum below. */
bool hn_array_is_null(const hn_array *a, int64_t i) {
  if (!a || a->type->id == HN_TYPE_NULL) return true;
  return a->buffers[0] && !hn_bit_get(a->buffers[0]->data, a->offset + i);
}

/* The datum of a NULL array or struct view: type 0, null. */
static hn_datum no_datum(void) {
  hn_datum d;
  memset(&d, 0, sizeof d);
  d.is_null = true;
  return d;
}

/* A fixed-width value of `width` bytes at `p` into the datum member its type reads. */
static void get_fixed(hn_datum *d, const hn_type *t, const uint8_t *p) {
  switch (t->id) {
    case HN_TYPE_INT8:
    case HN_TYPE_UINT8:
      memcpy(&d->v.u8, p, 1);
      break;
    case HN_TYPE_INT16:
    case HN_TYPE_UINT16:
    case HN_TYPE_FLOAT16:
      memcpy(&d->v.u16, p, 2);
      break;
    case HN_TYPE_INT32:
    case HN_TYPE_UINT32:
    case HN_TYPE_FLOAT32:
    case HN_TYPE_DATE32:
    case HN_TYPE_TIME32:
    case HN_TYPE_INTERVAL_MONTHS:
      memcpy(&d->v.u32, p, 4);
      break;
    case HN_TYPE_INTERVAL_DAY_TIME:
      memcpy(&d->v.day_time, p, 8);
      break;
    case HN_TYPE_INTERVAL_MONTH_DAY_NANO:
      memcpy(&d->v.mdn, p, 16);
      break;
    case HN_TYPE_DECIMAL128:
      memcpy(&d->v.d128, p, 16);
      break;
    case HN_TYPE_DECIMAL256:
      d->v.d256 = (const uint64_t *)(const void *)p;
      break;
    case HN_TYPE_FIXED_SIZE_BINARY:
      d->v.str.data = (const char *)p;
      d->v.str.size = t->width;
      break;
    default: /* int64, uint64, float64, date64, time64, timestamp, duration, object */
      memcpy(&d->v.u64, p, 8);
  }
}

/* Row j (physical) of a variable-size or list-like array (layout l): [*start, *start + *len). */
static inline void get_span(const hn_array *a, hn__layout l, int64_t j, int64_t *start,
                            int64_t *len) {
  const uint8_t *values = a->buffers[1] ? a->buffers[1]->data : NULL;
  switch (l) {
    case HN__L_VAR64:
    case HN__L_LIST64: {
      const int64_t *off = (const int64_t *)(const void *)values;
      *start = off[j];
      *len = off[j + 1] - off[j];
      return;
    }
    case HN__L_FIXED_LIST:
      *start = j * a->type->width;
      *len = a->type->width;
      return;
    default: {
      const int32_t *off = (const int32_t *)(const void *)values;
      *start = off[j];
      *len = (int64_t)off[j + 1] - off[j];
    }
  }
}

hn_datum hn_array_get(const hn_array *a, int64_t i) {
  if (!a) return no_datum();
  hn_datum d;
  int64_t j = a->offset + i, start = 0, len = 0;
  d.type = a->type->id;
  d.is_null = a->buffers[0] && !hn_bit_get(a->buffers[0]->data, j);
  const uint8_t *values = a->buffers[1] ? a->buffers[1]->data : NULL;
  switch (d.type) { /* the most read types first, without the layout dispatch */
    case HN_TYPE_INT64:
    case HN_TYPE_FLOAT64:
      memcpy(&d.v.u64, values + j * 8, 8);
      return d;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
    case HN_TYPE_LIST: {
      const int32_t *off = (const int32_t *)(const void *)values;
      start = off[j];
      len = (int64_t)off[j + 1] - off[j];
      if (d.type == HN_TYPE_LIST) {
        d.v.list.values = a->children[0];
        d.v.list.start = start;
        d.v.list.length = len;
      } else {
        d.v.str.data = a->buffers[2] ? (const char *)a->buffers[2]->data + start : "";
        d.v.str.size = len;
      }
      return d;
    }
    default:
      break;
  }
  hn__layout l = hn__type_layout(d.type);
  switch (l) {
    case HN__L_NULL:
      d.is_null = true;
      break;
    case HN__L_BITS:
      d.v.b = hn_bit_get(values, j);
      break;
    case HN__L_FIXED:
    case HN__L_OBJECT: {
      int64_t w = hn__type_width(a->type);
      get_fixed(&d, a->type, values + j * w);
      break;
    }
    case HN__L_VAR32:
    case HN__L_VAR64:
      get_span(a, l, j, &start, &len);
      d.v.str.data = a->buffers[2] ? (const char *)a->buffers[2]->data + start : "";
      d.v.str.size = len;
      break;
    case HN__L_LIST32:
    case HN__L_LIST64:
    case HN__L_FIXED_LIST:
      get_span(a, l, j, &start, &len);
      d.v.list.values = a->children[0];
      d.v.list.start = start;
      d.v.list.length = len;
      break;
    case HN__L_STRUCT:
      d.v.strct.array = a;
      d.v.strct.row = j;
      break;
  }
  return d;
}

hn_datum hn_list_view_get(hn_list_view view, int64_t i) {
  return hn_array_get(view.values, view.start + i);
}

hn_datum hn_struct_view_field(hn_struct_view view, int64_t field) {
  if (!view.array || field < 0 || field >= view.array->n_children) return no_datum();
  return hn_array_get(view.array->children[field], view.row);
}

hn_status hn_array_slice(hn_array *a, int64_t offset, int64_t length, hn_array **out,
                         hn_error *err) {
  if (!a || !out) return hn__error(err, HN_EINVAL, "hn_array_slice: NULL argument");
  if (offset < 0 || length < 0 || offset > a->length || length > a->length - offset)
    return hn__error(err, HN_ERANGE, "slice [%lld, +%lld) outside an array of %lld rows",
                     (long long)offset, (long long)length, (long long)a->length);
  for (int64_t i = 0; i < a->n_children; i++) hn_array_retain(a->children[i]);
  return hn__array_make(&a->alloc, a->type, length, a->offset + offset, -1,
                        hn_buffer_retain(a->buffers[0]), hn_buffer_retain(a->buffers[1]),
                        hn_buffer_retain(a->buffers[2]), a->n_children, a->children, out, err);
}

hn_status hn_array_struct_field(hn_array *a, int64_t field, hn_array **out, hn_error *err) {
  if (!a || !out) return hn__error(err, HN_EINVAL, "hn_array_struct_field: NULL argument");
  if (a->type->id != HN_TYPE_STRUCT)
    return hn__error(err, HN_ETYPE, "hn_array_struct_field: array is %s, not struct",
                     hn_type_id_name(a->type->id));
  if (field < 0 || field >= a->n_children)
    return hn__error(err, HN_ERANGE, "struct field %lld out of range (%lld fields)",
                     (long long)field, (long long)a->n_children);
  return hn_array_slice(a->children[field], a->offset, a->length, out, err);
}

static bool datum_equals(hn_datum x, hn_datum y);

static bool range_equals(const hn_array *a, int64_t ai, const hn_array *b, int64_t bi, int64_t n) {
  for (int64_t k = 0; k < n; k++)
    if (!datum_equals(hn_array_get(a, ai + k), hn_array_get(b, bi + k))) return false;
  return true;
}

/* Bytes of a datum's fixed-width value as hn_array_get stores it (0 for other types). */
static size_t fixed_bytes(hn_type_id id) {
  switch (id) {
    case HN_TYPE_BOOL:
    case HN_TYPE_FIXED_SIZE_BINARY:
    case HN_TYPE_DECIMAL256:
    case HN_TYPE_OBJECT:
      return 0;
    default:
      return hn__type_layout(id) == HN__L_FIXED ? (size_t)hn__type_value_size(id) : 0;
  }
}

static bool datum_equals(hn_datum x, hn_datum y) {
  if (x.type != y.type || x.is_null != y.is_null) return false;
  if (x.is_null) return true;
  /* Fixed-width values compare by bits: NaN equals itself, -0 differs from 0. */
  size_t n = fixed_bytes(x.type);
  /* NOLINTNEXTLINE(bugprone-suspicious-memory-comparison) */
  if (n) return memcmp(&x.v, &y.v, n) == 0;
  switch (hn__type_layout(x.type)) {
    case HN__L_BITS:
      return x.v.b == y.v.b;
    case HN__L_FIXED: /* decimal256 */
      if (x.type == HN_TYPE_DECIMAL256) return memcmp(x.v.d256, y.v.d256, 32) == 0;
      /* fixed_size_binary */
      return x.v.str.size == y.v.str.size &&
             memcmp(x.v.str.data, y.v.str.data, (size_t)x.v.str.size) == 0;
    case HN__L_VAR32:
    case HN__L_VAR64:
      return x.v.str.size == y.v.str.size &&
             (x.v.str.size == 0 || memcmp(x.v.str.data, y.v.str.data, (size_t)x.v.str.size) == 0);
    case HN__L_LIST32:
    case HN__L_LIST64:
    case HN__L_FIXED_LIST:
      return x.v.list.length == y.v.list.length &&
             range_equals(x.v.list.values, x.v.list.start, y.v.list.values, y.v.list.start,
                          x.v.list.length);
    case HN__L_STRUCT: {
      const hn_array *xa = x.v.strct.array;
      for (int64_t f = 0; f < xa->n_children; f++)
        if (!datum_equals(hn_struct_view_field(x.v.strct, f), hn_struct_view_field(y.v.strct, f)))
          return false;
      return true;
    }
    case HN__L_OBJECT:
      return x.v.object == y.v.object;
    case HN__L_NULL:
      return true;
  }
  return false;
}

bool hn_array_equals(const hn_array *a, const hn_array *b) {
  if (a == b) return true;
  if (!a || !b || a->length != b->length || a->null_count != b->null_count ||
      !hn_type_equals(a->type, b->type))
    return false;
  if (a->length == 0) return true;
  if (hn__type_layout(a->type->id) == HN__L_FIXED && a->null_count == 0) {
    /* Fast path: no nulls, so every value is compared, by bits. */
    int64_t w = hn__type_width(a->type);
    const uint8_t *av = a->buffers[1]->data + a->offset * w;
    const uint8_t *bv = b->buffers[1]->data + b->offset * w;
    return memcmp(av, bv, (size_t)(a->length * w)) == 0;
  }
  return range_equals(a, 0, b, 0, a->length);
}
