"""Batch kernels: samples side by side in lane blocks, summed as blocks of 8.

The batch and mini-batch modes add the gradients of 8 samples at a time (one
per SIMD lane; an 8-lane tree per weight).  The AVX-512 build runs float32
batches 16 samples at a time, one vector of floats, and must still sum them
as two blocks of 8, one after the other.  ``gradients`` runs blocks of 8
only, so one batch-mode step of plain SGD must equal the step built from its
summed gradient bit for bit, whatever block width the training loop took.
"""

import numpy as np
import pytest

import cyprop
from cyprop._kernels import kernels as K

from _networks import make_problem


def _summed_gradient(net, X, Y, sample_weight=None):
    grad = np.zeros_like(net.parameters)
    Xc = np.ascontiguousarray(X, net.dtype)
    Yc = np.ascontiguousarray(Y, net.dtype)
    sw = None if sample_weight is None else np.ascontiguousarray(sample_weight, net.dtype)
    mean_loss = K.gradients(net.parameters, grad, net._workspace(), *net._layout_args(),
                            net._loss_code, net.bias, Xc, Yc, sw)
    return grad, mean_loss


@pytest.mark.parametrize("n", [9, 16, 23, 37, 64])
@pytest.mark.parametrize("output, loss", [("softmax", "cross_entropy"),
                                          ("sigmoid", "cross_entropy"),
                                          ("tanh", "squared_error")])
@pytest.mark.parametrize("weighted", [False, True])
def test_a_batch_step_is_its_summed_gradients_step(n, output, loss, weighted):
    sizes = [13, 20, 3]
    net, X, Y = make_problem(n, sizes, "rbf", output, loss, n, "float32")
    Y = np.asarray(Y, np.float64)
    w = np.random.default_rng(n).uniform(0.5, 2.0, n) if weighted else None
    G, mean_loss = _summed_gradient(net, X, Y, w)
    eta = 0.05
    scale = 1.0 / (np.sum(w.astype(np.float32), dtype=np.float64) if weighted else n)
    expected = net.parameters - (scale * (eta * G.astype(np.float64))).astype(np.float32)
    history = net.fit(X, Y, epochs=1, learning_rate=eta, mode="batch", shuffle=False,
                      n_threads=1, sample_weight=w)
    np.testing.assert_array_equal(net.parameters, expected)
    if not weighted:
        assert history.loss[0] == mean_loss
