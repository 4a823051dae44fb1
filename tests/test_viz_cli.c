/*
 * `hypernodes viz`, run as a program (HN_CLI_PATH, set by CMake) on the
 * bench scenarios and on the test plugin (HN_VIZ_PLUGIN; HN_VIZ_NOENTRY
 * lacks the entry point). SVGs rendered by Graphviz are parsed for the
 * expected node titles and cluster ids; without Graphviz's `dot` those tests
 * say so and are skipped. Errors: a missing plugin file, a plugin without
 * the entry point or whose entry point fails, an unknown scenario or
 * pipeline, an unwritable output, a bad request, `dot` missing.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

#if !defined(HN_CLI_PATH) || !defined(HN_VIZ_PLUGIN) || !defined(HN_VIZ_NOENTRY)
#error "HN_CLI_PATH, HN_VIZ_PLUGIN and HN_VIZ_NOENTRY must be set by CMake"
#endif

extern char **environ;

/* ---- running the command ------------------------------------------------------ */

typedef struct run_out {
  int status; /* exit code, or -1 when it did not exit normally */
  char *out;
  char *err;
} run_out;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  assert_non_null(s);
  size_t got = fread(s, 1, (size_t)n, f);
  s[got] = '\0';
  fclose(f);
  return s;
}

static void tmp_path(char *buf, size_t cap, const char *what) {
  const char *dir = getenv("TMPDIR");
  snprintf(buf, cap, "%s/hn_test_viz_%ld_%s", dir && *dir ? dir : "/tmp", (long)getpid(), what);
}

/*
 * Run `hypernodes viz <args...>` (NULL-terminated) with `env` ("NAME=value"
 * entries added to, or replacing, the environment; NULL-terminated or NULL).
 */
static run_out run_viz_in(const char *cwd, const char *const *env, const char *const *args) {
  char out_path[256], err_path[256];
  tmp_path(out_path, sizeof out_path, "stdout"); /* absolute: the child may change directory */
  tmp_path(err_path, sizeof err_path, "stderr");
  const char *argv[64] = {HN_CLI_PATH, "viz"};
  int argc = 2;
  for (int i = 0; args[i]; i++) argv[argc++] = args[i];
  argv[argc] = NULL;
  const char *envp[512];
  int n = 0;
  for (int i = 0; env && env[i]; i++) envp[n++] = env[i];
  for (char **e = environ; *e && n < 511; e++) {
    bool replaced = false;
    for (int i = 0; env && env[i]; i++) {
      size_t k = strcspn(env[i], "=");
      if (strncmp(*e, env[i], k + 1) == 0) replaced = true;
    }
    if (!replaced) envp[n++] = *e;
  }
  envp[n] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (cwd) posix_spawn_file_actions_addchdir_np(&fa, cwd);
  pid_t pid;
  int rc = posix_spawn(&pid, HN_CLI_PATH, &fa, NULL, (char *const *)argv, (char *const *)envp);
  posix_spawn_file_actions_destroy(&fa);
  assert_int_equal(rc, 0);
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  run_out r;
  r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  assert_non_null(r.out);
  assert_non_null(r.err);
  unlink(out_path);
  unlink(err_path);
  return r;
}

static run_out run_viz_env(const char *const *env, const char *const *args) {
  return run_viz_in(NULL, env, args);
}

static run_out run_viz(const char *const *args) {
  return run_viz_in(NULL, NULL, args);
}

