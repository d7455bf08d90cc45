// make_store DB N: fills a store with N synthetic tracks (tags, duration, and the spectral,
// rhythm and loudness outputs timbre-v1 reads, drawn around 50 styles), for timing queries
// on a library of that size without scanning N audio files.
#include <cstdio>
#include <random>
#include <string>

#include "timbre/index/timbre_v1.h"
#include "timbre/store/store.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: make_store DB N\n");
    return 2;
  }
  auto store = timbre::store::OpenStore(argv[1]);
  if (!store.ok()) {
    std::fprintf(stderr, "make_store: %s\n", store.status().ToString().c_str());
    return 1;
  }
  const long n = std::stol(argv[2]);
  std::mt19937 rng(20261122);
  std::normal_distribution<double> g;
  for (long i = 0; i < n; ++i) {
    const int style = static_cast<int>(rng() % 50);
    timbre::store::TrackWrite w;
    w.track.key.path = "/synthetic/" + std::to_string(style) + "/" + std::to_string(i) + ".flac";
    w.track.key.size = 1;
    w.track.key.content_hash = std::to_string(i);
    w.track.key.status = timbre::store::TrackStatus::kOk;
    w.track.duration = 120.0 + 240.0 * std::abs(g(rng)) / 3.0;
    w.track.tags.artist = "artist " + std::to_string(i % 5000);
    w.track.tags.title = "track " + std::to_string(i);
    timbre::analysis::AnalysisRecord spectral, rhythm, loudness;
    spectral.provenance.analyzer = "spectral";
    rhythm.provenance.analyzer = "rhythm";
    loudness.provenance.analyzer = "loudness";
    size_t f = 0;
    for (const auto& spec : timbre::index::TimbreV1Features()) {
      const double value = 2.0 + std::sin(style * 0.7 + f++ * 1.3) + 0.2 * g(rng);
      const auto dot = spec.source.find('.');
      const std::string analyzer = spec.source.substr(0, dot);
      const std::string name = spec.source.substr(dot + 1);
      auto& record = analyzer == "spectral" ? spectral : analyzer == "rhythm" ? rhythm : loudness;
      record.output.numbers[name] = name == "bpm" ? 60.0 * value : value;
    }
    w.analyses = {spectral, rhythm, loudness};
    auto id = (*store)->CommitTrack(w);
    if (!id.ok()) {
      std::fprintf(stderr, "make_store: %s\n", id.status().ToString().c_str());
      return 1;
    }
  }
  return 0;
}
