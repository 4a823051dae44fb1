/*
 * The processes engine's pool that outlives a call: the same worker
 * processes serve a repeated map (200 maps, nothing piling up); crashes and
 * timeouts between maps; a new or changed pipeline, a new binding or new
 * resources get new workers, while broadcast values and input types travel
 * with each call; a call from another thread; a forked copy of the caller;
 * a stale announce; no allocation per item. Between calls the checks are
 * pool_check's, after hn_engine_destroy engine_done's.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <pthread.h>

#include "processes_support.h"

/* ---- the pool that outlives a call ------------------------------------------------------- */

/* x -> the worker process's pid. */
static hn_status f_pid(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)in;
  (void)ctx;
  return hn_builder_append_int64(out[0], (int64_t)getpid());
}

/* x -> x + ud->add (ud is private memory of the calling process). */
typedef struct adder {
  int64_t add;
} adder;
static hn_status f_add_ud(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + ((const adder *)ud)->add);
}

/* (x, k) -> x * k */
static hn_status f_mul(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 * in[1].v.i64);
}

/* v (any type) -> its int64 value, or the length of a string. */
static hn_status f_measure(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].type == HN_TYPE_INT64) return hn_builder_append_int64(out[0], in[0].v.i64);
  if (in[0].type == HN_TYPE_UTF8) return hn_builder_append_int64(out[0], in[0].v.str.size);
  return hn_ctx_fail(ctx, "unexpected type %s", hn_type_id_name(in[0].type));
}

static int cmp_pid(const void *a, const void *b) {
  pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
  return (x > y) - (x < y);
}

/* The children of this process, sorted, into pids (at most 16); their count. */
static int children_sorted(pid_t *pids) {
  int n = children(pids, 16);
  assert_true(n <= 16);
  qsort(pids, (size_t)n, sizeof *pids, cmp_pid);
  return n;
}

static bool same_pids(const pid_t *a, int na, const pid_t *b, int nb) {
  return na == nb && memcmp(a, b, sizeof *a * (size_t)na) == 0;
}

static bool disjoint_pids(const pid_t *a, int na, const pid_t *b, int nb) {
  for (int i = 0; i < na; i++)
    for (int j = 0; j < nb; j++)
      if (a[i] == b[j]) return false;
  return true;
}

/* Map `in` over x on p, requesting `out_name`; the result (owned by the caller). */
static hn_result *map_ok(hn_pipeline *p, hn_engine *e, hn_inputs *in, const char *out_name) {
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  const char *outs[1] = {out_name};
  o.n_outputs = 1;
  o.outputs = outs;
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
  return r;
}

/* 200 maps of the same pipeline: the same worker processes serve every one, nothing piles up. */
static void test_pool_outlives_calls(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p = pipeline_new("pids");
  HN_CHECK(hn_pipeline_add(p, "pid", "x", "y: int64", f_pid, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 1000);
  pid_t first[16], now[16];
  int n_first = 0;
  for (int k = 0; k < 200; k++) {
    hn_result *r = map_ok(p, w.e, in, "y");
    int64_t y[1000];
    result_values(r, "y", 1000, y);
    hn_result_destroy(r);
    int n = pool_check(&w);
    assert_int_equal(children_sorted(now), n);
    for (int i = 0; i < 1000; i++) { /* every item ran in one of the pool's processes */
      bool found = false;
      for (int j = 0; j < n; j++) found = found || y[i] == (int64_t)now[j];
      assert_true(found);
    }
    if (k == 0) {
      n_first = children_sorted(first);
      assert_true(n_first >= 1);
    } else if (!same_pids(first, n_first, now, n)) {
      fail_msg("map %d: the pool's processes changed (no worker died)", k);
    }
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  engine_done(&w);
}

/* Crashes and timeouts between ordinary maps: dead workers are replaced, none left behind. */
static void test_pool_replaces_dead_workers(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 1.0));
  hn_pipeline *p = pipeline_new("crash_often");
  crash_mode *m = shared_new(sizeof *m);
  HN_CHECK(hn_pipeline_add_ex(p, "crashy", "x", "y: int64", f_crashy, NULL, m, NULL, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 100);
  for (int k = 0; k < 40; k++) {
    *m = k == 20 ? CRASH_HANG : k % 5 == 0 ? CRASH_SEGV : k % 7 == 0 ? CRASH_EXIT : CRASH_NONE;
    hn_run_options o = map_opts(HN_ERRORS_CONTINUE);
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, w.e, in, &o, &r, &err), &err);
    int64_t y[100];
    result_values(r, "y", 100, y);
    for (int64_t i = 0; i < 100; i++)
      assert_int_equal(y[i], i == 37 && *m != CRASH_NONE ? INT64_MIN : 3 * i);
    assert_int_equal(hn_table_num_rows(hn_result_errors(r)), *m != CRASH_NONE ? 1 : 0);
    hn_result_destroy(r);
    (void)pool_check(&w);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  munmap(m, sizeof *m);
  engine_done(&w);
}

