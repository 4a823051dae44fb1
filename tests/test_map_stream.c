/*
 * hn_pipeline_map_stream on the engine named by argv[1]: results batch by
 * batch equal to a map of the whole column; items numbered across the
 * stream (raise reports the global index, continue's records carry it);
 * the exported ArrowArrayStream read back, released before or after the
 * handle; a producer failing mid-stream; bad options; and peak memory that
 * does not grow with the number of items.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "test_support.h"

static hn_engine *g_engine;
static hn_engine_kind g_kind;

/* ---- a producer: int64 x = first, first + 1, ... in batches of given sizes ------------ */

typedef struct producer {
  const int64_t *sizes; /* batch sizes, n_batches of them; NULL: every batch `fixed` rows */
  int64_t n_batches, fixed, next_batch, next_value;
  int64_t fail_at; /* the batch index whose get_next fails, or -1 */
} producer;

static int p_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  (void)s;
  const hn_type *t = NULL;
  const char *names[] = {"x"};
  const hn_type *fields[] = {hn_type_int64()};
  if (hn_type_struct_create(NULL, 1, names, fields, &t, NULL) != HN_OK) return 12;
  hn_status st = hn_type_export(t, "", out, NULL);
  hn_type_release(t);
  return st == HN_OK ? 0 : 12;
}

static int p_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  producer *p = s->private_data;
  out->release = NULL;
  if (p->next_batch == p->fail_at) return 5;
  if (p->next_batch >= p->n_batches) return 0;
  int64_t n = p->sizes ? p->sizes[p->next_batch] : p->fixed;
  p->next_batch++;
  hn_builder *b = NULL;
  hn_array *col = NULL;
  hn_table *t = NULL;
  const char *names[] = {"x"};
  if (hn_builder_create(NULL, hn_type_int64(), &b, NULL) != HN_OK) return 12;
  for (int64_t i = 0; i < n; i++)
    if (hn_builder_append_int64(b, p->next_value++) != HN_OK) return 12;
  hn_status st = hn_builder_finish(b, &col, NULL);
  hn_builder_destroy(b);
  if (st == HN_OK) st = hn_table_create(NULL, 1, names, &col, &t, NULL);
  hn_array_release(col);
  if (st == HN_OK) st = hn_table_export(t, NULL, out, NULL);
  hn_table_release(t);
  return st == HN_OK ? 0 : 12;
}

static const char *p_error(struct ArrowArrayStream *s) {
  (void)s;
  return "the producer broke";
}

static void p_release(struct ArrowArrayStream *s) {
  free(s->private_data);
  s->release = NULL;
}

static void make_producer(struct ArrowArrayStream *s, const int64_t *sizes, int64_t n_batches,
                          int64_t fixed, int64_t fail_at) {
  producer *p = calloc(1, sizeof *p);
  *p = (producer){sizes, n_batches, fixed, 0, 0, fail_at};
  *s = (struct ArrowArrayStream){p_schema, p_next, p_error, p_release, p};
}

/* ---- the pipeline: y = x * k (k broadcast), failing on x % mod == rem when given one -------- */

typedef struct failing_rule {
  int64_t mod, rem;
} failing_rule;

static const failing_rule k_every_999 = {1000, 999};

static hn_status times(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  const failing_rule *f = ud;
  if (f && in[0].v.i64 % f->mod == f->rem)
    return hn_ctx_fail(ctx, "x is %lld", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64 * in[1].v.i64);
}

static hn_pipeline *pipeline_failing(const failing_rule *rule) {
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "stream", &p, &err), &err);
  HN_CHECK(hn_pipeline_add_ex(p, "times", "x: int64, k: int64", "y: int64", times, NULL,
                              (void *)rule, NULL, &err),
           &err);
  return p;
}

static hn_pipeline *pipeline(bool failing) {
  return pipeline_failing(failing ? &k_every_999 : NULL);
}

