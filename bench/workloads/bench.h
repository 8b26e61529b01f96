/*
 * Shared definitions for the benchmark workloads. Every workload is one C file exporting
 * `int run(int n)` that does n units of work and returns a checksum; the same file is compiled
 * to wasm32 (clang-14) and natively (gcc), and the runner checks that every engine returns the
 * same checksum before it compares times.
 */
#ifndef LIQUID_BENCH_H
#define LIQUID_BENCH_H

#include <stddef.h>
#include <stdint.h>

int run(int n);

/* Deterministic pseudo-random numbers so every engine sees the same data. */
static inline uint32_t bench_next(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return *state;
}

#endif
