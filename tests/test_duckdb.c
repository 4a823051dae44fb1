/*
 * DuckDB as a real producer and consumer of Arrow (issue 16, item 4).
 * libduckdb.so comes from the npm package @duckdb/node-bindings-linux-x64,
 * which scripts/setup installs; it is loaded with dlopen (duckdb_loader.c).
 * Where it cannot be loaded every test says why and is skipped.
 *
 * Both ways, one column at a time so that one type cannot hide another:
 * our table exported as an ArrowArrayStream, scanned by duckdb_arrow_scan
 * and materialised with CREATE TABLE ... AS SELECT * (DuckDB 1.5's scan
 * assumes projection pushdown); DuckDB's rendering of every value checked;
 * then the table read back with duckdb_query_arrow and imported. And
 * DuckDB's own types (INTEGER, DECIMAL, DATE, INTEGER[2], MAP, ENUM, UUID,
 * large buffers, string and list views, ...) imported and checked, and a
 * pipeline mapped over a query's result stream.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data_internal.h"
#include "duckdb_loader.h"
#include "test_support.h"

#ifndef HN_DUCKDB_DEFAULT_LIB
#define HN_DUCKDB_DEFAULT_LIB ""
#endif

typedef struct ddb {
  hn_duckdb api;
  duckdb_database db;
  duckdb_connection con;
} ddb;

static char g_why[512];
static bool g_loaded;

#if defined(__SANITIZE_THREAD__)
#define HN_UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HN_UNDER_TSAN 1
#endif
#endif

static int setup(void **state) {
  static ddb d;
  memset(&d, 0, sizeof d);
  *state = &d;
#ifdef HN_UNDER_TSAN
  snprintf(g_why, sizeof g_why, "not under ThreadSanitizer: libduckdb.so is not instrumented");
  g_loaded = false;
  return 0;
#endif
  g_loaded = hn_duckdb_load(&d.api, HN_DUCKDB_DEFAULT_LIB, g_why, sizeof g_why);
  if (!g_loaded) return 0;
  if (d.api.open(NULL, &d.db) != DuckDBSuccess || d.api.connect(d.db, &d.con) != DuckDBSuccess) {
    snprintf(g_why, sizeof g_why, "DuckDB loaded but an in-memory database did not open");
    g_loaded = false;
  }
  return 0;
}

static int teardown(void **state) {
  ddb *d = *state;
  if (d->con) d->api.disconnect(&d->con);
  if (d->db) d->api.close(&d->db);
  hn_duckdb_unload(&d->api);
  return 0;
}

/* Skip (never pass silently) when DuckDB is not there, saying why. */
#define NEED_DUCKDB()                              \
  do {                                             \
    if (!g_loaded) {                               \
      printf("test_duckdb: skipped: %s\n", g_why); \
      fflush(stdout);                              \
      skip();                                      \
    }                                              \
  } while (0)

/* Run `sql`; false (DuckDB's message in `why`) when DuckDB refuses it. */
static bool try_exec(ddb *d, const char *sql, char *why, size_t cap) {
  duckdb_result r;
  memset(&r, 0, sizeof r);
  bool ok = d->api.query(d->con, sql, &r) == DuckDBSuccess;
  if (!ok) snprintf(why, cap, "%s", d->api.result_error(&r));
  d->api.destroy_result(&r);
  return ok;
}

static void exec(ddb *d, const char *sql) {
  char why[512];
  if (!try_exec(d, sql, why, sizeof why)) fail_msg("DuckDB: %s\n  in: %s", why, sql);
}

/* ---- a DuckDB Arrow result as an ArrowArrayStream ----------------------------- */

typedef struct result_stream {
  ddb *d;
  duckdb_arrow result;
  char error[256];
} result_stream;

