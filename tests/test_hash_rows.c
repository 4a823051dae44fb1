/*
 * Type-aware row hashing (src/data/hash_rows.c): types and nulls keep values
 * apart, floats hash by bits, slices and arrays whose children have their
 * own offsets hash like fresh arrays, nested values hash equal exactly when
 * they are equal, every byte of a string counts, the array path equals the
 * datum path on random nested arrays, objects are refused, and allocation
 * failures leak nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h" /* hn__array_hash_rows, hn__array_make */
#include "test_support.h"

/* ---- helpers ------------------------------------------------------------- */

static hn__hash128 row_hash(const hn_array *a, int64_t row) {
  hn__hash128 h = {0, 0};
  hn_error err;
  HN_CHECK(hn__array_hash_rows(a, row, 1, &h, &err), &err);
  return h;
}

static hn__hash128 datum_hash(hn_datum d) {
  hn__hash128 h = {0, 0};
  hn_error err;
  HN_CHECK(hn__datum_hash(d, &h, &err), &err);
  return h;
}

static hn_array *finish(hn_builder *b) {
  hn_array *a = NULL;
  hn_error err;
  HN_CHECK(hn_builder_finish(b, &a, &err), &err);
  hn_builder_destroy(b);
  return a;
}

static hn_builder *builder(const hn_type *t) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, t, &b, NULL), NULL);
  return b;
}

/* One-row arrays of a scalar (or a null when `null`). */
static hn_array *one_int64(int64_t v) {
  hn_builder *b = builder(hn_type_int64());
  HN_CHECK(hn_builder_append_int64(b, v), NULL);
  return finish(b);
}
static hn_array *one_float64(double v) {
  hn_builder *b = builder(hn_type_float64());
  HN_CHECK(hn_builder_append_float64(b, v), NULL);
  return finish(b);
}
static hn_array *one_float32(float v) {
  hn_builder *b = builder(hn_type_float32());
  HN_CHECK(hn_builder_append_float32(b, v), NULL);
  return finish(b);
}
static hn_array *one_str(const hn_type *t, const char *s, int64_t size) {
  hn_builder *b = builder(t);
  HN_CHECK(hn_builder_append_str(b, s, size), NULL);
  return finish(b);
}
static hn_array *one_bool(bool v) {
  hn_builder *b = builder(hn_type_bool());
  HN_CHECK(hn_builder_append_bool(b, v), NULL);
  return finish(b);
}
static hn_array *one_null(const hn_type *t) {
  hn_builder *b = builder(t);
  HN_CHECK(hn_builder_append_null(b), NULL);
  return finish(b);
}

/* Hashes of one-row arrays, released as they are hashed. */
static hn__hash128 take_hash(hn_array *a) {
  hn__hash128 h = row_hash(a, 0);
  hn_array_release(a);
  return h;
}

static void assert_all_distinct(const hn__hash128 *h, int n) {
  for (int i = 0; i < n; i++)
    for (int k = i + 1; k < n; k++)
      if (hn__hash128_eq(h[i], h[k])) fail_msg("hashes %d and %d are equal", i, k);
}

/* A small deterministic generator. */
static uint64_t rnd(uint64_t *s) {
  *s = *s * 6364136223846793005ull + 1442695040888963407ull;
  return *s >> 33;
}

/* ---- type awareness, nulls, floats ---------------------------------------- */

