"""cyprop.Network gradients against PyTorch autograd (a second, independent oracle).

Skipped when torch is not installed.  Everything runs in float64; the loss is
written in torch from its definition and differentiated by autograd, so this
checks the engine's hand-written backward pass without going through
cyprop._reference at all.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cyprop

torch = pytest.importorskip("torch")

from _common import HIDDEN, OUTPUT_LOSS, assert_close, examples  # noqa: E402


def torch_activation(name, z):
    if name == "identity":
        return z
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "relu":
        return torch.relu(z)
    if name == "leaky_relu":
        return torch.nn.functional.leaky_relu(z, negative_slope=0.01)
    if name == "rbf":
        return torch.exp(-z * z)
    if name == "softmax":
        return torch.softmax(z, dim=1)
    raise ValueError(name)


def torch_mean_loss(weights, biases, X, T, hidden, output, loss):
    a = X
    for l, (W, b) in enumerate(zip(weights, biases)):
        z = a @ W.T + b
        a = torch_activation(output if l == len(weights) - 1 else hidden, z)
    if loss == "squared_error":
        per_sample = 0.5 * ((a - T) ** 2).sum(dim=1)
    elif output == "softmax":
        per_sample = -(T * torch.log_softmax(z, dim=1)).sum(dim=1)
    else:
        # binary cross-entropy per output unit, summed over the units
        per_sample = torch.nn.functional.binary_cross_entropy_with_logits(
            z, T, reduction="none").sum(dim=1)
    return per_sample.mean()


def torch_gradients(net, X, T, bias=True):
    weights = [torch.tensor(np.array(w), dtype=torch.float64, requires_grad=True)
               for w in net.weights]
    biases = [torch.tensor(np.array(b), dtype=torch.float64, requires_grad=bias)
              for b in net.biases]
    value = torch_mean_loss(weights, biases, torch.tensor(X), torch.tensor(T),
                            net.hidden_activation, net.output_activation, net.loss_name)
    value.backward()
    grads = [(w.grad.numpy(), b.grad.numpy() if bias else None)
             for w, b in zip(weights, biases)]
    return float(value.detach()), grads


@settings(max_examples=examples(40))
@given(seed=st.integers(0, 2**32 - 1), combo=st.sampled_from(OUTPUT_LOSS),
       hidden=st.sampled_from(HIDDEN), n_layers=st.integers(1, 3), n=st.integers(1, 8),
       widths=st.lists(st.integers(1, 6), min_size=4, max_size=4))
def test_gradients_match_torch_autograd(seed, combo, hidden, n_layers, n, widths):
    output, loss = combo
    sizes = widths[:n_layers + 1]
    if output == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    rng = np.random.default_rng(seed)
    net = cyprop.Network(sizes, hidden, output, loss, seed=seed)
    for b in net.biases:
        b[...] = rng.normal(scale=0.5, size=b.shape)
    X = rng.normal(size=(n, sizes[0]))
    if output == "softmax":
        T = np.eye(sizes[-1])[rng.integers(0, sizes[-1], size=n)]
    elif loss == "cross_entropy" or output in ("sigmoid", "rbf"):
        T = rng.random((n, sizes[-1]))
    else:
        T = rng.normal(size=(n, sizes[-1]))
    expected_loss, expected = torch_gradients(net, X, T)
    assert net.loss(X, T) == pytest.approx(expected_loss, rel=1e-12, abs=1e-300)
    for (dW, db), (eW, eb) in zip(net.gradients(X, T), expected):
        assert_close(dW, eW, 1e-10)
        assert_close(db, eb, 1e-10)


def test_digit_sized_network_matches_torch():
    rng = np.random.default_rng(1)
    net = cyprop.Network([64, 32, 10], "sigmoid", "softmax", "cross_entropy", seed=0)
    X = rng.random((50, 64))
    labels = rng.integers(0, 10, size=50)
    T = np.eye(10)[labels]
    expected_loss, expected = torch_gradients(net, X, T)
    assert net.loss(X, labels) == pytest.approx(expected_loss, rel=1e-12)
    for (dW, db), (eW, eb) in zip(net.gradients(X, labels), expected):
        assert_close(dW, eW, 1e-10)
        assert_close(db, eb, 1e-10)


def test_bias_free_network_matches_torch():
    rng = np.random.default_rng(2)
    net = cyprop.Network([3, 5, 4, 2], "tanh", "sigmoid", "cross_entropy", seed=0, bias=False)
    X = rng.normal(size=(9, 3))
    T = (rng.random((9, 2)) > 0.5).astype(float)
    expected_loss, expected = torch_gradients(net, X, T, bias=False)
    assert net.loss(X, T) == pytest.approx(expected_loss, rel=1e-12)
    for (dW, _), (eW, _) in zip(net.gradients(X, T), expected):
        assert_close(dW, eW, 1e-10)


def test_one_online_step_matches_torch_sgd():
    # one sample, plain SGD: w <- w - eta * dL/dw, with the gradient from autograd
    rng = np.random.default_rng(3)
    net = cyprop.Network([4, 6, 3], "relu", "softmax", "cross_entropy", seed=5)
    X = rng.normal(size=(1, 4))
    T = np.eye(3)[[1]]
    _, grads = torch_gradients(net, X, T)
    expected = [w - 0.3 * g for w, (g, _) in zip(net.weights, grads)]
    expected += [b - 0.3 * g for b, (_, g) in zip(net.biases, grads)]
    net.fit(X, T, epochs=1, learning_rate=0.3, mode="online")
    for mine, theirs in zip(list(net.weights) + list(net.biases), expected):
        assert_close(mine, theirs, 1e-13)
