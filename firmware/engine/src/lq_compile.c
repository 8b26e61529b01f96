/* Validation and translation of one function body, in a single pass.
 *
 * The wasm operand stack is simulated with types (the spec's validation algorithm); since
 * its height is known at every instruction, branches are translated into jumps with the
 * exact stack adjustment they need (most need none and become plain JMPs). The output is
 * 32-bit words: an opcode word followed by its immediates (see lq_ops.h and docs/engine.md).
 * Code after an unconditional branch is validated but not emitted. */
#include "lq_reader.h"
#include "lq_ops.h"

enum { K_BLOCK, K_LOOP, K_IF, K_ELSE, K_FUNC };

typedef struct ctl {
    uint8_t kind;
    uint8_t unreachable;     /* validation: the stack is polymorphic */
    uint8_t dead;            /* emission: the whole block is unreachable code */
    uint8_t one;             /* storage for a single-valtype block result */
    uint32_t nparams, nresults;
    const uint8_t *params, *results;
    uint32_t height;         /* operand height below the block's params */
    uint32_t loop_pc;        /* loops: word offset of the header */
    uint32_t patches;        /* forward branch words to fix at end (index+1 list) */
    uint32_t else_patch;     /* if: word of the JMP_IF_Z target (index+1) */
} ctl;

typedef struct comp {
    lq_module *m;
    lqe_reader r;
    uint8_t *locals; uint32_t nlocals;     /* all locals incl. params */
    uint8_t *vals; uint32_t nvals, capvals, maxvals;
    ctl *ctls; uint32_t nctls, capctls;
    int oom;
    /* peephole state: start of the last two emitted instructions, and the first word
     * that is a branch target (fusion must not cross it) */
    uint32_t last, prev, barrier;
} comp;

static int fail(comp *c, const char *msg) { return lqe_rfail(&c->r, msg); }

static int emit(comp *c, uint32_t w) {
    lq_module *m = c->m;
    if (m->code_len == m->code_cap) {
        uint32_t cap = m->code_cap ? m->code_cap * 2 : 256;
        uint32_t *n = (uint32_t *)lqe_realloc(m->engine, m->code, (size_t)cap * 4);
        if (!n) { c->oom = 1; return fail(c, "out of memory"); }
        m->code = n; m->code_cap = cap;
    }
    m->code[m->code_len++] = w;
    return 1;
}

static ctl *top(comp *c) { return &c->ctls[c->nctls - 1]; }
static int live(comp *c) { return !top(c)->unreachable && !top(c)->dead; }

/* Starts a new instruction in the output; returns 0 when the code is dead. */
static int op(comp *c, uint32_t code) {
    if (!live(c)) return 0;
    c->prev = c->last;
    c->last = c->m->code_len;
    emit(c, code);
    return 1;
}

static int push(comp *c, uint8_t t) {
    if (c->nvals == c->capvals) {
        uint32_t cap = c->capvals ? c->capvals * 2 : 64;
        uint8_t *n = (uint8_t *)lqe_realloc(c->m->engine, c->vals, cap);
        if (!n) { c->oom = 1; return fail(c, "out of memory"); }
        c->vals = n; c->capvals = cap;
    }
    c->vals[c->nvals++] = t;
    if (c->nvals > c->maxvals) c->maxvals = c->nvals;
    return 1;
}

/* Pops a value of type `want` (LQE_UNKNOWN: any); *got receives the actual type. */
static int pop(comp *c, uint8_t want, uint8_t *got) {
    ctl *f = top(c);
    uint8_t t;
    if (c->nvals == f->height) {
        if (!f->unreachable) return fail(c, "invalid: type mismatch");
        t = LQE_UNKNOWN;
    } else {
        t = c->vals[--c->nvals];
    }
    if (t != want && t != LQE_UNKNOWN && want != LQE_UNKNOWN) return fail(c, "invalid: type mismatch");
    if (got) *got = t == LQE_UNKNOWN ? want : t;
    return 1;
}

static int pop_n(comp *c, uint32_t n, const uint8_t *types) {
    for (uint32_t i = n; i-- > 0;) if (!pop(c, types[i], NULL)) return 0;
    return 1;
}

static int push_n(comp *c, uint32_t n, const uint8_t *types) {
    for (uint32_t i = 0; i < n; i++) if (!push(c, types[i])) return 0;
    return 1;
}

/* Stable storage for one-value block types (the ctl array may move when it grows). */
static const uint8_t *single_type(uint8_t t) {
    static const uint8_t types[6] = {LQ_I32, LQ_I64, LQ_F32, LQ_F64, LQ_FUNCREF, LQ_EXTERNREF};
    for (int i = 0; i < 6; i++) if (types[i] == t) return &types[i];
    return &types[0];
}

