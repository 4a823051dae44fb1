/*
 * Table serialisation: round trips of every type (whole, empty, sliced),
 * zero copy, determinism, and rejection of truncated, corrupted and
 * malicious input; allocation failure at every step leaks nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h" /* hn__array_make: children with their own offsets */
#include "test_support.h"

/* ---- fixtures ------------------------------------------------------------ */

enum { N_COLS = 9 };
static const char *const k_names[N_COLS] = {"flag", "i",  "f32", "f64", "s",
                                            "bin",  "li", "lls", "st"};

/* Column types; the nested ones are created with the fixture's allocator. */
typedef struct fixture_types {
  const hn_type *li, *ls, *lls, *st;
  const hn_type *col[N_COLS];
} fixture_types;

static void types_init(fixture_types *ft, const hn_allocator *a) {
  HN_CHECK(hn_type_list_create(a, hn_type_int64(), &ft->li, NULL), NULL);
  HN_CHECK(hn_type_list_create(a, hn_type_utf8(), &ft->ls, NULL), NULL);
  HN_CHECK(hn_type_list_create(a, ft->ls, &ft->lls, NULL), NULL);
  const char *names[] = {"a", "b"};
  const hn_type *fields[] = {hn_type_int64(), hn_type_utf8()};
  HN_CHECK(hn_type_struct_create(a, 2, names, fields, &ft->st, NULL), NULL);
  const hn_type *cols[N_COLS] = {hn_type_bool(),
                                 hn_type_int64(),
                                 hn_type_float32(),
                                 hn_type_float64(),
                                 hn_type_utf8(),
                                 hn_type_binary(),
                                 ft->li,
                                 ft->lls,
                                 ft->st};
  memcpy(ft->col, cols, sizeof cols);
}

static void types_release(fixture_types *ft) {
  hn_type_release(ft->li);
  hn_type_release(ft->ls);
  hn_type_release(ft->lls);
  hn_type_release(ft->st);
}

static void append_list_of_lists(hn_builder *b, int64_t i) {
  hn_builder *inner = hn_builder_child(b, 0);
  for (int64_t j = 0; j < i % 3; j++) {
    if ((i + j) % 4 == 0) {
      HN_CHECK(hn_builder_append_null(inner), NULL);
      continue;
    }
    for (int64_t s = 0; s < (i + j) % 3; s++)
      HN_CHECK(hn_builder_append_str(hn_builder_child(inner, 0), s ? "ww" : "w", -1), NULL);
    HN_CHECK(hn_builder_finish_element(inner), NULL);
  }
  HN_CHECK(hn_builder_finish_element(b), NULL);
}

static void append_struct(hn_builder *b, int64_t i) {
  char text[32];
  snprintf(text, sizeof text, "b%lld", (long long)i);
  if (i % 4 == 0)
    HN_CHECK(hn_builder_append_null(hn_builder_child(b, 0)), NULL);
  else
    HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), i), NULL);
  HN_CHECK(hn_builder_append_str(hn_builder_child(b, 1), text, -1), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
}

/* Row i of column `col`: a deterministic mix of values and nulls. */
static void append_row(hn_builder *b, int col, int64_t i) {
  static const char *const strs[] = {"", "a", "h\xc3\xa9llo",
                                     "\xc3\xbcn\xc3\xaf"
                                     "c",
                                     "xyzzy-long"};
  static const char bin[] = {0, 1, 0, 2};
  static const int null_mod[N_COLS] = {3, 5, 4, 7, 6, 5, 4, 5, 6};
  static const int null_rem[N_COLS] = {0, 1, 2, 3, 4, 0, 3, 2, 5};
  if (i % null_mod[col] == null_rem[col]) {
    HN_CHECK(hn_builder_append_null(b), NULL);
    return;
  }
  switch (col) {
    case 0:
      HN_CHECK(hn_builder_append_bool(b, i % 2 == 0), NULL);
      break;
    case 1:
      HN_CHECK(hn_builder_append_int64(b, i * 1000003 - 7), NULL);
      break;
    case 2:
      HN_CHECK(hn_builder_append_float32(b, (float)i * 0.5f), NULL);
      break;
    case 3:
      HN_CHECK(hn_builder_append_float64(b, (double)i * 1.25), NULL);
      break;
    case 4:
      HN_CHECK(hn_builder_append_str(b, strs[i % 5], -1), NULL);
      break;
    case 5:
      HN_CHECK(hn_builder_append_str(b, bin, i % 4), NULL);
      break;
    case 6:
      for (int64_t k = 0; k < i % 4; k++) {
        if (k == 1 && i % 2)
          HN_CHECK(hn_builder_append_null(hn_builder_child(b, 0)), NULL);
        else
          HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), i * 10 + k), NULL);
      }
      HN_CHECK(hn_builder_finish_element(b), NULL);
      break;
    case 7:
      append_list_of_lists(b, i);
      break;
    default:
      append_struct(b, i);
      break;
  }
}

