/*
 * The measurement loop of `hypernodes bench`: per scenario, the native
 * baselines first (they give the reference checksum), then every engine in
 * every requested return format, each timed over warm-up + repeats runs and
 * each run's outputs checked against the reference.
 *
 * What is timed for an engine: the map (or run) plus handing the result
 * back in the requested form: the table as is; an Arrow C stream exported
 * and its schema and every batch received; rows materialised. Importing
 * and hashing the outputs afterwards is not timed. Freed memory stays mapped (mallopt), so
 * that engines and native loops alike write to mapped pages.
 */
#define _POSIX_C_SOURCE 200809L
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static const char *const k_strategy_names[] = {"auto", "row", "column"};

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static const char *engine_name(int code) {
  return code == BENCH_NATIVE ? "native" : hn_engine_kind_name((hn_engine_kind)code);
}

/* ---- metrics --------------------------------------------------------------- */

static bench_metric *metric_add(bench_scenario_result *sr, const char *key, int repeats) {
  bench_metric *m = &sr->metrics[sr->n_metrics++];
  memset(m, 0, sizeof *m);
  snprintf(m->key, sizeof m->key, "%s", key);
  m->available = true;
  m->matches = true;
  m->durations = bench_xmalloc(sizeof(double) * (size_t)repeats);
  return m;
}

static void metric_unavailable(bench_metric *m, const char *reason, bool failed) {
  m->available = false;
  m->failed = failed;
  m->n = 0;
  snprintf(m->reason, sizeof m->reason, "%s", reason);
}

static void metric_summarise(bench_metric *m) {
  if (!m->available || m->n == 0) return;
  double *sorted = bench_xmalloc(sizeof(double) * (size_t)m->n);
  memcpy(sorted, m->durations, sizeof(double) * (size_t)m->n);
  qsort(sorted, (size_t)m->n, sizeof *sorted, cmp_double);
  int n = m->n;
  m->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  m->best = sorted[0];
  m->worst = sorted[n - 1];
  free(sorted);
}

/* Record one run's check; the first mismatch is kept and printed. */
static void metric_check(bench_metric *m, const char *scenario, const bench_checksum *want,
                         const bench_checksum *got) {
  char msg[sizeof m->mismatch];
  m->checked = true;
  if (bench_checksum_compare(want, got, msg, sizeof msg) || !m->matches) return;
  m->matches = false;
  snprintf(m->mismatch, sizeof m->mismatch, "%s", msg);
  fprintf(stderr, "hypernodes bench: %s: %s: result differs from native: %s\n", scenario, m->key,
          msg);
}

/* ---- hashing results ------------------------------------------------------- */

/* Hash the rows of t into rows [at, at + rows of t) of cs. */
static void hash_table_at(const bench_scenario *s, const hn_table *t, bench_checksum *cs,
                          int64_t at) {
  for (int j = 0; j < s->n_outputs; j++) {
    const hn_array *col = hn_table_column_by_name(t, s->outputs[j]);
    if (!col) continue; /* left at 0: every row differs, and the column is named */
    for (int64_t i = 0; i < hn_table_num_rows(t) && at + i < cs->n_rows; i++)
      cs->rows[j][at + i] = bench_hash_datum(hn_array_get(col, i));
  }
}

static void hash_table(const bench_scenario *s, const hn_table *t, bench_checksum *cs) {
  bench_checksum_init(cs, s, hn_table_num_rows(t));
  hash_table_at(s, t, cs, 0);
}

static void hash_rows(const bench_scenario *s, const hn_rows *rows, bench_checksum *cs) {
  bench_checksum_init(cs, s, hn_rows_num_rows(rows));
  for (int j = 0; j < s->n_outputs; j++) {
    int64_t col = -1;
    for (int64_t k = 0; k < hn_rows_num_columns(rows); k++)
      if (strcmp(hn_rows_column_name(rows, k), s->outputs[j]) == 0) col = k;
    if (col < 0) continue;
    for (int64_t i = 0; i < cs->n_rows; i++)
      cs->rows[j][i] = bench_hash_datum(hn_rows_get(rows, i, col));
  }
}

