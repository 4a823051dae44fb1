/*
 * Timed events, profiles, traces and error times on every engine: the
 * binary runs its tests on the engine named by argv[1] (ctest registers it
 * once per engine, mpi under mpiexec).
 *
 * Node functions sleep a known time and measure it with their own clock;
 * they return what they measured as an output, so that the test sees it
 * whatever process ran them (processes, mpi). Callbacks record copies of
 * the events under a lock; checks run on the calling thread afterwards. On
 * mpi every rank makes the same calls; rank 0 alone checks.
 */
#define _GNU_SOURCE /* RTLD_NEXT, MAP_ANONYMOUS */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
#include <unistd.h>

#include "hypernodes/arrow.h"
#include "json_reader.h"
#include "test_support.h"

static hn_engine *g_engine;
static const char *g_name;
static int g_rank, g_ranks = 1;

static bool checking(void) {
  return g_rank == 0;
}

/* Under valgrind every instruction costs tens of times more: times mean nothing. */
static bool under_valgrind(void) {
  const char *preload = getenv("LD_PRELOAD");
  return preload && strstr(preload, "vgpreload");
}

static int64_t mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- counting clock reads ----------------------------------------------------------- */

/*
 * clock_gettime, counted: this definition takes the library's calls (it is
 * linked statically into this program) and counts them in a shared page, so
 * that reads in forked worker processes count too.
 */
static int (*g_real_clock)(clockid_t, struct timespec *);
static _Atomic int64_t *g_clock_reads;

int clock_gettime(clockid_t id, struct timespec *ts) {
  if (g_clock_reads) atomic_fetch_add_explicit(g_clock_reads, 1, memory_order_relaxed);
  return g_real_clock(id, ts);
}

static void count_clock_reads(void) {
  g_real_clock = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
  void *m =
      mmap(NULL, sizeof *g_clock_reads, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (!g_real_clock || m == MAP_FAILED) abort();
  g_clock_reads = m;
}

/* ---- the event log ------------------------------------------------------------- */

enum {
  K_PIPE_S,
  K_PIPE_E,
  K_MAP_S,
  K_MAP_E,
  K_ITEM_S,
  K_ITEM_E,
  K_NODE_S,
  K_NODE_E,
  K_ERR,
  K_CHUNK_S,
  K_CHUNK_E,
  K_KINDS
};

typedef struct rec {
  int kind;
  hn_event ev; /* its strings point into the copies below */
  char pipeline[32], node[32];
} rec;

typedef struct evlog {
  pthread_mutex_t mu;
  rec *v;
  int64_t n, cap;
} evlog;

static evlog g_log = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0};

static void log_add(int kind, const hn_event *ev) {
  pthread_mutex_lock(&g_log.mu);
  if (g_log.n == g_log.cap) {
    g_log.cap = g_log.cap ? 2 * g_log.cap : 256;
    g_log.v = realloc(g_log.v, sizeof *g_log.v * (size_t)g_log.cap);
  }
  rec *r = &g_log.v[g_log.n++];
  r->kind = kind;
  r->ev = *ev;
  snprintf(r->pipeline, sizeof r->pipeline, "%s", ev->pipeline ? ev->pipeline : "");
  snprintf(r->node, sizeof r->node, "%s", ev->node ? ev->node : "");
  r->ev.pipeline = NULL; /* borrowed during the callback only */
  r->ev.node = NULL;
  r->ev.item_path = NULL;
  r->ev.message = NULL;
  pthread_mutex_unlock(&g_log.mu);
}

static void log_clear(void) {
  free(g_log.v);
  g_log.v = NULL;
  g_log.n = g_log.cap = 0;
}

#define RECORDER(fn, kind)                       \
  static void fn(void *ud, const hn_event *ev) { \
    (void)ud;                                    \
    log_add(kind, ev);                           \
  }
RECORDER(r_pipe_s, K_PIPE_S)
RECORDER(r_pipe_e, K_PIPE_E)
RECORDER(r_map_s, K_MAP_S)
RECORDER(r_map_e, K_MAP_E)
RECORDER(r_item_s, K_ITEM_S)
RECORDER(r_item_e, K_ITEM_E)
RECORDER(r_node_s, K_NODE_S)
RECORDER(r_node_e, K_NODE_E)
RECORDER(r_err, K_ERR)
RECORDER(r_chunk_s, K_CHUNK_S)
RECORDER(r_chunk_e, K_CHUNK_E)