static int rs_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  result_stream *p = s->private_data;
  memset(out, 0, sizeof *out);
  duckdb_arrow_schema ptr = out;
  if (p->d->api.query_arrow_schema(p->result, &ptr) != DuckDBSuccess) {
    snprintf(p->error, sizeof p->error, "%s", p->d->api.query_arrow_error(p->result));
    return 5; /* EIO */
  }
  return 0;
}

static int rs_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  result_stream *p = s->private_data;
  memset(out, 0, sizeof *out); /* release stays NULL at the end */
  duckdb_arrow_array ptr = out;
  if (p->d->api.query_arrow_array(p->result, &ptr) != DuckDBSuccess) {
    snprintf(p->error, sizeof p->error, "%s", p->d->api.query_arrow_error(p->result));
    return 5;
  }
  return 0;
}

static const char *rs_last_error(struct ArrowArrayStream *s) {
  result_stream *p = s->private_data;
  return p->error;
}

static void rs_release(struct ArrowArrayStream *s) {
  result_stream *p = s->private_data;
  p->d->api.destroy_arrow(&p->result);
  free(p);
  s->release = NULL;
}

/* The result of `sql` as a stream (the caller moves it into a reader or releases it). */
static void query_stream(ddb *d, const char *sql, struct ArrowArrayStream *out) {
  result_stream *p = calloc(1, sizeof *p);
  assert_non_null(p);
  p->d = d;
  if (d->api.query_arrow(d->con, sql, &p->result) != DuckDBSuccess) {
    print_error("DuckDB: %s\n  in: %s\n", d->api.query_arrow_error(p->result), sql);
    d->api.destroy_arrow(&p->result);
    free(p);
    fail();
  }
  *out = (struct ArrowArrayStream){rs_get_schema, rs_get_next, rs_last_error, rs_release, p};
}

/* The whole result of `sql`, imported: its batches joined into one table. */
static hn_status query_table(ddb *d, const char *sql, hn_table **out, hn_error *err) {
  struct ArrowArrayStream s;
  query_stream(d, sql, &s);
  hn_stream_reader *r = NULL;
  hn_status st = hn_stream_reader_create(NULL, &s, NULL, &r, err);
  hn_table *parts[64];
  int n = 0;
  while (st == HN_OK && n < 64) {
    st = hn_stream_reader_next(r, &parts[n], err);
    if (st != HN_OK || !parts[n]) break;
    n++;
  }
  if (st == HN_OK && n == 0) st = hn_table_create_empty(NULL, hn_stream_reader_schema(r), out, err);
  if (st == HN_OK && n > 0) {
    const hn_type *schema = hn_table_schema(parts[0]);
    int64_t nc = hn_table_num_columns(parts[0]);
    hn_array *cols[32], *chunk[64];
    const char *names[32];
    assert_true(nc <= 32);
    for (int64_t c = 0; c < nc && st == HN_OK; c++) {
      for (int k = 0; k < n; k++) chunk[k] = hn_table_column(parts[k], c);
      names[c] = hn_type_field_name(schema, c);
      st = hn__array_concat(NULL, hn_type_field_type(schema, c), n, chunk, false, &cols[c], err);
    }
    if (st == HN_OK) st = hn_table_create(NULL, nc, names, cols, out, err);
    for (int64_t c = 0; c < nc; c++) hn_array_release(cols[c]);
  }
  for (int k = 0; k < n; k++) hn_table_release(parts[k]);
  hn_stream_reader_destroy(r);
  return st;
}

/*
 * Our table into DuckDB as table `name`, through duckdb_arrow_scan of an
 * exported stream, materialised at once. False, with DuckDB's message in
 * `why`, when DuckDB refuses it.
 */
