"""Two timing floors for online SGD: what the weights' arithmetic and memory
traffic cost on this machine, without any training around them.

``kind="blas"`` (matrix-vector throughput)
    Per sample, the BLAS calls one online step needs, on matrices of the
    task's shapes and dtype: ``gemv`` for every layer's ``W a`` (forward),
    ``gemv`` for ``W^T delta`` of every layer but the first (backward), and
    ``ger`` for every layer's rank-1 update ``W -= eta delta a^T``; called
    through ``scipy.linalg.blas`` on NumPy's BLAS (single-threaded), in place,
    with fixed vectors.  No activations, no loss.  The Python call overhead
    (about 1 us per call, 5 calls per sample for two layers) is included, so
    on small layers (digits) this floor is overhead, not BLAS.
``kind="membw"`` (memory traffic)
    Per sample, one read pass and one read-modify-write pass over a buffer as
    large as the weights (bench/c/membw.c, -O3 -march=native): the traffic
    of the textbook online SGD step that the C loops implement (forward reads
    W; the update, with the backward product fused into it, reads and writes
    W).  cyprop defers the first layer's update into the next sample's
    forward pass (one read-modify-write pass over W_0 per sample), so on
    networks dominated by W_0 it can run below this floor.

Neither produces weights: the agreement column says "floor".
"""

import ctypes

import numpy as np


def available(options):
    if options.get("kind") == "blas":
        try:
            import scipy.linalg.blas  # noqa: F401
        except Exception as exc:
            return False, f"scipy not installed ({type(exc).__name__})"
        return True, ""
    path = options.get("libs", {}).get("cbench-native", "error: not built")
    if path.startswith("error"):
        return False, path[len("error: "):]
    return True, ""


def supports(task, options):
    if task["kind"] != "mlp" or task["mode"] != "online":
        return False, "online SGD tasks only"
    return True, ""



def info(options):
    if options.get("kind") == "blas":
        import scipy

        cfg = {}
        try:
            cfg = {k: str(v) for k, v in np.show_config(mode="dicts")["Build Dependencies"]
                   ["blas"].items() if k in ("name", "version")}
        except Exception:
            pass
        return {"scipy": scipy.__version__, "numpy": np.__version__, "blas": cfg}
    return {"library": options.get("libs", {}).get("cbench-native")}


class Runner:
    def __init__(self, task, options):
        self.task = task
        self.kind = options.get("kind")
        self.steps = task["sample_steps"]
        dtype = np.dtype(task["dtype"])
        rng = np.random.default_rng(0)
        sizes = task["sizes"]
        if self.kind == "blas":
            from scipy.linalg import blas

            prefix = "d" if dtype == np.float64 else "s"
            self.gemv = getattr(blas, prefix + "gemv")
            self.ger = getattr(blas, prefix + "ger")
            # W_l is C-ordered (n_out, n_in); its transpose is Fortran-ordered and is what
            # BLAS sees, so no call copies a matrix.
            self.Wt = [np.asarray(w, dtype=dtype).T for w in task["weights"]]
            self.a = [rng.random(n, dtype=dtype) for n in sizes]
            self.d = [rng.random(n, dtype=dtype) * 1e-3 for n in sizes[1:]]
            self.z = [np.zeros(n, dtype=dtype) for n in sizes[1:]]
            self.back = [np.zeros(n, dtype=dtype) for n in sizes[:-1]]
            self.eta = -1e-9
            out = self.ger(self.eta, self.a[0], self.d[0], a=self.Wt[0], overwrite_a=1)
            if not np.shares_memory(out, self.Wt[0]):
                raise RuntimeError("ger copied its matrix: the floor would be wrong")
        else:
            path = options["libs"]["cbench-native"]
            lib = ctypes.CDLL(path)
            lib.membw_run.restype = ctypes.c_double
            lib.membw_run.argtypes = [ctypes.POINTER(ctypes.c_double), ctypes.c_long,
                                      ctypes.c_long]
            n_bytes = task["n_weights"] * dtype.itemsize
            self.buf = rng.random(max(1, n_bytes // 8))
            self.fn = lib.membw_run
            self.ptr = self.buf.ctypes.data_as(ctypes.POINTER(ctypes.c_double))

    def reset(self):
        pass

    def run(self):
        if self.kind == "blas":
            gemv, ger = self.gemv, self.ger
            Wt, a, d, z, back, eta = self.Wt, self.a, self.d, self.z, self.back, self.eta
            n = len(Wt)
            for _ in range(self.steps):
                for l in range(n):
                    gemv(1.0, Wt[l], a[l], beta=0.0, y=z[l], overwrite_y=1, trans=1)
                for l in range(n - 1, 0, -1):
                    gemv(1.0, Wt[l], d[l], beta=0.0, y=back[l], overwrite_y=1, trans=0)
                for l in range(n):
                    ger(eta, a[l], d[l], a=Wt[l], overwrite_a=1)
        else:
            self.fn(self.ptr, self.buf.shape[0], self.steps)

    def result(self):
        return {"floor": True}
