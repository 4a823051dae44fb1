/*
 * Type strings: hn_type_to_string and hn_type_parse, one grammar driven by
 * one table. A type is a word from the table, followed for parameterised
 * types by their parameters in angle brackets:
 *
 *   type    = word [ "<" params ">" ]
 *   list    : "list<" type ">"
 *   struct  : "struct<" [ name ":" type { "," name ":" type } ] ">"
 *   object  : "object<" name ">"        (resolved among known object types)
 *
 * Names are bare or quoted (text_internal.h); blanks between tokens are
 * ignored. A new type is one line in k_forms (plus, when it takes
 * parameters, its parse and spell functions).
 */
#include <stdio.h>
#include <stdlib.h>

#include "text_internal.h"

/* Deeper nesting than this is refused (the parser recurses once per level). */
#define MAX_DEPTH 64

typedef struct parse_ctx {
  hn__lexer *lx;
  const hn_allocator *alloc;
  int64_t n_objects;
  const hn_type *const *objects;
  int depth;
} parse_ctx;

static hn_status parse_type(parse_ctx *pc, const hn_type **out, hn_error *err);

/* ---- parameterised types -------------------------------------------------- */

static hn_status parse_list(parse_ctx *pc, const hn_type **out, hn_error *err) {
  const hn_type *item = NULL;
  hn_status st = hn__lex_expect(pc->lx, '<', "after 'list'", err);
  if (st == HN_OK) st = parse_type(pc, &item, err);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, '>', "to close list<", err);
  if (st == HN_OK) st = hn_type_list_create(pc->alloc, item, out, err);
  hn_type_release(item);
  return st;
}

static void spell_list(const hn_type *t, hn__sink *s);

/* Fields parsed so far (names owned, types held). */
typedef struct fields {
  int64_t n, cap;
  char **names;
  const hn_type **types;
  size_t *at; /* offset of each name, for messages */
} fields;

static void fields_free(const hn_allocator *a, fields *f) {
  for (int64_t i = 0; i < f->n; i++) {
    hn__free(a, f->names[i]);
    hn_type_release(f->types[i]);
  }
  hn__free(a, f->names);
  hn__free(a, (void *)f->types);
  hn__free(a, f->at);
}

static bool fields_grow(const hn_allocator *a, fields *f) {
  if (f->n < f->cap) return true;
  size_t cap = f->cap ? (size_t)f->cap * 2 : 4;
  char **names = hn__realloc(a, f->names, sizeof *names * cap);
  if (names) f->names = names;
  const hn_type **types = hn__realloc(a, (void *)f->types, sizeof *types * cap);
  if (types) f->types = types;
  size_t *at = hn__realloc(a, f->at, sizeof *at * cap);
  if (at) f->at = at;
  if (!names || !types || !at) return false;
  f->cap = (int64_t)cap;
  return true;
}

/* One "name: type" of a struct. */
static hn_status parse_field(parse_ctx *pc, const hn_allocator *a, fields *f, hn_error *err) {
  if (!fields_grow(a, f)) return hn__error_nomem(err, "parsing a struct type");
  hn__lex_peek(pc->lx);
  size_t at = pc->lx->pos;
  char *name = NULL;
  hn_status st = hn__lex_name(pc->lx, a, "field name", &name, err);
  if (st != HN_OK) return st;
  for (int64_t i = 0; i < f->n; i++)
    if (strcmp(f->names[i], name) == 0) {
      hn__free(a, name);
      return hn__lex_fail(pc->lx, at, HN_EINVAL, err, "struct field '%s' appears twice",
                          f->names[i]);
    }
  const hn_type *type = NULL;
  st = hn__lex_expect(pc->lx, ':', "after a struct field name", err);
  if (st == HN_OK) st = parse_type(pc, &type, err);
  if (st != HN_OK) {
    hn__free(a, name);
    return st;
  }
  f->names[f->n] = name;
  f->types[f->n] = type;
  f->at[f->n++] = at;
  return HN_OK;
}

