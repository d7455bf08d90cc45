#!/usr/bin/env bash
# Similarity quality on sets with known groups, each printed with its target:
#  - copies: K songs of the development corpus, each stored four ways (FLAC, MP3 128k,
#    Opus 64k, FLAC with its first 5 s cut) plus another performance of the same piece
#    (re-rendered 12 % faster, so the same chords and instruments, other timing). Each copy's
#    3 nearest neighbours should be its other copies (precision@3 >= 0.95), and
#    `timbre duplicates` should pair every copy (recall >= 0.95) with no false pair — neither
#    across songs nor with the other performance.
#  - families: the corpus itself; precision@5 of each track's neighbours by style family
#    (the `family` column), per embedding space, beside what chance would give.
#
#   bench/similarity-quality.sh [K]      (default 12 songs; the corpus is built once and kept)
#
# Env: TIMBRE (default build/timbre), CORPUS (default build/dev-corpus-48), CHECK=1 to exit
# non-zero below the targets (copies precision@3 0.95, duplicates recall 0.95, no false pairs),
# MODELS (a models folder the corpus scan runs, e.g. build/basic-pitch/models for the
# notes-v1 space; default: none).
set -euo pipefail
cd "$(dirname "$0")/.."
K=${1:-12}
TIMBRE=${TIMBRE:-build/timbre}
CORPUS=${CORPUS:-build/dev-corpus-48}
MAKER=../shared/corpus/make-dev-corpus.sh
SF2=/usr/share/sounds/sf2/FluidR3_GM.sf2
[[ -x $TIMBRE ]] || { echo "similarity-quality: build timbre first ($TIMBRE)" >&2; exit 2; }
if [[ ! -s $CORPUS/truth.csv ]] || grep -q ',$' "$CORPUS/truth.csv"; then
  bash "$MAKER" "$(realpath -m -- "$CORPUS")" 48
fi

