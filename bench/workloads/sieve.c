/* Integer workload: sieve of Eratosthenes up to 1,000,000, n times; returns the prime count. */
#include "bench.h"

#define LIMIT 1000000

static uint8_t composite[LIMIT + 1];

int run(int n) {
    int count = 0;
    for (int pass = 0; pass < n; pass++) {
        for (int i = 0; i <= LIMIT; i++) composite[i] = 0;
        count = 0;
        for (int i = 2; i <= LIMIT; i++) {
            if (composite[i]) continue;
            count++;
            for (int j = i + i; j <= LIMIT; j += i) composite[j] = 1;
        }
    }
    return count;
}
