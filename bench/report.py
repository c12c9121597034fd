"""Markdown tables from a bench/run.py JSON, or from bench/time_to_accuracy.py's:

    python bench/report.py [bench/results/latest.json]
    python bench/report.py bench/results/time_to_accuracy.json
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def speed_table(res):
    lines = ["| contestant | agrees with reference | samples/s median (min–max) | fastmlp numba speed-up (median of paired rounds) |",
             "|---|---|---|---|"]
    for name, r in res.items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | |")
            continue
        s, q = r["samples_per_s"], r["numba_speedup"]
        lines.append(f"| {name} | {'yes' if r['agrees'] else 'NO'} ({r['agreement_max_rel_diff']:.1e}) | "
                     f"{s['median']:,.0f} ({s['min']:,.0f}–{s['max']:,.0f}) | {q['median']:.1f}× |")
    return "\n".join(lines)


def api_line(res):
    """The public API's speed as a fraction of calling train_epoch directly (paired rounds)."""
    api = res.get("fastmlp public API (partial_fit)")
    if not api or "skipped" in api or "numba_speedup" not in api:
        return None
    q = api["numba_speedup"]  # direct / API per round
    return (f"Public API (`MLPClassifier(batch_size=1).partial_fit`) vs `train_epoch` called "
            f"directly: {1 / q['median']:.2f}× the speed (median of paired rounds; "
            f"{1 / q['max']:.2f}–{1 / q['min']:.2f}).")


def batch_jax_table(v):
    if "skipped" in v:
        return f"JAX mini-batches: skipped ({v['skipped']})."
    lines = ["| batch size | fastmlp / JAX (median of paired rounds, min–max) | agrees with the reference at that batch size (fastmlp; JAX) |",
             "|---|---|---|"]
    for key, s in v.items():
        if not key.startswith("fastmlp/JAX batch "):
            continue
        B = key.rsplit(" ", 1)[1]
        a, j = v["agreement"].get(f"numba batch {B}"), v["agreement"].get(f"JAX batch {B}")
        ag = "; ".join(f"{'yes' if c['agrees'] else 'NO'} ({c['max_rel_diff']:.1e})"
                       for c in (a, j) if c)
        lines.append(f"| {B} | {s['median']:.2f} ({s['min']:.2f}–{s['max']:.2f}) | {ag} |")
    return "\n".join(lines)


def bound_tables(rep):
    b = rep["bound"]
    t = b["traffic"]
    out = [f"Per sample (MNIST, {t['network']}, {t['samples']:,} consecutive samples of a "
           f"shuffled epoch): {t['nonzero_pixels']:.0f} non-zero pixels, "
           f"{t['union_with_previous']:.0f} in the union with the previous sample's, "
           f"{t['active_hidden1']:.0f} active hidden-1 units, {t['active_hidden2']:.0f} hidden-2. "
           f"Caches per core: " + ", ".join(f"{k} {v // 1024} KiB" for k, v in b["caches"].items()) + ".",
           "", "| pattern (one core) | float32 GB/s median (min–max), working set | float64 GB/s median (min–max), working set |",
           "|---|---|---|"]
    names = list(b["float32"]["rates_gb_s"])
    for name in names:
        cells = []
        for dt in ("float32", "float64"):
            r = b[dt]["rates_gb_s"][name]
            ws = r.get("working_set_bytes")
            cells.append(f"{r['median']:.0f} ({r['min']:.0f}–{r['max']:.0f})" +
                         (f", {ws / 1024:.0f} KiB" if ws else ""))
        out.append(f"| {name} | {cells[0]} | {cells[1]} |")
    out += ["", "| dtype | KB/sample | bound: µs/sample → samples/s, median of rounds (min–max) | bound, unpadded rows | fastmlp train_epoch, same rounds | fastmlp / bound (paired) | fastmlp / bound, unpadded rows |",
            "|---|---|---|---|---|---|---|"]
    for dt in ("float32", "float64"):
        d = b[dt]
        cells = []
        for v in ("bound", "bound, unpadded rows"):
            u, s = d[v]["us_per_sample"], d[v]["samples_per_s"]
            cells.append(f"{u['median']:.2f} → {s['median']:,.0f} ({s['min']:,.0f}–{s['max']:,.0f})")
        f = d["fastmlp_samples_per_s"]
        pct = [f"{100 * d[v]['fastmlp_fraction']['median']:.0f}% "
               f"({100 * d[v]['fastmlp_fraction']['min']:.0f}–{100 * d[v]['fastmlp_fraction']['max']:.0f}%)"
               for v in ("bound", "bound, unpadded rows")]
        out.append(f"| {dt} | {d['total_bytes_per_sample'] / 1e3:.0f} | {cells[0]} | {cells[1]} | "
                   f"{f['median']:,.0f} | {pct[0]} | {pct[1]} |")
    return out


