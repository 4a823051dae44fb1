/*
 * libFuzzer target for hn_table_deserialize. The checksum would reject
 * nearly every mutation before the parser sees it, so the harness rewrites the
 * trailing XXH3 checksum to match: what is fuzzed is the parser and validator
 * behind the checksum. Any input must give a valid table or a clean error,
 * with no out-of-bounds read and no leak.
 */
#include <stdint.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > (1u << 20)) return 0;
  hn_buffer *bytes = NULL;
  if (hn_buffer_copy(NULL, data, (int64_t)size, &bytes, NULL) != HN_OK) return 0;
  if (size >= 8) {
    uint8_t *m = hn_buffer_mutable_data(bytes);
    uint64_t sum = hn_hash_bytes(m, size - 8, 0);
    for (int i = 0; i < 8; i++) m[size - 8 + (size_t)i] = (uint8_t)(sum >> (8 * i));
  }
  hn_table *t = NULL;
  hn_error err;
  if (hn_table_deserialize(NULL, bytes, &t, &err) == HN_OK) {
    /* A table that deserialised must be internally consistent. */
    if (hn_table_validate(t, false, &err) != HN_OK) __builtin_trap();
    hn_buffer *again = NULL;
    if (hn_table_serialize(t, NULL, &again, &err) != HN_OK) __builtin_trap();
    hn_buffer_release(again);
    hn_table_release(t);
  }
  hn_buffer_release(bytes);
  return 0;
}
