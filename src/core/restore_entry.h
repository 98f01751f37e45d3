// RestoreEntry: puts back one table entry as a group's undo log or a snapshot
// hands it over, for tables whose entries carry no derived counts or indexes.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace exactly::core {

// Sets `key` to `*value`, or erases it when `value` is empty.
template <class Map, class Value>
void RestoreEntry(Map& map, std::string_view key, std::optional<Value> value) {
  auto it = map.find(key);
  if (!value) {
    if (it != map.end()) map.erase(it);
    return;
  }
  if (it != map.end()) {
    it->second = std::move(*value);
  } else {
    map.emplace(std::string(key), std::move(*value));
  }
}

}  // namespace exactly::core