/*
 * A pipeline made after the pool was forked (its node's user_data too) is
 * not in the workers' memory: the pool is forked again. A pipeline made
 * before is: going back to it keeps the workers.
 */
static void test_pool_new_pipeline(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p1 = pipeline_new("first");
  HN_CHECK(hn_pipeline_add(p1, "pid", "x", "y: int64", f_pid, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 300);
  hn_result_destroy(map_ok(p1, w.e, in, "y"));
  pid_t a[16], b[16], c[16];
  int na = children_sorted(a);
  adder *ud = malloc(sizeof *ud); /* private memory, made after the fork */
  assert_non_null(ud);
  ud->add = 1000;
  hn_pipeline *p2 = pipeline_new("second");
  HN_CHECK(hn_pipeline_add_ex(p2, "add", "x", "y: int64", f_add_ud, NULL, ud, free, NULL), NULL);
  hn_result *r = map_ok(p2, w.e, in, "y");
  int64_t y[300];
  result_values(r, "y", 300, y);
  for (int64_t i = 0; i < 300; i++) assert_int_equal(y[i], i + 1000);
  hn_result_destroy(r);
  int nb = children_sorted(b);
  assert_true(disjoint_pids(a, na, b, nb)); /* the first pool was stopped and reaped */
  hn_result_destroy(map_ok(p1, w.e, in, "y"));
  int nc = children_sorted(c);
  assert_true(same_pids(b, nb, c, nc)); /* p1 was made before these workers: no fork */
  (void)pool_check(&w);
  hn_inputs_destroy(in);
  hn_pipeline_release(p1);
  hn_pipeline_release(p2);
  engine_done(&w);
}

/* A node added and a value bound after the fork: new plans, new workers, right answers. */
static void test_pool_pipeline_changed(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p = pipeline_new("grows");
  HN_CHECK(hn_pipeline_add(p, "mul", "x, k", "y: int64", f_mul, NULL), NULL);
  hn_array *k3 = iota(4); /* [0 1 2 3]: row 3 */
  HN_CHECK(hn_pipeline_bind(p, "k", k3, 3, NULL), NULL);
  hn_array_release(k3);
  hn_inputs *in = inputs_with_column("x", 200);
  int64_t y[200];
  hn_result *r = map_ok(p, w.e, in, "y");
  result_values(r, "y", 200, y);
  for (int64_t i = 0; i < 200; i++) assert_int_equal(y[i], 3 * i);
  hn_result_destroy(r);
  hn_array *k5 = iota(6);
  HN_CHECK(hn_pipeline_bind(p, "k", k5, 5, NULL), NULL); /* made after the fork */
  hn_array_release(k5);
  r = map_ok(p, w.e, in, "y");
  result_values(r, "y", 200, y);
  for (int64_t i = 0; i < 200; i++) assert_int_equal(y[i], 5 * i);
  hn_result_destroy(r);
  adder *ud = malloc(sizeof *ud);
  assert_non_null(ud);
  ud->add = 7;
  HN_CHECK(hn_pipeline_add_ex(p, "add", "y", "z: int64", f_add_ud, NULL, ud, free, NULL), NULL);
  r = map_ok(p, w.e, in, "z");
  result_values(r, "z", 200, y);
  for (int64_t i = 0; i < 200; i++) assert_int_equal(y[i], 5 * i + 7);
  hn_result_destroy(r);
  (void)pool_check(&w);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  engine_done(&w);
}

/* Resources whose config is private memory: a resource made after the fork gets new workers. */
typedef struct model_config {
  int64_t factor;
  res_counts *counts; /* shared */
} model_config;

static hn_status model_init(void *config, void **state, hn_error *err) {
  (void)err;
  model_config *mc = config;
  atomic_fetch_add(&mc->counts->inits, 1);
  int64_t *s = malloc(sizeof *s);
  if (!s) return HN_ENOMEM;
  *s = mc->factor;
  *state = s;
  return HN_OK;
}

static void model_destroy(void *config, void *state) {
  model_config *mc = config;
  atomic_fetch_add(&mc->counts->destroys, 1);
  free(state);
}

static hn_inputs *inputs_with_model(int64_t factor, res_counts *counts) {
  hn_inputs *in = inputs_with_column("x", 200);
  model_config *mc = malloc(sizeof *mc);
  assert_non_null(mc);
  *mc = (model_config){factor, counts};
  hn_resource_def d = {.size = sizeof d};
  d.name = "model";
  d.init = model_init;
  d.destroy = model_destroy;
  d.config = mc;
  d.config_free = free;
  HN_CHECK(hn_inputs_set_resource(in, "model", &d, NULL), NULL);
  return in;
}

static void map_model(pool_watch *w, hn_pipeline *p, hn_inputs *in, int64_t factor,
                      res_counts *rc) {
  hn_result *r = map_ok(p, w->e, in, "y");
  int64_t y[200];
  result_values(r, "y", 200, y);
  for (int64_t i = 0; i < 200; i++) assert_int_equal(y[i], factor * i);
  hn_result_stats s = hn_test_stats(r);
  assert_true(s.resource_inits >= 1 && s.resource_inits <= s.workers);
  assert_int_equal(s.resource_destroys, s.resource_inits);
  assert_int_equal(atomic_load(&rc->inits), s.resource_inits);
  assert_int_equal(atomic_load(&rc->destroys), s.resource_inits);
  atomic_store(&rc->inits, 0);
  atomic_store(&rc->destroys, 0);
  hn_result_destroy(r);
  (void)pool_check(w);
}

static void test_pool_new_resource(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p = pipeline_new("model");
  HN_CHECK(hn_pipeline_add(p, "scale", "model, x", "y: int64", f_scale, NULL), NULL);
  res_counts *rc = shared_new(sizeof *rc);
  hn_inputs *in1 = inputs_with_model(2, rc);
  map_model(&w, p, in1, 2, rc);
  pid_t a[16], b[16], c[16];
  int na = children_sorted(a);
  map_model(&w, p, in1, 2, rc); /* the same resource: built and destroyed again, same workers */
  int nb = children_sorted(b);
  assert_true(same_pids(a, na, b, nb));
  hn_inputs *in2 = inputs_with_model(5, rc); /* made after the fork */
  map_model(&w, p, in2, 5, rc);
  int nc = children_sorted(c);
  assert_true(disjoint_pids(b, nb, c, nc));
  hn_inputs_destroy(in1);
  hn_inputs_destroy(in2);
  hn_pipeline_release(p);
  munmap(rc, sizeof *rc);
  engine_done(&w);
}

/* Broadcast values and the types of mapped columns travel with each call: no new workers. */
static void test_pool_call_values_travel(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p = pipeline_new("values");
  HN_CHECK(hn_pipeline_add(p, "mul", "x, k", "y: int64", f_mul, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "measure", "v", "n: int64", f_measure, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 100);
  hn_array *v = iota(100);
  HN_CHECK(hn_inputs_set_column(in, "v", v, NULL), NULL);
  hn_array_release(v);
  static const char *const over[2] = {"x", "v"};
  hn_run_options o = {.size = sizeof o, .n_map_over = 2, .map_over = over};
  pid_t a[16], b[16];
  int na = 0;
  for (int64_t k = 2; k < 6; k++) {
    HN_CHECK(hn_inputs_set_int64(in, "k", k, NULL), NULL); /* a new array each time */
    if (k == 4) { /* the same name, now strings: the same plan */
      const char *words[100];
      for (int i = 0; i < 100; i++) words[i] = i % 2 ? "four" : "sixsix";
      HN_CHECK(hn_inputs_set_strings(in, "v", 100, words, NULL), NULL);
    }
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, w.e, in, &o, &r, &err), &err);
    int64_t y[100], n[100];
    result_values(r, "y", 100, y);
    result_values(r, "n", 100, n);
    for (int64_t i = 0; i < 100; i++) {
      assert_int_equal(y[i], k * i);
      assert_int_equal(n[i], k < 4 ? i : i % 2 ? 4 : 6);
    }
    hn_result_destroy(r);
    if (k == 2) na = children_sorted(a);
    int nb = children_sorted(b);
    assert_true(same_pids(a, na, b, nb));
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  engine_done(&w);
}

typedef struct thread_map {
  hn_pipeline *p;
  hn_engine *e;
  hn_inputs *in;
  int64_t sum;
} thread_map;

static void *map_on_thread(void *arg) {
  thread_map *t = arg;
  hn_run_options o = map_opts(HN_ERRORS_CONTINUE);
  hn_result *r = NULL;
  if (hn_pipeline_map(t->p, t->e, t->in, &o, &r, NULL) != HN_OK) return NULL;
  hn_table *tab = hn_result_table(r);
  hn_array *y = hn_table_column_by_name(tab, "y");
  t->sum = hn_table_num_rows(hn_result_errors(r)) == 0 ? 0 : -1;
  for (int64_t i = 0; t->sum >= 0 && i < hn_table_num_rows(tab); i++)
    t->sum += hn_array_get(y, i).v.i64;
  hn_result_destroy(r);
  return arg;
}

/*
 * A worker's death signal follows the thread that forked it: a call from
 * another thread (after that one ended) must not meet dead workers.
 */
static void test_pool_other_thread(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p = pipeline_new("threads");
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", f_triple, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 1000);
  for (int round = 0; round < 3; round++) {
    thread_map t = {p, w.e, in, 0};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, map_on_thread, &t), 0);
    void *ret = NULL;
    assert_int_equal(pthread_join(th, &ret), 0);
    assert_non_null(ret);
    assert_int_equal(t.sum, 3 * 999 * 1000 / 2);
    t.sum = 0;
    assert_non_null(map_on_thread(&t)); /* this thread, right after that one ended */
    assert_int_equal(t.sum, 3 * 999 * 1000 / 2);
    (void)pool_check(&w);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  engine_done(&w);
}

