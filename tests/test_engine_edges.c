/*
 * Engine and plan corner cases found in review: declared input types that
 * disagree, bound values of the wrong type inside nested pipelines,
 * products with an empty column, nested lists that are null or empty,
 * zero-length zips, CONTINUE inside a mapped nested node, bad output
 * requests, and allocation failure on the threads engine with resources,
 * batch nodes and nested products.
 *
 * Node functions run on worker threads: they never call cmocka; they report
 * through hn_ctx_fail.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

#define I64T hn_type_int64()
#define STRT hn_type_utf8()
#define BOOLT hn_type_bool()

/* ---- helpers --------------------------------------------------------------- */

static hn_engine *engine_new(const hn_allocator *a, hn_engine_kind kind, int workers,
                             int64_t chunk) {
  hn_engine_options o = {.size = sizeof o};
  o.kind = kind;
  o.workers = workers;
  o.chunk_size = chunk;
  hn_engine *e = NULL;
  hn_error err;
  HN_CHECK(hn_engine_create(a, &o, &e, &err), &err);
  return e;
}

static hn_array *i64_array(const hn_allocator *a, int64_t n, const int64_t *v) {
  hn_builder *b = NULL;
  hn_array *out = NULL;
  HN_CHECK(hn_builder_create(a, I64T, &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, v ? v[i] : i), NULL);
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  return out;
}

/* list<int64> rows; a row with n < 0 is null. */
static hn_array *list_array(const hn_allocator *a, int64_t n_rows, const int64_t *lens,
                            const int64_t *values) {
  const hn_type *lt = NULL;
  HN_CHECK(hn_type_list_create(a, I64T, &lt, NULL), NULL);
  hn_builder *b = NULL;
  hn_array *out = NULL;
  HN_CHECK(hn_builder_create(a, lt, &b, NULL), NULL);
  int64_t k = 0;
  for (int64_t r = 0; r < n_rows; r++) {
    if (lens[r] < 0) {
      HN_CHECK(hn_builder_append_null(b), NULL);
      continue;
    }
    for (int64_t i = 0; i < lens[r]; i++)
      HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), values[k++]), NULL);
    HN_CHECK(hn_builder_finish_element(b), NULL);
  }
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  hn_type_release(lt);
  return out;
}

/* ---- node functions -------------------------------------------------------- */

/* int64 -> x + 1; fails when the input is not an int64 (a broken type contract). */
static hn_status f_inc(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].type != HN_TYPE_INT64) return hn_ctx_fail(ctx, "f_inc got type %d", (int)in[0].type);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

/* utf8 -> its size; fails when the input is not utf8. */
static hn_status f_len(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].type != HN_TYPE_UTF8) return hn_ctx_fail(ctx, "f_len got type %d", (int)in[0].type);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.str.size);
}

/* int64 -> x + 1, failing on 3. */
static hn_status f_inc_not3(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (!in[0].is_null && in[0].v.i64 == 3) return hn_ctx_fail(ctx, "three");
  return f_inc(ud, in, out, ctx);
}

/* list -> its length. */
static hn_status f_count(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.list.length);
}

/* Any inputs -> 0. */
static hn_status f_zero(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)in;
  (void)ctx;
  return hn_builder_append_int64(out[0], 0);
}

/* Sum of the int64 inputs (three of them). */
static hn_status f_sum3(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + in[1].v.i64 + in[2].v.i64);
}

/* Batch-only: x + resource marker. */
static hn_status b_plus(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out, hn_ctx *ctx) {
  (void)ud;
  if (n != 1 || hn_array_type(in[0].array) != I64T) return hn_ctx_fail(ctx, "bad batch");
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, I64T, &b, NULL);
  if (st != HN_OK) return st;
  st = hn_builder_append_int64(b, hn_array_int64_values(in[0].array)[0] + 100);
  if (st == HN_OK) st = hn_builder_finish(b, &out[0], NULL);
  hn_builder_destroy(b);
  return st;
}

static _Atomic int64_t res_live;

static hn_status res_init(void *config, void **state, hn_error *err) {
  (void)config;
  (void)err;
  int64_t *s = malloc(sizeof *s);
  if (!s) return HN_ENOMEM;
  *s = 7;
  *state = s;
  atomic_fetch_add(&res_live, 1);
  return HN_OK;
}

static void res_destroy(void *config, void *state) {
  (void)config;
  free(state);
  atomic_fetch_sub(&res_live, 1);
}

