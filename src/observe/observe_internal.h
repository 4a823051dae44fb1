/*
 * Internal helpers of the observe layer (src/observe): the DOT text writer
 * (buffered, escaping) and short renderings of values for labels. Not
 * installed; symbols use hn__.
 */
#ifndef HN_OBSERVE_INTERNAL_H
#define HN_OBSERVE_INTERNAL_H

#include "../exec/exec_internal.h"
#include "hypernodes/observe.h"

/*
 * Buffered output to a hn_dot_write_fn. Failures are sticky: once `write`
 * refuses a piece, `status` is HN_EIO, `err` says so and later puts do
 * nothing.
 */
typedef struct hn__dot_out {
  const char *what; /* the function writing, for the message of a refused write */
  hn_dot_write_fn write;
  void *user_data;
  hn_error *err;
  hn_status status;
  uint64_t written; /* bytes accepted by `write` */
  size_t len;       /* bytes waiting in buf */
  char buf[4096];
} hn__dot_out;

void hn__dot_out_init(hn__dot_out *out, hn_dot_write_fn write, void *user_data, hn_error *err);
/* Hand what is buffered to `write`; returns out->status. */
hn_status hn__dot_flush(hn__dot_out *out);
/* Raw DOT text (syntax written by the drawing code, never a name). */
void hn__dot_put(hn__dot_out *out, const char *s, size_t n);
void hn__dot_puts(hn__dot_out *out, const char *s);
void hn__dot_printf(hn__dot_out *out, const char *fmt, ...) HN__PRINTF(2, 3);
/*
 * Text inside a quoted label: quotes and backslashes escaped, a newline as
 * a line break (\n), other control characters and bytes that are not UTF-8
 * as a visible \xHH.
 */
void hn__dot_label_text(hn__dot_out *out, const char *s);
/*
 * A name inside a quoted id: '%', '/', control characters and bytes that
 * are not UTF-8 as %HH (so that ids built from a path of names are
 * distinct for distinct paths), quotes and backslashes escaped.
 */
void hn__dot_id_text(hn__dot_out *out, const char *s);

/*
 * A short, readable rendering of row `row` of `values` for a label: numbers,
 * quoted strings, [lists] and {structs}, shortened with "..." to fit `cap`
 * bytes (NUL included). Always NUL-terminated when cap > 0.
 */
void hn__dot_render_value(const hn_array *values, int64_t row, char *buf, size_t cap);

/* ---- observers (write.c) ----------------------------------------------------- */

/* The same writer for other text: `what` names the function in messages. */
void hn__text_out_init(hn__dot_out *out, const char *what, hn_write_fn write, void *user_data,
                       hn_error *err);
/* A JSON string: quoted, with quotes, backslashes and control characters escaped. */
void hn__json_str(hn__dot_out *out, const char *s);

/*
 * Observers record from many threads at once into shards: the events of one
 * worker thread go to one shard, whose lock is then (nearly) never
 * contended.
 */
#define HN__SHARDS 16
static inline int hn__shard_of(const hn_event *ev) {
  unsigned h = (unsigned)(ev->thread + 1) * 2654435761u;
  h ^= (unsigned)(ev->process + 1) * 40503u ^ (unsigned)ev->rank * 97u;
  return (int)((h >> 7) % HN__SHARDS);
}

/*
 * Interned strings: each distinct string gets a small id (its index in
 * `v`). Not thread-safe (the owner's lock guards it). Zero-initialise;
 * free with hn__strtab_free.
 */
typedef struct hn__strtab {
  char **v; /* by id; owned */
  int64_t n, cap;
  int64_t *slots;  /* open addressing: id + 1, 0 for empty */
  int64_t n_slots; /* a power of two */
} hn__strtab;

/* The id of s (NULL as ""), added when new; -1 when out of memory. */
int64_t hn__strtab_id(const hn_allocator *a, hn__strtab *t, const char *s);
void hn__strtab_free(const hn_allocator *a, hn__strtab *t);

#endif /* HN_OBSERVE_INTERNAL_H */
