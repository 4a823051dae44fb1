/*
 * The sequential and threads engines: the item executor on the calling
 * thread, or on a pool of worker threads kept for the engine's life.
 */
#include <unistd.h>

#include "items.h"

static hn_status sequential_execute(hn__call *x, hn_error *err) {
  hn__items_opts o = {0};
  return hn__items_run(x, &o, err);
}

const hn__engine_ops hn__sequential_ops = {
    .name = "sequential",
    .execute = sequential_execute,
};

static hn_status threads_start(hn_engine *e, const hn_engine_options *o, hn_error *err) {
  e->workers = o->workers;
  hn__pool *pool = NULL;
  hn_status st = hn__pool_create(&e->alloc, e->workers, &pool, err);
  e->state = pool;
  return st;
}

static void threads_stop(hn_engine *e) {
  hn__pool_destroy(e->state);
  e->state = NULL;
}

static hn_status threads_execute(hn__call *x, hn_error *err) {
  hn__items_opts o = {.pool = x->engine->state, .chunk_size = x->engine->options.chunk_size};
  return hn__items_run(x, &o, err);
}

const hn__engine_ops hn__threads_ops = {
    .name = "threads",
    .start = threads_start,
    .stop = threads_stop,
    .execute = threads_execute,
};
