#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "timbre/models/registry.h"
#include "timbre/store/artifacts.h"

namespace timbre::store {
namespace {

namespace fs = std::filesystem;

bool IsHash(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

Status SyncPath(const fs::path& path, bool directory) {
  const int fd = open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0)
    return IoError(fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)));
  const int rc = fsync(fd);
  const int err = errno;
  close(fd);
  if (rc != 0) return IoError(fmt::format("cannot sync {}: {}", path.string(), std::strerror(err)));
  return Status::Ok();
}

// Writes `bytes` to `path` and syncs it.
Status WriteSynced(const fs::path& path, const std::string& bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return IoError(fmt::format("cannot write {}: {}", path.string(), std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return IoError(fmt::format("cannot write {}: {}", path.string(), std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!synced) return IoError(fmt::format("cannot sync {}", path.string()));
  return Status::Ok();
}

}  // namespace

Result<fs::path> ArtifactFiles::PathOf(const std::string& sha256) const {
  if (!IsHash(sha256)) return InvalidArgument(fmt::format("'{}' is not a sha256", sha256));
  return dir_ / sha256.substr(0, 2) / sha256;
}

Result<PutArtifact> ArtifactFiles::Put(const analysis::FileOutput& file) const {
  PutArtifact put;
  const bool in_memory = file.path.empty();
  if (in_memory) {
    put.sha256 = models::Sha256Hex(file.bytes);
    put.size = static_cast<int64_t>(file.bytes.size());
  } else {
    auto sum = models::Sha256File(file.path);
    if (!sum.ok()) return sum.status();
    put.sha256 = *sum;
    std::error_code ec;
    put.size = static_cast<int64_t>(fs::file_size(file.path, ec));
    if (ec) return IoError(fmt::format("cannot read {}: {}", file.path.string(), ec.message()));
  }
  auto target = PathOf(put.sha256);
  if (!target.ok()) return target.status();
  std::error_code ec;
  if (fs::exists(*target, ec) && static_cast<int64_t>(fs::file_size(*target, ec)) == put.size) {
    if (!in_memory) fs::remove(file.path, ec);  // the same bytes are there already
    return put;
  }
  fs::create_directories(target->parent_path(), ec);
  if (ec) {
    return IoError(
        fmt::format("cannot create {}: {}", target->parent_path().string(), ec.message()));
  }
  // A name of its own per write: threads and processes may store the same bytes at once.
  static std::atomic<uint64_t> writes{0};
  const fs::path tmp = target->string() + fmt::format(".tmp{}-{}", ::getpid(), ++writes);
  if (in_memory) {
    TIMBRE_RETURN_IF_ERROR(WriteSynced(tmp, file.bytes));
  } else {
    fs::rename(file.path, tmp, ec);
    if (ec) {  // another file system: copy
      ec.clear();
      fs::copy_file(file.path, tmp, fs::copy_options::overwrite_existing, ec);
      if (ec) return IoError(fmt::format("cannot copy {}: {}", file.path.string(), ec.message()));
      fs::remove(file.path, ec);
    }
    TIMBRE_RETURN_IF_ERROR(SyncPath(tmp, false));
  }
  fs::rename(tmp, *target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return IoError(fmt::format("cannot store {}: {}", target->string(), ec.message()));
  }
  TIMBRE_RETURN_IF_ERROR(SyncPath(target->parent_path(), true));
  return put;
}

Result<std::vector<ArtifactFiles::Found>> ArtifactFiles::List() const {
  std::vector<Found> out;
  std::error_code ec;
  if (!fs::exists(dir_, ec)) return out;
  for (fs::recursive_directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    struct stat st {};
    if (stat(it->path().c_str(), &st) != 0) continue;
    Found f;
    f.path = it->path();
    f.sha256 = it->path().filename().string();
    f.size = static_cast<int64_t>(st.st_size);
    f.modified_unix_ms =
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
    out.push_back(std::move(f));
  }
  if (ec) return IoError(fmt::format("cannot list {}: {}", dir_.string(), ec.message()));
  return out;
}

}  // namespace timbre::store
