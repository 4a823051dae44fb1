/*
 * Arrow C Data / C Stream interface: export → import round trips for every
 * type, the release contract (once, moves, moving children out, buffers
 * outliving the producer), zero copy, allocation failure, streams, and the
 * UTF-8 validator.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

/* ---- array builders ---------------------------------------------------- */

static hn_builder *new_builder(const hn_allocator *a, const hn_type *t) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(a, t, &b, NULL), NULL);
  return b;
}

static hn_array *finish(hn_builder *b) {
  hn_array *arr = NULL;
  hn_error err;
  HN_CHECK(hn_builder_finish(b, &arr, &err), &err);
  hn_builder_destroy(b);
  return arr;
}

static hn_array *build_bool(const hn_allocator *a) {
  hn_builder *b = new_builder(a, hn_type_bool());
  for (int i = 0; i < 70; i++) {
    if (i % 9 == 4)
      HN_CHECK(hn_builder_append_null(b), NULL);
    else
      HN_CHECK(hn_builder_append_bool(b, i % 3 == 0), NULL);
  }
  return finish(b);
}

static hn_array *build_int64(const hn_allocator *a, int64_t n, int null_every) {
  hn_builder *b = new_builder(a, hn_type_int64());
  for (int64_t i = 0; i < n; i++) {
    if (null_every && i % null_every == 1)
      HN_CHECK(hn_builder_append_null(b), NULL);
    else
      HN_CHECK(hn_builder_append_int64(b, i * 10 - 7), NULL);
  }
  return finish(b);
}

static hn_array *build_float32(const hn_allocator *a) {
  hn_builder *b = new_builder(a, hn_type_float32());
  for (int i = 0; i < 33; i++) {
    if (i == 3)
      HN_CHECK(hn_builder_append_null(b), NULL);
    else
      HN_CHECK(hn_builder_append_float32(b, (float)i / 3.0f), NULL);
  }
  return finish(b);
}

static hn_array *build_float64(const hn_allocator *a) {
  hn_builder *b = new_builder(a, hn_type_float64());
  double special[] = {0.0, -0.0, 1e308, -1e-308, 3.5};
  for (int i = 0; i < 5; i++) HN_CHECK(hn_builder_append_float64(b, special[i]), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_float64(b, 2.25), NULL);
  return finish(b);
}

static const char *const utf8_values[] = {"hello",
                                          NULL,
                                          "",
                                          "h\xc3\xa9llo w\xc3\xb6rld",
                                          "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
                                          "\xf0\x9f\x99\x82",
                                          "a fairly long ascii string to use the fast path",
                                          "\xf4\x8f\xbf\xbf"};

static hn_array *build_utf8(const hn_allocator *a) {
  hn_builder *b = new_builder(a, hn_type_utf8());
  for (size_t i = 0; i < sizeof utf8_values / sizeof utf8_values[0]; i++) {
    if (utf8_values[i])
      HN_CHECK(hn_builder_append_str(b, utf8_values[i], -1), NULL);
    else
      HN_CHECK(hn_builder_append_null(b), NULL);
  }
  return finish(b);
}

static hn_array *build_binary(const hn_allocator *a) {
  hn_builder *b = new_builder(a, hn_type_binary());
  HN_CHECK(hn_builder_append_str(b, "\x00\xff\xfe", 3), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_str(b, "", 0), NULL);
  HN_CHECK(hn_builder_append_str(b, "\xc0\x80 not utf8", 11), NULL);
  return finish(b);
}

static void append_ints(hn_builder *b, const int64_t *v, int n) {
  for (int i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, v[i]), NULL);
}

/* list<int64>: [[1,2,3], null, [], [4], [5,6]] */
static hn_array *build_list_int64(const hn_allocator *a) {
  const hn_type *t = NULL;
  HN_CHECK(hn_type_list_create(a, hn_type_int64(), &t, NULL), NULL);
  hn_builder *b = new_builder(a, t);
  hn_builder *items = hn_builder_child(b, 0);
  int64_t v[] = {1, 2, 3, 4, 5, 6};
  append_ints(items, v, 3);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  append_ints(items, v + 3, 1);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  append_ints(items, v + 4, 2);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  hn_type_release(t);
  return finish(b);
}

/* struct<a: int64, b: utf8, c: list<int64>> with null fields and null rows. */
static const hn_type *struct_type(const hn_allocator *a) {
  const hn_type *list = NULL, *t = NULL;
  HN_CHECK(hn_type_list_create(a, hn_type_int64(), &list, NULL), NULL);
  const char *names[] = {"a", "b", "c"};
  const hn_type *types[] = {hn_type_int64(), hn_type_utf8(), list};
  HN_CHECK(hn_type_struct_create(a, 3, names, types, &t, NULL), NULL);
  hn_type_release(list);
  return t;
}

static hn_array *build_struct(const hn_allocator *a) {
  const hn_type *t = struct_type(a);
  hn_builder *b = new_builder(a, t);
  hn_builder *fa = hn_builder_child(b, 0), *fb = hn_builder_child(b, 1),
             *fc = hn_builder_child(b, 2), *items = hn_builder_child(fc, 0);
  for (int64_t i = 0; i < 12; i++) {
    if (i % 4 == 1) {
      HN_CHECK(hn_builder_append_null(b), NULL);
      continue;
    }
    if (i % 3 == 0)
      HN_CHECK(hn_builder_append_null(fa), NULL);
    else
      HN_CHECK(hn_builder_append_int64(fa, i), NULL);
    if (i % 5 == 2)
      HN_CHECK(hn_builder_append_null(fb), NULL);
    else
      HN_CHECK(hn_builder_append_str(fb, "row", -1), NULL);
    if (i % 6 == 3) {
      HN_CHECK(hn_builder_append_null(fc), NULL);
    } else {
      for (int64_t k = 0; k < i % 3; k++) HN_CHECK(hn_builder_append_int64(items, k), NULL);
      HN_CHECK(hn_builder_finish_element(fc), NULL);
    }
    HN_CHECK(hn_builder_finish_element(b), NULL);
  }
  hn_type_release(t);
  return finish(b);
}

