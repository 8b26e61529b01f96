/* A spec-test driver small enough for a microcontroller: runs scripts converted by
 * spec-lines.mjs (one command per line, no JSON) against the engine. It exists to run the
 * official suite on the Cortex-M4 build under QEMU, where stdio and files come through
 * semihosting; the posix suite runs through liquid-vm --spectest.
 *   spec_lines --index INDEX.txt      run every script listed in INDEX.txt
 *   spec_lines SCRIPT.txt...          run these scripts
 * Prints "NAME: pass P fail F skip S" per script, "FAIL line L: why" for failures and a
 * final "total: ..." line; exits 1 if anything failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "liquid_engine.h"

#ifdef __arm__
/* the 4 MiB board: small stacks, memories of at most 40 pages (2.5 MiB) */
#define STACK_SLOTS 8192
#define CALL_DEPTH 400
#define MAX_PAGES 40
#else
#define STACK_SLOTS 0
#define CALL_DEPTH 0
#define MAX_PAGES 0
#endif

#define MAX_TOKENS 1024
#define MAX_LIVE 128

typedef struct live { char name[64]; lq_instance *inst; lq_module *mod; int registered; } live;

typedef struct script {
    lq_engine *engine;
    live mods[MAX_LIVE]; int nmods;
    struct { char as[1024]; lq_instance *inst; } regs[32]; int nregs;
    lq_instance *last;
    lq_func *print[7]; lq_global *g[4]; lq_table *table; lq_memory *memory;
} script;

static void *heap(void *user, void *ptr, size_t old, size_t size) {
    (void)user; (void)old;
    if (size == 0) { free(ptr); return NULL; }
    return realloc(ptr, size);
}

static lq_status host_print(lq_instance *c, void *u, const lq_value *a, lq_value *r) {
    (void)c; (void)u; (void)a; (void)r;
    return LQ_OK;
}

static void unhex(const char *h, char *out, uint32_t *len) {
    uint32_t n = 0;
    if (strcmp(h, "-") != 0)
        for (; h[0] && h[1] && n < 1023; h += 2) {
            char b[3] = {h[0], h[1], 0};
            out[n++] = (char)strtoul(b, NULL, 16);
        }
    out[n] = 0;
    *len = n;
}

static lq_status resolve(void *user, const lq_import_info *im, lq_extern *out) {
    script *s = (script *)user;
    if (strcmp(im->module, "spectest") == 0) {
        static const char *const fn[7] = {"print", "print_i32", "print_i64", "print_f32", "print_f64",
                                          "print_i32_f32", "print_f64_f64"};
        static const char *const gn[4] = {"global_i32", "global_i64", "global_f32", "global_f64"};
        for (int i = 0; i < 7; i++)
            if (!strcmp(im->name, fn[i])) { out->kind = LQ_EXTERN_FUNC; out->of.func = s->print[i]; return LQ_OK; }
        for (int i = 0; i < 4; i++)
            if (!strcmp(im->name, gn[i])) { out->kind = LQ_EXTERN_GLOBAL; out->of.global = s->g[i]; return LQ_OK; }
        if (!strcmp(im->name, "table")) { out->kind = LQ_EXTERN_TABLE; out->of.table = s->table; return LQ_OK; }
        if (!strcmp(im->name, "memory")) { out->kind = LQ_EXTERN_MEMORY; out->of.memory = s->memory; return LQ_OK; }
        return LQ_ERROR;
    }
    for (int i = s->nregs - 1; i >= 0; i--)
        if (!strcmp(s->regs[i].as, im->module)) return lq_instance_export_n(s->regs[i].inst, im->name, im->name_len, out);
    return LQ_ERROR;
}

static uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = (uint8_t *)malloc(size > 0 ? (size_t)size : 1);
    *n = b && size > 0 ? fread(b, 1, (size_t)size, f) : 0;
    fclose(f);
    return b;
}