static hn_callbacks all_recorders(void) {
  hn_callbacks cb = {.size = sizeof cb};
  cb.on_pipeline_start = r_pipe_s;
  cb.on_pipeline_end = r_pipe_e;
  cb.on_map_start = r_map_s;
  cb.on_map_end = r_map_e;
  cb.on_item_start = r_item_s;
  cb.on_item_end = r_item_e;
  cb.on_node_start = r_node_s;
  cb.on_node_end = r_node_e;
  cb.on_error = r_err;
  cb.on_chunk_start = r_chunk_s;
  cb.on_chunk_end = r_chunk_e;
  return cb;
}

static int64_t count(int kind, int depth) {
  int64_t n = 0;
  for (int64_t i = 0; i < g_log.n; i++)
    n += g_log.v[i].kind == kind && g_log.v[i].ev.depth == depth;
  return n;
}

/* ---- nodes ----------------------------------------------------------------------- */

/* Sleep *ud microseconds; output x + 1 and the time this call took by the test's clock. */
static hn_status f_sleepy(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  int64_t t0 = mono_ns();
  long us = *(const long *)ud;
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
  hn_status st = hn_builder_append_int64(out[0], in[0].v.i64 + 1);
  if (st == HN_OK) st = hn_builder_append_int64(out[1], mono_ns() - t0);
  return st;
}

static hn_status f_add1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

/* Fails on multiples of 4 (a node failure: an error record under continue). */
static hn_status f_fussy(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].v.i64 % 4 == 0) return hn_ctx_fail(ctx, "multiple of four");
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

static long g_slow = 300, g_fast = 100;

static hn_pipeline *sleepy_pipeline(void) {
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "sleepy", &p, &err), &err);
  HN_CHECK(hn_pipeline_add_ex(p, "slow", "x", "y: int64, t_slow: int64", f_sleepy, NULL, &g_slow,
                              NULL, &err),
           &err);
  HN_CHECK(hn_pipeline_add_ex(p, "fast", "y", "z: int64, t_fast: int64", f_sleepy, NULL, &g_fast,
                              NULL, &err),
           &err);
  return p;
}

static hn_inputs *iota_inputs(const char *name, int64_t n) {
  hn_error err;
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err), &err);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, i), NULL);
  hn_array *col = NULL;
  HN_CHECK(hn_builder_finish(b, &col, &err), &err);
  hn_builder_destroy(b);
  HN_CHECK(hn_inputs_set_column(in, name, col, &err), &err);
  hn_array_release(col);
  return in;
}

/* Map p over `over`; returns the result (NULL on serving mpi ranks' checks too). */
static hn_result *map(hn_pipeline *p, hn_inputs *in, const char *over, const char *outputs,
                      const hn_callbacks *cb, hn_error_policy policy) {
  hn_run_options o = {.size = sizeof o, .map_over_spec = over, .outputs_spec = outputs};
  o.callbacks = cb;
  o.error_policy = policy;
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &r, &err), &err);
  return r;
}

static int64_t column_sum(const hn_result *r, const char *name) {
  hn_array *a = hn_table_column_by_name(hn_result_table(r), name);
  assert_non_null(a);
  int64_t s = 0;
  for (int64_t i = 0; i < hn_array_length(a); i++) s += hn_array_get(a, i).v.i64;
  return s;
}

/* ---- where events ran ------------------------------------------------------------- */

static bool is_engine(const char *name) {
  return strcmp(g_name, name) == 0;
}

/* The worker fields of an event of a worker (not the calling thread's). */
static void check_worker_fields(const hn_event *ev) {
  assert_string_equal(ev->engine, g_name);
  assert_true(ev->thread >= 0);
  if (is_engine("processes"))
    assert_true(ev->process >= 0 && ev->process < hn_engine_workers(g_engine));
  else
    assert_int_equal(ev->process, -1);
  if (g_ranks > 1)
    assert_true(ev->rank >= 1 && ev->rank < g_ranks);
  else
    assert_int_equal(ev->rank, 0);
}

/* Whether a and b ran on one track (the same thread of the same process). */
static bool same_track(const hn_event *a, const hn_event *b) {
  return a->thread == b->thread && a->process == b->process && a->rank == b->rank;
}

static bool within(const hn_event *inner, const hn_event *outer) {
  return inner->start_ns >= outer->start_ns &&
         inner->start_ns + inner->duration_ns <= outer->start_ns + outer->duration_ns;
}

