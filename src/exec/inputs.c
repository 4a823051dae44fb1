/* Named inputs of a run or map: values, columns and ref-counted resources. */
#include "exec_internal.h"

/* ---- resources ----------------------------------------------------------- */

/* Resource states belong to the resource's init/destroy, never to an array. */
static void resource_state_keep(void *ctx, void *object) {
  (void)ctx;
  (void)object;
}

hn_resource *hn__resource_retain(hn_resource *resource) {
  if (resource) atomic_fetch_add_explicit(&resource->refcount, 1, memory_order_relaxed);
  return resource;
}

void hn__resource_release(hn_resource *resource) {
  if (!resource || atomic_fetch_sub_explicit(&resource->refcount, 1, memory_order_acq_rel) != 1)
    return;
  if (resource->def.config_free) resource->def.config_free(resource->def.config);
  hn_type_release(resource->type);
  hn_allocator a = resource->alloc;
  hn__free(&a, resource->name);
  hn__free(&a, resource->version);
  hn__free(&a, resource);
}

static hn_status resource_check_def(const hn_resource_def *def, hn_error *err) {
  if (!def) return hn__error(err, HN_EINVAL, "hn_inputs_set_resource: NULL definition");
  if (def->size < offsetof(hn_resource_def, version)) /* older callers lack version */
    return hn__error(err, HN_EINVAL,
                     "hn_inputs_set_resource: def->size is %zu, expected sizeof(hn_resource_def) "
                     "(%zu)",
                     def->size, sizeof(hn_resource_def));
  if (!def->name || !def->init || !def->destroy)
    return hn__error(err, HN_EINVAL, "resource%s%s: name, init and destroy are required",
                     def->name ? " " : "", def->name ? def->name : "");
  return HN_OK;
}

/*
 * A resource with one reference. On failure nothing is kept and the caller
 * still owns def->config (config_free is not called).
 */
static hn_status resource_create(const hn_allocator *alloc, const hn_resource_def *def,
                                 hn_resource **out, hn_error *err) {
  hn_resource *r = hn__calloc(alloc, 1, sizeof *r);
  char *name = r ? hn__strdup(alloc, def->name) : NULL;
  if (!r || !name) {
    hn__free(alloc, r);
    return hn__error_nomem(err, "for a resource");
  }
  hn_object_vtable vt = {resource_state_keep, NULL, NULL, NULL};
  const hn_type *type = NULL;
  hn_status st = hn_type_object_create(alloc, name, &vt, &type, err);
  if (st != HN_OK) {
    hn__free(alloc, name);
    hn__free(alloc, r);
    return st;
  }
  atomic_init(&r->refcount, 1);
  r->alloc = *alloc;
  size_t n = def->size < sizeof r->def ? def->size : sizeof r->def;
  memcpy(&r->def, def, n); /* the known prefix only: def->size may be larger or smaller */
  r->def.size = sizeof r->def;
  r->def.version = NULL;
  if (def->size >= sizeof r->def && def->version &&
      !(r->version = hn__strdup(alloc, def->version))) {
    hn_type_release(type);
    hn__free(alloc, name);
    hn__free(alloc, r);
    return hn__error_nomem(err, "for a resource");
  }
  r->def.version = r->version;
  r->def.name = name;
  r->name = name;
  r->type = type;
  *out = r;
  return HN_OK;
}

/* ---- inputs -------------------------------------------------------------- */

hn_status hn_inputs_create(const hn_allocator *alloc, hn_inputs **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_inputs_create: NULL output");
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_inputs *in = hn__calloc(&a, 1, sizeof *in);
  if (!in) return hn__error_nomem(err, "for inputs");
  in->alloc = a;
  *out = in;
  return HN_OK;
}

/* Drop what an entry holds (not its name). */
static void input_clear(hn_input *item) {
  hn_array_release(item->values);
  hn__resource_release(item->resource);
  item->values = NULL;
  item->resource = NULL;
}

void hn_inputs_destroy(hn_inputs *inputs) {
  if (!inputs) return;
  hn_allocator a = inputs->alloc;
  for (int64_t i = 0; i < inputs->n; i++) {
    input_clear(&inputs->items[i]);
    hn__free(&a, inputs->items[i].name);
  }
  hn__free(&a, inputs->items);
  hn__free(&a, inputs);
}

int64_t hn__inputs_find(const hn_inputs *inputs, const char *name) {
  if (!inputs || !name) return -1;
  for (int64_t i = 0; i < inputs->n; i++)
    if (strcmp(inputs->items[i].name, name) == 0) return i;
  return -1;
}

