/* Snapshot and restore of an instance's state (format: docs/snapshot.md). Everything is
 * little-endian and pointer-free: function references become function indices. */
#include "lq_internal.h"

#define SNAP_VERSION 1
enum { TOK_ZERO = 0, TOK_LITERAL = 1, TOK_FILL = 2 };
#define MIN_RUN 8u
#define NULL_INDEX 0xFFFFFFFFu

typedef struct out {
    lq_write_fn write; void *user;
    uint64_t count;          /* bytes produced (also when write is NULL: sizing pass) */
    int failed;
} out;

static void put(out *o, const void *d, size_t n) {
    if (o->failed || n == 0) return;
    if (o->write && o->write(o->user, d, n) != 0) o->failed = 1;
    o->count += n;
}
static void put_u8(out *o, uint8_t v) { put(o, &v, 1); }
static void put_u32(out *o, uint32_t v) {
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    put(o, b, 4);
}
static void put_u64(out *o, uint64_t v) { put_u32(o, (uint32_t)v); put_u32(o, (uint32_t)(v >> 32)); }
static void put_leb(out *o, uint64_t v) {
    do { uint8_t b = v & 0x7F; v >>= 7; if (v) b |= 0x80; put_u8(o, b); } while (v);
}

/* Zero runs, fill runs and literals (see docs/snapshot.md, "memory encoding"). */
static void encode_memory(out *o, const uint8_t *d, uint64_t n) {
    uint64_t i = 0, lit = 0;   /* literal starts at lit, pending until a run is found */
    while (i < n) {
        uint64_t j = i + 1;
        while (j < n && d[j] == d[i]) j++;
        if (j - i >= MIN_RUN) {
            if (lit < i) { put_leb(o, ((i - lit) << 2) | TOK_LITERAL); put(o, d + lit, (size_t)(i - lit)); }
            if (d[i] == 0) put_leb(o, ((j - i) << 2) | TOK_ZERO);
            else { put_leb(o, ((j - i) << 2) | TOK_FILL); put_u8(o, d[i]); }
            lit = j;
        }
        i = j;
    }
    if (lit < n) { put_leb(o, ((n - lit) << 2) | TOK_LITERAL); put(o, d + lit, (size_t)(n - lit)); }
}

/* Function index of a reference: own functions by address arithmetic, imported ones by a
 * search of the (usually few) imports. */
static int func_index(const lq_instance *in, const void *ref, uint32_t *idx) {
    const lq_module *m = in->module;
    const lq_func *f = (const lq_func *)ref;
    uint32_t nown = m->nfuncs - m->nfunc_imports;
    if (!ref) { *idx = NULL_INDEX; return 1; }
    if (f->inst == in && f >= in->own_funcs && f < in->own_funcs + nown) {
        *idx = m->nfunc_imports + (uint32_t)(f - in->own_funcs);
        return 1;
    }
    for (uint32_t i = 0; i < m->nfunc_imports; i++)
        if (in->funcs[i] == f) { *idx = i; return 1; }
    return 0;
}

static void section_header(out *o, const char tag[4], uint32_t len) { put(o, tag, 4); put_u32(o, len); }

