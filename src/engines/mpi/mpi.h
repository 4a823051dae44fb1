/*
 * The mpi engine: the items of a map spread over MPI ranks through the
 * batch protocol (../remote); MPI itself is reached through a plugin
 * (transport.h). Not installed; symbols use hn__.
 */
#ifndef HN_ENGINES_MPI_H
#define HN_ENGINES_MPI_H

#include "../remote/remote.h"
#include "transport.h"

extern const hn__engine_ops hn__mpi_ops;

/* The mpi engine's own state (hn_engine.state). */
typedef struct hn__mpi_state {
  const hn__mpi_transport *t; /* the plugin's transport */
  hn__pool *pool;             /* the threads items run on inside this rank */
} hn__mpi_state;

static inline const hn__mpi_transport *hn__mpi_transport_of(const hn_engine *e) {
  return ((const hn__mpi_state *)e->state)->t;
}

#endif /* HN_ENGINES_MPI_H */
