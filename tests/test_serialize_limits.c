/*
 * Limits of serialised tables (issue 11): sizes that would overflow int64
 * when writing, and row counts that no buffer backs when reading. The
 * format is in docs/serialization.md; the general round-trip and corruption
 * tests are in test_serialize.c.
 */
#include <stdio.h>
#include <string.h>

#include "data/arrow_internal.h" /* HN__MAX_UNBACKED_ROWS, hn__check_unbacked_rows */
#include "test_support.h"

/* Recompute the trailing checksum after a deliberate edit. */
static void fix_checksum(uint8_t *p, int64_t size) {
  uint64_t sum = hn_hash_bytes(p, (size_t)(size - 8), 0);
  for (int i = 0; i < 8; i++) p[size - 8 + i] = (uint8_t)(sum >> (8 * i));
}

static void store_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A blob with a hand-written metadata section and no buffer bytes. */
static hn_buffer *craft_blob(const uint8_t *meta, int64_t meta_size, uint64_t rows, uint64_t cols) {
  int64_t data_offset = (64 + meta_size + 63) / 64 * 64;
  int64_t total = data_offset + 8;
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
  if (meta_size > 0) memcpy(p + 64, meta, (size_t)meta_size);
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

/*
 * Issue 11, class of item 1: the measured size of a table is a sum of buffer
 * sizes, which wrapped when columns share a huge buffer. Eight columns that
 * each claim 2^61 bytes (one foreign buffer that is never read) summed to
 * 2^64 = 0, a tiny buffer was allocated and the write pass copied 2^61
 * bytes into it. The table must be refused before anything is allocated.
 */
static void test_serialize_size_overflow(void **state) {
  (void)state;
  static const int64_t storage[8];
  const int64_t rows = (int64_t)1 << 58; /* 2^61 bytes of int64 */
  hn_buffer *huge = NULL;
  HN_CHECK(hn_buffer_wrap(NULL, storage, rows * 8, NULL, NULL, &huge, NULL), NULL);
  hn_array *col = NULL;
  HN_CHECK(hn_array_create_fixed(NULL, hn_type_int64(), rows, NULL, huge, &col, NULL), NULL);
  const char *names[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
  hn_array *cols[8];
  for (int i = 0; i < 8; i++) cols[i] = col;
  for (int n = 4; n <= 8; n++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_table *t = NULL;
    HN_CHECK(hn_table_create(NULL, n, names, cols, &t, NULL), NULL);
    hn_buffer *blob = NULL;
    hn_error err;
    assert_int_equal(hn_table_serialize(t, &ta.alloc, &blob, &err), HN_ENOMEM);
    assert_null(blob);
    assert_non_null(strstr(err.message, "more than INT64_MAX bytes"));
    assert_int_equal(ta.n_allocs, 0);
    hn_table_release(t);
  }
  hn_array_release(col);
  hn_buffer_release(huge);
}

/* 2^59 - 1: the largest row count the format itself allows (issue 11, item 6). */
#define HUGE_ROWS ((uint64_t)576460752303423487ull)

/* Deserialise and return the status; err receives the message. */
static hn_status load_rows(const uint8_t *meta, int64_t meta_size, uint64_t rows, uint64_t cols,
                           hn_error *err) {
  hn_buffer *b = craft_blob(meta, meta_size, rows, cols);
  hn_status st = load(b, err);
  hn_buffer_release(b);
  return st;
}

/*
 * Issue 11, item 6: a 72-byte blob declaring 2^59 - 1 rows and no columns,
 * or one struct<> column, deserialised; a map over it then ran for minutes.
 * Rows with no buffer behind them are limited to INT32_MAX; the message
 * names the column (or the table) and the count.
 */
static void test_unbacked_rows_limited(void **state) {
  (void)state;
  hn_error err;
  const uint8_t none[1] = {0};
  hn_buffer *b = craft_blob(none, 0, HUGE_ROWS, 0);
  assert_int_equal(hn_buffer_size(b), 72);
  hn_buffer_release(b);
  assert_int_equal(load_rows(none, 0, HUGE_ROWS, 0, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "576460752303423487 rows"));
  assert_non_null(strstr(err.message, "no columns"));
  assert_int_equal(load_rows(none, 0, (uint64_t)INT32_MAX + 1, 0, &err), HN_ECORRUPT);
  assert_int_equal(load_rows(none, 0, INT32_MAX, 0, &err), HN_OK); /* the limit itself */

  /* One struct<> column 'x' (no fields, no bitmap) of n rows. */
  uint8_t node[] = {1, 0, 0,   0, 'x', HN_TYPE_STRUCT,
                    0, 0, 0,   0, 0,   0,
                    0, 0, 0,   0, 0,   0,
                    0, 0, 0,   0, 0,   0,
                    0, 0, 128, 0, 0,   0,
                    0, 0, 0,   0, 0,   0,
                    0, 0, 0,   0, 0,   0};
  const uint64_t counts[] = {HUGE_ROWS, (uint64_t)INT32_MAX + 1, INT32_MAX};
  for (int i = 0; i < 3; i++) {
    store_le(node + 10, counts[i], 8);
    hn_status st = load_rows(node, sizeof node, counts[i], 1, &err);
    assert_int_equal(st, i < 2 ? HN_ECORRUPT : HN_OK);
    if (i < 2) {
      assert_non_null(strstr(err.message, "column 'x'"));
      char count[32];
      snprintf(count, sizeof count, "%llu rows", (unsigned long long)counts[i]);
      assert_non_null(strstr(err.message, count));
    }
  }

  /* struct<s: struct<>>: the inner field is named. */
  uint8_t nested[] = {1, 0, 0, 0, 'x', HN_TYPE_STRUCT, 1, 0, 0, 0, 1, 0, 0, 0, 's', HN_TYPE_STRUCT,
                      0, 0, 0, 0,
                      /* x: length, nulls, validity (192, 0) */
                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 0, 0, 0, 0, 0, 0, 0,
                      0, 0, 0, 0, 0, 0, 0,
                      /* s: length, nulls, validity (192, 0) */
                      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 0, 0, 0, 0, 0, 0, 0,
                      0, 0, 0, 0, 0, 0, 0};
  store_le(nested + 20, HUGE_ROWS, 8);
  store_le(nested + 52, HUGE_ROWS, 8);
  assert_int_equal(load_rows(nested, sizeof nested, HUGE_ROWS, 1, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "column 'x.s'"));
  store_le(nested + 20, 5, 8);
  store_le(nested + 52, 5, 8);
  assert_int_equal(load_rows(nested, sizeof nested, 5, 1, &err), HN_OK); /* control */
}

/* What counts as backed: a bitmap, or any field with a buffer (at any depth). */
static void test_unbacked_rows_rule(void **state) {
  (void)state;
  static const int64_t storage[8];
  const int64_t rows = (int64_t)1 << 40; /* claimed, never read */
  hn_buffer *bits = NULL, *values = NULL;
  HN_CHECK(hn_buffer_wrap(NULL, storage, rows / 8, NULL, NULL, &bits, NULL), NULL);
  HN_CHECK(hn_buffer_wrap(NULL, storage, rows * 8, NULL, NULL, &values, NULL), NULL);
  const hn_type *empty = NULL, *wrap_empty = NULL, *with_int = NULL;
  const char *names[] = {"e", "i"};
  HN_CHECK(hn_type_struct_create(NULL, 0, NULL, NULL, &empty, NULL), NULL);
  HN_CHECK(hn_type_struct_create(NULL, 1, names, &empty, &wrap_empty, NULL), NULL);
  const hn_type *two[] = {empty, hn_type_int64()};
  HN_CHECK(hn_type_struct_create(NULL, 2, names, two, &with_int, NULL), NULL);
  hn_error err;
  hn_array *e = NULL, *eb = NULL, *i = NULL, *w = NULL, *both = NULL;
  HN_CHECK(hn__array_make(NULL, empty, rows, 0, 0, NULL, NULL, NULL, 0, NULL, &e, NULL), NULL);
  assert_int_equal(hn__check_unbacked_rows(e, "col", HN_ECORRUPT, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "column 'col': 1099511627776 rows"));
  /* The same struct<> with a bitmap (one null) is backed by it. */
  HN_CHECK(hn__array_make(NULL, empty, rows, 0, 1, hn_buffer_retain(bits), NULL, NULL, 0, NULL, &eb,
                          NULL),
           NULL);
  HN_CHECK(hn__check_unbacked_rows(eb, "col", HN_ECORRUPT, &err), &err);
  HN_CHECK(hn_array_create_fixed(NULL, hn_type_int64(), rows, NULL, values, &i, NULL), NULL);
  hn_array *kids[2] = {hn_array_retain(e), hn_array_retain(i)};
  HN_CHECK(hn__array_make(NULL, with_int, rows, 0, 0, NULL, NULL, NULL, 2, kids, &both, NULL),
           NULL);
  /* struct<e: struct<>, i: int64>: the int64 field backs the struct, not the field e. */
  assert_int_equal(hn__check_unbacked_rows(both, "col", HN_EINVAL, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "column 'col.e'"));
  hn_array *kid = hn_array_retain(e);
  HN_CHECK(hn__array_make(NULL, wrap_empty, rows, 0, 0, NULL, NULL, NULL, 1, &kid, &w, NULL), NULL);
  assert_int_equal(hn__check_unbacked_rows(w, "col", HN_ECORRUPT, &err), HN_ECORRUPT);
  hn_array_release(e);
  hn_array_release(eb);
  hn_array_release(i);
  hn_array_release(w);
  hn_array_release(both);
  hn_type_release(empty);
  hn_type_release(wrap_empty);
  hn_type_release(with_int);
  hn_buffer_release(bits);
  hn_buffer_release(values);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_serialize_size_overflow),
      cmocka_unit_test(test_unbacked_rows_limited),
      cmocka_unit_test(test_unbacked_rows_rule),
  };
  return cmocka_run_group_tests_name("serialize_limits", tests, NULL, NULL);
}
