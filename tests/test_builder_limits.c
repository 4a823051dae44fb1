/* Builder and buffer limits: huge counts, retries after allocation failure, roll-back of failed
 * nested appends. */
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
      for (int64_t i = 0; i < 2; i++)
        assert_int_equal(hn_builder_length(hn_builder_child(b, i)), 0);
    }
    hn_builder_destroy(b);
    hn_type_release(st_type);
    hn_type_release(li);
    assert_int_equal(ta.live, 0);
  }
}

/* ---- bulk appends: all or nothing (issue 11, item 4 and its class) ------------ */

enum { N_BULK_TYPES = 8 };

/* bool, int64, float32, float64, utf8, list<int64>, struct<a: int64, b: utf8>, object */
typedef struct bulk_types {
  const hn_type *t[N_BULK_TYPES];
  const hn_type *list, *strct, *obj;
} bulk_types;

static void bulk_types_init(bulk_types *bt) {
  static const hn_object_vtable vt = {obj_free, obj_copy, NULL, NULL};
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &bt->list, NULL), NULL);
  const char *names[] = {"a", "b"};
  const hn_type *fields[] = {hn_type_int64(), hn_type_utf8()};
  HN_CHECK(hn_type_struct_create(NULL, 2, names, fields, &bt->strct, NULL), NULL);
  HN_CHECK(hn_type_object_create(NULL, "thing", &vt, &bt->obj, NULL), NULL);
  const hn_type *all[N_BULK_TYPES] = {hn_type_bool(),    hn_type_int64(), hn_type_float32(),
                                      hn_type_float64(), hn_type_utf8(),  bt->list,
                                      bt->strct,         bt->obj};
  memcpy(bt->t, all, sizeof all);
}

static void bulk_types_release(bulk_types *bt) {
  hn_type_release(bt->list);
  hn_type_release(bt->strct);
  hn_type_release(bt->obj);
}

static int the_object;

/* Append one valid value (value number k) to a builder of any bulk type. */
static void append_one(hn_builder *b, int64_t k) {
  switch (hn_type_id_of(hn_builder_type(b))) {
    case HN_TYPE_BOOL:
      HN_CHECK(hn_builder_append_bool(b, k % 2 == 0), NULL);
      break;
    case HN_TYPE_INT64:
      HN_CHECK(hn_builder_append_int64(b, 100 + k), NULL);
      break;
    case HN_TYPE_FLOAT32:
      HN_CHECK(hn_builder_append_float32(b, 1.5f + (float)k), NULL);
      break;
    case HN_TYPE_FLOAT64:
      HN_CHECK(hn_builder_append_float64(b, 2.5 + (double)k), NULL);
      break;
    case HN_TYPE_UTF8:
      HN_CHECK(hn_builder_append_str(b, k ? "second" : "first", -1), NULL);
      break;
    case HN_TYPE_LIST:
      HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), 7 + k), NULL);
      HN_CHECK(hn_builder_finish_element(b), NULL);
      break;
    case HN_TYPE_STRUCT:
      HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), 5 + k), NULL);
      HN_CHECK(hn_builder_append_str(hn_builder_child(b, 1), "x", -1), NULL);
      HN_CHECK(hn_builder_finish_element(b), NULL);
      break;
    default:
      HN_CHECK(hn_builder_append_object(b, &the_object), NULL);
      break;
  }
}

/* Rows of b and of each of its children, for "nothing changed" checks. */
static void lengths_of(hn_builder *b, int64_t out[3]) {
  out[0] = hn_builder_length(b);
  for (int64_t i = 0; i < 2; i++) {
    hn_builder *c = hn_builder_child(b, i);
    out[1 + i] = c ? hn_builder_length(c) : -1;
  }
}

/* No bitmap anywhere in the builder's live view (as before a failed call). */
static void assert_no_bitmaps(hn_builder *b) {
  const hn_array *v = hn__builder_view(b);
  assert_null(v->buffers[0]);
  for (int64_t i = 0; i < v->n_children; i++) assert_null(v->children[i]->buffers[0]);
}

/*
 * builder.h: "A failed append leaves the builder as it was." With an
 * allocator that serves no request above 4 KiB, one value plus 10000 nulls
 * (100000 for bool) must fail with HN_ENOMEM and change nothing: it used to
 * append nulls one at a time and stop at 256 rows (int64). The builder stays
 * usable.
 */
