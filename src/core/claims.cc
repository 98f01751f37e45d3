// Claims: the first owner wins; repeats by the winner answer `again`.
#include "core/claims.h"

#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "base/assert.h"
#include "core/byte_codec.h"
#include "core/engine.h"
#include "core/group.h"
#include "core/limits.h"

namespace exactly::core {
namespace {

// A slot's record value (the key is the record's key):
//   u8 flags (kLive, kImplicitWon, kNoExpires, kNoWindow, kNoEnd)
//   live:     owner, i64 since, [i64 expires - since], [i64 window - since],
//             [i64 keep_log_until - since]          (each [...] absent when its
//   not live: [i64 forget]                           flag says "none", -1)
//   u64 lsn | u64 n | n explicit log entries, oldest first:
//             u8 event, i64 at, expires, window, owner, note
// Differences are taken modulo 2^64, so every int64 time round-trips. With
// kImplicitWon the log has one more entry, the newest: won by the owner at since,
// with the claim's expires and window and no note. The encoding is canonical (a
// slot has one), so the state codec writes these bytes as they are.
constexpr uint8_t kLive = 1;
constexpr uint8_t kImplicitWon = 2;
constexpr uint8_t kNoExpires = 4;
constexpr uint8_t kNoWindow = 8;
constexpr uint8_t kNoEnd = 16;  // keep_log_until while live, forget while not
constexpr uint8_t kFlagsAll = 31;

int64_t Diff(int64_t value, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(value) - static_cast<uint64_t>(base));
}
int64_t Undiff(int64_t diff, int64_t base) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) + static_cast<uint64_t>(diff));
}

// The fields of a record without copying its strings or its log.
struct ClaimView {
  uint8_t flags = 0;
  std::string_view owner;
  int64_t since_ms = kNoTimeMs;
  int64_t expires_ms = kNoTimeMs;
  int64_t window_ms = kNoTimeMs;
  int64_t keep_log_until_ms = kNoTimeMs;
  int64_t forget_ms = kNoTimeMs;
  Lsn lsn;
  uint64_t explicit_entries = 0;
  std::string_view log;  // the explicit entries' bytes
  bool live() const { return (flags & kLive) != 0; }
  uint64_t entries() const { return explicit_entries + ((flags & kImplicitWon) ? 1 : 0); }
};

struct LogEntryView {
  ClaimEvent event = ClaimEvent::kWon;
  int64_t at_ms = 0;
  int64_t expires_ms = kNoTimeMs;
  int64_t window_ms = kNoTimeMs;
  std::string_view owner;
  std::string_view note;
};

bool ReadTime(ByteReader& reader, bool none, int64_t base, int64_t* value) {
  if (none) {
    *value = kNoTimeMs;
    return true;
  }
  int64_t diff = 0;
  if (!reader.I64(&diff)) return false;
  *value = Undiff(diff, base);
  return true;
}

bool ReadLogEntry(ByteReader& reader, LogEntryView* entry) {
  uint8_t event = 0;
  if (!reader.U8(&event) || event > kClaimEventLast) return false;
  entry->event = static_cast<ClaimEvent>(event);
  return reader.I64(&entry->at_ms) && reader.I64(&entry->expires_ms) &&
         reader.I64(&entry->window_ms) && reader.View(&entry->owner) && reader.View(&entry->note);
}

void WriteLogEntry(ByteWriter& writer, ClaimEvent event, int64_t at_ms, int64_t expires_ms,
                   int64_t window_ms, std::string_view owner, std::string_view note) {
  writer.U8(static_cast<uint8_t>(event));
  writer.I64(at_ms);
  writer.I64(expires_ms);
  writer.I64(window_ms);
  writer.Bytes(owner);
  writer.Bytes(note);
}

