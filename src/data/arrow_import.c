/*
 * Import from the Arrow C Data Interface. The input is untrusted: the schema
 * and every array header are checked before any buffer is touched; buffers
 * are then given the sizes the layout requires (the C interface carries no
 * sizes, so these are the producer's promise) and everything else is left to
 * hn__array_validate_path, which reads nothing beyond those sizes.
 *
 * The producer's ArrowArray is moved into a refcounted holder. Each buffer
 * wrapped zero-copy holds a reference on it; the producer's release runs
 * once, when the import and the last such buffer are done with it.
 */
#include <stddef.h>

#include "arrow_internal.h"

/* Deeper schemas are refused, so that recursion is bounded whatever the input. */
#define HN_IMPORT_MAX_DEPTH 64

/* ---- the producer's array, shared by the wrapped buffers --------------- */

typedef struct import_holder {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  struct ArrowArray array; /* moved from the caller */
} import_holder;

static void holder_unref(import_holder *h) {
  if (atomic_fetch_sub_explicit(&h->refcount, 1, memory_order_acq_rel) != 1) return;
  if (h->array.release) h->array.release(&h->array);
  hn_allocator a = h->alloc;
  hn__free(&a, h);
}

static void holder_buffer_release(void *ctx, const void *data) {
  (void)data;
  holder_unref(ctx);
}

/* Move *array into a new holder; if that fails, release the array at once. */
static import_holder *holder_take(const hn_allocator *alloc, struct ArrowArray *array) {
  struct ArrowArray moved = *array;
  array->release = NULL;
  import_holder *h = hn__malloc(alloc, sizeof *h);
  if (!h) {
    moved.release(&moved);
    return NULL;
  }
  atomic_init(&h->refcount, 1);
  h->alloc = *alloc;
  h->array = moved;
  return h;
}

/* ---- small helpers ----------------------------------------------------- */

static bool option_validate_utf8(const hn_import_options *o) {
  if (!o || o->size < offsetof(hn_import_options, validate_utf8) + sizeof(bool)) return true;
  return o->validate_utf8;
}

void hn_import_options_init(hn_import_options *options, size_t size) {
  if (!options || size < sizeof options->size) return;
  hn_import_options o;
  memset(&o, 0, sizeof o);
  o.validate_utf8 = true;
  o.size = size < sizeof o ? size : sizeof o;
  memcpy(options, &o, o.size); /* an older, smaller struct gets its own members only */
}

/* Re-label an error filled by a lower layer with the column path (code kept). */
static hn_status relabel(hn_error *err, hn_status st, const char *path) {
  if (!err || st == HN_ENOMEM) return st;
  char msg[HN_ERROR_MESSAGE_MAX];
  memcpy(msg, err->message, sizeof msg);
  return hn__column_error(err, st, path, "%s", msg);
}

static int64_t type_num_children(const hn_type *type) {
  return type->id == HN_TYPE_LIST ? 1 : type->id == HN_TYPE_STRUCT ? type->n_fields : 0;
}

/* ---- schemas ----------------------------------------------------------- */

static const struct {
  const char *format;
  hn_type_id id;
} hn_import_formats[] = {
    {"b", HN_TYPE_BOOL}, {"l", HN_TYPE_INT64},  {"f", HN_TYPE_FLOAT32}, {"g", HN_TYPE_FLOAT64},
    {"u", HN_TYPE_UTF8}, {"z", HN_TYPE_BINARY}, {"+l", HN_TYPE_LIST},   {"+s", HN_TYPE_STRUCT},
};

static bool parse_format(const char *format, hn_type_id *id) {
  for (size_t i = 0; i < sizeof hn_import_formats / sizeof hn_import_formats[0]; i++) {
    if (strcmp(format, hn_import_formats[i].format) == 0) {
      *id = hn_import_formats[i].id;
      return true;
    }
  }
  return false;
}

static const hn_type *primitive_type(hn_type_id id) {
  switch (id) {
    case HN_TYPE_BOOL:
      return hn_type_bool();
    case HN_TYPE_INT64:
      return hn_type_int64();
    case HN_TYPE_FLOAT32:
      return hn_type_float32();
    case HN_TYPE_FLOAT64:
      return hn_type_float64();
    case HN_TYPE_UTF8:
      return hn_type_utf8();
    case HN_TYPE_BINARY:
      return hn_type_binary();
    default:
      return NULL;
  }
}

