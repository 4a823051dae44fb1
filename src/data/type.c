/* Logical types: static primitive singletons and ref-counted nested types. */
#include <stdio.h>
#include <stdlib.h>

#include "data_internal.h"

#define HN_STATIC_TYPE(id)                    \
  {                                           \
    -1, id, {0}, NULL, 0, NULL, NULL, NULL, { \
      0                                       \
    }                                         \
  }
static struct hn_type hn_static_bool = HN_STATIC_TYPE(HN_TYPE_BOOL);
static struct hn_type hn_static_int64 = HN_STATIC_TYPE(HN_TYPE_INT64);
static struct hn_type hn_static_float32 = HN_STATIC_TYPE(HN_TYPE_FLOAT32);
static struct hn_type hn_static_float64 = HN_STATIC_TYPE(HN_TYPE_FLOAT64);
static struct hn_type hn_static_utf8 = HN_STATIC_TYPE(HN_TYPE_UTF8);
static struct hn_type hn_static_binary = HN_STATIC_TYPE(HN_TYPE_BINARY);

const hn_type *hn_type_bool(void) {
  return &hn_static_bool;
}
const hn_type *hn_type_int64(void) {
  return &hn_static_int64;
}
const hn_type *hn_type_float32(void) {
  return &hn_static_float32;
}
const hn_type *hn_type_float64(void) {
  return &hn_static_float64;
}
const hn_type *hn_type_utf8(void) {
  return &hn_static_utf8;
}
const hn_type *hn_type_binary(void) {
  return &hn_static_binary;
}

const char *hn_type_id_name(hn_type_id id) {
  switch (id) {
    case HN_TYPE_BOOL:
      return "bool";
    case HN_TYPE_INT64:
      return "int64";
    case HN_TYPE_FLOAT32:
      return "float32";
    case HN_TYPE_FLOAT64:
      return "float64";
    case HN_TYPE_UTF8:
      return "utf8";
    case HN_TYPE_BINARY:
      return "binary";
    case HN_TYPE_LIST:
      return "list";
    case HN_TYPE_STRUCT:
      return "struct";
    case HN_TYPE_OBJECT:
      return "object";
  }
  return "unknown";
}

