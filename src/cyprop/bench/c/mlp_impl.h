/*
 * mlp_impl.h -- the body of mlp.c, included once per floating type.
 *
 * Before including, mlp.c defines
 *   REAL      the floating type (double or float)
 *   SFX(f)    name mangling: f##_d or f##_f
 *   EXP, LOG1P, TANH   the libm functions for REAL
 *
 * Everything works on cyprop's parameter layout: one flat buffer holding,
 * layer after layer, a row-major weight matrix W_l (n_out x n_in) followed by
 * its bias vector b_l.  Node buffers z (pre-activations) and a (activations)
 * hold every non-input layer back to back.
 */

/* ---- row helpers: the only loops that touch weights ------------------- */

/* sum_i w[i] * a[i]
 *
 * Short rows: one `omp simd` reduction (a single vector accumulator).  Rows
 * of DOT_BLOCKED_MIN elements or more: DOT_LANES independent partial sums
 * (four 256-bit vectors), added pairwise at the end, so the loop is bound
 * by loads rather than by the latency of one chain of additions.  The
 * threshold is where the blocked form starts to win on this kind of CPU
 * (measured: simple faster at 32-128 elements, blocked at 784).
 * -DCB_SIMPLE_DOT: always the simple form.  IEEE arithmetic throughout; only
 * the summation order differs from a serial loop. */
#define DOT_LANES (128 / (long)sizeof(REAL))
#ifndef DOT_BLOCKED_MIN
#define DOT_BLOCKED_MIN 256
#endif
static inline REAL SFX(dot)(const REAL *restrict w, const REAL *restrict a, long n)
{
    REAL s = 0;
    long i = 0;
#ifndef CB_SIMPLE_DOT
    if (n >= DOT_BLOCKED_MIN) {
        REAL acc[DOT_LANES] = {0};
        for (; i + DOT_LANES <= n; i += DOT_LANES) {
#pragma omp simd
            for (long k = 0; k < DOT_LANES; k++) acc[k] += w[i + k] * a[i + k];
        }
        for (long h = DOT_LANES / 2; h >= 1; h /= 2) {
#pragma omp simd
            for (long k = 0; k < h; k++) acc[k] += acc[k + h];
        }
        s = acc[0];
    }
#endif
#pragma omp simd reduction(+ : s)
    for (long k = i; k < n; k++) s += w[k] * a[k];
    return s;
}
#undef DOT_LANES

/* back[i] += w[i] * d */
static inline void SFX(axpy)(REAL *restrict back, const REAL *restrict w, REAL d, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) back[i] += w[i] * d;
}

/* w[i] -= step * a[i] */
static inline void SFX(update)(REAL *restrict w, const REAL *restrict a, REAL step, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) w[i] -= step * a[i];
}

/* fused: back[i] += w[i] * d (old weight), then w[i] -= step * a[i] */
static inline void SFX(axpy_update)(REAL *restrict back, REAL *restrict w,
                                    const REAL *restrict a, REAL d, REAL step, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) {
        REAL wi = w[i];
        back[i] += wi * d;
        w[i] = wi - step * a[i];
    }
}

/* deferred: w[i] -= step * a_old[i], then sum_i w[i] * x[i], in one pass
 * (the dot product's summation order is SFX(dot)'s) */
static inline REAL SFX(update_dot)(REAL *restrict w, const REAL *restrict a_old, REAL step,
                                   const REAL *restrict x, long n)
{
    REAL s = 0;
    long i = 0;
#ifndef CB_SIMPLE_DOT
    if (n >= DOT_BLOCKED_MIN) {
        REAL acc[128 / (long)sizeof(REAL)] = {0};
        const long lanes = 128 / (long)sizeof(REAL);
        for (; i + lanes <= n; i += lanes) {
#pragma omp simd
            for (long k = 0; k < lanes; k++) {
                REAL wk = w[i + k] - step * a_old[i + k];
                w[i + k] = wk;
                acc[k] += wk * x[i + k];
            }
        }
        for (long h = lanes / 2; h >= 1; h /= 2) {
#pragma omp simd
            for (long k = 0; k < h; k++) acc[k] += acc[k + h];
        }
        s = acc[0];
    }
#endif
#pragma omp simd reduction(+ : s)
    for (long k = i; k < n; k++) {
        REAL wk = w[k] - step * a_old[k];
        w[k] = wk;
        s += wk * x[k];
    }
    return s;
}

/* g[i] += d * a[i] */
static inline void SFX(accumulate)(REAL *restrict g, const REAL *restrict a, REAL d, long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) g[i] += d * a[i];
}

