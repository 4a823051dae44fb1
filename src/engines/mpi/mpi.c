/*
 * The mpi engine: the items of a map spread over MPI ranks.
 *
 * Launch model (SPMD): every rank runs the same program, builds the same
 * pipeline and makes the same run/map calls, in the same order (they are
 * collective). Rank 0 drives: it sends chunks of consecutive items, places
 * the results by item index and fires the callbacks; the other ranks serve
 * the call inside the engine and return the same status with a result of
 * no rows. One rank alone runs the call itself.
 *
 * Per call: (1) hn__mpi_agree: every rank's status and plan fingerprint are
 * exchanged (allgather); any failure or difference fails every rank with
 * the same message. (2) Rank 0 broadcasts the item count and the broadcast
 * inputs (once per call). (3) Dynamic dispatch: two chunks in flight per
 * worker rank, a result is the request for more, chunks shrink towards the
 * end; rank 0 polls with MPI_Iprobe and a short back-off (never a blocking
 * receive, which busy-waits). (4) STOP, then each worker's BYE with its
 * resource counts. (5) Rank 0 broadcasts the outcome.
 *
 * MPI itself is never linked: the plugin libhypernodes_mpi provides the
 * transport (transport.h; the plugin is src/mpi/transport.c), found in the process or loaded by
 * dlopen (HN_MPI_PLUGIN overrides the path). All MPI calls happen on the
 * thread that calls run/map (MPI_THREAD_FUNNELED).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mpi.h"

enum { TAG_CHUNK = 1, TAG_RESULT = 2, TAG_FAIL = 3, TAG_STOP = 4, TAG_BYE = 5, TAG_GO = 6 };

#define PLUGIN_SONAME "libhypernodes_mpi.so.0"
#define CHUNK_BYTES (4 << 20)   /* automatic chunks aim at this many input bytes */
#define CHUNK_MAX_ITEMS 65536
#define BACKOFF_MIN_NS 20000    /* idle polling: 20 us, doubling ... */
#define BACKOFF_MAX_NS 1000000  /* ... up to 1 ms */
#define BACKOFF_CAP_NS 8000000  /* rank 0, once chunks are timed: up to 8 ms */

/* Fixed-size header of every chunk, result and bye message. */
typedef struct msg_head {
  int64_t first, count;
} msg_head;

/* ---- the plugin ---------------------------------------------------------------- */

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static const hn__mpi_transport *loaded;

static const hn__mpi_transport *load_transport(hn_error *err) {
  pthread_mutex_lock(&load_lock);
  const hn__mpi_transport *t = loaded;
  if (!t) {
    typedef const hn__mpi_transport *(*entry_fn)(void);
    entry_fn entry = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "hn_mpi_transport_v1");
    const char *path = getenv("HN_MPI_PLUGIN");
    const char *why = NULL;
    char why_buf[512] = "";
    if (!sym || path) {
      void *h = dlopen(path && *path ? path : PLUGIN_SONAME, RTLD_NOW | RTLD_GLOBAL);
      if (!h) {
        snprintf(why_buf, sizeof why_buf, "%s", dlerror());
        why = why_buf;
      }
      if (!h && !(path && *path)) {
        /* Beside the object holding this code (an installed libhypernodes.so). Also
         * where a sanitizer's dlopen interceptor hides the caller's run path. */
        Dl_info info;
        const char *slash = NULL;
        if (dladdr((void *)&hn__mpi_ops, &info) && info.dli_fname)
          slash = strrchr(info.dli_fname, '/');
        if (slash) {
          char alt[4096];
          int n = snprintf(alt, sizeof alt, "%.*s/%s", (int)(slash - info.dli_fname),
                           info.dli_fname, PLUGIN_SONAME);
          if (n > 0 && (size_t)n < sizeof alt) h = dlopen(alt, RTLD_NOW | RTLD_GLOBAL);
        }
      }
      if (h) sym = dlsym(h, "hn_mpi_transport_v1");
      if (h && !sym) why = "it has no symbol hn_mpi_transport_v1";
    }
    if (sym) {
      memcpy(&entry, &sym, sizeof entry);
      t = entry();
      if (!t || t->abi != HN__MPI_ABI) {
        why = "its ABI version differs from this library's";
        t = NULL;
      }
    }
    if (!t) {
      pthread_mutex_unlock(&load_lock);
      hn__error(err, HN_EUNSUPPORTED,
                "the mpi engine is not available: the MPI plugin %s could not be used (%s); "
                "build hypernodes with MPI installed (Debian: libopenmpi-dev) and link "
                "hypernodes_mpi, install it beside libhypernodes, or set HN_MPI_PLUGIN",
                path && *path ? path : PLUGIN_SONAME, why ? why : "not found");
      return NULL;
    }
    loaded = t;
  }
  pthread_mutex_unlock(&load_lock);
  return t;
}

