#!/usr/bin/env bash
# Fills the CPU-scale tables (trainer/results/<experiment>/cpu.jsonl) and regenerates their reports,
# in the order that makes the paper's headline tables complete first: the tuning runs, the baselines'
# acceptance check on mfeat, Table 1 at beta 0.1, Table 4, Table 5 (reusing Table 1's shared rows),
# the rest of Table 1, mfeat, ROSMAP. Two runs at a time
# (`bench --jobs 2`), one libtorch thread each (a 2-core machine). Every bench call skips finished runs, so
# the script can be stopped and rerun to continue.
#
# Usage: trainer/scripts/with-libtorch.sh trainer/experiments/run_cpu.sh [EXPERIMENT…]
#   (default: all; SSMVAE_SHARED_DATA points to shared/data, default ../shared/data)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
data="${SSMVAE_SHARED_DATA:-$root/../shared/data}"
cargo build -q --manifest-path "$root/Cargo.toml" -p ssmvae-trainer --bin ssmvae
# A private copy, so rebuilding while the grid runs does not touch the running binary.
bin="$(mktemp -d)/ssmvae"
cp "$root/target/debug/ssmvae" "$bin"
exp_dir="$root/trainer/experiments"
res_dir="$root/trainer/results"

bench() { # experiment [bench args…]
  local exp="$1"; shift
  # Two runs at a time, one process and one libtorch thread each (`bench --jobs`).
  "$bin" bench "$exp_dir/$exp.toml" --scale cpu --data-dir "$data" --device cpu --threads 1 \
    --jobs 2 --no-progress "$@"
}

report() { # experiment [report args…]
  local exp="$1"; shift
  [ -f "$res_dir/$exp/cpu.jsonl" ] || return 0
  "$bin" report "$res_dir/$exp/cpu.jsonl" --experiment "$exp_dir/$exp.toml" --pack-epochs "$@"
}

todo=("$@")
has() { [ "${#todo[@]}" -eq 0 ] || [[ " ${todo[*]} " == *" $1 "* ]]; }

if has tune; then bench tune; fi
if has baselines_tune; then bench baselines_tune; fi
if has baselines_mfeat; then bench baselines_mfeat; fi
if has tune_rare; then bench tune_rare; fi
if has rare; then bench rare; fi
# From a fresh start, the beta 0.1 block first (4 rho × 16 models × 3 seeds).
if has table1; then bench table1 --max-runs 192; fi
if has table4; then bench table4; fi
if has table5; then bench table5 --reuse "$res_dir/table1/cpu.jsonl"; fi
if has table1; then bench table1; fi
if has mfeat; then bench mfeat; fi
if has rosmap; then bench rosmap; fi
for exp in tune baselines_tune baselines_mfeat tune_rare rare table1 table4 table5 mfeat rosmap; do
  case "$exp" in
    table1 | rare) report "$exp" --readme "$root/docs/results.md" ;;
    *) report "$exp" ;;
  esac
done
