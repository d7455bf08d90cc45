#!/usr/bin/env bash
# Whole-process scan benchmark: timbre's scan against a plain ffmpeg decode of
# the same files, peak memory with a 3-hour file, and a no-op rescan of 10,000
# unchanged files.
#
#   bench/scan-bench.sh [N] [SECONDS]     (defaults: 50 files of 240 s)
#
# Env: TIMBRE (binary, default build/timbre), JOBS (default 2), RUNS (median
# of, default 3), LONG_SECONDS (default 10800), STRICT=1 (exit 1 if a target
# is missed). Generated audio is kept under build/ and reused.
set -euo pipefail
export LC_ALL=C # '.' as decimal separator in EPOCHREALTIME, awk and printf

N=${1:-50}
TRACK_SECONDS=${2:-240}
# Paths below are relative to the repository root; TIMBRE to the caller's cwd.
TIMBRE=$(realpath -m -- "${TIMBRE:-$(dirname "$0")/../build/timbre}")
cd "$(dirname "$0")/.."
JOBS=${JOBS:-2}
RUNS=${RUNS:-3}
LONG_SECONDS=${LONG_SECONDS:-10800}
STRICT=${STRICT:-0}
LIB=build/bench-library
LONG=build/bench-long
RESCAN=build/bench-rescan
RESCAN_FILES=10000

die() { echo "scan-bench: $*" >&2; exit 1; }

[[ $N =~ ^[1-9][0-9]*$ && $TRACK_SECONDS =~ ^[1-9][0-9]*$ ]] ||
  die "usage: $0 [N] [SECONDS]"
# Check first: generating the audio takes minutes and is useless without it.
[[ -x $TIMBRE ]] || die "timbre binary not found at '$TIMBRE'; build it first or set TIMBRE=/path/to/timbre"

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root or sudo to run: $*"
  fi
}
missing=()
for pkg in ffmpeg time; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "Installing: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# One audio channel of a 4-bar loop as an ffmpeg aevalsrc expression: a chord
# progression with a decaying pad, kick on every beat, noise snare on 2 and 4,
# off-beat hi-hat. Args: beat length (s), root (Hz), progression (4 semitone
# offsets; 9 is played minor), two random-state slots so channels differ.
channel_expr() {
  local b=$1 f=$2 s=$4 h=$5 p0 p1 p2 p3
  read -r p0 p1 p2 p3 <<<"$3"
  local tone="sin(2*PI*$f*pow(2,(ld(4)+X)/12)*t)"
  printf '%s' "st(1,mod(floor(t/(4*$b)),4));st(2,mod(t,$b));st(3,mod(floor(t/$b),4));" \
    "st(4,eq(ld(1),0)*$p0+eq(ld(1),1)*$p1+eq(ld(1),2)*$p2+eq(ld(1),3)*$p3);" \
    "0.08*exp(-1.5*ld(2))*(${tone//X/0}+${tone//X/4-eq(ld(4),9)}+${tone//X/7}+0.5*${tone//X/12})" \
    "+0.35*sin(2*PI*(45+90*exp(-25*ld(2)))*ld(2))*exp(-9*ld(2))" \
    "+0.18*mod(ld(3),2)*(random($s)*2-1)*exp(-18*ld(2))" \
    "+0.06*(random($h)*2-1)*exp(-60*mod(t-$b/2,$b))"
}

# Render a seamless loop for track $1 (tempo, key and progression vary with it).
make_loop() {
  local i=$1 out=$2 b f prog
  b=$(awk -v i="$i" 'BEGIN { printf "%.6f", 60 / (84 + (i * 13) % 72) }')
  f=$(awk -v i="$i" 'BEGIN { printf "%.3f", 110 * 2 ^ (((i * 5) % 12) / 12) }')
  local progs=("0 7 9 5" "0 5 7 5" "9 5 0 7")
  prog=${progs[$(( i % 3 ))]}
  ffmpeg -nostdin -v error -y -f lavfi \
    -i "aevalsrc=exprs='$(channel_expr "$b" "$f" "$prog" 5 6)|$(channel_expr "$b" "$f" "$prog" 7 8)':s=44100:d=$(awk -v b="$b" 'BEGIN { print 16 * b }')" \
    -c:a pcm_s16le "$out"
}

