/*
 * The application owns MPI: it initialises MPI itself, creates and destroys
 * mpi engines, maps, and finds MPI still initialised (the engine neither
 * finalises MPI nor frees MPI_COMM_WORLD), then finalises it. Run by ctest
 * under mpiexec with 2 ranks; prints one closing line per rank.
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

static hn_status add1(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud;
  (void)ctx;
  return hn_builder_append_int64(out[0], in[0].v.i64 + 1);
}

#define CHECK(cond, what)                                                  \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "mpi_app_init: %s failed: %s\n", what, err.message); \
      MPI_Abort(MPI_COMM_WORLD, 1);                                        \
    }                                                                      \
  } while (0)

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  hn_error err;
  hn_error_reset(&err);
  hn_pipeline *p = NULL;
  CHECK(hn_pipeline_create(NULL, "app", &p, &err) == HN_OK, "pipeline");
  CHECK(hn_pipeline_add(p, "add1", "x", "y: int64", add1, &err) == HN_OK, "add");
  hn_builder *b = NULL;
  CHECK(hn_builder_create(NULL, hn_type_int64(), &b, &err) == HN_OK, "builder");
  for (int64_t i = 0; i < 100; i++) CHECK(hn_builder_append_int64(b, i) == HN_OK, "append");
  hn_array *col = NULL;
  CHECK(hn_builder_finish(b, &col, &err) == HN_OK, "finish");
  hn_builder_destroy(b);
  hn_inputs *in = NULL;
  CHECK(hn_inputs_create(NULL, &in, &err) == HN_OK, "inputs");
  CHECK(hn_inputs_set_column(in, "x", col, &err) == HN_OK, "set_column");
  hn_array_release(col);
  const char *over[1] = {"x"};
  hn_run_options o = {.size = sizeof o, .n_map_over = 1, .map_over = over};
  /* Twice: engines come and go while the application's MPI stays up. */
  for (int round = 0; round < 2; round++) {
    hn_engine_options eo = {.size = sizeof eo, .kind = HN_ENGINE_MPI, .workers = 1};
    hn_engine *e = NULL;
    CHECK(hn_engine_create(NULL, &eo, &e, &err) == HN_OK, "engine_create");
    CHECK(hn_engine_ranks(e) == size && hn_engine_rank(e) == rank, "rank agreement");
    hn_result *res = NULL;
    CHECK(hn_pipeline_map(p, e, in, &o, &res, &err) == HN_OK, "map");
    hn_table *t = hn_result_table(res);
    if (rank == 0)
      CHECK(hn_table_num_rows(t) == 100 && hn_array_get(hn_table_column(t, 0), 99).v.i64 == 100,
            "result");
    hn_result_destroy(res);
    hn_engine_destroy(e);
    int finalized = 1;
    MPI_Finalized(&finalized);
    CHECK(!finalized, "MPI still initialised after hn_engine_destroy");
    /* MPI_COMM_WORLD is still usable: the engine only freed its own duplicate. */
    int sum = 0, one = 1;
    CHECK(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD) == MPI_SUCCESS &&
              sum == size,
          "MPI_COMM_WORLD after hn_engine_destroy");
  }
  hn_inputs_destroy(in);
  hn_pipeline_release(p);
  printf("mpi_app_init: rank %d of %d: the application's MPI survived two engines\n", rank, size);
  MPI_Finalize();
  return 0;
}
