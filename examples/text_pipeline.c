/*
 * The text pipeline: clean (strip + lowercase) -> tokenize (split on
 * whitespace, a list<utf8>) -> count (int64), mapped over strings. Prints
 * every row, and exits non-zero if a count differs from a plain C count.
 *
 * Usage: example_text_pipeline [engine] [text...]   (engine: sequential
 * (default), threads, columnar, processes; texts: a built-in sample)
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

/* ---- node bodies ---------------------------------------------------------- */

/* clean: text -> cleaned. Scratch bytes come from the worker's arena. */
static hn_status clean(void *user_data, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)user_data;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  const char *s = in[0].v.str.data;
  int64_t lo = 0, hi = in[0].v.str.size;
  while (lo < hi && isspace((unsigned char)s[lo])) lo++;
  while (hi > lo && isspace((unsigned char)s[hi - 1])) hi--;
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)(hi - lo), 1);
  if (!buf && hi > lo) return hn_ctx_fail(ctx, "out of scratch memory");
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

/* ---- printing and checking ----------------------------------------------- */

/* Words of s, counted in plain C (the check). */
static int64_t words_in(const char *s) {
  int64_t n = 0;
  for (size_t i = 0; s[i]; i++)
    n += !isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1]));
  return n;
}

/* Print every row; returns the number of rows whose count is wrong. */
static int64_t print_rows(const hn_result *result, const char *const *texts) {
  hn_table *t = hn_result_table(result);
  const hn_array *cleaned = hn_table_column_by_name(t, "cleaned");
  const hn_array *tokens = hn_table_column_by_name(t, "tokens");
  const hn_array *counts = hn_table_column_by_name(t, "n_tokens");
  int64_t wrong = 0;
  for (int64_t i = 0; i < hn_table_num_rows(t); i++) {
    hn_datum c = hn_array_get(cleaned, i), tk = hn_array_get(tokens, i);
    int64_t k = hn_array_get(counts, i).v.i64;
    printf("  \"%.*s\" -> [", (int)c.v.str.size, c.v.str.data);
    for (int64_t j = 0; j < tk.v.list.length; j++) {
      hn_datum w = hn_list_view_get(tk.v.list, j);
      printf("%s\"%.*s\"", j ? ", " : "", (int)w.v.str.size, w.v.str.data);
    }
    printf("] -> %lld\n", (long long)k);
    wrong += k != words_in(texts[i]);
  }
  return wrong;
}

/* ---- the pipeline ------------------------------------------------------------ */

int main(int argc, char **argv) {
  static const char *const sample[] = {"  Hello World  ", "The quick\tbrown FOX", "", " a b c "};
  const char *const *texts = argc > 2 ? (const char *const *)argv + 2 : sample;
  int64_t n = argc > 2 ? argc - 2 : (int64_t)(sizeof sample / sizeof sample[0]);
  static const hn_node_spec nodes[] = {
      HN_NODE("clean", "text", "cleaned: utf8", clean),
      HN_NODE("tokenize", "cleaned", "tokens: list<utf8>", tokenize),
      HN_NODE("count", "tokens", "n_tokens: int64", count),
  };
  hn_error err = {0};
  hn_pipeline *p = NULL;
  hn_inputs *in = NULL;
  hn_engine *engine = NULL;
  hn_result *result = NULL;
  hn_engine_options eo = {.size = sizeof eo};
  hn_run_options map = {.size = sizeof map, .map_over_spec = "text"};
  if (hn_pipeline_create(NULL, "text", &p, &err) ||
      hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err) || hn_inputs_create(NULL, &in, &err) ||
      hn_inputs_set_strings(in, "text", n, texts, &err) ||
      hn_engine_kind_from_name(argc > 1 ? argv[1] : "sequential", &eo.kind, &err) ||
      hn_engine_create(NULL, &eo, &engine, &err) ||
      hn_pipeline_map(p, engine, in, &map, &result, &err))
    fprintf(stderr, "text pipeline: %s\n", err.message);
  int64_t wrong = result ? print_rows(result, texts) : 0;
  hn_result_destroy(result);
  hn_engine_destroy(engine);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  return err.code == HN_OK && wrong == 0 ? 0 : 1;
}
