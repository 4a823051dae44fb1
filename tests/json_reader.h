/*
 * A small JSON reader for the tests: a whole document into a tree of
 * values (objects keep their keys in order). Enough for the files the
 * observers write (traces, profiles); numbers are doubles.
 */
#ifndef HN_TESTS_JSON_READER_H
#define HN_TESTS_JSON_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum json_type {
  JSON_NULL,
  JSON_BOOL,
  JSON_NUMBER,
  JSON_STRING,
  JSON_ARRAY,
  JSON_OBJECT
} json_type;

typedef struct json_value {
  json_type type;
  bool boolean;
  double number;
  char *string;             /* JSON_STRING (decoded, NUL-terminated) */
  int64_t n;                /* JSON_ARRAY, JSON_OBJECT: members */
  struct json_value *items; /* their values */
  char **keys;              /* JSON_OBJECT: their keys */
} json_value;

/* Parse text; NULL on a syntax error (msg says where). Free with json_free. */
json_value *json_parse(const char *text, char *msg, size_t cap);
void json_free(json_value *v);
/* Member `key` of an object, or NULL. */
const json_value *json_get(const json_value *obj, const char *key);
/* The number at `key` (default when missing or not a number). */
double json_number(const json_value *obj, const char *key, double dflt);
/* The string at `key`, or "" when missing or not a string. */
const char *json_string(const json_value *obj, const char *key);

#endif
