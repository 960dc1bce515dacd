/*
 * cyprop_simd_impl.h -- the row loops of the network kernels for one type.
 *
 * A template: cyprop_simd.h includes it twice, once with T = double (suffix
 * _d) and once with T = float (suffix _f); CYP_FN(name) appends the suffix.
 * Not to be included anywhere else.
 */
#if !defined(T) || !defined(CYP_FN) || !defined(CYP_T_IS_DOUBLE)
#error "cyprop_simd_impl.h is included by cyprop_simd.h only"
#endif

/* a[i] = 1 / (1 + exp(-z[i])) */
static inline void CYP_FN(cyp_sigmoid)(const T *CYP_RESTRICT z, T *CYP_RESTRICT a,
                                     Py_ssize_t n)
{
    CYP_SMALL_OR_SIMD(n, a[i] = (T)1 / ((T)1 + CYP_FN(cyp_exp)(-z[i])))
}
/* a[i] = exp(-z[i]^2) */
static inline void CYP_FN(cyp_rbf)(const T *CYP_RESTRICT z, T *CYP_RESTRICT a,
                                 Py_ssize_t n)
{
    CYP_SMALL_OR_SIMD(n, a[i] = CYP_FN(cyp_exp)(-z[i] * z[i]))
}

/* Output layer of a sample block, [unit][lane] layout, n = units * lanes:
 * delta = a - t (cross-entropy with sigmoid outputs); returns the summed
 * loss (1 - t) z - log a, or -t z where a underflowed to 0 (z < -745),
 * over the lanes that hold samples (mask[i] = 1).  */
static inline double CYP_FN(cyp_sigmoid_xent)(const T *CYP_RESTRICT z,
        const T *CYP_RESTRICT a, const T *CYP_RESTRICT t, const T *CYP_RESTRICT mask,
        T *CYP_RESTRICT delta, Py_ssize_t n)
{
    double total = 0;
    CYP_OMP_SIMD_SUM(total)
    for (Py_ssize_t i = 0; i < n; i++) {
        double ai = a[i], ti = t[i], zi = z[i];
        double li = ai > 0 ? (1 - ti) * zi - cyp_log_d(ai) : -ti * zi;
        delta[i] = (a[i] - t[i]) * mask[i];
        total += li * mask[i];
    }
    return total;
}
/* The same for squared error: e = a - t, returns sum(e^2) / 2 over the
 * masked lanes; delta = e (times f'(z), applied by the caller). */
static inline double CYP_FN(cyp_squared_error)(const T *CYP_RESTRICT a,
        const T *CYP_RESTRICT t, const T *CYP_RESTRICT mask,
        T *CYP_RESTRICT err, Py_ssize_t n)
{
    double total = 0;
    CYP_OMP_SIMD_SUM(total)
    for (Py_ssize_t i = 0; i < n; i++) {
        double e = ((double)a[i] - (double)t[i]) * mask[i];
        err[i] = (T)e;
        total += e * e;
    }
    return 0.5 * total;
}
/* The same with per-lane sample weights in mask (0 for empty lanes):
 * err = (a - t) * mask, returns sum(mask * (a - t)^2) / 2. */
static inline double CYP_FN(cyp_squared_error_weighted)(const T *CYP_RESTRICT a,
        const T *CYP_RESTRICT t, const T *CYP_RESTRICT mask,
        T *CYP_RESTRICT err, Py_ssize_t n)
{
    double total = 0;
    CYP_OMP_SIMD_SUM(total)
    for (Py_ssize_t i = 0; i < n; i++) {
        double e = (double)a[i] - (double)t[i];
        err[i] = (T)(e * mask[i]);
        total += e * e * mask[i];
    }
    return 0.5 * total;
}
/* The AVX-512 build's long-row dot (cyp_dot and cyp_deferred_dot_opt, which
 * must sum alike): every product goes into one of CYP_DOT_LANES(T) partial
 * sums (the tail's too), which are then added as a halving tree, upper half
 * onto lower half (zmm, ymm, xmm, scalars).  The other builds add their
 * partial sums and the tail with `omp simd reduction`, which GCC compiles
 * for AVX-512 as a serial chain of 16 scalar adds through the stack per
 * row: measured, that made the AVX-512 build 1.5x slower than the AVX2 one
 * on 64-wide float rows (digits).  The baseline and AVX2 builds keep the
 * order they were checked with.  Both share the chunk loop
 * (cyp_dot_chunks, cyp_deferred_chunks); the rest stays apart on purpose:
 * declaring the partial sums for every row length in the other builds too
 * left the weights unchanged but made the AVX2 build 1.4x (float64) to 1.7x
 * (float32) slower on digits (measured; likely GCC's AVX2 build zeroing the
 * 128-byte array with `rep stos` per row, as it did for the squares' lanes:
 * see cyp_square_chunk). */
#if defined(__AVX512F__)
#define CYP_TREE_DOT 1
#else
#define CYP_TREE_DOT 0
#endif
#if CYP_TREE_DOT
static inline T CYP_FN(cyp_sum_lanes)(T *CYP_RESTRICT acc)
{
    /* constant trip counts, so that each step is one vector add */
    if (CYP_DOT_LANES(T) >= 32) { CYP_HALVE(acc, 16) }
    CYP_HALVE(acc, 8)
    CYP_HALVE(acc, 4)
    CYP_HALVE(acc, 2)
    CYP_HALVE(acc, 1)
    return acc[0];
}
#endif

/* a[i] = exp(z[i] - shift); returns the sum */
static inline T CYP_FN(cyp_exp_shifted)(const T *CYP_RESTRICT z, T *CYP_RESTRICT a,
                                      T shift, Py_ssize_t n)
{
#if CYP_TREE_DOT
    /* AVX-512: GCC left the fused loop below scalar there, its lanes summed
     * through the stack; the exps in one vector loop, the sum in lanes and a
     * halving tree (as cyp_dot) */
    T acc[CYP_DOT_LANES(T)] = {0};
    Py_ssize_t i = 0;
    CYP_OMP_SIMD
    for (Py_ssize_t k = 0; k < n; k++) a[k] = CYP_FN(cyp_exp)(z[k] - shift);
    for (; i + CYP_DOT_LANES(T) <= n; i += CYP_DOT_LANES(T)) {
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < CYP_DOT_LANES(T); k++) acc[k] += a[i + k];
    }
    for (Py_ssize_t k = 0; k < n - i; k++) acc[k] += a[i + k];
    return CYP_FN(cyp_sum_lanes)(acc);
#else
    T s = 0;
    CYP_OMP_SIMD_SUM(s)
    for (Py_ssize_t i = 0; i < n; i++) { a[i] = CYP_FN(cyp_exp)(z[i] - shift); s += a[i]; }
    return s;
#endif
}

