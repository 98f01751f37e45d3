// Claims family: CLAIM, UNCLAIM, CLAIMOF, CLAIMLOG — their rows and argument parsing.
#include "core/limits.h"
#include "net/args.h"
#include "net/commands/families.h"
#include "net/errors.h"

namespace exactly::net {
namespace {

using Args = std::span<const std::string_view>;

// Fills key and owner from args[1] and args[2]; "" or the error.
std::string TakeKeyOwner(Args args, core::Command* command) {
  if (std::string error = CheckLength(args[1], "key", 1, core::kKeyBytesMax); !error.empty()) {
    return error;
  }
  command->key.assign(args[1]);
  if (args.size() > 2) {
    if (std::string error = CheckLength(args[2], "owner", 1, core::kOwnerBytesMax);
        !error.empty()) {
      return error;
    }
    command->owner.assign(args[2]);
  }
  return {};
}

ParsedCommand ParseClaim(Args args) {
  ParsedCommand parsed;
  core::Command& command = parsed.command;
  command.kind = core::CommandKind::kClaim;
  if (std::string error = TakeKeyOwner(args, &command); !error.empty()) return Refuse(error);
  TimeOptions time(TimeOptions::kTtl | TimeOptions::kUntil | TimeOptions::kPer);
  bool note_seen = false;
  std::string error;
  for (size_t i = 3; i < args.size();) {
    const std::string_view option = args[i];
    if (time.Take(args, &i, &error) || TakeIfLock(args, &i, &command, &error)) {
      if (!error.empty()) return Refuse(error);
    } else if (KeywordIs(option, "PERSIST")) {
      if (command.persist) return Refuse(ErrDuplicateOption("PERSIST"));
      command.persist = true;
      ++i;
    } else if (TakeNote(args, &i, &note_seen, &command, &error)) {
      if (!error.empty()) return Refuse(error);
    } else {
      return Refuse(ErrUnknownOption(option));
    }
  }
  if (error = time.Finish(&command.time); !error.empty()) return Refuse(error);
  return parsed;
}

ParsedCommand ParseUnclaim(Args args) {
  ParsedCommand parsed;
  parsed.command.kind = core::CommandKind::kUnclaim;
  if (std::string error = TakeKeyOwner(args, &parsed.command); !error.empty()) {
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
  parsed.command.kind = core::CommandKind::kClaimOf;
  if (std::string error = TakeKeyOwner(args, &parsed.command); !error.empty()) {
    return Refuse(error);
  }
  return parsed;
}

ParsedCommand ParseClaimLog(Args args) {
  ParsedCommand parsed;
  parsed.command.kind = core::CommandKind::kClaimLog;
  if (std::string error = CheckLength(args[1], "key", 1, core::kKeyBytesMax); !error.empty()) {
    return Refuse(error);
  }
  parsed.command.key.assign(args[1]);
  std::string error;
  for (size_t i = 2; i < args.size();) {
    if (!KeywordIs(args[i], "COUNT")) return Refuse(ErrUnknownOption(args[i]));
    if (parsed.command.count != 0) return Refuse(ErrDuplicateOption("COUNT"));
    auto count = TakeInteger(args, &i, "COUNT", 1, core::kCountMax, "", &error);
    if (!count) return Refuse(error);
    parsed.command.count = *count;
  }
  return parsed;
}

constexpr CommandSpec kRows[] = {
    {"CLAIM", -3, DataFlags(core::CommandKind::kClaim), ParseClaim,
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

bool TakeNote(std::span<const std::string_view> args, size_t* i, bool* seen, core::Command* command,
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
  command->note.assign(note);
  return true;
}

}  // namespace exactly::net