static void test_types_differ(void **state) {
  (void)state;
  hn__hash128 h[] = {
      take_hash(one_int64(1)),
      take_hash(one_float64(1.0)),
      take_hash(one_float32(1.0f)),
      take_hash(one_str(hn_type_utf8(), "1", -1)),
      take_hash(one_str(hn_type_binary(), "1", -1)),
      take_hash(one_bool(true)),
      take_hash(one_int64(0)),
      take_hash(one_float64(0.0)),
      take_hash(one_float32(0.0f)),
      take_hash(one_bool(false)),
      take_hash(one_str(hn_type_utf8(), "", 0)),
      take_hash(one_str(hn_type_binary(), "", 0)),
  };
  assert_all_distinct(h, (int)(sizeof h / sizeof h[0]));
  /* The same value hashes the same from two arrays. */
  hn__hash128 a = take_hash(one_int64(42)), b = take_hash(one_int64(42));
  assert_true(hn__hash128_eq(a, b));
  hn__hash128 s1 = take_hash(one_str(hn_type_utf8(), "same", -1));
  hn__hash128 s2 = take_hash(one_str(hn_type_utf8(), "same", -1));
  assert_true(hn__hash128_eq(s1, s2));
}

static void test_nulls(void **state) {
  (void)state;
  const hn_type *li = NULL, *st = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &li, NULL), NULL);
  const char *names[] = {"a"};
  const hn_type *fields[] = {hn_type_int64()};
  HN_CHECK(hn_type_struct_create(NULL, 1, names, fields, &st, NULL), NULL);
  /* A null equals the per-type constant and a null of the same type elsewhere. */
  hn__hash128 n64 = take_hash(one_null(hn_type_int64()));
  assert_true(hn__hash128_eq(n64, hn__hash_null(HN_TYPE_INT64)));
  assert_true(hn__hash128_eq(n64, take_hash(one_null(hn_type_int64()))));
  /* Nulls of different types differ, and differ from zero, "", [] and {a: null}. */
  hn_builder *lb = builder(li);
  HN_CHECK(hn_builder_finish_element(lb), NULL); /* [] */
  hn_builder *sb = builder(st);
  HN_CHECK(hn_builder_append_null(hn_builder_child(sb, 0)), NULL);
  HN_CHECK(hn_builder_finish_element(sb), NULL); /* {a: null} */
  hn__hash128 h[] = {
      n64,
      take_hash(one_null(hn_type_float64())),
      take_hash(one_null(hn_type_utf8())),
      take_hash(one_null(hn_type_binary())),
      take_hash(one_null(hn_type_bool())),
      take_hash(one_null(li)),
      take_hash(one_null(st)),
      take_hash(one_int64(0)),
      take_hash(one_str(hn_type_utf8(), "", 0)),
      take_hash(finish(lb)),
      take_hash(finish(sb)),
      take_hash(one_bool(false)),
  };
  assert_all_distinct(h, (int)(sizeof h / sizeof h[0]));
  /* A null's value slot does not matter: a null over a non-zero slot hashes as null. */
  hn_buffer *validity = NULL, *values = NULL;
  HN_CHECK(hn_buffer_create(NULL, 1, &validity, NULL), NULL);
  HN_CHECK(hn_buffer_create(NULL, 16, &values, NULL), NULL);
  hn_buffer_mutable_data(validity)[0] = 0x2; /* row 0 null, row 1 valid */
  int64_t v[2] = {77, 5};
  memcpy(hn_buffer_mutable_data(values), v, sizeof v);
  hn_array *arr = NULL;
  HN_CHECK(hn_array_create_fixed(NULL, hn_type_int64(), 2, validity, values, &arr, NULL), NULL);
  hn_buffer_release(validity);
  hn_buffer_release(values);
  assert_true(hn__hash128_eq(row_hash(arr, 0), n64));
  assert_true(hn__hash128_eq(row_hash(arr, 1), take_hash(one_int64(5))));
  hn_array_release(arr);
  hn_type_release(li);
  hn_type_release(st);
}

static void test_floats_by_bits(void **state) {
  (void)state;
  double nan_a = nan(""), nan_b = -nan("");
  float fnan = nanf("");
  hn__hash128 h[] = {take_hash(one_float64(0.0)),   take_hash(one_float64(-0.0)),
                     take_hash(one_float64(nan_a)), take_hash(one_float64(nan_b)),
                     take_hash(one_float32(0.0f)),  take_hash(one_float32(-0.0f)),
                     take_hash(one_float32(fnan))};
  assert_all_distinct(h, (int)(sizeof h / sizeof h[0]));
  /* The same NaN bits hash the same. */
  assert_true(hn__hash128_eq(take_hash(one_float64(nan_a)), take_hash(one_float64(nan_a))));
}

