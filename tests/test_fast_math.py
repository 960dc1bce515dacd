"""The kernels' own branch-free exp and log (csrc/cyprop_simd.h) against a
correctly rounded reference.

They replace libm in the vectorised activation and loss-surface loops, so
they must stay within a couple of ulp everywhere and get the special values
(0, inf, NaN, underflow, overflow, subnormals) exactly right.  The reference
is computed one precision up (long double where it is wider than double,
else Python's libm one value at a time; float64 for float32) and rounded
once: numpy's own float64 exp and log are not a reference on every CPU
(NumPy 1.23's AVX-512 versions are up to 2 ulp off themselves, which
failed this test on a Zen 5 machine).
"""

import math


import numpy as np
import pytest

from cyprop import _kernels

LEVELS = ["baseline", "avx2", "avx512"]


@pytest.fixture(params=LEVELS)
def module(request):
    """The network kernels of one build; a skip, with the reason, where the
    CPU cannot run it or the install lacks it (CYPROP_SIMD_TARGETS)."""
    level = request.param
    if level not in _kernels.cpu_levels():
        pytest.skip(f"this CPU cannot run the {level} build")
    modules = _kernels._load(level)
    if modules is None:
        pytest.skip(f"the {level} build is not installed (built with CYPROP_SIMD_TARGETS)")
    return modules[0]


def _reference(name, x):
    """exp or log of x, rounded once to x's dtype (see the module docstring)."""
    with np.errstate(all="ignore"):
        if x.dtype == np.float32:
            return getattr(np, name)(x.astype(np.float64)).astype(np.float32)
        if np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant:
            return getattr(np, name)(x.astype(np.longdouble)).astype(np.float64)
    f = getattr(math, name)

    def one(v):
        try:
            return f(v)
        except OverflowError:
            return math.inf
        except ValueError:   # log of a negative number, or of 0
            return -math.inf if v == 0 else math.nan
    return np.array([one(float(v)) for v in x], dtype=np.float64)


def test_reference_is_correctly_rounded_where_it_can_be_checked():
    x = np.array([0.5, 1.0, 2.0, 10.0, 1e-300, 1e300])
    assert np.array_equal(_reference("log", x), [math.log(v) for v in x])
    y = np.array([-700.0, -1.0, 0.0, 1e-8, 1.0, 700.0])
    assert np.array_equal(_reference("exp", y), [math.exp(v) for v in y])
    assert np.array_equal(_reference("log", np.array([0.0, -0.0, -1.0, np.inf, np.nan])),
                          [-np.inf, -np.inf, np.nan, np.inf, np.nan], equal_nan=True)


def ulp_error(got, want):
    finite = np.isfinite(want) & (want != 0)
    return np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]).astype(want.dtype))


def special_mismatch(got, want):
    other = ~(np.isfinite(want) & (want != 0))
    return not np.array_equal(got[other], want[other], equal_nan=True)


def test_log_is_within_two_ulp_and_exact_on_special_values(module):
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.uniform(0, 1, 200_000), rng.uniform(0.9, 1.1, 200_000),
        np.exp(rng.uniform(-744, 709, 200_000)),           # the whole normal range
        rng.uniform(0.70, 0.72, 50_000), rng.uniform(1.40, 1.43, 50_000),  # around sqrt(2)
        [0.0, -0.0, -1.0, -np.inf, np.inf, np.nan, 5e-324, 1e-310, 1.0, 2.0, 0.5,
         np.nextafter(1, 0), np.nextafter(1, 2), np.finfo(float).max, np.finfo(float).tiny],
    ])
    got = np.empty_like(x)
    module.fast_log(x, got)
    want = _reference("log", x)
    assert ulp_error(got, want).max() <= 2.0
    assert not special_mismatch(got, want)
    assert got[np.flatnonzero(x == 1.0)[0]] == 0.0


@pytest.mark.parametrize("dtype, max_ulp", [(np.float64, 2.0), (np.float32, 3.0)])
def test_exp_is_within_a_few_ulp_and_exact_on_special_values(module, dtype, max_ulp):
    rng = np.random.default_rng(2)
    info = np.finfo(dtype)
    top, bottom = np.log(info.max), np.log(info.smallest_subnormal)
    x = np.concatenate([
        rng.uniform(bottom - 2, top + 2, 200_000), rng.uniform(-5, 5, 200_000),
        [0.0, -0.0, np.inf, -np.inf, np.nan, top, bottom, 1e-30, -1e-30],
    ]).astype(dtype)
    got = np.empty_like(x)
    module.fast_exp(x, got)
    want = _reference("exp", x)
    normal = np.abs(want) >= info.tiny                     # subnormal results: checked below
    assert ulp_error(got[normal], want[normal]).max() <= max_ulp
    assert not special_mismatch(got[normal | ~np.isfinite(want)], want[normal | ~np.isfinite(want)])
    # results in the subnormal range stay within one subnormal step of numpy's
    small = ~normal & np.isfinite(want)
    assert np.all(np.abs(got[small] - want[small]) <= 2 * info.smallest_subnormal)
