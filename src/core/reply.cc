// Reply helpers that need no knowledge of any command.
#include "core/reply.h"

namespace exactly::core {

std::string_view Reply::result() const {
  if (is_error() || fields.empty()) return {};
  const auto* word = std::get_if<std::string>(&fields.front().second);
  if (word == nullptr) return {};
  return *word;
}

}  // namespace exactly::core