/* A table of rows [first, first + n) of every column type. */
static hn_table *make_table(const hn_allocator *a, int64_t first, int64_t n) {
  fixture_types ft;
  types_init(&ft, a);
  hn_array *cols[N_COLS];
  for (int c = 0; c < N_COLS; c++) {
    hn_builder *b = NULL;
    HN_CHECK(hn_builder_create(a, ft.col[c], &b, NULL), NULL);
    for (int64_t i = first; i < first + n; i++) append_row(b, c, i);
    HN_CHECK(hn_builder_finish(b, &cols[c], NULL), NULL);
    hn_builder_destroy(b);
  }
  hn_table *t = NULL;
  hn_error err;
  HN_CHECK(hn_table_create(a, N_COLS, k_names, cols, &t, &err), &err);
  for (int c = 0; c < N_COLS; c++) hn_array_release(cols[c]);
  types_release(&ft);
  return t;
}

static hn_buffer *serialize(const hn_table *t) {
  hn_buffer *blob = NULL;
  hn_error err;
  HN_CHECK(hn_table_serialize(t, NULL, &blob, &err), &err);
  return blob;
}

/* Serialise, deserialise with `a`, check equality and validity; returns the blob size. */
static int64_t check_roundtrip(const hn_table *t, const hn_allocator *a) {
  hn_buffer *blob = serialize(t);
  hn_table *back = NULL;
  hn_error err;
  HN_CHECK(hn_table_deserialize(a, blob, &back, &err), &err);
  int64_t size = hn_buffer_size(blob);
  hn_buffer_release(blob); /* the result keeps what it needs */
  assert_true(hn_table_equals(t, back));
  HN_CHECK(hn_table_validate(back, true, &err), &err);
  assert_int_equal(hn_table_num_rows(back), hn_table_num_rows(t));
  for (int64_t c = 0; c < hn_table_num_columns(t); c++) {
    assert_string_equal(hn_table_column_name(back, c), hn_table_column_name(t, c));
    assert_int_equal(hn_array_offset(hn_table_column(back, c)), 0);
  }
  hn_table_release(back);
  return size;
}

/* Recompute the trailing checksum after a deliberate edit. */
static void fix_checksum(uint8_t *p, int64_t size) {
  uint64_t sum = hn_hash_bytes(p, (size_t)(size - 8), 0);
  for (int i = 0; i < 8; i++) p[size - 8 + i] = (uint8_t)(sum >> (8 * i));
}

static uint64_t load_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

static void store_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* Deserialise a writable copy of `blob` after `edit`, with a valid checksum. */
static hn_status load_edited(const hn_buffer *blob, int64_t at, uint64_t value, int width,
                             hn_error *err) {
  hn_buffer *copy = NULL;
  HN_CHECK(hn_buffer_copy(NULL, hn_buffer_data(blob), hn_buffer_size(blob), &copy, NULL), NULL);
  uint8_t *p = hn_buffer_mutable_data(copy);
  store_le(p + at, value, width);
  fix_checksum(p, hn_buffer_size(copy));
  hn_table *t = NULL;
  hn_status st = hn_table_deserialize(NULL, copy, &t, err);
  if (st != HN_OK) assert_null(t);
  hn_table_release(t);
  hn_buffer_release(copy);
  return st;
}

/* A blob with a hand-written metadata section and `data` zero bytes of buffers. */
static hn_buffer *craft_blob(const uint8_t *meta, int64_t meta_size, uint64_t rows, uint64_t cols,
                             int64_t data) {
  int64_t data_offset = (64 + meta_size + 63) / 64 * 64;
  int64_t total = data_offset + data + 8;
  hn_buffer *b = NULL;
  HN_CHECK(hn_buffer_create(NULL, total, &b, NULL), NULL);
  uint8_t *p = hn_buffer_mutable_data(b);
  memcpy(p, "HNTB", 4);
  store_le(p + 4, 1, 2);
  const uint16_t one = 1;
  memcpy(p + 8, &one, 1);
  p[8] = p[8] ? 1 : 2;
  store_le(p + 16, (uint64_t)total, 8);
  store_le(p + 24, rows, 8);
  store_le(p + 32, cols, 8);
  store_le(p + 40, (uint64_t)meta_size, 8);
  store_le(p + 48, (uint64_t)data_offset, 8);
  memcpy(p + 64, meta, (size_t)meta_size);
  fix_checksum(p, total);
  return b;
}

static hn_status load(hn_buffer *blob, hn_error *err) {
  hn_table *t = NULL;
  hn_status st = hn_table_deserialize(NULL, blob, &t, err);
  if (st != HN_OK) assert_null(t);
  hn_table_release(t);
  return st;
}

/* ---- round trips ----------------------------------------------------------- */

static void test_roundtrip_all_types(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = make_table(&ta.alloc, 0, 61);
  check_roundtrip(t, &ta.alloc);
  check_roundtrip(t, NULL);
  hn_table_release(t);
  assert_int_equal(ta.live, 0);
}

