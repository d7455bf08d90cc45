#!/usr/bin/env bash
# End-to-end query time on a large library: `timbre similar` (process start to printed
# result) on a store of N synthetic tracks, beside `timbre show` (start, open the store, read
# one track) measured in the same run as the reference. Target: similar <= 100 ms at 100k.
#
#   bench/similar-bench.sh [N]     (default 100000; the store is made once and kept)
#
# Env: TIMBRE (default build/timbre), MAKE_STORE (default build/bench/make_store), RUNS (15).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
RUNS=${RUNS:-15}
TIMBRE=${TIMBRE:-build/timbre}
MAKE_STORE=${MAKE_STORE:-build/bench/make_store}
source bench/synthetic-store.sh
db=$(synthetic_store "$N")

t0=$EPOCHREALTIME
"$TIMBRE" --db "$db" index --rebuild >/dev/null
build_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')

# Median and 90th percentile of RUNS runs of a command, in ms.
time_ms() {
  local samples=()
  for ((i = 0; i < RUNS; i++)); do
    local a=$EPOCHREALTIME
    "$@" >/dev/null
    samples+=("$(awk -v a="$a" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
  done
  printf '%s\n' "${samples[@]}" | sort -n |
    awk '{ v[NR] = $1 } END { printf "%.1f %.1f\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)] }'
}

read -r ref_p50 ref_p90 < <(time_ms "$TIMBRE" --db "$db" show 1 --json)
echo "store: $db ($N tracks); index built from the store in ${build_s} s (timbre index --rebuild)"
printf '%-58s %9s %9s %8s\n' "command (median of $RUNS runs)" "p50_ms" "p90_ms" "vs_show"
printf '%-58s %9s %9s %8s\n' "timbre show 1 --json (reference)" "$ref_p50" "$ref_p90" "1.00"
row() {
  local label=$1
  shift
  read -r p50 p90 < <(time_ms "$@")
  printf '%-58s %9s %9s %8s\n' "$label" "$p50" "$p90" \
    "$(awk -v a="$p50" -v b="$ref_p50" 'BEGIN { printf "%.2f", a / b }')"
}
row "timbre similar 1 -n 10 --json" "$TIMBRE" --db "$db" similar 1 -n 10 --json
row "timbre similar 1 -n 10 --where 'bpm >= 100 and bpm <= 140'" \
  "$TIMBRE" --db "$db" similar 1 -n 10 --where "bpm >= 100 and bpm <= 140" --json
row "timbre similar 1 -n 10 --exclude-same-artist" \
  "$TIMBRE" --db "$db" similar 1 -n 10 --exclude-same-artist --json
row "timbre mix 1 2 3 -n 30 --json" "$TIMBRE" --db "$db" mix 1 2 3 -n 30 --json
row "timbre path 1 2 --steps 10 --json" "$TIMBRE" --db "$db" path 1 2 --steps 10 --json
