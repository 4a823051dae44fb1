/*
 * The scenarios of `hypernodes bench`: one file per scenario, each with its
 * pipeline, its inputs, its hand-written native baselines and a checksum of
 * the native outputs that the harness compares with every engine's result.
 *
 * A scenario's state starts with a bench_case (the harness reads the
 * pipeline and inputs from it). Native baselines are timed by the harness:
 * native_run computes the outputs into plain C memory (timed), then
 * native_checksum hashes and frees them (not timed).
 */
#ifndef HN_BENCH_SCENARIO_H
#define HN_BENCH_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>

#include "hypernodes/hypernodes.h"

#define BENCH_MAX_COLUMNS 4

/* Per-column, per-row hashes of a scenario's outputs. */
typedef struct bench_checksum {
  int64_t n_rows;
  int n_columns;
  const char *names[BENCH_MAX_COLUMNS]; /* borrowed (the scenario's output names) */
  uint64_t *rows[BENCH_MAX_COLUMNS];    /* n_rows hashes each */
} bench_checksum;

/* What every scenario state begins with. */
typedef struct bench_case {
  int64_t n;             /* items (after the scenario's cap) */
  hn_pipeline *pipeline; /* the benchmarked pipeline */
  hn_pipeline *faulty;   /* a deliberately wrong variant (test-only), or NULL */
  hn_inputs *inputs;
} bench_case;

typedef struct bench_scenario {
  const char *name;
  const char *summary; /* one line: what it measures */
  int64_t max_items;   /* cap on n (0: none) */
  bool map;            /* true: hn_pipeline_map over map_over; false: one hn_pipeline_run */
  const char *map_over;
  int n_outputs; /* requested outputs, hashed in this order */
  const char *const *outputs;
  int n_natives;          /* 1 (per-item loop) or 2 (also a hand-vectorised loop) */
  int64_t calls_per_item; /* overhead: node calls per item (K); else 0 */
  /* Build the state for n items (already capped); `faulty` also builds case->faulty. */
  hn_status (*create)(int64_t n, bool faulty, bench_case **out, hn_error *err);
  void (*destroy)(bench_case *c);
  /* Variant 0: per-item loop; variant 1: hand-vectorised loop. */
  void (*native_run)(bench_case *c, int variant);
  void (*native_checksum)(bench_case *c, bench_checksum *out);
} bench_scenario;

extern const bench_scenario bench_scenario_text;
extern const bench_scenario bench_scenario_stateful;
extern const bench_scenario bench_scenario_numeric;
extern const bench_scenario bench_scenario_nested;
extern const bench_scenario bench_scenario_overhead;
extern const bench_scenario bench_scenario_cpu;
extern const bench_scenario bench_scenario_nested_cpu;
extern const bench_scenario bench_scenario_io;

/* Every scenario, in the order the bench runs them; NULL-terminated. */
extern const bench_scenario *const bench_scenarios[];

/* ---- checksums ------------------------------------------------------------ */

/* Allocate the row hashes for `n_rows` rows of the scenario's outputs (exits on OOM). */
void bench_checksum_init(bench_checksum *c, const bench_scenario *s, int64_t n_rows);
void bench_checksum_free(bench_checksum *c);
/*
 * Compare `got` with `want`; returns true when equal, else writes what
 * differs (rows, column, first row, how many rows) into msg.
 */
bool bench_checksum_compare(const bench_checksum *want, const bench_checksum *got, char *msg,
                            size_t cap);
/* One number for the whole checksum (for display). */
uint64_t bench_checksum_digest(const bench_checksum *c);

/* Hashes of values; a datum hashes like the same value hashed by hand. */
uint64_t bench_hash_i64(int64_t v);
uint64_t bench_hash_f64(double v);
uint64_t bench_hash_f32(float v);
uint64_t bench_hash_str(const char *data, int64_t size);
uint64_t bench_hash_null(void);
uint64_t bench_hash_list_begin(int64_t length);
uint64_t bench_hash_list_add(uint64_t h, uint64_t item);
uint64_t bench_hash_datum(hn_datum d);

/* ---- shared helpers ------------------------------------------------------- */

void *bench_xmalloc(size_t size);
void *bench_xrealloc(void *p, size_t size);

/* A utf8 column of n strings, row i formatted by `fmt` with i (a "%lld"). */
hn_status bench_strings(int64_t n, const char *fmt, hn_array **out, hn_error *err);
/* Bytes and offsets of a utf8 array (offsets from logical row 0). */
const char *bench_utf8_bytes(const hn_array *a);

/* Strip ASCII whitespace and lowercase `s` into `dst`; returns the length written. */
static inline int64_t bench_clean(const char *s, int64_t n, char *dst) {
  int64_t lo = 0, hi = n;
  while (lo < hi && (s[lo] == ' ' || (s[lo] >= '\t' && s[lo] <= '\r'))) lo++;
  while (hi > lo && (s[hi - 1] == ' ' || (s[hi - 1] >= '\t' && s[hi - 1] <= '\r'))) hi--;
  for (int64_t i = lo; i < hi; i++) {
    char ch = s[i];
    dst[i - lo] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
  }
  return hi - lo;
}

/*
 * Next whitespace-separated token of s[0..n) from *pos: returns its length
 * and sets *start, or returns -1 at the end.
 */
static inline int64_t bench_next_token(const char *s, int64_t n, int64_t *pos, int64_t *start) {
  int64_t i = *pos;
  while (i < n && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) i++;
  if (i >= n) {
    *pos = n;
    return -1;
  }
  *start = i;
  while (i < n && !(s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))) i++;
  *pos = i;
  return i - *start;
}

/* The text nodes shared by the text and nested scenarios. */
hn_status bench_node_clean(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx);
hn_status bench_node_tokenize(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx);
hn_status bench_node_count(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx);

#define BENCH_TRY(call)                    \
  do {                                     \
    if ((st = (call)) != HN_OK) goto fail; \
  } while (0)

#endif /* HN_BENCH_SCENARIO_H */
