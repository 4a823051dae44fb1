/* The per-call agreement of the mpi engine: statuses and fingerprints of every rank. */
#define _GNU_SOURCE
#include <stdio.h>

#include "mpi_internal.h"

static void type_str(const hn_type *type, char *buf, size_t cap) {
  if (!type) {
    snprintf(buf, cap, "any");
    return;
  }
  hn_type_to_string(type, buf, cap);
}

static hn_status add_line(const hn_allocator *a, hn__bytes *b, hn_error *err, const char *fmt, ...)
    HN__PRINTF(4, 5);
static hn_status add_line(const hn_allocator *a, hn__bytes *b, hn_error *err, const char *fmt,
                          ...) {
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
  line[n++] = '\n';
  return hn__bytes_append(a, b, line, (size_t)n, err);
}

static hn_status plan_lines(const hn_allocator *a, const hn_plan *plan, int depth, hn__bytes *b,
                            hn_error *err) {
  char t1[256];
  hn_status st = HN_OK;
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    type_str(plan->slot_types[q], t1, sizeof t1);
    st = add_line(a, b, err, "%*sinput %s: %s", depth * 2, "", plan->input_names[q], t1);
  }
  for (int64_t s = 0; s < plan->n_steps && st == HN_OK; s++) {
    const hn_plan_step *ps = &plan->steps[s];
    const hn_gnode *g = ps->node;
    st = add_line(a, b, err, "%*snode %s version %s: %s%s%s", depth * 2, "", g->name,
                  g->version ? g->version : "-", g->row ? "row " : "", g->batch ? "batch " : "",
                  g->inner ? "nested" : "");
    for (int64_t i = 0; i < g->n_inputs && st == HN_OK; i++) {
      type_str(g->input_types[i], t1, sizeof t1);
      st = add_line(a, b, err, "%*s  in %s: %s", depth * 2, "", g->inputs[i], t1);
    }
    for (int64_t k = 0; k < g->n_outputs && st == HN_OK; k++) {
      type_str(g->output_types[k], t1, sizeof t1);
      st = add_line(a, b, err, "%*s  out %s: %s", depth * 2, "", g->outputs[k], t1);
    }
    if (ps->inner && st == HN_OK) st = plan_lines(a, ps->inner, depth + 1, b, err);
  }
  for (int64_t r = 0; r < plan->n_requested && st == HN_OK; r++)
    st = add_line(a, b, err, "%*srequested %s", depth * 2, "", plan->requested_names[r]);
  return st;
}

/* The fingerprint of a call, as text (one fact per line), NUL-terminated. */
static hn_status fingerprint(const hn__call *x, hn__bytes *b, hn_error *err) {
  const hn_allocator *a = &x->alloc;
  const uint16_t probe = 1;
  uint8_t first_byte;
  memcpy(&first_byte, &probe, 1);
  hn_status st = add_line(a, b, err, "hypernodes %s", hn_version_string());
  if (st == HN_OK)
    st = add_line(a, b, err,
                  "byte order %s; sizes: pointer %zu, long %zu, int64 %zu, double %zu, "
                  "float %zu, hn_error %zu",
                  first_byte ? "little-endian" : "big-endian", sizeof(void *), sizeof(long),
                  sizeof(int64_t), sizeof(double), sizeof(float), sizeof(hn_error));
  if (st == HN_OK)
    st = add_line(a, b, err, "call %s, %s, errors %s", x->is_map ? "map" : "run",
                  x->zip ? "zip" : "product", x->policy == HN_ERRORS_RAISE ? "raise" : "continue");
  for (int64_t q = 0; q < x->plan->n_inputs && st == HN_OK; q++) {
    static const char *const kinds[] = {"broadcast", "mapped", "resource"};
    char t1[256];
    type_str(x->srcs[q].type, t1, sizeof t1);
    st = add_line(a, b, err, "value %s: %s, %s", x->plan->input_names[q], t1,
                  kinds[x->srcs[q].kind]);
  }
  if (st == HN_OK) st = plan_lines(a, x->plan, 0, b, err);
  if (st == HN_OK) st = hn__bytes_append(a, b, "", 1, err);
  return st;
}

typedef struct agree_rec {
  uint64_t digest;
  int32_t status;
  int32_t pad;
  hn_error err;
} agree_rec;

#define DIFF_MAX 480

/* The first line where `mine` differs from `ref`, as "line N: ref has '...', mine has '...'". */
static void first_difference(const char *ref, const char *mine, int rank, char *out, size_t cap) {
  int line = 1;
  for (;;) {
    const char *re = strchr(ref, '\n'), *me = strchr(mine, '\n');
    size_t rl = re ? (size_t)(re - ref) : strlen(ref), ml = me ? (size_t)(me - mine) : strlen(mine);
    if (rl != ml || memcmp(ref, mine, rl) != 0 || !re || !me) {
      snprintf(out, cap, "line %d: rank 0 has '%.*s', rank %d has '%.*s'", line,
               (int)(rl > 180 ? 180 : rl), ref, rank, (int)(ml > 180 ? 180 : ml), mine);
      return;
    }
    ref = re + 1;
    mine = me + 1;
    line++;
  }
}