static void run_out_free(run_out *r) {
  free(r->out);
  free(r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Assert an exit status and a piece of stderr, printing both otherwise. */
static void expect(const run_out *r, int status, const char *in_err) {
  if (r->status != status || (in_err && !strstr(r->err, in_err)))
    fail_msg("exit %d (want %d), stderr:\n%s\nwant in it: %s", r->status, status, r->err,
             in_err ? in_err : "(anything)");
}

/* Graphviz's `dot` on PATH; when absent the calling test says so and is skipped. */
static void need_graphviz(void) {
  const char *path = getenv("PATH");
  char buf[4096];
  for (const char *s = path ? path : ""; *s;) {
    const char *end = strchr(s, ':');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    snprintf(buf, sizeof buf, "%.*s/dot", (int)len, s);
    if (len && access(buf, X_OK) == 0) return;
    s += len + (end ? 1 : 0);
  }
  print_message(
      "SKIPPED: Graphviz's `dot` is not on PATH: install the Debian package graphviz "
      "(bash scripts/setup) to check rendered SVGs\n");
  skip();
}

/* ---- reading an SVG written by Graphviz ------------------------------------------ */

/*
 * Graphviz writes each drawn node as <g id="nodeN" class="node"><title>ID</title>
 * and each cluster as <g id="clustN" class="cluster"><title>NAME</title>.
 * Count the groups of `class` ("node", "cluster") whose title is `title`.
 */
static int svg_count(const char *svg, const char *class_name, const char *title) {
  char open[64];
  snprintf(open, sizeof open, "class=\"%s", class_name);
  int n = 0;
  for (const char *s = strstr(svg, open); s; s = strstr(s + 1, open)) {
    char after = s[strlen(open)];
    if (after != '"' && after != ' ') continue; /* "node pruned" is a node too */
    const char *t = strstr(s, "<title>");
    const char *e = t ? strstr(t, "</title>") : NULL;
    if (!e) break;
    t += 7;
    if ((size_t)(e - t) == strlen(title) && strncmp(t, title, (size_t)(e - t)) == 0) n++;
  }
  return n;
}

static void assert_svg_has(const char *svg, const char *class_name, const char *title) {
  if (svg_count(svg, class_name, title) != 1)
    fail_msg("the SVG has %d %s groups titled '%s' (want 1)", svg_count(svg, class_name, title),
             class_name, title);
}

/* The group id ("clust1") of the cluster titled `title`, copied into buf. */
static const char *svg_cluster_id(const char *svg, const char *title, char *buf, size_t cap) {
  char want[256];
  snprintf(want, sizeof want, "<title>%s</title>", title);
  const char *t = strstr(svg, want);
  if (!t) fail_msg("no cluster titled %s", title);
  const char *g = t;
  while (g > svg && strncmp(g, "<g id=\"", 7) != 0) g--;
  const char *q = strchr(g + 7, '"');
  snprintf(buf, cap, "%.*s", (int)(q - (g + 7)), g + 7);
  assert_non_null(strstr(q, "class=\"cluster\""));
  return buf;
}

/* Render to a file with -o and read it back. */
static char *render_file(const char *const *args, const char *file) {
  run_out r = run_viz(args);
  expect(&r, 0, NULL);
  assert_string_equal(r.out, ""); /* everything went to the file */
  run_out_free(&r);
  char *svg = slurp(file);
  assert_non_null(svg);
  unlink(file);
  assert_non_null(strstr(svg, "<svg"));
  return svg;
}

/* ---- drawings ------------------------------------------------------------------------ */

static void test_nested_scenario_svg(void **state) {
  (void)state;
  need_graphviz();
  char file[256];
  tmp_path(file, sizeof file, "nested.svg");
  char *svg = render_file(ARGS("nested", "-T", "svg", "-o", file), file);
  char id[64];
  assert_string_equal(svg_cluster_id(svg, "cluster:per_sentence", id, sizeof id), "clust1");
  assert_int_equal(svg_count(svg, "cluster", "cluster:per_sentence"), 1);
  const char *nodes[] = {"input:sentences",
                         "per_sentence/input:text",
                         "per_sentence/node:clean",
                         "per_sentence/node:tokenize",
                         "per_sentence/node:length",
                         "per_sentence/output:n_tokens",
                         "output:lengths",
                         "output:tokens",
                         "node:average",
                         "node:vocabulary",
                         "output:avg_length",
                         "output:vocabulary"};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) assert_svg_has(svg, "node", nodes[i]);
  assert_non_null(strstr(svg, ">map over sentences (zip)</text>"));
  free(svg);
}

static void test_plugin_svg(void **state) {
  (void)state;
  need_graphviz();
  char file[256];
  tmp_path(file, sizeof file, "orders.svg");
  char *svg = render_file(ARGS("--plugin", HN_VIZ_PLUGIN, "orders", "-Tsvg", "-o", file), file);
  char id[64];
  assert_string_equal(svg_cluster_id(svg, "cluster:each_order", id, sizeof id), "clust1");
  const char *nodes[] = {"input:orders",          "each_order/input:price",
                         "each_order/input:rate", "each_order/node:with_tax",
                         "each_order/node:round", "each_order/output:rounded",
                         "output:totals",         "node:sum",
                         "output:grand_total"};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) assert_svg_has(svg, "node", nodes[i]);
  assert_non_null(strstr(svg, "= 0.2")); /* the bound default */
  free(svg);

  /* Depth 1: the nested pipeline is one box, no cluster. */
  svg = render_file(
      ARGS("--plugin", HN_VIZ_PLUGIN, "orders", "--depth", "1", "-T", "svg", "-o", file), file);
  assert_null(strstr(svg, "class=\"cluster\""));
  assert_svg_has(svg, "node", "node:each_order");
  assert_int_equal(svg_count(svg, "node", "each_order/node:round"), 0);
  free(svg);
}

