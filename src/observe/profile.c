/*
 * The per-node profile: node end events counted per (engine, pipeline,
 * depth, node) with a log-linear histogram of durations, and top-level
 * pipeline end events per engine (runs, items, wall time).
 *
 * Recording goes to the shard of the event's worker (hn__shard_of): each
 * shard has its own lock and table, so worker threads do not contend. A
 * shard remembers the entry of its last event, so that a chain of calls of
 * one node costs a few compares. Writing merges the shards.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "observe_internal.h"

/* Histogram: exact below 32 ns, then 32 buckets per power of two (about 2% wide). */
#define SUB 32
#define HBUCKETS (SUB + (63 - 5) * SUB)

static int bucket_of(int64_t v) {
  if (v < SUB) return v < 0 ? 0 : (int)v;
  int e = 63 - __builtin_clzll((uint64_t)v); /* >= 5 */
  return SUB + (e - 5) * SUB + (int)((v >> (e - 5)) & (SUB - 1));
}

/* The middle of bucket b, in ns. */
static double bucket_mid(int b) {
  if (b < SUB) return b;
  int e = (b - SUB) / SUB + 5, sub = (b - SUB) % SUB;
  return ldexp(SUB + sub, e - 5) + ldexp(1, e - 5) / 2;
}

/* One node's figures (names owned). */
typedef struct nstat {
  char *engine, *pipeline, *node;
  int depth;
  int64_t calls, rows, total;
  uint64_t *hist; /* HBUCKETS */
} nstat;

typedef struct wseen {
  const char *engine; /* static (hn_event.engine) */
  int rank, process, thread;
} wseen;

typedef struct shard {
  pthread_mutex_t mu;
  nstat *v;
  int64_t n, cap;
  int64_t *slots; /* open addressing over v: index + 1, 0 empty */
  int64_t n_slots;
  int64_t last; /* the entry of the last event, or -1 */
  wseen *workers;
  int n_workers, cap_workers;
  int64_t dropped; /* events lost to a failed allocation */
} shard;

typedef struct section {
  char *engine;
  int64_t runs, items, wall;
} section;

struct hn_profile {
  hn_allocator alloc;
  shard shards[HN__SHARDS];
  pthread_mutex_t mu; /* sections and the snapshot */
  section *secs;
  int n_secs, cap_secs;
  /* The merged, sorted view (hn_profile_num_nodes, writing). */
  nstat *snap;
  int64_t n_snap;
  int64_t snap_dropped;
};

/* ---- recording ---------------------------------------------------------------------- */

static uint64_t key_hash(const char *engine, const char *pipeline, const char *node, int depth) {
  uint64_t h = hn_hash_bytes(engine, strlen(engine), (uint64_t)depth);
  h = hn_hash_combine(h, hn_hash_bytes(pipeline, strlen(pipeline), 1));
  return hn_hash_combine(h, hn_hash_bytes(node, strlen(node), 2));
}

static bool same(const nstat *s, const char *engine, const char *pipeline, const char *node,
                 int depth) {
  return s->depth == depth && strcmp(s->node, node) == 0 && strcmp(s->pipeline, pipeline) == 0 &&
         strcmp(s->engine, engine) == 0;
}

static bool grow_slots(const hn_allocator *a, shard *sh) {
  int64_t n = sh->n_slots ? 2 * sh->n_slots : 64;
  int64_t *slots = hn__calloc(a, (size_t)n, sizeof *slots);
  if (!slots) return false;
  for (int64_t i = 0; i < sh->n; i++) {
    const nstat *s = &sh->v[i];
    uint64_t k = key_hash(s->engine, s->pipeline, s->node, s->depth) & (uint64_t)(n - 1);
    while (slots[k]) k = (k + 1) & (uint64_t)(n - 1);
    slots[k] = i + 1;
  }
  hn__free(a, sh->slots);
  sh->slots = slots;
  sh->n_slots = n;
  return true;
}

