#!/usr/bin/env python3
"""Secret findings on real code nobody here wrote: Vigia beside Trivy and Gitleaks.

    scripts/secrets-corpora.py [--vigia PATH] [--peers DIR] [--triage FILE] [--details]

Scans each corpus that exists on this machine (Debian's Python, Go and Perl
trees, the cargo registry's sources) with each tool's defaults, and prints one
Markdown table: findings per corpus and tool, split by the verdicts recorded
in the triage file (`docs/secrets-triage.json`):

- `secret`: a credential someone could use;
- `key-material`: real key material in a test fixture, an example or a
  comment (a real key, not a credential anyone deployed);
- `not-a-secret`: code, a placeholder, a hash, a URL, an identifier.

Verdicts are keyed by corpus, path relative to it and line, whatever tool
reported the finding; a finding with no recorded verdict is counted as
`untriaged` and listed with `--details`, so a new version of a tree or a tool
is never silently judged. The triage was done by reading each line.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile

CORPORA = [
    ("python3-dist-packages", "/usr/lib/python3/dist-packages"),
    ("python3.11-stdlib", "/usr/lib/python3.11"),
    ("go-1.19-src", "/usr/share/go-1.19/src"),
    ("perl", "/usr/share/perl"),
    ("cargo-registry", os.path.expanduser("~/.cargo/registry/src/index.crates.io-*")),
]

TRIVY_FLAGS = ["--cache-backend", "memory", "--skip-version-check", "--disable-telemetry",
               "--offline-scan", "--quiet"]


def rel(path, root):
    path = path[len(root):] if path.startswith(root) else path
    return path.lstrip("/")


def vigia(binary, root, tmp):
    out = subprocess.run([binary, "scan", "dir", root, "--scanners", "secret", "--format",
                          "json", "--allow-incomplete"], capture_output=True, check=True,
                         stdin=subprocess.DEVNULL)
    report = json.loads(out.stdout)
    found = []
    for f in report["findings"]:
        d = f["codeVulnerabilityDetails"]
        found.append((rel(d["filePath"]["filePath"], root), d["filePath"]["startLine"], d["ruleId"]))
    return found


def trivy(peers, root, tmp):
    path = os.path.join(tmp, "trivy.json")
    subprocess.run([os.path.join(peers, "trivy"), "fs", *TRIVY_FLAGS, "--scanners", "secret",
                    "--format", "json", "--output", path, root], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    report = json.load(open(path))
    found = []
    for res in report.get("Results") or []:
        for s in res.get("Secrets") or []:
            # Trivy reports the first line of the value; a PEM block starts a
            # line before, at its BEGIN line, where the others report it.
            line = s["StartLine"]
            if s["RuleID"] == "private-key":
                line -= 1
            found.append((rel(res["Target"], root), line, s["RuleID"]))
    return found


def gitleaks(peers, root, tmp):
    path = os.path.join(tmp, "gitleaks.json")
    subprocess.run([os.path.join(peers, "gitleaks"), "dir", root, "--no-banner",
                    "--report-format", "json", "--report-path", path, "--exit-code", "0"],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return [(rel(x["File"], root), x["StartLine"], x["RuleID"]) for x in json.load(open(path))]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vigia", default=os.path.join(here, "..", "target", "release", "vigia"))
    ap.add_argument("--peers", default="/opt/vigia-peers/bin")
    ap.add_argument("--triage", default=os.path.join(here, "..", "docs", "secrets-triage.json"))
    ap.add_argument("--details", action="store_true", help="list every finding with its verdict")
    args = ap.parse_args()
    triage = json.load(open(args.triage))["verdicts"]
    tools = [("Vigia", lambda r, t: vigia(args.vigia, r, t))]
    for name, fn in (("Trivy", trivy), ("Gitleaks", gitleaks)):
        if os.path.exists(os.path.join(args.peers, name.lower())):
            tools.append((name, lambda r, t, fn=fn: fn(args.peers, r, t)))
        else:
            print(f"{name} is not installed under {args.peers}: skipped", file=sys.stderr)
    rows, details = [], []
    for label, pattern in CORPORA:
        roots = sorted(glob.glob(pattern))
        if not roots:
            print(f"{label}: {pattern} is not on this machine", file=sys.stderr)
            continue
        root = roots[0]
        for tool, run in tools:
            with tempfile.TemporaryDirectory() as tmp:
                found = sorted(set(run(root, tmp)))
            counts = {"secret": 0, "key-material": 0, "not-a-secret": 0, "untriaged": 0}
            for path, line, rule in found:
                verdict = triage.get(f"{label}:{path}:{line}", {}).get("verdict", "untriaged")
                counts[verdict] += 1
                details.append((label, tool, path, line, rule, verdict))
            rows.append((label, tool, len(found), counts))
    print("| corpus | tool | findings | secret | key material | not a secret | untriaged |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for label, tool, n, c in rows:
        print(f"| {label} | {tool} | {n} | {c['secret']} | {c['key-material']} | "
              f"{c['not-a-secret']} | {c['untriaged']} |")
    if args.details:
        print()
        for label, tool, path, line, rule, verdict in details:
            why = triage.get(f"{label}:{path}:{line}", {}).get("why", "")
            print(f"- {label} {tool} `{path}:{line}` {rule}: {verdict}. {why}")


if __name__ == "__main__":
    main()
