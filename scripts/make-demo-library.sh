#!/usr/bin/env bash
# Build a small, tagged demo music library from freely licensed music that
# Debian ships, laid out as Album Artist/Album/NN Title.ext in many formats.
#
#   scripts/make-demo-library.sh [DIR]     (default: build/demo-library)
#
# Sources (about 1.7 MB downloaded, extracted locally, never installed):
#   openttd-openmsx  MIDI set for OpenTTD (GPL-2), rendered with FluidSynth
#   tecnoballz-data  Amiga MOD music (GPL-3+), decoded by ffmpeg (libopenmpt)
# Env: MAX_SECONDS (track length cap, default 75), SOUNDFONT (GM .sf2 file).
# Re-running only creates what is missing.
set -euo pipefail

# DIR is relative to the caller's cwd; the default to the repository root.
DIR=$(realpath -m -- "${1:-$(dirname "$0")/../build/demo-library}")
MAX_SECONDS=${MAX_SECONDS:-75}
FADE_SECONDS=3
SOUNDFONT=${SOUNDFONT:-/usr/share/sounds/sf2/default-GM.sf2}

# album_artist|album|date|genre|track artist|title|source package|file
TRACKS=$(cat <<'EOF'
Jim Redfarn|Ezy Street|2010|Boogie-Woogie|Jim Redfarn|Boogie Marabi|openttd-openmsx|boogi_marabi_redfarn.mid
Jim Redfarn|Ezy Street|2010|Boogie-Woogie|Jim Redfarn|Moo Moo Boogie|openttd-openmsx|moo_redfarn.mid
Jim Redfarn|Ezy Street|2010|Boogie-Woogie|Jim Redfarn|Careless Love|openttd-openmsx|careless_perc_redfarn.mid
Jim Redfarn|Ezy Street|2010|Boogie-Woogie|Jim Redfarn|Slow and Easy|openttd-openmsx|slow_neasy_redfarn.mid
Jim Redfarn|Ezy Street|2010|Boogie-Woogie|Jim Redfarn|City Blues|openttd-openmsx|city_blues_redfarn.mid
Jim Redfarn|Ezy Street|2010|Boogie-Woogie|Jim Redfarn|The Hobo|openttd-openmsx|the_hobo_redfarn.mid
Various Artists|OpenMSX|2021|Soundtrack|-lucas-|OpenTTD Journey|openttd-openmsx|tttheme2.mid
Various Artists|OpenMSX|2021|Soundtrack|imuh3|Downtown Cab Ride|openttd-openmsx|ttsong_iv_imuh3.mid
Various Artists|OpenMSX|2021|Soundtrack|imuh3|Skydive|openttd-openmsx|ttsong_iii_imuh3.mid
Various Artists|OpenMSX|2021|Soundtrack|mimm|Busy Schedule|openttd-openmsx|busy_schedule.mid
Various Artists|OpenMSX|2021|Soundtrack|Kyle Timmerman|Modern Motion|openttd-openmsx|modern_motion.mid
Various Artists|OpenMSX|2021|Soundtrack|Tistou Blomberg|Ultimate Run|openttd-openmsx|ultimate_run.mid
Various Artists|OpenMSX|2021|Soundtrack|Tistou Blomberg|Harp Harmony 'n Humor|openttd-openmsx|harp_harmony.mid
TLK Games|TecnoballZ|1991|Chiptune|TLK Games|TecnoballZ|tecnoballz-data|tecnoballz.mod
TLK Games|TecnoballZ|1991|Chiptune|TLK Games|Area 1|tecnoballz-data|area1-game.mod
TLK Games|TecnoballZ|1991|Chiptune|TLK Games|Area 2|tecnoballz-data|area2-game.mod
TLK Games|TecnoballZ|1991|Chiptune|TLK Games|Gardien Go|tecnoballz-data|gardien-go.mod
TLK Games|TecnoballZ|1991|Chiptune|TLK Games|Fridge in Space|tecnoballz-data|fridge-in-space_from_reg-zbb.mod
TLK Games|TecnoballZ|1991|Chiptune|TLK Games|High Score|tecnoballz-data|high-score.mod
EOF
)

# Formats are assigned round-robin so every album mixes containers/codecs.
# ext|ffmpeg muxer|codec options
# (Opus only supports 48 kHz among the usual rates.)
FORMATS=(
  'flac|flac|-ar 44100 -c:a flac -sample_fmt s16'
  'mp3|mp3|-ar 44100 -c:a libmp3lame -q:a 2'
  'ogg|ogg|-ar 44100 -c:a libvorbis -q:a 5'
  'opus|opus|-ar 48000 -c:a libopus -b:a 128k'
  'm4a|ipod|-ar 44100 -c:a aac -b:a 192k'
  'm4a|ipod|-ar 44100 -c:a alac -sample_fmt s16p'
  'wav|wav|-ar 44100 -c:a pcm_s16le'
  'aiff|aiff|-ar 44100 -c:a pcm_s16be -write_id3v2 1'
  'wma|asf|-ar 44100 -c:a wmav2 -b:a 160k'
)

declare -A LICENSE=([openttd-openmsx]=GPL-2.0 [tecnoballz-data]=GPL-3.0-or-later)
declare -A SRC_DIR=(
  [openttd-openmsx]=usr/share/games/openttd/baseset/openmsx
  [tecnoballz-data]=usr/share/games/tecnoballz/musics
)

die() { echo "make-demo-library: $*" >&2; exit 1; }

