/* Rank 0 of the mpi engine: chunks out, results in, the serving ranks stopped. */
#define _GNU_SOURCE
#include <stdio.h>

#include "mpi_internal.h"

typedef struct slot {
  bool busy;
  int64_t first, count;
  double sent;
  hn__bytes buf;    /* the chunk message; reused for the worker's next chunk */
  hn__mpi_req *req; /* NULL once the send completed */
} slot;

#define SLOTS 2

typedef struct driver {
  hn__call *x;
  hn_engine *e;
  const hn__mpi_transport *t;
  hn__collector *col;
  int n_workers;
  slot *slots; /* [worker rank - 1][SLOTS] */
  bool *ran;
  int64_t next, base, min_size;
  bool fixed;
  int64_t outstanding;
  hn__bytes rx;
  hn_status fatal;
  hn_error fatal_err;
  long backoff_cap; /* ns: a fraction of the last chunk's round trip (see drive_loop) */
} driver;

/* Bytes of one item's mapped inputs, on average. */
static int64_t bytes_per_item(const hn__call *x) {
  int64_t total = 0;
  for (int64_t q = 0; q < x->plan->n_inputs; q++) {
    const hn__src *s = &x->srcs[q];
    if (s->kind != HN__SRC_MAPPED || s->length == 0) continue;
    int64_t bytes = hn__array_nbytes(s->column);
    total += bytes / s->length + 1;
  }
  return total > 0 ? total : 1;
}

static void driver_sizes(driver *d) {
  const hn__call *x = d->x;
  if (d->e->options.chunk_size > 0) {
    d->base = d->e->options.chunk_size;
    d->fixed = true;
    d->min_size = d->base;
    return;
  }
  int64_t by_bytes = CHUNK_BYTES / bytes_per_item(x);
  int64_t by_count = (x->n_items + 8 * (int64_t)d->n_workers - 1) / (8 * (int64_t)d->n_workers);
  int64_t base = by_bytes < by_count ? by_bytes : by_count;
  if (base > CHUNK_MAX_ITEMS) base = CHUNK_MAX_ITEMS;
  if (base < 1) base = 1;
  d->base = base;
  d->min_size = base / 16 > 0 ? base / 16 : 1;
  int64_t io = hn__io_wave(x) / 2; /* io nodes: a chunk keeps their calls in flight */
  if (io > d->base) d->base = io;
  if (io > d->min_size) d->min_size = io;
}

/* The next chunk's size: guided, shrinking towards the end. */
static int64_t next_size(const driver *d) {
  int64_t left = d->x->n_items - d->next;
  int64_t size = d->base;
  if (!d->fixed) {
    int64_t guided = left / (2 * (int64_t)d->n_workers);
    if (guided < size) size = guided;
    if (size < d->min_size) size = d->min_size;
  }
  return size < left ? size : left;
}

static hn_status dispatch(driver *d, int w, slot *s, hn_error *err) {
  const hn_allocator *a = &d->x->alloc;
  s->buf.size = 0;
  msg_head head = {d->next, next_size(d)};
  hn_status st = hn__bytes_append(a, &s->buf, &head, sizeof head, err);
  if (st == HN_OK) st = hn__batch_encode(d->x, head.first, head.count, &s->buf, err);
  if (st != HN_OK) return st;
  int rc = d->t->isend(s->buf.data, s->buf.size, w + 1, TAG_CHUNK, &s->req);
  if (rc != 0) return hn__mpi_failed(d->t, rc, "MPI_Isend of a chunk", err);
  s->busy = true;
  s->first = head.first;
  s->count = head.count;
  s->sent = d->t->wtime();
  d->next += head.count;
  d->outstanding++;
  d->ran[w] = true;
  return HN_OK;
}

/* Complete finished sends; abort the job on a chunk past its timeout. */
static hn_status check_slots(driver *d, bool *progressed, hn_error *err) {
  double now = d->t->wtime();
  for (int w = 0; w < d->n_workers; w++)
    for (int k = 0; k < SLOTS; k++) {
      slot *s = &d->slots[w * SLOTS + k];
      if (s->req) {
        int done = 0;
        int rc = d->t->test(s->req, &done);
        if (rc != 0) return hn__mpi_failed(d->t, rc, "MPI_Test", err);
        if (done) {
          s->req = NULL;
          *progressed = true;
        }
      }
      if (s->busy && d->e->options.chunk_timeout > 0 &&
          now - s->sent > d->e->options.chunk_timeout) {
        fprintf(stderr,
                "hypernodes mpi: chunk of items [%lld, %lld) on rank %d timed out after %g s; "
                "aborting the job with code %d\n",
                (long long)s->first, (long long)(s->first + s->count), w + 1,
                d->e->options.chunk_timeout, HN_MPI_ABORT_TIMEOUT);
        fflush(stderr);
        d->t->abort(HN_MPI_ABORT_TIMEOUT);
      }
    }
  return HN_OK;
}

