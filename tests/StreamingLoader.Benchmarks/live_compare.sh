#!/usr/bin/env bash
# Side by side for the live file sources: StreamingLoader's tail (JSON Lines) and CSV sources vs PyTorch's usual
# way to stream a file (an IterableDataset over json.loads / csv.reader / pandas.read_csv chunks), same data,
# same machine, same run. Usage: live_compare.sh [--quick] [--work DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3
n=200000 work="${TMPDIR:-/tmp}/streamingloader-bench"
while (($#)); do
  case "$1" in
    --quick) n=20000 ;;
    --work) work="${2:?--work needs a DIR}"; shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

missing=()
"$py" -c 'import torch' 2>/dev/null || missing+=(python3-torch)
"$py" -c 'import pandas' 2>/dev/null || missing+=(python3-pandas)
if ((${#missing[@]})); then
  apt-get install -y "${missing[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${missing[@]}" >&2; }
fi

cli="$root/src/StreamingLoader.Cli"
dotnet build "$cli" -c Release -nologo -v quiet >&2
dll="$(dotnet msbuild "$cli" -nologo -getProperty:TargetPath -p:Configuration=Release)"
data="$work/live-$n"
"$py" "$here/anchor/make_jsonl.py" "$data" --lines "$n" >&2
"$py" "$here/anchor/make_jsonl.py" "$data" --lines "$n" --csv >&2

last() { grep '^{' | tail -1; }
ours_tail=$(dotnet "$dll" bench tail --data "$data" --json | last)
ours_csv=$(dotnet "$dll" bench csv --data "$data" --json | last)
torch_tail=$("$py" "$here/anchor/pytorch_live_bench.py" tail --data "$data" | last)
torch_csv=$("$py" "$here/anchor/pytorch_live_bench.py" csv --data "$data" | last)
torch_pandas=$("$py" "$here/anchor/pytorch_live_bench.py" pandas --data "$data" | last)

"$py" - "$n" "$ours_tail" "$ours_csv" "$torch_tail" "$torch_csv" "$torch_pandas" <<'PY'
import json, os, sys
n = sys.argv[1]
ours_tail, ours_csv, torch_tail, torch_csv, torch_pandas = (json.loads(a) for a in sys.argv[2:])
print(f"live sources, {n} lines of 32 floats, {os.cpu_count()} CPUs")
print(f"{'workload':<28} {'samples/s':>11} {'workers':>7} {'ours/theirs':>11}")
rows = [("tail JSONL: StreamingLoader", ours_tail, ours_tail["workers"], None),
        ("tail JSONL: PyTorch json", torch_tail, torch_tail["num_workers"], ours_tail),
        ("CSV: StreamingLoader", ours_csv, ours_csv["workers"], None),
        ("CSV: PyTorch csv.reader", torch_csv, torch_csv["num_workers"], ours_csv),
        ("CSV: PyTorch pandas", torch_pandas, torch_pandas["num_workers"], ours_csv)]
for name, r, w, ours in rows:
    ratio = f"{ours['samples_per_s'] / r['samples_per_s']:.1f}x" if ours else ""
    print(f"{name:<28} {r['samples_per_s']:>11,.0f} {w:>7} {ratio:>11}")
PY