def reached(rep, dt):
    """fastmlp's batch-1 median from the speed section and its % of the bound's median."""
    s = rep.get(f"speed_{dt}", {}).get("fastmlp numba", {})
    if "samples_per_s" not in s or "bound" not in rep:
        return "(no speed section)", ""
    y = s["samples_per_s"]["median"]
    bound = rep["bound"][dt]["bound"]["samples_per_s"]["median"]
    return f"{y:,.0f}", f"{100 * y / bound:.0f}%"


def bound_sentence(rep):
    parts = []
    for dt in ("float32", "float64"):
        fast, pct = reached(rep, dt)
        if pct:
            d = rep["bound"][dt]
            bound = d["bound"]["samples_per_s"]["median"]
            paired = 100 * d["bound"]["fastmlp_fraction"]["median"]
            parts.append(f"{dt}: bound {bound:,.0f} samples/s, fastmlp reaches {pct} "
                         f"(speed section's median, {fast}/s; {paired:.0f}% paired within the "
                         f"bound's own rounds)")
    return "; ".join(parts)


def _fmt_s(v):
    return "not reached" if v is None else f"{v:.1f} s"


def tta_table(rep):
    """Markdown summary of a bench/time_to_accuracy.py result."""
    m = rep["machine"]
    p = rep["protocol"]
    out = [f"Machine: {m['cpu']} (LLVM CPU `{m['llvm_cpu']}`), one core. Command: `{rep['command']}`. "
           f"Date: {rep['date']}. Versions: " + ", ".join(
               f"{k} {v}" for k, v in m.get("versions", {}).items() if v) + ".",
           f"Seconds of training ({p.get('clock', 'wall')} time; compile/warm-up and evaluation "
           f"excluded) to reach each test "
           f"accuracy, median over {p['seeds']} seed(s) of each contestant's best configuration "
           f"(searched with seed 0); runs capped at {p['cap_seconds']:g} s or "
           f"{p['cap_epochs']} epochs; test accuracy after every epoch.", "",
           f"| contestant | best configuration | 97% | 98% | best within {p['within_s']:g} s | s/epoch | warm-up s: first run (median of the best's runs) |",
           "|---|---|---|---|---|---|---|"]
    if rep.get("note"):
        out.insert(1, f"Note: {rep['note']}")
    recipe = None
    for name, e in rep["time_to_accuracy"].items():
        if "skipped" in e:
            out.append(f"| {e['label']} | skipped: {e['skipped']} | | | | | |")
            continue
        s = e["summary"]
        cfg = ", ".join(f"{k} {'x'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                        for k, v in e["best_config"].items() if v is not None) or "defaults"
        n = len(s["seeds"])
        cells = [f"{_fmt_s(s[f'time_to_{tg}'])} ({s[f'reached_{tg}']}/{n})" for tg in (0.97, 0.98)]
        best = "-" if s["best_within_s"] is None else f"{100 * s['best_within_s']:.2f}%"
        out.append(f"| {e['label']} | {cfg} | {cells[0]} | {cells[1]} | {best} | "
                   f"{s['seconds_per_epoch']:.2f} | {s.get('warmup_first_s', s['warmup_s']):.2f} "
                   f"({s['warmup_s']:.2f}) |")
        recipe = recipe or e.get("recipe_98")
    out.append("")
    out.append("(k/n): seeds that reached the target within the cap.")
    if recipe:
        out += ["", f"Fastest 98% recipe (fastmlp's best configuration, seed 0): `{recipe}`"]
    return "\n".join(out)


def main(path):
    rep = json.load(open(path))
    if "time_to_accuracy" in rep:
        print(tta_table(rep))
        return
    llvm = rep["machine"].get("llvm_cpu")
    out = [f"Machine: {rep['machine']['cpu']}{f' (LLVM CPU `{llvm}`)' if llvm else ''} "
           f"({rep['machine']['cpus']} CPUs), Python "
           f"{rep['machine']['python']}, NumPy {rep['machine']['numpy']}, Numba "
           f"{rep['machine']['numba']}. Command: `{rep['command']}`. Date: {rep['date']}. "
           f"{rep['rounds']} interleaved rounds."]
    runs = {}
    for key, r in rep.get("section_runs", {}).items():  # a partial run merged with --merge
        runs.setdefault((r["command"], r["date"]), []).append(key)
    if len(runs) > 1:
        out.append("Sections by run: " + "; ".join(
            f"{', '.join(keys)}: `{cmd}` ({date})" for (cmd, date), keys in runs.items()) + ".")
    for dt in ("float32", "float64"):
        if f"speed_{dt}" in rep:
            out += ["", f"**{dt}, batch size 1**", "", speed_table(rep[f"speed_{dt}"])]
            line = api_line(rep[f"speed_{dt}"])
            if line:
                out += ["", line]
    for dt in ("float32", "float64"):
        if f"batch_sizes_{dt}" in rep:
            out += ["", f"**Batch sizes, {dt}** (samples/s, median)", "", "| run | median | min | max |",
                    "|---|---|---|---|"]
            for k, s in rep[f"batch_sizes_{dt}"].items():
                out.append(f"| {k} | {s['median']:,.0f} | {s['min']:,.0f} | {s['max']:,.0f} |")
            if f"batch_vs_jax_{dt}" in rep:
                out += ["", f"**fastmlp vs JAX mini-batch SGD, {dt}** (jit of a `lax.scan` over "
                        f"the batches, one thread, same network and start)", "",
                        batch_jax_table(rep[f"batch_vs_jax_{dt}"])]
    if "compile" in rep:
        out += ["", "**Compile / cache load** (fresh processes)", "",
                "| process | import s | first fit+predict s | second s | compile/load s |",
                "|---|---|---|---|---|"]
        for k, r in rep["compile"].items():
            if "error" in r:
                out.append(f"| {k} | error | | | |")
            else:
                out.append(f"| {k} | {r['import_s']:.2f} | {r['first_fit_s']:.2f} | "
                           f"{r['second_fit_s']:.3f} | {r['compile_or_load_s']:.2f} |")
    if "memory" in rep and "error" not in rep["memory"]:
        m = rep["memory"]
        out += ["", f"**Memory**: peak RSS {m['peak_rss_mb']:.0f} MB = {m['rss_after_imports_mb']:.0f} MB "
                f"after imports + {m['X_float32_mb']:.0f} MB float32 X + "
                f"{m['peak_minus_imports_minus_X_mb']:.0f} MB rest; Numba allocations per "
                f"`train_epoch` call by number of samples: {m['nrt_allocations_per_train_epoch_call']}."]
    if "progress" in rep:
        out += ["", "**Progress reporting** (`fit`, float32)", "", "| configuration | samples/s median | cost vs one chunk (median of paired rounds) |", "|---|---|---|"]
        for k, r in rep["progress"].items():
            out.append(f"| {k} | {r['samples_per_s']['median']:,.0f} | "
                       f"{100 * r['cost_vs_one_chunk']['median']:+.1f}% |")
    if "hogwild" in rep:
        h = rep["hogwild"]
        out += ["", "**Hogwild** (float32, one epoch)", "", "| mode | samples/s median | test accuracy median |", "|---|---|---|"]
        for k, r in h.items():
            if k != "speedup":
                out.append(f"| {k} | {r['samples_per_s']['median']:,.0f} | "
                           f"{r['test_accuracy_after_one_epoch']['median']:.4f} |")
        out.append(f"\nSpeed-up of 2 threads: {h['speedup']['median']:.2f}× (median).")
    if "bound" in rep:
        out += ["", "**Memory-traffic bound** (bench/bandwidth.py: this machine's rates, the bytes "
                "per sample measured on MNIST)", ""] + bound_tables(rep)
        sentence = bound_sentence(rep)
        if sentence:
            out += ["", sentence + "."]
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "latest.json"))
