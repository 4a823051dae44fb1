/*
 * Import of the data of an ArrowArray tree, node by node, against the type
 * its schema was imported as (arrow_import.c). Every header is checked
 * before any buffer is touched; buffers are then given the sizes the
 * layout requires (the C interface carries no sizes, so these are the
 * producer's promise) and the rest is left to hn__array_validate_path,
 * which reads nothing beyond those sizes. Encodings that are decoded
 * (dictionaries, run ends, list and string views) have their parts
 * imported and validated first, then arrow_decode.c reads them.
 *
 * The producer's ArrowArray is moved into a refcounted holder. Each buffer
 * wrapped zero-copy holds a reference on it; the producer's release runs
 * once, when the import and the last such buffer are done with it.
 */
#include "arrow_internal.h"

struct hn__import_holder {
  _Atomic int64_t refcount;
  hn_allocator alloc;
  struct ArrowArray array; /* moved from the caller */
};

void hn__import_holder_unref(hn__import_holder *h) {
  if (atomic_fetch_sub_explicit(&h->refcount, 1, memory_order_acq_rel) != 1) return;
  if (h->array.release) h->array.release(&h->array);
  hn_allocator a = h->alloc;
  hn__free(&a, h);
}

static void holder_buffer_release(void *ctx, const void *data) {
  (void)data;
  hn__import_holder_unref(ctx);
}

hn__import_holder *hn__import_holder_take(const hn_allocator *alloc, struct ArrowArray *array) {
  struct ArrowArray moved = *array;
  array->release = NULL;
  hn__import_holder *h = hn__malloc(alloc, sizeof *h);
  if (!h) {
    moved.release(&moved);
    return NULL;
  }
  atomic_init(&h->refcount, 1);
  h->alloc = *alloc;
  h->array = moved;
  return h;
}

struct ArrowArray *hn__import_holder_array(hn__import_holder *h) {
  return &h->array;
}

