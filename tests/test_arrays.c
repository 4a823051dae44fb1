/* Buffers, builders, arrays, datum views, slicing, equality, object lifetime. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "data/data_internal.h"

static hn_array *build_int64(const hn_allocator *a, int64_t n, int null_every) {
  hn_builder *b = NULL;
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_create(a, hn_type_int64(), &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) {
    if (null_every && i % null_every == 0)
      HN_CHECK(hn_builder_append_null(b), NULL);
    else
      HN_CHECK(hn_builder_append_int64(b, i * 10), NULL);
  }
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  hn_builder_destroy(b);
  return arr;
}

static void test_buffers(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_buffer *b = NULL, *v = NULL, *w = NULL;
  HN_CHECK(hn_buffer_create(&ta.alloc, 100, &b, NULL), NULL);
  assert_int_equal((uintptr_t)hn_buffer_data(b) % 64, 0);
  assert_int_equal(hn_buffer_size(b), 100);
  uint8_t *m = hn_buffer_mutable_data(b);
  assert_non_null(m);
  for (int i = 0; i < 100; i++) assert_int_equal(m[i], 0);
  m[10] = 7;
  HN_CHECK(hn_buffer_view(b, 10, 20, &v, NULL), NULL);
  assert_null(hn_buffer_mutable_data(b)); /* shared now */
  assert_int_equal(hn_buffer_data(v)[0], 7);
  hn_error err;
  assert_int_equal(hn_buffer_view(b, 90, 20, &w, &err), HN_ERANGE);
  assert_non_null(strstr(err.message, "outside"));
  hn_buffer_release(b); /* the view keeps the parent alive */
  assert_int_equal(hn_buffer_data(v)[0], 7);
  hn_buffer_release(v);
  assert_int_equal(ta.live, 0);
  static char foreign[16] = "foreign";
  HN_CHECK(hn_buffer_wrap(NULL, foreign, 8, NULL, NULL, &w, NULL), NULL); /* static memory */
  assert_ptr_equal(hn_buffer_data(w), foreign);
  hn_buffer_release(w);
  hn_buffer_release(NULL);
}

static int wrap_released;
static void on_wrap_release(void *ctx, const void *data) {
  (void)data;
  wrap_released += *(int *)ctx;
}

static void test_buffer_wrap_release_once(void **state) {
  (void)state;
  int one = 1;
  char *mem = calloc(1, 32);
  assert_non_null(mem);
  hn_buffer *w = NULL, *v = NULL;
  wrap_released = 0;
  HN_CHECK(hn_buffer_wrap(NULL, mem, 32, on_wrap_release, &one, &w, NULL), NULL);
  HN_CHECK(hn_buffer_view(w, 0, 16, &v, NULL), NULL);
  hn_buffer_release(w);
  assert_int_equal(wrap_released, 0);
  hn_buffer_release(v);
  assert_int_equal(wrap_released, 1);
  free(mem);
}

static void test_int64_builder_and_datums(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_array *arr = build_int64(&ta.alloc, 1000, 7);
  assert_int_equal(hn_array_length(arr), 1000);
  assert_int_equal(hn_array_null_count(arr), 143);
  assert_non_null(hn_array_validity(arr));
  assert_int_equal((uintptr_t)hn_array_int64_values(arr) % 64, 0);
  for (int64_t i = 0; i < 1000; i++) {
    hn_datum d = hn_array_get(arr, i);
    assert_int_equal(d.type, HN_TYPE_INT64);
    assert_int_equal(d.is_null, i % 7 == 0);
    assert_int_equal(hn_array_is_null(arr, i), i % 7 == 0);
    if (!d.is_null) assert_int_equal(d.v.i64, i * 10);
  }
  assert_int_equal(hn_array_validate(arr, true, NULL), HN_OK);
  hn_array_release(arr);
  assert_int_equal(ta.live, 0);
  /* No nulls: no bitmap at all. */
  arr = build_int64(NULL, 10, 0);
  assert_null(hn_array_validity(arr));
  assert_int_equal(hn_array_null_count(arr), 0);
  hn_array_release(arr);
}

