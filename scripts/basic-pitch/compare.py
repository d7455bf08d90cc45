#!/usr/bin/python3
"""Compare the converted Basic Pitch (TorchScript) with the original run in node.

    /usr/bin/python3 compare.py --model basic-pitch.pt --in clip.f32 --ref OUTPREFIX
    /usr/bin/python3 compare.py --make-clip clip.f32

The first form windows clip.f32 (raw little-endian float32 mono, 22050 Hz) the
way the npm package's BasicPitch.evaluateModel does, runs all windows through
the .pt as one batch, and prints the largest absolute difference from
OUTPREFIX.{note,onset,contour}.f32 written by run-node.js, plus timings. The
exit status is 1 when a difference exceeds --tolerance. The second form writes
a 7.3 s synthetic test clip: a C major chord, then a rising melody.

Needs Debian's python3-torch and python3-numpy (hence /usr/bin/python3).
"""

import argparse
import math
import os
import sys
import time

import numpy as np
import torch

SAMPLE_RATE = 22050
HOP = 256
WINDOW = SAMPLE_RATE * 2 - HOP          # 43844 samples per model call
OVERLAP_FRAMES = 30                     # frames shared by neighbouring windows
TRIM = OVERLAP_FRAMES // 2              # dropped at each end of a window's output
WINDOW_HOP = WINDOW - OVERLAP_FRAMES * HOP
FPS = SAMPLE_RATE // HOP                # 86: the package floors it
OUTPUTS = (("note", 88), ("onset", 88), ("contour", 264))


def frame_audio(audio):
    """[windows, WINDOW]: half an overlap of zeros in front, then frames as
    tf.signal.frame(..., padEnd=true) cuts them: every start before the end
    of the signal, the last ones zero-filled."""
    signal = np.concatenate([np.zeros(OVERLAP_FRAMES * HOP // 2, np.float32), audio])
    windows, start = [], 0
    while start < len(signal):
        chunk = signal[start:start + WINDOW]
        windows.append(np.pad(chunk, (0, WINDOW - len(chunk))))
        start += WINDOW_HOP
    return np.stack(windows).astype(np.float32)


def run_model(model, audio):
    """The three posteriorgrams of a whole clip, stitched as the package does."""
    with torch.no_grad():
        outputs = model(torch.from_numpy(frame_audio(audio)))
    frames = math.floor(len(audio) * (FPS / SAMPLE_RATE))
    stitched = []
    for y in outputs:
        y = y[:, TRIM:y.shape[1] - TRIM, :].reshape(-1, y.shape[2])
        stitched.append(y[:frames].numpy())
    return stitched


def read_f32(path, width=None):
    data = np.fromfile(path, dtype="<f4")
    return data if width is None else data.reshape(-1, width)


def make_clip(path):
    """A C major chord for 3 s, then eight decaying melody notes (C5 to C6)."""
    n = int(7.3 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    hz = lambda midi: 440.0 * 2 ** ((midi - 69) / 12.0)
    audio = np.zeros(n)
    chord = int(3 * SAMPLE_RATE)
    for midi in (60, 64, 67):
        audio[:chord] += 0.2 * np.sin(2 * np.pi * hz(midi) * t[:chord])
    for i, midi in enumerate((72, 74, 76, 77, 79, 81, 83, 84)):
        a = int((3.2 + 0.5 * i) * SAMPLE_RATE)
        b = min(n, a + int(0.45 * SAMPLE_RATE))
        tt = t[a:b] - t[a]
        audio[a:b] += 0.3 * np.sin(2 * np.pi * hz(midi) * tt) * np.exp(-3 * tt)
    audio.astype("<f4").tofile(path)
    print("wrote %s: %d samples (%.2f s)" % (path, n, n / SAMPLE_RATE))


def timed_runs(model, audio, threads, repeats=3):
    torch.set_num_threads(threads)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_model(model, audio)
        times.append(time.perf_counter() - t0)
    return times


def compare(args):
    model = torch.jit.load(args.model).eval()
    audio = read_f32(args.input)
    ours = run_model(model, audio)
    worst = 0.0
    for (name, width), got in zip(OUTPUTS, ours):
        ref = read_f32("%s.%s.f32" % (args.ref, name), width)
        if ref.shape != got.shape:
            print("%-8s shape %s, node has %s" % (name, got.shape, ref.shape))
            return 1
        diff = np.abs(ref - got)
        worst = max(worst, float(diff.max()))
        print("%-8s %4d x %3d  max abs diff %.3g  mean %.3g" % (
            name, got.shape[0], width, diff.max(), diff.mean()))

    windows = frame_audio(audio).shape[0]
    threads = torch.get_num_threads()
    times = timed_runs(model, audio, threads)
    line = "torch: %d windows in one batch, first run %.3f s, best %.3f s on %d thread%s" % (
        windows, times[0], min(times), threads, "s" if threads > 1 else "")
    if threads > 1:  # tfjs's CPU backend is single-threaded
        line += ", best %.3f s on 1 thread" % min(timed_runs(model, audio, 1))
    print(line)
    if worst > args.tolerance:
        print("FAIL: differences exceed %g" % args.tolerance)
        return 1
    print("OK: all within %g" % args.tolerance)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="basic-pitch.pt")
    parser.add_argument("--in", dest="input", help="clip.f32: float32 mono at 22050 Hz")
    parser.add_argument("--ref", help="OUTPREFIX given to run-node.js")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--make-clip", metavar="PATH", help="write the synthetic test clip")
    args = parser.parse_args(argv)
    if args.make_clip:
        make_clip(args.make_clip)
        return 0
    if not (args.model and args.input and args.ref):
        parser.error("--model, --in and --ref are required (or --make-clip)")
    for path in (args.model, args.input):
        if not os.path.isfile(path):
            parser.error("%s: no such file" % path)
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
