/*
 * Engine mechanics (the conformance suite covers results): chunking
 * invariance, the deterministic lowest failing item on threads, resource
 * instances per worker, callback counts, per-call arena reset, worker
 * indices, batch-only nodes in item-major engines, misuse of output
 * builders, re-entry, unsupported kinds and allocation failure.
 *
 * Node functions and callbacks run on worker threads: they never call
 * cmocka; they report through hn_ctx_fail or atomics checked afterwards.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_support.h"

#define I64T hn_type_int64()
#define STRT hn_type_utf8()

/* ---- helpers --------------------------------------------------------------- */

static hn_engine *engine_new(hn_engine_kind kind, int workers, int64_t chunk) {
  hn_engine_options o = {.size = sizeof o};
  o.kind = kind;
  o.workers = workers;
  o.chunk_size = chunk;
  hn_engine *e = NULL;
  hn_error err;
  HN_CHECK(hn_engine_create(NULL, &o, &e, &err), &err);
  return e;
}

static hn_array *iota(const hn_allocator *a, int64_t n) {
  hn_builder *b = NULL;
  hn_array *out = NULL;
  HN_CHECK(hn_builder_create(a, I64T, &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, i), NULL);
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  return out;
}

static hn_inputs *inputs_with_column(const hn_allocator *a, const char *name, int64_t n) {
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(a, &in, NULL), NULL);
  hn_array *col = iota(a, n);
  HN_CHECK(hn_inputs_set_column(in, name, col, NULL), NULL);
  hn_array_release(col);
  return in;
}

static hn_run_options map_opts(const char *const *over) {
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 1;
  o.map_over = over;
  return o;
}

static void sleep_us(long us) {
  struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
  nanosleep(&ts, NULL);
}

/* ---- node functions -------------------------------------------------------- */

static hn_status f_inc(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

/* x -> decimal spelling, null when x % 13 == 0. */
static hn_status f_spell(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null || in[0].v.i64 % 13 == 0) return hn_builder_append_null(out[0]);
  char buf[32];
  int n = snprintf(buf, sizeof buf, "x%lld", (long long)in[0].v.i64);
  return hn_builder_append_str(out[0], buf, n);
}

/* utf8 -> list<utf8> of its characters. */
static hn_status f_chars(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  hn_builder *items = hn_builder_child(out[0], 0);
  for (int64_t i = 0; i < in[0].v.str.size; i++) {
    hn_status st = hn_builder_append_str(items, in[0].v.str.data + i, 1);
    if (st != HN_OK) return st;
  }
  return hn_builder_finish_element(out[0]);
}

/* list -> its length. */
static hn_status f_count(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.list.length);
}

/* x -> 3x, failing when x % 97 == 5. */
static hn_status f_fragile(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].v.i64 % 97 == 5) return hn_ctx_fail(ctx, "bad %lld", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64 * 3);
}

/* utf8 -> "<" + s + ">" through the arena. */
static hn_status f_wrap(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  int64_t n = in[0].v.str.size;
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)n + 2, 1);
  if (!buf) return HN_ENOMEM;
  buf[0] = '<';
  memcpy(buf + 1, in[0].v.str.data, (size_t)n);
  buf[n + 1] = '>';
  return hn_builder_append_str(out[0], buf, n + 2);
}

/* x -> x is even. */
static hn_status f_even(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_bool(out[0], in[0].v.i64 % 2 == 0);
}

/*
 * A pipeline touching every engine path: nullable strings, lists, a bool,
 * a fallible node, and a nested pipeline mapped over a list output.
 */
static hn_pipeline *mixed_pipeline(const hn_allocator *a) {
  hn_pipeline *inner = NULL, *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(a, "wrapper", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "wrap", "c", "w: utf8", f_wrap, &err), &err);
  HN_CHECK(hn_pipeline_create(a, "mixed", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "spell", "x", "s: utf8", f_spell, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "chars", "s", "cs: list<utf8>", f_chars, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "count", "cs", "n: int64", f_count, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "fragile", "x", "y: int64", f_fragile, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "even", "x", "e: bool", f_even, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "cs=c", "w=ws", "cs", HN_MAP_ZIP, &err), &err);
  hn_pipeline_release(inner);
  return p;
}

/* ---- engines ------------------------------------------------------------------ */

