/* Instantiation and linking, host objects, exports, memory/global access, calls, fuel. */
#include "lq_internal.h"

/* ---------------------------------------------------------------- host objects */

static int parse_sig(const char *s, uint8_t *out, uint32_t *n) {
    uint32_t k = 0;
    for (; s && s[k]; k++) if (!lqe_letter_type(s[k], &out[k])) return 0;
    *n = k;
    return 1;
}

lq_status lq_func_new_host(lq_engine *e, const char *params, const char *results, lq_host_fn fn, void *user,
                           lq_func **out, lq_error *err) {
    *out = NULL;
    size_t np = params ? strlen(params) : 0, nr = results ? strlen(results) : 0;
    if (!fn) return lqe_fail(err, LQ_ERROR, "host function callback is NULL");
    if (np > 1000 || nr > 1000) return lqe_fail(err, LQ_ERROR, "host function signature too long");
    lq_func *f = (lq_func *)lqe_malloc(e, sizeof *f + 2 * (np + nr) + 2);
    if (!f) return lqe_fail(err, LQ_ERROR, "out of memory");
    uint8_t *types = (uint8_t *)(f + 1);
    char *letters = (char *)types + np + nr;
    uint32_t a, b;
    if (!parse_sig(params, types, &a) || !parse_sig(results, types + np, &b)) {
        lqe_free(e, f);
        return lqe_fail(err, LQ_ERROR, "bad host function signature: use letters i I f F r e");
    }
    memcpy(letters, params ? params : "", np + 1);
    memcpy(letters + np + 1, results ? results : "", nr + 1);
    f->own_type.nparams = a; f->own_type.nresults = b; f->own_type.types = types;
    f->own_type.params = letters; f->own_type.results = letters + np + 1;
    f->type = &f->own_type;
    f->nparams = a; f->nresults = b;
    f->host = fn; f->user = user; f->engine = e;
    *out = f;
    return LQ_OK;
}

void lq_func_free(lq_func *f) { if (f && f->host) lqe_free(f->engine, f); }

void lq_func_type(const lq_func *f, const char **params, const char **results) {
    *params = f->type->params;
    *results = f->type->results;
}

static int valtype_ok(uint8_t t) {
    return t == LQ_I32 || t == LQ_I64 || t == LQ_F32 || t == LQ_F64 || t == LQ_FUNCREF || t == LQ_EXTERNREF;
}

static uint64_t to_slot(lq_value v) {
    switch (v.type) {
    case LQ_I32: case LQ_F32: return v.of.i32;
    case LQ_I64: case LQ_F64: return v.of.i64;
    default: return (uint64_t)(uintptr_t)v.of.ref;
    }
}

static lq_value from_slot(uint8_t t, uint64_t s) {
    lq_value v;
    v.type = t;
    v.of.i64 = 0;
    switch (t) {
    case LQ_I32: case LQ_F32: v.of.i32 = (uint32_t)s; break;
    case LQ_I64: case LQ_F64: v.of.i64 = s; break;
    default: v.of.ref = (void *)(uintptr_t)s; break;
    }
    return v;
}

lq_status lq_global_new(lq_engine *e, lq_value init, int mut, lq_global **out, lq_error *err) {
    *out = NULL;
    if (!valtype_ok(init.type)) return lqe_fail(err, LQ_ERROR, "bad value type for global");
    lq_global *g = (lq_global *)lqe_malloc(e, sizeof *g);
    if (!g) return lqe_fail(err, LQ_ERROR, "out of memory");
    g->type = init.type; g->mut = mut ? 1 : 0; g->val = to_slot(init); g->engine = e;
    *out = g;
    return LQ_OK;
}
void lq_global_free(lq_global *g) { if (g) lqe_free(g->engine, g); }
lq_value lq_global_get(const lq_global *g) { return from_slot(g->type, g->val); }
lq_status lq_global_set(lq_global *g, lq_value v, lq_error *err) {
    if (!g->mut) return lqe_fail(err, LQ_ERROR, "global is immutable");
    if (v.type != g->type) return lqe_fail(err, LQ_ERROR, "global type mismatch");
    g->val = to_slot(v);
    return LQ_OK;
}