/* Every single-byte change of a string changes its hash; so do length and a prefix. */
static void test_every_string_byte_counts(void **state) {
  (void)state;
  char s[200];
  for (int i = 0; i < (int)sizeof s; i++) s[i] = (char)('a' + i % 26);
  enum { N = sizeof s + 2 };
  hn__hash128 h[N];
  h[0] = take_hash(one_str(hn_type_utf8(), s, sizeof s));
  for (int i = 0; i < (int)sizeof s; i++) {
    s[i] ^= 0x01;
    h[i + 1] = take_hash(one_str(hn_type_utf8(), s, sizeof s));
    s[i] ^= 0x01;
  }
  h[N - 1] = take_hash(one_str(hn_type_utf8(), s, sizeof s - 1));
  assert_all_distinct(h, N);
  /* Binary bytes with NUL inside: a byte after the NUL still counts. */
  const char b1[] = {'x', 0, 'y'}, b2[] = {'x', 0, 'z'};
  assert_false(hn__hash128_eq(take_hash(one_str(hn_type_binary(), b1, 3)),
                              take_hash(one_str(hn_type_binary(), b2, 3))));
}

/* ---- nested values -------------------------------------------------------- */

/* list<list<int64>> rows from a compact spec: -1 closes an inner list, -2 the outer row. */
static hn_array *lists_of_lists(const int64_t *spec, int n) {
  const hn_type *inner = NULL, *outer = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &inner, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, inner, &outer, NULL), NULL);
  hn_builder *b = builder(outer);
  hn_builder *mid = hn_builder_child(b, 0), *leaf = hn_builder_child(mid, 0);
  for (int i = 0; i < n; i++) {
    if (spec[i] == -1)
      HN_CHECK(hn_builder_finish_element(mid), NULL);
    else if (spec[i] == -2)
      HN_CHECK(hn_builder_finish_element(b), NULL);
    else
      HN_CHECK(hn_builder_append_int64(leaf, spec[i]), NULL);
  }
  hn_type_release(inner);
  hn_type_release(outer);
  return finish(b);
}

static void test_nested_lists(void **state) {
  (void)state;
  /* rows: [[1,2],[3]]  [[1],[2,3]]  [[1,2,3]]  [[1,2],[3]]  [[1,2],[3],[]]  []  [[]] */
  const int64_t spec[] = {1, 2, -1, 3, -1, -2, 1, -1, 2,  3, -1, -2, 1,  2,  3,  -1, -2,
                          1, 2, -1, 3, -1, -2, 1, 2,  -1, 3, -1, -1, -2, -2, -1, -2};
  hn_array *a = lists_of_lists(spec, (int)(sizeof spec / sizeof spec[0]));
  assert_int_equal(hn_array_length(a), 7);
  hn__hash128 h[7];
  HN_CHECK(hn__array_hash_rows(a, 0, 7, h, NULL), NULL);
  assert_true(hn__hash128_eq(h[0], h[3]));
  hn__hash128 distinct[] = {h[0], h[1], h[2], h[4], h[5], h[6]};
  assert_all_distinct(distinct, 6);
  /* Each row equals its datum's hash. */
  for (int i = 0; i < 7; i++) assert_true(hn__hash128_eq(h[i], datum_hash(hn_array_get(a, i))));
  hn_array_release(a);
}

