#include "timbre/audio/midi_file.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include <fmt/format.h>

namespace timbre::audio {
namespace {

constexpr int kTicksPerQuarter = 480;
constexpr double kTicksPerSecond = kTicksPerQuarter * 2.0;  // 120 BPM
constexpr int kBendRange = 2;                               // semitones either way
constexpr int kDrumChannel = 9;

struct Event {
  long tick;
  int order;  // at one tick: bends, note-offs, then note-ons
  std::string bytes;
};

long Ticks(double seconds) { return std::max(0L, std::lround(seconds * kTicksPerSecond)); }

void PutVarLen(std::string& out, unsigned long v) {
  unsigned char buf[5];
  int n = 0;
  buf[n++] = static_cast<unsigned char>(v & 0x7F);
  while ((v >>= 7) != 0) buf[n++] = static_cast<unsigned char>(0x80 | (v & 0x7F));
  while (n > 0) out += static_cast<char>(buf[--n]);
}

void PutBigEndian(std::string& out, unsigned long v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string Channel(int status, int channel, int a, int b) {
  return {static_cast<char>(status | channel), static_cast<char>(a & 0x7F),
          static_cast<char>(b & 0x7F)};
}

std::string Bend(int channel, double semitones) {
  const long v = std::clamp(8192L + std::lround(semitones / kBendRange * 8192.0), 0L, 16383L);
  return Channel(0xE0, channel, static_cast<int>(v & 0x7F), static_cast<int>(v >> 7));
}

}  // namespace

std::string EncodeMidi(const std::vector<MidiNote>& notes, const MidiOptions& options) {
  std::vector<Event> events;
  int next_channel = 0;
  for (const auto& n : notes) {
    int channel = 0;
    if (options.pitch_bends) {
      channel = next_channel;
      next_channel = (next_channel + 1) % 16;
      if (next_channel == kDrumChannel) next_channel = kDrumChannel + 1;
    }
    const int pitch = std::clamp(n.pitch, 0, 127);
    const int velocity = std::clamp(n.velocity, 1, 127);
    const long on = Ticks(n.start_seconds);
    const long off = std::max(on + 1, Ticks(n.start_seconds + n.duration_seconds));
    events.push_back({on, 2, Channel(0x90, channel, pitch, velocity)});
    events.push_back({off, 1, Channel(0x80, channel, pitch, 0)});
    if (!options.pitch_bends || n.bends.empty()) continue;
    for (size_t i = 0; i < n.bends.size(); ++i) {
      const double t = n.start_seconds + n.duration_seconds * static_cast<double>(i) /
                                             static_cast<double>(n.bends.size());
      events.push_back({std::min(Ticks(t), off - 1), 0, Bend(channel, n.bends[i])});
    }
    events.push_back({off, 1, Bend(channel, 0.0)});  // leave the channel unbent
  }
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    return std::tie(a.tick, a.order) < std::tie(b.tick, b.order);
  });

  std::string track;
  if (options.pitch_bends) {
    // Registered parameter 0 (pitch-bend sensitivity) = kBendRange semitones on every channel.
    for (int c = 0; c < 16; ++c) {
      if (c == kDrumChannel) continue;
      for (auto [controller, value] : {std::pair{101, 0}, {100, 0}, {6, kBendRange}, {38, 0}}) {
        PutVarLen(track, 0);
        track += Channel(0xB0, c, controller, value);
      }
    }
  }
  PutVarLen(track, 0);
  track += "\xFF\x51\x03";
  PutBigEndian(track, 500000, 3);  // µs per quarter note: 120 BPM
  long last = 0;
  for (const auto& e : events) {
    PutVarLen(track, static_cast<unsigned long>(e.tick - last));
    track += e.bytes;
    last = e.tick;
  }
  PutVarLen(track, 0);
  track += std::string("\xFF\x2F\x00", 3);

  std::string file = "MThd";
  PutBigEndian(file, 6, 4);
  PutBigEndian(file, 0, 2);  // format 0
  PutBigEndian(file, 1, 2);  // one track
  PutBigEndian(file, kTicksPerQuarter, 2);
  file += "MTrk";
  PutBigEndian(file, track.size(), 4);
  return file + track;
}

Status WriteMidiFile(const std::filesystem::path& path, const std::vector<MidiNote>& notes,
                     const MidiOptions& options) {
  const std::string bytes = EncodeMidi(notes, options);
  const std::filesystem::path temp = path.string() + ".partial";
  FILE* f = std::fopen(temp.c_str(), "wb");
  if (f == nullptr) return IoError(fmt::format("cannot write {}", path.string()));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size() &&
                       std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
  const bool closed = std::fclose(f) == 0;
  std::error_code ec;
  if (!written || !closed) {
    std::filesystem::remove(temp, ec);
    return IoError(fmt::format("cannot write {}: disk full or not writable", path.string()));
  }
  std::filesystem::rename(temp, path, ec);
  if (ec) {
    std::filesystem::remove(temp, ec);
    return IoError(fmt::format("cannot write {}: {}", path.string(), ec.message()));
  }
  return Status::Ok();
}

}  // namespace timbre::audio
