/*
 * The item-major executor shared by the sequential and threads engines.
 *
 * Items are cut into chunks; a worker runs a chunk item by item, and each
 * item runs every plan step depth-first. A plan runs in a "frame": per step
 * an array of input datums, per output slot a builder and the row the
 * current item occupies in it, and per slot the list of input positions
 * that consume it. A step calls the node's row function on its input array
 * with the builders of its outputs, checks that exactly one row was appended
 * to each, and writes the new values (read from a live view of the builder,
 * no copy) straight into the input arrays of the steps downstream. Requested
 * outputs accumulate over the chunk and are finished into arrays at its end;
 * the other builders are scratch, truncated every HN__RESET_EVERY items.
 * Nested steps run their inner plan in a child frame whose requested outputs
 * are appended straight into the outer output builders (mapped: into the
 * list's item builder, closed with hn_builder_finish_element).
 *
 * Threads: chunks are claimed in item order (at most HN__WINDOW_PER_WORKER
 * per worker ahead of the oldest unfinished one), so chunk index order is
 * item order; per-chunk arrays are concatenated at the end. Under the raise
 * policy the failing chunk with the lowest index wins: claiming stops, later
 * chunks abort, earlier ones (all already claimed) finish, so the reported
 * item is the lowest failing one, as on the sequential engine.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "engine_internal.h"

#define HN__RESET_EVERY 1024        /* items between truncations of scratch builders */
#define HN__WINDOW_PER_WORKER 4     /* chunks in flight per worker */
#define HN__FIRST_CHUNK 16          /* items in the timed first chunks (automatic size) */
#define HN__TARGET_CHUNK_NS 50000.0 /* aim for 50 us of work per chunk */

/* ======================================================================== */
/* Structures                                                               */
/* ======================================================================== */

typedef enum xs_kind { XS_ROW, XS_BATCH, XS_NESTED } xs_kind;

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
  /* Batch-only nodes: one-row input arrays built from the datums. */
  hn_builder **bin;
  hn_batch_arg *bargs;
  hn_array **barrs;
  hn_array **bouts;
  /* Nested nodes. */
  struct frame *child;
  int64_t n_inner_in;
  int64_t *feed;   /* per inner input: the outer input feeding it, or -1 (bound) */
  hn_datum *bound; /* per inner input fed by nothing: the inner pipeline's bound value */
  int64_t n_map;   /* mapped outer inputs */
  int64_t *map_i;  /* outer input index */
  int64_t *map_q;  /* inner input index, or -1 */
  int64_t *map_len, *map_stride;
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
  /* Top frame only. */
  uint8_t *bad; /* CONTINUE: the slot's value failed or was skipped in this item */
  bool item_bad;
  hn_status item_status;
  int64_t item; /* index of the current item in its map (events), -1 for run */
} frame;

typedef struct record {
  int64_t item;
  char *path, *node, *message;
} record;

typedef struct chunk {
  int64_t index, start, count;
  hn_array **cols; /* per requested output */
  record *recs;
  int64_t n_recs, cap_recs;
  bool done;
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
  hn_error ferr;
} worker;

typedef struct job {
  hn__exec *x;
  const hn_plan *plan;
  hn_allocator alloc;
  int64_t n_items;
  int n_workers;
  bool threads;
  worker *workers;
  int max_depth;
  int64_t n_mapped, *mapped; /* plan input slots fed by mapped columns */
  /* Callbacks (NULL when unset). */
  void *cb_ud;
  hn_callback on_item_start, on_item_end, on_node_start, on_node_end, on_error;
  hn_callback on_pipeline_start, on_pipeline_end;
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
} job;

