/* Binary decoding and module-level validation. Function bodies are handed to
 * lq_compile.c, which validates and translates them in one pass. */
#include "lq_reader.h"

typedef struct lqe_block { struct lqe_block *next; uint64_t align_; } lqe_block;

/* Module data (names, types, segments...) is freed all at once with the module, so small
 * pieces are carved from 1 KiB chunks: on a microcontroller the per-allocation headers of
 * dozens of small names would otherwise cost more than the names. */
#define CHUNK 1024u
#if defined(__SANITIZE_ADDRESS__)
#define LQE_CHUNKED 0          /* sanitizer builds: one block per piece, exact bounds */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LQE_CHUNKED 0
#endif
#endif
#ifndef LQE_CHUNKED
#define LQE_CHUNKED 1
#endif
void *lqe_module_alloc(lq_module *m, size_t size) {
    size = (size + 7) & ~(size_t)7;
    if (size == 0) size = 8;
    if (size <= m->chunk_left) {
        void *p = m->chunk_at;
        memset(p, 0, size);
        m->chunk_at += size;
        m->chunk_left -= size;
        return p;
    }
    int small = LQE_CHUNKED && size <= CHUNK / 4;
    lqe_block *b = (lqe_block *)lqe_malloc(m->engine, sizeof(lqe_block) + (small ? CHUNK : size));
    if (!b) return NULL;
    b->next = (lqe_block *)m->blocks;
    m->blocks = b;
    if (small) {
        m->chunk_at = (uint8_t *)(b + 1) + size;
        m->chunk_left = CHUNK - size;
    }
    return b + 1;
}

/* Array allocation with an overflow check; count is already bounded by the input size. */
static void *alloc_array(lq_module *m, lqe_reader *r, uint64_t count, size_t elem) {
    if (count == 0) count = 1;
    if (count > ((size_t)-1) / elem / 2) { lqe_rfail(r, "malformed: too many entries"); return NULL; }
    void *p = lqe_module_alloc(m, (size_t)count * elem);
    if (!p) { r->failed = 1; lqe_fail(r->err, LQ_ERROR, "out of memory"); r->p = r->end; }
    return p;
}

/* Each entry of a vector takes at least one byte, so a count larger than what is left
 * is malformed: this bounds every allocation by the module size. */
static int read_count(lqe_reader *r, uint32_t *n) {
    if (!lqe_u32(r, n)) return 0;
    if (*n > (size_t)(r->end - r->p)) return lqe_rfail(r, "malformed: length out of bounds");
    return 1;
}

static int valid_utf8(const uint8_t *s, uint32_t n) {
    uint32_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        uint32_t len; uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
        else return 0;
        if (i + len > n) return 0;
        for (uint32_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        i += len;
    }
    return 1;
}

static int read_name(lq_module *m, lqe_reader *r, char **out, uint32_t *len) {
    uint32_t n; const uint8_t *b = NULL;
    if (!lqe_u32(r, &n) || !lqe_bytes(r, n, &b)) return 0;
    if (!valid_utf8(b, n)) return lqe_rfail(r, "malformed: malformed UTF-8 encoding");
    char *s = (char *)alloc_array(m, r, (uint64_t)n + 1, 1);
    if (!s) return 0;
    memcpy(s, b, n);
    s[n] = 0;
    *out = s; *len = n;
    return 1;
}

static int is_valtype(uint8_t t) {
    return t == LQ_I32 || t == LQ_I64 || t == LQ_F32 || t == LQ_F64 || t == LQ_FUNCREF || t == LQ_EXTERNREF;
}

static int read_valtype(lqe_reader *r, uint8_t *t) {
    if (!lqe_u8(r, t)) return 0;
    if (!is_valtype(*t)) { r->p--; return lqe_rfail(r, "malformed: malformed value type"); }
    return 1;
}

static int read_reftype(lqe_reader *r, uint8_t *t) {
    if (!lqe_u8(r, t)) return 0;
    if (*t != LQ_FUNCREF && *t != LQ_EXTERNREF) return lqe_rfail(r, "malformed: malformed reference type");
    return 1;
}

