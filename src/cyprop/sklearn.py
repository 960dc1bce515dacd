"""scikit-learn estimators trained by cyprop's kernels.

:class:`MLPClassifier` and :class:`MLPRegressor` follow the scikit-learn
estimator contract -- the constructor only stores its parameters, ``fit``
and ``partial_fit`` learn, fitted attributes end in ``_`` -- so they work in
:class:`~sklearn.pipeline.Pipeline`, :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_val_score`.  The trained
:class:`cyprop.Network` is ``network_``.

Needs scikit-learn >= 1.6 (``pip install "cyprop[sklearn]"``).

Examples
--------
>>> from sklearn.datasets import load_digits
>>> from sklearn.model_selection import cross_val_score
>>> from cyprop.sklearn import MLPClassifier
>>> X, y = load_digits(return_X_y=True)
>>> clf = MLPClassifier(hidden_layer_sizes=(32,), activation="sigmoid",
...                     learning_rate=0.1, epochs=10, random_state=0)
>>> scores = cross_val_score(clf, X / 16, y, cv=3)   # doctest: +SKIP
"""

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # scikit-learn missing, or older than 1.6 (no validate_data)
    raise ImportError("cyprop.sklearn needs scikit-learn >= 1.6: pip install 'cyprop[sklearn]' "
                      f"({exc})") from None

from ._scaling import Standardizer
from ._validate import as_count, check_choice
from .network import HIDDEN_ACTIVATIONS, Network

__all__ = ["MLPClassifier", "MLPRegressor", "EXPECTED_FAILED_CHECKS"]

#: Checks of :func:`sklearn.utils.estimator_checks.check_estimator` that these
#: estimators are known to fail, by estimator class name: {check name: reason}.
#: Empty: both estimators pass every check.
EXPECTED_FAILED_CHECKS = {"MLPClassifier": {}, "MLPRegressor": {}}

# scikit-learn's name for the logistic sigmoid, accepted alongside cyprop's.
_ACTIVATION_ALIASES = {"logistic": "sigmoid"}


