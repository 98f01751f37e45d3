// Seeded simulation: every reply of the engine is compared with a deliberately
// simple reference model (std::map, 128-bit arithmetic, lazy expiry, whole-model
// copies for MULTI) of claims, accounts, transfers and reservations. Windows,
// CLAIMLOG and HISTORY are left to the unit tests. Prints its seeds; rerun one
// with EXACTLY_SIM_SEED=<seed>.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "core/engine.h"
#include "core/engine_harness.h"

namespace exactly::core {
namespace {

// TRANSFER and RESERVE, read alike by the model.
struct Move {
  std::string id;
  std::string from;
  std::string to;
  Amount amount = 0;
  int64_t timeout_ms = 0;
};
Move MoveOf(const cmd::Transfer& t) { return Move{t.id, t.from, t.to, t.amount, 0}; }
Move MoveOf(const cmd::Reserve& r) { return Move{r.id, r.from, r.to, r.amount, r.timeout.ttl_ms}; }

using testing::kT0;
using testing::ReplyText;
using Wide = __int128;

class Model {
 public:
  explicit Model(int64_t retention_ms) : retention_ms_(retention_ms) {}

  std::vector<Reply> Batch(const std::vector<Command>& commands, int64_t now_ms) {
    now_ = std::max(now_, now_ms);
    Expire();
    std::vector<Reply> replies;
    for (const Command& command : commands) {
      replies.push_back(command.kind == CommandKind::kGroup ? Group(command) : Apply(command));
    }
    return replies;
  }

 private:
  struct Claim {
    std::string owner;
    int64_t since;
    int64_t expires;
  };
  struct Account {
    Bound min, max;
    Wide balance = 0, out = 0, in = 0;
  };
  enum class Status {
    kOk,
    kInsufficient,
    kOverMax,
    kNoAccount,
    kPending,
    kCommitted,
    kCancelled,
    kTimedOut
  };
  struct Transfer {
    bool reserve;
    std::string from, to;
    int64_t amount, timestamp, expires, forget, resolved = -1;
    Status status;
  };

  static Wide Lo(const Bound& b) {
    return b.infinite ? std::numeric_limits<int64_t>::min() : b.value;
  }
  static Wide Hi(const Bound& b) {
    return b.infinite ? std::numeric_limits<int64_t>::max() : b.value;
  }
  static Value BoundValue(const Bound& b, const char* inf) {
    if (b.infinite) return std::string(inf);
    return b.value;
  }
  static Outcome Word(Status s) {
    static constexpr Outcome kWords[] = {
        Outcome::kOk,      Outcome::kInsufficient, Outcome::kOverMax,   Outcome::kNoAccount,
        Outcome::kPending, Outcome::kCommitted,    Outcome::kCancelled, Outcome::kTimedOut};
    return kWords[static_cast<int>(s)];
  }

  bool Live(const Claim& claim) const { return claim.expires == -1 || claim.expires > now_; }

  void Expire() {
    for (auto& [id, t] : transfers_) {
      if (t.status == Status::kPending && t.expires <= now_) {
        accounts_[t.from].out -= t.amount;
        accounts_[t.to].in -= t.amount;
        t.status = Status::kTimedOut;
        t.resolved = t.expires;
      }
    }
    std::erase_if(transfers_, [&](const auto& item) {
      return item.second.forget <= now_ && item.second.status != Status::kPending;
    });
  }

  static Reply Make(Outcome word) {
    Reply reply;
    reply.outcome = word;
    return reply;
  }
  Reply ClaimReply(Outcome word, const std::string& key, const Claim& c) const {
    Reply r = Make(word);
    r.Add("key", key).Add("owner", c.owner).Add("since", c.since).Add("expires", c.expires);
    r.Add("window", int64_t{-1});
    return r;
  }
  Reply TransferReply(Outcome word, const std::string& id, const Transfer& t) const {
    Reply r = Make(word);
    const bool resolved = t.status == Status::kCommitted || t.status == Status::kCancelled ||
                          t.status == Status::kTimedOut;
    r.Add("id", id).Add("amount", t.amount).Add("timestamp", resolved ? t.resolved : t.timestamp);
    r.Add("window", int64_t{-1}).Add("expires", t.expires);
    return r;
  }