static lq_value parse_value(const char *tok) {
    lq_value v;
    const char *c = strchr(tok, ':');
    memset(&v, 0, sizeof v);
    c = c ? c + 1 : tok;
    if (!strncmp(tok, "i32:", 4)) { v.type = LQ_I32; v.of.i32 = (uint32_t)strtoul(c, NULL, 10); }
    else if (!strncmp(tok, "i64:", 4)) { v.type = LQ_I64; v.of.i64 = strtoull(c, NULL, 10); }
    else if (!strncmp(tok, "f32:", 4)) { v.type = LQ_F32; v.of.f32 = (uint32_t)strtoul(c, NULL, 10); }
    else if (!strncmp(tok, "f64:", 4)) { v.type = LQ_F64; v.of.f64 = strtoull(c, NULL, 10); }
    else if (!strncmp(tok, "funcref:", 8)) v.type = LQ_FUNCREF;
    else {
        /* host references are N+1 so that "externref 0" is not the null reference */
        v.type = LQ_EXTERNREF;
        v.of.ref = !strcmp(c, "null") ? NULL : (void *)(uintptr_t)(strtoul(c, NULL, 10) + 1);
    }
    return v;
}

static int nan_matches(const char *want, uint64_t bits, int is64) {
    uint64_t expo = is64 ? 0x7FF0000000000000ull : 0x7F800000u;
    uint64_t frac = is64 ? 0x000FFFFFFFFFFFFFull : 0x7FFFFFu;
    uint64_t quiet = is64 ? 0x0008000000000000ull : 0x400000u;
    if ((bits & expo) != expo || !(bits & frac)) return 0;
    if (strstr(want, "canonical")) return (bits & frac) == quiet;
    return (bits & quiet) != 0;
}

static int value_matches(const char *want, lq_value got) {
    const char *c = strchr(want, ':') + 1;
    lq_value e = parse_value(want);
    if (e.type != got.type) return 0;
    if (!strncmp(c, "nan", 3)) return nan_matches(c, e.type == LQ_F32 ? got.of.f32 : got.of.f64, e.type == LQ_F64);
    if (e.type == LQ_FUNCREF) return !strcmp(c, "null") ? got.of.ref == NULL : got.of.ref != NULL;
    if (e.type == LQ_EXTERNREF) return e.of.ref == got.of.ref;
    if (e.type == LQ_I32 || e.type == LQ_F32) return e.of.i32 == got.of.i32;
    return e.of.i64 == got.of.i64;
}

static lq_instance *find(script *s, const char *name) {
    if (!strcmp(name, "-")) return s->last;
    for (int i = s->nmods - 1; i >= 0; i--)
        if (!strcmp(s->mods[i].name, name)) return s->mods[i].inst;
    return NULL;
}

static void script_begin(script *s) {
    lq_config cfg;
    lq_error err;
    static const char *const params[7] = {"", "i", "I", "f", "F", "if", "FF"};
    memset(s, 0, sizeof *s);
    memset(&cfg, 0, sizeof cfg);
    cfg.alloc = heap;
    cfg.limits.value_stack_slots = STACK_SLOTS;
    cfg.limits.call_depth = CALL_DEPTH;
    cfg.limits.max_memory_pages = MAX_PAGES;
    lq_engine_new(&cfg, &s->engine, &err);
    for (int i = 0; i < 7; i++) lq_func_new_host(s->engine, params[i], "", host_print, NULL, &s->print[i], &err);
    lq_global_new(s->engine, lq_i32(666), 0, &s->g[0], &err);
    lq_global_new(s->engine, lq_i64(666), 0, &s->g[1], &err);
    lq_global_new(s->engine, lq_f32_bits(0x4426a666u), 0, &s->g[2], &err);   /* 666.6 */
    lq_global_new(s->engine, lq_f64_bits(0x4084d4cccccccccdull), 0, &s->g[3], &err);
    lq_table_new(s->engine, LQ_FUNCREF, 10, 20, &s->table, &err);
    lq_memory_new(s->engine, 1, 2, &s->memory, &err);
}

