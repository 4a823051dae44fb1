/**
 * @file arena.h
 * Bump-pointer arena for per-worker scratch memory: many small allocations,
 * freed all at once by hn_arena_reset or hn_arena_destroy.
 * An arena is not thread-safe: give each worker its own.
 */
#ifndef HYPERNODES_ARENA_H
#define HYPERNODES_ARENA_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hn_arena hn_arena;

/**
 * Create an arena whose blocks hold at least `block_size` bytes (0 picks
 * 64 KiB). `alloc` may be NULL (libc). On success *out owns the arena.
 * Returns HN_OK, HN_EINVAL (out is NULL) or HN_ENOMEM.
 */
HN_API HN_NODISCARD hn_status hn_arena_create(const hn_allocator *alloc, size_t block_size,
                                              hn_arena **out, hn_error *err);
/** Free the arena and every allocation made from it. NULL is a no-op. */
HN_API void hn_arena_destroy(hn_arena *arena);
/**
 * Allocate `size` bytes aligned to `align` (a power of two, at most 64; 0
 * means 16). The memory lives until the next reset or destroy. Returns NULL
 * when out of memory or when `align` is invalid. Zero-size requests return a
 * valid unique pointer.
 */
HN_API void *hn_arena_alloc(hn_arena *arena, size_t size, size_t align);
/** Forget every allocation; keeps the first block for reuse, frees the others. */
HN_API void hn_arena_reset(hn_arena *arena);
/** Bytes handed out since the last reset (alignment padding included). */
HN_API size_t hn_arena_used(const hn_arena *arena);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_ARENA_H */