# Loop to the target length under slow volume drift and a quiet pink-noise bed,
# so no two stretches are bit-identical and lossless codecs compress
# realistically. Args: loop file, seed, seconds, output, ffmpeg codec options.
encode_loop() {
  local loop=$1 seed=$2 secs=$3 out=$4
  shift 4
  ffmpeg -nostdin -v error -y -stream_loop -1 -i "$loop" \
    -f lavfi -i "anoisesrc=c=pink:a=0.02:r=44100:seed=$seed" \
    -f lavfi -i "anoisesrc=c=pink:a=0.02:r=44100:seed=$((seed + 7919))" \
    -filter_complex "[1:a][2:a]amerge=inputs=2[n];[0:a]volume='0.85+0.15*sin(2*PI*t/29)':eval=frame[m];[m][n]amix=inputs=2:normalize=0[a]" \
    -map '[a]' -t "$secs" "$@" "$out.part"
  mv "$out.part" "$out"
}

# ext|muxer|codec options, one per track in turn
FORMATS=(
  'mp3|mp3|-ar 44100 -c:a libmp3lame -q:a 2'
  'flac|flac|-ar 44100 -c:a flac -sample_fmt s16'
  'ogg|ogg|-ar 44100 -c:a libvorbis -q:a 5'
  'opus|opus|-ar 48000 -c:a libopus -b:a 128k'
  'm4a|ipod|-ar 44100 -c:a aac -b:a 256k'
  'wav|wav|-ar 44100 -c:a pcm_s16le'
)

gen_track() {
  local i=$1 ext mux codec out
  IFS='|' read -r ext mux codec <<<"${FORMATS[$(( i % ${#FORMATS[@]} ))]}"
  out=$(printf '%s/Bench Artist %d/Bench Album %d/%03d Bench Track %d.%s' \
    "$LIB" $(( i % 5 )) $(( i % 10 )) "$i" "$i" "$ext")
  [[ -e $out ]] && return 0
  mkdir -p "${out%/*}"
  make_loop "$i" "$TMP/loop-$i.wav"
  local codec_args
  read -ra codec_args <<<"$codec"
  encode_loop "$TMP/loop-$i.wav" "$i" "$TRACK_SECONDS" "$out" "${codec_args[@]}" \
    -metadata title="Bench Track $i" -metadata artist="Bench Artist $(( i % 5 ))" \
    -metadata album="Bench Album $(( i % 10 ))" -metadata track="$i" \
    -metadata genre=Electronic -metadata date=2024 -f "$mux"
  rm -f "$TMP/loop-$i.wav"
}

# --- generate (reused when the parameters match) ------------------------------
t0=$EPOCHREALTIME
params="$N x $TRACK_SECONDS s"
mkdir -p build
if [[ ! -f $LIB.params || $(<"$LIB.params") != "$params" ]]; then
  rm -rf "$LIB"
  echo "$params" >"$LIB.params" # written first so an interrupted run resumes
fi
echo "Preparing $LIB ($params, $(nproc) in parallel)..."
export TMP LIB TRACK_SECONDS
export -f gen_track make_loop encode_loop channel_expr
# Arrays cannot be exported; pass the table in a string.
FORMATS_STR=$(printf '%s\n' "${FORMATS[@]}")
export FORMATS_STR
# shellcheck disable=SC2016 # expanded by the inner bash, on purpose
seq 0 $(( N - 1 )) | xargs -P "$(nproc)" -I{} \
  bash -c 'set -euo pipefail; mapfile -t FORMATS <<<"$FORMATS_STR"; gen_track "$1"' _ {}

