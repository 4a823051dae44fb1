/*
 * Structural validation of arrays: every invariant a reader relies on, checked
 * in an order such that nothing is read before the sizes guarding it are
 * known to be sufficient (validity and offsets first, bytes last).
 */
#include <stdio.h>

#include "arrow_internal.h"

/* ---- column paths and messages ---------------------------------------- */

void hn__column_path_child(char *dst, size_t cap, const char *parent, const char *field) {
  if (!parent) parent = "";
  int n;
  if (!field)
    n = snprintf(dst, cap, "%s[]", parent);
  else if (!parent[0])
    n = snprintf(dst, cap, "%s", field);
  else
    n = snprintf(dst, cap, "%s.%s", parent, field);
  (void)n; /* truncation is acceptable: the path only labels messages */
}

hn_status hn__column_error(hn_error *err, hn_status code, const char *path, const char *fmt, ...) {
  if (!err) return code;
  char msg[HN_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (!path || !path[0]) return hn__error(err, code, "array: %s", msg);
  return hn__error(err, code, "column '%s': %s", path, msg);
}

/* ---- UTF-8 ------------------------------------------------------------- */

static bool is_cont(uint8_t c) {
  return (c & 0xC0) == 0x80;
}

/*
 * Index of the first byte of the first invalid sequence in s[0, n), or n when
 * all of it is valid UTF-8 (no overlongs, surrogates, code points above
 * U+10FFFF or truncated sequences). ASCII is skipped eight bytes at a time.
 */
static size_t utf8_invalid_at(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      uint64_t w;
      memcpy(&w, s + i, 8);
      if (!(w & UINT64_C(0x8080808080808080))) {
        i += 8;
        continue;
      }
    }
    uint8_t c = s[i];
    if (c < 0x80) {
      i++;
    } else if (c < 0xC2) { /* stray continuation byte, or overlong C0/C1 lead */
      return i;
    } else if (c < 0xE0) {
      if (i + 1 >= n || !is_cont(s[i + 1])) return i;
      i += 2;
    } else if (c < 0xF0) {
      if (i + 2 >= n || !is_cont(s[i + 1]) || !is_cont(s[i + 2])) return i;
      if (c == 0xE0 && s[i + 1] < 0xA0) return i;  /* overlong */
      if (c == 0xED && s[i + 1] >= 0xA0) return i; /* UTF-16 surrogate */
      i += 3;
    } else if (c < 0xF5) {
      if (i + 3 >= n || !is_cont(s[i + 1]) || !is_cont(s[i + 2]) || !is_cont(s[i + 3])) return i;
      if (c == 0xF0 && s[i + 1] < 0x90) return i;  /* overlong */
      if (c == 0xF4 && s[i + 1] >= 0x90) return i; /* above U+10FFFF */
      i += 4;
    } else {
      return i;
    }
  }
  return n;
}

/* Per-row check of valid rows, which names the first bad row. */
static hn_status utf8_rows(const hn_array *a, const int32_t *off, const uint8_t *data,
                           const char *path, hn_error *err) {
  const uint8_t *validity = a->buffers[0] ? a->buffers[0]->data : NULL;
  for (int64_t i = 0; i < a->length; i++) {
    if (validity && !hn_bit_get(validity, a->offset + i)) continue;
    size_t len = (size_t)(off[i + 1] - off[i]);
    size_t bad = utf8_invalid_at(data + off[i], len);
    if (bad < len)
      return hn__column_error(err, HN_ECORRUPT, path, "invalid UTF-8 in row %lld at byte %zu",
                              (long long)i, bad);
  }
  return HN_OK;
}

/*
 * Without nulls, validate all the bytes in one pass, then check that no row
 * starts inside a character: together these prove every row valid. The
 * per-row pass runs only with nulls (their bytes are unspecified) or to name
 * the row after a failure. Offsets are already known to be in bounds.
 */
