#!/usr/bin/python3
"""Scores Basic Pitch in timbre against the original on development-corpus clips (see
bench/notes-eval.sh): parity, note F-measure against the MIDI truth, speed, and key."""
import argparse
import bisect
import csv
import json
import os
import sys

import mido
import numpy as np

ONSET_TOLERANCE = 0.05
PARITY_TOLERANCE = 1e-4
NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
# The profiles of src/dsp/tonal.cpp, tonic first.
PROFILES = {
    "krumhansl": ([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88],
                  [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]),
    "temperley": ([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0],
                  [5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0]),
}


def truth_notes(path, seconds):
    """(onset, pitch) of every pitched note starting in the first `seconds` (channel 10 is
    General MIDI's drums)."""
    notes, t = [], 0.0
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0 and msg.channel != 9 and t < seconds:
            notes.append((t, msg.note))
    return notes


def f_measure(estimated, truth):
    """Onset within 50 ms and the same pitch, each note matched once. Per pitch, matching in
    time order is optimal for points on a line with a fixed tolerance."""
    matched = 0
    for pitch in {p for _, p in truth} | {p for _, p in estimated}:
        ref = sorted(t for t, p in truth if p == pitch)
        est = sorted(t for t, p in estimated if p == pitch)
        i = j = 0
        while i < len(ref) and j < len(est):
            if abs(ref[i] - est[j]) <= ONSET_TOLERANCE:
                matched, i, j = matched + 1, i + 1, j + 1
            elif est[j] < ref[i]:
                j += 1
            else:
                i += 1
    p = matched / len(estimated) if estimated else 0.0
    r = matched / len(truth) if truth else 0.0
    return (2 * p * r / (p + r) if p + r else 0.0), p, r, matched


def read_run(prefix, bins=(("note", 88), ("onset", 88), ("contour", 264))):
    meta = json.load(open(prefix + ".json"))
    grams = {name: np.fromfile(f"{prefix}.{name}.f32", dtype="<f4").reshape(-1, width)
             for name, width in bins}
    return meta, grams


