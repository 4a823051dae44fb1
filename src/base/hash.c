/* Buffer hashing through xxHash (XXH3, 64-bit). */
#include <xxhash.h>

#include "base_internal.h"

uint64_t hn_hash_bytes(const void *data, size_t size, uint64_t seed) {
  return XXH3_64bits_withSeed(size ? data : "", size, seed);
}

uint64_t hn_hash_combine(uint64_t a, uint64_t b) {
  /* boost-style mix widened to 64 bits; order-dependent. */
  return a ^ (b + 0x9e3779b97f4a7c15ull + (a << 12) + (a >> 4));
}
