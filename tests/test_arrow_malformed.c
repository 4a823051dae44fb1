/*
 * A catalogue of malformed Arrow C Data inputs, hand-built from static
 * buffers. Each must be rejected with a specific status and message, and
 * the import must honour ownership: the producer's base release runs exactly
 * once (never a child's release directly), whatever the outcome.
 */
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

/* ---- fixture ----------------------------------------------------------- */

#define FX_NODES 8

typedef struct fx {
  struct ArrowSchema s[FX_NODES];
  struct ArrowSchema *sp[FX_NODES][4];
  struct ArrowArray a[FX_NODES];
  struct ArrowArray *ap[FX_NODES][4];
  const void *bufs[FX_NODES][3];
  _Alignas(8) int64_t i64[16];
  _Alignas(8) int32_t off[FX_NODES][16];
  _Alignas(8) uint8_t bytes[FX_NODES][64];
  _Alignas(8) uint8_t bits[FX_NODES][8];
  struct ArrowSchema *schema; /* what is passed to import */
  struct ArrowArray *array;
  hn_import_options options;
} fx;

static int top_releases, direct_child_releases, in_parent_release;

static void release_children(struct ArrowArray *a) {
  for (int64_t i = 0; a->children && i < a->n_children; i++)
    if (a->children[i] && a->children[i]->release) a->children[i]->release(a->children[i]);
}
static void child_release(struct ArrowArray *a) {
  if (!in_parent_release) direct_child_releases++;
  release_children(a);
  a->release = NULL;
}
static void top_release(struct ArrowArray *a) {
  top_releases++;
  in_parent_release = 1;
  release_children(a);
  in_parent_release = 0;
  a->release = NULL;
}
static void schema_release(struct ArrowSchema *s) {
  s->release = NULL;
}

/* Schema node i: format, name, n children (attach them with sch_child). */
static struct ArrowSchema *sch(fx *f, int i, const char *format, const char *name, int64_t n) {
  struct ArrowSchema s = {format, name,           NULL, ARROW_FLAG_NULLABLE, n, n ? f->sp[i] : NULL,
                          NULL,   schema_release, NULL};
  f->s[i] = s;
  return &f->s[i];
}
static void sch_child(fx *f, int parent, int k, int child) {
  f->sp[parent][k] = &f->s[child];
}

/* Array node i (node 0 is the base and owns the counting release). */
static struct ArrowArray *arr(fx *f, int i, int64_t length, int64_t null_count, int64_t offset,
                              int64_t n_buffers, int64_t n_children) {
  struct ArrowArray a = {length,
                         null_count,
                         offset,
                         n_buffers,
                         n_children,
                         f->bufs[i],
                         n_children ? f->ap[i] : NULL,
                         NULL,
                         i == 0 ? top_release : child_release,
                         NULL};
  f->a[i] = a;
  return &f->a[i];
}
static void arr_child(fx *f, int parent, int k, int child) {
  f->ap[parent][k] = &f->a[child];
}

/* int64 node i: values 0, 10, 20, ... */
static void int64_node(fx *f, int i, const char *name, int64_t length) {
  for (int k = 0; k < 16; k++) f->i64[k] = k * 10;
  sch(f, i, "l", name, 0);
  arr(f, i, length, 0, 0, 2, 0);
  f->bufs[i][1] = f->i64;
}

/* utf8 (or binary, with format "z") node i holding the given strings. */
static void strings_node(fx *f, int i, const char *format, const char *name, int n,
                         const char *const *v) {
  int32_t pos = 0;
  f->off[i][0] = 0;
  for (int k = 0; k < n; k++) {
    size_t len = strlen(v[k]);
    memcpy(f->bytes[i] + pos, v[k], len);
    pos += (int32_t)len;
    f->off[i][k + 1] = pos;
  }
  sch(f, i, format, name, 0);
  arr(f, i, n, 0, 0, 3, 0);
  f->bufs[i][1] = f->off[i];
  f->bufs[i][2] = f->bytes[i];
}

