/*
 * The trace: end events (each carries its start and duration) and errors
 * recorded per shard, written as Chrome trace-event JSON: "X" (complete)
 * slices on one track per (process, thread), "i" (instant) events for
 * failures, "M" events naming processes and threads.
 *
 * Tracks: pid 1 is the calling process (rank 0), then each worker process
 * and each other rank in order; tid 1 is the calling thread, tid k + 2
 * worker thread k. On one track slices nest as the engines time them (a
 * chunk holds its items, an item its node calls, a nested node its
 * pipeline, map, chunks...); slices with the same start and duration are
 * written outermost first (pipeline, map, chunk, item, node). Columnar
 * items, which share their morsel's time, are written as one slice per
 * morsel ("items 0-65535").
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "observe_internal.h"

#define DEFAULT_MAX_EVENTS 1000000

/* Kinds, in the order slices of equal time nest (outermost first). */
enum { K_PIPELINE = 0, K_MAP, K_CHUNK, K_ITEM, K_NODE, K_ERROR };
static const char *const k_cats[] = {"pipeline", "map", "chunk", "item", "node", "error"};

typedef struct trec {
  uint8_t kind;
  int8_t status;
  int16_t depth;
  int32_t thread, process, rank;
  int32_t name; /* node (node and error events) in the shard's strings, or -1 */
  int32_t pipeline;
  int32_t message; /* error events, or -1 */
  int64_t item, n_items, n_rows;
  int64_t start, dur;
} trec;

typedef struct tshard {
  pthread_mutex_t mu;
  hn__strtab names;
  trec *v;
  int64_t n, cap;
} tshard;

struct hn_trace {
  hn_allocator alloc;
  bool items;
  int64_t max_events;
  _Atomic int64_t n_events, dropped;
  tshard shards[HN__SHARDS];
};

/* ---- recording ------------------------------------------------------------------------- */

static int32_t intern(hn_trace *t, tshard *sh, const char *s) {
  if (!s) return -1;
  int64_t id = hn__strtab_id(&t->alloc, &sh->names, s);
  return id < 0 || id > INT32_MAX ? -2 : (int32_t)id;
}

static void record(hn_trace *t, int kind, const hn_event *ev) {
  if (atomic_fetch_add(&t->n_events, 1) >= t->max_events) {
    atomic_fetch_sub(&t->n_events, 1);
    atomic_fetch_add(&t->dropped, 1);
    return;
  }
  tshard *sh = &t->shards[hn__shard_of(ev)];
  pthread_mutex_lock(&sh->mu);
  trec r = {(uint8_t)kind,
            (int8_t)ev->status,
            (int16_t)ev->depth,
            ev->thread,
            ev->process,
            ev->rank,
            intern(t, sh, kind == K_NODE || kind == K_ERROR ? ev->node : NULL),
            intern(t, sh, ev->pipeline ? ev->pipeline : ""),
            intern(t, sh, kind == K_ERROR ? ev->message : NULL),
            ev->item,
            ev->n_items,
            ev->n_rows,
            ev->start_ns,
            ev->duration_ns};
  bool ok = r.name != -2 && r.pipeline != -2 && r.message != -2;
  if (ok && sh->n == sh->cap) {
    int64_t cap = sh->cap ? 2 * sh->cap : 1024;
    trec *v = hn__realloc(&t->alloc, sh->v, sizeof *v * (size_t)cap);
    ok = v != NULL;
    if (ok) {
      sh->v = v;
      sh->cap = cap;
    }
  }
  if (ok) sh->v[sh->n++] = r;
  pthread_mutex_unlock(&sh->mu);
  if (!ok) {
    atomic_fetch_sub(&t->n_events, 1);
    atomic_fetch_add(&t->dropped, 1);
  }
}

static void on_pipeline_end(void *ud, const hn_event *ev) {
  record(ud, K_PIPELINE, ev);
}
static void on_map_end(void *ud, const hn_event *ev) {
  record(ud, K_MAP, ev);
}
static void on_chunk_end(void *ud, const hn_event *ev) {
  record(ud, K_CHUNK, ev);
}
static void on_item_end(void *ud, const hn_event *ev) {
  record(ud, K_ITEM, ev);
}
static void on_node_end(void *ud, const hn_event *ev) {
  record(ud, K_NODE, ev);
}
static void on_error(void *ud, const hn_event *ev) {
  record(ud, K_ERROR, ev);
}

/* ---- the object --------------------------------------------------------------------------- */

