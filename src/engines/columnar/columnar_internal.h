/*
 * Internal contract of the columnar engine's files: a morsel's column
 * values, the levels a plan is evaluated at (the top morsel, nested
 * calls), workers and the job. levels.c: failures, item paths and events;
 * calls.c: node calls (rows, batch, isolation); eval.c: a plan over a
 * level's rows; nested.c: nested pipelines by offsets; columnar.c: morsels,
 * workers and the engine. Not installed; symbols use hn__col_.
 */
#ifndef HN_ENGINES_COLUMNAR_INTERNAL_H
#define HN_ENGINES_COLUMNAR_INTERNAL_H

#include "columnar.h"

/* A slot's value in a morsel: a column of n rows, or a scalar (row 0). */
typedef struct cval {
  hn_array *arr; /* owned reference, NULL when not computed */
  bool scalar;
  uint8_t *bad; /* per row: failed or skipped (NULL: none) */
} cval;

/* One plan being evaluated over n rows: the top morsel or a nested call. */
typedef struct lvl {
  const struct lvl *parent;
  const int64_t *prow;  /* per row: the parent's row (NULL at the top) */
  const int64_t *local; /* mapped nested: per row its index in its list */
  int depth;
  const char *pipeline;
  int64_t base; /* top: global index of row 0 */
  int64_t n;
  uint8_t *failed;   /* per row: 0, or the code of its first failure (lazily allocated) */
  hn__records fails; /* the rows' first failures (record item: the row) */
} lvl;

typedef struct morsel {
  int64_t start, count;
  hn_array **cols;   /* per requested output */
  hn__records fails; /* top rows' failures, sorted by row */
  bool done;
} morsel;

struct cjob;

typedef struct cworker {
  struct cjob *job;
  int index;
  hn_ctx ctx;
  hn__res_instance *res; /* per plan input */
  hn_array **res_arr;    /* per plan input: the instance as a one-row object array */
  bool ready, ran;
  char pbuf[HN_ERROR_PATH_MAX];
  hn_error ferr; /* a fatal failure */
  int attempt;   /* event.attempt while a guarded call's events fire */
} cworker;

typedef struct cjob {
  hn__call *x;
  const hn_plan *plan;
  hn_allocator alloc;
  int64_t n_items, morsel_size, n_morsels;
  morsel *morsels;
  cval *consts; /* per plan input: CONST inputs as scalars */
  int n_workers;
  cworker *workers;
  hn__events ev; /* the caller's callbacks */
  _Atomic int64_t next;
  _Atomic int64_t fail_morsel; /* lowest morsel that failed (INT64_MAX: none) */
  pthread_mutex_t mu;
  hn_status fail_status;
  hn_error fail_err;
  int64_t fail_index;
  _Atomic int64_t res_inits, res_destroys;
  /* A run (one item): its morsel runs on the calling thread, and the pool's
   * threads take the rows of its heavy row calls (rows_parallel.c). */
  hn__pool *helpers;
  hn__guard *guard; /* NULL when no node is guarded */
} cjob;

#define NEWA(p, n) ((p) = hn__calloc(a, (size_t)(n) > 0 ? (size_t)(n) : 1, sizeof *(p)))

/*
 * A call of one plain node over m rows (scalar: one call for every row).
 * `rows` maps call row j to the level's row (NULL: j); in scalar mode a
 * failure is every row of `rows` (n_rows of them).
 */
typedef struct ncall {
  const hn_plan_step *ps;
  const hn_type *const *out_types;
  const cval *in;
  int64_t m;
  bool scalar;
  const int64_t *rows;
  int64_t n_rows;
  hn_array **out; /* per output, m rows (1 when scalar) */
  uint8_t *fail;  /* per call row: failed (allocated on the first failure) */
} ncall;

/* ---- levels.c --------------------------------------------------------------------- */

/* Record a fatal failure of the worker (w->ferr keeps the first message); returns st. */
hn_status hn__col_fatal(cworker *w, hn_status st);
/* Fire fn for row `row` of L (-1: not about a row) with n_rows rows, and its time. */
void hn__col_emit(cworker *w, const lvl *L, hn_callback fn, const char *node, int64_t row,
                  int64_t n_rows, hn_status st, const char *message, int64_t start_ns,
                  int64_t duration_ns);
