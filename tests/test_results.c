/*
 * Inputs, resources, results and rows: every setter, replacement, bad
 * arguments, resource lifetimes, result assembly, stream export, the three
 * materialisation strategies, and allocation failure.
 */
#include <stdio.h>
#include <string.h>

#include "exec/exec_internal.h"
#include "test_support.h"

/* ---- helpers --------------------------------------------------------------- */

static hn_array *int_column(const hn_allocator *a, int64_t n) {
  hn_builder *b = NULL;
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_create(a, hn_type_int64(), &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, 10 * i), NULL);
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  hn_builder_destroy(b);
  return arr;
}

static const hn_input *find(const hn_inputs *in, const char *name) {
  int64_t i = hn__inputs_find(in, name);
  return i < 0 ? NULL : &in->items[i];
}

/* The value an input of kind VALUE holds. */
static hn_datum input_value(const hn_inputs *in, const char *name) {
  const hn_input *item = find(in, name);
  assert_non_null(item);
  assert_int_equal(item->kind, HN_INPUT_VALUE);
  assert_non_null(item->values);
  return hn_array_get(item->values, item->row);
}

typedef struct counting_config {
  int frees;
  int value;
} counting_config;

static void config_free(void *config) {
  ((counting_config *)config)->frees++;
}

static hn_status res_init(void *config, void **state, hn_error *err) {
  (void)err;
  *state = config;
  return HN_OK;
}

static void res_destroy(void *config, void *state) {
  (void)config;
  (void)state;
}

static hn_resource_def resource_def(const char *name, counting_config *config) {
  hn_resource_def def = {.size = sizeof def};
  def.name = name;
  def.init = res_init;
  def.destroy = res_destroy;
  def.config = config;
  def.config_free = config_free;
  return def;
}

/* ---- inputs ---------------------------------------------------------------- */

static void test_inputs_setters(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_inputs *in = NULL;
  hn_error err;
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "i", -42, &err), &err);
  HN_CHECK(hn_inputs_set_float64(in, "f", 2.5, &err), &err);
  HN_CHECK(hn_inputs_set_bool(in, "b", true, &err), &err);
  HN_CHECK(hn_inputs_set_str(in, "s", "hello", -1, &err), &err);
  HN_CHECK(hn_inputs_set_str(in, "s2", "hello", 3, &err), &err);
  HN_CHECK(hn_inputs_set_str(in, "empty", NULL, 0, &err), &err);
  hn_array *col = int_column(&ta.alloc, 5);
  HN_CHECK(hn_inputs_set_column(in, "col", col, &err), &err);
  HN_CHECK(hn_inputs_set_value(in, "v", col, 3, &err), &err);
  hn_array_release(col); /* the inputs hold their own references */

  assert_int_equal(in->n, 8);
  const char *order[8] = {"i", "f", "b", "s", "s2", "empty", "col", "v"};
  for (int64_t k = 0; k < 8; k++) {
    assert_string_equal(in->items[k].name, order[k]);
    assert_int_equal(hn__inputs_find(in, order[k]), k);
    assert_null(in->items[k].resource);
  }
  assert_int_equal(hn__inputs_find(in, "nope"), -1);
  assert_int_equal(hn__inputs_find(in, ""), -1);

  hn_datum d = input_value(in, "i");
  assert_int_equal(d.type, HN_TYPE_INT64);
  assert_false(d.is_null);
  assert_int_equal(d.v.i64, -42);
  d = input_value(in, "f");
  assert_int_equal(d.type, HN_TYPE_FLOAT64);
  assert_true(d.v.f64 == 2.5);
  d = input_value(in, "b");
  assert_int_equal(d.type, HN_TYPE_BOOL);
  assert_true(d.v.b);
  d = input_value(in, "s");
  assert_int_equal(d.type, HN_TYPE_UTF8);
  assert_int_equal(d.v.str.size, 5);
  assert_memory_equal(d.v.str.data, "hello", 5);
  d = input_value(in, "s2");
  assert_int_equal(d.v.str.size, 3);
  assert_memory_equal(d.v.str.data, "hel", 3);
  d = input_value(in, "empty");
  assert_int_equal(d.v.str.size, 0);
  assert_false(d.is_null);
  assert_int_equal(hn_array_length(find(in, "i")->values), 1);

  const hn_input *c = find(in, "col");
  assert_int_equal(c->kind, HN_INPUT_COLUMN);
  assert_int_equal(hn_array_length(c->values), 5);
  d = input_value(in, "v");
  assert_int_equal(find(in, "v")->row, 3);
  assert_int_equal(d.v.i64, 30);
  assert_ptr_equal(find(in, "v")->values, c->values); /* retained, not copied */

  /* A column of C strings: copied, NULL entries are null rows. */
  const char *strs[3] = {"alpha", NULL, ""};
  HN_CHECK(hn_inputs_set_strings(in, "strs", 3, strs, &err), &err);
  HN_CHECK(hn_inputs_set_strings(in, "none", 0, NULL, &err), &err);
  const hn_input *sc = find(in, "strs");
  assert_int_equal(sc->kind, HN_INPUT_COLUMN);
  assert_int_equal(hn_type_id_of(hn_array_type(sc->values)), HN_TYPE_UTF8);
  assert_int_equal(hn_array_length(sc->values), 3);
  d = hn_array_get(sc->values, 0);
  assert_int_equal(d.v.str.size, 5);
  assert_memory_equal(d.v.str.data, "alpha", 5);
  assert_ptr_not_equal(d.v.str.data, strs[0]);
  assert_true(hn_array_is_null(sc->values, 1));
  assert_false(hn_array_is_null(sc->values, 2));
  assert_int_equal(hn_array_length(find(in, "none")->values), 0);

  hn_inputs_destroy(in);
  hn_inputs_destroy(NULL);
  assert_int_equal(ta.live, 0);
}

