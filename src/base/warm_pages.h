// Warm pages: blocks of memory whose pages a thread of their own has already
// faulted in, for the record arenas (core/block_arena.h) to fill while recovery
// loads a snapshot and replays the journal.
//
// A restart with 10M claims writes about 1.3 GiB of records into fresh memory,
// and on the thread doing it each 4 KiB page's first touch cost a page fault
// (allocation and accounting in the kernel, about 0.5 s a GiB here, a sixth of
// the restart). With a WarmPageSupply running, the faults happen on the other
// core, ahead of the arenas. Which block an arena gets never changes what it
// stores, so the engine stays deterministic.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <thread>
#include <vector>

namespace exactly::base {

// The size of every warm block, the arenas' page size.
inline constexpr size_t kWarmPageBytes = size_t{1} << 20;

// A block of kWarmPageBytes from std::malloc (the taker frees it with std::free),
// its pages resident, from the running supply; nullptr when no supply runs or
// none is ready, and the caller allocates its own. Thread-safe.
char* TakeWarmPage();

// While it lives, a thread keeps up to `ready_max` warm blocks ready for
// TakeWarmPage. One runs at a time per process: one made while another runs
// stays idle (starts no thread, hands out nothing). The destructor stops the thread and
// frees the blocks nobody took; it must not run while another thread may be
// inside TakeWarmPage (recovery takes and destroys on one thread).
class WarmPageSupply {
 public:
  explicit WarmPageSupply(size_t ready_max);
  ~WarmPageSupply();
  WarmPageSupply(const WarmPageSupply&) = delete;
  WarmPageSupply& operator=(const WarmPageSupply&) = delete;

  // For TakeWarmPage.
  char* Take();
  // Blocks handed out so far (for tests).
  size_t taken();

 private:
  void Run();

  const size_t ready_max_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<char*> ready_;  // guarded by mutex_
  size_t taken_ = 0;          // guarded by mutex_
  bool stop_ = false;         // guarded by mutex_
  std::thread thread_;
};

}  // namespace exactly::base
