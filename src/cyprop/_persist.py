"""Saving and loading networks: a versioned .npz, no pickle, written atomically.

Saving writes a temporary file ``.cyprop-<pid>-*.npz.tmp`` beside the target
and renames it over the target.  Only a regular file (or nothing) is ever
replaced: a FIFO, device node or directory at the path is a ValueError; a
symlink is followed and its target replaced (as most tools do).  The file's
mode follows the umask, like any file the process creates.  Temporaries left
by a process killed while saving are removed by the next save to that folder.

Loading never trusts the file: it opens only regular files, reads only the
members it needs, and checks each member's zip entry and ``.npy`` header
(dtype, shape, declared sizes) against what the configuration implies
before reading or allocating anything; every failure is a ValueError.
"""

import os
import stat
import tempfile
import time
import zipfile

import numpy as np

FORMAT = "cyprop.Network"
VERSION = 1
_KEYS = {"format", "version", "layer_sizes", "hidden_activation", "output_activation",
         "loss", "dtype", "bias", "parameters"}
_TMP_PREFIX = ".cyprop-"
_TMP_SUFFIX = ".npz.tmp"
# A temporary of a dead process is removed once it is this old (seconds).
_STALE_AGE = 60.0
# Bytes allowed for one small member (strings, scalars, layer_sizes).
_SMALL_MEMBER = 1 << 20
# Largest .npy header accepted (numpy writes 64-byte aligned headers well under this).
_MAX_HEADER = 1 << 16


def target_path(path):
    """The file ``save`` would replace for ``path``; ValueError if it may not be replaced.

    Accepts str, bytes and path-like objects.  A symlink resolves to its
    target; what is there must be a regular file or nothing, in an existing
    folder.  Cheap: ``cyprop train`` calls it on ``--out`` before training.
    """
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        raise TypeError(f"path must be a str, bytes or os.PathLike, got {type(path).__name__}") from None
    if path == "":
        raise ValueError("path is empty")
    real = os.path.realpath(path) if os.path.islink(path) else path
    try:
        st = os.stat(real)
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(real))
        if not os.path.isdir(folder):
            raise ValueError(f"cannot write {path!r}: folder {folder!r} does not exist") from None
        return real
    except OSError as exc:
        raise ValueError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"refusing to save over {path!r}: it is {_kind(st.st_mode)}, not a "
                         "regular file")
    return real


def _kind(mode):
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _umask():
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # (not thread-safe, hence /proc first)
    os.umask(mask)
    return mask


