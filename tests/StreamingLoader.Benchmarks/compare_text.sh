#!/usr/bin/env bash
# Side-by-side padded text batches: StreamingLoader (`streamingloader bench text`, with and without --bucket) vs
# PyTorch's DataLoader (`anchor/pytorch_bench.py text`: lines in memory, json.loads per item, shuffle=True, batch 64,
# a pad_sequence collate with the attention mask; num_workers 0 and 2, best taken), on the same tokens.jsonl
# (`anchor/make_tokens.py`: {"ids":[...],"y":int} lines of 16-512 ids).
# Usage: compare_text.sh [--rounds N] [--lines N] [--out FILE] [--work DIR]
#   --rounds rounds of (ours, ours --bucket, PyTorch), one after the other; the best of each is compared (default 3)
#   --lines  lines of tokens.jsonl (default 50000, 77 MB)
#   --out    also write the results as JSON to FILE
#   --work   where the data and raw outputs go (default: $TMPDIR/streamingloader-bench)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3   # Debian's python3-torch lives in the system python
rounds=3 lines=50000 out="" work="${TMPDIR:-/tmp}/streamingloader-bench"

while (($#)); do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs N}"; shift ;;
    --lines) lines="${2:?--lines needs N}"; shift ;;
    --out) out="${2:?--out needs a FILE}"; shift ;;
    --work) work="${2:?--work needs a DIR}"; shift ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
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

data="$work/tokens-$lines" raw="$work/raw-text-$lines"
mkdir -p "$raw"
"$py" "$here/anchor/make_tokens.py" "$data" --lines "$lines" >&2

for round in $(seq 1 "$rounds"); do
  echo "== text, round $round/$rounds: StreamingLoader" >&2
  dotnet "$dll" bench text --data "$data" --no-metrics --json >"$raw/ours-$round.out"
  echo "== text, round $round/$rounds: StreamingLoader --bucket" >&2
  dotnet "$dll" bench text --data "$data" --bucket --no-metrics --json >"$raw/bucket-$round.out"
  echo "== text, round $round/$rounds: PyTorch" >&2
  "$py" "$here/anchor/pytorch_bench.py" text --data "$data" --batch 64 >"$raw/torch-$round.out"
done

"$py" - "$raw" "$rounds" "$out" <<'PY'
import json, os, platform, sys

raw, rounds, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def last_json(name):
    lines = [l for l in open(os.path.join(raw, name)).read().splitlines() if l.startswith("{") and l.endswith("}")]
    if not lines:
        sys.exit(f"compare_text.sh: no JSON line in {raw}/{name}")
    return json.loads(lines[-1])

ours = [last_json(f"ours-{r}.out") for r in range(1, rounds + 1)]
bucketed = [last_json(f"bucket-{r}.out") for r in range(1, rounds + 1)]
theirs = [last_json(f"torch-{r}.out") for r in range(1, rounds + 1)]
runs = [r for t in theirs for r in t["runs"]]
samples = {o["samples"] for o in ours + bucketed} | {r["samples"] for r in runs}
if len(samples) != 1:
    sys.exit(f"compare_text.sh: the sides read different sample counts: {sorted(samples)}")
best = lambda xs: max(xs, key=lambda x: x["samples_per_s"])
b_ours, b_bucket, b_torch = best(ours), best(bucketed), best(runs)
print(f"bench text: {samples.pop():,} samples of 16-512 ids, batch 64, shuffled; {os.cpu_count()} CPUs, {platform.machine()}, "
      f"load average {os.getloadavg()[0]:.1f}")
for w in sorted({r["num_workers"] for r in runs}):
    rates = [r["samples_per_s"] for r in runs if r["num_workers"] == w]
    print(f"  PyTorch {runs[0]['torch']} DataLoader + pad_sequence, num_workers={w}: best {max(rates):9,.0f} samples/s "
          f"(rounds: {', '.join(f'{r:,.0f}' for r in rates)}); padding {runs[0]['padding_fraction']:.1%}")
for name, xs, b in (("StreamingLoader", ours, b_ours), ("StreamingLoader --bucket", bucketed, b_bucket)):
    print(f"  {name}, {b['workers']} workers: best {b['samples_per_s']:9,.0f} samples/s (rounds: "
          f"{', '.join(format(x['samples_per_s'], ',.0f') for x in xs)}); padding {b['padding_fraction']:.1%}; first batch {b['first_batch_ms']:.1f} ms; "
          f"peak RSS {b['peak_rss_mb']:.0f} MB")
print(f"  ours/PyTorch {b_ours['samples_per_s'] / b_torch['samples_per_s']:.1f}x, bucketed {b_bucket['samples_per_s'] / b_torch['samples_per_s']:.1f}x "
      f"(best against best; goal 10x); padding {b_ours['padding_fraction']:.1%} unbucketed, {b_bucket['padding_fraction']:.1%} bucketed (goal 5%)")
if out:
    with open(out, "w") as f:
        json.dump({"ratio": b_ours["samples_per_s"] / b_torch["samples_per_s"], "ratio_bucketed": b_bucket["samples_per_s"] / b_torch["samples_per_s"],
                   "streamingloader": ours, "bucketed": bucketed, "pytorch": theirs}, f, indent=2)
    print(f"wrote {out}")
PY
