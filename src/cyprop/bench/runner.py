"""The comparison: every selected contender on every selected task, the same
maths from the same initial weights, checked to agree with cyprop and timed
side by side in one run.

:func:`run_comparison` returns the results dictionary (the JSON file's
content); :mod:`cyprop.bench.report` turns it into tables and plots.  Used by
``cyprop bench --against/--task/--layers`` (:mod:`cyprop.bench.cli`) and by
the repository's ``bench/run.py``.
"""

import datetime
import json
import os
import platform
import re
import socket
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

from . import cbuild
from . import contenders as registry
from . import tasks as taskdefs
from .harness import Worker, WorkerError, fmt_time, paired_ratio, summarize, thread_env
from .report import _g

BASE = "cyprop"

# the scaling sweeps plot one line per contender: the O3 C builds (close to
# the native ones) are left out to keep the plot readable
SCALING_CONTENDERS = {"cyprop", "cyprop-baseline", "reference", "c-persample-native",
                      "c-fused-native", "c-deferred-native", "numba", "torch", "jax", "blas-floor", "membw-floor"}

# Agreement tolerances (relative): final loss, and the largest parameter
# difference over the largest parameter magnitude.  Contenders that run the
# same maths differ only by summation order (SIMD lanes, BLAS, autodiff) and
# libm rounding; over these runs that stays below ~1e-14 in float64 and ~3e-5
# in float32 (the float64 reference against float32 cyprop), so the
# tolerances leave a margin of about 1000x (float64) and 40x (float32).  A
# change in the maths (a learning rate stored as a float, a clipped
# derivative) shows up far above them.
# contenders whose first call compiles (never kept as a repetition)
JIT_CONTENDERS = {"numba", "jax"}

TOL = {
    "float64": {"loss": 1e-12, "params": 1e-11},
    "float32": {"loss": 1e-4, "params": 1e-3},
    "rbf": {"path": 1e-12, "surface": 1e-12},
}

DESIGN_NOTES = {
    "reference": {"float32": "float64 maths (the reference has no float32 path)"},
    "sklearn": "MLPClassifier: same maths (softmax + log-loss, logistic hidden, "
               "w -= eta * grad per sample); fit() re-validates input and binarises labels; "
               "grad = a^T delta rounded before eta",
}


# ---------------------------------------------------------------------------
# helpers


def machine_id():
    """Host name plus a short CPU name: `vm-amd-epyc`."""
    name = socket.gethostname() or platform.node() or "machine"
    model_name = cpu_model_name()
    cpu = model_name.lower()
    for noise in ("(r)", "(tm)", "processor", "cpu", "with radeon graphics"):
        cpu = cpu.replace(noise, " ")
    cpu = "-".join(cpu.split()[:3])
    ident = f"{name}-{cpu}" if cpu else name
    family, model = _cpu_family_model()
    if family is not None and not any(ch.isdigit() for ch in model_name):
        # a virtual machine's bare "AMD EPYC" names several generations:
        # the family and model numbers tell them apart (one file per machine)
        ident += f"-f{family}m{model}"
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", ident).strip("-")[:48]


def _cpuinfo_field(name):
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    except OSError:
        pass
    return None


def _cpu_family_model():
    family, model = _cpuinfo_field("cpu family"), _cpuinfo_field("model")
    if family is None or model is None or not (family.isdigit() and model.isdigit()):
        return None, None
    return int(family), int(model)


def cpu_model_name():
    """The CPU's model name as /proc/cpuinfo gives it (platform's elsewhere)."""
    return _cpuinfo_field("model name") or platform.processor()


