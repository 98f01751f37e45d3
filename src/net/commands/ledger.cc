// Ledger family: ACCOUNT, TRANSFER, RESERVE, COMMIT, CANCEL, BALANCE, HISTORY — their
// rows and argument parsing.
#include "core/limits.h"
#include "net/args.h"
#include "net/commands/families.h"
#include "net/errors.h"

namespace exactly::net {
namespace {

using Args = std::span<const std::string_view>;

std::string TakeAccountKey(std::string_view value, std::string_view field, std::string* out) {
  if (std::string error = CheckLength(value, field, 1, core::kKeyBytesMax); !error.empty()) {
    return error;
  }
  out->assign(value);
  return {};
}

std::string TakeId(std::string_view value, std::string* out) {
  if (std::string error = CheckLength(value, "id", 1, core::kOwnerBytesMax); !error.empty()) {
    return error;
  }
  out->assign(value);
  return {};
}

// id from to amount, shared by TRANSFER and RESERVE.
template <class T>
std::string TakeTransferHead(Args args, T* command) {
  std::string error = TakeId(args[1], &command->id);
  if (error.empty()) error = TakeAccountKey(args[2], "from", &command->from);
  if (error.empty()) error = TakeAccountKey(args[3], "to", &command->to);
  if (!error.empty()) return error;
  if (command->from == command->to) return ErrSameAccount();
  if (auto amount = ParseAmount(args[4], &error)) {
    command->amount = *amount;
  }
  return error;
}

// MIN n|-inf or MAX n|+inf; `infinity` is the only infinite word the bound takes.
bool ParseBound(std::string_view text, std::string_view infinity, core::Bound* bound) {
  if (KeywordIs(text, infinity)) {
    *bound = core::Bound{true, 0};
    return true;
  }
  std::optional<int64_t> value = ParseInt64(text);
  if (!value) return false;
  *bound = core::Bound{false, *value};
  return true;
}

ParsedCommand ParseAccount(Args args) {
  ParsedCommand parsed;
  core::cmd::Account& command = parsed.command.Emplace<core::cmd::Account>();
  if (std::string error = TakeAccountKey(args[1], "key", &command.key); !error.empty()) {
    return Refuse(error);
  }
  bool min_seen = false;
  bool max_seen = false;
  std::string error;
  std::string_view value;
  for (size_t i = 2; i < args.size();) {
    const std::string_view option = args[i];
    if (KeywordIs(option, "MIN")) {
      if (min_seen) return Refuse(ErrDuplicateOption("MIN"));
      min_seen = true;
      if (!TakeValue(args, &i, "MIN", &value, &error)) return Refuse(error);
      if (!ParseBound(value, "-INF", &command.min)) return Refuse(ErrMinBound());
    } else if (KeywordIs(option, "MAX")) {
      if (max_seen) return Refuse(ErrDuplicateOption("MAX"));
      max_seen = true;
      if (!TakeValue(args, &i, "MAX", &value, &error)) return Refuse(error);
      if (!ParseBound(value, "+INF", &command.max)) return Refuse(ErrMaxBound());
    } else {
      return Refuse(ErrUnknownOption(option));
    }
  }
  if (!command.min.infinite && !command.max.infinite && command.min.value > command.max.value) {
    return Refuse(ErrMinAboveMax());
  }
  return parsed;
}

std::string FillTransfer(Args args, core::Command* out) {
  core::cmd::Transfer& command = out->Emplace<core::cmd::Transfer>();
  if (std::string error = TakeTransferHead(args, &command); !error.empty()) return error;
  TimeOptions time(TimeOptions::kPer);
  bool note_seen = false;
  std::string error;
  for (size_t i = 5; i < args.size();) {
    const std::string_view option = args[i];
    if (time.Take(args, &i, &error) || TakeIfLock(args, &i, out, &error)) {
      if (!error.empty()) return error;
    } else if (TakeNote(args, &i, &note_seen, &command.note, &error)) {
      if (!error.empty()) return error;
    } else {
      return ErrUnknownOption(option);
    }
  }
  if (error = time.Finish(&command.per); !error.empty()) return error;
  return {};
}

ParsedCommand ParseReserve(Args args) {
  ParsedCommand parsed;
  core::cmd::Reserve& command = parsed.command.Emplace<core::cmd::Reserve>();
  if (std::string error = TakeTransferHead(args, &command); !error.empty()) return Refuse(error);
  std::string error;
  for (size_t i = 5; i < args.size();) {
    if (TakeIfLock(args, &i, &parsed.command, &error)) {
      if (!error.empty()) return Refuse(error);
      continue;
    }
    if (!KeywordIs(args[i], "TIMEOUT")) return Refuse(ErrUnknownOption(args[i]));
    if (command.timeout.kind == core::TimeSpec::Kind::kTtl) {
      return Refuse(ErrDuplicateOption("TIMEOUT"));
    }
    auto timeout = TakeInteger(args, &i, "TIMEOUT", 1, core::kTtlMsMax, "ms", &error);
    if (!timeout) return Refuse(error);
    command.timeout.kind = core::TimeSpec::Kind::kTtl;
    command.timeout.ttl_ms = *timeout;
  }
  if (command.timeout.kind != core::TimeSpec::Kind::kTtl) {
    return Refuse(ErrRequiredOption("RESERVE", "TIMEOUT ms"));
  }
  return parsed;
}

template <class T>
ParsedCommand ParseIdOnly(Args args) {
  ParsedCommand parsed;
  T& command = parsed.command.template Emplace<T>();
  if (std::string error = TakeId(args[1], &command.id); !error.empty()) {
    return Refuse(error);
  }
  std::string error;
  for (size_t i = 2; i < args.size();) {
    if (!TakeIfLock(args, &i, &parsed.command, &error)) return Refuse(ErrUnknownOption(args[i]));
    if (!error.empty()) return Refuse(error);
  }
  return parsed;
}

ParsedCommand ParseCommit(Args args) { return ParseIdOnly<core::cmd::Commit>(args); }
ParsedCommand ParseCancel(Args args) { return ParseIdOnly<core::cmd::Cancel>(args); }

ParsedCommand ParseBalance(Args args) {
  ParsedCommand parsed;
  core::cmd::Balance& command = parsed.command.Emplace<core::cmd::Balance>();
  if (std::string error = TakeAccountKey(args[1], "key", &command.key); !error.empty()) {
    return Refuse(error);
  }
  return parsed;
}

ParsedCommand ParseHistory(Args args) {
  ParsedCommand parsed;
  core::cmd::History& command = parsed.command.Emplace<core::cmd::History>();
  if (std::string error = TakeAccountKey(args[1], "key", &command.key); !error.empty()) {
    return Refuse(error);
  }
  std::string error;
  for (size_t i = 2; i < args.size();) {
    if (!KeywordIs(args[i], "COUNT")) return Refuse(ErrUnknownOption(args[i]));
    if (command.count != 0) return Refuse(ErrDuplicateOption("COUNT"));
    auto count = TakeInteger(args, &i, "COUNT", 1, core::kCountMax, "", &error);
    if (!count) return Refuse(error);
    command.count = *count;
  }
  return parsed;
}

constexpr CommandSpec kRows[] = {
    {"ACCOUNT", -2, DataFlags(core::CommandKind::kAccount), ParseAccount,
     "ACCOUNT key [MIN n|-inf] [MAX n|+inf]",
     "Create an account with bounds (default MIN 0, MAX +inf): created | again.", 1, 1, 1},
    {"TRANSFER", -5, DataFlags(core::CommandKind::kTransfer), ParseInto<FillTransfer>,
     "TRANSFER id from to amount [PER hour|day|week|month [AT hh:mm] [TZ ±hh:mm]] [NOTE text] "
     "[IFLOCK name token]",
     "Move amount between accounts once per id: ok | again | insufficient | over_max | "
     "no_account | id_conflict.",
     1, 1, 1},
    {"RESERVE", -5, DataFlags(core::CommandKind::kReserve), ParseReserve,
     "RESERVE id from to amount TIMEOUT ms [IFLOCK name token]",
     "Hold amount against both bounds until COMMIT, CANCEL or timeout: pending | refusals as "
     "TRANSFER.",
     1, 1, 1},
    {"COMMIT", -2, DataFlags(core::CommandKind::kCommit), ParseCommit,
     "COMMIT id [IFLOCK name token]",
     "Complete a reservation: committed | again | timed_out | no_transfer.", 1, 1, 1},
    {"CANCEL", -2, DataFlags(core::CommandKind::kCancel), ParseCancel,
     "CANCEL id [IFLOCK name token]",
     "Release a reservation: cancelled | again | timed_out | no_transfer.", 1, 1, 1},
    {"BALANCE", 2, DataFlags(core::CommandKind::kBalance), ParseBalance, "BALANCE key",
     "An account's balance, reserved amount and bounds: ok | no_account.", 1, 1, 1},
    {"HISTORY", -2, DataFlags(core::CommandKind::kHistory), ParseHistory, "HISTORY key [COUNT n]",
     "The newest transfers of an account, newest first.", 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> LedgerCommands() { return kRows; }

}  // namespace exactly::net
