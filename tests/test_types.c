/* Types: singletons, nested construction, equality, spelling, errors. */
#include <stdio.h>
#include <string.h>

#include "test_support.h"

static void obj_free(void *ctx, void *o) {
  (void)ctx;
  (void)o;
}

static void test_primitives(void **state) {
  (void)state;
  assert_int_equal(hn_type_id_of(hn_type_int64()), HN_TYPE_INT64);
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

/* ---- type strings ------------------------------------------------------------ */

/* Print `t`, parse it back (with `objects` known), and check the result equals `t`. */
static void round_trip(const hn_type *t, int64_t n_objects, const hn_type *const *objects) {
  char buf[4096];
  size_t n = hn_type_to_string(t, buf, sizeof buf);
  assert_true(n < sizeof buf);
  hn_type_parse_options o = {
      .size = sizeof o, .n_object_types = n_objects, .object_types = objects};
  const hn_type *back = NULL;
  hn_error err;
  size_t end = 0;
  HN_CHECK(hn_type_parse_ex(buf, &o, &back, &end, &err), &err);
  assert_int_equal(end, n);
  if (!hn_type_equals(t, back)) fail_msg("\"%s\" did not read back as the same type", buf);
  char again[4096];
  hn_type_to_string(back, again, sizeof again);
  assert_string_equal(buf, again);
  hn_type_release(back);
}

/* Deterministic random types: every id, nested up to `depth`. */
static uint64_t g_rng = 88172645463325252ULL;
static uint64_t rnd(void) {
  g_rng ^= g_rng << 13, g_rng ^= g_rng >> 7, g_rng ^= g_rng << 17;
  return g_rng;
}

static const hn_type *random_type(int depth, const hn_type *object) {
  static const char *const names[] = {"a",         "b_2",         "x.y",          "with space",
                                      "quote\"d",  "back\\slash", "comma,colon:", "<angle>",
                                      "tab\tnl\n", "caf\xc3\xa9", "-1",           "$v"};
  int k = (int)(rnd() % (depth > 0 ? 9u : 7u));
  const hn_type *t = NULL;
  switch (k) {
    case 0:
      return hn_type_bool();
    case 1:
      return hn_type_int64();
    case 2:
      return hn_type_float32();
    case 3:
      return hn_type_float64();
    case 4:
      return hn_type_utf8();
    case 5:
      return hn_type_binary();
    case 6:
      return hn_type_retain(object);
    case 7: {
      const hn_type *item = random_type(depth - 1, object);
      HN_CHECK(hn_type_list_create(NULL, item, &t, NULL), NULL);
      hn_type_release(item);
      return t;
    }
    default: {
      int n = (int)(rnd() % 4u);
      const char *fnames[4] = {NULL, NULL, NULL, NULL};
      const hn_type *ftypes[4] = {NULL, NULL, NULL, NULL};
      int start = (int)(rnd() % 12u);
      for (int i = 0; i < n; i++) {
        fnames[i] = names[(start + i) % 12];
        ftypes[i] = random_type(depth - 1, object);
      }
      HN_CHECK(hn_type_struct_create(NULL, n, fnames, ftypes, &t, NULL), NULL);
      for (int i = 0; i < n; i++) hn_type_release(ftypes[i]);
      return t;
    }
  }
}

static void test_type_strings_round_trip(void **state) {
  (void)state;
  hn_object_vtable vt = {obj_free, NULL, NULL, NULL};
  const hn_type *model = NULL, *odd = NULL;
  HN_CHECK(hn_type_object_create(NULL, "Model", &vt, &model, NULL), NULL);
  HN_CHECK(hn_type_object_create(NULL, "my model <v2>", &vt, &odd, NULL), NULL);
  const hn_type *objects[2] = {model, odd};
  /* Every primitive, by name. */
  const hn_type *prims[] = {hn_type_bool(),    hn_type_int64(), hn_type_float32(),
                            hn_type_float64(), hn_type_utf8(),  hn_type_binary()};
  for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
    round_trip(prims[i], 0, NULL);
    const hn_type *t = NULL;
    HN_CHECK(hn_type_parse(NULL, hn_type_id_name(hn_type_id_of(prims[i])), &t, NULL), NULL);
    assert_ptr_equal(t, prims[i]); /* the singleton itself */
  }
  round_trip(model, 2, objects);
  round_trip(odd, 2, objects);
  char buf[64];
  hn_type_to_string(odd, buf, sizeof buf);
  assert_string_equal(buf, "object<\"my model <v2>\">");
  /* Random nested lists and structs, odd field names and objects included. */
  for (int i = 0; i < 2000; i++) {
    const hn_type *t = random_type(1 + i % 5, i % 2 ? model : odd);
    round_trip(t, 2, objects);
    hn_type_release(t);
  }
  /* Quoting: names that are not bare, and escapes. */
  const char *names[] = {"a b", "q\"", "\x01"};
  const hn_type *types[] = {hn_type_int64(), hn_type_utf8(), hn_type_bool()};
  const hn_type *st = NULL;
  HN_CHECK(hn_type_struct_create(NULL, 3, names, types, &st, NULL), NULL);
  char spelled[128];
  hn_type_to_string(st, spelled, sizeof spelled);
  assert_string_equal(spelled, "struct<\"a b\": int64, \"q\\\"\": utf8, \"\\x01\": bool>");
  hn_type_release(st);
  hn_type_release(model);
  hn_type_release(odd);
}

