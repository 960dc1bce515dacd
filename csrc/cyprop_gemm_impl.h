/*
 * cyprop_gemm_impl.h -- the blocked online schedule's three matrix products,
 * register-tiled, for builds where cyprop runs them itself instead of calling
 * SciPy's BLAS (CYP_OWN_GEMM in cyprop_simd.h: the AVX-512 build under GCC or
 * Clang).  A template like cyprop_simd_impl.h: included once per type with T,
 * CYP_FN and CYP_T_IS_DOUBLE defined.
 *
 * For a block of m samples (rows of Xb, m x n_in, and of its transpose XbT,
 * n_in x kp with kp >= m a multiple of the lane count, zero beyond m):
 *
 *   cyp_gemm_xw   P[s][j] = sum_i W[j][i] Xb[s][i]        (P = Xb W^T)
 *   cyp_gemm_gram G[s][r] = sum_i Xb[r][i] Xb[s][i], r <= s (at least)
 *   cyp_gemm_rank W[j][i] = beta W[j][i] - sum_s D[s][j] Xb[s][i]
 *
 * Every output element is one chain of fused multiply-adds in ascending order
 * of its summation index, whatever the tile it falls in, so a product split
 * between threads by rows gives the same bits as one call.  The tiles keep
 * ROWS x VECS vectors of partial sums in registers: a weight (or delta) is
 * broadcast against VECS vectors of samples (or inputs) per step.
 */
#if !defined(T) || !defined(CYP_FN) || !defined(CYP_T_IS_DOUBLE)
#error "cyprop_gemm_impl.h is a template: include it through cyprop_simd.h"
#endif

#if CYP_GEMM_VECTORS

typedef T CYP_FN(cyp_gvec) __attribute__((vector_size(CYP_GEMM_BYTES)));
typedef T CYP_FN(cyp_gvec_u) __attribute__((vector_size(CYP_GEMM_BYTES), aligned(sizeof(T))));
#define V_ CYP_FN(cyp_gvec)
#define VU_ CYP_FN(cyp_gvec_u)
#define L_ ((Py_ssize_t)(CYP_GEMM_BYTES / sizeof(T)))

/* TILE(R, Q) with constant R (4 or 1 rows) and Q (1 to 4 vectors), so that
 * each tile's partial sums are a fixed set of registers. */
#define CYP_VECS_SWITCH_(TILE, R, vecs)                                         \
    switch (vecs) {                                                              \
    case 4: TILE(R, 4); break;                                                   \
    case 3: TILE(R, 3); break;                                                   \
    case 2: TILE(R, 2); break;                                                   \
    default: TILE(R, 1); break;                                                  \
    }
#define CYP_TILE_SWITCH_(TILE, rows, vecs)                                      \
    do {                                                                         \
        if ((rows) == 4) { CYP_VECS_SWITCH_(TILE, 4, vecs) }                     \
        else { CYP_VECS_SWITCH_(TILE, 1, vecs) }                                 \
    } while (0)

