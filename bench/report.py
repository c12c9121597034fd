"""Markdown tables from a bench/run.py JSON: python bench/report.py [bench/results/latest.json]"""

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


def main(path):
    rep = json.load(open(path))
    out = [f"Machine: {rep['machine']['cpu']} ({rep['machine']['cpus']} CPUs), Python "
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
    for dt in ("float32", "float64"):
        if f"batch_sizes_{dt}" in rep:
            out += ["", f"**Batch sizes, {dt}** (samples/s, median)", "", "| run | median | min | max |",
                    "|---|---|---|---|"]
            for k, s in rep[f"batch_sizes_{dt}"].items():
                out.append(f"| {k} | {s['median']:,.0f} | {s['min']:,.0f} | {s['max']:,.0f} |")
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
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "results", "latest.json"))
