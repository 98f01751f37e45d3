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

std::string ErrNotInteger() { return "value is not an integer or out of range"; }

std::string ErrAmount() { return "amount must be a positive integer"; }

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

std::string ErrKeyLength() { return ErrLength("key", 1, core::kKeyBytesMax); }
std::string ErrOwnerLength() { return ErrLength("owner", 1, core::kOwnerBytesMax); }
std::string ErrIdLength() { return ErrLength("id", 1, core::kOwnerBytesMax); }
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

std::string ErrNoAuth() { return "Authentication required."; }
std::string ErrWrongPass() { return "invalid username-password pair or user is disabled."; }
std::string ErrAuthNotConfigured() {
  return "AUTH <password> called without any password configured for the default user. Are you "
         "sure your configuration is correct?";
}
std::string ErrExecAbort() { return "Transaction discarded because of previous errors."; }
std::string ErrNestedMulti() { return "MULTI calls can not be nested"; }
std::string ErrExecWithoutMulti() { return "EXEC without MULTI"; }
std::string ErrDiscardWithoutMulti() { return "DISCARD without MULTI"; }
std::string ErrNotInMulti(std::string_view name) {
  return "Command not allowed inside a transaction: '" + Lower(Cut(name)) + "'";
}
std::string ErrProtocolVersion() { return "unsupported protocol version"; }
std::string ErrSelectDb() { return "DB index is out of range"; }
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
std::string ErrProtectedMode() {
  return "exactly is running in protected mode: it listens on a non-loopback address and no "
         "password is set, so only loopback clients are served. Set one with --requirepass "
         "(clients then send AUTH), or bind to 127.0.0.1";
}

}  // namespace exactly::net