static hn_table *build_table(const hn_allocator *a, int64_t rows, int64_t seed) {
  hn_builder *bi = new_builder(a, hn_type_int64()), *bs = new_builder(a, hn_type_utf8());
  for (int64_t i = 0; i < rows; i++) {
    HN_CHECK(hn_builder_append_int64(bi, seed + i), NULL);
    if (i % 3 == 2)
      HN_CHECK(hn_builder_append_null(bs), NULL);
    else
      HN_CHECK(hn_builder_append_str(bs, "tok\xc3\xa9n", -1), NULL);
  }
  hn_array *cols[2] = {finish(bi), finish(bs)};
  const char *names[] = {"id", "text"};
  hn_table *t = NULL;
  HN_CHECK(hn_table_create(a, 2, names, cols, &t, NULL), NULL);
  hn_array_release(cols[0]);
  hn_array_release(cols[1]);
  return t;
}

/* ---- round trips ------------------------------------------------------- */

/* Export with schema, import with a counting allocator, compare, tear down. */
static void roundtrip(hn_array *arr) {
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_error err;
  struct ArrowSchema s;
  struct ArrowArray a;
  HN_CHECK(hn_array_export(arr, &s, &a, &err), &err);
  assert_non_null(s.release);
  assert_non_null(a.release);
  assert_int_equal(a.length, hn_array_length(arr));
  assert_int_equal(a.offset, hn_array_offset(arr));
  assert_int_equal(a.null_count, hn_array_null_count(arr));
  if (hn_array_null_count(arr) == 0) assert_null(a.buffers[0]);
  hn_array *back = NULL;
  HN_CHECK(hn_array_import(&ta.alloc, &s, &a, NULL, &back, &err), &err);
  assert_null(a.release);
  assert_true(hn_type_equals(hn_array_type(arr), hn_array_type(back)));
  assert_true(hn_array_equals(arr, back));
  HN_CHECK(hn_array_validate(back, true, &err), &err);
  s.release(&s);
  assert_null(s.release);
  hn_array_release(back);
  assert_int_equal(ta.live, 0);
}

/* The array, then slices: dropping the first row, the last, a middle one, an empty one. */
static void roundtrip_with_slices(hn_array *arr) {
  roundtrip(arr);
  int64_t n = hn_array_length(arr);
  int64_t ranges[][2] = {{1, n - 1}, {0, n - 1}, {n / 2, n > 2 ? 1 : 0}, {n / 3, 0}, {n, 0}};
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++) {
    if (ranges[i][1] < 0) continue;
    hn_array *s = NULL;
    HN_CHECK(hn_array_slice(arr, ranges[i][0], ranges[i][1], &s, NULL), NULL);
    roundtrip(s);
    hn_array_release(s);
  }
  hn_array_release(arr);
}

static void test_roundtrip_primitives(void **state) {
  (void)state;
  roundtrip_with_slices(build_bool(NULL));
  roundtrip_with_slices(build_int64(NULL, 100, 7));
  roundtrip_with_slices(build_int64(NULL, 100, 0));
  roundtrip_with_slices(build_float32(NULL));
  roundtrip_with_slices(build_float64(NULL));
  roundtrip_with_slices(build_utf8(NULL));
  roundtrip_with_slices(build_binary(NULL));
}

static void test_roundtrip_nested(void **state) {
  (void)state;
  roundtrip_with_slices(build_list_int64(NULL));
  roundtrip_with_slices(hn_test_list_list_utf8(NULL));
  roundtrip_with_slices(build_struct(NULL));
}

static void test_roundtrip_empty(void **state) {
  (void)state;
  const hn_type *list = NULL, *st = struct_type(NULL);
  HN_CHECK(hn_type_list_create(NULL, hn_type_utf8(), &list, NULL), NULL);
  const hn_type *types[] = {hn_type_bool(),
                            hn_type_int64(),
                            hn_type_float32(),
                            hn_type_float64(),
                            hn_type_utf8(),
                            hn_type_binary(),
                            list,
                            st};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
    hn_array *arr = finish(new_builder(NULL, types[i]));
    assert_int_equal(hn_array_length(arr), 0);
    roundtrip(arr);
    hn_array_release(arr);
  }
  hn_type_release(list);
  hn_type_release(st);
}

/* struct<> with rows (one null) and a table without columns. */
static void test_roundtrip_no_fields(void **state) {
  (void)state;
  const hn_type *t = NULL;
  HN_CHECK(hn_type_struct_create(NULL, 0, NULL, NULL, &t, NULL), NULL);
  hn_builder *b = new_builder(NULL, t);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  hn_array *arr = finish(b);
  assert_int_equal(hn_array_length(arr), 3);
  roundtrip_with_slices(arr);
  hn_table *table = NULL, *back = NULL;
  HN_CHECK(hn_table_create(NULL, 0, NULL, NULL, &table, NULL), NULL);
  struct ArrowSchema s;
  struct ArrowArray a;
  hn_error err;
  HN_CHECK(hn_table_export(table, &s, &a, &err), &err);
  assert_int_equal(s.n_children, 0);
  HN_CHECK(hn_table_import(NULL, &s, &a, NULL, &back, &err), &err);
  assert_true(hn_table_equals(table, back));
  s.release(&s);
  hn_table_release(back);
  hn_table_release(table);
  hn_type_release(t);
}

