"""The comparison suite in bench/ must keep running: a --quick run of its two
smallest tasks with the contenders that need no extra install.

Runs ``bench/run.py --quick --tasks xor rbf`` in a subprocess (into a
temporary directory, compiling bench/c there when a C compiler exists) and
checks that every contender ran and agreed with cyprop.  Timings are
recorded, never asserted.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RUN = REPO / "bench" / "run.py"

# bench_smoke: deselected in the instrumented CI runs (the C and NumPy contenders
# are not cyprop's code; cyprop's XOR and RBF kernels run in test_tutorials.py
# and in test_bench_cli.py's quick table)
pytestmark = [pytest.mark.skipif(not RUN.exists(), reason="bench/ is not in this checkout"),
              pytest.mark.bench_smoke]


def _have_compiler():
    return shutil.which(os.environ.get("CC", "cc")) is not None


def test_bench_quick_xor_rbf(tmp_path):
    contenders = ["cyprop", "reference", "numpy-tutorial"]
    if _have_compiler():
        contenders.append("c")
    cmd = [sys.executable, str(RUN), "--quick", "--tasks", "xor", "rbf",
           "--contenders", *contenders, "--out", str(tmp_path / "results"),
           "--build-dir", str(tmp_path / "build"), "--budget", "0.05", "--max-reps", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    out = tmp_path / "results"
    files = list(out.glob("*.json"))
    assert len(files) == 1, list(out.iterdir())
    results = json.loads(files[0].read_text())
    assert (out / "latest.md").exists()

    tasks = results["tasks"]
    assert set(tasks) == {"xor", "rbf-train", "rbf-surface"}
    expected = {"cyprop", "cyprop-baseline", "reference", "numpy-tutorial"}
    if _have_compiler():
        expected |= {"c-persample-O3", "c-fused-O3", "c-persample-native", "c-fused-native"}
    for name, task in tasks.items():
        entries = task["entries"]
        for contender in expected:
            e = entries[contender]
            assert e["status"] == "ok", (name, contender, e.get("note"))
            assert e["agreement"] == "agrees", (name, contender, e)
            assert e["n"] >= 1 and e["median"] > 0
            if contender != "cyprop":
                assert e["ratio"] > 0
    # the XOR run is the tutorial's maths: every contender ends at cyprop's loss
    xor = tasks["xor"]["entries"]
    base = xor["cyprop"]["final_loss"]
    for contender in expected:
        assert xor[contender]["final_loss"] == pytest.approx(base, rel=1e-9)
