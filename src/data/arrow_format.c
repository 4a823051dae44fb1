/*
 * Arrow format strings (CDataInterface.rst, "Data type description --
 * format strings") to and from our types: one table for the formats that
 * map to a type without parameters, and the parameterised ones spelled out.
 * Formats that import decodes into another type (string and list views,
 * run-end encoded) are recognised here too, with how to decode them.
 */
#include <stdio.h>
#include <stdlib.h>

#include "arrow_internal.h"

static const struct {
  const char *format;
  hn_type_id id;
} k_plain[] = {
    {"n", HN_TYPE_NULL},
    {"b", HN_TYPE_BOOL},
    {"c", HN_TYPE_INT8},
    {"C", HN_TYPE_UINT8},
    {"s", HN_TYPE_INT16},
    {"S", HN_TYPE_UINT16},
    {"i", HN_TYPE_INT32},
    {"I", HN_TYPE_UINT32},
    {"l", HN_TYPE_INT64},
    {"L", HN_TYPE_UINT64},
    {"e", HN_TYPE_FLOAT16},
    {"f", HN_TYPE_FLOAT32},
    {"g", HN_TYPE_FLOAT64},
    {"u", HN_TYPE_UTF8},
    {"z", HN_TYPE_BINARY},
    {"U", HN_TYPE_LARGE_UTF8},
    {"Z", HN_TYPE_LARGE_BINARY},
    {"tdD", HN_TYPE_DATE32},
    {"tdm", HN_TYPE_DATE64},
    {"tiM", HN_TYPE_INTERVAL_MONTHS},
    {"tiD", HN_TYPE_INTERVAL_DAY_TIME},
    {"tin", HN_TYPE_INTERVAL_MONTH_DAY_NANO},
    {"+l", HN_TYPE_LIST},
    {"+L", HN_TYPE_LARGE_LIST},
    {"+s", HN_TYPE_STRUCT},
    {"+m", HN_TYPE_MAP},
};
#define N_PLAIN (sizeof k_plain / sizeof k_plain[0])

static const char k_unit_chars[] = "smun"; /* by hn_time_unit */

/* A decimal integer of at most 10 digits at *p, advancing it; false when there is none. */
static bool read_int(const char **p, int64_t *out) {
  const char *s = *p;
  bool neg = *s == '-';
  if (neg) s++;
  int64_t v = 0;
  int digits = 0;
  while (*s >= '0' && *s <= '9' && digits < 11) {
    v = v * 10 + (*s++ - '0');
    digits++;
  }
  if (digits == 0 || digits > 10) return false;
  *out = neg ? -v : v;
  *p = s;
  return true;
}

static bool parse_temporal(const char *f, hn__arrow_format *out) {
  const char *unit = strchr(k_unit_chars, f[2]);
  if (f[2] == '\0' || !unit) return false;
  out->unit = (hn_time_unit)(unit - k_unit_chars);
  if (f[1] == 't' && f[3] == '\0') {
    out->id = out->unit <= HN_UNIT_MILLI ? HN_TYPE_TIME32 : HN_TYPE_TIME64;
    return true;
  }
  if (f[1] == 'D' && f[3] == '\0') {
    out->id = HN_TYPE_DURATION;
    return true;
  }
  if (f[1] == 's' && f[3] == ':') {
    out->id = HN_TYPE_TIMESTAMP;
    out->timezone = f + 4;
    return strlen(out->timezone) <= 255;
  }
  return false;
}

/* "d:P,S" or "d:P,S,BITS" (128 or 256). */
static bool parse_decimal(const char *f, hn__arrow_format *out) {
  const char *p = f + 2;
  int64_t precision = 0, scale = 0, bits = 128;
  if (!read_int(&p, &precision) || *p++ != ',' || !read_int(&p, &scale)) return false;
  if (*p == ',') {
    p++;
    if (!read_int(&p, &bits)) return false;
  }
  if (*p != '\0' || (bits != 128 && bits != 256)) return false;
  out->id = bits == 128 ? HN_TYPE_DECIMAL128 : HN_TYPE_DECIMAL256;
  if (precision < 1 || precision > (bits == 128 ? 38 : 76) || scale > precision ||
      scale < INT32_MIN)
    return false;
  out->precision = (int32_t)precision;
  out->scale = (int32_t)scale;
  return true;
}

/* "w:N" / "+w:N": a width from 1 to INT32_MAX. */
static bool parse_width(const char *p, hn__arrow_format *out) {
  int64_t n = 0;
  if (!read_int(&p, &n) || *p != '\0' || n < 1 || n > INT32_MAX) return false;
  out->width = (int32_t)n;
  return true;
}

