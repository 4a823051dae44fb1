/*
 * A map over a stream of items (hn_pipeline_map_stream): record batches in,
 * record batches out, lazily. Each step reads input batches until it holds
 * at least HN__STREAM_MIN_ROWS items (or the stream ends), maps them as one
 * call on the engine, its items numbered from the items already read, and
 * hands out the result's record batches one by one; the next input is read
 * only when they are all handed out. So at most one group of input batches
 * and its results are held at a time, whatever the stream's length.
 */
#include <stdio.h>

#include "exec_internal.h"

/* Items mapped per call, at least (small input batches are joined up to it). */
#define HN__STREAM_MIN_ROWS 65536

struct hn_map_stream {
  _Atomic int64_t refs; /* the caller's handle, and an exported stream */
  hn_allocator alloc;
  hn_pipeline *pipeline; /* retained */
  hn_engine *engine;     /* borrowed: must outlive the stream */
  hn_inputs *inputs;     /* a copy of the broadcast inputs, plus the current batch's columns */
  hn_stream_reader *reader;
  hn_run_options o;   /* the caller's, with map_over = the stream's columns */
  char **outputs;     /* copies of o.outputs */
  const char **names; /* the stream's column names (borrowed from the reader's schema) */
  int64_t n_names;
  hn_result *cur; /* the last batch's result, handed out chunk by chunk */
  int64_t next_chunk;
  int64_t items_read;
  char *outputs_spec; /* a copy of o.outputs_spec, or NULL */
  bool ended;
  hn_status failed; /* a failure ends the stream: every later next returns it */
  hn_error fail_err;
  hn__records recs;
  hn_table *errors; /* recs as a table, made on demand */
  hn_result_stats stats;
  hn_type *schema; /* of the results */
  hn_table *empty; /* the stream's columns with no rows: what the inputs hold between calls */
  char last_error[HN_ERROR_MESSAGE_MAX]; /* for the exported stream */
};

static void stream_free(hn_map_stream *s) {
  hn_allocator a = s->alloc;
  hn_result_destroy(s->cur);
  hn__free(&a, s->outputs_spec);
  hn_table_release(s->errors);
  hn_type_release(s->schema);
  hn_table_release(s->empty);
  hn__records_free(&a, &s->recs);
  hn_stream_reader_destroy(s->reader);
  hn_inputs_destroy(s->inputs);
  for (int64_t k = 0; s->outputs && k < s->o.n_outputs; k++) hn__free(&a, s->outputs[k]);
  hn__free(&a, s->outputs);
  hn__free(&a, (void *)s->names);
  hn_pipeline_release(s->pipeline);
  hn__free(&a, s);
}

static void stream_unref(hn_map_stream *s) {
  if (s && atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1) stream_free(s);
}

void hn_map_stream_destroy(hn_map_stream *stream) {
  stream_unref(stream);
}

/* Copy what the stream keeps of the caller's options. */
static hn_status keep_options(hn_map_stream *s, const hn_run_options *options, hn_error *err) {
  s->o = (hn_run_options){.size = sizeof s->o};
  if (!options) return HN_OK;
  if (options->size < offsetof(hn_run_options, outputs_spec))
    return hn__error(err, HN_EINVAL, "options->size is %zu: set it to sizeof(hn_run_options)",
                     options->size);
  memcpy(&s->o, options, options->size < sizeof s->o ? options->size : sizeof s->o);
  s->o.size = sizeof s->o;
  if (s->o.n_map_over || s->o.map_over || s->o.map_over_spec)
    return hn__error(err, HN_EINVAL,
                     "hn_pipeline_map_stream: map_over is the stream's columns; leave it unset");
  if (s->o.map_mode != HN_MAP_ZIP)
    return hn__error(err, HN_EINVAL, "hn_pipeline_map_stream: the stream's columns are zipped");
  if (s->o.n_outputs < 0 || (s->o.n_outputs > 0 && !s->o.outputs))
    return hn__error(err, HN_EINVAL, "hn_pipeline_map_stream: bad outputs");
  if (s->o.n_outputs > 0) {
    s->outputs = hn__calloc(&s->alloc, (size_t)s->o.n_outputs, sizeof *s->outputs);
    if (!s->outputs) return hn__error_nomem(err, "for a stream map");
    for (int64_t k = 0; k < s->o.n_outputs; k++) {
      s->outputs[k] = hn__strdup(&s->alloc, s->o.outputs[k] ? s->o.outputs[k] : "");
      if (!s->outputs[k]) return hn__error_nomem(err, "for a stream map");
    }
    s->o.outputs = (const char *const *)s->outputs;
  }
  if (s->o.outputs_spec) { /* read at every batch's call: kept */
    s->outputs_spec = hn__strdup(&s->alloc, s->o.outputs_spec);
    if (!s->outputs_spec) return hn__error_nomem(err, "for a stream map");
    s->o.outputs_spec = s->outputs_spec;
  }
  return HN_OK;
}