/* ---- engine ------------------------------------------------------------------------ */

/* A launcher's rank count from the environment (Open MPI, Hydra/PMI), or 0. */
static long launcher_size(const char **var) {
  static const char *const names[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *v = getenv(names[i]);
    long n = v ? strtol(v, NULL, 10) : 0;
    if (n > 0) {
      *var = names[i];
      return n;
    }
  }
  return 0;
}

static hn_status mpi_start(hn_engine *e, const hn_engine_options *o, hn_error *err) {
  hn__mpi_state *ms = hn__calloc(&e->alloc, 1, sizeof *ms);
  if (!ms) return hn__error_nomem(err, "for the mpi engine");
  e->state = ms;
  const hn__mpi_transport *t = load_transport(err);
  if (!t) return HN_EUNSUPPORTED;
  char msg[256] = "";
  int rank = 0, size = 1;
  if (t->start(&rank, &size, msg, sizeof msg) != 0)
    return hn__error(err, HN_EIO, "the mpi engine could not start MPI: %s", msg);
  ms->t = t;
  e->rank = rank;
  e->ranks = size;
  const char *var = NULL;
  long want = launcher_size(&var);
  if (size == 1 && want > 1) {
    char lib[160];
    t->library(lib, sizeof lib);
    return hn__error(err, HN_EUNSUPPORTED,
                     "MPI reports 1 rank but the launcher started %ld (%s=%ld): this program's "
                     "MPI (%s) is not the one of the mpiexec that started it; use the matching "
                     "mpiexec",
                     want, var, want, lib);
  }
  e->workers = o->workers;
  return hn__pool_create(&e->alloc, e->workers, &ms->pool, err);
}

static void mpi_stop(hn_engine *e) {
  hn__mpi_state *ms = e->state;
  if (!ms) return;
  hn__pool_destroy(ms->pool);
  if (ms->t) ms->t->stop();
  hn__free(&e->alloc, ms);
  e->state = NULL;
}

/* ---- small helpers -------------------------------------------------------------------- */

static void sleep_ns(long ns) {
  struct timespec ts = {0, ns};
  nanosleep(&ts, NULL);
}

static long backoff_next(long ns) { return ns * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : ns * 2; }

static hn_status mpi_failed(const hn__mpi_transport *t, int rc, const char *what, hn_error *err) {
  char text[256];
  t->error_string(rc, text, sizeof text);
  return hn__error(err, HN_EIO, "mpi engine: %s failed: %s", what, text);
}

/* Send and wait for completion, polling with back-off. */
static hn_status send_wait(const hn__mpi_transport *t, const void *buf, size_t size, int dest,
                           int tag, hn_error *err) {
  hn__mpi_req *req = NULL;
  int rc = t->isend(buf, size, dest, tag, &req);
  if (rc != 0) return mpi_failed(t, rc, "MPI_Isend", err);
  long backoff = BACKOFF_MIN_NS;
  for (;;) {
    int done = 0;
    rc = t->test(req, &done);
    if (rc != 0) return mpi_failed(t, rc, "MPI_Test", err);
    if (done) return HN_OK;
    sleep_ns(backoff);
    backoff = backoff_next(backoff);
  }
}

/* Wait for the next message (from `source`, or any when -1) without a blocking receive. */
static hn_status probe_wait(const hn__mpi_transport *t, int *source, int *tag, size_t *size,
                            hn_error *err) {
  long backoff = BACKOFF_MIN_NS;
  for (;;) {
    int flag = 0;
    int rc = t->iprobe(&flag, source, tag, size);
    if (rc != 0) return mpi_failed(t, rc, "MPI_Iprobe", err);
    if (flag) return HN_OK;
    sleep_ns(backoff);
    backoff = backoff_next(backoff);
  }
}

