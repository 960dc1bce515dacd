"""numba ``@njit`` loops: the per-sample algorithm written as explicit loops.

The same structure as bench/c/mlp.c's per-sample version (forward pass,
all deltas, then the updates), on cyprop's flat parameter layout, compiled
by numba with its defaults (``fastmath=False``, so the dot products' sums
keep their order and are not vectorised).  The kernels are built once per
floating type with that type's constants, so float32 stays float32.  The
first call compiles (reported as the warm-up time).
"""

import numpy as np

from ._util import flat_params, mlp_result, unflatten, version_of

ACT = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "rbf": 5, "softmax": 6}
LOSS = {"squared_error": 0, "cross_entropy": 1}

_KERNELS = {}


def available(options):
    try:
        import numba  # noqa: F401
    except Exception as exc:
        return False, f"numba not installed ({type(exc).__name__}); pip install numba"
    return True, ""


def supports(task, options):
    if task["kind"] == "mlp" and (task["hidden"] not in ACT or task["output"] not in ACT):
        return False, "activation not implemented"
    return True, ""



def info(options):
    import numba

    return {"numba": numba.__version__, "llvmlite": version_of("llvmlite"),
            "NUMBA_NUM_THREADS": numba.config.NUMBA_NUM_THREADS}


def _kernels(dtype):
    if dtype in _KERNELS:
        return _KERNELS[dtype]
    from numba import njit

    T = np.dtype(dtype).type
    one, zero, two = T(1.0), T(0.0), T(2.0)

    @njit
    def activate(code, z, a, lo, n):
        if code == 1:
            for j in range(lo, lo + n):
                a[j] = one / (one + np.exp(-z[j]))
        elif code == 2:
            for j in range(lo, lo + n):
                a[j] = np.tanh(z[j])
        elif code == 3:
            for j in range(lo, lo + n):
                a[j] = z[j] if z[j] > zero else zero
        elif code == 5:
            for j in range(lo, lo + n):
                a[j] = np.exp(-z[j] * z[j])
        elif code == 6:
            zmax = z[lo]
            for j in range(lo + 1, lo + n):
                if z[j] > zmax:
                    zmax = z[j]
            total = zero
            for j in range(lo, lo + n):
                a[j] = np.exp(z[j] - zmax)
                total += a[j]
            for j in range(lo, lo + n):
                a[j] = a[j] / total
            return zmax + T(np.log(total))
        else:
            for j in range(lo, lo + n):
                a[j] = z[j]
        return zero

    @njit
    def derivative(code, z, a):
        if code == 1:
            return a * (one - a)
        if code == 2:
            return one - a * a
        if code == 3:
            return one if z > zero else zero
        if code == 5:
            return -two * z * a
        return one

    @njit
    def train(sizes, acts, loss, batch, params, grad, X, Y, epochs, eta, epoch_loss,
              z, a, delta, back, w_off, b_off, n_off):
        n_layers = sizes.shape[0] - 1
        n_samples = X.shape[0]
        n_params = params.shape[0]
        L = n_layers - 1
        n_out = sizes[n_layers]
        for e in range(epochs):
            total = 0.0
            in_batch = 0
            for s in range(n_samples):
                # forward pass
                lse = zero
                for l in range(n_layers):
                    ni = sizes[l]
                    no = sizes[l + 1]
                    for j in range(no):
                        acc = zero
                        row = w_off[l] + j * ni
                        if l == 0:
                            for i in range(ni):
                                acc += params[row + i] * X[s, i]
                        else:
                            prev = n_off[l - 1]
                            for i in range(ni):
                                acc += params[row + i] * a[prev + i]
                        z[n_off[l] + j] = acc + params[b_off[l] + j]
                    lse = activate(acts[l], z, a, n_off[l], no)
                # output delta and loss
                lo = n_off[L]
                if loss == 0:
                    sl = 0.0
                    for k in range(n_out):
                        err = a[lo + k] - Y[s, k]
                        sl += float(err) * float(err)
                        delta[lo + k] = err * derivative(acts[L], z[lo + k], a[lo + k])
                    total += 0.5 * sl
                else:
                    for k in range(n_out):
                        delta[lo + k] = a[lo + k] - Y[s, k]
                    if acts[L] == 6:
                        for k in range(n_out):
                            total += float(Y[s, k]) * (float(lse) - float(z[lo + k]))
                    else:
                        for k in range(n_out):
                            v = float(z[lo + k])
                            sp = v + np.log1p(np.exp(-v)) if v > 0 else np.log1p(np.exp(v))
                            total += sp - float(Y[s, k]) * v
                # backward pass: all deltas first
                for l in range(n_layers - 1, 0, -1):
                    ni = sizes[l]
                    no = sizes[l + 1]
                    for i in range(ni):
                        back[i] = zero
                    for j in range(no):
                        d = delta[n_off[l] + j]
                        row = w_off[l] + j * ni
                        for i in range(ni):
                            back[i] += params[row + i] * d
                    prev = n_off[l - 1]
                    for i in range(ni):
                        delta[prev + i] = back[i] * derivative(acts[l - 1], z[prev + i],
                                                               a[prev + i])
                # then the updates (or gradient accumulation)
                for l in range(n_layers - 1, -1, -1):
                    ni = sizes[l]
                    no = sizes[l + 1]
                    for j in range(no):
                        d = delta[n_off[l] + j]
                        row = w_off[l] + j * ni
                        if batch == 0:
                            step = eta * d
                            if l == 0:
                                for i in range(ni):
                                    params[row + i] -= step * X[s, i]
                            else:
                                prev = n_off[l - 1]
                                for i in range(ni):
                                    params[row + i] -= step * a[prev + i]
                            params[b_off[l] + j] -= step
                        else:
                            if l == 0:
                                for i in range(ni):
                                    grad[row + i] += d * X[s, i]
                            else:
                                prev = n_off[l - 1]
                                for i in range(ni):
                                    grad[row + i] += d * a[prev + i]
                            grad[b_off[l] + j] += d
                if batch > 0:
                    in_batch += 1
                    if in_batch == batch or s == n_samples - 1:
                        scale = 1.0 / in_batch
                        for i in range(n_params):
                            params[i] += T(-scale * (float(eta) * float(grad[i])))
                            grad[i] = zero
                        in_batch = 0
            epoch_loss[e] = total / n_samples

    @njit
    def rbf_loss(x, t, wh, bo):
        total = 0.0
        for i in range(x.shape[0]):
            zh = x[i] * wh
            y = 1.0 / (1.0 + np.exp(-(np.exp(-zh * zh) + bo)))
            total += t[i] * np.log(y) + (1.0 - t[i]) * np.log(1.0 - y)
        return -(total / x.shape[0])

    @njit
    def rbf_train(x, t, wh, bo, lr, path):
        n = x.shape[0]
        path[0, 0] = wh
        path[0, 1] = bo
        path[0, 2] = rbf_loss(x, t, wh, bo)
        for k in range(path.shape[0] - 1):
            sum_wh = 0.0
            sum_bo = 0.0
            for i in range(n):
                zh = x[i] * wh
                h = np.exp(-zh * zh)
                y = 1.0 / (1.0 + np.exp(-(h + bo)))
                d_o = y - t[i]
                sum_wh += wh - lr * (x[i] * -2.0 * zh * h * d_o)
                sum_bo += bo - lr * d_o
            wh = sum_wh / n
            bo = sum_bo / n
            path[k + 1, 0] = wh
            path[k + 1, 1] = bo
            path[k + 1, 2] = rbf_loss(x, t, wh, bo)

    @njit
    def rbf_surface(x, t, wh, bo, out):
        for p in range(wh.shape[0]):
            out[p] = rbf_loss(x, t, wh[p], bo[p])

    kernels = {"train": train, "rbf_train": rbf_train, "rbf_surface": rbf_surface}
    _KERNELS[dtype] = kernels
    return kernels


