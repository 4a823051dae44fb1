/*
 * The mpi engine, run by ctest under mpiexec with 1, 2 and 3 ranks. Every
 * rank runs every case (run and map are collective); rank 0 checks values,
 * every rank checks the status, which must be the same everywhere. Cases:
 * results equal to the sequential engine's, skewed item costs, both error
 * policies (raise reports the lowest failing item), resources, callbacks
 * on rank 0 only, a fingerprint mismatch, an input missing on one rank, an
 * object input refused, zero items, run, a fixed chunk size.
 *
 * Node functions run on the serving ranks' threads: they never call cmocka.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

#define I64T hn_type_int64()
#define STRT hn_type_utf8()

static hn_engine *g_engine;
static int g_rank, g_ranks;

/* ---- nodes ------------------------------------------------------------------------ */

/* y = x * x + k */
static hn_status f_square(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 * in[0].v.i64 + in[1].v.i64);
}

/* s = "item-<y>" */
static hn_status f_label(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  char buf[64];
  int n = snprintf(buf, sizeof buf, "item-%lld", (long long)in[0].v.i64);
  return hn_builder_append_str(out[0], buf, n);
}

/* Busy for about (x % 50 == 0 ? 2 ms : 0): skewed costs. */
static hn_status f_skewed(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  volatile double acc = 0;
  int64_t spins = in[0].v.i64 % 50 == 0 ? 400000 : 10;
  for (int64_t i = 0; i < spins; i++) acc += (double)i * 1e-9;
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1 + (int64_t)(acc * 0));
}

/* Fails on x == 300 and x == 700. */
static hn_status f_fail(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].v.i64 == 300 || in[0].v.i64 == 700)
    return hn_ctx_fail(ctx, "bad value %lld", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64 * 2);
}

static hn_status f_use_resource(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  const int64_t *state = in[1].v.object;
  if (!state || *state != 42) return hn_ctx_fail(ctx, "resource state is wrong");
  return hn_builder_append_int64(out[0], in[0].v.i64 + *state);
}

static hn_status f_object(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)in;
  (void)ctx;
  return hn_builder_append_int64(out[0], 1);
}

/* ---- helpers ----------------------------------------------------------------------- */

static hn_array *iota(int64_t n) {
  hn_builder *b = NULL;
  hn_array *out = NULL;
  HN_CHECK(hn_builder_create(NULL, I64T, &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, i), NULL);
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  return out;
}

static hn_inputs *column_inputs(int64_t n) {
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, NULL), NULL);
  hn_array *col = iota(n);
  HN_CHECK(hn_inputs_set_column(in, "x", col, NULL), NULL);
  hn_array_release(col);
  return in;
}

static const char *const k_over[1] = {"x"};

static hn_run_options map_opts(hn_error_policy policy) {
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 1;
  o.map_over = k_over;
  o.error_policy = policy;
  return o;
}

static hn_pipeline *square_pipeline(void) {
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "square", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "square", "x, k", "y: int64", f_square, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "label", "y", "s: utf8", f_label, NULL), NULL);
  return p;
}

/* On rank 0: the result equals the sequential engine's; elsewhere: no rows. */
static void check_like_sequential(hn_pipeline *p, const hn_inputs *in, const hn_run_options *o,
                                  hn_result *res) {
  hn_table *t = hn_result_table(res);
  assert_non_null(t);
  if (g_rank != 0) {
    assert_int_equal(hn_table_num_rows(t), 0);
    return;
  }
  hn_result *want = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, NULL, in, o, &want, &err), &err);
  assert_true(hn_table_equals(t, hn_result_table(want)));
  hn_result_destroy(want);
}

/* ---- cases ----------------------------------------------------------------------------- */

static void test_ranks(void **state) {
  (void)state;
  assert_int_equal(hn_engine_kind_of(g_engine), HN_ENGINE_MPI);
  assert_int_equal(hn_engine_rank(g_engine), g_rank);
  assert_true(g_ranks >= 1);
  assert_true(hn_engine_workers(g_engine) >= 1);
  assert_int_equal(hn_engine_rank(NULL), 0);
  assert_int_equal(hn_engine_ranks(NULL), 1);
}

