"""Batch iRprop- (FANN's default training): cyprop against FANN's fann_train_epoch.

    python bench/rprop_fann.py [--sizes 64,32,10] [--samples 1000] [--epochs 50]
                               [--dtype float64] [--repeat 3]

Both start from the same weights and train a sigmoid network (sigmoid
outputs, squared error) by RPROP over the whole set, epoch after epoch:
cyprop with ``Network.fit(mode="batch", optimizer="rprop")``, FANN with
``fann_train_epoch`` under ``FANN_TRAIN_RPROP`` (what ``fann_train_on_data``
runs), both with FANN's constants.  Prints the best of ``--repeat`` wall
times per epoch and each one's final mean squared error.  FANN needs
Debian's libfann-dev (the driver is bench/c/fann_driver.c, built by
``cyprop.bench.cbuild``).

The two do not follow the same trajectory, by design: FANN's RPROP grows the
step also when one of the two gradients is zero, keeps every step >= 1e-4,
clips weights to +-1500, and clips the sigmoid's output to [0.01, 0.99] in
its derivative; cyprop runs iRprop- as written by Igel & Huesken (its
oracle, ``cyprop._reference.optimizers.rprop_step``).  Compare the times,
and the losses as a sanity check.
"""

import argparse
import ctypes
import time

import numpy as np

import cyprop
from cyprop.bench import cbuild
from cyprop.bench.contenders.fann import load_driver


def _fann(lib_path, sizes, dtype):
    lib, ptr = load_driver(lib_path, dtype)
    size_arr = np.array(sizes, dtype=np.int64)
    handle = lib.fb_create(len(sizes), size_arr.ctypes.data_as(ctypes.POINTER(ctypes.c_long)),
                           0.1)
    if not handle:
        raise RuntimeError("fann_create_standard_array failed")
    return lib, handle, ptr


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="64,32,10")
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = [int(v) for v in args.sizes.split(",")]
    dtype = np.dtype(args.dtype).type
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(args.samples, sizes[0])).astype(dtype)
    labels = rng.integers(0, sizes[-1], size=args.samples)
    Y = np.zeros((args.samples, sizes[-1]), dtype=dtype)
    Y[np.arange(args.samples), labels] = 1
    net0 = cyprop.Network(sizes, "sigmoid", "sigmoid", "squared_error", dtype=args.dtype, seed=0)

    best = np.inf
    for _ in range(args.repeat):
        net = net0.copy()
        start = time.perf_counter()
        net.fit(X, Y, epochs=args.epochs, mode="batch", optimizer="rprop")
        best = min(best, time.perf_counter() - start)
    ours = 2 * net.loss(X, Y) / sizes[-1]   # FANN's MSE: mean over outputs of the squared error
    print(f"{sizes} {args.dtype}, {args.samples} samples, {args.epochs} epochs of batch RPROP")
    print(f"  cyprop  {best / args.epochs * 1e3:9.3f} ms/epoch   final MSE {ours:.5f}")

    libs, _ = cbuild.build(want_c=False)
    path = libs["fann-f64" if dtype == np.float64 else "fann-f32"]
    if path.startswith("error"):
        print(f"  FANN    not run: {path[len('error: '):]}")
        return
    lib, handle, ptr = _fann(path, sizes, dtype)
    try:
        params0 = net0.parameters.copy()
        best, mse = np.inf, np.nan
        for _ in range(args.repeat):
            lib.fb_set_params(handle, params0.ctypes.data_as(ptr))
            start = time.perf_counter()
            mse = lib.fb_train_rprop(handle, X.ctypes.data_as(ptr), Y.ctypes.data_as(ptr),
                                     args.samples, args.epochs)
            best = min(best, time.perf_counter() - start)
        print(f"  FANN    {best / args.epochs * 1e3:9.3f} ms/epoch   final MSE {mse:.5f} "
              "(its own, over the epoch's forward passes)")
    finally:
        lib.fb_destroy(handle)


if __name__ == "__main__":
    main()
