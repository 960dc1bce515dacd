"""The model files of ``cyprop train``: a network plus what its inputs and outputs mean.

A model file is a network file (:meth:`cyprop.Network.save`'s ``.npz``, so
:meth:`cyprop.Network.load` reads it too) with extra fields: the input
column names and their standardisation, the target column, the task, and
the class names (classification) or the target's standardisation
(regression).  No pickle; written to a temporary file and renamed.
"""

import numpy as np

from .. import _persist
from .._scaling import Standardizer

FORMAT = "cyprop.train-model"
VERSION = 1
TASKS = ("classification", "regression")
_MODEL_KEYS = ("model_format", "model_version", "features", "target", "task", "classes",
               "x_mean", "x_scale", "y_mean", "y_scale")


class Model:
    """A trained network with its input and output encoding.

    Attributes
    ----------
    network : cyprop.Network
    features : list of str
        Input column names, in the network's input order.
    target : str
    task : {"classification", "regression"}
    x_scaling : Standardizer
    classes : list of str
        Class names, one per output (classification); empty for regression.
    y_scaling : Standardizer or None
        The target's standardisation (regression).
    """

    def __init__(self, network, features, target, task, x_scaling, classes=(), y_scaling=None):
        self.network = network
        self.features = list(features)
        self.target = target
        self.task = task
        self.x_scaling = x_scaling
        self.classes = list(classes)
        self.y_scaling = y_scaling

    def outputs(self, X):
        """Class probabilities (classification) or targets (regression) for raw inputs ``X``."""
        out = self.network.predict(self.x_scaling.transform(X))
        return out if self.task == "classification" else self.y_scaling.inverse(out)

    def save(self, path):
        """Write the model to ``path`` atomically."""
        empty = np.empty(0)
        extra = {
            "model_format": np.array(FORMAT), "model_version": np.array(VERSION),
            "features": np.array(self.features, dtype=str), "target": np.array(self.target),
            "task": np.array(self.task), "classes": np.array(self.classes, dtype=str),
            "x_mean": self.x_scaling.mean, "x_scale": self.x_scaling.scale,
            "y_mean": self.y_scaling.mean if self.y_scaling else empty,
            "y_scale": self.y_scaling.scale if self.y_scaling else empty,
        }
        _persist.save(self.network, path, extra)  # atomic, beside the network's own fields

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`; ValueError if it is not one."""
        from ..network import Network

        with _persist.open_archive(path, "model file of 'cyprop train'") as archive:  # bounded reads, ValueError on any failure
            network = _persist._load(Network, archive)  # checks the network part
            fields = _persist.read_model_fields(archive, network, _MODEL_KEYS)
        path = archive.path
        return cls._from_fields(path, network, fields)

    @classmethod
    def _from_fields(cls, path, network, fields):
        def text(key):
            value = fields.get(key)
            if value is None or value.shape != () or value.dtype.kind != "U":
                raise ValueError(f"{path!r}: model field {key!r} is missing or not a string")
            return str(value)

        def vector(key, size, kind="f"):
            value = fields.get(key)
            if value is None or value.shape != (size,) or (size and value.dtype.kind != kind):
                raise ValueError(f"{path!r}: model field {key!r} should hold {size} values")
            if kind == "f" and not np.all(np.isfinite(value)):
                raise ValueError(f"{path!r}: model field {key!r} holds NaN or infinity")
            return value

        if text("model_format") != FORMAT:
            raise ValueError(f"{path!r} is not a model file of 'cyprop train'")
        version = fields["model_version"]
        if version.shape != () or version.dtype.kind not in "iu" or int(version) != VERSION:
            raise ValueError(f"{path!r} has model format version {version!r}; this cyprop reads "
                             f"version {VERSION}")
        task = text("task")
        if task not in TASKS:
            raise ValueError(f"{path!r}: unknown task {task!r}")
        n_in, n_out = network.layer_sizes[0], network.layer_sizes[-1]
        features = [str(f) for f in vector("features", n_in, "U")]
        x_scale = vector("x_scale", n_in)
        if np.any(x_scale <= 0):
            raise ValueError(f"{path!r}: model field 'x_scale' must be positive")
        x_scaling = Standardizer(vector("x_mean", n_in), x_scale)
        if task == "classification":
            classes = [str(c) for c in vector("classes", n_out, "U")]
            return cls(network, features, text("target"), task, x_scaling, classes)
        y_scaling = Standardizer(vector("y_mean", n_out), vector("y_scale", n_out))
        return cls(network, features, text("target"), task, x_scaling, (), y_scaling)
