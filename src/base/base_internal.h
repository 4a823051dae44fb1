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

/* The highest hn_status value: codes in (HN_OK, HN__STATUS_LAST] are known. */
#define HN__STATUS_LAST HN_ETIMEDOUT

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

/*
 * Checked arithmetic for every size computed from a caller's count: each
 * stores a + b or a * b in *out and returns true when the exact result does
 * not fit (then *out must not be used). Signed int64 and size_t variants.
 */
#if defined(__GNUC__) || defined(__clang__)
static inline bool hn__add_overflow(int64_t a, int64_t b, int64_t *out) {
  return __builtin_add_overflow(a, b, out);
}
static inline bool hn__mul_overflow(int64_t a, int64_t b, int64_t *out) {
  return __builtin_mul_overflow(a, b, out);
}
static inline bool hn__add_overflow_size(size_t a, size_t b, size_t *out) {
  return __builtin_add_overflow(a, b, out);
}
static inline bool hn__mul_overflow_size(size_t a, size_t b, size_t *out) {
  return __builtin_mul_overflow(a, b, out);
}
#else
static inline bool hn__add_overflow(int64_t a, int64_t b, int64_t *out) {
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b)) return true;
  *out = a + b;
  return false;
}
static inline bool hn__mul_overflow(int64_t a, int64_t b, int64_t *out) {
  if (a == 0 || b == 0) {
    *out = 0;
    return false;
  }
  if ((a == -1 && b == INT64_MIN) || (b == -1 && a == INT64_MIN)) return true;
  if (a > 0 ? (b > 0 ? a > INT64_MAX / b : b < INT64_MIN / a)
            : (b > 0 ? a < INT64_MIN / b : a < INT64_MAX / b))
    return true;
  *out = a * b;
  return false;
}
static inline bool hn__add_overflow_size(size_t a, size_t b, size_t *out) {
  if (a > SIZE_MAX - b) return true;
  *out = a + b;
  return false;
}
static inline bool hn__mul_overflow_size(size_t a, size_t b, size_t *out) {
  if (b != 0 && a > SIZE_MAX / b) return true;
  *out = a * b;
  return false;
}
#endif

/* Largest n that hn__round64 accepts. */
#define HN__ROUND64_MAX (INT64_MAX - 63)

/* Round up to a multiple of 64; n must be in [0, HN__ROUND64_MAX]. */
static inline int64_t hn__round64(int64_t n) {
  return (n + 63) & ~(int64_t)63;
}

/* Like hn__round64, but returns true (overflow) when n > HN__ROUND64_MAX. */
static inline bool hn__round64_overflow(int64_t n, int64_t *out) {
  if (n > HN__ROUND64_MAX) return true;
  *out = hn__round64(n);
  return false;
}

/* Set bits [start, start + n) of an LSB-first bitmap to `value` (bytewise in the middle). */
void hn__bits_fill(uint8_t *bits, int64_t start, int64_t n, bool value);

#endif /* HN_BASE_INTERNAL_H */