/* acc[k] += w[i + k] * a[i + k] over the whole chunks of CYP_DOT_LANES(T)
 * values from i = 0; returns where they end (cyp_dot's long-row loop, in
 * every build). */
CYP_ALWAYS_INLINE Py_ssize_t CYP_FN(cyp_dot_chunks)(const T *CYP_RESTRICT w,
        const T *CYP_RESTRICT a, Py_ssize_t n, T *CYP_RESTRICT acc)
{
    Py_ssize_t i = 0;
    for (; i + CYP_DOT_LANES(T) <= n; i += CYP_DOT_LANES(T)) {
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < CYP_DOT_LANES(T); k++)
            acc[k] += w[i + k] * a[i + k];
    }
    return i;
}

/* sum_i w[i] * a[i] */
static inline T CYP_FN(cyp_dot)(const T *CYP_RESTRICT w, const T *CYP_RESTRICT a,
                              Py_ssize_t n)
{
    T s = 0;
    if (n <= 4) {   /* tiny rows: straight-line code, same summation order */
        switch (n) {
        case 4: return ((w[0] * a[0] + w[1] * a[1]) + w[2] * a[2]) + w[3] * a[3];
        case 3: return (w[0] * a[0] + w[1] * a[1]) + w[2] * a[2];
        case 2: return w[0] * a[0] + w[1] * a[1];
        case 1: return w[0] * a[0];
        default: return 0;
        }
    }
    if (n == 8) {  /* one block of lanes (n <= 4 returned above) */
        T acc[8] = {0};
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < 8; k++) acc[k] = k < n ? w[k] * a[k] : 0;
        return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    }
    Py_ssize_t i = 0;
#if CYP_TREE_DOT
    {
        T acc[CYP_DOT_LANES(T)] = {0};
        i = CYP_FN(cyp_dot_chunks)(w, a, n, acc);
        for (Py_ssize_t k = 0; k < n - i; k++) acc[k] += w[i + k] * a[i + k];
        (void)s;
        return CYP_FN(cyp_sum_lanes)(acc);
    }
#endif
    if (n >= CYP_DOT_LANES(T)) {
        /* long rows: four vectors of independent partial sums, so the
         * additions are not one serial chain; one vector sum at the end */
        T acc[CYP_DOT_LANES(T)] = {0};
        i = CYP_FN(cyp_dot_chunks)(w, a, n, acc);
        CYP_OMP_SIMD_SUM(s)
        for (Py_ssize_t k = 0; k < CYP_DOT_LANES(T); k++) s += acc[k];
    }
    CYP_OMP_SIMD_SUM(s)
    for (Py_ssize_t k = i; k < n; k++) s += w[k] * a[k];
    return s;
}

/* ---------------------------------------------------------------------------
 * The constants of one update (by value: the row loops see scalars).  mu is
 * the momentum; the rest is Adam's: lr = eta * sqrt(1 - beta_2^t) / (1 -
 * beta_1^t) of this update (computed in double by the caller, rounded to T),
 * and its state sits in the caller's v: m[k] = v[k], s[k] = v[k + stride]
 * (stride = the number of parameters, so a row's offset serves both). */
typedef struct {
    T mu;
    T lr, beta_1, one_minus_beta_1, beta_2, one_minus_beta_2, eps;
    Py_ssize_t stride;
} CYP_FN(cyp_hyper);

#if CYP_T_IS_DOUBLE
#define CYP_SQRT_ sqrt
#else
#define CYP_SQRT_ sqrtf
#endif

/* The update rules.  One parameter w[k] moves by the step u = g1 * g2 (the
 * learning rate times the gradient, as the caller's factors; for Adam the
 * gradient itself, g = g1 * g2, the caller's eta being 1):
 *   CYP_OPT_SGD       w[k] -= u
 *   CYP_OPT_MOMENTUM  v[k] = mu * v[k] - u ; w[k] += v[k]
 *   CYP_OPT_NESTEROV  v[k] = mu * v[k] - u ; w[k] += mu * v[k] - u
 *                     (scikit-learn's form of Nesterov momentum)
 *   CYP_OPT_ADAM      m = beta_1 m + (1 - beta_1) g ; s = beta_2 s + (1 - beta_2) g^2 ;
 *                     w[k] -= lr * m / (sqrt(s) + eps)
 *                     (Kingma & Ba, scikit-learn's form; see cyp_hyper)
 * Every mode calls this one function (the fused online backward pass, the
 * deferred first-layer update, the batch/minibatch apply, the biases), so
 * every mode computes the same expression: a new optimizer is one more case
 * here.  The product is formed here, after mu * v[k], so that a compiler
 * that contracts a*b+c into an FMA contracts the same product everywhere.
 * `opt` is a constant wherever a row loop calls it (see CYP_FOR_EACH_OPT). */
CYP_ALWAYS_INLINE void CYP_FN(cyp_rule)(int opt, T *CYP_RESTRICT w, T *CYP_RESTRICT v,
                                        Py_ssize_t k, T g1, T g2, CYP_FN(cyp_hyper) h)
{
    if (opt == CYP_OPT_MOMENTUM) {
        T vk = h.mu * v[k] - g1 * g2;
        v[k] = vk;
        w[k] += vk;
    } else if (opt == CYP_OPT_NESTEROV) {
        T u = g1 * g2;
        T vk = h.mu * v[k] - u;
        v[k] = vk;
        w[k] += h.mu * vk - u;
    } else if (opt == CYP_OPT_ADAM) {
        T g = g1 * g2;
        T mk = h.beta_1 * v[k] + h.one_minus_beta_1 * g;
        T sk = h.beta_2 * v[k + h.stride] + h.one_minus_beta_2 * (g * g);
        v[k] = mk;
        v[k + h.stride] = sk;
        w[k] -= h.lr * mk / (CYP_SQRT_(sk) + h.eps);
    } else {
        w[k] -= g1 * g2;
    }
}

/* The rule with the L2 term, for the online step of one sample: the step
 * is u = g1 * g2 + lam * w[k] (lam = eta * l2, w[k] as before the step),
 * then each optimizer's case as in cyp_rule.  Branch-free for a constant
 * `opt`, so the row loop calling it vectorises like the plain rule's. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_rule_l2)(int opt, T *CYP_RESTRICT w, T *CYP_RESTRICT v,
                                           Py_ssize_t k, T g1, T g2, T lam,
                                           CYP_FN(cyp_hyper) h)
{
    T wk = w[k];
    T u = g1 * g2 + lam * wk;
    if (opt == CYP_OPT_MOMENTUM) {
        T vk = h.mu * v[k] - u;
        v[k] = vk;
        w[k] = wk + vk;
    } else if (opt == CYP_OPT_NESTEROV) {
        T vk = h.mu * v[k] - u;
        v[k] = vk;
        w[k] = wk + (h.mu * vk - u);
    } else if (opt == CYP_OPT_ADAM) {   /* u is the gradient (the caller's eta is 1) */
        T mk = h.beta_1 * v[k] + h.one_minus_beta_1 * u;
        T sk = h.beta_2 * v[k + h.stride] + h.one_minus_beta_2 * (u * u);
        v[k] = mk;
        v[k + h.stride] = sk;
        w[k] = wk - h.lr * mk / (CYP_SQRT_(sk) + h.eps);
    } else {
        w[k] = wk - u;
    }
}

