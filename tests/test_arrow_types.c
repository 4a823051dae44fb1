/*
 * Issue 16's types: type strings, datums, builders, Arrow export formats,
 * export -> import round trips (sliced too), concatenation and take, and
 * the encodings import decodes (dictionaries, run ends, string and list
 * views), including their malformed forms.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "test_support.h"

static void test_type_strings(void **state) {
  (void)state;
  static const char *const more[] = {"time32[s]",
                                     "time64[us]",
                                     "timestamp[ns, \"+01:00\"]",
                                     "duration[ns]",
                                     "decimal128(38, -3)",
                                     "decimal256(76, 76)",
                                     "map<int32, list<utf8>>",
                                     "fixed_size_list<map<utf8, utf8>>[3]",
                                     "large_list<large_list<null>>",
                                     "timestamp[ms, \"America/New_York\"]"};
  char buf[256];
  for (int i = 0; i < HN_TEST_N_TYPES + 10; i++) {
    const char *s = i < HN_TEST_N_TYPES ? hn_test_all_types[i][1] : more[i - HN_TEST_N_TYPES];
    const hn_type *t = NULL, *back = NULL;
    hn_error err;
    HN_CHECK(hn_type_parse(NULL, s, &t, &err), &err);
    hn_type_to_string(t, buf, sizeof buf);
    assert_string_equal(buf, s);
    HN_CHECK(hn_type_parse(NULL, buf, &back, &err), &err);
    assert_true(hn_type_equals(t, back));
    hn_type_release(t);
    hn_type_release(back);
  }
  /* Parameters are part of the type. */
  const hn_type *a = NULL, *b = NULL;
  HN_CHECK(hn_type_parse(NULL, "timestamp[us, UTC]", &a, NULL), NULL);
  HN_CHECK(hn_type_parse(NULL, "timestamp[us]", &b, NULL), NULL);
  assert_false(hn_type_equals(a, b));
  assert_string_equal(hn_type_timezone(a), "UTC");
  assert_null(hn_type_timezone(b));
  assert_int_equal(hn_type_time_unit(a), HN_UNIT_MICRO);
  hn_type_release(a);
  hn_type_release(b);
  HN_CHECK(hn_type_parse(NULL, "decimal128(10, 2)", &a, NULL), NULL);
  assert_int_equal(hn_type_decimal_precision(a), 10);
  assert_int_equal(hn_type_decimal_scale(a), 2);
  hn_type_release(a);
  HN_CHECK(hn_type_parse(NULL, "map<utf8, int64>", &a, NULL), NULL);
  assert_int_equal(hn_type_id_of(hn_type_map_key(a)), HN_TYPE_UTF8);
  assert_int_equal(hn_type_id_of(hn_type_map_value(a)), HN_TYPE_INT64);
  assert_int_equal(hn_type_num_fields(hn_type_list_item(a)), 2);
  hn_type_release(a);
  HN_CHECK(hn_type_parse(NULL, "fixed_size_list<int8>[7]", &a, NULL), NULL);
  assert_int_equal(hn_type_fixed_size(a), 7);
  hn_type_release(a);
}

static void parse_fails(const char *text, const char *fragment) {
  const hn_type *t = NULL;
  hn_error err;
  assert_int_equal(hn_type_parse(NULL, text, &t, &err), HN_EINVAL);
  assert_null(t);
  if (!strstr(err.message, fragment)) fail_msg("\"%s\": message \"%s\"", text, err.message);
}

static void test_type_string_errors(void **state) {
  (void)state;
  parse_fails("time32[us]", "time32 does not take unit us");
  parse_fails("time64[s]", "time64 does not take unit s");
  parse_fails("timestamp[ks]", "expected a time unit (s, ms, us or ns)");
  parse_fails("timestamp[us, ]", "expected a time zone");
  parse_fails("decimal128(39, 2)", "a precision, an integer from 1 to 38");
  parse_fails("decimal128(10, 11)", "scale 11 exceeds the precision 10");
  parse_fails("decimal256(10 2)", "expected ','");
  parse_fails("fixed_size_binary(0)", "a byte width, an integer from 1");
  parse_fails("fixed_size_binary(x)", "a byte width");
  parse_fails("fixed_size_list<int8>", "expected '[' after fixed_size_list<...>");
  parse_fails("fixed_size_list<int8>[0]", "a list size, an integer from 1");
  parse_fails("map<utf8>", "expected ',' between a map's key and value types");
  parse_fails("large_list<int8", "expected '>' to close large_list<");
}