static hn_status validate_utf8(const hn_array *a, const int32_t *off, const uint8_t *data,
                               const char *path, hn_error *err) {
  if (a->null_count > 0) return utf8_rows(a, off, data, path, err);
  size_t begin = (size_t)off[0], end = (size_t)off[a->length];
  bool ok = utf8_invalid_at(data + begin, end - begin) == end - begin;
  for (int64_t i = 1; ok && i < a->length; i++)
    if ((size_t)off[i] < end && is_cont(data[off[i]])) ok = false;
  if (ok) return HN_OK;
  return utf8_rows(a, off, data, path, err);
}

/* ---- buffers ----------------------------------------------------------- */

/* Buffer `i` must exist and hold at least `need` bytes. */
static hn_status need_buffer(const hn_array *a, int i, int64_t need, const char *what,
                             const char *path, hn_error *err) {
  const hn_buffer *b = a->buffers[i];
  if (!b) return hn__column_error(err, HN_ECORRUPT, path, "missing %s buffer", what);
  if (b->size < need)
    return hn__column_error(err, HN_ECORRUPT, path,
                            "%s buffer too small: %lld bytes, %lld needed for offset %lld + "
                            "length %lld",
                            what, (long long)b->size, (long long)need, (long long)a->offset,
                            (long long)a->length);
  if (need > 0 && !b->data)
    return hn__column_error(err, HN_ECORRUPT, path, "%s buffer has no data", what);
  return HN_OK;
}

/* Fixed-width values of `width` bytes: width * (offset + length) bytes. */
static hn_status check_fixed(const hn_array *a, int64_t end, int64_t width, const char *path,
                             hn_error *err) {
  if (end > INT64_MAX / width)
    return hn__column_error(err, HN_ECORRUPT, path, "offset + length %lld too large",
                            (long long)end);
  return need_buffer(a, 1, end * width, "values", path, err);
}

/* Offset i of an array with int32 or int64 offsets (`wide`), from physical row 0. */
static int64_t offset_at(const hn_array *a, bool wide, int64_t i) {
  const void *p = a->buffers[1]->data;
  return wide ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
}

static bool wide_offsets(hn_type_id id) {
  hn__layout l = hn__type_layout(id);
  return l == HN__L_VAR64 || l == HN__L_LIST64;
}

/*
 * Offsets: offset + length + 1 entries (int32, or int64 for the large
 * layouts), first >= 0, non-decreasing, last <= limit (bytes of data, or
 * rows of the list's child).
 */
static hn_status check_offsets(const hn_array *a, int64_t end, int64_t limit,
                               const char *limit_what, const char *path, hn_error *err) {
  bool wide = wide_offsets(a->type->id);
  int64_t w = wide ? 8 : 4;
  if (end >= INT64_MAX / 8 - 1)
    return hn__column_error(err, HN_ECORRUPT, path, "offset + length %lld too large",
                            (long long)end);
  hn_status st = need_buffer(a, 1, (end + 1) * w, "offsets", path, err);
  if (st != HN_OK) return st;
  int64_t first = offset_at(a, wide, a->offset), last = offset_at(a, wide, end);
  if (first < 0)
    return hn__column_error(err, HN_ECORRUPT, path, "first offset %lld is negative",
                            (long long)first);
  bool bad = false;
  if (wide) {
    const int64_t *off = (const int64_t *)(const void *)a->buffers[1]->data + a->offset;
    for (int64_t i = 0; i < a->length; i++) bad |= off[i + 1] < off[i];
  } else {
    const int32_t *off = (const int32_t *)(const void *)a->buffers[1]->data + a->offset;
    for (int64_t i = 0; i < a->length; i++) bad |= off[i + 1] < off[i];
  }
  for (int64_t i = 1; bad && i <= a->length; i++) {
    int64_t prev = offset_at(a, wide, a->offset + i - 1), cur = offset_at(a, wide, a->offset + i);
    if (cur < prev)
      return hn__column_error(err, HN_ECORRUPT, path,
                              "offsets not monotonic at index %lld (%lld > %lld)", (long long)i,
                              (long long)prev, (long long)cur);
  }
  if (last > limit)
    return hn__column_error(err, HN_ECORRUPT, path, "last offset %lld exceeds the %s (%lld)",
                            (long long)last, limit_what, (long long)limit);
  return HN_OK;
}

