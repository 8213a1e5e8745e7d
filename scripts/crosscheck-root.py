#!/usr/bin/env python3
"""`vigia sbom /` beside Syft's `dir:/` on the machine it runs on.

    scripts/crosscheck-root.py [--vigia PATH] [--syft PATH] [--details N]

Both tools inventory the live root filesystem; packages are compared as
(purl type, name, version, file), names folded as each ecosystem does. Every
difference is classified by the rules below, each a reason one tool or the
other is wrong, or a convention where both are defensible; a difference no
rule explains is counted as `unclassified` and listed, so that a new machine
is never judged silently. Prints one Markdown table per ecosystem: packages
each tool found, packages both found, and the differences by class.
"""
import argparse
import collections
import json
import os
import re
import subprocess
import tempfile
from urllib.parse import unquote

# Trees neither tool should read (Vigia skips them on a live root; Syft is
# told to), and this repository's build outputs (not part of the machine).
EXCLUDE = ["/proc", "/sys", "/dev", "/run", "/tmp", "/work"]


def norm_name(ty, name):
    if ty == "pypi":
        return re.sub(r"[-_.]+", "-", name).lower()
    return name


# Vigia's development dependencies, by (type, name, version).
DEV = set()
# Syft's main module of each Go binary, by file.
MAIN = {}


def vigia_packages(binary):
    out = subprocess.run(
        [binary, "sbom", "/", "--format", "json", "--skip-dirs", "/work"],
        capture_output=True, check=True, stdin=subprocess.DEVNULL)
    pkgs = []
    for p in json.loads(out.stdout)["packages"]:
        path = p["path"].split("!")[0].split("#")[0].lstrip("/")
        key = (p["type"], norm_name(p["type"], p["name"]), p["version"], path)
        if p.get("dev"):
            DEV.add(key[:3])
        pkgs.append(key)
    return pkgs


def syft_packages(binary, saved):
    """Syft's packages; its JSON is kept at `saved` (and read from there when
    it exists: Syft takes minutes and gigabytes on a whole machine)."""
    if not (saved and os.path.exists(saved)):
        out = saved or os.path.join(tempfile.mkdtemp(), "syft.json")
        args = [binary, "scan", "dir:/", "-o", f"syft-json={out}", "-q"]
        for e in EXCLUDE:
            args += ["--exclude", f".{e}/**"]
        env = dict(os.environ, SYFT_CHECK_FOR_APP_UPDATE="false")
        subprocess.run(args, check=True, stdin=subprocess.DEVNULL, env=env)
        saved = out
    doc = json.load(open(saved))
    pkgs = []
    for a in doc["artifacts"]:
        m = re.match(r"pkg:([^/]+)/(.+?)@([^?#]+)", a.get("purl") or "")
        if not m:
            continue
        ty = m.group(1)
        locs = a.get("locations") or [{}]
        path = locs[0].get("path", "")
        name = a["name"]
        if ty == "maven":
            # Syft's purl carries group and artifact, its name the artifact.
            name = unquote(m.group(2)).replace("/", ":")
        if ty == "npm":
            name = unquote(m.group(2))
        if ty == "golang":
            # The module path whole (Syft's purl moves its last part to a subpath).
            name = a["name"]
            meta = a.get("metadata") or {}
            if meta.get("mainModule") == name:
                MAIN[path] = name
        pkgs.append((ty, norm_name(ty, name), a["version"], path))
    return pkgs


