"""cyprop.Network: a fully-connected feed-forward network on compiled kernels.

The maths, for a network with layers l = 1..L::

    z_l = W_l a_{l-1} + b_l,   a_l = f_l(z_l),   a_0 = x
    delta_L = dLoss/dz_L
    delta_{l-1} = (W_l^T delta_l) * f'_{l-1}(z_{l-1})
    dLoss/dW_l = outer(delta_l, a_{l-1}),   dLoss/db_l = delta_l

All parameters live in one flat buffer, ``parameters``, laid out
``[W_1.ravel(), b_1, W_2.ravel(), b_2, ...]``; ``weights`` and ``biases``
are views into it, and the kernels update it in place.
"""

import time

import numpy as np

from . import _persist
from ._blocked import resolve_schedule
from ._kernels import kernels as _k
from ._validate import as_count, as_float_array, as_real, check_choice

__all__ = ["Network", "History", "DivergenceError"]

HIDDEN_ACTIVATIONS = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "rbf")
OUTPUT_ACTIVATIONS = HIDDEN_ACTIVATIONS + ("softmax",)
LOSSES = ("squared_error", "cross_entropy")
MODES = ("online", "batch", "minibatch")
DTYPES = {"float64": np.float64, "float32": np.float32}

# Sample orders are generated in blocks of at most this many indices.
_ORDER_BLOCK = 1 << 22
# With a progress bar, grow the epochs per kernel call until a call takes this long.
_PROGRESS_CALL_SECONDS = 0.05


class DivergenceError(FloatingPointError):
    """Training produced a NaN or infinite loss or weight.

    ``epoch`` is the 1-based epoch at which it happened; the network holds
    the weights it had at the start of that epoch; ``history`` the losses of
    the epochs before it.
    """

    def __init__(self, message, epoch, history):
        super().__init__(message)
        self.epoch = epoch
        self.history = history


class History:
    """What :meth:`Network.fit` returns: the mean training loss of each epoch.

    Attributes
    ----------
    loss : list of float
        ``loss[e]`` is the mean over epoch ``e``'s samples of each sample's
        loss, computed in its forward pass (in online mode, just before that
        sample's update).
    """

    def __init__(self):
        self.loss = []

    @property
    def epochs(self):
        """Number of epochs run."""
        return len(self.loss)

    def __len__(self):
        return len(self.loss)

    def __repr__(self):
        last = f", final loss {self.loss[-1]:.6g}" if self.loss else ""
        return f"History({self.epochs} epochs{last})"


class _LayerViews:
    """``net.weights`` / ``net.biases``: a fixed-length list of array views.

    ``views[l][...] = value`` and ``views[l] = value`` both write into the
    network's parameter buffer (with a shape check).
    """

    def __init__(self, arrays, what):
        self._arrays = arrays
        self._what = what

    def __getitem__(self, index):
        return self._arrays[index]

    def __setitem__(self, index, value):
        target = self._arrays[index]
        value = as_float_array(value, f"{self._what}[{index}]", dtype=target.dtype)
        if value.shape != target.shape:
            raise ValueError(
                f"{self._what}[{index}] has shape {target.shape}, got an array of shape {value.shape}"
            )
        target[...] = value

    def __len__(self):
        return len(self._arrays)

    def __iter__(self):
        return iter(self._arrays)

    def __repr__(self):
        return repr(self._arrays)


