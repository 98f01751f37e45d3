// Idempotency family: IDEM BEGIN | END | ABORT — one row with subcommands, and
// its argument parsing. The stored response's size limit is checked here.
#include <type_traits>

#include "core/limits.h"
#include "net/args.h"
#include "net/commands/families.h"
#include "net/errors.h"

namespace exactly::net {
namespace {

using Args = std::span<const std::string_view>;

ParsedCommand ParseBegin(Args args) {
  ParsedCommand parsed;
  core::cmd::IdemBegin& command = parsed.command.Emplace<core::cmd::IdemBegin>();
  command.key.assign(args[2]);
  command.lease_ms = core::kIdemLeaseMsDefault;
  command.ttl_ms = core::kIdemTtlMsDefault;
  bool fingerprint_seen = false;
  bool lease_seen = false;
  bool ttl_seen = false;
  bool wait_seen = false;
  std::string error;
  for (size_t i = 3; i < args.size();) {
    const std::string_view option = args[i];
    if (TakeIfLock(args, &i, &parsed.command, &error)) {
      if (!error.empty()) return Refuse(error);
    } else if (KeywordIs(option, "FINGERPRINT")) {
      if (fingerprint_seen) return Refuse(ErrDuplicateOption("FINGERPRINT"));
      fingerprint_seen = true;
      std::string_view fingerprint;
      if (!TakeValue(args, &i, "FINGERPRINT", &fingerprint, &error)) return Refuse(error);
      error = CheckLength(fingerprint, "fingerprint", 1, core::kFingerprintBytesMax);
      if (!error.empty()) return Refuse(error);
      command.fingerprint.assign(fingerprint);
    } else if (TakeIntegerOnce(args, &i, "LEASE", 1, core::kTtlMsMax, "ms", &lease_seen,
                               &command.lease_ms, &error)) {
      if (!error.empty()) return Refuse(error);
    } else if (TakeIntegerOnce(args, &i, "TTL", 1, core::kTtlMsMax, "ms", &ttl_seen,
                               &command.ttl_ms, &error)) {
      if (!error.empty()) return Refuse(error);
    } else if (TakeIntegerOnce(args, &i, "WAIT", 0, core::kTtlMsMax, "ms", &wait_seen,
                               &command.wait_ms, &error)) {
      if (!error.empty()) return Refuse(error);
    } else {
      return Refuse(ErrUnknownOption(option));
    }
  }
  return parsed;
}

// END key token response | ABORT key token, then only IFLOCK.
template <class T>
ParsedCommand ParseEndOrAbort(Args args, size_t fixed) {
  ParsedCommand parsed;
  T& command = parsed.command.template Emplace<T>();
  if (args.size() < fixed) return Refuse(ErrArity("IDEM"));
  command.key.assign(args[2]);
  std::optional<uint64_t> token = ParseToken(args[3]);
  if (!token) return Refuse(ErrToken());
  command.token = *token;
  if constexpr (std::is_same_v<T, core::cmd::IdemEnd>) {
    if (args[4].size() > core::kIdemResponseBytesMax) return Refuse(ErrResponseLength());
    command.response.assign(args[4]);
  }
  std::string error;
  for (size_t i = fixed; i < args.size();) {
    if (!TakeIfLock(args, &i, &parsed.command, &error)) return Refuse(ErrUnknownOption(args[i]));
    if (!error.empty()) return Refuse(error);
  }
  return parsed;
}

ParsedCommand ParseIdem(Args args) {
  if (std::string error = CheckLength(args[2], "key", 1, core::kKeyBytesMax); !error.empty()) {
    return Refuse(error);
  }
  const std::string_view sub = args[1];
  if (KeywordIs(sub, "BEGIN")) return ParseBegin(args);
  if (KeywordIs(sub, "END")) return ParseEndOrAbort<core::cmd::IdemEnd>(args, 5);
  if (KeywordIs(sub, "ABORT")) return ParseEndOrAbort<core::cmd::IdemAbort>(args, 4);
  return Refuse(ErrUnknownSubcommand("IDEM", sub));
}

constexpr CommandSpec kRows[] = {
    {"IDEM", -3, DataFlags(core::CommandKind::kIdemBegin) | kBlocking, ParseIdem,
     "IDEM BEGIN key [FINGERPRINT f] [LEASE ms] [TTL ms] [WAIT ms] | IDEM END key token "
     "response | IDEM ABORT key token",
     "Run an operation once per key and store its response: run | running | done | mismatch; "
     "END: done | stale; ABORT: released | stale.",
     2, 2, 1},
};

}  // namespace

std::span<const CommandSpec> IdemCommands() { return kRows; }

}  // namespace exactly::net
