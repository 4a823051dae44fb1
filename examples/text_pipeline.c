/*
 * The text pipeline: clean (strip + lowercase) -> tokenize (split on
 * whitespace, a list<utf8>) -> count (int64), mapped over n strings
 * "  Hello World {i}  ". Prints a few rows and the totals, and exits
 * non-zero if any result is wrong.
 *
 * Usage: example_text_pipeline [engine] [n]   (engine: sequential (default),
 * threads, ...; n: number of strings, default 1000)
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

#define CHECK(call)                                                            \
  do {                                                                         \
    hn_status st_ = (call);                                                    \
    if (st_ != HN_OK) {                                                        \
      fprintf(stderr, "%s: %s: %s\n", #call, hn_status_str(st_), err.message); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

/* clean: text -> cleaned. Scratch bytes come from the worker's arena. */
static hn_status clean(void *user_data, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)user_data;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  const char *s = in[0].v.str.data;
  int64_t lo = 0, hi = in[0].v.str.size;
  while (lo < hi && isspace((unsigned char)s[lo])) lo++;
  while (hi > lo && isspace((unsigned char)s[hi - 1])) hi--;
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)(hi - lo), 1);
  if (!buf) return hn_ctx_fail(ctx, "out of scratch memory");
  for (int64_t i = lo; i < hi; i++) buf[i - lo] = (char)tolower((unsigned char)s[i]);
  return hn_builder_append_str(out[0], buf, hi - lo);
}

/* tokenize: cleaned -> tokens, one list element per whitespace-separated word. */
static hn_status tokenize(void *user_data, const hn_datum *in, hn_builder *const *out,
                          hn_ctx *ctx) {
  (void)user_data;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  hn_builder *words = hn_builder_child(out[0], 0);
  const char *s = in[0].v.str.data;
  int64_t n = in[0].v.str.size, i = 0;
  while (i < n) {
    while (i < n && isspace((unsigned char)s[i])) i++;
    int64_t start = i;
    while (i < n && !isspace((unsigned char)s[i])) i++;
    if (i > start) {
      hn_status st = hn_builder_append_str(words, s + start, i - start);
      if (st != HN_OK) return st;
    }
  }
  return hn_builder_finish_element(out[0]);
}

/* count: tokens -> n_tokens. */
static hn_status count(void *user_data, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)user_data;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.list.length);
}

static hn_status add_node(hn_pipeline *p, const char *name, const char *input, const char *output,
                          const hn_type *type, hn_row_fn fn, hn_error *err) {
  hn_node_def def = {.size = sizeof def};
  def.name = name;
  def.n_inputs = 1;
  def.inputs = &input;
  def.n_outputs = 1;
  def.outputs = &output;
  def.output_types = &type;
  def.row = fn;
  return hn_pipeline_add_node(p, &def, err);
}

static bool str_eq(hn_datum d, const char *s) {
  return !d.is_null && d.v.str.size == (int64_t)strlen(s) &&
         memcmp(d.v.str.data, s, strlen(s)) == 0;
}

