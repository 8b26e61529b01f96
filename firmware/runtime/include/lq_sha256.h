/* SHA-256 (FIPS 180-4): module identity in the store and in the protocol. */
#ifndef LQ_SHA256_H
#define LQ_SHA256_H
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
void lq_sha256_hex(const uint8_t digest[32], char out[65]);
#endif
