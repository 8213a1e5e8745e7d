#!/usr/bin/env python3
"""Cross-check Vigia's Rust findings with cargo-audit on the same advisories.

    scripts/crosscheck-cargo-audit.py MIRROR LOCKFILE_DIR [--vigia PATH] [--cargo-audit PATH]

cargo-audit reads RustSec's own layout (`crates/<crate>/RUSTSEC-*.md`), Vigia
reads osv.dev's export of the same advisories (`crates.io/all.zip`). This
script writes the export back into RustSec's layout (withdrawn records left
out, as RustSec leaves them out), runs both tools on LOCKFILE_DIR/Cargo.lock
and compares the (crate, RUSTSEC ID) pairs, vulnerabilities and informational
warnings alike. Prints the pairs and every difference; exits 1 on a difference.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile


def toml_str(s):
    return json.dumps(s)  # a TOML basic string is a JSON string


def ranges_to_rustsec(affected):
    """OSV SEMVER events -> RustSec `patched` and `unaffected` requirements."""
    patched, unaffected = [], []
    for r in affected.get("ranges", []):
        if r.get("type") != "SEMVER":
            continue
        events = r.get("events", [])
        intros = [e["introduced"] for e in events if "introduced" in e]
        # Events come in order: introduced, fixed, introduced, fixed, ...
        bounds = []
        current = None
        for e in events:
            if "introduced" in e:
                current = e["introduced"]
            elif "fixed" in e:
                bounds.append((current, e["fixed"]))
                current = None
        if intros and intros[0] not in ("0", "0.0.0-0"):
            unaffected.append(f"< {intros[0]}")
        for i, (_, fixed) in enumerate(bounds):
            # Patched from this fix up to the next introduction, if any.
            later = [x for x in intros if x not in ("0", "0.0.0-0")]
            nxt = None
            for x in later:
                if tuple_ver(x) > tuple_ver(fixed):
                    nxt = x
                    break
            patched.append(f">= {fixed}, < {nxt}" if nxt else f">= {fixed}")
    return patched, unaffected


def tuple_ver(v):
    core = v.split("-")[0].split("+")[0]
    out = []
    for p in core.split("."):
        out.append(int(p) if p.isdigit() else 0)
    return tuple(out)


def write_db(mirror, out):
    z = zipfile.ZipFile(os.path.join(mirror, "crates.io", "all.zip"))
    n = 0
    for name in z.namelist():
        rec = json.loads(z.read(name))
        rid = rec["id"]
        if not rid.startswith("RUSTSEC-") or rec.get("withdrawn"):
            continue
        for aff in rec.get("affected", []):
            pkg = aff["package"]["name"]
            patched, unaffected = ranges_to_rustsec(aff)
            ds = rec.get("database_specific") or {}
            adv = [
                "[advisory]",
                f"id = {toml_str(rid)}",
                f"package = {toml_str(pkg)}",
                f"date = {toml_str((rec.get('published') or rec['modified'])[:10])}",
            ]
            aliases = [a for a in rec.get("aliases", []) if a != rid]
            if aliases:
                adv.append("aliases = [" + ", ".join(toml_str(a) for a in aliases) + "]")
            if ds.get("informational"):
                adv.append(f"informational = {toml_str(ds['informational'])}")
            adv += [
                "",
                "[versions]",
                "patched = [" + ", ".join(toml_str(p) for p in patched) + "]",
                "unaffected = [" + ", ".join(toml_str(u) for u in unaffected) + "]",
            ]
            title = (rec.get("summary") or rid).replace("\n", " ")
            body = "```toml\n" + "\n".join(adv) + "\n```\n\n# " + title + "\n\n" + (rec.get("details") or title) + "\n"
            d = os.path.join(out, "crates", pkg)
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, f"{rid}.md"), "w") as f:
                f.write(body)
            n += 1
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mirror")
    ap.add_argument("lockdir")
    ap.add_argument("--vigia", default="target/release/vigia")
    ap.add_argument("--cargo-audit", default="cargo-audit")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "advisory-db")
        n = write_db(a.mirror, db)
        print(f"RustSec layout: {n} advisories from {a.mirror}/crates.io/all.zip")
        ca = subprocess.run(
            [a.cargo_audit, "audit", "--db", db, "--no-fetch", "--stale", "--json",
             "--file", os.path.join(a.lockdir, "Cargo.lock")],
            capture_output=True, text=True)
        if not ca.stdout.strip():
            sys.exit(f"cargo-audit failed: {ca.stderr}")
        report = json.loads(ca.stdout)
        theirs = set()
        for v in report["vulnerabilities"]["list"]:
            theirs.add((v["package"]["name"], v["advisory"]["id"]))
        for kind, items in (report.get("warnings") or {}).items():
            for w in items:
                if w.get("advisory"):
                    theirs.add((w["package"]["name"], w["advisory"]["id"]))
        home = os.path.join(tmp, "home")
        env = dict(os.environ, VIGIA_HOME=home)
        subprocess.run([a.vigia, "db", "update", "--mirror", a.mirror, "--ecosystems", "crates.io",
                        "--no-enrichment", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([a.vigia, "scan", "dir", a.lockdir, "--format", "json", "--scanners", "vuln"],
                             env=env, capture_output=True, text=True, check=True)
        ours = set()
        for f in json.loads(out.stdout)["findings"]:
            for m in f["vigia"]["matched"]:
                if m["id"].startswith("RUSTSEC-"):
                    ours.add((m["package"], m["id"]))
        print(f"cargo-audit: {len(theirs)} (crate, advisory) pairs; Vigia: {len(ours)}")
        for p in sorted(ours & theirs):
            print(f"  both        {p[0]} {p[1]}")
        for p in sorted(ours - theirs):
            print(f"  only Vigia  {p[0]} {p[1]}")
        for p in sorted(theirs - ours):
            print(f"  only cargo-audit  {p[0]} {p[1]}")
        if ours != theirs:
            sys.exit(1)
        print("same pairs")


if __name__ == "__main__":
    main()