/* (x, resource) -> x + *resource. */
static hn_status f_use_res(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[1].type != HN_TYPE_OBJECT || !in[1].v.object) return hn_ctx_fail(ctx, "no resource");
  return hn_builder_append_int64(out[0], in[0].v.i64 + *(int64_t *)in[1].v.object);
}

/* ---- declared input types ---------------------------------------------------- */

/*
 * Two nodes consume the root input "x", one declaring int64 and one utf8:
 * whatever value is given, one of them would see a type it did not declare.
 * The run must refuse it with HN_ETYPE instead of calling the node.
 */
static void test_conflicting_declared_input_types(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "conflict", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "a_inc", "x: int64", "a: int64", f_inc, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "b_len", "x: utf8", "b: int64", f_len, &err), &err);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "x", 5, &err), &err);
  for (int k = 0; k < 2; k++) {
    hn_engine *e = engine_new(NULL, k ? HN_ENGINE_THREADS : HN_ENGINE_SEQUENTIAL, 2, 0);
    hn_result *r = NULL;
    hn_status st = hn_pipeline_run(p, e, in, NULL, &r, &err);
    assert_int_equal(st, HN_ETYPE);
    assert_null(r);
    /* Requesting only a: b_len is pruned, the int64 value is right. */
    const char *outs[1] = {"a"};
    hn_run_options o = {.size = sizeof o};
    o.n_outputs = 1;
    o.outputs = outs;
    HN_CHECK(hn_pipeline_run(p, e, in, &o, &r, &err), &err);
    assert_int_equal(hn_array_int64_values(hn_table_column(hn_result_table(r), 0))[0], 6);
    hn_result_destroy(r);
    hn_engine_destroy(e);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/*
 * The inner pipeline binds "k" to an int64 while its node declares utf8.
 * Run directly, that is HN_ETYPE; nested, the same value must be refused
 * the same way instead of reaching the node.
 */
static void test_nested_inner_bound_wrong_type(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *inner = NULL, *outer = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "len", "k: utf8", "kl: int64", f_len, &err), &err);
  hn_array *v = i64_array(NULL, 1, NULL);
  HN_CHECK(hn_pipeline_bind(inner, "k", v, 0, &err), &err);
  hn_array_release(v);
  hn_result *r = NULL;
  assert_int_equal(hn_pipeline_run(inner, NULL, NULL, NULL, &r, &err), HN_ETYPE);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &outer, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(outer, "nest", inner, "", "", "", HN_MAP_ZIP, &err), &err);
  hn_status st = hn_pipeline_run(outer, NULL, NULL, NULL, &r, &err);
  assert_int_equal(st, HN_ETYPE);
  assert_null(r);
  hn_pipeline_release(outer);
  hn_pipeline_release(inner);
}

/*
 * Inner nodes disagree on the type of "x"; the outer node only needs the
 * utf8 one. The nested node's declared type comes from the other (int64)
 * consumer, so an int64 value passed the outer check and reached f_len.
 */
static void test_nested_declared_type_of_pruned_consumer(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *inner = NULL, *outer = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "a_inc", "x: int64", "a: int64", f_inc, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "b_len", "x: utf8", "b: int64", f_len, &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &outer, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(outer, "nest", inner, "", "", "", HN_MAP_ZIP, &err), &err);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "x", 5, &err), &err);
  const char *outs[1] = {"b"};
  hn_run_options o = {.size = sizeof o};
  o.n_outputs = 1;
  o.outputs = outs;
  hn_result *r = NULL;
  hn_status st = hn_pipeline_run(outer, NULL, in, &o, &r, &err);
  assert_int_equal(st, HN_ETYPE);
  assert_null(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(outer);
  hn_pipeline_release(inner);
}

/* ---- products with an empty column ------------------------------------------- */

/*
 * map_over e (0 rows), b, c, d (2.1M rows each): the product is 0 items,
 * whatever the order; b * c * d alone would overflow int64, which must not
 * matter once one column is empty.
 */