static void test_datums(void **state) {
  (void)state;
  hn_table *t = hn_test_all_types_table(NULL);
  for (int c = 0; c < HN_TEST_N_TYPES; c++) {
    hn_array *col = hn_table_column(t, c);
    hn_datum d = hn_array_get(col, 1);
    assert_true(d.is_null);
    assert_true(hn_array_is_null(col, 1));
    assert_int_equal(d.type, hn_type_id_of(hn_array_type(col)));
  }
#define COL(name) hn_table_column_by_name(t, name)
  assert_int_equal(hn_array_get(COL("i8"), 0).v.i8, -128);
  assert_int_equal(hn_array_get(COL("u8"), 0).v.u8, 255);
  assert_int_equal(hn_array_get(COL("i16"), 0).v.i16, -32768);
  assert_int_equal(hn_array_get(COL("u16"), 0).v.u16, 65535);
  assert_int_equal(hn_array_get(COL("i32"), 0).v.i32, INT32_MIN);
  assert_int_equal(hn_array_get(COL("u32"), 0).v.u32, UINT32_MAX);
  assert_true(hn_array_get(COL("u64"), 0).v.u64 == UINT64_MAX);
  assert_int_equal(hn_array_get(COL("f16"), 0).v.f16, 0x3C00);
  assert_int_equal(hn_array_get(COL("date32"), 0).v.i32, 19000);
  assert_int_equal(hn_array_get(COL("date64"), 2).v.i64, -86400000);
  assert_int_equal(hn_array_get(COL("time32"), 0).v.i32, 3723000);
  assert_int_equal(hn_array_get(COL("time64"), 0).v.i64, 3723000000000);
  assert_int_equal(hn_array_get(COL("ts_utc"), 0).v.i64, 1700000000123456);
  assert_int_equal(hn_array_get(COL("dur_s"), 0).v.i64, 3600);
  assert_int_equal(hn_array_get(COL("months"), 2).v.i32, -3);
  hn_datum dt = hn_array_get(COL("day_time"), 0);
  assert_int_equal(dt.v.day_time.days, 3);
  assert_int_equal(dt.v.day_time.ms, 1000);
  hn_datum mdn = hn_array_get(COL("mdn"), 0);
  assert_int_equal(mdn.v.mdn.months, 2);
  assert_int_equal(mdn.v.mdn.days, 15);
  assert_int_equal(mdn.v.mdn.nanos, 1000);
  hn_datum d128 = hn_array_get(COL("dec128"), 2);
  assert_true(d128.v.d128.lo == (uint64_t)-250 && d128.v.d128.hi == -1);
  hn_datum d256 = hn_array_get(COL("dec256"), 0);
  assert_true(d256.v.d256[0] == 7 && d256.v.d256[3] == 0);
  hn_datum s = hn_array_get(COL("large_text"), 0);
  assert_int_equal(s.v.str.size, 7);
  assert_memory_equal(s.v.str.data, "grüße", 7);
  hn_datum uuid = hn_array_get(COL("uuid"), 2);
  assert_int_equal(uuid.v.str.size, 16);
  assert_memory_equal(uuid.v.str.data, "ABCDEFGHIJKLMNOP", 16);
  hn_datum pair = hn_array_get(COL("pair"), 2);
  assert_int_equal(pair.v.list.length, 2);
  assert_int_equal(hn_list_view_get(pair.v.list, 1).v.i32, -4);
  hn_datum ll = hn_array_get(COL("large_list"), 2);
  assert_int_equal(ll.v.list.start, 2);
  assert_int_equal(hn_list_view_get(ll.v.list, 0).v.i32, 3);
  hn_datum m = hn_array_get(COL("map"), 0);
  assert_int_equal(m.v.list.length, 2);
  hn_datum entry = hn_list_view_get(m.v.list, 1);
  assert_int_equal(entry.type, HN_TYPE_STRUCT);
  hn_datum key = hn_struct_view_field(entry.v.strct, 0);
  assert_memory_equal(key.v.str.data, "b", 1);
  assert_true(hn_struct_view_field(entry.v.strct, 1).is_null);
  assert_int_equal(hn_array_get(COL("map"), 2).v.list.length, 0);
  assert_int_equal(hn_array_null_count(COL("nothing")), 3);
  /* Batch functions read the buffers. */
  const int32_t *i32 = hn_array_values(COL("i32"));
  assert_int_equal(i32[2], INT32_MAX);
  const int64_t *loff = hn_array_large_offsets(COL("large_text"));
  assert_int_equal(loff[1] - loff[0], 7);
  assert_null(hn_array_values(COL("large_text")));
  assert_null(hn_array_offsets(COL("large_text")));
#undef COL
  hn_table_release(t);
}

static void test_builder_errors(void **state) {
  (void)state;
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int8(), &b, NULL), NULL);
  assert_int_equal(hn_builder_append_int(b, 128), HN_ERANGE);
  assert_int_equal(hn_builder_append_int(b, -129), HN_ERANGE);
  assert_int_equal(hn_builder_append_uint(b, 200), HN_ERANGE);
  assert_int_equal(hn_builder_append_str(b, "x", 1), HN_ETYPE);
  assert_int_equal(hn_builder_length(b), 0);
  hn_builder_destroy(b);
  HN_CHECK(hn_builder_create(NULL, hn_type_uint32(), &b, NULL), NULL);
  assert_int_equal(hn_builder_append_int(b, -1), HN_ERANGE);
  hn_builder_destroy(b);
  const hn_type *t = NULL;
  HN_CHECK(hn_type_parse(NULL, "fixed_size_binary(4)", &t, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, t, &b, NULL), NULL);
  assert_int_equal(hn_builder_append_str(b, "abc", 3), HN_EINVAL);
  assert_non_null(strstr(hn_builder_last_error(b), "3 bytes given, the type holds 4"));
  HN_CHECK(hn_builder_append_str(b, "abcd", 4), NULL);
  assert_int_equal(hn_builder_length(b), 1);
  hn_builder_destroy(b);
  hn_type_release(t);
  /* A fixed_size_list element must hold exactly its size. */
  HN_CHECK(hn_type_parse(NULL, "fixed_size_list<int32>[2]", &t, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, t, &b, NULL), NULL);
  HN_CHECK(hn_builder_append_int(hn_builder_child(b, 0), 1), NULL);
  assert_int_equal(hn_builder_finish_element(b), HN_EINVAL);
  HN_CHECK(hn_builder_append_int(hn_builder_child(b, 0), 2), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_append_nulls(b, 2), NULL);
  assert_int_equal(hn_builder_length(hn_builder_child(b, 0)), 6);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  HN_CHECK(hn_array_validate(arr, true, NULL), NULL);
  assert_int_equal(hn_array_null_count(arr), 2);
  hn_array_release(arr);
  /* Items appended without closing the element: finish refuses. */
  HN_CHECK(hn_builder_append_int(hn_builder_child(b, 0), 1), NULL);
  hn_error err;
  assert_int_equal(hn_builder_finish(b, &arr, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "fixed_size_list items"));
  hn_builder_destroy(b);
  hn_type_release(t);
}

