/*
 * Concatenation of arrays of one type (engines join per-chunk outputs in
 * item order with it). Fixed-width values and bitmaps are copied in bulk,
 * offsets rebased, children concatenated recursively.
 */
#include "data_internal.h"

static hn_status nomem(hn_error *err) {
  return hn__error_nomem(err, "concatenating arrays");
}

/* Copy n bits from src (bit soff) to dst (bit doff). */
static void copy_bits(uint8_t *dst, int64_t doff, const uint8_t *src, int64_t soff, int64_t n) {
  if (((doff | soff) & 7) == 0) {
    int64_t bytes = n >> 3;
    memcpy(dst + (doff >> 3), src + (soff >> 3), (size_t)bytes);
    for (int64_t i = bytes << 3; i < n; i++)
      hn_bit_set_to(dst, doff + i, hn_bit_get(src, soff + i));
    return;
  }
  for (int64_t i = 0; i < n; i++) hn_bit_set_to(dst, doff + i, hn_bit_get(src, soff + i));
}

static void set_bits(uint8_t *dst, int64_t off, int64_t n) {
  for (int64_t i = 0; i < n; i++) hn_bit_set(dst, off + i);
}

/* A zeroed owned buffer of `size` bytes. */
static hn_buffer *zeroed(const hn_allocator *a, int64_t size) {
  hn_buffer *b = hn__buffer_new(a, size);
  if (!b) return NULL;
  memset(b->data, 0, (size_t)b->capacity);
  b->size = size;
  return b;
}

static hn_status empty_array(const hn_allocator *a, const hn_type *type, hn_array **out,
                             hn_error *err) {
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(a, type, &b, err);
  if (st == HN_OK) st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  return st;
}

static hn_status concat_validity(const hn_allocator *a, int64_t n, hn_array *const *arrays,
                                 int64_t total, hn_buffer **out, hn_error *err) {
  hn_buffer *v = zeroed(a, hn_bytes_for_bits(total));
  if (!v) return nomem(err);
  int64_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    const hn_array *x = arrays[i];
    if (x->buffers[0] && x->null_count > 0)
      copy_bits(v->data, pos, x->buffers[0]->data, x->offset, x->length);
    else
      set_bits(v->data, pos, x->length);
    pos += x->length;
  }
  *out = v;
  return HN_OK;
}

static hn_status concat_fixed(const hn_allocator *a, int width, int64_t n, hn_array *const *arrays,
                              int64_t total, hn_buffer **out, hn_error *err) {
  hn_buffer *v = zeroed(a, total * width);
  if (!v) return nomem(err);
  int64_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    const hn_array *x = arrays[i];
    if (x->length > 0)
      memcpy(v->data + pos * width, x->buffers[1]->data + x->offset * width,
             (size_t)(x->length * width));
    pos += x->length;
  }
  *out = v;
  return HN_OK;
}

static hn_status concat_bools(const hn_allocator *a, int64_t n, hn_array *const *arrays,
                              int64_t total, hn_buffer **out, hn_error *err) {
  hn_buffer *v = zeroed(a, hn_bytes_for_bits(total));
  if (!v) return nomem(err);
  int64_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    const hn_array *x = arrays[i];
    if (x->length > 0) copy_bits(v->data, pos, x->buffers[1]->data, x->offset, x->length);
    pos += x->length;
  }
  *out = v;
  return HN_OK;
}

static bool wide(const hn_array *x) {
  hn__layout l = hn__type_layout(x->type->id);
  return l == HN__L_VAR64 || l == HN__L_LIST64;
}

/* Logical offset k (from the array's offset) of an array with int32 or int64 offsets. */
static int64_t offset_at(const hn_array *x, int64_t k) {
  const void *p = x->buffers[1]->data;
  return wide(x) ? ((const int64_t *)p)[x->offset + k] : ((const int32_t *)p)[x->offset + k];
}

/* Rebased offsets of the variable-size and list layouts; *span_total is what they cover. */
static hn_status concat_offsets(const hn_allocator *a, const hn_type *type, int64_t n,
                                hn_array *const *arrays, int64_t total, hn_buffer **out,
                                int64_t *span_total, hn_error *err) {
  int64_t span = 0;
  for (int64_t i = 0; i < n; i++)
    if (arrays[i]->length > 0)
      span += offset_at(arrays[i], arrays[i]->length) - offset_at(arrays[i], 0);
  hn__layout l = hn__type_layout(type->id);
  bool is_wide = l == HN__L_VAR64 || l == HN__L_LIST64;
  if (!is_wide && span > INT32_MAX)
    return hn__error(err, HN_ERANGE,
                     "concatenation needs %lld bytes or items behind one int32 offsets buffer",
                     (long long)span);
  hn_buffer *v = zeroed(a, (total + 1) * (is_wide ? 8 : 4));
  if (!v) return nomem(err);
  int64_t pos = 0, base = 0;
  for (int64_t i = 0; i < n; i++) {
    const hn_array *x = arrays[i];
    if (x->length == 0) continue;
    int64_t shift = base - offset_at(x, 0);
    for (int64_t k = 1; k <= x->length; k++) {
      int64_t o = offset_at(x, k) + shift;
      if (is_wide)
        ((int64_t *)(void *)v->data)[pos + k] = o;
      else
        ((int32_t *)(void *)v->data)[pos + k] = (int32_t)o;
    }
    pos += x->length;
    base += offset_at(x, x->length) - offset_at(x, 0);
  }
  *out = v;
  *span_total = span;
  return HN_OK;
}