static void nstat_free(const hn_allocator *a, nstat *s) {
  hn__free(a, s->engine);
  hn__free(a, s->pipeline);
  hn__free(a, s->node);
  hn__free(a, s->hist);
}

/* A new entry at the end of v (names copied); false when out of memory. */
static bool nstat_push(const hn_allocator *a, nstat **v, int64_t *n, int64_t *cap,
                       const char *engine, const char *pipeline, const char *node, int depth) {
  if (*n == *cap) {
    int64_t c = *cap ? 2 * *cap : 16;
    nstat *p = hn__realloc(a, *v, sizeof *p * (size_t)c);
    if (!p) return false;
    *v = p;
    *cap = c;
  }
  nstat s = {hn__strdup(a, engine),
             hn__strdup(a, pipeline),
             hn__strdup(a, node),
             depth,
             0,
             0,
             0,
             hn__calloc(a, HBUCKETS, sizeof(uint64_t))};
  if (!s.engine || !s.pipeline || !s.node || !s.hist) {
    nstat_free(a, &s);
    return false;
  }
  (*v)[(*n)++] = s;
  return true;
}

/* The entry of (engine, pipeline, node, depth) in sh, added when new; -1 out of memory. */
static int64_t find_or_add(const hn_allocator *a, shard *sh, const char *engine,
                           const char *pipeline, const char *node, int depth) {
  if (sh->last >= 0 && same(&sh->v[sh->last], engine, pipeline, node, depth)) return sh->last;
  if (2 * (sh->n + 1) > sh->n_slots && !grow_slots(a, sh)) return -1;
  uint64_t mask = (uint64_t)(sh->n_slots - 1);
  uint64_t k = key_hash(engine, pipeline, node, depth) & mask;
  for (; sh->slots[k]; k = (k + 1) & mask)
    if (same(&sh->v[sh->slots[k] - 1], engine, pipeline, node, depth)) return sh->slots[k] - 1;
  if (!nstat_push(a, &sh->v, &sh->n, &sh->cap, engine, pipeline, node, depth)) return -1;
  sh->slots[k] = sh->n;
  return sh->n - 1;
}

static void see_worker(const hn_allocator *a, shard *sh, const hn_event *ev) {
  for (int i = sh->n_workers - 1; i >= 0; i--) {
    const wseen *w = &sh->workers[i];
    if (w->thread == ev->thread && w->process == ev->process && w->rank == ev->rank &&
        w->engine == ev->engine)
      return;
  }
  if (sh->n_workers == sh->cap_workers) {
    int cap = sh->cap_workers ? 2 * sh->cap_workers : 8;
    wseen *p = hn__realloc(a, sh->workers, sizeof *p * (size_t)cap);
    if (!p) return;
    sh->workers = p;
    sh->cap_workers = cap;
  }
  sh->workers[sh->n_workers++] = (wseen){ev->engine, ev->rank, ev->process, ev->thread};
}

static void on_node_end(void *ud, const hn_event *ev) {
  hn_profile *p = ud;
  shard *sh = &p->shards[hn__shard_of(ev)];
  const char *engine = ev->engine ? ev->engine : "";
  const char *pipeline = ev->pipeline ? ev->pipeline : "", *node = ev->node ? ev->node : "";
  pthread_mutex_lock(&sh->mu);
  int64_t i = find_or_add(&p->alloc, sh, engine, pipeline, node, ev->depth);
  if (i < 0) {
    sh->dropped++;
  } else {
    nstat *s = &sh->v[i];
    s->calls++;
    s->rows += ev->n_rows;
    s->total += ev->duration_ns;
    s->hist[bucket_of(ev->duration_ns)]++;
    sh->last = i;
    see_worker(&p->alloc, sh, ev);
  }
  pthread_mutex_unlock(&sh->mu);
}

