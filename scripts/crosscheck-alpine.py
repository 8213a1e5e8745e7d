#!/usr/bin/env python3
"""Check Vigia's Alpine findings for an image against an independent reading.

    scripts/crosscheck-alpine.py IMAGE_LAYOUT MIRROR [--vigia PATH]

Independently of Vigia: the image's final filesystem is unpacked
(`flatten-image.py`), its release read from `/etc/alpine-release` and its
packages from `/lib/apk/db/installed` (name `P:`, version `V:`, origin `o:`),
and the mirror's Alpine records read from `Alpine/all.zip`. Versions are
compared by `univers` (AboutCode's `AlpineLinuxVersion`, PyPI), not by
Vigia's code. The expected findings are every (package, upstream CVE) where
an `Alpine:v<release>` range of the record names the package's origin and
the installed version lies inside it. Vigia's JSON findings for the image must
be exactly those. Prints the count and each difference; exits 1 on one.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

from univers.versions import AlpineLinuxVersion

flatten = import_module("flatten-image").flatten


def installed(root):
    pkgs, cur = [], {}
    with open(os.path.join(root, "lib/apk/db/installed")) as f:
        for line in f.read().splitlines() + [""]:
            if not line:
                if "P" in cur:
                    pkgs.append((cur["P"], cur["V"], cur.get("o", cur["P"])))
                cur = {}
            elif line[1:2] == ":":
                cur[line[0]] = line[2:]
    return pkgs


def affected(version, events):
    """Whether `version` lies in an OSV ECOSYSTEM range's events."""
    v = AlpineLinuxVersion(version)
    inside = False
    for e in events:
        if "introduced" in e:
            if e["introduced"] == "0" or AlpineLinuxVersion(e["introduced"]) <= v:
                inside = True
        elif "fixed" in e and inside and AlpineLinuxVersion(e["fixed"]) <= v:
            inside = False
    return inside


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("mirror")
    ap.add_argument("--vigia", default="vigia")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        flatten(args.image, root)
        release = open(os.path.join(root, "etc/alpine-release")).read().strip()
        pkgs = installed(root)
        home = os.path.join(tmp, "home")
        subprocess.run([args.vigia, "--data-dir", home, "db", "update", "--mirror", args.mirror],
                       check=True, capture_output=True, stdin=subprocess.DEVNULL)
        out = subprocess.run([args.vigia, "--data-dir", home, "scan", "image", args.image,
                              "--scanners", "vuln", "--format", "json"],
                             check=True, capture_output=True, stdin=subprocess.DEVNULL)
    ecosystem = "Alpine:v" + ".".join(release.split(".")[:2])
    expected = set()
    with zipfile.ZipFile(os.path.join(args.mirror, "Alpine", "all.zip")) as z:
        for name in z.namelist():
            rec = json.loads(z.read(name))
            cves = [i for i in rec.get("upstream", []) + rec.get("aliases", []) if i.startswith("CVE-")]
            for a in rec.get("affected", []):
                pkg = a.get("package", {})
                if pkg.get("ecosystem") != ecosystem:
                    continue
                for p, version, origin in pkgs:
                    if origin != pkg.get("name"):
                        continue
                    if any(affected(version, r["events"]) for r in a.get("ranges", [])):
                        for cve in cves:
                            expected.add((p, cve))
    got = set()
    for f in json.loads(out.stdout)["findings"]:
        d = f["packageVulnerabilityDetails"]
        for vp in d["vulnerablePackages"]:
            got.add((vp["name"], d["vulnerabilityId"]))
    wrong, missed = sorted(got - expected), sorted(expected - got)
    for w in wrong:
        print("wrong:", *w)
    for m in missed:
        print("missed:", *m)
    print(f"{len(got)} findings checked on {ecosystem} ({len(pkgs)} packages): "
          + ("none wrong, none missed" if not wrong and not missed
             else f"{len(wrong)} wrong, {len(missed)} missed"))
    sys.exit(1 if wrong or missed else 0)


if __name__ == "__main__":
    main()