int hn__type_num_buffers(hn_type_id id) {
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

int hn__type_value_size(hn_type_id id) {
  switch (id) {
    case HN_TYPE_INT64:
    case HN_TYPE_FLOAT64:
      return 8;
    case HN_TYPE_FLOAT32:
      return 4;
    case HN_TYPE_OBJECT:
      return (int)sizeof(void *);
    default:
      return 0;
  }
}

int64_t hn__type_min_row_bits(const hn_type *type) {
  int64_t bits = 0;
  switch (type->id) {
    case HN_TYPE_BOOL:
      bits = 1;
      break;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
    case HN_TYPE_LIST:
      bits = 32;
      break;
    case HN_TYPE_STRUCT:
      for (int64_t i = 0; i < type->n_fields; i++) bits += hn__type_min_row_bits(type->fields[i]);
      break;
    default:
      bits = 8 * (int64_t)hn__type_value_size(type->id);
  }
  return bits > 0 ? bits : 1;
}

static hn_type *type_new(const hn_allocator *alloc, hn_type_id id) {
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_type *t = hn__calloc(&a, 1, sizeof *t);
  if (!t) return NULL;
  atomic_init(&t->refcount, 1);
  t->id = id;
  t->alloc = a;
  return t;
}

static void type_free(hn_type *t) {
  hn_type_release(t->item);
  for (int64_t i = 0; i < t->n_fields; i++) {
    if (t->names) hn__free(&t->alloc, t->names[i]);
    if (t->fields) hn_type_release(t->fields[i]);
  }
  hn__free(&t->alloc, t->names);
  hn__free(&t->alloc, (void *)t->fields);
  hn__free(&t->alloc, t->object_name);
  hn_allocator a = t->alloc;
  hn__free(&a, t);
}

hn_status hn_type_list_create(const hn_allocator *alloc, const hn_type *item, const hn_type **out,
                              hn_error *err) {
  if (!item || !out) return hn__error(err, HN_EINVAL, "hn_type_list_create: NULL argument");
  hn_type *t = type_new(alloc, HN_TYPE_LIST);
  if (!t) return hn__error_nomem(err, "for a list type");
  t->item = hn_type_retain(item);
  *out = t;
  return HN_OK;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Field names must be distinct: pairwise for few, sorted for many (untrusted schemas). */
static hn_status check_unique(const hn_allocator *alloc, int64_t n, const char *const *names,
                              hn_error *err) {
  if (n <= 32) {
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < i; j++)
        if (strcmp(names[i], names[j]) == 0)
          return hn__error(err, HN_EINVAL, "struct field name '%s' appears twice", names[i]);
    return HN_OK;
  }
  hn_allocator a = hn__allocator_resolve(alloc);
  const char **sorted = hn__calloc(&a, (size_t)n, sizeof(char *));
  if (!sorted) return hn__error_nomem(err, "checking struct field names");
  memcpy(sorted, names, sizeof(char *) * (size_t)n);
  qsort(sorted, (size_t)n, sizeof(char *), cmp_names);
  hn_status st = HN_OK;
  for (int64_t i = 1; i < n && st == HN_OK; i++)
    if (strcmp(sorted[i], sorted[i - 1]) == 0)
      st = hn__error(err, HN_EINVAL, "struct field name '%s' appears twice", sorted[i]);
  hn__free(&a, (void *)sorted);
  return st;
}

hn_status hn_type_struct_create(const hn_allocator *alloc, int64_t n_fields,
                                const char *const *names, const hn_type *const *types,
                                const hn_type **out, hn_error *err) {
  if (!out || n_fields < 0 || (n_fields > 0 && (!names || !types)))
    return hn__error(err, HN_EINVAL, "hn_type_struct_create: NULL argument or negative count");
  for (int64_t i = 0; i < n_fields; i++)
    if (!names[i] || !names[i][0] || !types[i])
      return hn__error(err, HN_EINVAL, "struct field %lld has a NULL or empty name or type",
                       (long long)i);
  hn_status st = check_unique(alloc, n_fields, names, err);
  if (st != HN_OK) return st;
  hn_type *t = type_new(alloc, HN_TYPE_STRUCT);
  if (!t) return hn__error_nomem(err, "for a struct type");
  t->names = hn__calloc(&t->alloc, (size_t)n_fields, sizeof(char *));
  t->fields = hn__calloc(&t->alloc, (size_t)n_fields, sizeof(hn_type *));
  if (!t->names || !t->fields) goto nomem;
  t->n_fields = n_fields;
  for (int64_t i = 0; i < n_fields; i++) {
    t->names[i] = hn__strdup(&t->alloc, names[i]);
    if (!t->names[i]) goto nomem;
    t->fields[i] = hn_type_retain(types[i]);
  }
  *out = t;
  return HN_OK;
nomem:
  type_free(t);
  return hn__error_nomem(err, "for a struct type");
}

hn_status hn_type_object_create(const hn_allocator *alloc, const char *name,
                                const hn_object_vtable *vtable, const hn_type **out,
                                hn_error *err) {
  if (!out || !name || !vtable || !vtable->free)
    return hn__error(err, HN_EINVAL,
                     "hn_type_object_create: name, vtable and vtable->free are required");
  hn_type *t = type_new(alloc, HN_TYPE_OBJECT);
  if (!t) return hn__error_nomem(err, "for an object type");
  t->object_name = hn__strdup(&t->alloc, name);
  if (!t->object_name) {
    type_free(t);
    return hn__error_nomem(err, "for an object type");
  }
  t->vtable = *vtable;
  *out = t;
  return HN_OK;
}

const hn_type *hn_type_retain(const hn_type *type) {
  hn_type *t = (hn_type *)type;
  if (t && atomic_load_explicit(&t->refcount, memory_order_relaxed) >= 0)
    atomic_fetch_add_explicit(&t->refcount, 1, memory_order_relaxed);
  return type;
}

void hn_type_release(const hn_type *type) {
  hn_type *t = (hn_type *)type;
  if (!t || atomic_load_explicit(&t->refcount, memory_order_relaxed) < 0) return;
  if (atomic_fetch_sub_explicit(&t->refcount, 1, memory_order_acq_rel) == 1) type_free(t);
}

hn_type_id hn_type_id_of(const hn_type *type) {
  return type ? type->id : (hn_type_id)0;
}
const hn_type *hn_type_list_item(const hn_type *type) {
  return type && type->id == HN_TYPE_LIST ? type->item : NULL;
}
int64_t hn_type_num_fields(const hn_type *type) {
  return type && type->id == HN_TYPE_STRUCT ? type->n_fields : 0;
}
const hn_type *hn_type_field_type(const hn_type *type, int64_t i) {
  return i >= 0 && i < hn_type_num_fields(type) ? type->fields[i] : NULL;
}
const char *hn_type_field_name(const hn_type *type, int64_t i) {
  return i >= 0 && i < hn_type_num_fields(type) ? type->names[i] : NULL;
}
int64_t hn_type_field_index(const hn_type *type, const char *name) {
  if (!name) return -1;
  for (int64_t i = 0; i < hn_type_num_fields(type); i++)
    if (strcmp(type->names[i], name) == 0) return i;
  return -1;
}
const hn_object_vtable *hn_type_object_vtable(const hn_type *type) {
  return type && type->id == HN_TYPE_OBJECT ? &type->vtable : NULL;
}

bool hn_type_equals(const hn_type *a, const hn_type *b) {
  if (a == b) return true;
  if (!a || !b || a->id != b->id) return false;
  switch (a->id) {
    case HN_TYPE_LIST:
      return hn_type_equals(a->item, b->item);
    case HN_TYPE_STRUCT:
      if (a->n_fields != b->n_fields) return false;
      for (int64_t i = 0; i < a->n_fields; i++)
        if (strcmp(a->names[i], b->names[i]) != 0 || !hn_type_equals(a->fields[i], b->fields[i]))
          return false;
      return true;
    case HN_TYPE_OBJECT:
      return a->vtable.free == b->vtable.free && a->vtable.copy == b->vtable.copy &&
             a->vtable.hash == b->vtable.hash && a->vtable.ctx == b->vtable.ctx &&
             strcmp(a->object_name, b->object_name) == 0;
    default:
      return true;
  }
}

bool hn_type_has_object(const hn_type *type) {
  if (!type) return false;
  if (type->id == HN_TYPE_OBJECT) return true;
  if (type->id == HN_TYPE_LIST) return hn_type_has_object(type->item);
  for (int64_t i = 0; i < hn_type_num_fields(type); i++)
    if (hn_type_has_object(type->fields[i])) return true;
  return false;
}
