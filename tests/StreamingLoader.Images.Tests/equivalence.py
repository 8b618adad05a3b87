#!/usr/bin/env python3
"""Writes an image of every class StreamingLoader.Images decodes, and torchvision 0.14's output on each.

Usage: equivalence.py OUT_DIR

Every image holds photo-like content (a lit gradient, noise with a natural 1/f spectrum, hard-edged shapes, thin lines,
fine stripes, text, sensor noise) at several sizes, and is written by PIL (or, for PNG colour types and bit depths that
PIL cannot write, by the small encoder below) as:
JPEG 4:2:0 / 4:2:2 / 4:4:4 / progressive / grayscale / CMYK / EXIF-rotated, PNG of every colour type and bit depth
(and interlaced), BMP, GIF, WebP (lossy, lossless, alpha), PPM / PGM (binary, plain, 16-bit) and TIFF.

Writes OUT_DIR/corpus/<class>/<file> (the classes torchvision's ImageFolder takes), OUT_DIR/gif/<file> (GIF is not
in torchvision's IMG_EXTENSIONS), OUT_DIR/ref/<n>.bin (float32 [3, 224, 224], C order) and OUT_DIR/equivalence.json:
every image's class, path, size and reference, and torchvision's ImageFolder sample list for corpus/.

The reference is torchvision's Resize(256) + CenterCrop(224) + ToTensor + Normalize on the image as torchvision's
loader opens it (PIL open + convert("RGB")). PIL 9.4 clips 16-bit grayscale (PNG, PGM, TIFF) to white: for those the
reference is the same pipeline on the image scaled to 8 bits (what the file means), and "pil" holds PIL's own.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
import torchvision
from PIL import Image, ImageDraw, ImageFont
from torchvision import transforms as T

out = sys.argv[1]
corpus = os.path.join(out, "corpus")
refs = os.path.join(out, "ref")
os.makedirs(refs, exist_ok=True)


def font(size):
    try:
        return ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default()


def photo(w, h, seed):
    """Photo-like RGB content: what makes resampling and chroma subsampling differ shows up here."""
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.empty((h, w, 3), np.float32)
    top, bottom = r.uniform(40, 220, 3), r.uniform(20, 200, 3)
    for c in range(3):
        img[..., c] = top[c] + (bottom[c] - top[c]) * y / h + r.uniform(-30, 30) * x / w
    # Noise whose amplitude falls as 1/f: one octave of smooth value noise per halving of the cell size.
    cell = max(w, h) / 2
    while cell >= 1.5:
        gw, gh = int(w / cell) + 2, int(h / cell) + 2
        luma = Image.fromarray(r.normal(0, 1, (gh, gw)).astype(np.float32), "F").resize((w, h), Image.BICUBIC)
        luma = np.asarray(luma)
        img += (9 * luma)[..., None] * r.uniform(0.7, 1.3, 3)
        cell /= 2
    pil = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(pil)
    s = min(w, h)
    for _ in range(10):
        x0, y0 = r.uniform(-0.1 * w, w), r.uniform(-0.1 * h, h)
        x1, y1 = x0 + r.uniform(0.05, 0.4) * w, y0 + r.uniform(0.05, 0.4) * h
        colour = tuple(int(v) for v in r.integers(0, 256, 3))
        [draw.rectangle, draw.ellipse][int(r.integers(2))]((x0, y0, x1, y1), fill=colour)
    for _ in range(6):
        pts = [(float(r.uniform(0, w)), float(r.uniform(0, h))) for _ in range(int(r.integers(3, 6)))]
        draw.polygon(pts, fill=tuple(int(v) for v in r.integers(0, 256, 3)))
    for _ in range(12):
        draw.line((float(r.uniform(0, w)), float(r.uniform(0, h)), float(r.uniform(0, w)), float(r.uniform(0, h))),
                  fill=tuple(int(v) for v in r.integers(0, 256, 3)), width=int(r.integers(1, 4)))
    # Fine stripes and a checkerboard: detail at the pixel pitch, the hardest case for a resampler.
    sx, sy = int(r.uniform(0, 0.6 * w)), int(r.uniform(0, 0.6 * h))
    a = np.asarray(pil).copy()
    patch = a[sy:sy + s // 4, sx:sx + s // 4]
    py, px = np.mgrid[0:patch.shape[0], 0:patch.shape[1]]
    patch[((px // 1 + py // 2) % 2 == 0)] = (235, 235, 235)
    cy, cx = int(r.uniform(0, 0.7 * h)), int(r.uniform(0, 0.7 * w))
    check = a[cy:cy + s // 5, cx:cx + s // 5]
    qy, qx = np.mgrid[0:check.shape[0], 0:check.shape[1]]
    check[(qx // 2 + qy // 2) % 2 == 0] = (15, 15, 15)
    pil = Image.fromarray(a, "RGB")
    draw = ImageDraw.Draw(pil)
    for size in (max(8, s // 40), max(10, s // 16), max(12, s // 7)):
        draw.text((float(r.uniform(0, 0.6 * w)), float(r.uniform(0, 0.85 * h))), "The quick brown fox 0123",
                  fill=tuple(int(v) for v in r.integers(0, 256, 3)), font=font(size))
    a = np.asarray(pil).astype(np.float32) + r.normal(0, 3, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def png(path, data, color_type, depth, palette=None, trns=None, interlace=False):
    """A PNG of any colour type and bit depth. data: [h, w] or [h, w, channels] of samples at that depth."""
    data = np.asarray(data)
    h, w = data.shape[:2]
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    data = data.reshape(h, w, channels)

    def rows(img):
        out = bytearray()
        for row in img:
            out.append(0)
            if depth == 16:
                out += row.astype(">u2").tobytes()
            elif depth == 8:
                out += row.astype(np.uint8).tobytes()
            else:
                flat = row.reshape(-1).astype(np.uint8)
                per = 8 // depth
                flat = np.concatenate([flat, np.zeros((-len(flat)) % per, np.uint8)]).reshape(-1, per)
                packed = np.zeros(len(flat), np.uint8)
                for i in range(per):
                    packed |= flat[:, i] << (8 - depth * (i + 1))
                out += packed.tobytes()
        return bytes(out)

    if interlace:
        raw = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = data[y0::dy, x0::dx]
            if sub.size:
                raw += rows(sub)
    else:
        raw = rows(data)

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    blob = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, int(interlace)))
    if palette is not None:
        blob += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        blob += chunk(b"tRNS", trns)
    blob += chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(blob)


def netpbm(path, magic, data, maxval):
    data = np.asarray(data)
    h, w = data.shape[:2]
    head = f"{magic}\n# written by equivalence.py\n{w} {h}\n{maxval}\n".encode()
    if magic in ("P5", "P6"):
        body = data.astype(">u2" if maxval > 255 else np.uint8).tobytes()
    else:
        body = "\n".join(" ".join(str(int(v)) for v in row.reshape(-1)) for row in data).encode() + b"\n"
    with open(path, "wb") as f:
        f.write(head + body)


def alpha(w, h, seed):
    r = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    return np.clip(128 + 120 * np.sin(x / 17.0 + y / 23.0) + r.normal(0, 20, (h, w)), 0, 255).astype(np.uint8)


entries = []
seed = 100


def add(cls, name, writer, size, corrected16=None, folder=corpus):
    """Writes one image with writer(path, photo) and records it; corrected16: the 16-bit samples PIL clips."""
    global seed
    seed += 1
    w, h = size
    directory = os.path.join(folder, cls)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, name)
    writer(path, photo(w, h, seed))
    entries.append({"class": cls, "path": os.path.relpath(path, out), "size": [w, h], "corrected16": corrected16})


def jpeg(**kw):
    return lambda path, img: img.save(path, "JPEG", **kw)


photos = [(300, 300), (640, 424), (1024, 768), (2000, 1500)]
for size in [(180, 150), (257, 383)] + photos + [(4032, 3024)]:
    add("jpeg-420", f"q90-{size[0]}x{size[1]}.jpg", jpeg(quality=90, subsampling=2), size)
for size in [(500, 375), (1600, 1200)]:
    add("jpeg-420", f"q75-{size[0]}x{size[1]}.jpg", jpeg(quality=75, subsampling=2), size)
for size in photos:
    add("jpeg-422", f"{size[0]}x{size[1]}.jpg", jpeg(quality=90, subsampling=1), size)
    add("jpeg-444", f"{size[0]}x{size[1]}.jpg", jpeg(quality=95, subsampling=0), size)
    add("jpeg-progressive", f"{size[0]}x{size[1]}.jpg", jpeg(quality=90, progressive=True, optimize=True), size)
    add("jpeg-gray", f"{size[0]}x{size[1]}.jpg", lambda p, i: i.convert("L").save(p, "JPEG", quality=90), size)
for size in [(300, 300), (1024, 768), (2000, 1500)]:
    add("jpeg-cmyk", f"{size[0]}x{size[1]}.jpg", lambda p, i: i.convert("CMYK").save(p, "JPEG", quality=90), size)
for orientation, size in [(6, (640, 424)), (8, (1600, 1200)), (3, (1024, 768))]:
    def rotated(p, i, o=orientation):
        exif = Image.Exif()
        exif[0x0112] = o
        i.save(p, "JPEG", quality=90, exif=exif.tobytes())
    add("jpeg-exif-rotated", f"orientation{orientation}-{size[0]}x{size[1]}.jpg", rotated, size)


def png_writer(kind):
    def write(path, img):
        a = np.asarray(img)
        g = np.asarray(img.convert("L"))
        w, h = img.size
        if kind == "gray1":
            png(path, (g > 127).astype(np.uint8), 0, 1)
        elif kind in ("gray2", "gray4"):
            d = int(kind[-1])
            png(path, (g.astype(np.uint32) * ((1 << d) - 1) + 127) // 255, 0, d)
        elif kind == "gray8":
            png(path, g, 0, 8)
        elif kind == "gray8-trns":
            png(path, g, 0, 8, trns=struct.pack(">H", int(g[0, 0])))
        elif kind == "gray16":
            png(path, g16(g, w, h), 0, 16)
        elif kind == "rgb8":
            png(path, a, 2, 8)
        elif kind == "rgb8-interlaced":
            png(path, a, 2, 8, interlace=True)
        elif kind == "rgb16":
            png(path, a.astype(np.uint16) * 257 + np.random.default_rng(1).integers(0, 257, a.shape), 2, 16)
        elif kind.startswith("palette"):
            d = int(kind[7:].split("-")[0])
            q = img.quantize(colors=1 << d)
            pal = np.asarray(q.getpalette()[: 3 * (1 << d)]).reshape(-1, 3)
            trns = bytes(np.linspace(0, 255, 1 << d).astype(np.uint8)) if kind.endswith("trns") else None
            png(path, np.asarray(q), 3, d, palette=pal, trns=trns)
        elif kind == "graya8":
            png(path, np.dstack([g, alpha(w, h, 1)]), 4, 8)
        elif kind == "graya16":
            png(path, np.dstack([g, alpha(w, h, 2)]).astype(np.uint16) * 257, 4, 16)
        elif kind == "rgba8":
            png(path, np.dstack([a, alpha(w, h, 3)]), 6, 8)
        elif kind == "rgba16":
            png(path, np.dstack([a, alpha(w, h, 4)]).astype(np.uint16) * 257 + 128, 6, 16)
    return write


def g16(g, w, h):
    """16-bit samples that use the low byte too."""
    return g.astype(np.uint16) * 257 + np.random.default_rng(w * h).integers(0, 200, g.shape).astype(np.uint16)


for kind in ["gray1", "gray2", "gray4", "gray8", "gray8-trns", "gray16", "rgb8", "rgb8-interlaced", "rgb16", "palette1",
             "palette2", "palette4", "palette8", "palette8-trns", "graya8", "graya16", "rgba8", "rgba16"]:
    for size in [(320, 240), (700, 500)] if kind in ("rgb8", "palette8", "gray16") else [(320, 240)]:
        add("png-" + kind, f"{size[0]}x{size[1]}.png", png_writer(kind), size, corrected16="png" if kind == "gray16" else None)

def bmp(mode):
    def write(path, img):
        if mode == "P":
            img = img.quantize(256)
        elif mode == "RGBA":
            img = Image.merge("RGBA", (*img.split(), Image.fromarray(alpha(*img.size, 5))))
        else:
            img = img.convert(mode)
        img.save(path, "BMP")
    return write


for mode, name in [("RGB", "rgb24"), ("P", "palette8"), ("L", "gray8"), ("1", "mono1"), ("RGBA", "rgba32")]:
    for size in [(320, 240), (800, 600)] if mode == "RGB" else [(320, 240)]:
        add("bmp-" + name, f"{size[0]}x{size[1]}.bmp", bmp(mode), size)

for size in [(320, 240), (1024, 768)]:
    add("webp-lossy", f"{size[0]}x{size[1]}.webp", lambda p, i: i.save(p, "WEBP", quality=85), size)
add("webp-lossless", "640x424.webp", lambda p, i: i.save(p, "WEBP", lossless=True), (640, 424))
add("webp-alpha", "640x424.webp", lambda p, i: Image.merge("RGBA", (*i.split(), Image.fromarray(alpha(*i.size, 6)))).save(p, "WEBP", quality=85), (640, 424))

for size in [(320, 240), (1024, 768)]:
    add("ppm", f"p6-{size[0]}x{size[1]}.ppm", lambda p, i: netpbm(p, "P6", np.asarray(i), 255), size)
add("ppm", "p3-plain-200x150.ppm", lambda p, i: netpbm(p, "P3", np.asarray(i), 255), (200, 150))
add("ppm", "p6-maxval1023-320x240.ppm", lambda p, i: netpbm(p, "P6", (np.asarray(i).astype(np.uint32) * 1023 + 127) // 255, 1023), (320, 240))
add("pgm", "p5-640x424.pgm", lambda p, i: netpbm(p, "P5", np.asarray(i.convert("L")), 255), (640, 424))
add("pgm", "p2-plain-200x150.pgm", lambda p, i: netpbm(p, "P2", np.asarray(i.convert("L")), 255), (200, 150))
add("pgm-16", "p5-16bit-320x240.pgm",
    lambda p, i: netpbm(p, "P5", g16(np.asarray(i.convert("L")), 320, 240), 65535), (320, 240), corrected16="pgm")

for compression, name in [(None, "raw"), ("tiff_lzw", "lzw"), ("tiff_adobe_deflate", "deflate"), ("packbits", "packbits"), ("jpeg", "jpeg")]:
    add("tiff-rgb", f"{name}-640x424.tif", lambda p, i, c=compression: i.save(p, "TIFF", compression=c), (640, 424))
add("tiff-gray", "lzw-640x424.tiff", lambda p, i: i.convert("L").save(p, "TIFF", compression="tiff_lzw"), (640, 424))
add("tiff-rgba", "deflate-320x240.tiff", lambda p, i: Image.merge("RGBA", (*i.split(), Image.fromarray(alpha(*i.size, 7)))).save(p, "TIFF", compression="tiff_adobe_deflate"), (320, 240))
add("tiff-palette", "320x240.tif", lambda p, i: i.quantize(256).save(p, "TIFF"), (320, 240))
add("tiff-mono", "group4-320x240.tif", lambda p, i: i.convert("1").save(p, "TIFF", compression="group4"), (320, 240))
add("tiff-cmyk", "320x240.tif", lambda p, i: i.convert("CMYK").save(p, "TIFF"), (320, 240))
add("tiff-gray16", "320x240.tif", lambda p, i: Image.fromarray(g16(np.asarray(i.convert("L")), 320, 240), "I;16").save(p, "TIFF"),
    (320, 240), corrected16="tiff")

for size in [(320, 240), (800, 600)]:
    add("gif", f"{size[0]}x{size[1]}.gif", lambda p, i: i.quantize(256).save(p, "GIF"), size, folder=os.path.join(out, "gif"))
add("gif", "transparent-320x240.gif", lambda p, i: i.quantize(255).save(p, "GIF", transparency=0), (320, 240), folder=os.path.join(out, "gif"))

mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
pipeline = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(), T.Normalize(mean, std)])


def eight_bit(path):
    """The 16-bit grayscale image as it is meant (PIL 9.4 clips it): samples / 257, rounded."""
    im = Image.open(path)
    a = np.asarray(im, dtype=np.uint32) if im.mode != "I" else np.asarray(im).astype(np.uint32)
    return Image.fromarray(((a + 128) // 257).astype(np.uint8), "L").convert("RGB")


for n, e in enumerate(entries):
    path = os.path.join(out, e["path"])
    theirs = pipeline(torchvision.datasets.folder.pil_loader(path)).numpy().astype(np.float32)
    if e["corrected16"]:
        pipeline(eight_bit(path)).numpy().astype(np.float32).tofile(os.path.join(refs, f"{n}.bin"))
        theirs.tofile(os.path.join(refs, f"{n}-pil.bin"))
        e["pil"] = f"{n}-pil.bin"
    else:
        theirs.tofile(os.path.join(refs, f"{n}.bin"))
    e["ref"] = f"{n}.bin"
    with Image.open(path) as im:
        e["pil_mode"] = im.mode

dataset = torchvision.datasets.ImageFolder(corpus)
manifest = {
    "torchvision": torchvision.__version__,
    "images": entries,
    "samples": [[os.path.relpath(p, corpus), label] for p, label in dataset.samples],
    "classes": dataset.classes,
}
with open(os.path.join(out, "equivalence.json"), "w") as f:
    json.dump(manifest, f)
print(f"wrote {len(entries)} images in {len(set(e['class'] for e in entries))} classes and their references to {out}")
