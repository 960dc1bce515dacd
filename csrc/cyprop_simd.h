/*
 * cyprop_simd.h -- the innermost loops of the network kernels, header-only.
 *
 * Each helper is one pass over one row of a weight matrix.  They are written
 * in C rather than Cython for one reason: `#pragma omp simd reduction` lets
 * the compiler vectorise the dot product's sum (with -fopenmp-simd, no OpenMP
 * runtime) without -ffast-math anywhere else.  The module that includes this
 * header is compiled once for the baseline ISA and once with -mavx2 -mfma;
 * cyprop._kernels picks one at import time (cyp_cpu_has_avx2_fma below).
 *
 * This file holds the scalar exp/log and the CPU check; the row loops are in
 * cyprop_simd_impl.h, a template included below once per type.  Suffix _d:
 * double, _f: float.  `n` is a row length (Py_ssize_t).  Cython sees these
 * declarations through cyprop_simd.pxd.
 */
#ifndef CYPROP_SIMD_H
#define CYPROP_SIMD_H

#include <Python.h>

#include <math.h>

#if defined(_MSC_VER)
#define CYP_RESTRICT __restrict
#define CYP_ALWAYS_INLINE static __forceinline
#define CYP_PRAGMA(x) __pragma(x)
#else
#define CYP_RESTRICT __restrict__
#define CYP_ALWAYS_INLINE static inline __attribute__((always_inline))
#define CYP_PRAGMA(x) _Pragma(#x)
#endif
/* `omp simd` needs -fopenmp-simd (GCC, Clang) or /openmp:experimental (MSVC);
 * without them the pragmas are ignored and the loops stay correct. */
#define CYP_OMP_SIMD CYP_PRAGMA(omp simd)
#define CYP_OMP_SIMD_SUM(v) CYP_PRAGMA(omp simd reduction(+:v))

#include <stdint.h>
#include <string.h>
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

/* ---------------------------------------------------------------------------
 * exp without branches or calls, so that loops over it vectorise.
 *
 * x = n ln2 + r with |r| <= ln2/2 (Cody-Waite split of ln2), exp(r) by its
 * Taylor series to degree 13 (double; truncation < 5e-18 relative) or 7
 * (float; < 6e-9), evaluated by Estrin's scheme, scaled by 2^n built from the exponent bits in two halves
 * so that subnormal results come out right.  Accuracy: within 2 ulp of the
 * correctly rounded exp (checked against numpy in the tests).  x above the
 * overflow threshold gives inf, below the underflow threshold 0, NaN gives NaN.
 */
/* 2^k for a double k holding an integer in [-1022, 1023]: the shifter puts k
 * in the low mantissa bits, from where it moves to the exponent field.  Only
 * 64-bit adds and left shifts: these vectorise on AVX2 (an arithmetic right
 * shift of int64 would not). */
CYP_ALWAYS_INLINE double cyp_pow2_d(double k)
{
    const double shifter = 6755399441055744.0;       /* 1.5 * 2^52 */
    double t = k + shifter;
    uint64_t tb, sb;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&sb, &shifter, sizeof sb);
    uint64_t bits = (tb - sb + 1023) << 52;
    double v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

CYP_ALWAYS_INLINE double cyp_exp_d(double x)
{
    const double log2e = 1.4426950408889634074;
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;       /* 1.5 * 2^52: rounds to integer */
    double xc = x > 709.8 ? 709.8 : (x < -745.2 ? -745.2 : x);
    double nd = (xc * log2e + shifter) - shifter;      /* n = round(x / ln2) */
    double r = (xc - nd * ln2_hi) - nd * ln2_lo;
    /* Taylor coefficients 1/k!, k = 0..13, evaluated by Estrin's scheme
     * (short dependency chains: small layers are latency-bound) */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double c01 = 1.0 + r;
    double c23 = 0.5 + r * (1.0 / 6.0);
    double c45 = 1.0 / 24.0 + r * (1.0 / 120.0);
    double c67 = 1.0 / 720.0 + r * (1.0 / 5040.0);
    double c89 = 1.0 / 40320.0 + r * (1.0 / 362880.0);
    double c1011 = 1.0 / 3628800.0 + r * (1.0 / 39916800.0);
    double c1213 = 1.0 / 479001600.0 + r * (1.0 / 6227020800.0);
    double c0_3 = c01 + r2 * c23;
    double c4_7 = c45 + r2 * c67;
    double c8_11 = c89 + r2 * c1011;
    double c0_7 = c0_3 + r4 * c4_7;
    double c8_13 = c8_11 + r4 * c1213;
    double p = c0_7 + r8 * c8_13;
    /* 2^n in two normal factors, so subnormal results round once, at the end */
    double n1 = nd < -1022.0 ? -1022.0 : (nd > 1023.0 ? 1023.0 : nd);
    double y = p * cyp_pow2_d(n1) * cyp_pow2_d(nd - n1);
    y = x > 709.782712893384 ? (double)INFINITY : y;
    y = x < -745.1332191019412 ? 0.0 : y;
    return x != x ? x : y;
}

