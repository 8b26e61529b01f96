/*
 * libFuzzer target for snapshot restore: snapshots arrive from other devices during a
 * migration, so every byte of one is hostile input. Each input is restored into a fresh
 * instance of a fixed module (memory, mutable globals, a table with a function, a data
 * segment). A restore must either fail with a message or leave an instance that works, and
 * whatever it accepted must survive a round trip: snapshot -> restore into a second instance
 * -> snapshot gives the same bytes (otherwise the target aborts, which libFuzzer reports).
 *
 * With LIQUID_FUZZ_SEED_DIR set, LLVMFuzzerInitialize writes valid snapshots of the module
 * there first, so fuzzing starts from inputs that get past the header (fuzz/run.sh does it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liquid_engine.h"
#include "vm_alloc.h"
#include "fuzz_buffer.h"

/* (module (memory 1) (table 4 funcref) (global (mut i32) 7) (global (mut i64) 9)
 *   (func (export "f") (result i32) global.get 0 + i32.load 0) (elem (i32.const 0) 0)
 *   (data (i32.const 16) "hello") + exports "memory", "g") */
static const uint8_t module_bytes[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f,
    0x03, 0x02, 0x01, 0x00, 0x04, 0x04, 0x01, 0x70, 0x00, 0x04, 0x05, 0x03, 0x01, 0x00, 0x01,
    0x06, 0x0b, 0x02, 0x7f, 0x01, 0x41, 0x07, 0x0b, 0x7e, 0x01, 0x42, 0x09, 0x0b, 0x07, 0x12,
    0x03, 0x01, 0x66, 0x00, 0x00, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 0x02, 0x00, 0x01,
    0x67, 0x03, 0x00, 0x09, 0x07, 0x01, 0x00, 0x41, 0x00, 0x0b, 0x01, 0x00, 0x0a, 0x0c, 0x01,
    0x0a, 0x00, 0x23, 0x00, 0x41, 0x00, 0x28, 0x02, 0x00, 0x6a, 0x0b, 0x0b, 0x0b, 0x01, 0x00,
    0x41, 0x10, 0x0b, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f};

typedef struct fixture {
    vm_alloc_stats mem;
    lq_engine *engine;
    lq_module *module;
} fixture;

static int fixture_open(fixture *f) {
    memset(f, 0, sizeof *f);
    f->mem.limit = 64u << 20;
    lq_config config;
    memset(&config, 0, sizeof config);
    config.alloc = vm_alloc;
    config.alloc_user = &f->mem;
    config.limits.max_memory_pages = 16;
    if (lq_engine_new(&config, &f->engine, NULL) != LQ_OK) return 0;
    if (lq_module_load(f->engine, module_bytes, sizeof module_bytes, &f->module, NULL) != LQ_OK) {
        lq_engine_free(f->engine);
        return 0;
    }
    return 1;
}

static void fixture_close(fixture *f) {
    lq_module_free(f->module);
    lq_engine_free(f->engine);
}

static lq_instance *new_instance(fixture *f) {
    lq_instance *instance = NULL;
    if (lq_instantiate_with(f->module, NULL, 0, &instance, NULL) != LQ_OK) {
        if (instance) lq_instance_free(instance);
        return NULL;
    }
    return instance;
}

static void write_seed(const char *dir, const char *name, const buffer *b) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *out = fopen(path, "wb");
    if (out == NULL) return;
    fwrite(b->data, 1, b->len, out);
    fclose(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    const char *dir = getenv("LIQUID_FUZZ_SEED_DIR");
    fixture f;
    if (dir == NULL || !fixture_open(&f)) return 0;
    lq_instance *instance = new_instance(&f);
    if (instance != NULL) {
        buffer fresh = {NULL, 0, 0, 0}, used = {NULL, 0, 0, 0};
        if (lq_snapshot(instance, buffer_write, &fresh, NULL) == LQ_OK) {
            write_seed(dir, "fresh.snapshot", &fresh);
        }
        /* A used instance: memory written in several places, globals changed. */
        static const char text[] = "liquid snapshot seed";
        lq_memory_write(instance, 0, text, sizeof text, NULL);
        lq_memory_write(instance, 40000, text, sizeof text, NULL);
        lq_global *g = lq_instance_global(instance, "g");
        if (g) lq_global_set(g, lq_i32(12345), NULL);
        if (lq_snapshot(instance, buffer_write, &used, NULL) == LQ_OK) {
            write_seed(dir, "used.snapshot", &used);
        }
        free(fresh.data);
        free(used.data);
        lq_instance_free(instance);
    }
    fixture_close(&f);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fixture f;
    if (!fixture_open(&f)) return 0;
    lq_instance *a = new_instance(&f);
    lq_instance *b = new_instance(&f);
    if (a != NULL && b != NULL && lq_restore(a, data, size, NULL) == LQ_OK) {
        /* The restored instance must still run. */
        lq_func *fn = lq_instance_func(a, "f");
        lq_value result;
        lq_set_fuel(a, 1000);
        if (fn != NULL) lq_call(fn, NULL, 0, &result, 1, NULL);
        if (lq_is_suspended(a)) lq_abort(a);
        /* What was accepted survives a round trip unchanged. */
        buffer first = {NULL, 0, 0, 0}, second = {NULL, 0, 0, 0};
        if (lq_snapshot(a, buffer_write, &first, NULL) == LQ_OK) {
            if (lq_restore(b, first.data, first.len, NULL) != LQ_OK ||
                lq_snapshot(b, buffer_write, &second, NULL) != LQ_OK || first.len != second.len ||
                memcmp(first.data, second.data, first.len) != 0) {
                fprintf(stderr, "fuzz_restore: a restored snapshot does not round-trip\n");
                abort();
            }
        }
        free(first.data);
        free(second.data);
    }
    if (a) lq_instance_free(a);
    if (b) lq_instance_free(b);
    fixture_close(&f);
    return 0;
}
