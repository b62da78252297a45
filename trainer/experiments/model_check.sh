#!/usr/bin/env bash
# The model issue's comparison runs: SSMVAE-CI vs SSVAE + early fusion vs supervised-only, on
#   mfeat          (6 views, n_max 140, rho 10, beta 0.1, 100 epochs, seeds 0-4)
#   mnist+fashion  (n_max 2000, rho 100, beta 0.1, 30 epochs, seeds 0-2)
# on the CPU, last epoch, no early stopping. Each run writes its metrics JSON, epoch log (JSON
# lines) and /usr/bin/time -v output under trainer/results/model-check/; summarize.py aggregates.
# Finished runs are skipped, so the script can be rerun to fill in what is missing.
#
# Usage: trainer/scripts/with-libtorch.sh trainer/experiments/model_check.sh [mfeat|mnist+fashion|all]
set -euo pipefail
root="$(git rev-parse --show-toplevel)"
out="$root/trainer/results/model-check"
mkdir -p "$out"
bin="$root/target/debug/ssmvae"
cargo build -q -p ssmvae-trainer --bin ssmvae
shared="${SSMVAE_SHARED_DATA:-$root/../shared/data}"
which="${1:-all}"

declare -A MODELS=(
  [ssmvae-ci]="--latent student-t --fusion poe --mode semi"
  [ssvae-early]="--latent gaussian --fusion early --mode semi"
  [supervised]="--fusion poe --mode supervised"
)

run() { # dataset model seed args...
  local ds="$1" model="$2" seed="$3"; shift 3
  local tag="$ds.$model.seed$seed"
  [ -f "$out/$tag.metrics.json" ] && { echo "skip $tag"; return; }
  echo "run $tag"
  # --hidden 512,512: the width these runs were made with, before hidden = auto (docs/model.md §11.1).
  /usr/bin/time -v "$bin" train --no-progress --threads 2 --device cpu --seed "$seed" --hidden 512,512 \
    ${MODELS[$model]} "$@" --checkpoint "/tmp/ssmvae-$tag.safetensors" \
    --log "$out/$tag.epochs.jsonl" --metrics-out "$out/$tag.metrics.tmp" \
    >"$out/$tag.stdout" 2>"$out/$tag.time"
  mv "$out/$tag.metrics.tmp" "$out/$tag.metrics.json"
  rm -f "/tmp/ssmvae-$tag.safetensors"
}

if [ "$which" = mfeat ] || [ "$which" = all ]; then
  for seed in 0 1 2 3 4; do for model in supervised ssvae-early ssmvae-ci; do
    run mfeat "$model" "$seed" --dataset mfeat --n-max 140 --rho 10 --beta 0.1 --epochs 100
  done; done
fi
if [ "$which" = mnist+fashion ] || [ "$which" = all ]; then
  for seed in 0 1 2; do for model in supervised ssvae-early ssmvae-ci; do
    run mnist+fashion "$model" "$seed" --dataset mnist+fashion --data-dir "$shared" \
      --n-max 2000 --rho 100 --beta 0.1 --epochs 30
  done; done
fi
# Bulky per-run logs (epoch lines, stdout, time -v) go into one archive, merged with what it holds
# (xz: a third smaller than gzip on these logs, and trainer/results has a 5 MB budget).
(
  cd "$out"
  shopt -s nullglob
  loose=(*.epochs.jsonl *.stdout *.time)
  if [ "${#loose[@]}" -gt 0 ]; then
    tmp="$(mktemp -d)"
    [ -f logs.tar.xz ] && tar -xJf logs.tar.xz -C "$tmp"
    cp "${loose[@]}" "$tmp/"
    (cd "$tmp" && tar --sort=name --mtime=@0 --owner=0 --group=0 -cJf logs.tar.xz -- *.epochs.jsonl *.stdout *.time)
    mv "$tmp/logs.tar.xz" logs.tar.xz && rm -f -- "${loose[@]}" && rm -rf "$tmp"
  fi
)
python3 "$root/trainer/experiments/summarize.py" "$out" | tee "$out/summary.md"
