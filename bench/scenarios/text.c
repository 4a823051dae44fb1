/*
 * text: n strings "  Hello World {i}  " -> clean (strip + lowercase) ->
 * tokenize (split on whitespace, list<utf8>) -> count (int64); every output
 * requested. Native: one loop over the items writing the three outputs into
 * plain arrays (bytes + offsets, token spans + list offsets, counts).
 */
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

static const char *const k_outputs[] = {"cleaned", "tokens", "n_tokens"};

typedef struct text_case {
  bench_case base;
  hn_array *texts;
  /* last native outputs */
  char *cleaned;                /* bytes */
  int64_t *cleaned_off;         /* n + 1 */
  int64_t *tok_start, *tok_len; /* into `cleaned` */
  int64_t *list_off;            /* n + 1 */
  int64_t *counts;
} text_case;

/* The faulty count: one too many for texts whose last token ends in '7'. */
static hn_status count_faulty(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  hn_list_view l = in[0].v.list;
  int64_t k = l.length;
  if (k > 0) {
    hn_str last = hn_list_view_get(l, k - 1).v.str;
    if (last.size > 0 && last.data[last.size - 1] == '7') k++;
  }
  return hn_builder_append_int64(out[0], k);
}

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *p = NULL;
  const hn_node_spec nodes[] = {
      HN_NODE("clean", "text", "cleaned: utf8", bench_node_clean),
      HN_NODE("tokenize", "cleaned", "tokens: list<utf8>", bench_node_tokenize),
      HN_NODE("count", "tokens", "n_tokens: int64", faulty ? count_faulty : bench_node_count),
  };
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "text_faulty" : "text", &p, err));
  BENCH_TRY(hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), err));
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(p);
  return st;
}

static void destroy(bench_case *c) {
  text_case *t = (text_case *)c;
  if (!t) return;
  hn_pipeline_release(c->pipeline);
  hn_pipeline_release(c->faulty);
  hn_inputs_destroy(c->inputs);
  hn_array_release(t->texts);
  free(t);
}

static hn_status create(int64_t n, bool faulty, bench_case **out, hn_error *err) {
  hn_status st;
  text_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(bench_strings(n, "  Hello World %lld  ", &t->texts, err));
  BENCH_TRY(hn_inputs_create(NULL, &t->base.inputs, err));
  BENCH_TRY(hn_inputs_set_column(t->base.inputs, "text", t->texts, err));
  *out = &t->base;
  return HN_OK;
fail:
  destroy(&t->base);
  return st;
}

static void native_run(bench_case *c, int variant) {
  (void)variant;
  text_case *t = (text_case *)c;
  int64_t n = c->n;
  const int32_t *off = hn_array_offsets(t->texts);
  const char *bytes = bench_utf8_bytes(t->texts);
  size_t total = n > 0 ? (size_t)(off[n] - off[0]) : 0;
  t->cleaned = bench_xmalloc(total);
  t->cleaned_off = bench_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
  t->list_off = bench_xmalloc(sizeof(int64_t) * (size_t)(n + 1));
  t->counts = bench_xmalloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
  size_t tok_cap = (size_t)n * 4 + 16;
  t->tok_start = bench_xmalloc(sizeof(int64_t) * tok_cap);
  t->tok_len = bench_xmalloc(sizeof(int64_t) * tok_cap);
  int64_t used = 0, n_tok = 0;
  t->cleaned_off[0] = 0;
  t->list_off[0] = 0;
  for (int64_t i = 0; i < n; i++) {
    char *dst = t->cleaned + used;
    int64_t len = bench_clean(bytes + off[i], off[i + 1] - off[i], dst);
    int64_t pos = 0, start = 0, tl, k = 0;
    while ((tl = bench_next_token(dst, len, &pos, &start)) >= 0) {
      if ((size_t)n_tok == tok_cap) {
        tok_cap *= 2;
        t->tok_start = bench_xrealloc(t->tok_start, sizeof(int64_t) * tok_cap);
        t->tok_len = bench_xrealloc(t->tok_len, sizeof(int64_t) * tok_cap);
      }
      t->tok_start[n_tok] = used + start;
      t->tok_len[n_tok++] = tl;
      k++;
    }
    used += len;
    t->cleaned_off[i + 1] = used;
    t->list_off[i + 1] = n_tok;
    t->counts[i] = k;
  }
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  text_case *t = (text_case *)c;
  bench_checksum_init(out, &bench_scenario_text, c->n);
  for (int64_t i = 0; i < c->n; i++) {
    out->rows[0][i] =
        bench_hash_str(t->cleaned + t->cleaned_off[i], t->cleaned_off[i + 1] - t->cleaned_off[i]);
    uint64_t h = bench_hash_list_begin(t->list_off[i + 1] - t->list_off[i]);
    for (int64_t k = t->list_off[i]; k < t->list_off[i + 1]; k++)
      h = bench_hash_list_add(h, bench_hash_str(t->cleaned + t->tok_start[k], t->tok_len[k]));
    out->rows[1][i] = h;
    out->rows[2][i] = bench_hash_i64(t->counts[i]);
  }
  free(t->cleaned);
  free(t->cleaned_off);
  free(t->tok_start);
  free(t->tok_len);
  free(t->list_off);
  free(t->counts);
  t->cleaned = NULL;
  t->cleaned_off = t->tok_start = t->tok_len = t->list_off = t->counts = NULL;
}

const bench_scenario bench_scenario_text = {
    .name = "text",
    .summary = "clean -> tokenize -> count over n strings (row nodes, strings and lists)",
    .max_items = 0,
    .map = true,
    .map_over = "text",
    .n_outputs = 3,
    .outputs = k_outputs,
    .n_natives = 1,
    .calls_per_item = 0,
    .create = create,
    .destroy = destroy,
    .native_run = native_run,
    .native_checksum = native_checksum,
};