static void test_fixed_and_bool_builders(void **state) {
  (void)state;
  hn_builder *bf = NULL, *bd = NULL, *bb = NULL, *bi = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_float32(), &bf, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, hn_type_float64(), &bd, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, hn_type_bool(), &bb, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &bi, NULL), NULL);
  for (int i = 0; i < 77; i++) {
    HN_CHECK(hn_builder_append_float32(bf, (float)i / 2), NULL);
    HN_CHECK(hn_builder_append_float64(bd, i * 0.25), NULL);
    if (i == 5)
      HN_CHECK(hn_builder_append_null(bb), NULL);
    else
      HN_CHECK(hn_builder_append_bool(bb, i % 3 == 0), NULL);
  }
  int64_t vals[5] = {5, 4, 3, 2, 1};
  HN_CHECK(hn_builder_append_int64(bi, 9), NULL);
  HN_CHECK(hn_builder_append_null(bi), NULL);
  HN_CHECK(hn_builder_append_values(bi, vals, 5), NULL);
  assert_int_equal(hn_builder_append_values(bb, vals, 5), HN_ETYPE);
  assert_int_equal(hn_builder_append_int64(bd, 1), HN_ETYPE);
  assert_non_null(strstr(hn_builder_last_error(bd), "float64 builder"));
  hn_array *f = NULL, *d = NULL, *b = NULL, *ints = NULL;
  HN_CHECK(hn_builder_finish(bf, &f, NULL), NULL);
  HN_CHECK(hn_builder_finish(bd, &d, NULL), NULL);
  HN_CHECK(hn_builder_finish(bb, &b, NULL), NULL);
  HN_CHECK(hn_builder_finish(bi, &ints, NULL), NULL);
  assert_int_equal(hn_array_length(ints), 7);
  assert_true(hn_array_is_null(ints, 1));
  assert_int_equal(hn_array_get(ints, 6).v.i64, 1);
  assert_int_equal(hn_array_get(ints, 2).v.i64, 5);
  for (int i = 0; i < 77; i++) {
    assert_true(hn_array_get(f, i).v.f32 == (float)i / 2);
    assert_true(hn_array_float64_values(d)[i] == i * 0.25);
    hn_datum x = hn_array_get(b, i);
    assert_int_equal(x.is_null, i == 5);
    if (i != 5) assert_int_equal(x.v.b, i % 3 == 0);
  }
  assert_int_equal(hn_array_null_count(b), 1);
  /* The builder is reusable after finish. */
  hn_array *again = NULL;
  HN_CHECK(hn_builder_append_float32(bf, 1.5f), NULL);
  HN_CHECK(hn_builder_finish(bf, &again, NULL), NULL);
  assert_int_equal(hn_array_length(again), 1);
  hn_array *empty = NULL;
  HN_CHECK(hn_builder_finish(bb, &empty, NULL), NULL);
  assert_int_equal(hn_array_length(empty), 0);
  assert_int_equal(hn_array_validate(empty, true, NULL), HN_OK);
  hn_array *arrays[] = {f, d, b, ints, again, empty};
  for (int i = 0; i < 6; i++) hn_array_release(arrays[i]);
  hn_builder *builders[] = {bf, bd, bb, bi};
  for (int i = 0; i < 4; i++) hn_builder_destroy(builders[i]);
}

