#!/usr/bin/env python3
"""Build the bundled mnist-mini dataset from the official MNIST files.

mnist-mini is the first 2,000 training and the first 1,000 test images (and labels) of MNIST,
written as gzipped IDX files with a zeroed gzip mtime and no stored name, so that running this
script again gives byte-identical files (the binary embeds them, so they must be reproducible).

Usage: python3 scripts/make-mnist-mini.py DATA_DIR [OUT_DIR]
  DATA_DIR holds train-images-idx3-ubyte[.gz] etc. (or has them under DATA_DIR/mnist/).
  OUT_DIR defaults to assets/mnist-mini/ next to this script's parent directory.
Standard library only.
"""
import gzip
import io
import os
import struct
import sys

TRAIN_N = 2000
TEST_N = 1000
FILES = [
    ("train-images-idx3-ubyte", 2051, TRAIN_N),
    ("train-labels-idx1-ubyte", 2049, TRAIN_N),
    ("t10k-images-idx3-ubyte", 2051, TEST_N),
    ("t10k-labels-idx1-ubyte", 2049, TEST_N),
]


def read_any(directory, name):
    """Return the bytes of NAME or NAME.gz in DIRECTORY (decompressed)."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            return path, data
    sys.exit(f"error: neither {os.path.join(directory, name)} nor "
             f"{os.path.join(directory, name + '.gz')} exists")


def take_first(path, data, magic, n):
    """Return a new IDX file holding the first N records of DATA."""
    if len(data) < 8:
        sys.exit(f"error: {path}: too short for an IDX header")
    found, count = struct.unpack(">II", data[:8])
    if found != magic:
        sys.exit(f"error: {path}: magic {found}, expected {magic}")
    if count < n:
        sys.exit(f"error: {path}: holds {count} records, need {n}")
    if magic == 2051:
        rows, cols = struct.unpack(">II", data[8:16])
        header = struct.pack(">IIII", magic, n, rows, cols)
        record = rows * cols
        body = data[16:16 + n * record]
    else:
        header = struct.pack(">II", magic, n)
        record = 1
        body = data[8:8 + n]
    if len(body) != n * record:
        sys.exit(f"error: {path}: truncated")
    return header + body


def gzip_reproducible(raw):
    buf = io.BytesIO()
    # filename="" and mtime=0: no name, no timestamp -> same bytes on every run.
    with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=buf, mtime=0) as g:
        g.write(raw)
    return buf.getvalue()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    data_dir = sys.argv[1]
    if not any(os.path.exists(os.path.join(data_dir, FILES[0][0] + ext)) for ext in ("", ".gz")):
        data_dir = os.path.join(data_dir, "mnist")
    here = os.path.dirname(os.path.abspath(__file__))
    out_dir = sys.argv[2] if len(sys.argv) == 3 else os.path.normpath(os.path.join(here, "..", "assets", "mnist-mini"))
    os.makedirs(out_dir, exist_ok=True)
    for name, magic, n in FILES:
        path, data = read_any(data_dir, name)
        out = gzip_reproducible(take_first(path, data, magic, n))
        dest = os.path.join(out_dir, name + ".gz")
        with open(dest, "wb") as f:
            f.write(out)
        print(f"{dest}: {n} records, {len(out)} bytes")


if __name__ == "__main__":
    main()
