/*
 * A plugin for `hypernodes viz --plugin` (built by tests/CMakeLists.txt as a
 * module linked against libhypernodes, the way docs/observability.md tells
 * users to): it exposes "orders" (a nested pipeline mapped over a list, with
 * a bound default) and "tiny". With HN_VIZ_PLUGIN_FAIL set in the
 * environment, its entry point fails instead; with HN_VIZ_PLUGIN_TWICE it
 * adds "tiny" twice. The node of "tiny" carries user data whose destructor
 * (code of this library) prints a line on stderr: the host must release the
 * pipelines before it unloads the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

static hn_status never_called(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)in, (void)out, (void)ctx;
  return HN_OK;
}

static hn_status add_node(hn_pipeline *p, const char *name, int64_t n_in, const char *const *in,
                          const char *out, const hn_type *type, hn_error *err) {
  hn_node_def d = {.size = sizeof d};
  d.name = name;
  d.n_inputs = n_in;
  d.inputs = in;
  d.n_outputs = 1;
  d.outputs = &out;
  d.output_types = &type;
  d.row = never_called;
  return hn_pipeline_add_node(p, &d, err);
}

/* orders: per order (mapped over `orders`), price -> with_tax (rate bound to 0.2) -> total. */
static hn_status build_orders(hn_pipeline **out, hn_error *err) {
  hn_pipeline *line = NULL, *p = NULL;
  hn_array *rate = NULL;
  hn_builder *b = NULL;
  const char *price[] = {"price", "rate"}, *taxed[] = {"taxed"}, *totals[] = {"totals"};
  hn_status st = hn_pipeline_create(NULL, "order_line", &line, err);
  if (st == HN_OK) st = add_node(line, "with_tax", 2, price, "taxed", hn_type_float64(), err);
  if (st == HN_OK) st = add_node(line, "round", 1, taxed, "rounded", hn_type_float64(), err);
  if (st == HN_OK) st = hn_builder_create(NULL, hn_type_float64(), &b, err);
  if (st == HN_OK) st = hn_builder_append_float64(b, 0.2);
  if (st == HN_OK) st = hn_builder_finish(b, &rate, err);
  if (st == HN_OK) st = hn_pipeline_bind(line, "rate", rate, 0, err);
  if (st == HN_OK) st = hn_pipeline_create(NULL, "orders", &p, err);
  if (st == HN_OK) {
    const char *outer[] = {"orders"}, *inner[] = {"price"};
    const char *o_in[] = {"rounded"}, *o_out[] = {"totals"};
    hn_nested_def d = {.size = sizeof d};
    d.name = "each_order";
    d.inner = line;
    d.n_input_mapping = 1;
    d.input_outer = outer;
    d.input_inner = inner;
    d.n_output_mapping = 1;
    d.output_inner = o_in;
    d.output_outer = o_out;
    d.n_map_over = 1;
    d.map_over = outer;
    st = hn_pipeline_add_pipeline(p, &d, err);
  }
  if (st == HN_OK) st = add_node(p, "sum", 1, totals, "grand_total", hn_type_float64(), err);
  hn_builder_destroy(b);
  hn_array_release(rate);
  hn_pipeline_release(line);
  if (st != HN_OK) {
    hn_pipeline_release(p);
    return st;
  }
  *out = p;
  return HN_OK;
}

static int k_tiny_data;

static void tiny_data_free(void *user_data) {
  fprintf(stderr, "viz_plugin: user data of 'inc' freed (%s)\n",
          user_data == &k_tiny_data ? "ok" : "wrong pointer");
}

static hn_status build_tiny(hn_pipeline **out, hn_error *err) {
  const char *in[] = {"x"}, *outs[] = {"y"};
  const hn_type *types[] = {hn_type_int64()};
  hn_node_def d = {.size = sizeof d,
                   .name = "inc",
                   .n_inputs = 1,
                   .inputs = in,
                   .n_outputs = 1,
                   .outputs = outs,
                   .output_types = types,
                   .row = never_called,
                   .user_data = &k_tiny_data,
                   .user_data_free = tiny_data_free};
  hn_status st = hn_pipeline_create(NULL, "tiny", out, err);
  if (st == HN_OK) st = hn_pipeline_add_node(*out, &d, err);
  return st;
}

hn_status hypernodes_pipelines(hn_pipeline_add_fn add, void *ctx, hn_error *err) {
  if (getenv("HN_VIZ_PLUGIN_FAIL")) {
    if (err) {
      hn_error_reset(err);
      err->code = HN_EUNSUPPORTED;
      strcpy(err->message, "the test plugin was asked to fail");
    }
    return HN_EUNSUPPORTED;
  }
  hn_pipeline *orders = NULL, *tiny = NULL;
  hn_status st = build_orders(&orders, err);
  if (st == HN_OK) st = add(ctx, "orders", orders, err);
  if (st == HN_OK) st = build_tiny(&tiny, err);
  if (st == HN_OK) st = add(ctx, "tiny", tiny, err);
  /* A name given twice is refused by the host; the first one stays. */
  if (st == HN_OK && getenv("HN_VIZ_PLUGIN_TWICE")) st = add(ctx, "tiny", tiny, err);
  hn_pipeline_release(orders);
  hn_pipeline_release(tiny);
  return st;
}
