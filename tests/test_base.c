/* Base layer: status strings, errors, allocator, arena, bits, hashing. */
#include <string.h>

#include "base/base_internal.h"
#include "test_support.h"

static void test_status_strings(void **state) {
  (void)state;
  assert_int_equal(HN_OK, 0);
  for (int s = HN_OK; s <= HN_EINTERNAL; s++) {
    const char *text = hn_status_str((hn_status)s);
    assert_non_null(text);
    assert_non_null(strstr(text, "HN_"));
  }
  assert_string_equal(hn_status_str((hn_status)999), "unknown hn_status");
  assert_int_equal(hn_version(), HN_VERSION_NUMBER);
  assert_string_equal(hn_version_string(), HN_VERSION_STRING);
}

static void test_error_filled_and_null_accepted(void **state) {
  (void)state;
  hn_error err;
  hn_error_reset(&err);
  assert_int_equal(err.code, HN_OK);
  hn_arena *arena = NULL;
  assert_int_equal(hn_arena_create(NULL, 0, NULL, &err), HN_EINVAL);
  assert_int_equal(err.code, HN_EINVAL);
  assert_non_null(strstr(err.message, "out is NULL"));
  assert_int_equal(hn_arena_create(NULL, 0, NULL, NULL), HN_EINVAL); /* NULL err is fine */
  hn_error_reset(NULL);
  assert_int_equal(hn_arena_create(NULL, 0, &arena, &err), HN_OK);
  hn_arena_destroy(arena);
  hn_arena_destroy(NULL);
}

static void test_arena(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_arena *arena = NULL;
  HN_CHECK(hn_arena_create(&ta.alloc, 256, &arena, NULL), NULL);
  char *a = hn_arena_alloc(arena, 10, 1);
  int64_t *b = hn_arena_alloc(arena, sizeof(int64_t) * 4, 8);
  void *c = hn_arena_alloc(arena, 1, 64);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal((uintptr_t)b % 8, 0);
  assert_int_equal((uintptr_t)c % 64, 0);
  memset(a, 'x', 10);
  b[3] = 42;
  void *big = hn_arena_alloc(arena, 10000, 16); /* larger than a block */
  assert_non_null(big);
  memset(big, 0, 10000);
  assert_true(hn_arena_used(arena) >= 10000 + 10 + 32 + 1);
  assert_null(hn_arena_alloc(arena, 8, 3)); /* not a power of two */
  assert_null(hn_arena_alloc(arena, 8, 128));
  hn_arena_reset(arena);
  assert_int_equal(hn_arena_used(arena), 0);
  for (int i = 0; i < 1000; i++) assert_non_null(hn_arena_alloc(arena, 24, 8));
  hn_arena_destroy(arena);
  assert_int_equal(ta.live, 0);
}

static void test_arena_allocation_failure(void **state) {
  (void)state;
  for (int64_t k = 1; k <= 3; k++) {
    hn_test_alloc ta;
    hn_test_alloc_init(&ta, k);
    hn_arena *arena = NULL;
    hn_error err;
    hn_status st = hn_arena_create(&ta.alloc, 128, &arena, &err);
    if (st != HN_OK) {
      assert_int_equal(st, HN_ENOMEM);
      assert_int_equal(err.code, HN_ENOMEM);
    } else {
      (void)hn_arena_alloc(arena, 16, 8);
      (void)hn_arena_alloc(arena, 4096, 8);
      hn_arena_destroy(arena);
    }
    assert_int_equal(ta.live, 0);
  }
}

static void test_bits(void **state) {
  (void)state;
  uint8_t bits[32] = {0};
  for (int i = 0; i < 256; i += 3) hn_bit_set(bits, i);
  int64_t expected = 0;
  for (int i = 0; i < 256; i++) expected += (i % 3 == 0);
  assert_int_equal(hn_bits_count(bits, 0, 256), expected);
  for (int start = 0; start < 20; start++)
    for (int len = 0; len < 200; len += 7) {
      int64_t want = 0;
      for (int i = start; i < start + len; i++) want += hn_bit_get(bits, i);
      assert_int_equal(hn_bits_count(bits, start, len), want);
    }
  hn_bit_clear(bits, 0);
  assert_false(hn_bit_get(bits, 0));
  hn_bit_set_to(bits, 1, true);
  assert_true(hn_bit_get(bits, 1));
  assert_int_equal(bits[0] & 1, 0); /* LSB-first: bit 1 is the second-lowest */
  assert_int_equal(bits[0] & 2, 2);
  assert_int_equal(hn_bytes_for_bits(9), 2);
}

/* bits.h: hn_bytes_for_bits must not wrap for the largest counts (issue 11, item 1). */
static void test_bytes_for_bits_no_overflow(void **state) {
  (void)state;
  assert_int_equal(hn_bytes_for_bits(0), 0);
  assert_int_equal(hn_bytes_for_bits(1), 1);
  assert_int_equal(hn_bytes_for_bits(8), 1);
  assert_int_equal(hn_bytes_for_bits(INT64_MAX), ((int64_t)1 << 60));
  assert_int_equal(hn_bytes_for_bits(INT64_MAX - 6), ((int64_t)1 << 60));
  assert_int_equal(hn_bytes_for_bits(INT64_MAX - 7), ((int64_t)1 << 60) - 1);
}

