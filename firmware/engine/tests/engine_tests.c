/* C unit tests of the engine API: run by test/engine-core/engine.test.ts. Each check prints
 * "ok NAME" or "FAIL NAME: why"; the process exits 1 if anything failed. Extra modes let
 * a snapshot cross builds (x86-64 <-> Cortex-M):
 *   liquid_engine_tests                      run all unit tests
 *   liquid_engine_tests snapshot-write FILE  build a known state and write its snapshot
 *   liquid_engine_tests snapshot-check FILE  restore FILE and print the observed state */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "liquid_engine.h"
#include "test_modules.h"

static int failures;

/* 64-bit values printed without %ll (newlib-nano's printf lacks it) */
static void hex64(char *out, uint64_t v) {
    static const char digits[] = "0123456789abcdef";
    char tmp[17];
    int n = 0;
    do { tmp[n++] = digits[v & 15]; v >>= 4; } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
}
static void check(int ok, const char *name, const char *why) {
    if (ok) printf("ok %s\n", name);
    else { printf("FAIL %s: %s\n", name, why); failures++; }
}

static size_t live_bytes;
static void *heap(void *user, void *ptr, size_t old, size_t size) {
    (void)user;
    if (size == 0) { live_bytes -= old; free(ptr); return NULL; }
    void *p = realloc(ptr, size);
    if (p) live_bytes += size - old;
    return p;
}

static lq_status host_trap(lq_instance *caller, void *user, const lq_value *args, lq_value *results) {
    (void)user; (void)results;
    char msg[64];
    snprintf(msg, sizeof msg, "trap_me says %d", (int)args[0].of.i32);
    return lq_host_trap(caller, msg);
}
static lq_status host_add(lq_instance *caller, void *user, const lq_value *args, lq_value *results) {
    (void)caller;
    *(int *)user += 1;
    results[0] = lq_i32((int32_t)(args[0].of.i32 + args[1].of.i32));
    return LQ_OK;
}

typedef struct env { lq_func *trap_me, *add; int add_calls; lq_instance *counter; } env;
static lq_status resolve(void *user, const lq_import_info *imp, lq_extern *out) {
    env *e = (env *)user;
    if (!strcmp(imp->module, "env") && !strcmp(imp->name, "trap_me")) { out->kind = LQ_EXTERN_FUNC; out->of.func = e->trap_me; return LQ_OK; }
    if (!strcmp(imp->module, "env") && !strcmp(imp->name, "add")) { out->kind = LQ_EXTERN_FUNC; out->of.func = e->add; return LQ_OK; }
    if (!strcmp(imp->module, "counter") && e->counter) return lq_instance_export(e->counter, imp->name, out);
    return LQ_ERROR;
}

static lq_engine *new_engine(lq_limits limits) {
    lq_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.alloc = heap;
    cfg.limits = limits;
    lq_engine *e; lq_error err;
    if (lq_engine_new(&cfg, &e, &err) != LQ_OK) { printf("FAIL engine: %s\n", err.message); exit(1); }
    return e;
}

static lq_instance *counter_instance(lq_engine *eng, env *e, lq_module **mod) {
    lq_error err;
    if (lq_module_load(eng, wasm_counter, sizeof wasm_counter, mod, &err) != LQ_OK) { printf("FAIL load counter: %s\n", err.message); exit(1); }
    lq_func_new_host(eng, "i", "", host_trap, NULL, &e->trap_me, &err);
    lq_func_new_host(eng, "ii", "i", host_add, &e->add_calls, &e->add, &err);
    lq_instance *in;
    if (lq_instantiate(*mod, resolve, e, &in, &err) != LQ_OK) { printf("FAIL instantiate counter: %s\n", err.message); exit(1); }
    return in;
}

static int call_i32(lq_instance *in, const char *name, const lq_value *args, uint32_t n, int32_t *out, lq_error *err) {
    lq_value r[2];
    lq_func *f = lq_instance_func(in, name);
    if (!f) { snprintf(err->message, sizeof err->message, "no export %s", name); return LQ_ERROR; }
    lq_status st = lq_call(f, args, n, r, 2, err);
    if (st == LQ_OK && out) *out = (int32_t)r[0].of.i32;
    return st;
}

