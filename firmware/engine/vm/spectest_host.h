/*
 * The `spectest` host module that the WebAssembly spec test scripts import: print functions,
 * four constant globals (666 / 666.6), a funcref table of 10..20 elements and a memory of
 * 1..2 pages. One set of objects is shared by every module of a script, as in the reference
 * interpreter, so writes through the table or memory are visible to later modules.
 */
#ifndef LIQUID_VM_SPECTEST_HOST_H
#define LIQUID_VM_SPECTEST_HOST_H

#include "liquid_engine.h"

#define SPECTEST_FUNC_COUNT 7

struct spectest_host;

/* What a print function needs to know about itself when it runs. */
typedef struct spectest_func_context {
    const struct spectest_host *host;
    int index;
} spectest_func_context;

typedef struct spectest_host {
    lq_func *funcs[SPECTEST_FUNC_COUNT];
    spectest_func_context contexts[SPECTEST_FUNC_COUNT];
    lq_global *global_i32, *global_i64, *global_f32, *global_f64;
    lq_table *table;
    lq_memory *memory;
    /* When set, print functions write `call spectest.NAME(ARGS)` lines to stdout. */
    int echo;
} spectest_host;

lq_status spectest_host_init(spectest_host *host, lq_engine *engine, int echo, lq_error *err);
void spectest_host_free(spectest_host *host);

/* Fills *out with spectest's export `name` (name_len bytes); LQ_ERROR when there is none. */
lq_status spectest_host_lookup(const spectest_host *host, const char *name, uint32_t name_len,
                               lq_extern *out);

#endif
