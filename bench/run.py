#!/usr/bin/env python3
"""cyprop's comparison benchmark: the same maths in every contender, checked
to agree, timed side by side in one run.

    python bench/run.py [--quick] [--tasks xor rbf digits synth784 scaling]
                        [--contenders cyprop c numba ...] [--out DIR]

Writes ``<out>/<date>-<machine>.json`` (everything), ``<out>/latest.md``
(the tables) and, with matplotlib, ``<out>/ratios.png`` and
``<out>/scaling.png``.  See bench/README.md for how to install the peers
and how to read the results.
"""

# The single-thread environment must be in place before numpy (or anything
# that links a BLAS) is imported; workers inherit it.
import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

import harness  # noqa: E402  (imports only numpy after setting the environment)

harness.apply_thread_env()

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import cbuild  # noqa: E402
import contenders as registry  # noqa: E402
import tasks as taskdefs  # noqa: E402
from harness import Worker, WorkerError, fmt_time, paired_ratio, summarize  # noqa: E402

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
    cpu = cpu_model().lower()
    for noise in ("(r)", "(tm)", "processor", "cpu", "with radeon graphics"):
        cpu = cpu.replace(noise, " ")
    cpu = "-".join(cpu.split()[:3])
    ident = f"{name}-{cpu}" if cpu else name
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", ident).strip("-")[:48]


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def cpu_flags():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(flags & {"sse2", "avx", "avx2", "fma", "avx512f"})
    except OSError:
        pass
    return []


def log(msg):
    print(msg, flush=True)


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
    def __init__(self, args, selected, options_by):
        self.args = args
        self.selected = selected
        self.options_by = options_by     # contender name -> options (with the built libs)
        self.workers = {}
        self.status = {}     # name -> dict(available, note, info)

    def worker(self, c):
        w = self.workers.get(c.name)
        if w is not None and w.alive():
            return w
        try:
            w = Worker(c, self.options_by[c.name], pin=self.args.pin)
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

    def start_all(self):
        for c in self.selected:
            t0 = time.perf_counter()
            w = self.worker(c)
            st = self.status[c.name]
            state = "ready" if w else f"skipped ({st['note'].strip().splitlines()[-1]})"
            log(f"  {c.name:20s} {state}  [{time.perf_counter() - t0:.1f} s]")

    def close(self):
        for w in self.workers.values():
            w.close()

    def run_task(self, task, budget, min_reps, max_reps):
        args = self.args
        entries = {}
        active = []
        for c in self.selected:
            module = __import__(f"contenders.{c.module}", fromlist=["supports"])
            entry = {"label": c.label or c.name, "floor": c.floor}
            entries[c.name] = entry
            st = self.status.get(c.name)
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
            except WorkerError as exc:
                entry["status"] = "error"
                entry["note"] = str(exc).strip().splitlines()[-1][:300]
                entry["traceback"] = str(exc)[-3000:]
                active.remove(c)
                self._restart(c)
        reps = {c.name: int(np.clip(budget / max(estimates[c.name], 1e-9), min_reps, max_reps))
                for c in active}
        # interleaved repetitions: round r runs every contender still short of
        # its count once, starting at a rotating position
        n_rounds = max(reps.values(), default=0)
        for r in range(n_rounds):
            k = len(active)
            order = [active[(r + i) % k] for i in range(k)] if k else []
            for c in order:
                if len(times[c.name]) >= reps[c.name]:
                    continue
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
        from contenders.fann import DESIGN_NOTE

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