/* Receive a message of `size` bytes into b (resized). */
static hn_status recv_into(const hn__mpi_transport *t, const hn_allocator *a, hn__bytes *b,
                           size_t size, int source, int tag, hn_error *err) {
  b->size = 0;
  hn_status st = hn__bytes_reserve(a, b, size ? size : 1, err);
  if (st != HN_OK) return st;
  int rc = t->recv(b->data, size, source, tag);
  if (rc != 0) return mpi_failed(t, rc, "MPI_Recv", err);
  b->size = size;
  return HN_OK;
}

/* ---- fingerprint ------------------------------------------------------------------------ */

static void type_str(const hn_type *type, char *buf, size_t cap) {
  if (!type) {
    snprintf(buf, cap, "any");
    return;
  }
  hn_type_to_string(type, buf, cap);
}

static hn_status add_line(const hn_allocator *a, hn__bytes *b, hn_error *err, const char *fmt,
                          ...) HN__PRINTF(4, 5);
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
                  x->zip ? "zip" : "product",
                  x->policy == HN_ERRORS_RAISE ? "raise" : "continue");
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

/* ---- agreement -------------------------------------------------------------------------- */

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

static hn_status mpi_agree(hn_engine *e, const hn__call *x, hn_status local,
                           const hn_error *local_err, hn_error *err) {
  if (e->ranks <= 1) {
    if (local != HN_OK && err && local_err) *err = *local_err;
    return local;
  }
  const hn__mpi_transport *t = hn__mpi_transport_of(e);
  hn_allocator a = x ? x->alloc : e->alloc;
  hn__bytes text = {0};
  hn_error ferr;
  hn_error_reset(&ferr);
  agree_rec mine;
  memset(&mine, 0, sizeof mine);
  mine.status = (int32_t)local;
  if (local != HN_OK && local_err) mine.err = *local_err;
  if (local == HN_OK) {
    hn_status st = fingerprint(x, &text, &ferr);
    if (st != HN_OK) {
      mine.status = (int32_t)st;
      mine.err = ferr;
    } else {
      mine.digest = hn_hash_bytes(text.data, text.size, 0x6d7069);
    }
  }
  /* Rank 0 says go first: the others wait for it sleeping, not spinning in the collective. */
  msg_head go = {0, 0};
  hn_status gst = HN_OK;
  if (e->rank == 0) {
    for (int r = 1; r < e->ranks && gst == HN_OK; r++)
      gst = send_wait(t, &go, sizeof go, r, TAG_GO, &ferr);
  } else {
    int source = -1, tag = -1;
    size_t size = 0;
    gst = probe_wait(t, &source, &tag, &size, &ferr);
    if (gst == HN_OK && (source != 0 || tag != TAG_GO || size != sizeof go))
      gst = hn__error(&ferr, HN_ECORRUPT, "mpi engine: rank %d expected the start of a call "
                      "from rank 0, got tag %d from rank %d", e->rank, tag, source);
    if (gst == HN_OK) {
      int rc = t->recv(&go, sizeof go, source, tag);
      if (rc != 0) gst = mpi_failed(t, rc, "MPI_Recv", &ferr);
    }
  }
  if (gst != HN_OK) {
    /* The ranks are out of step: nothing sensible can follow. */
    fprintf(stderr, "hypernodes mpi: rank %d: %s\n", e->rank, ferr.message);
    t->abort(1);
  }
  agree_rec *all = hn__calloc(&a, (size_t)e->ranks, sizeof *all);
  if (!all) {
    /* Without room for the exchange this rank cannot take part: abort the job. */
    fprintf(stderr, "hypernodes mpi: rank %d: out of memory agreeing on a call\n", e->rank);
    t->abort(1);
  }
  int rc = t->allgather(&mine, all, sizeof mine);
  hn_status st = rc == 0 ? HN_OK : mpi_failed(t, rc, "MPI_Allgather", err);
  for (int r = 0; r < e->ranks && st == HN_OK; r++) {
    if (all[r].status == HN_OK) continue;
    st = (hn_status)all[r].status;
    if (err) {
      *err = all[r].err;
      if (r != 0) {
        hn_error copy = all[r].err;
        hn__error(err, st, "rank %d: %s", r, copy.message);
        memcpy(err->node, copy.node, sizeof err->node);
        memcpy(err->item_path, copy.item_path, sizeof err->item_path);
      }
    }
  }
  bool same = true;
  for (int r = 1; r < e->ranks && st == HN_OK; r++) same = same && all[r].digest == all[0].digest;
  if (st == HN_OK && !same) {
    /* Say what differs: rank 0's text goes to every rank, each finds its first difference. */
    uint64_t size = e->rank == 0 ? (uint64_t)text.size : 0;
    rc = t->bcast(&size, sizeof size, 0);
    char *ref = NULL;
    if (rc == 0) ref = e->rank == 0 ? (char *)text.data : hn__malloc(&a, (size_t)size);
    if (rc == 0 && !ref) t->abort(1);
    if (rc == 0) rc = t->bcast(ref, (size_t)size, 0);
    char *diffs = rc == 0 ? hn__calloc(&a, (size_t)e->ranks, DIFF_MAX) : NULL;
    if (rc == 0 && !diffs) t->abort(1);
    char my_diff[DIFF_MAX] = "";
    if (rc == 0 && all[e->rank].digest != all[0].digest)
      first_difference(ref, (const char *)text.data, e->rank, my_diff, sizeof my_diff);
    if (rc == 0) rc = t->allgather(my_diff, diffs, DIFF_MAX);
    if (rc == 0) {
      int r = 1;
      while (r < e->ranks && all[r].digest == all[0].digest) r++;
      st = hn__error(err, HN_EINVAL,
                     "the ranks disagree on the call (every rank must build the same pipeline "
                     "and make the same calls): %s",
                     diffs + (size_t)r * DIFF_MAX);
    } else {
      st = mpi_failed(t, rc, "exchanging fingerprints", err);
    }
    if (e->rank != 0) hn__free(&a, ref);
    hn__free(&a, diffs);
  }
  hn__free(&a, all);
  hn__bytes_free(&a, &text);
  return st;
}

