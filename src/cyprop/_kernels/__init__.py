"""The compiled kernels, and the choice of build for the running CPU.

setup.py compiles the same kernels (``network_kernels.pxi``,
``tutorial_kernels.pxi``) for the architecture's baseline
(``network_base``, ``tutorial_base``) and, on x86-64, with AVX2 and FMA
(``network_avx2``, ``tutorial_avx2``) and with AVX-512
(``network_avx512``, ``tutorial_avx512``).  The environment variable
``CYPROP_SIMD`` overrides the choice: ``baseline`` forces the portable
build, ``avx2`` or ``avx512`` insists on that build (a RuntimeError when the
CPU, the OS or the build lacks it), ``auto`` (the default) takes the best
available: avx512, else avx2, else baseline.  A build is imported only when
the CPU can run it.

Attributes
----------
kernels : module
    The network kernels (forward, fused backward and update, sample blocks).
tutorial_kernels : module
    The tutorials' own kernels (RBF network, gradient descent, ...).
simd : str
    The name of the selected build: ``"baseline"``, ``"avx2"`` or ``"avx512"``.
"""

import importlib
import os

from . import network_base, tutorial_base

LEVELS = ("avx512", "avx2", "baseline")
"""The builds, best first."""

_MISSING = {
    "avx2": "this CPU lacks AVX2/FMA",
    "avx512": "this CPU lacks AVX-512 (F, VL, DQ, BW) or the OS does not save its state",
}


def cpu_levels():
    """The builds the running CPU and OS can execute (a set of LEVELS)."""
    levels = {"baseline"}
    if network_base.cpu_has_avx2_fma():
        levels.add("avx2")
        if network_base.cpu_has_avx512():
            levels.add("avx512")
    return levels


def _load(level):
    """The (network, tutorial) modules of one build, or None if not built."""
    if level == "baseline":
        return network_base, tutorial_base
    try:
        return (importlib.import_module(f"{__name__}.network_{level}"),
                importlib.import_module(f"{__name__}.tutorial_{level}"))
    except ImportError:
        return None


def select(choice=None, levels=None, load=_load):
    """Pick (network module, tutorial module, level name).

    ``choice`` defaults to ``$CYPROP_SIMD`` (``auto``), ``levels`` to
    cpu_levels(); ``load`` imports a build (the tests pass fakes for the
    builds this CPU cannot run).
    """
    if choice is None:
        choice = os.environ.get("CYPROP_SIMD", "auto")
    choice = choice.strip().lower()
    if choice not in ("auto",) + LEVELS:
        raise ValueError("CYPROP_SIMD must be 'auto', 'baseline', 'avx2' or 'avx512',"
                         f" got {choice!r}")
    if levels is None:
        levels = cpu_levels()
    if choice != "auto":
        if choice not in levels:
            raise RuntimeError(f"CYPROP_SIMD={choice} but {_MISSING[choice]}")
        modules = load(choice)
        if modules is None:
            raise RuntimeError(f"CYPROP_SIMD={choice} but this build has no {choice} kernels")
        return (*modules, choice)
    for level in LEVELS:
        if level in levels:
            modules = load(level)
            if modules is not None:
                return (*modules, level)
    raise AssertionError("unreachable: the baseline build always loads")


kernels, tutorial_kernels, simd = select()
"""The selected network and tutorial kernel modules, and the name of their instruction set."""