static void test_roundtrip_empty(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = make_table(&ta.alloc, 0, 0), *e = NULL, *z = NULL, *s = NULL;
  check_roundtrip(t, &ta.alloc);
  HN_CHECK(hn_table_create_empty(&ta.alloc, hn_table_schema(t), &e, NULL), NULL);
  check_roundtrip(e, &ta.alloc);
  HN_CHECK(hn_table_create(&ta.alloc, 0, NULL, NULL, &z, NULL), NULL);
  assert_int_equal(check_roundtrip(z, &ta.alloc), 72); /* header + checksum only */
  hn_table *full = make_table(&ta.alloc, 0, 30);
  HN_CHECK(hn_table_slice(full, 13, 0, &s, NULL), NULL);
  check_roundtrip(s, &ta.alloc);
  hn_table_release(t);
  hn_table_release(e);
  hn_table_release(z);
  hn_table_release(s);
  hn_table_release(full);
  assert_int_equal(ta.live, 0);
}

/*
 * Slices at byte-aligned and unaligned offsets round-trip, write only their
 * rows, and serialise to exactly the bytes of the same rows built afresh.
 */
static void test_roundtrip_slices(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  const int64_t n = 40, offsets[] = {0, 1, 3, 7, 8, 9, 13, 21, 39}, lens[] = {0, 1, 5, 8, 17};
  hn_table *full = make_table(&ta.alloc, 0, n);
  int64_t full_size = check_roundtrip(full, &ta.alloc);
  for (size_t o = 0; o < sizeof offsets / sizeof *offsets; o++) {
    for (size_t l = 0; l <= sizeof lens / sizeof *lens; l++) {
      int64_t off = offsets[o], len = l < sizeof lens / sizeof *lens ? lens[l] : n - off;
      if (off + len > n) continue;
      hn_table *s = NULL, *fresh = make_table(&ta.alloc, off, len);
      HN_CHECK(hn_table_slice(full, off, len, &s, NULL), NULL);
      int64_t size = check_roundtrip(s, &ta.alloc);
      if (len < n / 2) assert_true(size < full_size);
      hn_buffer *a = serialize(s), *b = serialize(fresh);
      assert_int_equal(hn_buffer_size(a), hn_buffer_size(b));
      assert_memory_equal(hn_buffer_data(a), hn_buffer_data(b), (size_t)hn_buffer_size(a));
      hn_buffer_release(a);
      hn_buffer_release(b);
      hn_table_release(s);
      hn_table_release(fresh);
    }
  }
  hn_table_release(full);
  assert_int_equal(ta.live, 0);
}

/* Types nested 64 deep round-trip; 65 are refused before anything is written. */
static void test_nesting_limit(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  const hn_type *t = hn_type_int64();
  for (int depth = 2; depth <= 65; depth++) {
    const hn_type *list = NULL;
    HN_CHECK(hn_type_list_create(&ta.alloc, t, &list, NULL), NULL);
    hn_type_release(t);
    t = list;
    const char *name = "deep";
    const hn_type *schema = NULL;
    hn_table *table = NULL;
    HN_CHECK(hn_type_struct_create(&ta.alloc, 1, &name, &t, &schema, NULL), NULL);
    HN_CHECK(hn_table_create_empty(&ta.alloc, schema, &table, NULL), NULL);
    if (depth == 64) check_roundtrip(table, &ta.alloc);
    if (depth == 65) {
      hn_buffer *blob = NULL;
      hn_error err;
      assert_int_equal(hn_table_serialize(table, NULL, &blob, &err), HN_EUNSUPPORTED);
      assert_null(blob);
      assert_non_null(strstr(err.message, "deep"));
    }
    hn_table_release(table);
    hn_type_release(schema);
  }
  hn_type_release(t);
  assert_int_equal(ta.live, 0);
}

static hn_array *int64_range(int64_t n, int64_t slice_at) {
  hn_builder *b = NULL;
  hn_array *full = NULL, *out = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) {
    if (i % 7 == 3)
      HN_CHECK(hn_builder_append_null(b), NULL);
    else
      HN_CHECK(hn_builder_append_int64(b, i), NULL);
  }
  HN_CHECK(hn_builder_finish(b, &full, NULL), NULL);
  hn_builder_destroy(b);
  HN_CHECK(hn_array_slice(full, slice_at, n - slice_at, &out, NULL), NULL);
  hn_array_release(full);
  return out;
}

/*
 * Arrays assembled from parts (as Arrow import does): struct fields and list
 * items that have their own offsets, under a struct that has one too.
 */