static hn_status type_node(const hn_allocator *alloc, const struct ArrowSchema *s, const char *path,
                           int depth, const hn_type **out, hn_error *err);

static hn_status list_type(const hn_allocator *alloc, const struct ArrowSchema *s, const char *path,
                           int depth, const hn_type **out, hn_error *err) {
  char child_path[HN__COLUMN_PATH_MAX];
  hn__column_path_child(child_path, sizeof child_path, path, NULL);
  const hn_type *item = NULL;
  hn_status st = type_node(alloc, s->children[0], child_path, depth + 1, &item, err);
  if (st != HN_OK) return st;
  st = hn_type_list_create(alloc, item, out, err);
  hn_type_release(item);
  return st == HN_OK ? st : relabel(err, st, path);
}

static hn_status struct_type(const hn_allocator *alloc, const struct ArrowSchema *s,
                             const char *path, int depth, const hn_type **out, hn_error *err) {
  int64_t n = s->n_children;
  const char **names = hn__calloc(alloc, (size_t)n, 2 * sizeof(void *));
  if (!names) return hn__error_nomem(err, "importing a struct schema");
  const hn_type **types = (const hn_type **)(names + n);
  hn_status st = HN_OK;
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    const struct ArrowSchema *c = s->children[i];
    if (!c) {
      st = hn__column_error(err, HN_EINVAL, path, "struct field %lld has no schema (NULL child)",
                            (long long)i);
    } else if (!c->release) {
      st = hn__column_error(err, HN_EINVAL, path, "struct field %lld has been released",
                            (long long)i);
    } else if (!c->name || !c->name[0]) {
      st = hn__column_error(err, HN_EINVAL, path, "struct field %lld has no name", (long long)i);
    } else {
      char child_path[HN__COLUMN_PATH_MAX];
      hn__column_path_child(child_path, sizeof child_path, path, c->name);
      names[i] = c->name;
      st = type_node(alloc, c, child_path, depth + 1, &types[i], err);
    }
  }
  if (st == HN_OK) {
    st = hn_type_struct_create(alloc, n, names, types, out, err);
    if (st != HN_OK) st = relabel(err, st, path);
  }
  for (int64_t i = 0; i < n; i++) hn_type_release(types[i]);
  hn__free(alloc, (void *)names);
  return st;
}

static hn_status type_node(const hn_allocator *alloc, const struct ArrowSchema *s, const char *path,
                           int depth, const hn_type **out, hn_error *err) {
  if (!s) return hn__column_error(err, HN_EINVAL, path, "missing schema (NULL)");
  if (!s->release) return hn__column_error(err, HN_EINVAL, path, "schema has been released");
  if (depth > HN_IMPORT_MAX_DEPTH)
    return hn__column_error(err, HN_EUNSUPPORTED, path, "types nested more than %d levels deep",
                            HN_IMPORT_MAX_DEPTH);
  if (!s->format) return hn__column_error(err, HN_EINVAL, path, "schema has no format (NULL)");
  if (s->dictionary)
    return hn__column_error(err, HN_EUNSUPPORTED, path,
                            "dictionary-encoded columns are not supported (index format '%.32s')",
                            s->format);
  hn_type_id id;
  if (!parse_format(s->format, &id))
    return hn__column_error(err, HN_EUNSUPPORTED, path, "unsupported Arrow format '%.40s'",
                            s->format);
  if (s->n_children < 0)
    return hn__column_error(err, HN_EINVAL, path, "negative n_children %lld",
                            (long long)s->n_children);
  if (s->n_children > 0 && !s->children)
    return hn__column_error(err, HN_EINVAL, path,
                            "schema children pointer is NULL (n_children %lld)",
                            (long long)s->n_children);
  if (id == HN_TYPE_STRUCT) return struct_type(alloc, s, path, depth, out, err);
  int64_t want = id == HN_TYPE_LIST ? 1 : 0;
  if (s->n_children != want)
    return hn__column_error(err, HN_EINVAL, path,
                            "format '%s' needs %lld schema children, got %lld", s->format,
                            (long long)want, (long long)s->n_children);
  if (id == HN_TYPE_LIST) return list_type(alloc, s, path, depth, out, err);
  *out = primitive_type(id);
  return HN_OK;
}

