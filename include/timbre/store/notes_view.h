// A track's stored note events (the notes analyzer, docs/notes.md) as `timbre notes` and
// GET /v1/tracks/{id}/notes give them: in time order, as JSON or as MIDI notes.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "timbre/audio/midi_file.h"
#include "timbre/dsp/notes.h"
#include "timbre/store/store.h"

namespace timbre::store {

struct TimedNote {
  dsp::NoteEvent event;
  double start = 0.0;  // seconds
  double duration = 0.0;
};

struct TrackNotes {
  const StoredAnalysis* analysis = nullptr;  // points into the TrackDetails it came from
  std::vector<TimedNote> notes;              // by start, then pitch
};

// The notes of `track`, or NotFound (reason no_notes) saying why it has none: the analysis
// failed (its stored note), or no transcription model ran (`models_dir` named in the
// message with the command that installs one). Corrupt when the stored text is damaged.
Result<TrackNotes> NotesOf(const TrackDetails& track, const std::filesystem::path& models_dir);

// {track_id, path, analyzer, model_ids, model_sha256, bend_unit, notes: [{start, duration,
// pitch, name, amplitude, start_frame, duration_frames, pitch_bends}]}.
nlohmann::json NotesJson(const TrackDetails& track, const TrackNotes& notes);

// "C4" for MIDI 60.
std::string NoteName(int pitch);

// Velocity from amplitude (× 127), bends in semitones.
std::vector<audio::MidiNote> MidiNotes(const TrackNotes& notes);

}  // namespace timbre::store
