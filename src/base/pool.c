/*
 * The worker pool (pool.h): threads wait on a condition variable for a new
 * task generation, run it, and the last one to finish wakes the caller.
 */
#include <pthread.h>

#include "pool.h"

typedef struct pool_thread {
  hn__pool *pool;
  int index;
} pool_thread;

struct hn__pool {
  hn_allocator alloc;
  int size;      /* threads requested */
  int n_started; /* threads running */
  pthread_t *threads;
  pool_thread *args;
  pthread_mutex_t mu;
  pthread_cond_t wake; /* a task or stop was posted */
  pthread_cond_t done; /* the last worker finished the task */
  hn__pool_fn fn;
  void *arg;
  uint64_t generation; /* bumped for every task */
  int running;         /* workers still inside the current task */
  bool stop;
};

static void *pool_main(void *arg) {
  pool_thread *t = arg;
  hn__pool *p = t->pool;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->wake, &p->mu);
    if (p->stop) break;
    seen = p->generation;
    hn__pool_fn fn = p->fn;
    void *fn_arg = p->arg;
    pthread_mutex_unlock(&p->mu);
    fn(fn_arg, t->index);
    pthread_mutex_lock(&p->mu);
    if (--p->running == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

void hn__pool_run(hn__pool *p, hn__pool_fn fn, void *arg) {
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->arg = arg;
  p->running = p->n_started;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  while (p->running > 0) pthread_cond_wait(&p->done, &p->mu);
  p->fn = NULL;
  p->arg = NULL;
  pthread_mutex_unlock(&p->mu);
}

int hn__pool_size(const hn__pool *p) {
  return p ? p->n_started : 0;
}

void hn__pool_destroy(hn__pool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->n_started; i++) pthread_join(p->threads[i], NULL);
  pthread_cond_destroy(&p->done);
  pthread_cond_destroy(&p->wake);
  pthread_mutex_destroy(&p->mu);
  hn_allocator a = p->alloc;
  hn__free(&a, p->threads);
  hn__free(&a, p->args);
  hn__free(&a, p);
}

/* The mutex and condition variables; on failure nothing is left initialised. */
static hn_status sync_init(hn__pool *p, hn_error *err) {
  if (pthread_mutex_init(&p->mu, NULL) != 0)
    return hn__error(err, HN_ENOMEM, "pthread_mutex_init failed");
  if (pthread_cond_init(&p->wake, NULL) != 0) {
    pthread_mutex_destroy(&p->mu);
    return hn__error(err, HN_ENOMEM, "pthread_cond_init failed");
  }
  if (pthread_cond_init(&p->done, NULL) != 0) {
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    return hn__error(err, HN_ENOMEM, "pthread_cond_init failed");
  }
  return HN_OK;
}

hn_status hn__pool_create(const hn_allocator *alloc, int workers, hn__pool **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  hn__pool *p = hn__calloc(&a, 1, sizeof *p);
  if (!p) return hn__error_nomem(err, "for the worker threads");
  p->alloc = a;
  p->size = workers;
  p->threads = hn__calloc(&a, (size_t)workers, sizeof *p->threads);
  p->args = hn__calloc(&a, (size_t)workers, sizeof *p->args);
  hn_status st =
      p->threads && p->args ? sync_init(p, err) : hn__error_nomem(err, "for the worker threads");
  if (st != HN_OK) {
    hn__free(&a, p->threads);
    hn__free(&a, p->args);
    hn__free(&a, p);
    return st;
  }
  for (int i = 0; i < workers; i++) {
    p->args[i] = (pool_thread){p, i};
    int rc = pthread_create(&p->threads[i], NULL, pool_main, &p->args[i]);
    if (rc != 0) {
      hn__error(err, HN_ENOMEM, "could not start worker thread %d of %d (error %d)", i, workers,
                rc);
      hn__pool_destroy(p);
      return HN_ENOMEM;
    }
    p->n_started = i + 1;
  }
  *out = p;
  return HN_OK;
}