static void test_inputs_replace(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, NULL), NULL);
  HN_CHECK(hn_inputs_set_int64(in, "x", 1, NULL), NULL);
  HN_CHECK(hn_inputs_set_int64(in, "y", 2, NULL), NULL);
  HN_CHECK(hn_inputs_set_str(in, "x", "one", -1, NULL), NULL);
  assert_int_equal(in->n, 2);
  assert_int_equal(hn__inputs_find(in, "x"), 0); /* keeps its place */
  assert_int_equal(input_value(in, "x").type, HN_TYPE_UTF8);

  hn_array *col = int_column(&ta.alloc, 4);
  HN_CHECK(hn_inputs_set_column(in, "x", col, NULL), NULL);
  assert_int_equal(find(in, "x")->kind, HN_INPUT_COLUMN);

  counting_config cfg = {0, 7};
  hn_resource_def def = resource_def("model", &cfg);
  HN_CHECK(hn_inputs_set_resource(in, "x", &def, NULL), NULL);
  assert_int_equal(find(in, "x")->kind, HN_INPUT_RESOURCE);
  assert_null(find(in, "x")->values);
  assert_non_null(find(in, "x")->resource);

  /* Replacing the resource releases it: its config goes with it. */
  HN_CHECK(hn_inputs_set_value(in, "x", col, 2, NULL), NULL);
  assert_int_equal(cfg.frees, 1);
  assert_int_equal(find(in, "x")->kind, HN_INPUT_VALUE);
  assert_null(find(in, "x")->resource);
  assert_int_equal(input_value(in, "x").v.i64, 20);

  /* Replacing a value by the same array it already holds. */
  HN_CHECK(hn_inputs_set_column(in, "x", col, NULL), NULL);
  hn_array_release(col);
  HN_CHECK(hn_inputs_set_column(in, "x", find(in, "x")->values, NULL), NULL);
  assert_int_equal(hn_array_length(find(in, "x")->values), 4);
  assert_int_equal(in->n, 2);

  /* Growth past the first capacity keeps every entry. */
  for (int k = 0; k < 40; k++) {
    char name[16];
    snprintf(name, sizeof name, "n%d", k);
    HN_CHECK(hn_inputs_set_int64(in, name, k, NULL), NULL);
  }
  assert_int_equal(in->n, 42);
  assert_int_equal(input_value(in, "n39").v.i64, 39);
  assert_int_equal(input_value(in, "y").v.i64, 2);
  hn_inputs_destroy(in);
  assert_int_equal(cfg.frees, 1);
  assert_int_equal(ta.live, 0);
}

