/*
 * liquid_engine.h — public API of the Liquid WebAssembly engine.
 *
 * WebAssembly 2.0 without SIMD: MVP, mutable-global import/export, sign-extension,
 * non-trapping float-to-int, multi-value, bulk memory and reference types.
 *
 * The engine is C99, OS-free and allocation-aware: every byte it uses comes from the
 * allocator hook in lq_config (or from lq_arena, a caller-supplied buffer). It never
 * recurses on the C stack per wasm call, so deep wasm recursion is bounded by the limits
 * below and ends in a clean trap.
 *
 * Conventions
 *  - Every fallible function returns an lq_status and takes an optional `lq_error *err`
 *    (may be NULL) that receives a human-readable message on failure.
 *  - Strings passed in are (pointer, length) unless noted; names returned by
 *    introspection are also NUL-terminated for convenience (wasm names may contain NUL,
 *    so use the length when it matters).
 *  - Floats travel as raw IEEE-754 bits (lq_value.of.f32 / .f64) so that NaN payloads
 *    and -0 survive the API unchanged.
 *  - Object lifetime: an lq_module must outlive its instances; an instance whose exports
 *    were imported by another instance must outlive the importer; host-created funcs,
 *    globals, memories and tables must outlive the instances that import them.
 */
#ifndef LIQUID_ENGINE_H
#define LIQUID_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LQ_ENGINE_VERSION "1.0.0"

/* ------------------------------------------------------------------ status & errors */

typedef enum lq_status {
    LQ_OK = 0,
    LQ_TRAP = 1,        /* wasm trap (unreachable, out of bounds, ...) or host trap; the
                           call is over and the instance is ready for the next call */
    LQ_SUSPENDED = 2,   /* fuel ran out: the call is paused and must be resumed with
                           lq_resume() (after lq_set_fuel) or dropped with lq_abort() */
    LQ_ERROR = 3        /* invalid/malformed module, link error, bad argument, no memory */
} lq_status;

#define LQ_MESSAGE_MAX 160

typedef struct lq_error {
    lq_status status;               /* same as the returned status */
    char message[LQ_MESSAGE_MAX];   /* NUL-terminated, "" when status is LQ_OK */
} lq_error;

/* ------------------------------------------------------------------ values */

/* Value type codes are the WebAssembly binary encodings. */
typedef enum lq_valtype {
    LQ_I32 = 0x7F,
    LQ_I64 = 0x7E,
    LQ_F32 = 0x7D,
    LQ_F64 = 0x7C,
    LQ_FUNCREF = 0x70,
    LQ_EXTERNREF = 0x6F
} lq_valtype;

typedef struct lq_func lq_func;

/* A tagged value. References: NULL is the null reference. A funcref is an lq_func *;
 * an externref is any host pointer (the host chooses its meaning; note NULL is null). */
typedef struct lq_value {
    uint8_t type;            /* lq_valtype */
    union {
        uint32_t i32;
        uint64_t i64;
        uint32_t f32;        /* raw bits */
        uint64_t f64;        /* raw bits */
        void *ref;           /* funcref (lq_func *) or externref */
    } of;
} lq_value;

/* Convenience constructors. */
lq_value lq_i32(int32_t v);
lq_value lq_i64(int64_t v);
lq_value lq_f32_bits(uint32_t bits);
lq_value lq_f64_bits(uint64_t bits);
lq_value lq_ref(lq_valtype type, void *ref);

/* ------------------------------------------------------------------ engine & memory */

/* Allocator hook, realloc-style: ptr==NULL allocates, new_size==0 frees (return NULL),
 * otherwise resizes keeping the first min(old,new) bytes. Returns NULL when out of memory.
 * old_size is the size previously returned for ptr (0 when ptr is NULL). Memory must be
 * aligned for any C object (8 bytes is enough). */
typedef void *(*lq_alloc_fn)(void *user, void *ptr, size_t old_size, size_t new_size);

/* Limits. A zero field means "use the default" shown in brackets. */
typedef struct lq_limits {
    uint32_t max_module_size;     /* bytes of wasm accepted by lq_module_load [16 MiB] */
    uint32_t max_memory_pages;    /* 64 KiB pages per linear memory [65536] */
    uint32_t max_table_size;      /* elements per table [1,000,000] */
    uint32_t value_stack_slots;   /* 8-byte slots of each instance's value stack [65536] */
    uint32_t call_depth;          /* nested wasm calls per instance [10,000] */
    uint32_t max_function_locals; /* params+locals of one function [50,000] */
    uint32_t start_fuel;          /* fuel for a module's start function during lq_instantiate
                                     [0 = unlimited]; exhausted: LQ_TRAP "start function ran
                                     out of fuel" (it cannot be resumed, nothing else runs) */
} lq_limits;