/* ======================================================================== */
/* Small helpers                                                            */
/* ======================================================================== */

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void copy_str(char *dst, size_t cap, const char *src) {
  size_t n = strlen(src);
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static int plan_depth(const hn_plan *plan) {
  int d = 0;
  for (int64_t s = 0; s < plan->n_steps; s++)
    if (plan->steps[s].inner) {
      int k = plan_depth(plan->steps[s].inner);
      if (k > d) d = k;
    }
  return d + 1;
}

/*
 * Undo partial appends: drop rows [len, length) and, recursively, list items
 * and struct fields appended after the last closed element.
 */
static void rollback(hn_builder *b, int64_t len) {
  if (hn_builder_length(b) > len) hn__builder_truncate(b, len);
  const hn_type *t = hn_builder_type(b);
  if (t->id == HN_TYPE_LIST) {
    const hn_array *v = hn__builder_view(b);
    int64_t end = v->buffers[1] ? ((const int32_t *)v->buffers[1]->data)[len] : 0;
    rollback(hn_builder_child(b, 0), end);
  } else if (t->id == HN_TYPE_STRUCT) {
    for (int64_t i = 0; i < t->n_fields; i++) rollback(hn_builder_child(b, i), len);
  }
}

static const char *path_str(worker *w) {
  if (w->path_len == 0) return NULL;
  if (w->path_dirty) {
    size_t n = 0;
    w->path_str[0] = '\0';
    for (int i = 0; i < w->path_len && n < sizeof w->path_str; i++) {
      int k = snprintf(w->path_str + n, sizeof w->path_str - n, "%s%lld", i ? "/" : "",
                       (long long)w->path[i]);
      if (k < 0) break;
      n += (size_t)k;
    }
    w->path_dirty = false;
  }
  return w->path_str;
}

static void emit(worker *w, const frame *f, hn_callback fn, const char *node, int64_t item,
                 hn_status st, const char *message) {
  hn_event ev;
  memset(&ev, 0, sizeof ev);
  ev.pipeline = f->pipeline;
  ev.node = node;
  ev.item = item;
  ev.item_path = w->job->x->no_event_paths ? NULL : path_str(w);
  ev.depth = f->depth;
  ev.n_rows = node ? 1 : 0;
  ev.status = st;
  ev.message = message;
  ev.worker = w->index;
  fn(w->job->cb_ud, &ev);
}

/* An engine failure (allocation, finishing a builder): stops the call under any policy. */
static hn_status fatal(worker *w, hn_status st, const char *fmt, ...) HN__PRINTF(3, 4);
static hn_status fatal(worker *w, hn_status st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char msg[HN_ERROR_MESSAGE_MAX];
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  w->f_fatal = true;
  hn__error(&w->ferr, st, "%s", msg);
  return st;
}

/* ferr was filled by the failing call. */
static hn_status fatal_filled(worker *w, hn_status st) {
  w->f_fatal = true;
  w->ferr.code = st;
  return st;
}

/* Record a node failure of the current item: code, node, message, item path. */
static hn_status node_failure(worker *w, const frame *f, const char *node, hn_status st,
                              const char *message) {
  if ((int)st <= 0 || (int)st > (int)HN_EINTERNAL) st = HN_ENODE;
  w->f_fatal = false;
  w->f_code = st;
  copy_str(w->f_node, sizeof w->f_node, node);
  copy_str(w->f_msg, sizeof w->f_msg, message);
  const char *p = path_str(w);
  copy_str(w->f_path, sizeof w->f_path, p ? p : "");
  if (w->job->on_error) emit(w, f, w->job->on_error, node, f->item, st, w->f_msg);
  return st;
}

static hn_status node_failure_fmt(worker *w, const frame *f, const char *node, hn_status st,
                                  const char *fmt, ...) HN__PRINTF(5, 6);
static hn_status node_failure_fmt(worker *w, const frame *f, const char *node, hn_status st,
                                  const char *fmt, ...) {
  char msg[HN_ERROR_MESSAGE_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return node_failure(w, f, node, st, msg);
}

/* A node function returned a failure: its message, from the context or the status. */
static hn_status node_returned(worker *w, const frame *f, const hn_gnode *g, hn_status st) {
  char msg[HN_ERROR_MESSAGE_MAX];
  st = hn__call_failure(&w->ctx, st, msg, sizeof msg);
  return node_failure(w, f, g->name, st, msg);
}

/* After a row call: list and struct outputs hold exactly their closed elements. */
static hn_status check_closed(worker *w, const frame *f, const xstep *x) {
  char msg[HN_ERROR_MESSAGE_MAX];
  if (hn__outputs_closed(x->node, x->outs, msg, sizeof msg)) return HN_OK;
  return node_failure(w, f, x->node->name, HN_ENODE, msg);
}

static hn_status appended_wrong(worker *w, const frame *f, const xstep *x, int64_t k) {
  char msg[HN_ERROR_MESSAGE_MAX];
  hn__appended_message(x->node, k, hn_builder_length(x->outs[k]) - f->rows[x->out_slots[k]], msg,
                       sizeof msg);
  return node_failure(w, f, x->node->name, HN_ENODE, msg);
}

/* ======================================================================== */
/* Frames                                                                   */
/* ======================================================================== */

static void frame_destroy(const hn_allocator *a, frame *f);

static void xstep_free(const hn_allocator *a, xstep *x) {
  hn__free(a, x->outs);
  hn__free(a, x->read_out);
  if (x->bin)
    for (int64_t i = 0; i < x->n_in; i++) hn_builder_destroy(x->bin[i]);
  hn__free(a, x->bin);
  hn__free(a, x->bargs);
  hn__free(a, x->barrs);
  hn__free(a, x->bouts);
  frame_destroy(a, x->child);
  hn__free(a, x->feed);
  hn__free(a, x->bound);
  hn__free(a, x->map_i);
  hn__free(a, x->map_q);
  hn__free(a, x->map_len);
  hn__free(a, x->map_stride);
  hn__free(a, x->map_list);
  hn__free(a, x->needed);
}

static void frame_destroy(const hn_allocator *a, frame *f) {
  if (!f) return;
  for (int64_t s = 0; f->steps && s < f->n_steps; s++) xstep_free(a, &f->steps[s]);
  for (int64_t s = 0; f->builders && f->owned && s < f->n_slots; s++)
    if (f->owned[s]) hn_builder_destroy(f->builders[s]);
  hn__free(a, f->steps);
  hn__free(a, f->ins);
  hn__free(a, f->dst_start);
  hn__free(a, f->dsts);
  hn__free(a, (void *)f->types);
  hn__free(a, f->is_res);
  hn__free(a, f->builders);
  hn__free(a, f->owned);
  hn__free(a, f->rows);
  hn__free(a, f->bslots);
  hn__free(a, f->scratch);
  hn__free(a, f->bad);
  hn__free(a, f);
}

static hn_status frame_create(worker *w, const hn_plan *plan, int depth, bool top,
                              const hn_type *const *in_types, const bool *in_res,
                              hn_builder *const *borrow, frame **out);

#define NEW_ARRAY(p, n) ((p) = hn__calloc(a, (size_t)(n) > 0 ? (size_t)(n) : 1, sizeof *(p)))

/* The nested part of a step: feeds, mapped inputs and the child frame. */
static hn_status nested_init(worker *w, frame *f, xstep *x) {
  const hn_allocator *a = &w->job->alloc;
  const hn_plan_step *ps = x->ps;
  const hn_plan *ip = ps->inner;
  const hn_gnode *g = x->node;
  x->n_inner_in = ip->n_inputs;
  x->n_map = g->n_map;
  const hn_type **in_types = NULL;
  bool *in_res = NULL;
  hn_builder **borrow = NULL;
  if (!NEW_ARRAY(x->feed, ip->n_inputs) || !NEW_ARRAY(x->bound, ip->n_inputs) ||
      !NEW_ARRAY(x->map_i, x->n_map) || !NEW_ARRAY(x->map_q, x->n_map) ||
      !NEW_ARRAY(x->map_len, x->n_map) || !NEW_ARRAY(x->map_stride, x->n_map) ||
      !NEW_ARRAY(x->map_list, x->n_map) || !NEW_ARRAY(x->needed, x->n_out) ||
      !NEW_ARRAY(in_types, ip->n_inputs) || !NEW_ARRAY(in_res, ip->n_inputs) ||
      !NEW_ARRAY(borrow, ip->n_slots)) {
    hn__free(a, (void *)in_types);
    hn__free(a, in_res);
    hn__free(a, borrow);
    return fatal(w, HN_ENOMEM, "out of memory preparing nested node '%s'", g->name);
  }
  hn_status st = HN_OK;
  for (int64_t q = 0; q < ip->n_inputs; q++) x->feed[q] = -1;
  for (int64_t i = 0; i < g->n_inputs; i++) {
    int64_t q = ps->inner_input_index[i];
    if (q >= 0) x->feed[q] = i;
  }
  /* In map_over order: in product mode the last one varies fastest. */
  for (int64_t k = 0; k < x->n_map; k++) {
    x->map_i[k] = g->map_order[k];
    x->map_q[k] = ps->inner_input_index[g->map_order[k]];
  }
  for (int64_t q = 0; q < ip->n_inputs && st == HN_OK; q++) {
    int64_t i = x->feed[q];
    if (i >= 0) {
      const hn_type *t = f->types[x->in_slots[i]];
      if (g->mapped[i]) t = t && t->id == HN_TYPE_LIST ? t->item : NULL;
      in_types[q] = t;
      in_res[q] = !g->mapped[i] && f->is_res[x->in_slots[i]];
      continue;
    }
    /* Fed by the inner pipeline's bound default (type-checked by the plan). */
    int64_t row = 0;
    const hn_array *bound = hn__plan_input_bound(ip, q, &row);
    if (!bound) {
      st = fatal(w, HN_EINTERNAL, "nested node '%s': inner input '%s' has no source", g->name,
                 ip->input_names[q]);
      break;
    }
    x->bound[q] = hn_array_get(bound, row);
    in_types[q] = bound->type;
  }
  for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) {
    int64_t r = ps->inner_output_index[k];
    if (r < 0) continue;
    x->needed[k] = true;
    int64_t s = ip->requested_slots[r];
    hn_builder *b = x->n_map > 0 ? hn_builder_child(x->outs[k], 0) : x->outs[k];
    if (!b || borrow[s])
      st = fatal(w, HN_EINTERNAL, "nested node '%s': output '%s' cannot be wired", g->name,
                 g->outputs[k]);
    else
      borrow[s] = b;
  }
  if (st == HN_OK)
    st = frame_create(w, ip, f->depth + 1, false, in_types, in_res, borrow, &x->child);
  hn__free(a, (void *)in_types);
  hn__free(a, in_res);
  hn__free(a, borrow);
  return st;
}

static hn_status step_init(worker *w, frame *f, xstep *x, const hn_plan_step *ps,
                           const bool *consumed) {
  const hn_allocator *a = &w->job->alloc;
  x->ps = ps;
  x->node = ps->node;
  x->n_in = ps->node->n_inputs;
  x->n_out = ps->node->n_outputs;
  x->in_slots = ps->in_slots;
  x->out_slots = ps->out_slots;
  if (!NEW_ARRAY(x->outs, x->n_out) || !NEW_ARRAY(x->read_out, x->n_out))
    return fatal(w, HN_ENOMEM, "out of memory preparing node '%s'", x->node->name);
  for (int64_t k = 0; k < x->n_out; k++) {
    x->outs[k] = f->builders[x->out_slots[k]];
    x->read_out[k] = consumed[x->out_slots[k]];
    hn_type_id id = f->types[x->out_slots[k]] ? f->types[x->out_slots[k]]->id : HN_TYPE_BOOL;
    if (id == HN_TYPE_LIST || id == HN_TYPE_STRUCT) x->nested_out = true;
  }
  if (ps->inner) {
    x->kind = XS_NESTED;
    return nested_init(w, f, x);
  }
  if (x->node->row) {
    x->kind = XS_ROW;
    x->row = x->node->row;
    x->ud = x->node->user_data;
    return HN_OK;
  }
  x->kind = XS_BATCH;
  if (!NEW_ARRAY(x->bin, x->n_in) || !NEW_ARRAY(x->bargs, x->n_in) ||
      !NEW_ARRAY(x->barrs, x->n_in) || !NEW_ARRAY(x->bouts, x->n_out))
    return fatal(w, HN_ENOMEM, "out of memory preparing node '%s'", x->node->name);
  return HN_OK;
}

static hn_status frame_create(worker *w, const hn_plan *plan, int depth, bool top,
                              const hn_type *const *in_types, const bool *in_res,
                              hn_builder *const *borrow, frame **out) {
  const hn_allocator *a = &w->job->alloc;
  int64_t n = plan->n_slots, n_ins = 0;
  for (int64_t s = 0; s < plan->n_steps; s++) n_ins += plan->steps[s].node->n_inputs;
  frame *f = hn__calloc(a, 1, sizeof *f);
  bool *consumed = NULL, *requested = NULL;
  if (!f) return fatal(w, HN_ENOMEM, "out of memory preparing a plan");
  f->plan = plan;
  f->pipeline = plan->pipeline->name ? plan->pipeline->name : "";
  f->depth = depth;
  f->top = top;
  f->n_slots = n;
  f->item = -1;
  if (!NEW_ARRAY(f->ins, n_ins) || !NEW_ARRAY(f->dst_start, n + 1) || !NEW_ARRAY(f->dsts, n_ins) ||
      !NEW_ARRAY(f->types, n) || !NEW_ARRAY(f->is_res, n) || !NEW_ARRAY(f->builders, n) ||
      !NEW_ARRAY(f->owned, n) || !NEW_ARRAY(f->rows, n) || !NEW_ARRAY(f->bslots, n) ||
      !NEW_ARRAY(f->scratch, n) || !NEW_ARRAY(f->bad, n) || !NEW_ARRAY(f->steps, plan->n_steps) ||
      !NEW_ARRAY(consumed, n) || !NEW_ARRAY(requested, n)) {
    hn__free(a, consumed);
    hn__free(a, requested);
    frame_destroy(a, f);
    return fatal(w, HN_ENOMEM, "out of memory preparing a plan");
  }
  f->n_steps = plan->n_steps;
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    f->types[q] = in_types[q];
    f->is_res[q] = in_res ? in_res[q] : false;
  }
  for (int64_t s = plan->n_inputs; s < n; s++) f->types[s] = plan->slot_types[s];
  /* Consumers of each slot: the input positions its value is written to. */
  for (int64_t s = 0; s < plan->n_steps; s++)
    for (int64_t i = 0; i < plan->steps[s].node->n_inputs; i++) {
      consumed[plan->steps[s].in_slots[i]] = true;
      f->dst_start[plan->steps[s].in_slots[i] + 1]++;
    }
  for (int64_t s = 0; s < n; s++) f->dst_start[s + 1] += f->dst_start[s];
  int64_t *fill = f->rows; /* scratch until the builders exist: next free position per slot */
  for (int64_t s = 0; s < n; s++) fill[s] = f->dst_start[s];
  for (int64_t s = 0, off = 0; s < plan->n_steps; s++) {
    f->steps[s].in = f->ins + off;
    for (int64_t i = 0; i < plan->steps[s].node->n_inputs; i++)
      f->dsts[fill[plan->steps[s].in_slots[i]]++] = &f->ins[off + i];
    off += plan->steps[s].node->n_inputs;
  }
  memset(fill, 0, sizeof *fill * (size_t)n);
  for (int64_t r = 0; r < plan->n_requested; r++) requested[plan->requested_slots[r]] = true;
  hn_status st = HN_OK;
  for (int64_t s = plan->n_inputs; s < n && st == HN_OK; s++) {
    f->bslots[f->n_bslots++] = s;
    if (borrow && borrow[s]) {
      f->builders[s] = borrow[s];
      continue;
    }
    st = hn_builder_create(a, f->types[s], &f->builders[s], &w->ferr);
    if (st != HN_OK) {
      st = fatal_filled(w, st);
      break;
    }
    f->owned[s] = true;
    if (!top || !requested[s]) f->scratch[f->n_scratch++] = s;
  }
  for (int64_t s = 0; s < plan->n_steps && st == HN_OK; s++)
    st = step_init(w, f, &f->steps[s], &plan->steps[s], consumed);
  hn__free(a, consumed);
  hn__free(a, requested);
  if (st != HN_OK) {
    frame_destroy(a, f);
    return st;
  }
  *out = f;
  return HN_OK;
}

