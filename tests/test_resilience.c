/*
 * Retries, timeouts, cancellation and io nodes, where timing matters: the
 * latency of cancelling a 1,000,000-item map, a node that ignores its
 * deadline (abandoned after the grace, its resources accounted), the call's
 * own timeout, io concurrency, backoff, and the policy spec strings. Every
 * timed case runs on the sequential, threads, columnar and processes
 * engines (the conformance suite checks the exact semantics on all of
 * them). Timed assertions use generous bounds (scaled up under valgrind)
 * and print the measured figure; docs/benchmarks.md has the exact ones.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

static const hn_engine_kind k_engines[] = {HN_ENGINE_SEQUENTIAL, HN_ENGINE_THREADS,
                                           HN_ENGINE_COLUMNAR, HN_ENGINE_PROCESSES};
enum { N_ENGINES = sizeof k_engines / sizeof k_engines[0] };

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

/* Bounds are multiplied by this under valgrind (LD_PRELOAD names its preload library) and
 * sanitizers. */
static double slow(void) {
  const char *p = getenv("LD_PRELOAD");
  return p && strstr(p, "vgpreload") ? 20.0 : SANITIZED ? 5.0 : 1.0;
}

static hn_engine *engine_of(hn_engine_kind kind) {
  hn_engine_options o = {.size = sizeof o, .kind = kind, .workers = 2};
  hn_engine *e = NULL;
  hn_error err;
  HN_CHECK(hn_engine_create(NULL, &o, &e, &err), &err);
  return e;
}

static hn_inputs *iota_inputs(int64_t n) {
  hn_error err;
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err), &err);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, i), NULL);
  hn_array *col = NULL;
  HN_CHECK(hn_builder_finish(b, &col, &err), &err);
  hn_builder_destroy(b);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "x", col, &err), &err);
  hn_array_release(col);
  return in;
}

static hn_status f_plus1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

/* ---- cancellation of a 1,000,000-item map ------------------------------------------ */

typedef struct canceller {
  hn_cancel *token;
  double delay;
  double at; /* when it was requested */
  bool by_signal;
} canceller;

static hn_cancel *g_signal_token;

static void on_sigusr1(int sig) {
  (void)sig;
  hn_cancel_request(g_signal_token); /* async-signal-safe */
}

static void *cancel_later(void *arg) {
  canceller *k = arg;
  sleep_s(k->delay);
  k->at = now_s();
  if (k->by_signal)
    kill(getpid(), SIGUSR1);
  else
    hn_cancel_request(k->token);
  return NULL;
}

/* Map 1,000,000 items, cancel after `delay`; returns the seconds from the request to return. */
static double cancel_map(hn_engine_kind kind, hn_error_policy policy, bool by_signal) {
  enum { N = 1000000 };
  hn_error err;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "cancel", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_plus1, &err), &err);
  hn_inputs *in = iota_inputs(N);
  hn_engine *e = engine_of(kind);
  canceller k = {NULL, 0.02, 0, by_signal};
  HN_CHECK(hn_cancel_create(&k.token, &err), &err);
  g_signal_token = k.token;
  /* Slow the items down enough that the map is still running when the request comes. */
  hn_run_options o = {.size = sizeof o, .map_over_spec = "x", .error_policy = policy};
  o.cancel = k.token;
  hn_node_spec slow_spec[1] = {{.name = "dawdle",
                                .inputs = "y",
                                .outputs = "z: int64",
                                .row = f_plus1,
                                .policy = "attempts=1, concurrency=1000"}};
  HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(slow_spec), &err), &err);
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, cancel_later, &k), 0);
  hn_result *r = NULL;
  hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
  double done = now_s();
  pthread_join(t, NULL);
  assert_int_equal(st, HN_ECANCELLED);
  assert_int_equal(err.code, HN_ECANCELLED);
  assert_non_null(strstr(err.message, "cancelled"));
  if (policy == HN_ERRORS_RAISE) {
    assert_null(r);
  } else { /* the items that finished are kept, the others are null */
    assert_non_null(r);
    hn_table *t2 = hn_result_table(r);
    assert_int_equal(hn_table_num_rows(t2), N);
    hn_array *z = hn_table_column_by_name(t2, "z");
    int64_t kept = 0;
    for (int64_t i = 0; i < N; i++) {
      hn_datum d = hn_array_get(z, i);
      if (d.is_null) continue;
      assert_int_equal(d.v.i64, i + 2);
      kept++;
    }
    assert_true(kept < N);
  }
  hn_result_destroy(r);
  hn_cancel_destroy(k.token);
  hn_engine_destroy(e);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  return done - k.at;
}