static lq_status memory_init(lq_engine *e, lq_memory *m, uint32_t min, uint32_t max, lq_error *err) {
    m->engine = e;
    m->decl_max = max;
    if (max == LQ_NO_MAXIMUM || max > 65536) max = 65536;
    if (max > e->limits.max_memory_pages) max = e->limits.max_memory_pages;
    if (min > max) return lqe_failn(err, LQ_ERROR, "memory larger than the engine allows", "pages", min);
    m->max = max;
    m->pages = 0; m->size = 0; m->data = NULL;
    if (min && lqe_memory_grow(m, min) < 0) return lqe_failn(err, LQ_ERROR, "out of memory for linear memory", "pages", min);
    return LQ_OK;
}

lq_status lq_memory_new(lq_engine *e, uint32_t min, uint32_t max, lq_memory **out, lq_error *err) {
    *out = NULL;
    if (max != LQ_NO_MAXIMUM && max < min) return lqe_fail(err, LQ_ERROR, "memory maximum below minimum");
    lq_memory *m = (lq_memory *)lqe_malloc(e, sizeof *m);
    if (!m) return lqe_fail(err, LQ_ERROR, "out of memory");
    if (memory_init(e, m, min, max, err) != LQ_OK) { lqe_free(e, m); return LQ_ERROR; }
    *out = m;
    return LQ_OK;
}
void lq_memory_free(lq_memory *m) { if (m) { lqe_free(m->engine, m->data); lqe_free(m->engine, m); } }
uint8_t *lq_memory_data(lq_memory *m) { return m->data; }
uint32_t lq_memory_size(const lq_memory *m) { return m->size > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)m->size; }

static lq_status table_init(lq_engine *e, lq_table *t, uint8_t elem, uint32_t min, uint32_t max, lq_error *err) {
    t->engine = e; t->elem = elem;
    t->decl_max = max;
    if (max > e->limits.max_table_size) max = e->limits.max_table_size;
    if (min > max) return lqe_failn(err, LQ_ERROR, "table larger than the engine allows", "elements", min);
    t->max = max; t->size = 0; t->elems = NULL;
    if (min && lqe_table_grow(t, min, NULL) < 0) return lqe_fail(err, LQ_ERROR, "out of memory for table");
    return LQ_OK;
}

lq_status lq_table_new(lq_engine *e, lq_valtype elem, uint32_t min, uint32_t max, lq_table **out, lq_error *err) {
    *out = NULL;
    if (elem != LQ_FUNCREF && elem != LQ_EXTERNREF) return lqe_fail(err, LQ_ERROR, "table element type must be a reference");
    if (max < min) return lqe_fail(err, LQ_ERROR, "table maximum below minimum");
    lq_table *t = (lq_table *)lqe_malloc(e, sizeof *t);
    if (!t) return lqe_fail(err, LQ_ERROR, "out of memory");
    if (table_init(e, t, (uint8_t)elem, min, max, err) != LQ_OK) { lqe_free(e, t); return LQ_ERROR; }
    *out = t;
    return LQ_OK;
}
void lq_table_free(lq_table *t) { if (t) { lqe_free(t->engine, t->elems); lqe_free(t->engine, t); } }
uint32_t lq_table_size(const lq_table *t) { return t->size; }
lq_status lq_table_get(const lq_table *t, uint32_t i, lq_value *out, lq_error *err) {
    if (i >= t->size) return lqe_fail(err, LQ_ERROR, "out of bounds table access");
    *out = lq_ref((lq_valtype)t->elem, t->elems[i]);
    return LQ_OK;
}
lq_status lq_table_set(lq_table *t, uint32_t i, lq_value v, lq_error *err) {
    if (i >= t->size) return lqe_fail(err, LQ_ERROR, "out of bounds table access");
    if (v.type != t->elem) return lqe_fail(err, LQ_ERROR, "table element type mismatch");
    t->elems[i] = v.of.ref;
    return LQ_OK;
}

