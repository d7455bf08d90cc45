// tags write / tags show / export, run as a user would: a small library in six tagged
// formats (and a WAV, which has no tag writer), scanned, tagged, read back by mutagen and
// beets, rescanned; then the failures: read-only files, files changed since the scan, a
// full disk.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <regex>

#include "test_support.h"

namespace timbre {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;
using testing::ShellQuote;
using testing::TempDir;

const char* kFormats[][2] = {
    {"a.flac", "-c:a flac"},         {"b.mp3", "-c:a libmp3lame -b:a 128k"},
    {"c.ogg", "-c:a libvorbis"},     {"d.opus", "-c:a libopus -b:a 64k"},
    {"e.m4a", "-c:a aac -b:a 128k"}, {"f.wv", "-c:a wavpack"},
};

// A pulse at 120 BPM on an A; tagged as one album so that album gain is computed.
void MakeTrack(const fs::path& path, const std::string& codec_args, double freq = 440.0) {
  const std::string expr = "0.5*sin(2*PI*" + std::to_string(freq) + "*t)*exp(-6*mod(t\\,0.5))";
  const std::string cmd = "ffmpeg -nostdin -v error -y -f lavfi -i " +
                          ShellQuote("aevalsrc=" + expr + ":s=44100:d=8") + " -ac 2 " + codec_args +
                          " -metadata album=Pulses -metadata artist=Tester " +
                          ShellQuote(path.string());
  ASSERT_EQ(RunCommand(cmd).exit_code, 0) << cmd;
}

std::string Bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string DecodedMd5(const fs::path& path) {
  return RunCommand("ffmpeg -nostdin -v error -i " + ShellQuote(path.string()) +
                    " -map 0:a -f s16le - | md5sum")
      .output.substr(0, 32);
}

// Reads every file's tags with mutagen into {path: {NAME: value}}, names upper-cased the
// way players compare them: ID3 frames by their meaning (TBPM → BPM, TKEY → INITIALKEY,
// TXXX by description), MP4 tmpo → BPM and free-form atoms by name ("----:nom:x" → NOM:X).
const char* kMutagenReader = R"py(
import json, sys, mutagen
out = {}
for path in sys.argv[1:]:
    f = mutagen.File(path)
    tags = {}
    for key, value in (f.tags.items() if f.tags is not None else []):
        if key.startswith('TXXX:'):
            tags[value.desc.upper()] = str(value.text[0])
        elif key == 'TBPM':
            tags['BPM'] = str(value.text[0])
        elif key == 'TKEY':
            tags['INITIALKEY'] = str(value.text[0])
        elif key == 'tmpo':
            tags['BPM'] = str(value[0])
        elif key.startswith('----:com.apple.iTunes:'):
            tags[key[22:].upper()] = bytes(value[0]).decode()
        elif key.startswith('----:'):
            tags[key[5:].upper()] = bytes(value[0]).decode()
        elif isinstance(value, list):
            tags[key.upper()] = str(value[0])
        else:
            tags[key.upper()] = str(value)
    out[path] = tags
print(json.dumps(out))
)py";

class TagsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    lib_ = dir_ / "lib";
    fs::create_directories(lib_);
    for (const auto& [name, args] : kFormats) MakeTrack(lib_ / name, args);
    MakeTrack(lib_ / "g.wav", "-c:a pcm_s16le");
    ScanOk();
  }

  CommandResult Timbre(const std::string& args, bool merge_stderr = false) const {
    return RunCommand(testing::TimbreBinary() + " --db " + ShellQuote((dir_ / "t.db").string()) +
                      " " + args + (merge_stderr ? " 2>&1" : " 2>/dev/null"));
  }
  nlohmann::json Json(const std::string& args, int want_exit = 0) const {
    const auto r = Timbre(args + " --json");
    EXPECT_EQ(r.exit_code, want_exit) << args << "\n" << r.output;
    return nlohmann::json::parse(r.output, nullptr, false);
  }
  // The scan's JSON summary (its last line).
  nlohmann::json ScanOk() const {
    const auto r = Timbre("scan --json " + ShellQuote(lib_.string()));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    std::string last;
    std::stringstream lines(r.output);
    for (std::string line; std::getline(lines, line);) {
      if (!line.empty()) last = line;
    }
    return nlohmann::json::parse(last, nullptr, false);
  }
  std::map<std::string, std::string> TagsOf(const fs::path& path) const {
    return Mutagen({path}).at(path.string());
  }
  std::map<std::string, std::map<std::string, std::string>> Mutagen(
      const std::vector<fs::path>& paths) const {
    const auto script = dir_ / "read_tags.py";
    std::ofstream(script) << kMutagenReader;
    std::string cmd = "/usr/bin/python3 " + ShellQuote(script.string());
    for (const auto& p : paths) cmd += " " + ShellQuote(p.string());
    const auto r = RunCommand(cmd);
    EXPECT_EQ(r.exit_code, 0) << cmd;
    return nlohmann::json::parse(r.output)
        .get<std::map<std::string, std::map<std::string, std::string>>>();
  }

  TempDir dir_;
  fs::path lib_;
};

