/**
 * @file serialize.h
 * A table as one contiguous, checksummed byte buffer (format in
 * docs/serialization.md), for pipes, shared memory, MPI and the cache.
 * Object columns cannot be serialised (HN_EUNSUPPORTED naming the column).
 */
#ifndef HYPERNODES_SERIALIZE_H
#define HYPERNODES_SERIALIZE_H

#include "table.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Serialise `table` into a new buffer (*out, one reference) allocated with
 * `alloc` (NULL: the table's allocator). Returns HN_OK, HN_EUNSUPPORTED or
 * HN_ENOMEM (also, before anything is allocated, for a table whose
 * serialised size would exceed INT64_MAX bytes).
 */
HN_API HN_NODISCARD hn_status hn_table_serialize(const hn_table *table, const hn_allocator *alloc,
                                                 hn_buffer **out, hn_error *err);
/**
 * Read a table back from `bytes` (borrowed; retained by the result where its
 * columns are zero-copy views into it, which they are when the bytes are
 * 8-byte aligned). Every size, offset and the checksum are verified before
 * use: truncated or corrupt input gives HN_ECORRUPT and never reads out of
 * bounds. A table with no columns, or a column with no buffer behind its
 * rows (struct<>), may declare at most INT32_MAX rows (HN_ECORRUPT beyond,
 * naming the column and the count; see docs/serialization.md). `alloc` may
 * be NULL (libc).
 */
HN_API HN_NODISCARD hn_status hn_table_deserialize(const hn_allocator *alloc, hn_buffer *bytes,
                                                   hn_table **out, hn_error *err);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_SERIALIZE_H */
