/*
 * Graph layer: building pipelines (validation and its messages), derived
 * data (execution order, root inputs, outputs), bound values, nested
 * pipelines, plan compilation (pruning, slots, nested plans), the plan
 * cache, and allocation-failure injection. Node functions are never called.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "graph/graph_internal.h"
#include "test_support.h"

/* ---- helpers ------------------------------------------------------------ */

static hn_status row_fn(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)in, (void)out, (void)ctx;
  return HN_OK;
}

/* Comma-separated names split into an array (empty string: none). */
typedef struct names {
  char buf[512];
  const char *v[32];
  int64_t n;
} names;

static void split(names *n, const char *spec) {
  n->n = 0;
  if (!spec || !spec[0]) return;
  snprintf(n->buf, sizeof n->buf, "%s", spec);
  char *s = n->buf;
  for (;;) {
    assert_true(n->n < 32);
    n->v[n->n++] = s;
    char *comma = strchr(s, ',');
    if (!comma) break;
    *comma = '\0';
    s = comma + 1;
  }
}

static hn_pipeline *make(const char *name) {
  hn_pipeline *p = NULL;
  hn_error err;
  HN_CHECK(hn_pipeline_create(NULL, name, &p, &err), &err);
  return p;
}

/* Join a list of names with "," for easy comparison. */
static const char *joined(char *buf, size_t cap, int64_t n, const char *const *v) {
  size_t len = 0;
  buf[0] = '\0';
  for (int64_t i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? "," : "", v[i]);
  return buf;
}

static const char *order_of(const hn_pipeline *p, char *buf, size_t cap) {
  const char *v[64];
  int64_t n = hn_pipeline_num_nodes(p);
  for (int64_t i = 0; i < n; i++) v[i] = hn_pipeline_execution_order(p, i);
  return joined(buf, cap, n, v);
}

static const char *roots_of(const hn_pipeline *p, char *buf, size_t cap) {
  const char *v[64];
  int64_t n = hn_pipeline_num_root_inputs(p);
  for (int64_t i = 0; i < n; i++) v[i] = hn_pipeline_root_input(p, i);
  return joined(buf, cap, n, v);
}

static const char *outputs_of(const hn_pipeline *p, char *buf, size_t cap) {
  const char *v[64];
  int64_t n = hn_pipeline_num_outputs(p);
  for (int64_t i = 0; i < n; i++) v[i] = hn_pipeline_output(p, i);
  return joined(buf, cap, n, v);
}

static const char *step_names(const hn_plan *plan, char *buf, size_t cap) {
  const char *v[64];
  for (int64_t i = 0; i < plan->n_steps; i++) v[i] = plan->steps[i].node->name;
  return joined(buf, cap, plan->n_steps, v);
}

static const char *type_str(const hn_type *t, char *buf, size_t cap) {
  hn_type_to_string(t, buf, cap);
  return buf;
}

static hn_array *int64_array(const hn_allocator *a, int64_t n) {
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(a, hn_type_int64(), &b, NULL), NULL);
  for (int64_t i = 0; i < n; i++) HN_CHECK(hn_builder_append_int64(b, i), NULL);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  hn_builder_destroy(b);
  return arr;
}

static const hn_plan *get_plan(hn_pipeline *p, const char *provided, const char *requested) {
  names pr, rq;
  split(&pr, provided);
  split(&rq, requested);
  const hn_plan *plan = NULL;
  hn_error err;
  HN_CHECK(hn__plan_get(p, pr.n, pr.v, rq.n, rq.v, &plan, &err), &err);
  assert_non_null(plan);
  return plan;
}

static hn_status try_plan(hn_pipeline *p, const char *provided, const char *requested,
                          const hn_plan **plan, hn_error *err) {
  names pr, rq;
  split(&pr, provided);
  split(&rq, requested);
  return hn__plan_get(p, pr.n, pr.v, rq.n, rq.v, plan, err);
}

/* Assert a failure with `code` and a message containing `needle`. */
static void expect_error(hn_status st, const hn_error *err, hn_status code, const char *needle) {
  if (st != code || !strstr(err->message, needle)) {
    print_error("expected %s with \"%s\", got %s: \"%s\"\n", hn_status_str(code), needle,
                hn_status_str(st), err->message);
    fail();
  }
  assert_int_equal(err->code, code);
}