static hn_status parse_struct(parse_ctx *pc, const hn_type **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(pc->alloc);
  fields f = {0};
  hn_status st = hn__lex_expect(pc->lx, '<', "after 'struct'", err);
  if (st == HN_OK && !hn__lex_accept(pc->lx, '>')) {
    do st = parse_field(pc, &a, &f, err);
    while (st == HN_OK && hn__lex_accept(pc->lx, ','));
    if (st == HN_OK) st = hn__lex_expect(pc->lx, '>', "or ',' in struct<", err);
  }
  if (st == HN_OK)
    st = hn_type_struct_create(pc->alloc, f.n, (const char *const *)f.names, f.types, out, err);
  fields_free(&a, &f);
  return st;
}

static void spell_struct(const hn_type *t, hn__sink *s);

static hn_status parse_object(parse_ctx *pc, const hn_type **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(pc->alloc);
  hn_status st = hn__lex_expect(pc->lx, '<', "after 'object'", err);
  if (st != HN_OK) return st;
  hn__lex_peek(pc->lx);
  size_t at = pc->lx->pos;
  char *name = NULL;
  st = hn__lex_name(pc->lx, &a, "object type name", &name, err);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, '>', "to close object<", err);
  const hn_type *found = NULL;
  for (int64_t i = 0; st == HN_OK && !found && i < pc->n_objects; i++) {
    const hn_type *o = pc->objects[i];
    if (o && o->id == HN_TYPE_OBJECT && strcmp(o->object_name, name) == 0) found = o;
  }
  if (st == HN_OK && !found)
    st = hn__lex_fail(pc->lx, at, HN_EINVAL, err,
                      "unknown object type '%s' (object types carry functions: pass them to "
                      "hn_type_parse_ex in hn_type_parse_options.object_types)",
                      name);
  if (st == HN_OK) *out = hn_type_retain(found);
  hn__free(&a, name);
  return st;
}

static void spell_object(const hn_type *t, hn__sink *s);

/* ---- the table ------------------------------------------------------------- */

typedef struct type_form {
  const char *word;
  hn_type_id id;
  const hn_type *(*singleton)(void); /* a type without parameters, else NULL */
  hn_status (*parse)(parse_ctx *pc, const hn_type **out, hn_error *err); /* "<...>" */
  void (*spell)(const hn_type *t, hn__sink *s);                          /* "<...>" */
} type_form;

static const type_form k_forms[] = {
    {"bool", HN_TYPE_BOOL, hn_type_bool, NULL, NULL},
    {"int64", HN_TYPE_INT64, hn_type_int64, NULL, NULL},
    {"float32", HN_TYPE_FLOAT32, hn_type_float32, NULL, NULL},
    {"float64", HN_TYPE_FLOAT64, hn_type_float64, NULL, NULL},
    {"utf8", HN_TYPE_UTF8, hn_type_utf8, NULL, NULL},
    {"binary", HN_TYPE_BINARY, hn_type_binary, NULL, NULL},
    {"list", HN_TYPE_LIST, NULL, parse_list, spell_list},
    {"struct", HN_TYPE_STRUCT, NULL, parse_struct, spell_struct},
    {"object", HN_TYPE_OBJECT, NULL, parse_object, spell_object},
};
#define N_FORMS (sizeof k_forms / sizeof k_forms[0])

static const type_form *form_of_id(hn_type_id id) {
  for (size_t i = 0; i < N_FORMS; i++)
    if (k_forms[i].id == id) return &k_forms[i];
  return NULL;
}

static const type_form *form_of_word(const char *word, size_t n) {
  for (size_t i = 0; i < N_FORMS; i++)
    if (strlen(k_forms[i].word) == n && memcmp(k_forms[i].word, word, n) == 0) return &k_forms[i];
  return NULL;
}

/* "bool, int64, ..., list<...>, ..." for messages. */
static void known_words(char *buf, size_t cap) {
  hn__sink s;
  hn__sink_init(&s, buf, cap);
  for (size_t i = 0; i < N_FORMS; i++) {
    if (i) hn__sink_put(&s, ", ");
    hn__sink_put(&s, k_forms[i].word);
    if (k_forms[i].parse) hn__sink_put(&s, "<...>");
  }
}

