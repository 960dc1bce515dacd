"""Online SGD with and without the L2 term on 784-128-10 (issue 12, point 3).

    python bench/l2_online.py [--l2 0.0001] [--epochs 3] [--dtype float64] [--momentum 0.9]

Prints seconds per epoch.  On a busy machine count instructions instead:
``perf stat -e instructions python bench/l2_online.py --l2 0`` against ``--l2 1e-4``
(the script's own set-up is the same for both, so the difference is the kernel's).
"""

import argparse
import time

import numpy as np

import cyprop


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--l2", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2000)
    parser.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    parser.add_argument("--momentum", type=float, default=0.0)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(args.samples, 784))
    Y = rng.integers(0, 10, size=args.samples)
    net = cyprop.Network([784, 128, 10], "sigmoid", "softmax", "cross_entropy",
                         dtype=args.dtype, seed=0)
    start = time.perf_counter()
    net.fit(X, Y, epochs=args.epochs, learning_rate=0.01, momentum=args.momentum,
            l2=args.l2, online_schedule="sequential", shuffle=False)
    took = (time.perf_counter() - start) / args.epochs
    print(f"784-128-10 online {args.dtype} momentum={args.momentum} l2={args.l2}: "
          f"{took * 1e3:.1f} ms/epoch ({args.samples} samples)")


if __name__ == "__main__":
    main()
