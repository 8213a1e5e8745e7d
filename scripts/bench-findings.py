#!/usr/bin/env python3
"""Measure POST /findings/list with N stored findings, on SQLite and on
PostgreSQL.

    scripts/bench-findings.py [N] [--vigia target/release/vigia] [--only sqlite|postgres]

For each database: `vigia serve` scans copies of the shared images,
functions and host against ../shared/vulndata and stops; the findings it stored are
then copied into the state database until it holds N (each copy with its own
resource ID and ARN, observation times spread over a year, and one copy in
ten closed or suppressed: what a year of a few thousand resources looks
like), the service starts again on that database, and each query below is
timed 50 times through the API (median and p99, milliseconds), with the
service's peak RSS after them.

PostgreSQL is a cluster the script starts itself (Debian's postgresql
package) on 127.0.0.1, with fsync off while seeding.
"""
import argparse
import csv
import glob
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared")
TARGETS = ["debian12-app", "alpine-base", "fn-node.zip", "fn-python.zip", "host-snapshot.tar.gz"]

p = argparse.ArgumentParser()
p.add_argument("n", type=int, nargs="?", default=1_000_000)
p.add_argument("--vigia", default=os.path.join(HERE, "..", "target", "release", "vigia"))
p.add_argument("--only", choices=["sqlite", "postgres"])
p.add_argument("--keep", action="store_true", help="keep the temporary folder (its path is printed)")
p.add_argument("--reuse", metavar="DIR",
               help="measure on the databases a --keep run of the same size left in DIR, without seeding them "
                    "again (the service applies any newer migration when it starts)")
p.add_argument("--overview", action="store_true",
               help="also time the dashboard's overview (GET /ui/) and the aggregations it calls, "
                    "with a history row per finding status change")
p.add_argument("--settle", type=float, default=20,
               help="seconds to wait after the service answers, before measuring (its start-up work)")
p.add_argument("--skip-list", action="store_true", help="do not time the /findings/list queries")
a = p.parse_args()

SEVERITY_RANK = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFORMATIONAL": 4, "UNTRIAGED": 5}
COLUMNS = ["arn", "resource_id", "kind", "status", "severity", "severity_rank", "vulnerability_id", "title",
           "score", "epss", "first_observed_at", "last_observed_at", "updated_at", "suppressed_by", "body",
           "fix_available", "exploit_available"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Service:
    def __init__(self, data, db_url, watch=None, mirror=None):
        self.port = free_port()
        args = [a.vigia, "--data-dir", data]
        if db_url:
            args += ["--database-url", db_url]
        args += ["serve", "--listen", f"127.0.0.1:{self.port}", "--poll-every", "1"]
        if mirror:
            args += ["--mirror", mirror]
        if watch:
            args += ["--watch", watch]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=open(os.path.join(data, "serve.log"), "a"))
        self.conn = None

    def call(self, path, body, token):
        for _ in range(600):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                self.conn.request("POST", path, json.dumps(body), {"Authorization": f"Bearer {token}",
                                                                   "Content-Type": "application/json"})
                r = self.conn.getresponse()
                out = json.loads(r.read())
                if r.status != 200:
                    raise SystemExit(f"{path} {body}: {r.status} {out}")
                return out
            except (ConnectionError, OSError):
                self.conn = None
                time.sleep(0.5)
        raise SystemExit("the service did not answer")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait()

    def peak_rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            hwm = [line for line in f if line.startswith("VmHWM")][0].split()[1]
        return round(int(hwm) / 1024)


