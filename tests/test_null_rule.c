/*
 * The NULL rule of common.h ("NULL handles"), checked on every exported
 * function of every public header that takes a handle and does not return
 * hn_status: each is called with NULL and must give the documented answer.
 *
 * Keeping the list complete: test_every_function_listed reads the public
 * headers (HN_INCLUDE_DIR, set by CMake), collects every HN_API function
 * that does not return hn_status, and fails naming any function that is in
 * neither k_checks (called with NULL here) nor k_outside (functions that
 * take no handle). A new public getter therefore fails this test until it
 * gets a line in k_checks. Names listed here but gone from the headers fail
 * it too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>

#include "test_support.h"

#ifndef HN_INCLUDE_DIR
#error "HN_INCLUDE_DIR must name include/hypernodes"
#endif

/* ---- the calls ------------------------------------------------------------- */

static void assert_null_datum(hn_datum d) {
  assert_true(d.is_null);
  assert_int_equal(d.type, 0);
}

#define CHECK(name, ...)           \
  static void check_##name(void) { \
    __VA_ARGS__;                   \
  }

/* common.h */
CHECK(hn_error_reset, hn_error_reset(NULL))
/* arena.h */
CHECK(hn_arena_destroy, hn_arena_destroy(NULL))
CHECK(hn_arena_alloc, assert_null(hn_arena_alloc(NULL, 16, 0)))
CHECK(hn_arena_reset, hn_arena_reset(NULL))
CHECK(hn_arena_used, assert_int_equal(hn_arena_used(NULL), 0))
/* type.h */
CHECK(hn_type_retain, assert_null(hn_type_retain(NULL)))
CHECK(hn_type_release, hn_type_release(NULL))
CHECK(hn_type_id_of, assert_int_equal(hn_type_id_of(NULL), 0))
CHECK(hn_type_list_item, assert_null(hn_type_list_item(NULL)))
CHECK(hn_type_time_unit, assert_int_equal(hn_type_time_unit(NULL), 0))
CHECK(hn_type_timezone, assert_null(hn_type_timezone(NULL)))
CHECK(hn_type_decimal_precision, assert_int_equal(hn_type_decimal_precision(NULL), 0))
CHECK(hn_type_decimal_scale, assert_int_equal(hn_type_decimal_scale(NULL), 0))
CHECK(hn_type_fixed_size, assert_int_equal(hn_type_fixed_size(NULL), 0))
CHECK(hn_type_map_key, assert_null(hn_type_map_key(NULL)))
CHECK(hn_type_map_value, assert_null(hn_type_map_value(NULL)))
CHECK(hn_type_num_fields, assert_int_equal(hn_type_num_fields(NULL), 0))
CHECK(hn_type_field_type, assert_null(hn_type_field_type(NULL, 0)))
CHECK(hn_type_field_name, assert_null(hn_type_field_name(NULL, 0)))
CHECK(hn_type_field_index, assert_int_equal(hn_type_field_index(NULL, "a"), -1))
CHECK(hn_type_object_vtable, assert_null(hn_type_object_vtable(NULL)))
CHECK(hn_type_equals, {
  assert_true(hn_type_equals(NULL, NULL));
  assert_false(hn_type_equals(NULL, hn_type_int64()));
})
CHECK(hn_type_has_object, assert_false(hn_type_has_object(NULL)))
CHECK(hn_type_to_string, {
  char buf[16];
  assert_int_equal(hn_type_to_string(NULL, buf, sizeof buf), 6);
  assert_string_equal(buf, "(null)"); /* the documented spelling */
})
/* buffer.h */
CHECK(hn_buffer_retain, assert_null(hn_buffer_retain(NULL)))
CHECK(hn_buffer_release, hn_buffer_release(NULL))
CHECK(hn_buffer_data, assert_null(hn_buffer_data(NULL)))
CHECK(hn_buffer_mutable_data, assert_null(hn_buffer_mutable_data(NULL)))
CHECK(hn_buffer_size, assert_int_equal(hn_buffer_size(NULL), 0))
/* array.h */
CHECK(hn_array_retain, assert_null(hn_array_retain(NULL)))
CHECK(hn_array_release, hn_array_release(NULL))
CHECK(hn_array_type, assert_null(hn_array_type(NULL)))
CHECK(hn_array_length, assert_int_equal(hn_array_length(NULL), 0))
CHECK(hn_array_offset, assert_int_equal(hn_array_offset(NULL), 0))
CHECK(hn_array_null_count, assert_int_equal(hn_array_null_count(NULL), 0))
CHECK(hn_array_validity, assert_null(hn_array_validity(NULL)))
CHECK(hn_array_buffer, assert_null(hn_array_buffer(NULL, 1)))
CHECK(hn_array_num_children, assert_int_equal(hn_array_num_children(NULL), 0))
CHECK(hn_array_child, assert_null(hn_array_child(NULL, 0)))
CHECK(hn_array_int64_values, assert_null(hn_array_int64_values(NULL)))
CHECK(hn_array_float64_values, assert_null(hn_array_float64_values(NULL)))
CHECK(hn_array_float32_values, assert_null(hn_array_float32_values(NULL)))
CHECK(hn_array_offsets, assert_null(hn_array_offsets(NULL)))
CHECK(hn_array_large_offsets, assert_null(hn_array_large_offsets(NULL)))
CHECK(hn_array_values, assert_null(hn_array_values(NULL)))
CHECK(hn_array_is_null, assert_true(hn_array_is_null(NULL, 0)))
CHECK(hn_array_get, assert_null_datum(hn_array_get(NULL, 0)))
CHECK(hn_list_view_get, {
  hn_list_view v = {NULL, 0, 0};
  assert_null_datum(hn_list_view_get(v, 0));
})
CHECK(hn_struct_view_field, {
  hn_struct_view v = {NULL, 0};
  assert_null_datum(hn_struct_view_field(v, 0));
})
CHECK(hn_array_equals, { assert_true(hn_array_equals(NULL, NULL)); })
/* builder.h */
CHECK(hn_builder_destroy, hn_builder_destroy(NULL))
CHECK(hn_builder_length, assert_int_equal(hn_builder_length(NULL), 0))
CHECK(hn_builder_type, assert_null(hn_builder_type(NULL)))
CHECK(hn_builder_child, assert_null(hn_builder_child(NULL, 0)))
CHECK(hn_builder_last_error, assert_string_equal(hn_builder_last_error(NULL), ""))
/* table.h */
CHECK(hn_table_retain, assert_null(hn_table_retain(NULL)))
CHECK(hn_table_release, hn_table_release(NULL))
CHECK(hn_table_num_rows, assert_int_equal(hn_table_num_rows(NULL), 0))
CHECK(hn_table_num_columns, assert_int_equal(hn_table_num_columns(NULL), 0))
CHECK(hn_table_column, assert_null(hn_table_column(NULL, 0)))
CHECK(hn_table_column_name, assert_null(hn_table_column_name(NULL, 0)))
CHECK(hn_table_column_index, assert_int_equal(hn_table_column_index(NULL, "a"), -1))
CHECK(hn_table_column_by_name, assert_null(hn_table_column_by_name(NULL, "a")))
CHECK(hn_table_schema, assert_null(hn_table_schema(NULL)))
CHECK(hn_table_allocator, assert_null(hn_table_allocator(NULL)))
CHECK(hn_table_equals, assert_true(hn_table_equals(NULL, NULL)))
/* arrow.h */
CHECK(hn_stream_reader_schema, assert_null(hn_stream_reader_schema(NULL)))
CHECK(hn_stream_reader_destroy, hn_stream_reader_destroy(NULL))
/* pipeline.h */
CHECK(hn_pipeline_retain, assert_null(hn_pipeline_retain(NULL)))
CHECK(hn_pipeline_release, hn_pipeline_release(NULL))
CHECK(hn_pipeline_name, assert_null(hn_pipeline_name(NULL)))
CHECK(hn_pipeline_num_nodes, assert_int_equal(hn_pipeline_num_nodes(NULL), 0))
CHECK(hn_pipeline_num_root_inputs, assert_int_equal(hn_pipeline_num_root_inputs(NULL), 0))
CHECK(hn_pipeline_root_input, assert_null(hn_pipeline_root_input(NULL, 0)))
CHECK(hn_pipeline_num_outputs, assert_int_equal(hn_pipeline_num_outputs(NULL), 0))
CHECK(hn_pipeline_output, assert_null(hn_pipeline_output(NULL, 0)))
CHECK(hn_pipeline_output_type, assert_null(hn_pipeline_output_type(NULL, "x")))
CHECK(hn_pipeline_execution_order, assert_null(hn_pipeline_execution_order(NULL, 0)))
CHECK(hn_ctx_arena, assert_null(hn_ctx_arena(NULL)))
CHECK(hn_ctx_worker, assert_int_equal(hn_ctx_worker(NULL), 0))
CHECK(hn_ctx_deadline, assert_true(isinf(hn_ctx_deadline(NULL))))
CHECK(hn_ctx_cancelled, assert_false(hn_ctx_cancelled(NULL)))
CHECK(hn_ctx_attempt, assert_int_equal(hn_ctx_attempt(NULL), 0))
CHECK(hn_cancel_destroy, hn_cancel_destroy(NULL))
CHECK(hn_cancel_request, hn_cancel_request(NULL))
CHECK(hn_cancel_requested, assert_false(hn_cancel_requested(NULL)))
CHECK(hn_cancel_reset, hn_cancel_reset(NULL))
/* engine.h: a NULL engine is the sequential engine (the rule's exception). */
CHECK(hn_inputs_destroy, hn_inputs_destroy(NULL))
CHECK(hn_engine_destroy, hn_engine_destroy(NULL))
CHECK(hn_engine_kind_of, assert_int_equal(hn_engine_kind_of(NULL), HN_ENGINE_SEQUENTIAL))
CHECK(hn_engine_workers, assert_int_equal(hn_engine_workers(NULL), 1))
CHECK(hn_engine_rank, assert_int_equal(hn_engine_rank(NULL), 0))
CHECK(hn_engine_ranks, assert_int_equal(hn_engine_ranks(NULL), 1))
CHECK(hn_result_destroy, hn_result_destroy(NULL))
CHECK(hn_result_table, assert_null(hn_result_table(NULL)))
CHECK(hn_result_num_chunks, assert_int_equal(hn_result_num_chunks(NULL), 0))
CHECK(hn_result_chunk, assert_null(hn_result_chunk(NULL, 0)))
CHECK(hn_result_errors, assert_null(hn_result_errors(NULL)))
CHECK(hn_result_get_stats, {
  hn_result_stats s;
  memset(&s, 0xff, sizeof s);
  hn_result_get_stats(NULL, &s, sizeof s);
  assert_int_equal(s.n_items, 0);
  assert_int_equal(s.n_failed, 0);
  assert_int_equal(s.resource_inits, 0);
  assert_int_equal(s.resource_destroys, 0);
  assert_int_equal(s.workers, 0);
})
CHECK(hn_rows_destroy, hn_rows_destroy(NULL))
CHECK(hn_rows_num_rows, assert_int_equal(hn_rows_num_rows(NULL), 0))
CHECK(hn_dot_string_free, hn_dot_string_free(NULL))
CHECK(hn_cache_close, hn_cache_close(NULL))
CHECK(hn_cache_dir, assert_null(hn_cache_dir(NULL)))
CHECK(hn_map_stream_schema, assert_null(hn_map_stream_schema(NULL)))
CHECK(hn_map_stream_errors, assert_null(hn_map_stream_errors(NULL)))
CHECK(hn_map_stream_get_stats, {
  hn_result_stats s;
  memset(&s, 0xff, sizeof s);
  hn_map_stream_get_stats(NULL, &s, sizeof s);
  assert_int_equal(s.n_items, 0);
  assert_int_equal(s.workers, 0);
})
CHECK(hn_map_stream_destroy, hn_map_stream_destroy(NULL))
CHECK(hn_rows_num_columns, assert_int_equal(hn_rows_num_columns(NULL), 0))
CHECK(hn_rows_column_name, assert_null(hn_rows_column_name(NULL, 0)))
CHECK(hn_rows_get, assert_null_datum(hn_rows_get(NULL, 0, 0)))
CHECK(hn_rows_strategy, assert_int_equal(hn_rows_strategy(NULL), HN_MATERIALIZE_AUTO))
/* observe.h (hn_dot_string_free above) */
CHECK(hn_write_stdio, assert_int_equal(hn_write_stdio(NULL, "x", 1), 0))
/* The observers' callbacks for NULL: nothing set. */
static void assert_no_callbacks(void (*get)(hn_callbacks *, size_t)) {
  hn_callbacks cb, none = {.size = sizeof none};
  memset(&cb, 0x5a, sizeof cb);
  get(&cb, sizeof cb);
  assert_memory_equal(&cb, &none, sizeof cb);
  get(NULL, sizeof cb); /* a NULL out: no-op */
}
static void chain_cbs(hn_callbacks *cb, size_t n) {
  hn_callback_chain_get_callbacks(NULL, cb, n);
}
static void progress_cbs(hn_callbacks *cb, size_t n) {
  hn_progress_get_callbacks(NULL, cb, n);
}
static void profile_cbs(hn_callbacks *cb, size_t n) {
  hn_profile_get_callbacks(NULL, cb, n);
}
static void trace_cbs(hn_callbacks *cb, size_t n) {
  hn_trace_get_callbacks(NULL, cb, n);
}
CHECK(hn_callback_chain_destroy, hn_callback_chain_destroy(NULL))
CHECK(hn_callback_chain_get_callbacks, assert_no_callbacks(chain_cbs))
CHECK(hn_progress_destroy, hn_progress_destroy(NULL))
CHECK(hn_progress_get_callbacks, assert_no_callbacks(progress_cbs))
CHECK(hn_progress_active, assert_false(hn_progress_active(NULL)))
CHECK(hn_profile_destroy, hn_profile_destroy(NULL))
CHECK(hn_profile_get_callbacks, assert_no_callbacks(profile_cbs))
CHECK(hn_profile_reset, hn_profile_reset(NULL))
CHECK(hn_profile_num_nodes, assert_int_equal(hn_profile_num_nodes(NULL), 0))
CHECK(hn_trace_destroy, hn_trace_destroy(NULL))
CHECK(hn_trace_get_callbacks, assert_no_callbacks(trace_cbs))
CHECK(hn_trace_reset, hn_trace_reset(NULL))
CHECK(hn_trace_num_events, assert_int_equal(hn_trace_num_events(NULL), 0))
CHECK(hn_trace_num_dropped, assert_int_equal(hn_trace_num_dropped(NULL), 0))

