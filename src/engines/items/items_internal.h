/*
 * Internal contract of the item executor's files: frames (a plan prepared
 * for one worker), steps, chunks, workers and the job. frame.c prepares
 * frames; steps.c runs an item through a frame; item_events.c holds item
 * paths, events and failures; items.c schedules chunks over the workers.
 * Not installed; symbols use hn__it_.
 */
#ifndef HN_ENGINES_ITEMS_INTERNAL_H
#define HN_ENGINES_ITEMS_INTERNAL_H

#include "items.h"

#define HN__RESET_EVERY 1024       /* items between truncations of scratch builders */
#define HN__WINDOW_PER_WORKER 4    /* chunks in flight per worker */
#define HN__FIRST_CHUNK 16         /* items in the timed first chunks (automatic size) */
#define HN__TARGET_CHUNK_NS 1e6    /* aim for 1 ms of work per chunk */
#define HN__KEEP_CHUNK_ROWS 1024   /* results stay chunked when chunks average this many rows */
#define HN__PIECE_NS 1000000       /* chunk events: pieces of about 1 ms of work */
#define HN__SPREAD_AFTER_NS 100000 /* a run's inner map is timed this long on one worker... */
#define HN__SPREAD_MIN_NS 1000000  /* ...and spread over the pool when this much work is left */
#define HN__PIECE_MAX ((int64_t)1 << 30)

#define NEW_ARRAY(p, n) ((p) = hn__calloc(a, (size_t)(n) > 0 ? (size_t)(n) : 1, sizeof *(p)))

typedef enum xs_kind { XS_ROW, XS_BATCH, XS_NESTED, XS_GUARDED } xs_kind;

struct frame;

/* A plan step prepared for one frame. */
typedef struct xstep {
  xs_kind kind;
  const hn_gnode *node;
  const hn_plan_step *ps;
  hn_row_fn row;
  void *ud;
  int64_t n_in, n_out;
  const int64_t *in_slots, *out_slots;
  hn_datum *in;      /* this step's inputs, written by their producers */
  hn_builder **outs; /* the frame's builders of out_slots */
  bool *read_out;    /* per output: a later step reads it (refresh the slot datum) */
  bool nested_out;   /* an output is a list or struct: check its children after a call */
  bool *nested;      /* per output: a list or struct */
  /* Batch-only nodes: one-row input arrays built from the datums. */
  hn_builder **bin;
  hn_batch_arg *bargs;
  hn_array **barrs;
  hn_array **bouts;
  /* Guarded nodes (guarded.c): input and output types, resource inputs; io in a top frame. */
  const hn_type **gin_types, **gout_types;
  bool *gin_res;
  bool async;
  /* Nested nodes. */
  struct frame *child;
  int64_t n_inner_in;
  int64_t *feed;   /* per inner input: the outer input feeding it, or -1 (bound) */
  hn_datum *bound; /* per inner input fed by nothing: the inner pipeline's bound value */
  int64_t n_map;   /* mapped outer inputs */
  int64_t *map_i;  /* outer input index */
  int64_t *map_q;  /* inner input index, or -1 */
  int64_t *map_len, *map_stride;
  const char **map_names; /* mapped outer input names, for messages */
  hn_datum *map_list;
  bool *needed; /* per outer output: the inner plan computes it */
} xstep;

/* A plan being run by one worker. */
typedef struct frame {
  const hn_plan *plan;
  const char *pipeline; /* name, for events */
  int depth;
  bool top;
  int64_t n_slots;
  hn_datum *ins;         /* every step's inputs, contiguous per step */
  int64_t *dst_start;    /* per slot: its consumers are dsts[dst_start[s], dst_start[s + 1]) */
  hn_datum **dsts;       /* input positions of the consumers, grouped by slot */
  const hn_type **types; /* per slot; inputs: the actual value type (NULL: unknown) */
  bool *is_res;          /* per slot: a resource instance (no copy, no free) */
  hn_builder **builders; /* per output slot */
  bool *owned;
  int64_t *rows;               /* per output slot: the current item's row in its builder */
  int64_t n_bslots, *bslots;   /* output slots */
  int64_t n_scratch, *scratch; /* owned builders not collected as results */
  int64_t since_reset;
  int64_t n_steps;
  xstep *steps;
  int64_t n_async; /* top frame: io steps, run over waves of items (waves.c) */
  /* Top frame only. */
  uint8_t *bad; /* CONTINUE: the slot's value failed or was skipped in this item */
  bool item_bad;
  hn_status item_status;
  int64_t item; /* index of the current item in its map (events), -1 for run */
  /* Chunk events (timed chunks only): items per piece (adapted), the current piece. */
  int64_t piece_items, piece_first, piece_t0;
} frame;