def copies(base, n):
    """The stored findings, copied until there are n rows."""
    k = 0
    made = 0
    while made < n:
        for f in base:
            if made >= n:
                return
            if k == 0:
                yield dict(f, fix_available=json.loads(f["body"]).get("fixAvailable", ""),
                           exploit_available=json.loads(f["body"]).get("exploitAvailable", ""))
                made += 1
                continue
            body = json.loads(f["body"])
            rid = f"{f['resource_id']}-{k}"
            arn = "vigia:finding/" + hashlib.md5(f"{f['arn']}/{k}".encode()).hexdigest()
            day = (k * 37) % 365
            first = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(1733000000 + day * 86400 + k % 86400))
            updated = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                    time.gmtime(1733000000 + (day + k % 30) * 86400 + k % 86400))
            status = "CLOSED" if k % 10 == 0 else "SUPPRESSED" if k % 50 == 1 else "ACTIVE"
            body["findingArn"] = arn
            body["resources"][0]["id"] = rid
            body["status"] = status
            body["firstObservedAt"] = first
            body["lastObservedAt"] = updated
            body["updatedAt"] = updated
            row = dict(f)
            row["fix_available"] = body.get("fixAvailable", "")
            row["exploit_available"] = body.get("exploitAvailable", "")
            row.update(arn=arn, resource_id=rid, status=status, first_observed_at=first, last_observed_at=updated,
                       updated_at=updated, suppressed_by="vigia:filter/bench" if status == "SUPPRESSED" else None,
                       body=json.dumps(body, separators=(",", ":")))
            yield row
            made += 1
        k += 1


def history_rows(row):
    """The history a seeded finding would have: opened when first seen, then
    closed or suppressed at its last update."""
    yield (row["arn"], 1, row["first_observed_at"], "ACTIVE", "OPENED", "bench")
    if row["status"] != "ACTIVE":
        yield (row["arn"], 2, row["updated_at"], row["status"], row["status"], "bench")


def package_names(row):
    body = json.loads(row["body"])
    pkgs = (body.get("packageVulnerabilityDetails") or {}).get("vulnerablePackages") or []
    return sorted({p["name"] for p in pkgs})


def token(data, db_url, role="viewer"):
    args = [a.vigia, "--data-dir", data] + (["--database-url", db_url] if db_url else [])
    out = subprocess.run(args + ["token", "create", "--role", role, "-f", "json"], check=True,
                         capture_output=True).stdout
    return json.loads(out)["token"]


def queries(base):
    cve = next(f["vulnerability_id"] for f in base if f["vulnerability_id"])
    resource = f"{base[0]['resource_id']}-77"
    active = [{"comparison": "EQUALS", "value": "ACTIVE"}]
    return [
        ("no filter, newest update first", {"maxResults": 100}),
        ("ACTIVE HIGH+CRITICAL by score", {
            "maxResults": 100, "sortCriteria": {"field": "INSPECTOR_SCORE", "sortOrder": "DESC"},
            "filterCriteria": {"severity": [{"comparison": "EQUALS", "value": "HIGH"},
                                            {"comparison": "EQUALS", "value": "CRITICAL"}], "findingStatus": active}}),
        ("one CVE by severity", {
            "maxResults": 100, "sortCriteria": {"field": "SEVERITY", "sortOrder": "DESC"},
            "filterCriteria": {"vulnerabilityId": [{"comparison": "EQUALS", "value": cve}]}}),
        ("one resource's ACTIVE findings", {
            "maxResults": 100, "filterCriteria": {"resourceId": [{"comparison": "EQUALS", "value": resource}],
                                                  "findingStatus": active}}),
        ("title prefix, first observed, a date range", {
            "maxResults": 100, "sortCriteria": {"field": "FIRST_OBSERVED_AT", "sortOrder": "ASC"},
            "filterCriteria": {"title": [{"comparison": "PREFIX", "value": "CVE-2023"}],
                               "updatedAt": [{"startInclusive": 1740000000, "endInclusive": 1750000000}]}}),
        ("EPSS >= 0.1 by EPSS", {
            "maxResults": 100, "sortCriteria": {"field": "EPSS_SCORE", "sortOrder": "DESC"},
            "filterCriteria": {"epssScore": [{"lowerInclusive": 0.1}], "findingStatus": active}}),
        ("package name, ACTIVE", {
            "maxResults": 100, "filterCriteria": {"vulnerablePackages": [{"name": {"comparison": "EQUALS",
                                                                                    "value": "openssl"}}],
                                                  "findingStatus": active}}),
    ]


def seeded_base(data, base_url):
    """The findings the service itself stored, in a database seeded before:
    the copies' resource IDs end in `-N`."""
    if base_url:
        out = subprocess.run(["psql", "-q", "-At", base_url, "-c",
                              "SELECT row_to_json(f) FROM vigia_state.findings f "
                              "WHERE resource_id !~ '-[0-9]+$' ORDER BY arn"],
                             check=True, capture_output=True, text=True).stdout
        return [json.loads(line) for line in out.splitlines()]
    db = sqlite3.connect(os.path.join(data, "state.db"))
    db.row_factory = sqlite3.Row
    base = [dict(r) for r in db.execute("SELECT * FROM findings WHERE resource_id NOT GLOB '*-[0-9]*' ORDER BY arn")]
    db.close()
    return base


