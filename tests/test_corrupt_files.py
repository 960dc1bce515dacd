"""Corrupt and malicious model files, and saving over things that are not files.

Every bad file given to ``Network.load``, ``cyprop.cli`` model loading or
``cyprop predict`` must be a ``ValueError`` (exit status 1 for the command
line), found before anything large is allocated; saving never replaces a
FIFO, a device or a directory.
"""

import io
import os
import stat
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from _common import device_node

from cyprop import Network


def _network_file(tmp_path, **override):
    """A valid network file, with members replaced (arrays) or removed (None)."""
    net = Network([2, 3, 1], seed=0)
    path = tmp_path / "net.npz"
    net.save(path)
    with np.load(path) as data:
        fields = {k: data[k] for k in data.files}
    for key, value in override.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    np.savez(path, **fields)
    return path


def _zip_with(path, members, compression=zipfile.ZIP_DEFLATED):
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _npy(array):
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asarray(array), allow_pickle=False)
    return buf.getvalue()


def _valid_members():
    net = Network([2, 3, 1], seed=0)
    return {
        "format.npy": _npy(np.array("cyprop.Network")), "version.npy": _npy(np.array(1)),
        "layer_sizes.npy": _npy(np.array([2, 3, 1])),
        "hidden_activation.npy": _npy(np.array("sigmoid")),
        "output_activation.npy": _npy(np.array("sigmoid")),
        "loss.npy": _npy(np.array("squared_error")), "dtype.npy": _npy(np.array("float64")),
        "bias.npy": _npy(np.array(True)), "parameters.npy": _npy(net.parameters),
    }


def _write(path, data):
    path.write_bytes(data)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def _bomb(path, n_bytes):
    """A network file whose parameters member inflates to ``n_bytes`` (written in 1 MiB chunks)."""
    members = _valid_members()
    header = _npy(np.zeros(13))[:128]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            if name != "parameters.npy":
                zf.writestr(name, data)
        with zf.open("parameters.npy", "w", force_zip64=True) as f:
            f.write(header)
            chunk = b"\0" * (1 << 20)
            for _ in range(n_bytes >> 20):
                f.write(chunk)
    return path


def _load_peak_rss_mib(path):
    """Peak RSS (MiB) of a fresh interpreter that imports cyprop and loads ``path``, and the error."""
    code = ("import resource, sys, cyprop\n"
            "base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "try:\n    cyprop.Network.load(sys.argv[1]); err = 'none'\n"
            "except Exception as exc:\n    err = type(exc).__name__\n"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024, err)\n")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         timeout=300)
    grown, err = out.stdout.split()
    return float(grown), err


BAD = {
    "nan-parameter": lambda t: _network_file(t, parameters=np.full(13, np.nan)),
    "inf-parameter": lambda t: _network_file(t, parameters=np.r_[np.zeros(12), np.inf]),
    "bias-int": lambda t: _network_file(t, bias=np.array(2)),
    "bias-str": lambda t: _network_file(t, bias=np.array("yes")),
    "sizes-overflow": lambda t: _network_file(t, layer_sizes=np.array([2**63 - 1, 2])),
    "sizes-huge": lambda t: _network_file(t, layer_sizes=np.array([10000, 10000])),
    "sizes-negative": lambda t: _network_file(t, layer_sizes=np.array([-2, 3])),
    "sizes-float": lambda t: _network_file(t, layer_sizes=np.array([2., 3.])),
    "params-wrong-dtype": lambda t: _network_file(t, parameters=np.zeros(13, np.float32)),
    "params-wrong-shape": lambda t: _network_file(t, parameters=np.zeros((13, 1))),
    "params-object": lambda t: _zip_with(t / "o.npz", {**_valid_members(), "parameters.npy":
                                                       b"\x93NUMPY\x01\x00v\x00{'descr': '|O', "
                                                       b"'fortran_order': False, 'shape': (13,), }"
                                                       + b" " * 53 + b"\n"}),
    "missing-parameters": lambda t: _network_file(t, parameters=None),
    "format-wrong": lambda t: _network_file(t, format=np.array("something else")),
    "version-2": lambda t: _network_file(t, version=np.array(2)),
    "dtype-int": lambda t: _network_file(t, dtype=np.array("int64")),
    "activation-bad": lambda t: _network_file(t, hidden_activation=np.array("nope")),
    "empty-file": lambda t: _write(t / "e.npz", b""),
    "csv-file": lambda t: _write(t / "c.npz", b"a,b\n1,2\n"),
    "gzip-file": lambda t: _write(t / "g.npz", b"\x1f\x8b\x08\x00" + b"\x00" * 20),
    "pickle-file": lambda t: _write(t / "p.npz", b"\x80\x04\x95"),
    "single-npy": lambda t: _write(t / "s.npz", _npy(np.zeros(3))),
    "truncated": lambda t: (lambda p: _write(p, p.read_bytes()[:300]))(_network_file(t)),
    "bzip2-member": lambda t: _zip_with(t / "b.npz", _valid_members(), zipfile.ZIP_BZIP2),
    "lzma-member": lambda t: _zip_with(t / "l.npz", _valid_members(), zipfile.ZIP_LZMA),
    "member-bomb": lambda t: _bomb(t / "bomb.npz", 64 << 20),
    "directory": lambda t: _mkdir(t / "dir.npz"),
}


