/*
 * Columnar engine: results, error records and call counts do not depend on
 * the morsel size (1, 7, 65536) or the worker count, and match the
 * sequential engine.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "test_support.h"

#include "hypernodes/hypernodes.h"
#include "exec/exec_internal.h" /* struct hn_result: whether its chunks were joined */

static _Atomic int64_t g_calls;

static hn_status f_inc(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  atomic_fetch_add(&g_calls, 1);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  if (in[0].v.i64 % 13 == 5) return hn_ctx_fail(ctx, "bad value %lld", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

/* Inside a nested pipeline: not counted (after an inner failure the item engines
 * stop the item's inner loop, the columnar engine has run the inner rows already). */
static hn_status f_inc_inner(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  hn_status st = f_inc(ud, in, out, ctx);
  atomic_fetch_sub(&g_calls, 1);
  return st;
}

static hn_status f_mul(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null || in[1].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.i64 * in[1].v.i64);
}

/* Batch-only: y + k, failing on a batch holding a multiple of 17 (not 0). */
static hn_status b_add(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out, hn_ctx *ctx) {
  (void)ud;
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, hn_type_int64(), &b, NULL);
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    hn_datum x = hn_array_get(in[0].array, in[0].scalar ? 0 : i);
    hn_datum k = hn_array_get(in[1].array, in[1].scalar ? 0 : i);
    if (!x.is_null && x.v.i64 != 0 && x.v.i64 % 17 == 0) {
      hn_builder_destroy(b);
      return hn_ctx_fail(ctx, "batch saw %lld", (long long)x.v.i64);
    }
    st = x.is_null || k.is_null ? hn_builder_append_null(b)
                                : hn_builder_append_int64(b, x.v.i64 + k.v.i64);
  }
  if (st == HN_OK) st = hn_builder_finish(b, out, NULL);
  hn_builder_destroy(b);
  return st;
}

/* int64 -> list<int64> [0, 1, ..., x % 5), null for null. */
static hn_status f_range(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  for (int64_t i = 0; i < in[0].v.i64 % 5; i++) {
    hn_status st = hn_builder_append_int64(hn_builder_child(out[0], 0), in[0].v.i64 + i);
    if (st != HN_OK) return st;
  }
  return hn_builder_finish_element(out[0]);
}

/*
 * x -> inc -> y -> plus(y, k) -> z ; x * k -> w ; nested: range(x) mapped
 * through inc -> ys.
 */
static hn_pipeline *build(void) {
  hn_error err;
  hn_pipeline *inner = NULL, *p = NULL;
  static const hn_node_spec nodes[] = {
      HN_NODE("inc", "x", "y: int64", f_inc),
      {.name = "plus", .inputs = "y, k", .outputs = "z: int64", .batch = b_add},
      HN_NODE("scale", "x, k", "w: int64", f_mul),
      HN_NODE("range", "x", "r: list<int64>", f_range),
  };
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "inner_inc", "v", "u: int64", f_inc_inner, &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &p, &err), &err);
  HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "r=v", "u=ys", "r", HN_MAP_ZIP, &err), &err);
  hn_pipeline_release(inner);
  return p;
}

static hn_inputs *inputs(int64_t n) {
  hn_error err;
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err), &err);
  for (int64_t i = 0; i < n; i++)
    HN_CHECK(i % 11 == 4 ? hn_builder_append_null(b) : hn_builder_append_int64(b, i), NULL);
  hn_array *x = NULL;
  HN_CHECK(hn_builder_finish(b, &x, &err), &err);
  hn_builder_destroy(b);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "x", x, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "k", 3, &err), &err);
  hn_array_release(x);
  return in;
}