static hn_array *struct_rows(const char *const *names, const int64_t *a, const char *const *b,
                             int n) {
  const hn_type *fields[] = {hn_type_int64(), hn_type_utf8()};
  const hn_type *st = NULL;
  HN_CHECK(hn_type_struct_create(NULL, 2, names, fields, &st, NULL), NULL);
  hn_builder *sb = builder(st);
  for (int i = 0; i < n; i++) {
    HN_CHECK(hn_builder_append_int64(hn_builder_child(sb, 0), a[i]), NULL);
    HN_CHECK(hn_builder_append_str(hn_builder_child(sb, 1), b[i], -1), NULL);
    HN_CHECK(hn_builder_finish_element(sb), NULL);
  }
  hn_type_release(st);
  return finish(sb);
}

static void test_nested_structs(void **state) {
  (void)state;
  const char *names[] = {"a", "b"};
  const int64_t av[] = {1, 1, 2, 1};
  const char *bv[] = {"x", "y", "x", "x"};
  hn_array *s = struct_rows(names, av, bv, 4);
  hn__hash128 h[4];
  HN_CHECK(hn__array_hash_rows(s, 0, 4, h, NULL), NULL);
  assert_true(hn__hash128_eq(h[0], h[3]));
  hn__hash128 distinct[] = {h[0], h[1], h[2]};
  assert_all_distinct(distinct, 3);
  /* Field order counts: {a: 1, b: "x"} against a struct whose fields come the other way. */
  const hn_type *swapped = NULL;
  const char *rnames[] = {"b", "a"};
  const hn_type *rfields[] = {hn_type_utf8(), hn_type_int64()};
  HN_CHECK(hn_type_struct_create(NULL, 2, rnames, rfields, &swapped, NULL), NULL);
  hn_builder *sb = builder(swapped);
  HN_CHECK(hn_builder_append_str(hn_builder_child(sb, 0), "x", -1), NULL);
  HN_CHECK(hn_builder_append_int64(hn_builder_child(sb, 1), 1), NULL);
  HN_CHECK(hn_builder_finish_element(sb), NULL);
  assert_false(hn__hash128_eq(h[0], take_hash(finish(sb))));
  hn_type_release(swapped);
  hn_array_release(s);
}

/* A slice, and a struct and a list whose children are slices, hash like fresh arrays. */
static void test_slices_and_child_offsets(void **state) {
  (void)state;
  hn_array *lls = hn_test_list_list_utf8(NULL); /* 4 rows */
  hn__hash128 whole[4], part[2];
  HN_CHECK(hn__array_hash_rows(lls, 0, 4, whole, NULL), NULL);
  hn_array *sl = NULL;
  HN_CHECK(hn_array_slice(lls, 1, 3, &sl, NULL), NULL);
  HN_CHECK(hn__array_hash_rows(sl, 1, 2, part, NULL), NULL);
  assert_true(hn__hash128_eq(part[0], whole[2]) && hn__hash128_eq(part[1], whole[3]));
  hn_array_release(sl);
  hn_array_release(lls);

  /* struct<a: int64, b: utf8> over children sliced at 2 and 1; rows from struct offset 1. */
  const char *names[] = {"a", "b"};
  const int64_t av[] = {9, 9, 9, 10, 11, 12};
  const char *bv[] = {"q", "p", "q", "r", "s", "t"};
  hn_array *fresh = struct_rows(names, av + 3, bv + 2, 3); /* {10,q} {11,r} {12,s} */
  hn_builder *ib = builder(hn_type_int64()), *ub = builder(hn_type_utf8());
  for (int i = 0; i < 6; i++) {
    HN_CHECK(hn_builder_append_int64(ib, av[i]), NULL);
    HN_CHECK(hn_builder_append_str(ub, bv[i], -1), NULL);
  }
  hn_array *ia = finish(ib), *ua = finish(ub), *kids[2] = {NULL, NULL};
  HN_CHECK(hn_array_slice(ia, 2, 4, &kids[0], NULL), NULL); /* 9 10 11 12 */
  HN_CHECK(hn_array_slice(ua, 1, 5, &kids[1], NULL), NULL); /* p q r s t */
  hn_array_release(ia);
  hn_array_release(ua);
  hn_array *st = NULL;
  HN_CHECK(
      hn__array_make(NULL, hn_array_type(fresh), 3, 1, 0, NULL, NULL, NULL, 2, kids, &st, NULL),
      NULL);
  hn__hash128 hf[3], hs[3];
  HN_CHECK(hn__array_hash_rows(fresh, 0, 3, hf, NULL), NULL);
  HN_CHECK(hn__array_hash_rows(st, 0, 3, hs, NULL), NULL);
  for (int i = 0; i < 3; i++) {
    assert_true(hn__hash128_eq(hf[i], hs[i]));
    assert_true(hn__hash128_eq(hs[i], datum_hash(hn_array_get(st, i))));
  }
  hn_array_release(st);
  hn_array_release(fresh);
}

