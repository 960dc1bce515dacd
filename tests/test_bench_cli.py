"""``cyprop bench``: the quick default table, a comparison with the peers
installed in the test environment (NumPy, scikit-learn), ``--json``,
``--compare``, ``--plot`` and the options' errors.

Timings are recorded, never asserted: only that every contender ran, agreed
with cyprop and that the reports hold what they promise.  The settings are
the smallest that still exercise everything (``--quick``, two repetitions,
two memory placements), so each test takes a few seconds.
"""

import json
import os

import numpy as np
import pytest

from cyprop.bench import report
from cyprop.cli import main

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS", "CYPROP_BENCH_THREADS", "XLA_FLAGS")


def _pools():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return sorted((p.get("internal_api"), p.get("num_threads")) for p in threadpool_info())


def test_quick_default_table(capsys, tmp_path):
    """The default table (--quick), with --json, --compare against an earlier
    file (here a hand-made one) and the thread settings left unchanged."""
    env_before = {k: os.environ.get(k) for k in THREAD_VARS}
    import cyprop.network  # noqa: F401  (loads the kernels, and with them the OpenMP
    #                          runtime: its pool exists before the bench, as in any session)
    pools_before = _pools()
    earlier = tmp_path / "earlier.json"
    task = "RBF network, 20 iterations"
    earlier.write_text(json.dumps({
        "meta": {"cpu": "Earlier CPU", "cyprop": "0.0.1"},
        "tasks": {task: {"entries": {"cyprop": {"status": "ok", "median": 1.0}}}}}))
    path = tmp_path / "quick.json"
    assert main(["bench", "--quick", "--json", str(path), "--compare", str(earlier)]) == 0
    out = capsys.readouterr().out
    assert "CPU:" in out and "kernels" in out
    for name in ("RBF network", "NOT network", "XOR 2-3-1"):
        assert name in out
    assert "DIFFERS" not in out
    assert out.count(" ok (") >= 9
    # the thread settings of this process are left as they were
    assert {k: os.environ.get(k) for k in THREAD_VARS} == env_before
    assert _pools() == pools_before
    # --compare: the machines and the task in common
    change = out.split("Change against the earlier run")[1]
    assert "Earlier CPU" in change and task in change
    # --json: every repetition, the CPU and the SIMD level
    results = report.load_json(path)
    assert results["meta"]["cyprop_simd"] and results["meta"]["cpu"]
    rbf = results["tasks"][task]["entries"]
    assert len(rbf["cyprop"]["wall_times"]) == rbf["cyprop"]["n"] >= 3
    assert rbf["numpy"]["agreement"] == "agrees"


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """One comparison: XOR (the tutorial) and a user-defined 8-5-3 network
    against NumPy and scikit-learn, with --json and --plot."""
    pytest.importorskip("sklearn")
    tmp = tmp_path_factory.mktemp("bench")
    json_path = tmp / "run.json"
    plot_path = tmp / "run.png"
    env_before = {k: os.environ.get(k) for k in THREAD_VARS}
    argv = ["bench", "--against", "numpy,sklearn", "--task", "xor",
            "--layers", "8,5,3", "--samples", "60", "--quick", "--repeat", "2",
            "--placements", "3", "--json", str(json_path), "--plot", str(plot_path)]
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    assert {k: os.environ.get(k) for k in THREAD_VARS} == env_before
    return {"status": status, "out": out.getvalue(), "err": err.getvalue(),
            "json": json_path, "plot": plot_path}


def test_against_numpy_sklearn(comparison):
    assert comparison["status"] == 0, comparison["out"] + comparison["err"]
    out = comparison["out"]
    assert "CPU:" in out
    assert "xor" in out and "custom-8-5-3-f64" in out
    assert "DISAGREES" not in out
    # the progress line names the contender and the task on stderr
    assert "custom-8-5-3-f64" in comparison["err"] and "sklearn" in comparison["err"]