static void test_cancel_latency(void **state) {
  (void)state;
  for (int i = 0; i < N_ENGINES; i++) {
    double raise = cancel_map(k_engines[i], HN_ERRORS_RAISE, false);
    double cont = cancel_map(k_engines[i], HN_ERRORS_CONTINUE, false);
    printf(
        "cancel of a 1,000,000-item map on %s: returned %.1f ms (raise), %.1f ms (continue) "
        "after the request\n",
        hn_engine_kind_name(k_engines[i]), raise * 1e3, cont * 1e3);
    assert_true(raise < 2.0 * slow());
    assert_true(cont < 2.0 * slow());
  }
}

static void test_cancel_from_signal(void **state) {
  (void)state;
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigusr1;
  sigemptyset(&sa.sa_mask);
  assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
  double t = cancel_map(HN_ENGINE_THREADS, HN_ERRORS_RAISE, true);
  printf("cancel from a signal handler (threads): returned %.1f ms after the signal\n", t * 1e3);
  assert_true(t < 2.0 * slow());
  sigaction(SIGUSR1, &old, NULL);
}

/* ---- a node that ignores its deadline -------------------------------------------------- */

static _Atomic int g_stuck_done, g_release;

/* Item 1 waits until the test releases it (at most 10 s), never looking at hn_ctx_cancelled. */
static hn_status f_stuck(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].v.i64 == 1) {
    for (int k = 0; k < 10000 && !atomic_load(&g_release); k++) sleep_s(0.001);
    atomic_fetch_add(&g_stuck_done, 1);
  }
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

static int64_t live(hn_test_alloc *ta) {
  return __atomic_load_n(&ta->live, __ATOMIC_SEQ_CST);
}

static void test_ignored_deadline_abandoned(void **state) {
  (void)state;
  /* Processes first: nothing forks while an abandoned thread of ours may still be exiting. */
  static const hn_engine_kind order[N_ENGINES] = {HN_ENGINE_PROCESSES, HN_ENGINE_SEQUENTIAL,
                                                  HN_ENGINE_THREADS, HN_ENGINE_COLUMNAR};
  for (int i = 0; i < N_ENGINES; i++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_error err;
    hn_pipeline *p = NULL;
    HN_CHECK(hn_pipeline_create(&ta.alloc, "stuck", &p, &err), &err);
    hn_node_spec spec[1] = {{.name = "stuck",
                             .inputs = "x",
                             .outputs = "y: int64",
                             .row = f_stuck,
                             .policy = "timeout=0.05"}};
    HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(spec), &err), &err);
    hn_inputs *in = iota_inputs(3);
    hn_engine *e = engine_of(order[i]);
    hn_run_options o = {.size = sizeof o, .map_over_spec = "x", .error_policy = HN_ERRORS_CONTINUE};
    atomic_store(&g_stuck_done, 0);
    atomic_store(&g_release, 0);
    double t0 = now_s();
    hn_result *r = NULL;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    double took = now_s() - t0;
    printf("%s: a node ignoring its 0.05 s timeout: the map returned after %.1f ms\n",
           hn_engine_kind_name(order[i]), took * 1e3);
    /* The stuck call is still running (it cannot return before it is released). */
    assert_true(took >= 0.05 && took < 1.0 * slow());
    hn_table *errs = hn_result_errors(r);
    assert_int_equal(hn_table_num_rows(errs), 1);
    hn_datum m = hn_array_get(hn_table_column_by_name(errs, "message"), 0);
    assert_int_equal(m.v.str.size, (int64_t)strlen("timed out after 0.05 s"));
    assert_memory_equal(m.v.str.data, "timed out after 0.05 s", (size_t)m.v.str.size);
    bool local = order[i] != HN_ENGINE_PROCESSES;
    if (local) { /* in a worker process the abandoned thread ends with the process */
      assert_int_equal(hn_test_stats(r).calls_abandoned, 1);
      assert_int_equal(hn_abandoned_calls(), 1);
    }
    hn_result_destroy(r);
    hn_engine_destroy(e);
    hn_inputs_destroy(in);
    hn_pipeline_release(p); /* the abandoned call still holds it */
    if (local) assert_true(live(&ta) > 0);
    if (local) assert_int_equal(atomic_load(&g_stuck_done), 0);
    atomic_store(&g_release, 1);
    for (int k = 0; k < 1000 && (hn_abandoned_calls() > 0 || live(&ta) > 0); k++) sleep_s(0.005);
    assert_int_equal(hn_abandoned_calls(), 0);
    assert_int_equal(live(&ta), 0); /* everything it held was freed when it returned */
    if (local) assert_int_equal(atomic_load(&g_stuck_done), 1);
  }
}