/* ---- one engine run -------------------------------------------------------- */

static hn_status stream_status(int rc, struct ArrowArrayStream *stream, hn_error *err) {
  if (rc == 0) return HN_OK;
  const char *msg = stream->get_last_error ? stream->get_last_error(stream) : NULL;
  if (err) {
    err->code = HN_EIO;
    snprintf(err->message, sizeof err->message, "Arrow stream error %d: %s", rc,
             msg ? msg : "(no message)");
  }
  return HN_EIO;
}

/* The record batches received from an Arrow stream, in order. */
typedef struct batch_list {
  struct ArrowArray *items;
  int64_t n, cap;
} batch_list;

/* Receive every batch of the stream (a chunked result has one per chunk). */
static hn_status receive_batches(struct ArrowArrayStream *stream, batch_list *b, hn_error *err) {
  for (;;) {
    if (b->n == b->cap) {
      b->cap = b->cap ? 2 * b->cap : 8;
      b->items = bench_xrealloc(b->items, sizeof *b->items * (size_t)b->cap);
    }
    struct ArrowArray *a = &b->items[b->n];
    memset(a, 0, sizeof *a);
    hn_status st = stream_status(stream->get_next(stream, a), stream, err);
    if (st != HN_OK || !a->release) return st; /* released: the end of the stream */
    b->n++;
  }
}

static void batch_list_free(batch_list *b) {
  for (int64_t i = 0; i < b->n; i++)
    if (b->items[i].release) b->items[i].release(&b->items[i]);
  free(b->items);
}

/* Import every batch and hash its rows at their place in item order. */
static hn_status hash_batches(const bench_scenario *s, struct ArrowSchema *schema, batch_list *b,
                              bench_checksum *cs, hn_error *err) {
  if (b->n == 0) {
    if (err) snprintf(err->message, sizeof err->message, "the Arrow stream gave no batch");
    return HN_EIO;
  }
  int64_t rows = 0, at = 0;
  for (int64_t i = 0; i < b->n; i++) rows += b->items[i].length;
  bench_checksum_init(cs, s, rows);
  hn_import_options io;
  hn_import_options_init(&io, sizeof io);
  for (int64_t i = 0; i < b->n; i++) {
    hn_table *t = NULL;
    hn_status st = hn_table_import(NULL, schema, &b->items[i], &io, &t, err); /* consumes it */
    if (st != HN_OK) {
      bench_checksum_free(cs);
      return st;
    }
    hash_table_at(s, t, cs, at);
    at += hn_table_num_rows(t);
    hn_table_release(t);
  }
  return HN_OK;
}

/* The observers' callbacks for every run (NULL: none). */
static const hn_callbacks *g_callbacks;

/*
 * Run p on e once (with `cache` when not NULL); time the run and the
 * hand-back of the result; hash the outputs into cs.
 */
static hn_status run_once(const bench_scenario *s, bench_case *c, hn_pipeline *p, hn_engine *e,
                          hn_cache *cache, bench_format fmt, hn_materialize strategy, double *secs,
                          bench_checksum *cs, hn_error *err) {
  hn_run_options ro = {.size = sizeof ro, .cache = cache};
  ro.n_outputs = s->n_outputs;
  ro.outputs = s->outputs;
  ro.callbacks = g_callbacks;
  if (s->map) {
    ro.n_map_over = 1;
    ro.map_over = &s->map_over;
  }
  hn_result *res = NULL;
  hn_rows *rows = NULL;
  struct ArrowArrayStream stream;
  struct ArrowSchema schema;
  batch_list batches = {NULL, 0, 0};
  memset(&stream, 0, sizeof stream);
  memset(&schema, 0, sizeof schema);

  double t0 = now_s();
  hn_status st = s->map ? hn_pipeline_map(p, e, c->inputs, &ro, &res, err)
                        : hn_pipeline_run(p, e, c->inputs, &ro, &res, err);
  if (st == HN_OK && fmt == BENCH_ARROW) {
    st = hn_result_export_stream(res, &stream, err);
    if (st == HN_OK) st = stream_status(stream.get_schema(&stream, &schema), &stream, err);
    if (st == HN_OK) st = receive_batches(&stream, &batches, err);
  }
  if (st == HN_OK && fmt == BENCH_ROWS) st = hn_result_rows(res, strategy, &rows, err);
  *secs = now_s() - t0;

  if (st == HN_OK) {
    if (fmt == BENCH_TABLE) {
      hash_table(s, hn_result_table(res), cs);
    } else if (fmt == BENCH_ROWS) {
      hash_rows(s, rows, cs);
    } else {
      st = hash_batches(s, &schema, &batches, cs, err);
    }
  }
  batch_list_free(&batches);
  if (schema.release) schema.release(&schema);
  if (stream.release) stream.release(&stream);
  hn_rows_destroy(rows);
  hn_result_destroy(res);
  return st;
}

