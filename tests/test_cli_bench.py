"""``cyprop bench`` end to end: its fastest settings through the installed entry point.

Timings are printed, never asserted; the test checks that every task ran and
that the compiled results agree with the NumPy ones.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# deselected in the instrumented CI runs: test_bench_cli.py's
# test_quick_default_table runs the same table in-process
pytestmark = pytest.mark.bench_smoke

def _entry_point():
    """The ``cyprop`` console script beside this interpreter, else ``python -m cyprop``."""
    script = Path(sys.executable).with_name("cyprop" + (".exe" if os.name == "nt" else ""))
    if script.exists():
        return [str(script)]
    found = shutil.which("cyprop")
    return [found] if found else [sys.executable, "-m", "cyprop"]


def test_cyprop_bench_quick_runs_and_agrees(tmp_path):
    done = subprocess.run([*_entry_point(), "bench", "--quick", "--repeat", "1"],
                          capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = [line for line in done.stdout.splitlines() if " ok (" in line or "DIFFERS" in line]
    assert len(rows) >= 9, done.stdout
    assert not any("DIFFERS" in row for row in rows), done.stdout
    for task in ("RBF network", "gradient descent", "sigmoid neuron", "NOT network",
                 "step by step", "XOR"):
        assert any(row.startswith(task) for row in rows), (task, done.stdout)
