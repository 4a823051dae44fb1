#include "test_support.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Each block carries a header so that realloc/free can be counted. */
/* The request is one the allocator was told to refuse. */
static bool refused(hn_test_alloc *t, int64_t n, size_t size) {
  return (t->fail_at > 0 && n == t->fail_at) ||
         (t->max_request > 0 && size > (uint64_t)t->max_request);
}

static void *t_malloc(void *ctx, size_t size) {
  hn_test_alloc *t = ctx;
  int64_t n = __atomic_add_fetch(&t->n_allocs, 1, __ATOMIC_SEQ_CST);
  if (refused(t, n, size)) {
    __atomic_add_fetch(&t->failures, 1, __ATOMIC_SEQ_CST);
    return NULL;
  }
  void *p = malloc(size);
  if (p) __atomic_add_fetch(&t->live, 1, __ATOMIC_SEQ_CST);
  return p;
}

static void *t_realloc(void *ctx, void *ptr, size_t size) {
  hn_test_alloc *t = ctx;
  if (!ptr) return t_malloc(ctx, size);
  int64_t n = __atomic_add_fetch(&t->n_allocs, 1, __ATOMIC_SEQ_CST);
  if (refused(t, n, size)) {
    __atomic_add_fetch(&t->failures, 1, __ATOMIC_SEQ_CST);
    return NULL;
  }
  return realloc(ptr, size);
}

static void t_free(void *ctx, void *ptr) {
  hn_test_alloc *t = ctx;
  if (!ptr) return;
  __atomic_sub_fetch(&t->live, 1, __ATOMIC_SEQ_CST);
  free(ptr);
}

void hn_test_alloc_init(hn_test_alloc *t, int64_t fail_at) {
  t->alloc.malloc = t_malloc;
  t->alloc.realloc = t_realloc;
  t->alloc.free = t_free;
  t->alloc.ctx = t;
  t->n_allocs = 0;
  t->live = 0;
  t->fail_at = fail_at;
  t->failures = 0;
  t->max_request = 0;
}

/* list<list<utf8>>: [[["a","bc"],[]], null, [[null,"d"]], []] */
hn_array *hn_test_list_list_utf8(const hn_allocator *a) {
  const hn_type *inner = NULL, *outer = NULL;
  HN_CHECK(hn_type_list_create(a, hn_type_utf8(), &inner, NULL), NULL);
  HN_CHECK(hn_type_list_create(a, inner, &outer, NULL), NULL);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(a, outer, &b, NULL), NULL);
  hn_builder *mid = hn_builder_child(b, 0), *leaf = hn_builder_child(mid, 0);
  HN_CHECK(hn_builder_append_str(leaf, "a", -1), NULL);
  HN_CHECK(hn_builder_append_str(leaf, "bc", -1), NULL);
  HN_CHECK(hn_builder_finish_element(mid), NULL);
  HN_CHECK(hn_builder_finish_element(mid), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_null(leaf), NULL);
  HN_CHECK(hn_builder_append_str(leaf, "d", -1), NULL);
  HN_CHECK(hn_builder_finish_element(mid), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  hn_builder_destroy(b);
  hn_type_release(inner);
  hn_type_release(outer);
  return arr;
}

/* ---- a table with a column of every type of issue 16 ------------------------ */

static void put_ints(hn_builder *b, int64_t v0, int64_t v2) {
  HN_CHECK(hn_builder_append_int(b, v0), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_int(b, v2), NULL);
}

static void put_raw(hn_builder *b, const void *v0, const void *v2) {
  HN_CHECK(hn_builder_append_values(b, v0, 1), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_values(b, v2, 1), NULL);
}

static void put_strs(hn_builder *b, const char *v0, const char *v2) {
  HN_CHECK(hn_builder_append_str(b, v0, -1), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_str(b, v2, -1), NULL);
}

