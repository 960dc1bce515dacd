# Kernels for the tutorials whose maths is not the general network's.
#
# This file is included by tutorial_base.pyx and tutorial_avx2.pyx, which
# setup.py compiles for the baseline instruction set and with -mavx2 -mfma,
# both with -ffp-contract=off (no fused multiply-adds the source does not
# write: the printed numbers come out the same on every CPU and build);
# cyprop._kernels picks one at import time.  The C loops are in
# csrc/cyprop_tutorial.h.
#
# The XOR network and the correct ("prose") step-by-step update are ordinary
# fully-connected networks and run on the engine's kernels
# (network_kernels.pxi).  What is here is the rest: the RBF toy network (its
# output weight is fixed at 1), plain gradient descent on f(x), the one-layer
# sigmoid networks of the gradient-descent tutorial (with the tutorial's own
# update rule), and the step-by-step tutorial's code, which updates the hidden
# weights with the already-updated output weights.
#
# Every function runs its whole loop in one `with nogil:` block; the wrappers
# in cyprop.tutorials validate and convert the arguments first.  Float64 only:
# these reproduce printed numbers.

from libc.math cimport exp, log, fabs, isfinite

from cyprop_tutorial cimport cyp_python_pow, cyp_rbf_surface_loss, cyp_rbf_step_sums
from cython.view cimport array as cvarray


cdef inline double _logistic(double z) noexcept nogil:
    return 1.0 / (1.0 + exp(-z))


# ---------------------------------------------------------------------------
# RBF tutorial: y = logistic(exp(-(x*wh)^2) + bo), cross-entropy loss

def rbf_train(const double[::1] x, const double[::1] t, double wh, double bo,
              double learning_rate, double[:, ::1] params_loss):
    """Full-batch gradient descent on the RBF network.

    ``params_loss`` (n_iterations + 1, 3) is filled in place with
    (wh, bo, loss) before the first update and after every update.
    Returns the final (wh, bo).
    """
    cdef Py_ssize_t k, n = x.shape[0], n_iter = params_loss.shape[0] - 1
    cdef double sum_wh = 0.0, sum_bo = 0.0
    if t.shape[0] != n or n == 0 or n_iter < 0 or params_loss.shape[1] != 3:
        raise ValueError("rbf_train: inconsistent shapes")
    with nogil:
        params_loss[0, 0] = wh
        params_loss[0, 1] = bo
        params_loss[0, 2] = cyp_rbf_surface_loss(&x[0], &t[0], n, wh, bo)
        for k in range(n_iter):
            # The tutorial averages (wh - lr * grad_i) over samples i; we sum
            # the same terms (in SIMD lanes) and divide once.
            cyp_rbf_step_sums(&x[0], &t[0], n, wh, bo, learning_rate, &sum_wh, &sum_bo)
            wh = sum_wh / n
            bo = sum_bo / n
            params_loss[k + 1, 0] = wh
            params_loss[k + 1, 1] = bo
            params_loss[k + 1, 2] = cyp_rbf_surface_loss(&x[0], &t[0], n, wh, bo)
    return wh, bo


def rbf_loss_grid(const double[::1] x, const double[::1] t, const double[::1] wh,
                  const double[::1] bo, double[::1] out):
    """out[p] = loss at (wh[p], bo[p]) for every grid point p (in place).

    The same loss as ``rbf_train`` records (the kernels' own vectorised exp
    and log, within 2 ulp of libm's).
    """
    cdef Py_ssize_t p
    if wh.shape[0] != bo.shape[0] or out.shape[0] != wh.shape[0] or t.shape[0] != x.shape[0]:
        raise ValueError("rbf_loss_grid: inconsistent shapes")
    if x.shape[0] == 0:
        raise ValueError("rbf_loss_grid: no samples")
    with nogil:
        for p in range(wh.shape[0]):
            out[p] = cyp_rbf_surface_loss(&x[0], &t[0], x.shape[0], wh[p], bo[p])


# ---------------------------------------------------------------------------
# gradient-descent tutorial

def descend(double x_start, double gamma, double precision, Py_ssize_t max_steps):
    """Minimise f(x) = x^4 - 3x^3 + 2 by x <- x - gamma f'(x).

    Mirrors the tutorial's loop: the previous x starts at 0 and the loop runs
    while |x_new - x_old| > precision.  Returns (x, n_steps, status) with
    status 0 converged, 1 max_steps reached, 2 x became inf or NaN.
    """
    cdef double x_old = 0.0, x_new = x_start
    cdef Py_ssize_t n = 0
    cdef int status = 0
    with nogil:
        while fabs(x_new - x_old) > precision:
            if n >= max_steps:
                status = 1
                break
            x_old = x_new
            x_new = x_old - gamma * (4.0 * cyp_python_pow(x_old, 3.0)
                                     - 9.0 * cyp_python_pow(x_old, 2.0))
            n += 1
            if not isfinite(x_new):
                status = 2
                break
    return x_new, n, status


