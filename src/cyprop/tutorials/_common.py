"""Pure-NumPy helpers the tutorial modules share (no kernels here).

The NumPy reference (:mod:`cyprop._reference`) keeps its own copies on
purpose: it is the independent oracle the compiled tutorials are tested
against.
"""

import numpy as np


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``, elementwise."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def constant(values):
    """A read-only float64 array: a tutorial's demo input, safe to share."""
    array = np.array(values, dtype=np.float64)
    array.setflags(write=False)
    return array
