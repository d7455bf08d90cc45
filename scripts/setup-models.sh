#!/usr/bin/env bash
# Installs the models timbre can set up by itself: Spotify's Basic Pitch (Apache-2.0), fetched
# once from npm (@spotify/basic-pitch@1.0.1, pinned by scripts/basic-pitch/package-lock.json)
# and converted from its TensorFlow.js graph to TorchScript with Debian's python3-torch.
#
#     scripts/setup-models.sh [--models DIR] [--npm-cache DIR]
#
# --models     where models go (default: $TIMBRE_MODELS, else $XDG_DATA_HOME/timbre/models,
#              the folder `timbre scan` reads); Basic Pitch lands in DIR/basic-pitch/
# --npm-cache  where the npm package is kept (default: ~/.cache/timbre/basic-pitch-npm)
#
# Nothing is converted at scan time. Without npm or the registry this fails with exit 1 and
# timbre works on without the `notes` analyzer.
set -euo pipefail
cd "$(dirname "$0")/.."

models="${TIMBRE_MODELS:-${XDG_DATA_HOME:-$HOME/.local/share}/timbre/models}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/timbre/basic-pitch-npm"
while [ $# -gt 0 ]; do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --npm-cache) cache="$2"; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup-models: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

pkg="$(scripts/fetch-basic-pitch.sh "$cache" | tail -n1)"
/usr/bin/python3 scripts/convert-basic-pitch.py --package "$pkg" --out "$models/basic-pitch"
echo "Basic Pitch installed in $models/basic-pitch: scans now run the notes analyzer"
