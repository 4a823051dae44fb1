/*
 * The wire of the batch protocol (remote.h): byte buffers, tables as bytes,
 * and the formats below, shared by encode.c, worker.c and reply.c.
 *
 * A batch is one serialised table (hn_table_serialize): one column per
 * mapped plan input, named after it, one row per item of [first,
 * first+count). Zip mode sends zero-copy slices of the mapped columns (the
 * serialiser writes only the sliced range); product mode gathers row
 * item / stride % length of each column with a builder.
 *
 * A reply is, in host byte order (the mpi engine checks that ranks agree on
 * it before any batch moves):
 *
 *   reply_header                      fixed size, see below, then zero
 *                                     bytes up to a multiple of 64
 *                                     (REPLY_BODY_AT), so that a reply
 *                                     received into an aligned buffer is
 *                                     read in place
 *   outputs table                     hn_table_serialize bytes, outputs_size
 *                                     (0 when status != HN_OK); one column
 *                                     per requested output, one row per item
 *   error records table               hn_table_serialize bytes of the item
 *                                     executor's error table, errors_size
 *                                     (0: no record)
 *   event log                         events_size bytes: one record per
 *                                     event, in the order they fired:
 *                                       u8 kind (EV_*), i32 depth,
 *                                       i32 thread, i32 status,
 *                                       i32 attempt, i64 item,
 *                                       i64 n_items, i64 n_rows,
 *                                       i64 start_ns, i64 duration_ns,
 *                                       then pipeline, node, item_path,
 *                                       message as i32 length (-1: NULL)
 *                                       followed by the bytes; the
 *                                       numbers unaligned, as hn_event
 *                                       has them in the worker (times on
 *                                       the worker's CLOCK_MONOTONIC)
 *
 * The header's version is REPLY_VERSION: a
 * reply of another version is refused as corrupt. Each section starts at
 * a multiple of 8 bytes. The header carries the
 * status of the batch: HN_OK, or the failure that stopped it (a node
 * failure under RAISE, or an engine failure such as HN_ENOMEM) with the
 * hn_error fields and the failing item, and the time the worker spent
 * running the items (the parent sizes batches from it). Its resource counts are the
 * instances built and destroyed while running this batch (deltas, never
 * totals, so that summing replies counts each instance once); instances
 * still live at the end are destroyed by hn__batch_worker_destroy, whose
 * totals the transport reports separately (hn__collector_add_counts).
 * Every size is checked on decode: a malformed reply is HN_ECORRUPT and
 * nothing is read outside it.
 */
#include "remote_internal.h"

size_t hn__pad8(size_t n) {
  return (n + 7) & ~(size_t)7;
}

void hn__copy_str(char *dst, size_t cap, const char *src) {
  size_t n = src ? strlen(src) : 0;
  if (n >= cap) n = cap - 1;
  if (n) memcpy(dst, src, n);
  dst[n] = '\0';
}

hn_status hn__bytes_reserve(const hn_allocator *alloc, hn__bytes *b, size_t extra, hn_error *err) {
  if (extra <= b->cap - b->size) return HN_OK;
  if (extra > SIZE_MAX / 2 - b->size) return hn__error(err, HN_ERANGE, "byte buffer too large");
  size_t need = b->size + extra, cap = b->cap ? b->cap : 256;
  while (cap < need) cap *= 2;
  uint8_t *p = hn__realloc(alloc, b->data, cap);
  if (!p) return hn__error_nomem(err, "growing a message buffer");
  b->data = p;
  b->cap = cap;
  return HN_OK;
}

hn_status hn__bytes_append(const hn_allocator *alloc, hn__bytes *b, const void *p, size_t n,
                           hn_error *err) {
  hn_status st = hn__bytes_reserve(alloc, b, n, err);
  if (st != HN_OK) return st;
  if (n) memcpy(b->data + b->size, p, n);
  b->size += n;
  return HN_OK;
}

void hn__bytes_free(const hn_allocator *alloc, hn__bytes *b) {
  hn__free(alloc, b->data);
  b->data = NULL;
  b->size = b->cap = 0;
}

/* Append zero bytes up to the next multiple of 8. */
hn_status hn__bytes_pad8(const hn_allocator *alloc, hn__bytes *b, hn_error *err) {
  return hn__bytes_pad(alloc, b, 8, err);
}

hn_status hn__bytes_pad(const hn_allocator *alloc, hn__bytes *b, size_t to, hn_error *err) {
  static const uint8_t zeros[64];
  size_t n = (to - b->size % to) % to;
  return hn__bytes_append(alloc, b, zeros, n, err);
}

/* Serialise `t` and append its bytes to `out`. */
hn_status hn__append_table(const hn_allocator *a, const hn_table *t, hn__bytes *out,
                           hn_error *err) {
  hn_buffer *buf = NULL;
  hn_status st = hn_table_serialize(t, a, &buf, err);
  if (st != HN_OK) return st;
  st = hn__bytes_append(a, out, hn_buffer_data(buf), (size_t)hn_buffer_size(buf), err);
  hn_buffer_release(buf);
  return st;
}

hn_status hn__read_table(const hn_allocator *a, const void *data, size_t size, bool copy,
                         hn_table **out, hn_error *err) {
  if (size > (size_t)INT64_MAX) return hn__error(err, HN_ECORRUPT, "table of %zu bytes", size);
  hn_buffer *buf = NULL;
  hn_status st = copy ? hn_buffer_copy(a, data, (int64_t)size, &buf, err)
                      : hn_buffer_wrap(a, data, (int64_t)size, NULL, NULL, &buf, err);
  if (st != HN_OK) return st;
  st = hn_table_deserialize(a, buf, out, err);
  hn_buffer_release(buf);
  return st;
}

/* Column `name` of t with type `type` (NULL: any), or HN_ECORRUPT. */
hn_status hn__find_column(const hn_table *t, const char *name, const hn_type *type, int64_t rows,
                          const char *what, hn_array **out, hn_error *err) {
  hn_array *col = hn_table_column_by_name(t, name);
  if (!col) return hn__error(err, HN_ECORRUPT, "%s has no column '%s'", what, name);
  if (type && !hn_type_equals(col->type, type))
    return hn__error(err, HN_ECORRUPT, "%s: column '%s' has the wrong type", what, name);
  if (col->length != rows)
    return hn__error(err, HN_ECORRUPT, "%s: column '%s' has %lld rows, expected %lld", what, name,
                     (long long)col->length, (long long)rows);
  *out = col;
  return HN_OK;
}

hn_callback hn__event_callback(const hn_callbacks *cb, int kind) {
  if (!cb) return NULL;
  switch (kind) {
    case EV_ITEM_START:
      return cb->on_item_start;
    case EV_ITEM_END:
      return cb->on_item_end;
    case EV_NODE_START:
      return cb->on_node_start;
    case EV_NODE_END:
      return cb->on_node_end;
    case EV_ERROR:
      return cb->on_error;
    case EV_PIPELINE_START:
      return cb->on_pipeline_start;
    case EV_PIPELINE_END:
      return cb->on_pipeline_end;
    case EV_MAP_START:
      return cb->on_map_start;
    case EV_MAP_END:
      return cb->on_map_end;
    case EV_CHUNK_START:
      return cb->on_chunk_start;
    case EV_CHUNK_END:
      return cb->on_chunk_end;
    case EV_RETRY:
      return cb->on_retry;
    default:
      return NULL;
  }
}
