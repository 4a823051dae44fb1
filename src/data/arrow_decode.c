/*
 * Encodings Arrow import decodes into plain arrays: dictionary-encoded
 * columns (into their value type), run-end encoded arrays (into their
 * values' type), list views (into list / large_list) and string and
 * binary views (into utf8 / binary). Every index, run end, offset and size
 * is checked against what it points into before anything is read there.
 */
#include "arrow_internal.h"

/* Value i (physical) of an integer array, widened; false when a uint64 exceeds INT64_MAX. */
static bool int_at(const hn_array *a, int64_t i, int64_t *out) {
  const uint8_t *p = a->buffers[1]->data;
  switch (a->type->id) {
    case HN_TYPE_INT8:
      *out = (int64_t)p[i] - (p[i] & 0x80 ? 256 : 0); /* int8, sign-extended */
      return true;
    case HN_TYPE_UINT8:
      *out = p[i];
      return true;
    case HN_TYPE_INT16:
      *out = ((const int16_t *)(const void *)p)[i];
      return true;
    case HN_TYPE_UINT16:
      *out = ((const uint16_t *)(const void *)p)[i];
      return true;
    case HN_TYPE_INT32:
      *out = ((const int32_t *)(const void *)p)[i];
      return true;
    case HN_TYPE_UINT32:
      *out = ((const uint32_t *)(const void *)p)[i];
      return true;
    case HN_TYPE_INT64:
      *out = ((const int64_t *)(const void *)p)[i];
      return true;
    default: {
      uint64_t v = ((const uint64_t *)(const void *)p)[i];
      *out = (int64_t)v;
      return v <= INT64_MAX;
    }
  }
}

/* Room for n row indices and null flags. */
static hn_status rows_alloc(const hn_allocator *alloc, int64_t n, int64_t **idx, uint8_t **nul,
                            hn_error *err) {
  size_t count = (size_t)(n > 0 ? n : 1);
  *idx = hn__calloc(alloc, count, sizeof **idx);
  uint8_t *flags = nul ? hn__calloc(alloc, count, 1) : NULL;
  if (!*idx || (nul && !flags)) {
    hn__free(alloc, *idx);
    hn__free(alloc, flags);
    *idx = NULL;
    return hn__error_nomem(err, "decoding an Arrow array");
  }
  if (nul) *nul = flags;
  return HN_OK;
}

hn_status hn__decode_dictionary(const hn_allocator *alloc, const hn_type *type,
                                const hn_array *indices, const hn_array *dict, const char *path,
                                hn_array **out, hn_error *err) {
  int64_t n = indices->length, *idx = NULL;
  uint8_t *nul = NULL;
  hn_status st = rows_alloc(alloc, n, &idx, &nul, err);
  if (st != HN_OK) return st;
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    nul[i] = hn_array_is_null(indices, i);
    if (nul[i]) continue;
    if (!int_at(indices, indices->offset + i, &idx[i]) || idx[i] < 0 || idx[i] >= dict->length)
      st = hn__column_error(err, HN_EINVAL, path,
                            "dictionary index %lld of row %lld is outside the dictionary of "
                            "%lld values",
                            (long long)idx[i], (long long)i, (long long)dict->length);
  }
  if (st == HN_OK) st = hn__array_take(alloc, type, dict, idx, nul, n, out, err);
  hn__free(alloc, idx);
  hn__free(alloc, nul);
  return st;
}

/* Run ends positive, strictly increasing, not null, covering `end` rows. */
static hn_status check_run_ends(const hn_array *r, int64_t end, const hn_array *values,
                                const char *path, hn_error *err) {
  if (r->null_count != 0)
    return hn__column_error(err, HN_EINVAL, path, "run ends hold %lld nulls",
                            (long long)r->null_count);
  if (values->length < r->length)
    return hn__column_error(err, HN_EINVAL, path, "%lld run ends but only %lld values",
                            (long long)r->length, (long long)values->length);
  int64_t prev = 0;
  for (int64_t k = 0; k < r->length; k++) {
    int64_t v = 0;
    if (!int_at(r, r->offset + k, &v) || v <= prev)
      return hn__column_error(err, HN_EINVAL, path,
                              "run end %lld is %lld: run ends must be positive and increasing",
                              (long long)k, (long long)v);
    prev = v;
  }
  if (prev < end)
    return hn__column_error(err, HN_EINVAL, path,
                            "the runs end at row %lld, the array needs %lld (offset + length)",
                            (long long)prev, (long long)end);
  return HN_OK;
}

