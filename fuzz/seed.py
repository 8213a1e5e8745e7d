#!/usr/bin/env python3
"""Seeds each fuzz target's corpus from real inputs: ../shared/targets (images,
function zips, the host snapshot, lockfiles), ../shared/vulndata (OSV records)
and the repository's own fixtures. Corpora are written, never committed.

    python3 fuzz/seed.py CORPUS_DIR
"""
import gzip
import io
import json
import os
import sys
import tarfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SHARED = os.path.join(REPO, "..", "shared")
TARGETS = os.path.join(SHARED, "targets")
MAX = 64 << 10  # seeds are cut to what a fuzz input holds (-max_len)

out = sys.argv[1]
count = {}


def seed(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name.replace("/", "_")), "wb") as f:
        f.write(data[:MAX])
    count[target] = count.get(target, 0) + 1


# The extractor index of fuzz_targets/inventory_any.rs, by extractor name.
ANY = {
    "os/dpkg": 0, "os/apk": 1, "java/pom-xml": 5, "go/go-mod": 7, "rust/cargo-lock": 9,
    "javascript/package-lock": 10, "javascript/node-modules": 11, "javascript/yarn-lock": 13,
    "python/dist-info": 14, "python/requirements": 15,
}


def by_name(name, data):
    """Seeds the targets that read a file named `name`."""
    base = os.path.basename(name)
    pick = None
    if name.endswith("var/lib/dpkg/status"):
        pick = "os/dpkg"
        seed("inventory_dpkg", name, data)
    elif name.endswith("lib/apk/db/installed"):
        pick = "os/apk"
        seed("inventory_apk", name, data)
    elif base == "package-lock.json":
        pick = "javascript/package-lock"
        seed("inventory_package_lock", name, data)
    elif base == "Cargo.lock":
        pick = "rust/cargo-lock"
        seed("inventory_cargo_lock", name, data)
    elif base == "yarn.lock":
        pick = "javascript/yarn-lock"
        seed("inventory_yarn_lock", name, data)
    elif base == "package.json" and "node_modules" in name:
        pick = "javascript/node-modules"
    elif base == "METADATA" and ".dist-info" in name:
        pick = "python/dist-info"
    elif base.startswith("requirements") and base.endswith(".txt"):
        pick = "python/requirements"
    elif base == "go.mod":
        pick = "go/go-mod"
    elif base == "pom.xml":
        pick = "java/pom-xml"
    if pick is not None:
        seed("inventory_any", name, bytes([ANY[pick]]) + data)


def walk_tar(t, prefix):
    for m in t.getmembers():
        if m.isfile() and m.size <= 4 << 20:
            data = t.extractfile(m).read()
            by_name(prefix + m.name, data)
            if m.name.endswith((".tar", ".tar.gz")) or "/blobs/" in m.name:
                try:
                    with tarfile.open(fileobj=io.BytesIO(data)) as inner:
                        walk_tar(inner, prefix + m.name + ":")
                except tarfile.TarError:
                    pass


# Images: their layers' files, their OCI documents; small archives whole.
for image in ("debian12-app", "alpine-base"):
    root = os.path.join(TARGETS, image)
    seed("oci_json", image + "-index.json", open(os.path.join(root, "index.json"), "rb").read())
    blobs = os.path.join(root, "blobs", "sha256")
    for b in sorted(os.listdir(blobs)):
        data = open(os.path.join(blobs, b), "rb").read()
        if data[:1] == b"{":
            seed("oci_json", b, data)
        else:
            try:
                with tarfile.open(fileobj=io.BytesIO(data)) as t:
                    walk_tar(t, image + ":")
            except tarfile.TarError:
                pass
