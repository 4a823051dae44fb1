/*
 * Writing one table into one contiguous, checksummed buffer (the format is
 * specified in docs/serialization.md; serialize.c reads it back).
 *
 * Serialising measures first, then allocates once and writes; only each
 * array's logical range is written (offsets normalised to 0, bitmaps
 * re-packed from bit 0, offsets rebased to 0).
 */
#include "serialize_internal.h"
/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Output cursor. While measuring, `base` is NULL and only the positions
 * advance, so that both passes run the same code.
 */
typedef struct ser_writer {
  uint8_t *base;      /* output bytes; NULL while measuring */
  int64_t meta;       /* next metadata byte */
  int64_t data;       /* next buffer byte (a multiple of 64) */
  const char *column; /* column being written, for messages */
  hn_error *err;
  bool too_large; /* a position passed INT64_MAX while measuring (then nothing is written) */
} ser_writer;

/* Move a position forward by n bytes, noting an overflow instead of wrapping. */
static void advance(ser_writer *w, int64_t *pos, int64_t n) {
  if (hn__add_overflow(*pos, n, pos)) w->too_large = true;
}

static void put_le(ser_writer *w, uint64_t v, int n) {
  if (w->base) store_le(w->base + w->meta, v, n);
  advance(w, &w->meta, n);
}

static void put_bytes(ser_writer *w, const void *p, size_t n) {
  if (w->base && n) memcpy(w->base + w->meta, p, n);
  advance(w, &w->meta, (int64_t)n);
}

static void put_name(ser_writer *w, const char *s) {
  size_t n = strlen(s);
  put_le(w, n, 4);
  put_bytes(w, s, n);
}

static void put_type(ser_writer *w, const hn_type *t) {
  put_le(w, (uint64_t)t->id, 1);
  switch (t->id) {
    case HN_TYPE_TIME32:
    case HN_TYPE_TIME64:
    case HN_TYPE_DURATION:
      put_le(w, (uint64_t)t->unit, 1);
      return;
    case HN_TYPE_TIMESTAMP:
      put_le(w, (uint64_t)t->unit, 1);
      put_name(w, t->tz ? t->tz : "");
      return;
    case HN_TYPE_DECIMAL128:
    case HN_TYPE_DECIMAL256:
      put_le(w, (uint64_t)t->precision, 1);
      put_le(w, (uint64_t)(uint32_t)t->scale, 4);
      return;
    case HN_TYPE_FIXED_SIZE_BINARY:
      put_le(w, (uint64_t)t->width, 4);
      return;
    case HN_TYPE_FIXED_SIZE_LIST:
      put_le(w, (uint64_t)t->width, 4);
      put_type(w, t->item);
      return;
    case HN_TYPE_LIST:
    case HN_TYPE_LARGE_LIST:
      put_type(w, t->item);
      return;
    case HN_TYPE_MAP:
      put_type(w, t->item->fields[0]);
      put_type(w, t->item->fields[1]);
      return;
    default:
      break;
  }
  if (t->id != HN_TYPE_STRUCT) return;
  put_le(w, (uint64_t)t->n_fields, 4);
  for (int64_t i = 0; i < t->n_fields; i++) {
    put_name(w, t->names[i]);
    put_type(w, t->fields[i]);
  }
}

/*
 * Record a buffer of `size` bytes in the node's buffer table and reserve its
 * 64-aligned slot. Returns where to write it; NULL while measuring or when
 * `size` is 0.
 */
static uint8_t *put_slot(ser_writer *w, int64_t size) {
  int64_t at = w->data, padded = 0;
  put_le(w, (uint64_t)at, 8);
  put_le(w, (uint64_t)size, 8);
  if (hn__round64_overflow(size, &padded))
    w->too_large = true;
  else
    advance(w, &w->data, padded);
  return w->base && size > 0 ? w->base + at : NULL;
}

static hn_status malformed(ser_writer *w, const char *what) {
  return hn__error(w->err, HN_EINVAL, "cannot serialise column '%s': %s", w->column, what);
}