hn_status hn__decode_run_end(const hn_allocator *alloc, const hn_type *type, int64_t offset,
                             int64_t length, const hn_array *run_ends, const hn_array *values,
                             const char *path, hn_array **out, hn_error *err) {
  hn_status st = check_run_ends(run_ends, offset + length, values, path, err);
  if (st != HN_OK) return st;
  int64_t *idx = NULL;
  st = rows_alloc(alloc, length, &idx, NULL, err);
  if (st != HN_OK) return st;
  int64_t run = 0, run_end = 0;
  /* length > 0 implies a run (checked above: the runs cover offset + length rows). */
  if (length > 0) (void)int_at(run_ends, run_ends->offset, &run_end);
  for (int64_t i = 0; i < length; i++) {
    while (offset + i >= run_end) (void)int_at(run_ends, run_ends->offset + ++run, &run_end);
    idx[i] = run;
  }
  st = hn__array_take(alloc, type, values, idx, NULL, length, out, err);
  hn__free(alloc, idx);
  return st;
}

/* A list-like array of n rows over `child` (taken, also on failure) from starts[0..n]. */
static hn_status make_list(const hn_allocator *alloc, const hn_type *type, int64_t n,
                           const int64_t *starts, const uint8_t *nul, hn_array *child,
                           hn_array **out, hn_error *err) {
  bool wide = type->id == HN_TYPE_LARGE_LIST;
  hn_buffer *offs = NULL, *valid = NULL;
  hn_status st = hn_buffer_create(alloc, (n + 1) * (wide ? 8 : 4), &offs, err);
  int64_t nulls = 0;
  for (int64_t i = 0; st == HN_OK && i < n; i++) nulls += nul[i];
  if (st == HN_OK && nulls > 0) st = hn_buffer_create(alloc, hn_bytes_for_bits(n), &valid, err);
  if (st != HN_OK) {
    hn_buffer_release(offs);
    hn_array_release(child);
    return st;
  }
  uint8_t *o = hn_buffer_mutable_data(offs);
  for (int64_t i = 0; i <= n; i++) {
    if (wide) {
      memcpy(o + 8 * i, &starts[i], 8);
    } else {
      int32_t v = (int32_t)starts[i];
      memcpy(o + 4 * i, &v, 4);
    }
  }
  for (int64_t i = 0; valid && i < n; i++)
    if (!nul[i]) hn_bit_set(hn_buffer_mutable_data(valid), i);
  return hn__array_make(alloc, type, n, 0, nulls, valid, offs, NULL, 1, &child, out, err);
}

static int64_t view_int(const void *p, bool wide, int64_t i) {
  return wide ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
}

hn_status hn__decode_list_view(const hn_allocator *alloc, const hn_type *type, int64_t offset,
                               int64_t length, const uint8_t *validity, const void *offsets,
                               const void *sizes, const hn_array *child, const char *path,
                               hn_array **out, hn_error *err) {
  bool wide = type->id == HN_TYPE_LARGE_LIST;
  int64_t *starts = NULL, total = 0, limit = INT32_MAX; /* what one array holds */
  uint8_t *nul = NULL;
  hn_status st = rows_alloc(alloc, length + 1, &starts, &nul, err);
  for (int64_t i = 0; st == HN_OK && i < length; i++) {
    int64_t j = offset + i, off = 0, size = 0;
    nul[i] = validity && !hn_bit_get(validity, j);
    if (!nul[i]) {
      off = view_int(offsets, wide, j);
      size = view_int(sizes, wide, j);
    }
    if (off < 0 || size < 0 || off > child->length || size > child->length - off)
      st = hn__column_error(
          err, HN_EINVAL, path, "list view row %lld spans [%lld, +%lld), outside the %lld items",
          (long long)i, (long long)off, (long long)size, (long long)child->length);
    else if (size > limit - total)
      st = hn__column_error(err, HN_EUNSUPPORTED, path,
                            "list view rows hold more than INT32_MAX items in one array");
    starts[i] = total;
    total += size;
  }
  int64_t *idx = NULL;
  if (st == HN_OK) st = rows_alloc(alloc, total, &idx, NULL, err);
  for (int64_t i = 0, k = 0; st == HN_OK && i < length; i++) {
    int64_t off = nul[i] ? 0 : view_int(offsets, wide, offset + i);
    for (int64_t e = starts[i]; e < (i + 1 < length ? starts[i + 1] : total); e++) idx[k++] = off++;
  }
  hn_array *items = NULL;
  if (st == HN_OK) st = hn__array_take(alloc, type->item, child, idx, NULL, total, &items, err);
  if (st == HN_OK) {
    starts[length] = total;
    st = make_list(alloc, type, length, starts, nul, items, out, err);
  }
  hn__free(alloc, idx);
  hn__free(alloc, starts);
  hn__free(alloc, nul);
  return st;
}

