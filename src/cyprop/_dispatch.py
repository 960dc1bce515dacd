"""Pick the kernel modules for the running CPU.

setup.py compiles the same kernels (``_network_kernels.pxi``,
``_tutorial_kernels.pxi``) for the architecture's baseline and, on x86-64,
with AVX2 and FMA.  The environment variable ``CYPROP_SIMD`` overrides the
choice: ``baseline`` forces the portable build, ``avx2`` insists on the AVX2
build (an error when the CPU or the build lacks it), ``auto`` (the default)
takes the best available.
"""

import os

from . import _network_base, _tutorial_base


def _select():
    choice = os.environ.get("CYPROP_SIMD", "auto").strip().lower()
    if choice not in ("auto", "baseline", "avx2"):
        raise ValueError(f"CYPROP_SIMD must be 'auto', 'baseline' or 'avx2', got {choice!r}")
    if choice == "baseline":
        return _network_base, _tutorial_base, "baseline"
    has_cpu = _network_base.cpu_has_avx2_fma()
    try:
        from . import _network_avx2, _tutorial_avx2
    except ImportError:
        _network_avx2 = _tutorial_avx2 = None
    if has_cpu and _network_avx2 is not None:
        return _network_avx2, _tutorial_avx2, "avx2"
    if choice == "avx2":
        raise RuntimeError(
            "CYPROP_SIMD=avx2 but "
            + ("this CPU lacks AVX2/FMA" if not has_cpu else "this build has no AVX2 kernels")
        )
    return _network_base, _tutorial_base, "baseline"


kernels, tutorial_kernels, simd = _select()
"""The selected network and tutorial kernel modules, and the name of their instruction set."""
