/*
 * Engines: kinds and names, creation, and the persistent worker pool of the
 * threads engine. An engine serves one run or map at a time (a second,
 * concurrent call gets HN_EINVAL).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include "remote_internal.h"

/* Upper bound on workers: far above any core count, low enough to catch garbage. */
#define HN__MAX_WORKERS 4096

typedef struct hn__pool_thread {
  hn_engine *engine;
  int index;
} hn__pool_thread;

static const char *const kind_names[] = {"sequential", "threads", "columnar", "processes", "mpi"};
#define N_KINDS ((int)(sizeof kind_names / sizeof kind_names[0]))

const char *hn_engine_kind_name(hn_engine_kind kind) {
  return (int)kind >= 0 && (int)kind < N_KINDS ? kind_names[kind] : "unknown";
}

hn_status hn_engine_kind_from_name(const char *name, hn_engine_kind *out, hn_error *err) {
  if (!name || !out) return hn__error(err, HN_EINVAL, "hn_engine_kind_from_name: NULL argument");
  for (int k = 0; k < N_KINDS; k++)
    if (strcmp(name, kind_names[k]) == 0) {
      *out = (hn_engine_kind)k;
      return HN_OK;
    }
  return hn__error(err, HN_EINVAL,
                   "unknown engine '%s' (expected sequential, threads, columnar, processes or mpi)",
                   name);
}

hn_engine_kind hn_engine_kind_of(const hn_engine *engine) {
  return engine ? engine->kind : HN_ENGINE_SEQUENTIAL;
}

int hn_engine_workers(const hn_engine *engine) {
  return engine ? engine->workers : 1;
}

int hn_engine_rank(const hn_engine *engine) {
  return engine && engine->kind == HN_ENGINE_MPI ? engine->rank : 0;
}

int hn_engine_ranks(const hn_engine *engine) {
  return engine && engine->kind == HN_ENGINE_MPI ? engine->ranks : 1;
}

void hn__engine_init_sequential(hn_engine *e, const hn_allocator *alloc) {
  memset(e, 0, sizeof *e);
  e->alloc = hn__allocator_resolve(alloc);
  e->kind = HN_ENGINE_SEQUENTIAL;
  e->workers = 1;
  atomic_init(&e->busy, false);
}

hn_status hn__engine_acquire(hn_engine *e, hn_error *err) {
  if (atomic_exchange_explicit(&e->busy, true, memory_order_acquire))
    return hn__error(err, HN_EINVAL,
                     "the %s engine is already serving a run or map (an engine serves one call "
                     "at a time)",
                     hn_engine_kind_name(e->kind));
  return HN_OK;
}

void hn__engine_release(hn_engine *e) {
  atomic_store_explicit(&e->busy, false, memory_order_release);
}

/* ---- pool ----------------------------------------------------------------- */

static void *pool_main(void *arg) {
  hn__pool_thread *t = arg;
  hn_engine *e = t->engine;
  uint64_t seen = 0;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    while (!e->stop && e->generation == seen) pthread_cond_wait(&e->wake, &e->mu);
    if (e->stop) break;
    seen = e->generation;
    hn__worker_fn fn = e->fn;
    void *fn_arg = e->arg;
    pthread_mutex_unlock(&e->mu);
    fn(fn_arg, t->index);
    pthread_mutex_lock(&e->mu);
    if (--e->running == 0) pthread_cond_signal(&e->done);
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

void hn__engine_run_workers(hn_engine *e, hn__worker_fn fn, void *arg) {
  if (e->n_threads == 0) {
    fn(arg, 0);
    return;
  }
  pthread_mutex_lock(&e->mu);
  e->fn = fn;
  e->arg = arg;
  e->running = e->n_threads;
  e->generation++;
  pthread_cond_broadcast(&e->wake);
  while (e->running > 0) pthread_cond_wait(&e->done, &e->mu);
  e->fn = NULL;
  e->arg = NULL;
  pthread_mutex_unlock(&e->mu);
}

static void pool_stop(hn_engine *e) {
  if (!e->sync_ready) return;
  pthread_mutex_lock(&e->mu);
  e->stop = true;
  pthread_cond_broadcast(&e->wake);
  pthread_mutex_unlock(&e->mu);
  for (int i = 0; i < e->n_threads; i++) pthread_join(e->threads[i], NULL);
  e->n_threads = 0;
  pthread_cond_destroy(&e->done);
  pthread_cond_destroy(&e->wake);
  pthread_mutex_destroy(&e->mu);
  e->sync_ready = false;
}

static hn_status pool_start(hn_engine *e, hn_error *err) {
  e->threads = hn__calloc(&e->alloc, (size_t)e->workers, sizeof *e->threads);
  e->thread_args = hn__calloc(&e->alloc, (size_t)e->workers, sizeof *e->thread_args);
  if (!e->threads || !e->thread_args) return hn__error_nomem(err, "for the worker threads");
  if (pthread_mutex_init(&e->mu, NULL) != 0)
    return hn__error(err, HN_ENOMEM, "pthread_mutex_init failed");
  if (pthread_cond_init(&e->wake, NULL) != 0) {
    pthread_mutex_destroy(&e->mu);
    return hn__error(err, HN_ENOMEM, "pthread_cond_init failed");
  }
  if (pthread_cond_init(&e->done, NULL) != 0) {
    pthread_cond_destroy(&e->wake);
    pthread_mutex_destroy(&e->mu);
    return hn__error(err, HN_ENOMEM, "pthread_cond_init failed");
  }
  e->sync_ready = true;
  for (int i = 0; i < e->workers; i++) {
    e->thread_args[i] = (hn__pool_thread){e, i};
    int rc = pthread_create(&e->threads[i], NULL, pool_main, &e->thread_args[i]);
    if (rc != 0)
      return hn__error(err, HN_ENOMEM, "could not start worker thread %d of %d (error %d)", i,
                       e->workers, rc);
    e->n_threads = i + 1;
  }
  return HN_OK;
}

/* ---- create / destroy ----------------------------------------------------- */

static int default_workers(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > HN__MAX_WORKERS) n = HN__MAX_WORKERS;
  return (int)n;
}

