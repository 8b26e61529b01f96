/*
 * libFuzzer target for the engine: every input is treated as a module binary and taken as
 * far as it goes — decode and validate, instantiate with every import satisfied by a
 * host object of the right type, call each exported function with zero arguments under a
 * fuel budget, then snapshot the instance and restore the snapshot into it.
 *
 * Bounds keep hostile inputs from turning into slow or huge runs that say nothing about
 * correctness: a memory cap on the allocator, small engine limits, and fuel per call.
 * Any crash, sanitizer report or leak is a finding; traps and load errors are expected.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "liquid_engine.h"
#include "vm_alloc.h"
#include "fuzz_buffer.h"

#define FUZZ_MEMORY_CAP (64u << 20)
#define FUZZ_FUEL_PER_CALL 20000u
#define FUZZ_MAX_IMPORTS 64

typedef struct host_objects {
    lq_engine *engine;
    lq_func *funcs[FUZZ_MAX_IMPORTS];
    lq_global *globals[FUZZ_MAX_IMPORTS];
    lq_memory *memories[FUZZ_MAX_IMPORTS];
    lq_table *tables[FUZZ_MAX_IMPORTS];
    unsigned count;
} host_objects;

static lq_status zero_results(lq_instance *caller, void *user, const lq_value *args,
                              lq_value *results) {
    (void)caller;
    (void)args;
    const char *result_types = user;
    for (size_t i = 0; result_types[i] != '\0'; i++) {
        uint8_t type = results[i].type;
        memset(&results[i], 0, sizeof results[i]);
        results[i].type = type;
    }
    return LQ_OK;
}

static lq_value zero_of(uint8_t type) {
    lq_value v;
    memset(&v, 0, sizeof v);
    v.type = type;
    return v;
}

/* Satisfies any import with a fresh host object of the declared type. */
static lq_status provide_import(void *user, const lq_import_info *import, lq_extern *out) {
    host_objects *h = user;
    if (h->count >= FUZZ_MAX_IMPORTS) return LQ_ERROR;
    unsigned i = h->count++;
    const lq_externtype *t = &import->type;
    out->kind = t->kind;
    switch (t->kind) {
    case LQ_EXTERN_FUNC:
        /* The results string lives as long as the module, which outlives the host funcs. */
        if (lq_func_new_host(h->engine, t->params, t->results, zero_results,
                             (void *)t->results, &h->funcs[i], NULL) != LQ_OK) {
            return LQ_ERROR;
        }
        out->of.func = h->funcs[i];
        return LQ_OK;
    case LQ_EXTERN_GLOBAL:
        if (lq_global_new(h->engine, zero_of(t->valtype), t->mutable_, &h->globals[i], NULL) !=
            LQ_OK) {
            return LQ_ERROR;
        }
        out->of.global = h->globals[i];
        return LQ_OK;
    case LQ_EXTERN_MEMORY:
        if (lq_memory_new(h->engine, t->min, t->max, &h->memories[i], NULL) != LQ_OK) {
            return LQ_ERROR;
        }
        out->of.memory = h->memories[i];
        return LQ_OK;
    case LQ_EXTERN_TABLE:
        if (lq_table_new(h->engine, (lq_valtype)t->valtype, t->min, t->max, &h->tables[i],
                         NULL) != LQ_OK) {
            return LQ_ERROR;
        }
        out->of.table = h->tables[i];
        return LQ_OK;
    default:
        return LQ_ERROR;
    }
}

static void free_host_objects(host_objects *h) {
    for (unsigned i = 0; i < h->count; i++) {
        if (h->funcs[i]) lq_func_free(h->funcs[i]);
        if (h->globals[i]) lq_global_free(h->globals[i]);
        if (h->memories[i]) lq_memory_free(h->memories[i]);
        if (h->tables[i]) lq_table_free(h->tables[i]);
    }
}

