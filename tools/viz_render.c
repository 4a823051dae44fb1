/* `hypernodes viz` output: DOT text as it is, or SVG / PNG rendered by Graphviz's `dot`. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "viz.h"

extern char **environ;

int viz_find_dot(char *buf, size_t cap) {
  const char *path = getenv("PATH");
  if (!path) path = "/usr/local/bin:/usr/bin:/bin";
  while (cap > 0) {
    const char *end = strchr(path, ':');
    size_t len = end ? (size_t)(end - path) : strlen(path);
    /* An empty PATH entry means the current directory. */
    int n = snprintf(buf, cap, "%.*s%sdot", (int)len, len ? path : ".", len ? "/" : "");
    struct stat st;
    if (n > 0 && (size_t)n < cap && stat(buf, &st) == 0 && S_ISREG(st.st_mode) &&
        access(buf, X_OK) == 0)
      return 0;
    if (!end) break;
    path = end + 1;
  }
  if (cap > 0) buf[0] = '\0';
  return -1;
}

/* Write all n bytes to fd; 0, or -1 with errno set. */
static int write_all(int fd, const char *data, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, data, n);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return -1;
    data += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Run `dot -T<format>` with stdin fed `dot` and stdout on out_fd. 0, or 1 after saying why. */
static int run_dot(const char *dot, size_t n, const char *format, const char *program, int out_fd) {
  int fds[2];
  if (pipe(fds) != 0) {
    fprintf(stderr, "hypernodes viz: pipe: %s\n", strerror(errno));
    return 1;
  }
  char type_arg[16];
  snprintf(type_arg, sizeof type_arg, "-T%s", format);
  char *const argv[] = {(char *)program, type_arg, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  posix_spawn_file_actions_addclose(&fa, fds[1]);
  pid_t pid;
  int rc = posix_spawn(&pid, program, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    fprintf(stderr, "hypernodes viz: cannot run %s: %s\n", program, strerror(rc));
    return 1;
  }
  /* A `dot` that stops reading early must not kill us with SIGPIPE: its status says why. */
  struct sigaction ignore = {.sa_handler = SIG_IGN}, old;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, &old);
  int werr = write_all(fds[1], dot, n) != 0 ? errno : 0;
  close(fds[1]);
  sigaction(SIGPIPE, &old, NULL);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
    if (WIFEXITED(ws))
      fprintf(stderr, "hypernodes viz: %s -T%s failed with exit status %d\n", program, format,
              WEXITSTATUS(ws));
    else
      fprintf(stderr, "hypernodes viz: %s -T%s was killed by signal %d\n", program, format,
              WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
    return 1;
  }
  if (werr) {
    fprintf(stderr, "hypernodes viz: writing to %s: %s\n", program, strerror(werr));
    return 1;
  }
  return 0;
}

int viz_write(const char *dot, size_t n, viz_format format, const char *dot_program,
              const char *path) {
  int fd = 1;
  if (path) {
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
      fprintf(stderr, "hypernodes viz: cannot write '%s': %s\n", path, strerror(errno));
      return 1;
    }
  } else {
    fflush(stdout);
  }
  int bad = 0;
  if (format == VIZ_DOT) {
    if (write_all(fd, dot, n) != 0) {
      fprintf(stderr, "hypernodes viz: writing %s%s%s: %s\n", path ? "'" : "",
              path ? path : "stdout", path ? "'" : "", strerror(errno));
      bad = 1;
    }
  } else {
    bad = run_dot(dot, n, format == VIZ_SVG ? "svg" : "png", dot_program, fd);
  }
  if (path && close(fd) != 0 && !bad) {
    fprintf(stderr, "hypernodes viz: closing '%s': %s\n", path, strerror(errno));
    bad = 1;
  }
  if (path && bad) unlink(path);
  return bad;
}
