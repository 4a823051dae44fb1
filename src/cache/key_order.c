/*
 * The order in which a batch of item keys meets LMDB. Hash keys are random:
 * looked up or inserted as they come, each costs a descent from the root of
 * the B-tree with cache and TLB misses at every level. In key order,
 * consecutive keys fall on the same or the next leaf page, which LMDB's
 * cursor checks before descending. A radix sort on the first four bytes of
 * each key (LMDB compares keys with memcmp) is ordered enough: keys sharing
 * those bytes are rare and sit next to each other anyway.
 */
#define _POSIX_C_SOURCE 200809L
#include "env.h"

#define DIGIT_BITS 16
#define DIGITS ((size_t)1 << DIGIT_BITS)

/* The first four bytes of a key as a big-endian number. */
static inline uint64_t prefix(const hn__hash128 *key) {
  uint8_t b[4];
  memcpy(b, key, sizeof b);
  return (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
}

uint64_t *hn__cache_key_order(const hn_allocator *a, const hn__hash128 *keys, uint32_t n) {
  uint64_t *x = hn__malloc(a, 2 * (size_t)n * sizeof *x);
  uint32_t *count = hn__malloc(a, DIGITS * sizeof *count);
  if (!x || !count) {
    hn__free(a, x);
    hn__free(a, count);
    return NULL;
  }
  uint64_t *src = x, *dst = x + n;
  for (uint32_t i = 0; i < n; i++) src[i] = prefix(&keys[i]) << 32 | i;
  /* Two stable passes of 16 bits: the low half of the prefix, then the high half. */
  for (int shift = 32; shift < 64; shift += DIGIT_BITS) {
    memset(count, 0, DIGITS * sizeof *count);
    for (uint32_t i = 0; i < n; i++) count[(src[i] >> shift) & (DIGITS - 1)]++;
    uint32_t pos = 0;
    for (size_t d = 0; d < DIGITS; d++) {
      uint32_t c = count[d];
      count[d] = pos;
      pos += c;
    }
    for (uint32_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & (DIGITS - 1)]++] = src[i];
    uint64_t *t = src;
    src = dst;
    dst = t;
  }
  hn__free(a, count);
  return x; /* after an even number of passes the result is back in the first half */
}