static bool has_bytes(const hn_buffer *b, int64_t n) {
  return n <= 0 || (b && b->size >= n);
}

/* count * width bytes; false when that overflows (no buffer can hold it). */
static bool byte_size(int64_t count, int64_t width, int64_t *out) {
  return !hn__mul_overflow(count, width, out);
}

/* Copy bits [off, off + n) of `src` to bits [0, n) of `dst`; bits past n are zeroed. */
static void copy_bits(uint8_t *dst, const uint8_t *src, int64_t off, int64_t n) {
  int64_t nbytes = hn_bytes_for_bits(n);
  const uint8_t *s = src + (off >> 3);
  int shift = (int)(off & 7);
  if (shift == 0) {
    memcpy(dst, s, (size_t)nbytes);
  } else {
    int64_t src_bytes = hn_bytes_for_bits(off + n) - (off >> 3);
    for (int64_t i = 0; i < nbytes; i++) {
      unsigned v = (unsigned)s[i] >> shift;
      if (i + 1 < src_bytes) v |= (unsigned)s[i + 1] << (8 - shift);
      dst[i] = (uint8_t)v;
    }
  }
  if (n & 7) dst[nbytes - 1] &= (uint8_t)((1u << (n & 7)) - 1);
}

/* Bit-packed buffer `b` (validity or bool values) from bit `at`, `len` bits. */
static hn_status put_bits(ser_writer *w, const hn_buffer *b, int64_t at, int64_t len) {
  if (!has_bytes(b, hn_bytes_for_bits(at + len))) return malformed(w, "bitmap too short");
  uint8_t *dst = put_slot(w, hn_bytes_for_bits(len));
  if (dst) copy_bits(dst, b->data, at, len);
  return HN_OK;
}

static hn_status put_fixed(ser_writer *w, const hn_array *a, int64_t at, int64_t len) {
  int64_t width = hn__type_width(a->type), need;
  if (!byte_size(at + len, width, &need) || !has_bytes(a->buffers[1], need))
    return malformed(w, "values too short");
  uint8_t *dst = put_slot(w, len * width); /* len <= at + len: no overflow */
  if (dst) memcpy(dst, a->buffers[1]->data + at * width, (size_t)(len * width));
  return HN_OK;
}

/* Offset i of an array with int32 or int64 (`wide`) offsets. */
static int64_t offset_at(const hn_array *a, bool wide, int64_t i) {
  const void *p = a->buffers[1]->data;
  return wide ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
}

/*
 * Write offsets [at, at + len] (int32, or int64 for the large layouts)
 * rebased to start at 0; [*begin, *end) receives the range of bytes or
 * child rows they reference.
 */
static hn_status put_offsets(ser_writer *w, const hn_array *a, int64_t at, int64_t len,
                             int64_t *begin, int64_t *end) {
  hn__layout l = hn__type_layout(a->type->id);
  bool wide = l == HN__L_VAR64 || l == HN__L_LIST64;
  int64_t ow = wide ? 8 : 4;
  *begin = *end = 0;
  if (len > 0) {
    int64_t need;
    if (!byte_size(at + len + 1, ow, &need) || !has_bytes(a->buffers[1], need))
      return malformed(w, "offsets too short");
    *begin = offset_at(a, wide, at);
    *end = offset_at(a, wide, at + len);
    if (*begin < 0 || *end < *begin) return malformed(w, "offsets out of order");
  }
  uint8_t *dst = put_slot(w, (len + 1) * ow);
  for (int64_t i = 0; dst && i <= len; i++) {
    int64_t v = len > 0 ? offset_at(a, wide, at + i) - *begin : 0;
    if (wide) {
      memcpy(dst + 8 * i, &v, 8);
    } else {
      int32_t v32 = (int32_t)v;
      memcpy(dst + 4 * i, &v32, 4);
    }
  }
  return HN_OK;
}

