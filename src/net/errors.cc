// Named error texts. Limits are printed from core/limits.h so a limit change
// cannot leave a stale number in a message.
#include "net/errors.h"

#include <algorithm>
#include <cctype>

#include "core/limits.h"

namespace exactly::net {
namespace {

// Longest piece of user input echoed back in an error.
constexpr size_t kEchoBytesMax = 128;

std::string_view Cut(std::string_view text) { return text.substr(0, kEchoBytesMax); }

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string Upper(std::string_view text) {
  std::string upper(text);
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return upper;
}

}  // namespace

std::string ErrUnknownCommand(std::string_view name, std::span<const std::string_view> args) {
  std::string message = "unknown command '";
  message += Cut(name);
  message += "', with args beginning with:";
  size_t echoed = 0;
  for (std::string_view arg : args) {
    if (echoed >= kEchoBytesMax) break;
    const std::string_view piece = arg.substr(0, kEchoBytesMax - echoed);
    message += " '";
    message += piece;
    message += '\'';
    echoed += piece.size() + 1;
  }
  return message;
}

std::string ErrUnknownSubcommand(std::string_view command, std::string_view subcommand) {
  return "unknown subcommand '" + std::string(Cut(subcommand)) + "'. Try " + Upper(command) +
         " HELP.";
}

std::string ErrArity(std::string_view name) {
  return "wrong number of arguments for '" + Lower(Cut(name)) + "' command";
}

std::string ErrSyntax() { return "syntax error"; }

std::string ErrUnknownOption(std::string_view option) {
  return "syntax error, unknown option '" + std::string(Cut(option)) + "'";
}

std::string ErrMissingValue(std::string_view option) {
  return "syntax error, " + std::string(option) + " needs a value";
}

std::string ErrDuplicateOption(std::string_view option) {
  return "syntax error, " + std::string(option) + " given twice";
}

std::string ErrExclusiveOptions(std::string_view first, std::string_view second) {
  return "syntax error, " + std::string(first) + " and " + std::string(second) +
         " cannot be combined";
}

std::string ErrOptionNeeds(std::string_view option, std::string_view needed) {
  return "syntax error, " + std::string(option) + " needs " + std::string(needed);
}

std::string ErrRequiredOption(std::string_view command, std::string_view option) {
  return "syntax error, " + std::string(command) + " needs " + std::string(option);
}

std::string ErrAmountNotPositive(std::string_view sent) {
  return "amount must be a positive integer, got '" + std::string(Cut(sent)) + "'";
}

std::string ErrAmountNotInteger(std::string_view sent) {
  return "amount must be a positive integer in minor units (no sign, point or exponent), got '" +
         std::string(Cut(sent)) + "'";
}

std::string ErrAmountTooLarge(std::string_view sent) {
  return "amount is out of range (max 9223372036854775807), got '" + std::string(Cut(sent)) + "'";
}

std::string ErrLength(std::string_view field, size_t min_bytes, size_t max_bytes) {
  return std::string(field) + " must be " + std::to_string(min_bytes) + ".." +
         std::to_string(max_bytes) + " bytes";
}

std::string ErrNoteLength() { return ErrLength("note", 0, core::kNoteBytesMax); }
std::string ErrSameAccount() { return "from and to must be different accounts"; }

std::string ErrIntegerRange(std::string_view option, int64_t min, int64_t max,
                            std::string_view unit) {
  std::string message = std::string(option) + " must be an integer in " + std::to_string(min) +
                        ".." + std::to_string(max);
  if (!unit.empty()) message += " (" + std::string(unit) + ")";
  return message;
}

std::string ErrPeriod() { return "PER must be hour, day, week or month"; }
std::string ErrAt() { return "AT must be hh:mm, 00:00..23:59"; }
std::string ErrTz() { return "TZ must be +hh:mm or -hh:mm within -14:00..+14:00"; }
std::string ErrMinBound() { return "MIN must be an integer or -inf"; }
std::string ErrMaxBound() { return "MAX must be an integer or +inf"; }
std::string ErrMinAboveMax() { return "MIN must not be greater than MAX"; }

std::string ErrToken() { return "token must be an unsigned 64-bit integer"; }
std::string ErrCostAboveCapacity() { return "COST must not exceed BURST (or n without BURST)"; }
std::string ErrResponseLength() { return ErrLength("response", 0, core::kIdemResponseBytesMax); }

std::string ErrInvalidMultibulkLength() { return "Protocol error: invalid multibulk length"; }
std::string ErrInvalidBulkLength() { return "Protocol error: invalid bulk length"; }
std::string ErrExpectedBulk(char got) {
  return std::string("Protocol error: expected '$', got '") + got + "'";
}
std::string ErrExpectedCrlf() { return "Protocol error: expected CRLF after bulk argument"; }
std::string ErrTooManyArguments() { return "Protocol error: too many arguments"; }
std::string ErrUnbalancedQuotes() { return "Protocol error: unbalanced quotes in request"; }
std::string ErrInlineTooBig() { return "Protocol error: too big inline request"; }
std::string ErrInputTooBig() { return "Protocol error: too big input (client closed)"; }

std::string ErrMaxClients() { return "max number of clients reached"; }
std::string ErrProtectedMode() {
  return "exactly is running in protected mode: it listens on a non-loopback address and no "
         "password is set, so only loopback clients are served. Set one with --requirepass "
         "or in --aclfile (clients then send AUTH), or bind to 127.0.0.1";
}

std::string ErrNoAuth() { return "Authentication required."; }
std::string ErrWrongPass() { return "invalid username-password pair or user is disabled."; }
std::string ErrAuthNotConfigured() {
  return "AUTH <password> called without any password configured for the default user. Are you "
         "sure your configuration is correct?";
}
std::string ErrProtocolVersion() { return "unsupported protocol version"; }
std::string ErrHelloSyntax() {
  return "syntax error in HELLO: HELLO [2|3] [AUTH default password] [SETNAME name]";
}
std::string ErrHelloNoAuth() {
  return "HELLO must be called with the client already authenticated, otherwise the HELLO AUTH "
         "<user> <pass> option can be used";
}
std::string ErrSelectDb() { return "DB index is out of range (exactly has one database, 0)"; }
std::string ErrClientSubcommand(std::string_view subcommand) {
  return "unknown subcommand or wrong arguments '" + std::string(subcommand) +
         "'. Try CLIENT ID, SETNAME, GETNAME, SETINFO, INFO, LIST, KILL.";
}
std::string ErrAclSubcommand(std::string_view subcommand) {
  return "unknown subcommand or wrong arguments '" + std::string(subcommand) +
         "'. Try ACL WHOAMI, USERS, LIST, CAT [category].";
}
std::string ErrAclCategory(std::string_view category) {
  return "Unknown category '" + std::string(category) + "'";
}
std::string ErrNoSuchClient() { return "No such client"; }
std::string ErrConfigSubcommand() {
  return "only CONFIG GET is known; exactly is configured by its flags";
}
std::string ErrSnapshotRunning() { return "a snapshot is already in progress"; }
std::string ErrSnapshotFork() { return "could not start a snapshot (fork failed)"; }
std::string ErrShuttingDown() { return "server is shutting down"; }
std::string ErrSnapshotReplicated() {
  return "SNAPSHOT is not offered in replicated mode: the raft log snapshots the state itself";
}

std::string ErrMoved(uint16_t slot, std::string_view leader_address) {
  return std::to_string(slot) + " " + std::string(leader_address);
}
std::string ErrOutcomeUnknown() { return "outcome unknown, retry with the same id"; }
std::string ErrNoLeader() { return "no leader is known yet (an election is under way), retry"; }
std::string ErrGetKeysUnknownCommand() { return "Invalid command specified"; }
std::string ErrGetKeysArity() { return "Invalid number of arguments specified for command"; }
std::string ErrGetKeysNoKey() { return "The command has no key arguments"; }
std::string ErrReadonlyNotOffered() {
  return "READONLY is not offered: replicas never answer from their own state, every read is "
         "ordered by the leader's log; send reads to the leader (replicas answer MOVED)";
}

std::string ErrMembershipSingleNode() {
  return "CLUSTER membership commands need replicated mode (--node-id)";
}
std::string ErrMembershipStopping() { return "the server is stopping or its log failed"; }
std::string ErrMembershipPending() {
  return "a configuration change is still pending: one change at a time; retry once INFO "
         "replication shows it committed";
}
std::string ErrMembershipRefused(std::string_view why) {
  return "configuration change refused: " + std::string(why);
}
std::string ErrMembershipUnknown() {
  return "outcome unknown: leadership was lost before the change committed; read INFO "
         "replication on the new leader before retrying";
}
std::string ErrFailoverNotDone(uint64_t self, uint64_t leader) {
  if (leader == self) {
    return "leadership did not move within the election timeout; node " + std::to_string(self) +
           " still leads";
  }
  return "leadership went elsewhere or no leader is known yet (leader: " + std::to_string(leader) +
         ")";
}

std::string ErrExecAbort() { return "Transaction discarded because of previous errors."; }
std::string ErrNestedMulti() { return "MULTI calls can not be nested"; }
std::string ErrExecWithoutMulti() { return "EXEC without MULTI"; }
std::string ErrDiscardWithoutMulti() { return "DISCARD without MULTI"; }
std::string ErrNotInMulti(std::string_view name) {
  return std::string(name) + " is not allowed inside MULTI";
}
std::string ErrGroupCommands() {
  return "a MULTI group holds at most " + std::to_string(core::kGroupCommandsMax) + " commands";
}
std::string ErrStorageFailed(std::string_view cause) {
  return "storage failed, writes are stopped until restart: " + std::string(cause) +
         "; the outcome of this write is unknown: once the server is back, retry it with the "
         "same id";
}
std::string ErrWatch() {
  return "WATCH is not offered: exactly has no optimistic transactions; guard the group with "
         "LOCK and IFLOCK name token on its commands instead";
}
std::string ErrCommandTooLarge(size_t record_bytes, size_t max_bytes) {
  return "command needs up to " + std::to_string(record_bytes) +
         " bytes in the journal, over the record maximum of " + std::to_string(max_bytes);
}
std::string ErrGroupTooLarge(size_t record_bytes, size_t max_bytes) {
  return "MULTI group would need up to " + std::to_string(record_bytes) +
         " bytes in the journal, over the record maximum of " + std::to_string(max_bytes) +
         "; split it into smaller groups";
}
std::string ErrOom(uint64_t used_bytes, uint64_t max_bytes) {
  return "command not allowed when used memory > 'maxmemory' (used " + std::to_string(used_bytes) +
         " bytes, maxmemory " + std::to_string(max_bytes) +
         "); commands that free state (UNCLAIM, UNLOCK, COMMIT, CANCEL, IDEM END) and reads "
         "still work";
}

std::string ErrJsonBody(std::string_view cause) {
  return "request body must be a JSON object: " + std::string(Cut(cause));
}
std::string ErrJsonMemberType(std::string_view member, std::string_view expected) {
  return "member '" + std::string(Cut(member)) + "' must be " + std::string(expected);
}
std::string ErrUnknownMember(std::string_view member, std::string_view command) {
  return "unknown member '" + std::string(Cut(member)) + "' for '" + std::string(command) + "'";
}
std::string ErrMissingMember(std::string_view member) {
  return "member '" + std::string(member) + "' is required";
}
std::string ErrNoRoute(std::string_view method, std::string_view target) {
  return "no route for " + std::string(Cut(method)) + " " + std::string(Cut(target)) +
         "; try POST /v1/<command> or GET /v1/openapi.json";
}
std::string ErrHttpRequest(std::string_view cause) {
  return "malformed HTTP request: " + std::string(Cut(cause));
}

std::string ErrGroupElement(size_t index, std::string_view error) {
  return "command " + std::to_string(index) + " of the group: " + std::string(error);
}
std::string ErrIdempotencyInFlight() {
  return "a request with this Idempotency-Key is still being processed; retry it later";
}
std::string ErrIdempotencyMismatch() {
  return "this Idempotency-Key was used for another request (another path or body)";
}
std::string ErrUnknownTable(std::string_view name, std::string_view tables) {
  return "no table '" + std::string(Cut(name)) + "'; the tables are " + std::string(tables);
}
std::string ErrQueryParameter(std::string_view name, std::string_view expected) {
  return "query parameter '" + std::string(Cut(name)) + "' must be " + std::string(expected);
}
std::string ErrTablesReplicated() { return "table pages are not served in replicated mode"; }

}  // namespace exactly::net
