#!/usr/bin/env bash
# Side-by-side image pipeline: StreamingLoader vs torchvision ImageFolder + DataLoader, same folder, same machine.
# Usage: compare_images.sh [--count N] [--out FILE] [--work DIR]
#   --count  JPEGs to generate (default 2000, 250-400 px, 10 classes)
#   --out    also write the results as JSON to FILE
#   --work   where the generated folder and raw outputs go (default: $TMPDIR/streamingloader-bench)
# Workload: RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, Normalize, batch 64, shuffled; torchvision with
# num_workers 0 and 2 (best taken), StreamingLoader with one worker thread per core. Also prints single-core decode-only
# rates (PIL and ours) on the same files, for context.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3   # Debian's python3-torchvision lives in the system python
count=2000 out="" work="${TMPDIR:-/tmp}/streamingloader-bench"

while (($#)); do
  case "$1" in
    --count) count="${2:?--count needs N}"; shift ;;
    --out) out="${2:?--out needs a FILE}"; shift ;;
    --work) work="${2:?--work needs a DIR}"; shift ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
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

data="$work/images-$count" raw="$work/raw-images-$count"
mkdir -p "$raw"
"$py" "$here/anchor/make_images.py" "$data" --count "$count" >&2

echo "== decode only: PIL, then ours" >&2
"$py" "$here/anchor/torchvision_bench.py" --data "$data" --decode-only >"$raw/torch-decode.out"
dotnet "$dll" bench images --data "$data" --decode-only >"$raw/ours-decode.out"
echo "== images: StreamingLoader" >&2
dotnet "$dll" bench images --data "$data" --json >"$raw/ours-images.out"
echo "== images: torchvision" >&2
"$py" "$here/anchor/torchvision_bench.py" --data "$data" >"$raw/torch-images.out"

"$py" - "$raw" "$count" "$out" <<'PY'
import json, os, platform, sys

raw, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def last_json(name):
    """The last line of a raw output that is a JSON object."""
    lines = open(os.path.join(raw, name)).read().splitlines()
    found = [l for l in lines if l.startswith("{") and l.endswith("}")]
    if not found:
        sys.exit(f"compare_images.sh: no JSON line in {raw}/{name}")
    return json.loads(found[-1])

ours, theirs = last_json("ours-images.out"), last_json("torch-images.out")
pil, mine = last_json("torch-decode.out"), last_json("ours-decode.out")
ratio = ours["samples_per_s"] / theirs["samples_per_s"]
print(f"StreamingLoader vs torchvision {theirs.get('torchvision', '?')} ImageFolder + DataLoader, {n} JPEGs, "
      f"{os.cpu_count()} CPUs, {platform.machine()}")
print("RandomResizedCrop(224) + RandomHorizontalFlip + ToTensor + Normalize, batch 64, shuffled")
for r in theirs["runs"]:
    print(f"  torchvision num_workers={r['num_workers']}: {r['samples_per_s']:>8,.0f} images/s")
print(f"  StreamingLoader {ours['workers']} workers:  {ours['samples_per_s']:>8,.0f} images/s   "
      f"ours/theirs {ratio:.2f}x (goal 2.5x)")
print(f"decode only, one core, full size: {pil['decoder']} {pil['images_per_s']:,.0f}/s, "
      f"{mine['decoder']} {mine['images_per_s']:,.0f}/s")
if out:
    with open(out, "w") as f:
        json.dump({"images": n, "cpus": os.cpu_count(), "ratio": ratio, "streamingloader": ours, "torchvision": theirs,
                   "decode": {"pil": pil, "ours": mine}}, f, indent=2)
    print(f"wrote {out}")
PY
