/*
 * What a cached call finds and what it must run (docs/cache.md). Steps are
 * visited consumers first: a step is needed for an item when it produces a
 * requested output or feeds a step that runs for that item; a needed step
 * is looked up (a whole chunk of items by its chunk key first, then item by
 * item) and runs only when it is not found. Where each (step, item) result
 * is found is recorded as a row of a table: a chunk read from the cache, or
 * (later, cache_run.c) the outputs of a sub-call.
 */
#include <stdio.h>

#include "cache_plan.h"

#define TABLE_NONE (-1)

void hn__cplan_free(hn__cplan *cp) {
  const hn_allocator *a = cp->a;
  for (int64_t t = 0; t < cp->n_tables; t++) hn_table_release(cp->tables[t]);
  hn__free(a, cp->tables);
  hn__free(a, cp->table_keys);
  hn__free(a, cp->loc_table);
  hn__free(a, cp->loc_row);
  hn__free(a, cp->need);
  hn__free(a, cp->run);
  hn__ckeys_free(a, &cp->keys);
}

hn_status hn__cplan_add_table(hn__cplan *cp, hn_table *table, hn__hash128 key, int32_t *index,
                              hn_error *err) {
  if (cp->n_tables == cp->cap_tables) {
    int64_t cap = cp->cap_tables ? cp->cap_tables * 2 : 16;
    if (cap > INT32_MAX) return hn__error(err, HN_ERANGE, "a cached call reads too many chunks");
    hn_table **t = hn__realloc(cp->a, cp->tables, sizeof *t * (size_t)cap);
    if (t) cp->tables = t;
    hn__hash128 *k = t ? hn__realloc(cp->a, cp->table_keys, sizeof *k * (size_t)cap) : NULL;
    if (k) cp->table_keys = k;
    if (!t || !k) {
      hn_table_release(table);
      return hn__error_nomem(err, "reading the cache");
    }
    cp->cap_tables = cap;
  }
  cp->tables[cp->n_tables] = table;
  cp->table_keys[cp->n_tables] = key;
  *index = (int32_t)cp->n_tables++;
  return HN_OK;
}

/* The table read for chunk `key` (reading it on first use); *index -1 when it is gone. */
static hn_status chunk_table(hn__cplan *cp, int64_t s, hn__hash128 key, int32_t *index,
                             hn_error *err) {
  for (int64_t t = cp->n_tables - 1; t >= 0; t--) /* recent first: lookups come in runs */
    if (hn__hash128_eq(cp->table_keys[t], key)) {
      *index = (int32_t)t;
      return HN_OK;
    }
  *index = TABLE_NONE;
  hn_table *table = NULL;
  bool corrupt = false;
  hn_error e;
  hn_error_reset(&e);
  hn_status st = hn__cache_get_chunk(cp->store, key, &table, &corrupt, &e);
  if (corrupt) hn__cplan_event(cp, cp->ev.miss, s, 0, e.message);
  if (st == HN_ENOTFOUND) return HN_OK; /* evicted meanwhile, or corrupt and dropped: a miss */
  if (st != HN_OK) {
    if (err) *err = e;
    return st;
  }
  cp->bytes_read += hn__table_bytes(table);
  return hn__cplan_add_table(cp, table, key, index, err);
}

/* Items [first, first+count) of step s found as one chunk (every key known). */
static hn_status lookup_chunk(hn__cplan *cp, int64_t s, int64_t first, int64_t count,
                              hn_error *err) {
  int64_t n = cp->n;
  const hn__hash128 *keys = cp->keys.key + s * n + first;
  for (int64_t i = 0; i < count; i++)
    if (hn__hash128_is_zero(keys[i])) return HN_OK;
  int32_t t;
  hn_status st = chunk_table(cp, s, hn__ckeys_chunk(&cp->keys, s, first, count, NULL), &t, err);
  if (st != HN_OK || t == TABLE_NONE) return st;
  if (hn_table_num_rows(cp->tables[t]) != count) return HN_OK; /* not what the key promised */
  for (int64_t i = 0; i < count; i++) {
    cp->loc_table[s * n + first + i] = t;
    cp->loc_row[s * n + first + i] = (uint32_t)i;
  }
  return HN_OK;
}

/* Needed items of step s in [first, first+count) not found yet: looked up one by one. */
static hn_status lookup_items(hn__cplan *cp, int64_t s, int64_t first, int64_t count,
                              hn__hash128 *keys, int64_t *items, hn__cache_item *found,
                              hn_error *err) {
  int64_t n = cp->n, m = 0;
  for (int64_t i = first; i < first + count; i++) {
    int64_t c = s * n + i;
    if (!cp->need[c] || cp->loc_table[c] != TABLE_NONE) continue;
    if (hn__hash128_is_zero(cp->keys.key[c])) continue;
    keys[m] = cp->keys.key[c];
    items[m++] = i;
  }
  if (m == 0) return HN_OK;
  hn_status st = hn__cache_get_items(cp->store, m, keys, found, NULL, err);
  for (int64_t k = 0; k < m && st == HN_OK; k++) {
    if (!found[k].found) continue;
    int32_t t;
    st = chunk_table(cp, s, found[k].chunk, &t, err);
    if (st != HN_OK || t == TABLE_NONE) continue;
    if ((int64_t)found[k].row >= hn_table_num_rows(cp->tables[t])) continue;
    cp->loc_table[s * n + items[k]] = t;
    cp->loc_row[s * n + items[k]] = found[k].row;
  }
  return st;
}

