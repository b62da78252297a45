#!/usr/bin/env bash
# The GPU path, checked: 50 training steps of the default SSMVAE-CI on the CPU and on the GPU from
# the same initial weights, batches and reparameterisation noise (all drawn by the host's
# generator), on both bench shapes; prints the largest relative difference of the losses and of
# the final weights, and the median step time on each. On a machine without an NVIDIA GPU it says
# so and exits 0; where there is one but libtorch does not see it, ssmvae fails with that message.
#
# What to expect (an H200 against its host's 16 CPU threads, trainer/results/step/gpu-check.jsonl):
# the first step's loss agrees to f32 rounding and the weights after it to ~5e-4 (largest
# ‖Δθ‖/‖θ‖ of a variable); the two backends sum in different orders, and Adam's first steps are
# nearly sign steps, so a coordinate whose gradient is near zero can move ±lr on one device and
# not the other. Over 50 steps this grows: losses within ~1e-3, the worst variable's weights
# within ~10 %. A first-step difference above 1e-3 means the devices computed different things.
#
# Usage: trainer/scripts/gpu-check.sh [extra bench-step flags]
#   (builds the release binary through with-libtorch.sh unless SSMVAE_BIN names one)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L >/dev/null 2>&1; then
  echo "GPU check skipped: no NVIDIA GPU on this machine (nvidia-smi finds none)"
  exit 0
fi
if [ -n "${SSMVAE_BIN:-}" ]; then
  exec "$SSMVAE_BIN" bench-step --compare-device cuda --steps 50 --warmup 0 "$@"
fi
trainer/scripts/with-libtorch.sh cargo build --release -q -p ssmvae-trainer
exec trainer/scripts/with-libtorch.sh target/release/ssmvae bench-step --compare-device cuda --steps 50 --warmup 0 "$@"
