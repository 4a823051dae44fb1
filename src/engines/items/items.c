/*
 * The item-major executor shared by the sequential and threads engines.
 *
 * Items are cut into chunks; a worker runs a chunk item by item, and each
 * item runs every plan step depth-first. A plan runs in a "frame": per step
 * an array of input datums, per output slot a builder and the row the
 * current item occupies in it, and per slot the list of input positions
 * that consume it. A step calls the node's row function on its input array
 * with the builders of its outputs, checks that exactly one row was appended
 * to each, and writes the new values (read from a live view of the builder,
 * no copy) straight into the input arrays of the steps downstream. Requested
 * outputs accumulate over the chunk and are finished into arrays at its end;
 * the other builders are scratch, truncated every HN__RESET_EVERY items.
 * Nested steps run their inner plan in a child frame whose requested outputs
 * are appended straight into the outer output builders (mapped: into the
 * list's item builder, closed with hn_builder_finish_element).
 *
 * Threads: chunks are claimed in item order (at most HN__WINDOW_PER_WORKER
 * per worker ahead of the oldest unfinished one), so chunk index order is
 * item order; per-chunk arrays are concatenated at the end. Under the raise
 * policy the failing chunk with the lowest index wins: claiming stops, later
 * chunks abort, earlier ones (all already claimed) finish, so the reported
 * item is the lowest failing one, as on the sequential engine.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "items_internal.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int plan_depth(const hn_plan *plan) {
  int d = 0;
  for (int64_t s = 0; s < plan->n_steps; s++)
    if (plan->steps[s].inner) {
      int k = plan_depth(plan->steps[s].inner);
      if (k > d) d = k;
    }
  return d + 1;
}

static hn_status worker_prepare(worker *w) {
  job *j = w->job;
  const hn_plan *plan = j->plan;
  const hn__src *srcs = j->x->srcs;
  const hn_allocator *a = &j->alloc;
  const hn_type **types =
      hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *types);
  bool *res = hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *res);
  w->res = j->o->worker_res
               ? j->o->worker_res[w->index]
               : hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *w->res);
  if (!types || !res || !w->res) {
    hn__free(a, (void *)types);
    hn__free(a, res);
    return hn__it_fatal(w, HN_ENOMEM, "out of memory preparing a worker");
  }
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    types[q] = srcs[q].type;
    res[q] = srcs[q].kind == HN__SRC_RESOURCE;
  }
  hn_status st = hn__it_frame_create(w, plan, 0, true, types, res, NULL, &w->top);
  hn__free(a, (void *)types);
  hn__free(a, res);
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    const hn__src *src = &srcs[q];
    if (src->kind == HN__SRC_CONST) {
      hn__it_put(w->top, q, src->value);
    } else if (src->kind == HN__SRC_RESOURCE) {
      w->res[q].resource = src->resource;
      st = hn__res_instance_acquire(&w->res[q], &j->res_inits, &w->ferr);
      if (st != HN_OK) {
        st = hn__it_fatal_filled(w, st);
        break;
      }
      hn_datum d;
      memset(&d, 0, sizeof d);
      d.type = HN_TYPE_OBJECT;
      d.v.object = w->res[q].state;
      hn__it_put(w->top, q, d);
    }
  }
  w->ready = st == HN_OK;
  return st;
}

static void worker_teardown(worker *w) {
  job *j = w->job;
  if (w->res && !j->o->worker_res) {
    for (int64_t q = 0; q < j->plan->n_inputs; q++)
      hn__res_instance_release(&w->res[q], &j->res_destroys);
    hn__free(&j->alloc, w->res);
  }
  w->res = NULL;
  hn__it_frame_destroy(&j->alloc, w->top);
  w->top = NULL;
  hn__ctx_destroy(&w->ctx);
  hn__free(&j->alloc, w->f_messages);
  w->f_messages = NULL;
}

/* Finish the chunk's requested outputs into arrays; reset the frame for the next chunk. */
hn_status hn__it_chunk_collect(worker *w, chunk *c) {
  frame *f = w->top;
  const hn_plan *plan = f->plan;
  bool more = w->job->threads && c->start + c->count < w->job->n_items;
  for (int64_t r = 0; r < plan->n_requested; r++) {
    hn_builder *b = f->builders[plan->requested_slots[r]];
    hn_status st = hn_builder_finish(b, &c->cols[r], &w->ferr);
    if (st != HN_OK) return hn__it_fatal_filled(w, st);
    /* The next chunk is likely alike: its buffers sized now, not regrown by doubling. */
    if (more) hn__builder_reserve_like(b, c->cols[r], 1.0);
  }
  for (int64_t k = 0; k < f->n_scratch; k++) hn__builder_truncate(f->builders[f->scratch[k]], 0);
  for (int64_t k = 0; k < f->n_bslots; k++) f->rows[f->bslots[k]] = 0;
  f->since_reset = 0;
  c->collected = true;
  return HN_OK;
}

