#!/usr/bin/env bash
# Installs what the build and tests need, builds timbre with warnings as errors, and runs
# the whole test suite. TIMBRE_SANITIZE=1 builds and tests under AddressSanitizer + UBSan
# (in build-asan/). Extra arguments go to ctest (e.g. -L fast, -R Loudness).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh

build=build
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTIMBRE_WERROR=ON)
if [ "${TIMBRE_SANITIZE:-0}" = 1 ]; then
  build=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DTIMBRE_WERROR=ON -DTIMBRE_SANITIZE=ON)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export LSAN_OPTIONS="suppressions=$(pwd)/tests/lsan.supp"
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
jobs=$(nproc)
cmake -S . -B "$build" "${flags[@]}" >/dev/null
cmake --build "$build" -j "$jobs"
# Basic Pitch for the notes tests: fetched once from npm into the build folder and converted.
scripts/setup-models.sh --models "$build/basic-pitch/models" --npm-cache "$build/basic-pitch/npm"
ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 600 "$@"