static bool load_table(ddb *d, const char *name, hn_table *t, char *why, size_t cap) {
  struct ArrowArrayStream s;
  hn_error err;
  HN_CHECK(hn_table_stream_export(NULL, 1, &t, &s, &err), &err);
  bool ok = d->api.arrow_scan(d->con, "hn_scan", &s) == DuckDBSuccess;
  if (!ok) snprintf(why, cap, "duckdb_arrow_scan refused the stream");
  char sql[256];
  snprintf(sql, sizeof sql, "CREATE OR REPLACE TABLE %s AS SELECT * FROM hn_scan", name);
  if (ok) ok = try_exec(d, sql, why, cap);
  (void)try_exec(d, "DROP VIEW IF EXISTS hn_scan", why, cap);
  if (s.release) s.release(&s);
  return ok;
}

/* Column `c` of `t` alone, as a one-column table named like it. */
static hn_table *one_column(hn_table *t, int64_t c) {
  const char *name = hn_table_column_name(t, c);
  hn_array *col = hn_table_column(t, c);
  hn_table *out = NULL;
  HN_CHECK(hn_table_create(NULL, 1, &name, &col, &out, NULL), NULL);
  return out;
}

/* The type string of column c of t. */
static const char *type_of(hn_table *t, int64_t c, char *buf, size_t cap) {
  hn_type_to_string(hn_array_type(hn_table_column(t, c)), buf, cap);
  return buf;
}

/* Row r of a utf8 column as text, or "NULL". */
static const char *text_at(hn_table *t, int64_t c, int64_t r, char *buf, size_t cap) {
  hn_datum d = hn_array_get(hn_table_column(t, c), r);
  if (d.is_null) return "NULL";
  snprintf(buf, cap, "%.*s", (int)d.v.str.size, d.v.str.data);
  return buf;
}

/*
 * What DuckDB does with each column of hn_test_all_types_table: its type
 * there, how it renders rows 0 and 2 (row 1 is null), the type it hands
 * back, and how the values that come back compare with ours: EXACT (equal
 * tables), CAST (equal to ours widened to that type), or RENDERED (checked
 * through DuckDB's rendering only). `refused`: DuckDB's scan does not take
 * the format (its limit, not ours: the Arrow round trip of test_arrow_types
 * covers the type). `note` says what a reader of the table should know.
 */
typedef enum { EXACT, CAST, RENDERED } back_rule;
typedef struct ddb_case {
  const char *column, *duck_type, *row0, *row2, *back_type;
  back_rule rule;
  bool refused;
  const char *note;
} ddb_case;