static void test_engine_kinds(void **state) {
  (void)state;
  hn_error err;
  {
    /* processes: one worker process per core by default. */
    hn_engine_options o = {.size = sizeof o, .kind = HN_ENGINE_PROCESSES};
    hn_engine *e = NULL;
    HN_CHECK(hn_engine_create(NULL, &o, &e, &err), &err);
    assert_true(hn_engine_workers(e) >= 1);
    assert_int_equal(hn_engine_rank(e), 0);
    assert_int_equal(hn_engine_ranks(e), 1);
    hn_engine_destroy(e);
    o.item_timeout = -1;
    assert_int_equal(hn_engine_create(NULL, &o, &e, &err), HN_EINVAL);
    assert_non_null(strstr(err.message, "item_timeout"));
    /* mpi without its plugin: refused, saying what is missing and how to get it. */
    o = (hn_engine_options){.size = sizeof o, .kind = HN_ENGINE_MPI};
    e = NULL;
    setenv("HN_MPI_PLUGIN", "/nonexistent/libhypernodes_mpi.so.0", 1);
    assert_int_equal(hn_engine_create(NULL, &o, &e, &err), HN_EUNSUPPORTED);
    unsetenv("HN_MPI_PLUGIN");
    assert_null(e);
    assert_non_null(strstr(err.message, "the mpi engine is not available"));
    assert_non_null(strstr(err.message, "/nonexistent/libhypernodes_mpi.so.0"));
  }
  const char *names[] = {"sequential", "threads", "columnar", "processes", "mpi"};
  for (int k = 0; k < 5; k++) {
    hn_engine_kind kind;
    HN_CHECK(hn_engine_kind_from_name(names[k], &kind, &err), &err);
    assert_int_equal(kind, k);
    assert_string_equal(hn_engine_kind_name(kind), names[k]);
  }
  hn_engine_kind kind;
  assert_int_equal(hn_engine_kind_from_name("gpu", &kind, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "gpu"));

  hn_engine *e = NULL;
  HN_CHECK(hn_engine_create(NULL, NULL, &e, &err), &err);
  assert_int_equal(hn_engine_kind_of(e), HN_ENGINE_SEQUENTIAL);
  assert_int_equal(hn_engine_workers(e), 1);
  hn_engine_destroy(e);
  e = engine_new(HN_ENGINE_THREADS, 3, 0);
  assert_int_equal(hn_engine_kind_of(e), HN_ENGINE_THREADS);
  assert_int_equal(hn_engine_workers(e), 3);
  hn_engine_destroy(e);
  e = engine_new(HN_ENGINE_THREADS, 0, 0);
  assert_true(hn_engine_workers(e) >= 1);
  hn_engine_destroy(e);
  hn_engine_destroy(NULL);

  hn_engine_options bad = {.size = sizeof bad};
  bad.kind = HN_ENGINE_THREADS;
  bad.workers = -1;
  assert_int_equal(hn_engine_create(NULL, &bad, &e, &err), HN_EINVAL);
  bad.workers = 0;
  bad.chunk_size = -5;
  assert_int_equal(hn_engine_create(NULL, &bad, &e, &err), HN_EINVAL);
  bad.chunk_size = 0;
  bad.kind = (hn_engine_kind)42;
  assert_int_equal(hn_engine_create(NULL, &bad, &e, &err), HN_EINVAL);
  bad.kind = HN_ENGINE_THREADS;
  bad.size = 4;
  assert_int_equal(hn_engine_create(NULL, &bad, &e, &err), HN_EINVAL);
}

/* ---- chunking invariance ------------------------------------------------------- */

static void run_mixed(hn_engine *e, hn_pipeline *p, hn_inputs *in, hn_result **out) {
  static const char *const over[1] = {"x"};
  hn_run_options o = map_opts(over);
  o.error_policy = HN_ERRORS_CONTINUE;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, e, in, &o, out, &err), &err);
}