/* ---- rank 0: the driver ------------------------------------------------------------------ */

typedef struct call_head {
  int64_t n_items;
  uint64_t consts_size;
} call_head;

typedef struct slot {
  bool busy;
  int64_t first, count;
  double sent;
  hn__bytes buf;    /* the chunk message; reused for the worker's next chunk */
  hn__mpi_req *req; /* NULL once the send completed */
} slot;

#define SLOTS 2

typedef struct driver {
  hn__call *x;
  hn_engine *e;
  const hn__mpi_transport *t;
  hn__collector *col;
  int n_workers;
  slot *slots; /* [worker rank - 1][SLOTS] */
  bool *ran;
  int64_t next, base, min_size;
  bool fixed;
  int64_t outstanding;
  hn__bytes rx;
  hn_status fatal;
  hn_error fatal_err;
  long backoff_cap; /* ns: a fraction of the last chunk's round trip (see drive_loop) */
} driver;

/* Bytes of one item's mapped inputs, on average. */
static int64_t bytes_per_item(const hn__call *x) {
  int64_t total = 0;
  for (int64_t q = 0; q < x->plan->n_inputs; q++) {
    const hn__src *s = &x->srcs[q];
    if (s->kind != HN__SRC_MAPPED || s->length == 0) continue;
    int64_t bytes = hn__array_nbytes(s->column);
    total += bytes / s->length + 1;
  }
  return total > 0 ? total : 1;
}

static void driver_sizes(driver *d) {
  const hn__call *x = d->x;
  if (d->e->options.chunk_size > 0) {
    d->base = d->e->options.chunk_size;
    d->fixed = true;
    d->min_size = d->base;
    return;
  }
  int64_t by_bytes = CHUNK_BYTES / bytes_per_item(x);
  int64_t by_count = (x->n_items + 8 * (int64_t)d->n_workers - 1) / (8 * (int64_t)d->n_workers);
  int64_t base = by_bytes < by_count ? by_bytes : by_count;
  if (base > CHUNK_MAX_ITEMS) base = CHUNK_MAX_ITEMS;
  if (base < 1) base = 1;
  d->base = base;
  d->min_size = base / 16 > 0 ? base / 16 : 1;
}

/* The next chunk's size: guided, shrinking towards the end. */
static int64_t next_size(const driver *d) {
  int64_t left = d->x->n_items - d->next;
  int64_t size = d->base;
  if (!d->fixed) {
    int64_t guided = left / (2 * (int64_t)d->n_workers);
    if (guided < size) size = guided;
    if (size < d->min_size) size = d->min_size;
  }
  return size < left ? size : left;
}