class _BaseMLP(BaseEstimator):
    """Parameters, training and pickling shared by the two estimators."""

    # the network's output layer and loss; set by the subclasses
    _output_activation = None
    _loss = None

    def __init__(self, hidden_layer_sizes=(100,), activation="tanh", *, epochs=200,
                 learning_rate=0.001, mode="online", batch_size=None, momentum=0.0,
                 shuffle=True, dtype="float64", random_state=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.mode = mode
        self.batch_size = batch_size
        self.momentum = momentum
        self.shuffle = shuffle
        self.dtype = dtype
        self.random_state = random_state

    # -- training -----------------------------------------------------------------

    def _validate(self, X, y, reset):
        raise NotImplementedError

    def _prepare_targets(self, y, first, classes):
        """Targets for the network; on the ``first`` call also set the target encoding."""
        raise NotImplementedError

    def _n_outputs(self):
        raise NotImplementedError

    def _start(self, n_features):
        """A fresh network and seeds; called by ``fit`` and the first ``partial_fit``."""
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = (hidden,)
        if not np.iterable(hidden):
            raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints, got {hidden!r}")
        hidden = [as_count(h, f"hidden_layer_sizes[{i}]") for i, h in enumerate(hidden)]
        check_choice(self.activation, "activation", HIDDEN_ACTIVATIONS + tuple(_ACTIVATION_ALIASES))
        activation = _ACTIVATION_ALIASES.get(self.activation, self.activation)
        rng = check_random_state(self.random_state)
        init_seed, self._fit_seed = (int(s) for s in rng.randint(0, 2**31 - 1, size=2))
        self.network_ = Network([n_features, *hidden, self._n_outputs()], activation,
                                self._output_activation, self._loss, self.dtype, seed=init_seed)
        self.loss_curve_ = []
        self.n_iter_ = 0

    def _train(self, X, targets, epochs):
        batch_size = self.batch_size if self.mode == "minibatch" else None
        if self.mode != "minibatch" and self.batch_size is not None:
            raise ValueError(f"batch_size is only used with mode='minibatch' (mode={self.mode!r})")
        # every call gets its own shuffling stream, fixed by random_state and the epochs so far
        seed = int(np.random.SeedSequence([self._fit_seed, self.n_iter_]).generate_state(1)[0])
        history = self.network_.fit(X, targets, epochs=epochs, learning_rate=self.learning_rate,
                                    mode=self.mode, batch_size=batch_size,
                                    momentum=self.momentum, shuffle=self.shuffle, seed=seed)
        self.loss_curve_.extend(history.loss)
        self.loss_ = self.loss_curve_[-1]
        self.n_iter_ += history.epochs

    def _fit(self, X, y, epochs, partial, classes=None):
        first = not (partial and hasattr(self, "network_"))
        X, y = self._validate(X, y, reset=first)
        targets = self._prepare_targets(y, first, classes)
        if first:
            self._start(X.shape[1])
        self._train(X, targets, epochs)
        return self

    def fit(self, X, y):
        """Train a new network for ``epochs`` epochs on ``X``, ``y``.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
        y : array_like, shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self
        """
        return self._fit(X, y, as_count(self.epochs, "epochs"), partial=False)

    # -- prediction -----------------------------------------------------------------

    def _outputs(self, X):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return np.asarray(self.network_.predict(X), dtype=np.float64)


_PARAMETERS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,)
        Units in each hidden layer; ``()`` for none.
    activation : str, default "tanh"
        Hidden-layer activation: "identity", "sigmoid" (or scikit-learn's
        name, "logistic"), "tanh", "relu", "leaky_relu" or "rbf".  The
        default is tanh rather than scikit-learn's relu: with plain SGD on
        unscaled inputs, relu units can grow without bound and diverge.
    epochs : int, default 200
        Passes over the data in :meth:`fit` (no early stopping; scikit-learn
        calls this ``max_iter``).  :meth:`partial_fit` runs one.
    learning_rate : float, default 0.001
        The constant SGD step size (scikit-learn's ``learning_rate_init``
        with ``learning_rate="constant"``).
    mode : {"online", "minibatch", "batch"}, default "online"
        Update after every sample, after every ``batch_size`` samples, or
        once per epoch (see :meth:`cyprop.Network.fit`).
    batch_size : int, optional
        Samples per update with ``mode="minibatch"`` (default 32).
    momentum : float in [0, 1), default 0
        Classical momentum; the velocity restarts at every ``fit`` or
        ``partial_fit`` call.
    shuffle : bool, default True
        Visit the samples in a new random order every epoch.
    dtype : {"float64", "float32"}, default "float64"
        Precision of the network.
    random_state : int, RandomState instance or None, default None
        Seeds the weight initialisation and the shuffling: an int makes
        ``fit`` reproducible.
"""

_ATTRIBUTES_DOC = """
    network_ : cyprop.Network
        The trained network.
    n_features_in_ : int
        Number of input features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names of ``X``, when it is a DataFrame with string column names.
    loss_curve_ : list of float
        The mean training loss of every epoch run, across ``fit`` and
        ``partial_fit`` calls since the last ``fit``.
    loss_ : float
        The last entry of ``loss_curve_``.
    n_iter_ : int
        Number of epochs run since the last ``fit``.