/* fused: back[i] += w[i] * d ; g[i] += d * a[i] */
static inline void SFX(axpy_accumulate)(REAL *restrict back, const REAL *restrict w,
                                        REAL *restrict g, const REAL *restrict a, REAL d,
                                        long n)
{
#pragma omp simd
    for (long i = 0; i < n; i++) {
        back[i] += w[i] * d;
        g[i] += d * a[i];
    }
}

/* ---- activations -------------------------------------------------------- */

/* Writes a = act(z); for softmax returns log(sum exp z) (for the loss). */
static inline REAL SFX(activate)(int act, const REAL *z, REAL *a, long n)
{
    long j;
    switch (act) {
    case ACT_SIGMOID:
        for (j = 0; j < n; j++) a[j] = 1 / (1 + EXP(-z[j]));
        break;
    case ACT_TANH:
        for (j = 0; j < n; j++) a[j] = TANH(z[j]);
        break;
    case ACT_RELU:
        for (j = 0; j < n; j++) a[j] = z[j] > 0 ? z[j] : 0;
        break;
    case ACT_RBF:
        for (j = 0; j < n; j++) a[j] = EXP(-z[j] * z[j]);
        break;
    case ACT_SOFTMAX: {
        REAL zmax = z[0], total = 0;
        for (j = 1; j < n; j++)
            if (z[j] > zmax) zmax = z[j];
        for (j = 0; j < n; j++) {
            a[j] = EXP(z[j] - zmax);
            total += a[j];
        }
        for (j = 0; j < n; j++) a[j] = a[j] / total;
        return zmax + (REAL)log((double)total);
    }
    default: /* identity */
        for (j = 0; j < n; j++) a[j] = z[j];
    }
    return 0;
}

/* da/dz, from z and a */
static inline REAL SFX(derivative)(int act, REAL z, REAL a)
{
    switch (act) {
    case ACT_SIGMOID: return a * (1 - a);
    case ACT_TANH: return 1 - a * a;
    case ACT_RELU: return z > 0 ? 1 : 0;
    case ACT_RBF: return -2 * z * a;
    default: return 1;
    }
}

