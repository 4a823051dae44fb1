/*
 * The one-call forms of building pipelines: hn_pipeline_add and _ex (spec
 * strings), hn_pipeline_add_nodes (tables, all or none, older entry sizes),
 * hn_pipeline_add_nested (mapping strings), their error messages (offset and
 * caret), ownership of user_data, and allocation failures. Node functions
 * are never called.
 */
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "test_support.h"

static hn_status row_fn(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)in, (void)out, (void)ctx;
  return HN_OK;
}

static hn_status batch_fn(void *ud, const hn_batch_arg *in, int64_t n, hn_array **out,
                          hn_ctx *ctx) {
  (void)ud, (void)in, (void)n, (void)out, (void)ctx;
  return HN_OK;
}

static int g_freed;
static void count_free(void *ud) {
  (void)ud;
  g_freed++;
}

static hn_pipeline *make(const char *name) {
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, name, &p, &err), &err);
  return p;
}

static const char *type_of(const hn_type *t, char *buf, size_t cap) {
  hn_type_to_string(t, buf, cap);
  return buf;
}

/* Assert a failure with `code`, a message containing `needle` and, when non-NULL, node `node`. */
static void expect_error(hn_status st, const hn_error *err, hn_status code, const char *needle,
                         const char *node) {
  if (st != code || !strstr(err->message, needle))
    fail_msg("expected %s with \"%s\", got %s: \"%s\"", hn_status_str(code), needle,
             hn_status_str(st), err->message);
  if (node) assert_string_equal(err->node, node);
}

/* The caret of a spec error sits under character `offset` of the spec shown above it. */
static void expect_caret(const hn_error *err, const char *spec, size_t offset) {
  char where[32];
  snprintf(where, sizeof where, "offset %zu:", offset);
  if (!strstr(err->message, where)) fail_msg("want \"%s\" in \"%s\"", where, err->message);
  const char *caret = strrchr(err->message, '\n');
  assert_non_null(caret);
  const char *line = caret - 1;
  while (line > err->message && line[-1] != '\n') line--;
  assert_memory_equal(line, "  ", 2);
  assert_memory_equal(line + 2, spec, strlen(spec));
  assert_int_equal(strlen(caret + 1), offset + 3); /* "  " + offset blanks + "^" */
  assert_int_equal(caret[1 + offset + 2], '^');
}

static void test_add_row_node(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  char t[128];
  HN_CHECK(hn_pipeline_add(p, "divmod", "a, b: int64", "q: int64, r: list<utf8>", row_fn, &err),
           &err);
  const hn_gnode *g = p->nodes[0];
  assert_string_equal(g->name, "divmod");
  assert_int_equal(g->n_inputs, 2);
  assert_string_equal(g->inputs[0], "a");
  assert_string_equal(g->inputs[1], "b");
  assert_null(g->input_types[0]); /* untyped: any */
  assert_ptr_equal(g->input_types[1], hn_type_int64());
  assert_int_equal(g->n_outputs, 2);
  assert_string_equal(g->outputs[1], "r");
  assert_string_equal(type_of(g->output_types[1], t, sizeof t), "list<utf8>");
  assert_ptr_equal(g->row, row_fn);
  assert_null(g->batch);
  assert_null(g->user_data);
  /* No inputs, NULL or blank; quoted names; no input types at all gives NULL input_types. */
  HN_CHECK(hn_pipeline_add(p, "source", NULL, "\"odd name\": struct<x: bool>", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "source2", "  ", "s2: utf8", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "sink", "\"odd name\", q", "done: bool", row_fn, &err), &err);
  g = p->nodes[3];
  assert_string_equal(g->inputs[0], "odd name");
  assert_null(g->input_types[0]);
  assert_int_equal(p->nodes[1]->n_inputs, 0);
  assert_int_equal(p->nodes[2]->n_inputs, 0);
  assert_string_equal(type_of(hn_pipeline_output_type(p, "odd name"), t, sizeof t),
                      "struct<x: bool>");
  /* The checks of hn_pipeline_add_node apply. */
  expect_error(hn_pipeline_add(p, "bad", "q", "q2: utf8, r: int64", row_fn, &err), &err, HN_EINVAL,
               "output 'r' is produced by both 'divmod' and 'bad'", "bad");
  expect_error(
      hn_pipeline_add(p, "bad", "r: int64", "w: int64", row_fn, &err), &err, HN_ETYPE,
      "type mismatch on 'r': node 'divmod' produces list<utf8> but node 'bad' expects int64",
      "bad");
  expect_error(hn_pipeline_add(p, "none", "x", "y: int64", NULL, &err), &err, HN_EINVAL,
               "neither a row nor a batch function", "none");
  expect_error(hn_pipeline_add(p, "noout", "x", "", row_fn, &err), &err, HN_EINVAL,
               "node 'noout' has no outputs", "noout");
  expect_error(hn_pipeline_add(NULL, "n", "x", "y: int64", row_fn, &err), &err, HN_EINVAL,
               "NULL pipeline", NULL);
  assert_int_equal(hn_pipeline_num_nodes(p), 4);
  hn_pipeline_release(p);
}

