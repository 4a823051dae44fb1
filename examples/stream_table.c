/*
 * Build a table (id: int64, text: utf8, tokens: list<utf8>), export it as an
 * Arrow C stream of record batches, and read the stream back the way any
 * Arrow consumer would: get_schema, then get_next until release == NULL.
 */
#include <stdio.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

#define CHECK(call)                                                            \
  do {                                                                         \
    hn_status st_ = (call);                                                    \
    if (st_ != HN_OK) {                                                        \
      fprintf(stderr, "%s: %s: %s\n", #call, hn_status_str(st_), err.message); \
      return 1;                                                                \
    }                                                                          \
  } while (0)

/* Batch `b` of `rows` rows: ids, "Hello World {i}" and its tokens. */
static int build_batch(int b, int rows, hn_table **out) {
  hn_error err;
  hn_error_reset(&err);
  const hn_type *tokens_type = NULL;
  CHECK(hn_type_list_create(NULL, hn_type_utf8(), &tokens_type, &err));
  hn_builder *ids = NULL, *text = NULL, *tokens = NULL;
  CHECK(hn_builder_create(NULL, hn_type_int64(), &ids, &err));
  CHECK(hn_builder_create(NULL, hn_type_utf8(), &text, &err));
  CHECK(hn_builder_create(NULL, tokens_type, &tokens, &err));
  hn_type_release(tokens_type);
  for (int r = 0; r < rows; r++) {
    int i = b * rows + r;
    char s[64];
    int n = snprintf(s, sizeof s, "Hello World %d", i);
    CHECK(hn_builder_append_int64(ids, i));
    CHECK(hn_builder_append_str(text, s, n));
    for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " "))
      CHECK(hn_builder_append_str(hn_builder_child(tokens, 0), tok, -1));
    CHECK(hn_builder_finish_element(tokens));
  }
  hn_array *cols[3] = {NULL, NULL, NULL};
  CHECK(hn_builder_finish(ids, &cols[0], &err));
  CHECK(hn_builder_finish(text, &cols[1], &err));
  CHECK(hn_builder_finish(tokens, &cols[2], &err));
  hn_builder_destroy(ids);
  hn_builder_destroy(text);
  hn_builder_destroy(tokens);
  const char *names[3] = {"id", "text", "tokens"};
  CHECK(hn_table_create(NULL, 3, names, cols, out, &err));
  for (int c = 0; c < 3; c++) hn_array_release(cols[c]); /* the table holds them */
  return 0;
}

int main(void) {
  enum { BATCHES = 3, ROWS = 4 };
  hn_error err;
  hn_error_reset(&err);
  hn_table *tables[BATCHES];
  for (int b = 0; b < BATCHES; b++)
    if (build_batch(b, ROWS, &tables[b]) != 0) return 1;

  struct ArrowArrayStream stream;
  CHECK(hn_table_stream_export(NULL, BATCHES, tables, &stream, &err));
  for (int b = 0; b < BATCHES; b++) hn_table_release(tables[b]); /* the stream holds them */

  /* Consumer side: plain Arrow C Stream calls. */
  struct ArrowSchema schema;
  if (stream.get_schema(&stream, &schema) != 0) {
    fprintf(stderr, "get_schema: %s\n", stream.get_last_error(&stream));
    return 1;
  }
  printf("schema %s with %lld fields:", schema.format, (long long)schema.n_children);
  for (int64_t i = 0; i < schema.n_children; i++)
    printf(" %s(%s)", schema.children[i]->name, schema.children[i]->format);
  printf("\n");
  int64_t total_rows = 0, batches = 0, token_count = 0;
  for (;;) {
    struct ArrowArray batch;
    int rc = stream.get_next(&stream, &batch);
    if (rc != 0) {
      fprintf(stderr, "get_next: %s\n", stream.get_last_error(&stream));
      return 1;
    }
    if (batch.release == NULL) break; /* end of stream */
    const struct ArrowArray *tokens = batch.children[2];
    const int32_t *offsets = (const int32_t *)tokens->buffers[1];
    token_count += offsets[tokens->offset + tokens->length] - offsets[tokens->offset];
    const int64_t *ids = (const int64_t *)batch.children[0]->buffers[1];
    printf("batch %lld: %lld rows, ids %lld..%lld\n", (long long)batches, (long long)batch.length,
           (long long)ids[0], (long long)ids[batch.length - 1]);
    total_rows += batch.length;
    batches++;
    batch.release(&batch);
  }
  schema.release(&schema);
  stream.release(&stream);
  printf("read %lld rows in %lld batches, %lld tokens\n", (long long)total_rows, (long long)batches,
         (long long)token_count);
  return total_rows == BATCHES * ROWS && token_count == 3 * BATCHES * ROWS ? 0 : 1;
}
