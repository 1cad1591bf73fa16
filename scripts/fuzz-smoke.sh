#!/usr/bin/env bash
# A short run of every fuzz target, for CI: 4 seconds each, on the seed
# corpus (spec/vectors/ and the fixtures), so about a minute of fuzzing for
# the 13 targets once they are built. Fails, keeping the input, if a
# target finds a crash or a broken property. See scripts/fuzz.sh.
#
#   scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]
set -euo pipefail
exec "$(dirname "$0")/fuzz.sh" "${1:-4}"