static void test_inputs_errors(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_inputs *in = NULL;
  hn_error err;
  assert_int_equal(hn_inputs_create(&ta.alloc, NULL, &err), HN_EINVAL);
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, &err), &err);
  hn_array *col = int_column(&ta.alloc, 3);

  assert_int_equal(hn_inputs_set_value(in, "v", col, 3, &err), HN_ERANGE);
  assert_int_equal(err.code, HN_ERANGE);
  assert_non_null(strstr(err.message, "'v'"));
  assert_non_null(strstr(err.message, "row 3"));
  assert_int_equal(hn_inputs_set_value(in, "v", col, -1, &err), HN_ERANGE);
  assert_int_equal(hn_inputs_set_value(in, "v", NULL, 0, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_column(in, "c", NULL, &err), HN_EINVAL);

  assert_int_equal(hn_inputs_set_int64(in, "", 1, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "non-empty"));
  assert_int_equal(hn_inputs_set_column(in, "", col, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_value(in, "", col, 0, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_int64(in, NULL, 1, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_int64(NULL, "x", 1, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_str(in, "s", NULL, 3, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_strings(in, "ss", 2, NULL, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "input 'ss': bad list of 2 strings"));
  assert_int_equal(hn_inputs_set_strings(in, "ss", -1, NULL, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_strings(in, "", 0, NULL, &err), HN_EINVAL);
  assert_int_equal(hn__inputs_find(in, "ss"), -1);

  counting_config cfg = {0, 0};
  hn_resource_def def = resource_def("model", &cfg);
  assert_int_equal(hn_inputs_set_resource(in, "", &def, &err), HN_EINVAL);
  assert_int_equal(hn_inputs_set_resource(in, "r", NULL, &err), HN_EINVAL);
  hn_resource_def bad = def;
  bad.init = NULL;
  assert_int_equal(hn_inputs_set_resource(in, "r", &bad, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "model"));
  bad = def;
  bad.destroy = NULL;
  assert_int_equal(hn_inputs_set_resource(in, "r", &bad, &err), HN_EINVAL);
  bad = def;
  bad.name = NULL;
  assert_int_equal(hn_inputs_set_resource(in, "r", &bad, &err), HN_EINVAL);
  bad = def;
  bad.size = 0;
  assert_int_equal(hn_inputs_set_resource(in, "r", &bad, &err), HN_EINVAL);
  assert_int_equal(cfg.frees, 0); /* failures leave the config with the caller */

  assert_int_equal(in->n, 0); /* no failed call added anything */
  hn_array_release(col);
  hn_inputs_destroy(in);
  assert_int_equal(ta.live, 0);
}

static void test_resource_lifetime(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, NULL), NULL);
  counting_config cfg = {0, 5};
  char name[] = "tokenizer";
  hn_resource_def def = resource_def(name, &cfg);
  HN_CHECK(hn_inputs_set_resource(in, "tok", &def, NULL), NULL);
  /* The definition was copied: changing the caller's copy changes nothing. */
  name[0] = 'X';
  def.init = NULL;
  const hn_input *item = find(in, "tok");
  assert_non_null(item);
  hn_resource *r = item->resource;
  assert_int_equal(atomic_load(&r->refcount), 1);
  assert_string_equal(r->name, "tokenizer");
  assert_ptr_equal(r->def.name, r->name);
  assert_ptr_equal(r->def.init, res_init);
  assert_ptr_equal(r->def.destroy, res_destroy);
  assert_ptr_equal(r->def.config, &cfg);
  assert_int_equal(r->def.size, sizeof(hn_resource_def));
  assert_int_equal(hn_type_id_of(r->type), HN_TYPE_OBJECT);
  char spelled[64];
  hn_type_to_string(r->type, spelled, sizeof spelled);
  assert_non_null(strstr(spelled, "tokenizer"));
  /* The object type never frees the state: the resource's destroy does. */
  hn_type_object_vtable(r->type)->free(NULL, &cfg);
  assert_int_equal(cfg.frees, 0);

  /* Destroying the inputs frees the config exactly once. */
  hn_inputs_destroy(in);
  assert_int_equal(cfg.frees, 1);
  assert_int_equal(ta.live, 0);

  /* A second holder keeps the resource (and its config) past the inputs. */
  counting_config cfg2 = {0, 6};
  hn_resource_def def2 = resource_def("model", &cfg2);
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, NULL), NULL);
  HN_CHECK(hn_inputs_set_resource(in, "m", &def2, NULL), NULL);
  hn_resource *held = hn__resource_retain(find(in, "m")->resource);
  assert_int_equal(atomic_load(&held->refcount), 2);
  hn_inputs_destroy(in);
  assert_int_equal(cfg2.frees, 0);
  assert_string_equal(held->name, "model");
  assert_int_equal(((counting_config *)held->def.config)->value, 6);
  void *st = NULL;
  HN_CHECK(held->def.init(held->def.config, &st, NULL), NULL);
  assert_ptr_equal(st, &cfg2);
  held->def.destroy(held->def.config, st);
  hn__resource_release(held);
  assert_int_equal(cfg2.frees, 1);
  hn__resource_retain(NULL);
  hn__resource_release(NULL);
  assert_int_equal(ta.live, 0);

  /* No config_free: nothing is called. */
  hn_resource_def plain = resource_def("plain", NULL);
  plain.config_free = NULL;
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, NULL), NULL);
  HN_CHECK(hn_inputs_set_resource(in, "p", &plain, NULL), NULL);
  hn_inputs_destroy(in);
  assert_int_equal(ta.live, 0);
}

/* ---- results ------------------------------------------------------------- */

static void test_error_table_schema(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  const hn_type *schema = NULL;
  HN_CHECK(hn__error_table_schema(&ta.alloc, &schema, NULL), NULL);
  char spelled[160];
  hn_type_to_string(schema, spelled, sizeof spelled);
  assert_string_equal(spelled,
                      "struct<item: int64, item_path: utf8, node: utf8, message: utf8, attempts: "
                      "int64, messages: utf8>");
  hn_type_release(schema);
  assert_int_equal(ta.live, 0);
}

static hn_table *error_records(const hn_allocator *a) {
  hn_builder *b[6] = {NULL};
  const hn_type *types[6] = {hn_type_int64(), hn_type_utf8(),  hn_type_utf8(),
                             hn_type_utf8(),  hn_type_int64(), hn_type_utf8()};
  hn_array *cols[6] = {NULL};
  for (int c = 0; c < 6; c++) HN_CHECK(hn_builder_create(a, types[c], &b[c], NULL), NULL);
  HN_CHECK(hn_builder_append_int64(b[0], 3), NULL);
  HN_CHECK(hn_builder_append_str(b[1], "3", -1), NULL);
  HN_CHECK(hn_builder_append_str(b[2], "parse", -1), NULL);
  HN_CHECK(hn_builder_append_str(b[3], "bad number", -1), NULL);
  HN_CHECK(hn_builder_append_int64(b[4], 1), NULL);
  HN_CHECK(hn_builder_append_str(b[5], "bad number", -1), NULL);
  for (int c = 0; c < 6; c++) {
    HN_CHECK(hn_builder_finish(b[c], &cols[c], NULL), NULL);
    hn_builder_destroy(b[c]);
  }
  const char *names[6] = {"item", "item_path", "node", "message", "attempts", "messages"};
  hn_table *t = NULL;
  HN_CHECK(hn_table_create(a, 6, names, cols, &t, NULL), NULL);
  for (int c = 0; c < 6; c++) hn_array_release(cols[c]);
  return t;
}

