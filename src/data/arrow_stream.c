/*
 * Arrow C Stream Interface: export of a list of tables as a stream of record
 * batches, and a reader that imports the batches of a foreign stream.
 * Neither side is thread-safe (as the interface specifies).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "arrow_internal.h"

/* errno-style code of a status, as the stream callbacks return. */
static int status_errno(hn_status st) {
  switch (st) {
    case HN_OK:
      return 0;
    case HN_ENOMEM:
      return ENOMEM;
    case HN_EIO:
      return EIO;
    default:
      return EINVAL;
  }
}

/* ---- export ------------------------------------------------------------ */

typedef struct stream_private {
  hn_allocator alloc;
  const hn_type *schema; /* retained */
  int64_t n_tables;
  int64_t next;
  hn_table **tables; /* retained; points just after this header */
  hn_error error;    /* of the last failed callback */
} stream_private;

static int stream_get_schema(struct ArrowArrayStream *s, struct ArrowSchema *out) {
  stream_private *p = s->private_data;
  hn_error_reset(&p->error);
  return status_errno(hn__schema_export(&p->alloc, p->schema, "", 0, out, &p->error));
}

static int stream_get_next(struct ArrowArrayStream *s, struct ArrowArray *out) {
  stream_private *p = s->private_data;
  hn_error_reset(&p->error);
  if (p->next >= p->n_tables) {
    memset(out, 0, sizeof *out); /* release == NULL: end of stream */
    return 0;
  }
  hn_status st = hn_table_export(p->tables[p->next], NULL, out, &p->error);
  if (st == HN_OK) p->next++;
  return status_errno(st);
}

static const char *stream_get_last_error(struct ArrowArrayStream *s) {
  stream_private *p = s->private_data;
  return p->error.message[0] ? p->error.message : NULL;
}

static void stream_release(struct ArrowArrayStream *s) {
  stream_private *p = s->private_data;
  for (int64_t i = 0; i < p->n_tables; i++) hn_table_release(p->tables[i]);
  hn_type_release(p->schema);
  hn_allocator a = p->alloc;
  hn__free(&a, p);
  s->release = NULL;
  s->private_data = NULL;
}

/* Check the arguments of hn_table_stream_export; sets *schema when it was NULL. */
static hn_status check_stream_tables(const hn_type **schema, int64_t n_tables,
                                     hn_table *const *tables, hn_error *err) {
  if (n_tables < 0 || (n_tables > 0 && !tables))
    return hn__error(err, HN_EINVAL, "hn_table_stream_export: bad table count or NULL tables");
  for (int64_t i = 0; i < n_tables; i++)
    if (!tables[i]) return hn__error(err, HN_EINVAL, "stream table %lld is NULL", (long long)i);
  if (!*schema) {
    if (n_tables == 0)
      return hn__error(err, HN_EINVAL, "hn_table_stream_export: no schema and no tables");
    *schema = tables[0]->schema;
  }
  if ((*schema)->id != HN_TYPE_STRUCT)
    return hn__error(err, HN_ETYPE, "a stream schema must be a struct type, not %s",
                     hn_type_id_name((*schema)->id));
  for (int64_t i = 0; i < n_tables; i++) {
    if (!hn_type_equals(tables[i]->schema, *schema)) {
      char want[160], got[160];
      hn_type_to_string(*schema, want, sizeof want);
      hn_type_to_string(tables[i]->schema, got, sizeof got);
      return hn__error(err, HN_ETYPE, "stream table %lld has schema %s, the stream %s",
                       (long long)i, got, want);
    }
  }
  return hn__check_exportable(*schema, "", err);
}

hn_status hn_table_stream_export(const hn_type *schema, int64_t n_tables, hn_table *const *tables,
                                 struct ArrowArrayStream *out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_table_stream_export: NULL output");
  out->release = NULL;
  hn_status st = check_stream_tables(&schema, n_tables, tables, err);
  if (st != HN_OK) return st;
  hn_allocator a = n_tables > 0           ? tables[0]->alloc
                   : schema->alloc.malloc ? schema->alloc
                                          : *hn_allocator_default();
  if ((uint64_t)n_tables > (SIZE_MAX - sizeof(stream_private)) / sizeof(hn_table *))
    return hn__error_nomem(err, "for an Arrow stream");
  stream_private *p = hn__malloc(&a, sizeof *p + (size_t)n_tables * sizeof(hn_table *));
  if (!p) return hn__error_nomem(err, "for an Arrow stream");
  p->alloc = a;
  p->schema = hn_type_retain(schema);
  p->n_tables = n_tables;
  p->next = 0;
  p->tables = (hn_table **)(p + 1);
  for (int64_t i = 0; i < n_tables; i++) p->tables[i] = hn_table_retain(tables[i]);
  hn_error_reset(&p->error);
  out->get_schema = stream_get_schema;
  out->get_next = stream_get_next;
  out->get_last_error = stream_get_last_error;
  out->private_data = p;
  out->release = stream_release;
  return HN_OK;
}

