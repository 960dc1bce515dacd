"""Drop-in replacements for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``.

The estimators take scikit-learn's parameters with scikit-learn's names,
meanings and defaults, and set its fitted attributes (``coefs_`` of shape
``(n_in, n_out)``, ``intercepts_``, ``n_iter_``, ``t_``, ``loss_``,
``loss_curve_``, ...): code written for :mod:`sklearn.neural_network` runs
after changing the import.  The forward and backward passes run in cyprop's
kernels (the trained :class:`cyprop.Network` is ``network_``).

Initialisation, sample order and validation split draw from ``random_state``
exactly as scikit-learn does, so with the same ``random_state`` both start
from the same weights and visit the samples in the same order.

Training rules (scikit-learn's; see :mod:`cyprop._reference.optimizers`):

- L2 penalty ``alpha``: ``alpha / (2 n) * sum ||W||^2`` over the weights
  (not the intercepts) added to the loss of every batch of ``n`` samples,
  ``alpha * W / n`` to its gradient.
- ``solver="sgd"``: ``v = momentum * v - eta * g``; ``w += v``, or with
  ``nesterovs_momentum`` ``w += momentum * v - eta * g``.
- ``solver="adam"``: Kingma & Ba with the bias correction folded into the
  step, ``eps`` added to ``sqrt(v)``.
- ``solver="lbfgs"``: :func:`scipy.optimize.minimize` (``L-BFGS-B``) over the
  whole set, loss and gradient from the kernel.
- ``learning_rate``: ``"constant"``; ``"invscaling"``,
  ``learning_rate_init / (t_ + 1)^power_t`` with ``t_`` the samples seen,
  updated after every epoch; ``"adaptive"``, divided by 5 where the stopping
  rule would stop.

``"sgd"`` and ``"adam"`` run a whole epoch (scikit-learn's sample order and
batches) per kernel call, the update rule and the L2 term inside the kernel;
scikit-learn's per-epoch logic (loss curve, stopping, the adaptive and
inverse-scaling rates) runs between the calls.  The regressor's squared error
is reported as scikit-learn does, divided by the number of outputs while the
penalty is not: the kernel weighs the penalty by ``n_outputs`` in the epoch's
loss (``l2_loss_scale``; the gradient is unchanged), and the sum is divided
by ``n_outputs``.

Extras over scikit-learn: ``activation`` also takes cyprop's ``"sigmoid"``
(= ``"logistic"``), ``"leaky_relu"`` and ``"rbf"``; ``dtype`` ("float64",
"float32", or None to follow ``X`` as scikit-learn does); ``n_threads``
(None: as :meth:`cyprop.Network.fit`, both cores for batches big enough to
pay, else one; -1: all; k: k threads) for ``"sgd"``/``"adam"`` with
batches.  scikit-learn's MLP threads through its BLAS instead;
``flush_denormals`` (default True: the "sgd" and "adam" kernels train with subnormals
flushed to zero, see :meth:`cyprop.Network.fit`; the weights differ from
scikit-learn's IEEE arithmetic only by values below the smallest normal
number, and per-sample Adam no longer slows down as dead units' moments
decay).

Not supported: sparse ``X`` is accepted but densified; ``MLPRegressor``'s
``loss="poisson"`` raises a ``ValueError``.

Needs scikit-learn >= 1.6 (``pip install "cyprop[sklearn]"``).

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklearn.model_selection import cross_val_score
>>> from cyprop.sklearn import MLPClassifier
>>> X, y = load_digits(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=20, random_state=0)
>>> scores = cross_val_score(clf, X / 16, y, cv=3)   # doctest: +SKIP
"""

import warnings
from numbers import Integral, Real

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, is_classifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import accuracy_score, r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils._param_validation import Interval, Options, StrOptions
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import _check_partial_fit_first_call, type_of_target, unique_labels
    from sklearn.utils.validation import (_check_sample_weight, check_is_fitted, column_or_1d,
                                          validate_data)
