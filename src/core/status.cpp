#include "timbre/core/status.h"

#include <array>

namespace timbre {
namespace {

// The one table of what codes mean outside the process. HTTP statuses follow the usual
// mapping of gRPC-style codes (as grpc-gateway does, 499 for a cancelled request); data that
// cannot be understood is the server's 500; to the CLI it is the user's input (a damaged
// database or file), and retrying a job on it would find the same bytes.
constexpr std::array<StatusCodeInfo, 17> kCodes = {{
    {StatusCode::kOk, "ok", 200, 0, false},
    {StatusCode::kInvalidArgument, "invalid_argument", 400, 2, false},
    {StatusCode::kNotFound, "not_found", 404, 2, false},
    {StatusCode::kAlreadyExists, "already_exists", 409, 2, false},
    {StatusCode::kConflict, "conflict", 409, 2, false},
    {StatusCode::kUnauthenticated, "unauthorized", 401, 2, false},
    {StatusCode::kPermissionDenied, "permission_denied", 403, 2, false},
    {StatusCode::kTooLarge, "too_large", 413, 2, false},
    {StatusCode::kResourceExhausted, "resource_exhausted", 429, 1, true},
    {StatusCode::kUnimplemented, "unimplemented", 405, 2, false},
    {StatusCode::kCancelled, "cancelled", 499, 1, false},
    {StatusCode::kDeadlineExceeded, "deadline_exceeded", 504, 1, true},
    {StatusCode::kUnavailable, "unavailable", 503, 1, true},
    {StatusCode::kIoError, "io_error", 500, 1, true},
    {StatusCode::kCorrupt, "corrupt", 500, 2, false},
    {StatusCode::kUnsupported, "unsupported", 422, 2, false},
    {StatusCode::kInternal, "internal", 500, 1, true},
}};

constexpr bool InEnumOrder() {
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (static_cast<size_t>(kCodes[i].code) != i) return false;
  }
  return true;
}
static_assert(InEnumOrder(), "kCodes lists every StatusCode in declaration order");

}  // namespace

const StatusCodeInfo& InfoOf(StatusCode code) {
  const auto i = static_cast<size_t>(code);
  return i < kCodes.size() ? kCodes[i] : kCodes[static_cast<size_t>(StatusCode::kInternal)];
}

std::span<const StatusCodeInfo> AllStatusCodes() { return kCodes; }

std::string_view StatusCodeName(StatusCode code) { return InfoOf(code).name; }

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(StatusCodeName(code_)) + ": " + message_;
}

}  // namespace timbre
