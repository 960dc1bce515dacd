"""Build the Cython kernels: every Extension and every compiler directive lives here.

Environment switches
--------------------
CYPROP_BOUNDSCHECK=1
    Compile with Cython's bounds, wraparound and initialisation checks turned
    back on (slow; for debugging a kernel that reads or writes out of range).
CYPROP_NATIVE=1
    Add ``-march=native`` (local experiments only; never set for a wheel).
CYPROP_OPENMP=0
    Build the network kernels without OpenMP (``n_threads`` then has no
    effect: every fit runs on one thread).  By default they are built with
    ``-fopenmp`` when the compiler can compile and link an OpenMP program,
    and without it otherwise (e.g. Apple clang without libomp); MSVC always
    has its OpenMP (``/openmp:experimental``).
CYPROP_BUILD_JOBS=N
    Compile N extension modules at once (default: the number of CPUs, at
    most 6); ``build_ext -j N`` / ``--parallel N`` overrides it.
CYPROP_SIMD_TARGETS=baseline,avx2
    Build only these kernel builds (comma-separated among ``baseline``,
    ``avx2``, ``avx512``; ``baseline`` is required, the dispatcher always
    imports it).  Default: every build of the target architecture.  For the
    CI's instrumented builds, which only need what the CI's CPU runs; never
    set for a wheel.
CYPROP_OPT_LEVEL=N
    Optimisation level ``-ON`` (0, 1, 2, 3, s or g; default 3) for GCC and
    Clang, e.g. 1 for the CI's sanitizer and bounds-check builds, which
    compile several times faster at -O1.  Not supported with MSVC.

The kernels live in ``src/cyprop/_kernels/``.  The network kernels are
compiled twice from one source (``network_kernels.pxi``): ``network_base``
for the architecture's baseline (SSE2 on x86-64, NEON on arm64) and, on
x86-64 with GCC or Clang, ``network_avx2`` with ``-mavx2 -mfma`` and
``network_avx512`` with AVX-512 (F, VL, DQ, BW) and FMA; the tutorial kernels
(``tutorial_kernels.pxi``) likewise as ``tutorial_base``, ``tutorial_avx2``
and ``tutorial_avx512``.  The modules are cythonized and compiled in
parallel, so the extra builds add little to the install time.  ``cyprop._kernels`` picks one of each at import time
from the running CPU, so a wheel never depends on the build machine's CPU.
"""

import os
import re
import sys
import sysconfig

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

JOBS = int(os.environ.get("CYPROP_BUILD_JOBS", "0")) or min(os.cpu_count() or 1, 6)
DEBUG_CHECKS = os.environ.get("CYPROP_BOUNDSCHECK", "0") == "1"
NATIVE = os.environ.get("CYPROP_NATIVE", "0") == "1"
OPT_LEVEL = os.environ.get("CYPROP_OPT_LEVEL", "3").strip()
if OPT_LEVEL not in ("0", "1", "2", "3", "s", "g"):
    raise ValueError(f"CYPROP_OPT_LEVEL must be 0, 1, 2, 3, s or g, got {OPT_LEVEL!r}")
OPENMP = os.environ.get("CYPROP_OPENMP", "1") != "0"

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

if IS_MSVC and OPT_LEVEL != "3":
    raise ValueError("CYPROP_OPT_LEVEL is for GCC and Clang; MSVC builds use /O2")
if IS_MSVC:
    BASE_FLAGS = ["/O2", "/fp:precise", "/openmp:experimental"]
