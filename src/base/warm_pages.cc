// Blocks faulted in ahead of the arenas, on a thread of their own.
#include "base/warm_pages.h"

#include <atomic>
#include <cstdlib>

#include "base/assert.h"

namespace exactly::base {
namespace {

std::atomic<WarmPageSupply*> running{nullptr};

// No page is smaller.
constexpr size_t kTouchBytes = 4096;

}  // namespace

char* TakeWarmPage() {
  WarmPageSupply* supply = running.load(std::memory_order_acquire);
  return supply == nullptr ? nullptr : supply->Take();
}

WarmPageSupply::WarmPageSupply(size_t ready_max) : ready_max_(ready_max) {
  WarmPageSupply* none = nullptr;
  if (!running.compare_exchange_strong(none, this, std::memory_order_acq_rel)) {
    stop_ = true;  // another one runs: this one stays idle
    return;
  }
  ready_.reserve(ready_max_);
  thread_ = std::thread([this] { Run(); });
}

WarmPageSupply::~WarmPageSupply() {
  if (!thread_.joinable()) return;
  running.store(nullptr, std::memory_order_release);
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  changed_.notify_all();
  thread_.join();
  for (char* block : ready_) std::free(block);
  ready_.clear();
}

char* WarmPageSupply::Take() {
  char* block = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (stop_ || ready_.empty()) return nullptr;
    block = ready_.back();
    ready_.pop_back();
    ++taken_;
  }
  changed_.notify_all();
  return block;
}

size_t WarmPageSupply::taken() {
  std::lock_guard lock(mutex_);
  return taken_;
}

void WarmPageSupply::Run() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || ready_.size() < ready_max_; });
      if (stop_) return;
    }
    void* block = std::malloc(kWarmPageBytes);
    EXACTLY_ASSERT(block != nullptr);
    // A write to each page faults it in. Volatile, so that the compiler cannot
    // turn malloc and zeroing into a calloc, which leaves fresh memory untouched.
    volatile char* pages = static_cast<char*>(block);
    for (size_t at = 0; at < kWarmPageBytes; at += kTouchBytes) pages[at] = 0;
    std::lock_guard lock(mutex_);
    ready_.push_back(static_cast<char*>(block));
  }
}

}  // namespace exactly::base