/* ---- one scenario ---------------------------------------------------------- */

typedef struct engine_slot {
  int code;
  hn_engine *engine; /* NULL: unavailable */
  char reason[HN_ERROR_MESSAGE_MAX];
} engine_slot;

static void time_natives(const bench_options *o, const bench_scenario *s, bench_case *c,
                         const bench_checksum *ref, bench_scenario_result *sr) {
  static const char *const keys[] = {"native", "native_vectorised"};
  for (int v = 0; v < s->n_natives; v++) {
    bench_metric *m = metric_add(sr, keys[v], o->repeats);
    m->native = true;
    for (int r = -o->warmup; r < o->repeats; r++) {
      double t0 = now_s();
      s->native_run(c, v);
      double t = now_s() - t0;
      bench_checksum cs;
      s->native_checksum(c, &cs);
      if (r >= 0) m->durations[m->n++] = t;
      metric_check(m, s->name, ref, &cs);
      bench_checksum_free(&cs);
    }
    metric_summarise(m);
  }
}

/* Ranks other than 0 of an mpi run only serve the mpi engine's maps. */
static bool g_serving;

static int time_engine(const bench_options *o, const bench_scenario *s, bench_case *c,
                       const bench_checksum *ref, const engine_slot *slot,
                       bench_scenario_result *sr) {
  int bad = 0;
  for (int f = 0; f < 3; f++) {
    if (!o->formats[f]) continue;
    for (int k = 0; k < 3; k++) {
      if (f == BENCH_ROWS ? !o->strategies[k] : k != 0) continue;
      char key[48];
      if (f == BENCH_TABLE)
        snprintf(key, sizeof key, "%s", engine_name(slot->code));
      else if (f == BENCH_ARROW)
        snprintf(key, sizeof key, "%s/arrow", engine_name(slot->code));
      else
        snprintf(key, sizeof key, "%s/rows/%s", engine_name(slot->code), k_strategy_names[k]);
      bench_metric *m = metric_add(sr, key, o->repeats);
      if (!slot->engine) {
        metric_unavailable(m, slot->reason, false);
        continue;
      }
      hn_pipeline *p = (o->fault_engine == slot->code && c->faulty) ? c->faulty : c->pipeline;
      for (int r = -o->warmup; r < o->repeats; r++) {
        hn_error err;
        hn_error_reset(&err);
        bench_checksum cs;
        memset(&cs, 0, sizeof cs);
        double t = 0;
        hn_status st = run_once(s, c, p, slot->engine, NULL, (bench_format)f, (hn_materialize)k, &t,
                                &cs, &err);
        if (st == HN_EUNSUPPORTED) {
          metric_unavailable(m, err.message, false);
          break;
        }
        if (st != HN_OK) {
          char why[sizeof m->reason];
          snprintf(why, sizeof why, "%s: %s", hn_status_str(st), err.message);
          metric_unavailable(m, why, true);
          fprintf(stderr, "hypernodes bench: %s: %s: %s\n", s->name, key, why);
          bad = 1;
          break;
        }
        if (r >= 0) m->durations[m->n++] = t;
        if (!g_serving) metric_check(m, s->name, ref, &cs);
        bench_checksum_free(&cs);
      }
      metric_summarise(m);
      if (m->available && !m->matches && !g_serving) bad = 1;
    }
  }
  return bad;
}

