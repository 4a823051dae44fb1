/*
 * Engine conformance: one table of cases, each a function that builds a
 * pipeline, its inputs and run options, and states either the expected
 * result table (and error records) or the expected error (status, message
 * fragments, node, item path). The binary runs every case on the engine
 * named by argv[1] ("sequential", "threads", later "columnar", "processes",
 * "mpi"); the threads engine is also run with 2 workers and tiny chunks, and
 * with 4 workers and one-item chunks, so that chunking is exercised. Every
 * engine must give the same answers.
 *
 * Node functions and callbacks run on worker threads: they never call
 * cmocka; they report through hn_ctx_fail or atomic counters, checked on the
 * main thread afterwards. On the processes engine nodes run in forked worker
 * processes: the case context is shared memory so that those counters
 * (lock-free atomics) are seen by the test.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "hypernodes/arrow.h"
#include "test_support.h"

/* ======================================================================== */
/* Case description                                                          */
/* ======================================================================== */

enum { MAX_COLS = 16, MAX_ERRS = 8, MAX_PIPES = 8, MAX_MSGS = 4, MAX_ITEMS = 64 };

/* Resource config shared by every worker's instance; counts init/destroy. */
typedef struct res_config {
  _Atomic int64_t inits;
  _Atomic int64_t destroys;
  _Atomic int64_t n_states;
  _Atomic(void *) states[64];
  _Atomic int64_t config_frees;
  int64_t factor;
} res_config;

/* A node failure rule: fail when the int64 input equals one of `bad`. */
typedef struct fail_spec {
  int n;
  int64_t bad[4];
  _Atomic int64_t calls;
} fail_spec;

/* Per-event counters filled by the callbacks (depth-0 events only). */
typedef struct cb_counts {
  _Atomic int64_t pipeline_start, pipeline_end, map_start, map_end;
  _Atomic int64_t item_start, item_end, node_start, node_end, error;
  _Atomic int64_t map_items;
  _Atomic int64_t item_seen[MAX_ITEMS];
  _Atomic int64_t item_bad;      /* item events with an index out of range */
  _Atomic int64_t node_rows[2];  /* node_end n_rows, for nodes "first" and "second" */
  _Atomic int64_t node_calls[2]; /* node_end events */
  _Atomic int64_t node_other;    /* node events for other names */
  _Atomic int error_claimed;
  char error_node[64];
  char error_message[256];
  char error_path[32];
  int64_t error_item;
} cb_counts;

typedef struct conf_case conf_case;
typedef void (*case_fn)(conf_case *c);
typedef void (*verify_fn)(conf_case *c, const hn_result *r);

struct conf_case {
  hn_test_alloc ta;
  const hn_allocator *a;
  hn_engine *engine;
  hn_error err;
  /* Types shared by the cases (created with `a`). */
  const hn_type *t_li64, *t_lstr, *t_lli64, *t_info, *t_lf64;
  /* What to run. */
  hn_pipeline *p;                /* the top pipeline */
  hn_pipeline *pipes[MAX_PIPES]; /* every pipeline we hold a reference to */
  int n_pipes;
  hn_inputs *in;
  bool map;
  hn_run_options opts;
  hn_callbacks cb;
  bool run_twice_off; /* set when a second run would change counters */
  /* Expected table (columns are owned until the runner builds the table). */
  int64_t n_exp;
  const char *exp_names[MAX_COLS];
  hn_array *exp_cols[MAX_COLS];
  /* Expected error records (HN_ERRORS_CONTINUE). */
  int64_t n_exp_err;
  int64_t err_item[MAX_ERRS];
  const char *err_path[MAX_ERRS], *err_node[MAX_ERRS], *err_msg[MAX_ERRS];
  /* Expected failure of the run/map, or of a build step. */
  bool expect_fail;
  hn_status want_status;
  const char *want_msg[MAX_MSGS];
  const char *want_node; /* NULL: not checked */
  const char *want_path; /* NULL: not checked */
  bool build_failed;
  hn_status build_status;
  hn_error build_err;
  /* Extra checks on the result (or NULL result for an expected failure). */
  verify_fn verify;
  int64_t want_config_frees; /* -1: not checked; checked after teardown */
  /* Scratch shared with node functions and callbacks. */
  _Atomic int64_t calls[16];
  fail_spec fail;
  res_config res;
  cb_counts ev;
  int workers;
  /* Owned objects, released by release_all (also after a failed assertion). */
  const struct case_entry *entry;
  hn_table *expected;
  hn_result *result;
  hn_result *tmp_result;
  hn_rows *tmp_rows;
  hn_stream_reader *tmp_reader;
  hn_table *tmp_tables[2];
};

typedef struct case_entry {
  const char *name;
  case_fn build;
} case_entry;

static hn_engine *g_engine;
/* mpi: this rank and the number of ranks (0 and 1 elsewhere). With several
 * ranks, rank 0 checks results; the others serve the same calls and check
 * statuses only; node calls happen on serving ranks, so counters kept by
 * node functions are not seen by rank 0 (node_counts_seen). */
static int g_rank, g_ranks = 1;

static bool node_counts_seen(void) {
  return g_ranks <= 1;
}

/* ======================================================================== */
/* Small helpers: values, arrays from text                                  */
/* ======================================================================== */

static void skip_ws(const char **s) {
  while (**s == ' ' || **s == ',' || **s == '\n') (*s)++;
}

/*
 * Parse one value of type `t` from text into `b`: `~` is null, ints and
 * floats as in C, `true`/`false`, strings bare (up to a space, comma or
 * bracket) or "quoted", lists as [v v ...], structs as {field field ...}.
 */
static bool parse_value(hn_builder *b, const hn_type *t, const char **s) {
  skip_ws(s);
  if (**s == '~') {
    (*s)++;
    return hn_builder_append_null(b) == HN_OK;
  }
  char *end = NULL;
  switch (hn_type_id_of(t)) {
    case HN_TYPE_INT64: {
      long long v = strtoll(*s, &end, 10);
      if (end == *s) return false;
      *s = end;
      return hn_builder_append_int64(b, v) == HN_OK;
    }
    case HN_TYPE_FLOAT64:
    case HN_TYPE_FLOAT32: {
      double v = strtod(*s, &end);
      if (end == *s) return false;
      *s = end;
      return hn_type_id_of(t) == HN_TYPE_FLOAT64 ? hn_builder_append_float64(b, v) == HN_OK
                                                 : hn_builder_append_float32(b, (float)v) == HN_OK;
    }
    case HN_TYPE_BOOL:
      if (strncmp(*s, "true", 4) == 0) {
        *s += 4;
        return hn_builder_append_bool(b, true) == HN_OK;
      }
      if (strncmp(*s, "false", 5) == 0) {
        *s += 5;
        return hn_builder_append_bool(b, false) == HN_OK;
      }
      return false;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY: {
      const char *start = *s, *stop;
      if (**s == '"') {
        start = *s + 1;
        stop = strchr(start, '"');
        if (!stop) return false;
        *s = stop + 1;
      } else {
        stop = start;
        while (*stop && !strchr(" ,[]{}", *stop)) stop++;
        if (stop == start) return false;
        *s = stop;
      }
      return hn_builder_append_str(b, start, stop - start) == HN_OK;
    }
    case HN_TYPE_LIST:
      if (**s != '[') return false;
      (*s)++;
      for (;;) {
        skip_ws(s);
        if (**s == ']') break;
        if (!parse_value(hn_builder_child(b, 0), hn_type_list_item(t), s)) return false;
      }
      (*s)++;
      return hn_builder_finish_element(b) == HN_OK;
    case HN_TYPE_STRUCT:
      if (**s != '{') return false;
      (*s)++;
      for (int64_t f = 0; f < hn_type_num_fields(t); f++)
        if (!parse_value(hn_builder_child(b, f), hn_type_field_type(t, f), s)) return false;
      skip_ws(s);
      if (**s != '}') return false;
      (*s)++;
      return hn_builder_finish_element(b) == HN_OK;
    default:
      return false;
  }
}

/* An array of type `t` from a text spec such as "1 ~ 3" or "[a b] [] ~". */
static hn_array *arr(conf_case *c, const hn_type *t, const char *spec) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(c->a, t, &b, &c->err), &c->err);
  const char *s = spec;
  for (;;) {
    skip_ws(&s);
    if (!*s) break;
    if (!parse_value(b, t, &s)) {
      print_error("bad array spec \"%s\" near \"%s\"\n", spec, s);
      hn_builder_destroy(b);
      fail();
    }
  }
  hn_array *out = NULL;
  HN_CHECK(hn_builder_finish(b, &out, &c->err), &c->err);
  hn_builder_destroy(b);
  return out;
}

#define I64T hn_type_int64()
#define STRT hn_type_utf8()
#define F64T hn_type_float64()
#define F32T hn_type_float32()
#define BOOLT hn_type_bool()

/* int64 column [start, start + n). */
static hn_array *iota(conf_case *c, int64_t n, int64_t start) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(c->a, I64T, &b, &c->err), &c->err);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, start + i), NULL);
  hn_array *out = NULL;
  HN_CHECK(hn_builder_finish(b, &out, &c->err), &c->err);
  hn_builder_destroy(b);
  return out;
}

static hn_array *i64_values(conf_case *c, int64_t n, const int64_t *v) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(c->a, I64T, &b, &c->err), &c->err);
  HN_CHECK(hn_builder_append_values(b, v, n), NULL);
  hn_array *out = NULL;
  HN_CHECK(hn_builder_finish(b, &out, &c->err), &c->err);
  hn_builder_destroy(b);
  return out;
}

/* ---- building pipelines ------------------------------------------------- */

static hn_pipeline *new_pipe(conf_case *c, const char *name) {
  assert_true(c->n_pipes < MAX_PIPES);
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(c->a, name, &p, &c->err), &c->err);
  c->pipes[c->n_pipes++] = p;
  return p;
}

/* The pipeline the case runs. */
static hn_pipeline *top(conf_case *c, const char *name) {
  c->p = new_pipe(c, name);
  return c->p;
}

/* ---- inputs and options -------------------------------------------------- */

static void in_i64(conf_case *c, const char *name, int64_t v) {
  HN_CHECK(hn_inputs_set_int64(c->in, name, v, &c->err), &c->err);
}

static void in_str(conf_case *c, const char *name, const char *v) {
  HN_CHECK(hn_inputs_set_str(c->in, name, v, (int64_t)strlen(v), &c->err), &c->err);
}

/* Set `name` to a column (the array reference is taken). */
static void in_col(conf_case *c, const char *name, hn_array *col) {
  HN_CHECK(hn_inputs_set_column(c->in, name, col, &c->err), &c->err);
  hn_array_release(col);
}

/* Set `name` to row `row` of `values` (the array reference is taken). */
static void in_val(conf_case *c, const char *name, hn_array *values, int64_t row) {
  HN_CHECK(hn_inputs_set_value(c->in, name, values, row, &c->err), &c->err);
  hn_array_release(values);
}

/* Request `outputs` ("a, b"; a string literal: it is read when the case runs). */
static void want(conf_case *c, const char *outputs) {
  c->opts.outputs_spec = outputs;
}

static void map_over(conf_case *c, const char *inputs, hn_map_mode mode) {
  c->map = true;
  c->opts.map_over_spec = inputs;
  c->opts.map_mode = mode;
}

/* ---- expectations --------------------------------------------------------- */

/* Expect a result column (the array reference is taken). */
static void expect(conf_case *c, const char *name, hn_array *col) {
  assert_true(c->n_exp < MAX_COLS);
  c->exp_names[c->n_exp] = name;
  c->exp_cols[c->n_exp++] = col;
}

static void expect_err_row(conf_case *c, int64_t item, const char *path, const char *node_name,
                           const char *msg) {
  assert_true(c->n_exp_err < MAX_ERRS);
  int64_t k = c->n_exp_err++;
  c->err_item[k] = item;
  c->err_path[k] = path;
  c->err_node[k] = node_name;
  c->err_msg[k] = msg;
}

/* Expect the run/map to fail with `status`, `node`, `path` and message fragments. */
static void expect_failure(conf_case *c, hn_status status, const char *node_name, const char *path,
                           const char *m1, const char *m2, const char *m3) {
  c->expect_fail = true;
  c->want_status = status;
  c->want_node = node_name;
  c->want_path = path;
  c->want_msg[0] = m1;
  c->want_msg[1] = m2;
  c->want_msg[2] = m3;
}

/* Record that a build step failed as the case expects (checked by the runner). */
static void build_failed(conf_case *c, hn_status st, const hn_error *err) {
  c->build_failed = true;
  c->build_status = st;
  if (err) c->build_err = *err;
}

/* ======================================================================== */
/* Printing (diagnostics when a comparison fails)                           */
/* ======================================================================== */

static void fprint_datum(FILE *f, hn_datum d) {
  if (d.is_null) {
    fputc('~', f);
    return;
  }
  switch (d.type) {
    case HN_TYPE_BOOL:
      fputs(d.v.b ? "true" : "false", f);
      break;
    case HN_TYPE_INT64:
      fprintf(f, "%lld", (long long)d.v.i64);
      break;
    case HN_TYPE_FLOAT32:
      fprintf(f, "%gf", (double)d.v.f32);
      break;
    case HN_TYPE_FLOAT64:
      fprintf(f, "%g", d.v.f64);
      break;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      fprintf(f, "\"%.*s\"", (int)d.v.str.size, d.v.str.data);
      break;
    case HN_TYPE_LIST:
      fputc('[', f);
      for (int64_t i = 0; i < d.v.list.length; i++) {
        if (i) fputc(' ', f);
        fprint_datum(f, hn_list_view_get(d.v.list, i));
      }
      fputc(']', f);
      break;
    case HN_TYPE_STRUCT: {
      int64_t nf = hn_type_num_fields(hn_array_type(d.v.strct.array));
      fputc('{', f);
      for (int64_t i = 0; i < nf; i++) {
        if (i) fputc(' ', f);
        fprint_datum(f, hn_struct_view_field(d.v.strct, i));
      }
      fputc('}', f);
      break;
    }
    case HN_TYPE_OBJECT:
      fprintf(f, "<%p>", d.v.object);
      break;
    default:
      fprintf(f, "<type %d>", (int)d.type);
      break;
  }
}

static void fprint_table(FILE *f, const char *label, const hn_table *t) {
  fprintf(f, "%s:", label);
  if (!t) {
    fprintf(f, " (null)\n");
    return;
  }
  char spelled[512];
  hn_type_to_string(hn_table_schema(t), spelled, sizeof spelled);
  fprintf(f, " %lld rows, %s\n", (long long)hn_table_num_rows(t), spelled);
  for (int64_t j = 0; j < hn_table_num_columns(t); j++) {
    const hn_array *col = hn_table_column(t, j);
    fprintf(f, "  %s:", hn_table_column_name(t, j));
    int64_t n = hn_array_length(col), shown = n < 40 ? n : 40;
    for (int64_t i = 0; i < shown; i++) {
      fputc(' ', f);
      fprint_datum(f, hn_array_get(col, i));
    }
    if (shown < n) fprintf(f, " ... (%lld more)", (long long)(n - shown));
    fputc('\n', f);
  }
}

static bool datum_equal(hn_datum a, hn_datum b) {
  if (a.is_null != b.is_null) return false;
  if (a.is_null) return true;
  if (a.type != b.type) return false;
  switch (a.type) {
    case HN_TYPE_BOOL:
      return a.v.b == b.v.b;
    case HN_TYPE_INT64:
      return a.v.i64 == b.v.i64;
    case HN_TYPE_FLOAT32:
      return memcmp(&a.v.f32, &b.v.f32, sizeof(float)) == 0;
    case HN_TYPE_FLOAT64:
      return memcmp(&a.v.f64, &b.v.f64, sizeof(double)) == 0;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      return a.v.str.size == b.v.str.size &&
             (a.v.str.size == 0 || memcmp(a.v.str.data, b.v.str.data, (size_t)a.v.str.size) == 0);
    case HN_TYPE_LIST:
      if (a.v.list.length != b.v.list.length) return false;
      for (int64_t i = 0; i < a.v.list.length; i++)
        if (!datum_equal(hn_list_view_get(a.v.list, i), hn_list_view_get(b.v.list, i)))
          return false;
      return true;
    case HN_TYPE_STRUCT: {
      int64_t nf = hn_type_num_fields(hn_array_type(a.v.strct.array));
      if (nf != hn_type_num_fields(hn_array_type(b.v.strct.array))) return false;
      for (int64_t i = 0; i < nf; i++)
        if (!datum_equal(hn_struct_view_field(a.v.strct, i), hn_struct_view_field(b.v.strct, i)))
          return false;
      return true;
    }
    case HN_TYPE_OBJECT:
      return a.v.object == b.v.object;
    case HN_TYPE_LARGE_UTF8:
    case HN_TYPE_LARGE_BINARY:
    case HN_TYPE_FIXED_SIZE_BINARY:
      return a.v.str.size == b.v.str.size &&
             (a.v.str.size == 0 || memcmp(a.v.str.data, b.v.str.data, (size_t)a.v.str.size) == 0);
    case HN_TYPE_LARGE_LIST:
    case HN_TYPE_FIXED_SIZE_LIST:
    case HN_TYPE_MAP:
      a.type = b.type = HN_TYPE_LIST; /* compared as lists of their items */
      return datum_equal(a, b);
    case HN_TYPE_DECIMAL256:
      return memcmp(a.v.d256, b.v.d256, 32) == 0;
    case HN_TYPE_NULL:
      return true;
    default: { /* the other fixed-width types: their bytes at the start of the union */
      size_t n = 8;
      if (a.type == HN_TYPE_INT8 || a.type == HN_TYPE_UINT8) n = 1;
      if (a.type == HN_TYPE_INT16 || a.type == HN_TYPE_UINT16 || a.type == HN_TYPE_FLOAT16) n = 2;
      if (a.type == HN_TYPE_INT32 || a.type == HN_TYPE_UINT32 || a.type == HN_TYPE_DATE32 ||
          a.type == HN_TYPE_TIME32 || a.type == HN_TYPE_INTERVAL_MONTHS)
        n = 4;
      if (a.type == HN_TYPE_DECIMAL128 || a.type == HN_TYPE_INTERVAL_MONTH_DAY_NANO) n = 16;
      return memcmp(&a.v, &b.v, n) == 0;
    }
  }
}

static bool str_is(hn_datum d, const char *s) {
  return !d.is_null && (d.type == HN_TYPE_UTF8 || d.type == HN_TYPE_BINARY) &&
         d.v.str.size == (int64_t)strlen(s) && memcmp(d.v.str.data, s, strlen(s)) == 0;
}

/* ======================================================================== */
/* Node functions (run on worker threads: no cmocka here)                   */
/* ======================================================================== */

static void bump(void *ud) {
  if (ud) atomic_fetch_add((_Atomic int64_t *)ud, 1);
}