bool hn__arrow_format_parse(const char *f, hn__arrow_format *out) {
  memset(out, 0, sizeof *out);
  for (size_t i = 0; i < N_PLAIN; i++)
    if (strcmp(f, k_plain[i].format) == 0) {
      out->id = k_plain[i].id;
      return true;
    }
  if (f[0] == 't') return parse_temporal(f, out);
  if (f[0] == 'd' && f[1] == ':') return parse_decimal(f, out);
  if (f[0] == 'w' && f[1] == ':') {
    out->id = HN_TYPE_FIXED_SIZE_BINARY;
    return parse_width(f + 2, out);
  }
  if (f[0] == '+' && f[1] == 'w' && f[2] == ':') {
    out->id = HN_TYPE_FIXED_SIZE_LIST;
    return parse_width(f + 3, out);
  }
  static const struct {
    const char *format;
    hn_type_id id;
    hn__arrow_encoding enc;
  } k_decoded[] = {{"vu", HN_TYPE_UTF8, HN__ENC_VIEW},
                   {"vz", HN_TYPE_BINARY, HN__ENC_VIEW},
                   {"+vl", HN_TYPE_LIST, HN__ENC_LIST_VIEW},
                   {"+vL", HN_TYPE_LARGE_LIST, HN__ENC_LIST_VIEW},
                   {"+r", HN_TYPE_NULL, HN__ENC_RUN_END}};
  for (size_t i = 0; i < sizeof k_decoded / sizeof k_decoded[0]; i++)
    if (strcmp(f, k_decoded[i].format) == 0) {
      out->id = k_decoded[i].id;
      out->encoding = k_decoded[i].enc;
      return true;
    }
  return false;
}

size_t hn__arrow_format_write(const hn_type *t, char *buf, size_t cap) {
  for (size_t i = 0; i < N_PLAIN; i++)
    if (k_plain[i].id == t->id) return (size_t)snprintf(buf, cap, "%s", k_plain[i].format);
  char u = k_unit_chars[t->unit & 3];
  int n = 0;
  switch (t->id) {
    case HN_TYPE_TIME32:
    case HN_TYPE_TIME64:
      n = snprintf(buf, cap, "tt%c", u);
      break;
    case HN_TYPE_DURATION:
      n = snprintf(buf, cap, "tD%c", u);
      break;
    case HN_TYPE_TIMESTAMP:
      n = snprintf(buf, cap, "ts%c:%s", u, t->tz ? t->tz : "");
      break;
    case HN_TYPE_DECIMAL128:
      n = snprintf(buf, cap, "d:%d,%d", (int)t->precision, (int)t->scale);
      break;
    case HN_TYPE_DECIMAL256:
      n = snprintf(buf, cap, "d:%d,%d,256", (int)t->precision, (int)t->scale);
      break;
    case HN_TYPE_FIXED_SIZE_BINARY:
      n = snprintf(buf, cap, "w:%d", (int)t->width);
      break;
    case HN_TYPE_FIXED_SIZE_LIST:
      n = snprintf(buf, cap, "+w:%d", (int)t->width);
      break;
    default:
      n = 0;
      if (cap) buf[0] = '\0';
  }
  return n > 0 ? (size_t)n : 0;
}

hn_status hn__arrow_type_of(const hn_allocator *alloc, const hn__arrow_format *f,
                            const hn_type **out, hn_error *err) {
  switch (f->id) {
    case HN_TYPE_TIME32:
    case HN_TYPE_TIME64:
    case HN_TYPE_DURATION:
    case HN_TYPE_TIMESTAMP:
      return hn_type_temporal_create(alloc, f->id, f->unit, f->timezone, out, err);
    case HN_TYPE_DECIMAL128:
    case HN_TYPE_DECIMAL256:
      return hn_type_decimal_create(alloc, f->id, f->precision, f->scale, out, err);
    case HN_TYPE_FIXED_SIZE_BINARY:
      return hn_type_fixed_size_binary_create(alloc, f->width, out, err);
    default:
      break;
  }
  static const struct {
    hn_type_id id;
    const hn_type *(*get)(void);
  } k_singletons[] = {
      {HN_TYPE_NULL, hn_type_null},
      {HN_TYPE_BOOL, hn_type_bool},
      {HN_TYPE_INT8, hn_type_int8},
      {HN_TYPE_INT16, hn_type_int16},
      {HN_TYPE_INT32, hn_type_int32},
      {HN_TYPE_INT64, hn_type_int64},
      {HN_TYPE_UINT8, hn_type_uint8},
      {HN_TYPE_UINT16, hn_type_uint16},
      {HN_TYPE_UINT32, hn_type_uint32},
      {HN_TYPE_UINT64, hn_type_uint64},
      {HN_TYPE_FLOAT16, hn_type_float16},
      {HN_TYPE_FLOAT32, hn_type_float32},
      {HN_TYPE_FLOAT64, hn_type_float64},
      {HN_TYPE_UTF8, hn_type_utf8},
      {HN_TYPE_BINARY, hn_type_binary},
      {HN_TYPE_LARGE_UTF8, hn_type_large_utf8},
      {HN_TYPE_LARGE_BINARY, hn_type_large_binary},
      {HN_TYPE_DATE32, hn_type_date32},
      {HN_TYPE_DATE64, hn_type_date64},
      {HN_TYPE_INTERVAL_MONTHS, hn_type_interval_months},
      {HN_TYPE_INTERVAL_DAY_TIME, hn_type_interval_day_time},
      {HN_TYPE_INTERVAL_MONTH_DAY_NANO, hn_type_interval_month_day_nano},
  };
  for (size_t i = 0; i < sizeof k_singletons / sizeof k_singletons[0]; i++)
    if (k_singletons[i].id == f->id) {
      *out = k_singletons[i].get();
      return HN_OK;
    }
  return hn__error(err, HN_EINTERNAL, "no type for Arrow format of %s", hn_type_id_name(f->id));
}
