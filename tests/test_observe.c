/*
 * The observers on their own: the callback chain, the progress bar drawn on
 * a pseudo-terminal (and silent elsewhere), `hypernodes bench --progress`,
 * the profile and the trace fed with events of known times. Their behaviour
 * on every engine is in test_engine_events.c.
 */
#define _DEFAULT_SOURCE /* openpty, forkpty */
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "json_reader.h"
#include "test_support.h"

#ifndef HN_CLI_PATH
#error "HN_CLI_PATH must name the hypernodes executable"
#endif

/* ---- the chain ---------------------------------------------------------------------- */

static char g_order[64];

static void mark(void *ud, const hn_event *ev) {
  (void)ev;
  size_t n = strlen(g_order);
  if (n + 1 < sizeof g_order) {
    g_order[n] = *(const char *)ud;
    g_order[n + 1] = '\0';
  }
}

static void test_chain(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_error err;
  hn_callback_chain *chain = NULL;
  HN_CHECK(hn_callback_chain_create(&ta.alloc, &chain, &err), &err);
  static const char a = 'a', b = 'b';
  hn_callbacks ca = {.size = sizeof ca, .user_data = (void *)&a, .on_node_end = mark};
  hn_callbacks cb = {
      .size = sizeof cb, .user_data = (void *)&b, .on_node_end = mark, .on_chunk_end = mark};
  HN_CHECK(hn_callback_chain_add(chain, &ca, &err), &err);
  HN_CHECK(hn_callback_chain_add(chain, &cb, &err), &err);
  hn_callbacks out;
  hn_callback_chain_get_callbacks(chain, &out, sizeof out);
  assert_int_equal(out.size, sizeof out);
  assert_ptr_equal(out.user_data, chain);
  assert_null(out.on_item_start); /* nobody observes it: it stays unset (costs nothing) */
  assert_null(out.on_map_end);
  assert_non_null(out.on_node_end);
  hn_event ev = {0};
  g_order[0] = '\0';
  out.on_node_end(out.user_data, &ev);
  assert_string_equal(g_order, "ab"); /* in the order added */
  g_order[0] = '\0';
  out.on_chunk_end(out.user_data, &ev);
  assert_string_equal(g_order, "b");
  /* An older caller's smaller struct gets its own members only. */
  hn_callbacks old;
  memset(&old, 0x5a, sizeof old);
  size_t small = offsetof(hn_callbacks, on_chunk_start);
  hn_callback_chain_get_callbacks(chain, &old, small);
  assert_int_equal(old.size, small);
  assert_non_null(old.on_node_end);
  unsigned char tail[sizeof old - offsetof(hn_callbacks, on_chunk_start)];
  memset(tail, 0x5a, sizeof tail);
  assert_memory_equal((char *)&old + small, tail, sizeof tail);
  /* Refusals leave the chain as it was. */
  hn_callbacks bad = {.size = 4};
  assert_int_equal(hn_callback_chain_add(chain, &bad, &err), HN_EINVAL);
  assert_int_equal(hn_callback_chain_add(NULL, &ca, &err), HN_EINVAL);
  assert_int_equal(hn_callback_chain_create(NULL, NULL, &err), HN_EINVAL);
  hn_test_alloc fail;
  hn_test_alloc_init(&fail, 1);
  hn_callback_chain *c2 = NULL;
  assert_int_equal(hn_callback_chain_create(&fail.alloc, &c2, &err), HN_ENOMEM);
  hn_callback_chain_destroy(chain);
  assert_int_equal(ta.live, 0);
}

/* ---- the progress bar on a terminal -------------------------------------------------- */

