# Network kernels: forward pass, backward pass and in-place updates of a
# fully-connected network, one sample at a time (online) or a block of
# samples side by side (batch and mini-batch).
#
# This file is included by network_base.pyx, network_avx2.pyx and
# network_avx512.pyx, which setup.py compiles with different instruction
# sets; cyprop._kernels picks one at import time.  Nothing here is called from Python per sample: each
# public function runs its whole loop inside one `with nogil:` block.
#
# Parameter layout (see cyprop.network): one flat buffer `params`; layer l
# maps sizes[l] inputs to sizes[l+1] outputs with a row-major weight matrix
# W_l of shape (n_out, n_in) at params[w_off[l]:] and a bias vector b_l at
# params[b_off[l]:].  Node buffers z (pre-activations) and a (activations)
# hold every non-input layer back to back; layer l starts at n_off[l].
#
# Plumbing: every public kernel starts with _prologue, which checks the
# layout arrays once and fills a Layout (the network's shape) and a Slots
# (where each scratch buffer sits in `work`); the loops get both by pointer.
# Every weight update goes through one rule per optimizer (cyp_rule in
# csrc/cyprop_simd_impl.h), whichever mode calls it.

from libc.math cimport exp, log, log1p, isfinite, tanh, tanhf, pow, sqrt
from libc.string cimport memcpy, memset
from libc.stdlib cimport malloc, free
from cython cimport floating
from cython.parallel cimport prange, parallel, threadid

from cyprop_simd cimport *
from cyprop_interrupt cimport *
from cyprop_threads cimport *
from cyprop_fpmode cimport *

# Codes shared with cyprop.network (exported below as dicts).
cdef enum:
    ACT_IDENTITY = 0
    ACT_SIGMOID = 1
    ACT_TANH = 2
    ACT_RELU = 3
    ACT_LEAKY_RELU = 4
    ACT_RBF = 5
    ACT_SOFTMAX = 6

cdef enum:
    LOSS_SQUARED_ERROR = 0
    LOSS_CROSS_ENTROPY = 1

cdef enum:
    # Batch and mini-batch modes keep the weights fixed within a batch, so the
    # samples of a batch are independent: they are processed BLOCK at a time,
    # one sample per SIMD lane (node buffers laid out [unit][lane]).  The
    # gradient is the same sum of per-sample gradients, summed in blocks.
    BLOCK = 8
    # float with AVX-512 (CYP_WIDE_F32): 16 samples side by side, one vector
    # of floats, summed as two blocks of 8 (_block_step)
    WIDE = 16

ACTIVATIONS = {
    "identity": ACT_IDENTITY, "sigmoid": ACT_SIGMOID, "tanh": ACT_TANH,
    "relu": ACT_RELU, "leaky_relu": ACT_LEAKY_RELU, "rbf": ACT_RBF,
    "softmax": ACT_SOFTMAX,
}
LOSSES = {"squared_error": LOSS_SQUARED_ERROR, "cross_entropy": LOSS_CROSS_ENTROPY}
cdef double _LEAKY = 0.01   # slope of leaky_relu for z <= 0


cdef struct Layout:
    # The network's shape, read-only for the loops (pointers into the
    # caller's layout arrays, checked by _prologue).
    const Py_ssize_t* sizes    # (n_layers + 1,) units per layer, input first
    const Py_ssize_t* w_off    # (n_layers,) where W_l starts in params
    const Py_ssize_t* b_off    # (n_layers,) where b_l starts in params
    const Py_ssize_t* n_off    # (n_layers,) where layer l's units start in z, a
    const int* acts            # (n_layers,) activation codes
    Py_ssize_t n_layers
    Py_ssize_t n_nodes         # units of all non-input layers
    Py_ssize_t widest          # the widest layer, input included
    int loss
    bint train_bias


cdef struct Slots:
    # Where each scratch buffer starts in `work` (element offsets); _slots
    # is the one description of the workspace.  Per sample: z, a (n_nodes),
    # delta, delta_prev, back, pending (widest).  Per block of samples,
    # [unit][lane]: zB, aB (n_nodes * WIDE), xB (sizes[0] * WIDE), dB, dpB,
    # backB, aT (widest * WIDE), col (3 output columns), yB, mask (output *
    # WIDE), half (5 output columns of 8 lanes: a 16-lane block's halves).
    # Online: xc, the copies of the sample's input (see _plan_inputs), and
    # pick, their choice per first-layer row (bytes).
    Py_ssize_t z, a, delta, delta_prev, back, pending, steps
    Py_ssize_t zB, aB, xB, dB, dpB, backB, aT, col, yB, mask, half, xc, pick
    Py_ssize_t end             # the workspace's length


cdef struct Step:
    # One optimizer step: the rule (CYP_OPT_*), learning rate, momentum,
    # and the L2 coefficient (scikit-learn's alpha; 0: no penalty).
    int opt
    double eta
    double mu
    double l2
    double l2_loss_scale   # the penalty's weight in the reported loss (1: as in the gradient)
    # Adam (opt == CYP_OPT_ADAM; see _adam_tick): eta above is then 1, so the
    # rules get the gradient itself; adam_eta is the learning rate
    double adam_eta, beta_1, beta_2, eps
    double t               # updates taken so far
    double lr_t            # eta * sqrt(1 - beta_2^t) / (1 - beta_1^t) of update t
    double lr_pending      # that of the deferred first-layer update (update t - 1)
    bint defer_l2          # online: defer W_0's update with the L2 term too
                           # (see train_epochs)
    Py_ssize_t stride      # where the second state starts in velocity (_second_offset)
    cyp_rprop_consts rprop     # iRprop-'s constants (opt == CYP_OPT_RPROP)


def cpu_has_avx2_fma():
    """True when the running CPU supports AVX2 and FMA."""
    return bool(cyp_cpu_has_avx2_fma())


def cpu_has_avx512():
    """True when the running CPU has AVX-512 F/VL/DQ/BW and FMA and the OS
    saves the zmm and opmask state (XCR0 bits 1, 2, 5, 6, 7)."""
    return bool(cyp_cpu_has_avx512())


# 1 in a process forked from one that may have run OpenMP threads: GNU
# libgomp's thread pool does not survive fork (a parallel region there
# hangs), so the parallel loops then run their chunks on one thread (the
# same chunks, so the same results).  Set by cyprop._threads at fork.
cdef int _forked = 0


def openmp_after_fork():
    """In a forked child: run the parallel loops' chunks on the calling thread."""
    global _forked
    _forked = 1


cdef inline Py_ssize_t _team(Py_ssize_t n_chunks) noexcept nogil:
    """Threads for a parallel loop over n_chunks chunks (1 after fork)."""
    return 1 if _forked else n_chunks


def openmp_threads():
    """Threads a parallel loop of these kernels can get: 0 when they were
    built without OpenMP (every loop runs on the calling thread), otherwise
    OpenMP's ``omp_get_max_threads()`` (which follows OMP_NUM_THREADS)."""
    return cyp_omp_max_threads() if cyp_openmp() else 0


def can_flush_denormals():
    """Whether this build can flush subnormals to zero while training (x86
    with SSE, 64-bit ARM; csrc/cyprop_fpmode.h): elsewhere ``flush_denormals``
    changes nothing."""
    return bool(cyp_fp_can_flush())


def xcr0():
    """XCR0 (the register XGETBV reads), or 0 where there is none."""
    return cyp_xcr0()


# ----------------------------------------------------------------------------
# float32 / float64: the one place that picks the C helper for the type

cdef inline floating _exp(floating v) noexcept nogil:
    # csrc/cyprop_simd.h: branch-free, vectorisable, within 2 ulp
    if floating is float:
        return cyp_exp_f(v)
    else:
        return cyp_exp_d(v)


cdef inline floating _tanh(floating v) noexcept nogil:
    if floating is float:
        return tanhf(v)
    else:
        return tanh(v)