typedef struct lq_config {
    lq_alloc_fn alloc;            /* required unless an arena is set with lq_arena_init */
    void *alloc_user;
    lq_limits limits;
} lq_config;

typedef struct lq_engine lq_engine;

/* Creates an engine. config->alloc must be set (see lq_arena_* for a malloc-free one).
 * The engine object itself is allocated with the hook. */
lq_status lq_engine_new(const lq_config *config, lq_engine **out, lq_error *err);
void lq_engine_free(lq_engine *engine);

/* A simple allocator over a caller buffer (first-fit free list), usable as lq_config.alloc
 * with alloc_user = the arena. Use on devices without malloc. */
typedef struct lq_arena {
    uint8_t *base;
    size_t size;
    void *free_list;      /* private */
    size_t used;          /* bytes currently allocated (incl. headers) */
    size_t high_water;    /* peak of used */
} lq_arena;
void lq_arena_init(lq_arena *arena, void *buffer, size_t size);
void *lq_arena_alloc(void *arena, void *ptr, size_t old_size, size_t new_size);

/* ------------------------------------------------------------------ modules */

typedef struct lq_module lq_module;

typedef enum lq_externkind {
    LQ_EXTERN_FUNC = 0,
    LQ_EXTERN_TABLE = 1,
    LQ_EXTERN_MEMORY = 2,
    LQ_EXTERN_GLOBAL = 3
} lq_externkind;

#define LQ_NO_MAXIMUM 0xFFFFFFFFu

/* Type of an import or export. Function types are strings of value-type letters:
 * 'i' i32, 'I' i64, 'f' f32, 'F' f64, 'r' funcref, 'e' externref; e.g. params "ii",
 * results "I" (both "" for () -> ()). */
typedef struct lq_externtype {
    uint8_t kind;                 /* lq_externkind */
    const char *params;           /* FUNC: NUL-terminated letters */
    const char *results;          /* FUNC */
    uint8_t valtype;              /* GLOBAL: lq_valtype; TABLE: element type */
    uint8_t mutable_;             /* GLOBAL: 1 if mutable */
    uint32_t min;                 /* TABLE/MEMORY: minimum (elements / pages) */
    uint32_t max;                 /* TABLE/MEMORY: maximum or LQ_NO_MAXIMUM */
} lq_externtype;

typedef struct lq_import_info {
    const char *module; uint32_t module_len;
    const char *name;   uint32_t name_len;
    lq_externtype type;
} lq_import_info;

typedef struct lq_export_info {
    const char *name; uint32_t name_len;
    lq_externtype type;
    uint32_t index;               /* index in the module's space of that kind */
} lq_export_info;

/* Decodes and fully validates a binary module. The bytes are copied where needed; the
 * caller may free them after the call. Malformed or invalid input gives LQ_ERROR with a
 * message such as "malformed: unexpected end of section (offset 23)" or
 * "invalid: type mismatch in i32.add (function 3, offset 120)". */
lq_status lq_module_load(lq_engine *engine, const uint8_t *bytes, size_t size,
                         lq_module **out, lq_error *err);
void lq_module_free(lq_module *module);

uint32_t lq_module_import_count(const lq_module *module);
uint32_t lq_module_export_count(const lq_module *module);
/* Fill *out for import/export i; return LQ_ERROR if i is out of range. Pointers stay
 * valid as long as the module lives. */
lq_status lq_module_import(const lq_module *module, uint32_t i, lq_import_info *out);
lq_status lq_module_export(const lq_module *module, uint32_t i, lq_export_info *out);
/* SHA-256 of the exact bytes given to lq_module_load (identifies the module in snapshots). */
const uint8_t *lq_module_sha256(const lq_module *module);   /* 32 bytes */

/* Standalone SHA-256 (used for module identity; exported for the runtime). */
void lq_engine_sha256(const void *data, size_t len, uint8_t out[32]);

/* ------------------------------------------------------------------ external objects */

typedef struct lq_global lq_global;
typedef struct lq_memory lq_memory;
typedef struct lq_table lq_table;
typedef struct lq_instance lq_instance;