/* [[1, 2], null, [3, -4]] into a list-like builder of int32 items. */
static void put_int_lists(hn_builder *b) {
  hn_builder *items = hn_builder_child(b, 0);
  HN_CHECK(hn_builder_append_int(items, 1), NULL);
  HN_CHECK(hn_builder_append_int(items, 2), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_int(items, 3), NULL);
  HN_CHECK(hn_builder_append_int(items, -4), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
}

/* map<utf8, int64>: [{a: 1, b: null}, null, {}] */
static void put_maps(hn_builder *b) {
  hn_builder *e = hn_builder_child(b, 0), *k = hn_builder_child(e, 0), *v = hn_builder_child(e, 1);
  HN_CHECK(hn_builder_append_str(k, "a", -1), NULL);
  HN_CHECK(hn_builder_append_int64(v, 1), NULL);
  HN_CHECK(hn_builder_finish_element(e), NULL);
  HN_CHECK(hn_builder_append_str(k, "b", -1), NULL);
  HN_CHECK(hn_builder_append_null(v), NULL);
  HN_CHECK(hn_builder_finish_element(e), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
}

static void fill_column(hn_builder *b, int i) {
  const int64_t day_ms = 86400000;
  const uint64_t d128a[2] = {12345, 0}, d128b[2] = {(uint64_t)-250, UINT64_MAX};
  const uint64_t d256a[4] = {7, 0, 0, 0},
                 d256b[4] = {(uint64_t)-1, UINT64_MAX, UINT64_MAX, UINT64_MAX};
  const int32_t dt_a[2] = {3, 1000}, dt_b[2] = {-1, 5};
  const int64_t mdn_a[2] = {(int64_t)2 | ((int64_t)15 << 32), 1000}, mdn_b[2] = {0, -7};
  const uint16_t half_one = 0x3C00, half_minus_two = 0xC000;
  switch (i) {
    case 0:
      put_ints(b, -128, 127);
      break; /* int8 */
    case 1:
      put_ints(b, 255, 0);
      break; /* uint8 */
    case 2:
      put_ints(b, -32768, 32767);
      break; /* int16 */
    case 3:
      put_ints(b, 65535, 1);
      break; /* uint16 */
    case 4:
      put_ints(b, INT32_MIN, INT32_MAX);
      break; /* int32 */
    case 5:
      put_ints(b, UINT32_MAX, 7);
      break; /* uint32 */
    case 6:  /* uint64 */
      HN_CHECK(hn_builder_append_uint(b, UINT64_MAX), NULL);
      HN_CHECK(hn_builder_append_null(b), NULL);
      HN_CHECK(hn_builder_append_uint(b, 42), NULL);
      break;
    case 7:
      put_raw(b, &half_one, &half_minus_two);
      break; /* float16 */
    case 8:
      put_ints(b, 19000, -1);
      break; /* date32 */
    case 9:
      put_ints(b, 19000 * day_ms, -day_ms);
      break; /* date64 */
    case 10:
      put_ints(b, 3723000, 0);
      break; /* time32[ms] */
    case 11:
      put_ints(b, 3723000000000, 1);
      break; /* time64[ns] */
    case 12:
      put_ints(b, 1700000000123456, -1);
      break; /* timestamp[us, UTC] */
    case 13:
      put_ints(b, 90, -5);
      break; /* timestamp[s] */
    case 14:
      put_ints(b, 3600, -1);
      break; /* duration[s] */
    case 15:
      put_ints(b, 1500, 2);
      break; /* duration[ms] */
    case 16:
      put_ints(b, 14, -3);
      break; /* interval_months */
    case 17:
      put_raw(b, dt_a, dt_b);
      break; /* interval_day_time */
    case 18:
      put_raw(b, mdn_a, mdn_b);
      break; /* interval_month_day_nano */
    case 19:
      put_raw(b, d128a, d128b);
      break; /* decimal128(10, 2) */
    case 20:
      put_raw(b, d256a, d256b);
      break; /* decimal256(40, 2) */
    case 21:
      put_strs(b, "grüße", "");
      break; /* large_utf8 */
    case 22:
      put_strs(b, "\x01\x02", "xyz");
      break; /* large_binary */
    case 23:
      put_strs(b, "0123456789abcdef", "ABCDEFGHIJKLMNOP");
      break; /* fixed_size_binary(16) */
    case 24: /* large_list<int32> */
    case 25:
      put_int_lists(b);
      break; /* fixed_size_list<int32>[2] */
    case 26:
      put_maps(b);
      break; /* map<utf8, int64> */
    case 27:
      HN_CHECK(hn_builder_append_nulls(b, 3), NULL);
      break; /* null */
    case 28: /* list<int32> */
      put_int_lists(b);
      break;
    default:
      fail();
  }
}

const char *const hn_test_all_types[HN_TEST_N_TYPES][2] = {
    {"i8", "int8"},
    {"u8", "uint8"},
    {"i16", "int16"},
    {"u16", "uint16"},
    {"i32", "int32"},
    {"u32", "uint32"},
    {"u64", "uint64"},
    {"f16", "float16"},
    {"date32", "date32"},
    {"date64", "date64"},
    {"time32", "time32[ms]"},
    {"time64", "time64[ns]"},
    {"ts_utc", "timestamp[us, UTC]"},
    {"ts", "timestamp[s]"},
    {"dur_s", "duration[s]"},
    {"dur_ms", "duration[ms]"},
    {"months", "interval_months"},
    {"day_time", "interval_day_time"},
    {"mdn", "interval_month_day_nano"},
    {"dec128", "decimal128(10, 2)"},
    {"dec256", "decimal256(40, 2)"},
    {"large_text", "large_utf8"},
    {"large_bytes", "large_binary"},
    {"uuid", "fixed_size_binary(16)"},
    {"large_list", "large_list<int32>"},
    {"pair", "fixed_size_list<int32>[2]"},
    {"map", "map<utf8, int64>"},
    {"nothing", "null"},
    {"list32", "list<int32>"},
};

hn_table *hn_test_all_types_table(const hn_allocator *a) {
  hn_array *cols[HN_TEST_N_TYPES];
  const char *names[HN_TEST_N_TYPES];
  for (int i = 0; i < HN_TEST_N_TYPES; i++) {
    const hn_type *t = NULL;
    hn_error err;
    HN_CHECK(hn_type_parse(a, hn_test_all_types[i][1], &t, &err), &err);
    hn_builder *b = NULL;
    HN_CHECK(hn_builder_create(a, t, &b, &err), &err);
    fill_column(b, i);
    HN_CHECK(hn_builder_finish(b, &cols[i], &err), &err);
    hn_builder_destroy(b);
    hn_type_release(t);
    names[i] = hn_test_all_types[i][0];
  }
  hn_table *table = NULL;
  HN_CHECK(hn_table_create(a, HN_TEST_N_TYPES, names, cols, &table, NULL), NULL);
  for (int i = 0; i < HN_TEST_N_TYPES; i++) hn_array_release(cols[i]);
  return table;
}
