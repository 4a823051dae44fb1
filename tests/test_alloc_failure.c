/*
 * Allocation-failure injection across the whole data path: build a table of
 * every type -> export to Arrow -> import -> serialise -> deserialise. For
 * every k, the k-th allocation fails: the path must return HN_ENOMEM (never
 * crash or mis-report) and, after cleanup, nothing may be left allocated.
 */
#include <string.h>

#include "test_support.h"

static hn_status build_column(const hn_allocator *a, const hn_type *type, int kind,
                              hn_array **out) {
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(a, type, &b, NULL);
  for (int i = 0; st == HN_OK && i < 40; i++) {
    if (i % 9 == 4) {
      st = hn_builder_append_null(b);
      continue;
    }
    switch (kind) {
      case 0:
        st = hn_builder_append_int64(b, i);
        break;
      case 1:
        st = hn_builder_append_float64(b, i * 0.5);
        break;
      case 2:
        st = hn_builder_append_bool(b, i & 1);
        break;
      case 3:
        st = hn_builder_append_str(b, "some words here", 4 + i % 10);
        break;
      case 4: { /* list<utf8> */
        hn_builder *items = hn_builder_child(b, 0);
        for (int j = 0; st == HN_OK && j < i % 4; j++) st = hn_builder_append_str(items, "tok", 3);
        if (st == HN_OK) st = hn_builder_finish_element(b);
        break;
      }
      case 5: /* struct<x: float32, name: binary> */
        st = hn_builder_append_float32(hn_builder_child(b, 0), (float)i);
        if (st == HN_OK) st = hn_builder_append_str(hn_builder_child(b, 1), "\x00\x01", 2);
        if (st == HN_OK) st = hn_builder_finish_element(b);
        break;
    }
  }
  if (st == HN_OK) st = hn_builder_finish(b, out, NULL);
  hn_builder_destroy(b);
  return st;
}

/* One full pass; returns the first failing status. `ok_checks` compares results. */
static hn_status scenario(const hn_allocator *a, hn_error *err) {
  const hn_type *list = NULL, *strct = NULL;
  hn_array *cols[6] = {0};
  hn_table *table = NULL, *imported = NULL, *back = NULL;
  hn_buffer *bytes = NULL;
  struct ArrowSchema schema = {0};
  struct ArrowArray array = {0};
  hn_status st = hn_type_list_create(a, hn_type_utf8(), &list, err);
  const char *fnames[] = {"x", "name"};
  const hn_type *ftypes[] = {hn_type_float32(), hn_type_binary()};
  if (st == HN_OK) st = hn_type_struct_create(a, 2, fnames, ftypes, &strct, err);
  const hn_type *types[6] = {
      hn_type_int64(), hn_type_float64(), hn_type_bool(), hn_type_utf8(), list, strct};
  for (int c = 0; st == HN_OK && c < 6; c++) st = build_column(a, types[c], c, &cols[c]);
  const char *names[6] = {"i", "f", "b", "s", "tokens", "rec"};
  if (st == HN_OK) st = hn_table_create(a, 6, names, cols, &table, err);
  if (st == HN_OK) st = hn_table_export(table, &schema, &array, err);
  if (st == HN_OK) st = hn_table_import(a, &schema, &array, NULL, &imported, err);
  if (st == HN_OK) st = hn_table_serialize(imported, a, &bytes, err);
  if (st == HN_OK) st = hn_table_deserialize(a, bytes, &back, err);
  if (st == HN_OK) {
    assert_true(hn_table_equals(table, imported));
    assert_true(hn_table_equals(table, back));
  }
  if (schema.release) schema.release(&schema);
  if (array.release) array.release(&array);
  hn_table_release(back);
  hn_buffer_release(bytes);
  hn_table_release(imported);
  hn_table_release(table);
  for (int c = 0; c < 6; c++) hn_array_release(cols[c]);
  hn_type_release(list);
  hn_type_release(strct);
  return st;
}

static void test_every_allocation_can_fail(void **state) {
  (void)state;
  hn_test_alloc probe;
  hn_test_alloc_init(&probe, 0);
  HN_CHECK(scenario(&probe.alloc, NULL), NULL);
  assert_int_equal(probe.live, 0);
  int64_t total = probe.n_allocs;
  assert_true(total > 50);
  for (int64_t k = 1; k <= total; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    hn_error err;
    hn_error_reset(&err);
    hn_status st = scenario(&ta.alloc, &err);
    if (ta.failures == 0) {
      assert_int_equal(st, HN_OK);
    } else {
      if (st != HN_ENOMEM)
        print_error("allocation %lld of %lld: got %s (%s)\n", (long long)k, (long long)total,
                    hn_status_str(st), err.message);
      assert_int_equal(st, HN_ENOMEM);
    }
    if (ta.live != 0)
      print_error("allocation %lld: %lld blocks leaked\n", (long long)k, (long long)ta.live);
    assert_int_equal(ta.live, 0);
  }
  print_message("allocation failure injected at each of %lld allocations\n", (long long)total);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_allocation_can_fail),
  };
  return cmocka_run_group_tests_name("alloc_failure", tests, NULL, NULL);
}
