/* The public cache handle (cache.h) over the store (store.c). */
#include "cache_internal.h"
#include "hypernodes/cache.h"

struct hn_cache {
  hn_allocator alloc;
  char *dir;
  hn__cache *store;
  atomic_bool busy; /* one run or map at a time */
};

hn_status hn_cache_open(const hn_allocator *alloc, const char *dir, const hn_cache_options *options,
                        hn_cache **out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_cache_open: NULL output");
  *out = NULL;
  hn_cache_options o = {sizeof o, 0};
  if (options) {
    if (options->size < offsetof(hn_cache_options, max_bytes) + sizeof options->max_bytes)
      return hn__error(err, HN_EINVAL, "hn_cache_open: options->size is %zu (set it to sizeof)",
                       options->size);
    o.max_bytes = options->max_bytes;
  }
  if (o.max_bytes < 0)
    return hn__error(err, HN_EINVAL, "hn_cache_open: max_bytes is %lld (0: unbounded)",
                     (long long)o.max_bytes);
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_cache *c = hn__calloc(&a, 1, sizeof *c);
  if (!c) return hn__error_nomem(err, "for a cache");
  c->alloc = a;
  atomic_init(&c->busy, false);
  hn_status st = hn__cache_open(&a, dir, o.max_bytes, &c->store, err);
  if (st == HN_OK && !(c->dir = hn__strdup(&a, dir))) st = hn__error_nomem(err, "for a cache");
  if (st != HN_OK) {
    hn_cache_close(c);
    return st;
  }
  *out = c;
  return HN_OK;
}

void hn_cache_close(hn_cache *cache) {
  if (!cache) return;
  hn__cache_close(cache->store);
  hn_allocator a = cache->alloc;
  hn__free(&a, cache->dir);
  hn__free(&a, cache);
}

const char *hn_cache_dir(const hn_cache *cache) {
  return cache ? cache->dir : NULL;
}

hn_status hn_cache_usage_of(const hn_allocator *alloc, const char *dir, hn_cache_usage *out,
                            size_t size, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_cache_usage_of: NULL output");
  hn__cache_usage u;
  hn_status st = hn__cache_stats_dir(alloc, dir, &u, err);
  if (st != HN_OK) return st;
  hn_cache_usage pub = {u.chunks, u.items, u.bytes, u.map_size, u.file_size};
  memcpy(out, &pub, size < sizeof pub ? size : sizeof pub);
  return HN_OK;
}

hn_status hn_cache_clear(const hn_allocator *alloc, const char *dir, hn_error *err) {
  return hn__cache_clear(alloc, dir, err);
}

hn__cache *hn__cache_store_claim(hn_cache *cache, hn_error *err, hn_status *st) {
  if (atomic_exchange(&cache->busy, true)) {
    *st = hn__error(err, HN_EINVAL,
                    "the cache in '%s' is already serving a run or map (a cache handle serves one "
                    "call at a time: open one per thread)",
                    cache->dir);
    return NULL;
  }
  *st = HN_OK;
  return cache->store;
}

void hn__cache_store_release(hn_cache *cache) {
  atomic_store(&cache->busy, false);
}
