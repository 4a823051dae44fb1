/*
 * The guard of one engine run: which nodes are guarded, the I/O pool that
 * runs detached calls (threads started as needed, up to io_workers), the
 * per-node concurrency limits, and the wait that enforces deadlines and
 * abandons calls that ignore them (gcall_internal.h has the locking rules).
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <time.h>

#include "gcall_internal.h"

#define IO_WORKERS_DEFAULT 64
#define POLL_SECONDS 0.002 /* how often a wait looks at a stop it cannot be woken for */

_Atomic int64_t hn__abandoned_running;

int64_t hn_abandoned_calls(void) {
  return atomic_load(&hn__abandoned_running);
}

bool hn__node_io(const hn_gnode *g) {
  return g->policy.io;
}

bool hn__node_guarded(const hn__call *x, const hn_gnode *g) {
  const hn_node_policy *p = &g->policy;
  if (g->inner) return false;
  return p->attempts > 1 || p->timeout > 0 || p->concurrency > 0 || p->io || x->node_timeout > 0;
}

bool hn__node_detached(const hn__call *x, const hn_gnode *g) {
  return g->policy.io || g->policy.timeout > 0 || (!g->inner && x->node_timeout > 0);
}

static int io_workers(const hn__call *x) {
  int n = x->io_workers;
  return n > 0 ? n : IO_WORKERS_DEFAULT;
}

int hn__node_inflight(const hn__call *x, const hn_gnode *g) {
  int n = io_workers(x);
  return g->policy.concurrency > 0 && g->policy.concurrency < n ? g->policy.concurrency : n;
}

int64_t hn__io_wave(const hn__call *x) {
  int64_t size = 0;
  for (int64_t s = 0; s < x->plan->n_steps; s++) {
    const hn_gnode *g = x->plan->steps[s].node;
    if (!g->inner && hn__node_io(g) && 2 * (int64_t)hn__node_inflight(x, g) > size)
      size = 2 * (int64_t)hn__node_inflight(x, g);
  }
  return size;
}

/* ---- limits ------------------------------------------------------------------------ */

static hn_status add_limits(hn__guard *g, const hn_plan *plan, bool *any, hn_error *err) {
  for (int64_t s = 0; s < plan->n_steps; s++) {
    const hn_plan_step *ps = &plan->steps[s];
    if (ps->inner) {
      hn_status st = add_limits(g, ps->inner, any, err);
      if (st != HN_OK) return st;
      continue;
    }
    if (!hn__node_guarded(g->x, ps->node)) continue;
    *any = true;
    if (ps->node->policy.concurrency <= 0) continue;
    bool seen = false;
    for (int64_t k = 0; k < g->n_limits; k++) seen = seen || g->limits[k].node == ps->node;
    if (seen) continue;
    hn__limit *l = hn__realloc(&g->alloc, g->limits, sizeof *l * (size_t)(g->n_limits + 1));
    if (!l) return hn__error_nomem(err, "for concurrency limits");
    g->limits = l;
    g->limits[g->n_limits++] = (hn__limit){ps->node, ps->node->policy.concurrency, 0};
  }
  return HN_OK;
}

static void limit_wait(hn__guard *g, hn__gcall *c) {
  if (c->ctx.stop && atomic_load(&c->ctx.stop->polled)) {
    double t = hn__now() + POLL_SECONDS;
    struct timespec ts = {(time_t)t, (long)((t - floor(t)) * 1e9)};
    pthread_cond_timedwait(&g->done, &g->mu, &ts);
  } else {
    pthread_cond_wait(&g->done, &g->mu);
  }
}

bool hn__limit_acquire(hn__gcall *c) {
  hn__guard *g = c->g;
  pthread_mutex_lock(&g->mu);
  while (c->limit->busy >= c->limit->limit) {
    if (c->ctx.stop && hn__stop_check(c->ctx.stop) != HN_OK) {
      pthread_mutex_unlock(&g->mu);
      return false;
    }
    limit_wait(g, c);
  }
  c->limit->busy++;
  pthread_mutex_lock(&c->mu);
  c->holds_slot = true;
  pthread_mutex_unlock(&c->mu);
  pthread_mutex_unlock(&g->mu);
  return true;
}

void hn__limit_release(hn__guard *g, hn__limit *l) {
  pthread_mutex_lock(&g->mu);
  l->busy--;
  pthread_cond_broadcast(&g->done);
  pthread_mutex_unlock(&g->mu);
}

/* ---- the guard ------------------------------------------------------------------------ */