def _remove_stale_temporaries(folder):
    """Remove ``.cyprop-<pid>-*.npz.tmp`` files of dead processes (older than a minute)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    now = time.time()
    for name in names:
        if not (name.startswith(_TMP_PREFIX) and name.endswith(_TMP_SUFFIX)):
            continue
        pid = name[len(_TMP_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        full = os.path.join(folder, name)
        try:
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > _STALE_AGE:
                os.unlink(full)
        except OSError:
            pass


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


def save(net, path, extra=None):
    """Write ``net`` to ``path`` via a temporary file in the same folder and a rename.

    ``extra`` maps further field names to arrays stored beside the network's
    (for files that wrap a network, such as the models of ``cyprop train``);
    :func:`load` ignores them.
    """
    path = target_path(path)
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
    _remove_stale_temporaries(folder)
    fd, tmp = tempfile.mkstemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", suffix=_TMP_SUFFIX, dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
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


class _Archive:
    """A zip archive of ``.npy`` members, read with every size checked first."""

    def __init__(self, path, what="cyprop network file"):
        self.path = path
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise ValueError(f"{path!r} cannot be read: {exc.strerror or exc}") from None
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise ValueError(f"{path!r} is {_kind(st.st_mode)}, not a {what}")
        self._file = os.fdopen(fd, "rb")
        try:
            head = self._file.read(8)
            self._file.seek(0)
            if head[:4] != b"PK\x03\x04" and head[:4] != b"PK\x05\x06":
                raise ValueError(f"{path!r} is not a {what}: {_describe(head)}")
            try:
                self._zip = zipfile.ZipFile(self._file)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
                raise ValueError(f"{path!r} is not a readable {what}: damaged zip "
                                 f"archive ({exc})") from None
        except BaseException:
            self._file.close()
            raise
        self.files = {name[:-4] for name in self._zip.namelist() if name.endswith(".npy")}

    def close(self):
        self._zip.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def array(self, key, max_bytes, shape=None, dtypes=None):
        """Read member ``key``; ValueError unless it fits ``shape``/``dtypes`` and ``max_bytes``.

        The zip entry's declared size and the ``.npy`` header are checked
        before any data is read, so a member that inflates beyond what its
        header declares is never decompressed past that.
        """
        where = f"{self.path!r}: field {key!r}"
        try:
            info = self._zip.getinfo(key + ".npy")
        except KeyError:
            raise ValueError(f"{self.path!r}: missing field {key!r}") from None
        if info.flag_bits & 0x1:
            raise ValueError(f"{where} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ValueError(f"{where} uses an unsupported zip compression method "
                             f"({info.compress_type})")
        if info.file_size > max_bytes + _MAX_HEADER:
            raise ValueError(f"{where} declares {info.file_size} bytes, more than the "
                             f"{max_bytes + _MAX_HEADER} it can need")
        try:
            with self._zip.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    arr_shape, fortran, dtype = np.lib.format.read_array_header_1_0(
                        f, max_header_size=_MAX_HEADER)
                elif version in ((2, 0), (3, 0)):
                    arr_shape, fortran, dtype = np.lib.format.read_array_header_2_0(
                        f, max_header_size=_MAX_HEADER)
                else:
                    raise ValueError(f"unsupported .npy version {version}")
                if dtype.hasobject or dtype.kind not in "biufU" or dtype.fields is not None \
                        or dtype.subdtype is not None:
                    raise ValueError(f"dtype {dtype} is not allowed")
                if shape is not None and tuple(arr_shape) != tuple(shape):
                    raise ValueError(f"shape {arr_shape}, expected {tuple(shape)}")
                if dtypes is not None and dtype.kind + str(dtype.itemsize) not in dtypes \
                        and dtype.kind not in dtypes:
                    raise ValueError(f"dtype {dtype} is not one of {sorted(dtypes)}")
                count = 1
                for d in arr_shape:
                    count *= int(d)
                n_bytes = count * dtype.itemsize
                if n_bytes > max_bytes:
                    raise ValueError(f"shape {arr_shape} of {dtype} needs {n_bytes} bytes, more "
                                     f"than the {max_bytes} it may have")
                header = f.tell()
                if info.file_size != header + n_bytes:
                    raise ValueError(f"the archive declares {info.file_size} bytes for "
                                     f"{header + n_bytes} of header and data")
                data = f.read(n_bytes)
                if len(data) != n_bytes:
                    raise ValueError("truncated")
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        except (OSError, EOFError, zipfile.BadZipFile, RuntimeError, NotImplementedError,
                zipfile.LargeZipFile, OverflowError, SyntaxError, TypeError) as exc:
            # (zlib.error is an Exception subclass raised as-is by zipfile)
            raise ValueError(f"{where} cannot be read: {exc}") from None
        except Exception as exc:  # zlib.error and the like: a damaged member
            raise ValueError(f"{where} cannot be read: {exc}") from None
        arr = np.frombuffer(data, dtype=dtype).copy() if count else np.empty(0, dtype)
        return arr.reshape(arr_shape, order="F" if fortran else "C")

    def text(self, key):
        value = self.array(key, _SMALL_MEMBER, shape=(), dtypes={"U"})
        return str(value)


def _describe(head):
    """What a file that is not a zip archive looks like, from its first bytes."""
    if not head:
        return "it is empty"
    if head[:2] == b"\x1f\x8b":
        return "it is a gzip-compressed file"
    if head[:6] == b"\x93NUMPY":
        return "it holds a single .npy array, not an .npz archive"
    if head[:1] == b"\x80":
        return "it looks like a Python pickle (never loaded)"
    if head[:3] == b"BZh":
        return "it is a bzip2-compressed file"
    if head[:6] == b"\xfd7zXZ\x00":
        return "it is an xz-compressed file"
    try:
        head.decode("utf-8")
        return "it is a text file (a CSV?), not an .npz archive"
    except UnicodeDecodeError:
        return "it is not an .npz (zip) archive"


def open_archive(path, what="cyprop network file"):
    """An :class:`_Archive` for ``path`` (str, bytes or path-like); ValueError if it is not one.

    ``what`` names the kind of file expected, in the messages.
    """
    path = os.fsdecode(os.fspath(path))
    return _Archive(path, what)


def load(cls, path):
    """Read and check a file written by :func:`save`; return a new ``cls``."""
    with open_archive(path) as archive:
        return _load(cls, archive)


def _load(cls, archive):
    from ._validate import _human, check_memory

    path = archive.path
    missing = _KEYS - archive.files
    if missing:
        raise ValueError(f"{path!r} is not a readable cyprop network file: missing fields "
                         f"{sorted(missing)}")
    fmt = archive.text("format")
    if fmt != FORMAT:
        raise ValueError(f"{path!r} is not a cyprop network file (format {fmt!r})")
    version = archive.array("version", 64, shape=(), dtypes={"i", "u"})
    if int(version) != VERSION:
        raise ValueError(f"{path!r} has format version {version!r}; this cyprop reads version {VERSION}")
    sizes = archive.array("layer_sizes", _SMALL_MEMBER, dtypes={"i", "u"})
    if sizes.ndim != 1 or sizes.size < 2 or np.any(sizes < 1) or np.any(sizes > 2**40):
        raise ValueError(f"{path!r}: layer_sizes is not a list of at least 2 positive integers "
                         f"of sensible size")
    sizes = [int(s) for s in sizes]
    n_params = sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    dtype = archive.text("dtype")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"{path!r}: dtype {dtype!r} is not 'float64' or 'float32'")
    bias = archive.array("bias", 64, shape=(), dtypes={"b"})
    itemsize = np.dtype(dtype).itemsize
    try:
        check_memory(2 * n_params * itemsize, f"the {sizes} network in {path!r}")
    except MemoryError as exc:
        raise ValueError(str(exc)) from None
    config = {"layer_sizes": sizes, "dtype": dtype, "bias": bool(bias),
              **{key: archive.text(key) for key in ("hidden_activation", "output_activation",
                                                      "loss")}}
    # (bounded: the memory for n_params was checked above)
    params = archive.array("parameters", n_params * itemsize, shape=(n_params,),
                           dtypes={"f" + str(itemsize)})
    if not np.isfinite(params).all():
        raise ValueError(f"{path!r}: parameters hold NaN or infinity")
    try:
        return cls._from_config(config, params)
    except (TypeError, ValueError, MemoryError) as exc:
        raise ValueError(f"{path!r} describes an invalid network: {exc}") from None


def read_model_fields(archive, network, keys):
    """The extra fields ``keys`` of a model file (each bounded by the network's sizes).

    A missing field is left out (the caller reports it); ValueError if the
    file is a plain network file.
    """
    if "model_format" not in archive.files:
        raise ValueError(f"{archive.path!r} is a network file without the input and output "
                         "encoding of a model from 'cyprop train'")
    n_units = network.layer_sizes[0] + network.layer_sizes[-1]
    limit = _SMALL_MEMBER + 4096 * n_units  # (names of up to 1024 characters per unit)
    return {key: archive.array(key, limit) for key in keys if key in archive.files}
