// Time-ordered expiry queue with lazy deletion.
#include "core/expiry.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "base/assert.h"
#include "base/units.h"

namespace exactly::core {

bool ExpiryQueue::Later::operator()(const ExpiryEntry& a, const ExpiryEntry& b) const {
  return std::tie(a.time_ms, a.kind, a.name) > std::tie(b.time_ms, b.kind, b.name);
}

void ExpiryQueue::Push(int64_t time_ms, ExpiryKind kind, std::string_view name) {
  if (time_ms == kNoTimeMs) return;
  EXACTLY_ASSERT(!IsHandleKind(kind));
  heap_.push(ExpiryEntry{time_ms, kind, std::string(name)});
}

void ExpiryQueue::Push(int64_t time_ms, ExpiryKind kind, RecordHandle handle) {
  if (time_ms == kNoTimeMs) return;
  EXACTLY_ASSERT(IsHandleKind(kind));
  handles_.push_back(HandleEntry{time_ms, static_cast<uint64_t>(kind) << 32 | handle});
  std::push_heap(handles_.begin(), handles_.end(), std::greater<HandleEntry>());
}

void ExpiryQueue::ReserveHandles(size_t count) { handles_.reserve(handles_.size() + count); }

void ExpiryQueue::PushUnordered(int64_t time_ms, ExpiryKind kind, RecordHandle handle) {
  if (time_ms == kNoTimeMs) return;
  EXACTLY_ASSERT(IsHandleKind(kind));
  handles_.push_back(HandleEntry{time_ms, static_cast<uint64_t>(kind) << 32 | handle});
}

void ExpiryQueue::Heapify() {
  std::make_heap(handles_.begin(), handles_.end(), std::greater<HandleEntry>());
}

bool ExpiryQueue::PopDue(int64_t now_ms, ExpiryEntry* entry) {
  const bool named = !heap_.empty() && heap_.top().time_ms <= now_ms;
  const bool handled = !handles_.empty() && handles_.front().time_ms <= now_ms;
  if (!named && !handled) return false;
  // The kinds of the two heaps differ, so (time, kind) decides between them.
  bool take_handle = handled;
  if (named && handled) {
    const HandleEntry& front = handles_.front();
    const auto front_kind = static_cast<uint8_t>(front.kind_handle >> 32);
    const auto top_kind = static_cast<uint8_t>(heap_.top().kind);
    take_handle = std::tie(front.time_ms, front_kind) < std::tie(heap_.top().time_ms, top_kind);
  }
  if (take_handle) {
    const HandleEntry front = handles_.front();
    std::pop_heap(handles_.begin(), handles_.end(), std::greater<HandleEntry>());
    handles_.pop_back();
    entry->time_ms = front.time_ms;
    entry->kind = static_cast<ExpiryKind>(front.kind_handle >> 32);
    entry->name.clear();
    entry->handle = static_cast<RecordHandle>(front.kind_handle & 0xffffffffu);
    return true;
  }
  // priority_queue::top is const; the entry is popped right after, so moving out
  // of it is safe and saves a copy of the name.
  *entry = std::move(const_cast<ExpiryEntry&>(heap_.top()));
  heap_.pop();
  return true;
}

void ExpiryQueue::Clear() {
  heap_ = {};
  handles_ = {};
  wakes_ = {};
}

void ExpiryQueue::PushWake(int64_t time_ms) {
  if (time_ms == kNoTimeMs) return;
  wakes_.push(time_ms);
}

int64_t ExpiryQueue::NextWake() const { return wakes_.empty() ? kNoTimeMs : wakes_.top(); }

void ExpiryQueue::PopWakesDue(int64_t now_ms) {
  while (!wakes_.empty() && wakes_.top() <= now_ms) wakes_.pop();
}

}  // namespace exactly::core