/* ---- tests: event fields ----------------------------------------------------------- */

enum { N_ITEMS = 40 };

static void check_top_events(int64_t t_before, int64_t t_after) {
  const hn_event *map_end = NULL;
  for (int64_t i = 0; i < g_log.n; i++) {
    const rec *r = &g_log.v[i];
    if (r->ev.depth != 0 || r->kind > K_MAP_E) continue;
    assert_int_equal(r->ev.thread, -1);
    assert_int_equal(r->ev.process, -1);
    assert_int_equal(r->ev.rank, 0);
    assert_string_equal(r->ev.engine, g_name);
    assert_int_equal(r->ev.n_items, N_ITEMS);
    assert_true(r->ev.start_ns >= t_before && r->ev.start_ns <= t_after);
    bool end = r->kind == K_PIPE_E || r->kind == K_MAP_E;
    if (!end) assert_int_equal(r->ev.duration_ns, 0);
    if (end) assert_true(r->ev.start_ns + r->ev.duration_ns <= t_after);
    if (r->kind == K_MAP_E) map_end = &r->ev;
  }
  assert_non_null(map_end);
  assert_int_equal(count(K_PIPE_S, 0), 1);
  assert_int_equal(count(K_MAP_E, 0), 1);
  /* Everything a worker did happened within the map. */
  for (int64_t i = 0; i < g_log.n; i++) {
    const rec *r = &g_log.v[i];
    if (r->kind == K_NODE_E || r->kind == K_ITEM_E || r->kind == K_CHUNK_E) {
      check_worker_fields(&r->ev);
      assert_true(r->ev.duration_ns >= 0);
      if (g_ranks == 1) assert_true(within(&r->ev, map_end)); /* one host, one clock */
    }
    if (r->kind == K_NODE_S || r->kind == K_ITEM_S || r->kind == K_CHUNK_S)
      assert_int_equal(r->ev.duration_ns, 0);
  }
}

/* Chunk ends cover every item once; each item ran inside a chunk on its track. */
static void check_chunks(void) {
  uint8_t seen[N_ITEMS] = {0};
  for (int64_t i = 0; i < g_log.n; i++) {
    const rec *c = &g_log.v[i];
    if (c->kind != K_CHUNK_E || c->ev.depth != 0) continue;
    assert_true(c->ev.item >= 0 && c->ev.n_items >= 1 && c->ev.item + c->ev.n_items <= N_ITEMS);
    for (int64_t k = c->ev.item; k < c->ev.item + c->ev.n_items; k++) seen[k]++;
  }
  for (int k = 0; k < N_ITEMS; k++) assert_int_equal(seen[k], 1);
  for (int64_t i = 0; i < g_log.n; i++) {
    const rec *it = &g_log.v[i];
    if (it->kind != K_ITEM_E) continue;
    bool inside = false;
    for (int64_t j = 0; j < g_log.n && !inside; j++) {
      const rec *c = &g_log.v[j];
      inside = c->kind == K_CHUNK_E && same_track(&c->ev, &it->ev) && it->ev.item >= c->ev.item &&
               it->ev.item < c->ev.item + c->ev.n_items && within(&it->ev, &c->ev);
    }
    if (!inside) fail_msg("item %lld ran outside every chunk of its track", (long long)it->ev.item);
  }
}