static hn_result *map_on(hn_pipeline *p, hn_inputs *in, hn_engine_kind kind, int workers,
                         int64_t morsel, hn_error_policy policy, hn_status *st_out, hn_error *err,
                         int64_t *calls) {
  hn_engine_options o = {.size = sizeof o};
  o.kind = kind;
  o.workers = workers;
  o.chunk_size = morsel;
  hn_engine *e = NULL;
  HN_CHECK(hn_engine_create(NULL, &o, &e, err), err);
  const char *over[1] = {"x"};
  hn_run_options ro = {.size = sizeof ro};
  ro.n_map_over = 1;
  ro.map_over = over;
  ro.error_policy = policy;
  hn_result *r = NULL;
  atomic_store(&g_calls, 0);
  *st_out = hn_pipeline_map(p, e, in, &ro, &r, err);
  *calls = atomic_load(&g_calls);
  hn_engine_destroy(e);
  return r;
}

static bool tables_equal(const hn_table *a, const hn_table *b) {
  if (hn_table_num_rows(a) != hn_table_num_rows(b) ||
      hn_table_num_columns(a) != hn_table_num_columns(b))
    return false;
  for (int64_t j = 0; j < hn_table_num_columns(a); j++)
    if (strcmp(hn_table_column_name(a, j), hn_table_column_name(b, j)) != 0 ||
        !hn_array_equals(hn_table_column(a, j), hn_table_column(b, j)))
      return false;
  return true;
}

static const int64_t k_morsels[3] = {1, 7, 65536};
static const int k_workers[3] = {1, 2, 4};

