/*
 * What every engine checks after a node call, and the words it reports:
 * one wording on every engine, so that the same misbehaving node gives the
 * same error record whichever engine ran it.
 */
#include <stdio.h>

#include "exec_internal.h"

hn_status hn__call_failure(hn_ctx *ctx, hn_status st, char *msg, size_t cap) {
  bool known = (int)st > 0 && (int)st <= (int)HN__STATUS_LAST;
  if (ctx->flags & HN__CTX_MESSAGE) {
    ctx->flags &= ~(unsigned)HN__CTX_MESSAGE;
    snprintf(msg, cap, "%s", ctx->message);
  } else if (known) {
    snprintf(msg, cap, "returned %s", hn_status_str(st));
  } else {
    snprintf(msg, cap, "returned %d, which is not an hn_status (reported as HN_ENODE)", (int)st);
  }
  return known ? st : HN_ENODE;
}

void hn__appended_message(const hn_gnode *node, int64_t output, int64_t n, char *msg, size_t cap) {
  snprintf(msg, cap, "node '%s' appended %lld values to output '%s' (expected 1)", node->name,
           (long long)n, node->outputs[output]);
}

bool hn__outputs_closed(const hn_gnode *node, hn_builder *const *outs, char *msg, size_t cap) {
  for (int64_t k = 0; k < node->n_outputs; k++) {
    char where[HN_ERROR_NODE_MAX];
    where[0] = '\0';
    int64_t held = 0, expected = 0;
    if (hn__builder_closed(outs[k], where, sizeof where, &held, &expected)) continue;
    snprintf(msg, cap,
             "node '%s' appended to output '%s' outside its element: '%s' holds %lld values, "
             "the closed elements account for %lld",
             node->name, node->outputs[k], where, (long long)held, (long long)expected);
    return false;
  }
  return true;
}
