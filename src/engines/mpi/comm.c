/* Sends and receives every rank of the mpi engine uses: polled, never a blocking wait. */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>

#include "mpi_internal.h"

void hn__mpi_sleep_ns(long ns) {
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

long hn__mpi_backoff_next(long ns) {
  return ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : ns * 2;
}

hn_status hn__mpi_failed(const hn__mpi_transport *t, int rc, const char *what, hn_error *err) {
  char text[256];
  t->error_string(rc, text, sizeof text);
  return hn__error(err, HN_EIO, "mpi engine: %s failed: %s", what, text);
}

/* Send and wait for completion, polling with back-off. */
hn_status hn__mpi_send_wait(const hn__mpi_transport *t, const void *buf, size_t size, int dest,
                            int tag, hn_error *err) {
  hn__mpi_req *req = NULL;
  int rc = t->isend(buf, size, dest, tag, &req);
  if (rc != 0) return hn__mpi_failed(t, rc, "MPI_Isend", err);
  long backoff = BACKOFF_MIN_NS;
  for (;;) {
    int done = 0;
    rc = t->test(req, &done);
    if (rc != 0) return hn__mpi_failed(t, rc, "MPI_Test", err);
    if (done) return HN_OK;
    hn__mpi_sleep_ns(backoff);
    backoff = hn__mpi_backoff_next(backoff);
  }
}

/* Wait for the next message (from `source`, or any when -1) without a blocking receive. */
hn_status hn__mpi_probe_wait(const hn__mpi_transport *t, int *source, int *tag, size_t *size,
                             hn_error *err) {
  long backoff = BACKOFF_MIN_NS;
  for (;;) {
    int flag = 0;
    int rc = t->iprobe(&flag, source, tag, size);
    if (rc != 0) return hn__mpi_failed(t, rc, "MPI_Iprobe", err);
    if (flag) return HN_OK;
    hn__mpi_sleep_ns(backoff);
    backoff = hn__mpi_backoff_next(backoff);
  }
}

/* Receive a message of `size` bytes into b (resized). */
hn_status hn__mpi_recv_into(const hn__mpi_transport *t, const hn_allocator *a, hn__bytes *b,
                            size_t size, int source, int tag, hn_error *err) {
  b->size = 0;
  hn_status st = hn__bytes_reserve(a, b, size ? size : 1, err);
  if (st != HN_OK) return st;
  int rc = t->recv(b->data, size, source, tag);
  if (rc != 0) return hn__mpi_failed(t, rc, "MPI_Recv", err);
  b->size = size;
  return HN_OK;
}

hn_status hn__mpi_wait_send(const hn__mpi_transport *t, hn__mpi_req **req, hn_error *err) {
  long backoff = BACKOFF_MIN_NS;
  while (*req) {
    int done = 0;
    int rc = t->test(*req, &done);
    if (rc != 0) return hn__mpi_failed(t, rc, "MPI_Test", err);
    if (done) {
      *req = NULL;
    } else {
      hn__mpi_sleep_ns(backoff);
      backoff = hn__mpi_backoff_next(backoff);
    }
  }
  return HN_OK;
}
