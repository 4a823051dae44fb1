/*
 * Internal contract of the mpi engine's files: plugin.c loads the MPI
 * transport; comm.c holds the polling sends and receives every rank uses;
 * agree.c the per-call agreement (fingerprints); driver.c rank 0; serve.c
 * the serving ranks; mpi.c the engine (see its file comment for the
 * protocol). Not installed; symbols use hn__mpi_.
 */
#ifndef HN_ENGINES_MPI_INTERNAL_H
#define HN_ENGINES_MPI_INTERNAL_H

#include "mpi.h"

enum { TAG_CHUNK = 1, TAG_RESULT = 2, TAG_FAIL = 3, TAG_STOP = 4, TAG_BYE = 5, TAG_GO = 6 };

#define PLUGIN_SONAME "libhypernodes_mpi.so.0"
#define CHUNK_BYTES (4 << 20) /* automatic chunks aim at this many input bytes */
#define CHUNK_MAX_ITEMS 65536
#define BACKOFF_MIN_NS 20000   /* idle polling: 20 us, doubling ... */
#define BACKOFF_MAX_NS 1000000 /* ... up to 1 ms */
#define BACKOFF_CAP_NS 8000000 /* rank 0, once chunks are timed: up to 8 ms */

/* Fixed-size header of every chunk, result and bye message. */
typedef struct msg_head {
  int64_t first, count;
} msg_head;

/* What rank 0 broadcasts at the start of a call: the item count and the broadcast inputs' size. */
typedef struct call_head {
  int64_t n_items; /* -1: rank 0 failed before dispatching; stop at once */
  uint64_t consts_size;
} call_head;

/* plugin.c: the transport, loaded once per process (thread-safe); NULL with err filled. */
const hn__mpi_transport *hn__mpi_load(hn_error *err);

/* ---- comm.c ------------------------------------------------------------------------ */

void hn__mpi_sleep_ns(long ns);
/* The next idle back-off: doubled, at most BACKOFF_MAX_NS. */
long hn__mpi_backoff_next(long ns);
/* HN_EIO "mpi engine: <what> failed: <MPI's text>". */
hn_status hn__mpi_failed(const hn__mpi_transport *t, int rc, const char *what, hn_error *err);
/* Send and wait for completion, polling with back-off. */
hn_status hn__mpi_send_wait(const hn__mpi_transport *t, const void *buf, size_t size, int dest,
                            int tag, hn_error *err);
/* Wait for the next message (from `source`, or any when -1) without a blocking receive. */
hn_status hn__mpi_probe_wait(const hn__mpi_transport *t, int *source, int *tag, size_t *size,
                             hn_error *err);
/* Receive a message of `size` bytes into b (resized). */
hn_status hn__mpi_recv_into(const hn__mpi_transport *t, const hn_allocator *a, hn__bytes *b,
                            size_t size, int source, int tag, hn_error *err);
/* Wait for a send to complete, polling with back-off; *req becomes NULL. */
hn_status hn__mpi_wait_send(const hn__mpi_transport *t, hn__mpi_req **req, hn_error *err);

/* ---- agree.c, driver.c, serve.c ------------------------------------------------------ */

/* The engine's agree operation (hn__engine_ops.agree). */
hn_status hn__mpi_agree(hn_engine *e, const hn__call *x, hn_status local, const hn_error *local_err,
                        hn_error *err);
/* Rank 0: dispatch the call's chunks, collect the results, stop the serving ranks. */
hn_status hn__mpi_drive(hn__call *x, hn_error *err);
/* Ranks > 0: serve the call's chunks until rank 0 says stop. */
hn_status hn__mpi_serve(hn__call *x, hn_error *err);

#endif /* HN_ENGINES_MPI_INTERNAL_H */