static void test_children_with_offsets(void **state) {
  (void)state;
  const hn_type *st = NULL, *lt = NULL;
  const char *fields[] = {"a", "b"};
  const hn_type *ftypes[] = {hn_type_int64(), hn_type_int64()};
  HN_CHECK(hn_type_struct_create(NULL, 2, fields, ftypes, &st, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &lt, NULL), NULL);
  hn_array *kids[2] = {int64_range(20, 3), int64_range(30, 11)};
  hn_array *strct = NULL, *list = NULL, *cols[2];
  HN_CHECK(hn__array_make(NULL, st, 10, 2, 0, NULL, NULL, NULL, 2, kids, &strct, NULL), NULL);
  const int32_t offs[] = {0, 2, 2, 5, 9, 10, 10, 12, 13, 15, 16, 21};
  hn_buffer *ob = NULL;
  HN_CHECK(hn_buffer_copy(NULL, offs, sizeof offs, &ob, NULL), NULL);
  hn_array *items = int64_range(25, 4);
  HN_CHECK(hn__array_make(NULL, lt, 10, 1, 0, NULL, ob, NULL, 1, &items, &list, NULL), NULL);
  cols[0] = strct;
  cols[1] = list;
  const char *names[] = {"st", "li"};
  hn_table *t = NULL, *s = NULL, *back = NULL;
  HN_CHECK(hn_table_create(NULL, 2, names, cols, &t, NULL), NULL);
  HN_CHECK(hn_table_validate(t, false, NULL), NULL);
  HN_CHECK(hn_table_slice(t, 1, 7, &s, NULL), NULL);
  check_roundtrip(t, NULL);
  check_roundtrip(s, NULL);
  hn_buffer *blob = serialize(s);
  HN_CHECK(hn_table_deserialize(NULL, blob, &back, NULL), NULL);
  hn_datum d = hn_array_get(hn_table_column(back, 0), 0); /* struct row 3 -> a[3 + 3] */
  assert_int_equal(hn_struct_view_field(d.v.strct, 0).v.i64, 6);
  assert_int_equal(hn_struct_view_field(d.v.strct, 1).v.i64, 14);
  d = hn_array_get(hn_table_column(back, 1), 1); /* list row 3 -> items [5, 9) + 4 */
  assert_int_equal(d.v.list.length, 4);
  assert_int_equal(hn_list_view_get(d.v.list, 0).v.i64, 9);
  hn_table_release(back);
  hn_buffer_release(blob);
  hn_table_release(s);
  hn_table_release(t);
  hn_array_release(strct);
  hn_array_release(list);
  hn_type_release(st);
  hn_type_release(lt);
}

/* ---- zero copy ------------------------------------------------------------- */

static bool inside(const void *p, const hn_buffer *b) {
  const uint8_t *d = hn_buffer_data(b);
  return (const uint8_t *)p >= d && (const uint8_t *)p < d + hn_buffer_size(b);
}

/* Deserialise the blob placed at byte `shift` of a larger buffer. */
static hn_table *load_shifted(const hn_buffer *blob, int64_t shift, hn_buffer **holder) {
  hn_buffer *big = NULL, *view = NULL;
  int64_t size = hn_buffer_size(blob);
  HN_CHECK(hn_buffer_create(NULL, size + shift, &big, NULL), NULL);
  memcpy(hn_buffer_mutable_data(big) + shift, hn_buffer_data(blob), (size_t)size);
  HN_CHECK(hn_buffer_view(big, shift, size, &view, NULL), NULL);
  hn_buffer_release(big);
  hn_table *t = NULL;
  hn_error err;
  HN_CHECK(hn_table_deserialize(NULL, view, &t, &err), &err);
  *holder = view;
  return t;
}

static void test_zero_copy(void **state) {
  (void)state;
  hn_table *t = make_table(NULL, 0, 25);
  hn_buffer *blob = serialize(t), *holder = NULL;
  hn_table *back = NULL;
  HN_CHECK(hn_table_deserialize(NULL, blob, &back, NULL), NULL);
  const hn_array *col = hn_table_column_by_name(back, "i");
  assert_true(inside(hn_array_int64_values(col), blob));
  assert_true(inside(hn_array_validity(col), blob));
  assert_true(inside(hn_array_offsets(hn_table_column_by_name(back, "s")), blob));
  const hn_array *items = hn_array_child(hn_table_column_by_name(back, "li"), 0);
  assert_true(inside(hn_array_int64_values(items), blob));
  hn_buffer_release(blob); /* the table keeps the bytes alive */
  assert_true(hn_table_equals(t, back));
  hn_table_release(back);

  blob = serialize(t);
  back = load_shifted(blob, 8, &holder); /* 8-byte aligned: still zero copy */
  assert_true(inside(hn_array_int64_values(hn_table_column(back, 1)), holder));
  assert_true(hn_table_equals(t, back));
  hn_table_release(back);
  hn_buffer_release(holder);
  back = load_shifted(blob, 3, &holder); /* unaligned: read from a copy */
  assert_false(inside(hn_array_int64_values(hn_table_column(back, 1)), holder));
  assert_int_equal((uintptr_t)hn_array_int64_values(hn_table_column(back, 1)) % 8, 0);
  assert_true(hn_table_equals(t, back));
  hn_table_release(back);
  hn_buffer_release(holder);
  hn_buffer_release(blob);
  hn_table_release(t);
}

/* ---- rejection ------------------------------------------------------------- */

static void test_truncation_rejected(void **state) {
  (void)state;
  hn_table *t = make_table(NULL, 0, 20);
  hn_buffer *blob = serialize(t), *longer = NULL;
  int64_t size = hn_buffer_size(blob);
  for (int64_t n = 0; n < size; n++) {
    hn_buffer *prefix = NULL;
    HN_CHECK(hn_buffer_view(blob, 0, n, &prefix, NULL), NULL);
    assert_int_equal(load(prefix, NULL), HN_ECORRUPT);
    hn_buffer_release(prefix);
  }
  HN_CHECK(hn_buffer_create(NULL, size + 1, &longer, NULL), NULL);
  memcpy(hn_buffer_mutable_data(longer), hn_buffer_data(blob), (size_t)size);
  hn_error err;
  assert_int_equal(load(longer, &err), HN_ECORRUPT);
  assert_int_equal(err.code, HN_ECORRUPT);
  hn_buffer_release(longer);
  hn_buffer_release(blob);
  hn_table_release(t);
}

