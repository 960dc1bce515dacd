"""cyprop.sweep: one training per grid point, identical on every executor."""

import multiprocessing
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

import cyprop
from cyprop._sweep import grid_points
from cyprop.tutorials import xor_network

XOR_X, XOR_Y = xor_network.XOR_X, xor_network.XOR_Y  # the tutorial's truth table (read-only)
GRID = {"seed": [0, 1, 2], "learning_rate": [0.1, 1.0], "hidden": [2, 4]}


def build_xor(point):
    return cyprop.Network([2, point.get("hidden", 3), 1], "sigmoid", "sigmoid", "cross_entropy",
                          seed=point["seed"])


def weights(results):
    return [r["network"].parameters for r in results]


def assert_same_weights(a, b):
    assert len(a) == len(b)
    for x, y in zip(weights(a), weights(b)):
        np.testing.assert_array_equal(x, y)


def test_grid_points_are_the_cartesian_product_in_order():
    points = grid_points({"a": [1, 2], "b": ("x", "y", "z")})
    assert points[:3] == [{"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 1, "b": "z"}]
    assert len(points) == 6
    assert grid_points({}) == [{}]
    assert len(grid_points({"seed": range(5)})) == 5


@pytest.mark.parametrize("grid, error, match", [
    ([1, 2], TypeError, "grid must be a dict"),
    ({"a": []}, ValueError, r"grid\['a'\] is empty"),
    ({"a": 0.1}, TypeError, r"grid\['a'\] must be a list"),
    ({"a": "abc"}, TypeError, r"grid\['a'\] must be a list"),
    ({1: [1]}, TypeError, "names must be strings"),
    ({"final_loss": [1]}, ValueError, "clashes"),
])
def test_bad_grids(grid, error, match):
    with pytest.raises(error, match=match):
        cyprop.sweep(build_xor, XOR_X, XOR_Y, grid)


def test_records_hold_the_point_and_the_results():
    results = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, epochs=500, mode="batch")
    assert isinstance(results, cyprop.SweepResults) and len(results) == 12
    assert [(r["seed"], r["learning_rate"], r["hidden"]) for r in results] == \
        [tuple(p.values()) for p in grid_points(GRID)]
    for r in results:
        assert r["epochs_run"] == 500 and not r["diverged"]
        assert r["seconds"] > 0 and np.isfinite(r["final_loss"])
        assert 0 <= r["accuracy"] <= 1
        assert r["network"].layer_sizes == (2, r["hidden"], 1)
    # the point's fit parameters reach fit: learning rate 1 learns XOR faster than 0.1
    slow = np.mean([r["final_loss"] for r in results if r["learning_rate"] == 0.1])
    fast = np.mean([r["final_loss"] for r in results if r["learning_rate"] == 1.0])
    assert fast < slow
    best = results.best()
    assert best["final_loss"] == min(r["final_loss"] for r in results)
    assert results.best("accuracy")["accuracy"] == max(r["accuracy"] for r in results)


def test_epochs_in_the_grid_and_regressors_have_no_accuracy():
    X = np.linspace(-1, 1, 20).reshape(-1, 1)

    def build(point):
        return cyprop.Network([1, 4, 1], "tanh", "identity", seed=0)

    results = cyprop.sweep(build, X, X**2, {"epochs": [1, 3]}, learning_rate=0.1)
    assert [r["epochs_run"] for r in results] == [1, 3]
    assert all("accuracy" not in r for r in results)


def test_a_diverging_point_is_recorded_not_raised():
    X = np.linspace(0, 100, 20).reshape(-1, 1)

    def build(point):
        return cyprop.Network([1, 1], "identity", "identity", seed=0)

    results = cyprop.sweep(build, X, 3 * X, {"learning_rate": [1e-5, 10.0]}, epochs=20)
    assert [r["diverged"] for r in results] == [False, True]
    assert np.isnan(results[1]["final_loss"]) and results[1]["epochs_run"] < 20
    assert np.all(np.isfinite(results[1]["network"].parameters))
    assert results.best() is results[0]


def test_fit_seed_defaults_to_the_point_index():
    # two runs from the same start, shuffled online training: the index seeds the order
    def build(point):
        return build_xor({"seed": 0})

    grid = {"run": [1, 2]}
    a = cyprop.sweep(build, XOR_X, XOR_Y, grid, epochs=3)
    assert not np.array_equal(a[0]["network"].parameters, a[1]["network"].parameters)
    again = cyprop.sweep(build, XOR_X, XOR_Y, grid, epochs=3)
    assert_same_weights(a, again)
    b = cyprop.sweep(build, XOR_X, XOR_Y, grid, epochs=3, seed=7)
    np.testing.assert_array_equal(b[0]["network"].parameters, b[1]["network"].parameters)
    # a "seed" in the grid seeds both the network (through build) and the shuffling
    c = cyprop.sweep(build_xor, XOR_X, XOR_Y, {"seed": [5, 5]}, epochs=3)
    np.testing.assert_array_equal(c[0]["network"].parameters, c[1]["network"].parameters)


def test_threads_give_bit_identical_weights():
    kwargs = dict(epochs=200, mode="online")
    with ThreadPoolExecutor(1) as one:
        serial = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, executor=one, **kwargs)
    with ThreadPoolExecutor(2) as two:
        threaded = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, executor=two, **kwargs)
    default = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, **kwargs)
    assert_same_weights(serial, threaded)
    assert_same_weights(serial, default)


