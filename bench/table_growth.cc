// table_growth: the longest single insert while a table grows to N string keys,
// for boost::unordered_flat_map (doubles by moving everything at once) and
// core::IncrementalMap (moves a few entries per insert). The longest insert is
// how long the engine, and so every client, stands still (docs/limits.md).
//
// Usage: table_growth [N]   (default 8,000,000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/claims.h"
#include "core/incremental_map.h"

namespace {

struct Worst {
  double ms = 0;
  size_t at = 0;
};

template <class Map>
Worst Grow(size_t n) {
  Map map;
  Worst worst;
  char key[32];
  for (size_t i = 0; i < n; ++i) {
    std::snprintf(key, sizeof(key), "c:%012zu", i * 7919 % 100000000);
    const auto start = std::chrono::steady_clock::now();
    map.try_emplace(std::string(key), exactly::core::ClaimSlot{});
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (ms > worst.ms) worst = {ms, i};
  }
  return worst;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 8000000;
  using exactly::core::ClaimSlot;
  using exactly::core::NameEqual;
  using exactly::core::NameHash;
  const Worst flat =
      Grow<boost::unordered_flat_map<std::string, ClaimSlot, NameHash, NameEqual>>(n);
  std::printf("flat map:        longest insert %.1f ms (insert %zu of %zu)\n", flat.ms, flat.at, n);
  const Worst incremental =
      Grow<exactly::core::IncrementalMap<std::string, ClaimSlot, NameHash, NameEqual>>(n);
  std::printf("incremental map: longest insert %.1f ms (insert %zu of %zu)\n", incremental.ms,
              incremental.at, n);
  return 0;
}
