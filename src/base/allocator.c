/* The default (libc) allocator and allocator helpers. */
#include <stdlib.h>

#include "base_internal.h"

static void *libc_malloc(void *ctx, size_t size) {
  (void)ctx;
  return malloc(size);
}
static void *libc_realloc(void *ctx, void *ptr, size_t size) {
  (void)ctx;
  return realloc(ptr, size);
}
static void libc_free(void *ctx, void *ptr) {
  (void)ctx;
  free(ptr);
}

static const hn_allocator hn_libc_allocator = {libc_malloc, libc_realloc, libc_free, NULL};

const hn_allocator *hn_allocator_default(void) {
  return &hn_libc_allocator;
}

hn_allocator hn__allocator_resolve(const hn_allocator *alloc) {
  return alloc ? *alloc : hn_libc_allocator;
}

char *hn__strdup(const hn_allocator *a, const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *p = hn__malloc(a, n);
  if (p) memcpy(p, s, n);
  return p;
}
