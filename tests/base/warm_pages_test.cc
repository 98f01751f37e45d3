// Tests for base/warm_pages: blocks come only from a running supply, are whole
// and writable, and the supply stops cleanly with blocks left over.
#include "base/warm_pages.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace exactly::base {
namespace {

// The next block from the running supply, waiting for its thread (generously,
// for a loaded machine).
char* TakeWaiting() {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (char* block = TakeWarmPage()) return block;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return nullptr;
}

TEST(WarmPagesTest, NoSupplyNoBlock) { EXPECT_EQ(TakeWarmPage(), nullptr); }

TEST(WarmPagesTest, SupplyHandsOutWholeBlocks) {
  {
    WarmPageSupply supply(4);
    for (int i = 0; i < 10; ++i) {  // more than it keeps ready: it refills
      char* block = TakeWaiting();
      ASSERT_NE(block, nullptr) << i;
      std::memset(block, 'x', kWarmPageBytes);
      EXPECT_EQ(block[kWarmPageBytes - 1], 'x');
      std::free(block);
    }
    EXPECT_EQ(supply.taken(), 10u);
    // Left with blocks nobody takes: the destructor frees them (ASan would say).
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(TakeWarmPage(), nullptr);
  // Another supply may run once the first is gone.
  WarmPageSupply again(1);
  char* block = TakeWaiting();
  EXPECT_NE(block, nullptr);
  std::free(block);
}

TEST(WarmPagesTest, ASecondSupplyStaysIdle) {
  WarmPageSupply first(2);
  {
    WarmPageSupply second(2);
    char* block = TakeWaiting();  // from the first
    ASSERT_NE(block, nullptr);
    std::free(block);
    EXPECT_EQ(second.taken(), 0u);
  }
  // The idle one's end leaves the first running.
  char* block = TakeWaiting();
  EXPECT_NE(block, nullptr);
  std::free(block);
  EXPECT_EQ(first.taken(), 2u);
}

}  // namespace
}  // namespace exactly::base
