/*
 * membw.c -- how long the weights' memory traffic alone takes.
 *
 * One online SGD step of a fully-connected layer must at least read W once
 * (forward pass, W x) and read and write it once more (the update
 * W -= step a^T, into which the backward product is fused).  These two
 * passes, with no arithmetic worth the name, on a buffer of the same size
 * as the network's weights, are the traffic floor the benchmark compares
 * every contender with.  (A kernel that defers the first layer's update into
 * the next sample's forward pass, as cyprop does, needs one read-modify-write
 * pass over that layer instead of two passes, and can beat this floor.)  Both use several independent accumulators / plain
 * streaming stores so the compiler can vectorise them (-O3 -march=native).
 */
#include <stddef.h>

double membw_read(const double *w, long n)
{
    double acc[16] = {0}, s = 0;
    long i = 0;
    for (; i + 16 <= n; i += 16) {
#pragma omp simd
        for (long k = 0; k < 16; k++) acc[k] += w[i + k];
    }
    for (; i < n; i++) s += w[i];
    for (long k = 0; k < 16; k++) s += acc[k];
    return s;
}

void membw_update(double *w, long n, double c)
{
#pragma omp simd
    for (long i = 0; i < n; i++) w[i] = w[i] * c;
}

/* repeats x (read pass + read-write pass) over n doubles */
double membw_run(double *w, long n, long repeats)
{
    double s = 0;
    for (long r = 0; r < repeats; r++) {
        s += membw_read(w, n);
        membw_update(w, n, 1.0000000001);
    }
    return s;
}
