/*
 * Export to the Arrow C Data Interface. Zero copy: ArrowArray.buffers point
 * into our hn_buffers, kept alive by a reference on the exported hn_array
 * (or hn_table) held in private_data until release.
 *
 * Each exported node is one allocation: its private header, then the child
 * pointer array, then the child structs (and, for schemas, the name). The
 * structs themselves hold no pointer to themselves, so they can be moved,
 * and children can be moved out: release skips children already released.
 */
#include "arrow_internal.h"

/* Enough zero bytes to stand in for a missing buffer of an empty array. */
static const int64_t hn_export_zeros[2] = {0, 0};

static hn_allocator type_allocator(const hn_type *type) {
  return type->alloc.malloc ? type->alloc : *hn_allocator_default();
}

static int64_t type_num_children(const hn_type *type) {
  return hn__type_num_children(type);
}

hn_status hn__check_exportable(const hn_type *type, const char *path, hn_error *err) {
  char child[HN__COLUMN_PATH_MAX];
  switch (type->id) {
    case HN_TYPE_OBJECT:
      return hn__column_error(err, HN_EUNSUPPORTED, path,
                              "object type '%s' cannot be exported to Arrow", type->object_name);
    case HN_TYPE_LIST:
    case HN_TYPE_LARGE_LIST:
    case HN_TYPE_FIXED_SIZE_LIST:
    case HN_TYPE_MAP:
      hn__column_path_child(child, sizeof child, path, NULL);
      return hn__check_exportable(type->item, child, err);
    case HN_TYPE_STRUCT:
      for (int64_t i = 0; i < type->n_fields; i++) {
        hn__column_path_child(child, sizeof child, path, type->names[i]);
        hn_status st = hn__check_exportable(type->fields[i], child, err);
        if (st != HN_OK) return st;
      }
      return HN_OK;
    default:
      return HN_OK;
  }
}

/* Allocate the block of a node with n children of `child_size` bytes and `extra` bytes. */
static void *node_alloc(const hn_allocator *alloc, size_t header, int64_t n, size_t child_size,
                        size_t extra) {
  size_t per_child = sizeof(void *) + child_size;
  if ((uint64_t)n > (SIZE_MAX - header - extra) / per_child) return NULL;
  return hn__calloc(alloc, 1, header + (size_t)n * per_child + extra);
}

/* ---- schemas ----------------------------------------------------------- */

/* `dict` is the dictionary's schema of a dictionary-encoded export (s->dictionary points at it). */
typedef struct schema_private {
  hn_allocator alloc;
  struct ArrowSchema dict;
} schema_private;

static void schema_release(struct ArrowSchema *s) {
  for (int64_t i = 0; i < s->n_children; i++)
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
  if (s->dictionary && s->dictionary->release) s->dictionary->release(s->dictionary);
  schema_private *p = s->private_data;
  hn_allocator a = p->alloc;
  hn__free(&a, p);
  s->release = NULL;
  s->private_data = NULL;
}

/*
 * Flags of child i of `type`: nullable, except a map's entries and their
 * keys (Arrow requires both non-nullable). `entries` says `type` is a map's
 * entries struct.
 */
static int64_t child_flags(const hn_type *type, bool entries, int64_t i) {
  if (type->id == HN_TYPE_MAP || (entries && i == 0)) return 0;
  return ARROW_FLAG_NULLABLE;
}