lq_status lq_table_grow(lq_table *t, uint32_t delta, lq_value init, uint32_t *old_size, lq_error *err) {
    if (init.type != t->elem) return lqe_fail(err, LQ_ERROR, "table element type mismatch");
    int64_t old = lqe_table_grow(t, delta, init.of.ref);
    if (old < 0) return lqe_fail(err, LQ_ERROR, "table cannot grow that far");
    if (old_size) *old_size = (uint32_t)old;
    return LQ_OK;
}

/* ---------------------------------------------------------------- instantiation */

static void link_error(lq_error *err, const char *what, const lqe_import *im) {
    if (!err) return;
    lqe_fail(err, LQ_ERROR, what);
    lqe_strcat(err->message, sizeof err->message, " ");
    lqe_strcat(err->message, sizeof err->message, im->module);
    lqe_strcat(err->message, sizeof err->message, ".");
    lqe_strcat(err->message, sizeof err->message, im->name);
}

/* Import subtyping of limits: the provided object must be at least as large and at most
 * as large in maximum as the import declares. */
static int limits_match(uint32_t size, uint32_t max, uint32_t want_min, uint32_t want_max) {
    if (size < want_min) return 0;
    if (want_max == LQ_NO_MAXIMUM) return 1;
    return max != LQ_NO_MAXIMUM && max <= want_max;
}

static uint64_t eval_const(lq_instance *in, const lqe_constexpr *ce) {
    switch (ce->op) {
    case 0x23: return in->globals[ce->value]->val;
    case 0xD2: return (uint64_t)(uintptr_t)in->funcs[ce->value];
    case 0xD0: return 0;
    default: return ce->value;
    }
}

void lq_instance_free(lq_instance *in) {
    if (!in) return;
    lq_engine *e = in->engine;
    lq_module *m = in->module;
    if (in->own_tables)
        for (uint32_t i = 0; i < m->ntables - m->ntable_imports; i++) lqe_free(e, in->own_tables[i].elems);
    if (in->own_mems)
        for (uint32_t i = 0; i < m->nmems - m->nmem_imports; i++) lqe_free(e, in->own_mems[i].data);
    if (in->elems)
        for (uint32_t i = 0; i < m->nelems; i++) lqe_free(e, in->elems[i].refs);
    lqe_free(e, in->funcs); lqe_free(e, in->own_funcs);
    lqe_free(e, in->tables); lqe_free(e, in->own_tables);
    lqe_free(e, in->mems); lqe_free(e, in->own_mems);
    lqe_free(e, in->globals); lqe_free(e, in->own_globals);
    lqe_free(e, in->elems); lqe_free(e, in->data_dropped);
    lqe_free(e, in->stack); lqe_free(e, in->frames);
    lqe_free(e, in);
}

static lq_status run_call(lq_func *f, const uint64_t *args, lq_error *err);