static hn_status dispatch(driver *d, int w, slot *s, hn_error *err) {
  const hn_allocator *a = &d->x->alloc;
  s->buf.size = 0;
  msg_head head = {d->next, next_size(d)};
  hn_status st = hn__bytes_append(a, &s->buf, &head, sizeof head, err);
  if (st == HN_OK) st = hn__batch_encode(d->x, head.first, head.count, &s->buf, err);
  if (st != HN_OK) return st;
  int rc = d->t->isend(s->buf.data, s->buf.size, w + 1, TAG_CHUNK, &s->req);
  if (rc != 0) return mpi_failed(d->t, rc, "MPI_Isend of a chunk", err);
  s->busy = true;
  s->first = head.first;
  s->count = head.count;
  s->sent = d->t->wtime();
  d->next += head.count;
  d->outstanding++;
  d->ran[w] = true;
  return HN_OK;
}

/* Complete finished sends; abort the job on a chunk past its timeout. */
static hn_status check_slots(driver *d, bool *progressed, hn_error *err) {
  double now = d->t->wtime();
  for (int w = 0; w < d->n_workers; w++)
    for (int k = 0; k < SLOTS; k++) {
      slot *s = &d->slots[w * SLOTS + k];
      if (s->req) {
        int done = 0;
        int rc = d->t->test(s->req, &done);
        if (rc != 0) return mpi_failed(d->t, rc, "MPI_Test", err);
        if (done) {
          s->req = NULL;
          *progressed = true;
        }
      }
      if (s->busy && d->e->options.chunk_timeout > 0 && now - s->sent > d->e->options.chunk_timeout) {
        fprintf(stderr,
                "hypernodes mpi: chunk of items [%lld, %lld) on rank %d timed out after %g s; "
                "aborting the job with code %d\n",
                (long long)s->first, (long long)(s->first + s->count), w + 1,
                d->e->options.chunk_timeout, HN_MPI_ABORT_TIMEOUT);
        fflush(stderr);
        d->t->abort(HN_MPI_ABORT_TIMEOUT);
      }
    }
  return HN_OK;
}

static slot *find_slot(driver *d, int w, int64_t first) {
  for (int k = 0; k < SLOTS; k++) {
    slot *s = &d->slots[w * SLOTS + k];
    if (s->busy && s->first == first) return s;
  }
  return NULL;
}

static hn_status handle_message(driver *d, int source, int tag, size_t size, hn_error *err) {
  const hn_allocator *a = &d->x->alloc;
  hn_status st = recv_into(d->t, a, &d->rx, size, source, tag, err);
  if (st != HN_OK) return st;
  int w = source - 1;
  if (w < 0 || w >= d->n_workers || (tag != TAG_RESULT && tag != TAG_FAIL) ||
      size < sizeof(msg_head))
    return hn__error(err, HN_ECORRUPT, "mpi engine: unexpected message (tag %d, %zu bytes) from "
                     "rank %d", tag, size, source);
  msg_head head;
  memcpy(&head, d->rx.data, sizeof head);
  slot *s = find_slot(d, w, head.first);
  if (!s)
    return hn__error(err, HN_ECORRUPT, "mpi engine: rank %d answered a chunk it was not sent "
                     "(first item %lld)", source, (long long)head.first);
  if (tag == TAG_FAIL) {
    hn_error remote;
    hn_error_reset(&remote);
    if (size >= sizeof head + sizeof remote) memcpy(&remote, d->rx.data + sizeof head, sizeof remote);
    remote.message[sizeof remote.message - 1] = '\0';
    if (d->fatal == HN_OK) {
      d->fatal = remote.code != HN_OK ? remote.code : HN_EINTERNAL;
      hn__error(&d->fatal_err, d->fatal, "rank %d failed on items [%lld, %lld): %s", source,
                (long long)head.first, (long long)(head.first + head.count), remote.message);
    }
  } else {
    st = hn__reply_take(d->col, d->x, w, head.first, head.count, d->rx.data + sizeof head,
                           size - sizeof head, err);
    if (st != HN_OK) return st;
    /* Idle polling sleeps at most 1/16 of a round trip (two chunks are queued per
     * worker): rank 0 wakes, and preempts a worker, only as often as it must. */
    double cap = (d->t->wtime() - s->sent) * 1e9 / 16;
    d->backoff_cap = cap < BACKOFF_MIN_NS ? BACKOFF_MIN_NS
                     : cap > BACKOFF_CAP_NS ? BACKOFF_CAP_NS
                                            : (long)cap;
  }
  s->busy = false;
  d->outstanding--;
  return HN_OK;
}

