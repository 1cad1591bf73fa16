#!/usr/bin/env bash
# provlog against the simpler alternative, a PostgreSQL table with a hash
# chain computed by the application and each signature checked before the
# insert, on the same pre-signed statements (BENCHMARKS.md, "PostgreSQL hash
# chain vs provlog").
#
#   scripts/bench-pg.sh [STATEMENTS] [PER_REQUEST] [CONCURRENCY] [ROUNDS] [WORKDIR]
#
# Defaults: 200000 statements, 500 per request (transaction), 16 concurrent
# clients, 2 rounds, a new directory under /var/tmp (on disk, not tmpfs:
# both sides fsync there). PARTNERS (default 100) and DURATION (seconds,
# default 60) are read from the environment.
#
# 1. installs PostgreSQL (Debian's `postgresql`) if no initdb is found;
# 2. builds bench_pg, provlog-load, provlog-server and provlog-witness
#    (release);
# 3. creates a throwaway cluster in WORKDIR/pgdata as the `postgres` user,
#    listening on a free loopback port only, with the durable defaults
#    (fsync = on, synchronous_commit = on, full_page_writes = on), and starts it;
# 4. ROUNDS times, interleaved: bench_pg, then provlog-load with the same
#    statement count, partners, statements per request and concurrency
#    (provlog-load's data directory is in WORKDIR too);
# 5. prints each round with the load average, the ranges and the ratio of
#    provlog's rate to PostgreSQL's; stops PostgreSQL and removes WORKDIR
#    (KEEP=1 keeps it).
#
# A benchmark, not a test: CI does not run it. Needs root for the install
# and to run PostgreSQL as `postgres` (as another user it runs it as itself).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${1:-200000}
K=${2:-500}
C=${3:-16}
ROUNDS=${4:-2}
WORK=${5:-$(mktemp -d /var/tmp/provlog-bench-pg.XXXXXX)}
PARTNERS=${PARTNERS:-100}
DURATION=${DURATION:-60}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
BIN=$CARGO_TARGET_DIR/release

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ] || [ ! -x "$(pg_bin)/initdb" ]; then
    echo "== installing PostgreSQL"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
fi
PGBIN=$(pg_bin)

echo "== building (release)"
cargo build --release -p provlog-api -p provlog-witness
cargo build --release -p provlog-tests --bin bench_pg --bin provlog-load

echo "== starting PostgreSQL ($("$PGBIN/postgres" --version)) in $WORK/pgdata"
mkdir -p "$WORK"
chmod 755 "$WORK"
AS=()
if [ "$(id -u)" = 0 ]; then
    AS=(runuser -u postgres --)
    install -d -o postgres -g postgres "$WORK/pgdata"
fi
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${AS[@]}" "$PGBIN/initdb" -D "$WORK/pgdata" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$WORK/initdb.log"
# Loopback only; sockets in the data directory. Memory and WAL sized for a
# bulk ingest, as anyone running it for this would, and a connection for
# each client (bench_pg holds one per client); durability untouched.
cat >>"$WORK/pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$WORK/pgdata'
shared_buffers = 512MB
max_wal_size = 2GB
max_connections = $(( C + 10 > 100 ? C + 10 : 100 ))
EOF
"${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/pgdata/server.log" -w start >/dev/null
stop() {
    "${AS[@]}" "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m fast -w stop >/dev/null || true
    if [ "${KEEP:-0}" != 1 ]; then rm -rf "$WORK"; fi
}
trap stop EXIT
PG="host=127.0.0.1 port=$PORT user=postgres dbname=postgres"

# The value of KEY in a `key=value …` line.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)," \
    "$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo) RAM"
echo "workload: $N statements, $PARTNERS partners, $K per request, concurrency $C, at most ${DURATION}s"
SUMMARY=()
for round in $(seq 1 "$ROUNDS"); do
    "${AS[@]}" "$PGBIN/psql" -q -h 127.0.0.1 -p "$PORT" -U postgres -c CHECKPOINT
    load_pg=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "== round $round: bench_pg (load average $load_pg)"
    "$BIN/bench_pg" --pg "$PG" --statements "$N" --partners "$PARTNERS" --per-request "$K" \
        --concurrency "$C" --duration "$DURATION" | tee "$WORK/pg-$round.out"
    pg_line=$(tail -n 1 "$WORK/pg-$round.out")

    load_provlog=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "== round $round: provlog-load (load average $load_provlog)"
    TMPDIR=$WORK "$BIN/provlog-load" --statements "$N" --partners "$PARTNERS" --per-request "$K" \
        --concurrency "$C" --duration "$DURATION" | tee "$WORK/provlog-$round.out"
    provlog_line=$(tail -n 1 "$WORK/provlog-$round.out")

    pg_rate=$(field pg_statements_per_s "$pg_line")
    provlog_rate=$(field statements_per_s "$provlog_line")
    ratio=$(awk -v a="$provlog_rate" -v b="$pg_rate" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
    SUMMARY+=("$(printf 'round %s  postgresql %7s/s p50 %6s ms p99 %6s ms (load %s)  provlog %7s/s p50 %6s ms p99 %6s ms (load %s)  provlog/postgresql %s' \
        "$round" "$pg_rate" "$(field pg_p50_ms "$pg_line")" "$(field pg_p99_ms "$pg_line")" "$load_pg" \
        "$provlog_rate" "$(field p50_ms "$provlog_line")" "$(field p99_ms "$provlog_line")" "$load_provlog" "$ratio")")
    echo "pg_statements_per_s=$pg_rate provlog_statements_per_s=$provlog_rate ratio=$ratio" >>"$WORK/ratios"
done

echo "== summary ($N statements, $K per request, concurrency $C)"
printf '%s\n' "${SUMMARY[@]}"
awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
       if (NR == 1 || v["ratio"] < lo) lo = v["ratio"]; if (NR == 1 || v["ratio"] > hi) hi = v["ratio"]
       if (NR == 1 || v["pg_statements_per_s"] < plo) plo = v["pg_statements_per_s"]
       if (NR == 1 || v["pg_statements_per_s"] > phi) phi = v["pg_statements_per_s"]
       if (NR == 1 || v["provlog_statements_per_s"] < vlo) vlo = v["provlog_statements_per_s"]
       if (NR == 1 || v["provlog_statements_per_s"] > vhi) vhi = v["provlog_statements_per_s"] }
     END { printf "pg_statements_per_s=%s..%s provlog_statements_per_s=%s..%s ratio=%s..%s\n", plo, phi, vlo, vhi, lo, hi }' \
    "$WORK/ratios"
