#!/usr/bin/env bash
# Runs every cargo-fuzz target under fuzz/ for SECONDS_PER_TARGET seconds
# each (default 60), one target at a time, in one libFuzzer process (one
# job), and prints the executions per target from libFuzzer's final stats.
# Exits non-zero if any target found a crash, a failed property or a hang;
# the input that did it is kept in fuzz/artifacts/<target>/ and the run's
# log in fuzz/target/fuzz-logs/<target>.log.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET]
#
# Before fuzzing it installs cargo-fuzz if missing and seeds each target's
# corpus, fuzz/corpus/<target>/, from spec/vectors/ and the signed fixtures
# of fuzz/src/lib.rs (`cargo run --example seed_corpora`). The corpus is
# kept between runs (it is gitignored), so longer campaigns build on
# earlier ones.
#
# Environment (all optional):
#   FUZZ_TARGETS    space-separated targets to run (default: all of fuzz/fuzz_targets/)
#   FUZZ_TOOLCHAIN  the nightly toolchain cargo-fuzz builds with (default: nightly)
#   FUZZ_SANITIZER  none (default) or address; the ledger has no unsafe code,
#                   so none trades nothing for about twice the executions
#   FUZZ_TIMEOUT    seconds one input may take before it counts as a hang (default: 10)
#   FUZZ_ARGS       extra libFuzzer flags, e.g. "-max_len=8192"
set -euo pipefail

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: $0 [SECONDS_PER_TARGET]" >&2
    exit 2
fi
toolchain=${FUZZ_TOOLCHAIN:-nightly}
sanitizer=${FUZZ_SANITIZER:-none}
timeout=${FUZZ_TIMEOUT:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"

if ! cargo "+$toolchain" fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo "+$toolchain" install cargo-fuzz --locked
fi

targets=${FUZZ_TARGETS:-$(cd fuzz_targets && ls -- *.rs | sed 's/\.rs$//' | tr '\n' ' ')}

echo "== seeding fuzz/corpus/ from spec/vectors/ and the fixtures"
cargo "+$toolchain" run --quiet --example seed_corpora -- corpus

echo "== building the targets (sanitizer: $sanitizer)"
if [ -z "${FUZZ_TARGETS:-}" ]; then
    cargo "+$toolchain" fuzz build --sanitizer "$sanitizer"
else
    for t in $targets; do cargo "+$toolchain" fuzz build --sanitizer "$sanitizer" "$t"; done
fi

mkdir -p target/fuzz-logs
declare -A execs status
failed=0
for t in $targets; do
    log=target/fuzz-logs/$t.log
    echo "== $t: ${seconds}s"
    set +e
    # shellcheck disable=SC2086
    cargo "+$toolchain" fuzz run --sanitizer "$sanitizer" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout="$timeout" -print_final_stats=1 \
        ${FUZZ_ARGS:-} >"$log" 2>&1
    rc=$?
    set -e
    execs[$t]=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ]; then
        status[$t]=ok
    else
        failed=1
        artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
        status[$t]="FAILED (exit $rc)${artifact:+, input kept in $artifact}"
        grep -m 3 -E "panicked at|ERROR: libFuzzer|assertion" "$log" | sed 's/^/    /' || true
    fi
done

echo
printf '%-18s %14s  %s\n' target executions result
for t in $targets; do
    printf '%-18s %14s  %s\n' "$t" "${execs[$t]:-?}" "${status[$t]}"
done
if [ "$failed" -ne 0 ]; then
    echo
    echo "a target failed; reproduce with: cd fuzz && cargo +$toolchain fuzz run --sanitizer $sanitizer <target> <artifact>"
    exit 1
fi
