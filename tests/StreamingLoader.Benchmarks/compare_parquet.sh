#!/usr/bin/env bash
# Side-by-side for Parquet shards: `streamingloader bench parquet` (1M rows of 32 float32 + int64 label, 16 shards,
# row groups of 16,384, shuffled, batch 256) against
#   (a) our in-memory `bench tensor` on the same rows (the limit; goal: parquet >= 40 % of it),
#   (b) PyTorch DataLoader over the same rows as .npy shards, numpy.load(mmap_mode="r") in an IterableDataset,
#       num_workers 0 and 2, best taken (goal: >= 10x),
#   (c) the same Parquet shards from a local S3 endpoint (npm s3rver on loopback) through a cold cache (goal: >= 80 % of local),
#       each download's length checked (the default) and also its MD5 (--checksums); the CPU seconds per epoch of our
#       process and of s3rver (which shares the machine's cores) are reported beside them,
#   (d) the same shards over http:// byte ranges from Debian's nginx (sendfile: a server that costs next to no CPU)
#       through a cold cache: the loader's side of a cold epoch when the server does not take the cores.
# Usage: compare_parquet.sh [--rows N] [--rounds N] [--out FILE] [--work DIR]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
py=/usr/bin/python3
rows=1000000 rounds=2 out="" work="${TMPDIR:-/tmp}/streamingloader-bench"
while (($#)); do
  case "$1" in
    --rows) rows="${2:?--rows needs N}"; shift ;;
    --rounds) rounds="${2:?--rounds needs N}"; shift ;;
    --out) out="${2:?--out needs a FILE}"; shift ;;
    --work) work="${2:?--work needs a DIR}"; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

"$py" -c 'import torch, numpy' 2>/dev/null || apt-get install -y python3-torch >&2
command -v nginx >/dev/null || apt-get install -y -q nginx-light >&2 || { apt-get update -q >&2 && apt-get install -y -q nginx-light >&2; }
s3rver_home="$HOME/.cache/streamingloader/s3rver"
[ -f "$s3rver_home/node_modules/s3rver/bin/s3rver.js" ] || npm install --no-audit --no-fund --prefix "$s3rver_home" s3rver@3.7 >&2

echo "== building StreamingLoader CLI (Release)" >&2
cli="$root/src/StreamingLoader.Cli"
dotnet build "$cli" -c Release -nologo -v quiet >&2
dll="$(dotnet msbuild "$cli" -nologo -getProperty:TargetPath -p:Configuration=Release)"
ours() { dotnet "$dll" "$@"; }

data="$work/parquet-$rows" raw="$work/raw-parquet-$rows"
mkdir -p "$raw"
[ -f "$data/tensor.bin" ] || ours bench parquet --data "$data" --generate "$rows" --shards 16 >&2

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
s3dir="$(mktemp -d)"
node "$s3rver_home/node_modules/s3rver/bin/s3rver.js" -d "$s3dir" -a 127.0.0.1 -p "$port" --silent &
s3pid=$!
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
ours bench parquet --data "$data" --upload-to s3://bench/parquet --s3-endpoint "http://127.0.0.1:$port" >&2

# nginx with one worker serving the data folder; the shard names in index.txt, as http:// sources read them.
(cd "$data/parquet" && ls -- *.parquet >index.txt)
http_port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$s3dir.nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $s3dir.nginx.pid;
error_log stderr;
events { worker_connections 256; }
http { access_log off; sendfile on; tcp_nopush on; server { listen 127.0.0.1:$http_port; root $data; } }
NGINX
nginx -c "$s3dir.nginx.conf" &
nginx_pid=$!
trap 'kill $s3pid $nginx_pid 2>/dev/null; rm -rf "$s3dir" "$s3dir".nginx.*' EXIT
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$http_port) 2>/dev/null && break; sleep 0.1; done
nginx_worker=$(pgrep -P "$nginx_pid" | head -1)

