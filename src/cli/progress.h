// A one-line progress bar on a terminal: files done, rate, ETA. Redraws at most ten times
// a second; prints nothing when stderr is not a terminal.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace timbre::cli {

class ProgressBar {
 public:
  explicit ProgressBar(bool enabled);
  ~ProgressBar();

  void SetTotal(size_t total);
  void Update(size_t done, double audio_seconds, const std::string& current);
  // Clears the line so that other output starts clean.
  void Clear();

  static bool StderrIsTerminal();

 private:
  bool enabled_;
  size_t total_ = 0;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace timbre::cli