/* Export formats, as the C Data Interface spells them. */
static void test_export_formats(void **state) {
  (void)state;
  static const char *const want[HN_TEST_N_TYPES] = {
      "c",          "C",   "s",       "S",    "i",   "I",    "L",   "e",   "tdD", "tdm",
      "ttm",        "ttn", "tsu:UTC", "tss:", "tDs", "tDm",  "tiM", "tiD", "tin", "d:10,2",
      "d:40,2,256", "U",   "Z",       "w:16", "+L",  "+w:2", "+m",  "n",   "+l"};
  hn_table *t = hn_test_all_types_table(NULL);
  struct ArrowSchema s;
  struct ArrowArray a;
  HN_CHECK(hn_table_export(t, &s, &a, NULL), NULL);
  assert_int_equal(s.n_children, HN_TEST_N_TYPES);
  for (int i = 0; i < HN_TEST_N_TYPES; i++) {
    assert_string_equal(s.children[i]->format, want[i]);
    assert_string_equal(s.children[i]->name, hn_test_all_types[i][0]);
  }
  /* A map: one non-nullable "entries" struct of a non-nullable key and a value. */
  const struct ArrowSchema *m = s.children[26];
  assert_int_equal(m->n_children, 1);
  assert_string_equal(m->children[0]->name, "entries");
  assert_string_equal(m->children[0]->format, "+s");
  assert_int_equal(m->children[0]->flags & ARROW_FLAG_NULLABLE, 0);
  assert_string_equal(m->children[0]->children[0]->name, "key");
  assert_int_equal(m->children[0]->children[0]->flags & ARROW_FLAG_NULLABLE, 0);
  assert_string_equal(m->children[0]->children[1]->name, "value");
  assert_true(m->children[0]->children[1]->flags & ARROW_FLAG_NULLABLE);
  /* Buffers per layout. */
  assert_int_equal(a.children[27]->n_buffers, 0); /* null */
  assert_int_equal(a.children[27]->null_count, 3);
  assert_int_equal(a.children[25]->n_buffers, 1); /* fixed_size_list */
  assert_int_equal(a.children[25]->children[0]->length, 6);
  assert_int_equal(a.children[21]->n_buffers, 3); /* large_utf8 */
  /* Zero copy: the exported values are the column's buffer. */
  assert_ptr_equal(a.children[4]->buffers[1], hn_array_values(hn_table_column(t, 4)));
  s.release(&s);
  a.release(&a);
  hn_table_release(t);
}

static void round_trip(hn_table *t) {
  struct ArrowSchema s;
  struct ArrowArray a;
  hn_error err;
  HN_CHECK(hn_table_export(t, &s, &a, &err), &err);
  hn_table *back = NULL;
  HN_CHECK(hn_table_import(NULL, &s, &a, NULL, &back, &err), &err);
  assert_true(hn_table_equals(t, back));
  s.release(&s);
  hn_table_release(back);
}

static void test_round_trip(void **state) {
  (void)state;
  hn_table *t = hn_test_all_types_table(NULL);
  round_trip(t);
  for (int64_t off = 0; off < 3; off++)
    for (int64_t len = 0; off + len <= 3; len++) {
      hn_table *sl = NULL;
      HN_CHECK(hn_table_slice(t, off, len, &sl, NULL), NULL);
      round_trip(sl);
      hn_table_release(sl);
    }
  hn_table_release(t);
}

