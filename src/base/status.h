// Status and Result<T>: how I/O failures and corruption travel.
//
// Business outcomes (won, held, insufficient, ...) are not failures; they are values
// in core/outcome.h. A Status is for what went wrong underneath: a failed write, a
// bad checksum, a malformed snapshot.
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "base/assert.h"

namespace exactly::base {

enum class StatusCode {
  kOk,
  kIoError,          // a read, write, sync or rename failed
  kCorruption,       // bytes on disk are not what was written
  kInvalidArgument,  // a caller passed something unusable
  kNotFound,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status IoError(std::string message) { return {StatusCode::kIoError, std::move(message)}; }
  static Status Corruption(std::string message) {
    return {StatusCode::kCorruption, std::move(message)};
  }
  static Status InvalidArgument(std::string message) {
    return {StatusCode::kInvalidArgument, std::move(message)};
  }
  static Status NotFound(std::string message) {
    return {StatusCode::kNotFound, std::move(message)};
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    EXACTLY_ASSERT(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    EXACTLY_ASSERT(!ok());
    return std::get<Status>(state_);
  }
  T& value() & {
    EXACTLY_ASSERT(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    EXACTLY_ASSERT(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    EXACTLY_ASSERT(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace exactly::base

// Returns the Status of `expr` from the enclosing function when it is not ok.
#define EXACTLY_RETURN_IF_ERROR(expr)         \
  do {                                        \
    ::exactly::base::Status status_ = (expr); \
    if (!status_.ok()) return status_;        \
  } while (false)