/* The tiles' shared loop: for t < n_steps, acc[r][q] += c[r * c_row + t *
 * c_step] * X[t * x_step + q * L_] (one fused multiply-add per step, t
 * ascending): ROWS coefficients broadcast against VECS vectors. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_gemm_accumulate)(const int ROWS, const int VECS,
        V_ acc[4][4], const T *CYP_RESTRICT X, Py_ssize_t x_step,
        const T *CYP_RESTRICT c, Py_ssize_t c_row, Py_ssize_t c_step, Py_ssize_t n_steps)
{
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < VECS; q++)
            acc[r][q] = (V_){0};
    for (Py_ssize_t t = 0; t < n_steps; t++) {
        V_ x[4];
        const T *xt = X + t * x_step;
        for (int q = 0; q < VECS; q++)
            x[q] = *(const VU_ *)(xt + q * L_);
        for (int r = 0; r < ROWS; r++) {
            const T a = c[r * c_row + t * c_step];
            for (int q = 0; q < VECS; q++)
                acc[r][q] += a * x[q];
        }
    }
}

/* One tile of cyp_gemm_xw / cyp_gemm_gram: ROWS rows of A (row stride lda,
 * n_k long) against VECS vectors of XbT's columns from column c0, written to
 * out[s * ldo + row] for the columns s < m. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_gemm_tile_xw)(const int ROWS, const int VECS,
        const T *CYP_RESTRICT A, Py_ssize_t lda, const T *CYP_RESTRICT XbT, Py_ssize_t kp,
        Py_ssize_t c0, Py_ssize_t n_k, Py_ssize_t m, T *CYP_RESTRICT out, Py_ssize_t ldo)
{
    V_ acc[4][4];
    CYP_FN(cyp_gemm_accumulate)(ROWS, VECS, acc, XbT + c0, kp, A, lda, 1, n_k);
    for (int q = 0; q < VECS; q++)
        for (Py_ssize_t l = 0; l < L_ && c0 + q * L_ + l < m; l++)
            for (int r = 0; r < ROWS; r++)
                out[(c0 + q * L_ + l) * ldo + r] = acc[r][q][l];
}

/* out[s * ldo + r] = sum_i A[r][i] XbT[i][s] for rows r < n_rows of A and
 * s < m; with diag >= 0 (a Gram matrix's rows from row diag), only the
 * columns s >= diag + r are asked for (the vectors wholly left of a row tile
 * are skipped; the rest of each vector is filled); diag < 0: every column. */
static void CYP_FN(cyp_gemm_rows_xw)(const T *CYP_RESTRICT A, Py_ssize_t lda, Py_ssize_t n_rows,
        const T *CYP_RESTRICT XbT, Py_ssize_t kp, Py_ssize_t n_k, Py_ssize_t m, Py_ssize_t diag,
        T *CYP_RESTRICT out, Py_ssize_t ldo)
{
    const Py_ssize_t n_vec = (m + L_ - 1) / L_;
    for (Py_ssize_t r = 0; r < n_rows; ) {
        const int rows = n_rows - r >= 4 ? 4 : 1;
        const T *a = A + r * lda;
        T *o = out + r;
        for (Py_ssize_t v = diag >= 0 ? (diag + r) / L_ : 0; v < n_vec; ) {
            const Py_ssize_t left = n_vec - v;
            const int vecs = left >= 4 ? 4 : (int)left;
            const Py_ssize_t c0 = v * L_;
#define CYP_TILE_XW_(R, Q) CYP_FN(cyp_gemm_tile_xw)(R, Q, a, lda, XbT, kp, c0, n_k, m, o, ldo)
            CYP_TILE_SWITCH_(CYP_TILE_XW_, rows, vecs);
#undef CYP_TILE_XW_
            v += vecs;
        }
        r += rows;
    }
}

/* One tile of cyp_gemm_rank: ROWS rows of W from row j, VECS vectors of
 * columns from column i0. */
CYP_ALWAYS_INLINE void CYP_FN(cyp_gemm_tile_rank)(const int ROWS, const int VECS,
        T *CYP_RESTRICT W, Py_ssize_t ldw, const T *CYP_RESTRICT D, Py_ssize_t ldd,
        const T *CYP_RESTRICT Xb, Py_ssize_t ldx, Py_ssize_t i0, Py_ssize_t m, T beta)
{
    V_ acc[4][4];
    CYP_FN(cyp_gemm_accumulate)(ROWS, VECS, acc, Xb + i0, ldx, D, 1, ldd, m);
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < VECS; q++) {
            VU_ *w = (VU_ *)(W + r * ldw + i0 + q * L_);
            *w = beta * *w - acc[r][q];   /* one product: one way to fuse it */
        }
}

#undef V_
#undef VU_

#else   /* no vector extensions: the same sums one at a time (never called:
         * CYP_OWN_GEMM is 0 there; kept so that every build compiles alike) */

