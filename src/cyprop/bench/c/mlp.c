/*
 * mlp.c -- plain-C backpropagation for fully-connected networks, the
 * benchmark's hardware-limit proxy.
 *
 * The same maths as cyprop's kernels (per-sample forward pass, output delta,
 * backward pass, in-place update; one update per sample online, or summed
 * per-sample gradients and w += -(1/n) * (eta * G) per batch), written the
 * way a C programmer would write it with layer sizes known only at run time.
 * Two flavours of the backward pass, chosen by the `fused` argument:
 *
 *   per-sample (fused = 0)  all deltas first (one pass over each W_l, l > 0,
 *                           for W_l^T delta), then all updates (a second pass);
 *   fused (fused = 1)       W_l^T delta_l and the update of W_l in one pass;
 *   deferred (fused = 2)    as fused, and the first layer's update is applied
 *                           in the next sample's forward pass (one pass over
 *                           W_0 per sample instead of two; online SGD only),
 *                           the scheme cyprop's online kernel uses.
 *
 * Compiled by bench/cbuild.py at benchmark time, once with `-O3` and once
 * with `-O3 -march=native` (both with -fopenmp-simd so that the
 * `omp simd reduction` in the dot product may vectorise; no -ffast-math),
 * into a shared library that the benchmark calls through ctypes.
 * Both float64 (suffix _d) and float32 (suffix _f) entry points.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MLP_MAX_LAYERS 16

enum { ACT_IDENTITY = 0, ACT_SIGMOID = 1, ACT_TANH = 2, ACT_RELU = 3, ACT_RBF = 5, ACT_SOFTMAX = 6 };
enum { LOSS_SQUARED_ERROR = 0, LOSS_CROSS_ENTROPY = 1 };

#define REAL double
#define SFX(f) f##_d
#define EXP exp
#define TANH tanh
#include "mlp_impl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH

#define REAL float
#define SFX(f) f##_f
#define EXP expf
#define TANH tanhf
#include "mlp_impl.h"
#undef REAL
#undef SFX
#undef EXP
#undef TANH
