# Blocked online SGD: the same per-sample trajectory as train_epochs' online
# mode, with the first layer's weights touched once per block of k samples.
#
# Included at the end of network_kernels.pxi (it uses that file's helpers).
# The algebra is written out in cyprop._reference.blocked.  For a block of k
# consecutive samples (rows gathered into Xb, k x n_in) starting from the
# first-layer weights W0 (H x n_in) and velocity V0:
#
#   P = Xb W0^T, Q = Xb V0^T (momentum only), G = Xb Xb^T   (BLAS-3)
#   z_s = P[s] + c_s Q[s] - sum_{r<s} a_{s-1-r} G[s, r] D[r] + b
#   (D[r] = eta * delta_r, the step the sequential kernel would apply)
#   W0 += c_k V0 - sum_r a_{k-1-r} D[r]^T Xb[r]; V0 = mu^k V0 - sum_r mu^(k-1-r) ...
#
# with c_t = mu + ... + mu^t and a_m = 1 + mu + ... + mu^m (without momentum
# c = 0 and a = 1).  Layers above the first and every bias are updated per
# sample exactly as in _sample_step.
#
# The AVX-512 build runs the three products itself (csrc/cyprop_gemm_impl.h,
# CYP_OWN_GEMM); the other builds take BLAS from SciPy at run time:
# cyprop._blocked hands the capsules of scipy.linalg.cython_blas to
# load_blas(), so SciPy is neither a build dependency nor needed unless the
# blocked schedule runs.  These are Fortran BLAS routines (column-major); a
# row-major (n, m) array is read as the column-major (m, n) matrix, its
# transpose.

from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName

ctypedef void (*_dgemm_t)(char*, char*, int*, int*, int*, double*, double*, int*,
                          double*, int*, double*, double*, int*) noexcept nogil
ctypedef void (*_sgemm_t)(char*, char*, int*, int*, int*, float*, float*, int*,
                          float*, int*, float*, float*, int*) noexcept nogil
ctypedef void (*_dsyrk_t)(char*, char*, int*, int*, double*, double*, int*,
                          double*, double*, int*) noexcept nogil
ctypedef void (*_ssyrk_t)(char*, char*, int*, int*, float*, float*, int*,
                          float*, float*, int*) noexcept nogil

cdef _dgemm_t _blas_dgemm = NULL
cdef _sgemm_t _blas_sgemm = NULL
cdef _dsyrk_t _blas_dsyrk = NULL
cdef _ssyrk_t _blas_ssyrk = NULL

cdef enum:
    _INT_MAX = 2147483647


def load_blas(capi):
    """Take dgemm, sgemm, dsyrk and ssyrk from a ``__pyx_capi__`` dict of capsules.

    ``capi`` is ``scipy.linalg.cython_blas.__pyx_capi__``; cyprop._blocked
    calls this once, lazily.
    """
    global _blas_dgemm, _blas_sgemm, _blas_dsyrk, _blas_ssyrk
    cdef void* ptr[4]
    for i, name in enumerate(("dgemm", "sgemm", "dsyrk", "ssyrk")):
        cap = capi[name]
        ptr[i] = PyCapsule_GetPointer(cap, PyCapsule_GetName(cap))
    _blas_dgemm = <_dgemm_t>ptr[0]
    _blas_sgemm = <_sgemm_t>ptr[1]
    _blas_dsyrk = <_dsyrk_t>ptr[2]
    _blas_ssyrk = <_ssyrk_t>ptr[3]


def has_blas():
    """True once load_blas() has supplied the BLAS routines."""
    return _blas_dgemm != NULL and _blas_sgemm != NULL \
        and _blas_dsyrk != NULL and _blas_ssyrk != NULL


def own_products():
    """True when this build runs the blocked schedule's matrix products itself
    (csrc/cyprop_gemm_impl.h: the AVX-512 build); False when they need the
    BLAS of load_blas()."""
    return bool(CYP_OWN_GEMM)


cdef inline bint _products_ready() noexcept nogil:
    return CYP_OWN_GEMM or (_blas_dgemm != NULL and _blas_sgemm != NULL
                            and _blas_dsyrk != NULL and _blas_ssyrk != NULL)


cdef inline void _gemm(char ta, char tb, int m, int n, int k, floating alpha,
                       const floating* A, int lda, const floating* B, int ldb,
                       floating beta, floating* C, int ldc) noexcept nogil:
    """C = alpha op(A) op(B) + beta C, column-major (Fortran BLAS)."""
    if floating is float:
        _blas_sgemm(&ta, &tb, &m, &n, &k, &alpha, <float*>A, &lda, <float*>B, &ldb,
                    &beta, C, &ldc)
    else:
        _blas_dgemm(&ta, &tb, &m, &n, &k, &alpha, <double*>A, &lda, <double*>B, &ldb,
                    &beta, C, &ldc)