/* A timed node call over n_rows rows of L starts: returns the clock; fires fn when set. */
int64_t hn__col_begin(cworker *w, const lvl *L, hn_callback fn, const char *node, int64_t n_rows);
/* It ends: fires fn (when set) with the time since t0. */
void hn__col_end(cworker *w, const lvl *L, hn_callback fn, const char *node, int64_t n_rows,
                 hn_status st, int64_t t0);
/*
 * A pipeline, map or chunk event of L (when fn is set): n_items items from
 * `item` (-1: not about an item), for n_rows outer rows.
 */
void hn__col_span(cworker *w, const lvl *L, hn_callback fn, int64_t item, int64_t n_items,
                  int64_t n_rows, hn_status st, int64_t start_ns, int64_t duration_ns);
/* Item events for rows [0, n) of L, all with the same time (they run together). */
void hn__col_items(cworker *w, const lvl *L, hn_callback fn, int64_t n, int64_t start_ns,
                   int64_t duration_ns);
/*
 * Row r of L failed at `node`. The first failure of a row is kept (path NULL:
 * the row's own path; else the path of an inner failure).
 */
hn_status hn__col_row_failed(cworker *w, lvl *L, int64_t r, const char *node, hn_status code,
                             const char *msg, const char *path);
/* The same with the node's attempts and every attempt's message (NULL: just msg). */
hn_status hn__col_row_failed_attempts(cworker *w, lvl *L, int64_t r, const char *node,
                                      hn_status code, const char *msg, const char *path,
                                      int64_t attempts, const char *messages);
void hn__col_lvl_free(const hn_allocator *a, lvl *L);

/* ---- calls.c ------------------------------------------------------------------------ */

/* The row function over the call's rows, appending into one builder per output. */
hn_status hn__col_call_rows(cworker *w, lvl *L, ncall *c);
/* The batch function over the call's rows; failing rows found by the row function or one by one. */
hn_status hn__col_call_batch(cworker *w, lvl *L, ncall *c);
/* Call row j of c failed (every row when scalar), after `attempts` attempts (`messages`:
 * every attempt's, or NULL): a null already in its outputs; recorded for the level's row(s). */
hn_status hn__col_call_fail(cworker *w, lvl *L, ncall *c, int64_t j, hn_status code,
                            const char *msg, int64_t attempts, const char *messages);
/* A guarded node (guarded.c): retries, timeouts, limits; io rows spread over the I/O pool. */
hn_status hn__col_call_guarded(cworker *w, lvl *L, ncall *c);

/* ---- rows_parallel.c ------------------------------------------------------------------ */

#define HN__COL_SPREAD_AFTER_NS 100000 /* a run's row call is timed this long here... */
#define HN__COL_SPREAD_MIN_NS 1000000  /* ...and spread when this much work is left */

/* Whether the rows of call c may be spread over the pool (a run; no objects). */
bool hn__col_rows_spreadable(const cworker *w, const ncall *c);
/* Whether the rows left promise enough work, `done` of `m` rows having taken since t_start. */
bool hn__col_rows_worth(int64_t t_start, int64_t done, int64_t m);
/*
 * Rows [r0, c->m) on the pool, appended to b in order; their failures
 * recorded in row order (*end_st: the last one's code). Returns HN_OK or an
 * engine failure.
 */
hn_status hn__col_rows_spread(cworker *w, lvl *L, ncall *c, hn_builder **b, int64_t r0,
                              hn_status *end_st);

/* ---- eval.c -------------------------------------------------------------------------- */

void hn__col_cval_clear(const hn_allocator *a, cval *v);
/*
 * Evaluate the plan over L->n rows. slots[0, n_inputs) are set by the
 * caller; on HN_OK the requested slots hold their values (every other slot
 * has been released). The caller clears every slot.
 */
hn_status hn__col_eval(cworker *w, const hn_plan *plan, lvl *L, cval *slots);

/* ---- nested.c ------------------------------------------------------------------------ */

/*
 * A nested step over m call rows (rows: the level's row of each, NULL:
 * identity): outputs in out[k] (m rows each); *fail (allocated, m entries)
 * when some rows failed, else NULL.
 */
hn_status hn__col_run_nested(cworker *w, const hn_plan *plan, lvl *L, const hn_plan_step *ps,
                             const cval *in, int64_t m, const int64_t *rows, hn_array **out,
                             uint8_t **fail);
/* An inner output of T rows (a scalar expanded) as a column. */
hn_status hn__col_expand(cworker *w, const hn_type *t, cval *v, int64_t T, hn_array **out);

#endif /* HN_ENGINES_COLUMNAR_INTERNAL_H */