static void test_chunking_invariance(void **state) {
  (void)state;
  const int64_t n = 1000;
  hn_pipeline *p = mixed_pipeline(NULL);
  hn_inputs *in = inputs_with_column(NULL, "x", n);
  hn_engine *seq = engine_new(HN_ENGINE_SEQUENTIAL, 0, 0);
  hn_result *want = NULL;
  run_mixed(seq, p, in, &want);
  hn_engine_destroy(seq);
  hn_table *wt = hn_result_table(want), *we = hn_result_errors(want);
  HN_CHECK(hn_table_validate(wt, true, NULL), NULL);
  assert_int_equal(hn_table_num_rows(wt), n);
  assert_int_equal(hn_table_num_columns(wt), 6);
  int64_t failed = 0;
  for (int64_t i = 0; i < n; i++) failed += i % 97 == 5;
  assert_int_equal(hn_table_num_rows(we), failed);
  assert_int_equal(hn_test_stats(want).n_failed, failed);
  /* Spot checks: item 27 spells "x27", item 26 is null (26 % 13 == 0). */
  hn_datum ws = hn_array_get(hn_table_column_by_name(wt, "ws"), 27);
  assert_false(ws.is_null);
  assert_int_equal(ws.v.list.length, 3);
  hn_datum w0 = hn_list_view_get(ws.v.list, 0);
  assert_int_equal(w0.v.str.size, 3);
  assert_memory_equal(w0.v.str.data, "<x>", 3);
  assert_true(hn_array_get(hn_table_column_by_name(wt, "ws"), 26).is_null);
  assert_true(hn_array_get(hn_table_column_by_name(wt, "y"), 5).is_null);

  static const int workers[] = {1, 2, 4};
  static const int64_t chunks[] = {1, 7, 0};
  for (int wi = 0; wi < 3; wi++)
    for (int ci = 0; ci < 3; ci++) {
      hn_engine *e = engine_new(HN_ENGINE_THREADS, workers[wi], chunks[ci]);
      hn_result *got = NULL;
      run_mixed(e, p, in, &got);
      if (!hn_table_equals(hn_result_table(got), wt) || !hn_table_equals(hn_result_errors(got), we))
        fail_msg("threads workers=%d chunk=%lld differs from sequential", workers[wi],
                 (long long)chunks[ci]);
      hn_result_stats s = hn_test_stats(got);
      assert_int_equal(s.n_items, n);
      assert_int_equal(s.n_failed, failed);
      assert_true(s.workers >= 1 && s.workers <= workers[wi]);
      hn_result_destroy(got);
      hn_engine_destroy(e);
    }
  hn_result_destroy(want);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- deterministic failure on threads ---------------------------------------- */

/* Item 137 fails slowly; items 500, 600, ... fail at once. */
static hn_status f_slowfail(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  int64_t x = in[0].v.i64;
  if (x == 137) {
    sleep_us(3000);
    return hn_ctx_fail(ctx, "bad %lld", (long long)x);
  }
  if (x >= 500 && x % 100 == 0) return hn_ctx_fail(ctx, "bad %lld", (long long)x);
  return hn_builder_append_int64(out[0], x);
}

static void test_raise_lowest_index(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "lowest", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "slowfail", "x", "y: int64", f_slowfail, NULL), NULL);
  hn_inputs *in = inputs_with_column(NULL, "x", 1000);
  static const char *const over[1] = {"x"};
  hn_run_options o = map_opts(over);
  static const int64_t chunks[] = {1, 3, 0};
  for (int rep = 0; rep < 6; rep++) {
    hn_engine *e = engine_new(HN_ENGINE_THREADS, 4, chunks[rep % 3]);
    hn_result *r = NULL;
    hn_error err;
    assert_int_equal(hn_pipeline_map(p, e, in, &o, &r, &err), HN_ENODE);
    assert_null(r);
    assert_int_equal(err.code, HN_ENODE);
    assert_string_equal(err.node, "slowfail");
    assert_string_equal(err.item_path, "137");
    assert_string_equal(err.message, "node 'slowfail' failed on item 137: bad 137");
    hn_engine_destroy(e);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- resources ---------------------------------------------------------------- */

typedef struct res_counts {
  _Atomic int64_t inits, destroys, frees;
  bool fail_init;
} res_counts;

static hn_status r_init(void *config, void **state, hn_error *err) {
  res_counts *rc = config;
  if (rc->fail_init) {
    if (err) snprintf(err->message, sizeof err->message, "no GPU here");
    return HN_EIO;
  }
  int64_t *s = malloc(sizeof *s);
  if (!s) return HN_ENOMEM;
  *s = 7;
  *state = s;
  atomic_fetch_add(&rc->inits, 1);
  return HN_OK;
}

static void r_destroy(void *config, void *state) {
  res_counts *rc = config;
  free(state);
  atomic_fetch_add(&rc->destroys, 1);
}

static void r_config_free(void *config) {
  atomic_fetch_add(&((res_counts *)config)->frees, 1);
}

/* (model, x) -> x * *model; fails on x == 150 when ud is non-NULL. */
static hn_status f_predict(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  if (in[0].type != HN_TYPE_OBJECT || in[0].is_null || !in[0].v.object)
    return hn_ctx_fail(ctx, "model missing");
  if (ud && in[1].v.i64 == 150) return hn_ctx_fail(ctx, "bad 150");
  return hn_builder_append_int64(out[0], in[1].v.i64 * *(int64_t *)in[0].v.object);
}

static void resource_case(int workers, int64_t chunk, bool fail_node, bool fail_init) {
  res_counts rc = {0};
  rc.fail_init = fail_init;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "res", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add_ex(p, "predict", "model, x", "y: int64", f_predict, NULL,
                              fail_node ? &rc : NULL, NULL, NULL),
           NULL);
  hn_inputs *in = inputs_with_column(NULL, "x", 200);
  hn_resource_def def = {.size = sizeof def};
  def.name = "model";
  def.init = r_init;
  def.destroy = r_destroy;
  def.config = &rc;
  def.config_free = r_config_free;
  HN_CHECK(hn_inputs_set_resource(in, "model", &def, NULL), NULL);
  hn_engine *e = workers ? engine_new(HN_ENGINE_THREADS, workers, chunk)
                         : engine_new(HN_ENGINE_SEQUENTIAL, 0, 0);
  static const char *const over[1] = {"x"};
  hn_run_options o = map_opts(over);
  hn_result *r = NULL;
  hn_error err;
  hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
  if (fail_init) {
    assert_int_equal(st, HN_EIO);
    assert_non_null(strstr(err.message, "resource 'model'"));
    assert_non_null(strstr(err.message, "no GPU here"));
  } else if (fail_node) {
    assert_int_equal(st, HN_ENODE);
    assert_string_equal(err.item_path, "150");
  } else {
    HN_CHECK(st, &err);
    hn_result_stats s = hn_test_stats(r);
    assert_int_equal(s.resource_inits, atomic_load(&rc.inits));
    assert_int_equal(s.resource_destroys, atomic_load(&rc.destroys));
    assert_int_equal(hn_array_get(hn_table_column(hn_result_table(r), 0), 199).v.i64, 199 * 7);
  }
  int64_t limit = workers ? workers : 1;
  assert_true(atomic_load(&rc.inits) <= limit);
  if (!fail_init) assert_true(atomic_load(&rc.inits) >= 1);
  assert_int_equal(atomic_load(&rc.inits), atomic_load(&rc.destroys));
  hn_result_destroy(r);
  hn_engine_destroy(e);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  assert_int_equal(atomic_load(&rc.frees), 1);
}

static void test_resources_per_worker(void **state) {
  (void)state;
  resource_case(0, 0, false, false);
  resource_case(2, 1, false, false);
  resource_case(2, 0, false, false);
  resource_case(2, 1, true, false);
  resource_case(2, 5, true, false);
  resource_case(0, 0, true, false);
  resource_case(2, 1, false, true);
  resource_case(0, 0, false, true);
}

/* ---- callbacks ------------------------------------------------------------------ */

typedef struct counts {
  _Atomic int64_t pipe_start[3], pipe_end[3], map_start, map_end, item_start[3], item_end[3];
  _Atomic int64_t node_start[3], node_end[3], error, bad_worker, bad_rows, n_items_seen;
  _Atomic int64_t seen[64];
  int workers;
  char paths[16][16]; /* depth-1 item paths, in order (sequential engine only) */
  _Atomic int n_paths;
} counts;

