/*
 * DOT text: a buffered writer over the caller's write function, escaping of
 * names for ids and labels, and short renderings of values for labels.
 */
#include <inttypes.h>
#include <stdio.h>

#include "observe_internal.h"

/* ---- writer ----------------------------------------------------------------- */

void hn__dot_out_init(hn__dot_out *out, hn_dot_write_fn write, void *user_data, hn_error *err) {
  out->what = "hn_pipeline_to_dot";
  out->write = write;
  out->user_data = user_data;
  out->err = err;
  out->status = HN_OK;
  out->written = 0;
  out->len = 0;
}

hn_status hn__dot_flush(hn__dot_out *out) {
  if (out->status != HN_OK || out->len == 0) return out->status;
  size_t took = out->write(out->user_data, out->buf, out->len);
  if (took != out->len) {
    out->status = hn__error(out->err, HN_EIO,
                            "%s: the write function took %zu of %zu bytes after "
                            "%" PRIu64 " bytes; writing stopped",
                            out->what, took, out->len, out->written);
    return out->status;
  }
  out->written += out->len;
  out->len = 0;
  return HN_OK;
}

void hn__dot_put(hn__dot_out *out, const char *s, size_t n) {
  while (n > 0 && out->status == HN_OK) {
    if (out->len == sizeof out->buf && hn__dot_flush(out) != HN_OK) return;
    size_t room = sizeof out->buf - out->len;
    size_t k = n < room ? n : room;
    memcpy(out->buf + out->len, s, k);
    out->len += k;
    s += k;
    n -= k;
  }
}

void hn__dot_puts(hn__dot_out *out, const char *s) {
  hn__dot_put(out, s, strlen(s));
}

void hn__dot_printf(hn__dot_out *out, const char *fmt, ...) {
  char tmp[1024];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  hn__dot_put(out, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* ---- escaping ---------------------------------------------------------------- */

/*
 * Length of the well-formed UTF-8 sequence starting at s (1 for ASCII), or
 * 0 when the bytes there are not UTF-8 (stray continuation byte, truncated
 * or overlong sequence, surrogate, beyond U+10FFFF).
 */
static int utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80) return 1;
  int n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4) return 0;
  for (int i = 1; i < n; i++)
    if ((s[i] & 0xC0) != 0x80) return 0;
  if (c == 0xE0 && s[1] < 0xA0) return 0; /* overlong */
  if (c == 0xED && s[1] > 0x9F) return 0; /* surrogates */
  if (c == 0xF0 && s[1] < 0x90) return 0; /* overlong */
  if (c == 0xF4 && s[1] > 0x8F) return 0; /* past U+10FFFF */
  return n;
}

/* `id`: percent-encoding for ids; else label escapes. */
static void put_escaped(hn__dot_out *out, const char *text, bool id) {
  const unsigned char *s = (const unsigned char *)text;
  while (*s && out->status == HN_OK) {
    unsigned c = *s;
    int n = utf8_len(s);
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      hn__dot_put(out, esc, 2);
    } else if (!id && c == '\n') {
      hn__dot_put(out, "\\n", 2);
    } else if (n == 0 || c < 0x20 || c == 0x7F || (id && (c == '%' || c == '/'))) {
      /* In a label, "\\x" shows as a backslash (graphviz reads "\\" as one). */
      hn__dot_printf(out, id ? "%%%02X" : "\\\\x%02X", c);
      n = 1;
    } else {
      hn__dot_put(out, (const char *)s, (size_t)n);
    }
    s += n > 0 ? n : 1;
  }
}

void hn__dot_label_text(hn__dot_out *out, const char *s) {
  put_escaped(out, s ? s : "", false);
}

void hn__dot_id_text(hn__dot_out *out, const char *s) {
  put_escaped(out, s ? s : "", true);
}

/* ---- values ---------------------------------------------------------------- */

#define RENDER_ITEMS 3  /* list items and struct fields shown before "..." */
#define RENDER_CHARS 16 /* bytes of a string shown before "..." */
#define RENDER_MAX 64   /* bytes of one rendering (NUL included) */