static void test_map_matches_sequential(void **state) {
  (void)state;
  hn_pipeline *p = square_pipeline();
  hn_inputs *in = column_inputs(20000);
  hn_error err;
  HN_CHECK(hn_inputs_set_int64(in, "k", 7, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
  check_like_sequential(p, in, &o, res);
  if (g_rank == 0) {
    hn_result_stats s = hn_test_stats(res);
    assert_int_equal(s.n_items, 20000);
    assert_int_equal(s.n_failed, 0);
    assert_true(s.workers >= 1 && s.workers <= (g_ranks > 1 ? g_ranks - 1 : 64));
  }
  hn_result_destroy(res);
  /* The same call again: plans are cached, the engine is reused. */
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
  check_like_sequential(p, in, &o, res);
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_skewed_costs(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "skewed", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "skewed", "x", "y: int64", f_skewed, NULL), NULL);
  hn_inputs *in = column_inputs(3000);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
  check_like_sequential(p, in, &o, res);
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static hn_pipeline *failing_pipeline(void) {
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "failing", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "double", "x", "y: int64", f_fail, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "other", "x", "z: utf8", f_label, NULL), NULL);
  return p;
}

static void test_raise_lowest_item(void **state) {
  (void)state;
  hn_pipeline *p = failing_pipeline();
  hn_inputs *in = column_inputs(1000);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  hn_error err;
  hn_error_reset(&err);
  hn_status st = hn_pipeline_map(p, g_engine, in, &o, &res, &err);
  assert_int_equal(st, HN_ENODE); /* on every rank */
  assert_null(res);
  assert_string_equal(err.node, "double");
  assert_string_equal(err.item_path, "300");
  assert_non_null(strstr(err.message, "bad value 300"));
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_continue_records(void **state) {
  (void)state;
  hn_pipeline *p = failing_pipeline();
  hn_inputs *in = column_inputs(1000);
  hn_run_options o = map_opts(HN_ERRORS_CONTINUE);
  hn_result *res = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
  check_like_sequential(p, in, &o, res);
  if (g_rank == 0) {
    hn_table *e = hn_result_errors(res);
    assert_int_equal(hn_table_num_rows(e), 2);
    hn_datum item0 = hn_array_get(hn_table_column(e, 0), 0);
    hn_datum item1 = hn_array_get(hn_table_column(e, 0), 1);
    assert_int_equal(item0.v.i64, 300);
    assert_int_equal(item1.v.i64, 700);
    assert_int_equal(hn_test_stats(res).n_failed, 2);
  }
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static _Atomic int64_t g_inits, g_destroys;

static hn_status res_init(void *config, void **state, hn_error *err) {
  (void)config;
  (void)err;
  int64_t *s = malloc(sizeof *s);
  if (!s) return HN_ENOMEM;
  *s = 42;
  *state = s;
  atomic_fetch_add(&g_inits, 1);
  return HN_OK;
}

static void res_destroy(void *config, void *state) {
  (void)config;
  free(state);
  atomic_fetch_add(&g_destroys, 1);
}

static void test_resources(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "res", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "use", "x, model", "y: int64", f_use_resource, NULL), NULL);
  hn_inputs *in = column_inputs(5000);
  hn_resource_def def = {
      .size = sizeof def, .name = "model", .init = res_init, .destroy = res_destroy};
  hn_error err;
  HN_CHECK(hn_inputs_set_resource(in, "model", &def, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  atomic_store(&g_inits, 0);
  atomic_store(&g_destroys, 0);
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
  if (g_rank == 0) {
    hn_result_stats s = hn_test_stats(res);
    assert_true(s.resource_inits >= 1);
    assert_true(s.resource_inits <= (int64_t)hn_engine_workers(g_engine) * g_ranks);
    assert_int_equal(s.resource_destroys, s.resource_inits);
    hn_datum d = hn_array_get(hn_table_column(hn_result_table(res), 0), 4999);
    assert_int_equal(d.v.i64, 4999 + 42);
  }
  /* Each rank's own instances are gone when the call returns. */
  assert_int_equal(atomic_load(&g_inits), atomic_load(&g_destroys));
  if (g_ranks > 1 && g_rank == 0) assert_int_equal(atomic_load(&g_inits), 0);
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static _Atomic int64_t g_item_starts, g_item_ends, g_map_starts, g_node_ends;

static void cb_item_start(void *ud, const hn_event *ev) {
  (void)ud;
  if (ev->depth == 0) atomic_fetch_add(&g_item_starts, 1);
}
static void cb_item_end(void *ud, const hn_event *ev) {
  (void)ud;
  if (ev->depth == 0) atomic_fetch_add(&g_item_ends, 1);
}
static void cb_map_start(void *ud, const hn_event *ev) {
  (void)ud;
  (void)ev;
  atomic_fetch_add(&g_map_starts, 1);
}
static void cb_node_end(void *ud, const hn_event *ev) {
  (void)ud;
  (void)ev;
  atomic_fetch_add(&g_node_ends, 1);
}

static void test_callbacks_on_rank0(void **state) {
  (void)state;
  hn_pipeline *p = square_pipeline();
  hn_inputs *in = column_inputs(500);
  hn_error err;
  HN_CHECK(hn_inputs_set_int64(in, "k", 1, &err), &err);
  hn_callbacks cb = {.size = sizeof cb};
  cb.on_item_start = cb_item_start;
  cb.on_item_end = cb_item_end;
  cb.on_map_start = cb_map_start;
  cb.on_node_end = cb_node_end;
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  o.callbacks = &cb;
  hn_result *res = NULL;
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
  int64_t want = g_rank == 0 ? 500 : 0;
  assert_int_equal(atomic_load(&g_item_starts), want);
  assert_int_equal(atomic_load(&g_item_ends), want);
  assert_int_equal(atomic_load(&g_map_starts), g_rank == 0 ? 1 : 0);
  assert_int_equal(atomic_load(&g_node_ends), 2 * want);
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_fingerprint_mismatch(void **state) {
  (void)state;
  if (g_ranks < 2) skip();
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "versions", &p, NULL), NULL);
  /* A version is a member of the table form. */
  hn_node_spec square = {.name = "square",
                         .inputs = "x, k",
                         .outputs = "y: int64",
                         .row = f_square,
                         .version = g_rank == 1 ? "v2" : "v1"};
  HN_CHECK(hn_pipeline_add_nodes(p, &square, 1, sizeof square, NULL), NULL);
  hn_inputs *in = column_inputs(100);
  hn_error err;
  HN_CHECK(hn_inputs_set_int64(in, "k", 1, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  hn_error_reset(&err);
  hn_status st = hn_pipeline_map(p, g_engine, in, &o, &res, &err);
  assert_int_equal(st, HN_EINVAL);
  assert_null(res);
  assert_non_null(strstr(err.message, "disagree"));
  assert_non_null(strstr(err.message, "version v1"));
  assert_non_null(strstr(err.message, "version v2"));
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_input_missing_on_one_rank(void **state) {
  (void)state;
  if (g_ranks < 2) skip();
  hn_pipeline *p = square_pipeline();
  hn_inputs *in = column_inputs(100);
  hn_error err;
  if (g_rank != 1) HN_CHECK(hn_inputs_set_int64(in, "k", 1, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  hn_error_reset(&err);
  hn_status st = hn_pipeline_map(p, g_engine, in, &o, &res, &err);
  assert_int_equal(st, HN_EINVAL);
  assert_null(res);
  if (g_rank != 1) assert_non_null(strstr(err.message, "rank 1: "));
  assert_non_null(strstr(err.message, "k"));
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void obj_free(void *ctx, void *object) {
  (void)ctx;
  (void)object;
}

static void test_object_input_refused(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "objects", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "obj", "x, thing", "y: int64", f_object, NULL), NULL);
  hn_inputs *in = column_inputs(10);
  const hn_type *ot = NULL;
  hn_error err;
  hn_object_vtable vt = {.free = obj_free};
  HN_CHECK(hn_type_object_create(NULL, "thing", &vt, &ot, &err), &err);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, ot, &b, &err), &err);
  static int payload = 5;
  HN_CHECK(hn_builder_append_object(b, &payload), NULL);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, &err), &err);
  hn_builder_destroy(b);
  HN_CHECK(hn_inputs_set_value(in, "thing", arr, 0, &err), &err);
  hn_array_release(arr);
  hn_type_release(ot);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  hn_error_reset(&err);
  hn_status st = hn_pipeline_map(p, g_engine, in, &o, &res, &err);
  assert_int_equal(st, HN_ETYPE);
  assert_null(res);
  assert_non_null(strstr(err.message, "'thing'"));
  assert_non_null(strstr(err.message, "mpi"));
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_zero_items_and_run(void **state) {
  (void)state;
  hn_pipeline *p = square_pipeline();
  hn_inputs *in = column_inputs(0);
  hn_error err;
  HN_CHECK(hn_inputs_set_int64(in, "k", 3, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *res = NULL;
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
  assert_int_equal(hn_table_num_rows(hn_result_table(res)), 0);
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  /* A single run: one item, on a worker rank when there is one. */
  in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "x", 6, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "k", 3, &err), &err);
  HN_CHECK(hn_pipeline_run(p, g_engine, in, NULL, &res, &err), &err);
  hn_table *t = hn_result_table(res);
  if (g_rank == 0) {
    assert_int_equal(hn_table_num_rows(t), 1);
    assert_int_equal(hn_array_get(hn_table_column(t, 0), 0).v.i64, 39);
  } else {
    assert_int_equal(hn_table_num_rows(t), 0);
  }
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_fixed_chunk_size(void **state) {
  (void)state;
  hn_engine_options eo = {.size = sizeof eo, .kind = HN_ENGINE_MPI, .workers = 1, .chunk_size = 7};
  hn_engine *e = NULL;
  hn_error err;
  HN_CHECK(hn_engine_create(NULL, &eo, &e, &err), &err);
  hn_pipeline *p = square_pipeline();
  hn_inputs *in = column_inputs(1001);
  HN_CHECK(hn_inputs_set_int64(in, "k", 2, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_CONTINUE);
  hn_result *res = NULL;
  HN_CHECK(hn_pipeline_map(p, e, in, &o, &res, &err), &err);
  check_like_sequential(p, in, &o, res);
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_engine_destroy(e);
}

/*
 * A cache on rank 0: the ranks follow its groups. Cold, warm, a partly
 * changed map (groups of items that run different nodes), and a failure
 * under raise in one group: the results and errors of the sequential
 * engine on rank 0, no rows elsewhere, the same status everywhere.
 */
static void test_cache_on_rank0(void **state) {
  (void)state;
  char dir[64] = "/tmp/hn_mpi_cache_XXXXXX";
  hn_cache *cache = NULL;
  hn_error err;
  if (g_rank == 0) {
    assert_non_null(mkdtemp(dir));
    HN_CHECK(hn_cache_open(NULL, dir, NULL, &cache, &err), &err);
  }
  hn_pipeline *p = square_pipeline();
  hn_inputs *in = column_inputs(500);
  HN_CHECK(hn_inputs_set_int64(in, "k", 3, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  o.cache = cache; /* NULL on the other ranks: they follow rank 0 */
  int64_t want_hits[] = {0, 1000, 998}, want_misses[] = {1000, 0, 2};
  for (int round = 0; round < 3; round++) {
    if (round == 2) { /* one item changed: its two nodes run, in a group of their own */
      hn_array *col = iota(500);
      ((int64_t *)hn_array_int64_values(col))[123] = 100123;
      HN_CHECK(hn_inputs_set_column(in, "x", col, &err), &err);
      hn_array_release(col);
    }
    hn_result *res = NULL;
    HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &res, &err), &err);
    hn_run_options plain = map_opts(HN_ERRORS_RAISE);
    check_like_sequential(p, in, &plain, res);
    if (g_rank == 0) {
      hn_result_stats s;
      hn_result_get_stats(res, &s, sizeof s);
      assert_int_equal(s.cache_hits, want_hits[round]);
      assert_int_equal(s.cache_misses, want_misses[round]);
    }
    hn_result_destroy(res);
  }
  hn_pipeline_release(p);
  /* A failing node under raise, in the one group that runs: the same error on every rank. */
  p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "failing", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "fail", "x", "y: int64", f_fail, &err), &err);
  hn_inputs_destroy(in);
  in = column_inputs(1000);
  hn_result *res = NULL;
  hn_status st = hn_pipeline_map(p, g_engine, in, &o, &res, &err);
  assert_int_equal(st, HN_ENODE);
  assert_null(res);
  assert_string_equal(err.item_path, "300");
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  if (g_rank == 0) {
    hn_cache_close(cache);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    rmdir(dir);
  }
}

int main(void) {
  hn_engine_options eo = {.size = sizeof eo, .kind = HN_ENGINE_MPI, .workers = 2};
  hn_error err;
  hn_status st = hn_engine_create(NULL, &eo, &g_engine, &err);
  if (st != HN_OK) {
    fprintf(stderr, "test_mpi: cannot create the mpi engine: %s: %s\n", hn_status_str(st),
            err.message);
    return 1;
  }
  g_rank = hn_engine_rank(g_engine);
  g_ranks = hn_engine_ranks(g_engine);
  printf("test_mpi: rank %d of %d, %d worker threads per rank\n", g_rank, g_ranks,
         hn_engine_workers(g_engine));
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ranks),
      cmocka_unit_test(test_map_matches_sequential),
      cmocka_unit_test(test_skewed_costs),
      cmocka_unit_test(test_raise_lowest_item),
      cmocka_unit_test(test_continue_records),
      cmocka_unit_test(test_resources),
      cmocka_unit_test(test_callbacks_on_rank0),
      cmocka_unit_test(test_fingerprint_mismatch),
      cmocka_unit_test(test_input_missing_on_one_rank),
      cmocka_unit_test(test_object_input_refused),
      cmocka_unit_test(test_zero_items_and_run),
      cmocka_unit_test(test_fixed_chunk_size),
      cmocka_unit_test(test_cache_on_rank0),
  };
  int failed = cmocka_run_group_tests_name("mpi", tests, NULL, NULL);
  hn_engine_destroy(g_engine);
  printf("test_mpi: rank %d finished, %d failed\n", g_rank, failed);
  return failed == 0 ? 0 : 1;
}
