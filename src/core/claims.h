// ClaimTable: once-only claims (CLAIM, UNCLAIM, CLAIMOF, CLAIMLOG) and their
// expiry.
//
// One slot per claim key holds the live claim, if any, and the key's CLAIMLOG.
// The log outlives the claim: when a claim ends (released or expired) the slot
// stays, without a live claim, until the command's resolved remember-until time
// (the end plus the id retention), so a late CLAIMLOG still explains what
// happened; then the expiry queue drops the slot. A new claim on the key keeps the
// log. Commands arrive resolved (Command::expires_ms etc. are absolute times).
//
// Storage: each slot is one record of a RecordStore (record_store.h), encoded as
// described in claims.cc: varints, times as differences from `since`, and the
// newest CLAIMLOG entry left implicit when it is the `won` entry of the live claim
// with no note (the common case: a key claimed once), so a fresh claim costs its
// key, its owner and about 20 bytes. ClaimSlot is the decoded form, used by group
// rollback, the state codec of old snapshots and tests.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "core/apply_context.h"
#include "core/command.h"
#include "core/expiry.h"
#include "core/record_store.h"
#include "core/reply.h"

namespace exactly::core {

// Hash and equality that accept std::string_view, so lookups never build a string.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view name) const { return std::hash<std::string_view>{}(name); }
};
struct NameEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

enum class ClaimEvent : uint8_t { kWon = 0, kReleased = 1, kExpired = 2, kPersisted = 3 };
inline constexpr uint8_t kClaimEventLast = 3;

std::string_view ClaimEventName(ClaimEvent event);

struct ClaimLogEntry {
  ClaimEvent event = ClaimEvent::kWon;
  int64_t at_ms = 0;
  int64_t expires_ms = kNoTimeMs;
  int64_t window_ms = kNoTimeMs;
  std::string owner;
  std::string note;
  bool operator==(const ClaimLogEntry&) const = default;
};

// The owner, since, expires, window and keep_log_until fields mean something only
// while live, forget_ms only while not: the other ones are not stored and read back
// as "" and -1.
struct ClaimSlot {
  bool live = false;  // a claim currently holds the key
  std::string owner;  // the holder while live
  int64_t since_ms = kNoTimeMs;
  int64_t expires_ms = kNoTimeMs;
  int64_t window_ms = kNoTimeMs;
  int64_t keep_log_until_ms = kNoTimeMs;  // while live: when the log goes once the claim expires
  int64_t forget_ms = kNoTimeMs;          // once not live: when the slot is dropped
  Lsn lsn;                                // the last batch that changed the slot
  std::vector<ClaimLogEntry> log;         // oldest first, at most kClaimLogPerKeyMax
  bool operator==(const ClaimSlot&) const = default;
};

class ClaimTable {
 public:
  // Mutations; `command` is resolved. Fill `effect` and return the reply.
  Reply Apply(const cmd::Claim& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::Unclaim& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  // Reads.
  Reply Apply(const cmd::ClaimOf& args, const Command& command, const ApplyContext& context,
              Effect* effect) const;
  Reply Apply(const cmd::ClaimLog& args, const Command& command, const ApplyContext& context,
              Effect* effect) const;

  // Handles a due kClaimEnd or kClaimLogForget entry; stale entries are ignored.
  void Expire(const ExpiryEntry& entry, ExpiryQueue* expiry);
  // Queues every pending expiry (after the table was loaded from a snapshot);
  // the caller calls expiry->Heapify() once every table has scheduled.
  void ScheduleAll(ExpiryQueue* expiry) const;

  // Puts `slot` back as the state of `key` (nullopt: the key had no slot). Used by
  // group rollback and by the state codec. A slot that exists keeps its record
  // handle, so the expiry entries that name it stay valid.
  void Restore(std::string_view key, std::optional<ClaimSlot> slot);
  void Clear();

  // The slot of `key`, decoded, if it has one.
  std::optional<ClaimSlot> Find(std::string_view key) const;
  bool Contains(std::string_view key) const { return slots_.Find(key) != kNoRecord; }
  size_t size() const { return slots_.size(); }
  size_t live() const { return live_; }

  // The stored form, for the state codec: the slots' records are written and read
  // as they are. LoadEncoded adds a slot for `key` (which must have none) from
  // `value` and schedules its expiry with PushUnordered (so a table loaded this
  // way needs no ScheduleAll); false, and nothing added, if `value` is not a
  // valid slot. Keys loaded this way must be distinct, and the table is used for
  // nothing else until FinishLoad (RecordStore::Load, IndexLoaded).
  const RecordStore& records() const { return slots_; }
  bool LoadEncoded(std::string_view key, std::string_view value, ExpiryQueue* expiry);
  void FinishLoad() { slots_.IndexLoaded(); }
  // For replay: see RecordStore::SetGrowAtOnce.
  void SetGrowAtOnce(bool at_once) { slots_.SetGrowAtOnce(at_once); }
  // Makes room for `count` slots loaded by LoadEncoded.
  void Reserve(size_t count) { slots_.Reserve(count, /*loading=*/true); }

 private:
  void SaveForUndo(std::string_view key, RecordHandle handle, const ApplyContext& context) const;
  ClaimSlot Decode(RecordHandle handle) const;
  // Stores `slot` as the record `handle`, or as a new record of `key` when
  // `handle` is kNoRecord; returns the handle.
  RecordHandle Store(std::string_view key, RecordHandle handle, const ClaimSlot& slot);

  RecordStore slots_;
  size_t live_ = 0;      // slots with a live claim
  std::string scratch_;  // reused encoding buffer
};

}  // namespace exactly::core
