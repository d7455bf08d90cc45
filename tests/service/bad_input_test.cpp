// One test per kind of bad input: each gets a clear recorded reason and the scan goes on.
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "scan_fixture.h"

namespace timbre::service {
namespace {

using timbre::testing::MakeTone;

class BadInputTest : public ScanFixture {
 protected:
  // Scans a library holding one good file and `bad`; returns the bad file's track.
  store::TrackDetails ScanWith(const std::filesystem::path& bad) {
    MakeTone(lib() / "good.flac", 2, 440, -10, 2, 44100, "-c:a flac");
    ScanSummary s = Scan();
    EXPECT_EQ(s.files, 2u);
    EXPECT_EQ(Track(lib() / "good.flac").track.key.status, store::TrackStatus::kOk);
    return Track(bad);
  }

  void ExpectFailed(const store::TrackDetails& t, const std::string& reason) {
    EXPECT_EQ(t.track.key.status, store::TrackStatus::kFailed);
    EXPECT_EQ(t.track.error_reason, reason) << t.track.error_message;
    EXPECT_FALSE(t.track.error_message.empty());
    EXPECT_TRUE(t.analyses.empty());
    auto stats = store_->Stats();
    ASSERT_TRUE(stats.ok());
    ASSERT_EQ(stats->failures_by_reason.size(), 1u);
    EXPECT_EQ(stats->failures_by_reason[0].name, reason);
    // A failed file that has not changed is not retried.
    ScanSummary again = Scan();
    EXPECT_EQ(again.unchanged, 2u);
  }