static void test_export_schema_shape(void **state) {
  (void)state;
  hn_array *arr = build_struct(NULL);
  struct ArrowSchema s;
  struct ArrowArray a;
  hn_error err;
  HN_CHECK(hn_array_export(arr, &s, &a, &err), &err);
  assert_string_equal(s.format, "+s");
  assert_int_equal(s.n_children, 3);
  assert_null(s.metadata);
  assert_null(s.dictionary);
  assert_true(s.flags & ARROW_FLAG_NULLABLE);
  const char *names[] = {"a", "b", "c"}, *formats[] = {"l", "u", "+l"};
  for (int i = 0; i < 3; i++) {
    assert_string_equal(s.children[i]->name, names[i]);
    assert_string_equal(s.children[i]->format, formats[i]);
    assert_true(s.children[i]->flags & ARROW_FLAG_NULLABLE);
  }
  assert_string_equal(s.children[2]->children[0]->format, "l");
  assert_string_equal(s.children[2]->children[0]->name, "item");
  assert_int_equal(a.n_buffers, 1);
  assert_int_equal(a.n_children, 3);
  assert_int_equal(a.children[1]->n_buffers, 3);
  assert_int_equal(a.children[2]->n_buffers, 2);
  assert_int_equal(a.children[2]->n_children, 1);
  assert_non_null(a.buffers[0]); /* null rows */
  s.release(&s);
  a.release(&a);
  hn_array_release(arr);

  /* hn_type_export and the primitive formats. */
  const hn_type *prims[] = {hn_type_bool(),    hn_type_int64(), hn_type_float32(),
                            hn_type_float64(), hn_type_utf8(),  hn_type_binary()};
  const char *pf[] = {"b", "l", "f", "g", "u", "z"};
  for (int i = 0; i < 6; i++) {
    HN_CHECK(hn_type_export(prims[i], "x", &s, &err), &err);
    assert_string_equal(s.format, pf[i]);
    assert_string_equal(s.name, "x");
    assert_int_equal(s.n_children, 0);
    const hn_type *back = NULL;
    HN_CHECK(hn_type_import(NULL, &s, &back, &err), &err);
    assert_ptr_equal(back, prims[i]);
    s.release(&s);
  }
  HN_CHECK(hn_type_export(hn_type_int64(), NULL, &s, &err), &err);
  assert_null(s.name);
  s.release(&s);
}

static void test_roundtrip_tables(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = build_table(NULL, 50, 100);
  hn_table *sliced = NULL;
  HN_CHECK(hn_table_slice(t, 7, 30, &sliced, NULL), NULL);
  hn_table *tables[] = {t, sliced};
  for (int i = 0; i < 2; i++) {
    hn_error err;
    struct ArrowSchema s;
    struct ArrowArray a;
    HN_CHECK(hn_table_export(tables[i], &s, &a, &err), &err);
    assert_string_equal(s.format, "+s");
    assert_int_equal(s.flags, 0);
    assert_string_equal(s.children[0]->name, "id");
    assert_string_equal(s.children[1]->name, "text");
    assert_int_equal(a.length, hn_table_num_rows(tables[i]));
    assert_int_equal(a.null_count, 0);
    hn_table *back = NULL;
    HN_CHECK(hn_table_import(&ta.alloc, &s, &a, NULL, &back, &err), &err);
    assert_null(a.release);
    assert_true(hn_table_equals(tables[i], back));
    HN_CHECK(hn_table_validate(back, true, &err), &err);
    s.release(&s);
    hn_table_release(back);
  }
  /* A struct array with an offset imports as a table of sliced columns. */
  hn_array *st = build_struct(NULL), *ss = NULL;
  HN_CHECK(hn_array_slice(st, 2, 2, &ss, NULL), NULL); /* rows 2 and 3 have no null row */
  struct ArrowSchema s;
  struct ArrowArray a;
  HN_CHECK(hn_array_export(ss, &s, &a, NULL), NULL);
  hn_table *back = NULL;
  hn_error err;
  HN_CHECK(hn_table_import(&ta.alloc, &s, &a, NULL, &back, &err), &err);
  assert_int_equal(hn_table_num_rows(back), 2);
  assert_int_equal(hn_table_num_columns(back), 3);
  assert_int_equal(hn_array_get(hn_table_column(back, 0), 0).v.i64, 2);
  s.release(&s);
  hn_table_release(back);
  hn_array_release(ss);
  hn_array_release(st);
  hn_table_release(sliced);
  hn_table_release(t);
  assert_int_equal(ta.live, 0);
}

/* ---- release contract -------------------------------------------------- */

static int array_releases;
static void (*original_array_release)(struct ArrowArray *);
static void counting_array_release(struct ArrowArray *a) {
  array_releases++;
  a->release = original_array_release;
  a->release(a);
  assert_null(a->release);
}
static void count_releases(struct ArrowArray *a) {
  array_releases = 0;
  original_array_release = a->release;
  a->release = counting_array_release;
}

