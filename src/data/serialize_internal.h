/*
 * What the writer (serialize_write.c) and the reader (serialize.c) of the
 * serialised table format share: its constants and byte helpers. The format
 * is specified in docs/serialization.md. Not installed.
 */
#ifndef HN_SERIALIZE_INTERNAL_H
#define HN_SERIALIZE_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "arrow_internal.h" /* column paths */

#define SER_MAGIC "HNTB"
#define SER_CHECKSUM_SEED 0
/* Longest array length accepted: keeps every size computation far from overflow. */
#define SER_MAX_LENGTH (INT64_MAX >> 4)
/* Smallest encoding of a (name, type) pair: a 4-byte name length and a type id. */
#define SER_MIN_FIELD_BYTES 5

enum {
  SER_VERSION = 2, /* written; version 1 (only type ids 1 to 8) is still read */
  SER_VERSION_1 = 1,
  SER_HEADER_SIZE = 64,
  SER_TRAILER_SIZE = 8, /* the checksum */
  SER_MAX_DEPTH = 64,   /* type nesting levels (a primitive is 1) */
  SER_ORDER_LITTLE = 1,
  SER_ORDER_BIG = 2
};

/* Header field offsets (all integers little-endian). */
enum {
  H_MAGIC = 0,
  H_VERSION = 4,
  H_FLAGS = 6,
  H_ORDER = 8,
  H_RESERVED1 = 9, /* 7 zero bytes */
  H_TOTAL = 16,
  H_ROWS = 24,
  H_COLUMNS = 32,
  H_META_SIZE = 40,
  H_DATA_OFFSET = 48,
  H_RESERVED2 = 56 /* 8 zero bytes */
};

#define CORRUPT(err, ...) hn__error((err), HN_ECORRUPT, "corrupt serialised table: " __VA_ARGS__)

static inline void store_le(uint8_t *p, uint64_t v, int n) {
  for (int i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t load_le(const uint8_t *p, int n) {
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* Byte order of the buffers this machine writes and can read in place. */
static inline uint8_t native_order(void) {
  const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  return first ? SER_ORDER_LITTLE : SER_ORDER_BIG;
}

static inline bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

/* Buffers a node of type `id` has in the format (validity first): as in memory. */
static inline int ser_num_buffers(hn_type_id id) {
  return hn__type_num_buffers(id);
}

/*
 * A failure other than HN_ENOMEM reported by another module while reading
 * becomes HN_ECORRUPT; its message is kept behind the usual prefix.
 */
static inline hn_status as_corrupt(hn_status st, hn_error *err) {
  if (st == HN_OK || st == HN_ENOMEM) return st;
  if (!err) return HN_ECORRUPT;
  char msg[HN_ERROR_MESSAGE_MAX];
  memcpy(msg, err->message, sizeof msg);
  msg[sizeof msg - 1] = '\0';
  return CORRUPT(err, "%s", msg);
}

#endif /* HN_SERIALIZE_INTERNAL_H */