static hn_status f_nap(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  struct timespec ts = {0, 2000000}; /* 2 ms */
  nanosleep(&ts, NULL);
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

static hn_inputs *lists_input(int64_t n, int64_t per_list) {
  hn_error err;
  const hn_type *lt = NULL;
  HN_CHECK(hn_type_list_create(NULL, hn_type_int64(), &lt, &err), &err);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(NULL, lt, &b, &err), &err);
  for (int64_t i = 0; i < n; i++) {
    for (int64_t k = 0; k < per_list; k++)
      HN_CHECK(hn_builder_append_int64(hn_builder_child(b, 0), k), NULL);
    HN_CHECK(hn_builder_finish_element(b), NULL);
  }
  hn_array *col = NULL;
  HN_CHECK(hn_builder_finish(b, &col, &err), &err);
  hn_builder_destroy(b);
  hn_type_release(lt);
  hn_inputs *in = NULL;
  HN_CHECK(hn_inputs_create(NULL, &in, &err), &err);
  HN_CHECK(hn_inputs_set_column(in, "vs", col, &err), &err);
  hn_array_release(col);
  return in;
}

/* A map of 6 items, each mapping a nested pipeline over a list of 5 (2 ms per inner item). */
static void run_nested_map(const hn_callbacks *cb) {
  hn_error err;
  hn_pipeline *inner = NULL, *p = NULL;
  HN_CHECK(hn_pipeline_create(NULL, "sentence", &inner, &err), &err);
  HN_CHECK(hn_pipeline_add(inner, "nap", "v", "w: int64", f_nap, &err), &err);
  HN_CHECK(hn_pipeline_create(NULL, "document", &p, &err), &err);
  HN_CHECK(hn_pipeline_add_nested(p, "each", inner, "vs=v", "w=ws", "vs", HN_MAP_ZIP, &err), &err);
  hn_inputs *in = lists_input(6, 5);
  hn_run_options o = {.size = sizeof o, .map_over_spec = "vs", .callbacks = cb};
  hn_result *r = NULL;
  HN_CHECK(hn_pipeline_map(p, NULL, in, &o, &r, &err), &err);
  hn_result_destroy(r);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_pipeline_release(inner);
}

/* Everything readable from fd within `ms` milliseconds of quiet. */
static size_t drain(int fd, char *buf, size_t cap, int ms) {
  size_t n = 0;
  struct pollfd pfd = {fd, POLLIN, 0};
  while (n + 1 < cap && poll(&pfd, 1, ms) > 0) {
    ssize_t k = read(fd, buf + n, cap - 1 - n);
    if (k <= 0) break;
    n += (size_t)k;
  }
  buf[n] = '\0';
  return n;
}

static int count_of(const char *s, const char *what) {
  int n = 0;
  for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
  return n;
}

static void test_progress_on_a_terminal(void **state) {
  (void)state;
  int master = -1, slave = -1;
  struct winsize ws = {.ws_row = 24, .ws_col = 100};
  assert_int_equal(openpty(&master, &slave, NULL, NULL, &ws), 0);
  hn_error err;
  /* A terminal: drawn without being forced; its width is the terminal's. */
  hn_progress_options o = {.size = sizeof o, .fd = slave, .interval = 0.01};
  hn_progress *p = NULL;
  HN_CHECK(hn_progress_create(NULL, &o, &p, &err), &err);
  assert_true(hn_progress_active(p));
  hn_callbacks cb;
  hn_progress_get_callbacks(p, &cb, sizeof cb);
  run_nested_map(&cb);
  hn_progress_destroy(p);
  static char out[1 << 16];
  size_t n = drain(master, out, sizeof out, 200);
  close(slave);
  close(master);
  assert_true(n > 0);
  /* The top bar and the nested bar below it, indented; redrawn in place. */
  assert_non_null(strstr(out, "document ["));
  assert_non_null(strstr(out, "  sentence ["));
  assert_non_null(strstr(out, "100% 6/6"));
  assert_non_null(strstr(out, "100% 30/30"));
  assert_non_null(strstr(out, "\x1b[2K"));   /* lines cleared before being redrawn */
  assert_non_null(strstr(out, "\r\x1b[1A")); /* back up to the top bar */
  assert_non_null(strstr(out, "/s ETA "));
  /* At most one drawing per 10 ms over a map of 60 ms and more: a handful, not one per item. */
  int drawings = count_of(out, "document [");
  assert_true(drawings >= 2 && drawings <= 20);
  /* Each line fits the terminal's 100 columns. */
  for (char *line = strtok(out, "\r\n"); line; line = strtok(NULL, "\r\n")) {
    char *text = strstr(line, "\x1b[2K");
    if (text) assert_true(strlen(text + 4) <= 100);
  }
}

