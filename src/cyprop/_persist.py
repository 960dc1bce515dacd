"""Saving and loading networks: a versioned .npz, no pickle, written atomically."""

import os
import tempfile
import zipfile

import numpy as np

FORMAT = "cyprop.Network"
VERSION = 1
_KEYS = {"format", "version", "layer_sizes", "hidden_activation", "output_activation",
         "loss", "dtype", "bias", "parameters"}


def save(net, path, extra=None):
    """Write ``net`` to ``path`` via a temporary file in the same folder and a rename.

    ``extra`` maps further field names to arrays stored beside the network's
    (for files that wrap a network, such as the models of ``cyprop train``);
    :func:`load` ignores them.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fields = dict(extra or {})
    clash = _KEYS & set(fields)
    if clash:
        raise ValueError(f"extra fields may not reuse the network's names: {sorted(clash)}")
    config = net._config()  # layer_sizes, hidden_activation, output_activation, loss, dtype, bias
    fields.update({
        "format": np.array(FORMAT),
        "version": np.array(VERSION),
        **{key: np.array(value) for key, value in config.items()},
        "layer_sizes": np.array(config["layer_sizes"], dtype=np.int64),
        "parameters": net.parameters,
    })
    fd, tmp = tempfile.mkstemp(prefix=".cyprop-", suffix=".npz.tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **fields)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def load(cls, path):
    """Read and check a file written by :func:`save`; return a new ``cls``."""
    path = os.fspath(path)
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not an .npz archive")
        with data:
            missing = _KEYS - set(data.files)
            if missing:
                raise ValueError(f"missing fields {sorted(missing)}")
            fields = {key: data[key] for key in _KEYS}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{path!r} is not a readable cyprop network file: {exc}") from None

    def text(key):
        value = fields[key]
        if value.shape != () or value.dtype.kind != "U":
            raise ValueError(f"{path!r}: field {key!r} is not a string")
        return str(value)

    if text("format") != FORMAT:
        raise ValueError(f"{path!r} is not a cyprop network file (format {text('format')!r})")
    version = fields["version"]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != VERSION:
        raise ValueError(f"{path!r} has format version {version!r}; this cyprop reads version {VERSION}")
    sizes = fields["layer_sizes"]
    if sizes.ndim != 1 or sizes.dtype.kind not in "iu":
        raise ValueError(f"{path!r}: layer_sizes is not a list of integers")
    try:
        net = cls._from_config({
            "layer_sizes": [int(s) for s in sizes], "hidden_activation": text("hidden_activation"),
            "output_activation": text("output_activation"), "loss": text("loss"),
            "dtype": text("dtype"), "bias": bool(fields["bias"])})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path!r} describes an invalid network: {exc}") from None
    params = fields["parameters"]
    if params.dtype != net.dtype or params.shape != net.parameters.shape:
        raise ValueError(f"{path!r}: parameters have dtype {params.dtype} and shape {params.shape}, "
                         f"but a {list(net.layer_sizes)} {net.dtype.name} network needs "
                         f"{net.parameters.shape}")
    net.parameters[...] = params
    return net
