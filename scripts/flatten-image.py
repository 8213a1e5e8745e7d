#!/usr/bin/env python3
"""Unpack an OCI image layout's final filesystem into a folder.

    scripts/flatten-image.py LAYOUT OUT

Layers are applied bottom first; whiteouts (`.wh.name`) delete, opaque
markers (`.wh..wh..opq`) empty their folder of what lower layers put there;
device files are skipped. For giving peers that only read folders the same
input Vigia reads from the image. Stdlib only; also importable (`flatten`).
"""
import json
import os
import shutil
import sys
import tarfile


def flatten(image, out):
    idx = json.load(open(os.path.join(image, "index.json")))
    blob = lambda d: os.path.join(image, "blobs", *d.split(":"))
    m = json.load(open(blob(idx["manifests"][0]["digest"])))
    os.makedirs(out)
    for layer in m["layers"]:
        with tarfile.open(blob(layer["digest"])) as t:
            keep = []
            for e in t.getmembers():
                d, b = os.path.split(e.name)
                if b == ".wh..wh..opq":
                    p = os.path.join(out, d)
                    for c in os.listdir(p) if os.path.isdir(p) else []:
                        q = os.path.join(p, c)
                        shutil.rmtree(q) if os.path.isdir(q) and not os.path.islink(q) else os.remove(q)
                elif b.startswith(".wh."):
                    p = os.path.join(out, d, b[4:])
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p)
                    elif os.path.lexists(p):
                        os.remove(p)
                elif not (e.isdev() or e.ischr() or e.isblk()):
                    keep.append(e)
            for e in keep:
                p = os.path.join(out, e.name)
                if os.path.lexists(p) and not os.path.isdir(p):
                    os.remove(p)
            t.extractall(out, members=keep, filter="tar")


if __name__ == "__main__":
    flatten(sys.argv[1], sys.argv[2])