static hn_status schema_fill_rec(const hn_allocator *alloc, const hn_type *type, const char *name,
                                 int64_t flags, bool entries, struct ArrowSchema *out,
                                 hn_error *err) {
  memset(out, 0, sizeof *out);
  int64_t n = type_num_children(type);
  char format[HN__ARROW_FORMAT_MAX];
  size_t format_size = hn__arrow_format_write(type, format, sizeof format) + 1;
  size_t name_size = name ? strlen(name) + 1 : 0;
  schema_private *p =
      node_alloc(alloc, sizeof *p, n, sizeof(struct ArrowSchema), name_size + format_size);
  if (!p) return hn__error_nomem(err, "exporting an Arrow schema");
  p->alloc = *alloc;
  struct ArrowSchema **ptrs = (struct ArrowSchema **)(p + 1);
  struct ArrowSchema *kids = (struct ArrowSchema *)(ptrs + n);
  char *name_copy = (char *)(kids + n), *format_copy = name_copy + name_size;
  for (int64_t i = 0; i < n; i++) ptrs[i] = &kids[i];
  if (name) memcpy(name_copy, name, name_size);
  memcpy(format_copy, format, format_size);
  out->format = format_copy;
  out->name = name ? name_copy : NULL;
  out->metadata = NULL;
  out->flags = flags;
  out->n_children = n;
  out->children = n > 0 ? ptrs : NULL;
  out->dictionary = NULL;
  out->private_data = p;
  out->release = schema_release;
  for (int64_t i = 0; i < n; i++) {
    const hn_type *ct = hn__type_child(type, i);
    const char *cn = type->id == HN_TYPE_STRUCT ? type->names[i]
                     : type->id == HN_TYPE_MAP  ? "entries"
                                                : "item";
    hn_status st = schema_fill_rec(alloc, ct, cn, child_flags(type, entries, i),
                                   type->id == HN_TYPE_MAP, &kids[i], err);
    if (st != HN_OK) {
      out->release(out);
      return st;
    }
  }
  return HN_OK;
}

static hn_status schema_fill(const hn_allocator *alloc, const hn_type *type, const char *name,
                             int64_t flags, struct ArrowSchema *out, hn_error *err) {
  return schema_fill_rec(alloc, type, name, flags, false, out, err);
}

hn_status hn__schema_export(const hn_allocator *alloc, const hn_type *type, const char *name,
                            int64_t flags, struct ArrowSchema *out, hn_error *err) {
  out->release = NULL;
  hn_status st = hn__check_exportable(type, name, err);
  if (st != HN_OK) return st;
  return schema_fill(alloc, type, name, flags, out, err);
}

hn_status hn_type_export(const hn_type *type, const char *name, struct ArrowSchema *out,
                         hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_type_export: NULL output");
  out->release = NULL;
  if (!type) return hn__error(err, HN_EINVAL, "hn_type_export: NULL type");
  hn_allocator a = type_allocator(type);
  return hn__schema_export(&a, type, name, ARROW_FLAG_NULLABLE, out, err);
}

/* ---- arrays ------------------------------------------------------------ */

/* Exactly one of array / table is set: the reference that keeps the buffers alive. */
typedef struct array_private {
  hn_allocator alloc;
  hn_array *array;
  hn_table *table;
  const void *buffers[3];
  struct ArrowArray dict; /* a dictionary-encoded export's dictionary */
} array_private;

static void array_release(struct ArrowArray *s) {
  for (int64_t i = 0; i < s->n_children; i++)
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
  if (s->dictionary && s->dictionary->release) s->dictionary->release(s->dictionary);
  array_private *p = s->private_data;
  hn_array_release(p->array);
  hn_table_release(p->table);
  hn_allocator a = p->alloc;
  hn__free(&a, p);
  s->release = NULL;
  s->private_data = NULL;
}

/* Allocate a node's block and fill *out (release set); the children are zeroed. */
static array_private *array_node(const hn_allocator *alloc, int64_t n, struct ArrowArray *out,
                                 hn_error *err) {
  memset(out, 0, sizeof *out);
  array_private *p = node_alloc(alloc, sizeof *p, n, sizeof(struct ArrowArray), 0);
  if (!p) {
    hn__error_nomem(err, "exporting an Arrow array");
    return NULL;
  }
  p->alloc = *alloc;
  struct ArrowArray **ptrs = (struct ArrowArray **)(p + 1);
  struct ArrowArray *kids = (struct ArrowArray *)(ptrs + n);
  for (int64_t i = 0; i < n; i++) ptrs[i] = &kids[i];
  out->n_children = n;
  out->children = n > 0 ? ptrs : NULL;
  out->buffers = p->buffers;
  out->private_data = p;
  out->release = array_release;
  return p;
}

static const void *buffer_ptr(const hn_buffer *b) {
  return b && b->data ? (const void *)b->data : (const void *)hn_export_zeros;
}

