#!/usr/bin/env bash
# Benchmark: `vigia scan` alone (no peers), cold (--no-cache), on every shared
# target; medians of RUNS runs (default 5), wall time and peak RSS (GNU time).
#   scripts/bench-scan-vigia.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release --locked -p vigia >/dev/null 2>&1
vigia=$PWD/target/release/vigia
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
"$vigia" --data-dir "$work/db" db update --mirror ../shared/vulndata -q >/dev/null
echo "| target | median wall (s) | median peak RSS (MB) |"
echo "| --- | ---: | ---: |"
for spec in image:debian12-app image:alpine-base function:fn-python.zip function:fn-node.zip host:host-snapshot.tar.gz dir:rust-lockfile; do
  kind=${spec%%:*}; t=${spec#*:}
  : > "$work/runs"
  for i in $(seq "$runs"); do
    /usr/bin/time -f "%e %M" -o "$work/time" "$vigia" --data-dir "$work/db" scan "$kind" "../shared/targets/$t" --no-cache --format json > /dev/null
    cat "$work/time" >> "$work/runs"
  done
  python3 - "$work/runs" "$t" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
print(f"| {sys.argv[2]} | {statistics.median(r[0] for r in rows):.3f} | {statistics.median(r[1] for r in rows)/1024:.0f} |")
PY
done