for z in ("fn-python.zip", "fn-node.zip"):
    data = open(os.path.join(TARGETS, z), "rb").read()
    seed("archive", z, data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for n in zf.namelist():
            by_name(z + ":" + n, zf.read(n))
with tarfile.open(os.path.join(TARGETS, "host-snapshot.tar.gz")) as t:
    walk_tar(t, "host:")
for dirpath, _, files in os.walk(os.path.join(TARGETS, "rust-lockfile")):
    for f in files:
        by_name(f, open(os.path.join(dirpath, f), "rb").read())

# Small archives of each kind the archive reader tells apart.
small = io.BytesIO()
with tarfile.open(fileobj=small, mode="w") as t:
    status = b"Package: base-files\nStatus: install ok installed\nVersion: 12.4\n\n"
    info = tarfile.TarInfo("var/lib/dpkg/status")
    info.size = len(status)
    t.addfile(info, io.BytesIO(status))
seed("archive", "rootfs.tar", small.getvalue())
seed("archive", "rootfs.tar.gz", gzip.compress(small.getvalue()))
manifest = json.dumps([{"Config": "c.json", "RepoTags": ["x:1"], "Layers": ["l/layer.tar"]}]).encode()
docker = io.BytesIO()
with tarfile.open(fileobj=docker, mode="w") as t:
    for name, data in (("manifest.json", manifest), ("c.json", b'{"rootfs":{"diff_ids":[]}}'),
                       ("l/layer.tar", small.getvalue())):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
seed("archive", "docker-save.tar", docker.getvalue())

# Network models, firewalls and socket tables.
seed("network_file", "network.yaml", open(os.path.join(REPO, "docs/examples/network.yaml"), "rb").read())
aws = os.path.join(REPO, "crates/vigia/tests/fixtures/aws-shop")
order = ["describe-instances.json", "describe-security-groups.json", "describe-subnets.json",
         "describe-route-tables.json", "describe-network-acls.json", "describe-internet-gateways.json"]
for i, f in enumerate(order):
    seed("aws_folder", f, bytes([i]) + open(os.path.join(aws, f), "rb").read())
seed("firewall", "rules.v4", b"""*filter
:INPUT DROP [0:0]
:user - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT
-A INPUT -s 10.0.0.0/8 -p tcp --dport 22 -j user
-A user -j ACCEPT
COMMIT
""")
seed("firewall", "nftables.json", json.dumps({"nftables": [
    {"chain": {"family": "inet", "table": "filter", "name": "input", "hook": "input", "type": "filter", "policy": "drop"}},
    {"rule": {"family": "inet", "table": "filter", "chain": "input", "expr": [
        {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [22, {"range": [80, 90]}]}}},
        {"accept": None}]}}]}).encode())
with tarfile.open(os.path.join(TARGETS, "host-snapshot.tar.gz")) as t:
    for name in ("proc/net/tcp", "proc/net/tcp6", "proc/net/udp"):
        seed("proc_net", name.replace("/", "_"), t.extractfile(name).read())

# SBOM and VEX inputs: the repository's own fixtures and golden outputs.
for d in ("crates/vigia/tests/fixtures", "crates/vigia/tests/golden"):
    for f in sorted(os.listdir(os.path.join(REPO, d))):
        if os.path.isdir(os.path.join(REPO, d, f)):
            continue
        data = open(os.path.join(REPO, d, f), "rb").read()
        if f.endswith((".cdx.json", ".spdx.json")):
            seed("sbom_input", f, data)
        elif "vex" in f:
            seed("vex", f, data)
seed("vex", "openvex.json", json.dumps({
    "@context": "https://openvex.dev/ns/v0.2.0", "@id": "x", "author": "a", "timestamp": "2026-01-01T00:00:00Z",
    "version": 1, "statements": [{"vulnerability": {"name": "CVE-2023-0001"}, "products": [{"@id": "pkg:npm/x@1"}],
                                  "status": "not_affected", "justification": "vulnerable_code_not_present"}]}).encode())
seed("vex", "vigiaignore.yaml", b"vulnerabilities:\n  - id: CVE-2023-0001\n    statement: not reachable\n")

# YAML: the lockfile shapes the loader reads.
seed("yaml", "pnpm-lock.yaml", b"lockfileVersion: '6.0'\npackages:\n  /lodash@4.17.20:\n    resolution: {integrity: sha512-x}\n")
seed("yaml", "yarn-berry.lock", b'__metadata:\n  version: 6\n"lodash@npm:^4.17.20":\n  version: 4.17.20\n')
seed("yaml", "alias.yaml", b"a: &x [1, 2]\nb: *x\n")

# OSV records from the mirror.
for eco in ("npm", "PyPI", "Debian", "Alpine"):
    with zipfile.ZipFile(os.path.join(SHARED, "vulndata", eco, "all.zip")) as zf:
        for n in zf.namelist()[:20]:
            seed("osv_record", eco + "-" + n, zf.read(n))

for target, n in sorted(count.items()):
    print(f"{target}: {n} seeds")
