/*
 * The cache of node results (docs/cache.md), through run and map on the
 * engine named by argv[1]: exact hit and miss counts across runs, maps,
 * product maps and nested pipelines; a version bump re-runs that node and
 * its descendants only; a changed item re-runs that item only; results and
 * error tables identical to an uncached call; failed items never stored;
 * a flipped byte detected and recomputed; eviction within the bound; the
 * modes (recompute, read-only) and per-node policies; objects and
 * unversioned resources not cached; two processes mapping into one
 * directory at once; a mapping process killed with SIGKILL, after which
 * nothing corrupt is ever returned.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache/cache_internal.h"
#include "test_support.h"

static hn_engine_kind g_kind;
static const char *g_self; /* argv[0]: children are this executable again */
static hn_engine *g_engine;

/* ---- the pipeline: inc (x -> y), dbl (y -> z), fmt (x, z -> w) --------------------- */

enum { FAIL_Y = 13 }; /* dbl fails on y == 13 (x == 12) when the pipeline is made failing */

static hn_status inc(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

static hn_status dbl(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  if (ud && in[0].v.i64 == FAIL_Y) return hn_ctx_fail(ctx, "y is %d", FAIL_Y);
  return hn_builder_append_int64(out[0], in[0].v.i64 * 2);
}

static hn_status fmt(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  char s[96];
  int n = snprintf(s, sizeof s, "MARKER x=%lld z=%lld ........................",
                   (long long)in[0].v.i64, (long long)in[1].v.i64);
  return hn_builder_append_str(out[0], s, n);
}

/* The three-node pipeline; dbl's version `dbl_version`, failing on y == 13 when `failing`. */
static hn_pipeline *three(const char *dbl_version, bool failing) {
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "three", &p, &err), &err);
  hn_node_spec nodes[] = {
      HN_NODE("inc", "x: int64", "y: int64", inc),
      {.name = "dbl",
       .inputs = "y",
       .outputs = "z: int64",
       .row = dbl,
       .user_data = failing ? (void *)1 : NULL,
       .version = dbl_version},
      HN_NODE("fmt", "x, z", "w: utf8", fmt),
  };
  HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err), &err);
  return p;
}

/* ---- counting cache events, per node ------------------------------------------------ */

typedef struct counts {
  int64_t hit[4], miss[4], write[4]; /* inc, dbl, fmt, other */
  char last_miss_message[HN_ERROR_MESSAGE_MAX];
} counts;

static int node_slot(const char *node) {
  static const char *const names[] = {"inc", "dbl", "fmt"};
  for (int k = 0; k < 3; k++)
    if (node && strcmp(node, names[k]) == 0) return k;
  return 3;
}

static void on_hit(void *ud, const hn_event *ev) {
  ((counts *)ud)->hit[node_slot(ev->node)] += ev->n_rows;
}
static void on_miss(void *ud, const hn_event *ev) {
  counts *c = ud;
  c->miss[node_slot(ev->node)] += ev->n_rows;
  if (ev->message) snprintf(c->last_miss_message, sizeof c->last_miss_message, "%s", ev->message);
}
static void on_write(void *ud, const hn_event *ev) {
  ((counts *)ud)->write[node_slot(ev->node)] += ev->n_rows;
}

static void expect_node(const counts *c, int node, int64_t hits, int64_t misses) {
  if (c->hit[node] != hits || c->miss[node] != misses)
    fail_msg("node %d: %lld hits, %lld misses; expected %lld, %lld", node, (long long)c->hit[node],
             (long long)c->miss[node], (long long)hits, (long long)misses);
}

/* ---- calls ------------------------------------------------------------------------------ */

static hn_array *int64_column(const int64_t *v, int64_t n) {
  hn_builder *b = NULL;
  hn_array *out = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_values(b, v, n), NULL);
  HN_CHECK(hn_builder_finish(b, &out, NULL), NULL);
  hn_builder_destroy(b);
  return out;
}

/* xs[i] = first + i */
static hn_array *range(int64_t first, int64_t n) {
  int64_t *v = malloc(sizeof *v * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) v[i] = first + i;
  hn_array *a = int64_column(v, n);
  free(v);
  return a;
}

typedef struct call {
  hn_pipeline *p;
  hn_engine *engine; /* NULL: g_engine */
  hn_inputs *in;
  const char *map_over; /* NULL: a run */
  hn_map_mode mode;
  const char *outputs;
  hn_error_policy policy;
  hn_cache *cache;
  hn_cache_mode cache_mode;
  hn_cache_nodes cache_nodes;
  counts *counts; /* NULL: none */
} call;

