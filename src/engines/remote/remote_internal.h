/*
 * Internal contract of the remote batch protocol's files: the reply format
 * and the wire helpers (wire.c) shared by encode.c (the parent's batches),
 * worker.c (running a batch, building its reply) and reply.c (taking a
 * reply back). The format is described in wire.c's file comment. Not
 * installed; symbols use hn__.
 */
#ifndef HN_ENGINES_REMOTE_INTERNAL_H
#define HN_ENGINES_REMOTE_INTERNAL_H

#include "remote.h"

#define REPLY_MAGIC 0x52424e48u /* "HNBR" read as a little-endian u32 */
/* 2: timed events (start, duration, thread), map and chunk events; 3: the header padded to
 * 64 bytes (REPLY_BODY_AT) and the batch's run time (run_ns); 4: events carry their attempt,
 * error records their attempts and messages (node policies). */
#define REPLY_VERSION 4u

typedef struct reply_header {
  uint32_t magic, version;
  int64_t first, count;
  int32_t status; /* HN_OK or the batch's failure */
  int32_t reserved;
  int64_t fail_item;       /* the failing item, when status != HN_OK */
  int64_t inits, destroys; /* resource instances built / destroyed by this batch */
  int64_t run_ns;          /* time spent running the batch's items (0 on failure) */
  uint64_t outputs_size, errors_size, events_size;
  char message[HN_ERROR_MESSAGE_MAX];
  char node[HN_ERROR_NODE_MAX];
  char item_path[HN_ERROR_PATH_MAX];
} reply_header;

/* Event kinds of the log. */
enum {
  EV_ITEM_START = 0,
  EV_ITEM_END,
  EV_NODE_START,
  EV_NODE_END,
  EV_ERROR,
  EV_PIPELINE_START,
  EV_PIPELINE_END,
  EV_MAP_START, /* nested maps (the top-level ones fire in the calling process) */
  EV_MAP_END,
  EV_CHUNK_START,
  EV_CHUNK_END,
  EV_RETRY, /* a node attempt that will be retried (hn_node_policy) */
  EV_KINDS
};

/* ---- wire.c ------------------------------------------------------------------------ */

/* n rounded up to a multiple of 8. */
size_t hn__pad8(size_t n);
/* Where a reply's outputs section starts: the header rounded up to 64 bytes. */
#define REPLY_BODY_AT ((sizeof(reply_header) + 63) & ~(size_t)63)
/* Copy a NUL-terminated string (NULL: "") into dst, cut at cap. */
void hn__copy_str(char *dst, size_t cap, const char *src);
/* Append zero bytes up to the next multiple of 8. */
hn_status hn__bytes_pad8(const hn_allocator *alloc, hn__bytes *b, hn_error *err);
/* Append zero bytes up to the next multiple of `to` (at most 64). */
hn_status hn__bytes_pad(const hn_allocator *alloc, hn__bytes *b, size_t to, hn_error *err);
/* Serialise `t` and append its bytes to `out`. */
hn_status hn__append_table(const hn_allocator *a, const hn_table *t, hn__bytes *out, hn_error *err);
/* Deserialise bytes (borrowed when `copy` is false: the table must not outlive them). */
hn_status hn__read_table(const hn_allocator *a, const void *data, size_t size, bool copy,
                         hn_table **out, hn_error *err);
/* Column `name` of t with type `type` (NULL: any) and `rows` rows, or HN_ECORRUPT naming `what`. */
hn_status hn__find_column(const hn_table *t, const char *name, const hn_type *type, int64_t rows,
                          const char *what, hn_array **out, hn_error *err);
/* The caller's callback for an event kind of the log (NULL: unset). */
hn_callback hn__event_callback(const hn_callbacks *cb, int kind);

#endif /* HN_ENGINES_REMOTE_INTERNAL_H */