static void test_append_nulls_nomem_changes_nothing(void **state) {
  (void)state;
  bulk_types bt;
  bulk_types_init(&bt);
  for (int k = 0; k < N_BULK_TYPES; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_builder *b = NULL;
    HN_CHECK(hn_builder_create(&ta.alloc, bt.t[k], &b, NULL), NULL);
    append_one(b, 0);
    int64_t before[3], after[3];
    lengths_of(b, before);
    ta.max_request = 4096;
    /* 10000 need 10000 values or offsets; bool values are bits: 100000 bits overflow 4 KiB. */
    bool bits = hn_type_id_of(bt.t[k]) == HN_TYPE_BOOL;
    assert_int_equal(hn_builder_append_nulls(b, bits ? 100000 : 10000), HN_ENOMEM);
    lengths_of(b, after);
    assert_memory_equal(before, after, sizeof before);
    assert_non_null(strstr(hn_builder_last_error(b), bits ? "100000 nulls" : "10000 nulls"));
    assert_no_bitmaps(b);
    /* Still usable: a few nulls fit, and so does another value. */
    HN_CHECK(hn_builder_append_nulls(b, 3), NULL);
    append_one(b, 1);
    hn_array *arr = NULL;
    HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
    HN_CHECK(hn_array_validate(arr, true, NULL), NULL);
    assert_int_equal(hn_array_length(arr), 5);
    assert_int_equal(hn_array_null_count(arr), 3);
    assert_false(hn_array_is_null(arr, 0));
    assert_false(hn_array_is_null(arr, 4));
    for (int i = 1; i <= 3; i++) assert_true(hn_array_is_null(arr, i));
    hn_array_release(arr);
    hn_builder_destroy(b);
    assert_int_equal(ta.live, 0);
  }
  bulk_types_release(&bt);
}

/*
 * Counts that can never fit (more than INT32_MAX rows in one array) are
 * refused with HN_ERANGE at once, before any allocation, and change nothing.
 * INT32_MAX + 10 nulls on a bool builder used to take 19 s (appending
 * INT32_MAX nulls one by one first); INT64_MAX on int64 did not return.
 */
static void test_append_nulls_huge_counts(void **state) {
  (void)state;
  bulk_types bt;
  bulk_types_init(&bt);
  const int64_t counts[] = {(int64_t)INT32_MAX + 10, INT64_MAX, INT32_MAX};
  for (int k = 0; k < N_BULK_TYPES; k++)
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
      hn_test_alloc ta;
      hn_test_alloc_init(&ta, 0);
      hn_builder *b = NULL;
      HN_CHECK(hn_builder_create(&ta.alloc, bt.t[k], &b, NULL), NULL);
      append_one(b, 0);
      int64_t before[3], after[3];
      lengths_of(b, before);
      ta.max_request = 1 << 20; /* a regression fails fast instead of filling memory */
      int64_t allocs = ta.n_allocs;
      assert_int_equal(hn_builder_append_nulls(b, counts[c]), HN_ERANGE);
      assert_int_equal(ta.n_allocs, allocs); /* refused before allocating */
      assert_non_null(strstr(hn_builder_last_error(b), "INT32_MAX"));
      lengths_of(b, after);
      assert_memory_equal(before, after, sizeof before);
      assert_int_equal(hn_builder_reserve(b, counts[c]), HN_ERANGE);
      assert_int_equal(ta.n_allocs, allocs);
      hn_builder_destroy(b);
      assert_int_equal(ta.live, 0);
    }
  /* The two calls, with the default allocator. */
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_bool(), &b, NULL), NULL);
  assert_int_equal(hn_builder_append_nulls(b, (int64_t)INT32_MAX + 10), HN_ERANGE);
  assert_int_equal(hn_builder_length(b), 0);
  hn_builder_destroy(b);
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, NULL), NULL);
  assert_int_equal(hn_builder_append_nulls(b, INT64_MAX), HN_ERANGE);
  assert_int_equal(hn_builder_length(b), 0);
  assert_int_equal(hn_builder_append_nulls(b, -1), HN_EINVAL);
  HN_CHECK(hn_builder_append_nulls(b, 0), NULL);
  assert_int_equal(hn_builder_length(b), 0);
  hn_builder_destroy(b);
  bulk_types_release(&bt);
}

/*
 * Bulk nulls at every bit alignment give the same array as one null at a
 * time would: cleared validity bits, zero values, repeated offsets, and a
 * null in every struct field.
 */
