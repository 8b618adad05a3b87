#!/usr/bin/env bash
# Side-by-side image pipeline: StreamingLoader vs torchvision ImageFolder + DataLoader, same folder, same machine.
# Usage: compare_images.sh [--count N] [--rounds N] [--out FILE] [--work DIR]
#   --count  JPEGs to generate (default 2000, 250-400 px, 10 classes)
#   --rounds rounds of (ours, torchvision), alternating; the best of each side is compared (default 3), which evens out
#            the load of a shared machine
#   --out    also write the results as JSON to FILE
#   --work   where the generated folder and raw outputs go (default: $TMPDIR/streamingloader-bench)
# Workload: RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, Normalize, batch 64, shuffled; torchvision with
# num_workers 0 and 2 (best taken), StreamingLoader with one worker thread per core. Also prints single-core decode-only
# rates (PIL and ours) on the same files, for context.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3   # Debian's python3-torchvision lives in the system python
count=2000 rounds=3 out="" work="${TMPDIR:-/tmp}/streamingloader-bench"

while (($#)); do
  case "$1" in
    --count) count="${2:?--count needs N}"; shift ;;
    --rounds) rounds="${2:?--rounds needs N}"; shift ;;
    --out) out="${2:?--out needs a FILE}"; shift ;;
    --work) work="${2:?--work needs a DIR}"; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if ! "$py" -c 'import torchvision' 2>/dev/null; then
  echo "== installing python3-torchvision" >&2
  apt-get install -y python3-torchvision >&2 || { apt-get update >&2 && apt-get install -y python3-torchvision >&2; }
fi
dpkg -s libturbojpeg0 >/dev/null 2>&1 || apt-get install -y libturbojpeg0 >&2 || true

echo "== building StreamingLoader CLI (Release)" >&2
cli="$root/src/StreamingLoader.Cli"
dotnet build "$cli" -c Release -nologo -v quiet >&2
dll="$(dotnet msbuild "$cli" -nologo -getProperty:TargetPath -p:Configuration=Release)"
# The decode-only rate uses the library's decoder directly: a command of the benchmarks project, not of the shipped tool.
echo "== building the benchmarks project (Release), for the decode-only rate" >&2
benchmarks="$here/StreamingLoader.Benchmarks.csproj"
dotnet build "$benchmarks" -c Release -nologo -v quiet >&2
bench_dll="$(dotnet msbuild "$benchmarks" -nologo -getProperty:TargetPath -p:Configuration=Release)"

data="$work/images-$count" raw="$work/raw-images-$count"
mkdir -p "$raw"
"$py" "$here/anchor/make_images.py" "$data" --count "$count" >&2

echo "== decode only: PIL, then ours" >&2
"$py" "$here/anchor/torchvision_bench.py" --data "$data" --decode-only >"$raw/torch-decode.out"
dotnet "$bench_dll" decode --data "$data" >"$raw/ours-decode.out"
for round in $(seq 1 "$rounds"); do
  echo "== images, round $round/$rounds: StreamingLoader" >&2
  dotnet "$dll" bench images --data "$data" --json >"$raw/ours-images-$round.out"
  echo "== images, round $round/$rounds: torchvision" >&2
  "$py" "$here/anchor/torchvision_bench.py" --data "$data" >"$raw/torch-images-$round.out"
done

"$py" - "$raw" "$count" "$out" "$rounds" <<'PY'
import json, os, platform, sys

raw, n, out, rounds = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

def last_json(name):
    """The last line of a raw output that is a JSON object."""
    lines = open(os.path.join(raw, name)).read().splitlines()
    found = [l for l in lines if l.startswith("{") and l.endswith("}")]
    if not found:
        sys.exit(f"compare_images.sh: no JSON line in {raw}/{name}")
    return json.loads(found[-1])

all_ours = [last_json(f"ours-images-{r}.out") for r in range(1, rounds + 1)]
all_theirs = [last_json(f"torch-images-{r}.out") for r in range(1, rounds + 1)]
ours = max(all_ours, key=lambda d: d["samples_per_s"])
theirs = max(all_theirs, key=lambda d: d["samples_per_s"])
pil, mine = last_json("torch-decode.out"), last_json("ours-decode.out")
ratio = ours["samples_per_s"] / theirs["samples_per_s"]
print(f"StreamingLoader vs torchvision {theirs.get('torchvision', '?')} ImageFolder + DataLoader, {n} JPEGs, "
      f"{os.cpu_count()} CPUs, {platform.machine()}")
print("RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize, batch 64, shuffled")
for w in sorted({r["num_workers"] for t in all_theirs for r in t["runs"]}):
    rates = [r["samples_per_s"] for t in all_theirs for r in t["runs"] if r["num_workers"] == w]
    print(f"  torchvision num_workers={w}: best {max(rates):>8,.0f} images/s  (rounds: {', '.join(f'{x:,.0f}' for x in rates)})")
rates = [o["samples_per_s"] for o in all_ours]
print(f"  StreamingLoader {ours['workers']} workers:  best {max(rates):>8,.0f} images/s  (rounds: {', '.join(f'{x:,.0f}' for x in rates)})")
print(f"  ours/theirs {ratio:.2f}x (best against best; goal 2.5x)")
print(f"decode only, one core, full size: {pil['decoder']} {pil['images_per_s']:,.0f}/s, "
      f"{mine['decoder']} {mine['images_per_s']:,.0f}/s")
if out:
    with open(out, "w") as f:
        json.dump({"images": n, "cpus": os.cpu_count(), "ratio": ratio, "streamingloader": all_ours, "torchvision": all_theirs,
                   "decode": {"pil": pil, "ours": mine}}, f, indent=2)
    print(f"wrote {out}")
PY
