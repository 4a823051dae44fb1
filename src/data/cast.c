/*
 * Lossless widening of a column to the type a node declares (the coercion
 * rule at a call's edge, docs/data-model.md): integers to wider integers
 * (unsigned to a strictly wider signed one too) and to floats that hold
 * every value; float16 and float32 to wider floats; date32 to date64;
 * utf8 and binary to and from their large forms; lists to and from large
 * lists, fixed-size lists to either, items cast alike; structs field by
 * field (same names, in order). Anything else is refused.
 */
#include "data_internal.h"

static bool is_signed_int(hn_type_id id) {
  return id == HN_TYPE_INT8 || id == HN_TYPE_INT16 || id == HN_TYPE_INT32 || id == HN_TYPE_INT64;
}

static bool is_unsigned_int(hn_type_id id) {
  return id == HN_TYPE_UINT8 || id == HN_TYPE_UINT16 || id == HN_TYPE_UINT32 ||
         id == HN_TYPE_UINT64;
}

static bool is_float(hn_type_id id) {
  return id == HN_TYPE_FLOAT16 || id == HN_TYPE_FLOAT32 || id == HN_TYPE_FLOAT64;
}

/* Bits of the mantissa a float type holds exactly (with the implicit bit), or of an integer. */
static int precise_bits(hn_type_id id) {
  switch (id) {
    case HN_TYPE_FLOAT16:
      return 11;
    case HN_TYPE_FLOAT32:
      return 24;
    case HN_TYPE_FLOAT64:
      return 53;
    default:
      return 8 * hn__type_value_size(id) - (is_signed_int(id) ? 1 : 0);
  }
}

static bool numeric_widens(hn_type_id from, hn_type_id to) {
  int fw = hn__type_value_size(from), tw = hn__type_value_size(to);
  if (is_signed_int(from))
    return (is_signed_int(to) && tw > fw) ||
           (is_float(to) && precise_bits(from) <= precise_bits(to));
  if (is_unsigned_int(from))
    return ((is_unsigned_int(to) || is_signed_int(to)) && tw > fw) ||
           (is_float(to) && precise_bits(from) <= precise_bits(to));
  if (is_float(from)) return is_float(to) && tw > fw;
  return from == HN_TYPE_DATE32 && to == HN_TYPE_DATE64;
}

static bool list_like(hn_type_id id) {
  return id == HN_TYPE_LIST || id == HN_TYPE_LARGE_LIST || id == HN_TYPE_FIXED_SIZE_LIST;
}

bool hn__cast_lossless(const hn_type *from, const hn_type *to) {
  if (hn_type_equals(from, to)) return true;
  hn_type_id f = from->id, t = to->id;
  if (numeric_widens(f, t)) return true;
  if ((f == HN_TYPE_UTF8 || f == HN_TYPE_LARGE_UTF8) &&
      (t == HN_TYPE_UTF8 || t == HN_TYPE_LARGE_UTF8))
    return true;
  if ((f == HN_TYPE_BINARY || f == HN_TYPE_LARGE_BINARY) &&
      (t == HN_TYPE_BINARY || t == HN_TYPE_LARGE_BINARY))
    return true;
  if (list_like(f) && list_like(t) && (t != HN_TYPE_FIXED_SIZE_LIST || f == t))
    return (f != HN_TYPE_FIXED_SIZE_LIST || t != f || from->width == to->width) &&
           hn__cast_lossless(from->item, to->item);
  if (f == HN_TYPE_STRUCT && t == HN_TYPE_STRUCT && from->n_fields == to->n_fields) {
    for (int64_t i = 0; i < from->n_fields; i++)
      if (strcmp(from->names[i], to->names[i]) != 0 ||
          !hn__cast_lossless(from->fields[i], to->fields[i]))
        return false;
    return true;
  }
  return false;
}