/* A forked copy of the caller that uses and destroys the engine leaves the original's workers. */
static void test_pool_forked_copy(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p = pipeline_new("copy");
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", f_triple, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 500);
  hn_result_destroy(map_ok(p, w.e, in, "y"));
  pid_t a[16], b[16];
  int na = children_sorted(a);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) { /* the copy: a map of its own, then the engine goes */
    thread_map t = {p, w.e, in, 0};
    int ok = map_on_thread(&t) && t.sum == 3 * 499 * 500 / 2;
    hn_engine_destroy(w.e);
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  int nb = children_sorted(b);
  assert_true(same_pids(a, na, b, nb)); /* untouched by the copy */
  hn_result *r = map_ok(p, w.e, in, "y");
  int64_t y[500];
  result_values(r, "y", 500, y);
  for (int64_t i = 0; i < 500; i++) assert_int_equal(y[i], 3 * i);
  hn_result_destroy(r);
  (void)pool_check(&w);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  engine_done(&w);
}

/*
 * What a worker announced for an earlier batch (or call) must not name the
 * item of a later crash: item 37 is lost in a first map (its single-item
 * batch announces it), then in a second map a node forks and returns on
 * item 10 (value 37): item 10 is reported, not 37.
 */
static void test_stale_announce(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(1, 0, 0));
  hn_pipeline *p = pipeline_new("stale");
  crash_mode *m = shared_new(sizeof *m);
  HN_CHECK(hn_pipeline_add_ex(p, "crashy", "x", "y: int64", f_crashy, NULL, m, NULL, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 100);
  hn_builder *b = NULL;
  hn_array *shifted = NULL;
  HN_CHECK(hn_builder_create(NULL, I64T, &b, NULL), NULL);
  for (int64_t i = 0; i < 100; i++) HN_CHECK(hn_builder_append_int64(b, (i + 27) % 100), NULL);
  HN_CHECK(hn_builder_finish(b, &shifted, NULL), NULL);
  hn_builder_destroy(b);
  for (int round = 0; round < 2; round++) {
    *m = round == 0 ? CRASH_SEGV : CRASH_FORK;
    if (round == 1) HN_CHECK(hn_inputs_set_column(in, "x", shifted, NULL), NULL);
    hn_run_options o = map_opts(HN_ERRORS_CONTINUE);
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, w.e, in, &o, &r, &err), &err);
    hn_table *errs = hn_result_errors(r);
    assert_int_equal(hn_table_num_rows(errs), 1);
    int64_t item = hn_array_get(hn_table_column_by_name(errs, "item"), 0).v.i64;
    assert_int_equal(item, round == 0 ? 37 : 10);
    hn_datum node = hn_array_get(hn_table_column_by_name(errs, "node"), 0);
    assert_true(node.v.str.size == 6 && memcmp(node.v.str.data, "crashy", 6) == 0);
    hn_result_destroy(r);
    (void)pool_check(&w);
  }
  hn_array_release(shifted);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  munmap(m, sizeof *m);
  engine_done(&w);
}

