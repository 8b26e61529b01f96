/*
 * Measures what one module instance costs in RAM on a Cortex-M4 (run in QEMU mps2-an386 by
 * bench/size.mjs): the engine allocates only from an lq_arena, whose counters say how many
 * bytes the engine, the loaded module and the instance hold. Prints through semihosting and
 * exits QEMU with the status. The modules (bench/workloads/fib.c linked with a 1-page memory,
 * and the AssemblyScript examples) come from module_bytes.h, which size.mjs generates.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "liquid_engine.h"
#include "module_bytes.h"

/* ---- bare-metal startup: vector table, data/bss init, semihosting output and exit ---- */

extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;
int main(void);
void size_reset(void);

__attribute__((section(".vectors"), used)) static const void *const vectors[2] = {
    &__stack_top, (const void *)size_reset};

static int semihost(int op, const void *arg) {
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void put(const char *s) {
    semihost(0x04, s); /* SYS_WRITE0 */
}

static void put_u(const char *label, unsigned long v) {
    char buf[24];
    int n = 0;
    do {
        buf[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    char out[24];
    for (int i = 0; i < n; i++) out[i] = buf[n - 1 - i];
    out[n] = '\0';
    put(label);
    put(out);
    put("\n");
}

static void quit(int status) {
    /* SYS_EXIT_EXTENDED: ADP_Stopped_ApplicationExit with the exit status. */
    static uint32_t block[2];
    block[0] = 0x20026;
    block[1] = (uint32_t)status;
    semihost(0x20, block);
    for (;;) {
    }
}

void size_reset(void) {
    /* Lazy stacking of FP registers needs the FPU enabled before any float code runs. */
    *(volatile uint32_t *)0xE000ED88 |= 0xFu << 20;
    __asm__ volatile("dsb\n isb");
    memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
    memset(&__bss_start, 0, (size_t)((char *)&__bss_end - (char *)&__bss_start));
    quit(main());
}

/* newlib's libc pulls these in; nothing here needs a heap or files. */
void *_sbrk(ptrdiff_t n) {
    (void)n;
    return (void *)-1;
}

/* ---- the measurement ---- */

static uint8_t arena_buffer[1u << 20] __attribute__((aligned(8)));

#define MAX_IMPORTS 32

/* Host functions standing in for the HAL: return zeros (nothing is called here anyway). */
static lq_status zero_host(lq_instance *caller, void *user, const lq_value *args,
                           lq_value *results) {
    (void)caller;
    (void)args;
    const char *result_types = user;
    for (size_t i = 0; result_types[i] != '\0'; i++) results[i].of.i64 = 0;
    return LQ_OK;
}

/* Loads and instantiates one module, printing what each step holds in the arena. */
static int measure(lq_engine *engine, lq_arena *arena, const bench_module *m) {
    lq_error err;
    lq_module *module = NULL;
    lq_instance *instance = NULL;
    lq_func *stubs[MAX_IMPORTS];
    lq_extern imports[MAX_IMPORTS];
    uint32_t nimports = 0;
    int status = 1;
    size_t before = arena->used;
    if (lq_module_load(engine, m->bytes, m->size, &module, &err) != LQ_OK) goto fail;
    size_t after_module = arena->used;
    nimports = lq_module_import_count(module);
    if (nimports > MAX_IMPORTS) {
        put("too many imports\n");
        lq_module_free(module);
        return 1;
    }
    for (uint32_t i = 0; i < nimports; i++) {
        lq_import_info info;
        stubs[i] = NULL;
        if (lq_module_import(module, i, &info) != LQ_OK || info.type.kind != LQ_EXTERN_FUNC ||
            lq_func_new_host(engine, info.type.params, info.type.results, zero_host,
                             (void *)info.type.results, &stubs[i], &err) != LQ_OK) {
            nimports = i;
            put("unsupported import\n");
            goto done;
        }
        imports[i].kind = LQ_EXTERN_FUNC;
        imports[i].of.func = stubs[i];
    }
    size_t before_instance = arena->used;
    if (lq_instantiate_with(module, imports, nimports, &instance, &err) != LQ_OK) goto fail;
    size_t after_instance = arena->used;
    lq_memory *memory = lq_instance_memory(instance);
    put("module ");
    put(m->name);
    put("\n");
    put_u("wasm_bytes ", (unsigned long)m->size);
    put_u("module_ram ", (unsigned long)(after_module - before));
    put_u("instance_ram ", (unsigned long)(after_instance - before_instance));
    put_u("linear_memory ", (unsigned long)(memory ? lq_memory_size(memory) : 0));
    lq_func *run = lq_instance_func(instance, "run");
    if (run != NULL) {
        lq_value arg = lq_i32(20), result;
        if (lq_call(run, &arg, 1, &result, 1, &err) != LQ_OK) goto fail;
        put_u("run20 ", (unsigned long)result.of.i32);
    }
    status = 0;
    goto done;
fail:
    put(err.message);
    put("\n");
done:
    if (instance) lq_instance_free(instance);
    for (uint32_t i = 0; i < nimports; i++) lq_func_free(stubs[i]);
    if (module) lq_module_free(module);
    return status;
}

int main(void) {
    lq_arena arena;
    lq_arena_init(&arena, arena_buffer, sizeof arena_buffer);
    lq_config config;
    memset(&config, 0, sizeof config);
    config.alloc = lq_arena_alloc;
    config.alloc_user = &arena;
    /* Device-sized limits, as a microcontroller runtime would set them. */
    config.limits.value_stack_slots = 1024;
    config.limits.call_depth = 64;
    config.limits.max_memory_pages = 2;
    lq_engine *engine = NULL;
    lq_error err;
    if (lq_engine_new(&config, &engine, &err) != LQ_OK) {
        put(err.message);
        return 1;
    }
    put_u("engine_ram ", (unsigned long)arena.used);
    int status = 0;
    for (size_t i = 0; i < sizeof bench_modules / sizeof bench_modules[0]; i++) {
        status |= measure(engine, &arena, &bench_modules[i]);
    }
    lq_engine_free(engine);
    put_u("peak_ram ", (unsigned long)arena.high_water);
    return status;
}
