#!/usr/bin/env bash
# Basic Pitch in timbre against the original (the npm package's own code in node, tfjs CPU
# backend) on development-corpus songs, in one run:
#   1. parity: the posteriorgrams' largest difference and whether the note events agree;
#   2. note F-measure against the songs' MIDI truth (onset within 50 ms, exact pitch; drums
#      left out), for timbre and for the original;
#   3. speed: model seconds per minute of audio, one thread each, and their ratio;
#   4. key: the MIREX score of the key timbre's tonal analyzer finds, of the key of the notes'
#      pitch-class histogram, and of the two combined.
#
#   bench/notes-eval.sh [N] [SECONDS]    (defaults: 6 songs, their first 30 s)
#
# Env: CORPUS (default build/dev-corpus-48, built when missing), CHECK=1 to exit non-zero
# when parity fails or timbre's F-measure falls below the original's by more than 0.01.
# Needs scripts/setup-models.sh --models build/basic-pitch/models --npm-cache
# build/basic-pitch/npm (scripts/test.sh runs it).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
N=${1:-6}
CLIP_SECONDS=${2:-30}
CORPUS=${CORPUS:-build/dev-corpus-48}
MODELS=build/basic-pitch/models
PKG=build/basic-pitch/npm/node_modules/@spotify/basic-pitch
BENCH=build/bench/notes_bench
MAKER=../shared/corpus/make-dev-corpus.sh
[[ -x $BENCH && -x build/timbre ]] || { echo "notes-eval: build first ($BENCH)" >&2; exit 2; }
[[ -f $MODELS/basic-pitch/basic-pitch.toml && -d $PKG ]] ||
  scripts/setup-models.sh --models "$MODELS" --npm-cache build/basic-pitch/npm >/dev/null
if [[ ! -s $CORPUS/truth.csv ]]; then
  [[ -f $MAKER ]] || { echo "notes-eval: $MAKER not found" >&2; exit 2; }
  bash "$MAKER" "$(realpath -m -- "$CORPUS")" 48
fi
export TIMBRE_TORCH_PLUGIN=${TIMBRE_TORCH_PLUGIN:-$PWD/build/timbre-torch.so}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/clips"
# The first N songs, cut to their first SECONDS and resampled to 22,050 Hz mono once, so both
# sides read the very same samples.
tail -n +2 "$CORPUS/truth.csv" | while IFS=, read -r file _; do
  [[ -f $CORPUS/$file ]] || continue  # a song the corpus could not render
  [[ $(find "$tmp/clips" -name '*.wav' | wc -l) -lt $N ]] || break
  stem=$(basename "${file%.*}")
  ffmpeg -nostdin -v error -y -i "$CORPUS/$file" -t "$CLIP_SECONDS" -ac 1 -ar 22050 \
    -f f32le "$tmp/clips/$stem.f32"
  ffmpeg -nostdin -v error -y -f f32le -ar 22050 -ac 1 -i "$tmp/clips/$stem.f32" \
    -c:a pcm_f32le "$tmp/clips/$stem.wav"
  echo "$stem: timbre $("$BENCH" "$MODELS" "$tmp/clips/$stem.f32" "$tmp/clips/$stem.timbre")" >&2
  node scripts/basic-pitch/run-node.js --package "$PKG" --in "$tmp/clips/$stem.f32" \
    --out "$tmp/clips/$stem.node" 2>/dev/null | tail -n 1 | sed "s/^/$stem: node   /" >&2
done
# timbre's tonal key of the same clips, for the key comparison.
build/timbre --db "$tmp/keys.db" scan -q --no-models --jobs 1 "$tmp/clips" >/dev/null
build/timbre --db "$tmp/keys.db" export --format json >"$tmp/keys.json"
/usr/bin/python3 bench/notes-eval.py --corpus "$CORPUS" --clips "$tmp/clips" \
  --seconds "$CLIP_SECONDS" --tonal "$tmp/keys.json" ${CHECK:+--check}
