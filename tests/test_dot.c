/*
 * hn_pipeline_to_dot: the DOT text of small pipelines, checked line by line
 * (every statement is one line): nodes, edges, types, bound defaults,
 * resources, clusters and depth, map marks, the greyed plan of a request,
 * escaping of awkward names (and, when Graphviz is installed, that `dot`
 * accepts them), option checks, write failures and allocation failures.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

/* ---- building pipelines --------------------------------------------------- */

static hn_status row_fn(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)in, (void)out, (void)ctx;
  return HN_OK;
}

/* A row node with up to 4 inputs (declared `in_type`, NULL: any) and one output. */
static void add_node(hn_pipeline *p, const char *name, int n_in, const char *const *in,
                     const hn_type *in_type, const char *out, const hn_type *out_type) {
  const hn_type *in_types[4] = {in_type, in_type, in_type, in_type};
  hn_node_def d = {.size = sizeof d};
  d.name = name;
  d.n_inputs = n_in;
  d.inputs = in;
  d.input_types = in_type ? in_types : NULL;
  d.n_outputs = 1;
  d.outputs = &out;
  d.output_types = &out_type;
  d.row = row_fn;
  hn_error err;
  HN_CHECK(hn_pipeline_add_node(p, &d, &err), &err);
}

static hn_array *float_value(double v) {
  hn_builder *b = NULL;
  hn_array *a = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_float64(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_float64(b, v), NULL);
  HN_CHECK(hn_builder_finish(b, &a, NULL), NULL);
  hn_builder_destroy(b);
  return a;
}

/*
 * "small": a (int64) -> double -> b; b, scale (bound 2.5) -> scale -> c
 * (float64); a -> side -> d (utf8). With `alloc` (NULL: libc).
 */
static hn_pipeline *make_small(const hn_allocator *alloc) {
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(alloc, "small", &p, NULL), NULL);
  const char *a[] = {"a"}, *bs[] = {"b", "scale"};
  add_node(p, "double", 1, a, hn_type_int64(), "b", hn_type_int64());
  add_node(p, "scale", 2, bs, NULL, "c", hn_type_float64());
  add_node(p, "side", 1, a, hn_type_int64(), "d", hn_type_utf8());
  hn_array *v = float_value(2.5);
  HN_CHECK(hn_pipeline_bind(p, "scale", v, 0, NULL), NULL);
  hn_array_release(v);
  return p;
}

/*
 * "outer" nests "mid" as node "mid" mapped over u, v (product); "mid"
 * nests "leaf" as node "deep" (not mapped) and adds g: (y, v) -> w.
 * leaf: x -> f -> y. Outer: w -> total -> sum.
 */
static hn_pipeline *make_nested(void) {
  hn_pipeline *leaf = NULL, *mid = NULL, *outer = NULL;
  const hn_type *list_int = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &list_int, NULL), NULL);
  HN_CHECK(hn_pipeline_create(NULL, "leaf", &leaf, NULL), NULL);
  const char *x[] = {"x"}, *yv[] = {"y", "v"}, *w[] = {"w"};
  add_node(leaf, "f", 1, x, hn_type_int64(), "y", hn_type_int64());
  HN_CHECK(hn_pipeline_create(NULL, "mid", &mid, NULL), NULL);
  hn_nested_def d = {.size = sizeof d};
  d.name = "deep";
  d.inner = leaf;
  HN_CHECK(hn_pipeline_add_pipeline(mid, &d, NULL), NULL);
  add_node(mid, "g", 2, yv, hn_type_int64(), "w", hn_type_int64());
  HN_CHECK(hn_pipeline_create(NULL, "outer", &outer, NULL), NULL);
  const char *from[] = {"x"}, *to[] = {"u"}, *over[] = {"u", "v"};
  hn_nested_def m = {.size = sizeof m};
  m.name = "mid";
  m.inner = mid;
  m.n_input_mapping = 1;
  m.input_inner = from;
  m.input_outer = to;
  m.n_map_over = 2;
  m.map_over = over;
  m.map_mode = HN_MAP_PRODUCT;
  HN_CHECK(hn_pipeline_add_pipeline(outer, &m, NULL), NULL);
  add_node(outer, "total", 1, w, list_int, "sum", hn_type_int64());
  hn_pipeline_release(leaf);
  hn_pipeline_release(mid);
  hn_type_release(list_int);
  return outer;
}

/* ---- reading the text --------------------------------------------------------- */