static void test_event_fields(void **state) {
  (void)state;
  hn_pipeline *p = sleepy_pipeline();
  hn_inputs *in = iota_inputs("x", N_ITEMS);
  hn_callbacks cb = all_recorders();
  int64_t t0 = mono_ns();
  hn_result *r = map(p, in, "x", "z, t_slow, t_fast", &cb, HN_ERRORS_RAISE);
  int64_t t1 = mono_ns();
  if (checking()) {
    check_top_events(t0, t1);
    check_chunks();
    int64_t calls = is_engine("columnar") ? 1 : N_ITEMS; /* one morsel */
    assert_int_equal(count(K_NODE_E, 0), 2 * calls);
    assert_int_equal(count(K_NODE_S, 0), 2 * calls);
    assert_int_equal(count(K_ITEM_E, 0), N_ITEMS);
    for (int64_t i = 0; i < g_log.n; i++) {
      const rec *e = &g_log.v[i];
      if (e->kind != K_NODE_E) continue;
      int64_t rows = is_engine("columnar") ? N_ITEMS : 1;
      assert_int_equal(e->ev.n_rows, rows);
      long us = strcmp(e->node, "slow") == 0 ? g_slow : g_fast;
      assert_true(e->ev.duration_ns >= rows * us * 1000); /* it slept that long */
    }
  }
  log_clear();
  /* Only the end callback set: the calls are still timed. */
  hn_callbacks only_end = {.size = sizeof only_end, .on_node_end = r_node_e};
  hn_result_destroy(r);
  r = map(p, in, "x", "z", &only_end, HN_ERRORS_RAISE);
  if (checking()) {
    assert_int_equal(g_log.n, 2 * (is_engine("columnar") ? 1 : N_ITEMS));
    for (int64_t i = 0; i < g_log.n; i++) assert_true(g_log.v[i].ev.duration_ns >= g_fast * 1000);
  }
  log_clear();
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* A nested pipeline mapped over each item's list: map, chunk and item events at depth 1. */
static void test_nested_events(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *inner = NULL, *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "plus", "v", "w: int64", f_add1, &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &p, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "vs=v", "w=ws", "vs", HN_MAP_ZIP, &err), &err);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  const hn_type *lt = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &lt, &err), &err);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, lt, &b, &err), &err);
  int64_t inner_total = 0;
  for (int i = 0; i < 6; i++) { /* lists of 0..5 items */
    for (int k = 0; k < i; k++) HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), k), NULL);
    HN_CHECK(hn_builder_finish_element(b), NULL);
    inner_total += i;
  }
  hn_array *col = NULL;
  HN_CHECK(hn_builder_finish(b, &col, &err), &err);
  hn_builder_destroy(b);
  HN_CHECK(hn_inputs_set_column(in, "vs", col, &err), &err);
  hn_array_release(col);
  hn_callbacks cb = all_recorders();
  hn_result *r = map(p, in, "vs", "ws", &cb, HN_ERRORS_RAISE);
  if (checking()) {
    int64_t announced = 0, rows = 0, chunked = 0;
    for (int64_t i = 0; i < g_log.n; i++) {
      const rec *e = &g_log.v[i];
      if (e->ev.depth != 1) continue;
      assert_string_equal(e->pipeline, "inner");
      if (e->kind == K_MAP_S) announced += e->ev.n_items, rows += e->ev.n_rows;
      if (e->kind == K_CHUNK_E) chunked += e->ev.n_items;
      if (e->kind == K_MAP_E || e->kind == K_CHUNK_E || e->kind == K_NODE_E) {
        check_worker_fields(&e->ev);
        /* Inside the outer nested node's call on the same track. */
        bool inside = false;
        for (int64_t j = 0; j < g_log.n && !inside; j++) {
          const rec *o = &g_log.v[j];
          inside = o->kind == K_NODE_E && o->ev.depth == 0 && same_track(&o->ev, &e->ev) &&
                   within(&e->ev, &o->ev);
        }
        assert_true(inside);
      }
    }
    assert_int_equal(announced, inner_total);
    assert_int_equal(chunked, inner_total);
    assert_int_equal(rows, 6); /* every outer row had its map */
    assert_int_equal(count(K_ITEM_E, 1), inner_total);
    assert_int_equal(count(K_MAP_S, 1), count(K_MAP_E, 1));
    assert_int_equal(count(K_PIPE_S, 1), count(K_PIPE_E, 1));
  }
  log_clear();
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_type_release(lt);
  hn_pipeline_release(p);
  hn_pipeline_release(inner);
}

/* ---- tests: the profile and the trace (the done-when) ----------------------- */

static size_t to_buffer(void *ud, const char *data, size_t n) {
  char **buf = ud;
  size_t len = *buf ? strlen(*buf) : 0;
  *buf = realloc(*buf, len + n + 1);
  memcpy(*buf + len, data, n);
  (*buf)[len + n] = '\0';
  return n;
}

/* The trace's slices of category `cat`, and a check that slices on one track nest. */
static int64_t trace_slices(const json_value *events, const char *cat, const char *name) {
  int64_t n = 0;
  for (int64_t i = 0; i < events->n; i++) {
    const json_value *e = &events->items[i];
    if (strcmp(json_string(e, "ph"), "X") == 0 && strcmp(json_string(e, "cat"), cat) == 0 &&
        (!name || strcmp(json_string(e, "name"), name) == 0))
      n++;
  }
  return n;
}

