/* Call-heavy workload: naive recursive Fibonacci of n. */
#include "bench.h"

/* noinline keeps the recursion real: no engine may fold it into a loop. */
__attribute__((noinline)) static int fib(int n) {
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

int run(int n) {
    return fib(n);
}
