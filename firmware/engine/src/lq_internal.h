/* Internal data structures shared by the engine's source files (not part of the API). */
#ifndef LQ_INTERNAL_H
#define LQ_INTERNAL_H

#include <string.h>
#include "liquid_engine.h"

#define LQE_PAGE 65536u
#define LQE_UNKNOWN 0   /* polymorphic stack entry during validation */

/* The wider set of fused instructions (docs/engine.md) costs code size; builds with switch
 * dispatch (the Cortex-M default, where every KB counts) leave it out. */
#ifdef LQ_THREADED_DISPATCH
#define LQE_WIDE_FUSION 1
#else
#define LQE_WIDE_FUSION 0
#endif

/* --- allocation: every block carries its size so frees need no bookkeeping by callers */
void *lqe_malloc(lq_engine *e, size_t size);           /* zeroed */
void *lqe_malloc_raw(lq_engine *e, size_t size);       /* not zeroed */
void *lqe_realloc(lq_engine *e, void *p, size_t size); /* new tail is NOT zeroed */
void lqe_free(lq_engine *e, void *p);

struct lq_engine {
    lq_alloc_fn alloc;
    void *alloc_user;
    lq_limits limits;
};

/* --- errors */
lq_status lqe_fail(lq_error *err, lq_status st, const char *msg);
/* msg + " (" + what + " " + number + ")" without printf */
lq_status lqe_failn(lq_error *err, lq_status st, const char *msg, const char *what, uint64_t n);
void lqe_strcat(char *dst, size_t cap, const char *src);
void lqe_utoa(char *dst, size_t cap, uint64_t v);

/* --- types */
typedef struct lqe_functype {
    uint32_t nparams, nresults;
    uint8_t *types;        /* params then results, valtype codes */
    char *params;          /* letter strings for the API */
    char *results;
} lqe_functype;

int lqe_functype_equal(const lqe_functype *a, const lqe_functype *b);
char lqe_type_letter(uint8_t t);
int lqe_letter_type(char c, uint8_t *t);

typedef struct lqe_constexpr {
    uint8_t op;            /* wasm opcode: 0x41 i32.const, 0x42, 0x43, 0x44, 0xD0 ref.null, 0xD2 ref.func, 0x23 global.get */
    uint64_t value;        /* constant bits, or index */
} lqe_constexpr;

typedef struct lqe_import {
    char *module; uint32_t module_len;
    char *name; uint32_t name_len;
    uint8_t kind;
    uint32_t index;        /* type index (func) or index into the kind's space */
    uint32_t func_index;   /* func imports: index in the function space */
} lqe_import;

typedef struct lqe_export {
    char *name; uint32_t name_len;
    uint8_t kind;
    uint32_t index;
} lqe_export;

typedef struct lqe_limits { uint32_t min, max; } lqe_limits;  /* max LQ_NO_MAXIMUM if none */

typedef struct lqe_tabletype { uint8_t elem; lqe_limits lim; } lqe_tabletype;

typedef struct lqe_globaldef { uint8_t type, mut; lqe_constexpr init; } lqe_globaldef;

typedef struct lqe_funcdef {
    uint32_t type;         /* type index */
    uint32_t code;         /* word offset of the translated body in module->code */
    uint32_t nlocals;      /* locals beyond params */
    uint32_t frame_slots;  /* params + locals + spare slot + max operand height + 1 */
} lqe_funcdef;

enum { LQE_SEG_ACTIVE = 0, LQE_SEG_PASSIVE = 1, LQE_SEG_DECLARATIVE = 2 };

typedef struct lqe_elemseg {
    uint8_t mode, elem;
    uint32_t table;
    lqe_constexpr offset;
    uint32_t count;
    lqe_constexpr *items;
} lqe_elemseg;

typedef struct lqe_dataseg {
    uint8_t mode;
    uint32_t memory;
    lqe_constexpr offset;
    uint32_t size;
    uint8_t *bytes;
} lqe_dataseg;