static hn_status check_args(const hn_inputs *inputs, const char *name, const char *fn,
                            hn_error *err) {
  if (!inputs || !name) return hn__error(err, HN_EINVAL, "%s: NULL inputs or name", fn);
  if (!name[0]) return hn__error(err, HN_EINVAL, "%s: input names must be non-empty", fn);
  return HN_OK;
}

/*
 * Find the entry for `name` or make room for a new one, doing every
 * allocation up front so that the caller's commit cannot fail: *index is the
 * existing entry, or inputs->n with *name_copy the new entry's name.
 */
static hn_status slot_prepare(hn_inputs *inputs, const char *name, int64_t *index, char **name_copy,
                              hn_error *err) {
  *name_copy = NULL;
  *index = hn__inputs_find(inputs, name);
  if (*index >= 0) return HN_OK;
  if (inputs->n == inputs->cap) {
    int64_t cap = inputs->cap ? inputs->cap * 2 : 8;
    hn_input *items = hn__realloc(&inputs->alloc, inputs->items, sizeof *items * (size_t)cap);
    if (!items) return hn__error_nomem(err, "for inputs");
    inputs->items = items;
    inputs->cap = cap;
  }
  *name_copy = hn__strdup(&inputs->alloc, name);
  if (!*name_copy) return hn__error_nomem(err, "for an input name");
  *index = inputs->n;
  return HN_OK;
}

/* Store a prepared entry, taking the references in `values` and `resource`. */
static void slot_commit(hn_inputs *inputs, int64_t index, char *name_copy, hn_input_kind kind,
                        hn_array *values, int64_t row, hn_resource *resource) {
  hn_input *item = &inputs->items[index];
  if (index == inputs->n) {
    item->name = name_copy;
    item->values = NULL;
    item->resource = NULL;
    inputs->n++;
  } else {
    input_clear(item);
  }
  item->kind = kind;
  item->values = values;
  item->row = row;
  item->resource = resource;
}

static hn_status set_array(hn_inputs *inputs, const char *name, hn_input_kind kind,
                           hn_array *values, int64_t row, hn_error *err) {
  int64_t index;
  char *name_copy;
  hn_status st = slot_prepare(inputs, name, &index, &name_copy, err);
  if (st != HN_OK) return st;
  slot_commit(inputs, index, name_copy, kind, hn_array_retain(values), row, NULL);
  return HN_OK;
}

hn_status hn_inputs_set_column(hn_inputs *inputs, const char *name, hn_array *column,
                               hn_error *err) {
  hn_status st = check_args(inputs, name, "hn_inputs_set_column", err);
  if (st != HN_OK) return st;
  if (!column) return hn__error(err, HN_EINVAL, "input '%s': NULL column", name);
  return set_array(inputs, name, HN_INPUT_COLUMN, column, 0, err);
}

hn_status hn_inputs_set_value(hn_inputs *inputs, const char *name, hn_array *values, int64_t row,
                              hn_error *err) {
  hn_status st = check_args(inputs, name, "hn_inputs_set_value", err);
  if (st != HN_OK) return st;
  if (!values) return hn__error(err, HN_EINVAL, "input '%s': NULL values", name);
  if (row < 0 || row >= values->length)
    return hn__error(err, HN_ERANGE, "input '%s': row %lld outside an array of %lld rows", name,
                     (long long)row, (long long)values->length);
  return set_array(inputs, name, HN_INPUT_VALUE, values, row, err);
}

/* The scalar setters: one value appended by `append` into a one-row array. */
typedef struct scalar {
  hn_type_id id;
  bool b;
  int64_t i64;
  double f64;
  const char *str;
  int64_t size;
} scalar;

static hn_status append_scalar(hn_builder *b, const scalar *s) {
  switch (s->id) {
    case HN_TYPE_BOOL:
      return hn_builder_append_bool(b, s->b);
    case HN_TYPE_INT64:
      return hn_builder_append_int64(b, s->i64);
    case HN_TYPE_FLOAT64:
      return hn_builder_append_float64(b, s->f64);
    default:
      return hn_builder_append_str(b, s->str, s->size);
  }
}

