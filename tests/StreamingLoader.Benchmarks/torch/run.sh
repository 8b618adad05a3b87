#!/usr/bin/env bash
# Side by side on the CPU: Fashion-MNIST trained with PyTorch's own DataLoader + training loop (Debian's python3-torch)
# versus StreamingLoader + TorchSharp (samples/FashionMnistTorch: TorchSharp's nn and optim, batches handed to libtorch
# without a copy), same model, optimizer, batch size, data and intra-op thread count (THREADS, default one per core,
# libtorch's default on both sides). OpenMP's wait policy is each side's best: ours leaves OpenMP's default (spin, then
# sleep; TorchThreads keeps one OpenMP team), PyTorch runs with its default and with OMP_WAIT_POLICY=PASSIVE (its
# OpenBLAS pool fights spinning OpenMP threads) and the fastest counts. The libtorch differs: TorchSharp-cpu bundles
# libtorch 2.10, python3-torch is Debian's 1.13 (OpenBLAS). Prints each side's per-epoch training time (loading
# included, evaluation excluded), the ratio ours / theirs, the test accuracies, and each side's CPU seconds per epoch (steadier on a shared machine).
#
#   tests/StreamingLoader.Benchmarks/torch/run.sh                 # MLP 784-256-128-100-10, 3 epochs (about a minute)
#   tests/StreamingLoader.Benchmarks/torch/run.sh cnn 8           # the two-convolution CNN, 8 epochs (accuracy >= 0.91)
#   PYTORCH_WORKERS="0 2" PYTORCH_WAIT_POLICIES="default PASSIVE" THREADS=1 BATCH=64 tests/StreamingLoader.Benchmarks/torch/run.sh mlp 3
#   PYTORCH=0 tests/StreamingLoader.Benchmarks/torch/run.sh cnn 8 # ours only
#
# Needs: the .NET SDK, python3-torch and dataset-fashion-mnist (installed here when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."

model=${1:-mlp}
epochs=${2:-3}
batch=${BATCH:-64}
threads=${THREADS:-$(nproc)}
workers=${WORKERS:-$(nproc)}
pytorch_workers=${PYTORCH_WORKERS:-"0 2"}
pytorch_policies=${PYTORCH_WAIT_POLICIES:-"default PASSIVE"}
python=/usr/bin/python3 # Debian's python3-torch, not a pyenv python3 on PATH
here=tests/StreamingLoader.Benchmarks/torch

need=()
"$python" -c 'import torch' 2>/dev/null || need+=(python3-torch)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
if [ ${#need[@]} -gt 0 ]; then
  echo "== installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi

case "$model" in
  mlp) extra=(--model mlp --hidden 256,128,100); lr_decay=${LR_DECAY:-1} ;;
  cnn) extra=(--model cnn --conv 32,64 --cnn-hidden 128); lr_decay=${LR_DECAY:-0.7} ;;
  *) echo "usage: $0 [mlp|cnn] [epochs]" >&2; exit 2 ;;
esac

echo "== building samples/FashionMnistTorch (Release)"
dotnet build samples/FashionMnistTorch -c Release -nologo -v quiet >/dev/null

# Median of a list of numbers.
median() { "$python" -c 'import sys, statistics; print(f"{statistics.median(float(x) for x in sys.argv[1:]):.3f}")' "$@"; }

# from_json JSON median|first|last FIELD: a figure of the RESULT line that pytorch_fashion.py prints.
from_json() {
  "$python" - "$@" <<'PY'
import json, statistics, sys
values = json.loads(sys.argv[1])[sys.argv[3]]
value = {"median": statistics.median(values), "first": values[0], "last": values[-1]}[sys.argv[2]]
print(f"{value:.4f}" if sys.argv[3] == "accuracy" else f"{value:.3f}")
PY
}

echo "== StreamingLoader + TorchSharp: $model, $epochs epochs, batch $batch, $workers loader threads, $threads libtorch thread(s)"
ours_log=$(mktemp)
samples/FashionMnistTorch/bin/Release/net10.0/FashionMnistTorch "${extra[@]}" --epochs "$epochs" --batch-size "$batch" \
  --lr-decay "$lr_decay" --device cpu --workers "$workers" --threads "$threads" | tee "$ours_log"