static bool may_dispatch(const driver *d) {
  return d->fatal == HN_OK && d->next < d->x->n_items &&
         hn__collector_failed_item(d->col) == INT64_MAX;
}

static hn_status drive_loop(driver *d, hn_error *err) {
  long backoff = BACKOFF_MIN_NS;
  for (;;) {
    bool progressed = false;
    for (int k = 0; k < SLOTS; k++)
      for (int w = 0; w < d->n_workers && may_dispatch(d); w++) {
        slot *s = &d->slots[w * SLOTS + k];
        if (s->busy || s->req) continue;
        hn_status st = dispatch(d, w, s, err);
        if (st != HN_OK) return st;
        progressed = true;
      }
    if (d->outstanding == 0 && !may_dispatch(d)) return HN_OK;
    int flag = 0, source = -1, tag = -1;
    size_t size = 0;
    int rc = d->t->iprobe(&flag, &source, &tag, &size);
    if (rc != 0) return mpi_failed(d->t, rc, "MPI_Iprobe", err);
    if (flag) {
      hn_status st = handle_message(d, source, tag, size, err);
      if (st != HN_OK) return st;
      progressed = true;
    }
    hn_status st = check_slots(d, &progressed, err);
    if (st != HN_OK) return st;
    if (progressed) {
      backoff = BACKOFF_MIN_NS;
    } else {
      sleep_ns(backoff);
      backoff = backoff * 2 > d->backoff_cap ? d->backoff_cap : backoff * 2;
    }
  }
}

/* STOP every worker, then take each one's BYE (resource counts). */
static hn_status stop_workers(driver *d, hn_error *err) {
  hn_status st = HN_OK;
  /* Sends still in flight complete before the buffers go. */
  for (int i = 0; d->slots && i < d->n_workers * SLOTS; i++) {
    slot *s = &d->slots[i];
    long backoff = BACKOFF_MIN_NS;
    while (s->req) {
      int done = 0;
      int rc = d->t->test(s->req, &done);
      if (rc != 0) return mpi_failed(d->t, rc, "MPI_Test", err);
      if (done) s->req = NULL;
      else {
        sleep_ns(backoff);
        backoff = backoff_next(backoff);
      }
    }
  }
  msg_head stop = {0, 0};
  for (int w = 0; w < d->n_workers && st == HN_OK; w++)
    st = send_wait(d->t, &stop, sizeof stop, w + 1, TAG_STOP, err);
  int64_t inits = 0, destroys = 0;
  for (int got = 0; got < d->n_workers && st == HN_OK;) {
    int source = -1, tag = -1;
    size_t size = 0;
    st = probe_wait(d->t, &source, &tag, &size, err);
    if (st == HN_OK) st = recv_into(d->t, &d->x->alloc, &d->rx, size, source, tag, err);
    if (st != HN_OK) break;
    if (tag != TAG_BYE || size != sizeof(msg_head)) {
      st = hn__error(err, HN_ECORRUPT, "mpi engine: unexpected message (tag %d) from rank %d "
                     "while stopping", tag, source);
      break;
    }
    msg_head bye;
    memcpy(&bye, d->rx.data, sizeof bye);
    inits += bye.first;
    destroys += bye.count;
    got++;
  }
  int ran = 0;
  for (int w = 0; d->ran && w < d->n_workers; w++) ran += d->ran[w] ? 1 : 0;
  /* Replies already counted the inits, batch by batch; BYE adds the destroys. */
  (void)inits;
  if (st == HN_OK && d->col) hn__collector_add_counts(d->col, 0, destroys, ran);
  return st;
}