static void test_append_nulls_bulk_layout(void **state) {
  (void)state;
  bulk_types bt;
  bulk_types_init(&bt);
  for (int k = 0; k < N_BULK_TYPES; k++)
    for (int64_t lead = 0; lead < 10; lead += 3)
      for (int64_t n = 1; n < 80; n += 13) {
        hn_builder *b = NULL;
        HN_CHECK(hn_builder_create(NULL, bt.t[k], &b, NULL), NULL);
        for (int64_t i = 0; i < lead; i++) append_one(b, 0);
        HN_CHECK(hn_builder_append_nulls(b, n), NULL);
        append_one(b, 1);
        hn_array *arr = NULL;
        HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
        HN_CHECK(hn_array_validate(arr, true, NULL), NULL);
        assert_int_equal(hn_array_length(arr), lead + n + 1);
        assert_int_equal(hn_array_null_count(arr), n);
        for (int64_t i = 0; i < lead + n + 1; i++) {
          hn_datum d = hn_array_get(arr, i);
          bool is_null = i >= lead && i < lead + n;
          assert_int_equal(d.is_null, is_null);
          if (d.type == HN_TYPE_UTF8 && is_null) assert_int_equal(d.v.str.size, 0);
          if (d.type == HN_TYPE_LIST && is_null) assert_int_equal(d.v.list.length, 0);
          if (d.type == HN_TYPE_STRUCT && is_null)
            for (int64_t f = 0; f < 2; f++) assert_true(hn_struct_view_field(d.v.strct, f).is_null);
        }
        if (hn_type_id_of(bt.t[k]) == HN_TYPE_LIST)
          assert_int_equal(hn_array_length(hn_array_child(arr, 0)), lead + 1);
        hn_array_release(arr);
        hn_builder_destroy(b);
      }
  bulk_types_release(&bt);
}

/*
 * The same promise for the other calls that take a count or size:
 * append_values, reserve and a long string fail with HN_ENOMEM under the
 * 4 KiB cap and leave every row (and the bitmap) as it was.
 */
static void test_bulk_appends_nomem_change_nothing(void **state) {
  (void)state;
  static int64_t values[10000];
  for (int64_t i = 0; i < 10000; i++) values[i] = i;
  static char text[10000];
  memset(text, 'y', sizeof text);
  for (int with_null = 0; with_null < 2; with_null++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_builder *b = NULL, *s = NULL;
    HN_CHECK(hn_builder_create(&ta.alloc, hn_type_int64(), &b, NULL), NULL);
    HN_CHECK(hn_builder_create(&ta.alloc, hn_type_utf8(), &s, NULL), NULL);
    HN_CHECK(hn_builder_append_int64(b, 42), NULL);
    HN_CHECK(hn_builder_append_str(s, "abc", -1), NULL);
    if (with_null) {
      HN_CHECK(hn_builder_append_null(b), NULL);
      HN_CHECK(hn_builder_append_null(s), NULL);
    }
    ta.max_request = 4096;
    assert_int_equal(hn_builder_append_values(b, values, 10000), HN_ENOMEM);
    assert_int_equal(hn_builder_length(b), 1 + with_null);
    assert_int_equal(hn_builder_reserve(b, 10000), HN_ENOMEM);
    assert_int_equal(hn_builder_reserve(s, 10000), HN_ENOMEM);
    assert_int_equal(hn_builder_append_str(s, text, sizeof text), HN_ENOMEM);
    assert_int_equal(hn_builder_length(s), 1 + with_null);
    /* 100 values fit: bulk validity bits are set for them. */
    HN_CHECK(hn_builder_append_values(b, values, 100), NULL);
    hn_array *arr = NULL, *sarr = NULL;
    HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
    HN_CHECK(hn_builder_finish(s, &sarr, NULL), NULL);
    HN_CHECK(hn_array_validate(arr, true, NULL), NULL);
    HN_CHECK(hn_array_validate(sarr, true, NULL), NULL);
    assert_int_equal(hn_array_length(arr), 101 + with_null);
    assert_int_equal(hn_array_null_count(arr), with_null);
    assert_int_equal(hn_array_get(arr, 0).v.i64, 42);
    for (int64_t i = 0; i < 100; i++) {
      hn_datum d = hn_array_get(arr, 1 + with_null + i);
      assert_false(d.is_null);
      assert_int_equal(d.v.i64, i);
    }
    assert_int_equal(hn_array_length(sarr), 1 + with_null);
    assert_int_equal(hn_array_get(sarr, 0).v.str.size, 3);
    hn_array_release(arr);
    hn_array_release(sarr);
    hn_builder_destroy(b);
    hn_builder_destroy(s);
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
      cmocka_unit_test(test_append_nulls_nomem_changes_nothing),
      cmocka_unit_test(test_append_nulls_huge_counts),
      cmocka_unit_test(test_append_nulls_bulk_layout),
      cmocka_unit_test(test_bulk_appends_nomem_change_nothing),
  };
  return cmocka_run_group_tests_name("builder_limits", tests, NULL, NULL);
}