/* Fail the call unless a non-null datum has type `id`. */
#define NEED(ctx, d, id)                                                                    \
  do {                                                                                      \
    if (!(d).is_null && (d).type != (id))                                                   \
      return hn_ctx_fail((ctx), "input of type %s, expected %s", hn_type_id_name((d).type), \
                         hn_type_id_name(id));                                              \
  } while (0)

static hn_status f_add1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

static hn_status f_mul2(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.i64 * 2);
}

static hn_status f_sq(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.i64 * in[0].v.i64);
}

/* Binary int64 operators; null when either input is null. */
#define BINOP(fname, expr)                                                                    \
  static hn_status fname(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) { \
    bump(ud);                                                                                 \
    NEED(ctx, in[0], HN_TYPE_INT64);                                                          \
    NEED(ctx, in[1], HN_TYPE_INT64);                                                          \
    if (in[0].is_null || in[1].is_null) return hn_builder_append_null(out[0]);                \
    int64_t a = in[0].v.i64, b = in[1].v.i64;                                                 \
    return hn_builder_append_int64(out[0], (expr));                                           \
  }
BINOP(f_add, a + b)
BINOP(f_sub, a - b)
BINOP(f_mul, a *b)
BINOP(f_a10b, a * 10 + b)

static hn_status f_add3(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  for (int i = 0; i < 3; i++) NEED(ctx, in[i], HN_TYPE_INT64);
  return hn_builder_append_int64(out[0], in[0].v.i64 + in[1].v.i64 + in[2].v.i64);
}

/* (a, b) -> (a / b, a % b) */
static hn_status f_divmod(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  NEED(ctx, in[1], HN_TYPE_INT64);
  if (in[1].v.i64 == 0) return hn_ctx_fail(ctx, "division by zero");
  hn_status st = hn_builder_append_int64(out[0], in[0].v.i64 / in[1].v.i64);
  if (st != HN_OK) return st;
  return hn_builder_append_int64(out[1], in[0].v.i64 % in[1].v.i64);
}

/* list<int64> -> int64 sum of the non-null items; null list -> null. */
static hn_status f_sum_list(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_LIST);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  int64_t s = 0;
  for (int64_t i = 0; i < in[0].v.list.length; i++) {
    hn_datum d = hn_list_view_get(in[0].v.list, i);
    NEED(ctx, d, HN_TYPE_INT64);
    if (!d.is_null) s += d.v.i64;
  }
  return hn_builder_append_int64(out[0], s);
}

/* list<T> -> int64 length; null list -> null. */
static hn_status f_count(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_LIST);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.list.length);
}

/* list<int64> -> float64 mean; null or empty list -> null. */
static hn_status f_mean(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_LIST);
  if (in[0].is_null || in[0].v.list.length == 0) return hn_builder_append_null(out[0]);
  double s = 0;
  for (int64_t i = 0; i < in[0].v.list.length; i++) {
    hn_datum d = hn_list_view_get(in[0].v.list, i);
    NEED(ctx, d, HN_TYPE_INT64);
    s += d.is_null ? 0 : (double)d.v.i64;
  }
  return hn_builder_append_float64(out[0], s / (double)in[0].v.list.length);
}

static hn_status f_upper(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_UTF8);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  int64_t n = in[0].v.str.size;
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)n, 1);
  if (!buf) return hn_ctx_fail(ctx, "arena allocation failed");
  for (int64_t i = 0; i < n; i++) buf[i] = (char)toupper((unsigned char)in[0].v.str.data[i]);
  return hn_builder_append_str(out[0], buf, n);
}

/* Strip surrounding whitespace and lowercase. */
static hn_status f_clean(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_UTF8);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  const char *s = in[0].v.str.data;
  int64_t lo = 0, hi = in[0].v.str.size;
  while (lo < hi && isspace((unsigned char)s[lo])) lo++;
  while (hi > lo && isspace((unsigned char)s[hi - 1])) hi--;
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)(hi - lo), 1);
  if (!buf) return hn_ctx_fail(ctx, "arena allocation failed");
  for (int64_t i = lo; i < hi; i++) buf[i - lo] = (char)tolower((unsigned char)s[i]);
  return hn_builder_append_str(out[0], buf, hi - lo);
}

/* utf8 -> list<utf8>, split on whitespace. */
static hn_status f_tokenize(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_UTF8);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  hn_builder *items = hn_builder_child(out[0], 0);
  const char *s = in[0].v.str.data;
  int64_t n = in[0].v.str.size, i = 0;
  while (i < n) {
    while (i < n && isspace((unsigned char)s[i])) i++;
    int64_t start = i;
    while (i < n && !isspace((unsigned char)s[i])) i++;
    if (i > start) {
      hn_status st = hn_builder_append_str(items, s + start, i - start);
      if (st != HN_OK) return st;
    }
  }
  return hn_builder_finish_element(out[0]);
}

/* int64 -> its decimal spelling. */
static hn_status f_to_str(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%lld", (long long)in[0].v.i64);
  return hn_builder_append_str(out[0], buf, n);
}

/* (utf8, utf8) -> concatenation. */
static hn_status f_concat(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_UTF8);
  NEED(ctx, in[1], HN_TYPE_UTF8);
  if (in[0].is_null || in[1].is_null) return hn_builder_append_null(out[0]);
  int64_t n0 = in[0].v.str.size, n1 = in[1].v.str.size;
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)(n0 + n1), 1);
  if (!buf) return hn_ctx_fail(ctx, "arena allocation failed");
  if (n0) memcpy(buf, in[0].v.str.data, (size_t)n0);
  if (n1) memcpy(buf + n0, in[1].v.str.data, (size_t)n1);
  return hn_builder_append_str(out[0], buf, n0 + n1);
}

/* utf8 -> struct<len: int64, first: utf8> (first is null for ""). */
static hn_status f_info(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_UTF8);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  hn_status st = hn_builder_append_int64(hn_builder_child(out[0], 0), in[0].v.str.size);
  if (st != HN_OK) return st;
  st = in[0].v.str.size ? hn_builder_append_str(hn_builder_child(out[0], 1), in[0].v.str.data, 1)
                        : hn_builder_append_null(hn_builder_child(out[0], 1));
  if (st != HN_OK) return st;
  return hn_builder_finish_element(out[0]);
}

static hn_status f_half32(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_float32(out[0], (float)in[0].v.i64 / 2.0f);
}

static hn_status f_quarter(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_float64(out[0], (double)in[0].v.i64 / 4.0);
}

static hn_status f_even(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_bool(out[0], in[0].v.i64 % 2 == 0);
}

/* Any type -> bool: is the input null? (Checks that nulls arrive as nulls.) */
static hn_status f_is_null(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  return hn_builder_append_bool(out[0], in[0].is_null);
}

/* x -> x + 100, failing with "bad value X" when x is in the case's fail_spec. */
static hn_status f_fragile(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  fail_spec *fs = ud;
  atomic_fetch_add(&fs->calls, 1);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  for (int i = 0; i < fs->n; i++)
    if (in[0].v.i64 == fs->bad[i])
      return hn_ctx_fail(ctx, "bad value %lld", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64 + 100);
}

/* int64 x -> [10x]; item 2 then appends 999 to the list's items after closing it. */
static hn_status f_stray_item(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  NEED(ctx, in[0], HN_TYPE_INT64);
  hn_builder *items = hn_builder_child(out[0], 0);
  hn_status st = hn_builder_append_int64(items, in[0].v.i64 * 10);
  if (st == HN_OK) st = hn_builder_finish_element(out[0]);
  if (st == HN_OK && in[0].v.i64 == 2) st = hn_builder_append_int64(items, 999);
  return st;
}

/* int64 x -> {x "s"}; item 2 then appends 999 to field 'len' after closing the struct. */
static hn_status f_stray_field(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  NEED(ctx, in[0], HN_TYPE_INT64);
  hn_status st = hn_builder_append_int64(hn_builder_child(out[0], 0), in[0].v.i64);
  if (st == HN_OK) st = hn_builder_append_str(hn_builder_child(out[0], 1), "s", 1);
  if (st == HN_OK) st = hn_builder_finish_element(out[0]);
  if (st == HN_OK && in[0].v.i64 == 2)
    st = hn_builder_append_int64(hn_builder_child(out[0], 0), 999);
  return st;
}

/* Returns 42, which is no hn_status, for x == 1; else x. */
static hn_status f_bad_status(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].v.i64 == 1) return (hn_status)42;
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

/* Like f_fragile but passes the value through (x -> x). */
static hn_status f_picky(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  fail_spec *fs = ud;
  atomic_fetch_add(&fs->calls, 1);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  for (int i = 0; i < fs->n; i++)
    if (in[0].v.i64 == fs->bad[i])
      return hn_ctx_fail(ctx, "bad value %lld", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

/* Checks the context: worker index in range, arena usable. x -> 2x. */
static hn_status f_ctx(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  const int *workers = ud;
  int w = hn_ctx_worker(ctx);
  if (w < 0 || w >= *workers) return hn_ctx_fail(ctx, "worker %d outside [0, %d)", w, *workers);
  hn_arena *arena = hn_ctx_arena(ctx);
  if (!arena) return hn_ctx_fail(ctx, "no arena");
  int64_t *scratch = hn_arena_alloc(arena, 64 * sizeof(int64_t), 64);
  if (!scratch || ((uintptr_t)scratch & 63) != 0) return hn_ctx_fail(ctx, "bad arena block");
  for (int i = 0; i < 64; i++) scratch[i] = in[0].v.i64;
  return hn_builder_append_int64(out[0], scratch[0] + scratch[63]);
}

/* ---- resources ------------------------------------------------------------ */

#define RES_MAGIC 0x5e5011ce5e5011ceULL

typedef struct res_state {
  uint64_t magic;
  int64_t factor;
} res_state;

static hn_status res_init(void *config, void **state, hn_error *err) {
  res_config *rc = config;
  res_state *s = malloc(sizeof *s);
  if (!s) return HN_ENOMEM;
  s->magic = RES_MAGIC;
  s->factor = rc->factor;
  int64_t k = atomic_fetch_add(&rc->n_states, 1);
  if (k < 64) atomic_store(&rc->states[k], s);
  atomic_fetch_add(&rc->inits, 1);
  *state = s;
  return HN_OK;
}

static void res_destroy(void *config, void *state) {
  res_config *rc = config;
  res_state *s = state;
  s->magic = 0;
  free(s);
  atomic_fetch_add(&rc->destroys, 1);
}

static void res_config_free(void *config) {
  res_config *rc = config;
  atomic_fetch_add(&rc->config_frees, 1);
}

/* (model, x) -> x * model.factor; checks the object is a live state from res_init. */
static hn_status f_predict(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  res_config *rc = ud;
  if (in[0].is_null || in[0].type != HN_TYPE_OBJECT)
    return hn_ctx_fail(ctx, "model is not an object (type %s, null %d)",
                       hn_type_id_name(in[0].type), (int)in[0].is_null);
  res_state *s = in[0].v.object;
  bool known = false;
  int64_t n = atomic_load(&rc->n_states);
  for (int64_t k = 0; k < n && k < 64; k++) known |= atomic_load(&rc->states[k]) == s;
  if (!known) return hn_ctx_fail(ctx, "model pointer %p did not come from init", (void *)s);
  if (s->magic != RES_MAGIC) return hn_ctx_fail(ctx, "model state is not live");
  NEED(ctx, in[1], HN_TYPE_INT64);
  if (in[1].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[1].v.i64 * s->factor);
}

/* ---- batch functions -------------------------------------------------------- */

/* Read argument `a` at row i (a scalar always reads row 0). */
static hn_datum arg_get(const hn_batch_arg *a, int64_t i) {
  return hn_array_get(a->array, a->scalar ? 0 : i);
}

static hn_status check_arg(hn_ctx *ctx, const hn_batch_arg *a, int64_t n, hn_type_id id) {
  if (!a->array) return hn_ctx_fail(ctx, "batch argument without an array");
  if (hn_type_id_of(hn_array_type(a->array)) != id)
    return hn_ctx_fail(ctx, "batch argument of type %s, expected %s",
                       hn_type_id_name(hn_type_id_of(hn_array_type(a->array))),
                       hn_type_id_name(id));
  int64_t need = a->scalar ? 1 : n;
  if (hn_array_length(a->array) < need)
    return hn_ctx_fail(ctx, "batch argument has %lld rows for %lld",
                       (long long)hn_array_length(a->array), (long long)n);
  return HN_OK;
}

/* out = in[0] + (n_in > 1 ? in[1] : 1), failing when a value equals `bad`. */
static hn_status batch_add(const hn_batch_arg *in, int n_in, int64_t n, hn_array **out, hn_ctx *ctx,
                           int64_t bad) {
  for (int k = 0; k < n_in; k++) {
    hn_status st = check_arg(ctx, &in[k], n, HN_TYPE_INT64);
    if (st != HN_OK) return st;
  }
  for (int64_t i = 0; i < n; i++) {
    hn_datum x = arg_get(&in[0], i);
    if (!x.is_null && x.v.i64 == bad) return hn_ctx_fail(ctx, "batch saw %lld", (long long)bad);
  }
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, hn_type_int64(), &b, NULL);
  if (st != HN_OK) return st;
  for (int64_t i = 0; i < n && st == HN_OK; i++) {
    hn_datum x = arg_get(&in[0], i);
    hn_datum y = n_in > 1 ? arg_get(&in[1], i) : (hn_datum){.type = HN_TYPE_INT64, .v.i64 = 1};
    st = x.is_null || y.is_null ? hn_builder_append_null(b)
                                : hn_builder_append_int64(b, x.v.i64 + y.v.i64);
  }
  if (st == HN_OK) st = hn_builder_finish(b, out, NULL);
  hn_builder_destroy(b);
  return st;
}

static hn_status b_add1(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out, hn_ctx *ctx) {
  if (ud) atomic_fetch_add((_Atomic int64_t *)ud, n);
  return batch_add(in, 1, n, out, ctx, INT64_MIN);
}

static hn_status b_add(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out, hn_ctx *ctx) {
  if (ud) atomic_fetch_add((_Atomic int64_t *)ud, n);
  return batch_add(in, 2, n, out, ctx, INT64_MIN);
}

/* A node with both functions; ud points at two counters: row calls, batch rows. */
static hn_status dual_row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  if (in[0].v.i64 == 3) return hn_ctx_fail(ctx, "bad value 3");
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

static hn_status dual_batch(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out,
                            hn_ctx *ctx) {
  atomic_fetch_add((_Atomic int64_t *)ud + 1, n);
  return batch_add(in, 1, n, out, ctx, 3);
}

/* Batch-only node that fails whenever its batch contains a 3. */
static hn_status b_add1_fail3(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out,
                              hn_ctx *ctx) {
  return batch_add(in, 1, n, out, ctx, 3);
}

/* ======================================================================== */
/* Callbacks (node and item ones run on worker threads: atomics only)        */
/* ======================================================================== */

static void on_pipeline_start(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth == 0) atomic_fetch_add(&c->ev.pipeline_start, 1);
}
static void on_pipeline_end(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth == 0) atomic_fetch_add(&c->ev.pipeline_end, 1);
}
static void on_map_start(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth != 0) return;
  atomic_fetch_add(&c->ev.map_start, 1);
  atomic_store(&c->ev.map_items, ev->n_items);
}
static void on_map_end(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth == 0) atomic_fetch_add(&c->ev.map_end, 1);
}
static void on_item_start(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth != 0) return;
  atomic_fetch_add(&c->ev.item_start, 1);
  if (ev->item >= 0 && ev->item < MAX_ITEMS)
    atomic_fetch_add(&c->ev.item_seen[ev->item], 1);
  else
    atomic_fetch_add(&c->ev.item_bad, 1);
}
static void on_item_end(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth == 0) atomic_fetch_add(&c->ev.item_end, 1);
}
static int node_slot(const hn_event *ev) {
  if (!ev->node) return -1;
  if (strcmp(ev->node, "first") == 0) return 0;
  if (strcmp(ev->node, "second") == 0) return 1;
  return -1;
}
static void on_node_start(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth != 0) return;
  atomic_fetch_add(&c->ev.node_start, 1);
}
static void on_node_end(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  if (ev->depth != 0) return;
  atomic_fetch_add(&c->ev.node_end, 1);
  int k = node_slot(ev);
  if (k < 0) {
    atomic_fetch_add(&c->ev.node_other, 1);
    return;
  }
  atomic_fetch_add(&c->ev.node_calls[k], 1);
  atomic_fetch_add(&c->ev.node_rows[k], ev->n_rows);
}
static void on_error(void *ud, const hn_event *ev) {
  conf_case *c = ud;
  atomic_fetch_add(&c->ev.error, 1);
  int expected = 0;
  if (!atomic_compare_exchange_strong(&c->ev.error_claimed, &expected, 1)) return;
  snprintf(c->ev.error_node, sizeof c->ev.error_node, "%s", ev->node ? ev->node : "(null)");
  snprintf(c->ev.error_message, sizeof c->ev.error_message, "%s",
           ev->message ? ev->message : "(null)");
  snprintf(c->ev.error_path, sizeof c->ev.error_path, "%s",
           ev->item_path ? ev->item_path : "(null)");
  c->ev.error_item = ev->item;
}

static void use_callbacks(conf_case *c) {
  c->cb.user_data = c;
  c->cb.on_pipeline_start = on_pipeline_start;
  c->cb.on_pipeline_end = on_pipeline_end;
  c->cb.on_map_start = on_map_start;
  c->cb.on_map_end = on_map_end;
  c->cb.on_item_start = on_item_start;
  c->cb.on_item_end = on_item_end;
  c->cb.on_node_start = on_node_start;
  c->cb.on_node_end = on_node_end;
  c->cb.on_error = on_error;
  c->opts.callbacks = &c->cb;
}

/* ======================================================================== */
/* The runner                                                                */
/* ======================================================================== */

static hn_status execute(conf_case *c, hn_result **r, hn_error *err) {
  *r = NULL;
  return c->map ? hn_pipeline_map(c->p, c->engine, c->in, &c->opts, r, err)
                : hn_pipeline_run(c->p, c->engine, c->in, &c->opts, r, err);
}

static void check_error(conf_case *c, hn_status st, const hn_error *err, const char *what) {
  if (st != c->want_status) {
    print_error("%s: expected %s, got %s: %s\n", what, hn_status_str(c->want_status),
                hn_status_str(st), err->message);
    fail();
  }
  if (err->code != st) {
    print_error("%s: err.code %s differs from the returned %s\n", what, hn_status_str(err->code),
                hn_status_str(st));
    fail();
  }
  for (int i = 0; i < MAX_MSGS; i++) {
    if (!c->want_msg[i]) continue;
    if (!strstr(err->message, c->want_msg[i])) {
      print_error("%s: message \"%s\" lacks \"%s\"\n", what, err->message, c->want_msg[i]);
      fail();
    }
  }
  if (c->want_node && strcmp(err->node, c->want_node) != 0) {
    print_error("%s: err.node \"%s\", expected \"%s\" (message: %s)\n", what, err->node,
                c->want_node, err->message);
    fail();
  }
  if (c->want_path && strcmp(err->item_path, c->want_path) != 0) {
    print_error("%s: err.item_path \"%s\", expected \"%s\" (message: %s)\n", what, err->item_path,
                c->want_path, err->message);
    fail();
  }
}