static int read_limits(lqe_reader *r, lqe_limits *l, uint64_t bound, const char *too_big) {
    uint8_t flag; uint32_t v;
    if (!lqe_u8(r, &flag)) return 0;
    if (flag > 1) return lqe_rfail(r, "malformed: integer too large");
    if (!lqe_u32(r, &l->min)) return 0;
    l->max = LQ_NO_MAXIMUM;
    if (flag) { if (!lqe_u32(r, &v)) return 0; l->max = v; }
    if (l->min > bound || (flag && l->max > bound)) return lqe_rfail(r, too_big);
    if (flag && l->max < l->min) return lqe_rfail(r, "invalid: size minimum must not be greater than maximum");
    return 1;
}

char lqe_type_letter(uint8_t t) {
    switch (t) {
    case LQ_I32: return 'i'; case LQ_I64: return 'I'; case LQ_F32: return 'f';
    case LQ_F64: return 'F'; case LQ_FUNCREF: return 'r'; case LQ_EXTERNREF: return 'e';
    default: return '?';
    }
}

int lqe_letter_type(char c, uint8_t *t) {
    switch (c) {
    case 'i': *t = LQ_I32; return 1; case 'I': *t = LQ_I64; return 1;
    case 'f': *t = LQ_F32; return 1; case 'F': *t = LQ_F64; return 1;
    case 'r': *t = LQ_FUNCREF; return 1; case 'e': *t = LQ_EXTERNREF; return 1;
    default: return 0;
    }
}

int lqe_functype_equal(const lqe_functype *a, const lqe_functype *b) {
    if (a == b) return 1;
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           memcmp(a->types, b->types, a->nparams + a->nresults) == 0;
}

/* Constant expression of 2.0: one instruction then end. global.get may only name an
 * imported immutable global. */
static int read_constexpr(lq_module *m, lqe_reader *r, uint8_t want, lqe_constexpr *ce) {
    uint8_t op, t = 0, end;
    if (!lqe_u8(r, &op)) return 0;
    ce->op = op;
    ce->value = 0;
    switch (op) {
    case 0x41: { int64_t v = 0; if (!lqe_sleb(r, 32, &v)) return 0; ce->value = (uint32_t)v; t = LQ_I32; break; }
    case 0x42: { int64_t v = 0; if (!lqe_sleb(r, 64, &v)) return 0; ce->value = (uint64_t)v; t = LQ_I64; break; }
    case 0x43: { const uint8_t *b = NULL; if (!lqe_bytes(r, 4, &b)) return 0;
                 ce->value = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24; t = LQ_F32; break; }
    case 0x44: { const uint8_t *b = NULL; if (!lqe_bytes(r, 8, &b)) return 0;
                 for (int i = 7; i >= 0; i--) ce->value = ce->value << 8 | b[i];
                 t = LQ_F64; break; }
    case 0xD0: if (!read_reftype(r, &t)) return 0; break;
    case 0xD2: { uint32_t f; if (!lqe_u32(r, &f)) return 0;
                 if (f >= m->nfuncs) return lqe_rfail(r, "invalid: unknown function");
                 m->declared_funcs[f] = 1; ce->value = f; t = LQ_FUNCREF; break; }
    case 0x23: { uint32_t g; if (!lqe_u32(r, &g)) return 0;
                 if (g >= m->nglobal_imports) return lqe_rfail(r, "invalid: unknown global");
                 if (m->globals[g].mut) return lqe_rfail(r, "invalid: constant expression required");
                 ce->value = g; t = m->globals[g].type; break; }
    default:
        if ((op >= 0x45 && op <= 0xC4) || op == 0x20 || op == 0x24 || op == 0x0B || op == 0x01)
            return lqe_rfail(r, "invalid: constant expression required");
        return lqe_rfail(r, "malformed: illegal opcode in constant expression");
    }
    if (!lqe_u8(r, &end)) return 0;
    if (end != 0x0B) {
        if (end == 0x0B || (end >= 0x41 && end <= 0xC4) || end == 0x23 || end == 0x20 || end == 0xD0 || end == 0xD2)
            return lqe_rfail(r, "invalid: type mismatch in constant expression");
        return lqe_rfail(r, "malformed: END opcode expected");
    }
    if (t != want) return lqe_rfail(r, "invalid: type mismatch in constant expression");
    return 1;
}

/* ---------------------------------------------------------------- sections */

