/*
 * A cached call (docs/cache.md). With every key known and every result the
 * call needs either found (cache_plan.c) or marked to run, items are grouped
 * by the set of steps they run. Each group runs once on the call's engine
 * as a sub-call: its plan is the pipeline's plan for the group's inputs plus
 * the found results feeding its steps (given values override their
 * producers, which are pruned), its items the group's items (numbered as
 * the caller knows them, so paths, events and records read as usual). The
 * result is then laid out from the found and computed results in item
 * order, and every newly computed result is written, chunk by chunk, except
 * those of failed items.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cache_plan.h"

/* Items that run the same steps. */
typedef struct group {
  uint8_t *mask;  /* per step: runs */
  int64_t *items; /* call items, increasing */
  int64_t n, cap;
} group;

typedef struct groups {
  group *v;
  int64_t n, cap;
} groups;

static void groups_free(const hn_allocator *a, groups *gs) {
  for (int64_t k = 0; k < gs->n; k++) {
    hn__free(a, gs->v[k].mask);
    hn__free(a, gs->v[k].items);
  }
  hn__free(a, gs->v);
}

static bool group_push(const hn_allocator *a, group *g, int64_t item) {
  if (g->n == g->cap) {
    int64_t cap = g->cap ? g->cap * 2 : 64;
    int64_t *v = hn__realloc(a, g->items, sizeof *v * (size_t)cap);
    if (!v) return false;
    g->items = v;
    g->cap = cap;
  }
  g->items[g->n++] = item;
  return true;
}

/* The group running exactly `mask` (made when new). */
static group *group_of(const hn_allocator *a, groups *gs, const uint8_t *mask, int64_t n_steps) {
  for (int64_t k = gs->n - 1; k >= 0; k--)
    if (memcmp(gs->v[k].mask, mask, (size_t)n_steps) == 0) return &gs->v[k];
  if (gs->n == gs->cap) {
    int64_t cap = gs->cap ? gs->cap * 2 : 8;
    group *v = hn__realloc(a, gs->v, sizeof *v * (size_t)cap);
    if (!v) return NULL;
    gs->v = v;
    gs->cap = cap;
  }
  group *g = &gs->v[gs->n];
  memset(g, 0, sizeof *g);
  if (!(g->mask = hn__malloc(a, (size_t)n_steps))) return NULL;
  memcpy(g->mask, mask, (size_t)n_steps);
  gs->n++;
  return g;
}

/* Items by the steps they run; items that run nothing are left out. */
static hn_status make_groups(const hn__cplan *cp, groups *gs, hn_error *err) {
  int64_t n = cp->n, S = cp->keys.n_steps;
  uint8_t *mask = hn__malloc(cp->a, (size_t)(S ? S : 1));
  if (!mask) return hn__error_nomem(err, "grouping items");
  group *last = NULL;
  for (int64_t i = 0; i < n; i++) {
    bool any = false;
    for (int64_t s = 0; s < S; s++) any |= (mask[s] = cp->run[s * n + i]) != 0;
    if (!any) continue;
    if (!last || memcmp(last->mask, mask, (size_t)S) != 0) last = group_of(cp->a, gs, mask, S);
    if (!last || !group_push(cp->a, last, i)) {
      hn__free(cp->a, mask);
      return hn__error_nomem(err, "grouping items");
    }
  }
  hn__free(cp->a, mask);
  return HN_OK;
}

/* ---- a group's sub-call ---------------------------------------------------------- */

/* Names given to and asked of a group's sub-call. */
typedef struct names {
  const char **v;
  int64_t n;
} names;

static void names_add(names *ns, const char *name) {
  for (int64_t k = 0; k < ns->n; k++)
    if (strcmp(ns->v[k], name) == 0) return;
  ns->v[ns->n++] = name;
}