/* ---- random arrays: array path == datum path, equal hashes iff equal values ---- */

static void append_random(hn_builder *b, const hn_type *t, uint64_t *s) {
  static const double f64s[] = {0.0, -0.0, 1.0, 1.5, NAN, INFINITY};
  static const char *const strs[] = {"", "a", "b", "ab", "ba", "abc"};
  if (rnd(s) % 6 == 0) {
    HN_CHECK(hn_builder_append_null(b), NULL);
    return;
  }
  hn_status st = HN_OK;
  switch (hn_type_id_of(t)) {
    case HN_TYPE_BOOL:
      st = hn_builder_append_bool(b, rnd(s) % 2);
      break;
    case HN_TYPE_INT64:
      st = hn_builder_append_int64(b, (int64_t)(rnd(s) % 5) - 2);
      break;
    case HN_TYPE_FLOAT32:
      st = hn_builder_append_float32(b, (float)f64s[rnd(s) % 6]);
      break;
    case HN_TYPE_FLOAT64:
      st = hn_builder_append_float64(b, f64s[rnd(s) % 6]);
      break;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      st = hn_builder_append_str(b, strs[rnd(s) % 6], -1);
      break;
    case HN_TYPE_LIST:
      for (uint64_t k = rnd(s) % 4; k > 0; k--)
        append_random(hn_builder_child(b, 0), hn_type_list_item(t), s);
      st = hn_builder_finish_element(b);
      break;
    case HN_TYPE_STRUCT:
      for (int64_t f = 0; f < hn_type_num_fields(t); f++)
        append_random(hn_builder_child(b, f), hn_type_field_type(t, f), s);
      st = hn_builder_finish_element(b);
      break;
    default:
      fail();
  }
  HN_CHECK(st, NULL);
}

/* A random type up to `depth` levels: a primitive, a list or a two-field struct. */
static const hn_type *random_type(uint64_t *s, int depth) {
  const hn_type *prims[] = {hn_type_bool(),    hn_type_int64(), hn_type_float32(),
                            hn_type_float64(), hn_type_utf8(),  hn_type_binary()};
  uint64_t pick = rnd(s) % (depth > 0 ? 9 : 6);
  if (pick < 6) return prims[pick];
  const hn_type *out = NULL;
  if (pick < 8) {
    const hn_type *item = random_type(s, depth - 1);
    HN_CHECK(hn_type_list_create(NULL, item, &out, NULL), NULL);
    hn_type_release(item);
    return out;
  }
  const hn_type *f[2] = {random_type(s, depth - 1), random_type(s, depth - 1)};
  const char *names[] = {"x", "y"};
  HN_CHECK(hn_type_struct_create(NULL, 2, names, f, &out, NULL), NULL);
  hn_type_release(f[0]);
  hn_type_release(f[1]);
  return out;
}

/* Pairs of rows seen equal and different over all random arrays (both must occur). */
static int64_t g_equal_pairs, g_different_pairs;

