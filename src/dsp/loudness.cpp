#include "timbre/dsp/loudness.h"

#include <ebur128.h>

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace timbre::dsp {
namespace {

struct StateDeleter {
  void operator()(ebur128_state* s) const { ebur128_destroy(&s); }
};
using StatePtr = std::unique_ptr<ebur128_state, StateDeleter>;

// Bounds of libebur128 1.2's true-peak interpolator (49-tap Hann-windowed sinc): the
// largest L1 norm of one polyphase branch, and how many earlier input samples one output
// depends on. Derived from the filter's definition; the tests check the optimised result
// against libebur128's exhaustive computation, which would catch a wrong bound.
struct InterpolatorBound {
  double gain;  // 0 = no interpolation (192 kHz and up): true peak is the sample peak
  size_t history;
};
InterpolatorBound BoundFor(int sample_rate) {
  // A small margin covers the float32 rounding inside libebur128.
  if (sample_rate < 96000) return {1.8641815719705122 * (1 + 1e-5), 11};
  if (sample_rate < 192000) return {2.306831424296323 * (1 + 1e-5), 23};
  return {0.0, 0};
}

double BlockLufs(double energy) { return 10.0 * std::log10(energy) - 0.691; }
double BinCenterEnergy(int bin) { return std::pow(10.0, (bin / 10.0 - 69.95 + 0.691) / 10.0); }

}  // namespace

void LoudnessHistogram::AddBlock(double block_lufs) {
  if (!(block_lufs >= -70.0)) return;  // under the absolute gate, or -inf / NaN
  const int bin = std::min(kBins - 1, static_cast<int>(std::floor((block_lufs + 70.0) * 10.0)));
  ++counts_[static_cast<size_t>(bin)];
}

void LoudnessHistogram::Merge(const LoudnessHistogram& other) {
  for (int i = 0; i < kBins; ++i) counts_[i] += other.counts_[i];
}

uint64_t LoudnessHistogram::blocks() const {
  uint64_t n = 0;
  for (uint32_t c : counts_) n += c;
  return n;
}

std::optional<double> LoudnessHistogram::IntegratedLufs() const {
  double energy = 0.0;
  uint64_t n = 0;
  for (int i = 0; i < kBins; ++i) {
    energy += counts_[i] * BinCenterEnergy(i);
    n += counts_[i];
  }
  if (n == 0) return std::nullopt;
  const double relative_gate = 0.1 * energy / static_cast<double>(n);  // -10 LU
  // libebur128's gate: the first bin whose centre is not below the relative gate.
  const double lowest_edge = std::pow(10.0, (-70.0 + 0.691) / 10.0);
  int start = 0;
  if (relative_gate >= lowest_edge) {
    const double gate_lufs = BlockLufs(relative_gate);
    start = std::clamp(static_cast<int>(std::floor((gate_lufs + 70.0) * 10.0)), 0, kBins - 1);
    if (relative_gate > BinCenterEnergy(start)) ++start;
  }
  energy = 0.0;
  n = 0;
  for (int i = start; i < kBins; ++i) {
    energy += counts_[i] * BinCenterEnergy(i);
    n += counts_[i];
  }
  if (n == 0 || energy <= 0.0) return std::nullopt;
  return BlockLufs(energy / static_cast<double>(n));
}

std::string LoudnessHistogram::Encode() const {
  std::string out;
  for (int i = 0; i < kBins; ++i) {
    if (counts_[i] == 0) continue;
    if (!out.empty()) out += ',';
    out += fmt::format("{}:{}", i, counts_[i]);
  }
  return out;
}

Result<LoudnessHistogram> LoudnessHistogram::Decode(std::string_view text) {
  LoudnessHistogram h;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    const size_t colon = item.find(':');
    int bin = -1;
    uint32_t count = 0;
    if (colon == std::string_view::npos ||
        std::from_chars(item.data(), item.data() + colon, bin).ec != std::errc() ||
        std::from_chars(item.data() + colon + 1, item.data() + item.size(), count).ec !=
            std::errc() ||
        bin < 0 || bin >= kBins) {
      return Corrupt(fmt::format("bad loudness histogram entry '{}'", item));
    }
    h.counts_[static_cast<size_t>(bin)] += count;
  }
  return h;
}

