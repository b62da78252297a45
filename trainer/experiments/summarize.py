"""Aggregates trainer/results/model-check/: mean ± standard error (sample sd / sqrt(n)) over seeds
of the final test metrics, mean seconds per epoch and peak resident memory per run. Each run's
epoch log and `time -v` output are read loose or from logs.tar.xz (where model_check.sh packs them)."""
import glob, json, math, os, re, sys, tarfile
from collections import defaultdict

out = sys.argv[1]
archive = os.path.join(out, "logs.tar.xz")
packed = {}
if os.path.exists(archive):
    with tarfile.open(archive) as t:
        packed = {m.name: t.extractfile(m).read().decode() for m in t.getmembers() if m.isfile()}

def text(path):
    if os.path.exists(path):
        return open(path).read()
    return packed[os.path.basename(path)]

cells = defaultdict(list)
for path in sorted(glob.glob(os.path.join(out, "*.metrics.json"))):
    ds, model, seed = os.path.basename(path)[: -len(".metrics.json")].rsplit(".", 2)
    m = json.load(open(path))
    epochs = [json.loads(l) for l in text(path.replace(".metrics.json", ".epochs.jsonl")).splitlines() if l.strip()]
    sec = sum(e["seconds"] for e in epochs) / len(epochs)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text(path.replace(".metrics.json", ".time")))
    cells[(ds, model)].append((m["overall_acc"], m["minority_acc"], sec, int(rss.group(1)) / 1024 if rss else float("nan"), len(epochs)))

def ms(v):
    n = len(v); mu = sum(v) / n
    se = math.sqrt(sum((x - mu) ** 2 for x in v) / (n - 1) / n) if n > 1 else 0.0
    return f"{100 * mu:.1f} ± {100 * se:.1f}"

print("| dataset | model | seeds | overall % | minority % | s / epoch | peak RSS MiB |")
print("|---|---|---|---|---|---|---|")
for (ds, model), runs in sorted(cells.items()):
    o, mi, sec, rss, ep = zip(*runs)
    print(f"| {ds} | {model} | {len(runs)} | {ms(o)} | {ms(mi)} | {sum(sec) / len(sec):.2f} | {max(rss):.0f} |")
