// timbre notes TRACK: the note events the notes analyzer stored for a track, as a table, JSON
// or a standard MIDI file.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "commands.h"
#include "timbre/analysis/model_analyzers.h"
#include "timbre/audio/midi_file.h"
#include "timbre/dsp/notes.h"
#include "timbre/dsp/tonal.h"
#include "timbre/models/registry.h"

namespace timbre::cli {
namespace {

struct NotesArgs {
  std::string track;
  bool json = false;
  std::string midi;
  bool pitch_bends = false;
};

// "C4" for 60.
std::string NoteName(int pitch) {
  return fmt::format("{}{}", dsp::PitchClassName(pitch % 12), pitch / 12 - 1);
}

struct TimedNote {
  const dsp::NoteEvent* event;
  double start = 0.0;
  double duration = 0.0;
};

std::vector<TimedNote> InTimeOrder(const std::vector<dsp::NoteEvent>& events) {
  std::vector<TimedNote> out;
  for (const auto& e : events) {
    const double start = dsp::NoteFrameSeconds(e.start_frame);
    out.push_back({&e, start, dsp::NoteFrameSeconds(e.start_frame + e.duration_frames) - start});
  }
  std::stable_sort(out.begin(), out.end(), [](const TimedNote& a, const TimedNote& b) {
    return a.start != b.start ? a.start < b.start : a.event->pitch < b.event->pitch;
  });
  return out;
}

nlohmann::json NotesJson(const store::TrackDetails& d, const store::StoredAnalysis& a,
                         const std::vector<TimedNote>& notes) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& n : notes) {
    list.push_back({{"start", n.start},
                    {"duration", n.duration},
                    {"pitch", n.event->pitch},
                    {"name", NoteName(n.event->pitch)},
                    {"amplitude", n.event->amplitude},
                    {"start_frame", n.event->start_frame},
                    {"duration_frames", n.event->duration_frames},
                    {"pitch_bends", n.event->pitch_bends}});
  }
  const auto& p = a.provenance;
  return {
      {"track_id", d.track.key.id},
      {"path", d.track.key.path},
      {"analyzer", {{"name", p.analyzer}, {"version", p.analyzer_version}, {"params", p.params}}},
      {"model_ids", p.model_ids},
      {"model_sha256", p.model_sha256},
      {"bend_unit", "1/3 semitone"},
      {"notes", list}};
}

int RunNotes(const NotesArgs& args, const GlobalOptions& global) {
  auto store = store::OpenStore(StoreUrl(global));
  if (!store.ok()) return Fail(store.status().message(), 2);
  auto id = ResolveTrack(**store, args.track);
  if (!id.ok()) return Fail(id.status().message(), 2);
  auto details = (*store)->GetTrack(*id);
  if (!details.ok()) return Fail(details.status().message());
  if (!*details) return Fail(fmt::format("no track with id {}", *id), 2);
  const store::TrackDetails& d = **details;
  const store::StoredAnalysis* analysis = nullptr;
  for (const auto& a : d.analyses) {
    if (a.provenance.analyzer == "notes") analysis = &a;
  }
  const store::TextValue* events = nullptr;
  for (const auto& t : d.texts) {
    if (t.analyzer == "notes" && t.name == "events") events = &t;
  }
  if (analysis == nullptr || events == nullptr) {
    std::string why =
        analysis != nullptr && !analysis->notes.empty()
            ? "its notes analysis failed: " + analysis->notes.front()
            : analysis::NotesNotInstalled(models::DefaultModelsDir()) + "; scan again once it is";
    return Fail(fmt::format("track {} has no note events: {}", *id, why));
  }
  auto decoded = dsp::DecodeNoteText(events->value);
  if (!decoded.ok()) return FailWith(decoded.status());
  const std::vector<TimedNote> notes = InTimeOrder(*decoded);

  if (!args.midi.empty()) {
    std::vector<audio::MidiNote> midi;
    for (const auto& n : notes) {
      audio::MidiNote m;
      m.start_seconds = n.start;
      m.duration_seconds = n.duration;
      m.pitch = n.event->pitch;
      m.velocity = static_cast<int>(std::lround(n.event->amplitude * 127.0));
      for (int b : n.event->pitch_bends) {
        m.bends.push_back(static_cast<double>(b) / dsp::kContourBinsPerSemitone);
      }
      midi.push_back(std::move(m));
    }
    if (Status s = audio::WriteMidiFile(args.midi, midi, {args.pitch_bends}); !s.ok()) {
      return FailWith(s);
    }
  }
  if (args.json) {
    std::printf("%s\n", Dump(NotesJson(d, *analysis, notes), 2).c_str());
    return 0;
  }
  std::printf("track %lld: %zu notes (%s)\n", static_cast<long long>(d.track.key.id), notes.size(),
              analysis->provenance.model_ids.c_str());
  if (!args.midi.empty()) std::printf("wrote %s\n", args.midi.c_str());
  std::printf("%9s  %8s  %-5s %4s  %9s\n", "start s", "length s", "note", "midi", "amplitude");
  for (const auto& n : notes) {
    std::printf("%9.3f  %8.3f  %-5s %4d  %9.3f\n", n.start, n.duration,
                NoteName(n.event->pitch).c_str(), n.event->pitch, n.event->amplitude);
  }
  return 0;
}

}  // namespace

void AddNotesCommand(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<NotesArgs>();
  CLI::App* cmd = app.add_subcommand(
      "notes",
      "Show the note events transcribed for a track (the notes analyzer, run by scans when "
      "the Basic Pitch model is installed), or export them as a MIDI file.");
  cmd->add_option("track", args->track, "a track id or a file path")->required();
  cmd->add_flag("--json", args->json, "print JSON (times in seconds, bends in 1/3 semitones)");
  cmd->add_option("--midi", args->midi, "also write a standard MIDI file (format 0) here");
  cmd->add_flag("--pitch-bends", args->pitch_bends,
                "with --midi: give each note its own channel and write its pitch bends");
  cmd->callback([args, &global] { global.exit_code = RunNotes(*args, global); });
}

}  // namespace timbre::cli