static section *section_of(hn_profile *p, const char *engine) {
  for (int i = 0; i < p->n_secs; i++)
    if (strcmp(p->secs[i].engine, engine) == 0) return &p->secs[i];
  if (p->n_secs == p->cap_secs) {
    int cap = p->cap_secs ? 2 * p->cap_secs : 4;
    section *s = hn__realloc(&p->alloc, p->secs, sizeof *s * (size_t)cap);
    if (!s) return NULL;
    p->secs = s;
    p->cap_secs = cap;
  }
  char *name = hn__strdup(&p->alloc, engine);
  if (!name) return NULL;
  p->secs[p->n_secs] = (section){name, 0, 0, 0};
  return &p->secs[p->n_secs++];
}

static void on_pipeline_end(void *ud, const hn_event *ev) {
  hn_profile *p = ud;
  if (ev->depth != 0) return;
  pthread_mutex_lock(&p->mu);
  section *s = section_of(p, ev->engine ? ev->engine : "");
  if (s) {
    s->runs++;
    s->items += ev->n_items;
    s->wall += ev->duration_ns;
  }
  pthread_mutex_unlock(&p->mu);
}

/* ---- the object ---------------------------------------------------------------------- */

hn_status hn_profile_create(const hn_allocator *alloc, hn_profile **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_profile_create: NULL out");
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_profile *p = hn__calloc(&a, 1, sizeof *p);
  if (!p) return hn__error_nomem(err, "for a profile");
  p->alloc = a;
  pthread_mutex_init(&p->mu, NULL);
  for (int i = 0; i < HN__SHARDS; i++) {
    pthread_mutex_init(&p->shards[i].mu, NULL);
    p->shards[i].last = -1;
  }
  *out = p;
  return HN_OK;
}

static void snap_free(hn_profile *p) {
  for (int64_t i = 0; i < p->n_snap; i++) nstat_free(&p->alloc, &p->snap[i]);
  hn__free(&p->alloc, p->snap);
  p->snap = NULL;
  p->n_snap = 0;
}

void hn_profile_reset(hn_profile *profile) {
  if (!profile) return;
  const hn_allocator *a = &profile->alloc;
  for (int i = 0; i < HN__SHARDS; i++) {
    shard *sh = &profile->shards[i];
    pthread_mutex_lock(&sh->mu);
    for (int64_t k = 0; k < sh->n; k++) nstat_free(a, &sh->v[k]);
    hn__free(a, sh->v);
    hn__free(a, sh->slots);
    hn__free(a, sh->workers);
    sh->v = NULL;
    sh->slots = NULL;
    sh->workers = NULL;
    sh->n = sh->cap = sh->n_slots = 0;
    sh->n_workers = sh->cap_workers = 0;
    sh->last = -1;
    sh->dropped = 0;
    pthread_mutex_unlock(&sh->mu);
  }
  pthread_mutex_lock(&profile->mu);
  for (int i = 0; i < profile->n_secs; i++) hn__free(a, profile->secs[i].engine);
  hn__free(a, profile->secs);
  profile->secs = NULL;
  profile->n_secs = profile->cap_secs = 0;
  snap_free(profile);
  pthread_mutex_unlock(&profile->mu);
}

void hn_profile_destroy(hn_profile *profile) {
  if (!profile) return;
  hn_profile_reset(profile);
  for (int i = 0; i < HN__SHARDS; i++) pthread_mutex_destroy(&profile->shards[i].mu);
  pthread_mutex_destroy(&profile->mu);
  hn_allocator a = profile->alloc;
  hn__free(&a, profile);
}

void hn_profile_get_callbacks(hn_profile *profile, hn_callbacks *out, size_t size) {
  if (!out) return;
  hn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.size = sizeof cb;
  if (profile) {
    cb.user_data = profile;
    cb.on_node_end = on_node_end;
    cb.on_pipeline_end = on_pipeline_end;
  }
  memcpy(out, &cb, size < sizeof cb ? size : sizeof cb);
  if (size >= sizeof out->size) out->size = size < sizeof cb ? size : sizeof cb;
}