/* log without branches or calls (vectorises like cyp_exp_d).
 *
 * x = 2^e m with m in [sqrt(1/2), sqrt(2)); log m = 2 atanh(s), s = (m-1)/(m+1),
 * |s| <= 0.1716, by its odd series to s^21 (truncation < 3e-17 relative);
 * log x = e ln2 + log m.  Within 2 ulp (checked against numpy in the tests);
 * log 0 = -inf, log inf = inf, negative or NaN -> NaN; subnormals handled. */
CYP_ALWAYS_INLINE double cyp_log_d(double x)
{
    const double ln2_hi = 6.93147180369123816490e-01;
    const double ln2_lo = 1.90821492927058770002e-10;
    const double shifter = 6755399441055744.0;
    int tiny = x < 2.2250738585072014e-308;           /* subnormal (or <= 0) */
    double xs = tiny ? x * 18014398509481984.0 : x;    /* * 2^54 */
    uint64_t bits, sb;
    memcpy(&bits, &xs, sizeof bits);
    memcpy(&sb, &shifter, sizeof sb);
    /* biased exponent -> double e, via the shifter (no int64 -> double convert) */
    uint64_t eb = sb + ((bits >> 52) & 0x7ff);
    double e;
    memcpy(&e, &eb, sizeof e);
    e = (e - shifter) - (tiny ? 1023.0 + 54.0 : 1023.0);
    uint64_t mb = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &mb, sizeof m);
    int big = m > 1.4142135623730951;
    m = big ? m * 0.5 : m;
    e = big ? e + 1.0 : e;
    double s = (m - 1.0) / (m + 1.0);
    double s2 = s * s, s4 = s2 * s2, s8 = s4 * s4;
    /* log m = 2s + 2s * s2 * P(s2), P(u) = 1/3 + u/5 + ... + u^9/21 (Estrin);
     * adding the small correction to 2s last keeps the rounding error low */
    double p01 = 1.0 / 3.0 + s2 * (1.0 / 5.0);
    double p23 = 1.0 / 7.0 + s2 * (1.0 / 9.0);
    double p45 = 1.0 / 11.0 + s2 * (1.0 / 13.0);
    double p67 = 1.0 / 15.0 + s2 * (1.0 / 17.0);
    double p89 = 1.0 / 19.0 + s2 * (1.0 / 21.0);
    double P = (p01 + s4 * p23) + s8 * (p45 + s4 * p67) + (s8 * s8) * p89;
    double two_s = 2.0 * s;
    double y = e * ln2_hi + (two_s + (two_s * s2 * P + e * ln2_lo));
    y = x == 0.0 ? -(double)INFINITY : y;
    y = x == (double)INFINITY ? x : y;
    y = (x < 0.0 || x != x) ? (double)NAN : y;
    return y;
}

CYP_ALWAYS_INLINE float cyp_pow2i_f(int32_t k)         /* 2^k for -126 <= k <= 127 */
{
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}