static hn_status do_call(const call *c, hn_result **out, hn_error *err) {
  hn_callbacks cb = {.size = sizeof cb, .user_data = c->counts};
  if (c->counts) {
    cb.on_cache_hit = on_hit;
    cb.on_cache_miss = on_miss;
    cb.on_cache_write = on_write;
  }
  hn_run_options o = {.size = sizeof o,
                      .outputs_spec = c->outputs,
                      .map_over_spec = c->map_over,
                      .map_mode = c->mode,
                      .error_policy = c->policy,
                      .callbacks = &cb,
                      .cache = c->cache,
                      .cache_mode = c->cache_mode,
                      .cache_nodes = c->cache_nodes};
  hn_engine *e = c->engine ? c->engine : g_engine;
  return c->map_over ? hn_pipeline_map(c->p, e, c->in, &o, out, err)
                     : hn_pipeline_run(c->p, e, c->in, &o, out, err);
}

static void expect_tables_equal(const hn_table *a, const hn_table *b) {
  assert_int_equal(hn_table_num_columns(a), hn_table_num_columns(b));
  assert_int_equal(hn_table_num_rows(a), hn_table_num_rows(b));
  for (int64_t c = 0; c < hn_table_num_columns(a); c++) {
    assert_string_equal(hn_table_column_name(a, c), hn_table_column_name(b, c));
    if (!hn_array_equals(hn_table_column(a, c), hn_table_column(b, c)))
      fail_msg("column '%s' differs from the uncached call's", hn_table_column_name(a, c));
  }
}

/*
 * Make call c with its cache, and without it on a sequential engine; the
 * results, error tables and stats (items, failures) must agree. Returns the
 * cached call's stats.
 */
static hn_result_stats call_checked(call c) {
  hn_result *got = NULL, *want = NULL;
  hn_error err, err2;
  hn_error_reset(&err);
  hn_error_reset(&err2);
  hn_status st = do_call(&c, &got, &err);
  call plain = c;
  plain.cache = NULL;
  plain.counts = NULL;
  plain.engine = NULL;
  hn_engine *seq = NULL;
  HN_CHECK(hn_engine_create(NULL, NULL, &seq, &err2), &err2);
  plain.engine = seq;
  hn_status st2 = do_call(&plain, &want, &err2);
  hn_engine_destroy(seq);
  if (st != st2)
    fail_msg("cached: %s (%s); uncached: %s (%s)", hn_status_str(st), err.message,
             hn_status_str(st2), err2.message);
  hn_result_stats s = {0};
  if (st != HN_OK) {
    assert_string_equal(err.message, err2.message);
    assert_string_equal(err.node, err2.node);
    assert_string_equal(err.item_path, err2.item_path);
    return s;
  }
  expect_tables_equal(hn_result_table(got), hn_result_table(want));
  expect_tables_equal(hn_result_errors(got), hn_result_errors(want));
  s = hn_test_stats(got);
  hn_result_stats s2 = hn_test_stats(want);
  assert_int_equal(s.n_items, s2.n_items);
  assert_int_equal(s.n_failed, s2.n_failed);
  assert_int_equal(s2.cache_hits + s2.cache_misses, 0);
  hn_result_destroy(got);
  hn_result_destroy(want);
  return s;
}

/* ---- fixtures ---------------------------------------------------------------------------- */

typedef struct fixture {
  char dir[64];
  hn_cache *cache;
} fixture;

static void rm_cache_dir(const char *dir) {
  char path[128];
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/lock.mdb", dir);
  unlink(path);
  rmdir(dir);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/hn_cache_test_XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  hn_error err;
  if (hn_cache_open(NULL, f->dir, NULL, &f->cache, &err) != HN_OK) return -1;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  hn_cache_close(f->cache);
  rm_cache_dir(f->dir);
  free(f);
  return 0;
}

static hn_inputs *x_inputs(hn_array *xs) {
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, NULL), NULL);
  HN_CHECK(hn_inputs_set_column(in, "x", xs, NULL), NULL);
  hn_array_release(xs);
  return in;
}

