#!/usr/bin/env bash
# Benchmark: secret scanning, Vigia beside the peers of ../shared/peers (Trivy's
# secret scanner, Gitleaks, detect-secrets) and ripgrep searching the same tree
# for the same keywords (the floor: reading every byte once with a multi-keyword
# search). Inputs, each tool on the same folder in the same run:
#   1. the final filesystem of ../shared/targets/debian12-app, unpacked
#      (layers applied in order, whiteouts honoured), and the image itself for
#      the tools that read images;
#   2. a synthetic source tree of at least 1 GB (scripts/synth-tree.py).
# Medians of RUNS runs (default 3) after one warm-up run of every command (warm
# page cache for all): wall time, throughput (MB/s of the tree) and peak RSS
# (GNU time). detect-secrets runs on input 1 only (it is far
# slower; on input 2 it would take hours).
#   bash ../shared/peers/install.sh; apt-get install ripgrep
#   scripts/bench-secrets.sh [RUNS] [SYNTH_MB]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
synth_mb=${2:-1100}
peers=${VIGIA_PEERS_PREFIX:-/opt/vigia-peers}
. "$peers/env.sh"
cargo build --release --locked -p vigia >/dev/null 2>&1
vigia=$PWD/target/release/vigia
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
TF="--cache-backend memory --skip-version-check --disable-telemetry --offline-scan --quiet"
image=../shared/targets/debian12-app

# 1. The image's final filesystem.
[ -d "$work/fs" ] || python3 scripts/flatten-image.py "$image" "$work/fs"
# The Docker-archive form, for Gitleaks (which does not read OCI layouts).
[ -f "$work/image.tar" ] || python3 ../shared/targets/tools/oci-to-docker-archive.py "$image" "$work/image.tar" >/dev/null
# 2. The synthetic tree.
[ -d "$work/synth" ] || python3 scripts/synth-tree.py "$work/synth" --mb "$synth_mb"
# The same keywords for ripgrep.
python3 -c "
import tomllib
ks = sorted({k for r in tomllib.load(open('crates/vigia-secrets/rules/builtin.toml', 'rb'))['rule'] for k in r['keywords']})
print('\n'.join(ks))" > "$work/keywords.txt"

rows=()
declare -A cmds
add() { rows+=("$1"); cmds["$1"]=$2; }
add "fs|vigia scan dir --scanners secret" "$vigia --data-dir $work/home scan dir $work/fs --scanners secret --format json -o $work/v.json"
add "fs|trivy fs --scanners secret" "trivy fs $TF --scanners secret --format json --output $work/t.json $work/fs"
add "fs|gitleaks dir" "gitleaks dir $work/fs --no-banner --exit-code 0 --report-format json --report-path $work/g.json"
add "fs|detect-secrets scan --all-files" "cd $work/fs && detect-secrets scan --all-files . > $work/d.json"
add "fs|rg -i -F (same keywords)" "rg --no-ignore --hidden --no-messages -i -F -c -f $work/keywords.txt $work/fs > /dev/null"
add "image|vigia scan image --scanners secret" "$vigia --data-dir $work/home scan image $image --scanners secret --format json -o $work/vi.json"
add "image|vigia … --secrets-all-layers" "$vigia --data-dir $work/home scan image $image --scanners secret --secrets-all-layers --format json -o $work/via.json"
add "image|trivy image --scanners secret" "trivy image $TF --scanners secret --format json --output $work/ti.json --input $image"
add "image|gitleaks dir (docker archive)" "gitleaks dir $work/image.tar --max-archive-depth 8 --no-banner --exit-code 0 --report-format json --report-path $work/gi.json"
add "synth|vigia scan dir --scanners secret" "$vigia --data-dir $work/home scan dir $work/synth --scanners secret --format json -o $work/vs.json"
add "synth|trivy fs --scanners secret" "trivy fs $TF --scanners secret --format json --output $work/ts.json $work/synth"
add "synth|gitleaks dir" "gitleaks dir $work/synth --no-banner --exit-code 0 --report-format json --report-path $work/gs.json"
add "synth|rg -i -F (same keywords)" "rg --no-ignore --hidden --no-messages -i -F -c -f $work/keywords.txt $work/synth > /dev/null"

rm -f "$work/runs"
# Input by input, each row once untimed first: every tool reads from a warm
# page cache (reading the big tree would otherwise evict the small one, and
# the first tool of each round would pay for it).
for input in fs image synth; do
  for r in "${rows[@]}"; do
    [ "${r%%|*}" = "$input" ] && { bash -c "${cmds[$r]}" >/dev/null 2>&1 || true; }
  done
  for i in $(seq "$runs"); do
    for r in "${rows[@]}"; do
      [ "${r%%|*}" = "$input" ] || continue
      /usr/bin/time -f "%e %M" -o "$work/t" bash -c "${cmds[$r]}" >/dev/null 2>&1 || true
      echo "$r|$(tail -1 "$work/t")" >> "$work/runs"
    done
  done
done
fs_bytes=$(du -sb --apparent-size "$work/fs" | cut -f1)
synth_bytes=$(du -sb --apparent-size "$work/synth" | cut -f1)
img_bytes=$fs_bytes
python3 - "$work/runs" "$fs_bytes" "$img_bytes" "$synth_bytes" <<'PY'
import statistics, sys, collections
rows = collections.OrderedDict()
for line in open(sys.argv[1]):
    inp, name, vals = line.rstrip("\n").split("|")
    w, r = vals.split()
    rows.setdefault((inp, name), []).append((float(w), int(r)))
size = {"fs": int(sys.argv[2]), "image": int(sys.argv[3]), "synth": int(sys.argv[4])}
print(f"Inputs: fs = debian12-app final filesystem ({size['fs']/1e6:.0f} MB); image = the OCI layout (throughput counted on the same {size['image']/1e6:.0f} MB); synth = synthetic tree ({size['synth']/1e6:.0f} MB)\n")
print("| input | tool | median wall (s) | MB/s | median peak RSS (MB) | time / Vigia's |")
print("| --- | --- | ---: | ---: | ---: | ---: |")
vig = {}
for (inp, name), v in rows.items():
    if name.startswith("vigia scan"):
        vig[inp] = statistics.median(x for x, _ in v)
for (inp, name), v in rows.items():
    w = statistics.median(x for x, _ in v)
    r = statistics.median(y for _, y in v) / 1024
    print(f"| {inp} | {name} | {w:.2f} | {size[inp] / 1e6 / max(w, 1e-9):.0f} | {r:.0f} | {w / vig[inp]:.2f} |")
PY
echo "work folder: $work"