lq_status lq_instantiate(lq_module *m, lq_resolve_fn resolve, void *ru, lq_instance **out, lq_error *err) {
    lq_engine *e = m->engine;
    *out = NULL;
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    lq_instance *in = (lq_instance *)lqe_malloc(e, sizeof *in);
    if (!in) return lqe_fail(err, LQ_ERROR, "out of memory");
    in->module = m; in->engine = e;
    in->fuel = LQ_FUEL_UNLIMITED;
    uint32_t nown_f = m->nfuncs - m->nfunc_imports, nown_t = m->ntables - m->ntable_imports;
    uint32_t nown_m = m->nmems - m->nmem_imports, nown_g = m->nglobals - m->nglobal_imports;
    in->funcs = (lq_func **)lqe_malloc(e, (m->nfuncs + 1) * sizeof(void *));
    in->own_funcs = (lq_func *)lqe_malloc(e, (nown_f + 1) * sizeof(lq_func));
    in->tables = (lq_table **)lqe_malloc(e, (m->ntables + 1) * sizeof(void *));
    in->own_tables = (lq_table *)lqe_malloc(e, (nown_t + 1) * sizeof(lq_table));
    in->mems = (lq_memory **)lqe_malloc(e, (m->nmems + 1) * sizeof(void *));
    in->own_mems = (lq_memory *)lqe_malloc(e, (nown_m + 1) * sizeof(lq_memory));
    in->globals = (lq_global **)lqe_malloc(e, (m->nglobals + 1) * sizeof(void *));
    in->own_globals = (lq_global *)lqe_malloc(e, (nown_g + 1) * sizeof(lq_global));
    in->elems = (lqe_elemrt *)lqe_malloc(e, (m->nelems + 1) * sizeof(lqe_elemrt));
    in->data_dropped = (uint8_t *)lqe_malloc(e, m->ndatas + 1);
    in->stack_slots = e->limits.value_stack_slots;
    in->max_frames = e->limits.call_depth + 1;
    /* the stacks need no zeroing: every slot is written before it is read */
    in->stack = (uint64_t *)lqe_malloc_raw(e, (size_t)in->stack_slots * sizeof(uint64_t));
    in->frames = (lqe_frame *)lqe_malloc_raw(e, (size_t)in->max_frames * sizeof(lqe_frame));
    if (!in->funcs || !in->own_funcs || !in->tables || !in->own_tables || !in->mems || !in->own_mems ||
        !in->globals || !in->own_globals || !in->elems || !in->data_dropped || !in->stack || !in->frames) {
        lq_instance_free(in);
        return lqe_fail(err, LQ_ERROR, "out of memory");
    }
    /* imports */
    uint32_t fi = 0, ti = 0, mi = 0, gi = 0;
    for (uint32_t i = 0; i < m->nimports; i++) {
        const lqe_import *im = &m->imports[i];
        lq_import_info info;
        lq_extern ex;
        lq_module_import(m, i, &info);
        memset(&ex, 0, sizeof ex);
        if (!resolve || resolve(ru, &info, &ex) != LQ_OK || !ex.of.func) {
            link_error(err, "unknown import", im);
            lq_instance_free(in);
            return LQ_ERROR;
        }
        int ok = ex.kind == im->kind;
        if (ok) switch (im->kind) {
        case LQ_EXTERN_FUNC:
            ok = lqe_functype_equal(ex.of.func->type, &m->types[im->index]);
            in->funcs[fi++] = ex.of.func;
            break;
        case LQ_EXTERN_TABLE: {
            const lqe_tabletype *tt = &m->tables[im->index];
            ok = ex.of.table->elem == tt->elem && limits_match(ex.of.table->size, ex.of.table->decl_max, tt->lim.min, tt->lim.max);
            in->tables[ti++] = ex.of.table;
            break;
        }
        case LQ_EXTERN_MEMORY: {
            const lqe_limits *l = &m->mems[im->index];
            ok = limits_match(ex.of.memory->pages, ex.of.memory->decl_max, l->min, l->max);
            in->mems[mi++] = ex.of.memory;
            break;
        }
        case LQ_EXTERN_GLOBAL: {
            const lqe_globaldef *g = &m->globals[im->index];
            ok = ex.of.global->type == g->type && ex.of.global->mut == g->mut;
            in->globals[gi++] = ex.of.global;
            break;
        }
        }
        if (!ok) {
            link_error(err, "incompatible import type for", im);
            lq_instance_free(in);
            return LQ_ERROR;
        }
    }
    /* own definitions */
    for (uint32_t i = 0; i < nown_f; i++) {
        lq_func *f = &in->own_funcs[i];
        const lqe_funcdef *fd = &m->funcdefs[i];
        f->type = &m->types[fd->type];
        f->inst = in; f->engine = e;
        f->code = m->code + fd->code;
        f->nlocals = fd->nlocals;
        f->frame_slots = fd->frame_slots;
        f->nparams = f->type->nparams;
        f->nresults = f->type->nresults;
        in->funcs[m->nfunc_imports + i] = f;
    }
    for (uint32_t i = 0; i < nown_t; i++) {
        const lqe_tabletype *tt = &m->tables[m->ntable_imports + i];
        if (table_init(e, &in->own_tables[i], tt->elem, tt->lim.min, tt->lim.max, err) != LQ_OK) {
            lq_instance_free(in);
            return LQ_ERROR;
        }
        in->tables[m->ntable_imports + i] = &in->own_tables[i];
    }
    for (uint32_t i = 0; i < nown_m; i++) {
        const lqe_limits *l = &m->mems[m->nmem_imports + i];
        if (memory_init(e, &in->own_mems[i], l->min, l->max, err) != LQ_OK) {
            lq_instance_free(in);
            return LQ_ERROR;
        }
        in->mems[m->nmem_imports + i] = &in->own_mems[i];
    }
    for (uint32_t i = 0; i < nown_g; i++) {
        const lqe_globaldef *gd = &m->globals[m->nglobal_imports + i];
        lq_global *g = &in->own_globals[i];
        g->type = gd->type; g->mut = gd->mut; g->engine = e;
        g->val = eval_const(in, &gd->init);
        in->globals[m->nglobal_imports + i] = g;
    }
    for (uint32_t i = 0; i < m->nelems; i++) {
        const lqe_elemseg *s = &m->elems[i];
        lqe_elemrt *rt = &in->elems[i];
        rt->refs = (void **)lqe_malloc(e, ((size_t)s->count + 1) * sizeof(void *));
        if (!rt->refs) { lq_instance_free(in); return lqe_fail(err, LQ_ERROR, "out of memory"); }
        rt->count = s->mode == LQE_SEG_DECLARATIVE ? 0 : s->count;
        for (uint32_t k = 0; k < s->count; k++) rt->refs[k] = (void *)(uintptr_t)eval_const(in, &s->items[k]);
    }
    /* active segments, in order; a failure leaves earlier writes in place (spec 2.0) */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const lqe_elemseg *s = &m->elems[i];
        if (s->mode != LQE_SEG_ACTIVE) continue;
        lq_table *t = in->tables[s->table];
        uint32_t off = (uint32_t)eval_const(in, &s->offset);
        if ((uint64_t)off + s->count > t->size) {
            *out = in;
            return lqe_fail(err, LQ_TRAP, "out of bounds table access");
        }
        if (s->count) memcpy(t->elems + off, in->elems[i].refs, s->count * sizeof(void *));
        in->elems[i].count = 0;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const lqe_dataseg *d = &m->datas[i];
        if (d->mode != LQE_SEG_ACTIVE) continue;
        lq_memory *mem = in->mems[d->memory];
        uint32_t off = (uint32_t)eval_const(in, &d->offset);
        if ((uint64_t)off + d->size > mem->size) {
            *out = in;
            return lqe_fail(err, LQ_TRAP, "out of bounds memory access");
        }
        if (d->size) memcpy(mem->data + off, d->bytes, d->size);
        in->data_dropped[i] = 1;
    }
    if (m->has_start) {
        lq_func *sf = in->funcs[m->start];
        lq_status st;
        /* instantiation cannot yield, so a runaway start function is bounded, not sliced */
        if (e->limits.start_fuel) in->fuel = e->limits.start_fuel;
        st = lq_call(sf, NULL, 0, NULL, 0, err);
        in->fuel = LQ_FUEL_UNLIMITED;
        if (st == LQ_SUSPENDED) {
            lq_abort(sf->inst ? sf->inst : in);
            st = lqe_fail(err, LQ_TRAP, "start function ran out of fuel");
        }
        if (st != LQ_OK) { *out = in; return st; }
    }
    *out = in;
    return LQ_OK;
}

