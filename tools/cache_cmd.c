/*
 * `hypernodes cache stats DIR` and `hypernodes cache clear DIR`: what a
 * cache directory holds, and emptying it (docs/cache.md). Neither creates a
 * cache where there is none.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cache_cmd.h"
#include "hypernodes/hypernodes.h"

static void cache_usage(FILE *out) {
  fprintf(out,
          "usage: hypernodes cache stats DIR   what the cache in DIR holds\n"
          "       hypernodes cache clear DIR   delete every result stored in DIR\n"
          "                                    (safe while other processes use it)\n");
}

/* Bytes as "12.3 MiB (12897485 bytes)". */
static void print_bytes(const char *label, int64_t bytes) {
  static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = (double)bytes;
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    u++;
  }
  if (u == 0)
    printf("%-10s %" PRId64 " bytes\n", label, bytes);
  else
    printf("%-10s %.1f %s (%" PRId64 " bytes)\n", label, v, units[u], bytes);
}

static int stats(const char *dir) {
  hn_cache_usage u;
  hn_error err;
  hn_status st = hn_cache_usage_of(NULL, dir, &u, sizeof u, &err);
  if (st != HN_OK) {
    fprintf(stderr, "hypernodes cache stats: %s\n", err.message);
    return 1;
  }
  printf("cache      %s\n", dir);
  printf("%-10s %" PRId64 "\n", "chunks", u.chunks);
  printf("%-10s %" PRId64 "\n", "items", u.items);
  print_bytes("stored", u.bytes);
  print_bytes("file", u.file_size);
  print_bytes("map size", u.map_size);
  return 0;
}

static int clear(const char *dir) {
  hn_error err;
  hn_cache_usage u;
  hn_status st = hn_cache_usage_of(NULL, dir, &u, sizeof u, &err);
  if (st == HN_OK) st = hn_cache_clear(NULL, dir, &err);
  if (st != HN_OK) {
    fprintf(stderr, "hypernodes cache clear: %s\n", err.message);
    return 1;
  }
  printf("cleared %s: %" PRId64 " chunks, %" PRId64 " items, %" PRId64 " bytes\n", dir, u.chunks,
         u.items, u.bytes);
  return 0;
}

int cache_main(int argc, char **argv) {
  if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
    cache_usage(stdout);
    return 0;
  }
  if (argc != 2 || (strcmp(argv[0], "stats") != 0 && strcmp(argv[0], "clear") != 0)) {
    cache_usage(stderr);
    return 2;
  }
  return strcmp(argv[0], "stats") == 0 ? stats(argv[1]) : clear(argv[1]);
}