static const ddb_case k_round_trip[] = {
    {"i8", "TINYINT", "-128", "127", "int8", EXACT, false, NULL},
    {"u8", "UTINYINT", "255", "0", "uint8", EXACT, false, NULL},
    {"i16", "SMALLINT", "-32768", "32767", "int16", EXACT, false, NULL},
    {"u16", "USMALLINT", "65535", "1", "uint16", EXACT, false, NULL},
    {"i32", "INTEGER", "-2147483648", "2147483647", "int32", EXACT, false, NULL},
    {"u32", "UINTEGER", "4294967295", "7", "uint32", EXACT, false, NULL},
    {"u64", "UBIGINT", "18446744073709551615", "42", "uint64", EXACT, false, NULL},
    {"f16", NULL, NULL, NULL, NULL, EXACT, true, "DuckDB has no half float"},
    {"date32", "DATE", "2022-01-08", "1969-12-31", "date32", EXACT, false, NULL},
    {"date64", "DATE", "2022-01-08", "1969-12-31", "date32", RENDERED, false, "back as date32"},
    {"time32", "TIME", "01:02:03", "00:00:00", "time64[us]", RENDERED, false, NULL},
    {"time64", "TIME_NS", "01:02:03", "00:00:00.000000001", "time64[ns]", EXACT, false, NULL},
    {"ts_utc", "TIMESTAMP WITH TIME ZONE", "2023-11-14 22:13:20.123456+00",
     "1969-12-31 23:59:59.999999+00", "timestamp[us, \"Etc/UTC\"]", RENDERED, false,
     "the zone comes back as Etc/UTC"},
    {"ts", "TIMESTAMP_S", "1970-01-01 00:01:30", "1969-12-31 23:59:55", "timestamp[s]", EXACT,
     false, NULL},
    {"dur_s", "INTERVAL", "01:00:00", "-00:00:01", "interval_month_day_nano", RENDERED, false,
     NULL},
    {"dur_ms", "INTERVAL", "00:00:01.5", "00:00:00.002", "interval_month_day_nano", RENDERED, false,
     NULL},
    {"months", "INTERVAL", "1 year 2 months", "-3 months", "interval_month_day_nano", RENDERED,
     false, NULL},
    {"day_time", "INTERVAL", NULL, NULL, "interval_month_day_nano", RENDERED, false,
     "DuckDB 1.5 reads the 8 bytes as one int64 of milliseconds, not as days + milliseconds"},
    {"mdn", "INTERVAL", "2 months 15 days 00:00:00.000001", "00:00:00", "interval_month_day_nano",
     RENDERED, false, "DuckDB keeps microseconds"},
    {"dec128", "DECIMAL(10,2)", "123.45", "-2.50", "decimal128(10, 2)", EXACT, false, NULL},
    {"dec256", NULL, NULL, NULL, NULL, EXACT, true, "DuckDB decimals stop at 38 digits"},
    {"large_text", "VARCHAR", "grüße", "", "utf8", CAST, false, NULL},
    {"large_bytes", "BLOB", "\\x01\\x02", "xyz", "binary", CAST, false, NULL},
    {"uuid", "BLOB", "0123456789abcdef", "ABCDEFGHIJKLMNOP", "binary", RENDERED, false, NULL},
    {"large_list", "INTEGER[]", "[1, 2]", "[3, -4]", "list<int32>", CAST, false, NULL},
    {"pair", "INTEGER[2]", "[1, 2]", "[3, -4]", "fixed_size_list<int32>[2]", EXACT, false, NULL},
    {"map", "MAP(VARCHAR, BIGINT)", "{a=1, b=NULL}", "{}", "map<utf8, int64>", EXACT, false, NULL},
    {"nothing", "INTEGER", "NULL", "NULL", "int32", RENDERED, false, "null becomes INTEGER"},
    {"list32", "INTEGER[]", "[1, 2]", "[3, -4]", "list<int32>", EXACT, false, NULL},
};

/* Column c of `ours` compared with what came back, by the case's rule. */
static void check_back(const ddb_case *k, hn_table *ours, hn_table *back) {
  char got[128];
  assert_string_equal(type_of(back, 0, got, sizeof got), k->back_type);
  assert_int_equal(hn_table_num_rows(back), 3);
  hn_array *mine = hn_table_column(ours, 0), *theirs = hn_table_column(back, 0), *cast = NULL;
  switch (k->rule) {
    case EXACT:
      assert_true(hn_array_equals(mine, theirs));
      break;
    case CAST:
      HN_CHECK(hn__array_cast(NULL, mine, hn_array_type(theirs), &cast, NULL), NULL);
      assert_true(hn_array_equals(cast, theirs));
      hn_array_release(cast);
      break;
    case RENDERED: /* the values were checked in DuckDB; nulls stay nulls */
      for (int64_t r = 0; r < 3; r++)
        assert_int_equal(hn_array_is_null(mine, r), hn_array_is_null(theirs, r));
      break;
  }
}

