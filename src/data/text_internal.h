/*
 * The text forms of the API: a small lexer shared by type strings
 * (type_string.c: "list<struct<a: int64, b: utf8>>") and the graph layer's
 * node specs ("a, b: int64", "texts=text"). Names are bare ("text",
 * "n_tokens") or quoted ("\"a b\"", with \" \\ and \xHH escapes), so any
 * name round-trips. Every failure points at the offending character: its
 * offset, and the text with a caret under it. Not installed; symbols use hn__.
 */
#ifndef HN_TEXT_INTERNAL_H
#define HN_TEXT_INTERNAL_H

#include "data_internal.h"

/* A position in a NUL-terminated text being parsed. */
typedef struct hn__lexer {
  const char *text; /* the whole text */
  size_t pos;       /* next character */
  const char *what; /* what the text is, for messages ("type string", "outputs") */
  size_t error_at;  /* after a failure: offset of the offending character */
} hn__lexer;

void hn__lex_init(hn__lexer *lx, const char *text, const char *what);
/* Skip blanks; return the next character ('\0' at the end) without taking it. */
char hn__lex_peek(hn__lexer *lx);
/* Skip blanks; take the next character when it is `c`. */
bool hn__lex_accept(hn__lexer *lx, char c);
/* Skip blanks; take `c` or fail with "expected 'c' <context>". */
hn_status hn__lex_expect(hn__lexer *lx, char c, const char *context, hn_error *err);
/* Skip blanks; true when nothing but blanks is left. */
bool hn__lex_at_end(hn__lexer *lx);
/*
 * Skip blanks; take a bare word (see hn__name_is_bare) without copying it.
 * Returns its length (0 when the next character does not start one).
 */
size_t hn__lex_word(hn__lexer *lx, const char **start);
/*
 * Skip blanks; take a name, bare or quoted, into a NUL-terminated copy made
 * with `a` (*out; the caller frees it). `role` names it in messages ("input
 * name"). Fails when there is no name, an empty or unterminated quote, a
 * bad escape, or no memory.
 */
hn_status hn__lex_name(hn__lexer *lx, const hn_allocator *a, const char *role, char **out,
                       hn_error *err);
/*
 * Fill err with "<what>, offset N: <message>" followed by the text (or a
 * window of it) and a caret under offset `at`; record `at` in
 * lx->error_at. Returns `code`.
 */
hn_status hn__lex_fail(hn__lexer *lx, size_t at, hn_status code, hn_error *err, const char *fmt,
                       ...) HN__PRINTF(5, 6);

/* Offset-aware writing into a caller's buffer, counting what does not fit (snprintf-like). */
typedef struct hn__sink {
  char *buf;
  size_t cap;
  size_t len; /* what the whole text needs, without the NUL */
} hn__sink;

void hn__sink_init(hn__sink *s, char *buf, size_t cap);
void hn__sink_put(hn__sink *s, const char *text);
/* A name as the lexer reads it back: bare when it can be, else quoted. */
void hn__sink_name(hn__sink *s, const char *name);
/* True when `name` is non-empty and only letters, digits, '_', '.', '-', '$' or non-ASCII bytes. */
bool hn__name_is_bare(const char *name);

/*
 * Parse one type at the lexer's position (type_string.c). Object types are
 * looked up by name among `objects` (retained on success). Nested types are
 * created with `alloc` (NULL: libc). Fails pointing at the offending
 * character.
 */
hn_status hn__lex_type(hn__lexer *lx, const hn_allocator *alloc, int64_t n_objects,
                       const hn_type *const *objects, const hn_type **out, hn_error *err);

#endif /* HN_TEXT_INTERNAL_H */