/* list<int64> node i over int64 node `child` (4 items): [[0,10], [], [20,30]] */
static void list_node(fx *f, int i, int child, const char *name) {
  int64_node(f, child, "item", 4);
  sch(f, i, "+l", name, 1);
  sch_child(f, i, 0, child);
  arr(f, i, 3, 0, 0, 2, 1);
  arr_child(f, i, 0, child);
  int32_t off[] = {0, 2, 2, 4};
  memcpy(f->off[i], off, sizeof off);
  f->bufs[i][1] = f->off[i];
}

/* struct<a: int64, b: utf8> base with 3 rows. */
static void struct_base(fx *f) {
  static const char *const words[] = {"x", "yy", "zzz"};
  int64_node(f, 1, "a", 3);
  strings_node(f, 2, "u", "b", 3, words);
  f->schema = sch(f, 0, "+s", "", 2);
  sch_child(f, 0, 0, 1);
  sch_child(f, 0, 1, 2);
  f->array = arr(f, 0, 3, 0, 0, 1, 2);
  arr_child(f, 0, 0, 1);
  arr_child(f, 0, 1, 2);
}

static void int64_base(fx *f, int64_t length) {
  int64_node(f, 0, "col", length);
  f->schema = &f->s[0];
  f->array = &f->a[0];
}

static void utf8_base(fx *f, int n, const char *const *v) {
  strings_node(f, 0, "u", "text", n, v);
  f->schema = &f->s[0];
  f->array = &f->a[0];
}

static void list_base(fx *f) {
  list_node(f, 0, 1, "tokens");
  f->schema = &f->s[0];
  f->array = &f->a[0];
}

/* ---- the cases --------------------------------------------------------- */