static hn_inputs *k_inputs(int64_t k) {
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, NULL), NULL);
  HN_CHECK(hn_inputs_set_int64(in, "k", k, NULL), NULL);
  return in;
}

/* Read every batch; check y == x * 3 (or null for failed items) in order; return the item count. */
static int64_t drain(hn_map_stream *s, bool failing) {
  int64_t at = 0;
  hn_error err;
  for (;;) {
    hn_table *t = NULL;
    HN_CHECK(hn_map_stream_next(s, &t, &err), &err);
    if (!t) break;
    const hn_array *y = hn_table_column_by_name(t, "y");
    assert_non_null(y);
    for (int64_t i = 0; i < hn_table_num_rows(t); i++, at++) {
      hn_datum d = hn_array_get(y, i);
      if (failing && at % 1000 == 999) {
        assert_true(d.is_null);
      } else {
        assert_false(d.is_null);
        assert_int_equal(d.v.i64, at * 3);
      }
    }
    hn_table_release(t);
  }
  return at;
}

static hn_map_stream *open_stream(hn_pipeline *p, struct ArrowArrayStream *items,
                                  hn_error_policy policy) {
  hn_inputs *in = k_inputs(3);
  hn_run_options o = {.size = sizeof o, .error_policy = policy};
  hn_map_stream *s = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_map_stream(p, g_engine, in, items, &o, &s, &err), &err);
  assert_null(items->release); /* moved */
  hn_inputs_destroy(in);       /* copied: the stream does not need them */
  return s;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_batches_in_order(void **state) {
  (void)state;
  static const int64_t sizes[] = {0, 1, 1000, 70000, 3, 0, 65536, 7};
  hn_pipeline *p = pipeline(false);
  struct ArrowArrayStream items;
  make_producer(&items, sizes, 8, 0, -1);
  hn_map_stream *s = open_stream(p, &items, HN_ERRORS_RAISE);
  assert_int_equal(hn_type_num_fields(hn_map_stream_schema(s)), 1);
  assert_int_equal(drain(s, false), 136547);
  hn_result_stats st;
  hn_map_stream_get_stats(s, &st, sizeof st);
  assert_int_equal(st.n_items, 136547);
  assert_int_equal(st.n_failed, 0);
  hn_table *t = (hn_table *)1;
  hn_error err;
  HN_CHECK(hn_map_stream_next(s, &t, &err), &err); /* the end, again */
  assert_null(t);
  hn_map_stream_destroy(s);
  hn_pipeline_release(p);
}

static void test_continue_records_global_items(void **state) {
  (void)state;
  hn_pipeline *p = pipeline(true);
  struct ArrowArrayStream items;
  make_producer(&items, NULL, 30, 1000, -1); /* 30 batches of 1000: joined into one call */
  hn_map_stream *s = open_stream(p, &items, HN_ERRORS_CONTINUE);
  assert_int_equal(drain(s, true), 30000);
  hn_table *e = hn_map_stream_errors(s);
  assert_int_equal(hn_table_num_rows(e), 30);
  for (int64_t r = 0; r < 30; r++) {
    assert_int_equal(hn_array_get(hn_table_column(e, 0), r).v.i64, r * 1000 + 999);
    char path[32];
    snprintf(path, sizeof path, "%lld", (long long)(r * 1000 + 999));
    hn_str v = hn_array_get(hn_table_column(e, 1), r).v.str;
    assert_int_equal(v.size, (int64_t)strlen(path));
    assert_memory_equal(v.data, path, (size_t)v.size);
  }
  hn_map_stream_destroy(s);
  hn_pipeline_release(p);
}