static void test_bit_flips_rejected(void **state) {
  (void)state;
  hn_table *t = make_table(NULL, 0, 12);
  hn_buffer *blob = serialize(t), *copy = NULL;
  int64_t size = hn_buffer_size(blob);
  HN_CHECK(hn_buffer_copy(NULL, hn_buffer_data(blob), size, &copy, NULL), NULL);
  uint8_t *p = hn_buffer_mutable_data(copy);
  for (int64_t i = 0; i < size; i++) {
    for (int bit = 0; bit < 8; bit++) {
      p[i] ^= (uint8_t)(1u << bit);
      assert_int_equal(load(copy, NULL), HN_ECORRUPT);
      p[i] ^= (uint8_t)(1u << bit);
    }
  }
  assert_int_equal(load(copy, NULL), HN_OK);
  hn_buffer_release(copy);
  hn_buffer_release(blob);
  hn_table_release(t);
}

/*
 * One utf8 column "s" = ["ab", "cde", "f"]. Layout: header [0, 64); schema:
 * name length @64, "s" @68, type @69; node: length @70, nulls @78, buffer
 * table validity @86, offsets @102, bytes @118 (offset then size each);
 * buffers from 192: offsets @192 (16 bytes), bytes @256 (6 bytes).
 */
static hn_buffer *utf8_blob(void) {
  hn_builder *b = NULL;
  hn_array *col = NULL;
  hn_table *t = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_utf8(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_str(b, "ab", -1), NULL);
  HN_CHECK(hn_builder_append_str(b, "cde", -1), NULL);
  HN_CHECK(hn_builder_append_str(b, "f", -1), NULL);
  HN_CHECK(hn_builder_finish(b, &col, NULL), NULL);
  hn_builder_destroy(b);
  const char *name = "s";
  HN_CHECK(hn_table_create(NULL, 1, &name, &col, &t, NULL), NULL);
  hn_array_release(col);
  hn_buffer *blob = serialize(t);
  hn_table_release(t);
  const uint8_t *p = hn_buffer_data(blob);
  assert_int_equal(load_le(p + 40, 8), 70);  /* metadata size */
  assert_int_equal(load_le(p + 48, 8), 192); /* buffer region */
  assert_int_equal(load_le(p + 102, 8), 192);
  assert_int_equal(load_le(p + 118, 8), 256);
  assert_int_equal(hn_buffer_size(blob), 328);
  return blob;
}

/* Correct checksum, wrong content: the parser or validation must refuse it. */
static void test_malicious_rejected(void **state) {
  (void)state;
  hn_buffer *blob = utf8_blob();
  hn_error err;
  assert_int_equal(load_edited(blob, 192 + 12, 100, 4, &err), HN_ECORRUPT); /* last offset */
  assert_non_null(strstr(err.message, "'s'"));
  assert_int_equal(load_edited(blob, 192 + 4, 7, 4, &err), HN_ECORRUPT);       /* not monotonic */
  assert_int_equal(load_edited(blob, 192, 0x80000000u, 4, &err), HN_ECORRUPT); /* negative */
  assert_int_equal(load_edited(blob, 70, 4, 8, &err), HN_ECORRUPT);    /* length > offsets */
  assert_int_equal(load_edited(blob, 70, 2, 8, &err), HN_ECORRUPT);    /* length != rows */
  assert_int_equal(load_edited(blob, 78, 1, 8, &err), HN_ECORRUPT);    /* nulls, no bitmap */
  assert_int_equal(load_edited(blob, 78, 9, 8, &err), HN_ECORRUPT);    /* nulls > length */
  assert_int_equal(load_edited(blob, 94, 1, 8, &err), HN_ECORRUPT);    /* bitmap, no nulls */
  assert_int_equal(load_edited(blob, 102, 193, 8, &err), HN_ECORRUPT); /* unaligned */
  assert_int_equal(load_edited(blob, 102, 0, 8, &err), HN_ECORRUPT);   /* in the header */
  assert_int_equal(load_edited(blob, 102, 256, 8, &err), HN_ECORRUPT); /* overlaps bytes */
  assert_int_equal(load_edited(blob, 110, 12, 8, &err), HN_ECORRUPT);  /* offsets too short */
  assert_int_equal(load_edited(blob, 126, 65, 8, &err), HN_ECORRUPT);  /* past the region */
  assert_int_equal(load_edited(blob, 126, UINT64_MAX, 8, &err), HN_ECORRUPT);
  assert_int_equal(load_edited(blob, 126, 2, 8, &err), HN_ECORRUPT);   /* bytes too short */
  assert_int_equal(load_edited(blob, 118, 320, 8, &err), HN_ECORRUPT); /* the checksum */
  assert_int_equal(load_edited(blob, 64, 2, 4, &err), HN_ECORRUPT);    /* name length */
  assert_int_equal(load_edited(blob, 64, UINT32_MAX, 4, &err), HN_ECORRUPT);
  assert_int_equal(load_edited(blob, 68, 0, 1, &err), HN_ECORRUPT); /* NUL in a name */
  assert_int_equal(load_edited(blob, 69, HN_TYPE_OBJECT, 1, &err), HN_ECORRUPT);
  assert_int_equal(load_edited(blob, 69, 42, 1, &err), HN_ECORRUPT);
  assert_int_equal(load_edited(blob, 69, HN_TYPE_INT64, 1, &err), HN_ECORRUPT);
  assert_int_equal(load_edited(blob, 24, 4, 8, &err), HN_ECORRUPT); /* rows */
  assert_int_equal(load_edited(blob, 32, 2, 8, &err), HN_ECORRUPT); /* columns */
  assert_int_equal(load_edited(blob, 32, UINT64_MAX, 8, &err), HN_ECORRUPT);
  assert_int_equal(load_edited(blob, 32, 0, 8, &err), HN_ECORRUPT);
  assert_int_equal(load_edited(blob, 40, 69, 8, &err), HN_ECORRUPT);  /* metadata size */
  assert_int_equal(load_edited(blob, 48, 256, 8, &err), HN_ECORRUPT); /* buffer region */
  assert_int_equal(load_edited(blob, 12, 1, 1, &err), HN_ECORRUPT);   /* reserved */
  assert_int_equal(load_edited(blob, 8, 7, 1, &err), HN_ECORRUPT);    /* byte order */
  assert_int_equal(load_edited(blob, 4, 1, 2, &err), HN_OK);          /* control: same version */
  hn_buffer_release(blob);
}