static hn_status drive(hn__call *x, hn_error *err) {
  hn_engine *e = x->engine;
  const hn_allocator *a = &x->alloc;
  driver d;
  memset(&d, 0, sizeof d);
  d.x = x;
  d.e = e;
  d.t = hn__mpi_transport_of(e);
  d.n_workers = e->ranks - 1;
  d.backoff_cap = BACKOFF_MAX_NS;
  hn_error_reset(&d.fatal_err);
  /* The call's header and broadcast inputs, once. */
  hn__bytes consts = {0};
  hn_error local;
  hn_error_reset(&local);
  hn_status st = hn__consts_encode(x, &consts, &local);
  call_head head = {x->n_items, st == HN_OK ? (uint64_t)consts.size : 0};
  if (st != HN_OK) head.n_items = -1; /* tells the workers to stop at once */
  int rc = d.t->bcast(&head, sizeof head, 0);
  if (rc == 0 && head.n_items >= 0) rc = d.t->bcast(consts.data, consts.size, 0);
  hn__bytes_free(a, &consts);
  if (st != HN_OK) {
    if (err) *err = local;
    return st;
  }
  if (rc != 0) return mpi_failed(d.t, rc, "MPI_Bcast of the call", err);
  d.slots = hn__calloc(a, (size_t)d.n_workers * SLOTS, sizeof *d.slots);
  d.ran = hn__calloc(a, (size_t)d.n_workers, sizeof *d.ran);
  st = d.slots && d.ran ? HN_OK : hn__error_nomem(err, "for the mpi engine's chunks");
  d.col = x->col;
  hn__collector_keep_chunks(d.col, HN__MORSEL_DEFAULT);
  if (st == HN_OK) {
    driver_sizes(&d);
    st = drive_loop(&d, err);
  }
  /* Whatever happened, in-flight chunks are answered before the workers stop. */
  hn_error drain_err;
  hn_error_reset(&drain_err);
  while (d.slots && d.outstanding > 0) {
    int source = -1, tag = -1;
    size_t size = 0;
    hn_status s2 = probe_wait(d.t, &source, &tag, &size, &drain_err);
    if (s2 == HN_OK) s2 = handle_message(&d, source, tag, size, &drain_err);
    if (s2 != HN_OK) break;
  }
  {
    hn_status s2 = stop_workers(&d, st == HN_OK ? err : &drain_err);
    if (st == HN_OK) st = s2;
  }
  if (st == HN_OK && d.fatal != HN_OK) {
    st = d.fatal;
    if (err) *err = d.fatal_err;
  }
  if (st == HN_OK) st = hn__collector_failure(d.col, err); /* every rank returns it */
  for (int i = 0; d.slots && i < d.n_workers * SLOTS; i++) hn__bytes_free(a, &d.slots[i].buf);
  hn__free(a, d.slots);
  hn__free(a, d.ran);
  hn__bytes_free(a, &d.rx);
  return st;
}

/* ---- ranks > 0: serving ------------------------------------------------------------------- */

/* Wait for a send to complete, polling with back-off; *req becomes NULL. */
static hn_status wait_send(const hn__mpi_transport *t, hn__mpi_req **req, hn_error *err) {
  long backoff = BACKOFF_MIN_NS;
  while (*req) {
    int done = 0;
    int rc = t->test(*req, &done);
    if (rc != 0) return mpi_failed(t, rc, "MPI_Test", err);
    if (done) {
      *req = NULL;
    } else {
      sleep_ns(backoff);
      backoff = backoff_next(backoff);
    }
  }
  return HN_OK;
}

/* A result on its way to rank 0: the worker goes on with its next chunk meanwhile. */
typedef struct out_slot {
  hn__bytes buf;
  hn__mpi_req *req;
} out_slot;