cdef inline void _gram_upper(int k, int n, const floating* A, const floating* AT,
                             Py_ssize_t kp, floating* C, Py_ssize_t r0=0,
                             Py_ssize_t r1=-1) noexcept nogil:
    """Upper triangle of A^T A for a column-major (n, k) A: C[r + s k] = a_r . a_s, r <= s.

    AT (n x kp, row-major) is A's transpose, for the build's own kernel,
    which can also fill only the rows r0 <= r < r1 (r1 < 0: k) of the
    triangle's transposed storage (C[r + s k] for r0 <= r < r1), the same
    bits as in one call when r0 is a multiple of 4; BLAS fills it whole."""
    cdef char uplo = c'U', trans = c'T'
    cdef floating one = 1, zero = 0
    if r1 < 0:
        r1 = k
    if CYP_OWN_GEMM:
        if floating is float:
            cyp_gemm_gram_f(A, AT, kp, n, k, r0, r1, C)
        else:
            cyp_gemm_gram_d(A, AT, kp, n, k, r0, r1, C)
    elif floating is float:
        _blas_ssyrk(&uplo, &trans, &k, &n, &one, <float*>A, &n, &zero, C, &k)
    else:
        _blas_dsyrk(&uplo, &trans, &k, &n, &one, <double*>A, &n, &zero, C, &k)


cdef enum:
    # the blocked products split W0's rows between threads at multiples of
    # this many rows, so that every thread's part starts where the whole
    # product's register tiles would (OpenBLAS's micro-kernels are at most 16
    # rows tall), and each element is summed as in one call
    _SPLIT_ROWS = 16


