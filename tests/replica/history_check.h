// history_check: what the replication tests assert about applied entries.
//
// A ChainDigest folds every applied entry, in order, into one 64-bit value, so two
// replicas with equal digests and counts applied the same entries in the same
// order (a lost, extra or swapped entry changes it). CheckHistory compares whole
// applied lists: each replica's list must be a prefix of every longer one (nothing
// reordered or diverged), every acknowledged entry must be in the longest (nothing
// acknowledged lost), and no entry may appear twice unless duplicates are allowed
// (a retried proposal whose first outcome was unknown may land twice; the engine's
// ids make the second a no-op).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace exactly::testing {

class ChainDigest {
 public:
  void Add(std::string_view entry);
  std::uint64_t value() const { return value_; }
  std::uint64_t count() const { return count_; }
  bool operator==(const ChainDigest& other) const = default;

 private:
  std::uint64_t value_ = 0x6a09e667f3bcc908ull;
  std::uint64_t count_ = 0;
};

ChainDigest DigestOf(const std::vector<std::string>& entries);

// Human-readable violations; empty when the history is clean.
std::vector<std::string> CheckHistory(const std::vector<std::vector<std::string>>& applied,
                                      const std::vector<std::string>& acknowledged,
                                      bool allow_duplicates);

}  // namespace exactly::testing
