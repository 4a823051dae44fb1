/*
 * nested: min(n, 5000) sentences "Sentence number {i} with some tokens",
 * given as one list value. An inner pipeline (clean -> tokenize -> length)
 * is a node of the outer pipeline mapped over the sentences; the outer
 * pipeline then computes the average length and the sorted vocabulary
 * (distinct tokens). One hn_pipeline_run. Native: one loop over the
 * sentences collecting lengths and token spans, then a sort and a dedup.
 */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static const char *const k_outputs[] = {"avg_length", "vocabulary"};

typedef struct span {
  const char *p;
  int64_t len;
} span;

typedef struct nested_case {
  bench_case base;
  hn_array *flat; /* the sentences as a utf8 column (what native reads) */
  /* last native outputs */
  char *cleaned;
  span *vocab;
  int64_t n_vocab;
  double avg;
} nested_case;

static int k_fault_marker;

static int span_cmp(const void *a, const void *b) {
  const span *x = a, *y = b;
  int64_t m = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->p, y->p, (size_t)m);
  if (c) return c;
  return (x->len > y->len) - (x->len < y->len);
}

/* Sort spans and drop duplicates in place; returns the distinct count. */
static int64_t sort_unique(span *s, int64_t n) {
  if (n == 0) return 0;
  qsort(s, (size_t)n, sizeof *s, span_cmp);
  int64_t k = 1;
  for (int64_t i = 1; i < n; i++)
    if (span_cmp(&s[i], &s[k - 1]) != 0) s[k++] = s[i];
  return k;
}

static hn_status average_node(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  if (in[0].is_null || in[0].v.list.length == 0) return hn_builder_append_null(out[0]);
  int64_t sum = 0;
  for (int64_t i = 0; i < in[0].v.list.length; i++) sum += hn_list_view_get(in[0].v.list, i).v.i64;
  double avg = (double)sum / (double)in[0].v.list.length;
  return hn_builder_append_float64(out[0], ud ? avg + 0.5 : avg);
}

static hn_status vocabulary_node(void *ud, const hn_datum *in, hn_builder *const *out,
                                 hn_ctx *ctx) {
  (void)ud;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  hn_list_view docs = in[0].v.list;
  int64_t total = 0;
  for (int64_t i = 0; i < docs.length; i++) {
    hn_datum d = hn_list_view_get(docs, i);
    if (!d.is_null) total += d.v.list.length;
  }
  span *s = hn_arena_alloc(hn_ctx_arena(ctx), sizeof(span) * (size_t)(total + 1), 0);
  if (!s) return hn_ctx_fail(ctx, "out of scratch memory");
  int64_t k = 0;
  for (int64_t i = 0; i < docs.length; i++) {
    hn_datum d = hn_list_view_get(docs, i);
    if (d.is_null) continue;
    for (int64_t j = 0; j < d.v.list.length; j++) {
      hn_str w = hn_list_view_get(d.v.list, j).v.str;
      s[k++] = (span){w.data, w.size};
    }
  }
  k = sort_unique(s, k);
  hn_builder *words = hn_builder_child(out[0], 0);
  for (int64_t i = 0; i < k; i++) {
    hn_status st = hn_builder_append_str(words, s[i].p, s[i].len);
    if (st != HN_OK) return st;
  }
  return hn_builder_finish_element(out[0]);
}

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *inner = NULL, *p = NULL;
  static const hn_node_spec sentence[] = {
      HN_NODE("clean", "text", "cleaned: utf8", bench_node_clean),
      HN_NODE("tokenize", "cleaned", "tokens: list<utf8>", bench_node_tokenize),
      HN_NODE("length", "tokens", "n_tokens: int64", bench_node_count),
  };
  const hn_node_spec document[] = {
      {.name = "average",
       .inputs = "lengths",
       .outputs = "avg_length: float64",
       .row = average_node,
       .user_data = faulty ? &k_fault_marker : NULL},
      HN_NODE("vocabulary", "tokens", "vocabulary: list<utf8>", vocabulary_node),
  };
  BENCH_TRY(hn_pipeline_create(NULL, "sentence", &inner, err));
  BENCH_TRY(hn_pipeline_add_nodes(inner, HN_NODE_SPECS(sentence), err));
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "nested_faulty" : "nested", &p, err));
  BENCH_TRY(hn_pipeline_add_nested(p, "per_sentence", inner, "sentences=text",
                                   "tokens, n_tokens=lengths", "sentences", HN_MAP_ZIP, err));
  BENCH_TRY(hn_pipeline_add_nodes(p, HN_NODE_SPECS(document), err));
  hn_pipeline_release(inner);
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(p);
  hn_pipeline_release(inner);
  return st;
}

