/**
 * @file common.h
 * Status codes, detailed errors, the allocator hook and version information.
 *
 * Thread safety: objects are not thread-safe unless noted. Functions in this
 * header that take no object are safe to call from any thread.
 *
 * NULL handles (the one rule for every public header). It is safe to pass
 * NULL as the handle (an hn_ object, or the array inside a list or struct
 * view) to every function that does not return hn_status: getters,
 * lookups, predicates, retain, release and destroy. Such a call does
 * nothing and answers as for an empty object:
 *  - counts, lengths, sizes, offsets and type ids: 0;
 *  - lookups of an index by name: -1 (not found);
 *  - pointers (borrowed objects, buffers, values, names): NULL; the message
 *    of hn_builder_last_error: "";
 *  - datums (hn_array_get, the view readers, hn_rows_get): a null datum
 *    (is_null true, type 0), and hn_array_is_null agrees: true;
 *  - predicates: false; comparisons (hn_*_equals): true only for two NULLs;
 *  - structs returned by value (hn_result_get_stats): all members 0;
 *  - retain returns NULL; release, destroy and reset do nothing.
 * Where NULL already means something as an argument, the getter answers for
 * that: a NULL engine is the sequential engine (hn_engine_workers and
 * hn_engine_ranks give 1), and hn_type_to_string spells a NULL type "(null)".
 * Functions that return hn_status say in their own comment which NULL
 * arguments they accept. Helpers on raw memory (bits.h, hn_hash_bytes) take
 * memory of the stated size, not handles, and are outside this rule.
 * tests/test_null_rule.c checks every function this rule covers.
 */
#ifndef HYPERNODES_COMMON_H
#define HYPERNODES_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(HN_BUILDING_LIBRARY) && defined(__GNUC__)
#define HN_API __attribute__((visibility("default")))
#else
#define HN_API
#endif

#if defined(__GNUC__)
#define HN_NODISCARD __attribute__((warn_unused_result))
#else
#define HN_NODISCARD
#endif

/* HN_VERSION_MAJOR, _MINOR, _PATCH, _NUMBER and _STRING, generated from the build. */
#include "hypernodes/version.h"

/** Library version as MAJOR*10000 + MINOR*100 + PATCH, for run-time checks. */
HN_API int hn_version(void);
/** Library version as a static string such as "0.1.0". */
HN_API const char *hn_version_string(void);

/** Result of every fallible call. HN_OK is zero; every other value is a failure. */
typedef enum hn_status {
  HN_OK = 0,
  HN_EINVAL = 1,       /**< invalid argument or malformed input */
  HN_ENOMEM = 2,       /**< an allocation failed */
  HN_ETYPE = 3,        /**< a value or array has the wrong type */
  HN_EIO = 4,          /**< an operating-system I/O call failed */
  HN_ENODE = 5,        /**< a node's function reported a failure */
  HN_ENOTFOUND = 6,    /**< a named thing does not exist */
  HN_ECORRUPT = 7,     /**< serialised or imported data is truncated or corrupt */
  HN_EUNSUPPORTED = 8, /**< valid request that this build or type cannot serve */
  HN_ERANGE = 9,       /**< an index, length or size is out of range */
  HN_EINTERNAL = 10,   /**< a broken internal invariant (a bug: please report) */
  HN_ECANCELLED = 11,  /**< the run or map was cancelled (hn_cancel_request) */
  HN_ETIMEDOUT = 12    /**< a deadline passed: a node call's timeout or the call's own */
} hn_status;

/** Static English name of a status code ("HN_EINVAL: invalid argument"). Never NULL. */
HN_API const char *hn_status_str(hn_status status);

#define HN_ERROR_MESSAGE_MAX 512
#define HN_ERROR_NODE_MAX 128
#define HN_ERROR_PATH_MAX 128

/**
 * Detailed error, owned by the caller (stack or heap). Every fallible call
 * takes an optional `hn_error *err` as its last argument and, on failure,
 * fills it: `code` equals the returned status, `message` says what and where.
 * `node` and `item_path` are empty strings when they do not apply.
 * Passing NULL is always allowed. A call that succeeds leaves `err` untouched.
 */
typedef struct hn_error {
  hn_status code;
  char message[HN_ERROR_MESSAGE_MAX];
  char node[HN_ERROR_NODE_MAX];
  char item_path[HN_ERROR_PATH_MAX];
} hn_error;

/** Reset an error to HN_OK with empty strings. NULL is a no-op. */
HN_API void hn_error_reset(hn_error *err);

/**
 * Allocator hook. All three functions are required; `ctx` is passed back to
 * each. `realloc` has C realloc semantics. Functions must be thread-safe if
 * objects created with the allocator are used from several threads
 * (buffers and arrays may be released from any thread).
 * Wherever a `const hn_allocator *` parameter is NULL, libc is used. The
 * structure is copied: the caller need not keep it alive.
 */
typedef struct hn_allocator {
  void *(*malloc)(void *ctx, size_t size);
  void *(*realloc)(void *ctx, void *ptr, size_t size);
  void (*free)(void *ctx, void *ptr);
  void *ctx;
} hn_allocator;

/** The libc allocator (malloc/realloc/free). Static; never NULL. */
HN_API const hn_allocator *hn_allocator_default(void);

/** 64-bit XXH3 hash of `size` bytes (`data` may be NULL when size is 0). */
HN_API uint64_t hn_hash_bytes(const void *data, size_t size, uint64_t seed);
/** Order-dependent combination of two hashes. */
HN_API uint64_t hn_hash_combine(uint64_t a, uint64_t b);

#ifdef __cplusplus
}
#endif
#endif /* HYPERNODES_COMMON_H */
