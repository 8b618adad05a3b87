#!/usr/bin/env python3
"""PyTorch side of the live-source benchmarks (live_compare.sh): the usual way to stream a file into a
DataLoader, an IterableDataset that reads it line by line.

  pytorch_live_bench.py tail   --data DIR   # samples.jsonl, json.loads per line
  pytorch_live_bench.py csv    --data DIR   # samples.csv, csv.reader per row
  pytorch_live_bench.py pandas --data DIR   # samples.csv, pandas.read_csv in chunks

Each num_workers setting runs in a fresh subprocess: one warm-up epoch, then one timed epoch whose consumer
reads every value. With workers, each worker reads the file and keeps every n-th record (the sharding the
IterableDataset documentation shows). Prints one JSON line for the best setting, with every setting under "runs".
"""
import argparse
import csv
import json
import resource
import time

import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from pytorch_bench import best_of_workers, epoch  # the same timed pass as the other anchors


def shard():
    info = get_worker_info()
    return (0, 1) if info is None else (info.id, info.num_workers)


class JsonlTail(IterableDataset):
    def __init__(self, path):
        self.path = path

    def __iter__(self):
        me, n = shard()
        with open(self.path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i % n == me:
                    d = json.loads(line)
                    yield torch.tensor(d["x"], dtype=torch.float32), d["y"]


class CsvRows(IterableDataset):
    def __init__(self, path):
        self.path = path

    def __iter__(self):
        me, n = shard()
        with open(self.path, newline="", encoding="utf-8") as f:
            rows = csv.reader(f)
            next(rows)  # header
            for i, row in enumerate(rows):
                if i % n == me:
                    yield torch.tensor([float(v) for v in row[:-1]], dtype=torch.float32), int(row[-1])


class PandasChunks(IterableDataset):
    def __init__(self, path):
        self.path = path

    def __iter__(self):
        import pandas as pd
        me, n = shard()
        for c, chunk in enumerate(pd.read_csv(self.path, chunksize=8192)):
            if c % n != me:
                continue
            x = torch.tensor(chunk.iloc[:, :-1].to_numpy(), dtype=torch.float32)
            y = torch.tensor(chunk.iloc[:, -1].to_numpy())
            for i in range(len(chunk)):
                yield x[i], y[i]


def make_loader(args, workers):
    ds = {"tail": lambda: JsonlTail(f"{args.data}/samples.jsonl"),
          "csv": lambda: CsvRows(f"{args.data}/samples.csv"),
          "pandas": lambda: PandasChunks(f"{args.data}/samples.csv")}[args.workload]()
    return DataLoader(ds, batch_size=args.batch, num_workers=workers)


def run_one(args, workers):
    loader = make_loader(args, workers)
    epoch(loader)  # warm-up
    seconds, first, samples, checksum = epoch(loader)
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"workload": args.workload, "samples": samples, "seconds": round(seconds, 4),
            "samples_per_s": round(samples / seconds, 1), "num_workers": workers,
            "first_batch_ms": round(first * 1000, 2), "peak_rss_mb": round(main_mb + (worker_mb if workers else 0), 1),
            "checksum": round(checksum, 3), "torch": torch.__version__}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workload", choices=["tail", "csv", "pandas"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--workers", default="0,2")
    ap.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.single is not None:
        print(json.dumps(run_one(args, args.single)))
        return
    best_of_workers(args.workers, lambda w, run: f"{args.workload} num_workers={w}: {run['samples_per_s']:.0f} samples/s")


if __name__ == "__main__":
    main()