static void test_strings(void **state) {
  (void)state;
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_utf8(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_str(b, "hello", -1), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_str(b, "", 0), NULL);
  HN_CHECK(hn_builder_append_str(b, "wörld!", 7), NULL);
  assert_int_equal(hn_builder_append_int64(b, 1), HN_ETYPE);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  assert_int_equal(hn_array_length(arr), 4);
  hn_datum d = hn_array_get(arr, 0);
  assert_int_equal(d.v.str.size, 5);
  assert_memory_equal(d.v.str.data, "hello", 5);
  assert_true(hn_array_get(arr, 1).is_null);
  assert_int_equal(hn_array_get(arr, 2).v.str.size, 0);
  d = hn_array_get(arr, 3);
  assert_int_equal(d.v.str.size, 7);
  assert_memory_equal(d.v.str.data, "w\xc3\xb6rld!", 7);
  const int32_t *off = hn_array_offsets(arr);
  assert_int_equal(off[0], 0);
  assert_int_equal(off[2], 5); /* null slot repeats the offset */
  assert_int_equal(off[4], 12);
  assert_int_equal(hn_array_validate(arr, true, NULL), HN_OK);
  hn_array_release(arr);
  hn_builder_destroy(b);
}

static void test_nested_lists(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_array *arr = hn_test_list_list_utf8(&ta.alloc);
  assert_int_equal(hn_array_length(arr), 4);
  assert_int_equal(hn_array_null_count(arr), 1);
  hn_datum row0 = hn_array_get(arr, 0);
  assert_int_equal(row0.v.list.length, 2);
  hn_datum first = hn_list_view_get(row0.v.list, 0);
  assert_int_equal(first.v.list.length, 2);
  hn_datum bc = hn_list_view_get(first.v.list, 1);
  assert_memory_equal(bc.v.str.data, "bc", 2);
  assert_int_equal(hn_list_view_get(row0.v.list, 1).v.list.length, 0);
  assert_true(hn_array_get(arr, 1).is_null);
  hn_datum row2 = hn_array_get(arr, 2);
  hn_datum inner = hn_list_view_get(row2.v.list, 0);
  assert_true(hn_list_view_get(inner.v.list, 0).is_null);
  assert_memory_equal(hn_list_view_get(inner.v.list, 1).v.str.data, "d", 1);
  assert_int_equal(hn_array_get(arr, 3).v.list.length, 0);
  assert_int_equal(hn_array_validate(arr, true, NULL), HN_OK);
  /* Slices read through the parent's offsets. */
  hn_array *s = NULL;
  HN_CHECK(hn_array_slice(arr, 2, 2, &s, NULL), NULL);
  assert_int_equal(hn_array_offset(s), 2);
  assert_int_equal(hn_array_null_count(s), 0);
  assert_int_equal(hn_list_view_get(hn_array_get(s, 0).v.list, 0).v.list.length, 2);
  assert_int_equal(hn_array_validate(s, true, NULL), HN_OK);
  /* Copy through datums gives an equal array. */
  hn_builder *copy = NULL;
  hn_array *copied = NULL;
  HN_CHECK(hn_builder_create(&ta.alloc, hn_array_type(arr), &copy, NULL), NULL);
  for (int64_t i = 0; i < 4; i++)
    HN_CHECK(hn_builder_append_datum(copy, hn_array_get(arr, i)), NULL);
  HN_CHECK(hn_builder_finish(copy, &copied, NULL), NULL);
  assert_true(hn_array_equals(arr, copied));
  hn_builder_destroy(copy);
  hn_array_release(copied);
  hn_array_release(arr);
  assert_int_equal(hn_array_length(s), 2); /* slice alive after the parent is released */
  hn_array_release(s);
  assert_int_equal(ta.live, 0);
}

