"""The compiled kernels, and the choice of build for the running CPU.

setup.py compiles the same kernels (``network_kernels.pxi``,
``tutorial_kernels.pxi``) for the architecture's baseline
(``network_base``, ``tutorial_base``) and, on x86-64, with AVX2 and FMA
(``network_avx2``, ``tutorial_avx2``).  The environment variable
``CYPROP_SIMD`` overrides the choice: ``baseline`` forces the portable
build, ``avx2`` insists on the AVX2 build (an error when the CPU or the build
lacks it), ``auto`` (the default) takes the best available.

Attributes
----------
kernels : module
    The network kernels (forward, fused backward and update, sample blocks).
tutorial_kernels : module
    The tutorials' own kernels (RBF network, gradient descent, ...).
simd : str
    The name of the selected build: ``"baseline"`` or ``"avx2"``.
"""

import os

from . import network_base, tutorial_base


def _select():
    choice = os.environ.get("CYPROP_SIMD", "auto").strip().lower()
    if choice not in ("auto", "baseline", "avx2"):
        raise ValueError(f"CYPROP_SIMD must be 'auto', 'baseline' or 'avx2', got {choice!r}")
    if choice == "baseline":
        return network_base, tutorial_base, "baseline"
    has_cpu = network_base.cpu_has_avx2_fma()
    try:
        from . import network_avx2, tutorial_avx2
    except ImportError:
        network_avx2 = tutorial_avx2 = None
    if has_cpu and network_avx2 is not None:
        return network_avx2, tutorial_avx2, "avx2"
    if choice == "avx2":
        raise RuntimeError(
            "CYPROP_SIMD=avx2 but "
            + ("this CPU lacks AVX2/FMA" if not has_cpu else "this build has no AVX2 kernels")
        )
    return network_base, tutorial_base, "baseline"


kernels, tutorial_kernels, simd = _select()
"""The selected network and tutorial kernel modules, and the name of their instruction set."""
