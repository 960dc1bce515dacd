# Network kernels: forward pass, backward pass and in-place updates of a
# fully-connected network, one sample at a time.
#
# This file is included by _network_base.pyx and _network_avx2.pyx, which
# setup.py compiles with different instruction sets; cyprop._dispatch picks
# one at import time.  Nothing here is called from Python per sample: each
# public function runs its whole loop inside one `with nogil:` block.
#
# Parameter layout (see cyprop.network): one flat buffer `params`; layer l
# maps sizes[l] inputs to sizes[l+1] outputs with a row-major weight matrix
# W_l of shape (n_out, n_in) at params[w_off[l]:] and a bias vector b_l at
# params[b_off[l]:].  Node buffers z (pre-activations) and a (activations)
# hold every non-input layer back to back; layer l starts at n_off[l].

from libc.math cimport exp, log, log1p, isfinite, tanh, tanhf
from libc.string cimport memcpy, memset
from cython cimport floating

cdef extern from "cyprop_simd.h" nogil:
    double cyp_dot_d(const double*, const double*, Py_ssize_t)
    float cyp_dot_f(const float*, const float*, Py_ssize_t)
    double cyp_update_dot_d(double*, const double*, double, const double*, Py_ssize_t)
    float cyp_update_dot_f(float*, const float*, float, const float*, Py_ssize_t)
    double cyp_momentum_dot_d(double*, double*, const double*, double, double,
                              const double*, Py_ssize_t)
    float cyp_momentum_dot_f(float*, float*, const float*, float, float,
                             const float*, Py_ssize_t)
    void cyp_axpy_d(double*, const double*, double, Py_ssize_t)
    void cyp_axpy_f(float*, const float*, float, Py_ssize_t)
    void cyp_backprop_update_d(double*, double*, const double*, double, double, Py_ssize_t)
    void cyp_backprop_update_f(float*, float*, const float*, float, float, Py_ssize_t)
    void cyp_backprop_momentum_d(double*, double*, double*, const double*,
                                 double, double, double, Py_ssize_t)
    void cyp_backprop_momentum_f(float*, float*, float*, const float*,
                                 float, float, float, Py_ssize_t)
    void cyp_backprop_accumulate_d(const double*, double*, double*, const double*,
                                   double, Py_ssize_t)
    void cyp_backprop_accumulate_f(const float*, float*, float*, const float*,
                                   float, Py_ssize_t)
    void cyp_apply_gradient_d(double*, double*, double*, double, double, double, Py_ssize_t)
    void cyp_apply_gradient_f(float*, float*, float*, double, double, float, Py_ssize_t)
    int cyp_cpu_has_avx2_fma()
    double cyp_exp_d(double)
    float cyp_exp_f(float)
    double cyp_log_d(double)
    double cyp_sigmoid_xent_d(const double*, const double*, const double*, const double*,
                              double*, Py_ssize_t)
    double cyp_sigmoid_xent_f(const float*, const float*, const float*, const float*,
                              float*, Py_ssize_t)
    double cyp_squared_error_d(const double*, const double*, const double*, double*, Py_ssize_t)
    double cyp_squared_error_f(const float*, const float*, const float*, float*, Py_ssize_t)
    void cyp_sigmoid_d(const double*, double*, Py_ssize_t)
    void cyp_sigmoid_f(const float*, float*, Py_ssize_t)
    void cyp_rbf_d(const double*, double*, Py_ssize_t)
    void cyp_rbf_f(const float*, float*, Py_ssize_t)
    double cyp_exp_shifted_d(const double*, double*, double, Py_ssize_t)
    float cyp_exp_shifted_f(const float*, float*, float, Py_ssize_t)

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

ACTIVATIONS = {
    "identity": ACT_IDENTITY, "sigmoid": ACT_SIGMOID, "tanh": ACT_TANH,
    "relu": ACT_RELU, "leaky_relu": ACT_LEAKY_RELU, "rbf": ACT_RBF,
    "softmax": ACT_SOFTMAX,
}
LOSSES = {"squared_error": LOSS_SQUARED_ERROR, "cross_entropy": LOSS_CROSS_ENTROPY}
cdef double _LEAKY = 0.01   # slope of leaky_relu for z <= 0
LEAKY_RELU_SLOPE = _LEAKY