/* Not inlined: GCC 12 at -O3 takes the string returned through &out for a pointer to `out`. */
static char *draw(hn_pipeline *p, const hn_dot_options *o) __attribute__((noinline));
static char *draw(hn_pipeline *p, const hn_dot_options *o) {
  char *out = NULL;
  size_t n = 0;
  hn_error err;
  HN_CHECK(hn_pipeline_to_dot_string(p, o, &out, &n, &err), &err);
  assert_int_equal(strlen(out), n);
  return out;
}

/* The line whose first non-blank text starts with `start` (copied; static), or NULL. */
static const char *line_starting(const char *dot, const char *start) {
  static char line[2048];
  for (const char *s = dot; *s;) {
    const char *end = strchr(s, '\n');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    const char *t = s;
    while (*t == ' ') t++;
    if (strncmp(t, start, strlen(start)) == 0) {
      assert_true(len < sizeof line);
      memcpy(line, s, len);
      line[len] = '\0';
      return line;
    }
    s += len + (end ? 1 : 0);
  }
  return NULL;
}

static int count(const char *dot, const char *needle) {
  int n = 0;
  size_t at = 0, len = strlen(dot);
  while (at < len) {
    const char *hit = strstr(dot + at, needle);
    if (!hit) break;
    n++;
    at = (size_t)(hit - dot) + 1;
  }
  return n;
}

/* Assert that the line starting with `start` exists and contains `part`. */
#define assert_line_has(dot, start, part)                                \
  do {                                                                   \
    const char *l_ = line_starting((dot), (start));                      \
    if (!l_) fail_msg("no line starts with %s in:\n%s", (start), (dot)); \
    if (!strstr(l_, (part))) fail_msg("%s lacks %s", l_, (part));        \
  } while (0)

#define assert_line_lacks(dot, start, part)                              \
  do {                                                                   \
    const char *l_ = line_starting((dot), (start));                      \
    if (!l_) fail_msg("no line starts with %s in:\n%s", (start), (dot)); \
    if (strstr(l_, (part))) fail_msg("%s has %s", l_, (part));           \
  } while (0)

/* ---- what is drawn ---------------------------------------------------------------- */

static void test_inputs_nodes_outputs_types(void **state) {
  (void)state;
  hn_pipeline *p = make_small(NULL);
  char *dot = draw(p, NULL);
  assert_non_null(strstr(dot, "digraph \"small\" {\n"));
  assert_non_null(strstr(dot, "rankdir=TB"));
  /* 2 inputs, 3 nodes and 3 outputs declared; 7 edges (3 of them from inputs). */
  assert_int_equal(count(dot, "\"input:"), 2 + 3);
  assert_int_equal(count(dot, "\"node:"), 3 + 7);
  assert_int_equal(count(dot, "\"output:"), 3 + 4);
  assert_int_equal(count(dot, " -> "), 7);
  assert_line_has(dot, "\"input:a\" [", "label=\"a\\nint64\"");
  assert_line_has(dot, "\"input:scale\" [", "style=\"filled,dashed\"");
  assert_line_has(dot, "\"input:scale\" [", "label=\"scale\\n= 2.5\\nfloat64\"");
  assert_line_has(dot, "\"node:double\" [", "shape=box");
  assert_line_has(dot, "\"output:b\" [", "label=\"b\\nint64\"");
  assert_line_has(dot, "\"output:c\" [", "label=\"c\\nfloat64\"");
  assert_line_has(dot, "\"output:d\" [", "label=\"d\\nutf8\"");
  assert_non_null(line_starting(dot, "\"input:a\" -> \"node:double\";"));
  assert_non_null(line_starting(dot, "\"input:a\" -> \"node:side\";"));
  assert_non_null(line_starting(dot, "\"node:double\" -> \"output:b\";"));
  assert_non_null(line_starting(dot, "\"output:b\" -> \"node:scale\";"));
  assert_non_null(line_starting(dot, "\"input:scale\" -> \"node:scale\";"));
  assert_non_null(line_starting(dot, "\"node:scale\" -> \"output:c\";"));
  assert_null(strstr(dot, "pruned")); /* no request, nothing greyed */
  assert_null(strstr(dot, "subgraph"));
  hn_dot_string_free(dot);

  hn_dot_options o = {.size = sizeof o, .orientation = HN_DOT_LR, .hide_types = true};
  dot = draw(p, &o);
  assert_non_null(strstr(dot, "rankdir=LR"));
  assert_line_has(dot, "\"input:a\" [", "label=\"a\"]");
  assert_line_has(dot, "\"input:scale\" [", "label=\"scale\\n= 2.5\"]");
  assert_line_has(dot, "\"output:d\" [", "label=\"d\"]");
  assert_null(strstr(dot, "int64"));
  hn_dot_string_free(dot);
  hn_pipeline_release(p);
}