/* lanes[k] += w[k]^2 (in double) for k < 16; with first set, lanes[k] =
 * w[k]^2 instead, which is the same sum from zero lanes (0 + x is x): the
 * lanes are never zeroed first, which GCC's AVX2 build does with a slow
 * `rep stos` (128 bytes; 1 us per digits sample in 100 rows). */
CYP_ALWAYS_INLINE void CYP_FN(cyp_square_chunk)(double *CYP_RESTRICT lanes,
        const T *CYP_RESTRICT w, int first)
{
    if (first) {
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < 16; k++) lanes[k] = (double)w[k] * (double)w[k];
    } else {
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < 16; k++) lanes[k] += (double)w[k] * (double)w[k];
    }
}

/* lanes[k % 16] += w[i]^2 (in double) for i0 <= i < n: whole chunks of 16,
 * then the rest into lanes[0 ..] (cyp_row_squares); from i0 = 0 the lanes
 * start empty (they need no zeroing). */
CYP_ALWAYS_INLINE void CYP_FN(cyp_square_lanes)(double *CYP_RESTRICT lanes,
        const T *CYP_RESTRICT w, Py_ssize_t i0, Py_ssize_t n)
{
    if (i0 == 0 && n < 16) {   /* a short row: its squares, then zeros */
        for (Py_ssize_t k = 0; k < 16; k++)
            lanes[k] = k < n ? (double)w[k] * (double)w[k] : 0.0;
        return;
    }
    if (i0 == 0) {   /* (the first chunk out of the loop: the lanes stay in registers) */
        CYP_FN(cyp_square_chunk)(lanes, w, 1);
        i0 = 16;
    }
    for (; i0 + 16 <= n; i0 += 16) CYP_FN(cyp_square_chunk)(lanes, w + i0, 0);
    for (Py_ssize_t k = 0; k < n - i0; k++) lanes[k] += (double)w[i0 + k] * (double)w[i0 + k];
}

/* sum w[i]^2 over a row, in double, for the L2 term's share of an online
 * sample's loss: 16 lanes (cyp_square_lanes) and a halving tree (cyp_sum16),
 * in every build.  (Until the seventh session the baseline and AVX2 builds
 * summed with `omp simd reduction`, one vector of partial sums, whose
 * latency bound a pass of its own: online SGD with l2 on 784-128-10 took 3x
 * as long as without in the AVX2 build.  Their losses changed in the last
 * bits; no weight changed.) */
static inline double CYP_FN(cyp_row_squares)(const T *CYP_RESTRICT w, Py_ssize_t n)
{
    double lanes[16];
    CYP_FN(cyp_square_lanes)(lanes, w, 0, n);
    return cyp_sum16(lanes);
}

/* A first-layer weight row's online step with the L2 term: cyp_rule_l2
 * with step * a[i]; *sq = sum w[i]^2 of the old row (in double, in
 * cyp_row_squares' order), fused into the update loop.  For long rows (the
 * kernels' CYP_L2_ROW_MIN inputs and more): there one fused pass per row
 * beats cyp_backprop_layer's column blocks, whose squares take a pass of
 * their own (784-256-256-10 float64, l2 1e-4: 47 against 60.5 ms); for
 * short rows the column blocks let the square roots and divisions of many
 * rows overlap (per-sample Adam on digits' 64 inputs, float32: 2.8 against
 * 3.4 ms).  The choice changes no bits. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_l2_row_step_opt)(int opt, T *CYP_RESTRICT w,
        T *CYP_RESTRICT v, const T *CYP_RESTRICT a, T step,
        T lam, CYP_FN(cyp_hyper) h, Py_ssize_t n, double *sq)
{
    /* the old row's squares summed in 16 lanes (cyp_square_lanes) and a
     * halving tree (an `omp simd reduction` fused in here, GCC compiled for
     * AVX-512 as a serial chain of scalar adds through the stack, once per
     * row) */
    double lanes[16];
    Py_ssize_t i0 = 0;
    if (opt == CYP_OPT_ADAM) {
        /* Adam waits on its square roots and divisions: summing the squares
         * in a pass of their own first costs nothing there, and the update
         * loop vectorises better alone (per-sample Adam on digits 64-100-10:
         * 8.4 ms per epoch, fused 10.6-11.1 ms; plain SGD on 784-128-10 is
         * the other way round: fused 26-27 ms, two passes 36.6 ms) */
        *sq = CYP_FN(cyp_row_squares)(w, n);
        CYP_OMP_SIMD
        for (Py_ssize_t i = 0; i < n; i++)
            CYP_FN(cyp_rule_l2)(opt, w, v, i, step, a[i], lam, h);
        return;
    }
    for (; i0 + 16 <= n; i0 += 16) {
        CYP_FN(cyp_square_chunk)(lanes, w + i0, i0 == 0);
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < 16; k++)
            CYP_FN(cyp_rule_l2)(opt, w, v, i0 + k, step, a[i0 + k], lam, h);
    }
    CYP_FN(cyp_square_lanes)(lanes, w, i0, n);   /* the tail's squares (old row) */
    CYP_OMP_SIMD
    for (Py_ssize_t i = i0; i < n; i++) CYP_FN(cyp_rule_l2)(opt, w, v, i, step, a[i], lam, h);
    *sq = cyp_sum16(lanes);
}

static inline double CYP_FN(cyp_l2_row_step)(int opt, T *CYP_RESTRICT w, T *CYP_RESTRICT v,
        const T *CYP_RESTRICT a, T step, T lam, CYP_FN(cyp_hyper) h, Py_ssize_t n)
{
    double sq = 0;
    CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_l2_row_step_opt), (w, v, a, step, lam, h, n, &sq))
    return sq;
}


