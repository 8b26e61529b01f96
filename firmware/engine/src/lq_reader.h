/* Bounds-checked reader over wasm bytes. Every read checks the remaining length; the first
 * failure records a "malformed: ..." message with the file offset and sticks. */
#ifndef LQ_READER_H
#define LQ_READER_H
#include "lq_internal.h"

typedef struct lqe_reader {
    const uint8_t *p, *end;
    const uint8_t *file;     /* start of the whole module, for offsets in messages */
    lq_error *err;
    int failed;
} lqe_reader;

static inline int lqe_rfail(lqe_reader *r, const char *msg) {
    if (!r->failed) {
        r->failed = 1;
        lqe_failn(r->err, LQ_ERROR, msg, "offset", (uint64_t)(r->p - r->file));
    }
    r->p = r->end;
    return 0;
}

static inline int lqe_u8(lqe_reader *r, uint8_t *out) {
    if (r->p >= r->end) return lqe_rfail(r, "malformed: unexpected end");
    *out = *r->p++;
    return 1;
}

/* Unsigned LEB128 of at most `bits` bits. */
static inline int lqe_uleb(lqe_reader *r, unsigned bits, uint64_t *out) {
    uint64_t v = 0; unsigned shift = 0;
    for (;;) {
        uint8_t b;
        if (r->p >= r->end) return lqe_rfail(r, "malformed: unexpected end");
        b = *r->p++;
        if (shift + 7 >= bits && shift < 64) {
            /* last allowed byte: no continuation and no bits beyond `bits` */
            unsigned used = bits - shift;
            if (b & 0x80) return lqe_rfail(r, "malformed: integer representation too long");
            if (used < 7 && (b >> used) != 0) return lqe_rfail(r, "malformed: integer too large");
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        if (!(b & 0x80)) break;
        shift += 7;
    }
    *out = v;
    return 1;
}

static inline int lqe_sleb(lqe_reader *r, unsigned bits, int64_t *out) {
    uint64_t v = 0; unsigned shift = 0; uint8_t b;
    for (;;) {
        if (r->p >= r->end) return lqe_rfail(r, "malformed: unexpected end");
        b = *r->p++;
        if (shift + 7 >= bits) {
            unsigned used = bits - shift;     /* value bits left, incl. sign */
            if (b & 0x80) return lqe_rfail(r, "malformed: integer representation too long");
            if (used < 7) {
                /* remaining high bits must all equal the sign bit */
                int sign = (b >> (used - 1)) & 1;
                uint8_t rest = (uint8_t)((b & 0x7F) >> (used - 1));
                uint8_t want = sign ? (uint8_t)(0x7F >> (used - 1)) : 0;
                if (rest != want) return lqe_rfail(r, "malformed: integer too large");
            }
        }
        v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
        if (!(b & 0x80)) break;
    }
    if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
    *out = (int64_t)v;
    return 1;
}

static inline int lqe_u32(lqe_reader *r, uint32_t *out) {
    uint64_t v = 0;
    if (!lqe_uleb(r, 32, &v)) return 0;
    *out = (uint32_t)v;
    return 1;
}

static inline int lqe_bytes(lqe_reader *r, size_t n, const uint8_t **out) {
    if ((size_t)(r->end - r->p) < n) return lqe_rfail(r, "malformed: unexpected end");
    *out = r->p;
    r->p += n;
    return 1;
}

#endif