for round in $(seq 1 "$rounds"); do
  echo "== round $round/$rounds: parquet (local)" >&2
  ours bench parquet --data "$data" --json >"$raw/parquet-$round.out"
  echo "== round $round/$rounds: tensor (same rows, in memory)" >&2
  ours bench tensor --from "$data/tensor.bin" --json >"$raw/tensor-$round.out"
  echo "== round $round/$rounds: parquet (S3, cold cache)" >&2
  ours bench parquet --data "$data" --location s3://bench/parquet --s3-endpoint "http://127.0.0.1:$port" --server-pid $s3pid --json >"$raw/remote-$round.out"
  echo "== round $round/$rounds: parquet (S3, cold cache, MD5 checked)" >&2
  ours bench parquet --data "$data" --location s3://bench/parquet --s3-endpoint "http://127.0.0.1:$port" --server-pid $s3pid --checksums --json >"$raw/md5-$round.out"
  echo "== round $round/$rounds: parquet (HTTP ranges from nginx, cold cache)" >&2
  ours bench parquet --data "$data" --location "http://127.0.0.1:$http_port/parquet/" --server-pid "$nginx_worker" --json >"$raw/http-$round.out"
  echo "== round $round/$rounds: PyTorch .npy shards" >&2
  "$py" "$here/anchor/pytorch_bench.py" npy --data "$data" --batch 256 >"$raw/torch-$round.out"
done

"$py" - "$raw" "$rows" "$rounds" "$out" <<'PY'
import json, os, platform, sys

raw, rows, rounds, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

def last_json(name):
    with open(os.path.join(raw, name)) as f:
        for line in reversed(f.read().splitlines()):
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if isinstance(d, dict):
                return d
    sys.exit(f"compare_parquet.sh: no JSON object in {raw}/{name}")

best = {k: max((last_json(f"{k}-{r}.out") for r in range(1, rounds + 1)), key=lambda d: d["samples_per_s"])
        for k in ("parquet", "tensor", "remote", "md5", "http", "torch")}
p, t, r, n, h, pt = (best[k]["samples_per_s"] for k in ("parquet", "tensor", "remote", "md5", "http", "torch"))
print(f"Parquet shards, {rows} rows x (32 float32 + int64), batch 256, shuffled; best of {rounds} rounds; "
      f"{os.cpu_count()} CPUs, {platform.machine()}, PyTorch {best['torch'].get('torch', '?')}")
print(f"{'workload':<34} {'samples/s':>12} {'vs parquet':>10}")
print(f"{'bench parquet (local)':<34} {p:>12,.0f} {'1.00':>10}")
print(f"{'bench tensor (same rows, memory)':<34} {t:>12,.0f} {p / t:>9.2f}x   goal parquet >= 0.40 of it")
print(f"{'bench parquet (S3, cold cache)':<34} {r:>12,.0f} {r / p:>9.2f}x   goal >= 0.80 of local (length checked, the default)")
print(f"{'bench parquet (S3, cold, MD5)':<34} {n:>12,.0f} {n / p:>9.2f}x   goal >= 0.80 of local (--checksums)")
print(f"{'bench parquet (HTTP, nginx, cold)':<34} {h:>12,.0f} {h / p:>9.2f}x   the same goal, from a server that costs next to no CPU")
print(f"{'PyTorch .npy IterableDataset':<34} {pt:>12,.0f} {p / pt:>9.1f}x   goal parquet >= 10x (num_workers {best['torch']['num_workers']})")
print("CPU seconds per epoch (medians of the best rounds): "
      f"local {best['parquet'].get('cpu_s', float('nan')):.3f}; "
      f"S3 {best['remote'].get('cpu_s', float('nan')):.3f} ours + {best['remote'].get('server_cpu_s', float('nan')):.2f} s3rver; "
      f"S3 with MD5 {best['md5'].get('cpu_s', float('nan')):.3f} ours + {best['md5'].get('server_cpu_s', float('nan')):.2f} s3rver; "
      f"HTTP {best['http'].get('cpu_s', float('nan')):.3f} ours + {best['http'].get('server_cpu_s', float('nan')):.2f} nginx")
if out:
    with open(out, "w") as f:
        json.dump({"rows": rows, "rounds": rounds, "best": best, "parquet_vs_tensor": p / t, "remote_vs_local": r / p, "remote_md5_vs_local": n / p, "http_vs_local": h / p, "parquet_vs_torch": p / pt}, f, indent=2)
    print(f"wrote {out}")
PY
