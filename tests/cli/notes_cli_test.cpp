// The notes analyzer and `timbre notes` as a user meets them: the converted Basic Pitch model,
// real decoded audio, the real binary. Notes land where the clip plays them, export as MIDI
// that mido reads back, and bad input or a missing model gives clear answers.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace timbre {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;
using testing::ShellQuote;
using testing::TempDir;

class NotesCli : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(library_);
    testing::WriteClip(tmp_ / "clip.f32", library_ / "scale.wav", testing::MakeChordAndScale());
  }

  CommandResult Timbre(const std::string& args) {
    return RunCommand(testing::TimbreBinary() + " --db " + ShellQuote(db_.string()) + " " + args +
                      " 2>&1");
  }
  std::string Models() const {
    return "--models " + ShellQuote(testing::BasicPitchModels().string());
  }
  nlohmann::json Json(const CommandResult& r) {
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.output;
    return j;
  }

  TempDir tmp_;
  fs::path library_ = tmp_ / "library";
  fs::path db_ = tmp_ / "timbre.db";
};

TEST_F(NotesCli, TranscribesTheChordAndTheScaleWhereTheyPlay) {
  auto scan = Timbre("scan -q " + Models() + " " + ShellQuote(library_.string()));
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  auto r = Timbre("notes --json " + ShellQuote((library_ / "scale.wav").string()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = Json(r);
  EXPECT_EQ(j["model_ids"], "basic-pitch");
  EXPECT_EQ(j["model_sha256"].get<std::string>().size(), 64u);
  const auto& notes = j["notes"];
  ASSERT_EQ(notes.size(), 11u) << r.output;
  // The chord first (in pitch order at one time), then one scale note each half second.
  std::vector<int> chord;
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_LT(notes[i]["start"].get<double>(), 0.06);
    EXPECT_GT(notes[i]["duration"].get<double>(), 1.0);  // it fades over 2.5 s
    chord.push_back(notes[i]["pitch"].get<int>());
  }
  EXPECT_EQ(chord, (std::vector<int>{60, 64, 67}));
  const std::vector<int> scale{72, 74, 76, 77, 79, 81, 83, 84};
  for (size_t i = 0; i < scale.size(); ++i) {
    const auto& n = notes[3 + i];
    EXPECT_EQ(n["pitch"].get<int>(), scale[i]);
    EXPECT_NEAR(n["start"].get<double>(), 2.5 + 0.5 * static_cast<double>(i), 0.05) << n;
    EXPECT_EQ(n["pitch_bends"].size(), n["duration_frames"].get<size_t>());
  }
  EXPECT_EQ(notes[3]["name"], "C5");

  // The descriptors: C major, a two-octave range.
  auto show = Json(Timbre("show --json " + ShellQuote((library_ / "scale.wav").string())));
  const std::string shown = show.dump();
  EXPECT_NE(shown.find("\"C major\""), std::string::npos);
  auto where = Timbre("export --format csv --where \"notes.pitch_range >= 24\"");
  EXPECT_EQ(where.exit_code, 0) << where.output;
  EXPECT_NE(where.output.find("scale.wav"), std::string::npos) << where.output;

  auto table = Timbre("notes 1");
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(table.output.find("11 notes"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("C6"), std::string::npos);
}

TEST_F(NotesCli, MidiExportIsReadBackByMido) {
  ASSERT_EQ(Timbre("scan -q " + Models() + " " + ShellQuote(library_.string())).exit_code, 0);
  const fs::path mid = tmp_ / "scale.mid";
  auto r = Timbre("notes 1 --midi " + ShellQuote(mid.string()) + " --pitch-bends");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string read = R"(
import sys, mido
f = mido.MidiFile(sys.argv[1])
t, on = 0.0, []
for m in f:
    t += m.time
    if m.type == 'note_on' and m.velocity > 0:
        on.append((round(t, 3), m.note))
print(len(f.tracks), f.type, ' '.join(f'{n}@{s:g}' for s, n in sorted(on)))
)";
  std::ofstream(tmp_ / "read.py") << read;
  auto back = RunCommand("/usr/bin/python3 " + ShellQuote((tmp_ / "read.py").string()) + " " +
                         ShellQuote(mid.string()) + " 2>&1");
  ASSERT_EQ(back.exit_code, 0) << back.output;
  EXPECT_EQ(back.output.rfind("1 0 ", 0), 0u) << back.output;  // one track, format 0
  auto notes = Json(Timbre("notes 1 --json"))["notes"];
  std::vector<std::pair<double, int>> starts;
  for (const auto& n : notes) {
    // mido sums delta times in seconds; the file keeps 1/960 s ticks.
    const double s = std::round(n["start"].get<double>() * 960.0) / 960.0;
    starts.emplace_back(std::round(s * 1000) / 1000, n["pitch"].get<int>());
  }
  std::sort(starts.begin(), starts.end());
  std::string want = "1 0";
  for (const auto& [s, pitch] : starts) {
    char buf[64];
    std::snprintf(buf, sizeof buf, " %d@%g", pitch, s);
    want += buf;
  }
  EXPECT_EQ(back.output, want + "\n");
  // A folder that does not exist: a clear error, and no file left behind.
  auto bad = Timbre("notes 1 --midi " + ShellQuote((tmp_ / "no" / "x.mid").string()));
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("cannot write"), std::string::npos) << bad.output;
}