/* What the group's steps read (plan inputs and found results) and everything they produce. */
static void group_names(const hn__cplan *cp, const group *g, names *given, names *asked) {
  const hn_plan *plan = cp->x->plan;
  for (int64_t s = 0; s < plan->n_steps; s++) {
    if (!g->mask[s]) continue;
    const hn_plan_step *ps = &plan->steps[s];
    for (int64_t j = 0; j < ps->node->n_inputs; j++) {
      int64_t slot = ps->in_slots[j], p = cp->keys.producer[slot];
      if (p < 0 || !g->mask[p]) names_add(given, plan->slot_names[slot]);
    }
    for (int64_t j = 0; j < ps->node->n_outputs; j++)
      names_add(asked, plan->slot_names[ps->out_slots[j]]);
  }
}

/* Rows `rows` (count of them) of found results of plan slot `slot` as one column. */
static hn_status found_column(const hn__cplan *cp, int64_t slot, const int64_t *items, int64_t n,
                              hn_array **out, hn_error *err) {
  const hn_plan *plan = cp->x->plan;
  int64_t p = cp->keys.producer[slot], N = cp->n;
  hn_builder *b = NULL;
  hn_status st = hn_builder_create(cp->a, plan->slot_types[slot], &b, err);
  if (st == HN_OK) st = hn_builder_reserve(b, n);
  for (int64_t k = 0; k < n && st == HN_OK; k++) {
    int64_t c = p * N + items[k];
    const hn_table *t = cp->tables[cp->loc_table[c]];
    hn_array *col = hn_table_column_by_name(t, plan->slot_names[slot]);
    st = col ? hn_builder_append_datum(b, hn_array_get(col, cp->loc_row[c])) : HN_EINTERNAL;
  }
  if (st == HN_OK)
    st = hn_builder_finish(b, out, err);
  else
    hn__error(err, st, "reading found results of '%s'", plan->slot_names[slot]);
  hn_builder_destroy(b);
  return st;
}

/* The source of input q of the sub-plan: the call's own, restricted to the group, or found. */
static hn_status sub_source(const hn__cplan *cp, const hn_plan *sub, int64_t q, const group *g,
                            hn__src *src, hn_array **made, hn_error *err) {
  const hn__call *x = cp->x;
  const hn_plan *plan = x->plan;
  const char *name = sub->input_names[q];
  int64_t row = 0;
  hn_array *bound = hn__plan_input_bound(sub, q, &row);
  if (bound) {
    *src = (hn__src){.kind = HN__SRC_CONST,
                     .type = bound->type,
                     .array = bound,
                     .row = row,
                     .value = hn_array_get(bound, row)};
    return HN_OK;
  }
  for (int64_t k = 0; k < plan->n_inputs; k++) {
    if (strcmp(plan->input_names[k], name) != 0) continue;
    *src = x->srcs[k];
    if (src->kind != HN__SRC_MAPPED) return HN_OK;
    int64_t *idx = hn__calloc(cp->a, (size_t)g->n, sizeof *idx);
    if (!idx) return hn__error_nomem(err, "preparing a cached call");
    hn_map_mode mode = x->zip ? HN_MAP_ZIP : HN_MAP_PRODUCT;
    for (int64_t i = 0; i < g->n; i++)
      idx[i] = hn__map_row(mode, g->items[i], src->stride, src->length);
    hn_status st =
        hn__array_take(cp->a, src->column->type, src->column, idx, NULL, g->n, made, err);
    hn__free(cp->a, idx);
    if (st != HN_OK) return st;
    *src = (hn__src){.kind = HN__SRC_MAPPED,
                     .type = (*made)->type,
                     .column = *made,
                     .stride = 1,
                     .length = g->n};
    return HN_OK;
  }
  for (int64_t slot = plan->n_inputs; slot < plan->n_slots; slot++) {
    if (strcmp(plan->slot_names[slot], name) != 0) continue;
    hn_status st = found_column(cp, slot, g->items, g->n, made, err);
    if (st != HN_OK) return st;
    *src = (hn__src){.kind = HN__SRC_MAPPED,
                     .type = (*made)->type,
                     .column = *made,
                     .stride = 1,
                     .length = g->n};
    return HN_OK;
  }
  return hn__error(err, HN_EINTERNAL, "cached call: no source for '%s'", name);
}

