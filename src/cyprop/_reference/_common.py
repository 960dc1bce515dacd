"""The one pure-NumPy helper the reference's tutorial modules share."""

import numpy as np


def sigmoid(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))``."""
    return 1.0 / (1.0 + np.exp(-x))