static void c_unknown_format(fx *f) {
  int64_base(f, 3);
  f->s[0].format = "q";
}
static void c_null_format(fx *f) {
  int64_base(f, 3);
  f->s[0].format = NULL;
}
static void c_decimal(fx *f) {
  int64_base(f, 3);
  f->s[0].format = "d:10,2,32"; /* decimal32: not supported */
}
static void c_union(fx *f) {
  int64_base(f, 3);
  f->s[0].format = "+ud:0,1";
}
static void c_timestamp_unit(fx *f) {
  int64_base(f, 3);
  f->s[0].format = "tsx:UTC";
}
static void c_fixed_binary_width(fx *f) {
  int64_base(f, 3);
  f->s[0].format = "w:0";
}
static void c_dictionary(fx *f) {
  int64_base(f, 3);
  f->s[0].format = "g"; /* a float cannot index a dictionary */
  sch(f, 5, "u", "dict", 0);
  f->s[0].dictionary = &f->s[5];
}
static void c_array_dictionary(fx *f) {
  int64_base(f, 3);
  f->a[0].dictionary = &f->a[5];
  arr(f, 5, 0, 0, 0, 2, 0);
}
static void c_unsupported_child_format(fx *f) {
  struct_base(f);
  f->s[2].format = "vq";
}
static void c_wrong_n_buffers(fx *f) {
  int64_base(f, 3);
  f->a[0].n_buffers = 3;
}
static void c_wrong_n_children(fx *f) {
  int64_base(f, 3);
  f->a[0].n_children = 1;
  f->a[0].children = f->ap[0];
  arr_child(f, 0, 0, 1);
  arr(f, 1, 0, 0, 0, 2, 0);
}
static void c_leaf_schema_children(fx *f) {
  int64_base(f, 3);
  f->s[0].n_children = 1;
  f->s[0].children = f->sp[0];
  sch_child(f, 0, 0, 1);
  sch(f, 1, "l", "x", 0);
}
static void c_negative_length(fx *f) {
  int64_base(f, 3);
  f->a[0].length = -1;
}
static void c_negative_offset(fx *f) {
  int64_base(f, 3);
  f->a[0].offset = -4;
}
static void c_offset_overflow(fx *f) {
  int64_base(f, 3);
  f->a[0].offset = INT64_MAX - 1;
}
static void c_null_count_too_big(fx *f) {
  int64_base(f, 3);
  f->a[0].null_count = 5;
}
static void c_null_count_negative(fx *f) {
  int64_base(f, 3);
  f->a[0].null_count = -2;
}
static void c_null_count_mismatch(fx *f) {
  int64_base(f, 8);
  f->bits[0][0] = 0xF5; /* two zero bits among the first 8 */
  f->bufs[0][0] = f->bits[0];
  f->a[0].null_count = 1;
}
static void c_missing_validity(fx *f) {
  int64_base(f, 3);
  f->a[0].null_count = 1;
}
static void c_missing_values(fx *f) {
  int64_base(f, 3);
  f->bufs[0][1] = NULL;
}
static void c_missing_buffers_array(fx *f) {
  int64_base(f, 3);
  f->a[0].buffers = NULL;
}
static void c_missing_offsets(fx *f) {
  static const char *const v[] = {"ab", "c"};
  utf8_base(f, 2, v);
  f->bufs[0][1] = NULL;
}
static void c_missing_data(fx *f) {
  static const char *const v[] = {"ab", "c"};
  utf8_base(f, 2, v);
  f->bufs[0][2] = NULL;
}
static void c_offsets_not_monotonic(fx *f) {
  static const char *const v[] = {"abcde", "", "xyz", "w"};
  utf8_base(f, 4, v);
  f->off[0][2] = 9; /* 0 5 9 8 9 */
}
static void c_first_offset_negative(fx *f) {
  static const char *const v[] = {"ab", "c"};
  utf8_base(f, 2, v);
  f->off[0][0] = -1;
}
static void c_last_offset_negative(fx *f) {
  static const char *const v[] = {"ab", "c"};
  utf8_base(f, 2, v);
  f->off[0][2] = -3;
}
static void c_list_offset_beyond_child(fx *f) {
  list_base(f);
  f->off[0][3] = 7; /* the child has 4 items */
}
static void c_list_child_too_short(fx *f) {
  list_base(f);
  f->a[1].length = 3; /* offsets reach 4 */
}
static void c_list_not_monotonic(fx *f) {
  list_base(f);
  f->off[0][2] = 3; /* 0 2 3 4 is fine; make it 0 2 3 1 */
  f->off[0][3] = 1;
}
static void c_nested_list_too_short(fx *f) {
  /* list<list<int64>>: the inner list's offsets reach past its child. */
  list_node(f, 1, 2, "item");
  f->schema = sch(f, 0, "+l", "nested", 1);
  sch_child(f, 0, 0, 1);
  f->array = arr(f, 0, 1, 0, 0, 2, 1);
  arr_child(f, 0, 0, 1);
  int32_t off[] = {0, 3};
  memcpy(f->off[0], off, sizeof off);
  f->bufs[0][1] = f->off[0];
  f->off[1][3] = 6;
}
static void c_list_no_child_schema(fx *f) {
  list_base(f);
  f->s[0].n_children = 0;
  f->s[0].children = NULL;
}
static void c_struct_child_too_short(fx *f) {
  struct_base(f);
  f->a[1].length = 2;
}
static void c_struct_offset_child_too_short(fx *f) {
  struct_base(f);
  f->a[0].offset = 1; /* needs 4 child rows, the children have 3 */
}
static void c_children_count_mismatch(fx *f) {
  struct_base(f);
  f->a[0].n_children = 1;
}
static void c_null_children_pointer(fx *f) {
  struct_base(f);
  f->a[0].children = NULL;
}
static void c_null_child_array(fx *f) {
  struct_base(f);
  f->ap[0][1] = NULL;
}
static void c_released_child_array(fx *f) {
  struct_base(f);
  f->a[2].release = NULL;
}
static void c_null_child_schema(fx *f) {
  struct_base(f);
  f->sp[0][1] = NULL;
}
static void c_null_schema_children(fx *f) {
  struct_base(f);
  f->s[0].children = NULL;
}
static void c_negative_schema_children(fx *f) {
  struct_base(f);
  f->s[0].n_children = -1;
}
static void c_unnamed_field(fx *f) {
  struct_base(f);
  f->s[2].name = "";
}
static void c_duplicate_fields(fx *f) {
  struct_base(f);
  f->s[2].name = "a";
}
static void c_released_schema(fx *f) {
  int64_base(f, 3);
  f->s[0].release = NULL;
}
static void c_null_schema(fx *f) {
  int64_base(f, 3);
  f->schema = NULL;
}
static void c_released_input(fx *f) {
  int64_base(f, 3);
  f->a[0].release = NULL;
}
static void c_too_deep(fx *f) {
  /* 70 nested "+l" schemas, all pointing at the next one; the array never gets read. */
  static struct ArrowSchema deep[70];
  static struct ArrowSchema *next[70];
  for (int i = 0; i < 70; i++) {
    next[i] = &deep[i + 1 < 70 ? i + 1 : i];
    struct ArrowSchema s = {"+l", "d", NULL, 0, 1, &next[i], NULL, schema_release, NULL};
    deep[i] = s;
  }
  int64_base(f, 3);
  f->schema = &deep[0];
}
static void invalid_utf8(fx *f, const char *bad) {
  const char *v[] = {"fine", bad, "also fine"};
  utf8_base(f, 3, v);
}
static void c_utf8_overlong(fx *f) {
  invalid_utf8(f, "\xc0\xaf");
}
static void c_utf8_overlong3(fx *f) {
  invalid_utf8(f, "ab\xe0\x80\x80");
}
static void c_utf8_surrogate(fx *f) {
  invalid_utf8(f, "\xed\xb2\x80");
}
static void c_utf8_truncated(fx *f) {
  invalid_utf8(f, "ok\xe2\x82");
}
static void c_utf8_too_big(fx *f) {
  invalid_utf8(f, "\xf4\x90\x80\x80");
}
static void c_utf8_stray_continuation(fx *f) {
  invalid_utf8(f, "\xbf");
}
static void c_utf8_unchecked(fx *f) {
  invalid_utf8(f, "\xc0\xaf");
  f->options.validate_utf8 = false;
}
static void c_binary_any_bytes(fx *f) {
  static const char *const v[] = {"\xc0\xaf", "\xff\xfe", "\xed\xa0\x80"};
  strings_node(f, 0, "z", "blob", 3, v);
  f->schema = &f->s[0];
  f->array = &f->a[0];
}
static void c_null_count_computed(fx *f) {
  int64_base(f, 8);
  f->bits[0][0] = 0xF5;
  f->bufs[0][0] = f->bits[0];
  f->a[0].null_count = -1; /* computed: 2 nulls */
}
static void c_empty_without_offsets(fx *f) {
  static const char *const v[] = {""};
  utf8_base(f, 0, v);
  f->bufs[0][1] = NULL;
  f->bufs[0][2] = NULL;
}
static void c_slice_ignores_outside(fx *f) {
  /* Offsets before the slice are garbage; only [offset, offset + length] counts. */
  static const char *const v[] = {"ab", "cd", "ef"};
  utf8_base(f, 3, v);
  f->off[0][0] = 77;
  f->a[0].offset = 1;
  f->a[0].length = 2;
}
static void c_table_not_struct(fx *f) {
  int64_base(f, 3);
}
static void c_table_null_rows(fx *f) {
  struct_base(f);
  f->bits[0][0] = 0x5; /* row 1 is null */
  f->bufs[0][0] = f->bits[0];
  f->a[0].null_count = 1;
}

