/*
 * Type strings: hn_type_to_string and hn_type_parse, one grammar driven by
 * one table. A type is a word from the table, followed for parameterised
 * types by their parameters in angle brackets:
 *
 *   type    = word [ "<" params ">" | "[" params "]" | "(" params ")" ]
 *   list    : "list<" type ">"  (also large_list)
 *   fixed   : "fixed_size_list<" type ">[" size "]"
 *   map     : "map<" type "," type ">"
 *   struct  : "struct<" [ name ":" type { "," name ":" type } ] ">"
 *   object  : "object<" name ">"        (resolved among known object types)
 *   time    : "time32[" unit "]"  (also time64, duration)  unit = s | ms | us | ns
 *   stamp   : "timestamp[" unit [ "," zone ] "]"           zone = a name
 *   decimal : "decimal128(" precision "," scale ")"  (also decimal256)
 *   binary  : "fixed_size_binary(" width ")"
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

/* An integer written as a bare word ("16", "-2"), within [lo, hi]. */
static hn_status parse_int(parse_ctx *pc, const char *what, long lo, long hi, int32_t *out,
                           hn_error *err) {
  const char *word = NULL;
  size_t n = hn__lex_word(pc->lx, &word), at = (size_t)(word - pc->lx->text);
  char buf[24];
  long v = 0;
  char *end = NULL;
  if (n > 0 && n < sizeof buf) {
    memcpy(buf, word, n);
    buf[n] = '\0';
    v = strtol(buf, &end, 10);
  }
  if (n == 0 || n >= sizeof buf || *end != '\0' || v < lo || v > hi)
    return hn__lex_fail(pc->lx, at, HN_EINVAL, err, "expected %s, an integer from %ld to %ld", what,
                        lo, hi);
  *out = (int32_t)v;
  return HN_OK;
}

static const char *const k_units[] = {"s", "ms", "us", "ns"};

static hn_status parse_unit(parse_ctx *pc, hn_time_unit *out, hn_error *err) {
  const char *word = NULL;
  size_t n = hn__lex_word(pc->lx, &word), at = (size_t)(word - pc->lx->text);
  for (int u = 0; u < 4; u++)
    if (strlen(k_units[u]) == n && memcmp(k_units[u], word, n) == 0) {
      *out = (hn_time_unit)u;
      return HN_OK;
    }
  return hn__lex_fail(pc->lx, at, HN_EINVAL, err, "expected a time unit (s, ms, us or ns)");
}

static hn_status parse_list(parse_ctx *pc, hn_type_id id, const hn_type **out, hn_error *err) {
  const hn_type *item = NULL;
  int32_t size = 0;
  hn_status st = hn__lex_expect(pc->lx, '<',
                                id == HN_TYPE_LIST         ? "after 'list'"
                                : id == HN_TYPE_LARGE_LIST ? "after 'large_list'"
                                                           : "after 'fixed_size_list'",
                                err);
  if (st == HN_OK) st = parse_type(pc, &item, err);
  if (st == HN_OK)
    st = hn__lex_expect(pc->lx, '>',
                        id == HN_TYPE_LIST         ? "to close list<"
                        : id == HN_TYPE_LARGE_LIST ? "to close large_list<"
                                                   : "to close fixed_size_list<",
                        err);
  if (st == HN_OK && id == HN_TYPE_FIXED_SIZE_LIST) {
    st = hn__lex_expect(pc->lx, '[', "after fixed_size_list<...>", err);
    if (st == HN_OK) st = parse_int(pc, "a list size", 1, INT32_MAX, &size, err);
    if (st == HN_OK) st = hn__lex_expect(pc->lx, ']', "after the list size", err);
  }
  if (st == HN_OK && id == HN_TYPE_LIST) st = hn_type_list_create(pc->alloc, item, out, err);
  if (st == HN_OK && id == HN_TYPE_LARGE_LIST)
    st = hn_type_large_list_create(pc->alloc, item, out, err);
  if (st == HN_OK && id == HN_TYPE_FIXED_SIZE_LIST)
    st = hn_type_fixed_size_list_create(pc->alloc, item, size, out, err);
  hn_type_release(item);
  return st;
}

static hn_status parse_map(parse_ctx *pc, hn_type_id id, const hn_type **out, hn_error *err) {
  (void)id;
  const hn_type *key = NULL, *value = NULL;
  hn_status st = hn__lex_expect(pc->lx, '<', "after 'map'", err);
  if (st == HN_OK) st = parse_type(pc, &key, err);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, ',', "between a map's key and value types", err);
  if (st == HN_OK) st = parse_type(pc, &value, err);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, '>', "to close map<", err);
  if (st == HN_OK) st = hn_type_map_create(pc->alloc, key, value, out, err);
  hn_type_release(key);
  hn_type_release(value);
  return st;
}