except ImportError as exc:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise ImportError("cyprop.sklearn needs scikit-learn >= 1.6: pip install 'cyprop[sklearn]' "
                      f"({exc})") from None

from . import _aligned
from . import network as _network
from ._threads import online_split_work, resolve_n_threads
from .network import Network

__all__ = ["MLPClassifier", "MLPRegressor", "EXPECTED_FAILED_CHECKS"]


def _shuffle(indices, random_state):
    """``sklearn.utils.shuffle(indices, random_state=random_state)``, the
    draw scikit-learn's MLP makes each epoch, without its input validation
    (a quarter of a small epoch's time): resample(replace=False) shuffles
    ``arange(n)`` with the random state and indexes by it."""
    order = np.arange(indices.shape[0])
    random_state.shuffle(order)
    return indices[order]


#: Checks of :func:`sklearn.utils.estimator_checks.check_estimator` that these
#: estimators are known to fail, by estimator class name: {check name: reason}.
#: Empty: both estimators pass every check.
EXPECTED_FAILED_CHECKS = {"MLPClassifier": {}, "MLPRegressor": {}}

# scikit-learn's activation names -> cyprop's
_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "sigmoid": "sigmoid",
                "tanh": "tanh", "relu": "relu", "leaky_relu": "leaky_relu", "rbf": "rbf"}
_OUT_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "softmax": "softmax"}
_STOCHASTIC_SOLVERS = ("sgd", "adam")


def _kernels():
    # the kernel module cyprop.Network runs on (wherever the dispatcher lives)
    return _network._k


