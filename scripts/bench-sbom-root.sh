#!/usr/bin/env bash
# Benchmark: the inventory of this whole machine (`vigia sbom /`) beside
# Syft's `dir:/`, same machine, same run: wall time, peak RSS (GNU time) and
# packages found. Vigia: median of RUNS runs (default 3), after one warm-up
# run (warm page cache for both); Syft once (it takes minutes). Trivy's
# `rootfs /` is left out: it reads every file's content for its analyzers.
#   bash ../shared/peers/install.sh   # once
#   scripts/bench-sbom-root.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
peers=${VIGIA_PEERS_PREFIX:-/opt/vigia-peers}
. "$peers/env.sh"
cargo build --release --locked -p vigia >/dev/null 2>&1
vigia=$PWD/target/release/vigia
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$vigia" sbom / --format json -o "$work/v.json" 2>/dev/null
for i in $(seq "$runs"); do
  /usr/bin/time -f "%e %M" -o "$work/t" "$vigia" sbom / --format json -o "$work/v.json" 2>/dev/null
  cat "$work/t" >> "$work/vigia.runs"
done
/usr/bin/time -f "%e %M" -o "$work/syft.runs" syft scan dir:/ -q -o syft-json="$work/s.json" >/dev/null 2>&1 || true
python3 - "$work" <<'PY'
import json, statistics, sys
w = sys.argv[1]
def rows(name):
    return [list(map(float, l.split())) for l in open(f"{w}/{name}.runs")]
v, s = rows("vigia"), rows("syft")
vw, vm = statistics.median(r[0] for r in v), statistics.median(r[1] for r in v) / 1024
sw, sm = s[0][0], s[0][1] / 1024
vp = len(json.load(open(f"{w}/v.json"))["packages"])
try:
    sp = len(json.load(open(f"{w}/s.json"))["artifacts"])
except Exception:
    sp = "n/a"
print("| tool | wall (s) | peak RSS (MB) | packages | vigia / tool (time) | vigia / tool (RSS) |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
print(f"| vigia `sbom /` (median of {len(v)}) | {vw:.2f} | {vm:.0f} | {vp} | 1.00 | 1.00 |")
print(f"| syft 1.18.1 `dir:/` (once) | {sw:.1f} | {sm:.0f} | {sp} | {vw/sw:.3f} | {vm/sm:.3f} |")
PY
