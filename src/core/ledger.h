// Ledger: bounded accounts, transfers with ids whose first outcome is final, and
// reservations (RESERVE / COMMIT / CANCEL / timeout).
//
// Invariants, asserted after every change: for each account
//   min <= balance - reserved_out   and   balance + reserved_in <= max,
// with the int64 range as the hard bound of MIN -inf / MAX +inf, so a pending
// reservation can always be committed or released and no sum ever wraps.
// Every transfer id is remembered (refusals included) until its resolved
// remember-until time; a repeat answers the first outcome. Accounts are never
// deleted. Reservations: a repeated RESERVE answers `again` while pending, then
// the reservation's state (committed, cancelled, timed_out); COMMIT and CANCEL
// answer `again` for their own completed action, the state word for the other,
// the stored refusal for a refused RESERVE and `no_transfer` for an id that no
// RESERVE made. Reply `timestamp` is when the id's current state began. HISTORY entries carry
// signed amounts (negative on the debit side); for reserve/cancel/timeout entries the balance is
// unchanged and the amount is the reservation's, signed the same way.
//
// Storage: accounts and remembered ids are records of RecordStores
// (record_store.h). An account's record holds its bounds, balances and lsn in
// fixed places (rewritten in place by every transfer); its HISTORY lives beside
// it, by record handle, only once it has some. A transfer's record holds varints
// and names its accounts by their record handles (accounts are never deleted), so
// a remembered id costs its id and about 25 bytes. Account and Transfer are the
// decoded forms, for group rollback, the state codec and tests.
#pragma once

#include <boost/unordered/unordered_flat_map.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "core/apply_context.h"
#include "core/claims.h"
#include "core/command.h"
#include "core/expiry.h"
#include "core/record_store.h"
#include "core/reply.h"

