/*
 * libFuzzer target for hn_array_import.
 *
 * The input is decoded into an ArrowSchema / ArrowArray tree (formats from a
 * small table, bounded lengths and offsets, header fields sometimes broken on
 * purpose, buffer contents from the input). The C Data Interface carries no
 * buffer sizes, so the importer has to trust that buffers hold what the
 * layout needs for offset + length; every buffer here is allocated exactly
 * that large (utf8/binary data: as large as the largest offset present), so
 * AddressSanitizer catches any read beyond the promise. The producer frees
 * its memory in release, which catches use after release.
 *
 * Oracles: no crash or sanitizer report; the base release runs exactly once;
 * an accepted array validates, reads back through the accessors, and survives
 * an export → import round trip unchanged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

#define MAX_DEPTH 4
#define MAX_KIDS 4

typedef struct input {
  const uint8_t *p;
  size_t n;
} input;

static uint8_t u8(input *in) {
  if (!in->n) return 0;
  in->n--;
  return *in->p++;
}

static void fill(input *in, uint8_t *dst, size_t n, bool ascii) {
  for (size_t i = 0; i < n; i++) dst[i] = ascii ? (uint8_t)(u8(in) & 0x7F) : u8(in);
}

/* ---- producer side: release frees what the node owns --------------------- */

typedef struct array_node {
  void *mem[3];
  const void *buffers[MAX_KIDS + 1]; /* room for a wrong n_buffers */
  struct ArrowArray *kid_ptrs[MAX_KIDS + 1];
  struct ArrowArray kids[MAX_KIDS + 1];
  int64_t n_kids; /* children actually built */
  bool base;
} array_node;

typedef struct schema_node {
  struct ArrowSchema *kid_ptrs[MAX_KIDS + 1];
  struct ArrowSchema kids[MAX_KIDS + 1];
  int64_t n_kids;
} schema_node;

static int base_releases;

static void array_release(struct ArrowArray *a) {
  array_node *p = a->private_data;
  for (int64_t i = 0; i < p->n_kids; i++)
    if (p->kids[i].release) p->kids[i].release(&p->kids[i]);
  if (p->base) base_releases++;
  for (int i = 0; i < 3; i++) free(p->mem[i]);
  free(p);
  a->release = NULL;
}

static void schema_release(struct ArrowSchema *s) {
  schema_node *p = s->private_data;
  for (int64_t i = 0; i < p->n_kids; i++)
    if (p->kids[i].release) p->kids[i].release(&p->kids[i]);
  free(p);
  s->release = NULL;
}

/* A dictionary that is never read: its presence alone must be refused. */
static struct ArrowSchema dict_schema = {"u", NULL, NULL, 0, 0, NULL, NULL, NULL, NULL};
static struct ArrowArray dict_array;

/* ---- decoding ------------------------------------------------------------ */

static const char *const formats[] = {"b", "l", "f",  "g",  "u", "z", "+l", "+s",
                                      "l", "u", "+l", "+s", "i", "U", "+L", "n"};
static const char *const names[] = {"f0", "f1", "f2", "f3"};

static bool is_var(const char *f) {
  return !strcmp(f, "u") || !strcmp(f, "z");
}
static bool is_list(const char *f) {
  return !strcmp(f, "+l");
}
static bool is_struct(const char *f) {
  return !strcmp(f, "+s");
}

static int64_t expected_buffers(const char *f) {
  return is_var(f) ? 3 : is_struct(f) ? 1 : 2;
}

static void *alloc_buffer(array_node *p, int slot, size_t size) {
  p->mem[slot] = malloc(size ? size : 1);
  if (!p->mem[slot]) abort();
  return p->mem[slot];
}

