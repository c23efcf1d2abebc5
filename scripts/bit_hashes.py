#!/usr/bin/python3
"""Content hashes of what macrodyn writes, for refactors that must not change a bit.

Usage: scripts/bit_hashes.py DIR [DIR ...]  (Debian's python3 with python3-h5py and
python3-torch). Prints one line per item, sorted: `relative/path:item sha256-prefix`.

- HDF5 files: every dataset's dtype, shape and raw bytes (root attributes such as the
  creation time and the version are provenance and are left out; so are attributes).
- TorchScript and torch archives (*.pt, *.bin, *.ckpt): every tensor of the state dict
  (names, dtypes, shapes, bytes); the archive's own bytes may change.
- CSV files: every column except timings (seconds, elapsed, rates) and free-text
  comment lines.
- Other text files (model.json, verdict.txt, config.ini, recipe.txt): not hashed; they
  carry paths, dates and versions.
"""
import hashlib
import os
import sys

import h5py
import numpy as np

TIMING = ("second", "elapsed", "per_s", "wall", "rate")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def hdf5_items(path):
    out = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            a = obj[()]
            arr = np.asarray(a)
            out.append((name, f"{arr.dtype.str}{list(arr.shape)}:" + sha(arr.tobytes())))

    with h5py.File(path, "r", locking=False) as f:
        f.visititems(visit)
    return out


def torch_items(path):
    import torch

    m = torch.jit.load(path, map_location="cpu")
    out = []
    for name, t in m.state_dict().items():
        t = t.detach().contiguous().cpu()
        out.append((name, f"{str(t.dtype)}{list(t.shape)}:" + sha(t.numpy().tobytes())))
    return out


def csv_items(path):
    with open(path) as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    if not lines:
        return []
    header = lines[0].split(",")
    rows = [l.split(",") for l in lines[1:]]
    out = []
    for j, col in enumerate(header):
        if any(t in col.lower() for t in TIMING):
            continue
        values = "\n".join(r[j] if j < len(r) else "" for r in rows)
        out.append((col, sha(values.encode())))
    return out


def main(dirs):
    for top in dirs:
        for root, _, files in os.walk(top):
            for fn in sorted(files):
                path = os.path.join(root, fn)
                rel = os.path.relpath(path, top)
                ext = os.path.splitext(fn)[1]
                try:
                    if ext == ".h5":
                        items = hdf5_items(path)
                    elif ext in (".pt", ".bin", ".ckpt"):
                        items = torch_items(path)
                    elif ext == ".csv":
                        items = csv_items(path)
                    else:
                        continue
                except Exception as e:  # a file the tool cannot read is reported, not skipped
                    items = [("unreadable", type(e).__name__)]
                for name, h in items:
                    print(f"{os.path.basename(top)}/{rel}:{name} {h}")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