static void test_concat_take(void **state) {
  (void)state;
  hn_table *t = hn_test_all_types_table(NULL);
  for (int c = 0; c < HN_TEST_N_TYPES; c++) {
    hn_array *col = hn_table_column(t, c), *parts[3], *joined = NULL, *taken = NULL;
    for (int k = 0; k < 3; k++) HN_CHECK(hn_array_slice(col, k, 1, &parts[k], NULL), NULL);
    HN_CHECK(hn__array_concat(NULL, hn_array_type(col), 3, parts, false, &joined, NULL), NULL);
    assert_true(hn_array_equals(col, joined));
    HN_CHECK(hn_array_validate(joined, true, NULL), NULL);
    const int64_t idx[4] = {2, 0, 1, 2};
    HN_CHECK(hn__array_take(NULL, hn_array_type(col), col, idx, NULL, 4, &taken, NULL), NULL);
    hn_array *first = NULL, *want_first = NULL;
    HN_CHECK(hn_array_slice(taken, 1, 1, &first, NULL), NULL);
    HN_CHECK(hn_array_slice(col, 0, 1, &want_first, NULL), NULL);
    assert_true(hn_array_equals(first, want_first));
    assert_int_equal(hn_array_null_count(taken),
                     hn_type_id_of(hn_array_type(col)) == HN_TYPE_NULL ? 4 : 1);
    for (int k = 0; k < 3; k++) hn_array_release(parts[k]);
    hn_array_release(joined);
    hn_array_release(taken);
    hn_array_release(first);
    hn_array_release(want_first);
  }
  hn_table_release(t);
}

static void serialize_round_trip(hn_table *t) {
  hn_buffer *blob = NULL;
  hn_table *back = NULL;
  hn_error err;
  HN_CHECK(hn_table_serialize(t, NULL, &blob, &err), &err);
  HN_CHECK(hn_table_deserialize(NULL, blob, &back, &err), &err);
  assert_true(hn_table_equals(t, back));
  HN_CHECK(hn_table_validate(back, true, &err), &err);
  hn_table_release(back);
  hn_buffer_release(blob);
}

static void test_serialize(void **state) {
  (void)state;
  hn_table *t = hn_test_all_types_table(NULL);
  serialize_round_trip(t);
  for (int64_t off = 0; off < 3; off++)
    for (int64_t len = 0; off + len <= 3; len++) {
      hn_table *sl = NULL;
      HN_CHECK(hn_table_slice(t, off, len, &sl, NULL), NULL);
      serialize_round_trip(sl);
      hn_table_release(sl);
    }
  /* Format version 2 is written; version 1 has none of these types. */
  hn_buffer *blob = NULL;
  HN_CHECK(hn_table_serialize(t, NULL, &blob, NULL), NULL);
  const uint8_t *p = hn_buffer_data(blob);
  assert_int_equal(p[4] | p[5] << 8, 2);
  hn_buffer *v1 = NULL;
  HN_CHECK(hn_buffer_copy(NULL, p, hn_buffer_size(blob), &v1, NULL), NULL);
  uint8_t *q = hn_buffer_mutable_data(v1);
  int64_t n = hn_buffer_size(v1);
  q[4] = 1;
  uint64_t sum = hn_hash_bytes(q, (size_t)(n - 8), 0);
  for (int i = 0; i < 8; i++) q[n - 8 + i] = (uint8_t)(sum >> (8 * i));
  hn_table *back = NULL;
  hn_error err;
  assert_int_equal(hn_table_deserialize(NULL, v1, &back, &err), HN_ECORRUPT);
  assert_non_null(strstr(err.message, "unknown type id 11")); /* int8, the first column */
  hn_buffer_release(v1);
  hn_buffer_release(blob);
  hn_table_release(t);
}

static const hn_type *ty(const char *text) {
  const hn_type *t = NULL;
  HN_CHECK(hn_type_parse(NULL, text, &t, NULL), NULL);
  return t;
}

static bool lossless(const char *from, const char *to) {
  const hn_type *f = ty(from), *t = ty(to);
  bool ok = hn__cast_lossless(f, t);
  hn_type_release(f);
  hn_type_release(t);
  return ok;
}

/* The coercion rule (docs/data-model.md): lossless widening only. */
static void test_cast_rule(void **state) {
  (void)state;
  static const char *const yes[][2] = {
      {"int8", "int16"},
      {"int8", "int64"},
      {"int32", "int64"},
      {"uint8", "int16"},
      {"uint32", "int64"},
      {"uint16", "uint64"},
      {"int16", "float32"},
      {"int32", "float64"},
      {"uint32", "float64"},
      {"float16", "float32"},
      {"float32", "float64"},
      {"date32", "date64"},
      {"large_utf8", "utf8"},
      {"utf8", "large_utf8"},
      {"large_binary", "binary"},
      {"list<int32>", "large_list<int64>"},
      {"fixed_size_list<int8>[2]", "list<int16>"},
      {"struct<a: int32, b: large_utf8>", "struct<a: int64, b: utf8>"},
      {"int64", "int64"}};
  static const char *const no[][2] = {{"int64", "int32"},
                                      {"uint64", "int64"},
                                      {"int64", "float64"},
                                      {"int32", "float32"},
                                      {"uint32", "int32"},
                                      {"int8", "uint64"},
                                      {"float64", "float32"},
                                      {"utf8", "binary"},
                                      {"date64", "date32"},
                                      {"timestamp[s]", "timestamp[ms]"},
                                      {"list<int64>", "list<int32>"},
                                      {"list<int32>", "fixed_size_list<int32>[2]"},
                                      {"struct<a: int32>", "struct<b: int64>"},
                                      {"map<utf8, int32>", "map<utf8, int64>"},
                                      {"bool", "int8"}};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
    if (!lossless(yes[i][0], yes[i][1])) fail_msg("%s -> %s refused", yes[i][0], yes[i][1]);
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
    if (lossless(no[i][0], no[i][1])) fail_msg("%s -> %s accepted", no[i][0], no[i][1]);
}