static void test_progress_silent_elsewhere(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  hn_error err;
  hn_progress_options o = {.size = sizeof o, .fd = fds[1]};
  hn_progress *p = NULL;
  HN_CHECK(hn_progress_create(NULL, &o, &p, &err), &err);
  assert_false(hn_progress_active(p));
  hn_callbacks cb;
  memset(&cb, 0x5a, sizeof cb);
  hn_progress_get_callbacks(p, &cb, sizeof cb);
  /* Every callback unset: watching costs nothing. */
  hn_callbacks none = {.size = sizeof none};
  assert_memory_equal(&cb, &none, sizeof cb);
  run_nested_map(&cb);
  hn_progress_destroy(p);
  close(fds[1]);
  char buf[64];
  assert_int_equal(read(fds[0], buf, sizeof buf), 0); /* nothing written */
  close(fds[0]);
  /* Bad options. */
  hn_progress_options bad = {.size = 2};
  assert_int_equal(hn_progress_create(NULL, &bad, &p, &err), HN_EINVAL);
  hn_progress_options neg = {.size = sizeof neg, .interval = -1};
  assert_int_equal(hn_progress_create(NULL, &neg, &p, &err), HN_EINVAL);
  assert_int_equal(hn_progress_create(NULL, NULL, NULL, &err), HN_EINVAL);
}

/* `hypernodes bench --progress` with stderr on a terminal, then on a pipe. */
static void test_bench_progress(void **state) {
  (void)state;
  static const char *const args[] = {
      HN_CLI_PATH, "bench",     "--progress",         "--scenarios", "text,nested", "--items",
      "20000",     "--engines", "sequential,threads", "--repeats",   "1",           "--warmup",
      "0",         NULL};
  /* A terminal: stdout and stderr on the pty. */
  int master = -1;
  pid_t pid = forkpty(&master, NULL, NULL, NULL);
  assert_true(pid >= 0);
  if (pid == 0) {
    execv(HN_CLI_PATH, (char *const *)args);
    _exit(127);
  }
  static char out[1 << 18];
  drain(master, out, sizeof out, 5000);
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_non_null(strstr(out, "text ["));
  assert_non_null(strstr(out, "100% 20000/20000"));
  assert_non_null(strstr(out, "  sentence [")); /* the nested scenario's inner map */
  /* Not a terminal: the same command draws nothing on stderr. */
  int err_pipe[2];
  assert_int_equal(pipe(err_pipe), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    dup2(err_pipe[1], 2);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    close(err_pipe[0]);
    execv(HN_CLI_PATH, (char *const *)args);
    _exit(127);
  }
  close(err_pipe[1]);
  char errs[4096];
  size_t n = drain(err_pipe[0], errs, sizeof errs, 5000);
  waitpid(pid, &status, 0);
  close(err_pipe[0]);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  assert_int_equal(n, 0);
}

/* The whole text of a file (NUL-terminated; the caller frees it). */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[1 << 22];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strdup(buf);
}