hn_status hn_trace_create(const hn_allocator *alloc, const hn_trace_options *options,
                          hn_trace **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_trace_create: NULL out");
  *out = NULL;
  hn_trace_options o;
  memset(&o, 0, sizeof o);
  if (options) {
    size_t min = offsetof(hn_trace_options, items) + sizeof options->items;
    if (options->size < min || options->size > sizeof o)
      return hn__error(err, HN_EINVAL,
                       "hn_trace_create: options->size is %zu: set it to sizeof(hn_trace_options)",
                       options->size);
    memcpy(&o, options, options->size);
  }
  if (o.max_events < 0)
    return hn__error(err, HN_EINVAL, "hn_trace_create: max_events %lld is negative",
                     (long long)o.max_events);
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_trace *t = hn__calloc(&a, 1, sizeof *t);
  if (!t) return hn__error_nomem(err, "for a trace");
  t->alloc = a;
  t->items = o.items;
  t->max_events = o.max_events ? o.max_events : DEFAULT_MAX_EVENTS;
  atomic_init(&t->n_events, 0);
  atomic_init(&t->dropped, 0);
  for (int i = 0; i < HN__SHARDS; i++) pthread_mutex_init(&t->shards[i].mu, NULL);
  *out = t;
  return HN_OK;
}

void hn_trace_reset(hn_trace *trace) {
  if (!trace) return;
  for (int i = 0; i < HN__SHARDS; i++) {
    tshard *sh = &trace->shards[i];
    pthread_mutex_lock(&sh->mu);
    hn__strtab_free(&trace->alloc, &sh->names);
    hn__free(&trace->alloc, sh->v);
    sh->v = NULL;
    sh->n = sh->cap = 0;
    pthread_mutex_unlock(&sh->mu);
  }
  atomic_store(&trace->n_events, 0);
  atomic_store(&trace->dropped, 0);
}

void hn_trace_destroy(hn_trace *trace) {
  if (!trace) return;
  hn_trace_reset(trace);
  for (int i = 0; i < HN__SHARDS; i++) pthread_mutex_destroy(&trace->shards[i].mu);
  hn_allocator a = trace->alloc;
  hn__free(&a, trace);
}

void hn_trace_get_callbacks(hn_trace *trace, hn_callbacks *out, size_t size) {
  if (!out) return;
  hn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.size = sizeof cb;
  if (trace) {
    cb.user_data = trace;
    cb.on_pipeline_end = on_pipeline_end;
    cb.on_map_end = on_map_end;
    cb.on_chunk_end = on_chunk_end;
    cb.on_item_end = trace->items ? on_item_end : NULL;
    cb.on_node_end = on_node_end;
    cb.on_error = on_error;
  }
  memcpy(out, &cb, size < sizeof cb ? size : sizeof cb);
  if (size >= sizeof out->size) out->size = size < sizeof cb ? size : sizeof cb;
}

int64_t hn_trace_num_events(const hn_trace *trace) {
  return trace ? atomic_load(&((hn_trace *)trace)->n_events) : 0;
}

int64_t hn_trace_num_dropped(const hn_trace *trace) {
  return trace ? atomic_load(&((hn_trace *)trace)->dropped) : 0;
}

/* ---- writing ----------------------------------------------------------------------------------
 */

/* A record with where its strings live and its track. */
typedef struct slot {
  const trec *r;
  const hn__strtab *names;
  int pid, tid;
} slot;

typedef struct proc_key {
  int rank, process;
} proc_key;

static int cmp_proc(const void *x, const void *y) {
  const proc_key *a = x, *b = y;
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  return (a->process > b->process) - (a->process < b->process);
}

static int cmp_slot(const void *x, const void *y) {
  const slot *a = x, *b = y;
  if (a->pid != b->pid) return a->pid < b->pid ? -1 : 1;
  if (a->tid != b->tid) return a->tid < b->tid ? -1 : 1;
  if (a->r->start != b->r->start) return a->r->start < b->r->start ? -1 : 1;
  if (a->r->dur != b->r->dur) return a->r->dur > b->r->dur ? -1 : 1; /* outer first */
  if (a->r->kind != b->r->kind) return a->r->kind < b->r->kind ? -1 : 1;
  if (a->r->depth != b->r->depth) return a->r->depth < b->r->depth ? -1 : 1;
  return (a->r->item > b->r->item) - (a->r->item < b->r->item);
}

static const char *str_of(const slot *s, int32_t id) {
  return id >= 0 && id < s->names->n ? s->names->v[id] : "";
}

