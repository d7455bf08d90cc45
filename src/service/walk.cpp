#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "timbre/core/text.h"
#include "timbre/service/library_scan.h"

namespace timbre::service {
namespace {

namespace fs = std::filesystem;

using Identity = std::pair<dev_t, ino_t>;

class Walker {
 public:
  Walker(std::vector<FoundFile>& out,
         const std::function<void(const std::string&, const Status&)>& on_error)
      : out_(out), on_error_(on_error) {}

  void Visit(const fs::path& path, bool is_root) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      // A dangling link inside the library is not worth a report; a missing root is
      // checked by the caller before the walk.
      if (is_root) Error(path, IoError(fmt::format("cannot stat: {}", std::strerror(errno))));
      return;
    }
    const Identity id{st.st_dev, st.st_ino};
    if (S_ISDIR(st.st_mode)) {
      if (!dirs_.insert(id).second) return;  // a link back up the tree: already walked
      std::error_code ec;
      fs::directory_iterator it(path, fs::directory_options::none, ec);
      if (ec) {
        Error(path, IoError(fmt::format("cannot read folder: {}", ec.message()))
                        .WithReason(ec == std::errc::permission_denied ? "permission_denied"
                                                                       : "unreadable"));
        return;
      }
      std::vector<fs::path> children;
      for (; it != fs::directory_iterator(); it.increment(ec)) {
        if (ec) break;
        const std::string name = it->path().filename().string();
        if (!name.empty() && name[0] == '.') continue;
        children.push_back(it->path());
      }
      std::sort(children.begin(), children.end());
      for (const auto& child : children) Visit(child, false);
      return;
    }
    if (!S_ISREG(st.st_mode)) return;
    if (!is_root && !HasAudioExtension(path)) return;
    if (!files_.insert(id).second) return;  // the same file by another path
    out_.push_back({path.string(), static_cast<int64_t>(st.st_size), MtimeNs(st)});
  }

 private:
  void Error(const fs::path& path, const Status& s) {
    if (on_error_) on_error_(path.string(), s);
  }

  std::vector<FoundFile>& out_;
  const std::function<void(const std::string&, const Status&)>& on_error_;
  std::set<Identity> dirs_;
  std::set<Identity> files_;
};

}  // namespace

bool HasAudioExtension(const std::filesystem::path& path) {
  static constexpr std::array<std::string_view, 26> kExtensions = {
      "aac", "ac3",  "aif",  "aifc", "aiff", "alac", "ape", "caf", "dff",
      "dsf", "flac", "m4a",  "m4b",  "mka",  "mp2",  "mp3", "mp4", "mpc",
      "oga", "ogg",  "opus", "spx",  "tta",  "wav",  "wma", "wv"};
  const std::string ext = path.extension().string();
  if (ext.size() < 2) return false;
  const std::string name = AsciiLower(std::string_view(ext).substr(1));
  return std::find(kExtensions.begin(), kExtensions.end(), name) != kExtensions.end();
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000LL + st.st_mtim.tv_nsec;
}

std::vector<FoundFile> WalkLibrary(
    const std::vector<std::filesystem::path>& roots,
    const std::function<void(const std::string&, const Status&)>& on_error) {
  std::vector<FoundFile> out;
  Walker walker(out, on_error);
  for (const auto& root : roots) walker.Visit(root, true);
  std::sort(out.begin(), out.end(),
            [](const FoundFile& a, const FoundFile& b) { return a.path < b.path; });
  return out;
}

}  // namespace timbre::service
