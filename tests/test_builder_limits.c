/* Builder and buffer limits: huge counts, retries after allocation failure, roll-back of failed nested appends. */
#include <string.h>

#include "data/data_internal.h"
#include "test_support.h"

/* A utf8 builder whose bytes buffer failed to allocate must not crash on the next append. */
static void test_builder_str_retry_after_partial_alloc_failure(void **state) {
  (void)state;
  for (int64_t k = 1; k <= 12; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    hn_builder *b = NULL;
    if (hn_builder_create(&ta.alloc, hn_type_utf8(), &b, NULL) != HN_OK) continue;
    hn_status st = hn_builder_append_str(b, "abc", -1);
    ta.fail_at = 0; /* only the first append may see the failure */
    if (st != HN_OK) {
      assert_int_equal(st, HN_ENOMEM);
      assert_int_equal(hn_builder_length(b), 0);
      HN_CHECK(hn_builder_append_str(b, "abc", -1), NULL); /* retried: must work */
    }
    hn_array *arr = NULL;
    HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
    assert_int_equal(hn_array_length(arr), 1);
    hn_datum d = hn_array_get(arr, 0);
    assert_int_equal(d.v.str.size, 3);
    assert_memory_equal(d.v.str.data, "abc", 3);
    hn_array_release(arr);
    hn_builder_destroy(b);
    assert_int_equal(ta.live, 0);
  }
}

/* Huge counts must be refused with HN_ERANGE, not overflow int64 arithmetic. */
static void test_builder_huge_counts(void **state) {
  (void)state;
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_int64(b, 1), NULL);
  assert_int_equal(hn_builder_reserve(b, INT64_MAX), HN_ERANGE);
  int64_t v = 0;
  assert_int_equal(hn_builder_append_values(b, &v, INT64_MAX), HN_ERANGE);
  assert_int_equal(hn_builder_length(b), 1);
  hn_builder_destroy(b);

  HN_CHECK(hn_builder_create(NULL, hn_type_binary(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_str(b, "x", 1), NULL);
  assert_int_equal(hn_builder_append_str(b, "y", INT64_MAX), HN_ERANGE);
  assert_int_equal(hn_builder_length(b), 1);
  hn_builder_destroy(b);
}

static void test_buffer_create_huge(void **state) {
  (void)state;
  hn_buffer *buf = NULL;
  hn_status st = hn_buffer_create(NULL, INT64_MAX, &buf, NULL);
  assert_int_not_equal(st, HN_OK);
  assert_null(buf);
}

/*
 * Growable buffers asked for sizes near INT64_MAX: rounding up to 64 and the
 * doubling growth used to overflow (undefined behaviour, caught by UBSan in
 * the asan build). They must fail with HN_ENOMEM and keep the buffer intact.
 */
static void test_buffer_internal_huge(void **state) {
  (void)state;
  assert_null(hn__buffer_new(NULL, INT64_MAX));
  assert_null(hn__buffer_new(NULL, INT64_MAX - 60));
  hn_buffer *b = hn__buffer_new(NULL, 64);
  assert_non_null(b);
  b->data[0] = 42;
  b->size = 1;
  assert_int_equal(hn__buffer_reserve(b, INT64_MAX), HN_ENOMEM);
  assert_int_equal(hn__buffer_reserve(b, INT64_MAX - 100), HN_ENOMEM);
  assert_int_equal(b->capacity, 64);
  assert_int_equal(b->data[0], 42);
  hn_buffer_release(b);
}

/* arena.h: "Zero-size requests return a valid unique pointer." */
static void test_arena_zero_size_unique(void **state) {
  (void)state;
  hn_arena *arena = NULL;
  HN_CHECK(hn_arena_create(NULL, 0, &arena, NULL), NULL);
  void *p = hn_arena_alloc(arena, 0, 0);
  void *q = hn_arena_alloc(arena, 0, 0);
  assert_non_null(p);
  assert_non_null(q);
  assert_ptr_not_equal(p, q);
  hn_arena_destroy(arena);
}

static int objects_freed;
static void obj_free(void *ctx, void *object) {
  (void)ctx;
  (void)object;
  objects_freed++;
}
static void *obj_copy(void *ctx, const void *object) {
  (void)ctx;
  return (void *)object;
}

/*
 * builder.h: "A failed append leaves the builder as it was before the call."
 * A nested hn_builder_append_datum that fails half-way must not leave stray
 * items in the child builders (they would end up in the next element).
 */
static void test_append_datum_failure_rolls_back(void **state) {
  (void)state;
  static int x, y;
  hn_object_vtable nocopy = {obj_free, NULL, NULL, NULL};
  const hn_type *obj = NULL, *list = NULL, *strct = NULL;
  HN_CHECK(hn_type_object_create(NULL, "thing", &nocopy, &obj, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, obj, &list, NULL), NULL);

  /* Source: list<object> [[null, &x]]. */
  hn_builder *src = NULL;
  HN_CHECK(hn_builder_create(NULL, list, &src, NULL), NULL);
  HN_CHECK(hn_builder_append_object(hn_builder_child(src, 0), NULL), NULL);
  HN_CHECK(hn_builder_append_object(hn_builder_child(src, 0), &x), NULL);
  HN_CHECK(hn_builder_finish_element(src), NULL);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(src, &arr, NULL), NULL);

  hn_builder *dst = NULL;
  HN_CHECK(hn_builder_create(NULL, list, &dst, NULL), NULL);
  assert_int_equal(hn_builder_append_datum(dst, hn_array_get(arr, 0)), HN_EUNSUPPORTED);
  assert_int_equal(hn_builder_length(dst), 0);
  assert_int_equal(hn_builder_length(hn_builder_child(dst, 0)), 0);
  HN_CHECK(hn_builder_finish_element(dst), NULL); /* an empty list */
  hn_array *out = NULL;
  HN_CHECK(hn_builder_finish(dst, &out, NULL), NULL);
  HN_CHECK(hn_array_validate(out, true, NULL), NULL);
  assert_int_equal(hn_array_get(out, 0).v.list.length, 0);
  hn_array_release(out);
  hn_builder_destroy(dst);

  /* struct<a: int64, b: object-with-copy, c: object-without-copy>. */
  const hn_type *obj2 = NULL;
  hn_object_vtable withcopy = {obj_free, obj_copy, NULL, NULL};
  HN_CHECK(hn_type_object_create(NULL, "copyable", &withcopy, &obj2, NULL), NULL);
  const char *names[] = {"a", "b", "c"};
  const hn_type *types[] = {hn_type_int64(), obj2, obj};
  HN_CHECK(hn_type_struct_create(NULL, 3, names, types, &strct, NULL), NULL);
  hn_builder *sb = NULL;
  HN_CHECK(hn_builder_create(NULL, strct, &sb, NULL), NULL);
  HN_CHECK(hn_builder_append_int64(hn_builder_child(sb, 0), 7), NULL);
  HN_CHECK(hn_builder_append_object(hn_builder_child(sb, 1), &y), NULL);
  HN_CHECK(hn_builder_append_object(hn_builder_child(sb, 2), &x), NULL);
  HN_CHECK(hn_builder_finish_element(sb), NULL);
  hn_array *sarr = NULL;
  HN_CHECK(hn_builder_finish(sb, &sarr, NULL), NULL);
  objects_freed = 0;
  HN_CHECK(hn_builder_create(NULL, strct, &dst, NULL), NULL);
  assert_int_equal(hn_builder_append_datum(dst, hn_array_get(sarr, 0)), HN_EUNSUPPORTED);
  assert_int_equal(objects_freed, 1); /* the copy appended to field b is given back */
  for (int64_t i = 0; i < 3; i++) assert_int_equal(hn_builder_length(hn_builder_child(dst, i)), 0);
  HN_CHECK(hn_builder_append_null(dst), NULL);
  HN_CHECK(hn_builder_finish(dst, &out, NULL), NULL);
  HN_CHECK(hn_array_validate(out, true, NULL), NULL);
  hn_array_release(out);
  hn_builder_destroy(dst);

  hn_builder_destroy(sb);
  hn_array_release(sarr);
  hn_builder_destroy(src);
  hn_array_release(arr);
  hn_type_release(strct);
  hn_type_release(obj2);
  hn_type_release(list);
  hn_type_release(obj);
}