/* Before a nested execution: empty owned builders, rows from the borrowed ones. */
static void frame_begin(frame *f) {
  for (int64_t k = 0; k < f->n_bslots; k++) {
    int64_t s = f->bslots[k];
    if (f->owned[s]) {
      rollback(f->builders[s], 0);
      f->rows[s] = 0;
    } else {
      f->rows[s] = hn_builder_length(f->builders[s]);
    }
  }
  f->since_reset = 0;
}

/* After an item: every output slot got one row; now and then drop scratch rows. */
static void frame_item_end(frame *f) {
  for (int64_t k = 0; k < f->n_bslots; k++) f->rows[f->bslots[k]]++;
  if (++f->since_reset < HN__RESET_EVERY) return;
  f->since_reset = 0;
  for (int64_t k = 0; k < f->n_scratch; k++) {
    int64_t s = f->scratch[k];
    hn__builder_truncate(f->builders[s], 0);
    f->rows[s] = 0;
  }
}

/* ======================================================================== */
/* Steps                                                                    */
/* ======================================================================== */

static hn_status frame_run_item(worker *w, frame *f);

/* Give slot s the value d: write it into every consumer's input position. */
static inline void put(frame *f, int64_t s, hn_datum d) {
  for (int64_t k = f->dst_start[s]; k < f->dst_start[s + 1]; k++) *f->dsts[k] = d;
}