/* `hypernodes bench --profile --profile-json F --trace F`: the table, and files that parse. */
static void test_bench_profile_and_trace(void **state) {
  (void)state;
  char trace[] = "/tmp/hn_bench_trace_XXXXXX", prof[] = "/tmp/hn_bench_prof_XXXXXX";
  close(mkstemp(trace));
  close(mkstemp(prof));
  char cmd[1024];
  snprintf(cmd, sizeof cmd,
           "%s bench --scenarios text,nested --items 300 --engines sequential,columnar "
           "--repeats 1 --warmup 0 --profile --profile-json %s --trace %s",
           HN_CLI_PATH, prof, trace);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  static char out[1 << 16];
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = '\0';
  assert_int_equal(pclose(p), 0);
  assert_non_null(strstr(out, "text: profile, sequential engine: 1 call, 300 items"));
  assert_non_null(strstr(out, "profile, columnar engine"));
  assert_non_null(strstr(out, "tokenize"));
  char msg[128];
  char *text = slurp(prof);
  json_value *doc = json_parse(text, msg, sizeof msg);
  if (!doc) fail_msg("--profile-json: %s", msg);
  const json_value *scen = json_get(doc, "scenarios");
  assert_int_equal(scen->n, 2);
  assert_string_equal(json_string(&scen->items[1], "scenario"), "nested");
  assert_int_equal(json_get(json_get(&scen->items[0], "profile"), "engines")->n, 2);
  json_free(doc);
  free(text);
  text = slurp(trace);
  doc = json_parse(text, msg, sizeof msg);
  if (!doc) fail_msg("--trace: %s", msg);
  assert_true(json_get(doc, "traceEvents")->n > 300);
  json_free(doc);
  free(text);
  unlink(trace);
  unlink(prof);
  /* --trace-items needs --trace. */
  snprintf(cmd, sizeof cmd, "%s bench --trace-items 2>/dev/null", HN_CLI_PATH);
  int st = system(cmd);
  assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 2);
}

/* ---- the profile, fed events of known times -------------------------------------------- */

static hn_event node_end(const char *engine, const char *pipeline, const char *node, int depth,
                         int thread, int64_t ns) {
  hn_event ev = {0};
  ev.engine = engine;
  ev.pipeline = pipeline;
  ev.node = node;
  ev.depth = depth;
  ev.thread = thread;
  ev.process = -1;
  ev.n_rows = 1;
  ev.duration_ns = ns;
  return ev;
}

static size_t to_buffer(void *ud, const char *data, size_t n) {
  char **buf = ud;
  size_t len = *buf ? strlen(*buf) : 0;
  *buf = realloc(*buf, len + n + 1);
  memcpy(*buf + len, data, n);
  (*buf)[len + n] = '\0';
  return n;
}

static size_t refuse(void *ud, const char *data, size_t n) {
  (void)ud;
  (void)data;
  return n / 2;
}