/* Row j of a view array: its bytes, checked against the variadic buffers. */
static hn_status view_bytes(const struct ArrowArray *a, int64_t j, int64_t k, const int64_t *sizes,
                            const char *path, const uint8_t **data, int32_t *len, hn_error *err) {
  const uint8_t *v = (const uint8_t *)a->buffers[1] + 16 * j;
  int32_t n, buf, off;
  memcpy(&n, v, 4);
  if (n < 0)
    return hn__column_error(err, HN_EINVAL, path, "view of row %lld has length %d",
                            (long long)(j - a->offset), (int)n);
  *len = n;
  if (n <= 12) {
    *data = v + 4;
    return HN_OK;
  }
  memcpy(&buf, v + 8, 4);
  memcpy(&off, v + 12, 4);
  if (buf < 0 || buf >= k || off < 0 || sizes[buf] < 0 || n > sizes[buf] - off ||
      (!a->buffers[2 + buf] && n > 0))
    return hn__column_error(err, HN_EINVAL, path,
                            "view of row %lld points at [%d, +%d) of data buffer %d, outside the "
                            "%lld data buffers and their sizes",
                            (long long)(j - a->offset), (int)off, (int)n, (int)buf, (long long)k);
  *data = (const uint8_t *)a->buffers[2 + buf] + off;
  return HN_OK;
}

hn_status hn__decode_views(const hn_allocator *alloc, const hn_type *type,
                           const struct ArrowArray *a, const char *path, hn_array **out,
                           hn_error *err) {
  int64_t k = a->n_buffers - 3; /* variadic data buffers */
  const int64_t *sizes = k > 0 ? (const int64_t *)a->buffers[a->n_buffers - 1] : NULL;
  if (k < 0) return hn__column_error(err, HN_EINVAL, path, "a view array needs at least 3 buffers");
  if (k > 0 && !sizes)
    return hn__column_error(err, HN_EINVAL, path, "missing variadic sizes buffer (NULL)");
  if (a->length > 0 && !a->buffers[1])
    return hn__column_error(err, HN_EINVAL, path, "missing views buffer (buffers[1] is NULL)");
  if (a->null_count > 0 && !a->buffers[0])
    return hn__column_error(err, HN_EINVAL, path, "null_count %lld but no validity bitmap",
                            (long long)a->null_count);
  const uint8_t *validity = a->null_count != 0 ? a->buffers[0] : NULL;
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(alloc, type, &b, err);
  if (st == HN_OK) {
    st = hn_builder_reserve(b, a->length);
    if (st != HN_OK) st = hn__column_error(err, st, path, "%s", hn_builder_last_error(b));
  }
  int64_t total = 0;
  for (int64_t i = 0; st == HN_OK && i < a->length; i++) {
    int64_t j = a->offset + i;
    const uint8_t *data = NULL;
    int32_t len = 0;
    if (validity && !hn_bit_get(validity, j)) {
      st = hn_builder_append_null(b);
      if (st != HN_OK) st = hn__column_error(err, st, path, "%s", hn_builder_last_error(b));
    } else {
      st = view_bytes(a, j, k, sizes, path, &data, &len, err);
      if (st == HN_OK && len > INT32_MAX - total)
        st = hn__column_error(err, HN_EUNSUPPORTED, path,
                              "the views hold more than INT32_MAX bytes in one array");
      if (st == HN_OK) {
        st = hn_builder_append_str(b, (const char *)data, len);
        if (st != HN_OK) st = hn__column_error(err, st, path, "%s", hn_builder_last_error(b));
      }
      total += len;
    }
  }
  if (st == HN_OK) st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  return st;
}
