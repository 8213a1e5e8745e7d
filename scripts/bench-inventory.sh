#!/usr/bin/env bash
# Benchmark: inventory of the debian12-app image (OCI layout), Vigia beside the
# peers of ../shared/peers (Syft, Trivy; offline), same input, same run.
# Medians of RUNS runs (default 5), wall time and peak RSS, plus the floor: the
# time to just decompress every layer blob (zcat).
#   bash ../shared/peers/install.sh   # once (SKIP_CARGO_AUDIT=1 is enough here)
#   scripts/bench-inventory.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
target=${TARGET:-../shared/targets/debian12-app}
peers=${VIGIA_PEERS_PREFIX:-/opt/vigia-peers}
. "$peers/env.sh"
cargo build --release --locked -p vigia >/dev/null 2>&1
vigia=$PWD/target/release/vigia
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
TF="--cache-backend memory --skip-version-check --disable-telemetry --offline-scan"
blobs=$(python3 -c "
import json,sys,os
root=sys.argv[1]; idx=json.load(open(os.path.join(root,'index.json')))
m=json.load(open(os.path.join(root,'blobs',*idx['manifests'][0]['digest'].split(':'))))
print(' '.join(os.path.join(root,'blobs',*l['digest'].split(':')) for l in m['layers']))" "$target")
# Warm the layer cache once for the cached rows.
"$vigia" --data-dir "$work/warm" sbom "$target" --format cyclonedx -o "$work/w.json"
declare -A cmds=(
  ["zcat of every layer (floor)"]="zcat $blobs > /dev/null"
  ["vigia, cold"]="$vigia --data-dir $work/cold sbom $target --no-cache --format cyclonedx -o $work/v.json"
  ["vigia, layer cache"]="$vigia --data-dir $work/warm sbom $target --format cyclonedx -o $work/vc.json"
  ["syft 1.18.1"]="syft scan oci-dir:$target -o cyclonedx-json=$work/s.json"
  ["trivy 0.76.0"]="trivy image $TF --format cyclonedx --output $work/t.json --input $target"
)
order=("zcat of every layer (floor)" "vigia, cold" "vigia, layer cache" "syft 1.18.1" "trivy 0.76.0")
for i in $(seq "$runs"); do
  for name in "${order[@]}"; do
    /usr/bin/time -f "%e %M" -o "$work/t" bash -c "${cmds[$name]}" >/dev/null 2>&1 || true
    echo "$name|$(cat "$work/t")" >> "$work/runs"
  done
done
python3 - "$work/runs" <<'PY'
import statistics, sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    name, vals = line.rstrip("\n").split("|")
    w, r = vals.split()
    rows.setdefault(name, []).append((float(w), int(r)))
med = {n: (statistics.median(w for w, _ in v), statistics.median(r for _, r in v) / 1024) for n, v in rows.items()}
cold = med["vigia, cold"]
print("| tool | median wall (s) | median peak RSS (MB) | Vigia cold / tool (time) | Vigia cold / tool (RSS) |")
print("| --- | ---: | ---: | ---: | ---: |")
for n, (w, r) in med.items():
    print(f"| {n} | {w:.3f} | {r:.0f} | {cold[0] / w:.2f} | {cold[1] / r:.2f} |")
PY