static void test_top_product_empty_column_first(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "prod", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "z", "e, b, c, d", "z: int64", f_zero, &err), &err);
  hn_builder *bb = NULL;
  hn_array *big = NULL, *empty = NULL;
  HN_CHECK(hn_builder_create(NULL, BOOLT, &bb, NULL), NULL);
  for (int64_t i = 0; i < 2100000; i++) HN_CHECK(hn_builder_append_bool(bb, i & 1), NULL);
  HN_CHECK(hn_builder_finish(bb, &big, NULL), NULL);
  HN_CHECK(hn_builder_finish(bb, &empty, NULL), NULL);
  hn_builder_destroy(bb);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "e", empty, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "b", big, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "c", big, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "d", big, &err), &err);
  static const char *const orders[2][4] = {{"e", "b", "c", "d"}, {"b", "c", "d", "e"}};
  for (int k = 0; k < 2; k++) {
    hn_run_options o = {.size = sizeof o};
    o.n_map_over = 4;
    o.map_over = orders[k];
    o.map_mode = HN_MAP_PRODUCT;
    hn_result *r = NULL;
    HN_CHECK(hn_pipeline_map(p, NULL, in, &o, &r, &err), &err);
    assert_int_equal(hn_table_num_rows(hn_result_table(r)), 0);
    hn_result_destroy(r);
  }
  /* Without the empty column the product really overflows: refused. */
  static const char *const full[3] = {"b", "c", "d"};
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 3;
  o.map_over = full;
  o.map_mode = HN_MAP_PRODUCT;
  hn_result *r = NULL;
  assert_int_equal(hn_pipeline_map(p, NULL, in, &o, &r, &err), HN_ERANGE);
  hn_inputs_destroy(in);
  hn_array_release(big);
  hn_array_release(empty);
  hn_pipeline_release(p);
}

/*
 * The same inside a nested node mapped in product mode over lists: "a" is
 * empty and first (in map_over and by name), b and c have 50000 items.
 */
static void test_nested_product_empty_list_first(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *inner = NULL, *outer = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "sum", "a, b, c", "s: int64", f_sum3, &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &outer, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(outer, "each", inner, "", "", "a, b, c", HN_MAP_PRODUCT, &err),
           &err);
  hn_array *big = i64_array(NULL, 50000, NULL), *empty = i64_array(NULL, 0, NULL);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  /* Run: unmapped columns are passed whole, as one list value each. */
  HN_CHECK(hn_inputs_set_column(in, "a", empty, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "b", big, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "c", big, &err), &err);
  hn_result *r = NULL;
  HN_CHECK(hn_pipeline_run(outer, NULL, in, NULL, &r, &err), &err);
  hn_array *s = hn_table_column(hn_result_table(r), 0);
  assert_int_equal(hn_array_length(s), 1);
  assert_false(hn_array_is_null(s, 0));
  assert_int_equal(hn_array_get(s, 0).v.list.length, 0);
  hn_result_destroy(r);
  /* Without the empty list: 2.5e9 inner items are refused. */
  HN_CHECK(hn_inputs_set_column(in, "a", big, &err), &err);
  assert_int_equal(hn_pipeline_run(outer, NULL, in, NULL, &r, &err), HN_ERANGE);
  hn_inputs_destroy(in);
  hn_array_release(big);
  hn_array_release(empty);
  hn_pipeline_release(outer);
  hn_pipeline_release(inner);
}

/* (a, b) -> 10 * a + b. */
static hn_status f_pair(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], 10 * in[0].v.i64 + in[1].v.i64);
}

/*
 * Product order of a nested node follows map_over, as at the top level:
 * "the last mapped input varies fastest". map_over = {b, a} with a = [1, 2]
 * and b = [3, 4] gives (b3,a1), (b3,a2), (b4,a1), (b4,a2).
 */
static void test_nested_product_order_follows_map_over(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *inner = NULL, *outer = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "pair", "a, b", "ab: int64", f_pair, &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &outer, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(outer, "each", inner, "", "", "b, a", HN_MAP_PRODUCT, &err),
           &err);
  static const int64_t av[2] = {1, 2}, bv[2] = {3, 4};
  hn_array *a = i64_array(NULL, 2, av), *b = i64_array(NULL, 2, bv);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "a", a, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "b", b, &err), &err);
  /* The top level with the same map_over, for reference. */
  hn_run_options o = {.size = sizeof o, .map_over_spec = "b, a", .map_mode = HN_MAP_PRODUCT};
  hn_result *top = NULL, *r = NULL;
  HN_CHECK(hn_pipeline_map(inner, NULL, in, &o, &top, &err), &err);
  const int64_t *tv = hn_array_int64_values(hn_table_column(hn_result_table(top), 0));
  static const int64_t want[4] = {13, 23, 14, 24};
  for (int i = 0; i < 4; i++) assert_int_equal(tv[i], want[i]);
  HN_CHECK(hn_pipeline_run(outer, NULL, in, NULL, &r, &err), &err);
  hn_datum d = hn_array_get(hn_table_column(hn_result_table(r), 0), 0);
  assert_int_equal(d.v.list.length, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(hn_list_view_get(d.v.list, i).v.i64, want[i]);
  hn_result_destroy(r);
  hn_result_destroy(top);
  hn_inputs_destroy(in);
  hn_array_release(a);
  hn_array_release(b);
  hn_pipeline_release(outer);
  hn_pipeline_release(inner);
}