static hn_status parse_temporal(parse_ctx *pc, hn_type_id id, const hn_type **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(pc->alloc);
  hn_time_unit unit = HN_UNIT_SECOND;
  char *zone = NULL;
  hn_status st = hn__lex_expect(pc->lx, '[', "before the time unit", err);
  hn__lex_peek(pc->lx);
  size_t at = pc->lx->pos;
  if (st == HN_OK) st = parse_unit(pc, &unit, err);
  if (st == HN_OK && id == HN_TYPE_TIMESTAMP && hn__lex_accept(pc->lx, ','))
    st = hn__lex_name(pc->lx, &a, "time zone", &zone, err);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, ']', "after the time unit", err);
  if (st == HN_OK) {
    st = hn_type_temporal_create(pc->alloc, id, unit, zone, out, err);
    if (st == HN_EINVAL)
      st = hn__lex_fail(pc->lx, at, HN_EINVAL, err, "%s does not take unit %s", hn_type_id_name(id),
                        k_units[unit]);
  }
  hn__free(&a, zone);
  return st;
}

static hn_status parse_decimal(parse_ctx *pc, hn_type_id id, const hn_type **out, hn_error *err) {
  int32_t max = id == HN_TYPE_DECIMAL128 ? 38 : 76, precision = 0, scale = 0;
  hn_status st = hn__lex_expect(pc->lx, '(', "before the precision", err);
  if (st == HN_OK) st = parse_int(pc, "a precision", 1, max, &precision, err);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, ',', "between precision and scale", err);
  hn__lex_peek(pc->lx);
  size_t at = pc->lx->pos;
  if (st == HN_OK) st = parse_int(pc, "a scale", -INT32_MAX, INT32_MAX, &scale, err);
  if (st == HN_OK && scale > precision)
    st = hn__lex_fail(pc->lx, at, HN_EINVAL, err, "scale %d exceeds the precision %d", (int)scale,
                      (int)precision);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, ')', "after the scale", err);
  if (st == HN_OK) st = hn_type_decimal_create(pc->alloc, id, precision, scale, out, err);
  return st;
}

