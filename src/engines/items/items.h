/*
 * The item executor: runs a call item by item, every plan step depth-first
 * per item, on the calling thread or on a pool of worker threads (chunks of
 * items). It is the sequential and threads engines, and what the remote
 * engines run a batch with. Not installed; symbols use hn__.
 */
#ifndef HN_ENGINES_ITEMS_H
#define HN_ENGINES_ITEMS_H

#include "../../exec/exec_internal.h"

/* How hn__items_run runs a call. Zero-initialise, then set what applies. */
typedef struct hn__items_opts {
  hn__pool *pool;     /* the worker threads; NULL: every item on the calling thread */
  int64_t chunk_size; /* items per chunk on a pool; 0: sized from measured cost */
  /* Index of the call's first item: mapped rows are still read from row 0 of
   * each column, but item paths, events and error records say item_base + k
   * (a batch of a bigger map). */
  int64_t item_base;
  /* NULL to build resources per call; else worker_res[w] is the per-plan-
   * input instance array of worker w, built when first needed and left live
   * after the call (its owner releases them). */
  hn__res_instance *const *worker_res;
  /* Events carry no item_path (a batch worker that only announces items and
   * nodes: formatting paths would be its main cost). */
  bool no_event_paths;
  /* Item and node events carry no time (their callbacks only announce: the
   * clock would be their main cost); an end callback set times them anyway. */
  bool untimed_items, untimed_nodes;
} hn__items_opts;

/*
 * Run every item of x: outputs and records go to x->col (chunks joined at
 * finish). On failure err is filled (for a node failure under raise: node,
 * item path and the node's message; the lowest failing item) and nothing is
 * added. Resource instances built for the call are destroyed before it
 * returns.
 */
hn_status hn__items_run(hn__call *x, const hn__items_opts *o, hn_error *err);

/* The sequential engine (every item on the calling thread) and the threads engine. */
extern const hn__engine_ops hn__sequential_ops;
extern const hn__engine_ops hn__threads_ops;

#endif /* HN_ENGINES_ITEMS_H */