/*
 * Give slot s the value of row i of `a`. Fixed-width values are stored field
 * by field, never through a datum temporary: a node's narrow reads of its
 * inputs are then served by these stores (a wide copy of narrow stores
 * stalls store-to-load forwarding, which cost more than the rest of a call).
 */
static inline void put_row(frame *f, int64_t s, const hn_array *a, int64_t i) {
  hn_datum **p = f->dsts + f->dst_start[s], **end = f->dsts + f->dst_start[s + 1];
  if (p == end) return;
  int64_t j = a->offset + i;
  hn_type_id id = a->type->id;
  bool nul = a->buffers[0] && !hn_bit_get(a->buffers[0]->data, j);
  switch (id) {
    case HN_TYPE_INT64: {
      int64_t v = ((const int64_t *)a->buffers[1]->data)[j];
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.i64 = v;
      }
      return;
    }
    case HN_TYPE_FLOAT64: {
      double v = ((const double *)a->buffers[1]->data)[j];
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.f64 = v;
      }
      return;
    }
    case HN_TYPE_FLOAT32: {
      float v = ((const float *)a->buffers[1]->data)[j];
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.f32 = v;
      }
      return;
    }
    case HN_TYPE_BOOL: {
      bool v = hn_bit_get(a->buffers[1]->data, j);
      for (; p < end; p++) {
        (*p)->type = id;
        (*p)->is_null = nul;
        (*p)->v.b = v;
      }
      return;
    }
    default:
      put(f, s, hn_array_get(a, i));
  }
}

/* The value of output k after a step appended it, for the steps downstream. */
static inline void read_output(frame *f, const xstep *x, int64_t k) {
  int64_t s = x->out_slots[k];
  put_row(f, s, hn__builder_view(x->outs[k]), f->rows[s]);
}

/* A batch-only node in an item-major engine: one-row arrays in and out. */
static hn_status run_batch(worker *w, frame *f, xstep *x) {
  job *j = w->job;
  const hn_gnode *g = x->node;
  hn_status st = HN_OK;
  int64_t made = 0;
  for (; made < x->n_in; made++) {
    int64_t slot = x->in_slots[made];
    if (!x->bin[made]) {
      if (!f->types[slot]) {
        st = node_failure_fmt(w, f, g->name, HN_ETYPE,
                              "input '%s' of batch-only node '%s' has no known type",
                              g->inputs[made], g->name);
        break;
      }
      st = hn_builder_create(&j->alloc, f->types[slot], &x->bin[made], &w->ferr);
      if (st != HN_OK) {
        st = fatal_filled(w, st);
        break;
      }
    }
    hn_builder *b = x->bin[made];
    hn_datum d = x->in[made];
    if (d.type == HN_TYPE_OBJECT && !d.is_null && f->is_res[slot])
      st = hn_builder_append_object(b, d.v.object); /* a resource: never copied or freed */
    else
      st = hn_builder_append_datum(b, d);
    if (st == HN_ENOMEM) {
      st = fatal(w, st, "out of memory passing input '%s' to node '%s'", g->inputs[made], g->name);
      break;
    }
    if (st != HN_OK) {
      st = node_failure_fmt(w, f, g->name, st, "input '%s': %s", g->inputs[made],
                            hn_builder_last_error(b));
      break;
    }
    st = hn_builder_finish(b, &x->barrs[made], &w->ferr);
    if (st != HN_OK) {
      st = fatal_filled(w, st);
      break;
    }
    x->bargs[made].array = x->barrs[made];
    x->bargs[made].scalar = false;
  }
  if (st == HN_OK) {
    if (j->on_node_start) emit(w, f, j->on_node_start, g->name, f->item, HN_OK, NULL);
    for (int64_t k = 0; k < x->n_out; k++) x->bouts[k] = NULL;
    st = g->batch(g->user_data, x->bargs, 1, x->bouts, &w->ctx);
    if (w->ctx.flags) hn__ctx_after_call(&w->ctx, st);
    if (st != HN_OK) st = node_returned(w, f, g, st);
    for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) {
      hn_array *o = x->bouts[k];
      const hn_type *want = f->types[x->out_slots[k]];
      if (!o || o->length != 1 || !hn_type_equals(o->type, want)) {
        char got[64] = "nothing", exp[64];
        if (o) hn_type_to_string(o->type, got, sizeof got);
        hn_type_to_string(want, exp, sizeof exp);
        st = node_failure_fmt(w, f, g->name, HN_ENODE,
                              "batch function gave %lld rows of %s for output '%s' (expected 1 "
                              "row of %s)",
                              (long long)(o ? o->length : 0), got, g->outputs[k], exp);
        break;
      }
      hn_datum d = hn_array_get(o, 0);
      hn_buffer *vals = o->buffers[1];
      if (d.type == HN_TYPE_OBJECT && !d.is_null && atomic_load(&o->refcount) == 1 && vals &&
          atomic_load(&vals->refcount) == 1 && !vals->parent && !vals->release_fn) {
        st = hn_builder_append_object(x->outs[k], d.v.object); /* move, do not copy */
        if (st == HN_OK) ((void **)vals->data)[o->offset] = NULL;
      } else {
        st = hn_builder_append_datum(x->outs[k], d);
      }
      if (st == HN_ENOMEM)
        st = fatal(w, st, "out of memory appending output '%s' of node '%s'", g->outputs[k],
                   g->name);
      else if (st != HN_OK)
        st = node_failure_fmt(w, f, g->name, st, "output '%s': %s", g->outputs[k],
                              hn_builder_last_error(x->outs[k]));
      else if (x->read_out[k])
        read_output(f, x, k);
    }
    for (int64_t k = 0; k < x->n_out; k++) {
      hn_array_release(x->bouts[k]);
      x->bouts[k] = NULL;
    }
    if (j->on_node_end) emit(w, f, j->on_node_end, g->name, f->item, st, NULL);
  }
  for (int64_t i = 0; i < made && i < x->n_in; i++) {
    hn_array_release(x->barrs[i]);
    x->barrs[i] = NULL;
  }
  return st;
}

