"""Column standardisation, ``(x - mean) / scale``, shared by the estimators and the CLI."""

import numpy as np


class Standardizer:
    """Per-column mean and scale of a 2-D array, and the transforms they define.

    A column with zero spread gets scale 1, so it maps to zeros rather than
    to NaN.

    Parameters
    ----------
    mean, scale : ndarray, shape (n_columns,)
    """

    def __init__(self, mean, scale):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.scale = np.asarray(scale, dtype=np.float64)

    @classmethod
    def fit(cls, data):
        """The standardisation of the columns of ``data`` (n_samples, n_columns)."""
        data = np.asarray(data, dtype=np.float64)
        if not np.isfinite(data).all():
            raise ValueError("cannot standardise data holding NaN or infinity")
        with np.errstate(over="ignore", invalid="ignore"):
            mean = data.mean(axis=0)
            scale = data.std(axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(scale).all()):
            # values near the float64 range (|x| ~ 1e154 and up): the sums
            # overflow, so compute on the columns divided by their largest |x|
            peak = np.abs(data).max(axis=0)
            peak[peak == 0] = 1.0
            unit = data / peak
            mean, scale = unit.mean(axis=0) * peak, unit.std(axis=0) * peak
        scale[~(scale > 0)] = 1.0
        return cls(mean, scale)

    def transform(self, data):
        """``(data - mean) / scale``, as float64."""
        data = np.asarray(data, dtype=np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            out = (data - self.mean) / self.scale
        if not np.isfinite(out).all() and np.isfinite(data).all():
            out = data / self.scale - self.mean / self.scale  # (data - mean) overflowed
        return out

    def inverse(self, data):
        """``data * scale + mean``, as float64."""
        return np.asarray(data, dtype=np.float64) * self.scale + self.mean
