#!/usr/bin/env python3
"""Write DIR/tokens.jsonl: one {"ids": [int, ...], "y": 0..9} object per line, pre-tokenized text for `bench text`:
lengths uniform in [16, 512], ids uniform in GPT-2's [0, 50257), deterministic per seed."""
import argparse
import json
import os
import random


def count_lines(path):
    with open(path, "rb") as f:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("dir")
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-length", type=int, default=16)
    ap.add_argument("--max-length", type=int, default=512)
    args = ap.parse_args()

    path = os.path.join(args.dir, "tokens.jsonl")
    if os.path.exists(path) and count_lines(path) == args.lines:
        print(f"{path}: exists with {args.lines} lines, kept")
        return
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(args.seed)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for _ in range(args.lines):
            ids = [rng.randrange(50257) for _ in range(rng.randint(args.min_length, args.max_length))]
            f.write(json.dumps({"ids": ids, "y": rng.randrange(10)}, separators=(",", ":")) + "\n")
    os.replace(tmp, path)
    print(f"{path}: wrote {args.lines} lines ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
