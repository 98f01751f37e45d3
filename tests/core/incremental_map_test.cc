// Tests for core/incremental_map: every operation against a std::map model,
// through several growth phases, with lookups, erases and iteration while the
// old table drains.
#include "core/incremental_map.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>

#include "core/claims.h"

namespace exactly::core {
namespace {

using Map = IncrementalMap<std::string, int, NameHash, NameEqual>;

std::string Key(uint64_t i) { return "key:" + std::to_string(i); }

void ExpectSame(const Map& map, const std::map<std::string, int>& model) {
  ASSERT_EQ(map.size(), model.size());
  std::set<std::string> seen;
  for (const auto& [key, value] : map) {
    EXPECT_TRUE(seen.insert(key).second) << "iteration visited " << key << " twice";
    auto expected = model.find(key);
    ASSERT_NE(expected, model.end()) << key;
    EXPECT_EQ(value, expected->second) << key;
  }
  EXPECT_EQ(seen.size(), model.size());
}

TEST(IncrementalMapTest, MatchesAModelThroughSeveralGrowths) {
  Map map;
  std::map<std::string, int> model;
  std::mt19937_64 random(7);
  int growths = 0;
  bool was_growing = false;
  for (int step = 0; step < 200000; ++step) {
    const std::string key = Key(random() % 60000);
    switch (random() % 8) {
      case 0: {  // erase through find
        auto found = map.find(key);
        ASSERT_EQ(found != map.end(), model.count(key) == 1) << key;
        if (found != map.end()) map.erase(found);
        model.erase(key);
        break;
      }
      case 1: {  // update in place
        auto found = map.find(std::string_view(key));
        if (found != map.end()) {
          found->second += 1;
          model[key] += 1;
        }
        break;
      }
      case 2:
        EXPECT_EQ(map.contains(key), model.count(key) == 1) << key;
        break;
      case 3:  // erase by key
        EXPECT_EQ(map.erase(std::string_view(key)), model.erase(key)) << key;
        break;
      default: {  // insert, or find the existing value
        auto [it, inserted] = map.try_emplace(key, step);
        EXPECT_EQ(inserted, model.count(key) == 0) << key;
        if (inserted) model[key] = step;
        EXPECT_EQ(it->second, model[key]);
        break;
      }
    }
    if (map.growing() && !was_growing) ++growths;
    was_growing = map.growing();
    if (step % 20011 == 0) ExpectSame(map, model);
  }
  ExpectSame(map, model);
  EXPECT_GE(growths, 5) << "the test never exercised a growing table";
}

TEST(IncrementalMapTest, LookupsAndIterationSeeBothTablesWhileGrowing) {
  Map map;
  uint64_t n = 0;
  while (!map.growing()) map.try_emplace(Key(n++), 1);
  // Mid-growth: every key is found, in whichever table it sits, exactly once.
  for (uint64_t i = 0; i < n; ++i) {
    ASSERT_NE(map.find(Key(i)), map.end()) << i;
    EXPECT_EQ(map.at(Key(i)), 1);
  }
  size_t visited = 0;
  for (auto it = map.begin(); it != map.end(); ++it) ++visited;
  EXPECT_EQ(visited, n);
  // An existing key that still sits in the old table is not inserted again.
  auto [it, inserted] = map.try_emplace(Key(0), 2);
  EXPECT_FALSE(inserted);
  EXPECT_EQ(it->second, 1);
  EXPECT_EQ(map.size(), n);
}

TEST(IncrementalMapTest, ErasingWhileGrowingKeepsTheRestReachable) {
  Map map;
  uint64_t n = 0;
  while (!map.growing()) {
    map.try_emplace(Key(n), static_cast<int>(n));
    ++n;
  }
  // Erase every other key, the next one to be moved among them, then finish
  // growing with more inserts.
  for (uint64_t i = 0; i < n; i += 2) map.erase(map.find(Key(i)));
  uint64_t m = n;
  while (map.growing()) {
    map.try_emplace(Key(m), static_cast<int>(m));
    ++m;
  }
  for (uint64_t i = 0; i < m; ++i) {
    const bool expected = i >= n || i % 2 == 1;
    EXPECT_EQ(map.contains(Key(i)), expected) << i;
  }
  map.clear();
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.begin(), map.end());
}

// Growing at once (a replay): the table never drains by halves, a table caught
// draining finishes at its next insert, and everything stays reachable.
TEST(IncrementalMapTest, GrowingAtOnceNeverDrainsByHalves) {
  Map map;
  uint64_t n = 0;
  while (!map.growing()) map.try_emplace(Key(n++), 1);
  map.set_grow_at_once(true);
  map.try_emplace(Key(n++), 1);
  EXPECT_FALSE(map.growing());
  for (; n < 100000; ++n) {
    map.try_emplace(Key(n), 1);
    ASSERT_FALSE(map.growing()) << n;
  }
  for (uint64_t i = 0; i < n; ++i) ASSERT_NE(map.find(Key(i)), map.end()) << i;
  EXPECT_EQ(map.size(), n);
  // Back to live: the next growth is by halves again.
  map.set_grow_at_once(false);
  while (!map.growing()) map.try_emplace(Key(n++), 1);
  for (uint64_t i = 0; i < n; ++i) ASSERT_NE(map.find(Key(i)), map.end()) << i;
}

}  // namespace
}  // namespace exactly::core
