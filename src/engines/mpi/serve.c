/* The serving ranks (> 0) of the mpi engine. */
#define _GNU_SOURCE
#include <stdio.h>

#include "mpi_internal.h"

/* A result on its way to rank 0: the worker goes on with its next chunk meanwhile. */
typedef struct out_slot {
  hn__bytes buf;
  hn__mpi_req *req;
} out_slot;

hn_status hn__mpi_serve(hn__call *x, hn_error *err) {
  hn_engine *e = x->engine;
  const hn__mpi_transport *t = hn__mpi_transport_of(e);
  const hn_allocator *a = &x->alloc;
  call_head head;
  int rc = t->bcast(&head, sizeof head, 0);
  if (rc != 0) return hn__mpi_failed(t, rc, "MPI_Bcast of the call", err);
  if (head.n_items < 0) return HN_OK; /* rank 0 failed before dispatching: the outcome says why */
  hn__bytes rx = {0}, out = {0};
  out_slot outs[2];
  memset(outs, 0, sizeof outs);
  int cur = 0;
  hn_status st = hn__bytes_reserve(a, &rx, head.consts_size ? head.consts_size : 1, err);
  if (st != HN_OK) t->abort(1); /* cannot take part in the broadcast */
  rc = t->bcast(rx.data, head.consts_size, 0);
  if (rc != 0) return hn__mpi_failed(t, rc, "MPI_Bcast of the broadcast inputs", err);
  rx.size = head.consts_size;
  /* A worker that cannot start still answers every chunk (with its failure). */
  hn__batch_worker *bw = NULL;
  hn_error wfail;
  hn_error_reset(&wfail);
  hn_status wst = hn__batch_worker_create(x, ((hn__mpi_state *)e->state)->pool, &bw, &wfail);
  if (wst == HN_OK) wst = hn__batch_worker_set_consts(bw, rx.data, rx.size, &wfail);
  for (;;) {
    int source = -1, tag = -1;
    size_t size = 0;
    st = hn__mpi_probe_wait(t, &source, &tag, &size, err);
    if (st == HN_OK) st = hn__mpi_recv_into(t, a, &rx, size, source, tag, err);
    if (st != HN_OK) break;
    if (tag == TAG_STOP) break;
    msg_head mh = {0, 0};
    if (tag != TAG_CHUNK || size < sizeof mh) {
      st = hn__error(err, HN_ECORRUPT, "mpi engine: rank %d got an unexpected message (tag %d)",
                     e->rank, tag);
      break;
    }
    memcpy(&mh, rx.data, sizeof mh);
    /* Two results may be in flight; the older one's buffer is reused. */
    out_slot *o = &outs[cur];
    st = hn__mpi_wait_send(t, &o->req, err);
    if (st != HN_OK) break;
    o->buf.size = 0;
    hn_status rs = hn__bytes_append(a, &o->buf, &mh, sizeof mh, &wfail);
    if (rs == HN_OK && wst == HN_OK) {
      rs = hn__batch_worker_run(bw, mh.first, mh.count, rx.data + sizeof mh, size - sizeof mh, &out,
                                &wfail);
      if (rs == HN_OK) rs = hn__bytes_append(a, &o->buf, out.data, out.size, &wfail);
    }
    if (wst != HN_OK) rs = wst;
    if (rs == HN_OK) {
      rc = t->isend(o->buf.data, o->buf.size, 0, TAG_RESULT, &o->req);
      if (rc != 0) st = hn__mpi_failed(t, rc, "MPI_Isend of a result", err);
      cur ^= 1;
    } else {
      /* The failure travels as a fixed message: no allocation needed. */
      uint8_t fail[sizeof(msg_head) + sizeof(hn_error)];
      wfail.code = rs;
      memcpy(fail, &mh, sizeof mh);
      memcpy(fail + sizeof mh, &wfail, sizeof wfail);
      st = hn__mpi_send_wait(t, fail, sizeof fail, 0, TAG_FAIL, err);
    }
    if (st != HN_OK) break;
  }
  for (int k = 0; k < 2; k++) {
    hn_status s2 = hn__mpi_wait_send(t, &outs[k].req, err);
    if (st == HN_OK) st = s2;
    hn__bytes_free(a, &outs[k].buf);
  }
  int64_t inits = 0, destroys = 0;
  if (bw) hn__batch_worker_destroy(bw, &inits, &destroys);
  if (st == HN_OK) {
    msg_head bye = {inits, destroys};
    st = hn__mpi_send_wait(t, &bye, sizeof bye, 0, TAG_BYE, err);
  }
  hn__bytes_free(a, &rx);
  hn__bytes_free(a, &out);
  return st;
}