/* The rule of an online step on w[k] by g1 * g2: with the L2 term (l2 set)
 * cyp_rule_l2 with lam, else cyp_rule.  l2 is a constant wherever a row loop
 * calls it. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_step_rule)(int opt, int l2, T *CYP_RESTRICT w,
        T *CYP_RESTRICT v, Py_ssize_t k, T g1, T g2, T lam, CYP_FN(cyp_hyper) h)
{
    if (l2)
        CYP_FN(cyp_rule_l2)(opt, w, v, k, g1, g2, lam, h);
    else
        CYP_FN(cyp_rule)(opt, w, v, k, g1, g2, h);
}

/* One chunk of cyp_deferred_chunks from i: the rule on w[i + k], then
 * acc[k] += w[i + k] * x[i + k]. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_deferred_chunk)(int opt, int l2, T *CYP_RESTRICT w,
        T *CYP_RESTRICT v, const T *CYP_RESTRICT a_old, T step, T lam, CYP_FN(cyp_hyper) h,
        const T *CYP_RESTRICT x, Py_ssize_t i, T *CYP_RESTRICT acc)
{
    CYP_OMP_SIMD
    for (Py_ssize_t k = 0; k < CYP_DOT_LANES(T); k++) {
        CYP_FN(cyp_step_rule)(opt, l2, w, v, i + k, step, a_old[i + k], lam, h);
        acc[k] += w[i + k] * x[i + k];
    }
}

/* The rule on w[i + k] (step * a_old[i + k]; cyp_step_rule), then acc[k] +=
 * w[i + k] * x[i + k], over the whole chunks of CYP_DOT_LANES(T) values from
 * i = 0; returns where they end (cyp_deferred_dot_opt's long-row loop, in
 * every build).  With l2 set (a constant), lanes[k % 16] += the old
 * w[i]^2 first, in double, chunk by chunk of 16 (cyp_square_lanes' order,
 * the lanes starting empty). */
CYP_ALWAYS_INLINE Py_ssize_t CYP_FN(cyp_deferred_chunks)(int opt, int l2,
        T *CYP_RESTRICT w, T *CYP_RESTRICT v, const T *CYP_RESTRICT a_old, T step, T lam,
        CYP_FN(cyp_hyper) h, const T *CYP_RESTRICT x, Py_ssize_t n, T *CYP_RESTRICT acc,
        double *CYP_RESTRICT lanes)
{
    Py_ssize_t i = 0;
    if (l2 && n >= CYP_DOT_LANES(T)) {
        /* the first chunk out of the loop, its squares starting the lanes
         * (so that they stay in registers through the loop) */
        for (Py_ssize_t c = 0; c < CYP_DOT_LANES(T); c += 16)
            CYP_FN(cyp_square_chunk)(lanes, w + c, c == 0);
        CYP_FN(cyp_deferred_chunk)(opt, l2, w, v, a_old, step, lam, h, x, 0, acc);
        i = CYP_DOT_LANES(T);
    }
    for (; i + CYP_DOT_LANES(T) <= n; i += CYP_DOT_LANES(T)) {
        if (l2)
            for (Py_ssize_t c = 0; c < CYP_DOT_LANES(T); c += 16)
                CYP_FN(cyp_square_chunk)(lanes, w + i + c, 0);
        CYP_FN(cyp_deferred_chunk)(opt, l2, w, v, a_old, step, lam, h, x, i, acc);
    }
    return i;
}

/* The deferred first-layer update (see _sample_step in the kernels): the
 * previous sample's update of one row (step * a_old[k] per weight, with the
 * L2 term when l2 is set: cyp_step_rule), then this sample's dot product
 * with the updated row, in one pass over w.  The sum is taken in cyp_dot's
 * order (same partial sums, same tail), so the weights and z come out
 * exactly as from the update followed by cyp_dot.  With l2, *sq = the old
 * row's sum of squares, summed in the same pass (cyp_row_squares' value). */
CYP_ALWAYS_INLINE T CYP_FN(cyp_deferred_dot_opt)(int opt, int l2, T *CYP_RESTRICT w,
        T *CYP_RESTRICT v, const T *CYP_RESTRICT a_old, T step, T lam, CYP_FN(cyp_hyper) h,
        const T *CYP_RESTRICT x, Py_ssize_t n, double *sq)
{
    if (n <= 8) {   /* short rows: update, then the plain dot */
        if (l2) *sq = CYP_FN(cyp_row_squares)(w, n);
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < n; k++)
            CYP_FN(cyp_step_rule)(opt, l2, w, v, k, step, a_old[k], lam, h);
        return CYP_FN(cyp_dot)(w, x, n);
    }
    T s = 0;
    Py_ssize_t i = 0;
#if CYP_TREE_DOT
    {
        T acc[CYP_DOT_LANES(T)] = {0};
        double lanes[16];
        i = CYP_FN(cyp_deferred_chunks)(opt, l2, w, v, a_old, step, lam, h, x, n, acc,
                                        lanes);
        if (l2) {   /* the tail's old squares */
            CYP_FN(cyp_square_lanes)(lanes, w, i, n);
            *sq = cyp_sum16(lanes);
        }
        CYP_OMP_SIMD
        for (Py_ssize_t k = i; k < n; k++)
            CYP_FN(cyp_step_rule)(opt, l2, w, v, k, step, a_old[k], lam, h);
        for (Py_ssize_t k = 0; k < n - i; k++) acc[k] += w[i + k] * x[i + k];
        (void)s;
        return CYP_FN(cyp_sum_lanes)(acc);
    }
#endif
    double lanes[16];
    if (n >= CYP_DOT_LANES(T)) {
        T acc[CYP_DOT_LANES(T)] = {0};
        i = CYP_FN(cyp_deferred_chunks)(opt, l2, w, v, a_old, step, lam, h, x, n, acc,
                                        lanes);
        CYP_OMP_SIMD_SUM(s)
        for (Py_ssize_t k = 0; k < CYP_DOT_LANES(T); k++) s += acc[k];
    }
    if (l2) {   /* the tail's old squares */
        CYP_FN(cyp_square_lanes)(lanes, w, i, n);
        *sq = cyp_sum16(lanes);
    }
    CYP_OMP_SIMD
    for (Py_ssize_t k = i; k < n; k++)
        CYP_FN(cyp_step_rule)(opt, l2, w, v, k, step, a_old[k], lam, h);
    CYP_OMP_SIMD_SUM(s)
    for (Py_ssize_t k = i; k < n; k++) s += w[k] * x[k];
    return s;
}

/* One row's update: the rule with step * a[i] on every w[i] (the first
 * layer's pending update at the end of an epoch). */
CYP_ALWAYS_INLINE void CYP_FN(cyp_row_step_opt)(int opt, T *CYP_RESTRICT w,
        T *CYP_RESTRICT v, const T *CYP_RESTRICT a, T step, CYP_FN(cyp_hyper) h, Py_ssize_t n)
{
    CYP_SMALL_OR_SIMD(n, CYP_FN(cyp_rule)(opt, w, v, i, step, a[i], h))
}