/* The stream's column names: the mapped inputs. */
static hn_status column_names(hn_map_stream *s, hn_error *err) {
  const hn_type *t = hn_stream_reader_schema(s->reader);
  s->n_names = hn_type_num_fields(t);
  if (s->n_names == 0)
    return hn__error(err, HN_EINVAL, "hn_pipeline_map_stream: the stream has no columns");
  s->names = hn__calloc(&s->alloc, (size_t)s->n_names, sizeof *s->names);
  if (!s->names) return hn__error_nomem(err, "for a stream map");
  for (int64_t k = 0; k < s->n_names; k++) s->names[k] = hn_type_field_name(t, k);
  s->o.n_map_over = s->n_names;
  s->o.map_over = s->names;
  return HN_OK;
}

/* Set the stream's columns in s->inputs from `batch` (its columns in the stream's order). */
static hn_status set_columns(hn_map_stream *s, const hn_table *batch, hn_error *err) {
  hn_status st = HN_OK;
  for (int64_t k = 0; k < s->n_names && st == HN_OK; k++)
    st = hn_inputs_set_column(s->inputs, s->names[k], hn_table_column(batch, k), err);
  return st;
}

/*
 * Map zero items once when the stream is made: the call is checked (inputs,
 * outputs, types) before anything is read, and the results' schema is known.
 */
static hn_status probe(hn_map_stream *s, hn_error *err) {
  const hn_type *t = hn_stream_reader_schema(s->reader);
  hn_status st = hn_table_create_empty(&s->alloc, t, &s->empty, err);
  if (st == HN_OK) st = set_columns(s, s->empty, err);
  hn_run_options o = s->o;
  o.callbacks = NULL;
  o.cache = NULL;
  hn_result *r = NULL;
  if (st == HN_OK) st = hn__pipeline_map_at(s->pipeline, s->engine, s->inputs, &o, 0, &r, err);
  if (st == HN_OK) s->schema = (hn_type *)hn_type_retain(hn_table_schema(hn_result_table(r)));
  hn_result_destroy(r);
  return st;
}

hn_status hn_pipeline_map_stream(hn_pipeline *pipeline, hn_engine *engine, const hn_inputs *inputs,
                                 struct ArrowArrayStream *items, const hn_run_options *options,
                                 hn_map_stream **out, hn_error *err) {
  if (out) *out = NULL;
  if (!pipeline || !items || !out) {
    if (items && items->release) items->release(items);
    return hn__error(err, HN_EINVAL, "hn_pipeline_map_stream: NULL pipeline, items or output");
  }
  hn_allocator a = pipeline->alloc;
  hn_map_stream *s = hn__calloc(&a, 1, sizeof *s);
  if (!s) {
    if (items->release) items->release(items);
    return hn__error_nomem(err, "for a stream map");
  }
  atomic_init(&s->refs, 1);
  s->alloc = a;
  s->pipeline = hn_pipeline_retain(pipeline);
  s->engine = engine;
  hn_status st = hn_stream_reader_create(&a, items, NULL, &s->reader, err); /* takes items */
  if (st == HN_OK && engine && engine->ops->agree)
    st = hn__error(err, HN_EUNSUPPORTED,
                   "hn_pipeline_map_stream: not on the %s engine (its calls are collective); "
                   "map each batch with hn_pipeline_map on every rank",
                   engine->ops->name);
  if (st == HN_OK) st = keep_options(s, options, err);
  if (st == HN_OK) st = column_names(s, err);
  if (st == HN_OK) st = hn__inputs_clone(&a, inputs, &s->inputs, err);
  if (st == HN_OK) st = probe(s, err);
  if (st != HN_OK) {
    stream_free(s);
    return st;
  }
  *out = s;
  return HN_OK;
}

