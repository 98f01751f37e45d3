// Time-ordered expiry queue with lazy deletion.
#include "core/expiry.h"

#include <tuple>
#include <utility>

#include "base/units.h"

namespace exactly::core {

bool ExpiryQueue::Later::operator()(const ExpiryEntry& a, const ExpiryEntry& b) const {
  return std::tie(a.time_ms, a.kind, a.name) > std::tie(b.time_ms, b.kind, b.name);
}

void ExpiryQueue::Push(int64_t time_ms, ExpiryKind kind, std::string_view name) {
  if (time_ms == kNoTimeMs) return;
  heap_.push(ExpiryEntry{time_ms, kind, std::string(name)});
}

bool ExpiryQueue::PopDue(int64_t now_ms, ExpiryEntry* entry) {
  if (heap_.empty() || heap_.top().time_ms > now_ms) return false;
  // priority_queue::top is const; the entry is popped right after, so moving out
  // of it is safe and saves a copy of the name.
  *entry = std::move(const_cast<ExpiryEntry&>(heap_.top()));
  heap_.pop();
  return true;
}

void ExpiryQueue::Clear() {
  heap_ = {};
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
