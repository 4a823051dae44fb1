/* The parent's side of the batch protocol: a batch's mapped inputs, and the broadcast inputs, as
 * tables. */
#include "remote_internal.h"

/* Rows item / stride % length of `src` for items [first, first+count), gathered. */
static hn_status gather(const hn_allocator *a, const hn__src *src, int64_t first, int64_t count,
                        hn_array **out, hn_error *err) {
  int64_t *idx = hn__calloc(a, (size_t)(count ? count : 1), sizeof *idx);
  if (!idx) return hn__error_nomem(err, "gathering a batch");
  for (int64_t k = 0; k < count; k++)
    idx[k] = hn__map_row(HN_MAP_PRODUCT, first + k, src->stride, src->length);
  hn_status st = hn__array_take(a, src->column->type, src->column, idx, NULL, count, out, err);
  hn__free(a, idx);
  return st;
}

/* Where a table goes: appended to `bytes`, or serialised into a new `*buffer`. */
typedef struct sink {
  hn__bytes *bytes;
  hn_buffer **buffer;
} sink;

/* A table of the given plan inputs' columns (taken, also on failure), serialised into `out`. */
static hn_status encode_columns(const hn__call *x, int64_t n, const char **names, hn_array **cols,
                                sink out, hn_error *err) {
  hn_table *t = NULL;
  hn_status st = hn_table_create(&x->alloc, n, names, cols, &t, err);
  for (int64_t i = 0; i < n; i++) hn_array_release(cols[i]);
  if (st == HN_OK)
    st = out.bytes ? hn__append_table(&x->alloc, t, out.bytes, err)
                   : hn_table_serialize(t, &x->alloc, out.buffer, err);
  hn_table_release(t);
  return st;
}

/*
 * One serialised table of the plan inputs whose source is `kind`: MAPPED,
 * rows [first, first+count) (zip: a slice; product: gathered); CONST, the
 * one value of each.
 */
static hn_status encode_sources(const hn__call *x, hn__src_kind kind, int64_t first, int64_t count,
                                sink out, hn_error *err) {
  const hn_plan *plan = x->plan;
  const hn_allocator *a = &x->alloc;
  size_t n_in = (size_t)(plan->n_inputs ? plan->n_inputs : 1);
  const char **names = hn__calloc(a, n_in, sizeof *names);
  hn_array **cols = hn__calloc(a, n_in, sizeof *cols);
  if (!names || !cols) {
    hn__free(a, (void *)names);
    hn__free(a, cols);
    return hn__error_nomem(
        err, kind == HN__SRC_MAPPED ? "encoding a batch" : "encoding broadcast inputs");
  }
  hn_status st = HN_OK;
  int64_t n = 0;
  for (int64_t q = 0; q < plan->n_inputs && st == HN_OK; q++) {
    const hn__src *src = &x->srcs[q];
    if (src->kind != kind) continue;
    names[n] = plan->input_names[q];
    if (kind == HN__SRC_CONST)
      st = hn_array_slice(src->array, src->row, 1, &cols[n], err);
    else if (x->zip)
      st = hn_array_slice((hn_array *)src->column, first, count, &cols[n], err);
    else
      st = gather(a, src, first, count, &cols[n], err);
    if (st == HN_OK) n++;
  }
  if (st == HN_OK) {
    st = encode_columns(x, n, names, cols, out, err);
  } else {
    for (int64_t i = 0; i < n; i++) hn_array_release(cols[i]);
  }
  hn__free(a, (void *)names);
  hn__free(a, cols);
  return st;
}

static hn_status check_range(const hn__call *x, int64_t first, int64_t count, hn_error *err) {
  if (first < 0 || count < 0 || first > x->n_items - count)
    return hn__error(err, HN_ERANGE, "batch [%lld, %lld) outside the %lld items", (long long)first,
                     (long long)(first + count), (long long)x->n_items);
  return HN_OK;
}

hn_status hn__batch_encode(const hn__call *x, int64_t first, int64_t count, hn__bytes *out,
                           hn_error *err) {
  hn_status st = check_range(x, first, count, err);
  return st != HN_OK ? st : encode_sources(x, HN__SRC_MAPPED, first, count, (sink){out, NULL}, err);
}

hn_status hn__batch_encode_buffer(const hn__call *x, int64_t first, int64_t count, hn_buffer **out,
                                  hn_error *err) {
  *out = NULL;
  hn_status st = check_range(x, first, count, err);
  return st != HN_OK ? st : encode_sources(x, HN__SRC_MAPPED, first, count, (sink){NULL, out}, err);
}

hn_status hn__consts_encode(const hn__call *x, hn__bytes *out, hn_error *err) {
  return encode_sources(x, HN__SRC_CONST, 0, 1, (sink){out, NULL}, err);
}
