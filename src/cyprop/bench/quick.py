"""``cyprop bench`` (no options): every tutorial's training loop, compiled and
in NumPy, side by side.

Dependency-free (NumPy only): the compiled kernels against cyprop's own NumPy
reference (``cyprop._reference``) and, for the XOR network, against a loop in
the tutorial's own per-sample NumPy style.  Each row checks that the two
agree, then reports median times and the speed-up.  The full comparison
against C, numba, PyTorch, JAX, FANN and scikit-learn lives in the
repository's ``bench/`` folder.
"""

import platform
import statistics
import time

import numpy as np

from .. import __version__
from .._kernels import simd
from .._reference import gradient_descent as ref_gd
from .._reference import rbf_network as ref_rbf
from .._reference import step_by_step as ref_step
from .._reference import xor_network as ref_xor
from ..tutorials import gradient_descent, rbf_network, step_by_step, xor_network

XOR_X, XOR_Y = xor_network.XOR_X, xor_network.XOR_Y


def xor_tutorial_style(X, y, theta1, theta2, alpha=0.1, epochs=10000):
    """XOR training written the way the tutorial writes it: per-sample NumPy.

    Row vectors, the bias appended by concatenation, gradients summed over
    the samples and applied once per epoch.  Updates the thetas in place.
    """
    m = X.shape[0]
    num_hid = theta1.shape[1]
    for _ in range(epochs):
        grad1 = np.zeros_like(theta1)
        grad2 = np.zeros_like(theta2)
        for i in range(m):
            # forward pass
            a1 = np.concatenate((X[i:i + 1, :], np.ones((1, 1))), axis=1)
            z2 = a1.dot(theta1)
            a2 = np.concatenate((1.0 / (1.0 + np.exp(-z2)), np.ones((1, 1))), axis=1)
            z3 = a2.dot(theta2)
            a3 = 1.0 / (1.0 + np.exp(-z3))
            # backward pass
            delta3 = a3 - y[i:i + 1, :]
            delta2 = (theta2.dot(delta3.T)) * (a2 * (1 - a2)).T
            grad1 += (delta2[:num_hid, :].dot(a1)).T
            grad2 += (delta3.dot(a2)).T
        theta1 += -1 * (1 / m) * (alpha * grad1)
        theta2 += -1 * (1 / m) * (alpha * grad2)
    return theta1, theta2


def _times(fn, min_total=0.2, max_runs=50):
    """Call ``fn`` at least 3 times (or until ``min_total`` s, capped); every time in seconds."""
    times = []
    started = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - started < min_total and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _max_rel_diff(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)))


def _xor_task(epochs):
    theta1, theta2 = xor_network.init_weights(seed=0)

    def compiled():
        t1, t2 = theta1.copy(), theta2.copy()
        return np.concatenate(xor_network.train(XOR_X, XOR_Y, t1, t2, 0.1, epochs), axis=None)

    def reference():
        t1, t2 = theta1.copy(), theta2.copy()
        return np.concatenate(ref_xor.train(XOR_X, XOR_Y, t1, t2, 0.1, epochs), axis=None)

    def tutorial():
        t1, t2 = theta1.copy(), theta2.copy()
        return np.concatenate(xor_tutorial_style(XOR_X, XOR_Y, t1, t2, 0.1, epochs), axis=None)

    return [(f"XOR 2-3-1, {epochs} epochs (reference)", reference, compiled),
            (f"XOR 2-3-1, {epochs} epochs (tutorial-style)", tutorial, compiled)]


def _tasks(quick):
    x, t = rbf_network.make_data()
    grid = np.meshgrid(np.linspace(-1, 4, 200), np.linspace(-4, 4, 200))
    gd, sbs = gradient_descent, step_by_step  # the tutorials' demo inputs
    X1, y1, w1 = gd.NEURON_X, gd.NEURON_Y, gd.NEURON_WEIGHTS
    Xnot, ynot, wnot = gd.NOT_X, gd.NOT_Y, gd.NOT_WEIGHTS
    step_args = (sbs.INPUTS, sbs.ACTUAL, sbs.WEIGHTS_HIDDEN, sbs.WEIGHTS_OUT, sbs.LEARNING_RATE)
    rbf_args = (rbf_network.START_WH, rbf_network.START_BO, rbf_network.LEARNING_RATE, 20)
    steps = 200 if quick else 1000
    tasks = [
        ("RBF network, 20 iterations",
         lambda: ref_rbf.train(x, t, *rbf_args)[2],
         lambda: rbf_network.train(x, t, *rbf_args)[2]),
        ("RBF loss surface, 200x200",
         lambda: ref_rbf.loss_surface(x, t, *grid),
         lambda: rbf_network.loss_surface(x, t, *grid)),
        ("gradient descent on f(x)",
         lambda: ref_gd.descend()[0],
         lambda: gradient_descent.descend()[0]),
        ("sigmoid neuron, 2000 epochs",
         lambda: ref_gd.train(X1, y1, w1, 0.5, 2000),
         lambda: gradient_descent.train(X1, y1, w1, 0.5, 2000)),
        ("NOT network, 12000 epochs",
         lambda: ref_gd.train(Xnot, ynot, wnot, 0.05, 12000),
         lambda: gradient_descent.train(Xnot, ynot, wnot, 0.05, 12000)),
        (f"step by step (prose), {steps} steps",
         lambda: np.concatenate(ref_step.train(*step_args, steps, "prose"), axis=None),
         lambda: np.concatenate(step_by_step.train(*step_args, steps, "prose"), axis=None)),
        (f"step by step (code), {steps} steps",
         lambda: np.concatenate(ref_step.train(*step_args, steps, "code"), axis=None),
         lambda: np.concatenate(step_by_step.train(*step_args, steps, "code"), axis=None)),
    ]
    return tasks + _xor_task(1000 if quick else 10000)


