"""Check that cyprop is imported from the installed wheel in VENV, not from a source tree.

usage: check_wheel_env.py VENV DISPATCHER [NUMPY_VERSION]

Prints cyprop's version, location, kernels and NumPy version; with
NUMPY_VERSION, checks that exactly that NumPy is installed.
"""

import importlib
import pathlib
import sys
import sysconfig

import numpy

import cyprop

venv = pathlib.Path(sys.argv[1]).resolve()
dispatch = importlib.import_module(sys.argv[2])
numpy_pin = sys.argv[3] if len(sys.argv) > 3 else ""
site = pathlib.Path(sysconfig.get_paths()["platlib"]).resolve()
where = pathlib.Path(cyprop.__file__).resolve()
print(f"cyprop {cyprop.__version__} from {where}; kernels: {dispatch.simd}; numpy {numpy.__version__}")
assert site in where.parents and venv in site.parents, f"cyprop imported from {where}, not from {site}"
if numpy_pin:
    assert numpy.__version__ == numpy_pin, (numpy.__version__, numpy_pin)
