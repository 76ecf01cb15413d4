#!/usr/bin/env bash
# Issue 15, targets 2 and 3, on the 1,000-tenant database that tenants-1000.sh setup made
# (server "many" running). See docs/performance.md, "Tenants on their paths (issue 15)".
#
#   tenants-incremental.sh scale 50 100 200 300 500   # target 2: N tenants, each one 100-change
#                                                      # incremental cycle at <= 17 req/s, starts
#                                                      # spread over 60 s
#   tenants-incremental.sh fairness                    # target 3: 100 tenants' cycles without,
#                                                      # then with one tenant's 100,000-user initial cycle
#
# Each incremental run takes the next unused block of 100 users of every tenant
# (--user-offset), since a cycle deletes every 20th user and disables every 10th; the block
# counter is kept in $DIR/incr/next-offset.
#
# Environment: BIN, DIR, RATE, SPREAD, CHANGES, NICE and PORT_MANY; their meanings and
# defaults are in bench-env.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/bench-env.sh"
PID=$(cat "$DIR/many/pid")
mkdir -p "$DIR/incr"

next_offset() {
  local f="$DIR/incr/next-offset" o
  o=$(cat "$f" 2>/dev/null || echo 0)
  echo $((o + CHANGES)) >"$f"
  echo "$o"
}

incremental() { # COUNT LABEL
  local n=$1 label=$2 off
  off=$(next_offset)
  head -n "$n" "$DIR/many/tenants.txt" >"$DIR/incr/tenants-$n.txt"
  $N "$BIN/scimd-bench" --tenants-file "$DIR/incr/tenants-$n.txt" --tenants "$n" --scenario incremental \
    --users "$CHANGES" --user-offset "$off" --concurrency 1 --rate "$RATE" --start-spread "$SPREAD" \
    --duration $((SPREAD + 240)) --server-pid "$PID" --json >"$DIR/incr/$label.json"
  echo "$label (tenants $n, offset $off): $(jq -c '{s: .incremental.seconds, req: .incremental.requests, rps: .incremental.requests_per_s, err: .incremental.errors, p50: .incremental.all_p50_ms, p99: .incremental.all_p99_ms, lookup_p99: .incremental.kinds.user_lookup_username.p99_ms, patch_p99: .incremental.kinds.user_patch_attributes.p99_ms, rss: .server_rss.vm_rss_mib}' "$DIR/incr/$label.json")" \
    | tee -a "$DIR/incr.log"
}

case ${1:-} in
  scale)
    shift
    for n in "$@"; do incremental "$n" "scale-$n"; done ;;
  fairness)
    incremental 100 "fair-without"
    # The big tenant: a fresh one, 100,000 users and 1,000 groups of 100, c=8.
    if [ ! -s "$DIR/incr/big.txt" ]; then
      op=$("$BIN/scimd" token create --scope operator --name "ops-big-$(date +%s)" --database "sqlite://$DIR/many/scimd.db" 2>/dev/null)
      "$HERE/make-tenants.py" "http://127.0.0.1:$PORT_MANY" "$op" 1 "$DIR/incr/big.txt" --prefix big --parallel 1
    fi
    $N "$BIN/scimd-bench" --tenants-file "$DIR/incr/big.txt" --tenants 1 --scenario initial --prefix big \
      --users 100000 --groups 1000 --group-size 100 --batch 100 --concurrency 8 --duration 1800 --requests 100000000 \
      --server-pid "$PID" --json >"$DIR/incr/big-initial.json" &
    big=$!
    sleep 10
    incremental 100 "fair-with"
    if kill -0 "$big" 2>/dev/null; then echo "big initial still running after the incremental run" | tee -a "$DIR/incr.log"; fi
    wait "$big"
    echo "big initial: $(jq -c '{s: .initial.seconds, users_phase: .initial.users_phase_s, req: .initial.requests, err: .initial.errors, rss: .server_rss}' "$DIR/incr/big-initial.json")" | tee -a "$DIR/incr.log"
    incremental 100 "fair-without-after" ;;
  *) echo "usage: $0 scale N...|fairness" >&2; exit 2 ;;
esac
