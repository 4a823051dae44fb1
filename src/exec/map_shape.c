/*
 * The shape of a map: how many items a zip or a product of mapped lists
 * makes, and which row of each list an item reads. Written once for the
 * top-level map and for nested pipelines mapped over list values, on every
 * engine.
 */
#include <stdio.h>

#include "exec_internal.h"

static hn_status zip_shape(int64_t n, const int64_t *len, const char *const *names,
                           int64_t *n_items, int64_t *stride, char *msg, size_t cap) {
  bool same = true;
  for (int64_t k = 1; k < n; k++) same = same && len[k] == len[0];
  if (!same) {
    size_t at = (size_t)snprintf(msg, cap, "zip lengths differ: ");
    for (int64_t k = 0; k < n && at < cap; k++)
      at += (size_t)snprintf(msg + at, cap - at, "%s%s=%lld", k ? ", " : "", names[k],
                             (long long)len[k]);
    return HN_EINVAL;
  }
  for (int64_t k = 0; k < n; k++) stride[k] = 1;
  *n_items = n > 0 ? len[0] : 1;
  return HN_OK;
}

hn_status hn__map_shape(hn_map_mode mode, int64_t n, const int64_t *len, const char *const *names,
                        int64_t limit, int64_t *n_items, int64_t *stride, char *msg, size_t cap) {
  if (mode == HN_MAP_ZIP) return zip_shape(n, len, names, n_items, stride, msg, cap);
  /* With an empty list there is no combination, whatever the other lengths. */
  bool any_empty = false;
  for (int64_t k = 0; k < n; k++) any_empty = any_empty || len[k] == 0;
  int64_t total = 1;
  for (int64_t k = n - 1; k >= 0; k--) {
    stride[k] = total;
    if (any_empty) continue;
    if (total > limit / len[k]) {
      snprintf(msg, cap, "the product of the mapped lengths exceeds %lld items", (long long)limit);
      return HN_ERANGE;
    }
    total *= len[k];
  }
  *n_items = any_empty ? 0 : total;
  return HN_OK;
}