static void check_same(int64_t n, hn_error_policy policy) {
  hn_pipeline *p = build();
  hn_inputs *in = inputs(n);
  hn_error err, ref_err;
  hn_status ref_st, st;
  int64_t ref_calls, calls;
  hn_result *ref = map_on(p, in, HN_ENGINE_SEQUENTIAL, 0, 0, policy, &ref_st, &ref_err, &ref_calls);
  for (int mi = 0; mi < 3; mi++)
    for (int wi = 0; wi < 3; wi++) {
      hn_result *r = map_on(p, in, HN_ENGINE_COLUMNAR, k_workers[wi], k_morsels[mi], policy, &st,
                            &err, &calls);
      if (st != ref_st)
        fail_msg("morsel %lld workers %d: status %s, expected %s (%s)", (long long)k_morsels[mi],
                 k_workers[wi], hn_status_str(st), hn_status_str(ref_st), err.message);
      if (st != HN_OK) {
        assert_string_equal(err.message, ref_err.message);
        assert_string_equal(err.node, ref_err.node);
        assert_string_equal(err.item_path, ref_err.item_path);
        assert_null(r);
        continue;
      }
      assert_true(tables_equal(hn_result_table(r), hn_result_table(ref)));
      assert_true(tables_equal(hn_result_errors(r), hn_result_errors(ref)));
      assert_int_equal(calls, ref_calls); /* row nodes skip failed rows exactly as item engines */
      assert_int_equal(hn_test_stats(r).n_failed, hn_test_stats(ref).n_failed);
      hn_result_destroy(r);
    }
  hn_result_destroy(ref);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_continue_any_morsel(void **state) {
  (void)state;
  check_same(200, HN_ERRORS_CONTINUE);
}

static void test_raise_any_morsel(void **state) {
  (void)state;
  check_same(200, HN_ERRORS_RAISE);
}

static void test_single_item(void **state) {
  (void)state;
  check_same(1, HN_ERRORS_CONTINUE);
}

static void test_many_items(void **state) {
  (void)state;
  check_same(70000, HN_ERRORS_CONTINUE); /* more than one default morsel */
}

static void test_engine_kind(void **state) {
  (void)state;
  hn_engine_options o = {.size = sizeof o};
  o.kind = HN_ENGINE_COLUMNAR;
  o.workers = 3;
  hn_engine *e = NULL;
  hn_error err;
  HN_CHECK(hn_engine_create(NULL, &o, &e, &err), &err);
  assert_int_equal(hn_engine_kind_of(e), HN_ENGINE_COLUMNAR);
  assert_int_equal(hn_engine_workers(e), 3);
  hn_engine_destroy(e);
}

/* Columnar results come as one record batch per morsel; the joined table is made on demand. */
static void test_chunked_result(void **state) {
  (void)state;
  hn_pipeline *p = build();
  hn_inputs *in = inputs(100);
  hn_error err;
  hn_status st;
  int64_t calls;
  hn_result *r = map_on(p, in, HN_ENGINE_COLUMNAR, 2, 7, HN_ERRORS_CONTINUE, &st, &err, &calls);
  assert_int_equal(st, HN_OK);
  assert_int_equal(hn_result_num_chunks(r), 15); /* 14 x 7 rows + 2 */
  assert_null(hn_result_chunk(r, 15));
  hn_result *seq = map_on(p, in, HN_ENGINE_SEQUENTIAL, 1, 0, HN_ERRORS_CONTINUE, &st, &err, &calls);
  assert_int_equal(hn_result_num_chunks(seq), 1);
  assert_ptr_equal(hn_result_chunk(seq, 0), hn_result_table(seq));
  /* The stream hands out the chunks as they are. */
  struct ArrowArrayStream stream;
  HN_CHECK(hn_result_export_stream(r, &stream, &err), &err);
  hn_stream_reader *reader = NULL;
  HN_CHECK(hn_stream_reader_create(NULL, &stream, NULL, &reader, &err), &err);
  int64_t offset = 0;
  for (int64_t k = 0;; k++) {
    hn_table *batch = NULL;
    HN_CHECK(hn_stream_reader_next(reader, &batch, &err), &err);
    if (!batch) {
      assert_int_equal(k, 15);
      break;
    }
    assert_int_equal(hn_table_num_rows(batch), k < 14 ? 7 : 2);
    assert_true(tables_equal(batch, hn_result_chunk(r, k)));
    hn_table *want = NULL;
    HN_CHECK(hn_table_slice(hn_result_table(seq), offset, hn_table_num_rows(batch), &want, &err),
             &err);
    assert_true(tables_equal(batch, want));
    offset += hn_table_num_rows(batch);
    hn_table_release(want);
    hn_table_release(batch);
  }
  hn_stream_reader_destroy(reader);
  /* Rows chunk by chunk: the same rows as the sequential result's, no join made. */
  for (int strat = 0; strat < 3; strat++) {
    hn_rows *rows = NULL, *want_rows = NULL;
    HN_CHECK(hn_result_rows(r, (hn_materialize)strat, &rows, &err), &err);
    HN_CHECK(hn_result_rows(seq, (hn_materialize)strat, &want_rows, &err), &err);
    assert_int_equal(hn_rows_num_rows(rows), 100);
    assert_int_equal(hn_rows_num_columns(rows), hn_rows_num_columns(want_rows));
    for (int64_t i = 0; i < 100; i++)
      for (int64_t c = 0; c < hn_rows_num_columns(rows); c++) {
        hn_datum a = hn_rows_get(rows, i, c), b = hn_rows_get(want_rows, i, c);
        assert_int_equal(a.is_null, b.is_null);
        if (!a.is_null && a.type == HN_TYPE_INT64) assert_int_equal(a.v.i64, b.v.i64);
        if (!a.is_null && a.type == HN_TYPE_UTF8)
          assert_memory_equal(a.v.str.data, b.v.str.data, (size_t)a.v.str.size);
      }
    hn_rows_destroy(rows);
    hn_rows_destroy(want_rows);
  }
  assert_null(r->table); /* not joined by the rows */
  /* Joined on first use, the same table every time after. */
  hn_table *joined = hn_result_table(r);
  assert_non_null(joined);
  assert_ptr_equal(hn_result_table(r), joined);
  assert_true(tables_equal(joined, hn_result_table(seq)));
  hn_rows *rows = NULL;
  HN_CHECK(hn_result_rows(r, HN_MATERIALIZE_AUTO, &rows, &err), &err);
  assert_int_equal(hn_rows_num_rows(rows), 100);
  hn_rows_destroy(rows);
  hn_result_destroy(r);
  hn_result_destroy(seq);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_engine_kind),         cmocka_unit_test(test_single_item),
      cmocka_unit_test(test_continue_any_morsel), cmocka_unit_test(test_raise_any_morsel),
      cmocka_unit_test(test_many_items),          cmocka_unit_test(test_chunked_result),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
