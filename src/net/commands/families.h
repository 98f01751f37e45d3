// The rows of each command family, gathered by command_table.cc. Internal to net/.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "net/command_table.h"

namespace exactly::net {

std::span<const CommandSpec> ClaimCommands();    // commands/claims.cc
std::span<const CommandSpec> LedgerCommands();   // commands/ledger.cc
std::span<const CommandSpec> ServerCommands();   // commands/server.cc
std::span<const CommandSpec> LockCommands();     // commands/locks.cc
std::span<const CommandSpec> IdemCommands();     // commands/idempotency.cc
std::span<const CommandSpec> LimitCommands();    // commands/limits.cc
std::span<const CommandSpec> ClusterCommands();  // commands/cluster.cc

// A fencing token: unsigned 64-bit decimal, digits only, no leading zero.
std::optional<uint64_t> ParseToken(std::string_view text);

// If args[*i] is IFLOCK, consumes `IFLOCK name token` into command->iflock_* and
// returns true (a bad or repeated IFLOCK sets `error`). False, nothing consumed,
// otherwise. Any mutating command's option loop calls it (commands/locks.cc).
bool TakeIfLock(std::span<const std::string_view> args, size_t* i, core::Command* command,
                std::string* error);

// If args[*i] is NOTE, consumes `NOTE text` into *note and returns true (a
// repeated, missing or over-long note sets `error`; `seen` tracks repeats). False,
// nothing consumed, otherwise. CLAIM and TRANSFER take it (commands/claims.cc).
bool TakeNote(std::span<const std::string_view> args, size_t* i, bool* seen, std::string* note,
              std::string* error);

}  // namespace exactly::net

namespace exactly::net {

// Runs `fill(args, &command)`, which returns "" or the error, and wraps the result.
// One named result on every path, so the command is built where the caller keeps
// it, never moved (a Command is a few hundred bytes): the hot parsers use this.
template <std::string (*fill)(std::span<const std::string_view>, core::Command*)>
ParsedCommand ParseInto(std::span<const std::string_view> args) {
  ParsedCommand parsed;
  parsed.error = fill(args, &parsed.command);
  return parsed;
}

// A ParsedCommand that carries only an error.
inline ParsedCommand Refuse(std::string error) {
  ParsedCommand parsed;
  parsed.error = std::move(error);
  return parsed;
}

}  // namespace exactly::net
