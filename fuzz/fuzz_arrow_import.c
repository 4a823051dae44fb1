/*
 * libFuzzer target for hn_array_import.
 *
 * The input is decoded into an ArrowSchema / ArrowArray tree (formats from a
 * table covering every format import reads, decoded encodings included:
 * dictionaries, run-end encoded arrays, string and list views; bounded
 * lengths and offsets, header fields sometimes broken on purpose, buffer
 * contents from the input). The C Data Interface carries no buffer sizes,
 * so the importer has to trust that buffers hold what the layout needs for
 * offset + length; every buffer here is allocated exactly that large
 * (variable-size data: as large as the largest offset present; views: the
 * data buffer's recorded size), so AddressSanitizer catches any read beyond
 * the promise. The producer frees its memory in release, which catches use
 * after release.
 *
 * Input encoding, in order: 1 byte of options (UTF-8 checks), then per node:
 * a format byte (index into k_formats), length, a tweak byte, offset,
 * two flag bytes (ANDed: each bit set one time in four), validity bytes,
 * the null count rule, the values (their encoding depends on the format),
 * then the children, depth first. Bytes past the end read as 0.
 *
 * Oracles: no crash or sanitizer report; the base release runs exactly once;
 * an accepted array validates, reads back through the accessors, and survives
 * an export -> import round trip unchanged.
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

/* ---- the formats ---------------------------------------------------------- */

typedef enum {
  K_BITS,
  K_FIXED,
  K_VAR32,
  K_VAR64,
  K_VIEW,
  K_LIST32,
  K_LIST64,
  K_LIST_VIEW32,
  K_LIST_VIEW64,
  K_FIXED_LIST,
  K_STRUCT,
  K_MAP,
  K_NULL,
  K_RUN_END,
  K_BOGUS
} kind;

typedef struct fmt {
  const char *format;
  kind k;
  int width; /* bytes of a value (K_FIXED), items per row (K_FIXED_LIST) */
} fmt;

static const fmt k_formats[] = {
    {"b", K_BITS, 0},          {"l", K_FIXED, 8},
    {"f", K_FIXED, 4},         {"g", K_FIXED, 8},
    {"u", K_VAR32, 0},         {"z", K_VAR32, 0},
    {"+l", K_LIST32, 0},       {"+s", K_STRUCT, 0},
    {"c", K_FIXED, 1},         {"C", K_FIXED, 1},
    {"s", K_FIXED, 2},         {"S", K_FIXED, 2},
    {"i", K_FIXED, 4},         {"I", K_FIXED, 4},
    {"L", K_FIXED, 8},         {"e", K_FIXED, 2},
    {"tdD", K_FIXED, 4},       {"tdm", K_FIXED, 8},
    {"ttm", K_FIXED, 4},       {"ttn", K_FIXED, 8},
    {"tsu:UTC", K_FIXED, 8},   {"tss:", K_FIXED, 8},
    {"tDm", K_FIXED, 8},       {"tiM", K_FIXED, 4},
    {"tiD", K_FIXED, 8},       {"tin", K_FIXED, 16},
    {"d:10,2", K_FIXED, 16},   {"d:40,2,256", K_FIXED, 32},
    {"w:3", K_FIXED, 3},       {"U", K_VAR64, 0},
    {"Z", K_VAR64, 0},         {"vu", K_VIEW, 0},
    {"vz", K_VIEW, 0},         {"+L", K_LIST64, 0},
    {"+vl", K_LIST_VIEW32, 0}, {"+vL", K_LIST_VIEW64, 0},
    {"+w:2", K_FIXED_LIST, 2}, {"+m", K_MAP, 0},
    {"n", K_NULL, 0},          {"+r", K_RUN_END, 0},
    {"tsx:", K_BOGUS, 0},      {"+ud:0,1", K_BOGUS, 0},
};
#define N_FORMATS (sizeof k_formats / sizeof k_formats[0])

static const fmt *find_format(const char *f) {
  for (size_t i = 0; i < N_FORMATS; i++)
    if (!strcmp(k_formats[i].format, f)) return &k_formats[i];
  return NULL;
}

static bool nested(kind k) {
  return k == K_LIST32 || k == K_LIST64 || k == K_LIST_VIEW32 || k == K_LIST_VIEW64 ||
         k == K_FIXED_LIST || k == K_STRUCT || k == K_MAP || k == K_RUN_END;
}