/* On each track (pid, tid) any two slices are disjoint or one holds the other. */
static void check_nesting(const json_value *events) {
  for (int64_t i = 0; i < events->n; i++) {
    const json_value *a = &events->items[i];
    if (strcmp(json_string(a, "ph"), "X") != 0) continue;
    /* Times are microseconds with three decimals: whole nanoseconds. */
    long long a0 = llround(json_number(a, "ts", 0) * 1000);
    long long a1 = a0 + llround(json_number(a, "dur", 0) * 1000);
    for (int64_t j = i + 1; j < events->n; j++) {
      const json_value *b = &events->items[j];
      if (strcmp(json_string(b, "ph"), "X") != 0 ||
          json_number(a, "pid", -1) != json_number(b, "pid", -2) ||
          json_number(a, "tid", -1) != json_number(b, "tid", -2))
        continue;
      long long b0 = llround(json_number(b, "ts", 0) * 1000);
      long long b1 = b0 + llround(json_number(b, "dur", 0) * 1000);
      bool ok = b1 <= a0 || a1 <= b0 || (a0 <= b0 && b1 <= a1) || (b0 <= a0 && a1 <= b1);
      if (!ok)
        fail_msg("slices '%s' [%lld, %lld] and '%s' [%lld, %lld] overlap on one track",
                 json_string(a, "name"), a0, a1, json_string(b, "name"), b0, b1);
    }
  }
}

static void check_trace(const hn_trace *trace, int64_t node_calls) {
  char *text = NULL;
  hn_error err;
  HN_CHECK(hn_trace_write(trace, to_buffer, &text, &err), &err);
  char msg[128];
  json_value *doc = json_parse(text, msg, sizeof msg);
  if (!doc) fail_msg("the trace is not JSON: %s", msg);
  const json_value *events = json_get(doc, "traceEvents");
  assert_non_null(events);
  assert_int_equal(events->type, JSON_ARRAY);
  /* One slice per node call (per morsel on columnar), one map, chunks covering every item. */
  assert_int_equal(trace_slices(events, "node", "slow"), node_calls);
  assert_int_equal(trace_slices(events, "node", "fast"), node_calls);
  assert_int_equal(trace_slices(events, "map", NULL), 1);
  assert_int_equal(trace_slices(events, "pipeline", NULL), 1);
  int64_t chunked = 0, names = 0;
  for (int64_t i = 0; i < events->n; i++) {
    const json_value *e = &events->items[i];
    if (strcmp(json_string(e, "cat"), "chunk") == 0)
      chunked += (int64_t)json_number(json_get(e, "args"), "items", 0);
    names += strcmp(json_string(e, "ph"), "M") == 0;
  }
  assert_int_equal(chunked, N_ITEMS);
  assert_true(names >= 2); /* the calling process and its calling thread at least */
  check_nesting(events);
  json_free(doc);
  free(text);
}