static void test_release_once(void **state) {
  (void)state;
  hn_array *arr = build_int64(NULL, 64, 5);
  struct ArrowArray a;
  HN_CHECK(hn_array_export(arr, NULL, &a, NULL), NULL);
  count_releases(&a);
  a.release(&a);
  assert_int_equal(array_releases, 1);
  assert_null(a.release);

  /* Through import: the producer is released once, when the last buffer goes. */
  struct ArrowSchema s;
  HN_CHECK(hn_array_export(arr, &s, &a, NULL), NULL);
  count_releases(&a);
  hn_array *back = NULL;
  HN_CHECK(hn_array_import(NULL, &s, &a, NULL, &back, NULL), NULL);
  assert_null(a.release);
  assert_int_equal(array_releases, 0); /* zero-copy: still in use */
  hn_array *slice = NULL;
  HN_CHECK(hn_array_slice(back, 3, 10, &slice, NULL), NULL);
  hn_array_release(back);
  assert_int_equal(array_releases, 0);
  hn_array_release(slice);
  assert_int_equal(array_releases, 1);
  s.release(&s);
  hn_array_release(arr);
}

static void test_release_after_move(void **state) {
  (void)state;
  hn_array *arr = hn_test_list_list_utf8(NULL);
  struct ArrowSchema s;
  struct ArrowArray a;
  HN_CHECK(hn_array_export(arr, &s, &a, NULL), NULL);
  count_releases(&a);
  /* Move both structs to the heap: bitwise copy, then mark the source released. */
  struct ArrowArray *moved = malloc(sizeof *moved);
  struct ArrowSchema *moved_schema = malloc(sizeof *moved_schema);
  memcpy(moved, &a, sizeof a);
  memcpy(moved_schema, &s, sizeof s);
  memset(&a, 0xAB, sizeof a); /* nothing may still point into the old location */
  memset(&s, 0xAB, sizeof s);
  a.release = NULL;
  s.release = NULL;
  hn_array_release(arr);
  hn_array *back = NULL;
  hn_error err;
  HN_CHECK(hn_array_import(NULL, moved_schema, moved, NULL, &back, &err), &err);
  assert_int_equal(hn_array_length(back), 4);
  hn_array_release(back);
  assert_int_equal(array_releases, 1);
  moved_schema->release(moved_schema);
  assert_null(moved_schema->release);
  free(moved);
  free(moved_schema);
}

static void test_move_child_out(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_array *arr = build_struct(&ta.alloc);
  hn_array *field = hn_array_retain((hn_array *)hn_array_child(arr, 1));
  struct ArrowSchema s;
  struct ArrowArray a;
  HN_CHECK(hn_array_export(arr, &s, &a, NULL), NULL);
  /* Keep only column "b": move its array and schema out, release the parents. */
  struct ArrowArray child = *a.children[1];
  struct ArrowSchema child_schema = *s.children[1];
  a.children[1]->release = NULL;
  s.children[1]->release = NULL;
  a.release(&a);
  s.release(&s);
  hn_array_release(arr);
  assert_string_equal(child_schema.name, "b");
  /* The moved child still reads correctly. */
  const int32_t *off = child.buffers[1];
  const char *data = child.buffers[2];
  assert_memory_equal(data + off[child.offset], "row", 3);
  hn_array *back = NULL;
  hn_error err;
  HN_CHECK(hn_array_import(&ta.alloc, &child_schema, &child, NULL, &back, &err), &err);
  assert_true(hn_array_equals(field, back));
  hn_array_release(back);
  child_schema.release(&child_schema);
  hn_array_release(field);
  assert_int_equal(ta.live, 0);
}

static void test_buffers_outlive_producer(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_array *arr = build_int64(&ta.alloc, 100, 0);
  const int64_t *values = hn_array_int64_values(arr);
  struct ArrowArray a;
  HN_CHECK(hn_array_export(arr, NULL, &a, NULL), NULL);
  assert_ptr_equal(a.buffers[1], values); /* zero copy */
  hn_array_release(arr);
  assert_true(ta.live > 0);
  const int64_t *exported = a.buffers[1];
  for (int64_t i = 0; i < 100; i++) assert_int_equal(exported[i], i * 10 - 7);
  a.release(&a);
  assert_int_equal(ta.live, 0);

  /* Table export keeps the columns alive after the table handle goes. */
  hn_table *t = build_table(&ta.alloc, 10, 0);
  HN_CHECK(hn_table_export(t, NULL, &a, NULL), NULL);
  hn_table_release(t);
  exported = a.children[0]->buffers[1];
  assert_int_equal(exported[9], 9);
  a.release(&a);
  assert_int_equal(ta.live, 0);
}

static void test_zero_copy(void **state) {
  (void)state;
  hn_array *arr = build_int64(NULL, 40, 3), *slice = NULL;
  HN_CHECK(hn_array_slice(arr, 5, 20, &slice, NULL), NULL);
  struct ArrowSchema s;
  struct ArrowArray a;
  HN_CHECK(hn_array_export(slice, &s, &a, NULL), NULL);
  assert_int_equal(a.offset, 5);
  const int64_t *exported = (const int64_t *)a.buffers[1] + a.offset;
  assert_ptr_equal(exported, hn_array_int64_values(slice));
  assert_ptr_equal(a.buffers[0], hn_array_validity(slice));
  hn_array *back = NULL;
  HN_CHECK(hn_array_import(NULL, &s, &a, NULL, &back, NULL), NULL);
  assert_ptr_equal(hn_array_int64_values(back), exported); /* imported without a copy */
  hn_array_release(back);
  s.release(&s);
  hn_array_release(slice);
  hn_array_release(arr);
}