// Parses a record value; false if it is malformed. With `check_log`, the log
// entries are parsed too (for bytes from disk); otherwise they are trusted.
bool ParseClaim(std::string_view value, ClaimView* view, bool check_log) {
  ByteReader reader(value);
  if (!reader.U8(&view->flags) || view->flags > kFlagsAll) return false;
  const uint8_t flags = view->flags;
  if (view->live()) {
    if (!reader.View(&view->owner) || view->owner.empty() || !reader.I64(&view->since_ms) ||
        !ReadTime(reader, flags & kNoExpires, view->since_ms, &view->expires_ms) ||
        !ReadTime(reader, flags & kNoWindow, view->since_ms, &view->window_ms) ||
        !ReadTime(reader, flags & kNoEnd, view->since_ms, &view->keep_log_until_ms)) {
      return false;
    }
  } else {
    if ((flags & (kImplicitWon | kNoExpires | kNoWindow)) != 0) return false;
    if ((flags & kNoEnd) == 0 && !reader.I64(&view->forget_ms)) return false;
  }
  if (!reader.U64(&view->lsn.value) || !reader.U64(&view->explicit_entries) ||
      view->explicit_entries > kClaimLogPerKeyMax || view->entries() > kClaimLogPerKeyMax) {
    return false;
  }
  view->log = reader.rest();
  if (!check_log) return true;
  for (uint64_t i = 0; i < view->explicit_entries; ++i) {
    LogEntryView entry;
    if (!ReadLogEntry(reader, &entry)) return false;
  }
  return reader.at_end();
}

ClaimView View(const RecordStore& store, RecordHandle handle) {
  ClaimView view;
  const bool parsed = ParseClaim(store.Value(handle), &view, /*check_log=*/false);
  EXACTLY_ASSERT(parsed);
  return view;
}

// Writes a record value: the fields of `view` (its log fields ignored), then
// `log_count` explicit entries whose bytes are `log`.
void WriteClaim(const ClaimView& view, uint64_t log_count, std::string_view log, std::string* out) {
  out->clear();
  ByteWriter writer(out);
  uint8_t flags = view.flags & (kLive | kImplicitWon);
  if (view.live()) {
    if (view.expires_ms == kNoTimeMs) flags |= kNoExpires;
    if (view.window_ms == kNoTimeMs) flags |= kNoWindow;
    if (view.keep_log_until_ms == kNoTimeMs) flags |= kNoEnd;
    writer.U8(flags);
    writer.Bytes(view.owner);
    writer.I64(view.since_ms);
    if (view.expires_ms != kNoTimeMs) writer.I64(Diff(view.expires_ms, view.since_ms));
    if (view.window_ms != kNoTimeMs) writer.I64(Diff(view.window_ms, view.since_ms));
    if (view.keep_log_until_ms != kNoTimeMs) {
      writer.I64(Diff(view.keep_log_until_ms, view.since_ms));
    }
  } else {
    if (view.forget_ms == kNoTimeMs) flags |= kNoEnd;
    writer.U8(flags);
    if (view.forget_ms != kNoTimeMs) writer.I64(view.forget_ms);
  }
  writer.U64(view.lsn.value);
  writer.U64(log_count);
  out->append(log);
}

// Whether the newest entry of a live slot's log is the one kImplicitWon stands for.
bool IsImplicitWon(const ClaimSlot& slot) {
  if (!slot.live || slot.log.empty()) return false;
  const ClaimLogEntry& last = slot.log.back();
  return last.event == ClaimEvent::kWon && last.at_ms == slot.since_ms &&
         last.expires_ms == slot.expires_ms && last.window_ms == slot.window_ms &&
         last.owner == slot.owner && last.note.empty();
}

void EncodeSlot(const ClaimSlot& slot, std::string* out) {
  EXACTLY_ASSERT(slot.live == !slot.owner.empty());
  ClaimView view;
  view.flags = slot.live ? kLive : 0;
  size_t explicit_entries = slot.log.size();
  if (IsImplicitWon(slot)) {
    view.flags |= kImplicitWon;
    --explicit_entries;
  }
  view.owner = slot.owner;
  view.since_ms = slot.since_ms;
  view.expires_ms = slot.expires_ms;
  view.window_ms = slot.window_ms;
  view.keep_log_until_ms = slot.keep_log_until_ms;
  view.forget_ms = slot.forget_ms;
  view.lsn = slot.lsn;
  std::string log;
  ByteWriter writer(&log);
  for (size_t i = 0; i < explicit_entries; ++i) {
    const ClaimLogEntry& entry = slot.log[i];
    WriteLogEntry(writer, entry.event, entry.at_ms, entry.expires_ms, entry.window_ms, entry.owner,
                  entry.note);
  }
  WriteClaim(view, explicit_entries, log, out);
}

// The log's entries, oldest first, the implicit one included.
size_t LogEntries(const ClaimView& view, std::array<LogEntryView, kClaimLogPerKeyMax>* entries) {
  ByteReader reader(view.log);
  size_t count = 0;
  for (uint64_t i = 0; i < view.explicit_entries; ++i) {
    const bool read = ReadLogEntry(reader, &(*entries)[count++]);
    EXACTLY_ASSERT(read);
  }
  if (view.flags & kImplicitWon) {
    (*entries)[count++] = LogEntryView{ClaimEvent::kWon, view.since_ms, view.expires_ms,
                                       view.window_ms,   view.owner,    std::string_view()};
  }
  return count;
}