/*
 * Inner item count of a mapped nested node: zip or product of the list
 * lengths, or -1 when a mapped list is null (the outputs are then null).
 */
static hn_status nested_items(worker *w, frame *f, xstep *x, int64_t *n_inner) {
  const hn_gnode *g = x->node;
  for (int64_t k = 0; k < x->n_map; k++) {
    hn_datum d = x->in[x->map_i[k]];
    const char *name = g->inputs[x->map_i[k]];
    if (d.type != HN_TYPE_LIST)
      return node_failure_fmt(w, f, g->name, HN_ETYPE, "mapped input '%s' is %s, not a list", name,
                              hn_type_id_name(d.type));
    if (d.is_null) {
      *n_inner = -1; /* a null list maps to null outputs */
      return HN_OK;
    }
    x->map_list[k] = d;
    x->map_len[k] = d.v.list.length;
  }
  if (g->map_mode == HN_MAP_ZIP) {
    bool same = true;
    for (int64_t k = 1; k < x->n_map; k++) same = same && x->map_len[k] == x->map_len[0];
    if (!same) {
      char msg[HN_ERROR_MESSAGE_MAX];
      size_t n = (size_t)snprintf(msg, sizeof msg, "zip lengths differ: ");
      for (int64_t k = 0; k < x->n_map && n < sizeof msg; k++)
        n += (size_t)snprintf(msg + n, sizeof msg - n, "%s%s=%lld", k ? ", " : "",
                              g->inputs[x->map_i[k]], (long long)x->map_len[k]);
      return node_failure(w, f, g->name, HN_ENODE, msg);
    }
    *n_inner = x->n_map ? x->map_len[0] : 1;
    return HN_OK;
  }
  /* With an empty list there is no combination, whatever the other lengths. */
  bool any_empty = false;
  for (int64_t k = 0; k < x->n_map; k++) any_empty = any_empty || x->map_len[k] == 0;
  int64_t total = 1;
  for (int64_t k = x->n_map - 1; k >= 0 && !any_empty; k--) {
    x->map_stride[k] = total;
    if (total > INT32_MAX / x->map_len[k])
      return node_failure_fmt(w, f, g->name, HN_ERANGE, "product of the mapped lists is too large");
    total *= x->map_len[k];
  }
  *n_inner = any_empty ? 0 : total;
  return HN_OK;
}

static hn_status run_nested(worker *w, frame *f, xstep *x) {
  job *j = w->job;
  const hn_gnode *g = x->node;
  frame *cf = x->child;
  if (j->on_node_start) emit(w, f, j->on_node_start, g->name, f->item, HN_OK, NULL);
  hn_status st = HN_OK;
  int64_t n_inner = 1;
  if (x->n_map > 0) st = nested_items(w, f, x, &n_inner);
  if (st == HN_OK && n_inner < 0) {
    for (int64_t k = 0; k < x->n_out && st == HN_OK; k++)
      if (hn_builder_append_null(x->outs[k]) != HN_OK)
        st = fatal(w, HN_ENOMEM, "out of memory writing a null for node '%s'", g->name);
  } else if (st == HN_OK) {
    frame_begin(cf);
    for (int64_t q = 0; q < x->n_inner_in; q++) {
      int64_t i = x->feed[q];
      if (i < 0)
        put(cf, q, x->bound[q]);
      else if (!g->mapped[i])
        put(cf, q, x->in[i]);
    }
    if (j->on_pipeline_start) emit(w, cf, j->on_pipeline_start, NULL, f->item, HN_OK, NULL);
    if (x->n_map > 0) {
      bool zip = g->map_mode == HN_MAP_ZIP;
      int pos = w->path_len++;
      for (int64_t t = 0; t < n_inner; t++) {
        for (int64_t k = 0; k < x->n_map; k++) {
          int64_t q = x->map_q[k];
          if (q < 0) continue;
          int64_t idx = zip ? t : t / x->map_stride[k] % x->map_len[k];
          hn_list_view lv = x->map_list[k].v.list;
          put_row(cf, q, lv.values, lv.start + idx);
        }
        w->path[pos] = t;
        w->path_dirty = true;
        cf->item = t;
        if (j->on_item_start) emit(w, cf, j->on_item_start, NULL, t, HN_OK, NULL);
        st = frame_run_item(w, cf);
        if (j->on_item_end) emit(w, cf, j->on_item_end, NULL, t, st, NULL);
        if (st != HN_OK) break;
        frame_item_end(cf);
      }
      w->path_len--;
      w->path_dirty = true;
      for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) {
        st = x->needed[k] ? hn_builder_finish_element(x->outs[k])
                          : hn_builder_append_null(x->outs[k]);
        if (st != HN_OK)
          st = fatal(w, st, "nested node '%s', output '%s': %s", g->name, g->outputs[k],
                     hn_builder_last_error(x->outs[k]));
      }
    } else {
      cf->item = f->item;
      st = frame_run_item(w, cf);
      if (st == HN_OK) frame_item_end(cf);
      for (int64_t k = 0; k < x->n_out && st == HN_OK; k++) {
        if (x->needed[k]) continue;
        st = hn_builder_append_null(x->outs[k]);
        if (st != HN_OK) st = fatal(w, st, "nested node '%s': out of memory", g->name);
      }
    }
    if (j->on_pipeline_end) emit(w, cf, j->on_pipeline_end, NULL, f->item, st, NULL);
  }
  for (int64_t k = 0; k < x->n_out && st == HN_OK; k++)
    if (x->read_out[k]) read_output(f, x, k);
  if (j->on_node_end) emit(w, f, j->on_node_end, g->name, f->item, st, NULL);
  return st;
}

static void record_free(const hn_allocator *a, record *r) {
  hn__free(a, r->path);
  hn__free(a, r->node);
  hn__free(a, r->message);
}

/* CONTINUE: keep an error record for the current item (its first failure). */
static hn_status add_record(worker *w, const frame *f) {
  const hn_allocator *a = &w->job->alloc;
  chunk *c = w->cur;
  if (c->n_recs == c->cap_recs) {
    int64_t cap = c->cap_recs ? c->cap_recs * 2 : 4;
    record *recs = hn__realloc(a, c->recs, sizeof *recs * (size_t)cap);
    if (!recs) return fatal(w, HN_ENOMEM, "out of memory recording a failed item");
    c->recs = recs;
    c->cap_recs = cap;
  }
  record r = {f->item < 0 ? 0 : f->item, hn__strdup(a, w->f_path), hn__strdup(a, w->f_node),
              hn__strdup(a, w->f_msg)};
  if (!r.path || !r.node || !r.message) {
    record_free(a, &r);
    return fatal(w, HN_ENOMEM, "out of memory recording a failed item");
  }
  c->recs[c->n_recs++] = r;
  return HN_OK;
}