void hn_engine_destroy(hn_engine *engine) {
  if (!engine) return;
  if (engine->kind == HN_ENGINE_MPI) hn__mpi_engine_stop(engine);
  pool_stop(engine);
  hn_allocator a = engine->alloc;
  hn__free(&a, engine->threads);
  hn__free(&a, engine->thread_args);
  hn__free(&a, engine);
}

hn_status hn_engine_create(const hn_allocator *alloc, const hn_engine_options *options,
                           hn_engine **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_engine_create: NULL output");
  hn_engine_options o = {sizeof o, HN_ENGINE_SEQUENTIAL, 0, 0, 0, 0};
  if (options) {
    size_t min = offsetof(hn_engine_options, kind) + sizeof options->kind;
    if (options->size < min)
      return hn__error(
          err, HN_EINVAL,
          "hn_engine_create: options->size is %zu (set it to sizeof(hn_engine_options))",
          options->size);
    memcpy(&o, options, options->size < sizeof o ? options->size : sizeof o);
  }
  switch (o.kind) {
    case HN_ENGINE_SEQUENTIAL:
    case HN_ENGINE_THREADS:
    case HN_ENGINE_COLUMNAR:
    case HN_ENGINE_PROCESSES:
    case HN_ENGINE_MPI:
      break;
    default:
      return hn__error(err, HN_EINVAL, "unknown engine kind %d", (int)o.kind);
  }
  if (o.workers < 0 || o.workers > HN__MAX_WORKERS)
    return hn__error(err, HN_EINVAL, "workers must be in [0, %d], not %d", HN__MAX_WORKERS,
                     o.workers);
  if (o.chunk_size < 0)
    return hn__error(err, HN_EINVAL, "chunk_size must be >= 0 (0: automatic), not %lld",
                     (long long)o.chunk_size);
  if (!(o.item_timeout >= 0) || o.item_timeout > 1e9)
    return hn__error(err, HN_EINVAL, "item_timeout must be in [0, 1e9] seconds (0: none), not %g",
                     o.item_timeout);
  if (!(o.chunk_timeout >= 0) || o.chunk_timeout > 1e9)
    return hn__error(err, HN_EINVAL,
                     "chunk_timeout must be in [0, 1e9] seconds (0: none), not %g",
                     o.chunk_timeout);
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_engine *e = hn__malloc(&a, sizeof *e);
  if (!e) return hn__error_nomem(err, "for an engine");
  hn__engine_init_sequential(e, &a);
  e->kind = o.kind;
  e->chunk_size = o.chunk_size;
  e->item_timeout = o.item_timeout;
  if (o.kind == HN_ENGINE_PROCESSES) e->workers = o.workers ? o.workers : default_workers();
  if (o.kind == HN_ENGINE_MPI) {
    hn_status st = hn__mpi_engine_start(e, &o, err);
    if (st != HN_OK) {
      hn_engine_destroy(e);
      return st;
    }
  }
  if (o.kind == HN_ENGINE_THREADS || o.kind == HN_ENGINE_COLUMNAR) {
    e->workers = o.workers ? o.workers : default_workers();
    hn_status st = pool_start(e, err);
    if (st != HN_OK) {
      hn_engine_destroy(e);
      return st;
    }
  }
  *out = e;
  return HN_OK;
}