static int clamp_depth(int d) {
  return d < 0 ? 0 : d > 2 ? 2 : d;
}

static void cb_pipe_start(void *ud, const hn_event *ev) {
  atomic_fetch_add(&((counts *)ud)->pipe_start[clamp_depth(ev->depth)], 1);
}
static void cb_pipe_end(void *ud, const hn_event *ev) {
  atomic_fetch_add(&((counts *)ud)->pipe_end[clamp_depth(ev->depth)], 1);
}
static void cb_map_start(void *ud, const hn_event *ev) {
  counts *c = ud;
  atomic_fetch_add(&c->map_start, 1);
  atomic_store(&c->n_items_seen, ev->n_items);
}
static void cb_map_end(void *ud, const hn_event *ev) {
  (void)ev;
  atomic_fetch_add(&((counts *)ud)->map_end, 1);
}
static void cb_item_start(void *ud, const hn_event *ev) {
  counts *c = ud;
  int d = clamp_depth(ev->depth);
  atomic_fetch_add(&c->item_start[d], 1);
  if (ev->worker < 0 || ev->worker >= c->workers) atomic_fetch_add(&c->bad_worker, 1);
  if (d == 0 && ev->item >= 0 && ev->item < 64) atomic_fetch_add(&c->seen[ev->item], 1);
  if (d == 1) {
    int k = atomic_fetch_add(&c->n_paths, 1);
    if (k < 16)
      snprintf(c->paths[k], sizeof c->paths[k], "%s", ev->item_path ? ev->item_path : "?");
  }
}
static void cb_item_end(void *ud, const hn_event *ev) {
  atomic_fetch_add(&((counts *)ud)->item_end[clamp_depth(ev->depth)], 1);
}
static void cb_node_start(void *ud, const hn_event *ev) {
  counts *c = ud;
  atomic_fetch_add(&c->node_start[clamp_depth(ev->depth)], 1);
  if (ev->n_rows != 1 || !ev->node) atomic_fetch_add(&c->bad_rows, 1);
}
static void cb_node_end(void *ud, const hn_event *ev) {
  atomic_fetch_add(&((counts *)ud)->node_end[clamp_depth(ev->depth)], 1);
}
static void cb_error(void *ud, const hn_event *ev) {
  (void)ev;
  atomic_fetch_add(&((counts *)ud)->error, 1);
}

static hn_callbacks all_callbacks(counts *c) {
  hn_callbacks cb = {.size = sizeof cb};
  cb.user_data = c;
  cb.on_pipeline_start = cb_pipe_start;
  cb.on_pipeline_end = cb_pipe_end;
  cb.on_map_start = cb_map_start;
  cb.on_map_end = cb_map_end;
  cb.on_item_start = cb_item_start;
  cb.on_item_end = cb_item_end;
  cb.on_node_start = cb_node_start;
  cb.on_node_end = cb_node_end;
  cb.on_error = cb_error;
  return cb;
}

static hn_pipeline *chain3(void) {
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "chain", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "a", "x", "x1: int64", f_inc, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "b", "x1", "x2: int64", f_inc, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "c", "x2", "x3: int64", f_inc, NULL), NULL);
  return p;
}