void hn__it_put_mapped(worker *w, int64_t row_item) {
  job *j = w->job;
  const hn__src *srcs = j->x->srcs;
  hn_map_mode mode = j->x->zip ? HN_MAP_ZIP : HN_MAP_PRODUCT;
  for (int64_t m = 0; m < j->n_mapped; m++) {
    const hn__src *src = &srcs[j->mapped[m]];
    hn__it_put_row(w->top, j->mapped[m], src->column,
                   hn__map_row(mode, row_item, src->stride, src->length));
  }
}

/* The call stopped after k items of chunk c: they are its outputs; the stop is its failure. */
static hn_status chunk_stopped(worker *w, chunk *c, int64_t k, hn_status stop) {
  c->count = k;
  hn_status st = hn__it_chunk_collect(w, c);
  if (st != HN_OK) return st;
  hn__stop_error(w->job->x->stop, &w->ferr);
  return hn__it_fatal_filled(w, stop);
}

/* Items [k0, k1) of chunk c, each with its item events; *done counts the items run. */
static hn_status run_items(worker *w, chunk *c, int64_t k0, int64_t k1, int64_t *done,
                           bool *aborted) {
  job *j = w->job;
  frame *f = w->top;
  const hn__src *srcs = j->x->srcs;
  hn_map_mode mode = j->x->zip ? HN_MAP_ZIP : HN_MAP_PRODUCT;
  bool is_map = j->x->is_map;
  for (int64_t k = k0; k < k1; k++) {
    int64_t row_item = c->start + k;
    int64_t item = hn__call_item(j->x, j->o->item_base + row_item);
    if (j->threads &&
        HN__UNLIKELY(atomic_load_explicit(&j->fail_chunk, memory_order_relaxed) < c->index)) {
      *aborted = true;
      return HN_OK;
    }
    hn_status stop = hn__call_stopped(j->x);
    if (HN__UNLIKELY(stop != HN_OK)) return chunk_stopped(w, c, k, stop);
    for (int64_t m = 0; m < j->n_mapped; m++) {
      const hn__src *src = &srcs[j->mapped[m]];
      int64_t row = hn__map_row(mode, row_item, src->stride, src->length);
      hn__it_put_row(f, j->mapped[m], src->column, row);
    }
    if (is_map) {
      w->path[0] = item;
      w->path_len = 1;
      w->path_dirty = true;
      f->item = item;
    }
    bool timed = is_map && j->ev.time_items;
    int64_t t0 = timed ? hn__it_begin(w, f, j->ev.item_start, NULL, item) : 0;
    hn_status st = hn__it_run_item(w, f);
    hn_status item_st = st;
    if (st == HN_OK && f->item_bad) {
      item_st = f->item_status;
      st = hn__it_finish_failed_item(w, f);
    }
    if (timed) hn__it_end(w, f, j->ev.item_end, NULL, item, item_st, t0);
    ++*done;
    if (st != HN_OK) return st;
    hn__it_frame_item_end(f);
  }
  return HN_OK;
}

