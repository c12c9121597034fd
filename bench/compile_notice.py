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


def run(argv, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache)
    proc = subprocess.run(FASTMLP + argv, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stderr}")
    if "--json" in argv:
        result = json.loads(proc.stdout)
        assert result["compiled"], argv
        return result["compile_seconds"]
    return float(LINE.search(proc.stderr).group(1))


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
    seconds = {name: [] for name in COMMANDS}
    for r in range(args.rounds):
        for name, argv in COMMANDS.items():
            argv = [a.format(model=model, data=data) for a in argv]
            seconds[name].append(run(argv, tempfile.mkdtemp(dir=work)))
            print(f"round {r + 1}: {name} compiled in {seconds[name][-1]:.1f} s", flush=True)
    result = dict(machine=lscpu_model(), llvm_cpu=llvm_cpu_name(), cores=os.cpu_count(),
                  load_average_before=load_before, load_average_after=os.getloadavg(),
                  rounds=args.rounds, seconds=seconds,
                  median={k: statistics.median(v) for k, v in seconds.items()})
    with open(args.out + ".json", "w") as f:
        json.dump(result, f, indent=1)
    lines = [f"# First-run compile time per command ({result['machine']}, LLVM "
             f"{result['llvm_cpu']}, {result['cores']} cores)", "",
             "`python bench/compile_notice.py`: each command in a fresh process with an empty "
             "Numba cache, interleaved; the compile time the command itself reports. Load "
             f"average {load_before[0]:.1f} before, {result['load_average_after'][0]:.1f} after "
             "(a shared machine: other work ran).", "",
             "| command | median s | min-max s |", "|---|---|---|"]
    for name, values in seconds.items():
        lines.append(f"| {name}: `fastmlp {' '.join(COMMANDS[name])}` | "
                     f"{statistics.median(values):.1f} | {min(values):.1f}-{max(values):.1f} |")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
