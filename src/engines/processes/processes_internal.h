/*
 * Internal contract of the processes engine's files (processes.c's file
 * comment describes the engine): messages.c, the socket messages and signal
 * names; announce.c, the slots a worker announces its item and node in;
 * child.c, the worker process; pool.c, the parent's side. Not installed;
 * symbols use hn__proc_.
 */
#ifndef HN_ENGINES_PROCESSES_INTERNAL_H
#define HN_ENGINES_PROCESSES_INTERNAL_H

#include <sys/types.h>

#include "processes.h"

#define BATCH_MAX 4096         /* automatic batch size: upper bound */
#define BATCHES_PER_WORKER 8   /* automatic batch size: batches per worker */
#define POLL_IDLE_MS 250       /* poll wait without a deadline (also checks exits) */
#define POLL_TIMEOUT_MAX_MS 50 /* poll wait with item timeouts: the check granularity */
#define POLL_STOP_MS 2         /* poll wait when the call may be cancelled or has a deadline */
#define PAYLOAD_MAX ((uint64_t)1 << 40)

/* ---- messages.c ---------------------------------------------------------------------- */

enum { MSG_TASK = 1, MSG_STOP, MSG_REPLY, MSG_FAIL, MSG_BYE };

typedef struct msg_header {
  uint32_t type;
  int32_t status;       /* FAIL: the worker's status */
  int64_t first, count; /* TASK, REPLY: the items; BYE: resource inits, destroys */
  uint64_t size;        /* payload bytes that follow */
} msg_header;

enum { RECV_OK = 0, RECV_GONE = 1, RECV_NOMEM = 2 };

/* Send all of header + payload; false when the peer is gone (never raises SIGPIPE). */
bool hn__proc_send_msg(int fd, uint32_t type, int32_t status, int64_t first, int64_t count,
                       const void *payload, size_t size);
/* Read one message: its header and payload into `buf` (resized). RECV_*. */
int hn__proc_recv_msg(int fd, const hn_allocator *a, msg_header *h, hn__bytes *buf);

/* ---- announce.c ------------------------------------------------------------------------ */

/*
 * The node is announced as a pointer to its name: the name lives in the
 * plan, allocated before the fork and unchanged during the call, so the
 * same address holds the same name in the worker and in the parent. A
 * worker announces with a few stores per node call, no copy.
 */
typedef struct announce_slot {
  _Atomic uint64_t seq; /* odd while the worker writes */
  _Atomic int64_t item; /* -1: none yet */
  _Atomic int64_t start_ns;
  _Atomic(const char *) node; /* NULL: none yet */
  bool timed;                 /* set before the fork: item_timeout > 0, so items are timed */
  /* Set by a worker that ends with STRAY_EXIT: a child forked by a node
   * returned into the engine while this item and node ran. */
  _Atomic int64_t stray_item;
  _Atomic(const char *) stray_node;
} announce_slot;

#define STRAY_EXIT 86 /* a worker's exit code after a node's child returned into the engine */

int64_t hn__proc_mono_ns(void);
/* The worker's announce hook: a new item clears the node; a node call names it. */
void hn__proc_announce(void *ud, int64_t item, const char *node);
/* Worker: end it if a child forked by a node returned into the engine (fork_guard.c). */
void hn__proc_check_forks(announce_slot *s);
/* Is `name` the name of a node of `plan` (nested plans included)? */
bool hn__proc_plan_node_name(const hn_plan *plan, const char *name);
/* Parent: a consistent snapshot (bounded retries; the node is always NUL-terminated). */
void hn__proc_slot_read(const hn_plan *plan, announce_slot *s, int64_t *item, int64_t *start_ns,
                        char *node);
/* Parent, worker idle: forget the previous batch's item. */
void hn__proc_slot_reset(announce_slot *s);

/* ---- pool.c and child.c ----------------------------------------------------------------- */

typedef struct pworker {
  pid_t pid; /* 0: no process in this slot */
  int fd;    /* parent's end, -1 when closed */
  bool busy;
  int64_t first, count; /* the batch in flight */
  bool replied;         /* this process sent at least one reply */
} pworker;

typedef struct pool {
  hn__call *x;
  hn_allocator alloc;
  hn__collector *col;
  int n;
  pworker *w;
  announce_slot *slots;
  size_t map_size;
  pid_t parent;
  int64_t batch;
  int64_t next_item; /* the normal queue: items [next_item, n_items) in batches */
  int64_t *singles;  /* re-queued items, run one per batch before the normal queue */
  int64_t n_singles, head_singles, cap_singles;
  hn__bytes out, in;
  int workers_ran;
  int64_t bye_destroys;
} pool;

/* Items per batch: the engine's chunk_size, else about BATCHES_PER_WORKER per worker. */
int64_t hn__proc_batch_size(const hn__call *x, int workers);
/* The worker process of slot `slot` (its end of the socket: fd); never returns. */
_Noreturn void hn__proc_child_main(pool *p, int slot, int fd);
/* Flush stdio and _exit. */
_Noreturn void hn__proc_child_exit(int code);
/* Dispatch batches and take replies until the work is done or the call fails. */
hn_status hn__proc_run_pool(pool *p, hn_error *err);
/* Stop every idle worker (STOP, its BYE counts, reap), or kill and reap them all. */
void hn__proc_stop_all(pool *p);
void hn__proc_kill_all(pool *p);

#endif /* HN_ENGINES_PROCESSES_INTERNAL_H */
