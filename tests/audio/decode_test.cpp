#include "timbre/audio/decode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "test_support.h"

namespace timbre::audio {
namespace {

using timbre::testing::MakeTone;
using timbre::testing::TempDir;

struct Decoded {
  DecodeReport report;
  std::vector<size_t> frames;  // per view
  std::vector<double> peak;
  std::vector<int> channels;
  std::vector<int> rates;
};

Result<Decoded> DecodeViews(const std::filesystem::path& p, const std::vector<ViewSpec>& views) {
  Decoded d;
  d.frames.assign(views.size(), 0);
  d.peak.assign(views.size(), 0.0);
  d.channels.assign(views.size(), 0);
  d.rates.assign(views.size(), 0);
  auto r = DecodeFile(p, views, nullptr, [&](size_t v, const AudioBlock& b) {
    d.frames[v] += b.frames;
    d.channels[v] = b.channels;
    d.rates[v] = b.sample_rate;
    for (size_t i = 0; i < b.frames * b.channels; ++i) {
      d.peak[v] = std::max(d.peak[v], static_cast<double>(std::fabs(b.samples[i])));
    }
    return true;
  });
  if (!r.ok()) return r.status();
  d.report = *r;
  return d;
}

struct FormatCase {
  const char* file;
  const char* args;
  const char* codec;
  int rate = 44100;
};

void PrintTo(const FormatCase& c, std::ostream* os) { *os << c.file; }

class FormatTest : public ::testing::TestWithParam<FormatCase> {};

// Every format the issue names decodes to the right length, and each view has the rate,
// channel count and level asked for.
TEST_P(FormatTest, DecodesToViews) {
  TempDir dir;
  const auto path = dir / GetParam().file;
  MakeTone(path, 3.0, 1000.0, -6.0, 2, GetParam().rate, GetParam().args);
  auto d = DecodeViews(path, {{0, 0}, {16000, 1}, {44100, 1}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->report.info.codec, GetParam().codec);
  EXPECT_EQ(d->report.info.sample_rate, GetParam().rate);
  EXPECT_EQ(d->report.info.channels, 2);
  // Lossy codecs add priming and padding; within 0.1 s of the 3 s made.
  EXPECT_NEAR(d->report.decoded_seconds(), 3.0, 0.1);
  EXPECT_EQ(d->channels[0], 2);
  EXPECT_EQ(d->rates[0], GetParam().rate);
  EXPECT_EQ(d->channels[1], 1);
  EXPECT_EQ(d->rates[1], 16000);
  EXPECT_NEAR(static_cast<double>(d->frames[1]) / 16000.0, d->report.decoded_seconds(), 0.02);
  // -6 dBFS peak on both channels, and the mono average of equal channels keeps that level.
  const double expected = std::pow(10.0, -6.0 / 20.0);
  EXPECT_NEAR(d->peak[0], expected, 0.05);
  EXPECT_NEAR(d->peak[2], expected, 0.05);
}

INSTANTIATE_TEST_SUITE_P(Formats, FormatTest,
                         ::testing::Values(FormatCase{"t.mp3", "-c:a libmp3lame -b:a 192k",
                                                      "mp3float"},
                                           FormatCase{"t.flac", "-c:a flac", "flac"},
                                           FormatCase{"t.ogg", "-c:a libvorbis", "vorbis"},
                                           FormatCase{"t.opus", "-c:a libopus", "opus", 48000},
                                           FormatCase{"t.m4a", "-c:a aac -b:a 160k", "aac"},
                                           FormatCase{"alac.m4a", "-c:a alac", "alac"},
                                           FormatCase{"t.wav", "-c:a pcm_s16le", "pcm_s16le"},
                                           FormatCase{"t.aiff", "-c:a pcm_s16be", "pcm_s16be"},
                                           FormatCase{"t.wma", "-c:a wmav2 -b:a 128k", "wmav2"}),
                         [](const auto& info) {
                           std::string name = info.param.file;
                           for (char& c : name) {
                             if (c == '.') c = '_';
                           }
                           return name;
                         });

TEST(DecodeTest, OpusReportsItsOwnRate) {
  TempDir dir;
  MakeTone(dir / "t.opus", 1.0, 440, -6, 2, 48000, "-c:a libopus");
  auto d = DecodeViews(dir / "t.opus", {{44100, 1}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->report.info.sample_rate, 48000);
  EXPECT_EQ(d->rates[0], 44100);
}

TEST(DecodeTest, StopsWhenTheSinkIsDone) {
  TempDir dir;
  MakeTone(dir / "t.flac", 5.0, 440, -6, 2, 44100, "-c:a flac");
  size_t seen = 0;
  auto r = DecodeFile(dir / "t.flac", {{0, 0}}, nullptr, [&](size_t, const AudioBlock& b) {
    seen += b.frames;
    return seen < 44100;
  });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stopped_early);
  EXPECT_LT(r->decoded_seconds(), 2.0);
}

TEST(DecodeTest, AViewThatHasEnoughIsDroppedAndTheOthersGoOn) {
  TempDir dir;
  MakeTone(dir / "t.flac", 5.0, 440, -6, 2, 44100, "-c:a flac");
  size_t full = 0, partial = 0, partial_calls_after_stop = 0;
  bool partial_done = false;
  auto r =
      DecodeFile(dir / "t.flac", {{0, 0}, {11025, 1}}, nullptr, [&](size_t v, const AudioBlock& b) {
        if (v == 0) {
          full += b.frames;
          return true;
        }
        if (partial_done) ++partial_calls_after_stop;
        partial += b.frames;
        partial_done = partial >= 11025;  // one second is enough
        return !partial_done;
      });
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->stopped_early);  // the native view read to the end
  EXPECT_EQ(full, 5u * 44100u);
  EXPECT_LT(partial, 2u * 11025u);
  EXPECT_EQ(partial_calls_after_stop, 0u);
}

TEST(DecodeTest, ProbeReadsHeaderOnly) {
  TempDir dir;
  MakeTone(dir / "t.flac", 2.0, 440, -6, 1, 22050, "-c:a flac");
  auto info = ProbeFile(dir / "t.flac");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->sample_rate, 22050);
  EXPECT_EQ(info->channels, 1);
  EXPECT_NEAR(info->declared_seconds, 2.0, 0.01);
}

Status DecodeStatus(const std::filesystem::path& p) {
  auto r = DecodeFile(p, {{0, 0}}, nullptr, [](size_t, const AudioBlock&) { return true; });
  return r.ok() ? Status::Ok() : r.status();
}

TEST(DecodeBadInputTest, EmptyFile) {
  TempDir dir;
  std::ofstream(dir / "empty.flac").close();
  EXPECT_EQ(DecodeStatus(dir / "empty.flac").reason(), "empty_file");
}

TEST(DecodeBadInputTest, TextNamedFlac) {
  TempDir dir;
  std::ofstream(dir / "notes.flac") << "These are my notes, not a FLAC file.\n";
  const Status s = DecodeStatus(dir / "notes.flac");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.reason() == "not_audio" || s.reason() == "no_audio_stream") << s.ToString();
}