TEST_F(TagsCliTest, WritesFieldsThatMutagenAndBeetsRead) {
  std::map<std::string, std::string> audio;
  for (const auto& [name, args] : kFormats) audio[name] = DecodedMd5(lib_ / name);

  const auto result = Json("tags write " + ShellQuote(lib_.string()), 0);
  ASSERT_TRUE(result.is_object());
  EXPECT_EQ(result["changed"], 6);
  EXPECT_EQ(result["skipped"], 1);  // the WAV
  EXPECT_EQ(result["failed"], 0);

  std::vector<fs::path> written;
  for (const auto& r : result["results"]) {
    if (r["status"] == "written") written.push_back(r["path"].get<std::string>());
  }
  const auto read = Mutagen(written);
  for (const auto& r : result["results"]) {
    if (r["status"] != "written") {
      EXPECT_EQ(r["error"]["reason"], "unsupported_container") << r.dump();
      continue;
    }
    const auto& tags = read.at(r["path"].get<std::string>());
    std::set<std::string> names;
    for (const auto& c : r["changes"]) {
      std::string name = c["name"];
      std::transform(name.begin(), name.end(), name.begin(), ::toupper);
      names.insert(name);
      ASSERT_TRUE(tags.count(name)) << r["path"] << " lacks " << name;
      EXPECT_EQ(tags.at(name), c["after"].get<std::string>()) << r["path"] << " " << name;
    }
    for (const char* want :
         {"BPM", "INITIALKEY", "REPLAYGAIN_TRACK_GAIN", "REPLAYGAIN_TRACK_PEAK",
          "REPLAYGAIN_ALBUM_GAIN", "REPLAYGAIN_ALBUM_PEAK", "TIMBRE_PROVENANCE"}) {
      EXPECT_TRUE(names.count(want)) << r["path"] << " " << want;
    }
    // A 120 BPM pulse (or its double or half, as tempo trackers may count it).
    const int bpm = std::stoi(tags.at("BPM"));
    EXPECT_TRUE(std::abs(bpm - 120) <= 2 || std::abs(bpm - 240) <= 3 || std::abs(bpm - 60) <= 2)
        << bpm;
    bool nom = false;
    for (const auto& [name, value] : tags) nom |= name.rfind("NOM:TIMBRE_DSP_", 0) == 0;
    EXPECT_TRUE(nom) << r["path"];
  }

  // Never the audio.
  for (const auto& [name, args] : kFormats) EXPECT_EQ(DecodedMd5(lib_ / name), audio[name]) << name;

  // The next scan takes our write for what it is: no file is analysed again.
  const auto rescan = ScanOk();
  EXPECT_EQ(rescan["unchanged"], 7) << rescan.dump();
  EXPECT_EQ(rescan["updated"], 0);
  // And writing again changes nothing.
  const auto again = Json("tags write " + ShellQuote(lib_.string()));
  EXPECT_EQ(again["changed"], 0);
  EXPECT_EQ(again["unchanged"], 6);

  // beets imports the folder as it is and sees BPM, key and ReplayGain.
  const auto beets = dir_ / "beets";
  fs::create_directories(beets);
  std::ofstream(beets / "config.yaml") << "directory: " << (dir_ / "music").string()
                                       << "\nlibrary: " << (beets / "library.db").string()
                                       << "\nimport:\n  copy: no\n  write: no\n  autotag: no\n";
  const std::string beet = "BEETSDIR=" + ShellQuote(beets.string()) + " beet ";
  ASSERT_EQ(
      RunCommand(beet + "import -q -A -C -W " + ShellQuote(lib_.string()) + " 2>&1").exit_code, 0);
  const auto listed =
      RunCommand(beet + "ls -f '$path|$bpm|$initial_key|$rg_track_gain|$rg_album_gain' 2>&1");
  ASSERT_EQ(listed.exit_code, 0);
  const auto tags = Mutagen(written);
  size_t rows = 0;
  std::stringstream lines(listed.output);
  for (std::string line; std::getline(lines, line);) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '|');) cells.push_back(cell);
    ASSERT_EQ(cells.size(), 5u) << line;
    if (!tags.count(cells[0])) continue;  // the WAV
    ++rows;
    const auto& t = tags.at(cells[0]);
    EXPECT_EQ(cells[1], t.at("BPM")) << line;
    EXPECT_FALSE(cells[2].empty()) << line;  // beets spells flats as sharps: Eb → D#
    EXPECT_NEAR(std::stod(cells[3]), std::stod(t.at("REPLAYGAIN_TRACK_GAIN")), 0.051) << line;
    EXPECT_NEAR(std::stod(cells[4]), std::stod(t.at("REPLAYGAIN_ALBUM_GAIN")), 0.051) << line;
  }
  EXPECT_EQ(rows, 6u) << listed.output;
}