  std::string Bytes(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
};

TEST_F(BadInputTest, ZeroByteFile) {
  std::ofstream(lib() / "empty.mp3").close();
  ExpectFailed(ScanWith(lib() / "empty.mp3"), "empty_file");
}

TEST_F(BadInputTest, TruncatedFile) {
  MakeTone(dir_ / "full.flac", 20, 440, -10, 2, 44100, "-c:a flac");
  const std::string bytes = Bytes(dir_ / "full.flac");
  std::ofstream(lib() / "cut.flac", std::ios::binary) << bytes.substr(0, bytes.size() / 4);
  ExpectFailed(ScanWith(lib() / "cut.flac"), "truncated");
}

TEST_F(BadInputTest, TextFileNamedFlac) {
  std::ofstream(lib() / "lyrics.flac") << "Line one of the lyrics\nLine two\n";
  const auto t = ScanWith(lib() / "lyrics.flac");
  EXPECT_EQ(t.track.key.status, store::TrackStatus::kFailed);
  EXPECT_TRUE(t.track.error_reason == "not_audio" || t.track.error_reason == "no_audio_stream")
      << t.track.error_reason;
}

TEST_F(BadInputTest, NoAudioStream) {
  const std::string cmd =
      "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=duration=1:size=32x32:rate=5 "
      "-c:v mpeg4 -f mp4 " +
      timbre::testing::ShellQuote((lib() / "clip.m4a").string());
  ASSERT_EQ(timbre::testing::RunCommand(cmd).exit_code, 0);
  ExpectFailed(ScanWith(lib() / "clip.m4a"), "no_audio_stream");
}

TEST_F(BadInputTest, NonUtf8FileName) {
  const auto weird = lib() / "caf\xe9 \xff.flac";
  MakeTone(weird, 2, 330, -10, 2, 44100, "-c:a flac");
  const auto t = ScanWith(weird);
  EXPECT_EQ(t.track.key.status, store::TrackStatus::kOk);
  EXPECT_EQ(t.track.key.path, weird.string());  // the original bytes, not a lossy copy
}

TEST_F(BadInputTest, VeryShortFile) {
  MakeTone(lib() / "blip.wav", 0.2, 440, -10, 2, 44100, "");
  const auto t = ScanWith(lib() / "blip.wav");
  EXPECT_EQ(t.track.key.status, store::TrackStatus::kOk);
  EXPECT_NEAR(t.track.duration, 0.2, 0.01);
  bool noted = false;
  for (const auto& a : t.analyses) noted = noted || !a.notes.empty();
  EXPECT_TRUE(noted);
}

TEST_F(BadInputTest, Silence) {
  ASSERT_EQ(timbre::testing::RunCommand(
                "sox -n -r 44100 -c 2 " +
                timbre::testing::ShellQuote((lib() / "quiet.flac").string()) + " trim 0 5")
                .exit_code,
            0);
  const auto t = ScanWith(lib() / "quiet.flac");
  EXPECT_EQ(t.track.key.status, store::TrackStatus::kOk);
  for (const auto& d : t.descriptors) {
    EXPECT_NE(d.name, "integrated");  // no loudness for silence, and no -inf either
    EXPECT_TRUE(std::isfinite(d.value));
  }
}

TEST_F(BadInputTest, RandomBytesNamedMp3) {
  std::string junk(200000, '\0');
  uint32_t x = 99;
  for (char& c : junk) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  std::ofstream(lib() / "junk.mp3", std::ios::binary) << junk;
  const auto t = ScanWith(lib() / "junk.mp3");
  EXPECT_EQ(t.track.key.status, store::TrackStatus::kFailed);
  EXPECT_FALSE(t.track.error_reason.empty());
}

// Unreadable files: as root, permissions do not stop reads, so the scan runs as an
// unprivileged user through setpriv (util-linux), from a copy of the binary that user can
// reach whatever the permissions of the build folder's parents.
std::string ScanAsUnprivilegedUser(const std::filesystem::path& dir,
                                   const std::filesystem::path& lib) {
  std::filesystem::permissions(dir, std::filesystem::perms::all);
  std::filesystem::permissions(lib, std::filesystem::perms::all);
  const auto binary = dir / "timbre";
  std::filesystem::copy_file(timbre::testing::TimbreBinary(), binary,
                             std::filesystem::copy_options::overwrite_existing);
  std::string cmd = timbre::testing::ShellQuote(binary.string()) + " --db " +
                    timbre::testing::ShellQuote((dir / "user.db").string()) + " scan --json " +
                    timbre::testing::ShellQuote(lib.string());
  if (geteuid() == 0) cmd = "setpriv --reuid=65534 --regid=65534 --clear-groups " + cmd;
  return cmd;
}
TEST_F(BadInputTest, UnreadableFile) {
  MakeTone(lib() / "good.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  MakeTone(lib() / "secret.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  std::filesystem::permissions(lib() / "secret.flac", std::filesystem::perms::none);
  const auto r = timbre::testing::RunCommand(ScanAsUnprivilegedUser(dir_.path(), lib()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  std::map<std::string, nlohmann::json> by_path;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    if (j["event"] == "track") by_path[j["path"]] = j;
  }
  ASSERT_EQ(by_path.size(), 2u) << r.output;
  EXPECT_EQ(by_path[(lib() / "good.flac").string()]["outcome"], "added");
  EXPECT_EQ(by_path[(lib() / "secret.flac").string()]["outcome"], "failed");
  EXPECT_EQ(by_path[(lib() / "secret.flac").string()]["reason"], "permission_denied");
}

TEST_F(BadInputTest, UnreadableFolderIsReportedAndSkipped) {
  MakeTone(lib() / "good.flac", 2, 440, -10, 2, 44100, "-c:a flac");
  std::filesystem::create_directories(lib() / "locked");
  MakeTone(lib() / "locked" / "x.flac", 1, 440, -10, 2, 44100, "-c:a flac");
  std::filesystem::permissions(lib() / "locked", std::filesystem::perms::none);
  const auto r = timbre::testing::RunCommand(ScanAsUnprivilegedUser(dir_.path(), lib()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("\"event\":\"error\""), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("permission_denied"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("\"added\":1"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace timbre::service
