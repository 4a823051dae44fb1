/*
 * Internal contract of the processes engine's files (processes.c's file
 * comment describes the engine): messages.c, the socket messages and signal
 * names; announce.c, the slots a worker announces its item and node in;
 * child.c, the worker process; pool.c, the worker processes' lives (fork,
 * retire, stop, reap); call.c, one call's work queue, batch sizes and event
 * loop. Not installed; symbols use hn__proc_. Nothing here is thread-safe:
 * an engine serves one call at a time (hn__engine_acquire).
 */
#ifndef HN_ENGINES_PROCESSES_INTERNAL_H
#define HN_ENGINES_PROCESSES_INTERNAL_H

#include <sys/types.h>

#include "processes.h"

#define INFLIGHT 2                 /* batches in flight per worker */
#define TARGET_BATCH_NS 2000000.0  /* automatic batches: about 2 ms of items each */
#define MIN_BATCH_NS 200000.0      /* ... and never under 0.2 ms while items remain */
#define PROBE_ITEMS 64             /* batch size while an item's cost is unknown */
#define BATCH_MAX_ITEMS (1 << 20)  /* automatic batch size: upper bound */
#define BATCH_MAX_BYTES (16 << 20) /* automatic batch size: mapped input bytes */
#define POLL_IDLE_MS 250           /* poll wait without a deadline (also checks exits) */
#define POLL_TIMEOUT_MAX_MS 50     /* poll wait with item timeouts: the check granularity */
#define POLL_STOP_MS 2             /* poll wait when the call may be cancelled or has a deadline */
#define PAYLOAD_MAX ((uint64_t)1 << 40)
#define SOCKET_BUFFER (4 << 20) /* SO_SNDBUF / SO_RCVBUF asked for (the system may cap it) */
/* Results stay as the batches' record batches when these average this many rows (as the
 * threads engine keeps its chunks); smaller ones are joined. */
#define KEEP_BATCH_ROWS 1024

/* ---- messages.c ---------------------------------------------------------------------- */

/*
 * Parent to worker: CALL (a call's description, before its first batch on
 * that worker), TASK (a batch), END (the call is over: destroy its
 * resources), STOP. Worker to parent: REPLY (a batch's reply), DONE (after
 * END: resource instances built and destroyed in the call), FAIL (the
 * worker itself failed: its status and message).
 */
enum { MSG_CALL = 1, MSG_TASK, MSG_END, MSG_STOP, MSG_REPLY, MSG_DONE, MSG_FAIL };

/* TASK flags (msg_header.status): announce node calls too (items are always announced). */
#define TASK_ANNOUNCE_NODES 1

typedef struct msg_header {
  uint32_t type;
  int32_t status;       /* FAIL: the worker's status; TASK: TASK_* flags */
  int64_t first, count; /* TASK, REPLY: the items; DONE: resource inits, destroys */
  uint64_t size;        /* payload bytes that follow */
} msg_header;

/*
 * The payload of CALL: this struct, then one call_input per plan input,
 * then the broadcast inputs as a serialised table (consts_size bytes;
 * hn__consts_encode). Pointers are the caller's: valid in a worker forked
 * after their objects were made (stamps, see pool.c).
 */
typedef struct call_msg {
  uint64_t seq;        /* the call's number on this engine */
  const hn_plan *plan; /* made before the worker was forked */
  hn_allocator alloc;  /* the call's allocator (the pipeline's) */
  int32_t policy;      /* hn_error_policy */
  uint32_t events;     /* hn__batch_events_mask of the caller's callbacks */
  int32_t is_map;
  int32_t io_workers;  /* hn__call.io_workers */
  double node_timeout; /* hn__call.node_timeout */
  int64_t n_inputs;    /* plan->n_inputs */
  uint64_t consts_size;
} call_msg;

typedef struct call_input {
  int64_t kind;          /* hn__src_kind */
  hn_resource *resource; /* RESOURCE: made before the worker was forked */
} call_input;

enum { RECV_OK = 0, RECV_GONE = 1, RECV_NOMEM = 2 };

/* Worker side, blocking. Send header + payload; false when the peer is gone (no SIGPIPE). */
bool hn__proc_send_msg(int fd, uint32_t type, int32_t status, int64_t first, int64_t count,
                       const void *payload, size_t size);
/* Worker side, blocking. Send a message whose payload is n segments, without joining them. */
bool hn__proc_send_parts(int fd, uint32_t type, int64_t first, int64_t count, int n,
                         const void *const *data, const size_t *size);
/* Worker side, blocking. One message: its header and payload into `buf` (resized). RECV_*. */
int hn__proc_recv_msg(int fd, const hn_allocator *a, msg_header *h, hn__bytes *buf);

/* One message queued by the parent: header and payload, sent without blocking. */
typedef struct out_msg {
  msg_header h;
  const uint8_t *data; /* payload: borrowed for the call, or held by `hold` */
  hn_buffer *hold;     /* a reference keeping `data` alive, or NULL */
  size_t done;         /* bytes of header + payload written so far */
} out_msg;

#define OUTQ 4 /* CALL, two TASKs, END */

typedef struct out_queue {
  out_msg m[OUTQ];
  int head, n;
} out_queue;

/* Queue a message (`hold` is retained); false when the queue is full (never, by construction). */
bool hn__proc_queue_msg(out_queue *q, uint32_t type, int32_t flags, int64_t first, int64_t count,
                        const void *data, size_t size, hn_buffer *hold);
/* Write what the socket takes now. RECV_OK (queue may be left non-empty) or RECV_GONE. */
int hn__proc_flush(int fd, out_queue *q);
/* Drop every queued message (releasing what they hold). */
void hn__proc_queue_clear(out_queue *q);

