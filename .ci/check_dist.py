"""Check an sdist and its wheels: sources in the sdist, only compiled modules in the wheels.

usage: check_dist.py ROOT SDIST WHEEL... --compiled MODULE...

Every Cython and C source of the tree must be in the sdist, and no build
output; every wheel holds every non-source file of src/cyprop and each
compiled MODULE (a path like cyprop/_kernels/network_base, any .so/.pyd suffix),
and no Cython/C source -- except the bench's C contenders under
cyprop/bench/c/, package data compiled at run time by `cyprop bench --against
c`, which must be in both.
"""

import pathlib
import sys
import tarfile
import zipfile

# The one exception to "no C source in a wheel": the bench's C contenders.
BENCH_C = "cyprop/bench/c/"


def bench_c_files(root):
    return sorted(str(p.relative_to(root / "src")) for p in (root / "src" / BENCH_C).glob("*.[ch]"))


def main(argv):
    split = argv.index("--compiled")
    root, sdist, wheels = pathlib.Path(argv[0]), argv[1], argv[2:split]
    expected = argv[split + 1:]
    problems = check_sdist(root, sdist) + check_wheels(root, wheels, expected)
    if problems:
        print("\n".join("FAIL: " + p for p in problems), file=sys.stderr)
        return 1
    return 0


def check_sdist(root, sdist):
    problems = []
    sources = sorted(
        str(p.relative_to(root))
        for pattern in ("src/**/*.pyx", "src/**/*.pxi", "src/**/*.pxd", "csrc/**/*")
        for p in root.glob(pattern)
        if p.is_file()
    )
    with tarfile.open(sdist) as tf:
        names = tf.getnames()
    prefix = names[0].split("/")[0] + "/"
    in_sdist = {n[len(prefix):] for n in names if n.startswith(prefix)}
    for kind in (".pyx", ".pxi", "csrc/"):
        if not any(kind in s for s in sources):
            problems.append(f"the tree has no {kind} source at all?")
    for s in sources + ["src/" + f for f in bench_c_files(root)]:
        if s not in in_sdist:
            problems.append(f"sdist lacks {s}")
    for s in ("setup.py", "pyproject.toml", "README.md", "LICENSE", "MANIFEST.in"):
        if s not in in_sdist:
            problems.append(f"sdist lacks {s}")
    for n in sorted(in_sdist):
        if n.endswith((".so", ".pyd", ".o")) or (n.startswith("src/") and n.endswith((".c", ".cpp"))
                                                   and not n.startswith("src/" + BENCH_C)):
            problems.append(f"sdist holds a build output: {n}")
    print(f"sdist: {len(in_sdist)} files, including {len(sources)} Cython/C sources")
    return problems


def check_wheels(root, wheels, expected):
    """The compiled modules and every other file of the package (Python modules,
    any package data), none of the sources of the compiled modules."""
    problems = []
    not_shipped = (".pyx", ".pxi", ".pxd", ".c", ".cpp", ".html", ".so", ".pyd", ".o", ".pyc")
    package_files = sorted(
        str(p.relative_to(root / "src"))
        for p in (root / "src" / "cyprop").rglob("*")
        if p.is_file() and not p.name.endswith(not_shipped) and "__pycache__" not in p.parts
    )
    bench_c = bench_c_files(root)
    for whl in wheels:
        with zipfile.ZipFile(whl) as zf:
            members = zf.namelist()
        for m in members:
            if m.endswith((".pyx", ".pxd", ".pxi", ".c", ".cpp", ".h")) and not (
                    m.startswith(BENCH_C) and m.endswith((".c", ".h"))):
                problems.append(f"{whl}: holds source {m}")
        for f in sorted(set(package_files) | set(bench_c)):
            if f not in members:
                problems.append(f"{whl}: lacks {f} (a package without __init__.py, or data"
                                " that include-package-data=false leaves out?)")
        for mod in expected:
            if not any(m.startswith(mod + ".") and m.endswith((".so", ".pyd")) for m in members):
                problems.append(f"{whl}: lacks the compiled module {mod}")
        print(f"{pathlib.Path(whl).name}: {len(members)} files: the {len(package_files)}"
              f" package files of src/cyprop, {len(expected)} compiled modules, no Cython/C source"
              f" but the {len(bench_c)} bench C files")
    return problems


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
