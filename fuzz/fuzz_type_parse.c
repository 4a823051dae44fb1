/*
 * libFuzzer target for type strings (hn_type_parse_ex) and the node specs
 * built on the same lexer (hn_pipeline_add). Any input must give a type or
 * a clean error pointing inside the text, with no out-of-bounds read and no
 * leak; a type that parses must print back to a string that parses to an
 * equal type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypernodes/hypernodes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void obj_free(void *ctx, void *object) {
  (void)ctx;
  (void)object;
}

static hn_status row(void *ud, const hn_datum *in, hn_builder *const *out, hn_ctx *ctx) {
  (void)ud, (void)in, (void)out, (void)ctx;
  return HN_OK;
}

static void check_type(const char *text, const hn_type *model) {
  hn_type_parse_options o = {.size = sizeof o, .n_object_types = 1, .object_types = &model};
  const hn_type *t = NULL;
  hn_error err;
  size_t end = 0;
  if (hn_type_parse_ex(text, &o, &t, &end, &err) != HN_OK) {
    if (end > strlen(text)) __builtin_trap();
    return;
  }
  char buf[8192];
  if (hn_type_to_string(t, buf, sizeof buf) < sizeof buf) {
    const hn_type *back = NULL;
    if (hn_type_parse_ex(buf, &o, &back, NULL, &err) != HN_OK) __builtin_trap();
    if (!hn_type_equals(t, back)) __builtin_trap();
    hn_type_release(back);
  }
  hn_type_release(t);
}

/* The text split at its first '|' into an input spec and an output spec. */
static void check_spec(char *text) {
  char *bar = strchr(text, '|');
  if (!bar) return;
  *bar = '\0';
  hn_pipeline *p = NULL;
  if (hn_pipeline_create(NULL, "fuzz", &p, NULL) != HN_OK) return;
  hn_error err;
  (void)hn_pipeline_add(p, "n", text, bar + 1, row, &err);
  hn_pipeline_release(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  hn_object_vtable vt = {.free = obj_free};
  const hn_type *model = NULL;
  if (hn_type_object_create(NULL, "Model", &vt, &model, NULL) == HN_OK) {
    check_type(text, model);
    hn_type_release(model);
  }
  check_spec(text);
  free(text);
  return 0;
}