static void CYP_FN(cyp_gemm_rows_xw)(const T *CYP_RESTRICT A, Py_ssize_t lda, Py_ssize_t n_rows,
        const T *CYP_RESTRICT XbT, Py_ssize_t kp, Py_ssize_t n_k, Py_ssize_t m, Py_ssize_t diag,
        T *CYP_RESTRICT out, Py_ssize_t ldo)
{
    for (Py_ssize_t r = 0; r < n_rows; r++)
        for (Py_ssize_t s = diag >= 0 ? diag + r : 0; s < m; s++) {
            T sum = 0;
            for (Py_ssize_t i = 0; i < n_k; i++)
                sum += A[r * lda + i] * XbT[i * kp + s];
            out[s * ldo + r] = sum;
        }
}

#endif /* CYP_GEMM_VECTORS */

/* P[s * ldp + j] = sum_i W[j * n_k + i] XbT[i * kp + s] for j < n_rows, s < m. */
static inline void CYP_FN(cyp_gemm_xw)(const T *CYP_RESTRICT W, Py_ssize_t n_rows,
        const T *CYP_RESTRICT XbT, Py_ssize_t kp, Py_ssize_t n_k, Py_ssize_t m,
        T *CYP_RESTRICT P, Py_ssize_t ldp)
{
    CYP_FN(cyp_gemm_rows_xw)(W, n_k, n_rows, XbT, kp, n_k, m, -1, P, ldp);
}

/* G[s * m + r] = Xb[r] . Xb[s] for r0 <= r < r1, r <= s < m (entries above
 * may be written too): rows r0..r1 of the Gram matrix's lower triangle, the
 * same bits whatever the split (rows in tiles of 4 from r0: split at
 * multiples of 4 for the tiles of one call over all rows). */
static inline void CYP_FN(cyp_gemm_gram)(const T *CYP_RESTRICT Xb, const T *CYP_RESTRICT XbT,
        Py_ssize_t kp, Py_ssize_t n_k, Py_ssize_t m, Py_ssize_t r0, Py_ssize_t r1,
        T *CYP_RESTRICT G)
{
    if (r1 > r0)
        CYP_FN(cyp_gemm_rows_xw)(Xb + r0 * n_k, n_k, r1 - r0, XbT, kp, n_k, m, r0, G + r0, m);
}

/* W[j][i] = beta W[j][i] - sum_s D[s * ldd + j] Xb[s][i], for j < n_rows,
 * i < n_k (W and Xb rows n_k long), s < m. */
static inline void CYP_FN(cyp_gemm_rank)(T *CYP_RESTRICT W, Py_ssize_t n_rows,
        const T *CYP_RESTRICT D, Py_ssize_t ldd, const T *CYP_RESTRICT Xb, Py_ssize_t n_k,
        Py_ssize_t m, T beta)
{
    Py_ssize_t i0 = 0;
#if CYP_GEMM_VECTORS
    const Py_ssize_t n_full = n_k / L_;   /* whole vectors per row */
    for (Py_ssize_t v = 0; v < n_full; ) {
        const int vecs = n_full - v >= 4 ? 4 : (int)(n_full - v);
        const Py_ssize_t c = v * L_;
        for (Py_ssize_t j = 0; j < n_rows; ) {
            const int rows = n_rows - j >= 4 ? 4 : 1;
#define CYP_TILE_RANK_(R, Q) CYP_FN(cyp_gemm_tile_rank)(R, Q, W + j * n_k, n_k, D + j, ldd, \
                                                     Xb, n_k, c, m, beta)
            CYP_TILE_SWITCH_(CYP_TILE_RANK_, rows, vecs);
#undef CYP_TILE_RANK_
            j += rows;
        }
        v += vecs;
    }
    i0 = n_full * L_;
#endif
    /* the columns past the last whole vector, one at a time */
    for (Py_ssize_t j = 0; j < n_rows; j++)
        for (Py_ssize_t i = i0; i < n_k; i++) {
            T sum = 0;
            for (Py_ssize_t s = 0; s < m; s++)
                sum += D[s * ldd + j] * Xb[s * n_k + i];
            W[j * n_k + i] = beta * W[j * n_k + i] - sum;
        }
}

