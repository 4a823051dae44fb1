/*
 * The builder's handle and the helpers shared by builder.c (creation,
 * appends of values, finish) and builder_nested.c (closing nested
 * elements, datums, roll-back, the live view). Not installed.
 */
#ifndef HN_BUILDER_INTERNAL_H
#define HN_BUILDER_INTERNAL_H

#include "data_internal.h"

/* struct hn_builder is in data_internal.h: the engines read its live view inline. */

/* Record the message of a failure ("fmt" with one string) and return st. */
hn_status hn__builder_fail(hn_builder *b, hn_status st, const char *fmt, const char *arg);
/* HN_ETYPE: `call` does not suit this builder's type. */
hn_status hn__builder_wrong_type(hn_builder *b, const char *call);
/* Room for `extra` more rows in the bitmap (if any) and values/offsets. */
hn_status hn__builder_reserve_rows(hn_builder *b, int64_t extra);

/* Offset i of a builder with offsets. */
static inline int64_t hn__builder_offset(const hn_builder *b, int64_t i) {
  if (!b->values) return 0;
  if (b->off_width == 8) return ((const int64_t *)(const void *)b->values->data)[i];
  return ((const int32_t *)(const void *)b->values->data)[i];
}

static inline void hn__builder_set_offset(hn_builder *b, int64_t i, int64_t v) {
  if (b->off_width == 8)
    ((int64_t *)(void *)b->values->data)[i] = v;
  else
    ((int32_t *)(void *)b->values->data)[i] = (int32_t)v;
}

/* Mark the row about to be appended valid (only needed once a bitmap exists). */
static inline void hn__builder_mark_valid(hn_builder *b) {
  if (b->validity) hn_bit_set(b->validity->data, b->length);
}

/* Child rows that `rows` rows of a list-like builder account for. */
static inline int64_t hn__builder_child_end(const hn_builder *b, int64_t rows) {
  if (b->layout == HN__L_FIXED_LIST) return rows * b->type->width;
  return hn__builder_offset(b, rows);
}

#endif /* HN_BUILDER_INTERNAL_H */
