/*
 * Spec strings: the short text forms of node inputs and outputs
 * ("a, b: int64", "tokens: list<utf8>"), name mappings ("texts=text") and
 * name lists ("text"), read with the lexer of type strings so that names
 * and types are spelled the same way everywhere and every error points at
 * the offending character.
 *
 *   list    = [ item { "," item } ]
 *   item    = name [ ":" type ]        (HN__SPEC_TYPED, HN__SPEC_TYPES_REQUIRED)
 *           | name [ "=" name ]        (HN__SPEC_MAPPING)
 *           | name                     (HN__SPEC_NAMES)
 */
#include "graph_internal.h"

#include "../data/text_internal.h"

void hn__spec_free(const hn_allocator *a, hn__spec *s) {
  for (int64_t i = 0; i < s->n; i++) {
    if (s->names) hn__free(a, s->names[i]);
    if (s->types) hn_type_release(s->types[i]);
    if (s->to) hn__free(a, s->to[i]);
  }
  hn__free(a, s->names);
  hn__free(a, (void *)s->types);
  hn__free(a, s->to);
  *s = (hn__spec){0};
}

static bool spec_grow(const hn_allocator *a, hn__spec *s, int64_t *cap) {
  if (s->n < *cap) return true;
  size_t n = *cap ? (size_t)*cap * 2 : 4;
  char **names = hn__realloc(a, s->names, sizeof *names * n);
  if (names) s->names = names;
  const hn_type **types = hn__realloc(a, (void *)s->types, sizeof *types * n);
  if (types) s->types = types;
  char **to = hn__realloc(a, s->to, sizeof *to * n);
  if (to) s->to = to;
  if (!names || !types || !to) return false;
  *cap = (int64_t)n;
  return true;
}

/* The part after a name: ": type", "= name" or nothing, as the kind allows. */
static hn_status item_tail(hn__lexer *lx, const hn_allocator *a, hn__spec_kind kind, hn__spec *s,
                           hn_error *err) {
  int64_t i = s->n;
  if (kind == HN__SPEC_MAPPING) {
    if (!hn__lex_accept(lx, '='))
      return (s->to[i] = hn__strdup(a, s->names[i])) ? HN_OK
                                                     : hn__error_nomem(err, "parsing a spec");
    return hn__lex_name(lx, a, "name after '='", &s->to[i], err);
  }
  if (kind == HN__SPEC_NAMES) return HN_OK;
  char c = hn__lex_peek(lx);
  if (c != ':') {
    if (kind != HN__SPEC_TYPES_REQUIRED) return HN_OK;
    return hn__lex_fail(lx, lx->pos, HN_EINVAL, err,
                        "output '%s' needs a type, as in \"%s: int64\"", s->names[i], s->names[i]);
  }
  lx->pos++;
  return hn__lex_type(lx, a, 0, NULL, &s->types[i], err);
}

static const char *item_role(hn__spec_kind kind) {
  switch (kind) {
    case HN__SPEC_TYPED:
      return "input name";
    case HN__SPEC_TYPES_REQUIRED:
      return "output name";
    case HN__SPEC_MAPPING:
      return "name";
    default:
      return "name";
  }
}

/* What may follow an item, for the message when something else does. */
static const char *item_follow(hn__spec_kind kind) {
  switch (kind) {
    case HN__SPEC_TYPED:
      return "',' or ': type'";
    case HN__SPEC_MAPPING:
      return "',' or '= name'";
    default:
      return "','";
  }
}

hn_status hn__spec_parse(const hn_allocator *a, const char *text, hn__spec_kind kind,
                         const char *what, hn__spec *out, hn_error *err) {
  *out = (hn__spec){0};
  hn__lexer lx;
  hn__lex_init(&lx, text, what);
  if (hn__lex_at_end(&lx)) return HN_OK;
  int64_t cap = 0;
  hn_status st = HN_OK;
  do {
    if (!spec_grow(a, out, &cap)) {
      st = hn__error_nomem(err, "parsing a spec");
      break;
    }
    out->types[out->n] = NULL;
    out->to[out->n] = NULL;
    st = hn__lex_name(&lx, a, item_role(kind), &out->names[out->n], err);
    if (st != HN_OK) break;
    st = item_tail(&lx, a, kind, out, err);
    out->n++; /* counted also on failure, so that spec_free releases it */
  } while (st == HN_OK && hn__lex_accept(&lx, ','));
  if (st == HN_OK && !hn__lex_at_end(&lx)) {
    char c = lx.text[lx.pos];
    st = hn__lex_fail(&lx, lx.pos, HN_EINVAL, err, "expected %s after '%s', found '%c'",
                      item_follow(kind), out->names[out->n - 1], c);
  }
  if (st != HN_OK) hn__spec_free(a, out);
  return st;
}
