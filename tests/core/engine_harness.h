// Test helpers for the engine: command builders, a harness that numbers batches
// and keeps their journal records, and typed access to reply fields.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/command.h"
#include "core/engine.h"
#include "core/reply.h"

namespace exactly::core::testing {

// The harness's first timestamp: 2023-11-14T22:13:20Z.
inline constexpr int64_t kT0 = 1'700'000'000'000;

inline TimeSpec Ttl(int64_t ms) {
  TimeSpec time;
  time.kind = TimeSpec::Kind::kTtl;
  time.ttl_ms = ms;
  return time;
}
inline TimeSpec Until(int64_t ms) {
  TimeSpec time;
  time.kind = TimeSpec::Kind::kUntil;
  time.until_ms = ms;
  return time;
}
inline TimeSpec Per(Period period, int32_t at_minutes = 0, int32_t tz_minutes = 0) {
  TimeSpec time;
  time.kind = TimeSpec::Kind::kPer;
  time.period = period;
  time.at_minutes = at_minutes;
  time.tz_minutes = tz_minutes;
  return time;
}
inline Bound Finite(Amount value) { return Bound{false, value}; }
inline Bound Infinite() { return Bound{true, 0}; }

inline Command ClaimCmd(std::string key, std::string owner, TimeSpec time = {},
                        bool persist = false, std::string note = "") {
  Command command;
  command.kind = CommandKind::kClaim;
  command.key = std::move(key);
  command.owner = std::move(owner);
  command.time = time;
  command.persist = persist;
  command.note = std::move(note);
  return command;
}
inline Command UnclaimCmd(std::string key, std::string owner) {
  Command command;
  command.kind = CommandKind::kUnclaim;
  command.key = std::move(key);
  command.owner = std::move(owner);
  return command;
}
inline Command ClaimOfCmd(std::string key) {
  Command command;
  command.kind = CommandKind::kClaimOf;
  command.key = std::move(key);
  return command;
}
inline Command ClaimLogCmd(std::string key, int64_t count = 0) {
  Command command;
  command.kind = CommandKind::kClaimLog;
  command.key = std::move(key);
  command.count = count;
  return command;
}
inline Command AccountCmd(std::string key, Bound min = Finite(0), Bound max = Infinite()) {
  Command command;
  command.kind = CommandKind::kAccount;
  command.key = std::move(key);
  command.min = min;
  command.max = max;
  return command;
}
inline Command TransferCmd(std::string id, std::string from, std::string to, Amount amount,
                           TimeSpec time = {}, std::string note = "") {
  Command command;
  command.kind = CommandKind::kTransfer;
  command.id = std::move(id);
  command.from = std::move(from);
  command.to = std::move(to);
  command.amount = amount;
  command.time = time;
  command.note = std::move(note);
  return command;
}
inline Command ReserveCmd(std::string id, std::string from, std::string to, Amount amount,
                          int64_t timeout_ms) {
  Command command =
      TransferCmd(std::move(id), std::move(from), std::move(to), amount, Ttl(timeout_ms));
  command.kind = CommandKind::kReserve;
  return command;
}
inline Command CommitCmd(std::string id) {
  Command command;
  command.kind = CommandKind::kCommit;
  command.id = std::move(id);
  return command;
}
inline Command CancelCmd(std::string id) {
  Command command = CommitCmd(std::move(id));
  command.kind = CommandKind::kCancel;
  return command;
}
inline Command BalanceCmd(std::string key) {
  Command command;
  command.kind = CommandKind::kBalance;
  command.key = std::move(key);
  return command;
}
inline Command HistoryCmd(std::string key, int64_t count = 0) {
  Command command = BalanceCmd(std::move(key));
  command.kind = CommandKind::kHistory;
  command.count = count;
  return command;
}
inline Command GroupCmd(std::vector<Command> commands) {
  Command command;
  command.kind = CommandKind::kGroup;
  command.group = std::move(commands);
  return command;
}

inline Command LockCmd(std::string name, std::string owner, int64_t lease_ms, int64_t wait_ms = 0,
                       std::string request_id = "") {
  Command command;
  command.kind = CommandKind::kLock;
  command.key = std::move(name);
  command.owner = std::move(owner);
  command.lease_ms = lease_ms;
  command.wait_ms = wait_ms;
  command.id = std::move(request_id);
  return command;
}
inline Command TokenCmd(CommandKind kind, std::string name, uint64_t token, int64_t lease_ms = 0) {
  Command command;
  command.kind = kind;
  command.key = std::move(name);
  command.token = token;
  command.lease_ms = lease_ms;
  return command;
}
inline Command RenewCmd(std::string name, uint64_t token, int64_t lease_ms) {
  return TokenCmd(CommandKind::kRenew, std::move(name), token, lease_ms);
}
inline Command UnlockCmd(std::string name, uint64_t token) {
  return TokenCmd(CommandKind::kUnlock, std::move(name), token);
}
inline Command FenceCmd(std::string name, uint64_t token) {
  return TokenCmd(CommandKind::kFence, std::move(name), token);
}
inline Command IdemBeginCmd(std::string key, std::string fingerprint = "", int64_t lease_ms = 0,
                            int64_t ttl_ms = 0, int64_t wait_ms = 0) {
  Command command;
  command.kind = CommandKind::kIdemBegin;
  command.key = std::move(key);
  command.note = std::move(fingerprint);
  command.lease_ms = lease_ms;
  command.ttl_ms = ttl_ms;
  command.wait_ms = wait_ms;
  return command;
}
inline Command IdemEndCmd(std::string key, uint64_t token, std::string response) {
  Command command = TokenCmd(CommandKind::kIdemEnd, std::move(key), token);
  command.note = std::move(response);
  return command;
}
inline Command IdemAbortCmd(std::string key, uint64_t token) {
  return TokenCmd(CommandKind::kIdemAbort, std::move(key), token);
}
inline Command LimitRateCmd(std::string key, int64_t n, int64_t per_ms, int64_t burst = 0,
                            int64_t cost = 1) {
  Command command;
  command.kind = CommandKind::kLimit;
  command.key = std::move(key);
  command.limit_n = n;
  command.limit_per_ms = per_ms;
  command.limit_burst = burst;
  command.limit_cost = cost;
  return command;
}
inline Command LimitWindowCmd(std::string key, int64_t n, int64_t per_ms, int64_t cost = 1) {
  Command command = LimitRateCmd(std::move(key), n, per_ms, 0, cost);
  command.limit_window = true;
  return command;
}
inline Command CancelWaiterCmd(uint64_t waiter) {
  Command command;
  command.kind = CommandKind::kCancelWaiter;
  command.waiter = waiter;
  return command;
}
inline Command DropWaitersCmd() {
  Command command;
  command.kind = CommandKind::kDropWaiters;
  return command;
}
inline Command IfLock(Command command, std::string name, uint64_t token) {
  command.iflock_name = std::move(name);
  command.iflock_token = token;
  return command;
}

inline const Value* FindField(const Reply& reply, std::string_view name) {
  for (const auto& [field, value] : reply.fields) {
    if (field == name) return &value;
  }
  return nullptr;
}
inline int64_t Int(const Reply& reply, std::string_view name) {
  const Value* value = FindField(reply, name);
  EXPECT_NE(value, nullptr) << "no field " << name;
  if (value == nullptr || !std::holds_alternative<int64_t>(*value)) {
    ADD_FAILURE() << "field " << name << " is not an integer";
    return INT64_MIN;
  }
  return std::get<int64_t>(*value);
}
inline std::string Str(const Reply& reply, std::string_view name) {
  const Value* value = FindField(reply, name);
  EXPECT_NE(value, nullptr) << "no field " << name;
  if (value == nullptr || !std::holds_alternative<std::string>(*value)) {
    ADD_FAILURE() << "field " << name << " is not a string";
    return "<missing>";
  }
  return std::get<std::string>(*value);
}
// The `token` field of a LOCK/RENEW/IDEM reply.
inline uint64_t Token(const Reply& reply) { return static_cast<uint64_t>(Int(reply, "token")); }
inline std::vector<Reply> List(const Reply& reply, std::string_view name) {
  const Value* value = FindField(reply, name);
  EXPECT_NE(value, nullptr) << "no field " << name;
  if (value == nullptr || !std::holds_alternative<std::vector<Reply>>(*value)) {
    ADD_FAILURE() << "field " << name << " is not a list";
    return {};
  }
  return std::get<std::vector<Reply>>(*value);
}
inline std::vector<std::string_view> FieldNames(const Reply& reply) {
  std::vector<std::string_view> names;
  if (reply.outcome) names.push_back("result");
  for (const auto& field : reply.fields) names.push_back(field.first);
  return names;
}

// A reply as one line of text, for comparing whole replies in one assertion.
inline std::string ReplyText(const Reply& reply) {
  if (reply.is_error()) return "-" + reply.error_code + " " + reply.error_message;
  std::string text = "{";
  if (reply.outcome) text += "result='" + std::string(reply.result()) + "' ";
  for (const auto& [name, value] : reply.fields) {
    text += std::string(name) + "=";
    if (const auto* number = std::get_if<int64_t>(&value)) {
      text += std::to_string(*number);
    } else if (const auto* word = std::get_if<std::string>(&value)) {
      text += "'" + *word + "'";
    } else {
      text += "[";
      for (const Reply& item : std::get<std::vector<Reply>>(value)) text += ReplyText(item) + ",";
      text += "]";
    }
    text += " ";
  }
  return text + "}";
}

// Runs batches against one engine at a settable time, numbering them and keeping
// every non-empty journal record with its LSN.
class Harness {
 public:
  explicit Harness(EngineConfig config = {}, int64_t start_ms = kT0)
      : engine(config), now_ms(start_ms) {}

