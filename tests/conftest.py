"""Shared test settings.

The tests import the INSTALLED cyprop (``pip install ".[test]"``), never the
source tree: pytest runs with ``--import-mode=importlib`` and ``src/`` is not
on ``sys.path``.
"""

import os
import sys

from hypothesis import HealthCheck, settings

# tests/ itself (not src/) on sys.path, for the shared helpers in _common.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# Deterministic, modest example counts: the whole suite has to stay fast on a
# 2-core machine.  CYPROP_HYPOTHESIS_PROFILE=thorough runs more examples.
settings.register_profile(
    "default",
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("CYPROP_HYPOTHESIS_PROFILE", "default"))
