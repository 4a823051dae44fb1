/* Checksums, input helpers and the text nodes shared by the bench scenarios. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

const bench_scenario *const bench_scenarios[] = {
    &bench_scenario_text,       &bench_scenario_stateful, &bench_scenario_numeric,
    &bench_scenario_nested,     &bench_scenario_overhead, &bench_scenario_cpu,
    &bench_scenario_nested_cpu, &bench_scenario_io,       NULL};

void *bench_xmalloc(size_t size) {
  void *p = malloc(size ? size : 1);
  if (!p) {
    fprintf(stderr, "hypernodes bench: out of memory (%zu bytes)\n", size);
    exit(1);
  }
  return p;
}

void *bench_xrealloc(void *p, size_t size) {
  void *q = realloc(p, size ? size : 1);
  if (!q) {
    fprintf(stderr, "hypernodes bench: out of memory (%zu bytes)\n", size);
    exit(1);
  }
  return q;
}

/* ---- hashes --------------------------------------------------------------- */

/* Seeds keep values of different types apart (1 and 1.0 hash differently). */
enum { SEED_NULL = 1, SEED_I64, SEED_F64, SEED_F32, SEED_STR, SEED_LIST, SEED_BOOL };

uint64_t bench_hash_i64(int64_t v) {
  return hn_hash_bytes(&v, sizeof v, SEED_I64);
}
uint64_t bench_hash_f64(double v) {
  return hn_hash_bytes(&v, sizeof v, SEED_F64);
}
uint64_t bench_hash_f32(float v) {
  return hn_hash_bytes(&v, sizeof v, SEED_F32);
}
uint64_t bench_hash_str(const char *data, int64_t size) {
  return hn_hash_bytes(data, (size_t)size, SEED_STR);
}
uint64_t bench_hash_null(void) {
  return hn_hash_bytes(NULL, 0, SEED_NULL);
}
uint64_t bench_hash_list_begin(int64_t length) {
  return hn_hash_bytes(&length, sizeof length, SEED_LIST);
}
uint64_t bench_hash_list_add(uint64_t h, uint64_t item) {
  return hn_hash_combine(h, item);
}

uint64_t bench_hash_datum(hn_datum d) {
  if (d.is_null) return bench_hash_null();
  switch (d.type) {
    case HN_TYPE_BOOL: {
      uint8_t b = d.v.b;
      return hn_hash_bytes(&b, 1, SEED_BOOL);
    }
    case HN_TYPE_INT64:
      return bench_hash_i64(d.v.i64);
    case HN_TYPE_FLOAT32:
      return bench_hash_f32(d.v.f32);
    case HN_TYPE_FLOAT64:
      return bench_hash_f64(d.v.f64);
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      return bench_hash_str(d.v.str.data, d.v.str.size);
    case HN_TYPE_LIST: {
      uint64_t h = bench_hash_list_begin(d.v.list.length);
      for (int64_t i = 0; i < d.v.list.length; i++)
        h = bench_hash_list_add(h, bench_hash_datum(hn_list_view_get(d.v.list, i)));
      return h;
    }
    default:
      return hn_hash_bytes(&d.type, sizeof d.type, 0); /* not produced by any scenario */
  }
}

/* ---- checksums ------------------------------------------------------------ */

void bench_checksum_init(bench_checksum *c, const bench_scenario *s, int64_t n_rows) {
  memset(c, 0, sizeof *c);
  c->n_rows = n_rows;
  c->n_columns = s->n_outputs;
  for (int j = 0; j < s->n_outputs; j++) {
    c->names[j] = s->outputs[j];
    c->rows[j] = bench_xmalloc(sizeof(uint64_t) * (size_t)(n_rows > 0 ? n_rows : 1));
    for (int64_t i = 0; i < n_rows; i++) c->rows[j][i] = 0;
  }
}

void bench_checksum_free(bench_checksum *c) {
  for (int j = 0; j < c->n_columns; j++) free(c->rows[j]);
  memset(c, 0, sizeof *c);
}

uint64_t bench_checksum_digest(const bench_checksum *c) {
  uint64_t h = bench_hash_i64(c->n_rows);
  for (int j = 0; j < c->n_columns; j++)
    for (int64_t i = 0; i < c->n_rows; i++) h = hn_hash_combine(h, c->rows[j][i]);
  return h;
}

bool bench_checksum_compare(const bench_checksum *want, const bench_checksum *got, char *msg,
                            size_t cap) {
  if (got->n_rows != want->n_rows) {
    snprintf(msg, cap, "%lld rows, native has %lld", (long long)got->n_rows,
             (long long)want->n_rows);
    return false;
  }
  size_t used = 0;
  bool same = true;
  for (int j = 0; j < want->n_columns; j++) {
    int64_t first = -1, count = 0;
    for (int64_t i = 0; i < want->n_rows; i++) {
      if (got->rows[j][i] == want->rows[j][i]) continue;
      if (first < 0) first = i;
      count++;
    }
    if (count == 0) continue;
    same = false;
    if (used < cap)
      used += (size_t)snprintf(msg + used, cap - used,
                               "%scolumn '%s': %lld of %lld rows differ (first: row %lld)",
                               used ? "; " : "", want->names[j], (long long)count,
                               (long long)want->n_rows, (long long)first);
  }
  return same;
}

/* ---- inputs --------------------------------------------------------------- */

hn_status bench_strings(int64_t n, const char *fmt, hn_array **out, hn_error *err) {
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(NULL, hn_type_utf8(), &b, err);
  if (st != HN_OK) return st;
  st = hn_builder_reserve(b, n);
  for (int64_t i = 0; st == HN_OK && i < n; i++) {
    char s[128];
    int len = snprintf(s, sizeof s, fmt, (long long)i);
    st = hn_builder_append_str(b, s, len);
  }
  if (st == HN_OK) st = hn_builder_finish(b, out, err);
  hn_builder_destroy(b);
  return st;
}

const char *bench_utf8_bytes(const hn_array *a) {
  hn_buffer *data = hn_array_buffer(a, 2);
  return data ? (const char *)hn_buffer_data(data) : "";
}

/* ---- text nodes ----------------------------------------------------------- */

hn_status bench_node_clean(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  char *buf = hn_arena_alloc(hn_ctx_arena(ctx), (size_t)in[0].v.str.size, 1);
  if (!buf) return hn_ctx_fail(ctx, "out of scratch memory");
  int64_t len = bench_clean(in[0].v.str.data, in[0].v.str.size, buf);
  return hn_builder_append_str(out[0], buf, len);
}

hn_status bench_node_tokenize(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  hn_builder *words = hn_builder_child(out[0], 0);
  const char *s = in[0].v.str.data;
  int64_t n = in[0].v.str.size, pos = 0, start = 0, len;
  while ((len = bench_next_token(s, n, &pos, &start)) >= 0) {
    hn_status st = hn_builder_append_str(words, s + start, len);
    if (st != HN_OK) return st;
  }
  return hn_builder_finish_element(out[0]);
}

hn_status bench_node_count(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_int64(out[0], in[0].v.list.length);
}
