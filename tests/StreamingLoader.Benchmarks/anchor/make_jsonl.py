#!/usr/bin/env python3
"""Write DIR/samples.jsonl: one {"x": [32 floats], "y": 0..9} object per line, deterministic per seed.
With --csv, DIR/samples.csv instead: a header f0..f31,y and the same values, one row per line."""
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
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--features", type=int, default=32)
    ap.add_argument("--csv", action="store_true", help="write samples.csv instead")
    args = ap.parse_args()

    path = os.path.join(args.dir, "samples.csv" if args.csv else "samples.jsonl")
    wanted = args.lines + 1 if args.csv else args.lines
    if os.path.exists(path) and count_lines(path) == wanted:
        print(f"{path}: exists with {args.lines} lines, kept")
        return
    os.makedirs(args.dir, exist_ok=True)
    rng = random.Random(args.seed)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        if args.csv:
            f.write(",".join([f"f{i}" for i in range(args.features)] + ["y"]) + "\n")
        for _ in range(args.lines):
            x = [rng.gauss(0.0, 1.0) for _ in range(args.features)]
            y = rng.randrange(10)
            if args.csv:
                f.write(",".join([repr(v) for v in x] + [str(y)]) + "\n")
            else:
                f.write(json.dumps({"x": x, "y": y}, separators=(",", ":")) + "\n")
    os.replace(tmp, path)
    print(f"{path}: wrote {args.lines} lines ({os.path.getsize(path) / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
