/* Memory workload: fill, copy and heap-sort 50,000 integers, n times; returns a checksum. */
#include "bench.h"

#define COUNT 50000

static int32_t source[COUNT];
static int32_t work[COUNT];

static void sift_down(int32_t *a, int start, int end) {
    int root = start;
    while (2 * root + 1 <= end) {
        int child = 2 * root + 1;
        if (child + 1 <= end && a[child] < a[child + 1]) child++;
        if (a[root] >= a[child]) return;
        int32_t t = a[root];
        a[root] = a[child];
        a[child] = t;
        root = child;
    }
}

static void heap_sort(int32_t *a, int count) {
    for (int start = (count - 2) / 2; start >= 0; start--) sift_down(a, start, count - 1);
    for (int end = count - 1; end > 0; end--) {
        int32_t t = a[end];
        a[end] = a[0];
        a[0] = t;
        sift_down(a, 0, end - 1);
    }
}

int run(int n) {
    uint32_t seed = 42;
    uint32_t sum = 0;
    for (int pass = 0; pass < n; pass++) {
        for (int i = 0; i < COUNT; i++) source[i] = (int32_t)(bench_next(&seed) >> 1);
        /* An explicit copy loop (compilers turn it into memcpy) exercises bulk memory moves. */
        for (int i = 0; i < COUNT; i++) work[i] = source[i];
        heap_sort(work, COUNT);
        for (int i = 1; i < COUNT; i++) {
            if (work[i - 1] > work[i]) return -1;
        }
        sum = sum * 31u + (uint32_t)work[COUNT / 2] + (uint32_t)work[COUNT - 1];
    }
    return (int)sum;
}