/* builder.h: finish failing with HN_ENOMEM resets the builder to empty. */
static void test_finish_nomem_resets(void **state) {
  (void)state;
  const char *names[] = {"a", "b"};
  for (int64_t k = 1; k <= 40; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    const hn_type *st_type = NULL, *li = NULL;
    HN_CHECK(hn_type_list_create(&ta.alloc, hn_type_int64(), &li, NULL), NULL);
    const hn_type *types[] = {hn_type_int64(), li};
    HN_CHECK(hn_type_struct_create(&ta.alloc, 2, names, types, &st_type, NULL), NULL);
    hn_builder *b = NULL;
    HN_CHECK(hn_builder_create(&ta.alloc, st_type, &b, NULL), NULL);
    /* The list's item builder gets no values: its buffers are allocated at finish. */
    HN_CHECK(hn_builder_append_null(b), NULL);
    ta.fail_at = ta.n_allocs + k;
    hn_array *out = NULL;
    hn_status st = hn_builder_finish(b, &out, NULL);
    if (st == HN_OK) {
      hn_array_release(out);
    } else {
      assert_int_equal(st, HN_ENOMEM);
      assert_int_equal(hn_builder_length(b), 0);
      for (int64_t i = 0; i < 2; i++) assert_int_equal(hn_builder_length(hn_builder_child(b, i)), 0);
    }
    hn_builder_destroy(b);
    hn_type_release(st_type);
    hn_type_release(li);
    assert_int_equal(ta.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_builder_str_retry_after_partial_alloc_failure),
      cmocka_unit_test(test_builder_huge_counts),
      cmocka_unit_test(test_buffer_create_huge),
      cmocka_unit_test(test_buffer_internal_huge),
      cmocka_unit_test(test_arena_zero_size_unique),
      cmocka_unit_test(test_append_datum_failure_rolls_back),
      cmocka_unit_test(test_finish_nomem_resets),
  };
  return cmocka_run_group_tests_name("builder_limits", tests, NULL, NULL);
}
