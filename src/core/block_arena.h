// BlockArena: the memory behind the record store's records (record_store.h).
//
// Tens of millions of records of 30-80 bytes each would pay the general
// allocator's per-block header and 16-byte rounding (about 16 bytes a record,
// measured in docs/limits.md). The arena carves blocks of a multiple of 8 bytes
// out of 1 MiB pages and keeps one free list per size, so a freed block is
// reused by the next record of the same size class. Pages are given back only
// by Clear. Blocks above kSmallBytesMax (long notes, full claim logs) come from
// the general allocator. Not thread-safe; a forked snapshot child reads the
// pages copy-on-write like any other memory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "base/assert.h"
#include "base/warm_pages.h"

namespace exactly::core {

class BlockArena {
 public:
  static constexpr size_t kGrainBytes = 8;
  static constexpr size_t kSmallBytesMax = 1024;
  static constexpr size_t kPageBytes = size_t{1} << 20;
  static_assert(kSmallBytesMax % kGrainBytes == 0 && kSmallBytesMax <= kPageBytes);
  static_assert(kPageBytes == base::kWarmPageBytes);

  BlockArena() = default;
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;
  ~BlockArena() = default;

  // The size a block of `bytes` really takes.
  static constexpr size_t Capacity(size_t bytes) {
    return (bytes + kGrainBytes - 1) / kGrainBytes * kGrainBytes;
  }

  // A block of at least `bytes` (> 0), 8-byte aligned. Never fails short of the
  // process running out of memory, which ends it.
  char* Allocate(size_t bytes) {
    const size_t capacity = Capacity(bytes);
    if (capacity > kSmallBytesMax) {
      void* block = std::malloc(capacity);
      EXACTLY_ASSERT(block != nullptr);
      return static_cast<char*>(block);
    }
    char*& head = free_[capacity / kGrainBytes];
    if (head != nullptr) {
      char* block = head;
      std::memcpy(&head, block, sizeof(char*));
      return block;
    }
    if (bump_left_ < capacity) NewPage();
    char* block = bump_;
    bump_ += capacity;
    bump_left_ -= capacity;
    return block;
  }

  // Gives back a block that Allocate(bytes) returned, with the same `bytes`.
  void Free(char* block, size_t bytes) {
    const size_t capacity = Capacity(bytes);
    if (capacity > kSmallBytesMax) {
      std::free(block);
      return;
    }
    char*& head = free_[capacity / kGrainBytes];
    std::memcpy(block, &head, sizeof(char*));
    head = block;
  }

  // Drops every page. Large blocks must have been freed by the caller first.
  void Clear() {
    pages_.clear();
    free_.fill(nullptr);
    bump_ = nullptr;
    bump_left_ = 0;
  }

  size_t page_bytes() const { return pages_.size() * kPageBytes; }

 private:
  struct PageFree {
    void operator()(char* page) const { std::free(page); }
  };

  void NewPage() {
    // The rest of the old page (less than one block) is left unused. A page
    // faulted in by another thread, when recovery runs a supply of them.
    void* page = base::TakeWarmPage();
    if (page == nullptr) page = std::malloc(kPageBytes);
    EXACTLY_ASSERT(page != nullptr);
    pages_.emplace_back(static_cast<char*>(page));
    bump_ = static_cast<char*>(page);
    bump_left_ = kPageBytes;
  }

  std::vector<std::unique_ptr<char, PageFree>> pages_;
  std::array<char*, kSmallBytesMax / kGrainBytes + 1> free_{};  // by capacity / 8
  char* bump_ = nullptr;
  size_t bump_left_ = 0;
};

}  // namespace exactly::core