def cpu_has_avx2_fma():
    """True when the running CPU supports AVX2 and FMA."""
    return bool(cyp_cpu_has_avx2_fma())


# ----------------------------------------------------------------------------
# scalar helpers (float32 uses the float versions of libm functions)

cdef inline floating _exp(floating v) noexcept nogil:
    # csrc/cyprop_simd.h: branch-free, vectorisable, within 2 ulp
    if floating is float:
        return cyp_exp_f(v)
    else:
        return cyp_exp_d(v)


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


cdef inline floating _dot(const floating* w, const floating* a, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return cyp_dot_f(w, a, n)
    else:
        return cyp_dot_d(w, a, n)


cdef inline floating _update_dot(floating* w, const floating* a_old, floating step,
                                 const floating* x, Py_ssize_t n) noexcept nogil:
    # w[i] -= step * a_old[i], then return sum_i w[i] * x[i] (one pass over w)
    if floating is float:
        return cyp_update_dot_f(w, a_old, step, x, n)
    else:
        return cyp_update_dot_d(w, a_old, step, x, n)


cdef inline floating _momentum_dot(floating* w, floating* v, const floating* a_old,
                                   floating step, floating mu, const floating* x,
                                   Py_ssize_t n) noexcept nogil:
    # v[i] = mu * v[i] - step * a_old[i]; w[i] += v[i]; return sum_i w[i] * x[i]
    if floating is float:
        return cyp_momentum_dot_f(w, v, a_old, step, mu, x, n)
    else:
        return cyp_momentum_dot_d(w, v, a_old, step, mu, x, n)


cdef inline void _update_row(floating* w, floating* v, const floating* a, floating step,
                             floating mu, Py_ssize_t n) noexcept nogil:
    # w[i] -= step * a[i], or with momentum (v not NULL) v = mu*v - step*a; w += v
    if v == NULL:
        if floating is float:
            cyp_backprop_update_f(w, NULL, a, 0, step, n)
        else:
            cyp_backprop_update_d(w, NULL, a, 0, step, n)
    elif floating is float:
        cyp_backprop_momentum_f(w, v, NULL, a, 0, step, mu, n)
    else:
        cyp_backprop_momentum_d(w, v, NULL, a, 0, step, mu, n)


cdef inline void _axpy(floating* y, const floating* x, floating w, Py_ssize_t n) noexcept nogil:
    # y[i] += x[i] * w
    if floating is float:
        cyp_axpy_f(y, x, w, n)
    else:
        cyp_axpy_d(y, x, w, n)


cdef inline double _softplus(double v) noexcept nogil:
    # log(1 + exp(v)) without overflow
    if v > 0:
        return v + log1p(exp(-v))
    return log1p(exp(v))


cdef inline void _activate(int act, const floating* z, floating* a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    cdef floating zmax, total
    if act == ACT_SIGMOID:
        if floating is float:
            cyp_sigmoid_f(z, a, n)
        else:
            cyp_sigmoid_d(z, a, n)
    elif act == ACT_TANH:
        for j in range(n):
            if floating is float:
                a[j] = tanhf(z[j])
            else:
                a[j] = tanh(z[j])
    elif act == ACT_RELU:
        for j in range(n):
            a[j] = z[j] if z[j] > 0 else 0
    elif act == ACT_LEAKY_RELU:
        for j in range(n):
            a[j] = z[j] if z[j] > 0 else <floating>_LEAKY * z[j]
    elif act == ACT_RBF:
        if floating is float:
            cyp_rbf_f(z, a, n)
        else:
            cyp_rbf_d(z, a, n)
    elif act == ACT_SOFTMAX:
        zmax = z[0]
        for j in range(1, n):
            if z[j] > zmax:
                zmax = z[j]
        if floating is float:
            total = cyp_exp_shifted_f(z, a, zmax, n)
        else:
            total = cyp_exp_shifted_d(z, a, zmax, n)
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
# one sample: forward pass, then the backward pass in one of three flavours

cdef inline void _forward(const floating* params, const Py_ssize_t* sizes,
                          const Py_ssize_t* w_off, const Py_ssize_t* b_off,
                          const Py_ssize_t* n_off, const int* acts, Py_ssize_t n_layers,
                          const floating* x, floating* z, floating* a) noexcept nogil:
    _forward_from(0, params, sizes, w_off, b_off, n_off, acts, n_layers, x, z, a)


cdef inline void _forward_from(Py_ssize_t first, const floating* params,
                               const Py_ssize_t* sizes, const Py_ssize_t* w_off,
                               const Py_ssize_t* b_off, const Py_ssize_t* n_off,
                               const int* acts, Py_ssize_t n_layers, const floating* a_prev,
                               floating* z, floating* a) noexcept nogil:
    """Forward pass through layers first..n_layers-1; a_prev is the input of
    layer ``first`` (x when first == 0)."""
    cdef Py_ssize_t l, j, n_in, n_out
    cdef const floating* W
    cdef const floating* b
    cdef floating* zl
    for l in range(first, n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        W = params + w_off[l]
        b = params + b_off[l]
        zl = z + n_off[l]
        for j in range(n_out):
            zl[j] = _dot(W + j * n_in, a_prev, n_in) + b[j]
        _activate(acts[l], zl, a + n_off[l], n_out)
        a_prev = a + n_off[l]


cdef inline double _sample_step(floating* params, floating* velocity,
                                const Py_ssize_t* sizes, const Py_ssize_t* w_off,
                                const Py_ssize_t* b_off, const Py_ssize_t* n_off,
                                const int* acts, Py_ssize_t n_layers, int loss, bint train_bias,
                                const floating* x, const floating* t,
                                floating* z, floating* a, floating* delta, floating* delta_prev,
                                floating* back, floating* pending, const floating** pending_x,
                                double eta, double mu) noexcept nogil:
    """Online SGD on one sample: forward pass, then a backward pass fused with
    the update (one pass over each W computes W^T delta with the old weights
    and updates W).  Returns the sample's loss.

    The first layer's weight update is deferred to the next sample: its
    steps eta * delta_j are left in ``pending`` (sizes[1] long) and
    ``pending_x[0]`` points at this sample's input; the next call applies
    them in the same pass over W_0 (and its velocity) as its forward dot
    products, and _apply_pending applies them at the end of an epoch.  Every
    weight comes out exactly as without deferring (same expressions, same
    order of the sums), but W_0, the largest matrix of a typical network, is
    read and written once per sample instead of read twice and written once.
    """
    cdef Py_ssize_t l, j, i, n_in, n_out
    cdef floating* W
    cdef floating* b
    cdef floating* V
    cdef floating* back_l
    cdef floating* swap
    cdef const floating* a_prev
    cdef floating d, step
    cdef floating fmu = <floating>mu
    cdef double sample_loss

    # forward pass; the first layer applies the previous sample's deferred
    # update on the way (W_0 row by row: update, then dot with this x)
    if pending_x[0] != NULL:
        n_in = sizes[0]
        n_out = sizes[1]
        W = params + w_off[0]
        b = params + b_off[0]
        if velocity == NULL:
            for j in range(n_out):
                z[n_off[0] + j] = _update_dot(W + j * n_in, pending_x[0], pending[j], x,
                                              n_in) + b[j]
        else:
            V = velocity + w_off[0]
            for j in range(n_out):
                z[n_off[0] + j] = _momentum_dot(W + j * n_in, V + j * n_in, pending_x[0],
                                                pending[j], fmu, x, n_in) + b[j]
        _activate(acts[0], z + n_off[0], a + n_off[0], n_out)
        _forward_from(1, params, sizes, w_off, b_off, n_off, acts, n_layers, a + n_off[0], z, a)
    else:
        _forward(params, sizes, w_off, b_off, n_off, acts, n_layers, x, z, a)
    l = n_layers - 1
    sample_loss = _output_delta(loss, acts[l], z + n_off[l], a + n_off[l], t, delta,
                                sizes[n_layers])

    # backward pass, output layer first
    for l in range(n_layers - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        W = params + w_off[l]
        b = params + b_off[l]
        a_prev = x if l == 0 else a + n_off[l - 1]
        if l == 0:
            # defer W_0's update to the next forward pass (biases now)
            for j in range(n_out):
                step = <floating>eta * delta[j]
                pending[j] = step
                if train_bias:
                    if velocity == NULL:
                        b[j] -= step
                    else:
                        V = velocity + b_off[l]
                        V[j] = fmu * V[j] - step
                        b[j] += V[j]
            pending_x[0] = x
            break
        back_l = NULL
        if l > 0:   # the input layer needs no delta
            back_l = back
            for i in range(n_in):
                back[i] = 0
        for j in range(n_out):
            d = delta[j]
            step = <floating>eta * d
            if velocity == NULL:
                if floating is float:
                    cyp_backprop_update_f(W + j * n_in, back_l, a_prev, d, step, n_in)
                else:
                    cyp_backprop_update_d(W + j * n_in, back_l, a_prev, d, step, n_in)
                if train_bias:
                    b[j] -= step
            else:
                V = velocity + w_off[l]
                if floating is float:
                    cyp_backprop_momentum_f(W + j * n_in, V + j * n_in, back_l, a_prev,
                                            d, step, fmu, n_in)
                else:
                    cyp_backprop_momentum_d(W + j * n_in, V + j * n_in, back_l, a_prev,
                                            d, step, fmu, n_in)
                if train_bias:
                    V = velocity + b_off[l]
                    V[j] = fmu * V[j] - step
                    b[j] += V[j]
        if l > 0:
            # delta of the layer below: (W^T delta) * f'(z)
            _hidden_delta(acts[l - 1], back, z + n_off[l - 1], a + n_off[l - 1],
                          delta_prev, n_in)
            swap = delta
            delta = delta_prev
            delta_prev = swap
    return sample_loss


cdef inline void _apply_pending(floating* params, floating* velocity, const Py_ssize_t* sizes,
                                const Py_ssize_t* w_off, const floating* pending,
                                const floating** pending_x, double mu) noexcept nogil:
    """Apply a first-layer update that _sample_step deferred, if any."""
    cdef Py_ssize_t j, n_in = sizes[0]
    if pending_x[0] == NULL:
        return
    for j in range(sizes[1]):
        _update_row(params + w_off[0] + j * n_in,
                    NULL if velocity == NULL else velocity + w_off[0] + j * n_in,
                    pending_x[0], pending[j], <floating>mu, n_in)
    pending_x[0] = NULL


cdef inline void _lane_gather(const floating* src, floating* col, Py_ssize_t lane,
                              Py_ssize_t lanes, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t k
    for k in range(n):
        col[k] = src[k * lanes + lane]


cdef inline double _block_step(floating* params, floating* grad,
                               const Py_ssize_t* sizes, const Py_ssize_t* w_off,
                               const Py_ssize_t* b_off, const Py_ssize_t* n_off,
                               const int* acts, Py_ssize_t n_layers, int loss, bint train_bias,
                               const floating* X, const floating* Y, const Py_ssize_t* ids,
                               Py_ssize_t m, Py_ssize_t lanes, floating* zB, floating* aB, floating* xB,
                               floating* delta, floating* delta_prev, floating* back,
                               floating* col, floating* yB, floating* mask) noexcept nogil:
    """Add the gradients of samples ids[:m] to ``grad``; return their summed loss.

    ``lanes`` (4 or BLOCK, >= m) samples side by side, buffers laid out
    [unit][lane]; lanes m..lanes-1 carry zero inputs and zero deltas, so
    they add nothing.
    """
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
    cdef double total = 0
    cdef floating total_bias
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

    # forward pass: z[j, :] = sum_i W[j, i] a[i, :] + b[j], all lanes at once
    a_prev = xB
    for l in range(n_layers):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        W = params + w_off[l]
        b = params + b_off[l]
        zl = zB + n_off[l] * lanes
        al = aB + n_off[l] * lanes
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
                total += _output_delta(loss, ACT_SOFTMAX, cz, ca, Y + ids[s] * n_last, cd,
                                       n_last)
                for k in range(n_last):
                    delta[k * lanes + s] = cd[k]
            else:
                for k in range(n_last):
                    delta[k * lanes + s] = 0
    elif loss == LOSS_CROSS_ENTROPY:   # with sigmoid outputs
        if floating is float:
            total = cyp_sigmoid_xent_f(zl, al, yB, mask, delta, n_last * lanes)
        else:
            total = cyp_sigmoid_xent_d(zl, al, yB, mask, delta, n_last * lanes)
    else:                              # squared error: delta = (a - t) f'(z)
        if floating is float:
            total = cyp_squared_error_f(al, yB, mask, delta, n_last * lanes)
        else:
            total = cyp_squared_error_d(al, yB, mask, delta, n_last * lanes)
        _hidden_delta(acts[l], delta, zl, al, delta, n_last * lanes)

    # backward pass: dW[j, i] += sum over lanes of delta[j, :] a[i, :]
    for l in range(n_layers - 1, -1, -1):
        n_in = sizes[l]
        n_out = sizes[l + 1]
        W = params + w_off[l]
        G = grad + w_off[l]
        a_prev = xB if l == 0 else aB + n_off[l - 1] * lanes
        if l > 0:
            for i in range(n_in * lanes):
                back[i] = 0
        for j in range(n_out):
            dj = delta + j * lanes
            if train_bias:
                total_bias = 0
                for s in range(lanes):
                    total_bias += dj[s]
                grad[b_off[l] + j] += total_bias
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
    return total


cdef inline bint _all_finite(const floating* v, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating total = 0
    for i in range(n):
        total += v[i] * 0   # NaN or inf anywhere makes the sum NaN
    return total == 0


cdef inline void _apply(floating* params, floating* grad, floating* velocity,
                        double eta, double scale, double mu, Py_ssize_t n) noexcept nogil:
    if floating is float:
        cyp_apply_gradient_f(params, grad, velocity, eta, scale, <float>mu, n)
    else:
        cyp_apply_gradient_d(params, grad, velocity, eta, scale, mu, n)


cdef inline floating* _ptr_or_null(floating[::1] v) noexcept nogil:
    return &v[0] if v.shape[0] > 0 else NULL


cdef Py_ssize_t _check_layout(const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
                              const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
                              const int[::1] acts, Py_ssize_t n_params,
                              Py_ssize_t work_len) except -1:
    """Last line of defence: the Python layer validates, this refuses to run
    on a layout that would read or write outside the buffers."""
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1, l, n_nodes = 0, widest = 0
    if n_layers < 1 or w_off.shape[0] != n_layers or b_off.shape[0] != n_layers \
            or n_off.shape[0] != n_layers or acts.shape[0] != n_layers:
        raise ValueError("inconsistent network layout arrays")
    for l in range(n_layers + 1):
        if sizes[l] < 1:
            raise ValueError("layer sizes must be positive")
        widest = max(widest, sizes[l])
    for l in range(n_layers):
        if n_off[l] != n_nodes or w_off[l] < 0 or b_off[l] < 0 \
                or w_off[l] + sizes[l] * sizes[l + 1] > n_params \
                or b_off[l] + sizes[l + 1] > n_params:
            raise ValueError("network layout does not fit the parameter buffer")
        if acts[l] < ACT_IDENTITY or acts[l] > ACT_SOFTMAX:
            raise ValueError("unknown activation code")
        n_nodes += sizes[l + 1]
    if work_len < workspace_size(sizes):
        raise ValueError("workspace too small")
    return n_layers


cdef enum:
    # slots of the workspace, see _carve
    W_Z, W_A, W_DELTA, W_DELTA_PREV, W_BACK, W_PEND, W_ZB, W_AB, W_XB, W_DB, W_DPB, W_BACKB, W_COL,
    W_YB, W_MASK, W_END


cdef inline void _dims(const Py_ssize_t* sizes, Py_ssize_t n_layers, Py_ssize_t* n_nodes,
                       Py_ssize_t* widest) noexcept nogil:
    cdef Py_ssize_t l
    n_nodes[0] = 0
    widest[0] = 0
    for l in range(n_layers + 1):
        widest[0] = max(widest[0], sizes[l])
        if l > 0:
            n_nodes[0] += sizes[l]


cdef inline void _carve(floating* work, const Py_ssize_t* sizes, Py_ssize_t n_layers,
                        floating** slot) noexcept nogil:
    """Split the workspace: per-sample buffers, then [unit][lane] block buffers."""
    cdef Py_ssize_t n_nodes, widest
    _dims(sizes, n_layers, &n_nodes, &widest)
    slot[W_Z] = work
    slot[W_A] = slot[W_Z] + n_nodes
    slot[W_DELTA] = slot[W_A] + n_nodes
    slot[W_DELTA_PREV] = slot[W_DELTA] + widest
    slot[W_BACK] = slot[W_DELTA_PREV] + widest
    slot[W_PEND] = slot[W_BACK] + widest
    slot[W_ZB] = slot[W_PEND] + widest
    slot[W_AB] = slot[W_ZB] + n_nodes * BLOCK
    slot[W_XB] = slot[W_AB] + n_nodes * BLOCK
    slot[W_DB] = slot[W_XB] + sizes[0] * BLOCK
    slot[W_DPB] = slot[W_DB] + widest * BLOCK
    slot[W_BACKB] = slot[W_DPB] + widest * BLOCK
    slot[W_COL] = slot[W_BACKB] + widest * BLOCK
    slot[W_YB] = slot[W_COL] + 3 * sizes[n_layers]
    slot[W_MASK] = slot[W_YB] + sizes[n_layers] * BLOCK
    slot[W_END] = slot[W_MASK] + sizes[n_layers] * BLOCK


def workspace_size(const Py_ssize_t[::1] sizes):
    """Length of the `work` buffer the kernels need for these layer sizes."""
    cdef Py_ssize_t n_layers = sizes.shape[0] - 1, n_nodes, widest
    _dims(&sizes[0], n_layers, &n_nodes, &widest)
    return (2 * n_nodes + 4 * widest + (2 * n_nodes + sizes[0] + 3 * widest) * BLOCK
            + 3 * sizes[n_layers] + 2 * sizes[n_layers] * BLOCK)


# ----------------------------------------------------------------------------
# public kernels

def train_epochs(floating[::1] params, floating[::1] grad, floating[::1] velocity,
                 floating[::1] backup, floating[::1] work,
                 const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
                 const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
                 const int[::1] acts, int loss, bint train_bias,
                 const floating[:, ::1] X, const floating[:, ::1] Y,
                 const Py_ssize_t[:, :] order, double eta, double momentum,
                 Py_ssize_t batch_size, double[::1] epoch_loss):
    """Run ``order.shape[0]`` epochs of training; update ``params`` in place.

    Parameters
    ----------
    params : (n_params,) float array, changed in place
    grad : (n_params,) float array, scratch (and zero on return); empty in
        online mode (``batch_size == 0``)
    velocity : (n_params,) float array, changed in place; empty without momentum
    backup : (n_params,) scratch, holds the weights at the start of an epoch
        (and velocity after them) so a diverging epoch can be undone
    work : (workspace_size(sizes),) scratch
    X : (n_samples, sizes[0]); Y : (n_samples, sizes[-1])
    order : (n_epochs, n_samples) sample indices, one row per epoch (any strides,
        so a broadcast row serves every epoch without a copy)
    eta, momentum : learning rate and momentum coefficient
    batch_size : 0 for online SGD, otherwise samples per update
    epoch_loss : (n_epochs,) float64, changed in place: mean training loss of
        each epoch, summed over the samples as they were visited

    Returns
    -------
    int
        -1 when every epoch finished with finite loss and weights; otherwise
        the index of the first epoch that did not, with ``params`` (and
        ``velocity``) restored to their values at its start.
    """
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t n_layers = _check_layout(sizes, w_off, b_off, n_off, acts,
                                             n_params, work.shape[0])
    cdef Py_ssize_t n_epochs = order.shape[0], n_samples = order.shape[1]
    cdef Py_ssize_t e, s, q, m, start, batch_end
    # small batches fill 4 lanes (one AVX2 vector of doubles) rather than 8
    cdef Py_ssize_t lanes = 4 if 0 < batch_size <= 4 else BLOCK
    cdef Py_ssize_t ids[BLOCK]
    cdef floating* slot[W_END + 1]
    cdef floating* P = &params[0]
    cdef floating* G = _ptr_or_null(grad)
    cdef floating* V = _ptr_or_null(velocity)
    cdef double total
    cdef Py_ssize_t failed = -1
    cdef floating* pending
    cdef const floating* pending_x = NULL

    if X.shape[0] != Y.shape[0] or X.shape[1] != sizes[0] or Y.shape[1] != sizes[n_layers]:
        raise ValueError("X and Y do not match the network's input and output sizes")
    if epoch_loss.shape[0] < n_epochs:
        raise ValueError("epoch_loss is shorter than the number of epochs")
    if backup.shape[0] < 2 * n_params or (batch_size > 0 and grad.shape[0] < n_params) \
            or (momentum != 0 and velocity.shape[0] < n_params) or batch_size < 0:
        raise ValueError("scratch buffers too small for this network")
    if momentum == 0:
        V = NULL
    if n_samples == 0 or n_epochs == 0:
        return -1
    for e in range(n_epochs):
        for s in range(n_samples):
            if order[e, s] < 0 or order[e, s] >= X.shape[0]:
                raise ValueError("sample order holds an index outside X")
    _carve(&work[0], &sizes[0], n_layers, slot)
    pending = slot[W_PEND]

    with nogil:
        if G != NULL:
            memset(G, 0, n_params * sizeof(floating))
        for e in range(n_epochs):
            memcpy(&backup[0], P, n_params * sizeof(floating))
            if V != NULL:
                memcpy(&backup[n_params], V, n_params * sizeof(floating))
            total = 0
            if batch_size == 0:
                for s in range(n_samples):
                    q = order[e, s]
                    total += _sample_step(P, V, &sizes[0], &w_off[0], &b_off[0], &n_off[0],
                                          &acts[0], n_layers, loss, train_bias,
                                          &X[q, 0], &Y[q, 0], slot[W_Z], slot[W_A],
                                          slot[W_DELTA], slot[W_DELTA_PREV], slot[W_BACK],
                                          pending, &pending_x, eta, momentum)
                _apply_pending(P, V, &sizes[0], &w_off[0], pending, &pending_x, momentum)
            else:
                s = 0
                while s < n_samples:
                    start = s
                    batch_end = min(s + batch_size, n_samples)
                    while s < batch_end:
                        m = min(lanes, batch_end - s)
                        for q in range(m):
                            ids[q] = order[e, s + q]
                        # a literal lane count per call site lets the compiler
                        # specialise the block step for 4 and 8 lanes
                        if lanes == 4:
                            total += _block_step(P, G, &sizes[0], &w_off[0], &b_off[0],
                                                 &n_off[0], &acts[0], n_layers, loss, train_bias,
                                                 &X[0, 0], &Y[0, 0], ids, m, 4, slot[W_ZB],
                                                 slot[W_AB], slot[W_XB], slot[W_DB], slot[W_DPB],
                                                 slot[W_BACKB], slot[W_COL], slot[W_YB],
                                                 slot[W_MASK])
                        else:
                            total += _block_step(P, G, &sizes[0], &w_off[0], &b_off[0],
                                                 &n_off[0], &acts[0], n_layers, loss, train_bias,
                                                 &X[0, 0], &Y[0, 0], ids, m, BLOCK, slot[W_ZB],
                                                 slot[W_AB], slot[W_XB], slot[W_DB], slot[W_DPB],
                                                 slot[W_BACKB], slot[W_COL], slot[W_YB],
                                                 slot[W_MASK])
                        s += m
                    # one step along the batch's mean gradient
                    _apply(P, G, V, eta, 1.0 / (batch_end - start), momentum, n_params)
            epoch_loss[e] = total / n_samples
            if not isfinite(epoch_loss[e]) or not _all_finite(P, n_params):
                memcpy(P, &backup[0], n_params * sizeof(floating))
                if V != NULL:
                    memcpy(V, &backup[n_params], n_params * sizeof(floating))
                if G != NULL:
                    memset(G, 0, n_params * sizeof(floating))
                failed = e
                break
    return failed


def gradients(const floating[::1] params, floating[::1] grad, floating[::1] work,
              const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
              const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
              const int[::1] acts, int loss, bint train_bias,
              const floating[:, ::1] X, const floating[:, ::1] Y):
    """Add the gradient of the SUMMED loss over X, Y to ``grad`` (in place).

    ``params`` is not changed.  Returns the mean loss (float).
    """
    cdef Py_ssize_t n_params = params.shape[0]
    cdef Py_ssize_t n_layers = _check_layout(sizes, w_off, b_off, n_off, acts,
                                             n_params, work.shape[0])
    cdef Py_ssize_t s, q, m, n_samples = X.shape[0]
    cdef Py_ssize_t ids[BLOCK]
    cdef floating* slot[W_END + 1]
    cdef double total = 0
    if X.shape[0] != Y.shape[0] or X.shape[1] != sizes[0] or Y.shape[1] != sizes[n_layers]:
        raise ValueError("X and Y do not match the network's input and output sizes")
    if grad.shape[0] < n_params:
        raise ValueError("grad is shorter than params")
    if n_samples == 0:
        return 0.0
    _carve(&work[0], &sizes[0], n_layers, slot)
    with nogil:
        s = 0
        while s < n_samples:
            m = min(<Py_ssize_t>BLOCK, n_samples - s)
            for q in range(m):
                ids[q] = s + q
            # the block step never writes to params: the cast drops const only
            total += _block_step(<floating*>&params[0], &grad[0], &sizes[0], &w_off[0],
                                 &b_off[0], &n_off[0], &acts[0], n_layers, loss, train_bias,
                                 &X[0, 0], &Y[0, 0], ids, m, BLOCK, slot[W_ZB], slot[W_AB], slot[W_XB],
                                 slot[W_DB], slot[W_DPB], slot[W_BACKB], slot[W_COL],
                                 slot[W_YB], slot[W_MASK])
            s += m
    return total / n_samples


def predict(const floating[::1] params, floating[::1] work,
            const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
            const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
            const int[::1] acts, const floating[:, ::1] X, floating[:, ::1] out):
    """Forward pass of every row of X; the outputs go into ``out`` (in place)."""
    cdef Py_ssize_t n_layers = _check_layout(sizes, w_off, b_off, n_off, acts,
                                             params.shape[0], work.shape[0])
    cdef Py_ssize_t s, k, n_out = sizes[n_layers]
    cdef floating* slot[W_END + 1]
    _carve(&work[0], &sizes[0], n_layers, slot)
    cdef floating* z = slot[W_Z]
    cdef floating* a = slot[W_A]
    cdef floating* a_out = a + n_off[n_layers - 1]
    if X.shape[1] != sizes[0] or out.shape[0] != X.shape[0] or out.shape[1] != n_out:
        raise ValueError("X or out does not match the network's sizes")
    with nogil:
        for s in range(X.shape[0]):
            _forward(&params[0], &sizes[0], &w_off[0], &b_off[0], &n_off[0], &acts[0],
                     n_layers, &X[s, 0], z, a)
            for k in range(n_out):
                out[s, k] = a_out[k]


def loss(const floating[::1] params, floating[::1] work,
         const Py_ssize_t[::1] sizes, const Py_ssize_t[::1] w_off,
         const Py_ssize_t[::1] b_off, const Py_ssize_t[::1] n_off,
         const int[::1] acts, int loss, const floating[:, ::1] X, const floating[:, ::1] Y):
    """Mean loss over the rows of X, Y (float)."""
    cdef Py_ssize_t n_layers = _check_layout(sizes, w_off, b_off, n_off, acts,
                                             params.shape[0], work.shape[0])
    cdef Py_ssize_t s, n_out = sizes[n_layers]
    cdef floating* slot[W_END + 1]
    _carve(&work[0], &sizes[0], n_layers, slot)
    cdef floating* z = slot[W_Z]
    cdef floating* a = slot[W_A]
    cdef floating* delta = slot[W_DELTA]
    cdef Py_ssize_t last = n_off[n_layers - 1]
    cdef double total = 0
    if X.shape[0] != Y.shape[0] or X.shape[1] != sizes[0] or Y.shape[1] != n_out:
        raise ValueError("X and Y do not match the network's input and output sizes")
    if X.shape[0] == 0:
        return 0.0
    with nogil:
        for s in range(X.shape[0]):
            _forward(&params[0], &sizes[0], &w_off[0], &b_off[0], &n_off[0], &acts[0],
                     n_layers, &X[s, 0], z, a)
            total += _output_delta(loss, acts[n_layers - 1], z + last, a + last, &Y[s, 0],
                                   delta, n_out)
    return total / X.shape[0]


# blocked online schedule (train_epochs_blocked), kept in its own file
include "_network_blocked.pxi"