def cpu_model():
    """The CPU's model name, with the family and model numbers and the widest
    vector extension when the name alone is generic (a VM's "AMD EPYC" is any
    of several generations): `AMD EPYC (family 26, model 2; AVX-512)`."""
    name = cpu_model_name()
    family, model = _cpu_family_model()
    if family is None or any(ch.isdigit() for ch in name):
        return name
    flags = cpu_flags()
    widest = ("AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None)
    extra = f"; {widest}" if widest else ""
    return f"{name} (family {family}, model {model}{extra})"


def cpu_flags():
    flags = set((_cpuinfo_field("flags") or "").split())
    return sorted(flags & {"sse2", "avx", "avx2", "fma", "avx512f"})


def log(msg):
    print(msg, flush=True)


def simd_level():
    """The SIMD build cyprop's dispatcher picks in this process (and why)."""
    from .._kernels import simd

    return simd


class Progress:
    """One line on stderr: which task, which contender, time left (estimated).

    On a terminal the line is rewritten in place; otherwise one line is
    printed per task and contender (a log stays readable)."""

    def __init__(self, n_tasks, enabled=True, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.n_tasks = n_tasks
        self.done_tasks = 0
        self.t0 = time.perf_counter()
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last = None

    def task_done(self):
        self.done_tasks += 1

    def update(self, task, contender, what, task_left_s=None):
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.t0
        left = ""
        if self.done_tasks:
            per_task = elapsed / self.done_tasks
            est = per_task * (self.n_tasks - self.done_tasks)
            if task_left_s is not None:
                est = task_left_s + per_task * (self.n_tasks - self.done_tasks - 1)
            left = f", about {est:.0f} s left"
        elif task_left_s is not None:
            left = f", this task about {task_left_s:.0f} s left"
        line = (f"[{self.done_tasks + 1}/{self.n_tasks}] {task}: {contender} {what}"
                f" ({elapsed:.0f} s{left})")
        if self.tty:
            print("\r\033[K" + line[:150], end="", file=self.stream, flush=True)
        elif (task, contender) != self.last and not what.startswith("run "):
            print(line, file=self.stream, flush=True)
        self.last = (task, contender)

    def close(self):
        if self.tty:
            print("\r\033[K", end="", file=self.stream, flush=True)


def rel_diff(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    scale = max(float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)


def flat(res):
    return np.concatenate([np.ravel(w) for w in res["weights"]]
                          + [np.ravel(b) for b in res["biases"]])


def evaluate(task, res, maths):
    """Loss of a contender's final parameters, by the common evaluator."""
    if task["kind"] == "mlp":
        return taskdefs.mlp_loss(res["weights"], res["biases"], task["X"], task["Y"],
                                 maths["hidden"], maths["output"], maths["loss"])
    if task["kind"] == "rbf_train":
        path = res["path"]
        return taskdefs.rbf_loss(task["x"], task["t"], path[-1, 0], path[-1, 1])
    return float(np.mean(res["surface"]))


def compare(task, res, base_res, loss, base_loss):
    """(loss_rel_diff, param_rel_diff, within_tolerance, tolerance text)."""
    if task["kind"] == "rbf_train":
        d = rel_diff(res["path"], base_res["path"])
        tol = TOL["rbf"]["path"]
        return abs(loss - base_loss) / abs(base_loss), d, d <= tol, f"path {tol:.0e}"
    if task["kind"] == "rbf_surface":
        d = rel_diff(res["surface"], base_res["surface"])
        tol = TOL["rbf"]["surface"]
        return abs(loss - base_loss) / abs(base_loss), d, d <= tol, f"surface {tol:.0e}"
    tol = TOL[task["dtype"]]
    dl = abs(loss - base_loss) / abs(base_loss)
    dp = rel_diff(flat(res), flat(base_res))
    ok = dl <= tol["loss"] and dp <= tol["params"]
    return dl, dp, ok, f"loss {tol['loss']:.0e}, params {tol['params']:.0e}"


# ---------------------------------------------------------------------------
# running one task


class Session:
    """The workers of one comparison.  ``config``: pin, clock, threads,
    placements (minimum repetitions of cyprop, one per memory placement),
    progress (a :class:`Progress` or None), verbose (log lines on stdout)."""

    def __init__(self, config, selected, options_by):
        self.args = config
        self.progress = getattr(config, "progress", None)
        self.selected = selected
        self.options_by = options_by     # contender name -> options (with the built libs)
        self.workers = {}
        self.status = {}     # name -> dict(available, note, info)

    def worker(self, c):
        w = self.workers.get(c.name)
        if w is not None and w.alive():
            return w
        try:
            w = Worker(c, self.options_by[c.name], pin=self.args.pin,
                       threads=self.args.threads)
        except WorkerError as exc:
            self.status[c.name] = {"available": False, "note": f"worker failed: {exc}",
                                   "info": {}}
            return None
        self.status[c.name] = {"available": w.available, "note": w.note, "info": w.info}
        if not w.available:
            w.close()
            self.workers.pop(c.name, None)
            return None
        self.workers[c.name] = w
        return w

    def start_all(self, task_list=None):
        for c in self.selected:
            t0 = time.perf_counter()
            if task_list is not None and not any(
                    registry.supports(registry.module_of(c), t, c.options)[0]
                    for t in task_list):
                # no worker for a contender that runs none of the tasks
                self.status[c.name] = {"available": True, "note": "", "info": {},
                                       "started": False}
                continue
            if self.progress:
                self.progress.update("starting", c.name, "importing")
            w = self.worker(c)
            st = self.status[c.name]
            state = "ready" if w else f"skipped ({st['note'].strip().splitlines()[-1]})"
            if self.args.verbose:
                log(f"  {c.name:20s} {state}  [{time.perf_counter() - t0:.1f} s]")

    def close(self):
        for w in self.workers.values():
            w.close()

    def run_task(self, task, budget, min_reps, max_reps):
        args = self.args
        entries = {}
        active = []
        for c in self.selected:
            module = registry.module_of(c)
            entry = {"label": c.label or c.name, "floor": c.floor}
            entries[c.name] = entry
            st = self.status.get(c.name)
            if st is not None and st.get("started") is False:
                ok, note = registry.supports(module, task, c.options)
                entry["status"] = "n/a"
                entry["note"] = note
                continue
            if st is None or not st["available"]:
                entry["status"] = "skipped"
                entry["note"] = (st or {}).get("note", "not started").strip().splitlines()[-1]
                continue
            ok, note = registry.supports(module, task, c.options)
            if ok and task["group"] == "scaling" and c.name not in SCALING_CONTENDERS:
                ok, note = False, "not in the scaling sweep"
            if not ok:
                entry["status"] = "n/a"
                entry["note"] = note
                continue
            entry["maths"] = registry.maths(module, task, c.options)
            active.append(c)

        # setup and warm-up (first call: JIT compilation, caches; second: estimate)
        clock = 0 if args.clock == "wall" else 1
        times = {}
        estimates = {}
        for c in list(active):
            entry = entries[c.name]
            if self.progress:
                self.progress.update(task["name"], c.name, "warming up")
            w = self.worker(c)
            try:
                if w is None:
                    raise WorkerError("worker unavailable")
                entry["setup_s"] = w.call("setup", task)
                first = w.call("time")
                entry["first_call_s"] = first[clock]
                second = w.call("time") if first[0] < max(budget, 1.0) else first
                estimates[c.name] = second[0]
                times[c.name] = []
                slow = getattr(args, "slow_min_reps", None)
                if slow and second is first and c.name not in JIT_CONTENDERS:
                    # cyprop bench: a slow peer without a JIT (one run over
                    # the budget) keeps its first run as a repetition
                    times[c.name].append(first)
                    entry["first_call_kept"] = True
            except WorkerError as exc:
                entry["status"] = "error"
                entry["note"] = str(exc).strip().splitlines()[-1][:300]
                entry["traceback"] = str(exc)[-3000:]
                active.remove(c)
                self._restart(c)
        reps = {c.name: int(np.clip(budget / max(estimates[c.name], 1e-9), min_reps, max_reps))
                for c in active}
        # a contender whose one run takes longer than twice the budget (a peer
        # 100x slower than cyprop) may get fewer repetitions (cyprop bench)
        slow = getattr(args, "slow_min_reps", None)
        if slow:
            for c in active:
                if estimates[c.name] > 2 * budget:
                    reps[c.name] = min(reps[c.name], max(slow, 1))
        # cyprop runs once per memory placement at least (its Runner moves
        # to the next placement on every reset)
        for c in active:
            if c.module == "cyprop_" and task["kind"] == "mlp" and task.get("style") != "xor":
                reps[c.name] = max(reps[c.name], self.args.placements)
        # interleaved repetitions: round r runs every contender still short of
        # its count once, starting at a rotating position
        n_rounds = max(reps.values(), default=0)
        for r in range(n_rounds):
            k = len(active)
            order = [active[(r + i) % k] for i in range(k)] if k else []
            for c in order:
                if len(times[c.name]) >= reps[c.name]:
                    continue
                if self.progress:
                    left = sum(max(reps[a.name] - len(times[a.name]), 0) * estimates[a.name]
                               for a in active)
                    self.progress.update(task["name"], c.name,
                                         f"run {len(times[c.name]) + 1}/{reps[c.name]}", left)
                try:
                    times[c.name].append(self.workers[c.name].call("time"))
                except (WorkerError, KeyError) as exc:
                    entries[c.name]["status"] = "error"
                    entries[c.name]["note"] = str(exc).strip().splitlines()[-1][:300]
                    reps[c.name] = len(times[c.name])
                    self._restart(c)
        # results of the last run (from the task's initial weights)
        results = {}
        for c in active:
            entry = entries[c.name]
            if entry.get("status") == "error":
                continue
            try:
                results[c.name] = self.workers[c.name].call("result")
            except (WorkerError, KeyError) as exc:
                entry["status"] = "error"
                entry["note"] = str(exc).strip().splitlines()[-1][:300]
                continue
            entry["status"] = "ok"
            wall = [float(f"{t[0]:.6g}") for t in times[c.name]]
            cpu = [float(f"{t[1]:.6g}") for t in times[c.name]]
            entry["wall_times"] = wall
            entry["cpu_times"] = cpu
            placements = [t[2] for t in times[c.name] if len(t) > 2 and t[2] is not None]
            if placements:
                entry["placements"] = placements
            entry.update(summarize(wall if clock == 0 else cpu))
            # CPU seconds per wall second: about 1 for a single-threaded run on an
            # idle core; below 1 when other processes took the CPU, above 1 when
            # the contender ran threads in parallel.
            entry["cpu_over_wall"] = float(np.sum(cpu) / np.sum(wall))
        self._agreement(task, entries, results)
        self._ratios(task, entries)
        return entries

    def _restart(self, c):
        w = self.workers.pop(c.name, None)
        if w is not None:
            w.kill()

    def _base_result_for(self, task, maths, cache):
        """cyprop's result on the task with other maths (for FANN's check)."""
        key = json.dumps(maths, sort_keys=True)
        if key in cache:
            return cache[key]
        c = registry.BY_NAME[BASE]
        w = self.workers.get(BASE)
        if w is None:
            cache[key] = None
            return None
        try:
            w.call("setup", taskdefs.with_maths(task, maths))
            w.call("time")
            cache[key] = w.call("result")
        except WorkerError:
            cache[key] = None
            self._restart(c)
        return cache[key]

    def _agreement(self, task, entries, results):
        base = results.get(BASE)
        base_maths = taskdefs.task_maths(task) if task["kind"] == "mlp" else None
        base_loss = evaluate(task, base, base_maths) if base is not None else None
        cache = {}
        for name, res in results.items():
            entry = entries[name]
            if res.get("floor"):
                entry["agreement"] = "floor"
                entry["note"] = entry.get("note", "") or "timing floor, not a training run"
                continue
            maths = taskdefs.task_maths(task, entry.get("maths")) if task["kind"] == "mlp" \
                else None
            loss = evaluate(task, res, maths)
            entry["final_loss"] = loss
            if "epoch_loss" in res:
                entry["epoch_loss_last"] = res["epoch_loss"][-1] if res["epoch_loss"] else None
            ref, ref_loss = base, base_loss
            if entry.get("maths"):
                ref = self._base_result_for(task, maths, cache)
                ref_loss = evaluate(task, ref, maths) if ref is not None else None
                entry["checked_against"] = f"cyprop with {maths['output']} output, {maths['loss']}"
            if ref is None:
                entry["agreement"] = "unchecked"
                entry.setdefault("note", "no cyprop result to compare with")
                continue
            dl, dp, ok, tol = compare(task, res, ref, loss, ref_loss)
            entry["loss_rel_diff"] = dl
            entry["param_rel_diff"] = dp
            entry["tolerance"] = tol
            design = _design_note(name, task, entry)
            if design:
                entry["design"] = design
            if ok:
                entry["agreement"] = "agrees"
            elif design:
                entry["agreement"] = "differs by design"
            else:
                entry["agreement"] = "DISAGREES"

    def _ratios(self, task, entries):
        base = entries.get(BASE, {})
        if base.get("status") != "ok":
            return
        steps = task.get("sample_steps") or 1
        for name, entry in entries.items():
            if entry.get("status") != "ok":
                continue
            key = "wall_times" if self.args.clock == "wall" else "cpu_times"
            entry["ratio"] = entry["median"] / base["median"]
            entry["paired_ratio"] = paired_ratio(entry[key], base[key])
            entry["per_step_s"] = entry["median"] / steps
            if task["kind"] == "mlp" and task["mode"] == "online":
                itemsize = np.dtype(task["dtype"]).itemsize
                entry["weight_traffic_GBps"] = (3 * task["n_weights"] * itemsize
                                                / entry["per_step_s"] / 1e9)


def _design_note(name, task, entry):
    if name == "fann":
        from .contenders.fann import DESIGN_NOTE

        return DESIGN_NOTE
    note = DESIGN_NOTES.get(name)
    if isinstance(note, dict):
        return note.get(task.get("dtype"))
    return note if note and task["kind"] == "mlp" else None


# ---------------------------------------------------------------------------
# reports


def key_ratios(results):
    """The numbers the issues ask for, computed from the run's entries."""
    out = {}
    tasks = results["tasks"]

    def ratio(task, name, base=BASE):
        t = tasks.get(task, {}).get("entries", {})
        a, b = t.get(name, {}), t.get(base, {})
        if a.get("status") == "ok" and b.get("status") == "ok":
            return b["median"] / a["median"]   # base time / contender time
        return None

    for task in ("xor", "digits-f64", "digits-f32", "synth784-f64", "synth784-f32"):
        if task not in tasks:
            continue
        row = {}
        for c in ("c-fused-native", "c-persample-native", "c-fused-O3", "c-persample-O3",
                  "c-deferred-native"):
            v = ratio(task, c)
            if v is not None:
                row[f"cyprop_time_over_{c}"] = v
        for c in ("numpy-tutorial", "numpy-per-sample", "reference", "numba", "torch", "jax",
                  "sklearn", "fann"):
            v = ratio(task, c)
            if v is not None:
                row[f"speedup_vs_{c}"] = 1.0 / v
        v = ratio(task, "cyprop-baseline")
        if v is not None:
            row["dispatch_gain_baseline_over_auto"] = 1.0 / v
        v = ratio(task, "c-persample-native", "c-fused-native")
        if v is not None:
            row["c_persample_over_fused"] = 1.0 / v
        for floor in ("blas-floor", "membw-floor"):
            t = tasks[task]["entries"]
            if t.get(floor, {}).get("status") == "ok" and t.get(BASE, {}).get("status") == "ok":
                row[f"{floor}_fraction_reached_by_cyprop"] = t[floor]["median"] / t[BASE]["median"]
                if t.get("c-fused-native", {}).get("status") == "ok":
                    row[f"c_fused_native_over_{floor}"] = (t["c-fused-native"]["median"]
                                                           / t[floor]["median"])
        out[task] = row
    return out


def _fit_line(xs, ts):
    """(a, b) minimising the relative error of t = a + b x (least squares)."""
    xs = np.asarray(xs, dtype=float)
    ts = np.asarray(ts, dtype=float)
    A = np.column_stack([1.0 / ts, xs / ts])
    (a, b), *_ = np.linalg.lstsq(A, np.ones_like(ts), rcond=None)
    return float(a), float(b)


def scaling_fits(results):
    """Per contender, from the scaling sweeps:

    samples sweep: call time t(n) = overhead + n * per_sample; and
    n_10pct = 9 * overhead / per_sample, the call size from which the
    overhead is under 10% of the call;
    hidden sweep: time per sample-step = per_step_overhead + weights * per_weight.
    """
    sc = [t for t in results["tasks"].values() if t["group"] == "scaling"]
    out = {}
    names = {n for t in sc for n, e in t["entries"].items() if e.get("status") == "ok"}
    for n in sorted(names):
        row = {}
        pts = [(t["x"], t["entries"][n]["median"]) for t in sc
               if t["sweep"] == "samples" and t["entries"].get(n, {}).get("status") == "ok"]
        if len(pts) >= 2:
            a, b = _fit_line([p[0] for p in pts], [p[1] for p in pts])
            row["call_overhead_s"] = a
            row["per_sample_s"] = b
            row["n_overhead_under_10pct"] = 9 * a / b if b > 0 and a > 0 else None
        pts = [(t["n_weights"], t["entries"][n]["per_step_s"]) for t in sc
               if t["sweep"] == "hidden" and t["entries"].get(n, {}).get("status") == "ok"]
        if len(pts) >= 2:
            a, b = _fit_line([p[0] for p in pts], [p[1] for p in pts])
            row["per_step_overhead_s"] = a
            row["per_weight_s"] = b
        if row:
            out[n] = row
    return out



# ---------------------------------------------------------------------------
# running a comparison


class Config:
    """Settings of one comparison (see :func:`run_comparison`)."""

    def __init__(self, **kw):
        self.quick = False
        self.budget = None
        self.min_reps = None
        self.max_reps = None
        self.pin = None
        self.clock = "wall"
        self.threads = 1
        self.placements = 8
        self.slow_min_reps = None
        self.build_dir = None
        self.verbose = True
        self.progress = None
        self.__dict__.update(kw)


def compiler_flags():
    """The flags this Python builds extensions with (cyprop's own build
    adds -O3 -fopenmp-simd -fno-math-errno, and -mavx2 -mfma for its AVX2
    modules; see setup.py)."""
    return {"CC": sysconfig.get_config_var("CC"), "CFLAGS": sysconfig.get_config_var("CFLAGS"),
            "CFLAGS_env": os.environ.get("CFLAGS", "")}


def machine_meta():
    """CPU model, SIMD level, versions: what every results file records."""
    from .. import __version__

    return {
        "date": datetime.date.today().isoformat(),
        "timestamp": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_id(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cyprop": __version__,
        "cyprop_simd": simd_level(),
        "python_build_flags": compiler_flags(),
    }


def run_comparison(task_list, selected, config, notes=()):
    """Run ``selected`` contenders (registry entries) on ``task_list``.

    cyprop is added when it is not selected (ratios and agreement need it).
    Returns the results dictionary: ``meta`` (machine, versions, CPU model,
    SIMD level, compiler commands, settings), ``tasks`` (per task, per
    contender: every repetition's wall and CPU time, median, quartiles,
    min-max, ratio to cyprop, final loss, agreement, placements) and
    ``notes``.
    """
    t_start = time.perf_counter()
    quick = config.quick
    budget = config.budget if config.budget is not None else (0.5 if quick else 4.0)
    min_reps = config.min_reps if config.min_reps is not None else (2 if quick else 3)
    max_reps = config.max_reps if config.max_reps is not None else (5 if quick else 21)
    max_reps = max(max_reps, min_reps)
    selected = list(selected)
    if BASE not in [c.name for c in selected]:
        selected.insert(0, registry.BY_NAME[BASE])
    notes = list(notes)

    want_c = any(c.module in ("cc", "floors") for c in selected)
    want_fann = any(c.name == "fann" for c in selected)
    libs, cinfo = {}, {"cc": None, "cc_version": "", "commands": []}
    if want_c or want_fann:
        if config.verbose:
            log("compiling the C contenders ...")
        libs, cinfo = cbuild.build(config.build_dir, want_fann=want_fann, want_c=want_c)
        for k, v in libs.items():
            if config.verbose:
                log(f"  {k}: {v}")
            if v.startswith("error") and not (k.startswith("fann") and not want_fann):
                notes.append(f"{k}: {v[len('error: '):]}")
    options_by = {}
    for c in selected:
        opts = dict(c.options)
        opts["libs"] = libs
        options_by[c.name] = opts

    if config.verbose:
        log("starting workers ...")
    session = Session(config, selected, options_by)
    results = {"meta": {}, "tasks": {}, "notes": notes}
    progress = config.progress
    try:
        session.start_all(task_list)
        for task in task_list:
            t0 = time.perf_counter()
            scaling = task["group"] == "scaling"
            tb = budget * (0.3 if scaling else 1.0)
            entries = session.run_task(task, tb, min_reps if not scaling else min(min_reps, 3),
                                       max_reps if not scaling else min(max_reps, 5))
            results["tasks"][task["name"]] = _task_record(task, entries)
            if progress:
                progress.task_done()
            if config.verbose:
                _log_task(task, entries, time.perf_counter() - t0)
    finally:
        session.close()
        if progress:
            progress.close()

    cy = session.status.get(BASE, {}).get("info", {})
    meta = machine_meta()
    meta.update({
        "cyprop_simd": cy.get("simd") or meta["cyprop_simd"],
        "cc": cinfo.get("cc"),
        "cc_version": cinfo.get("cc_version"),
        "c_commands": [c["cmd"] for c in cinfo.get("commands", [])],
        "quick": quick,
        "budget_s": budget,
        "min_reps": min_reps,
        "max_reps": max_reps,
        "threads": config.threads,
        "thread_env": thread_env(config.threads),
        "placements": config.placements,
        "pin": config.pin,
        "clock": config.clock,
        "contenders": {name: st for name, st in session.status.items()},
        "tolerances": TOL,
        "wall_s": time.perf_counter() - t_start,
    })
    results["meta"] = meta
    results["key_ratios"] = key_ratios(results)
    results["scaling_fits"] = scaling_fits(results)
    return results


def _task_record(task, entries):
    rec = {k: task.get(k) for k in ("name", "group", "kind", "description", "dtype", "sizes",
                                    "hidden", "output", "loss", "mode", "epochs", "lr",
                                    "n_samples", "sample_steps", "n_weights", "sweep", "x")
           if k in task}
    rec["entries"] = entries
    return rec


def _log_task(task, entries, wall):
    log(f"\n{task['name']}: {task.get('description', '')}  [{wall:.1f} s]")
    for name, e in entries.items():
        if e.get("status") != "ok":
            log(f"  {name:20s} {e.get('status', ''):8s} {e.get('note', '')}")
            continue
        log(f"  {name:20s} {fmt_time(e['median']):>10s} ±{e['iqr_rel'] * 50:5.1f}% "
            f"cpu/wall={e['cpu_over_wall']:.2f} "
            f"x{_g(e.get('ratio')):>8s}  n={e['n']:<3d} 1st={fmt_time(e.get('first_call_s')):>9s} "
            f"{e.get('agreement', ''):18s} dloss={_g(e.get('loss_rel_diff'), 2)} "
            f"dparams={_g(e.get('param_rel_diff'), 2)}")


