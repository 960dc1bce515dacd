"""Many independent trainings: one network per point of a parameter grid.

The tutorials' advice -- run training a few times from random starts, try
learning rates a factor of ten apart -- is a grid: ``{"seed": range(5),
"learning_rate": [0.01, 0.1, 1.0]}`` is fifteen trainings.  :func:`sweep`
runs them on a :class:`concurrent.futures.Executor`.  The kernels release
the GIL, so the default thread pool keeps every core busy; a
:class:`~concurrent.futures.ProcessPoolExecutor` or a Dask cluster's
``client.get_executor()`` work the same way, and give bit-identical results.
"""

import inspect
import itertools
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._threads import blas_single_threaded


__all__ = ["sweep", "SweepResults", "training_accuracy"]

#: What every record holds besides the point's parameters.
RESULT_KEYS = ("final_loss", "epochs_run", "seconds", "accuracy", "diverged", "network")


class SweepResults(list):
    """What :func:`sweep` returns: one dict per grid point, in grid order.

    Each record holds the point's parameters and

    - ``final_loss``: the mean training loss of the last epoch (NaN if the
      run diverged),
    - ``epochs_run``: epochs completed,
    - ``seconds``: wall time of the ``fit`` call,
    - ``accuracy``: training accuracy, for classifiers only (softmax
      outputs, or sigmoid outputs with the cross-entropy loss),
    - ``diverged``: whether training stopped on a
      :class:`~cyprop.DivergenceError`,
    - ``network``: the trained :class:`cyprop.Network` (for a diverged run,
      its weights from before the failing epoch).
    """

    def to_dataframe(self, networks=False):
        """The records as a :class:`pandas.DataFrame`, one row per point.

        Parameters
        ----------
        networks : bool, default False
            Keep the ``network`` column (objects).

        Raises
        ------
        ImportError
            If pandas is not installed.
        """
        try:
            import pandas as pd
        except ImportError:
            raise ImportError("SweepResults.to_dataframe needs pandas: pip install pandas") from None
        rows = self if networks else [{k: v for k, v in r.items() if k != "network"} for r in self]
        return pd.DataFrame(list(rows))

    def best(self, metric="final_loss"):
        """The record with the lowest ``final_loss`` (or highest ``accuracy``).

        Diverged runs are skipped; ValueError if every run diverged.
        """
        if metric not in ("final_loss", "accuracy"):
            raise ValueError(f"metric must be 'final_loss' or 'accuracy', got {metric!r}")
        runs = [r for r in self if not r["diverged"] and r.get(metric) is not None]
        if not runs:
            raise ValueError(f"no run has a {metric} (every run diverged, or none is a classifier)")
        sign = 1 if metric == "final_loss" else -1
        return min(runs, key=lambda r: sign * r[metric])


