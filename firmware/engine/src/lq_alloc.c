/* Engine object, allocation through the embedder's hook, the arena allocator, and the
 * small string helpers used to build error messages without printf. */
#include "lq_internal.h"

/* Each block is preceded by its size so lqe_free/lqe_realloc can give the hook the old
 * size it asks for. 8 bytes keep the payload 8-aligned. */
typedef union lqe_hdr { size_t size; uint64_t align_; } lqe_hdr;

void *lqe_malloc_raw(lq_engine *e, size_t size) {
    if (size > (size_t)-1 - sizeof(lqe_hdr) - 16) return NULL;
    lqe_hdr *h = (lqe_hdr *)e->alloc(e->alloc_user, NULL, 0, size + sizeof(lqe_hdr));
    if (!h) return NULL;
    h->size = size;
    return h + 1;
}

void *lqe_malloc(lq_engine *e, size_t size) {
    void *p = lqe_malloc_raw(e, size);
    if (p) memset(p, 0, size);
    return p;
}

void *lqe_realloc(lq_engine *e, void *p, size_t size) {
    if (!p) return lqe_malloc(e, size);
    if (size > (size_t)-1 - sizeof(lqe_hdr) - 16) return NULL;
    lqe_hdr *h = (lqe_hdr *)p - 1;
    lqe_hdr *n = (lqe_hdr *)e->alloc(e->alloc_user, h, h->size + sizeof(lqe_hdr), size + sizeof(lqe_hdr));
    if (!n) return NULL;
    n->size = size;
    return n + 1;
}

void lqe_free(lq_engine *e, void *p) {
    if (!p) return;
    lqe_hdr *h = (lqe_hdr *)p - 1;
    e->alloc(e->alloc_user, h, h->size + sizeof(lqe_hdr), 0);
}

/* ---------------------------------------------------------------- messages */

void lqe_strcat(char *dst, size_t cap, const char *src) {
    size_t n = strlen(dst);
    while (*src && n + 1 < cap) dst[n++] = *src++;
    dst[n] = 0;
}

void lqe_utoa(char *dst, size_t cap, uint64_t v) {
    char tmp[24]; int i = 0;
    do { tmp[i++] = (char)('0' + v % 10); v /= 10; } while (v);
    size_t n = 0;
    while (i > 0 && n + 1 < cap) dst[n++] = tmp[--i];
    dst[n] = 0;
}

lq_status lqe_fail(lq_error *err, lq_status st, const char *msg) {
    if (err) {
        err->status = st;
        err->message[0] = 0;
        lqe_strcat(err->message, sizeof err->message, msg);
    }
    return st;
}

lq_status lqe_failn(lq_error *err, lq_status st, const char *msg, const char *what, uint64_t n) {
    if (err) {
        char num[24];
        lqe_fail(err, st, msg);
        lqe_strcat(err->message, sizeof err->message, " (");
        lqe_strcat(err->message, sizeof err->message, what);
        lqe_strcat(err->message, sizeof err->message, " ");
        lqe_utoa(num, sizeof num, n);
        lqe_strcat(err->message, sizeof err->message, num);
        lqe_strcat(err->message, sizeof err->message, ")");
    }
    return st;
}

/* ---------------------------------------------------------------- engine */

static uint32_t or_default(uint32_t v, uint32_t d) { return v ? v : d; }

lq_status lq_engine_new(const lq_config *config, lq_engine **out, lq_error *err) {
    *out = NULL;
    if (!config || !config->alloc) return lqe_fail(err, LQ_ERROR, "engine config needs an allocator");
    lq_engine tmp;
    tmp.alloc = config->alloc;
    tmp.alloc_user = config->alloc_user;
    lq_engine *e = (lq_engine *)lqe_malloc(&tmp, sizeof *e);
    if (!e) return lqe_fail(err, LQ_ERROR, "out of memory");
    *e = tmp;
    const lq_limits *l = &config->limits;
    e->limits.max_module_size = or_default(l->max_module_size, 16u << 20);
    e->limits.max_memory_pages = or_default(l->max_memory_pages, 65536);
    if (e->limits.max_memory_pages > 65536) e->limits.max_memory_pages = 65536;
    e->limits.max_table_size = or_default(l->max_table_size, 1000000);
    e->limits.value_stack_slots = or_default(l->value_stack_slots, 65536);
    e->limits.call_depth = or_default(l->call_depth, 10000);
    e->limits.max_function_locals = or_default(l->max_function_locals, 50000);
    e->limits.start_fuel = l->start_fuel;
    *out = e;
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    return LQ_OK;
}

void lq_engine_free(lq_engine *engine) {
    if (engine) lqe_free(engine, engine);
}

/* ---------------------------------------------------------------- arena */

/* Free blocks form an address-ordered singly linked list so neighbours coalesce. Every
 * block (used or free) starts with its total size. */