def _g(v, digits=3):
    if v is None:
        return "-"
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def markdown(results):
    meta = results["meta"]
    lines = [f"# cyprop benchmark — {meta['date']} on {meta['machine']}", ""]
    lines.append(f"{meta['cpu']} ({', '.join(meta['cpu_flags'])}), {meta['cores']} cores; "
                 f"Python {meta['python']}, NumPy {meta['numpy']}; C: {meta['cc_version']}. "
                 f"{'Quick run' if meta['quick'] else 'Full run'}; cyprop dispatch: "
                 f"{meta.get('cyprop_simd', '?')}. Single-threaded; interleaved repetitions; "
                 f"times are medians of {'wall-clock' if meta.get('clock') == 'wall' else 'CPU'}"
                 " time, spread is half the interquartile range relative to the "
                 "median; ratios are median time / cyprop's median time in this run "
                 "(< 1: faster than cyprop); cpu/wall is the worker's CPU time over its "
                 "wall time (< 1: other processes took the CPU; > 1: threads in parallel); "
                 "1st call is the first run, excluded from the median (JIT compilation, imports, "
                 "cold caches).")
    lines.append("")
    for tname, t in results["tasks"].items():
        if t["group"] == "scaling":
            continue
        lines.append(f"## {tname}: {t['description']}")
        lines.append("")
        lines.append("| contender | median | spread | reps | cpu/wall | per sample-step | "
                     "× cyprop | 1st call | final loss | agreement (Δloss, Δparams) | note |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|")
        not_run = []
        for name, e in t["entries"].items():
            if e.get("status") == "n/a":
                not_run.append(f"{e['label']} ({e.get('note', '')})")
                continue
            if e.get("status") != "ok":
                lines.append(f"| {e['label']} | - | - | - | - | - | - | - | - | "
                             f"{e.get('status', '')} | {e.get('note', '')} |")
                continue
            agree = e.get("agreement", "")
            if "loss_rel_diff" in e:
                agree += f" ({_g(e['loss_rel_diff'], 2)}, {_g(e['param_rel_diff'], 2)})"
            note = e.get("design") or e.get("note", "")
            if e.get("checked_against"):
                note = f"{note}; checked against {e['checked_against']}" if note else \
                    f"checked against {e['checked_against']}"
            lines.append(
                f"| {e['label']} | {fmt_time(e['median'])} | ±{e['iqr_rel'] * 50:.1f}% | "
                f"{e['n']} | {e['cpu_over_wall']:.2f} | {fmt_time(e.get('per_step_s'))} | "
                f"{_g(e.get('ratio'))} | "
                f"{fmt_time(e.get('first_call_s'))} | {_g(e.get('final_loss'), 6)} | {agree} | "
                f"{note} |")
        lines.append("")
        if not_run:
            lines.append("Not run on this task: " + "; ".join(not_run) + ".")
            lines.append("")
    sc = [t for t in results["tasks"].values() if t["group"] == "scaling"]
    if sc:
        lines.append("## Scaling: time per sample-step")
        lines.append("")
        names = []
        for t in sc:
            for n, e in t["entries"].items():
                if e.get("status") == "ok" and n not in names:
                    names.append(n)
        lines.append("| point | " + " | ".join(names) + " |")
        lines.append("|---|" + "---:|" * len(names))
        for t in sc:
            cells = []
            for n in names:
                e = t["entries"].get(n, {})
                cells.append(fmt_time(e.get("per_step_s")) if e.get("status") == "ok" else "-")
            label = (f"64-{t['x']}-10 ({t['n_samples']} samples)" if t["sweep"] == "hidden"
                     else f"64-32-10, {t['x']} samples/call")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("")
    fits = results.get("scaling_fits", {})
    if fits:
        lines.append("Fits to the sweeps (least squares on relative error): a call over n "
                     "samples costs `overhead + n × per-sample`; the overhead is under 10% of "
                     "the call from n ≈ 9 × overhead / per-sample.  Per sample-step, cost ≈ "
                     "`fixed + weights × per-weight`.")
        lines.append("")
        lines.append("| contender | call overhead | per sample (64-32-10) "
                     "| overhead < 10% from n ≈ | fixed per step | per weight per step |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        labels = {n: e["label"] for t in sc for n, e in t["entries"].items()}
        for n, row in fits.items():
            lines.append(f"| {labels.get(n, n)} | {fmt_time(row.get('call_overhead_s'))} | "
                         f"{fmt_time(row.get('per_sample_s'))} | "
                         f"{_g(row.get('n_overhead_under_10pct'))} | "
                         f"{fmt_time(row.get('per_step_overhead_s'))} | "
                         f"{fmt_time(row.get('per_weight_s'))} |")
        lines.append("")
    kr = results.get("key_ratios", {})
    if kr:
        lines.append("## Key ratios")
        lines.append("")
        lines.append("`cyprop_time_over_X`: cyprop's time / X's time (the issue's targets: "
                     "≤ 0.85 for XOR vs C, ≤ 1 for digits and 784-128-10 vs the fused C loop). "
                     "`speedup_vs_X`: X's time / cyprop's time. `dispatch_gain`: baseline SSE2 "
                     "build's time / the dispatched build's. `*-floor_fraction_reached_by_cyprop`: "
                     "floor time / cyprop's time (1 = at the floor).")
        lines.append("")
        lines.append("| task | ratio | value |")
        lines.append("|---|---|---:|")
        for task, row in kr.items():
            for k, v in row.items():
                lines.append(f"| {task} | {k} | {_g(v)} |")
        lines.append("")
    if results.get("notes"):
        lines.append("## Notes")
        lines.append("")
        for n in results["notes"]:
            lines.append(f"- {n}")
        lines.append("")
    return "\n".join(lines)


PALETTE = {
    "cyprop": "#1f77b4", "cyprop-baseline": "#aec7e8", "reference": "#9467bd",
    "numpy-tutorial": "#c5b0d5", "c-persample-O3": "#98df8a", "c-fused-O3": "#b5cf6b",
    "c-persample-native": "#2ca02c", "c-fused-native": "#006d2c", "c-deferred-native": "#00441b",
    "numba": "#ff7f0e",
    "torch": "#d62728", "jax": "#e377c2", "sklearn": "#8c564b", "fann": "#bcbd22",
    "blas-floor": "#7f7f7f", "membw-floor": "#000000",
}


def _log_axis(ax, lo, hi, axis="x"):
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    a = ax.xaxis if axis == "x" else ax.yaxis
    subs = (1.0, 2.0, 5.0) if np.log10(hi / lo) <= 2.5 else (1.0,)
    a.set_major_locator(LogLocator(base=10, subs=subs))
    a.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_formatter(NullFormatter())


SUMMARY_COLUMNS = ["c-fused-native", "c-persample-native", "c-deferred-native", "cyprop-baseline",
                   "numba", "jax", "torch", "sklearn", "fann", "reference", "numpy-tutorial", "numpy-per-sample"]


def summary_markdown(results):
    """One compact table (for the top-level README): per task, cyprop's time and
    every peer's time as a multiple of it."""
    tasks = [(n, t) for n, t in results["tasks"].items() if t["group"] != "scaling"]
    cols = [c for c in SUMMARY_COLUMNS
            if any(t["entries"].get(c, {}).get("status") == "ok" for _, t in tasks)]
    labels = {}
    for _, t in tasks:
        for n, e in t["entries"].items():
            labels.setdefault(n, e["label"])
    meta = results["meta"]
    lines = [f"Time of each contender as a multiple of cyprop's (same run, medians, "
             f"{'wall-clock' if meta.get('clock') == 'wall' else 'CPU'} time; > 1: slower than "
             f"cyprop). {meta['cpu']}, one thread, {meta['date']}"
             f"{' (quick run)' if meta['quick'] else ''}.", "",
             "| task | cyprop | " + " | ".join(labels.get(c, c) for c in cols) + " |",
             "|---|---:|" + "---:|" * len(cols)]
    for name, t in tasks:
        base = t["entries"].get(BASE, {})
        if base.get("status") != "ok":
            continue
        cells = []
        for c in cols:
            e = t["entries"].get(c, {})
            if e.get("status") != "ok" or not e.get("ratio"):
                cells.append("")
                continue
            mark = " †" if e.get("agreement") == "differs by design" else (
                " ✗" if e.get("agreement") == "DISAGREES" else "")
            cells.append(f"{e['ratio']:.3g}×{mark}")
        lines.append(f"| {name} | {fmt_time(base['median'])} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("Every contender's final weights were checked against cyprop's (see "
                 "bench/results/latest.md for tolerances and differences); † differs by "
                 "design (FANN: no softmax, clipped sigmoid derivative).")
    return "\n".join(lines)


def plots(results, out_dir):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as exc:
        return [f"plots skipped: matplotlib not available ({type(exc).__name__})"]
    written = []
    tasks = [(n, t) for n, t in results["tasks"].items() if t["group"] != "scaling"]
    if tasks:
        ncol = 2
        nrow = (len(tasks) + ncol - 1) // ncol
        fig, axes = plt.subplots(nrow, ncol, figsize=(12, 1.2 + 3.0 * nrow), squeeze=False)
        for ax, (tname, t) in zip(axes.ravel(), tasks):
            base = t["entries"].get(BASE, {})
            rows = [(n, e) for n, e in t["entries"].items()
                    if e.get("status") == "ok" and e.get("ratio")]
            rows.sort(key=lambda r: r[1]["ratio"])
            if not rows or base.get("status") != "ok":
                ax.set_visible(False)
                continue
            y = np.arange(len(rows))
            ratios = np.array([e["ratio"] for _, e in rows])
            lo = ratios - np.array([e["q1"] for _, e in rows]) / base["median"]
            hi = np.array([e["q3"] for _, e in rows]) / base["median"] - ratios
            colors = [PALETTE.get(n, "#17becf") for n, _ in rows]
            ax.barh(y, ratios, color=colors, xerr=[np.maximum(lo, 0), np.maximum(hi, 0)],
                    error_kw={"lw": 0.7, "capsize": 1.5, "ecolor": "#444444"})
            labels = []
            for n, e in rows:
                mark = {"differs by design": " †", "DISAGREES": " ✗", "floor": " (floor)"}.get(
                    e.get("agreement"), "")
                labels.append(e["label"] + mark)
            ax.set_yticks(y)
            ax.set_yticklabels(labels, fontsize=7)
            ax.set_xscale("log")
            xlo, xhi = min(ratios.min() * 0.5, 0.5), max(ratios.max() * 4, 2)
            _log_axis(ax, xlo, xhi)
            ax.axvline(1.0, color="k", lw=0.8)
            ax.set_title(f"{tname}  (cyprop: {fmt_time(base['median'])})", fontsize=9)
            ax.tick_params(axis="x", labelsize=7)
            for yi, r in zip(y, ratios):
                ax.text(r, yi, f"  {r:.3g}×", va="center", fontsize=6)
            ax.set_xlim(xlo, xhi)
        for ax in axes.ravel()[len(tasks):]:
            ax.set_visible(False)
        fig.suptitle("median time / cyprop's median time, same run (log scale; < 1 is faster "
                     "than cyprop; bars: interquartile range).  † differs by design, "
                     "✗ disagrees", fontsize=9)
        fig.tight_layout()
        path = out_dir / "ratios.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))
    sc = [t for t in results["tasks"].values() if t["group"] == "scaling"]
    if sc:
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12.5, 5.2))
        names = []
        for t in sc:
            for n, e in t["entries"].items():
                if e.get("status") == "ok" and n not in names:
                    names.append(n)
        labels = {n: e["label"] for t in sc for n, e in t["entries"].items()}
        for n in names:
            for sweep, ax in (("hidden", ax1), ("samples", ax2)):
                pts = [t for t in sc
                       if t["sweep"] == sweep and t["entries"].get(n, {}).get("status") == "ok"]
                if not pts:
                    continue
                xs = [t["n_weights"] if sweep == "hidden" else t["x"] for t in pts]
                ys = [t["entries"][n]["per_step_s"] * 1e9 for t in pts]
                floor = n.endswith("floor")
                ax.plot(xs, ys, "--" if floor else "-", marker="o", ms=3,
                        lw=2.2 if n == BASE else 1.2, color=PALETTE.get(n),
                        label=labels.get(n, n) if sweep == "hidden" else None)
        # guide: slope 1 (cost proportional to the weights) through the floor's last point
        pts = [t for t in sc if t["sweep"] == "hidden"
               and t["entries"].get("membw-floor", {}).get("status") == "ok"]
        if len(pts) >= 2:
            x1, y1 = pts[-1]["n_weights"], pts[-1]["entries"]["membw-floor"]["per_step_s"] * 1e9
            x0 = pts[0]["n_weights"]
            ax1.plot([x0, x1], [y1 * x0 / x1, y1], ":", color="#555555", lw=1,
                     label="slope 1 (∝ weights)")
        for ax in (ax1, ax2):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
        hid = [t for t in sc if t["sweep"] == "hidden"]
        smp = [t for t in sc if t["sweep"] == "samples"]
        if hid:
            ax1.set_xlabel(f"weights (64-H-10, H = {hid[0]['x']} … {hid[-1]['x']})")
            ax1.set_title(f"cost vs network size: online SGD, {hid[0]['n_samples']} samples "
                          "per call", fontsize=9)
        ax1.set_ylabel("ns per sample-step")
        ax2.set_xlabel("samples per call (64-32-10)")
        ax2.set_ylabel("ns per sample-step (call time / samples)")
        if smp:
            ax2.set_title("per-call overhead amortised over the samples of one call",
                          fontsize=9)
        handles, lbls = ax1.get_legend_handles_labels()
        fig.legend(handles, lbls, loc="lower center", ncol=5, fontsize=7, frameon=False)
        fig.tight_layout(rect=(0, 0.1, 1, 1))
        path = out_dir / "scaling.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))
    return written


