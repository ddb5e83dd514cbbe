#!/usr/bin/env bash
# A bounded fuzz session (src/tests/fuzzing.rs): the plan reader and validator, the template
# parsers, URL rendering, whole compositions over arbitrary replies, the order request and
# the error excerpts, each checked for panics and for its promises, until time is up.
#
#   npm run fuzz                 # 600 s
#   npm run fuzz -- 60           # 60 s
#   PC_FUZZ_ONLY=url PC_FUZZ_SEED=123 npm run fuzz -- 60    # replay what a failure printed
#
# It prints the seed, the cases each target ran, and on failure the shrunk input with the
# line that replays it. scripts/test.sh runs it for 20 s (PC_FUZZ_SECONDS=20).
#
# Built in release mode (about 20 times the cases of a debug build), but with the checks a
# debug build has: an integer overflow or a debug assertion is a bug worth finding even
# though the .wasm, built without them, would not panic there. LTO is off: it only makes
# the .wasm smaller, and costs minutes of linking here. Its own target directory keeps these
# settings from invalidating the release build that wasm-pack makes (its build scripts and
# proc-macros live in target/release too).
set -euo pipefail

# shellcheck source=scripts/env.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/env.sh"
cd "$PC_ROOT"

seconds="${1:-${PC_FUZZ_SECONDS:-600}}"
if ! [[ $seconds =~ ^[0-9]+$ ]] || ((seconds == 0)); then
  echo "usage: npm run fuzz [-- SECONDS]   (a whole number of seconds above 0, not '$seconds')" >&2
  exit 2
fi
export PC_FUZZ_SECONDS="$seconds"
export CARGO_PROFILE_RELEASE_LTO=false
export CARGO_PROFILE_RELEASE_OPT_LEVEL=3
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
export CARGO_PROFILE_RELEASE_OVERFLOW_CHECKS=true
export CARGO_PROFILE_RELEASE_DEBUG_ASSERTIONS=true
export RUST_BACKTRACE="${RUST_BACKTRACE:-0}"
export CARGO_TARGET_DIR="$PC_ROOT/target/fuzz"

cargo test --release --lib tests::fuzzing::fuzz_session -- --ignored --exact --nocapture