/* Microseconds with nanosecond digits, exactly: "12.345". */
static void put_us(hn__dot_out *o, int64_t ns) {
  if (ns < 0) {
    hn__dot_put(o, "-", 1);
    ns = -ns;
  }
  hn__dot_printf(o, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
}

/* The "M" events naming processes and threads. */
static void write_names(hn__dot_out *o, const proc_key *procs, int n_procs, const slot *v,
                        int64_t n, bool *first) {
  bool ranks = false;
  for (int i = 0; i < n_procs; i++) ranks = ranks || procs[i].rank > 0;
  for (int i = 0; i < n_procs; i++) {
    char name[64];
    const proc_key *k = &procs[i];
    if (k->process >= 0)
      snprintf(name, sizeof name, "worker process %d", k->process);
    else if (ranks)
      snprintf(name, sizeof name, "rank %d", k->rank);
    else
      snprintf(name, sizeof name, "calling process");
    hn__dot_printf(o,
                   "%s\n{\"ph\": \"M\", \"name\": \"process_name\", \"pid\": %d, \"args\": "
                   "{\"name\": \"%s\"}},\n{\"ph\": \"M\", \"name\": \"process_sort_index\", "
                   "\"pid\": %d, \"args\": {\"sort_index\": %d}}",
                   *first ? "" : ",", i + 1, name, i + 1, i);
    *first = false;
  }
  for (int64_t k = 0; k < n; k++) {
    if (k > 0 && v[k].pid == v[k - 1].pid && v[k].tid == v[k - 1].tid) continue;
    int thread = v[k].tid - 2;
    char name[64];
    if (thread < 0)
      snprintf(name, sizeof name, "calling thread");
    else
      snprintf(name, sizeof name, "worker %d", thread);
    hn__dot_printf(o,
                   ",\n{\"ph\": \"M\", \"name\": \"thread_name\", \"pid\": %d, \"tid\": %d, "
                   "\"args\": {\"name\": \"%s\"}}",
                   v[k].pid, v[k].tid, name);
  }
}

/* Items on the same track with the same time (a morsel's) from slot k: how many. */
static int64_t same_items(const slot *v, int64_t n, int64_t k) {
  int64_t j = k + 1;
  while (j < n && v[j].pid == v[k].pid && v[j].tid == v[k].tid && v[j].r->kind == K_ITEM &&
         v[j].r->start == v[k].r->start && v[j].r->dur == v[k].r->dur &&
         v[j].r->depth == v[k].r->depth)
    j++;
  return j - k;
}

static void write_slice_name(hn__dot_out *o, const slot *s, int64_t last_item) {
  const trec *r = s->r;
  char buf[96];
  switch (r->kind) {
    case K_PIPELINE:
      hn__json_str(o, str_of(s, r->pipeline));
      return;
    case K_MAP:
      snprintf(buf, sizeof buf, "map %s", str_of(s, r->pipeline));
      break;
    case K_CHUNK:
      snprintf(buf, sizeof buf, "chunk %lld+%lld", (long long)r->item, (long long)r->n_items);
      break;
    case K_ITEM:
      if (last_item != r->item)
        snprintf(buf, sizeof buf, "items %lld-%lld", (long long)r->item, (long long)last_item);
      else
        snprintf(buf, sizeof buf, "item %lld", (long long)r->item);
      break;
    case K_NODE:
      hn__json_str(o, str_of(s, r->name));
      return;
    default:
      snprintf(buf, sizeof buf, "error in %s", str_of(s, r->name));
  }
  hn__json_str(o, buf);
}

static void write_event(hn__dot_out *o, const slot *s, int64_t origin, int64_t n_merged,
                        int64_t last_item) {
  const trec *r = s->r;
  hn__dot_printf(o,
                 ",\n{\"ph\": \"%s\", \"cat\": \"%s\", \"name\": ", r->kind == K_ERROR ? "i" : "X",
                 k_cats[r->kind]);
  write_slice_name(o, s, last_item);
  hn__dot_puts(o, ", \"ts\": ");
  put_us(o, r->start - origin);
  if (r->kind == K_ERROR) {
    hn__dot_puts(o, ", \"s\": \"t\"");
  } else {
    hn__dot_puts(o, ", \"dur\": ");
    put_us(o, r->dur);
  }
  hn__dot_printf(o, ", \"pid\": %d, \"tid\": %d, \"args\": {\"pipeline\": ", s->pid, s->tid);
  hn__json_str(o, str_of(s, r->pipeline));
  hn__dot_printf(o, ", \"depth\": %d, \"item\": %lld", r->depth, (long long)r->item);
  if (r->kind == K_ITEM) hn__dot_printf(o, ", \"items\": %lld", (long long)n_merged);
  if (r->kind == K_NODE) hn__dot_printf(o, ", \"rows\": %lld", (long long)r->n_rows);
  if (r->kind <= K_CHUNK) hn__dot_printf(o, ", \"items\": %lld", (long long)r->n_items);
  if (r->status != HN_OK)
    hn__dot_printf(o, ", \"status\": \"%s\"", hn_status_str((hn_status)r->status));
  if (r->kind == K_ERROR) {
    hn__dot_puts(o, ", \"message\": ");
    hn__json_str(o, str_of(s, r->message));
  }
  hn__dot_puts(o, "}}");
}

/* Every record of every shard with its track (under the shards' locks). */
static hn_status gather(hn_trace *t, slot **out, int64_t *n_out, proc_key **procs, int *n_procs) {
  int64_t n = 0;
  for (int i = 0; i < HN__SHARDS; i++) n += t->shards[i].n;
  slot *v = hn__calloc(&t->alloc, (size_t)(n ? n : 1), sizeof *v);
  proc_key *pk = hn__calloc(&t->alloc, (size_t)(n ? n : 1), sizeof *pk);
  if (!v || !pk) {
    hn__free(&t->alloc, v);
    hn__free(&t->alloc, pk);
    return HN_ENOMEM;
  }
  int64_t k = 0;
  for (int i = 0; i < HN__SHARDS; i++)
    for (int64_t j = 0; j < t->shards[i].n; j++, k++) {
      v[k] = (slot){&t->shards[i].v[j], &t->shards[i].names, 0, 0};
      pk[k] = (proc_key){v[k].r->rank, v[k].r->process};
    }
  if (n > 1) qsort(pk, (size_t)n, sizeof *pk, cmp_proc);
  int np = 0;
  for (int64_t j = 0; j < n; j++)
    if (np == 0 || cmp_proc(&pk[np - 1], &pk[j]) != 0) pk[np++] = pk[j];
  for (int64_t j = 0; j < n; j++) {
    proc_key key = {v[j].r->rank, v[j].r->process};
    const proc_key *f = bsearch(&key, pk, (size_t)np, sizeof *pk, cmp_proc);
    v[j].pid = (int)(f - pk) + 1;
    v[j].tid = v[j].r->thread + 2;
  }
  if (n > 1) qsort(v, (size_t)n, sizeof *v, cmp_slot);
  *out = v;
  *n_out = n;
  *procs = pk;
  *n_procs = np;
  return HN_OK;
}

static void lock_all(hn_trace *t, bool lock) {
  for (int i = 0; i < HN__SHARDS; i++) {
    if (lock)
      pthread_mutex_lock(&t->shards[i].mu);
    else
      pthread_mutex_unlock(&t->shards[i].mu);
  }
}

hn_status hn_trace_write(const hn_trace *trace, hn_write_fn write, void *user_data, hn_error *err) {
  if (!trace || !write) return hn__error(err, HN_EINVAL, "hn_trace_write: NULL argument");
  hn_trace *t = (hn_trace *)trace; /* locked for reading */
  lock_all(t, true);
  slot *v = NULL;
  proc_key *procs = NULL;
  int64_t n = 0;
  int n_procs = 0;
  hn_status st = gather(t, &v, &n, &procs, &n_procs);
  if (st != HN_OK) {
    lock_all(t, false);
    return hn__error_nomem(err, "writing a trace");
  }
  int64_t origin = INT64_MAX;
  for (int64_t k = 0; k < n; k++)
    if (v[k].r->start < origin) origin = v[k].r->start;
  hn__dot_out o;
  hn__text_out_init(&o, "hn_trace_write", write, user_data, err);
  hn__dot_printf(&o,
                 "{\"displayTimeUnit\": \"ns\", \"otherData\": {\"generator\": \"hypernodes %s\", "
                 "\"events\": %lld, \"dropped\": %lld},\n\"traceEvents\": [",
                 hn_version_string(), (long long)atomic_load(&t->n_events),
                 (long long)atomic_load(&t->dropped));
  bool first = true; /* events follow the names, which there are when there are events */
  write_names(&o, procs, n_procs, v, n, &first);
  for (int64_t k = 0; k < n;) {
    int64_t m = v[k].r->kind == K_ITEM ? same_items(v, n, k) : 1;
    int64_t last = m > 1 ? v[k + m - 1].r->item : v[k].r->item;
    write_event(&o, &v[k], origin, m, last);
    k += m;
  }
  hn__dot_puts(&o, "\n]}\n");
  st = hn__dot_flush(&o);
  hn__free(&t->alloc, v);
  hn__free(&t->alloc, procs);
  lock_all(t, false);
  return st;
}

static size_t to_file(void *f, const char *data, size_t n) {
  return fwrite(data, 1, n, f);
}

hn_status hn_trace_write_file(const hn_trace *trace, const char *path, hn_error *err) {
  if (!trace || !path) return hn__error(err, HN_EINVAL, "hn_trace_write_file: NULL argument");
  FILE *f = fopen(path, "wb");
  if (!f)
    return hn__error(err, HN_EIO, "cannot write the trace to '%s': %s", path, strerror(errno));
  hn_status st = hn_trace_write(trace, to_file, f, err);
  if (fclose(f) != 0 && st == HN_OK)
    st = hn__error(err, HN_EIO, "cannot write the trace to '%s': %s", path, strerror(errno));
  if (st != HN_OK) unlink(path);
  return st;
}
