#!/usr/bin/env bash
# CI stage: build the extensions with AddressSanitizer + UndefinedBehaviorSanitizer
# and run the test suite under them; any sanitizer report fails the stage.
#
# usage: .ci/sanitizers.sh WORKDIR [PYTHON]
# CPython itself is not instrumented, so libasan (and libubsan) are preloaded;
# detect_leaks=0 because CPython's interned objects look like leaks at exit.
# Compiled at -O1 (CYPROP_OPT_LEVEL; -O3 with ASan took 3x longer to build)
# with line tables (-g1) for the reports; with CYPROP_SIMD_TARGETS set (as
# .ci/run does: baseline and the build this CPU runs) only those builds.
# The tests marked bench_smoke (subprocess runs of the benchmark scripts) are
# deselected: the cyprop kernels they call run in other tests (pyproject.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${1:?usage: .ci/sanitizers.sh WORKDIR [PYTHON]}
PY=${2:-python3}
VENV=$WORK/venv-asan
LOG=$WORK/asan
mkdir -p "$LOG"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "setuptools>=77" "Cython>=3.1" numpy wheel
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# a copy of the tree, so no build folder or generated .c lands in the checkout
SRC=$WORK/src-asan
rm -rf "$SRC"; mkdir -p "$SRC"
git ls-files -z | xargs -0 cp --parents -t "$SRC"
CYPROP_OPT_LEVEL=1 CFLAGS="$SAN -g1" LDFLAGS="$SAN" "$VENV/bin/python" -m pip install --quiet \
    --no-build-isolation "$SRC[test]"
CC=${CC:-gcc}
PRELOAD="$($CC -print-file-name=libasan.so):$($CC -print-file-name=libubsan.so)"
for lib in ${PRELOAD//:/ }; do
    [ -e "$lib" ] || { echo "sanitizers: $lib not found" >&2; exit 1; }
done
cd "$SRC"  # (pytest imports the installed package: see tests/conftest.py)
LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 "$VENV/bin/python" "$SRC/.ci/check_targets.py"
# halt_on_error: the first report ends the run with a non-zero status; the
# reports also go to log files, and any log file fails the stage.
LD_PRELOAD="$PRELOAD" \
ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=0:exitcode=99:log_path=$LOG/asan" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=98:log_path=$LOG/ubsan" \
    "$VENV/bin/python" -m pytest -q -p no:cacheprovider tests --ignore=tests/test_torch_oracle.py \
    -m "not bench_smoke"
if compgen -G "$LOG/*" >/dev/null; then
    echo "sanitizers: reports found:" >&2
    cat "$LOG"/* >&2
    exit 1
fi
echo "sanitizers: no reports"
