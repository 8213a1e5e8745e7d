#!/usr/bin/env python3
"""Precision and recall of secret scanners on ../shared/targets.

    scripts/secrets-accuracy.py TARGETS_DIR [--vigia PATH] [--peers /opt/vigia-peers/bin]

Truth is `expected.json`: the planted secrets (file, lines, layer, SHA-256 of
the value). Vigia is judged strictly (rule, file, lines, hash and layer must
all match). Peers name rules differently and do not hash, so they are judged
by file and line: a finding in a planted secret's file within its lines is a
true positive, any other finding a false positive. Images are scanned as their
final filesystem (unpacked, whiteouts applied) by the peers, and by Vigia
both ways (final filesystem, and every layer with --secrets-all-layers);
recall on the final filesystem counts only the planted secrets still visible
there. Prints one Markdown table.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

flatten = import_module("flatten-image").flatten

TF = ["--cache-backend", "memory", "--skip-version-check", "--disable-telemetry", "--offline-scan", "--quiet"]


def unpack(targets, name, kind, tmp):
    src = os.path.join(targets, name)
    out = os.path.join(tmp, name + ".d")
    if kind == "image":
        flatten(src, out)
    elif name.endswith(".zip"):
        zipfile.ZipFile(src).extractall(out)
    elif name.endswith(".tar.gz"):
        with tarfile.open(src) as t:
            t.extractall(out, filter="tar")
    else:
        shutil.copytree(src, out)
    return out


def pr(tp, fp, fn):
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return f"{p:.2f}", f"{r:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("targets")
    ap.add_argument("--vigia", default="target/release/vigia")
    ap.add_argument("--peers", default="/opt/vigia-peers/bin")
    a = ap.parse_args()
    exp = json.load(open(os.path.join(a.targets, "expected.json")))
    kinds = {"debian12-app": "image", "alpine-base": "image", "fn-python.zip": "function",
             "fn-node.zip": "function", "host-snapshot.tar.gz": "host", "rust-lockfile": "dir"}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, VIGIA_HOME=os.path.join(tmp, "home"))
        for name, t in exp["targets"].items():
            kind = kinds[name]
            planted = t.get("secrets", [])
            norm = lambda p: "/" + p.lstrip("/")
            for all_layers in ([False, True] if kind == "image" else [False]):
                want = {(s["type"], norm(s["file"]), s["line"], s["line_end"], s["value_sha256"], s.get("layer_index"))
                        for s in planted if all_layers or s.get("visible_in_final_filesystem", True)}
                cmd = [a.vigia, "scan", kind, os.path.join(a.targets, name), "--scanners", "secret", "--format", "json"]
                if all_layers:
                    cmd.append("--secrets-all-layers")
                r = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
                got = set()
                for f in r["findings"]:
                    c, s = f["codeVulnerabilityDetails"], f["vigia"]["secret"]
                    got.add((c["ruleId"], c["filePath"]["filePath"], c["filePath"]["startLine"], c["filePath"]["endLine"], s["sha256"], s.get("layerIndex")))
                tp, fp, fn = len(want & got), len(got - want), len(want - got)
                label = "Vigia" + (" (--secrets-all-layers)" if all_layers else "")
                rows.append((name, label, len(want), tp, fp, fn, *pr(tp, fp, fn)))
            # Peers on the unpacked final filesystem: file + first line.
            folder = unpack(a.targets, name, kind, tmp)
            want = [(norm(s["file"]), s["line"], s["line_end"]) for s in planted if s.get("visible_in_final_filesystem", True)]
            peer_results = {}
            out = os.path.join(tmp, "trivy.json")
            subprocess.run([os.path.join(a.peers, "trivy"), "fs", *TF, "--scanners", "secret", "--format", "json", "--output", out, folder],
                           env=env, capture_output=True, check=True)
            got = set()
            for res in json.load(open(out)).get("Results") or []:
                for s in res.get("Secrets") or []:
                    got.add((norm(res["Target"]), s["StartLine"]))
            peer_results["Trivy 0.76.0"] = got
            out = os.path.join(tmp, "gitleaks.json")
            subprocess.run([os.path.join(a.peers, "gitleaks"), "dir", folder, "--no-banner", "--exit-code", "0",
                            "--report-format", "json", "--report-path", out], env=env, capture_output=True, check=True)
            got = set()
            for s in json.load(open(out)) or []:
                got.add((norm(os.path.relpath(s["File"], folder)), s["StartLine"]))
            peer_results["Gitleaks 8.30.1"] = got
            # A peer finding counts for a planted secret when it is in its file
            # and within its lines (Trivy reports a key at its first body line).
            hit = lambda w, g: g[0] == w[0] and w[1] <= g[1] <= w[2]
            for peer, got in peer_results.items():
                tp = sum(1 for w in want if any(hit(w, g) for g in got))
                extra = sorted(g for g in got if not any(hit(w, g) for w in want))
                fp, fn = len(extra), len(want) - tp
                rows.append((name, peer, len(want), tp, fp, fn, *pr(tp, fp, fn)))
                for e in extra:
                    print(f"  {peer} on {name}: not planted: {e[0]}:{e[1]}", file=sys.stderr)
                for w in want:
                    if not any(hit(w, g) for g in got):
                        print(f"  {peer} on {name}: missed {w[0]}:{w[1]}", file=sys.stderr)
    print("| target | scanner | planted | found | false alarms | missed | precision | recall |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print("| " + " | ".join(str(x) for x in r) + " |")


if __name__ == "__main__":
    main()
