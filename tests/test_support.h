/* Shared helpers for the unit tests: a counting, failure-injecting allocator. */
#ifndef HN_TEST_SUPPORT_H
#define HN_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hypernodes/hypernodes.h"

/*
 * Counting allocator: `live` is the number of outstanding allocations; when
 * `fail_at` > 0 the fail_at-th allocation (malloc or growing realloc) fails;
 * when `max_request` > 0 every request for more bytes than that fails.
 */
typedef struct hn_test_alloc {
  hn_allocator alloc;
  int64_t n_allocs;    /* allocations attempted so far */
  int64_t live;        /* outstanding allocations */
  int64_t fail_at;     /* 1-based index of the allocation to fail; 0 = never */
  int64_t failures;    /* how many were failed */
  int64_t max_request; /* largest request served, in bytes; 0 = no cap */
} hn_test_alloc;

void hn_test_alloc_init(hn_test_alloc *t, int64_t fail_at);

/* list<list<utf8>>: [[["a","bc"],[]], null, [[null,"d"]], []], built with `a`. */
hn_array *hn_test_list_list_utf8(const hn_allocator *a);

/*
 * A table of 3 rows with one column of each type of issue 16 (row 1 is null
 * in each): hn_test_all_types[i] = {column name, type string}.
 */
#define HN_TEST_N_TYPES 29
extern const char *const hn_test_all_types[HN_TEST_N_TYPES][2];
hn_table *hn_test_all_types_table(const hn_allocator *a);

/* A result's statistics as a value (hn_result_get_stats copies them out). */
static inline hn_result_stats hn_test_stats(const hn_result *result) {
  hn_result_stats s;
  hn_result_get_stats(result, &s, sizeof s);
  return s;
}

/* The error's message, or "" when err is NULL. */
static inline const char *hn_test_message(const hn_error *err) {
  return err ? err->message : "";
}

/* Assert that a status is HN_OK, printing the error message otherwise. */
#define HN_CHECK(call, errp)                                                 \
  do {                                                                       \
    hn_status hn_check_st_ = (call);                                         \
    if (hn_check_st_ != HN_OK) {                                             \
      print_error("%s failed: %s: %s\n", #call, hn_status_str(hn_check_st_), \
                  hn_test_message(errp));                                    \
      fail();                                                                \
    }                                                                        \
  } while (0)

#endif