TEST_F(TagsCliTest, DryRunWritesNothingAndOptionsNarrowTheTags) {
  const auto flac = lib_ / "a.flac";
  const std::string before = Bytes(flac);
  const auto dry = Json("tags write --dry-run " + ShellQuote(flac.string()));
  EXPECT_EQ(dry["dry_run"], true);
  EXPECT_EQ(dry["changed"], 1);
  EXPECT_FALSE(dry["results"][0]["changes"].empty());
  EXPECT_EQ(Bytes(flac), before);

  const auto only =
      Json("tags write --only bpm,key --key-notation camelot " + ShellQuote(flac.string()));
  EXPECT_EQ(only["changed"], 1);
  const auto tags = TagsOf(flac);
  EXPECT_TRUE(tags.count("BPM"));
  EXPECT_TRUE(std::regex_match(tags.at("INITIALKEY"), std::regex("([1-9]|1[0-2])[AB]")))
      << tags.at("INITIALKEY");
  EXPECT_FALSE(tags.count("REPLAYGAIN_TRACK_GAIN"));
  EXPECT_TRUE(tags.count("TIMBRE_PROVENANCE"));

  // Bad options are refused before anything is touched.
  EXPECT_EQ(Timbre("tags write --only bpm,colour " + ShellQuote(flac.string())).exit_code, 2);
  EXPECT_EQ(Timbre("tags write --key-notation roman " + ShellQuote(flac.string())).exit_code, 2);
  EXPECT_EQ(Timbre("tags write 9999").exit_code, 2);
}

TEST_F(TagsCliTest, FailuresAreReportedAndLeaveFilesAlone) {
  const auto read_only = lib_ / "a.flac";
  fs::permissions(read_only, fs::perms::owner_read | fs::perms::group_read);
  const std::string read_only_bytes = Bytes(read_only);
  // Changed since the scan: its stored results describe other audio.
  const auto changed = lib_ / "b.mp3";
  MakeTrack(changed, "-c:a libmp3lame -b:a 128k", 660.0);
  const std::string changed_bytes = Bytes(changed);

  const auto result = Json("tags write " + ShellQuote(lib_.string()), 1);
  EXPECT_EQ(result["failed"], 2);
  EXPECT_EQ(result["changed"], 4);
  std::map<std::string, std::string> reasons;
  for (const auto& r : result["results"]) {
    if (r.contains("error"))
      reasons[fs::path(r["path"].get<std::string>()).filename()] = r["error"]["reason"];
  }
  EXPECT_EQ(reasons["a.flac"], "read_only");
  EXPECT_EQ(reasons["b.mp3"], "changed_since_scan");
  EXPECT_EQ(Bytes(read_only), read_only_bytes);
  EXPECT_EQ(Bytes(changed), changed_bytes);
  // The message says what happened, by name.
  const auto human = Timbre("tags write " + ShellQuote(read_only.string()), true);
  EXPECT_EQ(human.exit_code, 1);
  EXPECT_NE(human.output.find("read-only"), std::string::npos) << human.output;
}