/* Host function: called with the instance whose code made the call (NULL when invoked
 * directly through lq_call), the user pointer given at creation, the arguments and room
 * for the results (types already set). Return LQ_OK, or LQ_TRAP after lq_host_trap(). */
typedef lq_status (*lq_host_fn)(lq_instance *caller, void *user,
                                const lq_value *args, lq_value *results);

/* Sets the trap message for the host function currently running on `caller` (printf-free:
 * the message is copied as is, truncated to LQ_MESSAGE_MAX-1). Returns LQ_TRAP. */
lq_status lq_host_trap(lq_instance *caller, const char *message);

/* Creates a host function with a type given as letter strings (see lq_externtype). */
lq_status lq_func_new_host(lq_engine *engine, const char *params, const char *results,
                           lq_host_fn fn, void *user, lq_func **out, lq_error *err);
void lq_func_free(lq_func *func);   /* host functions only */
/* Type of any function (host or wasm) as letter strings. */
void lq_func_type(const lq_func *func, const char **params, const char **results);

/* Host-owned globals, memories and tables, e.g. the spectest module's. */
lq_status lq_global_new(lq_engine *engine, lq_value init, int mutable_, lq_global **out,
                        lq_error *err);
void lq_global_free(lq_global *global);
lq_value lq_global_get(const lq_global *global);
/* Fails if the global is immutable or the value type differs. */
lq_status lq_global_set(lq_global *global, lq_value value, lq_error *err);

lq_status lq_memory_new(lq_engine *engine, uint32_t min_pages, uint32_t max_pages,
                        lq_memory **out, lq_error *err);
void lq_memory_free(lq_memory *memory);
uint8_t *lq_memory_data(lq_memory *memory);     /* may move after a grow */
uint32_t lq_memory_size(const lq_memory *memory); /* bytes */

lq_status lq_table_new(lq_engine *engine, lq_valtype elem, uint32_t min, uint32_t max,
                       lq_table **out, lq_error *err);
void lq_table_free(lq_table *table);
uint32_t lq_table_size(const lq_table *table);
lq_status lq_table_get(const lq_table *table, uint32_t index, lq_value *out, lq_error *err);
lq_status lq_table_set(lq_table *table, uint32_t index, lq_value value, lq_error *err);
/* Grows any table (host-created or an instance's, e.g. one it exports) by `delta` elements
 * set to `init`, as table.grow does; *old_size (may be NULL) receives the size before. Fails
 * past the table's maximum (or the engine's max_table_size), on an element type mismatch,
 * or out of memory. The runtime uses it to append a library's slots to an app's table. */
lq_status lq_table_grow(lq_table *table, uint32_t delta, lq_value init, uint32_t *old_size,
                        lq_error *err);

/* Anything that can be imported or exported. */
typedef struct lq_extern {
    uint8_t kind;                 /* lq_externkind */
    union {
        lq_func *func;
        lq_table *table;
        lq_memory *memory;
        lq_global *global;
    } of;
} lq_extern;

/* ------------------------------------------------------------------ instances */

/* Import resolver: fill *out for `import` and return LQ_OK, or return LQ_ERROR (the
 * instantiation then fails with "unknown import MODULE.NAME"). The engine checks kinds
 * and types and reports "incompatible import type for MODULE.NAME" on mismatch. */
typedef lq_status (*lq_resolve_fn)(void *user, const lq_import_info *import, lq_extern *out);

/* Instantiates: resolves imports, allocates memory/tables/globals/stacks, evaluates
 * initialisers, applies active data/element segments and runs the start function (with
 * lq_limits.start_fuel, unlimited by default; the instance's fuel is unlimited afterwards).
 *  LQ_OK     *out is the new instance.
 *  LQ_ERROR  link error or out of memory; *out is NULL.
 *  LQ_TRAP   a segment was out of bounds or the start function trapped. As in the wasm
 *            spec, writes already made to imported memories/tables stay, and functions
 *            of this instance placed in imported tables stay callable: so *out STILL
 *            receives the (unusable for anything else) instance, which the embedder must
 *            keep alive while those tables are used and free with lq_instance_free. */
lq_status lq_instantiate(lq_module *module, lq_resolve_fn resolve, void *resolve_user,
                         lq_instance **out, lq_error *err);
/* Convenience: imports given as an array in module import order. */
lq_status lq_instantiate_with(lq_module *module, const lq_extern *imports, uint32_t count,
                              lq_instance **out, lq_error *err);
void lq_instance_free(lq_instance *instance);