static void test_profile_figures(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_error err;
  hn_profile *p = NULL;
  HN_CHECK(hn_profile_create(&ta.alloc, &p, &err), &err);
  hn_callbacks cb;
  hn_profile_get_callbacks(p, &cb, sizeof cb);
  assert_non_null(cb.on_node_end);
  assert_null(cb.on_node_start); /* end events carry the time */
  /* "a": 1000 calls of 1..1000 us on two threads; "b": 100 of 50 us; an inner node of "b". */
  for (int i = 1; i <= 1000; i++) {
    hn_event ev = node_end("threads", "p", "a", 0, i % 2, (int64_t)i * 1000);
    cb.on_node_end(cb.user_data, &ev);
  }
  for (int i = 0; i < 100; i++) {
    hn_event ev = node_end("threads", "p", "b", 0, 0, 50000);
    cb.on_node_end(cb.user_data, &ev);
    ev = node_end("threads", "inner", "c", 1, 0, 20000);
    cb.on_node_end(cb.user_data, &ev);
  }
  hn_event pe = {.engine = "threads",
                 .pipeline = "p",
                 .thread = -1,
                 .process = -1,
                 .n_items = 1000,
                 .duration_ns = 300000000};
  cb.on_pipeline_end(cb.user_data, &pe);
  pe.depth = 1; /* nested pipeline ends are not top-level calls */
  cb.on_pipeline_end(cb.user_data, &pe);
  assert_int_equal(hn_profile_num_nodes(p), 3);
  hn_profile_entry e;
  HN_CHECK(hn_profile_get_node(p, 0, &e, sizeof e, &err), &err); /* the largest total first */
  assert_string_equal(e.node, "a");
  assert_int_equal(e.calls, 1000);
  assert_int_equal(e.total_ns, 500500000);
  assert_int_equal(e.mean_ns, 500500);
  assert_true(e.p50_ns > 500000 * 0.98 && e.p50_ns < 500000 * 1.02);
  assert_true(e.p99_ns > 990000 * 0.98 && e.p99_ns < 990000 * 1.02);
  assert_true(e.share > 500500.0 / 505500 - 1e-9 && e.share < 500500.0 / 505500 + 1e-9);
  HN_CHECK(hn_profile_get_node(p, 2, &e, sizeof e, &err), &err);
  assert_string_equal(e.node, "c");
  assert_int_equal(e.depth, 1);
  assert_true(e.p50_ns > 20000 * 0.98 && e.p50_ns < 20000 * 1.02);
  assert_int_equal(hn_profile_get_node(p, 3, &e, sizeof e, &err), HN_ERANGE);
  /* The table and the JSON. */
  char *text = NULL;
  HN_CHECK(hn_profile_write(p, HN_PROFILE_TEXT, to_buffer, &text, &err), &err);
  assert_non_null(
      strstr(text, "profile, threads engine: 1 call, 1000 items, 300.000 ms wall, 2 workers"));
  assert_non_null(strstr(text, "  c "));
  free(text);
  text = NULL;
  HN_CHECK(hn_profile_write(p, HN_PROFILE_JSON, to_buffer, &text, &err), &err);
  char msg[128];
  json_value *doc = json_parse(text, msg, sizeof msg);
  if (!doc) fail_msg("profile JSON: %s\n%s", msg, text);
  const json_value *engines = json_get(doc, "engines");
  assert_int_equal(engines->n, 1);
  assert_string_equal(json_string(&engines->items[0], "engine"), "threads");
  assert_true(json_number(&engines->items[0], "wall_ns", 0) == 300000000);
  const json_value *nodes = json_get(&engines->items[0], "nodes");
  assert_int_equal(nodes->n, 3);
  assert_true(json_number(&nodes->items[0], "total_ns", 0) == 500500000);
  json_free(doc);
  free(text);
  assert_int_equal(hn_profile_write(p, HN_PROFILE_TEXT, refuse, NULL, &err), HN_EIO);
  assert_int_equal(hn_profile_write(p, (hn_profile_format)7, to_buffer, &text, &err), HN_EINVAL);
  hn_profile_reset(p);
  assert_int_equal(hn_profile_num_nodes(p), 0);
  hn_profile_destroy(p);
  assert_int_equal(ta.live, 0);
}

/* ---- the trace, fed events of known times ------------------------------------------------ */

static void fire(const hn_callbacks *cb, hn_callback fn, hn_event ev) {
  fn(cb->user_data, &ev);
}

