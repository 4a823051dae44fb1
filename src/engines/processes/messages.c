/*
 * Messages between the parent and its worker processes, and the names of
 * signals. A worker reads and writes its socket blocking (it has nothing
 * else to do); the parent never blocks on a worker's socket: it queues
 * messages and writes what the socket takes (out_queue), and reads what
 * has arrived into a message being assembled (in_msg), so that two batches
 * in flight per worker can never deadlock parent and worker both writing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

/* Send all of p; false when the peer is gone (never raises SIGPIPE). */
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

bool hn__proc_send_parts(int fd, uint32_t type, int64_t first, int64_t count, int n,
                         const void *const *data, const size_t *size) {
  msg_header h = {type, 0, first, count, 0};
  struct iovec iov[1 + HN__REPLY_SEGMENTS];
  int k = 0;
  iov[k++] = (struct iovec){&h, sizeof h};
  for (int i = 0; i < n && i < HN__REPLY_SEGMENTS; i++) {
    h.size += size[i];
    if (size[i]) iov[k++] = (struct iovec){(void *)data[i], size[i]};
  }
  struct iovec *v = iov;
  while (k > 0) {
    struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)k};
    ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    size_t left = (size_t)w;
    while (k > 0 && left >= v->iov_len) {
      left -= v->iov_len;
      v++;
      k--;
    }
    if (k > 0) {
      v->iov_base = (uint8_t *)v->iov_base + left;
      v->iov_len -= left;
    }
  }
  return true;
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

/* ---- the parent's side: without blocking ------------------------------------------------ */

bool hn__proc_queue_msg(out_queue *q, uint32_t type, int32_t flags, int64_t first, int64_t count,
                        const void *data, size_t size, hn_buffer *hold) {
  if (q->n == OUTQ) return false;
  out_msg *m = &q->m[(q->head + q->n) % OUTQ];
  *m = (out_msg){
      .h = {type, flags, first, count, size}, .data = data, .hold = hn_buffer_retain(hold)};
  q->n++;
  return true;
}

static void queue_pop(out_queue *q) {
  hn_buffer_release(q->m[q->head].hold);
  q->m[q->head].hold = NULL;
  q->head = (q->head + 1) % OUTQ;
  q->n--;
}

void hn__proc_queue_clear(out_queue *q) {
  while (q->n > 0) queue_pop(q);
  q->head = 0;
}

int hn__proc_flush(int fd, out_queue *q) {
  while (q->n > 0) {
    out_msg *m = &q->m[q->head];
    size_t total = sizeof m->h + m->h.size;
    struct iovec iov[2];
    int n = 0;
    if (m->done < sizeof m->h)
      iov[n++] = (struct iovec){(uint8_t *)&m->h + m->done, sizeof m->h - m->done};
    size_t at = m->done > sizeof m->h ? m->done - sizeof m->h : 0;
    if (m->h.size > at) iov[n++] = (struct iovec){(void *)(m->data + at), m->h.size - at};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return RECV_OK;
    if (k <= 0) return RECV_GONE;
    m->done += (size_t)k;
    if (m->done == total) queue_pop(q);
  }
  return RECV_OK;
}

void hn__proc_in_reset(in_msg *m) {
  hn_buffer_release(m->body);
  *m = (in_msg){.h_have = 0};
}

/* Read up to n bytes; the count, 0 for nothing now (*gone set on end of stream or error). */
static size_t read_some(int fd, void *p, size_t n, bool *gone) {
  for (;;) {
    ssize_t k = recv(fd, p, n, MSG_DONTWAIT);
    if (k > 0) return (size_t)k;
    if (k < 0 && errno == EINTR) continue;
    if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 0;
    *gone = true;
    return 0;
  }
}

int hn__proc_in_read(int fd, const hn_allocator *a, in_msg *m, bool *ready) {
  *ready = false;
  bool gone = false;
  while (m->h_have < sizeof m->h) {
    size_t k = read_some(fd, (uint8_t *)&m->h + m->h_have, sizeof m->h - m->h_have, &gone);
    if (gone) return RECV_GONE;
    if (k == 0) return RECV_OK;
    m->h_have += k;
  }
  if (m->h.size > PAYLOAD_MAX) return RECV_GONE;
  if (!m->body && m->h.size > 0 &&
      hn_buffer_create_uninit(a, (int64_t)m->h.size, &m->body, NULL) != HN_OK)
    return RECV_NOMEM;
  uint8_t *dst = m->h.size > 0 ? hn_buffer_mutable_data(m->body) : NULL;
  while (m->body_have < m->h.size) {
    size_t k = read_some(fd, dst + m->body_have, (size_t)m->h.size - m->body_have, &gone);
    if (gone) return RECV_GONE;
    if (k == 0) return RECV_OK;
    m->body_have += k;
  }
  *ready = true;
  return RECV_OK;
}