class _Optimizer:
    """The state of "sgd" or "adam" between kernel calls (one call per epoch).

    The update rules run in the kernel (``train_epochs``); this holds what
    they keep across epochs and ``partial_fit``/``warm_start`` calls: the
    momentum velocity, or Adam's m and v (``state``, laid out as the kernel
    wants) and its step count (``adam["t"]``), and scikit-learn's per-epoch
    learning-rate logic (``iteration_ends``, ``trigger_stopping``).
    """

    def __init__(self, est, n_params, dtype):
        self.solver = est.solver
        self.learning_rate_init = float(est.learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.schedule = est.learning_rate
        self.power_t = float(est.power_t)
        self.momentum = float(est.momentum) if self.solver == "sgd" else 0.0
        self.nesterov = bool(est.nesterovs_momentum) and self.momentum > 0
        self.adam = None
        if self.solver == "adam":
            self.adam = {"beta_1": float(est.beta_1), "beta_2": float(est.beta_2),
                         "epsilon": float(est.epsilon), "t": 0.0}
        # the velocity, or Adam's m then v (from _aligned.second_offset), placed
        # as the network's own fits place them
        size = (_aligned.second_offset(n_params, dtype) + n_params if self.adam
                else n_params if self.momentum else 0)
        self.state = _aligned.zeros(size, dtype, "velocity")

    def iteration_ends(self, t):
        if self.solver == "sgd" and self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (t + 1) ** self.power_t

    def trigger_stopping(self, msg, verbose):
        if self.solver == "adam" or self.schedule != "adaptive":
            if verbose:
                print(msg + " Stopping.")
            return True
        if self.learning_rate <= 1e-6:
            if verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self.learning_rate /= 5.0
        if verbose:
            print(msg + f" Setting learning rate to {self.learning_rate:f}")
        return False


class _BaseMLP(BaseEstimator):
    """Parameters, training and prediction shared by the two estimators."""

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "solver": [StrOptions({"lbfgs", "sgd", "adam"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), Options(Real, {np.inf})],
        "max_fun": [Interval(Integral, 1, None, closed="left")],
        "dtype": [StrOptions({"float64", "float32"}), None],
        "n_threads": [Options(Integral, {-1}), Interval(Integral, 1, None, closed="left"),
                      None],
        "flush_denormals": ["boolean"],
    }

    # the network's loss; set by the subclasses
    _loss = None

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None, n_threads=None, flush_denormals=True):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dtype = dtype
        self.n_threads = n_threads
        self.flush_denormals = flush_denormals

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # -- network, views and initialisation ------------------------------------------

    def _link(self):
        """``coefs_`` and ``intercepts_`` as views of the network's parameters."""
        net = self.network_
        self.coefs_ = [W.T for W in net.weights]
        self.intercepts_ = list(net.biases)

    def _initialize(self, y, layer_units, dtype):
        self.n_iter_ = 0
        self.t_ = 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._out_activation()
        hidden = _ACTIVATIONS[self.activation]
        self.network_ = Network(layer_units, hidden, _OUT_ACTIVATIONS[self.out_activation_],
                                self._loss, dtype, seed=0)
        # scikit-learn's initialisation and draws: Glorot uniform, intercepts too
        factor = 2.0 if self.activation in ("logistic", "sigmoid") else 6.0
        for l in range(self.n_layers_ - 1):
            fan_in, fan_out = layer_units[l], layer_units[l + 1]
            bound = np.sqrt(factor / (fan_in + fan_out))
            self.network_.weights[l] = self._random_state.uniform(-bound, bound, (fan_in, fan_out)).T
            self.network_.biases[l] = self._random_state.uniform(-bound, bound, fan_out)
        self._link()
        self._best_params = self.network_.parameters.copy()
        if self.solver in _STOCHASTIC_SOLVERS:
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = None
                self.best_validation_score_ = None

    # -- loss and gradient over a batch -------------------------------------------

    def _loss_grad(self, X, Y, grad, sample_weight=None):
        """Loss (scikit-learn's, L2 included) of the batch; its mean gradient into ``grad``.

        With ``sample_weight``, scikit-learn's weighted mean: the loss's and
        the gradient's sums (L2 term included) are divided by the weights' sum.
        """
        net = self.network_
        k = _kernels()
        grad[...] = 0
        loss = k.gradients(net.parameters, grad, self._work, *net._layout_args(),
                           net._loss_code, True, X, Y, sample_weight=sample_weight)
        if self._loss == "squared_error":
            loss /= net.layer_sizes[-1]      # scikit-learn averages over outputs too
        n = X.shape[0] if sample_weight is None else float(np.sum(sample_weight, dtype=float))
        if self.alpha:
            sq = 0.0
            for W, dW in zip(net.weights, self._grad_weights):
                sq += float(np.dot(W.ravel(), W.ravel()))
                dW += self.alpha * W
            loss += 0.5 * self.alpha * sq / n
        grad /= n
        return loss

    def _fit(self, X, y, incremental=False, sample_weight=None):
        hidden = self.hidden_layer_sizes
        if not hasattr(hidden, "__iter__"):
            hidden = [hidden]
        hidden = list(hidden)
        if np.any(np.array(hidden) <= 0):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {hidden}.")
        if self._loss is None or getattr(self, "loss", "squared_error") != "squared_error":
            raise ValueError(f"loss={self.loss!r} is not supported by cyprop; use 'squared_error'")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        if hasattr(X, "toarray"):
            X = X.toarray()
        if y.ndim == 1:
            y = y.reshape((-1, 1))
        dtype = np.dtype(self.dtype if self.dtype is not None else X.dtype)
        n_samples, n_features = X.shape
        self.n_outputs_ = y.shape[1]
        layer_units = [n_features] + hidden + [self.n_outputs_]
        self._random_state = check_random_state(self.random_state)
        if not first_pass and list(self.network_.layer_sizes) != layer_units:
            raise ValueError(f"the network has layers {list(self.network_.layer_sizes)}, but this "
                             f"call needs {layer_units}; use warm_start=False to start over")
        if first_pass:
            self._initialize(y, layer_units, dtype)
        dtype = self.network_.dtype
        X = np.ascontiguousarray(X, dtype=dtype)
        y = np.ascontiguousarray(y, dtype=dtype)
        if sample_weight is not None:
            sample_weight = np.ascontiguousarray(sample_weight, dtype=dtype)
        net = self.network_
        self._work = net._workspace()
        if self.solver in _STOCHASTIC_SOLVERS:
            self._fit_stochastic(X, y, incremental, sample_weight)
        else:
            self._fit_lbfgs(X, y, sample_weight)
        if not np.isfinite(net.parameters).all():
            raise ValueError("Solver produced non-finite parameter weights. The input data may"
                             " contain large values and need to be preprocessed.")
        del self._work
        return self

    def _grad_views(self, grad):
        net = self.network_
        sizes = net.layer_sizes
        self._grad_weights = [grad[w:w + sizes[l] * sizes[l + 1]].reshape(sizes[l + 1], sizes[l])
                              for l, w in enumerate(net._w_off)]

    def _fit_lbfgs(self, X, y, sample_weight=None):
        try:
            import scipy.optimize
        except ImportError:
            raise ImportError("solver='lbfgs' needs SciPy: pip install scipy") from None
        net = self.network_
        grad = np.zeros_like(net.parameters)
        self._grad_views(grad)

        last = [np.nan, 0]

        def loss_grad(x):
            net.parameters[...] = x
            last[0] = self._loss_grad(X, y, grad, sample_weight)
            return last[0], grad.astype(np.float64)

        def report(_):
            last[1] += 1
            print(f"Iteration {last[1]}, loss = {last[0]:.8f}")

        options = {"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol}
        res = scipy.optimize.minimize(loss_grad, net.parameters.astype(np.float64),
                                      method="L-BFGS-B", jac=True, options=options,
                                      callback=report if self.verbose else None)
        if res.status != 0:
            warnings.warn(f"lbfgs failed to converge after {res.nit} iteration(s) "
                          f"(status={res.status}):\n{res.message}\n\nIncrease the number of "
                          "iterations to improve the convergence (max_iter="
                          f"{self.max_iter}).", ConvergenceWarning, stacklevel=3)
        self.n_iter_ = min(res.nit, self.max_iter)
        self.loss_ = float(res.fun)
        net.parameters[...] = res.x

    def _fit_stochastic(self, X, y, incremental, sample_weight=None):
        net = self.network_
        params = net.parameters
        if not incremental or not hasattr(self, "_optimizer"):
            self._optimizer = _Optimizer(self, params.size, params.dtype)
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        early_stopping = self.early_stopping
        if early_stopping:
            stratify = y if is_classifier(self) and self.n_outputs_ == 1 else None
            if sample_weight is None:
                X_train, X_val, y_train, y_val = train_test_split(
                    X, y, random_state=self._random_state, test_size=self.validation_fraction,
                    stratify=stratify)
                sw_train = sw_val = None
            else:   # (the weights split with their samples, as scikit-learn does)
                X_train, X_val, y_train, y_val, sw_train, sw_val = train_test_split(
                    X, y, sample_weight, random_state=self._random_state,
                    test_size=self.validation_fraction, stratify=stratify)
            if X_val.shape[0] < 2:
                raise ValueError("The validation set is too small. Increase 'validation_fraction' "
                                 "or the size of your dataset.")
            if is_classifier(self):
                y_val = self._label_binarizer.inverse_transform(y_val)
        else:
            X_train, y_train, X_val, y_val = X, y, None, None
            sw_train = sw_val = sample_weight
        n_samples = X_train.shape[0]
        sample_idx = np.arange(n_samples, dtype=int)
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, n_samples))
        grad = np.zeros(params.size if batch_size > 1 else 0, dtype=params.dtype)
        opt = self._optimizer
        # a whole epoch (scikit-learn's sample order and batches) is one kernel call; the
        # squared error is reported divided by the outputs, the penalty not (see the module
        # note): the kernel weighs the penalty by the outputs in the epoch's loss
        n_out = net.layer_sizes[-1] if self._loss == "squared_error" else 1
        epoch_loss = np.empty(1)
        backup = np.empty(params.size + max(params.size, opt.state.size), dtype=params.dtype)
        kernel_batch = 0 if batch_size == 1 else batch_size
        n_threads = resolve_n_threads(
            self.n_threads, kernel_batch, params.size, 0,
            online_split_work(net.layer_sizes, opt.adam is not None)
            if kernel_batch == 0 and sw_train is None else 0)
        eta_adam = opt.learning_rate_init
        try:
            self.n_iter_ = 0
            for _ in range(self.max_iter):
                if self.shuffle:
                    sample_idx = _shuffle(sample_idx, self._random_state)
                failed = _kernels().train_epochs(
                    params, grad, opt.state, backup, self._work, *net._layout_args(),
                    net._loss_code, True, X_train, y_train,
                    sample_idx.astype(np.intp).reshape(1, -1),
                    eta_adam if opt.adam else opt.learning_rate, opt.momentum, kernel_batch,
                    epoch_loss, opt.nesterov, float(self.alpha), float(n_out), opt.adam,
                    n_threads=n_threads, sample_weight=sw_train,
                    flush_denormals=bool(self.flush_denormals))
                if failed >= 0:
                    raise ValueError("Solver produced non-finite parameter weights. The "
                                     "input data may contain large values and need to be "
                                     "preprocessed.")
                accumulated_loss = epoch_loss[0] * n_samples / n_out
                self.n_iter_ += 1
                self.loss_ = accumulated_loss / n_samples
                self.t_ += n_samples
                self.loss_curve_.append(self.loss_)
                if self.verbose:
                    print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
                self._update_no_improvement_count(early_stopping, X_val, y_val,
                                                  None if sw_val is None or not early_stopping
                                                  else sw_val)
                opt.iteration_ends(self.t_)
                if self._no_improvement_count > self.n_iter_no_change:
                    what = "Validation score" if early_stopping else "Training loss"
                    msg = (f"{what} did not improve more than tol={self.tol:f} for "
                           f"{self.n_iter_no_change} consecutive epochs.")
                    if opt.trigger_stopping(msg, self.verbose):
                        break
                    self._no_improvement_count = 0
                if incremental:
                    break
                if self.n_iter_ == self.max_iter:
                    warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) "
                                  "reached and the optimization hasn't converged yet.",
                                  ConvergenceWarning, stacklevel=3)
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.")
        if early_stopping:
            params[...] = self._best_params

    def _update_no_improvement_count(self, early_stopping, X_val, y_val, sw_val=None):
        if early_stopping:
            self.validation_scores_.append(self._score(X_val, y_val, sample_weight=sw_val))
            if self.verbose:
                print(f"Validation score: {self.validation_scores_[-1]:f}")
            last = self.validation_scores_[-1]
            if last < self.best_validation_score_ + self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if last > self.best_validation_score_:
                self.best_validation_score_ = last
                self._best_params = self.network_.parameters.copy()
        else:
            if self.loss_curve_[-1] > self.best_loss_ - self.tol:
                self._no_improvement_count += 1
            else:
                self._no_improvement_count = 0
            if self.loss_curve_[-1] < self.best_loss_:
                self.best_loss_ = self.loss_curve_[-1]

    def _check_solver(self):
        if self.solver not in _STOCHASTIC_SOLVERS:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    def fit(self, X, y, sample_weight=None):
        """Fit the model to data matrix ``X`` and targets ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix}, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like, shape (n_samples,), optional
            scikit-learn's convention: each batch's loss and gradient (its L2
            term included) are the weighted mean, divided by the batch's
            weight sum (a batch of weight 0 takes no step).

        Returns
        -------
        self
        """
        self._validate_params()
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    # -- prediction -----------------------------------------------------------------

    def _forward_pass_fast(self, X, check_input=True):
        if check_input:
            X = validate_data(self, X, accept_sparse=["csr", "csc"], reset=False,
                              dtype=[np.float64, np.float32])
        if hasattr(X, "toarray"):
            X = X.toarray()
        return np.asarray(self.network_.predict(X))

    def __setstate__(self, state):
        super().__setstate__(state)
        if "network_" in self.__dict__:
            self._link()