typedef struct null_check {
  const char *name;
  void (*run)(void);
} null_check;

#define ENTRY(name) \
  { #name, check_##name }

/* Every public function that takes a handle and does not return hn_status. */
static const null_check k_checks[] = {
    ENTRY(hn_error_reset),
    ENTRY(hn_arena_destroy),
    ENTRY(hn_arena_alloc),
    ENTRY(hn_arena_reset),
    ENTRY(hn_arena_used),
    ENTRY(hn_type_retain),
    ENTRY(hn_type_release),
    ENTRY(hn_type_id_of),
    ENTRY(hn_type_list_item),
    ENTRY(hn_type_time_unit),
    ENTRY(hn_type_timezone),
    ENTRY(hn_type_decimal_precision),
    ENTRY(hn_type_decimal_scale),
    ENTRY(hn_type_fixed_size),
    ENTRY(hn_type_map_key),
    ENTRY(hn_type_map_value),
    ENTRY(hn_type_num_fields),
    ENTRY(hn_type_field_type),
    ENTRY(hn_type_field_name),
    ENTRY(hn_type_field_index),
    ENTRY(hn_type_object_vtable),
    ENTRY(hn_type_equals),
    ENTRY(hn_type_has_object),
    ENTRY(hn_type_to_string),
    ENTRY(hn_buffer_retain),
    ENTRY(hn_buffer_release),
    ENTRY(hn_buffer_data),
    ENTRY(hn_buffer_mutable_data),
    ENTRY(hn_buffer_size),
    ENTRY(hn_array_retain),
    ENTRY(hn_array_release),
    ENTRY(hn_array_type),
    ENTRY(hn_array_length),
    ENTRY(hn_array_offset),
    ENTRY(hn_array_null_count),
    ENTRY(hn_array_validity),
    ENTRY(hn_array_buffer),
    ENTRY(hn_array_num_children),
    ENTRY(hn_array_child),
    ENTRY(hn_array_int64_values),
    ENTRY(hn_array_float64_values),
    ENTRY(hn_array_float32_values),
    ENTRY(hn_array_offsets),
    ENTRY(hn_array_large_offsets),
    ENTRY(hn_array_values),
    ENTRY(hn_array_is_null),
    ENTRY(hn_array_get),
    ENTRY(hn_list_view_get),
    ENTRY(hn_struct_view_field),
    ENTRY(hn_array_equals),
    ENTRY(hn_builder_destroy),
    ENTRY(hn_builder_length),
    ENTRY(hn_builder_type),
    ENTRY(hn_builder_child),
    ENTRY(hn_builder_last_error),
    ENTRY(hn_table_retain),
    ENTRY(hn_table_release),
    ENTRY(hn_table_num_rows),
    ENTRY(hn_table_num_columns),
    ENTRY(hn_table_column),
    ENTRY(hn_table_column_name),
    ENTRY(hn_table_column_index),
    ENTRY(hn_table_column_by_name),
    ENTRY(hn_table_schema),
    ENTRY(hn_table_allocator),
    ENTRY(hn_table_equals),
    ENTRY(hn_stream_reader_schema),
    ENTRY(hn_stream_reader_destroy),
    ENTRY(hn_pipeline_retain),
    ENTRY(hn_pipeline_release),
    ENTRY(hn_pipeline_name),
    ENTRY(hn_pipeline_num_nodes),
    ENTRY(hn_pipeline_num_root_inputs),
    ENTRY(hn_pipeline_root_input),
    ENTRY(hn_pipeline_num_outputs),
    ENTRY(hn_pipeline_output),
    ENTRY(hn_pipeline_output_type),
    ENTRY(hn_pipeline_execution_order),
    ENTRY(hn_ctx_arena),
    ENTRY(hn_ctx_worker),
    ENTRY(hn_ctx_deadline),
    ENTRY(hn_ctx_cancelled),
    ENTRY(hn_ctx_attempt),
    ENTRY(hn_cancel_destroy),
    ENTRY(hn_cancel_request),
    ENTRY(hn_cancel_requested),
    ENTRY(hn_cancel_reset),
    ENTRY(hn_inputs_destroy),
    ENTRY(hn_engine_destroy),
    ENTRY(hn_engine_kind_of),
    ENTRY(hn_engine_workers),
    ENTRY(hn_engine_rank),
    ENTRY(hn_engine_ranks),
    ENTRY(hn_result_destroy),
    ENTRY(hn_result_table),
    ENTRY(hn_result_num_chunks),
    ENTRY(hn_result_chunk),
    ENTRY(hn_result_errors),
    ENTRY(hn_result_get_stats),
    ENTRY(hn_rows_destroy),
    ENTRY(hn_rows_num_rows),
    ENTRY(hn_dot_string_free),
    ENTRY(hn_cache_close),
    ENTRY(hn_cache_dir),
    ENTRY(hn_map_stream_schema),
    ENTRY(hn_map_stream_errors),
    ENTRY(hn_map_stream_get_stats),
    ENTRY(hn_map_stream_destroy),
    ENTRY(hn_rows_num_columns),
    ENTRY(hn_rows_column_name),
    ENTRY(hn_rows_get),
    ENTRY(hn_rows_strategy),
    ENTRY(hn_write_stdio),
    ENTRY(hn_callback_chain_destroy),
    ENTRY(hn_callback_chain_get_callbacks),
    ENTRY(hn_progress_destroy),
    ENTRY(hn_progress_get_callbacks),
    ENTRY(hn_progress_active),
    ENTRY(hn_profile_destroy),
    ENTRY(hn_profile_get_callbacks),
    ENTRY(hn_profile_reset),
    ENTRY(hn_profile_num_nodes),
    ENTRY(hn_trace_destroy),
    ENTRY(hn_trace_get_callbacks),
    ENTRY(hn_trace_reset),
    ENTRY(hn_trace_num_events),
    ENTRY(hn_trace_num_dropped),
};

/*
 * Public functions outside the rule: they take no handle (constants,
 * singletons, names of enum values, defaults) or only raw memory of a
 * stated size (hn_hash_bytes, hn_bits_count).
 */
static const char *const k_outside[] = {
    "hn_version",
    "hn_version_string",
    "hn_status_str",
    "hn_allocator_default",
    "hn_hash_bytes",
    "hn_hash_combine",
    "hn_bits_count",
    "hn_type_bool",
    "hn_type_int64",
    "hn_type_float32",
    "hn_type_float64",
    "hn_type_utf8",
    "hn_type_binary",
    "hn_type_id_name",
    "hn_engine_kind_name",
    "hn_import_options_init",
    /* the singletons of issue 16's types */
    "hn_type_null",
    "hn_type_int8",
    "hn_type_int16",
    "hn_type_int32",
    "hn_type_uint8",
    "hn_type_uint16",
    "hn_type_uint32",
    "hn_type_uint64",
    "hn_type_float16",
    "hn_type_date32",
    "hn_type_date64",
    "hn_type_interval_months",
    "hn_type_interval_day_time",
    "hn_type_interval_month_day_nano",
    "hn_type_large_utf8",
    "hn_type_large_binary",
    "hn_abandoned_calls",
};

enum { N_CHECKS = sizeof k_checks / sizeof k_checks[0] };
enum { N_OUTSIDE = sizeof k_outside / sizeof k_outside[0] };

/* One cmocka test per function, named after it (a crash names the function). */
static void run_check(void **state) {
  const null_check *c = *state;
  c->run();
}

/* ---- the headers ----------------------------------------------------------- */

#define MAX_FUNCS 512

typedef struct func_list {
  char names[MAX_FUNCS][64];
  int n;
} func_list;

/* The header's text without comments and preprocessor lines. */
static char *header_code(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) print_error("cannot open %s\n", path);
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *src = malloc((size_t)n + 1), *out = malloc((size_t)n + 1);
  assert_non_null(src);
  assert_non_null(out);
  size_t got = fread(src, 1, (size_t)n, f);
  src[got] = '\0';
  fclose(f);
  size_t o = 0;
  bool line_start = true;
  for (size_t i = 0; i < got;) {
    if (src[i] == '/' && src[i + 1] == '*') {
      const char *end = strstr(src + i + 2, "*/");
      i = end ? (size_t)(end - src) + 2 : got;
    } else if ((src[i] == '/' && src[i + 1] == '/') || (line_start && src[i] == '#')) {
      while (i < got && src[i] != '\n') i++;
    } else {
      if (src[i] == '\n')
        line_start = true;
      else if (src[i] != ' ' && src[i] != '\t')
        line_start = false;
      out[o++] = src[i++];
    }
  }
  out[o] = '\0';
  free(src);
  return out;
}