/* A message being received by the parent, without blocking. */
typedef struct in_msg {
  msg_header h;
  size_t h_have;    /* header bytes received */
  hn_buffer *body;  /* payload (allocated once the header is in), or NULL */
  size_t body_have; /* payload bytes received */
} in_msg;

/*
 * Read from fd without blocking. RECV_OK with *ready true: a whole message
 * is in `m` (take m->body, then hn__proc_in_reset); *ready false: nothing
 * more for now. RECV_GONE: end of stream, an error or a malformed header;
 * RECV_NOMEM: no memory for the payload (allocated with `a`).
 */
int hn__proc_in_read(int fd, const hn_allocator *a, in_msg *m, bool *ready);
void hn__proc_in_reset(in_msg *m);

/* ---- announce.c ------------------------------------------------------------------------ */

/*
 * The node is announced as a pointer to its name: the name lives in the
 * plan's nodes, made before the worker was forked and unchanged while the
 * plan lives, so the same address holds the same name in the worker and in
 * the parent. A worker announces with a few stores per node call, no copy.
 */
typedef struct announce_slot {
  /* A cache line each: two workers announcing side by side must not share one. */
  _Alignas(64) _Atomic uint64_t seq; /* odd while the worker writes */
  _Atomic int64_t item;              /* -1: none yet */
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
/* Forget everything announced: the parent when no process is in the slot, a worker before
 * each batch. */
void hn__proc_slot_reset(announce_slot *s);

/* ---- the engine's state (pool.c, call.c, child.c) ----------------------------------------- */

typedef struct batch_ref {
  int64_t first, count;
} batch_ref;

/* One worker slot: at most one process at a time. */
typedef struct pworker {
  pid_t pid;      /* 0: no process in this slot */
  pid_t tid;      /* the thread that forked it: its death signal follows that thread */
  uint64_t stamp; /* hn__stamp_now() when it was forked */
  int fd;         /* parent's end (non-blocking), -1 when closed */
  out_queue out;
  in_msg in;
  /* The current call: */
  uint64_t call_seq;      /* the call whose CALL it was sent (0: none) */
  batch_ref fl[INFLIGHT]; /* batches in flight, oldest first */
  int n_fl;
  bool ran;    /* replied to a batch of this call */
  bool ending; /* END sent, DONE awaited */
} pworker;

/* What the current call is, on the parent's side. */
typedef struct pcall {
  hn__call *x;
  hn__collector *col;
  uint64_t seq;
  uint64_t stamp;     /* the newest creation stamp among what the call needs */
  hn__bytes msg;      /* the CALL payload (x->alloc) */
  bool resources;     /* the call has resource inputs: END each worker that got its CALL */
  int64_t next_item;  /* the normal queue: items [next_item, n_items) */
  batch_ref *requeue; /* lost items re-run before the normal queue (ring) */
  int64_t rq_head, rq_n, rq_cap;
  int64_t bytes_per_item; /* mapped input bytes per item, about */
  int workers_ran;        /* processes replaced during the call that had run a batch */
  int64_t destroys;       /* resource instances destroyed (DONE) */
} pcall;

typedef struct pool {
  hn_allocator alloc; /* the engine's: every allocation that outlives a call */
  int cap;            /* worker slots (the engine's workers) */
  pworker *w;
  announce_slot *slots; /* shared anonymous mapping, cap slots */
  size_t map_size;
  pid_t owner;        /* the process whose workers these are */
  int64_t chunk_size; /* the engine option: fixed batch size, 0: automatic */
  double item_timeout;
  uint64_t seq; /* calls served */
  /* Measured cost of an item of the plan with creation stamp est_stamp. */
  uint64_t est_stamp;
  double est_ns_sum, est_items;
  pcall c; /* the call in progress */
} pool;

/* ---- pool.c ---------------------------------------------------------------------- */

/* The engine's pool: no process yet. HN_ENOMEM naming the mapping that failed. */
hn_status hn__proc_pool_init(pool *p, const hn_allocator *alloc, const hn_engine_options *o,
                             hn_error *err);
/* Stop every worker and free the pool. */
void hn__proc_pool_free(pool *p);
/*
 * Before a call: adopt the pool when this process is a copy of its owner,
 * reap workers that died while idle, and stop those that cannot serve it
 * (forked before `stamp` was made, or by another thread).
 */
hn_status hn__proc_pool_prepare(pool *p, uint64_t stamp, hn_error *err);
/* Fork the worker of slot i. */
hn_status hn__proc_spawn(pool *p, int i, hn_error *err);
/* Wait for the worker of slot i to end and empty the slot; its status, or -1 when unknown. */
int hn__proc_reap(pool *p, int i);
/* Kill (SIGKILL) and reap the worker of slot i. */
int hn__proc_kill(pool *p, int i);
/* Kill and reap every worker (a call failed in the parent). */
void hn__proc_kill_all(pool *p);
/* "worker process killed by SIGSEGV (segmentation fault)" and the like, into buf. */
void hn__proc_describe_status(int status, char *buf, size_t cap);

/* ---- call.c ---------------------------------------------------------------------- */

/* Run the call x on the pool: dispatch, replies, deaths, timeouts, END. */
hn_status hn__proc_run_call(pool *p, hn__call *x, hn_error *err);

/* ---- child.c ---------------------------------------------------------------------- */

/* The worker process of slot `slot` (its end of the socket: fd); never returns. */
_Noreturn void hn__proc_child_main(pool *p, int slot, int fd);
/* Flush stdio and _exit. */
_Noreturn void hn__proc_child_exit(int code);

#endif /* HN_ENGINES_PROCESSES_INTERNAL_H */