CYP_ALWAYS_INLINE float cyp_exp_f(float x)
{
    const float log2e = 1.44269504088896341f;
    const float ln2_hi = 0.693145751953125f;
    const float ln2_lo = 1.428606765330187045e-06f;
    const float shifter = 12582912.0f;                 /* 1.5 * 2^23 */
    float xc = x > 88.8f ? 88.8f : (x < -103.98f ? -103.98f : x);
    float t = xc * log2e + shifter;
    float nd = t - shifter;
    int32_t tb, sb;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&sb, &shifter, sizeof sb);
    int32_t n = tb - sb;
    float r = (xc - nd * ln2_hi) - nd * ln2_lo;
    float r2 = r * r, r4 = r2 * r2;
    float c0_3 = (1.0f + r) + r2 * (0.5f + r * (1.0f / 6.0f));
    float c4_7 = (1.0f / 24.0f + r * (1.0f / 120.0f)) + r2 * (1.0f / 720.0f + r * (1.0f / 5040.0f));
    float p = c0_3 + r4 * c4_7;
    int32_t n1 = n >> 1;
    float y = p * cyp_pow2i_f(n1) * cyp_pow2i_f(n - n1);
    y = x > 88.72283935546875f ? (float)INFINITY : y;
    y = x < -103.972084045410156f ? 0.0f : y;
    return x != x ? x : y;
}

/* Partial sums in the long-row dot: four 256-bit vectors' worth, used for
 * every row at least that long (measured faster than one accumulator from
 * there on, now that the partial sums are added in one vector sum). */
#define CYP_DOT_LANES(T) ((Py_ssize_t)(128 / sizeof(T)))

/* A row's sum of squares (the online L2 term's share of the loss) is
 * taken in 16 partial sums of doubles, lanes[i % 16] (cyp_square_lanes),
 * added at the end as a halving tree, upper half onto lower: the same order
 * in every build, and 16 independent chains, so that a separate pass of
 * squares is not bound by the latency of one vector of adds. */
/* acc[k] += acc[k + h] for k < h: one step of a halving tree (upper half
 * onto lower half; h a constant, so that the step is one vector add) */
#define CYP_HALVE(acc, h)                                                      \
    CYP_OMP_SIMD                                                               \
    for (int k = 0; k < (h); k++) (acc)[k] += (acc)[k + (h)];
static inline double cyp_sum16(double *CYP_RESTRICT lanes)
{
    CYP_HALVE(lanes, 8)
    CYP_HALVE(lanes, 4)
    CYP_HALVE(lanes, 2)
    CYP_HALVE(lanes, 1)
    return lanes[0];
}

/* The online L2 path updates a first layer of at least this many inputs row
 * by row (cyp_l2_row_step), a narrower one by column blocks
 * (cyp_backprop_layer); see cyp_l2_row_step_opt. */
#define CYP_L2_ROW_MIN 128

/* Batch blocks of 16 samples in float where one vector holds 16 floats
 * (AVX-512); 8 samples otherwise (one vector of doubles, two or one of
 * floats), see the kernels' _block_step. */
#if defined(__AVX512F__)
#define CYP_WIDE_F32 1
#else
#define CYP_WIDE_F32 0
#endif

/* Bytes in one vector register of the build (zmm, ymm, xmm). */
#if defined(__AVX512F__)
#define CYP_VEC_BYTES 64
#elif defined(__AVX__)
#define CYP_VEC_BYTES 32
#else
#define CYP_VEC_BYTES 16
#endif

/* Elementwise body over i < n: straight-line for n < 4 (shorter than one
 * AVX2 vector of doubles), else a vector loop. */
#define CYP_SMALL_OR_SIMD(n, BODY)                                             \
    if ((n) < 4) {                                                             \
        Py_ssize_t i = 0;                                                      \
        switch (n) {                                                           \
        case 3: { BODY; i++; } /* fall through */                              \
        case 2: { BODY; i++; } /* fall through */                              \
        case 1: { BODY; } /* fall through */                                   \
        default: break;                                                        \
        }                                                                      \
    } else if ((n) == 4) {  /* one block of 4 lanes: no loop set-up */       \
        CYP_OMP_SIMD                                                    \
        for (Py_ssize_t i = 0; i < 4; i++) { BODY; }                           \
    } else if ((n) == 8) {  /* one block of 8 lanes */                         \
        CYP_OMP_SIMD                                                    \
        for (Py_ssize_t i = 0; i < 8; i++) { BODY; }                           \
    } else {                                                                   \
        CYP_OMP_SIMD                                                    \
        for (Py_ssize_t i = 0; i < (n); i++) { BODY; }                         \
    }

/* A function whose products must not be fused into the following sums
 * (GCC contracts a*b+c across statements under its default
 * -ffp-contract=fast; Clang only within one expression, MSVC not by
 * default): see cyp_block8_grad. */
