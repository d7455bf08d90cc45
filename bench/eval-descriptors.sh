#!/usr/bin/env bash
# Accuracy of timbre's tempo and key against the development corpus's exact truth, with
# aubio (`aubio tempo`) and bpm-tools (`bpm`) scored on the same files in the same run, and
# each analyzer's share of the analysis time.
#
#   bench/eval-descriptors.sh [N]      (default 144 charts; the corpus is built once and kept)
#
# N is the number of charts the corpus maker writes; MMA fails to render a few (11 of 144),
# which the table reports as files without an estimate. The maker is deterministic in its
# charts, so the first 48 of 144 are the 48-chart corpus's songs.
#
# Env: TIMBRE (binary, default build/timbre), CORPUS (default build/dev-corpus-N),
# CHECK=1 to exit non-zero when timbre falls under the guarded figures (CI's regression
# guard, on N = 144): BPM Accuracy1 >= 0.85 and Accuracy2 >= 0.97 (the issue's targets),
# MIREX key >= 0.78. MMA humanises its arrangements at random, so every render differs. Three
# renders of 144 charts (133 songs) measured Accuracy1 0.880, 0.880 and 0.872, Accuracy2 1.000
# each, MIREX 0.806, 0.808 and 0.810. The 48-chart corpus (44 songs) moves more: Accuracy1
# 0.818-0.864 and MIREX 0.757-0.795 over its renders, one song being 2.3 % of the score.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-144}
TIMBRE=${TIMBRE:-build/timbre}
CORPUS=${CORPUS:-build/dev-corpus-$N}
MAKER=../shared/corpus/make-dev-corpus.sh
[[ -x $TIMBRE ]] || { echo "eval-descriptors: build timbre first ($TIMBRE)" >&2; exit 2; }

if [[ ! -s $CORPUS/truth.csv ]] || grep -q ',$' "$CORPUS/truth.csv"; then
  [[ -f $MAKER ]] || { echo "eval-descriptors: $MAKER not found" >&2; exit 2; }
  bash "$MAKER" "$(realpath -m -- "$CORPUS")" "$N"  # the maker changes folder: give it an absolute path
fi
missing=()
for p in aubio-tools bpm-tools ffmpeg sqlite3; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  sudo=""; [[ $(id -u) -eq 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/eval.db

start=$EPOCHREALTIME
"$TIMBRE" --db "$db" scan -q --jobs 1 "$CORPUS/audio"
timbre_s=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# Other tools, one file at a time on one core, as timbre's scan above (--jobs 1).
echo "file,bpm" >"$CORPUS/aubio.csv"
echo "file,bpm" >"$CORPUS/bpm-tools.csv"
aubio_s=0
bpm_s=0
while IFS=, read -r file _; do
  [[ -f $CORPUS/$file ]] || continue
  t0=$EPOCHREALTIME
  a=$(aubio tempo -i "$CORPUS/$file" 2>/dev/null | awk '/bpm/ { v = $1 } END { print v }')
  t1=$EPOCHREALTIME
  b=$(ffmpeg -nostdin -v error -i "$CORPUS/$file" -f f32le -ac 1 -ar 44100 - | bpm -m 60 -x 200)
  t2=$EPOCHREALTIME
  aubio_s=$(awk -v s="$aubio_s" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", s + b - a }')
  bpm_s=$(awk -v s="$bpm_s" -v a="$t1" -v b="$t2" 'BEGIN { printf "%.3f", s + b - a }')
  echo "$file,$a" >>"$CORPUS/aubio.csv"
  echo "$file,$b" >>"$CORPUS/bpm-tools.csv"
done < <(tail -n +2 "$CORPUS/truth.csv")

check=()
[[ ${CHECK:-0} = 1 ]] && check=(--min-accuracy1 0.85 --min-accuracy2 0.97 --min-key 0.78)
echo
echo "Accuracy on $CORPUS (truth: $CORPUS/truth.csv)"
"$TIMBRE" --db "$db" eval "$CORPUS/truth.csv" --label timbre "${check[@]}" | tee "$tmp/timbre.txt"
"$TIMBRE" eval "$CORPUS/truth.csv" --estimates "$CORPUS/aubio.csv" --label "aubio tempo" | tail -n +2
"$TIMBRE" eval "$CORPUS/truth.csv" --estimates "$CORPUS/bpm-tools.csv" --label "bpm-tools" | tail -n +2
echo
echo "Wall time, one core: timbre scan (decode + all analyzers) ${timbre_s} s;" \
  "aubio tempo ${aubio_s} s; ffmpeg | bpm ${bpm_s} s"
echo "Share of timbre's analysis time by analyzer (sum over files, s):"
sqlite3 -separator '  ' "$db" \
  "SELECT printf('%-16s', analyzer), printf('%8.3f', SUM(seconds)) FROM analyses GROUP BY analyzer ORDER BY SUM(seconds) DESC"