static void test_clusters_map_marks_and_depth(void **state) {
  (void)state;
  hn_pipeline *p = make_nested();
  char *dot = draw(p, NULL);
  assert_int_equal(count(dot, "{"), count(dot, "}"));
  assert_int_equal(count(dot, "subgraph "), 2);
  assert_non_null(line_starting(dot, "subgraph \"cluster:mid\" {"));
  assert_non_null(line_starting(dot, "subgraph \"cluster:mid/deep\" {"));
  assert_line_has(dot, "graph [style=\"rounded,filled\"",
                  "label=\"mid: pipeline mid\\nmap over u, v (product)\"");
  assert_line_has(dot, "\"mid/deep/node:f\" [", "label=\"f\"");
  assert_line_has(dot, "\"mid/deep/input:x\" [", "label=\"x\\nint64\"");
  /* The leaf cluster is inside the mid cluster: declared before mid's closing brace. */
  const char *mid = strstr(dot, "subgraph \"cluster:mid\" {"),
             *deep = strstr(dot, "cluster:mid/deep");
  const char *g = strstr(dot, "\"mid/node:g\" [");
  assert_true(mid < deep && deep < g);
  /* Mapped inputs cross into the cluster marked "map"; outputs come out collected. */
  assert_line_has(dot, "\"input:u\" -> \"mid/input:x\"", "label=\"map\"");
  assert_line_has(dot, "\"input:v\" -> \"mid/input:v\"", "label=\"map\"");
  assert_line_has(dot, "\"mid/output:w\" -> \"output:w\"", "label=\"collect\"");
  assert_non_null(line_starting(dot, "\"mid/input:x\" -> \"mid/deep/input:x\";")); /* not mapped */
  assert_non_null(line_starting(dot, "\"mid/deep/output:y\" -> \"mid/output:y\";"));
  assert_line_has(dot, "\"output:w\" [", "label=\"w\\nlist<int64>\"");
  assert_line_has(dot, "\"mid/output:w\" [", "label=\"w\\nint64\"");
  hn_dot_string_free(dot);

  hn_dot_options o = {.size = sizeof o, .depth = 2};
  dot = draw(p, &o);
  assert_int_equal(count(dot, "subgraph "), 1);
  assert_non_null(line_starting(dot, "subgraph \"cluster:mid\" {"));
  assert_line_has(dot, "\"mid/node:deep\" [", "shape=box3d");
  assert_line_has(dot, "\"mid/node:deep\" [", "label=\"deep\\npipeline leaf (1 node)\"");
  assert_null(strstr(dot, "mid/deep/"));
  assert_non_null(line_starting(dot, "\"mid/input:x\" -> \"mid/node:deep\";"));
  assert_non_null(line_starting(dot, "\"mid/node:deep\" -> \"mid/output:y\";"));
  hn_dot_string_free(dot);

  o.depth = 1;
  dot = draw(p, &o);
  assert_null(strstr(dot, "subgraph"));
  assert_null(strstr(dot, "mid/"));
  assert_line_has(dot, "\"node:mid\" [", "shape=box3d");
  assert_line_has(dot, "\"node:mid\" [",
                  "label=\"mid\\npipeline mid (2 nodes)\\nmap over u, v (product)\"");
  assert_line_has(dot, "\"input:u\" -> \"node:mid\"", "label=\"map\"");
  assert_non_null(line_starting(dot, "\"node:mid\" -> \"output:w\";"));
  hn_dot_string_free(dot);
  hn_pipeline_release(p);
}

