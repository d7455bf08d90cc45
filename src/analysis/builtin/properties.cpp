// properties: what the stream is (codec, container, rate, channels, bitrate) and how long it
// really is, counted from the decoded samples rather than trusted from the header.
#include "builtin/builtin.h"

namespace timbre::analysis {
namespace {

class PropertiesRun : public AnalyzerRun {
 public:
  bool Consume(const audio::AudioBlock&) override { return true; }

  Result<Output> Finish(const audio::DecodeReport& report) override {
    Output out;
    out.numbers["duration"] = report.decoded_seconds();
    out.numbers["sample_rate"] = report.info.sample_rate;
    out.numbers["channels"] = report.info.channels;
    if (report.info.bitrate > 0) out.numbers["bitrate"] = static_cast<double>(report.info.bitrate);
    out.numbers["decode_errors"] = report.decode_errors;
    out.texts["codec"] = report.info.codec;
    out.texts["container"] = report.info.container;
    if (report.decode_errors > 0) {
      out.notes.push_back(std::to_string(report.decode_errors) +
                          " damaged packets were skipped while decoding");
    }
    return out;
  }
};

class PropertiesAnalyzer : public BuiltinAnalyzer {
 public:
  PropertiesAnalyzer() {
    info_.name = "properties";
    info_.version = 1;
    info_.description = "Codec, container, sample rate, channels, bitrate and decoded duration.";
    info_.view = {0, 0};
    info_.window = "whole stream";
    info_.outputs = {
        {"duration", "s", "duration of the decoded audio", false},
        {"sample_rate", "Hz", "the stream's sample rate", false},
        {"channels", "", "number of channels", false},
        {"bitrate", "bit/s", "the stream's (or container's) bitrate, when known", false},
        {"decode_errors", "", "packets the decoder rejected and skipped", false},
        {"codec", "", "FFmpeg decoder name", true},
        {"container", "", "FFmpeg demuxer name", true},
    };
  }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params&, const audio::StreamInfo&,
                                             const audio::AudioBlock&) const override {
    return std::unique_ptr<AnalyzerRun>(std::make_unique<PropertiesRun>());
  }
};

}  // namespace

std::unique_ptr<Analyzer> MakePropertiesAnalyzer() {
  return std::make_unique<PropertiesAnalyzer>();
}

}  // namespace timbre::analysis
