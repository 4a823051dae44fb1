/*
 * The processes engine's own mechanics (the conformance suite covers
 * results): crash isolation (a node that segfaults, aborts, exits or hangs
 * on item 37 of 100, under both error policies), resource counts per
 * worker process, refusal of object-typed values, item order with skewed
 * costs and odd batch sizes, engine reuse, run, events replayed on the
 * calling thread. The pool that outlives a call: test_process_pool.c.
 *
 * Leftovers: the workers live as long as the engine, so between calls the
 * checks are "no exited child left unreaped, at most `workers` children,
 * and exactly one more descriptor per child than before the engine forked"
 * (pool_check), and after hn_engine_destroy "no child process at all and
 * every descriptor closed" (engine_done).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <pthread.h>

#include "processes_support.h"

/* ---- crash isolation --------------------------------------------------------------- */

/*
 * Map 100 items on the engine `watch` follows (NULL: a fresh 3-worker
 * engine, destroyed after) with a node misbehaving on 37.
 */
static void crash_run_on(const pool_watch *watch, crash_mode mode, const char *fragment,
                         hn_error_policy policy) {
  int fds = count_fds();
  hn_engine *e = watch ? watch->e : engine_new(3, 0, mode == CRASH_HANG ? 1.0 : 0);
  hn_pipeline *p = pipeline_new("crash");
  crash_mode *m = shared_new(sizeof *m);
  *m = mode;
  HN_CHECK(hn_pipeline_add_ex(p, "crashy", "x", "y: int64", f_crashy, NULL, m, NULL, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "inc", "y", "z: int64", f_add1, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 100);
  hn_run_options o = map_opts(policy);
  hn_result *r = NULL;
  hn_error err;
  hn_error_reset(&err);
  hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
  if (policy == HN_ERRORS_CONTINUE) {
    if (st != HN_OK) fail_msg("map failed: %s: %s", hn_status_str(st), err.message);
    int64_t y[100], z[100];
    result_values(r, "y", 100, y);
    result_values(r, "z", 100, z);
    for (int64_t i = 0; i < 100; i++) {
      assert_int_equal(y[i], i == 37 ? INT64_MIN : 3 * i);
      assert_int_equal(z[i], i == 37 ? INT64_MIN : 3 * i + 1);
    }
    hn_table *errs = hn_result_errors(r);
    assert_int_equal(hn_table_num_rows(errs), 1);
    assert_int_equal(hn_array_get(hn_table_column_by_name(errs, "item"), 0).v.i64, 37);
    hn_datum path = hn_array_get(hn_table_column_by_name(errs, "item_path"), 0);
    hn_datum node = hn_array_get(hn_table_column_by_name(errs, "node"), 0);
    hn_datum msg = hn_array_get(hn_table_column_by_name(errs, "message"), 0);
    char buf[HN_ERROR_MESSAGE_MAX];
    snprintf(buf, sizeof buf, "%.*s", (int)msg.v.str.size, msg.v.str.data);
    if (!strstr(buf, fragment)) fail_msg("message \"%s\" lacks \"%s\"", buf, fragment);
    assert_true(path.v.str.size == 2 && memcmp(path.v.str.data, "37", 2) == 0);
    assert_true(node.v.str.size == 6 && memcmp(node.v.str.data, "crashy", 6) == 0);
    hn_result_stats s = hn_test_stats(r);
    assert_int_equal(s.n_items, 100);
    assert_int_equal(s.n_failed, 1);
  } else {
    assert_int_equal(st, HN_ENODE);
    assert_null(r);
    assert_string_equal(err.node, "crashy");
    assert_string_equal(err.item_path, "37");
    if (!strstr(err.message, fragment) || !strstr(err.message, "node 'crashy' failed on item 37"))
      fail_msg("message \"%s\" lacks \"%s\"", err.message, fragment);
  }
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  munmap(m, sizeof *m);
  if (watch) {
    (void)pool_check(watch); /* the dead worker was reaped, and replaced or not */
    return;
  }
  hn_engine_destroy(e);
  assert_no_children();
  assert_int_equal(count_fds(), fds);
}

static void crash_run(crash_mode mode, const char *fragment, hn_error_policy policy) {
  crash_run_on(NULL, mode, fragment, policy);
}

static void test_segfault_continue(void **state) {
  (void)state;
  crash_run(CRASH_SEGV, "worker process killed by SIGSEGV (segmentation fault)",
            HN_ERRORS_CONTINUE);
}
static void test_segfault_raise(void **state) {
  (void)state;
  crash_run(CRASH_SEGV, "worker process killed by SIGSEGV (segmentation fault)", HN_ERRORS_RAISE);
}
static void test_abort_continue(void **state) {
  (void)state;
  crash_run(CRASH_ABORT, "worker process killed by SIGABRT (aborted)", HN_ERRORS_CONTINUE);
}
static void test_abort_raise(void **state) {
  (void)state;
  crash_run(CRASH_ABORT, "worker process killed by SIGABRT (aborted)", HN_ERRORS_RAISE);
}
static void test_exit_continue(void **state) {
  (void)state;
  crash_run(CRASH_EXIT, "worker process exited with status 3", HN_ERRORS_CONTINUE);
}
static void test_exit_raise(void **state) {
  (void)state;
  crash_run(CRASH_EXIT, "worker process exited with status 3", HN_ERRORS_RAISE);
}
static void test_hang_continue(void **state) {
  (void)state;
  crash_run(CRASH_HANG, "timed out after 1 s", HN_ERRORS_CONTINUE);
}
static void test_hang_raise(void **state) {
  (void)state;
  crash_run(CRASH_HANG, "timed out after 1 s", HN_ERRORS_RAISE);
}

/* A node that forks and lets both processes return: that item fails, named; the worker is
 * replaced and the map goes on (it used to fail whole with "unexpected message"). */
static void test_fork_both_return_continue(void **state) {
  (void)state;
  crash_run(CRASH_FORK, "forked a child process that returned from the node into the engine",
            HN_ERRORS_CONTINUE);
}
static void test_fork_both_return_raise(void **state) {
  (void)state;
  crash_run(CRASH_FORK, "the worker process was replaced", HN_ERRORS_RAISE);
}

/* A node may fork to exec a program or to _exit in the child: nothing fails. */
static void fork_allowed(crash_mode mode) {
  int fds = count_fds();
  hn_engine *e = engine_new(2, 0, 0);
  hn_pipeline *p = pipeline_new("fork_ok");
  crash_mode *m = shared_new(sizeof *m);
  *m = mode;
  HN_CHECK(hn_pipeline_add_ex(p, "crashy", "x", "y: int64", f_crashy, NULL, m, NULL, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 100);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
  int64_t y[100];
  result_values(r, "y", 100, y);
  for (int64_t i = 0; i < 100; i++) assert_int_equal(y[i], 3 * i);
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  munmap(m, sizeof *m);
  hn_engine_destroy(e);
  assert_no_children();
  assert_int_equal(count_fds(), fds);
}
static void test_fork_exec_allowed(void **state) {
  (void)state;
  fork_allowed(CRASH_FORK_EXEC);
}
static void test_fork_exit_allowed(void **state) {
  (void)state;
  fork_allowed(CRASH_FORK_EXIT);
}

/* ---- resources ----------------------------------------------------------------- */

static void test_resources_per_process(void **state) {
  (void)state;
  int fds = count_fds();
  hn_engine *e = engine_new(3, 0, 0);
  pool_watch watch = watch_new(e);
  hn_pipeline *p = pipeline_new("res");
  HN_CHECK(hn_pipeline_add(p, "scale", "model, x", "y: int64", f_scale, NULL), NULL);
  res_counts *rc = shared_new(sizeof *rc);
  hn_inputs *in = inputs_with_column("x", 200);
  hn_resource_def d = {.size = sizeof d};
  d.name = "model";
  d.init = res_init;
  d.destroy = res_destroy;
  d.config = rc;
  hn_error err;
  HN_CHECK(hn_inputs_set_resource(in, "model", &d, &err), &err);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  for (int round = 0; round < 2; round++) {
    hn_result *r = NULL;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    int64_t y[200];
    result_values(r, "y", 200, y);
    for (int64_t i = 0; i < 200; i++) assert_int_equal(y[i], 10 * i);
    hn_result_stats s = hn_test_stats(r);
    assert_true(s.workers >= 1 && s.workers <= 3);
    assert_int_equal(s.resource_inits, s.workers);
    assert_int_equal(s.resource_destroys, s.resource_inits);
    assert_int_equal(atomic_load(&rc->inits), s.resource_inits);
    assert_int_equal(atomic_load(&rc->destroys), s.resource_inits);
    atomic_store(&rc->inits, 0);
    atomic_store(&rc->destroys, 0);
    hn_result_destroy(r);
    (void)pool_check(&watch);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  munmap(rc, sizeof *rc);
  hn_engine_destroy(e);
  assert_no_children();
  assert_int_equal(count_fds(), fds);
}

/* ---- refusals -------------------------------------------------------------------- */

static void obj_free(void *ctx, void *object) {
  (void)ctx;
  free(object);
}

static hn_status f_len(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].is_null ? 0 : 1);
}

static void test_object_input_refused(void **state) {
  (void)state;
  hn_object_vtable vt = {.free = obj_free};
  const hn_type *ot = NULL;
  hn_error err;
  HN_CHECK(hn_type_object_create(NULL, "blob", &vt, &ot, &err), &err);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, ot, &b, &err), &err);
  for (int i = 0; i < 3; i++) {
    int *v = malloc(sizeof *v);
    assert_non_null(v);
    HN_CHECK(hn_builder_append_object(b, v), NULL);
  }
  hn_array *col = NULL;
  HN_CHECK(hn_builder_finish(b, &col, &err), &err);
  hn_builder_destroy(b);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "blobs", col, &err), &err);
  hn_array_release(col);
  hn_pipeline *p = pipeline_new("objects");
  HN_CHECK(hn_pipeline_add(p, "len", "blobs", "n: int64", f_len, &err), &err);
  hn_engine *e = engine_new(2, 0, 0);
  static const char *const over[1] = {"blobs"};
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 1;
  o.map_over = over;
  hn_result *r = NULL;
  hn_error_reset(&err);
  assert_int_equal(hn_pipeline_map(p, e, in, &o, &r, &err), HN_ETYPE);
  assert_null(r);
  if (!strstr(err.message, "input 'blobs'") || !strstr(err.message, "processes"))
    fail_msg("unexpected message: %s", err.message);
  assert_no_children();
  hn_engine_destroy(e);
  hn_pipeline_release(p);
  hn_inputs_destroy(in);
  hn_type_release(ot);
}