static void script_end(script *s) {
    for (int i = s->nmods - 1; i >= 0; i--) lq_instance_free(s->mods[i].inst);
    for (int i = s->nmods - 1; i >= 0; i--) lq_module_free(s->mods[i].mod);
    for (int i = 0; i < 7; i++) lq_func_free(s->print[i]);
    for (int i = 0; i < 4; i++) lq_global_free(s->g[i]);
    lq_table_free(s->table);
    lq_memory_free(s->memory);
    lq_engine_free(s->engine);
}

/* Keeps an instance (and its module) alive for the rest of the script. The previous
 * anonymous, unregistered one is freed first: nothing can refer to it any more, and the
 * small board needs the memory. A module whose instantiation trapped is kept too: its
 * functions may live on in tables it shared. */
static void keep(script *s, const char *name, lq_module *m, lq_instance *in) {
    if (s->nmods > 0) {
        live *prev = &s->mods[s->nmods - 1];
        if (!strcmp(prev->name, "-") && !prev->registered && prev->inst == s->last && prev->inst) {
            lq_instance_free(prev->inst);
            lq_module_free(prev->mod);
            s->nmods--;
        }
    }
    if (s->nmods == MAX_LIVE) return;   /* never reached by the suite; leaks rather than crashes */
    live *l = &s->mods[s->nmods++];
    snprintf(l->name, sizeof l->name, "%s", name);
    l->inst = in;
    l->mod = m;
    l->registered = 0;
}

