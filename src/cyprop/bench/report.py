"""Reports of a comparison: the terminal table, markdown, plots, JSON, and
the change against an earlier run (``--compare``)."""

import json
import re

import numpy as np

from .harness import fmt_time

BASE = "cyprop"


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


def plots(results, out_dir=None, ratio_path=None, scaling_path=None):
    """Write ratios.png (ratio bars per task) and scaling.png (when the run
    has the scaling sweep) into ``out_dir``, or to the paths given.  Returns
    the paths written, or a one-line "plots skipped: ..." note."""
    from pathlib import Path

    if out_dir is not None:
        ratio_path = ratio_path or Path(out_dir) / "ratios.png"
        scaling_path = scaling_path or Path(out_dir) / "scaling.png"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception as exc:
        return [f"plots skipped: matplotlib is not installed ({type(exc).__name__}); "
                "pip install matplotlib (or \"cyprop[bench]\")"]
    written = []
    tasks = [(n, t) for n, t in results["tasks"].items() if t["group"] != "scaling"]
    if tasks and ratio_path is not None:
        ncol = 2 if len(tasks) > 1 else 1
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
            for yi, r, h in zip(y, ratios, np.maximum(hi, 0)):
                # the label right of the error bar, not on it
                ax.text(r + h, yi, f"  {r:.3g}×", va="center", fontsize=6)
            ax.set_xlim(xlo, xhi)
        for ax in axes.ravel()[len(tasks):]:
            ax.set_visible(False)
        meta = results.get("meta", {})
        fig.suptitle(f"{meta.get('cpu', '?')}, cyprop {meta.get('cyprop', '')} "
                     f"({meta.get('cyprop_simd', '?')} kernels), {meta.get('threads', 1)} "
                     f"thread(s), {meta.get('date', '')}\n"
                     "median time / cyprop's median time, same run (log scale; < 1 is faster "
                     "than cyprop; bars: interquartile range).  † differs by design, "
                     "✗ disagrees", fontsize=9)
        fig.tight_layout()
        path = ratio_path
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))
    sc = [t for t in results["tasks"].values() if t["group"] == "scaling"]
    if sc and scaling_path is not None:
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
        path = scaling_path
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(str(path))
    return written




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


# ---------------------------------------------------------------------------
# the terminal


def header_lines(results):
    """Who measured what where: CPU model, SIMD level, versions, threads."""
    meta = results.get("meta", {})
    flags = ", ".join(meta.get("cpu_flags", []))
    lines = [f"cyprop {meta.get('cyprop', '?')} ({meta.get('cyprop_simd', '?')} kernels), "
             f"Python {meta.get('python', '?')}, NumPy {meta.get('numpy', '?')}",
             f"CPU: {meta.get('cpu', '?')} ({flags}), {meta.get('cores', '?')} cores; "
             f"{meta.get('threads', 1)} thread(s) per library"]
    if meta.get("cc_version"):
        lines.append(f"C compiler: {meta['cc_version']}")
    return lines


