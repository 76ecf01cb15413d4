#!/usr/bin/env bash
# Fairness (issue 15, target 3): LIGHT tenants' paced incremental cycles alone, then beside one
# tenant's initial cycle of HEAVY_USERS users, on a fresh SQLite database per run. Each round
# runs every server mode in MODES (alternated, so both see the same machine):
#   default    the server's own settings (a credential is served at most 200 requests/s,
#              bursts of 1,000: docs/security.md "Rate limits")
#   unlimited  --rate-limit-per-credential 0 (the busy tenant sends as fast as the server answers)
# Usage: fairness.sh SCIMD BENCH OUT_DIR [LIGHT_TENANTS] [HEAVY_USERS] [ROUNDS]
#   env MODES="default unlimited", WINDOW=60 (at most this many seconds of light cycles, alone
#   and beside; each light tenant's cycle of 100 changes ends sooner, about 42 s in all)
# Prints one line per run; the driver's JSON reports stay in OUT_DIR.
# BENCH must have --rate, --start-spread and --user-offset (scimd-bench of this tree).
set -euo pipefail
SCIMD=$1; BENCH=$2; OUT=$3; LIGHT=${4:-100}; HEAVY=${5:-100000}; ROUNDS=${6:-2}
MODES=${MODES:-default unlimited}; WINDOW=${WINDOW:-60}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
port=18600
for round in $(seq "$ROUNDS"); do
for mode in $MODES; do
  case $mode in
    default) extra=() ;;
    unlimited) extra=(--rate-limit-per-credential 0) ;;
    *) echo "unknown mode $mode (default|unlimited)" >&2; exit 2 ;;
  esac
  d=$(mktemp -d /tmp/fair.XXXX)
  port=$((port+1))
  # The unauthenticated limit is raised only because the setup creates many tenants from one
  # address; every SCIM request of the runs carries a valid token.
  "$SCIMD" serve --listen 127.0.0.1:$port --database "sqlite://$d/scimd.db" --data-dir "$d" \
    --log-level warn --rate-limit-unauthenticated-per-minute 1000000 \
    --rate-limit-unauthenticated-burst 1000000 "${extra[@]}" > "$d/serve.log" 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
  ops=$("$SCIMD" --database "sqlite://$d/scimd.db" token create --scope operator --name ops 2>/dev/null)
  "$HERE/make-tenants.py" "http://127.0.0.1:$port" "$ops" "$LIGHT" "$d/light.txt" --parallel 2 >/dev/null
  "$HERE/make-tenants.py" "http://127.0.0.1:$port" "$ops" 1 "$d/heavy.txt" --prefix big --parallel 1 >/dev/null
  B=("$BENCH" --token unused)
  # 200 users per light tenant: 0..100 for the run alone, 100..200 beside the heavy one.
  "${B[@]}" --tenants-file "$d/light.txt" --tenants "$LIGHT" --scenario seed --users 200 --concurrency 1 --duration 300 > /dev/null
  light=(--tenants-file "$d/light.txt" --tenants "$LIGHT" --scenario incremental --users 100 --concurrency 1
    --rate 17 --start-spread 30 --duration "$WINDOW" --server-pid "$pid" --json)
  "${B[@]}" "${light[@]}" > "$OUT/r$round-$mode-alone.json"
  # The heavy tenant's initial cycle runs for the whole window beside (it is stopped after).
  "${B[@]}" --tenants-file "$d/heavy.txt" --tenants 1 --scenario initial --prefix big --users "$HEAVY" \
    --groups 0 --batch 100 --concurrency 8 --duration 600 --requests 100000000 --json > "$OUT/r$round-$mode-heavy.json" &
  hp=$!
  sleep 5
  "${B[@]}" "${light[@]}" --user-offset 100 > "$OUT/r$round-$mode-beside.json"
  # What the heavy tenant was answered meanwhile, from the server's own counters.
  heavy_done=$(curl -s -H "Authorization: Bearer $(cut -d' ' -f2 "$d/heavy.txt")" \
    "$(cut -d' ' -f1 "$d/heavy.txt")/Users?count=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalResults"])') \
    || heavy_done='? (the count was refused)'
  kill "$hp" 2>/dev/null || true; wait "$hp" 2>/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  q='{p50: .incremental.all_p50_ms, p99: .incremental.all_p99_ms, err: .incremental.errors}'
  a=$(jq -c "$q" "$OUT/r$round-$mode-alone.json"); b=$(jq -c "$q" "$OUT/r$round-$mode-beside.json")
  ratio=$(jq -rn --argjson a "$a" --argjson b "$b" '($b.p99 / $a.p99 * 100 | round) / 100')
  echo "round $round $mode: alone $a beside $b p99 ratio $ratio; heavy tenant's users created by then: $heavy_done"
  rm -rf "$d"
done
done
