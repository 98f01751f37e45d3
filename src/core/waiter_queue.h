// WaiterQueue and WaiterIndex: the commands parked on one name (LOCK ... WAIT on a
// busy lock, IDEM BEGIN ... WAIT on a running key) and the table-wide map from a
// waiter id to that name. LockTable and IdemTable share them, so admission limits,
// deadlines, FIFO hand-over, cancelling and the derived index are written once.
//
// A waiter type W has `uint64_t waiter` (its id, BatchOutput::parked, from
// Counters::last_waiter), `int64_t deadline_ms` (it is never handed the name at or
// after that time) and operator==. What a waiter gets when it is handed the name,
// or when its deadline passes, is the table's business: the queue only decides who.
// Not thread-safe, like the rest of the engine.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "core/apply_context.h"
#include "core/expiry.h"
#include "core/limits.h"
#include "core/reply.h"
#include "core/time_math.h"

namespace exactly::core {

template <typename W>
class WaiterQueue {
 public:
  using const_iterator = typename std::deque<W>::const_iterator;

  bool empty() const { return waiters_.empty(); }
  size_t size() const { return waiters_.size(); }
  const_iterator begin() const { return waiters_.begin(); }
  const_iterator end() const { return waiters_.end(); }

  // Appends at the back (FIFO); for Park and the state codec.
  void push_back(W waiter) { waiters_.push_back(std::move(waiter)); }
  W& emplace_back() { return waiters_.emplace_back(); }
  void clear() { waiters_.clear(); }

  // Hands the name on at `at_ms`: removes waiters from the front, passing each
  // whose deadline is at or before `at_ms` to `late` in FIFO order, and returns the
  // first still in time; nullopt once the queue is empty.
  template <typename Late>
  std::optional<W> PopInTime(int64_t at_ms, Late&& late) {
    while (!waiters_.empty()) {
      W waiter = std::move(waiters_.front());
      waiters_.pop_front();
      if (waiter.deadline_ms > at_ms) return waiter;
      late(waiter);
    }
    return std::nullopt;
  }

  // Removes every waiter whose deadline is at or before `at_ms` (a WAIT running
  // out), passing each to `late` in FIFO order; the others keep their order.
  template <typename Late>
  void RemoveDue(int64_t at_ms, Late&& late) {
    std::deque<W> kept;
    for (W& waiter : waiters_) {
      if (waiter.deadline_ms > at_ms) {
        kept.push_back(std::move(waiter));
      } else {
        late(waiter);
      }
    }
    waiters_ = std::move(kept);
  }

  // Removes waiter `id` and returns it; nullopt if it is not queued here.
  std::optional<W> Remove(uint64_t id) {
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
      if (it->waiter != id) continue;
      W waiter = std::move(*it);
      waiters_.erase(it);
      return waiter;
    }
    return std::nullopt;
  }

  // Schedules every waiter's deadline (after a snapshot load): an entry of
  // `wait_end` for `name` and a wake, so the server runs a batch to answer it.
  void ScheduleDeadlines(ExpiryQueue* expiry, ExpiryKind wait_end, std::string_view name) const {
    for (const W& waiter : waiters_) {
      expiry->Push(waiter.deadline_ms, wait_end, name);
      expiry->PushWake(waiter.deadline_ms);
    }
  }

  bool operator==(const WaiterQueue&) const = default;

 private:
  std::deque<W> waiters_;
};

// Which name each parked waiter of one table waits on. Derived from the queues
// (rebuilt by Restore), never saved.
class WaiterIndex {
 public:
  size_t size() const { return names_.size(); }
  bool empty() const { return names_.empty(); }

  // The name `waiter` waits on, or nullptr.
  const std::string* Find(uint64_t waiter) const {
    auto it = names_.find(waiter);
    return it == names_.end() ? nullptr : &it->second;
  }
  void Add(uint64_t waiter, std::string_view name) { names_[waiter] = std::string(name); }
  void Remove(uint64_t waiter) { names_.erase(waiter); }
  void Clear() { names_.clear(); }

  // Every waiter of `queue`, which waits on `name`.
  template <typename W>
  void AddAll(const WaiterQueue<W>& queue, std::string_view name) {
    for (const W& waiter : queue) Add(waiter.waiter, name);
  }
  template <typename W>
  void RemoveAll(const WaiterQueue<W>& queue) {
    for (const W& waiter : queue) Remove(waiter.waiter);
  }

 private:
  boost::unordered_flat_map<uint64_t, std::string> names_;
};

// Admits a new waiter on `name`, which `queued` others already wait on: checks the
// per-name and the table-wide maxima (not on replay: a logged command was admitted
// once), then takes the next waiter id, schedules its deadline (`wait_end` and a
// wake at now + wait_ms) and indexes it. `noun` names what is waited on in the
// error ("lock", "key"). The error reply if full, else nullopt with *waiter and
// *deadline_ms set; the caller queues the waiter.
inline std::optional<Reply> AdmitWaiter(std::string_view name, size_t queued, int64_t wait_ms,
                                        std::string_view noun, ExpiryKind wait_end,
                                        const ApplyContext& context, WaiterIndex* index,
                                        uint64_t* waiter, int64_t* deadline_ms) {
  if (context.enforce_limits && queued >= kWaitersPerNameMax) {
    return Reply::Error("ERR", "too many waiters on this " + std::string(noun) + " (max " +
                                   std::to_string(kWaitersPerNameMax) + ")");
  }
  if (context.enforce_limits && context.waiters_now >= context.config->waiters_max) {
    return Reply::Error(
        "ERR", "waiters table full (max " + std::to_string(context.config->waiters_max) + ")");
  }
  *waiter = ++context.counters->last_waiter;
  *deadline_ms = AddMs(context.now_ms, wait_ms);
  context.expiry->Push(*deadline_ms, wait_end, name);
  context.expiry->PushWake(*deadline_ms);
  index->Add(*waiter, name);
  return std::nullopt;
}

}  // namespace exactly::core