hn_status hn_type_import(const hn_allocator *alloc, const struct ArrowSchema *schema,
                         const hn_type **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_type_import: NULL output");
  *out = NULL;
  hn_allocator a = hn__allocator_resolve(alloc);
  const char *path = schema && schema->release && schema->name ? schema->name : "";
  return type_node(&a, schema, path, 0, out, err);
}

/* ---- arrays ------------------------------------------------------------ */

typedef struct import_ctx {
  hn_allocator alloc;
  import_holder *holder;
  hn_error *err;
} import_ctx;

/* Share `size` bytes at ptr (non-NULL) zero-copy when aligned to `align`, else copy them. */
static hn_status wrap_or_copy(import_ctx *c, const void *ptr, int64_t size, size_t align,
                              hn_buffer **out) {
  if (size == 0) return hn_buffer_create(&c->alloc, 0, out, c->err);
  if ((uintptr_t)ptr % align != 0) return hn_buffer_copy(&c->alloc, ptr, size, out, c->err);
  atomic_fetch_add_explicit(&c->holder->refcount, 1, memory_order_relaxed);
  hn_status st =
      hn_buffer_wrap(&c->alloc, ptr, size, holder_buffer_release, c->holder, out, c->err);
  if (st != HN_OK) atomic_fetch_sub_explicit(&c->holder->refcount, 1, memory_order_relaxed);
  return st;
}

/* Buffer i of a, required unless it would be empty. */
static hn_status import_buffer(import_ctx *c, const struct ArrowArray *a, int i, int64_t size,
                               size_t align, const char *what, const char *path, hn_buffer **out) {
  const void *ptr = a->buffers[i];
  if (ptr) return wrap_or_copy(c, ptr, size, align, out);
  if (size > 0)
    return hn__column_error(c->err, HN_EINVAL, path, "missing %s buffer (buffers[%d] is NULL)",
                            what, i);
  return hn_buffer_create(&c->alloc, 0, out, c->err);
}

/*
 * The int32 offsets of a variable-size or list array, and the last offset
 * (which sizes the data buffer). A zero-length array may omit them, as
 * several producers do; its offset is then reset to 0.
 */
static hn_status import_offsets(import_ctx *c, const struct ArrowArray *a, int64_t *offset,
                                const char *path, hn_buffer **out, int32_t *last) {
  int64_t end = *offset + a->length;
  *last = 0;
  if (!a->buffers[1]) {
    if (a->length > 0)
      return hn__column_error(c->err, HN_EINVAL, path,
                              "missing offsets buffer (buffers[1] is NULL)");
    *offset = 0;
    return hn_buffer_create(&c->alloc, 4, out, c->err);
  }
  hn_status st = wrap_or_copy(c, a->buffers[1], (end + 1) * 4, 4, out);
  if (st == HN_OK) *last = ((const int32_t *)(*out)->data)[end];
  return st;
}

/* Everything about a header that can be checked without reading a buffer. */
static hn_status check_header(const struct ArrowArray *a, const hn_type *type, const char *path,
                              hn_error *err) {
  if (!a) return hn__column_error(err, HN_EINVAL, path, "missing array (NULL child)");
  if (!a->release) return hn__column_error(err, HN_EINVAL, path, "array has been released");
  int nb = hn__type_num_buffers(type->id);
  if (a->n_buffers != nb)
    return hn__column_error(err, HN_EINVAL, path, "%s array needs %d buffers, n_buffers is %lld",
                            hn_type_id_name(type->id), nb, (long long)a->n_buffers);
  int64_t nc = type_num_children(type);
  if (a->n_children != nc)
    return hn__column_error(err, HN_EINVAL, path, "array has %lld children, the schema has %lld",
                            (long long)a->n_children, (long long)nc);
  if (a->dictionary)
    return hn__column_error(err, HN_EINVAL, path, "array has a dictionary, the schema has none");
  if (a->length < 0 || a->offset < 0)
    return hn__column_error(err, HN_EINVAL, path, "negative length %lld or offset %lld",
                            (long long)a->length, (long long)a->offset);
  if (a->offset > INT64_MAX / 16 - a->length)
    return hn__column_error(err, HN_EINVAL, path, "offset %lld + length %lld is too large",
                            (long long)a->offset, (long long)a->length);
  if (a->null_count < -1 || a->null_count > a->length)
    return hn__column_error(err, HN_EINVAL, path, "null_count %lld out of range for length %lld",
                            (long long)a->null_count, (long long)a->length);
  if (!a->buffers) return hn__column_error(err, HN_EINVAL, path, "buffers pointer is NULL");
  if (nc > 0 && !a->children)
    return hn__column_error(err, HN_EINVAL, path, "children pointer is NULL (n_children %lld)",
                            (long long)nc);
  return HN_OK;
}