def measure(kind, work, base_url=None):
    data = os.path.join(work, kind)
    if a.reuse:
        return measure_seeded(kind, data, base_url, seeded_base(data, base_url), None)
    os.makedirs(data)
    watch = os.path.join(work, "watch")
    tok = token(data, base_url)
    admin = token(data, base_url, "admin") if a.overview else None
    svc = Service(data, base_url, watch=watch, mirror=os.path.join(work, "mirror"))
    try:
        while True:
            cov = svc.call("/coverage/list", {}, tok)["coveredResources"]
            if len(cov) == len(TARGETS) and all(c["scanStatus"]["reason"] == "SUCCESSFUL" for c in cov):
                break
            time.sleep(0.5)
    finally:
        svc.stop()
    if base_url:
        psql = ["psql", "-q", "-v", "ON_ERROR_STOP=1", base_url]
        out = subprocess.run(psql + ["-At", "-c", "SELECT row_to_json(f) FROM vigia_state.findings f ORDER BY arn"],
                             check=True, capture_output=True, text=True).stdout
        base = [json.loads(line) for line in out.splitlines()]
    else:
        db = sqlite3.connect(os.path.join(data, "state.db"))
        db.row_factory = sqlite3.Row
        base = [dict(r) for r in db.execute("SELECT * FROM findings ORDER BY arn")]
    seed_started = time.time()
    rows = copies(base, a.n)
    if base_url:
        path = os.path.join(work, "findings.csv")
        names = os.path.join(work, "names.csv")
        hist = os.path.join(work, "history.csv")
        with open(path, "w", newline="") as f, open(names, "w", newline="") as g, open(hist, "w", newline="") as h:
            w, wn, wh = csv.writer(f), csv.writer(g), csv.writer(h)
            for r in rows:
                w.writerow(["\\N" if r[c] is None else r[c] for c in COLUMNS])
                for name in package_names(r):
                    wn.writerow([name, r["arn"], r["resource_id"], r["status"], r["severity_rank"]])
                if a.overview:
                    wh.writerows(history_rows(r))
        subprocess.run(psql + ["-c", "TRUNCATE vigia_state.findings, vigia_state.finding_packages, vigia_state.finding_history",
                               "-c", f"\\copy vigia_state.findings ({','.join(COLUMNS)}) FROM '{path}' WITH (FORMAT csv, NULL '\\N')",
                               "-c", f"\\copy vigia_state.finding_packages (name, arn, resource_id, status, severity_rank) FROM '{names}' WITH (FORMAT csv)",
                               "-c", f"\\copy vigia_state.finding_history (arn, seq, at, status, event, cause) FROM '{hist}' WITH (FORMAT csv)",
                               # Vacuumed as autovacuum leaves a table in use: without it the walks'
                               # index-only scans visit the table for every row, and autovacuum's
                               # first pass over 1,000,000 new rows ran during the measurements.
                               "-c", "VACUUM (ANALYZE) vigia_state.findings",
                               "-c", "VACUUM (ANALYZE) vigia_state.finding_packages",
                               "-c", "ANALYZE"], check=True)
        os.remove(path)
        os.remove(names)
        os.remove(hist)
    else:
        db.execute("DELETE FROM findings")
        db.execute("DELETE FROM finding_packages")
        db.execute("DELETE FROM finding_history")
        for r in rows:
            if a.overview:
                db.executemany("INSERT INTO finding_history (arn, seq, at, status, event, cause) VALUES (?, ?, ?, ?, ?, ?)",
                               list(history_rows(r)))
            db.execute(f"INSERT INTO findings ({','.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))})",
                       [r[c] for c in COLUMNS])
            db.executemany("INSERT INTO finding_packages (name, arn, resource_id, status, severity_rank) VALUES (?, ?, ?, ?, ?)",
                           [(name, r["arn"], r["resource_id"], r["status"], r["severity_rank"]) for name in package_names(r)])
        db.commit()
        db.execute("ANALYZE")
        db.close()
    # A resource record for every copy's resource, as the service would hold.
    copies_k = -(-a.n // max(1, len(base)))
    cols = ("source, id, kind, origin, content_hash, details, status_code, status_reason, status_message, "
            "inventory_id, last_scanned_at, created_at, updated_at, reported_coverage")
    pick = ("r.source || '#bench-' || k.k, r.id || '-' || k.k, r.kind, r.origin, r.content_hash, {details}, "
            "r.status_code, r.status_reason, r.status_message, r.inventory_id, r.last_scanned_at, r.created_at, "
            "r.updated_at, r.reported_coverage")
    if base_url:
        subprocess.run(psql + ["-c", f"INSERT INTO vigia_state.resources ({cols}) SELECT "
                               + pick.format(details="jsonb_set(r.details::jsonb, '{id}', to_jsonb(r.id || '-' || k.k))::text")
                               + f" FROM vigia_state.resources r, generate_series(1, {copies_k}) AS k(k)"], check=True)
    else:
        db = sqlite3.connect(os.path.join(data, "state.db"))
        db.execute(f"WITH RECURSIVE k(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM k WHERE k < {copies_k}) "
                   f"INSERT INTO resources ({cols}) SELECT "
                   + pick.format(details="json_set(r.details, '$.id', r.id || '-' || k.k)")
                   + " FROM resources r, k")
        db.commit()
        db.close()
    seeded = time.time() - seed_started
    return measure_seeded(kind, data, base_url, base, round(seeded))


def measure_seeded(kind, data, base_url, base, seeded):
    tok = token(data, base_url)
    admin = token(data, base_url, "admin") if a.overview else None
    # The same mirror: no new generation, nothing rematched while measuring.
    svc = Service(data, base_url, mirror=os.path.join(os.path.dirname(data), "mirror"))
    out = {"database": kind, "findings": a.n, "seed_s": seeded}
    try:
        # Ready, and its caches warm: the first answer is not timed.
        svc.call("/findings/list", {"maxResults": 1}, tok)
        # The service computes the dashboard's figures once at start (3 to
        # 8 s at 1,000,000 findings on this machine): measured after it.
        time.sleep(a.settle)
        for name, q in ([] if a.skip_list else queries(base)):
            lat = []
            for _ in range(50):
                t = time.perf_counter()
                svc.call("/findings/list", q, tok)
                lat.append((time.perf_counter() - t) * 1000)
            lat.sort()
            # 20 pages deep through nextToken.
            page_lat = []
            req = dict(q)
            for _ in range(20):
                t = time.perf_counter()
                page = svc.call("/findings/list", req, tok)
                page_lat.append((time.perf_counter() - t) * 1000)
                if "nextToken" not in page:
                    break
                req = dict(q, nextToken=page["nextToken"])
            out[name] = {"p50_ms": round(statistics.median(lat), 1), "p99_ms": round(lat[-1], 1),
                         "pages_p50_ms": round(statistics.median(page_lat), 1), "pages": len(page_lat)}
        if a.overview:
            out.update(overview(svc, tok, admin))
        out["peak_rss_mb"] = svc.peak_rss_mb()
    finally:
        svc.stop()
    return out


def overview(svc, tok, admin):
    """The dashboard's overview, signed in with the token: the first render
    (its figures computed), ten more (kept: median and worst), then a
    change (a suppression rule that matches some findings) and the render
    right after it, and how long until a render shows the new figures."""
    conn = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=3600)
    # The sign-in form's token and its cookie, then the sign-in.
    conn.request("GET", "/ui/login")
    r = conn.getresponse()
    form = r.read().decode()
    signin_cookie = r.getheader("Set-Cookie").split(";")[0]
    signin = re.search(r'name="signin" value="([0-9a-f]+)"', form).group(1)
    conn.request("POST", "/ui/login", f"signin={signin}&token={tok}",
                 {"Content-Type": "application/x-www-form-urlencoded", "Cookie": signin_cookie})
    r = conn.getresponse()
    r.read()
    cookie = r.getheader("Set-Cookie").split(";")[0]

    def render():
        t = time.perf_counter()
        conn.request("GET", "/ui/", headers={"Cookie": cookie})
        r = conn.getresponse()
        page = r.read()
        if r.status != 200:
            raise SystemExit(f"/ui/: {r.status} {page[:500]}")
        return (time.perf_counter() - t) * 1000, b"Figures as of" in page

    first, _ = render()
    lat = sorted(render()[0] for _ in range(10))
    agg = []
    for _ in range(3):
        t = time.perf_counter()
        svc.call("/findings/aggregation/list", {"aggregationType": "PACKAGE", "maxResults": 5}, tok)
        agg.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    conn.request("GET", "/v1/findings/trend?days=30", headers={"Authorization": f"Bearer {tok}"})
    conn.getresponse().read()
    trend = (time.perf_counter() - t) * 1000
    # A change: the findings of one vulnerability suppressed. Past the
    # second it was made in, so that figures computed now are current.
    some = svc.call("/findings/list", {"maxResults": 1, "filterCriteria": {
        "findingStatus": [{"comparison": "EQUALS", "value": "ACTIVE"}],
        "findingType": [{"comparison": "EQUALS", "value": "PACKAGE_VULNERABILITY"}]}}, tok)["findings"][0]
    vuln = some["packageVulnerabilityDetails"]["vulnerabilityId"]
    svc.call("/filters/create", {"name": "bench", "action": "SUPPRESS", "filterCriteria": {
        "vulnerabilityId": [{"comparison": "EQUALS", "value": vuln}]}}, admin)
    time.sleep(1.1)
    changed_started = time.perf_counter()
    after, stale = render()
    after_stale = stale
    while stale:
        time.sleep(0.1)
        _, stale = render()
    fresh_after = (time.perf_counter() - changed_started) * 1000
    return {"overview_first_ms": round(first), "overview_p50_ms": round(statistics.median(lat)),
            "overview_max_ms": round(lat[-1]), "overview_after_change_ms": round(after),
            "overview_after_change_stale": after_stale,
            "overview_fresh_after_change_ms": round(fresh_after),
            "package_aggregation_p50_ms": round(statistics.median(agg)), "trend_ms": round(trend)}


