/* A worker process of the processes engine. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "processes_internal.h"

_Noreturn void hn__proc_child_exit(int code) {
  fflush(NULL);
  _exit(code);
}

static void child_fail(announce_slot *s, int fd, hn_status st, const hn_error *e) {
  hn__proc_check_forks(s);
  const char *m = e->message[0] ? e->message : hn_status_str(st);
  (void)hn__proc_send_msg(fd, MSG_FAIL, (int32_t)st, 0, 0, m, strlen(m));
}

_Noreturn void hn__proc_child_main(pool *p, int slot, int fd) {
  for (int i = 0; i < p->n; i++)
    if (i != slot && p->w[i].fd >= 0) close(p->w[i].fd);
#ifdef __linux__
  (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
  if (getppid() != p->parent) hn__proc_child_exit(1);
  announce_slot *s = &p->slots[slot];
  const hn_allocator *a = &p->alloc;
  hn_error e;
  hn_error_reset(&e);
  hn__batch_worker *bw = NULL;
  hn_status st = hn__fork_guard_install(&s->item, &s->node, &e);
  if (st == HN_OK) st = hn__batch_worker_create(p->x, NULL, &bw, &e);
  if (st != HN_OK) {
    child_fail(s, fd, st, &e);
    hn__proc_child_exit(1);
  }
  hn__batch_worker_set_announce(bw, hn__proc_announce, s);
  hn__bytes in = {0}, reply = {0};
  msg_header h;
  int code = 0;
  for (;;) {
    int rc = hn__proc_recv_msg(fd, a, &h, &in);
    if (rc == RECV_NOMEM) {
      hn__error(&e, HN_ENOMEM, "out of memory receiving a batch of %llu bytes",
                (unsigned long long)h.size);
      child_fail(s, fd, HN_ENOMEM, &e);
      code = 1;
      break;
    }
    if (rc != RECV_OK || h.type == MSG_STOP) break; /* the parent is gone, or done */
    if (h.type != MSG_TASK) {
      child_fail(s, fd, HN_ECORRUPT, &(hn_error){.message = "unexpected message from the parent"});
      code = 1;
      break;
    }
    st = hn__batch_worker_run(bw, h.first, h.count, in.data, in.size, &reply, &e);
    if (st != HN_OK) {
      child_fail(s, fd, st, &e);
      code = 1;
      break;
    }
    hn__proc_check_forks(s);
    if (!hn__proc_send_msg(fd, MSG_REPLY, 0, h.first, h.count, reply.data, reply.size)) break;
  }
  int64_t inits = 0, destroys = 0;
  hn__batch_worker_destroy(bw, &inits, &destroys);
  hn__bytes_free(a, &in);
  hn__bytes_free(a, &reply);
  hn__proc_check_forks(s); /* resources' destroy functions are node code too */
  if (code == 0) (void)hn__proc_send_msg(fd, MSG_BYE, 0, inits, destroys, NULL, 0);
  close(fd);
  hn__proc_child_exit(code);
}
