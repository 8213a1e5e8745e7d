#!/usr/bin/env python3
"""Compare Vigia's inventory of the shared targets with Syft's and Trivy's.

    scripts/crosscheck-inventory.py TARGETS_DIR [--vigia PATH] [--peers /opt/vigia-peers/bin]

Each tool writes CycloneDX for each target (the offline commands of
../shared/peers/README.md; zips and the host tarball unpacked first for the
peers that need it). Packages are compared as (purl type, name, version),
names folded as each ecosystem does (PyPI: case and `-_.`) and deb/rpm epochs
compared in the version whether a tool writes them there or as the `epoch`
qualifier, so that only real differences remain; each is printed per target and tool. Exit code 0 always:
the differences are findings to explain (docs/accuracy.md), not failures.
"""
import argparse
import json
import os
import re
import subprocess
import tarfile
import tempfile
import zipfile
from urllib.parse import unquote

TARGETS = [
    ("debian12-app", "image"),
    ("alpine-base", "image"),
    ("fn-python.zip", "zip"),
    ("fn-node.zip", "zip"),
    ("host-snapshot.tar.gz", "rootfs-tar"),
    ("rust-lockfile", "dir"),
]
TF = ["--cache-backend", "memory", "--skip-version-check", "--disable-telemetry", "--offline-scan", "--quiet"]


def key(purl):
    m = re.match(r"pkg:([^/]+)/(.+?)@([^?#]+)", purl)
    if not m:
        return None
    ty, name, version = m.group(1), unquote(m.group(2)), unquote(m.group(3))
    # Trivy writes a deb/rpm epoch as an `epoch` qualifier, Syft and Vigia in
    # the version (`1:2.38.1-5`): compare the full version either way.
    q = re.search(r"[?&]epoch=(\d+)", purl)
    if q and q.group(1) != "0" and ":" not in version:
        version = f"{q.group(1)}:{version}"
    name = name.split("/")[-1] if ty in ("deb", "apk", "rpm") else name
    if ty == "pypi":
        name = re.sub(r"[-_.]+", "-", name).lower()
    if ty == "maven":
        name = name.replace("/", ":")
    return (ty, name, version)


def packages(cdx_file):
    doc = json.load(open(cdx_file))
    out = set()
    stack = list(doc.get("components") or [])
    while stack:
        c = stack.pop()
        stack.extend(c.get("components") or [])
        k = key(c.get("purl") or "")
        if k:
            out.add(k)
    return out


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {r.stderr[-500:]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("targets")
    ap.add_argument("--vigia", default="target/release/vigia")
    ap.add_argument("--peers", default="/opt/vigia-peers/bin")
    a = ap.parse_args()
    env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
    with tempfile.TemporaryDirectory() as tmp:
        env["VIGIA_HOME"] = os.path.join(tmp, "home")
        for name, kind in TARGETS:
            src = os.path.join(a.targets, name)
            unpacked = os.path.join(tmp, name + ".d")
            if kind == "zip":
                zipfile.ZipFile(src).extractall(unpacked)
            elif kind == "rootfs-tar":
                with tarfile.open(src) as t:
                    t.extractall(unpacked, filter="tar")
            out = {}
            f = os.path.join(tmp, f"{name}.vigia.cdx.json")
            run([a.vigia, "sbom", src, "--format", "cyclonedx", "--output", f], env=env)
            out["vigia"] = packages(f)
            f = os.path.join(tmp, f"{name}.syft.cdx.json")
            syft_src = {"image": f"oci-dir:{src}", "zip": f"dir:{unpacked}",
                        "rootfs-tar": f"dir:{unpacked}", "dir": f"dir:{src}"}[kind]
            extra = ["--override-default-catalogers", "all"] if kind == "image" else []
            run([os.path.join(a.peers, "syft"), "scan", syft_src, *extra, "-q", "-o", f"cyclonedx-json={f}"], env=env)
            out["syft"] = packages(f)
            f = os.path.join(tmp, f"{name}.trivy.cdx.json")
            trivy = os.path.join(a.peers, "trivy")
            if kind == "image":
                run([trivy, "image", *TF, "--format", "cyclonedx", "--output", f, "--input", src], env=env)
            elif kind == "dir":
                run([trivy, "fs", *TF, "--format", "cyclonedx", "--output", f, src], env=env)
            else:
                run([trivy, "rootfs", *TF, "--format", "cyclonedx", "--output", f, unpacked], env=env)
            out["trivy"] = packages(f)
            v = out["vigia"]
            print(f"## {name}: Vigia {len(v)}, Syft {len(out['syft'])}, Trivy {len(out['trivy'])}")
            for peer in ("syft", "trivy"):
                p = out[peer]
                only_v, only_p = sorted(v - p), sorted(p - v)
                if not only_v and not only_p:
                    print(f"  {peer}: same packages")
                    continue
                print(f"  {peer}: {len(v & p)} shared, {len(only_v)} only Vigia, {len(only_p)} only {peer}")
                for k in only_v:
                    print(f"    only Vigia:  {k[0]} {k[1]} {k[2]}")
                for k in only_p:
                    print(f"    only {peer}: {k[0]} {k[1]} {k[2]}")


if __name__ == "__main__":
    main()