def terminal_table(results, file=None):
    """Print every task's table: median, min-max, repetitions, ratio to
    cyprop, agreement (and why a contender did not run)."""
    for line in header_lines(results):
        print(line, file=file)
    print("Times: median of the repetitions (min-max); x cyprop: median time / cyprop's\n"
          "(> 1: slower than cyprop); cyprop runs once per memory placement at least.",
          file=file)
    for tname, t in results["tasks"].items():
        print(f"\n{tname}: {t.get('description', '')}", file=file)
        width = min(max([len(e.get("label") or n) for n, e in t["entries"].items()
                         if e.get("status") == "ok"] + [20]), 52)
        head = f"  {'contender':{width}} {'median':>9} {'min-max':>19} {'reps':>4} {'x cyprop':>9}  agreement"
        print(head, file=file)
        print("  " + "-" * (len(head) - 2), file=file)
        skipped = []
        for name, e in t["entries"].items():
            label = (e.get("label") or name)[:width]
            if e.get("status") != "ok":
                skipped.append(f"{name} ({e.get('status', '')}: {e.get('note', '')})")
                continue
            spread = f"{fmt_time(e['min'])}-{fmt_time(e['max'])}"
            ratio = e.get("ratio")
            agree = e.get("agreement", "")
            if "param_rel_diff" in e:
                agree += f" (dparams {_g(e['param_rel_diff'], 2)})"
            elif "max_rel_diff" in e:
                agree += f" (rel diff {_g(e['max_rel_diff'], 2)})"
            print(f"  {label:{width}} {fmt_time(e['median']):>9} {spread:>19} {e['n']:>4} "
                  f"{('-' if ratio is None else f'{ratio:.3g}'):>9}  {agree}", file=file)
            design = e.get("design")
            if design and e.get("agreement") == "differs by design":
                print(f"  {'':{width}} maths differ by design: {design}", file=file)
            pl = e.get("placements")
            if pl:
                print(f"  {'':{width}} over {len({p['index'] for p in pl})} memory placements: "
                      f"max/min {e['max'] / e['min']:.2f}", file=file)
        for s in skipped:
            print(f"  not run: {s}", file=file)
    for note in results.get("notes", []):
        print(f"note: {note}", file=file)


def disagreements(results):
    """(task, contender) pairs whose results disagree with cyprop's."""
    return [(t, n) for t, rec in results["tasks"].items() for n, e in rec["entries"].items()
            if e.get("agreement") in ("DISAGREES", "DIFFERS")]


def compare_runs(old, new, file=None):
    """Print, per task and contender found in both runs, the old and the new
    median and new / old; the runs' machines and versions first."""
    om, nm = _meta_filled(old), _meta_filled(new)
    print("\nChange against the earlier run (new median / old median; < 1: faster now):",
          file=file)
    for key, label in (("cpu", "CPU"), ("cyprop", "cyprop"), ("cyprop_simd", "SIMD"),
                       ("numpy", "NumPy"), ("python", "Python"), ("date", "date"),
                       ("threads", "threads"), ("clock", "clock")):
        a, b = om.get(key, "?"), nm.get(key, "?")
        print(f"  {label:8} old: {a}" + ("" if a == b else f"   new: {b}"), file=file)
    rows = 0
    for tname, t in new.get("tasks", {}).items():
        ot = old.get("tasks", {}).get(tname)
        if not ot:
            continue
        for name, e in t["entries"].items():
            o = ot["entries"].get(name, {})
            if e.get("status") != "ok" or o.get("status") != "ok":
                continue
            if not rows:
                print(f"  {'task':32} {'contender':20} {'old':>9} {'new':>9} {'new/old':>8}",
                      file=file)
            rows += 1
            print(f"  {tname[:32]:32} {name[:20]:20} {fmt_time(o['median']):>9} "
                  f"{fmt_time(e['median']):>9} {e['median'] / o['median']:>8.3g}", file=file)
    if not rows:
        print("  no task and contender in common", file=file)
    return rows


def _meta_filled(results):
    """The run's meta, with what older bench/run.py files keep elsewhere."""
    meta = dict(results.get("meta", {}))
    cy = meta.get("contenders", {}).get("cyprop", {}).get("info", {})
    meta.setdefault("cyprop", cy.get("version", "?"))
    env = meta.get("thread_env") or {}
    if "threads" not in meta and "OMP_NUM_THREADS" in env:
        meta["threads"] = int(env["OMP_NUM_THREADS"])
    meta.setdefault("clock", "wall")
    return meta


def write_json(results, path):
    from pathlib import Path

    Path(path).write_text(_dump_json(results))


def load_json(path):
    """A results file of cyprop bench or bench/run.py."""
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data, dict) or "tasks" not in data or "meta" not in data:
        raise ValueError(f"{path}: not a cyprop bench results file (no 'meta' and 'tasks')")
    return data