typedef struct chunk {
  int64_t index, start, count;
  hn_array **cols;  /* per requested output */
  hn__records recs; /* failed items under CONTINUE, in item order */
  bool done;
  bool collected; /* cols hold the outputs of items [start, start + count) */
} chunk;

struct job;

typedef struct worker {
  struct job *job;
  int index;
  hn_ctx ctx;
  frame *top;
  hn__res_instance *res; /* per plan input */
  bool ready, ran;
  chunk *cur;
  /* Item path: indices from the top item down to the current nested item. */
  int64_t *path;
  int path_len;
  bool path_dirty;
  char path_str[HN_ERROR_PATH_MAX];
  /* The current failure. */
  bool f_fatal; /* an engine failure (ferr), not a node's */
  hn_status f_code;
  char f_node[HN_ERROR_NODE_MAX];
  char f_msg[HN_ERROR_MESSAGE_MAX];
  char f_path[HN_ERROR_PATH_MAX];
  int64_t f_attempts; /* the failing node's attempts (1 without retries) */
  char *f_messages;   /* every attempt's message, last first (owned), or NULL */
  hn_error ferr;
  int64_t node_t0; /* start of the current row call (timed node events) */
  int attempt;     /* event.attempt while a guarded call's events fire */
} worker;

typedef struct job {
  hn__call *x;
  const hn__items_opts *o;
  const hn_plan *plan;
  hn_allocator alloc;
  int64_t n_items;
  int n_workers;
  bool threads;
  worker *workers;
  int max_depth;
  int64_t n_mapped, *mapped; /* plan input slots fed by mapped columns */
  hn__events ev;             /* the caller's callbacks */
  /* Scheduling, under mu. */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  chunk **chunks;
  int64_t n_chunks, cap_chunks;
  int64_t next_item;
  int64_t chunk_size, size_cap;
  bool auto_size;
  double ns_total;
  int64_t items_timed;
  int64_t lowest_undone, window;
  /* The failure with the lowest chunk index (INT64_MAX: none). */
  _Atomic int64_t fail_chunk;
  hn_status fail_status;
  hn_error fail_err;
  _Atomic int64_t res_inits, res_destroys;
  /* A run (one item) on a pool: the item runs on the calling thread, and the
   * pool's threads take the inner items of its nested maps (inner_parallel.c). */
  hn__pool *helpers;
  hn__guard *guard; /* NULL when no node is guarded */
} job;

/* ---- item_events.c ---------------------------------------------------------------- */

/* The worker's current item path ("7" or "7/3"), or NULL outside a map. */
const char *hn__it_path(worker *w);
/* Fire fn for an item (node NULL) or a node call of frame f, with its time. */
void hn__it_emit(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item,
                 hn_status st, const char *message, int64_t start_ns, int64_t duration_ns);
/* A timed item or node call starts: returns the clock; fires fn when set. */
int64_t hn__it_begin(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item);
/* It ends: fires fn (when set) with the time since t0. */
void hn__it_end(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item,
                hn_status st, int64_t t0);
/* A timed pipeline or map of frame f over n_items items starts / ends (as above). */
int64_t hn__it_span_begin(worker *w, const frame *f, hn_callback fn, int64_t item, int64_t n_items);
void hn__it_span_end(worker *w, const frame *f, hn_callback fn, int64_t item, int64_t n_items,
                     hn_status st, int64_t t0);
/*
 * Chunk events (only when timed): a piece of at most `left` items from
 * `first` starts (returns its size, adapted to about HN__PIECE_NS of
 * work); it ends after n_ran items with status st.
 */