else:
    # -fopenmp-simd honours `#pragma omp simd` (vectorised reductions in
    # csrc/cyprop_simd.h) without linking an OpenMP runtime.
    # -fno-trapping-math lets the compiler turn the branch-free selects of
    # csrc's exp into vector blends; like -fno-math-errno it changes no
    # computed value.  No -ffast-math: results follow IEEE arithmetic.
    BASE_FLAGS = [f"-O{OPT_LEVEL}", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math"]
if NATIVE and not IS_MSVC:
    BASE_FLAGS.append("-march=native")

MACROS = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
KERNELS = "src/cyprop/_kernels"
INCLUDE = ["csrc", KERNELS]


OPENMP_MODULES = set()


def kernel(name, extra=(), openmp=False):
    ext = Extension(
        f"cyprop._kernels.{name}",
        [f"{KERNELS}/{name}.pyx"],
        include_dirs=INCLUDE,
        define_macros=MACROS,
        extra_compile_args=BASE_FLAGS + list(extra),
    )
    if openmp:   # ParallelBuildExt adds -fopenmp where it works (cythonize copies the
        OPENMP_MODULES.add(ext.name)   # Extension objects, so by name)
    return ext


# The tutorial kernels reproduce printed numbers to the last bit: no fused
# multiply-adds there (GCC and Clang contract a*b+c by default on arm64, and
# in the -mfma build), so both builds compute the same roundings.
EXACT_FLAGS = [] if IS_MSVC else ["-ffp-contract=off"]


def simd_targets():
    """The kernel builds to compile: $CYPROP_SIMD_TARGETS, or all of the architecture's."""
    known = ("baseline", "avx2", "avx512") if IS_X86_64 else ("baseline",)
    value = os.environ.get("CYPROP_SIMD_TARGETS", "").strip()
    if not value:
        return set(known)
    targets = {t.strip().lower() for t in value.split(",") if t.strip()}
    if not targets <= set(known) or "baseline" not in targets:
        raise ValueError(
            "CYPROP_SIMD_TARGETS must list 'baseline' and optionally "
            f"{', '.join(repr(k) for k in known[1:]) or 'nothing else'} on this target"
            f" ({', '.join(sorted(target_archs()))}), got {value!r}")
    return targets


TARGETS = simd_targets()
extensions = [
    kernel("tutorial_base", EXACT_FLAGS),
    kernel("network_base", openmp=True),
]
AVX2_FLAGS = ["-mavx2", "-mfma"]
# 512-bit vectors where the compiler would otherwise prefer 256-bit ones
AVX512_FLAGS = ["-mavx512f", "-mavx512vl", "-mavx512dq", "-mavx512bw", "-mfma",
                "-mprefer-vector-width=512"]
if "avx2" in TARGETS:
    extensions += [
        kernel("tutorial_avx2", EXACT_FLAGS + AVX2_FLAGS),
        kernel("network_avx2", AVX2_FLAGS, openmp=True),
    ]
if "avx512" in TARGETS:
    extensions += [
        kernel("tutorial_avx512", EXACT_FLAGS + AVX512_FLAGS),
        kernel("network_avx512", AVX512_FLAGS, openmp=True),
    ]


class ParallelBuildExt(build_ext):
    """build_ext that compiles the modules in parallel unless told otherwise."""

    def finalize_options(self):
        super().finalize_options()
        if not self.parallel:
            self.parallel = JOBS

    def build_extensions(self):
        # the network kernels' threads (n_threads): OpenMP where this compiler has it
        flags = self._openmp_flags()
        for ext in self.extensions:
            if ext.name in OPENMP_MODULES and flags:
                ext.extra_compile_args = ext.extra_compile_args + flags
                ext.extra_link_args = list(ext.extra_link_args or []) + flags
        super().build_extensions()

    def _openmp_flags(self):
        """["-fopenmp"] when the compiler compiles and links an OpenMP program, else []."""
        if not OPENMP or IS_MSVC:   # MSVC: /openmp:experimental is in BASE_FLAGS already
            return []
        import shutil
        import tempfile
        flags = ["-fopenmp"]
        tmp = tempfile.mkdtemp(prefix="cyprop-openmp-")
        try:
            src = os.path.join(tmp, "omp_probe.c")
            with open(src, "w") as f:
                f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
            objects = self.compiler.compile([src], output_dir=tmp, extra_postargs=flags)
            self.compiler.link_executable(objects, "omp_probe", output_dir=tmp,
                                          extra_postargs=flags)
        except Exception as exc:   # CompileError, LinkError
            print(f"cyprop: building without OpenMP (n_threads will run one thread): {exc}")
            return []
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return flags


setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives=DIRECTIVES,
        include_path=["csrc", KERNELS],
        # cythonize in worker processes where they fork (spawned ones would rerun setup.py)
        nthreads=JOBS if JOBS > 1 and sys.platform.startswith("linux") else 0,
    ),
    cmdclass={"build_ext": ParallelBuildExt},
)
