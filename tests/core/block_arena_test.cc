// Tests for core/block_arena: blocks of every small size class hold their bytes,
// freed blocks are reused, and pages come from a running warm-page supply.
#include "core/block_arena.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include "base/warm_pages.h"

namespace exactly::core {
namespace {

TEST(BlockArenaTest, BlocksHoldTheirBytesAndAreReused) {
  BlockArena arena;
  std::vector<char*> blocks;
  for (size_t bytes = 1; bytes <= BlockArena::kSmallBytesMax + 16; ++bytes) {
    char* block = arena.Allocate(bytes);
    std::memset(block, static_cast<int>(bytes & 0xff), bytes);
    blocks.push_back(block);
  }
  for (size_t bytes = 1; bytes <= blocks.size(); ++bytes) {
    const char* block = blocks[bytes - 1];
    for (size_t i = 0; i < bytes; ++i) {
      ASSERT_EQ(static_cast<unsigned char>(block[i]), bytes & 0xff) << bytes;
    }
  }
  char* freed = blocks[40];
  arena.Free(freed, 41);
  EXPECT_EQ(arena.Allocate(41), freed);
  for (size_t bytes = BlockArena::kSmallBytesMax + 1; bytes <= blocks.size(); ++bytes) {
    arena.Free(blocks[bytes - 1], bytes);
  }
}

TEST(BlockArenaTest, PagesComeFromARunningWarmSupply) {
  base::WarmPageSupply supply(8);
  // Let the supply's thread fill its blocks.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (char* probe = base::TakeWarmPage()) {
      std::free(probe);
      break;
    }
  }
  const size_t before = supply.taken();
  BlockArena arena;
  for (size_t i = 0; i < 4 * BlockArena::kPageBytes / 64; ++i) {
    char* block = arena.Allocate(64);
    std::memset(block, 1, 64);
  }
  EXPECT_GE(arena.page_bytes(), 4 * BlockArena::kPageBytes);
  EXPECT_GT(supply.taken(), before);
}

}  // namespace
}  // namespace exactly::core