/* ---- a cooperative node: timeout accuracy ---------------------------------------------------- */

static hn_status f_wait_deadline(void *ud, const hn_datum *in, hn_builder *const *out,
                                 hn_ctx *ctx) {
  (void)ud;
  while (!hn_ctx_cancelled(ctx)) sleep_s(0.0005);
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

static void test_timeout_accuracy(void **state) {
  (void)state;
  for (int i = 0; i < N_ENGINES; i++) {
    hn_error err;
    hn_pipeline *p = NULL;
    HN_CHECK(hn_pipeline_create(NULL, "deadline", &p, &err), &err);
    hn_node_spec spec[1] = {{.name = "wait",
                             .inputs = "x",
                             .outputs = "y: int64",
                             .row = f_wait_deadline,
                             .policy = "timeout=0.1"}};
    HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(spec), &err), &err);
    hn_inputs *in = iota_inputs(1);
    hn_engine *e = engine_of(k_engines[i]);
    hn_run_options o = {.size = sizeof o, .map_over_spec = "x"};
    double t0 = now_s();
    hn_result *r = NULL;
    hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
    double took = now_s() - t0;
    printf("%s: timeout=0.1 s reported after %.1f ms\n", hn_engine_kind_name(k_engines[i]),
           took * 1e3);
    assert_int_equal(st, HN_ETIMEDOUT);
    assert_string_equal(err.node, "wait");
    assert_string_equal(err.item_path, "0");
    assert_non_null(strstr(err.message, "timed out after 0.1 s"));
    assert_true(took >= 0.1);
    assert_true(took < (0.1 + HN_TIMEOUT_GRACE + 0.5) * slow());
    hn_engine_destroy(e);
    hn_inputs_destroy(in);
    hn_pipeline_release(p);
  }
}

/* ---- the call's own timeout -------------------------------------------------------------------
 */

static hn_status f_sleep1ms(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  sleep_s(0.001);
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

static void test_call_timeout(void **state) {
  (void)state;
  for (int i = 0; i < N_ENGINES; i++) {
    hn_error err;
    hn_pipeline *p = NULL;
    HN_CHECK(hn_pipeline_create(NULL, "slow", &p, &err), &err);
    HN_CHECK(hn_pipeline_add(p, "nap", "x", "y: int64", f_sleep1ms, &err), &err);
    hn_inputs *in = iota_inputs(2000);
    hn_engine *e = engine_of(k_engines[i]);
    hn_run_options o = {.size = sizeof o, .map_over_spec = "x", .timeout = 0.05};
    double t0 = now_s();
    hn_result *r = NULL;
    hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
    double took = now_s() - t0;
    printf("%s: a 0.05 s call timeout returned after %.1f ms\n", hn_engine_kind_name(k_engines[i]),
           took * 1e3);
    assert_int_equal(st, HN_ETIMEDOUT);
    assert_null(r);
    assert_non_null(strstr(err.message, "timed out after 0.05 s"));
    assert_true(took < 1.0 * slow());
    hn_engine_destroy(e);
    hn_inputs_destroy(in);
    hn_pipeline_release(p);
  }
}

/* ---- io concurrency ----------------------------------------------------------------------------
 */

static hn_status f_sleep20ms(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  sleep_s(0.02);
  return hn_builder_append_int64(out[0], in[0].v.i64 * 2);
}

static void test_io_concurrency(void **state) {
  (void)state;
  enum { N = 256 };
  for (int i = 0; i < N_ENGINES; i++) {
    hn_error err;
    hn_pipeline *p = NULL;
    HN_CHECK(hn_pipeline_create(NULL, "io", &p, &err), &err);
    hn_node_spec spec[1] = {{.name = "fetch",
                             .inputs = "x",
                             .outputs = "y: int64",
                             .row = f_sleep20ms,
                             .policy = "io, concurrency=64"}};
    HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(spec), &err), &err);
    hn_inputs *in = iota_inputs(N);
    hn_engine *e = engine_of(k_engines[i]);
    hn_run_options o = {.size = sizeof o, .map_over_spec = "x"};
    double t0 = now_s();
    hn_result *r = NULL;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    double took = now_s() - t0;
    printf("%s: %d items of 20 ms, io concurrency 64: %.1f ms (ideal %.1f ms, serial %.0f ms)\n",
           hn_engine_kind_name(k_engines[i]), N, took * 1e3, N * 20.0 / 64, N * 20.0);
    assert_true(took < 2.0 * slow()); /* serial would be 5.1 s */
    hn_array *y = hn_table_column_by_name(hn_result_table(r), "y");
    for (int64_t k = 0; k < N; k++) assert_int_equal(hn_array_get(y, k).v.i64, 2 * k);
    hn_result_destroy(r);
    hn_engine_destroy(e);
    hn_inputs_destroy(in);
    hn_pipeline_release(p);
  }
}