static void test_request_greys_what_the_plan_prunes(void **state) {
  (void)state;
  hn_pipeline *p = make_small(NULL);
  const char *want_c[] = {"c"};
  hn_dot_options o = {.size = sizeof o, .n_requested = 1, .requested = want_c};
  char *dot = draw(p, &o);
  assert_line_has(dot, "\"node:side\" [", "class=\"pruned\"");
  assert_line_has(dot, "\"node:side\" [", "fillcolor=\"#f3f4f6\"");
  assert_line_has(dot, "\"output:d\" [", "class=\"pruned\"");
  assert_line_has(dot, "\"input:a\" -> \"node:side\"", "style=dashed");
  assert_line_lacks(dot, "\"node:double\" [", "pruned");
  assert_line_lacks(dot, "\"node:scale\" [", "pruned");
  assert_line_lacks(dot, "\"input:scale\" [", "pruned");
  assert_line_has(dot, "\"output:c\" [", "penwidth=2.5, class=\"requested\"");
  assert_line_lacks(dot, "\"output:b\" [", "penwidth");
  assert_non_null(strstr(dot, "request: a, scale -> c"));
  hn_dot_string_free(dot);

  /* Only d from a: double and scale do not run, the bound scale is not read. */
  const char *give_a[] = {"a"}, *want_d[] = {"d"};
  o = (hn_dot_options){
      .size = sizeof o, .n_provided = 1, .provided = give_a, .n_requested = 1, .requested = want_d};
  dot = draw(p, &o);
  assert_line_has(dot, "\"node:double\" [", "pruned");
  assert_line_has(dot, "\"node:scale\" [", "pruned");
  assert_line_has(dot, "\"input:scale\" [", "pruned");
  assert_line_lacks(dot, "\"input:a\" [", "pruned");
  assert_line_lacks(dot, "\"node:side\" [", "pruned");
  hn_dot_string_free(dot);
  hn_pipeline_release(p);

  /* Nested: asking only for the outer output y prunes total, and g inside mid. */
  p = make_nested();
  const char *want_y[] = {"y"};
  o = (hn_dot_options){.size = sizeof o, .n_requested = 1, .requested = want_y};
  dot = draw(p, &o);
  assert_line_has(dot, "\"node:total\" [", "pruned");
  assert_line_has(dot, "\"mid/node:g\" [", "pruned");
  assert_line_has(dot, "\"mid/input:v\" [", "pruned");
  assert_line_lacks(dot, "\"mid/deep/node:f\" [", "pruned");
  assert_line_lacks(dot, "subgraph \"cluster:mid\" {", "pruned");
  assert_line_has(dot, "\"input:v\" -> \"mid/input:v\"", "pruned");
  assert_line_has(dot, "\"output:y\" [", "penwidth=2.5");
  hn_dot_string_free(dot);
  hn_pipeline_release(p);
}

static void test_request_errors(void **state) {
  (void)state;
  hn_pipeline *p = make_small(NULL);
  char *dot = (char *)"untouched";
  hn_error err;
  const char *bad[] = {"nope"}, *give_ab[] = {"a", "b"}, *give_x[] = {"x"};
  hn_dot_options o = {.size = sizeof o, .n_requested = 1, .requested = bad};
  assert_int_equal(hn_pipeline_to_dot_string(p, &o, &dot, NULL, &err), HN_EINVAL);
  assert_null(dot);
  assert_non_null(strstr(err.message, "hn_pipeline_to_dot"));
  assert_non_null(strstr(err.message, "'small'"));
  assert_non_null(strstr(err.message, "unknown output 'nope'"));
  o = (hn_dot_options){.size = sizeof o, .n_provided = 1, .provided = give_x};
  assert_int_equal(hn_pipeline_to_dot_string(p, &o, &dot, NULL, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "missing inputs: a"));
  /* Giving 'b' overrides its producer: the request is valid and 'double' is greyed. */
  o = (hn_dot_options){.size = sizeof o, .n_provided = 2, .provided = give_ab};
  HN_CHECK(hn_pipeline_to_dot_string(p, &o, &dot, NULL, &err), &err);
  assert_line_has(dot, "\"node:double\" [", "class=\"pruned\"");
  assert_line_lacks(dot, "\"node:scale\" [", "pruned");
  hn_dot_string_free(dot);
  o = (hn_dot_options){.size = sizeof o, .n_requested = 1, .requested = NULL};
  assert_int_equal(hn_pipeline_to_dot_string(p, &o, &dot, NULL, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "NULL array"));
  hn_pipeline_release(p);
}

/* ---- names, values and resources ------------------------------------------------ */

/* A node and an input whose names need escaping: quotes, backslashes, newlines, '/', '%'. */
static const char k_odd_node[] = "say \"hi\"\\now\nplease";
static const char k_odd_input[] = "a/b%c\td";

static hn_pipeline *make_odd(void) {
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "odd \"one\"", &p, NULL), NULL);
  const char *in[] = {k_odd_input};
  add_node(p, k_odd_node, 1, in, NULL, "out\\put", hn_type_int64());
  return p;
}