/* A chunk of a plan with io nodes runs in waves (waves.c): one piece, for chunk events. */
static hn_status run_chunk_waves(worker *w, chunk *c) {
  job *j = w->job;
  if (!j->ev.time_chunks) return hn__it_run_chunk_waves(w, c);
  int64_t first = j->x->is_map ? j->o->item_base + c->start : -1;
  w->top->piece_items = c->count;
  int64_t n = hn__it_piece_begin(w, w->top, first, c->count);
  hn_status st = hn__it_run_chunk_waves(w, c);
  hn__it_piece_end(w, w->top, st == HN_OK ? n : 0, st);
  return st;
}

/* A chunk's items: in pieces with chunk events when they are timed, else in one go. */
static hn_status run_chunk(worker *w, chunk *c, bool *aborted) {
  job *j = w->job;
  frame *f = w->top;
  w->cur = c;
  if (HN__UNLIKELY(f->n_async > 0)) return run_chunk_waves(w, c);
  /* Room for the whole chunk up front: no regrowth copies while items run.
   * A failure here is not an error: the appends will grow (or report) it. */
  for (int64_t r = 0; r < j->plan->n_requested; r++) {
    hn_status ignored = hn_builder_reserve(f->builders[j->plan->requested_slots[r]], c->count);
    (void)ignored;
  }
  hn_status st = HN_OK;
  for (int64_t k = 0; k < c->count && st == HN_OK && !*aborted;) {
    int64_t first = j->x->is_map ? j->o->item_base + c->start + k : -1;
    int64_t n = j->ev.time_chunks ? hn__it_piece_begin(w, f, first, c->count - k) : c->count - k;
    int64_t done = 0;
    st = run_items(w, c, k, k + n, &done, aborted);
    if (j->ev.time_chunks) hn__it_piece_end(w, f, done, st);
    k += n;
  }
  if (st != HN_OK || *aborted) return st;
  return hn__it_chunk_collect(w, c);
}

