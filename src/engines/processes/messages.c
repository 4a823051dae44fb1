/* Messages between the parent and its worker processes, and the names of signals. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "processes_internal.h"

const char *hn__signal_name(int sig) {
  static const struct {
    int sig;
    const char *name;
  } k[] = {
      {SIGSEGV, "SIGSEGV (segmentation fault)"},
      {SIGABRT, "SIGABRT (aborted)"},
      {SIGBUS, "SIGBUS (bus error)"},
      {SIGFPE, "SIGFPE (floating-point exception)"},
      {SIGILL, "SIGILL (illegal instruction)"},
      {SIGKILL, "SIGKILL (killed)"},
      {SIGTERM, "SIGTERM (terminated)"},
      {SIGINT, "SIGINT (interrupted)"},
      {SIGQUIT, "SIGQUIT (quit)"},
      {SIGHUP, "SIGHUP (hangup)"},
      {SIGPIPE, "SIGPIPE (broken pipe)"},
      {SIGALRM, "SIGALRM (alarm clock)"},
      {SIGTRAP, "SIGTRAP (trace/breakpoint trap)"},
      {SIGSYS, "SIGSYS (bad system call)"},
      {SIGXCPU, "SIGXCPU (CPU time limit exceeded)"},
      {SIGXFSZ, "SIGXFSZ (file size limit exceeded)"},
      {SIGUSR1, "SIGUSR1 (user signal 1)"},
      {SIGUSR2, "SIGUSR2 (user signal 2)"},
  };
  for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
    if (k[i].sig == sig) return k[i].name;
  static _Thread_local char buf[32];
  snprintf(buf, sizeof buf, "signal %d", sig);
  return buf;
}

/* Send all of header + payload; false when the peer is gone (never raises SIGPIPE). */
static bool send_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t k = send(fd, b, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k;
    n -= (size_t)k;
  }
  return true;
}

bool hn__proc_send_msg(int fd, uint32_t type, int32_t status, int64_t first, int64_t count,
                       const void *payload, size_t size) {
  msg_header h = {type, status, first, count, size};
  return send_all(fd, &h, sizeof h) && send_all(fd, payload, size);
}

/* Read exactly n bytes; false on end of stream or error. */
static bool recv_all(int fd, void *p, size_t n) {
  uint8_t *b = p;
  while (n > 0) {
    ssize_t k = read(fd, b, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return false;
    b += k;
    n -= (size_t)k;
  }
  return true;
}

/* Read one message: its header and payload into `buf` (resized). RECV_*. */
int hn__proc_recv_msg(int fd, const hn_allocator *a, msg_header *h, hn__bytes *buf) {
  if (!recv_all(fd, h, sizeof *h) || h->size > PAYLOAD_MAX) return RECV_GONE;
  buf->size = 0;
  if (hn__bytes_reserve(a, buf, (size_t)h->size, NULL) != HN_OK) return RECV_NOMEM;
  if (!recv_all(fd, buf->data, (size_t)h->size)) return RECV_GONE;
  buf->size = (size_t)h->size;
  return RECV_OK;
}
