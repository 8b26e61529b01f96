/* Integer workload: table-driven CRC-32 over a 16 KiB buffer, n passes. */
#include "bench.h"

#define BUF_SIZE 16384

static uint8_t buffer[BUF_SIZE];
static uint32_t table[256];

int run(int n) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    uint32_t seed = 12345;
    for (int i = 0; i < BUF_SIZE; i++) buffer[i] = (uint8_t)(bench_next(&seed) >> 24);
    uint32_t crc = 0xFFFFFFFFu;
    for (int pass = 0; pass < n; pass++) {
        for (int i = 0; i < BUF_SIZE; i++) crc = table[(crc ^ buffer[i]) & 0xFF] ^ (crc >> 8);
    }
    return (int)~crc;
}