/* The diamond x -> a -> {b, c} -> d. */
static hn_pipeline *diamond(void) {
  hn_pipeline *p = make("diamond");
  HN_CHECK(hn_pipeline_add(p, "d", "b,c", "d: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "b", "a", "b: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "c", "a", "c: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "a", "x", "a: int64", row_fn, NULL), NULL);
  return p;
}

/* ---- building ----------------------------------------------------------- */

static void test_create_release(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(&ta.alloc, NULL, &p, NULL), NULL);
  assert_string_equal(hn_pipeline_name(p), "");
  assert_int_equal(hn_pipeline_num_nodes(p), 0);
  assert_int_equal(hn_pipeline_num_root_inputs(p), 0);
  assert_int_equal(hn_pipeline_num_outputs(p), 0);
  assert_null(hn_pipeline_execution_order(p, 0));
  assert_ptr_equal(hn_pipeline_retain(p), p);
  hn_pipeline_release(p);
  hn_pipeline_release(p);
  hn_pipeline_release(NULL);
  assert_int_equal(ta.live, 0);

  hn_pipeline *named = make("pipe");
  assert_string_equal(hn_pipeline_name(named), "pipe");
  hn_pipeline_release(named);
}

static void test_bad_definitions(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  const hn_type *t1[1] = {hn_type_int64()};
  const char *x[1] = {"x"}, *y[1] = {"y"};

  expect_error(hn_pipeline_add(p, "", "a", "b: int64", row_fn, &err), &err, HN_EINVAL,
               "non-empty name");
  expect_error(hn_pipeline_add(p, "n", "a", "", row_fn, &err), &err, HN_EINVAL,
               "node 'n' has no outputs");
  assert_string_equal(err.node, "n");
  expect_error(hn_pipeline_add(p, "n", "a,a", "b: int64", row_fn, &err), &err, HN_EINVAL,
               "node 'n' has two inputs named 'a'");
  expect_error(hn_pipeline_add(p, "n", "a", "b: int64, b: int64", row_fn, &err), &err, HN_EINVAL,
               "node 'n' has two outputs named 'b'");
  expect_error(hn_pipeline_add(p, "n", "a,b", "c: int64, b: int64", row_fn, &err), &err, HN_EINVAL,
               "node 'n' consumes its own output 'b'");
  expect_error(hn_pipeline_add_node(p, NULL, &err), &err, HN_EINVAL, "NULL definition");

  hn_node_def d = {.size = sizeof d};
  d.name = "n";
  d.n_inputs = 1;
  d.inputs = x;
  d.n_outputs = 1;
  d.outputs = y;
  d.output_types = t1;
  expect_error(hn_pipeline_add_node(p, &d, &err), &err, HN_EINVAL,
               "neither a row nor a batch function");
  d.row = row_fn;
  const hn_type *none[1] = {NULL};
  d.output_types = none;
  expect_error(hn_pipeline_add_node(p, &d, &err), &err, HN_EINVAL, "output 'y' has no type");
  d.output_types = NULL;
  expect_error(hn_pipeline_add_node(p, &d, &err), &err, HN_EINVAL, "output names and output types");
  d.output_types = t1;
  d.size = 8;
  expect_error(hn_pipeline_add_node(p, &d, &err), &err, HN_EINVAL, "def->size");
  d.size = sizeof d;
  d.inputs = NULL;
  expect_error(hn_pipeline_add_node(p, &d, &err), &err, HN_EINVAL, "bad input list");
  d.inputs = x;
  HN_CHECK(hn_pipeline_add_node(p, &d, &err), &err); /* now well-formed */
  assert_int_equal(hn_pipeline_num_nodes(p), 1);
  hn_pipeline_release(p);
}

static int g_freed;
static void count_free(void *ud) {
  (void)ud;
  g_freed++;
}

/* Refusals name the nodes involved, add nothing and leave user_data alone. */
static void test_graph_errors(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  HN_CHECK(hn_pipeline_add(p, "a", "y", "x: int64", row_fn, &err), &err);

  expect_error(hn_pipeline_add(p, "a", "q", "r: int64", row_fn, &err), &err, HN_EINVAL,
               "a node named 'a' already exists");
  expect_error(hn_pipeline_add(p, "b", "q", "x: int64", row_fn, &err), &err, HN_EINVAL,
               "output 'x' is produced by both 'a' and 'b'");
  expect_error(hn_pipeline_add(p, "b", "x", "y: int64", row_fn, &err), &err, HN_EINVAL,
               "cycle: a -> b -> a");
  assert_string_equal(err.node, "b");
  expect_error(hn_pipeline_add(p, "b", "x: utf8", "z: int64", row_fn, &err), &err, HN_ETYPE,
               "type mismatch on 'x': node 'a' produces int64 but node 'b' expects utf8");

  /* A longer cycle, named from its smallest node whatever the insertion order. */
  HN_CHECK(hn_pipeline_add(p, "m", "x", "m1: int64", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "k", "m1", "k1: int64", row_fn, &err), &err);
  expect_error(hn_pipeline_add(p, "c", "k1", "y: int64", row_fn, &err), &err, HN_EINVAL,
               "cycle: a -> m -> k -> c -> a");

  /* Consumer first, then a producer of the wrong type. */
  HN_CHECK(hn_pipeline_add(p, "f", "w: float64", "f1: int64", row_fn, &err), &err);
  expect_error(hn_pipeline_add(p, "g", "", "w: bool", row_fn, &err), &err, HN_ETYPE,
               "type mismatch on 'w': node 'g' produces bool but node 'f' expects float64");
  HN_CHECK(hn_pipeline_add(p, "g", "", "w: float64", row_fn, &err), &err);

  /* Nothing of the refused nodes was kept, and their user_data was not freed. */
  char buf[256];
  assert_string_equal(order_of(p, buf, sizeof buf), "a,g,f,m,k");
  assert_string_equal(roots_of(p, buf, sizeof buf), "y");
  g_freed = 0;
  const char *ins[1] = {"k1"}, *outs[1] = {"y"};
  const hn_type *types[1] = {hn_type_int64()};
  hn_node_def d = {.size = sizeof d};
  d.name = "c";
  d.n_inputs = 1;
  d.inputs = ins;
  d.n_outputs = 1;
  d.outputs = outs;
  d.output_types = types;
  d.row = row_fn;
  d.user_data = &g_freed;
  d.user_data_free = count_free;
  assert_int_equal(hn_pipeline_add_node(p, &d, &err), HN_EINVAL);
  assert_int_equal(g_freed, 0);
  assert_int_equal(hn_pipeline_num_nodes(p), 5);
  hn_pipeline_release(p);
  assert_int_equal(g_freed, 0);
}

static void test_user_data_freed_once(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  const char *outs[1] = {"o"};
  const hn_type *types[1] = {hn_type_utf8()};
  hn_node_def d = {.size = sizeof d};
  d.name = "n";
  d.n_outputs = 1;
  d.outputs = outs;
  d.output_types = types;
  d.row = row_fn;
  d.version = "v2";
  d.user_data = &g_freed;
  d.user_data_free = count_free;
  g_freed = 0;
  HN_CHECK(hn_pipeline_add_node(p, &d, NULL), NULL);
  assert_string_equal(p->nodes[0]->version, "v2");
  hn_pipeline_retain(p);
  hn_pipeline_release(p);
  assert_int_equal(g_freed, 0);
  hn_pipeline_release(p);
  assert_int_equal(g_freed, 1);
}

static void test_order_independent_of_insertion(void **state) {
  (void)state;
  hn_pipeline *p1 = make("p1"), *p2 = make("p2");
  HN_CHECK(hn_pipeline_add(p1, "d", "b,c", "d: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p1, "z", "x", "z: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p1, "c", "a", "c: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p1, "b", "a", "b: int64, b2: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p1, "a", "x", "a: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p2, "a", "x", "a: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p2, "b", "a", "b: int64, b2: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p2, "c", "a", "c: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p2, "z", "x", "z: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p2, "d", "b,c", "d: int64", row_fn, NULL), NULL);
  char b1[256], b2[256];
  assert_string_equal(order_of(p1, b1, sizeof b1), "a,b,c,d,z");
  assert_string_equal(order_of(p2, b2, sizeof b2), "a,b,c,d,z");
  assert_string_equal(outputs_of(p1, b1, sizeof b1), "a,b,b2,c,d,z");
  assert_string_equal(outputs_of(p2, b2, sizeof b2), "a,b,b2,c,d,z");
  assert_null(hn_pipeline_execution_order(p1, 5));
  assert_null(hn_pipeline_execution_order(p1, -1));
  assert_null(hn_pipeline_output(p1, 6));
  assert_ptr_equal(hn_pipeline_output_type(p1, "b2"), hn_type_int64());
  assert_null(hn_pipeline_output_type(p1, "x"));
  hn_pipeline_release(p1);
  hn_pipeline_release(p2);
}

static void test_root_inputs_sorted(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  char buf[256];
  HN_CHECK(hn_pipeline_add(p, "n1", "zeta,alpha", "o1: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "n2", "mid,alpha,o1", "o2: int64", row_fn, NULL), NULL);
  assert_string_equal(roots_of(p, buf, sizeof buf), "alpha,mid,zeta");
  assert_null(hn_pipeline_root_input(p, 3));
  /* Producing a former root input removes it. */
  HN_CHECK(hn_pipeline_add(p, "n3", "beta", "zeta: int64", row_fn, NULL), NULL);
  assert_string_equal(roots_of(p, buf, sizeof buf), "alpha,beta,mid");
  hn_pipeline_release(p);
}

static void test_bind_unbind(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  char buf[256];
  HN_CHECK(hn_pipeline_add(p, "n1", "zeta,alpha", "o1: int64", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "n2", "mid,o1", "o2: int64", row_fn, &err), &err);
  hn_array *values = int64_array(NULL, 3);

  HN_CHECK(hn_pipeline_bind(p, "alpha", values, 2, &err), &err);
  assert_string_equal(roots_of(p, buf, sizeof buf), "mid,zeta");
  assert_int_equal(hn__pipeline_bound_index(p, "alpha"), 0);
  assert_int_equal(hn__pipeline_bound_index(p, "mid"), -1);
  HN_CHECK(hn_pipeline_bind(p, "alpha", values, 1, &err), &err); /* rebinding replaces */
  assert_int_equal(p->n_bound, 1);
  assert_int_equal(p->bound_rows[0], 1);
  HN_CHECK(hn_pipeline_bind(p, "mid", values, 0, &err), &err);
  HN_CHECK(hn_pipeline_bind(p, "unused", values, 0, &err), &err);
  assert_string_equal(roots_of(p, buf, sizeof buf), "zeta");

  expect_error(hn_pipeline_bind(p, "o1", values, 0, &err), &err, HN_EINVAL,
               "'o1' is produced by node 'n1' and cannot be bound");
  expect_error(hn_pipeline_bind(p, "zeta", values, 3, &err), &err, HN_ERANGE, "out of range");
  expect_error(hn_pipeline_bind(p, "zeta", values, -1, &err), &err, HN_ERANGE, "out of range");
  expect_error(hn_pipeline_add(p, "n3", "", "unused: int64", row_fn, &err), &err, HN_EINVAL,
               "node 'n3' produces 'unused', which is bound");

  HN_CHECK(hn_pipeline_unbind(p, "alpha", &err), &err);
  assert_string_equal(roots_of(p, buf, sizeof buf), "alpha,zeta");
  expect_error(hn_pipeline_unbind(p, "alpha", &err), &err, HN_ENOTFOUND, "'alpha'");
  HN_CHECK(hn_pipeline_unbind(p, "unused", &err), &err);
  HN_CHECK(hn_pipeline_add(p, "n3", "", "unused: int64", row_fn, &err), &err);
  assert_int_equal(hn__pipeline_bound_index(p, "mid"), 0);
  hn_array_release(values);
  hn_pipeline_release(p);
}

/* ---- plans -------------------------------------------------------------- */

static void test_plan_prunes_to_ancestors(void **state) {
  (void)state;
  hn_pipeline *p = diamond();
  char buf[256];
  const hn_plan *plan = get_plan(p, "x", "b");
  assert_ptr_equal(plan->pipeline, p);
  assert_string_equal(step_names(plan, buf, sizeof buf), "a,b");
  assert_int_equal(plan->n_inputs, 1);
  assert_string_equal(plan->input_names[0], "x");
  assert_int_equal(plan->n_slots, 3);
  assert_string_equal(plan->slot_names[0], "x");
  assert_string_equal(plan->slot_names[1], "a");
  assert_string_equal(plan->slot_names[2], "b");
  assert_null(plan->slot_types[0]);
  assert_ptr_equal(plan->slot_types[2], hn_type_int64());
  assert_int_equal(plan->steps[0].in_slots[0], 0);
  assert_int_equal(plan->steps[0].out_slots[0], 1);
  assert_int_equal(plan->steps[1].in_slots[0], 1);
  assert_int_equal(plan->steps[1].out_slots[0], 2);
  assert_null(plan->steps[0].inner);
  assert_int_equal(plan->n_requested, 1);
  assert_int_equal(plan->requested_slots[0], 2);
  assert_string_equal(plan->requested_names[0], "b");

  /* Everything, and a request in a chosen order; extra provided names are ignored. */
  plan = get_plan(p, "x,unused", "");
  assert_string_equal(step_names(plan, buf, sizeof buf), "a,b,c,d");
  assert_int_equal(plan->n_requested, 4);
  assert_string_equal(plan->requested_names[3], "d");
  assert_int_equal(plan->n_inputs, 1);
  plan = get_plan(p, "x", "d,a");
  assert_string_equal(step_names(plan, buf, sizeof buf), "a,b,c,d");
  assert_string_equal(plan->requested_names[0], "d");
  assert_string_equal(plan->requested_names[1], "a");
  assert_int_equal(plan->requested_slots[1], 1);
  const hn_plan_step *d = &plan->steps[3];
  assert_int_equal(d->in_slots[0], 2); /* b */
  assert_int_equal(d->in_slots[1], 3); /* c */
  assert_int_equal(d->out_slots[0], 4);
  hn_pipeline_release(p);
}

static void test_plan_slot_types(void **state) {
  (void)state;
  hn_pipeline *p = make("p");
  hn_error err;
  HN_CHECK(hn_pipeline_add(p, "a", "x,y", "a: int64", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "b", "x: int64, a: int64", "b: utf8", row_fn, &err), &err);
  const hn_plan *plan = get_plan(p, "x,y", "b");
  assert_int_equal(plan->n_inputs, 2);
  assert_ptr_equal(plan->slot_types[0], hn_type_int64()); /* x: declared by b */
  assert_null(plan->slot_types[1]);                       /* y: nobody declares it */
  assert_ptr_equal(plan->slot_types[3], hn_type_utf8());
  hn_pipeline_release(p);
}

static void test_plan_cache(void **state) {
  (void)state;
  hn_pipeline *p = diamond();
  const hn_plan *p1 = get_plan(p, "x,extra", "d");
  const hn_plan *p2 = get_plan(p, "extra,x,x", "d"); /* compiling twice is free */
  assert_ptr_equal(p1, p2);
  assert_int_equal(p->n_plans, 1);
  const hn_plan *p3 = get_plan(p, "x", "d");
  assert_ptr_not_equal(p1, p3);
  assert_int_equal(p->n_plans, 2);
  const hn_plan *p4 = get_plan(p, "x", "c,b");
  const hn_plan *p5 = get_plan(p, "x", "b,c");
  assert_ptr_not_equal(p4, p5);
  assert_ptr_equal(get_plan(p, "x", "c,b"), p4);

  /* A change drops every cached plan; the next one sees the new node. */
  HN_CHECK(hn_pipeline_add(p, "e", "d,y", "e: int64", row_fn, NULL), NULL);
  assert_int_equal(p->n_plans, 0);
  const hn_plan *p6 = get_plan(p, "x,y", "");
  assert_int_equal(p6->n_steps, 5);
  assert_int_equal(p->n_plans, 1);
  hn_array *v = int64_array(NULL, 1);
  HN_CHECK(hn_pipeline_bind(p, "q", v, 0, NULL), NULL);
  assert_int_equal(p->n_plans, 0);
  hn_array_release(v);
  hn_pipeline_release(p);
}

static void test_plan_missing_inputs(void **state) {
  (void)state;
  hn_pipeline *p = diamond();
  hn_error err;
  const hn_plan *plan = NULL;
  HN_CHECK(hn_pipeline_add(p, "e", "d,y", "e: int64", row_fn, &err), &err);
  expect_error(try_plan(p, "x", "e", &plan, &err), &err, HN_EINVAL,
               "missing inputs: y; required: x, y");
  expect_error(try_plan(p, "", "e", &plan, &err), &err, HN_EINVAL,
               "missing inputs: x, y; required: x, y");
  /* Pruned away: y is not needed for d. */
  plan = get_plan(p, "x", "d");
  assert_int_equal(plan->n_inputs, 1);
  /* A bound value counts, and is an input of the plan. */
  hn_array *v = int64_array(NULL, 2);
  HN_CHECK(hn_pipeline_bind(p, "y", v, 1, &err), &err);
  plan = get_plan(p, "x", "e");
  assert_int_equal(plan->n_inputs, 2);
  assert_string_equal(plan->input_names[1], "y");
  assert_int_equal(p->bound_rows[hn__pipeline_bound_index(p, plan->input_names[1])], 1);
  /* The plan records which inputs the bound defaults feed. */
  int64_t row = -1;
  assert_null(hn__plan_input_bound(plan, 0, &row)); /* x: given */
  assert_ptr_equal(hn__plan_input_bound(plan, 1, &row), v);
  assert_int_equal(row, 1);
  /* Given explicitly, y overrides its bound default. */
  plan = get_plan(p, "x,y", "e");
  assert_null(hn__plan_input_bound(plan, 1, &row));
  hn_array_release(v);
  hn_pipeline_release(p);
}

/* A given name that a node produces overrides it: the producer and its lone ancestors are pruned.
 */
static void test_plan_overrides(void **state) {
  (void)state;
  hn_pipeline *p = diamond();
  char buf[256];
  const hn_plan *plan = get_plan(p, "x,a", "d"); /* x is given but no longer needed */
  assert_int_equal(plan->n_inputs, 1);
  assert_string_equal(plan->input_names[0], "a");
  assert_ptr_equal(plan->slot_types[0], hn_type_int64()); /* the type node a declares */
  assert_int_equal(plan->n_steps, 3);
  for (int64_t s = 0; s < plan->n_steps; s++)
    assert_string_not_equal(plan->steps[s].node->name, "a");
  assert_int_equal(plan->steps[0].in_slots[0], 0); /* b reads the given a */
  /* Overriding b keeps a for c; every output not given is computed. */
  plan = get_plan(p, "x,b", "");
  const char *steps[8];
  for (int64_t s = 0; s < plan->n_steps; s++) steps[s] = plan->steps[s].node->name;
  assert_string_equal(joined(buf, sizeof buf, plan->n_steps, steps), "a,c,d");
  assert_string_equal(joined(buf, sizeof buf, plan->n_requested, plan->requested_names), "a,c,d");
  assert_string_equal(joined(buf, sizeof buf, plan->n_inputs, plan->input_names), "b,x");
  /* Overriding both branches prunes a, even though x is given. */
  plan = get_plan(p, "x,b,c", "d");
  assert_int_equal(plan->n_steps, 1);
  assert_string_equal(joined(buf, sizeof buf, plan->n_inputs, plan->input_names), "b,c");
  /* A multi-output node stays when one of its outputs is still needed. */
  hn_pipeline *q = make("multi");
  HN_CHECK(hn_pipeline_add(q, "m", "x", "u: int64, v: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(q, "pu", "u", "pu: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(q, "pv", "v", "pv: int64", row_fn, NULL), NULL);
  plan = get_plan(q, "x,u", "pu,pv");
  assert_int_equal(plan->n_steps, 3);
  assert_string_equal(joined(buf, sizeof buf, plan->n_inputs, plan->input_names), "u,x");
  const hn_plan_step *pu = NULL;
  for (int64_t s = 0; s < plan->n_steps; s++)
    if (strcmp(plan->steps[s].node->name, "pu") == 0) pu = &plan->steps[s];
  assert_non_null(pu);
  assert_int_equal(pu->in_slots[0], 0); /* the given u, not m's */
  hn_pipeline_release(q);
  /* Overriding the output of a nested node prunes the nested node. */
  hn_pipeline *in = make("inner"), *outer = make("outer");
  HN_CHECK(hn_pipeline_add(in, "n1", "x", "y: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add_nested(outer, "sub", in, "", "y=yy", "", HN_MAP_ZIP, NULL), NULL);
  HN_CHECK(hn_pipeline_add(outer, "post", "yy", "w: int64", row_fn, NULL), NULL);
  plan = get_plan(outer, "yy", "w");
  assert_int_equal(plan->n_steps, 1);
  assert_string_equal(plan->steps[0].node->name, "post");
  hn_pipeline_release(in);
  hn_pipeline_release(outer);
  hn_pipeline_release(p);
}

static void test_plan_bad_requests(void **state) {
  (void)state;
  hn_pipeline *p = diamond();
  hn_error err;
  const hn_plan *plan = NULL;
  expect_error(try_plan(p, "x", "zz", &plan, &err), &err, HN_EINVAL,
               "unknown output 'zz'; available: a, b, c, d");
  expect_error(try_plan(p, "x", "b,zz,x", &plan, &err), &err, HN_EINVAL,
               "unknown outputs 'zz', 'x'; available: a, b, c, d");
  expect_error(try_plan(p, "x,a", "a,d", &plan, &err), &err, HN_EINVAL,
               "output 'a' is requested but also given as an input (overriding node 'a')");
  expect_error(try_plan(p, "a,b,c,d", "", &plan, &err), &err, HN_EINVAL,
               "nothing to compute: every output of pipeline 'diamond' is given as an input");
  expect_error(try_plan(p, "x", "b,b", &plan, &err), &err, HN_EINVAL,
               "output 'b' is requested twice");
  const char *null_name[1] = {NULL};
  expect_error(hn__plan_get(p, 1, null_name, 0, NULL, &plan, &err), &err, HN_EINVAL, "NULL");
  assert_int_equal(p->n_plans, 0);
  hn_pipeline_release(p);
}

/* ---- nested pipelines --------------------------------------------------- */

/* inner: x -(n1)-> y, (y, k) -(n2)-> z; n1 declares x int64, n2 makes utf8. */
static hn_pipeline *inner_pipeline(void) {
  hn_pipeline *in = make("inner");
  hn_error err;
  HN_CHECK(hn_pipeline_add(in, "n1", "x: int64", "y: int64", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add(in, "n2", "y, k", "z: utf8", row_fn, &err), &err);
  return in;
}

static void test_nested_names_and_types(void **state) {
  (void)state;
  hn_pipeline *in = inner_pipeline(), *p = make("outer");
  char buf[256], t[128];
  HN_CHECK(hn_pipeline_add_nested(p, "sub", in, "xs=x", "y=y,z=zz", "", HN_MAP_ZIP, NULL),
           NULL); /* an output mapping lists what is visible */
  const hn_gnode *g = p->nodes[0];
  assert_ptr_equal(g->inner, in);
  assert_int_equal(g->n_inputs, 2);
  assert_string_equal(joined(buf, sizeof buf, 2, (const char *const *)g->inputs), "k,xs");
  assert_string_equal(joined(buf, sizeof buf, 2, (const char *const *)g->inner_inputs), "k,x");
  assert_string_equal(outputs_of(p, buf, sizeof buf), "y,zz");
  assert_string_equal(joined(buf, sizeof buf, 2, (const char *const *)g->inner_outputs), "y,z");
  assert_string_equal(roots_of(p, buf, sizeof buf), "k,xs");
  assert_false(g->mapped[0] || g->mapped[1]);
  assert_null(g->input_types[0]);
  assert_ptr_equal(g->input_types[1], hn_type_int64());
  assert_string_equal(type_str(hn_pipeline_output_type(p, "zz"), t, sizeof t), "utf8");
  assert_null(g->version);
  assert_null(g->row);

  /* Mapped over xs: list outputs, list<int64> expected for xs, k broadcast. */
  HN_CHECK(
      hn_pipeline_add_nested(p, "msub", in, "xs2=x,k2=k", "y=my,z=mz", "xs2", HN_MAP_ZIP, NULL),
      NULL);
  g = p->nodes[1];
  assert_string_equal(joined(buf, sizeof buf, 2, (const char *const *)g->inputs), "k2,xs2");
  assert_false(g->mapped[0]);
  assert_true(g->mapped[1]);
  assert_null(g->input_types[0]);
  assert_string_equal(type_str(g->input_types[1], t, sizeof t), "list<int64>");
  assert_string_equal(type_str(hn_pipeline_output_type(p, "my"), t, sizeof t), "list<int64>");
  assert_string_equal(type_str(hn_pipeline_output_type(p, "mz"), t, sizeof t), "list<utf8>");
  assert_int_equal(g->map_mode, HN_MAP_ZIP);

  /* A producer of xs2 must make list<int64>; a consumer of mz expects list<utf8>. */
  hn_error err;
  expect_error(hn_pipeline_add(p, "mk", "", "xs2: int64", row_fn, &err), &err, HN_ETYPE,
               "type mismatch on 'xs2': node 'mk' produces int64 but node 'msub' expects "
               "list<int64>");
  expect_error(hn_pipeline_add(p, "post", "mz: utf8", "w: int64", row_fn, &err), &err, HN_ETYPE,
               "node 'msub' produces list<utf8> but node 'post' expects utf8");
  hn_pipeline_release(p);
  hn_pipeline_release(in);
}

/*
 * An output mapping exposes only the outputs it maps (Hypernodes' rule):
 * the others keep no name outside, so an outer node may produce one of
 * their inner names, and the inner plan never computes them for the outer
 * pipeline. Without a mapping every inner output is visible.
 */
static void test_nested_output_mapping_hides(void **state) {
  (void)state;
  hn_pipeline *in = inner_pipeline(), *p = make("outer");
  char buf[256];
  HN_CHECK(hn_pipeline_add_nested(p, "sub", in, "xs=x", "z=zz", "", HN_MAP_ZIP, NULL), NULL);
  const hn_gnode *g = p->nodes[0];
  assert_int_equal(g->n_outputs, 1);
  assert_string_equal(g->outputs[0], "zz");
  assert_string_equal(g->inner_outputs[0], "z");
  assert_string_equal(outputs_of(p, buf, sizeof buf), "zz");
  assert_null(hn_pipeline_output_type(p, "y"));
  /* y is free outside: an outer node produces it, another consumes it. */
  HN_CHECK(hn_pipeline_add(p, "maker", "xs", "y: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "user", "y,zz", "w: int64", row_fn, NULL), NULL);
  assert_string_equal(outputs_of(p, buf, sizeof buf), "y,zz,w");
  const hn_plan *plan = get_plan(p, "xs,k", "w");
  const hn_plan_step *sub = NULL;
  for (int64_t s = 0; s < plan->n_steps; s++)
    if (plan->steps[s].node == g) sub = &plan->steps[s];
  assert_non_null(sub);
  assert_int_equal(sub->inner->n_requested, 1);
  assert_string_equal(sub->inner->requested_names[0], "z");
  /* Mapping to an outer name that another node produces is still refused. */
  hn_error err;
  expect_error(hn_pipeline_add_nested(p, "sub2", in, "", "y=w", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "output 'w' is produced by both");
  /* Without an output mapping every inner output is visible under its inner name. */
  hn_pipeline *q = make("all");
  HN_CHECK(hn_pipeline_add_nested(q, "sub", in, "", "", "", HN_MAP_ZIP, &err), &err);
  assert_string_equal(outputs_of(q, buf, sizeof buf), "y,z");
  hn_pipeline_release(q);
  hn_pipeline_release(p);
  hn_pipeline_release(in);
}

static void test_nested_refusals(void **state) {
  (void)state;
  hn_pipeline *in = inner_pipeline(), *p = make("outer");
  hn_error err;
  expect_error(hn_pipeline_add_nested(p, "sub", in, "a=nope", "", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "nested node 'sub': input mapping names 'nope'");
  assert_string_equal(err.node, "sub");
  expect_error(hn_pipeline_add_nested(p, "sub", in, "a=y", "", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL,
               "'y', which is not an input of the inner pipeline 'inner' (it is produced inside)");
  expect_error(hn_pipeline_add_nested(p, "sub", in, "", "nope=o", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "nested node 'sub': output mapping names 'nope'");
  expect_error(hn_pipeline_add_nested(p, "sub", in, "xs=x", "", "x", HN_MAP_ZIP, &err), &err,
               HN_EINVAL,
               "nested node 'sub': map_over names 'x', which is not one of its inputs (k, xs)");
  expect_error(hn_pipeline_add_nested(p, "sub", in, "k=x", "", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "node 'sub' has two inputs named 'k'");
  expect_error(hn_pipeline_add_nested(p, "sub", in, "", "y=z,z=z", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "node 'sub' has two outputs named 'z'");
  expect_error(hn_pipeline_add_nested(p, "sub", in, "", "y=k", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "node 'sub' consumes its own output 'k'");
  expect_error(hn_pipeline_add_nested(p, "sub", p, "", "", "", HN_MAP_ZIP, &err), &err, HN_EINVAL,
               "cannot contain itself");
  hn_pipeline *empty = make("empty");
  expect_error(hn_pipeline_add_nested(p, "sub", empty, "", "", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "no outputs");
  hn_pipeline_release(empty);

  /* Build-time graph errors apply to nested nodes too. */
  HN_CHECK(hn_pipeline_add(p, "a", "q", "x: int64", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "b", "", "y: int64", row_fn, &err), &err);
  expect_error(hn_pipeline_add_nested(p, "sub", in, "", "", "", HN_MAP_ZIP, &err), &err, HN_EINVAL,
               "output 'y' is produced by both 'b' and 'sub'");
  expect_error(hn_pipeline_add_nested(p, "a", in, "", "y=y2", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "a node named 'a' already exists");
  expect_error(hn_pipeline_add_nested(p, "sub", in, "", "y=q", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "cycle: a -> sub -> a");
  assert_int_equal(hn_pipeline_num_nodes(p), 2);
  assert_int_equal(atomic_load(&in->n_parents), 0);

  /* Once nested, the inner pipeline is frozen; released with its parent. */
  HN_CHECK(hn_pipeline_add_nested(p, "sub", in, "", "y=y2", "", HN_MAP_ZIP, &err), &err);
  assert_int_equal(atomic_load(&in->n_parents), 1);
  expect_error(hn_pipeline_add(in, "n3", "z", "w: int64", row_fn, &err), &err, HN_EINVAL,
               "pipeline 'inner' is nested in another pipeline");
  hn_array *v = int64_array(NULL, 1);
  expect_error(hn_pipeline_bind(in, "k", v, 0, &err), &err, HN_EINVAL, "can no longer change");
  expect_error(hn_pipeline_add_nested(in, "back", p, "", "", "", HN_MAP_ZIP, &err), &err, HN_EINVAL,
               "nested in another");
  hn_pipeline_release(p);
  assert_int_equal(atomic_load(&in->n_parents), 0);
  HN_CHECK(hn_pipeline_bind(in, "k", v, 0, &err), &err);
  hn_array_release(v);
  hn_pipeline_release(in);
}

static void test_nested_inner_bound_stays_inside(void **state) {
  (void)state;
  hn_pipeline *in = inner_pipeline(), *p = make("outer");
  char buf[256];
  hn_error err;
  hn_array *v = int64_array(NULL, 1);
  HN_CHECK(hn_pipeline_bind(in, "k", v, 0, &err), &err);
  expect_error(hn_pipeline_add_nested(p, "sub", in, "kk=k", "", "", HN_MAP_ZIP, &err), &err,
               HN_EINVAL, "(it is bound inside)");
  HN_CHECK(hn_pipeline_add_nested(p, "sub", in, "", "", "", HN_MAP_ZIP, &err), &err);
  assert_string_equal(roots_of(p, buf, sizeof buf), "x");
  /* The inner plan takes k from the inner pipeline's bound values. */
  const hn_plan *plan = get_plan(p, "x", "z");
  const hn_plan *inner = plan->steps[0].inner;
  assert_ptr_equal(inner->pipeline, in);
  assert_int_equal(inner->n_inputs, 2);
  assert_string_equal(inner->input_names[0], "k");
  assert_int_equal(hn__pipeline_bound_index(inner->pipeline, "k"), 0);
  assert_int_equal(plan->steps[0].inner_input_index[0], 1); /* outer x -> inner input 1 */
  hn_array_release(v);
  hn_pipeline_release(p);
  hn_pipeline_release(in);
}

/* The inner plan computes only what the outer plan consumes. */
static void test_nested_plan_requests_only_needed(void **state) {
  (void)state;
  hn_pipeline *in = inner_pipeline(), *p = make("outer");
  char buf[256];
  HN_CHECK(hn_pipeline_add_nested(p, "sub", in, "xs=x", "y=y,z=zz", "", HN_MAP_ZIP, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "post", "zz", "out: int64", row_fn, NULL), NULL);
  HN_CHECK(hn_pipeline_add(p, "other", "y", "o2: int64", row_fn, NULL), NULL);

  const hn_plan *plan = get_plan(p, "xs,k", "out");
  assert_string_equal(step_names(plan, buf, sizeof buf), "sub,post");
  const hn_plan_step *s = &plan->steps[0];
  assert_string_equal(plan->input_names[0], "k");
  assert_string_equal(plan->input_names[1], "xs");
  assert_int_equal(s->in_slots[0], 0);
  assert_int_equal(s->in_slots[1], 1);
  assert_int_equal(s->out_slots[0], 2); /* y: allocated though not needed */
  assert_int_equal(s->out_slots[1], 3); /* zz */
  assert_int_equal(plan->steps[1].in_slots[0], 3);
  assert_int_equal(s->inner_output_index[0], -1);
  assert_int_equal(s->inner_output_index[1], 0);
  const hn_plan *ip = s->inner;
  assert_int_equal(ip->n_requested, 1);
  assert_string_equal(ip->requested_names[0], "z");
  assert_string_equal(step_names(ip, buf, sizeof buf), "n1,n2");
  assert_int_equal(s->inner_input_index[0], 0); /* k */
  assert_int_equal(s->inner_input_index[1], 1); /* x */

  /* Only y: the inner plan runs n1 alone and does not use k. */
  plan = get_plan(p, "xs,k", "o2");
  assert_string_equal(step_names(plan, buf, sizeof buf), "sub,other");
  s = &plan->steps[0];
  assert_int_equal(s->inner_output_index[0], 0);
  assert_int_equal(s->inner_output_index[1], -1);
  assert_string_equal(step_names(s->inner, buf, sizeof buf), "n1");
  assert_int_equal(s->inner->n_inputs, 1);
  assert_int_equal(s->inner_input_index[0], -1);
  assert_int_equal(s->inner_input_index[1], 0);

  /* The inner plans live in the inner pipeline's cache. */
  assert_int_equal(in->n_plans, 2);
  hn_pipeline_release(p);
  hn_pipeline_release(in);
}

/* inner (x -> y) inside mid, mapped over x; mid inside outer, mapped over xss. */
static void test_two_levels(void **state) {
  (void)state;
  hn_pipeline *in = make("in"), *mid = make("mid"), *p = make("outer");
  hn_error err;
  char buf[256], t[128];
  HN_CHECK(hn_pipeline_add(in, "f", "x: int64", "y: int64", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(mid, "l1", in, "", "", "x", HN_MAP_ZIP, &err), &err);
  HN_CHECK(hn_pipeline_add(mid, "count", "y", "n: int64", row_fn, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "l2", mid, "xss=x", "y=ys,n=n", "xss", HN_MAP_ZIP, &err),
           &err);
  assert_string_equal(roots_of(p, buf, sizeof buf), "xss");
  assert_string_equal(outputs_of(p, buf, sizeof buf), "ys,n");
  assert_string_equal(type_str(hn_pipeline_output_type(p, "ys"), t, sizeof t), "list<list<int64>>");
  assert_string_equal(type_str(hn_pipeline_output_type(p, "n"), t, sizeof t), "list<int64>");
  assert_string_equal(type_str(p->nodes[0]->input_types[0], t, sizeof t), "list<list<int64>>");

  const hn_plan *plan = get_plan(p, "xss", "ys");
  assert_string_equal(step_names(plan, buf, sizeof buf), "l2");
  const hn_plan *mp = plan->steps[0].inner;
  assert_ptr_equal(mp->pipeline, mid);
  assert_string_equal(step_names(mp, buf, sizeof buf), "l1"); /* count is pruned */
  assert_int_equal(mp->n_requested, 1);
  assert_string_equal(mp->requested_names[0], "y");
  const hn_plan *ip = mp->steps[0].inner;
  assert_ptr_equal(ip->pipeline, in);
  assert_string_equal(step_names(ip, buf, sizeof buf), "f");
  assert_int_equal(mp->steps[0].inner_input_index[0], 0);
  assert_int_equal(mp->steps[0].inner_output_index[0], 0);

  plan = get_plan(p, "xss", "n");
  assert_string_equal(step_names(plan->steps[0].inner, buf, sizeof buf), "l1,count");
  assert_int_equal(plan->steps[0].inner_output_index[0], -1);
  assert_int_equal(plan->steps[0].inner_output_index[1], 0);

  /* Releasing the caller's references first: the outer pipeline keeps the rest alive. */
  hn_pipeline_release(in);
  hn_pipeline_release(mid);
  assert_int_equal(get_plan(p, "xss", "n")->n_steps, 1);
  hn_pipeline_release(p);
}

/* ---- threads ------------------------------------------------------------ */

typedef struct plan_job {
  hn_pipeline *p;
  const hn_plan *got[50];
} plan_job;

static void *plan_worker(void *arg) {
  plan_job *job = arg;
  const char *provided[1] = {"x"}, *requested[2][1] = {{"b"}, {"d"}};
  for (int i = 0; i < 50; i++)
    if (hn__plan_get(job->p, 1, provided, 1, requested[i % 2], &job->got[i], NULL) != HN_OK)
      job->got[i] = NULL;
  return NULL;
}

static void test_plan_get_from_threads(void **state) {
  (void)state;
  hn_pipeline *p = diamond();
  plan_job jobs[4];
  pthread_t threads[4];
  for (int t = 0; t < 4; t++) {
    jobs[t].p = p;
    assert_int_equal(pthread_create(&threads[t], NULL, plan_worker, &jobs[t]), 0);
  }
  for (int t = 0; t < 4; t++) assert_int_equal(pthread_join(threads[t], NULL), 0);
  for (int t = 0; t < 4; t++)
    for (int i = 0; i < 50; i++) {
      assert_non_null(jobs[t].got[i]);
      assert_ptr_equal(jobs[t].got[i], jobs[0].got[i % 2]);
    }
  assert_int_equal(p->n_plans, 2);
  hn_pipeline_release(p);
}

/* ---- allocation failure ------------------------------------------------- */

/* Build a pipeline with a nested node and bound value, then compile plans. */
static hn_status alloc_scenario(const hn_allocator *a, hn_error *err) {
  hn_pipeline *in = NULL, *p = NULL;
  hn_array *v = NULL;
  hn_builder *b = NULL;
  const hn_plan *plan = NULL;
  const char *ins[2] = {"x", "k"}, *outs[2] = {"y", "z"}, *prov[1] = {"xs"};
  const char *in_outer[1] = {"xs"}, *in_inner[1] = {"x"}, *map_over[1] = {"xs"};
  const hn_type *types[2] = {hn_type_int64(), hn_type_utf8()};
  hn_node_def d = {.size = sizeof d};
  d.n_inputs = 2;
  d.inputs = ins;
  d.input_types = types;
  d.n_outputs = 2;
  d.outputs = outs;
  d.output_types = types;
  d.row = row_fn;
  d.name = "n1";
  d.version = "1";
  d.user_data = &g_freed;
  d.user_data_free = count_free;
  hn_nested_def nd = {.size = sizeof nd};
  nd.name = "sub";
  nd.n_input_mapping = 1;
  nd.input_outer = in_outer;
  nd.input_inner = in_inner;
  nd.n_map_over = 1;
  nd.map_over = map_over;
  hn_status st = hn_pipeline_create(a, "inner", &in, err);
  if (st == HN_OK) st = hn_pipeline_add_node(in, &d, err);
  if (st == HN_OK) st = hn_pipeline_create(a, "outer", &p, err);
  /* k is declared utf8 by n1: bind a utf8 value (not under test: libc). */
  if (hn_builder_create(NULL, hn_type_utf8(), &b, NULL) != HN_OK ||
      hn_builder_append_str(b, "k", 1) != HN_OK || hn_builder_finish(b, &v, NULL) != HN_OK)
    fail();
  hn_builder_destroy(b);
  nd.inner = in;
  if (st == HN_OK) st = hn_pipeline_bind(in, "k", v, 0, err);
  if (st == HN_OK) st = hn_pipeline_add_pipeline(p, &nd, err);
  d.name = "post";
  d.n_inputs = 1;
  d.inputs = (const char *[]){"z"};
  d.input_types = NULL;
  d.n_outputs = 1;
  d.outputs = (const char *[]){"w"};
  if (st == HN_OK) st = hn_pipeline_add_node(p, &d, err);
  if (st == HN_OK) st = hn__plan_get(p, 1, prov, 0, NULL, &plan, err);
  if (st == HN_OK) st = hn__plan_get(p, 1, prov, 1, (const char *[]){"y"}, &plan, err);
  if (st == HN_OK) st = hn_pipeline_unbind(in, "k", err) == HN_EINVAL ? HN_OK : HN_EINTERNAL;
  hn_array_release(v);
  hn_pipeline_release(p);
  hn_pipeline_release(in);
  return st;
}

static void test_alloc_failure_everywhere(void **state) {
  (void)state;
  for (int64_t k = 1;; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    hn_error err;
    hn_error_reset(&err);
    g_freed = 0;
    hn_status st = alloc_scenario(&ta.alloc, &err);
    assert_int_equal(ta.live, 0);
    if (ta.failures == 0) {
      HN_CHECK(st, &err);
      assert_int_equal(g_freed, 2);
      break;
    }
    if (st != HN_ENOMEM) {
      print_error("k=%lld: %s: %s\n", (long long)k, hn_status_str(st), err.message);
      fail();
    }
    assert_int_equal(err.code, HN_ENOMEM);
    assert_true(g_freed <= 2);
    assert_true(k < 10000);
  }
}

/* A failed add_node leaves the pipeline exactly as it was. */
static void test_alloc_failure_add_node(void **state) {
  (void)state;
  for (int64_t k = 1;; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_pipeline *p = NULL;
    HN_CHECK(hn_pipeline_create(&ta.alloc, "p", &p, NULL), NULL);
    HN_CHECK(hn_pipeline_add(p, "a", "x", "a: int64", row_fn, NULL), NULL);
    HN_CHECK(hn_pipeline_add(p, "c", "a,y", "c: int64", row_fn, NULL), NULL);
    (void)get_plan(p, "x,y", "c");
    int64_t live = ta.live;
    ta.fail_at = ta.n_allocs + k;
    hn_error err;
    hn_status st = hn_pipeline_add(p, "b", "a,x", "b: int64, b2: int64", row_fn, &err);
    char buf[256];
    if (st == HN_OK) {
      assert_int_equal(ta.failures, 0);
      assert_string_equal(order_of(p, buf, sizeof buf), "a,b,c");
      hn_pipeline_release(p);
      assert_int_equal(ta.live, 0);
      break;
    }
    assert_int_equal(st, HN_ENOMEM);
    assert_int_equal(ta.live, live);
    assert_int_equal(p->n_plans, 1);
    assert_string_equal(order_of(p, buf, sizeof buf), "a,c");
    assert_string_equal(outputs_of(p, buf, sizeof buf), "a,c");
    assert_string_equal(roots_of(p, buf, sizeof buf), "x,y");
    hn_pipeline_release(p);
    assert_int_equal(ta.live, 0);
  }
}

/* A failed compilation leaks nothing and caches nothing; retrying succeeds. */
static void test_alloc_failure_plan(void **state) {
  (void)state;
  for (int64_t k = 1;; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, 0);
    hn_pipeline *in = NULL, *p = NULL;
    HN_CHECK(hn_pipeline_create(&ta.alloc, "in", &in, NULL), NULL);
    HN_CHECK(hn_pipeline_create(&ta.alloc, "p", &p, NULL), NULL);
    HN_CHECK(hn_pipeline_add(in, "f", "x,k", "y: int64, y2: int64", row_fn, NULL), NULL);
    HN_CHECK(hn_pipeline_add(in, "g", "y", "z: int64", row_fn, NULL), NULL);
    HN_CHECK(hn_pipeline_add_nested(p, "sub", in, "xs=x", "", "xs", HN_MAP_ZIP, NULL), NULL);
    HN_CHECK(hn_pipeline_add(p, "post", "z", "w: int64", row_fn, NULL), NULL);
    int64_t live = ta.live;
    ta.fail_at = ta.n_allocs + k;
    hn_error err;
    const hn_plan *plan = NULL;
    hn_status st = try_plan(p, "xs,k", "w,y2", &plan, &err);
    if (st == HN_OK) {
      assert_int_equal(ta.failures, 0);
      assert_int_equal(plan->n_steps, 2);
      hn_pipeline_release(p);
      hn_pipeline_release(in);
      assert_int_equal(ta.live, 0);
      break;
    }
    assert_int_equal(st, HN_ENOMEM);
    assert_int_equal(p->n_plans, 0);
    /* Only inner plans cached in the inner pipeline may remain. */
    if (in->n_plans == 0) assert_int_equal(ta.live, live);
    ta.fail_at = 0;
    HN_CHECK(try_plan(p, "xs,k", "w,y2", &plan, &err), &err);
    hn_pipeline_release(p);
    hn_pipeline_release(in);
    assert_int_equal(ta.live, 0);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_release),
      cmocka_unit_test(test_bad_definitions),
      cmocka_unit_test(test_graph_errors),
      cmocka_unit_test(test_user_data_freed_once),
      cmocka_unit_test(test_order_independent_of_insertion),
      cmocka_unit_test(test_root_inputs_sorted),
      cmocka_unit_test(test_bind_unbind),
      cmocka_unit_test(test_plan_prunes_to_ancestors),
      cmocka_unit_test(test_plan_slot_types),
      cmocka_unit_test(test_plan_cache),
      cmocka_unit_test(test_plan_missing_inputs),
      cmocka_unit_test(test_plan_bad_requests),
      cmocka_unit_test(test_plan_overrides),
      cmocka_unit_test(test_nested_names_and_types),
      cmocka_unit_test(test_nested_output_mapping_hides),
      cmocka_unit_test(test_nested_refusals),
      cmocka_unit_test(test_nested_inner_bound_stays_inside),
      cmocka_unit_test(test_nested_plan_requests_only_needed),
      cmocka_unit_test(test_two_levels),
      cmocka_unit_test(test_plan_get_from_threads),
      cmocka_unit_test(test_alloc_failure_everywhere),
      cmocka_unit_test(test_alloc_failure_add_node),
      cmocka_unit_test(test_alloc_failure_plan),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
