#include "test_support.h"

#include <stdatomic.h>
#include <stdlib.h>

/* Each block carries a header so that realloc/free can be counted. */
/* The request is one the allocator was told to refuse. */
static bool refused(hn_test_alloc *t, int64_t n, size_t size) {
  return (t->fail_at > 0 && n == t->fail_at) ||
         (t->max_request > 0 && size > (uint64_t)t->max_request);
}

static void *t_malloc(void *ctx, size_t size) {
  hn_test_alloc *t = ctx;
  int64_t n = __atomic_add_fetch(&t->n_allocs, 1, __ATOMIC_SEQ_CST);
  if (refused(t, n, size)) {
    __atomic_add_fetch(&t->failures, 1, __ATOMIC_SEQ_CST);
    return NULL;
  }
  void *p = malloc(size);
  if (p) __atomic_add_fetch(&t->live, 1, __ATOMIC_SEQ_CST);
  return p;
}

static void *t_realloc(void *ctx, void *ptr, size_t size) {
  hn_test_alloc *t = ctx;
  if (!ptr) return t_malloc(ctx, size);
  int64_t n = __atomic_add_fetch(&t->n_allocs, 1, __ATOMIC_SEQ_CST);
  if (refused(t, n, size)) {
    __atomic_add_fetch(&t->failures, 1, __ATOMIC_SEQ_CST);
    return NULL;
  }
  return realloc(ptr, size);
}

static void t_free(void *ctx, void *ptr) {
  hn_test_alloc *t = ctx;
  if (!ptr) return;
  __atomic_sub_fetch(&t->live, 1, __ATOMIC_SEQ_CST);
  free(ptr);
}

void hn_test_alloc_init(hn_test_alloc *t, int64_t fail_at) {
  t->alloc.malloc = t_malloc;
  t->alloc.realloc = t_realloc;
  t->alloc.free = t_free;
  t->alloc.ctx = t;
  t->n_allocs = 0;
  t->live = 0;
  t->fail_at = fail_at;
  t->failures = 0;
  t->max_request = 0;
}

/* list<list<utf8>>: [[["a","bc"],[]], null, [[null,"d"]], []] */
hn_array *hn_test_list_list_utf8(const hn_allocator *a) {
  const hn_type *inner = NULL, *outer = NULL;
  HN_CHECK(hn_type_list_create(a, hn_type_utf8(), &inner, NULL), NULL);
  HN_CHECK(hn_type_list_create(a, inner, &outer, NULL), NULL);
  hn_builder *b = NULL;
  HN_CHECK(hn_builder_create(a, outer, &b, NULL), NULL);
  hn_builder *mid = hn_builder_child(b, 0), *leaf = hn_builder_child(mid, 0);
  HN_CHECK(hn_builder_append_str(leaf, "a", -1), NULL);
  HN_CHECK(hn_builder_append_str(leaf, "bc", -1), NULL);
  HN_CHECK(hn_builder_finish_element(mid), NULL);
  HN_CHECK(hn_builder_finish_element(mid), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_append_null(b), NULL);
  HN_CHECK(hn_builder_append_null(leaf), NULL);
  HN_CHECK(hn_builder_append_str(leaf, "d", -1), NULL);
  HN_CHECK(hn_builder_finish_element(mid), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  HN_CHECK(hn_builder_finish_element(b), NULL);
  hn_array *arr = NULL;
  HN_CHECK(hn_builder_finish(b, &arr, NULL), NULL);
  hn_builder_destroy(b);
  hn_type_release(inner);
  hn_type_release(outer);
  return arr;
}
