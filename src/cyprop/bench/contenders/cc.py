"""Our plain-C loops (bench/c/mlp.c, rbf.c), called through ctypes.

Options: ``flags`` ("O3" or "native": which build of the library) and
``fused`` (False: the per-sample textbook order; True: backward pass fused
into the update; "deferred": fused, and the first layer's update applied in
the next sample's forward pass, online SGD only).  The library is compiled by bench/cbuild.py at the start of the run;
its path arrives in ``options["libs"]``.  One ctypes call runs the whole
training; the arguments' pointers are prepared before timing.
"""

import ctypes

import numpy as np

from ._util import flat_params, mlp_result, unflatten

ACT = {"identity": 0, "sigmoid": 1, "tanh": 2, "relu": 3, "rbf": 5, "softmax": 6}
LOSS = {"squared_error": 0, "cross_entropy": 1}

_FUSED = {False: 0, True: 1, "deferred": 2}   # mlp.c's `fused` argument
_c_long_p = ctypes.POINTER(ctypes.c_long)
_c_int_p = ctypes.POINTER(ctypes.c_int)


def _lib_path(options):
    return options.get("libs", {}).get(f"cbench-{options['flags']}", "error: not built")


def available(options):
    path = _lib_path(options)
    if path.startswith("error"):
        return False, path[len("error: "):]
    return True, ""


def supports(task, options):
    if task["kind"] == "mlp" and (task["hidden"] not in ACT or task["output"] not in ACT):
        return False, "activation not implemented in bench/c"
    if options.get("fused") == "deferred" and (task["kind"] != "mlp" or task["mode"] != "online"):
        return False, "online SGD tasks only"
    return True, ""



def info(options):
    return {"library": _lib_path(options), "fused": options.get("fused", False)}


def _ptr(a, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


class Runner:
    def __init__(self, task, options):
        self.task = task
        lib = ctypes.CDLL(_lib_path(options))
        self.lib = lib
        kind = task["kind"]
        if kind == "rbf_train":
            fn = lib.rbf_train
            fn.restype = None
            self.path = np.zeros((task["n_iter"] + 1, 3))
            n = task["x"].shape[0]
            self._x, self._t = np.ascontiguousarray(task["x"]), np.ascontiguousarray(task["t"])
            self.args = (_ptr(self._x, ctypes.c_double), _ptr(self._t, ctypes.c_double),
                         ctypes.c_long(n), ctypes.c_double(task["wh"]),
                         ctypes.c_double(task["bo"]), ctypes.c_double(task["lr"]),
                         ctypes.c_long(task["n_iter"]), _ptr(self.path, ctypes.c_double))
            self.fn = fn
            return
        if kind == "rbf_surface":
            fn = lib.rbf_loss_grid
            fn.restype = None
            self._x, self._t = np.ascontiguousarray(task["x"]), np.ascontiguousarray(task["t"])
            self._wh = np.ascontiguousarray(task["wh_grid"]).ravel()
            self._bo = np.ascontiguousarray(task["bo_grid"]).ravel()
            self.surface = np.zeros(task["wh_grid"].shape)
            self.args = (_ptr(self._x, ctypes.c_double), _ptr(self._t, ctypes.c_double),
                         ctypes.c_long(self._x.shape[0]), _ptr(self._wh, ctypes.c_double),
                         _ptr(self._bo, ctypes.c_double), ctypes.c_long(self._wh.shape[0]),
                         _ptr(self.surface, ctypes.c_double))
            self.fn = fn
            return
        dtype = np.dtype(task["dtype"])
        ctype = ctypes.c_double if dtype == np.float64 else ctypes.c_float
        fn = lib.mlp_train_d if dtype == np.float64 else lib.mlp_train_f
        fn.restype = ctypes.c_int
        sizes = task["sizes"]
        self.params0 = flat_params(task["weights"], task["biases"], dtype)
        self.params = self.params0.copy()
        self._sizes = np.array(sizes, dtype=np.int64)
        n_layers = len(sizes) - 1
        self._acts = np.array([ACT[task["hidden"]]] * (n_layers - 1) + [ACT[task["output"]]],
                              dtype=np.int32)
        self._X = np.ascontiguousarray(task["X"], dtype=dtype)
        self._Y = np.ascontiguousarray(task["Y"], dtype=dtype)
        self.epoch_loss = np.zeros(task["epochs"])
        batch = 0 if task["mode"] == "online" else self._X.shape[0]
        self.args = (ctypes.c_long(n_layers), _ptr(self._sizes, ctypes.c_long),
                     _ptr(self._acts, ctypes.c_int), ctypes.c_int(LOSS[task["loss"]]),
                     ctypes.c_long(batch), ctypes.c_int(_FUSED[options.get("fused", False)]),
                     ctypes.c_int(1), _ptr(self.params, ctype), _ptr(self._X, ctype),
                     _ptr(self._Y, ctype), ctypes.c_long(self._X.shape[0]),
                     ctypes.c_long(task["epochs"]), ctypes.c_double(task["lr"]),
                     _ptr(self.epoch_loss, ctypes.c_double))
        self.fn = fn

    def reset(self):
        if self.task["kind"] == "mlp":
            self.params[...] = self.params0

    def run(self):
        rc = self.fn(*self.args)
        if rc is not None and rc != 0:
            raise RuntimeError(f"mlp_train returned {rc}")

    def result(self):
        kind = self.task["kind"]
        if kind == "rbf_train":
            return {"path": self.path.copy()}
        if kind == "rbf_surface":
            return {"surface": self.surface.copy()}
        res = mlp_result(*unflatten(self.params, self.task["sizes"]))
        res["epoch_loss"] = [float(v) for v in self.epoch_loss]
        return res
