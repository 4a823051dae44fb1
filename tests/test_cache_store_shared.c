/*
 * The cache store shared: two processes writing one directory at once and
 * each seeing everything; writers killed with SIGKILL in the middle of puts,
 * after which every chunk reads back whole or not at all; a map grown by
 * another process adopted by an open handle; two handles of one directory
 * in one process used by two threads at once while the map grows.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "cache_fixtures.h"

/* A child's verdict: it exits with 0 when every check passed. */
#define CHILD_CHECK(cond)  \
  do {                     \
    if (!(cond)) _exit(2); \
  } while (0)

static void wait_byte(int fd) {
  char b;
  CHILD_CHECK(read(fd, &b, 1) == 1);
}

static void send_byte(int fd) {
  char b = 1;
  assert_int_equal(write(fd, &b, 1), 1);
}

static int child_status(pid_t pid) {
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

/* Every chunk of families 1 and 2 (0..n-1 each) reads back, with all its items. */
static bool all_there(hn__cache *c, int64_t n, int64_t rows) {
  hn__cache_item items[64];
  for (uint64_t tag = 1; tag <= 2; tag++) {
    for (int64_t id = 0; id < n; id++) {
      if (fx_check(c, tag, id, rows, 50) != HN_OK) return false;
      hn__hash128 *keys = fx_item_keys(tag, id, rows);
      int64_t found = 0;
      hn_status st = hn__cache_get_items(c, rows, keys, items, &found, NULL);
      free(keys);
      if (st != HN_OK || found != rows) return false;
    }
  }
  return true;
}

/* ---- two writers ------------------------------------------------------------------- */

enum { TWO_CHUNKS = 40, TWO_ROWS = 64 };

/* Child `tag`: wait for go, put its chunks, report, wait, then check both families. */
static void two_writers_child(const char *dir, uint64_t tag, int go, int done, int go2) {
  hn__cache *c = NULL;
  CHILD_CHECK(hn__cache_open(NULL, dir, 0, &c, NULL) == HN_OK);
  wait_byte(go);
  for (int64_t id = 0; id < TWO_CHUNKS; id++)
    CHILD_CHECK(fx_put(c, tag, id, TWO_ROWS, 50, NULL, NULL) == HN_OK);
  char b = 1;
  CHILD_CHECK(write(done, &b, 1) == 1);
  wait_byte(go2);
  CHILD_CHECK(all_there(c, TWO_CHUNKS, TWO_ROWS));
  CHILD_CHECK(hn__cache_verify(c, NULL) == HN_OK);
  hn__cache_close(c);
  _exit(0);
}

static void test_two_processes_write_at_once(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  int go[2], done[2], go2[2];
  assert_int_equal(pipe(go), 0);
  assert_int_equal(pipe(done), 0);
  assert_int_equal(pipe(go2), 0);
  pid_t pids[2];
  for (int k = 0; k < 2; k++) {
    pids[k] = fork();
    assert_true(pids[k] >= 0);
    if (pids[k] == 0) two_writers_child(dir, (uint64_t)k + 1, go[0], done[1], go2[0]);
  }
  send_byte(go[1]);
  send_byte(go[1]); /* both start together */
  char b[2];
  assert_int_equal(read(done[0], b, 1) + read(done[0], b + 1, 1), 2);
  send_byte(go2[1]);
  send_byte(go2[1]);
  for (int k = 0; k < 2; k++) assert_int_equal(child_status(pids[k]), 0);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  assert_true(all_there(c, TWO_CHUNKS, TWO_ROWS));
  assert_int_equal(fx_usage(c).chunks, 2 * TWO_CHUNKS);
  fx_verify(c);
  hn__cache_close(c);
  int fds[] = {go[0], go[1], done[0], done[1], go2[0], go2[1]};
  for (int i = 0; i < 6; i++) close(fds[i]);
  fx_rmdir(dir);
}

/* ---- kill -9 in the middle of puts ---------------------------------------------------- */

enum { KILL_ROUNDS = 10, KILL_ROWS = 2000, KILL_PAD = 100, KILL_MAX_IDS = 100000 };

/* Puts chunks id = base, base + 1, ... forever (bounded, so evictions run too), reporting each. */
static void endless_writer(const char *dir, int64_t base, int report) {
  hn__cache *c = NULL;
  CHILD_CHECK(hn__cache_open(NULL, dir, 4 << 20, &c, NULL) == HN_OK);
  for (int64_t id = base;; id++) {
    CHILD_CHECK(fx_put(c, 1, id, KILL_ROWS, KILL_PAD, NULL, NULL) == HN_OK);
    /* Read an older one now and then: access times are written with the next put. */
    if (id % 3 == 0) (void)fx_check(c, 1, base, KILL_ROWS, KILL_PAD);
    CHILD_CHECK(write(report, &id, sizeof id) == sizeof id);
  }
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void test_kill9_never_corrupt(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  int64_t last[KILL_ROUNDS]; /* per round, the last put reported done */
  for (int round = 0; round < KILL_ROUNDS; round++) {
    int rep[2];
    assert_int_equal(pipe(rep), 0);
    int64_t base = (int64_t)round * 1000;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      close(rep[0]);
      endless_writer(dir, base, rep[1]);
    }
    close(rep[1]);
    int64_t id = -1;
    assert_int_equal(read(rep[0], &id, sizeof id), sizeof id);
    double t0 = now_s();
    for (int n = 0; n < 4; n++) assert_int_equal(read(rep[0], &id, sizeof id), sizeof id);
    /* Kill it at a different point of the next put each round (its phases, commit included). */
    double put_s = (now_s() - t0) / 4, wait_s = put_s * (round + 0.5) / KILL_ROUNDS;
    struct timespec ts = {0, (long)(wait_s * 1e9)};
    nanosleep(&ts, NULL);
    kill(pid, SIGKILL);
    if (round == 0) print_message("a put takes %.2f ms here\n", put_s * 1e3);
    int status = child_status(pid);
    assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    while (read(rep[0], &id, sizeof id) == sizeof id) continue;
    last[round] = id;
    close(rep[0]);
  }
  /* Every chunk ever attempted is whole or absent; the store is consistent. */
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  fx_verify(c);
  int64_t whole = 0, tried = 0;
  for (int round = 0; round < KILL_ROUNDS; round++) {
    /* Up to the put in flight when it died (and one more, which never began). */
    for (int64_t id = round * 1000; id <= last[round] + 2; id++, tried++)
      whole += fx_check(c, 1, id, KILL_ROWS, KILL_PAD) == HN_OK;
    /* The last put reported done survived its writer's death (or was evicted by a later one). */
    if (round == KILL_ROUNDS - 1)
      assert_int_equal(fx_check(c, 1, last[round], KILL_ROWS, KILL_PAD), HN_OK);
  }
  print_message("after %d kills: %lld of %lld chunks whole, the others absent, none corrupt\n",
                KILL_ROUNDS, (long long)whole, (long long)tried);
  assert_true(fx_usage(c).bytes <= 4 << 20);
  /* The writer lock a killed writer may have held is free again. */
  HN_CHECK(fx_put(c, 1, KILL_MAX_IDS, 10, 0, NULL, &err), &err);
  fx_verify(c);
  hn__cache_close(c);
  fx_rmdir(dir);
}

/* ---- a map grown by another process ------------------------------------------------------ */

static void test_map_grown_elsewhere(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  int go[2];
  assert_int_equal(pipe(go), 0);
  /* Forked before this process opens the directory: a child never uses an inherited handle. */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    wait_byte(go[0]);
    hn__cache *mine = NULL;
    CHILD_CHECK(hn__cache_open(NULL, dir, 0, &mine, NULL) == HN_OK);
    for (int64_t id = 1; id <= 6; id++)
      CHILD_CHECK(fx_put(mine, 2, id, 1000, 5000, NULL, NULL) == HN_OK); /* ~30 MB */
    hn__cache_close(mine);
    _exit(0);
  }
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  HN_CHECK(fx_put(c, 2, 0, 10, 0, NULL, &err), &err);
  int64_t before = fx_usage(c).map_size;
  send_byte(go[1]);
  assert_int_equal(child_status(pid), 0);
  /* This handle's map is smaller than the data now: it adopts the grown size. */
  for (int64_t id = 1; id <= 6; id++) assert_int_equal(fx_check(c, 2, id, 1000, 5000), HN_OK);
  assert_true(fx_usage(c).map_size > before);
  HN_CHECK(fx_put(c, 2, 7, 10, 0, NULL, &err), &err);
  fx_verify(c);
  hn__cache_close(c);
  close(go[0]);
  close(go[1]);
  fx_rmdir(dir);
}