/* The failure of a chunk: the lowest chunk index wins. */
static void job_fail(job *j, int64_t index, hn_status st, const hn_error *e) {
  pthread_mutex_lock(&j->mu);
  if (index < atomic_load(&j->fail_chunk)) {
    atomic_store(&j->fail_chunk, index);
    j->fail_status = st;
    j->fail_err = *e;
  }
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

/* The error a worker's failure reports to the caller. */
static void worker_error(worker *w, hn_status st, hn_error *e) {
  if (w->f_fatal) {
    *e = w->ferr;
    e->code = st;
    return;
  }
  hn__node_error(e, w->f_code, w->f_node, w->f_path, w->f_msg);
}

static chunk *claim(job *j) {
  pthread_mutex_lock(&j->mu);
  chunk *c = NULL;
  for (;;) {
    if (atomic_load(&j->fail_chunk) != INT64_MAX || j->next_item >= j->n_items) goto out;
    if (j->n_chunks < j->lowest_undone + j->window) break;
    pthread_cond_wait(&j->cv, &j->mu);
  }
  hn_error e;
  hn_error_reset(&e);
  if (j->n_chunks == j->cap_chunks) {
    int64_t cap = j->cap_chunks ? j->cap_chunks * 2 : 16;
    chunk **chunks = hn__realloc(&j->alloc, j->chunks, sizeof *chunks * (size_t)cap);
    if (!chunks) goto nomem;
    j->chunks = chunks;
    j->cap_chunks = cap;
  }
  c = hn__calloc(&j->alloc, 1, sizeof *c);
  if (c)
    c->cols = hn__calloc(&j->alloc, (size_t)(j->plan->n_requested ? j->plan->n_requested : 1),
                         sizeof *c->cols);
  if (!c || !c->cols) {
    if (c) hn__free(&j->alloc, c);
    c = NULL;
    goto nomem;
  }
  int64_t left = j->n_items - j->next_item;
  c->index = j->n_chunks;
  c->start = j->next_item;
  c->count = j->chunk_size < left ? j->chunk_size : left;
  j->chunks[j->n_chunks++] = c;
  j->next_item += c->count;
  goto out;
nomem:
  hn__error_nomem(&e, "scheduling a chunk");
  if (j->n_chunks < atomic_load(&j->fail_chunk)) {
    atomic_store(&j->fail_chunk, j->n_chunks);
    j->fail_status = HN_ENOMEM;
    j->fail_err = e;
  }
  pthread_cond_broadcast(&j->cv);
out:
  pthread_mutex_unlock(&j->mu);
  return c;
}

static void complete(job *j, chunk *c, double ns) {
  pthread_mutex_lock(&j->mu);
  c->done = true;
  while (j->lowest_undone < j->n_chunks && j->chunks[j->lowest_undone]->done) j->lowest_undone++;
  if (j->auto_size && ns >= 0) {
    j->ns_total += ns;
    j->items_timed += c->count;
    double per_item = j->ns_total / (double)j->items_timed;
    double size = per_item > 0 ? HN__TARGET_CHUNK_NS / per_item : (double)j->size_cap;
    if (size > (double)j->size_cap) size = (double)j->size_cap;
    j->chunk_size = size < 1 ? 1 : (int64_t)size;
  }
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

static void worker_main(void *arg, int index) {
  job *j = arg;
  worker *w = &j->workers[index];
  chunk *c;
  while ((c = claim(j)) != NULL) {
    bool aborted = false;
    hn_status st = w->ready ? HN_OK : worker_prepare(w);
    double t0 = now_ns();
    if (st == HN_OK) {
      w->ran = true;
      st = run_chunk(w, c, &aborted);
    }
    double ns = st == HN_OK && !aborted ? now_ns() - t0 : -1;
    if (st != HN_OK) {
      hn_error e;
      hn_error_reset(&e);
      worker_error(w, st, &e);
      job_fail(j, c->index, st, &e);
    }
    complete(j, c, ns);
    if (st != HN_OK || aborted) break;
  }
  worker_teardown(w);
}

/* ======================================================================== */
/* Results                                                                  */
/* ======================================================================== */

/* Hand every chunk's outputs and records to the collector, in item order. */
static hn_status assemble(job *j, hn_error *err) {
  hn__collector *col = j->x->col;
  hn_status st = HN_OK;
  for (int64_t k = 0; k < j->n_chunks && st == HN_OK; k++) {
    chunk *c = j->chunks[k];
    if (!c->collected) continue; /* a stopped call: only what finished */
    st = hn__collector_add_chunk(col, c->start, c->count, c->cols, err);
    c->cols = NULL; /* taken */
    if (st == HN_OK) st = hn__collector_add_records(col, &c->recs, 0, err);
  }
  return st;
}

/* ======================================================================== */
/* Entry                                                                    */
/* ======================================================================== */

static void job_free(job *j) {
  const hn_allocator *a = &j->alloc;
  for (int64_t k = 0; k < j->n_chunks; k++) {
    chunk *c = j->chunks[k];
    for (int64_t r = 0; c->cols && r < j->plan->n_requested; r++) hn_array_release(c->cols[r]);
    hn__records_free(a, &c->recs);
    hn__free(a, c->cols);
    hn__free(a, c);
  }
  hn__free(a, j->chunks);
  for (int i = 0; j->workers && i < j->n_workers; i++) hn__free(a, j->workers[i].path);
  hn__free(a, j->workers);
  hn__free(a, j->mapped);
  int64_t abandoned = 0;
  hn__guard_destroy(j->guard, &abandoned);
  j->guard = NULL;
  if (abandoned > 0 && j->x->col) hn__collector_add_abandoned(j->x->col, abandoned);
}

static hn_status job_init(job *j, hn__call *x, const hn__items_opts *o, hn_error *err) {
  const hn_allocator *a = &x->alloc;
  const hn_plan *plan = x->plan;
  memset(j, 0, sizeof *j);
  j->o = o;
  j->x = x;
  j->plan = plan;
  j->alloc = x->alloc;
  j->n_items = x->n_items;
  j->threads = o->pool != NULL;
  j->n_workers = j->threads ? hn__pool_size(o->pool) : 1;
  j->max_depth = plan_depth(plan);
  hn__events_init(&j->ev, x);
  j->ev.untimed_items = o->untimed_items && !j->ev.item_end;
  j->ev.untimed_nodes = o->untimed_nodes && !j->ev.node_end;
  atomic_init(&j->fail_chunk, INT64_MAX);
  atomic_init(&j->res_inits, 0);
  atomic_init(&j->res_destroys, 0);
  j->window = (int64_t)HN__WINDOW_PER_WORKER * j->n_workers;
  int64_t io = hn__io_wave(x);
  if (!j->threads) {
    j->chunk_size = j->n_items;
  } else if (o->chunk_size > 0) {
    j->chunk_size = o->chunk_size;
  } else if (io > 0) { /* waves of io calls: chunks big enough for a wave each */
    j->chunk_size = io;
  } else {
    j->auto_size = true;
    j->size_cap = j->n_items / (4 * (int64_t)j->n_workers);
    if (j->size_cap < 1) j->size_cap = 1;
    j->chunk_size = j->size_cap < HN__FIRST_CHUNK ? j->size_cap : HN__FIRST_CHUNK;
  }
  j->mapped = hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *j->mapped);
  j->workers = hn__calloc(a, (size_t)j->n_workers, sizeof *j->workers);
  if (!j->mapped || !j->workers) return hn__error_nomem(err, "starting a run");
  hn_status st = hn__guard_create(x, &j->guard, err);
  if (st != HN_OK) return st;
  for (int64_t q = 0; q < plan->n_inputs; q++)
    if (x->srcs[q].kind == HN__SRC_MAPPED) j->mapped[j->n_mapped++] = q;
  for (int i = 0; i < j->n_workers; i++) {
    worker *w = &j->workers[i];
    w->job = j;
    w->index = i;
    hn__ctx_init(&w->ctx, a, i);
    w->ctx.stop = x->stop;
    hn_error_reset(&w->ferr);
    w->path = hn__calloc(a, (size_t)j->max_depth + 1, sizeof *w->path);
    if (!w->path) return hn__error_nomem(err, "starting a run");
  }
  return HN_OK;
}

hn_status hn__items_run(hn__call *x, const hn__items_opts *o, hn_error *err) {
  job j;
  hn_status st = job_init(&j, x, o, err);
  if (st != HN_OK) {
    job_free(&j);
    return st;
  }
  if (pthread_mutex_init(&j.mu, NULL) != 0) {
    job_free(&j);
    return hn__error(err, HN_ENOMEM, "pthread_mutex_init failed");
  }
  if (pthread_cond_init(&j.cv, NULL) != 0) {
    pthread_mutex_destroy(&j.mu);
    job_free(&j);
    return hn__error(err, HN_ENOMEM, "pthread_cond_init failed");
  }
  /* Chunks of light items are large (HN__TARGET_CHUNK_NS): kept as record batches, not joined. */
  if (j.threads) hn__collector_keep_chunks(x->col, HN__KEEP_CHUNK_ROWS);
  /* One item on a pool: it runs here, and the pool takes its nested maps' inner items. */
  if (o->pool && x->n_items == 1) j.helpers = o->pool;
  if (o->pool && !j.helpers)
    hn__pool_run(o->pool, worker_main, &j);
  else
    worker_main(&j, 0);
  pthread_cond_destroy(&j.cv);
  pthread_mutex_destroy(&j.mu);
  int ran = 0;
  for (int i = 0; i < j.n_workers; i++) ran += j.workers[i].ran ? 1 : 0;
  hn__collector_add_counts(x->col, atomic_load(&j.res_inits), atomic_load(&j.res_destroys), ran);
  hn_status stop = hn__call_stopped(x);
  if (stop != HN_OK && atomic_load(&j.fail_chunk) != INT64_MAX && j.fail_status == stop) {
    st = assemble(&j, err); /* what finished, for a result under continue */
    if (st == HN_OK) st = hn__stop_error(x->stop, err);
  } else if (atomic_load(&j.fail_chunk) != INT64_MAX) {
    st = j.fail_status;
    if (err) *err = j.fail_err;
  } else {
    st = assemble(&j, err);
  }
  job_free(&j);
  return st;
}
