"""How long each command's first run compiles: the figures the command line's notice quotes
(fastmlp/firstrun.py MEASURED_SECONDS).

    python bench/compile_notice.py [--rounds 3] [--out bench/results/compile_notice]

Every command runs in a fresh process with an empty Numba cache folder (NUMBA_CACHE_DIR), the
commands interleaved round by round, and reports the compile time it measured itself (the
``compile_seconds`` of ``--json``, or the "compiled the kernels in N s" line of predict). Writes
OUT.json and OUT.md with the machine (lscpu's model name, LLVM's CPU name, the load average).
"""

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile

import numpy as np

from machine_info import llvm_cpu_name, lscpu_model

FASTMLP = [sys.executable, "-m", "fastmlp"]
TRAIN = ["train", "--train-samples", "200", "--epochs", "1", "--hidden", "8", "--quiet",
         "--json"]
COMMANDS = {
    "train": TRAIN,
    "train-batch": TRAIN + ["--batch-size", "32"],
    "train-float64": TRAIN + ["--dtype", "float64"],
    "xor": ["xor", "--no-plots", "--json", "--epochs", "5"],
    "predict": ["predict", "{model}", "{data}"],
}
LINE = re.compile(r"compiled the kernels in ([0-9.]+) s")
# predict has no --json: its process's CPU time stands for the compile's (it does little else)


def run(argv, cache):
    """(wall s, CPU s) of the compile the command reports."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(FASTMLP + argv, capture_output=True, text=True, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    if "--json" in argv:
        result = json.loads(proc.stdout)
        assert result["compiled"], argv
        return result["compile_seconds"], result["compile_cpu_seconds"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return float(LINE.search(proc.stderr).group(1)), cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results",
                                                  "compile_notice"))
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fastmlp-compile-")
    model, data = os.path.join(work, "model.npz"), os.path.join(work, "rows.npy")
    run(TRAIN + ["--save", model], os.path.join(work, "setup-cache"))
    from fastmlp.datasets import load_mnist
    np.save(data, load_mnist()[2][:100])
    load_before = os.getloadavg()
    wall, cpu = ({name: [] for name in COMMANDS} for _ in range(2))
    for r in range(args.rounds):
        for name, argv in COMMANDS.items():
            argv = [a.format(model=model, data=data) for a in argv]
            w, c = run(argv, tempfile.mkdtemp(dir=work))
            wall[name].append(w)
            cpu[name].append(c)
            print(f"round {r + 1}: {name} compiled in {w:.1f} s ({c:.1f} s CPU)", flush=True)
    result = dict(machine=lscpu_model(), llvm_cpu=llvm_cpu_name(), cores=os.cpu_count(),
                  load_average_before=load_before, load_average_after=os.getloadavg(),
                  rounds=args.rounds, wall_seconds=wall, cpu_seconds=cpu,
                  median_cpu_seconds={k: statistics.median(v) for k, v in cpu.items()})
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    lines = [f"# First-run compile time per command ({result['machine']}, LLVM "
             f"{result['llvm_cpu']}, {result['cores']} cores)", "",
             "`python bench/compile_notice.py`: each command in a fresh process with an empty "
             "Numba cache, the commands interleaved, "
             f"{args.rounds} rounds; the compile time each command reports (wall) and the CPU "
             "time it spent compiling (Numba compiles on one thread: the wall time when a core "
             f"is free). Load average {load_before[0]:.1f} before, "
             f"{result['load_average_after'][0]:.1f} after (a shared machine: other work ran).",
             "", "| command | CPU s, median (min-max) | wall s, median (min-max) |",
             "|---|---|---|"]
    for name in COMMANDS:
        lines.append(f"| {name}: `fastmlp {' '.join(COMMANDS[name])}` | "
                     f"{statistics.median(cpu[name]):.1f} ({min(cpu[name]):.1f}-"
                     f"{max(cpu[name]):.1f}) | {statistics.median(wall[name]):.1f} "
                     f"({min(wall[name]):.1f}-{max(wall[name]):.1f}) |")
    lines += ["", "predict has no --json: its CPU figure is the whole process's (imports and "
                  "reading the rows included), an upper bound."]
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
