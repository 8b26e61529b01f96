/*
 * Runs a wast2json script (the WebAssembly spec test suite format) against the engine:
 * modules, register, actions and every assert_* command, with the spectest host module.
 */
#ifndef LIQUID_VM_SPEC_RUNNER_H
#define LIQUID_VM_SPEC_RUNNER_H

#include <stdint.h>
#include <stdio.h>

#include "liquid_engine.h"

typedef struct spec_totals {
    unsigned long passed;
    unsigned long failed;
    unsigned long skipped;
} spec_totals;

typedef struct spec_options {
    /* Where failure lines go (one per failed command). */
    FILE *out;
    /* Fuel given to the invoked instance before every action (LQ_FUEL_UNLIMITED: none). */
    uint64_t fuel;
} spec_options;

/*
 * Runs the script at `path`, adding to *totals. Returns 0 when the script ran (whatever the
 * outcome of its commands) or -1 when it could not be read or parsed (message in err).
 */
int spec_run_script(lq_engine *engine, const char *path, const spec_options *options,
                    spec_totals *totals, char *err, size_t err_size);

#endif