/* The checked helpers of base_internal.h, at and around every boundary. */
static void test_checked_arithmetic(void **state) {
  (void)state;
  int64_t r = 0;
  assert_false(hn__add_overflow(INT64_MAX - 1, 1, &r));
  assert_int_equal(r, INT64_MAX);
  assert_true(hn__add_overflow(INT64_MAX, 1, &r));
  assert_true(hn__add_overflow(INT64_MIN, -1, &r));
  assert_false(hn__add_overflow(-5, 3, &r));
  assert_int_equal(r, -2);
  assert_false(hn__mul_overflow(((int64_t)1 << 60) - 1, 8, &r));
  assert_int_equal(r, INT64_MAX - 7);
  assert_true(hn__mul_overflow((int64_t)1 << 60, 8, &r));
  assert_true(hn__mul_overflow(((int64_t)1 << 60) + 1, 8, &r));
  assert_true(hn__mul_overflow(INT64_MAX, 2, &r));
  assert_true(hn__mul_overflow(INT64_MIN, -1, &r));
  assert_false(hn__mul_overflow(0, INT64_MAX, &r));
  assert_int_equal(r, 0);
  size_t z = 0;
  assert_false(hn__add_overflow_size(SIZE_MAX - 1, 1, &z));
  assert_true(z == SIZE_MAX);
  assert_true(hn__add_overflow_size(SIZE_MAX, 1, &z));
  assert_false(hn__mul_overflow_size(SIZE_MAX / 8, 8, &z));
  assert_true(hn__mul_overflow_size(SIZE_MAX / 8 + 1, 8, &z));
  assert_false(hn__round64_overflow(HN__ROUND64_MAX, &r));
  assert_int_equal(r, HN__ROUND64_MAX); /* a multiple of 64 */
  assert_false(hn__round64_overflow(HN__ROUND64_MAX - 1, &r));
  assert_int_equal(r, HN__ROUND64_MAX);
  assert_true(hn__round64_overflow(HN__ROUND64_MAX + 1, &r));
}

/* hn__bits_fill sets exactly the requested range, whatever its alignment. */
static void test_bits_fill(void **state) {
  (void)state;
  for (int start = 0; start < 20; start++)
    for (int n = 0; n < 90; n += 3)
      for (int value = 0; value < 2; value++) {
        uint8_t bits[16];
        memset(bits, value ? 0 : 0xff, sizeof bits);
        hn__bits_fill(bits, start, n, value);
        for (int i = 0; i < 128; i++) {
          bool inside = i >= start && i < start + n;
          assert_int_equal(hn_bit_get(bits, i), inside ? value : !value);
        }
      }
}

/*
 * An arena whose block size is close to SIZE_MAX: the block header plus the
 * block size wrapped around, a tiny block was allocated and handed out as
 * a huge one (issue 11, class of item 1). An allocation must now fail.
 */
static void test_arena_huge_block_size(void **state) {
  (void)state;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_arena *arena = NULL;
  HN_CHECK(hn_arena_create(&ta.alloc, SIZE_MAX, &arena, NULL), NULL);
  assert_null(hn_arena_alloc(arena, 1000, 16));
  assert_null(hn_arena_alloc(arena, 1, 0));
  hn_arena_destroy(arena);
  HN_CHECK(hn_arena_create(&ta.alloc, SIZE_MAX - 100, &arena, NULL), NULL);
  assert_null(hn_arena_alloc(arena, 200, 64));
  hn_arena_destroy(arena);
  assert_int_equal(ta.live, 0);
}

static void test_hash(void **state) {
  (void)state;
  const char *s = "hello";
  uint64_t h1 = hn_hash_bytes(s, 5, 0);
  assert_int_equal(h1, hn_hash_bytes("hello", 5, 0));
  assert_int_not_equal(h1, hn_hash_bytes(s, 5, 1));
  assert_int_not_equal(h1, hn_hash_bytes("hellp", 5, 0));
  assert_int_equal(hn_hash_bytes(NULL, 0, 7), hn_hash_bytes("", 0, 7));
  assert_int_not_equal(hn_hash_combine(1, 2), hn_hash_combine(2, 1));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status_strings),
      cmocka_unit_test(test_error_filled_and_null_accepted),
      cmocka_unit_test(test_arena),
      cmocka_unit_test(test_arena_allocation_failure),
      cmocka_unit_test(test_bits),
      cmocka_unit_test(test_hash),
      cmocka_unit_test(test_bytes_for_bits_no_overflow),
      cmocka_unit_test(test_checked_arithmetic),
      cmocka_unit_test(test_bits_fill),
      cmocka_unit_test(test_arena_huge_block_size),
  };
  return cmocka_run_group_tests_name("base", tests, NULL, NULL);
}