/*
 * Rows that no buffer backs (issue 11, item 6): a struct without fields or
 * bitmap, and a record batch without columns, may declare 2^59 - 1 rows in
 * a few bytes. At most INT32_MAX are accepted; the message names the column.
 */
#define HUGE_ROWS INT64_C(576460752303423487)

static void empty_struct_base(fx *f, int64_t length) {
  f->schema = sch(f, 0, "+s", "col", 0);
  f->array = arr(f, 0, length, 0, 0, 1, 0);
}
static void c_empty_struct_huge(fx *f) {
  empty_struct_base(f, HUGE_ROWS);
}
static void c_empty_struct_over_limit(fx *f) {
  empty_struct_base(f, (int64_t)INT32_MAX + 1);
}
static void c_empty_struct_at_limit(fx *f) {
  empty_struct_base(f, INT32_MAX);
}
static void c_nested_empty_struct_huge(fx *f) {
  f->schema = sch(f, 0, "+s", "col", 1);
  sch(f, 1, "+s", "s", 0);
  sch_child(f, 0, 0, 1);
  f->array = arr(f, 0, HUGE_ROWS, 0, 0, 1, 1);
  arr(f, 1, HUGE_ROWS, 0, 0, 1, 0);
  arr_child(f, 0, 0, 1);
}
static void c_table_no_columns_huge(fx *f) {
  f->schema = sch(f, 0, "+s", "", 0);
  f->array = arr(f, 0, HUGE_ROWS, 0, 0, 1, 0);
}
static void c_table_no_columns_at_limit(fx *f) {
  f->schema = sch(f, 0, "+s", "", 0);
  f->array = arr(f, 0, INT32_MAX, 0, 0, 1, 0);
}
static void c_table_empty_struct_column_huge(fx *f) {
  f->schema = sch(f, 0, "+s", "", 1);
  sch(f, 1, "+s", "e", 0);
  sch_child(f, 0, 0, 1);
  f->array = arr(f, 0, HUGE_ROWS, 0, 0, 1, 1);
  arr(f, 1, HUGE_ROWS, 0, 0, 1, 0);
  arr_child(f, 0, 0, 1);
}

