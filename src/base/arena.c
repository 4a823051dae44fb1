/* Bump-pointer arena: a chain of blocks; reset keeps the first block. */
#include "base_internal.h"
#include "hypernodes/arena.h"

typedef struct hn_arena_block {
  struct hn_arena_block *next;
  size_t size; /* usable bytes after the header */
  size_t used;
} hn_arena_block;

struct hn_arena {
  hn_allocator alloc;
  size_t block_size;
  size_t used_total;
  hn_arena_block *head; /* current block first */
};

#define HN_ARENA_HEADER ((sizeof(hn_arena_block) + 63) & ~(size_t)63)

/* A block with `size` usable bytes; NULL when out of memory or when the total does not fit. */
static hn_arena_block *block_new(hn_arena *a, size_t size) {
  size_t total;
  if (hn__add_overflow_size(size, HN_ARENA_HEADER + 64, &total)) return NULL;
  hn_arena_block *b = hn__malloc(&a->alloc, total);
  if (!b) return NULL;
  b->next = NULL;
  b->size = size;
  b->used = 0;
  return b;
}

hn_status hn_arena_create(const hn_allocator *alloc, size_t block_size, hn_arena **out,
                          hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_arena_create: out is NULL");
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_arena *arena = hn__malloc(&a, sizeof *arena);
  if (!arena) return hn__error_nomem(err, "for an arena");
  arena->alloc = a;
  arena->block_size = block_size ? block_size : 64 * 1024;
  arena->used_total = 0;
  arena->head = NULL;
  *out = arena;
  return HN_OK;
}

void hn_arena_destroy(hn_arena *arena) {
  if (!arena) return;
  for (hn_arena_block *b = arena->head, *next; b; b = next) {
    next = b->next;
    hn__free(&arena->alloc, b);
  }
  hn__free(&arena->alloc, arena);
}

void *hn_arena_alloc(hn_arena *arena, size_t size, size_t align) {
  if (align == 0) align = 16;
  if (!arena || (align & (align - 1)) || align > 64 || size > SIZE_MAX / 2) return NULL;
  if (size == 0) size = 1; /* zero-size requests still get a unique pointer */
  hn_arena_block *b = arena->head;
  /* Block data starts 64-aligned relative to the block, so aligning `used` suffices
   * when the allocator returns 16-aligned memory; align the absolute address instead. */
  if (b) {
    uintptr_t base = (uintptr_t)b + HN_ARENA_HEADER;
    uintptr_t p = (base + b->used + align - 1) & ~(uintptr_t)(align - 1);
    size_t at = (size_t)(p - base); /* compared as offsets: base + size may not be an address */
    if (at <= b->size && size <= b->size - at) {
      arena->used_total += (p + size) - (base + b->used);
      b->used = (p + size) - base;
      return (void *)p;
    }
  }
  size_t want = size + align > arena->block_size ? size + align : arena->block_size;
  hn_arena_block *nb = block_new(arena, want);
  if (!nb) return NULL;
  nb->next = b;
  arena->head = nb;
  uintptr_t base = (uintptr_t)nb + HN_ARENA_HEADER;
  uintptr_t p = (base + align - 1) & ~(uintptr_t)(align - 1);
  nb->used = (p + size) - base;
  arena->used_total += nb->used;
  return (void *)p;
}

void hn_arena_reset(hn_arena *arena) {
  if (!arena || !arena->head) return;
  /* Keep the oldest (last) block: it has the configured size. */
  hn_arena_block *b = arena->head;
  while (b->next) {
    hn_arena_block *next = b->next;
    hn__free(&arena->alloc, b);
    b = next;
  }
  b->used = 0;
  arena->head = b;
  arena->used_total = 0;
}

size_t hn_arena_used(const hn_arena *arena) {
  return arena ? arena->used_total : 0;
}
