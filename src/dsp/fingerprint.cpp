#include "timbre/dsp/fingerprint.h"

#include <chromaprint.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace timbre::dsp {

struct Fingerprinter::Impl {
  ChromaprintContext* ctx = nullptr;
  int sample_rate = 0;
  int channels = 0;
  long long max_frames = 0;
  long long fed_frames = 0;
  std::vector<int16_t> buffer;

  ~Impl() {
    if (ctx != nullptr) chromaprint_free(ctx);
  }
};

Fingerprinter::Fingerprinter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Fingerprinter::~Fingerprinter() = default;

Result<std::unique_ptr<Fingerprinter>> Fingerprinter::Create(int sample_rate, int channels,
                                                             double max_seconds) {
  if (sample_rate < 1000 || channels < 1 || channels > 64) {
    return InvalidArgument(
        fmt::format("cannot fingerprint {} Hz, {} channels", sample_rate, channels));
  }
  if (!(max_seconds > 0.0)) return InvalidArgument("fingerprint length must be positive");
  auto impl = std::make_unique<Impl>();
  impl->ctx = chromaprint_new(CHROMAPRINT_ALGORITHM_DEFAULT);
  if (impl->ctx == nullptr) return Internal("chromaprint_new failed");
  if (!chromaprint_start(impl->ctx, sample_rate, channels)) {
    return Internal("chromaprint_start failed");
  }
  impl->sample_rate = sample_rate;
  impl->channels = channels;
  impl->max_frames = static_cast<long long>(std::llround(max_seconds * sample_rate));
  return std::unique_ptr<Fingerprinter>(new Fingerprinter(std::move(impl)));
}

bool Fingerprinter::Add(const float* interleaved, size_t frames) {
  Impl& f = *impl_;
  const long long room = f.max_frames - f.fed_frames;
  if (room <= 0) return false;
  const size_t take =
      static_cast<size_t>(std::min<long long>(room, static_cast<long long>(frames)));
  const size_t samples = take * static_cast<size_t>(f.channels);
  f.buffer.resize(samples);
  for (size_t i = 0; i < samples; ++i) {
    const float s = std::clamp(interleaved[i], -1.0f, 1.0f);
    f.buffer[i] = static_cast<int16_t>(std::lrint(s * 32767.0f));
  }
  chromaprint_feed(f.ctx, f.buffer.data(), static_cast<int>(samples));
  f.fed_frames += static_cast<long long>(take);
  return f.fed_frames < f.max_frames;
}

Result<Fingerprint> Fingerprinter::Finish() {
  Impl& f = *impl_;
  Fingerprint out;
  out.seconds = static_cast<double>(f.fed_frames) / f.sample_rate;
  if (!chromaprint_finish(f.ctx)) return Internal("chromaprint_finish failed");
  // Under a few seconds Chromaprint yields a header with no sub-fingerprints: nothing to keep.
  int items = 0;
  if (!chromaprint_get_raw_fingerprint_size(f.ctx, &items) || items == 0) return out;
  char* text = nullptr;
  if (chromaprint_get_fingerprint(f.ctx, &text) && text != nullptr) {
    out.encoded = text;
    chromaprint_dealloc(text);
  }
  return out;
}

Result<std::vector<uint32_t>> DecodeFingerprint(const std::string& encoded) {
  uint32_t* raw = nullptr;
  int size = 0;
  int algorithm = 0;
  if (!chromaprint_decode_fingerprint(encoded.data(), static_cast<int>(encoded.size()), &raw, &size,
                                      &algorithm, 1) ||
      raw == nullptr) {
    return Corrupt("fingerprint cannot be decoded");
  }
  std::vector<uint32_t> out(raw, raw + size);
  chromaprint_dealloc(raw);
  return out;
}

}  // namespace timbre::dsp