static void test_add_spec_errors(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  const char *outs = "tokens: list<utf9>";
  expect_error(hn_pipeline_add(p, "tokenize", "cleaned", outs, row_fn, &err), &err, HN_EINVAL,
               "node 'tokenize': outputs, offset 13: unknown type 'utf9'", "tokenize");
  expect_caret(&err, outs, 13);
  expect_error(hn_pipeline_add(p, "n", "x", "count", row_fn, &err), &err, HN_EINVAL,
               "output 'count' needs a type, as in \"count: int64\"", "n");
  expect_caret(&err, "count", 5);
  const char *ins = "a b";
  expect_error(hn_pipeline_add(p, "n", ins, "y: int64", row_fn, &err), &err, HN_EINVAL,
               "node 'n': inputs, offset 2: expected ',' or ': type' after 'a', found 'b'", "n");
  expect_caret(&err, ins, 2);
  expect_error(hn_pipeline_add(p, "n", "a,", "y: int64", row_fn, &err), &err, HN_EINVAL,
               "offset 2: expected an input name, found the end", "n");
  expect_error(hn_pipeline_add(p, "n", "a, , b", "y: int64", row_fn, &err), &err, HN_EINVAL,
               "offset 3: expected an input name, found ','", "n");
  expect_error(hn_pipeline_add(p, "n", "a: list<int64", "y: int64", row_fn, &err), &err, HN_EINVAL,
               "expected '>' to close list<", "n");
  expect_error(hn_pipeline_add(p, "n", "\"a", "y: int64", row_fn, &err), &err, HN_EINVAL,
               "unterminated quoted input name", "n");
  expect_error(hn_pipeline_add(p, "n", "x", "y: int64 z: utf8", row_fn, &err), &err, HN_EINVAL,
               "expected ',' after 'y', found 'z'", "n");
  expect_error(hn_pipeline_add(p, "n", "x", "y: object<Model>", row_fn, &err), &err, HN_EINVAL,
               "unknown object type 'Model'", "n");
  assert_int_equal(hn_pipeline_num_nodes(p), 0);
  hn_pipeline_release(p);
}