static void check_error_records(conf_case *c, const hn_result *r) {
  hn_table *e = hn_result_errors(r);
  assert_non_null(e);
  if (hn_table_num_rows(e) != c->n_exp_err) fprint_table(stderr, "error records", e);
  assert_int_equal(hn_table_num_rows(e), c->n_exp_err);
  if (c->n_exp_err == 0) return;
  hn_array *item = hn_table_column_by_name(e, "item");
  hn_array *path = hn_table_column_by_name(e, "item_path");
  hn_array *nd = hn_table_column_by_name(e, "node");
  hn_array *msg = hn_table_column_by_name(e, "message");
  assert_non_null(item);
  assert_non_null(path);
  assert_non_null(nd);
  assert_non_null(msg);
  assert_int_equal(hn_type_id_of(hn_array_type(item)), HN_TYPE_INT64);
  for (int64_t i = 0; i < c->n_exp_err; i++) {
    hn_datum it = hn_array_get(item, i), pa = hn_array_get(path, i), no = hn_array_get(nd, i),
             me = hn_array_get(msg, i);
    bool ok = !it.is_null && it.v.i64 == c->err_item[i] && str_is(pa, c->err_path[i]) &&
              str_is(no, c->err_node[i]) && !me.is_null;
    if (ok) {
      char m[512];
      snprintf(m, sizeof m, "%.*s", (int)me.v.str.size, me.v.str.data);
      ok = strstr(m, c->err_msg[i]) != NULL;
    }
    if (!ok) {
      fprint_table(stderr, "error records", e);
      print_error(
          "error record %lld: expected item %lld, path \"%s\", node \"%s\", message "
          "containing \"%s\"\n",
          (long long)i, (long long)c->err_item[i], c->err_path[i], c->err_node[i], c->err_msg[i]);
      fail();
    }
  }
}

static void check_result(conf_case *c, const hn_result *r, const hn_table *expected) {
  assert_non_null(r);
  hn_table *t = hn_result_table(r);
  assert_non_null(t);
  HN_CHECK(hn_table_validate(t, true, &c->err), &c->err);
  if (expected && !hn_table_equals(t, expected)) {
    fprint_table(stderr, "expected", expected);
    fprint_table(stderr, "got", t);
    fail_msg("result table differs from the expected one");
  }
  hn_result_stats stats = hn_test_stats(r);
  if (!c->map)
    assert_int_equal(hn_table_num_rows(t), 1);
  else
    assert_int_equal(stats.n_items, hn_table_num_rows(t));
  assert_int_equal(stats.resource_inits, stats.resource_destroys);
  if (c->opts.error_policy == HN_ERRORS_CONTINUE) assert_int_equal(stats.n_failed, c->n_exp_err);
  check_error_records(c, r);
}

/* Release everything the case holds; safe to call twice (fields are cleared). */
static void release_all(conf_case *c) {
  hn_result_destroy(c->result);
  c->result = NULL;
  hn_result_destroy(c->tmp_result);
  c->tmp_result = NULL;
  hn_rows_destroy(c->tmp_rows);
  c->tmp_rows = NULL;
  hn_stream_reader_destroy(c->tmp_reader);
  c->tmp_reader = NULL;
  for (int i = 0; i < 2; i++) {
    hn_table_release(c->tmp_tables[i]);
    c->tmp_tables[i] = NULL;
  }
  hn_table_release(c->expected);
  c->expected = NULL;
  for (int64_t i = 0; i < c->n_exp; i++) {
    hn_array_release(c->exp_cols[i]);
    c->exp_cols[i] = NULL;
  }
  hn_inputs_destroy(c->in);
  c->in = NULL;
  for (int i = 0; i < c->n_pipes; i++) {
    hn_pipeline_release(c->pipes[i]);
    c->pipes[i] = NULL;
  }
  const hn_type **types[5] = {&c->t_li64, &c->t_lstr, &c->t_lf64, &c->t_lli64, &c->t_info};
  for (int i = 0; i < 5; i++) {
    hn_type_release(*types[i]);
    *types[i] = NULL;
  }
}

static int verify_extra_calls(verify_fn verify);

/*
 * cmocka setup: a fresh case context (the state becomes the context). It is
 * a shared anonymous mapping, zero-filled: on the processes engine node
 * functions run in forked workers, and their counters (calls, resource
 * counts, the case allocator's counts) must reach this process.
 */
static int setup_case(void **state) {
  const case_entry *e = *state;
  void *m =
      mmap(NULL, sizeof(conf_case), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) return -1;
  conf_case *c = m;
  c->entry = e;
  hn_test_alloc_init(&c->ta, 0);
  c->a = &c->ta.alloc;
  c->engine = g_engine;
  c->workers = hn_engine_workers(g_engine);
  c->opts.size = sizeof c->opts;
  c->cb.size = sizeof c->cb;
  c->want_config_frees = -1;
  hn_error_reset(&c->err);
  *state = c;
  return 0;
}

/* cmocka teardown: runs also after a failed case, so that nothing leaks. */
static int teardown_case(void **state) {
  conf_case *c = *state;
  release_all(c);
  munmap(c, sizeof *c);
  return 0;
}

static void run_case(void **state) {
  conf_case *c = *state;
  const char *info_names[2] = {"len", "first"};
  const hn_type *info_types[2] = {I64T, STRT};
  HN_CHECK(hn_type_list_create(c->a, I64T, &c->t_li64, &c->err), &c->err);
  HN_CHECK(hn_type_list_create(c->a, STRT, &c->t_lstr, &c->err), &c->err);
  HN_CHECK(hn_type_list_create(c->a, F64T, &c->t_lf64, &c->err), &c->err);
  HN_CHECK(hn_type_list_create(c->a, c->t_li64, &c->t_lli64, &c->err), &c->err);
  HN_CHECK(hn_type_struct_create(c->a, 2, info_names, info_types, &c->t_info, &c->err), &c->err);
  HN_CHECK(hn_inputs_create(c->a, &c->in, &c->err), &c->err);

  c->entry->build(c);

  if (c->n_exp > 0) {
    HN_CHECK(hn_table_create(c->a, c->n_exp, c->exp_names, c->exp_cols, &c->expected, &c->err),
             &c->err);
    for (int64_t i = 0; i < c->n_exp; i++) hn_array_release(c->exp_cols[i]);
    c->n_exp = 0; /* the table holds them now */
  }

  if (c->build_failed) {
    /* The case's point was a refused build step. */
    assert_true(c->expect_fail);
    check_error(c, c->build_status, &c->build_err, "build");
  } else if (c->p) {
    hn_error err;
    hn_error_reset(&err);
    hn_status st = execute(c, &c->result, &err);
    bool serving = g_rank != 0 && c->engine && hn_engine_kind_of(c->engine) == HN_ENGINE_MPI;
    if (serving && !c->expect_fail) {
      /* Serving rank: the same status, no rows; the same calls as rank 0. */
      if (st != HN_OK) {
        print_error("rank %d: map failed: %s: %s\n", g_rank, hn_status_str(st), err.message);
        fail();
      }
      hn_result_destroy(c->result);
      c->result = NULL;
      /* The calls rank 0's verify or second run makes. */
      int extra = c->verify ? verify_extra_calls(c->verify) : c->run_twice_off ? 0 : 1;
      for (int k = 0; k < extra; k++) {
        st = execute(c, &c->result, &err);
        assert_int_equal(st, HN_OK);
        hn_result_destroy(c->result);
        c->result = NULL;
      }
    } else if (c->expect_fail) {
      check_error(c, st, &err, c->map ? "map" : "run");
      assert_null(c->result);
      if (c->verify) c->verify(c, NULL);
    } else {
      if (st != HN_OK) {
        print_error("%s failed: %s: %s (node \"%s\", item \"%s\")\n", c->map ? "map" : "run",
                    hn_status_str(st), err.message, err.node, err.item_path);
        fail();
      }
      check_result(c, c->result, c->expected);
      if (c->verify) c->verify(c, c->result);
      hn_result_destroy(c->result);
      c->result = NULL;
      if (!c->verify && !c->run_twice_off) {
        /* Again: the cached plan and a used engine must give the same answer. */
        st = execute(c, &c->result, &err);
        if (st != HN_OK) {
          print_error("second run failed: %s: %s\n", hn_status_str(st), err.message);
          fail();
        }
        check_result(c, c->result, c->expected);
      }
    }
  }

  release_all(c);
  if (c->want_config_frees >= 0)
    assert_int_equal(atomic_load(&c->res.config_frees), c->want_config_frees);
  if (c->ta.live != 0) {
    print_error("%lld allocations made with the case's allocator were not freed\n",
                (long long)c->ta.live);
    fail();
  }
}

/* ======================================================================== */
/* Cases: basic graphs                                                       */
/* ======================================================================== */

static void case_single_node_run(conf_case *c) {
  hn_pipeline *p = top(c, "single");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  in_i64(c, "x", 41);
  expect(c, "y", arr(c, I64T, "42"));
}