typedef struct { const lq_extern *imports; uint32_t count; } array_resolver;
static lq_status resolve_array(void *user, const lq_import_info *imp, lq_extern *out) {
    (void)imp;
    array_resolver *a = (array_resolver *)user;
    if (a->count == 0) return LQ_ERROR;
    *out = *a->imports++;
    a->count--;
    return LQ_OK;
}

lq_status lq_instantiate_with(lq_module *m, const lq_extern *imports, uint32_t count, lq_instance **out, lq_error *err) {
    if (count != m->nimports) {
        *out = NULL;
        return lqe_failn(err, LQ_ERROR, "wrong number of imports", "module needs", m->nimports);
    }
    array_resolver a = {imports, count};
    return lq_instantiate(m, resolve_array, &a, out, err);
}

const lq_module *lq_instance_module(const lq_instance *in) { return in->module; }
void lq_instance_set_user(lq_instance *in, void *user) { in->user = user; }
void *lq_instance_user(const lq_instance *in) { return in->user; }

lq_status lq_instance_export(lq_instance *in, const char *name, lq_extern *out) {
    return lq_instance_export_n(in, name, (uint32_t)strlen(name), out);
}

lq_status lq_instance_export_n(lq_instance *in, const char *name, uint32_t n, lq_extern *out) {
    const lq_module *m = in->module;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const lqe_export *ex = &m->exports[i];
        if (ex->name_len != n || memcmp(ex->name, name, n) != 0) continue;
        out->kind = ex->kind;
        switch (ex->kind) {
        case LQ_EXTERN_FUNC: out->of.func = in->funcs[ex->index]; break;
        case LQ_EXTERN_TABLE: out->of.table = in->tables[ex->index]; break;
        case LQ_EXTERN_MEMORY: out->of.memory = in->mems[ex->index]; break;
        default: out->of.global = in->globals[ex->index]; break;
        }
        return LQ_OK;
    }
    return LQ_ERROR;
}

