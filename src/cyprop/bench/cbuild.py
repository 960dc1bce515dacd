"""Compile the C contenders (``cyprop/bench/c``, shipped as package data) with
the system C compiler at benchmark time.

Libraries built (into a build directory, never into the package):

``libcbench-O3.so``, ``libcbench-native.so``
    mlp.c + rbf.c + membw.c with ``-O3`` and with ``-O3 -march=native``
    (both ``-fopenmp-simd -fno-math-errno -fPIC``, as cyprop's own build; no
    ``-ffast-math``).
``libfann-f64.so``, ``libfann-f32.so``
    fann_driver.c against Debian's libdoublefann / libfloatfann, when the
    headers (``libfann-dev``) are installed.

The compiler is ``$CC`` or ``cc``.  Every result is a dict name -> path or
an error message; nothing raises.  The default build directory is a cache
keyed by the sources, the compiler and the flags
(``$XDG_CACHE_HOME/cyprop/bench-c-<hash>``, else ``~/.cache/...``): a library
that is already there is reused.
"""

import hashlib
import os
import tempfile
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
    stamp = Path(str(out) + ".cmd")
    if out.exists() and stamp.exists() and stamp.read_text() == " ".join(cmd):
        log.append({"cmd": " ".join(cmd), "returncode": 0, "stderr": "", "cached": True})
        return True
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    log.append({"cmd": " ".join(cmd), "returncode": proc.returncode,
                "stderr": proc.stderr[-2000:]})
    if proc.returncode == 0:
        stamp.write_text(" ".join(cmd))
    return proc.returncode == 0


def default_build_dir():
    """A per-user cache directory for the compiled libraries (keyed by the
    sources, the compiler and the flags), or a temporary one."""
    h = hashlib.sha256()
    for f in sorted(C_DIR.glob("*.[ch]")):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    cc = compiler() or ""
    h.update(cc.encode())
    h.update(compiler_version(cc).encode() if cc else b"")
    h.update(repr((COMMON, FLAGS)).encode())
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    path = Path(base) / "cyprop" / f"bench-c-{h.hexdigest()[:16]}"
    try:
        path.mkdir(parents=True, exist_ok=True)
        return path
    except OSError:
        return Path(tempfile.mkdtemp(prefix="cyprop-bench-c-"))


def build(build_dir=None, want_fann=True, want_c=True):
    """Build the libraries; returns (libs, info).

    libs maps a library name to its path, or to "error: ..." when it could
    not be built; info records the compiler and the exact commands.
    """
    build_dir = Path(build_dir) if build_dir else default_build_dir()
    build_dir.mkdir(parents=True, exist_ok=True)
    cc = compiler()
    info = {"cc": cc, "cc_version": compiler_version(cc) if cc else "", "commands": []}
    libs = {}
    if cc is None:
        msg = "error: no C compiler ($CC or cc) found: the C and FANN contenders are skipped"
        return {"cbench-O3": msg, "cbench-native": msg, "fann-f64": msg, "fann-f32": msg}, info
    sources = [str(C_DIR / f) for f in ("mlp.c", "rbf.c", "membw.c")]
    for key, flags in (FLAGS.items() if want_c else ()):
        out = build_dir / f"libcbench-{key}.so"
        ok = _compile(cc, [*flags, *COMMON, *sources, "-lm"], out, info["commands"])
        libs[f"cbench-{key}"] = (str(out) if ok else
                                 "error: compiling cyprop/bench/c/mlp.c failed (see the JSON)")
    if want_fann:
        for key, define, lib in (("f64", ["-DCB_DOUBLE"], "-ldoublefann"),
                                 ("f32", [], "-lfloatfann")):
            out = build_dir / f"libfann-{key}.so"
            ok = _compile(cc, ["-O3", *COMMON, *define, str(C_DIR / "fann_driver.c"), lib, "-lm"],
                          out, info["commands"])
            libs[f"fann-{key}"] = (str(out) if ok else
                                   "error: FANN not found (apt-get install libfann-dev)")
    return libs, info
