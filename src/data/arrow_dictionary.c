/*
 * Dictionary-encoded export: a column's distinct values, in order of first
 * appearance, become the dictionary, and int32 indices point into it. Found
 * with an open-addressing hash table over the values' bytes (XXH3), probed
 * linearly; equal hashes are confirmed by comparing the bytes.
 */
#include "arrow_internal.h"

static bool encodable(hn__layout l) {
  return l == HN__L_VAR32 || l == HN__L_VAR64 || l == HN__L_FIXED;
}

/* The bytes of valid row i of a variable-size or fixed-width array. */
static hn_str bytes_of(const hn_array *a, int64_t i) {
  if (hn__type_layout(a->type->id) == HN__L_FIXED) {
    int64_t w = hn__type_width(a->type);
    hn_str s = {(const char *)a->buffers[1]->data + (a->offset + i) * w, w};
    return s;
  }
  return hn_array_get(a, i).v.str;
}

static bool same(hn_str x, hn_str y) {
  return x.size == y.size && (x.size == 0 || memcmp(x.data, y.data, (size_t)x.size) == 0);
}

typedef struct dict_table {
  int64_t cap;     /* a power of two, at least twice the rows */
  int64_t *slots;  /* first row holding the value + 1; 0: empty */
  int32_t *codes;  /* the value's index in the dictionary, per slot */
  int64_t *firsts; /* first row of each dictionary value, in order */
  int64_t n;       /* dictionary values so far */
} dict_table;

/* The dictionary index of valid row i, adding its value when new. */
static int32_t code_of(dict_table *t, const hn_array *a, int64_t i) {
  hn_str v = bytes_of(a, i);
  uint64_t h = hn_hash_bytes(v.data, (size_t)v.size, 0);
  for (int64_t k = (int64_t)(h & (uint64_t)(t->cap - 1));; k = (k + 1) & (t->cap - 1)) {
    if (t->slots[k] == 0) {
      t->slots[k] = i + 1;
      t->codes[k] = (int32_t)t->n;
      t->firsts[t->n] = i;
      return (int32_t)t->n++;
    }
    if (same(bytes_of(a, t->slots[k] - 1), v)) return t->codes[k];
  }
}

/* indices (int32) and dict for `a`. */
static hn_status encode(const hn_allocator *alloc, const hn_array *a, hn_array **indices,
                        hn_array **dict, hn_error *err) {
  dict_table t = {16, NULL, NULL, NULL, 0};
  while (t.cap < 2 * a->length) t.cap *= 2;
  t.slots = hn__calloc(alloc, (size_t)t.cap, sizeof *t.slots);
  t.codes = hn__calloc(alloc, (size_t)t.cap, sizeof *t.codes);
  t.firsts = hn__calloc(alloc, (size_t)(a->length ? a->length : 1), sizeof *t.firsts);
  hn_builder *b = NULL;
  hn_status st =
      t.slots && t.codes && t.firsts ? HN_OK : hn__error_nomem(err, "dictionary-encoding");
  if (st == HN_OK) st = hn_builder_create(alloc, hn_type_int32(), &b, err);
  if (st == HN_OK && hn_builder_reserve(b, a->length) != HN_OK)
    st = hn__error(err, HN_ERANGE, "dictionary-encoding: %s", hn_builder_last_error(b));
  for (int64_t i = 0; st == HN_OK && i < a->length; i++) {
    st = hn_array_is_null(a, i) ? hn_builder_append_null(b)
                                : hn_builder_append_int(b, code_of(&t, a, i));
    if (st != HN_OK) st = hn__error(err, st, "dictionary-encoding: %s", hn_builder_last_error(b));
  }
  if (st == HN_OK) st = hn_builder_finish(b, indices, err);
  if (st == HN_OK) {
    st = hn__array_take(alloc, a->type, a, t.firsts, NULL, t.n, dict, err);
    if (st != HN_OK) hn_array_release(*indices);
  }
  hn_builder_destroy(b);
  hn__free(alloc, t.slots);
  hn__free(alloc, t.codes);
  hn__free(alloc, t.firsts);
  return st;
}

hn_status hn_array_export_dictionary(const hn_array *array, struct ArrowSchema *schema_out,
                                     struct ArrowArray *array_out, hn_error *err) {
  if (schema_out) schema_out->release = NULL;
  if (!array_out) return hn__error(err, HN_EINVAL, "hn_array_export_dictionary: NULL output");
  array_out->release = NULL;
  if (!array) return hn__error(err, HN_EINVAL, "hn_array_export_dictionary: NULL array");
  if (!encodable(hn__type_layout(array->type->id)) || array->type->id == HN_TYPE_OBJECT) {
    char t[128];
    hn_type_to_string(array->type, t, sizeof t);
    return hn__error(err, HN_EUNSUPPORTED,
                     "hn_array_export_dictionary: %s columns cannot be dictionary-encoded (only "
                     "strings, binaries and fixed-width types other than bool)",
                     t);
  }
  hn_array *indices = NULL, *dict = NULL;
  hn_status st = encode(&array->alloc, array, &indices, &dict, err);
  if (st == HN_OK) st = hn__export_dictionary_encoded(indices, dict, schema_out, array_out, err);
  hn_array_release(indices); /* the export holds its own references */
  hn_array_release(dict);
  return st;
}
