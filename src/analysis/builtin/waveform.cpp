// waveform: the track's outline for drawing, as the minimum and maximum of every 512 samples
// of the 44.1 kHz mono view (86 columns a second), in the audiowaveform program's binary
// .dat format (version 1, 8-bit), which peaks.js and other waveform viewers read as they
// come. Written as a file into the artifact store: 3 minutes take about 31 KB.
//
// Format (little-endian): int32 version = 1, uint32 flags = 1 (8-bit values), int32 sample
// rate, int32 samples per column, uint32 columns, then one (min, max) pair of int8 per column
// (full scale is ±127).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "builtin/builtin.h"

namespace timbre::analysis {
namespace {

constexpr int kRate = 44100;

int8_t Quantised(float v) {
  return static_cast<int8_t>(std::clamp(std::lround(v * 127.0f), -128L, 127L));
}

void PutLittle32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

class WaveformRun : public AnalyzerRun {
 public:
  explicit WaveformRun(int samples_per_column) : per_column_(samples_per_column) {}

  bool Consume(const audio::AudioBlock& block) override {
    for (size_t i = 0; i < block.frames; ++i) {
      const float v = std::isfinite(block.samples[i]) ? block.samples[i] : 0.0f;
      lo_ = std::min(lo_, v);
      hi_ = std::max(hi_, v);
      if (++in_column_ == per_column_) Flush();
    }
    return true;
  }

  Result<Output> Finish(const audio::DecodeReport&) override {
    if (in_column_ > 0) Flush();
    std::string data;
    data.reserve(20 + columns_.size());
    PutLittle32(data, 1);  // version
    PutLittle32(data, 1);  // flags: 8-bit values
    PutLittle32(data, kRate);
    PutLittle32(data, static_cast<uint32_t>(per_column_));
    PutLittle32(data, static_cast<uint32_t>(columns_.size() / 2));
    data.append(reinterpret_cast<const char*>(columns_.data()), columns_.size());
    Output out;
    out.numbers["columns_per_second"] = static_cast<double>(kRate) / per_column_;
    out.files["peaks"] = {"application/vnd.audiowaveform.dat", std::move(data), {}};
    return out;
  }

 private:
  void Flush() {
    columns_.push_back(Quantised(lo_));
    columns_.push_back(Quantised(hi_));
    lo_ = 1.0f;
    hi_ = -1.0f;
    in_column_ = 0;
  }

  const int per_column_;
  int in_column_ = 0;
  float lo_ = 1.0f;
  float hi_ = -1.0f;
  std::vector<int8_t> columns_;
};

class WaveformAnalyzer : public BuiltinAnalyzer {
 public:
  WaveformAnalyzer() {
    info_.name = "waveform";
    info_.version = 1;
    info_.description =
        "The waveform's outline for drawing: minimum and maximum of every few hundred samples, "
        "as an audiowaveform .dat file.";
    info_.view = {kRate, 1};
    info_.window = "whole stream";
    info_.params = {{"samples_per_column", 512, 32, 65536, "samples",
                     "samples summarised by each (min, max) pair"}};
    info_.outputs = {
        {"columns_per_second", "Hz", "(min, max) pairs per second of audio", false},
        OutputSpec::File("peaks",
                         "audiowaveform .dat (version 1, 8-bit): a (min, max) pair per column",
                         "application/vnd.audiowaveform.dat"),
    };
  }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params, const audio::StreamInfo&,
                                             const audio::AudioBlock&) const override {
    const int per_column = static_cast<int>(params.at("samples_per_column"));
    return std::unique_ptr<AnalyzerRun>(std::make_unique<WaveformRun>(per_column));
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeWaveformAnalyzer() { return std::make_unique<WaveformAnalyzer>(); }

}  // namespace timbre::analysis
