/* Reference-counted, 64-byte aligned buffers: owned, views, or foreign. */
#include "data_internal.h"

/* Allocate raw memory so that data is 64-aligned and capacity bytes follow it. */
static hn_status raw_alloc(hn_buffer *b, int64_t capacity) {
  int64_t cap;
  if (hn__round64_overflow(capacity > 0 ? capacity : 0, &cap) || cap > INT64_MAX - HN_ALIGNMENT)
    return HN_ENOMEM; /* no allocator can serve it */
  void *raw = hn__malloc(&b->alloc, (size_t)cap + HN_ALIGNMENT);
  if (!raw) return HN_ENOMEM;
  b->raw = raw;
  b->data = (uint8_t *)(((uintptr_t)raw + HN_ALIGNMENT - 1) & ~(uintptr_t)(HN_ALIGNMENT - 1));
  b->capacity = cap;
  return HN_OK;
}

static hn_buffer *buffer_header(const hn_allocator *alloc) {
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_buffer *b = hn__calloc(&a, 1, sizeof *b);
  if (!b) return NULL;
  atomic_init(&b->refcount, 1);
  b->alloc = a;
  return b;
}

hn_buffer *hn__buffer_new(const hn_allocator *alloc, int64_t capacity) {
  hn_buffer *b = buffer_header(alloc);
  if (!b) return NULL;
  if (raw_alloc(b, capacity) != HN_OK) {
    hn_allocator a = b->alloc;
    hn__free(&a, b);
    return NULL;
  }
  return b;
}

hn_status hn__buffer_reserve(hn_buffer *b, int64_t capacity) {
  if (capacity <= b->capacity) return HN_OK;
  int64_t cap = b->capacity <= INT64_MAX / 2 ? b->capacity * 2 : capacity;
  if (cap < capacity) cap = capacity;
  if (hn__round64_overflow(cap, &cap) || cap > INT64_MAX - HN_ALIGNMENT) return HN_ENOMEM;
  size_t shift = (size_t)(b->data - (uint8_t *)b->raw);
  void *raw = hn__realloc(&b->alloc, b->raw, (size_t)cap + HN_ALIGNMENT);
  if (!raw) return HN_ENOMEM;
  uint8_t *data = (uint8_t *)(((uintptr_t)raw + HN_ALIGNMENT - 1) & ~(uintptr_t)(HN_ALIGNMENT - 1));
  if ((size_t)(data - (uint8_t *)raw) != shift)
    memmove(data, (uint8_t *)raw + shift, (size_t)b->size);
  b->raw = raw;
  b->data = data;
  b->capacity = cap;
  return HN_OK;
}

void hn__buffer_zero_padding(hn_buffer *b) {
  if (!b->raw) return;
  int64_t end = hn__round64(b->size);
  if (end > b->capacity) end = b->capacity;
  if (end > b->size) memset(b->data + b->size, 0, (size_t)(end - b->size));
}

hn_status hn_buffer_create(const hn_allocator *alloc, int64_t size, hn_buffer **out,
                           hn_error *err) {
  if (!out || size < 0) return hn__error(err, HN_EINVAL, "hn_buffer_create: bad arguments");
  if (size > INT64_MAX - 2 * HN_ALIGNMENT)
    return hn__error_nomem(err, "for a buffer"); /* round64 would overflow */
  hn_buffer *b = hn__buffer_new(alloc, size);
  if (!b) return hn__error_nomem(err, "for a buffer");
  memset(b->data, 0, (size_t)b->capacity);
  b->size = size;
  *out = b;
  return HN_OK;
}

hn_status hn_buffer_create_uninit(const hn_allocator *alloc, int64_t size, hn_buffer **out,
                                  hn_error *err) {
  if (!out || size < 0) return hn__error(err, HN_EINVAL, "hn_buffer_create_uninit: bad arguments");
  if (size > INT64_MAX - 2 * HN_ALIGNMENT) return hn__error_nomem(err, "for a buffer");
  hn_buffer *b = hn__buffer_new(alloc, size);
  if (!b) return hn__error_nomem(err, "for a buffer");
  b->size = size;
  hn__buffer_zero_padding(b);
  *out = b;
  return HN_OK;
}

hn_status hn_buffer_copy(const hn_allocator *alloc, const void *data, int64_t size, hn_buffer **out,
                         hn_error *err) {
  if (!out || size < 0 || (size > 0 && !data))
    return hn__error(err, HN_EINVAL, "hn_buffer_copy: bad arguments");
  hn_status st = hn_buffer_create_uninit(alloc, size, out, err);
  if (st == HN_OK && size > 0) memcpy((*out)->data, data, (size_t)size);
  return st;
}

hn_status hn_buffer_wrap(const hn_allocator *alloc, const void *data, int64_t size,
                         void (*release)(void *ctx, const void *data), void *ctx, hn_buffer **out,
                         hn_error *err) {
  if (!out || size < 0 || (size > 0 && !data))
    return hn__error(err, HN_EINVAL, "hn_buffer_wrap: bad arguments");
  hn_buffer *b = buffer_header(alloc);
  if (!b) return hn__error_nomem(err, "for a buffer");
  b->data = (uint8_t *)data;
  b->size = size;
  b->capacity = size;
  b->release_fn = release;
  b->release_ctx = ctx;
  *out = b;
  return HN_OK;
}

hn_status hn_buffer_view(hn_buffer *parent, int64_t offset, int64_t size, hn_buffer **out,
                         hn_error *err) {
  if (!parent || !out) return hn__error(err, HN_EINVAL, "hn_buffer_view: NULL argument");
  if (offset < 0 || size < 0 || offset > parent->size || size > parent->size - offset)
    return hn__error(err, HN_ERANGE, "buffer view [%lld, +%lld) outside a buffer of %lld bytes",
                     (long long)offset, (long long)size, (long long)parent->size);
  hn_buffer *b = buffer_header(&parent->alloc);
  if (!b) return hn__error_nomem(err, "for a buffer view");
  b->data = parent->data + offset;
  b->size = size;
  b->capacity = size;
  b->parent = hn_buffer_retain(parent);
  *out = b;
  return HN_OK;
}

hn_buffer *hn_buffer_retain(hn_buffer *b) {
  if (b) atomic_fetch_add_explicit(&b->refcount, 1, memory_order_relaxed);
  return b;
}

static void free_objects(hn_buffer *b) {
  const hn_object_vtable *vt = &b->object_type->vtable;
  void **objects = (void **)b->data;
  int64_t n = b->size / (int64_t)sizeof(void *);
  for (int64_t i = 0; i < n; i++)
    if (objects[i]) vt->free(vt->ctx, objects[i]);
  hn_type_release(b->object_type);
}

void hn_buffer_release(hn_buffer *b) {
  if (!b || atomic_fetch_sub_explicit(&b->refcount, 1, memory_order_acq_rel) != 1) return;
  if (b->object_type) free_objects(b);
  if (b->parent) hn_buffer_release(b->parent);
  if (b->release_fn) b->release_fn(b->release_ctx, b->data);
  hn_allocator a = b->alloc;
  hn__free(&a, b->raw);
  hn__free(&a, b);
}

const uint8_t *hn_buffer_data(const hn_buffer *b) {
  return b ? b->data : NULL;
}
int64_t hn_buffer_size(const hn_buffer *b) {
  return b ? b->size : 0;
}
uint8_t *hn_buffer_mutable_data(hn_buffer *b) {
  if (!b || atomic_load_explicit(&b->refcount, memory_order_acquire) != 1) return NULL;
  if (b->parent || b->release_fn) return NULL;
  return b->data;
}
