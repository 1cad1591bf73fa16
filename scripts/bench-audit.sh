#!/usr/bin/env bash
# Benchmarks `provlog audit` (BENCHMARKS.md, "Client: audit and replay").
#
#   scripts/bench-audit.sh [ENTRIES] [WORKDIR]
#
# 1. runs the 100,000-entry replay test in release mode (tile verification
#    and replay of every decision, then a tampered copy caught at its entry);
# 2. builds a synthetic log of ENTRIES (default 1,000,000) signed EPCIS
#    statements with the ledger's Log, straight into a provlog-server data
#    directory (client/examples/build_log.rs);
# 3. serves it with provlog-server (no witnesses; the policy trusts the log
#    key with `quorum none`) on a free loopback port;
# 4. runs `provlog audit --once` from an empty state (checkpoint, every tile
#    against the entries) and then `provlog audit --replay --once` from an
#    empty state (the same plus a replay of every decision), and prints the
#    throughput of each.
#
# The build and the audits are CPU-bound; on the 2-core machine of
# BENCHMARKS.md the whole script takes about 15 minutes for 1M entries.
# WORKDIR (default: a new directory under /tmp) needs about 3 GB.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-1000000}
WORK=${2:-$(mktemp -d /tmp/provlog-bench-audit.XXXXXX)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$CARGO_TARGET_DIR/release
ORIGIN=synthetic.example/log

echo "== building (release)"
cargo build --release -p provlog-api -p provlog-client --bins --examples

echo "== 100,000-entry replay test (release)"
PROVLOG_REPLAY_ENTRIES=100000 cargo test --release -p provlog-client --test replay_large -- --nocapture

echo "== building a log of $N entries in $WORK/log"
mkdir -p "$WORK"
if [ ! -e "$WORK/log/log.key" ]; then
    "$BIN/examples/build_log" "$WORK/log" "$N"
fi
du -sh "$WORK/log"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN/provlog-server" --data "$WORK/log" --origin "$ORIGIN" --log-key "$WORK/log/log.key" \
    --listen "127.0.0.1:$PORT" >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER=$!
trap 'kill -TERM $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    if curl -fsS "http://127.0.0.1:$PORT/checkpoint" >/dev/null 2>&1; then break; fi
    sleep 0.1
done
SIZE=$(curl -fsS "http://127.0.0.1:$PORT/checkpoint" | sed -n 2p)
echo "serving $SIZE entries at http://127.0.0.1:$PORT"

VKEY=$("$BIN/provlog" --json keyinfo --key "$WORK/log/log.key" | python3 -c 'import json,sys; print(json.load(sys.stdin)["vkey"])')
printf 'log %s http://127.0.0.1:%s\nquorum none\n' "$VKEY" "$PORT" >"$WORK/bench.policy"

run() { # label, extra args...
    local label=$1; shift
    rm -rf "$WORK/state-$label.json" "$WORK/state-$label.json.replay"
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$WORK/rss-$label" "$BIN/provlog" --json audit --once --policy "$WORK/bench.policy" \
        --state "$WORK/state-$label.json" "$@" >"$WORK/audit-$label.json"
    end=$(date +%s.%N)
    python3 - "$label" "$SIZE" "$start" "$end" "$WORK/rss-$label" "$WORK/audit-$label.json" <<'PY'
import json, sys
label, size, start, end, rss_file, out = sys.argv[1:]
secs = float(end) - float(start)
r = json.load(open(out))
assert r["new_size"] == int(size), r
rss = int(open(rss_file).read().split()[-1]) // 1024
print(f"audit {label}: {size} entries in {secs:.1f} s = {int(size) / secs:,.0f} entries/s, peak RSS {rss} MiB; "
      f"{r['bundles']} bundles, {r['hash_tiles']} hash tiles" + (f", replayed {r['replay']['replayed']}" if "replay" in r else ""))
PY
}

echo "== provlog audit --once (checkpoint, every tile against the entries)"
run tiles
echo "== provlog audit --replay --once (the same, and every decision replayed from entry 0)"
run replay --replay
