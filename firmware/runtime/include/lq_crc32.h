/* CRC-32 (IEEE 802.3, reflected, poly 0xEDB88320): the protocol frame check and the store's
 * record check. Incremental: start with crc = 0, feed lq_crc32 its previous result. */
#ifndef LQ_CRC32_H
#define LQ_CRC32_H
#include <stddef.h>
#include <stdint.h>
uint32_t lq_crc32(uint32_t crc, const void *data, size_t len);
#endif
