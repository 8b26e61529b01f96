/* WebAssembly float semantics in portable C (no fenv, no x87 assumptions): NaN-aware
 * min/max, round-to-nearest-even, and the range checks of the trapping truncations. */
#ifndef LQ_FLOAT_H
#define LQ_FLOAT_H
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* Wasm float results must be exactly those of IEEE single/double arithmetic. Targets that
 * evaluate in wider precision (x87 without -mfpmath=sse) would round differently. */
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0 && FLT_EVAL_METHOD != -1
#error "the engine needs FLT_EVAL_METHOD 0 (e.g. -mfpmath=sse -msse2 on 32-bit x86)"
#endif

static inline float lqe_f32(uint64_t slot) { uint32_t u = (uint32_t)slot; float f; memcpy(&f, &u, 4); return f; }
static inline double lqe_f64(uint64_t slot) { double d; memcpy(&d, &slot, 8); return d; }
static inline uint64_t lqe_bits32(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline uint64_t lqe_bits64(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }

static inline float lqe_fminf(float a, float b) {
    if (a != a || b != b) return a + b;                 /* arithmetic NaN */
    if (a == 0 && b == 0) return (lqe_bits32(a) >> 31) ? a : b;
    return a < b ? a : b;
}
static inline float lqe_fmaxf(float a, float b) {
    if (a != a || b != b) return a + b;
    if (a == 0 && b == 0) return (lqe_bits32(a) >> 31) ? b : a;
    return a > b ? a : b;
}
static inline double lqe_fmin(double a, double b) {
    if (a != a || b != b) return a + b;
    if (a == 0 && b == 0) return (lqe_bits64(a) >> 63) ? a : b;
    return a < b ? a : b;
}
static inline double lqe_fmax(double a, double b) {
    if (a != a || b != b) return a + b;
    if (a == 0 && b == 0) return (lqe_bits64(a) >> 63) ? b : a;
    return a > b ? a : b;
}

/* Round half to even without depending on the current rounding mode. */
static inline double lqe_nearest(double x) {
    if (x != x) return x + x;
    if (!(fabs(x) < 4503599627370496.0)) return x;      /* |x| >= 2^52: already integral */
    double t = trunc(x);
    double d = x - t;                                    /* exact */
    if (d > 0.5 || (d == 0.5 && trunc(t * 0.5) != t * 0.5)) t += 1.0;
    else if (d < -0.5 || (d == -0.5 && trunc(t * 0.5) != t * 0.5)) t -= 1.0;
    return t == 0 ? copysign(0.0, x) : t;
}
static inline float lqe_nearestf(float x) {
    if (x != x) return x + x;
    if (!(fabsf(x) < 8388608.0f)) return x;              /* 2^23 */
    float t = truncf(x);
    float d = x - t;
    if (d > 0.5f || (d == 0.5f && truncf(t * 0.5f) != t * 0.5f)) t += 1.0f;
    else if (d < -0.5f || (d == -0.5f && truncf(t * 0.5f) != t * 0.5f)) t -= 1.0f;
    return t == 0 ? copysignf(0.0f, x) : t;
}

static inline float lqe_unary_nan_f(float x, float r) { return x != x ? x + x : r; }
static inline double lqe_unary_nan(double x, double r) { return x != x ? x + x : r; }

#endif
