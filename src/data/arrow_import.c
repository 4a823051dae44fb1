/*
 * Import from the Arrow C Data Interface: schemas into types (here), then
 * the data (arrow_import_node.c), then full validation of the result. The
 * input is untrusted throughout. Formats whose layout is not the type's
 * own are decoded: dictionaries into their value type, run-end encoded
 * arrays into their values' type, string and binary views into utf8 and
 * binary, list views into list and large_list.
 */
#include <stddef.h>

#include "arrow_internal.h"

/* Deeper schemas are refused, so that recursion is bounded whatever the input. */
#define HN_IMPORT_MAX_DEPTH 64

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

/* ---- schemas ----------------------------------------------------------- */

static hn_status type_node(const hn_allocator *alloc, const struct ArrowSchema *s, const char *path,
                           int depth, const hn_type **out, hn_error *err);

static hn_status list_type(const hn_allocator *alloc, const struct ArrowSchema *s,
                           const hn__arrow_format *f, const char *path, int depth,
                           const hn_type **out, hn_error *err) {
  char child_path[HN__COLUMN_PATH_MAX];
  hn__column_path_child(child_path, sizeof child_path, path, NULL);
  const hn_type *item = NULL;
  hn_status st = type_node(alloc, s->children[0], child_path, depth + 1, &item, err);
  if (st != HN_OK) return st;
  if (f->id == HN_TYPE_LIST)
    st = hn_type_list_create(alloc, item, out, err);
  else if (f->id == HN_TYPE_LARGE_LIST)
    st = hn_type_large_list_create(alloc, item, out, err);
  else
    st = hn_type_fixed_size_list_create(alloc, item, f->width, out, err);
  hn_type_release(item);
  return st == HN_OK ? st : relabel(err, st, path);
}

/* A map's child: a struct ("+s") of exactly two fields, the key and the value. */
static hn_status map_type(const hn_allocator *alloc, const struct ArrowSchema *s, const char *path,
                          int depth, const hn_type **out, hn_error *err) {
  const struct ArrowSchema *e = s->children[0];
  if (!e || !e->release || !e->format || strcmp(e->format, "+s") != 0 || e->n_children != 2 ||
      !e->children || !e->children[0] || !e->children[1] || e->dictionary)
    return hn__column_error(err, HN_EINVAL, path,
                            "a map's child must be a struct ('+s') of key and value");
  char child_path[HN__COLUMN_PATH_MAX];
  hn__column_path_child(child_path, sizeof child_path, path, NULL);
  const hn_type *kv[2] = {NULL, NULL};
  hn_status st = HN_OK;
  for (int i = 0; i < 2 && st == HN_OK; i++) {
    char kv_path[HN__COLUMN_PATH_MAX];
    hn__column_path_child(kv_path, sizeof kv_path, child_path, i == 0 ? "key" : "value");
    st = type_node(alloc, e->children[i], kv_path, depth + 2, &kv[i], err);
  }
  if (st == HN_OK) {
    st = hn_type_map_create(alloc, kv[0], kv[1], out, err);
    if (st != HN_OK) st = relabel(err, st, path);
  }
  hn_type_release(kv[0]);
  hn_type_release(kv[1]);
  return st;
}

static bool is_run_end_format(const char *f) {
  return f && (!strcmp(f, "s") || !strcmp(f, "i") || !strcmp(f, "l"));
}

/* Run-end encoded: (run_ends: int16/32/64, values); the type is the values'. */
static hn_status run_end_type(const hn_allocator *alloc, const struct ArrowSchema *s,
                              const char *path, int depth, const hn_type **out, hn_error *err) {
  const struct ArrowSchema *r = s->children[0];
  if (!r || !r->release || !is_run_end_format(r->format) || r->dictionary)
    return hn__column_error(err, HN_EINVAL, path,
                            "a run-end encoded array's first child must be int16, int32 or int64 "
                            "run ends");
  return type_node(alloc, s->children[1], path, depth + 1, out, err);
}