static int sec_types(lq_module *m, lqe_reader *r) {
    if (!read_count(r, &m->ntypes)) return 0;
    m->types = (lqe_functype *)alloc_array(m, r, m->ntypes, sizeof(lqe_functype));
    if (!m->types) return 0;
    for (uint32_t i = 0; i < m->ntypes; i++) {
        uint8_t form; uint32_t np, nr;
        if (!lqe_u8(r, &form)) return 0;
        if (form != 0x60) return lqe_rfail(r, "malformed: integer representation too long");
        if (!read_count(r, &np)) return 0;
        const uint8_t *pstart = r->p;
        for (uint32_t k = 0; k < np; k++) { uint8_t t; if (!read_valtype(r, &t)) return 0; }
        if (!read_count(r, &nr)) return 0;
        const uint8_t *rstart = r->p;
        for (uint32_t k = 0; k < nr; k++) { uint8_t t; if (!read_valtype(r, &t)) return 0; }
        lqe_functype *ft = &m->types[i];
        ft->nparams = np; ft->nresults = nr;
        ft->types = (uint8_t *)alloc_array(m, r, (uint64_t)np + nr, 1);
        ft->params = (char *)alloc_array(m, r, (uint64_t)np + 1, 1);
        ft->results = (char *)alloc_array(m, r, (uint64_t)nr + 1, 1);
        if (!ft->types || !ft->params || !ft->results) return 0;
        memcpy(ft->types, pstart, np);
        memcpy(ft->types + np, rstart, nr);
        for (uint32_t k = 0; k < np; k++) ft->params[k] = lqe_type_letter(pstart[k]);
        for (uint32_t k = 0; k < nr; k++) ft->results[k] = lqe_type_letter(rstart[k]);
        ft->params[np] = 0; ft->results[nr] = 0;
    }
    return 1;
}

/* Imports are counted per kind first so the index spaces can be laid out before the
 * function/table/memory/global sections append the module's own definitions. */
static int sec_imports(lq_module *m, lqe_reader *r) {
    if (!read_count(r, &m->nimports)) return 0;
    m->imports = (lqe_import *)alloc_array(m, r, m->nimports, sizeof(lqe_import));
    /* worst case every import is of one kind: size the per-kind arrays for that */
    m->func_types = (uint32_t *)alloc_array(m, r, m->nimports, sizeof(uint32_t));
    m->tables = (lqe_tabletype *)alloc_array(m, r, m->nimports, sizeof(lqe_tabletype));
    m->mems = (lqe_limits *)alloc_array(m, r, m->nimports, sizeof(lqe_limits));
    m->globals = (lqe_globaldef *)alloc_array(m, r, m->nimports, sizeof(lqe_globaldef));
    if (!m->imports || !m->func_types || !m->tables || !m->mems || !m->globals) return 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        lqe_import *im = &m->imports[i];
        if (!read_name(m, r, &im->module, &im->module_len) || !read_name(m, r, &im->name, &im->name_len)) return 0;
        if (!lqe_u8(r, &im->kind)) return 0;
        switch (im->kind) {
        case LQ_EXTERN_FUNC: {
            uint32_t t;
            if (!lqe_u32(r, &t)) return 0;
            if (t >= m->ntypes) return lqe_rfail(r, "invalid: unknown type");
            im->index = t;
            im->func_index = m->nfunc_imports;
            m->func_types[m->nfunc_imports++] = t;
            break;
        }
        case LQ_EXTERN_TABLE: {
            lqe_tabletype *tt = &m->tables[m->ntable_imports];
            if (!read_reftype(r, &tt->elem) || !read_limits(r, &tt->lim, 0xFFFFFFFFu, "invalid: table size")) return 0;
            im->index = m->ntable_imports++;
            break;
        }
        case LQ_EXTERN_MEMORY: {
            if (!read_limits(r, &m->mems[m->nmem_imports], 65536, "invalid: memory size must be at most 65536 pages (4GiB)")) return 0;
            im->index = m->nmem_imports++;
            break;
        }
        case LQ_EXTERN_GLOBAL: {
            lqe_globaldef *g = &m->globals[m->nglobal_imports];
            if (!read_valtype(r, &g->type) || !lqe_u8(r, &g->mut)) return 0;
            if (g->mut > 1) return lqe_rfail(r, "malformed: malformed mutability");
            im->index = m->nglobal_imports++;
            break;
        }
        default: return lqe_rfail(r, "malformed: malformed import kind");
        }
    }
    if (m->nmem_imports > 1) return lqe_rfail(r, "invalid: multiple memories");
    m->nfuncs = m->nfunc_imports; m->ntables = m->ntable_imports;
    m->nmems = m->nmem_imports; m->nglobals = m->nglobal_imports;
    return 1;
}

