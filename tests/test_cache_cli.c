/*
 * `hypernodes cache stats DIR` and `hypernodes cache clear DIR`, run as a
 * program (HN_CLI_PATH, set by CMake) on a directory a map filled: the
 * counts printed, clearing, a directory without a cache (an error, nothing
 * created), and usage errors.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

#ifndef HN_CLI_PATH
#error "HN_CLI_PATH must be set by CMake"
#endif

/* Run `hypernodes ARGS` through the shell; its stdout and stderr into out; the exit code. */
static int run(const char *args, char *out, size_t cap) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", HN_CLI_PATH, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, cap - 1, p);
  out[n] = '\0';
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static hn_status id(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

/* Map a two-node pipeline over 10 items into the cache in dir: 2 chunks, 20 items. */
static void fill(const char *dir) {
  hn_error err;
  hn_cache *cache = NULL;
  HN_CHECK(hn_cache_open(NULL, dir, NULL, &cache, &err), &err);
  hn_pipeline *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "p", &p, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "a", "x: int64", "y: int64", id, &err), &err);
  HN_CHECK(hn_pipeline_add(p, "b", "y", "z: int64", id, &err), &err);
  int64_t xs[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
  hn_builder *b = NULL;
  hn_array *col = NULL;
  HN_CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err), &err);
  HN_CHECK(hn_builder_append_values(b, xs, 10), NULL);
  HN_CHECK(hn_builder_finish(b, &col, &err), &err);
  hn_builder_destroy(b);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "x", col, &err), &err);
  hn_array_release(col);
  hn_run_options o = {.size = sizeof o, .map_over_spec = "x", .cache = cache};
  hn_result *r = NULL;
  HN_CHECK(hn_pipeline_map(p, NULL, in, &o, &r, &err), &err);
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_cache_close(cache);
}

static void remove_dir(const char *dir) {
  char path[128];
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/lock.mdb", dir);
  unlink(path);
  rmdir(dir);
}

static void test_stats_and_clear(void **state) {
  (void)state;
  char dir[64] = "/tmp/hn_cache_cli_XXXXXX", args[256], out[4096];
  assert_non_null(mkdtemp(dir));
  fill(dir);
  snprintf(args, sizeof args, "cache stats %s", dir);
  assert_int_equal(run(args, out, sizeof out), 0);
  assert_non_null(strstr(out, "chunks     2\n"));
  assert_non_null(strstr(out, "items      20\n"));
  assert_non_null(strstr(out, "stored "));
  snprintf(args, sizeof args, "cache clear %s", dir);
  assert_int_equal(run(args, out, sizeof out), 0);
  assert_non_null(strstr(out, "2 chunks, 20 items"));
  snprintf(args, sizeof args, "cache stats %s", dir);
  assert_int_equal(run(args, out, sizeof out), 0);
  assert_non_null(strstr(out, "chunks     0\n"));
  remove_dir(dir);
}

static void test_no_cache_there(void **state) {
  (void)state;
  char dir[64] = "/tmp/hn_cache_cli_XXXXXX", args[256], out[4096], path[128];
  assert_non_null(mkdtemp(dir));
  for (int k = 0; k < 2; k++) {
    snprintf(args, sizeof args, "cache %s %s", k ? "clear" : "stats", dir);
    assert_int_equal(run(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "no cache there"));
    assert_non_null(strstr(out, dir));
  }
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  struct stat sb;
  assert_int_not_equal(stat(path, &sb), 0); /* nothing created */
  rmdir(dir);
}

static void test_usage_errors(void **state) {
  (void)state;
  char out[4096];
  assert_int_equal(run("cache", out, sizeof out), 2);
  assert_non_null(strstr(out, "usage: hypernodes cache stats DIR"));
  assert_int_equal(run("cache frobnicate /tmp", out, sizeof out), 2);
  assert_int_equal(run("cache stats", out, sizeof out), 2);
  assert_int_equal(run("cache --help", out, sizeof out), 0);
  assert_non_null(strstr(out, "hypernodes cache clear DIR"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_stats_and_clear),
      cmocka_unit_test(test_no_cache_there),
      cmocka_unit_test(test_usage_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