static int64_t expected_buffers(kind k) {
  switch (k) {
    case K_VAR32:
    case K_VAR64:
    case K_LIST_VIEW32:
    case K_LIST_VIEW64:
      return 3;
    case K_VIEW:
      return 4; /* validity, views, one data buffer, the sizes */
    case K_STRUCT:
    case K_FIXED_LIST:
      return 1;
    case K_NULL:
    case K_RUN_END:
      return 0;
    default:
      return 2;
  }
}

/* ---- producer side: release frees what the node owns --------------------- */

typedef struct array_node {
  void *mem[5];
  const void *buffers[MAX_KIDS + 1]; /* room for a wrong n_buffers */
  struct ArrowArray *kid_ptrs[MAX_KIDS + 1];
  struct ArrowArray kids[MAX_KIDS + 1];
  int64_t n_kids; /* children actually built */
  struct ArrowArray dict;
  bool has_dict;
  bool base;
} array_node;

typedef struct schema_node {
  struct ArrowSchema *kid_ptrs[MAX_KIDS + 1];
  struct ArrowSchema kids[MAX_KIDS + 1];
  int64_t n_kids;
  struct ArrowSchema dict;
  bool has_dict;
} schema_node;

static int base_releases;

static void array_release(struct ArrowArray *a) {
  array_node *p = a->private_data;
  for (int64_t i = 0; i < p->n_kids; i++)
    if (p->kids[i].release) p->kids[i].release(&p->kids[i]);
  if (p->has_dict && p->dict.release) p->dict.release(&p->dict);
  if (p->base) base_releases++;
  for (int i = 0; i < 5; i++) free(p->mem[i]);
  free(p);
  a->release = NULL;
}

static void schema_release(struct ArrowSchema *s) {
  schema_node *p = s->private_data;
  for (int64_t i = 0; i < p->n_kids; i++)
    if (p->kids[i].release) p->kids[i].release(&p->kids[i]);
  if (p->has_dict && p->dict.release) p->dict.release(&p->dict);
  free(p);
  s->release = NULL;
}

/* A dictionary on an array whose schema has none: its presence alone must be refused. */
static struct ArrowArray stray_dict_array;

static void *alloc_buffer(array_node *p, int slot, size_t size) {
  p->mem[slot] = malloc(size ? size : 1);
  if (!p->mem[slot]) abort();
  return p->mem[slot];
}

/* ---- decoding ------------------------------------------------------------ */

static const char *const names[] = {"f0", "f1", "f2", "f3"};

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

/*
 * The same offsets as int64 (the large layouts), sometimes with one far
 * below the others (a huge negative step): still within what the data
 * buffer holds, so the promise stands and validation must refuse it.
 */
static int64_t *widen_offsets(input *in, array_node *p, const int32_t *off, int64_t end) {
  int64_t *wide = alloc_buffer(p, 3, (size_t)(end + 1) * 8);
  for (int64_t i = 0; i <= end; i++) wide[i] = off[i];
  if (u8(in) == 0xFD) wide[u8(in) % (end + 1)] = INT64_MIN + (int64_t)u8(in);
  return wide;
}

/* 16-byte views over one data buffer of `*data_size` bytes; some point outside it. */
static void gen_views(input *in, array_node *p, int64_t end) {
  int64_t size = u8(in) % 40;
  uint8_t *data = alloc_buffer(p, 2, (size_t)size);
  fill(in, data, (size_t)size, u8(in) % 4 != 0);
  uint8_t *views = alloc_buffer(p, 1, (size_t)end * 16);
  memset(views, 0, (size_t)end * 16);
  for (int64_t i = 0; i < end; i++) {
    uint8_t *v = views + 16 * i;
    int32_t len = u8(in) % 24, buf = u8(in) == 0xFF ? 1 : 0, off = u8(in) % 24;
    if (u8(in) == 0xFE) len = -len - 1;
    memcpy(v, &len, 4);
    if (len >= 0 && len <= 12) {
      fill(in, v + 4, (size_t)len, true);
    } else {
      memcpy(v + 8, &buf, 4);
      memcpy(v + 12, &off, 4);
    }
  }
  int64_t *sizes = alloc_buffer(p, 3, 8);
  sizes[0] = size; /* the producer's promise: truthful */
  p->buffers[1] = views;
  p->buffers[2] = data;
  p->buffers[3] = sizes;
}