int64_t hn__it_piece_begin(worker *w, frame *f, int64_t first, int64_t left);
void hn__it_piece_end(worker *w, frame *f, int64_t n_ran, hn_status st);
/* An engine failure (allocation, finishing a builder): stops the call under any policy. */
hn_status hn__it_fatal(worker *w, hn_status st, const char *fmt, ...) HN__PRINTF(3, 4);
/* The same, w->ferr already filled by the failing call. */
hn_status hn__it_fatal_filled(worker *w, hn_status st);
/* Record a node failure of the current item: code, node, message, item path. */
hn_status hn__it_node_failure(worker *w, const frame *f, const char *node, hn_status st,
                              const char *message);
hn_status hn__it_node_failure_fmt(worker *w, const frame *f, const char *node, hn_status st,
                                  const char *fmt, ...) HN__PRINTF(5, 6);

/* ---- frame.c ------------------------------------------------------------------------ */

/*
 * Prepare `plan` for worker w: in_types and in_res give each plan input's
 * value type and whether it is a resource; borrow (NULL: none) gives, per
 * slot, a builder of the parent frame to append into (nested outputs).
 */
hn_status hn__it_frame_create(worker *w, const hn_plan *plan, int depth, bool top,
                              const hn_type *const *in_types, const bool *in_res,
                              hn_builder *const *borrow, frame **out);
void hn__it_frame_destroy(const hn_allocator *a, frame *f);
/* Before a nested execution: empty owned builders, rows from the borrowed ones. */
void hn__it_frame_begin(frame *f);
/* After an item: every output slot got one row; now and then drop scratch rows. */
void hn__it_frame_item_end(frame *f);

/* ---- steps.c ------------------------------------------------------------------------ */

/* Run every step of the frame's plan for the current item. */
hn_status hn__it_run_item(worker *w, frame *f);
/* Run steps [from, to) of the frame's plan for the current item. */
hn_status hn__it_run_steps(worker *w, frame *f, int64_t from, int64_t to);
/* Append x->bouts[k] (one row, checked) to output k of the current item. */
hn_status hn__it_batch_output(worker *w, frame *f, xstep *x, int64_t k);
/* A step failed for the current item: under CONTINUE its outputs become null (HN_OK). */
hn_status hn__it_step_failed(worker *w, frame *f, xstep *x, hn_status st);
/* Nulls for a step skipped because an input failed (CONTINUE). */
hn_status hn__it_null_outputs(worker *w, frame *f, xstep *x, bool roll_back);
/* A step whose inputs include a failed value of the current item (CONTINUE). */
bool hn__it_step_blocked(const frame *f, const xstep *x);
/* End a failed item under CONTINUE. */
hn_status hn__it_finish_failed_item(worker *w, frame *f);

/* ---- items.c, guarded.c and waves.c ---------------------------------------------------- */

/* Finish the chunk's requested outputs into arrays; reset the frame for the next chunk. */
hn_status hn__it_chunk_collect(worker *w, chunk *c);
/* Set up a guarded step (types, resource flags; async for io in a top frame). */
hn_status hn__it_guarded_init(worker *w, frame *f, xstep *x);
/* Run a guarded step for the current item (waiting for it). */
hn_status hn__it_run_guarded(worker *w, frame *f, xstep *x);
/* A guarded call of step x for the current item, and taking its outcome after the wait. */
hn_status hn__it_gcall_make(worker *w, frame *f, xstep *x, hn__gcall **out);
hn_status hn__it_gcall_take(worker *w, frame *f, xstep *x, hn__gcall *c);
/* Run the chunk's items in waves: io steps of a wave's items are in flight at once. */
hn_status hn__it_run_chunk_waves(worker *w, chunk *c);
/* The items' mapped inputs of item row `row_item` into the top frame. */
void hn__it_put_mapped(worker *w, int64_t row_item);

/* ---- values into a frame (the hot path) ---------------------------------------------- */

/* Give slot s the value d: write it into every consumer's input position. */
static inline void hn__it_put(frame *f, int64_t s, hn_datum d) {
  for (int64_t k = f->dst_start[s]; k < f->dst_start[s + 1]; k++) *f->dsts[k] = d;
}

