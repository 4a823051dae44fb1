/* Logical types: static primitive singletons and ref-counted nested types. */
#include <stdio.h>
#include <stdlib.h>

#include "data_internal.h"

#define HN_STATIC_TYPE(name, tid) static struct hn_type name = {.refcount = -1, .id = tid}
HN_STATIC_TYPE(hn_static_bool, HN_TYPE_BOOL);
HN_STATIC_TYPE(hn_static_int64, HN_TYPE_INT64);
HN_STATIC_TYPE(hn_static_float32, HN_TYPE_FLOAT32);
HN_STATIC_TYPE(hn_static_float64, HN_TYPE_FLOAT64);
HN_STATIC_TYPE(hn_static_utf8, HN_TYPE_UTF8);
HN_STATIC_TYPE(hn_static_binary, HN_TYPE_BINARY);
HN_STATIC_TYPE(hn_static_null, HN_TYPE_NULL);
HN_STATIC_TYPE(hn_static_int8, HN_TYPE_INT8);
HN_STATIC_TYPE(hn_static_int16, HN_TYPE_INT16);
HN_STATIC_TYPE(hn_static_int32, HN_TYPE_INT32);
HN_STATIC_TYPE(hn_static_uint8, HN_TYPE_UINT8);
HN_STATIC_TYPE(hn_static_uint16, HN_TYPE_UINT16);
HN_STATIC_TYPE(hn_static_uint32, HN_TYPE_UINT32);
HN_STATIC_TYPE(hn_static_uint64, HN_TYPE_UINT64);
HN_STATIC_TYPE(hn_static_float16, HN_TYPE_FLOAT16);
HN_STATIC_TYPE(hn_static_date32, HN_TYPE_DATE32);
HN_STATIC_TYPE(hn_static_date64, HN_TYPE_DATE64);
HN_STATIC_TYPE(hn_static_ival_m, HN_TYPE_INTERVAL_MONTHS);
HN_STATIC_TYPE(hn_static_ival_dt, HN_TYPE_INTERVAL_DAY_TIME);
HN_STATIC_TYPE(hn_static_ival_mdn, HN_TYPE_INTERVAL_MONTH_DAY_NANO);
HN_STATIC_TYPE(hn_static_large_utf8, HN_TYPE_LARGE_UTF8);
HN_STATIC_TYPE(hn_static_large_binary, HN_TYPE_LARGE_BINARY);

#define HN_SINGLETON(fn, name) \
  const hn_type *fn(void) {    \
    return &name;              \
  }
HN_SINGLETON(hn_type_bool, hn_static_bool)
HN_SINGLETON(hn_type_int64, hn_static_int64)
HN_SINGLETON(hn_type_float32, hn_static_float32)
HN_SINGLETON(hn_type_float64, hn_static_float64)
HN_SINGLETON(hn_type_utf8, hn_static_utf8)
HN_SINGLETON(hn_type_binary, hn_static_binary)
HN_SINGLETON(hn_type_null, hn_static_null)
HN_SINGLETON(hn_type_int8, hn_static_int8)
HN_SINGLETON(hn_type_int16, hn_static_int16)
HN_SINGLETON(hn_type_int32, hn_static_int32)
HN_SINGLETON(hn_type_uint8, hn_static_uint8)
HN_SINGLETON(hn_type_uint16, hn_static_uint16)
HN_SINGLETON(hn_type_uint32, hn_static_uint32)
HN_SINGLETON(hn_type_uint64, hn_static_uint64)
HN_SINGLETON(hn_type_float16, hn_static_float16)
HN_SINGLETON(hn_type_date32, hn_static_date32)
HN_SINGLETON(hn_type_date64, hn_static_date64)
HN_SINGLETON(hn_type_interval_months, hn_static_ival_m)
HN_SINGLETON(hn_type_interval_day_time, hn_static_ival_dt)
HN_SINGLETON(hn_type_interval_month_day_nano, hn_static_ival_mdn)
HN_SINGLETON(hn_type_large_utf8, hn_static_large_utf8)
HN_SINGLETON(hn_type_large_binary, hn_static_large_binary)