/* ---- batching and order ------------------------------------------------------------ */

static void map_triple(const pool_watch *w, int64_t n, hn_row_fn fn) {
  hn_engine *e = w->e;
  hn_pipeline *p = pipeline_new("order");
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", fn, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", n);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
  int64_t *y = malloc(sizeof *y * (size_t)(n ? n : 1));
  assert_non_null(y);
  result_values(r, "y", n, y);
  for (int64_t i = 0; i < n; i++) assert_int_equal(y[i], 3 * i);
  free(y);
  hn_result_stats s = hn_test_stats(r);
  assert_int_equal(s.n_items, n);
  assert_true(s.workers >= 1 && s.workers <= hn_engine_workers(e));
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  (void)pool_check(w);
}

static void test_order_skewed(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(4, 3, 0));
  map_triple(&w, 200, f_skewed);
  engine_done(&w);
}

static void test_chunk_sizes(void **state) {
  (void)state;
  pool_watch one = watch_new(engine_new(3, 1, 0));
  map_triple(&one, 50, f_triple);
  engine_done(&one);
  pool_watch large = watch_new(engine_new(3, 1000000, 0));
  map_triple(&large, 5000, f_triple);
  engine_done(&large);
  pool_watch automatic = watch_new(engine_new(2, 0, 0));
  map_triple(&automatic, 100000, f_triple);
  map_triple(&automatic, 100000, f_triple); /* sized from the first call's measured cost */
  engine_done(&automatic);
}

