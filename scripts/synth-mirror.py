#!/usr/bin/env python3
"""Build a larger advisory mirror from a real one, for scale tests and benchmarks.

    scripts/synth-mirror.py SRC_MIRROR FACTOR OUT_DIR

Every OSV record, KEV entry, EPSS row and NVD CVE of SRC_MIRROR is written FACTOR
times. Copy 0 is the original; copy k renames every ID the same way everywhere it
appears (id, aliases, upstream, related, CVE fields), so alias groups keep their
shape and do not collapse into each other: a trailing number gets k * 10**8 added
(CVE-2024-1234 -> CVE-2024-100001234), any other ID gets a `-sK` suffix.
Package names and versions are unchanged, so each package has FACTOR times the
advisories, as in a larger real database. Writes OUT_DIR/manifest.json with the
counts an ingest must reproduce. Python 3 standard library only.
"""
import csv
import gzip
import io
import json
import os
import re
import sys
import zipfile

NUM = re.compile(r"^(.*-)(\d+)$")


def rename(ident, k):
    if k == 0:
        return ident
    m = NUM.match(ident)
    if m:
        return f"{m.group(1)}{int(m.group(2)) + k * 10**8}"
    return f"{ident}-s{k}"


def rename_record(rec, k):
    rec = dict(rec)
    rec["id"] = rename(rec["id"], k)
    for key in ("aliases", "upstream", "related"):
        if isinstance(rec.get(key), list):
            rec[key] = [rename(x, k) for x in rec[key]]
    return rec


def main():
    src, factor, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.makedirs(out, exist_ok=True)
    files = []
    for eco in sorted(os.listdir(src)):
        path = os.path.join(src, eco, "all.zip")
        if not os.path.isfile(path):
            continue
        os.makedirs(os.path.join(out, eco), exist_ok=True)
        records = withdrawn = 0
        with zipfile.ZipFile(path) as zin, zipfile.ZipFile(os.path.join(out, eco, "all.zip"), "w", zipfile.ZIP_DEFLATED) as zout:
            originals = [json.loads(zin.read(n)) for n in zin.namelist() if n.endswith(".json")]
            for k in range(factor):
                for rec in originals:
                    r = rename_record(rec, k)
                    zout.writestr(f"{r['id']}.json", json.dumps(r, indent=2))
                    records += 1
                    withdrawn += 1 if r.get("withdrawn") else 0
        files.append({"path": f"{eco}/all.zip", "ecosystem": eco, "records": records, "withdrawn": withdrawn})

    kev_src = os.path.join(src, "kev", "known_exploited_vulnerabilities.json")
    if os.path.isfile(kev_src):
        kev = json.load(open(kev_src))
        base = kev["vulnerabilities"]
        kev["vulnerabilities"] = [dict(v, cveID=rename(v["cveID"], k)) for k in range(factor) for v in base]
        kev["count"] = len(kev["vulnerabilities"])
        os.makedirs(os.path.join(out, "kev"), exist_ok=True)
        json.dump(kev, open(os.path.join(out, "kev", "known_exploited_vulnerabilities.json"), "w"))
        files.append({"path": "kev/known_exploited_vulnerabilities.json", "entries": kev["count"]})

    epss_src = os.path.join(src, "epss", "epss_scores-current.csv.gz")
    if os.path.isfile(epss_src):
        lines = gzip.open(epss_src, "rt").read().splitlines()
        head = [l for l in lines if l.startswith("#") or l.startswith("cve,")]
        rows = [l.split(",") for l in lines if l.startswith("CVE-")]
        body = [",".join([rename(r[0], k)] + r[1:]) for k in range(factor) for r in rows]
        os.makedirs(os.path.join(out, "epss"), exist_ok=True)
        with gzip.open(os.path.join(out, "epss", "epss_scores-current.csv.gz"), "wt") as f:
            f.write("\n".join(head + body) + "\n")
        files.append({"path": "epss/epss_scores-current.csv.gz", "rows": len(body)})

    nvd_dir = os.path.join(src, "nvd")
    if os.path.isdir(nvd_dir):
        os.makedirs(os.path.join(out, "nvd"), exist_ok=True)
        for name in sorted(os.listdir(nvd_dir)):
            doc = json.load(gzip.open(os.path.join(nvd_dir, name)))
            base = doc["vulnerabilities"]
            doc["vulnerabilities"] = [{"cve": dict(v["cve"], id=rename(v["cve"]["id"], k))} for k in range(factor) for v in base]
            doc["totalResults"] = doc["resultsPerPage"] = len(doc["vulnerabilities"])
            with gzip.open(os.path.join(out, "nvd", name), "wt") as f:
                json.dump(doc, f)
            files.append({"path": f"nvd/{name}", "cves": len(doc["vulnerabilities"])})

    json.dump({"generated_by": "scripts/synth-mirror.py", "factor": factor, "files": files}, open(os.path.join(out, "manifest.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
