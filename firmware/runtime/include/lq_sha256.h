/* SHA-256 for the runtime: module identity in the store and in the protocol. The hash itself is
 * the engine's (liquid_sha256.h); the runtime adds the hex form its messages and JSON use. */
#ifndef LQ_SHA256_H
#define LQ_SHA256_H
#include <stdint.h>
#include "liquid_sha256.h"
void lq_sha256_hex(const uint8_t digest[32], char out[65]);
#endif
