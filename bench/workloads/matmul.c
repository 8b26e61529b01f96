/* Float workload: 64x64 single-precision matrix products, n times; returns a checksum. */
#include "bench.h"

#define N 64

static float a[N][N], b[N][N], c[N][N];

int run(int n) {
    uint32_t seed = 7;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
            a[i][j] = (float)(bench_next(&seed) >> 20) / 4096.0f;
            b[i][j] = (float)(bench_next(&seed) >> 20) / 4096.0f;
        }
    }
    uint32_t check = 0;
    for (int pass = 0; pass < n; pass++) {
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < N; j++) {
                float s = 0;
                for (int k = 0; k < N; k++) s += a[i][k] * b[k][j];
                c[i][j] = s;
            }
        }
        /* Feed a result back so no pass can be skipped. */
        a[pass % N][0] = c[N - 1][pass % N] / 64.0f;
        check = check * 31u + (uint32_t)(int32_t)c[pass % N][N - 1];
    }
    return (int)check;
}
