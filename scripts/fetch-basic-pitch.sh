#!/usr/bin/env bash
# Installs Spotify's Basic Pitch from npm, at the exact versions pinned by
# scripts/basic-pitch/package-lock.json, into a cache folder:
#
#     scripts/fetch-basic-pitch.sh [DIR]
#
# DIR defaults to ${XDG_CACHE_HOME:-$HOME/.cache}/timbre/basic-pitch-npm. The
# package folder (DIR/node_modules/@spotify/basic-pitch, which holds the model
# under model/) is printed as the last line of stdout; npm's own chatter goes
# to stderr. A second run with the same lock file does nothing and needs no
# network. Install scripts are not run: nothing we use needs them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src="$here/basic-pitch"
dir="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/timbre/basic-pitch-npm}"
pkg="$dir/node_modules/@spotify/basic-pitch"
stamp="$dir/.lock.sha256"

die() {
  echo "fetch-basic-pitch: $*" >&2
  exit 1
}

for f in package.json package-lock.json; do
  [ -f "$src/$f" ] || die "missing $src/$f"
done

lock_sum="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"

# Already installed from this very lock file: nothing to do.
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] \
  && [ -f "$pkg/package.json" ] && [ -f "$pkg/model/model.json" ]; then
  echo "$pkg"
  exit 0
fi

command -v npm >/dev/null 2>&1 \
  || die "npm not found; install Node.js and npm (Debian: apt-get install nodejs npm)"

# A registry that does not answer ping (some mirrors do not implement it) may still serve
# packages: the install is tried anyway, with short retries, and its failure names the cause.
registry="$(npm config get registry 2>/dev/null || echo '?')"
retries=()
why=""
if ! npm ping --fetch-retries=0 --fetch-timeout=20000 >/dev/null 2>&1; then
  echo "fetch-basic-pitch: npm ping to $registry failed; trying the install anyway" >&2
  retries=(--fetch-retries=1 --fetch-retry-mintimeout=1000 --fetch-retry-maxtimeout=2000)
  why=": the npm registry ($registry) is unreachable; check the network or npm's registry setting"
fi

mkdir -p "$dir"
cp "$src/package.json" "$src/package-lock.json" "$dir/"
rm -f "$stamp"
(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund "${retries[@]}" >&2) \
  || die "npm ci failed in $dir$why"
[ -f "$pkg/model/model.json" ] || die "npm ci finished but $pkg/model/model.json is missing"
echo "$lock_sum" >"$stamp"

echo "$pkg"
