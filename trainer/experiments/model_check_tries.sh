#!/usr/bin/env bash
# What was tried where SSMVAE-CI trails the supervised floor on mfeat (same protocol as
# model_check.sh: n_max 140, rho 10, beta 0.1, 100 epochs, seeds 0-4):
#   ssmvae-ci-val : model selection on a validation split (25% of each class's labeled samples,
#                   best epoch by validation balanced accuracy; the test set is never looked at)
#   ssmvae-ci-a1  : a = 1.0 instead of 0.3 (a stronger classification term)
# Results land beside model_check.sh's and summarize.py reports them as extra rows.
set -euo pipefail
root="$(git rev-parse --show-toplevel)"
out="$root/trainer/results/model-check"
bin="$root/target/debug/ssmvae"
cargo build -q -p ssmvae-trainer --bin ssmvae
declare -A MODELS=(
  [ssmvae-ci-val]="--validation-fraction 0.25"
  [ssmvae-ci-a1]="--alpha-a 1.0"
)
for model in ssmvae-ci-val ssmvae-ci-a1; do for seed in 0 1 2 3 4; do
  tag="mfeat.$model.seed$seed"
  [ -f "$out/$tag.metrics.json" ] && { echo "skip $tag"; continue; }
  echo "run $tag"
  # --hidden 512,512: the width these runs were made with, before hidden = auto (docs/model.md §11.1).
  /usr/bin/time -v "$bin" train --no-progress --threads 2 --device cpu --seed "$seed" --hidden 512,512 ${MODELS[$model]} \
    --dataset mfeat --n-max 140 --rho 10 --beta 0.1 --epochs 100 \
    --checkpoint "/tmp/ssmvae-$tag.safetensors" --log "$out/$tag.epochs.jsonl" \
    --metrics-out "$out/$tag.metrics.tmp" >"$out/$tag.stdout" 2>"$out/$tag.time"
  mv "$out/$tag.metrics.tmp" "$out/$tag.metrics.json"
  rm -f "/tmp/ssmvae-$tag.safetensors" "/tmp/ssmvae-$tag.best.safetensors"
done; done
python3 "$root/trainer/experiments/summarize.py" "$out" | tee "$out/summary.md"
