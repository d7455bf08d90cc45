// Note events from Basic Pitch's posteriorgrams (docs/notes.md).
//
// DecodeNotes turns the note ("frames"), onset and pitch-contour posteriorgrams of a whole
// track into note events the way the published @spotify/basic-pitch 1.0.1 package does
// (outputToNotesPoly, addPitchBendsToNoteEvents, noteFramesToTime, all with their default
// arguments), so that the same posteriorgrams give the same events, ties and all.
//
// The note summary (pitch range, density, a duration-weighted pitch-class histogram) and the
// compact text form that the store keeps are here too.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::dsp {

// Basic Pitch's fixed geometry: 88 piano keys from A0, a contour of three bins per semitone,
// 22,050 Hz audio in 2 s windows (less one hop of 256 samples), 172 frames per window, of
// which neighbouring windows share 30.
inline constexpr int kNoteBins = 88;
inline constexpr int kLowestMidi = 21;
inline constexpr int kContourBinsPerSemitone = 3;
inline constexpr int kContourBins = kNoteBins * kContourBinsPerSemitone;
inline constexpr int kNoteSampleRate = 22050;
inline constexpr int kNoteFrameHop = 256;
inline constexpr int kNoteFramesPerSecond = kNoteSampleRate / kNoteFrameHop;  // 86, as published
inline constexpr size_t kNoteWindow = 2 * kNoteSampleRate - kNoteFrameHop;    // 43,844 samples
inline constexpr size_t kNoteWindowFrames = 172;
inline constexpr size_t kNoteOverlapFrames = 30;
inline constexpr size_t kNoteWindowHop = kNoteWindow - kNoteOverlapFrames * kNoteFrameHop;
inline constexpr size_t kNoteLeadIn = kNoteOverlapFrames * kNoteFrameHop / 2;  // zeros first

// Row-major posteriorgrams of one track: note and onset [frames x 88], contour [frames x 264].
struct Posteriorgrams {
  size_t frames = 0;
  std::vector<float> note;
  std::vector<float> onset;
  std::vector<float> contour;
};

// Output frames of a track of `samples` samples at 22,050 Hz (the package's rounding).
size_t NoteFramesFor(size_t samples);

struct NoteDecodeOptions {
  double onset_threshold = 0.5;  // an onset peak must exceed this
  double frame_threshold = 0.3;  // a note lasts while its frame posterior stays above this
  int min_note_frames = 5;       // notes this short or shorter are dropped
  int energy_tolerance = 11;     // frames a note may dip below the threshold
  bool infer_onsets = true;      // also start notes where frame posteriors jump
  bool melodia_trick = true;     // then collect notes left in the remaining energy
};

struct NoteEvent {
  int start_frame = 0;
  int duration_frames = 0;
  int pitch = 0;           // MIDI
  double amplitude = 0.0;  // mean frame posterior over the note, 0..1
  // Per frame, the contour's peak near the note relative to its pitch, in thirds of a
  // semitone (−25..25).
  std::vector<int> pitch_bends;
};

std::vector<NoteEvent> DecodeNotes(const Posteriorgrams& p, const NoteDecodeOptions& options = {});

// Seconds of a model frame, with the package's per-window correction.
double NoteFrameSeconds(int frame);

struct NoteSummary {
  size_t count = 0;
  double density = 0.0;  // notes per second of audio
  int lowest = 0;        // MIDI; 0 without notes
  int highest = 0;
  double mean_pitch = 0.0;                 // duration-weighted
  std::array<double, 12> pitch_classes{};  // duration-weighted, C..B, sums to 1 (or all 0)
};
NoteSummary SummariseNotes(const std::vector<NoteEvent>& notes, double seconds);

// A melodic and harmonic description of a track that does not depend on its key, for the
// `notes-v1` embedding space: the intervals between notes sounding together (12 classes,
// weighted by how long they overlap), the pitch-class histogram rotated to the tonic of
// `tonic` (12), whether that key is minor, and six scalars (density, mean pitch, range,
// mean duration, polyphony, mean amplitude), each scaled to about 0..1. Empty without notes.
inline constexpr size_t kNoteFeatureDims = 31;
std::vector<float> NoteFeatures(const std::vector<NoteEvent>& notes, const NoteSummary& summary,
                                int tonic, bool minor, double seconds);

// The compact text form: "bp1;" then one "start,duration,pitch,amplitude‰,bends" per note,
// separated by ';'. Frames are deltas from the previous note's start; bends are one letter
// per frame ('a' = 0, 'b'..'z' = +1..+25, 'A'..'Y' = −1..−25). Amplitudes keep 3 decimals.
std::string EncodeNotes(const std::vector<NoteEvent>& notes);
Result<std::vector<NoteEvent>> DecodeNoteText(std::string_view text);

}  // namespace timbre::dsp