static void test_trace_file(void **state) {
  (void)state;
  hn_error err;
  hn_trace *t = NULL;
  hn_trace_options o = {.size = sizeof o, .items = true, .max_events = 12};
  HN_CHECK(hn_trace_create(NULL, &o, &t, &err), &err);
  hn_callbacks cb;
  hn_trace_get_callbacks(t, &cb, sizeof cb);
  assert_null(cb.on_node_start);
  hn_event base = {.engine = "columnar", .pipeline = "p", .process = -1};
  hn_event top = base, morsel = base, item = base, node = base, err_ev = base, worker = base;
  top.thread = -1, top.start_ns = 1000000, top.duration_ns = 100000, top.n_items = 3;
  fire(&cb, cb.on_pipeline_end, top);
  top.item = -1;
  fire(&cb, cb.on_map_end, top);
  morsel.start_ns = 1010000, morsel.duration_ns = 50000, morsel.n_items = 3;
  fire(&cb, cb.on_chunk_end, morsel);
  for (int i = 0; i < 3; i++) { /* columnar items: one time for the morsel */
    item.item = i, item.start_ns = 1011000, item.duration_ns = 40000;
    fire(&cb, cb.on_item_end, item);
  }
  node.node = "f", node.start_ns = 1012000, node.duration_ns = 30000, node.n_rows = 3;
  fire(&cb, cb.on_node_end, node);
  err_ev.node = "f", err_ev.start_ns = 1020000, err_ev.message = "bad \"x\"", err_ev.item = 1;
  fire(&cb, cb.on_error, err_ev);
  worker.process = 1, worker.node = "g", worker.start_ns = 1030000, worker.duration_ns = 1000;
  fire(&cb, cb.on_node_end, worker);
  assert_int_equal(hn_trace_num_events(t), 9);
  for (int i = 0; i < 5; i++) fire(&cb, cb.on_node_end, node); /* two past max_events */
  assert_int_equal(hn_trace_num_events(t), 12);
  assert_int_equal(hn_trace_num_dropped(t), 2);
  char *text = NULL;
  HN_CHECK(hn_trace_write(t, to_buffer, &text, &err), &err);
  char msg[128];
  json_value *doc = json_parse(text, msg, sizeof msg);
  if (!doc) fail_msg("trace JSON: %s\n%s", msg, text);
  assert_true(json_number(json_get(doc, "otherData"), "dropped", 0) == 2);
  const json_value *ev = json_get(doc, "traceEvents");
  int slices = 0, items = 0, instants = 0, procs = 0;
  for (int64_t i = 0; i < ev->n; i++) {
    const json_value *e = &ev->items[i];
    const char *ph = json_string(e, "ph"), *name = json_string(e, "name");
    if (strcmp(ph, "X") == 0) slices++;
    if (strcmp(json_string(e, "cat"), "item") == 0) {
      items++;
      assert_string_equal(name, "items 0-2"); /* a morsel's items, merged */
      assert_true(json_number(e, "ts", -1) == 11.0 && json_number(e, "dur", -1) == 40.0);
    }
    if (strcmp(ph, "i") == 0) {
      instants++;
      assert_string_equal(json_string(json_get(e, "args"), "message"), "bad \"x\"");
    }
    if (strcmp(name, "process_name") == 0) {
      procs++;
      const char *pn = json_string(json_get(e, "args"), "name");
      assert_true(strcmp(pn, "calling process") == 0 || strcmp(pn, "worker process 1") == 0);
    }
    if (strcmp(json_string(e, "cat"), "pipeline") == 0) /* the origin is the first start */
      assert_true(json_number(e, "ts", -1) == 0 && json_number(e, "dur", -1) == 100.0);
  }
  assert_int_equal(items, 1);
  assert_int_equal(instants, 1);
  assert_int_equal(procs, 2);
  assert_int_equal(slices, 2 + 1 + 1 + 1 + 1 + 3); /* pipeline, map, chunk, items, f, g, 3 f */
  json_free(doc);
  free(text);
  /* To a file, and a file that cannot be written. */
  char path[] = "/tmp/hn_trace_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  close(fd);
  HN_CHECK(hn_trace_write_file(t, path, &err), &err);
  assert_int_equal(access(path, F_OK), 0);
  unlink(path);
  assert_int_equal(hn_trace_write_file(t, "/nonexistent/dir/t.json", &err), HN_EIO);
  assert_non_null(strstr(err.message, "/nonexistent/dir/t.json"));
  assert_int_equal(hn_trace_write(t, refuse, NULL, &err), HN_EIO);
  hn_trace_reset(t);
  assert_int_equal(hn_trace_num_events(t), 0);
  hn_trace_destroy(t);
  hn_trace_options bad = {.size = sizeof bad, .max_events = -1};
  assert_int_equal(hn_trace_create(NULL, &bad, &t, &err), HN_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_chain),
      cmocka_unit_test(test_progress_on_a_terminal),
      cmocka_unit_test(test_progress_silent_elsewhere),
      cmocka_unit_test(test_bench_progress),
      cmocka_unit_test(test_bench_profile_and_trace),
      cmocka_unit_test(test_profile_figures),
      cmocka_unit_test(test_trace_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