static hn_cache_usage usage(const char *dir) {
  hn_cache_usage u = {0};
  hn_error err;
  HN_CHECK(hn_cache_usage_of(NULL, dir, &u, sizeof u, &err), &err);
  return u;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_counts_across_runs_and_maps(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, false);
  hn_inputs *in = x_inputs(range(100, 50));
  counts c = {0};
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache, .counts = &c};
  /* Cold: every node computes every item, and writes it. */
  hn_result_stats s = call_checked(k);
  assert_int_equal(s.cache_hits, 0);
  assert_int_equal(s.cache_misses, 150);
  assert_true(s.cache_bytes_written > 0);
  for (int n = 0; n < 3; n++) {
    expect_node(&c, n, 0, 50);
    assert_int_equal(c.write[n], 50);
  }
  /* Warm: everything found, nothing written. */
  memset(&c, 0, sizeof c);
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 150);
  assert_int_equal(s.cache_misses, 0);
  assert_int_equal(s.cache_bytes_written, 0);
  assert_true(s.cache_bytes_read > 0);
  for (int n = 0; n < 3; n++) expect_node(&c, n, 50, 0);
  /* Only w asked for: fmt is found, its inputs are not even looked up. */
  memset(&c, 0, sizeof c);
  k.outputs = "w";
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 50);
  assert_int_equal(s.cache_misses, 0);
  expect_node(&c, 0, 0, 0);
  expect_node(&c, 2, 50, 0);
  /* A run of one of the items has the same keys as its map item. */
  hn_inputs *one = NULL;
  HN_CHECK(hn_inputs_create(NULL, &one, NULL), NULL);
  HN_CHECK(hn_inputs_set_int64(one, "x", 107, NULL), NULL);
  memset(&c, 0, sizeof c);
  call r = {.p = p, .in = one, .cache = f->cache, .counts = &c};
  s = call_checked(r);
  assert_int_equal(s.cache_hits, 3);
  assert_int_equal(s.cache_misses, 0);
  /* A larger map: the 50 old items found, 10 new ones computed; the chunk is written whole
   * (found rows too), so that the same map again reads it as one value. */
  hn_inputs_destroy(in);
  in = x_inputs(range(90, 60));
  k.in = in;
  k.outputs = NULL;
  memset(&c, 0, sizeof c);
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 150);
  assert_int_equal(s.cache_misses, 30);
  for (int n = 0; n < 3; n++) assert_int_equal(c.write[n], 60);
  assert_int_equal(usage(f->dir).chunks, 6);
  hn_inputs_destroy(one);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static hn_status add_k(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 * 100 + in[1].v.i64);
}

static void test_product_map(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, false);
  hn_error err;
  HN_CHECK(hn_pipeline_add(p, "addk", "z, k: int64", "v: int64", add_k, &err), &err);
  hn_inputs *in = x_inputs(range(0, 5));
  hn_array *ks = range(7, 4);
  HN_CHECK(hn_inputs_set_column(in, "k", ks, &err), &err);
  hn_array_release(ks);
  counts c = {0};
  call k = {.p = p,
            .in = in,
            .map_over = "x, k",
            .mode = HN_MAP_PRODUCT,
            .cache = f->cache,
            .counts = &c};
  hn_result_stats s = call_checked(k);
  assert_int_equal(s.n_items, 20);
  assert_int_equal(s.cache_misses, 80);
  memset(&c, 0, sizeof c);
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 80);
  assert_int_equal(s.cache_misses, 0);
  /* The other order of the product: the same (x, k) pairs, found in another order. */
  k.map_over = "k, x";
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 80);
  assert_int_equal(s.cache_misses, 0);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_version_bump_reruns_descendants(void **state) {
  fixture *f = *state;
  hn_pipeline *p1 = three("1", false), *p2 = three("2", false);
  hn_inputs *in = x_inputs(range(0, 40));
  counts c = {0};
  call k = {.p = p1, .in = in, .map_over = "x", .cache = f->cache, .counts = &c};
  (void)call_checked(k);
  memset(&c, 0, sizeof c);
  k.p = p2;
  hn_result_stats s = call_checked(k);
  expect_node(&c, 0, 40, 0); /* inc: untouched */
  expect_node(&c, 1, 0, 40); /* dbl: its version changed */
  expect_node(&c, 2, 0, 40); /* fmt: downstream of it */
  assert_int_equal(s.cache_hits, 40);
  /* Back to version 1: all of it is still there. */
  memset(&c, 0, sizeof c);
  k.p = p1;
  s = call_checked(k);
  assert_int_equal(s.cache_misses, 0);
  hn_inputs_destroy(in);
  hn_pipeline_release(p1);
  hn_pipeline_release(p2);
}

static void test_changed_item_reruns_only_it(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, false);
  hn_inputs *in = x_inputs(range(0, 40));
  counts c = {0};
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache, .counts = &c};
  (void)call_checked(k);
  int64_t v[40];
  for (int i = 0; i < 40; i++) v[i] = i;
  v[7] = 1007;
  hn_error err;
  hn_array *xs = int64_column(v, 40);
  HN_CHECK(hn_inputs_set_column(in, "x", xs, &err), &err);
  hn_array_release(xs);
  memset(&c, 0, sizeof c);
  hn_result_stats s = call_checked(k);
  for (int n = 0; n < 3; n++) expect_node(&c, n, 39, 1);
  assert_int_equal(s.cache_misses, 3);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- nested pipelines ----------------------------------------------------------------- */

