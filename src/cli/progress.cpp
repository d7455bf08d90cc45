#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "timbre/core/paths.h"

namespace timbre::cli {
namespace {

int TerminalWidth() {
  winsize w{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 20) return w.ws_col;
  return 80;
}

std::string Clock(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

}  // namespace

ProgressBar::ProgressBar(bool enabled)
    : enabled_(enabled), start_(std::chrono::steady_clock::now()) {}
ProgressBar::~ProgressBar() { Clear(); }

bool ProgressBar::StderrIsTerminal() { return isatty(STDERR_FILENO) == 1; }

void ProgressBar::SetTotal(size_t total) { total_ = total; }

void ProgressBar::Update(size_t done, double audio_seconds, const std::string& current) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (drawn_ && done < total_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  drawn_ = true;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0.0;
  const std::string eta = rate > 0 && total_ > done ? Clock((total_ - done) / rate) : "-";
  const int width = TerminalWidth();
  const int bar = 24;
  const int filled = total_ > 0 ? static_cast<int>(bar * done / total_) : 0;
  std::string line = fmt::format("[{}{}] {}/{} files  {:.1f}/s  {:.0f}x realtime  ETA {}  ",
                                 std::string(filled, '#'), std::string(bar - filled, '.'), done,
                                 total_, rate, elapsed > 0 ? audio_seconds / elapsed : 0.0, eta);
  const std::string name = SanitizeUtf8(current.substr(current.rfind('/') + 1));
  const int room = width - 1 - static_cast<int>(line.size());
  if (room > 3) line += name.size() > static_cast<size_t>(room) ? name.substr(0, room) : name;
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
}

void ProgressBar::Clear() {
  if (enabled_ && drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace timbre::cli
