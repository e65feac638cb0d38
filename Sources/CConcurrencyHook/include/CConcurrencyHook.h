#ifndef ZK_CONCURRENCY_HOOK_H
#define ZK_CONCURRENCY_HOOK_H

#include <stdbool.h>

/// Sends every job of Swift concurrency's global executor to `enqueue` instead of the runtime's thread pool, by
/// setting the runtime's `swift_task_enqueueGlobal_hook`. False (and nothing changed) when a hook is already set.
/// Must be called before the first task starts.
bool zk_install_global_enqueue(void (*enqueue)(void *job));

#endif