  BatchOutput Batch(std::vector<Command> commands) {
    BatchOutput out;
    const Lsn lsn = next_lsn;
    engine.ApplyBatch(commands, TimestampMs{now_ms}, lsn, &out);
    if (!out.record.empty()) {
      records.emplace_back(lsn, out.record);
      next_lsn = lsn.Next();
    }
    return out;
  }
  // A batch of one command whose reply may be parked: the whole output.
  BatchOutput RunOut(Command command) {
    std::vector<Command> commands;
    commands.push_back(std::move(command));
    return Batch(std::move(commands));
  }
  // Replays every kept record into a fresh engine and returns it.
  std::unique_ptr<Engine> Replayed(EngineConfig config = {}) const {
    auto other = std::make_unique<Engine>(config);
    for (const auto& [lsn, record] : records) {
      EXPECT_TRUE(other->Replay(lsn, record).ok());
    }
    return other;
  }
  Reply Run(Command command) {
    std::vector<Command> commands;
    commands.push_back(std::move(command));
    BatchOutput out = Batch(std::move(commands));
    last_logged = !out.record.empty();
    last_wait = out.wait_lsn.at(0);
    return std::move(out.replies.at(0));
  }

  Engine engine;
  int64_t now_ms;
  Lsn next_lsn{1};
  std::vector<std::pair<Lsn, std::string>> records;
  bool last_logged = false;
  Lsn last_wait;
};

// A random command over small name spaces (so that names collide), covering every
// kind, every time option and the int64 edges. Groups contain no groups.
inline Command RandomCommand(std::mt19937_64& rng, bool allow_group = true) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto name = [&](const char* prefix, int n) { return prefix + std::to_string(pick(n)); };
  auto time = [&]() -> TimeSpec {
    switch (pick(5)) {
      case 0:
        return Ttl(1 + pick(5000));
      case 1:
        return Until(kT0 + pick(20'000));
      case 2:
        return Per(static_cast<Period>(1 + pick(4)), pick(24 * 60), pick(29 * 60) - 14 * 60);
      default:
        return TimeSpec{};
    }
  };
  auto amount = [&]() -> Amount {
    switch (pick(8)) {
      case 0:
        return std::numeric_limits<Amount>::max();
      case 1:
        return std::numeric_limits<Amount>::max() / 2 + pick(3);
      default:
        return 1 + pick(200);
    }
  };
  auto bound = [&](bool upper) -> Bound {
    switch (pick(4)) {
      case 0:
        return Infinite();
      case 1:
        return Finite(upper ? 100 + pick(500) : -pick(300));
      default:
        return upper ? Infinite() : Finite(0);
    }
  };
  const int kind = allow_group ? pick(40) : pick(39);
  if (kind < 8) {
    return ClaimCmd(name("k", 6), name("o", 3), time(), pick(6) == 0,
                    pick(3) == 0 ? name("note", 4) : "");
  }
  if (kind < 12) return UnclaimCmd(name("k", 6), name("o", 3));
  if (kind < 14) return pick(2) ? ClaimOfCmd(name("k", 6)) : ClaimLogCmd(name("k", 6), pick(4));
  if (kind < 17) return AccountCmd(name("a", 5), bound(false), bound(true));
  if (kind < 26) {
    TimeSpec per = pick(4) == 0 ? Per(static_cast<Period>(1 + pick(2))) : TimeSpec{};
    return TransferCmd(name("t", 30), name("a", 5), name("a", 5), amount(), per,
                       pick(4) == 0 ? "n" : "");
  }
  if (kind < 31)
    return ReserveCmd(name("r", 12), name("a", 5), name("a", 5), amount(), 1 + pick(4000));
  if (kind < 34) return CommitCmd(name("r", 12));
  if (kind < 36) return CancelCmd(name("r", 12));
  if (kind < 39) return pick(2) ? BalanceCmd(name("a", 5)) : HistoryCmd(name("a", 5), pick(5));
  std::vector<Command> group;
  const int size = 1 + pick(5);
  for (int i = 0; i < size; ++i) group.push_back(RandomCommand(rng, false));
  return GroupCmd(std::move(group));
}

}  // namespace exactly::core::testing