/* A bounded string: appends stop at the cap (the caller marks cut text). */
typedef struct sbuf {
  char *p;
  size_t cap; /* usable bytes, NUL excluded */
  size_t len;
  bool cut;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
  if (b->cut) return;
  if (n > b->cap - b->len) {
    n = b->cap - b->len;
    /* Never split a UTF-8 sequence. */
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
    b->cut = true;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
}

static void sb_str(sbuf *b, const char *s) {
  sb_add(b, s, strlen(s));
}

static void sb_fmt(sbuf *b, const char *fmt, ...) HN__PRINTF(2, 3);
static void sb_fmt(sbuf *b, const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n > 0) sb_add(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void render(sbuf *b, const hn_type *type, hn_datum d);

/* A quoted string, its first RENDER_CHARS bytes (whole UTF-8 characters) then "...". */
static void render_string(sbuf *b, hn_str s) {
  size_t n = (size_t)s.size;
  bool cut = n > RENDER_CHARS;
  if (cut) {
    n = RENDER_CHARS;
    while (n > 0 && ((unsigned char)s.data[n] & 0xC0) == 0x80) n--;
  }
  sb_str(b, "\"");
  sb_add(b, s.data, n);
  sb_str(b, cut ? "...\"" : "\"");
}

/*
 * Item i of a list or struct into b, after ", " when i > 0, when it fits
 * whole with room left for ", ...]"; else ", ..." and false (stop there).
 */
static bool render_item(sbuf *b, int64_t i, const char *label, const hn_type *type, hn_datum d) {
  char tmp[RENDER_MAX];
  sbuf t = {tmp, sizeof tmp, 0, false};
  if (label) {
    sb_str(&t, label);
    sb_str(&t, ": ");
  }
  render(&t, type, d);
  size_t room = b->cap - b->len, need = t.len + (i ? 2 : 0) + 6;
  if (t.cut || need > room) {
    sb_str(b, i ? ", ..." : "...");
    return false;
  }
  if (i) sb_str(b, ", ");
  sb_add(b, tmp, t.len);
  return true;
}

static void render_list(sbuf *b, const hn_type *type, hn_list_view v) {
  sb_str(b, "[");
  int64_t i = 0;
  while (i < v.length && i < RENDER_ITEMS &&
         render_item(b, i, NULL, hn_type_list_item(type), hn_list_view_get(v, i)))
    i++;
  if (i == RENDER_ITEMS && v.length > RENDER_ITEMS) sb_str(b, ", ...");
  sb_str(b, "]");
}

static void render_struct(sbuf *b, const hn_type *type, hn_struct_view v) {
  int64_t n = hn_type_num_fields(type), i = 0;
  sb_str(b, "{");
  while (i < n && i < RENDER_ITEMS &&
         render_item(b, i, hn_type_field_name(type, i), hn_type_field_type(type, i),
                     hn_struct_view_field(v, i)))
    i++;
  if (i == RENDER_ITEMS && n > RENDER_ITEMS) sb_str(b, ", ...");
  sb_str(b, "}");
}

static void render(sbuf *b, const hn_type *type, hn_datum d) {
  if (d.is_null) {
    sb_str(b, "null");
    return;
  }
  switch (d.type) {
    case HN_TYPE_BOOL:
      sb_str(b, d.v.b ? "true" : "false");
      break;
    case HN_TYPE_INT64:
      sb_fmt(b, "%" PRId64, d.v.i64);
      break;
    case HN_TYPE_FLOAT32:
      sb_fmt(b, "%g", (double)d.v.f32);
      break;
    case HN_TYPE_FLOAT64:
      sb_fmt(b, "%g", d.v.f64);
      break;
    case HN_TYPE_UTF8:
      render_string(b, d.v.str);
      break;
    case HN_TYPE_BINARY:
      sb_fmt(b, "<%" PRId64 " bytes>", d.v.str.size);
      break;
    case HN_TYPE_LIST:
      render_list(b, type, d.v.list);
      break;
    case HN_TYPE_STRUCT:
      render_struct(b, type, d.v.strct);
      break;
    case HN_TYPE_OBJECT:
      sb_str(b, "<object>");
      break;
    default: /* the Arrow types of issue 16, shown by type until this page renders them */
      sb_fmt(b, "<%s>", hn_type_id_name(d.type));
      break;
  }
}

void hn__dot_render_value(const hn_array *values, int64_t row, char *buf, size_t cap) {
  if (cap == 0) return;
  buf[0] = '\0';
  if (cap < 4 || !values || row < 0 || row >= hn_array_length(values)) return;
  sbuf b = {buf, cap - 4, 0, false}; /* room for "..." */
  render(&b, hn_array_type(values), hn_array_get(values, row));
  if (b.cut) {
    memcpy(buf + b.len, "...", 3);
    b.len += 3;
  }
  buf[b.len] = '\0';
}