/* Rank 0 says go first: the others wait for it sleeping, not spinning in the collective. */
static void start_call(hn_engine *e, const hn__mpi_transport *t) {
  msg_head go = {0, 0};
  hn_error ferr;
  hn_error_reset(&ferr);
  hn_status st = HN_OK;
  if (e->rank == 0) {
    for (int r = 1; r < e->ranks && st == HN_OK; r++)
      st = hn__mpi_send_wait(t, &go, sizeof go, r, TAG_GO, &ferr);
  } else {
    int source = -1, tag = -1;
    size_t size = 0;
    st = hn__mpi_probe_wait(t, &source, &tag, &size, &ferr);
    if (st == HN_OK && (source != 0 || tag != TAG_GO || size != sizeof go))
      st = hn__error(&ferr, HN_ECORRUPT,
                     "mpi engine: rank %d expected the start of a call from rank 0, got tag %d "
                     "from rank %d",
                     e->rank, tag, source);
    if (st == HN_OK) {
      int rc = t->recv(&go, sizeof go, source, tag);
      if (rc != 0) st = hn__mpi_failed(t, rc, "MPI_Recv", &ferr);
    }
  }
  if (st == HN_OK) return;
  /* The ranks are out of step: nothing sensible can follow. */
  fprintf(stderr, "hypernodes mpi: rank %d: %s\n", e->rank, ferr.message);
  t->abort(1);
}

/* The first rank (in rank order) that failed: its status, err naming the rank. */
static hn_status first_failure(const hn_engine *e, const agree_rec *all, hn_error *err) {
  for (int r = 0; r < e->ranks; r++) {
    if (all[r].status == HN_OK) continue;
    hn_status st = (hn_status)all[r].status;
    if (err) {
      *err = all[r].err;
      if (r != 0) {
        hn_error copy = all[r].err;
        hn__error(err, st, "rank %d: %s", r, copy.message);
        memcpy(err->node, copy.node, sizeof err->node);
        memcpy(err->item_path, copy.item_path, sizeof err->item_path);
      }
    }
    return st;
  }
  return HN_OK;
}

/* The fingerprints differ: rank 0's text goes to every rank, each finds its first difference. */
static hn_status report_difference(hn_engine *e, const hn__mpi_transport *t, const hn_allocator *a,
                                   const agree_rec *all, const hn__bytes *text, hn_error *err) {
  uint64_t size = e->rank == 0 ? (uint64_t)text->size : 0;
  int rc = t->bcast(&size, sizeof size, 0);
  char *ref = NULL;
  if (rc == 0) ref = e->rank == 0 ? (char *)text->data : hn__malloc(a, (size_t)size);
  if (rc == 0 && !ref) t->abort(1);
  if (rc == 0) rc = t->bcast(ref, (size_t)size, 0);
  char *diffs = rc == 0 ? hn__calloc(a, (size_t)e->ranks, DIFF_MAX) : NULL;
  if (rc == 0 && !diffs) t->abort(1);
  char my_diff[DIFF_MAX] = "";
  if (rc == 0 && all[e->rank].digest != all[0].digest)
    first_difference(ref, (const char *)text->data, e->rank, my_diff, sizeof my_diff);
  if (rc == 0) rc = t->allgather(my_diff, diffs, DIFF_MAX);
  hn_status st;
  if (rc == 0) {
    int r = 1;
    while (r < e->ranks && all[r].digest == all[0].digest) r++;
    st = hn__error(err, HN_EINVAL,
                   "the ranks disagree on the call (every rank must build the same pipeline and "
                   "make the same calls): %s",
                   diffs + (size_t)r * DIFF_MAX);
  } else {
    st = hn__mpi_failed(t, rc, "exchanging fingerprints", err);
  }
  if (e->rank != 0) hn__free(a, ref);
  hn__free(a, diffs);
  return st;
}

hn_status hn__mpi_agree(hn_engine *e, const hn__call *x, hn_status local, const hn_error *local_err,
                        hn_error *err) {
  if (e->ranks <= 1) {
    if (local != HN_OK && err && local_err) *err = *local_err;
    return local;
  }
  const hn__mpi_transport *t = hn__mpi_transport_of(e);
  hn_allocator a = x ? x->alloc : e->alloc;
  hn__bytes text = {0};
  agree_rec mine;
  memset(&mine, 0, sizeof mine);
  mine.status = (int32_t)local;
  if (local != HN_OK && local_err) mine.err = *local_err;
  if (local == HN_OK) {
    hn_error ferr;
    hn_error_reset(&ferr);
    hn_status st = fingerprint(x, &text, &ferr);
    mine.status = (int32_t)st;
    mine.err = ferr;
    if (st == HN_OK) mine.digest = hn_hash_bytes(text.data, text.size, 0x6d7069);
  }
  start_call(e, t);
  agree_rec *all = hn__calloc(&a, (size_t)e->ranks, sizeof *all);
  if (!all) {
    /* Without room for the exchange this rank cannot take part: abort the job. */
    fprintf(stderr, "hypernodes mpi: rank %d: out of memory agreeing on a call\n", e->rank);
    t->abort(1);
  }
  int rc = t->allgather(&mine, all, sizeof mine);
  hn_status st = rc == 0 ? first_failure(e, all, err) : hn__mpi_failed(t, rc, "MPI_Allgather", err);
  bool same = true;
  for (int r = 1; r < e->ranks && st == HN_OK; r++) same = same && all[r].digest == all[0].digest;
  if (st == HN_OK && !same) st = report_difference(e, t, &a, all, &text, err);
  hn__free(&a, all);
  hn__bytes_free(&a, &text);
  return st;
}