static void test_request_greys_in_svg(void **state) {
  (void)state;
  need_graphviz();
  char file[256];
  tmp_path(file, sizeof file, "request.svg");
  char *svg = render_file(ARGS("text", "--outputs", "tokens", "-T", "svg", "-o", file), file);
  assert_svg_has(svg, "node pruned", "node:count");
  assert_svg_has(svg, "node", "node:tokenize");
  assert_int_equal(svg_count(svg, "node pruned", "node:tokenize"), 0);
  free(svg);
}

static void test_dot_text_and_png(void **state) {
  (void)state;
  run_out r = run_viz(ARGS("nested", "--orientation", "LR", "--no-types"));
  expect(&r, 0, NULL);
  assert_true(strncmp(r.out, "digraph \"nested\" {\n", 19) == 0);
  assert_non_null(strstr(r.out, "rankdir=LR"));
  assert_non_null(strstr(r.out, "subgraph \"cluster:per_sentence\" {"));
  assert_null(strstr(r.out, "list<utf8>"));
  run_out_free(&r);

  r = run_viz(ARGS("stateful", "--outputs", "embedding"));
  expect(&r, 0, NULL);
  assert_non_null(strstr(r.out, "\"input:encoder\" [shape=hexagon")); /* the scenario's resource */
  assert_non_null(strstr(r.out, "class=\"requested\""));
  run_out_free(&r);

  r = run_viz(ARGS("--plugin", HN_VIZ_PLUGIN, "--list"));
  expect(&r, 0, NULL);
  assert_string_equal(r.out, "orders\ntiny\n");
  run_out_free(&r);

  /* A bare file name in the current directory; the nodes' user data is freed before unloading. */
  char dir[512];
  snprintf(dir, sizeof dir, "%s", HN_VIZ_PLUGIN);
  char *slash = strrchr(dir, '/');
  assert_non_null(slash);
  *slash = '\0';
  r = run_viz_in(dir, NULL, ARGS("--plugin", slash + 1, "tiny"));
  expect(&r, 0, "viz_plugin: user data of 'inc' freed (ok)");
  assert_non_null(strstr(r.out, "\"node:inc\" ["));
  run_out_free(&r);
  r = run_viz(ARGS("--list"));
  expect(&r, 0, NULL);
  assert_non_null(strstr(r.out, "nested "));
  run_out_free(&r);
  r = run_viz(ARGS("--help"));
  expect(&r, 0, NULL);
  assert_non_null(strstr(r.out, "--plugin LIB.so"));
  run_out_free(&r);

  need_graphviz();
  char file[256];
  tmp_path(file, sizeof file, "tiny.png");
  r = run_viz(ARGS("--plugin", HN_VIZ_PLUGIN, "tiny", "-T", "png", "-o", file));
  expect(&r, 0, NULL);
  run_out_free(&r);
  char *png = slurp(file);
  assert_non_null(png);
  assert_memory_equal(png, "\x89PNG", 4);
  free(png);
  unlink(file);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void test_plugin_errors(void **state) {
  (void)state;
  run_out r = run_viz(ARGS("--plugin", "/nonexistent/libnothing.so"));
  expect(&r, 1, "cannot load the plugin '/nonexistent/libnothing.so'");
  assert_non_null(strstr(r.err, "No such file"));
  run_out_free(&r);

  r = run_viz(ARGS("--plugin", HN_VIZ_NOENTRY));
  expect(&r, 1, "does not export hypernodes_pipelines()");
  assert_non_null(strstr(r.err, "hn_status hypernodes_pipelines(hn_pipeline_add_fn add"));
  run_out_free(&r);

  r = run_viz_env(ARGS("HN_VIZ_PLUGIN_FAIL=1"), ARGS("--plugin", HN_VIZ_PLUGIN, "tiny"));
  expect(&r, 1, "hypernodes_pipelines() of '" HN_VIZ_PLUGIN "' failed: HN_EUNSUPPORTED");
  assert_non_null(strstr(r.err, "the test plugin was asked to fail"));
  run_out_free(&r);

  r = run_viz_env(ARGS("HN_VIZ_PLUGIN_TWICE=1"), ARGS("--plugin", HN_VIZ_PLUGIN, "tiny"));
  expect(&r, 1, "a pipeline named 'tiny' was added before");
  run_out_free(&r);

  r = run_viz(ARGS("--plugin", HN_VIZ_PLUGIN));
  expect(&r, 1, "has 2 pipelines; name one of: orders tiny");
  run_out_free(&r);
  r = run_viz(ARGS("--plugin", HN_VIZ_PLUGIN, "nope"));
  expect(&r, 1, "has no pipeline 'nope'; it has: orders tiny");
  run_out_free(&r);
}

static void test_usage_and_output_errors(void **state) {
  (void)state;
  run_out r = run_viz(ARGS("nope"));
  expect(&r, 2, "unknown scenario 'nope'; the scenarios are: text stateful");
  run_out_free(&r);
  r = run_viz(ARGS("nested", "-T", "gif"));
  expect(&r, 2, "unknown format 'gif'");
  run_out_free(&r);
  r = run_viz(ARGS("nested", "--depth", "-1"));
  expect(&r, 2, "'-1' is not a depth");
  run_out_free(&r);
  r = run_viz(ARGS("nested", "--orientation", "up"));
  expect(&r, 2, "'up' is not TB or LR");
  run_out_free(&r);
  r = run_viz(ARGS("nested", "--bogus"));
  expect(&r, 2, "unknown option '--bogus'");
  run_out_free(&r);
  const char *none[] = {NULL};
  r = run_viz(none);
  expect(&r, 2, "name a scenario to draw, or give --plugin LIB.so");
  run_out_free(&r);

  r = run_viz(ARGS("nested", "-o", "/nonexistent/dir/out.dot"));
  expect(&r, 1, "cannot write '/nonexistent/dir/out.dot'");
  run_out_free(&r);
  r = run_viz(ARGS("text", "--outputs", "nope"));
  expect(&r, 1, "unknown output 'nope'");
  run_out_free(&r);
  r = run_viz(ARGS("text", "--inputs", "unused"));
  expect(&r, 1, "missing inputs: text");
  run_out_free(&r);

  /* An existing file is left alone when the drawing fails before writing. */
  char file[256];
  tmp_path(file, sizeof file, "keep.dot");
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fputs("keep", f);
  fclose(f);
  r = run_viz(ARGS("text", "--outputs", "nope", "-o", file));
  expect(&r, 1, NULL);
  run_out_free(&r);
  char *kept = slurp(file);
  assert_string_equal(kept, "keep");
  free(kept);
  unlink(file);
}

/* A directory holding a fake `dot` that fails: the file is removed, the status reported. */
static void test_graphviz_failing(void **state) {
  (void)state;
  char dir[256], fake[300], path_env[320], file[256];
  tmp_path(dir, sizeof dir, "fake_dot");
  mkdir(dir, 0700);
  snprintf(fake, sizeof fake, "%s/dot", dir);
  FILE *f = fopen(fake, "w");
  assert_non_null(f);
  fputs("#!/bin/sh\ncat >/dev/null\necho 'fake dot: no' >&2\nexit 3\n", f);
  fclose(f);
  chmod(fake, 0700);
  snprintf(path_env, sizeof path_env, "PATH=%s:/usr/bin:/bin", dir);
  tmp_path(file, sizeof file, "failed.svg");
  run_out r = run_viz_env(ARGS(path_env), ARGS("nested", "-T", "svg", "-o", file));
  expect(&r, 1, "-Tsvg failed with exit status 3");
  assert_non_null(strstr(r.err, "fake dot: no"));
  run_out_free(&r);
  struct stat st;
  assert_int_not_equal(stat(file, &st), 0);
  unlink(fake);
  rmdir(dir);
}

static void test_without_graphviz(void **state) {
  (void)state;
  char file[256];
  tmp_path(file, sizeof file, "no_dot.svg");
  /* PATH with no `dot` on it: a clear message naming the package, and no file. */
  run_out r = run_viz_env(ARGS("PATH=/nonexistent"), ARGS("nested", "-T", "svg", "-o", file));
  expect(&r, 1, "needs Graphviz's `dot` program, which is not on PATH");
  assert_non_null(strstr(r.err, "Debian package graphviz"));
  run_out_free(&r);
  struct stat st;
  assert_int_not_equal(stat(file, &st), 0);
  /* DOT text needs no Graphviz. */
  r = run_viz_env(ARGS("PATH=/nonexistent"), ARGS("nested"));
  expect(&r, 0, NULL);
  assert_non_null(strstr(r.out, "digraph"));
  run_out_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_nested_scenario_svg),  cmocka_unit_test(test_plugin_svg),
      cmocka_unit_test(test_request_greys_in_svg), cmocka_unit_test(test_dot_text_and_png),
      cmocka_unit_test(test_plugin_errors),        cmocka_unit_test(test_usage_and_output_errors),
      cmocka_unit_test(test_graphviz_failing),     cmocka_unit_test(test_without_graphviz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