/* Grows a per-kind array to hold `extra` definitions after the imports. */
static void *extend(lq_module *m, lqe_reader *r, void *old, uint32_t nold, uint32_t extra, size_t elem) {
    void *n = alloc_array(m, r, (uint64_t)nold + extra, elem);
    if (n && old && nold) memcpy(n, old, (size_t)nold * elem);
    return n;
}

static int sec_functions(lq_module *m, lqe_reader *r) {
    uint32_t n;
    if (!read_count(r, &n)) return 0;
    m->func_types = (uint32_t *)extend(m, r, m->func_types, m->nfuncs, n, sizeof(uint32_t));
    m->funcdefs = (lqe_funcdef *)alloc_array(m, r, n, sizeof(lqe_funcdef));
    if (!m->func_types || !m->funcdefs) return 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t t;
        if (!lqe_u32(r, &t)) return 0;
        if (t >= m->ntypes) return lqe_rfail(r, "invalid: unknown type");
        m->func_types[m->nfuncs + i] = t;
        m->funcdefs[i].type = t;
    }
    m->nfuncs += n;
    return 1;
}

static int sec_tables(lq_module *m, lqe_reader *r) {
    uint32_t n;
    if (!read_count(r, &n)) return 0;
    m->tables = (lqe_tabletype *)extend(m, r, m->tables, m->ntables, n, sizeof(lqe_tabletype));
    if (!m->tables) return 0;
    for (uint32_t i = 0; i < n; i++) {
        lqe_tabletype *tt = &m->tables[m->ntables + i];
        if (!read_reftype(r, &tt->elem) || !read_limits(r, &tt->lim, 0xFFFFFFFFu, "invalid: table size")) return 0;
    }
    m->ntables += n;
    return 1;
}

static int sec_memories(lq_module *m, lqe_reader *r) {
    uint32_t n;
    if (!read_count(r, &n)) return 0;
    m->mems = (lqe_limits *)extend(m, r, m->mems, m->nmems, n, sizeof(lqe_limits));
    if (!m->mems) return 0;
    for (uint32_t i = 0; i < n; i++)
        if (!read_limits(r, &m->mems[m->nmems + i], 65536, "invalid: memory size must be at most 65536 pages (4GiB)")) return 0;
    m->nmems += n;
    if (m->nmems > 1) return lqe_rfail(r, "invalid: multiple memories");
    return 1;
}

static int sec_globals(lq_module *m, lqe_reader *r) {
    uint32_t n;
    if (!read_count(r, &n)) return 0;
    m->globals = (lqe_globaldef *)extend(m, r, m->globals, m->nglobals, n, sizeof(lqe_globaldef));
    if (!m->globals) return 0;
    for (uint32_t i = 0; i < n; i++) {
        lqe_globaldef *g = &m->globals[m->nglobals + i];
        if (!read_valtype(r, &g->type) || !lqe_u8(r, &g->mut)) return 0;
        if (g->mut > 1) return lqe_rfail(r, "malformed: malformed mutability");
        if (!read_constexpr(m, r, g->type, &g->init)) return 0;
    }
    m->nglobals += n;
    return 1;
}

/* Duplicate export names, found with a hash table so that a module with many exports
 * cannot make validation quadratic. */
static int unique_export_names(lq_module *m, lqe_reader *r) {
    uint32_t cap = 16;
    while (cap < 2 * m->nexports) cap *= 2;
    uint32_t *slots = (uint32_t *)lqe_malloc(m->engine, cap * sizeof(uint32_t));   /* export index + 1 */
    if (!slots) { r->failed = 1; lqe_fail(r->err, LQ_ERROR, "out of memory"); return 0; }
    int ok = 1;
    for (uint32_t i = 0; i < m->nexports && ok; i++) {
        const lqe_export *ex = &m->exports[i];
        uint32_t h = 2166136261u;
        for (uint32_t k = 0; k < ex->name_len; k++) h = (h ^ (uint8_t)ex->name[k]) * 16777619u;
        for (uint32_t at = h & (cap - 1);; at = (at + 1) & (cap - 1)) {
            if (!slots[at]) { slots[at] = i + 1; break; }
            const lqe_export *o = &m->exports[slots[at] - 1];
            if (o->name_len == ex->name_len && memcmp(o->name, ex->name, ex->name_len) == 0) {
                ok = lqe_rfail(r, "invalid: duplicate export name");
                break;
            }
        }
    }
    lqe_free(m->engine, slots);
    return ok;
}