static void case_chain(conf_case *c) {
  hn_pipeline *p = top(c, "chain");
  HN_CHECK(hn_pipeline_add(p, "step1", "x", "a: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "step2", "a", "b: int64", f_mul2, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "step3", "b", "z: int64", f_add1, &c->err), &c->err);
  in_i64(c, "x", 5);
  want(c, "z");
  expect(c, "z", arr(c, I64T, "13"));
}

static void verify_once_each(conf_case *c, const hn_result *r) {
  if (!node_counts_seen()) return;
  for (int i = 0; i < 3; i++) assert_int_equal(atomic_load(&c->calls[i]), 1);
}

static void case_diamond(conf_case *c) {
  hn_pipeline *p = top(c, "diamond");
  HN_CHECK(
      hn_pipeline_add_ex(p, "right", "x", "c: int64", f_mul2, NULL, &c->calls[1], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "join", "b,c", "d: int64", f_add, NULL, &c->calls[2], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "left", "x", "b: int64", f_add1, NULL, &c->calls[0], NULL, &c->err),
      &c->err);
  in_i64(c, "x", 3);
  want(c, "d");
  expect(c, "d", arr(c, I64T, "10"));
  c->verify = verify_once_each;
}

static void case_multi_output_node(conf_case *c) {
  hn_pipeline *p = top(c, "divmod");
  HN_CHECK(hn_pipeline_add(p, "split", "a,b", "q: int64, r: int64", f_divmod, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "back", "q,r", "qr: int64", f_a10b, &c->err), &c->err);
  in_i64(c, "a", 17);
  in_i64(c, "b", 5);
  /* Every output in execution order then declaration order: q, r, qr. */
  expect(c, "q", arr(c, I64T, "3"));
  expect(c, "r", arr(c, I64T, "2"));
  expect(c, "qr", arr(c, I64T, "32"));
}

static void case_all_outputs_run(conf_case *c) {
  hn_pipeline *p = top(c, "all");
  /* Inserted out of order: the output order follows execution order. */
  HN_CHECK(hn_pipeline_add(p, "n2", "y", "z: int64", f_mul2, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "n1", "x", "y: int64", f_add1, &c->err), &c->err);
  in_i64(c, "x", 1);
  expect(c, "y", arr(c, I64T, "2")); /* intermediates included */
  expect(c, "z", arr(c, I64T, "4")); /* inputs (x) not */
}

static void case_all_outputs_map(conf_case *c) {
  hn_pipeline *p = top(c, "diamond");
  HN_CHECK(hn_pipeline_add(p, "right", "x", "c: int64", f_mul2, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "join", "b,c", "d: int64", f_add, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "left", "x", "b: int64", f_add1, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 3"));
  map_over(c, "x", HN_MAP_ZIP);
  /* Execution order: left, right (ties by name), then join. */
  expect(c, "b", arr(c, I64T, "2 3 4"));
  expect(c, "c", arr(c, I64T, "2 4 6"));
  expect(c, "d", arr(c, I64T, "4 7 10"));
}

static void verify_selective(conf_case *c, const hn_result *r) {
  if (!node_counts_seen()) return;
  assert_int_equal(atomic_load(&c->calls[0]), 5);
  assert_int_equal(atomic_load(&c->calls[1]), 5);
  assert_int_equal(atomic_load(&c->calls[2]), 0);
  assert_int_equal(atomic_load(&c->calls[3]), 0);
}

static void case_selective_outputs(conf_case *c) {
  hn_pipeline *p = top(c, "selective");
  HN_CHECK(hn_pipeline_add_ex(p, "a", "x", "p: int64", f_add1, NULL, &c->calls[0], NULL, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add_ex(p, "b", "p", "q: int64", f_mul2, NULL, &c->calls[1], NULL, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add_ex(p, "c", "x", "r: int64", f_add1, NULL, &c->calls[2], NULL, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add_ex(p, "d", "r", "s: int64", f_mul2, NULL, &c->calls[3], NULL, &c->err),
           &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 3 4 5"));
  map_over(c, "x", HN_MAP_ZIP);
  want(c, "q");
  expect(c, "q", arr(c, I64T, "4 6 8 10 12"));
  c->verify = verify_selective;
}

static void case_selective_needs_only_ancestors(conf_case *c) {
  hn_pipeline *p = top(c, "pruned");
  HN_CHECK(hn_pipeline_add(p, "a", "x", "p: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "d", "p,zzz", "s: int64", f_add, &c->err),
           &c->err); /* zzz is never provided */
  in_i64(c, "x", 7);
  want(c, "p");
  expect(c, "p", arr(c, I64T, "8"));
}

static void case_requested_order(conf_case *c) {
  hn_pipeline *p = top(c, "order");
  HN_CHECK(hn_pipeline_add(p, "n1", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "n2", "y", "z: int64", f_mul2, &c->err), &c->err);
  in_i64(c, "x", 10);
  want(c, "z,y"); /* the request order is kept */
  expect(c, "z", arr(c, I64T, "22"));
  expect(c, "y", arr(c, I64T, "11"));
}

static void case_introspection(conf_case *c) {
  hn_pipeline *p = top(c, "intro");
  HN_CHECK(hn_pipeline_add(p, "zeta", "b", "c: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "alpha", "x", "a: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "mid", "a,k", "b: int64", f_add, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "beta", "x", "d: int64", f_mul2, &c->err), &c->err);
  assert_string_equal(hn_pipeline_name(p), "intro");
  assert_int_equal(hn_pipeline_num_nodes(p), 4);
  const char *order[4] = {"alpha", "beta", "mid", "zeta"};
  for (int i = 0; i < 4; i++) assert_string_equal(hn_pipeline_execution_order(p, i), order[i]);
  assert_int_equal(hn_pipeline_num_root_inputs(p), 2);
  assert_string_equal(hn_pipeline_root_input(p, 0), "k");
  assert_string_equal(hn_pipeline_root_input(p, 1), "x");
  const char *outs[4] = {"a", "d", "b", "c"};
  assert_int_equal(hn_pipeline_num_outputs(p), 4);
  for (int i = 0; i < 4; i++) assert_string_equal(hn_pipeline_output(p, i), outs[i]);
  assert_true(hn_type_equals(hn_pipeline_output_type(p, "c"), I64T));
  assert_null(hn_pipeline_output_type(p, "x"));
  assert_null(hn_pipeline_output_type(p, "nope"));
  in_i64(c, "x", 1);
  in_i64(c, "k", 100);
  expect(c, "a", arr(c, I64T, "2"));
  expect(c, "d", arr(c, I64T, "2"));
  expect(c, "b", arr(c, I64T, "102"));
  expect(c, "c", arr(c, I64T, "103"));
}

/* ======================================================================== */
/* Cases: map                                                                */
/* ======================================================================== */

static void case_map_zip(conf_case *c) {
  hn_pipeline *p = top(c, "zip");
  HN_CHECK(hn_pipeline_add(p, "plus", "a,b", "s: int64", f_add, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "minus", "b,a", "d: int64", f_sub, &c->err), &c->err);
  in_col(c, "a", arr(c, I64T, "1 2 3"));
  in_col(c, "b", arr(c, I64T, "10 20 30"));
  map_over(c, "a,b", HN_MAP_ZIP);
  want(c, "s,d");
  expect(c, "s", arr(c, I64T, "11 22 33"));
  expect(c, "d", arr(c, I64T, "9 18 27"));
}

static void case_map_product(conf_case *c) {
  hn_pipeline *p = top(c, "product");
  HN_CHECK(hn_pipeline_add(p, "plus", "a,b", "s: int64", f_a10b, &c->err), &c->err);
  in_col(c, "a", arr(c, I64T, "1 2"));
  in_col(c, "b", arr(c, I64T, "3 4 5"));
  map_over(c, "a,b", HN_MAP_PRODUCT);
  expect(c, "s", arr(c, I64T, "13 14 15 23 24 25")); /* the last input varies fastest */
}

static void case_map_product_three(conf_case *c) {
  hn_pipeline *p = top(c, "product3");
  HN_CHECK(hn_pipeline_add(p, "sum", "a,b,c", "s: int64", f_add3, &c->err), &c->err);
  in_col(c, "a", arr(c, I64T, "100 200"));
  in_col(c, "b", arr(c, I64T, "10 20 30"));
  in_col(c, "c", arr(c, I64T, "1 2"));
  map_over(c, "a,b,c", HN_MAP_PRODUCT);
  int64_t v[12], n = 0;
  for (int i = 1; i <= 2; i++)
    for (int j = 1; j <= 3; j++)
      for (int k = 1; k <= 2; k++) v[n++] = 100 * i + 10 * j + k;
  expect(c, "s", i64_values(c, n, v));
}

static void case_map_product_empty_factor(conf_case *c) {
  hn_pipeline *p = top(c, "product0");
  HN_CHECK(hn_pipeline_add(p, "plus", "a,b", "s: int64", f_add, &c->err), &c->err);
  in_col(c, "a", arr(c, I64T, "1 2"));
  in_col(c, "b", arr(c, I64T, ""));
  map_over(c, "a,b", HN_MAP_PRODUCT);
  expect(c, "s", arr(c, I64T, ""));
}

static void case_zip_length_mismatch(conf_case *c) {
  hn_pipeline *p = top(c, "zip");
  HN_CHECK(hn_pipeline_add(p, "plus", "left_col,right_col", "s: int64", f_add, &c->err), &c->err);
  in_col(c, "left_col", iota(c, 7, 0));
  in_col(c, "right_col", iota(c, 4, 0));
  map_over(c, "left_col,right_col", HN_MAP_ZIP);
  expect_failure(c, HN_EINVAL, NULL, NULL, "left_col", "right_col", "7");
  c->want_msg[3] = "4";
}

/* The node of calls[0] never ran (counters kept by nodes are seen on this process only). */
static void verify_no_calls(conf_case *c, const hn_result *r) {
  (void)r;
  if (node_counts_seen()) assert_int_equal(atomic_load(&c->calls[0]), 0);
}

/* 2^60 items whose outputs could never be held: refused before anything runs. */
static void case_map_outputs_cannot_fit(conf_case *c) {
  hn_pipeline *p = top(c, "huge");
  HN_CHECK(
      hn_pipeline_add_ex(p, "sum", "a,b,c", "y: int64", f_add3, NULL, &c->calls[0], NULL, &c->err),
      &c->err);
  in_col(c, "a", iota(c, 1 << 20, 0));
  in_col(c, "b", iota(c, 1 << 20, 0));
  in_col(c, "c", iota(c, 1 << 20, 0));
  map_over(c, "a,b,c", HN_MAP_PRODUCT);
  expect_failure(c, HN_ERANGE, NULL, NULL, "a map over 1152921504606846976 items cannot hold",
                 "more than this machine's memory", NULL);
  c->verify = verify_no_calls;
}

static void case_map_over_value_input(conf_case *c) {
  hn_pipeline *p = top(c, "notcol");
  HN_CHECK(hn_pipeline_add(p, "inc", "scalar_x", "y: int64", f_add1, &c->err), &c->err);
  in_i64(c, "scalar_x", 3);
  map_over(c, "scalar_x", HN_MAP_ZIP);
  expect_failure(c, HN_EINVAL, NULL, NULL, "scalar_x", NULL, NULL);
}

static void case_map_over_unknown_input(conf_case *c) {
  hn_pipeline *p = top(c, "unknown_over");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 2"));
  map_over(c, "x,phantom_input", HN_MAP_ZIP);
  expect_failure(c, HN_EINVAL, NULL, NULL, "phantom_input", NULL, NULL);
}

static void case_fixed_inputs_broadcast(conf_case *c) {
  hn_pipeline *p = top(c, "broadcast");
  HN_CHECK(hn_pipeline_add(p, "scale", "x,k", "y: int64", f_mul, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "label", "name,suffix", "tag: utf8", f_concat, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 3"));
  in_col(c, "name", arr(c, STRT, "a bb ccc"));
  in_i64(c, "k", 10);
  in_str(c, "suffix", "-sfx");
  map_over(c, "x,name", HN_MAP_ZIP);
  /* Every output, in execution order (ties by node name: label, scale). */
  expect(c, "tag", arr(c, STRT, "a-sfx bb-sfx ccc-sfx"));
  expect(c, "y", arr(c, I64T, "10 20 30"));
}

static void case_unmapped_column_is_list(conf_case *c) {
  hn_pipeline *p = top(c, "unmapped");
  HN_CHECK(hn_pipeline_add(p, "total", "all: list<int64>", "t: int64", f_sum_list, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "count", "all", "n: int64", f_count, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "plus", "x,t", "y: int64", f_add, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 3"));
  in_col(c, "all", arr(c, I64T, "10 20 30 40"));
  map_over(c, "x", HN_MAP_ZIP);
  want(c, "y,n");
  expect(c, "y", arr(c, I64T, "101 102 103"));
  expect(c, "n", arr(c, I64T, "4 4 4"));
}

static void case_run_column_is_list(conf_case *c) {
  hn_pipeline *p = top(c, "runcol");
  HN_CHECK(hn_pipeline_add(p, "total", "all", "t: int64", f_sum_list, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "count", "all", "n: int64", f_count, &c->err), &c->err);
  in_col(c, "all", arr(c, I64T, "1 ~ 3 4"));
  expect(c, "n", arr(c, I64T, "4")); /* count before total */
  expect(c, "t", arr(c, I64T, "8"));
}

static void case_empty_map(conf_case *c) {
  hn_pipeline *p = top(c, "empty");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "spell", "x", "s: utf8", f_to_str, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "split", "s", "tokens: list<utf8>", f_tokenize, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "half", "x", "h: float32", f_half32, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, ""));
  map_over(c, "x", HN_MAP_ZIP);
  want(c, "y,tokens,h,s");
  expect(c, "y", arr(c, I64T, ""));
  expect(c, "tokens", arr(c, c->t_lstr, ""));
  expect(c, "h", arr(c, F32T, ""));
  expect(c, "s", arr(c, STRT, ""));
}

static void case_large_map(conf_case *c) {
  enum { N = 10000 };
  hn_pipeline *p = top(c, "large");
  HN_CHECK(hn_pipeline_add(p, "triple", "x,k", "y: int64", f_mul, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "plus", "y", "z: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "mix", "z,x", "w: int64", f_a10b, &c->err), &c->err);
  in_col(c, "x", iota(c, N, -500));
  in_i64(c, "k", 3);
  map_over(c, "x", HN_MAP_ZIP);
  want(c, "z,w");
  int64_t *z = malloc(N * sizeof *z), *w = malloc(N * sizeof *w);
  assert_non_null(z);
  assert_non_null(w);
  for (int64_t i = 0; i < N; i++) {
    int64_t x = i - 500;
    z[i] = x * 3 + 1;
    w[i] = z[i] * 10 + x;
  }
  expect(c, "z", i64_values(c, N, z));
  expect(c, "w", i64_values(c, N, w));
  free(z);
  free(w);
}

/* ======================================================================== */
/* Cases: bind / unbind                                                      */
/* ======================================================================== */

static void case_bind_default(conf_case *c) {
  hn_pipeline *p = top(c, "bound");
  HN_CHECK(hn_pipeline_add(p, "scale", "x,k", "y: int64", f_mul, &c->err), &c->err);
  hn_array *ks = arr(c, I64T, "5 10 15");
  hn_error err;
  assert_int_equal(hn_pipeline_bind(p, "k", ks, 3, &err), HN_ERANGE);
  assert_int_equal(err.code, HN_ERANGE);
  HN_CHECK(hn_pipeline_bind(p, "k", ks, 1, &c->err), &c->err);
  hn_array_release(ks); /* the pipeline holds it */
  assert_int_equal(hn_pipeline_num_root_inputs(p), 1);
  assert_string_equal(hn_pipeline_root_input(p, 0), "x");
  in_i64(c, "x", 4);
  expect(c, "y", arr(c, I64T, "40"));
}

static void case_bind_override(conf_case *c) {
  hn_pipeline *p = top(c, "override");
  HN_CHECK(hn_pipeline_add(p, "scale", "x,k", "y: int64", f_mul, &c->err), &c->err);
  hn_array *ks = arr(c, I64T, "10");
  HN_CHECK(hn_pipeline_bind(p, "k", ks, 0, &c->err), &c->err);
  hn_array_release(ks);
  in_i64(c, "x", 4);
  in_i64(c, "k", 3); /* explicit beats bound */
  expect(c, "y", arr(c, I64T, "12"));
}

static void case_bind_in_map(conf_case *c) {
  hn_pipeline *p = top(c, "bound_map");
  HN_CHECK(hn_pipeline_add(p, "scale", "x,k", "y: int64", f_mul, &c->err), &c->err);
  hn_array *ks = arr(c, I64T, "7");
  HN_CHECK(hn_pipeline_bind(p, "k", ks, 0, &c->err), &c->err);
  hn_array_release(ks);
  in_col(c, "x", arr(c, I64T, "1 2 ~ 4"));
  map_over(c, "x", HN_MAP_ZIP);
  expect(c, "y", arr(c, I64T, "7 14 ~ 28"));
}

static void case_unbind(conf_case *c) {
  hn_pipeline *p = top(c, "unbound");
  HN_CHECK(hn_pipeline_add(p, "scale", "x,bound_k", "y: int64", f_mul, &c->err), &c->err);
  hn_array *ks = arr(c, I64T, "10");
  HN_CHECK(hn_pipeline_bind(p, "bound_k", ks, 0, &c->err), &c->err);
  hn_array_release(ks);
  HN_CHECK(hn_pipeline_unbind(p, "bound_k", &c->err), &c->err);
  hn_error err;
  assert_int_equal(hn_pipeline_unbind(p, "bound_k", &err), HN_ENOTFOUND);
  assert_int_equal(hn_pipeline_num_root_inputs(p), 2);
  in_i64(c, "x", 4);
  expect_failure(c, HN_EINVAL, NULL, NULL, "bound_k", NULL, NULL);
}

/* ======================================================================== */
/* Cases: refused runs and refused pipelines                                 */
/* ======================================================================== */

static void case_missing_inputs(conf_case *c) {
  hn_pipeline *p = top(c, "missing");
  HN_CHECK(hn_pipeline_add(p, "n1", "alpha,beta", "s: int64", f_add, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "n2", "s,gamma", "t: int64", f_add, &c->err), &c->err);
  in_i64(c, "beta", 1);
  /* The message lists the missing inputs and the required set. */
  expect_failure(c, HN_EINVAL, NULL, NULL, "alpha", "gamma", "beta");
}

static void case_unknown_output(conf_case *c) {
  hn_pipeline *p = top(c, "unknown");
  HN_CHECK(hn_pipeline_add(p, "n1", "x", "sum_out: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "n2", "x", "prod_out: int64", f_mul2, &c->err), &c->err);
  in_i64(c, "x", 1);
  want(c, "sum_out,ghost_out");
  expect_failure(c, HN_EINVAL, NULL, NULL, "ghost_out", "sum_out", "prod_out");
}

static void case_input_type_mismatch(conf_case *c) {
  hn_pipeline *p = top(c, "typed");
  HN_CHECK(hn_pipeline_add(p, "inc", "typed_x: int64", "y: int64", f_add1, &c->err), &c->err);
  in_str(c, "typed_x", "not a number");
  expect_failure(c, HN_ETYPE, NULL, NULL, "typed_x", NULL, NULL);
}

static void case_build_type_mismatch(conf_case *c) {
  hn_pipeline *p = top(c, "mismatch");
  HN_CHECK(hn_pipeline_add(p, "maker", "x", "shared_val: utf8", f_to_str, &c->err), &c->err);
  hn_error err;
  hn_status st = hn_pipeline_add(p, "user", "shared_val: int64", "y: int64", f_add1, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_ETYPE, NULL, NULL, "maker", "user", "shared_val");
}

static void case_build_type_mismatch_consumer_first(conf_case *c) {
  hn_pipeline *p = top(c, "mismatch2");
  HN_CHECK(hn_pipeline_add(p, "user", "shared_val: int64", "y: int64", f_add1, &c->err), &c->err);
  hn_error err;
  hn_status st = hn_pipeline_add(p, "maker", "x", "shared_val: utf8", f_to_str, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_ETYPE, NULL, NULL, "maker", "user", "shared_val");
}

static void case_duplicate_producer(conf_case *c) {
  hn_pipeline *p = top(c, "dup");
  HN_CHECK(hn_pipeline_add(p, "first_maker", "x", "shared: int64", f_add1, &c->err), &c->err);
  hn_error err;
  hn_status st = hn_pipeline_add(p, "second_maker", "x", "shared: int64", f_mul2, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_EINVAL, NULL, NULL, "first_maker", "second_maker", "shared");
}

static void case_duplicate_node_name(conf_case *c) {
  hn_pipeline *p = top(c, "dupname");
  HN_CHECK(hn_pipeline_add(p, "twin", "x", "y: int64", f_add1, &c->err), &c->err);
  hn_error err;
  hn_status st = hn_pipeline_add(p, "twin", "x", "z: int64", f_mul2, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_EINVAL, NULL, NULL, "twin", NULL, NULL);
}

static void case_cycle(conf_case *c) {
  hn_pipeline *p = top(c, "cycle");
  HN_CHECK(hn_pipeline_add(p, "a", "y", "x: int64", f_add1, &c->err), &c->err);
  hn_error err;
  hn_status st = hn_pipeline_add(p, "b", "x", "y: int64", f_add1, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_EINVAL, NULL, NULL, "a -> b -> a", NULL, NULL);
}

static void case_cycle_three(conf_case *c) {
  hn_pipeline *p = top(c, "cycle3");
  HN_CHECK(hn_pipeline_add(p, "a", "z", "x: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "b", "x", "y: int64", f_add1, &c->err), &c->err);
  hn_error err;
  hn_status st = hn_pipeline_add(p, "c", "y", "z: int64", f_add1, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_EINVAL, NULL, NULL, "a -> b -> c -> a", NULL, NULL);
}

static void case_self_loop(conf_case *c) {
  hn_pipeline *p = top(c, "self");
  hn_error err;
  hn_status st = hn_pipeline_add(p, "loop", "x", "x: int64", f_add1, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_EINVAL, NULL, NULL, "loop", NULL, NULL);
}

static void case_bad_definitions_leave_pipeline_intact(conf_case *c) {
  hn_pipeline *p = top(c, "intact");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  hn_error err;
  /* No function at all. */
  assert_int_equal(hn_pipeline_add(p, "nofn", "x", "a: int64", NULL, &err), HN_EINVAL);
  /* No outputs. */
  assert_int_equal(hn_pipeline_add(p, "noout", "x", "", f_add1, &err), HN_EINVAL);
  /* No name. */
  assert_int_equal(hn_pipeline_add(p, NULL, "x", "b: int64", f_add1, &err), HN_EINVAL);
  /* A refused node (second producer of y) adds nothing. */
  assert_int_equal(hn_pipeline_add(p, "again", "x", "y: int64", f_add1, &err), HN_EINVAL);
  assert_int_equal(hn_pipeline_num_nodes(p), 1);
  assert_int_equal(hn_pipeline_num_outputs(p), 1);
  in_i64(c, "x", 1);
  expect(c, "y", arr(c, I64T, "2"));
}

/* ======================================================================== */
/* Cases: types and nulls                                                    */
/* ======================================================================== */

static void case_utf8_output(conf_case *c) {
  hn_pipeline *p = top(c, "upper");
  HN_CHECK(hn_pipeline_add(p, "up", "s", "u: utf8", f_upper, &c->err), &c->err);
  in_col(c, "s", arr(c, STRT, "Hello wOrLd \"\" ~ \"with space\""));
  map_over(c, "s", HN_MAP_ZIP);
  expect(c, "u", arr(c, STRT, "HELLO WORLD \"\" ~ \"WITH SPACE\""));
}

static void case_list_utf8_output(conf_case *c) {
  hn_pipeline *p = top(c, "tokens");
  HN_CHECK(hn_pipeline_add(p, "split", "s", "t: list<utf8>", f_tokenize, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "count", "t", "n: int64", f_count, &c->err), &c->err);
  in_col(c, "s", arr(c, STRT, "\"a b  c\" \"\" \"  x  \" ~"));
  map_over(c, "s", HN_MAP_ZIP);
  expect(c, "t", arr(c, c->t_lstr, "[a b c] [] [x] ~"));
  expect(c, "n", arr(c, I64T, "3 0 1 ~"));
}

static void case_struct_output(conf_case *c) {
  hn_pipeline *p = top(c, "struct");
  HN_CHECK(hn_pipeline_add(p, "info", "s", "i: struct<len: int64, first: utf8>", f_info, &c->err),
           &c->err);
  in_col(c, "s", arr(c, STRT, "hello \"\" ~ x"));
  map_over(c, "s", HN_MAP_ZIP);
  expect(c, "i", arr(c, c->t_info, "{5 h} {0 ~} ~ {1 x}"));
}

static void case_float_outputs(conf_case *c) {
  hn_pipeline *p = top(c, "floats");
  HN_CHECK(hn_pipeline_add(p, "half", "x", "h: float32", f_half32, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "quarter", "x", "q: float64", f_quarter, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 ~ -3"));
  map_over(c, "x", HN_MAP_ZIP);
  expect(c, "h", arr(c, F32T, "0.5 1 ~ -1.5"));
  expect(c, "q", arr(c, F64T, "0.25 0.5 ~ -0.75"));
}

static void case_bool_output(conf_case *c) {
  hn_pipeline *p = top(c, "bools");
  HN_CHECK(hn_pipeline_add(p, "even", "x", "e: bool", f_even, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 ~ 4 7"));
  map_over(c, "x", HN_MAP_ZIP);
  expect(c, "e", arr(c, BOOLT, "false true ~ true false"));
}

static void case_nulls_flow(conf_case *c) {
  hn_pipeline *p = top(c, "nulls");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "dbl", "y", "z: int64", f_mul2, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "xnull", "x", "xn: bool", f_is_null, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "snull", "s", "sn: bool", f_is_null, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "up", "s", "u: utf8", f_upper, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 ~ 3 ~"));
  in_col(c, "s", arr(c, STRT, "~ b ~ d"));
  map_over(c, "x,s", HN_MAP_ZIP);
  want(c, "z,xn,sn,u");
  expect(c, "z", arr(c, I64T, "4 ~ 8 ~"));
  expect(c, "xn", arr(c, BOOLT, "false true false true"));
  expect(c, "sn", arr(c, BOOLT, "true false true false"));
  expect(c, "u", arr(c, STRT, "~ B ~ D"));
}

static void case_null_scalar_input(conf_case *c) {
  hn_pipeline *p = top(c, "nullscalar");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "isn", "x", "n: bool", f_is_null, &c->err), &c->err);
  in_val(c, "x", arr(c, I64T, "5 ~"), 1);
  expect(c, "y", arr(c, I64T, "~"));
  expect(c, "n", arr(c, BOOLT, "true"));
}

static void case_list_value_input(conf_case *c) {
  hn_pipeline *p = top(c, "listvals");
  HN_CHECK(hn_pipeline_add(p, "sum", "xs", "s: int64", f_sum_list, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "mean", "xs", "m: float64", f_mean, &c->err), &c->err);
  in_col(c, "xs", arr(c, c->t_li64, "[1 2 3] [] ~ [4 ~ 8]"));
  map_over(c, "xs", HN_MAP_ZIP);
  expect(c, "m", arr(c, F64T, "2 ~ ~ 4")); /* mean before sum */
  expect(c, "s", arr(c, I64T, "6 0 ~ 12"));
}

/* ======================================================================== */
/* Cases: nested pipelines                                                   */
/* ======================================================================== */

static void case_nested_renamed(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(hn_pipeline_add(inner, "i1", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(inner, "i2", "y", "z: int64", f_mul2, &c->err), &c->err);
  hn_pipeline *p = top(c, "outer");
  HN_CHECK(hn_pipeline_add_nested(p, "sub", inner, "a=x", "z=result", "", HN_MAP_ZIP, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "post", "result", "final: int64", f_add1, &c->err), &c->err);
  assert_true(hn_type_equals(hn_pipeline_output_type(p, "result"), I64T));
  in_i64(c, "a", 3);
  want(c, "result,final");
  expect(c, "result", arr(c, I64T, "8"));
  expect(c, "final", arr(c, I64T, "9"));
}

static void case_nested_in_map(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(hn_pipeline_add(inner, "i1", "x", "y: int64", f_add1, &c->err), &c->err);
  hn_pipeline *p = top(c, "outer");
  HN_CHECK(hn_pipeline_add_nested(p, "sub", inner, "a=x", "y=b", "", HN_MAP_ZIP, &c->err), &c->err);
  in_col(c, "a", arr(c, I64T, "1 ~ 3"));
  map_over(c, "a", HN_MAP_ZIP);
  want(c, "b");
  expect(c, "b", arr(c, I64T, "2 ~ 4"));
}

static hn_pipeline *times10_inner(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "times10");
  HN_CHECK(hn_pipeline_add(inner, "scale", "x,ten", "y: int64", f_mul, &c->err), &c->err);
  hn_array *ten = arr(c, I64T, "10");
  HN_CHECK(hn_pipeline_bind(inner, "ten", ten, 0, &c->err), &c->err);
  hn_array_release(ten);
  return inner;
}

static void case_nested_mapped_ragged(conf_case *c) {
  hn_pipeline *inner = times10_inner(c);
  hn_pipeline *p = top(c, "ragged");
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "xs=x", "y=ys", "xs", HN_MAP_ZIP, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "count", "ys", "n: int64", f_count, &c->err), &c->err);
  assert_true(hn_type_equals(hn_pipeline_output_type(p, "ys"), c->t_li64));
  in_col(c, "xs", arr(c, c->t_li64, "[1 2 3] [4] [] ~ [5 ~ 6]"));
  map_over(c, "xs", HN_MAP_ZIP);
  want(c, "ys,n");
  expect(c, "ys", arr(c, c->t_li64, "[10 20 30] [40] [] ~ [50 ~ 60]"));
  expect(c, "n", arr(c, I64T, "3 1 0 ~ 3"));
}

static void case_nested_mapped_run(conf_case *c) {
  hn_pipeline *inner = times10_inner(c);
  hn_pipeline *p = top(c, "ragged_run");
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "xs=x", "y=ys", "xs", HN_MAP_ZIP, &c->err),
           &c->err);
  in_val(c, "xs", arr(c, c->t_li64, "[7 8] [1 2 3]"), 1);
  expect(c, "ys", arr(c, c->t_li64, "[10 20 30]"));
}

static void case_nested_mapped_broadcast(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "scaled");
  HN_CHECK(hn_pipeline_add(inner, "scale", "x,k", "y: int64", f_mul, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(inner, "tag", "x", "s: utf8", f_to_str, &c->err), &c->err);
  hn_pipeline *p = top(c, "outer");
  /* k is not renamed: the outer k feeds the inner k, the same for every inner item. */
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "xs=x", "y=ys,s=ss", "xs", HN_MAP_ZIP, &c->err),
           &c->err);
  in_col(c, "xs", arr(c, c->t_li64, "[1 2] [3] []"));
  in_col(c, "k", arr(c, I64T, "3 -1 5"));
  map_over(c, "xs,k", HN_MAP_ZIP);
  want(c, "ys,ss");
  expect(c, "ys", arr(c, c->t_li64, "[3 6] [-3] []"));
  expect(c, "ss", arr(c, c->t_lstr, "[1 2] [3] []"));
}

static void case_nested_product(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "pair");
  HN_CHECK(hn_pipeline_add(inner, "combine", "a,b", "ab: int64", f_a10b, &c->err), &c->err);
  hn_pipeline *p = top(c, "outer");
  HN_CHECK(hn_pipeline_add_nested(p, "pairs", inner, "as=a,bs=b", "ab=abs", "as,bs", HN_MAP_PRODUCT,
                                  &c->err),
           &c->err);
  in_col(c, "as", arr(c, c->t_li64, "[1 2] [] [7]"));
  in_col(c, "bs", arr(c, c->t_li64, "[3 4 5] [1] [8]"));
  map_over(c, "as,bs", HN_MAP_ZIP);
  expect(c, "abs", arr(c, c->t_li64, "[13 14 15 23 24 25] [] [78]"));
}

static void case_nested_zip_two_lists(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "pair");
  HN_CHECK(hn_pipeline_add(inner, "combine", "a,b", "ab: int64", f_a10b, &c->err), &c->err);
  hn_pipeline *p = top(c, "outer");
  HN_CHECK(hn_pipeline_add_nested(p, "pairs", inner, "as=a,bs=b", "ab=abs", "as,bs", HN_MAP_ZIP,
                                  &c->err),
           &c->err);
  in_val(c, "as", arr(c, c->t_li64, "[1 2 3]"), 0);
  in_val(c, "bs", arr(c, c->t_li64, "[4 5 6]"), 0);
  expect(c, "abs", arr(c, c->t_li64, "[14 25 36]"));
}

/* words -> squares (inner) -> per sentence total (middle) -> per doc grand total. */
static void build_two_levels(conf_case *c, hn_pipeline **out, fail_spec *fs) {
  hn_pipeline *words = new_pipe(c, "words");
  if (fs)
    HN_CHECK(
        hn_pipeline_add_ex(words, "checked", "w", "wc: int64", f_picky, NULL, fs, NULL, &c->err),
        &c->err);
  HN_CHECK(hn_pipeline_add(words, "square", fs ? "wc" : "w", "sq: int64", f_sq, &c->err), &c->err);
  hn_pipeline *sentence = new_pipe(c, "sentence");
  HN_CHECK(hn_pipeline_add_nested(sentence, "per_word", words, "ws=w", "sq=sqs", "ws", HN_MAP_ZIP,
                                  &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(sentence, "total", "sqs", "tot: int64", f_sum_list, &c->err), &c->err);
  hn_pipeline *p = top(c, "doc");
  HN_CHECK(hn_pipeline_add_nested(p, "per_sentence", sentence, "doc=ws", "tot=tots", "doc",
                                  HN_MAP_ZIP, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "grand", "tots", "g: int64", f_sum_list, &c->err), &c->err);
  *out = p;
}

static void case_nested_two_levels(conf_case *c) {
  hn_pipeline *p;
  build_two_levels(c, &p, NULL);
  assert_true(hn_type_equals(hn_pipeline_output_type(p, "tots"), c->t_li64));
  in_col(c, "doc", arr(c, c->t_lli64, "[[1 2] [3]] [] [[] [4]] ~ [[5]]"));
  map_over(c, "doc", HN_MAP_ZIP);
  want(c, "tots,g");
  expect(c, "tots", arr(c, c->t_li64, "[5 9] [] [0 16] ~ [25]"));
  expect(c, "g", arr(c, I64T, "14 0 16 ~ 25"));
}

static void case_nested_text(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "sentence");
  HN_CHECK(hn_pipeline_add(inner, "clean", "text", "cleaned: utf8", f_clean, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(inner, "tokenize", "cleaned", "tokens: list<utf8>", f_tokenize, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(inner, "length", "tokens", "n_tokens: int64", f_count, &c->err),
           &c->err);
  hn_pipeline *p = top(c, "documents");
  HN_CHECK(hn_pipeline_add_nested(p, "per_sentence", inner, "sentences=text",
                                  "n_tokens=lengths,cleaned=clean_sentences", "sentences",
                                  HN_MAP_ZIP, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "average", "lengths", "avg: float64", f_mean, &c->err), &c->err);
  in_col(c, "sentences",
         arr(c, c->t_lstr, "[\"  Hello World \" \"A b C\"] [] [\"one\"] [\"\" \" X  Y \"]"));
  map_over(c, "sentences", HN_MAP_ZIP);
  want(c, "clean_sentences,lengths,avg");
  expect(c, "clean_sentences",
         arr(c, c->t_lstr, "[\"hello world\" \"a b c\"] [] [one] [\"\" \"x  y\"]"));
  expect(c, "lengths", arr(c, c->t_li64, "[2 3] [] [1] [0 2]"));
  expect(c, "avg", arr(c, F64T, "2.5 ~ 1 1"));
}

static void case_nested_mapping_names_nothing(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(hn_pipeline_add(inner, "i1", "x", "y: int64", f_add1, &c->err), &c->err);
  hn_pipeline *p = top(c, "outer");
  hn_error err;
  /* Output mapping naming an inner output that does not exist. */
  assert_int_equal(
      hn_pipeline_add_nested(p, "bad_out", inner, "a=x", "no_such_output=b", "", HN_MAP_ZIP, &err),
      HN_EINVAL);
  assert_non_null(strstr(err.message, "no_such_output"));
  /* map_over naming an outer input the node does not have. */
  assert_int_equal(
      hn_pipeline_add_nested(p, "bad_over", inner, "a=x", "y=b", "zz_list", HN_MAP_ZIP, &err),
      HN_EINVAL);
  assert_non_null(strstr(err.message, "zz_list"));
  assert_int_equal(hn_pipeline_num_nodes(p), 0);
  /* Input mapping naming an inner input that does not exist. */
  hn_status st =
      hn_pipeline_add_nested(p, "bad_in", inner, "a=no_such_input", "y=b", "", HN_MAP_ZIP, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_EINVAL, NULL, NULL, "no_such_input", NULL, NULL);
}

static void case_nested_output_conflict(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(hn_pipeline_add(inner, "i1", "x", "y: int64", f_add1, &c->err), &c->err);
  hn_pipeline *p = top(c, "outer");
  HN_CHECK(hn_pipeline_add(p, "maker", "x", "taken: int64", f_mul2, &c->err), &c->err);
  hn_error err;
  hn_status st = hn_pipeline_add_nested(p, "sub", inner, "", "y=taken", "", HN_MAP_ZIP, &err);
  build_failed(c, st, &err);
  expect_failure(c, HN_EINVAL, NULL, NULL, "maker", "sub", "taken");
}

/* ======================================================================== */
/* Cases: overrides of intermediates, hidden nested outputs                  */
/* ======================================================================== */

/* calls[k] counted `want[k]` node calls, for k < n (-1: not checked). */
static void expect_calls(conf_case *c, int n, const int64_t *want) {
  if (!node_counts_seen()) return;
  for (int k = 0; k < n; k++)
    if (want[k] >= 0 && atomic_load(&c->calls[k]) != want[k])
      fail_msg("calls[%d] = %lld, expected %lld", k, (long long)atomic_load(&c->calls[k]),
               (long long)want[k]);
}

/* x -a-> y -b-> z -c-> w, counting calls in calls[0..2]. */
static hn_pipeline *override_chain(conf_case *c, const char *name) {
  hn_pipeline *p = top(c, name);
  HN_CHECK(hn_pipeline_add_ex(p, "a", "x", "y: int64", f_add1, NULL, &c->calls[0], NULL, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add_ex(p, "b", "y", "z: int64", f_mul2, NULL, &c->calls[1], NULL, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add_ex(p, "c", "z", "w: int64", f_add1, NULL, &c->calls[2], NULL, &c->err),
           &c->err);
  return p;
}

static void verify_override_run(conf_case *c, const hn_result *r) {
  (void)r;
  expect_calls(c, 3, (const int64_t[]){0, 1, 1});
}

/* y is given: a (its producer) never runs; every output not given is computed from it. */
static void case_override_run(conf_case *c) {
  override_chain(c, "override_run");
  in_i64(c, "x", 1);
  in_i64(c, "y", 10);
  expect(c, "z", arr(c, I64T, "20"));
  expect(c, "w", arr(c, I64T, "21"));
  c->verify = verify_override_run;
}

static void verify_override_map(conf_case *c, const hn_result *r) {
  (void)r;
  expect_calls(c, 3, (const int64_t[]){0, 4, 4});
}

/* Mapped over the overriding column; x is not even given (nothing needs it any more). */
static void case_override_map(conf_case *c) {
  override_chain(c, "override_map");
  in_col(c, "y", arr(c, I64T, "1 ~ 3 4"));
  map_over(c, "y", HN_MAP_ZIP);
  want(c, "w");
  expect(c, "w", arr(c, I64T, "3 ~ 7 9"));
  c->verify = verify_override_map;
}

static void verify_override_broadcast(conf_case *c, const hn_result *r) {
  (void)r;
  /* c reads only the broadcast z: engines may call it once for every item (columnar does). */
  expect_calls(c, 3, (const int64_t[]){3, 0, -1});
}

/* The override is one value broadcast to every item of a map over x: b never runs. */
static void case_override_broadcast(conf_case *c) {
  override_chain(c, "override_broadcast");
  in_col(c, "x", arr(c, I64T, "1 2 3"));
  in_i64(c, "z", 100);
  map_over(c, "x", HN_MAP_ZIP);
  expect(c, "y", arr(c, I64T, "2 3 4")); /* a still runs: y is requested (every output not given) */
  expect(c, "w", arr(c, I64T, "101 101 101"));
  c->verify = verify_override_broadcast;
}

static void verify_override_diamond(conf_case *c, const hn_result *r) {
  (void)r;
  expect_calls(c, 4, (const int64_t[]){2, 0, 2, 2});
}

/*
 * x -root-> a; a -left-> b; a -right-> cc; (b, cc) -join-> d. Giving b prunes
 * left only: root still feeds right.
 */
static void case_override_keeps_shared_ancestor(conf_case *c) {
  hn_pipeline *p = top(c, "override_diamond");
  HN_CHECK(
      hn_pipeline_add_ex(p, "root", "x", "a: int64", f_add1, NULL, &c->calls[0], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "left", "a", "b: int64", f_mul2, NULL, &c->calls[1], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "right", "a", "cc: int64", f_sq, NULL, &c->calls[2], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "join", "b, cc", "d: int64", f_add, NULL, &c->calls[3], NULL, &c->err),
      &c->err);
  in_col(c, "x", arr(c, I64T, "1 2"));
  in_col(c, "b", arr(c, I64T, "1000 2000"));
  map_over(c, "x,b", HN_MAP_ZIP);
  want(c, "d");
  expect(c, "d", arr(c, I64T, "1004 2009"));
  c->verify = verify_override_diamond;
}

static void verify_override_all_ancestors(conf_case *c, const hn_result *r) {
  (void)r;
  expect_calls(c, 3, (const int64_t[]){0, 0, 1});
}

/* Giving z prunes b and, with it, a (its only consumer is gone): x is not needed. */
static void case_override_prunes_ancestors(conf_case *c) {
  override_chain(c, "override_ancestors");
  in_i64(c, "z", 5);
  want(c, "w");
  expect(c, "w", arr(c, I64T, "6"));
  c->verify = verify_override_all_ancestors;
}

static void verify_override_nested(conf_case *c, const hn_result *r) {
  (void)r;
  expect_calls(c, 2, (const int64_t[]){0, 3});
}

/* Giving the output of a nested node prunes the nested node: its inner nodes never run. */
static void case_override_nested_output(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(
      hn_pipeline_add_ex(inner, "i1", "x", "y: int64", f_add1, NULL, &c->calls[0], NULL, &c->err),
      &c->err);
  hn_pipeline *p = top(c, "override_nested");
  HN_CHECK(hn_pipeline_add_nested(p, "sub", inner, "xs=x", "y=ys", "xs", HN_MAP_ZIP, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add_ex(p, "total", "ys", "n: int64", f_sum_list, NULL, &c->calls[1], NULL,
                              &c->err),
           &c->err);
  in_col(c, "ys", arr(c, c->t_li64, "[1 2] [] [~ 5]"));
  map_over(c, "ys", HN_MAP_ZIP);
  expect(c, "n", arr(c, I64T, "3 0 5"));
  c->verify = verify_override_nested;
}

/* An override has the type of the output it replaces. */
static void case_override_type_mismatch(conf_case *c) {
  override_chain(c, "override_type");
  in_str(c, "y", "ten");
  expect_failure(c, HN_ETYPE, NULL, NULL, "input 'y' has type utf8, expected int64", NULL, NULL);
  c->verify = verify_no_calls;
}

/* ---- coercion at the edges (issue 16, item 2) --------------------------------- */

/* A column of `type` (a type string) built from int64 values, ~ for null. */
static hn_array *typed_ints(conf_case *c, const char *type, const char *spec) {
  const hn_type *t = NULL;
  HN_CHECK(hn_type_parse(c->a, type, &t, &c->err), &c->err);
  hn_array *wide = arr(c, I64T, spec), *out = NULL;
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(c->a, t, &b, &c->err), &c->err);
  for (int64_t i = 0; i < hn_array_length(wide); i++) {
    hn_datum d = hn_array_get(wide, i);
    HN_CHECK(d.is_null ? hn_builder_append_null(b) : hn_builder_append_int(b, d.v.i64), NULL);
  }
  HN_CHECK(hn_builder_finish(b, &out, &c->err), &c->err);
  hn_builder_destroy(b);
  hn_array_release(wide);
  hn_type_release(t);
  return out;
}

/* A large_utf8 column of the given strings (~ for null). */
static hn_array *large_strs(conf_case *c, int n, const char *const *v) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(c->a, hn_type_large_utf8(), &b, &c->err), &c->err);
  for (int i = 0; i < n; i++)
    HN_CHECK(
        strcmp(v[i], "~") == 0 ? hn_builder_append_null(b) : hn_builder_append_str(b, v[i], -1),
        NULL);
  hn_array *out = NULL;
  HN_CHECK(hn_builder_finish(b, &out, &c->err), &c->err);
  hn_builder_destroy(b);
  return out;
}

/* int32, uint16 and int8 columns into nodes declaring int64: widened, row and batch alike. */
static void case_coerce_ints(conf_case *c) {
  hn_pipeline *p = top(c, "coerce_ints");
  HN_CHECK(hn_pipeline_add(p, "inc", "x: int64", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add_ex(p, "binc", "u: int64", "v: int64", NULL, b_add1, NULL, NULL, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "plus", "y, k: int64", "z: int64", f_add, &c->err), &c->err);
  in_col(c, "x", typed_ints(c, "int32", "1 ~ -2147483648 2147483647"));
  in_col(c, "u", typed_ints(c, "uint16", "65535 0 ~ 7"));
  in_val(c, "k", typed_ints(c, "int8", "5 -128"), 1);
  map_over(c, "x, u", HN_MAP_ZIP);
  expect(c, "v", arr(c, I64T, "65536 1 ~ 8"));
  expect(c, "y", arr(c, I64T, "2 ~ -2147483647 2147483648"));
  expect(c, "z", arr(c, I64T, "-126 ~ -2147483775 2147483520"));
}

/* utf8 declared, large_utf8 given (mapped, and as one value): widened (offsets only). */
static void case_coerce_large_utf8(conf_case *c) {
  hn_pipeline *p = top(c, "coerce_strings");
  HN_CHECK(hn_pipeline_add(p, "up", "s: utf8", "t: utf8", f_upper, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "cat", "t, sep: utf8", "u: utf8", f_concat, &c->err), &c->err);
  static const char *const words[] = {"ab", "~", "", "grüße"};
  in_col(c, "s", large_strs(c, 4, words));
  static const char *const seps[] = {"x", "-"};
  in_val(c, "sep", large_strs(c, 2, seps), 1);
  map_over(c, "s", HN_MAP_ZIP);
  expect(c, "t", arr(c, STRT, "AB ~ \"\" GRüßE"));
  expect(c, "u", arr(c, STRT, "AB- ~ - GRüßE-"));
}

/* A whole int32 column passed to list<int64>: the items are widened. */
static void case_coerce_whole_column(conf_case *c) {
  hn_pipeline *p = top(c, "coerce_list");
  HN_CHECK(hn_pipeline_add(p, "total", "xs: list<int64>", "n: int64", f_sum_list, &c->err),
           &c->err);
  in_col(c, "xs", typed_ints(c, "int32", "1 2 ~ 40"));
  expect(c, "n", arr(c, I64T, "43"));
}

/* No lossless conversion: refused before anything runs, naming input, kind and types. */
static void case_coerce_refused(conf_case *c) {
  hn_pipeline *p = top(c, "coerce_refused");
  HN_CHECK(hn_pipeline_add(p, "inc", "x: int64", "y: int64", f_add1, &c->err), &c->err);
  in_col(c, "x", typed_ints(c, "uint64", "1 2"));
  map_over(c, "x", HN_MAP_ZIP);
  expect_failure(c, HN_ETYPE, NULL, NULL, "input 'x' has type uint64, expected int64",
                 "a mapped column", "only lossless widening");
  c->verify = verify_no_calls;
}

/* Narrowing is refused too (int64 given, int32 declared), for a single value. */
static void case_coerce_narrowing_refused(conf_case *c) {
  hn_pipeline *p = top(c, "coerce_narrow");
  HN_CHECK(hn_pipeline_add(p, "inc", "x: int32", "y: int64", f_add1, &c->err), &c->err);
  in_i64(c, "x", 3);
  expect_failure(c, HN_ETYPE, NULL, NULL, "input 'x' has type int64, expected int32", "a value",
                 NULL);
  c->verify = verify_no_calls;
}

static void verify_rows_auto_column(conf_case *c, const hn_result *r);

/* ---- issue 16's types through nodes ------------------------------------------- */

/* One row of each output of f_types for x (or nulls): the node and the expectation share it. */
static hn_status types_row(hn_builder *const *out, int64_t x, bool null) {
  hn_status st = HN_OK;
  if (null) {
    for (int k = 0; k < 8 && st == HN_OK; k++) st = hn_builder_append_null(out[k]);
    return st;
  }
  char text[32];
  snprintf(text, sizeof text, "v%lld", (long long)x);
  const uint64_t dec[2] = {(uint64_t)(x * 100 + 5), x < 0 ? UINT64_MAX : 0};
  st = hn_builder_append_int(out[0], x * 1000);                     /* int32 */
  if (st == HN_OK) st = hn_builder_append_int(out[1], x * 1000000); /* timestamp[us, UTC] */
  if (st == HN_OK) st = hn_builder_append_values(out[2], dec, 1);   /* decimal128(10, 2) */
  if (st == HN_OK) st = hn_builder_append_str(out[3], text, -1);    /* large_utf8 */
  hn_builder *pair = hn_builder_child(out[4], 0), *items = hn_builder_child(out[5], 0);
  if (st == HN_OK) st = hn_builder_append_int64(pair, x);
  if (st == HN_OK) st = hn_builder_append_int64(pair, -x);
  if (st == HN_OK) st = hn_builder_finish_element(out[4]); /* fixed_size_list<int64>[2] */
  for (int64_t i = 0; i < (x & 3) && st == HN_OK; i++) st = hn_builder_append_int64(items, x + i);
  if (st == HN_OK) st = hn_builder_finish_element(out[5]); /* large_list<int64> */
  hn_builder *e = hn_builder_child(out[6], 0);
  if (st == HN_OK) st = hn_builder_append_str(hn_builder_child(e, 0), text, -1);
  if (st == HN_OK) st = hn_builder_append_int64(hn_builder_child(e, 1), x);
  if (st == HN_OK) st = hn_builder_finish_element(e);
  if (st == HN_OK) st = hn_builder_finish_element(out[6]); /* map<utf8, int64> */
  if (st == HN_OK) st = hn_builder_append_int(out[7], x);  /* date32 */
  return st;
}

static hn_status f_types(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_INT64);
  return types_row(out, in[0].is_null ? 0 : in[0].v.i64, in[0].is_null);
}

/* Sum of a fixed_size_list, a large_list and a map's values, read through datums. */
static hn_status f_types_sum(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bump(ud);
  NEED(ctx, in[0], HN_TYPE_FIXED_SIZE_LIST);
  NEED(ctx, in[1], HN_TYPE_LARGE_LIST);
  NEED(ctx, in[2], HN_TYPE_MAP);
  NEED(ctx, in[3], HN_TYPE_TIMESTAMP);
  if (in[0].is_null || in[1].is_null || in[2].is_null) return hn_builder_append_null(out[0]);
  int64_t sum = in[3].v.i64 / 1000000;
  for (int k = 0; k < 2; k++)
    for (int64_t i = 0; i < in[k].v.list.length; i++)
      sum += hn_list_view_get(in[k].v.list, i).v.i64;
  for (int64_t i = 0; i < in[2].v.list.length; i++) {
    hn_datum entry = hn_list_view_get(in[2].v.list, i);
    sum += hn_struct_view_field(entry.v.strct, 1).v.i64;
  }
  return hn_builder_append_int64(out[0], sum);
}

static const char *const k_types_out[8] = {"a", "b", "c", "d", "e", "f", "g", "h"};
static const char *const k_types_types[8] = {"int32",
                                             "timestamp[us, UTC]",
                                             "decimal128(10, 2)",
                                             "large_utf8",
                                             "fixed_size_list<int64>[2]",
                                             "large_list<int64>",
                                             "map<utf8, int64>",
                                             "date32"};

/*
 * A node producing issue 16's types (row by row, through builders) feeds a
 * node reading them through datums; the values cross processes (serialised)
 * on the engines that leave the process; rows materialise them alike.
 */
static void case_new_types_through_nodes(conf_case *c) {
  hn_pipeline *p = top(c, "new_types");
  HN_CHECK(hn_pipeline_add(p, "make", "x: int64",
                           "a: int32, b: timestamp[us, UTC], c: decimal128(10, 2), d: large_utf8, "
                           "e: fixed_size_list<int64>[2], f: large_list<int64>, "
                           "g: map<utf8, int64>, h: date32",
                           f_types, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "sum", "e, f, g, b", "s: int64", f_types_sum, &c->err), &c->err);
  static const int64_t xs[] = {1, 0, 7, -3, 12, 5};
  const int n = 6, null_row = 3;
  hn_array *x = arr(c, I64T, "1 0 7 ~ 12 5");
  in_col(c, "x", x);
  map_over(c, "x", HN_MAP_ZIP);
  hn_builder *b[8];
  for (int k = 0; k < 8; k++) {
    const hn_type *t = NULL;
    HN_CHECK(hn_type_parse(c->a, k_types_types[k], &t, &c->err), &c->err);
    HN_CHECK(hn_builder_create(c->a, t, &b[k], &c->err), &c->err);
    hn_type_release(t);
  }
  for (int i = 0; i < n; i++) HN_CHECK(types_row(b, xs[i], i == null_row), NULL);
  for (int k = 0; k < 8; k++) {
    hn_array *col = NULL;
    HN_CHECK(hn_builder_finish(b[k], &col, &c->err), &c->err);
    hn_builder_destroy(b[k]);
    expect(c, k_types_out[k], col);
  }
  /* seconds of b + e's two items (x, -x) + f's x & 3 items (x, x + 1, ...) + g's value x */
  expect(c, "s", arr(c, I64T, "3 0 38 ~ 24 15"));
  c->verify = verify_rows_auto_column;
}

/* A given output is not computed: requesting it is refused, naming its producer. */
static void case_override_requested(conf_case *c) {
  override_chain(c, "override_requested");
  in_i64(c, "y", 10);
  want(c, "y,w");
  expect_failure(c, HN_EINVAL, NULL, NULL, "output 'y' is requested but also given as an input",
                 "overriding node 'a'", NULL);
}

static void verify_hidden(conf_case *c, const hn_result *r) {
  (void)r;
  expect_calls(c, 2, (const int64_t[]){0, 6});
}

/*
 * The inner pipeline makes y (i_y, calls[0]) and z (i_z, calls[1]) from x;
 * the output mapping exposes z only. y stays hidden: the outer pipeline has
 * its own producer of "y", the default request lists only outer names, and
 * i_y never runs.
 */
static void case_nested_hidden_outputs(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(
      hn_pipeline_add_ex(inner, "i_y", "x", "y: int64", f_add1, NULL, &c->calls[0], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(inner, "i_z", "x", "z: int64", f_mul2, NULL, &c->calls[1], NULL, &c->err),
      &c->err);
  hn_pipeline *p = top(c, "hidden");
  HN_CHECK(hn_pipeline_add_nested(p, "sub", inner, "xs=x", "z=zs", "xs", HN_MAP_ZIP, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "y_maker", "xs", "y: int64", f_count, &c->err), &c->err);
  assert_null(hn_pipeline_output_type(p, "z"));
  in_col(c, "xs", arr(c, c->t_li64, "[1 2] [] [3 4 5] [6]"));
  map_over(c, "xs", HN_MAP_ZIP);
  /* Every output: sub's zs and the outer y, nothing under an inner name. */
  expect(c, "zs", arr(c, c->t_li64, "[2 4] [] [6 8 10] [12]"));
  expect(c, "y", arr(c, I64T, "2 0 3 1"));
  c->verify = verify_hidden;
}

/* A hidden inner output is not an output of the outer pipeline: requesting it is refused. */
static void case_nested_hidden_not_requestable(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(hn_pipeline_add(inner, "i_y", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(inner, "i_z", "x", "z: int64", f_mul2, &c->err), &c->err);
  hn_pipeline *p = top(c, "hidden2");
  HN_CHECK(hn_pipeline_add_nested(p, "sub", inner, "", "z", "", HN_MAP_ZIP, &c->err), &c->err);
  in_i64(c, "x", 4);
  want(c, "y");
  expect_failure(c, HN_EINVAL, NULL, NULL, "unknown output 'y'", "available: z", NULL);
}

/* ======================================================================== */
/* Cases: resources                                                          */
/* ======================================================================== */

static void set_model(conf_case *c, int64_t factor) {
  c->res.factor = factor;
  hn_resource_def d = {.size = sizeof d};
  d.name = "model";
  d.init = res_init;
  d.destroy = res_destroy;
  d.config = &c->res;
  d.config_free = res_config_free;
  HN_CHECK(hn_inputs_set_resource(c->in, "model", &d, &c->err), &c->err);
  c->want_config_frees = 1;
}

static void check_resource_counts(conf_case *c, const hn_result *r) {
  if (!node_counts_seen()) {
    /* Built on the serving ranks: their counts come back in the stats. */
    if (!r) return;
    hn_result_stats s = hn_test_stats(r);
    assert_true(s.resource_inits >= 1 && s.resource_inits <= (int64_t)c->workers * g_ranks);
    assert_int_equal(s.resource_destroys, s.resource_inits);
    assert_int_equal(atomic_load(&c->res.inits), 0);
    return;
  }
  int64_t inits = atomic_load(&c->res.inits), destroys = atomic_load(&c->res.destroys);
  if (inits < 1 || inits > c->workers || destroys != inits) {
    print_error("resource inits %lld, destroys %lld, workers %d\n", (long long)inits,
                (long long)destroys, c->workers);
    fail();
  }
  if (r) {
    hn_result_stats s = hn_test_stats(r);
    assert_int_equal(s.resource_inits, inits);
    assert_int_equal(s.resource_destroys, destroys);
    assert_true(s.workers >= 1 && s.workers <= c->workers);
  }
}

static void case_resource_map(conf_case *c) {
  hn_pipeline *p = top(c, "resource");
  HN_CHECK(hn_pipeline_add_ex(p, "predict", "model,x", "y: int64", f_predict, NULL, &c->res, NULL,
                              &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "inc", "y", "z: int64", f_add1, &c->err), &c->err);
  set_model(c, 7);
  in_col(c, "x", iota(c, 40, 0));
  map_over(c, "x", HN_MAP_ZIP);
  want(c, "z");
  int64_t v[40];
  for (int i = 0; i < 40; i++) v[i] = 7 * i + 1;
  expect(c, "z", i64_values(c, 40, v));
  c->verify = check_resource_counts;
}

static void case_resource_run(conf_case *c) {
  hn_pipeline *p = top(c, "resource_run");
  HN_CHECK(hn_pipeline_add_ex(p, "predict", "model,x", "y: int64", f_predict, NULL, &c->res, NULL,
                              &c->err),
           &c->err);
  set_model(c, 3);
  in_i64(c, "x", 14);
  expect(c, "y", arr(c, I64T, "42"));
  c->verify = check_resource_counts;
}

static void verify_no_resource(conf_case *c, const hn_result *r) {
  assert_int_equal(atomic_load(&c->res.inits), 0); /* also true on mpi rank 0 */
  assert_int_equal(hn_test_stats(r).resource_inits, 0);
}

static void case_resource_unused_not_built(conf_case *c) {
  hn_pipeline *p = top(c, "resource_pruned");
  HN_CHECK(hn_pipeline_add_ex(p, "predict", "model,x", "y: int64", f_predict, NULL, &c->res, NULL,
                              &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "z: int64", f_add1, &c->err), &c->err);
  set_model(c, 3);
  in_col(c, "x", arr(c, I64T, "1 2"));
  map_over(c, "x", HN_MAP_ZIP);
  want(c, "z");
  expect(c, "z", arr(c, I64T, "2 3"));
  c->verify = verify_no_resource;
}

static hn_status f_predict_fragile(void *ud, const hn_datum *in, hn_builder *const *out,
                                   hn_ctx *ctx) {
  conf_case *c = ud;
  if (!in[1].is_null && in[1].v.i64 == 5) return hn_ctx_fail(ctx, "model rejects 5");
  return f_predict(&c->res, in, out, ctx);
}

static void case_resource_node_fails(conf_case *c) {
  hn_pipeline *p = top(c, "resource_fail");
  HN_CHECK(hn_pipeline_add_ex(p, "predict", "model,x", "y: int64", f_predict_fragile, NULL, c, NULL,
                              &c->err),
           &c->err);
  set_model(c, 2);
  in_col(c, "x", iota(c, 30, 0));
  map_over(c, "x", HN_MAP_ZIP);
  expect_failure(c, HN_ENODE, "predict", "5", "model rejects 5", NULL, NULL);
  c->verify = check_resource_counts;
}

/* ======================================================================== */
/* Cases: failures and error policies                                        */
/* ======================================================================== */

static void case_error_raise(conf_case *c) {
  hn_pipeline *p = top(c, "raise");
  c->fail = (fail_spec){.n = 1, .bad = {37}};
  HN_CHECK(
      hn_pipeline_add_ex(p, "check", "x", "y: int64", f_fragile, NULL, &c->fail, NULL, &c->err),
      &c->err);
  HN_CHECK(hn_pipeline_add(p, "after", "y", "z: int64", f_add1, &c->err), &c->err);
  in_col(c, "x", iota(c, 50, 0));
  map_over(c, "x", HN_MAP_ZIP);
  expect_failure(c, HN_ENODE, "check", "37", "bad value 37", NULL, NULL);
}

static void case_error_raise_run(conf_case *c) {
  hn_pipeline *p = top(c, "raise_run");
  c->fail = (fail_spec){.n = 1, .bad = {37}};
  HN_CHECK(
      hn_pipeline_add_ex(p, "check", "x", "y: int64", f_fragile, NULL, &c->fail, NULL, &c->err),
      &c->err);
  in_i64(c, "x", 37);
  expect_failure(c, HN_ENODE, "check", NULL, "bad value 37", NULL, NULL);
}

/* A value appended to a list's items after closing the element fails that item only. */
static void case_stray_list_item(conf_case *c) {
  hn_pipeline *p = top(c, "stray_list");
  HN_CHECK(hn_pipeline_add(p, "stray", "x", "t: list<int64>", f_stray_item, &c->err), &c->err);
  in_col(c, "x", iota(c, 5, 0));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  expect(c, "t", arr(c, c->t_li64, "[0] [10] ~ [30] [40]"));
  expect_err_row(c, 2, "2", "stray", "appended to output 't' outside its element: 'item' holds");
}

static void case_stray_list_item_raise(conf_case *c) {
  hn_pipeline *p = top(c, "stray_list");
  HN_CHECK(hn_pipeline_add(p, "stray", "x", "t: list<int64>", f_stray_item, &c->err), &c->err);
  in_col(c, "x", iota(c, 5, 0));
  map_over(c, "x", HN_MAP_ZIP);
  expect_failure(c, HN_ENODE, "stray", "2", "node 'stray' failed on item 2", "outside its element",
                 NULL);
}

/* The same on a struct field: item 2 is blamed, never item 3. */
static void case_stray_struct_field(conf_case *c) {
  hn_pipeline *p = top(c, "stray_struct");
  HN_CHECK(hn_pipeline_add(p, "stray", "x", "i: struct<len: int64, first: utf8>", f_stray_field,
                           &c->err),
           &c->err);
  in_col(c, "x", iota(c, 5, 0));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  expect(c, "i", arr(c, c->t_info, "{0 s} {1 s} ~ {3 s} {4 s}"));
  expect_err_row(c, 2, "2", "stray", "appended to output 'i' outside its element: 'len' holds");
}

static void case_stray_struct_field_raise(conf_case *c) {
  hn_pipeline *p = top(c, "stray_struct");
  HN_CHECK(hn_pipeline_add(p, "stray", "x", "i: struct<len: int64, first: utf8>", f_stray_field,
                           &c->err),
           &c->err);
  in_col(c, "x", iota(c, 5, 0));
  map_over(c, "x", HN_MAP_ZIP);
  expect_failure(c, HN_ENODE, "stray", "2", "node 'stray' failed on item 2", "outside its element",
                 NULL);
}

/* A status that is no hn_status: HN_ENODE and one message on every engine. */
static void case_unknown_status(conf_case *c) {
  hn_pipeline *p = top(c, "bad_status");
  HN_CHECK(hn_pipeline_add(p, "odd", "x", "y: int64", f_bad_status, &c->err), &c->err);
  in_col(c, "x", iota(c, 3, 0));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  expect(c, "y", arr(c, I64T, "0 ~ 2"));
  expect_err_row(c, 1, "1", "odd", "returned 42, which is not an hn_status (reported as HN_ENODE)");
}

static void verify_continue(conf_case *c, const hn_result *r) {
  if (node_counts_seen()) {
    assert_int_equal(atomic_load(&c->calls[0]), 4); /* "after" skipped for items 2 and 4 */
    assert_int_equal(atomic_load(&c->calls[1]), 6); /* "other" ran for every item */
  }
  hn_result_stats s = hn_test_stats(r);
  assert_int_equal(s.n_items, 6);
  assert_int_equal(s.n_failed, 2);
}

static void case_error_continue(conf_case *c) {
  hn_pipeline *p = top(c, "continue");
  c->fail = (fail_spec){.n = 2, .bad = {2, 4}};
  HN_CHECK(
      hn_pipeline_add_ex(p, "fragile", "x", "y: int64", f_fragile, NULL, &c->fail, NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "after", "y", "z: int64", f_mul2, NULL, &c->calls[0], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "other", "x", "w: int64", f_add1, NULL, &c->calls[1], NULL, &c->err),
      &c->err);
  in_col(c, "x", iota(c, 6, 0));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  want(c, "y,z,w");
  expect(c, "y", arr(c, I64T, "100 101 ~ 103 ~ 105"));
  expect(c, "z", arr(c, I64T, "200 202 ~ 206 ~ 210"));
  expect(c, "w", arr(c, I64T, "1 2 3 4 5 6"));
  expect_err_row(c, 2, "2", "fragile", "bad value 2");
  expect_err_row(c, 4, "4", "fragile", "bad value 4");
  c->verify = verify_continue;
}

static void case_error_continue_no_failures(conf_case *c) {
  hn_pipeline *p = top(c, "continue_ok");
  c->fail = (fail_spec){.n = 1, .bad = {-99}};
  HN_CHECK(
      hn_pipeline_add_ex(p, "fragile", "x", "y: int64", f_fragile, NULL, &c->fail, NULL, &c->err),
      &c->err);
  in_col(c, "x", iota(c, 3, 0));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  expect(c, "y", arr(c, I64T, "100 101 102"));
}

static void case_error_continue_all_fail(conf_case *c) {
  hn_pipeline *p = top(c, "continue_all");
  c->fail = (fail_spec){.n = 3, .bad = {0, 1, 2}};
  HN_CHECK(
      hn_pipeline_add_ex(p, "fragile", "x", "y: int64", f_fragile, NULL, &c->fail, NULL, &c->err),
      &c->err);
  HN_CHECK(hn_pipeline_add(p, "spell", "y", "s: utf8", f_to_str, &c->err), &c->err);
  in_col(c, "x", iota(c, 3, 0));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  want(c, "s");
  expect(c, "s", arr(c, STRT, "~ ~ ~"));
  for (int i = 0; i < 3; i++) {
    static const char *const paths[3] = {"0", "1", "2"};
    static const char *const msgs[3] = {"bad value 0", "bad value 1", "bad value 2"};
    expect_err_row(c, i, paths[i], "fragile", msgs[i]);
  }
}

static fail_spec *nested_fail(conf_case *c, int64_t bad) {
  c->fail = (fail_spec){.n = 1, .bad = {bad}};
  return &c->fail;
}

static void build_nested_fail(conf_case *c) {
  hn_pipeline *inner = new_pipe(c, "inner");
  HN_CHECK(hn_pipeline_add_ex(inner, "picky", "x", "y: int64", f_picky, NULL, nested_fail(c, 99),
                              NULL, &c->err),
           &c->err);
  hn_pipeline *p = top(c, "outer");
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "xs=x", "y=ys", "xs", HN_MAP_ZIP, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "count", "xs", "n: int64", f_count, &c->err), &c->err);
  in_col(c, "xs", arr(c, c->t_li64, "[1 2] [3] [4 99 5] [6]"));
  map_over(c, "xs", HN_MAP_ZIP);
  want(c, "ys,n");
}

static void case_nested_failure_raise(conf_case *c) {
  build_nested_fail(c);
  expect_failure(c, HN_ENODE, "picky", "2/1", "bad value 99", NULL, NULL);
}

static void case_nested_failure_continue(conf_case *c) {
  build_nested_fail(c);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  /* The outer item fails as a whole: its nested outputs are null, the
   * independent branch (n) is still computed. */
  expect(c, "ys", arr(c, c->t_li64, "[1 2] [3] ~ [6]"));
  expect(c, "n", arr(c, I64T, "2 1 3 1"));
  expect_err_row(c, 2, "2/1", "picky", "bad value 99");
}

static void case_nested_two_levels_failure(conf_case *c) {
  hn_pipeline *p;
  c->fail = (fail_spec){.n = 1, .bad = {-6}};
  build_two_levels(c, &p, &c->fail);
  in_col(c, "doc", arr(c, c->t_lli64, "[[1 2] [3]] [[4] [5 6 -6]] [[7]]"));
  map_over(c, "doc", HN_MAP_ZIP);
  want(c, "g");
  expect_failure(c, HN_ENODE, "checked", "1/1/2", "bad value -6", NULL, NULL);
}

/* ======================================================================== */
/* Cases: batch functions                                                    */
/* ======================================================================== */

static void case_batch_only(conf_case *c) {
  hn_pipeline *p = top(c, "batch");
  HN_CHECK(hn_pipeline_add_ex(p, "inc", "x", "y: int64", NULL, b_add1, NULL, NULL, &c->err),
           &c->err);
  /* k: scalar argument */
  HN_CHECK(hn_pipeline_add_ex(p, "plus_k", "y,k", "z: int64", NULL, b_add, NULL, NULL, &c->err),
           &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 ~ 4 5 6 7"));
  in_i64(c, "k", 100);
  map_over(c, "x", HN_MAP_ZIP);
  expect(c, "y", arr(c, I64T, "2 3 ~ 5 6 7 8"));
  expect(c, "z", arr(c, I64T, "102 103 ~ 105 106 107 108"));
}

static void case_batch_only_run(conf_case *c) {
  hn_pipeline *p = top(c, "batch_run");
  HN_CHECK(hn_pipeline_add_ex(p, "inc", "x", "y: int64", NULL, b_add1, NULL, NULL, &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "dbl", "y", "z: int64", f_mul2, &c->err),
           &c->err); /* row after batch */
  in_i64(c, "x", 20);
  expect(c, "y", arr(c, I64T, "21"));
  expect(c, "z", arr(c, I64T, "42"));
}

static void verify_dual(conf_case *c, const hn_result *r) {
  if (!node_counts_seen()) return;
  int64_t rows = atomic_load(&c->calls[0]), batch_rows = atomic_load(&c->calls[1]);
  if (rows + batch_rows != 9) {
    print_error("row calls %lld + batch rows %lld != 9 items\n", (long long)rows,
                (long long)batch_rows);
    fail();
  }
}

static void case_row_and_batch(conf_case *c) {
  hn_pipeline *p = top(c, "dual");
  HN_CHECK(hn_pipeline_add_ex(p, "inc", "x", "y: int64", dual_row, dual_batch, &c->calls[0], NULL,
                              &c->err),
           &c->err);
  HN_CHECK(hn_pipeline_add(p, "dbl", "y", "z: int64", f_mul2, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "10 11 12 ~ 14 15 16 17 18"));
  map_over(c, "x", HN_MAP_ZIP);
  expect(c, "y", arr(c, I64T, "11 12 13 ~ 15 16 17 18 19"));
  expect(c, "z", arr(c, I64T, "22 24 26 ~ 30 32 34 36 38"));
  c->verify = verify_dual;
}

static void case_batch_failure_found_by_row(conf_case *c) {
  hn_pipeline *p = top(c, "dual_fail");
  HN_CHECK(hn_pipeline_add_ex(p, "inc", "x", "y: int64", dual_row, dual_batch, &c->calls[0], NULL,
                              &c->err),
           &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 3 4 5 6"));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  /* The batch fails when it holds a 3; the row function pins the item down. */
  expect(c, "y", arr(c, I64T, "2 3 ~ 5 6 7"));
  expect_err_row(c, 2, "2", "inc", "bad value 3");
  c->run_twice_off = true;
}

static void case_batch_only_failure_raise(conf_case *c) {
  hn_pipeline *p = top(c, "batch_fail");
  HN_CHECK(hn_pipeline_add_ex(p, "inc", "x", "y: int64", NULL, b_add1_fail3, NULL, NULL, &c->err),
           &c->err);
  in_col(c, "x", arr(c, I64T, "1 2 3 4 5 6"));
  map_over(c, "x", HN_MAP_ZIP);
  /* Which items share the failing batch is the engine's business. */
  expect_failure(c, HN_ENODE, "inc", NULL, "batch saw 3", NULL, NULL);
}

/* ======================================================================== */
/* Cases: callbacks, context                                                 */
/* ======================================================================== */

enum { CB_ITEMS = 20 };

static void verify_callbacks_map(conf_case *c, const hn_result *r) {
  cb_counts *e = &c->ev;
  assert_int_equal(atomic_load(&e->map_start), 1);
  assert_int_equal(atomic_load(&e->map_end), 1);
  assert_int_equal(atomic_load(&e->map_items), CB_ITEMS);
  assert_int_equal(atomic_load(&e->item_start), CB_ITEMS);
  assert_int_equal(atomic_load(&e->item_end), CB_ITEMS);
  assert_int_equal(atomic_load(&e->item_bad), 0);
  for (int i = 0; i < CB_ITEMS; i++) assert_int_equal(atomic_load(&e->item_seen[i]), 1);
  assert_int_equal(atomic_load(&e->node_start), atomic_load(&e->node_end));
  assert_int_equal(atomic_load(&e->node_other), 0);
  for (int k = 0; k < 2; k++) {
    assert_int_equal(atomic_load(&e->node_rows[k]), CB_ITEMS);
    assert_true(atomic_load(&e->node_calls[k]) >= 1);
  }
  /* Row-only nodes on an item-major engine: one call per item and node. */
  if (node_counts_seen()) {
    assert_int_equal(atomic_load(&c->calls[0]), CB_ITEMS);
    assert_int_equal(atomic_load(&c->calls[1]), CB_ITEMS);
  }
  assert_int_equal(atomic_load(&e->pipeline_start), atomic_load(&e->pipeline_end));
  assert_int_equal(atomic_load(&e->error), 0);
}

static void case_callbacks_map(conf_case *c) {
  hn_pipeline *p = top(c, "observed");
  HN_CHECK(
      hn_pipeline_add_ex(p, "first", "x", "y: int64", f_add1, NULL, &c->calls[0], NULL, &c->err),
      &c->err);
  HN_CHECK(
      hn_pipeline_add_ex(p, "second", "y", "z: int64", f_mul2, NULL, &c->calls[1], NULL, &c->err),
      &c->err);
  in_col(c, "x", iota(c, CB_ITEMS, 0));
  map_over(c, "x", HN_MAP_ZIP);
  use_callbacks(c);
  want(c, "z");
  int64_t v[CB_ITEMS];
  for (int i = 0; i < CB_ITEMS; i++) v[i] = 2 * (i + 1);
  expect(c, "z", i64_values(c, CB_ITEMS, v));
  c->verify = verify_callbacks_map;
}

static void verify_callbacks_run(conf_case *c, const hn_result *r) {
  cb_counts *e = &c->ev;
  assert_int_equal(atomic_load(&e->pipeline_start), 1);
  assert_int_equal(atomic_load(&e->pipeline_end), 1);
  assert_int_equal(atomic_load(&e->map_start), 0);
  assert_int_equal(atomic_load(&e->map_end), 0);
  assert_int_equal(atomic_load(&e->node_start), 2);
  assert_int_equal(atomic_load(&e->node_end), 2);
  assert_int_equal(atomic_load(&e->node_rows[0]), 1);
  assert_int_equal(atomic_load(&e->node_rows[1]), 1);
}

static void case_callbacks_run(conf_case *c) {
  hn_pipeline *p = top(c, "observed_run");
  HN_CHECK(hn_pipeline_add(p, "first", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "second", "y", "z: int64", f_mul2, &c->err), &c->err);
  in_i64(c, "x", 1);
  use_callbacks(c);
  expect(c, "y", arr(c, I64T, "2"));
  expect(c, "z", arr(c, I64T, "4"));
  c->verify = verify_callbacks_run;
}

static void verify_callbacks_error(conf_case *c, const hn_result *r) {
  cb_counts *e = &c->ev;
  assert_int_equal(atomic_load(&e->error), 1);
  assert_string_equal(e->error_node, "fragile");
  assert_non_null(strstr(e->error_message, "bad value 7"));
  assert_string_equal(e->error_path, "7");
  assert_int_equal(e->error_item, 7);
  assert_int_equal(atomic_load(&e->map_start), 1);
  assert_int_equal(atomic_load(&e->map_end), 1);
  assert_int_equal(atomic_load(&e->item_start), 10);
  assert_int_equal(atomic_load(&e->item_end), 10);
}

static void case_callbacks_error(conf_case *c) {
  hn_pipeline *p = top(c, "observed_error");
  c->fail = (fail_spec){.n = 1, .bad = {7}};
  HN_CHECK(
      hn_pipeline_add_ex(p, "fragile", "x", "y: int64", f_fragile, NULL, &c->fail, NULL, &c->err),
      &c->err);
  in_col(c, "x", iota(c, 10, 0));
  map_over(c, "x", HN_MAP_ZIP);
  c->opts.error_policy = HN_ERRORS_CONTINUE;
  use_callbacks(c);
  expect(c, "y", arr(c, I64T, "100 101 102 103 104 105 106 ~ 108 109"));
  expect_err_row(c, 7, "7", "fragile", "bad value 7");
  c->verify = verify_callbacks_error;
}

static void case_context(conf_case *c) {
  hn_pipeline *p = top(c, "context");
  HN_CHECK(hn_pipeline_add_ex(p, "ctx", "x", "y: int64", f_ctx, NULL, &c->workers, NULL, &c->err),
           &c->err);
  in_col(c, "x", iota(c, 50, 0));
  map_over(c, "x", HN_MAP_ZIP);
  int64_t v[50];
  for (int i = 0; i < 50; i++) v[i] = 2 * i;
  expect(c, "y", i64_values(c, 50, v));
}

static void case_engine_identity(conf_case *c) {
  hn_engine_kind kind;
  hn_error err;
  for (int k = HN_ENGINE_SEQUENTIAL; k <= HN_ENGINE_MPI; k++) {
    const char *name = hn_engine_kind_name((hn_engine_kind)k);
    assert_non_null(name);
    HN_CHECK(hn_engine_kind_from_name(name, &kind, &err), &err);
    assert_int_equal(kind, k);
  }
  assert_string_equal(hn_engine_kind_name(HN_ENGINE_SEQUENTIAL), "sequential");
  assert_string_equal(hn_engine_kind_name(HN_ENGINE_THREADS), "threads");
  assert_int_not_equal(hn_engine_kind_from_name("warp-drive", &kind, &err), HN_OK);
  assert_non_null(strstr(err.message, "warp-drive"));
  assert_true(hn_engine_workers(c->engine) >= 1);
  if (hn_engine_kind_of(c->engine) == HN_ENGINE_SEQUENTIAL)
    assert_int_equal(hn_engine_workers(c->engine), 1);
  hn_engine_destroy(NULL);
  hn_pipeline_release(NULL);
  hn_inputs_destroy(NULL);
  hn_result_destroy(NULL);
  hn_rows_destroy(NULL);
}

static void case_null_engine_is_sequential(conf_case *c) {
  hn_pipeline *p = top(c, "default_engine");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, "1 2"));
  map_over(c, "x", HN_MAP_ZIP);
  c->engine = NULL;
  expect(c, "y", arr(c, I64T, "2 3"));
}

/* ---- concurrency and allocation failure --------------------------------- */

typedef struct concurrent_job {
  hn_pipeline *p;
  hn_engine_kind kind;
  int64_t n;
  const char *output; /* each thread asks for another output: several plans at once */
  hn_status st;
  hn_table *table;
  char message[HN_ERROR_MESSAGE_MAX];
} concurrent_job;

/* Thread body: its own engine and inputs, the shared pipeline. No cmocka here. */
static void *concurrent_map(void *arg) {
  concurrent_job *jb = arg;
  hn_error err;
  hn_error_reset(&err);
  hn_engine_options eo = {.size = sizeof eo};
  eo.kind = jb->kind;
  eo.workers = 2;
  hn_engine *e = NULL;
  hn_inputs *in = NULL;
  hn_builder *b = NULL;
  hn_array *x = NULL;
  hn_result *r = NULL;
  jb->st = hn_engine_create(NULL, &eo, &e, &err);
  if (jb->st == HN_OK) jb->st = hn_inputs_create(NULL, &in, &err);
  if (jb->st == HN_OK) jb->st = hn_builder_create(NULL, hn_type_int64(), &b, &err);
  for (int64_t i = 0; jb->st == HN_OK && i < jb->n; i++) jb->st = hn_builder_append_int64(b, i);
  if (jb->st == HN_OK) jb->st = hn_builder_finish(b, &x, &err);
  if (jb->st == HN_OK) jb->st = hn_inputs_set_column(in, "x", x, &err);
  if (jb->st == HN_OK) {
    const char *over[1] = {"x"};
    hn_run_options o = {.size = sizeof o};
    o.n_map_over = 1;
    o.map_over = over;
    o.n_outputs = 1;
    o.outputs = &jb->output;
    jb->st = hn_pipeline_map(jb->p, e, in, &o, &r, &err);
  }
  if (jb->st == HN_OK)
    jb->table = hn_table_retain(hn_result_table(r));
  else
    snprintf(jb->message, sizeof jb->message, "%s", err.message);
  hn_result_destroy(r);
  hn_array_release(x);
  hn_builder_destroy(b);
  hn_inputs_destroy(in);
  hn_engine_destroy(e);
  return NULL;
}

/* The sanitizers' allocators (GCC 12's libasan, libtsan) are not locked across fork. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HN_TEST_SANITIZER_ALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HN_TEST_SANITIZER_ALLOC 1
#endif
#endif
#ifndef HN_TEST_SANITIZER_ALLOC
#define HN_TEST_SANITIZER_ALLOC 0
#endif

static void case_concurrent_maps(conf_case *c) {
  enum { THREADS = 4, N = 300 };
  /* Processes engines forking from four threads at once: under a sanitizer a
   * worker forked while another thread holds the sanitizer allocator's lock
   * deadlocks in its first malloc (glibc's malloc is fork-safe). */
  if (HN_TEST_SANITIZER_ALLOC && hn_engine_kind_of(c->engine) == HN_ENGINE_PROCESSES) skip();
  /* mpi: run and map are collective, from the thread that created the engine. */
  if (hn_engine_kind_of(c->engine) == HN_ENGINE_MPI) skip();
  hn_pipeline *p = new_pipe(c, "shared"); /* not run by the runner: c->p stays NULL */
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "dbl", "y", "z: int64", f_mul2, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "sq", "x", "w: int64", f_sq, &c->err), &c->err);
  static const char *const outputs[THREADS] = {"y", "z", "w", "z"};
  concurrent_job jobs[THREADS];
  pthread_t tids[THREADS];
  for (int t = 0; t < THREADS; t++) {
    jobs[t] = (concurrent_job){
        .p = p, .kind = hn_engine_kind_of(c->engine), .n = N, .output = outputs[t]};
    assert_int_equal(pthread_create(&tids[t], NULL, concurrent_map, &jobs[t]), 0);
  }
  for (int t = 0; t < THREADS; t++) assert_int_equal(pthread_join(tids[t], NULL), 0);
  for (int t = 0; t < THREADS; t++) {
    if (jobs[t].st != HN_OK) {
      for (int u = 0; u < THREADS; u++) hn_table_release(jobs[u].table);
      fail_msg("thread %d: %s: %s", t, hn_status_str(jobs[t].st), jobs[t].message);
    }
  }
  for (int t = 0; t < THREADS; t++) {
    hn_table *tb = jobs[t].table;
    bool ok = hn_table_num_rows(tb) == N && hn_table_num_columns(tb) == 1 &&
              strcmp(hn_table_column_name(tb, 0), outputs[t]) == 0;
    for (int64_t i = 0; ok && i < N; i++) {
      int64_t v = hn_array_get(hn_table_column(tb, 0), i).v.i64;
      int64_t want_v = t == 0 ? i + 1 : t == 2 ? i * i : 2 * (i + 1);
      ok = v == want_v;
    }
    if (!ok) fprint_table(stderr, outputs[t], tb);
    for (int u = t; !ok && u < THREADS; u++) hn_table_release(jobs[u].table);
    assert_true(ok);
    hn_table_release(tb);
  }
}

/*
 * Every allocation made through the pipeline's allocator fails once in
 * turn: each attempt must either succeed or return HN_ENOMEM, and leave
 * nothing behind.
 */
static hn_status oom_attempt(conf_case *c, hn_test_alloc *ta, hn_status *map_status) {
  const hn_allocator *a = &ta->alloc;
  hn_pipeline *p = NULL;
  hn_inputs *in = NULL;
  hn_result *r = NULL;
  hn_builder *b = NULL;
  hn_array *x = NULL;
  hn_rows *rows = NULL;
  hn_error err;
  *map_status = HN_OK;
  hn_status st = hn_pipeline_create(a, "oom", &p, &err);
  if (st == HN_OK) st = hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &err);
  if (st == HN_OK) st = hn_pipeline_add(p, "spell", "y", "s: utf8", f_to_str, &err);
  if (st == HN_OK) st = hn_pipeline_add(p, "split", "s", "tk: list<utf8>", f_tokenize, &err);
  if (st == HN_OK) st = hn_inputs_create(a, &in, &err);
  if (st == HN_OK) st = hn_builder_create(a, I64T, &b, &err);
  for (int64_t i = 0; st == HN_OK && i < 40; i++) st = hn_builder_append_int64(b, i);
  if (st == HN_OK) st = hn_builder_finish(b, &x, &err);
  if (st == HN_OK) st = hn_inputs_set_column(in, "x", x, &err);
  if (st == HN_OK) {
    const char *over[1] = {"x"};
    hn_run_options o = {.size = sizeof o};
    o.n_map_over = 1;
    o.map_over = over;
    st = *map_status = hn_pipeline_map(p, c->engine, in, &o, &r, &err);
  }
  if (st == HN_OK) st = hn_result_rows(r, HN_MATERIALIZE_AUTO, &rows, &err);
  if (st == HN_OK && (hn_table_num_rows(hn_result_table(r)) != 40 || hn_rows_num_rows(rows) != 40))
    st = HN_EINTERNAL;
  hn_rows_destroy(rows);
  hn_result_destroy(r);
  hn_array_release(x);
  hn_builder_destroy(b);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  return st;
}

static void case_allocation_failures(conf_case *c) {
  /* mpi: one rank failing an allocation where the others do not is not a
   * collective outcome (tested on one rank by the other engines). */
  if (hn_engine_kind_of(c->engine) == HN_ENGINE_MPI) skip();
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_status map_st;
  assert_int_equal(oom_attempt(c, &ta, &map_st), HN_OK);
  assert_int_equal(ta.live, 0);
  int64_t total = ta.n_allocs, map_failures = 0;
  for (int64_t k = 1; k <= total; k++) {
    hn_test_alloc_init(&ta, k);
    hn_status st = oom_attempt(c, &ta, &map_st);
    if (st != HN_OK && st != HN_ENOMEM)
      fail_msg("failing allocation %lld of %lld gave %s", (long long)k, (long long)total,
               hn_status_str(st));
    if (map_st == HN_ENOMEM) map_failures++;
    if (ta.live != 0)
      fail_msg("failing allocation %lld of %lld leaked %lld blocks", (long long)k, (long long)total,
               (long long)ta.live);
  }
  assert_true(total > 10);
  assert_true(map_failures > 0); /* the engine allocates through the pipeline's allocator */
}

/* ======================================================================== */
/* Cases: result forms (table, Arrow stream, rows)                           */
/* ======================================================================== */

/* A pipeline with one output of every common type, nulls included, over n items. */
static void build_mixed(conf_case *c, int64_t n) {
  hn_pipeline *p = top(c, "mixed");
  HN_CHECK(hn_pipeline_add(p, "spell", "x", "s: utf8", f_to_str, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "split", "s", "tokens: list<utf8>", f_tokenize, &c->err), &c->err);
  HN_CHECK(
      hn_pipeline_add(p, "info", "s", "info: struct<len: int64, first: utf8>", f_info, &c->err),
      &c->err);
  HN_CHECK(hn_pipeline_add(p, "half", "x", "h: float32", f_half32, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "quarter", "x", "q: float64", f_quarter, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "even", "x", "e: bool", f_even, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(c->a, I64T, &b, &c->err), &c->err);
  for (int64_t i = 0; i < n; i++) {
    if (i % 7 == 3)
      HN_CHECK(hn_builder_append_null(b), NULL);
    else
      HN_CHECK(hn_builder_append_int64(b, i * 37 - 1000), NULL);
  }
  hn_array *x = NULL;
  HN_CHECK(hn_builder_finish(b, &x, &c->err), &c->err);
  hn_builder_destroy(b);
  in_col(c, "x", x);
  map_over(c, "x", HN_MAP_ZIP);
  want(c, "y,s,tokens,info,h,q,e");
}

static void check_rows_match(const hn_rows *rows, const hn_table *t) {
  assert_int_equal(hn_rows_num_rows(rows), hn_table_num_rows(t));
  assert_int_equal(hn_rows_num_columns(rows), hn_table_num_columns(t));
  for (int64_t j = 0; j < hn_table_num_columns(t); j++) {
    assert_string_equal(hn_rows_column_name(rows, j), hn_table_column_name(t, j));
    const hn_array *col = hn_table_column(t, j);
    for (int64_t i = 0; i < hn_table_num_rows(t); i++) {
      hn_datum got = hn_rows_get(rows, i, j), want_d = hn_array_get(col, i);
      if (!datum_equal(got, want_d)) {
        fprintf(stderr, "row %lld column %s: got ", (long long)i, hn_table_column_name(t, j));
        fprint_datum(stderr, got);
        fprintf(stderr, ", expected ");
        fprint_datum(stderr, want_d);
        fprintf(stderr, " (strategy %d)\n", (int)hn_rows_strategy(rows));
        fail();
      }
    }
  }
}

/* Rows from a fresh result that is destroyed before the rows are read. */
static void check_rows_strategies(conf_case *c, const hn_result *r, hn_materialize auto_as) {
  hn_table *t = hn_result_table(r);
  static const hn_materialize strategies[3] = {HN_MATERIALIZE_AUTO, HN_MATERIALIZE_ROW,
                                               HN_MATERIALIZE_COLUMN};
  for (int k = 0; k < 3; k++) {
    HN_CHECK(execute(c, &c->tmp_result, &c->err), &c->err);
    HN_CHECK(hn_result_rows(c->tmp_result, strategies[k], &c->tmp_rows, &c->err), &c->err);
    hn_result_destroy(c->tmp_result); /* the rows keep what they point into */
    c->tmp_result = NULL;
    hn_materialize used = hn_rows_strategy(c->tmp_rows);
    assert_int_equal(used, strategies[k] == HN_MATERIALIZE_AUTO ? auto_as : strategies[k]);
    check_rows_match(c->tmp_rows, t);
    hn_rows_destroy(c->tmp_rows);
    c->tmp_rows = NULL;
  }
}

/* AUTO: column-major when any column is fixed width, else row-major. */
static void verify_rows_auto_column(conf_case *c, const hn_result *r) {
  check_rows_strategies(c, r, HN_MATERIALIZE_COLUMN);
}

static void verify_rows_auto_row(conf_case *c, const hn_result *r) {
  check_rows_strategies(c, r, HN_MATERIALIZE_ROW);
}

static void case_rows_mixed(conf_case *c) {
  build_mixed(c, 100);
  c->verify = verify_rows_auto_column;
}

static void build_fixed(conf_case *c, int64_t n) {
  hn_pipeline *p = top(c, "fixed");
  HN_CHECK(hn_pipeline_add(p, "inc", "x", "y: int64", f_add1, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "quarter", "x", "q: float64", f_quarter, &c->err), &c->err);
  in_col(c, "x", iota(c, n, -3));
  map_over(c, "x", HN_MAP_ZIP);
}

static void case_rows_fixed_width_large(conf_case *c) {
  build_fixed(c, 100);
  c->verify = verify_rows_auto_column;
}

static void case_rows_fixed_width_small(conf_case *c) {
  build_fixed(c, 10);
  c->verify = verify_rows_auto_column;
}

static void verify_stream(conf_case *c, const hn_result *r) {
  hn_table *t = hn_result_table(r);
  HN_CHECK(execute(c, &c->tmp_result, &c->err), &c->err);
  struct ArrowArrayStream stream;
  HN_CHECK(hn_result_export_stream(c->tmp_result, &stream, &c->err), &c->err);
  hn_result_destroy(c->tmp_result); /* the stream keeps the buffers */
  c->tmp_result = NULL;
  hn_status st = hn_stream_reader_create(c->a, &stream, NULL, &c->tmp_reader, &c->err);
  assert_null(stream.release); /* moved, success or failure */
  HN_CHECK(st, &c->err);
  assert_true(hn_type_equals(hn_stream_reader_schema(c->tmp_reader), hn_table_schema(t)));
  int64_t offset = 0, batches = 0;
  for (;;) {
    HN_CHECK(hn_stream_reader_next(c->tmp_reader, &c->tmp_tables[0], &c->err), &c->err);
    hn_table *batch = c->tmp_tables[0];
    if (!batch) break;
    batches++;
    HN_CHECK(hn_table_slice(t, offset, hn_table_num_rows(batch), &c->tmp_tables[1], &c->err),
             &c->err);
    if (!hn_table_equals(batch, c->tmp_tables[1])) {
      fprint_table(stderr, "expected", c->tmp_tables[1]);
      fprint_table(stderr, "stream batch", batch);
      fail();
    }
    offset += hn_table_num_rows(batch);
    for (int i = 0; i < 2; i++) {
      hn_table_release(c->tmp_tables[i]);
      c->tmp_tables[i] = NULL;
    }
  }
  hn_stream_reader_destroy(c->tmp_reader);
  c->tmp_reader = NULL;
  assert_int_equal(offset, hn_table_num_rows(t));
  assert_int_equal(batches, 1);
}

static void case_result_stream(conf_case *c) {
  build_mixed(c, 50);
  c->verify = verify_stream;
}

static void case_result_stream_empty(conf_case *c) {
  hn_pipeline *p = top(c, "empty_stream");
  HN_CHECK(hn_pipeline_add(p, "spell", "x", "s: utf8", f_to_str, &c->err), &c->err);
  in_col(c, "x", arr(c, I64T, ""));
  map_over(c, "x", HN_MAP_ZIP);
  expect(c, "s", arr(c, STRT, ""));
  c->verify = verify_stream;
}

static void case_result_rows_run(conf_case *c) {
  hn_pipeline *p = top(c, "rows_run");
  HN_CHECK(hn_pipeline_add(p, "spell", "x", "s: utf8", f_to_str, &c->err), &c->err);
  HN_CHECK(hn_pipeline_add(p, "split", "s", "t: list<utf8>", f_tokenize, &c->err), &c->err);
  in_i64(c, "x", -12);
  expect(c, "s", arr(c, STRT, "-12"));
  expect(c, "t", arr(c, c->t_lstr, "[-12]"));
  c->verify = verify_rows_auto_row; /* no fixed-width column */
}

/* ======================================================================== */
/* The table of cases and main                                               */
/* ======================================================================== */

#define CASE(fn) \
  { #fn, case_##fn }

#include "conformance_policies.inc"

/* Run and map calls a verify function makes (mpi serving ranks make them too). */
static int verify_extra_calls(verify_fn verify) {
  if (verify == verify_rows_auto_column || verify == verify_rows_auto_row) return 3;
  if (verify == verify_stream) return 1;
  return 0;
}

static case_entry k_cases[] = {
    CASE(single_node_run),
    CASE(chain),
    CASE(diamond),
    CASE(multi_output_node),
    CASE(all_outputs_run),
    CASE(all_outputs_map),
    CASE(selective_outputs),
    CASE(selective_needs_only_ancestors),
    CASE(requested_order),
    CASE(introspection),
    CASE(map_zip),
    CASE(map_product),
    CASE(map_product_three),
    CASE(map_product_empty_factor),
    CASE(zip_length_mismatch),
    CASE(map_outputs_cannot_fit),
    CASE(map_over_value_input),
    CASE(map_over_unknown_input),
    CASE(fixed_inputs_broadcast),
    CASE(unmapped_column_is_list),
    CASE(run_column_is_list),
    CASE(empty_map),
    CASE(large_map),
    CASE(bind_default),
    CASE(bind_override),
    CASE(bind_in_map),
    CASE(unbind),
    CASE(missing_inputs),
    CASE(unknown_output),
    CASE(input_type_mismatch),
    CASE(build_type_mismatch),
    CASE(build_type_mismatch_consumer_first),
    CASE(duplicate_producer),
    CASE(duplicate_node_name),
    CASE(cycle),
    CASE(cycle_three),
    CASE(self_loop),
    CASE(bad_definitions_leave_pipeline_intact),
    CASE(utf8_output),
    CASE(list_utf8_output),
    CASE(struct_output),
    CASE(float_outputs),
    CASE(bool_output),
    CASE(nulls_flow),
    CASE(null_scalar_input),
    CASE(list_value_input),
    CASE(nested_renamed),
    CASE(nested_in_map),
    CASE(nested_mapped_ragged),
    CASE(nested_mapped_run),
    CASE(nested_mapped_broadcast),
    CASE(nested_product),
    CASE(nested_zip_two_lists),
    CASE(nested_two_levels),
    CASE(nested_text),
    CASE(nested_mapping_names_nothing),
    CASE(nested_output_conflict),
    CASE(override_run),
    CASE(override_map),
    CASE(override_broadcast),
    CASE(override_keeps_shared_ancestor),
    CASE(override_prunes_ancestors),
    CASE(override_nested_output),
    CASE(override_type_mismatch),
    CASE(coerce_ints),
    CASE(coerce_large_utf8),
    CASE(coerce_whole_column),
    CASE(coerce_refused),
    CASE(coerce_narrowing_refused),
    CASE(new_types_through_nodes),
    CASE(override_requested),
    CASE(nested_hidden_outputs),
    CASE(nested_hidden_not_requestable),
    CASE(resource_map),
    CASE(resource_run),
    CASE(resource_unused_not_built),
    CASE(resource_node_fails),
    CASE(error_raise),
    CASE(error_raise_run),
    CASE(error_continue),
    CASE(error_continue_no_failures),
    CASE(error_continue_all_fail),
    CASE(nested_failure_raise),
    CASE(nested_failure_continue),
    CASE(nested_two_levels_failure),
    CASE(stray_list_item),
    CASE(stray_list_item_raise),
    CASE(stray_struct_field),
    CASE(stray_struct_field_raise),
    CASE(unknown_status),
    CASE(batch_only),
    CASE(batch_only_run),
    CASE(row_and_batch),
    CASE(batch_failure_found_by_row),
    CASE(batch_only_failure_raise),
    CASE(callbacks_map),
    CASE(callbacks_run),
    CASE(callbacks_error),
    CASE(context),
    CASE(engine_identity),
    CASE(null_engine_is_sequential),
    CASE(concurrent_maps),
    CASE(allocation_failures),
    CASE(rows_mixed),
    CASE(rows_fixed_width_large),
    CASE(rows_fixed_width_small),
    CASE(result_stream),
    CASE(result_stream_empty),
    CASE(result_rows_run),
    POLICY_CASES,
};

enum { N_CASES = sizeof k_cases / sizeof k_cases[0] };

typedef struct engine_config {
  int workers;
  int64_t chunk_size;
} engine_config;

int main(int argc, char **argv) {
  const char *name = argc > 1 ? argv[1] : "sequential";
  hn_engine_kind kind;
  hn_error err;
  if (hn_engine_kind_from_name(name, &kind, &err) != HN_OK) {
    fprintf(stderr, "test_conformance: unknown engine \"%s\": %s\n", name, err.message);
    return 2;
  }
  /* Threads: default sizing, then 2 workers with tiny chunks, then more
   * workers than cores with one-item chunks. Other engines: defaults. */
  static const engine_config threads_configs[] = {{0, 0}, {2, 3}, {4, 1}};
  static const engine_config default_config[] = {{0, 0}};
  const engine_config *configs = kind == HN_ENGINE_THREADS ? threads_configs : default_config;
  int n_configs = kind == HN_ENGINE_THREADS ? 3 : 1;

  static struct CMUnitTest tests[N_CASES];
  for (int i = 0; i < N_CASES; i++)
    tests[i] =
        (struct CMUnitTest){k_cases[i].name, run_case, setup_case, teardown_case, &k_cases[i]};

  int failed = 0;
  for (int k = 0; k < n_configs; k++) {
    hn_engine_options opts = {.size = sizeof opts};
    opts.kind = kind;
    opts.workers = configs[k].workers;
    opts.chunk_size = configs[k].chunk_size;
    hn_engine *engine = NULL;
    hn_status st = hn_engine_create(NULL, &opts, &engine, &err);
    if (st != HN_OK) {
      fprintf(stderr, "test_conformance: cannot create the %s engine: %s: %s\n", name,
              hn_status_str(st), err.message);
      return 1;
    }
    char group[96];
    snprintf(group, sizeof group, "conformance_%s(workers=%d,chunk=%lld)", name,
             hn_engine_workers(engine), (long long)configs[k].chunk_size);
    printf("conformance: %s engine, %d workers, chunk_size %lld\n", name, hn_engine_workers(engine),
           (long long)configs[k].chunk_size);
    fflush(stdout);
    g_engine = engine;
    g_rank = hn_engine_rank(engine);
    g_ranks = hn_engine_ranks(engine);
    failed += _cmocka_run_group_tests(group, tests, N_CASES, NULL, NULL);
    g_engine = NULL;
    hn_engine_destroy(engine);
  }
  return failed == 0 ? 0 : 1;
}