/* Share `size` bytes at ptr (non-NULL) zero-copy when aligned to `align`, else copy them. */
static hn_status wrap_or_copy(hn__import_ctx *c, const void *ptr, int64_t size, size_t align,
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
static hn_status import_buffer(hn__import_ctx *c, const struct ArrowArray *a, int i, int64_t size,
                               size_t align, const char *what, const char *path, hn_buffer **out) {
  const void *ptr = a->buffers[i];
  if (ptr) return wrap_or_copy(c, ptr, size, align, out);
  if (size > 0)
    return hn__column_error(c->err, HN_EINVAL, path, "missing %s buffer (buffers[%d] is NULL)",
                            what, i);
  return hn_buffer_create(&c->alloc, 0, out, c->err);
}

/*
 * The offsets (int32, or int64 when `wide`) of a variable-size or list
 * array, and the last offset (which sizes the data buffer). A zero-length
 * array may omit them, as several producers do; its offset is then reset to 0.
 */
static hn_status import_offsets(hn__import_ctx *c, const struct ArrowArray *a, bool wide,
                                int64_t *offset, const char *path, hn_buffer **out, int64_t *last) {
  int64_t end = *offset + a->length, w = wide ? 8 : 4;
  *last = 0;
  if (!a->buffers[1]) {
    if (a->length > 0)
      return hn__column_error(c->err, HN_EINVAL, path,
                              "missing offsets buffer (buffers[1] is NULL)");
    *offset = 0;
    return hn_buffer_create(&c->alloc, w, out, c->err);
  }
  hn_status st = wrap_or_copy(c, a->buffers[1], (end + 1) * w, (size_t)w, out);
  if (st != HN_OK) return st;
  const void *p = (*out)->data;
  *last = wide ? ((const int64_t *)p)[end] : ((const int32_t *)p)[end];
  return HN_OK;
}

/* Everything about a header that can be checked without reading a buffer. */
static hn_status check_header(const struct ArrowArray *a, int64_t nb, int64_t nc, bool dict,
                              const char *what, const char *path, hn_error *err) {
  if (!a) return hn__column_error(err, HN_EINVAL, path, "missing array (NULL child)");
  if (!a->release) return hn__column_error(err, HN_EINVAL, path, "array has been released");
  if (nb >= 0 ? a->n_buffers != nb : a->n_buffers < -nb)
    return hn__column_error(
        err, HN_EINVAL, path, "%s array needs %s%lld buffers, n_buffers is %lld", what,
        nb >= 0 ? "" : "at least ", (long long)(nb >= 0 ? nb : -nb), (long long)a->n_buffers);
  if (a->n_children != nc)
    return hn__column_error(err, HN_EINVAL, path, "array has %lld children, the schema has %lld",
                            (long long)a->n_children, (long long)nc);
  if (a->dictionary && !dict)
    return hn__column_error(err, HN_EINVAL, path, "array has a dictionary, the schema has none");
  if (!a->dictionary && dict)
    return hn__column_error(err, HN_EINVAL, path, "the schema has a dictionary, the array none");
  if (a->length < 0 || a->offset < 0)
    return hn__column_error(err, HN_EINVAL, path, "negative length %lld or offset %lld",
                            (long long)a->length, (long long)a->offset);
  if (a->offset > INT64_MAX / 16 - a->length)
    return hn__column_error(err, HN_EINVAL, path, "offset %lld + length %lld is too large",
                            (long long)a->offset, (long long)a->length);
  if (a->null_count < -1 || a->null_count > a->length)
    return hn__column_error(err, HN_EINVAL, path, "null_count %lld out of range for length %lld",
                            (long long)a->null_count, (long long)a->length);
  if (!a->buffers && a->n_buffers > 0)
    return hn__column_error(err, HN_EINVAL, path, "buffers pointer is NULL");
  if (nc > 0 && !a->children)
    return hn__column_error(err, HN_EINVAL, path, "children pointer is NULL (n_children %lld)",
                            (long long)nc);
  return HN_OK;
}

/* Import the children of a list-like or struct array into kids[0, n). */
static hn_status import_children(hn__import_ctx *c, const struct ArrowSchema *s,
                                 const hn_type *type, const struct ArrowArray *a, const char *path,
                                 hn_array **kids) {
  int64_t n = hn__type_num_children(type);
  for (int64_t i = 0; i < n; i++) {
    char child_path[HN__COLUMN_PATH_MAX];
    bool list = type->id != HN_TYPE_STRUCT;
    hn__column_path_child(child_path, sizeof child_path, path, list ? NULL : type->names[i]);
    hn_status st = hn__import_node(c, s->children[i], hn__type_child(type, i), a->children[i],
                                   child_path, &kids[i]);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

/* Validity bitmap (kept only when there are nulls) and the null count. */
static hn_status import_validity(hn__import_ctx *c, const struct ArrowArray *a, const char *path,
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
static hn_status import_values(hn__import_ctx *c, const hn_type *type, const struct ArrowArray *a,
                               int64_t *offset, const char *path, hn_buffer **b) {
  int64_t end = a->offset + a->length, last = 0, w = 0;
  hn__layout layout = hn__type_layout(type->id);
  bool wide = layout == HN__L_VAR64 || layout == HN__L_LIST64;
  hn_status st;
  switch (layout) {
    case HN__L_BITS:
      return import_buffer(c, a, 1, hn_bytes_for_bits(end), 1, "values", path, &b[1]);
    case HN__L_FIXED:
      w = hn__type_width(type);
      if (end > INT64_MAX / w)
        return hn__column_error(c->err, HN_EINVAL, path, "offset + length %lld too large",
                                (long long)end);
      return import_buffer(c, a, 1, end * w,
                           type->id == HN_TYPE_FIXED_SIZE_BINARY ? 1 : (w < 8 ? (size_t)w : 8),
                           "values", path, &b[1]);
    case HN__L_VAR32:
    case HN__L_VAR64:
      st = import_offsets(c, a, wide, offset, path, &b[1], &last);
      if (st != HN_OK) return st;
      /* A negative or decreasing last offset is reported by validation. */
      return import_buffer(c, a, 2, last > 0 ? last : 0, 1, "data", path, &b[2]);
    case HN__L_LIST32:
    case HN__L_LIST64:
      return import_offsets(c, a, wide, offset, path, &b[1], &last);
    default:
      return HN_OK;
  }
}

/* A node in the type's own layout. */
static hn_status import_plain(hn__import_ctx *c, const struct ArrowSchema *s, const hn_type *type,
                              const struct ArrowArray *a, const char *path, hn_array **out) {
  int64_t n = hn__type_num_children(type), null_count = 0;
  hn_status st = check_header(a, hn__type_num_buffers(type->id), n, false,
                              hn_type_id_name(type->id), path, c->err);
  if (st != HN_OK) return st;
  int64_t offset = a->offset;
  hn_buffer *b[3] = {NULL, NULL, NULL};
  hn_array **kids = NULL;
  if (n > 0) {
    kids = hn__calloc(&c->alloc, (size_t)n, sizeof *kids);
    if (!kids) return hn__error_nomem(c->err, "importing an Arrow array");
  }
  if (type->id != HN_TYPE_NULL) st = import_validity(c, a, path, &b[0], &null_count);
  if (st == HN_OK) st = import_values(c, type, a, &offset, path, b);
  if (st == HN_OK) st = import_children(c, s, type, a, path, kids);
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

/* Import a part of an encoded array and validate it, so that the decoder may read it. */
static hn_status import_part(hn__import_ctx *c, const struct ArrowSchema *s, const hn_type *type,
                             const struct ArrowArray *a, const char *path, hn_array **out) {
  hn_status st = hn__import_node(c, s, type, a, path, out);
  if (st == HN_OK) st = hn__array_validate_path(*out, c->validate_utf8, path, c->err);
  if (st != HN_OK) {
    hn_array_release(*out);
    *out = NULL;
    if (st == HN_ECORRUPT) st = HN_EINVAL;
    if (c->err) c->err->code = st;
  }
  return st;
}

/* The plain integer type of an index or run-end format. */
static hn_status int_type(hn__import_ctx *c, const char *format, const hn_type **out) {
  hn__arrow_format f;
  if (!hn__arrow_format_parse(format, &f))
    return hn__error(c->err, HN_EINTERNAL, "index format '%.32s'", format);
  return hn__arrow_type_of(&c->alloc, &f, out, c->err);
}

static hn_status import_dictionary(hn__import_ctx *c, const struct ArrowSchema *s,
                                   const hn_type *type, const struct ArrowArray *a,
                                   const char *path, hn_array **out) {
  const hn_type *index = NULL;
  hn_array *indices = NULL, *dict = NULL;
  struct ArrowSchema plain = *s;
  plain.dictionary = NULL;
  struct ArrowArray plain_a;
  hn_status st = check_header(a, 2, 0, true, "dictionary index", path, c->err);
  if (st == HN_OK) st = int_type(c, s->format, &index);
  if (st == HN_OK) {
    plain_a = *a;
    plain_a.dictionary = NULL;
    st = import_part(c, &plain, index, &plain_a, path, &indices);
  }
  if (st == HN_OK) st = import_part(c, s->dictionary, type, a->dictionary, path, &dict);
  if (st == HN_OK) st = hn__decode_dictionary(&c->alloc, type, indices, dict, path, out, c->err);
  hn_array_release(indices);
  hn_array_release(dict);
  return st;
}

static hn_status import_run_end(hn__import_ctx *c, const struct ArrowSchema *s, const hn_type *type,
                                const struct ArrowArray *a, const char *path, hn_array **out) {
  const hn_type *ends_type = NULL;
  hn_array *ends = NULL, *values = NULL;
  char ends_path[HN__COLUMN_PATH_MAX];
  hn__column_path_child(ends_path, sizeof ends_path, path, "run_ends");
  hn_status st = check_header(a, 0, 2, false, "run-end encoded", path, c->err);
  if (st == HN_OK) st = int_type(c, s->children[0]->format, &ends_type);
  if (st == HN_OK) st = import_part(c, s->children[0], ends_type, a->children[0], ends_path, &ends);
  if (st == HN_OK) st = import_part(c, s->children[1], type, a->children[1], path, &values);
  if (st == HN_OK)
    st = hn__decode_run_end(&c->alloc, type, a->offset, a->length, ends, values, path, out, c->err);
  hn_array_release(ends);
  hn_array_release(values);
  return st;
}

static hn_status import_list_view(hn__import_ctx *c, const struct ArrowSchema *s,
                                  const hn_type *type, const struct ArrowArray *a, const char *path,
                                  hn_array **out) {
  hn_status st = check_header(a, 3, 1, false, "list view", path, c->err);
  if (st != HN_OK) return st;
  if (a->length > 0 && (!a->buffers[1] || !a->buffers[2]))
    return hn__column_error(c->err, HN_EINVAL, path, "missing list view offsets or sizes buffer");
  if (a->null_count > 0 && !a->buffers[0])
    return hn__column_error(c->err, HN_EINVAL, path, "null_count %lld but no validity bitmap",
                            (long long)a->null_count);
  char child_path[HN__COLUMN_PATH_MAX];
  hn__column_path_child(child_path, sizeof child_path, path, NULL);
  hn_array *child = NULL;
  st = import_part(c, s->children[0], type->item, a->children[0], child_path, &child);
  if (st == HN_OK)
    st = hn__decode_list_view(&c->alloc, type, a->offset, a->length,
                              a->null_count != 0 ? a->buffers[0] : NULL, a->buffers[1],
                              a->buffers[2], child, path, out, c->err);
  hn_array_release(child);
  return st;
}

hn_status hn__import_node(hn__import_ctx *c, const struct ArrowSchema *s, const hn_type *type,
                          const struct ArrowArray *a, const char *path, hn_array **out) {
  *out = NULL;
  if (s->dictionary) return import_dictionary(c, s, type, a, path, out);
  hn__arrow_format f;
  if (!hn__arrow_format_parse(s->format, &f))
    return hn__error(c->err, HN_EINTERNAL, "format '%.32s' changed under import", s->format);
  switch (f.encoding) {
    case HN__ENC_VIEW: {
      hn_status st = check_header(a, -3, 0, false, "view", path, c->err);
      return st == HN_OK ? hn__decode_views(&c->alloc, type, a, path, out, c->err) : st;
    }
    case HN__ENC_LIST_VIEW:
      return import_list_view(c, s, type, a, path, out);
    case HN__ENC_RUN_END:
      return import_run_end(c, s, type, a, path, out);
    case HN__ENC_PLAIN:
      break;
  }
  return import_plain(c, s, type, a, path, out);
}