static hn_status import_node(import_ctx *c, const hn_type *type, const struct ArrowArray *a,
                             const char *path, hn_array **out);

/* Import the children of a list or struct into kids[0, n). */
static hn_status import_children(import_ctx *c, const hn_type *type, const struct ArrowArray *a,
                                 const char *path, hn_array **kids) {
  int64_t n = type_num_children(type);
  for (int64_t i = 0; i < n; i++) {
    char child_path[HN__COLUMN_PATH_MAX];
    bool list = type->id == HN_TYPE_LIST;
    hn__column_path_child(child_path, sizeof child_path, path, list ? NULL : type->names[i]);
    hn_status st =
        import_node(c, list ? type->item : type->fields[i], a->children[i], child_path, &kids[i]);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Validity bitmap (kept only when there are nulls) and the null count. */
static hn_status import_validity(import_ctx *c, const struct ArrowArray *a, const char *path,
                                 hn_buffer **out, int64_t *null_count) {
  *null_count = a->null_count;
  if (!a->buffers[0]) {
    if (a->null_count > 0)
      return hn__column_error(c->err, HN_EINVAL, path,
                              "null_count %lld but no validity bitmap (buffers[0] is NULL)",
                              (long long)a->null_count);
    *null_count = 0;
    return HN_OK;
  }
  if (a->null_count == 0) return HN_OK; /* no nulls: the bitmap is not needed */
  hn_status st = wrap_or_copy(c, a->buffers[0], hn_bytes_for_bits(a->offset + a->length), 1, out);
  if (st == HN_OK && *null_count < 0)
    *null_count = a->length - hn_bits_count((*out)->data, a->offset, a->length);
  return st;
}

/* The physical buffers of a (validity excluded) into b[1], b[2]. */
static hn_status import_values(import_ctx *c, const hn_type *type, const struct ArrowArray *a,
                               int64_t *offset, const char *path, hn_buffer **b) {
  int64_t end = a->offset + a->length;
  int32_t last = 0;
  hn_status st;
  switch (type->id) {
    case HN_TYPE_BOOL:
      return import_buffer(c, a, 1, hn_bytes_for_bits(end), 1, "values", path, &b[1]);
    case HN_TYPE_INT64:
    case HN_TYPE_FLOAT64:
      return import_buffer(c, a, 1, end * 8, 8, "values", path, &b[1]);
    case HN_TYPE_FLOAT32:
      return import_buffer(c, a, 1, end * 4, 4, "values", path, &b[1]);
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      st = import_offsets(c, a, offset, path, &b[1], &last);
      if (st != HN_OK) return st;
      /* A negative or decreasing last offset is reported by validation. */
      return import_buffer(c, a, 2, last > 0 ? last : 0, 1, "data", path, &b[2]);
    case HN_TYPE_LIST:
      return import_offsets(c, a, offset, path, &b[1], &last);
    default:
      return HN_OK;
  }
}

static hn_status import_node(import_ctx *c, const hn_type *type, const struct ArrowArray *a,
                             const char *path, hn_array **out) {
  hn_status st = check_header(a, type, path, c->err);
  if (st != HN_OK) return st;
  int64_t n = type_num_children(type), offset = a->offset, null_count = 0;
  hn_buffer *b[3] = {NULL, NULL, NULL};
  hn_array **kids = NULL;
  if (n > 0) {
    kids = hn__calloc(&c->alloc, (size_t)n, sizeof *kids);
    if (!kids) return hn__error_nomem(c->err, "importing an Arrow array");
  }
  st = import_validity(c, a, path, &b[0], &null_count);
  if (st == HN_OK) st = import_values(c, type, a, &offset, path, b);
  if (st == HN_OK) st = import_children(c, type, a, path, kids);
  if (st == HN_OK) {
    st = hn__array_make(&c->alloc, type, a->length, offset, null_count, b[0], b[1], b[2], n, kids,
                        out, c->err);
  } else {
    for (int i = 0; i < 3; i++) hn_buffer_release(b[i]);
    for (int64_t i = 0; i < n; i++) hn_array_release(kids[i]);
  }
  hn__free(&c->alloc, kids);
  return st;
}

/*
 * Shared by array and table import: consume *array, import the schema
 * (which must be a struct when need_struct), the data, and validate all.
 */
static hn_status import_array(const hn_allocator *alloc, const struct ArrowSchema *schema,
                              struct ArrowArray *array, const hn_import_options *options,
                              const char *path, bool need_struct, hn_array **out, hn_error *err) {
  if (!array) return hn__error(err, HN_EINVAL, "Arrow import: NULL array");
  if (!array->release) return hn__column_error(err, HN_EINVAL, path, "array has been released");
  import_ctx c = {hn__allocator_resolve(alloc), NULL, err};
  c.holder = holder_take(&c.alloc, array);
  if (!c.holder) return hn__error_nomem(err, "importing an Arrow array");
  const hn_type *type = NULL;
  hn_status st = type_node(&c.alloc, schema, path, 0, &type, err);
  if (st == HN_OK && need_struct && type->id != HN_TYPE_STRUCT)
    st = hn__column_error(err, HN_EINVAL, path,
                          "a table needs a struct ('+s') schema, got format '%.40s'",
                          schema->format);
  if (st == HN_OK) st = import_node(&c, type, &c.holder->array, path, out);
  if (st == HN_OK) {
    st = hn__array_validate_path(*out, option_validate_utf8(options), path, err);
    /* A table's columns are checked by name, and a batch without columns, when split. */
    if (st == HN_OK && !need_struct) st = hn__check_unbacked_rows(*out, path, HN_EINVAL, err);
    if (st != HN_OK) {
      hn_array_release(*out);
      *out = NULL;
      if (st == HN_ECORRUPT) st = HN_EINVAL;
      if (err) err->code = st;
    }
  }
  hn_type_release(type);
  holder_unref(c.holder);
  return st;
}

hn_status hn_array_import(const hn_allocator *alloc, const struct ArrowSchema *schema,
                          struct ArrowArray *array, const hn_import_options *options,
                          hn_array **out, hn_error *err) {
  if (!out) {
    if (array && array->release) array->release(array);
    return hn__error(err, HN_EINVAL, "hn_array_import: NULL output");
  }
  *out = NULL;
  const char *path = schema && schema->release && schema->name ? schema->name : "";
  return import_array(alloc, schema, array, options, path, false, out, err);
}

/* Split a struct array without nulls into table columns (consumes the struct). */
static hn_status struct_to_table(hn_array *s, hn_table **out, hn_error *err) {
  hn_status st = HN_OK;
  if (s->null_count > 0)
    st = hn__error(err, HN_EINVAL, "table import: the struct array has %lld null rows",
                   (long long)s->null_count);
  hn_array **cols = NULL;
  if (st == HN_OK) {
    cols = hn__calloc(&s->alloc, (size_t)s->n_children, sizeof *cols);
    if (!cols) st = hn__error_nomem(err, "importing a table");
  }
  for (int64_t i = 0; st == HN_OK && i < s->n_children; i++) {
    st = hn_array_struct_field(s, i, &cols[i], err);
    if (st == HN_OK) st = hn__check_unbacked_rows(cols[i], s->type->names[i], HN_EINVAL, err);
  }
  if (st == HN_OK && s->n_children == 0 && s->length > HN__MAX_UNBACKED_ROWS)
    st = hn__error(err, HN_EINVAL,
                   "table import: a record batch with no columns declares %lld rows; at most "
                   "%lld are accepted without a column to back them",
                   (long long)s->length, (long long)HN__MAX_UNBACKED_ROWS);
  if (st == HN_OK) {
    st = hn__table_make(&s->alloc, hn_type_retain(s->type), s->length, cols, out, err);
  } else if (cols) {
    for (int64_t i = 0; i < s->n_children; i++) hn_array_release(cols[i]);
  }
  hn_allocator a = s->alloc;
  hn__free(&a, cols);
  hn_array_release(s);
  return st;
}

hn_status hn_table_import(const hn_allocator *alloc, const struct ArrowSchema *schema,
                          struct ArrowArray *array, const hn_import_options *options,
                          hn_table **out, hn_error *err) {
  if (!out) {
    if (array && array->release) array->release(array);
    return hn__error(err, HN_EINVAL, "hn_table_import: NULL output");
  }
  *out = NULL;
  hn_array *s = NULL;
  hn_status st = import_array(alloc, schema, array, options, "", true, &s, err);
  if (st != HN_OK) return st;
  return struct_to_table(s, out, err);
}