static hn_array *cast_to(hn_array *a, const char *to) {
  const hn_type *t = ty(to);
  hn_array *out = NULL;
  hn_error err;
  HN_CHECK(hn__array_cast(NULL, a, t, &out, &err), &err);
  HN_CHECK(hn_array_validate(out, true, &err), &err);
  hn_type_release(t);
  return out;
}

static void test_cast_values(void **state) {
  (void)state;
  hn_table *t = hn_test_all_types_table(NULL);
  hn_array *sl = NULL;
  /* Sliced inputs: the cast starts at the slice's first row. */
  HN_CHECK(hn_array_slice(hn_table_column_by_name(t, "i8"), 1, 2, &sl, NULL), NULL);
  hn_array *i64 = cast_to(sl, "int64");
  assert_true(hn_array_get(i64, 0).is_null);
  assert_int_equal(hn_array_get(i64, 1).v.i64, 127);
  hn_array_release(sl);
  hn_array_release(i64);
  hn_array *f32 = cast_to(hn_table_column_by_name(t, "f16"), "float32");
  assert_true(hn_array_get(f32, 0).v.f32 == 1.0f && hn_array_get(f32, 2).v.f32 == -2.0f);
  hn_array *f64 = cast_to(hn_table_column_by_name(t, "u32"), "float64");
  assert_true(hn_array_get(f64, 0).v.f64 == 4294967295.0);
  hn_array *d64 = cast_to(hn_table_column_by_name(t, "date32"), "date64");
  assert_int_equal(hn_array_get(d64, 0).v.i64, 19000LL * 86400000);
  HN_CHECK(hn_array_slice(hn_table_column_by_name(t, "large_text"), 1, 2, &sl, NULL), NULL);
  hn_array *u = cast_to(sl, "utf8");
  assert_int_equal(hn_array_get(u, 1).v.str.size, 0);
  assert_true(hn_array_get(u, 0).is_null);
  hn_array_release(sl);
  hn_array *pairs = cast_to(hn_table_column_by_name(t, "pair"), "large_list<int64>");
  hn_datum p2 = hn_array_get(pairs, 2);
  assert_int_equal(p2.v.list.length, 2);
  assert_int_equal(hn_list_view_get(p2.v.list, 1).v.i64, -4);
  assert_true(hn_array_get(pairs, 1).is_null);
  /* Refused: HN_ETYPE naming both types. */
  const hn_type *i32 = ty("int32");
  hn_array *out = NULL;
  hn_error err;
  assert_int_equal(hn__array_cast(NULL, hn_table_column_by_name(t, "u64"), i32, &out, &err),
                   HN_ETYPE);
  assert_non_null(strstr(err.message, "uint64 does not convert to int32 without loss"));
  hn_type_release(i32);
  hn_array_release(f32);
  hn_array_release(f64);
  hn_array_release(d64);
  hn_array_release(u);
  hn_array_release(pairs);
  hn_table_release(t);
}

/* ---- the encodings import decodes --------------------------------------------- */

static void noop_schema_release(struct ArrowSchema *s) {
  s->release = NULL;
}
static void noop_array_release(struct ArrowArray *a) {
  a->release = NULL;
}

static struct ArrowSchema leaf_schema(const char *format, const char *name) {
  struct ArrowSchema s = {
      format, name, NULL, ARROW_FLAG_NULLABLE, 0, NULL, NULL, noop_schema_release, NULL};
  return s;
}

static struct ArrowArray leaf_array(int64_t length, int64_t null_count, int64_t n_buffers,
                                    const void **buffers) {
  struct ArrowArray a = {length,  null_count, 0,    n_buffers,          0,
                         buffers, NULL,       NULL, noop_array_release, NULL};
  return a;
}

/* Import `a` with `s`: HN_OK and the array, or the failure's code and message. */
static hn_status import(struct ArrowSchema *s, struct ArrowArray *a, hn_array **out,
                        hn_error *err) {
  *out = NULL;
  return hn_array_import(NULL, s, a, NULL, out, err);
}

static hn_array *utf8_of(const char *const *v, int n, const uint8_t *nulls) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_utf8(), &b, NULL), NULL);
  for (int i = 0; i < n; i++)
    if (nulls && nulls[i])
      HN_CHECK(hn_builder_append_null(b), NULL);
    else
      HN_CHECK(hn_builder_append_str(b, v[i], -1), NULL);
  hn_array *out = NULL;
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  return out;
}

