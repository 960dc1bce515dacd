"""Figures for training runs, the tutorials' surfaces, decision boundaries and sweeps.

Every function returns a :class:`matplotlib.figure.Figure` (drawn into
``ax``'s figure when an ``ax`` is given, else a new pyplot figure), ready for
``fig.savefig(...)`` or display in a notebook.  matplotlib is imported on
first use: ``pip install "cyprop[plot]"``.

- :func:`loss_curve` -- loss per epoch of one or more runs.
- :func:`loss_surface` -- the RBF tutorial's loss over (wh, bo), with the
  training trajectory drawn on it.
- :func:`cost_surface` -- the NOT network's cost over its two weights, mean
  squared error beside cross-entropy.
- :func:`decision_boundary` -- a classifier's regions over a 2-D input space.
- :func:`sweep_heatmap` -- one number per pair of grid values of a sweep.
"""

import numbers

import numpy as np

from ._validate import as_count, as_float_array

__all__ = ["loss_curve", "loss_surface", "cost_surface", "decision_boundary", "sweep_heatmap"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("cyprop.plot needs matplotlib: pip install 'cyprop[plot]' "
                          "(or pip install matplotlib)") from None
    return plt


def _figure_and_axes(ax, figsize):
    """``ax`` and its figure, or a new figure with one axes."""
    if ax is not None:
        return ax.figure, ax
    fig, ax = _pyplot().subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _range(value, name):
    lo, hi = as_float_array(value, name, ndim=1)
    if not lo < hi:
        raise ValueError(f"{name} must be (low, high) with low < high, got {tuple(value)}")
    return float(lo), float(hi)


def _losses(history, name):
    losses = getattr(history, "loss", history)
    losses = as_float_array(losses, name, ndim=1, finite=False)
    if losses.size == 0:
        raise ValueError(f"{name} holds no epochs")
    return losses


def loss_curve(history, *, labels=None, log=True, ax=None):
    """The training loss against the epoch.

    Parameters
    ----------
    history : History, sequence of float, or list of them
        A :class:`cyprop.History` (what ``fit`` returns), a list of losses,
        or a list of either for several runs on the same axes.
    labels : list of str, optional
        One legend entry per run.
    log : bool, default True
        Logarithmic loss axis.
    ax : matplotlib Axes, optional
        Draw here instead of in a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    runs = history if isinstance(history, (list, tuple)) and history and (
        hasattr(history[0], "loss") or np.iterable(history[0])) else [history]
    curves = [_losses(run, f"history[{i}]" if len(runs) > 1 else "history")
              for i, run in enumerate(runs)]
    if labels is not None and len(labels) != len(curves):
        raise ValueError(f"labels has {len(labels)} entries for {len(curves)} runs")
    fig, ax = _figure_and_axes(ax, (5, 3.5))
    for i, losses in enumerate(curves):
        ax.plot(np.arange(1, losses.size + 1), losses, marker="." if losses.size < 30 else None,
                label=None if labels is None else labels[i])
    if log and all(np.all(c[np.isfinite(c)] > 0) for c in curves):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("mean training loss")
    if labels is not None:
        ax.legend()
    ax.grid(True, alpha=0.3)
    return fig


def loss_surface(trajectory=None, x=None, t=None, *, wh_range=(-1.0, 4.0), bo_range=(-4.0, 4.0),
                 resolution=200, ax=None):
    """The RBF tutorial's loss over its two parameters, with a training path on it.

    Parameters
    ----------
    trajectory : array_like, shape (n_steps, 2) or (n_steps, 3), optional
        Rows ``(wh, bo[, loss])`` visited by training, drawn as white dots
        joined by a line: the third output of
        :func:`cyprop.tutorials.rbf_network.train`.
    x, t : array_like, optional
        The data; default the tutorial's,
        :func:`cyprop.tutorials.rbf_network.make_data`.
    wh_range, bo_range : (float, float)
        The parameter ranges shown.
    resolution : int, default 200
        Grid points per axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from cyprop.tutorials import rbf_network as rbf
    >>> x, t = rbf.make_data()
    >>> wh, bo, path = rbf.train(x, t, 2.3, 1.4, 2.0, 20)
    >>> fig = loss_surface(path)            # doctest: +SKIP
    """
    from .tutorials import rbf_network

    if x is None and t is None:
        x, t = rbf_network.make_data()
    elif x is None or t is None:
        raise ValueError("pass both x and t, or neither (for the tutorial's data)")
    wh_lo, wh_hi = _range(wh_range, "wh_range")
    bo_lo, bo_hi = _range(bo_range, "bo_range")
    n = as_count(resolution, "resolution", minimum=2)
    path = None
    if trajectory is not None:
        path = as_float_array(trajectory, "trajectory", ndim=2)
        if path.shape[1] not in (2, 3) or path.shape[0] == 0:
            raise ValueError(f"trajectory must have shape (n_steps, 2) or (n_steps, 3), got {path.shape}")
    wh, bo = np.meshgrid(np.linspace(wh_lo, wh_hi, n), np.linspace(bo_lo, bo_hi, n))
    loss = rbf_network.loss_surface(x, t, wh, bo)

    fig, ax = _figure_and_axes(ax, (6, 4.5))
    filled = ax.contourf(wh, bo, loss, 20, cmap="Blues_r")
    fig.colorbar(filled, ax=ax, label=r"cross-entropy loss $\xi$")
    if path is not None:
        ax.plot(path[:, 0], path[:, 1], "w-", lw=1, alpha=0.7)
        ax.plot(path[:, 0], path[:, 1], "wo", ms=4, label="training")
        ax.plot(path[-1, 0], path[-1, 1], "o", color="tab:orange", ms=6, label="final")
        ax.legend(loc="lower right", framealpha=0.7)
    ax.set_xlabel("$w_h$")
    ax.set_ylabel("$b_o$")
    ax.set_title("RBF network: loss surface" + (" and gradient descent" if path is not None else ""))
    return fig


def cost_surface(X=None, y=None, *, theta_range=(-15.0, 15.0), resolution=80, azim=160):
    """The NOT network's cost over its two weights: squared error beside cross-entropy.

    Two 3-D surfaces, as in the gradient-descent tutorial, of
    :func:`cyprop.tutorials.gradient_descent.cost_surface` with
    ``cost="mse"`` and ``cost="cross_entropy"``: the squared error has flat
    plateaus where gradient descent stalls; the cross-entropy has none.

    Parameters
    ----------
    X, y : array_like, optional
        Data of the two-weight network ``sigmoid(X @ [theta1, theta2])``;
        default the NOT gate, ``X = [[0, 1], [1, 1]]`` (first column the
        bias input), ``y = [[1], [0]]``.
    theta_range : (float, float)
        Range of both weights.
    resolution : int, default 80
        Grid points per axis.
    azim : float, default 160
        Viewing angle of both surfaces.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from .tutorials import gradient_descent

    if X is None and y is None:
        X, y = gradient_descent.NOT_X, gradient_descent.NOT_Y
    elif X is None or y is None:
        raise ValueError("pass both X and y, or neither (for the NOT gate)")
    lo, hi = _range(theta_range, "theta_range")
    n = as_count(resolution, "resolution", minimum=2)
    if not isinstance(azim, numbers.Real):
        raise TypeError(f"azim must be a number, got {azim!r}")
    t1, t2 = np.meshgrid(np.linspace(lo, hi, n), np.linspace(lo, hi, n))
    fig = _pyplot().figure(figsize=(10, 4.5), layout="constrained")
    for i, (cost, title) in enumerate((("mse", "mean squared error"),
                                       ("cross_entropy", "cross-entropy"))):
        z = gradient_descent.cost_surface(X, y, t1, t2, cost=cost)
        ax = fig.add_subplot(1, 2, i + 1, projection="3d")
        ax.plot_surface(t1, t2, z, cmap="jet", linewidth=0, antialiased=False,
                        rcount=min(n, 60), ccount=min(n, 60))
        ax.view_init(azim=azim)
        ax.set_xlabel(r"$\theta_1$")
        ax.set_ylabel(r"$\theta_2$")
        ax.set_title(f"NOT network: {title}")
    return fig


def decision_boundary(net, X, y, *, resolution=200, margin=0.5, ax=None):
    """A classifier's decision regions over a 2-D input space, with the samples.

    Parameters
    ----------
    net : cyprop.Network or scikit-learn-style classifier
        A network with 2 inputs (one sigmoid output: class 1 where it is
        >= 0.5; several outputs: the arg-max), or anything with
        ``predict_proba`` (such as :class:`cyprop.sklearn.MLPClassifier`).
    X : array_like, shape (n_samples, 2)
    y : array_like
        Class labels (n_samples,), or targets shaped like the network's
        outputs (one-hot rows, or a (n_samples, 1) column of 0/1).
    resolution : int, default 200
        Grid points per axis.
    margin : float, default 0.5
        Space around the samples, in input units.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    X = as_float_array(X, "X", ndim=2)
    if X.shape[1] != 2 or X.shape[0] == 0:
        raise ValueError(f"decision_boundary needs X of shape (n_samples, 2), got {X.shape}")
    labels = _labels(y, X.shape[0])
    n = as_count(resolution, "resolution", minimum=2)
    if not isinstance(margin, numbers.Real) or margin < 0:
        raise ValueError(f"margin must be a non-negative number, got {margin!r}")
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n))
    grid = np.column_stack([g0.ravel(), g1.ravel()])
    if hasattr(net, "predict_proba"):
        scores = np.asarray(net.predict_proba(grid), dtype=np.float64)
        class_names = list(getattr(net, "classes_", range(scores.shape[1])))
    elif hasattr(net, "layer_sizes") and hasattr(net, "predict"):
        if net.layer_sizes[0] != 2:
            raise ValueError(f"decision_boundary needs a network with 2 inputs, got {net.layer_sizes[0]}")
        scores = np.asarray(net.predict(grid), dtype=np.float64)
        class_names = list(range(max(2, scores.shape[1])))
    else:
        raise TypeError("net must be a cyprop.Network or have predict_proba, got "
                        f"{type(net).__name__}")
    labels = _label_indices(labels, np.asarray(class_names))
    if scores.shape[1] == 1:
        regions, level = (scores[:, 0] >= 0.5).astype(int), scores[:, 0]
    else:
        regions, level = np.argmax(scores, axis=1), None

    plt = _pyplot()
    fig, ax = _figure_and_axes(ax, (5, 4.5))
    k = len(class_names)
    cmap = plt.get_cmap("tab10" if k <= 10 else "tab20")
    colors = [cmap(i % cmap.N) for i in range(k)]
    from matplotlib.colors import ListedColormap

    ax.contourf(g0, g1, regions.reshape(g0.shape), levels=np.arange(k + 1) - 0.5,
                cmap=ListedColormap(colors), alpha=0.25)
    if level is not None:
        ax.contour(g0, g1, level.reshape(g0.shape), levels=[0.5], colors="k", linewidths=1)
    for c in range(k):
        mask = labels == c
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colors[c], edgecolor="k", s=30,
                       label=str(class_names[c]))
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.legend(title="class", loc="best", fontsize="small")
    return fig


def _label_indices(labels, classes):
    """Positions of ``labels`` in the sorted array ``classes``."""
    index = np.clip(np.searchsorted(classes, labels), 0, classes.size - 1)
    if not np.all(classes[index] == labels):
        raise ValueError(f"y holds labels that are not among the classifier's classes {classes.tolist()}")
    return index


def _labels(y, n_samples):
    """Integer (or original) class labels from labels, one-hot rows or a 0/1 column."""
    y = np.asarray(y)
    if y.ndim == 0 or y.shape[0] != n_samples:
        raise ValueError(f"y must have one entry per sample ({n_samples}), got shape {y.shape}")
    if y.ndim == 2:
        y = (y[:, 0] >= 0.5).astype(int) if y.shape[1] == 1 else np.argmax(y, axis=1)
    elif y.ndim != 1:
        raise ValueError(f"y must be 1-D labels or 2-D targets, got shape {y.shape}")
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        y = y.astype(int)
    return y


def sweep_heatmap(results, x, y, *, value="final_loss", reduce="mean", log=None, ax=None):
    """One cell per pair of values of two grid parameters of a :func:`cyprop.sweep`.

    Parameters
    ----------
    results : list of dict
        What :func:`cyprop.sweep` returns (or any records with those keys).
    x, y : str
        Grid parameters for the columns and the rows.
    value : str, default "final_loss"
        The record field shown: "final_loss", "accuracy", "seconds", ...
    reduce : {"mean", "median", "min", "max"}, default "mean"
        How the records sharing a cell (other grid parameters, e.g. seeds)
        are combined; diverged runs (NaN) are left out, and a cell with no
        finite value is drawn grey.
    log : bool, optional
        Logarithmic colour scale; default True for "final_loss".
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    reducers = {"mean": np.mean, "median": np.median, "min": np.min, "max": np.max}
    if reduce not in reducers:
        raise ValueError(f"reduce must be one of {sorted(reducers)}, got {reduce!r}")
    records = list(results)
    if not records:
        raise ValueError("results is empty")
    for name, key in (("x", x), ("y", y), ("value", value)):
        if not isinstance(key, str) or any(key not in r for r in records):
            raise ValueError(f"{name}={key!r} is not a field of every record; fields: "
                             f"{sorted(records[0])}")
    xs = _distinct(r[x] for r in records)
    ys = _distinct(r[y] for r in records)
    cells = {}
    for r in records:
        cells.setdefault((xs.index(r[x]), ys.index(r[y])), []).append(float(r[value]))
    grid = np.full((len(ys), len(xs)), np.nan)
    for (i, j), values in cells.items():
        finite = [v for v in values if np.isfinite(v)]
        if finite:
            grid[j, i] = reducers[reduce](finite)
    log = value == "final_loss" if log is None else log

    plt = _pyplot()
    from matplotlib.colors import LogNorm, Normalize

    fig, ax = _figure_and_axes(ax, (1.2 + 0.9 * len(xs), 1.0 + 0.6 * len(ys)))
    finite = grid[np.isfinite(grid)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    norm = (LogNorm(lo, hi) if log and finite.size and lo > 0 and hi > lo
            else Normalize(lo, hi if hi > lo else lo + 1))
    cmap = plt.get_cmap("viridis_r" if value == "final_loss" else "viridis").with_extremes(bad="0.8")
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, norm=norm, aspect="auto",
                      origin="lower")
    fig.colorbar(image, ax=ax, label=f"{value} ({reduce})")
    for j in range(len(ys)):
        for i in range(len(xs)):
            cell = grid[j, i]
            if np.isfinite(cell):
                r, g, b, _ = cmap(image.norm(cell))
                color = "k" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "w"
                ax.text(i, j, f"{cell:.3g}", ha="center", va="center", fontsize="small", color=color)
            else:
                ax.text(i, j, "diverged", ha="center", va="center", fontsize="small", color="k")
    ax.set_xticks(range(len(xs)), [f"{v:g}" if isinstance(v, float) else str(v) for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:g}" if isinstance(v, float) else str(v) for v in ys])
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return fig


def _distinct(values):
    """Distinct values in first-seen order, sorted when they are all numbers."""
    seen = []
    for v in values:
        if v not in seen:
            seen.append(v)
    if all(isinstance(v, numbers.Real) for v in seen):
        seen.sort()
    return seen