static hn_status split(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  hn_builder *items = hn_builder_child(out[0], 0);
  for (int64_t k = 0; k < 3; k++) {
    hn_status st = hn_builder_append_int64(items, in[0].v.i64 * 10 + k);
    if (st != HN_OK) return st;
  }
  return hn_builder_finish_element(out[0]);
}

static hn_status total(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  const hn_list_view *l = &in[0].v.list;
  int64_t sum = 0;
  for (int64_t k = 0; k < l->length; k++) sum += hn_array_get(l->values, l->start + k).v.i64;
  return hn_builder_append_int64(out[0], sum);
}

/* split (x -> parts), per (a nested inc -> dbl over parts -> zs), total (zs -> t). */
static hn_pipeline *nested(const char *inner_version) {
  hn_pipeline *inner = NULL, *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "inner", &inner, &err), &err);
  hn_node_spec nodes[] = {
      HN_NODE("inc", "x: int64", "y: int64", inc),
      {.name = "dbl", .inputs = "y", .outputs = "z: int64", .row = dbl, .version = inner_version},
  };
  HN_CHECK(hn_pipeline_add_nodes(inner, HN_NODE_SPECS(nodes), &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "outer", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "split", "x: int64", "parts: list<int64>", split, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "per", inner, "parts=x", "z=zs", "parts", HN_MAP_ZIP, &err),
           &err);
  HN_CHECK(hn_pipeline_add(p, "total", "zs: list<int64>", "t: int64", total, &err), &err);
  hn_pipeline_release(inner);
  return p;
}

static void test_nested_pipeline(void **state) {
  fixture *f = *state;
  hn_pipeline *p1 = nested("1"), *p2 = nested("2");
  hn_inputs *in = x_inputs(range(0, 20));
  counts c = {0};
  call k = {.p = p1, .in = in, .map_over = "x", .cache = f->cache, .counts = &c};
  hn_result_stats s = call_checked(k);
  assert_int_equal(s.cache_misses, 60); /* one key per outer item for the nested node too */
  memset(&c, 0, sizeof c);
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 60);
  assert_int_equal(s.cache_misses, 0);
  /* A node inside changed: the nested node and what follows it run again, split does not. */
  memset(&c, 0, sizeof c);
  k.p = p2;
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 20);
  assert_int_equal(s.cache_misses, 40);
  assert_int_equal(c.miss[3], 40); /* per and total */
  hn_inputs_destroy(in);
  hn_pipeline_release(p1);
  hn_pipeline_release(p2);
}

/* ---- failures ------------------------------------------------------------------------------ */

static void test_failed_items_never_stored(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, true);
  hn_inputs *in = x_inputs(range(0, 30)); /* x = 12 fails in dbl */
  counts c = {0};
  call k = {.p = p,
            .in = in,
            .map_over = "x",
            .policy = HN_ERRORS_CONTINUE,
            .cache = f->cache,
            .counts = &c};
  hn_result_stats s = call_checked(k);
  assert_int_equal(s.n_failed, 1);
  for (int n = 0; n < 3; n++) assert_int_equal(c.write[n], 29);
  /* The failed item runs again, and fails again, with the same error table. */
  memset(&c, 0, sizeof c);
  s = call_checked(k);
  assert_int_equal(s.n_failed, 1);
  for (int n = 0; n < 3; n++) expect_node(&c, n, 29, 1);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_raise_reports_the_first_failure(void **state) {
  fixture *f = *state;
  hn_pipeline *ok = three(NULL, false), *bad = three(NULL, true);
  hn_inputs *in = x_inputs(range(0, 30));
  /* Items 0..9 and 20..29 stored; 10..19 (12 fails) not: the groups differ. */
  hn_inputs *part = x_inputs(range(0, 10));
  call k = {.p = ok, .in = part, .map_over = "x", .cache = f->cache};
  (void)call_checked(k);
  hn_inputs_destroy(part);
  part = x_inputs(range(20, 10));
  k.in = part;
  (void)call_checked(k);
  k.p = bad;
  k.in = in;
  (void)call_checked(k); /* HN_ENODE for item 12, as without a cache (checked inside) */
  hn_inputs_destroy(part);
  hn_inputs_destroy(in);
  hn_pipeline_release(ok);
  hn_pipeline_release(bad);
}

/* ---- the store's guarantees -------------------------------------------------------------- */