/* ------------------------------------------------------------------ tests */

static void test_sha256(void) {
    uint8_t d[32];
    static const uint8_t abc[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    lq_engine_sha256("abc", 3, d);
    check(memcmp(d, abc, 32) == 0, "sha256 of 'abc'", "digest differs from FIPS 180-4 example");
}

static void expect_load_error(lq_engine *eng, const uint8_t *bytes, size_t n, const char *want, const char *name) {
    lq_module *m; lq_error err;
    char why[256];
    lq_status st = lq_module_load(eng, bytes, n, &m, &err);
    snprintf(why, sizeof why, "status %d message '%s', wanted '%s'", st, st == LQ_OK ? "" : err.message, want);
    check(st == LQ_ERROR && strstr(err.message, want) != NULL, name, why);
    if (st == LQ_OK) lq_module_free(m);
}

static void test_hostile_modules(lq_engine *eng) {
    static const uint8_t bad_magic[] = {0, 'a', 's', 'n', 1, 0, 0, 0};
    static const uint8_t bad_version[] = {0, 'a', 's', 'm', 2, 0, 0, 0};
    static const uint8_t truncated[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60};
    /* type section claiming 2^32-1 entries in 6 bytes */
    static const uint8_t huge_count[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 0xff, 0xff, 0xff, 0xff, 0x0f};
    /* a u32 LEB128 of 6 bytes */
    static const uint8_t long_leb[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 0x86, 0x80, 0x80, 0x80, 0x80, 0x00, 0};
    /* function body whose i32.add has no operands */
    static const uint8_t type_error[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7f, 3, 2, 1, 0,
                                         10, 5, 1, 3, 0, 0x6a, 0x0b};
    expect_load_error(eng, bad_magic, sizeof bad_magic, "magic header not detected", "rejects bad magic");
    expect_load_error(eng, bad_version, sizeof bad_version, "unknown binary version", "rejects bad version");
    expect_load_error(eng, truncated, sizeof truncated, "unexpected end", "rejects truncated section");
    expect_load_error(eng, huge_count, sizeof huge_count, "length out of bounds", "rejects huge count without allocating");
    expect_load_error(eng, long_leb, sizeof long_leb, "integer representation too long", "rejects over-long LEB128");
    expect_load_error(eng, type_error, sizeof type_error, "type mismatch", "rejects ill-typed code");
    /* every prefix of a valid module either is itself a valid module (cut at a section
     * boundary) or fails with a message; the ASan build proves nothing is read past it */
    int all = 1, rejected = 0;
    for (size_t n = 0; n < sizeof wasm_counter; n++) {
        lq_module *m; lq_error err;
        if (lq_module_load(eng, wasm_counter, n, &m, &err) == LQ_OK) lq_module_free(m);
        else if (!err.message[0]) all = 0;
        else rejected++;
    }
    check(all && rejected > (int)sizeof wasm_counter - 20, "truncated modules are errors with a message", "an error without message");
    /* single-byte corruptions: must never crash; either load or fail with a message */
    int sane = 1;
    for (size_t i = 8; i < sizeof wasm_counter; i++) {
        uint8_t buf[sizeof wasm_counter];
        memcpy(buf, wasm_counter, sizeof buf);
        buf[i] ^= 0xA5;
        lq_module *m; lq_error err;
        if (lq_module_load(eng, buf, sizeof buf, &m, &err) == LQ_OK) lq_module_free(m);
        else if (!err.message[0]) sane = 0;
    }
    check(sane, "corrupted modules fail with a message", "an error without message");
    /* 60,000 exports (a quadratic duplicate check would take minutes), then one duplicate;
     * 6,000 on the 4 MiB Cortex-M4 board */
    {
#ifdef __arm__
        enum { N = 6000 };
#else
        enum { N = 60000 };
#endif
        size_t cap = 64 + (size_t)N * 12;
        uint8_t *w = (uint8_t *)malloc(cap);
        size_t n = 0;
        static const uint8_t head[] = {0, 'a', 's', 'm', 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0};
        memcpy(w, head, sizeof head);
        n = sizeof head;
        for (int dup = 0; dup < 2; dup++) {
            size_t at = sizeof head;
            w[at++] = 7;                       /* export section, size as a 5-byte LEB */
            size_t size_at = at;
            at += 5;
            size_t body = at;
            uint32_t count = N;
            w[at++] = (uint8_t)(0x80 | (count & 0x7F)); w[at++] = (uint8_t)(0x80 | ((count >> 7) & 0x7F)); w[at++] = (uint8_t)(count >> 14);
            for (uint32_t i = 0; i < count; i++) {
                char name[16];
                int len = snprintf(name, sizeof name, "e%u", (unsigned)(dup && i == count - 1 ? 7 : i));
                w[at++] = (uint8_t)len;
                memcpy(w + at, name, (size_t)len);
                at += (size_t)len;
                w[at++] = 0; w[at++] = 0;     /* func 0 */
            }
            uint32_t sz = (uint32_t)(at - body);
            for (int k = 0; k < 5; k++) w[size_at + k] = (uint8_t)(((sz >> (7 * k)) & 0x7F) | (k < 4 ? 0x80 : 0));
            static const uint8_t code[] = {10, 4, 1, 2, 0, 0x0b};
            memcpy(w + at, code, sizeof code);
            n = at + sizeof code;
            lq_module *m; lq_error err;
            lq_status st = lq_module_load(eng, w, n, &m, &err);
            if (!dup) {
                check(st == LQ_OK && lq_module_export_count(m) == N, "many exports load", err.message);
                if (st == LQ_OK) lq_module_free(m);
            } else {
                check(st == LQ_ERROR && strstr(err.message, "duplicate export name"), "duplicate among many exports found", err.message);
            }
        }
        free(w);
    }
    lq_limits small = {0};
    small.max_module_size = 100;
    lq_engine *tiny = new_engine(small);
    expect_load_error(tiny, wasm_counter, sizeof wasm_counter, "module too large", "module size limit");
    lq_engine_free(tiny);
}

static void test_calls(lq_engine *eng) {
    env e = {0};
    lq_module *m;
    lq_instance *in = counter_instance(eng, &e, &m);
    lq_error err;
    int32_t v = 0;
    call_i32(in, "inc", NULL, 0, NULL, &err);
    call_i32(in, "inc", NULL, 0, &v, &err);
    check(v == 2, "exported function updates a global", err.message);
    uint8_t b[4] = {0};
    lq_memory_read(in, 100, b, 4, &err);
    check(b[0] == 2, "wasm store visible through lq_memory_read", "memory[100] != 2");
    check(lq_memory_read(in, 65535, b, 4, &err) == LQ_ERROR, "lq_memory_read bounds-checks", "read past the end succeeded");
    lq_value args[2] = {lq_i32(40), lq_i32(2)};
    call_i32(in, "call_add", args, 2, &v, &err);
    check(v == 42 && e.add_calls == 1, "host function called with typed args and results", err.message);
    lq_value sw[2] = {lq_i32(7), lq_i64(-9)}, r[2];
    lq_status st = lq_call(lq_instance_func(in, "swap"), sw, 2, r, 2, &err);
    check(st == LQ_OK && r[0].type == LQ_I64 && (int64_t)r[0].of.i64 == -9 && r[1].of.i32 == 7, "multi-value results", err.message);
    st = lq_call(lq_instance_func(in, "swap"), sw, 1, r, 2, &err);
    check(st == LQ_ERROR && strstr(err.message, "wrong number of arguments"), "argument count checked", err.message);
    lq_value wrong[2] = {lq_i64(1), lq_i64(2)};
    st = lq_call(lq_instance_func(in, "swap"), wrong, 2, r, 2, &err);
    check(st == LQ_ERROR && strstr(err.message, "argument type mismatch"), "argument types checked", err.message);
    st = call_i32(in, "call_host_trap", NULL, 0, NULL, &err);
    check(st == LQ_TRAP && strcmp(err.message, "trap_me says 7") == 0, "host trap message reaches the embedder", err.message);
    lq_value dz[2] = {lq_i32(1), lq_i32(0)};
    st = call_i32(in, "div", dz, 2, NULL, &err);
    check(st == LQ_TRAP && strcmp(err.message, "integer divide by zero") == 0, "wasm trap message", err.message);
    call_i32(in, "get", NULL, 0, &v, &err);
    check(v == 2, "instance usable after a trap", err.message);
    lq_value idx = lq_i32(1);
    call_i32(in, "indirect", &idx, 1, &v, &err);
    check(v == 2, "call_indirect through an element segment", err.message);
    idx = lq_i32(3);
    st = call_i32(in, "indirect", &idx, 1, NULL, &err);
    check(st == LQ_TRAP && strstr(err.message, "uninitialized element"), "null table slot traps", err.message);
    lq_value big = lq_i32(1000000);
    st = call_i32(in, "recurse", &big, 1, NULL, &err);
    check(st == LQ_TRAP && strcmp(err.message, "call stack exhausted") == 0, "deep recursion is a clean trap", err.message);
    lq_value small = lq_i32(500);
    call_i32(in, "recurse", &small, 1, &v, &err);
    check(v == 500, "recursion within limits after exhaustion", err.message);

    /* linking: a second instance imports memory, global and function from the first */
    lq_module *pm; lq_instance *peer;
    e.counter = in;
    lq_module_load(eng, wasm_peer, sizeof wasm_peer, &pm, &err);
    st = lq_instantiate(pm, resolve, &e, &peer, &err);
    check(st == LQ_OK, "instantiate with imports from another instance", err.message);
    if (st == LQ_OK) {
        call_i32(peer, "bump", NULL, 0, &v, &err);
        check(v == 3, "imported function runs in its own instance", err.message);
        call_i32(peer, "peek", NULL, 0, &v, &err);
        check(v == 3, "imported memory is shared", err.message);
        call_i32(peer, "reset", NULL, 0, NULL, &err);
        call_i32(in, "get", NULL, 0, &v, &err);
        check(v == 0, "imported mutable global is shared", err.message);
        lq_instance_free(peer);
    }
    e.counter = NULL;
    st = lq_instantiate(pm, resolve, &e, &peer, &err);
    check(st == LQ_ERROR && strstr(err.message, "unknown import counter."), "missing import named in the error", err.message);
    lq_module_free(pm);
    lq_instance_free(in);
    lq_module_free(m);
    lq_func_free(e.trap_me);
    lq_func_free(e.add);
}

static void test_fuel(lq_engine *eng) {
    env e = {0};
    lq_module *m;
    lq_instance *in = counter_instance(eng, &e, &m);
    lq_error err;
    lq_value n = lq_i32(100000), r[1];
    lq_func *sum = lq_instance_func(in, "sum");
    lq_set_fuel(in, 1000);
    lq_status st = lq_call(sum, &n, 1, r, 1, &err);
    int suspensions = 0;
    while (st == LQ_SUSPENDED && suspensions < 1000) {
        suspensions++;
        if (lq_fuel(in) != 0) break;
        lq_set_fuel(in, 1000);
        st = lq_resume(in, r, 1, &err);
    }
    char why[160];
    char big[24];
    hex64(big, r[0].of.i64);
    snprintf(why, sizeof why, "status %d after %d suspensions, result 0x%s", st, suspensions, big);
    check(st == LQ_OK && r[0].of.i64 == 4999950000ull, "out-of-fuel call resumes to the right result", why);
    /* 100000 taken back edges at 1000 per slice: the 100th slice ends exactly as the loop
     * leaves through its forward br_if, so 99 suspensions */
    check(suspensions == 99, "one unit of fuel per loop iteration", why);
    /* one unit per slice: suspended at each of the 300 nested calls (the entry call is not
     * charged), in the middle of `1 + recurse(n - 1)` with values on the stack */
    lq_value depth = lq_i32(300), rr[1];
    lq_set_fuel(in, 0);
    st = lq_call(lq_instance_func(in, "recurse"), &depth, 1, rr, 1, &err);
    int slices = 0;
    while (st == LQ_SUSPENDED && slices < 10000) {
        slices++;
        lq_set_fuel(in, 1);
        st = lq_resume(in, rr, 1, &err);
    }
    snprintf(why, sizeof why, "status %d after %d slices, result %d", st, slices, (int)rr[0].of.i32);
    check(st == LQ_OK && rr[0].of.i32 == 300 && slices == 300, "suspended at every call, resumed to the right result", why);
    lq_set_fuel(in, 10);
    st = lq_call(sum, &n, 1, r, 1, &err);
    check(st == LQ_SUSPENDED && lq_is_suspended(in) && strcmp(err.message, "out of fuel") == 0, "suspension reported", err.message);
    int32_t v;
    st = call_i32(in, "get", NULL, 0, &v, &err);
    check(st == LQ_ERROR && strstr(err.message, "suspended"), "no new call while suspended", err.message);
    lq_abort(in);
    lq_set_fuel(in, LQ_FUEL_UNLIMITED);
    st = lq_call(sum, &n, 1, r, 1, &err);
    check(st == LQ_OK && r[0].of.i64 == 4999950000ull && lq_fuel(in) == LQ_FUEL_UNLIMITED, "abort then unlimited call", err.message);
    lq_instance_free(in);
    lq_module_free(m);
    lq_func_free(e.trap_me);
    lq_func_free(e.add);
}

static void test_limits(void) {
    lq_limits l = {0};
    l.max_memory_pages = 2;
    l.value_stack_slots = 512;
    l.call_depth = 50;
    lq_engine *eng = new_engine(l);
    env e = {0};
    lq_module *m;
    lq_instance *in = counter_instance(eng, &e, &m);
    lq_error err;
    lq_value one = lq_i32(1);
    int32_t v;
    call_i32(in, "grow", &one, 1, &v, &err);
    check(v == 1, "memory.grow within the engine limit", err.message);
    call_i32(in, "grow", &one, 1, &v, &err);
    check(v == -1, "memory.grow beyond max_memory_pages returns -1", err.message);
    lq_value d = lq_i32(60);
    lq_status st = call_i32(in, "recurse", &d, 1, NULL, &err);
    check(st == LQ_TRAP && strcmp(err.message, "call stack exhausted") == 0, "call_depth limit", err.message);
    lq_instance_free(in);
    lq_module_free(m);
    lq_func_free(e.trap_me);
    lq_func_free(e.add);
    lq_engine_free(eng);
}

/* lq_table_grow: what the runtime appends a shared library's slots with. */
static void test_table_grow(lq_engine *eng) {
    lq_table *t;
    lq_error err;
    uint32_t old = 99;
    lq_value v;
    lq_table_new(eng, LQ_FUNCREF, 1, 3, &t, &err);
    lq_status st = lq_table_grow(t, 2, lq_ref(LQ_FUNCREF, NULL), &old, &err);
    check(st == LQ_OK && old == 1 && lq_table_size(t) == 3, "lq_table_grow returns the old size", err.message);
    check(lq_table_get(t, 2, &v, &err) == LQ_OK && v.of.ref == NULL, "lq_table_grow fills with init", err.message);
    st = lq_table_grow(t, 1, lq_ref(LQ_FUNCREF, NULL), &old, &err);
    check(st == LQ_ERROR && lq_table_size(t) == 3 && strcmp(err.message, "table cannot grow that far") == 0,
          "lq_table_grow refuses to pass the maximum", err.message);
    st = lq_table_grow(t, 0, lq_ref(LQ_EXTERNREF, NULL), &old, &err);
    check(st == LQ_ERROR, "lq_table_grow checks the element type", "accepted an externref for a funcref table");
    lq_table_free(t);
}

typedef struct buf { uint8_t *data; size_t len, cap; } buf;
static int buf_write(void *user, const void *d, size_t n) {
    buf *b = (buf *)user;
    if (b->len + n > b->cap) {
        size_t cap = (b->len + n) * 2;
        uint8_t *p = (uint8_t *)realloc(b->data, cap);
        if (!p) return 1;
        b->data = p; b->cap = cap;
    }
    memcpy(b->data + b->len, d, n);
    b->len += n;
    return 0;
}

/* The state the cross-build check expects: count 3, memory grown to 2 pages with marks
 * near the end, passive segments dropped, funcref global and table slot 2 set. */
static void make_state(lq_instance *in) {
    lq_error err;
    int32_t v;
    for (int i = 0; i < 3; i++) call_i32(in, "inc", NULL, 0, NULL, &err);
    lq_value one = lq_i32(1);
    call_i32(in, "grow", &one, 1, &v, &err);
    lq_value st[2] = {lq_i32(131000), lq_i32(0x5A)};
    call_i32(in, "store8", st, 2, NULL, &err);
    lq_value slot = lq_i32(2);
    call_i32(in, "set_slot", &slot, 1, NULL, &err);   /* table[2] = $inc (from passive seg) */
    call_i32(in, "remember_inc", NULL, 0, NULL, &err);
    call_i32(in, "drop_passive", NULL, 0, NULL, &err);
}

/* Prints what a restored instance shows; identical output on every build. */
static void describe_state(lq_instance *in, char *out, size_t cap) {
    lq_error err;
    int32_t count = -1, pages = -1, mark = -1, hello = -1, via_table = -1, via_global = -1;
    lq_value r[1];
    call_i32(in, "get", NULL, 0, &count, &err);
    call_i32(in, "pages", NULL, 0, &pages, &err);
    lq_value a = lq_i32(131000);
    call_i32(in, "load8", &a, 1, &mark, &err);
    a = lq_i32(16);
    call_i32(in, "load8", &a, 1, &hello, &err);
    lq_call(lq_instance_func(in, "wide"), NULL, 0, r, 1, &err);
    char wide[24];
    hex64(wide, r[0].of.i64);
    lq_status init = (lq_status)call_i32(in, "init_passive", NULL, 0, NULL, &err);
    lq_value slot = lq_i32(2);
    call_i32(in, "indirect", &slot, 1, &via_table, &err);     /* inc -> count+1 */
    call_i32(in, "call_remembered", NULL, 0, &via_global, &err); /* inc again */
    snprintf(out, cap, "count=%d pages=%d mark=%d hello=%c wide=%s init_after_drop=%s table=%d global=%d",
             (int)count, (int)pages, (int)mark, (int)hello, wide, init == LQ_TRAP ? "trap" : "ok", (int)via_table,
             (int)via_global);
}

static void test_snapshot(lq_engine *eng) {
    env e = {0};
    lq_module *m;
    lq_instance *in = counter_instance(eng, &e, &m);
    lq_error err;
    buf fresh = {0};
    lq_status st = lq_snapshot(in, buf_write, &fresh, &err);
    char why[200];
    snprintf(why, sizeof why, "%lu bytes", (unsigned long)fresh.len);
    check(st == LQ_OK && fresh.len < 300, "snapshot of a fresh 1-page instance is a few hundred bytes", why);
    printf("info fresh-snapshot-bytes %lu\n", (unsigned long)fresh.len);
    {
        uint8_t fixed[512];
        size_t need = 0, got = 0;
        lq_status small = lq_snapshot_to_buffer(in, fixed, 16, &need, &err);
        int said = strstr(err.message, "buffer too small") != NULL;
        st = lq_snapshot_to_buffer(in, fixed, sizeof fixed, &got, &err);
        snprintf(why, sizeof why, "small: %d (%lu) full: %d (%lu)", small, (unsigned long)need, st, (unsigned long)got);
        check(small == LQ_ERROR && said && need == fresh.len && st == LQ_OK && got == fresh.len &&
                  memcmp(fixed, fresh.data, got) == 0,
              "snapshot into a caller buffer, with the size needed when too small", why);
    }
    make_state(in);
    buf snap = {0};
    st = lq_snapshot(in, buf_write, &snap, &err);
    check(st == LQ_OK, "snapshot after changes", err.message);
    printf("info state-snapshot-bytes %lu\n", (unsigned long)snap.len);
    const char extra[] = "timers:1";
    st = lq_snapshot_section(buf_write, &snap, "RTME", extra, sizeof extra, &err);
    const uint8_t *payload; uint32_t plen;
    st = lq_snapshot_find(snap.data, snap.len, "RTME", &payload, &plen, &err);
    check(st == LQ_OK && plen == sizeof extra && memcmp(payload, extra, plen) == 0, "embedder section appended and found", err.message);

    char before[300], after[300], why2[700];
    lq_instance *copy;
    lq_instantiate(m, resolve, &e, &copy, &err);
    st = lq_restore(copy, snap.data, snap.len, &err);
    check(st == LQ_OK, "restore into a fresh instance", err.message);
    describe_state(in, before, sizeof before);
    describe_state(copy, after, sizeof after);
    snprintf(why2, sizeof why2, "original: %s / restored: %s", before, after);
    check(strcmp(before, after) == 0 && strstr(after, "count=3 pages=2 mark=90 hello=h wide=300000000 init_after_drop=trap table=4 global=5"),
          "restored instance behaves like the original", why2);
    printf("info state %s\n", after);

    /* corrupt snapshots never crash and say what is wrong */
    int sane = 1;
    for (size_t i = 0; i < snap.len; i += 3) {
        lq_instance *t;
        lq_instantiate(m, resolve, &e, &t, &err);
        uint8_t *c = (uint8_t *)malloc(snap.len);
        memcpy(c, snap.data, (unsigned long)snap.len);
        c[i] ^= 0xFF;
        if (lq_restore(t, c, snap.len, &err) != LQ_OK && !err.message[0]) sane = 0;
        if (lq_restore(t, c, i, &err) != LQ_OK && !err.message[0]) sane = 0;
        free(c);
        lq_instance_free(t);
    }
    check(sane, "corrupt or truncated snapshots are rejected with a message", "error without message");
    {
        /* everything is checked before anything is written: a snapshot whose last section
         * is damaged leaves a fresh instance exactly as it was */
        lq_instance *t;
        int32_t count = -1, pages = -1;
        lq_instantiate(m, resolve, &e, &t, &err);
        st = lq_restore(t, snap.data, snap.len - 1, &err);
        call_i32(t, "get", NULL, 0, &count, &err);
        call_i32(t, "pages", NULL, 0, &pages, &err);
        snprintf(why, sizeof why, "restore status %d, count %d, pages %d", st, (int)count, (int)pages);
        check(st == LQ_ERROR && count == 0 && pages == 1, "a rejected snapshot leaves the instance unchanged", why);
        lq_instance_free(t);
    }
    lq_module *pm; lq_instance *peer;
    e.counter = in;
    lq_module_load(eng, wasm_peer, sizeof wasm_peer, &pm, &err);
    lq_instantiate(pm, resolve, &e, &peer, &err);
    st = lq_restore(peer, snap.data, snap.len, &err);
    check(st == LQ_ERROR && strstr(err.message, "different module"), "restore checks the module hash", err.message);
    lq_instance_free(peer);
    lq_module_free(pm);
    lq_set_fuel(in, 5);
    lq_value n = lq_i32(1000), r[1];
    lq_call(lq_instance_func(in, "sum"), &n, 1, r, 1, &err);
    st = lq_snapshot(in, buf_write, &snap, &err);
    check(st == LQ_ERROR && strstr(err.message, "in progress"), "no snapshot in the middle of a call", err.message);
    lq_abort(in);
    free(fresh.data); free(snap.data);
    lq_instance_free(copy);
    lq_instance_free(in);
    lq_module_free(m);
    lq_func_free(e.trap_me);
    lq_func_free(e.add);
}

static void test_arena(void) {
    static uint8_t memory[600 * 1024];
    lq_arena arena;
    lq_arena_init(&arena, memory, sizeof memory);
    lq_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.alloc = lq_arena_alloc;
    cfg.alloc_user = &arena;
    cfg.limits.value_stack_slots = 1024;
    cfg.limits.call_depth = 64;
    lq_engine *eng; lq_error err;
    lq_engine_new(&cfg, &eng, &err);
    env e = {0};
    lq_module *m;
    lq_instance *in = counter_instance(eng, &e, &m);
    int32_t v = 0;
    call_i32(in, "inc", NULL, 0, &v, &err);
    check(v == 1, "engine runs from a caller arena", err.message);
    printf("info arena-peak-bytes %lu\n", (unsigned long)arena.high_water);
    lq_instance_free(in);
    lq_module_free(m);
    lq_func_free(e.trap_me);
    lq_func_free(e.add);
    lq_engine_free(eng);
    char why[64];
    snprintf(why, sizeof why, "%lu bytes still allocated", (unsigned long)arena.used);
    check(arena.used == 0, "everything returned to the arena", why);

    lq_arena_init(&arena, memory, 40 * 1024);   /* too small for the 64 KiB page */
    lq_engine_new(&cfg, &eng, &err);
    lq_module *m2;
    lq_status st = lq_module_load(eng, wasm_counter, sizeof wasm_counter, &m2, &err);
    lq_instance *in2 = NULL;
    if (st == LQ_OK) {
        lq_func_new_host(eng, "i", "", host_trap, NULL, &e.trap_me, &err);
        lq_func_new_host(eng, "ii", "i", host_add, &e.add_calls, &e.add, &err);
        st = lq_instantiate(m2, resolve, &e, &in2, &err);
    }
    check(st == LQ_ERROR && strstr(err.message, "out of memory") && in2 == NULL, "arena exhaustion is an error, not a crash", err.message);
}

static double now_ms(void) { return (double)clock() * 1000.0 / CLOCKS_PER_SEC; }

static void measure_instantiate(lq_engine *eng) {
    env e = {0};
    lq_module *m; lq_error err;
    lq_func_new_host(eng, "i", "", host_trap, NULL, &e.trap_me, &err);
    lq_func_new_host(eng, "ii", "i", host_add, &e.add_calls, &e.add, &err);
    lq_module_load(eng, wasm_counter, sizeof wasm_counter, &m, &err);
    double t0 = now_ms();
    const int rounds = 200;
    for (int i = 0; i < rounds; i++) {
        lq_instance *in;
        lq_instantiate(m, resolve, &e, &in, &err);
        lq_instance_free(in);
    }
    printf("info instantiate-us %ld\n", (long)((now_ms() - t0) * 1000.0 / rounds));
    lq_module_free(m);
    lq_func_free(e.trap_me);
    lq_func_free(e.add);
}

static int snapshot_file(const char *mode, const char *path) {
    lq_engine *eng = new_engine((lq_limits){0});
    env e = {0};
    lq_module *m;
    lq_instance *in = counter_instance(eng, &e, &m);
    lq_error err;
    int rc = 1;
    buf b = {0};
    if (!strcmp(mode, "snapshot-write")) {
        make_state(in);
        if (lq_snapshot(in, buf_write, &b, &err) != LQ_OK) printf("error: %s\n", err.message);
        else {
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(b.data, 1, b.len, f) != b.len) printf("error: cannot write %s\n", path);
            else { printf("wrote %lu bytes\n", (unsigned long)b.len); rc = 0; }
            if (f) fclose(f);
        }
    } else {
        FILE *f = fopen(path, "rb");
        static uint8_t data[256 * 1024];
        size_t n = f ? fread(data, 1, sizeof data, f) : 0;
        if (f) fclose(f);
        if (!f) printf("error: cannot read %s\n", path);
        else if (lq_restore(in, data, n, &err) != LQ_OK) printf("error: %s\n", err.message);
        else {
            char s[300];
            describe_state(in, s, sizeof s);
            printf("%s\n", s);
            rc = 0;
        }
    }
    free(b.data);
    lq_instance_free(in);
    lq_module_free(m);
    lq_func_free(e.trap_me);
    lq_func_free(e.add);
    lq_engine_free(eng);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 3) return snapshot_file(argv[1], argv[2]);
    lq_engine *eng = new_engine((lq_limits){0});
    test_sha256();
    test_hostile_modules(eng);
    test_calls(eng);
    test_fuel(eng);
    test_limits();
    test_table_grow(eng);
    test_snapshot(eng);
    test_arena();
    measure_instantiate(eng);
    lq_engine_free(eng);
    char why[64];
    snprintf(why, sizeof why, "%lu bytes leaked through the allocator hook", (unsigned long)live_bytes);
    check(live_bytes == 0, "every allocation freed", why);
    printf("%s\n", failures ? "FAILED" : "ALL OK");
    return failures ? 1 : 0;
}