as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    die "need root or sudo to run: $*"
  fi
}

APT_UPDATED=0
apt_update_once() {
  # Fresh machines (containers) have empty package lists.
  if [[ $APT_UPDATED -eq 0 ]]; then
    as_root apt-get update -qq
    APT_UPDATED=1
  fi
}

ensure_packages() {
  local pkg missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  echo "Installing: ${missing[*]}"
  apt_update_once
  # --no-install-recommends keeps fluidsynth from pulling a 120 MB soundfont.
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# Parse the table; plan the output paths and find what is still missing.
declare -A ALBUM_TOTAL=()
ROWS=()
while IFS= read -r line; do
  [[ -z $line ]] && continue
  ROWS+=("$line")
  IFS='|' read -r aa album _ <<<"$line"
  ALBUM_TOTAL["$aa|$album"]=$(( ${ALBUM_TOTAL["$aa|$album"]:-0} + 1 ))
done <<<"$TRACKS"

declare -A ALBUM_NO=()
OUTS=() TODO=()
for i in "${!ROWS[@]}"; do
  IFS='|' read -r aa album _ _ _ title _ <<<"${ROWS[$i]}"
  n=$(( ${ALBUM_NO["$aa|$album"]:-0} + 1 ))
  ALBUM_NO["$aa|$album"]=$n
  IFS='|' read -r ext _ <<<"${FORMATS[$(( i % ${#FORMATS[@]} ))]}"
  OUTS+=("$DIR/$aa/$album/$(printf '%02d' "$n") ${title//\//-}.$ext")
  [[ -e ${OUTS[$i]} ]] || TODO+=("$i")
done

if [[ ${#TODO[@]} -eq 0 ]]; then
  echo "Demo library already complete: $DIR"
  exit 0
fi

need=(ffmpeg fluidsynth)
# Any installed GM soundfont will do; TimGM6mb is a 5 MB download.
[[ -e $SOUNDFONT ]] || need+=(timgm6mb-soundfont)
ensure_packages "${need[@]}"
[[ -e $SOUNDFONT ]] || SOUNDFONT=/usr/share/sounds/sf2/TimGM6mb.sf2

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Extract a package's files without installing it (no root needed).
declare -A FETCHED=()
fetch_package() {
  local pkg=$1 opts=()
  [[ -n ${FETCHED[$pkg]:-} ]] && return 0
  # Root makes apt warn that its sandbox user cannot write here; skip that.
  [[ $EUID -eq 0 ]] && opts=(-o APT::Sandbox::User=root)
  if ! (cd "$WORK" && apt-get download -qq "${opts[@]}" "$pkg" 2>/dev/null); then
    apt_update_once
    (cd "$WORK" && apt-get download -qq "${opts[@]}" "$pkg")
  fi
  dpkg -x "$WORK/${pkg}"_*.deb "$WORK/root"
  FETCHED[$pkg]=1
}

# Peak level in dB of the first MAX_SECONDS of a file.
peak_db() {
  ffmpeg -nostdin -hide_banner -t "$MAX_SECONDS" -i "$1" -af volumedetect -f null - 2>&1 |
    awk '/max_volume:/ { print $(NF-1) }'
}

for i in "${TODO[@]}"; do
  IFS='|' read -r aa album date genre artist title pkg file <<<"${ROWS[$i]}"
  IFS='|' read -r ext mux codec <<<"${FORMATS[$(( i % ${#FORMATS[@]} ))]}"
  out=${OUTS[$i]}
  n=${out##*/}; n=${n%% *}
  echo "[$((i + 1))/${#ROWS[@]}] $out"

  fetch_package "$pkg"
  src="$WORK/root/${SRC_DIR[$pkg]}/$file"
  if [[ $file == *.mid ]]; then
    fluidsynth -ni -q -F "$WORK/render.wav" -r 44100 "$SOUNDFONT" "$src" >/dev/null
    src="$WORK/render.wav"
  fi

  # FluidSynth renders quietly and levels differ, so peak-normalise to -1 dB;
  # long tracks fade out at the cap instead of stopping dead.
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$src")
  len=$(awk -v d="$dur" -v m="$MAX_SECONDS" 'BEGIN { printf "%.3f", (d < m ? d : m) }')
  gain=$(awk -v p="$(peak_db "$src")" 'BEGIN { printf "%.1f", -1 - p }')
  filter="volume=${gain}dB"
  if awk -v d="$dur" -v m="$MAX_SECONDS" 'BEGIN { exit !(d > m) }'; then
    filter+=",afade=t=out:st=$(awk -v l="$len" -v f="$FADE_SECONDS" 'BEGIN { print l - f }'):d=$FADE_SECONDS"
  fi

  mkdir -p "${out%/*}"
  read -ra codec_args <<<"$codec"
  # Write under a temporary name so an interrupted run leaves no half file.
  ffmpeg -nostdin -v error -y -i "$src" -t "$len" -af "$filter" \
    -map 0:a -map_metadata -1 -ac 2 "${codec_args[@]}" \
    -metadata title="$title" -metadata artist="$artist" \
    -metadata album="$album" -metadata album_artist="$aa" \
    -metadata track="$((10#$n))/${ALBUM_TOTAL["$aa|$album"]}" \
    -metadata genre="$genre" -metadata date="$date" \
    -metadata comment="From Debian package $pkg (${LICENSE[$pkg]})" \
    -f "$mux" "$out.part"
  mv "$out.part" "$out"
done

echo "Demo library ready: $DIR"
