"""Helpers shared by the test modules (conftest.py puts this folder on sys.path)."""

import os
import stat

import numpy as np
import pytest
from hypothesis import settings

from cyprop._options import DTYPES, HIDDEN_ACTIVATIONS, LOSSES, MODES, OUTPUT_ACTIVATIONS  # noqa: F401

HIDDEN = HIDDEN_ACTIVATIONS
# (output activation, loss) pairs the engine supports
OUTPUT_LOSS = [(act, "squared_error") for act in HIDDEN] + [
    ("sigmoid", "cross_entropy"),
    ("softmax", "cross_entropy"),
]


def examples(n):
    """``n`` hypothesis examples under the default profile; more under "thorough"."""
    return max(1, round(n * settings.default.max_examples / 20))


def assert_close(actual, expected, rtol=1e-12, what=""):
    """Relative comparison with an absolute floor at rtol times the array's scale.

    Entries far smaller than the array's largest are compared absolutely at
    that scale, so round-off on near-zero entries does not fail the test.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * max(scale, 1e-300),
                               err_msg=what)


def device_node(tmp_path):
    """A character device to save over: a copy of /dev/null made in
    ``tmp_path`` (root), so that a build with the bug replaces only that
    copy; elsewhere the real /dev/null, which a non-root process cannot
    replace anyway (the test skips if it is not a device here)."""
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except (AttributeError, OSError):
        device = "/dev/null"
        if not stat.S_ISCHR(os.stat(device).st_mode):
            pytest.skip("/dev/null is not a character device on this machine")
    return device
