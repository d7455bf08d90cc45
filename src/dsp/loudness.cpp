#include "timbre/dsp/loudness.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "timbre/dsp/k_weighting.h"
#include "timbre/dsp/true_peak.h"

namespace timbre::dsp {
namespace {

double BlockLufs(double energy) { return 10.0 * std::log10(energy) - 0.691; }
double BinCenterEnergy(int bin) { return std::pow(10.0, (bin / 10.0 - 69.95 + 0.691) / 10.0); }

// The largest |sample|, in eight independent running maxima so the loop vectorises.
float PeakMagnitude(const float* data, size_t n) {
  float lanes[8] = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (size_t k = 0; k < 8; ++k) {
      const float m = std::fabs(data[i + k]);
      lanes[k] = m > lanes[k] ? m : lanes[k];  // a NaN sample never wins
    }
  }
  float peak = 0.0f;
  for (; i < n; ++i) peak = std::max(peak, std::fabs(data[i]));
  for (float l : lanes) peak = std::max(peak, l);
  return peak;
}

}  // namespace

void LoudnessHistogram::AddBlock(double block_lufs) {
  // Under the absolute gate, or not a number at all (NaN, and the infinities a filter run
  // past its range can give), counts for nothing.
  if (!(block_lufs >= -70.0) || !std::isfinite(block_lufs)) return;
  const double bin = std::min<double>(kBins - 1, std::floor((block_lufs + 70.0) * 10.0));
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

// The first bin a gate at `gate_energy` keeps, as libebur128's histogram mode decides it:
// the bin holding the gate, unless the gate lies above that bin's centre.
int LoudnessHistogram::FirstBinAbove(double gate_energy) {
  const double lowest_edge = std::pow(10.0, (-70.0 + 0.691) / 10.0);
  if (gate_energy < lowest_edge) return 0;
  const double gate_lufs = BlockLufs(gate_energy);
  int start = std::clamp(static_cast<int>(std::floor((gate_lufs + 70.0) * 10.0)), 0, kBins - 1);
  if (gate_energy > BinCenterEnergy(start)) ++start;
  return start;
}

LoudnessHistogram::Sum LoudnessHistogram::SumFrom(int start) const {
  Sum sum;
  for (int i = start; i < kBins; ++i) {
    sum.energy += counts_[i] * BinCenterEnergy(i);
    sum.blocks += counts_[i];
  }
  return sum;
}

std::optional<double> LoudnessHistogram::IntegratedLufs() const {
  const Sum all = SumFrom(0);
  if (all.blocks == 0) return std::nullopt;
  const Sum gated = SumFrom(FirstBinAbove(0.1 * all.Mean()));  // -10 LU
  if (gated.blocks == 0 || gated.energy <= 0.0) return std::nullopt;
  return BlockLufs(gated.Mean());
}

double LoudnessHistogram::RangeLu() const {
  const Sum all = SumFrom(0);
  if (all.blocks == 0) return 0.0;
  const int start = FirstBinAbove(0.01 * all.Mean());  // -20 LU
  const uint64_t kept = SumFrom(start).blocks;
  if (kept == 0) return 0.0;
  // The 10th and 95th percentiles, as the bins' centres, rounded to the nearest block.
  const auto low_rank = static_cast<uint64_t>(static_cast<double>(kept - 1) * 0.1 + 0.5);
  const auto high_rank = static_cast<uint64_t>(static_cast<double>(kept - 1) * 0.95 + 0.5);
  uint64_t seen = 0;
  int i = start;
  while (seen <= low_rank) seen += counts_[i++];
  const double low = BinCenterEnergy(i - 1);
  while (seen <= high_rank) seen += counts_[i++];
  const double high = BinCenterEnergy(i - 1);
  return BlockLufs(high) - BlockLufs(low);
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
  Impl(int sample_rate, int channels, LoudnessOptions opts)
      : channels(channels),
        weighted(sample_rate >= kMinLoudnessRate),
        options(opts),
        filter(sample_rate, channels) {}

  int channels = 0;
  bool weighted;
  LoudnessOptions options;
  KWeighting filter;
  std::optional<TruePeakInterpolator> interpolator;  // none when the rate needs none
  size_t chunk_frames = 0;                           // 100 ms: blocks start every chunk
  std::vector<float> pending;                        // audio waiting to fill a chunk
  // Weighted energy of the last 30 chunks, newest at chunks_seen % 30: a 400 ms block is the
  // last 4, a 3 s short-term window (for the loudness range) all 30.
  std::array<double, 30> chunk_energy{};
  long long chunks_seen = 0;
  long long peak_chunks = 0;
  double sample_peak = 0.0;
  double true_peak = 0.0;
  LoudnessHistogram histogram;   // 400 ms blocks
  LoudnessHistogram short_term;  // 3 s windows, one a second from 3 s on

  double WindowEnergy(int chunks) const {
    double sum = 0.0;
    for (int k = chunks - 1; k >= 0; --k) sum += chunk_energy[(chunks_seen - 1 - k) % 30];
    return sum / static_cast<double>(chunk_frames * static_cast<size_t>(chunks));
  }

  void ProcessChunk(const float* data, size_t frames) {
    const size_t ch = static_cast<size_t>(channels);
    const float chunk_peak = PeakMagnitude(data, frames * ch);
    sample_peak = std::max(sample_peak, static_cast<double>(chunk_peak));
    ++chunks_seen;
    if (interpolator) ProcessTruePeak(data, frames, chunk_peak);
    if (!weighted) return;
    chunk_energy[(chunks_seen - 1) % 30] = filter.FilterEnergy(data, frames);
    // Only whole chunks close blocks (a partial last chunk is filtered, as libebur128 does,
    // but measures nothing).
    if (frames == chunk_frames && chunks_seen >= 4) {
      const double energy = WindowEnergy(4);
      if (energy > 0.0) histogram.AddBlock(BlockLufs(energy));
    }
    if (frames == chunk_frames && options.loudness_range && chunks_seen >= 30 &&
        chunks_seen % 10 == 0) {
      const double energy = WindowEnergy(30);
      if (energy > 0.0) short_term.AddBlock(BlockLufs(energy));
    }
  }

  void ProcessTruePeak(const float* data, size_t frames, double chunk_peak) {
    // The chunk plus the samples before it that the filter sees bound its outputs; a margin
    // over the bound covers the rounding of outputs to float.
    const double window_peak = std::max(chunk_peak, interpolator->HistoryPeak());
    const double known = std::max(sample_peak, true_peak);
    if (!options.exhaustive_true_peak && window_peak * interpolator->gain() * (1 + 1e-5) <= known) {
      interpolator->Skip(data, frames);
      return;
    }
    true_peak = std::max(true_peak, interpolator->Process(data, frames));
    ++peak_chunks;
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
  auto impl = std::make_unique<Impl>(sample_rate, channels, options);
  if (options.true_peak) {
    TruePeakInterpolator interpolator(sample_rate, channels);
    if (interpolator.factor() > 1) impl->interpolator.emplace(std::move(interpolator));
  }
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
  r.weighted = m.weighted;
  r.integrated_lufs = m.histogram.IntegratedLufs();
  if (m.options.loudness_range && r.integrated_lufs) r.loudness_range_lu = m.short_term.RangeLu();
  r.sample_peak = m.sample_peak;
  r.true_peak = std::max(m.sample_peak, m.true_peak);
  r.true_peak_fraction =
      m.chunks_seen > 0 ? static_cast<double>(m.peak_chunks) / static_cast<double>(m.chunks_seen)
                        : 0.0;
  r.histogram = std::move(m.histogram);
  return r;
}

}  // namespace timbre::dsp