static void test_callback_counts(void **state) {
  (void)state;
  hn_pipeline *p = chain3();
  const int64_t n = 50;
  hn_inputs *in = inputs_with_column(NULL, "x", n);
  for (int k = 0; k < 3; k++) {
    hn_engine *e = k == 0 ? engine_new(HN_ENGINE_SEQUENTIAL, 0, 0)
                          : engine_new(HN_ENGINE_THREADS, 3, k == 1 ? 1 : 0);
    counts *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->workers = hn_engine_workers(e);
    hn_callbacks cb = all_callbacks(c);
    static const char *const over[1] = {"x"};
    hn_run_options o = map_opts(over);
    o.callbacks = &cb;
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    assert_int_equal(c->pipe_start[0], 1);
    assert_int_equal(c->pipe_end[0], 1);
    assert_int_equal(c->map_start, 1);
    assert_int_equal(c->map_end, 1);
    assert_int_equal(c->n_items_seen, n);
    assert_int_equal(c->item_start[0], n);
    assert_int_equal(c->item_end[0], n);
    assert_int_equal(c->node_start[0], 3 * n);
    assert_int_equal(c->node_end[0], 3 * n);
    assert_int_equal(c->error, 0);
    assert_int_equal(c->bad_worker, 0);
    assert_int_equal(c->bad_rows, 0);
    for (int64_t i = 0; i < n; i++) assert_int_equal(c->seen[i], 1);
    hn_result_destroy(r);

    /* run: pipeline and node events only. */
    memset(c, 0, sizeof *c);
    c->workers = hn_engine_workers(e);
    hn_inputs *one = NULL;
    HN_CHECK(hn_inputs_create(NULL, &one, NULL), NULL);
    HN_CHECK(hn_inputs_set_int64(one, "x", 4, NULL), NULL);
    hn_run_options ro = {.size = sizeof ro};
    ro.callbacks = &cb;
    HN_CHECK(hn_pipeline_run(p, e, one, &ro, &r, &err), &err);
    assert_int_equal(c->pipe_start[0], 1);
    assert_int_equal(c->pipe_end[0], 1);
    assert_int_equal(c->map_start + c->map_end, 0);
    assert_int_equal(c->item_start[0], 0);
    assert_int_equal(c->node_start[0], 3);
    assert_int_equal(c->node_end[0], 3);
    assert_int_equal(hn_array_get(hn_table_column_by_name(hn_result_table(r), "x3"), 0).v.i64, 7);
    hn_result_destroy(r);
    hn_inputs_destroy(one);
    free(c);
    hn_engine_destroy(e);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* Nested items fire depth-1 events with "outer/inner" paths. */
static void test_nested_callbacks(void **state) {
  (void)state;
  hn_pipeline *p = mixed_pipeline(NULL);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, NULL), NULL);
  /* x = 11, 12: "x11" (3 chars), "x12" (3 chars). */
  hn_builder *b = NULL;
  hn_array *col = NULL;
  HN_CHECK(hn_builder_create(NULL, I64T, &b, NULL), NULL);
  HN_CHECK(hn_builder_append_int64(b, 11), NULL);
  HN_CHECK(hn_builder_append_int64(b, 12), NULL);
  HN_CHECK(hn_builder_finish(b, &col, NULL), NULL);
  hn_builder_destroy(b);
  HN_CHECK(hn_inputs_set_column(in, "x", col, NULL), NULL);
  hn_array_release(col);
  counts *c = calloc(1, sizeof *c);
  assert_non_null(c);
  c->workers = 1;
  hn_callbacks cb = all_callbacks(c);
  static const char *const over[1] = {"x"};
  static const char *const want[1] = {"ws"};
  hn_run_options o = map_opts(over);
  o.callbacks = &cb;
  o.n_outputs = 1;
  o.outputs = want;
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, NULL, in, &o, &r, &err), &err);
  assert_int_equal(c->item_start[0], 2);
  assert_int_equal(c->item_start[1], 6);
  assert_int_equal(c->item_end[1], 6);
  assert_int_equal(c->pipe_start[1], 2); /* one nested execution per outer item */
  assert_int_equal(c->pipe_end[1], 2);
  assert_int_equal(c->node_start[1], 6);     /* "wrap" per inner item */
  assert_int_equal(c->node_start[0], 2 * 3); /* spell, chars, each */
  static const char *const paths[6] = {"0/0", "0/1", "0/2", "1/0", "1/1", "1/2"};
  assert_int_equal(c->n_paths, 6);
  for (int i = 0; i < 6; i++) assert_string_equal(c->paths[i], paths[i]);
  hn_result_destroy(r);
  free(c);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- context: arena and worker --------------------------------------------------- */

typedef struct ctx_probe {
  _Atomic int64_t dirty; /* calls that found the arena in use at entry */
  _Atomic int64_t calls;
  _Atomic uint64_t worker_mask;
  _Atomic int64_t bad_worker;
  int workers;
} ctx_probe;

static hn_status f_arena_user(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  ctx_probe *pr = ud;
  atomic_fetch_add(&pr->calls, 1);
  hn_arena *arena = hn_ctx_arena(ctx);
  if (!arena) return hn_ctx_fail(ctx, "no arena");
  if (hn_arena_used(arena) != 0) atomic_fetch_add(&pr->dirty, 1);
  char *buf = hn_arena_alloc(arena, 1000, 8);
  if (!buf) return hn_ctx_fail(ctx, "arena full");
  memset(buf, 'a', 1000);
  int w = hn_ctx_worker(ctx);
  if (w < 0 || w >= pr->workers || w >= 64)
    atomic_fetch_add(&pr->bad_worker, 1);
  else
    atomic_fetch_or(&pr->worker_mask, (uint64_t)1 << w);
  return hn_builder_append_int64(out[0], in[0].v.i64 + (buf[999] == 'a'));
}