/* The backward pass fused with the update of a layer above the first, on
 * m columns of W (n_out rows of stride n_in; V alike or NULL), m at most
 * CYP_DOT_LANES(T): back[k] = sum_j W[j][k] * delta[j] with the old W, j
 * ascending from 0, then W[j][k] moves by the rule with steps[j] * a[k]
 * (cyp_rule_l2 with lam when l2 is set).  back's and a's m values stay in
 * registers through all the rows, so that the loop stores no stream but
 * W's and V's own (see cyp_backprop_layer). */
CYP_ALWAYS_INLINE void CYP_FN(cyp_layer_columns)(int opt, int l2, T *CYP_RESTRICT W,
        T *CYP_RESTRICT V, T *CYP_RESTRICT back, const T *CYP_RESTRICT a,
        const T *CYP_RESTRICT delta, const T *CYP_RESTRICT steps, T lam, CYP_FN(cyp_hyper) h,
        Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t m)
{
    T acc[CYP_DOT_LANES(T)], ak[CYP_DOT_LANES(T)];
    CYP_OMP_SIMD
    for (Py_ssize_t k = 0; k < m; k++) { acc[k] = 0; ak[k] = a[k]; }
    for (Py_ssize_t j = 0; j < n_out; j++) {
        T *CYP_RESTRICT w = W + j * n_in;
        T *CYP_RESTRICT v = V ? V + j * n_in : NULL;
        const T d = delta[j], step = steps[j];
        if (l2 && back) {
            CYP_OMP_SIMD
            for (Py_ssize_t k = 0; k < m; k++) {
                acc[k] += w[k] * d;
                CYP_FN(cyp_rule_l2)(opt, w, v, k, step, ak[k], lam, h);
            }
        } else if (l2) {   /* the first layer: no W^T delta */
            CYP_OMP_SIMD
            for (Py_ssize_t k = 0; k < m; k++)
                CYP_FN(cyp_rule_l2)(opt, w, v, k, step, ak[k], lam, h);
        } else {
            CYP_OMP_SIMD
            for (Py_ssize_t k = 0; k < m; k++) {
                acc[k] += w[k] * d;
                CYP_FN(cyp_rule)(opt, w, v, k, step, ak[k], h);
            }
        }
    }
    if (back) {
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < m; k++) back[k] = acc[k];
    }
}

CYP_ALWAYS_INLINE void CYP_FN(cyp_backprop_layer_opt)(int opt, int l2, T *CYP_RESTRICT W,
        T *CYP_RESTRICT V, T *CYP_RESTRICT back, const T *CYP_RESTRICT a,
        const T *CYP_RESTRICT delta, const T *CYP_RESTRICT steps, T lam, CYP_FN(cyp_hyper) h,
        Py_ssize_t n_in, Py_ssize_t n_out)
{
    Py_ssize_t i = 0;
    for (; i + CYP_DOT_LANES(T) <= n_in; i += CYP_DOT_LANES(T))
        CYP_FN(cyp_layer_columns)(opt, l2, W + i, V ? V + i : NULL, back ? back + i : NULL,
                                  a + i, delta, steps, lam, h, n_in, n_out, CYP_DOT_LANES(T));
    if (i < n_in)
        CYP_FN(cyp_layer_columns)(opt, l2, W + i, V ? V + i : NULL, back ? back + i : NULL,
                                  a + i, delta, steps, lam, h, n_in, n_out, n_in - i);
}

/* back = W^T delta alone (n_out rows of stride n_in; W unchanged): each
 * back[i] summed over the rows j ascending from 0 by the same operations as
 * cyp_backprop_layer's, which forms it while it updates W, so the two give
 * the same bits.  The threaded online epoch takes the backward pass first
 * (cyp_layer_back) and the updates after, once the other threads have the
 * first layer's delta. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_back_columns)(const T *CYP_RESTRICT W, T *CYP_RESTRICT back,
        const T *CYP_RESTRICT delta, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t m)
{
    T acc[CYP_DOT_LANES(T)];
    CYP_OMP_SIMD
    for (Py_ssize_t k = 0; k < m; k++) acc[k] = 0;
    for (Py_ssize_t j = 0; j < n_out; j++) {
        const T *CYP_RESTRICT w = W + j * n_in;
        const T d = delta[j];
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < m; k++) acc[k] += w[k] * d;
    }
    CYP_OMP_SIMD
    for (Py_ssize_t k = 0; k < m; k++) back[k] = acc[k];
}

static inline void CYP_FN(cyp_layer_back)(const T *CYP_RESTRICT W, T *CYP_RESTRICT back,
        const T *CYP_RESTRICT delta, Py_ssize_t n_in, Py_ssize_t n_out)
{
    Py_ssize_t i = 0;
    for (; i + CYP_DOT_LANES(T) <= n_in; i += CYP_DOT_LANES(T))
        CYP_FN(cyp_back_columns)(W + i, back + i, delta, n_in, n_out, CYP_DOT_LANES(T));
    if (i < n_in)
        CYP_FN(cyp_back_columns)(W + i, back + i, delta, n_in, n_out, n_in - i);
}

/* Apply an accumulated gradient: the rule with step scale * (eta * g[i]),
 * taken in double; then g = 0. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_apply_gradient_opt)(int opt, T *CYP_RESTRICT w,
        T *CYP_RESTRICT g, T *CYP_RESTRICT v, double eta, double scale, CYP_FN(cyp_hyper) h, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
#if CYP_T_IS_DOUBLE
        CYP_FN(cyp_rule)(opt, w, v, i, scale, eta * g[i], h);
#else   /* the product in double, rounded once to T */
        CYP_FN(cyp_rule)(opt, w, v, i, (T)(scale * (eta * (double)g[i])), (T)1, h);
#endif
        g[i] = 0;
    }
}

/* iRprop- (Igel & Huesken 2000; FANN's default training) on an accumulated
 * batch gradient g.  Per parameter, sg[i] is the sign of the gradient the
 * last step used (0 after a sign change) and d[i] the step size:
 *   same sign as sg[i]:   d = min(d * increase, step_max); w -= sign(g) * d
 *   opposite sign:        d = max(d * decrease, step_min); no move; sg = 0
 *   sg[i] or g[i] zero:   d unchanged;                    w -= sign(g) * d
 * Only the gradient's sign enters, so g may be the batch's sum (any positive
 * scale of its mean).  The step sizes are computed in double and stored as
 * T.  Then g = 0. */
static inline void CYP_FN(cyp_rprop_apply)(T *CYP_RESTRICT w, T *CYP_RESTRICT g,
        T *CYP_RESTRICT sg, T *CYP_RESTRICT d, const cyp_rprop_consts *c, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        T gi = g[i];
        T si = (T)((gi > 0) - (gi < 0));
        double di = d[i];
        if (si * sg[i] > 0) {
            di = di * c->increase;
            if (di > c->step_max) di = c->step_max;
        } else if (si * sg[i] < 0) {
            di = di * c->decrease;
            if (di < c->step_min) di = c->step_min;
            si = 0;
        }
        d[i] = (T)di;
        sg[i] = si;
        w[i] -= si * (T)di;
        g[i] = 0;
    }
}