  Reply Apply(const Command& c) {
    switch (c.kind) {
      case CommandKind::kClaim: {
        const cmd::Claim& a = c.As<cmd::Claim>();
        auto it = claims_.find(a.key);
        if (it != claims_.end() && Live(it->second)) {
          if (it->second.owner != a.owner) return ClaimReply(Outcome::kHeld, a.key, it->second);
          if (a.persist) it->second.expires = -1;
          return ClaimReply(Outcome::kAgain, a.key, it->second);
        }
        int64_t expires = a.time.kind == TimeSpec::Kind::kTtl ? now_ + a.time.ttl_ms : -1;
        if (a.persist) expires = -1;
        claims_[a.key] = Claim{a.owner, now_, expires};
        return ClaimReply(Outcome::kWon, a.key, claims_[a.key]);
      }
      case CommandKind::kUnclaim: {
        const cmd::Unclaim& a = c.As<cmd::Unclaim>();
        auto it = claims_.find(a.key);
        if (it == claims_.end() || !Live(it->second) || it->second.owner != a.owner) {
          return std::move(Make(Outcome::kNotHolder).Add("key", a.key));
        }
        claims_.erase(it);
        return std::move(Make(Outcome::kReleased).Add("key", a.key));
      }
      case CommandKind::kClaimOf: {
        const cmd::ClaimOf& a = c.As<cmd::ClaimOf>();
        auto it = claims_.find(a.key);
        if (it == claims_.end() || !Live(it->second)) {
          return std::move(
              Make(Outcome::kFree).Add("owner", "").Add("since", -1).Add("expires", -1));
        }
        return std::move(Make(Outcome::kHeld)
                             .Add("owner", it->second.owner)
                             .Add("since", it->second.since)
                             .Add("expires", it->second.expires));
      }
      case CommandKind::kAccount: {
        const cmd::Account& a = c.As<cmd::Account>();
        if (Lo(a.min) > Hi(a.max) || Lo(a.min) > 0 || Hi(a.max) < 0) return Reply::Error("ERR", "");
        auto it = accounts_.find(a.key);
        Outcome word = Outcome::kCreated;
        if (it != accounts_.end()) {
          if (!(it->second.min == a.min) || !(it->second.max == a.max)) {
            return Reply::Error("ERR", "");
          }
          word = Outcome::kAgain;
        } else {
          accounts_[a.key] = Account{a.min, a.max};
        }
        Reply r = Make(word);
        r.Add("key", a.key);
        r.fields.emplace_back("min", BoundValue(a.min, "-inf"));
        r.fields.emplace_back("max", BoundValue(a.max, "+inf"));
        return r;
      }
      case CommandKind::kTransfer:
      case CommandKind::kReserve: {
        const bool reserve = c.kind == CommandKind::kReserve;
        const Move m = reserve ? MoveOf(c.As<cmd::Reserve>()) : MoveOf(c.As<cmd::Transfer>());
        if (m.from == m.to) return Reply::Error("ERR", "");
        auto it = transfers_.find(m.id);
        if (it != transfers_.end()) {
          const Transfer& t = it->second;
          if (t.reserve != reserve || t.from != m.from || t.to != m.to || t.amount != m.amount) {
            return TransferReply(Outcome::kIdConflict, m.id, t);
          }
          const bool success = t.status == Status::kOk || t.status == Status::kPending;
          return TransferReply(success ? Outcome::kAgain : Word(t.status), m.id, t);
        }
        Transfer t{reserve,  m.from, m.to,
                   m.amount, now_,   reserve ? now_ + m.timeout_ms : now_ + retention_ms_,
                   0,        -1,     Status::kOk};
        t.forget = reserve ? t.expires + retention_ms_ : t.expires;
        auto from = accounts_.find(m.from);
        auto to = accounts_.find(m.to);
        const Wide max64 = std::numeric_limits<int64_t>::max();
        if (from == accounts_.end() || to == accounts_.end()) {
          t.status = Status::kNoAccount;
        } else if (from->second.balance - from->second.out - m.amount < Lo(from->second.min) ||
                   (reserve && from->second.out + m.amount > max64)) {
          t.status = Status::kInsufficient;
        } else if (to->second.balance + to->second.in + m.amount > Hi(to->second.max) ||
                   (reserve && to->second.in + m.amount > max64)) {
          t.status = Status::kOverMax;
        } else if (reserve) {
          t.status = Status::kPending;
          from->second.out += m.amount;
          to->second.in += m.amount;
        } else {
          from->second.balance -= m.amount;
          to->second.balance += m.amount;
        }
        transfers_[m.id] = t;
        return TransferReply(Word(t.status), m.id, t);
      }
      case CommandKind::kCommit:
      case CommandKind::kCancel: {
        const std::string& id =
            c.kind == CommandKind::kCommit ? c.As<cmd::Commit>().id : c.As<cmd::Cancel>().id;
        auto it = transfers_.find(id);
        if (it == transfers_.end()) {
          return std::move(Make(Outcome::kNoTransfer)
                               .Add("id", id)
                               .Add("amount", 0)
                               .Add("timestamp", -1)
                               .Add("window", -1)
                               .Add("expires", -1));
        }
        Transfer& t = it->second;
        if (!t.reserve) return TransferReply(Outcome::kNoTransfer, id, t);
        if (t.status == Status::kInsufficient || t.status == Status::kOverMax ||
            t.status == Status::kNoAccount) {
          return TransferReply(Word(t.status), id, t);
        }
        const bool commit = c.kind == CommandKind::kCommit;
        const Status done = commit ? Status::kCommitted : Status::kCancelled;
        if (t.status != Status::kPending) {
          return TransferReply(t.status == done ? Outcome::kAgain : Word(t.status), id, t);
        }
        accounts_[t.from].out -= t.amount;
        accounts_[t.to].in -= t.amount;
        if (commit) {
          accounts_[t.from].balance -= t.amount;
          accounts_[t.to].balance += t.amount;
        }
        t.status = done;
        t.resolved = now_;
        return TransferReply(Word(done), id, t);
      }
      case CommandKind::kBalance: {
        const cmd::Balance& balance = c.As<cmd::Balance>();
        auto it = accounts_.find(balance.key);
        if (it == accounts_.end()) return Make(Outcome::kNoAccount);
        const Account& a = it->second;
        Reply r = Make(Outcome::kOk);
        r.Add("balance", static_cast<int64_t>(a.balance))
            .Add("reserved", static_cast<int64_t>(a.out));
        r.fields.emplace_back("min", BoundValue(a.min, "-inf"));
        r.fields.emplace_back("max", BoundValue(a.max, "+inf"));
        r.Add("incoming", static_cast<int64_t>(a.in));
        return r;
      }
      default:
        ADD_FAILURE() << "unexpected command in the simulation";
        return Reply::Error("ERR", "unexpected");
    }
  }

