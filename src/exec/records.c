/*
 * Failure records, as every engine keeps them: one per failed item (its
 * first failure), with the item index, the item path ("7" or "7/3"), the
 * node, the message and when it was recorded; the error table they become
 * under the continue policy; and the wording of a node failure reported
 * under raise.
 */
#include <stdio.h>
#include <stdlib.h>

#include "exec_internal.h"

hn_status hn__records_add(const hn_allocator *a, hn__records *rs, int64_t item, hn_status code,
                          const char *path, const char *node, const char *message) {
  return hn__records_add_attempts(a, rs, item, code, path, node, message, 1, NULL);
}

hn_status hn__records_add_attempts(const hn_allocator *a, hn__records *rs, int64_t item,
                                   hn_status code, const char *path, const char *node,
                                   const char *message, int64_t attempts, const char *messages) {
  if (rs->n == rs->cap) {
    int64_t cap = rs->cap ? rs->cap * 2 : 8;
    hn__record *v = hn__realloc(a, rs->v, sizeof *v * (size_t)cap);
    if (!v) return HN_ENOMEM;
    rs->v = v;
    rs->cap = cap;
  }
  hn__record r = {item,
                  rs->n,
                  code,
                  hn__strdup(a, path ? path : ""),
                  hn__strdup(a, node ? node : ""),
                  hn__strdup(a, message ? message : ""),
                  attempts > 0 ? attempts : 1,
                  messages ? hn__strdup(a, messages) : NULL,
                  hn__wall_ns()};
  if (!r.path || !r.node || !r.message || (messages && !r.messages)) {
    hn__free(a, r.path);
    hn__free(a, r.node);
    hn__free(a, r.message);
    hn__free(a, r.messages);
    return HN_ENOMEM;
  }
  rs->v[rs->n++] = r;
  return HN_OK;
}

void hn__records_free(const hn_allocator *a, hn__records *rs) {
  for (int64_t i = 0; i < rs->n; i++) {
    hn__free(a, rs->v[i].path);
    hn__free(a, rs->v[i].node);
    hn__free(a, rs->v[i].message);
    hn__free(a, rs->v[i].messages);
  }
  hn__free(a, rs->v);
  memset(rs, 0, sizeof *rs);
}

