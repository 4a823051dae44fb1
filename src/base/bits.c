/* Bit counting over LSB-first bitmaps. */
#include "base_internal.h"
#include "hypernodes/bits.h"

int64_t hn_bits_count(const uint8_t *bits, int64_t start, int64_t length) {
  int64_t count = 0, i = start, end = start + length;
  while (i < end && (i & 7)) count += hn_bit_get(bits, i++);
  while (i + 64 <= end) {
    uint64_t word;
    memcpy(&word, bits + (i >> 3), 8);
    count += __builtin_popcountll(word);
    i += 64;
  }
  for (; i + 8 <= end; i += 8) count += __builtin_popcount(bits[i >> 3]);
  while (i < end) count += hn_bit_get(bits, i++);
  return count;
}

void hn__bits_fill(uint8_t *bits, int64_t start, int64_t n, bool value) {
  int64_t i = start, end = start + n;
  while (i < end && (i & 7)) hn_bit_set_to(bits, i++, value);
  if (end - i >= 8) {
    int64_t bytes = (end - i) >> 3;
    memset(bits + (i >> 3), value ? 0xff : 0, (size_t)bytes);
    i += bytes << 3;
  }
  while (i < end) hn_bit_set_to(bits, i++, value);
}