/* Flip one byte of the first "MARKER" text found in dir/data.mdb; false when none is. */
static bool flip_marker(const char *dir) {
  char path[128];
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  FILE *fp = fopen(path, "r+b");
  if (!fp) return false;
  fseek(fp, 0, SEEK_END);
  long size = ftell(fp);
  char *buf = malloc((size_t)size);
  fseek(fp, 0, SEEK_SET);
  bool flipped = false;
  if (fread(buf, 1, (size_t)size, fp) == (size_t)size) {
    for (long i = 0; i + 6 < size && !flipped; i++) {
      if (memcmp(buf + i, "MARKER", 6) != 0) continue;
      buf[i + 2] ^= 0x20;
      fseek(fp, i + 2, SEEK_SET);
      flipped = fwrite(buf + i + 2, 1, 1, fp) == 1;
    }
  }
  fclose(fp);
  free(buf);
  return flipped;
}

static void test_flipped_byte_is_recomputed(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, false);
  hn_inputs *in = x_inputs(range(0, 50));
  counts c = {0};
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache, .counts = &c};
  (void)call_checked(k);
  hn_cache_close(f->cache);
  assert_true(flip_marker(f->dir));
  hn_error err;
  HN_CHECK(hn_cache_open(NULL, f->dir, NULL, &f->cache, &err), &err);
  k.cache = f->cache;
  memset(&c, 0, sizeof c);
  hn_result_stats s = call_checked(k); /* the right results all the same */
  expect_node(&c, 2, 0, 50);           /* fmt's chunk dropped and recomputed */
  assert_non_null(strstr(c.last_miss_message, "checksum"));
  assert_int_equal(s.cache_hits, 100);
  memset(&c, 0, sizeof c);
  s = call_checked(k); /* and written again */
  assert_int_equal(s.cache_misses, 0);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_eviction_keeps_the_bound(void **state) {
  fixture *f = *state;
  enum { BOUND = 256 << 10 };
  hn_cache_close(f->cache);
  hn_cache_options co = {.size = sizeof co, .max_bytes = BOUND};
  hn_error err;
  HN_CHECK(hn_cache_open(NULL, f->dir, &co, &f->cache, &err), &err);
  hn_pipeline *p = three(NULL, false);
  for (int round = 0; round < 8; round++) {
    hn_inputs *in = x_inputs(range(round * 1000, 600));
    call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache};
    hn_result_stats s = call_checked(k);
    assert_int_equal(s.cache_misses, 1800);
    assert_true(usage(f->dir).bytes <= BOUND);
    hn_inputs_destroy(in);
  }
  /* The most recent map is (at least partly) still there; the first is gone. */
  hn_inputs *in = x_inputs(range(7000, 600));
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache};
  assert_true(call_checked(k).cache_hits > 0);
  hn_inputs_destroy(in);
  in = x_inputs(range(0, 600));
  k.in = in;
  k.cache_mode = HN_CACHE_READ_ONLY;
  assert_int_equal(call_checked(k).cache_hits, 0);
  hn__cache *store = NULL;
  HN_CHECK(hn__cache_open(NULL, f->dir, 0, &store, &err), &err);
  HN_CHECK(hn__cache_verify(store, &err), &err);
  hn__cache_close(store);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- modes and policies ---------------------------------------------------------------- */

static void test_modes(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, false);
  hn_inputs *in = x_inputs(range(0, 20));
  counts c = {0};
  call k = {.p = p,
            .in = in,
            .map_over = "x",
            .cache = f->cache,
            .counts = &c,
            .cache_mode = HN_CACHE_READ_ONLY};
  hn_result_stats s = call_checked(k); /* read-only on an empty cache: nothing written */
  assert_int_equal(s.cache_misses, 60);
  assert_int_equal(s.cache_bytes_written, 0);
  assert_int_equal(usage(f->dir).chunks, 0);
  k.cache_mode = HN_CACHE_USE;
  (void)call_checked(k);
  int64_t chunks = usage(f->dir).chunks;
  assert_int_equal(chunks, 3);
  /* Recompute: nothing looked up, everything written again (replacing). */
  memset(&c, 0, sizeof c);
  k.cache_mode = HN_CACHE_RECOMPUTE;
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 0);
  assert_int_equal(s.cache_misses, 60);
  for (int n = 0; n < 3; n++) assert_int_equal(c.write[n], 20);
  assert_int_equal(usage(f->dir).chunks, chunks);
  /* An unknown mode is refused. */
  k.cache_mode = (hn_cache_mode)7;
  hn_result *r = NULL;
  hn_error err;
  assert_int_equal(do_call(&k, &r, &err), HN_EINVAL);
  assert_null(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_node_policies(void **state) {
  fixture *f = *state;
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "policies", &p, &err), &err);
  hn_node_spec nodes[] = {
      {.name = "inc",
       .inputs = "x: int64",
       .outputs = "y: int64",
       .row = inc,
       .cache = HN_NODE_CACHE_OFF},
      {.name = "dbl", .inputs = "y", .outputs = "z: int64", .row = dbl, .cache = HN_NODE_CACHE_ON},
      HN_NODE("fmt", "x, z", "w: utf8", fmt),
  };
  HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err), &err);
  hn_inputs *in = x_inputs(range(0, 10));
  counts c = {0};
  call k = {.p = p,
            .in = in,
            .map_over = "x",
            .cache = f->cache,
            .counts = &c,
            .cache_nodes = HN_CACHE_NODES_MARKED};
  (void)call_checked(k);
  assert_int_equal(c.write[0] + c.write[2], 0); /* only dbl is marked */
  assert_int_equal(c.write[1], 10);
  memset(&c, 0, sizeof c);
  k.cache_nodes = HN_CACHE_NODES_ALL;
  hn_result_stats s = call_checked(k);
  /* inc is off: it runs (it feeds nothing that runs, but y is asked for); its miss says why. */
  assert_int_equal(c.miss[0], 10);
  assert_non_null(strstr(c.last_miss_message, "HN_NODE_CACHE_OFF"));
  expect_node(&c, 1, 10, 0);
  expect_node(&c, 2, 0, 10);
  assert_int_equal(s.cache_hits, 10);
  assert_int_equal(s.cache_misses, 10); /* uncacheable nodes are not counted */
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* A resource: its state is an int64 offset; `rversion` its version (NULL: none). */
static hn_status res_init(void *config, void **state, hn_error *err) {
  (void)err;
  *state = config;
  return HN_OK;
}
static void res_destroy(void *config, void *state) {
  (void)config, (void)state;
}
static hn_status use_res(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + (int64_t)(intptr_t)in[1].v.object);
}