/* Producer memory that is misaligned for int64 is copied, not wrapped. */
static int static_releases;
static void static_release(struct ArrowArray *a) {
  static_releases++;
  a->release = NULL;
}

static void test_misaligned_import_copies(void **state) {
  (void)state;
  static _Alignas(8) uint8_t raw[8 * 5 + 1];
  int64_t want[5] = {1, -2, 3, -4, 5};
  memcpy(raw + 1, want, sizeof want);
  const void *buffers[2] = {NULL, raw + 1};
  struct ArrowArray a = {5, 0, 0, 2, 0, buffers, NULL, NULL, static_release, NULL};
  struct ArrowSchema s;
  HN_CHECK(hn_type_export(hn_type_int64(), "v", &s, NULL), NULL);
  static_releases = 0;
  hn_array *back = NULL;
  hn_error err;
  HN_CHECK(hn_array_import(NULL, &s, &a, NULL, &back, &err), &err);
  assert_int_equal(static_releases, 1); /* everything copied: released at once */
  assert_ptr_not_equal(hn_array_int64_values(back), raw + 1);
  assert_int_equal((uintptr_t)hn_array_int64_values(back) % 8, 0);
  assert_memory_equal(hn_array_int64_values(back), want, sizeof want);
  hn_array_release(back);
  s.release(&s);
}

/* ---- allocation failure ------------------------------------------------ */

static void test_export_allocation_failure(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_array *arr = build_struct(&ta.alloc);
  hn_table *t = build_table(&ta.alloc, 5, 0);
  int64_t baseline = ta.live;
  for (int which = 0; which < 2; which++) {
    int failures = 0;
    for (int64_t k = 1;; k++) {
      ta.fail_at = ta.n_allocs + k;
      struct ArrowSchema s;
      struct ArrowArray a;
      hn_error err;
      hn_status st =
          which == 0 ? hn_array_export(arr, &s, &a, &err) : hn_table_export(t, &s, &a, &err);
      ta.fail_at = 0;
      if (st == HN_OK) {
        s.release(&s);
        a.release(&a);
        assert_int_equal(ta.live, baseline);
        break;
      }
      failures++;
      assert_int_equal(st, HN_ENOMEM);
      assert_int_equal(err.code, HN_ENOMEM);
      assert_null(s.release);
      assert_null(a.release);
      assert_int_equal(ta.live, baseline);
    }
    assert_true(failures >= 5);
  }
  hn_array_release(arr);
  hn_table_release(t);
  assert_int_equal(ta.live, 0);
}

static void test_import_allocation_failure(void **state) {
  (void)state;
  hn_array *sources[] = {build_struct(NULL), hn_test_list_list_utf8(NULL)};
  for (int i = 0; i < 2; i++) {
    int failures = 0;
    for (int64_t k = 1;; k++) {
      hn_test_alloc ta;
      hn_test_alloc_init(&ta, k);
      struct ArrowSchema s;
      struct ArrowArray a;
      HN_CHECK(hn_array_export(sources[i], &s, &a, NULL), NULL);
      count_releases(&a);
      hn_array *back = NULL;
      hn_error err;
      hn_status st = hn_array_import(&ta.alloc, &s, &a, NULL, &back, &err);
      assert_null(a.release);
      s.release(&s);
      if (st == HN_OK) {
        assert_int_equal(ta.failures, 0);
        assert_true(hn_array_equals(sources[i], back));
        hn_array_release(back);
        assert_int_equal(array_releases, 1);
        assert_int_equal(ta.live, 0);
        break;
      }
      failures++;
      assert_int_equal(st, HN_ENOMEM);
      assert_null(back);
      assert_int_equal(array_releases, 1);
      assert_int_equal(ta.live, 0);
    }
    assert_true(failures >= 5);
    hn_array_release(sources[i]);
  }
}

/* ---- object columns ---------------------------------------------------- */

static void free_obj(void *ctx, void *object) {
  (void)ctx;
  free(object);
}

static void test_object_export_refused(void **state) {
  (void)state;
  hn_object_vtable vt = {free_obj, NULL, NULL, NULL};
  const hn_type *obj = NULL, *list = NULL;
  HN_CHECK(hn_type_object_create(NULL, "tensor", &vt, &obj, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, obj, &list, NULL), NULL);
  hn_builder *b = new_builder(NULL, obj);
  HN_CHECK(hn_builder_append_object(b, malloc(4)), NULL);
  hn_array *objs = finish(b);
  hn_builder *bi = new_builder(NULL, hn_type_int64());
  HN_CHECK(hn_builder_append_int64(bi, 1), NULL);
  hn_array *ints = finish(bi);
  const char *names[] = {"id", "embedding"};
  hn_array *cols[] = {ints, objs};
  hn_table *t = NULL;
  HN_CHECK(hn_table_create(NULL, 2, names, cols, &t, NULL), NULL);

  struct ArrowSchema s;
  struct ArrowArray a;
  hn_error err;
  assert_int_equal(hn_table_export(t, &s, &a, &err), HN_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "column 'embedding'"));
  assert_non_null(strstr(err.message, "tensor"));
  assert_null(s.release);
  assert_null(a.release);
  assert_int_equal(hn_array_export(objs, &s, &a, &err), HN_EUNSUPPORTED);
  assert_null(a.release);
  assert_int_equal(hn_type_export(list, "vecs", &s, &err), HN_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "column 'vecs[]'"));
  assert_null(s.release);
  struct ArrowArrayStream stream;
  assert_int_equal(hn_table_stream_export(NULL, 1, &t, &stream, &err), HN_EUNSUPPORTED);
  assert_null(stream.release);
  hn_table_release(t);
  hn_array_release(ints);
  hn_array_release(objs);
  hn_type_release(list);
  hn_type_release(obj);
}