/* Writes all engine sections; with write == NULL it only measures them. */
static lq_status emit_all(lq_instance *in, out *o, lq_error *err) {
    lq_module *m = in->module;
    uint32_t own_g = m->nglobals - m->nglobal_imports, own_t = m->ntables - m->ntable_imports;
    uint32_t own_m = m->nmems - m->nmem_imports;
    put(o, "LQSN", 4); put_u32(o, SNAP_VERSION);
    section_header(o, "MODL", 32 + 6 * 4);
    put(o, m->sha256, 32);
    put_u32(o, m->nfuncs); put_u32(o, own_g); put_u32(o, own_t); put_u32(o, own_m);
    put_u32(o, m->nelems); put_u32(o, m->ndatas);

    section_header(o, "GLOB", 4 + own_g * 9);
    put_u32(o, own_g);
    for (uint32_t i = 0; i < own_g; i++) {
        const lq_global *g = in->globals[m->nglobal_imports + i];
        uint64_t v = g->val;
        if (g->type == LQ_FUNCREF) {
            uint32_t idx;
            if (!func_index(in, (void *)(uintptr_t)v, &idx)) return lqe_fail(err, LQ_ERROR, "snapshot: global holds a function of another instance");
            v = idx;
        } else if (g->type == LQ_EXTERNREF && v) {
            return lqe_fail(err, LQ_ERROR, "snapshot: globals holding non-null externrefs cannot be captured");
        }
        put_u8(o, g->type); put_u64(o, v);
    }

    for (uint32_t i = 0; i < own_m; i++) {
        const lq_memory *mem = in->mems[m->nmem_imports + i];
        out sizing = {NULL, NULL, 0, 0};
        encode_memory(&sizing, mem->data, mem->size);
        if (sizing.count > 0xFFFFFFFFu - 8) return lqe_fail(err, LQ_ERROR, "snapshot: memory too large");
        section_header(o, "MEMY", (uint32_t)sizing.count + 8);
        put_u32(o, i); put_u32(o, mem->pages);
        encode_memory(o, mem->data, mem->size);
    }

    for (uint32_t i = 0; i < own_t; i++) {
        const lq_table *t = in->tables[m->ntable_imports + i];
        if ((uint64_t)t->size * 4 + 12 > 0xFFFFFFFFu) return lqe_fail(err, LQ_ERROR, "snapshot: table too large");
        section_header(o, "TABL", 12 + t->size * 4);
        put_u32(o, i); put_u32(o, t->elem); put_u32(o, t->size);
        for (uint32_t k = 0; k < t->size; k++) {
            uint32_t idx = NULL_INDEX;
            if (t->elem == LQ_EXTERNREF) {
                if (t->elems[k]) return lqe_fail(err, LQ_ERROR, "snapshot: tables holding non-null externrefs cannot be captured");
            } else if (!func_index(in, t->elems[k], &idx)) {
                return lqe_fail(err, LQ_ERROR, "snapshot: table holds a function of another instance");
            }
            put_u32(o, idx);
        }
    }

    section_header(o, "SEGS", 8 + m->nelems + m->ndatas);
    put_u32(o, m->nelems);
    for (uint32_t i = 0; i < m->nelems; i++) put_u8(o, in->elems[i].count == 0 && m->elems[i].count != 0);
    put_u32(o, m->ndatas);
    for (uint32_t i = 0; i < m->ndatas; i++) put_u8(o, in->data_dropped[i]);
    if (o->failed) return lqe_fail(err, LQ_ERROR, "snapshot: writer failed");
    return LQ_OK;
}

lq_status lq_snapshot(lq_instance *in, lq_write_fn write, void *user, lq_error *err) {
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    if (in->state != LQE_IDLE) return lqe_fail(err, LQ_ERROR, "snapshot: instance has a call in progress");
    out measure = {NULL, NULL, 0, 0};
    /* a dry run first: a failure (e.g. foreign funcref) must not leave half a snapshot */
    if (emit_all(in, &measure, err) != LQ_OK) return LQ_ERROR;
    out o = {write, user, 0, 0};
    return emit_all(in, &o, err);
}

typedef struct fixed_buffer { uint8_t *at; size_t left; } fixed_buffer;
static int write_fixed(void *user, const void *data, size_t len) {
    fixed_buffer *b = (fixed_buffer *)user;
    if (len > b->left) return 1;
    memcpy(b->at, data, len);
    b->at += len;
    b->left -= len;
    return 0;
}

lq_status lq_snapshot_to_buffer(lq_instance *in, uint8_t *buf, size_t cap, size_t *len, lq_error *err) {
    out measure = {NULL, NULL, 0, 0};
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    *len = 0;
    if (in->state != LQE_IDLE) return lqe_fail(err, LQ_ERROR, "snapshot: instance has a call in progress");
    if (emit_all(in, &measure, err) != LQ_OK) return LQ_ERROR;
    *len = (size_t)measure.count;
    if (!buf || cap < measure.count) return lqe_failn(err, LQ_ERROR, "snapshot: buffer too small", "need", measure.count);
    fixed_buffer b = {buf, cap};
    out o = {write_fixed, &b, 0, 0};
    return emit_all(in, &o, err);
}

lq_status lq_snapshot_section(lq_write_fn write, void *user, const char tag[4], const void *data, uint32_t len, lq_error *err) {
    out o = {write, user, 0, 0};
    section_header(&o, tag, len);
    put(&o, data, len);
    return o.failed ? lqe_fail(err, LQ_ERROR, "snapshot: writer failed") : LQ_OK;
}

/* ---------------------------------------------------------------- reading */

static uint32_t get_u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get_u64(const uint8_t *p) { return get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }

lq_status lq_snapshot_find(const uint8_t *d, size_t n, const char tag[4], const uint8_t **payload, uint32_t *plen, lq_error *err) {
    if (n < 8 || memcmp(d, "LQSN", 4) != 0) return lqe_fail(err, LQ_ERROR, "snapshot: bad magic");
    if (get_u32(d + 4) != SNAP_VERSION) return lqe_failn(err, LQ_ERROR, "snapshot: unsupported version", "version", get_u32(d + 4));
    size_t at = 8;
    while (at < n) {
        if (n - at < 8) return lqe_fail(err, LQ_ERROR, "snapshot: truncated section header");
        uint32_t len = get_u32(d + at + 4);
        if (len > n - at - 8) return lqe_fail(err, LQ_ERROR, "snapshot: truncated section");
        if (memcmp(d + at, tag, 4) == 0) { *payload = d + at + 8; *plen = len; return LQ_OK; }
        at += 8 + (size_t)len;
    }
    return lqe_fail(err, LQ_ERROR, "snapshot: section not found");
}

static int read_leb(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0; unsigned shift = 0;
    while (*p < end && shift < 64) {
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) { *v = r; return 1; }
        shift += 7;
    }
    return 0;
}

/* Checks (apply == 0) or writes (apply == 1) encoded memory contents of `size` bytes. */
static lq_status decode_memory(lq_memory *mem, const uint8_t *p, const uint8_t *end, uint64_t size, int apply,
                               lq_error *err) {
    uint64_t at = 0;
    if (apply && mem->size) memset(mem->data, 0, (size_t)mem->size);
    while (p < end) {
        uint64_t tok;
        if (!read_leb(&p, end, &tok)) return lqe_fail(err, LQ_ERROR, "snapshot: bad memory encoding");
        uint64_t len = tok >> 2;
        if (len > size - at) return lqe_fail(err, LQ_ERROR, "snapshot: memory data exceeds memory size");
        switch (tok & 3) {
        case TOK_ZERO: break;
        case TOK_FILL:
            if (p >= end) return lqe_fail(err, LQ_ERROR, "snapshot: bad memory encoding");
            if (apply) memset(mem->data + at, *p, (size_t)len);
            p++;
            break;
        case TOK_LITERAL:
            if ((uint64_t)(end - p) < len) return lqe_fail(err, LQ_ERROR, "snapshot: truncated memory data");
            if (apply) memcpy(mem->data + at, p, (size_t)len);
            p += len;
            break;
        default: return lqe_fail(err, LQ_ERROR, "snapshot: bad memory encoding");
        }
        at += len;
    }
    return LQ_OK;
}

static int ref_from_index(lq_instance *in, uint32_t idx, void **out) {
    if (idx == NULL_INDEX) { *out = NULL; return 1; }
    if (idx >= in->module->nfuncs) return 0;
    *out = in->funcs[idx];
    return 1;
}

/* One pass over the snapshot: with apply == 0 everything is checked and nothing written, so
 * a damaged snapshot leaves the instance untouched; apply == 1 then writes. */