hn_status hn__guard_create(const hn__call *x, hn__guard **out, hn_error *err) {
  *out = NULL;
  hn__guard *g = hn__calloc(&x->alloc, 1, sizeof *g);
  if (!g) return hn__error_nomem(err, "for node policies");
  g->alloc = x->alloc;
  g->x = x;
  g->max_threads = io_workers(x);
  bool any = false;
  hn_status st = add_limits(g, x->plan, &any, err);
  if (st != HN_OK || !any) {
    hn__free(&g->alloc, g->limits);
    hn__free(&g->alloc, g);
    return st;
  }
  if (pthread_mutex_init(&g->mu, NULL) != 0) goto fail;
  if (pthread_cond_init(&g->work, NULL) != 0) {
    pthread_mutex_destroy(&g->mu);
    goto fail;
  }
  if (pthread_cond_init(&g->done, NULL) != 0) {
    pthread_cond_destroy(&g->work);
    pthread_mutex_destroy(&g->mu);
    goto fail;
  }
  g->pipeline = (hn_pipeline *)x->plan->pipeline;
  *out = g;
  return HN_OK;
fail:
  hn__free(&g->alloc, g->limits);
  hn__free(&g->alloc, g);
  return hn__error(err, HN_ENOMEM, "pthread_mutex_init or pthread_cond_init failed");
}

void hn__guard_destroy(hn__guard *g, int64_t *abandoned) {
  if (abandoned) *abandoned = g ? g->abandoned : 0;
  if (!g) return;
  pthread_mutex_lock(&g->mu);
  g->shutdown = true;
  pthread_cond_broadcast(&g->work);
  pthread_mutex_unlock(&g->mu);
  /* Joined, not left exiting: a fork right after the call (processes) finds no thread of ours
   * half-way through its exit (ASan's allocator can deadlock a child forked then). */
  for (int k = 0; k < g->n_started; k++)
    if (!g->detached[k]) pthread_join(g->threads[k], NULL);
  hn__free(&g->alloc, g->threads);
  hn__free(&g->alloc, g->detached);
  pthread_cond_destroy(&g->done);
  pthread_cond_destroy(&g->work);
  pthread_mutex_destroy(&g->mu);
  hn__free(&g->alloc, g->limits);
  hn__free(&g->alloc, g);
}

/* ---- the I/O pool ------------------------------------------------------------------------ */

static hn__gcall *pop(hn__guard *g) {
  hn__gcall *c = g->head;
  if (c) {
    g->head = c->next;
    if (!g->head) g->tail = NULL;
    c->next = NULL;
  }
  return c;
}