"""


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = """A multi-layer perceptron classifier trained by backpropagation in cyprop's kernels.

    Softmax outputs, one per class, trained on the cross-entropy loss by
    stochastic gradient descent.  Labels may be any sortable values.
    """ + _PARAMETERS_DOC + """
    Attributes
    ----------
    classes_ : ndarray, shape (n_classes,)
        The class labels, sorted.""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from cyprop.sklearn import MLPClassifier
    >>> X = np.array([[0., 0], [0, 1], [1, 0], [1, 1]]); y = np.array(["no", "yes", "yes", "no"])
    >>> clf = MLPClassifier((8,), "tanh", epochs=2000, learning_rate=0.1, random_state=0).fit(X, y)
    >>> clf.predict(X).tolist()
    ['no', 'yes', 'yes', 'no']
    """

    _output_activation = "softmax"
    _loss = "cross_entropy"

    def _validate(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32])
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return X, y

    def _prepare_targets(self, y, first, classes):
        if first:
            labels = np.unique(y if classes is None else np.asarray(classes))
            if classes is not None and np.setdiff1d(y, labels).size:
                raise ValueError(f"y holds labels {np.setdiff1d(y, labels).tolist()} that are not "
                                 f"in classes={labels.tolist()}")
            if labels.size < 2:
                raise ValueError("Classifier can't train when only one class is present "
                                 f"(y holds only {labels.tolist()}).")
            self.classes_ = labels
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(f"y holds labels {unseen.tolist()} that are not in classes_ "
                             f"{self.classes_.tolist()}")
        return np.searchsorted(self.classes_, y)

    def _n_outputs(self):
        return len(self.classes_)

    def partial_fit(self, X, y, classes=None):
        """One epoch of training on ``X``, ``y``, continuing from the current weights.

        Parameters
        ----------
        X : array_like, shape (n_samples, n_features)
        y : array_like, shape (n_samples,)
        classes : array_like, shape (n_classes,)
            Every class label; required on the first call (before any
            ``fit``), when it sets ``classes_``, and ignored afterwards.

        Returns
        -------
        self
        """
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit "
                             "(the network's outputs are fixed by the number of classes)")
        return self._fit(X, y, 1, partial=True, classes=classes)

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns in ``classes_`` order."""
        return self._outputs(X)

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of every row of ``X``."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = """A multi-layer perceptron regressor trained by backpropagation in cyprop's kernels.

    Identity outputs trained on the squared error by stochastic gradient
    descent; one or several targets.  The targets are standardised
    (``(y - mean) / std`` per column, from the data of ``fit`` or the first
    ``partial_fit``) for training and the predictions mapped back, so the
    learning rate does not depend on the targets' units; ``loss_curve_`` is
    in standardised units.
    """ + _PARAMETERS_DOC + """
    Attributes
    ----------""" + _ATTRIBUTES_DOC + """
    Examples
    --------
    >>> import numpy as np
    >>> from cyprop.sklearn import MLPRegressor
    >>> X = np.linspace(-1, 1, 50).reshape(-1, 1); y = 100 * X.ravel() ** 2
    >>> reg = MLPRegressor((16,), "tanh", epochs=500, learning_rate=0.05, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.99)
    True
    """

    _output_activation = "identity"
    _loss = "squared_error"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _validate(self, X, y, reset):
        X, y = validate_data(self, X, y, reset=reset, dtype=[np.float64, np.float32],
                             multi_output=True, y_numeric=True)
        if reset:
            self._y_ndim = y.ndim
        elif y.ndim != self._y_ndim and not (y.ndim == 2 and y.shape[1] == 1):
            raise ValueError(f"y must be {self._y_ndim}-D as in the first call, got shape {y.shape}")
        return X, y

    def _prepare_targets(self, y, first, classes):
        y2 = np.asarray(y, dtype=np.float64).reshape(y.shape[0], -1)
        if first:
            self._y_scaler = Standardizer.fit(y2)
        elif y2.shape[1] != self._y_scaler.mean.size:
            raise ValueError(f"y has {y2.shape[1]} targets, but this regressor was fitted with "
                             f"{self._y_scaler.mean.size}")
        return self._y_scaler.transform(y2)

    def _n_outputs(self):
        return self._y_scaler.mean.size

    def partial_fit(self, X, y):
        """One epoch of training on ``X``, ``y``, continuing from the current weights.

        The first call (before any ``fit``) builds the network and fixes the
        target standardisation from this batch.

        Returns
        -------
        self
        """
        return self._fit(X, y, 1, partial=True)

    def predict(self, X):
        """Predicted targets: shape (n_samples,) when fitted on 1-D ``y``, else (n_samples, n_targets)."""
        out = self._outputs(X)
        out = self._y_scaler.inverse(out)
        return out.ravel() if self._y_ndim == 1 else out