ClaimSlot SlotFromView(const ClaimView& view) {
  ClaimSlot slot;
  slot.live = view.live();
  slot.owner.assign(view.owner);
  slot.since_ms = view.since_ms;
  slot.expires_ms = view.expires_ms;
  slot.window_ms = view.window_ms;
  slot.keep_log_until_ms = view.keep_log_until_ms;
  slot.forget_ms = view.forget_ms;
  slot.lsn = view.lsn;
  std::array<LogEntryView, kClaimLogPerKeyMax> entries;
  const size_t count = LogEntries(view, &entries);
  slot.log.reserve(count + 1);
  for (size_t i = 0; i < count; ++i) {
    const LogEntryView& entry = entries[i];
    slot.log.push_back(ClaimLogEntry{entry.event, entry.at_ms, entry.expires_ms, entry.window_ms,
                                     std::string(entry.owner), std::string(entry.note)});
  }
  return slot;
}

void AppendLog(ClaimSlot* slot, ClaimLogEntry entry) {
  if (slot->log.size() >= kClaimLogPerKeyMax) slot->log.erase(slot->log.begin());
  slot->log.push_back(std::move(entry));
}

Reply ClaimReply(const ApplyContext& context, Outcome outcome, std::string_view key,
                 std::string_view owner, int64_t since_ms, int64_t expires_ms, int64_t window_ms) {
  // One named result on every path, so it is built in the caller's slot.
  Reply reply = Reply::WithOutcome(outcome);
  if (!context.replies) return reply;
  reply.AddText("key", key)
      .AddText("owner", owner)
      .Add("since", since_ms)
      .Add("expires", expires_ms)
      .Add("window", window_ms);
  return reply;
}

Reply KeyReply(Outcome outcome, std::string_view key) {
  return std::move(Reply::WithOutcome(outcome).AddText("key", key));
}

int64_t ClampCount(int64_t count) {
  if (count <= 0) return kCountDefault;
  return std::min(count, kCountMax);
}

}  // namespace

std::string_view ClaimEventName(ClaimEvent event) {
  switch (event) {
    case ClaimEvent::kWon:
      return "won";
    case ClaimEvent::kReleased:
      return "released";
    case ClaimEvent::kExpired:
      return "expired";
    case ClaimEvent::kPersisted:
      return "persisted";
  }
  return "unknown";
}

ClaimSlot ClaimTable::Decode(RecordHandle handle) const {
  return SlotFromView(View(slots_, handle));
}

RecordHandle ClaimTable::Store(std::string_view key, RecordHandle handle, const ClaimSlot& slot) {
  EncodeSlot(slot, &scratch_);
  if (handle == kNoRecord) return slots_.Insert(key, scratch_);
  slots_.Update(handle, scratch_);
  return handle;
}

std::optional<ClaimSlot> ClaimTable::Find(std::string_view key) const {
  const RecordHandle handle = slots_.Find(key);
  if (handle == kNoRecord) return std::nullopt;
  return Decode(handle);
}

void ClaimTable::SaveForUndo(std::string_view key, RecordHandle handle,
                             const ApplyContext& context) const {
  if (context.undo == nullptr) return;
  if (handle == kNoRecord) {
    context.undo->SaveClaim(key, nullptr);
    return;
  }
  const ClaimSlot slot = Decode(handle);
  context.undo->SaveClaim(key, &slot);
}

