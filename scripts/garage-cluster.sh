#!/usr/bin/env bash
# The bucket publication and mirror of spec/mirror.md against a real
# distributed object store: a 3-node Garage cluster on loopback with
# replication factor 3. It
#   1. installs Garage if it is missing (cargo install garage --locked),
#   2. starts the 3 nodes, applies a layout (one zone each), creates a bucket,
#      a key, website access (anonymous reads) and the alias `localhost`,
#   3. starts a log (provlog-server --dev, two witnesses) publishing to it,
#   4. submits statements, stops one Garage node, submits more (the log keeps
#      publishing: 2 of 3 replicas are a write quorum), checks the bucket
#      caught up,
#   5. starts provlog-mirror from the bucket and checks, with the real
#      `provlog` client, that the mirror's tiles, entries and proofs verify
#      and that the bucket itself verifies as a tlog-tiles log.
# Everything listens on 127.0.0.1 and is stopped at exit.
#
# Usage: scripts/garage-cluster.sh [WORKDIR]   (default: a fresh temp dir)
# PROVLOG_BIN=DIR uses the provlog binaries in DIR instead of building them.
# ENTRIES=N submits N statements before the node is stopped (default 300).
# BENCH_SECONDS=S ends with the read benchmark of BENCHMARKS.md: bench_reads
# against the primary and the mirror, S seconds per run (needs bench_reads
# in the same directory: cargo build --release -p provlog-tests --bin bench_reads).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${1:-$(mktemp -d -t provlog-garage.XXXXXX)}
mkdir -p "$WORK"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=${PROVLOG_BIN:-$CARGO_TARGET_DIR/release}

if ! command -v garage >/dev/null && [ ! -x "$HOME/.cargo/bin/garage" ]; then
    echo "== installing garage (cargo install garage --locked)"
    cargo install garage --locked
fi
GARAGE=$(command -v garage || echo "$HOME/.cargo/bin/garage")
if [ -z "${PROVLOG_BIN:-}" ]; then
    echo "== building provlog (release)"
    cargo build --release -q -p provlog-api -p provlog-witness -p provlog-client
fi

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # URL [seconds]
    for _ in $(seq 1 $((${2:-30} * 10))); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "timed out waiting for $1" >&2
    return 1
}
metric() { curl -fsS "$1/metrics" | awk -v m="$2" '$1 == m { print $2 }'; }

echo "== starting 3 garage nodes in $WORK"
SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
declare -a S3 WEB CONF NODE_PID
for i in 0 1 2; do
    d=$WORK/garage$i
    mkdir -p "$d"
    S3[$i]=$(port); WEB[$i]=$(port); rpc=$(port); admin=$(port)
    CONF[$i]=$d/garage.toml
    cat >"${CONF[$i]}" <<EOF
metadata_dir = "$d/meta"
data_dir = "$d/data"
db_engine = "sqlite"
replication_factor = 3
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$SECRET"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:${S3[$i]}"
root_domain = ".s3.garage.invalid"

[s3_web]
bind_addr = "127.0.0.1:${WEB[$i]}"
root_domain = ".web.garage.invalid"

[admin]
api_bind_addr = "127.0.0.1:$admin"
EOF
    RUST_LOG=garage=warn "$GARAGE" -c "${CONF[$i]}" server >"$d/garage.log" 2>&1 &
    NODE_PID[$i]=$!
    PIDS+=($!)