struct lq_module {
    lq_engine *engine;
    uint8_t sha256[32];
    uint32_t ntypes; lqe_functype *types;
    uint32_t nimports; lqe_import *imports;
    uint32_t nexports; lqe_export *exports;
    uint32_t nfuncs, nfunc_imports; uint32_t *func_types;   /* type index per function */
    lqe_funcdef *funcdefs;                                     /* nfuncs - nfunc_imports */
    uint32_t ntables, ntable_imports; lqe_tabletype *tables;
    uint32_t nmems, nmem_imports; lqe_limits *mems;
    uint32_t nglobals, nglobal_imports; lqe_globaldef *globals;
    uint32_t nelems; lqe_elemseg *elems;
    uint32_t ndatas; lqe_dataseg *datas;
    int has_datacount; uint32_t datacount;
    int has_start; uint32_t start;
    uint8_t *declared_funcs;   /* 1 if the function may be referenced by ref.func */
    uint32_t *code; uint32_t code_len, code_cap;
    void *blocks;              /* list of allocations owned by the module */
    uint8_t *chunk_at;         /* bump allocation inside the newest chunk block */
    size_t chunk_left;
};

void *lqe_module_alloc(lq_module *m, size_t size);   /* freed with the module */
lq_status lqe_compile_function(lq_module *m, uint32_t fidx, const uint8_t *body,
                               size_t len, size_t file_offset, lq_error *err);

/* --- runtime objects */
struct lq_func {
    const lqe_functype *type;
    lq_instance *inst;     /* owner for wasm functions, NULL for host functions */
    const uint32_t *code;
    uint32_t nlocals, frame_slots;
    uint32_t nparams, nresults;   /* copies of type->..., read on every call/return */
    lq_host_fn host;
    void *user;
    lq_engine *engine;
    lqe_functype own_type; /* storage for host function types */
};

struct lq_global { uint8_t type, mut; uint64_t val; lq_engine *engine; };

struct lq_memory {
    uint8_t *data;
    uint64_t size;         /* bytes */
    uint32_t pages, max;   /* max: effective limit */
    uint32_t decl_max;     /* declared maximum or LQ_NO_MAXIMUM (import matching) */
    lq_engine *engine;
};

struct lq_table {
    void **elems;
    uint32_t size, max;
    uint32_t decl_max;
    uint8_t elem;
    lq_engine *engine;
};

typedef struct lqe_frame {
    const uint32_t *ret_ip;   /* NULL: return to the embedder */
    uint64_t *fp;
    lq_func *func;            /* function being executed in this frame */
} lqe_frame;

enum { LQE_IDLE = 0, LQE_RUNNING = 1, LQE_SUSPENDED_STATE = 2 };

typedef struct lqe_elemrt { uint32_t count; void **refs; } lqe_elemrt;

struct lq_instance {
    lq_module *module;
    lq_engine *engine;
    void *user;
    lq_func **funcs;
    lq_func *own_funcs;
    lq_table **tables;
    lq_table *own_tables;
    lq_memory **mems;
    lq_memory *own_mems;
    lq_global **globals;
    lq_global *own_globals;
    lqe_elemrt *elems;       /* evaluated element segments; count 0 once dropped */
    uint8_t *data_dropped;
    /* execution state */
    uint64_t *stack; uint32_t stack_slots;
    lqe_frame *frames; uint32_t max_frames;
    uint64_t fuel;
    int state;
    const uint32_t *saved_ip; uint64_t *saved_sp; uint64_t *saved_fp; lq_func *saved_func;
    uint64_t saved_tos;       /* cached top of the value stack (see lq_interp.c) */
    uint32_t saved_depth;
    lq_func *entry_func;
    char *host_trap;         /* set by lq_host_trap */
    char trap_buf[LQ_MESSAGE_MAX];
};

/* Runs the instance from its saved state until the entry call returns, traps or runs out
 * of fuel. */
lq_status lqe_run(lq_instance *inst, lq_error *err);
/* With threaded dispatch, translated opcodes are replaced by the offset of their handler
 * from a base label (direct threading): this returns that table (NULL for switch builds). */
const int32_t *lqe_dispatch_offsets(void);

/* memory.grow / table.grow: old size, or -1 when the limit forbids it */
int64_t lqe_memory_grow(lq_memory *mem, uint32_t delta);
int64_t lqe_table_grow(lq_table *t, uint32_t delta, void *init);

void lqe_sha256(const void *data, size_t len, uint8_t out[32]);

#endif