# Why a package is in one tool's inventory only: (class, reason, test). Tests
# see (tool that has it, type, name, version, path).
RULES = [
    ("convention", "a crate's own entry in its Cargo.lock (the project itself, not a dependency)",
     lambda t, ty, n, v, p: t == "syft" and ty == "cargo" and p.endswith("Cargo.lock")
     and os.path.basename(os.path.dirname(p)) == f"{n}-{v}"),
    ("convention", "GitHub Actions named in CI workflow files: not software on the machine",
     lambda t, ty, n, v, p: t == "syft" and ty == "github"),
    ("convention", "development dependencies (Pipfile.lock `develop`, Poetry dev groups): Vigia lists them marked `dev`",
     lambda t, ty, n, v, p: t == "vigia" and (ty, n, v) in DEV),
    ("convention", "the interpreter's own egg-info (`Python-2.7.18-py2.7.egg-info`), not a PyPI package",
     lambda t, ty, n, v, p: ty == "pypi" and n == "python" and "lib-dynload" in p),
    ("convention", "a project's own entry in its lockfile (the project itself, not a dependency)",
     lambda t, ty, n, v, p: t == "syft" and ty == "cargo" and p.endswith("Cargo.lock")
     and f'name = "{n}"' in open("/" + p[: -len("Cargo.lock")] + "Cargo.toml", errors="replace").read()
     if os.path.exists("/" + p[: -len("Cargo.lock")] + "Cargo.toml") else False),
    ("Vigia wrong", "`setup.py` pins, which Vigia does not read",
     lambda t, ty, n, v, p: t == "syft" and ty == "pypi" and p.endswith("setup.py")),
    ("Syft wrong", "NuGet packages invented from Windows launchers in Python trees",
     lambda t, ty, n, v, p: t == "syft" and ty == "nuget"),
    ("convention", "the project itself (a package.json, Cargo.toml or go.mod root), not a dependency",
     lambda t, ty, n, v, p: t == "syft" and (
         p.endswith("/package.json") and "/node_modules/" not in p
         or p.endswith("/Cargo.toml") or p.endswith("/go.mod") and ty == "golang")),
    ("convention", "a Go binary's main module without a stamped version (`(devel)`)",
     lambda t, ty, n, v, p: t == "syft" and ty == "golang" and v in ("(devel)", "")),
    ("convention", "a Go main module's version guessed from strings in the binary (Syft's classifiers), where its build info has none",
     lambda t, ty, n, v, p: t == "syft" and ty == "golang" and MAIN.get(p) == n),
    ("convention", "a Go main module's version read differently (`+incompatible`, a vendor suffix)",
     lambda t, ty, n, v, p: ty == "golang" and MAIN.get(p) == n),
    ("Syft wrong", "globally installed node modules (`/usr/lib/node_modules`, `/usr/local/lib/node_modules`) missed",
     lambda t, ty, n, v, p: t == "vigia" and ty == "npm" and "/lib/node_modules/" in p),
    ("Syft wrong", "lockfile entries Syft does not read (nested package-lock v1 dependencies, pinned requirements with other names)",
     lambda t, ty, n, v, p: t == "vigia" and (
         ty == "npm" and p.endswith("package-lock.json")
         or ty == "pypi" and "requirements" in os.path.basename(p))),
    ("convention", "a lockfile entry its project's installed environment lacks (Vigia: declared only, left out)",
     lambda t, ty, n, v, p: t == "syft" and (
         ty == "npm" and p.endswith("package-lock.json")
         or ty == "pypi" and ("requirements" in os.path.basename(p) or p.endswith(".lock")))),
    ("convention", "the Go toolchain written as Go writes it (`go1.22-…`) by Syft, as govulncheck reads it (`1.22.0`) by Vigia",
     lambda t, ty, n, v, p: ty == "golang" and n == "stdlib"),
    ("convention", "Java coordinates guessed differently from a manifest or file name",
     lambda t, ty, n, v, p: ty == "maven"),
    ("convention", "binaries Syft reports from its own binary classifiers (no package metadata)",
     lambda t, ty, n, v, p: t == "syft" and ty in ("generic", "binary")),
]


def classify(tool, key):
    for cls, reason, test in RULES:
        if test(tool, *key):
            return cls, reason
    return "unclassified", ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--vigia", default=os.path.join(here, "..", "target", "release", "vigia"))
    ap.add_argument("--syft", default="/opt/vigia-peers/bin/syft")
    ap.add_argument("--details", type=int, default=5, help="examples listed per class")
    ap.add_argument("--syft-json", help="keep Syft's JSON here, or reuse it if it exists")
    args = ap.parse_args()
    v = set(vigia_packages(args.vigia))
    s = set(syft_packages(args.syft, args.syft_json))
    # Compared without the file: the same package found at two paths by one
    # tool and one by the other is not a difference of inventory.
    vk = {k[:3] for k in v}
    sk = {k[:3] for k in s}
    types = sorted({k[0] for k in v | s})
    print("| type | Vigia | Syft | both | Vigia only | Syft only |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for ty in types:
        a = {k for k in vk if k[0] == ty}
        b = {k for k in sk if k[0] == ty}
        print(f"| {ty} | {len(a)} | {len(b)} | {len(a & b)} | {len(a - b)} | {len(b - a)} |")
    classes = collections.Counter()
    examples = collections.defaultdict(list)
    for tool, mine, other, full in (("vigia", vk, sk, v), ("syft", sk, vk, s)):
        paths = collections.defaultdict(list)
        for k in full:
            paths[k[:3]].append(k[3])
        for k in sorted(mine - other):
            key = (*k, sorted(paths[k])[0])
            cls, reason = classify(tool, key)
            label = f"{tool} only | {k[0]} | {cls} | {reason}"
            classes[label] += 1
            examples[label].append(f"{k[1]} {k[2]} ({key[3]})")
    print()
    print("| found by | type | class | reason | packages |")
    print("| --- | --- | --- | --- | ---: |")
    for label, n in sorted(classes.items()):
        print(f"| {label} | {n} |")
    if args.details:
        print()
        for label, ex in sorted(examples.items()):
            print(f"- {label}: " + "; ".join(ex[: args.details]))


if __name__ == "__main__":
    main()