static void test_raise_names_the_global_item(void **state) {
  (void)state;
  static const int64_t sizes[] = {700, 70000, 500};
  hn_pipeline *p = pipeline(true);
  struct ArrowArrayStream items;
  make_producer(&items, sizes, 3, 0, -1);
  hn_map_stream *s = open_stream(p, &items, HN_ERRORS_RAISE);
  hn_table *t = NULL;
  hn_error err;
  hn_status st = HN_OK;
  int64_t got = 0;
  while ((st = hn_map_stream_next(s, &t, &err)) == HN_OK && t) {
    got += hn_table_num_rows(t);
    hn_table_release(t);
  }
  assert_int_equal(st, HN_ENODE);
  assert_int_equal(got, 0); /* the first group (70,700 items) holds item 999 */
  assert_string_equal(err.item_path, "999");
  assert_string_equal(err.node, "times");
  /* A failed stream keeps failing the same way. */
  hn_error again;
  assert_int_equal(hn_map_stream_next(s, &t, &again), HN_ENODE);
  assert_string_equal(again.message, err.message);
  hn_map_stream_destroy(s);
  hn_pipeline_release(p);
  /* A failure in a later group names its index in the whole stream; earlier groups were given. */
  static const failing_rule at_70123 = {1000000, 70123};
  static const int64_t later[] = {65536, 100, 10000};
  p = pipeline_failing(&at_70123);
  make_producer(&items, later, 3, 0, -1);
  s = open_stream(p, &items, HN_ERRORS_RAISE);
  got = 0;
  while ((st = hn_map_stream_next(s, &t, &err)) == HN_OK && t) {
    got += hn_table_num_rows(t);
    hn_table_release(t);
  }
  assert_int_equal(got, 65536); /* the first group, handed out before the second is mapped */
  assert_int_equal(st, HN_ENODE);
  assert_string_equal(err.item_path, "70123");
  hn_map_stream_destroy(s);
  hn_pipeline_release(p);
}

static void test_export_and_release_orders(void **state) {
  (void)state;
  hn_pipeline *p = pipeline(false);
  for (int order = 0; order < 2; order++) {
    struct ArrowArrayStream items, out;
    make_producer(&items, NULL, 5, 30000, -1);
    hn_map_stream *s = open_stream(p, &items, HN_ERRORS_RAISE);
    hn_error err;
    HN_CHECK(hn_map_stream_export(s, &out, &err), &err);
    if (order == 0) hn_map_stream_destroy(s); /* the exported stream keeps it alive */
    hn_stream_reader *r = NULL;
    HN_CHECK(hn_stream_reader_create(NULL, &out, NULL, &r, &err), &err);
    int64_t at = 0;
    for (;;) {
      hn_table *t = NULL;
      HN_CHECK(hn_stream_reader_next(r, &t, &err), &err);
      if (!t) break;
      const hn_array *y = hn_table_column(t, 0);
      for (int64_t i = 0; i < hn_table_num_rows(t); i++, at++)
        assert_int_equal(hn_array_get(y, i).v.i64, at * 3);
      hn_table_release(t);
    }
    assert_int_equal(at, 150000);
    hn_stream_reader_destroy(r);
    if (order == 1) hn_map_stream_destroy(s);
  }
  hn_pipeline_release(p);
}

static void test_producer_failure(void **state) {
  (void)state;
  hn_pipeline *p = pipeline(false);
  struct ArrowArrayStream items;
  make_producer(&items, NULL, 10, 70000, 2); /* two batches, then an error */
  hn_map_stream *s = open_stream(p, &items, HN_ERRORS_RAISE);
  hn_table *t = NULL;
  hn_error err;
  HN_CHECK(hn_map_stream_next(s, &t, &err), &err); /* the first group maps */
  hn_table_release(t);
  hn_status st = HN_OK;
  while ((st = hn_map_stream_next(s, &t, &err)) == HN_OK && t) hn_table_release(t);
  assert_int_equal(st, HN_EIO);
  assert_non_null(strstr(err.message, "the producer broke"));
  hn_map_stream_destroy(s);
  hn_pipeline_release(p);
}