static void test_resources_need_a_version(void **state) {
  fixture *f = *state;
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "res", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "inc", "x: int64", "y: int64", inc, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "dbl", "y, r", "z: int64", use_res, &err), &err);
  hn_inputs *in = x_inputs(range(0, 10));
  hn_resource_def rd = {.size = sizeof rd,
                        .name = "offset",
                        .init = res_init,
                        .destroy = res_destroy,
                        .config = (void *)(intptr_t)5};
  HN_CHECK(hn_inputs_set_resource(in, "r", &rd, &err), &err);
  counts c = {0};
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache, .counts = &c};
  for (int round = 0; round < 2; round++) { /* no version: never found */
    memset(&c, 0, sizeof c);
    (void)call_checked(k);
    expect_node(&c, 1, 0, 10);
    assert_int_equal(c.write[1], 0);
  }
  rd.version = "offset-1";
  HN_CHECK(hn_inputs_set_resource(in, "r", &rd, &err), &err);
  (void)call_checked(k);
  memset(&c, 0, sizeof c);
  (void)call_checked(k);
  expect_node(&c, 1, 10, 0);
  rd.version = "offset-2"; /* a new version: computed again */
  HN_CHECK(hn_inputs_set_resource(in, "r", &rd, &err), &err);
  memset(&c, 0, sizeof c);
  (void)call_checked(k);
  expect_node(&c, 1, 0, 10);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static hn_status wrap(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_object(out[0], (void *)(intptr_t)(in[0].v.i64 + 1));
}

static void no_free(void *ctx, void *object) {
  (void)ctx, (void)object;
}

static void test_objects_not_cached(void **state) {
  fixture *f = *state;
  if (g_kind == HN_ENGINE_PROCESSES) skip(); /* objects do not cross processes */
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "objects", &p, &err), &err);
  hn_node_def def = {.size = sizeof def,
                     .name = "wrap",
                     .n_inputs = 1,
                     .inputs = (const char *[]){"x"},
                     .n_outputs = 1,
                     .outputs = (const char *[]){"o"},
                     .row = wrap};
  const hn_type *obj = NULL;
  hn_object_vtable vt = {.free = no_free};
  HN_CHECK(hn_type_object_create(NULL, "ptr", &vt, &obj, &err), &err);
  def.output_types = (const hn_type *[]){obj};
  HN_CHECK(hn_pipeline_add_node(p, &def, &err), &err);
  hn_type_release(obj);
  HN_CHECK(hn_pipeline_add(p, "inc", "x: int64", "y: int64", inc, &err), &err);
  hn_inputs *in = x_inputs(range(0, 10));
  counts c = {0};
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache, .counts = &c};
  hn_result *r = NULL;
  for (int round = 0; round < 2; round++) {
    memset(&c, 0, sizeof c);
    HN_CHECK(do_call(&k, &r, &err), &err);
    assert_int_equal(c.miss[3], 10);
    assert_int_equal(c.write[3], 0);
    assert_non_null(strstr(c.last_miss_message, "objects"));
    assert_int_equal(c.hit[0], round == 0 ? 0 : 10);
    hn_result_destroy(r);
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* A second call on a handle serving one is refused (here: from inside a callback). */
typedef struct busy {
  call inner;
  hn_status got;
} busy;

static void busy_hit(void *ud, const hn_event *ev) {
  (void)ev;
  busy *b = ud;
  if (b->got != HN_OK) return;
  hn_engine *seq = NULL;
  HN_CHECK(hn_engine_create(NULL, NULL, &seq, NULL), NULL);
  b->inner.engine = seq;
  hn_result *r = NULL;
  hn_error err;
  b->got = do_call(&b->inner, &r, &err);
  if (b->got == HN_OK)
    b->got = HN_EINTERNAL;
  else if (!strstr(err.message, "cache"))
    b->got = HN_EINTERNAL;
  hn_result_destroy(r);
  hn_engine_destroy(seq);
}

static void test_a_handle_serves_one_call(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, false);
  hn_inputs *in = x_inputs(range(0, 5));
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache};
  (void)call_checked(k);
  busy b = {.inner = k, .got = HN_OK};
  hn_callbacks cb = {.size = sizeof cb, .user_data = &b, .on_cache_hit = busy_hit};
  hn_run_options o = {.size = sizeof o, .map_over_spec = "x", .callbacks = &cb, .cache = f->cache};
  hn_result *r = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map(p, g_engine, in, &o, &r, &err), &err);
  assert_int_equal(b.got, HN_EINVAL);
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

