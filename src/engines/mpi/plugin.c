/* Loading the MPI plugin: from the process, HN_MPI_PLUGIN, the soname, or beside the core library.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpi_internal.h"

static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;
static const hn__mpi_transport *loaded;

const hn__mpi_transport *hn__mpi_load(hn_error *err) {
  pthread_mutex_lock(&load_lock);
  const hn__mpi_transport *t = loaded;
  if (!t) {
    typedef const hn__mpi_transport *(*entry_fn)(void);
    entry_fn entry = NULL;
    void *sym = dlsym(RTLD_DEFAULT, "hn_mpi_transport_v1");
    const char *path = getenv("HN_MPI_PLUGIN");
    const char *why = NULL;
    char why_buf[512] = "";
    if (!sym || path) {
      void *h = dlopen(path && *path ? path : PLUGIN_SONAME, RTLD_NOW | RTLD_GLOBAL);
      if (!h) {
        snprintf(why_buf, sizeof why_buf, "%s", dlerror());
        why = why_buf;
      }
      if (!h && !(path && *path)) {
        /* Beside the object holding this code (an installed libhypernodes.so). Also
         * where a sanitizer's dlopen interceptor hides the caller's run path. */
        Dl_info info;
        const char *slash = NULL;
        if (dladdr((void *)&hn__mpi_ops, &info) && info.dli_fname)
          slash = strrchr(info.dli_fname, '/');
        if (slash) {
          char alt[4096];
          int n = snprintf(alt, sizeof alt, "%.*s/%s", (int)(slash - info.dli_fname),
                           info.dli_fname, PLUGIN_SONAME);
          if (n > 0 && (size_t)n < sizeof alt) h = dlopen(alt, RTLD_NOW | RTLD_GLOBAL);
        }
      }
      if (h) sym = dlsym(h, "hn_mpi_transport_v1");
      if (h && !sym) why = "it has no symbol hn_mpi_transport_v1";
    }
    if (sym) {
      memcpy(&entry, &sym, sizeof entry);
      t = entry();
      if (!t || t->abi != HN__MPI_ABI) {
        why = "its ABI version differs from this library's";
        t = NULL;
      }
    }
    if (!t) {
      pthread_mutex_unlock(&load_lock);
      hn__error(err, HN_EUNSUPPORTED,
                "the mpi engine is not available: the MPI plugin %s could not be used (%s); "
                "build hypernodes with MPI installed (Debian: libopenmpi-dev) and link "
                "hypernodes_mpi, install it beside libhypernodes, or set HN_MPI_PLUGIN",
                path && *path ? path : PLUGIN_SONAME, why ? why : "not found");
      return NULL;
    }
    loaded = t;
  }
  pthread_mutex_unlock(&load_lock);
  return t;
}
