/*
 * stateful: min(n, 5000) strings "document_{i}" encoded by one resource, an
 * encoder whose init takes 50 ms (a real sleep, then building its 256 x 128
 * weight table); encode(text) -> 128 float32 values (list<float32>),
 * deterministic from the text. The resource is built once per worker.
 * Native: build one encoder (the same 50 ms), then one loop over the items.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"

#define DIM 128
#define INIT_MS 50

static const char *const k_outputs[] = {"embedding"};

typedef struct encoder {
  float w[256][DIM];
} encoder;

static encoder *encoder_new(void) {
  struct timespec ts = {0, INIT_MS * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
  encoder *e = malloc(sizeof *e);
  if (!e) return NULL;
  uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int c = 0; c < 256; c++)
    for (int k = 0; k < DIM; k++) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      e->w[c][k] = (float)((double)(x >> 11) * (1.0 / 9007199254740992.0)) - 0.5f;
    }
  return e;
}

/* The embedding of s[0..n): the mean of one table row per byte (row picked by byte and position).
 */
static void encode(const encoder *e, const char *s, int64_t n, float *out) {
  for (int k = 0; k < DIM; k++) out[k] = 0.0f;
  for (int64_t j = 0; j < n; j++) {
    const float *row = e->w[((unsigned char)s[j] + (unsigned)j) & 255u];
    for (int k = 0; k < DIM; k++) out[k] += row[k];
  }
  float scale = n > 0 ? 1.0f / (float)n : 0.0f;
  for (int k = 0; k < DIM; k++) out[k] *= scale;
}

static hn_status resource_init(void *config, void **state, hn_error *err) {
  (void)config;
  (void)err;
  encoder *e = encoder_new();
  if (!e) return HN_ENOMEM;
  *state = e;
  return HN_OK;
}

static void resource_destroy(void *config, void *state) {
  (void)config;
  free(state);
}

static hn_status encode_node(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  bool faulty = ud != NULL;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  const encoder *e = in[1].v.object;
  if (!e) return hn_ctx_fail(ctx, "no encoder");
  float v[DIM];
  hn_str s = in[0].v.str;
  encode(e, s.data, s.size, v);
  if (faulty && s.size > 0 && s.data[s.size - 1] == '7') v[0] += 1.0f;
  hn_status st = hn_builder_append_values(hn_builder_child(out[0], 0), v, DIM);
  return st != HN_OK ? st : hn_builder_finish_element(out[0]);
}

typedef struct stateful_case {
  bench_case base;
  hn_array *texts;
  float *native_out; /* n x DIM */
} stateful_case;

static int k_fault_marker;

static hn_status build(bool faulty, hn_pipeline **out, hn_error *err) {
  hn_status st;
  hn_pipeline *p = NULL;
  BENCH_TRY(hn_pipeline_create(NULL, faulty ? "stateful_faulty" : "stateful", &p, err));
  BENCH_TRY(hn_pipeline_add_ex(p, "encode", "text, encoder", "embedding: list<float32>",
                               encode_node, NULL, faulty ? &k_fault_marker : NULL, NULL, err));
  *out = p;
  return HN_OK;
fail:
  hn_pipeline_release(p);
  return st;
}

static void destroy(bench_case *c) {
  stateful_case *t = (stateful_case *)c;
  if (!t) return;
  hn_pipeline_release(c->pipeline);
  hn_pipeline_release(c->faulty);
  hn_inputs_destroy(c->inputs);
  hn_array_release(t->texts);
  free(t->native_out);
  free(t);
}

static hn_status create(int64_t n, bool faulty, bench_case **out, hn_error *err) {
  hn_status st;
  stateful_case *t = bench_xmalloc(sizeof *t);
  memset(t, 0, sizeof *t);
  t->base.n = n;
  BENCH_TRY(build(false, &t->base.pipeline, err));
  if (faulty) BENCH_TRY(build(true, &t->base.faulty, err));
  BENCH_TRY(bench_strings(n, "document_%lld", &t->texts, err));
  BENCH_TRY(hn_inputs_create(NULL, &t->base.inputs, err));
  BENCH_TRY(hn_inputs_set_column(t->base.inputs, "text", t->texts, err));
  hn_resource_def def = {.size = sizeof def};
  def.name = "encoder";
  def.init = resource_init;
  def.destroy = resource_destroy;
  BENCH_TRY(hn_inputs_set_resource(t->base.inputs, "encoder", &def, err));
  *out = &t->base;
  return HN_OK;
fail:
  destroy(&t->base);
  return st;
}

static void native_run(bench_case *c, int variant) {
  (void)variant;
  stateful_case *t = (stateful_case *)c;
  int64_t n = c->n;
  encoder *e = encoder_new();
  if (!e) e = bench_xmalloc(sizeof *e); /* unreachable in practice; exits on OOM */
  const int32_t *off = hn_array_offsets(t->texts);
  const char *bytes = bench_utf8_bytes(t->texts);
  t->native_out = bench_xmalloc(sizeof(float) * DIM * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++)
    encode(e, bytes + off[i], off[i + 1] - off[i], t->native_out + (size_t)i * DIM);
  free(e);
}

static void native_checksum(bench_case *c, bench_checksum *out) {
  stateful_case *t = (stateful_case *)c;
  bench_checksum_init(out, &bench_scenario_stateful, c->n);
  for (int64_t i = 0; i < c->n; i++) {
    uint64_t h = bench_hash_list_begin(DIM);
    for (int k = 0; k < DIM; k++)
      h = bench_hash_list_add(h, bench_hash_f32(t->native_out[(size_t)i * DIM + (size_t)k]));
    out->rows[0][i] = h;
  }
  free(t->native_out);
  t->native_out = NULL;
}

const bench_scenario bench_scenario_stateful = {
    .name = "stateful",
    .summary = "a resource with a 50 ms init (once per worker) encoding strings into 128 float32",
    .max_items = 5000,
    .map = true,
    .map_over = "text",
    .n_outputs = 1,
    .outputs = k_outputs,
    .n_natives = 1,
    .calls_per_item = 0,
    .create = create,
    .destroy = destroy,
    .native_run = native_run,
    .native_checksum = native_checksum,
};
