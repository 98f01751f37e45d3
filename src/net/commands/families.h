// The rows of each command family, gathered by command_table.cc. Internal to net/.
#pragma once

#include <span>
#include <string>
#include <utility>

#include "net/command_table.h"

namespace exactly::net {

std::span<const CommandSpec> ClaimCommands();   // commands/claims.cc
std::span<const CommandSpec> LedgerCommands();  // commands/ledger.cc
std::span<const CommandSpec> ServerCommands();  // commands/server.cc

}  // namespace exactly::net

namespace exactly::net {

// A ParsedCommand that carries only an error.
inline ParsedCommand Refuse(std::string error) {
  ParsedCommand parsed;
  parsed.error = std::move(error);
  return parsed;
}

}  // namespace exactly::net
