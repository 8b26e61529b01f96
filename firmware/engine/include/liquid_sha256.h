/* SHA-256 (FIPS 180-4), incremental. The engine identifies modules by it (snapshots name the
 * module they belong to); the runtime reuses it for uploads and the store, so devices carry one
 * implementation. */
#ifndef LIQUID_SHA256_H
#define LIQUID_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct lq_sha256 {
    uint32_t h[8];
    uint64_t total;
    uint8_t block[64];
    uint32_t used;
} lq_sha256;

void lq_sha256_init(lq_sha256 *s);
void lq_sha256_update(lq_sha256 *s, const void *data, size_t len);
void lq_sha256_final(lq_sha256 *s, uint8_t out[32]);

#endif