/* Every line of DOT text has balanced quotes once escapes are skipped. */
static void assert_quotes_balanced(const char *dot) {
  bool open = false;
  for (const char *s = dot; *s; s++) {
    if (open && *s == '\\' && s[1]) {
      s++;
      continue;
    }
    if (*s == '"') open = !open;
    if (*s == '\n') assert_false(open); /* a raw newline inside a quoted string */
  }
  assert_false(open);
}

static void test_escaping(void **state) {
  (void)state;
  hn_pipeline *p = make_odd();
  char *dot = draw(p, NULL);
  assert_quotes_balanced(dot);
  assert_non_null(strstr(dot, "digraph \"odd \\\"one\\\"\" {"));
  /* Ids: quotes and backslashes escaped, the newline, '/' and '%' percent-encoded. */
  assert_line_has(dot, "\"node:say \\\"hi\\\"\\\\now%0Aplease\" [",
                  "label=\"say \\\"hi\\\"\\\\now\\nplease\"");
  assert_line_has(dot, "\"input:a%2Fb%25c%09d\" [", "label=\"a/b%c\\\\x09d\\nany\"");
  assert_line_has(dot, "\"output:out\\\\put\" [", "label=\"out\\\\put\\nint64\"");
  assert_non_null(
      line_starting(dot, "\"input:a%2Fb%25c%09d\" -> \"node:say \\\"hi\\\"\\\\now%0Aplease\";"));
  hn_dot_string_free(dot);
  hn_pipeline_release(p);
}

/* Graphviz's `dot` on PATH, or NULL. */
static const char *find_dot(void) {
  static char buf[4096];
  const char *path = getenv("PATH");
  for (const char *s = path ? path : ""; *s;) {
    const char *end = strchr(s, ':');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    snprintf(buf, sizeof buf, "%.*s/dot", (int)len, s);
    if (len && access(buf, X_OK) == 0) return buf;
    s += len + (end ? 1 : 0);
  }
  return NULL;
}

/* Run `dot -Tcanon` on the text; returns what it printed (malloc'd) or fails. */
static char *graphviz_canon(const char *program, const char *text) {
  char in[64], out[64];
  snprintf(in, sizeof in, "/tmp/hn_test_dot_%ld.gv", (long)getpid());
  snprintf(out, sizeof out, "/tmp/hn_test_dot_%ld.out", (long)getpid());
  FILE *f = fopen(in, "wb");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
  char cmd[8400];
  snprintf(cmd, sizeof cmd, "'%s' -Tcanon '%s' > '%s' 2>&1", program, in, out);
  int rc = system(cmd);
  f = fopen(out, "rb");
  assert_non_null(f);
  static char got[1 << 16];
  size_t n = fread(got, 1, sizeof got - 1, f);
  got[n] = '\0';
  fclose(f);
  unlink(in);
  unlink(out);
  if (rc != 0) fail_msg("dot rejected the text (%d):\n%s\n--- text:\n%s", rc, got, text);
  return strdup(got);
}

static void test_graphviz_reads_escaped_names(void **state) {
  (void)state;
  const char *program = find_dot();
  if (!program) {
    print_message("SKIPPED: Graphviz's `dot` is not on PATH (Debian package graphviz)\n");
    skip();
  }
  hn_pipeline *p = make_odd();
  char *dot = draw(p, NULL);
  char *canon = graphviz_canon(program, dot);
  /* Graphviz read one node per drawn element, with the ids written. */
  assert_non_null(strstr(canon, "node:say"));
  assert_non_null(strstr(canon, "input:a%2Fb%25c%09d"));
  assert_non_null(strstr(canon, "output:out"));
  free(canon);
  hn_dot_string_free(dot);
  hn_pipeline_release(p);
  p = make_nested();
  dot = draw(p, NULL);
  canon = graphviz_canon(program, dot);
  assert_non_null(strstr(canon, "subgraph \"cluster:mid/deep\""));
  free(canon);
  hn_dot_string_free(dot);
  hn_pipeline_release(p);
}

static hn_array *finish(hn_builder *b) {
  hn_array *a = NULL;
  HN_CHECK(hn_builder_finish(b, &a, NULL), NULL);
  hn_builder_destroy(b);
  return a;
}

static void bind(hn_pipeline *p, const char *name, hn_array *values, int64_t row) {
  hn_error err;
  HN_CHECK(hn_pipeline_bind(p, name, values, row, &err), &err);
  hn_array_release(values);
}

