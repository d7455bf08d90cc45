#include "timbre/store/notes_view.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "timbre/analysis/model_analyzers.h"
#include "timbre/core/paths.h"
#include "timbre/dsp/tonal.h"

namespace timbre::store {

Result<TrackNotes> NotesOf(const TrackDetails& track, const std::filesystem::path& models_dir) {
  TrackNotes out;
  for (const auto& a : track.analyses) {
    if (a.provenance.analyzer == "notes") out.analysis = &a;
  }
  const TextValue* events = nullptr;
  for (const auto& t : track.texts) {
    if (t.analyzer == "notes" && t.name == "events") events = &t;
  }
  if (out.analysis == nullptr || events == nullptr) {
    const std::string why =
        out.analysis != nullptr && !out.analysis->notes.empty()
            ? "its notes analysis failed: " + out.analysis->notes.front()
            : analysis::NotesNotInstalled(models_dir) + "; scan again once it is";
    return NotFound(fmt::format("track {} has no note events: {}", track.track.key.id, why))
        .WithReason("no_notes");
  }
  auto decoded = dsp::DecodeNoteText(events->value);
  if (!decoded.ok()) return decoded.status();
  for (auto& e : *decoded) {
    const double start = dsp::NoteFrameSeconds(e.start_frame);
    const double end = dsp::NoteFrameSeconds(e.start_frame + e.duration_frames);
    out.notes.push_back({std::move(e), start, end - start});
  }
  std::stable_sort(out.notes.begin(), out.notes.end(), [](const TimedNote& a, const TimedNote& b) {
    return a.start != b.start ? a.start < b.start : a.event.pitch < b.event.pitch;
  });
  return out;
}

std::string NoteName(int pitch) {
  return fmt::format("{}{}", dsp::PitchClassName(pitch % 12), pitch / 12 - 1);
}

nlohmann::json NotesJson(const TrackDetails& track, const TrackNotes& notes) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : notes.notes) {
    list.push_back({{"start", n.start},
                    {"duration", n.duration},
                    {"pitch", n.event.pitch},
                    {"name", NoteName(n.event.pitch)},
                    {"amplitude", n.event.amplitude},
                    {"start_frame", n.event.start_frame},
                    {"duration_frames", n.event.duration_frames},
                    {"pitch_bends", n.event.pitch_bends}});
  }
  const auto& p = notes.analysis->provenance;
  return {
      {"track_id", track.track.key.id},
      {"path", SanitizeUtf8(track.track.key.path)},
      {"analyzer", {{"name", p.analyzer}, {"version", p.analyzer_version}, {"params", p.params}}},
      {"model_ids", p.model_ids},
      {"model_sha256", p.model_sha256},
      {"bend_unit", "1/3 semitone"},
      {"notes", list}};
}

std::vector<audio::MidiNote> MidiNotes(const TrackNotes& notes) {
  std::vector<audio::MidiNote> out;
  for (const auto& n : notes.notes) {
    audio::MidiNote m;
    m.start_seconds = n.start;
    m.duration_seconds = n.duration;
    m.pitch = n.event.pitch;
    m.velocity = static_cast<int>(std::lround(n.event.amplitude * 127.0));
    for (int b : n.event.pitch_bends) {
      m.bends.push_back(static_cast<double>(b) / dsp::kContourBinsPerSemitone);
    }
    out.push_back(std::move(m));
  }
  return out;
}

}  // namespace timbre::store
