/*
 * A node that forks inside a worker process of the processes engine.
 *
 * A node may fork to exec a program or to do some work and _exit in the
 * child (system(), popen() and fork+exec are fine). A child that instead
 * returns from the node goes on running the worker's engine code: two
 * processes would then answer for the same batch on one socket. The guard
 * tells the two cases apart with pthread_atfork handlers installed in the
 * worker process: before each fork the worker opens a close-on-exec pipe;
 * the child keeps its write end, the worker its read end. A child that
 * returns into the engine (hn__fork_guard_check) writes its pid there and
 * _exits at once, touching nothing shared; a child that execs or exits
 * closes the write end. At its next check the worker reads every such pipe:
 * end of stream is a well-behaved child, a pid is a stray (reaped here),
 * reported with the item and node announced when it forked. A child that
 * neither execs, exits nor returns within FORK_WAIT_MS is left alone.
 *
 * State is per process (copy-on-write after fork) and used by the worker's
 * one thread; the handlers run in the forking thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "processes.h"

#define FORKS_MAX 16      /* children tracked between two checks; more are not tracked */
#define FORK_WAIT_MS 2000 /* how long a check waits for a child to exec, exit or return */

typedef struct fork_note {
  int fd;           /* read end; -1: free */
  int64_t item;     /* announced when the node forked */
  const char *node; /* likewise */
} fork_note;

static struct {
  bool installed;
  bool is_copy; /* this process is a child forked by a node */
  const _Atomic int64_t *item;
  _Atomic(const char *) const *node;
  int n;
  fork_note notes[FORKS_MAX];
  int next_rd, next_wr; /* the pipe of the fork in progress (-1: none) */
  int copy_wr;          /* in a copy: where to report */
} g;

static void before_fork(void) {
  g.next_rd = g.next_wr = -1;
  if (g.is_copy || g.n >= FORKS_MAX) return;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return;
  g.next_rd = fds[0];
  g.next_wr = fds[1];
}

static void after_fork_parent(void) {
  if (g.next_rd < 0) return;
  close(g.next_wr);
  g.notes[g.n++] = (fork_note){g.next_rd, atomic_load(g.item), atomic_load(g.node)};
  g.next_rd = g.next_wr = -1;
}

static void after_fork_child(void) {
  if (g.is_copy) return; /* a copy forking again: its children report nowhere */
  g.is_copy = true;
  for (int i = 0; i < g.n; i++) close(g.notes[i].fd);
  g.n = 0;
  if (g.next_rd >= 0) close(g.next_rd);
  g.copy_wr = g.next_wr;
  g.next_rd = g.next_wr = -1;
}

hn_status hn__fork_guard_install(const _Atomic int64_t *item, _Atomic(const char *) const *node,
                                 hn_error *err) {
  g.item = item;
  g.node = node;
  g.next_rd = g.next_wr = g.copy_wr = -1;
  if (g.installed) return HN_OK;
  int rc = pthread_atfork(before_fork, after_fork_parent, after_fork_child);
  if (rc != 0) return hn__error(err, HN_ENOMEM, "pthread_atfork failed (error %d)", rc);
  g.installed = true;
  return HN_OK;
}

/* Wait up to `ms` for fd to be readable; false on timeout. */
static bool wait_readable(int fd, int ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r;
  do r = poll(&p, 1, ms);
  while (r < 0 && errno == EINTR);
  return r > 0;
}

/* The child behind note i: true when it returned into the engine (then reaped). */
static bool stray(const fork_note *note) {
  if (!wait_readable(note->fd, FORK_WAIT_MS)) return false; /* still busy: left alone */
  pid_t pid = 0;
  ssize_t n;
  do n = read(note->fd, &pid, sizeof pid);
  while (n < 0 && errno == EINTR);
  if (n != (ssize_t)sizeof pid || pid <= 0) return false; /* exec'd or exited */
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return true;
}

bool hn__fork_guard_check(int64_t *item, const char **node) {
  if (HN__LIKELY(!g.is_copy && g.n == 0)) return false;
  if (g.is_copy) {
    pid_t me = getpid();
    if (g.copy_wr >= 0) {
      ssize_t n;
      do n = write(g.copy_wr, &me, sizeof me);
      while (n < 0 && errno == EINTR);
    }
    _exit(0); /* no stdio flush: the worker owns those buffers */
  }
  bool found = false;
  for (int i = 0; i < g.n; i++) {
    if (!found && stray(&g.notes[i])) {
      found = true;
      *item = g.notes[i].item;
      *node = g.notes[i].node;
    }
    close(g.notes[i].fd);
  }
  g.n = 0;
  return found;
}