int main(int argc, char **argv) {
  const char *engine_name = argc > 1 ? argv[1] : "sequential";
  int64_t n = argc > 2 ? atoll(argv[2]) : 1000;
  if (n < 0) n = 0;
  hn_error err;
  hn_error_reset(&err);

  /* The pipeline. */
  const hn_type *tokens_type = NULL;
  CHECK(hn_type_list_create(NULL, hn_type_utf8(), &tokens_type, &err));
  hn_pipeline *p = NULL;
  CHECK(hn_pipeline_create(NULL, "text", &p, &err));
  CHECK(add_node(p, "clean", "text", "cleaned", hn_type_utf8(), clean, &err));
  CHECK(add_node(p, "tokenize", "cleaned", "tokens", tokens_type, tokenize, &err));
  CHECK(add_node(p, "count", "tokens", "n_tokens", hn_type_int64(), count, &err));
  hn_type_release(tokens_type); /* the pipeline holds it */

  /* The input column. */
  hn_builder *b = NULL;
  CHECK(hn_builder_create(NULL, hn_type_utf8(), &b, &err));
  for (int64_t i = 0; i < n; i++) {
    char s[64];
    int len = snprintf(s, sizeof s, "  Hello World %lld  ", (long long)i);
    CHECK(hn_builder_append_str(b, s, len));
  }
  hn_array *texts = NULL;
  CHECK(hn_builder_finish(b, &texts, &err));
  hn_builder_destroy(b);
  hn_inputs *inputs = NULL;
  CHECK(hn_inputs_create(NULL, &inputs, &err));
  CHECK(hn_inputs_set_column(inputs, "text", texts, &err));
  hn_array_release(texts);

  /* The engine and the map. */
  hn_engine_options eopts = {.size = sizeof eopts};
  CHECK(hn_engine_kind_from_name(engine_name, &eopts.kind, &err));
  hn_engine *engine = NULL;
  CHECK(hn_engine_create(NULL, &eopts, &engine, &err));
  const char *over[1] = {"text"};
  hn_run_options ropts = {.size = sizeof ropts};
  ropts.n_map_over = 1;
  ropts.map_over = over;
  hn_result *result = NULL;
  CHECK(hn_pipeline_map(p, engine, inputs, &ropts, &result, &err));

  /* Print and check. */
  hn_table *t = hn_result_table(result);
  const hn_array *cleaned = hn_table_column_by_name(t, "cleaned");
  const hn_array *tokens = hn_table_column_by_name(t, "tokens");
  const hn_array *counts = hn_table_column_by_name(t, "n_tokens");
  if (!cleaned || !tokens || !counts || hn_table_num_rows(t) != n) {
    fprintf(stderr, "unexpected result shape: %lld rows\n", (long long)hn_table_num_rows(t));
    return 1;
  }
  printf("engine %s (%d workers), %lld strings\n", hn_engine_kind_name(eopts.kind),
         hn_engine_workers(engine), (long long)n);
  int64_t total = 0, wrong = 0;
  for (int64_t i = 0; i < n; i++) {
    char want[64], num[32];
    snprintf(want, sizeof want, "hello world %lld", (long long)i);
    snprintf(num, sizeof num, "%lld", (long long)i);
    hn_datum c = hn_array_get(cleaned, i), tk = hn_array_get(tokens, i),
             k = hn_array_get(counts, i);
    bool ok = str_eq(c, want) && !tk.is_null && tk.v.list.length == 3 && !k.is_null &&
              k.v.i64 == 3 && str_eq(hn_list_view_get(tk.v.list, 0), "hello") &&
              str_eq(hn_list_view_get(tk.v.list, 1), "world") &&
              str_eq(hn_list_view_get(tk.v.list, 2), num);
    if (!ok) wrong++;
    if (!k.is_null) total += k.v.i64;
    if (i < 3 || i == n - 1) {
      printf("  [%lld] \"%.*s\" -> [", (long long)i, (int)c.v.str.size, c.v.str.data);
      for (int64_t j = 0; j < tk.v.list.length; j++) {
        hn_datum w = hn_list_view_get(tk.v.list, j);
        printf("%s\"%.*s\"", j ? ", " : "", (int)w.v.str.size, w.v.str.data);
      }
      printf("] -> %lld\n", (long long)k.v.i64);
    } else if (i == 3) {
      printf("  ...\n");
    }
  }
  hn_result_stats stats = hn_result_get_stats(result);
  printf("total tokens %lld (expected %lld), wrong rows %lld, items %lld, failed %lld\n",
         (long long)total, (long long)(3 * n), (long long)wrong, (long long)stats.n_items,
         (long long)stats.n_failed);

  hn_result_destroy(result);
  hn_engine_destroy(engine);
  hn_inputs_destroy(inputs);
  hn_pipeline_release(p);
  return wrong == 0 && total == 3 * n ? 0 : 1;
}