/* Each type into DuckDB and back, one column at a time. */
static void test_round_trip_each_type(void **state) {
  ddb *d = *state;
  NEED_DUCKDB();
  hn_table *t = hn_test_all_types_table(NULL);
  assert_int_equal(sizeof k_round_trip / sizeof k_round_trip[0], HN_TEST_N_TYPES);
  for (int c = 0; c < HN_TEST_N_TYPES; c++) {
    const ddb_case *k = &k_round_trip[c];
    assert_string_equal(k->column, hn_test_all_types[c][0]);
    hn_table *one = one_column(t, c);
    char why[512], sql[256], buf[128];
    bool loaded = load_table(d, "rt", one, why, sizeof why);
    printf("  %-12s %-26s -> %s%s%s\n", hn_test_all_types[c][1],
           k->refused ? "(refused)" : k->duck_type, k->refused ? "" : k->back_type,
           k->note ? "; " : "", k->note ? k->note : "");
    if (k->refused) {
      assert_false(loaded);
      hn_table_release(one);
      continue;
    }
    if (!loaded) fail_msg("%s: DuckDB refused it: %s", k->column, why);
    snprintf(sql, sizeof sql, "SELECT typeof(%s) AS t, CAST(%s AS VARCHAR) AS v FROM rt", k->column,
             k->column);
    hn_table *view = NULL, *back = NULL;
    hn_error err;
    HN_CHECK(query_table(d, sql, &view, &err), &err);
    assert_int_equal(hn_table_num_rows(view), 3);
    for (int64_t r = 0; r < 3; r++)
      assert_string_equal(text_at(view, 0, r, buf, sizeof buf), k->duck_type);
    assert_string_equal(text_at(view, 1, 1, buf, sizeof buf), "NULL");
    if (k->row0) assert_string_equal(text_at(view, 1, 0, buf, sizeof buf), k->row0);
    if (k->row2) assert_string_equal(text_at(view, 1, 2, buf, sizeof buf), k->row2);
    HN_CHECK(query_table(d, "SELECT * FROM rt", &back, &err), &err);
    check_back(k, one, back);
    hn_table_release(view);
    hn_table_release(back);
    hn_table_release(one);
  }
  hn_table_release(t);
}

/* The Arrow format DuckDB hands out for column c of `sql`. */
static void formats_of(ddb *d, const char *sql, char formats[][16], int n) {
  struct ArrowArrayStream s;
  struct ArrowSchema schema;
  query_stream(d, sql, &s);
  assert_int_equal(s.get_schema(&s, &schema), 0);
  assert_int_equal(schema.n_children, n);
  for (int i = 0; i < n; i++) {
    const struct ArrowSchema *c = schema.children[i];
    snprintf(formats[i], 16, "%s%s", c->dictionary ? "dict:" : "", c->format);
  }
  schema.release(&schema);
  s.release(&s);
}

