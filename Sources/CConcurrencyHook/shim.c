#include "CConcurrencyHook.h"

#include <stddef.h>

// The runtime's hook (swift/Runtime/Concurrency.h): called with Swift's calling convention for every job enqueued on
// the global executor. It is referenced here rather than looked up with dlsym, because a program linked with the
// static Swift runtime does not export the runtime's symbols.
typedef void (*zk_enqueue_original)(void *job) __attribute__((swiftcall));
typedef void (*zk_enqueue_hook)(void *job, zk_enqueue_original original) __attribute__((swiftcall));
extern zk_enqueue_hook swift_task_enqueueGlobal_hook;

static void (*enqueue_target)(void *job);

__attribute__((swiftcall)) static void forward_to_target(void *job, zk_enqueue_original original) {
    (void)original;
    enqueue_target(job);
}

bool zk_install_global_enqueue(void (*enqueue)(void *job)) {
    if (swift_task_enqueueGlobal_hook != NULL) return false;
    enqueue_target = enqueue;
    swift_task_enqueueGlobal_hook = forward_to_target;
    return true;
}