static void test_bound_value_renderings(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "values", &p, NULL), NULL);
  const char *ins[] = {"n", "s", "long", "flag"}, *more[] = {"nothing", "words", "bytes", "rec"};
  add_node(p, "one", 4, ins, NULL, "o1", hn_type_int64());
  add_node(p, "two", 4, more, NULL, "o2", hn_type_int64());
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_int64(b, -42), NULL);
  bind(p, "n", finish(b), 0);
  HN_CHECK(hn_builder_create(NULL, hn_type_utf8(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_str(b, "x", 1), NULL);
  HN_CHECK(hn_builder_append_str(b, "he said \"hi\"", 12), NULL);
  HN_CHECK(hn_builder_append_str(b, "a string far longer than sixteen bytes", 38), NULL);
  hn_array *strs = finish(b);
  bind(p, "s", hn_array_retain(strs), 1);
  bind(p, "long", strs, 2);
  HN_CHECK(hn_builder_create(NULL, hn_type_bool(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_bool(b, true), NULL);
  bind(p, "flag", finish(b), 0);
  HN_CHECK(hn_builder_create(NULL, hn_type_float64(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  bind(p, "nothing", finish(b), 0);
  bind(p, "words", hn_test_list_list_utf8(NULL), 0);
  HN_CHECK(hn_builder_create(NULL, hn_type_binary(), &b, NULL), NULL);
  HN_CHECK(hn_builder_append_str(b, "\x01\x02\x03", 3), NULL);
  bind(p, "bytes", finish(b), 0);
  const hn_type *rec = NULL;
  const char *fields[] = {"id", "name"};
  const hn_type *ftypes[] = {hn_type_int64(), hn_type_utf8()};
  HN_CHECK(hn_type_struct_create(NULL, 2, fields, ftypes, &rec, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, rec, &b, NULL), NULL);
  HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), 7), NULL);
  HN_CHECK(hn_builder_append_str(hn_builder_child(b, 1), "ann", 3), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  bind(p, "rec", finish(b), 0);
  hn_type_release(rec);

  /* A list too long to show whole: whole items, then "...", brackets closed. */
  const hn_type *list_utf8 = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_utf8(), &list_utf8, NULL), NULL);
  HN_CHECK(hn_builder_create(NULL, list_utf8, &b, NULL), NULL);
  for (int i = 0; i < 5; i++)
    HN_CHECK(hn_builder_append_str(hn_builder_child(b, 0), "twenty bytes of text", 20), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  bind(p, "many", finish(b), 0);
  hn_type_release(list_utf8);
  const char *one_more[] = {"many"};
  add_node(p, "three", 1, one_more, NULL, "o3", hn_type_int64());

  char *dot = draw(p, NULL);
  assert_line_has(dot, "\"input:many\" [",
                  "= [\\\"twenty bytes of ...\\\", \\\"twenty bytes of ...\\\", "
                  "...]\\nlist<utf8>\"");
  assert_line_has(dot, "\"input:n\" [", "label=\"n\\n= -42\\nint64\"");
  assert_line_has(dot, "\"input:s\" [", "label=\"s\\n= \\\"he said \\\"hi\\\"\\\"\\nutf8\"");
  assert_line_has(dot, "\"input:long\" [", "= \\\"a string far lon...\\\"\\nutf8\"");
  assert_line_has(dot, "\"input:flag\" [", "= true\\nbool\"");
  assert_line_has(dot, "\"input:nothing\" [", "= null\\nfloat64\"");
  assert_line_has(dot, "\"input:words\" [", "= [[\\\"a\\\", \\\"bc\\\"], []]\\nlist<list<utf8>>\"");
  assert_line_has(dot, "\"input:bytes\" [", "= <3 bytes>\\nbinary\"");
  assert_line_has(dot, "\"input:rec\" [",
                  "= {id: 7, name: \\\"ann\\\"}\\nstruct<id: int64, name: utf8>\"");
  assert_quotes_balanced(dot);
  hn_dot_string_free(dot);
  hn_pipeline_release(p);
}

static hn_status res_init(void *config, void **state, hn_error *err) {
  (void)config, (void)err;
  *state = NULL;
  return HN_OK;
}
static void res_destroy(void *config, void *state) {
  (void)config, (void)state;
}

static void test_resources_and_given_values(void **state) {
  (void)state;
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "uses", &p, NULL), NULL);
  const char *in[] = {"text", "model", "k"};
  add_node(p, "encode", 3, in, NULL, "vec", hn_type_int64());
  hn_inputs *inputs = NULL;
  HN_CHECK(hn_inputs_create(NULL, &inputs, NULL), NULL);
  hn_resource_def def = {
      .size = sizeof def, .name = "big model", .init = res_init, .destroy = res_destroy};
  HN_CHECK(hn_inputs_set_resource(inputs, "model", &def, NULL), NULL);
  HN_CHECK(hn_inputs_set_int64(inputs, "k", 5, NULL), NULL);
  HN_CHECK(hn_inputs_set_str(inputs, "text", "hello", 5, NULL), NULL);
  hn_dot_options o = {.size = sizeof o, .inputs = inputs};
  char *dot = draw(p, &o);
  assert_line_has(dot, "\"input:model\" [", "shape=hexagon");
  assert_line_has(dot, "\"input:model\" [", "label=\"model\\nresource big model\"");
  assert_line_has(dot, "\"input:k\" [", "label=\"k\\n= 5\\nint64\"");
  assert_line_has(dot, "\"input:text\" [", "label=\"text\\n= \\\"hello\\\"\\nutf8\"");
  hn_dot_string_free(dot);
  /* Without the inputs nothing is known about them. */
  dot = draw(p, NULL);
  assert_line_has(dot, "\"input:model\" [", "label=\"model\\nany\"");
  assert_null(strstr(dot, "hexagon"));
  hn_dot_string_free(dot);
  /* A request takes its provided names from the inputs: here all three. */
  const char *want[] = {"vec"};
  o.n_requested = 1;
  o.requested = want;
  dot = draw(p, &o);
  assert_non_null(strstr(dot, "request: k, model, text -> vec"));
  hn_dot_string_free(dot);
  hn_inputs_destroy(inputs);
  hn_pipeline_release(p);
}

/* ---- options, writing and failures ------------------------------------------------ */

typedef struct sink {
  char *data;
  size_t len;
  size_t calls;
  size_t limit; /* accept at most this many bytes in all (SIZE_MAX: no limit) */
} sink;

static size_t sink_write(void *ud, const char *data, size_t n) {
  sink *s = ud;
  s->calls++;
  if (s->len + n > s->limit) return 0;
  s->data = realloc(s->data, s->len + n + 1);
  assert_non_null(s->data);
  memcpy(s->data + s->len, data, n);
  s->len += n;
  s->data[s->len] = '\0';
  return n;
}

/* A pipeline big enough for several buffer flushes: a chain of 150 nodes. */
static hn_pipeline *make_chain(const hn_allocator *alloc) {
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(alloc, "chain", &p, NULL), NULL);
  char name[32], in[32], out[32];
  for (int i = 0; i < 150; i++) {
    snprintf(name, sizeof name, "step_%d", i);
    snprintf(in, sizeof in, "v%d", i);
    snprintf(out, sizeof out, "v%d", i + 1);
    const char *ins[] = {in};
    add_node(p, name, 1, ins, hn_type_int64(), out, hn_type_int64());
  }
  return p;
}