/* ---- two handles, two threads ------------------------------------------------------------- */

enum { THREAD_CHUNKS = 20, THREAD_ROWS = 500, THREAD_PAD = 1000 };

typedef struct thread_arg {
  const char *dir;
  uint64_t tag;
  pthread_barrier_t *start;
  bool ok;
} thread_arg;

static void *thread_main(void *p) {
  thread_arg *a = p;
  hn__cache *c = NULL;
  a->ok = hn__cache_open(NULL, a->dir, 0, &c, NULL) == HN_OK;
  pthread_barrier_wait(a->start);
  for (int64_t id = 0; a->ok && id < THREAD_CHUNKS; id++) {
    a->ok = fx_put(c, a->tag, id, THREAD_ROWS, THREAD_PAD, NULL, NULL) == HN_OK;
    /* Reads interleaved with the other thread's writes and map growth. */
    hn_table *t = NULL;
    if (a->ok) a->ok = hn__cache_get_chunk(c, fx_key(a->tag, id), &t, NULL, NULL) == HN_OK;
    hn_table_release(t);
  }
  pthread_barrier_wait(a->start);
  uint64_t other = a->tag == 1 ? 2 : 1;
  for (int64_t id = 0; a->ok && id < THREAD_CHUNKS; id++) {
    hn_table *t = NULL;
    a->ok = hn__cache_get_chunk(c, fx_key(other, id), &t, NULL, NULL) == HN_OK;
    hn_table_release(t);
  }
  hn__cache_close(c);
  return NULL;
}