/*
 * list<int64> column "l" = [[1, 2], [3]]: list node @71 (offsets entry @103),
 * item node @119; list offsets @192, item values @256.
 */
static void test_malicious_list_rejected(void **state) {
  (void)state;
  hn_builder *b = NULL;
  hn_array *col = NULL;
  hn_table *t = NULL;
  const hn_type *lt = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &lt, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, lt, &b, NULL), NULL);
  for (int64_t v = 1; v <= 3; v++) {
    HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), v), NULL);
    if (v >= 2) HN_CHECK(hn_builder_finish_element(b), NULL);
  }
  HN_CHECK(hn_builder_finish(b, &col, NULL), NULL);
  hn_builder_destroy(b);
  hn_type_release(lt);
  const char *name = "l";
  HN_CHECK(hn_table_create(NULL, 1, &name, &col, &t, NULL), NULL);
  hn_array_release(col);
  hn_buffer *blob = serialize(t);
  hn_table_release(t);
  const uint8_t *p = hn_buffer_data(blob);
  assert_int_equal(load_le(p + 103, 8), 192);
  assert_int_equal(load_le(p + 119, 8), 3);
  assert_int_equal(load_le(p + 151, 8), 256);
  hn_error err;
  assert_int_equal(load_edited(blob, 192 + 8, 4, 4, &err), HN_ECORRUPT); /* past the items */
  assert_non_null(strstr(err.message, "'l'"));
  assert_int_equal(load_edited(blob, 119, 2, 8, &err), HN_ECORRUPT); /* fewer items */
  assert_int_equal(load_edited(blob, 119, 4, 8, &err), HN_ECORRUPT); /* values too short */
  assert_int_equal(load_edited(blob, 70, HN_TYPE_LIST, 1, &err), HN_ECORRUPT); /* item type */
  assert_int_equal(load_edited(blob, 4, 1, 2, &err), HN_OK);                   /* control */
  hn_buffer_release(blob);
}

/* Hand-made metadata: absurd nesting, counts and lengths are refused up front. */
static void test_crafted_metadata_rejected(void **state) {
  (void)state;
  uint8_t meta[256] = {1, 0, 0, 0, 'x'};
  hn_error err;
  for (int i = 5; i < 5 + 100; i++) meta[i] = HN_TYPE_LIST; /* list<list<...>> 100 deep */
  meta[105] = HN_TYPE_INT64;
  hn_buffer *b = craft_blob(meta, 106, 0, 1, 0);
  assert_int_equal(load(b, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "deeper"));
  hn_buffer_release(b);
  /* struct with 2^32 - 1 fields declared in a few bytes */
  memcpy(meta + 5, (const uint8_t[]){HN_TYPE_STRUCT, 0xff, 0xff, 0xff, 0xff}, 5);
  b = craft_blob(meta, 10, 0, 1, 0);
  assert_int_equal(load(b, &err), HN_ECORRUPT);
  hn_buffer_release(b);
  /* struct<x: bool, x: bool>: duplicate field names */
  memcpy(meta + 5,
         (const uint8_t[]){HN_TYPE_STRUCT, 2, 0, 0, 0, 1, 0, 0, 0, 'x', 1, 1, 0, 0, 0, 'x', 1}, 17);
  b = craft_blob(meta, 22, 0, 1, 0);
  assert_int_equal(load(b, &err), HN_ECORRUPT);
  hn_buffer_release(b);
  /* struct<> column of 2^62 rows: length beyond the limit */
  uint8_t node[] = {1, 0, 0,   0, 'x', HN_TYPE_STRUCT,
                    0, 0, 0,   0, 0,   0,
                    0, 0, 0,   0, 0,   0x40,
                    0, 0, 0,   0, 0,   0,
                    0, 0, 128, 0, 0,   0,
                    0, 0, 0,   0, 0,   0,
                    0, 0, 0,   0, 0,   0};
  b = craft_blob(node, sizeof node, 0, 1, 0);
  assert_int_equal(load(b, &err), HN_ECORRUPT);
  hn_buffer_release(b);
  node[17] = 0; /* 0 rows: a valid table with one empty struct column */
  b = craft_blob(node, sizeof node, 0, 1, 0);
  assert_int_equal(load(b, &err), HN_OK);
  hn_buffer_release(b);
}

