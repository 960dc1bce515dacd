"""Which kernel build cyprop._kernels picks, with the CPU's features faked.

The machine running the tests may lack AVX2 or AVX-512, so select() is
given the CPU's levels and a loader that hands out stand-ins: the logic is
tested for every CPU, and no build is ever imported on a CPU that cannot
run it.
"""

import os
import subprocess
import sys

import pytest

from cyprop import _kernels

ALL = {"baseline", "avx2", "avx512"}


def fake_loader(built=("baseline", "avx2", "avx512")):
    def load(level):
        return (f"network_{level}", f"tutorial_{level}") if level in built else None
    return load


@pytest.mark.parametrize("levels, expected", [
    (ALL, "avx512"),
    ({"baseline", "avx2"}, "avx2"),
    ({"baseline"}, "baseline"),
])
def test_auto_takes_the_best_level_the_cpu_runs(levels, expected):
    net, tut, simd = _kernels.select("auto", levels, fake_loader())
    assert (net, tut, simd) == (f"network_{expected}", f"tutorial_{expected}", expected)


def test_auto_falls_back_when_a_build_is_missing():
    assert _kernels.select("auto", ALL, fake_loader(("baseline", "avx2")))[2] == "avx2"
    assert _kernels.select("auto", ALL, fake_loader(("baseline",)))[2] == "baseline"


@pytest.mark.parametrize("choice", ["baseline", "avx2", "avx512", " AVX512 "])
def test_a_named_level_is_taken_when_available(choice):
    assert _kernels.select(choice, ALL, fake_loader())[2] == choice.strip().lower()


def test_baseline_is_taken_even_on_an_avx512_cpu():
    assert _kernels.select("baseline", ALL, fake_loader())[2] == "baseline"


@pytest.mark.parametrize("levels, choice, message", [
    ({"baseline", "avx2"}, "avx512", "lacks AVX-512"),
    ({"baseline"}, "avx2", "lacks AVX2"),
    ({"baseline"}, "avx512", "lacks AVX-512"),
])
def test_insisting_on_a_level_the_cpu_lacks_is_an_error(levels, choice, message):
    with pytest.raises(RuntimeError, match=message):
        _kernels.select(choice, levels, fake_loader())


def test_insisting_on_a_level_the_build_lacks_is_an_error():
    with pytest.raises(RuntimeError, match="this build has no avx512 kernels"):
        _kernels.select("avx512", ALL, fake_loader(("baseline", "avx2")))


def test_an_unknown_choice_is_an_error():
    with pytest.raises(ValueError, match="CYPROP_SIMD must be"):
        _kernels.select("sse9", ALL, fake_loader())


def test_cpu_levels_agree_with_the_cpu_flags():
    levels = _kernels.cpu_levels()
    assert "baseline" in levels
    assert ("avx2" in levels) == _kernels.network_base.cpu_has_avx2_fma()
    assert ("avx512" in levels) == _kernels.network_base.cpu_has_avx512()
    if "avx512" in levels:
        # the OS saves the xmm, ymm, opmask and zmm state
        assert _kernels.network_base.xcr0() & 0xE6 == 0xE6
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read().split()
    except OSError:
        return
    if "avx512f" not in flags:
        assert "avx512" not in levels
    if "avx2" in flags and "fma" in flags:
        assert "avx2" in levels


def test_environment_variable_picks_the_build():
    code = "import cyprop._kernels as k; print(k.simd, k.kernels.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=dict(os.environ, CYPROP_SIMD="baseline"), check=True).stdout.split()
    assert out == ["baseline", "cyprop._kernels.network_base"]
    if "avx512" not in _kernels.cpu_levels():
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=dict(os.environ, CYPROP_SIMD="avx512"))
        assert run.returncode != 0 and "CYPROP_SIMD=avx512 but" in run.stderr
