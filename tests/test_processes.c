/*
 * The processes engine's own mechanics (the conformance suite covers
 * results): crash isolation (a node that segfaults, aborts, exits or hangs
 * on item 37 of 100, under both error policies), resource counts per
 * worker process, refusal of object-typed values, item order with skewed
 * costs and odd batch sizes, engine reuse, run, events replayed on the
 * calling thread; the pool that outlives a call (the same workers serve a
 * repeated map; a new pipeline, a changed one or new resources get new
 * workers; broadcast values and input types travel with each call; another
 * thread, a forked copy of the caller); no allocation per item.
 *
 * Leftovers: the workers live as long as the engine, so between calls the
 * checks are "no exited child left unreaped, at most `workers` children,
 * and exactly one more descriptor per child than before the engine forked"
 * (pool_check), and after hn_engine_destroy "no child process at all and
 * every descriptor closed".
 *
 * Node functions run in forked worker processes: they never call cmocka;
 * what they count lives in shared memory (mmap MAP_SHARED).
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_support.h"

#define I64T hn_type_int64()

/* ---- helpers --------------------------------------------------------------- */

static hn_engine *engine_new(int workers, int64_t chunk, double timeout) {
  hn_engine_options o = {.size = sizeof o};
  o.kind = HN_ENGINE_PROCESSES;
  o.workers = workers;
  o.chunk_size = chunk;
  o.item_timeout = timeout;
  hn_engine *e = NULL;
  hn_error err;
  HN_CHECK(hn_engine_create(NULL, &o, &e, &err), &err);
  return e;
}

static hn_array *iota(int64_t n) {
  hn_builder *b = NULL;
  hn_array *out = NULL;
  HN_CHECK(hn_builder_create(NULL, I64T, &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, i), NULL);
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  return out;
}

static hn_pipeline *pipeline_new(const char *name) {
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, name, &p, &err), &err);
  return p;
}

static hn_inputs *inputs_with_column(const char *name, int64_t n) {
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, NULL), NULL);
  hn_array *col = iota(n);
  HN_CHECK(hn_inputs_set_column(in, name, col, NULL), NULL);
  hn_array_release(col);
  return in;
}

static const char *const k_over_x[1] = {"x"};

static hn_run_options map_opts(hn_error_policy policy) {
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 1;
  o.map_over = k_over_x;
  o.error_policy = policy;
  return o;
}

/* Open file descriptors of this process. */
static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* No child process is left, exited or not. */
static void assert_no_children(void) {
  errno = 0;
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

/* Child processes of this process (every thread's), from /proc; their pids into pids (cap). */
static int children(pid_t *pids, int cap) {
  DIR *d = opendir("/proc/self/task");
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
    FILE *f = fopen(path, "r");
    if (!f) continue;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1) {
      if (n < cap) pids[n] = (pid_t)pid;
      n++;
    }
    fclose(f);
  }
  closedir(d);
  return n;
}

/* An engine's pool as seen from outside: descriptors before it forked anything. */
typedef struct pool_watch {
  hn_engine *e;
  int fds;
} pool_watch;

static pool_watch watch_new(hn_engine *e) {
  assert_int_equal(children(NULL, 0), 0);
  return (pool_watch){e, count_fds()};
}

/*
 * Between calls: no exited child left unreaped, at most `workers` children
 * (the pool), one socket each and nothing else leaked. Returns the children.
 */
static int pool_check(const pool_watch *w) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int rc = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
  assert_true(rc == 0 || errno == ECHILD);
  if (rc == 0 && si.si_pid != 0) fail_msg("child %d exited and was not reaped", (int)si.si_pid);
  int n = children(NULL, 0);
  assert_true(n <= hn_engine_workers(w->e));
  assert_int_equal(count_fds(), w->fds + n);
  return n;
}

static void *shared_new(size_t size) {
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(m != MAP_FAILED);
  return m;
}