/* ---- streams ----------------------------------------------------------- */

static void test_stream_roundtrip(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t0 = build_table(NULL, 10, 0), *t1 = build_table(NULL, 0, 0),
           *t2 = build_table(NULL, 100, 5), *t3 = NULL;
  HN_CHECK(hn_table_slice(t2, 33, 44, &t3, NULL), NULL);
  hn_table *tables[] = {t0, t1, t2, t3};
  struct ArrowArrayStream stream;
  hn_error err;
  HN_CHECK(hn_table_stream_export(NULL, 4, tables, &stream, &err), &err);
  for (int i = 0; i < 4; i++) hn_table_release(tables[i]); /* the stream holds them */
  hn_stream_reader *r = NULL;
  HN_CHECK(hn_stream_reader_create(&ta.alloc, &stream, NULL, &r, &err), &err);
  assert_null(stream.release);
  assert_int_equal(hn_type_num_fields(hn_stream_reader_schema(r)), 2);
  hn_table *got[4] = {NULL};
  for (int i = 0; i < 4; i++) {
    HN_CHECK(hn_stream_reader_next(r, &got[i], &err), &err);
    assert_non_null(got[i]);
  }
  hn_table *end = (hn_table *)1;
  HN_CHECK(hn_stream_reader_next(r, &end, &err), &err);
  assert_null(end);
  end = (hn_table *)1;
  HN_CHECK(hn_stream_reader_next(r, &end, &err), &err);
  assert_null(end);
  hn_stream_reader_destroy(r);
  /* The batches outlive the stream and the reader. */
  assert_int_equal(hn_table_num_rows(got[0]), 10);
  assert_int_equal(hn_table_num_rows(got[1]), 0);
  assert_int_equal(hn_table_num_rows(got[2]), 100);
  assert_int_equal(hn_table_num_rows(got[3]), 44);
  assert_int_equal(hn_array_get(hn_table_column(got[3], 0), 0).v.i64, 5 + 33);
  hn_table *check = build_table(NULL, 100, 5);
  assert_true(hn_table_equals(check, got[2]));
  hn_table_release(check);
  for (int i = 0; i < 4; i++) hn_table_release(got[i]);
  assert_int_equal(ta.live, 0);
}

static void test_stream_zero_tables(void **state) {
  (void)state;
  hn_table *t = build_table(NULL, 3, 0);
  const hn_type *schema = hn_table_schema(t);
  struct ArrowArrayStream stream;
  hn_error err;
  HN_CHECK(hn_table_stream_export(schema, 0, NULL, &stream, &err), &err);
  /* Consume it directly through the C interface. */
  struct ArrowSchema s;
  assert_int_equal(stream.get_schema(&stream, &s), 0);
  assert_string_equal(s.format, "+s");
  assert_int_equal(s.n_children, 2);
  s.release(&s);
  struct ArrowArray a;
  int rc = stream.get_next(&stream, &a);
  assert_int_equal(rc, 0);
  assert_null(a.release);
  stream.release(&stream);
  assert_null(stream.release);
  /* And through the reader. */
  HN_CHECK(hn_table_stream_export(schema, 0, NULL, &stream, &err), &err);
  hn_stream_reader *r = NULL;
  HN_CHECK(hn_stream_reader_create(NULL, &stream, NULL, &r, &err), &err);
  assert_true(hn_type_equals(hn_stream_reader_schema(r), schema));
  hn_table *next = NULL;
  HN_CHECK(hn_stream_reader_next(r, &next, &err), &err);
  assert_null(next);
  hn_stream_reader_destroy(r);
  hn_stream_reader_destroy(NULL);
  /* Argument errors. */
  assert_int_equal(hn_table_stream_export(NULL, 0, NULL, &stream, &err), HN_EINVAL);
  assert_null(stream.release);
  hn_table *other = NULL;
  {
    hn_builder *b = new_builder(NULL, hn_type_float64());
    hn_array *col = finish(b);
    const char *names[] = {"x"};
    HN_CHECK(hn_table_create(NULL, 1, names, &col, &other, NULL), NULL);
    hn_array_release(col);
  }
  hn_table *mixed[] = {t, other};
  assert_int_equal(hn_table_stream_export(NULL, 2, mixed, &stream, &err), HN_ETYPE);
  assert_non_null(strstr(err.message, "stream table 1"));
  assert_null(stream.release);
  hn_table_release(other);
  hn_table_release(t);
}

/* A hand-written producer that fails on demand. */
typedef struct fake_stream {
  int schema_rc, next_rc;
  int releases;
  const char *message;
  struct ArrowArray batch; /* handed out once when next_rc == 0 */
} fake_stream;

static int fake_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  fake_stream *f = s->private_data;
  if (f->schema_rc) return f->schema_rc;
  hn_table *t = build_table(NULL, 1, 0);
  hn_status st = hn_type_export(hn_table_schema(t), "", out, NULL);
  hn_table_release(t);
  return st == HN_OK ? 0 : ENOMEM;
}
static int fake_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  fake_stream *f = s->private_data;
  if (f->next_rc) return f->next_rc;
  *out = f->batch;
  f->batch.release = NULL;
  return 0;
}
static const char *fake_last_error(struct ArrowArrayStream *s) {
  return ((fake_stream *)s->private_data)->message;
}
static void fake_release(struct ArrowArrayStream *s) {
  ((fake_stream *)s->private_data)->releases++;
  s->release = NULL;
}
static struct ArrowArrayStream fake(fake_stream *f) {
  struct ArrowArrayStream s = {fake_get_schema, fake_get_next, fake_last_error, fake_release, f};
  return s;
}

