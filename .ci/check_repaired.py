"""Check auditwheel-repaired wheels: a manylinux tag, and no vendored shared
library but the OpenMP runtime.

The network kernels are built with -fopenmp (``n_threads``), so they link
libgomp, which auditwheel vendors (as in scikit-learn's wheels): that one is
expected, and required (a wheel without it would have lost its threads).
Anything else vendored is a new dependency and fails the check.

usage: check_repaired.py WHEEL...
"""

import pathlib
import sys
import zipfile

bad = []
for whl in sys.argv[1:]:
    name = pathlib.Path(whl).name
    if "manylinux" not in name:
        bad.append(f"{name}: no manylinux tag")
    vendored = [m for m in zipfile.ZipFile(whl).namelist() if m.startswith("cyprop.libs/") and not m.endswith("/")]   # (not the folder's own entry)
    openmp = [m for m in vendored if pathlib.Path(m).name.startswith("libgomp")]
    others = [m for m in vendored if m not in openmp]
    if others:
        bad.append(f"{name}: vendors shared libraries {others} besides the OpenMP runtime")
    if not openmp:
        bad.append(f"{name}: no OpenMP runtime (libgomp) vendored: built without -fopenmp?")
    print("repaired:", name, "- vendors", [pathlib.Path(m).name for m in vendored])
if bad:
    sys.exit("FAIL: " + "; ".join(bad))
