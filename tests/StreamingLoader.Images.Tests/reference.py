#!/usr/bin/env python3
"""Writes test images and torchvision 0.14's outputs on them, for StreamingLoader.Images' equivalence tests.

Usage: reference.py OUT_DIR
Writes OUT_DIR/folder/<class>/... (images, JPEG and PNG, RGB, RGBA and grayscale), OUT_DIR/ref/*.bin (float32,
C-order) and OUT_DIR/manifest.json describing every reference output, the folder's classes and samples, and
RandomResizedCrop boxes drawn by torchvision.
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms as T

out = sys.argv[1]
folder = os.path.join(out, "folder")
ref = os.path.join(out, "ref")
os.makedirs(ref, exist_ok=True)
rng = np.random.default_rng(1234)


def picture(w, h, seed):
    """A photo-like image: smooth gradients, a few shapes with edges, some noise."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.zeros((h, w, 3), np.float32)
    for c in range(3):
        fx, fy, ph = r.uniform(0.005, 0.05), r.uniform(0.005, 0.05), r.uniform(0, 6.28)
        img[..., c] = 128 + 90 * np.sin(x * fx + y * fy + ph)
    for _ in range(6):
        cx, cy, rad = r.uniform(0, w), r.uniform(0, h), r.uniform(10, min(w, h) / 3)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < rad ** 2
        img[mask] = r.uniform(0, 255, 3)
    img += r.normal(0, 6, img.shape)
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


# The folder: classes with odd names, nested folders, upper-case extensions, a file with another extension.
files = {
    "cat/a.jpg": (300, 250, "JPEG"),
    "cat/B.JPG": (400, 320, "JPEG"),
    "cat/sub/c.png": (257, 380, "PNG"),
    "dog/gray.jpg": (320, 300, "JPEG-L"),
    "dog/small.jpg": (180, 150, "JPEG"),
    "dog/rgba.png": (260, 270, "PNG-RGBA"),
    "dog/gray.png": (300, 310, "PNG-L"),
    "Zebra/z.jpeg": (350, 262, "JPEG"),
    "Zebra/notes.txt": None,
}
for i, (rel, spec) in enumerate(sorted(files.items())):
    path = os.path.join(folder, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if spec is None:
        with open(path, "w") as f:
            f.write("not an image\n")
        continue
    w, h, kind = spec
    img = picture(w, h, i)
    if kind == "JPEG":
        img.save(path, "JPEG", quality=90)
    elif kind == "JPEG-L":
        img.convert("L").save(path, "JPEG", quality=90)
    elif kind == "PNG":
        img.save(path, "PNG")
    elif kind == "PNG-L":
        img.convert("L").save(path, "PNG")
    elif kind == "PNG-RGBA":
        a = Image.fromarray(rng.integers(0, 256, (h, w), dtype=np.uint8))
        rgba = img.copy()
        rgba.putalpha(a)
        rgba.save(path, "PNG")

dataset = torchvision.datasets.ImageFolder(folder)
mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
pipelines = {
    "tutorial": T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)]),
    "resize_exact": T.Compose([T.Resize((100, 150)), T.ToTensor()]),
    "resize_short": T.Compose([T.Resize(128), T.CenterCrop(128), T.ToTensor()]),
    "upsize": T.Compose([T.Resize(420), T.CenterCrop(400), T.ToTensor()]),
    "center_crop": T.Compose([T.CenterCrop(224), T.ToTensor()]),
    "crop_then_resize": T.Compose([T.CenterCrop(140), T.Resize(64), T.ToTensor()]),
}
refs = []
for index, (path, label) in enumerate(dataset.samples):
    for mode in ("RGB", "L"):
        img = Image.open(path).convert(mode)
        for name, pipeline in pipelines.items():
            if mode == "L" and name == "tutorial":
                continue
            t = pipeline(img).numpy().astype(np.float32)
            file = f"{index}-{mode}-{name}.bin"
            t.tofile(os.path.join(ref, file))
            refs.append({"index": index, "mode": mode, "pipeline": name, "file": file, "shape": list(t.shape)})

# RandomResizedCrop's boxes as torchvision draws them, for a distribution test.
torch.manual_seed(0)
boxes = {}
for (w, h) in [(300, 250), (400, 200), (120, 500)]:
    img = Image.new("RGB", (w, h))
    params = [T.RandomResizedCrop.get_params(img, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)) for _ in range(4000)]
    boxes[f"{w}x{h}"] = [list(p) for p in params]

manifest = {
    "torchvision": torchvision.__version__,
    "classes": dataset.classes,
    "class_to_idx": dataset.class_to_idx,
    "samples": [[os.path.relpath(p, folder), l] for p, l in dataset.samples],
    "refs": refs,
    "rrc_boxes": boxes,
}
with open(os.path.join(out, "manifest.json"), "w") as f:
    json.dump(manifest, f)
print(f"wrote {len(refs)} reference tensors for {len(dataset.samples)} images to {out}")