static hn_status parse_type(parse_ctx *pc, const hn_type **out, hn_error *err) {
  hn__lexer *lx = pc->lx;
  const char *word = NULL;
  size_t n = hn__lex_word(lx, &word), at = (size_t)(word - lx->text);
  const type_form *f = form_of_word(word, n);
  if (!f) {
    char known[192];
    known_words(known, sizeof known);
    if (n == 0) return hn__lex_fail(lx, at, HN_EINVAL, err, "expected a type (%s)", known);
    return hn__lex_fail(lx, at, HN_EINVAL, err, "unknown type '%.*s' (known: %s)", (int)n, word,
                        known);
  }
  if (f->singleton) {
    *out = f->singleton();
    return HN_OK;
  }
  if (pc->depth >= MAX_DEPTH)
    return hn__lex_fail(lx, at, HN_EINVAL, err, "types nested deeper than %d levels", MAX_DEPTH);
  pc->depth++;
  hn_status st = f->parse(pc, out, err);
  pc->depth--;
  return st;
}

hn_status hn__lex_type(hn__lexer *lx, const hn_allocator *alloc, int64_t n_objects,
                       const hn_type *const *objects, const hn_type **out, hn_error *err) {
  parse_ctx pc = {lx, alloc, n_objects > 0 && objects ? n_objects : 0, objects, 0};
  *out = NULL;
  return parse_type(&pc, out, err);
}

/* ---- spelling --------------------------------------------------------------- */

static void spell(const hn_type *t, hn__sink *s) {
  const type_form *f = form_of_id(t->id);
  hn__sink_put(s, f ? f->word : "unknown");
  if (f && f->spell) f->spell(t, s);
}

static void spell_list(const hn_type *t, hn__sink *s) {
  hn__sink_put(s, "<");
  spell(t->item, s);
  hn__sink_put(s, ">");
}

static void spell_struct(const hn_type *t, hn__sink *s) {
  hn__sink_put(s, "<");
  for (int64_t i = 0; i < t->n_fields; i++) {
    if (i) hn__sink_put(s, ", ");
    hn__sink_name(s, t->names[i]);
    hn__sink_put(s, ": ");
    spell(t->fields[i], s);
  }
  hn__sink_put(s, ">");
}

static void spell_object(const hn_type *t, hn__sink *s) {
  hn__sink_put(s, "<");
  hn__sink_name(s, t->object_name);
  hn__sink_put(s, ">");
}

size_t hn_type_to_string(const hn_type *type, char *buf, size_t cap) {
  hn__sink s;
  hn__sink_init(&s, buf, cap);
  if (type)
    spell(type, &s);
  else
    hn__sink_put(&s, "(null)");
  return s.len;
}

/* ---- parsing ---------------------------------------------------------------- */

hn_status hn_type_parse_ex(const char *text, const hn_type_parse_options *options,
                           const hn_type **out, size_t *end, hn_error *err) {
  if (!out || !text) {
    if (end) *end = 0;
    return hn__error(err, HN_EINVAL, "hn_type_parse: NULL text or out");
  }
  *out = NULL;
  hn_type_parse_options o = {.size = sizeof o};
  if (options) {
    if (options->size < offsetof(hn_type_parse_options, alloc) + sizeof options->alloc)
      return hn__error(err, HN_EINVAL,
                       "hn_type_parse_ex: options->size is %zu: set it to "
                       "sizeof(hn_type_parse_options)",
                       options->size);
    memcpy(&o, options, options->size < sizeof o ? options->size : sizeof o);
  }
  hn__lexer lx;
  hn__lex_init(&lx, text, "type string");
  const hn_type *t = NULL;
  hn_status st = hn__lex_type(&lx, o.alloc, o.n_object_types, o.object_types, &t, err);
  if (st == HN_OK && !end && !hn__lex_at_end(&lx))
    st = hn__lex_fail(&lx, lx.pos, HN_EINVAL, err, "unexpected '%c' after the type", text[lx.pos]);
  if (end) *end = st == HN_OK ? lx.pos : lx.error_at;
  if (st != HN_OK) {
    hn_type_release(t);
    return st;
  }
  *out = t;
  return HN_OK;
}

hn_status hn_type_parse(const hn_allocator *alloc, const char *text, const hn_type **out,
                        hn_error *err) {
  hn_type_parse_options o = {.size = sizeof o, .alloc = alloc};
  return hn_type_parse_ex(text, &o, out, NULL, err);
}
