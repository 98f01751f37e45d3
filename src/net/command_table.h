// The command table: the one source of truth for every command's name, arity,
// flags, parser, handler, syntax and summary. COMMAND, `--help`, arity errors,
// dispatch (net/session.h) and docs/commands.md come from it.
//
// The rows live with their families (net/commands/*.cc); this header is how the
// rest of the server finds them. Lookups are thread-safe and allocate nothing.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/command.h"

namespace exactly::net {

class RespWriter;
struct Call;

enum CommandFlag : uint32_t {
  kWrite = 1,        // may change state (core::Writes): durable, or LIMIT's volatile state
  kReadonly = 2,     // reads state only
  kAdmin = 4,        // operates the server (SNAPSHOT, SHUTDOWN)
  kNoAuth = 8,       // allowed before AUTH (HELLO, AUTH, QUIT)
  kBlocking = 16,    // may park the client until woken or timed out
  kConnection = 32,  // answered by its handler: no parse fn, never in the engine
  kNoMulti = 64,     // refused between MULTI and EXEC
  // MULTI, EXEC, DISCARD: run by their handler even between MULTI and EXEC, where
  // every other command is queued or refused. Not shown by COMMAND.
  kGroupControl = 128,
};

// A data command's kWrite or kReadonly, from its kind's traits in core/command.h:
// the rows take it from there, so the table and the engine cannot disagree. (IDEM's
// three kinds all write.)
constexpr uint32_t DataFlags(core::CommandKind kind) {
  return core::Writes(kind) ? kWrite : kReadonly;
}

// The result of parsing one request: a Command for the engine, or an error text
// (reply "-ERR <error>"). Only one of the two is meaningful.
struct ParsedCommand {
  core::Command command;
  std::string error;
};

// Parses the arguments of one command; args[0] is the command name as sent. Called
// only after CheckArity passed, so it may rely on the arity.
using ParseFn = ParsedCommand (*)(std::span<const std::string_view> args);

// Runs one request whose arity and authentication passed (net/session.h). A data
// row's handler parses and submits it to the engine; a kConnection row's answers
// it on the loop thread.
using HandleFn = void (*)(Call& call);

struct CommandSpec {
  std::string_view name;     // upper case, e.g. "CLAIM"
  int arity;                 // Redis convention: N exact (name included), -N at least N
  uint32_t flags;            // CommandFlag bits
  ParseFn parse;             // nullptr for kConnection commands
  std::string_view syntax;   // e.g. "CLAIM key owner [TTL ms|UNTIL unix-ms|PER ...] ..."
  std::string_view summary;  // one line
  // Key positions for COMMAND (cluster-aware clients route by them); 0 = no key.
  // The key is the field that identifies the command (core/command.h's kIdentity),
  // the one net/cluster_slot.h hashes for -MOVED: a ledger movement's is its id, not
  // its accounts, so a client never refuses a transfer whose accounts hash apart.
  int first_key = 0;
  int last_key = 0;
  int key_step = 0;
  // nullptr on a data row, which gets RunDataCommand (net/session.h) when the
  // table is built; every kConnection row names its own.
  HandleFn handle = nullptr;
};

// The row for `name`, any case; nullptr if there is none.
const CommandSpec* FindCommand(std::string_view name);
// Every row, family by family (claims, ledger, locks, idempotency, limits, server,
// cluster) as in docs/commands.md.
std::span<const CommandSpec> AllCommands();

// "" if `argc` arguments (name included) fit the row's arity, else the Redis-style
// text "wrong number of arguments for 'claim' command".
std::string CheckArity(const CommandSpec& spec, size_t argc);

// Looks up args[0], checks arity and runs the parse fn: the whole path from RESP
// arguments to an engine Command. `*spec` is set to the row (nullptr if unknown).
// For a kConnection row nothing is parsed and `error` is empty: the server handles
// it. Otherwise `error` is set for an unknown command, bad arity or bad arguments.
ParsedCommand ParseRequest(std::span<const std::string_view> args, const CommandSpec** spec);

// The reply to COMMAND [COUNT | LIST | INFO name... | DOCS [name...] | GETKEYS cmd... | HELP], in
// the shape Redis 7 gives, so redis-cli and client libraries can introspect. args[0] is "COMMAND".
// Unknown subcommands get an error reply.
void WriteCommandReply(RespWriter& writer, std::span<const std::string_view> args);

// `exactly --help`'s command list: every row's syntax and summary.
std::string CommandHelp();

}  // namespace exactly::net
