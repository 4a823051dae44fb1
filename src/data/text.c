/*
 * The lexer of the API's text forms (type strings, node specs): blanks,
 * bare and quoted names, punctuation, and errors with a caret under the
 * offending character. See text_internal.h.
 */
#include <stdio.h>

#include "text_internal.h"

/* Longest stretch of the text shown under an error message. */
#define EXCERPT_MAX 72

void hn__lex_init(hn__lexer *lx, const char *text, const char *what) {
  *lx = (hn__lexer){.text = text ? text : "", .pos = 0, .what = what ? what : "text"};
}

static bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_bare(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-' || c == '$' || c >= 0x80;
}

bool hn__name_is_bare(const char *name) {
  if (!name || !name[0]) return false;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    if (!is_bare(*p)) return false;
  return true;
}

static void skip_blanks(hn__lexer *lx) {
  while (is_blank(lx->text[lx->pos])) lx->pos++;
}

char hn__lex_peek(hn__lexer *lx) {
  skip_blanks(lx);
  return lx->text[lx->pos];
}

bool hn__lex_accept(hn__lexer *lx, char c) {
  if (hn__lex_peek(lx) != c || c == '\0') return false;
  lx->pos++;
  return true;
}

bool hn__lex_at_end(hn__lexer *lx) {
  return hn__lex_peek(lx) == '\0';
}

/* How a character is shown in a message: 'x', or "the end". */
static const char *shown(char c, char buf[8]) {
  if (c == '\0') return "the end";
  if ((unsigned char)c < 0x20 || c == 0x7f)
    snprintf(buf, 8, "\\x%02x", (unsigned)(unsigned char)c);
  else
    snprintf(buf, 8, "'%c'", c);
  return buf;
}

hn_status hn__lex_expect(hn__lexer *lx, char c, const char *context, hn_error *err) {
  if (hn__lex_accept(lx, c)) return HN_OK;
  char got[8];
  return hn__lex_fail(lx, lx->pos, HN_EINVAL, err, "expected '%c' %s, found %s", c, context,
                      shown(lx->text[lx->pos], got));
}