static bool is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Add every `HN_API <return type> hn_name(` of `code` that does not return hn_status. */
static void collect(const char *code, func_list *out) {
  for (const char *p = strstr(code, "HN_API"); p; p = strstr(p + 6, "HN_API")) {
    if ((p > code && is_ident(p[-1])) || is_ident(p[6])) continue;
    const char *paren = strchr(p, '(');
    assert_non_null(paren);
    const char *end = paren;
    while (end > p && !is_ident(end[-1])) end--;
    const char *start = end;
    while (start > p && is_ident(start[-1])) start--;
    size_t len = (size_t)(end - start);
    char ret[256];
    size_t rlen = (size_t)(start - (p + 6));
    assert_true(rlen < sizeof ret && len < sizeof out->names[0] && out->n < MAX_FUNCS);
    memcpy(ret, p + 6, rlen);
    ret[rlen] = '\0';
    if (strstr(ret, "hn_status")) continue; /* fallible calls document their own arguments */
    memcpy(out->names[out->n], start, len);
    out->names[out->n][len] = '\0';
    out->n++;
  }
}

static bool listed(const char *name) {
  for (size_t i = 0; i < N_CHECKS; i++)
    if (strcmp(k_checks[i].name, name) == 0) return true;
  for (size_t i = 0; i < N_OUTSIDE; i++)
    if (strcmp(k_outside[i], name) == 0) return true;
  return false;
}

