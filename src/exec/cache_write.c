/*
 * The end of a cached call: newly computed results written chunk by chunk
 * (a chunk: one node's outputs for HN__CACHE_CHUNK consecutive items, each
 * row indexed under its item key; rows of failed items left out), and the
 * entry point tying keys, plan, groups and writes together.
 */
#include <stdio.h>

#include "cache_plan.h"

/* Column `name` of the rows kept (skip[i] unset) of items [first, first+count), from their sources.
 */
static hn_status kept_column(const hn__cplan *cp, int64_t s, const char *name, int64_t first,
                             int64_t count, const uint8_t *skip, hn_array **out, hn_error *err) {
  const hn_allocator *a = cp->a;
  int64_t n = cp->n;
  hn_array **parts = hn__calloc(a, (size_t)count, sizeof *parts);
  if (!parts) return hn__error_nomem(err, "writing the cache");
  int64_t n_parts = 0;
  hn_status st = HN_OK;
  for (int64_t i = first; i < first + count && st == HN_OK;) {
    if (skip[i - first]) {
      i++;
      continue;
    }
    int64_t c = s * n + i, run = 1; /* consecutive rows of one source: one slice */
    while (i + run < first + count && !skip[i + run - first] &&
           cp->loc_table[c + run] == cp->loc_table[c] &&
           cp->loc_row[c + run] == cp->loc_row[c] + (uint32_t)run)
      run++;
    hn_array *col = hn_table_column_by_name(cp->tables[cp->loc_table[c]], name);
    st = col ? hn_array_slice(col, cp->loc_row[c], run, &parts[n_parts++], err)
             : hn__error(err, HN_EINTERNAL, "cached call: no column '%s'", name);
    i += run;
  }
  const hn_type *type = cp->x->plan->slot_types[cp->x->plan->steps[s].out_slots[0]];
  for (int64_t k = 0; k < cp->x->plan->steps[s].node->n_outputs; k++)
    if (strcmp(cp->x->plan->steps[s].node->outputs[k], name) == 0)
      type = cp->x->plan->steps[s].node->output_types[k];
  if (st == HN_OK) st = hn__array_concat(a, type, n_parts, parts, false, out, err);
  for (int64_t k = 0; k < n_parts; k++) hn_array_release(parts[k]);
  hn__free(a, parts);
  return st;
}

/* Chunks waiting to be written in one transaction. */
typedef struct batch {
  hn__cache_chunk *chunks;
  int64_t *steps; /* per chunk: its step */
  int64_t n, cap, bytes;
} batch;

/* Bytes of results gathered before a batch is written (bounds the memory a write holds). */
#define BATCH_BYTES ((int64_t)64 << 20)

static void batch_clear(const hn_allocator *a, batch *b) {
  for (int64_t k = 0; k < b->n; k++) {
    hn_table_release((hn_table *)b->chunks[k].table);
    hn__free(a, (void *)b->chunks[k].item_keys);
  }
  b->n = 0;
  b->bytes = 0;
}

/* Write the batch in one transaction; write events per chunk. */
static hn_status batch_flush(hn__cplan *cp, batch *b, hn_error *err) {
  if (b->n == 0) return HN_OK;
  hn__cache_put_info *info = hn__calloc(cp->a, (size_t)b->n, sizeof *info);
  hn_status st = info ? hn__cache_put_chunks(cp->store, b->n, b->chunks, info, err)
                      : hn__error_nomem(err, "writing the cache");
  for (int64_t k = 0; k < b->n && st == HN_OK; k++) {
    if (info[k].stored) {
      cp->bytes_written += info[k].bytes;
      hn__cplan_event(cp, cp->ev.write, b->steps[k], info[k].items, NULL);
    } else {
      hn__cplan_event(cp, cp->ev.write, b->steps[k], 0,
                      "not written: the chunk alone exceeds the bound");
    }
  }
  hn__free(cp->a, info);
  batch_clear(cp->a, b);
  return st;
}

static hn_status batch_add(hn__cplan *cp, batch *b, int64_t s, hn__cache_chunk chunk,
                           hn_error *err) {
  if (b->n == b->cap) {
    int64_t cap = b->cap ? b->cap * 2 : 16;
    hn__cache_chunk *c = hn__realloc(cp->a, b->chunks, sizeof *c * (size_t)cap);
    if (c) b->chunks = c;
    int64_t *st = c ? hn__realloc(cp->a, b->steps, sizeof *st * (size_t)cap) : NULL;
    if (st) b->steps = st;
    if (!c || !st) {
      hn_table_release((hn_table *)chunk.table);
      hn__free(cp->a, (void *)chunk.item_keys);
      return hn__error_nomem(err, "writing the cache");
    }
    b->cap = cap;
  }
  b->chunks[b->n] = chunk;
  b->steps[b->n++] = s;
  b->bytes += hn__table_bytes(chunk.table);
  return b->bytes >= BATCH_BYTES ? batch_flush(cp, b, err) : HN_OK;
}

