#!/usr/bin/env bash
# Load on `timbre serve`: wrk against GET /v1/tracks/{id}/similar on a store of N synthetic
# tracks (req/s, p50/p99, errors), beside GET /health in the same run as the reference (the
# server's floor: routing and HTTP only). Then SUBMIT analyze jobs posted one after another,
# checked to complete exactly once each. Targets (issue): >= 10,000 req/s with p99 <= 10 ms at
# 200 connections on 2 cores, zero errors; 1,000 jobs all completed once.
#
# Two kinds of rows. Saturated: every connection sends its next request the moment it is
# answered, so the row gives the server's capacity, and its p99 is mostly the wait behind the
# other 199 connections (about 200 / capacity). Paced: random seeds at offered rates (RATES,
# default twice and three times the 10,000 req/s target), each connection pausing a random
# while between requests: the latency a client sees while the server carries that load.
# Under a scan: the same paced random-similar load (SCAN_RATE) idle, then while a scan job
# analyses SCAN_FILES new files in the same server (its workers take the cores the HTTP
# threads also need), SCAN_SECONDS each, and the ratio of the two p99s (target: <= 2).
#
#   bench/serve-bench.sh [N]    (default 10000; the store is made once and kept)
#
# Env: DURATION (wrk seconds, default 60), CONNECTIONS (200), THREADS (server HTTP threads,
# 2), RATES (offered req/s of the paced rows, "20000 30000"), SCAN_RATE (5000), SCAN_FILES (300),
# SCAN_SECONDS (10),
# SUBMIT (1000), TIMBRE, MAKE_STORE.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
DURATION=${DURATION:-60}
CONNECTIONS=${CONNECTIONS:-200}
THREADS=${THREADS:-2}
RATES=${RATES:-20000 30000}
unset RATE  # set per paced row below
SUBMIT=${SUBMIT:-1000}
SCAN_RATE=${SCAN_RATE:-5000}
SCAN_FILES=${SCAN_FILES:-300}
SCAN_SECONDS=${SCAN_SECONDS:-10}
TIMBRE=${TIMBRE:-build/timbre}
MAKE_STORE=${MAKE_STORE:-build/bench/make_store}
[[ -x $TIMBRE && -x $MAKE_STORE ]] || { echo "serve-bench: build timbre and make_store first" >&2; exit 2; }
command -v wrk >/dev/null || { echo "serve-bench: needs wrk (apt-get install wrk)" >&2; exit 2; }

source bench/synthetic-store.sh
db=$(synthetic_store "$N")
"$TIMBRE" --db "$db" index >/dev/null

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT

# The server, rate limit off: wrk is one client.
start_server() {
  "$TIMBRE" --db "$1" serve --port 0 --threads "$THREADS" --rate-limit 0 --library "$work" \
    >"$work/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 100); do
    grep -q 'serving on' "$work/serve.log" 2>/dev/null && break
    sleep 0.1
  done
  port=$(grep -o 'http://[0-9.]*:[0-9]*' "$work/serve.log" | sed 's/.*://')
  # The first similar request waits for the index to open: not a figure of the load rows.
  curl -s -o /dev/null "http://127.0.0.1:$port/v1/tracks/1/similar" || true
}

# "req/s p50_ms p99_ms errors" from one wrk run; extra arguments go to wrk (a script).
load() {
  local url=$1
  shift
  TRACKS=$N CONNECTIONS=$CONNECTIONS wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$@" "$url" >"$work/wrk.txt"
  awk '
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /Non-2xx/ { errors += $NF } /Socket errors/ { for (i = 4; i <= NF; i += 2) { gsub(",", "", $i); errors += $i } }
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
    END { printf "%.0f %.2f %.2f %d\n", rps, ms(p50), ms(p99), errors }' "$work/wrk.txt"
}