static hn_status concat_bytes(const hn_allocator *a, int64_t n, hn_array *const *arrays,
                              int64_t bytes, hn_buffer **out, hn_error *err) {
  hn_buffer *v = zeroed(a, bytes);
  if (!v) return nomem(err);
  int64_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    const hn_array *x = arrays[i];
    if (x->length == 0) continue;
    int64_t first = offset_at(x, 0), len = offset_at(x, x->length) - first;
    if (len > 0) memcpy(v->data + pos, x->buffers[2]->data + first, (size_t)len);
    pos += len;
  }
  *out = v;
  return HN_OK;
}

/*
 * Concatenate child `c` of every array over rows [from, from + count) of
 * that child, where the range comes from `range(x)`.
 */
static hn_status concat_children(const hn_allocator *a, const hn_type *type, int64_t n,
                                 hn_array *const *arrays, int64_t child, bool is_list, bool steal,
                                 hn_array **out, hn_error *err) {
  hn_array *local[16];
  hn_array **parts = local;
  if (n > 16) {
    parts = hn__calloc(a, (size_t)n, sizeof *parts);
    if (!parts) return nomem(err);
  }
  hn_status st = HN_OK;
  int64_t made = 0;
  for (; made < n && st == HN_OK; made++) {
    hn_array *x = arrays[made];
    int64_t from = x->offset, count = x->length;
    if (is_list && x->type->id == HN_TYPE_FIXED_SIZE_LIST) {
      from = x->offset * x->type->width;
      count = x->length * x->type->width;
    } else if (is_list) {
      from = x->length > 0 ? offset_at(x, 0) : 0;
      count = x->length > 0 ? offset_at(x, x->length) - from : 0;
    }
    st = hn_array_slice(x->children[child], from, count, &parts[made], err);
    if (st != HN_OK) break;
  }
  if (st == HN_OK) st = hn__array_concat(a, type, n, parts, steal, out, err);
  for (int64_t i = 0; i < made && i < n; i++) hn_array_release(parts[i]);
  if (parts != local) hn__free(a, parts);
  return st;
}

static hn_status concat_objects(const hn_allocator *a, const hn_type *type, int64_t n,
                                hn_array *const *arrays, int64_t total, bool steal, hn_buffer **out,
                                hn_error *err) {
  hn_buffer *v = zeroed(a, total * 8);
  if (!v) return nomem(err);
  v->object_type = hn_type_retain(type); /* frees whatever was placed, also on failure */
  void **dst = (void **)v->data;
  const hn_object_vtable *vt = &type->vtable;
  int64_t pos = 0;
  for (int64_t i = 0; i < n; i++) {
    hn_array *x = arrays[i];
    hn_buffer *src = x->buffers[1];
    if (x->length == 0) continue;
    void **objs = (void **)src->data + x->offset;
    bool movable = steal && atomic_load(&x->refcount) == 1 && atomic_load(&src->refcount) == 1 &&
                   !src->parent && !src->release_fn;
    for (int64_t k = 0; k < x->length; k++) {
      if (!objs[k] || hn_array_is_null(x, k)) continue;
      if (movable) {
        dst[pos + k] = objs[k];
        objs[k] = NULL;
      } else if (!vt->copy) {
        hn_buffer_release(v);
        return hn__error(err, HN_EUNSUPPORTED,
                         "cannot concatenate shared arrays of object type '%s': it has no copy "
                         "function",
                         type->object_name);
      } else if (!(dst[pos + k] = vt->copy(vt->ctx, objs[k]))) {
        hn_buffer_release(v);
        return nomem(err);
      }
    }
    pos += x->length;
  }
  *out = v;
  return HN_OK;
}

