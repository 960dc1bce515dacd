"""Argument checks shared by the public API.

The kernels run with bounds checks off, so everything they are given is
checked here first: types, shapes, finiteness.  Every error names the
argument and, where it helps, the shapes involved.
"""

import numbers

import numpy as np


def as_float_array(value, name, dtype=np.float64, ndim=None, finite=True):
    """Return ``value`` as a C-contiguous array of ``dtype``.

    Accepts anything ``np.asarray`` accepts with a boolean, integer or
    floating dtype (integers are converted).  The result may share memory
    with ``value`` when no conversion is needed, so callers that write to it
    must copy first.

    Raises
    ------
    TypeError
        If the data is not numeric (strings, objects, complex numbers).
    ValueError
        If ``ndim`` is given and does not match, or if ``finite`` and the
        data holds NaN or infinity.
    """
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    arr = np.asarray(arr, dtype=dtype, order="C")  # (keeps 0-d arrays 0-d)
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity")
    return arr


def as_real(value, name, positive=False, nonnegative=False):
    """Return ``value`` as a finite Python float (rejecting bools and strings)."""
    if type(value) is float or type(value) is int:   # the common case, without numpy
        return _checked_real(float(value), name, positive, nonnegative)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.size != 1 or arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number, got {value!r}")
    return _checked_real(float(arr.reshape(())), name, positive, nonnegative)


def _checked_real(result, name, positive, nonnegative):
    if not np.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result}")
    if positive and result <= 0:
        raise ValueError(f"{name} must be positive, got {result}")
    if nonnegative and result < 0:
        raise ValueError(f"{name} must be non-negative, got {result}")
    return result


def as_count(value, name, minimum=1):
    """Return ``value`` as a Python int >= ``minimum`` (rejecting bools and floats)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_choice(value, name, choices):
    """Return ``value`` if it is one of ``choices``, else a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def broadcast_grids(first, second, names):
    """Two parameter grids as float arrays broadcast together.

    Returns ``(first_flat, second_flat, out)``: C-contiguous 1-D copies of the
    broadcast grids, and an empty output array of their broadcast shape whose
    ``reshape(-1)`` is a view a kernel can fill.
    """
    a = as_float_array(first, names[0])
    b = as_float_array(second, names[1])
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(f"{names[0]} {a.shape} and {names[1]} {b.shape} do not broadcast "
                         "together") from None
    return a.ravel().copy(), b.ravel().copy(), np.empty(a.shape)
