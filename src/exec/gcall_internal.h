/*
 * Shared by guard.c (the I/O pool, limits, the wait) and gcall.c (one
 * guarded call, attempt by attempt): the two structs and their contract.
 * Not installed.
 *
 * Locking: guard->mu guards the queue, the thread counts and the limits;
 * gcall->mu guards a call's running state (attempt_deadline, finished,
 * abandoned, holds_slot). Order: guard->mu, then gcall->mu. A thread whose
 * call was abandoned never touches the guard again (it may be gone).
 */
#ifndef HN_EXEC_GCALL_INTERNAL_H
#define HN_EXEC_GCALL_INTERNAL_H

#include "exec_internal.h"

/* A per-node concurrency limit of one run. */
typedef struct hn__limit {
  const hn_gnode *node;
  int limit; /* 0: none */
  int busy;
} hn__limit;

struct hn__guard {
  hn_allocator alloc;
  const hn__call *x;
  hn_pipeline *pipeline; /* retained by each detached call (abandoned calls keep it alive) */
  pthread_mutex_t mu;
  pthread_cond_t work; /* the queue has a call, or shutdown */
  pthread_cond_t done; /* a call finished, a slot was freed, or a thread left */
  hn__gcall *head, *tail;
  int max_threads, n_threads, n_idle; /* n_threads: started, not yet gone nor abandoned */
  bool shutdown;
  /* Every thread started: joined at destroy, unless detached when its call was abandoned. */
  pthread_t *threads;
  bool *detached;
  int n_started, cap_started;
  int64_t n_limits;
  hn__limit *limits;
  int64_t abandoned; /* calls abandoned during the run (under mu) */
};

typedef struct hn__attempt {
  hn_status st;
  char *message;                 /* owned */
  int64_t start_ns, duration_ns; /* CLOCK_MONOTONIC (hn__now_ns) */
} hn__attempt;

struct hn__gcall {
  hn__guard *g; /* valid until abandoned */
  hn_allocator alloc;
  hn_pipeline *pipeline; /* detached calls: retained */
  _Atomic int refs;
  const hn_gnode *node;
  hn_node_policy policy; /* with the call's node timeout applied */
  hn__limit *limit;      /* NULL: none */
  bool batch, detached;
  int64_t m, n_in, n_out;
  hn_array **in_arr; /* per input: owned copy (one row, or the batch column), NULL: resource */
  hn_datum *in;      /* row calls: views into in_arr (or the resource) */
  hn_batch_arg *args;
  const hn_type **out_types; /* retained */
  hn_builder **b;            /* row calls: per output */
  hn_array **out;            /* per output, after success */
  hn_ctx ctx;
  int n_att, cap_att;
  hn__attempt *att;
  hn_status status;
  char *messages; /* every attempt's message, last first (made after the call) */
  uint64_t rng;
  /* Running state, under mu. */
  pthread_mutex_t mu;
  _Atomic bool cancel; /* the attempt should stop (the node sees it) */
  double attempt_deadline, attempt_start;
  bool finished, abandoned, holds_slot, started;
  bool on_thread; /* run by a pool thread: `runner` */
  pthread_t runner;
  hn__gcall *next; /* queue link */
};

/* Run c attempt by attempt on this thread; false when c was abandoned meanwhile. */
bool hn__gcall_run(hn__gcall *c);
/* Drop one reference; the last frees c (a detached call also releases its pipeline). */
void hn__gcall_unref(hn__gcall *c);
/* Take a slot of c's limit, waiting while it is full; false when the call stopped first. */
bool hn__limit_acquire(hn__gcall *c);
void hn__limit_release(hn__guard *g, hn__limit *l);
/* Calls abandoned and still running in this process (hn_abandoned_calls). */
extern _Atomic int64_t hn__abandoned_running;

#endif /* HN_EXEC_GCALL_INTERNAL_H */
