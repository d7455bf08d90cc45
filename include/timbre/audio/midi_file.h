// Standard MIDI files (format 0) of note events, for `timbre notes --midi`. Written through a
// temporary file and renamed, so a failed write leaves no half file behind.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::audio {

struct MidiNote {
  double start_seconds = 0.0;
  double duration_seconds = 0.0;
  int pitch = 60;     // 0..127
  int velocity = 64;  // 1..127
  // Pitch bends spread evenly over the note, in semitones (the file declares ±2).
  std::vector<double> bends;
};

struct MidiOptions {
  // Each note on a channel of its own (round robin over the 15 melodic channels), so that a
  // note's pitch bends move only that note. Without it every note is on channel 1, unbent.
  bool pitch_bends = false;
};

// The file's bytes: one track at 120 BPM and 480 ticks per quarter note (1/960 s per tick).
std::string EncodeMidi(const std::vector<MidiNote>& notes, const MidiOptions& options);

Status WriteMidiFile(const std::filesystem::path& path, const std::vector<MidiNote>& notes,
                     const MidiOptions& options);

}  // namespace timbre::audio