static int record_cmp(const void *x, const void *y) {
  const hn__record *a = x, *b = y;
  if (a->item != b->item) return a->item < b->item ? -1 : 1;
  return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void hn__records_sort(hn__records *rs) {
  if (rs->n > 1) qsort(rs->v, (size_t)rs->n, sizeof *rs->v, record_cmp);
}

hn_status hn__records_move(const hn_allocator *a, hn__records *to, hn__records *from,
                           int64_t item_base) {
  if (to->n + from->n > to->cap) {
    int64_t cap = to->cap ? to->cap : 8;
    while (cap < to->n + from->n) cap *= 2;
    hn__record *v = hn__realloc(a, to->v, sizeof *v * (size_t)cap);
    if (!v) return HN_ENOMEM;
    to->v = v;
    to->cap = cap;
  }
  for (int64_t i = 0; i < from->n; i++) {
    hn__record r = from->v[i];
    r.item += item_base;
    r.seq = to->n;
    to->v[to->n++] = r;
  }
  hn__free(a, from->v);
  memset(from, 0, sizeof *from);
  return HN_OK;
}

hn_status hn__error_table_schema(const hn_allocator *alloc, const hn_type **out, hn_error *err) {
  static const char *const names[HN__ERROR_COLUMNS] = {"item",    "item_path", "node",
                                                       "message", "attempts",  "messages"};
  const hn_type *types[HN__ERROR_COLUMNS] = {hn_type_int64(), hn_type_utf8(),  hn_type_utf8(),
                                             hn_type_utf8(),  hn_type_int64(), hn_type_utf8()};
  return hn_type_struct_create(alloc, HN__ERROR_COLUMNS, names, types, out, err);
}

/* The schema of timed error tables: the error table's columns, then time (int64). */
static hn_status timed_schema(const hn_allocator *alloc, const hn_type **out, hn_error *err) {
  static const char *const names[HN__ERROR_COLUMNS + 1] = {
      "item", "item_path", "node", "message", "attempts", "messages", "time"};
  const hn_type *types[HN__ERROR_COLUMNS + 1] = {hn_type_int64(), hn_type_utf8(),  hn_type_utf8(),
                                                 hn_type_utf8(),  hn_type_int64(), hn_type_utf8(),
                                                 hn_type_int64()};
  return hn_type_struct_create(alloc, HN__ERROR_COLUMNS + 1, names, types, out, err);
}

hn_status hn__records_table(const hn_allocator *alloc, const hn__records *rs, hn_table **out,
                            hn_error *err) {
  const hn_type *schema = NULL;
  hn_status st = timed_schema(alloc, &schema, err);
  if (st != HN_OK) return st;
  enum { N = HN__ERROR_COLUMNS + 1 };
  hn_builder *b[N] = {NULL};
  hn_array *cols[N] = {NULL};
  for (int i = 0; i < N && st == HN_OK; i++)
    st = hn_builder_create(alloc, schema->fields[i], &b[i], NULL);
  for (int i = 0; i < N && st == HN_OK; i++) st = hn_builder_reserve(b[i], rs->n);
  for (int64_t k = 0; k < rs->n && st == HN_OK; k++) {
    const hn__record *r = &rs->v[k];
    st = hn_builder_append_int64(b[0], r->item);
    if (st == HN_OK) st = hn_builder_append_str(b[1], r->path, -1);
    if (st == HN_OK) st = hn_builder_append_str(b[2], r->node, -1);
    if (st == HN_OK) st = hn_builder_append_str(b[3], r->message, -1);
    if (st == HN_OK) st = hn_builder_append_int64(b[4], r->attempts);
    if (st == HN_OK) st = hn_builder_append_str(b[5], r->messages ? r->messages : r->message, -1);
    if (st == HN_OK) st = hn_builder_append_int64(b[6], r->time_ns);
  }
  for (int i = 0; i < N && st == HN_OK; i++) st = hn_builder_finish(b[i], &cols[i], NULL);
  for (int i = 0; i < N; i++) hn_builder_destroy(b[i]);
  if (st != HN_OK) {
    for (int i = 0; i < N; i++) hn_array_release(cols[i]);
    hn_type_release(schema);
    return st == HN_ENOMEM ? hn__error_nomem(err, "building error records")
                           : hn__error(err, st, "building error records");
  }
  return hn__table_make(alloc, schema, rs->n, cols, out, err);
}

hn_status hn__node_error(hn_error *err, hn_status code, const char *node, const char *path,
                         const char *message) {
  if (!node) node = "";
  if (!path) path = "";
  if (path[0] && node[0])
    hn__error(err, code, "node '%s' failed on item %s: %s", node, path, message);
  else if (path[0])
    hn__error(err, code, "item %s failed: %s", path, message);
  else if (node[0])
    hn__error(err, code, "node '%s' failed: %s", node, message);
  else
    hn__error(err, code, "%s", message);
  if (err) {
    hn__error_set_node(err, node);
    snprintf(err->item_path, sizeof err->item_path, "%s", path);
  }
  return code;
}

size_t hn__path_rebase(const hn__call *x, const char *path, char *buf, size_t cap) {
  if (!path) path = "";
  const char *rest = path;
  long long local = 0;
  while (*rest >= '0' && *rest <= '9') local = local * 10 + (*rest++ - '0');
  if (rest == path || !x->is_map) return (size_t)snprintf(buf, cap, "%s", path);
  return (size_t)snprintf(buf, cap, "%lld%s", (long long)hn__call_item(x, local), rest);
}

const char *hn__node_error_cause(const hn_error *e) {
  char prefix[HN_ERROR_NODE_MAX + HN_ERROR_PATH_MAX + 48];
  if (e->item_path[0])
    snprintf(prefix, sizeof prefix, "node '%s' failed on item %s: ", e->node, e->item_path);
  else
    snprintf(prefix, sizeof prefix, "node '%s' failed: ", e->node);
  size_t n = strlen(prefix);
  return e->node[0] && strncmp(e->message, prefix, n) == 0 ? e->message + n : e->message;
}