static void test_struct_builder(void **state) {
  (void)state;
  const char *names[] = {"id", "name"};
  const hn_type *types[] = {hn_type_int64(), hn_type_utf8()};
  const hn_type *st = NULL;
  HN_CHECK(hn_type_struct_create(NULL, 2, names, types, &st, NULL), NULL);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, st, &b, NULL), NULL);
  for (int i = 0; i < 10; i++) {
    if (i == 3) {
      HN_CHECK(hn_builder_append_null(b), NULL);
      continue;
    }
    HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), i), NULL);
    if (i == 5)
      HN_CHECK(hn_builder_append_null(hn_builder_child(b, 1)), NULL);
    else
      HN_CHECK(hn_builder_append_str(hn_builder_child(b, 1), "x", 1), NULL);
    HN_CHECK(hn_builder_finish_element(b), NULL);
  }
  /* Unequal field lengths are refused, naming the field. */
  HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), 99), NULL);
  assert_int_equal(hn_builder_finish_element(b), HN_EINVAL);
  assert_non_null(strstr(hn_builder_last_error(b), "'name'"));
  hn_error err;
  hn_array *arr = NULL;
  assert_int_equal(hn_builder_finish(b, &arr, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "'id' has 11 rows but the struct has 10"));
  HN_CHECK(hn_builder_append_str(hn_builder_child(b, 1), "y", 1), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  assert_int_equal(hn_array_length(arr), 11);
  assert_int_equal(hn_array_null_count(arr), 1);
  hn_datum row = hn_array_get(arr, 4);
  assert_int_equal(hn_struct_view_field(row.v.strct, 0).v.i64, 4);
  assert_true(hn_struct_view_field(hn_array_get(arr, 5).v.strct, 1).is_null);
  assert_true(hn_array_get(arr, 3).is_null);
  /* Struct slices apply their offset to the children. */
  hn_array *s = NULL, *field = NULL;
  HN_CHECK(hn_array_slice(arr, 4, 3, &s, NULL), NULL);
  assert_int_equal(hn_struct_view_field(hn_array_get(s, 0).v.strct, 0).v.i64, 4);
  HN_CHECK(hn_array_struct_field(s, 0, &field, NULL), NULL);
  assert_int_equal(hn_array_length(field), 3);
  assert_int_equal(hn_array_int64_values(field)[2], 6);
  assert_int_equal(hn_array_validate(s, true, NULL), HN_OK);
  assert_int_equal(hn_array_struct_field(field, 0, &s, &err), HN_ETYPE);
  hn_array_release(field);
  hn_array_release(s);
  hn_array_release(arr);
  hn_builder_destroy(b);
  hn_type_release(st);
}

static void test_slices_and_equality(void **state) {
  (void)state;
  hn_array *a = build_int64(NULL, 100, 3), *b = build_int64(NULL, 100, 3);
  assert_true(hn_array_equals(a, b));
  hn_array *sa = NULL, *sb = NULL;
  HN_CHECK(hn_array_slice(a, 13, 50, &sa, NULL), NULL);
  HN_CHECK(hn_array_slice(b, 13, 50, &sb, NULL), NULL);
  assert_true(hn_array_equals(sa, sb));
  assert_false(hn_array_equals(a, sa));
  assert_ptr_equal(hn_array_int64_values(sa), hn_array_int64_values(a) + 13); /* zero copy */
  assert_int_equal(hn_array_null_count(sa), 16);                              /* 15, 18, ..., 60 */
  hn_array *empty = NULL;
  HN_CHECK(hn_array_slice(a, 100, 0, &empty, NULL), NULL);
  assert_int_equal(hn_array_length(empty), 0);
  hn_error err;
  hn_array *bad = NULL;
  assert_int_equal(hn_array_slice(a, 90, 11, &bad, &err), HN_ERANGE);
  assert_non_null(strstr(err.message, "outside an array of 100 rows"));
  hn_array *c = build_int64(NULL, 100, 4);
  assert_false(hn_array_equals(a, c));
  hn_array *arrays[] = {a, b, sa, sb, empty, c};
  for (int i = 0; i < 6; i++) hn_array_release(arrays[i]);
}

