#!/usr/bin/env bash
# A fleet of N agents checking in at once against `vigia serve` (SQLite, or
# PostgreSQL with a URL), and one real agent's footprint.
#
#   scripts/bench-agents.sh N [postgres://…]
#
# Starts the release `vigia serve` on the shared mirror, creates an agent
# token, unpacks the shared host snapshot, and runs
# crates/vigia-agent/examples/bench_checkins.rs (whole inventories, then
# heartbeats, then one package upgraded on every host). Then times one
# `vigia agent --once` of the snapshot with GNU time (CPU and peak RSS),
# and reports the service's peak RSS (VmHWM).
set -euo pipefail
n=${1:?usage: bench-agents.sh N [postgres-url]}
db=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=$(cd "$here/../shared" && pwd)
vigia="$here/target/release/vigia"
bench="$here/target/release/examples/bench_checkins"
work=$(mktemp -d)
trap 'kill "$serve" 2>/dev/null || true; rm -rf "$work"' EXIT
args=(--data-dir "$work/data")
[ -n "$db" ] && args+=(--database-url "$db")
mkdir -p "$work/root" "$work/watch"
tar xzf "$shared/targets/host-snapshot.tar.gz" -C "$work/root"
token=$("$vigia" "${args[@]}" token create --role agent --name bench -f json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$vigia" "${args[@]}" serve --listen "127.0.0.1:$port" --mirror "$shared/vulndata" --watch "$work/watch" \
  2> "$work/serve.log" &
serve=$!
until curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; do sleep 0.2; done
"$bench" "http://127.0.0.1:$port" "$token" "$work/root" "$n"
# The footprint of one real agent's check-in of the snapshot.
/usr/bin/time -f 'agent --once: user %U s, system %S s, wall %e s, peak RSS %M KB' \
  "$vigia" agent --server "http://127.0.0.1:$port" --token "$token" --root "$work/root" --host-id bench-real --once >/dev/null
echo "{\"serve_vmhwm_kb\": $(awk '/VmHWM/ {print $2}' "/proc/$serve/status")}"
