/*
 * One table in one contiguous, checksummed buffer. The format is specified
 * byte by byte in docs/serialization.md; the constants below mirror it.
 *
 * Serialising measures first, then allocates once and writes; only each
 * array's logical range is written (offsets normalised to 0, bitmaps
 * re-packed from bit 0, offsets rebased to 0). Deserialising checks the
 * header and checksum before anything else, reads every field through a
 * bounds-checked cursor, places the buffers as views of the input, and runs
 * full structural validation on every column before returning the table.
 */
#include <stdint.h>
#include <string.h>

#include "arrow_internal.h" /* column paths */

#define SER_MAGIC "HNTB"
#define SER_CHECKSUM_SEED 0
/* Longest array length accepted: keeps every size computation far from overflow. */
#define SER_MAX_LENGTH (INT64_MAX >> 4)
/* Smallest encoding of a (name, type) pair: a 4-byte name length and a type id. */
#define SER_MIN_FIELD_BYTES 5

enum {
  SER_VERSION = 1,
  SER_HEADER_SIZE = 64,
  SER_TRAILER_SIZE = 8, /* the checksum */
  SER_MAX_DEPTH = 64,   /* type nesting levels (a primitive is 1) */
  SER_ORDER_LITTLE = 1,
  SER_ORDER_BIG = 2
};

/* Header field offsets (all integers little-endian). */
enum {
  H_MAGIC = 0,
  H_VERSION = 4,
  H_FLAGS = 6,
  H_ORDER = 8,
  H_RESERVED1 = 9, /* 7 zero bytes */
  H_TOTAL = 16,
  H_ROWS = 24,
  H_COLUMNS = 32,
  H_META_SIZE = 40,
  H_DATA_OFFSET = 48,
  H_RESERVED2 = 56 /* 8 zero bytes */
};

#define CORRUPT(err, ...) hn__error((err), HN_ECORRUPT, "corrupt serialised table: " __VA_ARGS__)

static void store_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t load_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* Byte order of the buffers this machine writes and can read in place. */
static uint8_t native_order(void) {
  const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  return first ? SER_ORDER_LITTLE : SER_ORDER_BIG;
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

/* Buffers a node of type `id` has in the format (validity first). */
static int ser_num_buffers(hn_type_id id) {
  switch (id) {
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      return 3;
    case HN_TYPE_STRUCT:
      return 1;
    default:
      return 2;
  }
}

/*
 * A failure other than HN_ENOMEM reported by another module while reading
 * becomes HN_ECORRUPT; its message is kept behind the usual prefix.
 */
static hn_status as_corrupt(hn_status st, hn_error *err) {
  if (st == HN_OK || st == HN_ENOMEM) return st;
  if (!err) return HN_ECORRUPT;
  char msg[HN_ERROR_MESSAGE_MAX];
  memcpy(msg, err->message, sizeof msg);
  msg[sizeof msg - 1] = '\0';
  return CORRUPT(err, "%s", msg);
}

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
  if (t->id == HN_TYPE_LIST) put_type(w, t->item);
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
  int64_t width = hn__type_value_size(a->type->id), need;
  if (!byte_size(at + len, width, &need) || !has_bytes(a->buffers[1], need))
    return malformed(w, "values too short");
  uint8_t *dst = put_slot(w, len * width); /* len <= at + len: no overflow */
  if (dst) memcpy(dst, a->buffers[1]->data + at * width, (size_t)(len * width));
  return HN_OK;
}

/*
 * Write offsets [at, at + len] rebased to start at 0; [*begin, *end) receives
 * the range of bytes or child rows they reference.
 */