@pytest.mark.parametrize("make", BAD.values(), ids=BAD.keys())
def test_bad_file_is_a_value_error(tmp_path, make):
    path = make(tmp_path)
    with pytest.raises(ValueError) as info:
        Network.load(path)
    assert str(path.name) in str(info.value) or "cyprop" in str(info.value)


def test_encrypted_flag(tmp_path):
    path = _network_file(tmp_path)
    data = bytearray(path.read_bytes())
    # set bit 0 (encrypted) of the general purpose flags in every header
    for sig, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = 0
        while (start := data.find(sig, start)) >= 0:
            data[start + offset] |= 1
            start += 4
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError):
        Network.load(path)


def test_text_file_is_not_called_pickled_data(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError) as info:
        Network.load(path)
    assert "pickle" not in str(info.value) and "text" in str(info.value)


def test_huge_declared_network_is_refused_before_allocating(tmp_path):
    # 2.5 KB claiming 10**8 parameters (763 MiB): refused from the .npy header
    path = _network_file(tmp_path, layer_sizes=np.array([10000, 10000]))
    grown, err = _load_peak_rss_mib(path)
    assert err == "ValueError" and grown < 100


def test_inflating_member_is_refused_before_inflating(tmp_path):
    path = _bomb(tmp_path / "bomb.npz", 512 << 20)  # 512 MiB of zeros, ~0.5 MiB zipped
    assert path.stat().st_size < 4 << 20
    grown, err = _load_peak_rss_mib(path)
    assert err == "ValueError" and grown < 100


def test_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "fifo.npz"
    os.mkfifo(fifo)
    result = {}

    def load():
        try:
            Network.load(fifo)
        except Exception as exc:  # noqa: BLE001 - recorded and checked below
            result["exc"] = exc

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # unblock it so the test run can end
        with open(fifo, "wb", buffering=0) as f:
            f.write(b"x")
        pytest.fail("Network.load hangs on a FIFO")
    assert isinstance(result.get("exc"), ValueError)


@given(data=st.binary(min_size=0, max_size=400), cut=st.integers(0, 2000))
def test_random_bytes_and_truncations(tmp_path_factory, data, cut):
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / "f.npz"
    path.write_bytes(data)
    with pytest.raises(ValueError):
        Network.load(path)
    valid = _network_file(folder).read_bytes()
    path.write_bytes(valid[:min(cut, len(valid) - 1)])
    with pytest.raises(ValueError):
        Network.load(path)


@given(position=st.integers(0, 10**6), value=st.integers(0, 255))
def test_flipped_byte_is_caught_or_harmless(tmp_path_factory, position, value):
    folder = tmp_path_factory.mktemp("flip")
    path = _network_file(folder)
    data = bytearray(path.read_bytes())
    data[position % len(data)] = value
    path.write_bytes(bytes(data))
    try:
        net = Network.load(path)
    except ValueError:
        return
    assert np.isfinite(net.parameters).all()


# -- the command line's model files ----------------------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "cyprop", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("name", ["nan-parameter", "sizes-huge", "csv-file", "member-bomb",
                                  "bzip2-member", "bias-int"])
def test_predict_refuses_bad_model(tmp_path, name):
    model = BAD[name](tmp_path)
    data = tmp_path / "in.csv"
    data.write_text("a,b\n1,2\n")
    result = _cli("predict", str(model), str(data), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "error" in result.stderr


# -- saving -----------------------------------------------------------------------------------

def test_save_refuses_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="FIFO"):
        Network([2, 1]).save(fifo)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


def test_save_refuses_directory(tmp_path):
    with pytest.raises(ValueError, match="directory"):
        Network([2, 1]).save(tmp_path)


def test_save_refuses_device(tmp_path):
    device = device_node(tmp_path)
    with pytest.raises(ValueError, match="device"):
        Network([2, 1]).save(device)
    assert stat.S_ISCHR(os.stat(device).st_mode)


def test_save_through_symlink_writes_the_target(tmp_path):
    target = tmp_path / "real.npz"
    Network([2, 1], seed=1).save(target)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    net = Network([2, 1], seed=2)
    net.save(link)
    assert link.is_symlink()
    assert np.array_equal(Network.load(target).parameters, net.parameters)


def test_save_bytes_path(tmp_path):
    path = os.fsencode(tmp_path / "b.npz")
    Network([2, 1], seed=0).save(path)
    assert Network.load(path).layer_sizes == (2, 1)


def test_save_follows_umask(tmp_path):
    old = os.umask(0o022)
    try:
        Network([2, 1]).save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "m.npz").st_mode) == 0o644


def test_stale_temporaries_are_removed(tmp_path):
    # the temporary of a process that no longer exists, an hour old
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".cyprop-{dead}-abcdefgh.npz.tmp"
    stale.write_bytes(b"x" * 1000)
    os.utime(stale, (0, 0))
    fresh = tmp_path / f".cyprop-{os.getpid()}-zzzz.npz.tmp"  # ours, alive: kept
    fresh.write_bytes(b"y")
    Network([2, 1]).save(tmp_path / "m.npz")
    assert not stale.exists() and fresh.exists()


def test_cli_out_checked_before_training(tmp_path):
    data = tmp_path / "d.csv"
    data.write_text("a,y\n" + "".join(f"{i},{i % 2}\n" for i in range(20)))
    os.mkfifo(tmp_path / "fifo")
    result = _cli("train", str(data), "--target", "y", "--epochs", "100000000", "--quiet",
                  "--out", str(tmp_path / "fifo"), cwd=tmp_path)
    assert result.returncode == 1 and "FIFO" in result.stderr, result.stderr