static void test_dictionary(void **state) {
  (void)state;
  static const int32_t off[] = {0, 3, 6};
  static const char bytes[] = "redgrn";
  const void *dict_bufs[3] = {NULL, off, bytes};
  int8_t idx[5] = {1, 0, 0, 1, 1};
  uint8_t valid = 0x1B; /* row 2 null */
  const void *idx_bufs[2] = {&valid, idx};
  struct ArrowSchema dict_s = leaf_schema("u", NULL), s = leaf_schema("c", "color");
  s.dictionary = &dict_s;
  struct ArrowArray dict_a = leaf_array(2, 0, 3, dict_bufs);
  struct ArrowArray a = leaf_array(5, 1, 2, idx_bufs);
  a.dictionary = &dict_a;
  hn_array *out = NULL;
  hn_error err;
  HN_CHECK(import(&s, &a, &out, &err), &err);
  static const char *const want_v[] = {"grn", "red", "", "grn", "grn"};
  static const uint8_t want_n[] = {0, 0, 1, 0, 0};
  hn_array *want = utf8_of(want_v, 5, want_n);
  assert_true(hn_array_equals(out, want));
  hn_array_release(out);
  hn_array_release(want);
  /* An index outside the dictionary is refused, naming it. */
  idx[3] = 2;
  a = leaf_array(5, 1, 2, idx_bufs);
  a.dictionary = &dict_a;
  dict_a = leaf_array(2, 0, 3, dict_bufs);
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(
      strstr(err.message, "dictionary index 2 of row 3 is outside the dictionary of 2"));
  assert_null(a.release);
  /* A dictionary in the schema and none in the array. */
  a = leaf_array(5, 1, 2, idx_bufs);
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "the schema has a dictionary, the array none"));
}

static void test_run_end(void **state) {
  (void)state;
  int32_t ends[3] = {2, 3, 6};
  static const int64_t vals[3] = {10, 20, 30};
  uint8_t vvalid = 0x05; /* values[1] null */
  const void *ends_bufs[2] = {NULL, ends}, *val_bufs[2] = {&vvalid, vals};
  struct ArrowSchema ends_s = leaf_schema("i", "run_ends"), vals_s = leaf_schema("l", "values");
  struct ArrowSchema *kids_s[2] = {&ends_s, &vals_s};
  struct ArrowSchema s = {
      "+r", "r", NULL, ARROW_FLAG_NULLABLE, 2, kids_s, NULL, noop_schema_release, NULL};
  struct ArrowArray ends_a = leaf_array(3, 0, 2, ends_bufs), vals_a = leaf_array(3, 1, 2, val_bufs);
  struct ArrowArray *kids_a[2] = {&ends_a, &vals_a};
  struct ArrowArray a = {4, 0, 1, 0, 2, NULL, kids_a, NULL, noop_array_release, NULL};
  hn_array *out = NULL;
  hn_error err;
  HN_CHECK(import(&s, &a, &out, &err), &err);
  /* Logical rows 1..4 of [10, 10, null, 30, 30, 30]. */
  assert_int_equal(hn_array_length(out), 4);
  assert_int_equal(hn_type_id_of(hn_array_type(out)), HN_TYPE_INT64);
  assert_int_equal(hn_array_get(out, 0).v.i64, 10);
  assert_true(hn_array_get(out, 1).is_null);
  assert_int_equal(hn_array_get(out, 2).v.i64, 30);
  assert_int_equal(hn_array_get(out, 3).v.i64, 30);
  hn_array_release(out);
  /* Run ends must increase. */
  ends[1] = 2;
  ends_a = leaf_array(3, 0, 2, ends_bufs);
  vals_a = leaf_array(3, 1, 2, val_bufs);
  a = (struct ArrowArray){4, 0, 1, 0, 2, NULL, kids_a, NULL, noop_array_release, NULL};
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "run ends must be positive and increasing"));
  /* ... and cover the array. */
  ends[1] = 3;
  ends[2] = 4;
  ends_a = leaf_array(3, 0, 2, ends_bufs);
  vals_a = leaf_array(3, 1, 2, val_bufs);
  a = (struct ArrowArray){4, 0, 1, 0, 2, NULL, kids_a, NULL, noop_array_release, NULL};
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "the runs end at row 4, the array needs 5"));
  /* No runs and no rows: an empty array, nothing read (found by the fuzzer). */
  ends_a = leaf_array(0, 0, 2, ends_bufs);
  vals_a = leaf_array(0, 0, 2, val_bufs);
  a = (struct ArrowArray){0, 0, 0, 0, 2, NULL, kids_a, NULL, noop_array_release, NULL};
  HN_CHECK(import(&s, &a, &out, &err), &err);
  assert_int_equal(hn_array_length(out), 0);
  hn_array_release(out);
}

/* A 16-byte view: inline up to 12 bytes, else prefix, buffer index, offset. */
static void put_view(uint8_t *v, const char *s, int32_t buf, int32_t off) {
  int32_t n = (int32_t)strlen(s);
  memset(v, 0, 16);
  memcpy(v, &n, 4);
  if (n <= 12) {
    memcpy(v + 4, s, (size_t)n);
  } else {
    memcpy(v + 4, s, 4);
    memcpy(v + 8, &buf, 4);
    memcpy(v + 12, &off, 4);
  }
}

