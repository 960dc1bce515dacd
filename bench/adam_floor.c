/*
 * The floor of one Adam step, measured in plain C (issue 12): the update
 * alone, per parameter, with the gradient given, as scikit-learn writes it
 * (m, v, then w -= lr m / (sqrt(v) + eps)), against the square root and
 * division alone and a plain SGD step, in float64 and float32.
 *
 *   cc -O3 -march=native -fno-math-errno bench/adam_floor.c -o adam_floor -lm
 *   ./adam_floor 7510 1347      # digits 64-100-10: its parameters, one epoch of samples
 *   ./adam_floor 101770 2000    # 784-128-10
 *
 * Per-sample Adam cannot take less than n_params x n_samples x this time per
 * epoch with exact IEEE square roots and divisions (results in
 * bench/results/adam_ratio.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
/* Each step is a pass of its own: without the barrier GCC 12 fused pairs of
 * steps into one pass ("unroll and jam"), and computed the square roots of
 * the unchanging v once for two divisions, which halved their cost. */
#define BARRIER __asm__ volatile("" ::: "memory")
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
#define STEP(T, SQRT) \
static void step_##T(T *restrict w, T *restrict m, T *restrict v, const T *restrict g, long n, T lr) { \
    for (long i = 0; i < n; i++) { \
        T mk = (T)0.9 * m[i] + (T)0.1 * g[i]; \
        T vk = (T)0.999 * v[i] + (T)0.001 * (g[i] * g[i]); \
        m[i] = mk; v[i] = vk; \
        w[i] -= lr * mk / (SQRT(vk) + (T)1e-8); \
    } } \
static void divonly_##T(T *restrict w, const T *restrict v, long n) { \
    for (long i = 0; i < n; i++) w[i] = w[i] / (SQRT(v[i]) + (T)1e-8); } \
static void sgd_##T(T *restrict w, const T *restrict g, long n, T lr) { \
    for (long i = 0; i < n; i++) w[i] -= lr * g[i]; }
STEP(double, sqrt)
STEP(float, sqrtf)
#define RUN(T) { \
    T *w = aligned_alloc(64, n * sizeof(T)), *m = aligned_alloc(64, n * sizeof(T)), *v = aligned_alloc(64, n * sizeof(T)), *g = aligned_alloc(64, n * sizeof(T)); \
    for (long i = 0; i < n; i++) { w[i] = 0.1; m[i] = 0; v[i] = 0.01; g[i] = 1e-3 * (i % 7); } \
    double best = 1e9, bd = 1e9, bs = 1e9; \
    for (int r = 0; r < 7; r++) { double t = now(); for (long k = 0; k < reps; k++) { step_##T(w, m, v, g, n, (T)1e-3); BARRIER; } t = now() - t; if (t < best) best = t; \
      t = now(); for (long k = 0; k < reps; k++) { divonly_##T(w, v, n); BARRIER; } t = now() - t; if (t < bd) bd = t; \
      t = now(); for (long k = 0; k < reps; k++) { sgd_##T(w, g, n, (T)1e-3); BARRIER; } t = now() - t; if (t < bs) bs = t; } \
    printf("%-6s n=%ld: adam step %.3f ns/param, sqrt+div only %.3f ns/param, sgd %.3f ns/param (x%ld steps: adam %.2f ms)\n", #T, n, 1e9 * best / (reps * n), 1e9 * bd / (reps * n), 1e9 * bs / (reps * n), reps, 1e3 * best); }
int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 7510, reps = argc > 2 ? atol(argv[2]) : 1797;
    RUN(double) RUN(float)
    return 0;
}