cdef inline int _split_row(Py_ssize_t c, Py_ssize_t n_chunks, int rows) noexcept nogil:
    """First row of chunk c of n_chunks (row ``rows`` for c == n_chunks)."""
    cdef Py_ssize_t tiles = (rows + _SPLIT_ROWS - 1) // _SPLIT_ROWS
    return <int>min(<Py_ssize_t>rows, c * tiles // n_chunks * _SPLIT_ROWS)


cdef inline void _xw(int nh, int k, int ni, const floating* W, const floating* Xb,
                     const floating* XbT, Py_ssize_t kp, floating* P, int ldp) noexcept nogil:
    """P (k x nh, row stride ldp) = Xb W^T for W's nh rows: the build's own
    kernel (on XbT, Xb's transpose, n_in x kp) or BLAS."""
    if CYP_OWN_GEMM:
        if floating is float:
            cyp_gemm_xw_f(W, nh, XbT, kp, ni, k, P, ldp)
        else:
            cyp_gemm_xw_d(W, nh, XbT, kp, ni, k, P, ldp)
    else:
        _gemm(c'T', c'N', nh, k, ni, <floating>1, W, ni, Xb, ni, <floating>0, P, ldp)


cdef inline void _rank_rows(int ni, int nh, int k, const floating* Xb, const floating* D,
                            int ldd, floating beta, floating* W) noexcept nogil:
    """W (nh x ni, row-major) = beta W - D^T Xb for D's nh columns (row stride
    ldd): the build's own kernel or BLAS."""
    if CYP_OWN_GEMM:
        if floating is float:
            cyp_gemm_rank_f(W, nh, D, ldd, Xb, ni, k, beta)
        else:
            cyp_gemm_rank_d(W, nh, D, ldd, Xb, ni, k, beta)
    else:
        _gemm(c'N', c'T', ni, nh, k, <floating>-1, Xb, ni, D, ldd, beta, W, ni)


cdef inline Py_ssize_t _padded(Py_ssize_t k) noexcept nogil:
    """Columns of the block's transposed inputs XbT: k rounded up to 16, a
    whole number of 512-bit vectors in either type."""
    return (k + 15) // 16 * 16

cdef inline void _gather_block(const floating* X, const Py_ssize_t* ids, Py_ssize_t id_stride,
                               Py_ssize_t m, Py_ssize_t n_x, floating* Xb, floating* XbT,
                               Py_ssize_t kp, int* bad_input) noexcept nogil:
    """Rows ids[0], ids[id_stride], ... (m of them) of X into Xb (m x n_x), and,
    for the build's own products, their transpose into XbT (n_x x kp).  Sets
    ``bad_input[0]`` when a row holds NaN or infinity (checked here, in the
    cache, instead of by a pass of its own over X before the kernel)."""
    cdef Py_ssize_t s
    for s in range(m):
        memcpy(Xb + s * n_x, X + ids[s * id_stride] * n_x, n_x * sizeof(floating))
    if not _all_finite(Xb, m * n_x):
        cyp_flag_set(bad_input, 1)
    if CYP_OWN_GEMM:
        if floating is float:
            cyp_gemm_transpose_f(Xb, m, n_x, XbT, kp)
        else:
            cyp_gemm_transpose_d(Xb, m, n_x, XbT, kp)


cdef inline void _sub_steps(floating* z, const floating* D, const floating* coef,
                            Py_ssize_t count, Py_ssize_t H) noexcept nogil:
    """z -= coef[r] * D[r] for r < count (D's rows H long): the corrections
    of a block's first-layer z for the steps its weights have not taken
    (cyp_sub_steps: z held in registers through the rows of D)."""
    if floating is float:
        cyp_sub_steps_f(z, D, coef, count, H)
    else:
        cyp_sub_steps_d(z, D, coef, count, H)


cdef inline void _block_coefficients(double* coef, double mu, Py_ssize_t k) noexcept nogil:
    """coef[t] = mu^t, coef[k+1 + t] = a_t = 1 + mu + ... + mu^t and coef[2(k+1) + t]
    = c_t = mu + ... + mu^t for t <= k (the momentum's sums; see the top)."""
    cdef double* pw = coef
    cdef double* ac = coef + (k + 1)
    cdef double* cc = ac + (k + 1)
    cdef Py_ssize_t t
    pw[0] = 1
    ac[0] = 1
    cc[0] = 0
    for t in range(1, k + 1):
        pw[t] = pw[t - 1] * mu
        ac[t] = ac[t - 1] + pw[t]
        cc[t] = cc[t - 1] + pw[t]


cdef inline void _block_z(floating* z, const floating* P, const floating* Q,
                          const floating* D, const floating* G, Py_ssize_t s, Py_ssize_t m,
                          Py_ssize_t H, const double* coef, Py_ssize_t k) noexcept nogil:
    """Sample s's first-layer z (without the bias) from the block's products:
    P[s] (+ c_s Q[s] with momentum: Q not NULL) less the steps of the
    block's earlier samples, which its weights have not taken yet."""
    cdef Py_ssize_t j, r
    cdef const double* ac = coef + (k + 1)
    cdef const double* cc = ac + (k + 1)
    cdef floating cs
    for j in range(H):
        z[j] = P[s * H + j]
    if Q == NULL:
        _sub_steps(z, D, G + s * m, s, H)
        return
    cs = <floating>cc[s]
    for j in range(H):
        z[j] += cs * Q[s * H + j]
    for r in range(s):
        _axpy(z, D + r * H, <floating>(-ac[s - 1 - r]) * G[s * m + r], H)


cdef inline void _block_update(floating* W0, floating* V0, const floating* Xb,
                               const floating* D, floating* Ds, Py_ssize_t m, Py_ssize_t n_x,
                               Py_ssize_t H, Py_ssize_t h0, Py_ssize_t h1, const double* coef,
                               Py_ssize_t k) noexcept nogil:
    """Rows h0..h1 of W0 (and of V0, not NULL with momentum) after a block of
    m samples with first-layer steps D (m x H): the rank-m update, and with
    momentum W0 += c_m V0 first and V0's own update after (Ds: scratch,
    m x H; these rows' columns only are written)."""
    cdef const double* pw = coef
    cdef const double* ac = coef + (k + 1)
    cdef const double* cc = ac + (k + 1)
    cdef Py_ssize_t s, j
    cdef int ni = <int>n_x, nh = <int>(h1 - h0), mm = <int>m
    if h1 <= h0:
        return
    if V0 == NULL:
        _rank_rows(ni, nh, mm, Xb, D + h0, <int>H, <floating>1, W0 + h0 * n_x)
        return
    _axpy(W0 + h0 * n_x, V0 + h0 * n_x, <floating>cc[m], (h1 - h0) * n_x)
    for s in range(m):
        for j in range(h0, h1):
            Ds[s * H + j] = <floating>ac[m - 1 - s] * D[s * H + j]
    _rank_rows(ni, nh, mm, Xb, Ds + h0, <int>H, <floating>1, W0 + h0 * n_x)
    for s in range(m):
        for j in range(h0, h1):
            Ds[s * H + j] = <floating>pw[m - 1 - s] * D[s * H + j]
    _rank_rows(ni, nh, mm, Xb, Ds + h0, <int>H, <floating>pw[m], V0 + h0 * n_x)


cdef inline double _block_sample(floating* params, floating* velocity, const Layout* L,
                                 const Slots* ws, floating* work, const Step* st,
                                 const floating* y, floating* steps,
                                 floating* z_trace) noexcept nogil:
    """One sample of a block once its first-layer z (without the bias) is in
    the z slot: adds the bias, records z in z_trace (if not NULL), runs the
    rest of the sample (_sample_rest) with its first-layer steps into
    ``steps``; returns its loss."""
    cdef Py_ssize_t j, H = L.sizes[1]
    cdef floating* z = work + ws.z + L.n_off[0]
    cdef const floating* b0 = params + L.b_off[0]
    for j in range(H):
        z[j] += b0[j]
    if z_trace != NULL:
        memcpy(z_trace, z, H * sizeof(floating))
    return _sample_rest(params, velocity, L, ws, work, st, NULL, y, steps)


def blocked_workspace_size(const Py_ssize_t[::1] sizes, Py_ssize_t block_size):
    """Length of the ``block_work`` buffer of train_epochs_blocked."""
    cdef Py_ssize_t k = block_size, n_in = sizes[0], H = sizes[1]
    return 2 * _slot_size(k, n_in, H)



# ---------------------------------------------------------------------------
# Several threads on one epoch (n_threads > 1): one OpenMP
# region per epoch, W0's rows split between the threads for the whole epoch
# (at multiples of _SPLIT_ROWS), and per block b:
#
#   thread 0 runs block b's samples (the part that is sequential by nature:
#     it needs P_b, G_b (and Q_b with momentum), and writes the steps D_b),
#     then says so;
#   meanwhile the last thread copies block b+1's inputs (and their
#     transpose) into the other slot, then says so;
#   each thread, once D_b is there, applies block b's rank update to its
#     rows of W0 (and of V0); once block b+1's inputs are there, forms its
#     rows' share of P_{b+1} = Xb_{b+1} W0^T (and Q_{b+1} = Xb_{b+1} V0^T);
#     then the threads take the row tiles of block
#     b+1's Gram matrix as they come free (with the build's own products;
#     with BLAS the last thread forms it after the copy);
#   a barrier ends the block.
#
# The two signals (cyp_publish / cyp_wait_for) let thread 0 start on its
# rows while the inputs are still being copied, and the Gram tiles even out
# the rest: on 784-128-10 float32 the samples take about 2/3 of the copy.
# Each thread keeps its rows of W0 (784-128-10 float64: 400 KB each) in its
# own core's cache from block to block, and each element of a product is
# summed as in one call over all rows, so every n_threads gives the bits of
# one thread's schedule (_blocked_block).  Block b's buffers live in slot
# b % 2 (block b fills slot (b+1) % 2, which block b-1 has left).

cdef inline Py_ssize_t _slot_size(Py_ssize_t k, Py_ssize_t n_in, Py_ssize_t H) noexcept nogil:
    """One slot: Xb (k x n_in), XbT (n_in x kp), P, Q, D and Ds (k x H each), G (k x k)."""
    return k * n_in + n_in * _padded(k) + 4 * k * H + k * k


cdef struct _Slot:
    void* Xb     # floating*; void* so that one struct serves both types
    void* XbT
    void* P
    void* Q      # momentum: the block's products with the velocity
    void* D
    void* Ds     # momentum: scaled steps (scratch)
    void* G


cdef inline _Slot _slot(floating* block_work, Py_ssize_t b, Py_ssize_t k,
                        Py_ssize_t n_in, Py_ssize_t H) noexcept nogil:
    cdef _Slot sl
    cdef floating* base = block_work + (b % 2) * _slot_size(k, n_in, H)
    sl.Xb = base
    sl.XbT = base + k * n_in
    sl.P = base + k * n_in + n_in * _padded(k)
    sl.Q = <floating*>sl.P + k * H
    sl.D = <floating*>sl.Q + k * H
    sl.Ds = <floating*>sl.D + k * H
    sl.G = <floating*>sl.Ds + k * H
    return sl


cdef inline void _slot_inputs(floating* block_work, const floating* X, const Py_ssize_t* ids,
                              Py_ssize_t id_stride, Py_ssize_t n, Py_ssize_t k,
                              Py_ssize_t n_in, Py_ssize_t H, Py_ssize_t b,
                              bint gram, int* bad_input) noexcept nogil:
    """Block b's inputs into its slot (rows and transpose), and with ``gram``
    their Gram matrix."""
    cdef _Slot sl = _slot(block_work, b, k, n_in, H)
    cdef Py_ssize_t m = min(k, n - b * k)
    _gather_block(X, ids + b * k * id_stride, id_stride, m, n_in, <floating*>sl.Xb,
                  <floating*>sl.XbT, _padded(k), bad_input)
    if gram:
        _gram_upper(<int>m, <int>n_in, <floating*>sl.Xb, <floating*>sl.XbT, _padded(k),
                    <floating*>sl.G)


cdef inline void _slot_rank(floating* W0, floating* V0, floating* block_work, Py_ssize_t n,
                            Py_ssize_t k, Py_ssize_t n_in, Py_ssize_t H, Py_ssize_t b,
                            Py_ssize_t h0, Py_ssize_t h1, const double* coef) noexcept nogil:
    """Block b's update of rows h0..h1 of W0 (and V0) (_block_update)."""
    cdef _Slot cur = _slot(block_work, b, k, n_in, H)
    _block_update(W0, V0, <floating*>cur.Xb, <floating*>cur.D, <floating*>cur.Ds,
                  min(k, n - b * k), n_in, H, h0, h1, coef, k)


cdef inline void _slot_products(floating* W0, floating* V0, floating* block_work, Py_ssize_t n,
                                Py_ssize_t k, Py_ssize_t n_in, Py_ssize_t H, Py_ssize_t b,
                                Py_ssize_t h0, Py_ssize_t h1) noexcept nogil:
    """Rows h0..h1's share of block b's P_b = Xb_b W0^T (and Q_b = Xb_b V0^T)."""
    cdef _Slot sl = _slot(block_work, b, k, n_in, H)
    cdef int m = <int>min(k, n - b * k)
    if h1 <= h0:
        return
    _xw(<int>(h1 - h0), m, <int>n_in, W0 + h0 * n_in, <floating*>sl.Xb, <floating*>sl.XbT,
        _padded(k), <floating*>sl.P + h0, <int>H)
    if V0 != NULL:
        _xw(<int>(h1 - h0), m, <int>n_in, V0 + h0 * n_in, <floating*>sl.Xb,
            <floating*>sl.XbT, _padded(k), <floating*>sl.Q + h0, <int>H)


cdef inline void _slot_gram_tiles(floating* block_work, Py_ssize_t n, Py_ssize_t k,
                                  Py_ssize_t n_in, Py_ssize_t H, Py_ssize_t b,
                                  int* counter) noexcept nogil:
    """Row tiles (4 rows) of block b's Gram matrix, each taken from ``counter``
    by the first thread free (the own kernel's rows, the bits of one call)."""
    cdef _Slot sl = _slot(block_work, b, k, n_in, H)
    cdef Py_ssize_t m = min(k, n - b * k), r0
    while True:
        r0 = 4 * <Py_ssize_t>cyp_claim(counter)
        if r0 >= m:
            break
        _gram_upper(<int>m, <int>n_in, <floating*>sl.Xb, <floating*>sl.XbT, _padded(k),
                    <floating*>sl.G, r0, min(r0 + 4, m))


cdef inline double _slot_samples(floating* params, floating* velocity, const Layout* L,
                                 const Slots* ws, floating* work, const Step* st,
                                 const floating* Y, const Py_ssize_t* ids, Py_ssize_t id_stride,
                                 Py_ssize_t n, Py_ssize_t k, floating* block_work,
                                 Py_ssize_t b, const double* coef,
                                 floating* z_trace) noexcept nogil:
    """Block b's samples, one after the other, as _blocked_block runs them;
    returns their summed loss."""
    cdef Py_ssize_t n_x = L.sizes[0], H = L.sizes[1], n_last = L.sizes[L.n_layers]
    cdef Py_ssize_t m = min(k, n - b * k), s
    cdef _Slot cur = _slot(block_work, b, k, n_x, H)
    cdef floating* D = <floating*>cur.D
    cdef floating* z = work + ws.z + L.n_off[0]
    cdef double total = 0
    for s in range(m):
        _block_z(z, <floating*>cur.P, NULL if velocity == NULL else <floating*>cur.Q, D,
                 <floating*>cur.G, s, m, H, coef, k)
        total += _block_sample(params, velocity, L, ws, work, st,
                               Y + ids[(b * k + s) * id_stride] * n_last, D + s * H,
                               _at(z_trace, (b * k + s) * H))
    return total


cdef inline double _blocked_block(floating* params, floating* velocity, const Layout* L,
                                  const Slots* ws, floating* work, const Step* st,
                                  const floating* X, const floating* Y,
                                  const Py_ssize_t* ids, Py_ssize_t id_stride, Py_ssize_t n,
                                  Py_ssize_t k, Py_ssize_t b, floating* block_work,
                                  const double* coef, floating* z_trace,
                                  int* bad_input) noexcept nogil:
    """Block b of an epoch of n samples (ids[0], ids[id_stride], ...) in
    blocks of k, on one thread, through the same slot steps as the threads
    take (_blocked_epoch_threads); returns the block's summed loss.

    ``z_trace`` (n x H, or NULL) receives each sample's first-layer z;
    ``coef`` holds _block_coefficients for blocks of up to k samples.
    """
    cdef Py_ssize_t n_x = L.sizes[0], H = L.sizes[1]
    cdef floating* W0 = params + L.w_off[0]
    cdef floating* V0 = _at(velocity, L.w_off[0])
    cdef double total
    _slot_inputs(block_work, X, ids, id_stride, n, k, n_x, H, b, True, bad_input)
    _slot_products(W0, V0, block_work, n, k, n_x, H, b, 0, H)
    total = _slot_samples(params, velocity, L, ws, work, st, Y, ids, id_stride, n, k,
                          block_work, b, coef, z_trace)
    _slot_rank(W0, V0, block_work, n, k, n_x, H, b, 0, H, coef)
    return total


cdef inline double _blocked_epoch_threads(floating* params, floating* velocity,
                                          const Layout* L, const Slots* ws,
                                          floating* work, const Step* st,
                                          const floating* X, const floating* Y,
                                          const Py_ssize_t* ids, Py_ssize_t id_stride,
                                          Py_ssize_t n, Py_ssize_t k, floating* block_work,
                                          const double* coef, floating* z_trace,
                                          Py_ssize_t n_threads, int flush,
                                          cyp_fp_mode caller_mode, cyp_interrupt* intr,
                                          int* bad_input) noexcept nogil:
    """One epoch of n samples (ids[0], ids[id_stride], ...) in blocks of k on
    n_threads threads, as above; returns the summed loss.  Stops before a
    block's rank update when intr says so (the caller restores the epoch's
    weights).  ``flush``: every thread runs with subnormals flushed to zero
    (csrc/cyprop_fpmode.h), as the caller does; then the others take
    ``caller_mode`` (_fp_leave)."""
    cdef Py_ssize_t n_x = L.sizes[0], H = L.sizes[1]
    cdef Py_ssize_t n_blocks = (n + k - 1) // k
    cdef floating* W0 = params + L.w_off[0]
    cdef floating* V0 = _at(velocity, L.w_off[0])
    cdef int stop_at = -2   # the block at which every thread stops (Ctrl-C)
    cdef int signals[2]     # the last block whose steps D / next inputs are ready
    cdef int gram_tiles[2]  # Gram row tiles taken, per block parity
    cdef double total = 0
    cdef int* stop_p = &stop_at
    cdef int* steps_ready = &signals[0]
    cdef int* inputs_ready = &signals[1]
    cdef int* tiles = gram_tiles
    cdef double* total_p = &total
    cdef Py_ssize_t b, tid, team, h0, h1
    cdef cyp_fp_mode mode
    signals[0] = signals[1] = -1
    gram_tiles[0] = gram_tiles[1] = 0
    _slot_inputs(block_work, X, ids, id_stride, n, k, n_x, H, 0, True, bad_input)
    with parallel(num_threads=_team(n_threads)):
        mode = cyp_fp_flush(flush)
        tid = threadid()
        team = cyp_team_size()
        h0 = _split_row(tid, team, <int>H)
        h1 = _split_row(tid + 1, team, <int>H)
        _slot_products(W0, V0, block_work, n, k, n_x, H, 0, h0, h1)   # P_0 (Q_0)
        cyp_barrier()
        b = 0
        while b < n_blocks:
            if tid == 0:
                tiles[(b + 1) % 2] = 0   # the next block's (this one's may be in use)
                if cyp_interrupted_clocked(intr):   # (a block waits for the others)
                    # the block, not a yes/no: every thread stops at this one
                    cyp_flag_set(stop_p, <int>b)
                else:
                    total_p[0] += _slot_samples(params, velocity, L, ws, work, st, Y, ids,
                                                id_stride, n, k, block_work, b, coef, z_trace)
                cyp_publish(steps_ready, <int>b)
            if tid == team - 1 and b + 1 < n_blocks:
                # (with BLAS, the Gram matrix too)
                _slot_inputs(block_work, X, ids, id_stride, n, k, n_x, H, b + 1,
                             not CYP_OWN_GEMM, bad_input)
                cyp_publish(inputs_ready, <int>b)
            cyp_wait_for(steps_ready, <int>b)
            if cyp_flag_get(stop_p) == b:   # (set before the signal)
                break
            _slot_rank(W0, V0, block_work, n, k, n_x, H, b, h0, h1, coef)
            if b + 1 < n_blocks:
                cyp_wait_for(inputs_ready, <int>b)
                _slot_products(W0, V0, block_work, n, k, n_x, H, b + 1, h0, h1)
                if CYP_OWN_GEMM:
                    _slot_gram_tiles(block_work, n, k, n_x, H, b + 1, &tiles[b % 2])
            cyp_barrier()
            b = b + 1
        _fp_leave(mode, caller_mode)
    return total


def train_epochs_blocked(floating[::1] params, floating[::1] velocity, floating[::1] backup,
                         floating[::1] work, floating[::1] block_work, double[::1] coef,
                         const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
                         const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
                         const int[::1] acts, int loss, bint train_bias,
                         const floating[:, ::1] X, const floating[:, ::1] Y,
                         const Py_ssize_t[:, :] order, double eta, double momentum,
                         Py_ssize_t block_size, double[::1] epoch_loss,
                         floating[:, ::1] z_trace=None, int n_threads=1,
                         bint flush_denormals=True):
    """Online SGD with the blocked first-layer schedule; see train_epochs.

    The same contract as ``train_epochs(..., batch_size=0)`` (one epoch per
    row of ``order``, ``epoch_loss`` filled in, -1 or the first diverging
    epoch returned with the weights restored), except that the kernel checks
    the rows of X it visits itself: it returns -2, with the weights of the
    epoch's start, when one holds NaN or infinity (the caller need not check
    X first when the epochs visit every row); plus

    Parameters
    ----------
    block_work : (blocked_workspace_size(sizes, block_size),) scratch
    coef : (3 * (block_size + 1),) float64 scratch
    block_size : samples per block (blocks do not cross epochs)
    z_trace : (n_epochs * n_samples, sizes[1]) or None; if given, changed in
        place: the first-layer pre-activations z of every sample as visited
        (for testing)
    n_threads : more than 1: W0's rows are split between this many threads
        (OpenMP), at multiples of 16 rows, every element of a product one dot
        product as with one thread.  Each epoch runs in one parallel region
        (see _blocked_epoch_threads: one thread runs a block's samples while
        another gathers the next block's inputs, then every thread updates
        its rows, and the velocity's, and forms their share of the next
        products).  With the build's own products every n_threads gives one
        thread's bits.
        The BLAS must run single-threaded (cyprop._threads.blas_single_threaded)
        when n_threads > 1 and the build uses it.
    flush_denormals : subnormals flushed to zero on every thread, as in
        train_epochs

    load_blas() must have been called, unless own_products().
    """
    cdef Layout L
    cdef Slots ws
    cdef Step st
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t n_epochs = order.shape[0], n_samples = order.shape[1]
    cdef Py_ssize_t e, s, k = block_size
    cdef Py_ssize_t id_stride = order.strides[1] // <Py_ssize_t>sizeof(Py_ssize_t)
    cdef floating* P = &params[0]
    cdef floating* V = _ptr_or_null(velocity)
    cdef floating* W = &work[0]
    cdef double total
    cdef Py_ssize_t failed = -1
    cdef floating* zt = NULL
    cdef cyp_fp_mode fp_mode

    if not _products_ready():
        raise RuntimeError("train_epochs_blocked needs load_blas() first")
    _prologue(&L, &ws, sizes, w_off, b_off, n_off, acts, n_params, work.shape[0],
              X.shape[0], X.shape[1], Y.shape[0], Y.shape[1])
    L.loss = loss
    L.train_bias = train_bias
    if epoch_loss.shape[0] < n_epochs:
        raise ValueError("epoch_loss is shorter than the number of epochs")
    if k < 1:
        raise ValueError("block_size must be positive")
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    cdef Py_ssize_t n_chunks = min(<Py_ssize_t>n_threads,
                                   (sizes[1] + _SPLIT_ROWS - 1) // _SPLIT_ROWS)
    if sizes[0] > _INT_MAX or sizes[1] > _INT_MAX or k > _INT_MAX \
            or sizes[0] * sizes[1] > _INT_MAX or k * sizes[0] > _INT_MAX:
        raise ValueError("layer sizes or block_size too large for BLAS")
    if backup.shape[0] < 2 * n_params or (momentum != 0 and velocity.shape[0] < n_params) \
            or block_work.shape[0] < blocked_workspace_size(sizes, k) \
            or coef.shape[0] < 3 * (k + 1):
        raise ValueError("scratch buffers too small for this network")
    if order.strides[1] % <Py_ssize_t>sizeof(Py_ssize_t) != 0 or order.strides[1] < 0:
        raise ValueError("order must have non-negative, element-aligned strides")
    # the blocked algebra holds for plain SGD and classical momentum only
    st.eta = eta
    st.mu = momentum
    st.l2 = 0   # the blocked algebra has no L2 term (resolve_schedule refuses it)
    st.l2_loss_scale = 1   # nor Adam (the same)
    st.adam_eta = st.beta_1 = st.beta_2 = st.eps = st.t = st.lr_t = st.lr_pending = 0
    st.defer_l2 = False
    st.stride = n_params
    st.opt = CYP_OPT_SGD if momentum == 0 else CYP_OPT_MOMENTUM
    if momentum == 0:
        V = NULL
    if n_samples == 0 or n_epochs == 0:
        return -1
    if z_trace is not None:
        if z_trace.shape[0] < n_epochs * n_samples or z_trace.shape[1] != sizes[1]:
            raise ValueError("z_trace must have shape (n_epochs * n_samples, sizes[1])")
        zt = &z_trace[0, 0]
    for e in range(n_epochs):
        for s in range(n_samples):
            if order[e, s] < 0 or order[e, s] >= X.shape[0]:
                raise ValueError("sample order holds an index outside X")

    cdef cyp_interrupt intr  # Ctrl-C / cancel (csrc/cyprop_interrupt.h)
    cdef int bad_input = 0   # a row of X with NaN or infinity (set by any thread)
    _block_coefficients(&coef[0], momentum, k)
    cyp_interrupt_init(&intr)
    fp_mode = cyp_fp_flush(flush_denormals)
    with nogil:
        for e in range(n_epochs):
            memcpy(&backup[0], P, n_params * sizeof(floating))
            if V != NULL:
                memcpy(&backup[n_params], V, n_params * sizeof(floating))
            total = 0
            s = 0
            if n_chunks > 1:
                total = _blocked_epoch_threads(P, V, &L, &ws, W, &st, &X[0, 0], &Y[0, 0],
                                               &order[e, 0], id_stride, n_samples, k,
                                               &block_work[0], &coef[0],
                                               _at(zt, e * n_samples * sizes[1]), n_chunks,
                                               flush_denormals, fp_mode, &intr, &bad_input)
                s = n_samples
            while s < n_samples:
                # one block
                if cyp_interrupted(&intr): break
                total += _blocked_block(P, V, &L, &ws, W, &st, &X[0, 0], &Y[0, 0],
                                        &order[e, 0], id_stride, n_samples, k, s // k,
                                        &block_work[0], &coef[0],
                                        _at(zt, e * n_samples * sizes[1]), &bad_input)
                s += k
            if not intr.stopped:
                epoch_loss[e] = total / n_samples
            if intr.stopped or bad_input or not isfinite(epoch_loss[e]) \
                    or not _all_finite(P, n_params):
                memcpy(P, &backup[0], n_params * sizeof(floating))
                if V != NULL:
                    memcpy(V, &backup[n_params], n_params * sizeof(floating))
                failed = -2 if bad_input else -1 if intr.stopped else e
                break
    cyp_fp_restore(fp_mode)
    cyp_interrupt_raise(&intr)  # Ctrl-C: the weights are those of the last completed epoch
    return failed


def block_products(floating[:, ::1] W, const floating[:, ::1] Xb, const floating[:, ::1] D,
                   floating[:, ::1] P, floating[:, ::1] G, double beta, Py_ssize_t reps=1):
    """The blocked schedule's three products on their own, as a block runs them
    (for the tests, against NumPy, and the benchmark's GEMM rate).

    Parameters
    ----------
    W : (H, n_in), changed in place: ``W = beta W - D^T Xb`` after P is formed
    Xb : (m, n_in), the block's inputs
    D : (m, H)
    P : (m, H), changed in place: ``Xb W^T`` (W as given)
    G : (m, m), changed in place: ``G[s, r] = Xb[r] . Xb[s]`` for r <= s
        (the entries above the diagonal are unspecified)
    reps : the products are run this many times (P and G are the same each
        time; W is updated each time)
    """
    cdef Py_ssize_t m = Xb.shape[0], ni = Xb.shape[1], H = W.shape[0], kp = _padded(m), r
    if W.shape[1] != ni or D.shape[0] != m or D.shape[1] != H or P.shape[0] != m \
            or P.shape[1] != H or G.shape[0] != m or G.shape[1] != m:
        raise ValueError("block_products: shapes do not match")
    if m < 1 or ni < 1 or H < 1 or reps < 0:
        raise ValueError("block_products: empty block or negative reps")
    if max(m, ni, H) > _INT_MAX or ni * H > _INT_MAX or m * ni > _INT_MAX:
        raise ValueError("block_products: too large for BLAS")
    if not _products_ready():
        raise RuntimeError("block_products needs load_blas() first")
    cdef floating* XbT = <floating*>malloc(ni * kp * sizeof(floating))
    if XbT == NULL:
        raise MemoryError()
    with nogil:
        for r in range(reps):
            if CYP_OWN_GEMM:
                if floating is float:
                    cyp_gemm_transpose_f(&Xb[0, 0], m, ni, XbT, kp)
                else:
                    cyp_gemm_transpose_d(&Xb[0, 0], m, ni, XbT, kp)
            _xw(<int>H, <int>m, <int>ni, &W[0, 0], &Xb[0, 0], XbT, kp, &P[0, 0], <int>H)
            _gram_upper(<int>m, <int>ni, &Xb[0, 0], XbT, kp, &G[0, 0])
            _rank_rows(<int>ni, <int>H, <int>m, &Xb[0, 0], &D[0, 0], <int>H, <floating>beta,
                       &W[0, 0])
    free(XbT)
