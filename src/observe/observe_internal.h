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

#endif /* HN_OBSERVE_INTERNAL_H */