static void test_profile_and_trace(void **state) {
  (void)state;
  hn_pipeline *p = sleepy_pipeline();
  hn_inputs *in = iota_inputs("x", N_ITEMS);
  hn_error err;
  hn_profile *prof = NULL;
  hn_trace *trace = NULL;
  hn_callback_chain *chain = NULL;
  HN_CHECK(hn_profile_create(NULL, &prof, &err), &err);
  HN_CHECK(hn_trace_create(NULL, NULL, &trace, &err), &err);
  HN_CHECK(hn_callback_chain_create(NULL, &chain, &err), &err);
  hn_callbacks cb;
  hn_profile_get_callbacks(prof, &cb, sizeof cb);
  HN_CHECK(hn_callback_chain_add(chain, &cb, &err), &err);
  hn_trace_get_callbacks(trace, &cb, sizeof cb);
  HN_CHECK(hn_callback_chain_add(chain, &cb, &err), &err);
  hn_callback_chain_get_callbacks(chain, &cb, sizeof cb);
  hn_result *r = map(p, in, "x", "z, t_slow, t_fast", &cb, HN_ERRORS_RAISE);
  if (checking()) {
    /* The nodes' own clock against the profile: within 10%, per node and in all. */
    int64_t measured[2] = {column_sum(r, "t_slow"), column_sum(r, "t_fast")};
    int64_t n = hn_profile_num_nodes(prof), profiled[2] = {0, 0};
    assert_int_equal(n, 2);
    for (int64_t i = 0; i < n; i++) {
      hn_profile_entry e;
      HN_CHECK(hn_profile_get_node(prof, i, &e, sizeof e, &err), &err);
      assert_string_equal(e.engine, g_name);
      assert_int_equal(e.rows, N_ITEMS);
      assert_int_equal(e.calls, is_engine("columnar") ? 1 : N_ITEMS);
      profiled[strcmp(e.node, "slow") == 0 ? 0 : 1] = e.total_ns;
    }
    bool timed = !under_valgrind();
    for (int k = 0; k < 2; k++) {
      double ratio = (double)profiled[k] / (double)measured[k];
      print_message("%s: node %s: profile %.3f ms, the nodes' own clock %.3f ms (ratio %.4f)%s\n",
                    g_name, k ? "fast" : "slow", profiled[k] / 1e6, measured[k] / 1e6, ratio,
                    timed ? "" : " (not checked under valgrind)");
      if (timed) assert_true(ratio >= 0.9 && ratio <= 1.1);
      assert_true(ratio >= 1.0 - 1e-3); /* the call holds the node's own time */
    }
    double all = (double)(profiled[0] + profiled[1]) / (double)(measured[0] + measured[1]);
    if (timed) assert_true(all >= 0.9 && all <= 1.1);
    check_trace(trace, is_engine("columnar") ? 1 : N_ITEMS);
  }
  hn_result_destroy(r);
  hn_callback_chain_destroy(chain);
  hn_trace_destroy(trace);
  hn_profile_destroy(prof);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- tests: error times and the progress bar's counts ---------------------------------- */

static void test_error_times(void **state) {
  (void)state;
  hn_error err;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "fussy", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "fussy", "x", "y: int64", f_fussy, &err), &err);
  hn_inputs *in = iota_inputs("x", 10);
  int64_t t0 = wall_ns();
  hn_result *r = map(p, in, "x", "y", NULL, HN_ERRORS_CONTINUE);
  int64_t t1 = wall_ns();
  if (checking()) {
    struct ArrowSchema schema;
    struct ArrowArray array;
    HN_CHECK(hn_result_export_errors(r, &schema, &array, &err), &err);
    assert_string_equal(schema.format, "+s");
    assert_int_equal(schema.n_children, 7);
    static const char *const names[7] = {"item",     "item_path", "node", "message",
                                         "attempts", "messages",  "time"};
    static const char *const formats[7] = {"l", "u", "u", "u", "l", "u", "tsn:UTC"};
    for (int i = 0; i < 7; i++) {
      assert_string_equal(schema.children[i]->name, names[i]);
      assert_string_equal(schema.children[i]->format, formats[i]);
    }
    assert_int_equal(array.length, 3); /* items 0, 4, 8 */
    const int64_t *items = (const int64_t *)array.children[0]->buffers[1];
    const int64_t *times = (const int64_t *)array.children[6]->buffers[1];
    for (int k = 0; k < 3; k++) {
      assert_int_equal(items[array.children[0]->offset + k], 4 * k);
      int64_t t = times[array.children[6]->offset + k];
      assert_true(t >= t0 && t <= t1); /* when it failed, on the wall clock */
    }
    array.release(&array);
    schema.release(&schema);
    /* The result's own error table keeps its six columns. */
    assert_int_equal(hn_table_num_columns(hn_result_errors(r)), 6);
    assert_int_equal(hn_result_export_errors(NULL, &schema, &array, &err), HN_EINVAL);
    assert_null(schema.release);
  }
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* The progress bar, forced onto a pipe, ends every map at n/n on every engine. */
static void test_progress_counts(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  hn_error err;
  /* Redrawn every millisecond at most: workers race to draw (a few KB: the pipe holds it). */
  hn_progress_options po = {.size = sizeof po, .fd = fds[1], .always = true, .interval = 0.001};
  hn_progress *pr = NULL;
  HN_CHECK(hn_progress_create(NULL, &po, &pr, &err), &err);
  hn_callbacks cb;
  hn_progress_get_callbacks(pr, &cb, sizeof cb);
  hn_pipeline *p = sleepy_pipeline();
  hn_inputs *in = iota_inputs("x", N_ITEMS);
  hn_result *r = map(p, in, "x", "z", &cb, HN_ERRORS_RAISE);
  hn_progress_destroy(pr);
  close(fds[1]);
  char buf[8192];
  ssize_t got = read(fds[0], buf, sizeof buf - 1);
  close(fds[0]);
  if (checking()) {
    assert_true(got > 0);
    buf[got] = '\0';
    assert_non_null(strstr(buf, "sleepy ["));
    assert_non_null(strstr(buf, "100% 40/40")); /* the final drawing */
    assert_non_null(strstr(buf, "0% 0/40"));    /* the first */
  }
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- tests: no clock without a callback ---------------------------------------------- */

static hn_status f_plain(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 * 3);
}

