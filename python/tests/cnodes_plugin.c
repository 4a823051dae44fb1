/*
 * A node library for the Python tests and benchmark: hypernodes_nodes()
 * hands over C nodes that Python pipelines mix with Python nodes.
 */
#include <math.h>
#include <stdlib.h>

#include "hypernodes/hypernodes.h"

/* y = x * factor (user data: the factor, owned by the host once handed over). */
static hn_status scale(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ctx;
  if (in[0].is_null) return hn_builder_append_null(out[0]);
  return hn_builder_append_float64(out[0], in[0].v.f64 * *(const double *)ud);
}

/* About 20 us of arithmetic per item: where engines scale. */
static hn_status heavy(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  double x = in[0].v.f64, acc = 0;
  for (int i = 0; i < 2000; i++) {
    acc += sin(x + i) * 0.5;
    x = x - (x * x - 2.0) / (2.0 * x + 1e-9);
  }
  return hn_builder_append_float64(out[0], acc + x);
}

/* Number of words in a string. */
static hn_status words(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  int64_t n = 0;
  for (int64_t i = 0; i < in[0].v.str.size; i++)
    n += in[0].v.str.data[i] != ' ' && (i == 0 || in[0].v.str.data[i - 1] == ' ');
  return hn_builder_append_int64(out[0], n);
}

/* Fails on negative input, with its own message. */
static hn_status checked(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  if (in[0].v.i64 < 0) return hn_ctx_fail(ctx, "negative: %lld", (long long)in[0].v.i64);
  return hn_builder_append_int64(out[0], in[0].v.i64 * 2);
}

hn_status hypernodes_nodes(hn_node_add_fn add, void *ctx, hn_error *err) {
  double *factor = malloc(sizeof *factor);
  if (!factor) return HN_ENOMEM;
  *factor = 2.5;
  const hn_node_spec specs[] = {
      {.name = "c_scale",
       .inputs = "x: float64",
       .outputs = "scaled: float64",
       .row = scale,
       .user_data = factor,
       .user_data_free = free,
       .version = "1"},
      HN_NODE("c_heavy", "x: float64", "heavy: float64", heavy),
      HN_NODE("c_words", "text: utf8", "n_words: int64", words),
      HN_NODE("c_checked", "v: int64", "doubled: int64", checked),
  };
  hn_status st = add(ctx, &specs[0], sizeof specs[0], err);
  if (st != HN_OK) free(factor);
  for (size_t i = 1; st == HN_OK && i < sizeof specs / sizeof specs[0]; i++)
    st = add(ctx, &specs[i], sizeof specs[i], err);
  return st;
}