class Network:
    """A fully-connected feed-forward network trained by backpropagation.

    Parameters
    ----------
    layer_sizes : sequence of int
        Units per layer, input first: ``[64, 32, 10]`` is 64 inputs, one
        hidden layer of 32 units and 10 outputs.  At least two entries.
    hidden_activation : str, default "sigmoid"
        One of "identity", "sigmoid", "tanh", "relu", "leaky_relu" (slope
        0.01 below zero) and "rbf" (``exp(-z**2)``), for every hidden layer.
    output_activation : str, default "sigmoid"
        Any hidden activation, or "softmax" (only with ``loss="cross_entropy"``).
    loss : str, default "squared_error"
        "squared_error": half the summed squared error of a sample, averaged
        over samples.  "cross_entropy": binary (per output unit) with sigmoid
        outputs, categorical with softmax; its output delta is ``a - t``.
    dtype : {"float64", "float32"}, default "float64"
        Precision of parameters and arithmetic.  float32 halves the memory
        traffic per sample and runs twice as many lanes per SIMD instruction:
        it is the faster choice for large layers (hundreds of units).
    seed : int or None
        Seeds the weight initialisation (``numpy.random.default_rng``).
        Weights of a layer with ``n_in`` inputs and ``n_out`` units are drawn
        Glorot-uniform, U(-r, r) with ``r = sqrt(6 / (n_in + n_out))``, for
        identity, sigmoid, tanh, rbf and softmax layers, and He-normal,
        N(0, 2 / n_in), for relu and leaky_relu layers.  Biases start at 0.
    bias : bool, default True
        With ``False`` the biases stay at zero and are never trained.

    Attributes
    ----------
    parameters : ndarray, shape (n_parameters,)
        The flat parameter buffer, updated in place by training.
    weights : list of ndarray
        ``weights[l]`` has shape (layer_sizes[l+1], layer_sizes[l]); a view.
    biases : list of ndarray
        ``biases[l]`` has shape (layer_sizes[l+1],); a view.

    Examples
    --------
    >>> import numpy as np, cyprop
    >>> X = np.array([[0., 0], [0, 1], [1, 0], [1, 1]]); y = np.array([[0.], [1], [1], [0]])
    >>> net = cyprop.Network([2, 4, 1], loss="cross_entropy", seed=0)
    >>> history = net.fit(X, y, epochs=2000, learning_rate=0.5)
    >>> net.predict(X).round().ravel().tolist()
    [0.0, 1.0, 1.0, 0.0]
    """

    def __init__(self, layer_sizes, hidden_activation="sigmoid", output_activation="sigmoid",
                 loss="squared_error", dtype="float64", seed=None, bias=True):
        sizes = _check_layer_sizes(layer_sizes)
        check_choice(hidden_activation, "hidden_activation", HIDDEN_ACTIVATIONS)
        if hidden_activation == "softmax":
            raise ValueError("hidden_activation='softmax' is not supported: softmax is for the output layer")
        check_choice(output_activation, "output_activation", OUTPUT_ACTIVATIONS)
        check_choice(loss, "loss", LOSSES)
        _check_output_loss(output_activation, loss, sizes[-1])
        dtype_name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
        check_choice(dtype_name, "dtype", tuple(DTYPES))
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")

        self.layer_sizes = tuple(sizes)
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.loss_name = loss
        self.dtype = np.dtype(DTYPES[dtype_name])
        self.bias = bool(bias)
        self._layout()
        self._init_weights(seed)

    # -- layout and initialisation ------------------------------------------------

    def _layout(self):
        sizes = self.layer_sizes
        n_layers = len(sizes) - 1
        w_off, b_off, n_off = [], [], []
        offset = nodes = 0
        for l in range(n_layers):
            w_off.append(offset)
            offset += sizes[l] * sizes[l + 1]
            b_off.append(offset)
            offset += sizes[l + 1]
            n_off.append(nodes)
            nodes += sizes[l + 1]
        acts = [self.hidden_activation] * (n_layers - 1) + [self.output_activation]
        self._sizes = np.asarray(sizes, dtype=np.intp)
        self._w_off = np.asarray(w_off, dtype=np.intp)
        self._b_off = np.asarray(b_off, dtype=np.intp)
        self._n_off = np.asarray(n_off, dtype=np.intp)
        self._acts = np.asarray([_k.ACTIVATIONS[a] for a in acts], dtype=np.intc)
        self._loss_code = _k.LOSSES[self.loss_name]
        self._params = np.zeros(offset, dtype=self.dtype)
        self._weights = _LayerViews(
            [self._params[w:w + sizes[l] * sizes[l + 1]].reshape(sizes[l + 1], sizes[l])
             for l, w in enumerate(w_off)], "weights")
        self._biases = _LayerViews(
            [self._params[b:b + sizes[l + 1]] for l, b in enumerate(b_off)], "biases")

    def _init_weights(self, seed):
        rng = np.random.default_rng(seed)
        n_layers = len(self.layer_sizes) - 1
        for l in range(n_layers):
            n_in, n_out = self.layer_sizes[l], self.layer_sizes[l + 1]
            act = self.hidden_activation if l < n_layers - 1 else self.output_activation
            if act in ("relu", "leaky_relu"):
                W = rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_out, n_in))
            else:
                r = np.sqrt(6.0 / (n_in + n_out))
                W = rng.uniform(-r, r, size=(n_out, n_in))
            self._weights[l][...] = W

    # -- parameters -----------------------------------------------------------

    @property
    def parameters(self):
        """The flat parameter buffer (a writable array; assigning copies into it)."""
        return self._params

    @parameters.setter
    def parameters(self, value):
        value = as_float_array(value, "parameters", dtype=self.dtype)
        if value.shape != self._params.shape:
            raise ValueError(f"parameters has shape {self._params.shape}, got {value.shape}")
        self._params[...] = value

    @property
    def weights(self):
        return self._weights

    @property
    def biases(self):
        return self._biases

    @property
    def n_parameters(self):
        return self._params.size

    def __repr__(self):
        return (f"Network({list(self.layer_sizes)}, hidden_activation={self.hidden_activation!r}, "
                f"output_activation={self.output_activation!r}, loss={self.loss_name!r}, "
                f"dtype={self.dtype.name!r}" + ("" if self.bias else ", bias=False") + ")")

    def __reduce__(self):
        # Rebuild from the configuration and the flat buffer, so an unpickled
        # network's weights and biases are views into its parameters again.
        return (_rebuild, (self.layer_sizes, self.hidden_activation, self.output_activation,
                           self.loss_name, self.dtype.name, self.bias, self._params.copy()))

    def copy(self):
        """An independent network with the same configuration and parameters."""
        other = Network(self.layer_sizes, self.hidden_activation, self.output_activation,
                        self.loss_name, self.dtype.name, seed=0, bias=self.bias)
        other._params[...] = self._params
        return other

    # -- argument checks --------------------------------------------------------

    def _check_X(self, X, name="X"):
        X = as_float_array(X, name, dtype=self.dtype)
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, {self.layer_sizes[0]}), got shape {X.shape}"
                             + ("; use X.reshape(1, -1) for one sample" if X.ndim == 1 else ""))
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"{name} has {X.shape[1]} features (shape {X.shape}) but the network "
                             f"takes {self.layer_sizes[0]} inputs")
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {X.shape})")
        return X

    def _check_XY(self, X, Y):
        X = self._check_X(X)
        n_out = self.layer_sizes[-1]
        Y_arr = np.asarray(Y)
        if Y_arr.ndim == 1 and self.output_activation == "softmax":
            Y = self._one_hot(Y_arr)
        else:
            if Y_arr.ndim == 1 and n_out == 1:
                Y_arr = Y_arr.reshape(-1, 1)
            Y = as_float_array(Y_arr, "Y", dtype=self.dtype)
            if Y.ndim != 2 or Y.shape[1] != n_out:
                hint = " (1-D class labels need output_activation='softmax')" if Y.ndim == 1 else ""
                raise ValueError(f"Y must have shape (n_samples, {n_out}), got {Y.shape}{hint}")
        if Y.shape[0] != X.shape[0]:
            raise ValueError(f"X and Y have different numbers of samples: X {X.shape}, Y {Y.shape}")
        return X, Y

    def _one_hot(self, labels):
        n_out = self.layer_sizes[-1]
        if labels.dtype.kind == "f":
            if not np.isfinite(labels).all() or np.any(labels != np.round(labels)):
                raise ValueError("Y: class labels must be whole numbers")
        elif labels.dtype.kind not in "biu":
            raise TypeError(f"Y: class labels must be integers, got dtype {labels.dtype}")
        labels = labels.astype(np.int64)
        if labels.size and (labels.min() < 0 or labels.max() >= n_out):
            raise ValueError(f"Y: class labels must lie in [0, {n_out - 1}] for {n_out} outputs; "
                             f"got labels from {labels.min()} to {labels.max()}")
        Y = np.zeros((labels.size, n_out), dtype=self.dtype)
        Y[np.arange(labels.size), labels] = 1
        return Y

    def _layout_args(self):
        return self._sizes, self._w_off, self._b_off, self._n_off, self._acts

    def _workspace(self):
        return np.empty(_k.workspace_size(self._sizes), dtype=self.dtype)

    # -- training ---------------------------------------------------------------

    def fit(self, X, Y, epochs=1, learning_rate=0.1, mode="online", batch_size=None,
            momentum=0.0, shuffle=True, seed=None, progress=False, callback=None,
            schedule="auto", block_size=None):
        """Train the network by backpropagation; the parameters change in place.

        Parameters
        ----------
        X : array_like, shape (n_samples, layer_sizes[0])
        Y : array_like, shape (n_samples, layer_sizes[-1])
            Targets.  With a softmax output, a 1-D array of integer class
            labels in ``[0, layer_sizes[-1])`` is accepted too.
        epochs : int, default 1
            Passes over the data.
        learning_rate : float, default 0.1
            Step size ``eta`` (positive).
        mode : {"online", "batch", "minibatch"}, default "online"
            "online": update after every sample (per-sample SGD).
            "batch": sum per-sample gradients over the whole set, one update
            of ``-eta * mean gradient`` per epoch.  "minibatch": the same per
            ``batch_size`` samples (the last batch of an epoch may be smaller).
        batch_size : int, optional
            Samples per update in "minibatch" mode (default 32).
        momentum : float in [0, 1), default 0
            Classical momentum: ``v = momentum * v - eta * g``, ``w += v``.
            The velocity starts at zero at every call.
        shuffle : bool, default True
            Visit the samples in a new random order each epoch:
            ``rng.permutation(n_samples)`` with ``rng = default_rng(seed)``.
        seed : int or None
            Seeds the shuffling.
        progress : bool, default False
            Show a progress bar (tqdm if installed, else a plain one on stderr).
        callback : callable, optional
            ``callback(epoch, loss, network)`` after every epoch (1-based
            epoch); returning ``False`` stops training.
        schedule : {"auto", "sequential", "blocked"}, default "auto"
            How "online" mode runs (the other modes ignore "auto" and reject
            "blocked").  "sequential" updates every weight after every
            sample.  "blocked" gives the same per-sample SGD but updates the
            first layer ``block_size`` samples at a time with BLAS matrix
            products; the weights agree with "sequential" up to the order of
            floating-point sums (about 1e-15 relative per epoch in float64,
            1e-6 in float32).  It needs SciPy.  "auto" takes "blocked" for a
            wide first layer (at least 256 inputs and 64 units) when SciPy is
            installed, "sequential" otherwise.
        block_size : int, optional
            Samples per block of the blocked schedule (default 32).

        Returns
        -------
        History
            The mean training loss of every epoch run.

        Raises
        ------
        DivergenceError
            When an epoch's loss or weights become NaN or infinite; the
            network keeps the weights it had at the start of that epoch.
        """
        X, Y = self._check_XY(X, Y)
        epochs = as_count(epochs, "epochs")
        eta = as_real(learning_rate, "learning_rate", positive=True)
        check_choice(mode, "mode", MODES)
        mu = as_real(momentum, "momentum", nonnegative=True)
        if mu >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {mu}")
        n = X.shape[0]
        if mode == "minibatch":
            batch = as_count(32 if batch_size is None else batch_size, "batch_size")
        elif batch_size is not None:
            raise ValueError(f"batch_size is only used with mode='minibatch' (mode={mode!r})")
        else:
            batch = 0 if mode == "online" else n
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        samples_per_block = resolve_schedule(schedule, block_size, self.layer_sizes, mode)

        # all workspace for this fit, allocated once
        n_params = self._params.size
        grad = np.zeros(n_params if batch else 0, dtype=self.dtype)
        velocity = np.zeros(n_params if mu else 0, dtype=self.dtype)
        backup = np.empty(2 * n_params, dtype=self.dtype)
        work = self._workspace()
        losses = np.empty(epochs, dtype=np.float64)
        rng = np.random.default_rng(seed) if shuffle else None  # (seeding from the OS costs ~30 us)
        history = History()
        ordered = np.arange(n, dtype=np.intp)
        bar = _progress_bar(epochs) if progress else None
        if samples_per_block:
            block_work = np.empty(_k.blocked_workspace_size(self._sizes, samples_per_block),
                                  dtype=self.dtype)
            coef = np.empty(3 * (samples_per_block + 1), dtype=np.float64)

        def run(first, count):
            if shuffle:
                # the same stream as one rng.permutation(n) per epoch, in one call
                order = rng.permuted(np.tile(np.arange(n, dtype=np.intp), (count, 1)), axis=1)
            else:  # one row for every epoch: a stride-0 view, no copy
                order = np.ndarray((count, n), np.intp, ordered, 0, (0, ordered.itemsize))
            if samples_per_block:
                failed = _k.train_epochs_blocked(
                    self._params, velocity, backup, work, block_work, coef, *self._layout_args(),
                    self._loss_code, self.bias, X, Y, order, eta, mu, samples_per_block,
                    losses[first:first + count])
            else:
                failed = _k.train_epochs(self._params, grad, velocity, backup, work,
                                         *self._layout_args(), self._loss_code, self.bias,
                                         X, Y, order, eta, mu, batch, losses[first:first + count])
            done = count if failed < 0 else failed
            history.loss.extend(losses[first:first + done].tolist())
            if failed >= 0:
                epoch = first + failed + 1
                if bar is not None:
                    bar.close()
                raise DivergenceError(
                    f"training diverged in epoch {epoch}: the loss or the weights became NaN or "
                    f"infinite with learning_rate={eta}. The network keeps the weights it had before "
                    f"epoch {epoch}; try a smaller learning_rate (e.g. {eta / 10:g}).",
                    epoch, history)

        done = 0
        chunk = 1
        block = max(1, _ORDER_BLOCK // n) if shuffle else epochs
        while done < epochs:
            if callback is not None:
                count = 1
            elif bar is not None:
                count = min(chunk, block, epochs - done)
            else:
                count = min(block, epochs - done)
            started = time.perf_counter()
            run(done, count)
            done += count
            if bar is not None:
                bar.update(count, history.loss[-1])
                if time.perf_counter() - started < _PROGRESS_CALL_SECONDS:
                    chunk *= 2
            if callback is not None and callback(done, history.loss[-1], self) is False:
                break
        if bar is not None:
            bar.close()
        return history

    # -- evaluation -------------------------------------------------------------

    def predict(self, X):
        """Network outputs for every row of ``X``.

        Parameters
        ----------
        X : array_like, shape (n_samples, layer_sizes[0])

        Returns
        -------
        ndarray, shape (n_samples, layer_sizes[-1]), the network's dtype
        """
        X = self._check_X(X)
        out = np.empty((X.shape[0], self.layer_sizes[-1]), dtype=self.dtype)
        _k.predict(self._params, self._workspace(), *self._layout_args(), X, out)
        return out

    def loss(self, X, Y):
        """Mean loss over the samples of ``X``, ``Y`` (float)."""
        X, Y = self._check_XY(X, Y)
        return float(_k.loss(self._params, self._workspace(), *self._layout_args(),
                             self._loss_code, X, Y))

    def gradients(self, X, Y):
        """Gradient of the mean loss with respect to every layer's parameters.

        Returns
        -------
        list of (dW, db)
            One pair per layer, shapes as ``weights[l]`` and ``biases[l]``.
            With ``bias=False`` every ``db`` is zero.
        """
        X, Y = self._check_XY(X, Y)
        grad = np.zeros_like(self._params)
        _k.gradients(self._params, grad, self._workspace(), *self._layout_args(),
                     self._loss_code, self.bias, X, Y)
        grad /= X.shape[0]
        sizes = self.layer_sizes
        return [(grad[w:w + sizes[l] * sizes[l + 1]].reshape(sizes[l + 1], sizes[l]).copy(),
                 grad[b:b + sizes[l + 1]].copy())
                for l, (w, b) in enumerate(zip(self._w_off, self._b_off))]

    def check_gradients(self, X, Y, eps=1e-6):
        """Largest relative difference between backprop and finite-difference gradients.

        Every parameter is perturbed by ``+-eps`` and the mean loss's central
        difference ``(L(p + eps) - L(p - eps)) / (2 eps)`` compared with the
        backprop gradient: ``|g - fd| / max(|g|, |fd|, 1e-3)`` (the floor keeps
        finite-difference round-off on near-zero components from dominating).
        Computed in float64 whatever the network's dtype; costs two loss
        evaluations per parameter, so use it on small networks and data.

        relu and leaky_relu have a kink at z = 0, where the finite difference
        averages the two one-sided slopes: a pre-activation exactly at 0 (a
        zero bias behind a layer of dead units, say) shows up as a large
        difference that is not an error in the backprop gradient.
        """
        eps = as_real(eps, "eps", positive=True)
        net = self if self.dtype == np.float64 else self._as_float64()
        X, Y = net._check_XY(X, Y)
        backprop = np.concatenate([np.concatenate([dW.ravel(), db])
                                   for dW, db in net.gradients(X, Y)])
        params = net._params
        work = net._workspace()
        numeric = np.empty_like(params)
        saved = params.copy()
        try:
            for p in range(params.size):
                if not self.bias and _is_bias_index(net, p):
                    numeric[p] = 0.0
                    continue
                params[p] = saved[p] + eps
                up = _k.loss(params, work, *net._layout_args(), net._loss_code, X, Y)
                params[p] = saved[p] - eps
                down = _k.loss(params, work, *net._layout_args(), net._loss_code, X, Y)
                params[p] = saved[p]
                numeric[p] = (up - down) / (2 * eps)
        finally:
            params[...] = saved
        scale = np.maximum(np.maximum(np.abs(backprop), np.abs(numeric)), 1e-3)
        return float(np.max(np.abs(backprop - numeric) / scale))

    def _as_float64(self):
        other = Network(self.layer_sizes, self.hidden_activation, self.output_activation,
                        self.loss_name, "float64", seed=0, bias=self.bias)
        other._params[...] = self._params
        return other

    # -- persistence --------------------------------------------------------------

    def save(self, path):
        """Write the network to ``path`` (a versioned ``.npz``, no pickle).

        The file is written to a temporary file beside ``path`` and renamed
        over it, so a crash never leaves a half-written file at ``path``.
        """
        _persist.save(self, path)

    @classmethod
    def load(cls, path):
        """Read a network written by :meth:`save`.

        Raises
        ------
        ValueError
            If the file is not a cyprop network file, is corrupt or truncated,
            or its contents do not fit together.
        """
        return _persist.load(cls, path)


def _rebuild(layer_sizes, hidden_activation, output_activation, loss, dtype, bias, parameters):
    """Unpickle a Network (see Network.__reduce__)."""
    net = Network(layer_sizes, hidden_activation, output_activation, loss, dtype, seed=0, bias=bias)
    net.parameters = parameters
    return net


def _is_bias_index(net, p):
    return any(b <= p < b + net.layer_sizes[l + 1] for l, b in enumerate(net._b_off))


def _check_layer_sizes(layer_sizes):
    try:
        sizes = list(layer_sizes)
    except TypeError:
        raise TypeError(f"layer_sizes must be a sequence of integers, got {layer_sizes!r}") from None
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}")
    return [as_count(s, f"layer_sizes[{i}]") for i, s in enumerate(sizes)]


def _check_output_loss(output_activation, loss, n_out):
    if output_activation == "softmax" and loss != "cross_entropy":
        raise ValueError("output_activation='softmax' requires loss='cross_entropy'")
    if output_activation == "softmax" and n_out < 2:
        raise ValueError("output_activation='softmax' needs at least 2 outputs")
    if loss == "cross_entropy" and output_activation not in ("sigmoid", "softmax"):
        raise ValueError("loss='cross_entropy' requires output_activation 'sigmoid' (binary) or "
                         f"'softmax' (categorical), got {output_activation!r}")


def _progress_bar(total):
    from ._progress import ProgressBar

    return ProgressBar(total)
