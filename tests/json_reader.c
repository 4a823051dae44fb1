/* The tests' JSON reader (json_reader.h): recursive descent over the text. */
#include "json_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct reader {
  const char *p;
  char *msg;
  size_t cap;
  bool failed;
} reader;

static bool fail_at(reader *r, const char *what) {
  if (!r->failed) snprintf(r->msg, r->cap, "%s near \"%.20s\"", what, r->p);
  r->failed = true;
  return false;
}

static void skip(reader *r) {
  while (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t') r->p++;
}

static bool parse(reader *r, json_value *v, int depth);

static bool parse_string(reader *r, char **out) {
  if (*r->p != '"') return fail_at(r, "expected a string");
  r->p++;
  size_t cap = 16, n = 0;
  char *s = malloc(cap);
  for (;;) {
    if (!s) return fail_at(r, "out of memory");
    char c = *r->p++;
    if (c == '\0') {
      free(s);
      return fail_at(r, "unterminated string");
    }
    if (c == '"') break;
    if (c == '\\') {
      char e = *r->p++;
      if (e == 'u') {
        unsigned code = 0;
        if (sscanf(r->p, "%4x", &code) != 1) {
          free(s);
          return fail_at(r, "bad \\u escape");
        }
        r->p += 4;
        c = code < 0x80 ? (char)code : '?';
      } else {
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t";
        const char *k = strchr(from, e);
        if (!k || !e) {
          free(s);
          return fail_at(r, "bad escape");
        }
        c = to[k - from];
      }
    }
    if (n + 2 > cap) s = realloc(s, cap *= 2);
    if (s) s[n++] = c;
  }
  s[n] = '\0';
  *out = s;
  return true;
}

static bool add_member(json_value *v, int64_t *cap) {
  if (v->n < *cap) return true;
  *cap = *cap ? 2 * *cap : 8;
  json_value *items = realloc(v->items, sizeof *items * (size_t)*cap);
  if (!items) return false;
  v->items = items;
  if (v->type == JSON_OBJECT) {
    char **keys = realloc(v->keys, sizeof *keys * (size_t)*cap);
    if (!keys) return false;
    v->keys = keys;
  }
  return true;
}

static bool parse_members(reader *r, json_value *v, int depth, char close) {
  int64_t cap = 0;
  r->p++;
  skip(r);
  if (*r->p == close) {
    r->p++;
    return true;
  }
  for (;;) {
    if (!add_member(v, &cap)) return fail_at(r, "out of memory");
    json_value *item = &v->items[v->n];
    memset(item, 0, sizeof *item);
    if (v->type == JSON_OBJECT) {
      skip(r);
      if (!parse_string(r, &v->keys[v->n])) return false;
      skip(r);
      if (*r->p != ':') {
        free(v->keys[v->n]);
        return fail_at(r, "expected ':'");
      }
      r->p++;
    }
    v->n++;
    if (!parse(r, item, depth + 1)) return false;
    skip(r);
    if (*r->p == close) {
      r->p++;
      return true;
    }
    if (*r->p != ',') return fail_at(r, "expected ',' or a closing bracket");
    r->p++;
  }
}

static bool parse(reader *r, json_value *v, int depth) {
  if (depth > 64) return fail_at(r, "nested too deep");
  skip(r);
  memset(v, 0, sizeof *v);
  char c = *r->p;
  if (c == '{' || c == '[') {
    v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
    return parse_members(r, v, depth, c == '{' ? '}' : ']');
  }
  if (c == '"') {
    v->type = JSON_STRING;
    return parse_string(r, &v->string);
  }
  static const char *const words[3] = {"null", "true", "false"};
  for (int i = 0; i < 3; i++)
    if (strncmp(r->p, words[i], strlen(words[i])) == 0) {
      r->p += strlen(words[i]);
      v->type = i == 0 ? JSON_NULL : JSON_BOOL;
      v->boolean = i == 1;
      return true;
    }
  char *end = NULL;
  v->number = strtod(r->p, &end);
  if (end == r->p) return fail_at(r, "unexpected character");
  v->type = JSON_NUMBER;
  r->p = end;
  return true;
}

static void free_value(json_value *v) {
  for (int64_t i = 0; i < v->n; i++) {
    free_value(&v->items[i]);
    if (v->keys) free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->string);
}

json_value *json_parse(const char *text, char *msg, size_t cap) {
  json_value *v = calloc(1, sizeof *v);
  reader r = {text, msg, cap, false};
  if (msg && cap) msg[0] = '\0';
  bool ok = v && parse(&r, v, 0);
  if (ok) {
    skip(&r);
    if (*r.p) ok = fail_at(&r, "text after the document");
  }
  if (!ok && v) {
    free_value(v);
    free(v);
    return NULL;
  }
  return v;
}

void json_free(json_value *v) {
  if (!v) return;
  free_value(v);
  free(v);
}

const json_value *json_get(const json_value *obj, const char *key) {
  if (!obj || obj->type != JSON_OBJECT) return NULL;
  for (int64_t i = 0; i < obj->n; i++)
    if (strcmp(obj->keys[i], key) == 0) return &obj->items[i];
  return NULL;
}

double json_number(const json_value *obj, const char *key, double dflt) {
  const json_value *v = json_get(obj, key);
  return v && v->type == JSON_NUMBER ? v->number : dflt;
}

const char *json_string(const json_value *obj, const char *key) {
  const json_value *v = json_get(obj, key);
  return v && v->type == JSON_STRING ? v->string : "";
}