/* Look step s up for the items that need it, chunk by chunk. */
static hn_status lookup_step(hn__cplan *cp, int64_t s, hn_error *err) {
  const hn_allocator *a = cp->a;
  int64_t n = cp->n, C = cp->chunk;
  hn__hash128 *keys = hn__calloc(a, (size_t)C, sizeof *keys);
  int64_t *items = hn__calloc(a, (size_t)C, sizeof *items);
  hn__cache_item *found = hn__calloc(a, (size_t)C, sizeof *found);
  hn_status st = keys && items && found ? HN_OK : hn__error_nomem(err, "looking up the cache");
  for (int64_t first = 0; first < n && st == HN_OK; first += C) {
    int64_t count = n - first < C ? n - first : C, needed = 0;
    for (int64_t i = first; i < first + count; i++) needed += cp->need[s * n + i];
    if (needed == 0) continue;
    st = lookup_chunk(cp, s, first, count, err);
    if (st == HN_OK) st = lookup_items(cp, s, first, count, keys, items, found, err);
  }
  hn__free(a, keys);
  hn__free(a, items);
  hn__free(a, found);
  return st;
}

/* After step s is settled: what runs, and what its running items need from upstream. */
static void settle_step(hn__cplan *cp, int64_t s, int64_t *hits, int64_t *misses) {
  const hn_plan_step *ps = &cp->x->plan->steps[s];
  int64_t n = cp->n;
  for (int64_t i = 0; i < n; i++) {
    int64_t c = s * n + i;
    if (!cp->need[c]) continue;
    if (cp->loc_table[c] != TABLE_NONE) {
      (*hits)++;
      continue;
    }
    (*misses)++;
    cp->run[c] = 1;
    for (int64_t j = 0; j < ps->node->n_inputs; j++) {
      int64_t p = cp->keys.producer[ps->in_slots[j]];
      if (p >= 0) cp->need[p * n + i] = 1;
    }
  }
}

hn_status hn__cplan_build(hn__cplan *cp, hn_error *err) {
  const hn__call *x = cp->x;
  const hn_plan *plan = x->plan;
  const hn_allocator *a = cp->a;
  int64_t n = cp->n, S = plan->n_steps;
  size_t cells = (size_t)(n * S);
  cp->loc_table = hn__malloc(a, sizeof *cp->loc_table * (cells ? cells : 1));
  cp->loc_row = hn__calloc(a, cells ? cells : 1, sizeof *cp->loc_row);
  cp->need = hn__calloc(a, cells ? cells : 1, 1);
  cp->run = hn__calloc(a, cells ? cells : 1, 1);
  if (!cp->loc_table || !cp->loc_row || !cp->need || !cp->run)
    return hn__error_nomem(err, "planning a cached call");
  for (size_t c = 0; c < cells; c++) cp->loc_table[c] = TABLE_NONE;
  for (int64_t r = 0; r < plan->n_requested; r++) {
    int64_t p = cp->keys.producer[plan->requested_slots[r]];
    if (p >= 0) memset(cp->need + p * n, 1, (size_t)n);
  }
  hn_status st = HN_OK;
  for (int64_t s = S - 1; s >= 0 && st == HN_OK; s--) { /* consumers before producers */
    bool cacheable = !cp->keys.why_not[s];
    if (cacheable && cp->mode != HN_CACHE_RECOMPUTE) st = lookup_step(cp, s, err);
    if (st != HN_OK) break;
    int64_t hits = 0, misses = 0;
    settle_step(cp, s, &hits, &misses);
    if (!cacheable) {
      if (misses > 0) hn__cplan_event(cp, cp->ev.miss, s, misses, cp->keys.why_not[s]);
      continue;
    }
    cp->hits += hits;
    cp->misses += misses;
    if (hits > 0) hn__cplan_event(cp, cp->ev.hit, s, hits, NULL);
    if (misses > 0) hn__cplan_event(cp, cp->ev.miss, s, misses, NULL);
  }
  return st;
}

void hn__cplan_event(const hn__cplan *cp, hn_callback fn, int64_t s, int64_t n_rows,
                     const char *message) {
  if (!fn) return;
  hn_event ev;
  memset(&ev, 0, sizeof ev);
  ev.pipeline = cp->x->plan->pipeline->name ? cp->x->plan->pipeline->name : "";
  ev.node = cp->x->plan->steps[s].node->name;
  ev.item = -1;
  ev.n_items = cp->n;
  ev.n_rows = n_rows;
  ev.message = message;
  ev.start_ns = hn__now_ns();
  ev.thread = -1; /* on the calling thread */
  ev.process = -1;
  ev.engine = cp->x->engine->ops->name;
  fn(cp->ev.ud, &ev);
}
