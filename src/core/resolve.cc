// Resolution of TTL / UNTIL / PER / TIMEOUT into absolute unix ms.
#include "core/resolve.h"

#include <limits>

#include "base/checked_math.h"
#include "core/engine.h"
#include "core/windows.h"

namespace exactly::core {
namespace {

// Times past int64 mean "not within any run of this program"; saturate rather
// than wrap so that they simply never come due.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  return base::CheckedAdd(a, b).value_or(std::numeric_limits<int64_t>::max());
}

void ResolveClaim(Command* command, int64_t now_ms, const EngineConfig& config) {
  const cmd::Claim& claim = command->As<cmd::Claim>();
  const TimeSpec& time = claim.time;
  switch (time.kind) {
    case TimeSpec::Kind::kNone:
      break;
    case TimeSpec::Kind::kTtl:
      command->expires_ms = SaturatingAdd(now_ms, time.ttl_ms);
      break;
    case TimeSpec::Kind::kUntil:
      command->expires_ms = time.until_ms;
      break;
    case TimeSpec::Kind::kPer: {
      const Window window = WindowAt(now_ms, time.period, time.at_minutes, time.tz_minutes);
      command->window_ms = window.start_ms;
      command->expires_ms = window.end_ms;
      break;
    }
  }
  if (claim.persist) command->expires_ms = kNoTimeMs;
  command->remember_until_ms = command->expires_ms == kNoTimeMs
                                   ? kNoTimeMs
                                   : SaturatingAdd(command->expires_ms, config.id_retention_ms);
}

void ResolveTransfer(Command* command, int64_t now_ms, const EngineConfig& config) {
  const TimeSpec& time = command->As<cmd::Transfer>().per;
  if (time.kind == TimeSpec::Kind::kPer) {
    const Window window = WindowAt(now_ms, time.period, time.at_minutes, time.tz_minutes);
    command->window_ms = window.start_ms;
    command->expires_ms = window.end_ms;
  } else {
    command->expires_ms = SaturatingAdd(now_ms, config.id_retention_ms);
  }
  command->remember_until_ms = command->expires_ms;
}

}  // namespace

void Resolve(Command* command, int64_t now_ms, const EngineConfig& config) {
  if (command->resolved) return;
  switch (command->kind) {
    case CommandKind::kClaim:
      ResolveClaim(command, now_ms, config);
      break;
    case CommandKind::kUnclaim:
      command->remember_until_ms = SaturatingAdd(now_ms, config.id_retention_ms);
      break;
    case CommandKind::kTransfer:
      ResolveTransfer(command, now_ms, config);
      break;
    case CommandKind::kReserve:
      command->expires_ms = SaturatingAdd(now_ms, command->As<cmd::Reserve>().timeout.ttl_ms);
      command->remember_until_ms = SaturatingAdd(command->expires_ms, config.id_retention_ms);
      break;
    case CommandKind::kLock:
      // LOCK ... ID remembers its first reply like a transfer id. Lease and WAIT
      // stay relative: they count from the batch time (or, for a waiter, from the
      // grant), which the journal records.
      if (!command->As<cmd::Lock>().id.empty()) {
        command->remember_until_ms = SaturatingAdd(now_ms, config.id_retention_ms);
      }
      break;
    case CommandKind::kGroup:
      for (Command& sub : command->group) Resolve(&sub, now_ms, config);
      break;
    default:
      break;
  }
  command->resolved = true;
}

}  // namespace exactly::core
