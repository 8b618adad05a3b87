#!/usr/bin/env python3
"""Writes an image folder for the image benchmark: DIR/images/class_K/NNNNN.jpg.

  make_images.py DIR [--count 2000] [--classes 10] [--seed 0]

Photo-like JPEGs (smooth gradients, shapes with hard edges, sensor-like noise) of random width and height in
250-400 px, quality 85, written once: an existing folder with the same count is kept.
"""
import argparse
import os

import numpy as np
from PIL import Image


def picture(r, w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = r.uniform(0.005, 0.05), r.uniform(0.005, 0.05), r.uniform(0, 6.28)
        img[..., c] = 128 + 90 * np.sin(x * fx + y * fy + ph)
    for _ in range(8):
        cx, cy, rad = r.uniform(0, w), r.uniform(0, h), r.uniform(10, min(w, h) / 3)
        img[(x - cx) ** 2 + (y - cy) ** 2 < rad ** 2] = r.uniform(0, 255, 3)
    img += r.normal(0, 8, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir")
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    root = os.path.join(args.dir, "images")
    stamp = os.path.join(args.dir, f".images-{args.count}-{args.classes}-{args.seed}")
    if os.path.exists(stamp):
        return
    r = np.random.default_rng(args.seed)
    for i in range(args.count):
        folder = os.path.join(root, f"class_{i % args.classes}")
        os.makedirs(folder, exist_ok=True)
        w, h = (int(v) for v in r.integers(250, 401, 2))
        picture(r, w, h).save(os.path.join(folder, f"{i:05d}.jpg"), "JPEG", quality=85)
    open(stamp, "w").close()
    print(f"wrote {args.count} JPEGs in {args.classes} classes under {root}")


if __name__ == "__main__":
    main()
