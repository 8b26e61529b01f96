/*
 * The allocator liquid-vm gives the engine: malloc underneath, plus byte counters so --stats
 * can report the engine's peak memory (modules, instances, stacks, linear memories).
 * An optional limit makes allocations fail cleanly, which the fuzzer uses to keep
 * hostile modules from asking for gigabytes.
 */
#ifndef LIQUID_VM_ALLOC_H
#define LIQUID_VM_ALLOC_H

#include <stddef.h>

typedef struct vm_alloc_stats {
    size_t current;
    size_t peak;
    size_t limit; /* 0: no limit */
} vm_alloc_stats;

/* An lq_alloc_fn; `user` is a vm_alloc_stats. */
void *vm_alloc(void *user, void *ptr, size_t old_size, size_t new_size);

#endif