/* ---- every Arrow type --------------------------------------------------------------------- */

/* nulls: how many of the item's inputs are null; stamp: a timestamp and a decimal from it. */
static hn_status count_nulls(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  int64_t n = 0;
  for (int k = 0; k < HN_TEST_N_TYPES; k++) n += in[k].is_null;
  return hn_builder_append_int64(out[0], n);
}

static hn_status stamp(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  hn_status st = hn_builder_append_int(out[0], in[0].v.i64 * 1000);
  if (st == HN_OK)
    st = hn_builder_append_datum(
        out[1], (hn_datum){.type = HN_TYPE_DECIMAL128, .v.d128 = {(uint64_t)in[0].v.i64, 0}});
  return st;
}

static void test_every_arrow_type(void **state) {
  fixture *f = *state;
  hn_table *t = hn_test_all_types_table(NULL);
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "types", &p, &err), &err);
  char inputs[1024] = "";
  for (int k = 0; k < HN_TEST_N_TYPES; k++)
    snprintf(inputs + strlen(inputs), sizeof inputs - strlen(inputs), "%s%s", k ? ", " : "",
             hn_test_all_types[k][0]);
  HN_CHECK(hn_pipeline_add(p, "nulls", inputs, "n: int64", count_nulls, &err), &err);
  HN_CHECK(
      hn_pipeline_add(p, "stamp", "n", "at: timestamp[ms, UTC], d: decimal128(20, 3)", stamp, &err),
      &err);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  char over[1024] = "";
  for (int k = 0; k < HN_TEST_N_TYPES; k++) {
    HN_CHECK(hn_inputs_set_column(in, hn_test_all_types[k][0], hn_table_column(t, k), &err), &err);
    snprintf(over + strlen(over), sizeof over - strlen(over), "%s%s", k ? ", " : "",
             hn_test_all_types[k][0]);
  }
  counts c = {0};
  call k = {.p = p, .in = in, .map_over = over, .cache = f->cache, .counts = &c};
  hn_result_stats s = call_checked(k);
  assert_int_equal(s.cache_misses, 6);
  s = call_checked(k);
  assert_int_equal(s.cache_hits, 6); /* every type hashed the same way twice */
  assert_int_equal(s.cache_misses, 0);
  hn_inputs_destroy(in);
  hn_table_release(t);
  hn_pipeline_release(p);
}

/* ---- several processes ------------------------------------------------------------------ */

/* In a child process: map items [first, first + n) into dir on a new engine of the tested kind. */
static int child_map(const char *dir, int64_t first, int64_t n, bool forever) {
  hn_engine_options eo = {.size = sizeof eo, .kind = g_kind};
  hn_engine *e = NULL;
  hn_cache *cache = NULL;
  if (hn_engine_create(NULL, &eo, &e, NULL) != HN_OK) return 3;
  if (hn_cache_open(NULL, dir, NULL, &cache, NULL) != HN_OK) return 4;
  hn_pipeline *p = three(NULL, false);
  int rc = 0;
  for (int64_t round = 0; rc == 0; round++) {
    hn_inputs *in = x_inputs(range(first + (forever ? round * n : 0), n));
    hn_run_options o = {.size = sizeof o, .map_over_spec = "x", .cache = cache};
    hn_result *r = NULL;
    if (hn_pipeline_map(p, e, in, &o, &r, NULL) != HN_OK)
      rc = 5;
    else if (hn_table_num_rows(hn_result_table(r)) != n)
      rc = 6;
    hn_result_destroy(r);
    hn_inputs_destroy(in);
    if (!forever) break;
  }
  hn_pipeline_release(p);
  hn_cache_close(cache);
  hn_engine_destroy(e);
  return rc;
}