/*
 * A crash in a large batch: the item the worker announced last is re-run
 * alone, the items before and after it as two batches (not one by one):
 * the result holds those batches, each item ran at most twice, and item 37
 * failed once it ran alone.
 */
static _Atomic int64_t *g_runs; /* shared: runs per item */

static hn_status f_count_crash(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  atomic_fetch_add(&g_runs[in[0].v.i64], 1);
  if (in[0].v.i64 == 37) {
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
  }
  return hn_builder_append_int64(out[0], 3 * in[0].v.i64);
}

static void test_crash_in_large_batch(void **state) {
  (void)state;
  enum { N = 20000 };
  pool_watch w = watch_new(engine_new(1, N, 0)); /* one worker, one batch of every item */
  g_runs = shared_new(sizeof *g_runs * N);
  hn_pipeline *p = pipeline_new("large");
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", f_count_crash, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", N);
  hn_run_options o = map_opts(HN_ERRORS_CONTINUE);
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, w.e, in, &o, &r, &err), &err);
  int64_t *y = malloc(sizeof *y * N);
  assert_non_null(y);
  result_values(r, "y", N, y);
  for (int64_t i = 0; i < N; i++) {
    assert_int_equal(y[i], i == 37 ? INT64_MIN : 3 * i);
    assert_true(atomic_load(&g_runs[i]) == (i <= 37 ? 2 : 1));
  }
  free(y);
  assert_int_equal(hn_table_num_rows(hn_result_errors(r)), 1);
  assert_int_equal(hn_result_num_chunks(r), 3); /* [0, 37), 37, [38, N): no single-item run */
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  munmap((void *)g_runs, sizeof *g_runs * N);
  engine_done(&w);
}