/* The first layer's deferred update and this sample's pre-activations, row
 * by row: row j of W (n_out rows of n_in; V, the velocity, laid out alike or
 * NULL) moves by steps[j] * a_old, then z[j] = row_j . x + b[j]; a_old and x
 * are the copies in `in` that row j reads (cyp_inputs in cyprop_simd.h).
 * With the L2 term (l2 set; lam = eta * l2) the rule is cyp_rule_l2, and
 * each old row's sum of squares (cyp_deferred_dot_opt) goes to row_sq[j],
 * or with row_sq NULL is added to *sq, rows in order. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_deferred_layer_opt)(int opt, int l2, T *CYP_RESTRICT W,
        T *CYP_RESTRICT V, const cyp_inputs *in, const T *CYP_RESTRICT steps, T lam,
        double *sq, double *row_sq, CYP_FN(cyp_hyper) h, const T *CYP_RESTRICT b,
        T *CYP_RESTRICT z, Py_ssize_t n_in, Py_ssize_t n_out)
{
    /* a_old and x: the copies of the previous and this sample's input that
     * row j reads (in->pick[j]; the same values in every copy) */
    for (Py_ssize_t j = 0; j < n_out; j++) {
        int c = in->pick[j];
        double r = 0;
        z[j] = CYP_FN(cyp_deferred_dot_opt)(opt, l2, W + j * n_in, V ? V + j * n_in : NULL,
                                            (const T *)in->old[c], steps[j], lam, h,
                                            (const T *)in->cur[c], n_in, &r) + b[j];
        if (l2 && row_sq)
            row_sq[j] = r;
        else if (l2)
            *sq += r;
    }
}

/* The entry points: `opt` chooses a rule once per row (once per layer for
 * the deferred update), so that each row loop is compiled with its rule
 * inlined. */
static inline void CYP_FN(cyp_deferred_layer)(int opt, T *CYP_RESTRICT W, T *CYP_RESTRICT V,
        const cyp_inputs *in, const T *CYP_RESTRICT steps, CYP_FN(cyp_hyper) h,
        const T *CYP_RESTRICT b, T *CYP_RESTRICT z, Py_ssize_t n_in, Py_ssize_t n_out)
{
    CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_deferred_layer_opt),
                     (0, W, V, in, steps, 0, NULL, NULL, h, b, z, n_in, n_out))
}

/* The same with the L2 term (lam = eta * l2; the old rows' sums of squares
 * to row_sq[j], or added to *sq when row_sq is NULL).  A function of its own,
 * so that the plain one's code stays as compact as before (per-sample Adam
 * on digits, float32: 3% faster so). */
static inline void CYP_FN(cyp_deferred_layer_l2)(int opt, T *CYP_RESTRICT W,
        T *CYP_RESTRICT V, const cyp_inputs *in, const T *CYP_RESTRICT steps, T lam,
        double *sq, double *row_sq, CYP_FN(cyp_hyper) h, const T *CYP_RESTRICT b,
        T *CYP_RESTRICT z, Py_ssize_t n_in, Py_ssize_t n_out)
{
    CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_deferred_layer_opt),
                     (1, W, V, in, steps, lam, sq, row_sq, h, b, z, n_in, n_out))
}

static inline void CYP_FN(cyp_row_step)(int opt, T *CYP_RESTRICT w, T *CYP_RESTRICT v,
        const T *CYP_RESTRICT a, T step, CYP_FN(cyp_hyper) h, Py_ssize_t n)
{
    CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_row_step_opt), (w, v, a, step, h, n))
}

/* The backward pass fused with the update of a layer above the first, after
 * one sample (the online kernels): back = W^T delta with the old W (each
 * back[i] summed over the rows j ascending from 0), then row j of W (n_out
 * rows of n_in; V, the velocity, alike or NULL) moves by the rule with
 * steps[j] * a[i]; with the L2 term (l2 set; lam = eta * l2) by cyp_rule_l2 instead,
 * and *sq += each old row's sum of squares, rows in order (cyp_row_squares;
 * sq NULL: no squares).  With the L2 term back may be NULL (the first layer, whose online update
 * is then not deferred): the same update, no W^T delta.
 *
 * Why by column blocks (issue 10, 4K aliasing): a pass over row j stores
 * W_j and back while it loads back and a, and W_j's address modulo 4096
 * steps by the row's length from row to row, so for some rows back or a
 * lies just ahead of W_j's in-flight stores, wherever they are placed.
 * Here each block of CYP_DOT_LANES(T) columns holds its values of back and
 * a in registers through all the rows: the rows' loop loads and stores W
 * and V only (V at a fixed distance from W, _aligned.OFFSETS).  The weights
 * come out as from the row-by-row pass: each weight and each back[i] is
 * computed by the same operations in the same order. */
static inline void CYP_FN(cyp_backprop_layer)(int opt, int l2, T *CYP_RESTRICT W,
        T *CYP_RESTRICT V, T *CYP_RESTRICT back, const T *CYP_RESTRICT a,
        const T *CYP_RESTRICT delta, const T *CYP_RESTRICT steps, T lam, double *sq,
        CYP_FN(cyp_hyper) h, Py_ssize_t n_in, Py_ssize_t n_out)
{
    if (l2) {
        /* the old rows' squares first, in a pass of their own (loads only;
         * none when sq is NULL: the caller took them) */
        if (sq)
            for (Py_ssize_t j = 0; j < n_out; j++) *sq += CYP_FN(cyp_row_squares)(W + j * n_in, n_in);
        CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_backprop_layer_opt),
                         (1, W, V, back, a, delta, steps, lam, h, n_in, n_out))
    } else {
        CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_backprop_layer_opt),
                         (0, W, V, back, a, delta, steps, lam, h, n_in, n_out))
    }
}

static inline void CYP_FN(cyp_apply_gradient)(int opt, T *CYP_RESTRICT w, T *CYP_RESTRICT g,
        T *CYP_RESTRICT v, double eta, double scale, CYP_FN(cyp_hyper) h, Py_ssize_t n)
{
    CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_apply_gradient_opt), (w, g, v, eta, scale, h, n))
}