static void test_context(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  ctx_probe pr = {0};
  HN_CHECK(hn_pipeline_create(NULL, "ctx", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add_ex(p, "a1", "x", "y: int64", f_arena_user, NULL, &pr, NULL, NULL), NULL);
  HN_CHECK(hn_pipeline_add_ex(p, "a2", "y", "z: int64", f_arena_user, NULL, &pr, NULL, NULL), NULL);
  hn_inputs *in = inputs_with_column(NULL, "x", 400);
  for (int k = 0; k < 2; k++) {
    hn_engine *e =
        k == 0 ? engine_new(HN_ENGINE_SEQUENTIAL, 0, 0) : engine_new(HN_ENGINE_THREADS, 3, 1);
    pr.workers = hn_engine_workers(e);
    atomic_store(&pr.calls, 0);
    atomic_store(&pr.worker_mask, 0);
    static const char *const over[1] = {"x"};
    hn_run_options o = map_opts(over);
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    assert_int_equal(atomic_load(&pr.calls), 800);
    assert_int_equal(atomic_load(&pr.dirty), 0);
    assert_int_equal(atomic_load(&pr.bad_worker), 0);
    assert_true(atomic_load(&pr.worker_mask) != 0);
    if (k == 0) assert_int_equal(atomic_load(&pr.worker_mask), 1);
    hn_result_stats s = hn_test_stats(r);
    assert_true(s.workers >= 1 && s.workers <= pr.workers);
    assert_int_equal(hn_array_get(hn_table_column_by_name(hn_result_table(r), "z"), 10).v.i64, 12);
    hn_result_destroy(r);
    hn_engine_destroy(e);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- batch-only nodes -------------------------------------------------------------- */

static hn_status b_len_plus(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out,
                            hn_ctx *ctx) {
  _Atomic int64_t *calls = ud;
  atomic_fetch_add(calls, 1);
  if (n != 1) return hn_ctx_fail(ctx, "expected one row, got %lld", (long long)n);
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, I64T, &b, NULL);
  if (st != HN_OK) return st;
  hn_datum s = hn_array_get(in[0].array, 0), x = hn_array_get(in[1].array, 0);
  st = s.is_null ? hn_builder_append_null(b) : hn_builder_append_int64(b, s.v.str.size + x.v.i64);
  if (st == HN_OK) st = hn_builder_finish(b, out, NULL);
  hn_builder_destroy(b);
  return st;
}

static hn_status b_wrong_length(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out,
                                hn_ctx *ctx) {
  (void)ud;
  (void)n;
  (void)ctx;
  *out = hn_array_retain((hn_array *)in[0].array); /* the whole int64 column: 1 row, fine */
  return HN_OK;
}

static void test_batch_only(void **state) {
  (void)state;
  _Atomic int64_t calls = 0;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "batchy", &p, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "spell", "x", "s: utf8", f_spell, NULL), NULL);
  HN_CHECK(
      hn_pipeline_add_ex(p, "lenplus", "s, x", "n: int64", NULL, b_len_plus, &calls, NULL, NULL),
      NULL);
  HN_CHECK(hn_pipeline_add_ex(p, "echo", "n", "m: int64", NULL, b_wrong_length, NULL, NULL, NULL),
           NULL);
  HN_CHECK(hn_pipeline_add(p, "after", "m", "k: int64", f_inc, NULL), NULL);
  hn_inputs *in = inputs_with_column(NULL, "x", 120);
  for (int k = 0; k < 2; k++) {
    atomic_store(&calls, 0);
    hn_engine *e =
        k == 0 ? engine_new(HN_ENGINE_SEQUENTIAL, 0, 0) : engine_new(HN_ENGINE_THREADS, 2, 7);
    static const char *const over[1] = {"x"};
    hn_run_options o = map_opts(over);
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    assert_int_equal(atomic_load(&calls), 120);
    hn_array *kc = hn_table_column_by_name(hn_result_table(r), "k");
    for (int64_t i = 0; i < 120; i++) {
      hn_datum d = hn_array_get(kc, i);
      if (i % 13 == 0) {
        assert_true(d.is_null);
      } else {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "x%lld", (long long)i);
        assert_false(d.is_null);
        assert_int_equal(d.v.i64, len + i + 1);
      }
    }
    hn_result_destroy(r);
    hn_engine_destroy(e);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- misuse: not exactly one value per output ---------------------------------------- */

static hn_status f_twice(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  hn_status st = hn_builder_append_int64(out[0], in[0].v.i64);
  if (st == HN_OK && in[0].v.i64 % 2 == 1) st = hn_builder_append_int64(out[0], 0);
  return st;
}

static hn_status f_none(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)in;
  (void)out;
  (void)ctx;
  return HN_OK;
}

/* Appends list items without closing the element: must be rolled back. */
static hn_status f_open_list(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  hn_status st = hn_builder_append_int64(hn_builder_child(out[0], 0), in[0].v.i64);
  if (st != HN_OK) return st;
  if (in[0].v.i64 % 3 == 0) return hn_ctx_fail(ctx, "gave up");
  return hn_builder_finish_element(out[0]);
}

static void test_append_misuse(void **state) {
  (void)state;
  for (int k = 0; k < 2; k++) {
    hn_engine *e =
        k == 0 ? engine_new(HN_ENGINE_SEQUENTIAL, 0, 0) : engine_new(HN_ENGINE_THREADS, 2, 2);
    static const char *const over[1] = {"x"};
    hn_run_options o = map_opts(over);
    hn_error err;
    hn_result *r = NULL;
    hn_inputs *in = inputs_with_column(NULL, "x", 10);

    hn_pipeline *p = NULL;
    HN_CHECK(hn_pipeline_create(NULL, "misuse", &p, NULL), NULL);
    HN_CHECK(hn_pipeline_add(p, "twice", "x", "y: int64", f_twice, &err), &err);
    assert_int_equal(hn_pipeline_map(p, e, in, &o, &r, &err), HN_ENODE);
    assert_string_equal(err.node, "twice");
    assert_string_equal(err.item_path, "1");
    assert_non_null(
        strstr(err.message, "node 'twice' appended 2 values to output 'y' (expected 1)"));
    o.error_policy = HN_ERRORS_CONTINUE;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    hn_array *y = hn_table_column(hn_result_table(r), 0);
    assert_int_equal(hn_array_length(y), 10);
    for (int64_t i = 0; i < 10; i++) {
      hn_datum d = hn_array_get(y, i);
      assert_int_equal(d.is_null, i % 2 == 1);
      if (!d.is_null) assert_int_equal(d.v.i64, i);
    }
    assert_int_equal(hn_table_num_rows(hn_result_errors(r)), 5);
    hn_result_destroy(r);
    hn_pipeline_release(p);

    o.error_policy = HN_ERRORS_RAISE;
    HN_CHECK(hn_pipeline_create(NULL, "misuse0", &p, NULL), NULL);
    HN_CHECK(hn_pipeline_add(p, "none", "x", "y: int64", f_none, &err), &err);
    assert_int_equal(hn_pipeline_map(p, e, in, &o, &r, &err), HN_ENODE);
    assert_non_null(
        strstr(err.message, "node 'none' appended 0 values to output 'y' (expected 1)"));
    assert_string_equal(err.item_path, "0");
    hn_pipeline_release(p);

    /* A failing call's partial list items are rolled back. */
    HN_CHECK(hn_pipeline_create(NULL, "open", &p, NULL), NULL);
    HN_CHECK(hn_pipeline_add(p, "open", "x", "l: list<int64>", f_open_list, &err), &err);
    HN_CHECK(hn_pipeline_add(p, "count", "l", "n: int64", f_count, &err), &err);
    o.error_policy = HN_ERRORS_CONTINUE;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    HN_CHECK(hn_table_validate(hn_result_table(r), true, &err), &err);
    hn_array *l = hn_table_column_by_name(hn_result_table(r), "l");
    for (int64_t i = 0; i < 10; i++) {
      hn_datum d = hn_array_get(l, i);
      assert_int_equal(d.is_null, i % 3 == 0);
      if (!d.is_null) {
        assert_int_equal(d.v.list.length, 1);
        assert_int_equal(hn_list_view_get(d.v.list, 0).v.i64, i);
      }
    }
    hn_result_destroy(r);
    hn_pipeline_release(p);
    hn_inputs_destroy(in);
    hn_engine_destroy(e);
  }
}