/* Every step of the sub-plan is one the group runs (the found results pruned the rest). */
static bool sub_plan_fits(const hn__cplan *cp, const hn_plan *sub, const group *g) {
  const hn_plan *plan = cp->x->plan;
  for (int64_t t = 0; t < sub->n_steps; t++) {
    bool ok = false;
    for (int64_t s = 0; s < plan->n_steps && !ok; s++)
      ok = g->mask[s] && plan->steps[s].node == sub->steps[t].node;
    if (!ok) return false;
  }
  return true;
}

/* A group's sub-call, prepared: its plan, sources and item numbering. */
typedef struct subcall {
  const hn_plan *plan;
  hn__src *srcs;
  hn_array **made; /* per sub-plan input: an array made for it, or NULL */
  int64_t *index;  /* per group item: the caller's item index */
  uint8_t *names;  /* collective engines: the sub-plan's names (hn__group_names_pack) */
  size_t names_size;
  hn__call x;
} subcall;

static void subcall_free(const hn_allocator *a, subcall *sc) {
  for (int64_t q = 0; sc->made && sc->plan && q < sc->plan->n_inputs; q++)
    hn_array_release(sc->made[q]);
  hn__free(a, sc->made);
  hn__free(a, sc->srcs);
  hn__free(a, sc->index);
  hn__free(a, sc->names);
}

static hn_status subcall_prepare(const hn__cplan *cp, const group *g, subcall *sc, hn_error *err) {
  const hn__call *x = cp->x;
  const hn_plan *plan = x->plan;
  const hn_allocator *a = cp->a;
  names given = {hn__calloc(a, (size_t)plan->n_slots, sizeof(char *)), 0};
  names asked = {hn__calloc(a, (size_t)plan->n_slots, sizeof(char *)), 0};
  hn_status st = given.v && asked.v ? HN_OK : hn__error_nomem(err, "preparing a cached call");
  if (st == HN_OK) {
    group_names(cp, g, &given, &asked);
    st = hn__plan_get((hn_pipeline *)plan->pipeline, given.n, given.v, asked.n, asked.v, &sc->plan,
                      err);
  }
  /* The ranks of a collective engine build the same sub-plan from these names. */
  if (st == HN_OK && x->engine->ops->bcast && x->engine->ranks > 1)
    st = hn__group_names_pack(a, given.n, given.v, asked.n, asked.v, &sc->names, &sc->names_size,
                              err);
  hn__free(a, (void *)given.v);
  hn__free(a, (void *)asked.v);
  if (st == HN_OK && !sub_plan_fits(cp, sc->plan, g))
    st = hn__error(err, HN_EINTERNAL, "cached call: the plan of a group runs other steps");
  if (st != HN_OK) return st;
  int64_t nq = sc->plan->n_inputs ? sc->plan->n_inputs : 1;
  sc->srcs = hn__calloc(a, (size_t)nq, sizeof *sc->srcs);
  sc->made = hn__calloc(a, (size_t)nq, sizeof *sc->made);
  sc->index = hn__calloc(a, (size_t)g->n, sizeof *sc->index);
  if (!sc->srcs || !sc->made || !sc->index) return hn__error_nomem(err, "preparing a cached call");
  for (int64_t q = 0; q < sc->plan->n_inputs && st == HN_OK; q++)
    st = sub_source(cp, sc->plan, q, g, &sc->srcs[q], &sc->made[q], err);
  for (int64_t i = 0; i < g->n; i++) sc->index[i] = hn__call_item(x, g->items[i]);
  sc->x = (hn__call){.engine = x->engine,
                     .alloc = x->alloc,
                     .plan = sc->plan,
                     .srcs = sc->srcs,
                     .n_items = g->n,
                     .is_map = x->is_map,
                     .zip = true,
                     .policy = x->policy,
                     .cb = x->cb,
                     .item_index = sc->index,
                     .stop = x->stop,
                     .node_timeout = x->node_timeout,
                     .io_workers = x->io_workers};
  return st;
}