/* UTF-8 of each valid row of a large_utf8 array (offsets known in bounds). */
static hn_status utf8_rows64(const hn_array *a, const uint8_t *data, const char *path,
                             hn_error *err) {
  const int64_t *off = (const int64_t *)(const void *)a->buffers[1]->data + a->offset;
  const uint8_t *validity = a->buffers[0] ? a->buffers[0]->data : NULL;
  for (int64_t i = 0; i < a->length; i++) {
    if (validity && !hn_bit_get(validity, a->offset + i)) continue;
    size_t len = (size_t)(off[i + 1] - off[i]);
    size_t bad = utf8_invalid_at(data + off[i], len);
    if (bad < len)
      return hn__column_error(err, HN_ECORRUPT, path, "invalid UTF-8 in row %lld at byte %zu",
                              (long long)i, bad);
  }
  return HN_OK;
}

/* ---- nodes ------------------------------------------------------------- */

static hn_status validate_node(const hn_array *a, bool utf8, const char *path, hn_error *err);

static hn_status check_child(const hn_array *a, int64_t i, const hn_type *type, const char *field,
                             bool utf8, const char *path, hn_error *err) {
  char child_path[HN__COLUMN_PATH_MAX];
  hn__column_path_child(child_path, sizeof child_path, path, field);
  const hn_array *c = a->children[i];
  if (!c) return hn__column_error(err, HN_ECORRUPT, child_path, "missing child array");
  if (!hn_type_equals(c->type, type)) {
    char want[128], got[128];
    hn_type_to_string(type, want, sizeof want);
    hn_type_to_string(c->type, got, sizeof got);
    return hn__column_error(err, HN_ECORRUPT, child_path, "child has type %s, expected %s", got,
                            want);
  }
  return validate_node(c, utf8, child_path, err);
}

static hn_status check_children_count(const hn_array *a, int64_t want, const char *path,
                                      hn_error *err) {
  if (a->n_children != want)
    return hn__column_error(err, HN_ECORRUPT, path, "%lld children, the type needs %lld",
                            (long long)a->n_children, (long long)want);
  if (want > 0 && !a->children) return hn__column_error(err, HN_ECORRUPT, path, "missing children");
  return HN_OK;
}

static hn_status check_validity(const hn_array *a, int64_t end, const char *path, hn_error *err) {
  if (a->null_count < 0 || a->null_count > a->length)
    return hn__column_error(err, HN_ECORRUPT, path, "null_count %lld out of range [0, %lld]",
                            (long long)a->null_count, (long long)a->length);
  if (!a->buffers[0]) {
    if (a->null_count != 0)
      return hn__column_error(err, HN_ECORRUPT, path, "null_count %lld without a validity bitmap",
                              (long long)a->null_count);
    return HN_OK;
  }
  hn_status st = need_buffer(a, 0, hn_bytes_for_bits(end), "validity", path, err);
  if (st != HN_OK || a->length == 0) return st;
  int64_t nulls = a->length - hn_bits_count(a->buffers[0]->data, a->offset, a->length);
  if (nulls != a->null_count)
    return hn__column_error(err, HN_ECORRUPT, path,
                            "null_count %lld does not match the validity bitmap (%lld nulls)",
                            (long long)a->null_count, (long long)nulls);
  return HN_OK;
}