static void check_random_array(uint64_t *s) {
  enum { ROWS = 120 };
  const hn_type *t = random_type(s, 3);
  hn_builder *b = builder(t);
  for (int i = 0; i < ROWS; i++) append_random(b, t, s);
  hn_array *whole = finish(b), *a = NULL;
  int64_t off = (int64_t)(rnd(s) % 10);
  HN_CHECK(hn_array_slice(whole, off, ROWS - off, &a, NULL), NULL);
  int64_t n = hn_array_length(a);
  hn__hash128 *h = malloc((size_t)n * sizeof *h);
  HN_CHECK(hn__array_hash_rows(a, 0, n, h, NULL), NULL);
  hn_array **rows = malloc((size_t)n * sizeof *rows);
  for (int64_t i = 0; i < n; i++) {
    assert_true(hn__hash128_eq(h[i], datum_hash(hn_array_get(a, i))));
    HN_CHECK(hn_array_slice(a, i, 1, &rows[i], NULL), NULL);
    assert_true(hn__hash128_eq(h[i], row_hash(rows[i], 0)));
  }
  /* Equal values, equal hashes; different values, different hashes. */
  for (int64_t i = 0; i < n; i++)
    for (int64_t k = i + 1; k < n; k++) {
      bool same = hn_array_equals(rows[i], rows[k]);
      assert_int_equal(hn__hash128_eq(h[i], h[k]), same);
      *(same ? &g_equal_pairs : &g_different_pairs) += 1;
    }
  /* A sub-range hashes as the same rows of the whole. */
  hn__hash128 sub[20];
  HN_CHECK(hn__array_hash_rows(a, 7, 20, sub, NULL), NULL);
  for (int i = 0; i < 20; i++) assert_true(hn__hash128_eq(sub[i], h[7 + i]));
  for (int64_t i = 0; i < n; i++) hn_array_release(rows[i]);
  free(rows);
  free(h);
  hn_array_release(a);
  hn_array_release(whole);
  hn_type_release(t);
}

static void test_random_arrays_match_datums(void **state) {
  (void)state;
  uint64_t s = 12345;
  for (int round = 0; round < 60; round++) check_random_array(&s);
  assert_true(g_equal_pairs > 1000 && g_different_pairs > 1000);
}

/* ---- type hashes, combination, refusals, allocation failure ----------------- */

static void test_type_hash_and_combine(void **state) {
  (void)state;
  const hn_type *li = NULL, *lu = NULL, *li2 = NULL, *s1 = NULL, *s2 = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &li, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, hn_type_utf8(), &lu, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &li2, NULL), NULL);
  const char *n1[] = {"a"}, *n2[] = {"b"};
  const hn_type *f[] = {hn_type_int64()};
  HN_CHECK(hn_type_struct_create(NULL, 1, n1, f, &s1, NULL), NULL);
  HN_CHECK(hn_type_struct_create(NULL, 1, n2, f, &s2, NULL), NULL);
  assert_true(hn__hash128_eq(hn__type_hash(li), hn__type_hash(li2)));
  hn__hash128 h[] = {hn__type_hash(li),
                     hn__type_hash(lu),
                     hn__type_hash(s1),
                     hn__type_hash(s2),
                     hn__type_hash(hn_type_int64()),
                     hn__type_hash(hn_type_float64()),
                     hn__type_hash(NULL)};
  assert_all_distinct(h, (int)(sizeof h / sizeof h[0]));
  hn__hash128 a = hn__hash128_bytes("a", 1, 0), b = hn__hash128_bytes("b", 1, 0);
  assert_false(hn__hash128_eq(hn__hash128_combine(a, b), hn__hash128_combine(b, a)));
  assert_false(hn__hash128_eq(hn__hash128_bytes("a", 1, 0), hn__hash128_bytes("a", 1, 1)));
  assert_true(hn__hash128_eq(hn__hash128_bytes(NULL, 0, 3), hn__hash128_bytes("", 0, 3)));
  hn_type_release(li);
  hn_type_release(lu);
  hn_type_release(li2);
  hn_type_release(s1);
  hn_type_release(s2);
}