def test_json_round_trip(comparison):
    results = report.load_json(comparison["json"])
    meta = results["meta"]
    assert meta["cpu"] and meta["cyprop_simd"] in ("baseline", "avx2", "avx512")
    assert meta["threads"] == 1 and meta["thread_env"]["OMP_NUM_THREADS"] == "1"
    assert "python_build_flags" in meta
    custom = results["tasks"]["custom-8-5-3-f64"]["entries"]
    for name in ("cyprop", "reference", "sklearn"):
        e = custom[name]
        assert e["status"] == "ok", (name, e.get("note"))
        assert e["agreement"] == "agrees", (name, e)
        assert len(e["wall_times"]) == e["n"] >= 2
        assert e["min"] <= e["median"] <= e["max"]
    # cyprop ran over the memory placements asked for, each recorded
    cy = custom["cyprop"]
    assert len({p["index"] for p in cy["placements"]}) == 3
    assert len(cy["placements"]) == cy["n"]
    # contenders that do not run a task say why
    assert custom["numpy-tutorial"]["status"] == "n/a" and custom["numpy-tutorial"]["note"]
    xor = results["tasks"]["xor"]["entries"]
    assert xor["sklearn"]["status"] == "n/a" and xor["sklearn"]["note"]
    for name in ("reference", "numpy-tutorial", "numpy-per-sample"):
        assert xor[name]["agreement"] == "agrees", (name, xor[name])
    # the JSON holds what the terminal printed, and prints again
    report.terminal_table(results, file=open(os.devnull, "w"))


def test_compare(comparison, capsys):
    old = report.load_json(comparison["json"])
    # an "earlier run" on another machine, twice as slow
    for t in old["tasks"].values():
        for e in t["entries"].values():
            if e.get("status") == "ok":
                e["median"] *= 2
    old["meta"]["cpu"] = "Some Other CPU"
    old_path = comparison["json"].with_name("old.json")
    report.write_json(old, old_path)
    new = report.load_json(comparison["json"])
    rows = report.compare_runs(old, new)
    out = capsys.readouterr().out
    assert rows >= 4
    assert "Some Other CPU" in out and " 0.5\n" in out
    # through the command line: a results file that is not one is refused
    bad = comparison["json"].with_name("bad.json")
    bad.write_text(json.dumps({"rows": []}))
    assert main(["bench", "--compare", str(bad)]) == 2
    assert "not a cyprop bench results file" in capsys.readouterr().err


def test_plot(comparison):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "plots skipped" in comparison["out"]
        return
    data = comparison["plot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


@pytest.mark.parametrize("argv, message", [
    (["--layers", "3"], "at least two layer sizes"),
    (["--layers", "4,x,2"], "separated by commas"),
    (["--against", "nonsense"], "unknown peer"),
    (["--task", "nonsense"], "unknown task"),
    (["--threads", "0"], "integer >= 1"),
    (["--plot", "figure.txt"], ".png"),
    (["--data", "x.csv"], "--data needs --layers"),
])
def test_bad_options(argv, message, capsys):
    try:
        status = main(["bench", *argv])
    except SystemExit as exc:      # argparse's own errors
        status = exc.code
    assert status == 2
    assert message in capsys.readouterr().err


def test_data_file_errors(tmp_path, capsys):
    path = tmp_path / "d.npz"
    np.savez(path, X=np.zeros((10, 3)), y=np.arange(10) % 2)
    status = main(["bench", "--layers", "4,3,2", "--data", str(path), "--against", "numpy"])
    assert status == 2
    assert "X has shape (10, 3)" in capsys.readouterr().err


def test_data_files_load(tmp_path):
    """--data: an .npz (X, y) and a .csv (label last, optional header) give
    the same task; the caller's file is the data trained on."""
    from cyprop.bench import tasks

    rng = np.random.default_rng(0)
    X = rng.random((12, 4))
    y = np.arange(12) % 3
    np.savez(tmp_path / "d.npz", X=X, y=y)
    with open(tmp_path / "d.csv", "w") as f:
        f.write("a,b,c,d,label\n")
        for row, label in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{label}\n")
    for name in ("d.npz", "d.csv"):
        task = tasks.custom_task([4, 5, 3], data=tmp_path / name, dtype="float32")
        assert task["X"].dtype == np.float32 and task["X"].shape == (12, 4)
        np.testing.assert_array_equal(task["X"], X.astype(np.float32))
        np.testing.assert_array_equal(task["labels"], y)
        np.testing.assert_array_equal(task["Y"].argmax(axis=1), y)
        assert task["output"] == "softmax" and task["n_samples"] == 12
    with pytest.raises(ValueError, match="integer class labels in \\[0, 2\\]"):
        np.savez(tmp_path / "bad.npz", X=X, y=y + 1)
        tasks.custom_task([4, 5, 3], data=tmp_path / "bad.npz")