static void test_bad_calls(void **state) {
  (void)state;
  hn_pipeline *p = pipeline(false);
  hn_inputs *in = k_inputs(3);
  hn_map_stream *s = (hn_map_stream *)1;
  hn_error err;
  struct ArrowArrayStream items;
  /* map_over is the stream's: setting it is refused, and the items are released. */
  make_producer(&items, NULL, 1, 10, -1);
  hn_run_options o = {.size = sizeof o, .map_over_spec = "x"};
  assert_int_equal(hn_pipeline_map_stream(p, g_engine, in, &items, &o, &s, &err), HN_EINVAL);
  assert_null(s);
  assert_null(items.release);
  /* A missing input is found before anything is read. */
  make_producer(&items, NULL, 1, 10, -1);
  assert_int_equal(hn_pipeline_map_stream(p, g_engine, NULL, &items, NULL, &s, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "k"));
  /* An unknown output likewise. */
  make_producer(&items, NULL, 1, 10, -1);
  hn_run_options o2 = {.size = sizeof o2, .outputs_spec = "nope"};
  assert_int_equal(hn_pipeline_map_stream(p, g_engine, in, &items, &o2, &s, &err), HN_EINVAL);
  assert_int_equal(hn_pipeline_map_stream(NULL, g_engine, in, NULL, NULL, &s, &err), HN_EINVAL);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
}

static long peak_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

static void test_memory_does_not_grow(void **state) {
  (void)state;
  enum { BATCHES = 120, ROWS = 65536 }; /* 7.9 M items: 63 MB in, 63 MB out if all were held */
  hn_pipeline *p = pipeline(false);
  struct ArrowArrayStream items;
  make_producer(&items, NULL, BATCHES, ROWS, -1);
  hn_map_stream *s = open_stream(p, &items, HN_ERRORS_RAISE);
  /* The first groups make the allocator's pools; the peak after them must stay flat. */
  hn_table *t = NULL;
  hn_error err;
  int64_t rows = 0;
  while (rows < 4 * ROWS) {
    HN_CHECK(hn_map_stream_next(s, &t, &err), &err);
    rows += hn_table_num_rows(t);
    hn_table_release(t);
  }
  long before = peak_rss_kb();
  for (;;) {
    HN_CHECK(hn_map_stream_next(s, &t, &err), &err);
    if (!t) break;
    rows += hn_table_num_rows(t);
    hn_table_release(t);
  }
  long grew = peak_rss_kb() - before;
  print_message("%lld items streamed; peak RSS grew by %ld kB after the first 4 batches\n",
                (long long)rows, grew);
  assert_int_equal(rows, (int64_t)BATCHES * ROWS);
#if !defined(__SANITIZE_ADDRESS__) /* ASan keeps freed memory in quarantine: RSS grows anyway */
  assert_true(grew < 32 * 1024);
#endif
  hn_map_stream_destroy(s);
  hn_pipeline_release(p);
}

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "sequential";
  hn_error err;
  if (hn_engine_kind_from_name(name, &g_kind, &err) != HN_OK) {
    fprintf(stderr, "test_map_stream: %s\n", err.message);
    return 2;
  }
  hn_engine_options eo = {.size = sizeof eo, .kind = g_kind};
  if (hn_engine_create(NULL, &eo, &g_engine, &err) != HN_OK) {
    fprintf(stderr, "test_map_stream: %s\n", err.message);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batches_in_order),
      cmocka_unit_test(test_continue_records_global_items),
      cmocka_unit_test(test_raise_names_the_global_item),
      cmocka_unit_test(test_export_and_release_orders),
      cmocka_unit_test(test_producer_failure),
      cmocka_unit_test(test_bad_calls),
      cmocka_unit_test(test_memory_does_not_grow),
  };
  char group[64];
  snprintf(group, sizeof group, "map_stream_%s", name);
  int failed = _cmocka_run_group_tests(group, tests, sizeof tests / sizeof tests[0], NULL, NULL);
  hn_engine_destroy(g_engine);
  return failed ? 1 : 0;
}
