#!/usr/bin/env python3
"""Writes damaged JPEG and PNG files and PIL's verdict on each, for StreamingLoader.Images' verdict tests.

Usage: verdicts.py OUT_DIR

Each file is a valid image with one kind of damage: bytes before a marker, corrupt entropy-coded data, truncation
(mid-scan, between progressive scans, in the header, only the end marker), trailing bytes, corrupt header fields,
corrupt chunk checksums. The verdict is torchvision's loader's: PIL open + convert("RGB") (which decodes every pixel)
either returns (accepted) or raises (rejected). Writes OUT_DIR/*.jpg|png and OUT_DIR/verdicts.json.
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image
from torchvision.datasets.folder import pil_loader

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
r = np.random.default_rng(7)


def picture(w, h):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.stack([128 + 100 * np.sin(x / 13 + c) * np.cos(y / 17 - c) for c in range(3)], -1) + r.normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def encode(img, **kw):
    b = io.BytesIO()
    img.save(b, **kw)
    return b.getvalue()


def markers(data):
    """(offset, marker) of every marker segment before the first scan's data, and of the SOS markers."""
    found, i = [], 2
    while i < len(data) - 1:
        if data[i] != 0xFF:
            i += 1
            continue
        m = data[i + 1]
        if m == 0xFF or m == 0x00 or 0xD0 <= m <= 0xD7:
            i += 1 if m == 0xFF else 2
            continue
        found.append((i, m))
        if m == 0xD9:
            break
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        i += 2 + length
        if m == 0xDA:  # skip the entropy-coded data to the next marker
            while i < len(data) - 1 and not (data[i] == 0xFF and data[i + 1] not in (0x00,) and not 0xD0 <= data[i + 1] <= 0xD7):
                i += 1
    return found


def first(data, marker):
    return next(o for o, m in markers(data) if m == marker)


def corrupt_scan(data, start_fraction, count, seed):
    """Replaces count bytes of entropy-coded data (never with 0xFF, never touching a marker) from start_fraction on."""
    d = bytearray(data)
    sos = first(d, 0xDA)
    begin = sos + 2 + struct.unpack(">H", d[sos + 2:sos + 4])[0]
    end = len(d) - 2
    g = np.random.default_rng(seed)
    i = begin + int((end - begin) * start_fraction)
    changed = 0
    while changed < count and i < end:
        if d[i] != 0xFF and d[i - 1] != 0xFF:
            d[i] = int(g.integers(0, 255))
            changed += 1
        i += 1
    return bytes(d)


def insert(data, offset, extra):
    return data[:offset] + extra + data[offset:]


baseline = encode(picture(301, 203), format="JPEG", quality=90)
progressive = encode(picture(301, 203), format="JPEG", quality=90, progressive=True)
gray = encode(picture(160, 120).convert("L"), format="JPEG", quality=90)
cases = {}