/* ---- runner ------------------------------------------------------------ */

typedef struct mcase {
  const char *name;
  void (*setup)(fx *);
  hn_status status;
  const char *message; /* substring of err.message; NULL when status is HN_OK */
  int releases;        /* expected calls of the base release */
  bool table;          /* hn_table_import instead of hn_array_import */
} mcase;

static const mcase cases[] = {
    {"unknown_format", c_unknown_format, HN_EUNSUPPORTED,
     "column 'col': unsupported Arrow format 'q'", 1, false},
    {"null_format", c_null_format, HN_EINVAL, "schema has no format", 1, false},
    {"decimal", c_decimal, HN_EUNSUPPORTED, "format 'd:10,2,32'", 1, false},
    {"union", c_union, HN_EUNSUPPORTED, "format '+ud:0,1'", 1, false},
    {"timestamp_unit", c_timestamp_unit, HN_EUNSUPPORTED, "format 'tsx:UTC'", 1, false},
    {"fixed_binary_width", c_fixed_binary_width, HN_EUNSUPPORTED, "format 'w:0'", 1, false},
    {"dictionary", c_dictionary, HN_EINVAL, "dictionary index format 'g' is not an integer", 1,
     false},
    {"array_dictionary", c_array_dictionary, HN_EINVAL, "array has a dictionary", 1, false},
    {"unsupported_child_format", c_unsupported_child_format, HN_EUNSUPPORTED,
     "column 'b': unsupported Arrow format 'vq'", 1, false},
    {"wrong_n_buffers", c_wrong_n_buffers, HN_EINVAL, "int64 array needs 2 buffers, n_buffers is 3",
     1, false},
    {"wrong_n_children", c_wrong_n_children, HN_EINVAL, "array has 1 children, the schema has 0", 1,
     false},
    {"leaf_schema_children", c_leaf_schema_children, HN_EINVAL,
     "format 'l' needs 0 schema children, got 1", 1, false},
    {"negative_length", c_negative_length, HN_EINVAL, "negative length -1", 1, false},
    {"negative_offset", c_negative_offset, HN_EINVAL, "offset -4", 1, false},
    {"offset_overflow", c_offset_overflow, HN_EINVAL, "is too large", 1, false},
    {"null_count_too_big", c_null_count_too_big, HN_EINVAL,
     "null_count 5 out of range for length 3", 1, false},
    {"null_count_negative", c_null_count_negative, HN_EINVAL, "null_count -2 out of range", 1,
     false},
    {"null_count_mismatch", c_null_count_mismatch, HN_EINVAL,
     "null_count 1 does not match the validity bitmap (2 nulls)", 1, false},
    {"missing_validity", c_missing_validity, HN_EINVAL, "no validity bitmap", 1, false},
    {"missing_values", c_missing_values, HN_EINVAL, "missing values buffer", 1, false},
    {"missing_buffers_array", c_missing_buffers_array, HN_EINVAL, "buffers pointer is NULL", 1,
     false},
    {"missing_offsets", c_missing_offsets, HN_EINVAL, "column 'text': missing offsets buffer", 1,
     false},
    {"missing_data", c_missing_data, HN_EINVAL, "missing data buffer", 1, false},
    {"offsets_not_monotonic", c_offsets_not_monotonic, HN_EINVAL,
     "offsets not monotonic at index 3 (9 > 8)", 1, false},
    {"first_offset_negative", c_first_offset_negative, HN_EINVAL, "first offset -1 is negative", 1,
     false},
    {"last_offset_negative", c_last_offset_negative, HN_EINVAL,
     "offsets not monotonic at index 2 (2 > -3)", 1, false},
    {"list_offset_beyond_child", c_list_offset_beyond_child, HN_EINVAL,
     "column 'tokens': last offset 7 exceeds the child length (4)", 1, false},
    {"list_child_too_short", c_list_child_too_short, HN_EINVAL,
     "last offset 4 exceeds the child length (3)", 1, false},
    {"list_not_monotonic", c_list_not_monotonic, HN_EINVAL,
     "column 'tokens': offsets not monotonic at index 3 (3 > 1)", 1, false},
    {"nested_list_too_short", c_nested_list_too_short, HN_EINVAL,
     "column 'nested[]': last offset 6 exceeds the child length (4)", 1, false},
    {"list_no_child_schema", c_list_no_child_schema, HN_EINVAL,
     "format '+l' needs 1 schema children, got 0", 1, false},
    {"struct_child_too_short", c_struct_child_too_short, HN_EINVAL,
     "column 'a': struct field has 2 rows, the struct needs 3", 1, false},
    {"struct_offset_child_too_short", c_struct_offset_child_too_short, HN_EINVAL,
     "the struct needs 4", 1, false},
    {"children_count_mismatch", c_children_count_mismatch, HN_EINVAL,
     "array has 1 children, the schema has 2", 1, false},
    {"null_children_pointer", c_null_children_pointer, HN_EINVAL, "children pointer is NULL", 1,
     false},
    {"null_child_array", c_null_child_array, HN_EINVAL, "column 'b': missing array (NULL child)", 1,
     false},
    {"released_child_array", c_released_child_array, HN_EINVAL,
     "column 'b': array has been released", 1, false},
    {"null_child_schema", c_null_child_schema, HN_EINVAL, "struct field 1 has no schema", 1, false},
    {"null_schema_children", c_null_schema_children, HN_EINVAL, "schema children pointer is NULL",
     1, false},
    {"negative_schema_children", c_negative_schema_children, HN_EINVAL, "negative n_children -1", 1,
     false},
    {"unnamed_field", c_unnamed_field, HN_EINVAL, "struct field 1 has no name", 1, false},
    {"duplicate_fields", c_duplicate_fields, HN_EINVAL, "'a' appears twice", 1, false},
    {"released_schema", c_released_schema, HN_EINVAL, "schema has been released", 1, false},
    {"null_schema", c_null_schema, HN_EINVAL, "missing schema", 1, false},
    {"released_input", c_released_input, HN_EINVAL, "array has been released", 0, false},
    {"too_deep", c_too_deep, HN_EUNSUPPORTED, "nested more than 64 levels", 1, false},
    {"utf8_overlong", c_utf8_overlong, HN_EINVAL, "column 'text': invalid UTF-8 in row 1 at byte 0",
     1, false},
    {"utf8_overlong3", c_utf8_overlong3, HN_EINVAL, "invalid UTF-8 in row 1 at byte 2", 1, false},
    {"utf8_surrogate", c_utf8_surrogate, HN_EINVAL, "invalid UTF-8 in row 1 at byte 0", 1, false},
    {"utf8_truncated", c_utf8_truncated, HN_EINVAL, "invalid UTF-8 in row 1 at byte 2", 1, false},
    {"utf8_too_big", c_utf8_too_big, HN_EINVAL, "invalid UTF-8 in row 1", 1, false},
    {"utf8_stray_continuation", c_utf8_stray_continuation, HN_EINVAL, "invalid UTF-8 in row 1", 1,
     false},
    {"utf8_unchecked", c_utf8_unchecked, HN_OK, NULL, 1, false},
    {"binary_any_bytes", c_binary_any_bytes, HN_OK, NULL, 1, false},
    {"null_count_computed", c_null_count_computed, HN_OK, NULL, 1, false},
    {"empty_without_offsets", c_empty_without_offsets, HN_OK, NULL, 1, false},
    {"slice_ignores_outside", c_slice_ignores_outside, HN_OK, NULL, 1, false},
    {"table_not_struct", c_table_not_struct, HN_EINVAL,
     "a table needs a struct ('+s') schema, got format 'l'", 1, true},
    {"table_null_rows", c_table_null_rows, HN_EINVAL, "1 null rows", 1, true},
    {"empty_struct_huge", c_empty_struct_huge, HN_EINVAL,
     "column 'col': 576460752303423487 rows with no buffer", 1, false},
    {"empty_struct_over_limit", c_empty_struct_over_limit, HN_EINVAL,
     "column 'col': 2147483648 rows", 1, false},
    {"empty_struct_at_limit", c_empty_struct_at_limit, HN_OK, NULL, 1, false},
    {"nested_empty_struct_huge", c_nested_empty_struct_huge, HN_EINVAL,
     "column 'col.s': 576460752303423487 rows", 1, false},
    {"table_no_columns_huge", c_table_no_columns_huge, HN_EINVAL,
     "record batch with no columns declares 576460752303423487 rows", 1, true},
    {"table_no_columns_at_limit", c_table_no_columns_at_limit, HN_OK, NULL, 1, true},
    {"table_empty_struct_column_huge", c_table_empty_struct_column_huge, HN_EINVAL,
     "column 'e': 576460752303423487 rows", 1, true},
};