long_file="$LONG/Long Artist/Long Album/01 Three Hours.mp3"
if [[ ! -f $long_file || ! -f $LONG.params || $(<"$LONG.params") != "$LONG_SECONDS" ]]; then
  echo "Generating $LONG (${LONG_SECONDS} s MP3)..."
  rm -rf "$LONG"
  mkdir -p "${long_file%/*}"
  echo "$LONG_SECONDS" >"$LONG.params"
  make_loop 1 "$TMP/loop-long.wav"
  # 64 kbit/s CBR keeps 3 hours near 86 MB; a faster LAME mode saves a minute.
  encode_loop "$TMP/loop-long.wav" 1 "$LONG_SECONDS" "$long_file" \
    -ar 44100 -c:a libmp3lame -b:a 64k -compression_level 7 -metadata title="Three Hours" \
    -metadata artist="Long Artist" -metadata album="Long Album" -f mp3
fi

if [[ $(find "$RESCAN" -type f -name '*.flac' 2>/dev/null | wc -l) -ne $RESCAN_FILES ]]; then
  echo "Generating $RESCAN ($RESCAN_FILES one-second FLAC copies)..."
  rm -rf "$RESCAN"
  mkdir -p "$RESCAN/d000"
  # A clean chord compresses to ~20 KB, so 10,000 copies take ~200 MB on disk.
  ffmpeg -nostdin -v error -y -f lavfi \
    -i "aevalsrc=exprs='(0.3*sin(2*PI*220*t)+0.2*sin(2*PI*277.18*t)+0.2*sin(2*PI*329.63*t))*exp(-3*t)':s=44100:d=1" \
    -ac 2 -c:a flac -sample_fmt s16 -metadata title="One Second" "$TMP/one.flac"
  # Real copies, not hard links: a scanner may key files by inode.
  for f in $(seq -w 0 99); do cp "$TMP/one.flac" "$RESCAN/d000/$f.flac"; done
  for d in $(seq 1 $(( RESCAN_FILES / 100 - 1 ))); do
    cp -r "$RESCAN/d000" "$RESCAN/$(printf 'd%03d' "$d")"
  done
fi
gen_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
echo "Generation/check took $gen_s s"