static int objects_freed;
typedef struct model {
  int id;
} model;
static void model_free(void *ctx, void *o) {
  (void)ctx;
  objects_freed++;
  free(o);
}
static void *model_copy(void *ctx, const void *o) {
  (void)ctx;
  model *m = malloc(sizeof *m);
  if (m) *m = *(const model *)o;
  return m;
}

static void test_objects_freed_once(void **state) {
  (void)state;
  hn_object_vtable vt = {model_free, model_copy, NULL, NULL};
  const hn_type *t = NULL;
  HN_CHECK(hn_type_object_create(NULL, "model", &vt, &t, NULL), NULL);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, t, &b, NULL), NULL);
  objects_freed = 0;
  for (int i = 0; i < 5; i++) {
    model *m = malloc(sizeof *m);
    m->id = i;
    HN_CHECK(hn_builder_append_object(b, m), NULL);
  }
  HN_CHECK(hn_builder_append_object(b, NULL), NULL); /* a null */
  hn_array *arr = NULL, *s = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  assert_int_equal(hn_array_null_count(arr), 1);
  assert_int_equal(((model *)hn_array_get(arr, 3).v.object)->id, 3);
  HN_CHECK(hn_array_slice(arr, 1, 2, &s, NULL), NULL);
  hn_array_release(arr);
  assert_int_equal(objects_freed, 0); /* the slice still holds them */
  hn_builder *copy = NULL;
  HN_CHECK(hn_builder_create(NULL, t, &copy, NULL), NULL);
  HN_CHECK(hn_builder_append_datum(copy, hn_array_get(s, 0)), NULL);
  hn_array_release(s);
  assert_int_equal(objects_freed, 5);
  /* Objects still in a builder are freed with it. */
  model *m = malloc(sizeof *m);
  HN_CHECK(hn_builder_append_object(copy, m), NULL);
  hn_builder_destroy(copy);
  assert_int_equal(objects_freed, 7);
  assert_int_equal(hn_builder_append_int64(b, 1), HN_ETYPE);
  hn_builder_destroy(b);
  hn_type_release(t);
}

/* Build a nested value with the k-th allocation failing, for every k. */
static void test_builder_allocation_failure(void **state) {
  (void)state;
  bool succeeded = false;
  for (int64_t k = 1; !succeeded; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    const hn_type *inner = NULL, *outer = NULL;
    hn_builder *b = NULL;
    hn_array *arr = NULL;
    hn_status st = hn_type_list_create(&ta.alloc, hn_type_utf8(), &inner, NULL);
    if (st == HN_OK) st = hn_type_list_create(&ta.alloc, inner, &outer, NULL);
    if (st == HN_OK) st = hn_builder_create(&ta.alloc, outer, &b, NULL);
    for (int i = 0; st == HN_OK && i < 200; i++) {
      hn_builder *mid = hn_builder_child(b, 0);
      st = hn_builder_append_str(hn_builder_child(mid, 0), "some text", -1);
      if (st == HN_OK) st = hn_builder_finish_element(mid);
      if (st == HN_OK) st = i % 10 ? hn_builder_finish_element(b) : hn_builder_append_null(b);
    }
    hn_error err;
    if (st == HN_OK) st = hn_builder_finish(b, &arr, &err);
    if (st == HN_OK) {
      succeeded = true;
      assert_int_equal(hn_array_length(arr), 200);
      assert_int_equal(hn_array_validate(arr, true, NULL), HN_OK);
    } else {
      assert_int_equal(st, HN_ENOMEM);
    }
    hn_array_release(arr);
    hn_builder_destroy(b);
    hn_type_release(inner);
    hn_type_release(outer);
    assert_int_equal(ta.live, 0);
  }
}

/* Arrays are shared across threads; retain/release must be race-free (TSan). */
static void *release_many(void *arg) {
  hn_array **arrays = arg;
  for (int i = 0; i < 1000; i++) {
    int64_t sum = 0;
    for (int64_t j = 0; j < hn_array_length(arrays[i]); j++)
      sum += hn_array_get(arrays[i], j).v.i64;
    assert_true(sum >= 0);
    hn_array_release(arrays[i]);
  }
  return NULL;
}