/* Children a format's schema has (-1: any number, a struct's). */
static int64_t schema_children(const hn__arrow_format *f) {
  if (f->id == HN_TYPE_STRUCT && f->encoding == HN__ENC_PLAIN) return -1;
  if (f->encoding == HN__ENC_RUN_END) return 2;
  if (f->encoding == HN__ENC_VIEW) return 0;
  return hn__type_is_nested(f->id) ? 1 : 0;
}

/* Dictionary-encoded: the index format is an integer; the type is the dictionary's. */
static hn_status dictionary_type(const hn_allocator *alloc, const struct ArrowSchema *s,
                                 const char *path, int depth, const hn_type **out, hn_error *err) {
  hn__arrow_format f;
  bool integer = hn__arrow_format_parse(s->format, &f) && f.encoding == HN__ENC_PLAIN &&
                 (f.id == HN_TYPE_INT64 || (f.id >= HN_TYPE_INT8 && f.id <= HN_TYPE_UINT64));
  if (!integer || s->n_children != 0)
    return hn__column_error(err, HN_EINVAL, path,
                            "dictionary index format '%.32s' is not an integer type", s->format);
  return type_node(alloc, s->dictionary, path, depth + 1, out, err);
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
  if (s->dictionary) return dictionary_type(alloc, s, path, depth, out, err);
  hn__arrow_format f;
  if (!hn__arrow_format_parse(s->format, &f))
    return hn__column_error(err, HN_EUNSUPPORTED, path, "unsupported Arrow format '%.40s'",
                            s->format);
  if (s->n_children < 0)
    return hn__column_error(err, HN_EINVAL, path, "negative n_children %lld",
                            (long long)s->n_children);
  if (s->n_children > 0 && !s->children)
    return hn__column_error(err, HN_EINVAL, path,
                            "schema children pointer is NULL (n_children %lld)",
                            (long long)s->n_children);
  int64_t want = schema_children(&f);
  if (want < 0) return struct_type(alloc, s, path, depth, out, err);
  if (s->n_children != want)
    return hn__column_error(err, HN_EINVAL, path,
                            "format '%s' needs %lld schema children, got %lld", s->format,
                            (long long)want, (long long)s->n_children);
  for (int64_t i = 0; i < want; i++)
    if (!s->children[i] || !s->children[i]->release)
      return hn__column_error(err, HN_EINVAL, path, "schema child %lld is NULL or released",
                              (long long)i);
  if (f.encoding == HN__ENC_RUN_END) return run_end_type(alloc, s, path, depth, out, err);
  if (f.id == HN_TYPE_MAP) return map_type(alloc, s, path, depth, out, err);
  if (want == 1) return list_type(alloc, s, &f, path, depth, out, err);
  hn_status st = hn__arrow_type_of(alloc, &f, out, err);
  return st == HN_OK ? st : relabel(err, st, path);
}

hn_status hn_type_import(const hn_allocator *alloc, const struct ArrowSchema *schema,
                         const hn_type **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_type_import: NULL output");
  *out = NULL;
  hn_allocator a = hn__allocator_resolve(alloc);
  const char *path = schema && schema->release && schema->name ? schema->name : "";
  return type_node(&a, schema, path, 0, out, err);
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
  hn__import_ctx c = {hn__allocator_resolve(alloc), NULL, option_validate_utf8(options), err};
  c.holder = hn__import_holder_take(&c.alloc, array);
  if (!c.holder) return hn__error_nomem(err, "importing an Arrow array");
  const hn_type *type = NULL;
  hn_status st = type_node(&c.alloc, schema, path, 0, &type, err);
  if (st == HN_OK && need_struct && type->id != HN_TYPE_STRUCT)
    st = hn__column_error(err, HN_EINVAL, path,
                          "a table needs a struct ('+s') schema, got format '%.40s'",
                          schema->format);
  if (st == HN_OK)
    st = hn__import_node(&c, schema, type, hn__import_holder_array(c.holder), path, out);
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
  hn__import_holder_unref(c.holder);
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