/* ---- object outputs across chunks ---------------------------------------------------- */

static _Atomic int64_t g_objects_live;

static void obj_free(void *ctx, void *object) {
  (void)ctx;
  free(object);
  atomic_fetch_sub(&g_objects_live, 1);
}

/* x -> a heap int64 holding x * 5 (the type has no copy function). */
static hn_status f_box(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].v.i64 % 11 == 3) return hn_builder_append_null(out[0]);
  int64_t *box = malloc(sizeof *box);
  if (!box) return HN_ENOMEM;
  *box = in[0].v.i64 * 5;
  atomic_fetch_add(&g_objects_live, 1);
  hn_status st = hn_builder_append_object(out[0], box);
  if (st != HN_OK) obj_free(NULL, box);
  return st;
}

static hn_status f_unbox(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], *(int64_t *)in[0].v.object);
}

static void test_object_outputs(void **state) {
  (void)state;
  hn_object_vtable vt = {obj_free, NULL, NULL, NULL};
  const hn_type *boxed = NULL;
  HN_CHECK(hn_type_object_create(NULL, "box", &vt, &boxed, NULL), NULL);
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "objects", &p, NULL), NULL);
  /* An object output type carries functions: the full-power definition. */
  hn_node_def box = {.size = sizeof box,
                     .name = "box",
                     .n_inputs = 1,
                     .inputs = (const char *[]){"x"},
                     .n_outputs = 1,
                     .outputs = (const char *[]){"b"},
                     .output_types = &boxed,
                     .row = f_box};
  HN_CHECK(hn_pipeline_add_node(p, &box, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "unbox", "b", "v: int64", f_unbox, NULL), NULL);
  hn_inputs *in = inputs_with_column(NULL, "x", 100);
  for (int k = 0; k < 3; k++) {
    hn_engine *e = k == 0 ? engine_new(HN_ENGINE_SEQUENTIAL, 0, 0)
                          : engine_new(HN_ENGINE_THREADS, 2, k == 1 ? 3 : 0);
    static const char *const over[1] = {"x"};
    hn_run_options o = map_opts(over);
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, e, in, &o, &r, &err), &err);
    hn_table *t = hn_result_table(r);
    HN_CHECK(hn_table_validate(t, false, &err), &err);
    hn_array *b = hn_table_column_by_name(t, "b"), *v = hn_table_column_by_name(t, "v");
    for (int64_t i = 0; i < 100; i++) {
      hn_datum db = hn_array_get(b, i), dv = hn_array_get(v, i);
      assert_int_equal(db.is_null, i % 11 == 3);
      assert_int_equal(dv.is_null, i % 11 == 3);
      if (!db.is_null) {
        assert_int_equal(*(int64_t *)db.v.object, i * 5);
        assert_int_equal(dv.v.i64, i * 5);
      }
    }
    assert_int_equal(atomic_load(&g_objects_live), 100 - 9); /* 3, 14, ..., 91 are null */
    hn_result_destroy(r);
    assert_int_equal(atomic_load(&g_objects_live), 0);
    hn_engine_destroy(e);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_type_release(boxed);
}

/* ---- re-entry ------------------------------------------------------------------------ */

typedef struct reenter {
  hn_engine *engine;
  hn_pipeline *other;
  _Atomic int64_t einval, other_status;
} reenter;