static void test_add_ex_user_data(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  g_freed = 0;
  HN_CHECK(hn_pipeline_add_ex(p, "both", "x: float64", "y: float64", row_fn, batch_fn, &g_freed,
                              count_free, &err),
           &err);
  assert_ptr_equal(p->nodes[0]->batch, batch_fn);
  assert_ptr_equal(p->nodes[0]->user_data, &g_freed);
  HN_CHECK(hn_pipeline_add_ex(p, "batch_only", "y", "z: float64", NULL, batch_fn, NULL, NULL, &err),
           &err);
  assert_null(p->nodes[1]->row);
  /* Refused (spec or graph): user_data stays the caller's. */
  expect_error(
      hn_pipeline_add_ex(p, "bad", "x", "y: float64", row_fn, NULL, &g_freed, count_free, &err),
      &err, HN_EINVAL, "output 'y' is produced by both", "bad");
  expect_error(
      hn_pipeline_add_ex(p, "bad", "x", "w: flt", row_fn, NULL, &g_freed, count_free, &err), &err,
      HN_EINVAL, "unknown type 'flt'", "bad");
  assert_int_equal(g_freed, 0);
  hn_pipeline_release(p);
  assert_int_equal(g_freed, 1);
}

static void test_add_nodes_table(void **state) {
  (void)state;
  hn_pipeline *p = make("text");
  hn_error err;
  static const hn_node_spec nodes[] = {
      HN_NODE("clean", "text: utf8", "cleaned: utf8", row_fn),
      HN_NODE("tokenize", "cleaned", "tokens: list<utf8>", row_fn),
      {.name = "count",
       .inputs = "tokens",
       .outputs = "n_tokens: int64",
       .row = row_fn,
       .batch = batch_fn,
       .version = "v2"},
  };
  HN_CHECK(hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err), &err);
  assert_int_equal(hn_pipeline_num_nodes(p), 3);
  assert_string_equal(hn_pipeline_execution_order(p, 2), "count");
  assert_string_equal(p->nodes[2]->version, "v2");
  assert_ptr_equal(p->nodes[2]->batch, batch_fn);
  assert_ptr_equal(p->nodes[0]->input_types[0], hn_type_utf8());
  /* An empty table adds nothing. */
  HN_CHECK(hn_pipeline_add_nodes(p, NULL, 0, sizeof(hn_node_spec), &err), &err);
  assert_int_equal(hn_pipeline_num_nodes(p), 3);
  hn_pipeline_release(p);
}

/* A refused entry leaves the pipeline as it was: no node of the table, no user_data freed. */
static void test_add_nodes_all_or_none(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  HN_CHECK(hn_pipeline_add(p, "first", "x", "a: int64", row_fn, &err), &err);
  g_freed = 0;
  hn_node_spec dup[] = {
      {.name = "b",
       .inputs = "a",
       .outputs = "b: int64",
       .row = row_fn,
       .user_data = &g_freed,
       .user_data_free = count_free},
      {.name = "c",
       .inputs = "b",
       .outputs = "c: int64",
       .row = row_fn,
       .user_data = &g_freed,
       .user_data_free = count_free},
      {.name = "d",
       .inputs = "c",
       .outputs = "a: int64",
       .row = row_fn,
       .user_data = &g_freed,
       .user_data_free = count_free}, /* a: second producer */
  };
  expect_error(hn_pipeline_add_nodes(p, HN_NODE_SPECS(dup), &err), &err, HN_EINVAL,
               "node spec 2 of 3: output 'a' is produced by both 'first' and 'd'", "d");
  hn_node_spec cycle[] = {
      {.name = "b",
       .inputs = "a, c",
       .outputs = "b: int64",
       .row = row_fn,
       .user_data = &g_freed,
       .user_data_free = count_free},
      {.name = "c",
       .inputs = "b",
       .outputs = "c: int64",
       .row = row_fn,
       .user_data = &g_freed,
       .user_data_free = count_free},
  };
  expect_error(hn_pipeline_add_nodes(p, HN_NODE_SPECS(cycle), &err), &err, HN_EINVAL,
               "node spec 1 of 2: cycle: b -> c -> b", "c");
  hn_node_spec bad_spec[] = {
      {.name = "b",
       .inputs = "a",
       .outputs = "b: int64",
       .row = row_fn,
       .user_data = &g_freed,
       .user_data_free = count_free},
      {.name = "c",
       .inputs = "b",
       .outputs = "c: int65",
       .row = row_fn,
       .user_data = &g_freed,
       .user_data_free = count_free},
  };
  expect_error(hn_pipeline_add_nodes(p, HN_NODE_SPECS(bad_spec), &err), &err, HN_EINVAL,
               "node spec 1 of 2: node 'c': outputs, offset 3: unknown type 'int65'", "c");
  hn_node_spec same_name[] = {
      HN_NODE("b", "a", "b: int64", row_fn),
      HN_NODE("b", "a", "b2: int64", row_fn),
  };
  expect_error(hn_pipeline_add_nodes(p, HN_NODE_SPECS(same_name), &err), &err, HN_EINVAL,
               "node spec 1 of 2: a node named 'b' already exists", "b");
  assert_int_equal(hn_pipeline_num_nodes(p), 1);
  assert_int_equal(hn_pipeline_num_outputs(p), 1);
  assert_int_equal(hn_pipeline_num_root_inputs(p), 1);
  assert_int_equal(g_freed, 0);
  /* The pipeline still works: the same table minus the bad entry goes in. */
  HN_CHECK(hn_pipeline_add_nodes(p, dup, 2, sizeof dup[0], &err), &err);
  assert_string_equal(hn_pipeline_execution_order(p, 2), "c");
  expect_error(hn_pipeline_add_nodes(p, dup, 1, 8, &err), &err, HN_EINVAL, "spec_size is 8", NULL);
  expect_error(hn_pipeline_add_nodes(p, NULL, 2, sizeof dup[0], &err), &err, HN_EINVAL, "bad table",
               NULL);
  hn_pipeline_release(p);
  assert_int_equal(g_freed, 2);
}