/* DuckDB's own types, as DuckDB hands them out, imported. */
static void test_duckdb_types(void **state) {
  ddb *d = *state;
  NEED_DUCKDB();
  exec(d, "CREATE TYPE IF NOT EXISTS mood AS ENUM ('sad', 'ok', 'happy')");
  static const char sql[] =
      "SELECT 42::INTEGER AS i, 12.5::DECIMAL(10, 2) AS dec, DATE '2024-02-29' AS day, "
      "[1, 2]::INTEGER[2] AS pair, MAP {'k': 1, 'l': 2} AS m, 'happy'::mood AS e, "
      "'550e8400-e29b-41d4-a716-446655440000'::UUID AS id, "
      "170141183460469231731687303715884105727::HUGEINT AS big, "
      "INTERVAL 3 DAY AS ival, TIME '12:34:56' AS tm, TIMESTAMP '2024-01-02 03:04:05' AS ts, "
      "'\\xAA'::BLOB AS blob, [{'a': 1, 'b': 'x'}] AS ls, NULL AS nothing "
      "FROM range(3)";
  static const char *const want_fmt[14] = {"i",      "d:10,2,128", "tdD",    "+w:2", "+m",
                                           "dict:C", "u",          "d:38,0", "tin",  "ttu",
                                           "tsu:",   "z",          "+l",     "i"};
  static const char *const want_type[14] = {"int32",
                                            "decimal128(10, 2)",
                                            "date32",
                                            "fixed_size_list<int32>[2]",
                                            "map<utf8, int32>",
                                            "utf8",
                                            "utf8",
                                            "decimal128(38, 0)",
                                            "interval_month_day_nano",
                                            "time64[us]",
                                            "timestamp[us]",
                                            "binary",
                                            "list<struct<a: int32, b: utf8>>",
                                            "int32"}; /* DuckDB's NULL literal is an INTEGER */
  char formats[14][16], buf[128];
  formats_of(d, sql, formats, 14);
  hn_table *t = NULL;
  hn_error err;
  HN_CHECK(query_table(d, sql, &t, &err), &err);
  assert_int_equal(hn_table_num_rows(t), 3);
  for (int i = 0; i < 14; i++)
    printf("  %-8s %-10s -> %s\n", hn_table_column_name(t, i), formats[i],
           type_of(t, i, buf, sizeof buf));
  for (int i = 0; i < 14; i++) {
    assert_string_equal(formats[i], want_fmt[i]);
    assert_string_equal(type_of(t, i, buf, sizeof buf), want_type[i]);
  }
  assert_int_equal(hn_array_get(hn_table_column(t, 0), 2).v.i32, 42);
  assert_int_equal(hn_array_get(hn_table_column(t, 1), 0).v.d128.lo, 1250);
  assert_int_equal(hn_array_get(hn_table_column(t, 2), 0).v.i32, 19782);
  hn_datum e = hn_array_get(hn_table_column(t, 5), 1); /* the ENUM, decoded from its dictionary */
  assert_int_equal(e.v.str.size, 5);
  assert_memory_equal(e.v.str.data, "happy", 5);
  hn_datum big = hn_array_get(hn_table_column(t, 7), 0);
  assert_true(big.v.d128.lo == UINT64_MAX && big.v.d128.hi == INT64_MAX);
  hn_datum iv = hn_array_get(hn_table_column(t, 8), 0);
  assert_int_equal(iv.v.mdn.days, 3);
  assert_int_equal(hn_array_null_count(hn_table_column(t, 13)), 3);
  hn_table_release(t);
  /* Lossless conversion: a UUID comes as its 16 bytes (w:16, an extension type). */
  exec(d, "SET arrow_lossless_conversion = true");
  static const char uuid_sql[] = "SELECT '00112233-4455-6677-8899-aabbccddeeff'::UUID AS id";
  formats_of(d, uuid_sql, formats, 1);
  assert_string_equal(formats[0], "w:16");
  HN_CHECK(query_table(d, uuid_sql, &t, &err), &err);
  exec(d, "RESET arrow_lossless_conversion");
  assert_string_equal(type_of(t, 0, buf, sizeof buf), "fixed_size_binary(16)");
  hn_datum id = hn_array_get(hn_table_column(t, 0), 0);
  assert_int_equal(id.v.str.size, 16);
  assert_int_equal((uint8_t)id.v.str.data[15], 0xff);
  hn_table_release(t);
}

/* DuckDB's large buffers, string views and list views: decoded on import. */
static void test_duckdb_encodings(void **state) {
  ddb *d = *state;
  NEED_DUCKDB();
  static const char sql[] =
      "SELECT 'w' || i::VARCHAR || repeat('x', i::INTEGER) AS s, ('b' || i::VARCHAR)::BLOB AS b, "
      "CASE WHEN i % 3 = 1 THEN NULL ELSE range(i::INTEGER % 4) END AS l FROM range(3000) t(i)";
  const char *settings[3][2] = {
      {"SET arrow_large_buffer_size = true", "U Z +L"},
      {"SET arrow_output_version = '1.4'; SET produce_arrow_string_view = true", "vu vz +l"},
      {"SET arrow_output_version = '1.4'; SET arrow_output_list_view = true", "u vz +vl"},
  };
  hn_table *plain = NULL;
  hn_error err;
  HN_CHECK(query_table(d, sql, &plain, &err), &err);
  assert_int_equal(hn_table_num_rows(plain), 3000);
  for (int k = 0; k < 3; k++) {
    exec(d, "RESET arrow_large_buffer_size");
    exec(d, "RESET produce_arrow_string_view");
    exec(d, "RESET arrow_output_list_view");
    exec(d, "RESET arrow_output_version");
    exec(d, settings[k][0]);
    char formats[3][16], joined[64];
    formats_of(d, sql, formats, 3);
    snprintf(joined, sizeof joined, "%s %s %s", formats[0], formats[1], formats[2]);
    printf("  %s: %s\n", settings[k][0], joined);
    assert_string_equal(joined, settings[k][1]);
    hn_table *t = NULL;
    HN_CHECK(query_table(d, sql, &t, &err), &err);
    for (int c = 0; c < 3; c++) {
      hn_array *cast = NULL;
      HN_CHECK(hn__array_cast(NULL, hn_table_column(t, c), hn_array_type(hn_table_column(plain, c)),
                              &cast, &err),
               &err);
      assert_true(hn_array_equals(cast, hn_table_column(plain, c)));
      hn_array_release(cast);
    }
    hn_table_release(t);
  }
  exec(d, "RESET arrow_large_buffer_size");
  exec(d, "RESET produce_arrow_string_view");
  exec(d, "RESET arrow_output_list_view");
  hn_table_release(plain);
}

