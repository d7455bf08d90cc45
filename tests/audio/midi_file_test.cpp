// MIDI files: the header and track structure, event order and timing, pitch-bend channels,
// and a write that fails leaving nothing behind.
#include "timbre/audio/midi_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace timbre::audio {
namespace {

uint32_t Be(const std::string& s, size_t at, int bytes) {
  uint32_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}

struct Parsed {
  std::vector<std::tuple<long, int, int, int>> events;  // tick, status, data1, data2
};

// A small reader of what EncodeMidi writes (no running status).
Parsed Parse(const std::string& file) {
  Parsed p;
  EXPECT_EQ(file.substr(0, 4), "MThd");
  EXPECT_EQ(Be(file, 4, 4), 6u);
  EXPECT_EQ(Be(file, 8, 2), 0u);
  EXPECT_EQ(Be(file, 10, 2), 1u);
  EXPECT_EQ(Be(file, 12, 2), 480u);
  EXPECT_EQ(file.substr(14, 4), "MTrk");
  const size_t end = 22 + Be(file, 18, 4);
  EXPECT_EQ(end, file.size());
  size_t i = 22;
  long tick = 0;
  while (i < end) {
    unsigned long delta = 0;
    unsigned char c;
    do {
      c = static_cast<unsigned char>(file[i++]);
      delta = (delta << 7) | (c & 0x7F);
    } while (c & 0x80);
    tick += static_cast<long>(delta);
    const auto status = static_cast<unsigned char>(file[i]);
    if (status == 0xFF) {
      const size_t len = static_cast<unsigned char>(file[i + 2]);
      i += 3 + len;
      continue;
    }
    p.events.emplace_back(tick, status, static_cast<unsigned char>(file[i + 1]),
                          static_cast<unsigned char>(file[i + 2]));
    i += 3;
  }
  EXPECT_EQ(i, end);
  return p;
}

TEST(MidiFileTest, NotesBecomeTimedNoteOnAndOffPairs) {
  std::vector<MidiNote> notes{{0.5, 0.25, 60, 100, {}}, {0.0, 1.0, 64, 40, {}}};
  const Parsed p = Parse(EncodeMidi(notes, {}));
  ASSERT_EQ(p.events.size(), 4u);
  EXPECT_EQ(p.events[0], std::make_tuple(0L, 0x90, 64, 40));
  EXPECT_EQ(p.events[1], std::make_tuple(480L, 0x90, 60, 100));  // 0.5 s at 960 ticks/s
  EXPECT_EQ(p.events[2], std::make_tuple(720L, 0x80, 60, 0));
  EXPECT_EQ(p.events[3], std::make_tuple(960L, 0x80, 64, 0));
}

TEST(MidiFileTest, PitchBendsGoToEachNotesOwnChannel) {
  std::vector<MidiNote> notes{{0.0, 1.0, 60, 90, {0.0, 1.0}}, {0.0, 1.0, 67, 90, {-2.0}}};
  const Parsed p = Parse(EncodeMidi(notes, {true}));
  int bends = 0;
  for (const auto& [tick, status, a, b] : p.events) {
    if ((status & 0xF0) != 0xE0) continue;
    const int value = a | (b << 7);
    const int channel = status & 0x0F;
    if (channel == 0 && tick == 480) {
      EXPECT_EQ(value, 8192 + 4096);  // +1 of ±2 semitones
    }
    if (channel == 1 && tick == 0) {
      EXPECT_EQ(value, 0);  // −2 semitones
    }
    ++bends;
  }
  EXPECT_EQ(bends, 5);  // three bends and a reset per note
}

TEST(MidiFileTest, AFailedWriteLeavesNoFile) {
  const auto dir = std::filesystem::temp_directory_path() / "timbre-midi-test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "out.mid";
  ASSERT_TRUE(WriteMidiFile(path, {{0.0, 1.0, 60, 64, {}}}, {}).ok());
  EXPECT_GT(std::filesystem::file_size(path), 22u);
  const Status bad = WriteMidiFile(dir / "missing" / "out.mid", {}, {});
  EXPECT_FALSE(bad.ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "missing"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace timbre::audio