/* ---- import ------------------------------------------------------------ */

struct hn_stream_reader {
  hn_allocator alloc;
  struct ArrowArrayStream stream; /* moved from the caller */
  struct ArrowSchema schema;      /* the stream's, kept to import each batch */
  const hn_type *type;
  hn_import_options options;
  int64_t batches; /* batches read so far */
  bool done;
};

/* HN_EIO quoting the producer's own message. */
static hn_status producer_error(hn_stream_reader *r, const char *call, int rc, hn_error *err) {
  const char *msg = r->stream.get_last_error ? r->stream.get_last_error(&r->stream) : NULL;
  return hn__error(err, HN_EIO, "Arrow stream %s failed with errno %d (%s): %s", call, rc,
                   strerror(rc), msg ? msg : "(no message)");
}

static hn_status reader_read_schema(hn_stream_reader *r, hn_error *err) {
  int rc = r->stream.get_schema(&r->stream, &r->schema);
  if (rc != 0) {
    r->schema.release = NULL;
    return producer_error(r, "get_schema", rc, err);
  }
  if (!r->schema.release)
    return hn__error(err, HN_EIO, "Arrow stream get_schema returned a released schema");
  hn_status st = hn_type_import(&r->alloc, &r->schema, &r->type, err);
  if (st != HN_OK) return st;
  if (r->type->id != HN_TYPE_STRUCT)
    return hn__error(err, HN_EINVAL, "Arrow stream schema must be a struct ('+s'), got '%.40s'",
                     r->schema.format);
  return HN_OK;
}

hn_status hn_stream_reader_create(const hn_allocator *alloc, struct ArrowArrayStream *stream,
                                  const hn_import_options *options, hn_stream_reader **out,
                                  hn_error *err) {
  if (!stream || !stream->release) {
    if (out) *out = NULL;
    return hn__error(err, HN_EINVAL, "hn_stream_reader_create: NULL or released stream");
  }
  struct ArrowArrayStream moved = *stream;
  stream->release = NULL;
  if (!out) {
    moved.release(&moved);
    return hn__error(err, HN_EINVAL, "hn_stream_reader_create: NULL output");
  }
  *out = NULL;
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_stream_reader *r = hn__calloc(&a, 1, sizeof *r);
  if (!r) {
    moved.release(&moved);
    return hn__error_nomem(err, "for an Arrow stream reader");
  }
  r->alloc = a;
  r->stream = moved;
  hn_import_options_init(&r->options, sizeof r->options);
  if (options && options->size >= offsetof(hn_import_options, validate_utf8) + sizeof(bool))
    r->options.validate_utf8 = options->validate_utf8;
  hn_status st = reader_read_schema(r, err);
  if (st != HN_OK) {
    hn_stream_reader_destroy(r);
    return st;
  }
  *out = r;
  return HN_OK;
}

const hn_type *hn_stream_reader_schema(const hn_stream_reader *reader) {
  return reader ? reader->type : NULL;
}

/* Prefix an import error with the batch index. */
static hn_status batch_error(hn_error *err, hn_status st, int64_t batch) {
  if (!err || st == HN_ENOMEM) return st;
  char msg[HN_ERROR_MESSAGE_MAX];
  memcpy(msg, err->message, sizeof msg);
  return hn__error(err, st, "Arrow stream batch %lld: %s", (long long)batch, msg);
}

hn_status hn_stream_reader_next(hn_stream_reader *r, hn_table **out, hn_error *err) {
  if (!r || !out) return hn__error(err, HN_EINVAL, "hn_stream_reader_next: NULL argument");
  *out = NULL;
  if (r->done) return HN_OK;
  struct ArrowArray batch;
  memset(&batch, 0, sizeof batch);
  int rc = r->stream.get_next(&r->stream, &batch);
  if (rc != 0) return producer_error(r, "get_next", rc, err);
  if (!batch.release) {
    r->done = true;
    return HN_OK;
  }
  int64_t index = r->batches++;
  hn_status st = hn_table_import(&r->alloc, &r->schema, &batch, &r->options, out, err);
  return st == HN_OK ? st : batch_error(err, st, index);
}

void hn_stream_reader_destroy(hn_stream_reader *r) {
  if (!r) return;
  if (r->schema.release) r->schema.release(&r->schema);
  if (r->stream.release) r->stream.release(&r->stream);
  hn_type_release(r->type);
  hn_allocator a = r->alloc;
  hn__free(&a, r);
}
