/*
 * A cached call on a collective engine (mpi): rank 0 owns the cache and
 * plans the groups (cache_plan.c, cache_run.c); before each group's
 * sub-call it announces the sub-plan (given and asked names) and the item
 * count, and at the end the call's outcome. The other ranks build the same
 * sub-plan from the same pipeline and serve each sub-call: they need only
 * the kinds and types of its inputs, their values reach them with the
 * engine's own messages. A rank that cannot follow (out of memory, a plan
 * it cannot build) aborts the job: the ranks would be out of step.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cache_plan.h"

/* What rank 0 broadcasts before each group, and once at the end (kind 0). */
typedef struct group_head {
  int64_t kind;       /* 1: a group's sub-call follows; 0: the call is over */
  int64_t names_size; /* kind 1: bytes of packed names that follow */
  int64_t n_items;    /* kind 1: the sub-call's items */
  int32_t status;     /* kind 0: the call's outcome */
  int32_t pad;
  hn_error err; /* kind 0, status not HN_OK: its error */
} group_head;

/* Layout: int64 n_given, int64 n_asked, then every name NUL-terminated, given first. */
hn_status hn__group_names_pack(const hn_allocator *a, int64_t n_given, const char *const *given,
                               int64_t n_asked, const char *const *asked, uint8_t **out,
                               size_t *size, hn_error *err) {
  size_t n = 2 * sizeof(int64_t);
  for (int64_t k = 0; k < n_given; k++) n += strlen(given[k]) + 1;
  for (int64_t k = 0; k < n_asked; k++) n += strlen(asked[k]) + 1;
  uint8_t *p = hn__malloc(a, n);
  if (!p) return hn__error_nomem(err, "announcing a cached call's group");
  memcpy(p, &n_given, sizeof n_given);
  memcpy(p + sizeof n_given, &n_asked, sizeof n_asked);
  size_t at = 2 * sizeof(int64_t);
  for (int64_t k = 0; k < n_given + n_asked; k++) {
    const char *s = k < n_given ? given[k] : asked[k - n_given];
    size_t len = strlen(s) + 1;
    memcpy(p + at, s, len);
    at += len;
  }
  *out = p;
  *size = n;
  return HN_OK;
}

void hn__cached_announce(const hn__call *sub, const uint8_t *names, size_t size) {
  group_head h;
  memset(&h, 0, sizeof h);
  h.kind = 1;
  h.names_size = (int64_t)size;
  h.n_items = sub->n_items;
  sub->engine->ops->bcast(sub->engine, &h, sizeof h);
  sub->engine->ops->bcast(sub->engine, (void *)names, size);
}

void hn__cached_done(const hn__call *x, hn_status st, const hn_error *err) {
  group_head h;
  memset(&h, 0, sizeof h);
  h.status = (int32_t)st;
  if (st != HN_OK && err) h.err = *err;
  x->engine->ops->bcast(x->engine, &h, sizeof h);
}

static _Noreturn void out_of_step(const hn__call *x, const char *why) {
  fprintf(stderr, "hypernodes: rank %d cannot follow rank 0's cached call: %s\n", x->engine->rank,
          why);
  abort();
}

/* Unpack the names (checked against the buffer's size) into given and asked. */
static bool unpack(const uint8_t *p, size_t size, const char **v, int64_t cap, int64_t *n_given,
                   int64_t *n_asked) {
  if (size < 2 * sizeof(int64_t)) return false;
  memcpy(n_given, p, sizeof *n_given);
  memcpy(n_asked, p + sizeof *n_given, sizeof *n_asked);
  if (*n_given < 0 || *n_asked < 0 || *n_given + *n_asked > cap) return false;
  size_t at = 2 * sizeof(int64_t);
  for (int64_t k = 0; k < *n_given + *n_asked; k++) {
    const uint8_t *end = at < size ? memchr(p + at, 0, size - at) : NULL;
    if (!end) return false;
    v[k] = (const char *)p + at;
    at = (size_t)(end - p) + 1;
  }
  return true;
}

/* The source of sub-plan input q on a serving rank: its kind and type (values come by message). */
static hn__src serve_source(const hn__call *x, const hn_plan *sub, int64_t q) {
  const hn_plan *plan = x->plan;
  int64_t row = 0;
  hn_array *bound = hn__plan_input_bound(sub, q, &row);
  if (bound)
    return (hn__src){.kind = HN__SRC_CONST,
                     .type = bound->type,
                     .array = bound,
                     .row = row,
                     .value = hn_array_get(bound, row)};
  for (int64_t k = 0; k < plan->n_inputs; k++)
    if (strcmp(plan->input_names[k], sub->input_names[q]) == 0) return x->srcs[k];
  /* A found result, handed in as a column. */
  for (int64_t s = plan->n_inputs; s < plan->n_slots; s++)
    if (strcmp(plan->slot_names[s], sub->input_names[q]) == 0)
      return (hn__src){.kind = HN__SRC_MAPPED, .type = plan->slot_types[s], .stride = 1};
  out_of_step(x, "a group's input is not in the plan");
}

/* Serve one group: build its sub-call like rank 0 did and take part in it. */
static void serve_group(hn__call *x, const group_head *h, const uint8_t *names) {
  const hn_allocator *a = &x->alloc;
  const hn_plan *plan = x->plan;
  const char **v = hn__calloc(a, (size_t)(plan->n_slots ? 2 * plan->n_slots : 1), sizeof *v);
  int64_t n_given = 0, n_asked = 0;
  if (!v || !unpack(names, (size_t)h->names_size, v, 2 * plan->n_slots, &n_given, &n_asked))
    out_of_step(x, v ? "the group's names are malformed" : "out of memory");
  const hn_plan *sub = NULL;
  hn_error e;
  if (hn__plan_get((hn_pipeline *)plan->pipeline, n_given, v, n_asked, v + n_given, &sub, &e) !=
      HN_OK)
    out_of_step(x, e.message);
  hn__free(a, (void *)v);
  hn__src *srcs = hn__calloc(a, (size_t)(sub->n_inputs ? sub->n_inputs : 1), sizeof *srcs);
  if (!srcs) out_of_step(x, "out of memory");
  for (int64_t q = 0; q < sub->n_inputs; q++) srcs[q] = serve_source(x, sub, q);
  hn__call sx = {.engine = x->engine,
                 .alloc = x->alloc,
                 .plan = sub,
                 .srcs = srcs,
                 .n_items = h->n_items,
                 .is_map = x->is_map,
                 .zip = true,
                 .policy = x->policy,
                 .cb = x->cb};
  hn_status st = hn__collector_create(&sx, &sx.col, &e);
  if (st != HN_OK) out_of_step(x, e.message);
  (void)x->engine->ops->execute(&sx, &e); /* its outcome is rank 0's to report */
  hn__collector_destroy(sx.col);
  hn__free(a, srcs);
}

hn_status hn__cached_serve(hn__call *x, hn_error *err) {
  for (;;) {
    group_head h;
    memset(&h, 0, sizeof h);
    x->engine->ops->bcast(x->engine, &h, sizeof h);
    if (h.kind == 0) {
      if (h.status != HN_OK && err) *err = h.err;
      return (hn_status)h.status;
    }
    uint8_t *names = h.names_size > 0 ? hn__malloc(&x->alloc, (size_t)h.names_size) : NULL;
    if (!names) out_of_step(x, "out of memory");
    x->engine->ops->bcast(x->engine, names, (size_t)h.names_size);
    serve_group(x, &h, names);
    hn__free(&x->alloc, names);
  }
}