struct LoudnessMeter::Impl {
  int channels = 0;
  LoudnessOptions options;
  StatePtr main;               // integrated, range, sample peak, histogram
  StatePtr peak;               // true peak, fed only the chunks that need it
  size_t chunk_frames;         // libebur128's 100 ms step, so each full chunk closes one block
  std::vector<float> pending;  // audio waiting to fill a chunk
  std::vector<float> previous_tail;  // last `history` frames before the current chunk
  long long chunks_seen = 0;
  long long last_peak_chunk = -2;  // index of the last chunk fed to `peak`
  long long peak_chunks = 0;
  double sample_peak = 0.0;
  double true_peak = 0.0;
  InterpolatorBound bound{};
  LoudnessHistogram histogram;

  void ProcessChunk(const float* data, size_t frames) {
    ebur128_add_frames_float(main.get(), data, frames);
    double chunk_peak = 0.0;
    for (int c = 0; c < channels; ++c) {
      double p = 0.0;
      ebur128_prev_sample_peak(main.get(), static_cast<unsigned>(c), &p);
      chunk_peak = std::max(chunk_peak, p);
    }
    sample_peak = std::max(sample_peak, chunk_peak);
    ++chunks_seen;
    if (frames == chunk_frames && chunks_seen >= 4) {
      double lufs = 0.0;
      if (ebur128_loudness_momentary(main.get(), &lufs) == EBUR128_SUCCESS) {
        histogram.AddBlock(lufs);
      }
    }
    if (peak) ProcessTruePeak(data, frames, chunk_peak);
    SaveTail(data, frames);
  }

  void ProcessTruePeak(const float* data, size_t frames, double chunk_peak) {
    double window_peak = chunk_peak;
    for (float s : previous_tail)
      window_peak = std::max(window_peak, static_cast<double>(std::fabs(s)));
    const double known = std::max(sample_peak, true_peak);
    const long long index = chunks_seen - 1;
    if (!options.exhaustive_true_peak && window_peak * bound.gain <= known) return;
    if (last_peak_chunk != index - 1 && !previous_tail.empty()) {
      // Warm the interpolator's delay line with the real samples before this chunk; the
      // outputs of this call are discarded.
      ebur128_add_frames_float(peak.get(), previous_tail.data(),
                               previous_tail.size() / static_cast<size_t>(channels));
    }
    ebur128_add_frames_float(peak.get(), data, frames);
    for (int c = 0; c < channels; ++c) {
      double p = 0.0;
      ebur128_prev_true_peak(peak.get(), static_cast<unsigned>(c), &p);
      true_peak = std::max(true_peak, p);
    }
    last_peak_chunk = index;
    ++peak_chunks;
  }

  void SaveTail(const float* data, size_t frames) {
    const size_t keep = std::min(frames, bound.history);
    const size_t ch = static_cast<size_t>(channels);
    previous_tail.insert(previous_tail.end(), data + (frames - keep) * ch, data + frames * ch);
    if (previous_tail.size() > bound.history * ch) {
      previous_tail.erase(previous_tail.begin(),
                          previous_tail.end() - static_cast<ptrdiff_t>(bound.history * ch));
    }
  }
};

LoudnessMeter::LoudnessMeter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LoudnessMeter::~LoudnessMeter() = default;

