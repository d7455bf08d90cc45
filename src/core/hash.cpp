#include "timbre/core/hash.h"

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace timbre {
namespace {

std::string ToHex(XXH128_hash_t h) { return fmt::format("{:016x}{:016x}", h.high64, h.low64); }

struct StateDeleter {
  void operator()(XXH3_state_t* s) const { XXH3_freeState(s); }
};

}  // namespace

Result<std::string> HashFileContent(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    Status s = IoError(fmt::format("cannot open: {}", std::strerror(err)));
    if (err == EACCES || err == EPERM) return std::move(s).WithReason("permission_denied");
    if (err == ENOENT) return std::move(s).WithReason("vanished");
    return std::move(s).WithReason("unreadable");
  }
  std::unique_ptr<XXH3_state_t, StateDeleter> state(XXH3_createState());
  XXH3_128bits_reset(state.get());
  std::vector<char> buffer(1 << 20);
  Status status;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      status =
          IoError(fmt::format("read failed: {}", std::strerror(errno))).WithReason("unreadable");
      break;
    }
    if (n == 0) break;
    XXH3_128bits_update(state.get(), buffer.data(), static_cast<size_t>(n));
  }
  ::close(fd);
  if (!status.ok()) return status;
  return ToHex(XXH3_128bits_digest(state.get()));
}

std::string HashString(std::string_view data) {
  return ToHex(XXH3_128bits(data.data(), data.size()));
}

}  // namespace timbre