/* A layer's steps and biases after a sample's backward pass:
 * steps[j] = (T)eta * delta[j], and with train_bias the rule moves b[j] by
 * steps[j] (as cyp_update_one would, one bias at a time); a constant `opt`
 * per loop, so that it vectorises. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_layer_steps_opt)(int opt, T *CYP_RESTRICT b,
        T *CYP_RESTRICT v, T *CYP_RESTRICT steps, const T *CYP_RESTRICT delta, double eta,
        int train_bias, CYP_FN(cyp_hyper) h, Py_ssize_t n)
{
    const T e = (T)eta;
    if (train_bias) {
        for (Py_ssize_t j = 0; j < n; j++) {
            const T step = e * delta[j];
            steps[j] = step;
            CYP_FN(cyp_rule)(opt, b, v, j, step, (T)1, h);
        }
    } else {
        for (Py_ssize_t j = 0; j < n; j++)
            steps[j] = e * delta[j];
    }
}

static inline void CYP_FN(cyp_layer_steps)(int opt, T *CYP_RESTRICT b, T *CYP_RESTRICT v,
        T *CYP_RESTRICT steps, const T *CYP_RESTRICT delta, double eta, int train_bias,
        CYP_FN(cyp_hyper) h, Py_ssize_t n)
{
    CYP_FOR_EACH_OPT(opt, CYP_FN(cyp_layer_steps_opt), (b, v, steps, delta, eta, train_bias, h, n))
}

/* One parameter (a bias), outside any row loop. */
static inline void CYP_FN(cyp_update_one)(int opt, T *CYP_RESTRICT w, T *CYP_RESTRICT v,
                                          Py_ssize_t k, T step, CYP_FN(cyp_hyper) h)
{
    CYP_FN(cyp_rule)(opt, w, v, k, step, (T)1, h);
}

/* 1 when every v[i] is finite, else 0: v - v is 0 for a finite value and
 * NaN for NaN or an infinity, which compares unequal to 0 (a compare and an
 * OR per element, vectorised; no chain of dependent adds). */
static inline int CYP_FN(cyp_all_finite)(const T *CYP_RESTRICT v, Py_ssize_t n)
{
    int bad = 0;
    CYP_PRAGMA(omp simd reduction(|:bad))
    for (Py_ssize_t i = 0; i < n; i++) bad |= !(v[i] - v[i] == 0);
    return !bad;
}

/* y[i] += x[i] * w  (a row's share of W^T delta; a lane block's z) */
static inline void CYP_FN(cyp_axpy)(T *CYP_RESTRICT y, const T *CYP_RESTRICT x,
                                    T w, Py_ssize_t n)
{
    CYP_OMP_SIMD
    for (Py_ssize_t i = 0; i < n; i++) y[i] += x[i] * w;
}

/* cyp_sub_steps on m (at most CYP_SUB_COLS(T)) values of z: held in
 * registers through all the rows r. */
#define CYP_SUB_COLS(T) ((Py_ssize_t)(8 * CYP_VEC_BYTES / sizeof(T)))
CYP_ALWAYS_INLINE void CYP_FN(cyp_sub_steps_cols)(T *CYP_RESTRICT z, const T *CYP_RESTRICT D,
        const T *CYP_RESTRICT coef, Py_ssize_t count, Py_ssize_t H, Py_ssize_t m)
{
    T acc[CYP_SUB_COLS(T)];
    CYP_OMP_SIMD
    for (Py_ssize_t k = 0; k < m; k++) acc[k] = z[k];
    for (Py_ssize_t r = 0; r < count; r++) {
        const T w = -coef[r];
        CYP_OMP_SIMD
        for (Py_ssize_t k = 0; k < m; k++) acc[k] += D[r * H + k] * w;
    }
    CYP_OMP_SIMD
    for (Py_ssize_t k = 0; k < m; k++) z[k] = acc[k];
}

/* z[j] += D[r][j] * (-coef[r]) for r = 0 .. count-1 in that order (D's rows
 * H long): the blocked schedule's correction of a sample's first-layer z
 * for the steps of the block's earlier samples, which its weights have not
 * taken yet.  Each z[j] gets the chain of cyp_axpy calls, r after r, but z
 * stays in registers (8 vectors of it at a time: 8 independent chains)
 * instead of being loaded and stored once per r. */
static inline void CYP_FN(cyp_sub_steps)(T *CYP_RESTRICT z, const T *CYP_RESTRICT D,
        const T *CYP_RESTRICT coef, Py_ssize_t count, Py_ssize_t H)
{
    Py_ssize_t j = 0;
    for (; j + CYP_SUB_COLS(T) <= H; j += CYP_SUB_COLS(T))
        CYP_FN(cyp_sub_steps_cols)(z + j, D + j, coef, count, H, CYP_SUB_COLS(T));
    if (j < H)
        CYP_FN(cyp_sub_steps_cols)(z + j, D + j, coef, count, H, H - j);
}

/* ---------------------------------------------------------------------------
 * A block of 8 samples side by side (batch and mini-batch modes): buffers
 * laid out [unit][lane], 8 lanes (BLOCK in the kernels).  Each result is
 * formed by the same operations in the same order as the row-by-row loops
 * these replace (an axpy chain per output row, cyp_dot's 8-lane tree per
 * gradient entry), so the weights come out bit for bit as before; the loops
 * are only tiled, CYP_TILE rows at a time, so that the partial sums stay in
 * registers and each loaded vector serves several rows. */
#define CYP_TILE 8

/* ROWS (a constant: CYP_TILE, 4 or 1) output rows of cyp_block_combine from
 * row r, LANES (a constant: 8, or 16 for float with AVX-512) samples per
 * row: ROWS independent chains of fused sums per lane, so that the adds'
 * latency overlaps (one chain per register).  Each lane's sums are the same
 * whatever LANES is. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_block_tile)(const int LANES, const int ROWS,
        const T *CYP_RESTRICT M, Py_ssize_t rs, Py_ssize_t ks, const T *CYP_RESTRICT in,
        const T *CYP_RESTRICT bias, T *CYP_RESTRICT out, Py_ssize_t n_k, Py_ssize_t r)
{
    T o[CYP_TILE][16];
    const T *m = M + r * rs;
    for (int q = 0; q < ROWS; q++)
        for (int s = 0; s < LANES; s++)
            o[q][s] = 0;
    for (Py_ssize_t k = 0; k < n_k; k++) {
        const T *ik = in + k * LANES;
        for (int q = 0; q < ROWS; q++) {
            const T u = m[q * rs + k * ks];
            CYP_OMP_SIMD
            for (int s = 0; s < LANES; s++)
                o[q][s] += ik[s] * u;
        }
    }
    T *orow = out + r * LANES;
    for (int q = 0; q < ROWS; q++) {
        if (bias) {
            CYP_OMP_SIMD
            for (int s = 0; s < LANES; s++)
                orow[q * LANES + s] = o[q][s] + bias[r + q];
        } else {
            CYP_OMP_SIMD
            for (int s = 0; s < LANES; s++)
                orow[q * LANES + s] = o[q][s];
        }
    }
}

/* out[r][s] = (sum_k in[k][s] * M[r * rs + k * ks], k ascending from 0)
 * (+ bias[r] when bias is not NULL), for r < n_out, k < n_k, s < LANES: the
 * forward sums (M = W, rs = n_in, ks = 1) and W^T delta (M = W, rs = 1,
 * ks = n_in) in one loop nest, CYP_TILE output rows per pass, then 4, then 1. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_block_combine)(const int LANES, const T *CYP_RESTRICT M,
        Py_ssize_t rs, Py_ssize_t ks, const T *CYP_RESTRICT in, const T *CYP_RESTRICT bias,
        T *CYP_RESTRICT out, Py_ssize_t n_k, Py_ssize_t n_out)
{
    Py_ssize_t r = 0;
    for (; r + CYP_TILE <= n_out; r += CYP_TILE)
        CYP_FN(cyp_block_tile)(LANES, CYP_TILE, M, rs, ks, in, bias, out, n_k, r);
    for (; r + 4 <= n_out; r += 4)
        CYP_FN(cyp_block_tile)(LANES, 4, M, rs, ks, in, bias, out, n_k, r);
    for (; r < n_out; r++)
        CYP_FN(cyp_block_tile)(LANES, 1, M, rs, ks, in, bias, out, n_k, r);
}

/* z[j][s] = (sum_i a[i][s] * W[j][i], i ascending from 0) + b[j], for the
 * block's lanes (8, or 16: float with AVX-512). */