/* Step s's results for items [first, first+count) into the batch, when this call computed some. */
static hn_status write_chunk(hn__cplan *cp, batch *b, int64_t s, int64_t first, int64_t count,
                             const uint8_t *failed, uint8_t *skip, hn_error *err) {
  const hn_plan_step *ps = &cp->x->plan->steps[s];
  int64_t n = cp->n, kept = 0;
  bool fresh = false, any_skip = false;
  for (int64_t i = first; i < first + count; i++) {
    int64_t c = s * n + i;
    skip[i - first] = cp->loc_table[c] < 0 || failed[i] || hn__hash128_is_zero(cp->keys.key[c]);
    any_skip |= skip[i - first] != 0;
    fresh |= cp->run[c] && !skip[i - first];
    kept += !skip[i - first];
  }
  if (!fresh || kept == 0) return HN_OK;
  hn__hash128 *item_keys = hn__malloc(cp->a, sizeof *item_keys * (size_t)kept);
  int64_t no = ps->node->n_outputs;
  hn_array **cols = hn__calloc(cp->a, (size_t)no, sizeof *cols);
  hn_status st = item_keys && cols ? HN_OK : hn__error_nomem(err, "writing the cache");
  for (int64_t i = first, j = 0; i < first + count && st == HN_OK; i++)
    if (!skip[i - first]) item_keys[j++] = cp->keys.key[s * n + i];
  for (int64_t k = 0; k < no && st == HN_OK; k++)
    st = kept_column(cp, s, ps->node->outputs[k], first, count, skip, &cols[k], err);
  hn_table *t = NULL;
  if (st == HN_OK)
    st = hn_table_create(cp->a, no, (const char *const *)ps->node->outputs, cols, &t, err);
  for (int64_t k = 0; cols && k < no; k++) hn_array_release(cols[k]);
  hn__free(cp->a, cols);
  if (st != HN_OK) {
    hn__free(cp->a, item_keys);
    return st;
  }
  hn__hash128 key = hn__ckeys_chunk(&cp->keys, s, first, count, any_skip ? skip : NULL);
  return batch_add(cp, b, s, (hn__cache_chunk){key, t, kept, item_keys}, err); /* takes t, keys */
}

/*
 * Write what the call computed. A failure to write is not the call's: the
 * results are right; it is reported in a write event and writing stops.
 */
static void write_results(hn__cplan *cp, const uint8_t *failed) {
  int64_t n = cp->n, C = cp->chunk, s = 0;
  batch b = {NULL, NULL, 0, 0, 0};
  uint8_t *skip = hn__malloc(cp->a, (size_t)C);
  hn_error e;
  hn_error_reset(&e);
  hn_status st = skip ? HN_OK : hn__error_nomem(&e, "writing the cache");
  for (; s < cp->keys.n_steps && st == HN_OK; s++) {
    if (cp->keys.why_not[s]) continue;
    for (int64_t first = 0; first < n && st == HN_OK; first += C)
      st = write_chunk(cp, &b, s, first, n - first < C ? n - first : C, failed, skip, &e);
  }
  if (st == HN_OK) st = batch_flush(cp, &b, &e);
  if (st != HN_OK) hn__cplan_event(cp, cp->ev.write, s > 0 ? s - 1 : 0, 0, e.message);
  batch_clear(cp->a, &b);
  hn__free(cp->a, b.chunks);
  hn__free(cp->a, b.steps);
  hn__free(cp->a, skip);
}

/* Item events for the items that ran nothing: every result they need was found. */
static void found_items_events(const hn__cplan *cp, const hn_callbacks *cb) {
  if (!cb || !cp->x->is_map || (!cb->on_item_start && !cb->on_item_end)) return;
  const hn_plan *plan = cp->x->plan;
  for (int64_t i = 0; i < cp->n; i++) {
    bool runs = false;
    for (int64_t s = 0; s < plan->n_steps && !runs; s++) runs = cp->run[s * cp->n + i] != 0;
    if (runs) continue;
    char path[32];
    hn_event ev;
    memset(&ev, 0, sizeof ev);
    ev.pipeline = plan->pipeline->name ? plan->pipeline->name : "";
    ev.item = hn__call_item(cp->x, i);
    snprintf(path, sizeof path, "%lld", (long long)ev.item);
    ev.item_path = path;
    ev.n_rows = 1;
    ev.start_ns = hn__now_ns();
    ev.thread = -1; /* found: nothing ran, on the calling thread */
    ev.process = -1;
    ev.engine = cp->x->engine->ops->name;
    if (cb->on_item_start) cb->on_item_start(cb->user_data, &ev);
    if (cb->on_item_end) cb->on_item_end(cb->user_data, &ev);
  }
}

hn_status hn__cached_run(hn__call *x, hn_cache *cache, hn_cache_mode mode, hn_cache_nodes which,
                         const hn_callbacks *cb, hn_result **out, hn_error *err) {
  hn_status st;
  hn__cache *store = hn__cache_store_claim(cache, err, &st);
  if (!store) return st;
  hn__cplan cp;
  memset(&cp, 0, sizeof cp);
  cp.x = x;
  cp.a = &x->alloc;
  cp.store = store;
  cp.mode = mode;
  cp.n = x->n_items;
  cp.chunk = HN__CACHE_CHUNK;
  if (cb) {
    cp.ev.ud = cb->user_data;
    cp.ev.hit = cb->on_cache_hit;
    cp.ev.miss = cb->on_cache_miss;
    cp.ev.write = cb->on_cache_write;
  }
  hn__collector *col = NULL;
  uint8_t *failed = hn__calloc(cp.a, (size_t)(cp.n ? cp.n : 1), 1);
  st = failed ? hn__ckeys_compute(x, which, &cp.keys, err) : hn__error_nomem(err, "a cached call");
  if (st == HN_OK) st = hn__cplan_build(&cp, err);
  if (st == HN_OK) st = hn__collector_create(x, &col, err);
  if (st == HN_OK) found_items_events(&cp, cb);
  if (st == HN_OK) st = hn__cached_groups(&cp, col, failed, err);
  if (st == HN_OK && mode != HN_CACHE_READ_ONLY) write_results(&cp, failed);
  if (st == HN_OK) {
    hn__collector_add_cache(col, cp.hits, cp.misses, cp.bytes_read, cp.bytes_written);
    st = hn__collector_finish(col, out, err);
  }
  hn__collector_destroy(col);
  hn__free(cp.a, failed);
  hn__cplan_free(&cp);
  hn__cache_store_release(cache);
  return st;
}