/* Per type id: its name and (fixed width without parameters) value bytes. */
static const struct {
  const char *name;
  int width;
} k_ids[] = {
    [HN_TYPE_BOOL] = {"bool", 0},
    [HN_TYPE_INT64] = {"int64", 8},
    [HN_TYPE_FLOAT32] = {"float32", 4},
    [HN_TYPE_FLOAT64] = {"float64", 8},
    [HN_TYPE_UTF8] = {"utf8", 0},
    [HN_TYPE_BINARY] = {"binary", 0},
    [HN_TYPE_LIST] = {"list", 0},
    [HN_TYPE_STRUCT] = {"struct", 0},
    [HN_TYPE_OBJECT] = {"object", (int)sizeof(void *)},
    [HN_TYPE_NULL] = {"null", 0},
    [HN_TYPE_INT8] = {"int8", 1},
    [HN_TYPE_INT16] = {"int16", 2},
    [HN_TYPE_INT32] = {"int32", 4},
    [HN_TYPE_UINT8] = {"uint8", 1},
    [HN_TYPE_UINT16] = {"uint16", 2},
    [HN_TYPE_UINT32] = {"uint32", 4},
    [HN_TYPE_UINT64] = {"uint64", 8},
    [HN_TYPE_FLOAT16] = {"float16", 2},
    [HN_TYPE_DATE32] = {"date32", 4},
    [HN_TYPE_DATE64] = {"date64", 8},
    [HN_TYPE_TIME32] = {"time32", 4},
    [HN_TYPE_TIME64] = {"time64", 8},
    [HN_TYPE_TIMESTAMP] = {"timestamp", 8},
    [HN_TYPE_DURATION] = {"duration", 8},
    [HN_TYPE_INTERVAL_MONTHS] = {"interval_months", 4},
    [HN_TYPE_INTERVAL_DAY_TIME] = {"interval_day_time", 8},
    [HN_TYPE_INTERVAL_MONTH_DAY_NANO] = {"interval_month_day_nano", 16},
    [HN_TYPE_DECIMAL128] = {"decimal128", 16},
    [HN_TYPE_DECIMAL256] = {"decimal256", 32},
    [HN_TYPE_LARGE_UTF8] = {"large_utf8", 0},
    [HN_TYPE_LARGE_BINARY] = {"large_binary", 0},
    [HN_TYPE_FIXED_SIZE_BINARY] = {"fixed_size_binary", 0},
    [HN_TYPE_LARGE_LIST] = {"large_list", 0},
    [HN_TYPE_FIXED_SIZE_LIST] = {"fixed_size_list", 0},
    [HN_TYPE_MAP] = {"map", 0},
};

