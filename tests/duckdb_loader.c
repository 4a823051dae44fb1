/* dlopen of libduckdb.so and lookup of the functions duckdb_loader.h declares. */
#define _POSIX_C_SOURCE 200809L
#include "duckdb_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool sym(hn_duckdb *d, void *slot, const char *name, char *why, int cap) {
  void *p = dlsym(d->lib, name);
  if (!p) {
    snprintf(why, (size_t)cap, "libduckdb.so has no %s", name);
    return false;
  }
  memcpy(slot, &p, sizeof p); /* object pointer to function pointer, as dlsym requires */
  return true;
}

bool hn_duckdb_load(hn_duckdb *d, const char *default_path, char *why, int cap) {
  memset(d, 0, sizeof *d);
  const char *path = getenv("HN_DUCKDB_LIB");
  if (!path || !path[0]) path = default_path;
  if (!path || !path[0]) {
    snprintf(why, (size_t)cap,
             "no libduckdb.so configured (run scripts/setup, or set HN_DUCKDB_LIB)");
    return false;
  }
  d->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!d->lib) {
    snprintf(why, (size_t)cap, "cannot load %s: %s (run scripts/setup, or set HN_DUCKDB_LIB)", path,
             dlerror());
    return false;
  }
  bool ok = sym(d, &d->open, "duckdb_open", why, cap) &&
            sym(d, &d->close, "duckdb_close", why, cap) &&
            sym(d, &d->connect, "duckdb_connect", why, cap) &&
            sym(d, &d->disconnect, "duckdb_disconnect", why, cap) &&
            sym(d, &d->query, "duckdb_query", why, cap) &&
            sym(d, &d->result_error, "duckdb_result_error", why, cap) &&
            sym(d, &d->destroy_result, "duckdb_destroy_result", why, cap) &&
            sym(d, &d->query_arrow, "duckdb_query_arrow", why, cap) &&
            sym(d, &d->query_arrow_schema, "duckdb_query_arrow_schema", why, cap) &&
            sym(d, &d->query_arrow_array, "duckdb_query_arrow_array", why, cap) &&
            sym(d, &d->query_arrow_error, "duckdb_query_arrow_error", why, cap) &&
            sym(d, &d->destroy_arrow, "duckdb_destroy_arrow", why, cap) &&
            sym(d, &d->arrow_scan, "duckdb_arrow_scan", why, cap);
  if (!ok) hn_duckdb_unload(d);
  return ok;
}

void hn_duckdb_unload(hn_duckdb *d) {
  if (d->lib) dlclose(d->lib);
  memset(d, 0, sizeof *d);
}
