/*
 * Builders, the nested side: closing list and struct elements, appending a
 * datum of any type, rolling back partial appends, the live read-only view
 * engines read a node's outputs through, and the check that every nested
 * element a row call opened was closed.
 */
#include <stdio.h>

#include "builder_internal.h"

static bool is_list_like(hn__layout l) {
  return l == HN__L_LIST32 || l == HN__L_LIST64 || l == HN__L_FIXED_LIST;
}

/* Close one element of a list-like builder over the items appended since the last. */
static hn_status finish_list_element(hn_builder *b) {
  int64_t end = b->children[0]->length;
  if (b->layout == HN__L_FIXED_LIST) {
    int64_t want = (b->length + 1) * b->type->width;
    if (end != want) {
      char msg[160];
      snprintf(msg, sizeof msg, "fixed_size_list items: %lld appended, %lld expected",
               (long long)end, (long long)want);
      return hn__builder_fail(b, HN_EINVAL, "%s", msg);
    }
    return hn__builder_reserve_rows(b, 1);
  }
  if (b->layout == HN__L_LIST32 && end > INT32_MAX)
    return hn__builder_fail(b, HN_ERANGE, "%s", "list items exceed INT32_MAX");
  hn_status st = hn__builder_reserve_rows(b, 1);
  if (st == HN_OK) hn__builder_set_offset(b, b->length + 1, end);
  return st;
}

hn_status hn_builder_finish_element(hn_builder *b) {
  hn_status st;
  if (is_list_like(b->layout)) {
    st = finish_list_element(b);
  } else if (b->layout == HN__L_STRUCT) {
    for (int64_t i = 0; i < b->n_children; i++)
      if (b->children[i]->length != b->length + 1) {
        char msg[200];
        snprintf(msg, sizeof msg, "struct field '%s' has %lld rows, expected %lld",
                 b->type->names[i], (long long)b->children[i]->length, (long long)(b->length + 1));
        return hn__builder_fail(b, HN_EINVAL, "%s", msg);
      }
    st = hn__builder_reserve_rows(b, 1);
  } else {
    return hn__builder_wrong_type(b, "hn_builder_finish_element");
  }
  if (st != HN_OK) return st;
  hn__builder_mark_valid(b);
  b->length++;
  return HN_OK;
}

/*
 * Drop rows [len, length) again (rolling back a failed nested append);
 * objects in them are freed. Rows before `len` are untouched.
 */
void hn__builder_truncate(hn_builder *b, int64_t len) {
  if (len >= b->length) return;
  if (b->id == HN_TYPE_OBJECT && b->values) {
    const hn_object_vtable *vt = &b->type->vtable;
    void **objects = (void **)b->values->data;
    for (int64_t i = len; i < b->length; i++)
      if (objects[i]) vt->free(vt->ctx, objects[i]);
  }
  if (is_list_like(b->layout)) hn__builder_truncate(b->children[0], hn__builder_child_end(b, len));
  if (b->layout == HN__L_STRUCT)
    for (int64_t i = 0; i < b->n_children; i++) hn__builder_truncate(b->children[i], len);
  if ((b->layout == HN__L_VAR32 || b->layout == HN__L_VAR64) && b->data)
    b->data->size = hn__builder_offset(b, len);
  b->length = len;
  if (b->layout == HN__L_NULL)
    b->null_count = len;
  else
    b->null_count = b->validity ? len - hn_bits_count(b->validity->data, 0, len) : 0;
}

static hn_status append_list_datum(hn_builder *b, hn_list_view list) {
  /* A failure rolls the item builder back to `mark` (a failed append changes nothing). */
  int64_t mark = b->children[0]->length;
  hn_status st = HN_OK;
  for (int64_t i = 0; st == HN_OK && i < list.length; i++)
    st = hn_builder_append_datum(b->children[0], hn_list_view_get(list, i));
  if (st == HN_OK) st = hn_builder_finish_element(b);
  if (st != HN_OK) hn__builder_truncate(b->children[0], mark);
  return st;
}

static hn_status append_struct_datum(hn_builder *b, hn_struct_view view) {
  int64_t done = 0;
  hn_status st = HN_OK;
  for (; done < b->n_children; done++) {
    st = hn_builder_append_datum(b->children[done], hn_struct_view_field(view, done));
    if (st != HN_OK) break;
  }
  if (st == HN_OK) st = hn_builder_finish_element(b);
  /* Each field appended so far got exactly one row: take it back. */
  if (st != HN_OK)
    for (int64_t i = 0; i < done; i++)
      hn__builder_truncate(b->children[i], b->children[i]->length - 1);
  return st;
}