static hn_status f_twice(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], 2 * in[0].v.i64 + (in[1].is_null ? 0 : in[1].v.str.size));
}

/*
 * A pipeline mapped over a DuckDB query's result stream, batch by batch:
 * DuckDB's INTEGER and VARCHAR columns feed a node declaring int64 and
 * utf8 (widened at the edge); the results go back into DuckDB, which checks
 * them against its own computation.
 */
static void test_map_over_query(void **state) {
  ddb *d = *state;
  NEED_DUCKDB();
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, "duck", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "twice", "x: int64, s: utf8", "y: int64", f_twice, &err), &err);
  struct ArrowArrayStream s;
  query_stream(d, "SELECT i::INTEGER AS x, 'v' || i::VARCHAR AS s FROM range(5000) t(i)", &s);
  hn_stream_reader *r = NULL;
  HN_CHECK(hn_stream_reader_create(NULL, &s, NULL, &r, &err), &err);
  hn_run_options o = {.size = sizeof o, .map_over_spec = "x, s"};
  int batches = 0;
  exec(d, "CREATE OR REPLACE TABLE mapped (y BIGINT)");
  for (;;) {
    hn_table *batch = NULL;
    HN_CHECK(hn_stream_reader_next(r, &batch, &err), &err);
    if (!batch) break;
    batches++;
    hn_inputs *in = NULL;
    HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
    HN_CHECK(hn_inputs_set_column(in, "x", hn_table_column_by_name(batch, "x"), &err), &err);
    HN_CHECK(hn_inputs_set_column(in, "s", hn_table_column_by_name(batch, "s"), &err), &err);
    hn_result *res = NULL;
    HN_CHECK(hn_pipeline_map(p, NULL, in, &o, &res, &err), &err);
    char why[512];
    if (!load_table(d, "chunk", hn_result_table(res), why, sizeof why)) fail_msg("%s", why);
    exec(d, "INSERT INTO mapped SELECT y FROM chunk");
    hn_result_destroy(res);
    hn_inputs_destroy(in);
    hn_table_release(batch);
  }
  assert_true(batches >= 2); /* DuckDB hands out vectors of 2048 rows */
  hn_table *check = NULL;
  HN_CHECK(
      query_table(d,
                  "SELECT (SELECT sum(y) FROM mapped) = (SELECT sum(2 * i + length('v' || "
                  "i::VARCHAR)) FROM range(5000) t(i)) AS same, (SELECT count(*) FROM mapped) AS n",
                  &check, &err),
      &err);
  assert_true(hn_array_get(hn_table_column(check, 0), 0).v.b);
  assert_int_equal(hn_array_get(hn_table_column(check, 1), 0).v.i64, 5000);
  hn_table_release(check);
  hn_stream_reader_destroy(r);
  hn_pipeline_release(p);
}