/* Mark the step's outputs failed for this item: rolled back, then null. */
static hn_status null_outputs(worker *w, frame *f, xstep *x, bool roll_back) {
  for (int64_t k = 0; k < x->n_out; k++) {
    int64_t s = x->out_slots[k];
    if (roll_back) rollback(x->outs[k], f->rows[s]);
    if (hn_builder_append_null(x->outs[k]) != HN_OK)
      return fatal(w, HN_ENOMEM, "out of memory writing a null for node '%s'", x->node->name);
    f->bad[s] = 1;
  }
  return HN_OK;
}

/*
 * A step failed. Under CONTINUE (top frame) the item goes on without it:
 * its outputs become null and the steps that depend on them are skipped.
 * Otherwise the failure ends the item (and the chunk).
 */
static hn_status step_failed(worker *w, frame *f, xstep *x, hn_status st) {
  if (w->f_fatal || !f->top || w->job->x->policy != HN_ERRORS_CONTINUE) return st;
  hn_status rc = null_outputs(w, f, x, true);
  if (rc == HN_OK && !f->item_bad) {
    f->item_bad = true;
    f->item_status = st;
    rc = add_record(w, f);
  }
  return rc;
}

static bool step_blocked(const frame *f, const xstep *x) {
  for (int64_t i = 0; i < x->n_in; i++)
    if (f->bad[x->in_slots[i]]) return true;
  return false;
}

/* Run every step of the frame's plan for the current item. */
static hn_status frame_run_item(worker *w, frame *f) {
  job *j = w->job;
  int64_t *rows = f->rows;
  for (int64_t s = 0; s < f->n_steps; s++) {
    xstep *x = &f->steps[s];
    if (HN__UNLIKELY(f->item_bad) && step_blocked(f, x)) {
      hn_status rc = null_outputs(w, f, x, false);
      if (rc != HN_OK) return rc;
      continue;
    }
    hn_status st;
    if (HN__LIKELY(x->kind == XS_ROW)) {
      if (HN__UNLIKELY(j->on_node_start != NULL))
        emit(w, f, j->on_node_start, x->node->name, f->item, HN_OK, NULL);
      st = x->row(x->ud, x->in, x->outs, &w->ctx);
      if (HN__UNLIKELY(w->ctx.flags != 0)) hn__ctx_after_call(&w->ctx, st);
      if (HN__LIKELY(st == HN_OK)) {
        /* Exactly one row per output; read back what later steps consume. */
        for (int64_t k = 0; k < x->n_out; k++) {
          int64_t slot = x->out_slots[k], row = rows[slot];
          if (x->read_out[k]) {
            const hn_array *v = hn__builder_view(x->outs[k]);
            if (HN__UNLIKELY(v->length != row + 1)) {
              st = appended_wrong(w, f, x, k);
              break;
            }
            put_row(f, slot, v, row);
          } else if (HN__UNLIKELY(hn_builder_length(x->outs[k]) != row + 1)) {
            st = appended_wrong(w, f, x, k);
            break;
          }
        }
        if (HN__UNLIKELY(x->nested_out) && st == HN_OK) st = check_closed(w, f, x);
      } else {
        st = node_returned(w, f, x->node, st);
      }
      if (HN__UNLIKELY(j->on_node_end != NULL))
        emit(w, f, j->on_node_end, x->node->name, f->item, st, NULL);
    } else if (x->kind == XS_BATCH) {
      st = run_batch(w, f, x);
    } else {
      st = run_nested(w, f, x);
    }
    if (HN__UNLIKELY(st != HN_OK)) {
      st = step_failed(w, f, x, st);
      if (st != HN_OK) return st;
    }
  }
  return HN_OK;
}

/*
 * End a failed item under CONTINUE. The failing step and the steps downstream
 * of it already wrote nulls; independent branches keep what they computed.
 */
static hn_status finish_failed_item(worker *w, frame *f) {
  (void)w;
  memset(f->bad, 0, (size_t)f->n_slots);
  f->item_bad = false;
  return HN_OK;
}

/* ======================================================================== */
/* Chunks and workers                                                       */
/* ======================================================================== */

/* Set up a worker before its first chunk: frame, resources, constant inputs. */
static hn_status worker_prepare(worker *w) {
  job *j = w->job;
  const hn_plan *plan = j->plan;
  const hn__src *srcs = j->x->srcs;
  const hn_allocator *a = &j->alloc;
  const hn_type **types =
      hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *types);
  bool *res = hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *res);
  w->res = j->x->worker_res
               ? j->x->worker_res[w->index]
               : hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *w->res);
  if (!types || !res || !w->res) {
    hn__free(a, (void *)types);
    hn__free(a, res);
    return fatal(w, HN_ENOMEM, "out of memory preparing a worker");
  }
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    types[q] = srcs[q].type;
    res[q] = srcs[q].kind == HN__SRC_RESOURCE;
  }
  hn_status st = frame_create(w, plan, 0, true, types, res, NULL, &w->top);
  hn__free(a, (void *)types);
  hn__free(a, res);
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    const hn__src *src = &srcs[q];
    if (src->kind == HN__SRC_CONST) {
      put(w->top, q, src->value);
    } else if (src->kind == HN__SRC_RESOURCE) {
      w->res[q].resource = src->resource;
      st = hn__res_instance_acquire(&w->res[q], &j->res_inits, &w->ferr);
      if (st != HN_OK) {
        st = fatal_filled(w, st);
        break;
      }
      hn_datum d;
      memset(&d, 0, sizeof d);
      d.type = HN_TYPE_OBJECT;
      d.v.object = w->res[q].state;
      put(w->top, q, d);
    }
  }
  w->ready = st == HN_OK;
  return st;
}

static void worker_teardown(worker *w) {
  job *j = w->job;
  if (w->res && !j->x->worker_res) {
    for (int64_t q = 0; q < j->plan->n_inputs; q++)
      hn__res_instance_release(&w->res[q], &j->res_destroys);
    hn__free(&j->alloc, w->res);
  }
  w->res = NULL;
  frame_destroy(&j->alloc, w->top);
  w->top = NULL;
  hn__ctx_destroy(&w->ctx);
}

