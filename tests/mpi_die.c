/*
 * A job that cannot finish, run on two ranks by tests/mpi_expect_exit.cmake:
 *   exit: a node calls exit(3) on the serving rank: MPI ends the job, and
 *         mpiexec exits non-zero;
 *   hang: a node sleeps far past the engine's chunk_timeout (1 s): rank 0
 *         logs rank, chunk and items and aborts with HN_MPI_ABORT_TIMEOUT;
 *   create: only create the engine (started by another MPI's mpiexec, the
 *         engine refuses: MPI says 1 rank, the launcher says 2).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hypernodes/hypernodes.h"

static int g_mode_hang;

static hn_status f_node(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  if (in[0].v.i64 == 5) {
    if (g_mode_hang) {
      struct timespec ts = {60, 0};
      nanosleep(&ts, NULL);
    } else {
      exit(3);
    }
  }
  return hn_builder_append_int64(out[0], in[0].v.i64);
}

#define CHECK(call)                                                                     \
  do {                                                                                  \
    hn_status st_ = (call);                                                             \
    if (st_ != HN_OK) {                                                                 \
      fprintf(stderr, "mpi_die: %s: %s: %s\n", #call, hn_status_str(st_), err.message); \
      return 1;                                                                         \
    }                                                                                   \
  } while (0)

int main(int argc, char **argv) {
  g_mode_hang = argc > 1 && strcmp(argv[1], "hang") == 0;
  hn_error err;
  hn_error_reset(&err);
  hn_engine_options eo = {.size = sizeof eo,
                          .kind = HN_ENGINE_MPI,
                          .workers = 1,
                          .chunk_size = 4,
                          .chunk_timeout = 1.0};
  hn_engine *e = NULL;
  CHECK(hn_engine_create(NULL, &eo, &e, &err));
  if (argc > 1 && strcmp(argv[1], "create") == 0) {
    printf("mpi_die: rank %d of %d: engine created\n", hn_engine_rank(e), hn_engine_ranks(e));
    hn_engine_destroy(e);
    return 0;
  }
  hn_pipeline *p = NULL;
  CHECK(hn_pipeline_create(NULL, "die", &p, &err));
  CHECK(hn_pipeline_add(p, "dies_on_5", "x", "y: int64", f_node, &err));
  hn_builder *b = NULL;
  CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err));
  for (int64_t i = 0; i < 16; i++) CHECK(hn_builder_append_int64(b, i));
  hn_array *col = NULL;
  CHECK(hn_builder_finish(b, &col, &err));
  hn_builder_destroy(b);
  hn_inputs *in = NULL;
  CHECK(hn_inputs_create(NULL, &in, &err));
  CHECK(hn_inputs_set_column(in, "x", col, &err));
  hn_array_release(col);
  const char *over[1] = {"x"};
  hn_run_options o = {.size = sizeof o, .n_map_over = 1, .map_over = over};
  hn_result *res = NULL;
  hn_status st = hn_pipeline_map(p, e, in, &o, &res, &err);
  /* Not reached with two ranks: the job ends inside the map. */
  printf("mpi_die: rank %d: the map returned %s\n", hn_engine_rank(e), hn_status_str(st));
  hn_result_destroy(res);
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  hn_engine_destroy(e);
  return 0;
}
