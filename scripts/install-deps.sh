#!/usr/bin/env bash
# Installs every Debian 12 package that timbre's build, tests and benchmarks need.
# Idempotent: packages already present are skipped, so a second run does nothing.
set -euo pipefail

packages=(
  # toolchain
  cmake g++ make pkg-config
  # decoding, resampling, file tags
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev libtag1-dev
  # DSP
  libebur128-dev libchromaprint-dev libxxhash-dev libfftw3-dev
  # storage
  libsqlite3-dev
  # vectors: FAISS, with OpenBLAS behind the system BLAS (the reference BLAS is far slower)
  libfaiss-dev libopenblas0-pthread
  # HTTP API: event-driven server, metrics, constant-time key comparison
  libmicrohttpd-dev prometheus-cpp-dev libssl-dev
  # neural models: TorchScript through libtorch (loaded as a plugin), and Debian's PyTorch to
  # make the test models and check parity
  libtorch-dev python3-torch python3-numpy
  # plumbing
  nlohmann-json3-dev libtomlplusplus-dev libspdlog-dev libfmt-dev libcli11-dev
  # tests and benchmarks: GoogleTest, tools that make and inspect test audio and databases
  libgtest-dev ffmpeg sox sqlite3 time libcurl4-openssl-dev wrk
  # tag interop checks: mutagen reads what we write, beets imports a tagged folder
  python3-mutagen beets
  # notes: mido reads the MIDI files `timbre notes --midi` writes
  python3-mido
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Basic Pitch comes from npm and its original runs in node: Debian's nodejs and npm, unless
# a Node.js with npm is installed already (NodeSource's package ships both).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
