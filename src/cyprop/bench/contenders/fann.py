"""FANN, the C library (Debian's libfann-dev), incremental training (tasks 3-4).

Driven by bench/c/fann_driver.c through ctypes: one ``fann_train`` call per
sample, samples in order, learning momentum 0, sigmoid units with steepness
0.5 (the ordinary logistic function), squared error.  FANN has no softmax
output, so it trains the task's network with a sigmoid output layer and the
squared error; its agreement is checked against cyprop trained with those
same maths, and it still differs by design: FANN clips the sigmoid's output
to [0.01, 0.99] inside the derivative and keeps its learning rate as a C
float.
"""

import ctypes

import numpy as np

from ._util import flat_params, mlp_result, unflatten

MATHS = {"output": "sigmoid", "loss": "squared_error"}
DESIGN_NOTE = ("no softmax in FANN: sigmoid output + squared error (checked against cyprop "
               "on those maths); FANN clips y to [0.01, 0.99] in the sigmoid derivative; "
               "learning rate stored as a C float")


def _lib_path(task_dtype, options):
    key = "fann-f64" if task_dtype == "float64" else "fann-f32"
    return options.get("libs", {}).get(key, "error: not built")


def available(options):
    path = _lib_path("float64", options)
    if path.startswith("error"):
        return False, path[len("error: "):]
    return True, ""


def supports(task, options):
    if task["kind"] != "mlp" or task.get("group") not in ("digits", "synth784"):
        return False, "tasks 3-4 only"
    if task["hidden"] != "sigmoid":
        return False, "hidden activation not mapped to FANN"
    return True, ""


def maths(task, options):
    return dict(MATHS)


def info(options):
    return {"library": "libfann 2.2 (Debian libfann-dev)", "steepness": 0.5,
            "training": "FANN_TRAIN_INCREMENTAL", "design": DESIGN_NOTE}


def load_driver(lib_path, dtype):
    """The FANN driver (bench/c/fann_driver.c) at ``lib_path`` with its
    functions' signatures declared, and the pointer type of ``dtype``'s values:
    ``(lib, ptr)``."""
    ctype = ctypes.c_double if np.dtype(dtype) == np.float64 else ctypes.c_float
    ptr = ctypes.POINTER(ctype)
    lib = ctypes.CDLL(lib_path)
    lib.fb_create.restype = ctypes.c_void_p
    lib.fb_create.argtypes = [ctypes.c_uint, ctypes.POINTER(ctypes.c_long), ctypes.c_double]
    lib.fb_set_params.restype = ctypes.c_long
    lib.fb_set_params.argtypes = [ctypes.c_void_p, ptr]
    lib.fb_get_params.restype = ctypes.c_long
    lib.fb_get_params.argtypes = [ctypes.c_void_p, ptr]
    lib.fb_train.restype = None
    lib.fb_train.argtypes = [ctypes.c_void_p, ptr, ptr, ctypes.c_long, ctypes.c_long]
    lib.fb_train_rprop.restype = ctypes.c_double
    lib.fb_train_rprop.argtypes = [ctypes.c_void_p, ptr, ptr, ctypes.c_long, ctypes.c_long]
    lib.fb_run.restype = None
    lib.fb_run.argtypes = [ctypes.c_void_p, ptr, ptr]
    lib.fb_destroy.restype = None
    lib.fb_destroy.argtypes = [ctypes.c_void_p]
    return lib, ptr


class Runner:
    def __init__(self, task, options):
        self.task = task
        dtype = np.dtype(task["dtype"])
        lib, ptr = load_driver(_lib_path(task["dtype"], options), dtype)
        self.lib, self.ptr = lib, ptr
        sizes = task["sizes"]
        self._sizes = np.array(sizes, dtype=np.int64)
        sizes_p = self._sizes.ctypes.data_as(ctypes.POINTER(ctypes.c_long))
        self.h = lib.fb_create(len(sizes), sizes_p, task["lr"])
        if not self.h:
            raise RuntimeError("fann_create_standard_array failed")
        self.params0 = flat_params(task["weights"], task["biases"], dtype)
        self.params = np.zeros_like(self.params0)
        self.X = np.ascontiguousarray(task["X"], dtype=dtype)
        self.Y = np.ascontiguousarray(task["Y"], dtype=dtype)
        self._Xp = self.X.ctypes.data_as(ptr)
        self._Yp = self.Y.ctypes.data_as(ptr)
        n_params = self.params0.shape[0]
        mapped = lib.fb_set_params(self.h, self.params0.ctypes.data_as(ptr))
        if mapped != n_params:
            raise RuntimeError(f"mapped {mapped} FANN connections onto {n_params} parameters")
        self._check_forward()

    def _check_forward(self):
        """FANN's forward pass from the task's weights must equal the sigmoid network's."""
        task = self.task
        x = np.ascontiguousarray(self.X[0])
        out = np.zeros(task["sizes"][-1], dtype=self.X.dtype)
        self.lib.fb_run(self.h, x.ctypes.data_as(self.ptr), out.ctypes.data_as(self.ptr))
        a = x.astype(np.float64)
        for l, (W, b) in enumerate(zip(task["weights"], task["biases"])):
            a = 1.0 / (1.0 + np.exp(-(W @ a + b)))
        tol = 1e-12 if self.X.dtype == np.float64 else 1e-5
        if not np.allclose(out, a, rtol=tol, atol=tol):
            raise RuntimeError(f"FANN forward pass disagrees with the task's network: "
                               f"{out[:3]} vs {a[:3]}")

    def reset(self):
        self.lib.fb_set_params(self.h, self.params0.ctypes.data_as(self.ptr))

    def run(self):
        self.lib.fb_train(self.h, self._Xp, self._Yp, self.X.shape[0], self.task["epochs"])

    def result(self):
        self.lib.fb_get_params(self.h, self.params.ctypes.data_as(self.ptr))
        return mlp_result(*unflatten(self.params, self.task["sizes"]))
