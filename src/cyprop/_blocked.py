"""The online schedule of :meth:`cyprop.Network.fit`: sequential or blocked.

Both schedules run per-sample (online) SGD along the same trajectory.
"sequential" updates every weight after every sample.  "blocked" handles the
first layer ``block_size`` samples at a time with matrix products (BLAS-3):
``P = X_block W0^T``, the block's Gram matrix, and one rank-k update of ``W0``
per block, which is exact SGD in exact arithmetic and differs from
"sequential" only in the order of floating-point sums (the algebra is in
:mod:`cyprop._reference.blocked`).  It pays where the first layer is wide
(e.g. 784-128-10), where one pass over ``W0`` per sample bounds the
sequential kernel.

The AVX-512 build runs the block's matrix products itself (register-tiled
C, ``csrc/cyprop_gemm_impl.h``).  The other builds take the BLAS routines
from SciPy at run time (``scipy.linalg.cython_blas``), so there SciPy is
needed only when the blocked schedule runs: "auto" falls back to
"sequential" without it, "blocked" raises ImportError.
"""

import operator

from ._kernels import kernels as _k
from ._options import ONLINE_SCHEDULES

__all__ = ["SCHEDULES", "DEFAULT_BLOCK_SIZE", "resolve_schedule", "blas_available"]

SCHEDULES = ONLINE_SCHEDULES

DEFAULT_BLOCK_SIZE = 32
"""Samples per block when ``block_size`` is not given (measured on 784-128-10:
16..64 are within noise of each other, 8 and 256 are slower)."""

# "auto" picks the blocked schedule when the first layer has at least this
# many inputs and this many units (measured: see the README's "Blocked online
# schedule" table; 784-24-10 and 64-32-10 gain nothing, 256-64-10 gains ~25%
# with OpenBLAS on an AVX2 EPYC; with the AVX-512 build's own products on a
# Zen 5 EPYC, one thread, 4,000 samples: 256-64-10 1.18x (float64) and 1.06x
# (float32), 784-128-10 1.75x and 1.65x, 784-24-10 1.09x and 0.94x, 256-32-10
# 0.95x and 0.77x, 64-32-10 0.75x and 0.67x).
AUTO_MIN_INPUTS = 256
AUTO_MIN_UNITS = 64


def blas_available():
    """True when the blocked schedule's products can run: the build has its
    own (AVX-512), or SciPy's BLAS is loaded into the kernels (loaded here if
    SciPy is installed)."""
    if _k.own_products() or _k.has_blas():
        return True
    try:
        from scipy.linalg import cython_blas
    except ImportError:
        return False
    _k.load_blas(cython_blas.__pyx_capi__)
    return True


def resolve_schedule(schedule, block_size, layer_sizes, mode, nesterov=False, l2=False,
                     adam=False, weighted=False):
    """Block size of the online schedule to run, 0 for sequential.

    Parameters
    ----------
    schedule : {"auto", "sequential", "blocked"}
    block_size : int or None
        Samples per block (None: DEFAULT_BLOCK_SIZE).
    layer_sizes : tuple of int
    mode : str
        The fit's mode; only "online" has a schedule.
    nesterov : bool
        Nesterov momentum is on: the blocked algebra covers plain SGD and
        classical momentum only, so "auto" runs sequential and "blocked" is
        refused.
    l2 : bool
        An L2 penalty is on: the same (the blocked algebra has no L2 term).
    adam : bool
        The optimizer is Adam: the same (the blocked algebra is SGD's).
    weighted : bool
        Sample weights are given: the same (the blocked kernel has none).

    Raises
    ------
    ValueError
        Unknown schedule, a bad block_size, or "blocked" with a batched mode,
        Nesterov momentum, L2 or Adam.
    ImportError
        "blocked" without SciPy.
    """
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(f"online_schedule must be one of {SCHEDULES}, got {schedule!r}")
    if block_size is not None:
        if isinstance(block_size, bool):
            raise TypeError(f"block_size must be a positive integer or None, got {block_size!r}")
        try:
            block_size = operator.index(block_size)
        except TypeError:
            raise TypeError(f"block_size must be a positive integer or None, "
                            f"got {block_size!r}") from None
        if block_size < 1:
            raise ValueError(f"block_size must be a positive integer, got {block_size}")
        if block_size > 1 << 16:
            raise ValueError(f"block_size must be at most {1 << 16}, got {block_size}")
        if schedule == "sequential":
            raise ValueError("block_size is only used with online_schedule='blocked' or 'auto'")
    if mode != "online":
        if schedule == "blocked":
            raise ValueError(f"online_schedule='blocked' is for mode='online' (mode={mode!r})")
        if block_size is not None:
            raise ValueError(f"block_size is only used with mode='online' (mode={mode!r})")
        return 0
    k = DEFAULT_BLOCK_SIZE if block_size is None else block_size
    if schedule == "sequential":
        return 0
    if nesterov:
        if schedule == "blocked":
            raise ValueError("online_schedule='blocked' runs plain SGD and classical momentum; "
                             "with nesterov=True use online_schedule='sequential'")
        return 0
    if adam:
        if schedule == "blocked":
            raise ValueError("online_schedule='blocked' runs plain SGD and classical momentum; "
                             "with optimizer='adam' use online_schedule='sequential'")
        return 0
    if l2:
        if schedule == "blocked":
            raise ValueError("online_schedule='blocked' has no L2 term; "
                             "with l2 > 0 use online_schedule='sequential'")
        return 0
    if weighted:
        if schedule == "blocked":
            raise ValueError("online_schedule='blocked' has no sample weights; "
                             "with sample_weight use online_schedule='sequential'")
        return 0
    if schedule == "blocked":
        if not blas_available():
            raise ImportError("online_schedule='blocked' needs SciPy for its BLAS routines "
                              "in this build (pip install scipy; the AVX-512 build has its "
                              "own); online_schedule='sequential' runs without it")
        return k
    # auto: blocked only for a wide first layer, and only with the products
    if not (layer_sizes[0] >= AUTO_MIN_INPUTS and layer_sizes[1] >= AUTO_MIN_UNITS):
        return 0
    return k if blas_available() else 0
