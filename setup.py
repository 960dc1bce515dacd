"""Build the Cython kernels: every Extension and every compiler directive lives here.

Environment switches
--------------------
CYPROP_BOUNDSCHECK=1
    Compile with Cython's bounds, wraparound and initialisation checks turned
    back on (slow; for debugging a kernel that reads or writes out of range).
CYPROP_NATIVE=1
    Add ``-march=native`` (local experiments only; never set for a wheel).

The kernels live in ``src/cyprop/_kernels/``.  The network kernels are
compiled twice from one source (``network_kernels.pxi``): ``network_base``
for the architecture's baseline (SSE2 on x86-64, NEON on arm64) and, on
x86-64 with GCC or Clang, ``network_avx2`` with ``-mavx2 -mfma``; the
tutorial kernels (``tutorial_kernels.pxi``) likewise as ``tutorial_base`` and
``tutorial_avx2``.  ``cyprop._kernels`` picks one of each at import time
from the running CPU, so a wheel never depends on the build machine's CPU.
"""

import os
import re
import sys
import sysconfig

from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG_CHECKS = os.environ.get("CYPROP_BOUNDSCHECK", "0") == "1"
NATIVE = os.environ.get("CYPROP_NATIVE", "0") == "1"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG_CHECKS,
    "wraparound": DEBUG_CHECKS,
    "initializedcheck": DEBUG_CHECKS,
    "cdivision": True,
    "embedsignature": True,
    # The kernels touch only the arrays they are given and release the GIL;
    # they hold no module state, so they are safe on free-threaded builds.
    "freethreading_compatible": True,
}

IS_MSVC = sys.platform == "win32"


def target_archs():
    """The CPU architectures the extensions are compiled FOR.

    Not the build machine's (platform.machine()): cibuildwheel cross-compiles
    on macOS (ARCHFLAGS, _PYTHON_HOST_PLATFORM), and a python.org macOS Python
    builds universal2 (-arch arm64 -arch x86_64 in its CFLAGS) by default.
    """
    if sys.platform == "darwin":
        flags = os.environ.get("ARCHFLAGS") or sysconfig.get_config_var("CFLAGS") or ""
        archs = re.findall(r"-arch\s+(\S+)", flags)
        if archs:
            return {a.lower() for a in archs}
    return {sysconfig.get_platform().rsplit("-", 1)[-1].lower()}


# x86-64 only, and never in a universal2 build (-mavx2 is no arm64 flag).
IS_X86_64 = target_archs() <= {"x86_64", "amd64"} and not IS_MSVC

if IS_MSVC:
    BASE_FLAGS = ["/O2", "/fp:precise", "/openmp:experimental"]
else:
    # -fopenmp-simd honours `#pragma omp simd` (vectorised reductions in
    # csrc/cyprop_simd.h) without linking an OpenMP runtime.
    # -fno-trapping-math lets the compiler turn the branch-free selects of
    # csrc's exp into vector blends; like -fno-math-errno it changes no
    # computed value.  No -ffast-math: results follow IEEE arithmetic.
    BASE_FLAGS = ["-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math"]
if NATIVE and not IS_MSVC:
    BASE_FLAGS.append("-march=native")

MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
KERNELS = "src/cyprop/_kernels"
INCLUDE = ["csrc", KERNELS]


def kernel(name, extra=()):
    return Extension(
        f"cyprop._kernels.{name}",
        [f"{KERNELS}/{name}.pyx"],
        include_dirs=INCLUDE,
        define_macros=MACROS,
        extra_compile_args=BASE_FLAGS + list(extra),
    )


# The tutorial kernels reproduce printed numbers to the last bit: no fused
# multiply-adds there (GCC and Clang contract a*b+c by default on arm64, and
# in the -mfma build), so both builds compute the same roundings.
EXACT_FLAGS = [] if IS_MSVC else ["-ffp-contract=off"]

extensions = [
    kernel("tutorial_base", EXACT_FLAGS),
    kernel("network_base"),
]
if IS_X86_64:
    extensions += [
        kernel("tutorial_avx2", EXACT_FLAGS + ["-mavx2", "-mfma"]),
        kernel("network_avx2", ["-mavx2", "-mfma"]),
    ]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        include_path=["csrc", KERNELS],
    ),
)
