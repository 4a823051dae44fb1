/* Results of a run or map: the output table, error records and statistics. */
#include "exec_internal.h"

hn_status hn__error_table_schema(const hn_allocator *alloc, const hn_type **out, hn_error *err) {
  static const char *const names[4] = {"item", "item_path", "node", "message"};
  const hn_type *types[4] = {hn_type_int64(), hn_type_utf8(), hn_type_utf8(), hn_type_utf8()};
  return hn_type_struct_create(alloc, 4, names, types, out, err);
}

static hn_status empty_error_table(const hn_allocator *alloc, hn_table **out, hn_error *err) {
  const hn_type *schema = NULL;
  hn_status st = hn__error_table_schema(alloc, &schema, err);
  if (st == HN_OK) st = hn_table_create_empty(alloc, schema, out, err);
  hn_type_release(schema);
  return st;
}

hn_status hn__result_make(const hn_allocator *alloc, hn_table *table, hn_table *errors,
                          const hn_result_stats *stats, hn_result **out, hn_error *err) {
  hn_allocator a = hn__allocator_resolve(alloc);
  hn_status st = HN_OK;
  if (!table || !out) st = hn__error(err, HN_EINVAL, "hn__result_make: NULL table or output");
  if (st == HN_OK && !errors) st = empty_error_table(&a, &errors, err);
  hn_result *r = st == HN_OK ? hn__calloc(&a, 1, sizeof *r) : NULL;
  if (st == HN_OK && !r) st = hn__error_nomem(err, "for a result");
  if (st != HN_OK) {
    hn_table_release(table);
    hn_table_release(errors);
    return st;
  }
  r->alloc = a;
  r->table = table;
  r->errors = errors;
  if (stats) r->stats = *stats;
  *out = r;
  return HN_OK;
}

void hn_result_destroy(hn_result *result) {
  if (!result) return;
  hn_table_release(result->table);
  hn_table_release(result->errors);
  hn_allocator a = result->alloc;
  hn__free(&a, result);
}

hn_table *hn_result_table(const hn_result *result) {
  return result ? result->table : NULL;
}

hn_table *hn_result_errors(const hn_result *result) {
  return result ? result->errors : NULL;
}

hn_result_stats hn_result_get_stats(const hn_result *result) {
  hn_result_stats none = {0};
  return result ? result->stats : none;
}

hn_status hn_result_export_stream(const hn_result *result, struct ArrowArrayStream *out,
                                  hn_error *err) {
  if (!result || !out) {
    if (out) out->release = NULL;
    return hn__error(err, HN_EINVAL, "hn_result_export_stream: NULL argument");
  }
  hn_table *const tables[1] = {result->table};
  return hn_table_stream_export(result->table->schema, 1, tables, out, err);
}