def start_postgres(work):
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        raise SystemExit("PostgreSQL is not installed: apt-get install postgresql")
    bin_dir = os.path.dirname(bins[-1])
    pgdir = os.path.join(work, "pg")
    os.makedirs(pgdir, exist_ok=bool(a.reuse))
    pre = []
    if os.getuid() == 0:
        shutil.chown(pgdir, "postgres", "postgres")
        os.chmod(work, 0o755)
        pre = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    if not a.reuse:
        subprocess.run(pre + [f"{bin_dir}/initdb", "-D", f"{pgdir}/data", "-A", "trust", "-U", "postgres", "--no-sync",
                          "-E", "UTF8"], check=True, capture_output=True)
    opts = f"-p {port} -k {pgdir} -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=256MB"
    subprocess.run(pre + [f"{bin_dir}/pg_ctl", "-D", f"{pgdir}/data", "-o", opts, "-l", f"{pgdir}/log", "-w", "start"],
                   check=True, capture_output=True)
    stop = pre + [f"{bin_dir}/pg_ctl", "-D", f"{pgdir}/data", "-m", "fast", "stop"]
    return f"postgres://postgres@127.0.0.1:{port}/postgres", stop


work = a.reuse or tempfile.mkdtemp(dir=os.environ.get("BENCH_DIR"))
os.chmod(work, 0o755)
try:
    if not a.reuse:
        os.makedirs(os.path.join(work, "watch"))
        for t in TARGETS:
            src = os.path.join(SHARED, "targets", t)
            if os.path.isdir(src):
                shutil.copytree(src, os.path.join(work, "watch", t))
            else:
                shutil.copy(src, os.path.join(work, "watch"))
        shutil.copytree(os.path.join(SHARED, "vulndata"), os.path.join(work, "mirror"),
                        ignore=shutil.ignore_patterns("tools"))
    results = []
    if a.only in (None, "sqlite"):
        results.append(measure("sqlite", work))
        print(json.dumps(results[-1]), flush=True)
    if a.only in (None, "postgres"):
        url, stop = start_postgres(work)
        try:
            results.append(measure("postgres", work, url))
            print(json.dumps(results[-1]), flush=True)
        finally:
            subprocess.run(stop, capture_output=True)
finally:
    if a.keep or a.reuse:
        print(f"kept {work}", file=sys.stderr)
    else:
        shutil.rmtree(work, ignore_errors=True)