static void call_exports(lq_instance *instance, const lq_module *module) {
    uint32_t n = lq_module_export_count(module);
    for (uint32_t i = 0; i < n && i < 32; i++) {
        lq_export_info info;
        if (lq_module_export(module, i, &info) != LQ_OK || info.type.kind != LQ_EXTERN_FUNC) {
            continue;
        }
        lq_extern ext;
        if (lq_instance_export_n(instance, info.name, info.name_len, &ext) != LQ_OK ||
            ext.kind != LQ_EXTERN_FUNC) {
            continue;
        }
        lq_func *f = ext.of.func;
        const char *params = NULL, *results = NULL;
        lq_func_type(f, &params, &results);
        size_t np = strlen(params), nr = strlen(results);
        lq_value args[16], out[16];
        if (np > 16 || nr > 16) continue;
        for (size_t k = 0; k < np; k++) args[k] = zero_of((uint8_t)(params[k] == 'i'   ? LQ_I32
                                                                  : params[k] == 'I' ? LQ_I64
                                                                  : params[k] == 'f' ? LQ_F32
                                                                  : params[k] == 'F' ? LQ_F64
                                                                  : params[k] == 'r' ? LQ_FUNCREF
                                                                                     : LQ_EXTERNREF));
        lq_set_fuel(instance, FUZZ_FUEL_PER_CALL);
        lq_status s = lq_call(f, args, (uint32_t)np, out, (uint32_t)nr, NULL);
        if (s == LQ_SUSPENDED) {
            /* Resume once with a little more fuel to exercise the suspend path, then drop. */
            lq_set_fuel(instance, FUZZ_FUEL_PER_CALL / 4);
            if (lq_resume(instance, out, (uint32_t)nr, NULL) == LQ_SUSPENDED) lq_abort(instance);
        }
        /* A re-exported import may belong to another instance that is now suspended. */
        if (lq_is_suspended(instance)) lq_abort(instance);
    }
}

/* Reads an unsigned LEB128 of at most 5 bytes; 0 on malformed input. */
static int read_u32(const uint8_t *data, size_t size, size_t *pos, uint32_t *out) {
    uint32_t v = 0;
    for (unsigned shift = 0; shift < 35; shift += 7) {
        if (*pos >= size) return 0;
        uint8_t b = data[(*pos)++];
        v |= (uint32_t)(b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

/*
 * The engine runs the start function inside lq_instantiate with unlimited fuel (an instance's
 * fuel can only be set once it exists), so a start function that loops forever would hang
 * the fuzzer. A valid module stays valid without its start section, so modules that have one
 * are decoded as they are, then instantiated and run from a copy without it. Returns a
 * malloc'ed copy, or NULL when there is no start section (or the sections do not parse).
 */
static uint8_t *without_start_section(const uint8_t *data, size_t size, size_t *out_size) {
    size_t pos = 8;
    while (pos < size) {
        size_t section = pos;
        uint8_t id = data[pos++];
        uint32_t len;
        if (!read_u32(data, size, &pos, &len) || len > size - pos) return NULL;
        pos += len;
        if (id == 8) {
            uint8_t *copy = malloc(size - (pos - section));
            if (copy == NULL) return NULL;
            memcpy(copy, data, section);
            memcpy(copy + section, data + pos, size - pos);
            *out_size = size - (pos - section);
            return copy;
        }
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    vm_alloc_stats mem = {0, 0, FUZZ_MEMORY_CAP};
    lq_config config;
    memset(&config, 0, sizeof config);
    config.alloc = vm_alloc;
    config.alloc_user = &mem;
    config.limits.max_memory_pages = 256;
    config.limits.max_table_size = 10000;
    config.limits.value_stack_slots = 16384;
    config.limits.call_depth = 500;
    lq_engine *engine = NULL;
    if (lq_engine_new(&config, &engine, NULL) != LQ_OK) return 0;
    lq_module *module = NULL;
    uint8_t *stripped = NULL;
    if (lq_module_load(engine, data, size, &module, NULL) == LQ_OK) {
        size_t stripped_size = 0;
        stripped = without_start_section(data, size, &stripped_size);
        if (stripped != NULL) {
            lq_module_free(module);
            module = NULL;
            /* Removing a section cannot make a valid module invalid; if it did, skip it. */
            if (lq_module_load(engine, stripped, stripped_size, &module, NULL) != LQ_OK) {
                module = NULL;
            }
        }
    }
    if (module != NULL) {
        host_objects h;
        memset(&h, 0, sizeof h);
        h.engine = engine;
        lq_instance *instance = NULL;
        lq_status status = lq_instantiate(module, provide_import, &h, &instance, NULL);
        if (status == LQ_OK) {
            call_exports(instance, module);
            buffer snap = {NULL, 0, 0, FUZZ_MEMORY_CAP};
            if (lq_snapshot(instance, buffer_write, &snap, NULL) == LQ_OK) {
                lq_restore(instance, snap.data, snap.len, NULL);
                call_exports(instance, module);
            }
            free(snap.data);
        }
        /* After a trap the engine still hands out the partly built instance. */
        if (instance) lq_instance_free(instance);
        free_host_objects(&h);
    }
    if (module) lq_module_free(module);
    free(stripped);
    lq_engine_free(engine);
    return 0;
}