/* ---- a dictionary-encoded column into DuckDB ----------------------------------- */

/* A one-batch stream of one column (schema and array owned until handed out). */
typedef struct one_column_stream {
  struct ArrowSchema col_schema, *col_schema_ptr;
  struct ArrowArray col, *col_ptr;
  const void *no_buffers[1];
  bool given;
} one_column_stream;

static void noop_schema_release(struct ArrowSchema *s) {
  s->release = NULL; /* its child is the stream's, released with the stream */
}

static void batch_release(struct ArrowArray *a) {
  if (a->children[0]->release) a->children[0]->release(a->children[0]);
  a->release = NULL;
}

static int ocs_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  one_column_stream *p = s->private_data;
  *out = (struct ArrowSchema){"+s", "", NULL, 0, 1, &p->col_schema_ptr, NULL, noop_schema_release,
                              NULL};
  return 0;
}

static int ocs_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  one_column_stream *p = s->private_data;
  memset(out, 0, sizeof *out);
  if (p->given) return 0;
  p->given = true;
  *out = (struct ArrowArray){p->col.length, 0,   0, 1, 1, p->no_buffers, &p->col_ptr, NULL,
                             batch_release, NULL};
  return 0;
}

static const char *ocs_last_error(struct ArrowArrayStream *s) {
  (void)s;
  return NULL;
}

static void ocs_release(struct ArrowArrayStream *s) {
  one_column_stream *p = s->private_data;
  if (p->col_schema.release) p->col_schema.release(&p->col_schema);
  if (!p->given && p->col.release) p->col.release(&p->col);
  free(p);
  s->release = NULL;
}

/* hn_array_export_dictionary's output read by DuckDB: the values, not the codes. */
static void test_dictionary_export(void **state) {
  ddb *d = *state;
  NEED_DUCKDB();
  static const char *const words[] = {"red", "green", "red", "blue", "green", "red"};
  hn_builder *b = NULL;
  hn_error err;
  HN_CHECK(hn_builder_create(NULL, hn_type_utf8(), &b, &err), &err);
  for (int i = 0; i < 6; i++)
    HN_CHECK(i == 3 ? hn_builder_append_null(b) : hn_builder_append_str(b, words[i], -1), NULL);
  hn_array *col = NULL;
  HN_CHECK(hn_builder_finish(b, &col, &err), &err);
  hn_builder_destroy(b);
  one_column_stream *p = calloc(1, sizeof *p);
  assert_non_null(p);
  HN_CHECK(hn_array_export_dictionary(col, &p->col_schema, &p->col, &err), &err);
  p->col_schema.name = "color"; /* the consumer's view of the column's name */
  p->col_schema_ptr = &p->col_schema;
  p->col_ptr = &p->col;
  struct ArrowArrayStream s = {ocs_get_schema, ocs_get_next, ocs_last_error, ocs_release, p};
  assert_int_equal(d->api.arrow_scan(d->con, "dict_scan", &s), DuckDBSuccess);
  exec(d, "CREATE OR REPLACE TABLE dict_t AS SELECT * FROM dict_scan");
  exec(d, "DROP VIEW dict_scan");
  s.release(&s);
  hn_table *t = NULL;
  HN_CHECK(query_table(d,
                       "SELECT string_agg(coalesce(color, '~'), ',') AS s, "
                       "any_value(typeof(color)) AS ty FROM dict_t",
                       &t, &err),
           &err);
  char buf[128];
  printf("  dictionary-encoded utf8 -> DuckDB %s\n", text_at(t, 1, 0, buf, sizeof buf));
  assert_string_equal(text_at(t, 0, 0, buf, sizeof buf), "red,green,red,~,green,red");
  hn_table_release(t);
  hn_array_release(col);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip_each_type), cmocka_unit_test(test_duckdb_types),
      cmocka_unit_test(test_duckdb_encodings),     cmocka_unit_test(test_map_over_query),
      cmocka_unit_test(test_dictionary_export),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