def sweep(build, X, Y, grid, executor=None, **fit_kwargs):
    """Train one network per point of a parameter grid, in parallel.

    Parameters
    ----------
    build : callable
        ``build(point)`` returns a new :class:`cyprop.Network` for ``point``,
        a dict mapping each grid name to one of its values.  For bit-identical
        results on any executor it must seed the network from the point
        (e.g. ``seed=point["seed"]``).  A process pool or a Dask cluster must
        be able to pickle it: a module-level function, not a lambda, for a
        ``ProcessPoolExecutor``.
    X, Y : array_like
        Training data, as for :meth:`cyprop.Network.fit`.
    grid : dict
        Maps names to non-empty lists of values; every combination
        (the Cartesian product, in ``itertools.product`` order) is a point.
        Names that are :meth:`~cyprop.Network.fit` parameters
        (``learning_rate``, ``epochs``, ``mode``, ``batch_size``,
        ``momentum``, ``shuffle``, ``seed``) override ``fit_kwargs`` for
        that point; all names reach ``build``.
    executor : concurrent.futures.Executor, optional
        Runs the trainings.  Default: a thread pool with one thread per
        available core, shut down on return.  Any executor can be given, e.g.
        a :class:`~concurrent.futures.ProcessPoolExecutor` or
        ``distributed.Client(...).get_executor()``; it is not shut down.
    **fit_kwargs
        Passed to every :meth:`~cyprop.Network.fit` call.  Unless ``seed``
        is given (here or in the grid), each point's shuffling is seeded
        with its index in the grid, so every run is reproducible.  Unless
        ``n_threads`` is given, each fit runs on one thread (the sweep
        already runs one fit per core), and SciPy's BLAS (the blocked
        online schedule) runs single-threaded while any sweep fit runs, so
        the two levels of threads do not oversubscribe the cores.

    Returns
    -------
    SweepResults
        A list with one record (a dict) per point, in grid order; see
        :class:`SweepResults`.  ``.to_dataframe()`` makes a DataFrame.

    Raises
    ------
    TypeError, ValueError
        For a bad ``build``, ``grid``, ``executor`` or fit argument, before
        any training.  An exception raised by ``build`` or ``fit`` (other
        than divergence, which is recorded) is re-raised, with the point
        that failed noted on it.

    Examples
    --------
    >>> import numpy as np, cyprop
    >>> X = np.array([[0., 0], [0, 1], [1, 0], [1, 1]]); Y = np.array([[0.], [1], [1], [0]])
    >>> def build(point):
    ...     return cyprop.Network([2, 3, 1], loss="cross_entropy", seed=point["seed"])
    >>> results = cyprop.sweep(build, X, Y, {"seed": range(4), "learning_rate": [0.1, 1.0]},
    ...                        epochs=2000, mode="batch")
    >>> len(results), sorted(results[0])[:4]
    (8, ['accuracy', 'diverged', 'epochs_run', 'final_loss'])
    """
    if not callable(build):
        raise TypeError(f"build must be a callable returning a Network, got {type(build).__name__}")
    fit_names = _fit_parameter_names()
    unknown = sorted(set(fit_kwargs) - fit_names)
    if unknown:
        raise TypeError(f"sweep got unexpected keyword argument(s) {unknown}; keyword arguments "
                        f"are passed to Network.fit, which takes {sorted(fit_names)}")
    points = grid_points(grid)
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise TypeError("executor must be a concurrent.futures.Executor (something with .submit), "
                        f"got {type(executor).__name__}")
    X = _as_data(X, "X")
    Y = _as_data(Y, "Y")

    jobs = []
    for index, point in enumerate(points):
        kwargs = dict(fit_kwargs)
        kwargs.update((k, v) for k, v in point.items() if k in fit_names)
        kwargs.setdefault("seed", index)
        # the sweep runs one fit per core already: each fit on one thread unless asked
        kwargs.setdefault("n_threads", 1)
        jobs.append((point, kwargs))

    own = executor is None
    if own:
        executor = ThreadPoolExecutor(max_workers=min(len(jobs), _available_cores()),
                                      thread_name_prefix="cyprop-sweep")
    futures = []
    try:
        futures = [executor.submit(_train_point, build, X, Y, point, kwargs)
                   for point, kwargs in jobs]
        records = []
        for (point, _), future in zip(jobs, futures):
            try:
                record, net = future.result()
            except Exception as exc:
                if hasattr(exc, "add_note"):
                    exc.add_note(f"(in cyprop.sweep, at grid point {point!r})")
                raise
            record["network"] = net
            records.append(record)
    except BaseException:
        # Ctrl-C (or any error): fits not yet started never start, and the
        # kernels of running ones stop within ~20 ms (worker threads see no
        # signals, so they are asked through a cancel list the kernels poll)
        for future in futures:
            future.cancel()
        workers = _cancel_workers(executor, True)
        try:
            if own:
                executor.shutdown(wait=True)
        finally:
            _cancel_workers(executor, False, workers)
        raise
    finally:
        for future in futures:
            future.cancel()
        if own:
            executor.shutdown(wait=True)
    return SweepResults(records)


