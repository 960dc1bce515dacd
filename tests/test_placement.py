"""Where the network's buffers lie modulo 4096 (issue 10: 4K aliasing).

The kernels' streams are placed by construction (cyprop._aligned, and the
online kernel's copies of the input row, _plan_inputs); these tests check the
addresses, not the speed: for every hot loop, no load stream may sit within
the store window behind a stream the same loop stores.
"""

import pickle

import numpy as np
import pytest

import cyprop
from cyprop import _aligned
from cyprop._fit_plan import FitScratch
from cyprop._kernels import kernels as _k

PAGE = _aligned.PAGE


def placed(n, dtype, offset):
    """A plain (non-_aligned) array of n values at ``offset`` bytes mod 4096."""
    itemsize = np.dtype(dtype).itemsize
    raw = np.empty(n * itemsize + 2 * PAGE, dtype=np.uint8)
    start = (offset - raw.ctypes.data) % PAGE
    return raw[start:start + n * itemsize].view(dtype)


def first_layer_bad(net, params, velocity, work):
    """The pairs of the first layer's deferred-update loop that could alias,
    from the kernel's own placement (input_streams), row by row."""
    rows = _k.input_streams(params, velocity, work, *net._layout_args())
    bad = []
    for j, (w, v, x, old) in enumerate(rows):
        stores = {"W": w} if v < 0 else {"W": w, "V": v}
        loads = dict(stores, x=x, x_prev=old)
        bad += [(j, *pair) for pair in _aligned.check_streams(loads, stores)]
    return bad


# ---------------------------------------------------------------------------
# the allocation helper


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int8])
def test_aligned_empty_lands_on_the_offset(dtype):
    keep = []
    for offset in list(range(0, PAGE, 64)) + list(_aligned.OFFSETS):
        for n in (0, 1, 7, 1000):
            keep.append(np.empty(n * 3 + 1))   # move the allocator along
            a = _aligned.empty(n, dtype, offset)
            want = _aligned.OFFSETS.get(offset, offset)
            assert a.shape == (n,) and a.dtype == dtype and a.flags.c_contiguous
            assert a.flags.writeable
            if n:
                assert _aligned.residue(a) == want
                a[...] = 1                     # the whole of it is ours
    z = _aligned.zeros(100, np.float64, 192)
    assert not z.any() and _aligned.residue(z) == 192


@pytest.mark.parametrize("offset", [-64, 4096, 8, 100, "nowhere"])
def test_aligned_empty_refuses_bad_offsets(offset):
    with pytest.raises((ValueError, KeyError)):
        _aligned.empty(10, np.float64, offset)


def test_the_kernels_and_python_agree_on_the_window():
    assert _k.store_window() == (_aligned.PAGE, _aligned.LOAD_AHEAD, _aligned.STORE_WINDOW)


def test_state_offsets_are_a_store_window_apart_both_ways():
    # buffers stored and loaded in one loop (W, velocity, gradient, a second
    # state): each pair at least STORE_WINDOW apart in both directions
    names = ["params", "velocity", "grad", "second"]
    offsets = {n: _aligned.OFFSETS[n] for n in names}
    assert _aligned.check_streams(offsets, offsets) == []
    # the check can fail: a velocity at the parameters' own residue plus 64
    assert _aligned.check_streams({"W": 0, "V": 64}, {"W": 0, "V": 64})


# ---------------------------------------------------------------------------
# the network's own buffers


SHAPES = [[2, 4, 1], [64, 32, 10], [784, 128, 10], [3, 5, 4, 2], [100, 7, 3]]


def residues(net):
    return _aligned.residue(net.parameters)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", SHAPES)
def test_parameters_are_placed_and_views_still_views(tmp_path, dtype, sizes):
    net = cyprop.Network(sizes, dtype=dtype, seed=1)
    want = _aligned.OFFSETS["params"]
    others = [net.copy(), pickle.loads(pickle.dumps(net)), net._as_float64()]
    net.save(tmp_path / "n.npz")
    others.append(cyprop.Network.load(tmp_path / "n.npz"))
    for n in [net] + others:
        assert residues(n) == want
        assert n.parameters.flags.c_contiguous and n.parameters.flags.writeable
        for w, b in zip(n.weights, n.biases):
            assert np.shares_memory(w, n.parameters) and np.shares_memory(b, n.parameters)
        np.testing.assert_array_equal(n.parameters, net.parameters.astype(n.dtype))
    # assignment copies into the placed buffer
    before = net.parameters.ctypes.data
    net.parameters = np.ones(net.n_parameters)
    assert net.parameters.ctypes.data == before and (net.parameters == 1).all()
    assert net.weights[0].ctypes.data == before


@pytest.mark.parametrize("mode", ["online", "batch", "minibatch"])
def test_fit_scratch_is_placed(mode):
    net = cyprop.Network([5, 6, 2], seed=0)
    X = np.random.default_rng(0).random((20, 5))
    Y = np.random.default_rng(1).random((20, 2))
    net.fit(X, Y, epochs=1, momentum=0.5, mode=mode, learning_rate=0.1)
    velocity = net._train_state[0]
    assert _aligned.residue(velocity) == _aligned.OFFSETS["velocity"]
    # warm start keeps the same (placed) velocity
    net.fit(X, Y, epochs=1, momentum=0.5, mode=mode, warm_start=True)
    assert net._train_state[0] is velocity
    scratch = FitScratch(net, 3, 0 if mode == "online" else 20, velocity)
    assert _aligned.residue(scratch.backup) == _aligned.OFFSETS["backup"]
    assert _aligned.residue(scratch.work) == _aligned.OFFSETS["work"]
    if mode != "online":
        assert _aligned.residue(scratch.grad) == _aligned.OFFSETS["grad"]
        # the batch step's apply loop stores and loads W, V and the gradient
        streams = {"W": residues(net), "V": _aligned.residue(velocity),
                   "G": _aligned.residue(scratch.grad)}
        assert _aligned.check_streams(streams, streams) == []


