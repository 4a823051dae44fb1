/*
 * A program built against an installed hypernodes (scripts/check_install):
 * find_package, pkg-config and pkg-config --static. It checks the headers'
 * version against the library's, maps a two-node pipeline over 1000 items
 * on the engine named by argv[1] (default sequential) and checks the sums.
 * On the mpi engine it runs on every rank (collective); rank 0 checks.
 */
#include <stdio.h>
#include <string.h>

#include <hypernodes/hypernodes.h>

static hn_status twice(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_int64(out[0], 2 * in[0].v.i64);
}

static hn_status label(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  char buf[32];
  int n = snprintf(buf, sizeof buf, "#%lld", (long long)in[0].v.i64);
  return hn_builder_append_str(out[0], buf, n);
}

int main(int argc, char **argv) {
  enum { N = 1000 };
  if (hn_version() != HN_VERSION_NUMBER || strcmp(hn_version_string(), HN_VERSION_STRING) != 0) {
    fprintf(stderr, "consumer: headers %s, library %s\n", HN_VERSION_STRING, hn_version_string());
    return 1;
  }
  static const hn_node_spec nodes[] = {
      HN_NODE("twice", "x: int64", "y: int64", twice),
      HN_NODE("label", "y", "s: utf8", label),
  };
  static char text[N][16];
  static const char *texts[N];
  for (int i = 0; i < N; i++) {
    snprintf(text[i], sizeof text[i], "%d", i);
    texts[i] = text[i];
  }
  hn_error err = {0};
  hn_pipeline *p = NULL;
  hn_inputs *in = NULL;
  hn_engine *engine = NULL;
  hn_result *r = NULL;
  hn_engine_options eo = {.size = sizeof eo, .workers = 2};
  hn_run_options map = {.size = sizeof map, .map_over_spec = "x"};
  hn_type_parse_options po = {.size = sizeof po};
  const hn_type *t = NULL;
  hn_builder *b = NULL;
  hn_array *x = NULL;
  if (hn_type_parse_ex("int64", &po, &t, NULL, &err) || hn_builder_create(NULL, t, &b, &err))
    return fprintf(stderr, "consumer: %s\n", err.message), 1;
  for (int64_t i = 0; i < N; i++)
    if (hn_builder_append_int64(b, i)) return 1;
  if (hn_builder_finish(b, &x, &err) || hn_pipeline_create(NULL, "consumer", &p, &err) ||
      hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err) || hn_inputs_create(NULL, &in, &err) ||
      hn_inputs_set_column(in, "x", x, &err) ||
      hn_inputs_set_strings(in, "unused", N, texts, &err) ||
      hn_engine_kind_from_name(argc > 1 ? argv[1] : "sequential", &eo.kind, &err) ||
      hn_engine_create(NULL, &eo, &engine, &err) || hn_pipeline_map(p, engine, in, &map, &r, &err))
    fprintf(stderr, "consumer: %s\n", err.message);
  int ok = err.code == HN_OK;
  if (ok && hn_engine_rank(engine) == 0) {
    hn_table *tb = hn_result_table(r);
    const int64_t *y = hn_array_int64_values(hn_table_column_by_name(tb, "y"));
    int64_t sum = 0;
    for (int64_t i = 0; i < hn_table_num_rows(tb); i++) sum += y[i];
    hn_datum last = hn_array_get(hn_table_column_by_name(tb, "s"), N - 1);
    ok = hn_table_num_rows(tb) == N && sum == (int64_t)N * (N - 1) && last.v.str.size == 5 &&
         memcmp(last.v.str.data, "#1998", 5) == 0;
    printf("consumer: hypernodes %s, engine %s, %lld items, sum %lld: %s\n", hn_version_string(),
           hn_engine_kind_name(eo.kind), (long long)hn_table_num_rows(tb), (long long)sum,
           ok ? "ok" : "WRONG");
  }
  hn_result_destroy(r);
  hn_engine_destroy(engine);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_array_release(x);
  hn_builder_destroy(b);
  hn_type_release(t);
  return ok ? 0 : 1;
}