@pytest.mark.skipif(sys.platform != "linux", reason="uses the fork start method")
def test_process_pool_gives_bit_identical_weights():
    kwargs = dict(epochs=200, mode="online")
    serial = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, executor=ThreadPoolExecutor(1), **kwargs)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(2, mp_context=context) as pool:
        processes = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, executor=pool, **kwargs)
    assert_same_weights(serial, processes)
    # networks that crossed a process boundary are whole: weights view the parameters
    net = processes[0]["network"]
    assert np.shares_memory(net.weights[0], net.parameters)


def test_dask_local_cluster_gives_bit_identical_weights():
    distributed = pytest.importorskip("distributed")
    kwargs = dict(epochs=200, mode="online")
    serial = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, executor=ThreadPoolExecutor(1), **kwargs)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        on_dask = cyprop.sweep(build_xor, XOR_X, XOR_Y, GRID, executor=client.get_executor(),
                               **kwargs)
    assert_same_weights(serial, on_dask)


def test_to_dataframe():
    pd = pytest.importorskip("pandas")
    results = cyprop.sweep(build_xor, XOR_X, XOR_Y, {"seed": [0, 1]}, epochs=10)
    frame = results.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 2
    assert {"seed", "final_loss", "epochs_run", "seconds", "accuracy", "diverged"} <= set(frame)
    assert "network" not in frame and "network" in results.to_dataframe(networks=True)


def test_argument_errors():
    with pytest.raises(TypeError, match="build must be a callable"):
        cyprop.sweep(None, XOR_X, XOR_Y, {"seed": [0]})
    with pytest.raises(TypeError, match="learning_rte"):
        cyprop.sweep(build_xor, XOR_X, XOR_Y, {"seed": [0]}, learning_rte=0.1)
    with pytest.raises(TypeError, match="executor must be"):
        cyprop.sweep(build_xor, XOR_X, XOR_Y, {"seed": [0]}, executor=2)
    with pytest.raises(TypeError, match="must return a cyprop.Network"):
        cyprop.sweep(lambda point: "net", XOR_X, XOR_Y, {"seed": [0]})


def test_errors_from_build_or_fit_name_the_point():
    def build(point):
        if point["seed"] == 1:
            raise RuntimeError("no network for you")
        return build_xor(point)

    with pytest.raises(RuntimeError, match="no network") as info:
        cyprop.sweep(build, XOR_X, XOR_Y, {"seed": [0, 1]})
    if hasattr(info.value, "__notes__"):
        assert "{'seed': 1}" in info.value.__notes__[0]
    with pytest.raises(ValueError, match="Y must have shape"):
        cyprop.sweep(build_xor, XOR_X, np.zeros((4, 3)), {"seed": [0]})


def test_import_cyprop_stays_light():
    code = ("import sys, cyprop; cyprop.sweep; cyprop.Network; "
            "print(sorted(m for m in ('sklearn', 'matplotlib', 'pandas', 'dask', 'distributed') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    # importing the module never shadows the function
    code = "import cyprop._sweep, cyprop; assert callable(cyprop.sweep)"
    subprocess.run([sys.executable, "-c", code], check=True)
