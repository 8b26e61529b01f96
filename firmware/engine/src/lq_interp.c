/* The interpreter: executes translated code (lq_compile.c) with an explicit frame stack,
 * so wasm calls never recurse on the C stack. Dispatch is token-threaded with GCC's
 * computed goto when LQ_THREADED_DISPATCH is set, a switch loop otherwise. The hot
 * registers (ip, sp, fp, memory base/size) live in C locals; they are reloaded from the
 * current instance after calls and memory.grow, which are the only things that can move
 * memory. */
#include "lq_internal.h"
#include "lq_ops.h"
#include "lq_float.h"

#if defined(__GNUC__)
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define LIKELY(x) (x)
#define UNLIKELY(x) (x)
#endif

#if defined(__GNUC__)
#define CLZ32(x) ((x) ? (uint32_t)__builtin_clz(x) : 32u)
#define CTZ32(x) ((x) ? (uint32_t)__builtin_ctz(x) : 32u)
#define POP32(x) ((uint32_t)__builtin_popcount(x))
#define CLZ64(x) ((x) ? (uint64_t)__builtin_clzll(x) : 64u)
#define CTZ64(x) ((x) ? (uint64_t)__builtin_ctzll(x) : 64u)
#define POP64(x) ((uint64_t)__builtin_popcountll(x))
#else
static uint32_t clz32(uint32_t x) { uint32_t n = 0; if (!x) return 32; while (!(x & 0x80000000u)) { x <<= 1; n++; } return n; }
static uint32_t ctz32(uint32_t x) { uint32_t n = 0; if (!x) return 32; while (!(x & 1)) { x >>= 1; n++; } return n; }
static uint32_t pop32(uint32_t x) { x = x - ((x >> 1) & 0x55555555u); x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u); return (((x + (x >> 4)) & 0x0F0F0F0Fu) * 0x01010101u) >> 24; }
static uint64_t clz64(uint64_t x) { return (x >> 32) ? clz32((uint32_t)(x >> 32)) : 32 + clz32((uint32_t)x); }
static uint64_t ctz64(uint64_t x) { return (uint32_t)x ? ctz32((uint32_t)x) : 32 + ctz32((uint32_t)(x >> 32)); }
static uint64_t pop64(uint64_t x) { return pop32((uint32_t)x) + pop32((uint32_t)(x >> 32)); }
#define CLZ32 clz32
#define CTZ32 ctz32
#define POP32 pop32
#define CLZ64 clz64
#define CTZ64 ctz64
#define POP64 pop64
#endif

int64_t lqe_memory_grow(lq_memory *m, uint32_t delta) {
    uint32_t old = m->pages;
    if (delta == 0) return old;
    if ((uint64_t)old + delta > m->max) return -1;
    uint64_t bytes = ((uint64_t)old + delta) * LQE_PAGE;
    if (bytes > (uint64_t)((size_t)-1) - 64) return -1;
    uint8_t *n = (uint8_t *)lqe_realloc(m->engine, m->data, (size_t)bytes);
    if (!n) return -1;
    memset(n + m->size, 0, (size_t)(bytes - m->size));
    m->data = n;
    m->size = bytes;
    m->pages = old + delta;
    return old;
}

int64_t lqe_table_grow(lq_table *t, uint32_t delta, void *init) {
    uint32_t old = t->size;
    if ((uint64_t)old + delta > t->max) return -1;
    if (delta == 0) return old;
    void **n = (void **)lqe_realloc(t->engine, t->elems, ((size_t)old + delta) * sizeof(void *));
    if (!n) return -1;
    for (uint32_t i = old; i < old + delta; i++) n[i] = init;
    t->elems = n;
    t->size = old + delta;
    return old;
}

/* Calls a host function with arguments taken from the value stack. */
static lq_status call_host(lq_instance *caller, lq_func *f, uint64_t *args, lq_error *err) {
    const lqe_functype *ft = f->type;
    uint32_t np = ft->nparams, nr = ft->nresults;
    lq_value local[16];
    lq_value *v = local;
    if (np + nr > 16) {
        v = (lq_value *)lqe_malloc(caller->engine, (np + nr) * sizeof(lq_value));
        if (!v) return lqe_fail(err, LQ_TRAP, "out of memory calling host function");
    }
    for (uint32_t i = 0; i < np; i++) {
        v[i].type = ft->types[i];
        v[i].of.i64 = 0;
        switch (ft->types[i]) {
        case LQ_I32: case LQ_F32: v[i].of.i32 = (uint32_t)args[i]; break;
        case LQ_I64: case LQ_F64: v[i].of.i64 = args[i]; break;
        default: v[i].of.ref = (void *)(uintptr_t)args[i]; break;
        }
    }
    for (uint32_t i = 0; i < nr; i++) { v[np + i].type = ft->types[np + i]; v[np + i].of.i64 = 0; }
    caller->trap_buf[0] = 0;
    lq_status st = f->host(caller, f->user, v, v + np);
    if (st == LQ_OK) {
        for (uint32_t i = 0; i < nr; i++) {
            const lq_value *r = &v[np + i];
            switch (ft->types[np + i]) {
            case LQ_I32: case LQ_F32: args[i] = r->of.i32; break;
            case LQ_I64: case LQ_F64: args[i] = r->of.i64; break;
            default: args[i] = (uint64_t)(uintptr_t)r->of.ref; break;
            }
        }
    } else {
        lqe_fail(err, LQ_TRAP, caller->trap_buf[0] ? caller->trap_buf : "host function trapped");
        st = LQ_TRAP;
    }
    if (v != local) lqe_free(caller->engine, v);
    return st;
}

lq_status lq_host_trap(lq_instance *caller, const char *message) {
    if (caller) {
        caller->trap_buf[0] = 0;
        lqe_strcat(caller->trap_buf, sizeof caller->trap_buf, message);
    }
    return LQ_TRAP;
}

