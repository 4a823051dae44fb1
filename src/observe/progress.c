/*
 * The progress bar: callbacks that count the items of each map from chunk
 * events and draw one line per map on a terminal, nested maps indented
 * below their parent, at most once per interval.
 *
 * Counting is lock-free (atomics per bar). Bars are created under the lock
 * (a nested map seen for the first time) and found without it: a bar's
 * depth and name are written before n_bars publishes it. Drawing happens
 * under the lock, on whichever thread first sees the interval pass (a
 * compare-and-swap on last_draw elects it; others skip). A session is one
 * top-level run or map: it starts with its pipeline start event and ends
 * with its pipeline end, which draws the final state and a newline.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "observe_internal.h"

#define MAX_BARS 8
#define LINE_MAX 512

/* A counter per worker thread, 64 bytes apart: two workers never share a cache line. */
typedef struct lane {
  _Atomic int64_t n;
  char pad[64 - sizeof(int64_t)];
} lane;

typedef struct bar {
  int depth;
  char name[64];
  _Atomic int64_t total;      /* depth 0: the map's items; nested: the items its maps announced */
  _Atomic int64_t covered;    /* nested: the outer rows whose maps started */
  lane by_chunks[HN__SHARDS]; /* items done, counted from chunk ends, per thread */
  _Atomic int64_t by_maps;    /* nested: items done, counted from map ends */
  int64_t t0;                 /* when the bar appeared */
} bar;

static int64_t chunks_done(bar *b) {
  int64_t n = 0;
  for (int i = 0; i < HN__SHARDS; i++)
    n += atomic_load_explicit(&b->by_chunks[i].n, memory_order_relaxed);
  return n;
}

struct hn_progress {
  hn_allocator alloc;
  int fd;
  bool active;
  int64_t interval_ns;
  int width;
  pthread_mutex_t mu; /* creating bars, drawing, sessions */
  bar bars[MAX_BARS];
  _Atomic int n_bars;
  _Atomic int64_t last_draw;
  int lines;    /* lines on the screen in this session (under mu) */
  bool session; /* under mu */
};

/* ---- numbers ------------------------------------------------------------------- */

/* A count, exact below a million, else with a suffix (1.23M). */
static void fmt_count(char *buf, size_t cap, double v) {
  if (v < 1e6)
    snprintf(buf, cap, "%.0f", v);
  else if (v < 1e9)
    snprintf(buf, cap, "%.2fM", v / 1e6);
  else
    snprintf(buf, cap, "%.2fG", v / 1e9);
}

static void fmt_rate(char *buf, size_t cap, double per_s) {
  if (per_s < 1e3)
    snprintf(buf, cap, "%.1f/s", per_s);
  else if (per_s < 1e6)
    snprintf(buf, cap, "%.1fk/s", per_s / 1e3);
  else
    snprintf(buf, cap, "%.2fM/s", per_s / 1e6);
}

static void fmt_time(char *buf, size_t cap, double s) {
  if (!(s >= 0) || s > 99 * 3600.0) {
    snprintf(buf, cap, "--:--");
    return;
  }
  long t = (long)(s + 0.5);
  if (t >= 3600)
    snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
  else
    snprintf(buf, cap, "%02ld:%02ld", t / 60, t % 60);
}

/* ---- bars ----------------------------------------------------------------------- */

static bar *find_bar(hn_progress *p, int depth, const char *name) {
  int n = atomic_load_explicit(&p->n_bars, memory_order_acquire);
  for (int i = 0; i < n; i++)
    if (p->bars[i].depth == depth &&
        strncmp(p->bars[i].name, name, sizeof p->bars[i].name - 1) == 0)
      return &p->bars[i];
  return NULL;
}

/* The bar of (depth, name), created when new (NULL when every bar is taken). Under mu. */
static bar *add_bar(hn_progress *p, int depth, const char *name, int64_t t0) {
  bar *b = find_bar(p, depth, name);
  int n = atomic_load(&p->n_bars);
  if (b || n == MAX_BARS) return b;
  b = &p->bars[n];
  memset(b, 0, sizeof *b);
  b->depth = depth;
  snprintf(b->name, sizeof b->name, "%s", name);
  b->t0 = t0;
  atomic_store_explicit(&p->n_bars, n + 1, memory_order_release);
  return b;
}

/* The total of bar i: announced, or estimated from the outer rows seen so far. */
static double bar_total(hn_progress *p, int i, bool *estimated) {
  bar *b = &p->bars[i];
  double total = (double)atomic_load(&b->total);
  *estimated = false;
  if (b->depth == 0) return total;
  double parent = 1; /* a run: one outer item */
  for (int k = 0; k < i; k++)
    if (p->bars[k].depth == b->depth - 1) {
      bool est;
      parent = bar_total(p, k, &est);
      break;
    }
  double covered = (double)atomic_load(&b->covered);
  if (covered > 0 && covered < parent) {
    *estimated = true;
    return total * parent / covered;
  }
  return total;
}