_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of shape (n_layers - 2,), default (100,)
        Units in each hidden layer.
    activation : {"identity", "logistic", "tanh", "relu"}, default "relu"
        Hidden-layer activation; cyprop also takes "sigmoid" (= "logistic"),
        "leaky_relu" (slope 0.01) and "rbf" (``exp(-z**2)``).
    solver : {"lbfgs", "sgd", "adam"}, default "adam"
    alpha : float, default 0.0001
        L2 penalty: ``alpha / (2 n) * sum ||W||^2`` per batch of ``n`` samples.
    batch_size : int or "auto", default "auto"
        Samples per update of "sgd" and "adam"; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default "constant"
        Schedule of "sgd"'s step size.
    learning_rate_init : float, default 0.001
    power_t : float, default 0.5
        Exponent of "invscaling".
    max_iter : int, default 200
        Epochs of "sgd" and "adam"; iterations of "lbfgs".
    shuffle : bool, default True
    random_state : int, RandomState instance or None, default None
        Weight initialisation, sample order and validation split.
    tol : float, default 1e-4
    verbose : bool, default False
    warm_start : bool, default False
        Continue from the fitted weights in ``fit``.
    momentum : float in [0, 1], default 0.9
    nesterovs_momentum : bool, default True
    early_stopping : bool, default False
        Hold out ``validation_fraction`` of the data and stop when its score
        stops improving; the best weights are kept.
    validation_fraction : float, default 0.1
    beta_1, beta_2, epsilon : float, defaults 0.9, 0.999, 1e-8
        Adam's constants.
    n_iter_no_change : int, default 10
    max_fun : int, default 15000
        Loss evaluations of "lbfgs".
    dtype : {"float64", "float32"} or None, default None
        Precision of the network; None follows ``X`` (float32 stays float32).
    n_threads : int or None, default None
        Threads per fit (see :meth:`cyprop.Network.fit`): None splits what
        pays on this machine, -1 all available, k that many.
    flush_denormals : bool, default True
        Train with subnormal numbers flushed to zero (see
        :meth:`cyprop.Network.fit`): the weights differ from IEEE
        arithmetic's only by values below the smallest normal number.