typedef struct lqe_free_block { size_t size; struct lqe_free_block *next; } lqe_free_block;
#define ARENA_ALIGN 8u
#define ARENA_MIN ((sizeof(lqe_free_block) + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1))

/* Under AddressSanitizer the free parts of an arena are poisoned, so that a use of freed
 * engine objects (an instance, a module's code, a host function) is reported as it is with
 * malloc, instead of reading stale bytes that happen to still be there. No code otherwise. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define FREE_PAYLOAD(b, size) ASAN_POISON_MEMORY_REGION((uint8_t *)(b) + sizeof(lqe_free_block), (size) - sizeof(lqe_free_block))
#define UNPOISON(p, size) ASAN_UNPOISON_MEMORY_REGION((p), (size))
#else
#define FREE_PAYLOAD(b, size) ((void)0)
#define UNPOISON(p, size) ((void)0)
#endif

void lq_arena_init(lq_arena *a, void *buffer, size_t size) {
    uintptr_t p = ((uintptr_t)buffer + ARENA_ALIGN - 1) & ~(uintptr_t)(ARENA_ALIGN - 1);
    size_t lost = (size_t)(p - (uintptr_t)buffer);
    a->base = (uint8_t *)p;
    a->size = size > lost ? (size - lost) & ~(size_t)(ARENA_ALIGN - 1) : 0;
    a->used = a->high_water = 0;
    a->free_list = NULL;
    if (a->size >= ARENA_MIN) {
        lqe_free_block *b = (lqe_free_block *)a->base;
        b->size = a->size;
        b->next = NULL;
        a->free_list = b;
        FREE_PAYLOAD(b, b->size);
    }
}

static void arena_release(lq_arena *a, void *ptr) {
    lqe_free_block *b = (lqe_free_block *)((uint8_t *)ptr - ARENA_ALIGN);
    a->used -= b->size;
    FREE_PAYLOAD(b, b->size);
    lqe_free_block **pp = (lqe_free_block **)&a->free_list;
    while (*pp && *pp < b) pp = &(*pp)->next;
    b->next = *pp;
    *pp = b;
    if (b->next && (uint8_t *)b + b->size == (uint8_t *)b->next) {
        b->size += b->next->size;
        b->next = b->next->next;
    }
    /* merge with the previous block: find it again (lists are short on devices) */
    lqe_free_block *prev = (lqe_free_block *)a->free_list;
    while (prev && prev->next != b) prev = prev->next;
    if (prev && (uint8_t *)prev + prev->size == (uint8_t *)b) {
        prev->size += b->size;
        prev->next = b->next;
    }
}

static void *arena_take(lq_arena *a, size_t want) {
    size_t need = (want + ARENA_ALIGN + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
    if (need < ARENA_MIN) need = ARENA_MIN;
    if (need < want) return NULL;
    lqe_free_block **pp = (lqe_free_block **)&a->free_list;
    for (; *pp; pp = &(*pp)->next) {
        lqe_free_block *b = *pp;
        if (b->size < need) continue;
        UNPOISON(b, b->size);
        if (b->size - need >= ARENA_MIN) {
            lqe_free_block *rest = (lqe_free_block *)((uint8_t *)b + need);
            rest->size = b->size - need;
            rest->next = b->next;
            *pp = rest;
            b->size = need;
            FREE_PAYLOAD(rest, rest->size);
        } else {
            *pp = b->next;
        }
        a->used += b->size;
        if (a->used > a->high_water) a->high_water = a->used;
        return (uint8_t *)b + ARENA_ALIGN;
    }
    return NULL;
}

void *lq_arena_alloc(void *arena, void *ptr, size_t old_size, size_t new_size) {
    lq_arena *a = (lq_arena *)arena;
    if (new_size == 0) {
        if (ptr) arena_release(a, ptr);
        return NULL;
    }
    void *n = arena_take(a, new_size);
    if (!n) return NULL;
    if (ptr) {
        memcpy(n, ptr, old_size < new_size ? old_size : new_size);
        arena_release(a, ptr);
    }
    return n;
}

/* ---------------------------------------------------------------- values */

lq_value lq_i32(int32_t v) { lq_value r; r.type = LQ_I32; r.of.i64 = 0; r.of.i32 = (uint32_t)v; return r; }
lq_value lq_i64(int64_t v) { lq_value r; r.type = LQ_I64; r.of.i64 = (uint64_t)v; return r; }
lq_value lq_f32_bits(uint32_t b) { lq_value r; r.type = LQ_F32; r.of.i64 = 0; r.of.f32 = b; return r; }
lq_value lq_f64_bits(uint64_t b) { lq_value r; r.type = LQ_F64; r.of.f64 = b; return r; }
lq_value lq_ref(lq_valtype t, void *p) { lq_value r; r.type = (uint8_t)t; r.of.i64 = 0; r.of.ref = p; return r; }