def run(quick=False, file=None, threads=1):
    """Run every task, print the table, and return its rows as dicts.

    Each row: task, numpy_s, cyprop_s (medians), numpy_times, cyprop_times
    (every repetition), speedup, max_rel_diff, agree (agreement means a
    relative difference below 1e-9).  NumPy's BLAS pools are limited to
    ``threads`` for the run (with threadpoolctl, when installed) and
    restored afterwards.
    """
    from .runner import cpu_model

    print(f"cyprop {__version__} ({simd} kernels), NumPy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}", file=file)
    print(f"CPU: {cpu_model()}", file=file)
    print("Median wall time of each training loop (min-max of the repetitions); "
          "speed-up = NumPy time / cyprop time.\n", file=file)
    header = (f"{'task':44} {'NumPy':>10} {'cyprop':>10} {'cyprop min-max':>19} "
              f"{'speed-up':>9}  agreement")
    print(header, file=file)
    print("-" * len(header), file=file)
    rows = []
    with _thread_limits(threads):
        for name, numpy_fn, cyprop_fn in _tasks(quick):
            diff = _max_rel_diff(numpy_fn(), cyprop_fn())
            slow = name.startswith("XOR") or name.startswith("NOT")
            numpy_t = _times(numpy_fn, min_total=0.0 if slow else 0.2, max_runs=3 if slow else 50)
            cyprop_t = _times(cyprop_fn)
            numpy_s, cyprop_s = statistics.median(numpy_t), statistics.median(cyprop_t)
            row = dict(task=name, numpy_s=numpy_s, cyprop_s=cyprop_s, numpy_times=numpy_t,
                       cyprop_times=cyprop_t, speedup=numpy_s / cyprop_s,
                       max_rel_diff=diff, agree=diff < 1e-9)
            rows.append(row)
            spread = f"{_fmt(min(cyprop_t))}-{_fmt(max(cyprop_t))}"
            print(f"{name:44} {_fmt(numpy_s):>10} {_fmt(cyprop_s):>10} {spread:>19} "
                  f"{row['speedup']:>8.0f}x  "
                  f"{'ok' if row['agree'] else 'DIFFERS'} ({diff:.1e})", file=file)
    return rows


class _thread_limits:
    """threadpoolctl's limits for a ``with`` block (restored on exit), or nothing."""

    def __init__(self, threads):
        self.threads = threads
        self.ctx = None

    def __enter__(self):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            return self
        self.ctx = threadpool_limits(limits=int(self.threads))
        return self

    def __exit__(self, *exc):
        if self.ctx is not None:
            self.ctx.restore_original_limits()
        return False


def as_results(rows, quick=False, threads=1):
    """The rows of :func:`run` in the results format of the comparison (for
    ``--json``, ``--compare`` and ``--plot``)."""
    from .harness import summarize
    from .runner import machine_meta

    meta = machine_meta()
    meta.update({"quick": bool(quick), "threads": int(threads), "kind": "tutorials",
                 "clock": "wall"})
    tasks = {}
    for row in rows:
        cy = summarize(row["cyprop_times"])
        npy = summarize(row["numpy_times"])
        agree = "agrees" if row["agree"] else "DIFFERS"
        entries = {
            "cyprop": dict(cy, label="cyprop (compiled)", status="ok", agreement="agrees",
                           wall_times=row["cyprop_times"], ratio=1.0),
            "numpy": dict(npy, label="NumPy (cyprop._reference or tutorial style)",
                          status="ok", agreement=agree, max_rel_diff=row["max_rel_diff"],
                          wall_times=row["numpy_times"], ratio=npy["median"] / cy["median"]),
        }
        tasks[row["task"]] = {"name": row["task"], "group": "tutorials",
                              "description": row["task"], "entries": entries}
    return {"meta": meta, "tasks": tasks, "notes": []}


def _fmt(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"
