/*
 * A nested pipeline: documents are lists of sentences. An inner pipeline
 * (clean -> tokenize -> length) works on one sentence; the outer pipeline
 * uses it as a node mapped over each document's sentences, then computes
 * the document's average sentence length. Prints every document and exits
 * non-zero if any average is wrong.
 *
 * Usage: example_nested_pipeline [engine] [documents]   (engine: sequential
 * (default), threads, ...; documents: default 12)
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

static const char *const k_words[] = {"The", "QUICK", "brown", "Fox", "jumps", "over", "Lazy"};

/* Document d has d % 4 sentences (so some are empty); sentence s has 1 + (d + s) % 6 words. */
static int64_t n_sentences(int64_t d) {
  return d % 4;
}
static int64_t n_words(int64_t d, int64_t s) {
  return 1 + (d + s) % 6;
}

/* ---- inner nodes (one sentence) ------------------------------------------- */

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

static hn_status length(void *user_data, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)user_data;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.list.length);
}

/* ---- outer node (one document) -------------------------------------------- */

/* lengths (list<int64>) -> average (float64); null for a document without sentences. */
static hn_status average(void *user_data, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)user_data;
  (void)ctx;
  if (in[0].is_null || in[0].v.list.length == 0) return hn_builder_append_null(out[0]);
  int64_t sum = 0;
  for (int64_t i = 0; i < in[0].v.list.length; i++) sum += hn_list_view_get(in[0].v.list, i).v.i64;
  return hn_builder_append_float64(out[0], (double)sum / (double)in[0].v.list.length);
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

int main(int argc, char **argv) {
  const char *engine_name = argc > 1 ? argv[1] : "sequential";
  int64_t n_docs = argc > 2 ? atoll(argv[2]) : 12;
  if (n_docs < 0) n_docs = 0;
  hn_error err;
  hn_error_reset(&err);

  const hn_type *tokens_type = NULL, *sentences_type = NULL;
  CHECK(hn_type_list_create(NULL, hn_type_utf8(), &tokens_type, &err));
  CHECK(hn_type_list_create(NULL, hn_type_utf8(), &sentences_type, &err));

  /* Inner pipeline: one sentence. */
  hn_pipeline *sentence = NULL;
  CHECK(hn_pipeline_create(NULL, "sentence", &sentence, &err));
  CHECK(add_node(sentence, "clean", "text", "cleaned", hn_type_utf8(), clean, &err));
  CHECK(add_node(sentence, "tokenize", "cleaned", "tokens", tokens_type, tokenize, &err));
  CHECK(add_node(sentence, "length", "tokens", "n_tokens", hn_type_int64(), length, &err));

  /* Outer pipeline: the inner one mapped over each document's sentences. */
  hn_pipeline *document = NULL;
  CHECK(hn_pipeline_create(NULL, "document", &document, &err));
  const char *in_outer[1] = {"sentences"}, *in_inner[1] = {"text"};
  const char *out_inner[1] = {"n_tokens"}, *out_outer[1] = {"lengths"};
  hn_nested_def nested = {.size = sizeof nested};
  nested.name = "per_sentence";
  nested.inner = sentence;
  nested.n_input_mapping = 1;
  nested.input_outer = in_outer;
  nested.input_inner = in_inner;
  nested.n_output_mapping = 1;
  nested.output_inner = out_inner;
  nested.output_outer = out_outer;
  nested.n_map_over = 1;
  nested.map_over = in_outer;
  nested.map_mode = HN_MAP_ZIP;
  CHECK(hn_pipeline_add_pipeline(document, &nested, &err));
  CHECK(add_node(document, "average", "lengths", "avg_length", hn_type_float64(), average, &err));
  hn_pipeline_release(sentence); /* the outer pipeline holds it */

  /* Documents: a list<utf8> column, one list of sentences per document. */
  hn_builder *b = NULL;
  CHECK(hn_builder_create(NULL, sentences_type, &b, &err));
  hn_builder *sb = hn_builder_child(b, 0);
  for (int64_t d = 0; d < n_docs; d++) {
    for (int64_t s = 0; s < n_sentences(d); s++) {
      char text[256];
      int len = snprintf(text, sizeof text, "  ");
      for (int64_t w = 0; w < n_words(d, s); w++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s%s", w ? "  " : "",
                        k_words[(d + s + w) % 7]);
      len += snprintf(text + len, sizeof text - (size_t)len, " ");
      CHECK(hn_builder_append_str(sb, text, len));
    }
    CHECK(hn_builder_finish_element(b));
  }
  hn_array *docs = NULL;
  CHECK(hn_builder_finish(b, &docs, &err));
  hn_builder_destroy(b);
  hn_type_release(tokens_type);
  hn_type_release(sentences_type);

  hn_inputs *inputs = NULL;
  CHECK(hn_inputs_create(NULL, &inputs, &err));
  CHECK(hn_inputs_set_column(inputs, "sentences", docs, &err));
  hn_array_release(docs);

  hn_engine_options eopts = {.size = sizeof eopts};
  CHECK(hn_engine_kind_from_name(engine_name, &eopts.kind, &err));
  hn_engine *engine = NULL;
  CHECK(hn_engine_create(NULL, &eopts, &engine, &err));
  const char *over[1] = {"sentences"};
  const char *outputs[2] = {"lengths", "avg_length"};
  hn_run_options ropts = {.size = sizeof ropts};
  ropts.n_map_over = 1;
  ropts.map_over = over;
  ropts.n_outputs = 2;
  ropts.outputs = outputs;
  hn_result *result = NULL;
  CHECK(hn_pipeline_map(document, engine, inputs, &ropts, &result, &err));

  hn_table *t = hn_result_table(result);
  const hn_array *lengths = hn_table_column_by_name(t, "lengths");
  const hn_array *avgs = hn_table_column_by_name(t, "avg_length");
  if (!lengths || !avgs || hn_table_num_rows(t) != n_docs) {
    fprintf(stderr, "unexpected result shape\n");
    return 1;
  }
  printf("engine %s (%d workers), %lld documents\n", hn_engine_kind_name(eopts.kind),
         hn_engine_workers(engine), (long long)n_docs);
  int64_t wrong = 0;
  for (int64_t d = 0; d < n_docs; d++) {
    hn_datum l = hn_array_get(lengths, d), a = hn_array_get(avgs, d);
    int64_t ns = n_sentences(d), sum = 0;
    bool ok = !l.is_null && l.v.list.length == ns;
    printf("  doc %2lld: lengths [", (long long)d);
    for (int64_t s = 0; ok && s < ns; s++) {
      hn_datum v = hn_list_view_get(l.v.list, s);
      ok = !v.is_null && v.v.i64 == n_words(d, s);
      sum += n_words(d, s);
      printf("%s%lld", s ? " " : "", (long long)v.v.i64);
    }
    if (ns == 0) {
      ok = ok && a.is_null;
      printf("] average -\n");
    } else {
      double want = (double)sum / (double)ns;
      double diff = a.is_null ? 1.0 : a.v.f64 - want;
      ok = ok && diff < 1e-12 && diff > -1e-12;
      printf("] average %.3f\n", a.is_null ? -1.0 : a.v.f64);
    }
    if (!ok) {
      wrong++;
      fprintf(stderr, "document %lld: wrong result\n", (long long)d);
    }
  }
  printf("%lld documents, %lld wrong\n", (long long)n_docs, (long long)wrong);

  hn_result_destroy(result);
  hn_engine_destroy(engine);
  hn_inputs_destroy(inputs);
  hn_pipeline_release(document);
  return wrong == 0 ? 0 : 1;
}