# --- measure ------------------------------------------------------------------
mapfile -d '' FILES < <(find "$LIB" -type f ! -name '*.part' -print0 | sort -z)
[[ ${#FILES[@]} -eq $N ]] || die "expected $N files in $LIB, found ${#FILES[@]}"
audio_s=$(for f in "${FILES[@]}"; do
  ffprobe -v error -show_entries format=duration -of csv=p=0 "$f"
done | awk '{ s += $1 } END { printf "%.1f", s }')
# Warm the page cache so neither side pays for the first cold read.
cat "${FILES[@]}" >/dev/null

# Print wall seconds of a command; its output goes to $TMP/last.log.
timed() {
  local t0=$EPOCHREALTIME
  if ! "$@" >"$TMP/last.log" 2>&1; then
    echo "scan-bench: command failed: $*" >&2
    tail -n 20 "$TMP/last.log" >&2
    return 1
  fi
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (v[int((NR + 1) / 2)] + v[int(NR / 2) + 1]) / 2 }'; }
decode_all() {
  printf '%s\0' "${FILES[@]}" |
    xargs -0 -P "$JOBS" -I{} ffmpeg -nostdin -v error -i {} -f null -
}
fresh_db() { rm -f "$1" "$1-wal" "$1-shm" "$1-journal"; }
# --db goes before the subcommand: it is a global option of the CLI.
scan_lib() { fresh_db "$TMP/bench.db"; "$TIMBRE" --db "$TMP/bench.db" scan "$LIB" --jobs "$JOBS"; }

echo "Measuring decode-only reference ($RUNS runs)..."
times=()
for _ in $(seq "$RUNS"); do times+=("$(timed decode_all)"); done
decode_s=$(median "${times[@]}")

echo "Measuring scan ($RUNS runs, fresh db each)..."
times=()
for _ in $(seq "$RUNS"); do times+=("$(timed scan_lib)"); done
scan_s=$(median "${times[@]}")

echo "Measuring peak RSS (library + ${LONG_SECONDS} s file, --jobs 2)..."
/usr/bin/time -f %M -o "$TMP/rss" "$TIMBRE" --db "$TMP/rss.db" scan "$LONG" "$LIB" \
  --jobs 2 >"$TMP/last.log" 2>&1 ||
  { tail -n 20 "$TMP/last.log" >&2; die "scan with the long file failed"; }
rss_mib=$(awk '{ printf "%.0f", $1 / 1024 }' "$TMP/rss")

echo "Measuring rescan of $RESCAN_FILES unchanged files..."
first_s=$(timed "$TIMBRE" --db "$TMP/rescan.db" scan "$RESCAN" --jobs "$JOBS")
rescan_s=$(timed "$TIMBRE" --db "$TMP/rescan.db" scan "$RESCAN" --jobs "$JOBS")

# --- report -------------------------------------------------------------------
verdict() { # value limit -> PASS/MISS
  if awk -v v="$1" -v l="$2" 'BEGIN { exit !(v <= l) }'; then echo PASS; else echo MISS; fi
}
ratio=$(awk -v s="$scan_s" -v d="$decode_s" 'BEGIN { printf "%.2f", s / d }')
# The scan runs every built-in analyzer, so the target is the descriptors' (decode + every
# analyzer within 2.5x decode-only); the first scan, with loudness and fingerprint only, aimed
# at 1.3x.
v_ratio=$(verdict "$ratio" 2.5)
per_core=$(awk -v a="$audio_s" -v s="$scan_s" -v j="$JOBS" 'BEGIN { printf "%.0f", a / s / j }')
v_core=$([[ $per_core -ge 150 ]] && echo PASS || echo MISS)
v_rss=$(verdict "$rss_mib" 300)
v_rescan=$(verdict "$rescan_s" 5)
row() { printf '%-34s %14s   %-14s %s\n' "$@"; }
echo
echo "timbre scan benchmark: $N files x $TRACK_SECONDS s (mixed formats), jobs=$JOBS, median of $RUNS"
row METRIC VALUE TARGET ""
row "decode-only (ffmpeg -f null)" "$decode_s s" "" ""
row "scan from empty db" "$scan_s s" "" ""
row "  tracks/s" "$(awk -v n="$N" -v s="$scan_s" 'BEGIN { printf "%.2f", n / s }')" "" ""
row "  realtime factor" "$(awk -v a="$audio_s" -v s="$scan_s" 'BEGIN { printf "%.0fx", a / s }')" "" ""
row "  realtime factor per core" "${per_core}x" ">= 150x" "$v_core"
row "  scan / decode-only" "${ratio}x" "<= 2.5x" "$v_ratio"
row "peak RSS, library + long file" "$rss_mib MiB" "<= 300 MiB" "$v_rss"
row "first scan, $RESCAN_FILES x 1 s files" "$first_s s" "" ""
row "rescan, $RESCAN_FILES unchanged" "$rescan_s s" "<= 5 s" "$v_rescan"
if [[ $STRICT == 1 && "$v_ratio $v_core $v_rss $v_rescan" == *MISS* ]]; then exit 1; fi

# Where the scan's time goes: each analyzer's own time summed over the library (one scan of
# the library from an empty database, the last of the measured runs).
echo
echo "analyzer time, summed over the $N files of the last scan (s, and share of the scan's CPU time):"
if command -v sqlite3 >/dev/null; then
  cpu_s=$(awk -v s="$scan_s" -v j="$JOBS" 'BEGIN { print s * j }')
  sqlite3 -separator '  ' "$TMP/bench.db" \
    "SELECT printf('%-16s', analyzer), printf('%8.2f', SUM(seconds)), printf('%5.1f %%', 100.0 * SUM(seconds) / $cpu_s) FROM analyses GROUP BY analyzer ORDER BY SUM(seconds) DESC"
fi
