#!/usr/bin/env bash
# Reruns committed grid runs and checks that they repeat bit for bit (issue 14: "same seeds → same
# results"; the guide: same seed + same thread count → the same numbers).
#
# Usage: trainer/scripts/rerun-check.sh EXPERIMENT RUN_ID [RUN_ID...]
#   EXPERIMENT  a file under trainer/experiments/ (its committed lines are trainer/results/<name>/cpu.jsonl)
#   RUN_ID      a run as `ssmvae bench --list` prints it, e.g.
#               'GAMO + early fusion|mnist+fashion|rho=100|beta=0.3|missing=none|seed=0'
# Environment: SSMVAE (default target/release/ssmvae), DATA_DIR (default ../shared/data), JOBS (2),
#   CPU_KERNELS: the kernel set for lines that do not record theirs (default: this CPU's best).
#
# Each run trains again into a scratch results file, at the thread count and under the libtorch CPU
# kernel set (ATEN_CPU_CAPABILITY: avx2, avx512, ...) its committed line records, and every score of
# the new line (the five metrics, per-class accuracies, validation scores) is compared with the
# committed one for exact equality. Exits 1 if any differs. The kernel sets sum in different orders,
# so a line made on an AVX2-only machine repeats on an AVX-512 one only with the set pinned; lines
# written before `cpu_kernels` was recorded came from both kinds of VM (try CPU_KERNELS=avx2).
set -euo pipefail
[ "$#" -ge 2 ] || { sed -n 2,17p "$0" >&2; exit 2; }
exp="$1"; shift
name="$(basename "$exp" .toml)"
lines="trainer/results/$name/cpu.jsonl"
[ -f "$lines" ] || [ -f "$lines.zst" ] || { echo "rerun-check: no committed results $lines" >&2; exit 2; }
bin="${SSMVAE:-target/release/ssmvae}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
# A finished grid's lines may be sealed (cpu.jsonl.zst, `ssmvae report --pack-results`): read both forms.
committed="$scratch/committed.jsonl"
{ if [ -f "$lines.zst" ]; then zstd -qdc "$lines.zst"; fi; if [ -f "$lines" ]; then cat "$lines"; fi; } > "$committed"
listing="$("$bin" bench "$exp" --scale cpu --list --out "$scratch/none.jsonl" --data-dir "${DATA_DIR:-../shared/data}")"
for id in "$@"; do
  index="$(printf '%s\n' "$listing" | awk -v id="$id" '{ line = $0; sub(/^[a-z]+ +#[0-9]+ +/, "", line); if (line == id) { sub(/^#/, "", $2); print $2 } }')"
  [ -n "$index" ] || { echo "rerun-check: $id is not a run of $exp" >&2; exit 2; }
  recorded="$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    rho = d["rho"] if isinstance(d["rho"], str) else "%g" % d["rho"]  # a ratio, or "natural"
    rid = "%s|%s|rho=%s|beta=%g|missing=%s|seed=%d" % (d["model"], d["dataset"], rho, d["beta"], d["missing"], d["seed"])
    c = d["config"]
    if c.get("validation_folds", 0) >= 2: rid += "|fold=%d/%d" % (c["validation_fold"], c["validation_folds"])
    if rid == sys.argv[2]: print(d.get("threads", 1), d.get("cpu_kernels") or sys.argv[3]); break' "$committed" "$id" "${CPU_KERNELS:--}")"
  [ -n "$recorded" ] || { echo "rerun-check: $id has no committed line in $lines" >&2; exit 2; }
  echo "$index $recorded"
done > "$scratch/todo"
# One process per run, at most JOBS at once (each run is alone in its process, as in `bench --jobs`).
while read -r index threads kernels; do
  while [ "$(jobs -rp | wc -l)" -ge "${JOBS:-2}" ]; do wait -n; done
  if [ "$kernels" = - ]; then pin=(); else pin=(ATEN_CPU_CAPABILITY="$kernels"); fi
  env "${pin[@]}" "$bin" bench "$exp" --scale cpu --only-index "$index" --threads "$threads" --no-progress \
    --out "$scratch/run-$index.jsonl" --data-dir "${DATA_DIR:-../shared/data}" >"$scratch/log-$index" 2>&1 &
done < "$scratch/todo"
wait
cat "$scratch"/run-*.jsonl > "$scratch/new.jsonl"
python3 - "$committed" "$scratch/new.jsonl" <<'PY'
import json, sys
KEYS = ["overall_acc", "minority_acc", "balanced_acc", "macro_f1", "g_mean", "per_class_acc", "validation"]
def rid(d):
    rho = d["rho"] if isinstance(d["rho"], str) else "%g" % d["rho"]  # a ratio, or "natural"
    r = "%s|%s|rho=%s|beta=%g|missing=%s|seed=%d" % (d["model"], d["dataset"], rho, d["beta"], d["missing"], d["seed"])
    c = d["config"]  # a k-fold validation run's id ends in its fold
    return r + ("|fold=%d/%d" % (c["validation_fold"], c["validation_folds"]) if c.get("validation_folds", 0) >= 2 else "")
old = {rid(d): d for d in map(json.loads, open(sys.argv[1]))}
bad = 0
for new in map(json.loads, open(sys.argv[2])):
    ref = old[rid(new)]
    diff = [k for k in KEYS if k in ref and ref[k] != new.get(k)]
    state = "identical" if not diff else "DIFFERS in " + ", ".join(diff)
    # MKL picks its kernels by CPU vendor and model too: a line made on another CPU is not
    # expected to repeat, so a difference there is reported as such, not as a failure.
    other_cpu = ref.get("cpu_model") and ref.get("cpu_model") != new.get("cpu_model")
    if diff and other_cpu:
        state = f"differs, as expected: the line was made on {ref['cpu_model']}, this is {new.get('cpu_model')}"
        diff = []
    print(f"{rid(new)}: {state} (overall {ref['overall_acc']:.6f} → {new['overall_acc']:.6f}, "
          f"minority {ref['minority_acc']:.6f} → {new['minority_acc']:.6f}; committed at "
          f"{ref.get('commit', 'an unrecorded commit')}, rerun at {new.get('commit')} "
          f"on {new.get('cpu_kernels')} kernels)")
    bad += bool(diff)
sys.exit(1 if bad else 0)
PY