static hn_status put_offsets(ser_writer *w, const hn_array *a, int64_t at, int64_t len,
                             int64_t *begin, int64_t *end) {
  const int32_t *off = NULL;
  *begin = *end = 0;
  if (len > 0) {
    int64_t need;
    if (!byte_size(at + len + 1, 4, &need) || !has_bytes(a->buffers[1], need))
      return malformed(w, "offsets too short");
    off = (const int32_t *)a->buffers[1]->data;
    *begin = off[at];
    *end = off[at + len];
    if (*begin < 0 || *end < *begin) return malformed(w, "offsets out of order");
  }
  uint8_t *dst = put_slot(w, (len + 1) * 4);
  for (int64_t i = 0; dst && i <= len; i++) {
    int32_t v = len > 0 ? (int32_t)((int64_t)off[at + i] - *begin) : 0;
    memcpy(dst + 4 * i, &v, 4);
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
  hn_status st = put_offsets(w, a, at, len, &begin, &end);
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
  put_le(w, (uint64_t)len, 8);
  put_le(w, (uint64_t)nulls, 8);
  if (nulls > 0)
    (void)put_bits(w, valid, at, len);
  else
    (void)put_slot(w, 0);
  switch (a->type->id) {
    case HN_TYPE_BOOL:
      return put_bits(w, a->buffers[1], at, len);
    case HN_TYPE_INT64:
    case HN_TYPE_FLOAT32:
    case HN_TYPE_FLOAT64:
      return put_fixed(w, a, at, len);
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      return put_binary(w, a, at, len);
    case HN_TYPE_LIST:
      return put_list(w, a, at, len);
    case HN_TYPE_STRUCT:
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
  if (t->id == HN_TYPE_LIST) return check_type(t->item, depth + 1, column, err);
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

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct ser_header {
  int64_t total, n_rows, n_columns, meta_size, data_offset;
} ser_header;

/*
 * Input cursor: metadata is read from [pos, meta_end); buffers must lie in
 * [data_next, data_end), in order and without overlap.
 */
typedef struct ser_reader {
  const uint8_t *base;
  int64_t pos, meta_end;
  uint64_t data_next, data_end;
  hn_buffer *src; /* the bytes the views point into */
  hn_allocator alloc;
  hn_error *err;
} ser_reader;

static bool get_le(ser_reader *r, int n, uint64_t *v) {
  if (r->meta_end - r->pos < n) return false;
  *v = load_le(r->base + r->pos, n);
  r->pos += n;
  return true;
}

/* A name: u32 length, then that many bytes (no NUL); *out is a NUL-terminated copy. */
static hn_status get_name(ser_reader *r, char **out) {
  uint64_t n;
  *out = NULL;
  if (!get_le(r, 4, &n) || n > (uint64_t)(r->meta_end - r->pos))
    return CORRUPT(r->err, "name runs past the metadata");
  const uint8_t *s = r->base + r->pos;
  if (memchr(s, 0, (size_t)n)) return CORRUPT(r->err, "name contains a NUL byte");
  char *copy = hn__malloc(&r->alloc, (size_t)n + 1);
  if (!copy) return hn__error_nomem(r->err, "for a column name");
  memcpy(copy, s, (size_t)n);
  copy[n] = '\0';
  r->pos += (int64_t)n;
  *out = copy;
  return HN_OK;
}

static hn_status get_type(ser_reader *r, int depth, const hn_type **out);

/* `n` (name, type) pairs read into struct<...>; `depth` is the struct's level. */
static hn_status get_struct(ser_reader *r, int depth, uint64_t n, const hn_type **out) {
  if (n > (uint64_t)(r->meta_end - r->pos) / SER_MIN_FIELD_BYTES)
    return CORRUPT(r->err, "field count %llu exceeds the metadata", (unsigned long long)n);
  char **names = hn__calloc(&r->alloc, (size_t)n, sizeof *names);
  const hn_type **types = hn__calloc(&r->alloc, (size_t)n, sizeof *types);
  hn_status st = names && types ? HN_OK : hn__error_nomem(r->err, "for a struct type");
  for (uint64_t i = 0; st == HN_OK && i < n; i++) {
    st = get_name(r, &names[i]);
    if (st == HN_OK) st = get_type(r, depth + 1, &types[i]);
  }
  if (st == HN_OK)
    st = as_corrupt(hn_type_struct_create(&r->alloc, (int64_t)n, (const char *const *)names, types,
                                          out, r->err),
                    r->err);
  for (uint64_t i = 0; i < n && names && types; i++) {
    hn__free(&r->alloc, names[i]);
    hn_type_release(types[i]);
  }
  hn__free(&r->alloc, names);
  hn__free(&r->alloc, (void *)types);
  return st;
}

/* A type at nesting level `depth` (1 for a column's own type). */
static hn_status get_type(ser_reader *r, int depth, const hn_type **out) {
  uint64_t id, n;
  *out = NULL;
  if (depth > SER_MAX_DEPTH) return CORRUPT(r->err, "types nested deeper than %d", SER_MAX_DEPTH);
  if (!get_le(r, 1, &id)) return CORRUPT(r->err, "type runs past the metadata");
  switch (id) {
    case HN_TYPE_BOOL:
      *out = hn_type_bool();
      return HN_OK;
    case HN_TYPE_INT64:
      *out = hn_type_int64();
      return HN_OK;
    case HN_TYPE_FLOAT32:
      *out = hn_type_float32();
      return HN_OK;
    case HN_TYPE_FLOAT64:
      *out = hn_type_float64();
      return HN_OK;
    case HN_TYPE_UTF8:
      *out = hn_type_utf8();
      return HN_OK;
    case HN_TYPE_BINARY:
      *out = hn_type_binary();
      return HN_OK;
    case HN_TYPE_LIST: {
      const hn_type *item;
      hn_status st = get_type(r, depth + 1, &item);
      if (st != HN_OK) return st;
      st = hn_type_list_create(&r->alloc, item, out, r->err);
      hn_type_release(item);
      return as_corrupt(st, r->err);
    }
    case HN_TYPE_STRUCT:
      if (!get_le(r, 4, &n)) return CORRUPT(r->err, "type runs past the metadata");
      return get_struct(r, depth, n, out);
    default:
      return CORRUPT(r->err, "unknown type id %llu", (unsigned long long)id);
  }
}

/* One buffer table entry; a size-0 validity entry means "no bitmap" (*out NULL). */
static hn_status get_buffer(ser_reader *r, bool is_validity, const char *path, hn_buffer **out) {
  uint64_t at, size;
  *out = NULL;
  if (!get_le(r, 8, &at) || !get_le(r, 8, &size))
    return CORRUPT(r->err, "column '%s': buffer table runs past the metadata", path);
  if (at % HN_ALIGNMENT != 0 || at < r->data_next || at > r->data_end || size > r->data_end - at)
    return CORRUPT(r->err, "column '%s': buffer [%llu, +%llu) misplaced", path,
                   (unsigned long long)at, (unsigned long long)size);
  r->data_next = at + size;
  if (is_validity && size == 0) return HN_OK;
  return as_corrupt(hn_buffer_view(r->src, (int64_t)at, (int64_t)size, out, r->err), r->err);
}

static hn_status get_node(ser_reader *r, const hn_type *t, const char *path, hn_array **out);

/* Read the children of a node of type `t` into kids[0..n); releases them on failure. */
static hn_status get_children(ser_reader *r, const hn_type *t, const char *path, int64_t len,
                              int64_t n, hn_array **kids) {
  char child_path[HN__COLUMN_PATH_MAX];
  for (int64_t i = 0; i < n; i++) {
    bool list = t->id == HN_TYPE_LIST;
    hn__column_path_child(child_path, sizeof child_path, path, list ? NULL : t->names[i]);
    hn_status st = get_node(r, list ? t->item : t->fields[i], child_path, &kids[i]);
    if (st == HN_OK && !list && kids[i]->length != len)
      st = CORRUPT(r->err, "column '%s': field length differs from the struct's", child_path);
    if (st != HN_OK) {
      for (int64_t k = 0; k <= i; k++) hn_array_release(kids[k]);
      return st;
    }
  }
  return HN_OK;
}

/* Children, then the array; takes ownership of b[0..3) in every case. */
static hn_status make_node(ser_reader *r, const hn_type *t, const char *path, int64_t len,
                           int64_t nulls, hn_buffer **b, hn_array **out) {
  int64_t n = t->id == HN_TYPE_LIST ? 1 : t->id == HN_TYPE_STRUCT ? t->n_fields : 0;
  hn_array **kids = n > 0 ? hn__calloc(&r->alloc, (size_t)n, sizeof *kids) : NULL;
  hn_status st = n > 0 && !kids ? hn__error_nomem(r->err, "for array children") : HN_OK;
  if (st == HN_OK) st = get_children(r, t, path, len, n, kids);
  if (st != HN_OK) {
    for (int i = 0; i < 3; i++) hn_buffer_release(b[i]);
    hn__free(&r->alloc, kids);
    return st;
  }
  st = hn__array_make(&r->alloc, t, len, 0, nulls, b[0], b[1], b[2], n, kids, out, r->err);
  hn__free(&r->alloc, kids);
  return as_corrupt(st, r->err);
}

/* One node: length, null count, buffer table, then its children (pre-order). */
static hn_status get_node(ser_reader *r, const hn_type *t, const char *path, hn_array **out) {
  uint64_t len, nulls;
  hn_buffer *b[3] = {NULL, NULL, NULL};
  hn_status st = HN_OK;
  *out = NULL;
  if (!get_le(r, 8, &len) || !get_le(r, 8, &nulls))
    return CORRUPT(r->err, "column '%s': node runs past the metadata", path);
  if (len > SER_MAX_LENGTH || nulls > len)
    return CORRUPT(r->err, "column '%s': bad length %llu or null count %llu", path,
                   (unsigned long long)len, (unsigned long long)nulls);
  for (int i = 0; i < ser_num_buffers(t->id) && st == HN_OK; i++)
    st = get_buffer(r, i == 0, path, &b[i]);
  if (st == HN_OK && (b[0] == NULL) != (nulls == 0))
    st = CORRUPT(r->err, "column '%s': validity bitmap does not match the null count", path);
  if (st != HN_OK) {
    for (int i = 0; i < 3; i++) hn_buffer_release(b[i]);
    return st;
  }
  return make_node(r, t, path, (int64_t)len, (int64_t)nulls, b, out);
}

/* Magic, size, checksum, then the remaining header fields. */
static hn_status check_header(const uint8_t *p, int64_t size, ser_header *h, hn_error *err) {
  if (size < SER_HEADER_SIZE + SER_TRAILER_SIZE)
    return CORRUPT(err, "%lld bytes is shorter than any table", (long long)size);
  if (memcmp(p + H_MAGIC, SER_MAGIC, 4) != 0) return CORRUPT(err, "bad magic");
  uint64_t total = load_le(p + H_TOTAL, 8);
  if (total != (uint64_t)size)
    return CORRUPT(err, "header says %llu bytes but %lld were given (truncated?)",
                   (unsigned long long)total, (long long)size);
  uint64_t sum = hn_hash_bytes(p, (size_t)(size - SER_TRAILER_SIZE), SER_CHECKSUM_SEED);
  if (sum != load_le(p + size - SER_TRAILER_SIZE, 8)) return CORRUPT(err, "checksum mismatch");
  if (p[H_ORDER] != native_order()) {
    if (p[H_ORDER] == SER_ORDER_LITTLE || p[H_ORDER] == SER_ORDER_BIG)
      return hn__error(err, HN_EUNSUPPORTED, "serialised table has the other byte order");
    return CORRUPT(err, "bad byte-order marker %u", p[H_ORDER]);
  }
  uint64_t version = load_le(p + H_VERSION, 2), flags = load_le(p + H_FLAGS, 2);
  if (version != SER_VERSION || flags != 0)
    return hn__error(err, HN_EUNSUPPORTED, "serialised table version %llu flags %llu",
                     (unsigned long long)version, (unsigned long long)flags);
  if (!all_zero(p + H_RESERVED1, 7) || !all_zero(p + H_RESERVED2, 8))
    return CORRUPT(err, "reserved header bytes are not zero");
  uint64_t rows = load_le(p + H_ROWS, 8), cols = load_le(p + H_COLUMNS, 8);
  uint64_t meta = load_le(p + H_META_SIZE, 8), data = load_le(p + H_DATA_OFFSET, 8);
  if (meta > (uint64_t)(size - SER_HEADER_SIZE - SER_TRAILER_SIZE) ||
      data != (uint64_t)hn__round64(SER_HEADER_SIZE + (int64_t)meta) ||
      data > (uint64_t)(size - SER_TRAILER_SIZE) || rows > SER_MAX_LENGTH)
    return CORRUPT(err, "bad section sizes in the header");
  *h = (ser_header){size, (int64_t)rows, (int64_t)cols, (int64_t)meta, (int64_t)data};
  return HN_OK;
}

/* Columns after the schema; each one is validated. Releases cols[] on failure. */
static hn_status get_columns(ser_reader *r, const hn_type *schema, int64_t n_rows,
                             hn_array **cols) {
  hn_status st = HN_OK;
  for (int64_t i = 0; i < schema->n_fields && st == HN_OK; i++) {
    const char *name = schema->names[i];
    st = get_node(r, schema->fields[i], name, &cols[i]);
    if (st == HN_OK && cols[i]->length != n_rows)
      st = CORRUPT(r->err, "column '%s' has %lld rows, the table %lld", name,
                   (long long)cols[i]->length, (long long)n_rows);
    if (st == HN_OK) st = as_corrupt(hn__array_validate_path(cols[i], false, name, r->err), r->err);
    if (st == HN_OK)
      st = as_corrupt(hn__check_unbacked_rows(cols[i], name, HN_ECORRUPT, r->err), r->err);
  }
  if (st == HN_OK && r->pos != r->meta_end) st = CORRUPT(r->err, "unused metadata bytes");
  if (st == HN_OK && (uint64_t)hn__round64((int64_t)r->data_next) != r->data_end)
    st = CORRUPT(r->err, "unused bytes in the buffer region");
  if (st != HN_OK)
    for (int64_t i = 0; i < schema->n_fields; i++) hn_array_release(cols[i]);
  return st;
}

static hn_status get_table(ser_reader *r, const ser_header *h, hn_table **out) {
  if (h->n_columns == 0 && h->n_rows > HN__MAX_UNBACKED_ROWS) /* see arrow_internal.h */
    return CORRUPT(r->err,
                   "the table declares %lld rows but has no columns to back them; at most "
                   "%lld rows are accepted without one",
                   (long long)h->n_rows, (long long)HN__MAX_UNBACKED_ROWS);
  const hn_type *schema = NULL;
  hn_status st = get_struct(r, 0, (uint64_t)h->n_columns, &schema);
  if (st != HN_OK) return st;
  hn_array **cols = hn__calloc(&r->alloc, (size_t)h->n_columns, sizeof *cols);
  st = cols ? get_columns(r, schema, h->n_rows, cols) : hn__error_nomem(r->err, "for columns");
  if (st == HN_OK) {
    st = hn__table_make(&r->alloc, schema, h->n_rows, cols, out, r->err);
  } else {
    hn_type_release(schema);
  }
  hn__free(&r->alloc, cols);
  return st;
}

hn_status hn_table_deserialize(const hn_allocator *alloc, hn_buffer *bytes, hn_table **out,
                               hn_error *err) {
  if (!bytes || !out) return hn__error(err, HN_EINVAL, "hn_table_deserialize: NULL argument");
  *out = NULL;
  const uint8_t *data = hn_buffer_data(bytes);
  int64_t size = hn_buffer_size(bytes);
  ser_header h = {0, 0, 0, 0, 0};
  hn_status st = check_header(data, size, &h, err);
  if (st != HN_OK) return st;
  ser_reader r = {NULL,
                  SER_HEADER_SIZE,
                  SER_HEADER_SIZE + h.meta_size,
                  (uint64_t)h.data_offset,
                  (uint64_t)(h.total - SER_TRAILER_SIZE),
                  bytes,
                  hn__allocator_resolve(alloc),
                  err};
  hn_buffer *copy = NULL;
  if ((uintptr_t)data % 8 != 0) { /* views must be aligned: read from an aligned copy */
    st = hn_buffer_copy(&r.alloc, data, size, &copy, err);
    if (st != HN_OK) return st;
    r.src = copy;
  }
  r.base = hn_buffer_data(r.src);
  st = get_table(&r, &h, out);
  hn_buffer_release(copy); /* the views hold their own references */
  return st;
}
