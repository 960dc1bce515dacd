"""Saving, loading and pickling networks: bit-exact round trips, and files that are not networks."""

import zipfile

import numpy as np
import pytest

import cyprop

from _networks import make_problem


# ---------------------------------------------------------------------------
# save and load


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bias", [True, False])
def test_save_load_round_trip_is_bit_exact(tmp_path, dtype, bias):
    net, X, Y = make_problem(8, [4, 6, 5, 3], "leaky_relu", "softmax", "cross_entropy", 10,
                             dtype=dtype, bias=bias)
    net.fit(X, Y, epochs=2, learning_rate=0.05, seed=0)
    path = tmp_path / "net.npz"
    net.save(path)
    back = cyprop.Network.load(path)
    assert back.parameters.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.parameters, net.parameters)
    assert back.parameters.tobytes() == net.parameters.tobytes()
    assert tuple(back.layer_sizes) == (4, 6, 5, 3)
    np.testing.assert_array_equal(back.predict(X), net.predict(X))
    for (a, b), (c, d) in zip(back.gradients(X, Y), net.gradients(X, Y)):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    # the loaded network trains exactly like the original (same activations, loss, bias)
    net.fit(X, Y, epochs=1, seed=5)
    back.fit(X, Y, epochs=1, seed=5)
    np.testing.assert_array_equal(back.parameters, net.parameters)
    # and is independent of it
    back.parameters[0] += 1.0
    assert back.parameters[0] != net.parameters[0]
    # str paths work as well as pathlib paths
    net.save(str(tmp_path / "again.npz"))
    np.testing.assert_array_equal(cyprop.Network.load(str(tmp_path / "again.npz")).parameters,
                                  net.parameters)


def test_save_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "net.npz"
    cyprop.Network([2, 2], seed=0).save(path)
    net = cyprop.Network([3, 4, 1], "relu", seed=1)
    net.save(path)
    np.testing.assert_array_equal(cyprop.Network.load(path).parameters, net.parameters)


def test_load_missing_file(tmp_path):
    with pytest.raises(OSError):
        cyprop.Network.load(tmp_path / "nope.npz")


def test_load_rejects_garbage(tmp_path):
    path = tmp_path / "garbage.npz"
    path.write_bytes(b"this is not a network file\x00\x01\x02" * 10)
    with pytest.raises(ValueError):
        cyprop.Network.load(path)
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(ValueError):
        cyprop.Network.load(empty)


@pytest.mark.parametrize("keep", [0.3, 0.6, 0.9])
def test_load_rejects_truncated_files(tmp_path, keep):
    path = tmp_path / "net.npz"
    cyprop.Network([5, 8, 3], seed=0).save(path)
    data = path.read_bytes()
    cut = tmp_path / "cut.npz"
    cut.write_bytes(data[: int(len(data) * keep)])
    with pytest.raises(ValueError):
        cyprop.Network.load(cut)


def test_load_rejects_corrupted_bytes(tmp_path):
    path = tmp_path / "net.npz"
    net = cyprop.Network([5, 8, 3], seed=0)
    net.save(path)
    data = bytearray(path.read_bytes())
    # flip bytes inside the stored parameter data: the zip's CRC no longer matches
    start = data.find(net.parameters[:4].tobytes())
    assert start > 0
    data[start:start + 16] = bytes(16)
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError):
        cyprop.Network.load(bad)


def _rewrite_npz(src, dst, change):
    """Copy an .npz, passing every stored array through ``change(name, array)``."""
    with np.load(src, allow_pickle=False) as data:
        arrays = {name: change(name, data[name]) for name in data.files}
    np.savez(dst, **{k: v for k, v in arrays.items() if v is not None})


def test_load_rejects_mismatched_contents(tmp_path):
    path = tmp_path / "net.npz"
    net = cyprop.Network([5, 8, 3], seed=0)
    net.save(path)
    n = net.parameters.size

    def shorter(name, arr):
        return arr[:-1] if arr.ndim == 1 and arr.size == n else arr

    def float32(name, arr):
        return arr.astype(np.float32) if arr.ndim == 1 and arr.size == n else arr

    def drop_parameters(name, arr):
        return None if arr.ndim == 1 and arr.size == n else arr

    for i, change in enumerate([shorter, float32, drop_parameters]):
        dst = tmp_path / f"mismatch{i}.npz"
        _rewrite_npz(path, dst, change)
        with pytest.raises(ValueError):
            cyprop.Network.load(dst)
    # an ordinary .npz that is not a network at all
    other = tmp_path / "other.npz"
    np.savez(other, a=np.arange(3))
    with pytest.raises(ValueError):
        cyprop.Network.load(other)
    # a plain .npy, and a zip with something else inside
    npy = tmp_path / "arr.npy"
    np.save(npy, np.arange(3.0))
    with pytest.raises(ValueError):
        cyprop.Network.load(npy)
    z = tmp_path / "z.npz"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError):
        cyprop.Network.load(z)


def test_pickle_round_trip_keeps_weights_as_views_of_parameters():
    import pickle

    net = cyprop.Network([3, 4, 2], "tanh", "sigmoid", dtype="float32", seed=3, bias=False)
    clone = pickle.loads(pickle.dumps(net))
    assert (clone.layer_sizes, clone.hidden_activation, clone.dtype, clone.bias) == \
        (net.layer_sizes, net.hidden_activation, net.dtype, net.bias)
    np.testing.assert_array_equal(clone.parameters, net.parameters)
    # the views still alias the flat buffer, both ways
    clone.weights[0][0, 0] = 42.0
    assert clone.parameters[0] == 42.0
    clone.parameters[-1] = -7.0
    assert clone.biases[-1][-1] == -7.0
    assert net.parameters[0] != 42.0
