// history_check: digests and history checks for the replication tests.
#include "replica/history_check.h"

#include <algorithm>
#include <unordered_set>

namespace exactly::testing {
namespace {

std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::uint64_t Fnv1a(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace

void ChainDigest::Add(std::string_view entry) {
  count_++;
  value_ = Mix(value_ ^ Mix(Fnv1a(entry) ^ entry.size()));
}

ChainDigest DigestOf(const std::vector<std::string>& entries) {
  ChainDigest digest;
  for (const std::string& e : entries) digest.Add(e);
  return digest;
}

std::vector<std::string> CheckHistory(const std::vector<std::vector<std::string>>& applied,
                                      const std::vector<std::string>& acknowledged,
                                      bool allow_duplicates) {
  std::vector<std::string> violations;
  if (applied.empty()) return violations;
  std::size_t longest = 0;
  for (std::size_t r = 0; r < applied.size(); r++) {
    if (applied[r].size() > applied[longest].size()) longest = r;
  }
  for (std::size_t r = 0; r < applied.size(); r++) {
    const std::vector<std::string>& mine = applied[r];
    const std::vector<std::string>& full = applied[longest];
    auto [mismatch, ignored] = std::mismatch(mine.begin(), mine.end(), full.begin());
    if (mismatch != mine.end()) {
      std::size_t at = static_cast<std::size_t>(mismatch - mine.begin());
      violations.push_back("replica " + std::to_string(r) + " diverges from replica " +
                           std::to_string(longest) + " at position " + std::to_string(at) + ": '" +
                           mine[at] + "' vs '" + full[at] + "'");
    }
    if (!allow_duplicates) {
      std::unordered_set<std::string> seen;
      for (const std::string& e : mine) {
        if (!seen.insert(e).second) {
          violations.push_back("replica " + std::to_string(r) + " applied '" + e + "' twice");
        }
      }
    }
  }
  std::unordered_set<std::string> present(applied[longest].begin(), applied[longest].end());
  for (const std::string& e : acknowledged) {
    if (present.count(e) == 0) violations.push_back("acknowledged '" + e + "' was lost");
  }
  return violations;
}

}  // namespace exactly::testing
