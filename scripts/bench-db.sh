#!/usr/bin/env bash
# Benchmark: cold ingest of the shared advisory mirror and of synthetic mirrors
# FACTORS times its size (default 3, 10 and 30; scripts/synth-mirror.py), then
# an incremental update of each mirror of 10x or more, with the release binary.
# Prints Markdown tables of medians over RUNS runs: wall time, records/s, peak RSS.
#   scripts/bench-db.sh [RUNS]
#   FACTORS=150 scripts/bench-db.sh 3     # the size of the real upstreams
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
mirror=${VIGIA_MIRROR:-../shared/vulndata}
cargo build --release --locked -p vigia >/dev/null 2>&1
bin=target/release/vigia
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
factors=${FACTORS:-3 10 30}
mirrors=("$mirror")
for f in $factors; do
  python3 scripts/synth-mirror.py "$mirror" "$f" "$work/x$f" >/dev/null
  mirrors+=("$work/x$f")
done
echo "| mirror | records | median wall (s) | records/s | median peak RSS (MB) |"
echo "| --- | ---: | ---: | ---: | ---: |"
for m in "${mirrors[@]}"; do
  label=$(basename "$m"); [ "$m" = "$mirror" ] && label="shared mirror (1x)"
  for i in $(seq "$runs"); do
    rm -rf "$work/data"
    /usr/bin/time -f "%e %M" -o "$work/time" "$bin" --data-dir "$work/data" db update --mirror "$m" --format json > "$work/report.json"
    recs=$(python3 -c "import json;print(json.load(open('$work/report.json'))['records_ingested'])")
    echo "$(cat "$work/time") $recs" >> "$work/$label.runs"
  done
  python3 - "$work/$label.runs" "$label" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
wall = statistics.median(r[0] for r in rows)
rss = statistics.median(r[1] for r in rows) / 1024
recs = int(rows[0][2])
print(f"| {sys.argv[2]} | {recs} | {wall:.2f} | {recs / wall:,.0f} | {rss:.0f} |")
PY
done

# Incremental: the database of the largest mirror is kept, one source changes
# (one PyPI record's fixed version moves, as upstream revises a record), and the
# update fetches every source, re-ingests that one and computes its change set.
echo
echo "| incremental update (one source changed) | changed packages | median wall (s) | median peak RSS (MB) |"
echo "| --- | ---: | ---: | ---: |"
for f in $factors; do
  [ "$f" -ge 10 ] || continue
  m=$work/x$f label=x$f
  rm -rf "$work/data"
  "$bin" --data-dir "$work/data" db update --mirror "$m" --format json > /dev/null
  : > "$work/$label.inc"
  for i in $(seq "$runs"); do
    python3 - "$m/PyPI/all.zip" "$i" <<'PY'
import json, sys, zipfile
path, run = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(path) as z:
    entries = [(n, z.read(n)) for n in z.namelist()]
for k, (name, body) in enumerate(entries):
    rec = json.loads(body)
    for a in rec.get("affected", []):
        for r in a.get("ranges", []):
            for e in r.get("events", []):
                if "fixed" in e:
                    e["fixed"] = f"{run}000.0"
                    entries[k] = (name, json.dumps(rec).encode())
                    break
            else:
                continue
            break
        else:
            continue
        break
    else:
        continue
    break
with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
    for name, body in entries:
        z.writestr(name, body)
PY
    /usr/bin/time -f "%e %M" -o "$work/time" "$bin" --data-dir "$work/data" db update --mirror "$m" --format json > "$work/report.json"
    changed=$(python3 -c "import json;r=json.load(open('$work/report.json'));print(sum(s['changed_packages'] for s in r['sources']))")
    echo "$(cat "$work/time") $changed" >> "$work/$label.inc"
  done
  python3 - "$work/$label.inc" "$label" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
wall = statistics.median(r[0] for r in rows)
rss = statistics.median(r[1] for r in rows) / 1024
print(f"| {sys.argv[2]} | {int(rows[0][2])} | {wall:.2f} | {rss:.0f} |")
PY
done