# ---------------------------------------------------------------------------
# main


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smaller problems and fewer repetitions (under 2 minutes)")
    p.add_argument("--tasks", nargs="+", default=list(taskdefs.TASK_GROUPS),
                   choices=list(taskdefs.TASK_GROUPS), help="task groups to run")
    p.add_argument("--contenders", nargs="+", default=None,
                   help="contender names or groups (default: all); e.g. cyprop c numba")
    p.add_argument("--out", default=str(BENCH_DIR / "results"), help="output directory")
    p.add_argument("--build-dir", default=None,
                   help="where to compile bench/c (default: bench/c/build, git-ignored)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds of timed runs per contender per task (default 4, quick 0.6)")
    p.add_argument("--min-reps", type=int, default=None)
    p.add_argument("--max-reps", type=int, default=None)
    p.add_argument("--pin", type=int, default=None, help="pin every worker to this CPU")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="what the tables report: wall-clock time (default) or the worker "
                        "process's CPU time (steadier on a shared machine; both are recorded)")
    p.add_argument("--tag", default="", help="appended to the JSON file name")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    t_start = time.perf_counter()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    quick = args.quick
    budget = args.budget if args.budget is not None else (0.5 if quick else 4.0)
    min_reps = args.min_reps if args.min_reps is not None else (2 if quick else 3)
    max_reps = args.max_reps if args.max_reps is not None else (5 if quick else 21)
    selected = registry.select(args.contenders)
    if BASE not in [c.name for c in selected]:
        selected.insert(0, registry.BY_NAME[BASE])   # ratios and agreement need cyprop

    build_dir = Path(args.build_dir) if args.build_dir else BENCH_DIR / "c" / "build"
    log(f"compiling bench/c into {build_dir} ...")
    want_fann = any(c.name == "fann" for c in selected)
    libs, cinfo = cbuild.build(build_dir, want_fann=want_fann)
    for k, v in libs.items():
        log(f"  {k}: {v}")
    options_by = {}
    for c in selected:
        opts = dict(c.options)
        opts["libs"] = libs
        options_by[c.name] = opts

    task_list, notes = taskdefs.build_tasks(args.tasks, quick)
    for n in notes:
        log(f"note: {n}")

    log("starting workers ...")
    session = Session(args, selected, options_by)
    results = {"meta": {}, "tasks": {}, "notes": list(notes)}
    try:
        session.start_all()
        for task in task_list:
            t0 = time.perf_counter()
            scaling = task["group"] == "scaling"
            tb = budget * (0.3 if scaling else 1.0)
            entries = session.run_task(task, tb, min_reps if not scaling else min(min_reps, 3),
                                       max_reps if not scaling else min(max_reps, 5))
            results["tasks"][task["name"]] = _task_record(task, entries)
            _log_task(task, entries, time.perf_counter() - t0)
    finally:
        session.close()

    cy = session.status.get(BASE, {}).get("info", {})
    results["meta"] = {
        "date": datetime.date.today().isoformat(),
        "timestamp": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine_id(),
        "cpu": cpu_model(),
        "cpu_flags": cpu_flags(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cc": cinfo.get("cc"),
        "cc_version": cinfo.get("cc_version"),
        "c_commands": [c["cmd"] for c in cinfo.get("commands", [])],
        "quick": quick,
        "budget_s": budget,
        "min_reps": min_reps,
        "max_reps": max_reps,
        "thread_env": harness.THREAD_ENV,
        "pin": args.pin,
        "clock": args.clock,
        "cyprop_simd": cy.get("simd"),
        "contenders": {name: st for name, st in session.status.items()},
        "tolerances": TOL,
        "argv": sys.argv[1:] if argv is None else list(argv),
    }
    results["key_ratios"] = key_ratios(results)
    results["scaling_fits"] = scaling_fits(results)
    stamp = results["meta"]["date"] + "-" + results["meta"]["machine"]
    if args.tag:
        stamp += "-" + re.sub(r"[^A-Za-z0-9_.-]+", "-", args.tag)
    json_path = out_dir / f"{stamp}.json"
    results["meta"]["wall_s"] = time.perf_counter() - t_start
    written = plots(results, out_dir)
    for w in written:
        if w.startswith("plots skipped"):
            results["notes"].append(w)
    md = markdown(results)
    (out_dir / "latest.md").write_text(md + "\n")
    (out_dir / "summary.md").write_text(summary_markdown(results) + "\n")
    json_path.write_text(_dump_json(results))
    log(f"\nwrote {json_path}, {out_dir / 'latest.md'}, {out_dir / 'summary.md'}"
        + "".join(f", {w}" for w in written if not w.startswith("plots skipped")))
    for w in written:
        if w.startswith("plots skipped"):
            log(w)
    log(f"total {time.perf_counter() - t_start:.1f} s")
    bad = [(t, n) for t, rec in results["tasks"].items() for n, e in rec["entries"].items()
           if e.get("agreement") == "DISAGREES"]
    if bad:
        log("DISAGREEMENT: " + ", ".join(f"{n} on {t}" for t, n in bad))
    return 0


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


def _dump_json(results):
    """Indented JSON with every list of numbers on one line (readable, small)."""
    text = json.dumps(_jsonable(results), indent=1)
    return re.sub(r"\[\s*([-0-9.eE+,\s]+?)\s*\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
                  text) + "\n"


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj


if __name__ == "__main__":
    sys.exit(main())
