/* Tables: creation, lookup, errors, slicing, empty tables, equality. */
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static hn_array *ints(const hn_allocator *a, int64_t n, int64_t start) {
  hn_builder *b = NULL;
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_create(a, hn_type_int64(), &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, start + i), NULL);
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  hn_builder_destroy(b);
  return arr;
}

static hn_array *strs(const hn_allocator *a, int64_t n) {
  hn_builder *b = NULL;
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_create(a, hn_type_utf8(), &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++)
    HN_CHECK(hn_builder_append_str(b, i % 2 ? "odd" : "even", -1), NULL);
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  hn_builder_destroy(b);
  return arr;
}

static void test_create_and_lookup(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_array *cols[2] = {ints(&ta.alloc, 10, 0), strs(&ta.alloc, 10)};
  const char *names[2] = {"x", "label"};
  hn_table *t = NULL;
  HN_CHECK(hn_table_create(&ta.alloc, 2, names, cols, &t, NULL), NULL);
  hn_array_release(cols[0]);
  hn_array_release(cols[1]);
  assert_int_equal(hn_table_num_rows(t), 10);
  assert_int_equal(hn_table_num_columns(t), 2);
  assert_string_equal(hn_table_column_name(t, 1), "label");
  assert_int_equal(hn_table_column_index(t, "label"), 1);
  assert_int_equal(hn_table_column_index(t, "nope"), -1);
  assert_null(hn_table_column_by_name(t, "nope"));
  assert_null(hn_table_column(t, 2));
  hn_array *x = hn_table_column_by_name(t, "x");
  assert_int_equal(hn_array_get(x, 9).v.i64, 9);
  char spelled[64];
  hn_type_to_string(hn_table_schema(t), spelled, sizeof spelled);
  assert_string_equal(spelled, "struct<x: int64, label: utf8>");
  assert_int_equal(hn_table_validate(t, true, NULL), HN_OK);
  hn_table *s = NULL;
  HN_CHECK(hn_table_slice(t, 3, 4, &s, NULL), NULL);
  assert_int_equal(hn_table_num_rows(s), 4);
  assert_int_equal(hn_array_get(hn_table_column(s, 0), 0).v.i64, 3);
  assert_memory_equal(hn_array_get(hn_table_column(s, 1), 0).v.str.data, "odd", 3);
  assert_false(hn_table_equals(t, s));
  hn_table *again = NULL;
  HN_CHECK(hn_table_slice(t, 3, 4, &again, NULL), NULL);
  assert_true(hn_table_equals(again, s));
  hn_error err;
  assert_int_equal(hn_table_slice(t, 8, 3, &again, &err), HN_ERANGE);
  hn_table_release(again);
  hn_table_release(t);
  hn_table_release(s);
  assert_int_equal(ta.live, 0);
}

static void test_create_errors(void **state) {
  (void)state;
  hn_array *cols[2] = {ints(NULL, 10, 0), ints(NULL, 9, 0)};
  const char *names[2] = {"a", "b"};
  hn_table *t = NULL;
  hn_error err;
  assert_int_equal(hn_table_create(NULL, 2, names, cols, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "column 'b' has 9 rows but column 'a' has 10"));
  hn_array_release(cols[1]);
  cols[1] = ints(NULL, 10, 5);
  const char *dup[2] = {"a", "a"};
  assert_int_equal(hn_table_create(NULL, 2, dup, cols, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "'a' appears twice"));
  hn_array *with_null[2] = {cols[0], NULL};
  assert_int_equal(hn_table_create(NULL, 2, names, with_null, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "'b') is NULL"));
  assert_int_equal(hn_table_create_empty(NULL, hn_type_int64(), &t, &err), HN_ETYPE);
  hn_array_release(cols[0]);
  hn_array_release(cols[1]);
}

static void test_empty_and_zero_column_tables(void **state) {
  (void)state;
  const hn_type *list = NULL, *schema = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_utf8(), &list, NULL), NULL);
  const char *names[] = {"n", "tokens"};
  const hn_type *types[] = {hn_type_int64(), list};
  HN_CHECK(hn_type_struct_create(NULL, 2, names, types, &schema, NULL), NULL);
  hn_table *t = NULL, *z = NULL;
  HN_CHECK(hn_table_create_empty(NULL, schema, &t, NULL), NULL);
  assert_int_equal(hn_table_num_rows(t), 0);
  assert_int_equal(hn_table_num_columns(t), 2);
  assert_true(hn_type_equals(hn_table_schema(t), schema));
  assert_int_equal(hn_table_validate(t, true, NULL), HN_OK);
  HN_CHECK(hn_table_create(NULL, 0, NULL, NULL, &z, NULL), NULL);
  assert_int_equal(hn_table_num_columns(z), 0);
  assert_int_equal(hn_table_num_rows(z), 0);
  hn_table_release(t);
  hn_table_release(z);
  hn_type_release(list);
  hn_type_release(schema);
}

static void test_many_columns_and_allocation_failure(void **state) {
  (void)state;
  enum { N = 20 };
  bool succeeded = false;
  for (int64_t k = 1; !succeeded; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_array *cols[N];
    char name_buf[N][8];
    const char *names[N];
    for (int i = 0; i < N; i++) {
      cols[i] = ints(&ta.alloc, 5, i);
      snprintf(name_buf[i], sizeof name_buf[i], "c%d", i);
      names[i] = name_buf[i];
    }
    ta.fail_at = ta.n_allocs + k;
    hn_table *t = NULL, *s = NULL;
    hn_error err;
    hn_status st = hn_table_create(&ta.alloc, N, names, cols, &t, &err);
    if (st == HN_OK) st = hn_table_slice(t, 1, 3, &s, &err);
    if (st == HN_OK) {
      succeeded = true;
      assert_int_equal(hn_array_get(hn_table_column_by_name(s, "c19"), 0).v.i64, 20);
    } else {
      assert_int_equal(st, HN_ENOMEM);
      assert_int_equal(err.code, HN_ENOMEM);
    }
    hn_table_release(s);
    hn_table_release(t);
    for (int i = 0; i < N; i++) hn_array_release(cols[i]);
    assert_int_equal(ta.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_and_lookup),
      cmocka_unit_test(test_create_errors),
      cmocka_unit_test(test_empty_and_zero_column_tables),
      cmocka_unit_test(test_many_columns_and_allocation_failure),
  };
  return cmocka_run_group_tests_name("tables", tests, NULL, NULL);
}
