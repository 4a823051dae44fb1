/*
 * The engines: their table (kind -> operations), names, creation and the
 * engine getters. Adding an engine is a folder under src/engines and one
 * line in k_engines. An engine serves one run or map at a time (a second,
 * concurrent call gets HN_EINVAL).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <unistd.h>

#include "columnar/columnar.h"
#include "items/items.h"
#include "mpi/mpi.h"
#include "processes/processes.h"

/* Upper bound on workers: far above any core count, low enough to catch garbage. */
#define HN__MAX_WORKERS 4096

/* Every engine, indexed by hn_engine_kind. */
static const hn__engine_ops *const k_engines[] = {
    [HN_ENGINE_SEQUENTIAL] = &hn__sequential_ops,
    [HN_ENGINE_THREADS] = &hn__threads_ops,
    [HN_ENGINE_COLUMNAR] = &hn__columnar_ops,
    [HN_ENGINE_PROCESSES] = &hn__processes_ops,
    [HN_ENGINE_MPI] = &hn__mpi_ops,
};
#define N_KINDS ((int)(sizeof k_engines / sizeof k_engines[0]))

const char *hn_engine_kind_name(hn_engine_kind kind) {
  return (int)kind >= 0 && (int)kind < N_KINDS ? k_engines[kind]->name : "unknown";
}

hn_status hn_engine_kind_from_name(const char *name, hn_engine_kind *out, hn_error *err) {
  if (!name || !out) return hn__error(err, HN_EINVAL, "hn_engine_kind_from_name: NULL argument");
  hn__msg names = {.len = 0};
  for (int k = 0; k < N_KINDS; k++) {
    if (strcmp(name, k_engines[k]->name) == 0) {
      *out = (hn_engine_kind)k;
      return HN_OK;
    }
    hn__msg_add(&names, "%s%s", k == 0 ? "" : k == N_KINDS - 1 ? " or " : ", ", k_engines[k]->name);
  }
  return hn__error(err, HN_EINVAL, "unknown engine '%s' (expected %s)", name, names.buf);
}

hn_engine_kind hn_engine_kind_of(const hn_engine *engine) {
  return engine ? engine->kind : HN_ENGINE_SEQUENTIAL;
}

int hn_engine_workers(const hn_engine *engine) {
  return engine ? engine->workers : 1;
}

int hn_engine_rank(const hn_engine *engine) {
  return engine ? engine->rank : 0;
}

int hn_engine_ranks(const hn_engine *engine) {
  return engine ? engine->ranks : 1;
}

static int default_workers(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  if (n > HN__MAX_WORKERS) n = HN__MAX_WORKERS;
  return (int)n;
}

void hn_engine_destroy(hn_engine *engine) {
  if (!engine) return;
  if (engine->ops->stop) engine->ops->stop(engine);
  hn_allocator a = engine->alloc;
  hn__free(&a, engine);
}

/* Copy the caller's options (any size up to ours) and check every field. */
static hn_status read_options(const hn_engine_options *options, hn_engine_options *o,
                              hn_error *err) {
  *o = (hn_engine_options){sizeof *o, HN_ENGINE_SEQUENTIAL, 0, 0, 0, 0, 0};
  if (options) {
    size_t min = offsetof(hn_engine_options, kind) + sizeof options->kind;
    if (options->size < min)
      return hn__error(
          err, HN_EINVAL,
          "hn_engine_create: options->size is %zu (set it to sizeof(hn_engine_options))",
          options->size);
    memcpy(o, options, options->size < sizeof *o ? options->size : sizeof *o);
    o->size = sizeof *o;
  }
  if ((int)o->kind < 0 || (int)o->kind >= N_KINDS)
    return hn__error(err, HN_EINVAL, "unknown engine kind %d", (int)o->kind);
  if (o->workers < 0 || o->workers > HN__MAX_WORKERS)
    return hn__error(err, HN_EINVAL, "workers must be in [0, %d], not %d", HN__MAX_WORKERS,
                     o->workers);
  if (o->chunk_size < 0)
    return hn__error(err, HN_EINVAL, "chunk_size must be >= 0 (0: automatic), not %lld",
                     (long long)o->chunk_size);
  if (!(o->item_timeout >= 0) || o->item_timeout > 1e9)
    return hn__error(err, HN_EINVAL, "item_timeout must be in [0, 1e9] seconds (0: none), not %g",
                     o->item_timeout);
  if (!(o->chunk_timeout >= 0) || o->chunk_timeout > 1e9)
    return hn__error(err, HN_EINVAL, "chunk_timeout must be in [0, 1e9] seconds (0: none), not %g",
                     o->chunk_timeout);
  if (o->io_workers < 0 || o->io_workers > 4096)
    return hn__error(err, HN_EINVAL, "io_workers must be in [0, 4096] (0: 64), not %d",
                     o->io_workers);
  if (o->workers == 0) o->workers = default_workers();
  return HN_OK;
}

hn_status hn_engine_create(const hn_allocator *alloc, const hn_engine_options *options,
                           hn_engine **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_engine_create: NULL output");
  hn_engine_options o;
  hn_status st = read_options(options, &o, err);
  if (st != HN_OK) return st;
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_engine *e = hn__calloc(&a, 1, sizeof *e);
  if (!e) return hn__error_nomem(err, "for an engine");
  e->ops = k_engines[o.kind];
  e->alloc = a;
  e->kind = o.kind;
  e->options = o;
  e->workers = 1;
  e->rank = 0;
  e->ranks = 1;
  atomic_init(&e->busy, false);
  if (e->ops->start) st = e->ops->start(e, &o, err);
  if (st != HN_OK) {
    hn_engine_destroy(e);
    return st;
  }
  *out = e;
  return HN_OK;
}