Result<std::unique_ptr<LoudnessMeter>> LoudnessMeter::Create(int sample_rate, int channels,
                                                             LoudnessOptions options) {
  if (sample_rate < 8 || sample_rate > 2822400) {
    return InvalidArgument(fmt::format("sample rate {} Hz is out of range", sample_rate));
  }
  if (channels < 1 || channels > 64) {
    return InvalidArgument(fmt::format("{} channels is out of range", channels));
  }
  auto impl = std::make_unique<Impl>();
  impl->channels = channels;
  impl->options = options;
  // Integrated loudness comes from our own block histogram (the same blocks, bins and gates
  // as libebur128's histogram mode), so the state is not asked to gate every block twice.
  int mode = EBUR128_MODE_M | EBUR128_MODE_SAMPLE_PEAK | EBUR128_MODE_HISTOGRAM;
  if (options.loudness_range) mode |= EBUR128_MODE_LRA;
  impl->main.reset(
      ebur128_init(static_cast<unsigned>(channels), static_cast<unsigned long>(sample_rate), mode));
  if (!impl->main) return Internal("libebur128 could not create a state");
  impl->bound = BoundFor(sample_rate);
  if (options.true_peak && impl->bound.gain > 0.0) {
    impl->peak.reset(ebur128_init(static_cast<unsigned>(channels),
                                  static_cast<unsigned long>(sample_rate), EBUR128_MODE_TRUE_PEAK));
    if (!impl->peak) return Internal("libebur128 could not create a true-peak state");
    // This state only measures true peak, which libebur128 computes on every channel; with
    // the channels marked unused it skips their K-weighting filter, half of its other cost.
    for (int c = 0; c < channels; ++c) {
      ebur128_set_channel(impl->peak.get(), static_cast<unsigned>(c), EBUR128_UNUSED);
    }
  }
  // libebur128 weights channels by their position; mono and stereo map as it defaults.
  impl->chunk_frames = static_cast<size_t>((sample_rate + 5) / 10);
  impl->pending.reserve(impl->chunk_frames * static_cast<size_t>(channels));
  return std::unique_ptr<LoudnessMeter>(new LoudnessMeter(std::move(impl)));
}

void LoudnessMeter::Add(const float* interleaved, size_t frames) {
  Impl& m = *impl_;
  const size_t ch = static_cast<size_t>(m.channels);
  const size_t chunk_samples = m.chunk_frames * ch;
  size_t offset = 0;
  const size_t total = frames * ch;
  // Fill a partial chunk first, then go straight from the caller's buffer.
  if (!m.pending.empty()) {
    const size_t take = std::min(chunk_samples - m.pending.size(), total);
    m.pending.insert(m.pending.end(), interleaved, interleaved + take);
    offset = take;
    if (m.pending.size() < chunk_samples) return;
    m.ProcessChunk(m.pending.data(), m.chunk_frames);
    m.pending.clear();
  }
  while (total - offset >= chunk_samples) {
    m.ProcessChunk(interleaved + offset, m.chunk_frames);
    offset += chunk_samples;
  }
  m.pending.insert(m.pending.end(), interleaved + offset, interleaved + total);
}

LoudnessResult LoudnessMeter::Finish() {
  Impl& m = *impl_;
  if (!m.pending.empty()) {
    m.ProcessChunk(m.pending.data(), m.pending.size() / static_cast<size_t>(m.channels));
    m.pending.clear();
  }
  LoudnessResult r;
  double value = 0.0;
  r.integrated_lufs = m.histogram.IntegratedLufs();
  if (m.options.loudness_range && r.integrated_lufs &&
      ebur128_loudness_range(m.main.get(), &value) == EBUR128_SUCCESS && std::isfinite(value)) {
    r.loudness_range_lu = value;
  }
  r.sample_peak = m.sample_peak;
  r.true_peak = std::max(m.sample_peak, m.true_peak);
  r.true_peak_fraction =
      m.chunks_seen > 0 ? static_cast<double>(m.peak_chunks) / static_cast<double>(m.chunks_seen)
                        : 0.0;
  r.histogram = std::move(m.histogram);
  return r;
}

}  // namespace timbre::dsp
