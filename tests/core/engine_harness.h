// Test helpers for the engine: command builders, a harness that numbers batches
// and keeps their journal records, and typed access to reply fields.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "core/command.h"
#include "core/engine.h"
#include "core/reply.h"

namespace exactly::core {

// How gtest prints a Command (ADL finds it): its kind, then each field of its
// kind's list with a value other than the default, then the resolved times, IFLOCK
// and a group's sub-commands.
namespace printing_internal {
inline void PrintValue(const std::string& value, std::ostream* os) { *os << '"' << value << '"'; }
inline void PrintValue(int64_t value, std::ostream* os) { *os << value; }
inline void PrintValue(uint64_t value, std::ostream* os) { *os << value; }
inline void PrintValue(bool value, std::ostream* os) { *os << (value ? "true" : "false"); }
inline void PrintValue(const Bound& bound, std::ostream* os) {
  if (bound.infinite) {
    *os << "inf";
  } else {
    *os << bound.value;
  }
}
inline void PrintValue(const TimeSpec& time, std::ostream* os) {
  *os << "{kind " << static_cast<int>(time.kind) << " ttl " << time.ttl_ms << " until "
      << time.until_ms << " period " << static_cast<int>(time.period) << " at " << time.at_minutes
      << " tz " << time.tz_minutes << "}";
}
}  // namespace printing_internal

inline void PrintTo(const Command& command, std::ostream* os) {
  *os << KindName(command.kind) << "{";
  std::visit(
      [&](const auto& typed) {
        using S = std::decay_t<decltype(typed)>;
        const S defaults{};
        ForEachField<S>([&](const auto& field) {
          if (typed.*field.member == defaults.*field.member) return;
          *os << field.name << "=";
          printing_internal::PrintValue(typed.*field.member, os);
          *os << " ";
        });
      },
      command.args);
  if (command.kind != static_cast<CommandKind>(command.args.index() + 1)) *os << "args-mismatch ";
  if (command.resolved) {
    *os << "resolved expires=" << command.expires_ms << " window=" << command.window_ms
        << " remember_until=" << command.remember_until_ms << " ";
  }
  if (!command.iflock_name.empty()) {
    *os << "iflock=\"" << command.iflock_name << "\" " << command.iflock_token << " ";
  }
  for (const Command& sub : command.group) {
    PrintTo(sub, os);
    *os << " ";
  }
  *os << "}";
}

}  // namespace exactly::core

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
  cmd::Claim claim;
  claim.key = std::move(key);
  claim.owner = std::move(owner);
  claim.time = time;
  claim.persist = persist;
  claim.note = std::move(note);
  return claim;
}
inline Command UnclaimCmd(std::string key, std::string owner) {
  cmd::Unclaim unclaim;
  unclaim.key = std::move(key);
  unclaim.owner = std::move(owner);
  return unclaim;
}
inline Command ClaimOfCmd(std::string key) {
  cmd::ClaimOf claim_of;
  claim_of.key = std::move(key);
  return claim_of;
}
inline Command ClaimLogCmd(std::string key, int64_t count = 0) {
  cmd::ClaimLog log;
  log.key = std::move(key);
  log.count = count;
  return log;
}
inline Command AccountCmd(std::string key, Bound min = Finite(0), Bound max = Infinite()) {
  cmd::Account account;
  account.key = std::move(key);
  account.min = min;
  account.max = max;
  return account;
}
inline Command TransferCmd(std::string id, std::string from, std::string to, Amount amount,
                           TimeSpec per = {}, std::string note = "") {
  cmd::Transfer transfer;
  transfer.id = std::move(id);
  transfer.from = std::move(from);
  transfer.to = std::move(to);
  transfer.amount = amount;
  transfer.per = per;
  transfer.note = std::move(note);
  return transfer;
}
inline Command ReserveCmd(std::string id, std::string from, std::string to, Amount amount,
                          int64_t timeout_ms) {
  cmd::Reserve reserve;
  reserve.id = std::move(id);
  reserve.from = std::move(from);
  reserve.to = std::move(to);
  reserve.amount = amount;
  reserve.timeout = Ttl(timeout_ms);
  return reserve;
}
inline Command CommitCmd(std::string id) {
  cmd::Commit commit;
  commit.id = std::move(id);
  return commit;
}
inline Command CancelCmd(std::string id) {
  cmd::Cancel cancel;
  cancel.id = std::move(id);
  return cancel;
}
inline Command BalanceCmd(std::string key) {
  cmd::Balance balance;
  balance.key = std::move(key);
  return balance;
}
inline Command HistoryCmd(std::string key, int64_t count = 0) {
  cmd::History history;
  history.key = std::move(key);
  history.count = count;
  return history;
}
inline Command GroupCmd(std::vector<Command> commands) {
  Command command = cmd::Group();
  command.group = std::move(commands);
  return command;
}

inline Command LockCmd(std::string name, std::string owner, int64_t lease_ms, int64_t wait_ms = 0,
                       std::string request_id = "") {
  cmd::Lock lock;
  lock.name = std::move(name);
  lock.owner = std::move(owner);
  lock.lease_ms = lease_ms;
  lock.wait_ms = wait_ms;
  lock.id = std::move(request_id);
  return lock;
}
inline Command RenewCmd(std::string name, uint64_t token, int64_t lease_ms) {
  cmd::Renew renew;
  renew.name = std::move(name);
  renew.token = token;
  renew.lease_ms = lease_ms;
  return renew;
}
inline Command UnlockCmd(std::string name, uint64_t token) {
  cmd::Unlock unlock;
  unlock.name = std::move(name);
  unlock.token = token;
  return unlock;
}
inline Command FenceCmd(std::string name, uint64_t token) {
  cmd::Fence fence;
  fence.name = std::move(name);
  fence.token = token;
  return fence;
}
inline Command IdemBeginCmd(std::string key, std::string fingerprint = "", int64_t lease_ms = 0,
                            int64_t ttl_ms = 0, int64_t wait_ms = 0) {
  cmd::IdemBegin begin;
  begin.key = std::move(key);
  begin.fingerprint = std::move(fingerprint);
  begin.lease_ms = lease_ms;
  begin.ttl_ms = ttl_ms;
  begin.wait_ms = wait_ms;
  return begin;
}
inline Command IdemEndCmd(std::string key, uint64_t token, std::string response) {
  cmd::IdemEnd end;
  end.key = std::move(key);
  end.token = token;
  end.response = std::move(response);
  return end;
}
inline Command IdemAbortCmd(std::string key, uint64_t token) {
  cmd::IdemAbort abort;
  abort.key = std::move(key);
  abort.token = token;
  return abort;
}
inline Command LimitRateCmd(std::string key, int64_t n, int64_t per_ms, int64_t burst = 0,
                            int64_t cost = 1) {
  cmd::Limit limit;
  limit.key = std::move(key);
  limit.n = n;
  limit.per_ms = per_ms;
  limit.burst = burst;
  limit.cost = cost;
  return limit;
}
inline Command LimitWindowCmd(std::string key, int64_t n, int64_t per_ms, int64_t cost = 1) {
  Command command = LimitRateCmd(std::move(key), n, per_ms, 0, cost);
  command.As<cmd::Limit>().window = true;
  return command;
}
inline Command CancelWaiterCmd(uint64_t waiter) {
  cmd::CancelWaiter cancel;
  cancel.waiter = waiter;
  return cancel;
}
inline Command DropWaitersCmd() { return cmd::DropWaiters(); }
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