static hn_table *one_column_table(const hn_allocator *a, int64_t n) {
  hn_array *col = int_column(a, n);
  const char *names[1] = {"y"};
  hn_table *t = NULL;
  HN_CHECK(hn_table_create(a, 1, names, &col, &t, NULL), NULL);
  hn_array_release(col);
  return t;
}

static void test_result_make(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_error err;

  /* Without errors: an empty error table with the error schema. */
  hn_table *t = one_column_table(&ta.alloc, 4);
  hn_result_stats stats = {.n_items = 4, .resource_inits = 2, .resource_destroys = 2, .workers = 1};
  hn_result *r = NULL;
  HN_CHECK(hn__result_make(&ta.alloc, t, NULL, &stats, &r, &err), &err);
  assert_ptr_equal(hn_result_table(r), t);
  hn_table *errors = hn_result_errors(r);
  assert_non_null(errors);
  assert_int_equal(hn_table_num_rows(errors), 0);
  const hn_type *schema = NULL;
  HN_CHECK(hn__error_table_schema(NULL, &schema, NULL), NULL);
  assert_true(hn_type_equals(hn_table_schema(errors), schema));
  hn_result_stats got = hn_test_stats(r);
  assert_int_equal(got.n_items, 4);
  assert_int_equal(got.resource_inits, 2);
  assert_int_equal(got.resource_destroys, 2);
  assert_int_equal(got.workers, 1);
  /* A caller built with a smaller hn_result_stats gets its own members only. */
  hn_result_stats old;
  memset(&old, 0xff, sizeof old); /* every member -1 */
  hn_result_get_stats(r, &old, offsetof(hn_result_stats, resource_inits));
  assert_int_equal(old.n_items, 4);
  assert_int_equal(old.n_failed, 0);
  assert_int_equal(old.resource_inits, -1);
  assert_int_equal(old.workers, -1);
  hn_result_get_stats(r, NULL, sizeof old); /* no-op */
  hn_result_destroy(r);
  assert_int_equal(ta.live, 0);

  /* With errors; no stats. */
  t = one_column_table(&ta.alloc, 4);
  hn_table *recs = error_records(&ta.alloc);
  HN_CHECK(hn__result_make(&ta.alloc, t, recs, NULL, &r, &err), &err);
  assert_ptr_equal(hn_result_errors(r), recs);
  assert_true(hn_type_equals(hn_table_schema(hn_result_errors(r)), schema));
  hn_datum msg = hn_array_get(hn_table_column_by_name(hn_result_errors(r), "message"), 0);
  assert_memory_equal(msg.v.str.data, "bad number", 10);
  assert_int_equal(hn_test_stats(r).n_items, 0);
  hn_result_destroy(r);
  hn_type_release(schema);
  assert_int_equal(ta.live, 0);

  /* The references are taken also on failure. */
  recs = error_records(&ta.alloc);
  assert_int_equal(hn__result_make(&ta.alloc, NULL, recs, NULL, &r, &err), HN_EINVAL);
  t = one_column_table(&ta.alloc, 2);
  assert_int_equal(hn__result_make(&ta.alloc, t, NULL, NULL, NULL, &err), HN_EINVAL);
  assert_int_equal(ta.live, 0);

  hn_result_destroy(NULL);
  assert_null(hn_result_table(NULL));
  assert_null(hn_result_errors(NULL));
  assert_int_equal(hn_test_stats(NULL).n_items, 0);
}

static void test_result_make_allocation_failure(void **state) {
  (void)state;
  for (int64_t k = 1;; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_table *t = one_column_table(&ta.alloc, 3);
    ta.fail_at = ta.n_allocs + k;
    hn_result *r = NULL;
    hn_error err;
    hn_status st = hn__result_make(&ta.alloc, t, NULL, NULL, &r, &err);
    if (st == HN_OK) {
      assert_int_equal(ta.failures, 0);
      hn_result_destroy(r);
      assert_int_equal(ta.live, 0);
      break;
    }
    assert_int_equal(st, HN_ENOMEM);
    assert_int_equal(ta.live, 0);
  }
}

/* ---- a table of every kind of column --------------------------------------- */

/*
 * i: int64, f: float64, b: bool, g: float32, s: utf8, tokens: list<utf8>,
 * rec: struct<x: int64, name: utf8>; each with nulls. Built with `a`.
 */