static int sec_exports(lq_module *m, lqe_reader *r) {
    if (!read_count(r, &m->nexports)) return 0;
    m->exports = (lqe_export *)alloc_array(m, r, m->nexports, sizeof(lqe_export));
    if (!m->exports) return 0;
    for (uint32_t i = 0; i < m->nexports; i++) {
        lqe_export *ex = &m->exports[i];
        if (!read_name(m, r, &ex->name, &ex->name_len) || !lqe_u8(r, &ex->kind) || !lqe_u32(r, &ex->index)) return 0;
        uint32_t limit;
        switch (ex->kind) {
        case LQ_EXTERN_FUNC: limit = m->nfuncs; break;
        case LQ_EXTERN_TABLE: limit = m->ntables; break;
        case LQ_EXTERN_MEMORY: limit = m->nmems; break;
        case LQ_EXTERN_GLOBAL: limit = m->nglobals; break;
        default: return lqe_rfail(r, "malformed: malformed export kind");
        }
        if (ex->index >= limit) {
            static const char *const msgs[4] = {"invalid: unknown function", "invalid: unknown table",
                                                 "invalid: unknown memory", "invalid: unknown global"};
            return lqe_rfail(r, msgs[ex->kind]);
        }
        if (ex->kind == LQ_EXTERN_FUNC) m->declared_funcs[ex->index] = 1;
    }
    return unique_export_names(m, r);
}

static int sec_start(lq_module *m, lqe_reader *r) {
    if (!lqe_u32(r, &m->start)) return 0;
    if (m->start >= m->nfuncs) return lqe_rfail(r, "invalid: unknown function");
    const lqe_functype *ft = &m->types[m->func_types[m->start]];
    if (ft->nparams || ft->nresults) return lqe_rfail(r, "invalid: start function");
    m->has_start = 1;
    return 1;
}

static int sec_elems(lq_module *m, lqe_reader *r) {
    if (!read_count(r, &m->nelems)) return 0;
    m->elems = (lqe_elemseg *)alloc_array(m, r, m->nelems, sizeof(lqe_elemseg));
    if (!m->elems) return 0;
    for (uint32_t i = 0; i < m->nelems; i++) {
        lqe_elemseg *s = &m->elems[i];
        uint32_t flags;
        if (!lqe_u32(r, &flags)) return 0;
        if (flags > 7) return lqe_rfail(r, "malformed: malformed elements segment kind");
        s->elem = LQ_FUNCREF;
        s->table = 0;
        if (flags & 1) s->mode = (flags & 2) ? LQE_SEG_DECLARATIVE : LQE_SEG_PASSIVE;
        else {
            s->mode = LQE_SEG_ACTIVE;
            if (flags & 2) { if (!lqe_u32(r, &s->table)) return 0; }
            if (s->table >= m->ntables) return lqe_rfail(r, "invalid: unknown table");
            if (!read_constexpr(m, r, LQ_I32, &s->offset)) return 0;
        }
        int exprs = (flags & 4) != 0;
        if (flags & 3) {
            if (exprs) { if (!read_reftype(r, &s->elem)) return 0; }
            else {
                uint8_t kind;
                if (!lqe_u8(r, &kind)) return 0;
                if (kind != 0) return lqe_rfail(r, "malformed: malformed element kind");
            }
        }
        if (!read_count(r, &s->count)) return 0;
        s->items = (lqe_constexpr *)alloc_array(m, r, s->count, sizeof(lqe_constexpr));
        if (!s->items) return 0;
        for (uint32_t k = 0; k < s->count; k++) {
            if (exprs) {
                if (!read_constexpr(m, r, s->elem, &s->items[k])) return 0;
            } else {
                uint32_t f;
                if (!lqe_u32(r, &f)) return 0;
                if (f >= m->nfuncs) return lqe_rfail(r, "invalid: unknown function");
                m->declared_funcs[f] = 1;
                s->items[k].op = 0xD2;
                s->items[k].value = f;
            }
        }
        if (s->mode == LQE_SEG_ACTIVE && m->tables[s->table].elem != s->elem)
            return lqe_rfail(r, "invalid: type mismatch in element segment");
    }
    return 1;
}

