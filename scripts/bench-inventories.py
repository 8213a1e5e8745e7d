#!/usr/bin/env python3
"""Package lists of the shared targets, as JSON for the matching benchmark.

    scripts/bench-inventories.py SHARED_TARGETS OUT.json

Reads the dpkg status of `host-snapshot.tar.gz` and of the `debian12-app` image's
base layer, the dist-info folders of `fn-python.zip`, the package-lock of
`fn-node.zip` and `rust-lockfile/Cargo.lock`. This is only a benchmark input
(Vigia's own inventory extraction is `vigia sbom`); it writes
{"target": [{"ecosystem", "name", "version", "source_name", "source_version"}]}.
"""
import io, json, os, re, sys, tarfile, zipfile

def dpkg_status(text):
    out = []
    for stanza in text.split("\n\n"):
        f = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue
            k, v = line.split(":", 1)
            f[k] = v.strip()
        if "install ok installed" not in f.get("Status", ""):
            continue
        src, srcver = f.get("Source"), None
        if src and "(" in src:
            src, srcver = src.split("(", 1)
            src, srcver = src.strip(), srcver.rstrip(")").strip()
        out.append({"ecosystem": "Debian:12", "name": f["Package"], "version": f["Version"],
                    "source_name": src or f["Package"], "source_version": srcver})
    return out

def main():
    root, out = sys.argv[1], sys.argv[2]
    inv = {}
    with tarfile.open(os.path.join(root, "host-snapshot.tar.gz")) as t:
        inv["host-snapshot"] = dpkg_status(t.extractfile("var/lib/dpkg/status").read().decode())
    idx = json.load(open(os.path.join(root, "debian12-app/index.json")))
    blob = lambda d: os.path.join(root, "debian12-app/blobs", *d.split(":"))
    manifest = json.load(open(blob(idx["manifests"][0]["digest"])))
    with tarfile.open(blob(manifest["layers"][0]["digest"])) as t:
        names = [n for n in t.getnames() if n.lstrip("./") == "var/lib/dpkg/status"]
        inv["debian12-app"] = dpkg_status(t.extractfile(names[0]).read().decode())
    with zipfile.ZipFile(os.path.join(root, "fn-python.zip")) as z:
        inv["fn-python"] = [{"ecosystem": "PyPI", "name": m.group(1), "version": m.group(2)}
                            for n in z.namelist() if (m := re.match(r"^([^/]+)-([^-/]+)\.dist-info/METADATA$", n))]
    with zipfile.ZipFile(os.path.join(root, "fn-node.zip")) as z:
        lock = json.loads(z.read("package-lock.json"))
        inv["fn-node"] = [{"ecosystem": "npm", "name": k.split("node_modules/")[-1], "version": v["version"]}
                          for k, v in lock["packages"].items() if "node_modules/" in k]
    cargo = open(os.path.join(root, "rust-lockfile/Cargo.lock")).read()
    inv["rust-lockfile"] = [{"ecosystem": "crates.io", "name": n, "version": v}
                            for n, v, s in re.findall(r'name = "([^"]+)"\nversion = "([^"]+)"\n(source = )?', cargo) if s]
    json.dump(inv, open(out, "w"), indent=1)
    for k, v in inv.items():
        print(k, len(v), file=sys.stderr)

if __name__ == "__main__":
    main()
