#include "spectest_host.h"

#include <stdio.h>
#include <string.h>

#include "vm_values.h"

static const struct {
    const char *name;
    const char *params;
} spectest_funcs[SPECTEST_FUNC_COUNT] = {
    {"print", ""},          {"print_i32", "i"},     {"print_i64", "I"},
    {"print_f32", "f"},     {"print_f64", "F"},     {"print_i32_f32", "if"},
    {"print_f64_f64", "FF"},
};

/* 666.6 as the nearest f32 and f64. */
#define SPECTEST_F32_666_6 0x4426a666u
#define SPECTEST_F64_666_6 UINT64_C(0x4084d4cccccccccd)

static lq_status spectest_print(lq_instance *caller, void *user, const lq_value *args,
                                lq_value *results) {
    (void)caller;
    (void)results;
    const spectest_func_context *ctx = user;
    if (!ctx->host->echo) return LQ_OK;
    const char *params = spectest_funcs[ctx->index].params;
    printf("call spectest.%s(", spectest_funcs[ctx->index].name);
    for (size_t i = 0; params[i] != '\0'; i++) {
        char text[VM_VALUE_TEXT_MAX];
        vm_format_value(&args[i], text);
        printf("%s%s", i ? ", " : "", text);
    }
    printf(")\n");
    return LQ_OK;
}

lq_status spectest_host_init(spectest_host *host, lq_engine *engine, int echo, lq_error *err) {
    memset(host, 0, sizeof *host);
    host->echo = echo;
    for (int i = 0; i < SPECTEST_FUNC_COUNT; i++) {
        host->contexts[i].host = host;
        host->contexts[i].index = i;
        if (lq_func_new_host(engine, spectest_funcs[i].params, "", spectest_print,
                             &host->contexts[i], &host->funcs[i], err) != LQ_OK) {
            spectest_host_free(host);
            return LQ_ERROR;
        }
    }
    if (lq_global_new(engine, lq_i32(666), 0, &host->global_i32, err) != LQ_OK ||
        lq_global_new(engine, lq_i64(666), 0, &host->global_i64, err) != LQ_OK ||
        lq_global_new(engine, lq_f32_bits(SPECTEST_F32_666_6), 0, &host->global_f32, err) !=
            LQ_OK ||
        lq_global_new(engine, lq_f64_bits(SPECTEST_F64_666_6), 0, &host->global_f64, err) !=
            LQ_OK ||
        lq_table_new(engine, LQ_FUNCREF, 10, 20, &host->table, err) != LQ_OK ||
        lq_memory_new(engine, 1, 2, &host->memory, err) != LQ_OK) {
        spectest_host_free(host);
        return LQ_ERROR;
    }
    return LQ_OK;
}

void spectest_host_free(spectest_host *host) {
    for (int i = 0; i < SPECTEST_FUNC_COUNT; i++) {
        if (host->funcs[i]) lq_func_free(host->funcs[i]);
        host->funcs[i] = NULL;
    }
    if (host->global_i32) lq_global_free(host->global_i32);
    if (host->global_i64) lq_global_free(host->global_i64);
    if (host->global_f32) lq_global_free(host->global_f32);
    if (host->global_f64) lq_global_free(host->global_f64);
    if (host->table) lq_table_free(host->table);
    if (host->memory) lq_memory_free(host->memory);
    host->global_i32 = host->global_i64 = host->global_f32 = host->global_f64 = NULL;
    host->table = NULL;
    host->memory = NULL;
}

static int name_is(const char *name, uint32_t len, const char *want) {
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

lq_status spectest_host_lookup(const spectest_host *host, const char *name, uint32_t name_len,
                               lq_extern *out) {
    for (int i = 0; i < SPECTEST_FUNC_COUNT; i++) {
        if (name_is(name, name_len, spectest_funcs[i].name)) {
            out->kind = LQ_EXTERN_FUNC;
            out->of.func = host->funcs[i];
            return LQ_OK;
        }
    }
    const struct {
        const char *name;
        lq_global *global;
    } globals[] = {{"global_i32", host->global_i32}, {"global_i64", host->global_i64},
                   {"global_f32", host->global_f32}, {"global_f64", host->global_f64}};
    for (size_t i = 0; i < sizeof globals / sizeof globals[0]; i++) {
        if (name_is(name, name_len, globals[i].name)) {
            out->kind = LQ_EXTERN_GLOBAL;
            out->of.global = globals[i].global;
            return LQ_OK;
        }
    }
    if (name_is(name, name_len, "table")) {
        out->kind = LQ_EXTERN_TABLE;
        out->of.table = host->table;
        return LQ_OK;
    }
    if (name_is(name, name_len, "memory")) {
        out->kind = LQ_EXTERN_MEMORY;
        out->of.memory = host->memory;
        return LQ_OK;
    }
    return LQ_ERROR;
}