static void test_shared_release_across_threads(void **state) {
  (void)state;
  hn_array *base = build_int64(NULL, 64, 0);
  hn_array *mine[1000], *theirs[1000];
  for (int i = 0; i < 1000; i++) {
    HN_CHECK(hn_array_slice(base, i % 32, 32, &mine[i], NULL), NULL);
    theirs[i] = hn_array_retain(mine[i]);
  }
  hn_array_release(base);
  pthread_t t1, t2;
  assert_int_equal(pthread_create(&t1, NULL, release_many, mine), 0);
  assert_int_equal(pthread_create(&t2, NULL, release_many, theirs), 0);
  pthread_join(t1, NULL);
  pthread_join(t2, NULL);
}

/* The live view reads rows while the builder is still being appended to. */
static void test_builder_live_view_and_truncate(void **state) {
  (void)state;
  const hn_type *lt = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_utf8(), &lt, NULL), NULL);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, lt, &b, NULL), NULL);
  for (int i = 0; i < 100; i++) {
    if (i == 50) {
      HN_CHECK(hn_builder_append_null(b), NULL);
    } else {
      for (int j = 0; j < i % 3; j++)
        HN_CHECK(hn_builder_append_str(hn_builder_child(b, 0), "ab", 2), NULL);
      HN_CHECK(hn_builder_finish_element(b), NULL);
    }
    hn_datum d = hn_array_get(hn__builder_view(b), i);
    assert_int_equal(d.is_null, i == 50);
    if (i != 50) {
      assert_int_equal(d.v.list.length, i % 3);
      if (i % 3) assert_memory_equal(hn_list_view_get(d.v.list, 0).v.str.data, "ab", 2);
    }
  }
  hn__builder_truncate(b, 40);
  assert_int_equal(hn_builder_length(b), 40);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  assert_int_equal(hn_array_length(arr), 40);
  assert_int_equal(hn_array_null_count(arr), 0);
  assert_int_equal(hn_array_validate(arr, true, NULL), HN_OK);
  hn_array_release(arr);
  hn_builder_destroy(b);
  hn_type_release(lt);
}

static void test_create_fixed_in_place(void **state) {
  (void)state;
  hn_buffer *values = NULL, *validity = NULL;
  HN_CHECK(hn_buffer_create_uninit(NULL, 10 * 8, &values, NULL), NULL);
  for (int i = 80; i < 128; i++) assert_int_equal(hn_buffer_data(values)[i], 0); /* padding */
  double *v = (double *)hn_buffer_mutable_data(values);
  for (int i = 0; i < 10; i++) v[i] = i * 1.5;
  HN_CHECK(hn_buffer_create(NULL, 2, &validity, NULL), NULL);
  uint8_t *bits = hn_buffer_mutable_data(validity);
  bits[0] = 0xff;
  bits[1] = 0x01; /* rows 9 is null */
  hn_array *arr = NULL;
  HN_CHECK(hn_array_create_fixed(NULL, hn_type_float64(), 10, validity, values, &arr, NULL), NULL);
  assert_ptr_equal(hn_array_float64_values(arr), v); /* no copy */
  assert_int_equal(hn_array_null_count(arr), 1);
  assert_true(hn_array_is_null(arr, 9));
  assert_true(hn_array_get(arr, 3).v.f64 == 4.5);
  assert_int_equal(hn_array_validate(arr, true, NULL), HN_OK);
  hn_error err;
  hn_array *bad = NULL;
  assert_int_equal(hn_array_create_fixed(NULL, hn_type_float64(), 11, NULL, values, &bad, &err),
                   HN_EINVAL);
  assert_non_null(strstr(err.message, "11 float64 values need 88"));
  assert_int_equal(hn_array_create_fixed(NULL, hn_type_utf8(), 1, NULL, values, &bad, &err),
                   HN_ETYPE);
  hn_buffer_release(values);
  hn_buffer_release(validity);
  hn_array_release(arr);
}

