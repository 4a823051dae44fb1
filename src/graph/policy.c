/*
 * Node policies (hn_node_policy): reading the spec string form
 * ("attempts=3, backoff=0.1, timeout=2, io") and checking the values.
 */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "graph_internal.h"

hn_status hn__policy_check(const char *node, const hn_node_policy *p, hn_error *err) {
  const char *bad = NULL;
  if (p->attempts < 0 || p->attempts > 1000) bad = "attempts (0..1000)";
  if (!(p->backoff >= 0) || !isfinite(p->backoff)) bad = "backoff (seconds >= 0)";
  if (!(p->backoff_factor >= 0) || !isfinite(p->backoff_factor)) bad = "backoff_factor (>= 0)";
  if (!(p->backoff_max >= 0) || !isfinite(p->backoff_max)) bad = "backoff_max (seconds >= 0)";
  if (!(p->jitter >= 0 && p->jitter <= 1)) bad = "jitter (0..1)";
  if (!(p->timeout >= 0) || !isfinite(p->timeout)) bad = "timeout (seconds >= 0)";
  if (p->concurrency < 0) bad = "concurrency (>= 0)";
  if (!bad) return HN_OK;
  return hn__error(err, HN_EINVAL, "node '%s': bad policy: %s", node ? node : "", bad);
}

/* A status name ("EIO", "HN_EIO", case-insensitive) into *out. */
static bool status_named(const char *s, size_t n, hn_status *out) {
  if (n > 3 && strncasecmp(s, "HN_", 3) == 0) {
    s += 3;
    n -= 3;
  }
  for (int k = 1; k <= (int)HN__STATUS_LAST; k++) {
    const char *name = hn_status_str((hn_status)k) + 3; /* "HN_EIO: ..." -> "EIO: ..." */
    size_t len = strcspn(name, ":");
    if (len == n && strncasecmp(name, s, n) == 0) {
      *out = (hn_status)k;
      return true;
    }
  }
  return false;
}

/* "EIO|ETIMEDOUT" into a mask of HN_RETRY_ON bits. */
static bool status_mask(const char *v, size_t n, uint32_t *mask) {
  *mask = 0;
  size_t i = 0;
  while (i < n) {
    size_t len = 0;
    while (i + len < n && v[i + len] != '|') len++;
    hn_status st;
    if (!status_named(v + i, len, &st)) return false;
    *mask |= HN_RETRY_ON(st);
    i += len + 1;
  }
  return *mask != 0;
}

static bool number(const char *v, size_t n, double *out) {
  char buf[64];
  if (n == 0 || n >= sizeof buf) return false;
  memcpy(buf, v, n);
  buf[n] = '\0';
  char *end = NULL;
  *out = strtod(buf, &end);
  return end == buf + n && isfinite(*out);
}

static bool integer(const char *v, size_t n, int *out) {
  double d;
  if (!number(v, n, &d) || d != floor(d) || d < 0 || d > 1e6) return false;
  *out = (int)d;
  return true;
}

/* One key=value (value NULL for a flag) into p; false when unknown or malformed. */
static bool set_key(hn_node_policy *p, const char *k, size_t kn, const char *v, size_t vn) {
#define KEY(name) (kn == sizeof(name) - 1 && strncmp(k, name, kn) == 0)
  if (KEY("io")) {
    p->io = true;
    return !v || integer(v, vn, &p->concurrency);
  }
  if (!v) return false;
  if (KEY("attempts")) return integer(v, vn, &p->attempts);
  if (KEY("backoff")) return number(v, vn, &p->backoff);
  if (KEY("factor")) return number(v, vn, &p->backoff_factor);
  if (KEY("max_backoff")) return number(v, vn, &p->backoff_max);
  if (KEY("jitter")) return number(v, vn, &p->jitter);
  if (KEY("retry_on")) return status_mask(v, vn, &p->retry_on);
  if (KEY("timeout")) return number(v, vn, &p->timeout);
  if (KEY("concurrency")) return integer(v, vn, &p->concurrency);
  return false;
#undef KEY
}

hn_status hn_node_policy_parse(const char *spec, hn_node_policy *out, hn_error *err) {
  if (!out) return hn__error(err, HN_EINVAL, "hn_node_policy_parse: NULL out");
  hn_node_policy p;
  memset(&p, 0, sizeof p);
  const char *s = spec ? spec : "";
  size_t i = 0, n = strlen(s);
  while (i < n) {
    while (i < n && (isspace((unsigned char)s[i]) || s[i] == ',')) i++;
    if (i >= n) break;
    size_t start = i;
    while (i < n && s[i] != ',') i++;
    size_t end = i;
    while (end > start && isspace((unsigned char)s[end - 1])) end--;
    const char *eq = memchr(s + start, '=', end - start);
    size_t kn = eq ? (size_t)(eq - (s + start)) : end - start;
    while (kn > 0 && isspace((unsigned char)s[start + kn - 1])) kn--;
    const char *v = eq ? eq + 1 : NULL;
    while (v && v < s + end && isspace((unsigned char)*v)) v++;
    if (!set_key(&p, s + start, kn, v, v ? (size_t)(s + end - v) : 0))
      return hn__error(err, HN_EINVAL,
                       "policy, offset %zu: bad entry '%.*s' (known: attempts=N, backoff=S, "
                       "factor=F, max_backoff=S, jitter=0..1, retry_on=EIO|ETIMEDOUT|..., "
                       "timeout=S, concurrency=N, io[=N])",
                       start, (int)(end - start), s + start);
  }
  hn_status st = hn__policy_check("", &p, err);
  if (st != HN_OK) return st;
  *out = p;
  return HN_OK;
}
