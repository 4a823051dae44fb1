/**
 * @file buffer.h
 * Reference-counted, 64-byte aligned byte buffers: the storage under every
 * array. Retain/release are atomic, so a buffer may be shared by arrays on
 * several threads and released from any of them; the bytes themselves are
 * immutable once an array refers to them.
 */
#ifndef HYPERNODES_BUFFER_H
#define HYPERNODES_BUFFER_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HN_ALIGNMENT 64

typedef struct hn_buffer hn_buffer;

/**
 * Allocate a buffer of `size` bytes, 64-byte aligned, zero-filled up to its
 * 64-byte padded capacity. On success *out holds one reference.
 * Returns HN_OK, HN_EINVAL or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_buffer_create(const hn_allocator *alloc, int64_t size,
                                               hn_buffer **out, hn_error *err);
/**
 * Like hn_buffer_create, but bytes [0, size) are left unspecified (only the
 * padding after them is zeroed): for outputs about to be fully written.
 */
HN_API HN_NODISCARD hn_status hn_buffer_create_uninit(const hn_allocator *alloc, int64_t size,
                                                      hn_buffer **out, hn_error *err);
/** Create a buffer holding a copy of `size` bytes at `data`. */
HN_API HN_NODISCARD hn_status hn_buffer_copy(const hn_allocator *alloc, const void *data,
                                             int64_t size, hn_buffer **out, hn_error *err);
/**
 * Wrap foreign memory without copying. `release(ctx, data)` is called once,
 * when the last reference goes (it may be NULL for static memory). On failure
 * `release` is NOT called: the caller still owns `data`.
 */
HN_API HN_NODISCARD hn_status hn_buffer_wrap(const hn_allocator *alloc, const void *data,
                                             int64_t size,
                                             void (*release)(void *ctx, const void *data),
                                             void *ctx, hn_buffer **out, hn_error *err);
/**
 * A zero-copy view of bytes [offset, offset + size) of `parent`, which it
 * retains. Returns HN_ERANGE when the range is outside the parent.
 */
HN_API HN_NODISCARD hn_status hn_buffer_view(hn_buffer *parent, int64_t offset, int64_t size,
                                             hn_buffer **out, hn_error *err);

/** Add a reference; returns `buffer`. Thread-safe. NULL is allowed. */
HN_API hn_buffer *hn_buffer_retain(hn_buffer *buffer);
/** Drop a reference; frees at zero. Thread-safe. NULL is a no-op. */
HN_API void hn_buffer_release(hn_buffer *buffer);
/** Start of the bytes (NULL only for an empty wrapped buffer). */
HN_API const uint8_t *hn_buffer_data(const hn_buffer *buffer);
/**
 * Writable bytes: allowed only while the caller holds the sole reference
 * (for example right after hn_buffer_create); NULL otherwise.
 */
HN_API uint8_t *hn_buffer_mutable_data(hn_buffer *buffer);
/** Size of the bytes in use (0 for NULL). */
HN_API int64_t hn_buffer_size(const hn_buffer *buffer);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_BUFFER_H */