/* Finish the chunk's requested outputs into arrays; reset the frame for the next chunk. */
static hn_status chunk_collect(worker *w, chunk *c) {
  frame *f = w->top;
  const hn_plan *plan = f->plan;
  for (int64_t r = 0; r < plan->n_requested; r++) {
    hn_status st = hn_builder_finish(f->builders[plan->requested_slots[r]], &c->cols[r], &w->ferr);
    if (st != HN_OK) return fatal_filled(w, st);
  }
  for (int64_t k = 0; k < f->n_scratch; k++) hn__builder_truncate(f->builders[f->scratch[k]], 0);
  for (int64_t k = 0; k < f->n_bslots; k++) f->rows[f->bslots[k]] = 0;
  f->since_reset = 0;
  return HN_OK;
}

static hn_status run_chunk(worker *w, chunk *c, bool *aborted) {
  job *j = w->job;
  frame *f = w->top;
  const hn__src *srcs = j->x->srcs;
  bool zip = j->x->zip, is_map = j->x->is_map;
  w->cur = c;
  /* Room for the whole chunk up front: no regrowth copies while items run.
   * A failure here is not an error: the appends will grow (or report) it. */
  for (int64_t r = 0; r < j->plan->n_requested; r++) {
    hn_status ignored = hn_builder_reserve(f->builders[j->plan->requested_slots[r]], c->count);
    (void)ignored;
  }
  for (int64_t k = 0; k < c->count; k++) {
    int64_t row_item = c->start + k;
    int64_t item = j->x->item_base + row_item;
    if (j->threads &&
        HN__UNLIKELY(atomic_load_explicit(&j->fail_chunk, memory_order_relaxed) < c->index)) {
      *aborted = true;
      return HN_OK;
    }
    for (int64_t m = 0; m < j->n_mapped; m++) {
      const hn__src *src = &srcs[j->mapped[m]];
      int64_t row = zip ? row_item : row_item / src->stride % src->length;
      put_row(f, j->mapped[m], src->column, row);
    }
    if (is_map) {
      w->path[0] = item;
      w->path_len = 1;
      w->path_dirty = true;
      f->item = item;
    }
    if (j->on_item_start && is_map) emit(w, f, j->on_item_start, NULL, item, HN_OK, NULL);
    hn_status st = frame_run_item(w, f);
    hn_status item_st = st;
    if (st == HN_OK && f->item_bad) {
      item_st = f->item_status;
      st = finish_failed_item(w, f);
    }
    if (j->on_item_end && is_map) emit(w, f, j->on_item_end, NULL, item, item_st, NULL);
    if (st != HN_OK) return st;
    frame_item_end(f);
  }
  return chunk_collect(w, c);
}