def sigmoid_train(const double[:, ::1] X, const double[:, ::1] y, double[:, ::1] weights,
                  double alpha, Py_ssize_t epochs, bint exact):
    """Full-batch training of h = sigmoid(X @ weights); weights updated in place.

    X (m, n), y (m, k), weights (n, k).  With ``exact`` false, the tutorial's
    rule: every weight of output column c moves by
    alpha * sum_i (h_ic - y_ic) h_ic (1 - h_ic), whatever its input.
    With ``exact`` true, the gradient of the tutorial's cost
    sum((h - y)^2) / m: alpha * (2/m) sum_i (h_ic - y_ic) h_ic (1 - h_ic) X_ij.
    Returns True when the weights stayed finite.
    """
    cdef Py_ssize_t m = X.shape[0], n = X.shape[1], k = y.shape[1]
    cdef Py_ssize_t e, i, j, c
    cdef double z, h, g, common
    cdef bint finite = True
    if y.shape[0] != m or weights.shape[0] != n or weights.shape[1] != k or m == 0:
        raise ValueError("sigmoid_train: inconsistent shapes")
    cdef double[::1] grad = cython_zeros(n)
    with nogil:
        for e in range(epochs):
            for c in range(k):
                common = 0.0
                for j in range(n):
                    grad[j] = 0.0
                for i in range(m):
                    # forward pass
                    z = 0.0
                    for j in range(n):
                        z += X[i, j] * weights[j, c]
                    h = _logistic(z)
                    # backward pass
                    g = (h - y[i, c]) * (h * (1.0 - h))
                    if exact:
                        for j in range(n):
                            grad[j] += g * X[i, j]
                    else:
                        common += g
                for j in range(n):
                    if exact:
                        weights[j, c] = weights[j, c] - alpha * (2.0 * grad[j] / m)
                    else:
                        weights[j, c] = weights[j, c] - alpha * common
            if not isfinite(weights[0, 0]):
                finite = False
                break
    return finite


def sigmoid_cost_grid(const double[:, ::1] X, const double[::1] y, const double[::1] theta1,
                      const double[::1] theta2, bint cross_entropy, double[::1] out):
    """Cost of sigmoid(X @ [theta1[p], theta2[p]]) for every p (out, in place).

    MSE: sum((h - y)^2) / m.  Cross-entropy as the tutorial's code computes
    it: the SUM over samples of -y log h - (1 - y) log(1 - h).
    """
    cdef Py_ssize_t p, i, m = X.shape[0]
    cdef double h, total
    if X.shape[1] != 2 or y.shape[0] != m or theta2.shape[0] != theta1.shape[0] \
            or out.shape[0] != theta1.shape[0] or m == 0:
        raise ValueError("sigmoid_cost_grid: inconsistent shapes")
    with nogil:
        for p in range(theta1.shape[0]):
            total = 0.0
            for i in range(m):
                h = _logistic(X[i, 0] * theta1[p] + X[i, 1] * theta2[p])
                if cross_entropy:
                    total += -y[i] * log(h) - (1.0 - y[i]) * log(1.0 - h)
                else:
                    total += (h - y[i]) * (h - y[i])
            out[p] = total if cross_entropy else total / m


# ---------------------------------------------------------------------------
# step-by-step tutorial, "code" variant

def linear_step_code(const double[::1] inputs, double actual, double[:, ::1] w_hidden,
                     double[::1] w_out, double learning_rate, Py_ssize_t steps):
    """The step-by-step tutorial's update, as its code does it (in place).

    Linear 2-layer network, one sample: h = inputs @ w_hidden (n,), out = h @ w_out.
    Per step: w_out <- w_out - lr*delta*h, then
    w_hidden[i, j] <- w_hidden[i, j] - lr*delta*inputs[i]*w_out_NEW[i]
    (the code broadcasts the updated output weights along the input index;
    it needs as many hidden units as inputs).
    """
    cdef Py_ssize_t n = inputs.shape[0], s, i, j
    cdef double out, delta, scale
    if w_hidden.shape[0] != n or w_hidden.shape[1] != n or w_out.shape[0] != n:
        raise ValueError("linear_step_code: inconsistent shapes")
    cdef double[::1] h = cython_zeros(n)
    with nogil:
        for s in range(steps):
            # forward pass
            out = 0.0
            for j in range(n):
                h[j] = 0.0
                for i in range(n):
                    h[j] += inputs[i] * w_hidden[i, j]
                out += h[j] * w_out[j]
            delta = out - actual
            # backward pass (the code's order: output weights first)
            scale = learning_rate * delta
            for j in range(n):
                w_out[j] = w_out[j] - scale * h[j]
            for i in range(n):
                for j in range(n):
                    w_hidden[i, j] = w_hidden[i, j] - scale * inputs[i] * w_out[i]


cdef double[::1] cython_zeros(Py_ssize_t n):
    """A zeroed scratch vector (allocated with the GIL, before the loop)."""
    cdef double[::1] buf = cvarray(shape=(max(n, 1),), itemsize=sizeof(double), format="d")
    buf[:] = 0.0
    return buf