static int sec_code(lq_module *m, lqe_reader *r, lq_error *err) {
    uint32_t n;
    if (!read_count(r, &n)) return 0;
    if (n != m->nfuncs - m->nfunc_imports)
        return lqe_rfail(r, "malformed: function and code section have inconsistent lengths");
    for (uint32_t i = 0; i < n; i++) {
        uint32_t size; const uint8_t *body;
        if (!lqe_u32(r, &size) || !lqe_bytes(r, size, &body)) return 0;
        if (lqe_compile_function(m, i, body, size, (size_t)(body - r->file), err) != LQ_OK) {
            r->failed = 1;
            return 0;
        }
    }
    return 1;
}

static int sec_data(lq_module *m, lqe_reader *r) {
    if (!read_count(r, &m->ndatas)) return 0;
    if (m->has_datacount && m->datacount != m->ndatas)
        return lqe_rfail(r, "malformed: data count and data section have inconsistent lengths");
    m->datas = (lqe_dataseg *)alloc_array(m, r, m->ndatas, sizeof(lqe_dataseg));
    if (!m->datas) return 0;
    for (uint32_t i = 0; i < m->ndatas; i++) {
        lqe_dataseg *d = &m->datas[i];
        uint32_t flags;
        if (!lqe_u32(r, &flags)) return 0;
        if (flags > 2) return lqe_rfail(r, "malformed: malformed data segment kind");
        d->mode = flags == 1 ? LQE_SEG_PASSIVE : LQE_SEG_ACTIVE;
        if (flags == 2) { if (!lqe_u32(r, &d->memory)) return 0; }
        if (d->mode == LQE_SEG_ACTIVE) {
            if (d->memory >= m->nmems) return lqe_rfail(r, "invalid: unknown memory");
            if (!read_constexpr(m, r, LQ_I32, &d->offset)) return 0;
        }
        const uint8_t *b = NULL;
        if (!lqe_u32(r, &d->size) || !lqe_bytes(r, d->size, &b)) return 0;
        d->bytes = (uint8_t *)alloc_array(m, r, d->size, 1);
        if (!d->bytes) return 0;
        memcpy(d->bytes, b, d->size);
    }
    return 1;
}

/* Section order rank; custom sections (0) may appear anywhere. */
static int rank(uint8_t id) {
    static const uint8_t order[13] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 10};
    return id <= 12 ? order[id] : -1;
}

static int decode(lq_module *m, const uint8_t *bytes, size_t size, lq_error *err) {
    lqe_reader r = {bytes, bytes + size, bytes, err, 0};
    const uint8_t *hdr;
    if (size < 4 || memcmp(bytes, "\0asm", 4) != 0) return lqe_rfail(&r, "malformed: magic header not detected");
    if (!lqe_bytes(&r, 4, &hdr)) return 0;
    if (!lqe_bytes(&r, 4, &hdr)) return lqe_rfail(&r, "malformed: unknown binary version");
    if (memcmp(hdr, "\1\0\0\0", 4) != 0) return lqe_rfail(&r, "malformed: unknown binary version");
    int last = 0, saw_code = 0;
    uint32_t nfuncdefs = 0;
    /* declared_funcs needs nfuncs, known only after the function section; allocate lazily */
    while (r.p < r.end) {
        uint8_t id; uint32_t len; const uint8_t *payload;
        if (!lqe_u8(&r, &id)) return 0;
        if (id > 12) { r.p--; return lqe_rfail(&r, "malformed: malformed section id"); }
        if (!lqe_u32(&r, &len)) return 0;
        if (!lqe_bytes(&r, len, &payload)) return lqe_rfail(&r, "malformed: length out of bounds");
        if (id != 0) {
            if (rank(id) <= last) return lqe_rfail(&r, "malformed: unexpected content after last section");
            last = rank(id);
        }
        lqe_reader s = {payload, payload + len, bytes, err, 0};
        /* sections that follow the function section need the declared-function map */
        if (id > 3 && !m->declared_funcs) {
            m->declared_funcs = (uint8_t *)alloc_array(m, &s, m->nfuncs, 1);
            if (!m->declared_funcs) return 0;
        }
        int ok = 1;
        switch (id) {
        case 0: {
            char *name; uint32_t nl;
            ok = read_name(m, &s, &name, &nl);
            s.p = s.end;
            break;
        }
        case 1: ok = sec_types(m, &s); break;
        case 2: ok = sec_imports(m, &s); break;
        case 3: ok = sec_functions(m, &s); nfuncdefs = m->nfuncs - m->nfunc_imports; break;
        case 4: ok = sec_tables(m, &s); break;
        case 5: ok = sec_memories(m, &s); break;
        case 6: ok = sec_globals(m, &s); break;
        case 7: ok = sec_exports(m, &s); break;
        case 8: ok = sec_start(m, &s); break;
        case 9: ok = sec_elems(m, &s); break;
        case 10: ok = sec_code(m, &s, err); saw_code = 1; break;
        case 11: ok = sec_data(m, &s); break;
        case 12: ok = lqe_u32(&s, &m->datacount); m->has_datacount = 1; break;
        }
        if (!ok || s.failed) return 0;
        if (s.p != s.end) return lqe_rfail(&s, "malformed: section size mismatch");
    }
    if (nfuncdefs && !saw_code) return lqe_rfail(&r, "malformed: function and code section have inconsistent lengths");
    if (m->has_datacount && m->ndatas != m->datacount)
        return lqe_rfail(&r, "malformed: data count and data section have inconsistent lengths");
    return 1;
}

