#!/usr/bin/env bash
# Model runtime benchmark, on a mid-size conv embedder (3 conv layers, 118k parameters,
# 128x96 log-mel patches) made by bench/model-bench.py:
#   1. patches/s of the same TorchScript file run from Python (Debian's python3-torch) and
#      through timbre's runtime, one thread each, batches of BATCH: their ratio;
#   2. per track, timbre's model cost (frontend + batching + forward passes, decode
#      excluded) against the raw forward passes its patches need (target <= 1.1), and the
#      frontend's share.
#
#   bench/model-bench.sh [N] [SECONDS]    (defaults: 4 files of 60 s)
#
# Env: BATCH (default 16). Generated audio and the model are kept under build/.
set -euo pipefail
export LC_ALL=C
N=${1:-4}
TRACK_SECONDS=${2:-60}
BATCH=${BATCH:-16}
cd "$(dirname "$0")/.."
BENCH=build/bench/model_bench
DIR=build/bench-models
[[ -x $BENCH ]] || { echo "model-bench: build first ($BENCH is missing)" >&2; exit 1; }
mkdir -p "$DIR/models" "$DIR/audio"
[[ -f $DIR/models/mid-embedder-1.0.pt ]] ||
  /usr/bin/python3 bench/model-bench.py --make-mid "$DIR/models/mid-embedder-1.0.pt" >/dev/null
files=()
for i in $(seq 1 "$N"); do
  f=$DIR/audio/track-$i.flac
  [[ -f $f ]] || ffmpeg -nostdin -v error -y -f lavfi \
    -i "sine=frequency=$((110 * i)):duration=$TRACK_SECONDS,aformat=channel_layouts=stereo" \
    -f lavfi -i "anoisesrc=d=$TRACK_SECONDS:a=0.05" -filter_complex amix=inputs=2 -ar 44100 "$f"
  files+=("$f")
done
export TIMBRE_TORCH_PLUGIN=${TIMBRE_TORCH_PLUGIN:-$PWD/build/timbre-torch.so}

python=$(/usr/bin/python3 bench/model-bench.py "$DIR/models/mid-embedder-1.0.pt" --batch "$BATCH" \
  --patches 256 --threads 1 --shape 128,96)
timbre=$("$BENCH" "$DIR/models" "$BATCH" "${files[@]}" | tail -n 1)
/usr/bin/python3 - "$python" "$timbre" <<'PY'
import json, sys
py, tb = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"model: mid-embedder-1.0, batch {tb['batch']}, 1 thread, {tb['files']} tracks")
print(f"  python forward:          {py['patches_per_s_median']:8.1f} patches/s")
print(f"  timbre forward (raw):    {tb['raw_patches_per_s_median']:8.1f} patches/s"
      f"  ({tb['raw_patches_per_s_median'] / py['patches_per_s_median']:.2f}x python)")
print(f"  timbre analyzer:         {tb['analyzer_patches_per_s_median']:8.1f} patches/s")
print(f"  per-track cost / raw forward passes: {tb['ratio_median']:.3f} (target <= 1.1)")
print(f"  frontend share of the analyzer:      {100 * tb['frontend_share_median']:.1f} %")
PY