static inline double SFX(softplus)(double v)
{
    return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

/* ---- one sample ---------------------------------------------------------- */

typedef struct {
    long n_layers;
    const long *sizes;          /* n_layers + 1 */
    const int *acts;            /* n_layers */
    long w_off[MLP_MAX_LAYERS], b_off[MLP_MAX_LAYERS], n_off[MLP_MAX_LAYERS];
    long n_nodes, widest;
} SFX(net_t);

static void SFX(layout)(SFX(net_t) *net, long n_layers, const long *sizes, const int *acts)
{
    long off = 0, nodes = 0, widest = 0;
    net->n_layers = n_layers;
    net->sizes = sizes;
    net->acts = acts;
    for (long l = 0; l < n_layers; l++) {
        net->w_off[l] = off;
        off += sizes[l] * sizes[l + 1];
        net->b_off[l] = off;
        off += sizes[l + 1];
        net->n_off[l] = nodes;
        nodes += sizes[l + 1];
    }
    for (long l = 0; l <= n_layers; l++)
        if (sizes[l] > widest) widest = sizes[l];
    net->n_nodes = nodes;
    net->widest = widest;
}

/* Forward pass; returns log-sum-exp of the output layer when it is softmax.
 * With pend_x != NULL (the "deferred" flavour), first-layer row j is first
 * updated by w -= pend[j] * pend_x, in the same pass as its dot product. */
static inline REAL SFX(forward)(const SFX(net_t) *net, REAL *p, const REAL *x,
                                REAL *z, REAL *a, const REAL *pend, const REAL *pend_x)
{
    const REAL *in = x;
    REAL lse = 0;
    for (long l = 0; l < net->n_layers; l++) {
        long n_in = net->sizes[l], n_out = net->sizes[l + 1];
        REAL *W = p + net->w_off[l], *b = p + net->b_off[l];
        REAL *zl = z + net->n_off[l], *al = a + net->n_off[l];
        if (l == 0 && pend_x != NULL)
            for (long j = 0; j < n_out; j++)
                zl[j] = SFX(update_dot)(W + j * n_in, pend_x, pend[j], in, n_in) + b[j];
        else
            for (long j = 0; j < n_out; j++) zl[j] = SFX(dot)(W + j * n_in, in, n_in) + b[j];
        lse = SFX(activate)(net->acts[l], zl, al, n_out);
        in = al;
    }
    return lse;
}

/* Output delta into `delta`; returns the sample's loss. */
static inline double SFX(output_delta)(const SFX(net_t) *net, int loss, const REAL *z,
                                       const REAL *a, const REAL *t, REAL lse, REAL *delta)
{
    long L = net->n_layers - 1, n = net->sizes[net->n_layers];
    int act = net->acts[L];
    const REAL *zo = z + net->n_off[L], *ao = a + net->n_off[L];
    double total = 0;
    if (loss == LOSS_SQUARED_ERROR) {
        for (long k = 0; k < n; k++) {
            REAL e = ao[k] - t[k];
            total += (double)e * e;
            delta[k] = e * SFX(derivative)(act, zo[k], ao[k]);
        }
        return 0.5 * total;
    }
    for (long k = 0; k < n; k++) delta[k] = ao[k] - t[k];
    if (act == ACT_SOFTMAX) {
        for (long k = 0; k < n; k++) total += (double)t[k] * ((double)lse - zo[k]);
    } else {
        for (long k = 0; k < n; k++) total += SFX(softplus)(zo[k]) - (double)t[k] * zo[k];
    }
    return total;
}

/*
 * Backward pass for one sample.  `deltas` holds one delta vector per
 * non-input layer (offsets n_off); the output layer's is already there.
 *
 * fused == 0 ("per-sample"): the textbook order.  First the whole backward
 *   pass, W_l^T delta_l for every layer (one pass over each W_l, l > 0),
 *   then the updates (a second pass over every W_l).
 * fused == 1: each layer's backward product is fused into its update, one
 *   pass over W_l computes W_l^T delta_l with the old weights and updates W_l.
 * fused == 2 ("deferred", online only): as 1, but the first layer's steps
 *   eta * delta_j go to `pend` and its update is left to the next forward
 *   pass (SFX(update_dot)), or to the end of the epoch.
 *
 * grad == NULL: SGD update with learning rate eta.  Otherwise the gradient is
 * added to grad and the weights are untouched.
 */
static inline void SFX(backward)(const SFX(net_t) *net, int fused, REAL *p, REAL *grad,
                                 const REAL *x, const REAL *z, const REAL *a, REAL *deltas,
                                 REAL *back, REAL eta, int train_bias, REAL *pend)
{
    long L = net->n_layers;
    if (!fused) {
        for (long l = L - 1; l > 0; l--) {
            long n_in = net->sizes[l], n_out = net->sizes[l + 1];
            const REAL *W = p + net->w_off[l];
            const REAL *d = deltas + net->n_off[l];
            REAL *dprev = deltas + net->n_off[l - 1];
            memset(back, 0, n_in * sizeof(REAL));
            for (long j = 0; j < n_out; j++) SFX(axpy)(back, W + j * n_in, d[j], n_in);
            for (long i = 0; i < n_in; i++)
                dprev[i] = back[i] * SFX(derivative)(net->acts[l - 1],
                                                     z[net->n_off[l - 1] + i],
                                                     a[net->n_off[l - 1] + i]);
        }
        for (long l = L - 1; l >= 0; l--) {
            long n_in = net->sizes[l], n_out = net->sizes[l + 1];
            REAL *W = p + net->w_off[l], *b = p + net->b_off[l];
            const REAL *d = deltas + net->n_off[l];
            const REAL *in = l == 0 ? x : a + net->n_off[l - 1];
            if (grad == NULL) {
                for (long j = 0; j < n_out; j++) {
                    REAL step = eta * d[j];
                    SFX(update)(W + j * n_in, in, step, n_in);
                    if (train_bias) b[j] -= step;
                }
            } else {
                REAL *G = grad + net->w_off[l], *gb = grad + net->b_off[l];
                for (long j = 0; j < n_out; j++) {
                    SFX(accumulate)(G + j * n_in, in, d[j], n_in);
                    if (train_bias) gb[j] += d[j];
                }
            }
        }
        return;
    }
    for (long l = L - 1; l >= 0; l--) {
        long n_in = net->sizes[l], n_out = net->sizes[l + 1];
        REAL *W = p + net->w_off[l], *b = p + net->b_off[l];
        const REAL *d = deltas + net->n_off[l];
        const REAL *in = l == 0 ? x : a + net->n_off[l - 1];
        if (l > 0) memset(back, 0, n_in * sizeof(REAL));
        if (l == 0 && pend != NULL) {
            for (long j = 0; j < n_out; j++) {
                pend[j] = eta * d[j];
                if (train_bias) b[j] -= pend[j];
            }
        } else if (grad == NULL) {
            for (long j = 0; j < n_out; j++) {
                REAL step = eta * d[j];
                if (l > 0)
                    SFX(axpy_update)(back, W + j * n_in, in, d[j], step, n_in);
                else
                    SFX(update)(W + j * n_in, in, step, n_in);
                if (train_bias) b[j] -= step;
            }
        } else {
            REAL *G = grad + net->w_off[l], *gb = grad + net->b_off[l];
            for (long j = 0; j < n_out; j++) {
                if (l > 0)
                    SFX(axpy_accumulate)(back, W + j * n_in, G + j * n_in, in, d[j], n_in);
                else
                    SFX(accumulate)(G + j * n_in, in, d[j], n_in);
                if (train_bias) gb[j] += d[j];
            }
        }
        if (l > 0) {
            REAL *dprev = deltas + net->n_off[l - 1];
            for (long i = 0; i < n_in; i++)
                dprev[i] = back[i] * SFX(derivative)(net->acts[l - 1], z[net->n_off[l - 1] + i],
                                                     a[net->n_off[l - 1] + i]);
        }
    }
}

/* ---- public entry point -------------------------------------------------- */

/*
 * Train in place.  Samples are visited in the order 0..n_samples-1 every
 * epoch.  batch == 0: online SGD (update after every sample).  batch > 0:
 * per-sample gradients summed over `batch` consecutive samples, then
 * w += -(1/n_b) * (eta * G), as cyprop's batch and mini-batch modes do.
 * epoch_loss[e] receives the mean over the epoch's samples of each sample's
 * loss from its forward pass.  Returns 0, or -1 when out of memory.
 */
int SFX(mlp_train)(long n_layers, const long *sizes, const int *acts, int loss, long batch,
                   int fused, int train_bias, REAL *params, const REAL *X, const REAL *Y,
                   long n_samples, long epochs, double eta, double *epoch_loss)
{
    SFX(net_t) net;
    if (n_layers < 1 || n_layers > MLP_MAX_LAYERS) return -2;
    SFX(layout)(&net, n_layers, sizes, acts);
    long n_params = net.b_off[n_layers - 1] + sizes[n_layers];
    long n_in = sizes[0], n_out = sizes[n_layers];
    REAL *work = calloc(3 * net.n_nodes + 2 * net.widest, sizeof(REAL));
    REAL *grad = batch > 0 ? calloc(n_params, sizeof(REAL)) : NULL;
    if (work == NULL || (batch > 0 && grad == NULL)) {
        free(work);
        free(grad);
        return -1;
    }
    REAL *z = work, *a = z + net.n_nodes, *deltas = a + net.n_nodes, *back = deltas + net.n_nodes;
    REAL *out_delta = deltas + net.n_off[n_layers - 1];
    REAL reta = (REAL)eta;
    REAL *pend = (fused == 2 && batch == 0) ? back + net.widest : NULL;
    const REAL *pend_x = NULL;

    for (long e = 0; e < epochs; e++) {
        double total = 0;
        long in_batch = 0;
        for (long s = 0; s < n_samples; s++) {
            const REAL *x = X + s * n_in, *t = Y + s * n_out;
            REAL lse = SFX(forward)(&net, params, x, z, a, pend, pend_x);
            total += SFX(output_delta)(&net, loss, z, a, t, lse, out_delta);
            SFX(backward)(&net, fused, params, grad, x, z, a, deltas, back, reta, train_bias,
                          pend);
            if (pend != NULL) pend_x = x;
            if (grad != NULL && (++in_batch == batch || s == n_samples - 1)) {
                double scale = 1.0 / in_batch;
                for (long i = 0; i < n_params; i++) {
                    params[i] += (REAL)(-scale * (eta * (double)grad[i]));
                    grad[i] = 0;
                }
                in_batch = 0;
            }
        }
        if (pend_x != NULL) {   /* the epoch's last deferred update */
            for (long j = 0; j < sizes[1]; j++)
                SFX(update)(params + net.w_off[0] + j * n_in, pend_x, pend[j], n_in);
            pend_x = NULL;
        }
        epoch_loss[e] = total / n_samples;
    }
    free(work);
    free(grad);
    return 0;
}

/* Mean loss over the samples (forward passes only). */
double SFX(mlp_loss)(long n_layers, const long *sizes, const int *acts, int loss,
                     const REAL *params, const REAL *X, const REAL *Y, long n_samples)
{
    SFX(net_t) net;
    if (n_layers < 1 || n_layers > MLP_MAX_LAYERS) return NAN;
    SFX(layout)(&net, n_layers, sizes, acts);
    REAL *work = calloc(3 * net.n_nodes + net.widest, sizeof(REAL));
    if (work == NULL) return NAN;
    REAL *z = work, *a = z + net.n_nodes, *deltas = a + net.n_nodes;
    double total = 0;
    for (long s = 0; s < n_samples; s++) {
        REAL lse = SFX(forward)(&net, (REAL *)params, X + s * sizes[0], z, a, NULL, NULL);
        total += SFX(output_delta)(&net, loss, z, a, Y + s * sizes[n_layers], lse,
                                   deltas + net.n_off[n_layers - 1]);
    }
    free(work);
    return total / n_samples;
}
