/* Internal helpers of the base layer. Not installed; symbols use hn__. */
#ifndef HN_BASE_INTERNAL_H
#define HN_BASE_INTERNAL_H

#include <stdarg.h>
#include <string.h>

#include "hypernodes/common.h"

#if defined(__GNUC__)
#define HN__PRINTF(a, b) __attribute__((format(printf, a, b)))
#define HN__LIKELY(x) __builtin_expect(!!(x), 1)
#define HN__UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define HN__PRINTF(a, b)
#define HN__LIKELY(x) (x)
#define HN__UNLIKELY(x) (x)
#endif

/* Resolve a possibly-NULL allocator pointer to a usable copy. */
hn_allocator hn__allocator_resolve(const hn_allocator *alloc);

static inline void *hn__malloc(const hn_allocator *a, size_t size) {
  return a->malloc(a->ctx, size ? size : 1);
}
static inline void *hn__calloc(const hn_allocator *a, size_t n, size_t size) {
  if (size && n > SIZE_MAX / size) return NULL;
  size_t total = n * size;
  void *p = a->malloc(a->ctx, total > 0 ? total : 1);
  if (p) memset(p, 0, total);
  return p;
}
static inline void *hn__realloc(const hn_allocator *a, void *p, size_t size) {
  return a->realloc(a->ctx, p, size ? size : 1);
}
static inline void hn__free(const hn_allocator *a, void *p) {
  if (p) a->free(a->ctx, p);
}
/* strdup through the allocator; NULL on failure or when s is NULL. */
char *hn__strdup(const hn_allocator *a, const char *s);

/*
 * Fill err (when non-NULL) with code and a printf-style message; clears the
 * node and item path. Returns code so that callers can `return hn__error(...)`.
 */
hn_status hn__error(hn_error *err, hn_status code, const char *fmt, ...) HN__PRINTF(3, 4);
/* Set the node name of an already-filled error. */
void hn__error_set_node(hn_error *err, const char *node);
/* Fill err with "out of memory <what>" and return HN_ENOMEM. */
hn_status hn__error_nomem(hn_error *err, const char *what);

/* An error message built piece by piece; ends with "..." when it does not fit. */
typedef struct hn__msg {
  char buf[HN_ERROR_MESSAGE_MAX];
  size_t len;
  bool full;
} hn__msg;

/* Append printf-style text to m (truncated with "..." at the message limit). */
void hn__msg_add(hn__msg *m, const char *fmt, ...) HN__PRINTF(2, 3);

/* Round up to a multiple of 64. */
static inline int64_t hn__round64(int64_t n) { return (n + 63) & ~(int64_t)63; }

#endif /* HN_BASE_INTERNAL_H */