static int push_ctl(comp *c, uint8_t kind, uint32_t np, const uint8_t *p, uint32_t nr, const uint8_t *res, uint8_t one) {
    if (c->nctls == c->capctls) {
        uint32_t cap = c->capctls ? c->capctls * 2 : 16;
        ctl *n = (ctl *)lqe_realloc(c->m->engine, c->ctls, cap * sizeof(ctl));
        if (!n) { c->oom = 1; return fail(c, "out of memory"); }
        c->ctls = n; c->capctls = cap;
    }
    ctl *f = &c->ctls[c->nctls++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->one = one;
    f->nparams = np; f->params = p;
    f->nresults = nr; f->results = nr == 1 && !res ? single_type(one) : res;
    f->height = c->nvals;
    /* a block inside dead code is itself dead for emission purposes */
    if (c->nctls > 1) f->dead = c->ctls[c->nctls - 2].unreachable || c->ctls[c->nctls - 2].dead;
    return 1;
}

/* Block type: 0x40 empty, a value type, or a type index (s33). */
static int blocktype(comp *c, uint32_t *np, const uint8_t **p, uint32_t *nr, const uint8_t **res, uint8_t *one) {
    uint8_t b;
    if (c->r.p >= c->r.end) return fail(c, "malformed: unexpected end");
    b = *c->r.p;
    *np = 0; *p = NULL; *nr = 0; *res = NULL; *one = 0;
    if (b == 0x40) { c->r.p++; return 1; }
    if (b == LQ_I32 || b == LQ_I64 || b == LQ_F32 || b == LQ_F64 || b == LQ_FUNCREF || b == LQ_EXTERNREF) {
        c->r.p++; *nr = 1; *one = b; return 1;
    }
    int64_t idx;
    if (!lqe_sleb(&c->r, 33, &idx)) return 0;
    if (idx < 0) return fail(c, "malformed: malformed value type");
    if ((uint64_t)idx >= c->m->ntypes) return fail(c, "invalid: unknown type");
    const lqe_functype *ft = &c->m->types[idx];
    *np = ft->nparams; *p = ft->types; *nr = ft->nresults; *res = ft->types + ft->nparams;
    return 1;
}

static uint32_t label_arity(const ctl *f) { return f->kind == K_LOOP ? f->nparams : f->nresults; }
static const uint8_t *label_types(const ctl *f) { return f->kind == K_LOOP ? f->params : f->results; }

/* Appends a branch target word for ctl f (resolved now for loops, later otherwise). */
static int target_word(comp *c, ctl *f) {
    uint32_t w = c->m->code_len;
    if (f->kind == K_LOOP) return emit(c, (uint32_t)((int32_t)f->loop_pc - (int32_t)w));
    emit(c, f->patches);
    f->patches = w + 1;
    return 1;
}

static void resolve(comp *c, uint32_t list, uint32_t to) {
    while (list) {
        uint32_t w = list - 1;
        uint32_t next = c->m->code[w];
        c->m->code[w] = (uint32_t)((int32_t)to - (int32_t)w);
        list = next;
    }
}

/* br_if after an i32 comparison (or eqz) becomes one compare-and-branch instruction;
 * when the comparison itself took a local and a constant, the whole sequence
 * local.get/i32.const/cmp/br_if becomes BRCK (no stack traffic at all). Returns 1 when
 * the opcode was rewritten and only the target word remains to be emitted. */
static int fuse_br_if(comp *c) {
    uint32_t *code = c->m->code;
    uint32_t L = c->last, P = c->prev;
    if (!live(c) || L < c->barrier) return 0;
    if (LQE_WIDE_FUSION && code[L] == OP_LOCAL_GET && c->m->code_len == L + 2) {
        code[L] = OP_BR_IF_L;        /* local.get x; br_if: the target word follows x */
        return 1;
    }
    if (c->m->code_len != L + 1) return 0;
    uint32_t o = code[L];
    if (o == OP_I32_EQZ) { code[L] = OP_BR_IF_EQZ; return 1; }
    if (o < OP_I32_EQ || o > OP_I32_GE_U) return 0;
    if (P >= c->barrier && P + 3 == L && (code[P] == OP_GET_CONST || code[P] == OP_GET_GET)) {
        code[P] = (code[P] == OP_GET_CONST ? OP_BRCK_EQ : OP_BRLL_EQ) + (o - OP_I32_EQ);
        c->m->code_len = L;          /* drop the comparison word */
        c->last = P;
        return 1;
    }
    if (P >= c->barrier && P + 2 == L && code[P] == OP_CONST32) {
        code[P] = OP_BRSK_EQ + (o - OP_I32_EQ);
        c->m->code_len = L;
        c->last = P;
        return 1;
    }
    code[L] = OP_BRC_EQ + (o - OP_I32_EQ);
    return 1;
}

/* `if` after an i32 comparison (or eqz): one instruction that jumps to the else/end when
 * the comparison is false, i.e. the inverse comparison-and-branch. Returns 1 when the
 * instruction was rewritten and only its target word remains to be emitted. */
static int fuse_if(comp *c) {
    static const uint8_t inverse[10] = {1, 0, 8, 9, 6, 7, 4, 5, 2, 3};
    uint32_t *code = c->m->code;
    uint32_t L = c->last, P = c->prev;
    if (!live(c) || L < c->barrier || c->m->code_len != L + 1) return 0;
    uint32_t o = code[L];
    if (o == OP_I32_EQZ) { code[L] = OP_BR_IF; return 1; }
    if (o < OP_I32_EQ || o > OP_I32_GE_U) return 0;
    uint32_t inv = inverse[o - OP_I32_EQ];
    if (P >= c->barrier && P + 3 == L && (code[P] == OP_GET_CONST || code[P] == OP_GET_GET)) {
        code[P] = (code[P] == OP_GET_CONST ? OP_BRCK_EQ : OP_BRLL_EQ) + inv;
        c->m->code_len = L;
        c->last = P;
        return 1;
    }
    if (P >= c->barrier && P + 2 == L && code[P] == OP_CONST32) {
        code[P] = OP_BRSK_EQ + inv;
        c->m->code_len = L;
        c->last = P;
        return 1;
    }
    code[L] = OP_BRC_EQ + inv;
    return 1;
}

/* Checks the label's values on the stack (without consuming them) and emits the branch.
 * `cond`: br_if. */
static int branch(comp *c, uint32_t depth, int cond) {
    if (depth >= c->nctls) return fail(c, "invalid: unknown label");
    ctl *f = &c->ctls[c->nctls - 1 - depth];
    uint32_t n = label_arity(f);
    const uint8_t *types = label_types(f);
    if (!pop_n(c, n, types)) return 0;
    uint32_t here = c->nvals;
    if (!push_n(c, n, types)) return 0;
    if (!live(c)) return 1;
    if (f->kind == K_FUNC) {
        if (cond) {
            /* br_if to the function level: skip the return when the condition is zero */
            op(c, OP_JMP_IF_Z);
            uint32_t w = c->m->code_len;
            emit(c, 0);
            op(c, OP_RETURN);
            c->m->code[w] = c->m->code_len - w;
            c->barrier = c->m->code_len;
        } else {
            op(c, OP_RETURN);
        }
        return 1;
    }
    if (here == f->height) {
        if (cond && fuse_br_if(c)) return target_word(c, f);
        op(c, cond ? OP_BR_IF : OP_JMP);
        return target_word(c, f);
    }
    op(c, cond ? OP_BR_IF_MOVE : OP_BR_MOVE);
    target_word(c, f);
    emit(c, c->nlocals + 1 + f->height);
    return emit(c, n);
}

static int set_unreachable(comp *c) {
    ctl *f = top(c);
    c->nvals = f->height;
    f->unreachable = 1;
    return 1;
}

static int memarg(comp *c, uint32_t natural_log2, uint32_t *offset) {
    uint32_t align;
    if (!lqe_u32(&c->r, &align) || !lqe_u32(&c->r, offset)) return 0;
    if (c->m->nmems == 0) return fail(c, "invalid: unknown memory 0");
    if (align > natural_log2) return fail(c, "invalid: alignment must not be larger than natural");
    return 1;
}

static int zero_byte(comp *c) {
    uint8_t b;
    if (!lqe_u8(&c->r, &b)) return 0;
    if (b != 0) return fail(c, "malformed: zero byte expected");
    return 1;
}

static int need_memory(comp *c) {
    if (c->m->nmems == 0) return fail(c, "invalid: unknown memory 0");
    return 1;
}

static int table_index(comp *c, uint32_t *t) {
    if (!lqe_u32(&c->r, t)) return 0;
    if (*t >= c->m->ntables) return fail(c, "invalid: unknown table");
    return 1;
}

static int is_num(uint8_t t) { return t == LQ_I32 || t == LQ_I64 || t == LQ_F32 || t == LQ_F64 || t == LQE_UNKNOWN; }
static int is_ref(uint8_t t) { return t == LQ_FUNCREF || t == LQ_EXTERNREF || t == LQE_UNKNOWN; }

/* Operand/result types of numeric opcodes 0x45..0xC4: returns the number of operands. */
static int numeric_sig(uint8_t o, uint8_t *a, uint8_t *r) {
    static const uint8_t conv_in[25] = {LQ_I64, LQ_F32, LQ_F32, LQ_F64, LQ_F64, LQ_I32, LQ_I32, LQ_F32, LQ_F32,
                                        LQ_F64, LQ_F64, LQ_I32, LQ_I32, LQ_I64, LQ_I64, LQ_F64, LQ_I32, LQ_I32,
                                        LQ_I64, LQ_I64, LQ_F32, LQ_F32, LQ_F64, LQ_I32, LQ_I64};
    static const uint8_t conv_out[25] = {LQ_I32, LQ_I32, LQ_I32, LQ_I32, LQ_I32, LQ_I64, LQ_I64, LQ_I64, LQ_I64,
                                         LQ_I64, LQ_I64, LQ_F32, LQ_F32, LQ_F32, LQ_F32, LQ_F32, LQ_F64, LQ_F64,
                                         LQ_F64, LQ_F64, LQ_F64, LQ_I32, LQ_I64, LQ_F32, LQ_F64};
    if (o == 0x45) { *a = LQ_I32; *r = LQ_I32; return 1; }
    if (o <= 0x4F) { *a = LQ_I32; *r = LQ_I32; return 2; }
    if (o == 0x50) { *a = LQ_I64; *r = LQ_I32; return 1; }
    if (o <= 0x5A) { *a = LQ_I64; *r = LQ_I32; return 2; }
    if (o <= 0x60) { *a = LQ_F32; *r = LQ_I32; return 2; }
    if (o <= 0x66) { *a = LQ_F64; *r = LQ_I32; return 2; }
    if (o <= 0x69) { *a = LQ_I32; *r = LQ_I32; return 1; }
    if (o <= 0x78) { *a = LQ_I32; *r = LQ_I32; return 2; }
    if (o <= 0x7B) { *a = LQ_I64; *r = LQ_I64; return 1; }
    if (o <= 0x8A) { *a = LQ_I64; *r = LQ_I64; return 2; }
    if (o <= 0x91) { *a = LQ_F32; *r = LQ_F32; return 1; }
    if (o <= 0x98) { *a = LQ_F32; *r = LQ_F32; return 2; }
    if (o <= 0x9F) { *a = LQ_F64; *r = LQ_F64; return 1; }
    if (o <= 0xA6) { *a = LQ_F64; *r = LQ_F64; return 2; }
    if (o <= 0xBF) { *a = conv_in[o - 0xA7]; *r = conv_out[o - 0xA7]; return 1; }
    if (o <= 0xC1) { *a = LQ_I32; *r = LQ_I32; return 1; }
    *a = LQ_I64; *r = LQ_I64; return 1;
}

/* Register-style operands for the i32 binary operators: when the last instruction only
 * pushed a constant, or a local and a constant, or two locals, the operator takes them as
 * immediates instead (OPK/OPLK/OPLL families, see docs/engine.md). Never across a branch
 * target. */
static void fuse_binary(comp *c, uint8_t o) {
    static const uint8_t fam[9] = {0x6A, 0x6B, 0x6C, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76};
    uint32_t *code = c->m->code;
    uint32_t L = c->last, k = 0;
    if (!live(c)) return;
    while (k < 9 && fam[k] != o) k++;
    if (k < 9 && L >= c->barrier) {
        uint32_t len = c->m->code_len - L;
        if (code[L] == OP_CONST32 && len == 2) { code[L] = OP_OPK_ADD + k; return; }
        if (code[L] == OP_GET_CONST && len == 3) { code[L] = OP_OPLK_ADD + k; return; }
        if (code[L] == OP_GET_GET && len == 3) { code[L] = OP_OPLL_ADD + k; return; }
        if (LQE_WIDE_FUSION && code[L] == OP_LOCAL_GET && len == 2) { code[L] = OP_OPSL_ADD + k; return; }
    }
    if (LQE_WIDE_FUSION && k == 9 && L >= c->barrier) {
        /* f32/f64 add, sub, mul with local operands */
        static const uint8_t fops[6] = {0x92, 0x93, 0x94, 0xA0, 0xA1, 0xA2};
        uint32_t f = 0, len = c->m->code_len - L;
        while (f < 6 && fops[f] != o) f++;
        if (f < 6 && code[L] == OP_LOCAL_GET && len == 2) { code[L] = OP_F32_ADD_L + f; return; }
        if (f < 6 && code[L] == OP_GET_GET && len == 3) { code[L] = OP_F32_ADD_LL + f; return; }
    }
    op(c, o);
}

static int compile_body(comp *c, uint32_t fidx) {
    lq_module *m = c->m;
    lqe_reader *r = &c->r;
    const lqe_functype *ft = &m->types[m->func_types[fidx]];
    if (!push_ctl(c, K_FUNC, 0, NULL, ft->nresults, ft->types + ft->nparams, 0)) return 0;
    for (;;) {
        uint8_t o, t, t2;
        uint32_t x, y;
        if (!lqe_u8(r, &o)) return fail(c, "malformed: unexpected end of function body");
        switch (o) {
        case 0x00: op(c, OP_UNREACHABLE); set_unreachable(c); break;
        case 0x01: break;
        case 0x02: case 0x03: case 0x04: {
            uint32_t np, nr; const uint8_t *p, *res; uint8_t one;
            if (!blocktype(c, &np, &p, &nr, &res, &one)) return 0;
            if (o == 0x04 && !pop(c, LQ_I32, NULL)) return 0;
            if (!pop_n(c, np, p)) return 0;
            int was_live = live(c);
            if (!push_ctl(c, o == 0x02 ? K_BLOCK : o == 0x03 ? K_LOOP : K_IF, np, p, nr, res, one)) return 0;
            ctl *f = top(c);
            if (o == 0x03) {
                f->loop_pc = m->code_len;
                c->barrier = m->code_len;
            } else if (o == 0x04 && was_live) {
                if (!fuse_if(c)) op(c, OP_JMP_IF_Z);
                f->else_patch = m->code_len + 1;
                emit(c, 0);
            }
            if (!push_n(c, np, p)) return 0;
            break;
        }
        case 0x05: {
            ctl *f = top(c);
            if (f->kind != K_IF) return fail(c, "malformed: else without if");
            if (!pop_n(c, f->nresults, f->results)) return 0;
            if (c->nvals != f->height) return fail(c, "invalid: type mismatch");
            if (live(c)) { op(c, OP_JMP); emit(c, f->patches); f->patches = m->code_len; }
            resolve(c, f->else_patch, m->code_len);
            f->else_patch = 0;
            c->barrier = m->code_len;
            f->unreachable = 0;
            f->kind = K_ELSE;
            if (!push_n(c, f->nparams, f->params)) return 0;
            break;
        }
        case 0x0B: {
            ctl *f = top(c);
            if (!pop_n(c, f->nresults, f->results)) return 0;
            if (c->nvals != f->height) return fail(c, "invalid: type mismatch");
            if (f->kind == K_IF) {
                /* no else: the false path carries the params through unchanged */
                if (f->nparams != f->nresults || (f->nparams && memcmp(f->params, f->results, f->nparams) != 0))
                    return fail(c, "invalid: type mismatch");
                resolve(c, f->else_patch, m->code_len);
            }
            if (f->kind == K_FUNC) {
                op(c, OP_RETURN);
                resolve(c, f->patches, m->code_len);
                c->nctls--;
                return 1;
            }
            resolve(c, f->patches, m->code_len);
            c->barrier = m->code_len;
            c->nctls--;
            if (!push_n(c, f->nresults, f->results)) return 0;
            break;
        }
        case 0x0C:
            if (!lqe_u32(r, &x) || !branch(c, x, 0)) return 0;
            set_unreachable(c);
            break;
        case 0x0D:
            if (!lqe_u32(r, &x) || !pop(c, LQ_I32, NULL) || !branch(c, x, 1)) return 0;
            break;
        case 0x0E: {
            uint32_t n;
            if (!lqe_u32(r, &n)) return 0;
            if (n > (size_t)(r->end - r->p)) return fail(c, "malformed: unexpected end");
            if (!pop(c, LQ_I32, NULL)) return 0;
            const uint8_t *labels = r->p;
            uint32_t dflt, arity;
            /* first pass: validate, find the default's arity */
            for (uint32_t i = 0; i <= n; i++) if (!lqe_u32(r, &x)) return 0;
            dflt = x;
            if (dflt >= c->nctls) return fail(c, "invalid: unknown label");
            arity = label_arity(&c->ctls[c->nctls - 1 - dflt]);
            lqe_reader lr = {labels, r->p, r->file, r->err, 0};
            int emitting = live(c);
            if (emitting) { op(c, OP_BR_TABLE); emit(c, n); emit(c, arity); }
            for (uint32_t i = 0; i <= n; i++) {
                lqe_u32(&lr, &x);
                if (x >= c->nctls) return fail(c, "invalid: unknown label");
                ctl *f = &c->ctls[c->nctls - 1 - x];
                if (label_arity(f) != arity) return fail(c, "invalid: type mismatch");
                /* each label's types must accept the stack's top values */
                uint32_t save = c->nvals;
                if (!pop_n(c, arity, label_types(f))) return 0;
                c->nvals = save;
                if (emitting) {
                    if (f->kind == K_FUNC) { emit(c, 0); emit(c, 0xFFFFFFFFu); }
                    else { target_word(c, f); emit(c, c->nlocals + 1 + f->height); }
                }
            }
            if (!pop_n(c, arity, label_types(&c->ctls[c->nctls - 1 - dflt]))) return 0;
            set_unreachable(c);
            break;
        }
        case 0x0F:
            if (!pop_n(c, ft->nresults, ft->types + ft->nparams)) return 0;
            op(c, OP_RETURN);
            set_unreachable(c);
            break;
        case 0x10: {
            if (!lqe_u32(r, &x)) return 0;
            if (x >= m->nfuncs) return fail(c, "invalid: unknown function");
            const lqe_functype *ct = &m->types[m->func_types[x]];
            if (!pop_n(c, ct->nparams, ct->types) || !push_n(c, ct->nresults, ct->types + ct->nparams)) return 0;
            if (op(c, OP_CALL)) emit(c, x);
            break;
        }
        case 0x11: {
            if (!lqe_u32(r, &x) || !lqe_u32(r, &y)) return 0;
            if (y >= m->ntables) return fail(c, "invalid: unknown table");
            if (x >= m->ntypes) return fail(c, "invalid: unknown type");
            if (m->tables[y].elem != LQ_FUNCREF) return fail(c, "invalid: type mismatch");
            const lqe_functype *ct = &m->types[x];
            if (!pop(c, LQ_I32, NULL) || !pop_n(c, ct->nparams, ct->types) || !push_n(c, ct->nresults, ct->types + ct->nparams)) return 0;
            if (op(c, OP_CALL_INDIRECT)) { emit(c, x); emit(c, y); }
            break;
        }
        case 0x1A:
            if (!pop(c, LQE_UNKNOWN, NULL)) return 0;
            op(c, OP_DROP);
            break;
        case 0x1B: case 0x1C: {
            uint8_t want = LQE_UNKNOWN;
            if (o == 0x1C) {
                uint32_t n;
                if (!lqe_u32(r, &n)) return 0;
                if (n != 1) return fail(c, "invalid: invalid result arity");
                uint8_t b;
                if (!lqe_u8(r, &b)) return 0;
                if (!is_num(b) && !is_ref(b)) return fail(c, "malformed: malformed value type");
                want = b;
            }
            if (!pop(c, LQ_I32, NULL) || !pop(c, want, &t) || !pop(c, want == LQE_UNKNOWN ? t : want, &t2)) return 0;
            if (o == 0x1B && (!is_num(t) || !is_num(t2))) return fail(c, "invalid: type mismatch");
            if (t == LQE_UNKNOWN) t = t2;
            if (!push(c, o == 0x1C ? want : t)) return 0;
            op(c, OP_SELECT);
            break;
        }
        case 0x20: case 0x21: case 0x22:
            if (!lqe_u32(r, &x)) return 0;
            if (x >= c->nlocals) return fail(c, "invalid: unknown local");
            if (o == 0x20) {
                if (!push(c, c->locals[x])) return 0;
                if (live(c) && c->last >= c->barrier && m->code_len == c->last + 2 && m->code[c->last] == OP_LOCAL_GET) {
                    m->code[c->last] = OP_GET_GET;     /* two local.get in a row */
                    emit(c, x);
                } else if (op(c, OP_LOCAL_GET)) emit(c, x);
            } else {
                if (!pop(c, c->locals[x], NULL)) return 0;
                if (o == 0x22 && !push(c, c->locals[x])) return 0;
                if (o == 0x21 && live(c) && c->last >= c->barrier && m->code_len == c->last + 3 && m->code[c->last] == OP_OPLL_ADD) {
                    /* local.get a; local.get b; i32.add; local.set x -> one instruction */
                    m->code[c->last] = OP_ADD32_SET;
                    emit(c, x);
                } else if (LQE_WIDE_FUSION && o == 0x22 && live(c) && c->last >= c->barrier && m->code_len == c->last + 3 && m->code[c->last] == OP_OPLL_ADD) {
                    m->code[c->last] = OP_ADD32_TEE;
                    emit(c, x);
                } else if (live(c) && c->last >= c->barrier && m->code_len == c->last + 3 && m->code[c->last] == OP_OPLK_ADD) {
                    /* local.get a; i32.const k; i32.add; local.set/tee x */
                    m->code[c->last] = o == 0x21 ? OP_ADDK_SET : OP_ADDK_TEE;
                    emit(c, x);
                } else if (LQE_WIDE_FUSION && o == 0x21 && live(c) && c->last >= c->barrier && m->code_len == c->last + 2 && m->code[c->last] == OP_CONST32) {
                    /* i32/f32.const k; local.set x: stored as SETK k x */
                    m->code[c->last] = OP_SETK;
                    emit(c, x);
                } else if (o == 0x21 && live(c) && c->last >= c->barrier && m->code_len == c->last + 2 && m->code[c->last] == OP_LOCAL_GET) {
                    m->code[c->last] = OP_COPY;        /* local.get a; local.set x */
                    emit(c, x);
                } else if (op(c, o == 0x21 ? OP_LOCAL_SET : OP_LOCAL_TEE)) emit(c, x);
            }
            break;
        case 0x23: case 0x24:
            if (!lqe_u32(r, &x)) return 0;
            if (x >= m->nglobals) return fail(c, "invalid: unknown global");
            if (o == 0x23) { if (!push(c, m->globals[x].type)) return 0; }
            else {
                if (!m->globals[x].mut) return fail(c, "invalid: global is immutable");
                if (!pop(c, m->globals[x].type, NULL)) return 0;
            }
            if (op(c, o)) emit(c, x);
            break;
        case 0x25: case 0x26:
            if (!table_index(c, &x)) return 0;
            if (o == 0x25) { if (!pop(c, LQ_I32, NULL) || !push(c, m->tables[x].elem)) return 0; }
            else if (!pop(c, m->tables[x].elem, NULL) || !pop(c, LQ_I32, NULL)) return 0;
            if (op(c, o)) emit(c, x);
            break;
        case 0x28: case 0x29: case 0x2A: case 0x2B: case 0x2C: case 0x2D: case 0x2E: case 0x2F:
        case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35: {
            static const uint8_t nat[14] = {2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2};
            static const uint8_t res[14] = {LQ_I32, LQ_I64, LQ_F32, LQ_F64, LQ_I32, LQ_I32, LQ_I32, LQ_I32,
                                            LQ_I64, LQ_I64, LQ_I64, LQ_I64, LQ_I64, LQ_I64};
            if (!memarg(c, nat[o - 0x28], &x) || !pop(c, LQ_I32, NULL) || !push(c, res[o - 0x28])) return 0;
            int wide = (o == 0x28 || o == 0x2A) ? 0 : 1;
            if (o <= 0x2B && live(c) && c->last >= c->barrier && m->code_len == c->last + 2 && m->code[c->last] == OP_LOCAL_GET) {
                m->code[c->last] = wide ? OP_GET_LOAD64 : OP_GET_LOAD32;
                emit(c, x);
            } else if (LQE_WIDE_FUSION && o <= 0x2B && live(c) && c->last >= c->barrier && m->code_len == c->last + 2 && m->code[c->last] == OP_OPK_ADD) {
                m->code[c->last] = wide ? OP_LOADK64 : OP_LOADK32;     /* load from (top + k) */
                emit(c, x);
            } else if (LQE_WIDE_FUSION && o <= 0x2B && live(c) && c->last >= c->barrier && m->code_len == c->last + 3 && m->code[c->last] == OP_OPLK_ADD) {
                m->code[c->last] = wide ? OP_LOADLK64 : OP_LOADLK32;   /* load from (local + k) */
                emit(c, x);
            } else if (op(c, o)) emit(c, x);
            break;
        }
        case 0x36: case 0x37: case 0x38: case 0x39: case 0x3A: case 0x3B: case 0x3C: case 0x3D: case 0x3E: {
            static const uint8_t nat[9] = {2, 3, 2, 3, 0, 1, 0, 1, 2};
            static const uint8_t ty[9] = {LQ_I32, LQ_I64, LQ_F32, LQ_F64, LQ_I32, LQ_I32, LQ_I64, LQ_I64, LQ_I64};
            if (!memarg(c, nat[o - 0x36], &x) || !pop(c, ty[o - 0x36], NULL) || !pop(c, LQ_I32, NULL)) return 0;
            if (LQE_WIDE_FUSION && (o == 0x36 || o == 0x3A) && live(c) && c->last >= c->barrier && m->code_len == c->last + 2 && m->code[c->last] == OP_CONST32) {
                /* store of a constant to the address on the stack: STOREK k offset */
                m->code[c->last] = o == 0x36 ? OP_STOREK32 : OP_STOREK8;
                emit(c, x);
            } else if (o <= 0x39 && live(c) && c->last >= c->barrier && m->code_len == c->last + 3 && m->code[c->last] == OP_GET_GET) {
                m->code[c->last] = (o == 0x36 || o == 0x38) ? OP_STORE32_LL : OP_STORE64_LL;
                emit(c, x);
            } else if (op(c, o)) emit(c, x);
            break;
        }
        case 0x3F: case 0x40:
            if (!zero_byte(c) || !need_memory(c)) return 0;
            if (o == 0x40 && !pop(c, LQ_I32, NULL)) return 0;
            if (!push(c, LQ_I32)) return 0;
            op(c, o);
            break;
        case 0x41: {
            int64_t v = 0;
            if (!lqe_sleb(r, 32, &v) || !push(c, LQ_I32)) return 0;
            if (live(c) && c->last >= c->barrier && m->code_len == c->last + 2 && m->code[c->last] == OP_LOCAL_GET) {
                m->code[c->last] = OP_GET_CONST;
                emit(c, (uint32_t)v);
            } else if (op(c, OP_CONST32)) emit(c, (uint32_t)v);
            break;
        }
        case 0x42: {
            int64_t v = 0;
            if (!lqe_sleb(r, 64, &v) || !push(c, LQ_I64)) return 0;
            if (op(c, OP_CONST64)) { emit(c, (uint32_t)(uint64_t)v); emit(c, (uint32_t)((uint64_t)v >> 32)); }
            break;
        }
        case 0x43: {
            const uint8_t *b = NULL;
            if (!lqe_bytes(r, 4, &b) || !push(c, LQ_F32)) return 0;
            if (op(c, OP_CONST32)) emit(c, (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
            break;
        }
        case 0x44: {
            const uint8_t *b = NULL;
            if (!lqe_bytes(r, 8, &b) || !push(c, LQ_F64)) return 0;
            if (op(c, OP_CONST64)) {
                emit(c, (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
                emit(c, (uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24);
            }
            break;
        }
        case 0xD0:
            if (!lqe_u8(r, &t)) return 0;
            if (t != LQ_FUNCREF && t != LQ_EXTERNREF) return fail(c, "malformed: malformed reference type");
            if (!push(c, t)) return 0;
            if (op(c, OP_CONST64)) { emit(c, 0); emit(c, 0); }
            break;
        case 0xD1:
            if (!pop(c, LQE_UNKNOWN, &t)) return 0;
            if (!is_ref(t)) return fail(c, "invalid: type mismatch");
            if (!push(c, LQ_I32)) return 0;
            op(c, OP_REF_IS_NULL);
            break;
        case 0xD2:
            if (!lqe_u32(r, &x)) return 0;
            if (x >= m->nfuncs) return fail(c, "invalid: unknown function");
            if (!m->declared_funcs[x]) return fail(c, "invalid: undeclared function reference");
            if (!push(c, LQ_FUNCREF)) return 0;
            if (op(c, OP_REF_FUNC)) emit(c, x);
            break;
        case 0xFC: {
            uint32_t sub;
            if (!lqe_u32(r, &sub)) return 0;
            if (sub <= 7) {
                static const uint8_t in[8] = {LQ_F32, LQ_F32, LQ_F64, LQ_F64, LQ_F32, LQ_F32, LQ_F64, LQ_F64};
                if (!pop(c, in[sub], NULL) || !push(c, sub < 4 ? LQ_I32 : LQ_I64)) return 0;
                op(c, 0xE0 + sub);
                break;
            }
            switch (sub) {
            case 8: case 9:
                if (!lqe_u32(r, &x)) return 0;
                if (sub == 8 && !zero_byte(c)) return 0;
                if (!m->has_datacount) return fail(c, "malformed: data count section required");
                if (sub == 8 && !need_memory(c)) return 0;
                if (x >= m->datacount) return fail(c, "invalid: unknown data segment");
                if (sub == 8 && (!pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL))) return 0;
                if (op(c, sub == 8 ? OP_MEMORY_INIT : OP_DATA_DROP)) emit(c, x);
                break;
            case 10: case 11:
                if (!zero_byte(c) || (sub == 10 && !zero_byte(c)) || !need_memory(c)) return 0;
                if (!pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL)) return 0;
                op(c, sub == 10 ? OP_MEMORY_COPY : OP_MEMORY_FILL);
                break;
            case 12:
                if (!lqe_u32(r, &x) || !table_index(c, &y)) return 0;
                if (x >= m->nelems) return fail(c, "invalid: unknown elem segment");
                if (m->elems[x].elem != m->tables[y].elem) return fail(c, "invalid: type mismatch");
                if (!pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL)) return 0;
                if (op(c, OP_TABLE_INIT)) { emit(c, x); emit(c, y); }
                break;
            case 13:
                if (!lqe_u32(r, &x)) return 0;
                if (x >= m->nelems) return fail(c, "invalid: unknown elem segment");
                if (op(c, OP_ELEM_DROP)) emit(c, x);
                break;
            case 14:
                if (!table_index(c, &x) || !table_index(c, &y)) return 0;
                if (m->tables[x].elem != m->tables[y].elem) return fail(c, "invalid: type mismatch");
                if (!pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL) || !pop(c, LQ_I32, NULL)) return 0;
                if (op(c, OP_TABLE_COPY)) { emit(c, x); emit(c, y); }
                break;
            case 15:
                if (!table_index(c, &x)) return 0;
                if (!pop(c, LQ_I32, NULL) || !pop(c, m->tables[x].elem, NULL) || !push(c, LQ_I32)) return 0;
                if (op(c, OP_TABLE_GROW)) emit(c, x);
                break;
            case 16:
                if (!table_index(c, &x) || !push(c, LQ_I32)) return 0;
                if (op(c, OP_TABLE_SIZE)) emit(c, x);
                break;
            case 17:
                if (!table_index(c, &x)) return 0;
                if (!pop(c, LQ_I32, NULL) || !pop(c, m->tables[x].elem, NULL) || !pop(c, LQ_I32, NULL)) return 0;
                if (op(c, OP_TABLE_FILL)) emit(c, x);
                break;
            default: return fail(c, "malformed: illegal opcode");
            }
            break;
        }
        default:
            if (o >= 0x45 && o <= 0xC4) {
                uint8_t a, res;
                int n = numeric_sig(o, &a, &res);
                if (!pop(c, a, NULL) || (n == 2 && !pop(c, a, NULL)) || !push(c, res)) return 0;
                fuse_binary(c, o);
                break;
            }
            return fail(c, "malformed: illegal opcode");
        }
        if (c->r.failed) return 0;
    }
}

lq_status lqe_compile_function(lq_module *m, uint32_t i, const uint8_t *body, size_t len, size_t file_offset, lq_error *err) {
    comp cc;
    comp *c = &cc;
    memset(c, 0, sizeof cc);
    c->m = m;
    c->r.p = body; c->r.end = body + len; c->r.file = body - file_offset; c->r.err = err;
    uint32_t fidx = m->nfunc_imports + i;
    lqe_funcdef *fd = &m->funcdefs[i];
    const lqe_functype *ft = &m->types[fd->type];
    lq_status st = LQ_ERROR;
    /* locals: params first, then the declared groups */
    uint32_t ngroups;
    uint64_t total = ft->nparams;
    if (!lqe_u32(&c->r, &ngroups)) goto out;
    const uint8_t *groups = c->r.p;
    for (uint32_t g = 0; g < ngroups; g++) {
        uint32_t n; uint8_t t;
        if (!lqe_u32(&c->r, &n) || !lqe_u8(&c->r, &t)) goto out;
        total += n;
        if (total > m->engine->limits.max_function_locals) { fail(c, "malformed: too many locals"); goto out; }
        if (!is_num(t) && !is_ref(t)) { fail(c, "malformed: malformed value type"); goto out; }
        if (t == LQE_UNKNOWN) { fail(c, "malformed: malformed value type"); goto out; }
    }
    c->nlocals = (uint32_t)total;
    c->locals = (uint8_t *)lqe_malloc(m->engine, total + 1);
    if (!c->locals) { lqe_fail(err, LQ_ERROR, "out of memory"); goto out; }
    memcpy(c->locals, ft->types, ft->nparams);
    {
        lqe_reader g = {groups, c->r.end, c->r.file, err, 0};
        uint32_t at = ft->nparams;
        for (uint32_t k = 0; k < ngroups; k++) {
            uint32_t n = 0; uint8_t t = 0;
            lqe_u32(&g, &n); lqe_u8(&g, &t);
            memset(c->locals + at, t, n);
            at += n;
        }
    }
    fd->code = m->code_len;
    fd->nlocals = c->nlocals - ft->nparams;
    c->barrier = m->code_len;
    c->last = c->prev = m->code_len;
    if (!compile_body(c, fidx)) goto out;
    if (c->r.p != c->r.end) { fail(c, "malformed: section size mismatch"); goto out; }
    /* locals, the spare slot under the operands (top-of-stack caching), the operands */
    fd->frame_slots = c->nlocals + 1 + c->maxvals + 1;
#ifdef LQ_THREADED_DISPATCH
    {
        /* direct threading: opcode words become handler offsets */
        const int32_t *offsets = lqe_dispatch_offsets();
        uint32_t *code = m->code;
        for (uint32_t p = fd->code; offsets && p < m->code_len;) {
            uint32_t o = code[p];
            uint32_t n = lqe_op_imms(o, code + p + 1);
            code[p] = (uint32_t)offsets[o];
            p += 1 + n;
        }
    }
#endif
    st = LQ_OK;
out:
    if (st != LQ_OK && err) err->status = LQ_ERROR;
    lqe_free(m->engine, c->locals);
    lqe_free(m->engine, c->vals);
    lqe_free(m->engine, c->ctls);
    return st;
}