/* IEEE half to single precision (every half value is exact in a float). */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (man << 13); /* inf, NaN */
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else { /* subnormal: normalise */
    int e = -1;
    do {
      e++;
      man <<= 1;
    } while (!(man & 0x400));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

/* Value i (physical) of a numeric array as a double, or as an int64 when *is_int. */
static void read_num(const hn_array *a, int64_t i, double *d, int64_t *v) {
  const uint8_t *p = a->buffers[1]->data;
  switch (a->type->id) {
    case HN_TYPE_INT8:
      *v = (int64_t)p[i] - (p[i] & 0x80 ? 256 : 0); /* int8, sign-extended */
      break;
    case HN_TYPE_INT16:
      *v = ((const int16_t *)(const void *)p)[i];
      break;
    case HN_TYPE_INT32:
    case HN_TYPE_DATE32:
      *v = ((const int32_t *)(const void *)p)[i];
      break;
    case HN_TYPE_INT64:
      *v = ((const int64_t *)(const void *)p)[i];
      break;
    case HN_TYPE_UINT8:
      *v = p[i];
      break;
    case HN_TYPE_UINT16:
      *v = ((const uint16_t *)(const void *)p)[i];
      break;
    case HN_TYPE_UINT32:
      *v = ((const uint32_t *)(const void *)p)[i];
      break;
    case HN_TYPE_FLOAT16:
      *d = half_to_float(((const uint16_t *)(const void *)p)[i]);
      return;
    case HN_TYPE_FLOAT32:
      *d = ((const float *)(const void *)p)[i];
      return;
    default:
      *d = ((const double *)(const void *)p)[i];
      return;
  }
  *d = (double)*v;
}

static void write_num(uint8_t *dst, hn_type_id id, int64_t i, hn_type_id from, double d,
                      int64_t v) {
  if (from == HN_TYPE_DATE32) v *= 86400000; /* days to milliseconds: date64 */
  switch (id) {
    case HN_TYPE_INT16:
      ((int16_t *)(void *)dst)[i] = (int16_t)v;
      break;
    case HN_TYPE_INT32:
      ((int32_t *)(void *)dst)[i] = (int32_t)v;
      break;
    case HN_TYPE_UINT16:
      ((uint16_t *)(void *)dst)[i] = (uint16_t)v;
      break;
    case HN_TYPE_UINT32:
      ((uint32_t *)(void *)dst)[i] = (uint32_t)v;
      break;
    case HN_TYPE_UINT64:
      ((uint64_t *)(void *)dst)[i] = (uint64_t)v;
      break;
    case HN_TYPE_FLOAT32:
      ((float *)(void *)dst)[i] = (float)d;
      break;
    case HN_TYPE_FLOAT64:
      ((double *)(void *)dst)[i] = d;
      break;
    default:
      ((int64_t *)(void *)dst)[i] = v; /* int64, date64 */
  }
}

/* Bits [offset, offset + n) of a validity bitmap, re-packed from bit 0 (NULL: none). */
static hn_status copy_validity(const hn_allocator *alloc, const hn_array *a, hn_buffer **out,
                               hn_error *err) {
  *out = NULL;
  if (!a->buffers[0] || a->null_count == 0) return HN_OK;
  hn_status st = hn_buffer_create(alloc, hn_bytes_for_bits(a->length), out, err);
  for (int64_t i = 0; st == HN_OK && i < a->length; i++)
    hn_bit_set_to((*out)->data, i, hn_bit_get(a->buffers[0]->data, a->offset + i));
  return st;
}

static hn_status cast_numeric(const hn_allocator *alloc, const hn_array *a, const hn_type *to,
                              hn_array **out, hn_error *err) {
  hn_buffer *valid = NULL, *values = NULL;
  hn_status st = copy_validity(alloc, a, &valid, err);
  if (st == HN_OK)
    st = hn_buffer_create(alloc, a->length * hn__type_value_size(to->id), &values, err);
  for (int64_t i = 0; st == HN_OK && i < a->length; i++) {
    double d = 0;
    int64_t v = 0;
    read_num(a, a->offset + i, &d, &v);
    write_num(values->data, to->id, i, a->type->id, d, v);
  }
  if (st != HN_OK) {
    hn_buffer_release(valid);
    hn_buffer_release(values);
    return st;
  }
  return hn__array_make(alloc, to, a->length, 0, a->null_count, valid, values, NULL, 0, NULL, out,
                        err);
}

/* Offsets of rows [offset, offset + length] (int32 or int64) rebased to 0, in the target width. */
static hn_status cast_offsets(const hn_allocator *alloc, const hn_array *a, bool to_wide,
                              hn_buffer **out, int64_t *first, int64_t *last, hn_error *err) {
  hn__layout l = hn__type_layout(a->type->id);
  bool wide = l == HN__L_VAR64 || l == HN__L_LIST64;
  const void *p = a->buffers[1]->data;
#define OFF(i) \
  (wide ? ((const int64_t *)p)[a->offset + (i)] : ((const int32_t *)p)[a->offset + (i)])
  *first = OFF(0);
  *last = OFF(a->length);
  if (!to_wide && *last - *first > INT32_MAX)
    return hn__error(err, HN_ERANGE,
                     "%lld bytes or items do not fit the int32 offsets of the declared type",
                     (long long)(*last - *first));
  hn_status st = hn_buffer_create(alloc, (a->length + 1) * (to_wide ? 8 : 4), out, err);
  for (int64_t i = 0; st == HN_OK && i <= a->length; i++) {
    int64_t v = OFF(i) - *first;
    if (to_wide)
      ((int64_t *)(void *)(*out)->data)[i] = v;
    else
      ((int32_t *)(void *)(*out)->data)[i] = (int32_t)v;
  }
#undef OFF
  return st;
}

static hn_status cast_binary(const hn_allocator *alloc, const hn_array *a, const hn_type *to,
                             hn_array **out, hn_error *err) {
  hn_buffer *valid = NULL, *offs = NULL, *bytes = NULL;
  int64_t first = 0, last = 0;
  hn_status st = copy_validity(alloc, a, &valid, err);
  if (st == HN_OK)
    st = cast_offsets(alloc, a, hn__type_layout(to->id) == HN__L_VAR64, &offs, &first, &last, err);
  if (st == HN_OK)
    st = hn_buffer_view(a->buffers[2], first, last - first, &bytes, err); /* shared, not copied */
  if (st != HN_OK) {
    hn_buffer_release(valid);
    hn_buffer_release(offs);
    return st;
  }
  return hn__array_make(alloc, to, a->length, 0, a->null_count, valid, offs, bytes, 0, NULL, out,
                        err);
}

static hn_status cast_list(const hn_allocator *alloc, const hn_array *a, const hn_type *to,
                           hn_array **out, hn_error *err) {
  hn_buffer *valid = NULL, *offs = NULL;
  int64_t first = 0, last = 0;
  hn_status st = copy_validity(alloc, a, &valid, err);
  if (st == HN_OK && a->type->id == HN_TYPE_FIXED_SIZE_LIST) {
    first = a->offset * a->type->width;
    last = (a->offset + a->length) * a->type->width;
    if (to->id != HN_TYPE_FIXED_SIZE_LIST) {
      st = hn_buffer_create(alloc, (a->length + 1) * (to->id == HN_TYPE_LARGE_LIST ? 8 : 4), &offs,
                            err);
      for (int64_t i = 0; st == HN_OK && i <= a->length; i++) {
        int64_t v = i * a->type->width;
        if (to->id == HN_TYPE_LARGE_LIST)
          ((int64_t *)(void *)offs->data)[i] = v;
        else
          ((int32_t *)(void *)offs->data)[i] = (int32_t)v;
      }
    }
  } else if (st == HN_OK) {
    st = cast_offsets(alloc, a, to->id == HN_TYPE_LARGE_LIST, &offs, &first, &last, err);
  }
  hn_array *items = NULL, *cast = NULL;
  if (st == HN_OK) st = hn_array_slice(a->children[0], first, last - first, &items, err);
  if (st == HN_OK) st = hn__array_cast(alloc, items, to->item, &cast, err);
  hn_array_release(items);
  if (st != HN_OK) {
    hn_buffer_release(valid);
    hn_buffer_release(offs);
    return st;
  }
  return hn__array_make(alloc, to, a->length, 0, a->null_count, valid, offs, NULL, 1, &cast, out,
                        err);
}

static hn_status cast_struct(const hn_allocator *alloc, const hn_array *a, const hn_type *to,
                             hn_array **out, hn_error *err) {
  hn_buffer *valid = NULL;
  hn_array **kids = hn__calloc(alloc, (size_t)(to->n_fields ? to->n_fields : 1), sizeof *kids);
  hn_status st =
      kids ? copy_validity(alloc, a, &valid, err) : hn__error_nomem(err, "casting a struct");
  for (int64_t i = 0; st == HN_OK && i < to->n_fields; i++) {
    hn_array *field = NULL;
    st = hn_array_slice(a->children[i], a->offset, a->length, &field, err);
    if (st == HN_OK) st = hn__array_cast(alloc, field, to->fields[i], &kids[i], err);
    hn_array_release(field);
  }
  if (st == HN_OK) {
    st = hn__array_make(alloc, to, a->length, 0, a->null_count, valid, NULL, NULL, to->n_fields,
                        kids, out, err);
  } else if (kids) {
    hn_buffer_release(valid);
    for (int64_t i = 0; i < to->n_fields; i++) hn_array_release(kids[i]);
  }
  hn__free(alloc, kids);
  return st;
}

hn_status hn__array_cast(const hn_allocator *alloc, const hn_array *array, const hn_type *to,
                         hn_array **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  if (hn_type_equals(array->type, to)) {
    *out = hn_array_retain((hn_array *)array); /* immutable: a new reference is a copy */
    return HN_OK;
  }
  if (!hn__cast_lossless(array->type, to)) {
    char f[128], t[128];
    hn_type_to_string(array->type, f, sizeof f);
    hn_type_to_string(to, t, sizeof t);
    return hn__error(err, HN_ETYPE, "%s does not convert to %s without loss", f, t);
  }
  switch (hn__type_layout(to->id)) {
    case HN__L_VAR32:
    case HN__L_VAR64:
      return cast_binary(&a, array, to, out, err);
    case HN__L_LIST32:
    case HN__L_LIST64:
    case HN__L_FIXED_LIST:
      return cast_list(&a, array, to, out, err);
    case HN__L_STRUCT:
      return cast_struct(&a, array, to, out, err);
    default:
      return cast_numeric(&a, array, to, out, err);
  }
}
