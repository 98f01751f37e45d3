// Claims family: CLAIM, UNCLAIM, CLAIMOF, CLAIMLOG — their rows and argument parsing.
#include "core/limits.h"
#include "net/args.h"
#include "net/commands/families.h"
#include "net/errors.h"

namespace exactly::net {
namespace {

using Args = std::span<const std::string_view>;

// Fills key and owner (if given) from args[1] and args[2]; "" or the error.
std::string TakeKeyOwner(Args args, std::string* key, std::string* owner) {
  if (std::string error = CheckLength(args[1], "key", 1, core::kKeyBytesMax); !error.empty()) {
    return error;
  }
  key->assign(args[1]);
  if (args.size() > 2 && owner != nullptr) {
    if (std::string error = CheckLength(args[2], "owner", 1, core::kOwnerBytesMax);
        !error.empty()) {
      return error;
    }
    owner->assign(args[2]);
  }
  return {};
}

std::string FillClaim(Args args, core::Command* command_out) {
  core::Command& command = *command_out;
  core::cmd::Claim& claim = command.Emplace<core::cmd::Claim>();
  if (std::string error = TakeKeyOwner(args, &claim.key, &claim.owner); !error.empty()) {
    return error;
  }
  TimeOptions time(TimeOptions::kTtl | TimeOptions::kUntil | TimeOptions::kPer);
  bool note_seen = false;
  std::string error;
  for (size_t i = 3; i < args.size();) {
    const std::string_view option = args[i];
    if (time.Take(args, &i, &error) || TakeIfLock(args, &i, &command, &error)) {
      if (!error.empty()) return error;
    } else if (KeywordIs(option, "PERSIST")) {
      if (claim.persist) return ErrDuplicateOption("PERSIST");
      claim.persist = true;
      ++i;
    } else if (TakeNote(args, &i, &note_seen, &claim.note, &error)) {
      if (!error.empty()) return error;
    } else {
      return ErrUnknownOption(option);
    }
  }
  return time.Finish(&claim.time);
}

ParsedCommand ParseUnclaim(Args args) {
  ParsedCommand parsed;
  core::cmd::Unclaim& unclaim = parsed.command.Emplace<core::cmd::Unclaim>();
  if (std::string error = TakeKeyOwner(args, &unclaim.key, &unclaim.owner); !error.empty()) {
    return Refuse(error);
  }
  std::string error;
  for (size_t i = 3; i < args.size();) {
    if (!TakeIfLock(args, &i, &parsed.command, &error)) return Refuse(ErrUnknownOption(args[i]));
    if (!error.empty()) return Refuse(error);
  }
  return parsed;
}

ParsedCommand ParseClaimOf(Args args) {
  ParsedCommand parsed;
  core::cmd::ClaimOf& claim_of = parsed.command.Emplace<core::cmd::ClaimOf>();
  if (std::string error = TakeKeyOwner(args, &claim_of.key, nullptr); !error.empty()) {
    return Refuse(error);
  }
  return parsed;
}

ParsedCommand ParseClaimLog(Args args) {
  ParsedCommand parsed;
  core::cmd::ClaimLog& log = parsed.command.Emplace<core::cmd::ClaimLog>();
  if (std::string error = CheckLength(args[1], "key", 1, core::kKeyBytesMax); !error.empty()) {
    return Refuse(error);
  }
  log.key.assign(args[1]);
  std::string error;
  for (size_t i = 2; i < args.size();) {
    if (!KeywordIs(args[i], "COUNT")) return Refuse(ErrUnknownOption(args[i]));
    if (log.count != 0) return Refuse(ErrDuplicateOption("COUNT"));
    auto count = TakeInteger(args, &i, "COUNT", 1, core::kCountMax, "", &error);
    if (!count) return Refuse(error);
    log.count = *count;
  }
  return parsed;
}

constexpr CommandSpec kRows[] = {
    {"CLAIM", -3, DataFlags(core::CommandKind::kClaim), ParseInto<FillClaim>,
     "CLAIM key owner [TTL ms|UNTIL unix-ms|PER hour|day|week|month [AT hh:mm] [TZ ±hh:mm]] "
     "[PERSIST] [NOTE text] [IFLOCK name token]",
     "Claim key for owner; the first owner wins: won | again | held.", 1, 1, 1},
    {"UNCLAIM", -3, DataFlags(core::CommandKind::kUnclaim), ParseUnclaim,
     "UNCLAIM key owner [IFLOCK name token]",
     "Release owner's claim on key: released | not_holder.", 1, 1, 1},
    {"CLAIMOF", 2, DataFlags(core::CommandKind::kClaimOf), ParseClaimOf, "CLAIMOF key",
     "Who holds key: held (owner, since, expires) | free.", 1, 1, 1},
    {"CLAIMLOG", -2, DataFlags(core::CommandKind::kClaimLog), ParseClaimLog,
     "CLAIMLOG key [COUNT n]", "The newest claims of key, newest first.", 1, 1, 1},
};

}  // namespace

std::span<const CommandSpec> ClaimCommands() { return kRows; }

bool TakeNote(std::span<const std::string_view> args, size_t* i, bool* seen, std::string* note_out,
              std::string* error) {
  if (!KeywordIs(args[*i], "NOTE")) return false;
  if (*seen) {
    *error = ErrDuplicateOption("NOTE");
    return true;
  }
  *seen = true;
  std::string_view note;
  if (!TakeValue(args, i, "NOTE", &note, error)) return true;
  if (note.size() > core::kNoteBytesMax) {
    *error = ErrNoteLength();
    return true;
  }
  note_out->assign(note);
  return true;
}

}  // namespace exactly::net