static hn_status check_binary(const hn_array *a, int64_t end, bool utf8, const char *path,
                              hn_error *err) {
  if (!a->buffers[2]) return hn__column_error(err, HN_ECORRUPT, path, "missing data buffer");
  int64_t size = a->buffers[2]->size;
  if (size > 0 && !a->buffers[2]->data)
    return hn__column_error(err, HN_ECORRUPT, path, "data buffer has no data");
  hn_status st = check_offsets(a, end, size, "data buffer size", path, err);
  hn_type_id id = a->type->id;
  if (st != HN_OK || !utf8 || (id != HN_TYPE_UTF8 && id != HN_TYPE_LARGE_UTF8) || a->length == 0)
    return st;
  const uint8_t *data = a->buffers[2]->data;
  if (!data) return HN_OK; /* size 0: every row is empty */
  if (id == HN_TYPE_LARGE_UTF8) return utf8_rows64(a, data, path, err);
  return validate_utf8(a, (const int32_t *)a->buffers[1]->data + a->offset, data, path, err);
}

/* A map's entries and keys are never null (as Arrow requires). */
static hn_status check_map_entries(const hn_array *a, const char *path, hn_error *err) {
  const hn_array *e = a->children[0];
  char child_path[HN__COLUMN_PATH_MAX];
  hn__column_path_child(child_path, sizeof child_path, path, NULL);
  if (e->null_count != 0)
    return hn__column_error(err, HN_ECORRUPT, child_path, "map entries hold %lld nulls",
                            (long long)e->null_count);
  if (e->length > 0 && e->n_children == 2 && e->children[0]) {
    const hn_array *k = e->children[0];
    const uint8_t *v = k->buffers[0] ? k->buffers[0]->data : NULL;
    int64_t at = k->offset + e->offset;
    if (k->type->id == HN_TYPE_NULL || (v && hn_bits_count(v, at, e->length) != e->length))
      return hn__column_error(err, HN_ECORRUPT, child_path, "a map key is null");
  }
  return HN_OK;
}

static hn_status check_list(const hn_array *a, int64_t end, bool utf8, const char *path,
                            hn_error *err) {
  hn_status st = check_children_count(a, 1, path, err);
  if (st != HN_OK) return st;
  if (a->children[0] && a->type->id == HN_TYPE_FIXED_SIZE_LIST) {
    int64_t w = a->type->width;
    if (end > INT64_MAX / w || a->children[0]->length < end * w)
      return hn__column_error(err, HN_ECORRUPT, path,
                              "fixed_size_list of %d needs %lld items for offset %lld + length "
                              "%lld, the child has %lld",
                              (int)w, end > INT64_MAX / w ? -1LL : (long long)(end * w),
                              (long long)a->offset, (long long)a->length,
                              (long long)a->children[0]->length);
  } else if (a->children[0]) {
    st = check_offsets(a, end, a->children[0]->length, "child length", path, err);
    if (st != HN_OK) return st;
  }
  st = check_child(a, 0, a->type->item, NULL, utf8, path, err);
  if (st == HN_OK && a->type->id == HN_TYPE_MAP) st = check_map_entries(a, path, err);
  return st;
}

static hn_status check_struct(const hn_array *a, int64_t end, bool utf8, const char *path,
                              hn_error *err) {
  const hn_type *t = a->type;
  hn_status st = check_children_count(a, t->n_fields, path, err);
  for (int64_t i = 0; st == HN_OK && i < t->n_fields; i++) {
    st = check_child(a, i, t->fields[i], t->names[i], utf8, path, err);
    if (st == HN_OK && a->children[i]->length < end) {
      char child_path[HN__COLUMN_PATH_MAX];
      hn__column_path_child(child_path, sizeof child_path, path, t->names[i]);
      st = hn__column_error(err, HN_ECORRUPT, child_path,
                            "struct field has %lld rows, the struct needs %lld (offset %lld + "
                            "length %lld)",
                            (long long)a->children[i]->length, (long long)end, (long long)a->offset,
                            (long long)a->length);
    }
  }
  return st;
}

