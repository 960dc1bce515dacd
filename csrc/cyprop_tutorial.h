/*
 * cyprop_tutorial.h -- the C loops of the tutorial kernels
 * (src/cyprop/_kernels/tutorial_kernels.pxi), header-only.
 */
#ifndef CYPROP_TUTORIAL_H
#define CYPROP_TUTORIAL_H

#include <math.h>

#include "cyprop_simd.h"

/* x ** y as Python computes it: a real call to pow.  The exponent goes
   through a volatile so the compiler cannot fold pow(x, 2.0) into x*x --
   glibc's pow is not always correctly rounded, so the two can differ in
   the last bit, and the tutorial's printed minimum depends on it. */
static double cyp_python_pow(double x, double y)
{
    volatile double y_ = y;
    return pow(x, y_);
}

/* The RBF network's pieces with the branch-free exp and log of
   csrc/cyprop_simd.h (within 2 ulp of libm), so each loop over the
   samples is one vectorised pass. */
static double cyp_rbf_surface_loss(const double *x, const double *t, Py_ssize_t n,
                                   double wh, double bo)
{
    /* mean cross-entropy at (wh, bo) */
    double total = 0.0;
    #pragma omp simd reduction(+:total)
    for (Py_ssize_t i = 0; i < n; i++) {
        double zh = x[i] * wh;
        double y = 1.0 / (1.0 + cyp_exp_d(-(cyp_exp_d(-zh * zh) + bo)));
        total += t[i] * cyp_log_d(y) + (1.0 - t[i]) * cyp_log_d(1.0 - y);
    }
    return -(total / n);
}
/* One full-batch step: sums over the samples of the tutorial's per-sample
   updates wh - lr * dL/dwh and bo - lr * dL/dbo (forward pass, then
   delta_o = y - t and delta_h = delta_o * dh/dzh, per sample). */
static void cyp_rbf_step_sums(const double *x, const double *t, Py_ssize_t n,
                              double wh, double bo, double lr,
                              double *sum_wh, double *sum_bo)
{
    double s_wh = 0.0, s_bo = 0.0;
    #pragma omp simd reduction(+:s_wh, s_bo)
    for (Py_ssize_t i = 0; i < n; i++) {
        double zh = x[i] * wh;
        double h = cyp_exp_d(-zh * zh);
        double y = 1.0 / (1.0 + cyp_exp_d(-(h + bo)));
        double delta_o = y - t[i];
        s_wh += wh - lr * (x[i] * -2.0 * zh * h * delta_o);
        s_bo += bo - lr * delta_o;
    }
    *sum_wh = s_wh;
    *sum_bo = s_bo;
}

#endif /* CYPROP_TUTORIAL_H */