lq_func *lq_instance_func(lq_instance *in, const char *name) {
    lq_extern ex;
    return lq_instance_export(in, name, &ex) == LQ_OK && ex.kind == LQ_EXTERN_FUNC ? ex.of.func : NULL;
}
lq_global *lq_instance_global(lq_instance *in, const char *name) {
    lq_extern ex;
    return lq_instance_export(in, name, &ex) == LQ_OK && ex.kind == LQ_EXTERN_GLOBAL ? ex.of.global : NULL;
}
lq_memory *lq_instance_memory(lq_instance *in) { return in->module->nmems ? in->mems[0] : NULL; }

lq_status lq_memory_read(lq_instance *in, uint32_t off, void *dst, uint32_t len, lq_error *err) {
    lq_memory *m = lq_instance_memory(in);
    if (!m || (uint64_t)off + len > m->size) return lqe_fail(err, LQ_ERROR, "out of bounds memory access");
    if (len) memcpy(dst, m->data + off, len);
    return LQ_OK;
}
lq_status lq_memory_write(lq_instance *in, uint32_t off, const void *src, uint32_t len, lq_error *err) {
    lq_memory *m = lq_instance_memory(in);
    if (!m || (uint64_t)off + len > m->size) return lqe_fail(err, LQ_ERROR, "out of bounds memory access");
    if (len) memcpy(m->data + off, src, len);
    return LQ_OK;
}

/* ---------------------------------------------------------------- calls */

