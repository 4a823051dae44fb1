/*
 * The ABI between the core library (src/exec/mpi.c) and the MPI plugin,
 * libhypernodes_mpi (src/mpi/transport.c). Plain C without MPI types: the
 * core never includes mpi.h nor links MPI. The core finds the plugin's
 * entry point hn_mpi_transport_v1 in the process (a program linked with the
 * plugin) or loads the plugin with dlopen. Not installed.
 *
 * Every function is called from one thread at a time (the thread that
 * created the engine: MPI_THREAD_FUNNELED). Functions returning int return
 * 0 on success or an MPI error code (error_string describes it); with MPI's
 * default error handler most failures abort the job before returning.
 */
#ifndef HN_MPI_TRANSPORT_H
#define HN_MPI_TRANSPORT_H

#include <stddef.h>

#define HN__MPI_ABI 1

/* An in-flight non-blocking send. */
typedef struct hn__mpi_req hn__mpi_req;

typedef struct hn__mpi_transport {
  int abi; /* HN__MPI_ABI */
  /*
   * Join MPI: MPI_Init_thread (FUNNELED) unless the application already
   * initialised MPI (then it also keeps the duty to finalise it; else
   * MPI_Finalize runs at process exit, through atexit), and duplicate
   * MPI_COMM_WORLD into the plugin's own communicator. Calls nest (a
   * count); returns 0, or non-zero with `msg` filled.
   */
  int (*start)(int *rank, int *size, char *msg, size_t cap);
  /* Undo one start: the last one frees the communicator. Collective. */
  void (*stop)(void);
  /* MPI_Get_library_version, truncated to cap. */
  void (*library)(char *buf, size_t cap);
  void (*error_string)(int code, char *buf, size_t cap);
  int (*bcast)(void *buf, size_t size, int root);
  /* Every rank contributes `size` bytes; all receives size * ranks bytes. */
  int (*allgather)(const void *mine, void *all, size_t size);
  /* Start sending; *req completes with test. `buf` must stay valid until then. */
  int (*isend)(const void *buf, size_t size, int dest, int tag, hn__mpi_req **req);
  /* *done = 1 when the send completed (req is then freed). */
  int (*test)(hn__mpi_req *req, int *done);
  /* Is a message waiting? (any source, any tag) */
  int (*iprobe)(int *flag, int *source, int *tag, size_t *size);
  int (*recv)(void *buf, size_t size, int source, int tag);
  /* MPI_Abort(MPI_COMM_WORLD, code): ends the whole job (on a duplicate,
   * MPICH 4.0 left a rank stuck in a node running). Does not return. */
  void (*abort)(int code);
  double (*wtime)(void);
} hn__mpi_transport;

#endif /* HN_MPI_TRANSPORT_H */
