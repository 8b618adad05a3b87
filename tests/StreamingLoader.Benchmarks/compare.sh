#!/usr/bin/env bash
# Side-by-side: StreamingLoader CLI vs PyTorch DataLoader, same workloads, same data, same machine.
# Usage: compare.sh [--quick] [--out FILE] [--work DIR]
#   --quick  20000 samples/lines instead of 200000 (CI smoke test)
#   --out    also write the results as JSON to FILE
#   --work   where generated data and raw outputs go (default: $TMPDIR/streamingloader-bench)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3   # Debian's python3-torch lives in the system python
n=200000 features=64 batch=256 out="" work="${TMPDIR:-/tmp}/streamingloader-bench"

while (($#)); do
  case "$1" in
    --quick) n=20000 ;;
    --out) out="${2:?--out needs a FILE}"; shift ;;
    --work) work="${2:?--work needs a DIR}"; shift ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if ! "$py" -c 'import torch' 2>/dev/null; then
  echo "== installing python3-torch" >&2
  apt-get install -y python3-torch >&2 || { apt-get update >&2 && apt-get install -y python3-torch >&2; }
fi

echo "== building StreamingLoader CLI (Release)" >&2
cli="$root/src/StreamingLoader.Cli"
dotnet build "$cli" -c Release -nologo -v quiet >&2
dll="$(dotnet msbuild "$cli" -nologo -getProperty:TargetPath -p:Configuration=Release)"
ours() { dotnet "$dll" "$@"; }

data="$work/jsonl-$n" raw="$work/raw-$n"
mkdir -p "$raw"
"$py" "$here/anchor/make_jsonl.py" "$data" --lines "$n" >&2

echo "== tensor: StreamingLoader" >&2
ours bench tensor --samples "$n" --features "$features" --batch "$batch" --json >"$raw/ours-tensor.out"
echo "== tensor: PyTorch" >&2
"$py" "$here/anchor/pytorch_bench.py" tensor --samples "$n" --features "$features" --batch "$batch" >"$raw/torch-tensor.out"
echo "== jsonl: StreamingLoader" >&2
ours bench jsonl --data "$data" --json >"$raw/ours-jsonl.out"
echo "== jsonl: PyTorch" >&2
"$py" "$here/anchor/pytorch_bench.py" jsonl --data "$data" --batch "$batch" >"$raw/torch-jsonl.out"

"$py" - "$raw" "$n" "$out" <<'PY'
import json, os, platform, sys

raw, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def last_json(name):
    with open(os.path.join(raw, name)) as f:
        for line in reversed(f.read().splitlines()):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if isinstance(d, dict):
                return d
    sys.exit(f"compare.sh: no JSON object in {raw}/{name}")

def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)

rows = []
for w in ("tensor", "jsonl"):
    ours, theirs = last_json(f"ours-{w}.out"), last_json(f"torch-{w}.out")
    rows.append({"workload": w, "ratio": ours["samples_per_s"] / theirs["samples_per_s"],
                 "streamingloader": ours, "pytorch": theirs})

head = f"{'workload':<8} {'PyTorch/s':>11} {'workers':>7} {'ours/s':>11} {'ours/theirs':>11} " \
       f"{'1st ms PT':>9} {'1st ms ours':>11} {'RSS MB PT':>9} {'RSS MB ours':>11}"
print(f"StreamingLoader vs PyTorch {rows[0]['pytorch'].get('torch', '?')} DataLoader, "
      f"{n} samples, {os.cpu_count()} CPUs, {platform.machine()}")
print(head)
for r in rows:
    o, t = r["streamingloader"], r["pytorch"]
    print(f"{r['workload']:<8} {t['samples_per_s']:>11,.0f} {t['num_workers']:>7} {o['samples_per_s']:>11,.0f} "
          f"{r['ratio']:>10.2f}x {fmt(t.get('first_batch_ms'), '.1f'):>9} {fmt(o.get('first_batch_ms'), '.1f'):>11} "
          f"{fmt(t.get('peak_rss_mb'), '.0f'):>9} {fmt(o.get('peak_rss_mb'), '.0f'):>11}")
if out:
    with open(out, "w") as f:
        json.dump({"samples": n, "cpus": os.cpu_count(), "machine": platform.machine(), "rows": rows}, f, indent=2)
    print(f"wrote {out}")
PY
