#!/usr/bin/env bash
# Autotune against the best fixed configuration, measured in the same run on the same machine.
# Usage: autotune_grid.sh [--reduced] [--rounds N] [--duration S] [--phase S] [--grid-workers "1 2 4 8 16 32"]
#                         [--grid-prefetch "2 4 8"] [--workloads "tensor jsonl images latency consumer"] [--confirm N]
#                         [--work DIR] [--no-build]
#   --reduced    a shorter run for a busy machine: 1 round, 5 s per configuration, workers 1 2 8 32 × prefetch 2 8,
#                phases of 10 s (later options override it)
#   --rounds     rounds over the whole grid, configurations in a new order each round (default 2)
#   --duration   seconds each configuration runs, one loader, read without pause (default 8); steady = its second half
#   --phase      seconds of each of the changing-consumer run's three phases (default 15)
#   --grid-workers, --grid-prefetch   the fixed configurations (default: the issue's grid, 1-32 × 2-8)
#   --confirm    pairs of runs that re-measure each workload's best fixed configuration against auto, alternating
#                (default 3; 0: none): the grid's best is the largest of 18 noisy figures, biased upward
#   --no-grid    keep the grid's runs already in --work and run only the confirming pairs (and the summary)
#   --workloads  which to run (default: all five); "consumer" is the changing-consumer run (latency 2 ms, a step per
#                batch of 4 ms that doubles to 8 ms after one phase, then halves to 2 ms after two; three phases each)
#   --cli        the streamingloader executable to run (default: the Release build in src/StreamingLoader.Cli/bin,
#                built first unless --no-build)
#   --work       where data, raw outputs, the summary and the plot go (default: $TMPDIR/streamingloader-autotune-UID);
#                its raw/ folder is emptied first, so the summary holds only this run
# Every configuration and --workers auto (prefetch tuned too) runs as a fresh process:
# `streamingloader bench WORKLOAD --duration S` (after a 1 s warm-up loader: a timeline of samples/s every 250 ms).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
rounds=2 duration=8 phase=15 grid_workers="1 2 4 8 16 32" grid_prefetch="2 4 8"
workloads="tensor jsonl images latency consumer" work="${TMPDIR:-/tmp}/streamingloader-autotune-$(id -u)" build=1 cli="" confirm=3 grid=1

while (($#)); do
  case "$1" in
    --reduced) rounds=1 duration=5 phase=10 grid_workers="1 2 8 32" grid_prefetch="2 8" ;;
    --rounds) rounds="${2:?}"; shift ;;
    --phase) phase="${2:?}"; shift ;;
    --grid-workers) grid_workers="${2:?}"; shift ;;
    --grid-prefetch) grid_prefetch="${2:?}"; shift ;;
    --duration) duration="${2:?}"; shift ;;
    --workloads) workloads="${2:?}"; shift ;;
    --work) work="${2:?}"; shift ;;
    --no-build) build=0 ;;
    --confirm) confirm="${2:?}"; shift ;;
    --no-grid) grid=0 ;;
    --cli) cli="${2:?}"; build=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

((grid)) && rm -rf "$work/raw"
rm -rf "$work/raw/confirm"
mkdir -p "$work/raw"
cli="${cli:-$root/src/StreamingLoader.Cli/bin/Release/net10.0/StreamingLoader.Cli}"
((grid)) && printf '{"phase": %s, "duration": %s, "rounds": %s, "grid_workers": "%s", "grid_prefetch": "%s"}\n' \
  "$phase" "$duration" "$rounds" "$grid_workers" "$grid_prefetch" >"$work/meta.json"
if ((build)); then
  echo "== building StreamingLoader CLI (Release)" >&2
  dotnet build "$root/src/StreamingLoader.Cli/StreamingLoader.Cli.csproj" -c Release -v q -nologo >&2
fi