TEST_F(NotesCli, WithoutTheModelNotesSaysHowToInstallIt) {
  ASSERT_EQ(Timbre("scan -q " + ShellQuote(library_.string())).exit_code, 0);
  auto r = Timbre("notes 1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("no note events"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("scripts/setup-models.sh"), std::string::npos) << r.output;
  auto analyzers = Timbre("analyzers");
  EXPECT_NE(analyzers.output.find("scripts/setup-models.sh"), std::string::npos)
      << analyzers.output;
  auto with = Timbre("analyzers --json " + Models());
  ASSERT_EQ(with.exit_code, 0) << with.output;
  EXPECT_NE(with.output.find("\"notes\""), std::string::npos);
  EXPECT_EQ(Timbre("notes 99").exit_code, 2);
}

TEST_F(NotesCli, SilenceShortClipsAndNoiseGiveDefinedOutputs) {
  testing::MakeTone(library_ / "silence.flac", 3.0, 440.0, -200.0, 1, 44100, "-c:a flac");
  RunCommand("ffmpeg -v error -f lavfi -i anoisesrc=d=2:a=0.3:seed=5 -ac 1 " +
             ShellQuote((library_ / "noise.flac").string()));
  testing::MakeTone(library_ / "short.flac", 0.3, 440.0, -6.0, 2, 48000, "-c:a flac");
  auto scan =
      Timbre("scan --json " + Models() + " " + ShellQuote(library_.string()) + " | tail -n 1");
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  auto tracks = Json(Timbre("export --format json"));
  ASSERT_TRUE(tracks.is_array()) << tracks;
  int checked = 0;
  for (const auto& t : tracks) {
    const std::string dump = t.dump();
    EXPECT_EQ(dump.find("NaN"), std::string::npos);
    const std::string path = t["path"];
    if (path.find("scale.wav") != std::string::npos) continue;
    auto notes = Json(Timbre("notes --json " + ShellQuote(path)));
    ASSERT_TRUE(notes.contains("notes")) << path << notes;
    if (path.find("silence") != std::string::npos) {
      EXPECT_EQ(notes["notes"].size(), 0u) << path;
    }
    if (path.find("short") != std::string::npos) {
      EXPECT_LE(notes["notes"].size(), 1u) << path;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 3);
  // The notes-v1 space holds the tracks that have notes: never the silent one.
  auto similar =
      Timbre("similar --json --space notes-v1 " + ShellQuote((library_ / "scale.wav").string()));
  ASSERT_EQ(similar.exit_code, 0) << similar.output;
  const auto near = Json(similar);
  EXPECT_EQ(near["space"], "notes-v1");
  for (const auto& t : near["tracks"]) {
    EXPECT_EQ(t["path"].get<std::string>().find("silence"), std::string::npos) << t;
  }
}

TEST_F(NotesCli, ABrokenModelFileLeavesTheRestOfTheScan) {
  const fs::path models = tmp_ / "models";
  fs::create_directories(models);
  const fs::path from = testing::BasicPitchModels() / "basic-pitch";
  std::ifstream in(from / "basic-pitch.toml");
  std::string manifest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Garbage with a matching checksum: it passes verification and fails to load.
  std::ofstream(models / "basic-pitch.pt") << "not a TorchScript archive";
  const auto sum =
      RunCommand("sha256sum " + ShellQuote((models / "basic-pitch.pt").string()) + " | cut -c1-64");
  const size_t at = manifest.find("sha256 = \"") + 10;
  manifest.replace(at, 64, sum.output.substr(0, 64));
  std::ofstream(models / "basic-pitch.toml") << manifest;
  auto scan = Timbre("scan -q --models " + ShellQuote(models.string()) + " " +
                     ShellQuote(library_.string()));
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  auto show = Timbre("show --json 1");
  EXPECT_NE(show.output.find("\"loudness\""), std::string::npos);
  auto notes = Timbre("notes 1");
  EXPECT_EQ(notes.exit_code, 1) << notes.output;
  EXPECT_NE(notes.output.find("failed"), std::string::npos) << notes.output;
}

}  // namespace
}  // namespace timbre