static hn_status array_fill(const hn_allocator *alloc, const hn_array *a, struct ArrowArray *out,
                            hn_error *err) {
  array_private *p = array_node(alloc, a->n_children, out, err);
  if (!p) return HN_ENOMEM;
  p->array = hn_array_retain((hn_array *)a);
  int nb = hn__type_num_buffers(a->type->id);
  p->buffers[0] = a->null_count > 0 && a->buffers[0] ? a->buffers[0]->data : NULL;
  for (int i = 1; i < nb; i++) p->buffers[i] = buffer_ptr(a->buffers[i]);
  out->length = a->length;
  out->null_count = a->null_count;
  out->offset = a->offset;
  out->n_buffers = nb;
  for (int64_t i = 0; i < a->n_children; i++) {
    hn_status st = array_fill(alloc, a->children[i], out->children[i], err);
    if (st != HN_OK) {
      out->release(out);
      return st;
    }
  }
  return HN_OK;
}

hn_status hn_array_export(const hn_array *array, struct ArrowSchema *schema_out,
                          struct ArrowArray *array_out, hn_error *err) {
  if (schema_out) schema_out->release = NULL;
  if (!array_out) return hn__error(err, HN_EINVAL, "hn_array_export: NULL output");
  array_out->release = NULL;
  if (!array) return hn__error(err, HN_EINVAL, "hn_array_export: NULL array");
  hn_status st = hn__check_exportable(array->type, "", err);
  if (st != HN_OK) return st;
  if (schema_out) {
    st = schema_fill(&array->alloc, array->type, "", ARROW_FLAG_NULLABLE, schema_out, err);
    if (st != HN_OK) return st;
  }
  st = array_fill(&array->alloc, array, array_out, err);
  if (st != HN_OK && schema_out) schema_out->release(schema_out);
  return st;
}

static hn_status table_fill(const hn_table *t, struct ArrowArray *out, hn_error *err) {
  array_private *p = array_node(&t->alloc, t->n_columns, out, err);
  if (!p) return HN_ENOMEM;
  p->table = hn_table_retain((hn_table *)t);
  p->buffers[0] = NULL;
  out->length = t->n_rows;
  out->null_count = 0;
  out->offset = 0;
  out->n_buffers = 1;
  for (int64_t i = 0; i < t->n_columns; i++) {
    hn_status st = array_fill(&t->alloc, t->columns[i], out->children[i], err);
    if (st != HN_OK) {
      out->release(out);
      return st;
    }
  }
  return HN_OK;
}

hn_status hn_table_export(const hn_table *table, struct ArrowSchema *schema_out,
                          struct ArrowArray *array_out, hn_error *err) {
  if (schema_out) schema_out->release = NULL;
  if (!array_out) return hn__error(err, HN_EINVAL, "hn_table_export: NULL output");
  array_out->release = NULL;
  if (!table) return hn__error(err, HN_EINVAL, "hn_table_export: NULL table");
  hn_status st = hn__check_exportable(table->schema, "", err);
  if (st != HN_OK) return st;
  if (schema_out) {
    st = schema_fill(&table->alloc, table->schema, "", 0, schema_out, err);
    if (st != HN_OK) return st;
  }
  st = table_fill(table, array_out, err);
  if (st != HN_OK && schema_out) schema_out->release(schema_out);
  return st;
}

hn_status hn__export_dictionary_encoded(const hn_array *indices, const hn_array *dict,
                                        struct ArrowSchema *schema_out,
                                        struct ArrowArray *array_out, hn_error *err) {
  const hn_allocator *a = &indices->alloc;
  hn_status st = HN_OK;
  if (schema_out) {
    st = schema_fill(a, indices->type, "", ARROW_FLAG_NULLABLE, schema_out, err);
    schema_private *p = st == HN_OK ? schema_out->private_data : NULL;
    if (p) st = schema_fill(a, dict->type, NULL, ARROW_FLAG_NULLABLE, &p->dict, err);
    if (p && st == HN_OK) schema_out->dictionary = &p->dict;
    if (p && st != HN_OK) schema_out->release(schema_out);
    if (st != HN_OK) return st;
  }
  st = array_fill(a, indices, array_out, err);
  array_private *q = st == HN_OK ? array_out->private_data : NULL;
  if (q) st = array_fill(a, dict, &q->dict, err);
  if (q && st == HN_OK) array_out->dictionary = &q->dict;
  if (q && st != HN_OK) array_out->release(array_out);
  if (st != HN_OK && schema_out) schema_out->release(schema_out);
  return st;
}