/* Read input batches up to HN__STREAM_MIN_ROWS items, joined: *batch NULL at the end. */
static hn_status read_group(hn_map_stream *s, hn_table **batch, hn_error *err) {
  hn_table *parts[64];
  int64_t n = 0, rows = 0;
  hn_status st = HN_OK;
  *batch = NULL;
  while (n < 64 && rows < HN__STREAM_MIN_ROWS) {
    hn_table *t = NULL;
    st = hn_stream_reader_next(s->reader, &t, err);
    if (st != HN_OK || !t) break;
    if (hn_table_num_rows(t) == 0) {
      hn_table_release(t);
      continue;
    }
    rows += hn_table_num_rows(t);
    parts[n++] = t;
  }
  if (st == HN_OK && n == 1) {
    *batch = parts[0];
    return HN_OK;
  }
  if (st == HN_OK && n > 1) st = hn__table_concat(&s->alloc, n, parts, batch, err);
  for (int64_t k = 0; k < n; k++) hn_table_release(parts[k]);
  return st;
}

/* A result's error records join the stream's; its stats are added. */
static hn_status take_result(hn_map_stream *s, const hn_result *r, hn_error *err) {
  hn_result_stats rs;
  hn_result_get_stats(r, &rs, sizeof rs);
  s->stats.n_items += rs.n_items;
  s->stats.n_failed += rs.n_failed;
  s->stats.resource_inits += rs.resource_inits;
  s->stats.resource_destroys += rs.resource_destroys;
  if (rs.workers > s->stats.workers) s->stats.workers = rs.workers;
  s->stats.cache_hits += rs.cache_hits;
  s->stats.cache_misses += rs.cache_misses;
  s->stats.cache_bytes_read += rs.cache_bytes_read;
  s->stats.cache_bytes_written += rs.cache_bytes_written;
  const hn_table *e = hn_result_errors(r);
  int64_t rows = hn_table_num_rows(e);
  if (rows == 0) return HN_OK;
  hn_table_release(s->errors);
  s->errors = NULL;
  hn_status st = HN_OK;
  for (int64_t i = 0; i < rows && st == HN_OK; i++) {
    char f[3][HN_ERROR_MESSAGE_MAX];
    for (int k = 0; k < 3; k++) {
      hn_str v = hn_array_get(hn_table_column(e, k + 1), i).v.str;
      snprintf(f[k], sizeof f[k], "%.*s", (int)v.size, v.data);
    }
    st = hn__records_add(&s->alloc, &s->recs, hn_array_get(hn_table_column(e, 0), i).v.i64,
                         HN_ENODE, f[0], f[1], f[2]);
  }
  return st == HN_OK ? HN_OK : hn__error_nomem(err, "keeping a stream's error records");
}

/* Map the next group of input batches into s->cur (left NULL at the end of the stream). */
static hn_status map_group(hn_map_stream *s, hn_error *err) {
  hn_table *batch = NULL;
  hn_status st = read_group(s, &batch, err);
  if (st != HN_OK) return st;
  if (!batch) {
    s->ended = true;
    return HN_OK;
  }
  st = set_columns(s, batch, err);
  int64_t rows = hn_table_num_rows(batch);
  if (st == HN_OK)
    st = hn__pipeline_map_at(s->pipeline, s->engine, s->inputs, &s->o, s->items_read, &s->cur, err);
  /* The columns go with the batch: the inputs hold nothing of it between calls. */
  (void)set_columns(s, s->empty, NULL); /* replaces existing entries: cannot fail */
  hn_table_release(batch);
  s->items_read += rows;
  s->next_chunk = 0;
  if (st == HN_OK) st = take_result(s, s->cur, err);
  return st;
}

