#include "vm_alloc.h"

#include <stdlib.h>

void *vm_alloc(void *user, void *ptr, size_t old_size, size_t new_size) {
    vm_alloc_stats *stats = user;
    if (new_size == 0) {
        free(ptr);
        stats->current -= ptr ? old_size : 0;
        return NULL;
    }
    size_t base = stats->current - (ptr ? old_size : 0);
    if (stats->limit != 0 && (new_size > stats->limit || base > stats->limit - new_size)) {
        return NULL;
    }
    void *p = realloc(ptr, new_size);
    if (p == NULL) return NULL;
    stats->current = base + new_size;
    if (stats->current > stats->peak) stats->peak = stats->current;
    return p;
}