static hn_status append_object_datum(hn_builder *b, void *object) {
  const hn_object_vtable *vt = &b->type->vtable;
  if (!vt->copy)
    return hn__builder_fail(b, HN_EUNSUPPORTED, "%s", "object type has no copy function");
  void *copy = vt->copy(vt->ctx, object);
  if (!copy) return hn__builder_fail(b, HN_ENOMEM, "%s", "out of memory");
  hn_status st = hn_builder_append_object(b, copy);
  if (st != HN_OK) vt->free(vt->ctx, copy);
  return st;
}

/* The bytes hn_array_get stored a fixed-width datum in (its member's address). */
static const void *fixed_value(const hn_datum *d) {
  switch (d->type) {
    case HN_TYPE_DECIMAL256:
      return d->v.d256;
    case HN_TYPE_FIXED_SIZE_BINARY:
      return d->v.str.data;
    default:
      return &d->v; /* every other member starts the union */
  }
}

hn_status hn_builder_append_datum(hn_builder *b, hn_datum d) {
  if (d.type != b->id) return hn__builder_wrong_type(b, "hn_builder_append_datum");
  if (d.is_null || b->layout == HN__L_NULL) return hn_builder_append_null(b);
  switch (b->layout) {
    case HN__L_BITS:
      return hn_builder_append_bool(b, d.v.b);
    case HN__L_FIXED:
      if (d.type == HN_TYPE_FIXED_SIZE_BINARY && d.v.str.size != b->type->width)
        return hn_builder_append_str(b, d.v.str.data, d.v.str.size); /* fails, saying why */
      return hn_builder_append_values(b, fixed_value(&d), 1);
    case HN__L_VAR32:
    case HN__L_VAR64:
      return hn_builder_append_str(b, d.v.str.data, d.v.str.size);
    case HN__L_LIST32:
    case HN__L_LIST64:
    case HN__L_FIXED_LIST:
      return append_list_datum(b, d.v.list);
    case HN__L_STRUCT:
      return append_struct_datum(b, d.v.strct);
    case HN__L_OBJECT:
      return append_object_datum(b, d.v.object);
    case HN__L_NULL:
      break;
  }
  return hn__builder_wrong_type(b, "hn_builder_append_datum");
}

/* Rows child i should hold for the elements closed so far. */
static int64_t child_want(const hn_builder *b) {
  return b->layout == HN__L_STRUCT ? b->length : hn__builder_child_end(b, b->length);
}

/*
 * The first child, depth first, holding more or fewer values than the closed
 * elements account for: its path (names[0..*depth), at most 8 deep) and
 * counts. No string work unless one differs: this runs after every row call.
 */
static bool closed_rec(const hn_builder *b, const char **names, int *depth, int64_t *held,
                       int64_t *expected) {
  if (b->n_children == 0) return true;
  int at = *depth;
  for (int64_t i = 0; i < b->n_children; i++) {
    const hn_builder *c = b->children[i];
    int64_t want = child_want(b);
    *depth = at + 1;
    bool ok = c->length == want;
    if (!ok) {
      *held = c->length;
      *expected = want;
    } else {
      ok = closed_rec(c, names, depth, held, expected);
    }
    if (!ok) {
      if (at < 8) names[at] = b->layout == HN__L_STRUCT ? b->type->names[i] : "item";
      return false;
    }
  }
  *depth = at;
  return true;
}

bool hn__builder_nested_ok(const hn_builder *b) {
  for (int64_t i = 0; i < b->n_children; i++) {
    const hn_builder *c = b->children[i];
    if (c->length != child_want(b) || (c->n_children > 0 && !hn__builder_nested_ok(c)))
      return false;
  }
  return true;
}

bool hn__builder_closed(const hn_builder *b, char *where, size_t cap, int64_t *held,
                        int64_t *expected) {
  const char *names[8];
  int depth = 0;
  if (HN__LIKELY(closed_rec(b, names, &depth, held, expected))) return true;
  size_t n = strlen(where);
  for (int k = 0; k < depth && k < 8 && n < cap; k++) {
    int w = snprintf(where + n, cap - n, "%s%s", n ? "." : "", names[k]);
    if (w < 0) break;
    n += (size_t)w;
  }
  return false;
}

void hn__builder_rollback(hn_builder *b, int64_t len) {
  if (b->length > len) hn__builder_truncate(b, len);
  if (is_list_like(b->layout)) {
    hn__builder_rollback(b->children[0], hn__builder_child_end(b, len));
  } else if (b->layout == HN__L_STRUCT) {
    for (int64_t i = 0; i < b->n_children; i++) hn__builder_rollback(b->children[i], len);
  }
}
