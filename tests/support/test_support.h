// Helpers shared by the tests: temporary folders, running real commands, and making real
// audio files with ffmpeg (tests synthesise their audio; none is committed).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace timbre::testing {

// A fresh folder under $TMPDIR, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout (stderr too when merged in the command)
};

// Runs a shell command and captures its stdout.
CommandResult RunCommand(const std::string& command);

// Quotes a string for /bin/sh.
std::string ShellQuote(const std::string& s);

// Writes a tone with ffmpeg's sine source: `seconds` long at `frequency` Hz, peak level
// `dbfs`, `channels` channels at `rate` Hz, encoded with `codec_args` (e.g. "-c:a flac")
// into `path`; extra `-metadata` arguments may go into codec_args. Aborts the test on failure.
void MakeTone(const std::filesystem::path& path, double seconds, double frequency = 440.0,
              double dbfs = -6.0, int channels = 2, int rate = 44100,
              const std::string& codec_args = "");

// The timbre binary built with the tests.
std::string TimbreBinary();

// A file of the source tree, e.g. "scripts/make-test-models.py".
std::filesystem::path SourcePath(const std::string& relative);

// Runs scripts/make-test-models.py into `dir` (tiny TorchScript models with manifests, parity
// references, test WAVs); aborts the test on failure.
void MakeTestModels(const std::filesystem::path& dir);

// Basic Pitch as scripts/test.sh installs it into the build folder: the converted model's
// folder and the npm package (for the original model in node). Each fails the calling test,
// with the command that installs it, when missing.
std::filesystem::path BasicPitchModels();
std::filesystem::path BasicPitchPackage();

// A musical test clip at 22,050 Hz mono: a C major chord (C4 E4 G4) for 2.5 s, then the
// C major scale from C5 up to C6, 0.5 s a note; sine tones with a decaying envelope.
std::vector<float> MakeChordAndScale();

// Writes raw little-endian float32 samples, and the same samples as a float WAV at 22,050 Hz.
void WriteClip(const std::filesystem::path& f32, const std::filesystem::path& wav,
               const std::vector<float>& samples);

}  // namespace timbre::testing