/*
 * Every header and metadata byte, and every buffer byte, set to several
 * values with a valid checksum: the result is a valid table or a clean
 * error (ASan would catch any stray read), and nothing leaks.
 */
static void test_mutations_with_valid_checksum(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = make_table(NULL, 0, 9);
  hn_buffer *blob = serialize(t), *copy = NULL;
  int64_t size = hn_buffer_size(blob);
  HN_CHECK(hn_buffer_copy(NULL, hn_buffer_data(blob), size, &copy, NULL), NULL);
  uint8_t *p = hn_buffer_mutable_data(copy);
  const uint8_t *orig = hn_buffer_data(blob);
  int64_t ok = 0;
  for (int64_t i = 0; i < size - 8; i++) {
    const int values[] = {orig[i] + 1, orig[i] - 1, orig[i] ^ 0x80, 0, 0xff, 0x7f};
    for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
      p[i] = (uint8_t)values[v];
      fix_checksum(p, size);
      hn_table *back = NULL;
      hn_error err;
      hn_status st = hn_table_deserialize(&ta.alloc, copy, &back, &err);
      assert_true(st == HN_OK || st == HN_ECORRUPT || st == HN_EUNSUPPORTED);
      if (st == HN_OK) {
        HN_CHECK(hn_table_validate(back, false, &err), &err);
        ok++;
      }
      hn_table_release(back);
    }
    p[i] = orig[i];
  }
  assert_true(ok > 0); /* value bytes and padding change without harm */
  hn_buffer_release(copy);
  hn_buffer_release(blob);
  hn_table_release(t);
  assert_int_equal(ta.live, 0);
}

static void test_foreign_version_and_byte_order(void **state) {
  (void)state;
  hn_buffer *blob = utf8_blob();
  hn_error err;
  uint8_t other = hn_buffer_data(blob)[8] == 1 ? 2 : 1;
  assert_int_equal(load_edited(blob, 8, other, 1, &err), HN_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "byte order"));
  assert_int_equal(load_edited(blob, 4, 3, 2, &err), HN_EUNSUPPORTED); /* a later version */
  assert_int_equal(load_edited(blob, 4, 0, 2, &err), HN_EUNSUPPORTED);
  assert_int_equal(load_edited(blob, 6, 1, 2, &err), HN_EUNSUPPORTED);
  hn_buffer_release(blob);
}

static void obj_free(void *ctx, void *o) {
  (void)ctx;
  free(o);
}

static void test_object_column_refused(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_object_vtable vt = {obj_free, NULL, NULL, NULL};
  const hn_type *ot = NULL, *st = NULL;
  HN_CHECK(hn_type_object_create(&ta.alloc, "thing", &vt, &ot, NULL), NULL);
  const char *fields[] = {"o"};
  HN_CHECK(hn_type_struct_create(&ta.alloc, 1, fields, &ot, &st, NULL), NULL);
  hn_builder *b = NULL;
  hn_array *cols[3] = {NULL, NULL, NULL};
  HN_CHECK(hn_builder_create(&ta.alloc, ot, &b, NULL), NULL);
  HN_CHECK(hn_builder_append_object(b, malloc(4)), NULL);
  HN_CHECK(hn_builder_append_object(b, NULL), NULL);
  HN_CHECK(hn_builder_finish(b, &cols[1], NULL), NULL);
  hn_builder_destroy(b);
  HN_CHECK(hn_builder_create(&ta.alloc, hn_type_int64(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_values(b, (const int64_t[]){1, 2}, 2), NULL);
  HN_CHECK(hn_builder_finish(b, &cols[0], NULL), NULL);
  hn_builder_destroy(b);
  HN_CHECK(hn_builder_create(&ta.alloc, st, &b, NULL), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_finish(b, &cols[2], NULL), NULL);
  hn_builder_destroy(b);

  const char *names[] = {"n", "handle", "wrapped"};
  hn_table *t = NULL, *only_struct = NULL;
  HN_CHECK(hn_table_create(&ta.alloc, 3, names, cols, &t, NULL), NULL);
  HN_CHECK(hn_table_create(&ta.alloc, 1, names + 2, cols + 2, &only_struct, NULL), NULL);
  hn_buffer *blob = NULL;
  hn_error err;
  assert_int_equal(hn_table_serialize(t, NULL, &blob, &err), HN_EUNSUPPORTED);
  assert_int_equal(err.code, HN_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "'handle'"));
  assert_null(blob);
  assert_int_equal(hn_table_serialize(only_struct, NULL, &blob, &err), HN_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "'wrapped'"));
  for (int i = 0; i < 3; i++) hn_array_release(cols[i]);
  hn_table_release(t);
  hn_table_release(only_struct);
  hn_type_release(ot);
  hn_type_release(st);
  assert_int_equal(ta.live, 0);
}

