/*
 * The few functions of DuckDB's C API (duckdb.h, documented at
 * duckdb.org/docs/api/c) that the DuckDB tests call, declared here because
 * the npm package that ships libduckdb.so has no header, and loaded with
 * dlopen so that the tests build and skip cleanly where DuckDB is absent.
 * Handles are opaque pointers; duckdb_result is the documented struct.
 */
#ifndef HN_TEST_DUCKDB_LOADER_H
#define HN_TEST_DUCKDB_LOADER_H

#include <stdbool.h>
#include <stdint.h>

typedef enum { DuckDBSuccess = 0, DuckDBError = 1 } duckdb_state;
typedef uint64_t idx_t;
typedef void *duckdb_database;
typedef void *duckdb_connection;
typedef void *duckdb_arrow;        /* a query result read as Arrow */
typedef void *duckdb_arrow_schema; /* an ArrowSchema *, as the API passes it */
typedef void *duckdb_arrow_array;  /* an ArrowArray * */
typedef void *duckdb_arrow_stream; /* an ArrowArrayStream * */

typedef struct duckdb_result {
  idx_t deprecated_column_count;
  idx_t deprecated_row_count;
  idx_t deprecated_rows_changed;
  void *deprecated_columns;
  char *deprecated_error_message;
  void *internal_data;
} duckdb_result;

typedef struct hn_duckdb {
  void *lib;
  duckdb_state (*open)(const char *path, duckdb_database *out);
  void (*close)(duckdb_database *db);
  duckdb_state (*connect)(duckdb_database db, duckdb_connection *out);
  void (*disconnect)(duckdb_connection *con);
  duckdb_state (*query)(duckdb_connection con, const char *sql, duckdb_result *out);
  const char *(*result_error)(duckdb_result *result);
  void (*destroy_result)(duckdb_result *result);
  duckdb_state (*query_arrow)(duckdb_connection con, const char *sql, duckdb_arrow *out);
  duckdb_state (*query_arrow_schema)(duckdb_arrow result, duckdb_arrow_schema *out);
  duckdb_state (*query_arrow_array)(duckdb_arrow result, duckdb_arrow_array *out);
  const char *(*query_arrow_error)(duckdb_arrow result);
  void (*destroy_arrow)(duckdb_arrow *result);
  duckdb_state (*arrow_scan)(duckdb_connection con, const char *table, duckdb_arrow_stream stream);
} hn_duckdb;

/*
 * Load libduckdb.so: from $HN_DUCKDB_LIB, else from `default_path`. On
 * failure returns false and writes why into `why` (for the skip message).
 */
bool hn_duckdb_load(hn_duckdb *d, const char *default_path, char *why, int cap);
void hn_duckdb_unload(hn_duckdb *d);

#endif