"""

_ATTRIBUTES_DOC = """
    loss_ : float
    best_loss_ : float or None
    loss_curve_ : list of float
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    t_ : int
        Training samples seen.
    coefs_ : list of ndarray, shapes (n_in, n_out)
        Views into ``network_``'s parameters.
    intercepts_ : list of ndarray, shapes (n_out,)
    n_features_in_ : int
    feature_names_in_ : ndarray of str
    n_iter_ : int
    n_layers_ : int
    n_outputs_ : int
    out_activation_ : str
    network_ : cyprop.Network
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron classifier (scikit-learn's, trained in cyprop's kernels).

    Log-loss with softmax outputs (multiclass) or logistic outputs (binary:
    one output unit; multilabel: one per label).
    """ + _PARAMETERS_DOC + """
    Attributes
    ----------
    classes_ : ndarray or list of ndarray""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from cyprop.sklearn import MLPClassifier
    >>> X = np.array([[0., 0], [0, 1], [1, 0], [1, 1]]); y = np.array(["no", "yes", "yes", "no"])
    >>> clf = MLPClassifier((8,), "tanh", solver="lbfgs", random_state=1).fit(X, y)
    >>> clf.predict(X).tolist()
    ['no', 'yes', 'yes', 'no']
    """

    _loss = "cross_entropy"

    def _out_activation(self):
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes "
                                     f"as in the previous call to fit. Previously got "
                                     f"{self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError("`y` has classes not in `self.classes_`. `self.classes_` has "
                                 f"{self.classes_}. 'y' has {classes}.")
        y = self._label_binarizer.transform(y).astype(bool)
        return X, y

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        return self._label_binarizer.inverse_transform(y_pred)

    def predict(self, X):
        """Predicted class labels (or label indicators, multilabel)."""
        check_is_fitted(self)
        return self._predict(X)

    def _score(self, X, y, sample_weight=None):
        y_pred = self._predict(X, check_input=False)
        if np.issubdtype(y_pred.dtype, np.floating) and not np.isfinite(y_pred).all():
            return np.nan
        return accuracy_score(y, y_pred, sample_weight=sample_weight)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``X``, ``y`` from the current state (scikit-learn's definition).

        Parameters
        ----------
        X : {array-like, sparse matrix}, shape (n_samples, n_features)
        y : array-like, shape (n_samples,) or (n_samples, n_labels)
        sample_weight : array-like, shape (n_samples,), optional
            As in :meth:`fit`.
        classes : array, shape (n_classes,)
            Every class; required on the first call, checked on the others.

        Returns
        -------
        self
        """
        if not hasattr(self, "coefs_"):
            self._validate_params()
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), in ``classes_`` order."""
        check_is_fitted(self)
        y_pred = self._forward_pass_fast(X)
        if self.n_outputs_ == 1:
            y_pred = y_pred.ravel()
        if y_pred.ndim == 1:
            return np.vstack([1 - y_pred, y_pred]).T
        return y_pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """Multi-layer perceptron regressor (scikit-learn's, trained in cyprop's kernels).

    Half squared error (averaged over samples and outputs, as scikit-learn
    reports it) with identity outputs; one or several targets.
    """ + _PARAMETERS_DOC + """
    loss : {"squared_error"}, default "squared_error"
        scikit-learn's "poisson" is not supported.

    Attributes
    ----------""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from cyprop.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1); y = X.ravel() ** 2
    >>> reg = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", solver="lbfgs",
    ...                    random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.99)
    True
    """

    _parameter_constraints = {**_BaseMLP._parameter_constraints,
                              "loss": [StrOptions({"squared_error", "poisson"})]}
    _loss = "squared_error"

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dtype=None, n_threads=None, flush_denormals=True):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha,
                         batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
                         verbose=verbose, warm_start=warm_start, momentum=momentum,
                         nesterovs_momentum=nesterovs_momentum, early_stopping=early_stopping,
                         validation_fraction=validation_fraction, beta_1=beta_1, beta_2=beta_2,
                         epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
                         dtype=dtype, n_threads=n_threads, flush_denormals=flush_denormals)
        self.loss = loss

    def _out_activation(self):
        return "identity"

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             y_numeric=True, dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        return X, y

    def _predict(self, X, check_input=True):
        y_pred = self._forward_pass_fast(X, check_input=check_input)
        if y_pred.shape[1] == 1:
            return y_pred.ravel()
        return y_pred

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs)."""
        check_is_fitted(self)
        return self._predict(X)

    def _score(self, X, y, sample_weight=None):
        y_pred = self._predict(X, check_input=False)
        if not np.isfinite(y_pred).all():
            return np.nan
        return r2_score(y, y_pred, sample_weight=sample_weight)

    @available_if(lambda est: est._check_solver())
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y`` from the current state (scikit-learn's definition).

        ``sample_weight`` (n_samples,), optional, as in :meth:`fit`.

        Returns
        -------
        self
        """
        if not hasattr(self, "coefs_"):
            self._validate_params()
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)