static void test_string_views(void **state) {
  (void)state;
  static const char data[] = "xxa string longer than twelve";
  _Alignas(16) uint8_t views[4][16];
  put_view(views[0], "short", 0, 0);
  put_view(views[1], "", 0, 0);
  put_view(views[2], "a string longer than twelve", 0, 2);
  put_view(views[3], "ignored", 0, 0);
  int64_t sizes[1] = {(int64_t)sizeof data - 1};
  uint8_t valid = 0x07; /* row 3 null */
  const void *bufs[4] = {&valid, views, data, sizes};
  struct ArrowSchema s = leaf_schema("vu", "v");
  struct ArrowArray a = leaf_array(4, 1, 4, bufs);
  hn_array *out = NULL;
  hn_error err;
  HN_CHECK(import(&s, &a, &out, &err), &err);
  static const char *const want_v[] = {"short", "", "a string longer than twelve", ""};
  static const uint8_t want_n[] = {0, 0, 0, 1};
  hn_array *want = utf8_of(want_v, 4, want_n);
  assert_true(hn_array_equals(out, want));
  hn_array_release(out);
  hn_array_release(want);
  /* A view past its data buffer is refused. */
  put_view(views[2], "a string longer than twelve", 0, 3);
  a = leaf_array(4, 1, 4, bufs);
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "view of row 2 points at [3, +27) of data buffer 0"));
  put_view(views[2], "a string longer than twelve", 1, 2);
  a = leaf_array(4, 1, 4, bufs);
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  /* Invalid UTF-8 in a utf8 view is caught like in plain utf8. */
  put_view(views[0], "\xff", 0, 0);
  put_view(views[2], "a string longer than twelve", 0, 2);
  a = leaf_array(4, 1, 4, bufs);
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "invalid UTF-8 in row 0"));
  /* Binary views decode to binary. */
  struct ArrowSchema sb = leaf_schema("vz", "v");
  a = leaf_array(4, 1, 4, bufs);
  HN_CHECK(import(&sb, &a, &out, &err), &err);
  assert_int_equal(hn_type_id_of(hn_array_type(out)), HN_TYPE_BINARY);
  hn_array_release(out);
}

static void test_list_views(void **state) {
  (void)state;
  static const int64_t items[5] = {1, 2, 3, 4, 5};
  const void *item_bufs[2] = {NULL, items};
  int32_t offsets[3] = {3, 0, 1}, sizes[3] = {2, 0, 3};
  const void *bufs[3] = {NULL, offsets, sizes};
  struct ArrowSchema item_s = leaf_schema("l", "item"), *kids_s[1] = {&item_s};
  struct ArrowSchema s = {
      "+vl", "lv", NULL, ARROW_FLAG_NULLABLE, 1, kids_s, NULL, noop_schema_release, NULL};
  struct ArrowArray item_a = leaf_array(5, 0, 2, item_bufs), *kids_a[1] = {&item_a};
  struct ArrowArray a = {3, 0, 0, 3, 1, bufs, kids_a, NULL, noop_array_release, NULL};
  hn_array *out = NULL;
  hn_error err;
  HN_CHECK(import(&s, &a, &out, &err), &err);
  assert_int_equal(hn_type_id_of(hn_array_type(out)), HN_TYPE_LIST);
  hn_datum r0 = hn_array_get(out, 0), r2 = hn_array_get(out, 2);
  assert_int_equal(r0.v.list.length, 2);
  assert_int_equal(hn_list_view_get(r0.v.list, 0).v.i64, 4);
  assert_int_equal(hn_array_get(out, 1).v.list.length, 0);
  assert_int_equal(r2.v.list.length, 3);
  assert_int_equal(hn_list_view_get(r2.v.list, 2).v.i64, 4);
  HN_CHECK(hn_array_validate(out, true, NULL), NULL);
  hn_array_release(out);
  /* A view past the items. */
  sizes[0] = 3;
  item_a = leaf_array(5, 0, 2, item_bufs);
  a = (struct ArrowArray){3, 0, 0, 3, 1, bufs, kids_a, NULL, noop_array_release, NULL};
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "list view row 0 spans [3, +3), outside the 5 items"));
}

static void test_map_null_key_refused(void **state) {
  (void)state;
  static const int32_t koff[3] = {0, 1, 2}, moff[2] = {0, 2};
  static const char kbytes[] = "ab";
  static const int64_t vals[2] = {1, 2};
  uint8_t kvalid = 0x01; /* key 1 null */
  const void *k_bufs[3] = {&kvalid, koff, kbytes}, *v_bufs[2] = {NULL, vals}, *e_bufs[1] = {NULL};
  const void *m_bufs[2] = {NULL, moff};
  struct ArrowSchema k_s = leaf_schema("u", "key"), v_s = leaf_schema("l", "value");
  struct ArrowSchema *kv_s[2] = {&k_s, &v_s};
  struct ArrowSchema e_s = {"+s", "entries", NULL, 0, 2, kv_s, NULL, noop_schema_release, NULL};
  struct ArrowSchema *e_ptr = &e_s;
  struct ArrowSchema s = {
      "+m", "m", NULL, ARROW_FLAG_NULLABLE, 1, &e_ptr, NULL, noop_schema_release, NULL};
  struct ArrowArray k_a = leaf_array(2, 1, 3, k_bufs), v_a = leaf_array(2, 0, 2, v_bufs);
  struct ArrowArray *kv_a[2] = {&k_a, &v_a};
  struct ArrowArray e_a = {2, 0, 0, 1, 2, e_bufs, kv_a, NULL, noop_array_release, NULL};
  struct ArrowArray *e_aptr = &e_a;
  struct ArrowArray a = {1, 0, 0, 2, 1, m_bufs, &e_aptr, NULL, noop_array_release, NULL};
  hn_array *out = NULL;
  hn_error err;
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "a map key is null"));
  /* Without the null key it imports, as map<utf8, int64>. */
  kvalid = 0x03;
  k_a = leaf_array(2, 0, 3, k_bufs);
  v_a = leaf_array(2, 0, 2, v_bufs);
  e_a = (struct ArrowArray){2, 0, 0, 1, 2, e_bufs, kv_a, NULL, noop_array_release, NULL};
  a = (struct ArrowArray){1, 0, 0, 2, 1, m_bufs, &e_aptr, NULL, noop_array_release, NULL};
  HN_CHECK(import(&s, &a, &out, &err), &err);
  char buf[64];
  hn_type_to_string(hn_array_type(out), buf, sizeof buf);
  assert_string_equal(buf, "map<utf8, int64>");
  hn_array_release(out);
}

