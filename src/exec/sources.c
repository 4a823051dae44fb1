/*
 * Where every plan input of a call gets its value: an explicit input (one
 * value, a mapped column, a column passed whole as one list value, or a
 * resource) or the bound default the plan names (type-checked when the plan
 * was compiled); each checked against the type its consumers declare, and
 * widened to it here, once per call, when that loses nothing (the coercion
 * rule of docs/data-model.md), so that every engine sees the declared type.
 */
#include <stdio.h>

#include "exec_internal.h"

static hn_status type_mismatch(const char *name, const char *what, const hn_type *expected,
                               const hn_type *actual, hn_error *err) {
  char e[128], g[128];
  hn_type_to_string(expected, e, sizeof e);
  hn_type_to_string(actual, g, sizeof g);
  return hn__error(err, HN_ETYPE,
                   "input '%s' has type %s, expected %s (%s; only lossless widening is applied)",
                   name, g, e, what);
}

/* Keep `array` (a reference taken) alive for the call. */
static hn_status add_temp(const hn_allocator *a, hn__sources *s, hn_array *array, hn_error *err) {
  hn_array **temps = hn__realloc(a, s->temps, sizeof *temps * (size_t)(s->n_temps + 1));
  if (!temps) {
    hn_array_release(array);
    return hn__error_nomem(err, "resolving inputs");
  }
  s->temps = temps;
  s->temps[s->n_temps++] = array;
  return HN_OK;
}

/* A CONST source: row `row` of `values` (borrowed). */
static void const_source(hn__src *src, hn_array *values, int64_t row) {
  src->kind = HN__SRC_CONST;
  src->type = values->type;
  src->value = hn_array_get(values, row);
  src->array = values;
  src->row = row;
}

/* A column not mapped over: one list value holding the whole column (kept in s->temps). */
static hn_status whole_column(const hn_allocator *a, hn__sources *s, hn_array *column, hn__src *src,
                              hn_error *err) {
  hn_array *list = NULL;
  hn_status st = hn__array_as_list(a, column, &list, err);
  if (st == HN_OK) st = add_temp(a, s, list, err);
  if (st == HN_OK) const_source(src, list, 0);
  return st;
}

/*
 * The values of `src` widened to `expected` (the column, or the one row of
 * a value), kept for the call; or HN_ETYPE naming the input, what it is
 * and both types when no lossless conversion exists.
 */
static hn_status coerce(const hn_allocator *a, hn__sources *s, const char *name,
                        const hn_type *expected, hn__src *src, hn_error *err) {
  const char *what = src->kind == HN__SRC_MAPPED ? "a mapped column" : "a value";
  if (!hn__cast_lossless(src->type, expected))
    return type_mismatch(name, what, expected, src->type, err);
  hn_array *from = NULL, *cast = NULL;
  hn_status st =
      src->kind == HN__SRC_MAPPED ? HN_OK : hn_array_slice(src->array, src->row, 1, &from, err);
  if (st == HN_OK)
    st = hn__array_cast(a, src->kind == HN__SRC_MAPPED ? src->column : from, expected, &cast, err);
  hn_array_release(from);
  if (st == HN_OK) st = add_temp(a, s, cast, err);
  if (st != HN_OK) {
    if (st == HN_ENOMEM || !err) return st;
    char msg[HN_ERROR_MESSAGE_MAX];
    memcpy(msg, err->message, sizeof msg);
    return hn__error(err, st, "input '%s' (%s): %s", name, what, msg);
  }
  if (src->kind == HN__SRC_MAPPED) {
    src->type = cast->type;
    src->column = cast;
  } else {
    const_source(src, cast, 0);
  }
  return HN_OK;
}

static hn_status resource_source(const hn_input *in, const char *name, const hn_type *expected,
                                 hn__src *src, hn_error *err) {
  src->kind = HN__SRC_RESOURCE;
  src->type = in->resource->type;
  src->resource = in->resource;
  if (!expected || expected->id == HN_TYPE_OBJECT) return HN_OK;
  char e[128];
  hn_type_to_string(expected, e, sizeof e);
  return hn__error(err, HN_ETYPE, "input '%s' is the resource '%s' (an object), expected %s", name,
                   in->resource->name, e);
}

/* Position of `name` in map_over, or -1. */
static int64_t map_over_index(const hn_run_options *o, const char *name) {
  for (int64_t m = 0; m < o->n_map_over; m++)
    if (strcmp(o->map_over[m], name) == 0) return m;
  return -1;
}

static hn_status resolve_input(const hn__sources_in *in, int64_t q, hn__sources *s, hn_error *err) {
  const hn_plan *plan = in->plan;
  const char *name = plan->input_names[q];
  const hn_type *expected = plan->slot_types[q];
  hn__src *src = &s->srcs[q];
  int64_t row = 0, i = hn__inputs_find(in->inputs, name);
  hn_array *bound = hn__plan_input_bound(plan, q, &row);
  if (bound) {
    const_source(src, bound, row);
  } else if (i < 0) {
    return hn__error(err, HN_EINTERNAL, "input '%s' has no value", name);
  } else {
    const hn_input *value = &in->inputs->items[i];
    int64_t m = map_over_index(in->options, name);
    if (value->kind == HN_INPUT_RESOURCE) return resource_source(value, name, expected, src, err);
    if (value->kind == HN_INPUT_VALUE) {
      const_source(src, value->values, value->row);
    } else if (m >= 0) {
      src->kind = HN__SRC_MAPPED;
      src->type = value->values->type;
      src->column = value->values;
      src->stride = in->over_stride[m];
      src->length = value->values->length;
    } else {
      hn_status st = whole_column(in->alloc, s, value->values, src, err);
      if (st != HN_OK) return st;
    }
  }
  if (expected && !hn_type_equals(expected, src->type))
    return coerce(in->alloc, s, name, expected, src, err);
  return HN_OK;
}

hn_status hn__sources_resolve(const hn__sources_in *in, hn__sources *out, hn_error *err) {
  const hn_plan *plan = in->plan;
  memset(out, 0, sizeof *out);
  out->srcs =
      hn__calloc(in->alloc, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *out->srcs);
  if (!out->srcs) return hn__error_nomem(err, "resolving inputs");
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    hn_status st = resolve_input(in, q, out, err);
    if (st != HN_OK) return st;
  }
  return HN_OK;
}

void hn__sources_free(const hn_allocator *a, hn__sources *s) {
  for (int64_t i = 0; i < s->n_temps; i++) hn_array_release(s->temps[i]);
  hn__free(a, s->temps);
  hn__free(a, s->srcs);
  memset(s, 0, sizeof *s);
}
