#!/usr/bin/env python3
"""torchvision side of the image benchmark: ImageFolder + DataLoader on DIR/images.

  torchvision_bench.py --data DIR [--batch 64] [--workers 0,2]
  torchvision_bench.py --data DIR --decode-only

RandomResizedCrop(224), RandomHorizontalFlip, ToTensor, Normalize; batch 64, shuffled. Each num_workers setting runs
in a fresh subprocess: one warm-up epoch, then one timed epoch whose consumer reads every value. Prints one JSON line
for the best setting (the same fields as pytorch_bench.py), every setting under "runs".
--decode-only: PIL's open + convert("RGB") of every file on one core (images/s), for context.
"""
import argparse
import json
import os
import resource
import time

import torch
import torchvision
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import transforms as T

from pytorch_bench import best_of_workers, epoch  # the same timed pass: every value read


def make_loader(args, workers):
    transform = T.Compose([T.RandomResizedCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                           T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    dataset = torchvision.datasets.ImageFolder(os.path.join(args.data, "images"), transform=transform)
    return DataLoader(dataset, batch_size=args.batch, shuffle=True, num_workers=workers)


def run_one(args, workers):
    t0 = time.perf_counter()
    loader = make_loader(args, workers)
    init_s = time.perf_counter() - t0
    epoch(loader)  # warm-up: page cache, worker start
    seconds, first, samples, checksum = epoch(loader)
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "workload": "images", "samples": samples, "seconds": round(seconds, 4),
        "samples_per_s": round(samples / seconds, 1), "num_workers": workers,
        "first_batch_ms": round(first * 1000, 2),
        "peak_rss_mb": round(main_mb + (worker_mb if workers else 0), 1),
        "init_s": round(init_s, 3), "checksum": round(checksum, 3),
        "torch": torch.__version__, "torchvision": torchvision.__version__, "torch_threads": torch.get_num_threads(),
    }


def decode_only(args):
    root = os.path.join(args.data, "images")
    files = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    for f in files:  # warm the page cache
        with open(f, "rb") as h:
            h.read()
    t0 = time.perf_counter()
    for f in files:
        with Image.open(f) as im:
            im.convert("RGB")
    seconds = time.perf_counter() - t0
    return {"workload": "decode", "decoder": "PIL " + Image.__version__, "images": len(files),
            "seconds": round(seconds, 4), "images_per_s": round(len(files) / seconds, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--workers", default="0,2")
    ap.add_argument("--decode-only", action="store_true")
    ap.add_argument("--single", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.decode_only:
        print(json.dumps(decode_only(args)))
        return
    if args.single is not None:
        print(json.dumps(run_one(args, args.single)))
        return
    best_of_workers(args.workers, lambda w, run: f"num_workers={w}: {run['samples_per_s']:.0f} images/s")


if __name__ == "__main__":
    main()