cdef inline floating _dot(const floating* w, const floating* a, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return cyp_dot_f(w, a, n)
    else:
        return cyp_dot_d(w, a, n)


cdef inline void _axpy(floating* y, const floating* x, floating w, Py_ssize_t n) noexcept nogil:
    # y[i] += x[i] * w
    if floating is float:
        cyp_axpy_f(y, x, w, n)
    else:
        cyp_axpy_d(y, x, w, n)


# a block of BLOCK (8) samples, [unit][lane] (csrc/cyprop_simd_impl.h)

cdef inline void _block_forward(const floating* W, const floating* b, const floating* a,
                                floating* z, Py_ssize_t n_in, Py_ssize_t n_out,
                                Py_ssize_t lanes) noexcept nogil:
    # z[j, :] = sum_i W[j, i] a[i, :] + b[j] (lanes: BLOCK or WIDE)
    if floating is float:
        cyp_block_forward_f(W, b, a, z, n_in, n_out, lanes)
    else:
        cyp_block_forward_d(W, b, a, z, n_in, n_out, lanes)


cdef inline void _block_back(const floating* W, const floating* delta, floating* back,
                             Py_ssize_t n_in, Py_ssize_t n_out, Py_ssize_t lanes) noexcept nogil:
    # back[i, :] = sum_j W[j, i] delta[j, :]
    if floating is float:
        cyp_block_back_f(W, delta, back, n_in, n_out, lanes)
    else:
        cyp_block_back_d(W, delta, back, n_in, n_out, lanes)


cdef inline void _block_grad(floating* G, const floating* delta, const floating* a,
                             floating* aT, Py_ssize_t n_in, Py_ssize_t n_out,
                             Py_ssize_t lanes) noexcept nogil:
    # G[j, i] += sum over lanes of delta[j, :] a[i, :], each BLOCK of lanes
    # summed by its own 8-lane tree and added in lane order, as separate
    # blocks of BLOCK would add theirs (aT: scratch, lanes * n_in)
    cdef Py_ssize_t h = 0
    if floating is float:
        cyp_block_transpose_f(a, aT, n_in, lanes)
    else:
        cyp_block_transpose_d(a, aT, n_in, lanes)
    while h < lanes:
        if floating is float:
            cyp_block8_grad_f(G, delta + h, lanes, aT + h * n_in, n_in, n_out)
        else:
            cyp_block8_grad_d(G, delta + h, lanes, aT + h * n_in, n_in, n_out)
        h += BLOCK


cdef inline void _sigmoid(const floating* z, floating* a, Py_ssize_t n) noexcept nogil:
    if floating is float:
        cyp_sigmoid_f(z, a, n)
    else:
        cyp_sigmoid_d(z, a, n)


cdef inline void _rbf(const floating* z, floating* a, Py_ssize_t n) noexcept nogil:
    if floating is float:
        cyp_rbf_f(z, a, n)
    else:
        cyp_rbf_d(z, a, n)


cdef inline floating _exp_shifted(const floating* z, floating* a, floating shift,
                                  Py_ssize_t n) noexcept nogil:
    if floating is float:
        return cyp_exp_shifted_f(z, a, shift, n)
    else:
        return cyp_exp_shifted_d(z, a, shift, n)


cdef inline double _sigmoid_xent(const floating* z, const floating* a, const floating* t,
                                 const floating* mask, floating* delta,
                                 Py_ssize_t n) noexcept nogil:
    if floating is float:
        return cyp_sigmoid_xent_f(z, a, t, mask, delta, n)
    else:
        return cyp_sigmoid_xent_d(z, a, t, mask, delta, n)


cdef inline double _squared_error(const floating* a, const floating* t, const floating* mask,
                                  floating* err, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return cyp_squared_error_f(a, t, mask, err, n)
    else:
        return cyp_squared_error_d(a, t, mask, err, n)


cdef inline double _squared_error_weighted(const floating* a, const floating* t,
                                           const floating* mask, floating* err,
                                           Py_ssize_t n) noexcept nogil:
    # mask holds each lane's sample weight
    if floating is float:
        return cyp_squared_error_weighted_f(a, t, mask, err, n)
    else:
        return cyp_squared_error_weighted_d(a, t, mask, err, n)


# the update rule (see Step): one parameter, a row fused with a pass, a gradient

cdef inline cyp_hyper_d _hyper_d(const Step* st, double lr) noexcept nogil:
    # the rule's constants (cyprop_simd_impl.h), Adam's step lr_t = lr
    cdef cyp_hyper_d h
    h.mu = st.mu
    h.lr = lr
    h.beta_1 = st.beta_1
    h.one_minus_beta_1 = 1.0 - st.beta_1
    h.beta_2 = st.beta_2
    h.one_minus_beta_2 = 1.0 - st.beta_2
    h.eps = st.eps
    h.stride = st.stride
    return h


cdef inline cyp_hyper_f _hyper_f(const Step* st, double lr) noexcept nogil:
    # the same in float (each constant computed in double, rounded once)
    cdef cyp_hyper_f h
    h.mu = <float>st.mu
    h.lr = <float>lr
    h.beta_1 = <float>st.beta_1
    h.one_minus_beta_1 = <float>(1.0 - st.beta_1)
    h.beta_2 = <float>st.beta_2
    h.one_minus_beta_2 = <float>(1.0 - st.beta_2)
    h.eps = <float>st.eps
    h.stride = st.stride
    return h


cdef inline void _adam_tick(Step* st) noexcept nogil:
    # Adam: one more update, t += 1, and its bias-corrected learning rate
    # (cyprop._reference.optimizers.adam_step's expression, in double)
    st.lr_pending = st.lr_t
    st.t += 1
    st.lr_t = st.adam_eta * sqrt(1.0 - pow(st.beta_2, st.t)) / (1.0 - pow(st.beta_1, st.t))


cdef inline void _update_one(const Step* st, floating* w, floating* v, Py_ssize_t k,
                             floating step) noexcept nogil:
    # w[k] moves by step (a bias)
    if floating is float:
        cyp_update_one_f(st.opt, w, v, k, step, _hyper_f(st, st.lr_t))
    else:
        cyp_update_one_d(st.opt, w, v, k, step, _hyper_d(st, st.lr_t))


cdef inline void _deferred_layer(const Step* st, floating* W, floating* V,
                                 const cyp_inputs* inputs, const floating* steps,
                                 const floating* b, floating* z, double* sq, double* row_sq,
                                 Py_ssize_t n_in, Py_ssize_t n_out) noexcept nogil:
    # row j of W moves by steps[j] * a_old, then z[j] = W[j] . x + b[j] (one
    # pass over W; the rule chosen once for the layer; the previous sample's
    # update, so Adam's lr_pending); a_old and x are the previous and this
    # sample's inputs, in the copies inputs.pick[j] names.  With sq or row_sq
    # (not NULL) the rule has the L2 term, and each old row's sum of squares
    # goes to row_sq[j] (row_sq not NULL) or is added to *sq, rows in order
    if sq != NULL or row_sq != NULL:
        if floating is float:
            cyp_deferred_layer_l2_f(st.opt, W, V, inputs, steps, <float>(st.eta * st.l2), sq,
                                    row_sq, _hyper_f(st, st.lr_pending), b, z, n_in, n_out)
        else:
            cyp_deferred_layer_l2_d(st.opt, W, V, inputs, steps, st.eta * st.l2, sq, row_sq,
                                    _hyper_d(st, st.lr_pending), b, z, n_in, n_out)
    elif floating is float:
        cyp_deferred_layer_f(st.opt, W, V, inputs, steps, _hyper_f(st, st.lr_pending), b, z,
                             n_in, n_out)
    else:
        cyp_deferred_layer_d(st.opt, W, V, inputs, steps, _hyper_d(st, st.lr_pending), b, z,
                             n_in, n_out)


cdef inline void _row_step(const Step* st, floating* w, floating* v, const floating* a,
                           floating step, Py_ssize_t n) noexcept nogil:
    # w moves by step * a (one row)
    if floating is float:
        cyp_row_step_f(st.opt, w, v, a, step, _hyper_f(st, st.lr_t), n)
    else:
        cyp_row_step_d(st.opt, w, v, a, step, _hyper_d(st, st.lr_t), n)


cdef inline void _layer_steps(const Step* st, floating* b, floating* v_b, floating* steps,
                              const floating* delta, bint train_bias,
                              Py_ssize_t n) noexcept nogil:
    # steps[j] = eta * delta[j]; the biases move by them (with train_bias)
    if floating is float:
        cyp_layer_steps_f(st.opt, b, v_b, steps, delta, st.eta, train_bias,
                          _hyper_f(st, st.lr_t), n)
    else:
        cyp_layer_steps_d(st.opt, b, v_b, steps, delta, st.eta, train_bias,
                          _hyper_d(st, st.lr_t), n)


cdef inline void _backprop_layer(const Step* st, floating* W, floating* V, floating* back,
                                 const floating* a_prev, const floating* delta,
                                 const floating* steps, double* sq, Py_ssize_t n_in,
                                 Py_ssize_t n_out) noexcept nogil:
    # back = W^T delta (old W), then row j of W moves by steps[j] * a_prev
    # (with the L2 term: plus eta * l2 * W, and *sq += ||old W||^2); column
    # blocks, see cyp_backprop_layer in csrc
    if floating is float:
        cyp_backprop_layer_f(st.opt, st.l2 != 0, W, V, back, a_prev, delta, steps,
                             <float>(st.eta * st.l2), sq, _hyper_f(st, st.lr_t), n_in, n_out)
    else:
        cyp_backprop_layer_d(st.opt, st.l2 != 0, W, V, back, a_prev, delta, steps,
                             st.eta * st.l2, sq, _hyper_d(st, st.lr_t), n_in, n_out)


cdef inline void _apply_gradient(const Step* st, floating* params, floating* grad,
                                 floating* velocity, double scale, Py_ssize_t n) noexcept nogil:
    # params move by scale * eta * grad; grad = 0
    if floating is float:
        cyp_apply_gradient_f(st.opt, params, grad, velocity, st.eta, scale,
                             _hyper_f(st, st.lr_t), n)
    else:
        cyp_apply_gradient_d(st.opt, params, grad, velocity, st.eta, scale,
                             _hyper_d(st, st.lr_t), n)


cdef inline void _rprop_apply(const Step* st, floating* params, floating* grad,
                              floating* state, Py_ssize_t n) noexcept nogil:
    # iRprop- along the batch's gradient; state = [signs (n) | step sizes (n) from
    # st.stride]; grad = 0
    if floating is float:
        cyp_rprop_apply_f(params, grad, state, state + st.stride, &st.rprop, n)
    else:
        cyp_rprop_apply_d(params, grad, state, state + st.stride, &st.rprop, n)


cdef inline Py_ssize_t _second_offset(Py_ssize_t n, Py_ssize_t itemsize) noexcept nogil:
    # where an optimizer's second state starts in its buffer: the smallest
    # offset >= n at 2048 bytes modulo 4096 (cyprop._aligned.second_offset)
    return n + ((2048 - (n * itemsize) % 4096 + 4096) % 4096) // itemsize


def second_offset(Py_ssize_t n, Py_ssize_t itemsize):
    """The offset (elements) of Adam's v / iRprop-'s step sizes in the state
    buffer for n parameters of itemsize bytes (the same as cyprop._aligned's)."""
    if n < 0 or itemsize not in (4, 8):
        raise ValueError("second_offset: n >= 0 and itemsize 4 or 8")
    return _second_offset(n, itemsize)


cdef inline floating* _at(floating* base, Py_ssize_t offset) noexcept nogil:
    # base + offset, or NULL for an absent buffer (no velocity without momentum)
    return NULL if base == NULL else base + offset


cdef inline double _l2_row_step(const Step* st, floating* w, floating* v, const floating* a,
                                floating step, Py_ssize_t n) noexcept nogil:
    """A first-layer weight row's online step with the L2 term (one sample,
    n = 1): the rule with the step ``u = step * a[i] + eta * l2 * w[i]`` (the
    old w).  Returns sum w[i]^2 of the old row (the penalty's share).  One
    vectorised pass (cyp_l2_row_step in csrc: cyp_rule_l2, the rule chosen
    once per row); for rows of CYP_L2_ROW_MIN inputs and more."""
    if floating is float:
        return cyp_l2_row_step_f(st.opt, w, v, a, step, <float>(st.eta * st.l2),
                                 _hyper_f(st, st.lr_t), n)
    else:
        return cyp_l2_row_step_d(st.opt, w, v, a, step, st.eta * st.l2,
                                 _hyper_d(st, st.lr_t), n)


cdef inline double _add_l2_gradient(const Layout* L, const floating* params, floating* grad,
                                    double l2) noexcept nogil:
    """grad += l2 * W over every weight matrix (not the biases), added to a
    batch's summed gradient before its mean is taken (so the step is
    ``(sum_s dW_s + l2 W) / n``).  Returns sum ||W||^2."""
    cdef Py_ssize_t l, k, n
    cdef const floating* W
    cdef floating* G
    cdef floating lam = <floating>l2
    cdef double sq = 0
    for l in range(L.n_layers):
        n = L.sizes[l] * L.sizes[l + 1]
        W = params + L.w_off[l]
        G = grad + L.w_off[l]
        for k in range(n):
            sq += <double>W[k] * W[k]
            G[k] += lam * W[k]
    return sq


# ----------------------------------------------------------------------------
# scalar helpers

def fast_log(const double[::1] x, double[::1] out):
    """out[i] = log(x[i]) with csrc's vectorisable log (exposed for testing)."""
    cdef Py_ssize_t i
    if out.shape[0] != x.shape[0]:
        raise ValueError("x and out differ in length")
    with nogil:
        for i in range(x.shape[0]):
            out[i] = cyp_log_d(x[i])


def fast_exp(const floating[::1] x, floating[::1] out):
    """out[i] = exp(x[i]) with the kernels' own exp (exposed for testing)."""
    cdef Py_ssize_t i
    if out.shape[0] != x.shape[0]:
        raise ValueError("x and out differ in length")
    with nogil:
        for i in range(x.shape[0]):
            out[i] = _exp(x[i])


cdef inline double _softplus(double v) noexcept nogil:
    # log(1 + exp(v)) without overflow
    if v > 0:
        return v + log1p(exp(-v))
    return log1p(exp(v))


cdef inline void _activate(int act, const floating* z, floating* a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating zmax, total
    if act == ACT_SIGMOID:
        _sigmoid(z, a, n)
    elif act == ACT_TANH:
        for j in range(n):
            a[j] = _tanh(z[j])
    elif act == ACT_RELU:
        for j in range(n):
            a[j] = z[j] if z[j] > 0 else 0
    elif act == ACT_LEAKY_RELU:
        for j in range(n):
            a[j] = z[j] if z[j] > 0 else <floating>_LEAKY * z[j]
    elif act == ACT_RBF:
        _rbf(z, a, n)
    elif act == ACT_SOFTMAX:
        zmax = z[0]
        for j in range(1, n):
            if z[j] > zmax:
                zmax = z[j]
        total = _exp_shifted(z, a, zmax, n)
        for j in range(n):
            a[j] = a[j] / total
    else:  # identity
        for j in range(n):
            a[j] = z[j]


cdef inline floating _derivative(int act, floating z, floating a) noexcept nogil:
    """d a / d z, written with the activation a where that is cheaper."""
    if act == ACT_SIGMOID:
        return a * (1 - a)
    elif act == ACT_TANH:
        return 1 - a * a
    elif act == ACT_RELU:
        return 1 if z > 0 else 0
    elif act == ACT_LEAKY_RELU:
        return 1 if z > 0 else <floating>_LEAKY
    elif act == ACT_RBF:
        return -2 * z * a
    return 1  # identity (softmax never reaches here: it pairs with cross-entropy)


cdef inline void _hidden_delta(int act, const floating* back, const floating* z,
                               const floating* a, floating* delta, Py_ssize_t n) noexcept nogil:
    """delta = back * f'(z), with the activation's branch taken once per layer."""
    cdef Py_ssize_t i
    if act == ACT_SIGMOID:
        for i in range(n):
            delta[i] = back[i] * (a[i] * (1 - a[i]))
    elif act == ACT_TANH:
        for i in range(n):
            delta[i] = back[i] * (1 - a[i] * a[i])
    elif act == ACT_RBF:
        for i in range(n):
            delta[i] = back[i] * (-2 * z[i] * a[i])
    elif act == ACT_IDENTITY:
        for i in range(n):
            delta[i] = back[i]
    elif act == ACT_RELU:   # (_derivative's values, in a loop that vectorises)
        for i in range(n):
            delta[i] = back[i] * (<floating>1 if z[i] > 0 else <floating>0)
    elif act == ACT_LEAKY_RELU:
        for i in range(n):
            delta[i] = back[i] * (<floating>1 if z[i] > 0 else <floating>_LEAKY)
    else:
        for i in range(n):
            delta[i] = back[i] * _derivative(act, z[i], a[i])


cdef inline double _output_delta(int loss, int act, const floating* z, const floating* a,
                                 const floating* t, floating* delta,
                                 Py_ssize_t n) noexcept nogil:
    """Write dL/dz of the output layer into delta; return the sample's loss."""
    cdef Py_ssize_t k
    cdef double total = 0, e
    if loss == LOSS_SQUARED_ERROR:
        for k in range(n):
            e = a[k] - t[k]
            total += e * e
            delta[k] = <floating>e * _derivative(act, z[k], a[k])
        return 0.5 * total
    # cross-entropy: with sigmoid or softmax outputs, dL/dz = a - t
    for k in range(n):
        delta[k] = a[k] - t[k]
    if act == ACT_SOFTMAX:
        # -sum_k t_k log a_k, one log per nonzero target; an a_k that
        # underflowed to 0 falls back to log a_k = z_k - logsumexp(z)
        for k in range(n):
            if t[k] != 0:
                if a[k] > 0:
                    total -= t[k] * log(a[k])
                else:
                    total += t[k] * (_logsumexp(z, n) - z[k])
        return total
    # sigmoid, per unit: -[t log a + (1-t) log(1-a)] = (1 - t) z - log(a),
    # which needs one log and stays accurate when a is near 1; where a
    # underflowed to 0, softplus(z) - t z.
    for k in range(n):
        if a[k] > 0:
            total += (1 - t[k]) * z[k] - log(a[k])
        else:
            total += _softplus(z[k]) - t[k] * z[k]
    return total


cdef inline double _logsumexp(const floating* z, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    cdef double zmax = z[0], total = 0
    for k in range(1, n):
        if z[k] > zmax:
            zmax = z[k]
    for k in range(n):
        total += exp(z[k] - zmax)
    return zmax + log(total)


# ----------------------------------------------------------------------------
# one sample: forward pass, then the backward pass fused with the update

cdef inline void _forward(const Layout* L, const floating* params, const floating* x,
                          floating* z, floating* a) noexcept nogil:
    _forward_from(L, 0, params, x, z, a)


cdef inline void _forward_from(const Layout* L, Py_ssize_t first, const floating* params,
                               const floating* a_prev, floating* z, floating* a) noexcept nogil:
    """Forward pass through layers first..n_layers-1; a_prev is the input of
    layer ``first`` (x when first == 0)."""
    cdef Py_ssize_t l
    for l in range(first, L.n_layers):
        _layer_z(L, l, params, a_prev, z)
        _activate(L.acts[l], z + L.n_off[l], a + L.n_off[l], L.sizes[l + 1])
        a_prev = a + L.n_off[l]


cdef inline void _layer_z(const Layout* L, Py_ssize_t l, const floating* params,
                          const floating* a_prev, floating* z) noexcept nogil:
    """Pre-activations of layer l, z_j = W_l[j] . a_prev + b_l[j], into its
    part of the node buffer z."""
    cdef Py_ssize_t j, n_in = L.sizes[l]
    cdef const floating* W = params + L.w_off[l]
    cdef const floating* b = params + L.b_off[l]
    cdef floating* zl = z + L.n_off[l]
    for j in range(L.sizes[l + 1]):
        zl[j] = _dot(W + j * n_in, a_prev, n_in) + b[j]


cdef struct Deferred:
    # the first layer's update that _sample_step left to the next sample
    bint waiting        # one is left (its steps in the pending slot, its
                        # sample's input in inputs.cur, until the next copy)
    double loss         # with the L2 term: its sample's loss without the penalty,
    double sq           # and the layers above's old sums of squares (W_0's old
                        # rows are read with the update)


cdef inline double _sample_step(floating* params, floating* velocity, const Layout* L,
                                const Slots* ws, floating* work, const Step* st,
                                const floating* x, const floating* t,
                                Deferred* pend, const cyp_inputs* inputs) noexcept nogil:
    """Online SGD on one sample: forward pass, then a backward pass fused with
    the update (one pass over each W computes W^T delta with the old weights
    and updates W).  Returns the sample's loss; with the L2 term deferred
    (below), the previous sample's (0 for the first; _apply_pending returns
    the last one's), so that the losses are added in the same order.

    The first layer's weight update is deferred to the next sample: its
    steps eta * delta_j are left in the ``pending`` slot (sizes[1] long) and
    ``pend.waiting`` is set; the next call applies them (with the previous
    input, ``inputs.old``) in the same pass over W_0 (and its velocity) as
    its forward dot products, and _apply_pending applies them at the end of
    an epoch.  Every weight
    comes out exactly as without deferring (the same update rule, the same
    order of the sums), but W_0, the largest matrix of a typical network, is
    read and written once per sample instead of read twice and written once.
    With the L2 term (``st.defer_l2``) the same pass also sums the old rows'
    squares for the penalty, so the sample's loss is complete only then.

    ``x`` is ``inputs.cur[0]``: the sample's input is read from the copies
    _next_input made (see _plan_inputs), the previous one's from
    ``inputs.old``.
    """
    cdef floating* pending = work + ws.pending
    cdef double done = 0, sq = 0
    # forward pass, first layer: with the previous sample's deferred update
    # applied on the way (W_0 row by row: update, then dot with this x)
    if pend.waiting:
        # (with the L2 term: sq = the layers above's, then W_0's old rows, in
        # row order)
        sq = pend.sq
        _deferred_layer(st, params + L.w_off[0], _at(velocity, L.w_off[0]), inputs,
                        pending, params + L.b_off[0], work + ws.z + L.n_off[0],
                        &sq if st.l2 != 0 else NULL, NULL, L.sizes[0], L.sizes[1])
        # the previous sample's loss with its penalty l2 / (2 n) ||W||^2, n = 1
        if st.l2 != 0:
            done = pend.loss + 0.5 * st.l2 * sq * st.l2_loss_scale
    else:
        _layer_z(L, 0, params, x, work + ws.z)
    if st.l2 == 0:
        pend.waiting = True
        return _sample_upper(params, velocity, L, ws, work, st, t, pending, &sq)
    if st.defer_l2:
        pend.sq = 0
        pend.loss = _sample_upper(params, velocity, L, ws, work, st, t, pending, &pend.sq)
        pend.waiting = True
        return done
    pend.waiting = False
    return _sample_rest(params, velocity, L, ws, work, st, inputs, t, pending)


cdef inline double _sample_rest(floating* params, floating* velocity, const Layout* L,
                                const Slots* ws, floating* work, const Step* st,
                                const cyp_inputs* inputs, const floating* t,
                                floating* first_steps) noexcept nogil:
    """One online SGD sample once its first-layer z is in the z slot.

    Activates the first layer, runs the layers above it forward, then the
    backward pass fused with the update of every layer but the first (one
    pass over each W computes W^T delta with the old weights and updates
    W), updates the first layer's biases and writes its steps eta * delta_j
    to ``first_steps`` (sizes[1] long): the caller updates W_0 (the
    sequential schedule in the next sample's forward pass, the blocked one
    at the end of its block).  With the L2 term (``st.l2 != 0``, sequential
    schedule only; _sample_step calls this then only when ``st.defer_l2``
    is off) W_0 is updated here instead, from the sample's input in
    ``inputs`` (the copy each row picks), and ``first_steps`` is not
    written.  Returns the sample's loss.
    """
    cdef double sample_loss, sq = 0
    cdef floating* steps
    if st.l2 == 0:
        return _sample_upper(params, velocity, L, ws, work, st, t, first_steps, &sq)
    # with the L2 term and no deferral, the first layer is updated now (its
    # penalty share from the old W_0, read in the same pass)
    steps = work + ws.steps
    sample_loss = _sample_upper(params, velocity, L, ws, work, st, t, steps, &sq)
    _first_layer_l2(params, velocity, L, st, inputs, steps, 0, L.sizes[1], &sq, NULL)
    # the sample's loss with the penalty l2 / (2 n) ||W||^2, n = 1
    return sample_loss + 0.5 * st.l2 * sq * st.l2_loss_scale


cdef inline double _sample_upper(floating* params, floating* velocity, const Layout* L,
                                 const Slots* ws, floating* work, const Step* st,
                                 const floating* t, floating* first_steps,
                                 double* sq) noexcept nogil:
    """_sample_rest but the first layer's weights: activates the first
    layer, runs the layers above it forward, the backward pass fused with
    the update of every layer above the first (with the L2 term, ``*sq +=``
    their old rows' sums of squares, the output layer's first), updates the
    first layer's biases and writes its steps eta * delta_j to
    ``first_steps``.  Returns the sample's loss without the penalty.  (The
    threaded epoch runs the same passes as _sample_chain and
    _upper_updates.)"""
    cdef const Py_ssize_t* sizes = L.sizes
    cdef const Py_ssize_t* n_off = L.n_off
    cdef floating* z = work + ws.z
    cdef floating* a = work + ws.a
    cdef floating* delta = work + ws.delta
    cdef floating* delta_prev = work + ws.delta_prev
    cdef floating* back = work + ws.back
    cdef floating* steps = work + ws.steps
    cdef Py_ssize_t l, n_in, n_out
    cdef floating* W
    cdef floating* b
    cdef floating* V
    cdef floating* swap
    cdef const floating* a_prev
    cdef double sample_loss

    # forward pass through the layers above the first
    _activate(L.acts[0], z + n_off[0], a + n_off[0], sizes[1])
    _forward_from(L, 1, params, a + n_off[0], z, a)
    l = L.n_layers - 1
    sample_loss = _output_delta(L.loss, L.acts[l], z + n_off[l], a + n_off[l], t, delta,
                                sizes[L.n_layers])

    # backward pass, output layer first; the input layer (l == 0) needs no
    # delta, and its weights' update is the caller's
    for l in range(L.n_layers - 1, 0, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        W = params + L.w_off[l]
        V = _at(velocity, L.w_off[l])
        b = params + L.b_off[l]
        a_prev = a + n_off[l - 1]
        _layer_steps(st, b, _at(velocity, L.b_off[l]), steps, delta, L.train_bias, n_out)
        _backprop_layer(st, W, V, back, a_prev, delta, steps, sq, n_in, n_out)
        # delta of the layer below: (W^T delta) * f'(z)
        _hidden_delta(L.acts[l - 1], back, z + n_off[l - 1], a + n_off[l - 1],
                      delta_prev, n_in)
        swap = delta
        delta = delta_prev
        delta_prev = swap
    # the first layer: biases now, W_0's steps for the caller
    _layer_steps(st, params + L.b_off[0], _at(velocity, L.b_off[0]), first_steps, delta,
                 L.train_bias, sizes[1])
    return sample_loss


cdef inline void _first_layer_l2(floating* params, floating* velocity, const Layout* L,
                                 const Step* st, const cyp_inputs* inputs,
                                 const floating* steps, Py_ssize_t h0, Py_ssize_t h1,
                                 double* sq, double* row_sq) noexcept nogil:
    """An online sample's update of W_0's rows h0..h1-1 with the L2 term:
    row j moves by the rule with ``steps[j] * x + eta * l2 * W_0[j]`` (x the
    sample's input, in the copy the row picks: see _plan_inputs).  The old
    rows' sums of squares go to ``*sq`` in row order, or with ``row_sq``
    (not NULL) to ``row_sq[j]`` (the threaded epoch: thread 0 adds them in
    row order)."""
    cdef Py_ssize_t j, n_in = L.sizes[0]
    cdef floating* W = params + L.w_off[0]
    cdef floating* V = _at(velocity, L.w_off[0])
    cdef double r
    if n_in >= CYP_L2_ROW_MIN:
        # long rows: one fused pass each (the squares in the same loop),
        # reading the copy of x the row picks (see _plan_inputs)
        for j in range(h0, h1):
            r = _l2_row_step(st, W + j * n_in, _at(V, j * n_in),
                             <const floating*>inputs.cur[inputs.pick[j]], steps[j], n_in)
            if row_sq != NULL:
                row_sq[j] = r
            else:
                sq[0] += r
        return
    # short rows by column blocks (x in registers: any copy will do; the rule
    # reads steps, not delta, so steps serves as both)
    if row_sq != NULL:
        for j in range(h0, h1):
            row_sq[j] = _row_squares(W + j * n_in, n_in)
        sq = NULL
    _backprop_layer(st, W + h0 * n_in, _at(V, h0 * n_in), NULL,
                    <const floating*>inputs.cur[0], steps + h0, steps + h0, sq, n_in, h1 - h0)


cdef inline double _row_squares(const floating* w, Py_ssize_t n) noexcept nogil:
    # sum w[i]^2 in double (cyp_row_squares: the online L2 term's share of a row)
    if floating is float:
        return cyp_row_squares_f(w, n)
    else:
        return cyp_row_squares_d(w, n)


cdef inline void _plan_inputs(cyp_inputs* inputs, const Layout* L, const Slots* ws,
                              floating* work, const floating* params,
                              const floating* velocity) noexcept nogil:
    """Place the copies of the online kernel's input rows; choose each
    first-layer row's copy.  Once per kernel call (the buffers do not move).

    Why (issue 10, 4K aliasing): the first layer's deferred update stores
    W_j (and V_j) while it loads x and the previous x.  W_0's rows start at
    residues (mod 4096) that step by n_in * itemsize (784 float64: 2176
    bytes, so 32 residues 128 bytes apart): no single x, wherever it lies,
    keeps out of reach of every row's in-flight stores.  So x is copied into
    the workspace n times, at residues 4096 / n apart (n = 2 without
    momentum, 3 with: the window ahead of both W_j and V_j, velocity at +1024,
    is shorter), and row j reads the copy that runs [CYP_LOAD_AHEAD,
    4096 - CYP_STORE_WINDOW] bytes ahead of W_j and V_j (cyp_pick_copy).
    The previous sample's copies lie at the same residues.  The copies cost
    n * n_in values per sample (measured: bench/placement.py, README)."""
    cdef Py_ssize_t n_x = L.sizes[0], j, t, c
    cdef size_t row = n_x * sizeof(floating)
    cdef size_t spacing, want
    cdef char* p = <char*>(work + ws.xc)
    cdef unsigned char* pick = <unsigned char*>(work + ws.pick)
    cdef const floating* W0 = params + L.w_off[0]
    inputs.n = 2 if velocity == NULL else 3
    spacing = (CYP_PAGE // inputs.n) & ~(<size_t>63)
    for t in range(2):
        for c in range(inputs.n):
            want = c * spacing
            p += (want - <size_t>p) & (CYP_PAGE - 1)
            if t == 0:
                inputs.cur[c] = p
            else:
                inputs.old[c] = p
            p += row
    cdef const floating* v_row = NULL
    for j in range(L.sizes[1]):
        if velocity != NULL:
            v_row = velocity + L.w_off[0] + j * n_x
        pick[j] = <unsigned char>cyp_pick_copy(inputs, W0 + j * n_x, v_row)
    inputs.pick = pick


cdef inline const floating* _next_input(cyp_inputs* inputs, const floating* x,
                                        Py_ssize_t n_x) noexcept nogil:
    """Copy the next sample's input x into every copy (this sample's become
    the previous one's); return the first copy."""
    cdef int c
    cdef char* swap
    for c in range(inputs.n):
        swap = inputs.old[c]
        inputs.old[c] = inputs.cur[c]
        inputs.cur[c] = swap
        memcpy(swap, x, n_x * sizeof(floating))
    return <const floating*>inputs.cur[0]


cdef inline double _apply_pending(floating* params, floating* velocity, const Layout* L,
                                  const Slots* ws, floating* work, const Step* st,
                                  Deferred* pend, const cyp_inputs* inputs) noexcept nogil:
    """Apply a first-layer update that _sample_step deferred, if any.  Returns
    its sample's loss when the update has the L2 term (the loss waited for
    the old rows' squares), else 0."""
    cdef Py_ssize_t j, n_in = L.sizes[0]
    cdef floating* pending = work + ws.pending
    cdef double sq
    if not pend.waiting:
        return 0
    pend.waiting = False
    if st.l2 != 0:
        # (the sample's input is still inputs.cur, its Adam step still lr_t)
        sq = pend.sq
        _first_layer_l2(params, velocity, L, st, inputs, pending, 0, L.sizes[1], &sq, NULL)
        return pend.loss + 0.5 * st.l2 * sq * st.l2_loss_scale
    for j in range(L.sizes[1]):
        _row_step(st, params + L.w_off[0] + j * n_in, _at(velocity, L.w_off[0] + j * n_in),
                  <const floating*>inputs.cur[0], pending[j], n_in)
    return 0


# ----------------------------------------------------------------------------
# a block of samples side by side (batch and mini-batch modes, gradients)

cdef inline void _lane_gather(const floating* src, floating* col, Py_ssize_t lane,
                              Py_ssize_t lanes, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(n):
        col[k] = src[k * lanes + lane]


cdef inline double _block_step(floating* params, floating* grad, const Layout* L,
                               const Slots* ws, floating* work, const floating* X,
                               const floating* Y, const Py_ssize_t* ids, Py_ssize_t m,
                               Py_ssize_t lanes, const floating* sw,
                               double* second=NULL) noexcept nogil:
    """Add the gradients of samples ids[:m] to ``grad``; return their summed loss.

    With sample weights ``sw`` (indexed like X's rows; NULL: none) each
    sample's loss and gradient are multiplied by its weight.

    ``lanes`` (4, BLOCK or WIDE, >= m) samples side by side, buffers laid out
    [unit][lane]; lanes m..lanes-1 carry zero inputs and zero deltas, so
    they add nothing.  WIDE (16, float with AVX-512) is two blocks of BLOCK
    in one: every sum comes out as from the two blocks one after the other
    (the gradients of lanes 0-7 go in first, then those of lanes 8-15; each
    half's loss is summed on its own, the second's to ``second[0]``, for the
    caller to add after the first).
    """
    cdef const Py_ssize_t* sizes = L.sizes
    cdef const Py_ssize_t* w_off = L.w_off
    cdef const Py_ssize_t* b_off = L.b_off
    cdef const Py_ssize_t* n_off = L.n_off
    cdef const int* acts = L.acts
    cdef Py_ssize_t n_layers = L.n_layers
    cdef floating* zB = work + ws.zB
    cdef floating* aB = work + ws.aB
    cdef floating* xB = work + ws.xB
    cdef floating* delta = work + ws.dB
    cdef floating* delta_prev = work + ws.dpB
    cdef floating* back = work + ws.backB
    cdef floating* aT = work + ws.aT
    cdef floating* col = work + ws.col
    cdef floating* yB = work + ws.yB
    cdef floating* mask = work + ws.mask
    cdef Py_ssize_t l, j, i, s, k, n_in, n_out
    cdef Py_ssize_t n_x = sizes[0], n_last = sizes[n_layers]
    cdef const floating* W
    cdef const floating* b
    cdef floating* G
    cdef floating* zl
    cdef floating* al
    cdef floating* dj
    cdef floating* swap
    cdef const floating* a_prev
    cdef double total = 0, total2 = 0
    cdef floating total_bias
    cdef Py_ssize_t h
    cdef floating* cz = col
    cdef floating* ca = col + n_last
    cdef floating* cd = col + 2 * n_last

    # inputs and targets, one sample per lane; mask marks the lanes in use
    for i in range(n_x):
        for s in range(lanes):
            xB[i * lanes + s] = X[ids[s] * n_x + i] if s < m else 0
    for k in range(n_last):
        for s in range(lanes):
            yB[k * lanes + s] = Y[ids[s] * n_last + k] if s < m else 0
            mask[k * lanes + s] = 1 if s < m else 0
            if sw != NULL and s < m:
                mask[k * lanes + s] = sw[ids[s]]   # (the weight scales delta and loss)

    # forward pass: z[j, :] = sum_i W[j, i] a[i, :] + b[j], all lanes at once
    a_prev = xB
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        W = params + w_off[l]
        b = params + b_off[l]
        zl = zB + n_off[l] * lanes
        al = aB + n_off[l] * lanes
        if lanes >= BLOCK:   # the same sums, tiled
            _block_forward(W, b, a_prev, zl, n_in, n_out, lanes)
        else:
            for j in range(n_out):
                for s in range(lanes):
                    zl[j * lanes + s] = 0
                for i in range(n_in):
                    _axpy(zl + j * lanes, a_prev + i * lanes, W[j * n_in + i], lanes)
                for s in range(lanes):
                    zl[j * lanes + s] += b[j]
        if acts[l] == ACT_SOFTMAX:   # normalised per sample: lane by lane
            for s in range(lanes):
                _lane_gather(zl, cz, s, lanes, n_out)
                _activate(ACT_SOFTMAX, cz, ca, n_out)
                for k in range(n_out):
                    al[k * lanes + s] = ca[k]
        else:
            _activate(acts[l], zl, al, n_out * lanes)
        a_prev = al

    # output deltas and losses, all lanes at once (softmax: lane by lane)
    l = n_layers - 1
    zl = zB + n_off[l] * lanes
    al = aB + n_off[l] * lanes
    if acts[l] == ACT_SOFTMAX:
        for s in range(lanes):
            if s < m:
                _lane_gather(zl, cz, s, lanes, n_last)
                _lane_gather(al, ca, s, lanes, n_last)
                # (each sum written as one expression: the compiler may fuse its
                # multiply-add, and does so alike for both halves)
                if sw != NULL:
                    if s < BLOCK:
                        total += sw[ids[s]] * _output_delta(L.loss, ACT_SOFTMAX, cz, ca,
                                                            Y + ids[s] * n_last, cd, n_last)
                    else:
                        total2 += sw[ids[s]] * _output_delta(L.loss, ACT_SOFTMAX, cz, ca,
                                                             Y + ids[s] * n_last, cd, n_last)
                    for k in range(n_last):
                        delta[k * lanes + s] = cd[k] * sw[ids[s]]
                    continue
                if s < BLOCK:
                    total += _output_delta(L.loss, ACT_SOFTMAX, cz, ca, Y + ids[s] * n_last, cd,
                                           n_last)
                else:
                    total2 += _output_delta(L.loss, ACT_SOFTMAX, cz, ca, Y + ids[s] * n_last, cd,
                                            n_last)
                for k in range(n_last):
                    delta[k * lanes + s] = cd[k]
            else:
                for k in range(n_last):
                    delta[k * lanes + s] = 0
    elif lanes == WIDE:   # each half as a block of BLOCK would be
        total = _half_output(L, acts[l], zl, al, yB, mask, delta, n_last, 0, sw != NULL,
                             work + ws.half)
        total2 = _half_output(L, acts[l], zl, al, yB, mask, delta, n_last, 1, sw != NULL,
                              work + ws.half)
    else:
        total = _lanes_output(L, acts[l], zl, al, yB, mask, delta, n_last * lanes, sw != NULL)

    # backward pass: dW[j, i] += sum over lanes of delta[j, :] a[i, :]
    for l in range(n_layers - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        W = params + w_off[l]
        G = grad + w_off[l]
        a_prev = xB if l == 0 else aB + n_off[l - 1] * lanes
        if L.train_bias:
            # each block of BLOCK lanes summed on its own, in lane order
            for j in range(n_out):
                dj = delta + j * lanes
                h = 0
                while h < lanes:
                    total_bias = 0
                    for s in range(h, min(h + BLOCK, lanes)):
                        total_bias += dj[s]
                    grad[b_off[l] + j] += total_bias
                    h += BLOCK
        if lanes >= BLOCK:   # the same sums, tiled
            _block_grad(G, delta, a_prev, aT, n_in, n_out, lanes)
            if l > 0:
                _block_back(W, delta, back, n_in, n_out, lanes)
        else:
            if l > 0:
                for i in range(n_in * lanes):
                    back[i] = 0
            for j in range(n_out):
                dj = delta + j * lanes
                for i in range(n_in):
                    G[j * n_in + i] += _dot(dj, a_prev + i * lanes, lanes)
                    if l > 0:
                        _axpy(back + i * lanes, dj, W[j * n_in + i], lanes)
        if l > 0:
            _hidden_delta(acts[l - 1], back, zB + n_off[l - 1] * lanes,
                          aB + n_off[l - 1] * lanes, delta_prev, n_in * lanes)
            swap = delta
            delta = delta_prev
            delta_prev = swap
    if second != NULL:
        second[0] = total2
    return total


cdef inline double _lanes_output(const Layout* L, int act, const floating* z,
                                 const floating* a, const floating* y, const floating* mask,
                                 floating* delta, Py_ssize_t n, bint weighted) noexcept nogil:
    """Output deltas and their summed loss over n values laid out [unit][lane]
    (a sigmoid output with cross-entropy, or squared error, ``mask`` the
    lanes in use or, ``weighted``, their sample weights)."""
    cdef double total
    if L.loss == LOSS_CROSS_ENTROPY:   # with sigmoid outputs
        return _sigmoid_xent(z, a, y, mask, delta, n)
    if weighted:                      # squared error, weighted
        total = _squared_error_weighted(a, y, mask, delta, n)
    else:                             # squared error: delta = (a - t) f'(z)
        total = _squared_error(a, y, mask, delta, n)
    _hidden_delta(act, delta, z, a, delta, n)
    return total


cdef inline double _half_output(const Layout* L, int act, const floating* zl,
                                const floating* al, const floating* yB, const floating* mask,
                                floating* delta, Py_ssize_t n_last, Py_ssize_t h,
                                bint weighted, floating* half) noexcept nogil:
    """The output deltas and summed loss of lanes 8h..8h+7 of a WIDE block
    (sigmoid cross-entropy or squared error), computed on a copy laid out as
    a block of BLOCK (``half``: scratch, 5 * n_last * BLOCK) so that the sum
    runs in that block's order."""
    cdef floating* z8 = half
    cdef floating* a8 = half + n_last * BLOCK
    cdef floating* y8 = half + 2 * n_last * BLOCK
    cdef floating* m8 = half + 3 * n_last * BLOCK
    cdef floating* d8 = half + 4 * n_last * BLOCK
    cdef Py_ssize_t k, s, n = n_last * BLOCK
    cdef double total
    for k in range(n_last):
        for s in range(BLOCK):
            z8[k * BLOCK + s] = zl[k * WIDE + h * BLOCK + s]
            a8[k * BLOCK + s] = al[k * WIDE + h * BLOCK + s]
            y8[k * BLOCK + s] = yB[k * WIDE + h * BLOCK + s]
            m8[k * BLOCK + s] = mask[k * WIDE + h * BLOCK + s]
    total = _lanes_output(L, act, z8, a8, y8, m8, d8, n, weighted)
    for k in range(n_last):
        for s in range(BLOCK):
            delta[k * WIDE + h * BLOCK + s] = d8[k * BLOCK + s]
    return total


# ----------------------------------------------------------------------------
# a batch split across threads (batch and mini-batch modes, n_threads > 1)
#
# The batch's lane blocks are cut into n_chunks contiguous chunks; chunk c
# sums its samples' gradients into its own buffer (chunk 0 into grad itself)
# with its own workspace, and the buffers are then added into grad in chunk
# order.  Everything is indexed by chunk, never by thread, and the chunks do
# not depend on timing, so the same n_threads gives the same weights bit for
# bit whatever the OpenMP runtime does (fewer threads, or none at all).

cdef inline void _fp_leave(cyp_fp_mode own, cyp_fp_mode caller_mode) noexcept nogil:
    """The end of a parallel region's floating-point mode: the calling thread
    (thread 0) gets back the mode it had on entering the region (the
    kernel's), every other thread the caller's from before the kernel.  (A
    worker OpenMP creates in a region inherits the flushed mode of the thread
    that made it; giving it back its own would leave it flushed.)"""
    cyp_fp_restore(own if threadid() == 0 else caller_mode)


cdef inline Py_ssize_t _lane_block(floating* params, floating* grad, const Layout* L,
                                   const Slots* ws, floating* work, const floating* X,
                                   const floating* Y, const Py_ssize_t* ids, Py_ssize_t left,
                                   Py_ssize_t lanes, const floating* sw,
                                   double* total) noexcept nogil:
    """The next lane block of a batch: _block_step on the first of the
    ``left`` samples ids[0], ids[1], ... (at most ``lanes``, 4 or BLOCK; WIDE
    where this build runs 16-lane blocks in this type and more than BLOCK are
    left), its loss added to ``*total`` (a WIDE block's halves one after the
    other, as two blocks of BLOCK would add theirs).  Returns the samples it
    took.  (A literal lane count per call lets the compiler specialise
    _block_step for 4, 8 and 16 lanes.)"""
    cdef Py_ssize_t m
    cdef double second
    if lanes == 4:
        m = min(<Py_ssize_t>4, left)
        total[0] += _block_step(params, grad, L, ws, work, X, Y, ids, m, 4, sw)
    elif floating is float and CYP_WIDE_F32 and left > BLOCK:
        m = min(<Py_ssize_t>WIDE, left)
        total[0] += _block_step(params, grad, L, ws, work, X, Y, ids, m, WIDE, sw, &second)
        total[0] += second
    else:
        m = min(<Py_ssize_t>BLOCK, left)
        total[0] += _block_step(params, grad, L, ws, work, X, Y, ids, m, BLOCK, sw)
    return m


cdef inline double _chunk_gradient(floating* params, floating* grad, const Layout* L,
                                   const Slots* ws, floating* work, const floating* X,
                                   const floating* Y, const Py_ssize_t* ids, Py_ssize_t lo,
                                   Py_ssize_t hi, Py_ssize_t lanes, bint poll,
                                   cyp_interrupt* intr, int* stop) noexcept nogil:
    """Samples ids[lo:hi] one lane block at a time into ``grad``; their summed
    loss.  ``poll``: this chunk runs on the calling thread (chunk 0 of a static
    schedule) and polls for Ctrl-C, raising ``stop`` for every chunk."""
    cdef Py_ssize_t s = lo
    cdef double total = 0
    while s < hi:
        s += _lane_block(params, grad, L, ws, work, X, Y, ids + s, hi - s, lanes, NULL, &total)
        if poll and cyp_interrupted(intr):
            cyp_flag_set(stop, 1)
        if cyp_flag_get(stop):
            break
    return total


cdef double _split_batch(floating* params, floating* grad, const Layout* L, const Slots* ws,
                         floating* work, floating* extra, double* chunk_loss,
                         const floating* X, const floating* Y, const Py_ssize_t* ids,
                         Py_ssize_t nb, Py_ssize_t lanes, Py_ssize_t n_chunks,
                         Py_ssize_t n_params, int flush, cyp_fp_mode caller_mode,
                         cyp_interrupt* intr) noexcept nogil:
    """Add the gradients of samples ids[:nb] to ``grad`` (zero on entry) on up to
    n_chunks threads; return their summed loss.  ``flush``: every thread runs
    with subnormals flushed to zero (csrc/cyprop_fpmode.h), as the caller does;
    the other threads then take the caller's mode from before the kernel,
    ``caller_mode`` (see _fp_leave).

    ``extra`` holds n_chunks - 1 slots of n_params + ws.end elements (a
    gradient buffer, then a workspace) for chunks 1..n_chunks-1;
    ``chunk_loss`` (n_chunks,) is scratch.  ``intr.stopped`` tells whether
    Ctrl-C stopped the chunks early (``grad`` is then incomplete).
    """
    cdef Py_ssize_t n_blocks = (nb + lanes - 1) // lanes
    cdef Py_ssize_t slot = n_params + ws.end
    cdef Py_ssize_t c, d, k, lo, hi
    cdef floating* G
    cdef floating* Gd
    cdef int stop = 0
    cdef double total = 0
    cdef cyp_fp_mode mode
    if n_chunks > n_blocks:
        n_chunks = n_blocks
    for c in prange(n_chunks, schedule='static', chunksize=1, num_threads=_team(n_chunks)):
        mode = cyp_fp_flush(flush)
        lo = min(c * n_blocks // n_chunks * lanes, nb)
        hi = min((c + 1) * n_blocks // n_chunks * lanes, nb)
        if c == 0:
            chunk_loss[c] = _chunk_gradient(params, grad, L, ws, work, X, Y, ids, lo, hi,
                                            lanes, True, intr, &stop)
        else:
            G = extra + (c - 1) * slot
            memset(G, 0, n_params * sizeof(floating))
            chunk_loss[c] = _chunk_gradient(params, G, L, ws, G + n_params, X, Y, ids, lo, hi,
                                            lanes, False, intr, &stop)
        _fp_leave(mode, caller_mode)
    if stop:
        return 0
    # grad += chunk 1's buffer, then chunk 2's, ...: each thread one slice of
    # the parameters, every element summed in chunk order
    for c in prange(n_chunks, schedule='static', chunksize=1, num_threads=_team(n_chunks)):
        mode = cyp_fp_flush(flush)
        lo = c * n_params // n_chunks
        hi = (c + 1) * n_params // n_chunks
        G = grad + lo
        for d in range(1, n_chunks):
            Gd = extra + (d - 1) * slot + lo
            for k in range(hi - lo):
                G[k] = G[k] + Gd[k]
        _fp_leave(mode, caller_mode)
    for c in range(n_chunks):
        total += chunk_loss[c]
    return total


cdef inline bint _all_finite(const floating* v, Py_ssize_t n) noexcept nogil:
    # no NaN or infinity among v[0 .. n-1] (cyp_all_finite: vectorised)
    if floating is float:
        return cyp_all_finite_f(v, n)
    else:
        return cyp_all_finite_d(v, n)


# ----------------------------------------------------------------------------
# the layout, the workspace, and the prologue every public kernel shares

cdef inline Slots _slots(const Layout* L) noexcept nogil:
    """The workspace's one description: each slot's offset, and its length."""
    cdef Slots s
    cdef Py_ssize_t n = 0, n_x = L.sizes[0], n_last = L.sizes[L.n_layers]
    s.z = n;          n += L.n_nodes
    s.a = n;          n += L.n_nodes
    s.delta = n;      n += L.widest
    s.delta_prev = n; n += L.widest
    s.back = n;       n += L.widest
    s.pending = n;    n += L.widest
    s.steps = n;      n += L.widest
    s.zB = n;         n += L.n_nodes * WIDE
    s.aB = n;         n += L.n_nodes * WIDE
    s.xB = n;         n += n_x * WIDE
    s.dB = n;         n += L.widest * WIDE
    s.dpB = n;        n += L.widest * WIDE
    s.backB = n;      n += L.widest * WIDE
    s.aT = n;         n += L.widest * WIDE
    s.col = n;        n += 3 * n_last
    s.yB = n;         n += n_last * WIDE
    s.mask = n;       n += n_last * WIDE
    s.half = n;       n += 5 * n_last * BLOCK
    # 2 samples x CYP_MAX_COPIES copies, each placed at a chosen residue
    # (skipping < 4096 bytes, at most 1024 elements), 64-byte alignment room
    s.xc = n;         n += 2 * CYP_MAX_COPIES * (n_x + 1024) + 16
    s.pick = n;       n += L.sizes[1]
    s.end = n
    return s


cdef int _layout(Layout* L, const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
                 const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
                 const int[::1] acts, Py_ssize_t n_params) except -1:
    """Fill L from the layout arrays.  Last line of defence: the Python layer
    validates, this refuses a layout that would read or write outside the
    parameter buffer."""
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1, l
    if n_layers < 1 or w_off.shape[0] != n_layers or b_off.shape[0] != n_layers \
            or n_off.shape[0] != n_layers or acts.shape[0] != n_layers:
        raise ValueError("inconsistent network layout arrays")
    L.n_layers = n_layers
    L.n_nodes = 0
    L.widest = 0
    for l in range(n_layers + 1):
        if sizes[l] < 1:
            raise ValueError("layer sizes must be positive")
        L.widest = max(L.widest, sizes[l])
    for l in range(n_layers):
        if n_off[l] != L.n_nodes or w_off[l] < 0 or b_off[l] < 0 \
                or w_off[l] + sizes[l] * sizes[l + 1] > n_params \
                or b_off[l] + sizes[l + 1] > n_params:
            raise ValueError("network layout does not fit the parameter buffer")
        if acts[l] < ACT_IDENTITY or acts[l] > ACT_SOFTMAX:
            raise ValueError("unknown activation code")
        L.n_nodes += sizes[l + 1]
    L.sizes = &sizes[0]
    L.w_off = &w_off[0]
    L.b_off = &b_off[0]
    L.n_off = &n_off[0]
    L.acts = &acts[0]
    L.loss = LOSS_SQUARED_ERROR
    L.train_bias = True
    return 0


cdef int _prologue(Layout* L, Slots* ws, const Py_ssize_t[::1] sizes,
                   const Py_ssize_t[::1] w_off, const Py_ssize_t[::1] b_off,
                   const Py_ssize_t[::1] n_off, const int[::1] acts,
                   Py_ssize_t n_params, Py_ssize_t work_len,
                   Py_ssize_t x_rows, Py_ssize_t x_cols,
                   Py_ssize_t y_rows, Py_ssize_t y_cols) except -1:
    """What every public kernel checks first: the layout (into L), the
    workspace (into ws), and X (x_rows, x_cols) against the targets or the
    output array (y_rows, y_cols)."""
    _layout(L, sizes, w_off, b_off, n_off, acts, n_params)
    ws[0] = _slots(L)
    if work_len < ws.end:
        raise ValueError("workspace too small")
    if x_rows != y_rows or x_cols != L.sizes[0] or y_cols != L.sizes[L.n_layers]:
        raise ValueError("X and Y do not match the network's input and output sizes"
                         f" ({L.sizes[0]} and {L.sizes[L.n_layers]}): X is"
                         f" ({x_rows}, {x_cols}), Y is ({y_rows}, {y_cols})")
    return 0


def workspace_size(const Py_ssize_t[::1] sizes):
    """Length of the `work` buffer the kernels need for these layer sizes."""
    cdef Layout L
    cdef Py_ssize_t l
    L.sizes = &sizes[0]
    L.n_layers = sizes.shape[0] - 1
    L.n_nodes = 0
    L.widest = 0
    for l in range(L.n_layers + 1):
        L.widest = max(L.widest, sizes[l])
        if l > 0:
            L.n_nodes += sizes[l]
    return _slots(&L).end


cdef inline floating* _ptr_or_null(floating[::1] v) noexcept nogil:
    return &v[0] if v.shape[0] > 0 else NULL


# ----------------------------------------------------------------------------
# public kernels

def set_thread_cancel(unsigned long ident, bint cancel):
    """Ask the kernels running in thread ``ident`` to stop (KeyboardInterrupt), or stop asking.

    For the worker threads of a sweep, which see no signals.
    """
    if cyp_set_cancel(ident, cancel) != 0:
        raise RuntimeError("too many threads to cancel")


def train_epochs(floating[::1] params, floating[::1] grad, floating[::1] velocity,
                 floating[::1] backup, floating[::1] work,
                 const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
                 const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
                 const int[::1] acts, int loss, bint train_bias,
                 const floating[:, ::1] X, const floating[:, ::1] Y,
                 const Py_ssize_t[:, :] order, double eta, double momentum,
                 Py_ssize_t batch_size, double[::1] epoch_loss, bint nesterov=False,
                 double l2=0.0, double l2_loss_scale=1.0, dict adam=None,
                 int n_threads=1, rprop=None,
                 const floating[::1] sample_weight=None, bint flush_denormals=True):
    """Run ``order.shape[0]`` epochs of training; update ``params`` in place.

    Parameters
    ----------
    params : (n_params,) float array, changed in place
    grad : (n_params,) float array, scratch (and zero on return); empty in
        online mode (``batch_size == 0``)
    velocity : (n_params,) float array, changed in place; empty without momentum.
        With Adam (second_offset(n_params) + n_params,): the first moments m,
        then the second v from second_offset(n_params) (placed 2048 bytes
        modulo 4096 after the buffer's start; the gap is unused)
    backup : (2 * n_params,) scratch (n_params + the velocity's length with
        Adam or rprop): the weights at
        the start of an epoch, then the velocity (or m and v), so a diverging
        epoch can be undone
    work : (workspace_size(sizes),) scratch
    sizes, w_off, b_off, n_off, acts : the layout (see cyprop.network)
    loss : loss code (LOSSES); train_bias : update the biases too
    X : (n_samples, sizes[0]); Y : (n_samples, sizes[-1])
    order : (n_epochs, n_samples) sample indices, one row per epoch (any strides,
        so a broadcast row serves every epoch without a copy)
    eta, momentum : learning rate and momentum coefficient
    nesterov : with momentum, Nesterov's rule (``w += momentum * v - eta * g``
        after ``v = momentum * v - eta * g``) instead of ``w += v``
    batch_size : 0 for online SGD, otherwise samples per update
    epoch_loss : (n_epochs,) float64, changed in place: mean training loss of
        each epoch, summed over the samples as they were visited
    l2 : L2 coefficient (scikit-learn's ``alpha``, >= 0): each update of a
        batch of n samples (n = 1 online) adds ``l2 * W / n`` to the weights'
        mean gradient (not the biases'), and the batch's loss gains
        ``l2 / 2 * ||W||^2`` (its per-sample mean ``l2 / (2 n) ||W||^2``
        counted once per sample), with W as at the start of the update
    l2_loss_scale : the penalty's weight in ``epoch_loss`` only (default 1;
        the gradient always gets ``l2 * W / n``)
    adam : dict, optional
        Adam instead of SGD (``momentum`` must be 0): keys ``beta_1``,
        ``beta_2`` (in [0, 1)), ``epsilon`` (> 0) and ``t``, the updates taken
        so far (a number, changed in place: the count after the last
        completed epoch).  Each update (one per sample online, one per batch
        otherwise) does ``t += 1``, ``m = beta_1 m + (1 - beta_1) g``,
        ``v = beta_2 v + (1 - beta_2) g^2``, ``w -= lr_t m / (sqrt(v) + epsilon)``
        with ``lr_t = eta sqrt(1 - beta_2^t) / (1 - beta_1^t)`` (in double)
        and g the mean gradient of the batch (L2 term included)
    n_threads : batch and mini-batch modes: split each batch into up to this
        many chunks of samples, one thread each (OpenMP), whose gradients are
        added in chunk order; 1 runs the serial loop.  The same n_threads
        gives the same weights bit for bit, with or without OpenMP.  Online
        mode (without sample weights): the first layer's rows are split
        between up to this many threads, at multiples of a cache line of z
        (see network_online_threads.pxi); every n_threads gives one
        thread's bits.
    rprop : None, or iRprop-'s constants ``(increase, decrease, step_min,
        step_max)`` (batch and mini-batch modes): each update moves every
        parameter by its own step size against the sign of the batch's
        gradient (L2 term included), ignoring ``eta`` and ``momentum``.
        ``velocity`` is then (second_offset(n_params) + n_params,), changed
        in place: the signs of the gradients last used, then from
        second_offset(n_params) the step sizes (start them at 0 and the
        initial step); ``backup`` must be n_params longer
    sample_weight : None, or (n_samples,) weights >= 0 (indexed like X's
        rows; the caller checks them): scikit-learn's convention, each
        update of a batch of samples B steps along the weighted mean
        ``(sum_{s in B} w_s g_s + l2 W) / sum_{s in B} w_s`` and adds
        ``|B| / sum w_s * (sum w_s loss_s + l2 / 2 ||W||^2)`` to the epoch's
        summed loss; a batch of weight 0 is skipped (no step, no loss).
        Online (|B| = 1) the weight cancels but in the L2 term, ``l2 / w_s``.
        Weighted batches run on one thread (``n_threads`` is ignored).
    flush_denormals : run with subnormal numbers flushed to zero, on every
        thread (csrc/cyprop_fpmode.h; the callers' modes are restored on
        return).  Without it, optimizer state decaying through the subnormal
        range (a dead unit's Adam moments or velocity) takes the CPU's slow
        path; with it, such values and any result below the smallest normal
        number become zero, so results can differ from IEEE arithmetic's in
        values below 2.2e-308 (float64) or 1.2e-38 (float32).

    Returns
    -------
    int
        -1 when every epoch finished with finite loss and weights; otherwise
        the index of the first epoch that did not, with ``params`` (and
        ``velocity``, and Adam's ``t``) restored to their values at its start.
    """
    cdef Layout L
    cdef Slots ws
    cdef Step st
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t n_epochs = order.shape[0], n_samples = order.shape[1]
    cdef Py_ssize_t e, s, q, m, start, batch_end
    # small batches fill 4 lanes (one AVX2 vector of doubles) rather than 8
    cdef Py_ssize_t lanes = 4 if 0 < batch_size <= 4 else BLOCK
    cdef Py_ssize_t ids[WIDE]
    cdef floating* P = &params[0]
    cdef floating* G = _ptr_or_null(grad)
    cdef floating* V = _ptr_or_null(velocity)
    cdef floating* W = &work[0]
    cdef double total
    cdef Py_ssize_t failed = -1
    cdef Deferred pend
    cdef Py_ssize_t n_state = n_params   # velocity elements to back up (Adam, rprop: more)
    cdef double t_start = 0
    # n_threads > 1 (batch modes): per-chunk gradients and workspaces, losses, sample ids
    cdef Py_ssize_t n_chunks = 1
    cdef floating* extra = NULL
    cdef double* chunk_loss = NULL
    cdef Py_ssize_t* batch_ids = NULL
    cdef const floating* SW = NULL       # sample weights
    cdef double wsum, btotal
    cdef Step st_w                       # one weighted online sample's step
    cdef cyp_inputs inputs   # online: the copies of the sample's input (_plan_inputs)
    cdef cyp_fp_mode fp_mode
    # online on n_chunks > 1 threads (_online_epoch_threads): signals, rows' squares
    cdef int* signals = NULL
    cdef void* signals_mem = NULL
    cdef double* row_sq = NULL
    cdef Py_ssize_t id_stride = order.strides[1] // <Py_ssize_t>sizeof(Py_ssize_t)

    _prologue(&L, &ws, sizes, w_off, b_off, n_off, acts, n_params, work.shape[0],
              X.shape[0], X.shape[1], Y.shape[0], Y.shape[1])
    L.loss = loss
    L.train_bias = train_bias
    if epoch_loss.shape[0] < n_epochs:
        raise ValueError("epoch_loss is shorter than the number of epochs")
    if backup.shape[0] < 2 * n_params or (batch_size > 0 and grad.shape[0] < n_params) \
            or (momentum != 0 and velocity.shape[0] < n_params) or batch_size < 0:
        raise ValueError("scratch buffers too small for this network")
    st.eta = eta
    st.mu = momentum
    st.l2 = l2
    st.l2_loss_scale = l2_loss_scale
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0, got {l2}")
    st.opt = (CYP_OPT_SGD if momentum == 0 else
              CYP_OPT_NESTEROV if nesterov else CYP_OPT_MOMENTUM)
    st.adam_eta = st.beta_1 = st.beta_2 = st.eps = st.t = st.lr_t = st.lr_pending = 0
    st.stride = _second_offset(n_params, sizeof(floating))
    if adam is not None:
        _adam_step_setup(&st, adam, eta, momentum)
        n_state = st.stride + n_params
        if velocity.shape[0] < n_state or backup.shape[0] < n_params + n_state:
            raise ValueError(f"Adam needs velocity of second_offset(n_params) + n_params = "
                             f"{n_state} values and backup of {n_params + n_state}")
    elif momentum == 0:
        V = NULL
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    if rprop is not None:
        st.rprop.increase, st.rprop.decrease, st.rprop.step_min, st.rprop.step_max = rprop
        st.opt = CYP_OPT_RPROP
        n_state = st.stride + n_params
        if batch_size == 0:
            raise ValueError("rprop needs batch_size > 0 (batch or mini-batch mode)")
        if velocity.shape[0] < n_state or backup.shape[0] < n_params + n_state:
            raise ValueError("scratch buffers too small for rprop's state")
        V = &velocity[0]
    if n_samples == 0 or n_epochs == 0:
        return -1
    for e in range(n_epochs):
        for s in range(n_samples):
            if order[e, s] < 0 or order[e, s] >= X.shape[0]:
                raise ValueError("sample order holds an index outside X")
    if sample_weight is not None:
        if sample_weight.shape[0] != X.shape[0]:
            raise ValueError(f"sample_weight has {sample_weight.shape[0]} values for "
                             f"{X.shape[0]} samples")
        SW = &sample_weight[0]
    # with the L2 term, W_0's online update is deferred too (_sample_step)
    # unless sample weights change l2 per sample; not for float32 rows
    # shorter than CYP_L2_ROW_MIN, whose column blocks were faster (per-sample
    # Adam on digits' 64 inputs: 2.2 against 2.4 us per sample)
    st.defer_l2 = SW == NULL and (floating is double or L.sizes[0] >= CYP_L2_ROW_MIN)
    st_w = st
    pend.waiting = False
    pend.loss = 0
    pend.sq = 0
    if batch_size > 0 and n_threads > 1 and SW == NULL:
        # (weighted batches are not split: one thread)
        # no more chunks than the largest batch has lane blocks
        m = min(batch_size, n_samples)
        n_chunks = min(<Py_ssize_t>n_threads, (m + lanes - 1) // lanes)
    if batch_size == 0 and n_threads > 1 and SW == NULL and order.strides[1] >= 0 \
            and order.strides[1] % <Py_ssize_t>sizeof(Py_ssize_t) == 0:
        # online: W_0's rows split, at multiples of a cache line of z (_online_row)
        n_chunks = min(<Py_ssize_t>n_threads, (sizes[1] * sizeof(floating) + 63) // 64)
        if n_chunks > 1:
            extra = <floating*>malloc((n_chunks - 1) * ws.end * sizeof(floating))
            # the signals (and the stop flag), each on a cache line of its own,
            # then the rows' squares (two halves), from a line of their own
            signals_mem = malloc((n_chunks + 2) * _SIGNAL_STRIDE * sizeof(int)
                                 + (2 * sizes[1] + 8) * sizeof(double) + 64)
            if extra == NULL or signals_mem == NULL:
                free(extra)
                free(signals_mem)
                raise MemoryError(f"no memory for the per-thread buffers of "
                                  f"n_threads={n_threads}")
            signals = <int*>(<char*>signals_mem + (-<Py_ssize_t>signals_mem & 63))
            row_sq = <double*>(signals + (n_chunks + 2) * _SIGNAL_STRIDE)
    elif n_chunks > 1:
        extra = <floating*>malloc((n_chunks - 1) * (n_params + ws.end) * sizeof(floating))
        chunk_loss = <double*>malloc(n_chunks * sizeof(double))
        batch_ids = <Py_ssize_t*>malloc(m * sizeof(Py_ssize_t))
        if extra == NULL or chunk_loss == NULL or batch_ids == NULL:
            free(extra)
            free(chunk_loss)
            free(batch_ids)
            raise MemoryError(f"no memory for the per-thread gradients of n_threads={n_threads}")
    if batch_size == 0:
        _plan_inputs(&inputs, &L, &ws, W, P, V)

    cdef cyp_interrupt intr  # Ctrl-C / cancel (csrc/cyprop_interrupt.h)
    cyp_interrupt_init(&intr)
    fp_mode = cyp_fp_flush(flush_denormals)
    with nogil:
        if G != NULL:
            memset(G, 0, n_params * sizeof(floating))
        for e in range(n_epochs):
            memcpy(&backup[0], P, n_params * sizeof(floating))
            if V != NULL:
                memcpy(&backup[n_params], V, n_state * sizeof(floating))
            t_start = st.t
            total = 0
            if batch_size == 0 and n_chunks > 1:
                total = _online_epoch_threads(P, V, &L, &ws, W, extra, &st, &X[0, 0], &Y[0, 0],
                                              &order[e, 0], id_stride, n_samples, n_chunks,
                                              signals, row_sq, flush_denormals, fp_mode, &intr)
            elif batch_size == 0:
                for s in range(n_samples):
                    # one sample (the place for a per-sample poll)
                    if cyp_interrupted(&intr): break
                    q = order[e, s]
                    if SW != NULL and SW[q] == 0:
                        continue   # a sample of weight 0 takes no step (and no Adam update)
                    if st.opt == CYP_OPT_ADAM:
                        _adam_tick(&st)
                    if SW != NULL:   # the weight cancels but in the L2 term
                        st_w = st
                        st_w.l2 = st.l2 / SW[q]
                        total += _sample_step(P, V, &L, &ws, W, &st_w,
                                              _next_input(&inputs, &X[q, 0], L.sizes[0]),
                                              &Y[q, 0], &pend, &inputs)
                        continue
                    total += _sample_step(P, V, &L, &ws, W, &st,
                                          _next_input(&inputs, &X[q, 0], L.sizes[0]),
                                          &Y[q, 0], &pend, &inputs)
                total += _apply_pending(P, V, &L, &ws, W, &st, &pend, &inputs)
            else:
                start = 0
                while start < n_samples:
                    # one batch (the place for a per-batch poll)
                    batch_end = min(start + batch_size, n_samples)
                    s = start
                    btotal = 0
                    if n_chunks > 1 and batch_end - start > lanes:
                        # the batch split across threads (then the loop below has nothing left)
                        for q in range(batch_end - start):
                            batch_ids[q] = order[e, start + q]
                        total += _split_batch(P, G, &L, &ws, W, extra, chunk_loss, &X[0, 0],
                                              &Y[0, 0], batch_ids, batch_end - start, lanes,
                                              n_chunks, n_params, flush_denormals, fp_mode,
                                              &intr)
                        s = batch_end
                    while s < batch_end:
                        for q in range(min(<Py_ssize_t>WIDE, batch_end - s)):
                            ids[q] = order[e, s + q]
                        s += _lane_block(P, G, &L, &ws, W, &X[0, 0], &Y[0, 0], ids,
                                         batch_end - s, lanes, SW,
                                         &total if SW == NULL else &btotal)
                        if cyp_interrupted(&intr): break
                    if intr.stopped: break
                    if SW != NULL:
                        # the weighted mean: a batch of weight 0 takes no step
                        wsum = 0
                        for q in range(start, batch_end):
                            wsum += SW[order[e, q]]
                        if wsum == 0:
                            memset(G, 0, n_params * sizeof(floating))
                            start = batch_end
                            continue
                        if st.l2 != 0:
                            btotal += 0.5 * st.l2 * _add_l2_gradient(&L, P, G, st.l2) \
                                * st.l2_loss_scale
                        total += (batch_end - start) / wsum * btotal
                        if st.opt == CYP_OPT_ADAM:
                            _adam_tick(&st)
                        if st.opt == CYP_OPT_RPROP:
                            _rprop_apply(&st, P, G, V, n_params)
                        else:
                            _apply_gradient(&st, P, G, V, 1.0 / wsum, n_params)
                        start = batch_end
                        continue
                    if st.l2 != 0:
                        total += 0.5 * st.l2 * _add_l2_gradient(&L, P, G, st.l2) \
                            * st.l2_loss_scale
                    if st.opt == CYP_OPT_ADAM:
                        _adam_tick(&st)
                    # one step along the batch's mean gradient
                    if st.opt == CYP_OPT_RPROP:
                        _rprop_apply(&st, P, G, V, n_params)
                    else:
                        _apply_gradient(&st, P, G, V, 1.0 / (batch_end - start), n_params)
                    start = batch_end
            if not intr.stopped:
                epoch_loss[e] = total / n_samples
            if intr.stopped or not isfinite(epoch_loss[e]) or not _all_finite(P, n_params):
                memcpy(P, &backup[0], n_params * sizeof(floating))
                if V != NULL:
                    memcpy(V, &backup[n_params], n_state * sizeof(floating))
                if G != NULL:
                    memset(G, 0, n_params * sizeof(floating))
                st.t = t_start
                failed = -1 if intr.stopped else e
                break
    cyp_fp_restore(fp_mode)
    if adam is not None:
        adam["t"] = st.t
    free(extra)
    free(chunk_loss)
    free(batch_ids)
    free(signals_mem)
    cyp_interrupt_raise(&intr)  # Ctrl-C: the weights are those of the last completed epoch
    return failed


cdef int _adam_step_setup(Step* st, dict adam, double eta, double momentum) except -1:
    """Fill st's Adam fields from train_epochs' ``adam`` dict (checked again
    here: the Python layer validates first)."""
    st.opt = CYP_OPT_ADAM
    st.adam_eta = eta
    st.eta = 1.0   # the rules get the gradient itself
    st.beta_1 = adam["beta_1"]
    st.beta_2 = adam["beta_2"]
    st.eps = adam["epsilon"]
    st.t = adam["t"]
    if momentum != 0:
        raise ValueError("Adam takes no momentum")
    if not (0 <= st.beta_1 < 1 and 0 <= st.beta_2 < 1):
        raise ValueError(f"beta_1 and beta_2 must be in [0, 1), got {st.beta_1}, {st.beta_2}")
    if not st.eps > 0 or not st.t >= 0:
        raise ValueError(f"epsilon must be > 0 and t >= 0, got {st.eps}, {st.t}")
    return 0


def gradients(const floating[::1] params, floating[::1] grad, floating[::1] work,
              const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
              const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
              const int[::1] acts, int loss, bint train_bias,
              const floating[:, ::1] X, const floating[:, ::1] Y,
              const floating[::1] sample_weight=None):
    """Add the gradient of the SUMMED loss over X, Y to ``grad`` (in place).

    ``params`` is not changed.  Returns the mean loss (float).  With
    ``sample_weight`` ((n_samples,), >= 0, not all 0): the weighted sum's
    gradient and the weighted mean loss.
    """
    cdef const floating* SW = NULL
    cdef double wsum = 0
    cdef Layout L
    cdef Slots ws
    cdef Py_ssize_t s, q, m, n_samples = X.shape[0]
    cdef Py_ssize_t ids[BLOCK]
    cdef double total = 0
    _prologue(&L, &ws, sizes, w_off, b_off, n_off, acts, params.shape[0], work.shape[0],
              X.shape[0], X.shape[1], Y.shape[0], Y.shape[1])
    L.loss = loss
    L.train_bias = train_bias
    if grad.shape[0] < params.shape[0]:
        raise ValueError("grad is shorter than params")
    if n_samples == 0:
        return 0.0
    if sample_weight is not None:
        if sample_weight.shape[0] != n_samples:
            raise ValueError(f"sample_weight has {sample_weight.shape[0]} values for "
                             f"{n_samples} samples")
        SW = &sample_weight[0]
    cdef cyp_interrupt intr  # Ctrl-C / cancel (csrc/cyprop_interrupt.h)
    cyp_interrupt_init(&intr)
    with nogil:
        s = 0
        while s < n_samples:
            m = min(<Py_ssize_t>BLOCK, n_samples - s)
            for q in range(m):
                ids[q] = s + q
            # the block step never writes to params: the cast drops const only
            total += _block_step(<floating*>&params[0], &grad[0], &L, &ws, &work[0],
                                 &X[0, 0], &Y[0, 0], ids, m, BLOCK, SW)
            s += m
            if cyp_interrupted(&intr): break
    cyp_interrupt_raise(&intr)
    if SW != NULL:
        for s in range(n_samples):
            wsum += SW[s]
        return total / wsum
    return total / n_samples


def input_streams(const floating[::1] params, const floating[::1] velocity,
                  floating[::1] work, const Py_ssize_t[::1] sizes,
                  const Py_ssize_t[::1] w_off, const Py_ssize_t[::1] b_off,
                  const Py_ssize_t[::1] n_off, const int[::1] acts):
    """Where train_epochs' online mode puts the first layer's streams (for testing).

    Runs the kernel's own placement (_plan_inputs) for these buffers and
    returns, per row j of W_0, the byte addresses modulo 4096 of the row
    (W_j), its velocity row (V_j; -1 when ``velocity`` is empty: no
    momentum), and the copies of this and the previous sample's input that
    the row reads: an int64 array of shape (sizes[1], 4).  ``work`` is
    scratch (only its address matters).
    """
    cdef Layout L
    cdef Slots ws
    cdef cyp_inputs inputs
    cdef Py_ssize_t j, n_x
    _prologue(&L, &ws, sizes, w_off, b_off, n_off, acts, params.shape[0], work.shape[0],
              1, sizes[0], 1, sizes[sizes.shape[0] - 1])
    cdef const floating* V = NULL
    if velocity.shape[0] > 0:
        if velocity.shape[0] < params.shape[0]:
            raise ValueError("velocity is shorter than params")
        V = &velocity[0]
    _plan_inputs(&inputs, &L, &ws, &work[0], &params[0], V)
    n_x = L.sizes[0]
    out = [[0, 0, 0, 0] for j in range(L.sizes[1])]
    for j in range(L.sizes[1]):
        out[j][0] = cyp_ahead(&params[L.w_off[0] + j * n_x], NULL)
        out[j][1] = -1 if V == NULL else <long long>cyp_ahead(V + L.w_off[0] + j * n_x, NULL)
        out[j][2] = cyp_ahead(inputs.cur[inputs.pick[j]], NULL)
        out[j][3] = cyp_ahead(inputs.old[inputs.pick[j]], NULL)
    return out


def store_window():
    """(page, load-ahead, store window) bytes the kernels' placement assumes."""
    return CYP_PAGE, CYP_LOAD_AHEAD, CYP_STORE_WINDOW


def predict(const floating[::1] params, floating[::1] work,
            const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
            const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
            const int[::1] acts, const floating[:, ::1] X, floating[:, ::1] out):
    """Forward pass of every row of X; the outputs go into ``out`` (in place)."""
    cdef Layout L
    cdef Slots ws
    cdef Py_ssize_t s, k
    _prologue(&L, &ws, sizes, w_off, b_off, n_off, acts, params.shape[0], work.shape[0],
              X.shape[0], X.shape[1], out.shape[0], out.shape[1])
    cdef Py_ssize_t n_out = L.sizes[L.n_layers]
    cdef floating* z = &work[ws.z]
    cdef floating* a = &work[ws.a]
    cdef const floating* a_out = a + L.n_off[L.n_layers - 1]
    cdef cyp_interrupt intr  # Ctrl-C / cancel (csrc/cyprop_interrupt.h)
    cyp_interrupt_init(&intr)
    with nogil:
        for s in range(X.shape[0]):
            _forward(&L, &params[0], &X[s, 0], z, a)
            for k in range(n_out):
                out[s, k] = a_out[k]
            if cyp_interrupted(&intr): break
    cyp_interrupt_raise(&intr)


def loss(const floating[::1] params, floating[::1] work,
         const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
         const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
         const int[::1] acts, int loss, const floating[:, ::1] X, const floating[:, ::1] Y,
         const floating[::1] sample_weight=None):
    """Mean loss over the rows of X, Y (float); with ``sample_weight``
    ((n_samples,), >= 0, not all 0) the weighted mean."""
    cdef const floating* SW = NULL
    cdef double wsum = 0
    cdef Layout L
    cdef Slots ws
    cdef Py_ssize_t s
    cdef double total = 0
    _prologue(&L, &ws, sizes, w_off, b_off, n_off, acts, params.shape[0], work.shape[0],
              X.shape[0], X.shape[1], Y.shape[0], Y.shape[1])
    cdef Py_ssize_t n_out = L.sizes[L.n_layers], last = L.n_off[L.n_layers - 1]
    cdef floating* z = &work[ws.z]
    cdef floating* a = &work[ws.a]
    cdef floating* delta = &work[ws.delta]
    if X.shape[0] == 0:
        return 0.0
    if sample_weight is not None:
        if sample_weight.shape[0] != X.shape[0]:
            raise ValueError(f"sample_weight has {sample_weight.shape[0]} values for "
                             f"{X.shape[0]} samples")
        SW = &sample_weight[0]
    cdef cyp_interrupt intr  # Ctrl-C / cancel (csrc/cyprop_interrupt.h)
    cyp_interrupt_init(&intr)
    with nogil:
        for s in range(X.shape[0]):
            _forward(&L, &params[0], &X[s, 0], z, a)
            if SW != NULL:
                total += SW[s] * _output_delta(loss, L.acts[L.n_layers - 1], z + last, a + last,
                                               &Y[s, 0], delta, n_out)
                wsum += SW[s]
            else:
                total += _output_delta(loss, L.acts[L.n_layers - 1], z + last, a + last,
                                       &Y[s, 0], delta, n_out)
            if cyp_interrupted(&intr): break
    cyp_interrupt_raise(&intr)
    if SW != NULL:
        return total / wsum
    return total / X.shape[0]


# blocked online schedule (train_epochs_blocked), kept in its own file
include "network_blocked.pxi"

# online training on more than one thread (train_epochs, n_threads > 1)
include "network_online_threads.pxi"
