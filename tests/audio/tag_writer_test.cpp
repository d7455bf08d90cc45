#include "timbre/audio/tag_writer.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "test_support.h"

namespace timbre::audio {
namespace {

namespace fs = std::filesystem;
using timbre::testing::MakeTone;
using timbre::testing::RunCommand;
using timbre::testing::ShellQuote;
using timbre::testing::TempDir;

// MD5 of the audio stream's packets (-c copy) or of the decoded samples, by ffmpeg.
std::string AudioMd5(const fs::path& path, bool decoded) {
  const auto r = RunCommand("ffmpeg -v error -i " + ShellQuote(path.string()) + " -map 0:a " +
                            (decoded ? "-f s16le -ac 2 -" : "-c copy -f data -") + " | md5sum");
  EXPECT_EQ(r.exit_code, 0);
  return r.output.substr(0, 32);
}

std::string Bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

size_t FilesIn(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

const TagFields kFields = {
    {"BPM", "128"},
    {"INITIALKEY", "Am"},
    {"REPLAYGAIN_TRACK_GAIN", "-6.20 dB"},
    {"REPLAYGAIN_TRACK_PEAK", "0.501187"},
    {"nom:timbre_dsp_0-5-0_rhythm_3_bpm", "127.93"},
};

class TagWriteFormatTest : public ::testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(TagWriteFormatTest, WritesEveryFieldAndNeverTouchesTheAudio) {
  TempDir dir;
  const fs::path path = dir / GetParam().first;
  MakeTone(path, 3.0, 440, -6, 2, 44100,
           std::string(GetParam().second) + " -metadata title='Blue in Green'");
  const std::string packets = AudioMd5(path, false);
  const std::string samples = AudioMd5(path, true);

  auto changes = WriteTagFields(path, kFields);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  EXPECT_EQ(changes->size(), kFields.size());

  auto read = ReadTagFields(path);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*read)["BPM"], "128");
  EXPECT_EQ((*read)["INITIALKEY"], "Am");
  EXPECT_EQ((*read)["REPLAYGAIN_TRACK_GAIN"], "-6.20 dB");
  EXPECT_EQ((*read)["REPLAYGAIN_TRACK_PEAK"], "0.501187");
  EXPECT_EQ((*read)["NOM:TIMBRE_DSP_0-5-0_RHYTHM_3_BPM"], "127.93");
  EXPECT_EQ((*read)["TITLE"], "Blue in Green");  // what was there stays

  EXPECT_EQ(AudioMd5(path, false), packets);
  EXPECT_EQ(AudioMd5(path, true), samples);
  EXPECT_EQ(FilesIn(dir.path()), 1u);  // no temporary file left

  // The same fields again change nothing, and the file is not rewritten.
  const auto mtime = fs::last_write_time(path);
  auto again = WriteTagFields(path, kFields);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(fs::last_write_time(path), mtime);

  // A changed value replaces the old one instead of adding a second.
  auto bpm = WriteTagFields(path, {{"BPM", "64"}});
  ASSERT_TRUE(bpm.ok());
  ASSERT_EQ(bpm->size(), 1u);
  EXPECT_EQ((*bpm)[0].before, "128");
  EXPECT_EQ(ReadTagFields(path)->at("BPM"), "64");
}

INSTANTIATE_TEST_SUITE_P(Formats, TagWriteFormatTest,
                         ::testing::Values(std::make_pair("t.mp3", "-c:a libmp3lame -b:a 128k"),
                                           std::make_pair("t.flac", "-c:a flac"),
                                           std::make_pair("t.ogg", "-c:a libvorbis"),
                                           std::make_pair("t.opus", "-c:a libopus -b:a 64k"),
                                           std::make_pair("t.m4a", "-c:a aac -b:a 128k"),
                                           std::make_pair("t.wv", "-c:a wavpack")),
                         [](const auto& info) { return std::string(info.param.first).substr(2); });

TEST(TagWriterTest, PlanShowsOnlyWhatWouldChange) {
  TempDir dir;
  const fs::path path = dir / "t.flac";
  MakeTone(path, 1.0, 440, -6, 2, 44100, "-c:a flac -metadata BPM=128");
  const std::string bytes = Bytes(path);
  auto plan = PlanTagChanges(path, {{"BPM", "128"}, {"INITIALKEY", "C"}});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->size(), 1u);
  EXPECT_EQ((*plan)[0].name, "INITIALKEY");
  EXPECT_EQ((*plan)[0].before, "");
  EXPECT_EQ(Bytes(path), bytes);
}

TEST(TagWriterTest, ReadOnlyFileIsLeftAlone) {
  TempDir dir;
  const fs::path path = dir / "t.flac";
  MakeTone(path, 1.0, 440, -6, 2, 44100, "-c:a flac");
  fs::permissions(path, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  const std::string bytes = Bytes(path);
  auto r = WriteTagFields(path, kFields);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "read_only") << r.status().ToString();
  EXPECT_EQ(Bytes(path), bytes);
  EXPECT_EQ(FilesIn(dir.path()), 1u);
}

TEST(TagWriterTest, UnsupportedContainerIsRefused) {
  TempDir dir;
  const fs::path path = dir / "t.mka";
  MakeTone(path, 1.0, 440, -6, 2, 44100, "-c:a flac");
  const std::string bytes = Bytes(path);
  auto r = WriteTagFields(path, kFields);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  EXPECT_EQ(r.status().reason(), "unsupported_container");
  EXPECT_EQ(Bytes(path), bytes);
  EXPECT_FALSE(ReadTagFields(path).ok());
}

TEST(TagWriterTest, MissingAndNonAudioFilesAreErrors) {
  TempDir dir;
  EXPECT_EQ(WriteTagFields(dir / "none.flac", kFields).status().code(), StatusCode::kNotFound);
  std::ofstream(dir / "text.flac") << "not audio at all";
  auto r = WriteTagFields(dir / "text.flac", kFields);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Bytes(dir / "text.flac"), "not audio at all");
  EXPECT_EQ(FilesIn(dir.path()), 1u);
}

TEST(TagWriterTest, FileChangedDuringTheWriteIsNotReplaced) {
  TempDir dir;
  const fs::path path = dir / "t.flac";
  MakeTone(path, 1.0, 440, -6, 2, 44100, "-c:a flac");
  TagWriteOptions options;
  options.before_commit = [&] { std::ofstream(path, std::ios::app) << "appended"; };
  auto r = WriteTagFields(path, kFields, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().reason(), "changed_during_write");
  const std::string now = Bytes(path);
  EXPECT_EQ(now.substr(now.size() - 8), "appended");  // the other writer's change survives
  EXPECT_EQ(FilesIn(dir.path()), 1u);
}

// A copy that runs out of room (here: a file-size limit smaller than the file) fails
// cleanly: the original is untouched and the partial copy is removed.
TEST(TagWriterTest, FailedCopyLeavesTheOriginal) {
  TempDir dir;
  const fs::path path = dir / "t.flac";
  MakeTone(path, 5.0, 440, -6, 2, 44100, "-c:a flac");
  const std::string bytes = Bytes(path);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{bytes.size() / 2, bytes.size() / 2};
    setrlimit(RLIMIT_FSIZE, &limit);
    auto r = WriteTagFields(path, kFields);
    _exit(!r.ok() && r.status().reason() == "no_space" ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(Bytes(path), bytes);
  EXPECT_EQ(FilesIn(dir.path()), 1u);
}

}  // namespace
}  // namespace timbre::audio