static void test_type_strings_blanks_and_prefix(void **state) {
  (void)state;
  const hn_type *t = NULL;
  char buf[128];
  HN_CHECK(hn_type_parse(NULL, "  struct < a :list< int64 >,b:utf8 >\n", &t, NULL), NULL);
  hn_type_to_string(t, buf, sizeof buf);
  assert_string_equal(buf, "struct<a: list<int64>, b: utf8>");
  hn_type_release(t);
  HN_CHECK(hn_type_parse(NULL, "struct<>", &t, NULL), NULL);
  assert_int_equal(hn_type_num_fields(t), 0);
  hn_type_release(t);
  /* With `end`, the first type is read and the rest left to the caller. */
  size_t end = 0;
  HN_CHECK(hn_type_parse_ex("list<utf8>, n: int64", NULL, &t, &end, NULL), NULL);
  assert_int_equal(end, 10);
  hn_type_to_string(t, buf, sizeof buf);
  assert_string_equal(buf, "list<utf8>");
  hn_type_release(t);
}

/* Parse `text`, expecting a failure at `offset` whose message holds `fragment` and a caret. */
static void parse_fails(const char *text, size_t offset, const char *fragment) {
  const hn_type *t = (const hn_type *)&t; /* overwritten with NULL on failure */
  hn_error err;
  size_t end = 12345;
  hn_type_parse_options o = {.size = sizeof o};
  assert_int_equal(hn_type_parse_ex(text, &o, &t, NULL, &err), HN_EINVAL);
  assert_null(t);
  assert_int_equal(err.code, HN_EINVAL);
  if (!strstr(err.message, fragment)) fail_msg("\"%s\": message \"%s\"", text, err.message);
  char where[32];
  snprintf(where, sizeof where, "offset %zu:", offset);
  if (!strstr(err.message, where)) fail_msg("\"%s\": want %s in \"%s\"", text, where, err.message);
  /* The last line is the caret, under the offending character of the line above it. */
  const char *caret = strrchr(err.message, '\n');
  assert_non_null(caret);
  size_t col = strlen(caret + 1) - 1;
  assert_int_equal(caret[1 + col], '^');
  const char *line = caret - 1;
  while (line > err.message && line[-1] != '\n') line--;
  if (strlen(text) < 60) {
    assert_int_equal(col, offset + 2);
    assert_memory_equal(line + 2, text, strlen(text) - (strchr(text, '\n') ? 1 : 0));
  }
  /* With `end`, the same failure also gives the offset. */
  if (hn_type_parse_ex(text, &o, &t, &end, &err) != HN_OK)
    assert_int_equal(end, offset);
  else
    hn_type_release(t);
}