/* One line of bar i at time now. */
static int bar_line(hn_progress *p, int i, int64_t now, char *line, size_t cap) {
  bar *b = &p->bars[i];
  int64_t c = chunks_done(b), m = atomic_load(&b->by_maps);
  double done = (double)(c > m ? c : m);
  bool est;
  double total = bar_total(p, i, &est);
  if (total < done) total = done;
  double secs = (double)(now - b->t0) / 1e9;
  double rate = secs > 0 ? done / secs : 0;
  char d[24], t[24], r[24], eta[24];
  fmt_count(d, sizeof d, done);
  fmt_count(t, sizeof t, total);
  fmt_rate(r, sizeof r, rate);
  fmt_time(eta, sizeof eta, rate > 0 ? (total - done) / rate : -1);
  double frac = total > 0 ? done / total : 0;
  char tail[128];
  int nt = snprintf(tail, sizeof tail, " %3.0f%% %s/%s%s %s ETA %s", frac * 100, d, est ? "~" : "",
                    t, r, eta);
  int indent = 2 * b->depth, name_len = (int)strlen(b->name);
  int room = p->width - 1 - indent - name_len - 3 - nt;
  int width = room < 10 ? 10 : room > 50 ? 50 : room;
  int filled = (int)(frac * width + 0.5);
  int n = snprintf(line, cap, "%*s%s [", indent, "", b->name);
  for (int k = 0; k < width && (size_t)n + 1 < cap; k++) line[n++] = k < filled ? '#' : '.';
  n += snprintf(line + n, cap - (size_t)n, "]%s", tail);
  return n < (int)cap ? n : (int)cap - 1;
}

static void put_all(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, s, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return; /* a terminal that went away: drawing is best effort */
    s += k;
    n -= (size_t)k;
  }
}

/* Draw every bar over the previous drawing (under mu); `end` leaves it with a newline. */
static void draw(hn_progress *p, int64_t now, bool end) {
  char frame[MAX_BARS * (LINE_MAX + 16) + 32];
  size_t n = 0;
  int bars = atomic_load(&p->n_bars);
  if (bars == 0 && !end) return;
  if (p->lines > 1)
    n += (size_t)snprintf(frame, sizeof frame, "\r\x1b[%dA", p->lines - 1);
  else if (p->lines == 1)
    frame[n++] = '\r';
  for (int i = 0; i < bars; i++) {
    n += (size_t)snprintf(frame + n, sizeof frame - n, "\x1b[2K");
    n += (size_t)bar_line(p, i, now, frame + n, LINE_MAX);
    if (i + 1 < bars) frame[n++] = '\n';
  }
  if (end && bars > 0) frame[n++] = '\n';
  p->lines = end ? 0 : bars;
  put_all(p->fd, frame, n);
}

/* Redraw when the interval has passed since the last drawing (one thread draws). */
static void maybe_draw(hn_progress *p, int64_t now) {
  int64_t last = atomic_load_explicit(&p->last_draw, memory_order_relaxed);
  if (now - last < p->interval_ns) return;
  if (!atomic_compare_exchange_strong(&p->last_draw, &last, now)) return;
  if (pthread_mutex_trylock(&p->mu) != 0) return;
  if (p->session) draw(p, now, false);
  pthread_mutex_unlock(&p->mu);
}

/* ---- callbacks ---------------------------------------------------------------------- */

/* A bar's name: its pipeline's, or "map" for an unnamed one. */
static const char *bar_name(const hn_event *ev) {
  return ev->pipeline && *ev->pipeline ? ev->pipeline : "map";
}

static void on_pipeline_start(void *ud, const hn_event *ev) {
  hn_progress *p = ud;
  if (ev->depth != 0) return;
  pthread_mutex_lock(&p->mu);
  p->session = true;
  p->lines = 0;
  atomic_store(&p->n_bars, 0);
  atomic_store(&p->last_draw, ev->start_ns);
  pthread_mutex_unlock(&p->mu);
}

static void on_pipeline_end(void *ud, const hn_event *ev) {
  hn_progress *p = ud;
  if (ev->depth != 0) return;
  pthread_mutex_lock(&p->mu);
  if (p->session) draw(p, ev->start_ns + ev->duration_ns, true);
  p->session = false;
  atomic_store(&p->n_bars, 0);
  pthread_mutex_unlock(&p->mu);
}

