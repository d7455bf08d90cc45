// Where timbre keeps its state, and how paths are shown to people and scripts.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "timbre/core/status.h"

namespace timbre {

// $XDG_DATA_HOME/timbre, or ~/.local/share/timbre when XDG_DATA_HOME is unset or empty.
std::filesystem::path DefaultDataDir();

// $XDG_CONFIG_HOME/timbre, or ~/.config/timbre: where config.toml is looked for.
std::filesystem::path DefaultConfigDir();

// File names may hold any bytes; JSON and terminals need UTF-8. Invalid sequences become
// U+FFFD so output never fails. The stored path keeps the original bytes.
std::string SanitizeUtf8(std::string_view bytes);

// Where file paths named by a request may lie. A server confines them to its library roots
// (after following links and ".."), so that a request cannot reach other files; a command run
// by the user is unconfined.
class PathPolicy {
 public:
  // Any path; relative ones resolve against the current folder.
  static PathPolicy Unconfined();
  // Paths under these folders only (made canonical here); none: every path is refused.
  static PathPolicy Within(const std::vector<std::filesystem::path>& roots);

  bool confined() const { return confined_; }
  const std::vector<std::filesystem::path>& roots() const { return roots_; }

  // The path made absolute and normal, with links followed when confined; errors with reason
  // bad_path (not absolute, for a confined policy), outside_library or no_library_roots.
  Result<std::string> Resolve(const std::string& path) const;

 private:
  bool confined_ = false;
  std::vector<std::filesystem::path> roots_;
};

}  // namespace timbre
