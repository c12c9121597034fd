#!/usr/bin/env bash
# Regenerates the figures in docs/ with the commands docs/guide.md shows (needs matplotlib:
# pip install -e ".[plot]"). Run from the repository root: bash docs/figures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
fastmlp xor --out "$out/default" --gif                          # 2-10-2, the README's run
cp "$out/default/xor_learning.gif" "$out/default/xor_boundary.png" \
   "$out/default/xor_loss.png" "$out/default/xor_accuracy.png" docs/
fastmlp xor --preset 3-neurons --gif --out "$out/3"
cp "$out/3/xor_learning.gif" docs/xor_learning_3_neurons.gif
for penalty in 1e-4 1e-6; do
    fastmlp xor --preset "50-neurons-l2-$penalty" --out "$out/50-$penalty"
    cp "$out/50-$penalty/xor_boundary.png" "docs/xor_50_neurons_l2_$penalty.png"
done
fastmlp xor --preset 50-neurons-unstable --gif --out "$out/unstable"
cp "$out/unstable/xor_learning.gif" docs/xor_learning_unstable.gif
cp "$out/unstable/xor_diagnostics.png" docs/xor_diagnostics_unstable.png
fastmlp train --epochs 3 --plot "$out/mnist"                    # the reference workload
for name in loss confusion_matrix diagnostics; do
    cp "$out/mnist/$name.png" "docs/mnist_$name.png"
done
rm -r "$out"