static void test_workers_exceed_items(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(8, 0, 0));
  map_triple(&w, 3, f_triple);
  map_triple(&w, 1, f_triple);
  engine_done(&w);
}

static void test_engine_reuse(void **state) {
  (void)state;
  pool_watch w = watch_new(engine_new(2, 0, 0));
  for (int k = 0; k < 4; k++) map_triple(&w, 30 + k, f_triple);
  /* A crash in between leaves the engine usable. */
  crash_run_on(&w, CRASH_EXIT, "exited with status 3", HN_ERRORS_CONTINUE);
  crash_run_on(&w, CRASH_SEGV, "SIGSEGV", HN_ERRORS_RAISE);
  map_triple(&w, 10, f_triple);
  engine_done(&w);
}

static void test_run(void **state) {
  (void)state;
  int fds = count_fds();
  hn_engine *e = engine_new(2, 0, 0);
  hn_pipeline *p = pipeline_new("run");
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", f_triple, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "inc", "y", "z: int64", f_add1, NULL), NULL);
  hn_inputs *in = NULL;
  hn_error err;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_int64(in, "x", 5, &err), &err);
  hn_result *r = NULL;
  HN_CHECK(hn_pipeline_run(p, e, in, NULL, &r, &err), &err);
  int64_t z;
  result_values(r, "z", 1, &z);
  assert_int_equal(z, 16);
  assert_int_equal(hn_test_stats(r).workers, 1);
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_engine_destroy(e);
  assert_no_children();
  assert_int_equal(count_fds(), fds);
}

/* With SIGCHLD ignored the system reaps the workers: the call must still end. */
static void test_sigchld_ignored(void **state) {
  (void)state;
  struct sigaction ign, old;
  memset(&ign, 0, sizeof ign);
  ign.sa_handler = SIG_IGN;
  sigemptyset(&ign.sa_mask);
  assert_int_equal(sigaction(SIGCHLD, &ign, &old), 0);
  pool_watch w = watch_new(engine_new(2, 0, 0));
  map_triple(&w, 40, f_triple);
  map_triple(&w, 40, f_triple);
  engine_done(&w);
  assert_int_equal(sigaction(SIGCHLD, &old, NULL), 0);
}