Reply ClaimTable::Apply(const cmd::Claim& args, const Command& command, const ApplyContext& context,
                        Effect* effect) {
  const RecordStore::Probe probe(args.key);  // hashed once for the find and the insert
  RecordHandle handle = slots_.Find(probe);
  if (handle != kNoRecord) {
    const ClaimView view = View(slots_, handle);
    if (view.live()) {
      effect->observed = view.lsn;
      if (view.owner != args.owner) {
        return ClaimReply(context, Outcome::kHeld, args.key, view.owner, view.since_ms,
                          view.expires_ms, view.window_ms);
      }
      if (args.persist && view.expires_ms != kNoTimeMs) {
        SaveForUndo(args.key, handle, context);
        ClaimSlot slot = SlotFromView(view);
        slot.expires_ms = kNoTimeMs;
        slot.keep_log_until_ms = kNoTimeMs;
        slot.lsn = context.lsn;
        AppendLog(&slot, ClaimLogEntry{ClaimEvent::kPersisted, context.now_ms, kNoTimeMs,
                                       slot.window_ms, slot.owner, args.note});
        Store(args.key, handle, slot);
        effect->changed = true;
        return ClaimReply(context, Outcome::kAgain, args.key, slot.owner, slot.since_ms,
                          slot.expires_ms, slot.window_ms);
      }
      return ClaimReply(context, Outcome::kAgain, args.key, view.owner, view.since_ms,
                        view.expires_ms, view.window_ms);
    }
  }
  if (command.expires_ms != kNoTimeMs && command.expires_ms <= context.now_ms) {
    // A claim that ended before it began would answer `won` and hold nothing.
    return Reply::Error("ERR", "UNTIL is not in the future: the claim would never hold");
  }
  if (context.enforce_limits && live_ >= context.config->claims_max) {
    return Reply::Error(
        "ERR", "claims table full (max " + std::to_string(context.config->claims_max) + ")");
  }
  SaveForUndo(args.key, handle, context);
  ClaimView claim;
  claim.flags = kLive;
  claim.owner = args.owner;
  claim.since_ms = context.now_ms;
  claim.expires_ms = command.expires_ms;
  claim.window_ms = command.window_ms;
  claim.keep_log_until_ms = command.remember_until_ms;
  claim.forget_ms = kNoTimeMs;
  claim.lsn = context.lsn;
  // The log so far (a slot that is not live has only explicit entries), less its
  // oldest entry if the new one would pass the maximum.
  uint64_t kept = 0;
  std::string_view log;
  if (handle != kNoRecord) {
    const ClaimView old = View(slots_, handle);
    kept = old.explicit_entries;
    log = old.log;
    if (kept >= kClaimLogPerKeyMax) {
      ByteReader reader(log);
      LogEntryView oldest;
      const bool read = ReadLogEntry(reader, &oldest);
      EXACTLY_ASSERT(read);
      log = reader.rest();
      --kept;
    }
  }
  // The new entry goes straight after the old ones, in the same buffer.
  const bool implicit = args.note.empty();
  if (implicit) claim.flags |= kImplicitWon;
  WriteClaim(claim, kept + (implicit ? 0 : 1), log, &scratch_);
  if (!implicit) {
    ByteWriter writer(&scratch_);
    WriteLogEntry(writer, ClaimEvent::kWon, context.now_ms, command.expires_ms, command.window_ms,
                  args.owner, args.note);
  }
  if (handle == kNoRecord) {
    handle = slots_.Insert(probe, scratch_);
  } else {
    slots_.Update(handle, scratch_);
  }
  ++live_;
  context.expiry->Push(command.expires_ms, ExpiryKind::kClaimEnd, handle);
  effect->changed = true;
  return ClaimReply(context, Outcome::kWon, args.key, args.owner, context.now_ms,
                    command.expires_ms, command.window_ms);
}

Reply ClaimTable::Apply(const cmd::Unclaim& args, const Command& command,
                        const ApplyContext& context, Effect* effect) {
  const RecordHandle handle = slots_.Find(args.key);
  if (handle == kNoRecord) return KeyReply(Outcome::kNotHolder, args.key);
  const ClaimView view = View(slots_, handle);
  effect->observed = view.lsn;
  if (!view.live() || view.owner != args.owner) {
    return KeyReply(Outcome::kNotHolder, args.key);
  }
  SaveForUndo(args.key, handle, context);
  ClaimSlot slot = SlotFromView(view);
  AppendLog(&slot, ClaimLogEntry{ClaimEvent::kReleased, context.now_ms, slot.expires_ms,
                                 slot.window_ms, std::move(slot.owner), std::string()});
  slot.live = false;
  slot.owner = std::string();
  slot.forget_ms = command.remember_until_ms;
  slot.lsn = context.lsn;
  Store(args.key, handle, slot);
  --live_;
  context.expiry->Push(slot.forget_ms, ExpiryKind::kClaimLogForget, handle);
  effect->changed = true;
  return KeyReply(Outcome::kReleased, args.key);
}

Reply ClaimTable::Apply(const cmd::ClaimOf& args, const Command& command,
                        const ApplyContext& context, Effect* effect) const {
  const RecordHandle handle = slots_.Find(args.key);
  ClaimView view;
  if (handle != kNoRecord) {
    view = View(slots_, handle);
    effect->observed = view.lsn;
  }
  if (handle == kNoRecord || !view.live()) {
    return std::move(Reply::WithOutcome(Outcome::kFree)
                         .Add("owner", std::string())
                         .Add("since", kNoTimeMs)
                         .Add("expires", kNoTimeMs));
  }
  return std::move(Reply::WithOutcome(Outcome::kHeld)
                       .Add("owner", std::string(view.owner))
                       .Add("since", view.since_ms)
                       .Add("expires", view.expires_ms));
}