# ---------------------------------------------------------------------------
# the online kernel's first layer: W_j (and V_j) stored, x and the previous x loaded


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", SHAPES + [[783, 50, 3], [1024, 16, 1], [257, 33, 2],
                                            [1, 3, 1], [4096, 9, 2]])
@pytest.mark.parametrize("momentum", [False, True])
def test_first_layer_streams_never_alias(dtype, sizes, momentum):
    net = cyprop.Network(sizes, dtype=np.dtype(dtype).name, seed=0)
    n = net.n_parameters
    work_len = _k.workspace_size(net._sizes)
    # the network's own buffers
    velocity = _aligned.zeros(n if momentum else 0, dtype, "velocity")
    assert first_layer_bad(net, net.parameters, velocity, net._workspace()) == []
    # and any placement of the parameters (the kernel picks from the
    # addresses it is given), the velocity at the offset _aligned gives it,
    # the workspace anywhere 64-byte aligned
    for p_off in range(0, PAGE, 64 * 7):
        for w_off in (0, 64, 2048, 4032):
            params = placed(n, dtype, p_off)
            params[...] = net.parameters
            v = placed(n if momentum else 0, dtype,
                       (p_off + _aligned.OFFSETS["velocity"]) % PAGE)
            work = placed(work_len, dtype, w_off)
            assert first_layer_bad(net, params, v, work) == [], (p_off, w_off)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_stream_check_fails_on_the_old_layout(dtype):
    # Before the copies the loop read x straight from X (and the previous
    # sample's row of X): wherever X lies, some row of 784-128-10's W_0
    # (residues 128 bytes apart) has it behind its stores.  This is the
    # check the test above applies; it must be able to fail.
    net = cyprop.Network([784, 128, 10], dtype=np.dtype(dtype).name, seed=0)
    itemsize = np.dtype(dtype).itemsize
    n_in = 784
    rows = _k.input_streams(net.parameters, net.parameters[:0], net._workspace(),
                            *net._layout_args())
    for x_off in range(0, PAGE, 8):
        bad = 0
        for w, _, _, _ in rows:
            # X row q at x_off, row q - 1 just before it (shuffle=False)
            loads = {"W": w, "x": x_off, "x_prev": (x_off - n_in * itemsize) % PAGE}
            bad += len(_aligned.check_streams(loads, {"W": w}))
        assert bad > 0, x_off
    # and the copies the kernel did not pick are not all safe: the choice matters
    net = cyprop.Network([784, 128, 10], seed=0)
    work = net._workspace()
    rows = _k.input_streams(net.parameters, net.parameters[:0], work, *net._layout_args())
    picked = {x for _, _, x, _ in rows}
    assert len(picked) == 2
    unsafe = [1 for w, _, x, _ in rows for other in picked - {x}
              if _aligned.check_streams({"x": other}, {"W": w})]
    assert unsafe


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_fit_does_not_depend_on_where_X_lies(dtype, momentum):
    # the kernel reads the sample through its copies: X at any 8-byte offset
    # (a view of a larger buffer) trains bit for bit alike
    rng = np.random.default_rng(3)
    X0 = rng.random((30, 37)).astype(dtype)
    Y0 = rng.random((30, 3)).astype(dtype)
    ref = None
    for x_off in (0, 8, 16, 24, 520, 2048, 4088):
        X = placed(X0.size, dtype, x_off).reshape(X0.shape)
        X[...] = X0
        net = cyprop.Network([37, 9, 3], dtype=dtype, seed=2)
        net.fit(X, Y0, epochs=3, learning_rate=0.2, momentum=momentum, shuffle=True, seed=1)
        if ref is None:
            ref = net.parameters.copy()
        else:
            np.testing.assert_array_equal(net.parameters, ref)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_second_optimizer_state_is_placed_whatever_the_parameter_count(dtype):
    # Adam's v and iRprop-'s step sizes start at OFFSETS["second"] modulo
    # 4096 whatever n_params (they followed m / the signs at n_params, whose
    # byte length put them anywhere); the kernels compute the same offset
    from cyprop import _aligned
    from cyprop._kernels import kernels
    itemsize = np.dtype(dtype).itemsize
    for n in [0, 1, 5, 7, 255, 256, 511, 512, 513, 1000, 7510, 101770, 4096 * 3 + 17]:
        second = _aligned.second_offset(n, dtype)
        assert second == kernels.second_offset(n, itemsize)
        assert n <= second < n + 4096 // itemsize
        if n:   # (an empty slice's address means nothing)
            buf = _aligned.zeros(second + n, dtype, "velocity")
            assert _aligned.residue(buf[second:]) == _aligned.OFFSETS["second"]
    # and a fit's Adam state is laid out so
    net = cyprop.Network([13, 7, 3], seed=0, dtype=dtype)
    X = np.random.default_rng(0).random((20, 13))
    Y = np.eye(3)[np.arange(20) % 3]
    net.fit(X, Y, epochs=2, optimizer="adam", learning_rate=0.01)
    state = net._train_state[0]
    second = _aligned.second_offset(net.n_parameters, dtype)
    assert state.size == second + net.n_parameters
    assert _aligned.residue(state) == _aligned.OFFSETS["velocity"]
    assert _aligned.residue(state[second:]) == _aligned.OFFSETS["second"]