/* ---- nested lists: null, empty, CONTINUE ------------------------------------- */

/* xs -> nested inc over each list -> ys, and count(ys) -> n downstream. */
static hn_pipeline *nested_inc_pipeline(hn_row_fn fn) {
  hn_error err;
  hn_pipeline *inner = NULL, *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "inc", "x: int64", "y: int64", fn, &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &p, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "xs=x", "y=ys", "xs", HN_MAP_ZIP, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "count", "ys", "n: int64", f_count, &err), &err);
  hn_pipeline_release(inner);
  return p;
}

/* xss: list<list<int64>> rows as a column; each row is mapped by the outer map. */
static void test_nested_null_empty_and_continue(void **state) {
  (void)state;
  hn_error err;
  static const int64_t lens[6] = {2, -1, 0, 3, 1, 0};
  static const int64_t vals[6] = {1, 2, 2, 3, 4, 5};
  hn_array *xs = list_array(NULL, 6, lens, vals);
  for (int k = 0; k < 4; k++) {
    hn_pipeline *p = nested_inc_pipeline(f_inc_not3);
    hn_engine *e = engine_new(NULL, k < 2 ? HN_ENGINE_SEQUENTIAL : HN_ENGINE_THREADS, 3, 1);
    hn_inputs *in = NULL;
    HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
    HN_CHECK(hn_inputs_set_column(in, "xs", xs, &err), &err);
    static const char *const over[1] = {"xs"};
    const char *outs[2] = {"ys", "n"};
    hn_run_options o = {.size = sizeof o};
    o.n_map_over = 1;
    o.map_over = over;
    o.n_outputs = 2;
    o.outputs = outs;
    o.error_policy = k % 2 ? HN_ERRORS_CONTINUE : HN_ERRORS_RAISE;
    hn_result *r = NULL;
    hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
    if (o.error_policy == HN_ERRORS_RAISE) {
      assert_int_equal(st, HN_ENODE);
      assert_string_equal(err.item_path, "3/1");
    } else {
      HN_CHECK(st, &err);
      const hn_table *t = hn_result_table(r);
      HN_CHECK(hn_table_validate(t, true, &err), &err);
      hn_array *ys = hn_table_column(t, 0), *n = hn_table_column(t, 1);
      assert_int_equal(hn_array_length(ys), 6);
      /* [2,3], null, [], null (failed), [5], [] */
      static const int64_t want_len[6] = {2, -1, 0, -1, 1, 0};
      static const int64_t want_vals[3] = {2, 3, 6};
      int64_t kk = 0;
      for (int64_t i = 0; i < 6; i++) {
        hn_datum d = hn_array_get(ys, i);
        hn_datum c = hn_array_get(n, i);
        if (want_len[i] < 0) {
          assert_true(d.is_null);
          assert_true(c.is_null);
          continue;
        }
        assert_false(d.is_null);
        assert_int_equal(d.v.list.length, want_len[i]);
        assert_int_equal(c.v.i64, want_len[i]);
        for (int64_t j = 0; j < d.v.list.length; j++)
          assert_int_equal(hn_list_view_get(d.v.list, j).v.i64, want_vals[kk++]);
      }
      const hn_table *errs = hn_result_errors(r);
      assert_int_equal(hn_table_num_rows(errs), 1);
      assert_int_equal(hn_array_int64_values(hn_table_column(errs, 0))[0], 3);
      hn_result_destroy(r);
    }
    hn_inputs_destroy(in);
    hn_engine_destroy(e);
    hn_pipeline_release(p);
  }
  hn_array_release(xs);
}