static void test_stream_producer_errors(void **state) {
  (void)state;
  hn_error err;
  hn_stream_reader *r = NULL;
  fake_stream f = {EIO, 0, 0, "schema store unreachable", {0}};
  struct ArrowArrayStream s = fake(&f);
  assert_int_equal(hn_stream_reader_create(NULL, &s, NULL, &r, &err), HN_EIO);
  assert_null(r);
  assert_null(s.release);
  assert_int_equal(f.releases, 1);
  assert_non_null(strstr(err.message, "schema store unreachable"));
  assert_non_null(strstr(err.message, "get_schema"));

  fake_stream g = {0, EIO, 0, "disk on fire", {0}};
  s = fake(&g);
  HN_CHECK(hn_stream_reader_create(NULL, &s, NULL, &r, &err), &err);
  hn_table *t = (hn_table *)1;
  assert_int_equal(hn_stream_reader_next(r, &t, &err), HN_EIO);
  assert_null(t);
  assert_int_equal(err.code, HN_EIO);
  assert_non_null(strstr(err.message, "disk on fire"));
  assert_non_null(strstr(err.message, "get_next"));
  hn_stream_reader_destroy(r);
  assert_int_equal(g.releases, 1);

  /* An invalid batch (wrong child count) is HN_EINVAL naming the batch. */
  static const void *no_buffers[1] = {NULL};
  fake_stream h = {0, 0, 0, NULL, {1, 0, 0, 1, 0, no_buffers, NULL, NULL, static_release, NULL}};
  static_releases = 0;
  s = fake(&h);
  HN_CHECK(hn_stream_reader_create(NULL, &s, NULL, &r, &err), &err);
  assert_int_equal(hn_stream_reader_next(r, &t, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "batch 0"));
  assert_non_null(strstr(err.message, "children"));
  assert_int_equal(static_releases, 1);
  hn_stream_reader_destroy(r);
  assert_int_equal(h.releases, 1);

  /* The exporter reports its own errors through get_last_error. */
  hn_table *tab = build_table(NULL, 2, 0);
  struct ArrowArrayStream out;
  HN_CHECK(hn_table_stream_export(NULL, 1, &tab, &out, &err), &err);
  hn_table_release(tab);
  assert_null(out.get_last_error(&out));
  out.release(&out);
}

static void test_stream_allocation_failure(void **state) {
  (void)state;
  hn_table *tables[] = {build_table(NULL, 4, 0), build_table(NULL, 9, 1)};
  int failures = 0;
  for (int64_t k = 1;; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    struct ArrowArrayStream stream;
    HN_CHECK(hn_table_stream_export(NULL, 2, tables, &stream, NULL), NULL);
    hn_stream_reader *r = NULL;
    hn_status st = hn_stream_reader_create(&ta.alloc, &stream, NULL, &r, NULL);
    assert_null(stream.release);
    int read = 0;
    while (st == HN_OK) {
      hn_table *t = NULL;
      st = hn_stream_reader_next(r, &t, NULL);
      if (st != HN_OK || !t) break;
      assert_true(hn_table_equals(t, tables[read]));
      read++;
      hn_table_release(t);
    }
    hn_stream_reader_destroy(r);
    assert_int_equal(ta.live, 0);
    if (ta.failures == 0) {
      assert_int_equal(st, HN_OK);
      assert_int_equal(read, 2);
      break;
    }
    assert_int_equal(st, HN_ENOMEM);
    failures++;
  }
  assert_true(failures >= 5);

  /* The producer side: a failed get_next reports through get_last_error. */
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = build_table(&ta.alloc, 3, 0);
  struct ArrowArrayStream stream;
  HN_CHECK(hn_table_stream_export(NULL, 1, &t, &stream, NULL), NULL);
  ta.fail_at = ta.n_allocs + 1;
  struct ArrowArray a;
  assert_int_equal(stream.get_next(&stream, &a), ENOMEM);
  assert_null(a.release);
  assert_non_null(strstr(stream.get_last_error(&stream), "out of memory"));
  ta.fail_at = 0;
  assert_int_equal(stream.get_next(&stream, &a), 0); /* the same batch again */
  assert_int_equal(a.length, 3);
  a.release(&a);
  assert_int_equal(stream.get_next(&stream, &a), 0);
  assert_null(a.release);
  stream.release(&stream);
  hn_table_release(t);
  assert_int_equal(ta.live, 0);
  for (int i = 0; i < 2; i++) hn_table_release(tables[i]);
}

/* ---- UTF-8 validation -------------------------------------------------- */

static hn_status validate_strings(const char *const *v, const int *sizes, int n, hn_error *err) {
  hn_builder *b = new_builder(NULL, hn_type_utf8());
  for (int i = 0; i < n; i++) {
    if (v[i])
      HN_CHECK(hn_builder_append_str(b, v[i], sizes ? sizes[i] : -1), NULL);
    else
      HN_CHECK(hn_builder_append_null(b), NULL);
  }
  hn_array *arr = finish(b);
  hn_status st = hn_array_validate(arr, true, err);
  assert_int_equal(hn_array_validate(arr, false, NULL), HN_OK);
  hn_array_release(arr);
  return st;
}

