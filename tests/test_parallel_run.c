/*
 * A run (one item) whose nested map has heavy inner items uses the engine's
 * workers (threads, columnar): the same outputs, error and error records as
 * the sequential engine. On threads the inner items' events show more than
 * one thread; on columnar (one node call over the inner rows, its events
 * on the calling thread) the node sees more than one thread.
 * Failures: the lowest failing inner item is reported, under raise and
 * under continue, whichever thread ran it.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "test_support.h"

enum { N_INNER = 400 };

/* The distinct threads that called `heavy`. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_t g_threads[16];
static int g_n_threads;

static void note_thread(void) {
  pthread_mutex_lock(&g_mu);
  bool known = false;
  for (int k = 0; k < g_n_threads; k++)
    known = known || pthread_equal(g_threads[k], pthread_self());
  if (!known && g_n_threads < 16) g_threads[g_n_threads++] = pthread_self();
  pthread_mutex_unlock(&g_mu);
}

/* About 40 us of arithmetic: heavy enough that the pool is worth it. */
static hn_status heavy(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  const int64_t *fail_at = ud;
  note_thread();
  int64_t v = in[0].v.i64;
  for (int k = 0; fail_at && k < 2; k++)
    if (fail_at[k] == v) return hn_ctx_fail(ctx, "inner item %lld fails", (long long)v);
  double acc = (double)v;
  for (int k = 0; k < 20000; k++) acc = acc * 0.999999 + 1e-6 * (double)k;
  return hn_builder_append_int64(out[0], v * 2 + (acc > 1e300 ? 1 : 0));
}

static hn_status make_list(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  hn_builder *items = hn_builder_child(out[0], 0);
  for (int64_t k = 0; k < in[0].v.i64; k++) {
    hn_status st = hn_builder_append_int64(items, k);
    if (st != HN_OK) return st;
  }
  return hn_builder_finish_element(out[0]);
}

static hn_status sum(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  int64_t s = 0;
  for (int64_t k = 0; k < in[0].v.list.length; k++)
    s += hn_array_get(in[0].v.list.values, in[0].v.list.start + k).v.i64;
  return hn_builder_append_int64(out[0], s);
}

/* n -> xs (0..n-1) -> per x: heavy -> ys -> total; also n2 = n + 1 independent of it. */
static hn_pipeline *pipeline(const int64_t *fail_at) {
  hn_pipeline *inner = NULL, *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add_ex(inner, "heavy", "x: int64", "y: int64", heavy, NULL, (void *)fail_at,
                              NULL, &err),
           &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "make", "n: int64", "xs: list<int64>", make_list, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "xs=x", "y=ys", "xs", HN_MAP_ZIP, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "total", "ys: list<int64>", "t: int64", sum, &err), &err);
  hn_pipeline_release(inner);
  return p;
}

/* Which threads ran inner items (bit per thread index, from item events at depth 1). */
typedef struct seen {
  pthread_mutex_t mu;
  uint64_t threads;
  int64_t items;
} seen;

static void on_item(void *ud, const hn_event *ev) {
  seen *s = ud;
  if (ev->depth != 1) return;
  pthread_mutex_lock(&s->mu);
  if (ev->thread >= 0 && ev->thread < 64) s->threads |= (uint64_t)1 << ev->thread;
  s->items++;
  pthread_mutex_unlock(&s->mu);
}

static hn_status run_on(hn_engine_kind kind, hn_pipeline *p, hn_error_policy policy, seen *sn,
                        hn_result **out, hn_error *err) {
  hn_engine_options eo = {.size = sizeof eo, .kind = kind, .workers = 2};
  hn_engine *e = NULL;
  HN_CHECK(hn_engine_create(NULL, &eo, &e, NULL), NULL);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, NULL), NULL);
  HN_CHECK(hn_inputs_set_int64(in, "n", N_INNER, NULL), NULL);
  hn_callbacks cb = {.size = sizeof cb, .user_data = sn, .on_item_end = on_item};
  hn_run_options o = {.size = sizeof o, .error_policy = policy, .callbacks = sn ? &cb : NULL};
  hn_status st = hn_pipeline_run(p, e, in, &o, out, err);
  hn_inputs_destroy(in);
  hn_engine_destroy(e);
  return st;
}

static void expect_same(const hn_result *a, const hn_result *b) {
  for (int t = 0; t < 2; t++) {
    const hn_table *x = t ? hn_result_errors(a) : hn_result_table(a);
    const hn_table *y = t ? hn_result_errors(b) : hn_result_table(b);
    assert_int_equal(hn_table_num_columns(x), hn_table_num_columns(y));
    assert_int_equal(hn_table_num_rows(x), hn_table_num_rows(y));
    for (int64_t c = 0; c < hn_table_num_columns(x); c++)
      if (!hn_array_equals(hn_table_column(x, c), hn_table_column(y, c)))
        fail_msg("column '%s' of the %s differs from the sequential engine's",
                 hn_table_column_name(x, c), t ? "error table" : "result");
  }
}

static void check_engine(hn_engine_kind kind) {
  hn_pipeline *p = pipeline(NULL);
  hn_result *want = NULL, *got = NULL;
  hn_error err;
  HN_CHECK(run_on(HN_ENGINE_SEQUENTIAL, p, HN_ERRORS_RAISE, NULL, &want, &err), &err);
  seen sn = {.mu = PTHREAD_MUTEX_INITIALIZER};
  g_n_threads = 0;
  HN_CHECK(run_on(kind, p, HN_ERRORS_RAISE, &sn, &got, &err), &err);
  expect_same(got, want);
  print_message("%s: %lld inner item events, thread mask %#llx, %d threads ran the node\n",
                hn_engine_kind_name(kind), (long long)sn.items, (unsigned long long)sn.threads,
                g_n_threads);
  assert_int_equal(sn.items, N_INNER);
  assert_true(g_n_threads > 1); /* the inner items ran on more than one thread */
  if (kind == HN_ENGINE_THREADS) assert_true(sn.threads & (sn.threads - 1)); /* and say so */
  hn_result_destroy(want);
  hn_result_destroy(got);
  hn_pipeline_release(p);
  /* Two failing inner items, far apart: the lower one is reported, as one by one. */
  static const int64_t fail_at[2] = {377, 233};
  p = pipeline(fail_at);
  hn_error e1, e2;
  assert_int_equal(run_on(HN_ENGINE_SEQUENTIAL, p, HN_ERRORS_RAISE, NULL, &want, &e1), HN_ENODE);
  assert_int_equal(run_on(kind, p, HN_ERRORS_RAISE, NULL, &got, &e2), HN_ENODE);
  assert_string_equal(e2.message, e1.message);
  assert_string_equal(e2.node, e1.node);
  assert_string_equal(e2.item_path, e1.item_path);
  assert_string_equal(e2.item_path, "233");
  HN_CHECK(run_on(HN_ENGINE_SEQUENTIAL, p, HN_ERRORS_CONTINUE, NULL, &want, &err), &err);
  HN_CHECK(run_on(kind, p, HN_ERRORS_CONTINUE, NULL, &got, &err), &err);
  expect_same(got, want);
  assert_int_equal(hn_table_num_rows(hn_result_errors(got)), 1);
  hn_result_destroy(want);
  hn_result_destroy(got);
  hn_pipeline_release(p);
}

static void test_threads(void **state) {
  (void)state;
  check_engine(HN_ENGINE_THREADS);
}

static void test_columnar(void **state) {
  (void)state;
  check_engine(HN_ENGINE_COLUMNAR);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_columnar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