start_server "$db"
echo "store: $db ($N tracks); server: $THREADS HTTP threads; wrk: 2 threads, $CONNECTIONS connections, ${DURATION} s each"
printf '%-40s %10s %9s %9s %8s %8s\n' "route" "req/s" "p50_ms" "p99_ms" "errors" "vs_health"
read -r h_rps h_p50 h_p99 h_err < <(load "http://127.0.0.1:$port/health")
printf '%-40s %10s %9s %9s %8s %8s\n' "GET /health (reference)" "$h_rps" "$h_p50" "$h_p99" "$h_err" "1.00"
# A paced row's req/s is the rate offered, not the server's, so it gets no ratio.
row() {
  local label=$1
  shift
  read -r rps p50 p99 err < <(load "$@")
  local ratio=-
  [[ -z ${RATE:-} ]] && ratio=$(awk -v a="$rps" -v b="$h_rps" 'BEGIN { printf "%.2f", a / b }')
  printf '%-40s %10s %9s %9s %8s %8s\n' "$label" "$rps" "$p50" "$p99" "$err" "$ratio"
}
row "GET /v1/tracks/1/similar (one seed)" "http://127.0.0.1:$port/v1/tracks/1/similar"
row "GET /v1/tracks/RANDOM/similar" "http://127.0.0.1:$port" -s bench/similar-random.lua
row "GET /v1/tracks/1 (track in full)" "http://127.0.0.1:$port/v1/tracks/1"
for rate in $RATES; do
  export RATE=$rate
  row "RANDOM/similar, $rate req/s offered" "http://127.0.0.1:$port" -s bench/similar-paced.lua
done

kill "$server"; wait "$server" 2>/dev/null || true

# Under a scan, on a copy of the store (the kept one stays as made): distinct files (a scan
# would take copies for moves of one content), enough that the scan outlasts the wrk run;
# whether it did is printed.
mkdir -p "$work/scan"
seq 1 "$SCAN_FILES" | xargs -P "$(nproc)" -I{} sh -c 'ffmpeg -nostdin -v error -y -f lavfi \
  -i "sine=frequency=$((100 + 7 * {})):duration=30" -f lavfi -i "anoisesrc=d=30:a=0.05:seed={}" \
  -filter_complex amix=inputs=2 -ac 1 -ar 22050 -c:a flac "$0/s{}.flac"' "$work/scan"
cp "$db" "$work/scan.db"
start_server "$work/scan.db"
export RATE=$SCAN_RATE
read -r _ _ idle_p99 _ < <(DURATION=$SCAN_SECONDS load "http://127.0.0.1:$port" -s bench/similar-paced.lua)
curl -sf -o /dev/null -XPOST "http://127.0.0.1:$port/v1/jobs" -d "{\"kind\":\"scan\",\"paths\":[\"$work/scan\"]}"
read -r _ scan_p50 scan_p99 scan_err < <(DURATION=$SCAN_SECONDS load "http://127.0.0.1:$port" -s bench/similar-paced.lua)
busy=$(curl -sf "http://127.0.0.1:$port/health?deep=1" | sed 's/.*"processing":\([0-9]*\).*/\1/')
printf '%-40s %10s %9s %9s %8s %8s\n' "RANDOM/similar, $SCAN_RATE/s, idle" "-" "-" "$idle_p99" "-" "-"
printf '%-40s %10s %9s %9s %8s %8s\n' "RANDOM/similar, $SCAN_RATE/s, under a scan" "-" "$scan_p50" \
  "$scan_p99" "$scan_err" "-"
awk -v a="$scan_p99" -v b="$idle_p99" -v busy="$busy" 'BEGIN {
  printf "p99 under a scan / idle: %.2f (target <= 2); scan still running at the end: %s\n",
         a / b, (busy > 0 ? "yes" : "no (add SCAN_FILES)") }'
unset RATE
kill "$server"; wait "$server" 2>/dev/null || true

# Jobs: SUBMIT analyze jobs of one small file, each must complete exactly once.
ffmpeg -nostdin -v error -f lavfi -i sine=d=2 -c:a flac "$work/a.flac"
jobs_db=$work/jobs.db
start_server "$jobs_db"
t0=$EPOCHREALTIME
for ((i = 0; i < SUBMIT; i++)); do
  curl -sf -o /dev/null -XPOST "http://127.0.0.1:$port/v1/jobs" \
    -d "{\"kind\":\"analyze\",\"file_path\":\"$work/a.flac\"}"
done
submit_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
for _ in $(seq 600); do
  left=$(curl -sf "http://127.0.0.1:$port/health?deep=1" | sed 's/.*"pending":\([0-9]*\).*"processing":\([0-9]*\).*/\1 \2/' | awk '{ print $1 + $2 }')
  [[ $left == 0 ]] && break
  sleep 0.2
done
all_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')
kill "$server"; wait "$server" 2>/dev/null || true
read -r completed once others < <(sqlite3 "$jobs_db" \
  "SELECT SUM(state = 'completed'), SUM(state = 'completed' AND attempts = 1), SUM(state <> 'completed') FROM jobs" | tr '|' ' ')
echo "jobs: $SUBMIT submitted in ${submit_s} s; all done after ${all_s} s: $completed completed ($once on their first attempt), $others in another state"
