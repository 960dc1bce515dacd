"""``cyprop bench``: every tutorial's training loop, compiled and in NumPy, side by side.

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

from . import __version__
from ._kernels import simd
from ._reference import gradient_descent as ref_gd
from ._reference import rbf_network as ref_rbf
from ._reference import step_by_step as ref_step
from ._reference import xor_network as ref_xor
from .tutorials import gradient_descent, rbf_network, step_by_step, xor_network

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([[0.0], [1.0], [1.0], [0.0]])


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


def _median_time(fn, min_total=0.2, max_runs=50):
    """Call ``fn`` at least 3 times (or until ``min_total`` s, capped); median seconds."""
    times = []
    started = time.perf_counter()
    while len(times) < 3 or (time.perf_counter() - started < min_total and len(times) < max_runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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
    X1 = np.array([[0.1], [0.25], [0.5], [0.75], [1.0]])
    y1 = np.zeros((5, 1))
    Xnot = np.array([[0.0, 1.0], [1.0, 1.0]])
    ynot = np.array([[1.0], [0.0]])
    wnot = np.array([[-0.14935895], [7.10444213]])
    step_args = ([2.0, 3.0], 1.0, [[0.15, 0.10], [0.20, 0.05]], [[0.16], [0.20]], 0.05)
    steps = 200 if quick else 1000
    tasks = [
        ("RBF network, 20 iterations",
         lambda: ref_rbf.train(x, t, 2.3, 1.4, 2.0, 20)[2],
         lambda: rbf_network.train(x, t, 2.3, 1.4, 2.0, 20)[2]),
        ("RBF loss surface, 200x200",
         lambda: ref_rbf.loss_surface(x, t, *grid),
         lambda: rbf_network.loss_surface(x, t, *grid)),
        ("gradient descent on f(x)",
         lambda: ref_gd.descend()[0],
         lambda: gradient_descent.descend()[0]),
        ("sigmoid neuron, 2000 epochs",
         lambda: ref_gd.train(X1, y1, [[5.0]], 0.5, 2000),
         lambda: gradient_descent.train(X1, y1, [[5.0]], 0.5, 2000)),
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


def run(quick=False, file=None):
    """Run every task, print the table, and return its rows as dicts.

    Each row: task, numpy_s, cyprop_s, speedup, max_rel_diff, agree
    (agreement means a relative difference below 1e-9).
    """
    print(f"cyprop {__version__} ({simd} kernels), NumPy {np.__version__}, "
          f"Python {platform.python_version()}, {platform.machine()}", file=file)
    print("Median wall time of each training loop; speed-up = NumPy time / cyprop time.\n", file=file)
    header = f"{'task':44} {'NumPy':>10} {'cyprop':>10} {'speed-up':>9}  agreement"
    print(header, file=file)
    print("-" * len(header), file=file)
    rows = []
    for name, numpy_fn, cyprop_fn in _tasks(quick):
        diff = _max_rel_diff(numpy_fn(), cyprop_fn())
        slow = name.startswith("XOR") or name.startswith("NOT")
        numpy_s = _median_time(numpy_fn, min_total=0.0 if slow else 0.2, max_runs=3 if slow else 50)
        cyprop_s = _median_time(cyprop_fn)
        row = dict(task=name, numpy_s=numpy_s, cyprop_s=cyprop_s, speedup=numpy_s / cyprop_s,
                   max_rel_diff=diff, agree=diff < 1e-9)
        rows.append(row)
        print(f"{name:44} {_fmt(numpy_s):>10} {_fmt(cyprop_s):>10} {row['speedup']:>8.0f}x  "
              f"{'ok' if row['agree'] else 'DIFFERS'} ({diff:.1e})", file=file)
    return rows


def _fmt(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} us"
