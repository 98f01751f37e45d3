// Human-readable rendering of a Status, for logs and `exactly check`.
#include "base/status.h"

namespace exactly::base {

std::string Status::ToString() const {
  switch (code_) {
    case StatusCode::kOk:
      return "ok";
    case StatusCode::kIoError:
      return "io error: " + message_;
    case StatusCode::kCorruption:
      return "corruption: " + message_;
    case StatusCode::kInvalidArgument:
      return "invalid argument: " + message_;
    case StatusCode::kNotFound:
      return "not found: " + message_;
  }
  return message_;
}

}  // namespace exactly::base