/* List view offsets and sizes (int32 or int64) over a child of `child_len` items. */
static void gen_list_views(input *in, array_node *p, int64_t end, bool wide, int64_t child_len) {
  size_t w = wide ? 8 : 4;
  uint8_t *offs = alloc_buffer(p, 1, (size_t)end * w), *sizes = alloc_buffer(p, 2, (size_t)end * w);
  for (int64_t i = 0; i < end; i++) {
    int64_t o = u8(in) % (child_len + 2), s = u8(in) % 4;
    if (u8(in) == 0xFF) s = -1;
    if (wide) {
      memcpy(offs + 8 * i, &o, 8);
      memcpy(sizes + 8 * i, &s, 8);
    } else {
      int32_t o32 = (int32_t)o, s32 = (int32_t)s;
      memcpy(offs + 4 * i, &o32, 4);
      memcpy(sizes + 4 * i, &s32, 4);
    }
  }
  p->buffers[1] = offs;
  p->buffers[2] = sizes;
}

static void gen(input *in, int depth, int64_t want_len, bool base, const char *name,
                const char *force, struct ArrowSchema *s, struct ArrowArray *a);

/* Children of a nested node, with `child_len` rows each (lists: the items). */
static void gen_children(input *in, int depth, const fmt *f, int64_t end, int64_t child_len,
                         schema_node *sp, array_node *ap) {
  int64_t n = f->k == K_STRUCT ? u8(in) % (MAX_KIDS + 1) : f->k == K_RUN_END ? 2 : 1;
  for (int64_t i = 0; i < n; i++) {
    const char *name = f->k == K_STRUCT ? names[i] : f->k == K_MAP ? "entries" : "item";
    const char *force = NULL;
    int64_t len = f->k == K_STRUCT ? end : child_len;
    if (f->k == K_STRUCT && u8(in) == 0xFF) name = names[0]; /* sometimes a duplicate */
    if (f->k == K_MAP) force = "+s";
    if (f->k == K_RUN_END) {
      name = i == 0 ? "run_ends" : "values";
      force = i == 0 ? "i" : NULL;
      len = child_len;
    }
    gen(in, depth + 1, len, false, name, force, &sp->kids[i], &ap->kids[i]);
    sp->kid_ptrs[i] = &sp->kids[i];
    ap->kid_ptrs[i] = &ap->kids[i];
  }
  sp->n_kids = ap->n_kids = n;
}

