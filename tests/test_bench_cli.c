/*
 * `hypernodes bench`, run as a program (HN_CLI_PATH, set by CMake): usage
 * errors are clear, a deliberately wrong engine result is caught by the
 * checksum, and the JSON output parses and has the documented fields.
 * Nothing here asserts a timing.
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_support.h"

#ifndef HN_CLI_PATH
#error "HN_CLI_PATH must name the hypernodes executable"
#endif

extern char **environ;

/* ---- running the command ---------------------------------------------------- */

typedef struct run_out {
  int status; /* exit code, or -1 when it did not exit normally */
  char *out;  /* stdout */
  char *err;  /* stderr */
} run_out;

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
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
  snprintf(buf, cap, "%s/hn_test_bench_%ld_%s", dir && *dir ? dir : "/tmp", (long)getpid(), what);
}

/* Run `hypernodes bench <args...>` (NULL-terminated), capturing stdout and stderr. */
static run_out run_bench(const char *const *args) {
  char out_path[256], err_path[256];
  tmp_path(out_path, sizeof out_path, "stdout");
  tmp_path(err_path, sizeof err_path, "stderr");
  const char *argv[64] = {HN_CLI_PATH, "bench"};
  int argc = 2;
  for (int i = 0; args[i]; i++) argv[argc++] = args[i];
  argv[argc] = NULL;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawn(&pid, HN_CLI_PATH, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  assert_int_equal(rc, 0);
  int ws = 0;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  run_out r;
  r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
  r.out = slurp(out_path);
  r.err = slurp(err_path);
  unlink(out_path);
  unlink(err_path);
  return r;
}

static void run_out_free(run_out *r) {
  free(r->out);
  free(r->err);
}

/* ---- a minimal JSON parser (a tree of values) -------------------------------- */

typedef enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jval {
  jtype type;
  bool b;
  double num;
  char *str;   /* J_STR */
  int n;       /* J_ARR / J_OBJ: members */
  char **keys; /* J_OBJ */
  struct jval **items;
} jval;

typedef struct jparser {
  const char *p;
  const char *error;
} jparser;

static void jfree(jval *v) {
  if (!v) return;
  for (int i = 0; i < v->n; i++) {
    jfree(v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->str);
  free(v);
}

static void jskip(jparser *ps) {
  while (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\t' || *ps->p == '\r') ps->p++;
}

static jval *jnew(jtype t) {
  jval *v = calloc(1, sizeof *v);
  assert_non_null(v);
  v->type = t;
  return v;
}

static char *jstring(jparser *ps) {
  if (*ps->p != '"') return ps->error = "expected a string", NULL;
  ps->p++;
  size_t cap = 16, len = 0;
  char *s = malloc(cap);
  assert_non_null(s);
  while (*ps->p != '"') {
    unsigned char c = (unsigned char)*ps->p;
    if (c == '\0' || c < 0x20) {
      free(s);
      return ps->error = "bad character in a string", NULL;
    }
    if (c == '\\') {
      ps->p++;
      char e = *ps->p;
      if (e == 'u') {
        for (int i = 1; i <= 4; i++)
          if (!strchr("0123456789abcdefABCDEF", ps->p[i]) || !ps->p[i]) {
            free(s);
            return ps->error = "bad \\u escape", NULL;
          }
        ps->p += 4;
        c = '?';
      } else if (strchr("\"\\/bfnrt", e) && e) {
        c = (unsigned char)(e == 'n' ? '\n' : e == 't' ? '\t' : e);
      } else {
        free(s);
        return ps->error = "bad escape", NULL;
      }
    }
    if (len + 2 > cap) s = realloc(s, cap *= 2);
    assert_non_null(s);
    s[len++] = (char)c;
    ps->p++;
  }
  ps->p++;
  s[len] = '\0';
  return s;
}

static jval *jvalue(jparser *ps, int depth);

static jval *jcontainer(jparser *ps, int depth, bool object) {
  jval *v = jnew(object ? J_OBJ : J_ARR);
  char close = object ? '}' : ']';
  ps->p++;
  jskip(ps);
  if (*ps->p == close) {
    ps->p++;
    return v;
  }
  for (;;) {
    char *key = NULL;
    if (object) {
      jskip(ps);
      key = jstring(ps);
      if (!key) break;
      jskip(ps);
      if (*ps->p != ':') {
        free(key);
        ps->error = "expected ':'";
        break;
      }
      ps->p++;
    }
    jval *item = jvalue(ps, depth + 1);
    if (!item) {
      free(key);
      break;
    }
    v->items = realloc(v->items, sizeof *v->items * (size_t)(v->n + 1));
    assert_non_null(v->items);
    if (object) {
      v->keys = realloc(v->keys, sizeof *v->keys * (size_t)(v->n + 1));
      assert_non_null(v->keys);
      v->keys[v->n] = key;
    }
    v->items[v->n++] = item;
    jskip(ps);
    if (*ps->p == ',') {
      ps->p++;
      continue;
    }
    if (*ps->p == close) {
      ps->p++;
      return v;
    }
    ps->error = "expected ',' or a closing bracket";
    break;
  }
  jfree(v);
  return NULL;
}

static jval *jvalue(jparser *ps, int depth) {
  if (depth > 64) return ps->error = "too deep", NULL;
  jskip(ps);
  const char *p = ps->p;
  if (*p == '{' || *p == '[') return jcontainer(ps, depth, *p == '{');
  if (*p == '"') {
    char *s = jstring(ps);
    if (!s) return NULL;
    jval *v = jnew(J_STR);
    v->str = s;
    return v;
  }
  if (strncmp(p, "true", 4) == 0 || strncmp(p, "false", 5) == 0) {
    jval *v = jnew(J_BOOL);
    v->b = *p == 't';
    ps->p += v->b ? 4 : 5;
    return v;
  }
  if (strncmp(p, "null", 4) == 0) {
    ps->p += 4;
    return jnew(J_NULL);
  }
  /* Numbers: JSON grammar only (no NaN, Infinity, hex or leading '+'). */
  const char *q = p;
  if (*q == '-') q++;
  if (*q < '0' || *q > '9') return ps->error = "unexpected character", NULL;
  if (*q == '0' && q[1] >= '0' && q[1] <= '9') return ps->error = "leading zero", NULL;
  while (*q >= '0' && *q <= '9') q++;
  if (*q == '.') {
    q++;
    if (*q < '0' || *q > '9') return ps->error = "bad fraction", NULL;
    while (*q >= '0' && *q <= '9') q++;
  }
  if (*q == 'e' || *q == 'E') {
    q++;
    if (*q == '+' || *q == '-') q++;
    if (*q < '0' || *q > '9') return ps->error = "bad exponent", NULL;
    while (*q >= '0' && *q <= '9') q++;
  }
  jval *v = jnew(J_NUM);
  v->num = strtod(p, NULL);
  ps->p = q;
  return v;
}

static jval *jparse(const char *text, const char **error) {
  jparser ps = {text, NULL};
  jval *v = jvalue(&ps, 0);
  if (v) {
    jskip(&ps);
    if (*ps.p != '\0') {
      jfree(v);
      v = NULL;
      ps.error = "trailing characters";
    }
  }
  *error = ps.error;
  return v;
}

static const jval *jget(const jval *obj, const char *key) {
  if (!obj || obj->type != J_OBJ) return NULL;
  for (int i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return obj->items[i];
  return NULL;
}

static const jval *jget_typed(const jval *obj, const char *key, jtype t) {
  const jval *v = jget(obj, key);
  if (!v || v->type != t) {
    print_error("field '%s' missing or of the wrong type\n", key);
    fail();
  }
  return v;
}

static jval *parse_file(const char *path) {
  char *text = slurp(path);
  const char *error = NULL;
  jval *v = jparse(text, &error);
  if (!v) print_error("%s does not parse: %s\n%s\n", path, error, text);
  free(text);
  assert_non_null(v);
  return v;
}

/* ---- tests ------------------------------------------------------------------- */

static void test_json_parser_itself(void **state) {
  (void)state;
  const char *error = NULL;
  const char *good = "{\"a\": [1, -2.5e3, true, null, \"x\\\"y\"], \"b\": {}}";
  jval *v = jparse(good, &error);
  assert_non_null(v);
  assert_int_equal(jget(v, "a")->n, 5);
  jfree(v);
  const char *bad[] = {"{\"a\": NaN}", "[1, 2", "{\"a\" 1}", "[01]", "[1,]", "{} x", "[Infinity]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    v = jparse(bad[i], &error);
    if (v) print_error("accepted %s\n", bad[i]);
    assert_null(v);
  }
}

static void expect_usage_error(const char *const *args, const char *needle) {
  run_out r = run_bench(args);
  if (r.status != 2 || !strstr(r.err, needle))
    print_error("status %d, stderr: %s(expected exit 2 and '%s')\n", r.status, r.err, needle);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, needle));
  assert_non_null(strstr(r.err, "hypernodes bench"));
  run_out_free(&r);
}

static void test_usage_errors(void **state) {
  (void)state;
  expect_usage_error((const char *const[]){"--scale", "huge", NULL},
                     "--scale: unknown scale 'huge'");
  expect_usage_error((const char *const[]){"--items", "12x", NULL},
                     "--items: '12x' is not an integer");
  expect_usage_error((const char *const[]){"--items", "0", NULL}, "--items: 0 is out of range");
  expect_usage_error((const char *const[]){"--items", NULL}, "--items: missing value");
  expect_usage_error((const char *const[]){"--repeats=-1", NULL}, "--repeats");
  expect_usage_error((const char *const[]){"--warmup", "x", NULL}, "--warmup");
  expect_usage_error((const char *const[]){"--threads", "100000", NULL}, "--threads");
  expect_usage_error((const char *const[]){"--scenarios", "text,bogus", NULL},
                     "--scenarios: unknown scenario 'bogus'");
  expect_usage_error((const char *const[]){"--engines", "sequential,gpu", NULL},
                     "--engines: unknown engine 'gpu'");
  expect_usage_error((const char *const[]){"--return-formats", "csv", NULL},
                     "--return-formats: unknown return format 'csv'");
  expect_usage_error((const char *const[]){"--materialize", "diagonal", NULL},
                     "--materialize: unknown strategy 'diagonal'");
  expect_usage_error((const char *const[]){"--skip-native", "--chart", "x.svg", NULL}, "--chart");
  expect_usage_error((const char *const[]){"--frobnicate", NULL}, "unknown option '--frobnicate'");
  expect_usage_error((const char *const[]){"stray", NULL}, "unexpected argument 'stray'");
  /* Issue 11: native alone, skipped, ran nothing and said nothing. */
  expect_usage_error((const char *const[]){"--engines", "native", "--skip-native", NULL},
                     "--skip-native: nothing to run");
  expect_usage_error((const char *const[]){"--skip-native", "--engines", "native,native", NULL},
                     "nothing to run");
}

/* The scenario names listed by --help, one per line of its "scenarios:" section. */
static int help_scenarios(char names[16][32]) {
  run_out r = run_bench((const char *const[]){"--help", NULL});
  assert_int_equal(r.status, 0);
  const char *p = strstr(r.out, "scenarios:\n");
  assert_non_null(p);
  p += strlen("scenarios:\n");
  int n = 0;
  while (strncmp(p, "  ", 2) == 0 && n < 16) {
    assert_int_equal(sscanf(p, "%31s", names[n]), 1);
    n++;
    p = strchr(p, '\n');
    assert_non_null(p);
    p++;
  }
  run_out_free(&r);
  return n;
}

/* Issue 11: an unknown scenario lists every scenario (cpu was missing): the help's list. */
static void test_unknown_scenario_lists_all(void **state) {
  (void)state;
  char names[16][32];
  int n = help_scenarios(names);
  assert_true(n >= 6);
  run_out r = run_bench((const char *const[]){"--scenarios", "bogus", NULL});
  assert_int_equal(r.status, 2);
  char expected[512] = "(expected ";
  for (int i = 0; i < n; i++) {
    if (i) strcat(expected, ", ");
    strcat(expected, names[i]);
  }
  strcat(expected, ")");
  if (!strstr(r.err, expected)) print_error("stderr: %s(expected '%s')\n", r.err, expected);
  assert_non_null(strstr(r.err, expected));
  assert_non_null(strstr(r.err, "cpu"));
  run_out_free(&r);
}

/* A report file that cannot be written is refused before the run, with the system's reason. */
static void expect_unwritable(const char *option, const char *path, const char *reason) {
  run_out r = run_bench((const char *const[]){"--scale", "tiny", "--scenarios", "numeric",
                                              "--engines", "sequential", "--repeats", "1",
                                              "--warmup", "0", option, path, NULL});
  char needle[512];
  snprintf(needle, sizeof needle, "%s: cannot write '%s': %s", option, path, reason);
  if (r.status != 2 || !strstr(r.err, needle))
    print_error("status %d\nstdout:\n%s\nstderr:\n%s(expected exit 2 and '%s')\n", r.status, r.out,
                r.err, needle);
  assert_int_equal(r.status, 2);
  assert_non_null(strstr(r.err, needle));
  assert_null(strstr(r.out, "numeric:")); /* nothing ran */
  run_out_free(&r);
}

static void test_unwritable_outputs_refused_first(void **state) {
  (void)state;
  expect_unwritable("--json", "/nonexistent-hn-dir/out.json", "No such file or directory");
  expect_unwritable("--json", "/", "Is a directory");
  expect_unwritable("--chart", "/nonexistent-hn-dir/c.svg", "No such file or directory");
  /* The check leaves nothing behind and truncates nothing. */
  char json[256], keep[256];
  tmp_path(json, sizeof json, "new.json");
  tmp_path(keep, sizeof keep, "keep.json");
  unlink(json);
  FILE *f = fopen(keep, "w");
  assert_non_null(f);
  fputs("keep", f);
  fclose(f);
  for (int i = 0; i < 2; i++) {
    run_out r = run_bench((const char *const[]){"--scale", "tiny", "--json", i ? keep : json,
                                                "--chart", "/nonexistent-hn-dir/c.svg", NULL});
    assert_int_equal(r.status, 2);
    run_out_free(&r);
  }
  assert_int_equal(access(json, F_OK), -1);
  char *text = slurp(keep);
  assert_string_equal(text, "keep");
  free(text);
  unlink(keep);
}

/*
 * Issue 11: the arrow return format read only the first batch of the
 * stream, so a columnar map of more than one morsel (65536 rows) was
 * reported as a mismatch and the run exited 1.
 */
static void test_arrow_reads_every_batch(void **state) {
  (void)state;
  run_out r = run_bench((const char *const[]){"--items", "70000", "--engines", "columnar",
                                              "--return-formats", "arrow", "--repeats", "1",
                                              "--warmup", "0", NULL});
  if (r.status != 0) print_error("status %d\nstdout:\n%s\nstderr:\n%s\n", r.status, r.out, r.err);
  assert_int_equal(r.status, 0);
  assert_non_null(strstr(r.out, "columnar/arrow"));
  assert_null(strstr(r.out, "MISMATCH"));
  assert_non_null(strstr(r.out, "numeric: 70000 items")); /* uncapped: two morsels */
  run_out_free(&r);
}

static void test_help(void **state) {
  (void)state;
  run_out r = run_bench((const char *const[]){"--help", NULL});
  assert_int_equal(r.status, 0);
  const char *opts[] = {
      "--scale",       "--items",   "--scenarios", "--engines",     "--repeats",
      "--warmup",      "--threads", "--json",      "--skip-native", "--return-formats",
      "--materialize", "--chart",   "overhead",    "nested"};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) assert_non_null(strstr(r.out, opts[i]));
  run_out_free(&r);
}

/* A faulty threads engine (wrong results on purpose) makes the run fail, naming what differs. */
static void test_fault_is_caught(void **state) {
  (void)state;
  char json[256];
  tmp_path(json, sizeof json, "fault.json");
  run_out r = run_bench((const char *const[]){
      "--scale", "tiny", "--scenarios", "text,overhead", "--engines", "native,sequential,threads",
      "--repeats", "1", "--warmup", "0", "--fault-inject", "threads", "--json", json, NULL});
  if (r.status != 1) print_error("status %d\nstdout:\n%s\nstderr:\n%s\n", r.status, r.out, r.err);
  assert_int_equal(r.status, 1);
  assert_non_null(strstr(r.err, "text: threads: result differs from native: column 'n_tokens'"));
  assert_non_null(strstr(r.err, "overhead: threads: result differs from native: column 'y'"));
  assert_null(strstr(r.err, "sequential: result differs"));
  assert_non_null(strstr(r.out, "MISMATCH"));
  jval *root = parse_file(json);
  const jval *results = jget_typed(root, "results", J_ARR);
  assert_int_equal(results->n, 2);
  for (int i = 0; i < results->n; i++) {
    const jval *metrics = jget_typed(results->items[i], "metrics", J_OBJ);
    assert_false(jget_typed(jget(metrics, "threads"), "matches_native", J_BOOL)->b);
    jget_typed(jget(metrics, "threads"), "mismatch", J_STR);
    assert_true(jget_typed(jget(metrics, "sequential"), "matches_native", J_BOOL)->b);
  }
  jfree(root);
  unlink(json);
  run_out_free(&r);

  /* Without the fault, the same run passes. */
  r = run_bench((const char *const[]){"--scale", "tiny", "--scenarios", "text,overhead",
                                      "--engines", "native,sequential,threads", "--repeats", "1",
                                      "--warmup", "0", NULL});
  assert_int_equal(r.status, 0);
  run_out_free(&r);
}

static void check_metric(const char *scenario, const char *key, const jval *m, int repeats,
                         bool with_native, bool overhead) {
  const jval *avail = jget_typed(m, "available", J_BOOL);
  if (!avail->b) {
    assert_true(strlen(jget_typed(m, "reason", J_STR)->str) > 0);
    return;
  }
  const jval *d = jget_typed(m, "durations_s", J_ARR);
  assert_int_equal(d->n, repeats);
  for (int i = 0; i < d->n; i++) {
    assert_int_equal(d->items[i]->type, J_NUM);
    assert_true(d->items[i]->num >= 0);
  }
  double median = jget_typed(m, "median_s", J_NUM)->num, best = jget_typed(m, "best_s", J_NUM)->num;
  assert_true(best <= median);
  if (with_native)
    assert_true(jget_typed(m, "ratio_to_native", J_NUM)->num > 0);
  else
    jget_typed(m, "ratio_to_native", J_NULL);
  if (!jget_typed(m, "matches_native", J_BOOL)->b)
    print_error("%s %s does not match native\n", scenario, key);
  assert_true(jget(m, "matches_native")->b);
  if (overhead) {
    const jval *ns = jget(m, "ns_per_node_call");
    assert_non_null(ns);
    assert_true(ns->type == (with_native ? J_NUM : J_NULL));
  } else {
    assert_null(jget(m, "ns_per_node_call"));
  }
}

/*
 * ThreadSanitizer cannot start threads in a process forked from a multi-threaded
 * one ("dup thread with used id"): the io scenario's worker processes start the
 * I/O pool, so a TSan build leaves io out of the runs that include processes
 * (test_resilience runs io nodes on processes from a single-threaded parent).
 */
#if defined(__SANITIZE_THREAD__)
#define HN_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HN_TSAN 1
#endif
#endif
#ifdef HN_TSAN
#define SCENARIOS_WITH_PROCESSES "text,stateful,numeric,nested,overhead,cpu,nested_cpu"
#else
#define SCENARIOS_WITH_PROCESSES "text,stateful,numeric,nested,overhead,cpu,nested_cpu,io"
#endif

static void check_json(const char *path, bool with_native, int repeats, int n_scenarios) {
  jval *root = parse_file(path);
  assert_int_equal((int)jget_typed(root, "version", J_NUM)->num, 1);
  assert_string_equal(jget_typed(root, "scale", J_STR)->str, "custom");
  assert_int_equal((int)jget_typed(root, "items", J_NUM)->num, 40);
  assert_true(jget_typed(root, "threads", J_NUM)->num >= 1);
  const jval *results = jget_typed(root, "results", J_ARR);
  const char *names[] = {"text",     "stateful", "numeric",    "nested",
                         "overhead", "cpu",      "nested_cpu", "io"};
  assert_int_equal(results->n, n_scenarios);
  for (int i = 0; i < results->n; i++) {
    const jval *sr = results->items[i];
    assert_string_equal(jget_typed(sr, "scenario", J_STR)->str, names[i]);
    assert_int_equal((int)jget_typed(sr, "n_items", J_NUM)->num, 40); /* under the 5000 caps */
    const jval *metrics = jget_typed(sr, "metrics", J_OBJ);
    assert_non_null(jget(metrics, "sequential"));
    assert_non_null(jget(metrics, "threads/arrow"));
    assert_non_null(jget(metrics, "sequential/rows/column"));
    assert_true(jget_typed(jget(metrics, "sequential"), "available", J_BOOL)->b);
    if (with_native)
      assert_non_null(jget(metrics, "native"));
    else
      assert_null(jget(metrics, "native"));
    for (int j = 0; j < metrics->n; j++)
      check_metric(
          names[i], metrics->keys[j], metrics->items[j], repeats, with_native,
          strcmp(names[i], "overhead") == 0 && strncmp(metrics->keys[j], "native", 6) != 0);
  }
  jfree(root);
}

static void test_json_fields(void **state) {
  (void)state;
  char json[256];
  tmp_path(json, sizeof json, "out.json");
  run_out r = run_bench((const char *const[]){
      "--items", "40", "--repeats", "2", "--warmup", "0", "--scenarios", SCENARIOS_WITH_PROCESSES,
      "--engines", "native,sequential,threads,processes,columnar", "--return-formats",
      "table,arrow,rows", "--materialize", "auto,column", "--json", json, NULL});
  if (r.status != 0) print_error("status %d\nstdout:\n%s\nstderr:\n%s\n", r.status, r.out, r.err);
  assert_int_equal(r.status, 0);
#ifdef HN_TSAN
  check_json(json, true, 2, 7);
#else
  check_json(json, true, 2, 8);
#endif
  unlink(json);
  run_out_free(&r);

  /* --skip-native: ratios are null, never NaN. */
  r = run_bench((const char *const[]){"--items", "40", "--repeats", "1", "--warmup", "0",
                                      "--engines", "native,sequential,threads", "--skip-native",
                                      "--return-formats", "table,arrow,rows", "--materialize",
                                      "column", "--json", json, NULL});
  assert_int_equal(r.status, 0);
  check_json(json, false, 1, 8);
  unlink(json);
  run_out_free(&r);
}

static void test_chart(void **state) {
  (void)state;
  char svg[256];
  tmp_path(svg, sizeof svg, "chart.svg");
  run_out r =
      run_bench((const char *const[]){"--scale", "tiny", "--scenarios", "numeric", "--engines",
                                      "native,sequential", "--repeats", "1", "--chart", svg, NULL});
  assert_int_equal(r.status, 0);
  char *text = slurp(svg);
  assert_non_null(strstr(text, "<svg"));
  assert_non_null(strstr(text, "native_vectorised"));
  assert_non_null(strstr(text, "</svg>"));
  free(text);
  unlink(svg);
  run_out_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_json_parser_itself),
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test(test_unknown_scenario_lists_all),
      cmocka_unit_test(test_unwritable_outputs_refused_first),
      cmocka_unit_test(test_arrow_reads_every_batch),
      cmocka_unit_test(test_help),
      cmocka_unit_test(test_fault_is_caught),
      cmocka_unit_test(test_json_fields),
      cmocka_unit_test(test_chart),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