// A disk with no room for the rewritten copy: a small tmpfs where mounting is allowed,
// else a file-size limit on the process, which fails the copy the same way.
TEST_F(TagsCliTest, FullDiskLeavesTheFileWhole) {
  const auto small = dir_ / "small";
  fs::create_directories(small);
  const bool mounted =
      ::geteuid() == 0 && ::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=512k") == 0;
  struct Unmount {
    bool mounted;
    fs::path where;
    ~Unmount() {
      if (mounted) ::umount(where.c_str());
    }
  } unmount{mounted, small};
  const auto flac = small / "a.flac";
  fs::copy_file(lib_ / "a.flac", flac);
  ASSERT_EQ(Timbre("scan -q " + ShellQuote(flac.string())).exit_code, 0);
  const std::string before = Bytes(flac);
  const std::string limit =
      mounted ? "" : "prlimit --fsize=" + std::to_string(before.size() / 2) + " ";
  const auto r =
      RunCommand(limit + testing::TimbreBinary() + " --db " + ShellQuote((dir_ / "t.db").string()) +
                 " tags write --json " + ShellQuote(flac.string()));
  EXPECT_EQ(r.exit_code, 1) << r.output;
  const auto j = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.output;
  EXPECT_EQ(j["results"][0]["error"]["reason"], "no_space") << r.output;
  EXPECT_EQ(Bytes(flac), before);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(small)) ++files;
  EXPECT_EQ(files, 1u);  // no partial copy left behind
}

TEST_F(TagsCliTest, ShowSortsTimbreLegacyAndOtherTags) {
  const auto legacy = lib_ / "legacy.flac";
  MakeTrack(legacy,
            "-c:a flac -metadata essentia:mood_happy=0.81 -metadata ab:lo:rhythm:bpm=119.7");
  ScanOk();
  ASSERT_EQ(Timbre("tags write --only bpm " + ShellQuote(legacy.string())).exit_code, 0);
  const auto j = Json("tags show " + ShellQuote(legacy.string()));
  EXPECT_EQ(j["tags"]["legacy"]["essentia:mood_happy"], "0.81") << j.dump();
  EXPECT_EQ(j["tags"]["legacy"]["ab:lo:rhythm:bpm"], "119.7") << j.dump();
  EXPECT_EQ(j["tags"]["other"]["ALBUM"], "Pulses");
  // timbre's own tags, beside what the store would write: the same.
  const auto& bpm = j["tags"]["timbre"]["BPM"];
  EXPECT_EQ(bpm["file"], bpm["store"]) << j.dump();
  // A file outside the store still shows its tags; a missing one is an error.
  EXPECT_EQ(Json("tags show " + ShellQuote((lib_ / "c.ogg").string()))["tags"]["other"]["ARTIST"],
            "Tester");
  EXPECT_EQ(Timbre("tags show " + ShellQuote((lib_ / "none.flac").string())).exit_code, 2);
}

TEST_F(TagsCliTest, ExportsJsonAndCsv) {
  const auto json = Timbre("export");
  ASSERT_EQ(json.exit_code, 0);
  const auto list = nlohmann::json::parse(json.output);
  ASSERT_EQ(list.size(), 7u);
  EXPECT_TRUE(list[0].contains("analyses"));

  const auto out = dir_ / "tracks.csv";
  ASSERT_EQ(Timbre("export --format csv -o " + ShellQuote(out.string())).exit_code, 0);
  std::ifstream in(out);
  std::string header;
  std::getline(in, header);
  EXPECT_NE(header.find("rhythm.bpm"), std::string::npos) << header;
  EXPECT_NE(header.find("tonal.key"), std::string::npos) << header;
  EXPECT_NE(header.find("provenance"), std::string::npos) << header;
  size_t rows = 0;
  for (std::string line; std::getline(in, line);) rows += !line.empty();
  EXPECT_EQ(rows, 7u);

  const auto some = nlohmann::json::parse(
      Timbre("export --where " + ShellQuote("path ~ '.flac'")).output, nullptr, false);
  ASSERT_TRUE(some.is_array());
  EXPECT_EQ(some.size(), 1u);

  EXPECT_EQ(Timbre("export --format xml").exit_code, 2);
  EXPECT_EQ(Timbre("export --where " + ShellQuote("bpm >>> 3")).exit_code, 2);
  EXPECT_FALSE(fs::exists(dir_ / "bad.csv.partial"));
}

}  // namespace
}  // namespace timbre
