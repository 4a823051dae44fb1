/*
 * libhypernodes_mpi: the MPI transport of the mpi engine (see transport.h).
 * Standard MPI-3.1 C API only, so that Open MPI, MPICH and their derivatives
 * all work. The engine's traffic runs on a duplicate of MPI_COMM_WORLD, never
 * on a communicator the application owns.
 */
#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "../engines/mpi/transport.h"

#if defined(__GNUC__)
#define HN_MPI_EXPORT __attribute__((visibility("default")))
#else
#define HN_MPI_EXPORT
#endif

struct hn__mpi_req {
  MPI_Request request;
};

static MPI_Comm comm = MPI_COMM_NULL;
static int starts; /* live start calls */

/* MPI cannot be initialised twice: when start initialised it, MPI_Finalize
 * runs at process exit, so that engines can come and go in between. */
static void finalize_at_exit(void) {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Finalize();
}

static void copy_msg(char *msg, size_t cap, const char *text) {
  if (!msg || cap == 0) return;
  size_t n = strlen(text);
  if (n >= cap) n = cap - 1;
  memcpy(msg, text, n);
  msg[n] = '\0';
}

static int t_start(int *rank, int *size, char *msg, size_t cap) {
  if (starts == 0) {
    int initialised = 0, finalised = 0;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalised);
    if (finalised) {
      copy_msg(msg, cap, "MPI was already finalised: the mpi engine cannot start again");
      return MPI_ERR_OTHER;
    }
    if (!initialised) {
      int provided = MPI_THREAD_SINGLE;
      int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
      if (rc != MPI_SUCCESS) {
        copy_msg(msg, cap, "MPI_Init_thread failed");
        return rc;
      }
      atexit(finalize_at_exit);
    }
    int rc = MPI_Comm_dup(MPI_COMM_WORLD, &comm);
    if (rc != MPI_SUCCESS) {
      copy_msg(msg, cap, "MPI_Comm_dup(MPI_COMM_WORLD) failed");
      return rc;
    }
  }
  starts++;
  MPI_Comm_rank(comm, rank);
  MPI_Comm_size(comm, size);
  return MPI_SUCCESS;
}

static void t_stop(void) {
  if (starts == 0 || --starts > 0) return;
  MPI_Comm_free(&comm);
  comm = MPI_COMM_NULL;
}

static void t_library(char *buf, size_t cap) {
  char version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  if (MPI_Get_library_version(version, &len) != MPI_SUCCESS) len = 0;
  version[len < MPI_MAX_LIBRARY_VERSION_STRING ? len : MPI_MAX_LIBRARY_VERSION_STRING - 1] = '\0';
  char *nl = strchr(version, '\n');
  if (nl) *nl = '\0';
  copy_msg(buf, cap, version);
}

static void t_error_string(int code, char *buf, size_t cap) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, text, &len) != MPI_SUCCESS) len = 0;
  text[len < MPI_MAX_ERROR_STRING ? len : MPI_MAX_ERROR_STRING - 1] = '\0';
  copy_msg(buf, cap, len ? text : "unknown MPI error");
}

static int t_bcast(void *buf, size_t size, int root) {
  if (size > INT_MAX) return MPI_ERR_COUNT;
  return MPI_Bcast(buf, (int)size, MPI_BYTE, root, comm);
}

static int t_allgather(const void *mine, void *all, size_t size) {
  if (size > INT_MAX) return MPI_ERR_COUNT;
  return MPI_Allgather(mine, (int)size, MPI_BYTE, all, (int)size, MPI_BYTE, comm);
}

static int t_isend(const void *buf, size_t size, int dest, int tag, hn__mpi_req **out) {
  if (size > INT_MAX) return MPI_ERR_COUNT;
  hn__mpi_req *req = malloc(sizeof *req);
  if (!req) return MPI_ERR_NO_MEM;
  int rc = MPI_Isend(buf, (int)size, MPI_BYTE, dest, tag, comm, &req->request);
  if (rc != MPI_SUCCESS) {
    free(req);
    return rc;
  }
  *out = req;
  return MPI_SUCCESS;
}

static int t_test(hn__mpi_req *req, int *done) {
  int flag = 0;
  int rc = MPI_Test(&req->request, &flag, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) return rc;
  *done = flag;
  if (flag) free(req);
  return MPI_SUCCESS;
}

static int t_iprobe(int *flag, int *source, int *tag, size_t *size) {
  MPI_Status status;
  int rc = MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, comm, flag, &status);
  if (rc != MPI_SUCCESS || !*flag) return rc;
  int count = 0;
  rc = MPI_Get_count(&status, MPI_BYTE, &count);
  if (rc != MPI_SUCCESS) return rc;
  *source = status.MPI_SOURCE;
  *tag = status.MPI_TAG;
  *size = (size_t)count;
  return MPI_SUCCESS;
}

static int t_recv(void *buf, size_t size, int source, int tag) {
  if (size > INT_MAX) return MPI_ERR_COUNT;
  return MPI_Recv(buf, (int)size, MPI_BYTE, source, tag, comm, MPI_STATUS_IGNORE);
}

static void t_abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  abort(); /* MPI_Abort does not return; be sure */
}

static double t_wtime(void) {
  return MPI_Wtime();
}

static const hn__mpi_transport transport = {
    HN__MPI_ABI, t_start, t_stop,   t_library, t_error_string, t_bcast, t_allgather,
    t_isend,     t_test,  t_iprobe, t_recv,    t_abort,        t_wtime};

/* The plugin's entry point, looked up by name by the core library. */
HN_MPI_EXPORT const hn__mpi_transport *hn_mpi_transport_v1(void);
const hn__mpi_transport *hn_mpi_transport_v1(void) {
  return &transport;
}