/* Zip of zero-length columns: no item, the schema of the requested outputs. */
static void test_zip_zero_length(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *p = nested_inc_pipeline(f_inc);
  hn_array *xs = list_array(NULL, 0, NULL, NULL);
  hn_array *other = i64_array(NULL, 0, NULL);
  for (int k = 0; k < 2; k++) {
    hn_engine *e = engine_new(NULL, k ? HN_ENGINE_THREADS : HN_ENGINE_SEQUENTIAL, 2, 0);
    hn_inputs *in = NULL;
    HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
    HN_CHECK(hn_inputs_set_column(in, "xs", xs, &err), &err);
    HN_CHECK(hn_inputs_set_column(in, "other", other, &err), &err);
    static const char *const over[2] = {"xs", "other"};
    hn_run_options o = {.size = sizeof o};
    o.n_map_over = 2;
    o.map_over = over;
    hn_result *r = NULL;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    const hn_table *t = hn_result_table(r);
    assert_int_equal(hn_table_num_rows(t), 0);
    assert_int_equal(hn_table_num_columns(t), 2);
    assert_int_equal(hn_array_length(hn_table_column(t, 1)), 0);
    assert_int_equal(hn_table_num_rows(hn_result_errors(r)), 0);
    hn_result_destroy(r);
    hn_inputs_destroy(in);
    hn_engine_destroy(e);
  }
  hn_array_release(xs);
  hn_array_release(other);
  hn_pipeline_release(p);
}

/* ---- requests ------------------------------------------------------------------ */

static void test_bad_requests(void **state) {
  (void)state;
  hn_error err;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(&ta.alloc, "req", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "inc", "x: int64", "y: int64", f_inc, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "inc2", "y: int64", "z: int64", f_inc, &err), &err);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "x", 1, &err), &err);
  hn_result *r = NULL;
  const char *dup[2] = {"z", "z"};
  hn_run_options o = {.size = sizeof o};
  o.n_outputs = 2;
  o.outputs = dup;
  assert_int_equal(hn_pipeline_run(p, NULL, in, &o, &r, &err), HN_EINVAL);
  assert_null(r);
  const char *input_name[1] = {"x"};
  o.n_outputs = 1;
  o.outputs = input_name;
  assert_int_equal(hn_pipeline_run(p, NULL, in, &o, &r, &err), HN_EINVAL);
  /*
   * A produced name given as an input overrides its producer: every output
   * not given is computed from it (z = y + 1), and y itself cannot be
   * requested.
   */
  HN_CHECK(hn_inputs_set_int64(in, "y", 10, &err), &err);
  HN_CHECK(hn_pipeline_run(p, NULL, in, NULL, &r, &err), &err);
  assert_int_equal(hn_table_num_columns(hn_result_table(r)), 1);
  assert_string_equal(hn_table_column_name(hn_result_table(r), 0), "z");
  assert_int_equal(hn_array_int64_values(hn_table_column(hn_result_table(r), 0))[0], 11);
  hn_result_destroy(r);
  r = NULL;
  const char *given[1] = {"y"};
  o.n_outputs = 1;
  o.outputs = given;
  assert_int_equal(hn_pipeline_run(p, NULL, in, &o, &r, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "output 'y' is requested but also given as an input"));
  assert_null(r);
  /* Requesting an intermediate output that is also consumed downstream. */
  hn_inputs_destroy(in);
  HN_CHECK(hn_inputs_create(&ta.alloc, &in, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "x", 1, &err), &err);
  const char *both[2] = {"z", "y"};
  o.n_outputs = 2;
  o.outputs = both;
  HN_CHECK(hn_pipeline_run(p, NULL, in, &o, &r, &err), &err);
  assert_int_equal(hn_array_int64_values(hn_table_column(hn_result_table(r), 0))[0], 3);
  assert_int_equal(hn_array_int64_values(hn_table_column(hn_result_table(r), 1))[0], 2);
  hn_result_destroy(r);
  /* The same request as a short spec; both forms at once, or a malformed one, are refused. */
  hn_run_options s = {.size = sizeof s, .outputs_spec = " z , y "};
  HN_CHECK(hn_pipeline_run(p, NULL, in, &s, &r, &err), &err);
  assert_string_equal(hn_table_column_name(hn_result_table(r), 0), "z");
  assert_string_equal(hn_table_column_name(hn_result_table(r), 1), "y");
  assert_int_equal(hn_array_int64_values(hn_table_column(hn_result_table(r), 1))[0], 2);
  hn_result_destroy(r);
  r = NULL;
  o.outputs_spec = "z";
  assert_int_equal(hn_pipeline_run(p, NULL, in, &o, &r, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "options set both outputs_spec and the list"));
  s.outputs_spec = "z y";
  assert_int_equal(hn_pipeline_run(p, NULL, in, &s, &r, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "options->outputs_spec, offset 2: expected ','"));
  s.outputs_spec = NULL;
  s.map_over_spec = "x,";
  assert_int_equal(hn_pipeline_map(p, NULL, in, &s, &r, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "options->map_over_spec, offset 2: expected a name"));
  assert_null(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  assert_int_equal(ta.live, 0);
}

