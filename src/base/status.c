/* Status codes, error filling and version information. */
#include <stdio.h>

#include "base_internal.h"

int hn_version(void) {
  return HN_VERSION_NUMBER;
}
const char *hn_version_string(void) {
  return HN_VERSION_STRING;
}

const char *hn_status_str(hn_status status) {
  switch (status) {
    case HN_OK:
      return "HN_OK: success";
    case HN_EINVAL:
      return "HN_EINVAL: invalid argument";
    case HN_ENOMEM:
      return "HN_ENOMEM: out of memory";
    case HN_ETYPE:
      return "HN_ETYPE: type error";
    case HN_EIO:
      return "HN_EIO: I/O error";
    case HN_ENODE:
      return "HN_ENODE: node failed";
    case HN_ENOTFOUND:
      return "HN_ENOTFOUND: not found";
    case HN_ECORRUPT:
      return "HN_ECORRUPT: corrupt or truncated data";
    case HN_EUNSUPPORTED:
      return "HN_EUNSUPPORTED: unsupported";
    case HN_ERANGE:
      return "HN_ERANGE: out of range";
    case HN_EINTERNAL:
      return "HN_EINTERNAL: internal error";
    case HN_ECANCELLED:
      return "HN_ECANCELLED: cancelled";
    case HN_ETIMEDOUT:
      return "HN_ETIMEDOUT: timed out";
  }
  return "unknown hn_status";
}

void hn_error_reset(hn_error *err) {
  if (!err) return;
  err->code = HN_OK;
  err->message[0] = '\0';
  err->node[0] = '\0';
  err->item_path[0] = '\0';
}

hn_status hn__error(hn_error *err, hn_status code, const char *fmt, ...) {
  if (!err) return code;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  err->node[0] = '\0';
  err->item_path[0] = '\0';
  return code;
}

void hn__error_set_node(hn_error *err, const char *node) {
  if (err && node) snprintf(err->node, sizeof err->node, "%s", node);
}

hn_status hn__error_nomem(hn_error *err, const char *what) {
  return hn__error(err, HN_ENOMEM, "out of memory %s", what ? what : "");
}

void hn__msg_add(hn__msg *m, const char *fmt, ...) {
  if (m->full) return;
  size_t room = sizeof m->buf - m->len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(m->buf + m->len, room, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= room) {
    m->full = true;
    memcpy(m->buf + sizeof m->buf - 4, "...", 4);
    m->len = sizeof m->buf - 1;
  } else {
    m->len += (size_t)n;
  }
}