static int run_script(const char *path, int *pass, int *fail, int *skip) {
    static char line[32768];
    char *tok[MAX_TOKENS];
    script *s = (script *)malloc(sizeof(script));
    FILE *f = fopen(path, "r");
    int p = 0, fl = 0, sk = 0;
    if (!f || !s) { printf("FAIL %s: cannot read\n", path); free(s); if (f) fclose(f); return 1; }
    script_begin(s);
    while (fgets(line, sizeof line, f)) {
        int nt = 0, ok = 1, line_no;
        char why[200] = "";
        lq_error err;
        for (char *t = strtok(line, " \n"); t && nt < MAX_TOKENS; t = strtok(NULL, " \n")) tok[nt++] = t;
        if (nt < 2) continue;
        line_no = atoi(tok[0]);
        const char *cmd = tok[1];
        if (!strcmp(cmd, "skip")) { sk++; continue; }
        if (!strcmp(cmd, "module") && nt >= 4) {
            size_t n;
            uint8_t *b = read_file(tok[3], &n);
            lq_module *m = NULL;
            lq_instance *in = NULL;
            if (!b || lq_module_load(s->engine, b, n, &m, &err) != LQ_OK) { ok = 0; snprintf(why, sizeof why, "load: %s", b ? err.message : "no file"); }
            else if (lq_instantiate(m, resolve, s, &in, &err) != LQ_OK) { ok = 0; snprintf(why, sizeof why, "instantiate: %s", err.message); }
            free(b);
            if (m && !in) lq_module_free(m);
            else if (m) keep(s, tok[2], m, in);
            s->last = in;
        } else if (!strcmp(cmd, "register") && nt >= 4) {
            lq_instance *in = find(s, tok[3]);
            uint32_t len;
            if (s->nregs < 32 && in) {
                unhex(tok[2], s->regs[s->nregs].as, &len);
                s->regs[s->nregs++].inst = in;
                for (int i = 0; i < s->nmods; i++) if (s->mods[i].inst == in) s->mods[i].registered = 1;
            }
        } else if ((!strcmp(cmd, "invalid") || !strcmp(cmd, "malformed") || !strcmp(cmd, "unlinkable") ||
                    !strcmp(cmd, "uninstantiable")) && nt >= 3) {
            size_t n;
            uint8_t *b = read_file(tok[2], &n);
            lq_module *m = NULL;
            lq_instance *in = NULL;
            lq_status st = b ? lq_module_load(s->engine, b, n, &m, &err) : LQ_ERROR;
            int load_should_fail = cmd[0] == 'i' || cmd[0] == 'm';
            if (load_should_fail) {
                if (st == LQ_OK) { ok = 0; snprintf(why, sizeof why, "module loaded, expected %s", cmd); }
            } else if (st != LQ_OK) {
                ok = 0; snprintf(why, sizeof why, "load: %s", err.message);
            } else {
                st = lq_instantiate(m, resolve, s, &in, &err);
                if (st == LQ_OK) { ok = 0; snprintf(why, sizeof why, "instantiated, expected %s", cmd); }
                else if (cmd[2] == 'l' && st != LQ_ERROR) { ok = 0; snprintf(why, sizeof why, "expected a link error: %s", err.message); }
                else if (cmd[2] == 'i' && st != LQ_TRAP) { ok = 0; snprintf(why, sizeof why, "expected a trap: %s", err.message); }
            }
            if (in) keep(s, "-", m, in);
            else if (m) lq_module_free(m);
            if (in) s->last = in;
            free(b);
        } else if ((!strcmp(cmd, "return") || !strcmp(cmd, "trap")) && nt >= 6) {
            char field[1024];
            uint32_t flen;
            lq_value args[64], res[64];
            lq_extern ex;
            lq_instance *in = find(s, tok[3]);
            int na = atoi(tok[5]), ne;
            unhex(tok[4], field, &flen);
            if (na > 64 || 6 + na >= nt) { sk++; continue; }
            for (int i = 0; i < na; i++) args[i] = parse_value(tok[6 + i]);
            ne = atoi(tok[6 + na]);
            if (ne > 64 || 7 + na + ne > nt) { sk++; continue; }
            if (!in || lq_instance_export_n(in, field, flen, &ex) != LQ_OK) { ok = 0; snprintf(why, sizeof why, "no export"); }
            else if (!strcmp(tok[2], "get")) {
                if (ex.kind != LQ_EXTERN_GLOBAL || (ne && !value_matches(tok[7 + na], lq_global_get(ex.of.global)))) {
                    ok = 0; snprintf(why, sizeof why, "global value");
                }
            } else if (ex.kind != LQ_EXTERN_FUNC) {
                ok = 0; snprintf(why, sizeof why, "not a function");
            } else {
                lq_status st = lq_call(ex.of.func, args, (uint32_t)na, res, 64, &err);
                if (cmd[0] == 't') {
                    if (st != LQ_TRAP) { ok = 0; snprintf(why, sizeof why, "expected a trap, status %d", (int)st); }
                } else if (st != LQ_OK) {
                    ok = 0; snprintf(why, sizeof why, "status %d: %s", (int)st, err.message);
                } else {
                    for (int i = 0; i < ne && ok; i++)
                        if (!value_matches(tok[7 + na + i], res[i])) { ok = 0; snprintf(why, sizeof why, "result %d is not %s", i, tok[7 + na + i]); }
                }
            }
        } else {
            sk++;
            continue;
        }
        if (ok) p++;
        else { fl++; printf("FAIL line %d %s: %s\n", line_no, cmd, why); }
    }
    fclose(f);
    script_end(s);
    free(s);
    printf("%s: pass %d fail %d skip %d\n", path, p, fl, sk);
    *pass += p; *fail += fl; *skip += sk;
    return fl != 0;
}

int main(int argc, char **argv) {
    int pass = 0, fail = 0, skip = 0;
    if (argc == 3 && !strcmp(argv[1], "--index")) {
        static char path[1024];
        FILE *idx = fopen(argv[2], "r");
        if (!idx) { printf("error: cannot read %s\n", argv[2]); return 2; }
        while (fgets(path, sizeof path, idx)) {
            path[strcspn(path, "\r\n")] = 0;
            if (path[0]) run_script(path, &pass, &fail, &skip);
        }
        fclose(idx);
    } else {
        for (int i = 1; i < argc; i++) run_script(argv[i], &pass, &fail, &skip);
    }
    printf("total: pass %d fail %d skip %d\n", pass, fail, skip);
    return fail != 0;
}