static hn_status mixed_table(const hn_allocator *a, int64_t n, hn_table **out) {
  const hn_type *list = NULL, *rec = NULL;
  hn_status st = hn_type_list_create(a, hn_type_utf8(), &list, NULL);
  const char *fnames[2] = {"x", "name"};
  const hn_type *ftypes[2] = {hn_type_int64(), hn_type_utf8()};
  if (st == HN_OK) st = hn_type_struct_create(a, 2, fnames, ftypes, &rec, NULL);
  const hn_type *types[7] = {hn_type_int64(),
                             hn_type_float64(),
                             hn_type_bool(),
                             hn_type_float32(),
                             hn_type_utf8(),
                             list,
                             rec};
  hn_builder *b[7] = {NULL};
  hn_array *cols[7] = {NULL};
  for (int c = 0; c < 7 && st == HN_OK; c++) st = hn_builder_create(a, types[c], &b[c], NULL);
  char text[32];
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    int len = snprintf(text, sizeof text, "s%lld", (long long)i);
    st = i % 7 == 3 ? hn_builder_append_null(b[0]) : hn_builder_append_int64(b[0], i * 3 - 50);
    if (st == HN_OK)
      st = i % 5 == 0 ? hn_builder_append_null(b[1]) : hn_builder_append_float64(b[1], i * 0.25);
    if (st == HN_OK)
      st = i % 11 == 1 ? hn_builder_append_null(b[2]) : hn_builder_append_bool(b[2], i % 3 == 0);
    if (st == HN_OK)
      st = i % 13 == 2 ? hn_builder_append_null(b[3]) : hn_builder_append_float32(b[3], (float)i);
    if (st == HN_OK)
      st = i % 4 == 2 ? hn_builder_append_null(b[4]) : hn_builder_append_str(b[4], text, len);
    if (st == HN_OK && i % 6 == 5) {
      st = hn_builder_append_null(b[5]);
    } else if (st == HN_OK) {
      hn_builder *items = hn_builder_child(b[5], 0);
      for (int64_t j = 0; j < i % 3 && st == HN_OK; j++)
        st = j == 1 ? hn_builder_append_null(items) : hn_builder_append_str(items, text, len);
      if (st == HN_OK) st = hn_builder_finish_element(b[5]);
    }
    if (st == HN_OK && i % 9 == 8) {
      st = hn_builder_append_null(b[6]);
    } else if (st == HN_OK) {
      st = hn_builder_append_int64(hn_builder_child(b[6], 0), -i);
      if (st == HN_OK) st = hn_builder_append_str(hn_builder_child(b[6], 1), text, len);
      if (st == HN_OK) st = hn_builder_finish_element(b[6]);
    }
  }
  for (int c = 0; c < 7 && st == HN_OK; c++) st = hn_builder_finish(b[c], &cols[c], NULL);
  const char *names[7] = {"i", "f", "b", "g", "s", "tokens", "rec"};
  if (st == HN_OK) st = hn_table_create(a, 7, names, cols, out, NULL);
  for (int c = 0; c < 7; c++) {
    hn_builder_destroy(b[c]);
    hn_array_release(cols[c]);
  }
  hn_type_release(list);
  hn_type_release(rec);
  return st;
}

static void assert_same_datum(hn_datum x, hn_datum y) {
  assert_int_equal(x.type, y.type);
  assert_int_equal(x.is_null, y.is_null);
  if (x.is_null) return;
  switch (x.type) {
    case HN_TYPE_BOOL:
      assert_int_equal(x.v.b, y.v.b);
      break;
    case HN_TYPE_INT64:
      assert_int_equal(x.v.i64, y.v.i64);
      break;
    case HN_TYPE_FLOAT32:
      assert_memory_equal(&x.v.f32, &y.v.f32, sizeof(float));
      break;
    case HN_TYPE_FLOAT64:
      assert_memory_equal(&x.v.f64, &y.v.f64, sizeof(double));
      break;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      assert_ptr_equal(x.v.str.data, y.v.str.data);
      assert_int_equal(x.v.str.size, y.v.str.size);
      break;
    case HN_TYPE_LIST:
      assert_ptr_equal(x.v.list.values, y.v.list.values);
      assert_int_equal(x.v.list.start, y.v.list.start);
      assert_int_equal(x.v.list.length, y.v.list.length);
      break;
    case HN_TYPE_STRUCT:
      assert_ptr_equal(x.v.strct.array, y.v.strct.array);
      assert_int_equal(x.v.strct.row, y.v.strct.row);
      break;
    case HN_TYPE_OBJECT:
      assert_ptr_equal(x.v.object, y.v.object);
      break;
    case HN_TYPE_INT32:
    case HN_TYPE_DATE32:
      assert_int_equal(x.v.i32, y.v.i32);
      break;
    case HN_TYPE_TIMESTAMP:
      assert_int_equal(x.v.i64, y.v.i64);
      break;
    default:
      fail_msg("assert_same_datum: type %d is not compared here", (int)x.type);
  }
}

/* ---- stream export ---------------------------------------------------------- */

static void test_export_stream(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = NULL;
  HN_CHECK(mixed_table(&ta.alloc, 50, &t), NULL);
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn__result_make(&ta.alloc, hn_table_retain(t), NULL, NULL, &r, &err), &err);
  struct ArrowArrayStream stream;
  HN_CHECK(hn_result_export_stream(r, &stream, &err), &err);
  hn_result_destroy(r); /* the stream keeps the table alive */
  assert_non_null(stream.release);

  hn_stream_reader *reader = NULL;
  HN_CHECK(hn_stream_reader_create(&ta.alloc, &stream, NULL, &reader, &err), &err);
  assert_null(stream.release);
  assert_true(hn_type_equals(hn_stream_reader_schema(reader), hn_table_schema(t)));
  hn_table *batch = NULL;
  HN_CHECK(hn_stream_reader_next(reader, &batch, &err), &err);
  assert_non_null(batch);
  assert_true(hn_table_equals(batch, t));
  /* Zero copy: the imported values are the exported buffers. */
  assert_ptr_equal(hn_array_int64_values(hn_table_column(batch, 0)),
                   hn_array_int64_values(hn_table_column(t, 0)));
  hn_table *end = NULL;
  HN_CHECK(hn_stream_reader_next(reader, &end, &err), &err);
  assert_null(end);
  hn_table_release(batch);
  hn_stream_reader_destroy(reader);
  hn_table_release(t);
  assert_int_equal(ta.live, 0);

  assert_int_equal(hn_result_export_stream(NULL, &stream, &err), HN_EINVAL);
  assert_null(stream.release);
}

