// fingerprint: a Chromaprint (AcoustID) fingerprint of the start of the track, for
// duplicate detection and AcoustID lookups.
#include <cmath>

#include <fmt/format.h>

#include "builtin/builtin.h"
#include "timbre/dsp/fingerprint.h"

namespace timbre::analysis {
namespace {

class FingerprintRun : public AnalyzerRun {
 public:
  explicit FingerprintRun(std::unique_ptr<dsp::Fingerprinter> fp) : fp_(std::move(fp)) {}

  bool Consume(const audio::AudioBlock& block) override {
    return fp_->Add(block.samples, block.frames);
  }

  Result<Output> Finish(const audio::DecodeReport&) override {
    auto fp = fp_->Finish();
    if (!fp.ok()) return fp.status();
    Output out;
    out.numbers["seconds"] = fp->seconds;
    if (fp->encoded.empty()) {
      out.notes.push_back("too little audio for a fingerprint");
    } else {
      out.texts["chromaprint"] = fp->encoded;
    }
    return out;
  }

 private:
  std::unique_ptr<dsp::Fingerprinter> fp_;
};

class FingerprintAnalyzer : public BuiltinAnalyzer {
 public:
  FingerprintAnalyzer() {
    info_.name = "fingerprint";
    info_.version = 1;
    info_.description = "Chromaprint acoustic fingerprint (AcoustID algorithm 2).";
    info_.view = {dsp::kFingerprintSampleRate, 1};
    info_.window = "the first max_seconds of the stream";
    info_.params = {
        {"max_seconds", 120, 10, 36000, "s", "audio from the start that goes into the fingerprint"},
    };
    info_.outputs = {
        {"chromaprint", "", "compressed base64 Chromaprint fingerprint", true},
        {"seconds", "s", "audio that went into the fingerprint", false},
    };
  }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params, const audio::StreamInfo&,
                                             const audio::AudioBlock& view) const override {
    auto fp = dsp::Fingerprinter::Create(view.sample_rate, view.channels, params.at("max_seconds"));
    if (!fp.ok()) return fp.status();
    return std::unique_ptr<AnalyzerRun>(std::make_unique<FingerprintRun>(std::move(fp).value()));
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeFingerprintAnalyzer() {
  return std::make_unique<FingerprintAnalyzer>();
}

}  // namespace timbre::analysis