/* The call item whose caller index is `global` among the group's (binary search). */
static int64_t local_item(const subcall *sc, const group *g, int64_t global) {
  int64_t lo = 0, hi = g->n - 1;
  while (lo < hi) {
    int64_t mid = (lo + hi) / 2;
    if (sc->index[mid] < global)
      lo = mid + 1;
    else
      hi = mid;
  }
  return g->items[lo];
}

/* A group's records go to the final collector; its items are marked failed. */
static hn_status take_records(hn__collector *col, const subcall *sc, const group *g,
                              const hn_table *errors, uint8_t *failed, hn_error *err) {
  int64_t rows = hn_table_num_rows(errors);
  hn_array *c[4];
  for (int k = 0; k < 4; k++) c[k] = hn_table_column(errors, k);
  hn_status st = HN_OK;
  for (int64_t r = 0; r < rows && st == HN_OK; r++) {
    char f[4][HN_ERROR_MESSAGE_MAX];
    for (int k = 1; k < 4; k++) {
      hn_str v = hn_array_get(c[k], r).v.str;
      snprintf(f[k], sizeof f[k], "%.*s", (int)v.size, v.data);
    }
    int64_t item = hn_array_get(c[0], r).v.i64;
    failed[sc->x.is_map ? local_item(sc, g, item) : g->items[0]] = 1;
    st = hn__collector_add_record(col, item, f[1], f[2], f[3], err);
  }
  return st;
}

/* Run a group; its outputs become a source of results, its records the call's. */
static hn_status run_group(hn__cplan *cp, const group *g, hn__collector *col, uint8_t *failed,
                           hn_error *err) {
  subcall sc;
  memset(&sc, 0, sizeof sc);
  hn_status st = subcall_prepare(cp, g, &sc, err);
  if (st == HN_OK) st = hn__collector_create(&sc.x, &sc.x.col, err);
  if (st == HN_OK && sc.names) hn__cached_announce(&sc.x, sc.names, sc.names_size);
  hn_result *res = NULL;
  if (st == HN_OK) st = sc.x.engine->ops->execute(&sc.x, err);
  if (st == HN_OK) st = hn__collector_finish(sc.x.col, &res, err);
  hn__collector_destroy(sc.x.col);
  hn_table *t = st == HN_OK ? hn_result_table(res) : NULL;
  if (st == HN_OK && !t) st = hn__error_nomem(err, "joining a group's outputs");
  int32_t index = 0;
  if (st == HN_OK)
    st = hn__cplan_add_table(cp, hn_table_retain(t), (hn__hash128){0, 0}, &index, err);
  for (int64_t s = 0; s < cp->keys.n_steps && st == HN_OK; s++) {
    if (!g->mask[s]) continue;
    for (int64_t k = 0; k < g->n; k++) {
      cp->loc_table[s * cp->n + g->items[k]] = index;
      cp->loc_row[s * cp->n + g->items[k]] = (uint32_t)k;
    }
  }
  if (st == HN_OK) st = take_records(col, &sc, g, hn_result_errors(res), failed, err);
  if (st == HN_OK) {
    hn_result_stats rs = {0};
    hn_result_get_stats(res, &rs, sizeof rs);
    hn__collector_add_counts(col, rs.resource_inits, rs.resource_destroys, rs.workers);
  }
  hn_result_destroy(res);
  subcall_free(cp->a, &sc);
  return st;
}

/* The caller's item index of a failure reported under raise ("item 7" / "7/2"), or -1. */
static int64_t failed_item(const hn_error *e) {
  if (!e || e->item_path[0] < '0' || e->item_path[0] > '9') return -1;
  return strtoll(e->item_path, NULL, 10);
}

/*
 * Run every group, in the order of their first items. Under raise the
 * failure reported is the lowest failing item's, as without a cache: groups
 * whose first item comes after it are skipped.
 */
