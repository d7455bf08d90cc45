#include "test_support.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace timbre::testing {
namespace {

// Tests never read the user's models folder: a scan sees only the models its test names.
[[maybe_unused]] const bool kModelsIsolated = [] {
  setenv("TIMBRE_MODELS", "/nonexistent/timbre-test-models", 1);
  return true;
}();

}  // namespace

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string tmpl =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/timbre-test-XXXXXX";
  char* made = mkdtemp(tmpl.data());
  if (made == nullptr) std::abort();
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  // Tests may have removed permissions; give them back so everything can be deleted.
  std::system(("chmod -R u+rwx " + ShellQuote(path_.string()) + " 2>/dev/null").c_str());
  std::filesystem::remove_all(path_, ec);
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CommandResult RunCommand(const std::string& command) {
  CommandResult r;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

void MakeTone(const std::filesystem::path& path, double seconds, double frequency, double dbfs,
              int channels, int rate, const std::string& codec_args) {
  // ffmpeg's sine source has a fixed amplitude of 1/8; the volume filter sets the level, and
  // pan copies it to each channel unchanged (a plain upmix would lower it by 3 dB).
  const double gain_db = dbfs - 20.0 * std::log10(0.125);
  const std::string cmd =
      "ffmpeg -nostdin -v error -y -f lavfi -i 'sine=frequency=" + std::to_string(frequency) +
      ":sample_rate=" + std::to_string(rate) + ":duration=" + std::to_string(seconds) +
      "' -af 'volume=" + std::to_string(gain_db) + "dB," +
      (channels == 1 ? "pan=mono|c0=c0" : "pan=stereo|c0=c0|c1=c0") + "' " + codec_args + " " +
      ShellQuote(path.string()) + " 2>&1";
  const CommandResult r = RunCommand(cmd);
  ASSERT_EQ(r.exit_code, 0) << cmd << "\n" << r.output;
}

std::string TimbreBinary() { return TIMBRE_BINARY; }

std::filesystem::path SourcePath(const std::string& relative) {
  return std::filesystem::path(TIMBRE_SOURCE_DIR) / relative;
}

void MakeTestModels(const std::filesystem::path& dir) {
  // Debian's python3-torch belongs to /usr/bin/python3, whatever python3 is first on PATH.
  const auto r = RunCommand("/usr/bin/python3 " +
                            ShellQuote(SourcePath("scripts/make-test-models.py").string()) + " " +
                            ShellQuote(dir.string()) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

namespace {

std::filesystem::path Required(const std::filesystem::path& path, const char* what) {
  EXPECT_TRUE(std::filesystem::exists(path))
      << what << " is missing at " << path.string()
      << "; scripts/test.sh installs it (scripts/setup-models.sh --models BUILD/basic-pitch/models "
         "--npm-cache BUILD/basic-pitch/npm)";
  return path;
}

}  // namespace

std::filesystem::path BasicPitchModels() {
  return Required(std::filesystem::path(TIMBRE_BUILD_DIR) / "basic-pitch" / "models",
                  "the converted Basic Pitch model");
}

std::filesystem::path BasicPitchPackage() {
  return Required(std::filesystem::path(TIMBRE_BUILD_DIR) / "basic-pitch" / "npm" / "node_modules" /
                      "@spotify" / "basic-pitch",
                  "the @spotify/basic-pitch npm package");
}

std::vector<float> MakeChordAndScale() {
  constexpr double kRate = 22050.0;
  std::vector<float> out;
  auto tone = [&](const std::vector<int>& pitches, double seconds) {
    const size_t n = static_cast<size_t>(seconds * kRate);
    for (size_t i = 0; i < n; ++i) {
      const double t = static_cast<double>(i) / kRate;
      const double envelope = std::min(1.0, t / 0.01) * std::exp(-1.5 * t);
      double v = 0.0;
      for (int p : pitches) {
        const double f = 440.0 * std::pow(2.0, (p - 69) / 12.0);
        v += std::sin(2.0 * M_PI * f * t);
      }
      out.push_back(static_cast<float>(0.25 * envelope * v / static_cast<double>(pitches.size())));
    }
  };
  tone({60, 64, 67}, 2.5);
  for (int p : {72, 74, 76, 77, 79, 81, 83, 84}) tone({p}, 0.5);
  return out;
}

void WriteClip(const std::filesystem::path& f32, const std::filesystem::path& wav,
               const std::vector<float>& samples) {
  {
    std::ofstream out(f32, std::ios::binary);
    out.write(reinterpret_cast<const char*>(samples.data()),
              static_cast<std::streamsize>(samples.size() * sizeof(float)));
    ASSERT_TRUE(out.good());
  }
  const auto r =
      RunCommand("ffmpeg -v error -y -f f32le -ar 22050 -ac 1 -i " + ShellQuote(f32.string()) +
                 " -c:a pcm_f32le " + ShellQuote(wav.string()) + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.output;
}

}  // namespace timbre::testing