namespace exactly::core {

enum class HistoryKind : uint8_t {
  kTransfer = 0,
  kReserve = 1,
  kCommit = 2,
  kCancel = 3,
  kTimeout = 4,
};
inline constexpr uint8_t kHistoryKindLast = 4;

std::string_view HistoryKindName(HistoryKind kind);

struct HistoryEntry {
  HistoryKind kind = HistoryKind::kTransfer;
  Amount amount = 0;   // signed: negative when the account was debited
  Amount balance = 0;  // after the entry
  int64_t at_ms = 0;
  std::string id;
  std::string note;
  bool operator==(const HistoryEntry&) const = default;
};

struct Account {
  Bound min{false, 0};
  Bound max{true, 0};
  Amount balance = 0;
  Amount reserved_out = 0;  // pending reservations debiting this account
  Amount reserved_in = 0;   // pending reservations crediting this account
  Lsn lsn;
  std::vector<HistoryEntry> history;  // oldest first, at most kHistoryPerAccountMax
  bool operator==(const Account&) const = default;
};

enum class TransferStatus : uint8_t {
  kOk = 0,            // TRANSFER applied
  kInsufficient = 1,  // refused, remembered
  kOverMax = 2,
  kNoAccount = 3,
  kPending = 4,  // RESERVE holding the amount
  kCommitted = 5,
  kCancelled = 6,
  kTimedOut = 7,
};
inline constexpr uint8_t kTransferStatusLast = 7;

struct Transfer {
  bool reserve = false;  // created by RESERVE (else TRANSFER)
  TransferStatus status = TransferStatus::kOk;
  Amount amount = 0;
  int64_t timestamp_ms = 0;         // when the id was first seen
  int64_t window_ms = kNoTimeMs;    // PER window start
  int64_t expires_ms = kNoTimeMs;   // TRANSFER: remember-until; RESERVE: timeout
  int64_t forget_ms = kNoTimeMs;    // when the id is forgotten
  int64_t resolved_ms = kNoTimeMs;  // RESERVE: when committed, cancelled or timed out
  Lsn lsn;
  std::string from;
  std::string to;
  bool operator==(const Transfer&) const = default;
};

// The int64 value of a bound: -inf and +inf are the ends of the int64 range.
Amount MinValue(const Bound& min);
Amount MaxValue(const Bound& max);
// How a bound appears in a reply: an integer, or "-inf" / "+inf".
Value MinReplyValue(const Bound& min);
Value MaxReplyValue(const Bound& max);

class Ledger {
 public:
  // Mutations; `command` is resolved.
  Reply Apply(const cmd::Account& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::Transfer& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::Reserve& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::Commit& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  Reply Apply(const cmd::Cancel& args, const Command& command, const ApplyContext& context,
              Effect* effect);
  // Reads.
  Reply Apply(const cmd::Balance& args, const Command& command, const ApplyContext& context,
              Effect* effect) const;
  Reply Apply(const cmd::History& args, const Command& command, const ApplyContext& context,
              Effect* effect) const;

  // Handles a due kReservationTimeout or kTransferForget entry; stale ones are
  // ignored.
  void Expire(const ExpiryEntry& entry, ExpiryQueue* expiry);
  void ScheduleAll(ExpiryQueue* expiry) const;

  // Put a record back (nullopt: it did not exist). Group rollback, state codec.
  // A record that exists keeps its handle (expiry entries and transfers name it).
  void RestoreAccount(std::string_view key, std::optional<Account> account);
  void RestoreTransfer(std::string_view id, std::optional<Transfer> transfer);
  void Clear();

  // The records (for their count, keys and handles) and their decoded forms.
  const RecordStore& accounts() const { return accounts_; }
  const RecordStore& transfers() const { return transfers_; }
  Account AccountAt(RecordHandle handle) const;
  Transfer TransferAt(RecordHandle handle) const;
  std::optional<Account> FindAccount(std::string_view key) const;
  std::optional<Transfer> FindTransfer(std::string_view id) const;
  // For replay: see RecordStore::SetGrowAtOnce.
  void SetGrowAtOnce(bool at_once) {
    accounts_.SetGrowAtOnce(at_once);
    transfers_.SetGrowAtOnce(at_once);
  }
  void Reserve(size_t accounts, size_t transfers) {
    accounts_.Reserve(accounts);
    transfers_.Reserve(transfers);
  }
  size_t pending() const { return pending_; }

 private:
  enum class Side { kDebit, kCredit };
  // TRANSFER and RESERVE, read alike (a reservation has no note).
  struct Move {
    std::string_view id;
    std::string_view from;
    std::string_view to;
    Amount amount = 0;
    std::string_view note;
    bool reserve = false;
  };
  Reply ApplyMove(const Move& move, const Command& command, const ApplyContext& context,
                  Effect* effect);
  Reply RepeatReply(const Move& move, const Transfer& transfer, Effect* effect) const;
  Reply ResolveReservation(const std::string& id, const ApplyContext& context, Effect* effect,
                           bool commit);
  void Release(std::string_view id, Transfer* transfer, int64_t at_ms, HistoryKind kind, Lsn lsn);
  TransferStatus Check(const Move& move, bool reserve) const;
  void SaveAccount(std::string_view key, const ApplyContext& context) const;
  void SaveTransfer(std::string_view id, const ApplyContext& context) const;
  RecordHandle MustFind(std::string_view key) const;
  // An account's fixed fields (history left empty), and writing them back.
  Account Fields(RecordHandle handle) const;
  void StoreFields(RecordHandle handle, const Account& account);
  void AppendHistory(RecordHandle handle, HistoryEntry entry);
  void StoreTransfer(std::string_view id, RecordHandle handle, const Transfer& transfer);

  RecordStore accounts_;
  // HISTORY of the accounts that have some, by record handle.
  boost::unordered_flat_map<RecordHandle, std::vector<HistoryEntry>> history_;
  RecordStore transfers_;  // tens of millions of remembered ids
  size_t pending_ = 0;
  std::string scratch_;  // reused encoding buffer
};

}  // namespace exactly::core