static slot *find_slot(driver *d, int w, int64_t first) {
  for (int k = 0; k < SLOTS; k++) {
    slot *s = &d->slots[w * SLOTS + k];
    if (s->busy && s->first == first) return s;
  }
  return NULL;
}

static hn_status handle_message(driver *d, int source, int tag, size_t size, hn_error *err) {
  const hn_allocator *a = &d->x->alloc;
  hn_status st = hn__mpi_recv_into(d->t, a, &d->rx, size, source, tag, err);
  if (st != HN_OK) return st;
  int w = source - 1;
  if (w < 0 || w >= d->n_workers || (tag != TAG_RESULT && tag != TAG_FAIL) ||
      size < sizeof(msg_head))
    return hn__error(err, HN_ECORRUPT,
                     "mpi engine: unexpected message (tag %d, %zu bytes) from "
                     "rank %d",
                     tag, size, source);
  msg_head head;
  memcpy(&head, d->rx.data, sizeof head);
  slot *s = find_slot(d, w, head.first);
  if (!s)
    return hn__error(err, HN_ECORRUPT,
                     "mpi engine: rank %d answered a chunk it was not sent "
                     "(first item %lld)",
                     source, (long long)head.first);
  if (tag == TAG_FAIL) {
    hn_error remote;
    hn_error_reset(&remote);
    if (size >= sizeof head + sizeof remote)
      memcpy(&remote, d->rx.data + sizeof head, sizeof remote);
    remote.message[sizeof remote.message - 1] = '\0';
    if (d->fatal == HN_OK) {
      d->fatal = remote.code != HN_OK ? remote.code : HN_EINTERNAL;
      hn__error(&d->fatal_err, d->fatal, "rank %d failed on items [%lld, %lld): %s", source,
                (long long)head.first, (long long)(head.first + head.count), remote.message);
    }
  } else {
    hn__origin from = {.worker = w, .process = -1, .rank = source};
    st = hn__reply_take(d->col, d->x, &from, head.first, head.count, d->rx.data + sizeof head,
                        size - sizeof head, err);
    if (st != HN_OK) return st;
    /* Idle polling sleeps at most 1/16 of a round trip (two chunks are queued per
     * worker): rank 0 wakes, and preempts a worker, only as often as it must. */
    double cap = (d->t->wtime() - s->sent) * 1e9 / 16;
    d->backoff_cap = cap < BACKOFF_MIN_NS   ? BACKOFF_MIN_NS
                     : cap > BACKOFF_CAP_NS ? BACKOFF_CAP_NS
                                            : (long)cap;
  }
  s->busy = false;
  d->outstanding--;
  return HN_OK;
}

static bool may_dispatch(const driver *d) {
  return d->fatal == HN_OK && d->next < d->x->n_items &&
         hn__collector_failed_item(d->col) == INT64_MAX && hn__call_stopped(d->x) == HN_OK;
}

static hn_status drive_loop(driver *d, hn_error *err) {
  long backoff = BACKOFF_MIN_NS;
  for (;;) {
    bool progressed = false;
    for (int k = 0; k < SLOTS; k++)
      for (int w = 0; w < d->n_workers && may_dispatch(d); w++) {
        slot *s = &d->slots[w * SLOTS + k];
        if (s->busy || s->req) continue;
        hn_status st = dispatch(d, w, s, err);
        if (st != HN_OK) return st;
        progressed = true;
      }
    if (d->outstanding == 0 && !may_dispatch(d)) return HN_OK;
    int flag = 0, source = -1, tag = -1;
    size_t size = 0;
    int rc = d->t->iprobe(&flag, &source, &tag, &size);
    if (rc != 0) return hn__mpi_failed(d->t, rc, "MPI_Iprobe", err);
    if (flag) {
      hn_status st = handle_message(d, source, tag, size, err);
      if (st != HN_OK) return st;
      progressed = true;
    }
    hn_status st = check_slots(d, &progressed, err);
    if (st != HN_OK) return st;
    if (progressed) {
      backoff = BACKOFF_MIN_NS;
    } else {
      hn__mpi_sleep_ns(backoff);
      backoff = backoff * 2 > d->backoff_cap ? d->backoff_cap : backoff * 2;
    }
  }
}