# Debian's python, where apt installs PIL and numpy (a pyenv python first on PATH would not see them).
py=python3
[[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
if [[ " $workloads " == *" jsonl "* ]]; then
  "$py" "$here/anchor/make_jsonl.py" "$work/data" --lines 200000 >&2
fi
if [[ " $workloads " == *" images "* ]]; then
  "$py" -c 'import PIL, numpy' 2>/dev/null || apt-get install -y -q --no-install-recommends python3-pil python3-numpy >&2 \
    || { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends python3-pil python3-numpy >&2; }
  "$py" "$here/anchor/make_images.py" "$work/data" --count 2000 >&2
fi

args_of() {
  case "$1" in
    tensor) echo "tensor" ;;
    jsonl) echo "jsonl --data $work/data" ;;
    images) echo "images --data $work/data" ;;
    latency) echo "latency --latency-ms 2" ;;
    consumer) echo "latency --latency-ms 2 --step-ms 4 --step-schedule $phase:8,$((2 * phase)):2" ;;
  esac
}

configs=("auto")
for w in $grid_workers; do for p in $grid_prefetch; do configs+=("$w:$p"); done; done

# One fresh process: bench WORKLOAD with CONFIG ("auto" or "W:P") for SECONDS, its JSON line (with the load average
# at its start) written to OUT.
run_one() {
  local workload=$1 config=$2 out=$3 seconds=$4 set_args load
  if [[ $config == auto ]]; then set_args="--workers auto"; else set_args="--workers ${config%%:*} --prefetch ${config##*:}"; fi
  load=$(cut -d' ' -f1 /proc/loadavg)
  "$cli" bench $(args_of "$workload") $set_args --duration "$seconds" --no-metrics >"$out.tmp" 2>"$out.log" || { echo "failed: $workload $config (see $out.log)" >&2; return 0; }
  python3 - "$out.tmp" "$load" >"$out" <<'EOF2'
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); r["load_average"] = float(sys.argv[2]); print(json.dumps(r))
EOF2
  rm -f "$out.tmp"
  echo "$(basename "$(dirname "$out")") $workload $config: $(python3 -c "import json,sys; r=json.load(open('$out')); print(f\"{r['samples_per_s']:.0f} samples/s, final workers {r['final_workers']}, load {r['load_average']}\")")" >&2
}

echo "== load average at start: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)" >&2
for round in $(seq 1 "$((grid ? rounds : 0))"); do
  for workload in $workloads; do
    seconds=$duration
    [[ $workload == consumer ]] && seconds=$((3 * phase))
    mapfile -t order < <(printf '%s\n' "${configs[@]}" | shuf --random-source=<(yes "$round$workload"))
    for config in "${order[@]}"; do
      run_one "$workload" "$config" "$work/raw/$workload-r$round-${config/:/x}.json" "$seconds"
    done
  done
done

# The grid's best is the largest of many noisy figures, so it is re-measured: that configuration and auto, alternating
# (auto first in odd pairs, second in even ones), --confirm pairs per workload.
if ((confirm > 0)); then
  mkdir -p "$work/raw/confirm"
  for workload in $workloads; do
    [[ $workload == consumer ]] && continue
    best=$(python3 "$here/autotune_summary.py" "$work" --best "$workload")
    for pair in $(seq 1 "$confirm"); do
      if ((pair % 2)); then order=(auto "$best"); else order=("$best" auto); fi
      for config in "${order[@]}"; do
        run_one "$workload" "$config" "$work/raw/confirm/$workload-p$pair-${config/:/x}.json" "$duration"
      done
    done
  done
fi
echo "== load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

python3 "$here/autotune_summary.py" "$work" | tee "$work/summary.md"
if command -v gnuplot >/dev/null && [[ -f $work/consumer-timeline.dat ]]; then
  gnuplot -e "data='$work/consumer-timeline.dat'; out='$work/autotune_consumer.svg'; phase=$phase" "$here/autotune_plot.gp"
  echo "plot: $work/autotune_consumer.svg" >&2
fi
