/*
 * A chain of callback sets: each kind of event goes to every set observing
 * it, in the order added. The chain's own callback for a kind is set only
 * when some set observes that kind, so unobserved kinds still cost nothing.
 */
#include <stddef.h>

#include "observe_internal.h"

/* The callback members of hn_callbacks, in order. */
static const size_t k_members[] = {
    offsetof(hn_callbacks, on_pipeline_start), offsetof(hn_callbacks, on_pipeline_end),
    offsetof(hn_callbacks, on_map_start),      offsetof(hn_callbacks, on_map_end),
    offsetof(hn_callbacks, on_item_start),     offsetof(hn_callbacks, on_item_end),
    offsetof(hn_callbacks, on_node_start),     offsetof(hn_callbacks, on_node_end),
    offsetof(hn_callbacks, on_error),          offsetof(hn_callbacks, on_chunk_start),
    offsetof(hn_callbacks, on_chunk_end)};
enum { KINDS = sizeof k_members / sizeof k_members[0] };

typedef struct target {
  hn_callback fn;
  void *user_data;
} target;

struct hn_callback_chain {
  hn_allocator alloc;
  target *targets[KINDS]; /* per kind, the sets' callbacks in order */
  int n[KINDS], cap[KINDS];
};

static hn_callback member(const hn_callbacks *cb, int k) {
  hn_callback fn;
  memcpy(&fn, (const char *)cb + k_members[k], sizeof fn);
  return fn;
}

static void dispatch(const hn_callback_chain *c, int k, const hn_event *ev) {
  for (int i = 0; i < c->n[k]; i++) c->targets[k][i].fn(c->targets[k][i].user_data, ev);
}

#define TRAMPOLINE(name, k)                           \
  static void name(void *ud, const hn_event *ev) {    \
    dispatch((const hn_callback_chain *)ud, (k), ev); \
  }
TRAMPOLINE(t_pipeline_start, 0)
TRAMPOLINE(t_pipeline_end, 1)
TRAMPOLINE(t_map_start, 2)
TRAMPOLINE(t_map_end, 3)
TRAMPOLINE(t_item_start, 4)
TRAMPOLINE(t_item_end, 5)
TRAMPOLINE(t_node_start, 6)
TRAMPOLINE(t_node_end, 7)
TRAMPOLINE(t_error, 8)
TRAMPOLINE(t_chunk_start, 9)
TRAMPOLINE(t_chunk_end, 10)
static const hn_callback k_trampolines[KINDS] = {
    t_pipeline_start, t_pipeline_end, t_map_start, t_map_end,     t_item_start, t_item_end,
    t_node_start,     t_node_end,     t_error,     t_chunk_start, t_chunk_end};

hn_status hn_callback_chain_create(const hn_allocator *alloc, hn_callback_chain **out,
                                   hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_callback_chain_create: NULL out");
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_callback_chain *c = hn__calloc(&a, 1, sizeof *c);
  if (!c) return hn__error_nomem(err, "for a callback chain");
  c->alloc = a;
  *out = c;
  return HN_OK;
}

void hn_callback_chain_destroy(hn_callback_chain *chain) {
  if (!chain) return;
  hn_allocator a = chain->alloc;
  for (int k = 0; k < KINDS; k++) hn__free(&a, chain->targets[k]);
  hn__free(&a, chain);
}

hn_status hn_callback_chain_add(hn_callback_chain *chain, const hn_callbacks *callbacks,
                                hn_error *err) {
  if (!chain || !callbacks)
    return hn__error(err, HN_EINVAL, "hn_callback_chain_add: NULL argument");
  size_t min = offsetof(hn_callbacks, user_data) + sizeof callbacks->user_data;
  if (callbacks->size < min)
    return hn__error(err, HN_EINVAL, "callbacks->size is %zu: set it to sizeof(hn_callbacks)",
                     callbacks->size);
  hn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  memcpy(&cb, callbacks, callbacks->size < sizeof cb ? callbacks->size : sizeof cb);
  /* Make room in every kind first, so that a failure adds nothing. */
  for (int k = 0; k < KINDS; k++) {
    if (!member(&cb, k) || chain->n[k] < chain->cap[k]) continue;
    int cap = chain->cap[k] ? 2 * chain->cap[k] : 4;
    target *t = hn__realloc(&chain->alloc, chain->targets[k], sizeof *t * (size_t)cap);
    if (!t) return hn__error_nomem(err, "adding callbacks to a chain");
    chain->targets[k] = t;
    chain->cap[k] = cap;
  }
  for (int k = 0; k < KINDS; k++)
    if (member(&cb, k)) chain->targets[k][chain->n[k]++] = (target){member(&cb, k), cb.user_data};
  return HN_OK;
}

void hn_callback_chain_get_callbacks(const hn_callback_chain *chain, hn_callbacks *out,
                                     size_t size) {
  if (!out) return;
  hn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.size = sizeof cb;
  cb.user_data = (void *)chain;
  for (int k = 0; chain && k < KINDS; k++)
    if (chain->n[k] > 0) memcpy((char *)&cb + k_members[k], &k_trampolines[k], sizeof(hn_callback));
  memcpy(out, &cb, size < sizeof cb ? size : sizeof cb);
  if (size >= sizeof out->size) out->size = size < sizeof cb ? size : sizeof cb;
}
