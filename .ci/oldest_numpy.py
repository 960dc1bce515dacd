"""Print the lowest NumPy version a wheel declares (its Requires-Dist numpy>=).

usage: oldest_numpy.py WHEEL
"""

import re
import sys
import zipfile

zf = zipfile.ZipFile(sys.argv[1])
meta = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
m = re.search(r"^Requires-Dist: numpy\s*>=\s*([0-9.]+)", meta, re.M)
sys.exit("FAIL: the wheel declares no numpy>= lower bound") if not m else print(m.group(1))