static hn_status put_node(ser_writer *w, const hn_array *a, int64_t row, int64_t len);

static hn_status put_binary(ser_writer *w, const hn_array *a, int64_t at, int64_t len) {
  int64_t begin, end;
  hn_status st = put_offsets(w, a, at, len, &begin, &end);
  if (st != HN_OK) return st;
  if (!has_bytes(a->buffers[2], end)) return malformed(w, "string bytes too short");
  uint8_t *dst = put_slot(w, end - begin);
  if (dst) memcpy(dst, a->buffers[2]->data + begin, (size_t)(end - begin));
  return HN_OK;
}

static hn_status put_list(ser_writer *w, const hn_array *a, int64_t at, int64_t len) {
  int64_t begin, end;
  hn_status st = HN_OK;
  if (a->type->id == HN_TYPE_FIXED_SIZE_LIST) {
    int64_t size = a->type->width;
    if (at + len > INT64_MAX / size) return malformed(w, "fixed_size_list too long");
    begin = at * size;
    end = (at + len) * size;
  } else {
    st = put_offsets(w, a, at, len, &begin, &end);
  }
  if (st != HN_OK) return st;
  if (a->n_children != 1 || end > a->children[0]->length)
    return malformed(w, "list offsets outside the item array");
  return put_node(w, a->children[0], begin, end - begin);
}