/*
 * Give slot s the value of row i of `a`. Fixed-width values are stored field
 * by field, never through a datum temporary: a node's narrow reads of its
 * inputs are then served by these stores (a wide copy of narrow stores
 * stalls store-to-load forwarding, which cost more than the rest of a call).
 */
static inline void hn__it_put_row(frame *f, int64_t s, const hn_array *a, int64_t i) {
  hn_datum **p = f->dsts + f->dst_start[s], **end = f->dsts + f->dst_start[s + 1];
  if (p == end) return;
  int64_t j = a->offset + i;
  hn_type_id id = a->type->id;
  const uint8_t *valid = hn__array_bytes(a, 0), *values = hn__array_bytes(a, 1);
  bool nul = valid && !hn_bit_get(valid, j);
  switch (id) {
    case HN_TYPE_INT64: {
      int64_t v = ((const int64_t *)values)[j];
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.i64 = v;
      }
      return;
    }
    case HN_TYPE_FLOAT64: {
      double v = ((const double *)values)[j];
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.f64 = v;
      }
      return;
    }
    case HN_TYPE_FLOAT32: {
      float v = ((const float *)values)[j];
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.f32 = v;
      }
      return;
    }
    case HN_TYPE_BOOL: {
      bool v = hn_bit_get(values, j);
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.b = v;
      }
      return;
    }
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY: {
      const int32_t *off = (const int32_t *)values + j;
      const uint8_t *bytes = hn__array_bytes(a, 2);
      hn_str v = {bytes ? (const char *)bytes + off[0] : "", off[1] - off[0]};
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.str = v;
      }
      return;
    }
    case HN_TYPE_LIST: {
      const int32_t *off = (const int32_t *)values + j;
      hn_list_view v = {a->children[0], off[0], off[1] - off[0]};
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.list = v;
      }
      return;
    }
    default:
      hn__it_put(f, s, hn_array_get(a, i));
  }
}

/* Give the inner frame the inputs of inner item t of a mapped nested step. */
static inline void hn__it_put_inner_item(frame *cf, const xstep *x, int64_t t) {
  for (int64_t k = 0; k < x->n_map; k++) {
    int64_t q = x->map_q[k];
    if (q < 0) continue;
    int64_t idx = hn__map_row(x->node->map_mode, t, x->map_stride[k], x->map_len[k]);
    hn_list_view lv = x->map_list[k].v.list;
    hn__it_put_row(cf, q, lv.values, lv.start + idx);
  }
}

/* ---- inner_parallel.c ------------------------------------------------------------------ */

/* Whether the inner items of nested step x may be spread over the pool now. */
bool hn__it_inner_parallel_ok(const worker *w, const xstep *x);
/*
 * Run inner items [t0, n_inner) of x on the pool and append their outputs to
 * the inner frame's builders (as run one by one). A failure is w's as if the
 * lowest failing item had run on w; returns its status.
 */
hn_status hn__it_inner_parallel(worker *w, xstep *x, int64_t t0, int64_t n_inner);

/*
 * Give slot s the value of row i of builder b, just appended. Fixed-width
 * values are read from the builder's buffers; other types through its view.
 */
static inline void hn__it_put_built(frame *f, int64_t s, hn_builder *b, int64_t i) {
  hn_datum **p = f->dsts + f->dst_start[s], **end = f->dsts + f->dst_start[s + 1];
  if (p == end) return;
  hn_type_id id = b->id;
  if (id != HN_TYPE_INT64 && id != HN_TYPE_FLOAT64) {
    hn__it_put_row(f, s, hn__builder_view(b), i);
    return;
  }
  bool nul = b->validity && !hn_bit_get(b->validity->data, i);
  int64_t bits; /* the value's 8 bytes, whichever of the two types */
  memcpy(&bits, b->values->data + 8 * i, 8);
  for (; p < end; p++) {
    (*p)->type = id;
    (*p)->is_null = nul;
    memcpy(&(*p)->v.i64, &bits, 8);
  }
}

/* The value of output k after a step appended it, for the steps downstream. */
static inline void hn__it_read_output(frame *f, const xstep *x, int64_t k) {
  int64_t s = x->out_slots[k];
  hn__it_put_built(f, s, x->outs[k], f->rows[s]);
}

#endif /* HN_ENGINES_ITEMS_INTERNAL_H */