#if defined(__clang__)
#define CYP_NO_CONTRACT static __attribute__((noinline))
#define CYP_NO_CONTRACT_BODY _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define CYP_NO_CONTRACT static __attribute__((noinline, optimize("fp-contract=off")))
#define CYP_NO_CONTRACT_BODY
#else
#define CYP_NO_CONTRACT static
#define CYP_NO_CONTRACT_BODY
#endif

/* The optimizers (cyp_rule in cyprop_simd_impl.h); the codes are shared with
 * the kernels (cyprop_simd.pxd). */
enum { CYP_OPT_SGD = 0, CYP_OPT_MOMENTUM = 1, CYP_OPT_NESTEROV = 2, CYP_OPT_ADAM = 3 };
/* iRprop- is not a case of cyp_rule (it moves by a per-parameter step size,
 * not by eta * g): its own function, cyp_rprop_apply, on the batch path. */
enum { CYP_OPT_RPROP = 16 };
/* iRprop-'s constants (FANN's defaults 1.2, 0.5, 0, 50). */
typedef struct { double increase, decrease, step_min, step_max; } cyp_rprop_consts;

/* CALL(code, ARGS...) with the optimizer code as a compile-time constant, so
 * that each row loop is compiled once per rule with the rule inlined. */
#define CYP_CALL_OPT_(CALL, code, ...) CALL(code, __VA_ARGS__)
#define CYP_FOR_EACH_OPT(opt, CALL, ARGS)                                      \
    if ((opt) == CYP_OPT_MOMENTUM) { CYP_CALL_OPT_(CALL, CYP_OPT_MOMENTUM, CYP_UNPAREN_ ARGS); } \
    else if ((opt) == CYP_OPT_NESTEROV) { CYP_CALL_OPT_(CALL, CYP_OPT_NESTEROV, CYP_UNPAREN_ ARGS); } \
    else if ((opt) == CYP_OPT_ADAM) { CYP_CALL_OPT_(CALL, CYP_OPT_ADAM, CYP_UNPAREN_ ARGS); } \
    else { CYP_CALL_OPT_(CALL, CYP_OPT_SGD, CYP_UNPAREN_ ARGS); }
#define CYP_UNPAREN_(...) __VA_ARGS__

/* ---------------------------------------------------------------------------
 * Placement of the sample's input row (issue 10: 4K aliasing).  The online
 * kernel copies each sample's input into the workspace at n (2 or 3) copies
 * spread over the 4096-byte page, and reads, for row j of the first layer,
 * the copy pick[j] whose address runs between CYP_LOAD_AHEAD and
 * CYP_PAGE - CYP_STORE_WINDOW bytes ahead (mod 4096) of the row's stored
 * streams (W_j, and V_j with momentum): a load of x then never matches, in
 * its low 12 bits, a store still in flight from the CYP_STORE_WINDOW bytes
 * of W_j / V_j behind it.  The previous sample's copies (old, the deferred
 * update's a_old) lie at the same residues.  The constants are
 * cyprop._aligned's (a test compares them). */
#define CYP_PAGE 4096
#define CYP_LOAD_AHEAD 64
#define CYP_STORE_WINDOW 1024
#define CYP_MAX_COPIES 3
typedef struct {
    int n;                             /* copies in use */
    char *cur[CYP_MAX_COPIES];         /* this sample's input */
    char *old[CYP_MAX_COPIES];         /* the previous sample's */
    const unsigned char *pick;         /* per first-layer row: the copy it reads */
} cyp_inputs;

/* Bytes by which address `load` runs ahead of `store` modulo the page. */
static inline unsigned cyp_ahead(const void *load, const void *store)
{
    return (unsigned)(((uintptr_t)load - (uintptr_t)store) & (CYP_PAGE - 1));
}

/* Slack of a load stream against a stored one: >= 0 when the distance is in
 * [CYP_LOAD_AHEAD, CYP_PAGE - CYP_STORE_WINDOW], else how far outside. */
static inline int cyp_slack(const void *load, const void *store)
{
    int d = (int)cyp_ahead(load, store);
    int lo = d - CYP_LOAD_AHEAD, hi = (CYP_PAGE - CYP_STORE_WINDOW) - d;
    return lo < hi ? lo : hi;
}