/* ---- rows -------------------------------------------------------------------- */

static hn_rows *rows_of(const hn_result *r, hn_materialize strategy) {
  hn_rows *rows = NULL;
  hn_error err;
  HN_CHECK(hn_result_rows(r, strategy, &rows, &err), &err);
  return rows;
}

static void check_strategies_agree(const hn_allocator *a, hn_table *t) {
  hn_result *r = NULL;
  HN_CHECK(hn__result_make(a, hn_table_retain(t), NULL, NULL, &r, NULL), NULL);
  hn_rows *by_row = rows_of(r, HN_MATERIALIZE_ROW);
  hn_rows *by_col = rows_of(r, HN_MATERIALIZE_COLUMN);
  hn_rows *by_auto = rows_of(r, HN_MATERIALIZE_AUTO);
  assert_int_equal(hn_rows_strategy(by_row), HN_MATERIALIZE_ROW);
  assert_int_equal(hn_rows_strategy(by_col), HN_MATERIALIZE_COLUMN);
  assert_int_equal(hn_rows_strategy(by_auto), HN_MATERIALIZE_COLUMN); /* has int64 columns */
  int64_t n = hn_table_num_rows(t), nc = hn_table_num_columns(t);
  hn_rows *all[3] = {by_row, by_col, by_auto};
  for (int s = 0; s < 3; s++) {
    assert_int_equal(hn_rows_num_rows(all[s]), n);
    assert_int_equal(hn_rows_num_columns(all[s]), nc);
    for (int64_t c = 0; c < nc; c++)
      assert_string_equal(hn_rows_column_name(all[s], c), hn_table_column_name(t, c));
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t c = 0; c < nc; c++) {
      hn_datum want = hn_array_get(hn_table_column(t, c), i);
      for (int s = 0; s < 3; s++) assert_same_datum(hn_rows_get(all[s], i, c), want);
    }
  for (int s = 0; s < 3; s++) hn_rows_destroy(all[s]);
  hn_result_destroy(r);
}

static void test_rows_strategies_agree(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = NULL, *sliced = NULL;
  HN_CHECK(mixed_table(&ta.alloc, 200, &t), NULL);
  check_strategies_agree(&ta.alloc, t);
  /* Sliced columns start at an offset (and an unaligned validity bit). */
  HN_CHECK(hn_table_slice(t, 13, 150, &sliced, NULL), NULL);
  check_strategies_agree(&ta.alloc, sliced);
  hn_table_release(sliced);
  hn_table_release(t);
  /* Short tables and one row. */
  for (int64_t n = 1; n <= 70; n += 23) {
    HN_CHECK(mixed_table(&ta.alloc, n, &t), NULL);
    check_strategies_agree(&ta.alloc, t);
    hn_table_release(t);
  }
  assert_int_equal(ta.live, 0);
}

static void test_rows_auto_rule(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = NULL, *strings = NULL;
  HN_CHECK(mixed_table(&ta.alloc, 10, &t), NULL);
  /* Only variable-width columns: row-major. */
  hn_array *cols[3] = {hn_table_column(t, 4), hn_table_column(t, 5), hn_table_column(t, 6)};
  const char *names[3] = {"s", "tokens", "rec"};
  HN_CHECK(hn_table_create(&ta.alloc, 3, names, cols, &strings, NULL), NULL);
  hn_result *r = NULL;
  HN_CHECK(hn__result_make(&ta.alloc, strings, NULL, NULL, &r, NULL), NULL);
  hn_rows *rows = rows_of(r, HN_MATERIALIZE_AUTO);
  assert_int_equal(hn_rows_strategy(rows), HN_MATERIALIZE_ROW);
  hn_rows_destroy(rows);
  hn_result_destroy(r);
  /* Any fixed-width column, even for few rows: column-major. */
  HN_CHECK(hn__result_make(&ta.alloc, hn_table_retain(t), NULL, NULL, &r, NULL), NULL);
  rows = rows_of(r, HN_MATERIALIZE_AUTO);
  assert_int_equal(hn_rows_strategy(rows), HN_MATERIALIZE_COLUMN);
  hn_rows_destroy(rows);
  hn_rows *bad = NULL;
  hn_error err;
  assert_int_equal(hn_result_rows(r, (hn_materialize)7, &bad, &err), HN_EINVAL);
  assert_int_equal(hn_result_rows(NULL, HN_MATERIALIZE_AUTO, &bad, &err), HN_EINVAL);
  assert_int_equal(hn_result_rows(r, HN_MATERIALIZE_AUTO, NULL, &err), HN_EINVAL);
  hn_result_destroy(r);
  hn_table_release(t);
  assert_int_equal(ta.live, 0);
}