static void *pool_main(void *arg) {
  hn__guard *g = arg;
  pthread_mutex_lock(&g->mu);
  for (;;) {
    while (!g->head && !g->shutdown) {
      g->n_idle++;
      pthread_cond_wait(&g->work, &g->mu);
      g->n_idle--;
    }
    hn__gcall *c = pop(g);
    if (!c) break;
    pthread_mutex_lock(&c->mu);
    c->on_thread = true;
    c->runner = pthread_self();
    pthread_mutex_unlock(&c->mu);
    pthread_mutex_unlock(&g->mu);
    if (!hn__gcall_run(c)) { /* abandoned: no longer the guard's thread */
      hn__gcall_unref(c);
      atomic_fetch_sub(&hn__abandoned_running, 1);
      return NULL;
    }
    hn__gcall_unref(c);
    pthread_mutex_lock(&g->mu);
    pthread_cond_broadcast(&g->done);
  }
  g->n_threads--;
  pthread_cond_broadcast(&g->done);
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

/* A new thread (under mu); false when none could be started. */
static bool spawn(hn__guard *g) {
  if (g->n_started == g->cap_started) {
    int cap = g->cap_started ? 2 * g->cap_started : 16;
    pthread_t *t = hn__realloc(&g->alloc, g->threads, sizeof *t * (size_t)cap);
    if (t) g->threads = t;
    bool *d = t ? hn__realloc(&g->alloc, g->detached, sizeof *d * (size_t)cap) : NULL;
    if (d) g->detached = d;
    if (!t || !d) return false;
    g->cap_started = cap;
  }
  if (pthread_create(&g->threads[g->n_started], NULL, pool_main, g) != 0) return false;
  g->detached[g->n_started++] = false;
  g->n_threads++;
  return true;
}

/* The thread running an abandoned call is no longer joined: it ends on its own (under mu). */
static void detach_runner(hn__guard *g, hn__gcall *c) {
  if (!c->on_thread) return;
  for (int k = 0; k < g->n_started; k++)
    if (!g->detached[k] && pthread_equal(g->threads[k], c->runner)) {
      g->detached[k] = true;
      pthread_detach(c->runner);
      return;
    }
}

void hn__gcall_start(hn__guard *g, hn__gcall *c) {
  c->started = true;
  if (!c->detached) {
    hn__gcall_run(c);
    return;
  }
  atomic_fetch_add(&c->refs, 1); /* the pool's */
  pthread_mutex_lock(&g->mu);
  if (g->tail)
    g->tail->next = c;
  else
    g->head = c;
  g->tail = c;
  if (g->n_idle == 0 && g->n_threads < g->max_threads) spawn(g); /* none: the wait runs it */
  pthread_cond_signal(&g->work);
  pthread_mutex_unlock(&g->mu);
}

/* ---- waiting ------------------------------------------------------------------------------- */

/* Under g->mu and c->mu: c's thread is left to finish alone; c fails as timed out or stopped. */
static void abandon(hn__guard *g, hn__gcall *c, hn_status st, const char *msg) {
  c->abandoned = true;
  c->finished = true;
  detach_runner(g, c);
  g->n_threads--;
  g->abandoned++;
  atomic_fetch_add(&hn__abandoned_running, 1);
  if (c->holds_slot) {
    c->holds_slot = false;
    c->limit->busy--;
  }
  /* The abandoned attempt is recorded here: its thread records nothing more. */
  hn__attempt *a = c->n_att < c->cap_att ? &c->att[c->n_att] : NULL;
  if (a) {
    a->st = st;
    a->message = hn__strdup(&c->alloc, msg);
    c->n_att++;
  }
  c->status = st;
  pthread_cond_broadcast(&g->done);
}

/* One look at an unfinished detached call; updates *wake (the next time to look). */
static void watch(hn__guard *g, hn__gcall *c, hn_status stop, double *stop_at, double now,
                  double *wake) {
  pthread_mutex_lock(&c->mu);
  if (c->finished || !c->on_thread) { /* not running, or run by a waiter: nothing to abandon */
    pthread_mutex_unlock(&c->mu);
    return;
  }
  double dl = c->attempt_deadline;
  char msg[96];
  if (stop != HN_OK) {
    atomic_store(&c->cancel, true);
    if (*stop_at == 0) *stop_at = now;
    if (now >= *stop_at + HN_TIMEOUT_GRACE && c->attempt_start > 0) {
      abandon(g, c, stop, stop == HN_ETIMEDOUT ? "the call timed out" : "cancelled");
    } else if (*stop_at + HN_TIMEOUT_GRACE < *wake) {
      *wake = *stop_at + HN_TIMEOUT_GRACE;
    }
  } else if (dl > 0) {
    if (now >= dl) atomic_store(&c->cancel, true);
    if (now >= dl + HN_TIMEOUT_GRACE) {
      snprintf(msg, sizeof msg, "timed out after %g s", c->policy.timeout);
      abandon(g, c, HN_ETIMEDOUT, msg);
    } else {
      double next = now >= dl ? dl + HN_TIMEOUT_GRACE : dl;
      if (next < *wake) *wake = next;
    }
  }
  pthread_mutex_unlock(&c->mu);
}

static void timed_wait(hn__guard *g, double wake) {
  if (isinf(wake)) {
    pthread_cond_wait(&g->done, &g->mu);
    return;
  }
  struct timespec ts = {(time_t)wake, (long)((wake - floor(wake)) * 1e9)};
  pthread_cond_timedwait(&g->done, &g->mu, &ts);
}

/* The call stopped: queued calls finish without running (under mu). */
static void drain(hn__guard *g, hn_status st) {
  hn__gcall *c;
  while ((c = pop(g)) != NULL) {
    pthread_mutex_lock(&c->mu);
    c->finished = true;
    c->status = st;
    pthread_mutex_unlock(&c->mu);
    hn__gcall_unref(c);
  }
}

void hn__gcall_wait(hn__guard *g, hn__gcall *const *calls, int64_t n) {
  hn__stop *stop = g->x->stop;
  double stop_at = 0;
  pthread_mutex_lock(&g->mu);
  for (;;) {
    if (g->n_threads == 0 && g->head) { /* no thread could be started: run one here */
      hn__gcall *c = pop(g);
      pthread_mutex_unlock(&g->mu);
      hn__gcall_run(c);
      hn__gcall_unref(c);
      pthread_mutex_lock(&g->mu);
      continue;
    }
    hn_status st = stop ? hn__stop_check(stop) : HN_OK;
    if (st != HN_OK) drain(g, st);
    double now = hn__now(), wake = INFINITY;
    if (stop && atomic_load(&stop->polled)) wake = now + POLL_SECONDS;
    bool all = true;
    for (int64_t k = 0; k < n; k++) {
      hn__gcall *c = calls[k];
      if (!c || !c->detached) continue;
      watch(g, c, st, &stop_at, now, &wake);
      pthread_mutex_lock(&c->mu);
      all = all && c->finished;
      pthread_mutex_unlock(&c->mu);
    }
    if (all) break;
    timed_wait(g, wake);
  }
  pthread_mutex_unlock(&g->mu);
}
