// Status and Result<T>: expected failures travel as values across every layer boundary.
// Exceptions are kept for the unrecoverable (allocation failure, broken invariants).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace timbre {

// A small, stable set of codes; the HTTP layer and the CLI map these, nothing else.
enum class StatusCode {
  kOk,
  kInvalidArgument,  // the caller passed something malformed
  kNotFound,         // a file, track or record that does not exist
  kAlreadyExists,
  kIoError,      // the OS refused (permissions, disk full, vanished file)
  kCorrupt,      // data exists but cannot be understood
  kUnsupported,  // understood, but not something we handle
  kInternal,     // a bug or an invariant broken in a dependency
};

std::string_view StatusCodeName(StatusCode code);

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