/* Fill the buffers past validity for the format; returns the child length of a nested one. */
static int64_t gen_values(input *in, const fmt *f, int64_t end, array_node *p) {
  int32_t max_off = 0;
  switch (f->k) {
    case K_STRUCT:
    case K_NULL:
    case K_BOGUS:
      return 0;
    case K_FIXED_LIST:
      return end * f->width;
    case K_RUN_END:
      return u8(in) % 6; /* runs */
    case K_VIEW:
      gen_views(in, p, end);
      return 0;
    case K_LIST_VIEW32:
    case K_LIST_VIEW64: {
      int64_t child_len = u8(in) % 9;
      gen_list_views(in, p, end, f->k == K_LIST_VIEW64, child_len);
      return child_len;
    }
    case K_VAR32:
    case K_VAR64:
    case K_LIST32:
    case K_LIST64:
    case K_MAP:
      p->buffers[1] = gen_offsets(in, p, end, &max_off);
      if (f->k == K_VAR64 || f->k == K_LIST64)
        p->buffers[1] = widen_offsets(in, p, p->buffers[1], end);
      if (f->k == K_VAR32 || f->k == K_VAR64) {
        uint8_t *data = alloc_buffer(p, 2, (size_t)max_off);
        fill(in, data, (size_t)max_off, u8(in) % 4 != 0);
        p->buffers[2] = data;
      }
      return max_off;
    default: {
      size_t size = f->k == K_BITS ? (size_t)(end + 7) / 8 : (size_t)end * (size_t)f->width;
      uint8_t *values = alloc_buffer(p, 1, size);
      fill(in, values, size, false);
      if (!strcmp(f->format, "i") && u8(in) & 1) /* run ends, often increasing */
        for (int64_t i = 0; i < end; i++) ((int32_t *)(void *)values)[i] = (int32_t)(i + 1) * 2;
      p->buffers[1] = values;
      return 0;
    }
  }
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

/* A dictionary of utf8 values (a real one, read by the importer) for an integer node. */
static void gen_dictionary(input *in, int depth, schema_node *sp, array_node *ap,
                           struct ArrowSchema *s, struct ArrowArray *a) {
  gen(in, depth + 1, u8(in) % 5, false, NULL, "u", &sp->dict, &ap->dict);
  sp->has_dict = ap->has_dict = true;
  s->dictionary = &sp->dict;
  a->dictionary = &ap->dict;
}

static bool is_index_format(const char *f) {
  return strchr("cCsSiIlL", f[0]) && f[1] == '\0';
}

static void gen(input *in, int depth, int64_t want_len, bool base, const char *name,
                const char *force, struct ArrowSchema *s, struct ArrowArray *a) {
  const fmt *f = force ? find_format(force) : &k_formats[u8(in) % N_FORMATS];
  if (depth >= MAX_DEPTH && nested(f->k)) f = find_format("l");
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
  if (!(flags & 1) && f->k != K_NULL && f->k != K_RUN_END) {
    validity = alloc_buffer(ap, 0, (size_t)(end + 7) / 8);
    fill(in, validity, (size_t)(end + 7) / 8, false);
    if (u8(in) & 1) memset(validity, 0xFF, (size_t)(end + 7) / 8);
  }
  ap->buffers[0] = validity;
  int64_t null_count = f->k == K_NULL ? length : gen_null_count(in, validity, offset, length);
  int64_t child_len = gen_values(in, f, end, ap);
  if (flags & 2) ap->buffers[1] = NULL;
  if (flags & 4) ap->buffers[2] = NULL;
  if (nested(f->k)) gen_children(in, depth, f, end, child_len, sp, ap);

  struct ArrowSchema schema = {f->format,  name,
                               NULL,       ARROW_FLAG_NULLABLE,
                               sp->n_kids, sp->n_kids ? sp->kid_ptrs : NULL,
                               NULL,       schema_release,
                               sp};
  *s = schema;
  struct ArrowArray array = {length,
                             null_count,
                             offset,
                             expected_buffers(f->k),
                             ap->n_kids,
                             ap->buffers,
                             ap->n_kids ? ap->kid_ptrs : NULL,
                             NULL,
                             array_release,
                             ap};
  if (flags & 8) array.n_buffers++;
  if ((flags & 0x10) && ap->n_kids > 0) array.n_children--;
  if ((flags & 0x20) && ap->n_kids > 0) array.children = NULL;
  *a = array;
  if ((flags & 0x40) && depth < MAX_DEPTH && is_index_format(f->format) && !force)
    gen_dictionary(in, depth, sp, ap, s, a);
  if (flags & 0x80) a->dictionary = &stray_dict_array;
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
    case HN_TYPE_FLOAT32:
      sink += (uint64_t)(d.v.f32 == d.v.f32);
      break;
    case HN_TYPE_FLOAT64:
      sink += (uint64_t)(d.v.f64 == d.v.f64);
      break;
    case HN_TYPE_UTF8:
    case HN_TYPE_BINARY:
    case HN_TYPE_LARGE_UTF8:
    case HN_TYPE_LARGE_BINARY:
    case HN_TYPE_FIXED_SIZE_BINARY:
      for (int64_t i = 0; i < d.v.str.size; i++) sink += (uint8_t)d.v.str.data[i];
      break;
    case HN_TYPE_DECIMAL256:
      for (int i = 0; i < 4; i++) sink += d.v.d256[i];
      break;
    case HN_TYPE_INTERVAL_MONTH_DAY_NANO:
    case HN_TYPE_DECIMAL128:
      sink += (uint64_t)d.v.mdn.nanos;
      break;
    case HN_TYPE_LIST:
    case HN_TYPE_LARGE_LIST:
    case HN_TYPE_FIXED_SIZE_LIST:
    case HN_TYPE_MAP:
      touch(d.v.list.values, d.v.list.start, d.v.list.length);
      break;
    case HN_TYPE_STRUCT:
      for (int64_t f = 0; f < hn_array_num_children(d.v.strct.array); f++)
        touch_datum(hn_struct_view_field(d.v.strct, f));
      break;
    default: /* the integers and the other fixed-width values */
      sink += d.v.u64;
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
  gen(&in, 0, -1, true, "col", NULL, &schema, &array);

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
