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

/* ---- the documents ---------------------------------------------------------- */

/* A list<utf8> column: one list of sentences per document ("  the  QUICK  brown "). */
static hn_status make_documents(int64_t n_docs, hn_array **out, hn_error *err) {
  const hn_type *type = NULL;
  hn_builder *b = NULL;
  hn_status st = hn_type_parse(NULL, "list<utf8>", &type, err);
  if (st == HN_OK) st = hn_builder_create(NULL, type, &b, err);
  for (int64_t d = 0; d < n_docs && st == HN_OK; d++) {
    for (int64_t s = 0; s < n_sentences(d) && st == HN_OK; s++) {
      char text[256];
      int len = snprintf(text, sizeof text, "  ");
      for (int64_t w = 0; w < n_words(d, s); w++)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s%s", w ? "  " : "",
                        k_words[(d + s + w) % 7]);
      len += snprintf(text + len, sizeof text - (size_t)len, " ");
      st = hn_builder_append_str(hn_builder_child(b, 0), text, len);
    }
    if (st == HN_OK) st = hn_builder_finish_element(b);
  }
  if (st == HN_OK) st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  hn_type_release(type);
  return st;
}

/* ---- printing and checking ---------------------------------------------------- */

/* Print every document; returns the number whose lengths or average are wrong. */
static int64_t print_documents(const hn_result *result) {
  hn_table *t = hn_result_table(result);
  const hn_array *lengths = hn_table_column_by_name(t, "lengths");
  const hn_array *avgs = hn_table_column_by_name(t, "avg_length");
  int64_t wrong = 0;
  for (int64_t d = 0; d < hn_table_num_rows(t); d++) {
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
  printf("%lld documents, %lld wrong\n", (long long)hn_table_num_rows(t), (long long)wrong);
  return wrong;
}

/* ---- the pipelines ------------------------------------------------------------ */

int main(int argc, char **argv) {
  int64_t n_docs = argc > 2 ? atoll(argv[2]) : 12;
  static const hn_node_spec sentence_nodes[] = {
      HN_NODE("clean", "text", "cleaned: utf8", clean),
      HN_NODE("tokenize", "cleaned", "tokens: list<utf8>", tokenize),
      HN_NODE("length", "tokens", "n_tokens: int64", length),
  };
  hn_error err = {0};
  hn_pipeline *sentence = NULL, *document = NULL;
  hn_array *docs = NULL;
  hn_inputs *in = NULL;
  hn_engine *engine = NULL;
  hn_result *result = NULL;
  hn_engine_options eo = {.size = sizeof eo};
  hn_run_options map = {
      .size = sizeof map, .map_over_spec = "sentences", .outputs_spec = "lengths, avg_length"};
  /* Inner pipeline: one sentence. Outer: it, mapped over each document's sentences. */
  if (hn_pipeline_create(NULL, "sentence", &sentence, &err) ||
      hn_pipeline_add_nodes(sentence, HN_NODE_SPECS(sentence_nodes), &err) ||
      hn_pipeline_create(NULL, "document", &document, &err) ||
      hn_pipeline_add_nested(document, "per_sentence", sentence, "sentences=text",
                             "n_tokens=lengths", "sentences", HN_MAP_ZIP, &err) ||
      hn_pipeline_add(document, "average", "lengths", "avg_length: float64", average, &err) ||
      make_documents(n_docs < 0 ? 0 : n_docs, &docs, &err) || hn_inputs_create(NULL, &in, &err) ||
      hn_inputs_set_column(in, "sentences", docs, &err) ||
      hn_engine_kind_from_name(argc > 1 ? argv[1] : "sequential", &eo.kind, &err) ||
      hn_engine_create(NULL, &eo, &engine, &err) ||
      hn_pipeline_map(document, engine, in, &map, &result, &err))
    fprintf(stderr, "nested pipeline: %s\n", err.message);
  else
    printf("engine %s (%d workers)\n", hn_engine_kind_name(eo.kind), hn_engine_workers(engine));
  int64_t wrong = result ? print_documents(result) : 0;
  hn_result_destroy(result);
  hn_engine_destroy(engine);
  hn_inputs_destroy(in);
  hn_array_release(docs);
  hn_pipeline_release(document);
  hn_pipeline_release(sentence);
  return err.code == HN_OK && wrong == 0 ? 0 : 1;
}