static hn_status serve(hn__call *x, hn_error *err) {
  hn_engine *e = x->engine;
  const hn__mpi_transport *t = hn__mpi_transport_of(e);
  const hn_allocator *a = &x->alloc;
  call_head head;
  int rc = t->bcast(&head, sizeof head, 0);
  if (rc != 0) return mpi_failed(t, rc, "MPI_Bcast of the call", err);
  if (head.n_items < 0) return HN_OK; /* rank 0 failed before dispatching: the outcome says why */
  hn__bytes rx = {0}, out = {0};
  out_slot outs[2];
  memset(outs, 0, sizeof outs);
  int cur = 0;
  hn_status st = hn__bytes_reserve(a, &rx, head.consts_size ? head.consts_size : 1, err);
  if (st != HN_OK) t->abort(1); /* cannot take part in the broadcast */
  rc = t->bcast(rx.data, head.consts_size, 0);
  if (rc != 0) return mpi_failed(t, rc, "MPI_Bcast of the broadcast inputs", err);
  rx.size = head.consts_size;
  /* A worker that cannot start still answers every chunk (with its failure). */
  hn__batch_worker *bw = NULL;
  hn_error wfail;
  hn_error_reset(&wfail);
  hn_status wst = hn__batch_worker_create(x, ((hn__mpi_state *)e->state)->pool, &bw, &wfail);
  if (wst == HN_OK) wst = hn__batch_worker_set_consts(bw, rx.data, rx.size, &wfail);
  for (;;) {
    int source = -1, tag = -1;
    size_t size = 0;
    st = probe_wait(t, &source, &tag, &size, err);
    if (st == HN_OK) st = recv_into(t, a, &rx, size, source, tag, err);
    if (st != HN_OK) break;
    if (tag == TAG_STOP) break;
    msg_head mh = {0, 0};
    if (tag != TAG_CHUNK || size < sizeof mh) {
      st = hn__error(err, HN_ECORRUPT, "mpi engine: rank %d got an unexpected message (tag %d)",
                     e->rank, tag);
      break;
    }
    memcpy(&mh, rx.data, sizeof mh);
    /* Two results may be in flight; the older one's buffer is reused. */
    out_slot *o = &outs[cur];
    st = wait_send(t, &o->req, err);
    if (st != HN_OK) break;
    o->buf.size = 0;
    hn_status rs = hn__bytes_append(a, &o->buf, &mh, sizeof mh, &wfail);
    if (rs == HN_OK && wst == HN_OK) {
      rs = hn__batch_worker_run(bw, mh.first, mh.count, rx.data + sizeof mh, size - sizeof mh,
                                &out, &wfail);
      if (rs == HN_OK) rs = hn__bytes_append(a, &o->buf, out.data, out.size, &wfail);
    }
    if (wst != HN_OK) rs = wst;
    if (rs == HN_OK) {
      rc = t->isend(o->buf.data, o->buf.size, 0, TAG_RESULT, &o->req);
      if (rc != 0) st = mpi_failed(t, rc, "MPI_Isend of a result", err);
      cur ^= 1;
    } else {
      /* The failure travels as a fixed message: no allocation needed. */
      uint8_t fail[sizeof(msg_head) + sizeof(hn_error)];
      wfail.code = rs;
      memcpy(fail, &mh, sizeof mh);
      memcpy(fail + sizeof mh, &wfail, sizeof wfail);
      st = send_wait(t, fail, sizeof fail, 0, TAG_FAIL, err);
    }
    if (st != HN_OK) break;
  }
  for (int k = 0; k < 2; k++) {
    hn_status s2 = wait_send(t, &outs[k].req, err);
    if (st == HN_OK) st = s2;
    hn__bytes_free(a, &outs[k].buf);
  }
  int64_t inits = 0, destroys = 0;
  if (bw) hn__batch_worker_destroy(bw, &inits, &destroys);
  if (st == HN_OK) {
    msg_head bye = {inits, destroys};
    st = send_wait(t, &bye, sizeof bye, 0, TAG_BYE, err);
  }
  hn__bytes_free(a, &rx);
  hn__bytes_free(a, &out);
  return st;
}

/* ---- entry -------------------------------------------------------------------------------- */

typedef struct outcome {
  int32_t status;
  int32_t pad;
  hn_error err;
} outcome;

static hn_status mpi_execute(hn__call *x, hn_error *err) {
  hn_engine *e = x->engine;
  hn__mpi_state *ms = e->state;
  hn_status st;
  if (e->ranks == 1) {
    hn__items_opts o = {.pool = ms->pool}; /* one rank: its threads, sized automatically */
    return hn__items_run(x, &o, err);
  }
  hn_error mine;
  hn_error_reset(&mine);
  st = e->rank == 0 ? drive(x, &mine) : serve(x, &mine);
  /* Every rank returns rank 0's outcome. */
  outcome o;
  memset(&o, 0, sizeof o);
  o.status = (int32_t)st;
  o.err = mine;
  int rc = ms->t->bcast(&o, sizeof o, 0);
  if (rc != 0) return mpi_failed(ms->t, rc, "MPI_Bcast of the outcome", err);
  if (e->rank != 0) {
    x->served_only = true;
    if (st != HN_OK && o.status == HN_OK) {
      /* This rank failed on its own (it already told rank 0 what it could). */
      if (err) *err = mine;
      return st;
    }
  }
  if (o.status != HN_OK && err) *err = o.err;
  return (hn_status)o.status;
}

const hn__engine_ops hn__mpi_ops = {
    .name = "mpi",
    .flags = HN__ENGINE_ACROSS_PROCESSES,
    .start = mpi_start,
    .stop = mpi_stop,
    .agree = mpi_agree,
    .execute = mpi_execute,
};
