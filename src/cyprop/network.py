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

import collections.abc
import threading
import time
from contextlib import nullcontext

import numpy as np

from . import _aligned, _persist, _training
from ._blocked import resolve_schedule
from ._kernels import kernels as _k
from ._fit_plan import EpochChunks, FitScratch, SampleOrders
from ._options import DTYPES as _DTYPE_NAMES
from ._threads import blas_single_threaded, online_split_work, resolve_n_threads
from ._options import HIDDEN_ACTIVATIONS, LOSSES, MODES, OPTIMIZERS, OUTPUT_ACTIVATIONS
from ._validate import (_all_finite, as_count, as_flag, as_float_array, as_real, as_seed,
                        check_choice, check_memory)

__all__ = ["Network", "History", "DivergenceError"]

DTYPES = {name: np.dtype(name).type for name in _DTYPE_NAMES}

# Passed as ``seed`` when the parameters are filled in right after: leave them at zero.
_NO_INIT = object()
# Weights are drawn in float64 blocks of at most this many values.
_INIT_BLOCK = 1 << 20


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


class LossCurve(collections.abc.Sequence):
    """``History.loss``: the per-epoch losses, kept in a float64 array.

    Behaves as a read-only list of floats (``len``, indexing, iteration,
    ``==`` with a list); ``np.asarray(loss)`` is the array itself (no copy)
    and a slice is a new float64 array.  8 bytes per epoch.
    """

    __slots__ = ("_values", "_count")

    def __init__(self, values=None):
        self._values = np.empty(0) if values is None else values
        self._count = 0

    def __len__(self):
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._values[:self._count][index].copy()
        return float(self._values[:self._count][index])

    def __iter__(self):
        return iter(self._values[:self._count].tolist())

    def __array__(self, dtype=None, copy=None):
        values = self._values[:self._count]
        return values.astype(dtype) if dtype is not None else values

    def __eq__(self, other):
        if isinstance(other, LossCurve):
            other = other._values[:other._count]
        try:
            other = np.asarray(other, dtype=np.float64)
        except (TypeError, ValueError):
            return NotImplemented
        return bool(other.shape == (self._count,) and np.array_equal(self._values[:self._count], other))

    __hash__ = None

    def tolist(self):
        return self._values[:self._count].tolist()

    def __repr__(self):
        return repr(self.tolist()) if self._count <= 20 else f"LossCurve({self._count} epochs)"


class History:
    """What :meth:`Network.fit` returns: the mean training loss of each epoch.

    Attributes
    ----------
    loss : LossCurve
        A read-only list-like of floats held in one float64 array (8 bytes
        per epoch; ``np.asarray(history.loss)`` is that array).
        ``loss[e]`` is the mean over epoch ``e``'s samples of each sample's
        loss, computed in its forward pass (in online mode, just before that
        sample's update).
    val_loss : list of float
        With ``validation_fraction``: the mean loss of the held-out samples
        after each epoch.  Empty otherwise.
    """

    def __init__(self, losses=None):
        self.loss = LossCurve(losses)
        self.val_loss = []

    def _ran(self, count):
        self.loss._count += count

    @property
    def epochs(self):
        """Number of epochs run."""
        return len(self.loss)

    def __len__(self):
        return len(self.loss)

    def __repr__(self):
        last = f", final loss {self.loss[-1]:.6g}" if len(self.loss) else ""
        return f"History({self.epochs} epochs{last})"


