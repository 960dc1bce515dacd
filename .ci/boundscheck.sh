#!/usr/bin/env bash
# CI stage: build with CYPROP_BOUNDSCHECK=1 (Cython bounds and wraparound checks
# on) and run the tests that drive the kernels: an out-of-bounds index is an
# IndexError there instead of a silent read.
#
# usage: .ci/boundscheck.sh WORKDIR [PYTHON]
# Compiled at -O1 (CYPROP_OPT_LEVEL: the checks, not the speed, matter here),
# without debug information (CFLAGS=-g0);
# with CYPROP_SIMD_TARGETS set (as .ci/run does: baseline and the build this
# CPU runs) only those builds.
# The tests marked bench_smoke (subprocess runs of the benchmark scripts) are
# deselected: the cyprop kernels they call run in other tests (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:?usage: .ci/boundscheck.sh WORKDIR [PYTHON]}
PY=${2:-python3}
VENV=$WORK/venv-boundscheck
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "setuptools>=77" "Cython>=3.1" numpy wheel
SRC=$WORK/src-boundscheck
rm -rf "$SRC"; mkdir -p "$SRC"
git ls-files -z | xargs -0 cp --parents -t "$SRC"
CYPROP_BOUNDSCHECK=1 CYPROP_OPT_LEVEL=1 CFLAGS=-g0 "$VENV/bin/python" -m pip install --quiet \
    --no-build-isolation "$SRC[test]"
cd "$SRC"  # (pytest imports the installed package: see tests/conftest.py)
"$VENV/bin/python" "$SRC/.ci/check_targets.py"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider tests --ignore=tests/test_torch_oracle.py \
    -m "not bench_smoke"
