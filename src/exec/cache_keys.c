/*
 * The keys of a cached call (docs/cache.md), all computed before anything
 * runs. A node's key for an item hashes the node's identity (name, version,
 * output names and types; for a nested node the inner pipeline's identity,
 * mapping and map mode) and the keys of its inputs in order: a value the
 * caller gives contributes the hash of its data (type-aware), an output of
 * another node that node's key. So the key of every node for every item is
 * known up front, and changing a node's version changes the keys of that
 * node and everything downstream of it, nothing else.
 *
 * A zero key means "cannot be keyed": the item's input holds an object, or
 * a resource without a version, at some point upstream.
 */
#include <stdio.h>

#include "cache_keys.h"

#define SEED_NODE 0x6e6f6465ULL  /* "node" */
#define SEED_CHUNK 0x6368756eULL /* "chun" */

/* A growable scratch of bytes to hash in one go. */
typedef struct hbuf {
  uint8_t local[256];
  uint8_t *p;
  size_t n, cap;
  const hn_allocator *a;
  bool failed;
} hbuf;

static void hb_put(hbuf *b, const void *data, size_t n) {
  if (b->failed) return;
  if (b->n + n > b->cap) {
    size_t cap = b->cap * 2 > b->n + n ? b->cap * 2 : b->n + n;
    uint8_t *q = b->p == b->local ? hn__malloc(b->a, cap) : hn__realloc(b->a, b->p, cap);
    if (!q) {
      b->failed = true;
      return;
    }
    if (b->p == b->local) memcpy(q, b->local, b->n);
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
}

static void hb_str(hbuf *b, const char *s) {
  hb_put(b, s ? s : "", (s ? strlen(s) : 0) + 1); /* with the NUL: "ab"+"c" differs from "a"+"bc" */
}

static void hb_hash(hbuf *b, hn__hash128 h) {
  hb_put(b, &h, sizeof h);
}

static void hb_free(hbuf *b) {
  if (b->p != b->local) hn__free(b->a, b->p);
}

static void plan_identity(hbuf *b, const hn_plan *plan);

/* What a node is: name, version, outputs; for a nested node its inner pipeline and mapping. */
static void step_identity(hbuf *b, const hn_plan_step *ps) {
  const hn_gnode *g = ps->node;
  hb_str(b, g->name);
  hb_str(b, g->version);
  for (int64_t k = 0; k < g->n_outputs; k++) {
    hb_str(b, g->outputs[k]);
    hb_hash(b, hn__type_hash(g->output_types[k]));
  }
  if (!ps->inner) return;
  hb_str(b, "nested");
  int32_t mode = (int32_t)g->map_mode;
  hb_put(b, &mode, sizeof mode);
  for (int64_t i = 0; i < g->n_inputs; i++) {
    hb_str(b, g->inner_inputs ? g->inner_inputs[i] : "");
    uint8_t m = g->mapped && g->mapped[i];
    hb_put(b, &m, 1);
  }
  for (int64_t k = 0; k < g->n_outputs; k++) hb_str(b, g->inner_outputs[k]);
  plan_identity(b, ps->inner);
}

/* An inner plan: its steps in order, its inputs and the bound values feeding them. */
static void plan_identity(hbuf *b, const hn_plan *plan) {
  for (int64_t q = 0; q < plan->n_inputs; q++) {
    hb_str(b, plan->input_names[q]);
    int64_t row = 0;
    const hn_array *bound = hn__plan_input_bound(plan, q, &row);
    hn__hash128 h = {0, 0};
    if (bound && hn__array_hash_rows(bound, row, 1, &h, NULL) == HN_OK)
      h = hn__hash128_combine(hn__type_hash(bound->type), h);
    hb_hash(b, h);
  }
  for (int64_t s = 0; s < plan->n_steps; s++) step_identity(b, &plan->steps[s]);
  for (int64_t r = 0; r < plan->n_requested; r++) hb_str(b, plan->requested_names[r]);
}

/* Why step s may not be cached at all (NULL: it may). */
static const char *not_cacheable(const hn_plan_step *ps, hn_cache_nodes which) {
  const hn_gnode *g = ps->node;
  if (g->cache == HN_NODE_CACHE_OFF) return "not cached: the node is marked HN_NODE_CACHE_OFF";
  if (g->cache == HN_NODE_CACHE_DEFAULT && which == HN_CACHE_NODES_MARKED)
    return "not cached: the call caches only nodes marked HN_NODE_CACHE_ON";
  for (int64_t k = 0; k < g->n_outputs; k++)
    if (hn_type_has_object(g->output_types[k])) return "not cached: an output holds objects";
  return NULL;
}

/* The keys of plan input q for every row of its source (mapped: per column row). */
static hn_status input_keys(const hn__call *x, int64_t q, hn__hash128 **out, int64_t *n_out,
                            hn_error *err) {
  const hn__src *src = &x->srcs[q];
  const hn_allocator *a = &x->alloc;
  int64_t n = src->kind == HN__SRC_MAPPED ? src->length : 1;
  hn__hash128 *h = hn__calloc(a, (size_t)(n ? n : 1), sizeof *h);
  if (!h) return hn__error_nomem(err, "computing cache keys");
  *out = h;
  *n_out = n;
  if (src->kind == HN__SRC_RESOURCE) {
    hn_resource *r = src->resource;
    if (r->version) {
      hn__hash128 v = hn__hash128_bytes(r->version, strlen(r->version), 0x726573);
      h[0] = hn__hash128_combine(hn__hash128_bytes(r->name, strlen(r->name), 0x726573), v);
    }
    return HN_OK; /* no version: zero, the node reading it is not cached */
  }
  const hn_array *arr = src->kind == HN__SRC_MAPPED ? src->column : src->array;
  int64_t first = src->kind == HN__SRC_MAPPED ? 0 : src->row;
  if (hn_type_has_object(arr->type)) return HN_OK; /* objects are never keyed */
  hn_status st = hn__array_hash_rows(arr, first, n, h, err);
  if (st != HN_OK) return st;
  hn__hash128 t = hn__type_hash(arr->type);
  for (int64_t i = 0; i < n; i++) h[i] = hn__hash128_combine(t, h[i]);
  return HN_OK;
}

void hn__ckeys_free(const hn_allocator *a, hn__ckeys *k) {
  hn__free(a, k->key);
  hn__free(a, k->ident);
  hn__free(a, k->why_not);
  hn__free(a, k->producer);
  memset(k, 0, sizeof *k);
}

/* Identities and cacheability of every step, and the producer of every slot. */
static hn_status steps_setup(const hn__call *x, hn_cache_nodes which, hn__ckeys *k, hn_error *err) {
  const hn_plan *plan = x->plan;
  const hn_allocator *a = &x->alloc;
  for (int64_t s = 0; s < plan->n_slots; s++) k->producer[s] = -1;
  for (int64_t s = 0; s < plan->n_steps; s++) {
    const hn_plan_step *ps = &plan->steps[s];
    for (int64_t j = 0; j < ps->node->n_outputs; j++) k->producer[ps->out_slots[j]] = s;
    k->why_not[s] = not_cacheable(ps, which);
    hbuf b = {.p = NULL, .a = a};
    b.p = b.local;
    b.cap = sizeof b.local;
    step_identity(&b, ps);
    if (b.failed) {
      hb_free(&b);
      return hn__error_nomem(err, "computing cache keys");
    }
    k->ident[s] = hn__hash128_bytes(b.p, b.n, SEED_NODE);
    hb_free(&b);
  }
  return HN_OK;
}

/* Step s's key for every item: one hash over its identity and its inputs' keys. */
static void step_keys(const hn__call *x, hn__ckeys *k, int64_t s, hn__hash128 *const *in_keys,
                      const int64_t *in_rows) {
  const hn_plan_step *ps = &x->plan->steps[s];
  int64_t ni = ps->node->n_inputs, n = k->n;
  hn__hash128 buf[33];
  hn_map_mode mode = x->zip ? HN_MAP_ZIP : HN_MAP_PRODUCT;
  for (int64_t i = 0; i < n; i++) {
    bool zero = false;
    buf[0] = k->ident[s];
    for (int64_t j = 0; j < ni && j < 32; j++) {
      int64_t slot = ps->in_slots[j], p = k->producer[slot];
      hn__hash128 h;
      if (p >= 0) {
        h = k->key[p * n + i];
      } else {
        const hn__src *src = &x->srcs[slot];
        int64_t row =
            src->kind == HN__SRC_MAPPED ? hn__map_row(mode, i, src->stride, src->length) : 0;
        h = in_keys[slot][row < in_rows[slot] ? row : 0];
      }
      zero = zero || hn__hash128_is_zero(h);
      buf[1 + j] = h;
    }
    if (ni > 32) { /* more inputs than the buffer: fold the rest in */
      hn__hash128 acc = hn__hash128_bytes(buf, sizeof buf, SEED_NODE);
      for (int64_t j = 32; j < ni; j++) {
        int64_t slot = ps->in_slots[j], p = k->producer[slot];
        hn__hash128 h = p >= 0 ? k->key[p * n + i] : in_keys[slot][0];
        zero = zero || hn__hash128_is_zero(h);
        acc = hn__hash128_combine(acc, h);
      }
      k->key[s * n + i] = zero ? (hn__hash128){0, 0} : acc;
      continue;
    }
    k->key[s * n + i] =
        zero ? (hn__hash128){0, 0}
             : hn__hash128_bytes(buf, sizeof(hn__hash128) * (size_t)(1 + ni), SEED_NODE);
  }
}

hn_status hn__ckeys_compute(const hn__call *x, hn_cache_nodes which, hn__ckeys *k, hn_error *err) {
  const hn_plan *plan = x->plan;
  const hn_allocator *a = &x->alloc;
  memset(k, 0, sizeof *k);
  k->n = x->n_items;
  k->n_steps = plan->n_steps;
  size_t cells = (size_t)(k->n * k->n_steps);
  k->key = hn__calloc(a, cells ? cells : 1, sizeof *k->key);
  k->ident = hn__calloc(a, (size_t)(k->n_steps ? k->n_steps : 1), sizeof *k->ident);
  k->why_not = hn__calloc(a, (size_t)(k->n_steps ? k->n_steps : 1), sizeof *k->why_not);
  k->producer = hn__calloc(a, (size_t)plan->n_slots, sizeof *k->producer);
  hn__hash128 **in_keys = hn__calloc(a, (size_t)(plan->n_inputs + 1), sizeof *in_keys);
  int64_t *in_rows = hn__calloc(a, (size_t)(plan->n_inputs + 1), sizeof *in_rows);
  hn_status st = k->key && k->ident && k->why_not && k->producer && in_keys && in_rows
                     ? steps_setup(x, which, k, err)
                     : hn__error_nomem(err, "computing cache keys");
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++)
    st = input_keys(x, q, &in_keys[q], &in_rows[q], err);
  for (int64_t s = 0; s < plan->n_steps && st == HN_OK; s++) step_keys(x, k, s, in_keys, in_rows);
  for (int64_t q = 0; in_keys && q < plan->n_inputs; q++) hn__free(a, in_keys[q]);
  hn__free(a, in_keys);
  hn__free(a, in_rows);
  if (st != HN_OK) hn__ckeys_free(a, k);
  return st;
}

hn__hash128 hn__ckeys_chunk(const hn__ckeys *k, int64_t s, int64_t first, int64_t count,
                            const uint8_t *skip) {
  const hn__hash128 *keys = k->key + s * k->n + first;
  if (!skip) return hn__hash128_bytes(keys, sizeof *keys * (size_t)count, SEED_CHUNK);
  /* Rows left out (failed items) count as zero keys: such a chunk never matches a whole one. */
  hn__hash128 acc = hn__hash128_bytes(&k->ident[s], sizeof k->ident[s], SEED_CHUNK);
  for (int64_t i = 0; i < count; i++)
    acc = hn__hash128_combine(acc, skip[i] ? (hn__hash128){0, 0} : keys[i]);
  return acc;
}