static hn_status set_scalar(hn_inputs *inputs, const char *name, const hn_type *type,
                            const scalar *s, const char *fn, hn_error *err) {
  hn_status st = check_args(inputs, name, fn, err);
  if (st != HN_OK) return st;
  hn_builder *b = NULL;
  hn_array *arr = NULL;
  st = hn_builder_create(&inputs->alloc, type, &b, err);
  if (st == HN_OK) {
    st = append_scalar(b, s);
    if (st != HN_OK) hn__error(err, st, "input '%s': %s", name, hn_builder_last_error(b));
  }
  if (st == HN_OK) st = hn_builder_finish(b, &arr, err);
  hn_builder_destroy(b);
  if (st == HN_OK) st = set_array(inputs, name, HN_INPUT_VALUE, arr, 0, err);
  hn_array_release(arr);
  return st;
}

hn_status hn_inputs_set_int64(hn_inputs *inputs, const char *name, int64_t value, hn_error *err) {
  scalar s = {.id = HN_TYPE_INT64, .i64 = value};
  return set_scalar(inputs, name, hn_type_int64(), &s, "hn_inputs_set_int64", err);
}

hn_status hn_inputs_set_float64(hn_inputs *inputs, const char *name, double value, hn_error *err) {
  scalar s = {.id = HN_TYPE_FLOAT64, .f64 = value};
  return set_scalar(inputs, name, hn_type_float64(), &s, "hn_inputs_set_float64", err);
}

hn_status hn_inputs_set_bool(hn_inputs *inputs, const char *name, bool value, hn_error *err) {
  scalar s = {.id = HN_TYPE_BOOL, .b = value};
  return set_scalar(inputs, name, hn_type_bool(), &s, "hn_inputs_set_bool", err);
}

hn_status hn_inputs_set_str(hn_inputs *inputs, const char *name, const char *value, int64_t size,
                            hn_error *err) {
  if (!value && size != 0) return hn__error(err, HN_EINVAL, "hn_inputs_set_str: NULL value");
  scalar s = {.id = HN_TYPE_UTF8, .str = value ? value : "", .size = size};
  return set_scalar(inputs, name, hn_type_utf8(), &s, "hn_inputs_set_str", err);
}

hn_status hn_inputs_set_strings(hn_inputs *inputs, const char *name, int64_t n,
                                const char *const *values, hn_error *err) {
  hn_status st = check_args(inputs, name, "hn_inputs_set_strings", err);
  if (st == HN_OK && (n < 0 || (n > 0 && !values)))
    st = hn__error(err, HN_EINVAL, "input '%s': bad list of %lld strings", name, (long long)n);
  if (st != HN_OK) return st;
  hn_builder *b = NULL;
  hn_array *column = NULL;
  st = hn_builder_create(&inputs->alloc, hn_type_utf8(), &b, err);
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    st = values[i] ? hn_builder_append_str(b, values[i], -1) : hn_builder_append_null(b);
    if (st != HN_OK)
      hn__error(err, st, "input '%s', string %lld: %s", name, (long long)i,
                hn_builder_last_error(b));
  }
  if (st == HN_OK) st = hn_builder_finish(b, &column, err);
  hn_builder_destroy(b);
  if (st == HN_OK) st = set_array(inputs, name, HN_INPUT_COLUMN, column, 0, err);
  hn_array_release(column);
  return st;
}

hn_status hn_inputs_set_resource(hn_inputs *inputs, const char *name, const hn_resource_def *def,
                                 hn_error *err) {
  hn_status st = check_args(inputs, name, "hn_inputs_set_resource", err);
  if (st == HN_OK) st = resource_check_def(def, err);
  if (st != HN_OK) return st;
  int64_t index;
  char *name_copy;
  st = slot_prepare(inputs, name, &index, &name_copy, err);
  if (st != HN_OK) return st;
  hn_resource *r = NULL;
  st = resource_create(&inputs->alloc, def, &r, err);
  if (st != HN_OK) {
    hn__free(&inputs->alloc, name_copy);
    return st;
  }
  slot_commit(inputs, index, name_copy, HN_INPUT_RESOURCE, NULL, 0, r);
  return HN_OK;
}

hn_status hn__inputs_clone(const hn_allocator *alloc, const hn_inputs *src, hn_inputs **out,
                           hn_error *err) {
  hn_status st = hn_inputs_create(alloc, out, err);
  for (int64_t i = 0; src && i < src->n && st == HN_OK; i++) {
    const hn_input *item = &src->items[i];
    int64_t index;
    char *name_copy;
    st = slot_prepare(*out, item->name, &index, &name_copy, err);
    if (st == HN_OK)
      slot_commit(*out, index, name_copy, item->kind, hn_array_retain(item->values), item->row,
                  hn__resource_retain(item->resource));
  }
  if (st != HN_OK) {
    hn_inputs_destroy(*out);
    *out = NULL;
  }
  return st;
}
