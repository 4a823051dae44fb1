/*
 * The per-call context node functions receive: failure messages, the
 * worker's scratch arena (created on first use, reset after every call that
 * used it) and the worker index.
 */
#include <math.h>
#include <stdio.h>

#include "exec_internal.h"

void hn__ctx_init(hn_ctx *ctx, const hn_allocator *alloc, int worker) {
  memset(ctx, 0, sizeof *ctx);
  ctx->alloc = hn__allocator_resolve(alloc);
  ctx->worker = worker;
}

void hn__ctx_destroy(hn_ctx *ctx) {
  hn_arena_destroy(ctx->arena);
  ctx->arena = NULL;
}

void hn__ctx_after_call(hn_ctx *ctx, hn_status st) {
  if ((ctx->flags & HN__CTX_ARENA_USED) && ctx->arena) hn_arena_reset(ctx->arena);
  ctx->flags &= ~(unsigned)HN__CTX_ARENA_USED;
  /* A message only counts for the call that failed with it. */
  if (st == HN_OK) ctx->flags &= ~(unsigned)HN__CTX_MESSAGE;
}

hn_status hn_ctx_fail(hn_ctx *ctx, const char *fmt, ...) {
  if (!ctx) return HN_ENODE;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->message, sizeof ctx->message, fmt, ap);
    va_end(ap);
  } else {
    ctx->message[0] = '\0';
  }
  ctx->flags |= HN__CTX_MESSAGE;
  return HN_ENODE;
}

hn_arena *hn_ctx_arena(hn_ctx *ctx) {
  if (!ctx) return NULL;
  if (!ctx->arena && !ctx->arena_failed &&
      hn_arena_create(&ctx->alloc, 0, &ctx->arena, NULL) != HN_OK) {
    ctx->arena = NULL;
    ctx->arena_failed = true; /* do not retry on every call; the node sees NULL */
  }
  ctx->flags |= HN__CTX_ARENA_USED;
  return ctx->arena;
}

int hn_ctx_worker(const hn_ctx *ctx) {
  return ctx ? ctx->worker : 0;
}

/*
 * A guarded call's context (cancel_flag set) may outlive its call when the call is
 * abandoned: it never reads `stop` for the deadline (gcall.c folds the call's deadline into
 * ctx->deadline), and reads it for cancellation only while its flag is clear (the flag is
 * set, for good, before a call is abandoned).
 */
double hn_ctx_deadline(const hn_ctx *ctx) {
  double d = ctx && ctx->deadline > 0 ? ctx->deadline : INFINITY;
  if (ctx && ctx->stop && !ctx->cancel_flag && ctx->stop->deadline > 0 && ctx->stop->deadline < d)
    d = ctx->stop->deadline;
  return d;
}

bool hn_ctx_cancelled(const hn_ctx *ctx) {
  if (!ctx) return false;
  if (ctx->cancel_flag && atomic_load_explicit(ctx->cancel_flag, memory_order_acquire)) return true;
  if (ctx->stop && hn__stop_check(ctx->stop) != HN_OK) return true;
  return ctx->deadline > 0 && hn__now() >= ctx->deadline;
}

int hn_ctx_attempt(const hn_ctx *ctx) {
  if (!ctx) return 0;
  return ctx->attempt > 0 ? ctx->attempt : 1;
}