static void test_rows_outlive_result(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = NULL;
  HN_CHECK(mixed_table(&ta.alloc, 30, &t), NULL);
  hn_result *r = NULL;
  HN_CHECK(hn__result_make(&ta.alloc, t, NULL, NULL, &r, NULL), NULL);
  hn_rows *rows[2] = {rows_of(r, HN_MATERIALIZE_ROW), rows_of(r, HN_MATERIALIZE_COLUMN)};
  hn_result_destroy(r); /* drops the last outside reference to the table */
  for (int s = 0; s < 2; s++) {
    /* Row 7: s = "s7", tokens = ["s7"], rec = {x: -7, name: "s7"}. */
    hn_datum d = hn_rows_get(rows[s], 7, 4);
    assert_false(d.is_null);
    assert_int_equal(d.v.str.size, 2);
    assert_memory_equal(d.v.str.data, "s7", 2);
    d = hn_rows_get(rows[s], 7, 5);
    assert_int_equal(d.v.list.length, 1);
    hn_datum item = hn_list_view_get(d.v.list, 0);
    assert_memory_equal(item.v.str.data, "s7", 2);
    d = hn_rows_get(rows[s], 8, 5); /* ["s8", null] */
    assert_int_equal(d.v.list.length, 2);
    assert_true(hn_list_view_get(d.v.list, 1).is_null);
    d = hn_rows_get(rows[s], 7, 6);
    assert_int_equal(hn_struct_view_field(d.v.strct, 0).v.i64, -7);
    hn_datum name = hn_struct_view_field(d.v.strct, 1);
    assert_memory_equal(name.v.str.data, "s7", 2);
    assert_true(hn_rows_get(rows[s], 8, 6).is_null);
    assert_true(hn_rows_get(rows[s], 6, 4).is_null);
    assert_int_equal(hn_rows_get(rows[s], 7, 0).v.i64, 7 * 3 - 50);
    assert_true(hn_rows_get(rows[s], 3, 0).is_null);
    assert_true(hn_rows_get(rows[s], 7, 1).v.f64 == 7 * 0.25);
    assert_true(hn_rows_get(rows[s], 6, 2).v.b);
    assert_true(hn_rows_get(rows[s], 7, 3).v.f32 == 7.0f);
  }
  hn_rows_destroy(rows[0]);
  assert_int_equal(hn_rows_get(rows[1], 29, 4).v.str.size, 3);
  hn_rows_destroy(rows[1]);
  assert_int_equal(ta.live, 0);
}

static void test_rows_out_of_range(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = NULL;
  HN_CHECK(mixed_table(&ta.alloc, 5, &t), NULL);
  hn_result *r = NULL;
  HN_CHECK(hn__result_make(&ta.alloc, t, NULL, NULL, &r, NULL), NULL);
  hn_rows *rows = rows_of(r, HN_MATERIALIZE_AUTO);
  hn_datum d = hn_rows_get(rows, 5, 4);
  assert_true(d.is_null);
  assert_int_equal(d.type, HN_TYPE_UTF8);
  d = hn_rows_get(rows, -1, 0);
  assert_true(d.is_null);
  assert_int_equal(d.type, HN_TYPE_INT64);
  d = hn_rows_get(rows, 0, 7);
  assert_true(d.is_null);
  assert_int_equal(d.type, 0);
  d = hn_rows_get(rows, 0, -1);
  assert_true(d.is_null);
  assert_int_equal(d.type, 0);
  d = hn_rows_get(NULL, 0, 0);
  assert_true(d.is_null);
  assert_null(hn_rows_column_name(rows, 7));
  assert_null(hn_rows_column_name(rows, -1));
  assert_string_equal(hn_rows_column_name(rows, 6), "rec");
  hn_rows_destroy(rows);
  hn_rows_destroy(NULL);
  hn_result_destroy(r);
  assert_int_equal(ta.live, 0);
}

static void test_rows_empty(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_table *t = NULL;
  HN_CHECK(mixed_table(&ta.alloc, 0, &t), NULL);
  hn_result *r = NULL;
  HN_CHECK(hn__result_make(&ta.alloc, t, NULL, NULL, &r, NULL), NULL);
  for (int s = 0; s < 3; s++) {
    hn_rows *rows = rows_of(r, (hn_materialize)s);
    assert_int_equal(hn_rows_num_rows(rows), 0);
    assert_int_equal(hn_rows_num_columns(rows), 7);
    assert_true(hn_rows_get(rows, 0, 0).is_null);
    hn_rows_destroy(rows);
  }
  hn_result_destroy(r);
  /* No columns at all. */
  HN_CHECK(hn_table_create(&ta.alloc, 0, NULL, NULL, &t, NULL), NULL);
  HN_CHECK(hn__result_make(&ta.alloc, t, NULL, NULL, &r, NULL), NULL);
  hn_rows *rows = rows_of(r, HN_MATERIALIZE_AUTO);
  assert_int_equal(hn_rows_num_columns(rows), 0);
  assert_int_equal(hn_rows_strategy(rows), HN_MATERIALIZE_ROW);
  hn_rows_destroy(rows);
  hn_result_destroy(r);
  assert_int_equal(ta.live, 0);
}

/* ---- allocation failure --------------------------------------------------------- */

