/**
 * @file bits.h
 * Validity-bitmap helpers (Arrow layout: LSB-first, a set bit means valid).
 * All are inline and thread-safe on distinct bytes.
 */
#ifndef HYPERNODES_BITS_H
#define HYPERNODES_BITS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Bit i of `bits` (LSB-first). */
static inline bool hn_bit_get(const uint8_t *bits, int64_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}
/** Set bit i of `bits` to 1. */
static inline void hn_bit_set(uint8_t *bits, int64_t i) {
  bits[i >> 3] = (uint8_t)(bits[i >> 3] | (1u << (i & 7)));
}
/** Set bit i of `bits` to 0. */
static inline void hn_bit_clear(uint8_t *bits, int64_t i) {
  bits[i >> 3] = (uint8_t)(bits[i >> 3] & ~(1u << (i & 7)));
}
/** Set bit i of `bits` to `value`. */
static inline void hn_bit_set_to(uint8_t *bits, int64_t i, bool value) {
  if (value)
    hn_bit_set(bits, i);
  else
    hn_bit_clear(bits, i);
}
/** Bytes needed for `n` bits (n >= 0); exact for every n up to INT64_MAX. */
static inline int64_t hn_bytes_for_bits(int64_t n) {
  return (n >> 3) + ((n & 7) != 0);
}

/** Number of set bits in [start, start + length) of `bits`. */
HN_API int64_t hn_bits_count(const uint8_t *bits, int64_t start, int64_t length);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_BITS_H */
