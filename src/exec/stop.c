/*
 * A call's stop state: a cancellation token (hn_cancel, public) and the
 * call's own deadline (hn_run_options.timeout). Requesting a token is one
 * atomic store, so it is safe from a signal handler; the engines poll the
 * state between items, attempts and waits.
 */
#define _POSIX_C_SOURCE 200809L
#include <time.h>

#include "exec_internal.h"

struct hn_cancel {
  _Atomic int requested; /* lock-free on every target we build for (checked below) */
};

#if defined(ATOMIC_INT_LOCK_FREE) && ATOMIC_INT_LOCK_FREE != 2
#error "hn_cancel_request must be async-signal-safe: atomic int must be lock-free"
#endif

hn_status hn_cancel_create(hn_cancel **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_cancel_create: NULL out");
  const hn_allocator *a = hn_allocator_default();
  hn_cancel *c = hn__calloc(a, 1, sizeof *c);
  if (!c) return hn__error_nomem(err, "creating a cancellation token");
  atomic_init(&c->requested, 0);
  *out = c;
  return HN_OK;
}

void hn_cancel_destroy(hn_cancel *cancel) {
  hn__free(hn_allocator_default(), cancel);
}

void hn_cancel_request(hn_cancel *cancel) {
  if (cancel) atomic_store_explicit(&cancel->requested, 1, memory_order_release);
}

bool hn_cancel_requested(const hn_cancel *cancel) {
  return cancel && atomic_load_explicit(&((hn_cancel *)cancel)->requested, memory_order_acquire);
}

void hn_cancel_reset(hn_cancel *cancel) {
  if (cancel) atomic_store_explicit(&cancel->requested, 0, memory_order_release);
}

double hn__now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool hn__stop_init(hn__stop *s, hn_cancel *cancel, double timeout) {
  memset(s, 0, sizeof *s);
  s->cancel = cancel;
  s->timeout = timeout > 0 ? timeout : 0;
  s->deadline = timeout > 0 ? hn__now() + timeout : 0;
  atomic_init(&s->status, HN_OK);
  atomic_init(&s->polled, cancel != NULL || timeout > 0);
  return cancel != NULL || timeout > 0;
}

hn_status hn__stop_check(hn__stop *s) {
  int st = atomic_load_explicit(&s->status, memory_order_relaxed);
  if (HN__LIKELY(st == HN_OK)) {
    if (s->cancel && hn_cancel_requested(s->cancel))
      st = HN_ECANCELLED;
    else if (s->deadline > 0 && hn__now() >= s->deadline)
      st = HN_ETIMEDOUT;
    if (st == HN_OK) return HN_OK;
    int expected = HN_OK;
    if (!atomic_compare_exchange_strong(&s->status, &expected, st)) st = expected;
  }
  return (hn_status)st;
}

hn_status hn__stop_error(hn__stop *s, hn_error *err) {
  hn_status st = hn__stop_check(s);
  if (st == HN_ETIMEDOUT) return hn__error(err, st, "timed out after %g s", s->timeout);
  if (st == HN_ECANCELLED) return hn__error(err, st, "cancelled");
  return st;
}