static void free_object(void *ctx, void *o) {
  (void)ctx;
  free(o);
}

static void test_objects_and_bad_arguments(void **state) {
  (void)state;
  hn_object_vtable vt = {free_object, NULL, NULL, NULL};
  const hn_type *ot = NULL, *lo = NULL;
  HN_CHECK(hn_type_object_create(NULL, "thing", &vt, &ot, NULL), NULL);
  HN_CHECK(hn_type_list_create(NULL, ot, &lo, NULL), NULL);
  hn_array *objs = one_null(ot);
  hn_builder *lb = builder(lo);
  HN_CHECK(hn_builder_finish_element(lb), NULL); /* one empty list<object> */
  hn_array *lists = finish(lb);
  hn__hash128 h;
  hn_error err;
  assert_int_equal(hn__array_hash_rows(objs, 0, 1, &h, &err), HN_EUNSUPPORTED);
  assert_non_null(strstr(err.message, "object"));
  assert_int_equal(hn__array_hash_rows(lists, 0, 1, &h, &err), HN_EUNSUPPORTED);
  assert_int_equal(hn__datum_hash(hn_array_get(objs, 0), &h, &err), HN_EUNSUPPORTED);
  assert_int_equal(hn__datum_hash(hn_array_get(lists, 0), &h, &err), HN_EUNSUPPORTED);
  /* Ranges and NULLs. */
  hn_array *one = one_int64(1);
  assert_int_equal(hn__array_hash_rows(one, 1, 1, &h, &err), HN_ERANGE);
  assert_int_equal(hn__array_hash_rows(one, -1, 1, &h, &err), HN_ERANGE);
  assert_int_equal(hn__array_hash_rows(one, 0, 2, &h, &err), HN_ERANGE);
  assert_int_equal(hn__array_hash_rows(NULL, 0, 0, &h, &err), HN_EINVAL);
  assert_int_equal(hn__array_hash_rows(one, 0, 1, NULL, &err), HN_EINVAL);
  HN_CHECK(hn__array_hash_rows(one, 1, 0, NULL, &err), &err); /* nothing to hash */
  hn_datum none;
  memset(&none, 0, sizeof none);
  assert_int_equal(hn__datum_hash(none, &h, &err), HN_EINVAL);
  assert_int_equal(hn__datum_hash(hn_array_get(one, 0), NULL, &err), HN_EINVAL);
  hn_array_release(one);
  hn_array_release(objs);
  hn_array_release(lists);
  hn_type_release(lo);
  hn_type_release(ot);
}

/* Nested hashing allocates scratch with the array's allocator: every failure is clean. */
static void test_allocation_failure(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_array *a = hn_test_list_list_utf8(&ta.alloc);
  hn__hash128 expect[4], h[4];
  HN_CHECK(hn__array_hash_rows(a, 0, 4, expect, NULL), NULL);
  int64_t base = ta.live, failures = 0;
  for (int64_t k = 1;; k++) {
    ta.n_allocs = 0;
    ta.fail_at = k;
    hn_error err;
    hn_status st = hn__array_hash_rows(a, 0, 4, h, &err);
    assert_int_equal(ta.live, base);
    if (st == HN_OK) break;
    assert_int_equal(st, HN_ENOMEM);
    assert_non_null(strstr(err.message, "hashing"));
    failures++;
  }
  assert_true(failures >= 2);
  for (int i = 0; i < 4; i++) assert_true(hn__hash128_eq(h[i], expect[i]));
  ta.fail_at = 0;
  hn_array_release(a);
  assert_int_equal(ta.live, 0);
  /* A list datum of more than 16 items hashes them into scratch from its array's allocator. */
  const hn_type *li = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &li, NULL), NULL);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(&ta.alloc, li, &b, NULL), NULL);
  for (int64_t i = 0; i < 40; i++)
    HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), i), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  hn_array *lists = NULL;
  HN_CHECK(hn_builder_finish(b, &lists, NULL), NULL);
  hn_builder_destroy(b);
  base = ta.live;
  ta.n_allocs = 0;
  ta.fail_at = 1;
  hn_error err;
  assert_int_equal(hn__datum_hash(hn_array_get(lists, 0), &h[0], &err), HN_ENOMEM);
  assert_int_equal(ta.live, base);
  ta.fail_at = 0;
  assert_true(hn__hash128_eq(datum_hash(hn_array_get(lists, 0)), row_hash(lists, 0)));
  hn_array_release(lists);
  hn_type_release(li);
  assert_int_equal(ta.live, 0);
}