/* ---- allocation failure on the threads engine ------------------------------------ */

/*
 * x (mapped) -> batch-only plus -> p; (x, res) -> use -> u; nested product
 * over (ls, ls) -> s. Every allocation of the map is failed in turn on a
 * threads engine: no leak, no hang, resources destroyed as often as built.
 */
static hn_pipeline *busy_pipeline(const hn_allocator *a) {
  hn_error err;
  hn_pipeline *inner = NULL, *p = NULL;
  HN_CHECK(hn_pipeline_create(a, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "sum", "e, b, c", "s: int64", f_sum3, &err), &err);
  HN_CHECK(hn_pipeline_create(a, "busy", &p, &err), &err);
  HN_CHECK(hn_pipeline_add_ex(p, "plus", "x", "pl: int64", NULL, b_plus, NULL, NULL, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "use", "x, res", "u: int64", f_use_res, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "", "", "e, b, c", HN_MAP_PRODUCT, &err), &err);
  hn_pipeline_release(inner);
  return p;
}

static void test_threads_allocation_failure(void **state) {
  (void)state;
  bool done = false;
  for (int64_t step = 1; !done && step < 20000; step++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    const hn_allocator *a = &ta.alloc;
    hn_pipeline *p = busy_pipeline(a);
    hn_inputs *in = NULL;
    HN_CHECK(hn_inputs_create(a, &in, NULL), NULL);
    hn_array *x = i64_array(a, 9, NULL);
    static const int64_t lens[9] = {1, 2, 0, 1, 2, 1, 1, 2, 1};
    static const int64_t vals[11] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
    hn_array *ls = list_array(a, 9, lens, vals);
    HN_CHECK(hn_inputs_set_column(in, "x", x, NULL), NULL);
    HN_CHECK(hn_inputs_set_column(in, "e", ls, NULL), NULL);
    HN_CHECK(hn_inputs_set_column(in, "b", ls, NULL), NULL);
    HN_CHECK(hn_inputs_set_column(in, "c", ls, NULL), NULL);
    hn_array_release(x);
    hn_array_release(ls);
    hn_resource_def rd = {.size = sizeof rd};
    rd.name = "r";
    rd.init = res_init;
    rd.destroy = res_destroy;
    HN_CHECK(hn_inputs_set_resource(in, "res", &rd, NULL), NULL);
    hn_engine *e = engine_new(a, HN_ENGINE_THREADS, 3, 2);
    ta.fail_at = ta.n_allocs + step;
    static const char *const over[4] = {"x", "e", "b", "c"};
    hn_run_options o = {.size = sizeof o};
    o.n_map_over = 4;
    o.map_over = over;
    o.error_policy = step % 2 ? HN_ERRORS_CONTINUE : HN_ERRORS_RAISE;
    hn_result *r = NULL;
    hn_error err;
    hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
    if (ta.failures == 0) {
      HN_CHECK(st, &err);
      done = true;
    }
    if (st == HN_OK) {
      hn_result_stats s = hn_test_stats(r);
      assert_int_equal(s.resource_inits, s.resource_destroys);
      assert_int_equal(hn_table_num_rows(hn_result_table(r)), 9);
    } else {
      assert_null(r);
    }
    hn_result_destroy(r);
    hn_inputs_destroy(in);
    hn_pipeline_release(p);
    hn_engine_destroy(e);
    assert_int_equal(atomic_load(&res_live), 0);
    if (ta.live != 0)
      fail_msg("failing allocation %lld: %lld allocations leaked", (long long)step,
               (long long)ta.live);
  }
  assert_true(done);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conflicting_declared_input_types),
      cmocka_unit_test(test_nested_inner_bound_wrong_type),
      cmocka_unit_test(test_nested_declared_type_of_pruned_consumer),
      cmocka_unit_test(test_top_product_empty_column_first),
      cmocka_unit_test(test_nested_product_empty_list_first),
      cmocka_unit_test(test_nested_product_order_follows_map_over),
      cmocka_unit_test(test_nested_null_empty_and_continue),
      cmocka_unit_test(test_zip_zero_length),
      cmocka_unit_test(test_bad_requests),
      cmocka_unit_test(test_threads_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
