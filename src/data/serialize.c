/*
 * Reading a serialised table (docs/serialization.md; serialize_write.c
 * writes it). Deserialising checks the header and checksum before anything
 * else, reads every field through a bounds-checked cursor, places the
 * buffers as views of the input, and runs full structural validation on
 * every column before returning the table. Versions 1 and 2 are read.
 */
#include "serialize_internal.h"

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct ser_header {
  int64_t total, n_rows, n_columns, meta_size, data_offset;
  int version;
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
  int version; /* of the bytes read */
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

/* time32/time64/timestamp/duration: a unit byte, and a timestamp's zone (a name, "" for none). */
static hn_status get_temporal(ser_reader *r, hn_type_id id, const hn_type **out) {
  uint64_t unit;
  char *zone = NULL;
  if (!get_le(r, 1, &unit)) return CORRUPT(r->err, "type runs past the metadata");
  hn_status st = id == HN_TYPE_TIMESTAMP ? get_name(r, &zone) : HN_OK;
  if (st == HN_OK && unit > HN_UNIT_NANO)
    st = CORRUPT(r->err, "bad time unit %llu", (unsigned long long)unit);
  if (st == HN_OK)
    st = as_corrupt(hn_type_temporal_create(&r->alloc, id, (hn_time_unit)unit, zone, out, r->err),
                    r->err);
  hn__free(&r->alloc, zone);
  return st;
}

/* Parameters of decimals and fixed-size binary; the type is checked by its constructor. */
static hn_status get_sized(ser_reader *r, hn_type_id id, const hn_type **out) {
  uint64_t a = 0, b = 0;
  if (id == HN_TYPE_FIXED_SIZE_BINARY) {
    if (!get_le(r, 4, &a)) return CORRUPT(r->err, "type runs past the metadata");
    if (a > INT32_MAX)
      return CORRUPT(r->err, "fixed_size_binary width %llu", (unsigned long long)a);
    return as_corrupt(hn_type_fixed_size_binary_create(&r->alloc, (int32_t)a, out, r->err), r->err);
  }
  if (!get_le(r, 1, &a) || !get_le(r, 4, &b)) return CORRUPT(r->err, "type runs past the metadata");
  return as_corrupt(
      hn_type_decimal_create(&r->alloc, id, (int32_t)a, (int32_t)(uint32_t)b, out, r->err), r->err);
}

/* list, large_list, fixed_size_list (size first) and map (key, value). */
static hn_status get_nested(ser_reader *r, hn_type_id id, int depth, const hn_type **out) {
  uint64_t size = 0;
  const hn_type *a = NULL, *b = NULL;
  if (id == HN_TYPE_FIXED_SIZE_LIST && (!get_le(r, 4, &size) || size > INT32_MAX))
    return CORRUPT(r->err, "bad fixed_size_list size");
  hn_status st = get_type(r, depth + 1, &a);
  if (st == HN_OK && id == HN_TYPE_MAP) st = get_type(r, depth + 1, &b);
  if (st != HN_OK) { /* already worded by the inner type */
    hn_type_release(a);
    return st;
  }
  switch (id) {
    case HN_TYPE_LIST:
      st = hn_type_list_create(&r->alloc, a, out, r->err);
      break;
    case HN_TYPE_LARGE_LIST:
      st = hn_type_large_list_create(&r->alloc, a, out, r->err);
      break;
    case HN_TYPE_FIXED_SIZE_LIST:
      st = hn_type_fixed_size_list_create(&r->alloc, a, (int32_t)size, out, r->err);
      break;
    default:
      st = hn_type_map_create(&r->alloc, a, b, out, r->err);
  }
  hn_type_release(a);
  hn_type_release(b);
  return as_corrupt(st, r->err);
}

/* A type at nesting level `depth` (1 for a column's own type). */
static hn_status get_type(ser_reader *r, int depth, const hn_type **out) {
  uint64_t id, n;
  *out = NULL;
  if (depth > SER_MAX_DEPTH) return CORRUPT(r->err, "types nested deeper than %d", SER_MAX_DEPTH);
  if (!get_le(r, 1, &id)) return CORRUPT(r->err, "type runs past the metadata");
  if (r->version == SER_VERSION_1 && id > HN_TYPE_STRUCT)
    return CORRUPT(r->err, "unknown type id %llu", (unsigned long long)id);
  hn__arrow_format f;
  memset(&f, 0, sizeof f);
  f.id = (hn_type_id)id;
  switch (id) {
    case HN_TYPE_LIST:
    case HN_TYPE_LARGE_LIST:
    case HN_TYPE_FIXED_SIZE_LIST:
    case HN_TYPE_MAP:
      return get_nested(r, (hn_type_id)id, depth, out);
    case HN_TYPE_STRUCT:
      if (!get_le(r, 4, &n)) return CORRUPT(r->err, "type runs past the metadata");
      return get_struct(r, depth, n, out);
    case HN_TYPE_TIME32:
    case HN_TYPE_TIME64:
    case HN_TYPE_TIMESTAMP:
    case HN_TYPE_DURATION:
      return get_temporal(r, (hn_type_id)id, out);
    case HN_TYPE_DECIMAL128:
    case HN_TYPE_DECIMAL256:
    case HN_TYPE_FIXED_SIZE_BINARY:
      return get_sized(r, (hn_type_id)id, out);
    case HN_TYPE_OBJECT:
      break;
    default:
      if (id >= HN_TYPE_BOOL && id <= HN_TYPE_MAP)
        return hn__arrow_type_of(&r->alloc, &f, out, r->err);
  }
  return CORRUPT(r->err, "unknown type id %llu", (unsigned long long)id);
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
    bool list = t->id != HN_TYPE_STRUCT;
    hn__column_path_child(child_path, sizeof child_path, path, list ? NULL : t->names[i]);
    hn_status st = get_node(r, hn__type_child(t, i), child_path, &kids[i]);
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
  int64_t n = hn__type_num_children(t);
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
  if (t->id == HN_TYPE_NULL) {
    if (nulls != len) return CORRUPT(r->err, "column '%s': a null array with non-null rows", path);
  } else if (st == HN_OK && (b[0] == NULL) != (nulls == 0))
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
  if ((version != SER_VERSION && version != SER_VERSION_1) || flags != 0)
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
  *h = (ser_header){size, (int64_t)rows, (int64_t)cols, (int64_t)meta, (int64_t)data, (int)version};
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
  ser_header h = {0, 0, 0, 0, 0, 0};
  hn_status st = check_header(data, size, &h, err);
  if (st != HN_OK) return st;
  ser_reader r = {NULL,
                  SER_HEADER_SIZE,
                  SER_HEADER_SIZE + h.meta_size,
                  (uint64_t)h.data_offset,
                  (uint64_t)(h.total - SER_TRAILER_SIZE),
                  bytes,
                  hn__allocator_resolve(alloc),
                  err,
                  h.version};
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