/* Per type id: its layout (hn__type_layout); 0 (HN__L_NULL) for ids with none. */
const uint8_t hn__id_layout[HN__TYPE_ID_LIMIT] = {
    [HN_TYPE_BOOL] = HN__L_BITS,
    [HN_TYPE_INT64] = HN__L_FIXED,
    [HN_TYPE_FLOAT32] = HN__L_FIXED,
    [HN_TYPE_FLOAT64] = HN__L_FIXED,
    [HN_TYPE_UTF8] = HN__L_VAR32,
    [HN_TYPE_BINARY] = HN__L_VAR32,
    [HN_TYPE_LIST] = HN__L_LIST32,
    [HN_TYPE_STRUCT] = HN__L_STRUCT,
    [HN_TYPE_OBJECT] = HN__L_OBJECT,
    [HN_TYPE_NULL] = HN__L_NULL,
    [HN_TYPE_INT8] = HN__L_FIXED,
    [HN_TYPE_INT16] = HN__L_FIXED,
    [HN_TYPE_INT32] = HN__L_FIXED,
    [HN_TYPE_UINT8] = HN__L_FIXED,
    [HN_TYPE_UINT16] = HN__L_FIXED,
    [HN_TYPE_UINT32] = HN__L_FIXED,
    [HN_TYPE_UINT64] = HN__L_FIXED,
    [HN_TYPE_FLOAT16] = HN__L_FIXED,
    [HN_TYPE_DATE32] = HN__L_FIXED,
    [HN_TYPE_DATE64] = HN__L_FIXED,
    [HN_TYPE_TIME32] = HN__L_FIXED,
    [HN_TYPE_TIME64] = HN__L_FIXED,
    [HN_TYPE_TIMESTAMP] = HN__L_FIXED,
    [HN_TYPE_DURATION] = HN__L_FIXED,
    [HN_TYPE_INTERVAL_MONTHS] = HN__L_FIXED,
    [HN_TYPE_INTERVAL_DAY_TIME] = HN__L_FIXED,
    [HN_TYPE_INTERVAL_MONTH_DAY_NANO] = HN__L_FIXED,
    [HN_TYPE_DECIMAL128] = HN__L_FIXED,
    [HN_TYPE_DECIMAL256] = HN__L_FIXED,
    [HN_TYPE_LARGE_UTF8] = HN__L_VAR64,
    [HN_TYPE_LARGE_BINARY] = HN__L_VAR64,
    [HN_TYPE_FIXED_SIZE_BINARY] = HN__L_FIXED,
    [HN_TYPE_LARGE_LIST] = HN__L_LIST64,
    [HN_TYPE_FIXED_SIZE_LIST] = HN__L_FIXED_LIST,
    [HN_TYPE_MAP] = HN__L_LIST32,
};
#define N_IDS ((int)(sizeof k_ids / sizeof k_ids[0]))
_Static_assert(N_IDS <= HN__TYPE_ID_LIMIT, "hn__id_layout holds every type id");

static bool known_id(hn_type_id id) {
  return (int)id > 0 && (int)id < N_IDS && k_ids[id].name;
}

const char *hn_type_id_name(hn_type_id id) {
  return known_id(id) ? k_ids[id].name : "unknown";
}

int hn__type_num_buffers(hn_type_id id) {
  switch (hn__type_layout(id)) {
    case HN__L_NULL:
      return 0;
    case HN__L_VAR32:
    case HN__L_VAR64:
      return 3;
    case HN__L_STRUCT:
    case HN__L_FIXED_LIST:
      return 1;
    default:
      return 2;
  }
}

int hn__type_value_size(hn_type_id id) {
  return known_id(id) && hn__id_layout[id] != HN__L_BITS ? k_ids[id].width : 0;
}

int64_t hn__type_width(const hn_type *type) {
  if (type->id == HN_TYPE_FIXED_SIZE_BINARY) return type->width;
  return hn__type_value_size(type->id);
}

bool hn__type_has_offsets(hn_type_id id) {
  hn__layout l = hn__type_layout(id);
  return l == HN__L_VAR32 || l == HN__L_VAR64 || l == HN__L_LIST32 || l == HN__L_LIST64;
}

bool hn__type_is_nested(hn_type_id id) {
  hn__layout l = hn__type_layout(id);
  return l == HN__L_LIST32 || l == HN__L_LIST64 || l == HN__L_FIXED_LIST || l == HN__L_STRUCT;
}

int64_t hn__type_num_children(const hn_type *type) {
  if (type->id == HN_TYPE_STRUCT) return type->n_fields;
  return hn__type_is_nested(type->id) ? 1 : 0;
}

const hn_type *hn__type_child(const hn_type *type, int64_t i) {
  return type->id == HN_TYPE_STRUCT ? type->fields[i] : type->item;
}

