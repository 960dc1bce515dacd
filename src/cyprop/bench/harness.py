"""Worker processes, timing and statistics.

Every contender runs in its own worker process (``multiprocessing`` with the
``spawn`` start method), started with the single-thread environment below
plus the contender's own variables (``CYPROP_SIMD``).  The parent sends one
command at a time and waits for the answer, so only one worker computes at
any moment; that is what lets the repetitions be interleaved (round r runs
every contender once, in a rotated order) while each library stays isolated
(its imports, its threads, its crashes).

Threads: every worker starts with the thread environment below (one thread
by default, ``threads`` to change it) set before any library is imported;
the parent's own environment is changed only for the instant of the
``spawn`` and restored at once, so running a comparison never leaves the
calling process's thread settings changed.  Inside the worker, when
threadpoolctl is installed, the BLAS/OpenMP pools are limited as well.

Commands: ``setup`` (build the task's Runner), ``time`` (reset untimed, then
``time.perf_counter`` and ``time.process_time`` around ``run()``: wall-clock
and CPU seconds), ``result`` (final parameters), ``close``.
"""

import importlib
import multiprocessing as mp
import os
import time
import traceback

import numpy as np



def thread_env(threads=1):
    """The environment that pins every library's thread pools to ``threads``."""
    n = str(int(threads))
    env = {
        "OMP_NUM_THREADS": n,
        "OPENBLAS_NUM_THREADS": n,
        "MKL_NUM_THREADS": n,
        "BLIS_NUM_THREADS": n,
        "VECLIB_MAXIMUM_THREADS": n,
        "NUMEXPR_NUM_THREADS": n,
        "NUMBA_NUM_THREADS": n,
        "CYPROP_BENCH_THREADS": n,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "JAX_PLATFORMS": "cpu",
    }
    if int(threads) == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env


# One thread for every library (the default).
THREAD_ENV = thread_env(1)


def apply_thread_env(threads=1):
    """Set the thread environment in this process (bench/run.py does it at its top)."""
    os.environ.update(thread_env(threads))


class _TemporaryEnviron:
    """Set environment variables for a ``with`` block, then restore them exactly."""

    def __init__(self, env):
        self.env = env
        self.saved = {}

    def __enter__(self):
        self.saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        return False


def _limit_pools(threads):
    """Limit the worker's BLAS/OpenMP pools with threadpoolctl, when installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    return threadpool_limits(limits=int(threads))


# ---------------------------------------------------------------------------
# the worker side


def _worker_main(conn, module_name, options, env, pin):
    os.environ.update(env)
    _limit_pools(env.get("CYPROP_BENCH_THREADS", "1"))
    if pin is not None:
        try:
            os.sched_setaffinity(0, {pin})
        except (AttributeError, OSError):
            pass
    runner = None
    try:
        module = importlib.import_module(f"cyprop.bench.contenders.{module_name}")
        ok, note = module.available(options)
        details = {}
        if ok and hasattr(module, "info"):
            try:
                details = module.info(options)
            except Exception as exc:  # informative only
                details = {"info_error": repr(exc)}
        conn.send(("hello", {"available": ok, "note": note, "info": details}))
    except Exception:
        conn.send(("hello", {"available": False, "note": traceback.format_exc(limit=3),
                             "info": {}}))
        return
    while True:
        try:
            msg = conn.recv()
        except EOFError:
            return
        cmd = msg[0]
        try:
            if cmd == "close":
                conn.send(("ok", None))
                return
            if cmd == "setup":
                runner = None
                t0 = time.perf_counter()
                runner = module.Runner(msg[1], options)
                conn.send(("ok", time.perf_counter() - t0))
            elif cmd == "time":
                runner.reset()
                c0 = time.process_time()
                t0 = time.perf_counter()
                runner.run()
                elapsed = time.perf_counter() - t0
                cpu = time.process_time() - c0
                conn.send(("ok", (elapsed, cpu, getattr(runner, "placement", None))))
            elif cmd == "result":
                conn.send(("ok", runner.result()))
            else:
                conn.send(("error", f"unknown command {cmd!r}"))
        except Exception:
            conn.send(("error", traceback.format_exc(limit=6)))


# ---------------------------------------------------------------------------
# the parent side


class WorkerError(RuntimeError):
    pass


class Worker:
    """A contender's worker process."""

    def __init__(self, contender, options, pin=None, start_timeout=300, threads=1):
        ctx = mp.get_context("spawn")
        self.contender = contender
        self.conn, child = ctx.Pipe()
        env = thread_env(threads)
        env.update(contender.env)
        self.proc = ctx.Process(target=_worker_main,
                                args=(child, contender.module, options, env, pin),
                                daemon=True, name=f"bench-{contender.name}")
        # the child's libraries read their thread settings at import, before
        # _worker_main runs: the environment must be right at the spawn
        with _TemporaryEnviron(env):
            self.proc.start()
        child.close()
        kind, hello = self._recv(start_timeout)
        self.available = hello["available"]
        self.note = hello["note"]
        self.info = hello["info"]

    def _recv(self, timeout):
        if not self.conn.poll(timeout):
            self.kill()
            raise WorkerError(f"no answer within {timeout:.0f} s")
        try:
            return self.conn.recv()
        except (EOFError, ConnectionResetError):
            code = self.proc.exitcode
            raise WorkerError(f"worker died (exit code {code})") from None

    def call(self, *msg, timeout=1800):
        try:
            self.conn.send(msg)
        except (BrokenPipeError, OSError):
            raise WorkerError("worker is gone") from None
        status, value = self._recv(timeout)
        if status != "ok":
            raise WorkerError(value)
        return value

    def alive(self):
        return self.proc.is_alive()

    def close(self):
        try:
            if self.proc.is_alive():
                self.call("close", timeout=10)
        except Exception:
            pass
        self.proc.join(5)
        if self.proc.is_alive():
            self.kill()

    def kill(self):
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)


# ---------------------------------------------------------------------------
# statistics


def summarize(times):
    t = np.asarray(times, dtype=float)
    q1, med, q3 = np.percentile(t, [25, 50, 75])
    return {"n": int(t.size), "median": float(med), "q1": float(q1), "q3": float(q3),
            "min": float(t.min()), "max": float(t.max()),
            "iqr_rel": float((q3 - q1) / med) if med > 0 else 0.0}


def paired_ratio(times, base_times):
    """Median over rounds of t/t_base, using rounds where both ran."""
    n = min(len(times), len(base_times))
    if n == 0:
        return None
    r = np.asarray(times[:n]) / np.asarray(base_times[:n])
    return float(np.median(r))


def fmt_time(seconds):
    """Seconds as a short text with a unit: 1.23 s, 45.6 ms, 7.89 us, 12 ns."""
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.3g} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.3g} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.3g} us"
    return f"{seconds * 1e9:.3g} ns"
