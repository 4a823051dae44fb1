/*
 * The worker processes' lives (processes.c's file comment has the design):
 * forked when a call needs one, kept between calls, retired before a call
 * they cannot serve, stopped when the engine goes, killed when a call fails
 * in the parent. Every process forked here is reaped here, and every
 * descriptor opened here is closed here, on every path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "processes_internal.h"

/* The calling thread's kernel id: a worker's death signal follows the thread that forked it. */
static pid_t this_thread(void) {
  return (pid_t)syscall(SYS_gettid);
}

static hn_status map_slots(pool *p, hn_error *err) {
  long page = sysconf(_SC_PAGESIZE);
  size_t bytes = sizeof(announce_slot) * (size_t)p->cap;
  p->map_size = page > 0 ? (bytes + (size_t)page - 1) / (size_t)page * (size_t)page : bytes;
  void *m = mmap(NULL, p->map_size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    p->slots = NULL;
    return hn__error(err, HN_ENOMEM, "processes engine: mmap of %zu bytes failed: %s", p->map_size,
                     strerror(errno));
  }
  p->slots = m;
  for (int i = 0; i < p->cap; i++) {
    atomic_init(&p->slots[i].seq, 0);
    atomic_init(&p->slots[i].item, -1);
    atomic_init(&p->slots[i].start_ns, 0);
    atomic_init(&p->slots[i].node, NULL);
    atomic_init(&p->slots[i].stray_item, -1);
    atomic_init(&p->slots[i].stray_node, NULL);
    p->slots[i].timed = p->item_timeout > 0;
  }
  return HN_OK;
}

hn_status hn__proc_pool_init(pool *p, const hn_allocator *alloc, const hn_engine_options *o,
                             hn_error *err) {
  memset(p, 0, sizeof *p);
  p->alloc = *alloc;
  p->cap = o->workers > 0 ? o->workers : 1;
  p->chunk_size = o->chunk_size;
  p->item_timeout = o->item_timeout;
  p->owner = getpid();
  p->w = hn__calloc(&p->alloc, (size_t)p->cap, sizeof *p->w);
  if (!p->w) return hn__error_nomem(err, "starting the processes engine");
  for (int i = 0; i < p->cap; i++) p->w[i] = (pworker){.fd = -1};
  return map_slots(p, err);
}

/* Empty slot i (the process is gone or not ours): close, drop queued and partial messages. */
static void forget(pool *p, int i) {
  pworker *w = &p->w[i];
  if (w->fd >= 0) close(w->fd);
  hn__proc_queue_clear(&w->out);
  hn__proc_in_reset(&w->in);
  *w = (pworker){.fd = -1};
  /* The mapping is shared with the owner's workers: a copy of the owner leaves it alone. */
  if (p->slots && p->owner == getpid()) hn__proc_slot_reset(&p->slots[i]);
}

int hn__proc_reap(pool *p, int i) {
  int status = -1;
  pworker *w = &p->w[i];
  if (w->pid > 0) {
    pid_t r;
    do r = waitpid(w->pid, &status, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) status = -1;
  }
  forget(p, i);
  return status;
}

int hn__proc_kill(pool *p, int i) {
  if (p->w[i].pid > 0) kill(p->w[i].pid, SIGKILL);
  return hn__proc_reap(p, i);
}

void hn__proc_kill_all(pool *p) {
  for (int i = 0; i < p->cap; i++)
    if (p->w[i].pid > 0) kill(p->w[i].pid, SIGKILL);
  for (int i = 0; i < p->cap; i++)
    if (p->w[i].pid > 0 || p->w[i].fd >= 0) (void)hn__proc_reap(p, i);
}

