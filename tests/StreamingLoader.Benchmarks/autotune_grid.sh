#!/usr/bin/env bash
# Autotune against the best fixed configuration, measured in the same run on the same machine.
# Usage: autotune_grid.sh [--rounds N] [--duration S] [--workloads "tensor jsonl images latency consumer"] [--work DIR] [--no-build]
#   --rounds     rounds over the whole grid, configurations in a new order each round (default 2)
#   --duration   seconds each configuration runs, one loader, read without pause (default 8); steady = its second half
#   --workloads  which to run (default: all five); "consumer" is the changing-consumer run (latency 2 ms, a step
#                per batch of 4 ms that doubles to 8 ms at 15 s, then halves to 2 ms at 30 s; 45 s each)
#   --work       where data, raw outputs, the summary and the plot go (default: $TMPDIR/streamingloader-autotune)
# Grid: workers 1, 2, 4, 8, 16, 32 × prefetch 2, 4, 8, and --workers auto (prefetch tuned too), each a fresh process
# running `streamingloader bench WORKLOAD --duration S` (a timeline of samples/s every 250 ms).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds=2 duration=8 workloads="tensor jsonl images latency consumer" work="${TMPDIR:-/tmp}/streamingloader-autotune" build=1

while (($#)); do
  case "$1" in
    --rounds) rounds="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --workloads) workloads="${2:?}"; shift ;;
    --work) work="${2:?}"; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

mkdir -p "$work/raw"
cli="$root/src/StreamingLoader.Cli/bin/Release/net10.0/StreamingLoader.Cli"
if ((build)); then
  echo "== building StreamingLoader CLI (Release)" >&2
  dotnet build "$root/src/StreamingLoader.Cli/StreamingLoader.Cli.csproj" -c Release -v q -nologo >&2
fi

if [[ " $workloads " == *" jsonl "* ]]; then
  python3 "$here/anchor/make_jsonl.py" "$work/data" --lines 200000 >&2
fi
if [[ " $workloads " == *" images "* ]]; then
  python3 -c 'import PIL, numpy' 2>/dev/null || apt-get install -y -q --no-install-recommends python3-pil python3-numpy >&2
  python3 "$here/anchor/make_images.py" "$work/data" --count 2000 >&2
fi

args_of() {
  case "$1" in
    tensor) echo "tensor" ;;
    jsonl) echo "jsonl --data $work/data" ;;
    images) echo "images --data $work/data" ;;
    latency) echo "latency --latency-ms 2" ;;
    consumer) echo "latency --latency-ms 2 --step-ms 4 --step-schedule 15:8,30:2" ;;
  esac
}

configs=("auto")
for w in 1 2 4 8 16 32; do for p in 2 4 8; do configs+=("$w:$p"); done; done

echo "== load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)" >&2
for round in $(seq 1 "$rounds"); do
  for workload in $workloads; do
    seconds=$duration
    [[ $workload == consumer ]] && seconds=45
    # A new order each round, so that a drift in the machine's load does not favour one end of the grid.
    mapfile -t order < <(printf '%s\n' "${configs[@]}" | shuf --random-source=<(yes "$round$workload"))
    for config in "${order[@]}"; do
      if [[ $config == auto ]]; then set_args="--workers auto"; else set_args="--workers ${config%%:*} --prefetch ${config##*:}"; fi
      out="$work/raw/$workload-r$round-${config/:/x}.json"
      load=$(cut -d' ' -f1 /proc/loadavg)
      # shellcheck disable=SC2046
      "$cli" bench $(args_of "$workload") $set_args --duration "$seconds" --no-metrics >"$out.tmp" 2>"$out.log" || { echo "failed: $workload $config (see $out.log)" >&2; continue; }
      python3 - "$out.tmp" "$load" >"$out" <<'EOF'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r["load_average"] = float(sys.argv[2]); print(json.dumps(r))
EOF
      rm -f "$out.tmp"
      echo "round $round $workload $config: $(python3 -c "import json,sys; r=json.load(open('$out')); print(f\"{r['samples_per_s']:.0f} samples/s, final workers {r['final_workers']}, load {r['load_average']}\")")" >&2
    done
  done
done
echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 "$here/autotune_summary.py" "$work" | tee "$work/summary.md"
if command -v gnuplot >/dev/null && [[ -f $work/consumer-timeline.dat ]]; then
  gnuplot -e "data='$work/consumer-timeline.dat'; out='$work/autotune_consumer.png'" "$here/autotune_plot.gp"
  echo "plot: $work/autotune_consumer.png" >&2
fi
