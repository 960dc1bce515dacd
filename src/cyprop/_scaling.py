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
        scale = data.std(axis=0)
        scale[~(scale > 0)] = 1.0
        return cls(data.mean(axis=0), scale)

    def transform(self, data):
        """``(data - mean) / scale``, as float64."""
        return (np.asarray(data, dtype=np.float64) - self.mean) / self.scale

    def inverse(self, data):
        """``data * scale + mean``, as float64."""
        return np.asarray(data, dtype=np.float64) * self.scale + self.mean