/*
 * Callbacks unset: a map of N items through 4 nodes reads the clock only a
 * bounded number of times (per call and per chunk), not per item or node;
 * with a node end callback set it reads it twice per node call. Counted in
 * this process and its worker processes; on mpi each rank counts its own.
 */
static void test_no_clock_without_callbacks(void **state) {
  (void)state;
  enum { N = 2000, NODES = 4 };
  hn_error err;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "plain", &p, &err), &err);
  static const char *const io[NODES][2] = {
      {"a", "b: int64"}, {"b", "c: int64"}, {"c", "d: int64"}, {"d", "e: int64"}};
  for (int k = 0; k < NODES; k++) {
    char name[8];
    snprintf(name, sizeof name, "n%d", k);
    HN_CHECK(hn_pipeline_add(p, name, io[k][0], io[k][1], f_plain, &err), &err);
  }
  hn_inputs *in = iota_inputs("a", N);
  /* Threads: fixed chunks (automatic sizing makes one-item chunks under valgrind). */
  hn_engine *shared = g_engine, *own = NULL;
  if (is_engine("threads")) {
    hn_engine_options o = {
        .size = sizeof o, .kind = HN_ENGINE_THREADS, .workers = 2, .chunk_size = 50};
    HN_CHECK(hn_engine_create(NULL, &o, &own, &err), &err);
    g_engine = own;
  }
  atomic_store(g_clock_reads, 0);
  hn_result *r = map(p, in, "a", "e", NULL, HN_ERRORS_RAISE);
  int64_t unset = atomic_load(g_clock_reads);
  hn_result_destroy(r);
  hn_callbacks cb = {.size = sizeof cb, .on_node_end = r_node_e};
  atomic_store(g_clock_reads, 0);
  r = map(p, in, "a", "e", &cb, HN_ERRORS_RAISE);
  int64_t set = atomic_load(g_clock_reads);
  int64_t calls = is_engine("columnar") ? NODES : (int64_t)N * NODES;
  print_message(
      "%s (rank %d): %lld clock reads with callbacks unset, %lld with on_node_end "
      "(%lld node calls)\n",
      g_name, g_rank, (long long)unset, (long long)set, (long long)calls);
  /* Every engine may read a clock per chunk (tiny chunks under sanitizers and valgrind);
   * none per item (that would be 2 N reads) or node call (2 N x NODES). */
  assert_true(unset < N);
  /* On mpi the serving ranks call the nodes, in shares that vary: no bound per rank. */
  if (g_ranks == 1) assert_true(set >= 2 * calls);
  log_clear();
  hn_result_destroy(r);
  g_engine = shared;
  hn_engine_destroy(own);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

int main(int argc, char **argv) {
  count_clock_reads();
  g_name = argc > 1 ? argv[1] : "sequential";
  hn_engine_kind kind;
  hn_error err;
  if (hn_engine_kind_from_name(g_name, &kind, &err) != HN_OK) {
    fprintf(stderr, "test_engine_events: %s\n", err.message);
    return 2;
  }
  hn_engine_options o = {
      .size = sizeof o, .kind = kind, .workers = kind == HN_ENGINE_SEQUENTIAL ? 0 : 2};
  if (hn_engine_create(NULL, &o, &g_engine, &err) != HN_OK) {
    fprintf(stderr, "test_engine_events: cannot create the %s engine: %s\n", g_name, err.message);
    return 1;
  }
  g_name = hn_engine_kind_name(kind);
  g_rank = hn_engine_rank(g_engine);
  g_ranks = hn_engine_ranks(g_engine);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_event_fields),      cmocka_unit_test(test_nested_events),
      cmocka_unit_test(test_profile_and_trace), cmocka_unit_test(test_error_times),
      cmocka_unit_test(test_progress_counts),   cmocka_unit_test(test_no_clock_without_callbacks),
  };
  char group[64];
  snprintf(group, sizeof group, "engine_events_%s", g_name);
  int failed = _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
  hn_engine_destroy(g_engine);
  return failed ? 1 : 0;
}
