/*
 * The processes engine: batches of items in forked worker processes over
 * the batch protocol (../remote), so that a node that crashes or hangs
 * fails only its item. Not installed; symbols use hn__.
 */
#ifndef HN_ENGINES_PROCESSES_H
#define HN_ENGINES_PROCESSES_H

#include "../remote/remote.h"

extern const hn__engine_ops hn__processes_ops;

/* Name of a signal, e.g. "SIGSEGV (segmentation fault)"; never NULL. */
const char *hn__signal_name(int sig);

/* ---- a node that forks in a worker process (fork_guard.c) ------------------------ */

/*
 * Install, in a worker process, the fork handlers that tell a node's child
 * which execs or exits from one that returns into the engine. `item` and
 * `node` are where the worker announces what runs (read when a node forks).
 */
hn_status hn__fork_guard_install(const _Atomic int64_t *item, _Atomic(const char *) const *node,
                                 hn_error *err);
/*
 * Call wherever engine code resumes after node code (before each announce
 * and before each message to the parent). In a child that returned from a
 * node: reports to the worker and _exits, never returning. In the worker:
 * waits for each child forked since the last check to exec, exit or report;
 * returns true when one reported, with the item and node announced when it
 * forked (the stray is reaped). Cheap when no node forked: one branch.
 */
bool hn__fork_guard_check(int64_t *item, const char **node);

#endif /* HN_ENGINES_PROCESSES_H */
