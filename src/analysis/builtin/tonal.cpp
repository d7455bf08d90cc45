// tonal: key and scale with strength, tuning frequency, 12-bin chroma and 36-bin HPCP means,
// and the key under each profile (see dsp/tonal.h).
#include <fmt/format.h>

#include "builtin/builtin.h"
#include "timbre/dsp/tonal.h"

namespace timbre::analysis {
namespace {

constexpr dsp::StftSpec kStft{4096, 2048};
constexpr dsp::KeyProfile kProfiles[] = {dsp::KeyProfile::kKrumhansl, dsp::KeyProfile::kTemperley,
                                         dsp::KeyProfile::kDiatonic};

class TonalRun : public AnalyzerRun {
 public:
  explicit TonalRun(const Params& params)
      : profile_(kProfiles[static_cast<int>(params.at("profile"))]) {}

  void ConsumeSpectrum(const dsp::SpectrumFrame& frame) override { chroma_.AddFrame(frame); }

  Result<Output> Finish(const audio::DecodeReport&) override {
    Output out;
    const dsp::TonalSummary s = chroma_.Finish();
    std::string chroma, hpcp;
    for (double v : s.chroma) chroma += (chroma.empty() ? "" : ",") + fmt::format("{:.4f}", v);
    for (double v : s.hpcp) hpcp += (hpcp.empty() ? "" : ",") + fmt::format("{:.4f}", v);
    out.texts["chroma"] = chroma;
    out.texts["hpcp"] = hpcp;
    for (size_t i = 0; i < 12; ++i) out.numbers[fmt::format("chroma_{}", i)] = s.chroma[i];
    auto key = dsp::EstimateKey(s.chroma, profile_);
    if (!key) {
      out.notes.push_back("no key: no tonal content (silence, noise or too short)");
      return out;
    }
    out.numbers["tuning_frequency"] = s.tuning_hz;
    out.numbers["key_tonic"] = key->tonic;
    out.numbers["key_minor"] = key->minor ? 1.0 : 0.0;
    out.numbers["key_strength"] = key->strength;
    out.texts["key"] = key->Name();
    for (auto p : kProfiles) {
      auto k = dsp::EstimateKey(s.chroma, p);
      out.texts[fmt::format("key_{}", dsp::KeyProfileName(p))] = k->Name();
      out.numbers[fmt::format("key_{}_strength", dsp::KeyProfileName(p))] = k->strength;
    }
    return out;
  }

 private:
  dsp::KeyProfile profile_;
  dsp::ChromaAccumulator chroma_;
};

class TonalAnalyzer : public BuiltinAnalyzer {
 public:
  TonalAnalyzer() {
    info_.name = "tonal";
    info_.version = 1;
    info_.description =
        "Key and scale (major/minor) with strength, tuning frequency, chroma and HPCP, from "
        "spectral peaks of 4096-sample frames; key profiles: krumhansl, temperley, diatonic.";
    info_.view = {44100, 1};
    info_.window = "whole stream";
    info_.stft = kStft;
    info_.params = {
        {"profile", 0, 0, 2, "", "key profile of `key`: 0 krumhansl, 1 temperley, 2 diatonic"},
    };
    info_.outputs = {
        {"key", "", "key and scale, e.g. \"Eb minor\"", true},
        {"key_tonic", "", "pitch class of the tonic, 0 = C", false},
        {"key_minor", "", "1 for minor, 0 for major", false},
        {"key_strength", "", "correlation of the chroma with the key's profile, -1..1", false},
        {"tuning_frequency", "Hz", "estimated frequency of A4", false},
        {"chroma", "", "mean 12-bin chroma C..B, max 1", true},
        {"hpcp", "", "mean 36-bin pitch-class profile (thirds of a semitone), max 1", true},
    };
    for (int i = 0; i < 12; ++i) {
      info_.outputs.push_back(
          {fmt::format("chroma_{}", i), "", "chroma bin (C = 0), max 1", false});
    }
    for (auto p : kProfiles) {
      info_.outputs.push_back(
          {fmt::format("key_{}", dsp::KeyProfileName(p)), "", "key under this profile", true});
      info_.outputs.push_back(
          {fmt::format("key_{}_strength", dsp::KeyProfileName(p)), "", "its correlation", false});
    }
  }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params& params, const audio::StreamInfo&,
                                             const audio::AudioBlock&) const override {
    return std::unique_ptr<AnalyzerRun>(std::make_unique<TonalRun>(params));
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakeTonalAnalyzer() { return std::make_unique<TonalAnalyzer>(); }

}  // namespace timbre::analysis