/* Column `name` of the result as int64 values; nulls as INT64_MIN. */
static void result_values(const hn_result *r, const char *name, int64_t n, int64_t *out) {
  hn_table *t = hn_result_table(r);
  assert_non_null(t);
  assert_int_equal(hn_table_num_rows(t), n);
  hn_array *col = hn_table_column_by_name(t, name);
  assert_non_null(col);
  for (int64_t i = 0; i < n; i++) {
    hn_datum d = hn_array_get(col, i);
    out[i] = d.is_null ? INT64_MIN : d.v.i64;
  }
}

/* ---- node functions ----------------------------------------------------------- */

static hn_status f_triple(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], 3 * in[0].v.i64);
}

static hn_status f_add1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

typedef enum crash_mode {
  CRASH_SEGV,
  CRASH_ABORT,
  CRASH_EXIT,
  CRASH_HANG,
  CRASH_FORK,      /* fork, and both processes return from the node */
  CRASH_FORK_EXEC, /* fork; the child execs /bin/true, the node waits for it (allowed) */
  CRASH_FORK_EXIT, /* fork; the child _exits, the node waits for it (allowed) */
  CRASH_NONE       /* nothing: x -> 3x for every item */
} crash_mode;

/* A node's fork on item 37: the child execs or _exits unless mode is CRASH_FORK. */
static void fork_child(crash_mode mode) {
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0 && mode != CRASH_FORK) waitpid(pid, NULL, 0);
    return;
  }
  if (mode == CRASH_FORK_EXEC) execl("/bin/true", "true", (char *)NULL);
  if (mode != CRASH_FORK) _exit(0);
}

/* x -> 3x, except on item 37: segfault, abort, exit(3), hang or fork, by mode. */
static hn_status f_crashy(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  const crash_mode *mode = ud;
  if (in[0].v.i64 == 37) {
    switch (*mode) {
      case CRASH_SEGV:
        /* The default action, not a sanitizer's SEGV report (which exits with 1). */
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        break;
      case CRASH_ABORT:
        abort();
      case CRASH_EXIT:
        exit(3);
      case CRASH_HANG:
        for (;;) {
          struct timespec ts = {0, 10 * 1000 * 1000};
          nanosleep(&ts, NULL);
        }
      case CRASH_FORK:
      case CRASH_FORK_EXEC:
      case CRASH_FORK_EXIT:
        fork_child(*mode);
        break;
      case CRASH_NONE:
        break;
    }
  }
  return f_triple(NULL, in, out, ctx);
}

/* x -> 3x, taking 2 ms on every 7th item (skewed costs). */
static hn_status f_skewed(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  if (in[0].v.i64 % 7 == 0) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return f_triple(ud, in, out, ctx);
}

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

typedef struct res_counts {
  _Atomic int64_t inits, destroys;
} res_counts;

static hn_status res_init(void *config, void **state, hn_error *err) {
  (void)err;
  res_counts *rc = config;
  atomic_fetch_add(&rc->inits, 1);
  int64_t *s = malloc(sizeof *s);
  if (!s) return HN_ENOMEM;
  *s = 10;
  *state = s;
  return HN_OK;
}

static void res_destroy(void *config, void *state) {
  res_counts *rc = config;
  atomic_fetch_add(&rc->destroys, 1);
  free(state);
}

/* (model, x) -> x * *model */
static hn_status f_scale(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  const int64_t *factor = in[0].v.object;
  return hn_builder_append_int64(out[0], in[1].v.i64 * *factor);
}

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

/* Destroy the engine: no child process left, every descriptor closed. */
static void engine_done(pool_watch *w) {
  hn_engine_destroy(w->e);
  assert_no_children();
  assert_int_equal(count_fds(), w->fds);
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
      cmocka_unit_test(test_pool_outlives_calls),
      cmocka_unit_test(test_pool_replaces_dead_workers),
      cmocka_unit_test(test_pool_new_pipeline),
      cmocka_unit_test(test_pool_pipeline_changed),
      cmocka_unit_test(test_pool_new_resource),
      cmocka_unit_test(test_pool_call_values_travel),
      cmocka_unit_test(test_pool_other_thread),
      cmocka_unit_test(test_pool_forked_copy),
      cmocka_unit_test(test_stale_announce),
      cmocka_unit_test(test_no_allocation_per_item),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
