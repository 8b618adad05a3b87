#!/usr/bin/env python3
"""PyTorch DataLoader side of the StreamingLoader side-by-side benchmarks.

  pytorch_bench.py tensor --samples 200000 --features 64 --batch 256
  pytorch_bench.py jsonl  --data DIR --batch 256
  pytorch_bench.py npy    --data DIR --batch 256   (DIR/npy/*.x.npy, *.y.npy: the rows of bench parquet)
  pytorch_bench.py text   --data DIR --batch 64    (DIR/tokens.jsonl: {"ids":[...],"y":int}, padded per batch)

Each worker setting runs in a fresh subprocess (so peak RSS is per setting): one warm-up epoch,
then one timed epoch whose consumer reads every value of every batch. Prints one JSON line for
the best setting, with every setting under "runs".
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import glob

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset, get_worker_info


class JsonlDataset(Dataset):
    """Map-style dataset the way a typical user writes it: lines in memory, json.loads per item."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().splitlines()

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, i):
        d = json.loads(self.lines[i])
        return torch.tensor(d["x"], dtype=torch.float32), d["y"]


class TokensDataset(Dataset):
    """Pre-tokenized text the way a typical user writes it: lines in memory, json.loads per item, ids as an int64 tensor."""

    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            self.lines = f.read().splitlines()

    def __len__(self):
        return len(self.lines)

    def __getitem__(self, i):
        d = json.loads(self.lines[i])
        return torch.tensor(d["ids"], dtype=torch.int64), d["y"]


def pad_collate(batch):
    """Pads to the batch's longest with pad_sequence (padding_value 0) and builds the attention mask (1 data, 0 padding)."""
    ids = [item[0] for item in batch]
    input_ids = pad_sequence(ids, batch_first=True, padding_value=0)
    lengths = torch.tensor([len(t) for t in ids])
    attention_mask = (torch.arange(input_ids.shape[1])[None, :] < lengths[:, None]).to(torch.int64)
    return input_ids, attention_mask, torch.tensor([item[1] for item in batch], dtype=torch.int64)


class NpyShards(IterableDataset):
    """PyTorch's usual way for numeric shards without Arrow: .npy shards opened with numpy.load(mmap_mode="r"),
    shard order shuffled per epoch, rows shuffled within each shard, shards split across workers."""

    def __init__(self, folder, seed=0):
        self.shards = sorted(glob.glob(f"{folder}/*.x.npy"))
        if not self.shards:
            raise SystemExit(f"no .npy shards in {folder} (streamingloader bench parquet --generate writes them)")
        self.epoch = 0
        self.seed = seed

    def __iter__(self):
        info = get_worker_info()
        wid, nw = (info.id, info.num_workers) if info else (0, 1)
        rng = np.random.default_rng(self.seed + self.epoch)
        self.epoch += 1
        order = rng.permutation(len(self.shards))
        for k in order[wid::nw]:
            x = np.load(self.shards[k], mmap_mode="r")
            y = np.load(self.shards[k].replace(".x.npy", ".y.npy"), mmap_mode="r")
            for i in rng.permutation(len(y)):
                yield torch.from_numpy(np.array(x[i])), int(y[i])


def make_loader(args, workers):
    if args.workload == "npy":
        return DataLoader(NpyShards(f"{args.data}/npy"), batch_size=args.batch, num_workers=workers)
    if args.workload == "tensor":
        g = torch.Generator().manual_seed(0)
        x = torch.randn(args.samples, args.features, generator=g)
        y = torch.randint(0, 10, (args.samples,), generator=g)
        return DataLoader(TensorDataset(x, y), batch_size=args.batch, shuffle=True, num_workers=workers)
    if args.workload == "text":
        return DataLoader(TokensDataset(f"{args.data}/tokens.jsonl"), batch_size=args.batch, shuffle=True, num_workers=workers, collate_fn=pad_collate)
    ds = JsonlDataset(f"{args.data}/samples.jsonl")
    return DataLoader(ds, batch_size=args.batch, shuffle=False, num_workers=workers)


def epoch(loader):
    """Returns (seconds, first_batch_seconds, samples, checksum) for one full pass."""
    total, checksum = 0, 0.0
    t0 = time.perf_counter()
    it = iter(loader)
    first = None
    for batch in it:
        if first is None:
            first = time.perf_counter() - t0
        checksum += sum(t.sum().item() for t in batch)
        total += batch[-1].numel()
        if len(batch) == 3:
            epoch.steps += batch[1].sum().item()
            epoch.padded += batch[1].numel()
    return time.perf_counter() - t0, first, total, checksum


epoch.steps = epoch.padded = 0


def run_one(args, workers):
    t0 = time.perf_counter()
    loader = make_loader(args, workers)
    init_s = time.perf_counter() - t0
    epoch(loader)  # warm-up
    epoch.steps = epoch.padded = 0
    seconds, first, samples, checksum = epoch(loader)
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # largest reaped worker
    return {
        "workload": args.workload, "samples": samples, "seconds": round(seconds, 4),
        "samples_per_s": round(samples / seconds, 1), "num_workers": workers,
        "first_batch_ms": round(first * 1000, 2),
        "peak_rss_mb": round(main_mb + (worker_mb if workers else 0), 1),
        "rss_main_mb": round(main_mb, 1), "rss_worker_max_mb": round(worker_mb, 1) if workers else 0,
        "init_s": round(init_s, 3), "checksum": round(checksum, 3),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        **({"padding_fraction": round(1 - epoch.steps / epoch.padded, 5)} if epoch.padded else {}),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=["tensor", "jsonl", "npy", "text"])
    ap.add_argument("--samples", type=int, default=200_000)
    ap.add_argument("--features", type=int, default=64)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--data", help="directory holding samples.jsonl (jsonl), tokens.jsonl (text) or npy/ (npy)")
    ap.add_argument("--workers", default="0,2", help="comma-separated num_workers settings")
    ap.add_argument("--single", type=int, help=argparse.SUPPRESS)  # internal: run one setting here
    args = ap.parse_args()
    if args.workload in ("jsonl", "npy", "text") and not args.data:
        ap.error(f"{args.workload} needs --data DIR")

    if args.single is not None:
        print(json.dumps(run_one(args, args.single)))
        return

    best_of_workers(args.workers, lambda w, run: f"num_workers={w}: {run['samples_per_s']:.0f} samples/s, "
                                                 f"first batch {run['first_batch_ms']:.1f} ms")


def best_of_workers(workers, describe):
    """Runs this script again once per num_workers setting, each in a fresh process (as --single W), reports each run
    on stderr as describe(w, run) says, and prints the fastest as JSON with every run under "runs"."""
    runs = []
    for w in (int(s) for s in workers.split(",")):
        out = subprocess.run([sys.executable, *sys.argv, "--single", str(w)], check=True, stdout=subprocess.PIPE, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
        print(f"# {describe(w, runs[-1])}", file=sys.stderr)
    best = max(runs, key=lambda r: r["samples_per_s"])
    print(json.dumps({**best, "runs": runs}))


if __name__ == "__main__":
    main()