namespace timbre {
namespace {

TEST(NotesSetup, WithoutTheRegistryNothingIsInstalledAndTheReasonIsClear) {
  TempDir tmp;
  const auto r = RunCommand("npm_config_registry=http://127.0.0.1:9/ " +
                            ShellQuote(testing::SourcePath("scripts/setup-models.sh").string()) +
                            " --models " + ShellQuote((tmp / "models").string()) + " --npm-cache " +
                            ShellQuote((tmp / "npm").string()) + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("unreachable"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(tmp / "models" / "basic-pitch"));
}

TEST(NotesSetup, TheConverterRefusesADamagedPackage) {
  TempDir tmp;
  const std::string converter =
      "/usr/bin/python3 " +
      ShellQuote(testing::SourcePath("scripts/convert-basic-pitch.py").string());
  auto missing = RunCommand(converter + " --package " + ShellQuote((tmp / "none").string()) +
                            " --out " + ShellQuote((tmp / "out").string()) + " 2>&1");
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  // A copy of the package whose weights are cut short.
  fs::create_directories(tmp / "pkg" / "model");
  const fs::path model = testing::BasicPitchPackage() / "model";
  fs::copy_file(model / "model.json", tmp / "pkg" / "model" / "model.json");
  fs::copy_file(model / "group1-shard1of1.bin", tmp / "pkg" / "model" / "group1-shard1of1.bin");
  fs::resize_file(tmp / "pkg" / "model" / "group1-shard1of1.bin", 1000);
  auto truncated = RunCommand(converter + " --package " + ShellQuote((tmp / "pkg").string()) +
                              " --out " + ShellQuote((tmp / "out").string()) + " 2>&1");
  EXPECT_EQ(truncated.exit_code, 1) << truncated.output;
  EXPECT_FALSE(fs::exists(tmp / "out" / "basic-pitch.pt"));
  std::ofstream(tmp / "pkg" / "model" / "model.json") << "{\"format\": ";
  auto broken = RunCommand(converter + " --package " + ShellQuote((tmp / "pkg").string()) +
                           " --out " + ShellQuote((tmp / "out").string()) + " 2>&1");
  EXPECT_EQ(broken.exit_code, 1) << broken.output;
  EXPECT_FALSE(fs::exists(tmp / "out" / "basic-pitch.toml"));
}

}  // namespace
}  // namespace timbre