def same_events(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        for k in ("start_frame", "duration_frames", "pitch_midi", "pitch_bends"):
            if x[k] != y[k]:
                return False
        if abs(x["amplitude"] - y["amplitude"]) > PARITY_TOLERANCE:
            return False
    return True


def key_of(chroma, profile="temperley"):
    chroma = np.asarray(chroma, dtype=float)
    if chroma.max() <= 0 or chroma.max() - chroma.min() < 1e-3 * chroma.max():
        return None
    best = (-2.0, None)
    for minor, prof in enumerate(PROFILES[profile]):
        for tonic in range(12):
            r = np.corrcoef(chroma, np.roll(prof, tonic))[0, 1]
            if r > best[0]:
                best = (r, (tonic, bool(minor)))
    return best[1]


def parse_key(text):
    tonic, mode = text.split()
    return NAMES.index(tonic), mode == "minor"


def mirex(est, truth):
    if est is None:
        return 0.0
    up = (est[0] - truth[0]) % 12
    if est[1] == truth[1]:
        return 1.0 if up == 0 else 0.5 if up in (5, 7) else 0.0
    if not truth[1] and est[1] and up == 9:
        return 0.3
    if truth[1] and not est[1] and up == 3:
        return 0.3
    return 0.2 if up == 0 else 0.0


def pitch_classes(notes):
    h = np.zeros(12)
    for n in notes:
        h[n["pitch_midi"] % 12] += n["duration_frames"]
    return h / h.sum() if h.sum() > 0 else h


def tonal_chroma(export, stem):
    for track in export:
        if os.path.basename(track["path"]) == stem + ".wav":
            for a in track["analyses"]:
                if a["analyzer"] == "tonal":
                    return [a["values"][f"chroma_{i}"]["value"] for i in range(12)]
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--clips", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--tonal", required=True)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    truth_keys = {}
    with open(os.path.join(args.corpus, "truth.csv")) as f:
        for row in csv.DictReader(f):
            truth_keys[os.path.splitext(os.path.basename(row["file"]))[0]] = row["key"]
    export = json.load(open(args.tonal))

    stems = sorted(f[:-4] for f in os.listdir(args.clips) if f.endswith(".f32")
                   and "." not in f[:-4])
    rows, worst, all_same = [], 0.0, True
    totals = {"timbre": [0, 0, 0], "node": [0, 0, 0]}  # matched, estimated, truth
    seconds = {"timbre": 0.0, "node": 0.0}
    audio_seconds = 0.0
    keys = {"tonal": [], "notes": [], "combined": []}
    for stem in stems:
        clip = os.path.join(args.clips, stem)
        audio_seconds += os.path.getsize(clip + ".f32") / 4 / 22050
        truth = truth_notes(os.path.join(args.corpus, "src", stem + ".mid"), args.seconds)
        runs = {side: read_run(f"{clip}.{side}") for side in ("timbre", "node")}
        diff = max(float(np.max(np.abs(runs["timbre"][1][k] - runs["node"][1][k])))
                   for k in ("note", "onset", "contour"))
        same = same_events(runs["timbre"][0]["notes"], runs["node"][0]["notes"])
        worst, all_same = max(worst, diff), all_same and same
        row = {"song": stem, "truth_notes": len(truth), "max_diff": diff, "same_events": same}
        for side, (meta, _) in runs.items():
            est = [(n["start_s"], n["pitch_midi"]) for n in meta["notes"]]
            f, p, r, m = f_measure(est, truth)
            row[side] = {"f": round(f, 3), "p": round(p, 3), "r": round(r, 3), "notes": len(est)}
            totals[side][0] += m
            totals[side][1] += len(est)
            totals[side][2] += len(truth)
            seconds[side] += meta["seconds_model"]
        truth_key = parse_key(truth_keys[stem])
        pcp = pitch_classes(runs["timbre"][0]["notes"])
        chroma = tonal_chroma(export, stem)
        tonal = key_of(chroma, "krumhansl") if chroma else None
        combined = None
        if chroma and pcp.max() > 0:
            c = np.asarray(chroma) / max(max(chroma), 1e-12)
            combined = key_of(c + pcp / pcp.max(), "krumhansl")
        keys["tonal"].append(mirex(tonal, truth_key))
        keys["notes"].append(mirex(key_of(pcp), truth_key))
        keys["combined"].append(mirex(combined, truth_key))
        rows.append(row)
        print(f"{stem:28s} truth {len(truth):4d}  timbre F {row['timbre']['f']:.3f} "
              f"({row['timbre']['notes']:4d} notes)  node F {row['node']['f']:.3f} "
              f"({row['node']['notes']:4d})  max diff {diff:.2e}  events "
              f"{'same' if same else 'DIFFER'}")

    def micro(side):
        m, e, t = totals[side]
        p, r = (m / e if e else 0.0), (m / t if t else 0.0)
        return round(2 * p * r / (p + r) if p + r else 0.0, 3)

    per_minute = {s: seconds[s] / audio_seconds * 60 for s in seconds}
    summary = {
        "songs": len(rows), "clip_seconds": args.seconds,
        "f_measure": {"timbre": micro("timbre"), "node": micro("node")},
        "max_posteriorgram_diff": worst, "events_identical": all_same,
        "model_seconds_per_minute": {s: round(v, 3) for s, v in per_minute.items()},
        "speedup_vs_node": round(per_minute["node"] / per_minute["timbre"], 1),
        "mirex_key": {k: round(float(np.mean(v)), 3) for k, v in keys.items()},
    }
    print(json.dumps(summary))
    if args.check:
        problems = []
        if worst > PARITY_TOLERANCE:
            problems.append(f"posteriorgrams differ by {worst:.2e} > {PARITY_TOLERANCE}")
        if not all_same:
            problems.append("note events differ from the original's")
        if summary["f_measure"]["timbre"] < summary["f_measure"]["node"] - 0.01:
            problems.append("timbre's F-measure is below the original's")
        if problems:
            print("notes-eval: " + "; ".join(problems), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
