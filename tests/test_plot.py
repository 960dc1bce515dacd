"""cyprop.plot: every figure renders to a non-trivial PNG with the Agg backend."""

import io
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import cyprop  # noqa: E402
from cyprop import plot  # noqa: E402
from cyprop.tutorials import rbf_network  # noqa: E402
from cyprop.tutorials import xor_network  # noqa: E402

XOR_X, XOR_Y = xor_network.XOR_X, xor_network.XOR_Y  # the tutorial's truth table (read-only)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_renders(fig, min_colours=20):
    """The figure saves as a PNG with real content: many colours, not one flat fill."""
    assert isinstance(fig, Figure)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
    buffer.seek(0)
    pixels = matplotlib.image.imread(buffer, format="png")
    assert pixels.shape[0] > 100 and pixels.shape[1] > 100
    colours = np.unique(pixels.reshape(-1, pixels.shape[-1]), axis=0)
    assert len(colours) >= min_colours
    assert pixels[..., :3].std() > 0.05


def trained_xor():
    net = cyprop.Network([2, 4, 1], "tanh", "sigmoid", "cross_entropy", seed=0)
    history = net.fit(XOR_X, XOR_Y, epochs=2000, learning_rate=0.5)
    return net, history


def test_loss_curve_of_one_and_several_runs():
    _, history = trained_xor()
    assert_renders(plot.loss_curve(history))
    fig = plot.loss_curve([history, history.loss[:100]], labels=["all", "first 100"])
    assert len(fig.axes[0].get_lines()) == 2
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["all", "first 100"]
    with pytest.raises(ValueError, match="labels"):
        plot.loss_curve([history, history], labels=["one"])
    with pytest.raises(ValueError, match="no epochs"):
        plot.loss_curve([])


def test_loss_surface_with_the_tutorials_trajectory():
    x, t = rbf_network.make_data()
    _, _, path = rbf_network.train(x, t, rbf_network.START_WH, rbf_network.START_BO,
                                     rbf_network.LEARNING_RATE, rbf_network.ITERATIONS)
    fig = plot.loss_surface(path, resolution=60)
    assert_renders(fig)
    lines = fig.axes[0].get_lines()
    np.testing.assert_array_equal(lines[0].get_xdata(), path[:, 0])  # the trajectory is drawn
    assert isinstance(plot.loss_surface(resolution=40), Figure)  # the tutorial's data
    with pytest.raises(ValueError, match="trajectory"):
        plot.loss_surface(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="both x and t"):
        plot.loss_surface(x=x)
    with pytest.raises(ValueError, match="wh_range"):
        plot.loss_surface(wh_range=(2, 1))


def test_cost_surface_has_both_costs_side_by_side():
    fig = plot.cost_surface(resolution=30)
    assert_renders(fig)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["NOT network: mean squared error", "NOT network: cross-entropy"]


def test_decision_boundary_for_networks_and_estimators():
    net, _ = trained_xor()
    assert_renders(plot.decision_boundary(net, XOR_X, XOR_Y, resolution=50), min_colours=10)
    assert isinstance(plot.decision_boundary(net, XOR_X, XOR_Y.ravel().astype(int)), Figure)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)) + np.repeat([[0, 0], [3, 0], [0, 3]], 20, axis=0)
    labels = np.repeat([0, 1, 2], 20)
    softmax = cyprop.Network([2, 8, 3], "tanh", "softmax", "cross_entropy", seed=0)
    softmax.fit(X, labels, epochs=50, learning_rate=0.05)
    assert_renders(plot.decision_boundary(softmax, X, labels, resolution=50), min_colours=10)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 2\)"):
        plot.decision_boundary(net, np.zeros((4, 3)), XOR_Y)
    with pytest.raises(ValueError, match="one entry per sample"):
        plot.decision_boundary(net, XOR_X, XOR_Y[:3])
    with pytest.raises(TypeError, match="net must be"):
        plot.decision_boundary("net", XOR_X, XOR_Y)


def test_decision_boundary_with_a_scikit_learn_classifier():
    pytest.importorskip("sklearn", minversion="1.6")
    from cyprop.sklearn import MLPClassifier

    names = np.array(["no", "yes", "yes", "no"])
    clf = MLPClassifier((8,), "tanh", solver="lbfgs", random_state=1).fit(XOR_X, names)
    fig = plot.decision_boundary(clf, XOR_X, names, resolution=50)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["no", "yes"]


def test_sweep_heatmap():
    def build(point):
        return cyprop.Network([2, 3, 1], "sigmoid", "sigmoid", "cross_entropy", seed=point["seed"])

    results = cyprop.sweep(build, XOR_X, XOR_Y, {"seed": [0, 1], "learning_rate": [0.1, 1.0, 10.0],
                                                 "epochs": [100, 1000]}, mode="batch")
    fig = plot.sweep_heatmap(results, "learning_rate", "epochs")
    assert_renders(fig)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 6
    fig = plot.sweep_heatmap(results, "learning_rate", "epochs", value="accuracy", reduce="max")
    assert fig.axes[0].get_xlabel() == "learning_rate"
    # a cell whose runs all diverged is marked
    records = [dict(r) for r in results]
    for r in records:
        if r["learning_rate"] == 10.0:
            r["final_loss"] = float("nan")
    fig = plot.sweep_heatmap(records, "learning_rate", "epochs")
    assert sum(t.get_text() == "diverged" for t in fig.axes[0].texts) == 2
    with pytest.raises(ValueError, match="not a field"):
        plot.sweep_heatmap(results, "momentum", "epochs")
    with pytest.raises(ValueError, match="reduce"):
        plot.sweep_heatmap(results, "learning_rate", "epochs", reduce="sum")


def test_draws_into_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    _, history = trained_xor()
    assert plot.loss_curve(history, ax=left) is fig
    assert plot.loss_surface(resolution=20, ax=right) is fig


def test_a_clear_message_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"cyprop\[plot\]"):
        plot.loss_curve([1.0, 0.5])