/* The copy row `w` (and `v`, its velocity row, or NULL) should read: the
 * first whose slack against both is >= 0, else the one with the most. */
static inline int cyp_pick_copy(const cyp_inputs *in, const void *w, const void *v)
{
    int best = 0, best_slack = -CYP_PAGE;
    for (int c = 0; c < in->n; c++) {
        int s = cyp_slack(in->cur[c], w);
        if (v) { int sv = cyp_slack(in->cur[c], v); if (sv < s) s = sv; }
        if (s >= 0) return c;
        if (s > best_slack) { best_slack = s; best = c; }
    }
    return best;
}

/* The blocked schedule's matrix products (cyprop_gemm_impl.h): cyprop runs
 * them itself in the AVX-512 build under GCC or Clang, with 512-bit vectors
 * (GCC's vector extensions); elsewhere SciPy's BLAS does (CYP_OWN_GEMM 0:
 * the functions exist but are not called).  Why: SciPy's OpenBLAS picks its
 * CPU kernels at run time and does not recognise every AVX-512 CPU (0.3.30
 * runs its Haswell kernels on AMD Zen 5, OpenBLAS issue #6029), which left
 * the blocked schedule slower than the sequential one there; the own
 * products are faster than OpenBLAS's AVX-512 (SkylakeX) kernels too on
 * these shapes.  With 256-bit vectors (the AVX2 build) the same tiles lose
 * to OpenBLAS's Haswell kernels (16 registers), so that build keeps BLAS. */
#if (defined(__GNUC__) || defined(__clang__)) && defined(__AVX512F__)
#define CYP_OWN_GEMM 1
#define CYP_GEMM_VECTORS 1
#define CYP_GEMM_BYTES 64
#else
#define CYP_OWN_GEMM 0
#define CYP_GEMM_VECTORS 0
#endif

/* GCC's and Clang's vector extensions (vector_size, shuffles): the 8 x 8
 * register transposes (cyp_transpose8).  MSVC has none: the same moves one
 * value at a time there. */
#ifndef CYP_VEC_EXT   /* (-DCYP_VEC_EXT=0 tests the other path with GCC) */
#if defined(__GNUC__) || defined(__clang__)
#define CYP_VEC_EXT 1
#else
#define CYP_VEC_EXT 0
#endif
#endif

/* The row loops, once per type. */
#define CYP_CAT_(a, b) a##_##b
#define CYP_CAT(a, b) CYP_CAT_(a, b)

#define T double
#define CYP_SFX d
#define CYP_T_IS_DOUBLE 1
#define CYP_FN(name) CYP_CAT(name, CYP_SFX)
#include "cyprop_simd_impl.h"
#include "cyprop_gemm_impl.h"
#undef CYP_FN
#undef CYP_T_IS_DOUBLE
#undef CYP_SFX
#undef T

#define T float
#define CYP_SFX f
#define CYP_T_IS_DOUBLE 0
#define CYP_FN(name) CYP_CAT(name, CYP_SFX)
#include "cyprop_simd_impl.h"
#include "cyprop_gemm_impl.h"
#undef CYP_FN
#undef CYP_T_IS_DOUBLE
#undef CYP_SFX
#undef T

/* 1 when the running CPU can execute the -mavx2 -mfma build. */
static inline int cyp_cpu_has_avx2_fma(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/* XCR0, the state components the OS saves on a context switch (0 when the
 * CPU has no XGETBV, or the OS has not enabled it: CPUID.1:ECX.OSXSAVE). */
static inline unsigned long long cyp_xcr0(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__))
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27)))
        return 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
#else
    return 0;
#endif
}

/* 1 when the running CPU and OS can execute the AVX-512 build: the CPU has
 * AVX-512 F, VL, DQ, BW and FMA, and XCR0 shows that the OS saves the xmm
 * and ymm state (bits 1, 2) and the opmask and zmm state (bits 5, 6, 7). */
static inline int cyp_cpu_has_avx512(void)
{
#if (defined(__GNUC__) || defined(__clang__)) && \
    (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
          && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw")
          && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0;
    return (cyp_xcr0() & 0xE6) == 0xE6;
#else
    return 0;
#endif
}

#endif /* CYPROP_SIMD_H */