/*
 * With --cache: the engine's cold row (the cache emptied before each run,
 * untimed) and warm row (after a cold run, every result found). Table
 * format; checked against native like every row.
 */
static int time_cached(const bench_options *o, const bench_scenario *s, bench_case *c,
                       const bench_checksum *ref, const engine_slot *slot, hn_cache *cache,
                       bench_scenario_result *sr) {
  int bad = 0;
  for (int warm = 0; warm < 2; warm++) {
    char key[48];
    snprintf(key, sizeof key, "%s/cache-%s", engine_name(slot->code), warm ? "warm" : "cold");
    bench_metric *m = metric_add(sr, key, o->repeats);
    if (!slot->engine || !cache) {
      metric_unavailable(m, slot->engine ? "the cache could not be opened" : slot->reason, false);
      continue;
    }
    for (int r = -o->warmup - warm; r < o->repeats; r++) {
      hn_error err;
      hn_error_reset(&err);
      hn_status st = HN_OK;
      if (!warm || r == -o->warmup - 1) st = hn_cache_clear(NULL, hn_cache_dir(cache), &err);
      if (st == HN_ENOTFOUND) st = HN_OK; /* nothing written yet */
      bench_checksum cs;
      memset(&cs, 0, sizeof cs);
      double t = 0;
      if (st == HN_OK)
        st = run_once(s, c, c->pipeline, slot->engine, cache, BENCH_TABLE, HN_MATERIALIZE_AUTO, &t,
                      &cs, &err);
      if (st == HN_EUNSUPPORTED) {
        metric_unavailable(m, err.message, false);
        break;
      }
      if (st != HN_OK) {
        char why[sizeof m->reason];
        snprintf(why, sizeof why, "%s: %s", hn_status_str(st), err.message);
        metric_unavailable(m, why, true);
        fprintf(stderr, "hypernodes bench: %s: %s: %s\n", s->name, key, why);
        bad = 1;
        break;
      }
      if (r >= 0) m->durations[m->n++] = t;
      if (!g_serving) metric_check(m, s->name, ref, &cs);
      bench_checksum_free(&cs);
    }
    metric_summarise(m);
    if (m->available && !m->matches && !g_serving) bad = 1;
  }
  return bad;
}

/* Ratios to the per-item native loop, and ns per node call for the overhead chain. */
static void add_ratios(const bench_scenario *s, bench_scenario_result *sr) {
  const bench_metric *native = NULL;
  for (int i = 0; i < sr->n_metrics; i++)
    if (strcmp(sr->metrics[i].key, "native") == 0 && sr->metrics[i].available)
      native = &sr->metrics[i];
  if (!native || native->median <= 0) return;
  for (int i = 0; i < sr->n_metrics; i++) {
    bench_metric *m = &sr->metrics[i];
    if (!m->available || m->n == 0) continue;
    m->has_ratio = true;
    m->ratio = m->median / native->median;
    if (s->calls_per_item > 0 && sr->n_items > 0 && !m->native) {
      m->has_ns_per_call = true;
      m->ns_per_call =
          (m->median - native->median) * 1e9 / ((double)sr->n_items * (double)s->calls_per_item);
    }
  }
}

static int run_scenario(const bench_options *o, const bench_scenario *s, const engine_slot *slots,
                        int n_slots, hn_cache *cache, bench_scenario_result *sr) {
  int64_t n = o->items;
  if (s->max_items > 0 && n > s->max_items) n = s->max_items;
  memset(sr, 0, sizeof *sr);
  sr->scenario = s;
  sr->n_items = n;
  hn_error err;
  hn_error_reset(&err);
  bench_case *c = NULL;
  hn_status st = s->create(n, o->fault_engine >= 0, &c, &err);
  if (st != HN_OK) {
    fprintf(stderr, "hypernodes bench: %s: setting up failed: %s: %s\n", s->name, hn_status_str(st),
            err.message);
    return 1;
  }
  /* The reference: the per-item native loop, run once untimed (also with --skip-native). */
  bench_checksum ref;
  memset(&ref, 0, sizeof ref);
  if (!g_serving) {
    s->native_run(c, 0);
    s->native_checksum(c, &ref);
  }

  int bad = 0;
  for (int i = 0; i < n_slots; i++) {
    if (g_serving && slots[i].code != HN_ENGINE_MPI) continue;
    if (slots[i].code == BENCH_NATIVE) {
      if (!o->skip_native) time_natives(o, s, c, &ref, sr);
    } else {
      bad |= time_engine(o, s, c, &ref, &slots[i], sr);
      if (o->cache_dir) bad |= time_cached(o, s, c, &ref, &slots[i], cache, sr);
    }
  }
  for (int i = 0; i < sr->n_metrics; i++)
    if (sr->metrics[i].native && !sr->metrics[i].matches) bad = 1;
  add_ratios(s, sr);
  if (!g_serving) bench_checksum_free(&ref);
  s->destroy(c);
  return bad;
}

