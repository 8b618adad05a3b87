#!/usr/bin/env bash
# Side-by-side GPT-2 tokenization: StreamingLoader (`streamingloader bench tokenize`: JSON Lines read, text field
# tokenized in the loader's workers, batches padded to 512) vs npm tiktoken under Node (`anchor/tiktoken_bench.js`:
# read, JSON.parse, encode_ordinary; on the main thread and on 2 worker_threads, best taken), on the same corpus.
# Usage: compare_tokenize.sh [--rounds N] [--repeat N] [--out FILE] [--work DIR]
#   --rounds rounds of (ours, tiktoken), alternating; the best of each side is compared (default 3)
#   --repeat the corpus is Debian's fortunes (every fortune a line, 15,218 documents), repeated N times (default 1)
#   --out    also write the results as JSON to FILE
#   --work   where the corpus and raw outputs go (default: $TMPDIR/streamingloader-bench)
# Needs Debian's fortunes and nodejs/npm (installed with apt when missing) and npm's tiktoken (installed into
# ~/.cache/streamingloader/tiktoken, or STREAMINGLOADER_TIKTOKEN_DIR, as the tests do).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds=3 repeat=1 out="" work="${TMPDIR:-/tmp}/streamingloader-bench"
tiktoken_version=1.0.22
module="${STREAMINGLOADER_TIKTOKEN_DIR:-$HOME/.cache/streamingloader/tiktoken}"

while (($#)); do
  case "$1" in
    --rounds) rounds="${2:?--rounds needs N}"; shift ;;
    --repeat) repeat="${2:?--repeat needs N}"; shift ;;
    --out) out="${2:?--out needs a FILE}"; shift ;;
    --work) work="${2:?--work needs a DIR}"; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

need=()
[ -d /usr/share/games/fortunes ] || need+=(fortunes)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}" >&2
  apt-get install -y "${need[@]}" >&2 || { apt-get update >&2 && apt-get install -y "${need[@]}" >&2; }
fi
if ! grep -q "\"version\": \"$tiktoken_version\"" "$module/node_modules/tiktoken/package.json" 2>/dev/null; then
  echo "== installing tiktoken $tiktoken_version into $module" >&2
  mkdir -p "$module"
  npm install --prefix "$module" --no-audit --no-fund --no-save "tiktoken@$tiktoken_version" >&2
fi

echo "== building StreamingLoader CLI (Release)" >&2
cli="$root/src/StreamingLoader.Cli"
dotnet build "$cli" -c Release -nologo -v quiet >&2
dll="$(dotnet msbuild "$cli" -nologo -getProperty:TargetPath -p:Configuration=Release)"

raw="$work/raw-tokenize"
data="$work/fortunes-x$repeat.jsonl"
mkdir -p "$raw"
python3 - "$data" "$repeat" <<'PY'
import json, os, sys
out, repeat = sys.argv[1], int(sys.argv[2])
folder = "/usr/share/games/fortunes"
docs = []
for name in sorted(os.listdir(folder)):
    path = os.path.join(folder, name)
    if "." in name or os.path.islink(path) or not os.path.isfile(path):
        continue
    for doc in open(path, encoding="utf-8").read().split("\n%\n"):
        doc = doc.strip("\n")
        if doc and doc != "%":
            docs.append(doc)
with open(out, "w", encoding="utf-8") as f:
    for _ in range(repeat):
        for doc in docs:
            f.write(json.dumps({"text": doc}, ensure_ascii=False) + "\n")
PY

for round in $(seq 1 "$rounds"); do
  echo "== tokenize, round $round/$rounds: StreamingLoader" >&2
  dotnet "$dll" bench tokenize --data "$data" --json >"$raw/ours-$round.out"
  echo "== tokenize, round $round/$rounds: tiktoken under Node" >&2
  node "$here/anchor/tiktoken_bench.js" --module "$module" --data "$data" --workers 1,2 --rounds 5 >"$raw/tiktoken-$round.out"
done

python3 - "$raw" "$rounds" "$out" "$data" <<'PY'
import json, os, platform, sys

raw, rounds, out, data = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]

def last_json(name):
    lines = [l for l in open(os.path.join(raw, name)).read().splitlines() if l.startswith("{") and l.endswith("}")]
    if not lines:
        sys.exit(f"compare_tokenize.sh: no JSON line in {raw}/{name}")
    return json.loads(lines[-1])

ours = [last_json(f"ours-{r}.out") for r in range(1, rounds + 1)]
theirs = [last_json(f"tiktoken-{r}.out") for r in range(1, rounds + 1)]
tokens = {o["tokens"] for o in ours} | {r["tokens"] for t in theirs for r in t["runs"]}
if len(tokens) != 1:
    sys.exit(f"compare_tokenize.sh: the two sides counted different tokens: {sorted(tokens)}")
best_ours = max(ours, key=lambda o: o["tokens_per_s"])
best_theirs = max((r for t in theirs for r in t["runs"]), key=lambda r: r["tokens_per_s"])
ratio = best_ours["tokens_per_s"] / best_theirs["tokens_per_s"]
t0 = theirs[0]
print(f"GPT-2 tokenization, {best_ours['documents']:,} documents, {tokens.pop():,} tokens ({os.path.basename(data)}), "
      f"{os.cpu_count()} CPUs, {platform.machine()}, load average {os.getloadavg()[0]:.1f}")
for w in sorted({r["workers"] for t in theirs for r in t["runs"]}):
    rates = [r["tokens_per_s"] for t in theirs for r in t["runs"] if r["workers"] == w]
    print(f"  tiktoken {t0['tiktoken']} (Node {t0['node']}), {w} thread{'s' if w > 1 else ''}: best {max(rates) / 1e6:6.2f}M tokens/s  (rounds' medians: "
          + ", ".join(f"{sorted(rates[i:i + 5])[2] / 1e6:.2f}M" for i in range(0, len(rates), 5)) + ")")
rates = [o["tokens_per_s"] for o in ours]
print(f"  StreamingLoader, {best_ours['workers']} workers:    best {max(rates) / 1e6:6.2f}M tokens/s  (rounds' medians: "
      + ", ".join(f"{r / 1e6:.2f}M" for r in rates) + ")")
print(f"    first epoch of the process (code compiling, piece cache empty): best {max(o['first_epoch_tokens_per_s'] for o in ours) / 1e6:.2f}M; "
      f"an epoch with an empty piece cache: best {max(o['empty_cache_tokens_per_s'] for o in ours) / 1e6:.2f}M")
print(f"  ours/tiktoken {ratio:.2f}x (best against best; goal 1.5x); {best_ours['allocated_bytes_per_sample']:.0f} B allocated per sample in the loader")
if out:
    with open(out, "w") as f:
        json.dump({"ratio": ratio, "streamingloader": ours, "tiktoken": theirs}, f, indent=2)
    print(f"wrote {out}")
PY
