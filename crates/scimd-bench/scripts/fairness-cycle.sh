#!/usr/bin/env bash
# Fairness over a whole initial cycle (issue 15, target 3), on a fresh SQLite database:
# LIGHT tenants of LIGHT_USERS users each run paced incremental cycles (100 changes each,
# `--rate 17 --concurrency 1 --start-spread 30`, about 42 s a window) back to back: ALONE
# windows first, then windows for as long as a further tenant's whole initial cycle of
# HEAVY_USERS users and GROUPS groups of 100 runs (concurrency 8), then one window alone
# after it. Each window changes a fresh block of 100 users of every light tenant (blocks
# wrap when LIGHT_USERS runs out).
#
# Usage: fairness-cycle.sh SCIMD BENCH OUT_DIR [LIGHT] [LIGHT_USERS] [HEAVY_USERS] [GROUPS]
#   defaults 100 2500 100000 1000; env SERVE_ARGS: extra `scimd serve` flags (e.g.
#   "--max-writes-per-tenant 1"), ALONE=2 windows before, SETTLE=30 seconds of quiet after
#   the seeding (its writes reach the disk, `sync`, before any window is measured).
# Prints a line per window and a summary: the light tenants' p99 alone (mean of the windows
# before and after) and beside (median and mean of the windows), and their ratio.
set -euo pipefail
SCIMD=$1; BENCH=$2; OUT=$3; LIGHT=${4:-100}; LIGHT_USERS=${5:-2500}; HEAVY=${6:-100000}
GROUPS_N=${7:-1000}; ALONE=${ALONE:-2}; SETTLE=${SETTLE:-30}
read -r -a serve_args <<< "${SERVE_ARGS:-}"
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
d=$(mktemp -d /tmp/fairc.XXXX)
port=18690
# The unauthenticated limit is raised only because the setup creates many tenants from one
# address; every SCIM request carries a valid token.
"$SCIMD" serve --listen 127.0.0.1:$port --database "sqlite://$d/scimd.db" --data-dir "$d" \
  --log-level warn --rate-limit-unauthenticated-per-minute 1000000 \
  --rate-limit-unauthenticated-burst 1000000 "${serve_args[@]}" > "$d/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$d"' EXIT
for _ in $(seq 50); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.2; done
ops=$("$SCIMD" --database "sqlite://$d/scimd.db" token create --scope operator --name ops 2>/dev/null)
"$HERE/make-tenants.py" "http://127.0.0.1:$port" "$ops" "$LIGHT" "$d/light.txt" --parallel 2 >/dev/null
"$HERE/make-tenants.py" "http://127.0.0.1:$port" "$ops" 1 "$d/heavy.txt" --prefix big --parallel 1 >/dev/null
B=("$BENCH" --token unused)
"${B[@]}" --tenants-file "$d/light.txt" --tenants "$LIGHT" --scenario seed --users "$LIGHT_USERS" \
  --concurrency 1 --duration 3600 --requests 100000000 > /dev/null
sync; sleep "$SETTLE"
blocks=$((LIGHT_USERS / 100)); w=0
window() { # window NAME: one window of light cycles on the next block of users
  local off=$(( (w % blocks) * 100 ))
  "${B[@]}" --tenants-file "$d/light.txt" --tenants "$LIGHT" --scenario incremental --users 100 \
    --user-offset "$off" --concurrency 1 --rate 17 --start-spread 30 --duration 60 \
    --server-pid "$pid" --json > "$OUT/w$(printf %03d $w)-$1.json"
  echo "window $w $1: $(jq -c '{p50: .incremental.all_p50_ms, p99: .incremental.all_p99_ms, err: .incremental.errors}' "$OUT/w$(printf %03d $w)-$1.json")"
  w=$((w + 1))
}
for _ in $(seq "$ALONE"); do window alone; done
start=$(date +%s)
"${B[@]}" --tenants-file "$d/heavy.txt" --tenants 1 --scenario initial --prefix big --users "$HEAVY" \
  --groups "$GROUPS_N" --batch 100 --concurrency 8 --duration 7200 --requests 100000000 \
  --json > "$OUT/heavy.json" &
hp=$!
sleep 5
while kill -0 "$hp" 2>/dev/null; do window beside; done
wait "$hp" || true
echo "heavy cycle: $(( $(date +%s) - start )) s; $(jq -c '{requests: .initial.requests, errors: .initial.errors, users_s: .initial.users_phase_s, groups_s: .initial.groups_phase_s}' "$OUT/heavy.json" 2>/dev/null || echo '?')"
window alone
jq -s '
  def med: sort | if length % 2 == 1 then .[length/2|floor] else (.[length/2-1] + .[length/2]) / 2 end;
  def mean: add / length;
  (map(select(.name | test("alone"))) | map(.p99)) as $a
  | (map(select(.name | test("beside"))) | map(.p99)) as $b
  | {alone_p99: $a, beside_p99: $b, alone_mean: ($a | mean), beside_median: ($b | med),
     beside_mean: ($b | mean), ratio_median: (($b | med) / ($a | mean)),
     windows_within_2x: ($b | map(select(. <= 2 * ($a | mean))) | length)}' \
  <(for f in "$OUT"/w*.json; do jq -c --arg n "$(basename "$f")" '{name: $n, p99: .incremental.all_p99_ms}' "$f"; done) \
  | tee "$OUT/summary.json"
