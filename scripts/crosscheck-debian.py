#!/usr/bin/env python3
"""Check Vigia's Debian findings against the Debian security tracker itself.

    scripts/crosscheck-debian.py TRACKER_DIR [--vigia PATH] [--mirror DIR] KIND:TARGET ...

TRACKER_DIR holds the tracker's own entries (`tracker/CVE/<year>/CVE-*.json`,
`tracker/DSA/*.json`, `tracker/DLA/*.json`, as aquasecurity/vuln-list-debian
keeps them: each annotation carries the original tracker line). For every
target (`image:../shared/targets/debian12-app`, `host:…`) the script scans
with Vigia and checks, with `dpkg --compare-versions` as the judge:

* every Debian finding is for bookworm (`Debian:12`), names a CVE the tracker
  lists for that source package, and
  - when Vigia gives a fixed version: the tracker (a `[bookworm]` line, a DSA or
    DLA for bookworm, or the unstable line) gives that version, and the
    installed source version is below it;
  - when Vigia says not fixed / will not fix: no tracker fix for bookworm is at
    or below the installed version, and the tracker does not call bookworm
    `<not-affected>`;
* no miss: every `[bookworm]` fix (CVE or DSA/DLA line) above an installed
  source version has a finding.

Prints each problem; exits 1 if there is one.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile


def dpkg_lt(a, b):
    return subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0


def load_tracker(root):
    """cve -> {package: {"bookworm": (kind, version), "unstable": (kind, version)}},
    plus advisories: [(id, cves, package, bookworm fixed version)]."""
    cves = {}
    for f in glob.glob(os.path.join(root, "tracker", "CVE", "*", "*.json")):
        e = json.load(open(f))
        cve = e["Header"]["ID"]
        pk = cves.setdefault(cve, {})
        for a in e.get("Annotations") or []:
            if a.get("Type") != "package":
                continue
            rel = a.get("Release") or "unstable"
            pk.setdefault(a["Package"], {})[rel] = (a.get("Kind"), a.get("Version"))
    advisories = []
    for f in glob.glob(os.path.join(root, "tracker", "D[SL]A", "*.json")):
        e = json.load(open(f))
        refs = [b for a in e.get("Annotations") or [] if a.get("Type") == "xref" for b in a.get("Bugs") or []]
        for a in e.get("Annotations") or []:
            if a.get("Type") == "package" and a.get("Release") == "bookworm" and a.get("Kind") == "fixed":
                advisories.append((e["Header"]["ID"], refs, a["Package"], a["Version"]))
    return cves, advisories


def bookworm_fixes(cve, package, cves, advisories):
    """Every version the tracker gives as fixing `cve` in `package` for bookworm."""
    out = set()
    entry = cves.get(cve, {}).get(package, {})
    kind, version = entry.get("bookworm", (None, None))
    if kind == "fixed" and version:
        out.add(version)
    for aid, refs, pkg, v in advisories:
        if pkg == package and cve in refs:
            out.add(v)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tracker")
    ap.add_argument("targets", nargs="+")
    ap.add_argument("--vigia", default="target/release/vigia")
    ap.add_argument("--mirror", default="../shared/vulndata")
    a = ap.parse_args()
    cves, advisories = load_tracker(a.tracker)
    problems = []
    checked = 0
    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, VIGIA_HOME=home)
        subprocess.run([a.vigia, "db", "update", "--mirror", a.mirror, "-q"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        for t in a.targets:
            kind, target = t.split(":", 1)
            out = subprocess.run([a.vigia, "scan", kind, target, "--format", "json", "--scanners", "vuln"], env=env,
                                 capture_output=True, text=True, check=True)
            report = json.loads(out.stdout)
            inv = json.loads(subprocess.run([a.vigia, "sbom", target, "--format", "json"], env=env,
                                            capture_output=True, text=True, check=True).stdout)
            installed = {}
            for p in inv["packages"]:
                if p["type"] == "deb":
                    src = p.get("source_name") or p["name"]
                    installed[src] = p.get("source_version") or p["version"]
            found = set()
            for f in report["findings"]:
                pkgs = f["vigia"]["packages"]
                if not pkgs or pkgs[0]["type"] != "deb":
                    continue
                checked += 1
                vid = f["packageVulnerabilityDetails"]["vulnerabilityId"]
                for m in f["vigia"]["matched"]:
                    if m["ecosystem"] != "Debian:12":
                        problems.append(f"{t}: {vid} matched {m['id']} for {m['ecosystem']}, not bookworm")
                src = f["vigia"]["matched"][0]["package"]
                ver = pkgs[0].get("sourceVersion") or pkgs[0]["version"]
                found.add((vid, src))
                entry = cves.get(vid, {}).get(src)
                if entry is None and not any(pkg == src and vid in refs for _, refs, pkg, _ in advisories):
                    problems.append(f"{t}: {vid} {src}: the tracker does not list {src} for {vid}")
                    continue
                fixes = bookworm_fixes(vid, src, cves, advisories)
                unstable = (entry or {}).get("unstable", (None, None))
                fixed = f["packageVulnerabilityDetails"]["vulnerablePackages"][0].get("fixedInVersion")
                if (entry or {}).get("bookworm", (None,))[0] == "not-affected":
                    problems.append(f"{t}: {vid} {src}: the tracker says bookworm is not affected")
                if fixed:
                    allowed = fixes | ({unstable[1]} if unstable[0] == "fixed" and unstable[1] else set())
                    if fixed not in allowed:
                        problems.append(f"{t}: {vid} {src}: fixed in {fixed}, tracker says {sorted(allowed)}")
                    if not dpkg_lt(ver, fixed):
                        problems.append(f"{t}: {vid} {src}: installed {ver} is not below {fixed}")
                else:
                    for fx in fixes:
                        if not dpkg_lt(ver, fx):
                            problems.append(f"{t}: {vid} {src}: reported unfixed, but bookworm's fix {fx} is installed ({ver})")
            # Misses: bookworm fixes above the installed version without a finding.
            for cve, pk in cves.items():
                for src, rels in pk.items():
                    if src not in installed:
                        continue
                    for fx in bookworm_fixes(cve, src, cves, advisories):
                        if dpkg_lt(installed[src], fx) and (cve, src) not in found:
                            problems.append(f"{t}: missed {cve} in {src} {installed[src]} (bookworm fix {fx})")
            for aid, refs, src, fx in advisories:
                if src in installed and dpkg_lt(installed[src], fx):
                    for cve in refs:
                        if (cve, src) not in found:
                            problems.append(f"{t}: missed {cve} ({aid}) in {src} {installed[src]} (fix {fx})")
    print(f"{checked} Debian findings checked against the tracker")
    for p in sorted(set(problems)):
        print("  " + p)
    if problems:
        sys.exit(1)
    print("none wrong, none missed")


if __name__ == "__main__":
    main()