/* The failure of a chunk: the lowest chunk index wins. */
static void job_fail(job *j, int64_t index, hn_status st, const hn_error *e) {
  pthread_mutex_lock(&j->mu);
  if (index < atomic_load(&j->fail_chunk)) {
    atomic_store(&j->fail_chunk, index);
    j->fail_status = st;
    j->fail_err = *e;
  }
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

/* The error a worker's failure reports to the caller. */
static void worker_error(worker *w, hn_status st, hn_error *e) {
  if (w->f_fatal) {
    *e = w->ferr;
    e->code = st;
    return;
  }
  if (w->f_path[0])
    hn__error(e, w->f_code, "node '%s' failed on item %s: %s", w->f_node, w->f_path, w->f_msg);
  else
    hn__error(e, w->f_code, "node '%s' failed: %s", w->f_node, w->f_msg);
  hn__error_set_node(e, w->f_node);
  copy_str(e->item_path, sizeof e->item_path, w->f_path);
}

static chunk *claim(job *j) {
  pthread_mutex_lock(&j->mu);
  chunk *c = NULL;
  for (;;) {
    if (atomic_load(&j->fail_chunk) != INT64_MAX || j->next_item >= j->n_items) goto out;
    if (j->n_chunks < j->lowest_undone + j->window) break;
    pthread_cond_wait(&j->cv, &j->mu);
  }
  hn_error e;
  hn_error_reset(&e);
  if (j->n_chunks == j->cap_chunks) {
    int64_t cap = j->cap_chunks ? j->cap_chunks * 2 : 16;
    chunk **chunks = hn__realloc(&j->alloc, j->chunks, sizeof *chunks * (size_t)cap);
    if (!chunks) goto nomem;
    j->chunks = chunks;
    j->cap_chunks = cap;
  }
  c = hn__calloc(&j->alloc, 1, sizeof *c);
  if (c)
    c->cols = hn__calloc(&j->alloc, (size_t)(j->plan->n_requested ? j->plan->n_requested : 1),
                         sizeof *c->cols);
  if (!c || !c->cols) {
    if (c) hn__free(&j->alloc, c);
    c = NULL;
    goto nomem;
  }
  int64_t left = j->n_items - j->next_item;
  c->index = j->n_chunks;
  c->start = j->next_item;
  c->count = j->chunk_size < left ? j->chunk_size : left;
  j->chunks[j->n_chunks++] = c;
  j->next_item += c->count;
  goto out;
nomem:
  hn__error_nomem(&e, "scheduling a chunk");
  if (j->n_chunks < atomic_load(&j->fail_chunk)) {
    atomic_store(&j->fail_chunk, j->n_chunks);
    j->fail_status = HN_ENOMEM;
    j->fail_err = e;
  }
  pthread_cond_broadcast(&j->cv);
out:
  pthread_mutex_unlock(&j->mu);
  return c;
}

static void complete(job *j, chunk *c, double ns) {
  pthread_mutex_lock(&j->mu);
  c->done = true;
  while (j->lowest_undone < j->n_chunks && j->chunks[j->lowest_undone]->done) j->lowest_undone++;
  if (j->auto_size && ns >= 0) {
    j->ns_total += ns;
    j->items_timed += c->count;
    double per_item = j->ns_total / (double)j->items_timed;
    double size = per_item > 0 ? HN__TARGET_CHUNK_NS / per_item : (double)j->size_cap;
    if (size > (double)j->size_cap) size = (double)j->size_cap;
    j->chunk_size = size < 1 ? 1 : (int64_t)size;
  }
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

static void worker_main(void *arg, int index) {
  job *j = arg;
  worker *w = &j->workers[index];
  chunk *c;
  while ((c = claim(j)) != NULL) {
    bool aborted = false;
    hn_status st = w->ready ? HN_OK : worker_prepare(w);
    double t0 = now_ns();
    if (st == HN_OK) {
      w->ran = true;
      st = run_chunk(w, c, &aborted);
    }
    double ns = st == HN_OK && !aborted ? now_ns() - t0 : -1;
    if (st != HN_OK) {
      hn_error e;
      hn_error_reset(&e);
      worker_error(w, st, &e);
      job_fail(j, c->index, st, &e);
    }
    complete(j, c, ns);
    if (st != HN_OK || aborted) break;
  }
  worker_teardown(w);
}

/* ======================================================================== */
/* Results                                                                  */
/* ======================================================================== */

static hn_status build_errors(job *j, int64_t n_recs, hn_table **out, hn_error *err) {
  hn__errors_builder eb;
  hn__errors_begin(&eb, &j->alloc, n_recs);
  for (int64_t k = 0; k < j->n_chunks; k++) {
    const chunk *c = j->chunks[k];
    for (int64_t r = 0; r < c->n_recs; r++) {
      const record *rec = &c->recs[r];
      hn__errors_add(&eb, rec->item, rec->path, rec->node, rec->message);
    }
  }
  return hn__errors_finish(&eb, n_recs, out, err);
}

static hn_status assemble(job *j, hn_error *err) {
  hn__exec *x = j->x;
  const hn_plan *plan = j->plan;
  hn_array *local[64];
  hn_array **parts = local;
  if (j->n_chunks > 64) {
    parts = hn__calloc(&j->alloc, (size_t)j->n_chunks, sizeof *parts);
    if (!parts) return hn__error_nomem(err, "assembling the result");
  }
  hn_status st = HN_OK;
  int64_t r = 0;
  for (; r < plan->n_requested && st == HN_OK; r++) {
    for (int64_t k = 0; k < j->n_chunks; k++) parts[k] = j->chunks[k]->cols[r];
    st = hn__array_concat(&j->alloc, plan->slot_types[plan->requested_slots[r]], j->n_chunks, parts,
                          true, &x->columns[r], err);
    if (st != HN_OK) break;
  }
  if (parts != local) hn__free(&j->alloc, parts);
  int64_t n_recs = 0;
  for (int64_t k = 0; k < j->n_chunks; k++) n_recs += j->chunks[k]->n_recs;
  x->errors = NULL;
  if (st == HN_OK && n_recs > 0) st = build_errors(j, n_recs, &x->errors, err);
  if (st != HN_OK) {
    for (int64_t i = 0; i < r; i++) {
      hn_array_release(x->columns[i]);
      x->columns[i] = NULL;
    }
    return st;
  }
  x->stats.n_failed = n_recs;
  return HN_OK;
}

/* ======================================================================== */
/* Entry                                                                    */
/* ======================================================================== */

static void job_free(job *j) {
  const hn_allocator *a = &j->alloc;
  for (int64_t k = 0; k < j->n_chunks; k++) {
    chunk *c = j->chunks[k];
    for (int64_t r = 0; r < j->plan->n_requested; r++) hn_array_release(c->cols[r]);
    for (int64_t i = 0; i < c->n_recs; i++) record_free(a, &c->recs[i]);
    hn__free(a, c->recs);
    hn__free(a, c->cols);
    hn__free(a, c);
  }
  hn__free(a, j->chunks);
  for (int i = 0; j->workers && i < j->n_workers; i++) hn__free(a, j->workers[i].path);
  hn__free(a, j->workers);
  hn__free(a, j->mapped);
}

static void job_callbacks(job *j, const hn_callbacks *cb) {
  if (!cb) return;
  j->cb_ud = cb->user_data;
  j->on_item_start = cb->on_item_start;
  j->on_item_end = cb->on_item_end;
  j->on_node_start = cb->on_node_start;
  j->on_node_end = cb->on_node_end;
  j->on_error = cb->on_error;
  j->on_pipeline_start = cb->on_pipeline_start;
  j->on_pipeline_end = cb->on_pipeline_end;
}

static hn_status job_init(job *j, hn__exec *x, hn_error *err) {
  hn_engine *e = x->engine;
  const hn_allocator *a = &x->alloc;
  const hn_plan *plan = x->plan;
  memset(j, 0, sizeof *j);
  j->x = x;
  j->plan = plan;
  j->alloc = x->alloc;
  j->n_items = x->n_items;
  j->threads = e->kind == HN_ENGINE_THREADS && e->n_threads > 0;
  j->n_workers = j->threads ? e->n_threads : 1;
  j->max_depth = plan_depth(plan);
  job_callbacks(j, x->cb);
  atomic_init(&j->fail_chunk, INT64_MAX);
  atomic_init(&j->res_inits, 0);
  atomic_init(&j->res_destroys, 0);
  j->window = (int64_t)HN__WINDOW_PER_WORKER * j->n_workers;
  if (!j->threads) {
    j->chunk_size = j->n_items;
  } else if (e->chunk_size > 0) {
    j->chunk_size = e->chunk_size;
  } else {
    j->auto_size = true;
    j->size_cap = j->n_items / (4 * (int64_t)j->n_workers);
    if (j->size_cap < 1) j->size_cap = 1;
    j->chunk_size = j->size_cap < HN__FIRST_CHUNK ? j->size_cap : HN__FIRST_CHUNK;
  }
  j->mapped = hn__calloc(a, (size_t)(plan->n_inputs ? plan->n_inputs : 1), sizeof *j->mapped);
  j->workers = hn__calloc(a, (size_t)j->n_workers, sizeof *j->workers);
  if (!j->mapped || !j->workers) return hn__error_nomem(err, "starting a run");
  for (int64_t q = 0; q < plan->n_inputs; q++)
    if (x->srcs[q].kind == HN__SRC_MAPPED) j->mapped[j->n_mapped++] = q;
  for (int i = 0; i < j->n_workers; i++) {
    worker *w = &j->workers[i];
    w->job = j;
    w->index = i;
    hn__ctx_init(&w->ctx, a, i);
    hn_error_reset(&w->ferr);
    w->path = hn__calloc(a, (size_t)j->max_depth + 1, sizeof *w->path);
    if (!w->path) return hn__error_nomem(err, "starting a run");
  }
  return HN_OK;
}

hn_status hn__execute(hn__exec *x, hn_error *err) {
  job j;
  hn_status st = job_init(&j, x, err);
  if (st != HN_OK) {
    job_free(&j);
    return st;
  }
  if (pthread_mutex_init(&j.mu, NULL) != 0) {
    job_free(&j);
    return hn__error(err, HN_ENOMEM, "pthread_mutex_init failed");
  }
  if (pthread_cond_init(&j.cv, NULL) != 0) {
    pthread_mutex_destroy(&j.mu);
    job_free(&j);
    return hn__error(err, HN_ENOMEM, "pthread_cond_init failed");
  }
  hn__engine_run_workers(x->engine, worker_main, &j);
  pthread_cond_destroy(&j.cv);
  pthread_mutex_destroy(&j.mu);
  x->stats.n_items = x->n_items;
  x->stats.resource_inits = atomic_load(&j.res_inits);
  x->stats.resource_destroys = atomic_load(&j.res_destroys);
  x->stats.workers = 0;
  for (int i = 0; i < j.n_workers; i++) x->stats.workers += j.workers[i].ran ? 1 : 0;
  if (atomic_load(&j.fail_chunk) != INT64_MAX) {
    st = j.fail_status;
    if (err) *err = j.fail_err;
  } else {
    st = assemble(&j, err);
  }
  job_free(&j);
  return st;
}