class _LayerViews:
    """``net.weights`` / ``net.biases``: a fixed-length list of array views.

    ``views[l][...] = value`` and ``views[l] = value`` both write into the
    network's parameter buffer (with a shape check).
    """

    def __init__(self, arrays, what, lock):
        self._arrays = arrays
        self._what = what
        self._lock = lock

    def __getitem__(self, index):
        return self._arrays[index]

    def __setitem__(self, index, value):
        target = self._arrays[index]
        value = as_float_array(value, f"{self._what}[{index}]", dtype=target.dtype)
        if value.shape != target.shape:
            raise ValueError(
                f"{self._what}[{index}] has shape {target.shape}, got an array of shape {value.shape}"
            )
        with _Exclusive(self._lock, f"assign {self._what}[{index}]"):
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
        dtype_name = _dtype_name(dtype)
        check_choice(dtype_name, "dtype", tuple(DTYPES))
        if not isinstance(bias, (bool, np.bool_)):
            raise TypeError(f"bias must be True or False, got {bias!r}")
        if seed is not _NO_INIT:  # (Network.load fills the parameters itself)
            seed = as_seed(seed)
        n_params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
        check_memory(n_params * np.dtype(DTYPES[dtype_name]).itemsize,
                     f"a {sizes} {dtype_name} network ({n_params} parameters)")
        # one fit, save or parameters assignment at a time (see _exclusive)
        self._lock = threading.RLock()

        self.layer_sizes = tuple(sizes)
        self.hidden_activation = hidden_activation
        self.output_activation = output_activation
        self.loss_name = loss
        self.dtype = np.dtype(DTYPES[dtype_name])
        self.bias = bool(bias)
        self._layout()
        if seed is not _NO_INIT:
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
        # at a fixed offset modulo 4096 (cyprop._aligned: 4K aliasing)
        self._params = _aligned.zeros(offset, self.dtype, "params")
        self._weights = _LayerViews(
            [self._params[w:w + sizes[l] * sizes[l + 1]].reshape(sizes[l + 1], sizes[l])
             for l, w in enumerate(w_off)], "weights", self._lock)
        self._biases = _LayerViews(
            [self._params[b:b + sizes[l + 1]] for l, b in enumerate(b_off)], "biases", self._lock)

    def _init_weights(self, seed):
        # Drawn in float64 blocks of rows and cast into the parameter buffer:
        # the same stream (so the same weights) as one draw per layer, with a
        # temporary of at most ~8 MiB instead of a float64 copy of the layer.
        rng = np.random.default_rng(seed)
        n_layers = len(self.layer_sizes) - 1
        for l in range(n_layers):
            n_in, n_out = self.layer_sizes[l], self.layer_sizes[l + 1]
            act = self.hidden_activation if l < n_layers - 1 else self.output_activation
            W = self._weights[l]
            rows = max(1, _INIT_BLOCK // n_in)
            for start in range(0, n_out, rows):
                shape = (min(rows, n_out - start), n_in)
                if act in ("relu", "leaky_relu"):
                    W[start:start + rows] = rng.normal(0.0, np.sqrt(2.0 / n_in), size=shape)
                else:
                    r = np.sqrt(6.0 / (n_in + n_out))
                    W[start:start + rows] = rng.uniform(-r, r, size=shape)

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
        with self._exclusive("assign parameters"):
            self._params[...] = value

    def _exclusive(self, action):
        """Context manager: hold this network's lock, or RuntimeError if another thread does.

        ``fit``, ``save``, ``copy`` and assignments to ``parameters``,
        ``weights[l]`` and ``biases[l]`` take it; the thread holding it may take
        it again (a ``callback`` may save the network).
        """
        return _Exclusive(self._lock, action)

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

    def _config(self):
        """The constructor arguments that rebuild this network (all but the seed)."""
        return {"layer_sizes": self.layer_sizes, "hidden_activation": self.hidden_activation,
                "output_activation": self.output_activation, "loss": self.loss_name,
                "dtype": self.dtype.name, "bias": self.bias}

    @classmethod
    def _from_config(cls, config, parameters=None):
        """A new network from :meth:`_config`'s dict; the one rebuild path.

        ``parameters`` (any array of the right size, cast to the dtype) is
        copied into the new network's buffer as is; without it the weights
        are the seed-0 initialisation.
        """
        if parameters is None:
            return cls(**config, seed=0)
        net = cls(**config, seed=_NO_INIT)
        np.copyto(net._params, parameters, casting="unsafe")
        return net

    def __reduce__(self):
        # Rebuild from the configuration and the flat buffer, so an unpickled
        # network's weights and biases are views into its parameters again.
        return (_rebuild, (*self._config().values(), self._params.copy()))

    def copy(self):
        """An independent network with the same configuration and parameters."""
        with self._exclusive("copy"):
            return Network._from_config(self._config(), self._params)

    # -- argument checks --------------------------------------------------------

    def _check_X(self, X, name="X", finite=True):
        X = as_float_array(X, name, dtype=self.dtype, finite=finite)
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, {self.layer_sizes[0]}), got shape {X.shape}"
                             + ("; use X.reshape(1, -1) for one sample" if X.ndim == 1 else ""))
        if X.shape[1] != self.layer_sizes[0]:
            raise ValueError(f"{name} has {X.shape[1]} features (shape {X.shape}) but the network "
                             f"takes {self.layer_sizes[0]} inputs")
        if X.shape[0] == 0:
            raise ValueError(f"{name} is empty (shape {X.shape})")
        return X

    def _check_XY(self, X, Y, finite_X=True):
        X = self._check_X(X, finite=finite_X)
        n_out = self.layer_sizes[-1]
        try:
            Y_arr = np.asarray(Y)
        except (ValueError, TypeError) as exc:  # ragged lists and the like
            raise TypeError(f"Y must be a numeric array of shape (n_samples, {n_out}): {exc}") from None
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
        if self.loss_name == "cross_entropy" and Y.size and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(f"Y: cross-entropy targets must lie in [0, 1]; got values from "
                             f"{Y.min()} to {Y.max()}")
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
        return _aligned.empty(_k.workspace_size(self._sizes), self.dtype, "work")

    # -- training ---------------------------------------------------------------

    def fit(self, X, Y, epochs=1, learning_rate=0.1, mode="online", batch_size=None,
            momentum=0.0, shuffle=True, seed=None, progress=False, callback=None,
            schedule="constant", power_t=0.5, tol=1e-4, n_iter_no_change=None,
            validation_fraction=None, warm_start=False, nesterov=False,
            online_schedule="auto", block_size=None, l2=0.0, optimizer="sgd", beta_1=0.9,
            beta_2=0.999, epsilon=1e-8, rprop_increase=1.2, rprop_decrease=0.5,
            rprop_step_min=0.0, rprop_step_max=50.0, rprop_step_init=0.1,
            sample_weight=None, n_threads=None, flush_denormals=True):
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
        schedule : {"constant", "invscaling", "adaptive"}, default "constant"
            Learning rate per epoch: ``learning_rate``; ``learning_rate /
            (t + 1)**power_t`` with ``t`` the training samples seen before the
            epoch (scikit-learn's ``t_``); or ``learning_rate`` divided by 5
            each time the stopping rule fires (training stops once it is
            ``<= 1e-6``; needs ``n_iter_no_change``).
        power_t : float, default 0.5
            Exponent of "invscaling".
        tol : float, default 1e-4
            Improvement of the watched loss that counts as progress.
        n_iter_no_change : int, optional
            Turns on the stopping rule: stop when more than this many epochs
            in a row fail to beat the best loss so far by ``tol``.  Watches the
            epoch's training loss, or the validation loss with
            ``validation_fraction``.  When the rule is on and ``epochs`` run
            out first, a :class:`ConvergenceWarning` is issued.
        validation_fraction : float in (0, 1), optional
            Hold out this fraction of the samples (drawn from its own random
            stream, seeded by ``seed``); the network ends with the weights of
            the epoch with the lowest validation loss.  Needs
            ``n_iter_no_change``.
        warm_start : bool, default False
            Continue the optimizer state of the previous ``fit`` call (the
            momentum velocity, or Adam's m, v and t, when the optimizer is the
            same; and the samples seen, for "invscaling") instead
            of starting from zero.  The state is kept beside the parameters
            and is not saved or pickled.
        nesterov : bool, default False
            With ``momentum``, Nesterov's momentum in scikit-learn's form:
            ``v = momentum * v - eta * g``, then ``w += momentum * v - eta * g``.

        With a schedule other than "constant" or the stopping rule on, the
        kernel runs one epoch per call so the checks can run between epochs.
        online_schedule : {"auto", "sequential", "blocked"}, default "auto"
            How "online" mode runs (the other modes ignore "auto" and reject
            "blocked").  "sequential" updates every weight after every
            sample.  "blocked" gives the same per-sample SGD but updates the
            first layer ``block_size`` samples at a time with matrix
            products; the weights agree with "sequential" up to the order of
            floating-point sums (about 1e-14 relative per epoch in float64,
            1e-5 in float32).  The AVX-512 build runs the products itself;
            the other builds need SciPy (its BLAS).  On more than one thread,
            one thread runs each block's samples while another gathers the
            next block's inputs, then every thread updates its share of the
            first layer's rows (and of their velocity; with the AVX-512
            build's own products every ``n_threads`` gives the bits of one
            thread).  The blocked schedule checks each row of X for NaN and
            infinity as it gathers a block (a ``ValueError``, the weights
            unchanged).  "auto" takes "blocked" for a wide first layer (at
            least 256 inputs and 64 units) when the products are available
            and the optimizer is plain SGD or classical momentum,
            "sequential" otherwise.
        block_size : int, optional
            Samples per block of the blocked schedule (default 32).
        l2 : float >= 0, default 0
            L2 penalty (scikit-learn's ``alpha``) on the weights, not the
            biases: every update over a batch of ``n`` samples (``n = 1``
            online, the batch's size otherwise) adds ``l2 * W / n`` to the
            mean gradient, and each sample's loss in the history gains
            ``l2 / (2 n) * sum_l ||W_l||^2`` (as :meth:`loss` and
            ``cyprop._reference.optimizers.fit`` count it).  Runs inside the
            kernels; "auto" picks the sequential online schedule and
            "blocked" is refused.
        optimizer : {"sgd", "adam", "rprop"}, default "sgd"
            "sgd": ``learning_rate`` times the gradient, with ``momentum``
            and ``nesterov``.  "adam": Kingma & Ba's Adam, bias-corrected as
            scikit-learn does it; per update (every sample online, every
            batch otherwise) ``t += 1``, ``m = beta_1 m + (1 - beta_1) g``,
            ``v = beta_2 v + (1 - beta_2) g^2`` and ``w -= lr_t m / (sqrt(v)
            + epsilon)`` with ``lr_t = eta sqrt(1 - beta_2^t) / (1 - beta_1^t)``
            (``eta`` the epoch's learning rate: schedules apply), ``g`` the
            batch's mean gradient (L2 term included), biases alike.  Runs in
            the kernels; takes no ``momentum``/``nesterov``; "auto" picks
            the sequential online schedule and "blocked" is refused.  m, v
            and t start at zero, or continue with ``warm_start``.
        beta_1, beta_2 : float in [0, 1), default 0.9, 0.999
            Adam's decay rates of the first and second moment estimates.
        epsilon : float > 0, default 1e-8
            Adam's term added to ``sqrt(v)``.
            "rprop": iRprop- (Igel & Huesken
            2000), FANN's default training, in "batch" mode only; every
            parameter has its own step size ``d`` and moves by
            ``-sign(g) * d`` along the epoch's gradient ``g`` (L2 term
            included); ``d`` grows by ``rprop_increase`` (up to
            ``rprop_step_max``) while the gradient keeps its sign and shrinks
            by ``rprop_decrease`` (down to ``rprop_step_min``) when it flips,
            and then that parameter does not move and its next step compares
            against no sign.  ``learning_rate`` is ignored; ``momentum``,
            ``schedule`` other than "constant" are refused.  The signs and
            step sizes are kept beside the parameters (``warm_start`` continues
            them) and are part of the rollback on divergence.
        rprop_increase, rprop_decrease : float, default 1.2 and 0.5
            iRprop-'s growth (> 1) and shrink (in (0, 1)) factors (FANN's).
        rprop_step_min, rprop_step_max, rprop_step_init : float, default 0, 50, 0.1
            iRprop-'s step bounds and first step size (FANN's
            ``rprop_delta_min``, ``rprop_delta_max``, ``rprop_delta_zero``);
            ``0 <= step_min <= step_init <= step_max``.  With ``warm_start``
            the kept step sizes continue and ``rprop_step_init`` is unused.
        sample_weight : array_like, shape (n_samples,), optional
            Finite weights >= 0, not all zero; the caller's array is not
            changed.  scikit-learn's convention (its MLP's): every update
            over a batch ``B`` steps along the weighted mean gradient
            ``(sum_{s in B} w_s g_s + l2 W) / sum_{s in B} w_s``, and the
            history's epoch loss adds ``|B| / sum_{s in B} w_s * (sum_{s in B}
            w_s loss_s + l2/2 ||W||^2)`` per batch (divided by
            ``n_samples``).  In "batch" mode this is the weighted mean loss,
            and integer weights equal repeating samples.  A batch whose
            weights sum to 0 is skipped (no step, no loss): online (batches
            of one sample) a weight-0 sample is skipped and any other weight
            cancels except in the L2 term, ``l2 / w_s``.  Each weight follows
            its sample through shuffling and the validation split (the
            validation loss is then the weighted mean).  Runs inside the
            kernels; "auto" picks the sequential online schedule and
            "blocked" is refused.
        n_threads : int, optional
            Threads for one fit.  Batch and mini-batch modes split each
            batch's samples into ``n_threads`` chunks, one thread each, whose
            gradients are added in a fixed order: the same ``n_threads``
            gives the same weights bit for bit run after run, and
            ``n_threads=1`` is the serial loop (other counts differ from it
            in the order of floating-point sums only).  ``None``: all
            available threads (OpenMP's, following ``OMP_NUM_THREADS``;
            see ``cyprop.show_config()``) when a batch holds at least
            ``cyprop._threads.MIN_SPLIT_WORK`` multiply-adds
            (``batch_size * n_params``), one thread otherwise and in
            :func:`cyprop.sweep`; ``-1``: all available threads.  The
            blocked online schedule splits its matrix products with the
            first layer's weights between the threads (the same weights as
            one thread: each element is the same BLAS dot product; SciPy's
            BLAS itself runs single-threaded during a blocked fit).  The
            sequential online schedule splits the first layer's rows between
            the threads (at multiples of 8 rows in float64, 16 in float32;
            the samples stay in order: each thread updates its rows and
            forms their part of the next sample's ``z``, thread 0 runs the
            layers above, and takes fewer rows), with the bits of one thread
            for every count; ``None`` splits it when
            ``n_in * n_hidden`` (times 8 with Adam) is at least
            ``cyprop._threads.MIN_ONLINE_SPLIT``, and not with
            ``sample_weight``.  A build without OpenMP runs everything on one
            thread.
        flush_denormals : bool, default True
            Train with subnormal numbers flushed to zero, as TensorFlow and
            XLA do on CPUs: a result below the smallest normal number
            (2.2e-308 in float64, 1.2e-38 in float32) becomes 0, and so does
            such an input.  Optimizer state that decays towards zero (the
            Adam moments or momentum velocity of a parameter whose gradient
            stays zero, such as a dead relu unit's) otherwise spends its way
            down in the subnormal range, where most CPUs compute tens of
            times slower: per-sample Adam on the digits ran up to 1.8x
            slower per epoch.  ``False`` computes in IEEE arithmetic
            throughout (``cyprop._reference``'s); the results differ only
            by values below the smallest normal number (in the weights, only
            if they come that close to zero).  The mode is set for the
            kernel's threads only while it runs, on x86 and 64-bit ARM
            (elsewhere it changes nothing: see :func:`cyprop.show_config`).

        Returns
        -------
        History
            The mean training loss of every epoch run.

        Raises
        ------
        DivergenceError
            When an epoch's loss or weights become NaN or infinite; the
            network keeps the weights it had at the start of that epoch.
        KeyboardInterrupt
            Within ~20 ms of Ctrl-C (SIGINT), even inside one long epoch; the
            network keeps the weights it had at the start of the interrupted
            epoch (those of the last completed one).
        RuntimeError
            If another thread is training, saving or assigning this network.
        MemoryError
            If the per-epoch losses (8 bytes per epoch) cannot fit in memory.

        Notes
        -----
        Memory besides the parameters and the data: a gradient buffer
        (batch and minibatch modes), a velocity (momentum; Adam's m and v,
        twice the parameters) and a backup of the weights and velocity at the
        start of each epoch, which is what makes the rollback on divergence
        or Ctrl-C exact.  That is up to 4x the parameters (5x counting them;
        Adam 6x), plus 8 bytes per epoch, plus a workspace of a few copies of
        one input row and up to a page per buffer for their placement (see
        ``cyprop._aligned``).  If ``X``
        or ``Y`` shares memory with ``parameters``, fit trains on a copy of
        them (training would otherwise change its own inputs).
        """
        with self._exclusive("fit"):
            return self._fit(X, Y, epochs, learning_rate, mode, batch_size, momentum, shuffle,
                             seed, progress, callback, nesterov, warm_start,
                             dict(schedule=schedule, power_t=power_t, tol=tol,
                                  n_iter_no_change=n_iter_no_change,
                                  validation_fraction=validation_fraction),
                             online_schedule, block_size, l2,
                             dict(optimizer=optimizer, beta_1=beta_1, beta_2=beta_2,
                                  epsilon=epsilon), n_threads,
                             rprop=_check_rprop(optimizer, mode, momentum, schedule,
                                                rprop_increase, rprop_decrease, rprop_step_min,
                                                rprop_step_max, rprop_step_init),
                             sample_weight=sample_weight,
                             flush_denormals=as_flag(flush_denormals, "flush_denormals"))

    def _fit(self, X, Y, epochs, learning_rate, mode, batch_size, momentum, shuffle, seed,
             progress, callback, nesterov, warm_start, control_options, online_schedule,
             block_size, l2=0.0, optimizer_options=None, n_threads=1, rprop=None,
             sample_weight=None, flush_denormals=True):
        # (X's values are checked below, by the kernel where it can)
        X, Y, epochs, eta, mu, nesterov, batch, shuffle, seed, progress = self._check_fit_args(
            X, Y, epochs, learning_rate, mode, batch_size, momentum, nesterov, shuffle, seed,
            progress, callback, finite_X=False)
        X_given = X
        sample_weight = self._check_sample_weight(sample_weight, X.shape[0])
        val_weight = None
        l2 = as_real(l2, "l2", nonnegative=True)
        adam = _check_optimizer(mu, nesterov, **(optimizer_options or {}))
        controls = _training.EpochControls(eta, **control_options, t=self._warm_t(warm_start))
        X_val = Y_val = None
        if controls.validation_fraction is not None:
            if sample_weight is not None:
                train, val = controls.split_rows(X.shape[0], seed)
                sample_weight, val_weight = sample_weight[train], sample_weight[val]
                if not np.any(sample_weight) or not np.any(val_weight):
                    raise ValueError("sample_weight: the training or the validation samples "
                                     "all have weight 0")
            X, Y, X_val, Y_val = controls.split(X, Y, seed)
            if mode == "batch":
                batch = X.shape[0]
        n = X.shape[0]
        samples_per_block = resolve_schedule(online_schedule, block_size, self.layer_sizes, mode,
                                             nesterov and mu > 0, l2=l2 > 0,
                                             adam=adam is not None,
                                             weighted=sample_weight is not None)
        if not samples_per_block or X_val is not None:
            # the blocked kernel checks each row of X as it gathers a block (in
            # the cache, instead of a pass of its own over X: 2.9 ms of a 10,000 x
            # 784 X); the other kernels, or a validation split it does not see,
            # need the check first
            if not _all_finite(X_given):
                raise ValueError("X contains NaN or infinity")
        n_threads = resolve_n_threads(
            n_threads, batch, self._params.size,
            samples_per_block * self.layer_sizes[0] * self.layer_sizes[1],
            online_split_work(self.layer_sizes, adam is not None)
            if batch == 0 and sample_weight is None else 0)
        if rprop is not None:
            velocity = self._rprop_state(warm_start, rprop[4])
        else:
            velocity = self._warm_velocity(warm_start, self._params.size if mu else 0, adam)
        scratch = FitScratch(self, epochs, batch, velocity, samples_per_block)
        orders = SampleOrders(n, shuffle, seed)
        chunks = EpochChunks(epochs, orders.max_epochs_per_call,
                              one_at_a_time=callback is not None or controls.per_epoch,
                              growing=progress)
        history = History(scratch.losses)
        bar = _progress_bar(epochs) if progress else None
        done = 0
        try:
            for first, count in chunks:
                started = time.perf_counter()
                step = controls.begin_epoch() if controls.per_epoch else eta
                # (Ctrl-C: the kernel restored the interrupted epoch's starting weights)
                self._train_epochs(X, Y, orders.next(count), step, mu, nesterov, batch, scratch,
                                   first, count, history, l2, adam, n_threads,
                                   rprop=None if rprop is None else rprop[:4],
                                   sample_weight=sample_weight,
                                   flush_denormals=flush_denormals)
                done = first + count
                if bar is not None:
                    bar.update(count, history.loss[-1])
                    chunks.took(time.perf_counter() - started)
                if controls.per_epoch:
                    if self._end_epoch(controls, history, n, X_val, Y_val, val_weight):
                        break
                else:
                    controls.t += count * n
                if callback is not None and callback(done, history.loss[-1], self) is False:
                    break
        finally:
            if bar is not None:
                bar.close()
            # (also after a divergence or Ctrl-C: the kernel rolled the state back with the
            # weights, so warm_start continues from a consistent pair)
            self._train_state = (scratch.velocity, controls.t, adam)
            self._rprop_kept = scratch.velocity if rprop is not None else None
        controls.finish(self, done, epochs)
        return history

    def _check_fit_args(self, X, Y, epochs, learning_rate, mode, batch_size, momentum, nesterov,
                        shuffle, seed, progress, callback, finite_X=True):
        """Check :meth:`fit`'s arguments; return them converted
        (``X, Y, epochs, eta, mu, nesterov, batch, shuffle, seed, progress``).

        ``batch`` is the kernel's: 0 for online, ``n_samples`` for batch mode.
        With ``finite_X=False`` the caller checks X's values itself.
        """
        X, Y = self._check_XY(X, Y, finite_X)
        if np.shares_memory(X, self._params) or np.shares_memory(Y, self._params):
            # training would change its own inputs as it goes
            X, Y = X.copy(), Y.copy()
        epochs = as_count(epochs, "epochs")
        eta = as_real(learning_rate, "learning_rate", positive=True)
        check_choice(mode, "mode", MODES)
        mu = as_real(momentum, "momentum", nonnegative=True)
        if mu >= 1:
            raise ValueError(f"momentum must be in [0, 1), got {mu}")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"nesterov must be True or False, got {nesterov!r}")
        if mode == "minibatch":
            batch = as_count(32 if batch_size is None else batch_size, "batch_size")
        elif batch_size is not None:
            raise ValueError(f"batch_size is only used with mode='minibatch' (mode={mode!r})")
        else:
            batch = 0 if mode == "online" else X.shape[0]
        shuffle = as_flag(shuffle, "shuffle")
        progress = as_flag(progress, "progress")
        seed = as_seed(seed)
        if callback is not None and not callable(callback):
            raise TypeError("callback must be callable")
        return X, Y, epochs, eta, mu, bool(nesterov), batch, shuffle, seed, progress

    def _train_epochs(self, X, Y, order, eta, mu, nesterov, batch, scratch, first, count,
                      history, l2=0.0, adam=None, n_threads=1, rprop=None, sample_weight=None,
                      flush_denormals=True):
        """Run epochs ``first .. first + count - 1`` in one kernel call.

        Appends their losses to ``history``; raises :class:`DivergenceError`
        (the kernel has restored the weights of the diverged epoch's start)
        when an epoch's loss or weights become NaN or infinite.
        """
        losses = scratch.losses[first:first + count]
        if scratch.block_size:   # online, the blocked schedule (its BLAS on one thread each)
            with nullcontext() if _k.own_products() else blas_single_threaded():
                failed = _k.train_epochs_blocked(
                    self._params, scratch.velocity, scratch.backup, scratch.work,
                    scratch.block_work, scratch.coef, *self._layout_args(), self._loss_code,
                    self.bias, X, Y, order, eta, mu, scratch.block_size, losses,
                    n_threads=n_threads, flush_denormals=flush_denormals)
        else:
            failed = _k.train_epochs(self._params, scratch.grad, scratch.velocity,
                                     scratch.backup, scratch.work, *self._layout_args(),
                                     self._loss_code, self.bias, X, Y, order, eta, mu, batch,
                                     losses, nesterov, l2, 1.0, adam, n_threads,
                                     rprop=rprop, sample_weight=sample_weight,
                                     flush_denormals=flush_denormals)
        if failed == -2:   # (the blocked kernel: the weights are those it started from)
            raise ValueError("X contains NaN or infinity")
        done = count if failed < 0 else failed
        history._ran(done)
        if failed >= 0:
            epoch = first + failed + 1
            raise DivergenceError(
                f"training diverged in epoch {epoch}: the loss or the weights became NaN or "
                f"infinite with learning_rate={eta}. The network keeps the weights it had before "
                f"epoch {epoch}; try a smaller learning_rate (e.g. {eta / 10:g}).",
                epoch, history)

    # -- training state kept between fit calls (warm_start) -----------------------

    def _warm_t(self, warm_start):
        state = getattr(self, "_train_state", None)
        return state[1] if warm_start and state is not None else 0

    def _warm_velocity(self, warm_start, size, adam=None):
        """The velocity (Adam: m and v, ``adam["t"]`` set) to train with: the
        last fit's with ``warm_start`` and the same optimizer, else zeros."""
        state = getattr(self, "_train_state", None)
        last_adam = state[2] if state is not None and len(state) > 2 else None
        if adam is not None:
            size = _aligned.second_offset(self._params.size, self.dtype) + self._params.size
            if warm_start and last_adam is not None and state[0].size == size:
                adam["t"] = last_adam["t"]
                return state[0]
            return _aligned.zeros(size, self.dtype, "velocity")
        if warm_start and state is not None and last_adam is None and state[0].size == size:
            return state[0]
        return _aligned.zeros(size, self.dtype, "velocity")

    def _check_sample_weight(self, sample_weight, n_samples, name="sample_weight"):
        """None, or a new (n_samples,) array of the network's dtype: finite, >= 0, not all 0."""
        if sample_weight is None:
            return None
        w = as_float_array(sample_weight, name)
        if w.ndim != 1 or w.shape[0] != n_samples:
            raise ValueError(f"{name} must have shape ({n_samples},) (one weight per sample), "
                             f"got shape {w.shape}")
        if not np.all(np.isfinite(w)):
            raise ValueError(f"{name} must be finite")
        if np.any(w < 0):
            raise ValueError(f"{name} must be >= 0, got a minimum of {w.min()}")
        w = np.array(w, dtype=self.dtype)   # a copy (the caller's array is never changed)
        if not np.all(np.isfinite(w)):
            raise ValueError(f"{name} overflows {self.dtype.name}")
        if not np.any(w):
            raise ValueError(f"{name} must not be all zero")
        return w

    def _rprop_state(self, warm_start, step_init):
        """iRprop-'s state, ``[signs | step sizes]`` (the step sizes from
        ``_aligned.second_offset``): the previous rprop fit's with
        ``warm_start``, else signs 0 and steps ``step_init``."""
        kept = getattr(self, "_rprop_kept", None)
        state = getattr(self, "_train_state", None)
        if warm_start and kept is not None and state is not None and state[0] is kept:
            return kept
        n = self._params.size
        second = _aligned.second_offset(n, self.dtype)
        velocity = _aligned.zeros(second + n, self.dtype, "velocity")
        velocity[second:] = step_init
        return velocity

    def _end_epoch(self, controls, history, n, X_val, Y_val, val_weight=None):
        """The between-epoch checks; True when training should stop."""
        val_loss = None
        if X_val is not None:
            val_loss = float(_k.loss(self._params, self._workspace(), *self._layout_args(),
                                     self._loss_code, X_val, Y_val, sample_weight=val_weight))
            history.val_loss.append(val_loss)
        return controls.end_epoch(self, history.loss[-1], n, val_loss)

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

    def loss(self, X, Y, l2=0.0, sample_weight=None):
        """Mean loss over the samples of ``X``, ``Y`` (float).

        With ``l2`` (scikit-learn's ``alpha``) the penalty
        ``l2 / (2 n) * sum_l ||W_l||^2`` over the weights (not the biases) of
        the ``n`` samples is added.  With ``sample_weight`` ((n_samples,),
        finite, >= 0, not all 0) the weighted mean ``sum w_s loss_s / sum w_s``
        plus ``l2 / (2 sum w_s) * sum_l ||W_l||^2`` (scikit-learn's, as
        :meth:`fit` counts it).
        """
        X, Y = self._check_XY(X, Y)
        l2 = as_real(l2, "l2", nonnegative=True)
        sample_weight = self._check_sample_weight(sample_weight, X.shape[0])
        if sample_weight is not None:
            return float(_k.loss(self._params, self._workspace(), *self._layout_args(),
                                 self._loss_code, X, Y, sample_weight=sample_weight)) \
                + self._l2_penalty(self._params, l2, float(np.sum(sample_weight, dtype=np.float64)))
        return float(_k.loss(self._params, self._workspace(), *self._layout_args(),
                             self._loss_code, X, Y)) + self._l2_penalty(self._params, l2, X.shape[0])

    def _weight_slices(self):
        sizes = self.layer_sizes
        return [slice(w, w + sizes[l] * sizes[l + 1]) for l, w in enumerate(self._w_off)]

    def _l2_penalty(self, params, l2, n):
        """``l2 / (2 n) * sum ||W||^2`` of a parameter buffer laid out like this network's."""
        if not l2:
            return 0.0
        sq = sum(float(np.dot(params[s].astype(np.float64), params[s].astype(np.float64)))
                 for s in self._weight_slices())
        return 0.5 * l2 * sq / n

    def gradients(self, X, Y, l2=0.0):
        """Gradient of the mean loss with respect to every layer's parameters.

        With ``l2`` the penalty's gradient ``l2 * W / n`` is added to every
        weight matrix's (see :meth:`loss`).

        Returns
        -------
        list of (dW, db)
            One pair per layer, shapes as ``weights[l]`` and ``biases[l]``.
            With ``bias=False`` every ``db`` is zero.
        """
        X, Y = self._check_XY(X, Y)
        l2 = as_real(l2, "l2", nonnegative=True)
        grad = np.zeros_like(self._params)
        _k.gradients(self._params, grad, self._workspace(), *self._layout_args(),
                     self._loss_code, self.bias, X, Y)
        if l2:  # the kernel has no L2 term yet: add it here (before the mean, as a batch would)
            for s in self._weight_slices():
                grad[s] += l2 * self._params[s]
        grad /= X.shape[0]
        sizes = self.layer_sizes
        return [(grad[w:w + sizes[l] * sizes[l + 1]].reshape(sizes[l + 1], sizes[l]).copy(),
                 grad[b:b + sizes[l + 1]].copy())
                for l, (w, b) in enumerate(zip(self._w_off, self._b_off))]

    def check_gradients(self, X, Y, eps=1e-6, l2=0.0):
        """Largest relative difference between backprop and finite-difference gradients.

        Every parameter is perturbed by ``+-eps`` and the mean loss's central
        difference ``(L(p + eps) - L(p - eps)) / (2 eps)`` compared with the
        backprop gradient: ``|g - fd| / max(|g|, |fd|, 1e-3)`` (the floor keeps
        finite-difference round-off on near-zero components from dominating).
        Computed in float64 whatever the network's dtype; costs two loss
        evaluations per parameter, so use it on small networks and data.
        ``l2`` adds the L2 penalty to the loss and its gradient (see :meth:`loss`).

        relu and leaky_relu have a kink at z = 0, where the finite difference
        averages the two one-sided slopes: a pre-activation exactly at 0 (a
        zero bias behind a layer of dead units, say) shows up as a large
        difference that is not an error in the backprop gradient.
        """
        eps = as_real(eps, "eps", positive=True)
        net = self if self.dtype == np.float64 else self._as_float64()
        X, Y = net._check_XY(X, Y)
        l2 = as_real(l2, "l2", nonnegative=True)
        n = X.shape[0]
        backprop = np.concatenate([np.concatenate([dW.ravel(), db])
                                   for dW, db in (net.gradients(X, Y, l2=l2) if l2
                                                  else net.gradients(X, Y))])
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
                up = (_k.loss(params, work, *net._layout_args(), net._loss_code, X, Y)
                      + net._l2_penalty(params, l2, n))
                params[p] = saved[p] - eps
                down = (_k.loss(params, work, *net._layout_args(), net._loss_code, X, Y)
                        + net._l2_penalty(params, l2, n))
                params[p] = saved[p]
                numeric[p] = (up - down) / (2 * eps)
        finally:
            params[...] = saved
        scale = np.maximum(np.maximum(np.abs(backprop), np.abs(numeric)), 1e-3)
        return float(np.max(np.abs(backprop - numeric) / scale))

    def _as_float64(self):
        return Network._from_config({**self._config(), "dtype": "float64"}, self._params)

    # -- persistence --------------------------------------------------------------

    def save(self, path):
        """Write the network to ``path`` (a versioned ``.npz``, no pickle).

        The file is written to a temporary file beside ``path`` and renamed
        over it, so a crash never leaves a half-written file at ``path``.
        ``path`` may be a str, bytes or path-like object.  Only a regular file
        is replaced: anything else at ``path`` (FIFO, device, directory) is a
        ValueError; a symlink is followed and its target replaced.  The file
        gets the mode the umask gives new files.
        """
        with self._exclusive("save"):
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


class _Exclusive:
    """Hold a network's lock for one operation; RuntimeError when another thread holds it."""

    __slots__ = ("_lock", "_action")

    def __init__(self, lock, action):
        self._lock = lock
        self._action = action

    def __enter__(self):
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"cannot {self._action}: this Network is being trained, saved or "
                               "assigned in another thread; use one network per thread (net.copy())")
        return self

    def __exit__(self, *exc):
        self._lock.release()
        return False


def _check_optimizer(mu, nesterov, optimizer="sgd", beta_1=0.9, beta_2=0.999, epsilon=1e-8):
    """Check :meth:`Network.fit`'s optimizer arguments: None for "sgd",
    else the kernel's Adam dict (``beta_1``, ``beta_2``, ``epsilon``, ``t=0``)."""
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    beta_1 = as_real(beta_1, "beta_1", nonnegative=True)
    beta_2 = as_real(beta_2, "beta_2", nonnegative=True)
    epsilon = as_real(epsilon, "epsilon", positive=True)
    for name, beta in (("beta_1", beta_1), ("beta_2", beta_2)):
        if beta >= 1:
            raise ValueError(f"{name} must be in [0, 1), got {beta}")
    if optimizer != "adam":
        return None   # (rprop's arguments: _check_rprop)
    if mu:
        raise ValueError(f"momentum is for optimizer='sgd' (optimizer={optimizer!r}, "
                         f"momentum={mu})")
    if nesterov:
        raise ValueError(f"nesterov is for optimizer='sgd' (optimizer={optimizer!r})")
    return {"beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon, "t": 0.0}


def _dtype_name(dtype):
    if isinstance(dtype, str):
        return dtype
    try:
        return np.dtype(dtype).name
    except (TypeError, ValueError):
        raise TypeError(f"dtype must be 'float64' or 'float32', got {type(dtype).__name__} "
                        f"{dtype!r}") from None


def _rebuild(layer_sizes, hidden_activation, output_activation, loss, dtype, bias, parameters):
    """Unpickle a Network (see Network.__reduce__)."""
    config = {"layer_sizes": layer_sizes, "hidden_activation": hidden_activation,
              "output_activation": output_activation, "loss": loss, "dtype": dtype, "bias": bias}
    return Network._from_config(config, parameters)


def _is_bias_index(net, p):
    return any(b <= p < b + net.layer_sizes[l + 1] for l, b in enumerate(net._b_off))


def _check_rprop(optimizer, mode, momentum, schedule, increase, decrease, step_min, step_max,
                 step_init):
    """None for ``optimizer="sgd"``; for "rprop" its checked constants
    ``(increase, decrease, step_min, step_max, step_init)``."""
    check_choice(optimizer, "optimizer", OPTIMIZERS)
    if optimizer != "rprop":
        return None
    if mode != "batch":
        raise ValueError(f"optimizer='rprop' needs mode='batch' (the full gradient), "
                         f"got mode={mode!r}")
    if isinstance(momentum, (int, float)) and momentum != 0:
        raise ValueError(f"optimizer='rprop' takes no momentum (got momentum={momentum})")
    if schedule != "constant":
        raise ValueError(f"optimizer='rprop' ignores the learning rate: schedule={schedule!r} "
                         "has no effect; use schedule='constant'")
    increase = as_real(increase, "rprop_increase")
    decrease = as_real(decrease, "rprop_decrease")
    step_min = as_real(step_min, "rprop_step_min", nonnegative=True)
    step_max = as_real(step_max, "rprop_step_max", positive=True)
    step_init = as_real(step_init, "rprop_step_init", positive=True)
    if not increase > 1:
        raise ValueError(f"rprop_increase must be > 1, got {increase}")
    if not 0 < decrease < 1:
        raise ValueError(f"rprop_decrease must be in (0, 1), got {decrease}")
    if not step_min <= step_init <= step_max:
        raise ValueError(f"rprop_step_min <= rprop_step_init <= rprop_step_max is needed, got "
                         f"{step_min}, {step_init}, {step_max}")
    return increase, decrease, step_min, step_max, step_init


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