/* ---- backoff and cancelling a retrying call
 * ------------------------------------------------------ */

static hn_status f_always_fails(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)in;
  (void)out;
  return hn_ctx_fail(ctx, "down (attempt %d)", hn_ctx_attempt(ctx));
}

/* attempts=3, backoff 0.02 s, factor 2: at least 0.02 + 0.04 s; a long backoff is cut by cancel. */
static void test_backoff(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "backoff", &p, &err), &err);
  hn_node_spec spec[1] = {{.name = "down",
                           .inputs = "x",
                           .outputs = "y: int64",
                           .row = f_always_fails,
                           .policy = "attempts=3, backoff=0.02, factor=2"}};
  HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(spec), &err), &err);
  hn_inputs *in = iota_inputs(1);
  hn_run_options o = {.size = sizeof o, .map_over_spec = "x", .error_policy = HN_ERRORS_CONTINUE};
  double t0 = now_s();
  hn_result *r = NULL;
  HN_CHECK(hn_pipeline_map(p, NULL, in, &o, &r, &err), &err);
  double took = now_s() - t0;
  assert_true(took >= 0.06);
  hn_table *e = hn_result_errors(r);
  assert_int_equal(hn_array_get(hn_table_column_by_name(e, "attempts"), 0).v.i64, 3);
  hn_datum all = hn_array_get(hn_table_column_by_name(e, "messages"), 0);
  const char *want = "down (attempt 3)\ndown (attempt 2)\ndown (attempt 1)";
  assert_int_equal(all.v.str.size, (int64_t)strlen(want));
  assert_memory_equal(all.v.str.data, want, strlen(want));
  hn_result_destroy(r);
  hn_pipeline_release(p);

  /* A retry waiting 10 s is cancelled at once. */
  HN_CHECK(hn_pipeline_create(NULL, "long_backoff", &p, &err), &err);
  spec[0].policy = "attempts=5, backoff=10";
  HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(spec), &err), &err);
  canceller k = {NULL, 0.05, 0, false};
  HN_CHECK(hn_cancel_create(&k.token, &err), &err);
  o.cancel = k.token;
  pthread_t t;
  assert_int_equal(pthread_create(&t, NULL, cancel_later, &k), 0);
  r = NULL;
  hn_status st = hn_pipeline_map(p, NULL, in, &o, &r, &err);
  double done = now_s();
  pthread_join(t, NULL);
  assert_int_equal(st, HN_ECANCELLED);
  assert_true(done - k.at < 1.0 * slow());
  hn_result_destroy(r);
  hn_cancel_destroy(k.token);
  hn_pipeline_release(p);
  hn_inputs_destroy(in);
}

/* ---- policies as strings and definitions
 * ---------------------------------------------------------- */