hn_status hn__array_concat(const hn_allocator *alloc, const hn_type *type, int64_t n,
                           hn_array *const *arrays, bool steal, hn_array **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  if (n == 1) {
    *out = hn_array_retain(arrays[0]);
    return HN_OK;
  }
  int64_t total = 0, nulls = 0;
  for (int64_t i = 0; i < n; i++) {
    if (arrays[i]->length > INT64_MAX / 2 - total)
      return hn__error(err, HN_ERANGE, "concatenation too long");
    total += arrays[i]->length;
    nulls += arrays[i]->null_count;
  }
  if (n == 0 || total == 0) return empty_array(&a, type, out, err);
  hn_buffer *b0 = NULL, *b1 = NULL, *b2 = NULL;
  hn_array *kids_local[8];
  hn_array **kids = kids_local;
  int64_t n_kids = 0;
  hn_status st = HN_OK;
  if (nulls > 0 && type->id != HN_TYPE_NULL) st = concat_validity(&a, n, arrays, total, &b0, err);
  int64_t span = 0;
  if (st == HN_OK) switch (hn__type_layout(type->id)) {
      case HN__L_NULL:
        break;
      case HN__L_FIXED:
        st = concat_fixed(&a, (int)hn__type_width(type), n, arrays, total, &b1, err);
        break;
      case HN__L_BITS:
        st = concat_bools(&a, n, arrays, total, &b1, err);
        break;
      case HN__L_VAR32:
      case HN__L_VAR64:
        st = concat_offsets(&a, type, n, arrays, total, &b1, &span, err);
        if (st == HN_OK) st = concat_bytes(&a, n, arrays, span, &b2, err);
        break;
      case HN__L_LIST32:
      case HN__L_LIST64:
        st = concat_offsets(&a, type, n, arrays, total, &b1, &span, err);
        if (st == HN_OK)
          st = concat_children(&a, type->item, n, arrays, 0, true, steal, &kids[0], err);
        if (st == HN_OK) n_kids = 1;
        break;
      case HN__L_FIXED_LIST:
        if (st == HN_OK)
          st = concat_children(&a, type->item, n, arrays, 0, true, steal, &kids[0], err);
        if (st == HN_OK) n_kids = 1;
        break;
      case HN__L_STRUCT:
        if (type->n_fields > 8) {
          kids = hn__calloc(&a, (size_t)type->n_fields, sizeof *kids);
          if (!kids) {
            kids = kids_local;
            st = nomem(err);
            break;
          }
        }
        for (; n_kids < type->n_fields && st == HN_OK; n_kids++) {
          st = concat_children(&a, type->fields[n_kids], n, arrays, n_kids, false, steal,
                               &kids[n_kids], err);
          if (st != HN_OK) break;
        }
        break;
      case HN__L_OBJECT:
        st = concat_objects(&a, type, n, arrays, total, steal, &b1, err);
        break;
    }
  if (st != HN_OK) {
    hn_buffer_release(b0);
    hn_buffer_release(b1);
    hn_buffer_release(b2);
    for (int64_t i = 0; i < n_kids; i++) hn_array_release(kids[i]);
    if (kids != kids_local) hn__free(&a, kids);
    return st;
  }
  st = hn__array_make(&a, type, total, 0, nulls, b0, b1, b2, n_kids, kids, out, err);
  if (kids != kids_local) hn__free(&a, kids);
  return st;
}

hn_status hn__table_concat(const hn_allocator *alloc, int64_t n, hn_table *const *tables,
                           hn_table **out, hn_error *err) {
  *out = NULL;
  if (n <= 0) return hn__error(err, HN_EINVAL, "concatenating no tables");
  const hn_table *first = tables[0];
  int64_t nc = first->n_columns;
  for (int64_t k = 1; k < n; k++)
    if (!hn_type_equals(tables[k]->schema, first->schema))
      return hn__error(err, HN_ETYPE, "concatenating tables: table %lld has another schema",
                       (long long)k);
  hn_array **cols = hn__calloc(alloc, (size_t)(nc ? nc : 1), sizeof *cols);
  hn_array **parts = hn__calloc(alloc, (size_t)n, sizeof *parts);
  const char **names = hn__calloc(alloc, (size_t)(nc ? nc : 1), sizeof *names);
  hn_status st = cols && parts && names ? HN_OK : hn__error_nomem(err, "concatenating tables");
  for (int64_t c = 0; c < nc && st == HN_OK; c++) {
    for (int64_t k = 0; k < n; k++) parts[k] = tables[k]->columns[c];
    st = hn__array_concat(alloc, first->columns[c]->type, n, parts, false, &cols[c], err);
    names[c] = hn_type_field_name(first->schema, c);
  }
  if (st == HN_OK) st = hn_table_create(alloc, nc, names, cols, out, err);
  for (int64_t c = 0; cols && c < nc; c++) hn_array_release(cols[c]);
  hn__free(alloc, cols);
  hn__free(alloc, parts);
  hn__free(alloc, (void *)names);
  return st;
}