/* STOP every worker, then take each one's BYE (resource counts). */
static hn_status stop_workers(driver *d, hn_error *err) {
  hn_status st = HN_OK;
  /* Sends still in flight complete before the buffers go. */
  for (int i = 0; d->slots && i < d->n_workers * SLOTS; i++) {
    slot *s = &d->slots[i];
    long backoff = BACKOFF_MIN_NS;
    while (s->req) {
      int done = 0;
      int rc = d->t->test(s->req, &done);
      if (rc != 0) return hn__mpi_failed(d->t, rc, "MPI_Test", err);
      if (done)
        s->req = NULL;
      else {
        hn__mpi_sleep_ns(backoff);
        backoff = hn__mpi_backoff_next(backoff);
      }
    }
  }
  msg_head stop = {0, 0};
  for (int w = 0; w < d->n_workers && st == HN_OK; w++)
    st = hn__mpi_send_wait(d->t, &stop, sizeof stop, w + 1, TAG_STOP, err);
  int64_t inits = 0, destroys = 0;
  for (int got = 0; got < d->n_workers && st == HN_OK;) {
    int source = -1, tag = -1;
    size_t size = 0;
    st = hn__mpi_probe_wait(d->t, &source, &tag, &size, err);
    if (st == HN_OK) st = hn__mpi_recv_into(d->t, &d->x->alloc, &d->rx, size, source, tag, err);
    if (st != HN_OK) break;
    if (tag != TAG_BYE || size != sizeof(msg_head)) {
      st = hn__error(err, HN_ECORRUPT,
                     "mpi engine: unexpected message (tag %d) from rank %d "
                     "while stopping",
                     tag, source);
      break;
    }
    msg_head bye;
    memcpy(&bye, d->rx.data, sizeof bye);
    inits += bye.first;
    destroys += bye.count;
    got++;
  }
  int ran = 0;
  for (int w = 0; d->ran && w < d->n_workers; w++) ran += d->ran[w] ? 1 : 0;
  /* Replies already counted the inits, batch by batch; BYE adds the destroys. */
  (void)inits;
  if (st == HN_OK && d->col) hn__collector_add_counts(d->col, 0, destroys, ran);
  return st;
}

hn_status hn__mpi_drive(hn__call *x, hn_error *err) {
  hn_engine *e = x->engine;
  const hn_allocator *a = &x->alloc;
  driver d;
  memset(&d, 0, sizeof d);
  d.x = x;
  d.e = e;
  d.t = hn__mpi_transport_of(e);
  d.n_workers = e->ranks - 1;
  d.backoff_cap = BACKOFF_MAX_NS;
  hn_error_reset(&d.fatal_err);
  /* The call's header and broadcast inputs, once. */
  hn__bytes consts = {0};
  hn_error local;
  hn_error_reset(&local);
  hn_status st = hn__consts_encode(x, &consts, &local);
  call_head head = {x->n_items, st == HN_OK ? (uint64_t)consts.size : 0};
  if (st != HN_OK) head.n_items = -1; /* tells the workers to stop at once */
  int rc = d.t->bcast(&head, sizeof head, 0);
  if (rc == 0 && head.n_items >= 0) rc = d.t->bcast(consts.data, consts.size, 0);
  hn__bytes_free(a, &consts);
  if (st != HN_OK) {
    if (err) *err = local;
    return st;
  }
  if (rc != 0) return hn__mpi_failed(d.t, rc, "MPI_Bcast of the call", err);
  d.slots = hn__calloc(a, (size_t)d.n_workers * SLOTS, sizeof *d.slots);
  d.ran = hn__calloc(a, (size_t)d.n_workers, sizeof *d.ran);
  st = d.slots && d.ran ? HN_OK : hn__error_nomem(err, "for the mpi engine's chunks");
  d.col = x->col;
  hn__collector_keep_chunks(d.col, HN__MORSEL_DEFAULT);
  if (st == HN_OK) {
    driver_sizes(&d);
    st = drive_loop(&d, err);
  }
  /* Whatever happened, in-flight chunks are answered before the workers stop. */
  hn_error drain_err;
  hn_error_reset(&drain_err);
  while (d.slots && d.outstanding > 0) {
    int source = -1, tag = -1;
    size_t size = 0;
    hn_status s2 = hn__mpi_probe_wait(d.t, &source, &tag, &size, &drain_err);
    if (s2 == HN_OK) s2 = handle_message(&d, source, tag, size, &drain_err);
    if (s2 != HN_OK) break;
  }
  {
    hn_status s2 = stop_workers(&d, st == HN_OK ? err : &drain_err);
    if (st == HN_OK) st = s2;
  }
  if (st == HN_OK && d.fatal != HN_OK) {
    st = d.fatal;
    if (err) *err = d.fatal_err;
  }
  if (st == HN_OK && hn__call_stopped(x) != HN_OK) st = hn__stop_error(x->stop, err);
  if (st == HN_OK) st = hn__collector_failure(d.col, err); /* every rank returns it */
  for (int i = 0; d.slots && i < d.n_workers * SLOTS; i++) hn__bytes_free(a, &d.slots[i].buf);
  hn__free(a, d.slots);
  hn__free(a, d.ran);
  hn__bytes_free(a, &d.rx);
  return st;
}
