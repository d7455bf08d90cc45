#!/usr/bin/env bash
# Installs, builds, and runs timbre's main job: a scan of a music library into the
# embedded default store ($XDG_DATA_HOME/timbre). With no argument it scans a demo library
# rendered from music that Debian packages ship; given folders, it scans those instead.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)" --target timbre
# Basic Pitch for the notes analyzer (fetched once from npm); the scan runs without it.
scripts/setup-models.sh || echo "demo: going on without Basic Pitch (no notes analyzer)" >&2

if [ $# -eq 0 ]; then
  scripts/make-demo-library.sh build/demo-library
  set -- build/demo-library
fi
build/timbre scan "$@"
build/timbre stats
echo
echo "Tracks that sound like track 1 (timbre similar 1):"
build/timbre similar 1 -n 5 || true
