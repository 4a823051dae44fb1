/* Announce slots: where a worker process says which item and node it runs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>

#include "processes_internal.h"

int64_t hn__proc_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void slot_write(announce_slot *s, int64_t item, bool new_item, const char *node) {
  uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  if (new_item) {
    atomic_store_explicit(&s->item, item, memory_order_relaxed);
    if (s->timed) atomic_store_explicit(&s->start_ns, hn__proc_mono_ns(), memory_order_relaxed);
  }
  atomic_store_explicit(&s->node, node, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}

/* Worker: end it if a child forked by a node returned into the engine (see fork_guard.c). */
void hn__proc_check_forks(announce_slot *s) {
  int64_t item;
  const char *node;
  if (HN__LIKELY(!hn__fork_guard_check(&item, &node))) return;
  atomic_store(&s->stray_item, item);
  atomic_store(&s->stray_node, node);
  hn__proc_child_exit(STRAY_EXIT);
}

/* The worker's announce hook: a new item clears the node; a node call names it. */
void hn__proc_announce(void *ud, int64_t item, const char *node) {
  announce_slot *s = ud;
  hn__proc_check_forks(s);
  bool new_item = !node || atomic_load_explicit(&s->item, memory_order_relaxed) != item;
  slot_write(s, item, new_item, node);
}

/* Is `name` the name of a node of `plan` (nested plans included)? Only such a
 * pointer is dereferenced: a worker that scribbled on its slot cannot make
 * the parent read garbage. */
bool hn__proc_plan_node_name(const hn_plan *plan, const char *name) {
  for (int64_t k = 0; k < plan->n_steps; k++) {
    if (plan->steps[k].node->name == name) return true;
    if (plan->steps[k].inner && hn__proc_plan_node_name(plan->steps[k].inner, name)) return true;
  }
  return false;
}

/* Parent: a consistent snapshot (bounded retries; the node is always NUL-terminated). */
void hn__proc_slot_read(const hn_plan *plan, announce_slot *s, int64_t *item, int64_t *start_ns,
                        char *node) {
  for (int tries = 0;; tries++) {
    uint64_t q1 = atomic_load_explicit(&s->seq, memory_order_acquire);
    *item = atomic_load_explicit(&s->item, memory_order_relaxed);
    *start_ns = atomic_load_explicit(&s->start_ns, memory_order_relaxed);
    const char *name = atomic_load_explicit(&s->node, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    uint64_t q2 = atomic_load_explicit(&s->seq, memory_order_relaxed);
    if ((q1 == q2 && !(q1 & 1)) || tries >= 1000) {
      snprintf(node, HN_ERROR_NODE_MAX, "%s",
               name && hn__proc_plan_node_name(plan, name) ? name : "");
      return;
    }
  }
}

/* The parent when no process is in the slot, a worker before each batch: forget it all. */
void hn__proc_slot_reset(announce_slot *s) {
  uint64_t q = atomic_load_explicit(&s->seq, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 1, memory_order_relaxed);
  atomic_thread_fence(memory_order_release);
  atomic_store_explicit(&s->item, -1, memory_order_relaxed);
  atomic_store_explicit(&s->node, NULL, memory_order_relaxed);
  atomic_store_explicit(&s->stray_item, -1, memory_order_relaxed);
  atomic_store_explicit(&s->stray_node, NULL, memory_order_relaxed);
  atomic_store_explicit(&s->seq, q + 2, memory_order_release);
}
