/*
 * cyprop_simd.h -- the innermost loops of the network kernels, header-only.
 *
 * Each helper is one pass over one row of a weight matrix.  They are written
 * in C rather than Cython for one reason: `#pragma omp simd reduction` lets
 * the compiler vectorise the dot product's sum (with -fopenmp-simd, no OpenMP
 * runtime) without -ffast-math anywhere else.  The module that includes this
 * header is compiled once for the baseline ISA and once with -mavx2 -mfma;
 * cyprop._dispatch picks one at import time (cyp_cpu_has_avx2_fma below).
 *
 * Suffix _d: double, _f: float.  `n` is a row length (Py_ssize_t).
 */
#ifndef CYPROP_SIMD_H
#define CYPROP_SIMD_H

#include <Python.h>

#if defined(_MSC_VER)
#define CYP_RESTRICT __restrict
#else
#define CYP_RESTRICT __restrict__
#endif

#define CYP_DEFINE_ROW_HELPERS(T, SFX)                                          \
/* sum_i w[i] * a[i] */                                                        \
static inline T cyp_dot_##SFX(const T *CYP_RESTRICT w, const T *CYP_RESTRICT a, \
                              Py_ssize_t n)                                    \
{                                                                              \
    T s = 0;                                                                   \
    _Pragma("omp simd reduction(+:s)")                                         \
    for (Py_ssize_t i = 0; i < n; i++) s += w[i] * a[i];                       \
    return s;                                                                  \
}                                                                              \
/* back[i] += w[i] * d  (the row's share of W^T delta) */                      \
static inline void cyp_axpy_##SFX(T *CYP_RESTRICT back, const T *CYP_RESTRICT w,\
                                  T d, Py_ssize_t n)                           \
{                                                                              \
    _Pragma("omp simd")                                                        \
    for (Py_ssize_t i = 0; i < n; i++) back[i] += w[i] * d;                    \
}                                                                              \
/* Fused backward pass and SGD update of one row, one pass over w:            \
 * back[i] += w[i] * d ; w[i] -= step * a[i]   (step = eta * d).               \
 * back may be NULL for the first layer (no input gradient needed). */         \
static inline void cyp_backprop_update_##SFX(T *CYP_RESTRICT w,                \
        T *CYP_RESTRICT back, const T *CYP_RESTRICT a, T d, T step,            \
        Py_ssize_t n)                                                          \
{                                                                              \
    if (back) {                                                                \
        _Pragma("omp simd")                                                    \
        for (Py_ssize_t i = 0; i < n; i++) {                                   \
            T wi = w[i];                                                       \
            back[i] += wi * d;                                                 \
            w[i] = wi - step * a[i];                                           \
        }                                                                      \
    } else {                                                                   \
        _Pragma("omp simd")                                                    \
        for (Py_ssize_t i = 0; i < n; i++) w[i] -= step * a[i];                \
    }                                                                          \
}                                                                              \
/* The same with momentum: v = mu*v - step*a ; w += v. */                      \
static inline void cyp_backprop_momentum_##SFX(T *CYP_RESTRICT w,              \
        T *CYP_RESTRICT v, T *CYP_RESTRICT back, const T *CYP_RESTRICT a,      \
        T d, T step, T mu, Py_ssize_t n)                                       \
{                                                                              \
    if (back) {                                                                \
        _Pragma("omp simd")                                                    \
        for (Py_ssize_t i = 0; i < n; i++) {                                   \
            T wi = w[i];                                                       \
            back[i] += wi * d;                                                 \
            T vi = mu * v[i] - step * a[i];                                    \
            v[i] = vi;                                                         \
            w[i] = wi + vi;                                                    \
        }                                                                      \
    } else {                                                                   \
        _Pragma("omp simd")                                                    \
        for (Py_ssize_t i = 0; i < n; i++) {                                   \
            T vi = mu * v[i] - step * a[i];                                    \
            v[i] = vi;                                                         \
            w[i] += vi;                                                        \
        }                                                                      \
    }                                                                          \
}                                                                              \
/* Backward pass that accumulates the gradient instead of updating:           \
 * back[i] += w[i] * d ; g[i] += d * a[i]. */                                  \
static inline void cyp_backprop_accumulate_##SFX(const T *CYP_RESTRICT w,      \
        T *CYP_RESTRICT g, T *CYP_RESTRICT back, const T *CYP_RESTRICT a,      \
        T d, Py_ssize_t n)                                                     \
{                                                                              \
    if (back) {                                                                \
        _Pragma("omp simd")                                                    \
        for (Py_ssize_t i = 0; i < n; i++) {                                   \
            back[i] += w[i] * d;                                               \
            g[i] += d * a[i];                                                  \
        }                                                                      \
    } else {                                                                   \
        _Pragma("omp simd")                                                    \
        for (Py_ssize_t i = 0; i < n; i++) g[i] += d * a[i];                   \
    }                                                                          \
}                                                                              \
/* Apply an accumulated gradient: v = mu*v - scale*(eta*g) ; w += v ; g = 0.   \
 * With mu == 0 and v == NULL: w += -scale*(eta*g). */                         \
static inline void cyp_apply_gradient_##SFX(T *CYP_RESTRICT w,                 \
        T *CYP_RESTRICT g, T *CYP_RESTRICT v, double eta, double scale,       \
        T mu, Py_ssize_t n)                                                    \
{                                                                              \
    if (v) {                                                                   \
        for (Py_ssize_t i = 0; i < n; i++) {                                   \
            T vi = mu * v[i] + (T)(-scale * (eta * (double)g[i]));             \
            v[i] = vi;                                                         \
            w[i] += vi;                                                        \
            g[i] = 0;                                                          \
        }                                                                      \
    } else {                                                                   \
        for (Py_ssize_t i = 0; i < n; i++) {                                   \
            w[i] += (T)(-scale * (eta * (double)g[i]));                        \
            g[i] = 0;                                                          \
        }                                                                      \
    }                                                                          \
}

CYP_DEFINE_ROW_HELPERS(double, d)
CYP_DEFINE_ROW_HELPERS(float, f)

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

#endif /* CYPROP_SIMD_H */
