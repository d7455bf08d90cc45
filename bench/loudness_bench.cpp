// loudness_bench FILE [RUNS]: what each part of the loudness analyzer costs, against
// decoding the same file. Decodes once into memory for the analysis timings, then prints
// the median of RUNS runs of: decode only, libebur128 integrated loudness, + loudness range,
// + sample peak, + exhaustive true peak (libebur128 over every sample), and timbre's
// LoudnessMeter (all of the above, the same measurement) with true peak on every sample and
// only where it can change the answer.
#include <ebur128.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "timbre/audio/decode.h"
#include "timbre/dsp/loudness.h"

namespace {

double MedianSeconds(int runs, const std::function<void()>& fn) {
  std::vector<double> t;
  for (int i = 0; i < runs; ++i) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void RunLibebur128(const std::vector<float>& audio, int rate, int channels, int mode) {
  ebur128_state* st = ebur128_init(channels, rate, mode);
  ebur128_add_frames_float(st, audio.data(), audio.size() / channels);
  double v = 0;
  ebur128_loudness_global(st, &v);
  ebur128_destroy(&st);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: loudness_bench FILE [RUNS]\n");
    return 2;
  }
  const int runs = argc > 2 ? std::max(1, std::atoi(argv[2])) : 5;
  std::vector<float> audio;
  int rate = 0;
  int channels = 0;
  auto decode = [&](bool keep) {
    audio.clear();
    auto r = timbre::audio::DecodeFile(
        argv[1], {{0, 0}}, nullptr, [&](size_t, const timbre::audio::AudioBlock& b) {
          rate = b.sample_rate;
          channels = b.channels;
          if (keep) {
            audio.insert(audio.end(), b.samples, b.samples + b.frames * b.channels);
          }
          return true;
        });
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      std::exit(1);
    }
  };
  const double t_decode = MedianSeconds(runs, [&] { decode(false); });
  decode(true);
  const double seconds = static_cast<double>(audio.size()) / channels / rate;
  double fraction = 0;
  struct Row {
    const char* name;
    double t;
  };
  std::vector<Row> rows = {
      {"decode only (FFmpeg, to float)", t_decode},
      {"libebur128 integrated",
       MedianSeconds(runs, [&] { RunLibebur128(audio, rate, channels, EBUR128_MODE_I); })},
      {"  + loudness range",
       MedianSeconds(
           runs, [&] { RunLibebur128(audio, rate, channels, EBUR128_MODE_I | EBUR128_MODE_LRA); })},
      {"  + sample peak", MedianSeconds(runs,
                                        [&] {
                                          RunLibebur128(audio, rate, channels,
                                                        EBUR128_MODE_I | EBUR128_MODE_LRA |
                                                            EBUR128_MODE_SAMPLE_PEAK);
                                        })},
      {"  + true peak, every sample",
       MedianSeconds(runs,
                     [&] {
                       RunLibebur128(audio, rate, channels,
                                     EBUR128_MODE_I | EBUR128_MODE_LRA | EBUR128_MODE_TRUE_PEAK);
                     })},
      {"timbre LoudnessMeter, every sample",
       MedianSeconds(runs,
                     [&] {
                       timbre::dsp::LoudnessOptions options;
                       options.exhaustive_true_peak = true;
                       auto m = timbre::dsp::LoudnessMeter::Create(rate, channels, options);
                       (*m)->Add(audio.data(), audio.size() / channels);
                       (*m)->Finish();
                     })},
      {"timbre LoudnessMeter (all of it)",
       MedianSeconds(runs,
                     [&] {
                       auto m = timbre::dsp::LoudnessMeter::Create(rate, channels);
                       (*m)->Add(audio.data(), audio.size() / channels);
                       fraction = (*m)->Finish().true_peak_fraction;
                     })},
  };
  std::printf("%s: %.1f s, %d Hz, %d ch; median of %d runs\n", argv[1], seconds, rate, channels,
              runs);
  std::printf("%-36s %9s %9s %10s\n", "step", "seconds", "x decode", "x realtime");
  for (const auto& r : rows) {
    std::printf("%-36s %9.3f %9.2f %10.0f\n", r.name, r.t, r.t / t_decode, seconds / r.t);
  }
  std::printf("true peak interpolated on %.0f%% of the audio\n", fraction * 100);
  return 0;
}