  static bool IsRefusalWord(const std::optional<Outcome>& word) {
    for (Outcome refusal :
         {Outcome::kHeld, Outcome::kNotHolder, Outcome::kInsufficient, Outcome::kOverMax,
          Outcome::kNoAccount, Outcome::kIdConflict, Outcome::kTimedOut, Outcome::kNoTransfer}) {
      if (word == refusal) return true;
    }
    return false;
  }

  // The name an EXEC element carries for its command (`id`, `name` or `key`).
  static void Identify(const Command& sub, Reply* reply) {
    if (reply->is_error()) return;
    const bool by_id = sub.kind == CommandKind::kTransfer || sub.kind == CommandKind::kReserve ||
                       sub.kind == CommandKind::kCommit || sub.kind == CommandKind::kCancel;
    const std::string_view name = by_id ? "id" : "key";
    for (const auto& field : reply->fields) {
      if (field.first == name) return;
    }
    std::string value;
    std::visit(
        [&](const auto& typed) {
          if constexpr (requires { typed.id; }) {
            value = typed.id;
          } else if constexpr (requires { typed.key; }) {
            value = typed.key;
          }
        },
        sub.args);
    reply->Add(name, value);
  }

  Reply Group(const Command& group) {
    const auto claims = claims_;
    const auto accounts = accounts_;
    const auto transfers = transfers_;
    std::vector<Reply> results;
    size_t refused = group.group.size();
    for (size_t i = 0; i < group.group.size() && refused == group.group.size(); ++i) {
      const Command& sub = group.group[i];
      Reply reply = Apply(sub);
      if (reply.is_error() || (IsMutating(sub.kind) && IsRefusalWord(reply.outcome))) {
        if (!reply.is_error()) reply.Add("failed", int64_t{1});
        Identify(sub, &reply);
        refused = i;
      }
      results.push_back(std::move(reply));
    }
    const bool failed = refused < group.group.size();
    if (failed) {
      claims_ = claims;
      accounts_ = accounts;
      transfers_ = transfers;
      for (size_t i = 0; i < refused; ++i) {
        results[i] = Make(Outcome::kRolledBack);
        Identify(group.group[i], &results[i]);
      }
      for (size_t i = refused + 1; i < group.group.size(); ++i) {
        results.push_back(Make(Outcome::kSkipped));
        Identify(group.group[i], &results.back());
      }
    }
    Reply reply = Make(failed ? Outcome::kRolledBack : Outcome::kExecuted);
    reply.Add("results", std::move(results));
    reply.wire_list_only = true;
    return reply;
  }