Reply ClaimTable::Apply(const cmd::ClaimLog& args, const Command& command,
                        const ApplyContext& context, Effect* effect) const {
  std::vector<Reply> entries;
  const RecordHandle handle = slots_.Find(args.key);
  if (handle != kNoRecord) {
    const ClaimView view = View(slots_, handle);
    effect->observed = view.lsn;
    std::array<LogEntryView, kClaimLogPerKeyMax> log;
    const size_t size = LogEntries(view, &log);
    const size_t count = std::min(size, static_cast<size_t>(ClampCount(args.count)));
    entries.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      const LogEntryView& entry = log[size - 1 - i];
      Reply reply;
      reply.Add("event", std::string(ClaimEventName(entry.event)))
          .Add("owner", std::string(entry.owner))
          .Add("at", entry.at_ms)
          .Add("expires", entry.expires_ms)
          .Add("window", entry.window_ms)
          .Add("note", std::string(entry.note));
      entries.push_back(std::move(reply));
    }
  }
  return std::move(Reply::WithOutcome(Outcome::kOk).Add("entries", std::move(entries)));
}

void ClaimTable::Expire(const ExpiryEntry& entry, ExpiryQueue* expiry) {
  // The handle may have been reused by another key since the entry was pushed;
  // the checks below are about the record it names now (see expiry.h).
  if (!slots_.Contains(entry.handle)) return;
  const ClaimView view = View(slots_, entry.handle);
  if (entry.kind == ExpiryKind::kClaimEnd) {
    if (!view.live() || view.expires_ms != entry.time_ms) return;
    ClaimSlot slot = SlotFromView(view);
    // Stamped with the expiry time, not the batch time, so that the result does not
    // depend on which batch happened to notice the expiry.
    AppendLog(&slot, ClaimLogEntry{ClaimEvent::kExpired, entry.time_ms, slot.expires_ms,
                                   slot.window_ms, std::move(slot.owner), std::string()});
    slot.live = false;
    slot.owner = std::string();
    slot.forget_ms = slot.keep_log_until_ms;
    Store(std::string_view(), entry.handle, slot);
    --live_;
    expiry->Push(slot.forget_ms, ExpiryKind::kClaimLogForget, entry.handle);
    return;
  }
  EXACTLY_ASSERT(entry.kind == ExpiryKind::kClaimLogForget);
  if (view.live() || view.forget_ms != entry.time_ms) return;
  slots_.Erase(entry.handle);
}

void ClaimTable::ScheduleAll(ExpiryQueue* expiry) const {
  expiry->ReserveHandles(slots_.size());
  slots_.ForEach([&](RecordHandle handle) {
    const ClaimView view = View(slots_, handle);
    if (view.live()) {
      expiry->PushUnordered(view.expires_ms, ExpiryKind::kClaimEnd, handle);
    } else {
      expiry->PushUnordered(view.forget_ms, ExpiryKind::kClaimLogForget, handle);
    }
  });
}

void ClaimTable::Restore(std::string_view key, std::optional<ClaimSlot> slot) {
  const RecordHandle handle = slots_.Find(key);
  if (handle != kNoRecord) {
    if (View(slots_, handle).live()) --live_;
    if (!slot) {
      slots_.Erase(handle);
      return;
    }
    Store(key, handle, *slot);
    if (slot->live) ++live_;
    return;
  }
  if (!slot) return;
  if (slot->live) ++live_;
  Store(key, kNoRecord, *slot);
}

bool ClaimTable::LoadEncoded(std::string_view key, std::string_view value, ExpiryQueue* expiry) {
  ClaimView view;
  if (!ParseClaim(value, &view, /*check_log=*/true)) return false;
  const RecordHandle handle = slots_.Load(key, value);
  if (view.live()) {
    ++live_;
    expiry->PushUnordered(view.expires_ms, ExpiryKind::kClaimEnd, handle);
  } else {
    expiry->PushUnordered(view.forget_ms, ExpiryKind::kClaimLogForget, handle);
  }
  return true;
}

void ClaimTable::Clear() {
  slots_.Clear();
  live_ = 0;
}

}  // namespace exactly::core