static void module_release(lq_module *m) {
    lqe_block *b = (lqe_block *)m->blocks;
    while (b) { lqe_block *n = b->next; lqe_free(m->engine, b); b = n; }
    lqe_free(m->engine, m->code);
    lqe_free(m->engine, m);
}

lq_status lq_module_load(lq_engine *engine, const uint8_t *bytes, size_t size, lq_module **out, lq_error *err) {
    *out = NULL;
    if (size > engine->limits.max_module_size)
        return lqe_failn(err, LQ_ERROR, "module too large", "limit", engine->limits.max_module_size);
    lq_module *m = (lq_module *)lqe_malloc(engine, sizeof *m);
    if (!m) return lqe_fail(err, LQ_ERROR, "out of memory");
    m->engine = engine;
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    if (!decode(m, bytes, size, err)) {
        if (err && !err->message[0]) lqe_fail(err, LQ_ERROR, "malformed module");
        if (err) err->status = LQ_ERROR;
        module_release(m);
        return LQ_ERROR;
    }
    if (!m->declared_funcs) {
        lqe_reader r = {bytes, bytes, bytes, err, 0};
        m->declared_funcs = (uint8_t *)alloc_array(m, &r, m->nfuncs, 1);
        if (!m->declared_funcs) { module_release(m); return LQ_ERROR; }
    }
    lqe_sha256(bytes, size, m->sha256);
    *out = m;
    return LQ_OK;
}

void lq_module_free(lq_module *m) { if (m) module_release(m); }

/* ---------------------------------------------------------------- introspection */

uint32_t lq_module_import_count(const lq_module *m) { return m->nimports; }
uint32_t lq_module_export_count(const lq_module *m) { return m->nexports; }
const uint8_t *lq_module_sha256(const lq_module *m) { return m->sha256; }

static void describe(const lq_module *m, uint8_t kind, uint32_t index, lq_externtype *t) {
    memset(t, 0, sizeof *t);
    t->kind = kind;
    switch (kind) {
    case LQ_EXTERN_FUNC: {
        const lqe_functype *ft = &m->types[m->func_types[index]];
        t->params = ft->params; t->results = ft->results;
        break;
    }
    case LQ_EXTERN_TABLE:
        t->valtype = m->tables[index].elem; t->min = m->tables[index].lim.min; t->max = m->tables[index].lim.max;
        break;
    case LQ_EXTERN_MEMORY: t->min = m->mems[index].min; t->max = m->mems[index].max; break;
    case LQ_EXTERN_GLOBAL: t->valtype = m->globals[index].type; t->mutable_ = m->globals[index].mut; break;
    }
}

lq_status lq_module_import(const lq_module *m, uint32_t i, lq_import_info *out) {
    if (i >= m->nimports) return LQ_ERROR;
    const lqe_import *im = &m->imports[i];
    out->module = im->module; out->module_len = im->module_len;
    out->name = im->name; out->name_len = im->name_len;
    describe(m, im->kind, im->kind == LQ_EXTERN_FUNC ? im->func_index : im->index, &out->type);
    return LQ_OK;
}

lq_status lq_module_export(const lq_module *m, uint32_t i, lq_export_info *out) {
    if (i >= m->nexports) return LQ_ERROR;
    const lqe_export *ex = &m->exports[i];
    out->name = ex->name; out->name_len = ex->name_len; out->index = ex->index;
    describe(m, ex->kind, ex->index, &out->type);
    return LQ_OK;
}