/* Offsets: mostly non-decreasing with small steps, sometimes perturbed or raw. */
static int32_t *gen_offsets(input *in, array_node *p, int64_t end, int32_t *max_out) {
  int32_t *off = alloc_buffer(p, 1, (size_t)(end + 1) * 4);
  uint8_t mode = u8(in) % 4;
  int32_t v = u8(in) % 3;
  for (int64_t i = 0; i <= end; i++) {
    if (mode == 3) {
      uint8_t lo = u8(in), hi = u8(in);
      off[i] = (int16_t)(lo | hi << 8);
    } else {
      off[i] = v;
      v += u8(in) % 5;
    }
  }
  if (mode == 2) off[u8(in) % (end + 1)] = (int8_t)u8(in);
  int32_t max = 0;
  for (int64_t i = 0; i <= end; i++)
    if (off[i] > max) max = off[i];
  *max_out = max;
  return off;
}

static void gen(input *in, int depth, int64_t want_len, bool base, const char *name,
                struct ArrowSchema *s, struct ArrowArray *a);

static void gen_children(input *in, int depth, const char *format, int64_t end, int32_t max_off,
                         schema_node *sp, array_node *ap) {
  int64_t n = is_list(format) ? 1 : u8(in) % (MAX_KIDS + 1);
  for (int64_t i = 0; i < n; i++) {
    const char *name = is_list(format) ? "item" : names[i];
    if (!is_list(format) && u8(in) == 0xFF) name = names[0]; /* sometimes a duplicate */
    gen(in, depth + 1, is_list(format) ? max_off : end, false, name, &sp->kids[i], &ap->kids[i]);
    sp->kid_ptrs[i] = &sp->kids[i];
    ap->kid_ptrs[i] = &ap->kids[i];
  }
  sp->n_kids = ap->n_kids = n;
}

/* Fill buffers[1..2] for the format; returns the largest offset (lists). */
static int32_t gen_values(input *in, const char *f, int64_t end, array_node *p) {
  int32_t max_off = 0;
  if (is_struct(f)) return 0;
  if (is_var(f) || is_list(f)) {
    p->buffers[1] = gen_offsets(in, p, end, &max_off);
    if (is_var(f)) {
      uint8_t *data = alloc_buffer(p, 2, (size_t)max_off);
      fill(in, data, (size_t)max_off, u8(in) % 4 != 0);
      p->buffers[2] = data;
    }
    return max_off;
  }
  size_t size = !strcmp(f, "b")   ? (size_t)(end + 7) / 8
                : !strcmp(f, "f") ? (size_t)end * 4
                                  : (size_t)end * 8;
  uint8_t *values = alloc_buffer(p, 1, size);
  fill(in, values, size, false);
  p->buffers[1] = values;
  return 0;
}

static int64_t gen_null_count(input *in, const uint8_t *validity, int64_t offset, int64_t length) {
  switch (u8(in) % 4) {
    case 0:
      return -1;
    case 1:
      return validity ? length - hn_bits_count(validity, offset, length) : 0;
    case 2:
      return 0;
    default:
      return (int64_t)(u8(in) % (length + 3)) - 1;
  }
}