static hn_status run_groups(hn__cplan *cp, const groups *gs, hn__collector *col, uint8_t *failed,
                            hn_error *err) {
  hn_status fail = HN_OK;
  hn_error fail_err;
  hn_error_reset(&fail_err);
  int64_t fail_at = INT64_MAX;
  for (int64_t k = 0; k < gs->n; k++) {
    const group *g = &gs->v[k];
    if (hn__call_item(cp->x, g->items[0]) > fail_at) continue;
    hn_error e;
    hn_error_reset(&e);
    hn_status st = run_group(cp, g, col, failed, &e);
    if (st == HN_OK) continue;
    int64_t at = failed_item(&e);
    if (cp->x->policy != HN_ERRORS_RAISE || e.code != HN_ENODE || at < 0) {
      if (err) *err = e;
      return st; /* an engine's failure, not a node's: the call stops */
    }
    if (at < fail_at) {
      fail_at = at;
      fail = st;
      fail_err = e;
    }
  }
  if (fail != HN_OK && err) *err = fail_err;
  return fail;
}

/* ---- the result, in item order ------------------------------------------------------ */

/* The requested outputs of items [first, first+n) as slices of where they are. */
static hn_status add_chunk(hn__cplan *cp, hn__collector *col, int64_t first, int64_t n,
                           hn_error *err) {
  const hn_plan *plan = cp->x->plan;
  int64_t N = cp->n, R = plan->n_requested;
  hn_array **cols = hn__calloc(cp->a, (size_t)(R ? R : 1), sizeof *cols);
  if (!cols) return hn__error_nomem(err, "laying out a cached result");
  hn_status st = HN_OK;
  for (int64_t r = 0; r < R && st == HN_OK; r++) {
    int64_t slot = plan->requested_slots[r], c = cp->keys.producer[slot] * N + first;
    hn_array *src = hn_table_column_by_name(cp->tables[cp->loc_table[c]], plan->slot_names[slot]);
    st = src ? hn_array_slice(src, cp->loc_row[c], n, &cols[r], err)
             : hn__error(err, HN_EINTERNAL, "cached call: no column '%s'", plan->slot_names[slot]);
  }
  if (st != HN_OK) {
    for (int64_t r = 0; r < R; r++) hn_array_release(cols[r]);
    hn__free(cp->a, cols);
    return st;
  }
  return hn__collector_add_chunk(col, first, n, cols, err); /* takes cols */
}

/* Does item i continue the run of item i - 1 in every requested output? */
static bool continues(const hn__cplan *cp, int64_t i) {
  const hn_plan *plan = cp->x->plan;
  for (int64_t r = 0; r < plan->n_requested; r++) {
    int64_t c = cp->keys.producer[plan->requested_slots[r]] * cp->n + i;
    if (cp->loc_table[c] != cp->loc_table[c - 1] || cp->loc_row[c] != cp->loc_row[c - 1] + 1)
      return false;
  }
  return true;
}

static hn_status lay_out(hn__cplan *cp, hn__collector *col, hn_error *err) {
  const hn_plan *plan = cp->x->plan;
  for (int64_t r = 0; r < plan->n_requested; r++)
    for (int64_t i = 0; i < cp->n; i++)
      if (cp->loc_table[cp->keys.producer[plan->requested_slots[r]] * cp->n + i] < 0)
        return hn__error(err, HN_EINTERNAL, "cached call: item %lld has no '%s'", (long long)i,
                         plan->requested_names[r]);
  hn__collector_keep_chunks(col, 4096);
  hn_status st = HN_OK;
  int64_t first = 0;
  for (int64_t i = 1; i <= cp->n && st == HN_OK; i++)
    if (i == cp->n || !continues(cp, i)) {
      st = add_chunk(cp, col, first, i - first, err);
      first = i;
    }
  return st;
}

hn_status hn__cached_groups(hn__cplan *cp, hn__collector *col, uint8_t *failed, hn_error *err) {
  groups gs = {NULL, 0, 0};
  hn_status st = make_groups(cp, &gs, err);
  if (st == HN_OK) st = run_groups(cp, &gs, col, failed, err);
  if (st == HN_OK) st = lay_out(cp, col, err);
  groups_free(cp->a, &gs);
  return st;
}