/* ---- the whole run --------------------------------------------------------- */

int bench_run(const bench_options *o, bench_report *r) {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, -1);
  memset(r, 0, sizeof *r);
  r->scale = o->scale;
  r->items = o->items;
  r->repeats = o->repeats;
  r->warmup = o->warmup;
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  r->threads = o->threads > 0 ? o->threads : (int)(cores > 0 ? cores : 1);

  g_serving = bench_launcher_rank() > 0;
  int n_scenarios = o->n_scenarios;
  engine_slot slots[BENCH_MAX_ENGINES];
  int n_slots = 0;
  /* Natives first: the tables read top-down from the physical limit. */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < o->n_engines; i++) {
      if ((o->engines[i] == BENCH_NATIVE) != (pass == 0)) continue;
      engine_slot *sl = &slots[n_slots++];
      memset(sl, 0, sizeof *sl);
      sl->code = o->engines[i];
      if (sl->code == BENCH_NATIVE) continue;
      if (g_serving && sl->code != HN_ENGINE_MPI) continue;
      hn_engine_options eo = {.size = sizeof eo};
      eo.kind = (hn_engine_kind)sl->code;
      eo.workers = sl->code == HN_ENGINE_SEQUENTIAL ? 0 : o->threads;
      hn_error err;
      hn_error_reset(&err);
      if (hn_engine_create(NULL, &eo, &sl->engine, &err) != HN_OK) {
        sl->engine = NULL;
        snprintf(sl->reason, sizeof sl->reason, "%s", err.message);
      } else if (sl->code == HN_ENGINE_THREADS) {
        r->threads = hn_engine_workers(sl->engine);
      }
    }

  bench_observers *obs = NULL;
  int bad = 0;
  hn_cache *cache = NULL;
  if (o->cache_dir && !g_serving) {
    hn_error err;
    if (hn_cache_open(NULL, o->cache_dir, NULL, &cache, &err) != HN_OK) {
      fprintf(stderr, "hypernodes bench: --cache: %s\n", err.message);
      bad = 1;
    }
  }
  if (bench_observers_create(o, &obs) != 0) {
    bench_observers_finish(obs, false);
    obs = NULL;
    bad = 1;
    n_scenarios = 0; /* nothing runs */
  }
  g_callbacks = bench_observers_callbacks(obs);
  for (int i = 0; i < n_scenarios; i++) {
    bench_scenario_result *sr = &r->results[r->n_results++];
    bad |= run_scenario(o, o->scenarios[i], slots, n_slots, cache, sr);
    if (!g_serving) bench_print_scenario(sr, r, stdout);
    fflush(stdout);
    bench_observers_scenario_done(obs, o->scenarios[i]->name, g_serving ? NULL : stdout);
  }
  hn_cache_close(cache);
  g_callbacks = NULL;
  bad |= bench_observers_finish(obs, !g_serving);
  for (int i = 0; i < n_slots; i++) hn_engine_destroy(slots[i].engine);
  return bad;
}

void bench_report_free(bench_report *r) {
  for (int i = 0; i < r->n_results; i++)
    for (int j = 0; j < r->results[i].n_metrics; j++) free(r->results[i].metrics[j].durations);
  r->n_results = 0;
}
