#!/usr/bin/env bash
# Fairness A/B (issue 15): light tenants' paced incremental cycles alone and beside one
# tenant's initial cycle, with --max-writes-per-tenant 0 (no share) and 4 (the default),
# alternated. Usage: fairness.sh SCIMD BENCH OUT_DIR [LIGHT_TENANTS] [HEAVY_USERS] [ROUNDS]
# BENCH must have --rate and --start-spread (scimd-bench of this tree).
set -euo pipefail
SCIMD=$1; BENCH=$2; OUT=$3; LIGHT=${4:-50}; HEAVY=${5:-30000}; ROUNDS=${6:-2}
mkdir -p "$OUT"
port=18600
for round in $(seq $ROUNDS); do
for share in 0 4; do
  d=$(mktemp -d /tmp/fair-$share.XXXX)
  port=$((port+1))
  "$SCIMD" serve --listen 127.0.0.1:$port --database "sqlite://$d/scimd.db" --data-dir "$d" \
    --log-level warn --rate-limit-per-credential 0 --rate-limit-unauthenticated-per-minute 1000000 \
    --rate-limit-unauthenticated-burst 1000000 --max-writes-per-tenant $share > "$d/serve.log" 2>&1 &
  pid=$!
  for i in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
  ops=$("$SCIMD" --database "sqlite://$d/scimd.db" token create --scope operator --name ops 2>/dev/null)
  : > "$d/light.txt"
  for i in $(seq 0 $LIGHT); do
    body=$(curl -sf -H "Authorization: Bearer $ops" -H 'Content-Type: application/json' \
      -d "{\"name\":\"Tenant $i\",\"slug\":\"t$i\"}" http://127.0.0.1:$port/api/v1/tenants)
    line=$(python3 -c 'import json,sys; j=json.loads(sys.argv[1]); print(j["scimUrl"], j["scimToken"])' "$body")
    if [ $i -eq 0 ]; then echo "$line" > "$d/heavy.txt"; else echo "$line" >> "$d/light.txt"; fi
  done
  B=("$BENCH" --token unused)
  # 200 users per light tenant: 0..100 for the run alone, 100..200 beside the heavy one.
  "${B[@]}" --tenants-file "$d/light.txt" --tenants $LIGHT --scenario seed --users 200 --concurrency 2 --duration 300 > /dev/null
  light=(--tenants-file "$d/light.txt" --tenants $LIGHT --scenario incremental --users 100 --concurrency 1 --rate 17 --start-spread 5 --duration 60 --json)
  "${B[@]}" "${light[@]}" > "$OUT/r$round-share$share-alone.json"
  "${B[@]}" --tenants-file "$d/heavy.txt" --tenants 1 --scenario initial --users $HEAVY --groups 100 --group-size 100 --concurrency 8 --duration 180 --json > "$OUT/r$round-share$share-heavy.json" &
  hp=$!
  sleep 3
  "${B[@]}" "${light[@]}" --user-offset 100 > "$OUT/r$round-share$share-beside.json"
  wait $hp
  kill $pid; wait $pid 2>/dev/null || true
  rm -rf "$d"
done
done