/* Ask an idle worker to end (STOP, then end of stream) and reap it. */
static void stop_worker(pool *p, int i) {
  pworker *w = &p->w[i];
  hn__proc_queue_clear(&w->out);
  if (w->fd >= 0) {
    /* Blocking: an idle worker reads at once, and a dead one makes this fail. */
    int flags = fcntl(w->fd, F_GETFL);
    if (flags >= 0) (void)fcntl(w->fd, F_SETFL, flags & ~O_NONBLOCK);
    (void)hn__proc_send_msg(w->fd, MSG_STOP, 0, 0, 0, NULL, 0);
  }
  (void)hn__proc_reap(p, i);
}

void hn__proc_pool_free(pool *p) {
  if (p->w) {
    if (p->owner == getpid()) {
      for (int i = 0; i < p->cap; i++)
        if (p->w[i].pid > 0) stop_worker(p, i);
    }
    for (int i = 0; i < p->cap; i++) forget(p, i); /* a copy of the owner: close only */
  }
  if (p->slots) munmap(p->slots, p->map_size);
  hn__free(&p->alloc, p->w);
  p->w = NULL;
  p->slots = NULL;
}

void hn__proc_describe_status(int status, char *buf, size_t cap) {
  if (status == -1)
    snprintf(buf, cap, "worker process ended (its exit status is unavailable)");
  else if (WIFSIGNALED(status))
    snprintf(buf, cap, "worker process killed by %s", hn__signal_name(WTERMSIG(status)));
  else if (WIFEXITED(status))
    snprintf(buf, cap, "worker process exited with status %d", WEXITSTATUS(status));
  else
    snprintf(buf, cap, "worker process ended (wait status %d)", status);
}

/*
 * This process is a copy (fork) of the pool's owner: the workers and the
 * announce mapping are the owner's. Close our copies of the sockets, never
 * signal or wait for the owner's children, and take a mapping of our own.
 */
static hn_status adopt(pool *p, hn_error *err) {
  for (int i = 0; i < p->cap; i++) {
    p->w[i].pid = 0;
    forget(p, i);
  }
  if (p->slots) munmap(p->slots, p->map_size);
  p->slots = NULL;
  p->owner = getpid();
  p->est_stamp = 0;
  return map_slots(p, err);
}

hn_status hn__proc_pool_prepare(pool *p, uint64_t stamp, hn_error *err) {
  if (p->owner != getpid() || !p->slots) {
    hn_status st = adopt(p, err);
    if (st != HN_OK) return st;
  }
  pid_t me = this_thread();
  for (int i = 0; i < p->cap; i++) {
    pworker *w = &p->w[i];
    if (w->pid <= 0) continue;
    int status = 0;
    pid_t r = waitpid(w->pid, &status, WNOHANG);
    if (r == w->pid || (r < 0 && errno == ECHILD)) {
      w->pid = 0; /* died while idle (killed, or its forking thread ended): reaped */
      forget(p, i);
    } else if (w->stamp < stamp || w->tid != me) {
      stop_worker(p, i); /* the call needs what it has not got, or its thread may end */
    }
  }
  return HN_OK;
}

hn_status hn__proc_spawn(pool *p, int i, hn_error *err) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return hn__error(err, HN_EIO, "processes engine: socketpair failed: %s", strerror(errno));
  for (int k = 0; k < 2; k++) { /* room for a batch each way: fewer wake-ups (best effort) */
    int size = SOCKET_BUFFER;
    (void)setsockopt(sv[k], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    (void)setsockopt(sv[k], SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  if (fcntl(sv[0], F_SETFL, O_NONBLOCK) != 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return hn__error(err, HN_EIO, "processes engine: fcntl failed: %s", strerror(e));
  }
  hn__proc_slot_reset(&p->slots[i]);
  /* Read before the fork: whatever was stamped by now is in the child's memory. */
  uint64_t stamp = hn__stamp_now();
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    return hn__error(err, HN_EIO, "processes engine: fork failed: %s", strerror(e));
  }
  if (pid == 0) {
    close(sv[0]);
    hn__proc_child_main(p, i, sv[1]);
  }
  close(sv[1]);
  p->w[i] = (pworker){.pid = pid, .tid = this_thread(), .stamp = stamp, .fd = sv[0]};
  return HN_OK;
}
