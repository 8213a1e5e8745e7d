#!/usr/bin/env python3
"""Measure the service: N function packages watched, an advisory change
rematched, and /findings/list answered.

    scripts/bench-service.py N [--vigia target/release/vigia]

Writes N function zips (a package-lock.json each, with varied versions of
lodash, minimist, axios, node-fetch and jsonwebtoken) to a temporary folder,
starts `vigia serve` on a copy of ../shared/vulndata watching them, waits for
every one to be SUCCESSFUL, then:
- changes two lodash records of the mirror (one withdrawn, one range
  widened) and times POST /v1/db/update (the update and the rematch, with
  the rematch's own time and the number of stored inventories it evaluated);
- times 50 POST /findings/list calls (maxResults 100, a severity and a
  status filter, sorted by score) and reports their median and p99;
- reports the service's peak RSS (VmHWM).
"""
import argparse
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")

p = argparse.ArgumentParser()
p.add_argument("n", type=int)
p.add_argument("--vigia", default=os.path.join(HERE, "..", "target", "release", "vigia"))
a = p.parse_args()
r = random.Random(7)
VERSIONS = {
    "lodash": ["4.17.4", "4.17.11", "4.17.15", "4.17.19", "4.17.20", "4.17.21"],
    "minimist": ["1.2.0", "1.2.5", "1.2.6"],
    "axios": ["0.18.0", "0.21.1", "1.6.0"],
    "node-fetch": ["2.6.0", "2.6.1", "2.6.7"],
    "jsonwebtoken": ["8.5.1", "9.0.0"],
}

work = tempfile.mkdtemp()
watch = os.path.join(work, "watch")
os.makedirs(watch)
for i in range(a.n):
    pkgs = {name: r.choice(vs) for name, vs in VERSIONS.items()}
    lock = {"name": f"fn{i}", "lockfileVersion": 3, "requires": True,
            "packages": {"": {"name": f"fn{i}", "dependencies": pkgs},
                         **{f"node_modules/{n}": {"version": v, "resolved": f"https://registry.npmjs.org/{n}/-/{n}-{v}.tgz"}
                            for n, v in pkgs.items()}}}
    with zipfile.ZipFile(os.path.join(watch, f"fn{i}.zip"), "w") as z:
        z.writestr("index.js", "exports.handler = async () => 'ok';\n")
        z.writestr("package.json", json.dumps({"name": f"fn{i}", "dependencies": pkgs}))
        z.writestr("package-lock.json", json.dumps(lock))
mirror = os.path.join(work, "mirror")
shutil.copytree(os.path.join(SHARED, "vulndata"), mirror, ignore=shutil.ignore_patterns("tools"))
data = os.path.join(work, "data")

tok = json.loads(subprocess.run([a.vigia, "--data-dir", data, "token", "create", "--role", "admin", "-f", "json"],
                                check=True, capture_output=True).stdout)["token"]
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
base = f"http://127.0.0.1:{port}"
proc = subprocess.Popen([a.vigia, "--data-dir", data, "serve", "--listen", f"127.0.0.1:{port}", "--poll-every", "1",
                         "--mirror", mirror, "--watch", watch], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def call(path, body=None):
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {tok}"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


try:
    started = time.time()
    while True:
        try:
            cov = call("/coverage/statistics/list", {"groupBy": "SCAN_STATUS_REASON"})
            done = {c["vigiaGroupValue"]: c["count"] for c in cov["countsByGroup"]}
            if done.get("SUCCESSFUL", 0) == a.n:
                break
        except OSError:
            pass
        time.sleep(1)
    scanned = time.time() - started
    # The change: GHSA-29mw-wpgm-hmr9 withdrawn, GHSA-p6mc-m468-83gw widened.
    npm = os.path.join(mirror, "npm", "all.zip")
    entries = []
    with zipfile.ZipFile(npm) as z:
        for name in z.namelist():
            rec = json.loads(z.read(name))
            if name.startswith("GHSA-29mw-wpgm-hmr9"):
                rec["withdrawn"] = "2026-12-06T00:00:00Z"
            elif name.startswith("GHSA-p6mc-m468-83gw"):
                for aff in rec["affected"]:
                    for rg in aff["ranges"]:
                        for e in rg["events"]:
                            if "fixed" in e:
                                e["fixed"] = "4.17.21"
            entries.append((name, json.dumps(rec).encode()))
    with zipfile.ZipFile(npm, "w") as z:
        for name, body in entries:
            z.writestr(name, body)
    t = time.time()
    update = call("/v1/db/update", {})
    update_s = time.time() - t
    lat = []
    q = {"maxResults": 100, "sortCriteria": {"field": "INSPECTOR_SCORE", "sortOrder": "DESC"},
         "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "HIGH"}, {"comparison": "EQUALS", "value": "CRITICAL"}],
                            "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}]}}
    for _ in range(50):
        t = time.time()
        call("/findings/list", q)
        lat.append((time.time() - t) * 1000)
    lat.sort()
    hwm = [line for line in open(f"/proc/{proc.pid}/status") if line.startswith("VmHWM")][0].split()[1]
    print(json.dumps({
        "resources": a.n,
        "first_scan_s": round(scanned, 1),
        "update_and_rematch_s": round(update_s, 2),
        "rematch_ms": update["rematch"]["millis"] if update.get("rematch") else None,
        "rematched_resources": update["rematch"]["resources"] if update.get("rematch") else None,
        "rematched_inventories": update["rematch"]["inventories"] if update.get("rematch") else None,
        "list_p50_ms": round(statistics.median(lat), 1),
        "list_p99_ms": round(lat[int(len(lat) * 0.99) - 1], 1),
        "peak_rss_mb": round(int(hwm) / 1024),
    }))
finally:
    proc.terminate()
    proc.wait()
    shutil.rmtree(work, ignore_errors=True)