size_t hn__lex_word(hn__lexer *lx, const char **start) {
  skip_blanks(lx);
  size_t n = 0;
  while (is_bare((unsigned char)lx->text[lx->pos + n])) n++;
  *start = lx->text + lx->pos;
  lx->pos += n;
  return n;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/*
 * Decode the quoted name starting at lx->pos (a '"') into dst (room for the
 * decoded bytes + NUL) or, with dst NULL, only measure and check it. Returns
 * the decoded length, or -1 after filling err.
 */
static int64_t quoted(hn__lexer *lx, char *dst, const char *role, hn_error *err) {
  size_t i = lx->pos + 1;
  int64_t n = 0;
  for (;;) {
    char c = lx->text[i];
    if (c == '\0') {
      hn__lex_fail(lx, lx->pos, HN_EINVAL, err, "unterminated quoted %s", role);
      return -1;
    }
    if (c == '"') break;
    if (c == '\\') {
      char e = lx->text[i + 1];
      int hi = e == 'x' ? hex_value(lx->text[i + 2]) : 0;
      int lo = e == 'x' && hi >= 0 ? hex_value(lx->text[i + 3]) : 0;
      if (e != '"' && e != '\\' && (e != 'x' || hi < 0 || lo < 0)) {
        hn__lex_fail(lx, i, HN_EINVAL, err, "bad escape in a quoted %s (use \\\", \\\\ or \\xHH)",
                     role);
        return -1;
      }
      c = e == 'x' ? (char)(hi * 16 + lo) : e;
      i += e == 'x' ? 4 : 2;
    } else {
      i++;
    }
    if (c == '\0') {
      hn__lex_fail(lx, i - 4, HN_EINVAL, err, "a %s cannot hold a NUL byte", role);
      return -1;
    }
    if (dst) dst[n] = c;
    n++;
  }
  if (n == 0) {
    hn__lex_fail(lx, lx->pos, HN_EINVAL, err, "empty quoted %s", role);
    return -1;
  }
  if (dst) {
    dst[n] = '\0';
    lx->pos = i + 1;
  }
  return n;
}

hn_status hn__lex_name(hn__lexer *lx, const hn_allocator *a, const char *role, char **out,
                       hn_error *err) {
  *out = NULL;
  char c = hn__lex_peek(lx), got[8];
  if (c == '"') {
    int64_t n = quoted(lx, NULL, role, err);
    if (n < 0) return HN_EINVAL;
    char *s = hn__malloc(a, (size_t)n + 1);
    if (!s) return hn__error_nomem(err, "parsing a name");
    quoted(lx, s, role, err);
    *out = s;
    return HN_OK;
  }
  const char *start = NULL;
  size_t n = hn__lex_word(lx, &start);
  if (n == 0)
    return hn__lex_fail(lx, lx->pos, HN_EINVAL, err, "expected %s %s, found %s",
                        strchr("aeiou", role[0]) ? "an" : "a", role, shown(c, got));
  char *s = hn__malloc(a, n + 1);
  if (!s) return hn__error_nomem(err, "parsing a name");
  memcpy(s, start, n);
  s[n] = '\0';
  *out = s;
  return HN_OK;
}

/* The text around `at` on one line (control characters as blanks) and the caret's column. */
static void excerpt(const char *text, size_t at, char *line, size_t cap, size_t *caret) {
  size_t len = strlen(text), start = 0;
  if (at > len) at = len;
  if (at > EXCERPT_MAX / 2 && len > EXCERPT_MAX) start = at - EXCERPT_MAX / 2;
  size_t end = start + EXCERPT_MAX < len ? start + EXCERPT_MAX : len;
  size_t k = 0;
  if (start > 0 && k + 3 < cap) {
    memcpy(line, "...", 3);
    k = 3;
  }
  *caret = k + (at - start);
  for (size_t i = start; i < end && k + 1 < cap; i++)
    line[k++] = (unsigned char)text[i] < 0x20 ? ' ' : text[i];
  if (end < len && k + 4 < cap) {
    memcpy(line + k, "...", 3);
    k += 3;
  }
  line[k] = '\0';
}

hn_status hn__lex_fail(hn__lexer *lx, size_t at, hn_status code, hn_error *err, const char *fmt,
                       ...) {
  lx->error_at = at;
  if (!err) return code;
  char problem[320], line[EXCERPT_MAX + 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(problem, sizeof problem, fmt, ap);
  va_end(ap);
  size_t caret = 0;
  excerpt(lx->text, at, line, sizeof line, &caret);
  return hn__error(err, code, "%.64s, offset %zu: %s\n  %s\n  %*s^", lx->what, at, problem, line,
                   (int)caret, "");
}

/* ---- writing ---------------------------------------------------------------- */

void hn__sink_init(hn__sink *s, char *buf, size_t cap) {
  *s = (hn__sink){buf, cap, 0};
  if (cap > 0) buf[0] = '\0';
}

static void put_bytes(hn__sink *s, const char *text, size_t n) {
  if (s->len + 1 < s->cap) {
    size_t room = s->cap - s->len - 1;
    size_t k = n < room ? n : room;
    memcpy(s->buf + s->len, text, k);
    s->buf[s->len + k] = '\0';
  }
  s->len += n;
}

void hn__sink_put(hn__sink *s, const char *text) {
  put_bytes(s, text, strlen(text));
}

void hn__sink_name(hn__sink *s, const char *name) {
  if (hn__name_is_bare(name)) {
    hn__sink_put(s, name);
    return;
  }
  put_bytes(s, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\') {
      esc[0] = '\\';
      esc[1] = (char)*p;
      put_bytes(s, esc, 2);
    } else if (*p < 0x20 || *p == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", (unsigned)*p);
      put_bytes(s, esc, 4);
    } else {
      put_bytes(s, (const char *)p, 1);
    }
  }
  put_bytes(s, "\"", 1);
}