/* x -> x, printing x to the stdio stream in ud (fully buffered). */
static hn_status f_print(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  fprintf((FILE *)ud, "%lld\n", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

/* What a node prints through stdio is written by the time the call returns (workers live on). */
static void test_pool_flushes_output(void **state) {
  (void)state;
  char path[] = "/tmp/hn_test_pool_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  FILE *f = fopen(path, "a"); /* opened before the workers are forked: they inherit it */
  assert_non_null(f);
  assert_int_equal(setvbuf(f, NULL, _IOFBF, 1 << 16), 0);
  pool_watch w = watch_new(engine_new(2, 0, 0));
  hn_pipeline *p = pipeline_new("print");
  HN_CHECK(hn_pipeline_add_ex(p, "print", "x", "y: int64", f_print, NULL, f, NULL, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 100);
  for (int round = 1; round <= 2; round++) {
    hn_result_destroy(map_ok(p, w.e, in, "y"));
    FILE *r = fopen(path, "r");
    assert_non_null(r);
    int64_t seen[100] = {0}, lines = 0;
    long long v;
    while (fscanf(r, "%lld", &v) == 1) {
      assert_true(v >= 0 && v < 100);
      seen[v]++;
      lines++;
    }
    fclose(r);
    assert_int_equal(lines, 100 * round);
    for (int i = 0; i < 100; i++) assert_int_equal(seen[i], round);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  engine_done(&w);
  fclose(f);
  unlink(path);
}

/* Allocations of one batch's trip with the pipeline's allocator (parent and worker), by size. */
static int64_t allocations_for(hn_engine *e, int64_t n) {
  hn_test_alloc *ta = shared_new(sizeof *ta);
  hn_test_alloc_init(ta, 0);
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(&ta->alloc, "counted", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", f_triple, &err), &err);
  hn_inputs *in = inputs_with_column("x", n);
  hn_result_destroy(map_ok(p, e, in, "y")); /* the pool forks for this pipeline */
  int64_t before = __atomic_load_n(&ta->n_allocs, __ATOMIC_SEQ_CST);
  hn_result_destroy(map_ok(p, e, in, "y"));
  int64_t used = __atomic_load_n(&ta->n_allocs, __ATOMIC_SEQ_CST) - before;
  hn_pipeline_release(p);
  assert_int_equal(__atomic_load_n(&ta->live, __ATOMIC_SEQ_CST), 0);
  hn_inputs_destroy(in);
  munmap(ta, sizeof *ta);
  return used;
}

/* Encoding, running and decoding a batch allocates per batch, not per item. */
static void test_no_allocation_per_item(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(1, 1000000, 0)); /* one worker, one batch */
  int64_t small = allocations_for(w.e, 100), large = allocations_for(w.e, 100000);
  if (large - small > 200)
    fail_msg("a batch of 100,000 items made %lld allocations, one of 100 items %lld",
             (long long)large, (long long)small);
  engine_done(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pool_outlives_calls),
      cmocka_unit_test(test_pool_replaces_dead_workers),
      cmocka_unit_test(test_pool_new_pipeline),
      cmocka_unit_test(test_pool_pipeline_changed),
      cmocka_unit_test(test_pool_new_resource),
      cmocka_unit_test(test_pool_call_values_travel),
      cmocka_unit_test(test_pool_other_thread),
      cmocka_unit_test(test_pool_forked_copy),
      cmocka_unit_test(test_stale_announce),
      cmocka_unit_test(test_pool_flushes_output),
      cmocka_unit_test(test_crash_in_large_batch),
      cmocka_unit_test(test_no_allocation_per_item),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