def jpeg_cases(name, data):
    sos = first(data, 0xDA)
    scan = sos + 2 + struct.unpack(">H", data[sos + 2:sos + 4])[0]
    cases[f"{name}-good.jpg"] = data
    cases[f"{name}-extraneous-before-dht.jpg"] = insert(data, first(data, 0xC4), b"\x00\x12\x34")
    cases[f"{name}-extraneous-before-sos.jpg"] = insert(data, sos, b"\x01\x02\x03")
    cases[f"{name}-extraneous-before-eoi.jpg"] = insert(data, len(data) - 2, b"\x55\x66\x77")
    for fraction in (0.2, 0.5, 0.9):
        cases[f"{name}-corrupt-entropy-{int(fraction * 100)}.jpg"] = corrupt_scan(data, fraction, 12, int(fraction * 100))
    for fraction in (0.05, 0.3, 0.6, 0.95):
        cases[f"{name}-truncated-{int(fraction * 100)}.jpg"] = data[: scan + int((len(data) - scan) * fraction)]
    cases[f"{name}-truncated-last-4-bytes.jpg"] = data[:-4]
    cases[f"{name}-missing-eoi.jpg"] = data[:-2]
    cases[f"{name}-truncated-in-header.jpg"] = data[: sos - 20]
    cases[f"{name}-truncated-in-sos-header.jpg"] = data[: sos + 6]
    cases[f"{name}-trailing-garbage.jpg"] = data + b"trailing bytes after the end marker" * 3
    cases[f"{name}-corrupt-entropy-and-truncated.jpg"] = corrupt_scan(data, 0.2, 12, 3)[: scan + int((len(data) - scan) * 0.7)]
    cases[f"{name}-corrupt-entropy-and-missing-eoi.jpg"] = corrupt_scan(data, 0.2, 12, 4)[:-2]
    d = bytearray(data)
    sof = next(o for o, m in markers(data) if m in (0xC0, 0xC1, 0xC2))
    d[sof + 2:sof + 4] = struct.pack(">H", 3)  # SOF segment too short
    cases[f"{name}-bad-sof-length.jpg"] = bytes(d)
    d = bytearray(data)
    d[sof + 4] = 12  # 12-bit precision, not what the data holds
    cases[f"{name}-bad-precision.jpg"] = bytes(d)
    d = bytearray(data)
    d[sof + 9] = 7  # seven components
    cases[f"{name}-bad-component-count.jpg"] = bytes(d)
    d = bytearray(data)
    d[sof + 5:sof + 7] = b"\x00\x00"  # height 0
    cases[f"{name}-zero-height.jpg"] = bytes(d)
    d = bytearray(data)
    dht = first(data, 0xC4)
    d[dht + 5:dht + 21] = b"\xff" * 16  # Huffman code counts that overflow
    cases[f"{name}-bad-huffman-table.jpg"] = bytes(d)
    d = bytearray(data)
    dqt = first(data, 0xDB)
    d[dqt + 2:dqt + 4] = struct.pack(">H", 0xFFF0)  # DQT length past the end of the file
    cases[f"{name}-bad-dqt-length.jpg"] = bytes(d)
    d = bytearray(data)
    d[sos + 5] = 9  # the scan names a component the frame does not have
    cases[f"{name}-bad-sos-component.jpg"] = bytes(d)
    cases[f"{name}-no-sos.jpg"] = data[:sos] + b"\xff\xd9"


jpeg_cases("baseline", baseline)
jpeg_cases("progressive", progressive)
jpeg_cases("gray", gray)
scans = [o for o, m in markers(progressive) if m == 0xDA]
for i in (1, 3, len(scans) - 1):
    cases[f"progressive-truncated-before-scan-{i}.jpg"] = progressive[: scans[i]]
    cases[f"progressive-truncated-before-scan-{i}-with-eoi.jpg"] = progressive[: scans[i]] + b"\xff\xd9"

png_data = encode(picture(200, 150), format="PNG")


def png_chunks(data):
    i, found = 8, []
    while i < len(data):
        length = struct.unpack(">I", data[i:i + 4])[0]
        found.append((i, data[i + 4:i + 8], length))
        i += 12 + length
    return found


chunks = png_chunks(png_data)
idat = next(o for o, k, _ in chunks if k == b"IDAT")
iend = next(o for o, k, _ in chunks if k == b"IEND")
cases["png-good.png"] = png_data
for fraction in (0.1, 0.5, 0.95):
    cases[f"png-truncated-{int(fraction * 100)}.png"] = png_data[: idat + int((iend - idat) * fraction)]
cases["png-missing-iend.png"] = png_data[:iend]
cases["png-trailing-garbage.png"] = png_data + b"garbage" * 5
d = bytearray(png_data)
d[iend - 1] ^= 0xFF  # IDAT's CRC
cases["png-bad-idat-crc.png"] = bytes(d)
d = bytearray(png_data)
d[8 + 8 + 13 + 3] ^= 0xFF  # IHDR's CRC
cases["png-bad-ihdr-crc.png"] = bytes(d)
d = bytearray(png_data)
d[idat + 8 + 40:idat + 8 + 60] = bytes(20)  # zlib data overwritten
cases["png-corrupt-zlib.png"] = bytes(d)
d = bytearray(png_data)
d[8 + 8 + 8] = 3  # IHDR bit depth 3
cases["png-bad-bit-depth.png"] = bytes(d)
cases["empty.jpg"] = b""
cases["text.jpg"] = b"this is a text file, not a JPEG\n"

verdicts = {}
for name, data in sorted(cases.items()):
    path = os.path.join(out, name)
    with open(path, "wb") as f:
        f.write(data)
    try:
        pil_loader(path)
        verdicts[name] = {"accepted": True}
    except Exception as e:  # noqa: BLE001 - any exception is PIL's rejection
        verdicts[name] = {"accepted": False, "error": f"{type(e).__name__}: {e}"}
with open(os.path.join(out, "verdicts.json"), "w") as f:
    json.dump(verdicts, f, indent=1)
print(f"wrote {len(verdicts)} files, {sum(v['accepted'] for v in verdicts.values())} accepted by PIL, to {out}")
