#!/usr/bin/env bash
# A short, bounded fuzz run of every target in fuzz/ (FUZZ_SECONDS each,
# default 3), with cargo-fuzz on the nightly toolchain, corpora seeded from
# ../shared/targets, ../shared/vulndata and the repository's fixtures
# (fuzz/seed.py). A crash, a panic, a timeout or an out-of-memory fails it and
# leaves the input in fuzz/artifacts/<target>/.
#   scripts/fuzz-ci.sh                 # every target
#   FUZZ_SECONDS=60 scripts/fuzz-ci.sh archive yaml
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${FUZZ_SECONDS:-3}
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain (rustup toolchain list); cargo-fuzz needs one" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked --quiet cargo-fuzz
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
python3 seed.py "$corpus" >/dev/null
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
# Without a sanitizer: the targets hunt panics, hangs and unbounded memory in
# safe Rust, and the build is several times faster.
cargo +nightly fuzz build --sanitizer none
for t in "${targets[@]}"; do
  mkdir -p "$corpus/$t"
  echo "fuzz: $t (${secs}s, $(find "$corpus/$t" -type f | wc -l) seeds)"
  if ! cargo +nightly fuzz run --sanitizer none "$t" "$corpus/$t" -- \
    -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
    >"$corpus/$t.log" 2>&1; then
    tail -n 40 "$corpus/$t.log" >&2
    echo "fuzz: $t failed; the input is in fuzz/artifacts/$t/" >&2
    exit 1
  fi
  grep -E "^Done|runs in" "$corpus/$t.log" | tail -n 1 || true
done