static inline void CYP_FN(cyp_block_forward)(const T *CYP_RESTRICT W, const T *CYP_RESTRICT b,
        const T *CYP_RESTRICT a, T *CYP_RESTRICT z, Py_ssize_t n_in, Py_ssize_t n_out,
        Py_ssize_t lanes)
{
    if (lanes == 16)
        CYP_FN(cyp_block_combine)(16, W, n_in, 1, a, b, z, n_in, n_out);
    else
        CYP_FN(cyp_block_combine)(8, W, n_in, 1, a, b, z, n_in, n_out);
}

/* back[i][s] = sum_j d[j][s] * W[j][i], j ascending from 0 (W^T delta), for
 * the block's lanes (8 or 16). */
static inline void CYP_FN(cyp_block_back)(const T *CYP_RESTRICT W, const T *CYP_RESTRICT d,
        T *CYP_RESTRICT back, Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t lanes)
{
    if (lanes == 16)
        CYP_FN(cyp_block_combine)(16, W, 1, n_in, d, NULL, back, n_out, n_in);
    else
        CYP_FN(cyp_block_combine)(8, W, 1, n_in, d, NULL, back, n_out, n_in);
}

/* aT[s][i] = a[i][s] (s < lanes): a block's activations one sample per row. */
static inline void CYP_FN(cyp_block_transpose)(const T *CYP_RESTRICT a, T *CYP_RESTRICT aT,
                                             Py_ssize_t n, Py_ssize_t lanes)
{
    for (Py_ssize_t i = 0; i < n; i++)
        for (Py_ssize_t s = 0; s < lanes; s++)
            aT[s * n + i] = a[i * lanes + s];
}

/* G[j][i] += sum_s d[j][s] * a[i][s] for every j, i, s < 8, summed as
 * cyp_dot sums 8 lanes: ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + p7))
 * with the products rounded first; d's rows are ds apart (8, or 16 for one
 * half of a 16-sample block: the halves then go in one after the other, as
 * two 8-sample blocks would); aT is a transposed (cyp_block_transpose), so
 * the loop runs along i.  The products must not be contracted into the sums
 * (an FMA there would change the last bits): hence CYP_NO_CONTRACT. */
CYP_NO_CONTRACT void CYP_FN(cyp_block8_grad)(T *CYP_RESTRICT G, const T *CYP_RESTRICT d,
        Py_ssize_t ds, const T *CYP_RESTRICT aT, Py_ssize_t n_in, Py_ssize_t n_out)
{
    CYP_NO_CONTRACT_BODY
    const T *a0 = aT, *a1 = a0 + n_in, *a2 = a1 + n_in, *a3 = a2 + n_in;
    const T *a4 = a3 + n_in, *a5 = a4 + n_in, *a6 = a5 + n_in, *a7 = a6 + n_in;
    Py_ssize_t j = 0;
    for (; j + 2 <= n_out; j += 2) {   /* two rows per pass: each a[i] loaded once */
        const T *dj = d + j * ds, *dk = dj + ds;
        T d0 = dj[0], d1 = dj[1], d2 = dj[2], d3 = dj[3];
        T d4 = dj[4], d5 = dj[5], d6 = dj[6], d7 = dj[7];
        T e0 = dk[0], e1 = dk[1], e2 = dk[2], e3 = dk[3];
        T e4 = dk[4], e5 = dk[5], e6 = dk[6], e7 = dk[7];
        T *g = G + j * n_in, *h = g + n_in;
        CYP_OMP_SIMD
        for (Py_ssize_t i = 0; i < n_in; i++) {
            T x0 = a0[i], x1 = a1[i], x2 = a2[i], x3 = a3[i];
            T x4 = a4[i], x5 = a5[i], x6 = a6[i], x7 = a7[i];
            T p0 = d0 * x0, p1 = d1 * x1, p2 = d2 * x2, p3 = d3 * x3;
            T p4 = d4 * x4, p5 = d5 * x5, p6 = d6 * x6, p7 = d7 * x7;
            T q0 = e0 * x0, q1 = e1 * x1, q2 = e2 * x2, q3 = e3 * x3;
            T q4 = e4 * x4, q5 = e5 * x5, q6 = e6 * x6, q7 = e7 * x7;
            T sp = ((p0 + p4) + (p1 + p5)) + ((p2 + p6) + (p3 + p7));
            T sq = ((q0 + q4) + (q1 + q5)) + ((q2 + q6) + (q3 + q7));
            g[i] += sp;
            h[i] += sq;
        }
    }
    for (; j < n_out; j++) {
        const T *dj = d + j * ds;
        T d0 = dj[0], d1 = dj[1], d2 = dj[2], d3 = dj[3];
        T d4 = dj[4], d5 = dj[5], d6 = dj[6], d7 = dj[7];
        T *g = G + j * n_in;
        CYP_OMP_SIMD
        for (Py_ssize_t i = 0; i < n_in; i++) {
            T p0 = d0 * a0[i], p1 = d1 * a1[i], p2 = d2 * a2[i], p3 = d3 * a3[i];
            T p4 = d4 * a4[i], p5 = d5 * a5[i], p6 = d6 * a6[i], p7 = d7 * a7[i];
            T q04 = p0 + p4, q15 = p1 + p5, q26 = p2 + p6, q37 = p3 + p7;
            T sum = (q04 + q15) + (q26 + q37);
            g[i] += sum;
        }
    }
}

#undef CYP_SQRT_