/* A null array: every row null, no buffers. */
static hn_status check_null(const hn_array *a, const char *path, hn_error *err) {
  if (a->null_count != a->length)
    return hn__column_error(err, HN_ECORRUPT, path, "null array of %lld rows with null_count %lld",
                            (long long)a->length, (long long)a->null_count);
  return check_children_count(a, 0, path, err);
}

static hn_status validate_node(const hn_array *a, bool utf8, const char *path, hn_error *err) {
  if (!a->type) return hn__column_error(err, HN_ECORRUPT, path, "array has no type");
  if (a->length < 0 || a->offset < 0)
    return hn__column_error(err, HN_ECORRUPT, path, "negative length %lld or offset %lld",
                            (long long)a->length, (long long)a->offset);
  if (a->offset > INT64_MAX - 8 - a->length)
    return hn__column_error(err, HN_ECORRUPT, path, "offset %lld + length %lld overflows",
                            (long long)a->offset, (long long)a->length);
  int64_t end = a->offset + a->length;
  hn__layout layout = hn__type_layout(a->type->id);
  if (layout == HN__L_NULL) return check_null(a, path, err);
  hn_status st = check_validity(a, end, path, err);
  if (st != HN_OK) return st;
  if (hn__type_num_children(a->type) == 0) {
    st = check_children_count(a, 0, path, err);
    if (st != HN_OK) return st;
  }
  switch (layout) {
    case HN__L_BITS:
      return need_buffer(a, 1, hn_bytes_for_bits(end), "values", path, err);
    case HN__L_FIXED:
    case HN__L_OBJECT:
      return check_fixed(a, end, hn__type_width(a->type), path, err);
    case HN__L_VAR32:
    case HN__L_VAR64:
      return check_binary(a, end, utf8, path, err);
    case HN__L_LIST32:
    case HN__L_LIST64:
    case HN__L_FIXED_LIST:
      return check_list(a, end, utf8, path, err);
    case HN__L_STRUCT:
      return check_struct(a, end, utf8, path, err);
    case HN__L_NULL:
      break;
  }
  return hn__column_error(err, HN_ECORRUPT, path, "unknown type id %d", (int)a->type->id);
}

/* ---- rows with no buffer behind them ----------------------------------- */

/* *backed: some buffer of `a` or of a struct field grows with a's rows. */
static hn_status unbacked_rows(const hn_array *a, const char *path, hn_status code, bool *backed,
                               hn_error *err) {
  bool is_struct = a->type->id == HN_TYPE_STRUCT;
  bool any = a->buffers[0] != NULL || (!is_struct && a->type->id != HN_TYPE_NULL);
  for (int64_t i = 0; i < a->n_children; i++) {
    char child_path[HN__COLUMN_PATH_MAX];
    hn__column_path_child(child_path, sizeof child_path, path,
                          is_struct ? a->type->names[i] : NULL);
    bool child_backed = false;
    hn_status st = unbacked_rows(a->children[i], child_path, code, &child_backed, err);
    if (st != HN_OK) return st;
    if (is_struct && child_backed) any = true;
  }
  *backed = any;
  if (any || a->length <= HN__MAX_UNBACKED_ROWS) return HN_OK;
  return hn__column_error(err, code, path,
                          "%lld rows with no buffer behind them (a struct without a validity "
                          "bitmap whose fields hold none); at most %lld are accepted",
                          (long long)a->length, (long long)HN__MAX_UNBACKED_ROWS);
}

hn_status hn__check_unbacked_rows(const hn_array *array, const char *path, hn_status code,
                                  hn_error *err) {
  bool backed = false;
  return unbacked_rows(array, path ? path : "", code, &backed, err);
}

hn_status hn__array_validate_path(const hn_array *array, bool check_utf8, const char *path,
                                  hn_error *err) {
  if (!array) return hn__column_error(err, HN_EINVAL, path, "NULL array");
  return validate_node(array, check_utf8, path ? path : "", err);
}

hn_status hn_array_validate(const hn_array *array, bool check_utf8, hn_error *err) {
  return hn__array_validate_path(array, check_utf8, "", err);
}
