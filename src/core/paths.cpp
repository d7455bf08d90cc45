#include "timbre/core/paths.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include <fmt/format.h>

namespace timbre {

namespace {

// $<xdg_variable>/timbre, or ~/<fallback>/timbre, by the XDG base directory rules.
std::filesystem::path XdgDir(const char* xdg_variable, const char* fallback) {
  const char* xdg = std::getenv(xdg_variable);
  if (xdg != nullptr && *xdg != '\0') return std::filesystem::path(xdg) / "timbre";
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    const passwd* pw = getpwuid(getuid());
    home = pw != nullptr ? pw->pw_dir : "/tmp";
  }
  return std::filesystem::path(home) / fallback / "timbre";
}

}  // namespace

std::filesystem::path DefaultDataDir() { return XdgDir("XDG_DATA_HOME", ".local/share"); }

std::filesystem::path DefaultConfigDir() { return XdgDir("XDG_CONFIG_HOME", ".config"); }

std::string SanitizeUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xE  ? 3
                 : (c >> 3) == 0x1E ? 4
                                    : 0;
    bool valid = len > 0 && i + len <= in.size();
    for (size_t k = 1; valid && k < len; ++k) {
      valid = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    }
    // Reject overlong forms and surrogates, which strict JSON parsers refuse.
    if (valid && len == 2) valid = c >= 0xC2;
    if (valid && len == 3) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      valid = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (valid && len == 4) {
      const auto c1 = static_cast<unsigned char>(in[i + 1]);
      valid = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (valid) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      ++i;
    }
  }
  return out;
}

PathPolicy PathPolicy::Unconfined() { return PathPolicy(); }

PathPolicy PathPolicy::Within(const std::vector<std::filesystem::path>& roots) {
  PathPolicy p;
  p.confined_ = true;
  for (const auto& root : roots) {
    std::error_code ec;
    p.roots_.push_back(std::filesystem::weakly_canonical(root, ec));
  }
  return p;
}

Result<std::string> PathPolicy::Resolve(const std::string& path) const {
  std::error_code ec;
  if (!confined_) {
    return std::filesystem::absolute(path, ec).lexically_normal().string();
  }
  if (roots_.empty()) {
    return InvalidArgument(
               "file paths are refused: the server has no library roots "
               "(timbre serve --library DIR)")
        .WithReason("no_library_roots");
  }
  const auto resolved = std::filesystem::weakly_canonical(path, ec);
  if (ec || !std::filesystem::path(path).is_absolute()) {
    return InvalidArgument(fmt::format("'{}' is not an absolute path", SanitizeUtf8(path)))
        .WithReason("bad_path");
  }
  for (const auto& root : roots_) {
    auto rel = resolved.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != "..") return resolved.string();
  }
  return InvalidArgument(fmt::format("'{}' is outside the library roots", SanitizeUtf8(path)))
      .WithReason("outside_library");
}

}  // namespace timbre