/* The struct's physical rows [at, at + len) are the children's logical rows. */
static hn_status put_struct(ser_writer *w, const hn_array *a, int64_t at, int64_t len) {
  if (a->n_children != a->type->n_fields) return malformed(w, "struct child count");
  for (int64_t i = 0; i < a->n_children; i++) {
    if (at + len > a->children[i]->length) return malformed(w, "struct child too short");
    hn_status st = put_node(w, a->children[i], at, len);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Write logical rows [row, row + len) of `a` as a node with offset 0. */
static hn_status put_node(ser_writer *w, const hn_array *a, int64_t row, int64_t len) {
  int64_t at = a->offset + row; /* physical index of the first row */
  const hn_buffer *valid = a->buffers[0];
  int64_t nulls = 0;
  if (valid && len > 0) {
    if (!has_bytes(valid, hn_bytes_for_bits(at + len))) return malformed(w, "validity too short");
    nulls = len - hn_bits_count(valid->data, at, len);
  }
  hn__layout layout = hn__type_layout(a->type->id);
  if (layout == HN__L_NULL) nulls = len; /* no buffers at all */
  put_le(w, (uint64_t)len, 8);
  put_le(w, (uint64_t)nulls, 8);
  if (layout == HN__L_NULL) return HN_OK;
  if (nulls > 0)
    (void)put_bits(w, valid, at, len);
  else
    (void)put_slot(w, 0);
  switch (layout) {
    case HN__L_BITS:
      return put_bits(w, a->buffers[1], at, len);
    case HN__L_FIXED:
      return put_fixed(w, a, at, len);
    case HN__L_VAR32:
    case HN__L_VAR64:
      return put_binary(w, a, at, len);
    case HN__L_LIST32:
    case HN__L_LIST64:
    case HN__L_FIXED_LIST:
      return put_list(w, a, at, len);
    case HN__L_STRUCT:
      return put_struct(w, a, at, len);
    default:
      return hn__error(w->err, HN_EUNSUPPORTED, "column '%s': type cannot be serialised",
                       w->column);
  }
}

/* Schema section, then one node tree per column. */
static hn_status put_table(ser_writer *w, const hn_table *t) {
  for (int64_t i = 0; i < t->n_columns; i++) {
    put_name(w, t->schema->names[i]);
    put_type(w, t->schema->fields[i]);
  }
  for (int64_t i = 0; i < t->n_columns; i++) {
    const hn_array *col = t->columns[i];
    w->column = t->schema->names[i];
    hn_status st = put_node(w, col, 0, col->length);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* HN_EUNSUPPORTED for objects, nesting deeper than SER_MAX_DEPTH or huge names. */
static hn_status check_type(const hn_type *t, int depth, const char *column, hn_error *err) {
  if (depth > SER_MAX_DEPTH)
    return hn__error(err, HN_EUNSUPPORTED,
                     "cannot serialise column '%s': types nested deeper than %d levels", column,
                     SER_MAX_DEPTH);
  if (t->id == HN_TYPE_OBJECT)
    return hn__error(err, HN_EUNSUPPORTED,
                     "cannot serialise column '%s': object values cannot leave the process",
                     column);
  if (t->item) return check_type(t->item, depth + 1, column, err);
  if (t->id == HN_TYPE_STRUCT && (uint64_t)t->n_fields > UINT32_MAX)
    return hn__error(err, HN_EUNSUPPORTED, "cannot serialise column '%s': too many fields", column);
  for (int64_t i = 0; i < t->n_fields; i++) {
    if (strlen(t->names[i]) > UINT32_MAX)
      return hn__error(err, HN_EUNSUPPORTED, "cannot serialise column '%s': name too long", column);
    hn_status st = check_type(t->fields[i], depth + 1, column, err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

static void put_header(uint8_t *p, const hn_table *t, int64_t total, int64_t meta_size,
                       int64_t data_offset) {
  memcpy(p + H_MAGIC, SER_MAGIC, 4);
  store_le(p + H_VERSION, SER_VERSION, 2);
  store_le(p + H_FLAGS, 0, 2);
  p[H_ORDER] = native_order();
  store_le(p + H_TOTAL, (uint64_t)total, 8);
  store_le(p + H_ROWS, (uint64_t)t->n_rows, 8);
  store_le(p + H_COLUMNS, (uint64_t)t->n_columns, 8);
  store_le(p + H_META_SIZE, (uint64_t)meta_size, 8);
  store_le(p + H_DATA_OFFSET, (uint64_t)data_offset, 8);
}

hn_status hn_table_serialize(const hn_table *table, const hn_allocator *alloc, hn_buffer **out,
                             hn_error *err) {
  if (!table || !out) return hn__error(err, HN_EINVAL, "hn_table_serialize: NULL argument");
  *out = NULL;
  for (int64_t i = 0; i < table->n_columns; i++) {
    hn_status st = check_type(table->schema->fields[i], 1, table->schema->names[i], err);
    if (st != HN_OK) return st;
  }
  ser_writer w = {NULL, SER_HEADER_SIZE, 0, "", err, false};
  hn_status st = put_table(&w, table);
  if (st != HN_OK) return st;
  int64_t meta_end = w.meta, data_offset = 0, total = 0;
  if (w.too_large || hn__round64_overflow(meta_end, &data_offset) ||
      hn__add_overflow(data_offset, w.data, &total) ||
      hn__add_overflow(total, SER_TRAILER_SIZE, &total))
    return hn__error(err, HN_ENOMEM,
                     "cannot serialise the table: it needs more than INT64_MAX bytes");

  hn_buffer *buf = NULL;
  st = hn_buffer_create(alloc ? alloc : &table->alloc, total, &buf, err);
  if (st != HN_OK) return st;
  uint8_t *p = hn_buffer_mutable_data(buf); /* zero-filled: padding is zero */
  put_header(p, table, total, meta_end - SER_HEADER_SIZE, data_offset);
  w = (ser_writer){p, SER_HEADER_SIZE, data_offset, "", err, false};
  st = put_table(&w, table);
  if (st == HN_OK && (w.meta != meta_end || w.data != total - SER_TRAILER_SIZE))
    st = hn__error(err, HN_EINTERNAL, "hn_table_serialize: layout changed between passes");
  if (st != HN_OK) {
    hn_buffer_release(buf);
    return st;
  }
  uint64_t sum = hn_hash_bytes(p, (size_t)(total - SER_TRAILER_SIZE), SER_CHECKSUM_SEED);
  store_le(p + total - SER_TRAILER_SIZE, sum, 8);
  *out = buf;
  return HN_OK;
}
