"""One fit, save or parameter assignment at a time per network; networks stay independent."""

import threading

import numpy as np
import pytest

from cyprop import Network

X = np.random.default_rng(0).normal(size=(64, 4))
Y = (X[:, :1] > 0).astype(float)


def _while_fitting(net, action):
    """Run ``action()`` in this thread while another thread is inside ``net.fit``."""
    inside, release = threading.Event(), threading.Event()
    errors = []

    def callback(epoch, loss, network):
        inside.set()
        release.wait(30)
        return False

    def train():
        try:
            net.fit(X, Y, epochs=5, callback=callback)
        except Exception as exc:  # noqa: BLE001 - checked below
            errors.append(exc)

    thread = threading.Thread(target=train)
    thread.start()
    try:
        assert inside.wait(30)
        return action()
    finally:
        release.set()
        thread.join(30)
        assert not errors, errors


@pytest.mark.parametrize("what", ["fit", "save", "parameters", "weights", "biases", "copy"])
def test_concurrent_use_raises(tmp_path, what):
    net = Network([4, 3, 1], seed=0)
    actions = {
        "fit": lambda: net.fit(X, Y),
        "save": lambda: net.save(tmp_path / "n.npz"),
        "parameters": lambda: setattr(net, "parameters", np.zeros(net.n_parameters)),
        "weights": lambda: net.weights.__setitem__(0, np.zeros((3, 4))),
        "biases": lambda: net.biases.__setitem__(0, np.zeros(3)),
        "copy": lambda: net.copy(),
    }
    before = net.parameters.copy()

    def attempt():
        with pytest.raises(RuntimeError, match="another thread"):
            actions[what]()
        return net.parameters.copy()

    during = _while_fitting(net, attempt)
    assert not (tmp_path / "n.npz").exists()
    assert not np.array_equal(during, np.zeros_like(during))
    assert not np.array_equal(before, net.parameters)  # the fit itself went on
    net.fit(X, Y)  # and the lock is free again


def test_callback_may_save_its_own_network(tmp_path):
    net = Network([4, 3, 1], seed=0)
    net.fit(X, Y, epochs=2, callback=lambda e, loss, n: n.save(tmp_path / f"e{e}.npz"))
    assert (tmp_path / "e2.npz").exists()


def test_different_networks_train_in_parallel_bit_identically():
    def run(seed):
        net = Network([4, 16, 1], seed=seed)
        history = net.fit(X, Y, epochs=200, seed=seed)
        return net.parameters.copy(), list(history.loss)

    sequential = [run(s) for s in range(4)]
    results = [None] * 4

    def work(s):
        results[s] = run(s)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (p1, l1), (p2, l2) in zip(sequential, results):
        assert np.array_equal(p1, p2) and l1 == l2