/* Every setter, a replacement and a resource, on inputs made with `a`. */
static hn_status inputs_scenario(const hn_allocator *a, counting_config *cfg) {
  hn_inputs *in = NULL;
  hn_array *col = NULL;
  hn_status st = hn_inputs_create(a, &in, NULL);
  if (st == HN_OK) st = hn_inputs_set_int64(in, "i", 1, NULL);
  if (st == HN_OK) st = hn_inputs_set_float64(in, "f", 1.5, NULL);
  if (st == HN_OK) st = hn_inputs_set_bool(in, "b", false, NULL);
  if (st == HN_OK) st = hn_inputs_set_str(in, "s", "text", -1, NULL);
  const char *strs[2] = {"one", "two"};
  if (st == HN_OK) st = hn_inputs_set_strings(in, "ss", 2, strs, NULL);
  if (st == HN_OK) {
    hn_builder *b = NULL;
    st = hn_builder_create(a, hn_type_int64(), &b, NULL);
    for (int k = 0; k < 3 && st == HN_OK; k++) st = hn_builder_append_int64(b, k);
    if (st == HN_OK) st = hn_builder_finish(b, &col, NULL);
    hn_builder_destroy(b);
  }
  if (st == HN_OK) st = hn_inputs_set_column(in, "c", col, NULL);
  if (st == HN_OK) st = hn_inputs_set_value(in, "v", col, 2, NULL);
  for (int k = 0; k < 10 && st == HN_OK; k++) { /* past the first capacity */
    char name[8];
    snprintf(name, sizeof name, "k%d", k);
    st = hn_inputs_set_int64(in, name, k, NULL);
  }
  hn_resource_def def = resource_def("res", cfg);
  if (st == HN_OK) {
    st = hn_inputs_set_resource(in, "r", &def, NULL);
    if (st != HN_OK) assert_int_equal(cfg->frees, 0); /* still the caller's */
  }
  if (st == HN_OK) st = hn_inputs_set_str(in, "i", "replaced", -1, NULL);
  if (st == HN_OK) {
    st = hn_inputs_set_resource(in, "c", &def, NULL); /* replace a column by a resource */
    if (st != HN_OK) assert_int_equal(cfg->frees, 0);
  }
  if (st == HN_OK) {
    assert_int_equal(in->n, 18);
    assert_int_equal(input_value(in, "i").type, HN_TYPE_UTF8);
    assert_int_equal(find(in, "c")->kind, HN_INPUT_RESOURCE);
  }
  hn_array_release(col);
  hn_inputs_destroy(in);
  return st;
}

static void test_inputs_allocation_failure(void **state) {
  (void)state;
  for (int64_t k = 1;; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    counting_config cfg = {0, 0};
    hn_status st = inputs_scenario(&ta.alloc, &cfg);
    assert_int_equal(ta.live, 0);
    if (st == HN_OK) {
      assert_int_equal(ta.failures, 0);
      assert_int_equal(cfg.frees, 2); /* each resource freed its config once */
      break;
    }
    assert_int_equal(st, HN_ENOMEM);
    assert_int_equal(ta.failures, 1);
    assert_true(cfg.frees <= 1);
  }
}

static hn_status rows_scenario(const hn_allocator *a, hn_materialize strategy) {
  hn_table *t = NULL;
  hn_result *r = NULL;
  hn_rows *rows = NULL;
  hn_error err;
  hn_status st = mixed_table(a, 40, &t);
  if (st == HN_OK) st = hn__result_make(a, t, NULL, NULL, &r, &err);
  if (st == HN_OK) st = hn_result_rows(r, strategy, &rows, &err);
  hn_result_destroy(r);
  if (st == HN_OK) {
    hn_datum d = hn_rows_get(rows, 9, 4);
    assert_memory_equal(d.v.str.data, "s9", 2);
    assert_int_equal(hn_rows_get(rows, 9, 0).v.i64, 9 * 3 - 50);
  }
  hn_rows_destroy(rows);
  return st;
}

static void test_rows_allocation_failure(void **state) {
  (void)state;
  for (int s = 0; s < 3; s++)
    for (int64_t k = 1;; k++) {
      hn_test_alloc ta;
      hn_test_alloc_init(&ta, k);
      hn_status st = rows_scenario(&ta.alloc, (hn_materialize)s);
      assert_int_equal(ta.live, 0);
      if (st == HN_OK) {
        assert_int_equal(ta.failures, 0);
        break;
      }
      assert_int_equal(st, HN_ENOMEM);
    }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inputs_setters),
      cmocka_unit_test(test_inputs_replace),
      cmocka_unit_test(test_inputs_errors),
      cmocka_unit_test(test_resource_lifetime),
      cmocka_unit_test(test_error_table_schema),
      cmocka_unit_test(test_result_make),
      cmocka_unit_test(test_result_make_allocation_failure),
      cmocka_unit_test(test_export_stream),
      cmocka_unit_test(test_rows_strategies_agree),
      cmocka_unit_test(test_rows_auto_rule),
      cmocka_unit_test(test_rows_outlive_result),
      cmocka_unit_test(test_rows_out_of_range),
      cmocka_unit_test(test_rows_empty),
      cmocka_unit_test(test_inputs_allocation_failure),
      cmocka_unit_test(test_rows_allocation_failure),
  };
  return cmocka_run_group_tests_name("results", tests, NULL, NULL);
}