const lq_module *lq_instance_module(const lq_instance *instance);
/* Arbitrary embedder data attached to the instance (e.g. the runtime's app record). */
void lq_instance_set_user(lq_instance *instance, void *user);
void *lq_instance_user(const lq_instance *instance);

/* Looks up an export by NUL-terminated name. Returns LQ_ERROR if absent. */
lq_status lq_instance_export(lq_instance *instance, const char *name, lq_extern *out);
/* Same with an explicit length (export names may contain NUL bytes). */
lq_status lq_instance_export_n(lq_instance *instance, const char *name, uint32_t len, lq_extern *out);
/* Shorthands for an exported function / global / the memory (NULL when absent). */
lq_func *lq_instance_func(lq_instance *instance, const char *name);
lq_global *lq_instance_global(lq_instance *instance, const char *name);
lq_memory *lq_instance_memory(lq_instance *instance);   /* memory 0, imported or own */

/* Bounds-checked access to memory 0 of the instance; LQ_ERROR if out of range. */
lq_status lq_memory_read(lq_instance *instance, uint32_t offset, void *dst, uint32_t len,
                         lq_error *err);
lq_status lq_memory_write(lq_instance *instance, uint32_t offset, const void *src,
                          uint32_t len, lq_error *err);

/* ------------------------------------------------------------------ calls & fuel */

/* Calls a function with typed arguments (types must match exactly) and receives its
 * results. Executes on the stack of the instance that owns the function.
 *  LQ_OK        results written
 *  LQ_TRAP      err->message e.g. "integer divide by zero", "out of bounds memory access",
 *               "call stack exhausted", "unreachable"
 *  LQ_SUSPENDED fuel ran out; the call keeps its state inside the instance. Call
 *               lq_resume() (results are delivered there) or lq_abort().
 *  LQ_ERROR     bad arguments (count/type), or the instance already has a call in
 *               progress/suspended. */
lq_status lq_call(lq_func *func, const lq_value *args, uint32_t nargs,
                  lq_value *results, uint32_t nresults, lq_error *err);
lq_status lq_resume(lq_instance *instance, lq_value *results, uint32_t nresults,
                    lq_error *err);
void lq_abort(lq_instance *instance);
int lq_is_suspended(const lq_instance *instance);

/* Fuel: one unit is charged at every wasm call (call, call_indirect) and every taken
 * backward branch, i.e. every loop iteration: the points every unbounded computation must
 * pass. A suspended call resumes exactly where it stopped. LQ_FUEL_UNLIMITED (the default)
 * disables metering. */
#define LQ_FUEL_UNLIMITED UINT64_MAX
void lq_set_fuel(lq_instance *instance, uint64_t fuel);
uint64_t lq_fuel(const lq_instance *instance);

/* ------------------------------------------------------------------ snapshots */

/* A snapshot captures an instance's state between calls: its own memory (sparse, zero-run
 * compressed), its own globals, its own tables, dropped data/element segments. Format in
 * docs/snapshot.md: "LQSN" header + tagged sections; embedders may append their own
 * sections after the engine's (lq_snapshot_section) and find them again with
 * lq_snapshot_find. The writer returns 0 on success, nonzero to abort. */
typedef int (*lq_write_fn)(void *user, const void *data, size_t len);

lq_status lq_snapshot(lq_instance *instance, lq_write_fn write, void *user, lq_error *err);
/* Same into a caller buffer (no allocation): *len receives the snapshot's size. If buf is
 * NULL or cap is too small nothing is written and LQ_ERROR says the size needed. */
lq_status lq_snapshot_to_buffer(lq_instance *instance, uint8_t *buf, size_t cap, size_t *len,
                                lq_error *err);
/* Appends one tagged section (tag = 4 ASCII chars) in the container format. */
lq_status lq_snapshot_section(lq_write_fn write, void *user, const char tag[4],
                              const void *data, uint32_t len, lq_error *err);
/* Finds the first section with `tag` in a snapshot; LQ_ERROR if absent or malformed. */
lq_status lq_snapshot_find(const uint8_t *data, size_t len, const char tag[4],
                           const uint8_t **payload, uint32_t *payload_len, lq_error *err);
/* Restores into an instance of the same module (checked by SHA-256) that has no call in
 * progress; unknown sections are skipped. Works across builds and pointer sizes. The whole
 * snapshot is checked before anything is written: on LQ_ERROR the instance is unchanged
 * (except after running out of memory while growing it). */
lq_status lq_restore(lq_instance *instance, const uint8_t *data, size_t len, lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LIQUID_ENGINE_H */
