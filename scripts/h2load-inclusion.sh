#!/usr/bin/env bash
# Random inclusion proofs over HTTP/2 (cleartext, prior knowledge), the
# HTTP/2 counterpart of scripts/wrk-inclusion.lua:
#   scripts/h2load-inclusion.sh URL SIZE [h2load options...]
#   scripts/h2load-inclusion.sh http://127.0.0.1:7350 10000000 -c4 -m64 -D15
# Each request asks GET /proof/inclusion?index=I&size=SIZE for a uniformly
# random I < SIZE (a list of 1,000,000 such URLs, which h2load cycles
# through). Prints h2load's summary; exits 1 if any answer was not 200.
# h2load comes with Debian's nghttp2-client package.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
url=$1 size=$2
shift 2
command -v h2load >/dev/null || { echo "h2load not found: apt-get install nghttp2-client" >&2; exit 2; }
uris=$(mktemp)
trap 'rm -f "$uris"' EXIT
awk -v url="$url" -v size="$size" -v seed="$RANDOM" 'BEGIN {
  srand(seed)
  for (n = 0; n < 1000000; n++) printf "%s/proof/inclusion?index=%d&size=%d\n", url, int(rand() * size), size
}' > "$uris"
out=$(h2load -i "$uris" "$@")
echo "$out" | grep -E '^(finished|requests|status codes|traffic)'
echo "$out" | grep -Eq 'status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx' || { echo "answers other than 2xx" >&2; exit 1; }
