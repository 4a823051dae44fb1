/*
 * Helpers shared by the processes engine's tests (test_processes.c: crash
 * isolation, resources, batching, events; test_process_pool.c: the pool that
 * outlives a call): engines, inputs, results, the node functions, and the
 * leftover checks (children and descriptors, between calls and after
 * hn_engine_destroy). Node functions run in forked worker processes: they
 * never call cmocka; what they count lives in shared memory (shared_new).
 */
#ifndef HN_TESTS_PROCESSES_SUPPORT_H
#define HN_TESTS_PROCESSES_SUPPORT_H

#include <dirent.h>
#include <errno.h>
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

static inline hn_engine *engine_new(int workers, int64_t chunk, double timeout) {
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

static inline hn_array *iota(int64_t n) {
  hn_builder *b = NULL;
  hn_array *out = NULL;
  HN_CHECK(hn_builder_create(NULL, I64T, &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, i), NULL);
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  return out;
}

static inline hn_pipeline *pipeline_new(const char *name) {
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, name, &p, &err), &err);
  return p;
}

static inline hn_inputs *inputs_with_column(const char *name, int64_t n) {
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, NULL), NULL);
  hn_array *col = iota(n);
  HN_CHECK(hn_inputs_set_column(in, name, col, NULL), NULL);
  hn_array_release(col);
  return in;
}

static const char *const k_over_x[1] = {"x"};

static inline hn_run_options map_opts(hn_error_policy policy) {
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 1;
  o.map_over = k_over_x;
  o.error_policy = policy;
  return o;
}

/* Open file descriptors of this process. */
static inline int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  assert_non_null(d);
  int n = 0;
  while (readdir(d)) n++;
  closedir(d);
  return n;
}

/* No child process is left, exited or not. */
static inline void assert_no_children(void) {
  errno = 0;
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

/* Child processes of this process (every thread's), from /proc; their pids into pids (cap). */
static inline int children(pid_t *pids, int cap) {
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

static inline pool_watch watch_new(hn_engine *e) {
  assert_int_equal(children(NULL, 0), 0);
  return (pool_watch){e, count_fds()};
}

/*
 * Between calls: no exited child left unreaped, at most `workers` children
 * (the pool), one socket each and nothing else leaked. Returns the children.
 */
static inline int pool_check(const pool_watch *w) {
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

static inline void *shared_new(size_t size) {
  void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  assert_true(m != MAP_FAILED);
  return m;
}

/* Column `name` of the result as int64 values; nulls as INT64_MIN. */
static inline void result_values(const hn_result *r, const char *name, int64_t n, int64_t *out) {
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

static inline hn_status f_triple(void *ud, const hn_datum *in, hn_builder *const *out,
                                 hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], 3 * in[0].v.i64);
}

static inline hn_status f_add1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
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
static inline void fork_child(crash_mode mode) {
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0 && mode != CRASH_FORK) waitpid(pid, NULL, 0);
    return;
  }
  if (mode == CRASH_FORK_EXEC) execl("/bin/true", "true", (char *)NULL);
  if (mode != CRASH_FORK) _exit(0);
}

/* x -> 3x, except on item 37: segfault, abort, exit(3), hang or fork, by mode. */
static inline hn_status f_crashy(void *ud, const hn_datum *in, hn_builder *const *out,
                                 hn_ctx *ctx) {
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
static inline hn_status f_skewed(void *ud, const hn_datum *in, hn_builder *const *out,
                                 hn_ctx *ctx) {
  if (in[0].v.i64 % 7 == 0) {
    struct timespec ts = {0, 2 * 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return f_triple(ud, in, out, ctx);
}

/* ---- resources ----------------------------------------------------------------- */

typedef struct res_counts {
  _Atomic int64_t inits, destroys;
} res_counts;

static inline hn_status res_init(void *config, void **state, hn_error *err) {
  (void)err;
  res_counts *rc = config;
  atomic_fetch_add(&rc->inits, 1);
  int64_t *s = malloc(sizeof *s);
  if (!s) return HN_ENOMEM;
  *s = 10;
  *state = s;
  return HN_OK;
}

static inline void res_destroy(void *config, void *state) {
  res_counts *rc = config;
  atomic_fetch_add(&rc->destroys, 1);
  free(state);
}

/* (model, x) -> x * *model */
static inline hn_status f_scale(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  const int64_t *factor = in[0].v.object;
  return hn_builder_append_int64(out[0], in[1].v.i64 * *factor);
}

/* Destroy the engine: no child process left, every descriptor closed. */
static inline void engine_done(pool_watch *w) {
  hn_engine_destroy(w->e);
  assert_no_children();
  assert_int_equal(count_fds(), w->fds);
}

#endif /* HN_TESTS_PROCESSES_SUPPORT_H */
