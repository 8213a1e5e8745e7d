#!/usr/bin/env bash
# Benchmark: `vigia scan` on every shared target (cold: no layer cache; and with
# the layer cache), beside every peer that does the same job offline in the same
# run. Vulnerability matching offline: only cargo-audit (rust-lockfile, on the
# same RustSec advisories written in its own layout). Syft and Trivy cannot match
# offline here (see ../shared/peers/README.md), so their SBOM time of the same
# target is shown as the inventory part of the job, for scale.
# Medians of RUNS runs (default 5), wall time and peak RSS (GNU time).
#   bash ../shared/peers/install.sh   # once
#   scripts/bench-scan.sh [RUNS]
#   PEERS=0 scripts/bench-scan.sh [RUNS]   # Vigia's rows only, no peers needed
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
targets=${TARGETS:-../shared/targets}
mirror=${MIRROR:-../shared/vulndata}
peers=${VIGIA_PEERS_PREFIX:-/opt/vigia-peers}
with_peers=${PEERS:-1}
[ "$with_peers" = 1 ] && . "$peers/env.sh"
cargo build --release --locked -p vigia >/dev/null 2>&1
vigia=$PWD/target/release/vigia
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
TF="--cache-backend memory --skip-version-check --disable-telemetry --offline-scan --quiet"

"$vigia" --data-dir "$work/db" db update --mirror "$mirror" -q >/dev/null
# The layer cache lives in the data directory: one warm copy, one that stays cold.
cp -r "$work/db" "$work/warm"
mkdir -p "$work/unpacked/fn-python" "$work/unpacked/fn-node" "$work/unpacked/host"
python3 -m zipfile -e "$targets/fn-python.zip" "$work/unpacked/fn-python"
python3 -m zipfile -e "$targets/fn-node.zip" "$work/unpacked/fn-node"
tar -C "$work/unpacked/host" -xzf "$targets/host-snapshot.tar.gz"
# RustSec layout of the mirror's crates.io advisories, for cargo-audit.
[ "$with_peers" = 1 ] && python3 - "$mirror" "$work/rustsec" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("x", "scripts/crosscheck-cargo-audit.py")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
m.write_db(sys.argv[1], sys.argv[2])
PY

rows=()
declare -A cmds
add() {
  case $1 in *"|vigia "*) ;; *) [ "$with_peers" = 1 ] || return 0 ;; esac
  rows+=("$1"); cmds["$1"]=$2
}
for t in "image debian12-app" "image alpine-base" "function fn-python.zip" "function fn-node.zip" "host host-snapshot.tar.gz" "dir rust-lockfile"; do
  set -- $t
  kind=$1 name=$2
  add "$name|vigia scan, cold" "$vigia --data-dir $work/db scan $kind $targets/$name --no-cache --format json -o $work/v.json"
  if [ "$kind" = image ]; then
    "$vigia" --data-dir "$work/warm" scan "$kind" "$targets/$name" --format json -o "$work/w.json" 2>/dev/null
    add "$name|vigia scan, layer cache" "$vigia --data-dir $work/warm scan $kind $targets/$name --format json -o $work/vc.json"
    add "$name|syft (SBOM only)" "syft scan oci-dir:$targets/$name --override-default-catalogers all -q -o cyclonedx-json=$work/s.json"
    add "$name|trivy (SBOM only)" "trivy image $TF --format cyclonedx --output $work/t.json --input $targets/$name"
  fi
  case $name in
    fn-python.zip|fn-node.zip)
      d=$work/unpacked/${name%.zip}
      add "$name|syft (SBOM only)" "syft scan dir:$d -q -o cyclonedx-json=$work/s.json"
      add "$name|trivy (SBOM only, unpacked)" "trivy rootfs $TF --format cyclonedx --output $work/t.json $d" ;;
    host-snapshot.tar.gz)
      add "$name|syft (SBOM only, unpacked)" "syft scan dir:$work/unpacked/host -q -o cyclonedx-json=$work/s.json"
      add "$name|trivy (SBOM only, unpacked)" "trivy rootfs $TF --format cyclonedx --output $work/t.json $work/unpacked/host" ;;
    rust-lockfile)
      add "$name|cargo-audit 0.22.2" "$peers/cargo/bin/cargo-audit audit --db $work/rustsec --no-fetch --stale --json --file $targets/$name/Cargo.lock > $work/ca.json"
      add "$name|syft (SBOM only)" "syft scan dir:$targets/$name -q -o cyclonedx-json=$work/s.json"
      add "$name|trivy (SBOM only)" "trivy fs $TF --format cyclonedx --output $work/t.json $targets/$name" ;;
  esac
done
for i in $(seq "$runs"); do
  for r in "${rows[@]}"; do
    /usr/bin/time -f "%e %M" -o "$work/t" bash -c "${cmds[$r]}" >/dev/null 2>&1 || true
    echo "$r|$(tail -1 "$work/t")" >> "$work/runs"
  done
done
python3 - "$work/runs" <<'PY'
import statistics, sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    target, name, vals = line.rstrip("\n").split("|")
    w, r = vals.split()
    rows.setdefault((target, name), []).append((float(w), int(r)))
print("| target | tool | median wall (s) | median peak RSS (MB) | tool / Vigia cold (time) |")
print("| --- | --- | ---: | ---: | ---: |")
for (t, n), v in rows.items():
    w = statistics.median(x for x, _ in v)
    r = statistics.median(y for _, y in v) / 1024
    cold = statistics.median(x for x, _ in rows[(t, "vigia scan, cold")])
    print(f"| {t} | {n} | {w:.3f} | {r:.0f} | {w / cold:.2f} |")
PY