static void gen(input *in, int depth, int64_t want_len, bool base, const char *name,
                struct ArrowSchema *s, struct ArrowArray *a) {
  const char *f = formats[u8(in) % (sizeof formats / sizeof formats[0])];
  if (depth >= MAX_DEPTH && (is_list(f) || is_struct(f))) f = "l";
  int64_t length = want_len >= 0 ? want_len : u8(in) % 17;
  uint8_t tweak = u8(in);
  if (tweak == 0xFF) length++;
  if (tweak == 0xFE && length > 0) length--;
  int64_t offset = u8(in) % 4;
  int64_t end = offset + length;
  uint8_t flags = u8(in) & u8(in); /* each bit set one time in four */

  array_node *ap = calloc(1, sizeof *ap);
  schema_node *sp = calloc(1, sizeof *sp);
  if (!ap || !sp) abort();
  ap->base = base;

  uint8_t *validity = NULL;
  if (!(flags & 1)) {
    validity = alloc_buffer(ap, 0, (size_t)(end + 7) / 8);
    fill(in, validity, (size_t)(end + 7) / 8, false);
    if (u8(in) & 1) memset(validity, 0xFF, (size_t)(end + 7) / 8);
  }
  ap->buffers[0] = validity;
  int64_t null_count = gen_null_count(in, validity, offset, length);
  int32_t max_off = gen_values(in, f, end, ap);
  if (flags & 2) ap->buffers[1] = NULL;
  if (flags & 4) ap->buffers[2] = NULL;
  if (is_list(f) || is_struct(f)) gen_children(in, depth, f, end, max_off, sp, ap);

  struct ArrowSchema schema = {
      f,    name,           NULL, ARROW_FLAG_NULLABLE, sp->n_kids, sp->n_kids ? sp->kid_ptrs : NULL,
      NULL, schema_release, sp};
  if (flags & 0x40) schema.dictionary = &dict_schema;
  *s = schema;
  struct ArrowArray array = {length,
                             null_count,
                             offset,
                             expected_buffers(f),
                             ap->n_kids,
                             ap->buffers,
                             ap->n_kids ? ap->kid_ptrs : NULL,
                             NULL,
                             array_release,
                             ap};
  if (flags & 8) array.n_buffers++;
  if ((flags & 0x10) && ap->n_kids > 0) array.n_children--;
  if ((flags & 0x20) && ap->n_kids > 0) array.children = NULL;
  if (flags & 0x80) array.dictionary = &dict_array;
  *a = array;
}

/* ---- oracles ------------------------------------------------------------- */

static volatile uint64_t sink;

static void touch(const hn_array *arr, int64_t start, int64_t n);

static void touch_datum(hn_datum d) {
  if (d.is_null) return;
  switch (d.type) {
    case HN_TYPE_BOOL:
      sink += d.v.b;
      break;
    case HN_TYPE_INT64:
      sink += (uint64_t)d.v.i64;
      break;
    case HN_TYPE_FLOAT32:
      sink += (uint64_t)(d.v.f32 == d.v.f32);
      break;
    case HN_TYPE_FLOAT64:
      sink += (uint64_t)(d.v.f64 == d.v.f64);
      break;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
      for (int64_t i = 0; i < d.v.str.size; i++) sink += (uint8_t)d.v.str.data[i];
      break;
    case HN_TYPE_LIST:
      touch(d.v.list.values, d.v.list.start, d.v.list.length);
      break;
    case HN_TYPE_STRUCT:
      for (int64_t f = 0; f < hn_array_num_children(d.v.strct.array); f++)
        touch_datum(hn_struct_view_field(d.v.strct, f));
      break;
    default:
      break;
  }
}

static void touch(const hn_array *arr, int64_t start, int64_t n) {
  for (int64_t i = 0; i < n; i++) touch_datum(hn_array_get(arr, start + i));
}

static void roundtrip(hn_array *arr, const hn_import_options *opts) {
  struct ArrowSchema s;
  struct ArrowArray a;
  if (hn_array_export(arr, &s, &a, NULL) != HN_OK) abort();
  hn_array *back = NULL;
  if (hn_array_import(NULL, &s, &a, opts, &back, NULL) != HN_OK) abort();
  if (!hn_array_equals(arr, back)) abort();
  hn_array_release(back);
  s.release(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  input in = {data, size};
  hn_import_options opts;
  hn_import_options_init(&opts, sizeof opts);
  opts.validate_utf8 = (u8(&in) & 3) != 0;
  struct ArrowSchema schema;
  struct ArrowArray array;
  base_releases = 0;
  gen(&in, 0, -1, true, "col", &schema, &array);

  hn_array *out = NULL;
  hn_error err;
  hn_status st = hn_array_import(NULL, &schema, &array, &opts, &out, &err);
  if (array.release) abort(); /* always moved from */
  if (st == HN_OK) {
    if (hn_array_validate(out, opts.validate_utf8, &err) != HN_OK) abort();
    touch(out, 0, hn_array_length(out));
    roundtrip(out, &opts);
    hn_array_release(out);
  } else if (out || err.code != st) {
    abort();
  }
  if (base_releases != 1) abort();
  schema.release(&schema);
  return 0;
}
