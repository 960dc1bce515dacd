/*
 * blocked_openblas.c -- the blocked online SGD scheme of cyprop's
 * online_schedule="blocked", written in plain C on OpenBLAS (CBLAS), as a
 * benchmark contender: the same maths as cyprop's kernel, so the comparison
 * measures cyprop's implementation, not the scheme.
 *
 * One hidden layer, n_in-H-n_out, sigmoid hidden units, softmax output with
 * the cross-entropy loss, biases, plain SGD with learning rate eta, samples
 * visited 0..n-1 in blocks of k.  For a block (rows Xb of X, k x n_in):
 *
 *   P = Xb W0^T (k x H), G = Xb Xb^T (lower triangle)      -- BLAS-3
 *   z_s = P[s] - sum_{r<s} G[s, r] D[r] + b0,  D[r] = eta * delta0_r
 *   (the rest of sample s as online SGD: output layer, deltas, W1, b1, b0)
 *   W0 -= D^T Xb                                          -- one rank-k update
 *
 * Build: cc -O3 -march=native -fPIC -shared blocked_openblas.c -lopenblas -lm
 * Threads: OpenBLAS's own (openblas_set_num_threads), set by the caller.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cblas.h>

#define DEFINE_BLOCKED(T, SUF, GEMM, SYRK, EXP, LOG)                                           \
int blocked_train_##SUF(long n_in, long H, long n_out, T *W0, T *b0, T *W1, T *b1,           \
                        const T *X, const T *Y, long n, long k, double eta,                  \
                        double *epoch_loss)                                                  \
{                                                                                            \
    T *P = malloc(sizeof(T) * k * H), *G = malloc(sizeof(T) * k * k);                        \
    T *D = malloc(sizeof(T) * k * H), *z = malloc(sizeof(T) * H), *a = malloc(sizeof(T) * H);\
    T *o = malloc(sizeof(T) * n_out), *d1 = malloc(sizeof(T) * n_out);                       \
    T *back = malloc(sizeof(T) * H);                                                         \
    double total = 0;                                                                        \
    long s0, s, r, j, i, m;                                                                  \
    if (!P || !G || !D || !z || !a || !o || !d1 || !back) return 1;                          \
    for (s0 = 0; s0 < n; s0 += k) {                                                          \
        const T *Xb = X + s0 * n_in;                                                         \
        m = n - s0 < k ? n - s0 : k;                                                         \
        GEMM(CblasRowMajor, CblasNoTrans, CblasTrans, m, H, n_in, 1, Xb, n_in, W0, n_in,    \
             0, P, H);                                                                       \
        SYRK(CblasRowMajor, CblasLower, CblasNoTrans, m, n_in, 1, Xb, n_in, 0, G, m);        \
        for (s = 0; s < m; s++) {                                                            \
            const T *t = Y + (s0 + s) * n_out;                                               \
            T omax, osum;                                                                    \
            for (j = 0; j < H; j++) z[j] = P[s * H + j];                                     \
            for (r = 0; r < s; r++) {                                                        \
                T g = G[s * m + r];                                                          \
                const T *Dr = D + r * H;                                                     \
                for (j = 0; j < H; j++) z[j] -= g * Dr[j];                                   \
            }                                                                                \
            for (j = 0; j < H; j++) a[j] = 1 / (1 + EXP(-(z[j] + b0[j])));                   \
            omax = -INFINITY;                                                                \
            for (i = 0; i < n_out; i++) {                                                    \
                T acc = b1[i];                                                               \
                const T *w = W1 + i * H;                                                     \
                for (j = 0; j < H; j++) acc += w[j] * a[j];                                  \
                o[i] = acc;                                                                  \
                if (acc > omax) omax = acc;                                                  \
            }                                                                                \
            osum = 0;                                                                        \
            for (i = 0; i < n_out; i++) { o[i] = EXP(o[i] - omax); osum += o[i]; }           \
            for (i = 0; i < n_out; i++) {                                                    \
                o[i] /= osum;                                                                \
                d1[i] = o[i] - t[i];                                                         \
                if (t[i] != 0) total -= t[i] * LOG(o[i]);                                    \
            }                                                                                \
            for (j = 0; j < H; j++) back[j] = 0;                                             \
            for (i = 0; i < n_out; i++) {                                                    \
                T *w = W1 + i * H, d = d1[i], step = (T)eta * d;                             \
                for (j = 0; j < H; j++) { back[j] += w[j] * d; w[j] -= step * a[j]; }        \
                b1[i] -= step;                                                               \
            }                                                                                \
            for (j = 0; j < H; j++) {                                                        \
                T step = (T)eta * (back[j] * (a[j] * (1 - a[j])));                           \
                D[s * H + j] = step;                                                         \
                b0[j] -= step;                                                               \
            }                                                                                \
        }                                                                                    \
        GEMM(CblasRowMajor, CblasTrans, CblasNoTrans, H, n_in, m, -1, D, H, Xb, n_in, 1,    \
             W0, n_in);                                                                      \
    }                                                                                        \
    epoch_loss[0] = total / n;                                                               \
    free(P); free(G); free(D); free(z); free(a); free(o); free(d1); free(back);              \
    return 0;                                                                                \
}

DEFINE_BLOCKED(double, d, cblas_dgemm, cblas_dsyrk, exp, log)
DEFINE_BLOCKED(float, f, cblas_sgemm, cblas_ssyrk, expf, logf)

/* The machine's GEMM rate for the blocked products' shapes: `reps` calls of
 * C (m x n) = A (m x kk) B^T, timed by the caller. */
void gemm_rate_d(long m, long n, long kk, const double *A, const double *B, double *C, long reps)
{
    for (long r = 0; r < reps; r++)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, kk, 1, A, kk, B, kk, 0, C, n);
}

void gemm_rate_f(long m, long n, long kk, const float *A, const float *B, float *C, long reps)
{
    for (long r = 0; r < reps; r++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, kk, 1, A, kk, B, kk, 0, C, n);
}

void set_threads(int n) { openblas_set_num_threads(n); }