static void test_utf8_validator(void **state) {
  (void)state;
  const char *valid[] = {"",
                         "plain ascii",
                         "\xc2\x80",
                         "\xdf\xbf",
                         "\xe0\xa0\x80",
                         "\xed\x9f\xbf",
                         "\xee\x80\x80",
                         "\xef\xbf\xbf",
                         "\xf0\x90\x80\x80",
                         "\xf4\x8f\xbf\xbf",
                         "0123456789abcdef\xc3\xa9xyz",
                         "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac twelve+ bytes"};
  for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
    hn_error err;
    hn_status st = validate_strings(&valid[i], NULL, 1, &err);
    if (st != HN_OK) print_error("valid[%zu] rejected: %s\n", i, err.message);
    assert_int_equal(st, HN_OK);
  }
  const char *invalid[] = {
      "\x80",                         /* stray continuation */
      "\xc0\xaf",                     /* overlong '/' */
      "\xc1\xbf",                     /* overlong */
      "\xe0\x80\xaf",                 /* overlong 3-byte */
      "\xf0\x80\x80\xaf",             /* overlong 4-byte */
      "\xed\xa0\x80",                 /* surrogate U+D800 */
      "\xed\xbf\xbf",                 /* surrogate U+DFFF */
      "\xf4\x90\x80\x80",             /* U+110000 */
      "\xf5\x80\x80\x80",             /* lead byte F5 */
      "\xff",                         /* never valid */
      "\xc3",                         /* truncated 2-byte */
      "\xe2\x82",                     /* truncated 3-byte */
      "\xf0\x9f\x99",                 /* truncated 4-byte */
      "abcdefghijklmnop\xe2\x28\xa1", /* bad continuation after the fast path */
      "\xc3\x28",                     /* bad continuation */
  };
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
    hn_error err;
    hn_status st = validate_strings(&invalid[i], NULL, 1, &err);
    if (st != HN_ECORRUPT) print_error("invalid[%zu] accepted\n", i);
    assert_int_equal(st, HN_ECORRUPT);
    assert_non_null(strstr(err.message, "invalid UTF-8 in row 0"));
  }
  /* A character split across two rows: the bytes are valid together, not per row. */
  hn_error err;
  const char *split[] = {"ok", "\xc3", "\xa9", "fine"};
  assert_int_equal(validate_strings(split, NULL, 4, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "row 1"));
  /* Invalid bytes under a null row are not checked (their content is unspecified). */
  const char *with_null[] = {"ok", NULL, "\xc3\xa9"};
  assert_int_equal(validate_strings(with_null, NULL, 3, &err), HN_OK);
  const char *bad_later[] = {"ok", NULL, "good", "bad \xed\xa0\x80"};
  assert_int_equal(validate_strings(bad_later, NULL, 4, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "row 3 at byte 4"));
  /* Embedded NUL is valid UTF-8. */
  const char *nul[] = {"a\0b"};
  int sizes[] = {3};
  assert_int_equal(validate_strings(nul, sizes, 1, &err), HN_OK);
}

static void test_validate_messages(void **state) {
  (void)state;
  hn_error err;
  assert_int_equal(hn_array_validate(NULL, true, &err), HN_EINVAL);
  hn_array *arr = hn_test_list_list_utf8(NULL);
  HN_CHECK(hn_array_validate(arr, true, &err), &err);
  hn_array_release(arr);
  hn_table *t = build_table(NULL, 20, 0);
  HN_CHECK(hn_table_validate(t, true, &err), &err);
  hn_table_release(t);
}

/* Defaults through an out-parameter; a caller with an older, smaller struct gets its members only.
 */
static void test_import_options_init(void **state) {
  (void)state;
  hn_import_options o;
  memset(&o, 0xff, sizeof o);
  hn_import_options_init(&o, sizeof o);
  assert_int_equal(o.size, sizeof o);
  assert_true(o.validate_utf8);
  hn_import_options old;
  memset(&old, 0xab, sizeof old);
  hn_import_options_init(&old, offsetof(hn_import_options, validate_utf8));
  assert_int_equal(old.size, offsetof(hn_import_options, validate_utf8));
  unsigned char untouched;
  memcpy(&untouched, &old.validate_utf8, 1);
  assert_int_equal(untouched, 0xab);
  hn_import_options_init(NULL, sizeof o); /* no-op */
  hn_import_options_init(&o, 1);          /* too small for the size member: no-op */
  assert_int_equal(o.size, sizeof o);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_roundtrip_primitives),
      cmocka_unit_test(test_roundtrip_nested),
      cmocka_unit_test(test_roundtrip_empty),
      cmocka_unit_test(test_roundtrip_no_fields),
      cmocka_unit_test(test_export_schema_shape),
      cmocka_unit_test(test_roundtrip_tables),
      cmocka_unit_test(test_release_once),
      cmocka_unit_test(test_release_after_move),
      cmocka_unit_test(test_move_child_out),
      cmocka_unit_test(test_buffers_outlive_producer),
      cmocka_unit_test(test_zero_copy),
      cmocka_unit_test(test_misaligned_import_copies),
      cmocka_unit_test(test_export_allocation_failure),
      cmocka_unit_test(test_import_allocation_failure),
      cmocka_unit_test(test_object_export_refused),
      cmocka_unit_test(test_stream_roundtrip),
      cmocka_unit_test(test_stream_zero_tables),
      cmocka_unit_test(test_stream_producer_errors),
      cmocka_unit_test(test_stream_allocation_failure),
      cmocka_unit_test(test_utf8_validator),
      cmocka_unit_test(test_validate_messages),
      cmocka_unit_test(test_import_options_init),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