static void test_policy_parse(void **state) {
  (void)state;
  hn_node_policy pol;
  hn_error err;
  HN_CHECK(hn_node_policy_parse(" attempts=4, backoff=0.5 ,factor=3, max_backoff=2, jitter=0.25, "
                                "retry_on=EIO|HN_ETIMEDOUT, timeout=1.5, io=16",
                                &pol, &err),
           &err);
  assert_int_equal(pol.attempts, 4);
  assert_true(pol.backoff == 0.5 && pol.backoff_factor == 3 && pol.backoff_max == 2);
  assert_true(pol.jitter == 0.25 && pol.timeout == 1.5);
  assert_int_equal(pol.retry_on, HN_RETRY_ON(HN_EIO) | HN_RETRY_ON(HN_ETIMEDOUT));
  assert_true(pol.io);
  assert_int_equal(pol.concurrency, 16);
  HN_CHECK(hn_node_policy_parse(NULL, &pol, &err), &err);
  assert_int_equal(pol.attempts, 0);
  assert_false(pol.io);
  static const char *const bad[] = {"attempts",  "attempts=-1", "jitter=2", "retry_on=EWHAT",
                                    "timeout=x", "speed=3",     "io=1.5",   "concurrency=-2"};
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    pol.attempts = 77;
    assert_int_equal(hn_node_policy_parse(bad[k], &pol, &err), HN_EINVAL);
    assert_int_equal(pol.attempts, 77); /* unchanged */
  }
  assert_int_equal(hn_node_policy_parse("attempts=2, speed=3", &pol, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "offset 12"));
  assert_int_equal(hn_node_policy_parse("x", NULL, &err), HN_EINVAL);

  /* In a node table, a bad policy names the node; a definition is checked too. */
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "policies", &p, &err), &err);
  hn_node_spec spec[1] = {
      {.name = "n", .inputs = "x", .outputs = "y: int64", .row = f_plus1, .policy = "tries=2"}};
  assert_int_equal(hn_pipeline_add_nodes(p, HN_NODE_SPECS(spec), &err), HN_EINVAL);
  assert_string_equal(err.node, "n");
  assert_non_null(strstr(err.message, "policy"));
  const hn_type *t = hn_type_int64();
  const char *x = "x", *y = "y";
  hn_node_def def = {.size = sizeof def,
                     .name = "d",
                     .n_inputs = 1,
                     .inputs = &x,
                     .n_outputs = 1,
                     .outputs = &y,
                     .output_types = &t,
                     .row = f_plus1};
  def.policy.jitter = 3;
  assert_int_equal(hn_pipeline_add_node(p, &def, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "jitter"));
  /* A definition of the size before `policy` has none, whatever follows it. */
  def.size = offsetof(hn_node_def, policy);
  HN_CHECK(hn_pipeline_add_node(p, &def, &err), &err);
  assert_int_equal(hn_pipeline_num_nodes(p), 1);
  hn_pipeline_release(p);
}

static void test_cancel_token(void **state) {
  (void)state;
  hn_cancel *k = NULL;
  hn_error err;
  assert_int_equal(hn_cancel_create(NULL, &err), HN_EINVAL);
  HN_CHECK(hn_cancel_create(&k, &err), &err);
  assert_false(hn_cancel_requested(k));
  hn_cancel_request(k);
  assert_true(hn_cancel_requested(k));
  hn_cancel_reset(k);
  assert_false(hn_cancel_requested(k));
  hn_cancel_destroy(k);
  assert_string_equal(hn_status_str(HN_ECANCELLED), "HN_ECANCELLED: cancelled");
  assert_string_equal(hn_status_str(HN_ETIMEDOUT), "HN_ETIMEDOUT: timed out");
  hn_engine_options o = {.size = sizeof o, .io_workers = -1};
  hn_engine *e = NULL;
  assert_int_equal(hn_engine_create(NULL, &o, &e, &err), HN_EINVAL);
  hn_run_options ro = {.size = sizeof ro, .timeout = -1};
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "t", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "n", "x", "y: int64", f_plus1, &err), &err);
  hn_inputs *in = iota_inputs(1);
  hn_result *r = NULL;
  assert_int_equal(hn_pipeline_run(p, NULL, in, &ro, &r, &err), HN_EINVAL);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_policy_parse),
      cmocka_unit_test(test_cancel_token),
      cmocka_unit_test(test_backoff),
      cmocka_unit_test(test_timeout_accuracy),
      cmocka_unit_test(test_call_timeout),
      cmocka_unit_test(test_io_concurrency),
      cmocka_unit_test(test_cancel_latency),
      cmocka_unit_test(test_cancel_from_signal),
      cmocka_unit_test(test_ignored_deadline_abandoned),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