/* ---- merging ---------------------------------------------------------------------------- */

static int cmp_entry(const void *x, const void *y) {
  const nstat *a = x, *b = y;
  int c = strcmp(a->engine, b->engine);
  if (c) return c;
  if (a->total != b->total) return a->total > b->total ? -1 : 1;
  if (a->depth != b->depth) return a->depth - b->depth;
  c = strcmp(a->pipeline, b->pipeline);
  return c ? c : strcmp(a->node, b->node);
}

/* Merge every shard into the snapshot (under p->mu). HN_OK or HN_ENOMEM. */
static hn_status merge(hn_profile *p) {
  snap_free(p);
  p->snap_dropped = 0;
  int64_t cap = 0;
  for (int i = 0; i < HN__SHARDS; i++) {
    shard *sh = &p->shards[i];
    pthread_mutex_lock(&sh->mu);
    hn_status st = HN_OK;
    for (int64_t k = 0; k < sh->n && st == HN_OK; k++) {
      const nstat *s = &sh->v[k];
      int64_t j = 0;
      while (j < p->n_snap && !same(&p->snap[j], s->engine, s->pipeline, s->node, s->depth)) j++;
      if (j == p->n_snap && !nstat_push(&p->alloc, &p->snap, &p->n_snap, &cap, s->engine,
                                        s->pipeline, s->node, s->depth))
        st = HN_ENOMEM;
      if (st != HN_OK) break;
      nstat *d = &p->snap[j];
      d->calls += s->calls;
      d->rows += s->rows;
      d->total += s->total;
      for (int b = 0; b < HBUCKETS; b++) d->hist[b] += s->hist[b];
    }
    p->snap_dropped += sh->dropped;
    pthread_mutex_unlock(&sh->mu);
    if (st != HN_OK) {
      snap_free(p);
      return st;
    }
  }
  if (p->n_snap > 1) qsort(p->snap, (size_t)p->n_snap, sizeof *p->snap, cmp_entry);
  return HN_OK;
}

/* The value at quantile q of an entry's histogram (the middle of its bucket), in ns. */
static int64_t quantile(const nstat *s, double q) {
  if (s->calls == 0) return 0;
  uint64_t want = (uint64_t)ceil(q * (double)s->calls), seen = 0;
  if (want < 1) want = 1;
  for (int b = 0; b < HBUCKETS; b++) {
    seen += s->hist[b];
    if (seen >= want) return (int64_t)bucket_mid(b);
  }
  return 0;
}

/* The total of the depth-0 nodes of an engine: the whole the shares divide. */
static int64_t engine_node_total(const hn_profile *p, const char *engine) {
  int64_t t = 0;
  for (int64_t i = 0; i < p->n_snap; i++)
    if (p->snap[i].depth == 0 && strcmp(p->snap[i].engine, engine) == 0) t += p->snap[i].total;
  return t;
}

static void fill_entry(const hn_profile *p, const nstat *s, hn_profile_entry *e) {
  memset(e, 0, sizeof *e);
  e->size = sizeof *e;
  e->engine = s->engine;
  e->pipeline = s->pipeline;
  e->node = s->node;
  e->depth = s->depth;
  e->calls = s->calls;
  e->rows = s->rows;
  e->total_ns = s->total;
  e->mean_ns = s->calls ? s->total / s->calls : 0;
  e->p50_ns = quantile(s, 0.5);
  e->p99_ns = quantile(s, 0.99);
  int64_t whole = engine_node_total(p, s->engine);
  e->share = whole > 0 ? (double)s->total / (double)whole : 0;
}

int64_t hn_profile_num_nodes(const hn_profile *profile) {
  if (!profile) return 0;
  hn_profile *p = (hn_profile *)profile; /* the snapshot is a cache, not a change */
  pthread_mutex_lock(&p->mu);
  int64_t n = merge(p) == HN_OK ? p->n_snap : 0;
  pthread_mutex_unlock(&p->mu);
  return n;
}

