// timbre notes TRACK: the note events the notes analyzer stored for a track, as a table, JSON
// or a standard MIDI file.
#include <cstdio>
#include <memory>

#include "commands.h"
#include "timbre/audio/midi_file.h"
#include "timbre/service/library.h"

namespace timbre::cli {
namespace {

struct NotesArgs {
  std::string track;
  bool json = false;
  std::string midi;
  bool pitch_bends = false;
};

int RunNotes(const NotesArgs& args, const GlobalOptions& global) {
  auto engine = OpenEngine(global);
  if (!engine.ok()) return FailWith(engine.status());
  auto details = service::LoadTrack(**engine, args.track);
  if (!details.ok()) return FailWith(details.status());
  const store::TrackDetails& d = *details;
  auto found = service::TrackNotes(**engine, d);
  if (!found.ok()) return Fail(found.status().message(), 1);
  const std::vector<store::TimedNote>& notes = found->notes;

  if (!args.midi.empty()) {
    if (Status s = audio::WriteMidiFile(args.midi, store::MidiNotes(*found), {args.pitch_bends});
        !s.ok()) {
      return FailWith(s);
    }
  }
  if (args.json) {
    std::printf("%s\n", Dump(store::NotesJson(d, *found), 2).c_str());
    return 0;
  }
  std::printf("track %lld: %zu notes (%s)\n", static_cast<long long>(d.track.key.id), notes.size(),
              found->analysis->provenance.model_ids.c_str());
  if (!args.midi.empty()) std::printf("wrote %s\n", args.midi.c_str());
  std::printf("%9s  %8s  %-5s %4s  %9s\n", "start s", "length s", "note", "midi", "amplitude");
  for (const auto& n : notes) {
    std::printf("%9.3f  %8.3f  %-5s %4d  %9.3f\n", n.start, n.duration,
                store::NoteName(n.event.pitch).c_str(), n.event.pitch, n.event.amplitude);
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