static hn_status f_reenter(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  reenter *re = ud;
  hn_result *r = NULL;
  hn_error err;
  hn_status st = hn_pipeline_run(re->other, re->engine, NULL, NULL, &r, &err);
  if (st == HN_EINVAL && strstr(err.message, "one call at a time"))
    atomic_fetch_add(&re->einval, 1);
  else
    atomic_store(&re->other_status, st);
  hn_result_destroy(r);
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

static void test_reentry(void **state) {
  (void)state;
  for (int k = 0; k < 2; k++) {
    reenter re = {0};
    re.engine =
        k == 0 ? engine_new(HN_ENGINE_SEQUENTIAL, 0, 0) : engine_new(HN_ENGINE_THREADS, 2, 1);
    HN_CHECK(hn_pipeline_create(NULL, "other", &re.other, NULL), NULL);
    hn_pipeline *p = NULL;
    HN_CHECK(hn_pipeline_create(NULL, "outer", &p, NULL), NULL);
    HN_CHECK(hn_pipeline_add_ex(p, "re", "x", "y: int64", f_reenter, NULL, &re, NULL, NULL), NULL);
    hn_inputs *in = inputs_with_column(NULL, "x", 5);
    static const char *const over[1] = {"x"};
    hn_run_options o = map_opts(over);
    hn_result *r = NULL;
    hn_error err;
    HN_CHECK(hn_pipeline_map(p, re.engine, in, &o, &r, &err), &err);
    assert_int_equal(atomic_load(&re.einval), 5);
    assert_int_equal(atomic_load(&re.other_status), 0);
    hn_result_destroy(r);
    /* Free again afterwards. */
    HN_CHECK(hn_pipeline_map(p, re.engine, in, &o, &r, &err), &err);
    hn_result_destroy(r);
    hn_inputs_destroy(in);
    hn_pipeline_release(p);
    hn_pipeline_release(re.other);
    hn_engine_destroy(re.engine);
  }
}

/* ---- map_over errors --------------------------------------------------------------------- */

static void test_map_over_errors(void **state) {
  (void)state;
  hn_pipeline *p = chain3();
  hn_inputs *in = inputs_with_column(NULL, "x", 3);
  hn_array *four = iota(NULL, 4);
  HN_CHECK(hn_inputs_set_column(in, "z", four, NULL), NULL);
  hn_array_release(four);
  HN_CHECK(hn_inputs_set_int64(in, "v", 1, NULL), NULL);
  hn_result *r = NULL;
  hn_error err;
  static const char *const xz[2] = {"x", "z"};
  hn_run_options o = {.size = sizeof o};
  o.n_map_over = 2;
  o.map_over = xz;
  assert_int_equal(hn_pipeline_map(p, NULL, in, &o, &r, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "zip lengths differ: x=3, z=4"));
  o.map_mode = HN_MAP_PRODUCT;
  HN_CHECK(hn_pipeline_map(p, NULL, in, &o, &r, &err), &err);
  assert_int_equal(hn_table_num_rows(hn_result_table(r)), 12);
  /* Product: the last input varies fastest, so x is row item / 4. */
  assert_int_equal(hn_array_get(hn_table_column_by_name(hn_result_table(r), "x3"), 5).v.i64, 1 + 3);
  hn_result_destroy(r);
  static const char *const v[1] = {"v"};
  o.n_map_over = 1;
  o.map_over = v;
  assert_int_equal(hn_pipeline_map(p, NULL, in, &o, &r, &err), HN_EINVAL);
  assert_string_equal(err.message, "map_over input 'v' is not a column");
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- allocation failure --------------------------------------------------------------------- */

static void test_allocation_failure(void **state) {
  (void)state;
  for (int k = 0; k < 2; k++) {
    bool done = false;
    int64_t tried = 0;
    for (int64_t step = 1; !done && step < 20000; step++) {
      hn_test_alloc ta;
      hn_test_alloc_init(&ta, 0);
      const hn_allocator *a = &ta.alloc;
      hn_pipeline *p = mixed_pipeline(a);
      hn_inputs *in = inputs_with_column(a, "x", 12);
      hn_engine *e = NULL;
      hn_engine_options eo = {.size = sizeof eo};
      eo.kind = k == 0 ? HN_ENGINE_SEQUENTIAL : HN_ENGINE_THREADS;
      eo.workers = 2;
      eo.chunk_size = 2;
      HN_CHECK(hn_engine_create(a, &eo, &e, NULL), NULL);
      ta.fail_at = ta.n_allocs + step; /* fail the step-th allocation of the map */
      static const char *const over[1] = {"x"};
      hn_run_options o = map_opts(over);
      o.error_policy = step % 2 ? HN_ERRORS_CONTINUE : HN_ERRORS_RAISE;
      hn_result *r = NULL;
      hn_error err;
      hn_status st = hn_pipeline_map(p, e, in, &o, &r, &err);
      if (ta.failures == 0) {
        /* Past the last allocation of the call. */
        if (o.error_policy == HN_ERRORS_CONTINUE)
          HN_CHECK(st, &err);
        else
          assert_int_equal(st, HN_ENODE); /* item 5 fails */
        done = true;
      } else if (st == HN_OK) {
        /* The failure hit a node's own append under CONTINUE: recorded as an item error. */
        assert_true(hn_table_num_rows(hn_result_errors(r)) >= 1);
      } else {
        assert_true(st == HN_ENOMEM || st == HN_ENODE);
        assert_null(r);
      }
      hn_result_destroy(r);
      hn_inputs_destroy(in);
      hn_pipeline_release(p);
      hn_engine_destroy(e);
      if (ta.live != 0)
        fail_msg("engine %d, failing allocation %lld: %lld allocations leaked", k, (long long)step,
                 (long long)ta.live);
      tried = step;
    }
    assert_true(done);
    assert_true(tried > 20);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_engine_kinds),
      cmocka_unit_test(test_chunking_invariance),
      cmocka_unit_test(test_raise_lowest_index),
      cmocka_unit_test(test_resources_per_worker),
      cmocka_unit_test(test_callback_counts),
      cmocka_unit_test(test_nested_callbacks),
      cmocka_unit_test(test_context),
      cmocka_unit_test(test_batch_only),
      cmocka_unit_test(test_append_misuse),
      cmocka_unit_test(test_object_outputs),
      cmocka_unit_test(test_reentry),
      cmocka_unit_test(test_map_over_errors),
      cmocka_unit_test(test_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