/*
 * Every type of the all-types table: rows hash as their datums do; values
 * differ from each other and from null; slices hash like the rows they
 * show; type parameters (unit, zone, precision, width) change the type's
 * hash only.
 */
static void test_every_arrow_type(void **state) {
  (void)state;
  hn_table *t = hn_test_all_types_table(NULL);
  for (int c = 0; c < HN_TEST_N_TYPES; c++) {
    hn_array *col = hn_table_column(t, c);
    const char *name = hn_test_all_types[c][0];
    hn__hash128 h[3];
    for (int64_t r = 0; r < 3; r++) {
      h[r] = row_hash(col, r);
      hn__hash128 d = datum_hash(hn_array_get(col, r));
      if (!hn__hash128_eq(h[r], d))
        fail_msg("%s row %lld: the row and its datum hash apart", name, (long long)r);
    }
    bool null_type = hn_array_type(col)->id == HN_TYPE_NULL;
    if (!null_type && hn__hash128_eq(h[0], h[2])) fail_msg("%s: rows 0 and 2 hash alike", name);
    if (!null_type && hn__hash128_eq(h[0], h[1])) fail_msg("%s: a value hashes as null", name);
    hn_array *slice = NULL;
    HN_CHECK(hn_array_slice(col, 2, 1, &slice, NULL), NULL);
    assert_true(hn__hash128_eq(row_hash(slice, 0), h[2]));
    hn_array_release(slice);
  }
  hn_table_release(t);
  static const char *const pairs[][2] = {
      {"timestamp[us]", "timestamp[ms]"},
      {"timestamp[us, UTC]", "timestamp[us]"},
      {"decimal128(10, 2)", "decimal128(10, 3)"},
      {"decimal128(10, 2)", "decimal128(12, 2)"},
      {"fixed_size_binary(16)", "fixed_size_binary(8)"},
      {"fixed_size_list<int32>[2]", "fixed_size_list<int32>[3]"},
      {"large_list<int32>", "list<int32>"},
      {"map<utf8, int64>", "map<utf8, int32>"},
      {"duration[s]", "duration[ms]"},
      {"int32", "uint32"},
  };
  for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++) {
    const hn_type *a = NULL, *b = NULL;
    HN_CHECK(hn_type_parse(NULL, pairs[k][0], &a, NULL), NULL);
    HN_CHECK(hn_type_parse(NULL, pairs[k][1], &b, NULL), NULL);
    if (hn__hash128_eq(hn__type_hash(a), hn__type_hash(b)))
      fail_msg("types %s and %s hash alike", pairs[k][0], pairs[k][1]);
    hn_type_release(a);
    hn_type_release(b);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_types_differ),
      cmocka_unit_test(test_nulls),
      cmocka_unit_test(test_floats_by_bits),
      cmocka_unit_test(test_every_string_byte_counts),
      cmocka_unit_test(test_nested_lists),
      cmocka_unit_test(test_nested_structs),
      cmocka_unit_test(test_slices_and_child_offsets),
      cmocka_unit_test(test_random_arrays_match_datums),
      cmocka_unit_test(test_type_hash_and_combine),
      cmocka_unit_test(test_every_arrow_type),
      cmocka_unit_test(test_objects_and_bad_arguments),
      cmocka_unit_test(test_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
