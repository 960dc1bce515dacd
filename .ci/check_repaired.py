"""Check auditwheel-repaired wheels: a manylinux tag, no vendored shared libraries.

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
    vendored = [m for m in zipfile.ZipFile(whl).namelist() if m.startswith("cyprop.libs/")]
    if vendored:
        bad.append(f"{name}: vendors shared libraries {vendored} (an OpenMP runtime?)")
    print("repaired:", name, "- no vendored libraries" if not vendored else "")
if bad:
    sys.exit("FAIL: " + "; ".join(bad))