done
g() { "$GARAGE" -c "${CONF[0]}" "$@"; }
retry() { for _ in $(seq 1 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.3; done; "$@"; }
declare -a IDS
for i in 0 1 2; do
    retry "$GARAGE" -c "${CONF[$i]}" node id -q
    IDS[$i]=$("$GARAGE" -c "${CONF[$i]}" node id -q 2>/dev/null)
done
retry g node connect "${IDS[1]}"
retry g node connect "${IDS[2]}"
for i in 0 1 2; do retry g layout assign -z "dc$i" -c 1G "${IDS[$i]:0:16}"; done
g layout apply --version 1 >/dev/null
retry g bucket create provlog
KEY=$(g key create provlog-publisher)
export AWS_ACCESS_KEY_ID=$(awk '/^Key ID:/ { print $3 }' <<<"$KEY")
AWS_SECRET_ACCESS_KEY=$(awk '/^Secret key:/ { print $3 }' <<<"$KEY")
export AWS_SECRET_ACCESS_KEY
g bucket allow --read --write --owner provlog --key "$AWS_ACCESS_KEY_ID" >/dev/null
g bucket website --allow provlog >/dev/null
g bucket alias provlog localhost >/dev/null
g status | sed -n '1,8p'

echo "== starting the log (provlog-server --dev, two witnesses), publishing through node 0"
cat >"$WORK/publish.toml" <<EOF
[publish]
endpoint = "http://127.0.0.1:${S3[0]}"
bucket = "provlog"
region = "garage"
EOF
# --dev puts its witnesses on the two ports after the log's.
while :; do
    LOG_PORT=$(port)
    python3 -c "import socket; [socket.socket().bind(('127.0.0.1', p)) for p in ($LOG_PORT + 1, $LOG_PORT + 2)]" \
        2>/dev/null && break
done
"$BIN/provlog-server" --dev --data "$WORK/log" --listen "127.0.0.1:$LOG_PORT" --config "$WORK/publish.toml" \
    >"$WORK/log.out" 2>"$WORK/log.err" &
PIDS+=($!)
LOG=http://127.0.0.1:$LOG_PORT
wait_http "$LOG/healthz" 60

# The witnesses' policy names the log (vkey, URL) and the 2-of-2 quorum: the
# client's trust policy, and the mirror's.
POLICY=$WORK/log/witnesses.policy
KEYFILE=$(ls "$WORK"/log/partners/*.key | head -1)

submit() { # TAG N
    python3 - "$1" "$2" >"$WORK/events-$1.json" <<'EOF'
import json, sys, time
tag, n = sys.argv[1], int(sys.argv[2])
t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 600))
ev = [{"type": "ObjectEvent", "eventTime": t, "eventTimeZoneOffset": "+00:00", "action": "ADD",
       "bizStep": "commissioning", "epcList": [f"urn:epc:id:sgtin:0614141.107346.{tag}{i}"]} for i in range(n)]
print(json.dumps({"@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
                  "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": t,
                  "epcisBody": {"eventList": ev}}))
EOF
    "$BIN/provlog" submit --policy "$POLICY" --log "$LOG" --key "$KEYFILE" --batch 100 \
        --receipts "$WORK/receipts" "$WORK/events-$1.json" >/dev/null
}
caught_up() {
    for _ in $(seq 1 600); do
        local lag; lag=$(metric "$LOG" provlog_bucket_lag_entries)
        [ "$lag" = 0 ] && [ "$(metric "$LOG" provlog_bucket_size)" = "$(metric "$LOG" provlog_published_size)" ] && return 0
        sleep 0.1
    done
    echo "the bucket did not catch up" >&2; return 1
}

echo "== submitting ${ENTRIES:-300} statements with all 3 nodes up"
submit a "${ENTRIES:-300}"
caught_up
echo "   bucket size $(metric "$LOG" provlog_bucket_size)"

echo "== stopping garage node 2; the log keeps publishing"
kill "${NODE_PID[2]}"; wait "${NODE_PID[2]}" 2>/dev/null || true
submit b 200
caught_up
echo "   bucket size $(metric "$LOG" provlog_bucket_size) with one node down"

echo "== the bucket, read anonymously from node 1's website endpoint, is a log"
"$BIN/provlog" verify-log --policy "$POLICY" --log "http://localhost:${WEB[1]}"

echo "== starting provlog-mirror from the bucket (through node 1)"
MIRROR_PORT=$(port)
"$BIN/provlog-mirror" --endpoint "http://127.0.0.1:${S3[1]}" --bucket provlog --region garage \
    --policy "$POLICY" --data "$WORK/mirror" --listen "127.0.0.1:$MIRROR_PORT" --poll-ms 200 \
    2>"$WORK/mirror.err" &
PIDS+=($!)
MIRROR=http://127.0.0.1:$MIRROR_PORT
wait_http "$MIRROR/healthz" 120
test "$(curl -fsS "$MIRROR/checkpoint")" = "$(curl -fsS "$LOG/checkpoint")"
"$BIN/provlog" verify-log --policy "$POLICY" --log "$MIRROR"
"$BIN/provlog" verify --policy "$POLICY" --fresh --log "$MIRROR" "$(ls "$WORK"/receipts/*.tlog-proof | head -1)"
"$BIN/provlog" audit --policy "$POLICY" --log "$MIRROR" --state "$WORK/audit.json"
if [ -n "${BENCH_SECONDS:-}" ]; then
    echo "== read throughput, primary vs mirror (bench_reads, 4 connections, ${BENCH_SECONDS} s each)"
    for kind in inclusion tile bundle; do
        for target in "primary $LOG" "mirror $MIRROR"; do
            set -- $target
            printf '%-9s %-8s ' "$kind" "$1"
            "$BIN/bench_reads" --url "$2" --kind "$kind" --threads 4 --seconds "$BENCH_SECONDS"
        done
    done
fi
echo "== OK: 3-node Garage (one node down), bucket and mirror verify; work dir $WORK"
