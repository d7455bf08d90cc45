// Decoding any audio file FFmpeg reads into float PCM "views" (a sample rate and channel
// count each), decoding the file once and streaming: memory stays bounded by the decoder's
// frame size whatever the file's length.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "timbre/core/status.h"

namespace timbre::audio {

// What the container and codec say about the audio stream, before decoding.
struct StreamInfo {
  std::string container;  // FFmpeg demuxer name, e.g. "flac", "mov,mp4,m4a,3gp,3g2,mj2"
  std::string codec;      // FFmpeg decoder name, e.g. "mp3float", "alac"
  int sample_rate = 0;    // Hz
  int channels = 0;
  long bitrate = 0;                // bits/s, 0 when unknown
  double declared_seconds = -1.0;  // from the container's header; negative when unknown
};

// A requested shape of the audio. Zero fields keep the file's own rate or channel count.
struct ViewSpec {
  int sample_rate = 0;  // Hz; 0 = native
  int channels = 0;     // 1 = mono downmix (channel average), 0 = native layout

  bool operator==(const ViewSpec&) const = default;
};

// Interleaved float samples in [-1, 1] (may exceed it for clipped sources) of one view.
struct AudioBlock {
  const float* samples = nullptr;
  size_t frames = 0;
  int channels = 0;
  int sample_rate = 0;
};

// What decoding found; decode errors are counted, not fatal, so damaged files yield what
// can be read and the caller decides.
struct DecodeReport {
  StreamInfo info;
  long long frames = 0;        // decoded frames at the native rate
  int decode_errors = 0;       // packets the decoder rejected
  bool stopped_early = false;  // every view's consumer had enough before the end

  double decoded_seconds() const {
    return info.sample_rate > 0 ? static_cast<double>(frames) / info.sample_rate : 0.0;
  }
};

// Receives converted audio: (index of the view in the request, block). Return false when
// that view needs no more audio; decoding stops once no view does.
using BlockSink = std::function<bool(size_t view, const AudioBlock& block)>;

// Called once the stream is opened, before the first block: lets the caller resolve native
// views and prepare per-track state.
using OpenedCallback = std::function<Status(const StreamInfo& info)>;

// Opens `path`, picks its best audio stream, decodes it once and feeds every view.
// Errors: kIoError (unreadable), kUnsupported (not a media file, no audio stream, no decoder),
// kCorrupt (nothing decodable).
Result<DecodeReport> DecodeFile(const std::filesystem::path& path,
                                const std::vector<ViewSpec>& views, const OpenedCallback& on_open,
                                const BlockSink& sink);

// Reads the stream header only (no decoding).
Result<StreamInfo> ProbeFile(const std::filesystem::path& path);

}  // namespace timbre::audio
