/*
 * Retries, timeouts, cancellation and per-node concurrency: the one place
 * every engine's guarded node calls go through (docs/pipelines.md,
 * "Retries, timeouts and concurrency"). Included by exec_internal.h; not
 * installed; symbols use hn__.
 *
 * stop.c: a call's stop state (a cancellation token, the call's deadline).
 * guard.c: per engine run, the I/O pool that runs detached calls, the
 * concurrency limits, and the wait that enforces deadlines. gcall.c: one
 * guarded node call (a row call of one row or a batch call of m rows) with
 * its own copies of its inputs, its own outputs and context, run attempt by
 * attempt. An engine calls a node with a policy through a gcall at its
 * existing call site, and a node without one exactly as before.
 */
#ifndef HN_EXEC_GUARD_H
#define HN_EXEC_GUARD_H

#include <pthread.h>

/* ---- stopping a call (stop.c) ------------------------------------------------ */

/* Why and when a call stops; shared by every thread of the call (read-mostly). */
typedef struct hn__stop {
  hn_cancel *cancel;   /* borrowed for the call, or NULL */
  double deadline;     /* CLOCK_MONOTONIC seconds; 0: none */
  double timeout;      /* the call's timeout, for the message */
  _Atomic int status;  /* HN_OK until stopped, then HN_ECANCELLED or HN_ETIMEDOUT (sticky) */
  _Atomic bool polled; /* a stop is watched (cancel or deadline): waits poll */
} hn__stop;

/* CLOCK_MONOTONIC in seconds. Thread-safe and async-signal-safe. */
double hn__now(void);
/* Set up s for a call's options (s zeroed first); false when neither is set. */
bool hn__stop_init(hn__stop *s, hn_cancel *cancel, double timeout);
/* HN_OK, or why the call stops (sticky). Thread-safe; an atomic load, plus a clock read with a
 * deadline. */
hn_status hn__stop_check(hn__stop *s);
/* err filled for a stopped call ("cancelled", "timed out after N s"); returns the status. */
hn_status hn__stop_error(hn__stop *s, hn_error *err);

/* HN_OK, or why x stops (its stop state may be NULL: never). */
static inline hn_status hn__call_stopped(const hn__call *x) {
  return HN__UNLIKELY(x->stop != NULL) ? hn__stop_check(x->stop) : HN_OK;
}

/* ---- the guard of one engine run (guard.c) --------------------------------------- */

typedef struct hn__guard hn__guard;
typedef struct hn__gcall hn__gcall;

/* Whether node g of call x needs a guarded call: a policy, or the call's node timeout. */
bool hn__node_guarded(const hn__call *x, const hn_gnode *g);
/* Whether g's calls are detached on the I/O pool (io, or a timeout). */
bool hn__node_detached(const hn__call *x, const hn_gnode *g);
/* Whether g is an io node (its calls of many items may be in flight at once). */
bool hn__node_io(const hn_gnode *g);
/* Calls an io node may have in flight in one run: its concurrency, else the I/O pool's size. */
int hn__node_inflight(const hn__call *x, const hn_gnode *g);
/* Items an item-major batch or chunk should hold when x's top plan has io nodes: two waves of
 * calls in flight (0: no io node). */
int64_t hn__io_wave(const hn__call *x);

/*
 * The guard of one engine run of x (a run of the item executor, a columnar
 * job): *out NULL when no node of x's plan (nested plans included) is
 * guarded. Created and destroyed on one thread; everything else is
 * thread-safe.
 */
hn_status hn__guard_create(const hn__call *x, hn__guard **out, hn_error *err);
/*
 * Wait for the pool's threads and free the guard (NULL: no-op). Calls
 * abandoned past their grace are not waited for: *abandoned (may be NULL)
 * gets their count over the run; they finish on their own threads
 * (hn_abandoned_calls).
 */
void hn__guard_destroy(hn__guard *g, int64_t *abandoned);

/* ---- one guarded call (gcall.c) --------------------------------------------------- */

/* What a guarded call calls. Everything is read during hn__gcall_create only. */
typedef struct hn__gcall_in {
  const hn_gnode *node;
  bool batch; /* call the batch function (else the row function) */
  int64_t m;  /* batch: rows; row: 1 */
  /* Row calls (and batch calls of one row from datums): the input values, their types and
   * whether each is a resource instance (passed as it is, never copied). */
  const hn_datum *in;
  const hn_type *const *in_types;
  const bool *in_res;
  /* Batch calls from columns (NULL: from `in`): the arguments, arrays retained by the call. */
  const hn_batch_arg *args;
  const hn_type *const *out_types; /* per output */
  int worker;                      /* hn_ctx_worker inside the call */
} hn__gcall_in;

/*
 * A guarded call of in->node, with private copies of its inputs. Returns
 * HN_OK, HN_ENOMEM, or HN_ETYPE for an input of unknown type (msg says
 * which); *out is NULL on failure.
 */
hn_status hn__gcall_create(hn__guard *g, const hn__gcall_in *in, hn__gcall **out, char *msg,
                           size_t cap);
/* Start it: run it now on this thread (not detached) or queue it on the I/O pool. */
void hn__gcall_start(hn__guard *g, hn__gcall *c);
/*
 * Wait until every call of c[0, n) (started) has finished or has been
 * abandoned: a detached attempt past its deadline sees hn_ctx_cancelled, and
 * one still running HN_TIMEOUT_GRACE later is abandoned (its call fails
 * "timed out after N s"); once the call stops, every attempt is cancelled
 * and abandoned after the grace in the same way.
 */
void hn__gcall_wait(hn__guard *g, hn__gcall *const *c, int64_t n);
/* After the wait: the outcome (HN_OK or the last attempt's failure) and its message. */
hn_status hn__gcall_status(const hn__gcall *c);
const char *hn__gcall_message(const hn__gcall *c);
/* Attempts made (>= 1 once waited for, 0 when the call stopped before its first). */
int hn__gcall_attempts(const hn__gcall *c);
/* Attempt k (0-based): its status and message (borrowed). */
hn_status hn__gcall_attempt(const hn__gcall *c, int k, const char **message);
/* Every attempt's message, the last first, one per line (owned by c; NULL: only one attempt). */
const char *hn__gcall_messages(const hn__gcall *c);
/* Output k of a successful call (m rows; the reference is taken, NULL afterwards). */
hn_array *hn__gcall_take_output(hn__gcall *c, int64_t k);
/* Drop the caller's reference (a call still running on an abandoned thread lives on). */
void hn__gcall_release(hn__gcall *c);

/*
 * Fire the events of a waited call: per attempt node_start and node_end
 * (event.attempt set through `attempt`), and on_retry for every failed
 * attempt followed by another. `emit(ctx, fn, status, message, start_ns,
 * duration_ns)` fires one event the engine's way (the attempt's times on
 * CLOCK_MONOTONIC; a retry's start is when its attempt failed); *attempt
 * holds the attempt number while it runs.
 */
typedef void (*hn__emit_fn)(void *ctx, hn_callback fn, hn_status st, const char *message,
                            int64_t start_ns, int64_t duration_ns);
void hn__gcall_events(const hn__gcall *c, const hn__events *ev, hn__emit_fn emit, void *ctx,
                      int *attempt);

#endif /* HN_EXEC_GUARD_H */