/* Sets up the entry frame on the owner's stack and runs. args: raw slots. */
static lq_status run_call(lq_func *f, const uint64_t *args, lq_error *err) {
    lq_instance *in = f->inst;
    const lqe_functype *ft = f->type;
    if (in->state != LQE_IDLE)
        return lqe_fail(err, LQ_ERROR, in->state == LQE_SUSPENDED_STATE ? "instance has a suspended call: resume or abort it first"
                                                                         : "re-entrant call into a running instance");
    if (f->frame_slots + ft->nresults > in->stack_slots) return lqe_fail(err, LQ_TRAP, "call stack exhausted");
    uint64_t *sp = in->stack;
    for (uint32_t i = 0; i < ft->nparams; i++) sp[i] = args[i];
    memset(sp + ft->nparams, 0, f->nlocals * sizeof(uint64_t));
    in->frames[0].ret_ip = NULL; in->frames[0].fp = NULL; in->frames[0].func = f;
    in->saved_depth = 1;
    in->saved_ip = f->code;
    in->saved_fp = sp;
    in->saved_sp = sp + ft->nparams + f->nlocals;   /* the spare slot: empty operand stack */
    in->saved_tos = 0;
    in->saved_func = f;
    in->entry_func = f;
    in->state = LQE_RUNNING;
    return lqe_run(in, err);
}

static lq_status collect(lq_instance *in, lq_value *results, uint32_t nresults) {
    const lqe_functype *ft = in->entry_func->type;
    for (uint32_t i = 0; i < ft->nresults && i < nresults; i++) results[i] = from_slot(ft->types[ft->nparams + i], in->stack[i]);
    return LQ_OK;
}

lq_status lq_call(lq_func *f, const lq_value *args, uint32_t nargs, lq_value *results, uint32_t nresults, lq_error *err) {
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    const lqe_functype *ft = f->type;
    if (nargs != ft->nparams) return lqe_failn(err, LQ_ERROR, "wrong number of arguments", "expected", ft->nparams);
    if (nresults < ft->nresults) return lqe_failn(err, LQ_ERROR, "results array too small", "expected", ft->nresults);
    uint64_t small[16];
    uint64_t *slots = small;
    lq_engine *e = f->engine;
    if (nargs > 16) {
        slots = (uint64_t *)lqe_malloc(e, nargs * sizeof(uint64_t));
        if (!slots) return lqe_fail(err, LQ_ERROR, "out of memory");
    }
    lq_status st = LQ_OK;
    for (uint32_t i = 0; i < nargs; i++) {
        if (args[i].type != ft->types[i]) { st = lqe_failn(err, LQ_ERROR, "argument type mismatch", "argument", i); break; }
        slots[i] = to_slot(args[i]);
    }
    if (st == LQ_OK) {
        if (f->host) {
            /* direct host call: no instance involved */
            lq_value tmp[16];
            if (ft->nresults > 16) st = lqe_fail(err, LQ_ERROR, "too many results");
            else {
                for (uint32_t i = 0; i < ft->nresults; i++) tmp[i] = from_slot(ft->types[ft->nparams + i], 0);
                st = f->host(NULL, f->user, args, tmp);
                if (st == LQ_OK) for (uint32_t i = 0; i < ft->nresults; i++) results[i] = tmp[i];
                else st = lqe_fail(err, LQ_TRAP, "host function trapped");
            }
        } else {
            st = run_call(f, slots, err);
            if (st == LQ_OK) collect(f->inst, results, nresults);
        }
    }
    if (slots != small) lqe_free(e, slots);
    return st;
}

lq_status lq_resume(lq_instance *in, lq_value *results, uint32_t nresults, lq_error *err) {
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    if (in->state != LQE_SUSPENDED_STATE) return lqe_fail(err, LQ_ERROR, "no suspended call to resume");
    if (nresults < in->entry_func->type->nresults) return lqe_fail(err, LQ_ERROR, "results array too small");
    in->state = LQE_RUNNING;
    lq_status st = lqe_run(in, err);
    if (st == LQ_OK) collect(in, results, nresults);
    return st;
}

void lq_abort(lq_instance *in) { if (in->state == LQE_SUSPENDED_STATE) in->state = LQE_IDLE; }
int lq_is_suspended(const lq_instance *in) { return in->state == LQE_SUSPENDED_STATE; }
void lq_set_fuel(lq_instance *in, uint64_t fuel) { in->fuel = fuel; }
uint64_t lq_fuel(const lq_instance *in) { return in->fuel; }