static void run_case(void **state) {
  const mcase *c = *state;
  fx *f = calloc(1, sizeof *f);
  assert_non_null(f);
  hn_import_options_init(&f->options, sizeof f->options);
  c->setup(f);
  top_releases = direct_child_releases = 0;
  hn_test_alloc ta;
  hn_test_alloc_init(&ta, 0);
  hn_error err;
  hn_error_reset(&err);
  hn_array *out = NULL;
  hn_table *table = NULL;
  hn_status st = c->table
                     ? hn_table_import(&ta.alloc, f->schema, f->array, &f->options, &table, &err)
                     : hn_array_import(&ta.alloc, f->schema, f->array, &f->options, &out, &err);
  if (st != c->status || (c->message && !strstr(err.message, c->message)))
    print_error("case %s: got %s '%s', expected %s '%s'\n", c->name, hn_status_str(st),
                st ? err.message : "", hn_status_str(c->status), c->message ? c->message : "");
  assert_int_equal(st, c->status);
  if (st != HN_OK) {
    assert_int_equal(err.code, st);
    assert_non_null(strstr(err.message, c->message));
    assert_null(out);
    assert_null(table);
  } else {
    assert_true(out || table);
    if (out) HN_CHECK(hn_array_validate(out, false, &err), &err);
  }
  assert_null(f->array->release); /* moved from */
  hn_array_release(out);
  hn_table_release(table);
  assert_int_equal(top_releases, c->releases);
  assert_int_equal(direct_child_releases, 0);
  assert_int_equal(ta.live, 0);
  free(f);
}

int main(void) {
  enum { N = sizeof cases / sizeof cases[0] };
  struct CMUnitTest tests[N];
  for (size_t i = 0; i < N; i++) {
    struct CMUnitTest t = {cases[i].name, run_case, NULL, NULL, (void *)&cases[i]};
    tests[i] = t;
  }
  return _cmocka_run_group_tests("arrow_malformed", tests, N, NULL, NULL);
}