/* An 8 x 8 tile transposed in registers: out[c][r] = in[r][c], 24 two-input
 * shuffles in three rounds (pairs of rows, pairs of pairs, halves).  Vectors
 * of 8 values: zmm for double, ymm for float (GCC's and Clang's vector
 * extensions, CYP_VEC_EXT; MSVC, whose build includes this file too, moves
 * the values one at a time in cyp_gemm_transpose below). */
#if CYP_VEC_EXT
typedef T CYP_FN(cyp_v8) __attribute__((vector_size(8 * sizeof(T))));
typedef T CYP_FN(cyp_v8u) __attribute__((vector_size(8 * sizeof(T)), aligned(sizeof(T))));
#if defined(__clang__) || __GNUC__ >= 12
#define CYP_SHUF8_(a, b, i0, i1, i2, i3, i4, i5, i6, i7)                        \
    __builtin_shufflevector(a, b, i0, i1, i2, i3, i4, i5, i6, i7)
#else
#if CYP_T_IS_DOUBLE
typedef long long cyp_mask8_d_ __attribute__((vector_size(64)));
#define CYP_MASK8_ cyp_mask8_d_
#else
typedef int cyp_mask8_f_ __attribute__((vector_size(32)));
#define CYP_MASK8_ cyp_mask8_f_
#endif
#define CYP_SHUF8_(a, b, i0, i1, i2, i3, i4, i5, i6, i7)                        \
    __builtin_shuffle(a, b, (CYP_MASK8_){i0, i1, i2, i3, i4, i5, i6, i7})
#endif
CYP_ALWAYS_INLINE void CYP_FN(cyp_transpose8)(CYP_FN(cyp_v8) r[8])
{
    CYP_FN(cyp_v8) t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = CYP_SHUF8_(r[i], r[i + 1], 0, 8, 2, 10, 4, 12, 6, 14);
        t[i + 1] = CYP_SHUF8_(r[i], r[i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
    }
    for (int i = 0; i < 8; i += (i % 4 == 1) ? 3 : 1) {   /* i = 0, 1, 4, 5 */
        u[i] = CYP_SHUF8_(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 2] = CYP_SHUF8_(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = CYP_SHUF8_(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[i + 4] = CYP_SHUF8_(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}
#undef CYP_SHUF8_
#undef CYP_MASK8_
#endif /* CYP_VEC_EXT */

/* XbT[i * kp + s] = Xb[s * n_k + i] for s < m, zero for m <= s < kp: 8 x 8
 * tiles in registers (samples past m read as zero), the columns past the
 * last whole tile one at a time. */
static inline void CYP_FN(cyp_gemm_transpose)(const T *CYP_RESTRICT Xb, Py_ssize_t m,
        Py_ssize_t n_k, T *CYP_RESTRICT XbT, Py_ssize_t kp)
{
#if CYP_VEC_EXT
    const Py_ssize_t i8 = n_k / 8 * 8;
#else
    const Py_ssize_t i8 = 0;
#endif
    for (Py_ssize_t s0 = 0; s0 < kp; s0 += 8) {
#if CYP_VEC_EXT
        for (Py_ssize_t i0 = 0; i0 < i8; i0 += 8) {
            CYP_FN(cyp_v8) r[8];
            for (int a = 0; a < 8; a++)
                r[a] = s0 + a < m ? (CYP_FN(cyp_v8))*(const CYP_FN(cyp_v8u) *)(Xb + (s0 + a) * n_k + i0)
                                  : (CYP_FN(cyp_v8)){0};
            CYP_FN(cyp_transpose8)(r);
            for (int c = 0; c < 8; c++)
                *(CYP_FN(cyp_v8u) *)(XbT + (i0 + c) * kp + s0) = r[c];
        }
#endif
        for (Py_ssize_t i = i8; i < n_k; i++)
            for (Py_ssize_t s = s0; s < s0 + 8; s++)
                XbT[i * kp + s] = s < m ? Xb[s * n_k + i] : 0;
    }
}

#undef L_
#undef CYP_TILE_SWITCH_
#undef CYP_VECS_SWITCH_