/*
 * A child process running child_map: this executable again (exec, so that
 * the child starts single-threaded whatever the parent's engine runs).
 */
static pid_t spawn_map(const char *dir, int64_t first, int64_t n, bool forever) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid > 0) return pid;
  char a_first[32], a_n[32];
  snprintf(a_first, sizeof a_first, "%lld", (long long)first);
  snprintf(a_n, sizeof a_n, "%lld", (long long)n);
  execl(g_self, g_self, "--child-map", hn_engine_kind_name(g_kind), dir, a_first, a_n,
        forever ? "forever" : "once", (char *)NULL);
  _exit(127);
}

static int wait_child(pid_t pid) {
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void test_two_processes_one_directory(void **state) {
  fixture *f = *state;
  enum { N = 3000 };
  pid_t pids[2];
  for (int k = 0; k < 2; k++) pids[k] = spawn_map(f->dir, k * (N / 2), N, false); /* overlapping */
  for (int k = 0; k < 2; k++) {
    int status = wait_child(pids[k]);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
  }
  hn_pipeline *p = three(NULL, false);
  hn_inputs *in = x_inputs(range(0, N + N / 2));
  call k = {.p = p, .in = in, .map_over = "x", .cache = f->cache};
  hn_result_stats s = call_checked(k);
  assert_int_equal(s.cache_misses, 0);
  assert_int_equal(s.cache_hits, 3 * (N + N / 2));
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static void test_killed_writer_never_corrupts(void **state) {
  fixture *f = *state;
  hn_pipeline *p = three(NULL, false);
  for (int round = 0; round < 4; round++) {
    pid_t pid = spawn_map(f->dir, round * 1000000, 2000, true);
    struct timespec ts = {0, 50000000L + round * 37000000L};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    int status = wait_child(pid);
    assert_true(WIFSIGNALED(status));
    /* Whatever was written, what is read back is right (checked against an uncached map). */
    hn_inputs *in = x_inputs(range(round * 1000000, 6000));
    call k = {
        .p = p, .in = in, .map_over = "x", .cache = f->cache, .cache_mode = HN_CACHE_READ_ONLY};
    (void)call_checked(k);
    hn_inputs_destroy(in);
  }
  print_message("after 4 kills: %lld chunks stored\n", (long long)usage(f->dir).chunks);
  hn__cache *store = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, f->dir, 0, &store, &err), &err);
  HN_CHECK(hn__cache_verify(store, &err), &err);
  hn__cache_close(store);
  hn_pipeline_release(p);
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  g_self = argv[0];
  if (argc == 7 && strcmp(argv[1], "--child-map") == 0) { /* spawn_map's child */
    if (hn_engine_kind_from_name(argv[2], &g_kind, NULL) != HN_OK) return 2;
    return child_map(argv[3], atoll(argv[4]), atoll(argv[5]), strcmp(argv[6], "forever") == 0);
  }
  const char *name = argc > 1 ? argv[1] : "sequential";
  hn_error err;
  if (hn_engine_kind_from_name(name, &g_kind, &err) != HN_OK) {
    fprintf(stderr, "test_cache: %s\n", err.message);
    return 2;
  }
  hn_engine_options eo = {.size = sizeof eo, .kind = g_kind};
  if (hn_engine_create(NULL, &eo, &g_engine, &err) != HN_OK) {
    fprintf(stderr, "test_cache: cannot create the %s engine: %s\n", name, err.message);
    return 1;
  }
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_counts_across_runs_and_maps),
      T(test_product_map),
      T(test_version_bump_reruns_descendants),
      T(test_changed_item_reruns_only_it),
      T(test_nested_pipeline),
      T(test_failed_items_never_stored),
      T(test_raise_reports_the_first_failure),
      T(test_flipped_byte_is_recomputed),
      T(test_eviction_keeps_the_bound),
      T(test_modes),
      T(test_node_policies),
      T(test_resources_need_a_version),
      T(test_objects_not_cached),
      T(test_a_handle_serves_one_call),
      T(test_every_arrow_type),
      T(test_two_processes_one_directory),
      T(test_killed_writer_never_corrupts),
  };
#undef T
  char group[64];
  snprintf(group, sizeof group, "cache_%s", name);
  int failed = _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
  hn_engine_destroy(g_engine);
  return failed ? 1 : 0;
}
