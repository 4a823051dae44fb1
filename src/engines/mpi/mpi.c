/*
 * The mpi engine: the items of a map spread over MPI ranks.
 *
 * Launch model (SPMD): every rank runs the same program, builds the same
 * pipeline and makes the same run/map calls, in the same order (they are
 * collective). Rank 0 drives: it sends chunks of consecutive items, places
 * the results by item index and fires the callbacks; the other ranks serve
 * the call inside the engine and return the same status with a result of
 * no rows. One rank alone runs the call itself.
 *
 * Per call: (1) hn__mpi_agree (agree.c): every rank's status and plan fingerprint are
 * exchanged (allgather); any failure or difference fails every rank with
 * the same message. (2) Rank 0 broadcasts the item count and the broadcast
 * inputs (once per call). (3) Dynamic dispatch: two chunks in flight per
 * worker rank, a result is the request for more, chunks shrink towards the
 * end; rank 0 polls with MPI_Iprobe and a short back-off (never a blocking
 * receive, which busy-waits). (4) STOP, then each worker's BYE with its
 * resource counts. (5) Rank 0 broadcasts the outcome.
 *
 * MPI itself is never linked: the plugin libhypernodes_mpi provides the
 * transport (transport.h; the plugin is src/mpi/transport.c), found in the process or loaded by
 * dlopen (HN_MPI_PLUGIN overrides the path). All MPI calls happen on the
 * thread that calls run/map (MPI_THREAD_FUNNELED).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>

#include "mpi_internal.h"

static long launcher_size(const char **var) {
  static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *v = getenv(names[i]);
    long n = v ? strtol(v, NULL, 10) : 0;
    if (n > 0) {
      *var = names[i];
      return n;
    }
  }
  return 0;
}

static hn_status mpi_start(hn_engine *e, const hn_engine_options *o, hn_error *err) {
  hn__mpi_state *ms = hn__calloc(&e->alloc, 1, sizeof *ms);
  if (!ms) return hn__error_nomem(err, "for the mpi engine");
  e->state = ms;
  const hn__mpi_transport *t = hn__mpi_load(err);
  if (!t) return HN_EUNSUPPORTED;
  char msg[256] = "";
  int rank = 0, size = 1;
  if (t->start(&rank, &size, msg, sizeof msg) != 0)
    return hn__error(err, HN_EIO, "the mpi engine could not start MPI: %s", msg);
  ms->t = t;
  e->rank = rank;
  e->ranks = size;
  const char *var = NULL;
  long want = launcher_size(&var);
  if (size == 1 && want > 1) {
    char lib[160];
    t->library(lib, sizeof lib);
    return hn__error(err, HN_EUNSUPPORTED,
                     "MPI reports 1 rank but the launcher started %ld (%s=%ld): this program's "
                     "MPI (%s) is not the one of the mpiexec that started it; use the matching "
                     "mpiexec",
                     want, var, want, lib);
  }
  e->workers = o->workers;
  return hn__pool_create(&e->alloc, e->workers, &ms->pool, err);
}

static void mpi_stop(hn_engine *e) {
  hn__mpi_state *ms = e->state;
  if (!ms) return;
  hn__pool_destroy(ms->pool);
  if (ms->t) ms->t->stop();
  hn__free(&e->alloc, ms);
  e->state = NULL;
}

typedef struct outcome {
  int32_t status;
  int32_t pad;
  hn_error err;
} outcome;

static hn_status mpi_execute(hn__call *x, hn_error *err) {
  hn_engine *e = x->engine;
  hn__mpi_state *ms = e->state;
  hn_status st;
  if (e->ranks == 1) {
    hn__items_opts o = {.pool = ms->pool}; /* one rank: its threads, sized automatically */
    return hn__items_run(x, &o, err);
  }
  hn_error mine;
  hn_error_reset(&mine);
  st = e->rank == 0 ? hn__mpi_drive(x, &mine) : hn__mpi_serve(x, &mine);
  /* Every rank returns rank 0's outcome. */
  outcome o;
  memset(&o, 0, sizeof o);
  o.status = (int32_t)st;
  o.err = mine;
  int rc = ms->t->bcast(&o, sizeof o, 0);
  if (rc != 0) return hn__mpi_failed(ms->t, rc, "MPI_Bcast of the outcome", err);
  if (e->rank != 0) {
    x->served_only = true;
    if (st != HN_OK && o.status == HN_OK) {
      /* This rank failed on its own (it already told rank 0 what it could). */
      if (err) *err = mine;
      return st;
    }
  }
  if (o.status != HN_OK && err) *err = o.err;
  return (hn_status)o.status;
}

/* Rank 0's n bytes to every rank; a failure aborts the job (the ranks are out of step). */
static void mpi_bcast(hn_engine *e, void *buf, size_t n) {
  hn__mpi_state *ms = e->state;
  int rc = ms->t->bcast(buf, n, 0);
  if (rc == 0) return;
  hn_error err;
  hn__mpi_failed(ms->t, rc, "MPI_Bcast between a call's parts", &err);
  fprintf(stderr, "hypernodes mpi: rank %d: %s\n", e->rank, err.message);
  ms->t->abort(1);
}

const hn__engine_ops hn__mpi_ops = {
    .name = "mpi",
    .flags = HN__ENGINE_ACROSS_PROCESSES,
    .start = mpi_start,
    .stop = mpi_stop,
    .agree = hn__mpi_agree,
    .execute = mpi_execute,
    .bcast = mpi_bcast,
};
