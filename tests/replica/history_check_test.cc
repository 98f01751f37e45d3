// Negative controls: the checks the replication tests rely on catch a lost, a
// reordered and a duplicated entry, so a clean result means something.
#include "replica/history_check.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace exactly::testing {
namespace {

std::vector<std::string> Entries(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; i++) out.push_back("e" + std::to_string(i));
  return out;
}

TEST(HistoryCheckTest, CleanHistoryPasses) {
  std::vector<std::string> full = Entries(100);
  std::vector<std::string> lagging(full.begin(), full.begin() + 60);
  EXPECT_TRUE(CheckHistory({full, lagging, full}, full, false).empty());
  EXPECT_EQ(DigestOf(full), DigestOf(Entries(100)));
}

TEST(HistoryCheckTest, CatchesAReorderedEntry) {
  std::vector<std::string> full = Entries(100);
  std::vector<std::string> swapped = full;
  std::swap(swapped[40], swapped[41]);
  EXPECT_FALSE(CheckHistory({full, swapped}, full, false).empty());
  EXPECT_NE(DigestOf(full), DigestOf(swapped));
}

TEST(HistoryCheckTest, CatchesALostAcknowledgedEntry) {
  std::vector<std::string> full = Entries(100);
  std::vector<std::string> lost = full;
  lost.erase(lost.begin() + 70);
  // Every replica lost it the same way: only the acknowledgement reveals it.
  std::vector<std::string> violations = CheckHistory({lost, lost, lost}, full, false);
  ASSERT_FALSE(violations.empty());
  EXPECT_NE(violations.front().find("'e70' was lost"), std::string::npos);
  EXPECT_NE(DigestOf(full), DigestOf(lost));
}

TEST(HistoryCheckTest, CatchesADuplicateUnlessAllowed) {
  std::vector<std::string> twice = Entries(10);
  twice.push_back("e3");
  EXPECT_FALSE(CheckHistory({twice}, {}, false).empty());
  EXPECT_TRUE(CheckHistory({twice}, {}, true).empty());
}

TEST(HistoryCheckTest, DigestSeesEveryPosition) {
  std::vector<std::string> full = Entries(50);
  for (std::size_t i = 0; i + 1 < full.size(); i++) {
    std::vector<std::string> swapped = full;
    std::swap(swapped[i], swapped[i + 1]);
    EXPECT_NE(DigestOf(full), DigestOf(swapped)) << "swap at " << i;
  }
}

}  // namespace
}  // namespace exactly::testing