/*
 * Issue 11, item 1: length * value size wrapped, so huge lengths passed the
 * "buffer too small" check and the array read far outside its 16 bytes.
 * array.h promises HN_EINVAL for a buffer too small: every such length must
 * get it, and nothing may be created.
 */
static void test_create_fixed_huge_lengths(void **state) {
  (void)state;
  hn_buffer *v = NULL;
  HN_CHECK(hn_buffer_create(NULL, 16, &v, NULL), NULL);
  const int64_t p60 = (int64_t)1 << 60, p61 = (int64_t)1 << 61, p62 = (int64_t)1 << 62;
  const struct {
    const hn_type *type;
    int64_t length;
  } cases[] = {
      {hn_type_int64(), INT64_MAX},   {hn_type_int64(), p61},      {hn_type_int64(), p60 + 1},
      {hn_type_int64(), p60},         {hn_type_int64(), 3},        {hn_type_float64(), p61},
      {hn_type_float64(), INT64_MAX}, {hn_type_float32(), p62},    {hn_type_float32(), p61 + 1},
      {hn_type_float32(), INT64_MAX}, {hn_type_bool(), INT64_MAX}, {hn_type_bool(), INT64_MAX - 6},
      {hn_type_bool(), 129},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    hn_array *a = NULL;
    hn_error err;
    hn_error_reset(&err);
    hn_status st = hn_array_create_fixed(NULL, cases[i].type, cases[i].length, NULL, v, &a, &err);
    if (st != HN_EINVAL)
      print_error("case %zu: %s of length %lld gave %s\n", i,
                  hn_type_id_name(hn_type_id_of(cases[i].type)), (long long)cases[i].length,
                  hn_status_str(st));
    assert_int_equal(st, HN_EINVAL);
    assert_null(a);
    assert_int_equal(err.code, HN_EINVAL);
    assert_non_null(strstr(err.message, "values buffer has 16 bytes"));
  }
  /* A validity bitmap too short for a huge length is refused too (values large enough). */
  hn_buffer *bits = NULL;
  HN_CHECK(hn_buffer_create(NULL, 1, &bits, NULL), NULL);
  hn_array *a = NULL;
  assert_int_equal(hn_array_create_fixed(NULL, hn_type_bool(), 128, bits, v, &a, NULL), HN_EINVAL);
  assert_null(a);
  /* The largest lengths that fit are still accepted. */
  HN_CHECK(hn_array_create_fixed(NULL, hn_type_int64(), 2, NULL, v, &a, NULL), NULL);
  hn_array_release(a);
  HN_CHECK(hn_array_create_fixed(NULL, hn_type_bool(), 128, NULL, v, &a, NULL), NULL);
  hn_array_release(a);
  hn_buffer_release(bits);
  hn_buffer_release(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_buffers),
      cmocka_unit_test(test_buffer_wrap_release_once),
      cmocka_unit_test(test_int64_builder_and_datums),
      cmocka_unit_test(test_fixed_and_bool_builders),
      cmocka_unit_test(test_strings),
      cmocka_unit_test(test_nested_lists),
      cmocka_unit_test(test_struct_builder),
      cmocka_unit_test(test_slices_and_equality),
      cmocka_unit_test(test_objects_freed_once),
      cmocka_unit_test(test_builder_allocation_failure),
      cmocka_unit_test(test_shared_release_across_threads),
      cmocka_unit_test(test_builder_live_view_and_truncate),
      cmocka_unit_test(test_create_fixed_in_place),
      cmocka_unit_test(test_create_fixed_huge_lengths),
  };
  return cmocka_run_group_tests_name("arrays", tests, NULL, NULL);
}
