// Locks family: LOCK, RENEW, UNLOCK, FENCE — their rows and argument parsing —
// and the IFLOCK option that every mutating command accepts.
#include "core/limits.h"
#include "net/args.h"
#include "net/commands/families.h"
#include "net/errors.h"

namespace exactly::net {

std::optional<uint64_t> ParseToken(std::string_view text) {
  if (text.empty() || text.size() > 20 || (text.size() > 1 && text[0] == '0')) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    if (__builtin_mul_overflow(value, uint64_t{10}, &value) ||
        __builtin_add_overflow(value, static_cast<uint64_t>(c - '0'), &value)) {
      return std::nullopt;
    }
  }
  return value;
}

bool TakeIfLock(std::span<const std::string_view> args, size_t* i, core::Command* command,
                std::string* error) {
  if (!KeywordIs(args[*i], "IFLOCK")) return false;
  if (!command->iflock_name.empty()) {
    *error = ErrDuplicateOption("IFLOCK");
    return true;
  }
  if (*i + 2 >= args.size()) {
    *error = ErrOptionNeeds("IFLOCK", "a lock name and a token");
    return true;
  }
  *error = CheckLength(args[*i + 1], "lock name", 1, core::kKeyBytesMax);
  if (!error->empty()) return true;
  std::optional<uint64_t> token = ParseToken(args[*i + 2]);
  if (!token) {
    *error = ErrToken();
    return true;
  }
  command->iflock_name.assign(args[*i + 1]);
  command->iflock_token = *token;
  *i += 3;
  return true;
}

namespace {

using Args = std::span<const std::string_view>;

std::string TakeName(std::string_view value, std::string* name) {
  if (std::string error = CheckLength(value, "key", 1, core::kKeyBytesMax); !error.empty()) {
    return error;
  }
  name->assign(value);
  return {};
}

// name token, shared by RENEW, UNLOCK and FENCE.
template <class T>
ParsedCommand ParseNameToken(Args args) {
  ParsedCommand parsed;
  T& command = parsed.command.template Emplace<T>();
  if (std::string error = TakeName(args[1], &command.name); !error.empty()) {
    return Refuse(error);
  }
  std::optional<uint64_t> token = ParseToken(args[2]);
  if (!token) return Refuse(ErrToken());
  command.token = *token;
  return parsed;
}

std::string FillLock(Args args, core::Command* out) {
  core::cmd::Lock& command = out->Emplace<core::cmd::Lock>();
  if (std::string error = TakeName(args[1], &command.name); !error.empty()) return error;
  if (std::string error = CheckLength(args[2], "owner", 1, core::kOwnerBytesMax); !error.empty()) {
    return error;
  }
  command.owner.assign(args[2]);
  bool lease_seen = false;
  bool wait_seen = false;
  bool id_seen = false;
  std::string error;
  for (size_t i = 3; i < args.size();) {
    const std::string_view option = args[i];
    if (TakeIntegerOnce(args, &i, "LEASE", 1, core::kTtlMsMax, "ms", &lease_seen, &command.lease_ms,
                        &error)) {
      if (!error.empty()) return error;
    } else if (TakeIntegerOnce(args, &i, "WAIT", 0, core::kTtlMsMax, "ms", &wait_seen,
                               &command.wait_ms, &error)) {
      if (!error.empty()) return error;
    } else if (KeywordIs(option, "ID")) {
      if (id_seen) return ErrDuplicateOption("ID");
      id_seen = true;
      std::string_view id;
      if (!TakeValue(args, &i, "ID", &id, &error)) return error;
      if (error = CheckLength(id, "id", 1, core::kOwnerBytesMax); !error.empty()) {
        return error;
      }
      command.id.assign(id);
    } else {
      return ErrUnknownOption(option);
    }
  }
  if (!lease_seen) return ErrRequiredOption("LOCK", "LEASE ms");
  return {};
}

ParsedCommand ParseRenew(Args args) {
  ParsedCommand parsed = ParseNameToken<core::cmd::Renew>(args);
  if (!parsed.error.empty()) return parsed;
  if (!KeywordIs(args[3], "LEASE")) return Refuse(ErrRequiredOption("RENEW", "LEASE ms"));
  size_t i = 3;
  std::string error;
  auto lease = TakeInteger(args, &i, "LEASE", 1, core::kTtlMsMax, "ms", &error);
  if (!lease) return Refuse(error);
  parsed.command.As<core::cmd::Renew>().lease_ms = *lease;
  return parsed;
}

ParsedCommand ParseUnlock(Args args) { return ParseNameToken<core::cmd::Unlock>(args); }
ParsedCommand ParseFence(Args args) { return ParseNameToken<core::cmd::Fence>(args); }

constexpr CommandSpec kRows[] = {
    {"LOCK", -5, DataFlags(core::CommandKind::kLock) | kBlocking, ParseInto<FillLock>,
     "LOCK name owner LEASE ms [WAIT ms] [ID request-id]",
     "Take a leased, reentrant lock with a fencing token: acquired | reentered | busy; WAIT "
     "queues the caller in FIFO order.",
     1, 1, 1},
    {"RENEW", 5, DataFlags(core::CommandKind::kRenew), ParseRenew, "RENEW name token LEASE ms",
     "Extend the lease of the holding token to now + ms: renewed | stale.", 1, 1, 1},
    {"UNLOCK", 3, DataFlags(core::CommandKind::kUnlock), ParseUnlock, "UNLOCK name token",
     "Release one level of the lock (free at depth 0; the next waiter gets it): released | "
     "stale.",
     1, 1, 1},
    {"FENCE", 3, DataFlags(core::CommandKind::kFence), ParseFence, "FENCE name token",
     "Whether the token still holds the lock: valid | stale.", 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> LockCommands() { return kRows; }

}  // namespace exactly::net