static bool in_headers(const func_list *fl, const char *name) {
  for (int i = 0; i < fl->n; i++)
    if (strcmp(fl->names[i], name) == 0) return true;
  return false;
}

static void test_every_function_listed(void **state) {
  (void)state;
  /* Every public header, so that a new one cannot slip past the rule. */
  static func_list fl;
  fl.n = 0;
  DIR *d = opendir(HN_INCLUDE_DIR);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d)) != NULL;) {
    size_t len = strlen(e->d_name);
    if (len < 3 || strcmp(e->d_name + len - 2, ".h") != 0) continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", HN_INCLUDE_DIR, e->d_name);
    char *code = header_code(path);
    collect(code, &fl);
    free(code);
  }
  closedir(d);
  assert_true(fl.n > 90); /* the scan found the API */
  int missing = 0;
  for (int i = 0; i < fl.n; i++)
    if (!listed(fl.names[i])) {
      print_error("%s is public and takes no hn_status: add it to k_checks (or k_outside)\n",
                  fl.names[i]);
      missing++;
    }
  for (size_t i = 0; i < N_CHECKS; i++)
    if (!in_headers(&fl, k_checks[i].name)) {
      print_error("k_checks lists %s, which no public header declares\n", k_checks[i].name);
      missing++;
    }
  for (size_t i = 0; i < N_OUTSIDE; i++)
    if (!in_headers(&fl, k_outside[i])) {
      print_error("k_outside lists %s, which no public header declares\n", k_outside[i]);
      missing++;
    }
  assert_int_equal(missing, 0);
}

int main(void) {
  struct CMUnitTest tests[N_CHECKS + 1];
  for (size_t i = 0; i < N_CHECKS; i++) {
    struct CMUnitTest t = {k_checks[i].name, run_check, NULL, NULL, (void *)&k_checks[i]};
    tests[i] = t;
  }
  struct CMUnitTest scan = cmocka_unit_test(test_every_function_listed);
  tests[N_CHECKS] = scan;
  return _cmocka_run_group_tests("null_rule", tests, N_CHECKS + 1, NULL, NULL);
}