class Runner:
    def __init__(self, task, options):
        self.task = task
        kind = task["kind"]
        self.k = _kernels(task["dtype"])
        if kind == "rbf_train":
            self.path = np.zeros((task["n_iter"] + 1, 3))
            return
        if kind == "rbf_surface":
            self._wh = np.ascontiguousarray(task["wh_grid"]).ravel()
            self._bo = np.ascontiguousarray(task["bo_grid"]).ravel()
            self.surface = np.zeros(self._wh.shape[0])
            return
        dtype = np.dtype(task["dtype"])
        sizes = task["sizes"]
        n_layers = len(sizes) - 1
        self.sizes = np.array(sizes, dtype=np.int64)
        self.acts = np.array([ACT[task["hidden"]]] * (n_layers - 1) + [ACT[task["output"]]],
                             dtype=np.int64)
        self.params0 = flat_params(task["weights"], task["biases"], dtype)
        self.params = self.params0.copy()
        self.grad = np.zeros_like(self.params)
        w_off, b_off, n_off = [], [], []
        off = nodes = 0
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            w_off.append(off)
            off += n_in * n_out
            b_off.append(off)
            off += n_out
            n_off.append(nodes)
            nodes += n_out
        self.w_off = np.array(w_off, dtype=np.int64)
        self.b_off = np.array(b_off, dtype=np.int64)
        self.n_off = np.array(n_off, dtype=np.int64)
        self.z = np.zeros(nodes, dtype=dtype)
        self.a = np.zeros(nodes, dtype=dtype)
        self.delta = np.zeros(nodes, dtype=dtype)
        self.back = np.zeros(max(sizes), dtype=dtype)
        self.X = np.ascontiguousarray(task["X"], dtype=dtype)
        self.Y = np.ascontiguousarray(task["Y"], dtype=dtype)
        self.eta = dtype.type(task["lr"])
        self.batch = 0 if task["mode"] == "online" else self.X.shape[0]
        self.loss_code = LOSS[task["loss"]]
        self.epoch_loss = np.zeros(task["epochs"])

    def reset(self):
        if self.task["kind"] == "mlp":
            self.params[...] = self.params0

    def run(self):
        task = self.task
        kind = task["kind"]
        if kind == "rbf_train":
            self.k["rbf_train"](task["x"], task["t"], task["wh"], task["bo"], task["lr"],
                                self.path)
        elif kind == "rbf_surface":
            self.k["rbf_surface"](task["x"], task["t"], self._wh, self._bo, self.surface)
        else:
            self.k["train"](self.sizes, self.acts, self.loss_code, self.batch, self.params,
                            self.grad, self.X, self.Y, task["epochs"], self.eta,
                            self.epoch_loss, self.z, self.a, self.delta, self.back,
                            self.w_off, self.b_off, self.n_off)

    def result(self):
        kind = self.task["kind"]
        if kind == "rbf_train":
            return {"path": self.path.copy()}
        if kind == "rbf_surface":
            return {"surface": self.surface.reshape(self.task["wh_grid"].shape).copy()}
        res = mlp_result(*unflatten(self.params, self.task["sizes"]))
        res["epoch_loss"] = [float(v) for v in self.epoch_loss]
        return res