/* A third handle reads one chunk over and over while the writers grow the map under it. */
typedef struct reader_arg {
  const char *dir;
  _Atomic bool *stop;
  int64_t reads;
  bool ok;
} reader_arg;

static void *reader_main(void *p) {
  reader_arg *a = p;
  hn__cache *c = NULL;
  a->ok = hn__cache_open(NULL, a->dir, 0, &c, NULL) == HN_OK;
  hn__hash128 *keys = fx_item_keys(3, 0, THREAD_ROWS);
  hn__cache_item *items = malloc(THREAD_ROWS * sizeof *items);
  while (a->ok && !*a->stop) {
    hn_table *t = NULL;
    int64_t found = 0;
    a->ok = hn__cache_get_chunk(c, fx_key(3, 0), &t, NULL, NULL) == HN_OK &&
            hn__cache_get_items(c, THREAD_ROWS, keys, items, &found, NULL) == HN_OK &&
            found == THREAD_ROWS;
    hn_table_release(t);
    a->reads++;
  }
  free(items);
  free(keys);
  hn__cache_close(c);
  return NULL;
}

static void test_two_threads_two_handles(void **state) {
  (void)state;
  char dir[64];
  fx_tmpdir(dir);
  hn__cache *c = NULL;
  hn_error err;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  HN_CHECK(fx_put(c, 3, 0, THREAD_ROWS, THREAD_PAD, NULL, &err), &err);
  hn__cache_close(c);
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  _Atomic bool stop = false;
  reader_arg reader = {dir, &stop, 0, false};
  thread_arg args[2] = {{dir, 1, &start, false}, {dir, 2, &start, false}};
  pthread_t th[3];
  assert_int_equal(pthread_create(&th[2], NULL, reader_main, &reader), 0);
  for (int k = 0; k < 2; k++)
    assert_int_equal(pthread_create(&th[k], NULL, thread_main, &args[k]), 0);
  for (int k = 0; k < 2; k++) assert_int_equal(pthread_join(th[k], NULL), 0);
  stop = true;
  assert_int_equal(pthread_join(th[2], NULL), 0);
  pthread_barrier_destroy(&start);
  assert_true(args[0].ok && args[1].ok && reader.ok);
  assert_true(reader.reads > 0);
  /* ~10 MB each: both threads ran while the map grew past its initial 16 MiB. */
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c, &err), &err);
  hn__cache_usage u = fx_usage(c);
  assert_int_equal(u.chunks, 2 * THREAD_CHUNKS + 1);
  assert_true(u.map_size > (int64_t)HN__CACHE_MAP_INITIAL);
  /* A second handle in this process shares the environment; closing one leaves the other working.
   */
  hn__cache *c2 = NULL;
  HN_CHECK(hn__cache_open(NULL, dir, 0, &c2, &err), &err);
  hn__cache_close(c);
  assert_int_equal(fx_check(c2, 1, 3, THREAD_ROWS, THREAD_PAD), HN_OK);
  fx_verify(c2);
  hn__cache_close(c2);
  fx_rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_two_processes_write_at_once),
      cmocka_unit_test(test_kill9_never_corrupt),
      cmocka_unit_test(test_map_grown_elsewhere),
      cmocka_unit_test(test_two_threads_two_handles),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