/* ---- events ---------------------------------------------------------------------- */

typedef struct ev_counts {
  pthread_t caller;
  int64_t item_start, item_end, node_start, node_end, off_thread;
  int64_t seen[64];
  int max_worker;
} ev_counts;

static void ev_common(ev_counts *c, const hn_event *ev) {
  if (!pthread_equal(pthread_self(), c->caller)) c->off_thread++;
  if (ev->worker > c->max_worker) c->max_worker = ev->worker;
}
static void on_item_start(void *ud, const hn_event *ev) {
  ev_counts *c = ud;
  ev_common(c, ev);
  c->item_start++;
  if (ev->item >= 0 && ev->item < 64) c->seen[ev->item]++;
}
static void on_item_end(void *ud, const hn_event *ev) {
  ev_counts *c = ud;
  ev_common(c, ev);
  c->item_end++;
}
static void on_node_start(void *ud, const hn_event *ev) {
  ev_counts *c = ud;
  ev_common(c, ev);
  if (ev->node && strcmp(ev->node, "work") == 0 && ev->n_rows == 1) c->node_start++;
}
static void on_node_end(void *ud, const hn_event *ev) {
  ev_counts *c = ud;
  ev_common(c, ev);
  if (ev->status == HN_OK && ev->item_path) c->node_end++;
}

static void test_events_on_calling_thread(void **state) {
  (void)state;
  hn_engine *e = engine_new(3, 4, 0);
  hn_pipeline *p = pipeline_new("events");
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", f_triple, NULL), NULL);
  hn_inputs *in = inputs_with_column("x", 64);
  ev_counts c;
  memset(&c, 0, sizeof c);
  c.caller = pthread_self();
  hn_callbacks cb = {.size = sizeof cb};
  cb.user_data = &c;
  cb.on_item_start = on_item_start;
  cb.on_item_end = on_item_end;
  cb.on_node_start = on_node_start;
  cb.on_node_end = on_node_end;
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  o.callbacks = &cb;
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
  assert_int_equal(c.off_thread, 0);
  assert_int_equal(c.item_start, 64);
  assert_int_equal(c.item_end, 64);
  assert_int_equal(c.node_start, 64);
  assert_int_equal(c.node_end, 64);
  for (int i = 0; i < 64; i++) assert_int_equal(c.seen[i], 1);
  assert_true(c.max_worker >= 0 && c.max_worker < 3);
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_engine_destroy(e);
  assert_no_children();
}

/* The pipeline allocator sees every parent-side allocation given back. */
static void test_no_leak_through_allocator(void **state) {
  (void)state;
  hn_test_alloc *ta = shared_new(sizeof *ta);
  hn_test_alloc_init(ta, 0);
  hn_engine *e = engine_new(2, 5, 0);
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(&ta->alloc, "counted", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "work", "x", "y: int64", f_triple, &err), &err);
  hn_inputs *in = inputs_with_column("x", 77);
  hn_run_options o = map_opts(HN_ERRORS_RAISE);
  hn_result *r = NULL;
  HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
  hn_result_destroy(r);
  hn_pipeline_release(p);
  assert_int_equal(ta->live, 0);
  hn_inputs_destroy(in);
  hn_engine_destroy(e);
  munmap(ta, sizeof *ta);
  assert_no_children();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_segfault_continue),
      cmocka_unit_test(test_segfault_raise),
      cmocka_unit_test(test_abort_continue),
      cmocka_unit_test(test_abort_raise),
      cmocka_unit_test(test_exit_continue),
      cmocka_unit_test(test_exit_raise),
      cmocka_unit_test(test_hang_continue),
      cmocka_unit_test(test_hang_raise),
      cmocka_unit_test(test_fork_both_return_continue),
      cmocka_unit_test(test_fork_both_return_raise),
      cmocka_unit_test(test_fork_exec_allowed),
      cmocka_unit_test(test_fork_exit_allowed),
      cmocka_unit_test(test_resources_per_process),
      cmocka_unit_test(test_object_input_refused),
      cmocka_unit_test(test_order_skewed),
      cmocka_unit_test(test_chunk_sizes),
      cmocka_unit_test(test_workers_exceed_items),
      cmocka_unit_test(test_engine_reuse),
      cmocka_unit_test(test_run),
      cmocka_unit_test(test_sigchld_ignored),
      cmocka_unit_test(test_events_on_calling_thread),
      cmocka_unit_test(test_no_leak_through_allocator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
