/*
 * cyprop_fpmode.h -- subnormal numbers flushed to zero while a training
 * kernel runs.
 *
 * Optimizer state that decays geometrically (Adam's moments, momentum's
 * velocity) of a parameter whose gradient stays zero (a dead relu unit, a
 * pixel that is always blank) passes through the subnormal range on its way
 * to zero.  Arithmetic on subnormals takes a slow microcoded path on most
 * x86 cores (and some ARM ones): per-sample Adam on the digits ran up to
 * 1.8x slower per epoch once such moments appeared (AMD Zen 5).  The
 * training kernels therefore run with the FPU's flush-to-zero modes on, as
 * TensorFlow and XLA run on CPUs: a result below the smallest normal number
 * (2.2e-308 in float64, 1.2e-38 in float32) becomes zero, and such an input
 * counts as zero.  The mode belongs to a thread: a kernel sets it on entry
 * in every thread it runs on and gives each thread its mode back on exit.
 *
 * cyp_fp_flush(on): with on != 0, turn the flush modes on; return the
 *     thread's previous mode, for cyp_fp_restore.  With on == 0 nothing
 *     changes.
 * cyp_fp_restore(mode): the thread's mode as cyp_fp_flush found it.
 * cyp_fp_can_flush(): 1 where this build can set the modes (x86 with SSE,
 *     64-bit ARM), else 0 (cyp_fp_flush is then a no-op).
 *
 * x86: MXCSR's FTZ (bit 15) and DAZ (bit 6); they govern SSE, AVX and
 * AVX-512 alike.  64-bit ARM: FPCR's FZ (bit 24), which flushes inputs and
 * results of single and double precision.
 */
#ifndef CYPROP_FPMODE_H
#define CYPROP_FPMODE_H

#if defined(__SSE__) || defined(_M_X64) || (defined(_M_IX86_FP) && _M_IX86_FP >= 1)
#include <xmmintrin.h>
typedef unsigned int cyp_fp_mode;
#define CYP_FP_FLUSH_BITS 0x8040u
static inline int cyp_fp_can_flush(void) { return 1; }
static inline cyp_fp_mode cyp_fp_get_(void) { return _mm_getcsr(); }
static inline void cyp_fp_set_(cyp_fp_mode m) { _mm_setcsr(m); }
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
typedef unsigned long long cyp_fp_mode;
#define CYP_FP_FLUSH_BITS (1ull << 24)
static inline int cyp_fp_can_flush(void) { return 1; }
static inline cyp_fp_mode cyp_fp_get_(void) {
    unsigned long long m;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(m));
    return m;
}
static inline void cyp_fp_set_(cyp_fp_mode m) { __asm__ __volatile__("msr fpcr, %0" : : "r"(m)); }
#else
typedef unsigned int cyp_fp_mode;
#define CYP_FP_FLUSH_BITS 0u
static inline int cyp_fp_can_flush(void) { return 0; }
static inline cyp_fp_mode cyp_fp_get_(void) { return 0; }
static inline void cyp_fp_set_(cyp_fp_mode m) { (void)m; }
#endif

static inline cyp_fp_mode cyp_fp_flush(int on) {
    cyp_fp_mode m = cyp_fp_get_();
    if (on && (m & CYP_FP_FLUSH_BITS) != CYP_FP_FLUSH_BITS)
        cyp_fp_set_(m | CYP_FP_FLUSH_BITS);
    return m;
}

static inline void cyp_fp_restore(cyp_fp_mode m) {
    if (cyp_fp_get_() != m)
        cyp_fp_set_(m);
}

#endif