static void test_write_function_and_string_agree(void **state) {
  (void)state;
  hn_pipeline *p = make_chain(NULL);
  sink s = {NULL, 0, 0, SIZE_MAX};
  hn_error err;
  HN_CHECK(hn_pipeline_to_dot(p, NULL, sink_write, &s, &err), &err);
  assert_true(s.len > 3 * 4096);
  assert_true(s.calls >= 4); /* handed over in pieces, not all at the end */
  char *dot = draw(p, NULL);
  assert_string_equal(dot, s.data);
  assert_int_equal(count(dot, " -> "), 300);
  hn_dot_string_free(dot);
  free(s.data);

  /* A write function that stops: HN_EIO, saying how far it got. */
  s = (sink){NULL, 0, 0, 5000};
  assert_int_equal(hn_pipeline_to_dot(p, NULL, sink_write, &s, &err), HN_EIO);
  assert_int_equal(err.code, HN_EIO);
  assert_non_null(strstr(err.message, "write function took 0 of"));
  assert_non_null(strstr(err.message, "after 4096 bytes"));
  free(s.data);
  hn_pipeline_release(p);
}

static void test_bad_arguments_and_options(void **state) {
  (void)state;
  hn_pipeline *p = make_small(NULL);
  sink s = {NULL, 0, 0, SIZE_MAX};
  hn_error err;
  char *dot = NULL;
  assert_int_equal(hn_pipeline_to_dot(NULL, NULL, sink_write, &s, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "pipeline is NULL"));
  assert_int_equal(hn_pipeline_to_dot(p, NULL, NULL, &s, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "write function is NULL"));
  assert_int_equal(hn_pipeline_to_dot_string(p, NULL, NULL, NULL, &err), HN_EINVAL);
  assert_int_equal(hn_pipeline_to_dot_string(NULL, NULL, &dot, NULL, &err), HN_EINVAL);
  assert_null(dot);
  assert_int_equal(s.calls, 0);

  hn_dot_options o = {0};
  assert_int_equal(hn_pipeline_to_dot(p, &o, sink_write, &s, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "options->size is 0"));
  o.size = sizeof o + 8;
  assert_int_equal(hn_pipeline_to_dot(p, &o, sink_write, &s, &err), HN_EINVAL);
  o = (hn_dot_options){.size = sizeof o, .depth = -1};
  assert_int_equal(hn_pipeline_to_dot(p, &o, sink_write, &s, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "depth -1"));
  o = (hn_dot_options){.size = sizeof o, .orientation = (hn_dot_orientation)7};
  assert_int_equal(hn_pipeline_to_dot(p, &o, sink_write, &s, &err), HN_EINVAL);
  assert_non_null(strstr(err.message, "orientation 7"));
  o = (hn_dot_options){.size = sizeof o, .n_provided = -1};
  assert_int_equal(hn_pipeline_to_dot(p, &o, sink_write, &s, &err), HN_EINVAL);
  assert_int_equal(s.calls, 0); /* nothing written for a refused call */

  /* A caller built against a header that ended after hide_types: later fields default. */
  const char *want[] = {"c"};
  o = (hn_dot_options){.size = offsetof(hn_dot_options, hide_types) + sizeof(bool),
                       .hide_types = true,
                       .n_requested = 1,
                       .requested = want};
  dot = draw(p, &o);
  assert_null(strstr(dot, "int64"));  /* hide_types read */
  assert_null(strstr(dot, "pruned")); /* the request was past its size: not read */
  hn_dot_string_free(dot);
  hn_dot_string_free(NULL);
  hn_pipeline_release(p);
}