static void test_bad_arguments(void **state) {
  (void)state;
  hn_buffer *blob = NULL;
  hn_table *t = NULL;
  hn_error err;
  assert_int_equal(hn_table_serialize(NULL, NULL, &blob, &err), HN_EINVAL);
  assert_int_equal(hn_table_deserialize(NULL, NULL, &t, &err), HN_EINVAL);
  hn_table *z = NULL;
  HN_CHECK(hn_table_create(NULL, 0, NULL, NULL, &z, NULL), NULL);
  assert_int_equal(hn_table_serialize(z, NULL, NULL, NULL), HN_EINVAL);
  blob = serialize(z);
  assert_int_equal(hn_table_deserialize(NULL, blob, NULL, NULL), HN_EINVAL);
  hn_buffer_release(blob);
  hn_table_release(z);
}

/* ---- allocation failure ---------------------------------------------------- */

static void test_serialize_alloc_failure(void **state) {
  (void)state;
  hn_table *t = make_table(NULL, 0, 30);
  int64_t k = 1;
  for (;; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    hn_buffer *blob = NULL;
    hn_error err;
    hn_status st = hn_table_serialize(t, &ta.alloc, &blob, &err);
    if (st == HN_OK) {
      assert_int_equal(ta.failures, 0);
      hn_buffer_release(blob);
      assert_int_equal(ta.live, 0);
      break;
    }
    assert_int_equal(st, HN_ENOMEM);
    assert_int_equal(err.code, HN_ENOMEM);
    assert_null(blob);
    assert_int_equal(ta.live, 0);
  }
  assert_true(k > 1);
  hn_table_release(t);
}

/* Failure at the k-th allocation of deserialising a blob placed at `shift`. */
static hn_status deserialize_failing_at(const hn_table *t, int64_t k, int64_t shift) {
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_buffer *blob = NULL, *big = NULL, *input = NULL;
  HN_CHECK(hn_table_serialize(t, &ta.alloc, &blob, NULL), NULL);
  int64_t size = hn_buffer_size(blob);
  HN_CHECK(hn_buffer_create(&ta.alloc, size + shift, &big, NULL), NULL);
  memcpy(hn_buffer_mutable_data(big) + shift, hn_buffer_data(blob), (size_t)size);
  HN_CHECK(hn_buffer_view(big, shift, size, &input, NULL), NULL);
  hn_buffer_release(big);
  hn_buffer_release(blob);
  ta.fail_at = ta.n_allocs + k;
  hn_table *back = NULL;
  hn_error err;
  hn_status st = hn_table_deserialize(&ta.alloc, input, &back, &err);
  hn_buffer_release(input);
  if (st == HN_OK) {
    assert_int_equal(ta.failures, 0);
    assert_true(hn_table_equals(t, back));
  } else {
    assert_int_equal(st, HN_ENOMEM);
    assert_int_equal(err.code, HN_ENOMEM);
    assert_null(back);
  }
  hn_table_release(back);
  assert_int_equal(ta.live, 0);
  return st;
}

static void test_deserialize_alloc_failure(void **state) {
  (void)state;
  hn_table *t = make_table(NULL, 0, 30);
  const int64_t shifts[] = {0, 3}; /* zero copy, and through an aligned copy */
  for (size_t s = 0; s < 2; s++) {
    int64_t k = 1;
    while (deserialize_failing_at(t, k, shifts[s]) != HN_OK) k++;
    assert_true(k > 10);
  }
  hn_table_release(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_all_types),
      cmocka_unit_test(test_roundtrip_empty),
      cmocka_unit_test(test_roundtrip_slices),
      cmocka_unit_test(test_nesting_limit),
      cmocka_unit_test(test_children_with_offsets),
      cmocka_unit_test(test_zero_copy),
      cmocka_unit_test(test_truncation_rejected),
      cmocka_unit_test(test_bit_flips_rejected),
      cmocka_unit_test(test_malicious_rejected),
      cmocka_unit_test(test_malicious_list_rejected),
      cmocka_unit_test(test_crafted_metadata_rejected),
      cmocka_unit_test(test_mutations_with_valid_checksum),
      cmocka_unit_test(test_foreign_version_and_byte_order),
      cmocka_unit_test(test_object_column_refused),
      cmocka_unit_test(test_bad_arguments),
      cmocka_unit_test(test_serialize_alloc_failure),
      cmocka_unit_test(test_deserialize_alloc_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