  int64_t retention_ms_;
  int64_t now_ = 0;
  std::map<std::string, Claim> claims_;
  std::map<std::string, Account> accounts_;
  std::map<std::string, Transfer> transfers_;
};

// Errors compare by code only: the model does not spell messages.
std::string Comparable(const Reply& reply) {
  if (reply.is_error()) return "-" + reply.error_code;
  Reply copy;
  copy.outcome = reply.outcome;
  for (const auto& [name, value] : reply.fields) {
    if (const auto* list = std::get_if<std::vector<Reply>>(&value)) {
      std::string items;
      for (const Reply& item : *list) items += Comparable(item) + ";";
      copy.fields.emplace_back(name, items);
    } else {
      copy.fields.emplace_back(name, value);
    }
  }
  return ReplyText(copy);
}

Command SimCommand(std::mt19937_64& rng, bool allow_group) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto name = [&](const char* prefix, int n) { return prefix + std::to_string(pick(n)); };
  auto amount = [&]() -> Amount {
    if (pick(10) == 0) return std::numeric_limits<Amount>::max() - pick(2);
    return 1 + pick(150);
  };
  const int kind = pick(allow_group ? 30 : 29);
  if (kind < 6) {
    TimeSpec time = pick(2) ? testing::Ttl(1 + pick(3000)) : TimeSpec{};
    return testing::ClaimCmd(name("k", 5), name("o", 3), time, pick(8) == 0);
  }
  if (kind < 9) return testing::UnclaimCmd(name("k", 5), name("o", 3));
  if (kind < 10) return testing::ClaimOfCmd(name("k", 5));
  if (kind < 12) {
    auto bound = [&](bool upper) -> Bound {
      const int choice = pick(3);
      if (choice == 0) return testing::Infinite();
      if (choice == 1) return testing::Finite(upper ? 50 + pick(400) : -pick(200));
      return upper ? testing::Infinite() : testing::Finite(0);
    };
    return testing::AccountCmd(name("a", 4), bound(false), bound(true));
  }
  if (kind < 19) return testing::TransferCmd(name("t", 25), name("a", 4), name("a", 4), amount());
  if (kind < 23) {
    return testing::ReserveCmd(name("r", 10), name("a", 4), name("a", 4), amount(), 1 + pick(3000));
  }
  if (kind < 25) return testing::CommitCmd(name("r", 10));
  if (kind < 27) return testing::CancelCmd(name("r", 10));
  if (kind < 29) return testing::BalanceCmd(name("a", 4));
  std::vector<Command> group;
  for (int i = 1 + pick(4); i > 0; --i) group.push_back(SimCommand(rng, false));
  return testing::GroupCmd(std::move(group));
}

void Simulate(uint64_t seed, int operations) {
  SCOPED_TRACE("EXACTLY_SIM_SEED=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  EngineConfig config;
  config.id_retention_ms = 1 + static_cast<int64_t>(rng() % 10'000);
  Engine engine(config);
  Model model(config.id_retention_ms);
  int64_t now_ms = kT0;
  uint64_t lsn = 1;
  int done = 0;
  while (done < operations) {
    now_ms += static_cast<int64_t>(rng() % 400);
    std::vector<Command> batch;
    for (int i = 1 + static_cast<int>(rng() % 6); i > 0; --i)
      batch.push_back(SimCommand(rng, true));
    done += static_cast<int>(batch.size());
    const std::vector<Reply> expected = model.Batch(batch, now_ms);
    BatchOutput out;
    engine.ApplyBatch(batch, TimestampMs{now_ms}, Lsn{lsn}, &out);
    if (!out.record.empty()) ++lsn;
    for (size_t i = 0; i < batch.size(); ++i) {
      ASSERT_EQ(Comparable(out.replies[i]), Comparable(expected[i]))
          << "operation " << done << " command " << i;
    }
  }
}

TEST(EngineSimTest, MatchesReferenceModel) {
  uint64_t base = std::random_device{}();
  int seeds = 40;
  if (const char* fixed = std::getenv("EXACTLY_SIM_SEED")) {
    base = std::strtoull(fixed, nullptr, 10);
    seeds = 1;
  }
  std::printf("simulation base seed %llu (%d seeds)\n", static_cast<unsigned long long>(base),
              seeds);
  for (int i = 0; i < seeds; ++i) {
    Simulate(base + static_cast<uint64_t>(i), 3000);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace exactly::core
