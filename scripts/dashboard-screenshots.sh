#!/usr/bin/env bash
# Screenshots of every dashboard page (light and dark, 1280×800 and 390×844)
# into docs/screenshots/, from a service watching the shared targets with the
# shared mirror and one suppression rule. Needs Debian's chromium and
# `npm ci --prefix crates/vigia/tests/browser`.
#
#   scripts/dashboard-screenshots.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet -p vigia
bin=target/debug/vigia
home=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$home"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=$("$bin" --data-dir "$home" token create --role admin --name screenshots -f json | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
"$bin" --data-dir "$home" serve --listen "127.0.0.1:$port" --mirror ../shared/vulndata \
  --watch ../shared/targets > "$home/serve.log" 2>&1 &
pid=$!
url="http://127.0.0.1:$port"
call() { curl -fsS -H "Authorization: Bearer $token" -H 'content-type: application/json' "$@"; }
for _ in $(seq 1 240); do
  pending=$(call -d '{}' "$url/coverage/list" 2>/dev/null | python3 -c '
import json, sys
items = json.load(sys.stdin)["coveredResources"]
print(1 if not items or any(i["scanStatus"]["reason"] in ("PENDING_INITIAL_SCAN", "SCAN_IN_PROGRESS") for i in items) else 0)' 2>/dev/null || echo 1)
  [ "$pending" = 0 ] && break
  sleep 0.5
done
call -d '{"name":"accepted-zlib","action":"SUPPRESS","reason":"not reachable in these images","filterCriteria":{"vulnerablePackages":[{"name":{"comparison":"EQUALS","value":"zlib1g"}}]}}' \
  "$url/filters/create" > /dev/null
mkdir -p docs/screenshots
VIGIA_URL=$url VIGIA_ADMIN_TOKEN=$token VIGIA_SHOTS=$PWD/docs/screenshots \
  node crates/vigia/tests/browser/screenshots.mjs