static void on_map_start(void *ud, const hn_event *ev) {
  hn_progress *p = ud;
  const char *name = bar_name(ev);
  bar *b = find_bar(p, ev->depth, name);
  bool created = false;
  if (!b) {
    pthread_mutex_lock(&p->mu);
    b = p->session ? add_bar(p, ev->depth, name, ev->start_ns) : NULL;
    pthread_mutex_unlock(&p->mu);
    if (!b) return;
    created = true;
  }
  atomic_fetch_add(&b->total, ev->n_items);
  if (ev->depth > 0) atomic_fetch_add(&b->covered, ev->n_rows);
  if (created && ev->depth == 0) { /* the top bar shows at once */
    pthread_mutex_lock(&p->mu);
    draw(p, ev->start_ns, false);
    pthread_mutex_unlock(&p->mu);
    return;
  }
  maybe_draw(p, ev->start_ns);
}

static void on_map_end(void *ud, const hn_event *ev) {
  hn_progress *p = ud;
  if (ev->depth == 0) return; /* the top map is counted by its chunks */
  const char *name = bar_name(ev);
  bar *b = find_bar(p, ev->depth, name);
  if (!b) return;
  atomic_fetch_add(&b->by_maps, ev->n_items);
  maybe_draw(p, ev->start_ns + ev->duration_ns);
}

static void on_chunk_end(void *ud, const hn_event *ev) {
  hn_progress *p = ud;
  const char *name = bar_name(ev);
  bar *b = find_bar(p, ev->depth, name);
  if (!b) return;                                       /* a run's chunks: no bar */
  unsigned k = (unsigned)(ev->thread + 1) % HN__SHARDS; /* replayed events: one lane */
  atomic_fetch_add_explicit(&b->by_chunks[k].n, ev->n_items, memory_order_relaxed);
  maybe_draw(p, ev->start_ns + ev->duration_ns);
}

/* ---- the object ------------------------------------------------------------------------ */

static hn_status read_options(const hn_progress_options *o, hn_progress_options *out,
                              hn_error *err) {
  memset(out, 0, sizeof *out);
  if (!o) return HN_OK;
  size_t min = offsetof(hn_progress_options, fd) + sizeof o->fd;
  if (o->size < min || o->size > sizeof *out)
    return hn__error(err, HN_EINVAL,
                     "hn_progress_create: options->size is %zu: set it to "
                     "sizeof(hn_progress_options)",
                     o->size);
  memcpy(out, o, o->size);
  if (out->fd < 0 || out->interval < 0 || out->width < 0)
    return hn__error(err, HN_EINVAL,
                     "hn_progress_create: negative option (fd %d, interval %g, width %d)", out->fd,
                     out->interval, out->width);
  return HN_OK;
}

hn_status hn_progress_create(const hn_allocator *alloc, const hn_progress_options *options,
                             hn_progress **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_progress_create: NULL out");
  *out = NULL;
  hn_progress_options o;
  hn_status st = read_options(options, &o, err);
  if (st != HN_OK) return st;
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_progress *p = hn__calloc(&a, 1, sizeof *p);
  if (!p) return hn__error_nomem(err, "for a progress bar");
  p->alloc = a;
  p->fd = o.fd ? o.fd : STDERR_FILENO;
  p->active = o.always || isatty(p->fd);
  p->interval_ns = (int64_t)((o.interval > 0 ? o.interval : 0.1) * 1e9);
  p->width = o.width;
  struct winsize ws;
  if (!p->width && p->active && ioctl(p->fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    p->width = ws.ws_col;
  if (!p->width) p->width = 80;
  if (p->width > LINE_MAX - 1) p->width = LINE_MAX - 1;
  pthread_mutex_init(&p->mu, NULL);
  atomic_init(&p->n_bars, 0);
  atomic_init(&p->last_draw, 0);
  *out = p;
  return HN_OK;
}

void hn_progress_destroy(hn_progress *progress) {
  if (!progress) return;
  if (progress->session && progress->lines > 0) put_all(progress->fd, "\n", 1);
  pthread_mutex_destroy(&progress->mu);
  hn_allocator a = progress->alloc;
  hn__free(&a, progress);
}

void hn_progress_get_callbacks(hn_progress *progress, hn_callbacks *out, size_t size) {
  if (!out) return;
  hn_callbacks cb;
  memset(&cb, 0, sizeof cb);
  cb.size = sizeof cb;
  if (progress && progress->active) {
    cb.user_data = progress;
    cb.on_pipeline_start = on_pipeline_start;
    cb.on_pipeline_end = on_pipeline_end;
    cb.on_map_start = on_map_start;
    cb.on_map_end = on_map_end;
    cb.on_chunk_end = on_chunk_end;
  }
  memcpy(out, &cb, size < sizeof cb ? size : sizeof cb);
  if (size >= sizeof out->size) out->size = size < sizeof cb ? size : sizeof cb;
}

bool hn_progress_active(const hn_progress *progress) {
  return progress && progress->active;
}