/* Dictionary-encoded export: indices into the distinct values, and back. */
static void test_export_dictionary(void **state) {
  (void)state;
  static const char *const v[] = {"a", "b", "a", "", "b", "c", "a"};
  static const uint8_t nulls[] = {0, 0, 0, 1, 0, 0, 0};
  hn_array *col = utf8_of(v, 7, nulls), *sl = NULL;
  struct ArrowSchema s;
  struct ArrowArray a;
  hn_error err;
  HN_CHECK(hn_array_export_dictionary(col, &s, &a, &err), &err);
  assert_string_equal(s.format, "i");
  assert_non_null(s.dictionary);
  assert_string_equal(s.dictionary->format, "u");
  assert_non_null(a.dictionary);
  assert_int_equal(a.dictionary->length, 3);
  assert_int_equal(a.null_count, 1);
  const int32_t *idx = a.buffers[1];
  assert_true(idx[0] == 0 && idx[1] == 1 && idx[2] == 0 && idx[4] == 1 && idx[5] == 2 &&
              idx[6] == 0);
  hn_array *back = NULL;
  HN_CHECK(hn_array_import(NULL, &s, &a, NULL, &back, &err), &err);
  assert_true(hn_array_equals(col, back));
  hn_array_release(back);
  s.release(&s);
  /* A slice; the outputs outlive the column. */
  HN_CHECK(hn_array_slice(col, 2, 4, &sl, NULL), NULL);
  HN_CHECK(hn_array_export_dictionary(sl, &s, &a, &err), &err);
  assert_int_equal(a.dictionary->length, 3); /* a, b, c */
  hn_array *keep = hn_array_retain(sl);
  hn_array_release(col);
  HN_CHECK(hn_array_import(NULL, &s, &a, NULL, &back, &err), &err);
  assert_true(hn_array_equals(keep, back));
  hn_array_release(back);
  hn_array_release(keep);
  hn_array_release(sl);
  s.release(&s);
  /* Fixed-width types too; nested ones are refused. */
  hn_table *t = hn_test_all_types_table(NULL);
  static const char *const ok[] = {"i32", "u64", "dec128", "dec256", "uuid", "large_text", "mdn"};
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    hn_array *c = hn_table_column_by_name(t, ok[i]);
    HN_CHECK(hn_array_export_dictionary(c, &s, &a, &err), &err);
    HN_CHECK(hn_array_import(NULL, &s, &a, NULL, &back, &err), &err);
    assert_true(hn_array_equals(c, back));
    hn_array_release(back);
    s.release(&s);
  }
  assert_int_equal(hn_array_export_dictionary(hn_table_column_by_name(t, "pair"), &s, &a, &err),
                   HN_EUNSUPPORTED);
  assert_null(s.release);
  assert_null(a.release);
  assert_non_null(
      strstr(err.message, "fixed_size_list<int32>[2] columns cannot be dictionary-encoded"));
  hn_table_release(t);
}

/* A null array has no buffer behind its rows: at most INT32_MAX of them, as for struct<>. */
static void test_null_rows_limit(void **state) {
  (void)state;
  struct ArrowSchema s = leaf_schema("n", "nothing");
  struct ArrowArray a = leaf_array((int64_t)1 << 40, (int64_t)1 << 40, 0, NULL);
  hn_array *out = NULL;
  hn_error err;
  assert_int_equal(import(&s, &a, &out, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "rows with no buffer behind them"));
  a = leaf_array(5, 5, 0, NULL);
  HN_CHECK(import(&s, &a, &out, &err), &err);
  assert_int_equal(hn_array_null_count(out), 5);
  hn_array_release(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_type_strings),
      cmocka_unit_test(test_type_string_errors),
      cmocka_unit_test(test_datums),
      cmocka_unit_test(test_builder_errors),
      cmocka_unit_test(test_export_formats),
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_cast_rule),
      cmocka_unit_test(test_cast_values),
      cmocka_unit_test(test_concat_take),
      cmocka_unit_test(test_serialize),
      cmocka_unit_test(test_dictionary),
      cmocka_unit_test(test_run_end),
      cmocka_unit_test(test_string_views),
      cmocka_unit_test(test_list_views),
      cmocka_unit_test(test_null_rows_limit),
      cmocka_unit_test(test_map_null_key_refused),
      cmocka_unit_test(test_export_dictionary),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