hn_status hn_profile_get_node(const hn_profile *profile, int64_t i, hn_profile_entry *out,
                              size_t size, hn_error *err) {
  if (!profile || !out) return hn__error(err, HN_EINVAL, "hn_profile_get_node: NULL argument");
  hn_profile *p = (hn_profile *)profile;
  pthread_mutex_lock(&p->mu);
  hn_status st = HN_OK;
  if (i < 0 || i >= p->n_snap) {
    st = hn__error(err, HN_ERANGE,
                   "hn_profile_get_node: entry %lld of %lld (call hn_profile_num_nodes first)",
                   (long long)i, (long long)p->n_snap);
  } else {
    hn_profile_entry e;
    fill_entry(p, &p->snap[i], &e);
    memcpy(out, &e, size < sizeof e ? size : sizeof e);
    if (size >= sizeof out->size) out->size = size < sizeof e ? size : sizeof e;
  }
  pthread_mutex_unlock(&p->mu);
  return st;
}

/* ---- writing ------------------------------------------------------------------------------- */

/* Distinct workers of an engine over every shard. */
static int engine_workers(hn_profile *p, const char *engine) {
  wseen seen[256];
  int n = 0;
  for (int i = 0; i < HN__SHARDS; i++) {
    shard *sh = &p->shards[i];
    pthread_mutex_lock(&sh->mu);
    for (int k = 0; k < sh->n_workers; k++) {
      const wseen *w = &sh->workers[k];
      if (!w->engine || strcmp(w->engine, engine) != 0) continue;
      bool dup = false;
      for (int j = 0; j < n && !dup; j++)
        dup =
            seen[j].thread == w->thread && seen[j].process == w->process && seen[j].rank == w->rank;
      if (!dup && n < 256) seen[n++] = *w;
    }
    pthread_mutex_unlock(&sh->mu);
  }
  return n;
}

/* The engines to write: those with a section, then those with nodes only. */
static int engine_list(const hn_profile *p, const char **names, int cap) {
  int n = 0;
  for (int i = 0; i < p->n_secs && n < cap; i++) names[n++] = p->secs[i].engine;
  for (int64_t k = 0; k < p->n_snap && n < cap; k++) {
    bool dup = false;
    for (int j = 0; j < n && !dup; j++) dup = strcmp(names[j], p->snap[k].engine) == 0;
    if (!dup) names[n++] = p->snap[k].engine;
  }
  return n;
}

static const section *find_section(const hn_profile *p, const char *engine) {
  for (int i = 0; i < p->n_secs; i++)
    if (strcmp(p->secs[i].engine, engine) == 0) return &p->secs[i];
  return NULL;
}

static void write_text(hn_profile *p, hn__dot_out *o) {
  const char *engines[32];
  int n = engine_list(p, engines, 32);
  if (n == 0) hn__dot_puts(o, "profile: nothing recorded\n");
  for (int e = 0; e < n; e++) {
    const section *s = find_section(p, engines[e]);
    section none = {NULL, 0, 0, 0};
    if (!s) s = &none;
    int workers = engine_workers(p, engines[e]);
    hn__dot_printf(o, "%sprofile, %s engine: %lld call%s, %lld item%s, %.3f ms wall, %d worker%s\n",
                   e ? "\n" : "", engines[e], (long long)s->runs, s->runs == 1 ? "" : "s",
                   (long long)s->items, s->items == 1 ? "" : "s", (double)s->wall / 1e6, workers,
                   workers == 1 ? "" : "s");
    hn__dot_printf(o, "  %-12s %-20s %10s %10s %11s %10s %10s %10s %7s\n", "pipeline", "node",
                   "calls", "rows", "total ms", "mean us", "p50 us", "p99 us", "share");
    for (int64_t k = 0; k < p->n_snap; k++) {
      if (strcmp(p->snap[k].engine, engines[e]) != 0) continue;
      hn_profile_entry x;
      fill_entry(p, &p->snap[k], &x);
      char node[64];
      snprintf(node, sizeof node, "%*s%s", 2 * x.depth, "", x.node);
      hn__dot_printf(o, "  %-12.12s %-20.20s %10lld %10lld %11.3f %10.3f %10.3f %10.3f %6.1f%%\n",
                     x.pipeline, node, (long long)x.calls, (long long)x.rows,
                     (double)x.total_ns / 1e6, (double)x.mean_ns / 1e3, (double)x.p50_ns / 1e3,
                     (double)x.p99_ns / 1e3, 100 * x.share);
    }
  }
  if (p->snap_dropped > 0)
    hn__dot_printf(o, "(%lld node events dropped: out of memory)\n", (long long)p->snap_dropped);
}

