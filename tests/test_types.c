/* Types: singletons, nested construction, equality, spelling, errors. */
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static void obj_free(void *ctx, void *o) { (void)ctx; (void)o; }

static void test_primitives(void **state) {
  (void)state;
  assert_int_equal(hn_type_get_id(hn_type_int64()), HN_TYPE_INT64);
  assert_ptr_equal(hn_type_retain(hn_type_utf8()), hn_type_utf8());
  hn_type_release(hn_type_utf8()); /* no-op on singletons */
  assert_true(hn_type_equals(hn_type_bool(), hn_type_bool()));
  assert_false(hn_type_equals(hn_type_float32(), hn_type_float64()));
  assert_string_equal(hn_type_id_name(HN_TYPE_BINARY), "binary");
}

static void test_nested_and_spelling(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  const hn_type *inner = NULL, *list = NULL, *st = NULL, *st2 = NULL;
  HN_CHECK(hn_type_list_create(&ta.alloc, hn_type_utf8(), &inner, NULL), NULL);
  HN_CHECK(hn_type_list_create(&ta.alloc, inner, &list, NULL), NULL);
  const char *names[] = {"a", "b"};
  const hn_type *types[] = {hn_type_int64(), list};
  HN_CHECK(hn_type_struct_create(&ta.alloc, 2, names, types, &st, NULL), NULL);
  HN_CHECK(hn_type_struct_create(NULL, 2, names, types, &st2, NULL), NULL);
  char buf[128];
  size_t n = hn_type_to_string(st, buf, sizeof buf);
  assert_string_equal(buf, "struct<a: int64, b: list<list<utf8>>>");
  assert_int_equal(n, strlen(buf));
  char small[8];
  assert_int_equal(hn_type_to_string(st, small, sizeof small), n); /* truncated, length reported */
  assert_string_equal(small, "struct<");
  assert_true(hn_type_equals(st, st2));
  assert_int_equal(hn_type_num_fields(st), 2);
  assert_int_equal(hn_type_field_index(st, "b"), 1);
  assert_int_equal(hn_type_field_index(st, "zz"), -1);
  assert_ptr_equal(hn_type_field_type(st, 1), list);
  assert_null(hn_type_field_type(st, 2));
  assert_ptr_equal(hn_type_list_item(list), inner);
  assert_false(hn_type_has_object(st));
  hn_type_release(inner); /* still held by list */
  hn_type_release(list);
  hn_type_release(st2); /* st2 (libc) also held `list` (test allocator) */
  assert_true(ta.live > 0);
  hn_type_release(st);
  assert_int_equal(ta.live, 0);
}

static void test_struct_errors(void **state) {
  (void)state;
  hn_error err;
  const hn_type *t = NULL;
  const char *dup[] = {"x", "x"};
  const hn_type *types[] = {hn_type_int64(), hn_type_int64()};
  assert_int_equal(hn_type_struct_create(NULL, 2, dup, types, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "'x' appears twice"));
  const char *empty[] = {"", "y"};
  assert_int_equal(hn_type_struct_create(NULL, 2, empty, types, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "empty"));
  assert_int_equal(hn_type_list_create(NULL, NULL, &t, &err), HN_EINVAL);
  hn_object_vtable vt = {0};
  assert_int_equal(hn_type_object_create(NULL, "model", &vt, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "free"));
}

static void test_many_fields(void **state) {
  (void)state;
  enum { N = 5000 };
  static char buf[N][12];
  static const char *names[N];
  static const hn_type *types[N];
  for (int i = 0; i < N; i++) {
    snprintf(buf[i], sizeof buf[i], "f%d", i);
    names[i] = buf[i];
    types[i] = hn_type_int64();
  }
  const hn_type *t = NULL;
  HN_CHECK(hn_type_struct_create(NULL, N, names, types, &t, NULL), NULL);
  assert_int_equal(hn_type_field_index(t, "f4999"), 4999);
  hn_type_release(t);
  names[4000] = "f17"; /* duplicate far apart: found by the sorted check */
  hn_error err;
  assert_int_equal(hn_type_struct_create(NULL, N, names, types, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "'f17' appears twice"));
}

static void test_object_type(void **state) {
  (void)state;
  hn_object_vtable vt = {obj_free, NULL, NULL, NULL};
  const hn_type *o = NULL, *l = NULL;
  HN_CHECK(hn_type_object_create(NULL, "Model", &vt, &o, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, o, &l, NULL), NULL);
  assert_true(hn_type_has_object(l));
  char buf[64];
  hn_type_to_string(l, buf, sizeof buf);
  assert_string_equal(buf, "list<object<Model>>");
  assert_ptr_equal(hn_type_object_vtable(o)->free, obj_free);
  hn_type_release(o);
  hn_type_release(l);
}

static void test_type_allocation_failure(void **state) {
  (void)state;
  const char *names[] = {"alpha", "beta", "gamma"};
  const hn_type *types[] = {hn_type_int64(), hn_type_utf8(), hn_type_bool()};
  bool succeeded = false;
  for (int64_t k = 1; !succeeded; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    const hn_type *t = NULL;
    hn_error err;
    hn_status st = hn_type_struct_create(&ta.alloc, 3, names, types, &t, &err);
    if (st == HN_OK) {
      succeeded = true;
      hn_type_release(t);
    } else {
      assert_int_equal(st, HN_ENOMEM);
      assert_int_equal(err.code, HN_ENOMEM);
    }
    assert_int_equal(ta.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_primitives),   cmocka_unit_test(test_nested_and_spelling),
      cmocka_unit_test(test_struct_errors), cmocka_unit_test(test_many_fields), cmocka_unit_test(test_object_type),
      cmocka_unit_test(test_type_allocation_failure),
  };
  return cmocka_run_group_tests_name("types", tests, NULL, NULL);
}