static void destroy(bench_case *c) {
  nested_case *t = (nested_case *)c;
  if (!t) return;
  hn_pipeline_release(c->pipeline);
  hn_pipeline_release(c->faulty);
  hn_inputs_destroy(c->inputs);
  hn_array_release(t->flat);
  free(t->cleaned);
  free(t->vocab);
  free(t);
}

/* The sentences as one list<utf8> value (a one-row list array). */
static hn_status sentence_list(const hn_array *flat, hn_array **out, hn_error *err) {
  hn_status st;
  const hn_type *type = NULL;
  hn_builder *b = NULL;
  BENCH_TRY(hn_type_list_create(NULL, hn_type_utf8(), &type, err));
  BENCH_TRY(hn_builder_create(NULL, type, &b, err));
  for (int64_t i = 0; i < hn_array_length(flat); i++)
    BENCH_TRY(hn_builder_append_datum(hn_builder_child(b, 0), hn_array_get(flat, i)));
  BENCH_TRY(hn_builder_finish_element(b));
  BENCH_TRY(hn_builder_finish(b, out, err));
fail:
  hn_builder_destroy(b);
  hn_type_release(type);
  return st;
}

static hn_status create(int64_t n, bool faulty, bench_case **out, hn_error *err) {
  hn_status st;
  hn_array *list = NULL;
  nested_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(bench_strings(n, "Sentence number %lld with some tokens", &t->flat, err));
  BENCH_TRY(sentence_list(t->flat, &list, err));
  BENCH_TRY(hn_inputs_create(NULL, &t->base.inputs, err));
  BENCH_TRY(hn_inputs_set_value(t->base.inputs, "sentences", list, 0, err));
  hn_array_release(list);
  *out = &t->base;
  return HN_OK;
fail:
  hn_array_release(list);
  destroy(&t->base);
  return st;
}

static void native_run(bench_case *c, int variant) {
  (void)variant;
  nested_case *t = (nested_case *)c;
  int64_t n = c->n;
  const int32_t *off = hn_array_offsets(t->flat);
  const char *bytes = bench_utf8_bytes(t->flat);
  size_t total = n > 0 ? (size_t)(off[n] - off[0]) : 0;
  t->cleaned = bench_xmalloc(total);
  size_t cap = (size_t)n * 8 + 16;
  span *s = bench_xmalloc(sizeof(span) * cap);
  int64_t used = 0, n_tok = 0, sum = 0;
  for (int64_t i = 0; i < n; i++) {
    char *dst = t->cleaned + used;
    int64_t len = bench_clean(bytes + off[i], off[i + 1] - off[i], dst);
    int64_t pos = 0, start = 0, tl, k = 0;
    while ((tl = bench_next_token(dst, len, &pos, &start)) >= 0) {
      if ((size_t)n_tok == cap) s = bench_xrealloc(s, sizeof(span) * (cap *= 2));
      s[n_tok++] = (span){dst + start, tl};
      k++;
    }
    used += len;
    sum += k;
  }
  t->avg = n > 0 ? (double)sum / (double)n : 0.0;
  t->n_vocab = sort_unique(s, n_tok);
  t->vocab = s;
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  nested_case *t = (nested_case *)c;
  bench_checksum_init(out, &bench_scenario_nested, 1);
  out->rows[0][0] = c->n > 0 ? bench_hash_f64(t->avg) : bench_hash_null();
  uint64_t h = bench_hash_list_begin(t->n_vocab);
  for (int64_t i = 0; i < t->n_vocab; i++)
    h = bench_hash_list_add(h, bench_hash_str(t->vocab[i].p, t->vocab[i].len));
  out->rows[1][0] = h;
  free(t->cleaned);
  free(t->vocab);
  t->cleaned = NULL;
  t->vocab = NULL;
}

const bench_scenario bench_scenario_nested = {
    .name = "nested",
    .summary = "an inner pipeline mapped over one list of sentences; average length and vocabulary",
    .max_items = 5000,
    .map = false,
    .map_over = NULL,
    .n_outputs = 2,
    .outputs = k_outputs,
    .n_natives = 1,
    .calls_per_item = 0,
    .create = create,
    .destroy = destroy,
    .native_run = native_run,
    .native_checksum = native_checksum,
};
