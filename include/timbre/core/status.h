// Status and Result<T>: expected failures travel as values across every layer boundary.
// Exceptions are kept for the unrecoverable (allocation failure, broken invariants).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace timbre {

// A small, stable set of codes. One table (status.cpp) says what each means to the outside:
// its HTTP status, the CLI's exit code and whether a failed job is worth retrying; the HTTP
// layer, the CLI and the job runner read that table, nothing else picks a status by hand.
enum class StatusCode {
  kOk,
  kInvalidArgument,    // the caller passed something malformed
  kNotFound,           // a file, track or record that does not exist
  kAlreadyExists,      // what the caller would create is there already
  kConflict,           // the request clashes with the current state (a finished job)
  kUnauthenticated,    // no credentials, or wrong ones
  kPermissionDenied,   // known caller, not allowed
  kTooLarge,           // a body, upload or file beyond the limit
  kResourceExhausted,  // out of a budget for now: rate limit, queue full
  kUnimplemented,      // no such operation on this resource (HTTP 405)
  kCancelled,          // stopped at someone's request
  kDeadlineExceeded,   // ran out of time
  kUnavailable,        // a dependency is down or not ready; trying later may work
  kIoError,            // the OS refused (permissions, disk full, vanished file)
  kCorrupt,            // data exists but cannot be understood
  kUnsupported,        // understood, but not something we handle
  kInternal,           // a bug or an invariant broken in a dependency
};

std::string_view StatusCodeName(StatusCode code);

// What a code means outside the process.
struct StatusCodeInfo {
  StatusCode code;
  std::string_view name;  // snake_case, the default reason and the JSON "code"
  int http_status;        // the HTTP answer
  int exit_code;          // the CLI's: 2 when the input was at fault, 1 otherwise
  bool retryable;         // a job failing with it is tried again while attempts remain
};

const StatusCodeInfo& InfoOf(StatusCode code);
// Every code, kOk first: for documentation and tests.
std::span<const StatusCodeInfo> AllStatusCodes();

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // A finer machine-readable cause in snake_case ("empty_file", "no_audio_stream"); the
  // code's own name when none was given. Stored with failures and shown in stats.
  std::string_view reason() const { return reason_.empty() ? StatusCodeName(code_) : reason_; }
  Status WithReason(std::string reason) && {
    reason_ = std::move(reason);
    return std::move(*this);
  }
  // "code: message", for logs and error output.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status Conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
inline Status Unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status PermissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status TooLarge(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
inline Status ResourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

// Either a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}         // NOLINT(google-explicit-constructor)
  Result(Status status) : data_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(data_);
  }
  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace timbre

// Returns early from the enclosing function when `expr` yields a non-ok Status.
#define TIMBRE_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::timbre::Status timbre_status_ = (expr);        \
    if (!timbre_status_.ok()) return timbre_status_; \
  } while (0)