static void test_type_strings_errors(void **state) {
  (void)state;
  parse_fails("list<utf9>", 5, "unknown type 'utf9' (known: bool, int64");
  parse_fails("list<utf8", 9, "expected '>' to close list<, found the end");
  parse_fails("", 0, "expected a type");
  parse_fails("   ", 3, "expected a type");
  parse_fails("int64 x", 6, "unexpected 'x' after the type");
  parse_fails("list", 4, "expected '<' after 'list'");
  parse_fails("struct<a int64>", 9, "expected ':' after a struct field name");
  parse_fails("struct<a: int64, a: utf8>", 17, "struct field 'a' appears twice");
  parse_fails("struct<a: int64,>", 16, "expected a field name");
  parse_fails("struct<a: int64; b: utf8>", 15, "or ',' in struct<");
  parse_fails("struct<\"\": int64>", 7, "empty quoted field name");
  parse_fails("struct<\"ab: int64>", 7, "unterminated quoted field name");
  parse_fails("struct<\"a\\q\": int64>", 9, "bad escape");
  parse_fails("struct<\"a\\x00\": int64>", 9, "NUL byte");
  parse_fails("object<Model>", 7, "unknown object type 'Model'");
  parse_fails("list<list<list<>>>", 15, "expected a type");
  char deep[1024] = "";
  for (int i = 0; i < 100; i++) strcat(deep, "list<");
  strcat(deep, "int64");
  for (int i = 0; i < 100; i++) strcat(deep, ">");
  parse_fails(deep, 64 * 5, "nested deeper than 64 levels");
  /* A long text: the excerpt is a window around the offending character. */
  char long_text[1024] = "struct<";
  for (int i = 0; i < 40; i++) {
    char f[32];
    snprintf(f, sizeof f, "field_%02d: int64, ", i);
    strcat(long_text, f);
  }
  strcat(long_text, "last: ?>");
  parse_fails(long_text, strlen(long_text) - 2, "expected a type");
  hn_error err;
  const hn_type *t = NULL;
  assert_int_equal(hn_type_parse(NULL, NULL, &t, &err), HN_EINVAL);
  assert_int_equal(hn_type_parse(NULL, "int64", NULL, &err), HN_EINVAL);
  hn_type_parse_options small = {.size = 4};
  assert_int_equal(hn_type_parse_ex("int64", &small, &t, NULL, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "options->size"));
}

static void test_type_strings_allocation_failure(void **state) {
  (void)state;
  const char *text = "struct<a: list<struct<\"x y\": utf8, z: list<int64>>>, b: float32>";
  bool succeeded = false;
  for (int64_t k = 1; !succeeded; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    const hn_type *t = NULL;
    hn_error err;
    hn_status st = hn_type_parse(&ta.alloc, text, &t, &err);
    if (st == HN_OK) {
      succeeded = true;
      char buf[128];
      hn_type_to_string(t, buf, sizeof buf);
      assert_string_equal(buf, text);
      hn_type_release(t);
    } else {
      assert_int_equal(st, HN_ENOMEM);
      assert_null(t);
    }
    assert_int_equal(ta.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_primitives),
      cmocka_unit_test(test_nested_and_spelling),
      cmocka_unit_test(test_struct_errors),
      cmocka_unit_test(test_many_fields),
      cmocka_unit_test(test_object_type),
      cmocka_unit_test(test_type_allocation_failure),
      cmocka_unit_test(test_type_strings_round_trip),
      cmocka_unit_test(test_type_strings_blanks_and_prefix),
      cmocka_unit_test(test_type_strings_errors),
      cmocka_unit_test(test_type_strings_allocation_failure),
  };
  return cmocka_run_group_tests_name("types", tests, NULL, NULL);
}