int64_t hn__type_min_row_bits(const hn_type *type) {
  int64_t bits = 0;
  switch (hn__type_layout(type->id)) {
    case HN__L_BITS:
    case HN__L_NULL:
      bits = 1;
      break;
    case HN__L_VAR32:
    case HN__L_LIST32:
      bits = 32;
      break;
    case HN__L_VAR64:
    case HN__L_LIST64:
      bits = 64;
      break;
    case HN__L_FIXED_LIST:
      bits = hn__type_min_row_bits(type->item);
      bits = bits > INT64_MAX / type->width ? INT64_MAX : bits * type->width;
      break;
    case HN__L_STRUCT:
      for (int64_t i = 0; i < type->n_fields; i++) bits += hn__type_min_row_bits(type->fields[i]);
      break;
    default: {
      int64_t w = hn__type_width(type);
      bits = w > INT64_MAX / 8 ? INT64_MAX : 8 * w;
    }
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
  hn__free(&t->alloc, t->tz);
  hn_allocator a = t->alloc;
  hn__free(&a, t);
}

static hn_status item_type(const hn_allocator *alloc, hn_type_id id, const hn_type *item,
                           int32_t width, const hn_type **out, hn_error *err) {
  hn_type *t = type_new(alloc, id);
  if (!t) return hn__error_nomem(err, "for a type");
  t->item = hn_type_retain(item);
  t->width = width;
  *out = t;
  return HN_OK;
}

hn_status hn_type_list_create(const hn_allocator *alloc, const hn_type *item, const hn_type **out,
                              hn_error *err) {
  if (!item || !out) return hn__error(err, HN_EINVAL, "hn_type_list_create: NULL argument");
  return item_type(alloc, HN_TYPE_LIST, item, 0, out, err);
}

hn_status hn_type_large_list_create(const hn_allocator *alloc, const hn_type *item,
                                    const hn_type **out, hn_error *err) {
  if (!item || !out) return hn__error(err, HN_EINVAL, "hn_type_large_list_create: NULL argument");
  return item_type(alloc, HN_TYPE_LARGE_LIST, item, 0, out, err);
}

hn_status hn_type_fixed_size_list_create(const hn_allocator *alloc, const hn_type *item,
                                         int32_t size, const hn_type **out, hn_error *err) {
  if (!item || !out)
    return hn__error(err, HN_EINVAL, "hn_type_fixed_size_list_create: NULL argument");
  if (size < 1)
    return hn__error(err, HN_EINVAL, "fixed_size_list size %d: must be at least 1", (int)size);
  return item_type(alloc, HN_TYPE_FIXED_SIZE_LIST, item, size, out, err);
}

hn_status hn_type_map_create(const hn_allocator *alloc, const hn_type *key, const hn_type *value,
                             const hn_type **out, hn_error *err) {
  if (!key || !value || !out) return hn__error(err, HN_EINVAL, "hn_type_map_create: NULL argument");
  const char *names[2] = {"key", "value"};
  const hn_type *types[2] = {key, value}, *entries = NULL;
  hn_status st = hn_type_struct_create(alloc, 2, names, types, &entries, err);
  if (st != HN_OK) return st;
  st = item_type(alloc, HN_TYPE_MAP, entries, 0, out, err);
  hn_type_release(entries);
  return st;
}

hn_status hn_type_fixed_size_binary_create(const hn_allocator *alloc, int32_t width,
                                           const hn_type **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_type_fixed_size_binary_create: NULL output");
  if (width < 1)
    return hn__error(err, HN_EINVAL, "fixed_size_binary width %d: must be at least 1", (int)width);
  return item_type(alloc, HN_TYPE_FIXED_SIZE_BINARY, NULL, width, out, err);
}

hn_status hn_type_decimal_create(const hn_allocator *alloc, hn_type_id id, int32_t precision,
                                 int32_t scale, const hn_type **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_type_decimal_create: NULL output");
  int32_t max = id == HN_TYPE_DECIMAL128 ? 38 : id == HN_TYPE_DECIMAL256 ? 76 : 0;
  if (!max)
    return hn__error(err, HN_EINVAL, "hn_type_decimal_create: %s is not a decimal type",
                     hn_type_id_name(id));
  if (precision < 1 || precision > max || scale > precision)
    return hn__error(err, HN_EINVAL, "%s(%d, %d): precision must be 1 to %d, scale at most it",
                     hn_type_id_name(id), (int)precision, (int)scale, (int)max);
  hn_type *t = type_new(alloc, id);
  if (!t) return hn__error_nomem(err, "for a decimal type");
  t->precision = precision;
  t->scale = scale;
  *out = t;
  return HN_OK;
}

static bool unit_fits(hn_type_id id, hn_time_unit unit) {
  if ((unsigned)unit > HN_UNIT_NANO) return false;
  if (id == HN_TYPE_TIME32) return unit == HN_UNIT_SECOND || unit == HN_UNIT_MILLI;
  if (id == HN_TYPE_TIME64) return unit == HN_UNIT_MICRO || unit == HN_UNIT_NANO;
  return id == HN_TYPE_TIMESTAMP || id == HN_TYPE_DURATION;
}

hn_status hn_type_temporal_create(const hn_allocator *alloc, hn_type_id id, hn_time_unit unit,
                                  const char *timezone, const hn_type **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_type_temporal_create: NULL output");
  if (!unit_fits(id, unit))
    return hn__error(err, HN_EINVAL, "hn_type_temporal_create: %s does not take unit %d",
                     hn_type_id_name(id), (int)unit);
  if (timezone && timezone[0] && id != HN_TYPE_TIMESTAMP)
    return hn__error(err, HN_EINVAL, "only a timestamp has a time zone, not %s",
                     hn_type_id_name(id));
  if (timezone && strlen(timezone) > 255)
    return hn__error(err, HN_EINVAL, "time zone longer than 255 bytes");
  hn_type *t = type_new(alloc, id);
  if (!t) return hn__error_nomem(err, "for a type");
  t->unit = unit;
  if (timezone && timezone[0] && !(t->tz = hn__strdup(&t->alloc, timezone))) {
    type_free(t);
    return hn__error_nomem(err, "for a timestamp type");
  }
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
  return type && hn__type_is_nested(type->id) && type->id != HN_TYPE_STRUCT ? type->item : NULL;
}
static bool has_unit(const hn_type *t) {
  return t && (t->id == HN_TYPE_TIME32 || t->id == HN_TYPE_TIME64 || t->id == HN_TYPE_TIMESTAMP ||
               t->id == HN_TYPE_DURATION);
}
hn_time_unit hn_type_time_unit(const hn_type *type) {
  return has_unit(type) ? type->unit : HN_UNIT_SECOND;
}
const char *hn_type_timezone(const hn_type *type) {
  return type && type->id == HN_TYPE_TIMESTAMP ? type->tz : NULL;
}
static bool is_decimal(const hn_type *t) {
  return t && (t->id == HN_TYPE_DECIMAL128 || t->id == HN_TYPE_DECIMAL256);
}
int32_t hn_type_decimal_precision(const hn_type *type) {
  return is_decimal(type) ? type->precision : 0;
}
int32_t hn_type_decimal_scale(const hn_type *type) {
  return is_decimal(type) ? type->scale : 0;
}
int32_t hn_type_fixed_size(const hn_type *type) {
  return type && (type->id == HN_TYPE_FIXED_SIZE_BINARY || type->id == HN_TYPE_FIXED_SIZE_LIST)
             ? type->width
             : 0;
}
const hn_type *hn_type_map_key(const hn_type *type) {
  return type && type->id == HN_TYPE_MAP ? type->item->fields[0] : NULL;
}
const hn_type *hn_type_map_value(const hn_type *type) {
  return type && type->id == HN_TYPE_MAP ? type->item->fields[1] : NULL;
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
  if (a->unit != b->unit || a->precision != b->precision || a->scale != b->scale ||
      a->width != b->width || (a->tz == NULL) != (b->tz == NULL) ||
      (a->tz && strcmp(a->tz, b->tz) != 0))
    return false;
  switch (a->id) {
    case HN_TYPE_LIST:
    case HN_TYPE_LARGE_LIST:
    case HN_TYPE_FIXED_SIZE_LIST:
    case HN_TYPE_MAP:
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
  if (type->item) return hn_type_has_object(type->item);
  for (int64_t i = 0; i < hn_type_num_fields(type); i++)
    if (hn_type_has_object(type->fields[i])) return true;
  return false;
}