work=${WORK:-$(mktemp -d)}
[[ -n ${WORK:-} ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/copies"

# The copies set: the first K songs that rendered.
n=0
while IFS=, read -r file _; do
  [[ -f $CORPUS/$file && $n -lt $K ]] || continue
  stem=$(basename "$file"); stem=${stem%.*}
  d=$work/copies
  if [[ ! -s $d/$stem.alt.flac ]]; then
    ffmpeg -nostdin -v error -y -i "$CORPUS/$file" -c:a flac "$d/$stem.flac"
    ffmpeg -nostdin -v error -y -i "$d/$stem.flac" -c:a libmp3lame -b:a 128k "$d/$stem.128k.mp3"
    ffmpeg -nostdin -v error -y -i "$d/$stem.flac" -c:a libopus -b:a 64k "$d/$stem.64k.opus"
    ffmpeg -nostdin -v error -y -ss 5 -i "$d/$stem.flac" -c:a flac "$d/$stem.trim5.flac"
    bpm=$(awk '/^Tempo/ { print $2 }' "$CORPUS/src/$stem.mma")
    alt_bpm=$(awk -v b="$bpm" 'BEGIN { printf "%d", b * 1.12 + 0.5 }')
    sed "s/^Tempo .*/Tempo $alt_bpm/" "$CORPUS/src/$stem.mma" >"$work/$stem.alt.mma"
    mma -f "$work/$stem.alt.mid" "$work/$stem.alt.mma" </dev/null >/dev/null 2>&1
    fluidsynth -ni -g 0.8 -F "$work/$stem.alt.wav" -r 44100 "$SF2" "$work/$stem.alt.mid" \
      </dev/null >/dev/null 2>&1
    ffmpeg -nostdin -v error -y -i "$work/$stem.alt.wav" -c:a flac "$d/$stem.alt.flac"
    rm -f "$work/$stem.alt.wav"
  fi
  n=$((n + 1))
done < <(tail -n +2 "$CORPUS/truth.csv")

"$TIMBRE" --db "$work/copies.db" scan -q "$work/copies"
models=(--no-models)
[[ -z ${MODELS:-} ]] || models=(--models "$MODELS")
"$TIMBRE" --db "$work/corpus.db" scan -q "${models[@]}" "$CORPUS/audio"

python3 - "$TIMBRE" "$work" "$CORPUS" "${CHECK:-0}" <<'PY'
import csv, itertools, json, os, re, subprocess, sys
timbre, work, corpus, check = sys.argv[1:5]

def run(db, *args):
    out = subprocess.run([timbre, "--db", db, *args, "--json"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)

def tracks(db):
    import sqlite3
    con = sqlite3.connect(db)
    return dict(con.execute("SELECT id, path FROM tracks WHERE status = 'ok'").fetchall())

failed = []
# Copies: group = song stem; the other performance is its own group of one.
db = os.path.join(work, "copies.db")
paths = tracks(db)
def group(path):
    name = os.path.basename(path)
    stem = name.split(".")[0]
    return stem + (".alt" if ".alt." in name else "")
def precision_at_3(where):
    hits = total = 0
    for tid, path in paths.items():
        if group(path).endswith(".alt"):
            continue
        found = run(db, "similar", str(tid), "-n", "3", *where)["tracks"]
        hits += sum(1 for t in found if group(t["path"]) == group(path))
        total += 3
    return hits / total if total else 0.0
p3 = precision_at_3(["--where", "path !~ '.alt.'"])
p3_alt = precision_at_3([])
dups = run(db, "duplicates")
found_pairs = set()
for g in dups["groups"]:
    for p in g["pairs"]:
        found_pairs.add(frozenset((p["a"], p["b"])))
by_group = {}
for tid, path in paths.items():
    by_group.setdefault(group(path), []).append(tid)
true_pairs = {frozenset(p) for ids in by_group.values() for p in itertools.combinations(ids, 2)}
recall = len(found_pairs & true_pairs) / len(true_pairs) if true_pairs else 0.0
false_pairs = found_pairs - true_pairs
alt_pairs = [p for p in false_pairs if any(group(paths[i]).endswith(".alt") for i in p)]
songs = len([g for g in by_group if not g.endswith(".alt")])
print(f"Copies set: {songs} songs x 4 copies + another performance each ({len(paths)} tracks)")
print(f"  timbre-v1 precision@3 among copies   {p3:.3f}   (target >= 0.95)")
print(f"    ... with the other performances in the library too: {p3_alt:.3f} "
      "(they are the same piece, so they rank close)")
print(f"  duplicates recall                    {recall:.3f}   (target >= 0.95; "
      f"{len(found_pairs & true_pairs)} of {len(true_pairs)} pairs)")
print(f"  false duplicate pairs                {len(false_pairs)}       "
      f"(target 0; {len(alt_pairs)} with the other performance)")
if p3 < 0.95: failed.append("copies precision@3")
if recall < 0.95: failed.append("duplicates recall")
if false_pairs: failed.append("false duplicate pairs")

# Families over the corpus.
db = os.path.join(work, "corpus.db")
paths = tracks(db)
family = {}
with open(os.path.join(corpus, "truth.csv")) as f:
    for row in csv.DictReader(f):
        family[os.path.basename(row["file"])] = row["family"]
fam = {tid: family.get(os.path.basename(p), "?") for tid, p in paths.items()}
def family_precision(space):
    hits = total = 0
    for tid in paths:
        found = run(db, "similar", str(tid), "-n", "5", "--space", space)["tracks"]
        hits += sum(1 for t in found if fam.get(t["id"]) == fam[tid])
        total += len(found)
    return hits / total if total else 0.0

chance = 0.0
for tid in paths:
    same = sum(1 for o in fam if o != tid and fam[o] == fam[tid])
    chance += same / (len(fam) - 1)
import sqlite3
spaces = [r[0] for r in sqlite3.connect(db).execute(
    "SELECT DISTINCT space FROM embeddings ORDER BY space = 'timbre-v1' DESC, space")]
print(f"Families ({len(paths)} corpus tracks, {len(set(fam.values()))} families)")
print(f"  space       precision@5   chance")
for space in spaces:
    print(f"  {space:10s}  {family_precision(space):.3f}         {chance / len(paths):.3f}")
if check == "1" and failed:
    print("below target: " + ", ".join(failed), file=sys.stderr)
    sys.exit(1)
PY