#ifdef LQ_THREADED_DISPATCH
#define CASE(n) L_##n:
#define NEXT() goto *(const void *)((const char *)&&L_BAD_ + (int32_t)*ip++)
#define DISPATCH() NEXT();
#else
#define CASE(n) case OP_##n:
#define NEXT() goto next
#define DISPATCH() next: switch (*ip++)
#endif

#define TRAP(msg) do { trap_msg = (msg); goto trap; } while (0)
#define LOAD_CONTEXT() do { \
        cur = fn->inst; funcs = cur->funcs; globals = cur->globals; \
        memobj = cur->module->nmems ? cur->mems[0] : NULL; RELOAD_MEM(); } while (0)
#define RELOAD_MEM() do { if (memobj) { mem = memobj->data; memsize = memobj->size; } } while (0)

#define I32(x) ((uint32_t)(x))
/* Taken backward branches (loop iterations) cost one unit of fuel. The branch has already
 * completed, so a suspension resumes at the loop header. */
#define BRANCH(rel) do { int32_t r_ = (int32_t)(rel); ip += r_; \
        if (r_ < 0) goto back_edge; } while (0)
#define CHARGE_CALL() do { if (UNLIKELY(fuel == 0)) { ip--; goto suspend; } fuel--; } while (0)
/* Top-of-stack caching: the top value lives in `tos`, the others in memory below sp
 * (sp points where tos would be stored; a spare slot under each frame's operands makes
 * that valid for an empty stack). PUSH/POP keep that invariant; FLUSH stores tos so that
 * memory holds every value (calls, returns, multi-value branches), FILL reloads it. */
#define PUSH(x) do { *sp++ = tos; tos = (x); } while (0)
#define POP() (tos = *--sp)
#define FLUSH() (*sp++ = tos)
#define FILL() (tos = *--sp)
#define UN_I32(n, e) CASE(n) { uint32_t a = I32(tos); tos = (uint32_t)(e); NEXT(); }
#define BIN_I32(n, e) CASE(n) { uint32_t b = I32(tos), a = I32(sp[-1]); sp--; tos = (uint32_t)(e); NEXT(); }
#define UN_I64(n, e) CASE(n) { uint64_t a = tos; tos = (uint64_t)(e); NEXT(); }
#define BIN_I64(n, e) CASE(n) { uint64_t b = tos, a = sp[-1]; sp--; tos = (uint64_t)(e); NEXT(); }
#define CMP_I64(n, e) CASE(n) { uint64_t b = tos, a = sp[-1]; sp--; tos = (uint32_t)(e); NEXT(); }
#define UN_F32(n, e) CASE(n) { float a = lqe_f32(tos); tos = lqe_bits32(e); NEXT(); }
#define BIN_F32(n, e) CASE(n) { float b = lqe_f32(tos), a = lqe_f32(sp[-1]); sp--; tos = lqe_bits32(e); NEXT(); }
#define CMP_F32(n, e) CASE(n) { float b = lqe_f32(tos), a = lqe_f32(sp[-1]); sp--; tos = (uint32_t)(e); NEXT(); }
#define UN_F64(n, e) CASE(n) { double a = lqe_f64(tos); tos = lqe_bits64(e); NEXT(); }
#define BIN_F64(n, e) CASE(n) { double b = lqe_f64(tos), a = lqe_f64(sp[-1]); sp--; tos = lqe_bits64(e); NEXT(); }
#define CMP_F64(n, e) CASE(n) { double b = lqe_f64(tos), a = lqe_f64(sp[-1]); sp--; tos = (uint32_t)(e); NEXT(); }

#define EA(addr, sz) uint64_t ea = (uint64_t)I32(addr) + *ip++; \
    if (UNLIKELY(ea + (sz) > memsize)) TRAP("out of bounds memory access")
#define LOAD(n, T, conv) CASE(n) { EA(tos, sizeof(T)); T v; memcpy(&v, mem + ea, sizeof v); tos = conv; NEXT(); }
#define STORE(n, T, conv) CASE(n) { uint64_t val = tos; EA(sp[-1], sizeof(T)); T v = (T)(conv); \
    memcpy(mem + ea, &v, sizeof v); tos = sp[-2]; sp -= 2; NEXT(); }

/* Trapping float->int truncation: NaN and out-of-range operands trap. */
#define TRUNC(n, FT, get, IT, lo_ok, hi_ok, store) CASE(n) { FT a = get(tos); \
    if (a != a) TRAP("invalid conversion to integer"); \
    if (!(lo_ok && hi_ok)) TRAP("integer overflow"); \
    tos = store((IT)a); NEXT(); }
#define TRUNC_SAT(n, FT, get, IT, lo_ok, hi_ok, lo, hi, store) CASE(n) { FT a = get(tos); \
    IT r; if (a != a) r = 0; else if (!(lo_ok)) r = (lo); else if (!(hi_ok)) r = (hi); else r = (IT)a; \
    tos = store(r); NEXT(); }
#define ST32(x) (uint64_t)(uint32_t)(x)
#define ST64(x) (uint64_t)(x)

static lq_status run(lq_instance *inst, lq_error *err, const int32_t **table);

lq_status lqe_run(lq_instance *inst, lq_error *err) { return run(inst, err, NULL); }

const int32_t *lqe_dispatch_offsets(void) {
#ifdef LQ_THREADED_DISPATCH
    const int32_t *t = NULL;
    run(NULL, NULL, &t);
    return t;
#else
    return NULL;
#endif
}