/* A table compiled against an older, smaller hn_node_spec: the missing members read as zero. */
typedef struct old_node_spec {
  const char *name, *inputs, *outputs;
  hn_row_fn row;
  hn_batch_fn batch;
} old_node_spec;

static void test_add_nodes_older_entry_size(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  static const old_node_spec nodes[] = {
      {"a", "x", "a: int64", row_fn, NULL},
      {"b", "a", "b: int64", NULL, batch_fn},
  };
  HN_CHECK(
      hn_pipeline_add_nodes(p, (const hn_node_spec *)(const void *)nodes, 2, sizeof nodes[0], &err),
      &err);
  assert_int_equal(hn_pipeline_num_nodes(p), 2);
  assert_ptr_equal(p->nodes[1]->batch, batch_fn);
  assert_null(p->nodes[1]->user_data);
  assert_null(p->nodes[1]->version);
  hn_pipeline_release(p);
}

static void test_add_nested(void **state) {
  (void)state;
  hn_pipeline *sentence = make("sentence"), *doc = make("document");
  hn_error err;
  char t[128];
  static const hn_node_spec inner_nodes[] = {
      HN_NODE("clean", "text: utf8", "cleaned: utf8", row_fn),
      HN_NODE("length", "cleaned, unit", "n_tokens: int64", row_fn),
  };
  HN_CHECK(hn_pipeline_add_nodes(sentence, HN_NODE_SPECS(inner_nodes), &err), &err);
  HN_CHECK(hn_pipeline_add_nested(doc, "per_sentence", sentence, "sentences=text",
                                  "n_tokens=lengths", "sentences", HN_MAP_ZIP, &err),
           &err);
  const hn_gnode *g = doc->nodes[0];
  assert_int_equal(g->n_inputs, 2);
  assert_string_equal(g->inputs[0], "sentences"); /* inner roots: text, unit */
  assert_string_equal(g->inputs[1], "unit");
  assert_true(g->mapped[0]);
  assert_false(g->mapped[1]);
  assert_int_equal(g->n_outputs, 1); /* cleaned is not mapped: hidden */
  assert_string_equal(g->outputs[0], "lengths");
  assert_string_equal(type_of(hn_pipeline_output_type(doc, "lengths"), t, sizeof t), "list<int64>");
  assert_string_equal(type_of(g->input_types[0], t, sizeof t), "list<utf8>");
  /* A name alone keeps its name; product mode; no map_over. */
  HN_CHECK(hn_pipeline_add_nested(doc, "again", sentence, "sentences=text, unit", "cleaned",
                                  "sentences, unit", HN_MAP_PRODUCT, &err),
           &err);
  assert_int_equal(doc->nodes[1]->map_mode, HN_MAP_PRODUCT);
  assert_string_equal(doc->nodes[1]->outputs[0], "cleaned");
  HN_CHECK(hn_pipeline_add_nested(doc, "once", sentence, "one=text", "n_tokens=n1", NULL,
                                  HN_MAP_ZIP, &err),
           &err);
  assert_int_equal(doc->nodes[2]->n_map, 0);
  /* Errors: malformed strings point at the character; the nested checks apply. */
  const char *bad = "sentences=";
  expect_error(hn_pipeline_add_nested(doc, "x", sentence, bad, "", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "nested node 'x': input mapping, offset 10: expected a name after '='",
               "x");
  expect_caret(&err, bad, 10);
  expect_error(hn_pipeline_add_nested(doc, "x", sentence, "", "n_tokens=a=b", "", HN_MAP_ZIP, &err),
               &err, HN_EINVAL, "expected ',' or '= name' after 'n_tokens', found '='", "x");
  expect_error(hn_pipeline_add_nested(doc, "x", sentence, "", "", "s: int64", HN_MAP_ZIP, &err),
               &err, HN_EINVAL, "nested node 'x': map_over, offset 1: expected ','", "x");
  expect_error(hn_pipeline_add_nested(doc, "x", sentence, "a=nope", "", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "input mapping names 'nope'", "x");
  assert_int_equal(hn_pipeline_num_nodes(doc), 3);
  hn_pipeline_release(sentence);
  hn_pipeline_release(doc);
}

/* Every allocation of the one-call forms may fail: nothing leaks, nothing is half added. */
static void test_one_call_allocation_failures(void **state) {
  (void)state;
  static const hn_node_spec nodes[] = {
      HN_NODE("a", "x: int64", "a: list<struct<s: utf8, \"t u\": float32>>", row_fn),
      HN_NODE("b", "a, k", "b: int64, c: utf8", row_fn),
  };
  bool done = false;
  for (int64_t k = 1; !done; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    hn_pipeline *p = NULL, *outer = NULL;
    hn_error err;
    hn_status st = hn_pipeline_create(&ta.alloc, "p", &p, &err);
    if (st == HN_OK) st = hn_pipeline_add_nodes(p, HN_NODE_SPECS(nodes), &err);
    if (st != HN_OK && p) assert_int_equal(hn_pipeline_num_nodes(p), 0);
    if (st == HN_OK) st = hn_pipeline_add(p, "d", "c", "d: utf8", row_fn, &err);
    if (st == HN_OK) st = hn_pipeline_create(&ta.alloc, "outer", &outer, &err);
    if (st == HN_OK)
      st = hn_pipeline_add_nested(outer, "sub", p, "xs=x, k", "b=bs", "xs", HN_MAP_ZIP, &err);
    if (st == HN_OK) {
      done = true;
      assert_int_equal(hn_pipeline_num_nodes(p), 3);
    } else {
      assert_int_equal(st, HN_ENOMEM);
    }
    hn_pipeline_release(outer);
    hn_pipeline_release(p);
    assert_int_equal(ta.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_add_row_node),
      cmocka_unit_test(test_add_spec_errors),
      cmocka_unit_test(test_add_ex_user_data),
      cmocka_unit_test(test_add_nodes_table),
      cmocka_unit_test(test_add_nodes_all_or_none),
      cmocka_unit_test(test_add_nodes_older_entry_size),
      cmocka_unit_test(test_add_nested),
      cmocka_unit_test(test_one_call_allocation_failures),
  };
  return cmocka_run_group_tests_name("specs", tests, NULL, NULL);
}