def _cancel_workers(executor, cancel, idents=None):
    """Ask (or stop asking) the kernels running in ``executor``'s threads to stop.

    Works for thread pools (``concurrent.futures.ThreadPoolExecutor``); a
    process pool's workers get the terminal's SIGINT themselves.
    """
    from ._kernels import kernels

    if idents is None:
        idents = [t.ident for t in list(getattr(executor, "_threads", ())) if t.ident is not None]
    for ident in idents:
        kernels.set_thread_cancel(ident, cancel)
    return idents


def _as_data(value, name):
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array: {exc}") from None


def grid_points(grid):
    """The points of ``grid`` (see :func:`sweep`) as a list of dicts."""
    if not isinstance(grid, dict):
        raise TypeError(f"grid must be a dict mapping names to lists of values, got "
                        f"{type(grid).__name__}")
    names, values = [], []
    for name, options in grid.items():
        if not isinstance(name, str):
            raise TypeError(f"grid names must be strings, got {name!r}")
        if name in RESULT_KEYS:
            raise ValueError(f"grid name {name!r} clashes with a result field of the same name")
        if isinstance(options, (str, bytes, dict)) or not np.iterable(options):
            raise TypeError(f"grid[{name!r}] must be a list of values, got {options!r}")
        options = list(options)
        if not options:
            raise ValueError(f"grid[{name!r}] is empty")
        names.append(name)
        values.append(options)
    return [dict(zip(names, combo)) for combo in itertools.product(*values)]


def training_accuracy(net, X, Y):
    """Fraction of samples a classifier network gets right, or None for a regressor.

    Softmax outputs: the arg-max output against the label (``Y`` 1-D labels
    or one-hot rows).  Sigmoid outputs with the cross-entropy loss: every
    output thresholded at 0.5 against ``Y >= 0.5`` (a sample counts when all
    its outputs are right).
    """
    if net.output_activation == "softmax":
        Y = np.asarray(Y)
        labels = Y if Y.ndim == 1 else np.argmax(Y, axis=1)
        return float(np.mean(np.argmax(net.predict(X), axis=1) == labels))
    if net.loss_name == "cross_entropy":
        out = net.predict(X)
        target = np.asarray(Y, dtype=np.float64).reshape(out.shape) >= 0.5
        return float(np.mean(np.all((out >= 0.5) == target, axis=1)))
    return None


def _train_point(build, X, Y, point, fit_kwargs):
    """Build and fit one network; returns (record without the network, the network).

    Runs on an executor's worker; from a process pool or a Dask worker the
    network travels pickled (:meth:`cyprop.Network.__reduce__` rebuilds it
    whole, its weights views into its parameters).
    """
    from .network import DivergenceError, Network

    net = build(dict(point))
    if not isinstance(net, Network):
        raise TypeError(f"build must return a cyprop.Network, got {type(net).__name__} "
                        f"for point {point!r}")
    started = time.perf_counter()
    try:
        # nor OpenBLAS's threads (the blocked online schedule), for the whole sweep
        with blas_single_threaded():
            history = net.fit(X, Y, **fit_kwargs)
        diverged = False
    except DivergenceError as exc:
        history, diverged = exc.history, True
    seconds = time.perf_counter() - started
    record = dict(point)
    record["final_loss"] = float("nan") if diverged or not history.loss else history.loss[-1]
    record["epochs_run"] = history.epochs
    record["seconds"] = seconds
    accuracy = training_accuracy(net, X, Y)
    if accuracy is not None:
        record["accuracy"] = accuracy
    record["diverged"] = diverged
    return record, net


def _fit_parameter_names():
    from .network import Network

    names = set(inspect.signature(Network.fit).parameters)
    return names - {"self", "X", "Y"}


def _available_cores():
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1
