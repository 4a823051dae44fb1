/*
 * What the observers share: writing text to a hn_write_fn (the DOT writer,
 * named after its caller), JSON strings, a stdio writer, and interned
 * strings.
 */
#include <stdio.h>

#include "observe_internal.h"

size_t hn_write_stdio(void *file, const char *data, size_t n) {
  return file ? fwrite(data, 1, n, file) : 0;
}

void hn__text_out_init(hn__dot_out *out, const char *what, hn_write_fn write, void *user_data,
                       hn_error *err) {
  hn__dot_out_init(out, write, user_data, err);
  out->what = what;
}

void hn__json_str(hn__dot_out *out, const char *s) {
  hn__dot_put(out, "\"", 1);
  const char *run = s ? s : "";
  for (const char *p = run; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c != '"' && c != '\\' && c >= 0x20) continue;
    hn__dot_put(out, run, (size_t)(p - run));
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      hn__dot_put(out, esc, 2);
    } else {
      hn__dot_printf(out, "\\u%04x", c);
    }
    run = p + 1;
  }
  hn__dot_puts(out, run);
  hn__dot_put(out, "\"", 1);
}

/* ---- interned strings -------------------------------------------------------- */

static uint64_t str_hash(const char *s) {
  return hn_hash_bytes(s, strlen(s), 0x6f627365);
}

static bool strtab_grow(const hn_allocator *a, hn__strtab *t) {
  int64_t n_slots = t->n_slots ? t->n_slots * 2 : 64;
  int64_t *slots = hn__calloc(a, (size_t)n_slots, sizeof *slots);
  if (!slots) return false;
  for (int64_t id = 0; id < t->n; id++) {
    uint64_t k = str_hash(t->v[id]) & (uint64_t)(n_slots - 1);
    while (slots[k]) k = (k + 1) & (uint64_t)(n_slots - 1);
    slots[k] = id + 1;
  }
  hn__free(a, t->slots);
  t->slots = slots;
  t->n_slots = n_slots;
  return true;
}

int64_t hn__strtab_id(const hn_allocator *a, hn__strtab *t, const char *s) {
  if (!s) s = "";
  if (2 * (t->n + 1) > t->n_slots && !strtab_grow(a, t)) return -1;
  uint64_t mask = (uint64_t)(t->n_slots - 1), k = str_hash(s) & mask;
  for (; t->slots[k]; k = (k + 1) & mask)
    if (strcmp(t->v[t->slots[k] - 1], s) == 0) return t->slots[k] - 1;
  if (t->n == t->cap) {
    int64_t cap = t->cap ? t->cap * 2 : 16;
    char **v = hn__realloc(a, t->v, sizeof *v * (size_t)cap);
    if (!v) return -1;
    t->v = v;
    t->cap = cap;
  }
  char *copy = hn__strdup(a, s);
  if (!copy) return -1;
  t->v[t->n] = copy;
  t->slots[k] = t->n + 1;
  return t->n++;
}

void hn__strtab_free(const hn_allocator *a, hn__strtab *t) {
  for (int64_t i = 0; i < t->n; i++) hn__free(a, t->v[i]);
  hn__free(a, t->v);
  hn__free(a, t->slots);
  memset(t, 0, sizeof *t);
}