hn_status hn_map_stream_next(hn_map_stream *s, hn_table **out, hn_error *err) {
  if (out) *out = NULL;
  if (!s || !out) return hn__error(err, HN_EINVAL, "hn_map_stream_next: NULL argument");
  for (;;) {
    if (s->failed != HN_OK) {
      if (err) *err = s->fail_err;
      return s->failed;
    }
    if (s->cur && s->next_chunk < hn_result_num_chunks(s->cur)) {
      hn_table *t = hn_result_chunk(s->cur, s->next_chunk++);
      if (hn_table_num_rows(t) == 0) continue;
      *out = hn_table_retain(t);
      return HN_OK;
    }
    hn_result_destroy(s->cur);
    s->cur = NULL;
    if (s->ended) return HN_OK;
    hn_error e;
    hn_error_reset(&e);
    hn_status st = map_group(s, &e);
    if (st != HN_OK) {
      s->failed = st;
      s->fail_err = e;
    }
  }
}

const hn_type *hn_map_stream_schema(const hn_map_stream *s) {
  return s ? s->schema : NULL;
}

hn_table *hn_map_stream_errors(hn_map_stream *s) {
  if (!s) return NULL;
  if (!s->errors) {
    hn__records_sort(&s->recs);
    if (hn__records_table(&s->alloc, &s->recs, &s->errors, NULL) != HN_OK) return NULL;
  }
  return s->errors;
}

void hn_map_stream_get_stats(const hn_map_stream *s, hn_result_stats *stats, size_t size) {
  if (!stats) return;
  hn_result_stats v = {0};
  if (s) v = s->stats;
  memcpy(stats, &v, size < sizeof v ? size : sizeof v);
}

/* ---- as an ArrowArrayStream ------------------------------------------------------------ */

static hn_map_stream *of(struct ArrowArrayStream *stream) {
  return stream->private_data;
}

static int export_get_schema(struct ArrowArrayStream *stream, struct ArrowSchema *out) {
  hn_map_stream *s = of(stream);
  hn_error e;
  if (hn_type_export(s->schema, "", out, &e) == HN_OK) return 0;
  snprintf(s->last_error, sizeof s->last_error, "%s", e.message);
  return e.code == HN_ENOMEM ? 12 /* ENOMEM */ : 22 /* EINVAL */;
}

static int export_get_next(struct ArrowArrayStream *stream, struct ArrowArray *out) {
  hn_map_stream *s = of(stream);
  hn_table *t = NULL;
  hn_error e;
  hn_error_reset(&e);
  out->release = NULL;
  hn_status st = hn_map_stream_next(s, &t, &e);
  if (st == HN_OK && t) st = hn_table_export(t, NULL, out, &e);
  hn_table_release(t);
  if (st == HN_OK) return 0; /* out->release NULL: the end */
  snprintf(s->last_error, sizeof s->last_error, "%s", e.message);
  return st == HN_ENOMEM ? 12 /* ENOMEM */ : 5 /* EIO */;
}

static const char *export_get_last_error(struct ArrowArrayStream *stream) {
  return of(stream)->last_error;
}

static void export_release(struct ArrowArrayStream *stream) {
  stream_unref(of(stream));
  stream->release = NULL;
}

hn_status hn_map_stream_export(hn_map_stream *s, struct ArrowArrayStream *out, hn_error *err) {
  if (!s || !out) return hn__error(err, HN_EINVAL, "hn_map_stream_export: NULL argument");
  atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
  out->get_schema = export_get_schema;
  out->get_next = export_get_next;
  out->get_last_error = export_get_last_error;
  out->release = export_release;
  out->private_data = s;
  return HN_OK;
}
