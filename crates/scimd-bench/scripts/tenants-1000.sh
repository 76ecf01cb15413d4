#!/usr/bin/env bash
# Issue 15, target 1: 1,000 tenants of 1,000 users in one SQLite file against a one-tenant
# database of 1,000 users, userName lookups side by side. See docs/performance.md,
# "Tenants on their paths (issue 15)".
#
#   crates/scimd-bench/scripts/tenants-1000.sh setup     # servers, tenants, fill (once)
#   crates/scimd-bench/scripts/tenants-1000.sh measure   # alternating read rounds
#   crates/scimd-bench/scripts/tenants-1000.sh setup-one1m     # control: one tenant of
#   crates/scimd-bench/scripts/tenants-1000.sh measure-one1m   # 1,000,000 users, same file size
#
# Environment: BIN, DIR, TENANTS, USERS, ROUNDS, SECS, PACE, NICE and the ports; their
# meanings and defaults are in bench-env.sh.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/bench-env.sh"

serve() { # NAME PORT
  mkdir -p "$DIR/$1"
  $N "$BIN/scimd" serve --listen "127.0.0.1:$2" --database "sqlite://$DIR/$1/scimd.db" \
    --log-level warn --rate-limit-per-credential 0 --rate-limit-unauthenticated-per-minute 0 \
    >>"$DIR/$1/serve.log" 2>&1 &
  echo $! >"$DIR/$1/pid"
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$2/healthz" >/dev/null && return; sleep 0.2; done
  echo "server $1 did not start" >&2; exit 1
}

setup() { # NAME PORT COUNT
  local name=$1 port=$2 count=$3
  serve "$name" "$port"
  local op
  op=$("$BIN/scimd" token create --scope operator --name ops --database "sqlite://$DIR/$name/scimd.db" 2>/dev/null)
  local t0=$(date +%s.%N)
  rm -f "$DIR/$name/tenants.txt"
  "$HERE/make-tenants.py" "http://127.0.0.1:$port" "$op" "$count" "$DIR/$name/tenants.txt" --parallel 2
  local t1=$(date +%s.%N)
  echo "$name: $count tenants created in $(echo "$t1 - $t0" | bc) s" | tee -a "$DIR/setup.log"
  $N "$BIN/scimd-bench" --tenants-file "$DIR/$name/tenants.txt" --tenants "$count" --scenario seed \
    --users "$USERS" --concurrency 1 --duration 7200 --requests 100000000 --timeout 120 --server-pid "$(cat "$DIR/$name/pid")" --json \
    >"$DIR/$name/seed.json"
  echo "$name: seed: $(jq -c '{seconds: .seed.seconds, requests: .seed.requests, rps: .seed.requests_per_s, errors: .seed.errors, users_with_id: .seed.users_with_id, rss: .server_rss}' "$DIR/$name/seed.json")" | tee -a "$DIR/setup.log"
}

measure() {
  local pone pmany
  pone=$(cat "$DIR/one/pid"); pmany=$(cat "$DIR/many/pid")
  mkdir -p "$DIR/rounds"
  local tag="c$TENANTS-pace$PACE"
  for r in $(seq "$ROUNDS"); do
    # Same driver settings on both: $TENANTS simulated tenants, one request at a time each.
    # one: every simulated tenant uses the one real tenant (its users, --shared-users);
    # many: simulated tenant k is real tenant k (its own token, URL and users).
    $N "$BIN/scimd-bench" --tenants-file "$DIR/one/tenants.txt" --tenants "$TENANTS" --shared-users \
      --scenario reads --kinds username --users "$USERS" --concurrency 1 --rate "$PACE" --duration "$SECS" --warmup 2 \
      --server-pid "$pone" --json >"$DIR/rounds/$tag-one-$r.json"
    $N "$BIN/scimd-bench" --tenants-file "$DIR/many/tenants.txt" --tenants "$TENANTS" \
      --scenario reads --kinds username --users "$USERS" --concurrency 1 --rate "$PACE" --duration "$SECS" --warmup 2 \
      --server-pid "$pmany" --json >"$DIR/rounds/$tag-many-$r.json"
    for s in one many; do
      echo "$tag round $r $s: $(jq -c '{rps: .reads.requests_per_s, errors: .reads.errors, p50: .reads.kinds.user_lookup_username.p50_ms, p99: .reads.kinds.user_lookup_username.p99_ms, mean: .reads.kinds.user_lookup_username.mean_ms, rss: .server_rss.vm_rss_mib, hwm: .server_rss.vm_hwm_mib}' "$DIR/rounds/$tag-$s-$r.json")"
    done | tee -a "$DIR/measure.log"
  done
}

# The control: one tenant of 1,000,000 users (a file the size of "many"), lookups of random
# users of all 1,000,000, against "many" with the same driver settings. Separates the cost of
# the file's size from the cost of the number of tenants.
setup_one1m() {
  serve one1m "$PORT_ONE1M"
  local op
  op=$("$BIN/scimd" token create --scope operator --name ops --database "sqlite://$DIR/one1m/scimd.db" 2>/dev/null)
  rm -f "$DIR/one1m/tenants.txt"
  "$HERE/make-tenants.py" "http://127.0.0.1:$PORT_ONE1M" "$op" 1 "$DIR/one1m/tenants.txt" --parallel 1
  $N "$BIN/scimd-bench" --tenants-file "$DIR/one1m/tenants.txt" --tenants 1 --scenario seed \
    --users 1000000 --concurrency 16 --duration 3000 --requests 100000000 \
    --server-pid "$(cat "$DIR/one1m/pid")" --json >"$DIR/one1m/seed.json"
}

measure_one1m() {
  local p1 pmany tag="c$TENANTS-pace$PACE"
  p1=$(cat "$DIR/one1m/pid"); pmany=$(cat "$DIR/many/pid")
  mkdir -p "$DIR/rounds"
  for r in $(seq "$ROUNDS"); do
    $N "$BIN/scimd-bench" --tenants-file "$DIR/one1m/tenants.txt" --tenants "$TENANTS" --shared-users \
      --scenario reads --kinds username --users 1000000 --concurrency 1 --rate "$PACE" --duration "$SECS" --warmup 2 \
      --server-pid "$p1" --json >"$DIR/rounds/$tag-one1m-$r.json"
    $N "$BIN/scimd-bench" --tenants-file "$DIR/many/tenants.txt" --tenants "$TENANTS" \
      --scenario reads --kinds username --users "$USERS" --concurrency 1 --rate "$PACE" --duration "$SECS" --warmup 2 \
      --server-pid "$pmany" --json >"$DIR/rounds/$tag-many-vs1m-$r.json"
    for s in one1m many-vs1m; do
      echo "$tag round $r $s: $(jq -c '{rps: .reads.requests_per_s, errors: .reads.errors, p50: .reads.kinds.user_lookup_username.p50_ms, p99: .reads.kinds.user_lookup_username.p99_ms, mean: .reads.kinds.user_lookup_username.mean_ms, rss: .server_rss.vm_rss_mib, hwm: .server_rss.vm_hwm_mib}' "$DIR/rounds/$tag-$s-$r.json")"
    done | tee -a "$DIR/measure.log"
  done
}

case ${1:-} in
  setup)
    mkdir -p "$DIR"
    setup one "$PORT_ONE" 1
    setup many "$PORT_MANY" "$TENANTS" ;;
  measure) measure ;;
  setup-one1m) mkdir -p "$DIR"; setup_one1m ;;
  measure-one1m) measure_one1m ;;
  *) echo "usage: $0 setup|measure|setup-one1m|measure-one1m" >&2; exit 2 ;;
esac