mapfile -t ours < <(grep -oP '^Epoch .*\(\K[0-9.]+(?= s training)' "$ours_log")
mapfile -t ours_cpu < <(grep -oP '^Epoch .* training, \K[0-9.]+(?= s CPU)' "$ours_log")
ours_acc=$(grep -oP '^Epoch .*test accuracy \K[0-9.]+' "$ours_log" | tail -1)
ours_median=$(median "${ours[@]}")
ours_cpu_median=$(median "${ours_cpu[@]}")

declare -A theirs_median theirs_first theirs_acc theirs_cpu
if [ "${PYTORCH:-1}" != "0" ]; then
  for w in $pytorch_workers; do
    for policy in $pytorch_policies; do
      key="$w $policy"
      echo "== PyTorch DataLoader(num_workers=$w) + torch, OMP_WAIT_POLICY=$policy: $model, $epochs epochs, batch $batch, $threads libtorch thread(s)"
      log=$(mktemp)
      if [ "$policy" = default ]; then run=(env -u OMP_WAIT_POLICY); else run=(env "OMP_WAIT_POLICY=$policy"); fi
      "${run[@]}" "$python" "$here/pytorch_fashion.py" "${extra[@]}" --epochs "$epochs" --batch-size "$batch" --lr-decay "$lr_decay" \
        --num-workers "$w" --threads "$threads" | tee "$log"
      result=$(grep '^RESULT ' "$log" | cut -d' ' -f2-)
      theirs_median[$key]=$(from_json "$result" median seconds)
      theirs_first[$key]=$(from_json "$result" first seconds)
      theirs_acc[$key]=$(from_json "$result" last accuracy)
      theirs_cpu[$key]=$(from_json "$result" median cpu_seconds)
      rm -f "$log"
    done
  done
fi

# less A B: whether A < B.
less() { "$python" -c 'import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)' "$1" "$2"; }

echo
echo "== per-epoch training time (s), median of $epochs epochs [first epoch]; final test accuracy; CPU s per epoch (median)"
printf '%-64s %8s  [%6s]  %s  cpu %s\n' "StreamingLoader + TorchSharp" "$ours_median" "${ours[0]}" "$ours_acc" "$ours_cpu_median"
best="" best0=""
for key in "${!theirs_median[@]}"; do
  w=${key%% *} policy=${key#* }
  # With num_workers > 0 the main process's CPU time leaves out the workers' loading.
  printf '%-64s %8s  [%6s]  %s  cpu %s\n' "PyTorch DataLoader(num_workers=$w) + torch, OMP_WAIT_POLICY=$policy" "${theirs_median[$key]}" "${theirs_first[$key]}" "${theirs_acc[$key]}" "${theirs_cpu[$key]}$([ "$w" = 0 ] || echo ' (main process only)')"
  if [ -z "$best" ] || less "${theirs_median[$key]}" "${theirs_median[$best]}"; then best=$key; fi
  if [ "$w" = 0 ] && { [ -z "$best0" ] || less "${theirs_median[$key]}" "${theirs_median[$best0]}"; }; then best0=$key; fi
done
if [ -n "$best" ]; then
  ratio=$("$python" -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.3f}")' "$ours_median" "${theirs_median[$best]}")
  echo "ratio ours / PyTorch's best (num_workers=${best%% *}, OMP_WAIT_POLICY=${best#* }): $ratio  ($( "$python" -c 'import sys; print("ours <= theirs" if float(sys.argv[1]) <= 1 else "ours > theirs")' "$ratio"))"
fi
if [ -n "$best0" ]; then
  # CPU seconds are steadier than wall time on a shared machine; ours include the loader's threads.
  cpu_ratio=$("$python" -c 'import sys; print(f"{float(sys.argv[1]) / float(sys.argv[2]):.3f}")' "$ours_cpu_median" "${theirs_cpu[$best0]}")
  echo "CPU time ratio ours / PyTorch (num_workers=0, OMP_WAIT_POLICY=${best0#* }): $cpu_ratio"
fi
rm -f "$ours_log"