static lq_status restore_pass(lq_instance *in, const uint8_t *d, size_t n, int apply, lq_error *err) {
    lq_module *m = in->module;
    const uint8_t *p; uint32_t len;
    if (lq_snapshot_find(d, n, "MODL", &p, &len, err) != LQ_OK) return LQ_ERROR;
    uint32_t own_g = m->nglobals - m->nglobal_imports, own_t = m->ntables - m->ntable_imports;
    uint32_t own_m = m->nmems - m->nmem_imports;
    if (len < 56) return lqe_fail(err, LQ_ERROR, "snapshot: bad MODL section");
    if (memcmp(p, m->sha256, 32) != 0) return lqe_fail(err, LQ_ERROR, "restore: snapshot is of a different module (sha256 differs)");
    if (get_u32(p + 32) != m->nfuncs || get_u32(p + 36) != own_g || get_u32(p + 40) != own_t ||
        get_u32(p + 44) != own_m || get_u32(p + 48) != m->nelems || get_u32(p + 52) != m->ndatas)
        return lqe_fail(err, LQ_ERROR, "snapshot: MODL counts do not match the module");

    if (lq_snapshot_find(d, n, "GLOB", &p, &len, err) != LQ_OK) return LQ_ERROR;
    if (len < 4 || get_u32(p) != own_g || len != 4 + own_g * 9) return lqe_fail(err, LQ_ERROR, "snapshot: bad GLOB section");
    for (uint32_t i = 0; i < own_g; i++) {
        lq_global *g = in->globals[m->nglobal_imports + i];
        const uint8_t *e = p + 4 + i * 9;
        uint64_t v = get_u64(e + 1);
        if (e[0] != g->type) return lqe_fail(err, LQ_ERROR, "snapshot: global type mismatch");
        if (g->type == LQ_FUNCREF) {
            void *ref;
            if (v > 0xFFFFFFFFu || !ref_from_index(in, (uint32_t)v, &ref)) return lqe_fail(err, LQ_ERROR, "snapshot: bad function index");
            v = (uint64_t)(uintptr_t)ref;
        } else if (g->type == LQ_EXTERNREF) {
            v = 0;
        }
        if (apply) g->val = v;
    }

    /* memories and tables: scan every section, since there may be several */
    size_t at = 8;
    while (at + 8 <= n) {
        uint32_t slen = get_u32(d + at + 4);
        const uint8_t *s = d + at + 8;
        if (slen > n - at - 8) return lqe_fail(err, LQ_ERROR, "snapshot: truncated section");
        if (memcmp(d + at, "MEMY", 4) == 0) {
            if (slen < 8 || get_u32(s) >= own_m) return lqe_fail(err, LQ_ERROR, "snapshot: bad MEMY section");
            lq_memory *mem = in->mems[m->nmem_imports + get_u32(s)];
            uint32_t pages = get_u32(s + 4);
            if (pages < mem->pages) return lqe_fail(err, LQ_ERROR, "snapshot: memory smaller than the module's minimum");
            if (pages > mem->max) return lqe_failn(err, LQ_ERROR, "restore: memory larger than allowed", "pages", pages);
            if (apply && lqe_memory_grow(mem, pages - mem->pages) < 0)
                return lqe_failn(err, LQ_ERROR, "restore: cannot grow memory", "pages", pages);
            if (decode_memory(mem, s + 8, s + slen, (uint64_t)pages * LQE_PAGE, apply, err) != LQ_OK) return LQ_ERROR;
        } else if (memcmp(d + at, "TABL", 4) == 0) {
            if (slen < 12 || get_u32(s) >= own_t) return lqe_fail(err, LQ_ERROR, "snapshot: bad TABL section");
            lq_table *t = in->tables[m->ntable_imports + get_u32(s)];
            uint32_t size = get_u32(s + 8);
            if (get_u32(s + 4) != t->elem || slen != 12 + (uint64_t)size * 4) return lqe_fail(err, LQ_ERROR, "snapshot: bad TABL section");
            if (size < t->size) return lqe_fail(err, LQ_ERROR, "snapshot: table smaller than the module's minimum");
            if (size > t->max) return lqe_fail(err, LQ_ERROR, "restore: table larger than allowed");
            for (uint32_t k = 0; k < size; k++) {
                void *ref;
                if (t->elem == LQ_FUNCREF && !ref_from_index(in, get_u32(s + 12 + 4 * k), &ref))
                    return lqe_fail(err, LQ_ERROR, "snapshot: bad function index");
            }
            if (apply) {
                if (lqe_table_grow(t, size - t->size, NULL) < 0) return lqe_fail(err, LQ_ERROR, "restore: cannot grow table");
                for (uint32_t k = 0; k < size; k++) {
                    t->elems[k] = NULL;
                    if (t->elem == LQ_FUNCREF) ref_from_index(in, get_u32(s + 12 + 4 * k), &t->elems[k]);
                }
            }
        }
        at += 8 + (size_t)slen;
    }

    if (lq_snapshot_find(d, n, "SEGS", &p, &len, err) != LQ_OK) return LQ_ERROR;
    if (len != 8 + m->nelems + m->ndatas || get_u32(p) != m->nelems || get_u32(p + 4 + m->nelems) != m->ndatas)
        return lqe_fail(err, LQ_ERROR, "snapshot: bad SEGS section");
    if (!apply) return LQ_OK;
    for (uint32_t i = 0; i < m->nelems; i++) {
        /* a fresh instance has active/declarative segments dropped and passive ones live */
        if (p[4 + i]) in->elems[i].count = 0;
        else if (m->elems[i].mode == LQE_SEG_PASSIVE) in->elems[i].count = m->elems[i].count;
    }
    for (uint32_t i = 0; i < m->ndatas; i++) in->data_dropped[i] = p[8 + m->nelems + i] ? 1 : 0;
    return LQ_OK;
}

lq_status lq_restore(lq_instance *in, const uint8_t *d, size_t n, lq_error *err) {
    if (err) { err->status = LQ_OK; err->message[0] = 0; }
    if (in->state != LQE_IDLE) return lqe_fail(err, LQ_ERROR, "restore: instance has a call in progress");
    if (restore_pass(in, d, n, 0, err) != LQ_OK) return LQ_ERROR;
    return restore_pass(in, d, n, 1, err);
}