TEST(DecodeBadInputTest, RandomBytes) {
  TempDir dir;
  std::string junk(65536, '\0');
  uint32_t x = 12345;
  for (char& c : junk) {
    x = x * 1664525u + 1013904223u;
    c = static_cast<char>(x >> 24);
  }
  std::ofstream(dir / "junk.mp3") << junk;
  EXPECT_FALSE(DecodeStatus(dir / "junk.mp3").ok());
}

TEST(DecodeBadInputTest, MissingFileAndDirectory) {
  TempDir dir;
  EXPECT_EQ(DecodeStatus(dir / "missing.mp3").reason(), "vanished");
  EXPECT_FALSE(DecodeStatus(dir.path()).ok());
}

TEST(DecodeBadInputTest, VideoWithoutAudio) {
  TempDir dir;
  const auto cmd =
      "ffmpeg -nostdin -v error -y -f lavfi -i testsrc=duration=1:size=64x64:rate=5 "
      "-c:v mpeg4 -f mp4 " +
      dir.path().string() + "/video.m4a";
  ASSERT_EQ(timbre::testing::RunCommand(cmd).exit_code, 0);
  EXPECT_EQ(DecodeStatus(dir / "video.m4a").reason(), "no_audio_stream");
}

TEST(DecodeBadInputTest, TruncatedFlacDecodesWhatIsThere) {
  TempDir dir;
  MakeTone(dir / "full.flac", 10.0, 440, -6, 2, 44100, "-c:a flac");
  std::ifstream in(dir / "full.flac", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(dir / "cut.flac", std::ios::binary) << bytes.substr(0, bytes.size() / 3);
  auto d = DecodeViews(dir / "cut.flac", {{0, 0}});
  ASSERT_TRUE(d.ok());
  EXPECT_NEAR(d->report.info.declared_seconds, 10.0, 0.01);  // the header still says 10 s
  EXPECT_LT(d->report.decoded_seconds(), 5.0);
}

}  // namespace
}  // namespace timbre::audio
