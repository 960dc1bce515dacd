"""Compile bench/c/ with the system C compiler at benchmark time.

Libraries built (into a build directory, never into the package):

``libcbench-O3.so``, ``libcbench-native.so``
    mlp.c + rbf.c + membw.c with ``-O3`` and with ``-O3 -march=native``
    (both ``-fopenmp-simd -fno-math-errno -fPIC``, as cyprop's own build; no
    ``-ffast-math``).
``libfann-f64.so``, ``libfann-f32.so``
    fann_driver.c against Debian's libdoublefann / libfloatfann, when the
    headers (``libfann-dev``) are installed.

The compiler is ``$CC`` or ``cc``.  Every result is a dict name -> path or
an error message; nothing raises.
"""

import os
import shutil
import subprocess
from pathlib import Path

C_DIR = Path(__file__).resolve().parent / "c"
COMMON = ["-fopenmp-simd", "-fno-math-errno", "-fPIC", "-shared"]
FLAGS = {"O3": ["-O3"], "native": ["-O3", "-march=native"]}


def compiler():
    cc = os.environ.get("CC", "cc")
    return shutil.which(cc)


def compiler_version(cc):
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.splitlines()[0] if out.stdout else ""
    except Exception:
        return ""


def _compile(cc, args, out, log):
    cmd = [cc, *args, "-o", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    log.append({"cmd": " ".join(cmd), "returncode": proc.returncode,
                "stderr": proc.stderr[-2000:]})
    return proc.returncode == 0


def build(build_dir, want_fann=True):
    """Build the libraries; returns (libs, info).

    libs maps a library name to its path, or to "error: ..." when it could
    not be built; info records the compiler and the exact commands.
    """
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    cc = compiler()
    info = {"cc": cc, "cc_version": compiler_version(cc) if cc else "", "commands": []}
    libs = {}
    if cc is None:
        msg = "error: no C compiler ($CC or cc) found"
        return {"cbench-O3": msg, "cbench-native": msg, "fann-f64": msg, "fann-f32": msg}, info
    sources = [str(C_DIR / f) for f in ("mlp.c", "rbf.c", "membw.c")]
    for key, flags in FLAGS.items():
        out = build_dir / f"libcbench-{key}.so"
        ok = _compile(cc, [*flags, *COMMON, *sources, "-lm"], out, info["commands"])
        libs[f"cbench-{key}"] = str(out) if ok else "error: compiling bench/c/mlp.c failed"
    if want_fann:
        for key, define, lib in (("f64", ["-DCB_DOUBLE"], "-ldoublefann"),
                                 ("f32", [], "-lfloatfann")):
            out = build_dir / f"libfann-{key}.so"
            ok = _compile(cc, ["-O3", *COMMON, *define, str(C_DIR / "fann_driver.c"), lib, "-lm"],
                          out, info["commands"])
            libs[f"fann-{key}"] = (str(out) if ok else
                                   "error: FANN not found (apt-get install libfann-dev)")
    return libs, info