/* Fail each allocation of a drawing in turn: HN_ENOMEM, nothing leaks, *out stays NULL. */
static void test_allocation_failures(void **state) {
  (void)state;
  hn_test_alloc t;
  hn_test_alloc_init(&t, 0);
  hn_pipeline *p = make_chain(&t.alloc);
  const char *want[] = {"v100"};
  hn_dot_options o = {.size = sizeof o, .n_requested = 1, .requested = want};
  /* Compile the request's plan once: it stays cached on the pipeline (graph layer). */
  char *warm = draw(p, &o);
  hn_dot_string_free(warm);
  int64_t failures = 0;
  for (int64_t k = 1;; k++) {
    int64_t live = t.live;
    t.fail_at = t.n_allocs + k;
    char *dot = (char *)"untouched";
    hn_error err;
    hn_status st = hn_pipeline_to_dot_string(p, &o, &dot, NULL, &err);
    t.fail_at = 0;
    if (st == HN_OK) {
      assert_non_null(strstr(dot,
                             "\"node:step_120\" [shape=box, style=\"rounded,filled\", "
                             "fillcolor=\"#f3f4f6\""));
      hn_dot_string_free(dot);
      break;
    }
    failures++;
    assert_int_equal(st, HN_ENOMEM);
    assert_int_equal(err.code, HN_ENOMEM);
    assert_non_null(strstr(err.message, "out of memory"));
    assert_null(dot);
    assert_int_equal(t.live, live);
    assert_true(k < 1000);
  }
  assert_true(failures >= 3); /* the request's names, the text's first block, its growth */
  hn_pipeline_release(p);
  assert_int_equal(t.live, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_inputs_nodes_outputs_types),
      cmocka_unit_test(test_clusters_map_marks_and_depth),
      cmocka_unit_test(test_request_greys_what_the_plan_prunes),
      cmocka_unit_test(test_request_errors),
      cmocka_unit_test(test_escaping),
      cmocka_unit_test(test_graphviz_reads_escaped_names),
      cmocka_unit_test(test_bound_value_renderings),
      cmocka_unit_test(test_resources_and_given_values),
      cmocka_unit_test(test_write_function_and_string_agree),
      cmocka_unit_test(test_bad_arguments_and_options),
      cmocka_unit_test(test_allocation_failures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