static hn_status parse_fixed_binary(parse_ctx *pc, hn_type_id id, const hn_type **out,
                                    hn_error *err) {
  (void)id;
  int32_t width = 0;
  hn_status st = hn__lex_expect(pc->lx, '(', "before the byte width", err);
  if (st == HN_OK) st = parse_int(pc, "a byte width", 1, INT32_MAX, &width, err);
  if (st == HN_OK) st = hn__lex_expect(pc->lx, ')', "after the byte width", err);
  if (st == HN_OK) st = hn_type_fixed_size_binary_create(pc->alloc, width, out, err);
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

static hn_status parse_struct(parse_ctx *pc, hn_type_id id, const hn_type **out, hn_error *err) {
  (void)id;
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

static hn_status parse_object(parse_ctx *pc, hn_type_id id, const hn_type **out, hn_error *err) {
  (void)id;
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
static void spell_temporal(const hn_type *t, hn__sink *s);
static void spell_decimal(const hn_type *t, hn__sink *s);
static void spell_fixed_binary(const hn_type *t, hn__sink *s);
static void spell_map(const hn_type *t, hn__sink *s);

/* ---- the table ------------------------------------------------------------- */

typedef struct type_form {
  const char *word;
  hn_type_id id;
  const hn_type *(*singleton)(void); /* a type without parameters, else NULL */
  /* The parameters after the word: "<...>", "[...]" or "(...)". */
  hn_status (*parse)(parse_ctx *pc, hn_type_id id, const hn_type **out, hn_error *err);
  void (*spell)(const hn_type *t, hn__sink *s);
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
    {"null", HN_TYPE_NULL, hn_type_null, NULL, NULL},
    {"int8", HN_TYPE_INT8, hn_type_int8, NULL, NULL},
    {"int16", HN_TYPE_INT16, hn_type_int16, NULL, NULL},
    {"int32", HN_TYPE_INT32, hn_type_int32, NULL, NULL},
    {"uint8", HN_TYPE_UINT8, hn_type_uint8, NULL, NULL},
    {"uint16", HN_TYPE_UINT16, hn_type_uint16, NULL, NULL},
    {"uint32", HN_TYPE_UINT32, hn_type_uint32, NULL, NULL},
    {"uint64", HN_TYPE_UINT64, hn_type_uint64, NULL, NULL},
    {"float16", HN_TYPE_FLOAT16, hn_type_float16, NULL, NULL},
    {"date32", HN_TYPE_DATE32, hn_type_date32, NULL, NULL},
    {"date64", HN_TYPE_DATE64, hn_type_date64, NULL, NULL},
    {"time32", HN_TYPE_TIME32, NULL, parse_temporal, spell_temporal},
    {"time64", HN_TYPE_TIME64, NULL, parse_temporal, spell_temporal},
    {"timestamp", HN_TYPE_TIMESTAMP, NULL, parse_temporal, spell_temporal},
    {"duration", HN_TYPE_DURATION, NULL, parse_temporal, spell_temporal},
    {"interval_months", HN_TYPE_INTERVAL_MONTHS, hn_type_interval_months, NULL, NULL},
    {"interval_day_time", HN_TYPE_INTERVAL_DAY_TIME, hn_type_interval_day_time, NULL, NULL},
    {"interval_month_day_nano", HN_TYPE_INTERVAL_MONTH_DAY_NANO, hn_type_interval_month_day_nano,
     NULL, NULL},
    {"decimal128", HN_TYPE_DECIMAL128, NULL, parse_decimal, spell_decimal},
    {"decimal256", HN_TYPE_DECIMAL256, NULL, parse_decimal, spell_decimal},
    {"large_utf8", HN_TYPE_LARGE_UTF8, hn_type_large_utf8, NULL, NULL},
    {"large_binary", HN_TYPE_LARGE_BINARY, hn_type_large_binary, NULL, NULL},
    {"fixed_size_binary", HN_TYPE_FIXED_SIZE_BINARY, NULL, parse_fixed_binary, spell_fixed_binary},
    {"large_list", HN_TYPE_LARGE_LIST, NULL, parse_list, spell_list},
    {"fixed_size_list", HN_TYPE_FIXED_SIZE_LIST, NULL, parse_list, spell_list},
    {"map", HN_TYPE_MAP, NULL, parse_map, spell_map},
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

/* The known types in brief, for messages (every word of k_forms is covered). */
static const char k_known[] =
    "bool, int64, float32, float64, utf8, binary, list<t>, struct<>, object<>, [u]int8..64, "
    "float16, large_utf8, large_binary, large_list<t>, fixed_size_list<t>[n], "
    "fixed_size_binary(n), map<k, v>, date32/64, time32/64[unit], timestamp[unit, zone], "
    "duration[unit], interval_*, decimal128/256(p, s), null";

static hn_status parse_type(parse_ctx *pc, const hn_type **out, hn_error *err) {
  hn__lexer *lx = pc->lx;
  const char *word = NULL;
  size_t n = hn__lex_word(lx, &word), at = (size_t)(word - lx->text);
  const type_form *f = form_of_word(word, n);
  if (!f) {
    if (n == 0) return hn__lex_fail(lx, at, HN_EINVAL, err, "expected a type (%s)", k_known);
    return hn__lex_fail(lx, at, HN_EINVAL, err, "unknown type '%.*s' (known: %s)",
                        (int)(n < 40 ? n : 40), word, k_known);
  }
  if (f->singleton) {
    *out = f->singleton();
    return HN_OK;
  }
  if (pc->depth >= MAX_DEPTH)
    return hn__lex_fail(lx, at, HN_EINVAL, err, "types nested deeper than %d levels", MAX_DEPTH);
  pc->depth++;
  hn_status st = f->parse(pc, f->id, out, err);
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
  if (t->id != HN_TYPE_FIXED_SIZE_LIST) return;
  char n[24];
  snprintf(n, sizeof n, "[%d]", (int)t->width);
  hn__sink_put(s, n);
}

static void spell_map(const hn_type *t, hn__sink *s) {
  hn__sink_put(s, "<");
  spell(t->item->fields[0], s);
  hn__sink_put(s, ", ");
  spell(t->item->fields[1], s);
  hn__sink_put(s, ">");
}

static void spell_temporal(const hn_type *t, hn__sink *s) {
  hn__sink_put(s, "[");
  hn__sink_put(s, k_units[t->unit]);
  if (t->tz) {
    hn__sink_put(s, ", ");
    hn__sink_name(s, t->tz);
  }
  hn__sink_put(s, "]");
}

static void spell_decimal(const hn_type *t, hn__sink *s) {
  char n[32];
  snprintf(n, sizeof n, "(%d, %d)", (int)t->precision, (int)t->scale);
  hn__sink_put(s, n);
}

static void spell_fixed_binary(const hn_type *t, hn__sink *s) {
  char n[24];
  snprintf(n, sizeof n, "(%d)", (int)t->width);
  hn__sink_put(s, n);
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