static void write_json(hn_profile *p, hn__dot_out *o) {
  const char *engines[32];
  int n = engine_list(p, engines, 32);
  hn__dot_printf(o, "{\"version\": 1, \"dropped\": %lld, \"engines\": [",
                 (long long)p->snap_dropped);
  for (int e = 0; e < n; e++) {
    const section *s = find_section(p, engines[e]);
    section none = {NULL, 0, 0, 0};
    if (!s) s = &none;
    hn__dot_puts(o, e ? ",\n  {\"engine\": " : "\n  {\"engine\": ");
    hn__json_str(o, engines[e]);
    hn__dot_printf(o,
                   ", \"calls\": %lld, \"items\": %lld, \"wall_ns\": %lld, \"workers\": %d, "
                   "\"nodes\": [",
                   (long long)s->runs, (long long)s->items, (long long)s->wall,
                   engine_workers(p, engines[e]));
    bool first = true;
    for (int64_t k = 0; k < p->n_snap; k++) {
      if (strcmp(p->snap[k].engine, engines[e]) != 0) continue;
      hn_profile_entry x;
      fill_entry(p, &p->snap[k], &x);
      hn__dot_puts(o, first ? "\n    {\"pipeline\": " : ",\n    {\"pipeline\": ");
      first = false;
      hn__json_str(o, x.pipeline);
      hn__dot_puts(o, ", \"node\": ");
      hn__json_str(o, x.node);
      hn__dot_printf(o,
                     ", \"depth\": %d, \"calls\": %lld, \"rows\": %lld, \"total_ns\": %lld, "
                     "\"mean_ns\": %lld, \"p50_ns\": %lld, \"p99_ns\": %lld, \"share\": %.6f}",
                     x.depth, (long long)x.calls, (long long)x.rows, (long long)x.total_ns,
                     (long long)x.mean_ns, (long long)x.p50_ns, (long long)x.p99_ns, x.share);
    }
    hn__dot_puts(o, "]}");
  }
  hn__dot_puts(o, "]}\n");
}

hn_status hn_profile_write(const hn_profile *profile, hn_profile_format format, hn_write_fn write,
                           void *user_data, hn_error *err) {
  if (!profile || !write) return hn__error(err, HN_EINVAL, "hn_profile_write: NULL argument");
  if (format != HN_PROFILE_TEXT && format != HN_PROFILE_JSON)
    return hn__error(err, HN_EINVAL, "hn_profile_write: unknown format %d", (int)format);
  hn_profile *p = (hn_profile *)profile; /* the snapshot is a cache */
  pthread_mutex_lock(&p->mu);
  hn_status st = merge(p);
  if (st != HN_OK) {
    pthread_mutex_unlock(&p->mu);
    return hn__error_nomem(err, "merging a profile");
  }
  hn__dot_out o;
  hn__text_out_init(&o, "hn_profile_write", write, user_data, err);
  if (format == HN_PROFILE_TEXT)
    write_text(p, &o);
  else
    write_json(p, &o);
  st = hn__dot_flush(&o);
  pthread_mutex_unlock(&p->mu);
  return st;
}