static lq_status run(lq_instance *inst, lq_error *err, const int32_t **table) {
#ifdef LQ_THREADED_DISPATCH
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Winitializer-overrides"
#elif defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
#pragma GCC diagnostic ignored "-Wpedantic"
#endif
#define LABEL(n, c) [c] = (int32_t)((const char *)&&L_##n - (const char *)&&L_BAD_),
    static const int32_t offsets[OP_COUNT_] = {[0 ... OP_COUNT_ - 1] = 0, LQE_OPS(LABEL)};
#undef LABEL
#if defined(__clang__)
#pragma clang diagnostic pop
#elif defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    if (table) { *table = offsets; return LQ_OK; }
#else
    (void)table;
#endif
    const uint32_t *ip = inst->saved_ip;
    uint64_t *sp = inst->saved_sp;
    uint64_t tos = inst->saved_tos;
    uint64_t *fp = inst->saved_fp;
    lq_func *fn = inst->saved_func;
    uint32_t depth = inst->saved_depth;
    lqe_frame *frames = inst->frames;
    const uint32_t max_frames = inst->max_frames;
    uint64_t *const stack_end = inst->stack + inst->stack_slots;
    /* unlimited fuel is just a counter that cannot reach zero in practice (2^64 steps) */
    const int metered = inst->fuel != LQ_FUEL_UNLIMITED;
    uint64_t fuel = inst->fuel;
    lq_instance *cur;
    lq_func **funcs;
    lq_global **globals;
    lq_memory *memobj;
    uint8_t *mem = NULL;
    uint64_t memsize = 0;
    const char *trap_msg = NULL;
    lq_func *callee;
    LOAD_CONTEXT();

    for (;;) {
    DISPATCH() {
    back_edge:   /* shared by every taken backward branch: one unit of fuel */
        if (UNLIKELY(fuel-- == 0)) { fuel = 0; goto suspend; }
        NEXT();
    CASE(UNREACHABLE) TRAP("unreachable");
    CASE(JMP) BRANCH(*ip); NEXT();
    CASE(BR_MOVE) {
        uint32_t n = ip[2];
        uint64_t *dst = fp + ip[1];
        FLUSH();
        memmove(dst, sp - n, n * sizeof(uint64_t));
        sp = dst + n;
        FILL();
        BRANCH(*ip);
        NEXT();
    }
    CASE(JMP_IF_Z) {
        uint32_t c = I32(tos); POP();
        if (!c) ip += (int32_t)*ip; else ip++;
        NEXT();
    }
    CASE(BR_IF) {
        uint32_t c = I32(tos); POP();
        if (c) BRANCH(*ip); else ip++;
        NEXT();
    }
    CASE(BR_IF_EQZ) {
        uint32_t c = I32(tos); POP();
        if (!c) BRANCH(*ip); else ip++;
        NEXT();
    }
#define BRC(n, e) CASE(BRC_##n) { uint32_t b = I32(tos), a = I32(sp[-1]); tos = sp[-2]; sp -= 2; \
        if (e) BRANCH(*ip); else ip++; NEXT(); } \
    CASE(BRCK_##n) { uint32_t a = I32(fp[ip[0]]), b = ip[1]; \
        if (e) { ip += 2; BRANCH(*ip); } else ip += 3; NEXT(); } \
    CASE(BRLL_##n) { uint32_t a = I32(fp[ip[0]]), b = I32(fp[ip[1]]); \
        if (e) { ip += 2; BRANCH(*ip); } else ip += 3; NEXT(); } \
    CASE(BRSK_##n) { uint32_t a = I32(tos), b = ip[0]; POP(); \
        if (e) { ip += 1; BRANCH(*ip); } else ip += 2; NEXT(); }
    BRC(EQ, a == b)
    BRC(NE, a != b)
    BRC(LT_S, (int32_t)a < (int32_t)b)
    BRC(LT_U, a < b)
    BRC(GT_S, (int32_t)a > (int32_t)b)
    BRC(GT_U, a > b)
    BRC(LE_S, (int32_t)a <= (int32_t)b)
    BRC(LE_U, a <= b)
    BRC(GE_S, (int32_t)a >= (int32_t)b)
    BRC(GE_U, a >= b)
#undef BRC
    CASE(BR_IF_MOVE) {
        uint32_t c = I32(tos); POP();
        if (!c) { ip += 3; NEXT(); }
        uint32_t n = ip[2];
        uint64_t *dst = fp + ip[1];
        FLUSH();
        memmove(dst, sp - n, n * sizeof(uint64_t));
        sp = dst + n;
        FILL();
        BRANCH(*ip);
        NEXT();
    }
    CASE(BR_TABLE) {
        uint32_t n = ip[0], arity = ip[1];
        uint32_t i = I32(tos); POP();
        if (i > n) i = n;
        const uint32_t *e = ip + 2 + 2 * i;
        if (e[1] == 0xFFFFFFFFu) goto do_return;
        uint64_t *dst = fp + e[1];
        FLUSH();
        if (dst != sp - arity) memmove(dst, sp - arity, arity * sizeof(uint64_t));
        sp = dst + arity;
        FILL();
        ip = e;
        BRANCH(e[0]);
        NEXT();
    }
    CASE(RETURN)
    do_return: {
        uint32_t nr = fn->nresults;
        if (nr == 1) fp[0] = tos;
        else if (nr) { FLUSH(); memmove(fp, sp - nr, nr * sizeof(uint64_t)); }
        sp = fp + nr;
        const lqe_frame *f = &frames[--depth];
        if (!f->ret_ip) goto done;
        FILL();
        ip = f->ret_ip;
        fp = f->fp;
        if (f->func->inst != cur) { fn = f->func; LOAD_CONTEXT(); }
        else { fn = f->func; RELOAD_MEM(); }
        NEXT();
    }
    CASE(CALL)
        CHARGE_CALL();
        callee = funcs[*ip++];
        goto do_call;
    CASE(CALL_INDIRECT) {
        CHARGE_CALL();
        uint32_t ti = ip[0];
        lq_table *t = cur->tables[ip[1]];
        ip += 2;
        uint32_t i = I32(tos); POP();
        if (i >= t->size) TRAP("undefined element");
        callee = (lq_func *)t->elems[i];
        if (!callee) TRAP("uninitialized element");
        if (!lqe_functype_equal(callee->type, &cur->module->types[ti])) TRAP("indirect call type mismatch");
        goto do_call;
    }
    do_call: {
        uint32_t np = callee->nparams;
        FLUSH();                 /* arguments all in memory: they become the callee's locals */
        if (callee->host) {
            lq_status st;
            st = call_host(cur, callee, sp - np, err);
            if (st != LQ_OK) { trap_msg = NULL; goto trap; }
            sp = sp - np + callee->nresults;
            FILL();
            RELOAD_MEM();
            NEXT();
        }
        uint64_t *nfp = sp - np;
        if (UNLIKELY(depth >= max_frames || nfp + callee->frame_slots > stack_end)) TRAP("call stack exhausted");
        lqe_frame *f = &frames[depth++];
        f->ret_ip = ip; f->fp = fp; f->func = fn;
        for (uint32_t i = callee->nlocals; i; i--) *sp++ = 0;   /* usually a few: no memset call */
        /* sp now points at the spare slot under the callee's empty operand stack */
        fp = nfp;
        ip = callee->code;
        if (callee->inst != cur) { fn = callee; LOAD_CONTEXT(); } else fn = callee;
        NEXT();
    }
    CASE(DROP) POP(); NEXT();
    CASE(SELECT) {
        uint32_t c = I32(tos);
        uint64_t b = sp[-1], a = sp[-2];
        sp -= 2;
        tos = c ? a : b;
        NEXT();
    }
    CASE(LOCAL_GET) PUSH(fp[*ip++]); NEXT();
    CASE(LOCAL_SET) fp[*ip++] = tos; POP(); NEXT();
    CASE(LOCAL_TEE) fp[*ip++] = tos; NEXT();
    CASE(GET_GET) sp[0] = tos; sp[1] = fp[ip[0]]; tos = fp[ip[1]]; sp += 2; ip += 2; NEXT();
    CASE(GET_CONST) sp[0] = tos; sp[1] = fp[ip[0]]; tos = ip[1]; sp += 2; ip += 2; NEXT();
/* The i32 operators the translator fuses with their operands, each as (name, expression of a, b). */
#define I32_BINOPS(F) \
    F(ADD, a + b) F(SUB, a - b) F(MUL, a * b) F(AND, a & b) F(OR, a | b) F(XOR, a ^ b) \
    F(SHL, a << (b & 31)) F(SHR_S, (uint32_t)((int32_t)a >> (b & 31))) F(SHR_U, a >> (b & 31))
#define FAMILY(n, e) \
    CASE(OPK_##n) { uint32_t a = I32(tos), b = *ip++; tos = (uint32_t)(e); NEXT(); } \
    CASE(OPLK_##n) { uint32_t a = I32(fp[ip[0]]), b = ip[1]; ip += 2; PUSH((uint32_t)(e)); NEXT(); } \
    CASE(OPLL_##n) { uint32_t a = I32(fp[ip[0]]), b = I32(fp[ip[1]]); ip += 2; PUSH((uint32_t)(e)); NEXT(); }
    I32_BINOPS(FAMILY)
#undef FAMILY
    CASE(COPY) fp[ip[1]] = fp[ip[0]]; ip += 2; NEXT();
#if LQE_WIDE_FUSION
#define FAMILY(n, e) CASE(OPSL_##n) { uint32_t a = I32(tos), b = I32(fp[*ip++]); tos = (uint32_t)(e); NEXT(); }
    I32_BINOPS(FAMILY)
#undef FAMILY
#define FFAMILY(n, T, get, bits, e) \
    CASE(n##_L) { T a = get(tos), b = get(fp[*ip++]); tos = bits(e); NEXT(); } \
    CASE(n##_LL) { T a = get(fp[ip[0]]), b = get(fp[ip[1]]); ip += 2; PUSH(bits(e)); NEXT(); }
    FFAMILY(F32_ADD, float, lqe_f32, lqe_bits32, a + b)
    FFAMILY(F32_SUB, float, lqe_f32, lqe_bits32, a - b)
    FFAMILY(F32_MUL, float, lqe_f32, lqe_bits32, a * b)
    FFAMILY(F64_ADD, double, lqe_f64, lqe_bits64, a + b)
    FFAMILY(F64_SUB, double, lqe_f64, lqe_bits64, a - b)
    FFAMILY(F64_MUL, double, lqe_f64, lqe_bits64, a * b)
#undef FFAMILY
    CASE(SETK) fp[ip[1]] = ip[0]; ip += 2; NEXT();
    CASE(BR_IF_L) if (I32(fp[ip[0]])) { ip += 1; BRANCH(*ip); } else ip += 2; NEXT();
    CASE(STOREK8) {
        uint64_t ea = (uint64_t)I32(tos) + ip[1];
        if (UNLIKELY(ea + 1 > memsize)) TRAP("out of bounds memory access");
        mem[ea] = (uint8_t)ip[0]; POP(); ip += 2; NEXT();
    }
    CASE(STOREK32) {
        uint64_t ea = (uint64_t)I32(tos) + ip[1];
        if (UNLIKELY(ea + 4 > memsize)) TRAP("out of bounds memory access");
        memcpy(mem + ea, &ip[0], 4); POP(); ip += 2; NEXT();
    }
    CASE(ADD32_TEE) { uint64_t v = (uint32_t)(fp[ip[0]] + fp[ip[1]]); fp[ip[2]] = v; PUSH(v); ip += 3; NEXT(); }
    /* address = (uint32)(base + k) exactly as i32.add would wrap it, then + offset */
    CASE(LOADK32) {
        uint64_t ea = (uint64_t)(uint32_t)(tos + ip[0]) + ip[1];
        if (UNLIKELY(ea + 4 > memsize)) TRAP("out of bounds memory access");
        uint32_t v; memcpy(&v, mem + ea, 4); tos = v; ip += 2; NEXT();
    }
    CASE(LOADK64) {
        uint64_t ea = (uint64_t)(uint32_t)(tos + ip[0]) + ip[1];
        if (UNLIKELY(ea + 8 > memsize)) TRAP("out of bounds memory access");
        memcpy(&tos, mem + ea, 8); ip += 2; NEXT();
    }
    CASE(LOADLK32) {
        uint64_t ea = (uint64_t)(uint32_t)(fp[ip[0]] + ip[1]) + ip[2];
        if (UNLIKELY(ea + 4 > memsize)) TRAP("out of bounds memory access");
        uint32_t v; memcpy(&v, mem + ea, 4); PUSH(v); ip += 3; NEXT();
    }
    CASE(LOADLK64) {
        uint64_t ea = (uint64_t)(uint32_t)(fp[ip[0]] + ip[1]) + ip[2];
        if (UNLIKELY(ea + 8 > memsize)) TRAP("out of bounds memory access");
        uint64_t v; memcpy(&v, mem + ea, 8); PUSH(v); ip += 3; NEXT();
    }
#endif
    CASE(ADD32_SET) fp[ip[2]] = (uint32_t)(fp[ip[0]] + fp[ip[1]]); ip += 3; NEXT();
    CASE(ADDK_SET) fp[ip[2]] = (uint32_t)(fp[ip[0]] + ip[1]); ip += 3; NEXT();
    CASE(ADDK_TEE) { uint64_t v = (uint32_t)(fp[ip[0]] + ip[1]); fp[ip[2]] = v; PUSH(v); ip += 3; NEXT(); }
    CASE(GET_LOAD32) {
        uint64_t ea = (uint64_t)I32(fp[ip[0]]) + ip[1];
        if (UNLIKELY(ea + 4 > memsize)) TRAP("out of bounds memory access");
        uint32_t v; memcpy(&v, mem + ea, 4); PUSH(v); ip += 2; NEXT();
    }
    CASE(GET_LOAD64) {
        uint64_t ea = (uint64_t)I32(fp[ip[0]]) + ip[1];
        if (UNLIKELY(ea + 8 > memsize)) TRAP("out of bounds memory access");
        uint64_t v; memcpy(&v, mem + ea, 8); PUSH(v); ip += 2; NEXT();
    }
    CASE(STORE32_LL) {
        uint64_t ea = (uint64_t)I32(fp[ip[0]]) + ip[2];
        if (UNLIKELY(ea + 4 > memsize)) TRAP("out of bounds memory access");
        uint32_t v = (uint32_t)fp[ip[1]]; memcpy(mem + ea, &v, 4); ip += 3; NEXT();
    }
    CASE(STORE64_LL) {
        uint64_t ea = (uint64_t)I32(fp[ip[0]]) + ip[2];
        if (UNLIKELY(ea + 8 > memsize)) TRAP("out of bounds memory access");
        memcpy(mem + ea, &fp[ip[1]], 8); ip += 3; NEXT();
    }
    CASE(GLOBAL_GET) PUSH(globals[*ip++]->val); NEXT();
    CASE(GLOBAL_SET) globals[*ip++]->val = tos; POP(); NEXT();
    CASE(TABLE_GET) {
        lq_table *t = cur->tables[*ip++];
        uint32_t i = I32(tos);
        if (i >= t->size) TRAP("out of bounds table access");
        tos = (uint64_t)(uintptr_t)t->elems[i];
        NEXT();
    }
    CASE(TABLE_SET) {
        lq_table *t = cur->tables[*ip++];
        uint32_t i = I32(sp[-1]);
        if (i >= t->size) TRAP("out of bounds table access");
        t->elems[i] = (void *)(uintptr_t)tos;
        tos = sp[-2];
        sp -= 2;
        NEXT();
    }
    LOAD(I32_LOAD, uint32_t, v)
    LOAD(I64_LOAD, uint64_t, v)
    LOAD(F32_LOAD, uint32_t, v)
    LOAD(F64_LOAD, uint64_t, v)
    LOAD(I32_LOAD8_S, int8_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD8_U, uint8_t, (uint32_t)v)
    LOAD(I32_LOAD16_S, int16_t, (uint32_t)(int32_t)v)
    LOAD(I32_LOAD16_U, uint16_t, (uint32_t)v)
    LOAD(I64_LOAD8_S, int8_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD8_U, uint8_t, (uint64_t)v)
    LOAD(I64_LOAD16_S, int16_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD16_U, uint16_t, (uint64_t)v)
    LOAD(I64_LOAD32_S, int32_t, (uint64_t)(int64_t)v)
    LOAD(I64_LOAD32_U, uint32_t, (uint64_t)v)
    STORE(I32_STORE, uint32_t, val)
    STORE(I64_STORE, uint64_t, val)
    STORE(F32_STORE, uint32_t, val)
    STORE(F64_STORE, uint64_t, val)
    STORE(I32_STORE8, uint8_t, val)
    STORE(I32_STORE16, uint16_t, val)
    STORE(I64_STORE8, uint8_t, val)
    STORE(I64_STORE16, uint16_t, val)
    STORE(I64_STORE32, uint32_t, val)
    CASE(MEMORY_SIZE) PUSH(memobj->pages); NEXT();
    CASE(MEMORY_GROW) {
        tos = (uint32_t)lqe_memory_grow(memobj, I32(tos));
        RELOAD_MEM();
        NEXT();
    }
    CASE(CONST32) PUSH(*ip++); NEXT();
    CASE(CONST64) PUSH((uint64_t)ip[0] | (uint64_t)ip[1] << 32); ip += 2; NEXT();

    UN_I32(I32_EQZ, a == 0)
    BIN_I32(I32_EQ, a == b)
    BIN_I32(I32_NE, a != b)
    BIN_I32(I32_LT_S, (int32_t)a < (int32_t)b)
    BIN_I32(I32_LT_U, a < b)
    BIN_I32(I32_GT_S, (int32_t)a > (int32_t)b)
    BIN_I32(I32_GT_U, a > b)
    BIN_I32(I32_LE_S, (int32_t)a <= (int32_t)b)
    BIN_I32(I32_LE_U, a <= b)
    BIN_I32(I32_GE_S, (int32_t)a >= (int32_t)b)
    BIN_I32(I32_GE_U, a >= b)
    CASE(I64_EQZ) tos = tos == 0; NEXT();
    CMP_I64(I64_EQ, a == b)
    CMP_I64(I64_NE, a != b)
    CMP_I64(I64_LT_S, (int64_t)a < (int64_t)b)
    CMP_I64(I64_LT_U, a < b)
    CMP_I64(I64_GT_S, (int64_t)a > (int64_t)b)
    CMP_I64(I64_GT_U, a > b)
    CMP_I64(I64_LE_S, (int64_t)a <= (int64_t)b)
    CMP_I64(I64_LE_U, a <= b)
    CMP_I64(I64_GE_S, (int64_t)a >= (int64_t)b)
    CMP_I64(I64_GE_U, a >= b)
    CMP_F32(F32_EQ, a == b)
    CMP_F32(F32_NE, a != b)
    CMP_F32(F32_LT, a < b)
    CMP_F32(F32_GT, a > b)
    CMP_F32(F32_LE, a <= b)
    CMP_F32(F32_GE, a >= b)
    CMP_F64(F64_EQ, a == b)
    CMP_F64(F64_NE, a != b)
    CMP_F64(F64_LT, a < b)
    CMP_F64(F64_GT, a > b)
    CMP_F64(F64_LE, a <= b)
    CMP_F64(F64_GE, a >= b)
    UN_I32(I32_CLZ, CLZ32(a))
    UN_I32(I32_CTZ, CTZ32(a))
    UN_I32(I32_POPCNT, POP32(a))
    BIN_I32(I32_ADD, a + b)
    BIN_I32(I32_SUB, a - b)
    BIN_I32(I32_MUL, a * b)
    CASE(I32_DIV_S) {
        int32_t b = (int32_t)I32(tos), a = (int32_t)I32(sp[-1]);
        if (b == 0) TRAP("integer divide by zero");
        if (a == INT32_MIN && b == -1) TRAP("integer overflow");
        sp--; tos = (uint32_t)(a / b); NEXT();
    }
    CASE(I32_DIV_U) {
        uint32_t b = I32(tos), a = I32(sp[-1]);
        if (b == 0) TRAP("integer divide by zero");
        sp--; tos = a / b; NEXT();
    }
    CASE(I32_REM_S) {
        int32_t b = (int32_t)I32(tos), a = (int32_t)I32(sp[-1]);
        if (b == 0) TRAP("integer divide by zero");
        sp--; tos = (b == -1) ? 0 : (uint32_t)(a % b); NEXT();
    }
    CASE(I32_REM_U) {
        uint32_t b = I32(tos), a = I32(sp[-1]);
        if (b == 0) TRAP("integer divide by zero");
        sp--; tos = a % b; NEXT();
    }
    BIN_I32(I32_AND, a & b)
    BIN_I32(I32_OR, a | b)
    BIN_I32(I32_XOR, a ^ b)
    BIN_I32(I32_SHL, a << (b & 31))
    BIN_I32(I32_SHR_S, (uint32_t)((int32_t)a >> (b & 31)))
    BIN_I32(I32_SHR_U, a >> (b & 31))
    BIN_I32(I32_ROTL, (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)))
    BIN_I32(I32_ROTR, (a >> (b & 31)) | (a << ((32 - (b & 31)) & 31)))
    UN_I64(I64_CLZ, CLZ64(a))
    UN_I64(I64_CTZ, CTZ64(a))
    UN_I64(I64_POPCNT, POP64(a))
    BIN_I64(I64_ADD, a + b)
    BIN_I64(I64_SUB, a - b)
    BIN_I64(I64_MUL, a * b)
    CASE(I64_DIV_S) {
        int64_t b = (int64_t)tos, a = (int64_t)sp[-1];
        if (b == 0) TRAP("integer divide by zero");
        if (a == INT64_MIN && b == -1) TRAP("integer overflow");
        sp--; tos = (uint64_t)(a / b); NEXT();
    }
    CASE(I64_DIV_U) {
        uint64_t b = tos, a = sp[-1];
        if (b == 0) TRAP("integer divide by zero");
        sp--; tos = a / b; NEXT();
    }
    CASE(I64_REM_S) {
        int64_t b = (int64_t)tos, a = (int64_t)sp[-1];
        if (b == 0) TRAP("integer divide by zero");
        sp--; tos = (b == -1) ? 0 : (uint64_t)(a % b); NEXT();
    }
    CASE(I64_REM_U) {
        uint64_t b = tos, a = sp[-1];
        if (b == 0) TRAP("integer divide by zero");
        sp--; tos = a % b; NEXT();
    }
    BIN_I64(I64_AND, a & b)
    BIN_I64(I64_OR, a | b)
    BIN_I64(I64_XOR, a ^ b)
    BIN_I64(I64_SHL, a << (b & 63))
    BIN_I64(I64_SHR_S, (uint64_t)((int64_t)a >> (b & 63)))
    BIN_I64(I64_SHR_U, a >> (b & 63))
    BIN_I64(I64_ROTL, (a << (b & 63)) | (a >> ((64 - (b & 63)) & 63)))
    BIN_I64(I64_ROTR, (a >> (b & 63)) | (a << ((64 - (b & 63)) & 63)))
    CASE(F32_ABS) tos = I32(tos) & 0x7FFFFFFFu; NEXT();
    CASE(F32_NEG) tos = I32(tos) ^ 0x80000000u; NEXT();
    UN_F32(F32_CEIL, lqe_unary_nan_f(a, ceilf(a)))
    UN_F32(F32_FLOOR, lqe_unary_nan_f(a, floorf(a)))
    UN_F32(F32_TRUNC, lqe_unary_nan_f(a, truncf(a)))
    UN_F32(F32_NEAREST, lqe_nearestf(a))
    UN_F32(F32_SQRT, sqrtf(a))
    BIN_F32(F32_ADD, a + b)
    BIN_F32(F32_SUB, a - b)
    BIN_F32(F32_MUL, a * b)
    BIN_F32(F32_DIV, a / b)
    BIN_F32(F32_MIN, lqe_fminf(a, b))
    BIN_F32(F32_MAX, lqe_fmaxf(a, b))
    CASE(F32_COPYSIGN) { uint32_t b = I32(tos), a = I32(sp[-1]); sp--; tos = (a & 0x7FFFFFFFu) | (b & 0x80000000u); NEXT(); }
    CASE(F64_ABS) tos &= 0x7FFFFFFFFFFFFFFFull; NEXT();
    CASE(F64_NEG) tos ^= 0x8000000000000000ull; NEXT();
    UN_F64(F64_CEIL, lqe_unary_nan(a, ceil(a)))
    UN_F64(F64_FLOOR, lqe_unary_nan(a, floor(a)))
    UN_F64(F64_TRUNC, lqe_unary_nan(a, trunc(a)))
    UN_F64(F64_NEAREST, lqe_nearest(a))
    UN_F64(F64_SQRT, sqrt(a))
    BIN_F64(F64_ADD, a + b)
    BIN_F64(F64_SUB, a - b)
    BIN_F64(F64_MUL, a * b)
    BIN_F64(F64_DIV, a / b)
    BIN_F64(F64_MIN, lqe_fmin(a, b))
    BIN_F64(F64_MAX, lqe_fmax(a, b))
    CASE(F64_COPYSIGN) { uint64_t b = tos, a = sp[-1]; sp--; tos = (a & 0x7FFFFFFFFFFFFFFFull) | (b & 0x8000000000000000ull); NEXT(); }
    CASE(I32_WRAP_I64) tos = (uint32_t)tos; NEXT();
    TRUNC(I32_TRUNC_F32_S, float, lqe_f32, int32_t, a >= -2147483648.0f, a < 2147483648.0f, ST32)
    TRUNC(I32_TRUNC_F32_U, float, lqe_f32, uint32_t, a > -1.0f, a < 4294967296.0f, ST32)
    TRUNC(I32_TRUNC_F64_S, double, lqe_f64, int32_t, a > -2147483649.0, a < 2147483648.0, ST32)
    TRUNC(I32_TRUNC_F64_U, double, lqe_f64, uint32_t, a > -1.0, a < 4294967296.0, ST32)
    CASE(I64_EXTEND_I32_S) tos = (uint64_t)(int64_t)(int32_t)I32(tos); NEXT();
    CASE(I64_EXTEND_I32_U) tos = I32(tos); NEXT();
    TRUNC(I64_TRUNC_F32_S, float, lqe_f32, int64_t, a >= -9223372036854775808.0f, a < 9223372036854775808.0f, ST64)
    TRUNC(I64_TRUNC_F32_U, float, lqe_f32, uint64_t, a > -1.0f, a < 18446744073709551616.0f, ST64)
    TRUNC(I64_TRUNC_F64_S, double, lqe_f64, int64_t, a >= -9223372036854775808.0, a < 9223372036854775808.0, ST64)
    TRUNC(I64_TRUNC_F64_U, double, lqe_f64, uint64_t, a > -1.0, a < 18446744073709551616.0, ST64)
    CASE(F32_CONVERT_I32_S) tos = lqe_bits32((float)(int32_t)I32(tos)); NEXT();
    CASE(F32_CONVERT_I32_U) tos = lqe_bits32((float)I32(tos)); NEXT();
    CASE(F32_CONVERT_I64_S) tos = lqe_bits32((float)(int64_t)tos); NEXT();
    CASE(F32_CONVERT_I64_U) tos = lqe_bits32((float)tos); NEXT();
    CASE(F32_DEMOTE_F64) tos = lqe_bits32((float)lqe_f64(tos)); NEXT();
    CASE(F64_CONVERT_I32_S) tos = lqe_bits64((double)(int32_t)I32(tos)); NEXT();
    CASE(F64_CONVERT_I32_U) tos = lqe_bits64((double)I32(tos)); NEXT();
    CASE(F64_CONVERT_I64_S) tos = lqe_bits64((double)(int64_t)tos); NEXT();
    CASE(F64_CONVERT_I64_U) tos = lqe_bits64((double)tos); NEXT();
    CASE(F64_PROMOTE_F32) tos = lqe_bits64((double)lqe_f32(tos)); NEXT();
    CASE(I32_REINTERPRET_F32) NEXT();
    CASE(I64_REINTERPRET_F64) NEXT();
    CASE(F32_REINTERPRET_I32) NEXT();
    CASE(F64_REINTERPRET_I64) NEXT();
    CASE(I32_EXTEND8_S) tos = (uint32_t)(int32_t)(int8_t)tos; NEXT();
    CASE(I32_EXTEND16_S) tos = (uint32_t)(int32_t)(int16_t)tos; NEXT();
    CASE(I64_EXTEND8_S) tos = (uint64_t)(int64_t)(int8_t)tos; NEXT();
    CASE(I64_EXTEND16_S) tos = (uint64_t)(int64_t)(int16_t)tos; NEXT();
    CASE(I64_EXTEND32_S) tos = (uint64_t)(int64_t)(int32_t)tos; NEXT();
    CASE(REF_IS_NULL) tos = tos == 0; NEXT();
    CASE(REF_FUNC) PUSH((uint64_t)(uintptr_t)funcs[*ip++]); NEXT();
    TRUNC_SAT(I32_TRUNC_SAT_F32_S, float, lqe_f32, int32_t, a >= -2147483648.0f, a < 2147483648.0f, INT32_MIN, INT32_MAX, ST32)
    TRUNC_SAT(I32_TRUNC_SAT_F32_U, float, lqe_f32, uint32_t, a > -1.0f, a < 4294967296.0f, 0, UINT32_MAX, ST32)
    TRUNC_SAT(I32_TRUNC_SAT_F64_S, double, lqe_f64, int32_t, a > -2147483649.0, a < 2147483648.0, INT32_MIN, INT32_MAX, ST32)
    TRUNC_SAT(I32_TRUNC_SAT_F64_U, double, lqe_f64, uint32_t, a > -1.0, a < 4294967296.0, 0, UINT32_MAX, ST32)
    TRUNC_SAT(I64_TRUNC_SAT_F32_S, float, lqe_f32, int64_t, a >= -9223372036854775808.0f, a < 9223372036854775808.0f, INT64_MIN, INT64_MAX, ST64)
    TRUNC_SAT(I64_TRUNC_SAT_F32_U, float, lqe_f32, uint64_t, a > -1.0f, a < 18446744073709551616.0f, 0, UINT64_MAX, ST64)
    TRUNC_SAT(I64_TRUNC_SAT_F64_S, double, lqe_f64, int64_t, a >= -9223372036854775808.0, a < 9223372036854775808.0, INT64_MIN, INT64_MAX, ST64)
    TRUNC_SAT(I64_TRUNC_SAT_F64_U, double, lqe_f64, uint64_t, a > -1.0, a < 18446744073709551616.0, 0, UINT64_MAX, ST64)
    CASE(MEMORY_INIT) {
        uint32_t seg = *ip++;
        uint32_t n = I32(tos), s = I32(sp[-1]), d = I32(sp[-2]);
        tos = sp[-3];
        sp -= 3;
        uint32_t len = cur->data_dropped[seg] ? 0 : cur->module->datas[seg].size;
        if ((uint64_t)s + n > len || (uint64_t)d + n > memsize) TRAP("out of bounds memory access");
        if (n) memcpy(mem + d, cur->module->datas[seg].bytes + s, n);
        NEXT();
    }
    CASE(DATA_DROP) cur->data_dropped[*ip++] = 1; NEXT();
    CASE(MEMORY_COPY) {
        uint32_t n = I32(tos), s = I32(sp[-1]), d = I32(sp[-2]);
        tos = sp[-3];
        sp -= 3;
        if ((uint64_t)s + n > memsize || (uint64_t)d + n > memsize) TRAP("out of bounds memory access");
        if (n) memmove(mem + d, mem + s, n);
        NEXT();
    }
    CASE(MEMORY_FILL) {
        uint32_t n = I32(tos), v = I32(sp[-1]), d = I32(sp[-2]);
        tos = sp[-3];
        sp -= 3;
        if ((uint64_t)d + n > memsize) TRAP("out of bounds memory access");
        if (n) memset(mem + d, (int)(v & 0xFF), n);
        NEXT();
    }
    CASE(TABLE_INIT) {
        lqe_elemrt *seg = &cur->elems[ip[0]];
        lq_table *t = cur->tables[ip[1]];
        ip += 2;
        uint32_t n = I32(tos), s = I32(sp[-1]), d = I32(sp[-2]);
        tos = sp[-3];
        sp -= 3;
        if ((uint64_t)s + n > seg->count || (uint64_t)d + n > t->size) TRAP("out of bounds table access");
        if (n) memcpy(t->elems + d, seg->refs + s, n * sizeof(void *));
        NEXT();
    }
    CASE(ELEM_DROP) cur->elems[*ip++].count = 0; NEXT();
    CASE(TABLE_COPY) {
        lq_table *dt = cur->tables[ip[0]], *st = cur->tables[ip[1]];
        ip += 2;
        uint32_t n = I32(tos), s = I32(sp[-1]), d = I32(sp[-2]);
        tos = sp[-3];
        sp -= 3;
        if ((uint64_t)s + n > st->size || (uint64_t)d + n > dt->size) TRAP("out of bounds table access");
        if (n) memmove(dt->elems + d, st->elems + s, n * sizeof(void *));
        NEXT();
    }
    CASE(TABLE_GROW) {
        lq_table *t = cur->tables[*ip++];
        uint32_t n = I32(tos);
        void *init = (void *)(uintptr_t)sp[-1];
        sp--;
        tos = (uint32_t)lqe_table_grow(t, n, init);
        NEXT();
    }
    CASE(TABLE_SIZE) PUSH(cur->tables[*ip++]->size); NEXT();
    CASE(TABLE_FILL) {
        lq_table *t = cur->tables[*ip++];
        uint32_t n = I32(tos), d = I32(sp[-2]);
        void *v = (void *)(uintptr_t)sp[-1];
        tos = sp[-3];
        sp -= 3;
        if ((uint64_t)d + n > t->size) TRAP("out of bounds table access");
        for (uint32_t i = 0; i < n; i++) t->elems[d + i] = v;
        NEXT();
    }
#ifdef LQ_THREADED_DISPATCH
    L_BAD_:
#else
    default:
#endif
        TRAP("internal error: bad opcode");
    }
    }

done:
    inst->saved_sp = sp;
    inst->fuel = metered ? fuel : LQ_FUEL_UNLIMITED;
    inst->state = LQE_IDLE;
    return LQ_OK;
suspend:
    inst->saved_ip = ip; inst->saved_sp = sp; inst->saved_fp = fp; inst->saved_func = fn;
    inst->saved_tos = tos;
    inst->saved_depth = depth;
    inst->fuel = 0;
    inst->state = LQE_SUSPENDED_STATE;
    return lqe_fail(err, LQ_SUSPENDED, "out of fuel");
trap:
    inst->fuel = metered ? fuel : LQ_FUEL_UNLIMITED;
    inst->state = LQE_IDLE;
    if (trap_msg) return lqe_fail(err, LQ_TRAP, trap_msg);
    if (err) err->status = LQ_TRAP;
    return LQ_TRAP;
}
